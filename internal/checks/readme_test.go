package checks_test

import (
	"testing"
	"time"

	"github.com/alidade/alidade/internal/alert"
	"github.com/alidade/alidade/internal/point"
)

// The README's alert rules on checks decode against the built-in checks
// schema, and their queries parse.
func TestReadmeAlertRules(t *testing.T) {
	for _, b := range []string{
		`{"name":"api health failed twice in a row","query":{"dataset":"checks","range":"1m","filter":[{"field":"check","op":"=","value":"api health"}],
		  "aggregations":{"f":{"type":"max","field":"consecutive_failures"}}},"condition":{"op":">=","value":2},"for":"0s","every":"30s","noData":"keep"}`,
		`{"name":"certificate expires soon","query":{"dataset":"checks","range":"1h","filter":[{"field":"cert","op":"=","value":1}],"groupBy":["check"],
		  "aggregations":{"days":{"type":"min","field":"cert_days"}}},"condition":{"op":"<","value":14},"every":"1h"}`,
		`{"name":"page score","query":{"dataset":"checks","range":"1d","filter":[{"field":"type","op":"=","value":"page"},{"field":"ok","op":"=","value":1}],
		  "groupBy":["check"],"aggregations":{"score":{"type":"min","field":"score"}}},"condition":{"op":"<","value":80},"every":"1h"}`,
	} {
		if _, err := alert.Decode([]byte(b), time.Now(), point.Builtin); err != nil {
			t.Errorf("%s: %v", b, err)
		}
	}
}
