// Package sdkjs holds Alidade's browser SDK as the server serves it: the
// minified script-tag bundle (dist/alidade.min.js), built from the
// TypeScript in src/ by esbuild and committed, so that `go build` needs no
// Node. It owns nothing else: the server's handler (internal/server) serves
// it; `npm run build` here rewrites it, and TestBundleIsFresh fails when the
// committed bundle is not what the sources build.
package sdkjs

import _ "embed"

// Bundle is dist/alidade.min.js: the IIFE that `<script src="/sdk.js">` runs.
//
//go:embed dist/alidade.min.js
var Bundle []byte
