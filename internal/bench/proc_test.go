package bench

import (
	"os"
	"runtime"
	"testing"
)

// sampleStatus is the start of a real /proc/PID/status (Linux 6.x).
const sampleStatus = `Name:	alidade
Umask:	0022
State:	S (sleeping)
Tgid:	26208
Ngid:	0
Pid:	26208
PPid:	26190
TracerPid:	0
Uid:	0	0	0	0
Gid:	0	0	0	0
FDSize:	256
Groups:	 
VmPeak:	 2861220 kB
VmSize:	 2795684 kB
VmLck:	       0 kB
VmPin:	       0 kB
VmHWM:	 1005472 kB
VmRSS:	  281932 kB
RssAnon:	  262148 kB
RssFile:	   19784 kB
RssShmem:	       0 kB
VmData:	 1199040 kB
Threads:	9
`

func TestParseProcStatus(t *testing.T) {
	st, err := ParseProcStatus(sampleStatus)
	if err != nil {
		t.Fatal(err)
	}
	if want := (ProcStatus{RSS: 281932 * 1024, PeakRSS: 1005472 * 1024}); st != want {
		t.Errorf("ParseProcStatus = %+v; want %+v", st, want)
	}

	// A zombie's status has neither line.
	zombie := "Name:\talidade\nState:\tZ (zombie)\nThreads:\t1\n"
	if _, err := ParseProcStatus(zombie); err == nil {
		t.Error("ParseProcStatus(zombie) = nil error; want one")
	}
	for _, bad := range []string{"VmRSS:\t12 MB\n", "VmHWM:\tlots kB\n", "VmRSS:\n"} {
		if st, err := ParseProcStatus(bad); err == nil {
			t.Errorf("ParseProcStatus(%q) = %+v, nil; want an error", bad, st)
		}
	}
	// Only one of the two lines is fine.
	st, err = ParseProcStatus("VmRSS:\t  100 kB\n")
	if err != nil || st.RSS != 100*1024 || st.PeakRSS != 0 {
		t.Errorf("ParseProcStatus(VmRSS only) = %+v, %v", st, err)
	}
}

func TestReadProcStatusSelf(t *testing.T) {
	st, err := ReadProcStatus(os.Getpid())
	if runtime.GOOS != "linux" {
		if err == nil {
			t.Errorf("ReadProcStatus off Linux = %+v, nil; want an error", st)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if st.RSS <= 0 || st.PeakRSS < st.RSS {
		t.Errorf("ReadProcStatus(self) = %+v; want 0 < RSS <= PeakRSS", st)
	}
}

func TestParseProcCPU(t *testing.T) {
	// A command name with a space and a parenthesis; utime 1234, stime 66.
	text := "4242 (my (srv) x) S 1 4242 4242 0 -1 4194560 1000 0 0 0 1234 66 0 0 20 0 8 0 100 1000000 2000 18446744073709551615"
	got, err := ParseProcCPU(text)
	if err != nil || got != 13.0 {
		t.Fatalf("ParseProcCPU = %v, %v; want 13 s", got, err)
	}
	for _, bad := range []string{"", "1 (x) S 1 2", "1 (x) S 1 1 1 0 -1 0 0 0 0 0 -5 1"} {
		if _, err := ParseProcCPU(bad); err == nil {
			t.Errorf("ParseProcCPU(%q) accepted", bad)
		}
	}
	if cpu, err := ReadProcCPU(os.Getpid()); err != nil || cpu < 0 {
		t.Errorf("ReadProcCPU(self) = %v, %v", cpu, err)
	}
}
