# Alidade's developer commands. `make test` is the whole suite (what CI runs).
GO       ?= go
PKGS     := ./...
FUZZTIME ?= 10s
FUZZJOBS ?= 2

.PHONY: all build test test-js test-browser test-lighthouse test-cluster test-clickhouse-sql test-short race fuzz bench fmt vet lint clean

all: build

build:
	$(GO) build -o bin/alidade ./cmd/alidade

## test: the whole suite — unit, conformance, integration (real binary, kill -9), race, short fuzzing.
test: vet
	$(GO) test -count=1 -timeout 20m $(PKGS)
	cd sdk/go && $(GO) vet ./... && $(GO) test -count=1 -race -timeout 10m ./...
	$(MAKE) test-js
	$(MAKE) test-browser
	$(MAKE) test-lighthouse
	$(MAKE) test-cluster
	$(MAKE) test-clickhouse-sql
	$(GO) test -count=1 -race -timeout 20m ./internal/ingest/ ./internal/auth/ ./internal/session/ ./internal/beacon/ ./internal/enrich/ ./internal/errtrack/ ./internal/telemetry/ ./internal/query/ ./internal/point/ ./internal/sampling/ ./internal/planner/ ./internal/wal/ ./internal/loader/ ./internal/alert/ ./internal/tail/ ./internal/lighthouse/
	$(GO) test -count=1 -race -run 'Concurrent' ./internal/rollup/
	$(MAKE) fuzz FUZZTIME=$(FUZZTIME)

## test-js: the browser SDK's unit tests, its type check and its size budget, and the dashboard's type check (node_modules installed by npm ci when missing or stale).
test-js:
	@if ! command -v npm >/dev/null; then \
	  if [ "$$CI" = true ]; then echo "npm is not installed: the browser SDK cannot be tested" >&2; exit 1; fi; \
	  echo "WARNING: npm is not installed: the browser SDK's tests are SKIPPED (install Node.js 20+)" >&2; exit 0; \
	fi
	cd sdk/js && { [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund; } && npm test
	cd ui && { [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund; } && npm test

## test-browser: real-browser tests (internal/browsertest): headless Chromium (Debian's, installed by
## .ci/ensure-chromium when missing) against a real `alidade serve` and a test site. Without a browser they
## skip loudly; with CI=true they fail. ALIDADE_BROWSER_ARTIFACTS=DIR keeps the screenshot.
test-browser:
	@chrome="$$(.ci/ensure-chromium)" || exit 1; \
	if [ -z "$$chrome" ]; then echo "WARNING: no Chromium: the browser tests will SKIP" >&2; fi; \
	if command -v npm >/dev/null; then \
	  (cd sdk/js && { [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund; }) || exit 1; \
	fi; \
	CHROME_PATH="$$chrome" $(GO) test -tags browser -count=1 -v -timeout 10m ./internal/browsertest/

## test-lighthouse: real Lighthouse runs (internal/lighthouse, then page checks through a real server in
## internal/pagerunner; -tags lighthouse) against a loopback test site:
## Lighthouse 12.2.3 (installed by .ci/ensure-lighthouse with npm into ~/.cache/alidade when missing) with
## Chromium (.ci/ensure-chromium), ~2 min. Without them the test skips loudly; with CI=true it fails.
test-lighthouse:
	@chrome="$$(.ci/ensure-chromium)" || exit 1; \
	lh="$$(.ci/ensure-lighthouse)" || exit 1; \
	if [ -z "$$chrome" ] || [ -z "$$lh" ]; then echo "WARNING: no Chromium or no Lighthouse: the Lighthouse tests will SKIP" >&2; fi; \
	CHROME_PATH="$$chrome" ALIDADE_LIGHTHOUSE="$$lh" $(GO) test -tags lighthouse -count=1 -v -timeout 10m -run '^TestRealRun$$' ./internal/lighthouse/
	@chrome="$$(.ci/ensure-chromium)" && lh="$$(.ci/ensure-lighthouse)" && \
	CHROME_PATH="$$chrome" ALIDADE_LIGHTHOUSE="$$lh" $(GO) test -tags lighthouse -count=1 -v -timeout 10m -run '^TestPageChecksRealLighthouse$$' ./internal/pagerunner/

## test-cluster: the scale-out test infrastructure (internal/testinfra; -tags cluster) against real servers on
## 127.0.0.1: PostgreSQL 15, two clickhouse-server 18.16 shards and the ZooKeeper their ON CLUSTER DDL needs;
## the ClickHouse points store (internal/store/clickhouse) against a server and a 2-shard cluster, the
## PostgreSQL metadata store (internal/store/postgres), error tracking on both (internal/store/cluster), and two Alidade nodes over both (cmd/alidade TestCluster*)
## (Debian's packages, installed by .ci/ensure-postgres, .ci/ensure-clickhouse and .ci/ensure-zookeeper when
## missing), ~5 min; and the ClickHouse store on current ClickHouse (chDB, npm package chdb, behind
## .ci/chdb-http; .ci/ensure-chdb installs it), ~45 s. Without them the tests skip loudly; with CI=true they fail.
test-cluster:
	@pg="$$(.ci/ensure-postgres)" || exit 1; \
	ch="$$(.ci/ensure-clickhouse)" || exit 1; \
	zk="$$(.ci/ensure-zookeeper)" || exit 1; \
	chdb="$$(.ci/ensure-chdb)" || exit 1; \
	if [ -z "$$pg" ] || [ -z "$$ch" ] || [ -z "$$zk" ] || [ -z "$$chdb" ]; then echo "WARNING: no PostgreSQL, ClickHouse, ZooKeeper or chDB: some cluster tests will SKIP" >&2; fi; \
	export ALIDADE_PG_BIN="$$pg" CLICKHOUSE_SERVER="$$ch" ALIDADE_ZOOKEEPER="$$zk" ALIDADE_CHDB="$$chdb"; \
	$(GO) test -tags cluster -count=1 -v -timeout 10m ./internal/testinfra/ ./internal/store/clickhouse/ ./internal/store/postgres/ ./internal/store/cluster/ && \
	$(GO) test -tags cluster -count=1 -v -timeout 10m -run '^TestCluster' ./cmd/alidade/

## test-clickhouse-sql: the SQL API on the ClickHouse backend: every corpus query and script compiled for
## ClickHouse (aesql.CompileClickHouse) against a real clickhouse-server (Debian's 18.16, installed by
## .ci/ensure-clickhouse when missing) on loopback, and against a current ClickHouse (chDB, installed by
## .ci/ensure-chdb, behind .ci/chdb-http), compared with the DuckDB backend's answers (~40 s).
test-clickhouse-sql:
	@ch="$$(.ci/ensure-clickhouse)" || exit 1; \
	if [ -z "$$ch" ]; then echo "WARNING: no clickhouse-server: the ClickHouse SQL backend tests on 18.16 will SKIP" >&2; fi; \
	chdb="$$(.ci/ensure-chdb)" || exit 1; \
	if [ -z "$$chdb" ]; then echo "WARNING: no chDB: the ClickHouse SQL backend tests on current ClickHouse will SKIP" >&2; fi; \
	CLICKHOUSE_SERVER="$$ch" ALIDADE_CHDB="$$chdb" $(GO) test -tags clickhouse -count=1 -v -timeout 10m \
	  -run '^(TestClickHouseBackend|TestClickHouseScripts|TestClickHouseBackendCurrent|TestClickHouseScriptsCurrent)$$' ./internal/aesql/

## test-short: the fast unit tests only.
test-short:
	$(GO) test -short -count=1 $(PKGS)
	cd sdk/go && $(GO) test -short -count=1 ./...

## fuzz: run every fuzz target for FUZZTIME each, FUZZJOBS at a time (.ci/fuzz-all).
fuzz:
	.ci/fuzz-all $(FUZZTIME) $(GO) $(FUZZJOBS)

## bench: Go benchmarks of the hot paths, then the end-to-end `alidade bench`.
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./internal/...
	$(GO) run ./cmd/alidade bench

fmt:
	gofmt -w $$(git ls-files '*.go')

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet $(PKGS)
	$(GO) vet -tags browser ./internal/browsertest/
	$(GO) vet -tags lighthouse ./internal/lighthouse/ ./internal/pagerunner/
	$(GO) vet -tags cluster ./internal/testinfra/ ./internal/store/clickhouse/ ./internal/store/postgres/ ./internal/store/cluster/ ./cmd/alidade/
	$(GO) vet -tags clickhouse ./internal/aesql/

lint: vet
	$(GO) run honnef.co/go/tools/cmd/staticcheck@latest $(PKGS)

clean:
	rm -rf bin alidade-data
