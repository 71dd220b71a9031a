package analyzer

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckPresets(t *testing.T) {
	one := []Preset{{Resource: "data.coder_workspace_preset.a", Name: "A", Default: true}, {Resource: "data.coder_workspace_preset.b", Name: "B"}}
	if err := CheckPresets(one); err != nil {
		t.Fatalf("one default: %v", err)
	}
	if err := CheckPresets(nil); err != nil {
		t.Fatalf("no presets: %v", err)
	}
	two := append(one, Preset{Resource: "data.coder_workspace_preset.c", Name: "C", Default: true})
	err := CheckPresets(two)
	if !errors.Is(err, ErrMultipleDefaultPresets) || !strings.Contains(err.Error(), `"A" (data.coder_workspace_preset.a), "C" (data.coder_workspace_preset.c)`) {
		t.Fatalf("two defaults: %v", err)
	}
}

// TestPresetsFromPriorState: presets are read from the prior state's
// data.coder_workspace_preset resources; one whose shape is not
// understood is a warning naming what could not be read, never an error,
// and other resources are not read at all.
func TestPresetsFromPriorState(t *testing.T) {
	doc := func(resource string) string {
		return `{"format_version":"1.2","prior_state":{"values":{"root_module":{"resources":[` + resource +
			`,{"address":"docker_container.x","mode":"managed","type":"docker_container","values":{"name":7}}]}}}}`
	}
	tests := []struct {
		name, resource string
		want           []Preset
		warning        string
	}{
		{"preset", `{"address":"data.coder_workspace_preset.a","mode":"data","type":"coder_workspace_preset","values":{"name":"A","default":true,"parameters":{"cpu":"2","n":3},"prebuilds":[{"instances":2,"expiration_policy":[{"ttl":3600}]}]},"sensitive_values":{"parameters":{}}}`,
			[]Preset{{Resource: "data.coder_workspace_preset.a", Name: "A", Default: true, Parameters: map[string]string{"cpu": "2", "n": "3"}, Instances: 2, TTLSeconds: 3600}}, ""},
		{"sensitive parameter", `{"address":"data.coder_workspace_preset.a","mode":"data","type":"coder_workspace_preset","values":{"name":"A","parameters":{"pw":"hunter2"}},"sensitive_values":{"parameters":{"pw":true}}}`,
			[]Preset{{Resource: "data.coder_workspace_preset.a", Name: "A", Parameters: map[string]string{"pw": SensitiveValue}}}, ""},
		{"address twice: the last", `{"address":"data.coder_workspace_preset.old","mode":"data","type":"coder_workspace_preset","address":"data.coder_workspace_preset.a","values":{"name":"A"}}`,
			[]Preset{{Resource: "data.coder_workspace_preset.a", Name: "A", Parameters: map[string]string{}}}, ""},
		{"address not a string", `{"address":7,"mode":"data","type":"coder_workspace_preset","values":{"name":"A"}}`, nil, "a coder_workspace_preset in prior_state could not be read: address"},
		{"values not an object", `{"address":"data.coder_workspace_preset.a","mode":"data","type":"coder_workspace_preset","values":["A"]}`, nil, "data.coder_workspace_preset.a: preset values could not be read"},
		{"no values", `{"address":"data.coder_workspace_preset.a","mode":"data","type":"coder_workspace_preset"}`, nil, "data.coder_workspace_preset.a: preset values could not be read"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := Analyze(strings.NewReader(doc(tt.resource)), Options{})
			if err != nil {
				t.Fatalf("Analyze: %v", err)
			}
			if len(rep.Presets) != len(tt.want) {
				t.Fatalf("presets = %+v, want %+v", rep.Presets, tt.want)
			}
			for i, p := range rep.Presets {
				w := tt.want[i]
				if p.Resource != w.Resource || p.Name != w.Name || p.Default != w.Default || p.Instances != w.Instances || p.TTLSeconds != w.TTLSeconds || len(p.Parameters) != len(w.Parameters) {
					t.Fatalf("preset = %+v, want %+v", p, w)
				}
				for k, v := range w.Parameters {
					if p.Parameters[k] != v {
						t.Errorf("parameter %s = %q, want %q", k, p.Parameters[k], v)
					}
				}
			}
			got := strings.Join(rep.Warnings, "\n")
			if tt.warning == "" && got != "" || !strings.Contains(got, tt.warning) {
				t.Fatalf("warnings = %q, want %q", got, tt.warning)
			}
		})
	}
}
