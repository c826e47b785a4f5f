package aesql

// The DuckDB functions print_duckdb_funcs.go emits.
func init() {
	for _, f := range []string{"list_extract", "any_value", "regexp_extract", "regexp_extract_all", "list_slice",
		"list_position", "regexp_matches", "regexp_replace", "date_diff"} {
		duckFunctions[f] = true
	}
}
