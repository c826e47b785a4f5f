package aesql

import (
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/point"
)

var (
	benchOnce sync.Once
	benchDB   *sql.DB
	benchErr  error
)

// benchPoints is the number of points of benchmarkDB's requests dataset.
const benchPoints = 1_000_000

// benchmarkDB opens an in-memory DuckDB whose table t (duckCatalog's
// layout) holds 1M requests points of project 1, and 1000 of project 2.
// index1 is 'ep' || floor(log2(1 + i % 1024)): ep9 and ep8 are the two
// busiest endpoints (512 and 256 of every 1024 points).
func benchmarkDB(b *testing.B) *sql.DB {
	benchOnce.Do(func() {
		db, err := sql.Open("duckdb", "")
		if err != nil {
			benchErr = err
			return
		}
		db.SetMaxOpenConns(1)
		cols := []string{"project INTEGER", "dataset VARCHAR", `"timestamp" TIMESTAMP`, "_sample_interval UBIGINT", "index1 VARCHAR"}
		vals := []string{"CASE WHEN i < 1000 THEN 2 ELSE 1 END", "'requests'", "TIMESTAMP '2025-01-01' + to_seconds(i)", "1",
			"'ep' || CAST(floor(log2(1 + i % 1024)) AS INTEGER)"}
		for i := 1; i <= point.MaxBlobs; i++ {
			cols = append(cols, fmt.Sprintf("blob%d VARCHAR", i))
			v := "''"
			if i <= 2 {
				v = fmt.Sprintf("'b%d-' || (i %% %d)", i, 10*i)
			}
			vals = append(vals, v)
		}
		for i := 1; i <= point.MaxDoubles; i++ {
			cols = append(cols, fmt.Sprintf("double%d DOUBLE", i))
			v := "0"
			if i <= 2 {
				v = fmt.Sprintf("CAST(i %% %d AS DOUBLE)", 1000*i)
			}
			vals = append(vals, v)
		}
		stmts := []string{
			"CREATE TABLE t (" + strings.Join(cols, ", ") + ")",
			fmt.Sprintf("INSERT INTO t SELECT %s FROM range(%d) r(i)", strings.Join(vals, ", "), benchPoints+1000),
		}
		for _, s := range stmts {
			if _, err := db.Exec(s); err != nil {
				benchErr = fmt.Errorf("%s: %w", s, err)
				return
			}
		}
		benchDB = db
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchDB
}

// one runs q (compiled) and returns its only row.
func benchRow(b *testing.B, db *sql.DB, q string) []any {
	b.Helper()
	_, rows, err := runDuckWith(db, q)
	if err != nil {
		b.Fatal(err)
	}
	if len(rows) == 0 {
		b.Fatalf("%s: no row", q)
	}
	return rows[0]
}

// BenchmarkSubqueries compares a query holding a subquery with running its
// parts one after the other (the subquery, then the outer query with the
// subquery's answer written in), compiling every query each time; ns/op
// is the time of both forms, the metrics the median of each and their
// ratio (one query / parts):
//
//	go test ./internal/aesql/ -run '^$' -bench Subqueries -benchtime 30x
func BenchmarkSubqueries(b *testing.B) {
	db := benchmarkDB(b)
	const scalar = "SELECT count() * 100 / (SELECT count() FROM requests) AS pct FROM requests WHERE double1 > 500"
	const busiest = "SELECT index1 FROM requests GROUP BY index1 ORDER BY count() DESC LIMIT 2"
	const in = "SELECT count() AS n FROM requests WHERE index1 IN (" + busiest + ")"
	scalarParts := func() any {
		n := benchRow(b, db, "SELECT count() FROM requests")[0]
		return benchRow(b, db, fmt.Sprintf("SELECT count() * 100 / %d AS pct FROM requests WHERE double1 > 500", n))[0]
	}
	inParts := func() any {
		_, rows, err := runDuckWith(db, busiest)
		if err != nil || len(rows) != 2 {
			b.Fatalf("busiest: %v %v", rows, err)
		}
		return benchRow(b, db, fmt.Sprintf("SELECT count() AS n FROM requests WHERE index1 IN ('%s', '%s')", rows[0][0], rows[1][0]))[0]
	}
	// both forms answer the same: 499 of every 1000 points have double1 >
	// 500 (501..999), so 49.9 %.
	if got, want := benchRow(b, db, scalar)[0], scalarParts(); got != want || got != 49.9 {
		b.Fatalf("scalar: %v, parts %v, want 49.9", got, want)
	}
	if got, want := benchRow(b, db, in)[0], inParts(); got != want {
		b.Fatalf("IN: %v, parts %v", got, want)
	}
	b.Run("scalar", func(b *testing.B) { compareForms(b, func() { benchRow(b, db, scalar) }, func() { scalarParts() }) })
	b.Run("in", func(b *testing.B) { compareForms(b, func() { benchRow(b, db, in) }, func() { inParts() }) })
}

// compareForms runs both forms in every iteration, alternating which goes
// first (the machine may be shared: interleaving spreads its load over
// both), and reports the median time of each and their ratio.
func compareForms(b *testing.B, one, parts func()) {
	var t1, t2 []time.Duration
	i := 0
	for b.Loop() {
		run := func(f func(), into *[]time.Duration) {
			start := time.Now()
			f()
			*into = append(*into, time.Since(start))
		}
		if i%2 == 0 {
			run(one, &t1)
			run(parts, &t2)
		} else {
			run(parts, &t2)
			run(one, &t1)
		}
		i++
	}
	m1, m2 := median(t1), median(t2)
	b.ReportMetric(float64(m1.Microseconds())/1000, "ms-one-query")
	b.ReportMetric(float64(m2.Microseconds())/1000, "ms-parts")
	b.ReportMetric(float64(m1)/float64(m2), "ratio")
}

func median(ds []time.Duration) time.Duration {
	ds = slices.Clone(ds)
	slices.Sort(ds)
	return ds[len(ds)/2]
}
