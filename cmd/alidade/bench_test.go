package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBenchVsVictoriaLogsUsage checks the peer flags' usage errors: they
// fail before anything starts, with a hint.
func TestBenchVsVictoriaLogsUsage(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "victoria-logs")
	if err := os.WriteFile(plain, []byte("not a program"), 0o644); err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(dir, "peer")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--vs-victorialogs", filepath.Join(dir, "missing")}, "--vs-victorialogs: " + filepath.Join(dir, "missing") + ": no such file"},
		{[]string{"--vs-victorialogs", dir}, "is a directory"},
		{[]string{"--vs-victorialogs", plain}, "is not executable"},
		{[]string{"--vs-rounds", "2"}, "--vs-rounds needs --vs-victorialogs"},
		{[]string{"--vs-victorialogs", exe, "--vs-rounds", "0"}, "--vs-rounds: \"0\" is not a whole number from 1 to 100"},
	} {
		err := runBench(context.Background(), tc.args)
		var ue *usageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "Try: alidade bench") {
			t.Errorf("bench %q = %v; want a usage error with %q and a hint", tc.args, err, tc.want)
		}
	}
}
