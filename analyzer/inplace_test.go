package analyzer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
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

// TestParseConfigurationMatchesDecoding reads the configuration section
// of every plan in testdata/plans with the in-place reader and with
// encoding/json into the same types: they must agree.
func TestParseConfigurationMatchesDecoding(t *testing.T) {
	files, _ := filepath.Glob("../testdata/plans/*.json")
	more, _ := filepath.Glob("../testdata/plans/*/*.json")
	files = append(files, more...)
	seen := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Configuration json.RawMessage `json:"configuration"`
		}
		if json.Unmarshal(data, &doc) != nil || len(doc.Configuration) == 0 {
			continue
		}
		seen++
		t.Run(filepath.Base(f), func(t *testing.T) {
			var want cfgRoot
			if err := json.Unmarshal(doc.Configuration, &want); err != nil {
				t.Fatal(err)
			}
			got := parseConfiguration(doc.Configuration)
			if got == nil || !reflect.DeepEqual(*got, want) {
				t.Fatalf("in-place reading differs from encoding/json:\n got %+v\nwant %+v", got, want)
			}
		})
	}
	if seen < 10 {
		t.Fatalf("only %d plans with a configuration section", seen)
	}
	// Sections that are not what the format says give no configuration.
	for _, bad := range []string{`[]`, `{"root_module":[]}`, `{"root_module":{"resources":{}}}`, `{"root_module":{"resources":[{"type":1}]}}`, `{"root_module":{"module_calls":[]}}`} {
		if c := parseConfiguration([]byte(bad)); c != nil {
			t.Errorf("parseConfiguration(%s) = %+v, want nil", bad, c)
		}
	}
	deep := `{"root_module":` + strings.Repeat(`{"module_calls":{"m":{"module":`, maxModuleDepth+2) + `{}` + strings.Repeat(`}}}`, maxModuleDepth+2) + `}`
	if c := parseConfiguration([]byte(deep)); c != nil {
		t.Errorf("module calls nested %d deep were read", maxModuleDepth+2)
	}
}
