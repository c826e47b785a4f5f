package server

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/alidade/alidade/internal/aesql"
	"github.com/alidade/alidade/internal/point"
)

// sqlCatalog is the SQL API's view of one project's datasets.
type sqlCatalog struct {
	st      Store
	project int64
}

var _ aesql.Catalog = sqlCatalog{}

func (c sqlCatalog) Datasets() []string {
	ds := c.st.Datasets(c.project)
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.Name
	}
	sort.Strings(out)
	return out
}

func (c sqlCatalog) Schema(dataset string) *point.Schema { return c.st.Schema(c.project, dataset) }

// Source scopes a table reference to the project. A dataset the project
// never wrote is unknown, except the built-in ones, which always exist.
func (c sqlCatalog) Source(dataset string, argBase int) (string, []any, bool) {
	if c.st.Dataset(c.project, dataset) == nil && point.Builtin(dataset) == nil {
		return "", nil, false
	}
	src, args, _ := c.st.SQLSource(c.project, dataset, argBase)
	return src, args, true
}

func (s *Server) handleSQL(w http.ResponseWriter, r *http.Request) {
	text := r.URL.Query().Get("query")
	if text == "" {
		body, ok := s.readSmallBody(w, r, int64(s.sqlOptions().MaxQueryBytes)+1)
		if !ok {
			return
		}
		text = string(body)
	}
	opts := s.sqlOptions()
	plan, err := sqlCompiler(s.store)(text, sqlCatalog{st: s.store, project: principal(r).Project}, opts)
	if err != nil {
		var ce *aesql.Error
		if errors.As(err, &ce) {
			writeError(w, r, http.StatusBadRequest, "bad_sql", err.Error())
			return
		}
		s.log.Error("sql compile", "id", requestID(r), "err", err)
		writeError(w, r, http.StatusInternalServerError, "internal", "the query could not be compiled; request id "+requestID(r))
		return
	}
	if df := r.URL.Query().Get("default_format"); df != "" && !plan.FormatGiven {
		f, ok := aesql.ParseFormat(df)
		if !ok {
			writeError(w, r, http.StatusBadRequest, "bad_format", fmt.Sprintf("default_format %q: use %s", df, aesql.FormatNames()))
			return
		}
		plan.Format = f
	}
	res := &aesql.Result{Columns: plan.Columns, Rows: plan.Rows, RowsBeforeLimit: int64(len(plan.Rows))}
	if plan.Kind == aesql.KindSelect {
		ctx, cancel := context.WithTimeout(r.Context(), s.opts.QueryTimeout)
		defer cancel()
		res.Rows, res.RowsBeforeLimit, err = s.runSQL(ctx, plan)
		if err == nil && plan.Totals != nil {
			res.Totals, err = s.totalsRow(ctx, plan.Totals)
		}
		if err != nil {
			switch {
			case writeUnavailable(w, r, err):
			case errors.Is(err, context.DeadlineExceeded):
				writeError(w, r, http.StatusGatewayTimeout, "query_timeout", fmt.Sprintf("the query ran past the %v limit", s.opts.QueryTimeout))
			case errors.Is(err, errTooManyRows):
				writeError(w, r, http.StatusBadRequest, "too_many_rows", fmt.Sprintf("the result has more than %d rows, the limit; add a LIMIT or aggregate", plan.Limit))
			default:
				writeError(w, r, http.StatusBadRequest, "query_failed", "the query failed while running: "+cleanBackendError(err))
			}
			return
		}
	}
	w.Header().Set("Content-Type", aesql.ContentType(plan.Format))
	if err := aesql.WriteResult(w, plan.Format, res); err != nil {
		s.log.Error("sql write", "id", requestID(r), "err", err)
	}
}

var errTooManyRows = errors.New("too many rows")

// runSQL runs a compiled plan and scans its rows. It also returns the
// number of rows the query has before its LIMIT and OFFSET (ClickHouse's
// rows_before_limit_at_least): the count the backend reports with the rows,
// the answer of Plan.CountSQL when no row came back, else the rows returned.
func (s *Server) runSQL(ctx context.Context, plan *aesql.Plan) ([][]any, int64, error) {
	if ch, ok := s.store.(clickhouseSQLStore); ok {
		return runClickHouseSQL(ctx, ch, plan)
	}
	st, ok := s.store.(duckSQLStore)
	if !ok {
		return nil, 0, errors.New("BUG: the store runs no SQL")
	}
	rows, err := st.QuerySQL(ctx, plan.SQL, plan.Args)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, 0, err
	}
	if len(cols) != plan.BackendColumns() {
		return nil, 0, fmt.Errorf("BUG: backend returned %d columns for %d", len(cols), plan.BackendColumns())
	}
	var out [][]any
	before := int64(-1)
	for rows.Next() {
		if plan.Limit > 0 && int64(len(out)) >= plan.Limit {
			return nil, 0, errTooManyRows
		}
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, 0, err
		}
		row, n, err := plan.Row(vals)
		if err != nil {
			return nil, 0, err
		}
		before = max(before, n)
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	if before < 0 && len(out) == 0 && plan.CountSQL != "" {
		if err := s.countSQL(ctx, plan, &before); err != nil {
			return nil, 0, err
		}
	}
	return out, max(before, int64(len(out))), nil
}

// totalsRow runs the plan of a WITH TOTALS row.
func (s *Server) totalsRow(ctx context.Context, plan *aesql.Plan) ([]any, error) {
	rows, _, err := s.runSQL(ctx, plan)
	if err != nil {
		return nil, err
	}
	if len(rows) != 1 {
		return nil, fmt.Errorf("BUG: the totals query returned %d rows", len(rows))
	}
	return rows[0], nil
}

// countSQL runs plan.CountSQL into n.
func (s *Server) countSQL(ctx context.Context, plan *aesql.Plan, n *int64) error {
	st, ok := s.store.(duckSQLStore)
	if !ok {
		return errors.New("BUG: the store runs no SQL")
	}
	rows, err := st.QuerySQL(ctx, plan.CountSQL, plan.Args)
	if err != nil {
		return err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return err
		}
		return errors.New("BUG: the row count query returned no row")
	}
	if err := rows.Scan(n); err != nil {
		return err
	}
	return rows.Err()
}

// cleanBackendError keeps the backend's reason and drops its SQL echo.
func cleanBackendError(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, "\n"); i > 0 {
		msg = msg[:i]
	}
	// a scalar subquery of several rows: ClickHouse's words, not DuckDB's
	// (which suggest a DuckDB setting)
	if strings.Contains(msg, "More than one row returned by a subquery used as an expression") {
		return "Scalar subquery returned more than one row"
	}
	return msg
}

func (s *Server) sqlOptions() aesql.Options {
	o := aesql.DefaultOptions()
	if s.opts.MaxSQLRows > 0 {
		o.MaxRows = s.opts.MaxSQLRows
	}
	return o
}

// sqlStore is what the SQL API needs of every store: the source of a
// dataset's table in the store's SQL. The store runs the SQL either as
// duckSQLStore (DuckDB's, the embedded store) or as clickhouseSQLStore.
type sqlStore interface {
	SQLSource(project int64, dataset string, argBase int) (string, []any, bool)
}

// duckSQLStore runs DuckDB SQL (aesql.Compile's).
type duckSQLStore interface {
	QuerySQL(ctx context.Context, query string, args []any) (*sql.Rows, error)
}

// clickhouseSQLStore runs ClickHouse SQL (aesql.CompileClickHouse's), the
// store of a cluster node: QueryRows returns the rows as Go values and
// ClickHouse's count of the rows before the LIMIT (-1 without one).
type clickhouseSQLStore interface {
	SQLDialect() string
	QueryRows(ctx context.Context, sql string) ([][]any, int64, error)
}

// clickhouseSQLFeatures is a clickhouseSQLStore that knows what its
// servers have beyond ClickHouse 18.16 (the oldest server's); without it
// the SQL is 18.16's, which every version runs.
type clickhouseSQLFeatures interface {
	SQLFeatures() aesql.ClickHouseFeatures
}

// sqlCompiler is the compiler of st's SQL: DuckDB's, or ClickHouse's for
// what st's servers have (18.16's SQL when st does not say).
func sqlCompiler(st any) func(string, aesql.Catalog, aesql.Options) (*aesql.Plan, error) {
	if _, ok := st.(clickhouseSQLStore); !ok {
		return aesql.Compile
	}
	f, ok := st.(clickhouseSQLFeatures)
	if !ok {
		return aesql.CompileClickHouse
	}
	feat := f.SQLFeatures()
	return func(sql string, cat aesql.Catalog, opts aesql.Options) (*aesql.Plan, error) {
		return aesql.CompileClickHouseFor(sql, cat, opts, feat)
	}
}

// runClickHouseSQL is runSQL on a ClickHouse store.
func runClickHouseSQL(ctx context.Context, st clickhouseSQLStore, plan *aesql.Plan) ([][]any, int64, error) {
	rows, before, err := st.QueryRows(ctx, plan.SQL)
	if err != nil {
		return nil, 0, err
	}
	if plan.Limit > 0 && int64(len(rows)) > plan.Limit {
		return nil, 0, errTooManyRows
	}
	out := make([][]any, len(rows))
	for i, vals := range rows {
		if out[i], _, err = plan.Row(vals); err != nil {
			return nil, 0, err
		}
	}
	return out, max(before, int64(len(out))), nil
}
