//go:build clickhouse

package aesql_test

// TestClickHouseScripts runs the script suite (script_test.go,
// testdata/*.test) against the ClickHouse backend: the scripts' projects,
// keys, schemas and points go to a real Alidade server as in TestScripts,
// every point a load stores is copied into a points table of a real
// clickhouse-server under its project (all the scripts' projects share the
// table, so a statement that escaped its project would see another's
// rows), and every statement is answered by chSQLAPI (CompileClickHouse
// over the project's catalog, run on ClickHouse, written by WriteResult),
// then checked against the script's expected answer. Statements refused
// before any backend runs (a key that may not read: 401, 403) are the
// server's answers, and so is a body longer than the SQL size limit
// (413). A statement whose answer on ClickHouse differs carries
// a "-- clickhouse: differs: <reason>" line; the test fails on a
// difference without one and on a line whose difference has gone.
//
//	make test-clickhouse-sql
//	go test -tags clickhouse -run TestClickHouseScripts ./internal/aesql/

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/aesql"
	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/store/duckdb"
)

// chScriptCatalog is a project's catalog on the ClickHouse backend: the
// datasets and schemas of the server's metadata, the points in
// ClickHouse's points table.
type chScriptCatalog struct {
	st      *duckdb.Store
	project int64
}

func (c chScriptCatalog) Datasets() []string {
	var out []string
	for _, d := range c.st.Datasets(c.project) {
		out = append(out, d.Name)
	}
	sort.Strings(out)
	return out
}

func (c chScriptCatalog) Schema(d string) *point.Schema { return c.st.Schema(c.project, d) }

func (c chScriptCatalog) Source(d string, _ int) (string, []any, bool) {
	if c.st.Dataset(c.project, d) == nil && point.Builtin(d) == nil {
		return "", nil, false
	}
	src, err := aesql.ClickHouseSource("points", c.project, d)
	if err != nil {
		panic(err)
	}
	return src, nil, true
}

// pointColumns are the points table's columns after project.
func pointColumns() []string {
	cols := []string{"dataset String", "timestamp DateTime", "_sample_interval UInt32", "index1 String"}
	for i := 1; i <= point.MaxBlobs; i++ {
		cols = append(cols, fmt.Sprintf("blob%d String", i))
	}
	for i := 1; i <= point.MaxDoubles; i++ {
		cols = append(cols, fmt.Sprintf("double%d Float64", i))
	}
	return cols
}

// chCopier copies the points a load stored in the server's DuckDB store
// into ClickHouse: the rows of the project's dataset that are not there
// yet (a multiset of rows per project and dataset).
type chCopier struct {
	ch     *chServer
	copied map[string]map[string]int
}

func (c *chCopier) loaded(r *scriptRun, dataset string) {
	ctx := context.Background()
	src, args, ok := r.env.store.SQLSource(r.cur.id, dataset, 0)
	if !ok {
		r.t.Fatalf("%s: loaded dataset %s has no source", r.file, dataset)
	}
	cols := []string{`"timestamp"`, "_sample_interval", "index1"}
	for i := 1; i <= point.MaxBlobs; i++ {
		cols = append(cols, fmt.Sprintf("blob%d", i))
	}
	for i := 1; i <= point.MaxDoubles; i++ {
		cols = append(cols, fmt.Sprintf("double%d", i))
	}
	rows, err := r.env.store.QuerySQL(ctx, "SELECT "+strings.Join(cols, ", ")+" FROM "+src+" AS t", args)
	if err != nil {
		r.t.Fatalf("read back %s: %v", dataset, err)
	}
	defer rows.Close()
	have := map[string]int{}
	var order []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			r.t.Fatal(err)
		}
		var b strings.Builder
		b.WriteString(strconv.FormatInt(r.cur.id, 10) + "\t" + tsvEscape(dataset, false))
		for i, v := range vals {
			b.WriteByte('\t')
			switch x := v.(type) {
			case time.Time:
				b.WriteString(x.UTC().Format(time.DateTime))
			case string:
				b.WriteString(tsvEscape(x, false))
			case float64:
				b.WriteString(strconv.FormatFloat(x, 'g', -1, 64))
			case nil:
				if i >= 3+point.MaxBlobs {
					b.WriteString("0")
				}
			default:
				fmt.Fprint(&b, x)
			}
		}
		line := b.String()
		if have[line] == 0 {
			order = append(order, line)
		}
		have[line]++
	}
	if err := rows.Err(); err != nil {
		r.t.Fatal(err)
	}
	k := strconv.FormatInt(r.cur.id, 10) + "/" + dataset
	done := c.copied[k]
	if done == nil {
		done = map[string]int{}
		c.copied[k] = done
	}
	var body bytes.Buffer
	for _, line := range order {
		for ; done[line] < have[line]; done[line]++ {
			body.WriteString(line + "\n")
		}
	}
	if body.Len() > 0 {
		c.ch.exec(r.t, "INSERT INTO points FORMAT TabSeparated", &body)
	}
}

func TestClickHouseScripts(t *testing.T) {
	runClickHouseScripts(t, startClickHouse(t), "clickhouse")
}

// runClickHouseScripts is TestClickHouseScripts on server ch, as the
// backend name (whose "-- name: differs:" lines apply).
func runClickHouseScripts(t *testing.T, ch *chServer, name string) {
	files, err := filepath.Glob("testdata/*.test")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no testdata/*.test scripts")
	}
	ch.exec(t, "CREATE TABLE points (project UInt64, "+strings.Join(pointColumns(), ", ")+") ENGINE = MergeTree() ORDER BY (project, dataset, timestamp)", nil)
	env := newScriptEnv(t)
	cp := &chCopier{ch: ch, copied: map[string]map[string]int{}}
	backend := &scriptBackend{
		name:   name,
		loaded: cp.loaded,
		query: func(r *scriptRun, sql string) sqlAnswer {
			if r.keyKind != "read" && r.keyKind != "admin" || len(sql) > aesql.DefaultOptions().MaxQueryBytes {
				// refused by the server before any backend runs (a key
				// that may not read, a body over the size limit)
				code, body := r.do("POST", sqlEndpoints[0], r.queryKey(), []byte(sql), nil)
				return sqlAnswer{status: code, body: body}
			}
			code, body := chSQLAPI(r.t, ch, chScriptCatalog{st: env.store, project: r.cur.id}, sql,
				chAPIOptions{MaxRows: scriptMaxRows, Timeout: scriptQueryTimeout})
			return sqlAnswer{status: code, body: body}
		},
	}
	start := time.Now()
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".test")
		t.Run(name, func(t *testing.T) {
			s, err := parseScript(f)
			if err != nil {
				t.Fatal(err)
			}
			r := &scriptRun{t: t, env: env, file: f, name: name, projects: map[string]*scriptProject{}, keyKind: "read", backend: backend}
			r.run(s)
		})
	}
	t.Logf("%d scripts on ClickHouse in %v", len(files), time.Since(start).Round(time.Millisecond))
}
