package analyzer

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// This file holds a small walker over a JSON value held in memory (one
// resource change at a time). It never builds the values it skips.

// maxDepth bounds nesting so that hostile input cannot grow the bracket
// stack without limit.
const maxDepth = 10000

// rawError is an error at an offset inside a raw value; callers turn it into
// a *SyntaxError with the value's position in the input.
type rawError struct {
	off  int
	msg  string
	kind error
}

func (e *rawError) Error() string { return e.msg }

func errAt(off int, msg string) error { return &rawError{off: off, msg: msg, kind: ErrNotJSON} }

func invalidAt(off int, msg string) error { return &rawError{off: off, msg: msg, kind: ErrInvalid} }

// isSpace reports JSON whitespace.
func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\r' || c == '\t' }

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// structural marks the bytes the container skipper must look at.
var structural = [256]bool{'"': true, '{': true, '}': true, '[': true, ']': true}

// skipString returns the index just past the string whose opening quote is
// at b[i].
func skipString(b []byte, i int) (int, error) {
	start := i
	i++
	for {
		k := stringStop(b[i:])
		if k < 0 {
			return len(b), errAt(start, "unterminated string")
		}
		i += k
		if b[i] == '"' {
			return i + 1, nil
		}
		i += 2
		if i > len(b) {
			return len(b), errAt(start, "unterminated string")
		}
	}
}

// skipValue returns the index just past the value that starts at or after
// b[i] (leading whitespace skipped).
func skipValue(b []byte, i int) (int, error) {
	i = skipSpace(b, i)
	if i >= len(b) {
		return i, errAt(i, "unexpected end of value")
	}
	switch c := b[i]; c {
	case '"':
		return skipString(b, i)
	case '{', '[':
		return skipContainer(b, i)
	case 't':
		return skipLiteral(b, i, "true")
	case 'f':
		return skipLiteral(b, i, "false")
	case 'n':
		return skipLiteral(b, i, "null")
	default:
		if c == '-' || (c >= '0' && c <= '9') {
			return skipNumber(b, i)
		}
		return i, errAt(i, "invalid character "+quoteChar(c)+" looking for a value")
	}
}

func skipLiteral(b []byte, i int, lit string) (int, error) {
	if bytes.HasPrefix(b[i:], []byte(lit)) {
		return i + len(lit), nil
	}
	if len(b)-i < len(lit) && bytes.HasPrefix([]byte(lit), b[i:]) {
		return len(b), errAt(i, "unexpected end of value")
	}
	return i, errAt(i, "invalid literal (expected "+lit+")")
}

func skipNumber(b []byte, i int) (int, error) {
	j := i
	for j < len(b) {
		c := b[j]
		if (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E' {
			j++
			continue
		}
		break
	}
	if !json.Valid(b[i:j]) {
		return j, errAt(i, "invalid number")
	}
	return j, nil
}

// skipContainer skips an object or array starting at b[i], checking that
// brackets match. It does not check commas and colons inside: values that
// are skipped are never interpreted.
func skipContainer(b []byte, i int) (int, error) {
	var stackBuf [64]byte
	stack := stackBuf[:0]
	start := i
	for i < len(b) {
		c := b[i]
		switch c {
		case '"':
			j, err := skipString(b, i)
			if err != nil {
				return j, err
			}
			i = j
			continue
		case '{', '[':
			if len(stack) >= maxDepth {
				return i, errAt(i, "nesting too deep")
			}
			stack = append(stack, c)
		case '}', ']':
			open := byte('{')
			if c == ']' {
				open = '['
			}
			if len(stack) == 0 || stack[len(stack)-1] != open {
				return i, errAt(i, "mismatched "+quoteChar(c))
			}
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				return i + 1, nil
			}
		}
		i++
		for i < len(b) && !structural[b[i]] {
			i++
		}
	}
	return len(b), errAt(start, "unexpected end of value")
}

func quoteChar(c byte) string {
	if c < utf8.RuneSelf && strconv.IsPrint(rune(c)) {
		return "'" + string(c) + "'"
	}
	return strconv.QuoteToASCII(string([]byte{c}))
}

// objectEach calls fn for each member of the object b (which must start,
// after whitespace, with '{'). val is the member's raw value. fn returns
// stop=true to end the walk early.
func objectEach(b []byte, fn func(key []byte, keyOff int, val []byte, valOff int) (stop bool, err error)) error {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return invalidAt(i, "expected an object, got "+describe(b[i:]))
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return nil
	}
	for {
		if i >= len(b) {
			return errAt(i, "unexpected end of object")
		}
		if b[i] != '"' {
			return errAt(i, "invalid character "+quoteChar(b[i])+" looking for an object key")
		}
		j, err := skipString(b, i)
		if err != nil {
			return err
		}
		key := b[i+1 : j-1]
		if bytes.IndexByte(key, '\\') >= 0 {
			k, err := unquote(b[i:j])
			if err != nil {
				return errAt(i, "invalid object key")
			}
			key = []byte(k)
		}
		keyOff := i
		i = skipSpace(b, j)
		if i >= len(b) || b[i] != ':' {
			return errAt(i, "expected ':' after object key")
		}
		i = skipSpace(b, i+1)
		vs := i
		j, err = skipValue(b, i)
		if err != nil {
			return err
		}
		stop, err := fn(key, keyOff, b[vs:j], vs)
		if err != nil || stop {
			return err
		}
		i = skipSpace(b, j)
		if i >= len(b) {
			return errAt(i, "unexpected end of object")
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			return nil
		default:
			return errAt(i, "expected ',' or '}' after object member")
		}
	}
}

// memberIter walks the members of an object held in memory one at a time,
// letting the caller look inside a value before (or instead of) skipping it.
type memberIter struct {
	b []byte
	i int
}

// newMemberIter starts a walk of the object that starts in b.
func newMemberIter(b []byte) (memberIter, error) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return memberIter{}, invalidAt(i, "expected an object, got "+describe(b[i:]))
	}
	return memberIter{b: b, i: skipSpace(b, i+1)}, nil
}

// next returns the next key (raw, without quotes; escapes decoded when
// present) and the offset where its value starts; ok is false at the end
// of the object.
func (it *memberIter) next() (key []byte, valStart int, ok bool, err error) {
	b, i := it.b, it.i
	if i < len(b) && b[i] == '}' {
		return nil, 0, false, nil
	}
	if i >= len(b) {
		return nil, 0, false, errAt(i, "unexpected end of object")
	}
	if b[i] != '"' {
		return nil, 0, false, errAt(i, "invalid character "+quoteChar(b[i])+" looking for an object key")
	}
	j, err := skipString(b, i)
	if err != nil {
		return nil, 0, false, err
	}
	key = b[i+1 : j-1]
	if bytes.IndexByte(key, '\\') >= 0 {
		k, err := unquote(b[i:j])
		if err != nil {
			return nil, 0, false, errAt(i, "invalid object key")
		}
		key = []byte(k)
	}
	j = skipSpace(b, j)
	if j >= len(b) || b[j] != ':' {
		return nil, 0, false, errAt(j, "expected ':' after object key")
	}
	return key, skipSpace(b, j+1), true, nil
}

// advance moves past a value that ends at end, and past the ',' after it.
func (it *memberIter) advance(end int) error {
	b := it.b
	i := skipSpace(b, end)
	if i >= len(b) {
		return errAt(i, "unexpected end of object")
	}
	switch b[i] {
	case ',':
		it.i = skipSpace(b, i+1)
		if it.i < len(b) && b[it.i] == '}' {
			return errAt(it.i, "unexpected '}' after ','")
		}
		return nil
	case '}':
		it.i = i
		return nil
	}
	return errAt(i, "expected ',' or '}' after object member")
}

// arrayEach calls fn for each element of the array b.
func arrayEach(b []byte, fn func(idx int, val []byte, valOff int) error) error {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '[' {
		return invalidAt(i, "expected an array, got "+describe(b[i:]))
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		return nil
	}
	for n := 0; ; n++ {
		vs := i
		j, err := skipValue(b, i)
		if err != nil {
			return err
		}
		if err := fn(n, b[vs:j], vs); err != nil {
			return err
		}
		i = skipSpace(b, j)
		if i >= len(b) {
			return errAt(i, "unexpected end of array")
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case ']':
			return nil
		default:
			return errAt(i, "expected ',' or ']' after array element")
		}
	}
}

// unquote decodes a raw JSON string (with its quotes).
func unquote(raw []byte) (string, error) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", errAt(0, "expected a string")
	}
	inner := raw[1 : len(raw)-1]
	if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		return string(inner), nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", errAt(0, "invalid string")
	}
	return s, nil
}

// describe names the JSON type of the value that starts raw, for messages.
func describe(raw []byte) string {
	i := skipSpace(raw, 0)
	if i >= len(raw) {
		return "end of input"
	}
	switch c := raw[i]; {
	case c == '{':
		return "an object"
	case c == '[':
		return "an array"
	case c == '"':
		return "a string"
	case c == 't' || c == 'f':
		return "a boolean"
	case c == 'n':
		return "null"
	case c == '-' || (c >= '0' && c <= '9'):
		return "a number"
	default:
		return "invalid JSON"
	}
}

// asString decodes val as a JSON string; null gives "". Error offsets are
// relative to val.
func asString(val []byte) (string, error) {
	if len(val) > 0 && val[0] == 'n' {
		return "", nil
	}
	if len(val) == 0 || val[0] != '"' {
		return "", invalidAt(0, "expected a string, got "+describe(val))
	}
	s, err := unquote(val)
	if err != nil {
		return "", errAt(0, "invalid string")
	}
	return s, nil
}

// asBool decodes val as a JSON boolean; null gives false.
func asBool(val []byte) (bool, error) {
	switch string(val) {
	case "true":
		return true, nil
	case "false", "null":
		return false, nil
	}
	return false, invalidAt(0, "expected a boolean, got "+describe(val))
}

// asStrings decodes val as an array of strings; null gives nil.
func asStrings(val []byte) ([]string, error) {
	if len(val) > 0 && val[0] == 'n' {
		return nil, nil
	}
	out := make([]string, 0, 2)
	err := arrayEach(val, func(_ int, v []byte, vo int) error {
		if len(v) > 0 && v[0] == 'n' {
			return invalidAt(vo, "expected a string, got null")
		}
		if s, ok := internAction(v); ok {
			out = append(out, s)
			return nil
		}
		s, err := asString(v)
		if err != nil {
			return rebase(err, vo)
		}
		out = append(out, s)
		return nil
	})
	return out, err
}

// internAction returns the action names every plan repeats without
// allocating a string for each.
func internAction(raw []byte) (string, bool) {
	switch string(raw) {
	case `"create"`:
		return "create", true
	case `"delete"`:
		return "delete", true
	case `"update"`:
		return "update", true
	case `"no-op"`:
		return "no-op", true
	case `"read"`:
		return "read", true
	case `"forget"`:
		return "forget", true
	}
	return "", false
}

// rebase moves the offset of a rawError by off, for errors produced while
// walking a sub-slice that starts at off.
func rebase(err error, off int) error {
	if re, ok := err.(*rawError); ok {
		return &rawError{off: re.off + off, msg: re.msg, kind: re.kind}
	}
	return err
}

// inField prefixes the message of a rawError with the name of the field it
// concerns, e.g. "change.actions: expected an array, got a string".
func inField(err error, name string) error {
	if re, ok := err.(*rawError); ok {
		return &rawError{off: re.off, msg: name + ": " + re.msg, kind: re.kind}
	}
	return err
}
