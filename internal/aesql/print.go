package aesql

// backend prints an analysed statement as SQL of one database. Printers
// never see the user's text: identifiers come from a closed set (dataset
// columns, generated aliases t<N> and c<N>), function names from the
// printer's own mapping of IR function ids, values from constants (strings
// as numbered parameters), and every table reference is Catalog.Source.
type backend interface {
	// print prints q; maxRows is the most rows the outermost query may
	// return (the result limit plus one, to tell a result that is too
	// large).
	print(q *queryIR, maxRows int64) (*printed, error)
	// totals returns a printer for the WITH TOTALS query of q (see
	// totalsQuery): one that prints q's GROUP BY expressions, outside
	// aggregates, as their types' default values.
	totals(q *queryIR) backend
}

// printed is a statement printed for a backend.
type printed struct {
	sql  string // the statement
	args []any  // its numbered parameters
	// countSQL counts the rows of sql without its LIMIT and OFFSET, with the
	// same parameters; set when the outermost query has a LIMIT or OFFSET
	// and must read every row anyway (ORDER BY, GROUP BY, aggregates,
	// DISTINCT), so that rows_before_limit_at_least is exact.
	countSQL string
	// hidden are the columns sql returns after the result's columns.
	zones    []zoneColumn
	countCol int // the column of count(*) OVER () (the rows before LIMIT), or -1
	// sources are the Catalog.Source texts placed in FROM clauses (for
	// tests that check scoping).
	sources []string
}

// zoneColumn is a hidden column holding the UTC offset, in seconds, of a
// result column of type DateTime('tz') (or Array(DateTime('tz'))) whose
// zone is not UTC: the executor attaches it to the column's instants so
// that they are shown in the zone's wall clock time.
type zoneColumn struct {
	col    int    // the result column
	hidden int    // the backend column with its offset (a list of offsets for arrays)
	zone   string // the zone's name
	array  bool
}

// printError is raised (with panic) inside printers and turned into an
// error by the caller; it carries a user *Error or an internal bug.
type printError struct{ err error }

// recoverPrint, deferred by a printer's print, turns a printError panic
// into the error it carries (and no result); other panics go on.
func recoverPrint(out **printed, err *error) {
	if r := recover(); r != nil {
		pe, ok := r.(printError)
		if !ok {
			panic(r)
		}
		*out, *err = nil, pe.err
	}
}
