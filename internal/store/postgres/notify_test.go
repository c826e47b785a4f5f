package postgres

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/alidade/alidade/internal/meta"
)

func TestChangeCodec(t *testing.T) {
	for _, c := range []meta.Change{
		{Kind: meta.ChangeProject, Project: 1, Name: "shop"},
		{Kind: meta.ChangeKeyCreated, Project: 2, ID: 17},
		{Kind: meta.ChangeKeyRevoked, Project: 9223372036854775807, ID: -1},
		{Kind: meta.ChangeDataset, Project: 3, Name: "web_vitals"},
		{Kind: meta.ChangeSetting, Name: "a name with spaces  and\ttabs"},
		{Kind: meta.ChangeSessionsDeleted, Name: strings.Repeat("ab", 32)},
		{Kind: meta.ChangeSetting, Name: ""},
		{Kind: meta.ChangeAlertRule, Project: 4, ID: 12},
		{Kind: meta.ChangeCheck, Project: 5, ID: 1},
		{Kind: meta.ChangeMonitor, Project: 6, Name: "nightly-backup"},
	} {
		p := encodeChange(c)
		got, err := decodeChange(p)
		if err != nil || got != c {
			t.Errorf("decodeChange(%q) = %+v, %v; want %+v", p, got, err, c)
		}
	}
	for _, bad := range []string{
		"", "project", "project 1", "project 1 2", // too few fields
		"resync 0 0 ", // made by the listener, never sent
		"projects 1 0 x", "PROJECT 1 0 x",
		"project x 0 n", "project 1 y n", "project +1 0 n", "project 01 0 n", "project -0 0 n", "project 1  n",
		"project 99999999999999999999 0 n",
		"alert_rule 1 2 ", "alert-rules 1 2 ", "check 1 02 ", "monitor 1 0",
	} {
		if c, err := decodeChange(bad); err == nil {
			t.Errorf("decodeChange(%q) = %+v; want an error", bad, c)
		}
	}
}

// FuzzDecodeChange checks that every payload decodeChange accepts is the
// one encodeChange makes of what it decoded (one reading per payload).
func FuzzDecodeChange(f *testing.F) {
	for _, s := range []string{"project 1 0 shop", "key-revoked 2 17 ", "setting 0 0 a b c", "dataset 3 0 x",
		"sessions-deleted 0 0 abcd", "resync 0 0 ",
		"alert-rule 1 7 ", "check 2 3 ", "monitor 1 0 nightly", "project 01 0 n", "project -0 0 n", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		c, err := decodeChange(p)
		if err != nil {
			return
		}
		if c.Kind == meta.ChangeResync {
			t.Fatalf("decodeChange(%q) accepted a resync", p)
		}
		if again := encodeChange(c); again != p {
			t.Fatalf("decodeChange(%q) = %+v, which encodes as %q", p, c, again)
		}
	})
}

func TestUnreachable(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want bool
	}{
		{&pgconn.PgError{Code: "57P01", Message: "terminating connection due to administrator command"}, true},
		{&pgconn.PgError{Code: "08006"}, true},
		{fmt.Errorf("read: %w", &net.OpError{Op: "read", Err: errors.New("connection reset by peer")}), true},
		{fmt.Errorf("x: %w", pgconn.ErrConnClosed), true},
		{&pgconn.PgError{Code: "23505", Message: "duplicate key value"}, false},
		{&pgconn.PgError{Code: "42P01", Message: "relation does not exist"}, false},
		{context.Canceled, false},
		{errors.New("some error"), false},
	} {
		if got := unreachable(tt.err); got != tt.want {
			t.Errorf("unreachable(%v) = %v; want %v", tt.err, got, tt.want)
		}
	}
}

// TestOpenUnreachable needs no server: nothing listens on the port.
func TestOpenUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	url := fmt.Sprintf("postgres://alidade:s3cret@127.0.0.1:%d/meta?sslmode=disable", port)
	s, err := Open(ctx, Options{URL: url})
	if err == nil {
		s.Close()
		t.Fatalf("Open(%s) with no server = nil error", url)
	}
	if !errors.Is(err, meta.ErrUnavailable) {
		t.Fatalf("Open with no server = %v; want an error wrapping meta.ErrUnavailable", err)
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("Open's error %q shows the password", err)
	}
}

func TestOptions(t *testing.T) {
	for _, url := range []string{"", "mysql://x@y/z", "host=x dbname=y"} {
		o := Options{URL: url}
		if err := o.Validate(); err == nil {
			t.Errorf("Validate(%q) = nil; want an error", url)
		}
	}
	o := Options{URL: "postgres://u:secret@h:5432/db?sslmode=disable"}
	if err := o.Validate(); err != nil {
		t.Errorf("Validate(%q) = %v; want nil", o.URL, err)
	}
	if got, want := redactURL("postgres://u:secret@h/db"), "postgres://u:xxxxx@h/db"; got != want {
		t.Errorf("redactURL = %q; want %q", got, want)
	}
	_, err := Open(context.Background(), Options{URL: "postgres://u:secret@h:notaport/db"})
	if err == nil || strings.Contains(err.Error(), "secret") {
		t.Errorf("Open(a bad URL) = %v; want an error without the password", err)
	}
}
