package plangen

import (
	"bufio"
	"io"
	"strconv"
	"unicode/utf8"
)

// obj is a JSON object whose keys are kept in the order given; values built
// by this package are sorted by key, as Terraform writes attribute values.
type obj []kv

type kv struct {
	k string
	v any
}

// set replaces the value under key k (which must exist) in place.
func (o obj) set(k string, v any) {
	for i := range o {
		if o[i].k == k {
			o[i].v = v
			return
		}
	}
	panic("plangen: set of missing key " + k)
}

// clone copies o deeply enough for set on any nesting level.
func clone(v any) any {
	switch t := v.(type) {
	case obj:
		c := make(obj, len(t))
		for i, e := range t {
			c[i] = kv{e.k, clone(e.v)}
		}
		return c
	case []any:
		c := make([]any, len(t))
		for i, e := range t {
			c[i] = clone(e)
		}
		return c
	default:
		return v
	}
}

// unknownT marks a value known only after apply. In an object it is left
// out of "after" (as Terraform does) and is true in "after_unknown"; in a
// list it is written as null.
type unknownT struct{}

var unknown = unknownT{}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// jw writes JSON tokens to a buffered writer. The first write error sticks
// in the bufio.Writer and is returned by flush.
type jw struct {
	w   *bufio.Writer
	buf []byte
}

func newJW(w io.Writer) *jw {
	return &jw{w: bufio.NewWriterSize(w, 256<<10), buf: make([]byte, 0, 64)}
}

func (j *jw) flush() error { return j.w.Flush() }

func (j *jw) raw(s string) { _, _ = j.w.WriteString(s) }

func (j *jw) byte(c byte) { _ = j.w.WriteByte(c) }

func (j *jw) int(n int64) {
	j.buf = strconv.AppendInt(j.buf[:0], n, 10)
	_, _ = j.w.Write(j.buf)
}

const hexDigits = "0123456789abcdef"

// str writes s as a JSON string the way Go's encoding/json (and so
// Terraform) does: <, > and & as \u003c \u003e \u0026, U+2028 and U+2029
// escaped, control characters escaped.
func (j *jw) str(s string) {
	w := j.w
	_ = w.WriteByte('"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			_, _ = w.WriteString(s[start:i])
			switch c {
			case '"', '\\':
				_ = w.WriteByte('\\')
				_ = w.WriteByte(c)
			case '\n':
				_, _ = w.WriteString(`\n`)
			case '\r':
				_, _ = w.WriteString(`\r`)
			case '\t':
				_, _ = w.WriteString(`\t`)
			default:
				_, _ = w.WriteString(`\u00`)
				_ = w.WriteByte(hexDigits[c>>4])
				_ = w.WriteByte(hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == '\u2028' || r == '\u2029' || r == utf8.RuneError && size == 1 {
			_, _ = w.WriteString(s[start:i])
			switch r {
			case '\u2028':
				_, _ = w.WriteString(`\u2028`)
			case '\u2029':
				_, _ = w.WriteString(`\u2029`)
			default:
				_, _ = w.WriteString(`\ufffd`)
			}
			i += size
			start = i
			continue
		}
		i += size
	}
	_, _ = w.WriteString(s[start:])
	_ = w.WriteByte('"')
}

// val writes a value built from nil, bool, int, int64, string, []string,
// []any, obj, Path and unknown.
func (j *jw) val(v any) {
	switch t := v.(type) {
	case nil:
		j.raw("null")
	case bool:
		if t {
			j.raw("true")
		} else {
			j.raw("false")
		}
	case int:
		j.int(int64(t))
	case int64:
		j.int(t)
	case string:
		j.str(t)
	case unknownT:
		j.raw("null")
	case []string:
		j.byte('[')
		for i, s := range t {
			if i > 0 {
				j.byte(',')
			}
			j.str(s)
		}
		j.byte(']')
	case []any:
		j.byte('[')
		for i, e := range t {
			if i > 0 {
				j.byte(',')
			}
			j.val(e)
		}
		j.byte(']')
	case Path:
		j.val([]any(t))
	case obj:
		j.byte('{')
		first := true
		for _, e := range t {
			if _, ok := e.v.(unknownT); ok {
				continue
			}
			if !first {
				j.byte(',')
			}
			first = false
			j.str(e.k)
			j.byte(':')
			j.val(e.v)
		}
		j.byte('}')
	default:
		panic("plangen: cannot write value of this type")
	}
}

// Path is an attribute path: string and int steps.
type Path []any

// mask builds Terraform's shape of a value for sensitive_values,
// before_sensitive, after_sensitive and after_unknown: true where a mark
// (or, with unknowns, an unknown value) is, objects keeping only the keys
// whose mask is not a plain false, lists keeping one entry per element.
func mask(v any, marks []Path, depth int, withUnknown bool) any {
	for _, m := range marks {
		if len(m) == depth {
			return true
		}
	}
	switch t := v.(type) {
	case unknownT:
		return withUnknown
	case obj:
		out := make(obj, 0, 4)
		for _, e := range t {
			sub := narrow(marks, depth, e.k)
			mv := mask(e.v, sub, depth+1, withUnknown)
			if b, ok := mv.(bool); ok && !b {
				continue
			}
			out = append(out, kv{e.k, mv})
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = mask(e, narrow(marks, depth, i), depth+1, withUnknown)
		}
		return out
	case []string:
		out := make([]any, len(t))
		for i := range t {
			out[i] = mask(t[i], narrow(marks, depth, i), depth+1, withUnknown)
		}
		return out
	default:
		return false
	}
}

// narrow keeps the marks whose step at depth equals step.
func narrow(marks []Path, depth int, step any) []Path {
	if len(marks) == 0 {
		return nil
	}
	var out []Path
	for _, m := range marks {
		if len(m) > depth && m[depth] == step {
			out = append(out, m)
		}
	}
	return out
}
