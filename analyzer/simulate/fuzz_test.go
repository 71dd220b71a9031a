package simulate

import (
	"bytes"
	"regexp"
	"testing"
)

// FuzzFold feeds arbitrary plan and schema documents (outside input: what
// terraform writes) through everything simulate does with them: no panic,
// and every state it builds is written.
func FuzzFold(f *testing.F) {
	f.Add([]byte(`{"terraform_version":"1.5.7","resource_changes":[{"address":"x_thing.t[\"k\"]","mode":"managed","type":"x_thing","name":"t","index":"k","provider_name":"registry.terraform.io/x/x","change":{"actions":["create"],"after":{"name":"n","input":{"a":[1,"x"]},"meta":[{}]},"after_unknown":{"id":true,"token":true,"meta":[{"uid":true}]},"after_sensitive":{"token":true,"data":true,"tags":[true]}}}]}`),
		[]byte(testSchema))
	f.Add([]byte(`{"resource_changes":[{"address":"module.m[\"a\"].v.h","module_address":"module.m[\"a\"]","mode":"managed","type":"v","name":"h","change":{"actions":["delete"]}},{"address":"v.h","mode":"managed","type":"v","name":"h","change":{"actions":["update"],"before":{"a":1},"after":{"a":1},"after_unknown":[true,{"x":[true]}],"after_sensitive":[[true]]}}]}`),
		[]byte(`{"provider_schemas":{"p":{"resource_schemas":{"v":{"block":{"attributes":{"a":{"type":["object",{"x":["list","dynamic"]}]}}}}}}}}`))
	f.Fuzz(func(t *testing.T, planJSON, schemaJSON []byte) {
		plan, err := readPlanDoc(bytes.NewReader(planJSON))
		if err != nil {
			return
		}
		sch, err := parseSchemas(schemaJSON)
		if err != nil {
			sch = nil
		}
		st, _ := fold(&synthState{lineage: "l"}, plan, sch)
		st2, _ := fold(st, plan, sch)
		if _, err := st2.marshal(); err != nil {
			t.Fatalf("marshal: %v", err)
		}
		_ = rekeyed(plan)
		for i := range plan.ResourceChanges {
			_ = stripKeys(plan.ResourceChanges[i].ModuleAddress)
		}
	})
}

// FuzzMandatoryParams feeds arbitrary template files (outside input) to the
// static reading of parameters without a default: no panic, and every
// placeholder made for a regex is one the regex matches.
func FuzzMandatoryParams(f *testing.F) {
	f.Add([]byte("data \"coder_parameter\" \"r\" {\n  name = \"region\"\n  validation {\n    regex = \"^(eu|us)-[a-z]+$\"\n  }\n}\n"), "^[a-z]{2,}[0-9]?$")
	f.Add([]byte("data \"coder_parameter\" \"n\" {\n  name = 3\n  type = \"number\"\n  validation {\n    min = -2.5\n  }\n  option {\n    value = true\n  }\n}\n"), `\bx|(?i)Y+`)
	f.Add([]byte("data \"coder_parameter\" {\n"), "[")
	f.Fuzz(func(t *testing.T, src []byte, expr string) {
		_ = mandatoryParamsIn(src, "main.tf")
		if s, ok := matchingString(expr); ok && !regexp.MustCompile(expr).MatchString(s) {
			t.Fatalf("matchingString(%q) = %q does not match", expr, s)
		}
	})
}
