package analyzer

import (
	"errors"
	"fmt"
	"unicode"
	"unicode/utf8"
)

// MatchGlob reports whether s matches pattern, where '*' matches any run of
// characters (including none) and '?' any one character. Every other
// character, brackets and dots included, matches itself, so that resource
// addresses such as module.ws["a"].docker_container.main[0] can be written
// as patterns without escaping. It does not allocate.
func MatchGlob(pattern, s string) bool {
	pi, ti := 0, 0
	star, mark := -1, 0 // the last '*' seen, and where in s it began to match
	for ti < len(s) {
		tr, tn := utf8.DecodeRuneInString(s[ti:])
		if pi < len(pattern) {
			pr, pn := utf8.DecodeRuneInString(pattern[pi:])
			if pr == '*' {
				star, mark = pi, ti
				pi += pn
				continue
			}
			if pr == '?' || pr == tr {
				pi += pn
				ti += tn
				continue
			}
		}
		if star < 0 {
			return false
		}
		// Let the last '*' swallow one more character and retry.
		pi = star + 1
		_, mn := utf8.DecodeRuneInString(s[mark:])
		mark += mn
		ti = mark
	}
	for pi < len(pattern) && pattern[pi] == '*' {
		pi++
	}
	return pi == len(pattern)
}

// MaxGlobLen bounds the length of a glob pattern, in bytes.
const MaxGlobLen = 1024

// ValidateGlob checks a pattern for MatchGlob: not empty, at most
// MaxGlobLen bytes of valid UTF-8, no control characters. (Every other
// character is literal or a wildcard, so nothing else can be malformed.)
func ValidateGlob(pattern string) error {
	switch {
	case pattern == "":
		return errors.New("empty pattern")
	case len(pattern) > MaxGlobLen:
		return fmt.Errorf("pattern is %d bytes long, at most %d", len(pattern), MaxGlobLen)
	case !utf8.ValidString(pattern):
		return fmt.Errorf("pattern %q is not valid UTF-8", pattern)
	}
	for _, r := range pattern {
		if unicode.IsControl(r) {
			return fmt.Errorf("pattern %q holds a control character", pattern)
		}
	}
	return nil
}
