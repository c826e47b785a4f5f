//go:build browser

package browsertest

import (
	"fmt"
	"sync"
	"testing"
)

// knownBugs are bugs these tests found in code they do not own (the SDK, the
// web answers), reported and not fixed yet: their assertions log instead of
// failing. Remove an entry once its bug is fixed, so that the assertion
// fails again. (A fixed bug cannot fail the test by passing: some of these
// show only in some runs, e.g. INP's target depends on which of an
// interaction's entries come out longest.)
var knownBugs = map[string]string{}

// expect asserts ok, unless the failure is a known bug: then it logs it
// (go test -v shows it, as make test-browser runs it), with the bug's
// description once per test.
func expect(t *testing.T, bug string, ok bool, format string, args ...any) {
	t.Helper()
	why, known := knownBugs[bug]
	switch {
	case !ok && known:
		msg := fmt.Sprintf("KNOWN BUG %s: %s", bug, fmt.Sprintf(format, args...))
		key := t.Name() + " " + bug
		told.Lock()
		if !told.m[key] {
			told.m[key] = true
			msg += "\n    (" + why + ")"
		}
		told.Unlock()
		t.Log(msg)
	case !ok:
		t.Errorf(format, args...)
	}
}

var told = struct {
	sync.Mutex
	m map[string]bool
}{m: map[string]bool{}}
