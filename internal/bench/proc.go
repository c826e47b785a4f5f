package bench

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// ProcStatus holds the memory figures of a Linux /proc/PID/status file, in
// bytes.
type ProcStatus struct {
	// RSS is the resident set size now (VmRSS).
	RSS int64
	// PeakRSS is the high-water mark of the resident set (VmHWM).
	PeakRSS int64
}

// ParseProcStatus reads VmRSS and VmHWM from the text of /proc/PID/status.
// It fails when neither is present (a kernel thread, or a process that has
// exited and is a zombie).
func ParseProcStatus(text string) (ProcStatus, error) {
	var st ProcStatus
	found := 0
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		var dst *int64
		switch key {
		case "VmRSS":
			dst = &st.RSS
		case "VmHWM":
			dst = &st.PeakRSS
		default:
			continue
		}
		n, err := parseKB(val)
		if err != nil {
			return ProcStatus{}, fmt.Errorf("proc status %s: %w", key, err)
		}
		*dst = n
		found++
	}
	if err := sc.Err(); err != nil {
		return ProcStatus{}, err
	}
	if found == 0 {
		return ProcStatus{}, fmt.Errorf("proc status has no VmRSS or VmHWM line")
	}
	return st, nil
}

// parseKB parses "   123456 kB" into bytes.
func parseKB(s string) (int64, error) {
	f := strings.Fields(s)
	if len(f) == 0 || len(f) > 2 {
		return 0, fmt.Errorf("unexpected value %q", strings.TrimSpace(s))
	}
	n, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("unexpected value %q", strings.TrimSpace(s))
	}
	if len(f) == 1 {
		return n, nil
	}
	if f[1] != "kB" {
		return 0, fmt.Errorf("unexpected unit %q", f[1])
	}
	return n * 1024, nil
}

// ReadProcStatus reads the memory figures of process pid from /proc; it
// fails where there is no /proc.
func ReadProcStatus(pid int) (ProcStatus, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return ProcStatus{}, err
	}
	return ParseProcStatus(string(b))
}

// clockTicks is the unit of /proc/PID/stat's CPU times (USER_HZ, 100 on
// every Linux architecture Go runs on).
const clockTicks = 100

// ParseProcCPU reads the CPU time a process used (user and system, the
// 14th and 15th fields) from the text of /proc/PID/stat, in seconds.
func ParseProcCPU(text string) (float64, error) {
	// The command name (field 2) is in parentheses and may hold spaces.
	i := strings.LastIndexByte(text, ')')
	if i < 0 {
		return 0, fmt.Errorf("proc stat has no command name")
	}
	f := strings.Fields(text[i+1:])
	// f[0] is field 3 (the state): utime is f[11], stime f[12].
	if len(f) < 13 {
		return 0, fmt.Errorf("proc stat has %d fields after the command name, want at least 13", len(f))
	}
	var total int64
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("proc stat: unexpected CPU time %q", s)
		}
		total += n
	}
	return float64(total) / clockTicks, nil
}

// ReadProcCPU reads the CPU seconds process pid used from /proc.
func ReadProcCPU(pid int) (float64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	return ParseProcCPU(string(b))
}
