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
	// Each value is looked up once, for its rendering and changedKeysOf.
	bv, bok := lookup(c.before, p)
	av, aok := lookup(c.after, p)
	if markedAt(c.beforeSensitive, p) {
		ch.Before, ch.BeforeSensitive = SensitiveValue, true
	} else {
		ch.Before = renderFound(bv, bok, maxLen)
	}
	switch {
	case markedAt(c.afterSensitive, p):
		ch.After, ch.AfterSensitive = SensitiveValue, true
	case markedAt(c.afterUnknown, p):
		ch.After, ch.AfterUnknown = UnknownValue, true
	default:
		ch.After = renderFound(av, aok, maxLen)
	}
	if !ch.BeforeSensitive && !ch.AfterSensitive && !ch.AfterUnknown {
		ch.ChangedKeys = changedKeysOf(bv, bok, av, aok, p)
	}
	return ch
}

// maxChangedKeys bounds the keys listed for one path.
const maxChangedKeys = 50

// changedKeysOf lists, when the values found at p (bv, ok1 and av, ok2,
// as lookup returns them) are both objects (maps), the keys below p whose
// values differ, rendered as p["key"] (nested objects followed), sorted.
func changedKeysOf(bv []byte, ok1 bool, av []byte, ok2 bool, p Path) []string {
	bv, av = bytes.TrimSpace(bv), bytes.TrimSpace(av)
	if !ok1 || !ok2 || len(bv) == 0 || len(av) == 0 || bv[0] != '{' || av[0] != '{' {
		return nil
	}
	var out []string
	base := p.String()
	rawDiff(nil, bv, av, func(sub Path) {
		var b strings.Builder
		b.WriteString(base)
		for _, step := range sub {
			b.WriteString("[" + quoteKey(step.(string)) + "]")
		}
		out = append(out, b.String())
	}, true, 0)
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
			_ = objectEach(cur, func(k []byte, _ int, v []byte, _ int) (bool, error) {
				if string(k) == s {
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
		_ = objectEach(raw, func(_ []byte, _ int, v []byte, _ int) (bool, error) {
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

// renderFound renders the value lookup found (ok), or null.
func renderFound(v []byte, ok bool, maxLen int) string {
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
// element; anything else that differs is reported at its own path. It
// walks the raw JSON without decoding it.
func diffPaths(before, after []byte) ([]string, error) {
	var out []string
	rawDiff(nil, before, after, func(p Path) {
		if len(p) > 0 {
			out = append(out, p.String())
		}
	}, false, 0)
	sort.Strings(out)
	if out == nil {
		out = []string{}
	}
	return out, nil
}

// rawDiff calls report for each path below p where x and y differ. With
// objectsOnly, lists are compared whole.
func rawDiff(p Path, x, y []byte, report func(Path), objectsOnly bool, depth int) {
	x, y = bytes.TrimSpace(x), bytes.TrimSpace(y)
	if depth > 64 {
		if !jsonEqual(x, y) {
			report(p)
		}
		return
	}
	if len(x) > 0 && len(y) > 0 && x[0] == '{' && y[0] == '{' {
		xm, ym := members(x), members(y)
		keys := make([]string, 0, len(xm)+len(ym))
		for k := range xm {
			keys = append(keys, k)
		}
		for k := range ym {
			if _, ok := xm[k]; !ok {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			rawDiff(append(p[:len(p):len(p)], k), xm[k], ym[k], report, objectsOnly, depth+1)
		}
		return
	}
	if !objectsOnly && len(x) > 0 && len(y) > 0 && x[0] == '[' && y[0] == '[' {
		xl, yl := elements(x), elements(y)
		if len(xl) == len(yl) {
			for i := range xl {
				rawDiff(append(p[:len(p):len(p)], i), xl[i], yl[i], report, objectsOnly, depth+1)
			}
			return
		}
	}
	if !jsonEqual(x, y) {
		report(p)
	}
}

func members(raw []byte) map[string][]byte {
	m := map[string][]byte{}
	_ = objectEach(raw, func(k []byte, _ int, v []byte, _ int) (bool, error) {
		m[string(k)] = v
		return false, nil
	})
	return m
}

func elements(raw []byte) [][]byte {
	var l [][]byte
	_ = arrayEach(raw, func(_ int, v []byte, _ int) error {
		l = append(l, v)
		return nil
	})
	return l
}

// jsonEqual compares two raw JSON values: byte-equal, or equal once
// decoded (for differences in spacing, escapes or key order).
func jsonEqual(x, y []byte) bool {
	if bytes.Equal(x, y) {
		return true
	}
	if len(x) == 0 || len(y) == 0 {
		return len(x) == len(y) || string(x) == "null" || string(y) == "null"
	}
	// Scalars that differ in their bytes are equal only as strings that
	// escape the same text differently: numbers compare by their text
	// (json.Number), literals and values of different kinds never match.
	// Only containers, and strings with escapes, need decoding.
	x, y = bytes.TrimSpace(x), bytes.TrimSpace(y)
	switch {
	case len(x) == 0 || len(y) == 0:
		return len(x) == len(y)
	case x[0] != y[0]:
		return false
	case x[0] == '"':
		if bytes.IndexByte(x, '\\') < 0 && bytes.IndexByte(y, '\\') < 0 {
			return bytes.Equal(x, y)
		}
	case x[0] != '{' && x[0] != '[':
		return bytes.Equal(x, y)
	}
	var a, b any
	if decodeAny(x, &a) != nil || decodeAny(y, &b) != nil {
		return false
	}
	return reflect.DeepEqual(a, b)
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
