// Package store holds what every storage backend and its consumers share: the
// unit of a durable write. Backends live in sub-packages (duckdb, and later
// clickhouse), and storetest is the conformance suite every backend passes.
// Interfaces are not defined here: each consumer (ingest, query, server)
// declares the few methods it needs.
package store

import "github.com/alidade/alidade/internal/point"

// Batch is a project's points, validated and timestamped, ready to commit.
type Batch struct {
	Project int64
	Points  []point.Point
}

// ExpireReport says what one retention pass removed.
type ExpireReport struct {
	FilesRemoved    int
	BytesFreed      int64
	RowsDeleted     int64
	DatasetsTrimmed int
}

// TableDay names the points of one project's dataset on one UTC day.
type TableDay struct {
	Project int64
	Dataset string
	Day     int64 // Unix ms of the day's start
}
