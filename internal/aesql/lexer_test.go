package aesql

import (
	"errors"
	"strings"
	"testing"
)

// tokString renders tokens compactly: kind letter, colon, decoded value.
func tokString(toks []token) string {
	var parts []string
	for _, t := range toks {
		switch t.Kind {
		case tEOF:
			parts = append(parts, "EOF")
		case tIdent:
			parts = append(parts, "I:"+t.Text)
		case tQIdent:
			parts = append(parts, "Q:"+t.Val)
		case tNumber:
			parts = append(parts, "N:"+t.Text)
		case tString:
			parts = append(parts, "S:"+t.Val)
		case tOp:
			parts = append(parts, "O:"+t.Text)
		}
	}
	return strings.Join(parts, " ")
}

func TestLex(t *testing.T) {
	cases := []struct{ in, want string }{
		{"SELECT 1", "I:SELECT N:1 EOF"},
		{"select  blob1,double2 FROM t", "I:select I:blob1 O:, I:double2 I:FROM I:t EOF"},
		{"a<=b>=c<>d!=e==f=g<h>i", "I:a O:<= I:b O:>= I:c O:<> I:d O:!= I:e O:== I:f O:= I:g O:< I:h O:> I:i EOF"},
		{"1+2-3*4/5%6||'x'", "N:1 O:+ N:2 O:- N:3 O:* N:4 O:/ N:5 O:% N:6 O:|| S:x EOF"},
		{"1.5, .5 1. 1e10 1.5E-3 0x1F 0b101", "N:1.5 O:, N:.5 N:1. N:1e10 N:1.5E-3 N:0x1F N:0b101 EOF"},
		{"t.a t.`b c` \"d\"", "I:t O:. I:a I:t O:. Q:b c Q:d EOF"},
		{`'it''s' 'it\'s' 'a\\b' 'x\ny' 'tab\there' 'nul\0' '\x41\x42' '\q'`, "S:it's S:it's S:a\\b S:x\ny S:tab\there S:nul\x00 S:AB S:q EOF"},
		{"`a``b` \"a\"\"b\" `a\\`b`", "Q:a`b Q:a\"b Q:a`b EOF"},
		{"SELECT -- comment\n1 /* block /* nested */ still */ + 2", "I:SELECT N:1 O:+ N:2 EOF"},
		{"SELECT 1; -- trailing", "I:SELECT N:1 O:; EOF"},
		{"x--1", "I:x EOF"},
		{"'héllo wörld' `ünïcode`", "S:héllo wörld Q:ünïcode EOF"},
		{"ЅELECT", "I:ЅELECT EOF"}, // Cyrillic S: an identifier, never the keyword
		{"ſelect", "I:ſelect EOF"},
		{"a\t\r\n\f\vb", "I:a I:b EOF"},
		{"(a)", "O:( I:a O:) EOF"},
		{"f(x).y", "I:f O:( I:x O:) O:. I:y EOF"},
	}
	for _, c := range cases {
		toks, err := lex(c.in)
		if err != nil {
			t.Errorf("lex(%q): %v", c.in, err)
			continue
		}
		if got := tokString(toks); got != c.want {
			t.Errorf("lex(%q)\n got  %s\n want %s", c.in, got, c.want)
		}
	}
}

func TestLexErrors(t *testing.T) {
	cases := []struct {
		in        string
		line, col int
		tok, msg  string
	}{
		{"SELECT 'abc", 1, 8, "'abc", "unterminated string literal"},
		{"SELECT `abc", 1, 8, "`abc", "unterminated quoted identifier"},
		{"SELECT /* x", 1, 8, "/*", "unterminated comment"},
		{"SELECT 1；", 1, 9, "；", "unexpected character"},
		{"SELECT\u00a01", 1, 7, "\u00a0", "unexpected character"},
		{"SELECT 1\n  FROM t WHERE a ? b", 2, 18, "?", "unexpected character"},
		{"SELECT $1", 1, 8, "$", "unexpected character"},
		{"SELECT {x:String}", 1, 8, "{", "unexpected character"},
		{"SELECT 1abc", 1, 8, "1abc", "malformed number"},
		{"SELECT 0x", 1, 8, "0x", "malformed hexadecimal number"},
		{"SELECT '\\xZZ'", 1, 9, "\\xZZ", "malformed \\x escape"},
		{"SELECT '\\xff'", 1, 8, "'\\xff'", "not valid UTF-8"},
		{"SELECT \xff", 1, 8, "\xff", "not valid UTF-8"},
		{"SELECT ``", 1, 8, "``", "empty quoted identifier"},
		{"SELECT 1 \x00", 1, 10, "\x00", "unexpected character"},
		{"SELECT 1 # comment", 1, 10, "#", "unexpected character"},
		{"SELECT a\u2028b", 1, 9, "\u2028", "unexpected character"},
	}
	for _, c := range cases {
		_, err := lex(c.in)
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("lex(%q): got %v, want an *Error", c.in, err)
			continue
		}
		if e.Line != c.line || e.Col != c.col || e.Token != c.tok || !strings.Contains(e.Msg, c.msg) {
			t.Errorf("lex(%q): got line %d col %d token %q msg %q; want %d %d %q %q", c.in, e.Line, e.Col, e.Token, e.Msg, c.line, c.col, c.tok, c.msg)
		}
	}
}

func TestKeywordFoldingIsASCII(t *testing.T) {
	// U+017F (long s) and U+212A (Kelvin sign) fold to s and k under
	// Unicode case folding; they must not spell keywords.
	for _, w := range []string{"ſelect", "ſhow", "\u212aEY", "ｓｅｌｅｃｔ"} {
		toks, err := lex(w)
		if err != nil {
			continue
		}
		for _, kw := range []string{"SELECT", "SHOW", "KEY"} {
			if toks[0].isKeyword(kw) {
				t.Errorf("%q lexes as keyword %s", w, kw)
			}
		}
	}
	if asciiLower("ſELECT") != "ſelect" || asciiUpper("ſelect") != "ſELECT" {
		t.Errorf("asciiLower/asciiUpper touch non-ASCII letters")
	}
}

func TestErrorText(t *testing.T) {
	_, err := mustCompile("SELECT read_csv('/etc/passwd')")
	if err == nil {
		t.Fatal("read_csv compiled")
	}
	want := `line 1, column 8: unknown function "read_csv" near "read_csv": only the functions of the Analytics Engine SQL dialect are available`
	if err.Error() != want {
		t.Errorf("got  %s\nwant %s", err, want)
	}
	if !IsUserError(err) {
		t.Errorf("IsUserError(%v) = false", err)
	}
	_, err = mustCompile("SELECT")
	if err == nil || !strings.HasSuffix(err.Error(), "at end of input") {
		t.Errorf("end of input error: %v", err)
	}
	if IsUserError(errors.New("x")) {
		t.Error("IsUserError of a plain error")
	}
}
