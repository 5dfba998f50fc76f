package keepalived

import (
	"fmt"
	"strings"
)

// Error is a keepalived.conf error at a line. It renders as
// "keepalived: FILE: line 12: real_server needs an address".
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string {
	s := "keepalived: "
	if e.File != "" {
		s += e.File + ": "
	}
	if e.Line > 0 {
		s += fmt.Sprintf("line %d: ", e.Line)
	}
	return s + e.Msg
}

func errAt(line int, format string, args ...any) *Error {
	return &Error{Line: line, Msg: fmt.Sprintf(format, args...)}
}

// Warning is something of the file that the import left out: a keyword
// golvs does not use or does not know, inside a block it does.
type Warning struct {
	Line int
	Msg  string
}

func (w Warning) String() string { return fmt.Sprintf("line %d: %s", w.Line, w.Msg) }

type tokKind uint8

const (
	tokWord tokKind = iota
	tokOpen
	tokClose
)

type token struct {
	kind   tokKind
	text   string
	line   int
	quoted bool
}

// lex splits keepalived.conf into tokens as keepalived's parser does
// (lib/parser.c: alloc_strvec): words separated by blanks, "{" and "}" as
// tokens of their own, double-quoted strings as one word, and a comment
// from a "#" or "!" that starts a word to the end of the line.
func lex(src string) ([]token, error) {
	var out []token
	for n, line := range strings.Split(src, "\n") {
		ln := n + 1
		for i := 0; i < len(line); {
			c := line[i]
			switch {
			case c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v':
				i++
			case c == '#' || c == '!':
				i = len(line)
			case c == '{':
				out = append(out, token{kind: tokOpen, text: "{", line: ln})
				i++
			case c == '}':
				out = append(out, token{kind: tokClose, text: "}", line: ln})
				i++
			case c == '"':
				j := strings.IndexByte(line[i+1:], '"')
				if j < 0 {
					return nil, errAt(ln, "unterminated quoted string")
				}
				out = append(out, token{kind: tokWord, text: line[i+1 : i+1+j], line: ln, quoted: true})
				i += j + 2
			default:
				j := i
				for j < len(line) && !strings.ContainsRune(" \t\r\f\v{}\"", rune(line[j])) {
					j++
				}
				out = append(out, token{kind: tokWord, text: line[i:j], line: ln})
				i = j
			}
		}
	}
	return out, nil
}

// stmt is a keyword with the words after it on its line and, when a "{"
// follows (on the same or a later line), the statements of its block.
type stmt struct {
	key      string
	line     int
	args     []string
	quoted   []bool // quoted[i]: args[i] was a "quoted string"
	hasBlock bool
	block    []*stmt
}

// maxDepth bounds block nesting (keepalived.conf needs four levels).
const maxDepth = 16

type parser struct {
	toks []token
	pos  int
}

func (p *parser) peek() *token {
	if p.pos < len(p.toks) {
		return &p.toks[p.pos]
	}
	return nil
}

// statements parses until the "}" closing open (or the end of input when
// open is nil).
func (p *parser) statements(open *token, depth int) ([]*stmt, error) {
	if depth > maxDepth {
		return nil, errAt(open.line, "blocks nested more than %d deep", maxDepth)
	}
	var out []*stmt
	for {
		t := p.peek()
		switch {
		case t == nil:
			if open != nil {
				return nil, errAt(open.line, "the { opened here is never closed")
			}
			return out, nil
		case t.kind == tokClose:
			if open == nil {
				return nil, errAt(t.line, "} without a block to close")
			}
			p.pos++
			return out, nil
		case t.kind == tokOpen:
			return nil, errAt(t.line, "{ without a keyword before it")
		}
		p.pos++
		s := &stmt{key: t.text, line: t.line}
		if t.quoted {
			return nil, errAt(t.line, "a keyword cannot be quoted: %q", t.text)
		}
		for a := p.peek(); a != nil && a.kind == tokWord && a.line == t.line; a = p.peek() {
			s.args = append(s.args, a.text)
			s.quoted = append(s.quoted, a.quoted)
			p.pos++
		}
		if a := p.peek(); a != nil && a.kind == tokOpen {
			p.pos++
			s.hasBlock = true
			var err error
			if s.block, err = p.statements(a, depth+1); err != nil {
				return nil, err
			}
		}
		out = append(out, s)
	}
}

func parse(src string) ([]*stmt, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	return p.statements(nil, 0)
}
