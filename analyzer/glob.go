package analyzer

import "unicode/utf8"

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
