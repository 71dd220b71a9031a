package analyzer

import (
	"bytes"
	"errors"
	"io"
	"sync"
)

// scanner reads JSON from an io.Reader through a buffer that holds only the
// part being looked at: skipped values are discarded as they go by, and a
// captured value (one resource change) is kept only until the next one.
type scanner struct {
	r   io.Reader
	buf []byte
	pos int // next unread byte in buf
	end int // bytes of buf that hold data
	// mark is the start in buf of a value being captured, or -1; fill never
	// discards bytes from mark on.
	mark int
	eof  bool
	rerr error // read error other than io.EOF

	base      int64 // input offset of buf[0]
	lines     int   // newlines before buf[0]
	lineStart int64 // input offset of the first byte of the line holding buf[0]

	where func() string // names the part being read, for errors

	pooled *[]byte // the initial buffer, from bufPool
}

const (
	initialBuf = 256 << 10
	readChunk  = 256 << 10
)

// bufPool keeps initial buffers between analyses: a server analyzing
// many small plans would otherwise allocate and clear 256 KB for each.
var bufPool = sync.Pool{New: func() any {
	b := make([]byte, initialBuf)
	return &b
}}

func newScanner(r io.Reader) *scanner {
	bp := bufPool.Get().(*[]byte)
	return &scanner{r: r, buf: *bp, pooled: bp, mark: -1}
}

// release hands the initial buffer back for the next scanner; s must not
// be used after. Nothing the analysis returns refers into it (values are
// decoded or copied out of the buffer before the next read moves them).
func (s *scanner) release() {
	if s.pooled != nil {
		bufPool.Put(s.pooled)
		s.pooled, s.buf = nil, nil
	}
}

// fill reads more input into the buffer's tail, first discarding what is
// before buf[mark:] (or buf[pos:]) when the tail is short. It reports
// whether new bytes arrived.
func (s *scanner) fill() bool {
	if s.eof {
		return false
	}
	// Make room only when the tail is short: compacting on every read would
	// copy a captured value once per read, quadratic for a reader that
	// returns small chunks (a slow pipe).
	if len(s.buf)-s.end < readChunk/2 {
		keep := s.pos
		if s.mark >= 0 && s.mark < keep {
			keep = s.mark
		}
		if keep > 0 {
			s.discard(keep)
		}
		if len(s.buf)-s.end < readChunk/2 {
			// The kept part fills the buffer: grow it (a large single value).
			nb := make([]byte, 2*len(s.buf)+readChunk)
			copy(nb, s.buf[:s.end])
			s.buf = nb
		}
	}
	for {
		n, err := s.r.Read(s.buf[s.end:])
		s.end += n
		if err != nil {
			s.eof = true
			if !errors.Is(err, io.EOF) {
				s.rerr = err
			}
			return n > 0
		}
		if n > 0 {
			return true
		}
	}
}

// discard drops buf[:k], keeping line accounting.
func (s *scanner) discard(k int) {
	gone := s.buf[:k]
	if nl := bytes.Count(gone, []byte{'\n'}); nl > 0 {
		s.lines += nl
		s.lineStart = s.base + int64(bytes.LastIndexByte(gone, '\n')) + 1
	}
	copy(s.buf, s.buf[k:s.end])
	s.end -= k
	s.pos -= k
	if s.mark >= 0 {
		s.mark -= k
	}
	s.base += int64(k)
}

// position returns line and column (1-based) of buffer index i.
func (s *scanner) position(i int) (line, col int, off int64) {
	off = s.base + int64(i)
	line = s.lines + 1
	ls := s.lineStart
	if i > s.end {
		i = s.end
	}
	if i > 0 {
		seg := s.buf[:i]
		if nl := bytes.Count(seg, []byte{'\n'}); nl > 0 {
			line += nl
			ls = s.base + int64(bytes.LastIndexByte(seg, '\n')) + 1
		}
	}
	return line, int(off-ls) + 1, off
}

// errAt builds a *SyntaxError for buffer index i.
func (s *scanner) errorAt(i int, kind error, msg string) error {
	if s.rerr != nil {
		return s.rerr
	}
	line, col, off := s.position(i)
	where := ""
	if s.where != nil {
		where = s.where()
	}
	return &SyntaxError{Offset: off, Line: line, Column: col, Where: where, Msg: msg, Kind: kind}
}

// fromRaw converts an error from the raw walkers on buf[start:…] into a
// *SyntaxError.
func (s *scanner) fromRaw(err error, start int) error {
	if err == nil {
		return nil
	}
	var re *rawError
	if errors.As(err, &re) {
		return s.errorAt(start+re.off, re.kind, re.msg)
	}
	return err
}

// eofError reports input that ends where more was expected.
func (s *scanner) eofError(what string) error {
	if s.rerr != nil {
		return s.rerr
	}
	return s.errorAt(s.end, ErrNotJSON, "unexpected end of input: the JSON is truncated"+what)
}

// skipSpace advances past whitespace and returns the next byte, or false at
// the end of input.
func (s *scanner) skipSpace() (byte, bool) {
	for {
		for s.pos < s.end {
			if c := s.buf[s.pos]; !isSpace(c) {
				return c, true
			}
			s.pos++
		}
		if !s.fill() {
			return 0, false
		}
	}
}

// ensure makes at least n unread bytes available when the input has them.
func (s *scanner) ensure(n int) {
	for s.end-s.pos < n && s.fill() {
	}
}

// expect consumes byte c after whitespace.
func (s *scanner) expect(c byte, what string) error {
	got, ok := s.skipSpace()
	if !ok {
		return s.eofError("")
	}
	if got != c {
		return s.errorAt(s.pos, ErrNotJSON, "expected "+quoteChar(c)+" "+what+", found "+quoteChar(got))
	}
	s.pos++
	return nil
}

// captureValue reads the next value and returns it with its buffer index.
// The bytes stay valid until the next read from the scanner.
func (s *scanner) captureValue() ([]byte, int, error) {
	if _, ok := s.skipSpace(); !ok {
		return nil, 0, s.eofError("")
	}
	s.mark = s.pos
	err := s.skipValueHere()
	start := s.mark
	s.mark = -1
	if err != nil {
		return nil, start, err
	}
	return s.buf[start:s.pos], start, nil
}

// skipValue skips the next value without keeping it.
func (s *scanner) skipValue() error {
	if _, ok := s.skipSpace(); !ok {
		return s.eofError("")
	}
	return s.skipValueHere()
}

// skipValueHere skips the value that starts at s.pos.
func (s *scanner) skipValueHere() error {
	c := s.buf[s.pos]
	switch {
	case c == '"':
		return s.skipString()
	case c == '{' || c == '[':
		return s.skipContainer()
	default:
		return s.skipScalar()
	}
}

// skipScalar skips the number or literal that starts at s.pos: it finds
// where the token ends (a delimiter, or the end of the input), reading
// more as needed but looking at each byte once, then validates the whole
// token with the in-memory walker. Rescanning the token after every read
// was quadratic for a long number arriving in small reads (a pipe).
func (s *scanner) skipScalar() error {
	n := 0 // bytes of the token known not to end it, from s.pos
	for {
		for s.pos+n < s.end && !scalarEnd[s.buf[s.pos+n]] {
			n++
		}
		if s.pos+n < s.end || !s.fill() {
			break
		}
	}
	j, err := skipValue(s.buf[:s.end], s.pos)
	if err != nil {
		var re *rawError
		if errors.As(err, &re) && re.msg == "unexpected end of value" {
			return s.eofError("")
		}
		return s.fromRaw(err, 0)
	}
	if j < s.end && !scalarEnd[s.buf[j]] {
		return s.errorAt(j, ErrNotJSON, "invalid character "+quoteChar(s.buf[j])+" after a value")
	}
	s.pos = j
	return nil
}

// scalarEnd marks the bytes that can follow a number or literal: space,
// separators and the brackets and quote that would start or end
// something else.
var scalarEnd = [256]bool{' ': true, '\n': true, '\r': true, '\t': true, ',': true, ':': true,
	'"': true, '{': true, '}': true, '[': true, ']': true}

// skipString skips the string whose opening quote is at s.pos, checking
// that it holds no raw control character and only valid escapes.
func (s *scanner) skipString() error {
	s.pos++
	for {
		k := stringStopCtl(s.buf[s.pos:s.end])
		if k < 0 {
			s.pos = s.end
			if !s.fill() {
				return s.eofError(" inside a string")
			}
			continue
		}
		s.pos += k
		switch c := s.buf[s.pos]; c {
		case '"':
			s.pos++
			return nil
		case '\\':
		default:
			return s.errorAt(s.pos, ErrNotJSON, "invalid character "+quoteChar(c)+" in string literal")
		}
		// An escape: the backslash, a valid escape letter, and for \u four
		// hex digits.
		s.ensure(2)
		if s.pos+1 >= s.end {
			return s.eofError(" inside a string")
		}
		switch e := s.buf[s.pos+1]; e {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			s.pos += 2
		case 'u':
			s.ensure(6)
			if s.pos+6 > s.end {
				return s.eofError(" inside a string")
			}
			for _, h := range s.buf[s.pos+2 : s.pos+6] {
				if !isHex(h) {
					return s.errorAt(s.pos, ErrNotJSON, "invalid \\u escape in string literal")
				}
			}
			s.pos += 6
		default:
			return s.errorAt(s.pos, ErrNotJSON, "invalid escape "+quoteChar(e)+" in string literal")
		}
	}
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// skipContainer skips the object or array that starts at s.pos, checking
// that brackets match.
func (s *scanner) skipContainer() error {
	var stackBuf [64]byte
	return s.skipOpen(stackBuf[:0])
}

// Grammar states of skipOpen.
const (
	gsValue      = iota // a value must come
	gsFirstValue        // just after '[': a value or ']'
	gsKey               // a member name must come
	gsFirstKey          // just after '{': a member name or '}'
	gsColon             // ':' must come
	gsAfterValue        // ',' or the innermost container's closing bracket
)

// skipOpen consumes input until the containers whose opening brackets are
// on stack (innermost last) are all closed, checking the JSON grammar
// on the way (brackets match, names, colons, commas, values), so that a
// malformed section is reported even though nothing in it is kept. An
// empty stack means "the container starting at s.pos"; a non-empty one
// resumes just after a value inside the innermost container.
func (s *scanner) skipOpen(stack []byte) error {
	st := gsAfterValue
	if len(stack) == 0 {
		st = gsValue
	}
	for {
		// Fast path: walk the buffered bytes with local variables; a token
		// that runs past the buffer's end goes to the methods that read
		// more input.
		b, p, e := s.buf, s.pos, s.end
		for p < e {
			c := b[p]
			if isSpace(c) {
				p++
				continue
			}
			switch st {
			case gsFirstValue, gsFirstKey:
				if c == ']' && st == gsFirstValue || c == '}' && st == gsFirstKey {
					p++
					stack = stack[:len(stack)-1]
					if len(stack) == 0 {
						s.pos = p
						return nil
					}
					st = gsAfterValue
					continue
				}
				if st == gsFirstKey {
					st = gsKey
				} else {
					st = gsValue
				}
			}
			switch st {
			case gsValue, gsKey:
				if st == gsKey && c != '"' {
					s.pos = p
					return s.errorAt(p, ErrNotJSON, "invalid character "+quoteChar(c)+" looking for a member name")
				}
				next := gsAfterValue
				if st == gsKey {
					next = gsColon
				}
				switch c {
				case '"':
					if k := stringStopCtl(b[p+1 : e]); k >= 0 && b[p+1+k] == '"' {
						p += k + 2 // a string without escapes, all buffered
					} else {
						s.pos = p
						if err := s.skipString(); err != nil {
							return err
						}
						b, p, e = s.buf, s.pos, s.end
					}
					st = next
				case '{', '[':
					if len(stack) >= maxDepth {
						s.pos = p
						return s.errorAt(p, ErrNotJSON, "nesting too deep")
					}
					stack = append(stack, c)
					p++
					st = gsFirstValue
					if c == '{' {
						st = gsFirstKey
					}
				case ']', '}', ',', ':':
					s.pos = p
					return s.errorAt(p, ErrNotJSON, "invalid character "+quoteChar(c)+" looking for a value")
				default:
					j := p
					for j < e && !scalarEnd[b[j]] {
						j++
					}
					if j < e && validScalar(b[p:j]) {
						p = j
					} else {
						s.pos = p
						if err := s.skipScalar(); err != nil {
							return err
						}
						b, p, e = s.buf, s.pos, s.end
					}
					st = gsAfterValue
				}
			case gsColon:
				if c != ':' {
					s.pos = p
					return s.errorAt(p, ErrNotJSON, "invalid character "+quoteChar(c)+" after a member name")
				}
				p++
				st = gsValue
			case gsAfterValue:
				top := stack[len(stack)-1]
				switch {
				case c == ',':
					p++
					st = gsValue
					if top == '{' {
						st = gsKey
					}
				case c == '}' && top == '{', c == ']' && top == '[':
					p++
					stack = stack[:len(stack)-1]
					if len(stack) == 0 {
						s.pos = p
						return nil
					}
				case c == '}' || c == ']':
					s.pos = p
					return s.errorAt(p, ErrNotJSON, "mismatched "+quoteChar(c))
				default:
					s.pos = p
					return s.errorAt(p, ErrNotJSON, "invalid character "+quoteChar(c)+" after a value")
				}
			}
		}
		s.pos = p
		if !s.fill() {
			return s.eofError("")
		}
	}
}

// validScalar reports whether tok is a whole JSON number or literal
// (true, false, null), without allocating.
func validScalar(tok []byte) bool {
	switch string(tok) {
	case "true", "false", "null":
		return true
	}
	i := 0
	if i < len(tok) && tok[i] == '-' {
		i++
	}
	switch {
	case i < len(tok) && tok[i] == '0':
		i++
	case i < len(tok) && tok[i] >= '1' && tok[i] <= '9':
		for i < len(tok) && tok[i] >= '0' && tok[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(tok) && tok[i] == '.' {
		i++
		d := i
		for i < len(tok) && tok[i] >= '0' && tok[i] <= '9' {
			i++
		}
		if i == d {
			return false
		}
	}
	if i < len(tok) && (tok[i] == 'e' || tok[i] == 'E') {
		i++
		if i < len(tok) && (tok[i] == '+' || tok[i] == '-') {
			i++
		}
		d := i
		for i < len(tok) && tok[i] >= '0' && tok[i] <= '9' {
			i++
		}
		if i == d {
			return false
		}
	}
	return i == len(tok)
}

// readString reads a JSON string value (after whitespace) and decodes it.
func (s *scanner) readString() (string, error) {
	b, err := s.readKey()
	return string(b), err
}

// readKey reads a JSON string (an object key) and returns its decoded bytes,
// without allocating when it has no escapes; the slice is valid until the
// next read. An outer mark (an element being kept) stays where it is.
func (s *scanner) readKey() ([]byte, error) {
	c, ok := s.skipSpace()
	if !ok {
		return nil, s.eofError("")
	}
	if c != '"' {
		return nil, s.errorAt(s.pos, ErrNotJSON, "expected a string, found "+quoteChar(c))
	}
	outer := s.mark
	if outer < 0 {
		s.mark = s.pos
	}
	rel := s.pos - s.mark
	err := s.skipString()
	start := s.mark + rel
	if outer < 0 {
		s.mark = -1
	}
	if err != nil {
		return nil, err
	}
	raw := s.buf[start:s.pos]
	if bytes.IndexByte(raw, '\\') < 0 {
		return raw[1 : len(raw)-1], nil
	}
	str, err := unquote(raw)
	if err != nil {
		return nil, s.errorAt(start, ErrNotJSON, "invalid string")
	}
	return []byte(str), nil
}

// memberKey reads an object member's key and the ':' after it.
func (s *scanner) memberKey() ([]byte, error) {
	key, err := s.readKey()
	if err != nil {
		return nil, err
	}
	return key, s.expect(':', "after object key")
}

// nextMember consumes what follows an object member: ',' (more is true) or
// '}' (the object ends). eofHint completes the message when the input ends
// there.
func (s *scanner) nextMember(eofHint string) (more bool, err error) {
	c, ok := s.skipSpace()
	if !ok {
		return false, s.eofError(eofHint)
	}
	s.pos++
	switch c {
	case ',':
		return true, nil
	case '}':
		return false, nil
	}
	return false, s.errorAt(s.pos-1, ErrNotJSON, "expected ',' or '}' after object member, found "+quoteChar(c))
}
