package demo

import (
	"strconv"
)

// The platform's bugs, as error tracking sees them: Go errors and panics
// of its API (sentry-go), and JavaScript errors of its web app
// (@sentry/browser). Each is one error group.

// sentryException is an exception of an event, as the SDKs send it.
type sentryException struct {
	Type       string           `json:"type"`
	Value      string           `json:"value"`
	Module     string           `json:"module,omitempty"`
	Mechanism  *sentryMechanism `json:"mechanism,omitempty"`
	Stacktrace *sentryStack     `json:"stacktrace,omitempty"`
}

type sentryMechanism struct {
	Type    string `json:"type"`
	Handled bool   `json:"handled"`
}

type sentryStack struct {
	Frames []sentryFrame `json:"frames"` // oldest first
}

type sentryFrame struct {
	Function string `json:"function,omitempty"`
	Module   string `json:"module,omitempty"`
	Filename string `json:"filename,omitempty"`
	AbsPath  string `json:"abs_path,omitempty"`
	Lineno   int    `json:"lineno,omitempty"`
	Colno    int    `json:"colno,omitempty"`
	InApp    bool   `json:"in_app"`
}

// The API's Go module.
const goModule = "github.com/tutorly/tutor-api"

// goFrame is a frame as sentry-go writes it: the package as the module,
// the function without it.
func goFrame(pkg, fn, file string, line int) sentryFrame {
	inApp := len(pkg) >= len(goModule) && pkg[:len(goModule)] == goModule
	abs := "/usr/local/go/src/" + file
	if inApp {
		abs = "/src/tutor-api/" + file
	} else if len(pkg) > 11 && pkg[:11] == "github.com/" {
		abs = "/go/pkg/mod/" + file
	}
	return sentryFrame{Function: fn, Module: pkg, Filename: file, AbsPath: abs, Lineno: line, InApp: inApp}
}

// goServe are the frames under every handler: net/http and sentryhttp.
var goServe = []sentryFrame{
	goFrame("net/http", "(*conn).serve", "net/http/server.go", 2092),
	goFrame("net/http", "serverHandler.ServeHTTP", "net/http/server.go", 3210),
	goFrame("net/http", "(*ServeMux).ServeHTTP", "net/http/server.go", 2747),
	goFrame("github.com/getsentry/sentry-go/http", "(*Handler).handle.func1", "github.com/getsentry/sentry-go@v0.30.0/http/sentryhttp.go", 119),
	goFrame("net/http", "HandlerFunc.ServeHTTP", "net/http/server.go", 2220),
	goFrame(goModule+"/internal/api", "(*Server).withUser.func1", "internal/api/middleware.go", 64),
}

// goPanic are the runtime's frames of a recovered panic.
func goPanic(fault string) []sentryFrame {
	return []sentryFrame{
		goFrame("runtime", fault, "runtime/panic.go", 262),
		goFrame("runtime", "gopanic", "runtime/panic.go", 785),
		goFrame("github.com/getsentry/sentry-go/http", "(*Handler).recoverWithSentry", "github.com/getsentry/sentry-go@v0.30.0/http/sentryhttp.go", 135),
	}
}

func stack(parts ...[]sentryFrame) *sentryStack {
	var f []sentryFrame
	for _, p := range parts {
		f = append(f, p...)
	}
	return &sentryStack{Frames: f}
}

// Bugs of the API, in the order of goBugs.
const (
	bugGradingNil = iota // a panic in grading, mostly during the submit incident
	bugPassback          // grade passbacks to Moodle time out while it is down
	bugOpenAI            // the chat model times out
	bugDBLocked          // D1 says the database is locked; fixed in 1.5.0
	bugRetriever         // an index out of range in retrieval: fixed in 1.5.0, then back
	bugAvatarNull        // a NULL avatar_url of a few users
	bugVectorize         // the vector index answers 503
	numGoBugs
)

// goBug is a bug of the API.
type goBug struct {
	key   string // a short name (tests, the report)
	query string // a part of its group's title that finds it
	route string // the transaction
	level string
	// exceptions makes the event's exceptions (main last).
	exceptions func(r rnd, user int) []sentryException
}

var goBugs = [numGoBugs]goBug{
	bugGradingNil: {key: "grading-nil-pointer", query: "invalid memory address or nil pointer dereference", route: "POST /api/assessments/{id}/submit", level: "fatal",
		exceptions: func(r rnd, _ int) []sentryException {
			return []sentryException{{Type: "runtime.errorString", Value: "runtime error: invalid memory address or nil pointer dereference",
				Mechanism: &sentryMechanism{Type: "generic", Handled: false},
				Stacktrace: stack(goServe, []sentryFrame{
					goFrame(goModule+"/internal/api", "(*Server).submitAssessment", "internal/api/assessments.go", 141),
					goFrame(goModule+"/internal/grading", "(*Grader).Grade", "internal/grading/grader.go", 77),
					goFrame(goModule+"/internal/grading", "(*Grader).scoreRubric", "internal/grading/rubric.go", 58+r.IntN(3)),
				}, goPanic("panicmem"))}}
		}},
	bugPassback: {key: "lti-passback-timeout", query: "lti: send score", route: "POST /api/assessments/{id}/submit", level: "error",
		exceptions: func(r rnd, _ int) []sentryException {
			inner := `Post "https://moodle.lakeside.edu/mod/lti/service.php": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`
			return []sentryException{
				{Type: "*url.Error", Value: inner},
				{Type: "*fmt.wrapError", Value: "lti: send score to moodle: " + inner, Mechanism: &sentryMechanism{Type: "generic", Handled: true},
					Stacktrace: stack(goServe, []sentryFrame{
						goFrame(goModule+"/internal/api", "(*Server).submitAssessment", "internal/api/assessments.go", 167),
						goFrame(goModule+"/internal/lti", "(*Client).SendScore", "internal/lti/passback.go", 92),
						goFrame(goModule+"/internal/lti", "(*Client).post", "internal/lti/client.go", 48),
					})}}
		}},
	bugOpenAI: {key: "openai-timeout", query: "chat: complete", route: "POST /api/chat/messages", level: "error",
		exceptions: func(r rnd, _ int) []sentryException {
			inner := `Post "https://api.openai.com/v1/chat/completions": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`
			return []sentryException{
				{Type: "*url.Error", Value: inner},
				{Type: "*fmt.wrapError", Value: "chat: complete with gpt-4o-mini: " + inner, Mechanism: &sentryMechanism{Type: "generic", Handled: true},
					Stacktrace: stack(goServe, []sentryFrame{
						goFrame(goModule+"/internal/api", "(*Server).postChatMessage", "internal/api/chat.go", 88),
						goFrame(goModule+"/internal/chat", "(*Tutor).Answer", "internal/chat/tutor.go", 131),
						goFrame(goModule+"/internal/llm", "(*OpenAI).Complete", "internal/llm/openai.go", 74),
					})}}
		}},
	bugDBLocked: {key: "d1-database-locked", query: "database is locked", route: "POST /api/assessments/{id}/submit", level: "error",
		exceptions: func(r rnd, _ int) []sentryException {
			return []sentryException{{Type: "*d1.Error", Value: "D1_ERROR: database is locked: SQLITE_BUSY",
				Mechanism: &sentryMechanism{Type: "generic", Handled: true},
				Stacktrace: stack(goServe, []sentryFrame{
					goFrame(goModule+"/internal/api", "(*Server).submitAssessment", "internal/api/assessments.go", 152),
					goFrame(goModule+"/internal/progress", "(*Store).Update", "internal/progress/store.go", 113),
					goFrame(goModule+"/internal/d1", "(*DB).Exec", "internal/d1/db.go", 66),
				})}}
		}},
	bugRetriever: {key: "retriever-index-out-of-range", query: "index out of range", route: "POST /api/chat/messages", level: "fatal",
		exceptions: func(r rnd, _ int) []sentryException {
			n := 2 + r.IntN(4)
			return []sentryException{{Type: "runtime.boundsError", Value: "runtime error: index out of range [" + strconv.Itoa(n) + "] with length " + strconv.Itoa(n),
				Mechanism: &sentryMechanism{Type: "generic", Handled: false},
				Stacktrace: stack(goServe, []sentryFrame{
					goFrame(goModule+"/internal/api", "(*Server).postChatMessage", "internal/api/chat.go", 71),
					goFrame(goModule+"/internal/chat", "(*Tutor).Answer", "internal/chat/tutor.go", 96),
					goFrame(goModule+"/internal/retrieval", "(*Retriever).TopK", "internal/retrieval/rerank.go", 203),
				}, goPanic("goPanicIndex"))}}
		}},
	bugAvatarNull: {key: "users-null-avatar", query: "avatar_url", route: "GET /api/users/me", level: "error",
		exceptions: func(r rnd, user int) []sentryException {
			inner := `sql: Scan error on column index 4, name "avatar_url": converting NULL to string is unsupported`
			return []sentryException{
				{Type: "*errors.errorString", Value: inner},
				{Type: "*fmt.wrapError", Value: "users: scan user " + strconv.Itoa(10000+user) + ": " + inner, Mechanism: &sentryMechanism{Type: "generic", Handled: true},
					Stacktrace: stack(goServe, []sentryFrame{
						goFrame(goModule+"/internal/api", "(*Server).getMe", "internal/api/users.go", 39),
						goFrame(goModule+"/internal/users", "(*Store).ByID", "internal/users/store.go", 57),
					})}}
		}},
	bugVectorize: {key: "vectorize-503", query: "vectorize: query", route: "GET /api/search", level: "error",
		exceptions: func(r rnd, _ int) []sentryException {
			idx := []string{"lesson-notes", "course-catalog"}[r.IntN(2)]
			return []sentryException{{Type: "*vectorize.Error", Value: "vectorize: query " + idx + ": 503 Service Unavailable",
				Mechanism: &sentryMechanism{Type: "generic", Handled: true},
				Stacktrace: stack(goServe, []sentryFrame{
					goFrame(goModule+"/internal/api", "(*Server).search", "internal/api/search.go", 45),
					goFrame(goModule+"/internal/search", "(*Service).Query", "internal/search/service.go", 88),
					goFrame(goModule+"/internal/vectorize", "(*Index).Query", "internal/vectorize/client.go", 121),
				})}}
		}},
}

// Bugs of the web app, in the order of jsBugs.
const (
	bugChatMap  = iota // the chat log maps over messages a failed answer lacks
	bugTooltip         // new in 1.5.0: a tooltip measures an element that is gone
	bugAutosave        // an unhandled rejection: the quiz autosave's 409
	bugChunk           // tabs of 1.4.0 load a chunk the deploy removed
	bugResize          // ResizeObserver noise (the demo ignores it)
	bugSyntax          // an HTML error page parsed as JSON (handled)
	numJSBugs
)

// jsBug is a bug of the web app.
type jsBug struct {
	key     string
	query   string
	typ     string
	values  [3]string // by engine: V8, JavaScriptCore, Gecko
	mech    string    // onerror, onunhandledrejection, instrument, generic
	handled bool
	frames  func(main string, r rnd) []sentryFrame
}

// The web app's bundles: the main bundle's name has its content hash,
// which changes with the release.
const vendorJS = siteURL + "/static/js/vendor.9b1e4f0c.js"

func mainJS(release string) string {
	if release == releaseOld {
		return siteURL + "/static/js/main.3f9c2a1b.js"
	}
	return siteURL + "/static/js/main.8e41d07c.js"
}

func jsFrame(file, fn string, line, col int) sentryFrame {
	return sentryFrame{Function: fn, Filename: file, AbsPath: file, Lineno: line, Colno: col, InApp: file != vendorJS}
}

var jsBugs = [numJSBugs]jsBug{
	bugChatMap: {key: "chat-log-map-undefined", query: "reading 'map'", typ: "TypeError", mech: "onerror",
		values: [3]string{"Cannot read properties of undefined (reading 'map')", "undefined is not an object (evaluating 'e.messages.map')", "e.messages is undefined"},
		frames: func(main string, r rnd) []sentryFrame {
			return []sentryFrame{jsFrame(vendorJS, "Sc", 2, 81244), jsFrame(vendorJS, "Ua", 2, 60311),
				jsFrame(main, "ChatLog", 1, 48113+r.IntN(40)), jsFrame(main, "renderMessages", 1, 47920)}
		}},
	bugTooltip: {key: "tooltip-null-rect", query: "getBoundingClientRect", typ: "TypeError", mech: "instrument",
		values: [3]string{"Cannot read properties of null (reading 'getBoundingClientRect')", "null is not an object (evaluating 't.current.getBoundingClientRect')", "t.current is null"},
		frames: func(main string, r rnd) []sentryFrame {
			return []sentryFrame{jsFrame(main, "useTooltipPosition", 1, 90211), jsFrame(main, "positionTooltip", 1, 90544)}
		}},
	bugAutosave: {key: "quiz-autosave-rejection", query: "Autosave failed", typ: "Error", mech: "onunhandledrejection",
		values: [3]string{"Autosave failed: 409 Conflict", "Autosave failed: 409 Conflict", "Autosave failed: 409 Conflict"},
		frames: func(main string, r rnd) []sentryFrame {
			return []sentryFrame{jsFrame(main, "QuizForm.autosave", 1, 66120), jsFrame(main, "saveDraft", 1, 65874), jsFrame(main, "apiFetch", 1, 12403)}
		}},
	bugChunk: {key: "chunk-load-error", query: "Loading chunk", typ: "ChunkLoadError", mech: "onunhandledrejection",
		values: [3]string{"Loading chunk 412 failed.\n(error: " + siteURL + "/static/js/412.5d2c8a91.chunk.js)",
			"Loading chunk 412 failed.\n(error: " + siteURL + "/static/js/412.5d2c8a91.chunk.js)",
			"Loading chunk 412 failed.\n(error: " + siteURL + "/static/js/412.5d2c8a91.chunk.js)"},
		frames: func(main string, r rnd) []sentryFrame {
			return []sentryFrame{jsFrame(main, "__webpack_require__.e", 1, 2210), jsFrame(main, "__webpack_require__.f.j", 1, 3391)}
		}},
	bugResize: {key: "resize-observer-loop", query: "ResizeObserver loop", typ: "Error", mech: "onerror",
		values: [3]string{"ResizeObserver loop completed with undelivered notifications.", "ResizeObserver loop completed with undelivered notifications.",
			"ResizeObserver loop completed with undelivered notifications."}},
	bugSyntax: {key: "html-as-json", query: "SyntaxError", typ: "SyntaxError", mech: "generic", handled: true,
		values: [3]string{`Unexpected token '<', "<!DOCTYPE "... is not valid JSON`, "JSON Parse error: Unrecognized token '<'",
			"JSON.parse: unexpected character at line 1 column 1 of the JSON data"},
		frames: func(main string, r rnd) []sentryFrame {
			return []sentryFrame{jsFrame(main, "submitAnswers", 1, 67002), jsFrame(main, "apiFetch", 1, 12518)}
		}},
}

// jsError is one JavaScript error a visit raised.
type jsError struct {
	bug     int
	ts      int64
	path    string
	prof    *profile
	user    string // the student's id; "" when not signed in
	release string
	seq     uint64 // varies the event's details
}
