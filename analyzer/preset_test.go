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
