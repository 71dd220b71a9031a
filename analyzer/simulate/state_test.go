package simulate

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// testSchema is a provider schema in the shape `terraform providers schema
// -json` writes: a computed id, a sensitive computed token, a map, a
// dynamic attribute, a list block with a nested set.
const testSchema = `{"format_version":"1.0","provider_schemas":{"registry.terraform.io/x/x":{"resource_schemas":{
 "x_thing":{"version":2,"block":{
  "attributes":{
   "id":{"type":"string","computed":true},
   "name":{"type":"string","required":true},
   "token":{"type":"string","computed":true,"sensitive":true},
   "data":{"type":["map","string"],"optional":true,"sensitive":true},
   "size":{"type":"number","optional":true,"computed":true},
   "input":{"type":"dynamic","optional":true},
   "tags":{"type":["set","string"],"optional":true}
  },
  "block_types":{"meta":{"nesting_mode":"list","block":{"attributes":{
   "uid":{"type":"string","computed":true},
   "labels":{"type":["map","string"],"optional":true}}}}}}}}}}}`

func mustSchemas(t *testing.T) schemas {
	t.Helper()
	s, err := parseSchemas([]byte(testSchema))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func decode(t *testing.T, s string) any {
	t.Helper()
	var v any
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestParseSchemas(t *testing.T) {
	rs, ok := mustSchemas(t).lookup("registry.terraform.io/x/x", "x_thing")
	if !ok || rs.version != 2 {
		t.Fatalf("lookup = %+v, %v", rs, ok)
	}
	meta := rs.typ.attrs["meta"]
	if meta.kind != kindList || meta.elem.kind != kindObject || meta.elem.attrs["uid"].kind != kindString || !meta.elem.attrs["uid"].computedOnly {
		t.Errorf("meta block: %+v", meta)
	}
	if tok := rs.typ.attrs["token"]; !tok.sensitive || !tok.computedOnly {
		t.Errorf("token: %+v", tok)
	}
	if sz := rs.typ.attrs["size"]; sz.computedOnly {
		t.Errorf("optional+computed size is not computed-only")
	}
	if _, err := parseSchemas([]byte(`{"provider_schemas":{"p":{"resource_schemas":{"t":{"block":{"attributes":{"a":{"type":["tuple"]}}}}}}}}`)); err == nil {
		t.Error("a malformed type parses")
	}
}

func TestFill(t *testing.T) {
	typ := mustSchemas(t)["registry.terraform.io/x/x"]["x_thing"].typ
	tests := []struct {
		name                 string
		after, unknown, prev string
		check                func(t *testing.T, got map[string]any)
	}{
		{name: "typed placeholders for wholly unknown values",
			after:   `{"name":"a","id":null,"size":null,"tags":null,"meta":[{"labels":{"k":"v"},"uid":null}]}`,
			unknown: `{"id":true,"size":true,"tags":true,"meta":[{"uid":true}]}`,
			check: func(t *testing.T, got map[string]any) {
				if id, _ := got["id"].(string); len(id) != 36 {
					t.Errorf("id = %v, want a UUID", got["id"])
				}
				if got["size"] != json.Number("0") {
					t.Errorf("size = %v", got["size"])
				}
				if tags, ok := got["tags"].([]any); !ok || len(tags) != 0 {
					t.Errorf("tags = %#v", got["tags"])
				}
				uid := got["meta"].([]any)[0].(map[string]any)["uid"]
				if s, _ := uid.(string); len(s) != 36 || s == got["id"] {
					t.Errorf("uid = %v (id %v)", uid, got["id"])
				}
			}},
		{name: "unknown missing from after is added",
			after: `{"name":"a"}`, unknown: `{"token":true}`,
			check: func(t *testing.T, got map[string]any) {
				if _, ok := got["token"].(string); !ok {
					t.Errorf("token = %#v", got["token"])
				}
			}},
		{name: "previous values win over placeholders",
			after: `{"name":"b","id":null}`, unknown: `{"id":true}`, prev: `{"name":"a","id":"kept"}`,
			check: func(t *testing.T, got map[string]any) {
				if got["id"] != "kept" || got["name"] != "b" {
					t.Errorf("got %v", got)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var prev any
			if tt.prev != "" {
				prev = decode(t, tt.prev)
			}
			got := fill(decode(t, tt.after), decode(t, tt.unknown), typ, prev, "x_thing.a", nil).(map[string]any)
			tt.check(t, got)
			again := fill(decode(t, tt.after), decode(t, tt.unknown), typ, prev, "x_thing.a", nil)
			if !reflect.DeepEqual(got, again) {
				t.Error("fill is not deterministic")
			}
		})
	}
}

func TestSensitivePaths(t *testing.T) {
	typ := mustSchemas(t)["registry.terraform.io/x/x"]["x_thing"].typ
	val := decode(t, `{"data":{"a":"1","b":"2"},"name":"n","tags":["x"],"meta":[{"labels":{"k":"v"}}]}`)
	sens := decode(t, `{"token":true,"data":true,"name":true,"tags":[true],"meta":[{"labels":{"k":true}}]}`)
	render := func(mode marksMode) []string {
		var out [][]map[string]any
		sensitivePaths(sens, val, typ, mode, nil, &out)
		var s []string
		for _, p := range out {
			b, _ := json.Marshal(p)
			s = append(s, string(b))
		}
		return s
	}
	name := `[{"type":"get_attr","value":"name"}]`
	tags := `[{"type":"get_attr","value":"tags"}]`
	label := `[{"type":"get_attr","value":"meta"},{"type":"index","value":{"type":"number","value":0}},{"type":"get_attr","value":"labels"},{"type":"index","value":{"type":"string","value":"k"}}]`
	tests := []struct {
		mode marksMode
		want []string
	}{
		{marksConfig, []string{label, name, tags}},
		{marksSchema, []string{`[{"type":"get_attr","value":"data"}]`, label, name, tags, `[{"type":"get_attr","value":"token"}]`}},
		{marksElements, []string{
			`[{"type":"get_attr","value":"data"},{"type":"index","value":{"type":"string","value":"a"}}]`,
			`[{"type":"get_attr","value":"data"},{"type":"index","value":{"type":"string","value":"b"}}]`,
			label, name, tags, `[{"type":"get_attr","value":"token"}]`}},
	}
	for _, tt := range tests {
		if got := render(tt.mode); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("mode %d:\n got %v\nwant %v", tt.mode, got, tt.want)
		}
	}
}

func TestFoldAndMarshal(t *testing.T) {
	sch := mustSchemas(t)
	plan, err := readPlanDoc(strings.NewReader(`{"terraform_version":"1.5.7","resource_changes":[
	 {"address":"module.m[\"a\"].x_thing.t[\"k\"]","module_address":"module.m[\"a\"]","mode":"managed","type":"x_thing","name":"t","index":"k",
	  "provider_name":"registry.terraform.io/x/x","change":{"actions":["create"],"before":null,
	  "after":{"name":"n","input":{"a":[1,"x"]}},"after_unknown":{"id":true,"token":true},"after_sensitive":{"token":true}}},
	 {"address":"x_thing.c[0]","mode":"managed","type":"x_thing","name":"c","index":0,
	  "provider_name":"registry.terraform.io/x/x","change":{"actions":["create"],"before":null,
	  "after":{"name":"m"},"after_unknown":{"id":true},"after_sensitive":{}}},
	 {"address":"data.x_thing.d","mode":"data","type":"x_thing","name":"d","provider_name":"registry.terraform.io/x/x",
	  "change":{"actions":["read"],"after":{},"after_unknown":{}}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	st, res := fold(&synthState{lineage: "l"}, plan, sch)
	if res.changed != 2 || len(st.instances) != 2 || res.derived {
		t.Fatalf("fold: changed %d, %d instances, derived %v", res.changed, len(st.instances), res.derived)
	}
	b, err := st.marshal()
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Version   int `json:"version"`
		Resources []struct {
			Module    string           `json:"module"`
			Provider  string           `json:"provider"`
			Instances []map[string]any `json:"instances"`
		} `json:"resources"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Version != 4 || len(doc.Resources) != 2 {
		t.Fatalf("state: %s", b)
	}
	m := doc.Resources[0]
	if m.Module != `module.m["a"]` || m.Provider != `provider["registry.terraform.io/x/x"]` || m.Instances[0]["index_key"] != "k" ||
		m.Instances[0]["schema_version"] != float64(2) {
		t.Errorf("module resource: %+v", m)
	}
	in := m.Instances[0]["attributes"].(map[string]any)["input"]
	if !reflect.DeepEqual(in, map[string]any{"value": map[string]any{"a": []any{float64(1), "x"}},
		"type": []any{"object", map[string]any{"a": []any{"tuple", []any{"number", "string"}}}}}) {
		t.Errorf("dynamic input in state: %v", in)
	}
	if idx := doc.Resources[1].Instances[0]["index_key"]; idx != float64(0) {
		t.Errorf("count index_key = %v", idx)
	}
	// Folding the no-op re-plan of that state changes nothing.
	noop := &planDoc{ResourceChanges: []resourceChange{plan.ResourceChanges[0], plan.ResourceChanges[1]}}
	for i := range noop.ResourceChanges {
		noop.ResourceChanges[i].Change.Actions = []string{"no-op"}
	}
	if !settled(noop, st) {
		t.Error("a no-op plan is not settled")
	}
}

func TestRekeyedAndStripKeys(t *testing.T) {
	for in, want := range map[string]string{
		`module.ws["a.b"].module.x[0]`: "module.ws.module.x",
		`module.ws["q\"]["]`:           "module.ws",
		``:                             "",
	} {
		if got := stripKeys(in); got != want {
			t.Errorf("stripKeys(%q) = %q, want %q", in, got, want)
		}
	}
	plan, err := readPlanDoc(strings.NewReader(`{"resource_changes":[
	 {"address":"module.w[\"prebuilds\"].v.h","module_address":"module.w[\"prebuilds\"]","mode":"managed","type":"v","name":"h","change":{"actions":["delete"]}},
	 {"address":"module.w[\"alice\"].v.h","module_address":"module.w[\"alice\"]","mode":"managed","type":"v","name":"h","change":{"actions":["create"]}},
	 {"address":"v.gone[0]","mode":"managed","type":"v","name":"gone","index":0,"change":{"actions":["delete"]}},
	 {"address":"v.r","mode":"managed","type":"v","name":"r","change":{"actions":["delete","create"]}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	want := []Rekey{{Resource: "module.w.v.h", Deleted: []string{`module.w["prebuilds"].v.h`}, Created: []string{`module.w["alice"].v.h`}}}
	if got := rekeyed(plan); !reflect.DeepEqual(got, want) {
		t.Errorf("rekeyed = %+v, want %+v", got, want)
	}
}

func TestStripBackends(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"main.tf":    "terraform {\n  required_version = \">= 1.0\"\n  backend \"s3\" {\n    bucket = \"b\"\n  }\n}\n\nresource \"terraform_data\" \"x\" {}\n",
		"cloud.tf":   "terraform {\n  cloud {\n    organization = \"o\"\n  }\n}\n",
		"plain.tf":   "locals {\n  backend = \"not a block\"\n}\n",
		"broken.tf":  "terraform {\n  backend \"s3\" {\n",
		"b.tf.json":  `{"terraform":{"backend":{"s3":{"bucket":"b"}},"required_version":">= 1.0"}}`,
		"notes.txt":  "terraform { backend \"s3\" {} }",
		"c.tf.json":  `{"terraform":[{"cloud":{}}]}`,
		"README.md":  "x",
		"other.json": `{"terraform":{"backend":{}}}`,
	}
	for n, c := range files {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := stripBackends(dir); err != nil {
		t.Fatal(err)
	}
	read := func(n string) string {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if got := read("main.tf"); strings.Contains(got, "backend") || !strings.Contains(got, `required_version = ">= 1.0"`) || !strings.Contains(got, `resource "terraform_data" "x"`) {
		t.Errorf("main.tf:\n%s", got)
	}
	if strings.Contains(read("cloud.tf"), "cloud") || strings.Contains(read("b.tf.json"), "backend") || strings.Contains(read("c.tf.json"), "cloud") {
		t.Error("a backend or cloud block is left")
	}
	for _, n := range []string{"plain.tf", "broken.tf", "notes.txt", "other.json"} {
		if read(n) != files[n] {
			t.Errorf("%s changed", n)
		}
	}
}
