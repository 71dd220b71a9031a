package render

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// clean makes text from a plan safe to print on a terminal or in a log:
// control characters (including ESC, CR and LF) are written as escapes.
func clean(s string) string {
	if !needsClean(s) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func needsClean(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == 0x7f || c >= 0x80 {
			return true
		}
	}
	return false
}
