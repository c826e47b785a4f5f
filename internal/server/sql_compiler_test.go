package server

import (
	"context"
	"strings"
	"testing"

	"github.com/alidade/alidade/internal/aesql"
	"github.com/alidade/alidade/internal/point"
)

// oneTable is a catalog of the dataset "t".
type oneTable struct{}

func (oneTable) Datasets() []string                  { return []string{"t"} }
func (oneTable) Schema(dataset string) *point.Schema { return nil }
func (oneTable) Source(dataset string, _ int) (string, []any, bool) {
	if dataset != "t" {
		return "", nil, false
	}
	return "(SELECT * FROM points WHERE project = 1)", nil, true
}

type chStore struct{}

func (chStore) SQLDialect() string { return "clickhouse" }
func (chStore) QueryRows(context.Context, string) ([][]any, int64, error) {
	return nil, -1, nil
}

type chStoreWith struct {
	chStore
	f aesql.ClickHouseFeatures
}

func (s chStoreWith) SQLFeatures() aesql.ClickHouseFeatures { return s.f }

// TestSQLCompilerFeatures: the SQL API compiles for what the store's
// ClickHouse servers have, and for 18.16 when the store does not say.
func TestSQLCompilerFeatures(t *testing.T) {
	const q = "SELECT index1 FROM t ORDER BY index1 LIMIT 2 OFFSET 1 BY index1"
	for _, c := range []struct {
		name string
		st   any
		want string
	}{
		{"duckdb", struct{}{}, "QUALIFY row_number()"},
		{"clickhouse, no features", chStore{}, "rowNumberInAllBlocks()"},
		{"clickhouse 18.16", chStoreWith{}, "rowNumberInAllBlocks()"},
		{"clickhouse 20.1+", chStoreWith{f: aesql.ClickHouseFeatures{LimitByOffset: true}}, " LIMIT 1, 2 BY "},
	} {
		p, err := sqlCompiler(c.st)(q, oneTable{}, aesql.Options{})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !strings.Contains(p.SQL, c.want) {
			t.Errorf("%s: SQL = %s; want %q in it", c.name, p.SQL, c.want)
		}
	}
}
