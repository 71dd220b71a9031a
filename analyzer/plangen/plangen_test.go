package plangen_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	tfjson "github.com/hashicorp/terraform-json"

	"github.com/claimdrift/claimdrift/analyzer/plangen"
)

func generate(t *testing.T, opts plangen.Options) ([]byte, plangen.Stats) {
	t.Helper()
	var buf bytes.Buffer
	st, err := plangen.Write(&buf, opts)
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	if st.Bytes != int64(buf.Len()) {
		t.Fatalf("Stats.Bytes = %d, wrote %d", st.Bytes, buf.Len())
	}
	return buf.Bytes(), st
}

func TestWriteIsDeterministic(t *testing.T) {
	opts := plangen.Options{Resources: 200, ReplaceRatio: 0.2, Seed: 42}
	a, _ := generate(t, opts)
	b, _ := generate(t, opts)
	if !bytes.Equal(a, b) {
		t.Fatal("the same options gave different documents")
	}
	opts.Seed++
	c, _ := generate(t, opts)
	if bytes.Equal(a, c) {
		t.Fatal("different seeds gave the same document")
	}
}

// topLevelKeys returns the keys of the document's object, in order.
func topLevelKeys(t *testing.T, data []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("document does not start with an object: %v %v", tok, err)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

func TestWriteLooksLikeTerraformShowJSON(t *testing.T) {
	tests := []struct {
		name string
		opts plangen.Options
	}{
		{"one_resource", plangen.Options{Resources: 1, ReplaceRatio: 0.5, Seed: 1}},
		{"partial_module", plangen.Options{Resources: 9, ReplaceRatio: 0.5, Seed: 2}},
		{"typical", plangen.Options{Resources: 1500, ReplaceRatio: 0.1, Seed: 3}},
		{"all_replaced", plangen.Options{Resources: 300, ReplaceRatio: 1, Seed: 4}},
		{"none_replaced", plangen.Options{Resources: 300, ReplaceRatio: 0, Seed: 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, st := generate(t, tt.opts)
			if i := bytes.IndexByte(data, '\n'); i != len(data)-1 {
				t.Fatalf("document is not one line followed by a newline (newline at %d of %d)", i, len(data))
			}
			keys := topLevelKeys(t, data)
			want := []string{"format_version", "terraform_version", "variables", "planned_values", "resource_drift",
				"resource_changes", "output_changes", "prior_state", "configuration", "relevant_attributes", "timestamp", "errored"}
			if st.Drifted == 0 {
				want = append(want[:4], want[5:]...)
			}
			if !reflect.DeepEqual(keys, want) {
				t.Fatalf("top-level keys\n got  %q\n want %q", keys, want)
			}

			var plan tfjson.Plan
			if err := json.Unmarshal(data, &plan); err != nil {
				t.Fatalf("terraform-json cannot decode the plan: %v", err)
			}
			if len(plan.ResourceChanges) != tt.opts.Resources || st.Resources != tt.opts.Resources {
				t.Fatalf("resource_changes has %d entries (stats %d), want %d", len(plan.ResourceChanges), st.Resources, tt.opts.Resources)
			}
			if len(plan.ResourceDrift) != st.Drifted {
				t.Fatalf("resource_drift has %d entries, stats say %d", len(plan.ResourceDrift), st.Drifted)
			}
			replaced := 0
			addresses := map[string]bool{}
			for _, rc := range plan.ResourceChanges {
				if addresses[rc.Address] {
					t.Fatalf("address %s appears twice", rc.Address)
				}
				addresses[rc.Address] = true
				if !rc.Change.Actions.Replace() {
					if len(rc.Change.ReplacePaths) > 0 {
						t.Errorf("%s: replace_paths on a change that is not a replacement", rc.Address)
					}
					continue
				}
				replaced++
				withPaths := rc.ActionReason == tfjson.ActionReasonReplaceBecauseCannotUpdate
				if withPaths != (len(rc.Change.ReplacePaths) > 0) {
					t.Errorf("%s: reason %s with %d replace_paths", rc.Address, rc.ActionReason, len(rc.Change.ReplacePaths))
				}
				if rc.Change.Before == nil || rc.Change.After == nil {
					t.Errorf("%s: a replacement needs before and after values", rc.Address)
				}
				for _, p := range rc.Change.ReplacePaths {
					if !changedAt(rc.Change, p.([]any)) {
						t.Errorf("%s: replace path %v: value neither changed nor unknown", rc.Address, p)
					}
				}
			}
			if replaced != st.Replacements {
				t.Fatalf("decoded %d replacements, stats say %d", replaced, st.Replacements)
			}
			if tt.opts.ReplaceRatio == 0 && replaced != 0 {
				t.Fatalf("ratio 0 gave %d replacements", replaced)
			}
			if tt.opts.ReplaceRatio == 1 && replaced != tt.opts.Resources-2 {
				t.Fatalf("ratio 1 gave %d replacements of %d resources (all but the two root ones)", replaced, tt.opts.Resources)
			}
		})
	}
}

// changedAt reports whether before and after differ at path p, or after is
// unknown there.
func changedAt(c *tfjson.Change, p []any) bool {
	if u, ok := at(c.AfterUnknown, p); ok && u == true {
		return true
	}
	b, _ := at(c.Before, p)
	a, _ := at(c.After, p)
	return !reflect.DeepEqual(a, b)
}

func at(v any, p []any) (any, bool) {
	for _, step := range p {
		switch s := step.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil, false
			}
			v, ok = m[s]
			if !ok {
				return nil, false
			}
		case float64:
			l, ok := v.([]any)
			if !ok || int(s) >= len(l) {
				return nil, false
			}
			v = l[int(s)]
		}
	}
	return v, true
}

func TestWriteCoversTheCasesTheAnalyzerMustHandle(t *testing.T) {
	data, _ := generate(t, plangen.Options{Resources: 3000, ReplaceRatio: 0.2, Seed: 9})
	text := string(data)
	for _, want := range []string{
		`"actions":["create","delete"]`,
		`"action_reason":"replace_because_tainted"`,
		`"action_reason":"replace_by_triggers"`,
		`"action_reason":"replace_by_request"`,
		`"replace_paths":[["labels",0,"value"],["env"]]`,
		`"replace_paths":[["log_opts","tag.owner"]]`,
		`"previous_address":`,
		`"tainted":true`,
		`module.ws[\"o\\\"reilly-`,
		`module.ws[\"team `,
		`module.ws[\"tmpl-$${`,
		`\u003c`,
		`"env":true`,
		`"image":true`,
		`"agent_id":true`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("generated plan lacks %s", want)
		}
	}
}

func TestResourcesForSize(t *testing.T) {
	opts := plangen.Options{ReplaceRatio: 0.1, Seed: 1}
	const target = 5e6
	n, err := plangen.ResourcesForSize(target, opts)
	if err != nil {
		t.Fatal(err)
	}
	opts.Resources = n
	st, err := plangen.Write(io.Discard, opts)
	if err != nil {
		t.Fatal(err)
	}
	if d := float64(st.Bytes)/target - 1; d > 0.05 || d < -0.05 {
		t.Fatalf("asked for %d bytes, got %d (%d resources)", int64(target), st.Bytes, n)
	}
}

func TestWriteRejectsBadOptions(t *testing.T) {
	tests := []struct {
		name string
		opts plangen.Options
	}{
		{"no_resources", plangen.Options{Resources: 0}},
		{"negative_ratio", plangen.Options{Resources: 10, ReplaceRatio: -0.1}},
		{"ratio_above_one", plangen.Options{Resources: 10, ReplaceRatio: 1.5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := plangen.Write(io.Discard, tt.opts); !errors.Is(err, plangen.ErrOptions) {
				t.Fatalf("err = %v, want ErrOptions", err)
			}
		})
	}
}
