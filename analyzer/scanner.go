package analyzer

import (
	"bytes"
	"errors"
	"io"
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
}

const (
	initialBuf = 256 << 10
	readChunk  = 256 << 10
)

func newScanner(r io.Reader) *scanner {
	return &scanner{r: r, buf: make([]byte, initialBuf), mark: -1}
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
		// Scalars are short: make sure the whole token is in the buffer,
		// then use the in-memory walker.
		for {
			j, err := skipValue(s.buf[:s.end], s.pos)
			if err == nil && j < s.end {
				s.pos = j
				return nil
			}
			if !s.eof {
				s.fill()
				continue
			}
			if err != nil {
				var re *rawError
				if errors.As(err, &re) && re.msg == "unexpected end of value" {
					return s.eofError("")
				}
				return s.fromRaw(err, 0)
			}
			s.pos = j
			return nil
		}
	}
}

// skipString skips the string whose opening quote is at s.pos.
func (s *scanner) skipString() error {
	s.pos++
	for {
		k := stringStop(s.buf[s.pos:s.end])
		if k < 0 {
			s.pos = s.end
			if !s.fill() {
				return s.eofError(" inside a string")
			}
			continue
		}
		s.pos += k
		if s.buf[s.pos] == '"' {
			s.pos++
			return nil
		}
		// An escape: skip the backslash and the byte it escapes.
		if s.pos+1 >= s.end {
			if !s.fill() {
				return s.eofError(" inside a string")
			}
		}
		s.pos += 2
	}
}

// skipContainer skips the object or array that starts at s.pos, checking
// that brackets match.
func (s *scanner) skipContainer() error {
	var stackBuf [64]byte
	return s.skipOpen(stackBuf[:0])
}

// skipOpen consumes input until the containers whose opening brackets are
// on stack (innermost last; empty means "the container starting at s.pos")
// are all closed, checking that brackets match.
func (s *scanner) skipOpen(stack []byte) error {
	for {
		for s.pos < s.end {
			c := s.buf[s.pos]
			switch c {
			case '"':
				if err := s.skipString(); err != nil {
					return err
				}
				continue
			case '{', '[':
				if len(stack) >= maxDepth {
					return s.errorAt(s.pos, ErrNotJSON, "nesting too deep")
				}
				stack = append(stack, c)
			case '}', ']':
				open := byte('{')
				if c == ']' {
					open = '['
				}
				if len(stack) == 0 || stack[len(stack)-1] != open {
					return s.errorAt(s.pos, ErrNotJSON, "mismatched "+quoteChar(c))
				}
				stack = stack[:len(stack)-1]
				if len(stack) == 0 {
					s.pos++
					return nil
				}
			}
			s.pos++
			b := s.buf
			p, e := s.pos, s.end
			for p < e && !structural[b[p]] {
				p++
			}
			s.pos = p
		}
		if !s.fill() {
			return s.eofError("")
		}
	}
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
