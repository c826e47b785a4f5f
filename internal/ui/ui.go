// Package ui holds Alidade's dashboard as the server serves it: the page
// shell and the bundle (dist/app.js, dist/app.css) that esbuild builds
// from ui/src and that is committed, so that `go build` needs no Node.
// Assets are served under content-hashed names, gzipped once at start,
// cached for a year; TestBundleIsFresh fails when the committed bundle is
// not what the sources build.
package ui

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"net/http"
	"strconv"
	"strings"
)

//go:embed dist/app.js dist/app.css
var dist embed.FS

// asset is a file served under its hashed name.
type asset struct {
	name, typ string
	body, gz  []byte
}

var assets = map[string]*asset{}

// Script and Style are the hashed paths of the bundle (/assets/app.<hash>.js).
var Script, Style string

func init() {
	for _, f := range []struct{ file, ext, typ string }{{"dist/app.js", "js", "text/javascript; charset=utf-8"}, {"dist/app.css", "css", "text/css; charset=utf-8"}} {
		b, err := dist.ReadFile(f.file)
		if err != nil {
			panic("BUG: " + err.Error())
		}
		sum := sha256.Sum256(b)
		name := "app." + hex.EncodeToString(sum[:6]) + "." + f.ext
		var z bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&z, gzip.BestCompression)
		zw.Write(b)
		zw.Close()
		assets[name] = &asset{name: name, typ: f.typ, body: b, gz: z.Bytes()}
		if f.ext == "js" {
			Script = "/assets/" + name
		} else {
			Style = "/assets/" + name
		}
	}
}

// Weight is the page's weight as a browser downloads it: the shell and
// the gzipped assets.
func Weight() (raw, gzipped int) {
	for _, a := range assets {
		raw += len(a.body)
		gzipped += len(a.gz)
	}
	return raw, gzipped
}

// Assets serves GET /assets/{name}.
func Assets(w http.ResponseWriter, r *http.Request) {
	a := assets[r.PathValue("name")]
	if a == nil {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", a.typ)
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Add("Vary", "Accept-Encoding")
	body := a.body
	if acceptsGzip(r.Header.Get("Accept-Encoding")) {
		h.Set("Content-Encoding", "gzip")
		body = a.gz
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

// acceptsGzip reads Accept-Encoding: gzip (or *) with a non-zero q.
func acceptsGzip(ae string) bool {
	for _, part := range strings.Split(ae, ",") {
		name, params, _ := strings.Cut(part, ";")
		if name = strings.TrimSpace(name); !strings.EqualFold(name, "gzip") && name != "*" {
			continue
		}
		q := 1.0
		for _, p := range strings.Split(params, ";") {
			if k, v, ok := strings.Cut(strings.TrimSpace(p), "="); ok && strings.EqualFold(k, "q") {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					q = f
				}
			}
		}
		return q > 0
	}
	return false
}

var shell = template.Must(template.New("shell").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="csrf-token" content="{{.CSRF}}">
{{if .Session}}<meta name="session" content="{{.Session}}">{{end}}
<meta name="color-scheme" content="light dark">
<title>Alidade</title>
<link rel="stylesheet" href="{{.Style}}">
<script defer src="{{.Script}}"></script>
</head>
<body>
<div id="app"><noscript>The dashboard needs JavaScript. The same figures are in the JSON APIs (README).</noscript></div>
</body>
</html>
`))

// Shell is the page every dashboard path answers with: the bundle's
// tags, the session's CSRF token (the only secret a page sees; never a
// key) and, when given, GET /api/v1/session's answer (JSON), which saves
// the page a request before its first paint.
func Shell(csrf, session string) []byte {
	var b bytes.Buffer
	if err := shell.Execute(&b, struct{ CSRF, Session, Script, Style string }{csrf, session, Script, Style}); err != nil {
		panic("BUG: " + err.Error())
	}
	return b.Bytes()
}
