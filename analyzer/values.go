package analyzer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"unicode/utf8"
)

// changeAt builds the Change for one replaced path: the values before and
// after, masked where sensitive and marked where unknown.
func (c *changeBody) changeAt(p Path, maxLen int) Change {
	ch := Change{Path: p.String(), Steps: p}
	if markedAt(c.beforeSensitive, p) {
		ch.Before, ch.BeforeSensitive = SensitiveValue, true
	} else {
		ch.Before = renderAt(c.before, p, maxLen)
	}
	switch {
	case markedAt(c.afterSensitive, p):
		ch.After, ch.AfterSensitive = SensitiveValue, true
	case markedAt(c.afterUnknown, p):
		ch.After, ch.AfterUnknown = UnknownValue, true
	default:
		ch.After = renderAt(c.after, p, maxLen)
	}
	if !ch.BeforeSensitive && !ch.AfterSensitive && !ch.AfterUnknown {
		ch.ChangedKeys = changedKeys(c.before, c.after, p)
	}
	return ch
}

// maxChangedKeys bounds the keys listed for one path.
const maxChangedKeys = 50

// changedKeys lists, when the values at p are both objects (maps), the
// keys below p whose values differ, rendered as p["key"] (nested objects
// followed), sorted.
func changedKeys(before, after []byte, p Path) []string {
	bv, ok1 := lookup(before, p)
	av, ok2 := lookup(after, p)
	if !ok1 || !ok2 {
		return nil
	}
	var b, a any
	if decodeAny(bv, &b) != nil || decodeAny(av, &a) != nil {
		return nil
	}
	if _, ok := b.(map[string]any); !ok {
		return nil
	}
	if _, ok := a.(map[string]any); !ok {
		return nil
	}
	var out []string
	var walk func(prefix string, x, y any)
	walk = func(prefix string, x, y any) {
		xm, xok := x.(map[string]any)
		ym, yok := y.(map[string]any)
		if xok && yok {
			keys := map[string]bool{}
			for k := range xm {
				keys[k] = true
			}
			for k := range ym {
				keys[k] = true
			}
			for k := range keys {
				walk(prefix+"["+quoteKey(k)+"]", xm[k], ym[k])
			}
			return
		}
		if !reflect.DeepEqual(x, y) {
			out = append(out, prefix)
		}
	}
	walk(p.String(), b, a)
	sort.Strings(out)
	if len(out) > maxChangedKeys {
		out = append(out[:maxChangedKeys], fmt.Sprintf("(%d more)", len(out)-maxChangedKeys))
	}
	return out
}

// lookup returns the raw value at path p inside raw, and whether it exists.
func lookup(raw []byte, p Path) ([]byte, bool) {
	cur := raw
	for _, step := range p {
		if len(cur) == 0 {
			return nil, false
		}
		var next []byte
		found := false
		switch s := step.(type) {
		case string:
			if skipSpace(cur, 0) >= len(cur) || cur[skipSpace(cur, 0)] != '{' {
				return nil, false
			}
			_ = objectEach(cur, func(k string, _ int, v []byte, _ int) (bool, error) {
				if k == s {
					next, found = v, true
					return true, nil
				}
				return false, nil
			})
		case int:
			if skipSpace(cur, 0) >= len(cur) || cur[skipSpace(cur, 0)] != '[' {
				return nil, false
			}
			_ = arrayEach(cur, func(i int, v []byte, _ int) error {
				if i == s {
					next, found = v, true
					return errStop
				}
				return nil
			})
		}
		if !found {
			return nil, false
		}
		cur = next
	}
	return cur, true
}

// errStop ends an arrayEach walk early.
var errStop = &rawError{msg: "stop"}

// markedAt reports whether the marker tree (before_sensitive,
// after_sensitive or after_unknown) marks the value at p, or any part of it:
// a marker of true at p or at any prefix of p, or anywhere below p.
func markedAt(marks []byte, p Path) bool {
	if len(marks) == 0 {
		return false
	}
	cur := marks
	for i := 0; ; i++ {
		if isTrue(cur) {
			return true
		}
		if i == len(p) {
			return containsTrue(cur)
		}
		next, ok := lookup(cur, p[i:i+1])
		if !ok {
			return false
		}
		cur = next
	}
}

func isTrue(raw []byte) bool { return string(bytes.TrimSpace(raw)) == "true" }

// containsTrue reports whether a marker tree holds true anywhere.
func containsTrue(raw []byte) bool {
	i := skipSpace(raw, 0)
	if i >= len(raw) {
		return false
	}
	found := false
	switch raw[i] {
	case 't':
		return isTrue(raw)
	case '{':
		_ = objectEach(raw, func(_ string, _ int, v []byte, _ int) (bool, error) {
			found = containsTrue(v)
			return found, nil
		})
	case '[':
		_ = arrayEach(raw, func(_ int, v []byte, _ int) error {
			if found = containsTrue(v); found {
				return errStop
			}
			return nil
		})
	}
	return found
}

// renderAt renders the value at p for display.
func renderAt(raw []byte, p Path, maxLen int) string {
	v, ok := lookup(raw, p)
	if !ok {
		return "null"
	}
	return renderValue(v, maxLen)
}

// renderValue renders a raw JSON value for display: strings as they are,
// anything else as compact JSON, shortened past maxLen characters.
func renderValue(v []byte, maxLen int) string {
	var out string
	if len(v) > 0 && v[0] == '"' {
		s, err := unquote(v)
		if err != nil {
			return "(invalid value)"
		}
		out = s
	} else {
		var b bytes.Buffer
		if err := json.Compact(&b, v); err != nil {
			return "(invalid value)"
		}
		out = b.String()
	}
	return Shorten(out, maxLen)
}

// Shorten cuts s to at most max characters, ending it with "…" when cut.
// A max of zero or less leaves s whole.
func Shorten(s string, max int) string {
	if max <= 0 || utf8.RuneCountInString(s) <= max {
		return s
	}
	if max == 1 {
		return "…"
	}
	n := 0
	for i := range s {
		if n == max-1 {
			return s[:i] + "…"
		}
		n++
	}
	return s
}

// diffPaths returns the rendered paths at which two values differ: object
// members are compared key by key, lists of the same length element by
// element; anything else that differs is reported at its own path.
func diffPaths(before, after []byte) ([]string, error) {
	var b, a any
	if err := decodeAny(before, &b); err != nil {
		return nil, err
	}
	if err := decodeAny(after, &a); err != nil {
		return nil, err
	}
	var out []string
	var walk func(p Path, x, y any)
	walk = func(p Path, x, y any) {
		xm, xok := x.(map[string]any)
		ym, yok := y.(map[string]any)
		if xok && yok {
			keys := map[string]bool{}
			for k := range xm {
				keys[k] = true
			}
			for k := range ym {
				keys[k] = true
			}
			for k := range keys {
				walk(append(p[:len(p):len(p)], k), xm[k], ym[k])
			}
			return
		}
		xl, xok := x.([]any)
		yl, yok := y.([]any)
		if xok && yok && len(xl) == len(yl) {
			for i := range xl {
				walk(append(p[:len(p):len(p)], i), xl[i], yl[i])
			}
			return
		}
		if !reflect.DeepEqual(x, y) && len(p) > 0 {
			out = append(out, p.String())
		}
	}
	walk(nil, b, a)
	sort.Strings(out)
	if out == nil {
		out = []string{}
	}
	return out, nil
}

func decodeAny(raw []byte, v *any) error {
	if len(raw) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return invalidAt(0, "invalid value: "+strings.TrimPrefix(err.Error(), "json: "))
	}
	return nil
}
