package clickhouse

import (
	"strings"
	"testing"
)

func TestParseURL(t *testing.T) {
	c, err := ParseURL("clickhouse://ch.example:9123/alidade?cluster=main&user=ali&password=s3cret")
	if err != nil {
		t.Fatal(err)
	}
	want := Config{HTTP: "http://ch.example:9123/", Database: "alidade", Cluster: "main", User: "ali", Password: "s3cret"}
	if *c != want {
		t.Fatalf("ParseURL = %+v; want %+v", *c, want)
	}
	if c, err := ParseURL("clickhouse://[::1]/db"); err != nil || c.HTTP != "http://[::1]:8123/" || c.Rollups != "" {
		t.Fatalf("default port: %+v, %v", c, err)
	}
	for _, v := range []string{"on", "off"} {
		if c, err := ParseURL("clickhouse://h/db?rollups=" + v); err != nil || c.Rollups != v {
			t.Fatalf("rollups=%s: %+v, %v", v, c, err)
		}
	}
	for _, tc := range []struct{ url, want string }{
		{"", "empty"},
		{"http://h:8123/db", `scheme "http"`},
		{"clickhouse://h:8123", "no database"},
		{"clickhouse://h:8123/", "no database"},
		{"clickhouse://:8123/db", "no host"},
		{"clickhouse://h:0/db", `port "0"`},
		{"clickhouse://h:8123/my-db", `database "my-db"`},
		{"clickhouse://h:8123/db/x", `database "db/x"`},
		{"clickhouse://h:8123/db?cluster=a;b", "query does not parse"},
		{"clickhouse://h:8123/db?cluster=a%20b", `cluster="a b"`},
		{"clickhouse://h:8123/db?clutser=x", `unknown URL parameter "clutser"`},
		{"clickhouse://h:8123/db?user=a&user=b", `"user" is given 2 times`},
		{"clickhouse://h:8123/db?password=x", "password without user"},
		{"clickhouse://h:8123/db?rollups=yes", `rollups="yes"; want on or off`},
		{"clickhouse://h:8123/db?rollups=", `rollups=""; want on or off`},
		{"clickhouse://u:pw@h:8123/db", "user info"},
		{"clickhouse://h:8123/db#frag", "fragment"},
		{"clickhouse://h:8123/db?user=u&password=%zzsecret", "query does not parse"},
	} {
		_, err := ParseURL(tc.url)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseURL(%q) = %v; want an error containing %q", tc.url, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("ParseURL(%q): the error %q repeats the password", tc.url, err)
		}
	}
}
