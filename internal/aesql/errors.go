package aesql

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Error is a refusal of the user's SQL text: a syntax error, a name that does
// not resolve, a construct or function outside the dialect, a type error or a
// limit. Every refusal Compile makes is an *Error; the HTTP layer answers 400
// with its text. Any other error Compile returns is a bug (answer 500).
type Error struct {
	Line, Col int    // 1-based; Col counts characters (Unicode code points), not bytes
	Token     string // the offending token as written ("end of input" at the end)
	Msg       string // what is wrong
	Hint      string // optional: what to do instead
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "line %d, column %d: %s", e.Line, e.Col, e.Msg)
	if e.Token == endOfInput {
		b.WriteString(" at end of input")
	} else {
		fmt.Fprintf(&b, " near %q", e.Token)
	}
	if e.Hint != "" {
		b.WriteString(": ")
		b.WriteString(e.Hint)
	}
	return b.String()
}

// IsUserError reports whether err is (or wraps) an *Error, a refusal of the
// user's text as opposed to an internal failure.
func IsUserError(err error) bool {
	var e *Error
	return errors.As(err, &e)
}

const endOfInput = "end of input"

// maxTokenText bounds the token text quoted in an error.
const maxTokenText = 64

// position converts a byte offset of src into a 1-based line and column
// (in code points).
func position(src string, off int) (line, col int) {
	if off > len(src) {
		off = len(src)
	}
	if off < 0 {
		off = 0
	}
	line, col = 1, 1
	start := 0
	for i := 0; i < off; i++ {
		if src[i] == '\n' {
			line++
			start = i + 1
		}
	}
	col = utf8.RuneCountInString(src[start:off]) + 1
	return line, col
}

// errAt builds an *Error at byte offset off of src, naming tok.
func errAt(src string, off int, tok string, format string, args ...any) *Error {
	line, col := position(src, off)
	if tok == "" {
		tok = endOfInput
	}
	if len(tok) > maxTokenText {
		cut := maxTokenText
		for cut > 0 && !utf8.RuneStart(tok[cut]) {
			cut--
		}
		tok = tok[:cut] + "…"
	}
	return &Error{Line: line, Col: col, Token: tok, Msg: fmt.Sprintf(format, args...)}
}

func (e *Error) hint(format string, args ...any) *Error {
	e.Hint = fmt.Sprintf(format, args...)
	return e
}

// shortLit quotes a string value for a message, cut to a readable length.
func shortLit(s string) string {
	if len(s) > maxTokenText {
		cut := maxTokenText
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		return quoteStringCanon(s[:cut]) + "…"
	}
	return quoteStringCanon(s)
}
