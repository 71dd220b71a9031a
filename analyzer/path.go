package analyzer

import (
	"encoding/json"
	"strconv"
	"strings"
)

// Path is an attribute path as a plan gives it: a list of steps, each a
// string (attribute name or map key) or an int (list, set or tuple index).
type Path []any

// String renders the path in Terraform's traversal syntax, so that it can be
// pasted into `lifecycle { ignore_changes = [...] }`:
//
//	["env"]                                  → env
//	["metadata", 0, "name"]                  → metadata[0].name
//	["labels", "app.kubernetes.io/name"]     → labels["app.kubernetes.io/name"]
//
// The first step and any later string step that is a valid identifier are
// written bare (dotted after the first); any other string step is written as
// a quoted index; an integer step as [N].
func (p Path) String() string {
	var b strings.Builder
	for i, step := range p {
		switch s := step.(type) {
		case string:
			if isIdentifier(s) {
				if i > 0 {
					b.WriteByte('.')
				}
				b.WriteString(s)
			} else {
				b.WriteByte('[')
				b.WriteString(quoteKey(s))
				b.WriteByte(']')
			}
		case int:
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(s))
			b.WriteByte(']')
		default:
			// Not produced by the parser; render something visible rather
			// than dropping the step.
			b.WriteByte('[')
			raw, _ := json.Marshal(s)
			b.Write(raw)
			b.WriteByte(']')
		}
	}
	return b.String()
}

// isIdentifier reports whether s is a valid HCL identifier as claimdrift
// renders them: [A-Za-z_][A-Za-z0-9_-]*.
func isIdentifier(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_':
		case i > 0 && (c >= '0' && c <= '9' || c == '-'):
		default:
			return false
		}
	}
	return true
}

// quoteKey quotes a map key as a JSON string, which is also a valid HCL
// string literal for every key a plan can hold. HTML characters are kept as
// they are (encoding/json would escape <, > and &).
func quoteKey(s string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	out := strings.TrimSuffix(b.String(), "\n")
	// HCL treats "${" and "%{" as template sequences inside quoted strings;
	// escape them so the rendered path pastes as a literal key.
	out = strings.ReplaceAll(out, "${", "$${")
	out = strings.ReplaceAll(out, "%{", "%%{")
	return out
}
