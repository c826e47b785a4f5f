//go:build clickhouse

package aesql_test

// The SQL API's ClickHouse backend on a current ClickHouse: chDB (current
// ClickHouse as a library, the npm package chdb that .ci/ensure-chdb
// installs into the dir $ALIDADE_CHDB names) served over ClickHouse's
// HTTP interface by .ci/chdb-http/server.js. TestClickHouseBackendCurrent
// and TestClickHouseScriptsCurrent are TestClickHouseBackend and
// TestClickHouseScripts on it: the same corpus and scripts, compared with
// the DuckDB backend; what ClickHouse itself answers differently there is
// listed in testdata/clickhouse/backend_differences_current.txt and in
// "-- clickhouse-current: differs: <reason>" script lines.
//
//	ALIDADE_CHDB=$(.ci/ensure-chdb) go test -tags clickhouse -run 'Current$' ./internal/aesql/

import (
	"testing"

	"github.com/alidade/alidade/internal/testinfra"
)

const backendDifferencesCurrent = "testdata/clickhouse/backend_differences_current.txt"

// startCurrentClickHouse starts chDB behind .ci/chdb-http/server.js
// (testinfra.StartChDB: skipped without $ALIDADE_CHDB, failed with
// CI=true). It runs one request at a time.
func startCurrentClickHouse(t *testing.T) *chServer {
	t.Helper()
	return &chServer{url: testinfra.StartChDB(t).URL, current: true}
}

func TestClickHouseBackendCurrent(t *testing.T) {
	runClickHouseBackend(t, startCurrentClickHouse(t), backendDifferencesCurrent)
}

func TestClickHouseScriptsCurrent(t *testing.T) {
	runClickHouseScripts(t, startCurrentClickHouse(t), "clickhouse-current")
}
