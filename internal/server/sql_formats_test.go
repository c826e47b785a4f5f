package server_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/alidade/alidade/internal/meta"
)

// TestSQLFormats: FORMAT and default_format (any ASCII case) pick the
// format, and the answer carries ClickHouse's Content-Type for it. Two
// points of /a with durations 10 and 30: n 2, d 20.
func TestSQLFormats(t *testing.T) {
	e := newEnv(t, envOptions{})
	W, R := e.keys[meta.KindWrite], e.keys[meta.KindRead]
	e.call("POST", "/api/v1/datasets/requests/points", W, `[{"indexes":["/a"],"blobs":["/a","GET"],"doubles":[10,200]},{"indexes":["/a"],"blobs":["/a","GET"],"doubles":[30,500]}]`, nil, nil)
	q := "SELECT endpoint, count() AS n, avg(duration) AS d FROM requests GROUP BY endpoint"
	for _, c := range []struct{ path, body, ctype, want string }{
		{"/api/v1/sql", q + " FORMAT CSV", "text/csv; charset=UTF-8; header=absent", "\"/a\",2,20\n"},
		{"/api/v1/sql?default_format=csvwithnames", q, "text/csv; charset=UTF-8; header=present", "\"endpoint\",\"n\",\"d\"\n\"/a\",2,20\n"},
		{"/api/v1/sql?default_format=TSVWithNames", q, "text/tab-separated-values; charset=UTF-8", "endpoint\tn\td\n/a\t2\t20\n"},
		{"/api/v1/sql", q + " FORMAT JSONCompactEachRow", "text/plain; charset=UTF-8", "[\"\\/a\", \"2\", 20]\n"},
		{"/api/v1/sql", q + " FORMAT JSONEachRow", "application/x-ndjson; charset=UTF-8", "{\"endpoint\":\"\\/a\",\"n\":\"2\",\"d\":20}\n"},
		{"/api/v1/sql?default_format=CSV", q + " FORMAT JSONCompact", "application/json; charset=UTF-8",
			`{"meta":[{"name":"endpoint","type":"String"},{"name":"n","type":"UInt64"},{"name":"d","type":"Float64"}],"data":[["\/a", "2", 20]],"rows":1,"rows_before_limit_at_least":1}` + "\n"},
	} {
		req, _ := http.NewRequest("POST", e.url+c.path, strings.NewReader(c.body))
		req.Header.Set("Authorization", "Bearer "+R)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(data) != c.want || resp.Header.Get("Content-Type") != c.ctype {
			t.Errorf("%s %q = %d %q %q; want 200 %q %q", c.path, c.body, resp.StatusCode, resp.Header.Get("Content-Type"), data, c.ctype, c.want)
		}
	}
}
