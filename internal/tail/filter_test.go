package tail

import (
	"net/url"
	"strings"
	"testing"

	"github.com/alidade/alidade/internal/point"
)

func TestParseFilterErrorsNameTheParameter(t *testing.T) {
	for _, tc := range []struct{ query, param, msg string }{
		{"status=bad", "status", "use ok or error"},
		{"status=ok&status=error", "status", "give it once"},
		{"dataset=Bad-Name!", "dataset", ""},
		{"method=G3T", "method", "HTTP method"},
		{"field=status", "field", "name:op:value"},
		{"field=status:>=", "field", "no value"},
		{"field=status:~:5", "field", "unknown operator"},
		{"field=Status:=:5", "field", "not a field name"},
		{"field=status:>:abc", "field", "compares numbers"},
		{"sampling=0", "sampling", "above 0"},
		{"sampling=1.5", "sampling", "at most 1"},
		{"sampling=x", "sampling", "such as 0.1"},
		{"search=" + strings.Repeat("x", 2000), "search", "limit"},
		{"datasets=requests", "datasets", "unknown parameter"},
	} {
		q, err := url.ParseQuery(tc.query)
		if err != nil {
			t.Fatal(err)
		}
		_, err = ParseFilter(q)
		pe, ok := err.(*ParamError)
		if !ok {
			t.Errorf("ParseFilter(%q) = %v; want a *ParamError", tc.query, err)
			continue
		}
		if pe.Param != tc.param || !strings.Contains(pe.Error(), tc.msg) {
			t.Errorf("ParseFilter(%q) = %q (param %q); want param %q and %q", tc.query, pe.Error(), pe.Param, tc.param, tc.msg)
		}
	}
}

func TestParseFilter(t *testing.T) {
	q, _ := url.ParseQuery("dataset=requests,ai_usage&dataset=requests&status=ERROR&method=post,get&search=chat&field=path:contains:a:b&field=status:>=:500&sampling=0.25&project=2")
	f, err := ParseFilter(q)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(f.Datasets, ",") != "requests,ai_usage" || f.Status != "error" || strings.Join(f.Methods, ",") != "POST,GET" ||
		f.Search != "chat" || len(f.Fields) != 2 || f.Fields[0].String() != "path:contains:a:b" || f.Fields[1].num != 500 || f.Sampling != 0.25 {
		t.Errorf("ParseFilter = %+v", f)
	}
}

var reqSchema = point.Builtin("requests")

func req(method, url string, status float64) point.Point {
	return point.Point{Dataset: "requests", Timestamp: 1000, Index: "GET " + url, Blobs: []string{url, method, "api"}, Doubles: []float64{12.5, status}}
}

// Each filter keeps what it names and leaves the rest.
func TestMatch(t *testing.T) {
	logs := point.Builtin("logs")
	logPt := func(level string) point.Point {
		return point.Point{Dataset: "logs", Index: "svc", Blobs: []string{level, "disk is full"}}
	}
	errPt := point.Point{Dataset: "errors", Index: "TypeError", Blobs: []string{"TypeError", "x is undefined"}}
	for _, tc := range []struct {
		query string
		p     point.Point
		s     *point.Schema
		want  bool
	}{
		{"", req("GET", "/a", 200), reqSchema, true},
		{"dataset=requests", req("GET", "/a", 200), reqSchema, true},
		{"dataset=ai_usage", req("GET", "/a", 200), reqSchema, false},
		{"status=error", req("GET", "/a", 500), reqSchema, true},
		{"status=error", req("GET", "/a", 404), reqSchema, true},
		{"status=error", req("GET", "/a", 399), reqSchema, false},
		{"status=ok", req("GET", "/a", 200), reqSchema, true},
		{"status=ok", req("GET", "/a", 503), reqSchema, false},
		{"status=error", errPt, point.Builtin("errors"), true},
		{"status=ok", errPt, point.Builtin("errors"), false},
		{"status=error", logPt("ERROR"), logs, true},
		{"status=error", logPt("fatal"), logs, true},
		{"status=error", logPt("warn"), logs, false},
		{"status=ok", logPt("info"), logs, true},
		{"method=post", req("POST", "/a", 200), reqSchema, true},
		{"method=POST", req("GET", "/a", 200), reqSchema, false},
		{"method=GET", logPt("info"), logs, false}, // no method field
		{"search=CHAT", req("GET", "/api/chat", 200), reqSchema, true},
		{"search=full", logPt("info"), logs, true},
		{"search=nothing", req("GET", "/api/chat", 200), reqSchema, false},
		{"field=url:=:/a", req("GET", "/a", 200), reqSchema, true},
		{"field=url:!=:/a", req("GET", "/a", 200), reqSchema, false},
		{"field=url:contains:AP", req("GET", "/api", 200), reqSchema, true},
		{"field=url:!contains:api", req("GET", "/api", 200), reqSchema, false},
		{"field=status:>=:500", req("GET", "/a", 500), reqSchema, true},
		{"field=status:>:500", req("GET", "/a", 500), reqSchema, false},
		{"field=status:<:300", req("GET", "/a", 200), reqSchema, true},
		{"field=status:<=:199", req("GET", "/a", 200), reqSchema, false},
		{"field=status:=:200", req("GET", "/a", 200), reqSchema, true},
		{"field=double2:!=:200", req("GET", "/a", 200), reqSchema, false},
		{"field=blob1:=:/a", req("GET", "/a", 200), reqSchema, true},
		{"field=endpoint:contains:get", req("GET", "/a", 200), reqSchema, true},
		{"field=timestamp:>:999", req("GET", "/a", 200), reqSchema, true},
		{"field=status:=:abc", req("GET", "/a", 200), reqSchema, false},
		{"field=nosuch:=:1", req("GET", "/a", 200), reqSchema, false},
		{"field=status:>=:500", logPt("error"), logs, false},
		{"field=status:>=:400&method=GET&status=error", req("GET", "/a", 502), reqSchema, true},
		{"field=status:>=:400&method=POST&status=error", req("GET", "/a", 502), reqSchema, false},
	} {
		q, _ := url.ParseQuery(tc.query)
		f, err := ParseFilter(q)
		if err != nil {
			t.Fatalf("ParseFilter(%q): %v", tc.query, err)
		}
		if got := f.compile(tc.p.Dataset, tc.s).match(&tc.p); got != tc.want {
			t.Errorf("filter %q on %+v = %v; want %v", tc.query, tc.p, got, tc.want)
		}
	}
}

func TestRecordJSON(t *testing.T) {
	p := req("GET", "/a\"b", 200)
	p.Blobs[2] = ""
	p.SampleInterval = 4
	got := string(newRecord(&p, reqSchema).AppendJSON(nil))
	want := `{"dataset":"requests","timestamp":1000,"endpoint":"GET /a\"b","url":"/a\"b","method":"GET","duration":12.5,"status":200,"_sample_interval":4}`
	if got != want {
		t.Errorf("AppendJSON =\n%s; want\n%s", got, want)
	}
	p = point.Point{Dataset: "mine", Timestamp: 5, Blobs: []string{"x", "y"}, Doubles: []float64{1e21}}
	got = string(newRecord(&p, &point.Schema{Blobs: []string{"", "dataset"}}).AppendJSON(nil))
	want = `{"dataset":"mine","timestamp":5,"blob1":"x","blob2":"y","double1":1e+21}`
	if got != want {
		t.Errorf("AppendJSON =\n%s; want\n%s", got, want)
	}
}

// FuzzParseFilter: any query parses or fails with a *ParamError, never
// panics; what parses compiles and matches any point without panicking,
// and a condition prints back to what parses the same.
func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{
		"", "field=status:>=:500", "field=path:contains:/api:v1", "field=a::", "field=:=:x", "field=status:>:1e309",
		"dataset=requests&dataset=a,b&status=error&method=POST&search=chat&sampling=0.1",
		"status=ok", "sampling=NaN", "field=url:!contains:%00", "method=,", "search=%ff",
	} {
		f.Add(s)
	}
	pts := []point.Point{req("POST", "/api/chat", 500), {Dataset: "logs", Blobs: []string{"error"}}, {Dataset: "errors"}}
	f.Fuzz(func(t *testing.T, query string) {
		q, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		flt, err := ParseFilter(q)
		if err != nil {
			if _, ok := err.(*ParamError); !ok {
				t.Fatalf("ParseFilter(%q) = %T %v; want a *ParamError", query, err, err)
			}
			return
		}
		if flt.Sampling < 0 || flt.Sampling > 1 {
			t.Fatalf("ParseFilter(%q): sampling %v", query, flt.Sampling)
		}
		for _, c := range flt.Fields {
			c2, err := ParseCond(c.String())
			if err != nil || c2.Name != c.Name || c2.Op != c.Op || c2.Value != c.Value {
				t.Fatalf("ParseCond(%q) = %+v, %v; want %+v", c.String(), c2, err, c)
			}
		}
		for i := range pts {
			flt.compile(pts[i].Dataset, point.Builtin(pts[i].Dataset)).match(&pts[i])
		}
	})
}
