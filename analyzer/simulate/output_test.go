package simulate

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/claimdrift/claimdrift/analyzer"
	"github.com/claimdrift/claimdrift/analyzer/render"
)

func TestWriteSeveralPresets(t *testing.T) {
	mk := func(preset string, rekeys []Rekey, replaced ...string) Result {
		rep := &analyzer.Report{Schema: analyzer.Schema, TerraformVersion: "1.5.7", Replacements: []analyzer.Replacement{}}
		for _, r := range replaced {
			rep.Replacements = append(rep.Replacements, analyzer.Replacement{Resource: r, Reason: "replace_because_cannot_update", Paths: []string{"name"}})
		}
		return Result{Report: rep, Simulation: Simulation{Preset: preset, Rounds: 1, Settled: true, Rekeyed: rekeys,
			Prebuild: Identity{Owner: PrebuildsOwner, WorkspaceName: "prebuild-1"}, Claimant: Identity{Owner: "alice", WorkspaceName: "ws"},
			Terraform: "terraform 1.5.7"}}
	}
	results := []Result{
		mk("Small", []Rekey{{Resource: "v.h", Deleted: []string{`v.h["prebuilds"]`}, Created: []string{`v.h["alice"]`}}}, "x.a"),
		mk("Large", nil),
	}
	for _, tt := range []struct {
		format string
		want   []string
	}{
		{"text", []string{`claimdrift simulate: preset "Small": prebuild (owner prebuilds, workspace prebuild-1) claimed by alice (workspace ws); prebuild state settled in 1 re-plan; terraform 1.5.7`,
			`preset "Large"`, "re-keyed on claim", `destroyed: v.h["prebuilds"]`, "-/+ x.a"}},
		{"markdown", []string{"**claimdrift simulate:** preset \"Small\"", "**Re-keyed on claim**", "| `v.h` | `v.h[\"prebuilds\"]` | `v.h[\"alice\"]` |", "\n---\n"}},
		{"github", []string{"::warning title=Resource re-keyed%3A v.h::", "::notice title=claimdrift simulate::preset \"Large\""}},
	} {
		t.Run(tt.format, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Write(&buf, tt.format, results, render.Options{}); err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(buf.String(), w) {
					t.Errorf("lacks %q:\n%s", w, buf.String())
				}
			}
		})
	}
	t.Run("json is one document per preset", func(t *testing.T) {
		var buf bytes.Buffer
		if err := Write(&buf, "json", results, render.Options{}); err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(&buf)
		var presets []string
		for {
			var doc struct {
				Schema       string                 `json:"schema"`
				Replacements []analyzer.Replacement `json:"replacements"`
				Simulation   Simulation             `json:"simulation"`
			}
			if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatal(err)
			}
			if doc.Schema != analyzer.Schema {
				t.Errorf("schema %q", doc.Schema)
			}
			presets = append(presets, doc.Simulation.Preset)
		}
		if strings.Join(presets, ",") != "Small,Large" {
			t.Errorf("documents for %v", presets)
		}
	})
	if err := Write(io.Discard, "sarif", results, render.Options{}); !errors.Is(err, render.ErrUnknownFormat) {
		t.Errorf("unknown format: %v", err)
	}
}
