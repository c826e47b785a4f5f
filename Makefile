# Alidade's developer commands. `make test` is the whole suite (what CI runs).
GO       ?= go
PKGS     := ./...
FUZZTIME ?= 10s

.PHONY: all build test test-js test-short race fuzz bench fmt vet lint clean

all: build

build:
	$(GO) build -o bin/alidade ./cmd/alidade

## test: the whole suite — unit, conformance, integration (real binary, kill -9), race, short fuzzing.
test: vet
	$(GO) test -count=1 -timeout 20m $(PKGS)
	cd sdk/go && $(GO) vet ./... && $(GO) test -count=1 -race -timeout 10m ./...
	$(MAKE) test-js
	$(GO) test -count=1 -race -timeout 20m ./internal/ingest/ ./internal/auth/ ./internal/beacon/ ./internal/enrich/ ./internal/telemetry/ ./internal/query/ ./internal/point/ ./internal/sampling/ ./internal/planner/ ./internal/wal/ ./internal/loader/
	$(GO) test -count=1 -race -run 'Concurrent' ./internal/rollup/
	$(MAKE) fuzz FUZZTIME=$(FUZZTIME)

## test-js: the browser SDK's unit tests, its type check and its size budget (node_modules installed by npm ci when missing or stale).
test-js:
	@if ! command -v npm >/dev/null; then \
	  if [ "$$CI" = true ]; then echo "npm is not installed: the browser SDK cannot be tested" >&2; exit 1; fi; \
	  echo "WARNING: npm is not installed: the browser SDK's tests are SKIPPED (install Node.js 20+)" >&2; exit 0; \
	fi
	cd sdk/js && { [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund; } && npm test

## test-short: the fast unit tests only.
test-short:
	$(GO) test -short -count=1 $(PKGS)
	cd sdk/go && $(GO) test -short -count=1 ./...

## fuzz: run every fuzz target for FUZZTIME each.
fuzz:
	@set -e; for pkg in ./internal/point ./internal/beacon ./internal/enrich ./internal/meta ./internal/query ./internal/pricing ./internal/aesql ./internal/rollup ./internal/planner ./internal/server ./internal/wal; do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "fuzz $$pkg $$t ($(FUZZTIME))"; \
	    .ci/fuzz-one $$pkg $$t $(FUZZTIME) $(GO); \
	  done; \
	done

## bench: Go benchmarks of the hot paths, then the end-to-end `alidade bench`.
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./internal/...
	$(GO) run ./cmd/alidade bench

fmt:
	gofmt -w $$(git ls-files '*.go')

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet $(PKGS)

lint: vet
	$(GO) run honnef.co/go/tools/cmd/staticcheck@latest $(PKGS)

clean:
	rm -rf bin alidade-data
