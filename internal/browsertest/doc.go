// Package browsertest holds Alidade's real-browser tests: headless Chromium
// (driven by chromedp) loads a small test site that carries the browser SDK's
// script tag, served by a real `alidade serve`, and the tests assert the
// points that Alidade stored. The test site (an SPA with history navigation,
// fetch calls, a WebSocket, a Redux store with RTK Query, a slow hero image,
// a layout shift, a slow click handler, errors) lives in testdata/site and is
// bundled with esbuild from sdk/js/node_modules when the tests run; so is
// testdata/sentry, a page running the official @sentry/browser with a
// project's DSN.
//
// The tests are behind the build tag `browser` so that `go test ./...` stays
// fast: run them with `make test-browser` or
// `go test -tags browser -count=1 ./internal/browsertest/`. They find
// Chromium through CHROME_PATH or .ci/ensure-chromium; without one they skip
// loudly, and with CI=true they fail. This package owns only tests and their
// fixtures: it must not reach into the server's internals (everything goes
// over HTTP and through the browser).
package browsertest
