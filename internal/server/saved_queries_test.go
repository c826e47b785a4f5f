package server_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/meta"
)

type savedQuery struct {
	ID      int64     `json:"id"`
	Name    string    `json:"name"`
	SQL     string    `json:"sql"`
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
}

type savedQueryList struct {
	Queries []savedQuery `json:"queries"`
}

type apiError struct {
	Error struct{ Code, Message string } `json:"error"`
}

// Saved queries: the admin key creates, renames and deletes them, the read
// key lists them, and another project's keys neither see nor touch them.
func TestSavedQueries(t *testing.T) {
	e := newEnv(t, envOptions{})
	admin, read := e.keys[meta.KindAdmin], e.keys[meta.KindRead]
	list := func(key string) []savedQuery {
		t.Helper()
		var out savedQueryList
		if code := e.call("GET", "/api/v1/saved-queries", key, nil, nil, &out); code != 200 {
			t.Fatalf("GET /api/v1/saved-queries = %d", code)
		}
		if out.Queries == nil {
			t.Fatalf("queries is null; want a list")
		}
		return out.Queries
	}
	if got := list(read); len(got) != 0 {
		t.Fatalf("a new project has saved queries: %+v", got)
	}

	// Create: 201 and the query, its name trimmed.
	sql := "SELECT index1 AS endpoint, count() AS n FROM requests GROUP BY endpoint ORDER BY n DESC LIMIT 10"
	var q savedQuery
	before := time.Now().Add(-time.Second)
	if code := e.call("POST", "/api/v1/saved-queries", admin, map[string]string{"name": "  Top endpoints ", "sql": sql}, nil, &q); code != 201 {
		t.Fatalf("POST = %d %+v", code, q)
	}
	if q.ID <= 0 || q.Name != "Top endpoints" || q.SQL != sql || q.Created.Before(before) || !q.Updated.Equal(q.Created) {
		t.Fatalf("created %+v", q)
	}
	var q2 savedQuery
	if code := e.call("POST", "/api/v1/saved-queries", admin, map[string]string{"name": "AI cost by model", "sql": "SELECT 1"}, nil, &q2); code != 201 {
		t.Fatalf("POST 2 = %d", code)
	}
	// The read key lists them, by name, with what was stored.
	got := list(read)
	if len(got) != 2 || got[0].Name != "AI cost by model" || got[1].ID != q.ID || got[1].SQL != sql || !got[1].Created.Equal(q.Created) {
		t.Fatalf("list = %+v", got)
	}

	// The read key cannot create, change or delete.
	var ae apiError
	if code := e.call("POST", "/api/v1/saved-queries", read, map[string]string{"name": "x", "sql": "SELECT 1"}, nil, &ae); code != 403 {
		t.Errorf("read key POST = %d; want 403", code)
	}
	if code := e.call("PUT", fmt.Sprintf("/api/v1/saved-queries/%d", q.ID), read, map[string]string{"name": "x", "sql": "SELECT 1"}, nil, nil); code != 403 {
		t.Errorf("read key PUT = %d; want 403", code)
	}
	if code := e.call("DELETE", fmt.Sprintf("/api/v1/saved-queries/%d", q.ID), read, nil, nil, nil); code != 403 {
		t.Errorf("read key DELETE = %d; want 403", code)
	}
	if code := e.call("GET", "/api/v1/saved-queries", e.keys[meta.KindWrite], nil, nil, nil); code != 403 {
		t.Errorf("write key GET = %d; want 403", code)
	}
	if code := e.call("GET", "/api/v1/saved-queries", "", nil, nil, nil); code != 401 {
		t.Errorf("no key GET = %d; want 401", code)
	}

	// Another project's keys see none of them and cannot touch them.
	var p struct{ Keys map[string]string }
	if code := e.call("POST", "/api/v1/projects", rootKey, map[string]string{"name": "other"}, nil, &p); code != 201 {
		t.Fatalf("create project = %d", code)
	}
	if got := list(p.Keys["read"]); len(got) != 0 {
		t.Errorf("project 2 sees %+v", got)
	}
	if got := list(p.Keys["admin"]); len(got) != 0 {
		t.Errorf("project 2's admin sees %+v", got)
	}
	if code := e.call("PUT", fmt.Sprintf("/api/v1/saved-queries/%d", q.ID), p.Keys["admin"], map[string]string{"name": "mine", "sql": "SELECT 2"}, nil, &ae); code != 404 {
		t.Errorf("project 2 PUT of project 1's query = %d; want 404", code)
	}
	if code := e.call("DELETE", fmt.Sprintf("/api/v1/saved-queries/%d", q.ID), p.Keys["admin"], nil, nil, nil); code != 404 {
		t.Errorf("project 2 DELETE of project 1's query = %d; want 404", code)
	}
	// The same name in another project is fine.
	var q3 savedQuery
	if code := e.call("POST", "/api/v1/saved-queries", p.Keys["admin"], map[string]string{"name": "Top endpoints", "sql": "SELECT 3"}, nil, &q3); code != 201 {
		t.Errorf("project 2 POST of a name project 1 has = %d", code)
	}
	if got := list(read); len(got) != 2 || got[1].SQL != sql {
		t.Errorf("project 1 after project 2's calls: %+v", got)
	}

	// Update: the name and SQL change, created stays.
	var u savedQuery
	if code := e.call("PUT", fmt.Sprintf("/api/v1/saved-queries/%d", q.ID), admin, map[string]string{"name": "Endpoints", "sql": "SELECT 4"}, nil, &u); code != 200 {
		t.Fatalf("PUT = %d", code)
	}
	if u.ID != q.ID || u.Name != "Endpoints" || u.SQL != "SELECT 4" || !u.Created.Equal(q.Created) || u.Updated.Before(u.Created) {
		t.Errorf("updated %+v", u)
	}
	if got := list(admin); len(got) != 2 || got[1].Name != "Endpoints" || got[1].SQL != "SELECT 4" {
		t.Errorf("after PUT: %+v", got)
	}
	// A name another query of the project has: 409, naming it.
	ae = apiError{}
	if code := e.call("PUT", fmt.Sprintf("/api/v1/saved-queries/%d", q.ID), admin, map[string]string{"name": "AI cost by model", "sql": "SELECT 4"}, nil, &ae); code != 409 ||
		!strings.Contains(ae.Error.Message, `"AI cost by model"`) {
		t.Errorf("PUT to a taken name = %d %+v; want 409", code, ae)
	}
	if code := e.call("POST", "/api/v1/saved-queries", admin, map[string]string{"name": "Endpoints", "sql": "SELECT 5"}, nil, nil); code != 409 {
		t.Errorf("POST of a taken name = %d; want 409", code)
	}

	// Validation, with the limits named.
	for _, c := range []struct {
		name string
		body any
		want string
	}{
		{"empty name", map[string]string{"name": " ", "sql": "SELECT 1"}, "1 to 100 characters"},
		{"long name", map[string]string{"name": strings.Repeat("é", 101), "sql": "SELECT 1"}, "1 to 100 characters"},
		{"control character", map[string]string{"name": "a\nb", "sql": "SELECT 1"}, "control character"},
		{"no sql", map[string]string{"name": "a"}, `"sql"`},
		{"empty sql", map[string]string{"name": "a", "sql": "  "}, "empty"},
		{"long sql", map[string]string{"name": "a", "sql": "SELECT '" + strings.Repeat("x", 100<<10) + "'"}, "limit is 102400 bytes"},
		{"unknown field", `{"name":"a","sql":"SELECT 1","x":1}`, "unknown field"},
	} {
		ae = apiError{}
		if code := e.call("POST", "/api/v1/saved-queries", admin, c.body, nil, &ae); code != 400 || !strings.Contains(ae.Error.Message, c.want) {
			t.Errorf("%s: %d %+v; want 400 naming %q", c.name, code, ae, c.want)
		}
	}
	if got := list(admin); len(got) != 2 {
		t.Errorf("bad posts stored something: %+v", got)
	}
	// 100 characters (not bytes) and 100 KB are within the limits.
	var long savedQuery
	if code := e.call("POST", "/api/v1/saved-queries", admin, map[string]string{"name": strings.Repeat("é", 100), "sql": strings.Repeat("x", 100<<10)}, nil, &long); code != 201 {
		t.Errorf("POST at the limits = %d", code)
	}
	for _, path := range []string{"/api/v1/saved-queries/abc", "/api/v1/saved-queries/0"} {
		if code := e.call("DELETE", path, admin, nil, nil, nil); code != 400 {
			t.Errorf("DELETE %s = %d; want 400", path, code)
		}
	}

	// Delete: 204, then 404.
	if code := e.call("DELETE", fmt.Sprintf("/api/v1/saved-queries/%d", q.ID), admin, nil, nil, nil); code != 204 {
		t.Fatalf("DELETE = %d", code)
	}
	if code := e.call("DELETE", fmt.Sprintf("/api/v1/saved-queries/%d", q.ID), admin, nil, nil, nil); code != 404 {
		t.Errorf("second DELETE = %d; want 404", code)
	}
	if code := e.call("PUT", fmt.Sprintf("/api/v1/saved-queries/%d", q.ID), admin, map[string]string{"name": "x", "sql": "SELECT 1"}, nil, nil); code != 404 {
		t.Errorf("PUT of a deleted query = %d; want 404", code)
	}
	if got := list(read); len(got) != 2 || got[0].ID != q2.ID || got[1].ID != long.ID {
		t.Errorf("after DELETE: %+v", got)
	}
	if got := list(p.Keys["read"]); len(got) != 1 || got[0].ID != q3.ID {
		t.Errorf("project 2 after project 1's delete: %+v", got)
	}
}

// A root key is no project's: it cannot reach saved queries.
func TestSavedQueriesRootKey(t *testing.T) {
	e := newEnv(t, envOptions{})
	if code := e.call("GET", "/api/v1/saved-queries", rootKey, nil, nil, nil); code != 403 {
		t.Errorf("root key GET = %d; want 403", code)
	}
}
