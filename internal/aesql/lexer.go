package aesql

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// tokKind is the kind of a token.
type tokKind uint8

const (
	tEOF    tokKind = iota
	tIdent          // bare identifier or keyword (ASCII letters, digits, _; other letters make unknown names)
	tQIdent         // quoted identifier: `x` or "x"; never a keyword
	tNumber         // numeric literal as written
	tString         // string literal, Val holds the decoded text
	tOp             // punctuation and operators
)

func (k tokKind) String() string {
	switch k {
	case tEOF:
		return "end of input"
	case tIdent:
		return "identifier"
	case tQIdent:
		return "quoted identifier"
	case tNumber:
		return "number"
	case tString:
		return "string"
	}
	return "operator"
}

// token is one lexeme. Pos and End are byte offsets into the source.
type token struct {
	Kind tokKind
	Text string // the source slice
	Val  string // decoded value (strings, quoted identifiers)
	Pos  int
	End  int
}

// lexer splits SQL text into tokens. Whitespace and comments (-- to the end
// of the line, nested /* */) separate tokens. Only ASCII whitespace counts as
// whitespace: a no-break space, a full-width semicolon or any other
// character outside the dialect is an error, never syntax.
type lexer struct {
	src  string
	pos  int
	prev tokKind // kind of the previous token, to read ".5" as a number only where a value may start
	pOp  string
}

// lex returns all tokens of src, ending with one tEOF token.
func lex(src string) ([]token, error) {
	if !utf8.ValidString(src) {
		off := 0
		for off < len(src) {
			r, n := utf8.DecodeRuneInString(src[off:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			off += n
		}
		return nil, errAt(src, off, src[off:off+1], "the query is not valid UTF-8")
	}
	lx := &lexer{src: src, prev: tEOF}
	var toks []token
	for {
		t, err := lx.next()
		if err != nil {
			return nil, err
		}
		toks = append(toks, t)
		if t.Kind == tEOF {
			return toks, nil
		}
		lx.prev, lx.pOp = t.Kind, t.Text
	}
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isIdentStart(r rune) bool {
	return r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= utf8.RuneSelf && unicode.IsLetter(r))
}

func isIdentPart(r rune) bool {
	return isIdentStart(r) || (r >= '0' && r <= '9') || (r >= utf8.RuneSelf && (unicode.IsDigit(r) || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Mc, r)))
}

func (lx *lexer) skipSpaceAndComments() error {
	for lx.pos < len(lx.src) {
		c := lx.src[lx.pos]
		switch {
		case isSpace(c):
			lx.pos++
		case c == '-' && strings.HasPrefix(lx.src[lx.pos:], "--"):
			nl := strings.IndexByte(lx.src[lx.pos:], '\n')
			if nl < 0 {
				lx.pos = len(lx.src)
			} else {
				lx.pos += nl + 1
			}
		case c == '/' && strings.HasPrefix(lx.src[lx.pos:], "/*"):
			start := lx.pos
			depth := 0
			for {
				if lx.pos >= len(lx.src) {
					return errAt(lx.src, start, "/*", "unterminated comment")
				}
				if strings.HasPrefix(lx.src[lx.pos:], "/*") {
					depth++
					lx.pos += 2
				} else if strings.HasPrefix(lx.src[lx.pos:], "*/") {
					depth--
					lx.pos += 2
					if depth == 0 {
						break
					}
				} else {
					lx.pos++
				}
			}
		default:
			return nil
		}
	}
	return nil
}

// operators, longest first.
var operators = []string{"==", "!=", "<>", "<=", ">=", "||", "(", ")", ",", ";", ".", "*", "+", "-", "/", "%", "=", "<", ">"}

func (lx *lexer) next() (token, error) {
	if err := lx.skipSpaceAndComments(); err != nil {
		return token{}, err
	}
	start := lx.pos
	if start >= len(lx.src) {
		return token{Kind: tEOF, Pos: start, End: start}, nil
	}
	c := lx.src[start]
	r, size := utf8.DecodeRuneInString(lx.src[start:])
	switch {
	case isIdentStart(r):
		lx.pos += size
		for lx.pos < len(lx.src) {
			r2, n := utf8.DecodeRuneInString(lx.src[lx.pos:])
			if !isIdentPart(r2) {
				break
			}
			lx.pos += n
		}
		return lx.tok(tIdent, start, ""), nil
	case isDigit(c) || (c == '.' && start+1 < len(lx.src) && isDigit(lx.src[start+1]) && !lx.afterValue()):
		return lx.number(start)
	case c == '\'':
		val, err := lx.quoted('\'')
		if err != nil {
			return token{}, err
		}
		return lx.tok(tString, start, val), nil
	case c == '"' || c == '`':
		val, err := lx.quoted(c)
		if err != nil {
			return token{}, err
		}
		if val == "" {
			return token{}, errAt(lx.src, start, lx.src[start:lx.pos], "empty quoted identifier")
		}
		return lx.tok(tQIdent, start, val), nil
	}
	for _, op := range operators {
		if strings.HasPrefix(lx.src[start:], op) {
			lx.pos += len(op)
			return lx.tok(tOp, start, ""), nil
		}
	}
	return token{}, unexpectedChar(lx.src, start, r)
}

func unexpectedChar(src string, off int, r rune) *Error {
	tok := string(r)
	e := errAt(src, off, tok, "unexpected character %U", r)
	switch r {
	case ';':
	case '\uff1b', '\u037e':
		e.hint("only the ASCII semicolon ends a statement")
	case '\u00a0', '\u2000', '\u2001', '\u2002', '\u2003', '\u2009', '\u200b', '\u3000', '\ufeff':
		e.hint("only ASCII spaces, tabs and newlines separate tokens")
	case '{', '}', '?', ':', '$', '@', '[', ']', '&', '|', '^', '~', '!', '#', '\\':
		e.hint("this operator is not part of the Analytics Engine SQL dialect")
	default:
		if r >= utf8.RuneSelf {
			e.hint("characters outside ASCII may appear only inside strings and quoted identifiers")
		}
	}
	return e
}

// afterValue reports whether the previous token ends a value, so that a
// following '.' is a qualifier dot rather than the start of a number.
func (lx *lexer) afterValue() bool {
	switch lx.prev {
	case tIdent, tQIdent, tNumber, tString:
		return true
	case tOp:
		return lx.pOp == ")"
	}
	return false
}

func (lx *lexer) tok(k tokKind, start int, val string) token {
	return token{Kind: k, Text: lx.src[start:lx.pos], Val: val, Pos: start, End: lx.pos}
}

func isHex(c byte) bool {
	return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func (lx *lexer) number(start int) (token, error) {
	s := lx.src
	p := start
	if s[p] == '0' && p+1 < len(s) && (s[p+1] == 'x' || s[p+1] == 'X') {
		p += 2
		q := p
		for p < len(s) && isHex(s[p]) {
			p++
		}
		if p == q {
			return token{}, errAt(s, start, s[start:p], "malformed hexadecimal number")
		}
	} else if s[p] == '0' && p+1 < len(s) && (s[p+1] == 'b' || s[p+1] == 'B') && p+2 < len(s) && (s[p+2] == '0' || s[p+2] == '1') {
		p += 2
		for p < len(s) && (s[p] == '0' || s[p] == '1') {
			p++
		}
	} else {
		for p < len(s) && isDigit(s[p]) {
			p++
		}
		if p < len(s) && s[p] == '.' {
			p++
			for p < len(s) && isDigit(s[p]) {
				p++
			}
		}
		if p < len(s) && (s[p] == 'e' || s[p] == 'E') {
			q := p + 1
			if q < len(s) && (s[q] == '+' || s[q] == '-') {
				q++
			}
			if q < len(s) && isDigit(s[q]) {
				p = q
				for p < len(s) && isDigit(s[p]) {
					p++
				}
			}
		}
	}
	if p < len(s) {
		if r, _ := utf8.DecodeRuneInString(s[p:]); isIdentPart(r) || r == '.' {
			end := p
			for end < len(s) {
				r2, n := utf8.DecodeRuneInString(s[end:])
				if !isIdentPart(r2) && r2 != '.' {
					break
				}
				end += n
			}
			return token{}, errAt(s, start, s[start:end], "malformed number")
		}
	}
	lx.pos = p
	return lx.tok(tNumber, start, ""), nil
}

// quoted reads a quoted literal starting at lx.pos (the opening quote q) and
// returns its decoded value. ClickHouse escapes are understood: a doubled
// quote, \\, \', \", \`, \n, \t, \r, \0, \b, \f, \a, \v, \e, \xHH; a
// backslash before any other character stands for that character.
func (lx *lexer) quoted(q byte) (string, error) {
	s := lx.src
	start := lx.pos
	p := start + 1
	var b strings.Builder
	for {
		if p >= len(s) {
			what := "string literal"
			if q != '\'' {
				what = "quoted identifier"
			}
			return "", errAt(s, start, s[start:min(len(s), start+20)], "unterminated %s", what)
		}
		c := s[p]
		switch {
		case c == q:
			if p+1 < len(s) && s[p+1] == q {
				b.WriteByte(q)
				p += 2
				continue
			}
			lx.pos = p + 1
			val := b.String()
			if !utf8.ValidString(val) {
				return "", errAt(s, start, s[start:lx.pos], "the literal is not valid UTF-8 after unescaping")
			}
			return val, nil
		case c == '\\':
			if p+1 >= len(s) {
				p++
				continue
			}
			e := s[p+1]
			p += 2
			switch e {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case '0':
				b.WriteByte(0)
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case 'a':
				b.WriteByte('\a')
			case 'v':
				b.WriteByte('\v')
			case 'e':
				b.WriteByte(0x1b)
			case 'x', 'X':
				if p+1 < len(s) && isHex(s[p]) && isHex(s[p+1]) {
					b.WriteByte(unhex(s[p])<<4 | unhex(s[p+1]))
					p += 2
				} else {
					return "", errAt(s, p-2, s[p-2:min(len(s), p+2)], "malformed \\x escape")
				}
			default:
				// \\, \', \", \` and any other character stand for themselves.
				r, n := utf8.DecodeRuneInString(s[p-1:])
				b.WriteRune(r)
				p += n - 1
			}
		default:
			b.WriteByte(c)
			p++
		}
	}
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// asciiLower lowercases ASCII letters only. Keyword and function matching
// must not use Unicode case folding: strings.EqualFold("ſelect", "SELECT")
// is true (U+017F folds to s), which would let a look-alike spell a keyword.
func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// isKeyword reports whether t is the bare keyword kw (kw in upper case).
func (t token) isKeyword(kw string) bool {
	if t.Kind != tIdent || len(t.Text) != len(kw) {
		return false
	}
	for i := 0; i < len(kw); i++ {
		c := t.Text[i]
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		if c != kw[i] {
			return false
		}
	}
	return true
}

func (t token) isOp(op string) bool { return t.Kind == tOp && t.Text == op }

// asciiUpper uppercases ASCII letters only (see asciiLower).
func asciiUpper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - ('a' - 'A')
		}
	}
	return string(b)
}
