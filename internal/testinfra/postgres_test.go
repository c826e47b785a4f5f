//go:build cluster

package testinfra

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestPostgres(t *testing.T) {
	t.Parallel()
	pg := StartPostgres(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	connect := func() *pgx.Conn {
		t.Helper()
		c, err := pgx.Connect(ctx, pg.DSN)
		if err != nil {
			t.Fatalf("connect %s: %v", pg.DSN, err)
		}
		t.Cleanup(func() { c.Close(context.Background()) })
		return c
	}
	a := connect()
	exec := func(c *pgx.Conn, sql string, args ...any) {
		t.Helper()
		if _, err := c.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	exec(a, "CREATE TABLE projects (id bigint PRIMARY KEY, name text NOT NULL)")
	exec(a, "INSERT INTO projects VALUES ($1, $2), ($3, $4)", 1, "default", 2, "shop")
	count := func(c *pgx.Conn) (n int, names string) {
		t.Helper()
		if err := c.QueryRow(ctx, "SELECT count(*), string_agg(name, ',' ORDER BY id) FROM projects").Scan(&n, &names); err != nil {
			t.Fatalf("select: %v", err)
		}
		return n, names
	}
	if n, names := count(a); n != 2 || names != "default,shop" {
		t.Fatalf("select = %d %q; want 2 \"default,shop\"", n, names)
	}

	// LISTEN on one connection, NOTIFY on another.
	b := connect()
	exec(b, "LISTEN key_revoked")
	exec(a, "SELECT pg_notify('key_revoked', 'key 42')")
	wctx, wcancel := context.WithTimeout(ctx, 5*time.Second)
	n, err := b.WaitForNotification(wctx)
	wcancel()
	if err != nil {
		t.Fatalf("wait for notification: %v", err)
	}
	if n.Channel != "key_revoked" || n.Payload != "key 42" {
		t.Fatalf("notification = %q %q; want \"key_revoked\" \"key 42\"", n.Channel, n.Payload)
	}

	// Stopped: connections fail; started again: the rows are there.
	pg.Stop()
	if err := a.Ping(ctx); err == nil {
		t.Fatal("ping after Stop succeeded")
	}
	if c, err := pgx.Connect(ctx, pg.DSN); err == nil {
		c.Close(ctx)
		t.Fatal("connect after Stop succeeded")
	}
	pg.Start()
	if n, names := count(connect()); n != 2 || names != "default,shop" {
		t.Fatalf("after restart: select = %d %q; want 2 \"default,shop\"", n, names)
	}
}
