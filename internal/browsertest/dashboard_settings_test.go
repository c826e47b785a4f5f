//go:build browser

package browsertest

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Settings as an admin: the DSN and script tag of the project API, its keys
// (a new one shown once and working, then revoked), allowed origins (the
// server's refusal shown as it says it), a dataset's retention and a price;
// as a read session: the datasets and no control that changes anything.
func TestDashboardSettings(t *testing.T) {
	e := setup(t)
	p := e.alidade.newProject(t, "settings-ui")
	pt := fmt.Sprintf(`{"timestamp":%d,"indexes":["GET /s"],"blobs":["/s","GET","web"],"doubles":[12,200]}`, time.Now().UnixMilli())
	if code, body, err := e.alidade.call("POST", "/api/v1/datasets/requests/points", p.keys["write"], pt, nil); err != nil || code != 200 {
		t.Fatalf("write = %d %s %v", code, body, err)
	}
	var proj struct {
		DSN string `json:"dsn"`
	}
	if code, body, err := e.alidade.call("GET", fmt.Sprintf("/api/v1/projects/%d", p.id), p.keys["admin"], nil, &proj); err != nil || code != 200 || proj.DSN == "" {
		t.Fatalf("GET project = %d %s %v", code, body, err)
	}
	var keys struct {
		Keys []struct{ ID int64 } `json:"keys"`
	}
	if code, body, err := e.alidade.call("GET", "/api/v1/keys", p.keys["admin"], nil, &keys); err != nil || code != 200 {
		t.Fatalf("GET keys = %d %s %v", code, body, err)
	}

	b := newBrowser(t, e)
	signInAt(t, b, p.keys["admin"], "/settings?live=0")
	b.waitFor(`document.querySelector('[data-testid=st-dsn]') !== null && document.querySelectorAll('[data-testid=st-keys] tbody tr').length > 0 && document.querySelector('[data-testid=st-ds-requests]') !== null`)

	// The DSN and the script tag are the project API's.
	if got := eval[string](b, `document.querySelector('[data-testid=st-dsn]').textContent`); got != proj.DSN {
		t.Errorf("DSN shown = %q; the API says %q", got, proj.DSN)
	}
	tag := eval[string](b, `document.querySelector('[data-testid=st-script]').textContent`)
	if !strings.Contains(tag, `data-key="`+p.keys["public"]+`"`) || !strings.Contains(tag, e.alidade.url+"/sdk.js") {
		t.Errorf("script tag = %q; want the public key and %s/sdk.js", tag, e.alidade.url)
	}
	if n := eval[int](b, `document.querySelectorAll('[data-testid=st-keys] tbody tr').length`); n != len(keys.Keys) {
		t.Errorf("the keys table has %d rows; the API lists %d keys", n, len(keys.Keys))
	}
	if n := eval[string](b, `document.querySelector('[data-testid=st-ds-requests] td').title`); n != "1" {
		t.Errorf("requests points shown = %q; want 1", n)
	}

	// A new key: shown once in a dialog, and it works.
	setText(b, `[data-testid=st-key-name]`, "grafana")
	b.click(`[data-testid=st-key-create]`)
	b.waitFor(`document.querySelector('[data-testid=secret-dialog]')?.open === true`)
	secret := eval[string](b, `document.querySelector('[data-testid=secret-dialog] pre').textContent`)
	if !strings.HasPrefix(secret, "ald_read_") {
		t.Fatalf("the dialog shows %q; want a read key", secret)
	}
	if !strings.Contains(eval[string](b, `document.querySelector('[data-testid=secret-dialog]').textContent`), "will not be shown again") {
		t.Error("the dialog does not warn that the key will not be shown again")
	}
	if code, _, _ := e.alidade.call("GET", "/api/v1/datasets", secret, nil, nil); code != 200 {
		t.Errorf("the new key answers %d; want 200", code)
	}
	t.Logf("settings key dialog: %s", b.screenshot("dashboard-settings-key.png"))
	b.click(`[data-testid=secret-dialog] form button`)
	b.waitFor(`document.querySelector('[data-testid=secret-dialog]') === null`)
	b.waitFor(fmt.Sprintf(`document.querySelectorAll('[data-testid=st-keys] tbody tr').length === %d`, len(keys.Keys)+1))
	if strings.Contains(eval[string](b, `document.documentElement.outerHTML`), secret) {
		t.Error("the secret is still in the page after the dialog closed")
	}

	// Revoked after a confirmation: the key stops working.
	var fresh struct {
		Keys []struct {
			ID   int64
			Name string
		} `json:"keys"`
	}
	e.alidade.call("GET", "/api/v1/keys", p.keys["admin"], nil, &fresh)
	var id int64
	for _, k := range fresh.Keys {
		if k.Name == "grafana" {
			id = k.ID
		}
	}
	b.click(fmt.Sprintf(`[data-testid=st-revoke-%d]`, id))
	b.click(fmt.Sprintf(`[data-testid=st-revoke-%d-yes]`, id))
	b.waitFor(fmt.Sprintf(`document.querySelector('[data-testid=st-key-%d]') === null`, id))
	if code, _, _ := e.alidade.call("GET", "/api/v1/datasets", secret, nil, nil); code != http.StatusUnauthorized {
		t.Errorf("the revoked key answers %d; want 401", code)
	}

	// Allowed origins: a bad one is the server's 400, shown as it is.
	setText(b, `[data-testid=st-origins]`, "https://app.example.com/path")
	b.click(`[data-testid=st-origins-save]`)
	b.waitFor(`document.querySelector('[data-testid=st-origins-error]') !== null`)
	if msg := eval[string](b, `document.querySelector('[data-testid=st-origins-error]').textContent`); !strings.Contains(msg, "app.example.com/path") {
		t.Errorf("origin error shown = %q", msg)
	}
	setText(b, `[data-testid=st-origins]`, "https://app.example.com\nhttp://localhost:3000")
	b.click(`[data-testid=st-origins-save]`)
	b.waitFor(`document.querySelector('[data-testid=st-origins-error]') === null && document.querySelector('#st-origins .st-ok')?.textContent.startsWith('Saved')`)
	var origins struct {
		AllowedOrigins []string `json:"allowedOrigins"`
	}
	e.alidade.call("GET", fmt.Sprintf("/api/v1/projects/%d", p.id), p.keys["admin"], nil, &origins)
	if strings.Join(origins.AllowedOrigins, " ") != "http://localhost:3000 https://app.example.com" && strings.Join(origins.AllowedOrigins, " ") != "https://app.example.com http://localhost:3000" {
		t.Errorf("allowed origins = %v", origins.AllowedOrigins)
	}

	// A dataset's retention.
	b.click(`[data-testid=st-ds-edit-requests]`)
	setText(b, `[data-testid=st-ds-retention]`, "7d")
	b.click(`[data-testid=st-ds-save]`)
	b.waitFor(`document.querySelector('[data-testid=st-ds-retention-requests]')?.textContent === '7d'`)
	var ds struct {
		Retention string `json:"retention"`
	}
	e.alidade.call("GET", "/api/v1/datasets/requests", p.keys["read"], nil, &ds)
	if ds.Retention != "7d" {
		t.Errorf("requests retention = %q; want 7d", ds.Retention)
	}

	// A price of the project's own.
	setText(b, `[data-testid=st-price-model]`, "tutor-ft-v1")
	setText(b, `[data-testid=st-price-input]`, "0.5")
	setText(b, `[data-testid=st-price-output]`, "1.5")
	b.click(`[data-testid=st-price-save]`)
	b.waitFor(`[...document.querySelectorAll('[data-testid=st-prices] tbody tr')].some(r => r.textContent.includes('tutor-ft-v1'))`)
	var cat struct {
		Models []struct {
			Model         string
			Input, Output float64
			Source        string
		} `json:"models"`
	}
	e.alidade.call("GET", "/api/v1/pricing", p.keys["admin"], nil, &cat)
	found := false
	for _, m := range cat.Models {
		if m.Model == "tutor-ft-v1" && m.Source == "project" && m.Input == 0.5 && m.Output == 1.5 {
			found = true
		}
	}
	if !found {
		t.Error("the price is not the project's in GET /api/v1/pricing")
	}
	t.Logf("settings: %s", b.screenshot("dashboard-settings.png"))
	if errs := pageErrors(b, http.StatusBadRequest); len(errs) > 0 {
		t.Errorf("console errors:\n  %s", strings.Join(errs, "\n  "))
	}

	// A read session: the datasets, and nothing that changes anything.
	rb := newBrowser(t, e)
	signInAt(t, rb, p.keys["read"], "/settings?live=0")
	rb.waitFor(`document.querySelector('[data-testid=st-ds-requests]') !== null && document.querySelector('[data-testid=st-read-note]') !== null`)
	if n := eval[int](rb, `document.querySelectorAll('main form, [data-testid^=st-revoke], [data-testid^=st-ds-edit], [data-testid=st-key-create]').length`); n != 0 {
		t.Errorf("a read session sees %d controls that change settings", n)
	}
	if f := eval[string](rb, `[...document.querySelectorAll('.failure')].map(e => e.textContent).join('; ')`); f != "" {
		t.Errorf("the read session's settings show a failure: %s", f)
	}
	t.Logf("settings (read): %s", rb.screenshot("dashboard-settings-read.png"))
	if errs := pageErrors(rb); len(errs) > 0 {
		t.Errorf("console errors of the read session:\n  %s", strings.Join(errs, "\n  "))
	}
}

// A root session lists the projects and creates one, its keys shown once.
func TestDashboardSettingsRoot(t *testing.T) {
	e := setup(t)
	e.alidade.newProject(t, "settings-root")
	b := newBrowser(t, e)
	signInAt(t, b, rootKey, "/settings?live=0")
	b.waitFor(`document.querySelectorAll('[data-testid=st-projects] tbody tr').length > 0`)
	var list struct {
		Projects []struct{ ID int64 } `json:"projects"`
	}
	if code, body, err := e.alidade.call("GET", "/api/v1/projects", rootKey, nil, &list); err != nil || code != 200 {
		t.Fatalf("GET projects = %d %s %v", code, body, err)
	}
	if n := eval[int](b, `document.querySelectorAll('[data-testid=st-projects] tbody tr').length`); n != len(list.Projects) {
		t.Errorf("the projects table has %d rows; the API lists %d", n, len(list.Projects))
	}
	name := fmt.Sprintf("ui-%d", time.Now().UnixNano()%1e6)
	setText(b, `[data-testid=st-project-new]`, name)
	b.click(`[data-testid=st-project-create]`)
	b.waitFor(`document.querySelector('[data-testid=secret-dialog]')?.open === true`)
	admin := eval[string](b, `document.querySelector('[data-testid=secret-admin-key]').textContent`)
	if code, _, _ := e.alidade.call("GET", "/api/v1/keys", admin, nil, nil); code != 200 {
		t.Errorf("the new project's admin key answers %d", code)
	}
	t.Logf("settings (root): %s", b.screenshot("dashboard-settings-root.png"))
	b.click(`[data-testid=secret-dialog] form button`)
	b.waitFor(fmt.Sprintf(`document.querySelectorAll('[data-testid=st-projects] tbody tr').length === %d`, len(list.Projects)+1))
	if errs := pageErrors(b); len(errs) > 0 {
		t.Errorf("console errors:\n  %s", strings.Join(errs, "\n  "))
	}
}
