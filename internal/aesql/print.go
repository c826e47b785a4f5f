package aesql

// backend prints an analysed statement as SQL of one database. Printers
// never see the user's text: identifiers come from a closed set (dataset
// columns, generated aliases t<N> and c<N>), function names from the
// printer's own mapping of IR function ids, values from constants (strings
// as numbered parameters), and every table reference is Catalog.Source.
type backend interface {
	// print returns the SQL of q, its parameters, and every Catalog.Source
	// text it placed in a FROM clause (for tests that check scoping).
	// topLimit is the row limit of the outermost query (-1: none).
	print(q *queryIR, topLimit int64) (sql string, args []any, sources []string, err error)
}

// printError is raised (with panic) inside printers and turned into an
// error by the caller; it carries a user *Error or an internal bug.
type printError struct{ err error }
