package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"github.com/alidade/alidade/internal/point"
)

// SQLSource returns a subquery yielding exactly the project's points of
// dataset with the SQL API's columns: dataset, "timestamp" (TIMESTAMP, UTC),
// _sample_interval, index1, blob1..blob20 and double1..double20. Its
// parameters are numbered from argBase+1. ok is false when no day file holds
// the dataset; the subquery then has no rows but the same columns.
func (s *Store) SQLSource(project int64, dataset string, argBase int) (string, []any, bool) {
	views := s.viewsFor(dataset, -1<<62, 1<<62)
	args := []any{dataset, int32(project)}
	pDataset, pProject := "$"+strconv.Itoa(argBase+1), "$"+strconv.Itoa(argBase+2)
	var b strings.Builder
	b.WriteString("(")
	if len(views) == 0 {
		b.WriteString(emptySource(pDataset, pProject))
	}
	for i, v := range views {
		if i > 0 {
			b.WriteString(" UNION ALL ")
		}
		b.WriteString("SELECT " + pDataset + "::VARCHAR AS dataset, epoch_ms(ts) AS \"timestamp\", si::UBIGINT AS _sample_interval, index1")
		for n := 1; n <= point.MaxBlobs; n++ {
			if n <= v.w.blobs {
				fmt.Fprintf(&b, ", blob%d", n)
			} else {
				fmt.Fprintf(&b, ", ''::VARCHAR AS blob%d", n)
			}
		}
		for n := 1; n <= point.MaxDoubles; n++ {
			if n <= v.w.doubles {
				fmt.Fprintf(&b, ", double%d", n)
			} else {
				fmt.Fprintf(&b, ", 0::DOUBLE AS double%d", n)
			}
		}
		fmt.Fprintf(&b, " FROM %s.%s WHERE project = %s", v.alias, quoteIdent(dataset), pProject)
	}
	b.WriteString(")")
	return b.String(), args, len(views) > 0
}

func emptySource(pDataset, pProject string) string {
	var b strings.Builder
	b.WriteString("SELECT " + pDataset + "::VARCHAR AS dataset, TIMESTAMP '1970-01-01' AS \"timestamp\", 1::UBIGINT AS _sample_interval, ''::VARCHAR AS index1")
	for n := 1; n <= point.MaxBlobs; n++ {
		fmt.Fprintf(&b, ", ''::VARCHAR AS blob%d", n)
	}
	for n := 1; n <= point.MaxDoubles; n++ {
		fmt.Fprintf(&b, ", 0::DOUBLE AS double%d", n)
	}
	b.WriteString(" WHERE false AND " + pProject + "::INTEGER IS NULL")
	return b.String()
}

// QuerySQL runs backend SQL that the SQL API printed from an AST. It is
// never given user text.
func (s *Store) QuerySQL(ctx context.Context, query string, args []any) (*sql.Rows, error) {
	return s.db.QueryContext(ctx, query, args...)
}
