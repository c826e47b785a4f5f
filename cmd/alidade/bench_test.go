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
		{[]string{"--error-events", "100"}, "--error-events needs --store"},
		{[]string{"--vs-victorialogs", exe, "--vs-rounds", "0"}, "--vs-rounds: \"0\" is not a whole number from 1 to 100"},
	} {
		err := runBench(context.Background(), tc.args)
		var ue *usageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "Try: alidade bench") {
			t.Errorf("bench %q = %v; want a usage error with %q and a hint", tc.args, err, tc.want)
		}
	}
}

// TestBenchClusterUsage checks the cluster flags' usage errors: they fail
// before anything starts, with a hint, and never echo a password.
func TestBenchClusterUsage(t *testing.T) {
	const ch, pg = "clickhouse://127.0.0.1:8123/alidade", "postgres://alidade@127.0.0.1:5432/alidade"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--store", ch}, "--store needs --meta"},
		{[]string{"--meta", pg}, "--meta needs --store"},
		{[]string{"--store", "http://127.0.0.1:8123/alidade", "--meta", pg}, `--store: clickhouse: URL scheme "http"`},
		{[]string{"--store", "clickhouse://127.0.0.1:8123/", "--meta", pg}, "--store: clickhouse: the URL has no database"},
		{[]string{"--store", ch, "--meta", "mysql://u:hunter2@db/x"}, `--meta: "mysql://u@db/x" is not a postgres://`},
		{[]string{"--store", ch, "--meta", pg, "--url", "http://127.0.0.1:8080", "--root-key", "0123456789abcdef0"}, "--store starts a cluster node next to an embedded server of its own: it takes no --url"},
		{[]string{"--store", ch, "--meta", pg, "--vs-victorialogs", "/bin/sh"}, "one comparison at a time"},
		{[]string{"--store", ch, "--meta", pg, "--write-key", "w"}, "--write-key needs --url: with --store the bench creates its own project"},
		{[]string{"--store", ch, "--meta", pg, "--error-events", "0"}, `--error-events: "0" is not a number from 1 to 16777216`},
	} {
		err := runBench(context.Background(), tc.args)
		var ue *usageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "Try: alidade bench") || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("bench %q = %v; want a usage error with %q and a hint", tc.args, err, tc.want)
		}
	}
}
