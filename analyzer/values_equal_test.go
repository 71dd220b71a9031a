package analyzer

import (
	"encoding/json"
	"reflect"
	"testing"
)

// TestJSONEqual pins jsonEqual to what decoding both sides (numbers as
// json.Number) and comparing gives, across the fast paths that skip the
// decoding.
func TestJSONEqual(t *testing.T) {
	cases := []struct {
		name string
		x, y string
		want bool
	}{
		{"same bytes", `"a"`, `"a"`, true},
		{"different strings", `"a"`, `"b"`, false},
		{"escaped and plain", `"\u0041"`, `"A"`, true},
		{"two escapes of one text", `"\/"`, `"\u002f"`, true},
		{"escapes of different texts", `"\n"`, `"\t"`, false},
		{"numbers by text", `1`, `1.0`, false},
		{"number and string", `1`, `"1"`, false},
		{"literals", `true`, `false`, false},
		{"null and empty", `null`, ``, true},
		{"null and false", `null`, `false`, false},
		{"spacing", ` {"a": 1}`, `{"a":1} `, true},
		{"key order", `{"a":1,"b":[1,2]}`, `{"b":[1,2],"a":1}`, true},
		{"nested difference", `{"a":{"b":"x"}}`, `{"a":{"b":"y"}}`, false},
		{"array and object", `[]`, `{}`, false},
		{"array lengths", `[1]`, `[1,1]`, false},
		{"escapes inside arrays", `["\u0041"]`, `["A"]`, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := jsonEqual([]byte(c.x), []byte(c.y)); got != c.want {
				t.Fatalf("jsonEqual(%s, %s) = %v, want %v", c.x, c.y, got, c.want)
			}
			if got := jsonEqual([]byte(c.y), []byte(c.x)); got != c.want {
				t.Fatalf("jsonEqual(%s, %s) = %v, want %v (swapped)", c.y, c.x, got, c.want)
			}
		})
	}
}

// TestParseExprMatchesDecoding checks the in-place expression reader
// against encoding/json on the shapes the configuration section holds.
func TestParseExprMatchesDecoding(t *testing.T) {
	for _, raw := range []string{
		`{"references":["var.a","data.coder_workspace.me.name"]}`,
		`{"constant_value":"x"}`,
		`{"references":[]}`,
		`{"references":null}`,
		`{"references":["a"],"references":["b","c"]}`,
		`{"constant_value":{"references":["inner"]},"references":["outer"]}`,
		`{"references":["caf\u00e9"]}`,
		`{"references":[1]}`,
		`{"references":"var.a"}`,
		`["not an object"]`,
		`null`,
	} {
		t.Run(raw, func(t *testing.T) {
			var want cfgExpr
			wantOK := json.Unmarshal([]byte(raw), &want) == nil && raw != `null`
			got, ok := parseExpr([]byte(raw))
			if ok != wantOK || (ok && len(got.References)+len(want.References) > 0 && !reflect.DeepEqual(got.References, want.References)) {
				t.Fatalf("parseExpr = %q, %v; encoding/json gives %q, %v", got.References, ok, want.References, wantOK)
			}
		})
	}
}
