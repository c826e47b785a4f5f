package server_test

import (
	"strings"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/meta"
)

// TestDatasetSamplingSetting turns a dataset's equitable sampling on and off
// through PATCH /api/v1/datasets/{dataset} and reads it back.
func TestDatasetSamplingSetting(t *testing.T) {
	e := newEnv(t, envOptions{})
	A, R := e.keys[meta.KindAdmin], e.keys[meta.KindRead]
	if code := e.call("POST", "/api/v1/datasets/api/points", e.keys[meta.KindWrite], `{"indexes":["/x"]}`, nil, nil); code != 200 {
		t.Fatalf("write = %d; want 200", code)
	}

	// get returns the dataset's "sampling" member as decoded JSON, and
	// whether the member is there at all.
	get := func() (any, bool) {
		t.Helper()
		var d map[string]any
		if code := e.call("GET", "/api/v1/datasets/api", R, nil, nil, &d); code != 200 {
			t.Fatalf("GET /api/v1/datasets/api = %d; want 200", code)
		}
		v, ok := d["sampling"]
		return v, ok
	}
	pps := func(v any) any {
		if m, ok := v.(map[string]any); ok && len(m) == 1 {
			return m["pointsPerSecond"]
		}
		return v
	}
	if v, ok := get(); !ok || v != nil {
		t.Fatalf("sampling of a new dataset = %v (present %v); want null", v, ok)
	}

	var d map[string]any
	if code := e.call("PATCH", "/api/v1/datasets/api", A, `{"sampling":{"pointsPerSecond":1000}}`, nil, &d); code != 200 || pps(d["sampling"]) != 1000.0 {
		t.Fatalf("PATCH sampling 1000 = %d %v; want 200 and {\"pointsPerSecond\":1000}", code, d)
	}
	if v, _ := get(); pps(v) != 1000.0 {
		t.Errorf("GET after PATCH: sampling = %v; want {\"pointsPerSecond\":1000}", v)
	}
	if ds := e.store.Dataset(1, "api"); ds == nil || ds.Sampling != 1000 || e.store.Sampling(1, "api") != 1000 {
		t.Errorf("stored sampling = %+v; want 1000", ds)
	}
	var list struct {
		Datasets []map[string]any `json:"datasets"`
	}
	e.call("GET", "/api/v1/datasets", R, nil, nil, &list)
	for _, ds := range list.Datasets {
		if ds["name"] == "api" && pps(ds["sampling"]) != 1000.0 {
			t.Errorf("GET /api/v1/datasets: api's sampling = %v; want {\"pointsPerSecond\":1000}", ds["sampling"])
		}
	}

	// A PATCH of something else leaves sampling alone.
	if code := e.call("PATCH", "/api/v1/datasets/api", A, `{"retention":"7d"}`, nil, &d); code != 200 || pps(d["sampling"]) != 1000.0 || d["retention"] != "7d" {
		t.Errorf("PATCH retention = %d %v; want sampling kept at 1000", code, d)
	}

	// Bad values are refused with the limit named, and change nothing,
	// not even the valid part of the same request.
	for _, body := range []string{
		`{"sampling":{"pointsPerSecond":-1}}`,
		`{"sampling":{"pointsPerSecond":0.5}}`,
		`{"sampling":{"pointsPerSecond":1000001}}`,
		`{"sampling":{"pointsPerSecond":1e400}}`,
		`{"sampling":{"pointsPerSecond":"NaN"}}`,
		`{"sampling":{"pointsPerSecond":null}}`,
		`{"sampling":{}}`,
		`{"sampling":{"pps":100}}`,
		`{"sampling":1000}`,
		`{"sampling":"on"}`,
		`{"sampling":{"pointsPerSecond":-5},"retention":"30d"}`,
	} {
		var a struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		code := e.call("PATCH", "/api/v1/datasets/api", A, body, nil, &a)
		if code != 400 || a.Error.Code != "bad_sampling" || !strings.Contains(a.Error.Message, "1000000") {
			t.Errorf("PATCH %s = %d %+v; want 400 bad_sampling naming the limit 1000000", body, code, a.Error)
		}
	}
	if ds := e.store.Dataset(1, "api"); ds.Sampling != 1000 || ds.Retention != 7*24*time.Hour {
		t.Errorf("after refused PATCHes: sampling %v, retention %v; want 1000 and 7d unchanged", ds.Sampling, ds.Retention)
	}

	// Off, either way.
	for _, c := range []struct{ on, off string }{
		{`{"sampling":{"pointsPerSecond":50}}`, `{"sampling":{"pointsPerSecond":0}}`},
		{`{"sampling":{"pointsPerSecond":2.5}}`, `{"sampling":null}`},
	} {
		if code := e.call("PATCH", "/api/v1/datasets/api", A, c.on, nil, &d); code != 200 || d["sampling"] == nil {
			t.Errorf("PATCH %s = %d %v; want 200 and sampling on", c.on, code, d)
		}
		clear(d)
		if code := e.call("PATCH", "/api/v1/datasets/api", A, c.off, nil, &d); code != 200 || d["sampling"] != nil {
			t.Errorf("PATCH %s = %d %v; want 200 and sampling null", c.off, code, d)
		}
		if v, ok := get(); !ok || v != nil || e.store.Sampling(1, "api") != 0 {
			t.Errorf("GET after PATCH %s: sampling = %v; want null", c.off, v)
		}
	}

	// Only admin keys change it, only on datasets that exist.
	if code := e.call("PATCH", "/api/v1/datasets/api", R, `{"sampling":{"pointsPerSecond":10}}`, nil, nil); code != 403 {
		t.Errorf("PATCH with a read key = %d; want 403", code)
	}
	if code := e.call("PATCH", "/api/v1/datasets/nope", A, `{"sampling":{"pointsPerSecond":10}}`, nil, nil); code != 404 {
		t.Errorf("PATCH of a dataset that does not exist = %d; want 404", code)
	}
}
