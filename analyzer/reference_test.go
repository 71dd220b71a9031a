package analyzer_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	tfjson "github.com/hashicorp/terraform-json"

	"github.com/claimdrift/claimdrift/analyzer"
	"github.com/claimdrift/claimdrift/analyzer/plangen"
)

// This file holds a reference implementation of the report, written the
// straightforward way: decode the whole plan into terraform-json's Plan,
// walk its changes, render values from the decoded trees. It shares no code
// with the streaming parser; the tests below check that Analyze gives the
// same Report on every fixture and on generated plans.

// referenceReport builds the Report that Analyze must return for the plan
// document data.
func referenceReport(t testing.TB, data []byte, opts analyzer.Options) *analyzer.Report {
	t.Helper()
	var plan tfjson.Plan
	plan.UseJSONNumber(true)
	if err := json.Unmarshal(data, &plan); err != nil {
		t.Fatalf("reference: decode plan: %v", err)
	}
	var extra struct {
		Errored  bool  `json:"errored"`
		Complete *bool `json:"complete"`
	}
	if err := json.Unmarshal(data, &extra); err != nil {
		t.Fatalf("reference: decode plan: %v", err)
	}
	maxLen := opts.MaxValueLen
	if maxLen == 0 {
		maxLen = analyzer.DefaultMaxValueLen
	}
	rep := &analyzer.Report{
		Schema:            analyzer.Schema,
		TerraformVersion:  plan.TerraformVersion,
		PlanFormatVersion: plan.FormatVersion,
		Input:             analyzer.InputPlanJSON,
		Errored:           extra.Errored,
		Incomplete:        extra.Complete != nil && !*extra.Complete,
		Replacements:      []analyzer.Replacement{},
		Drift:             []analyzer.Drift{},
	}
	for _, rc := range plan.ResourceChanges {
		if rc.Change == nil {
			t.Fatalf("reference: %s has no change", rc.Address)
		}
		refCount(&rep.Summary, rc.Change.Actions)
		if !rc.Change.Actions.Replace() {
			continue
		}
		if refIgnored(opts.Ignore, rc.Type, rc.Address) {
			rep.Ignored++
			continue
		}
		rep.Replacements = append(rep.Replacements, refReplacement(t, rc, maxLen))
	}
	for _, rd := range plan.ResourceDrift {
		rep.Summary.Drifted++
		actions := []string{}
		if rd.Change != nil {
			for _, a := range rd.Change.Actions {
				actions = append(actions, string(a))
			}
		}
		var before, after any
		if rd.Change != nil {
			before, after = rd.Change.Before, rd.Change.After
		}
		rep.Drift = append(rep.Drift, analyzer.Drift{
			Resource: rd.Address,
			Actions:  actions,
			Paths:    refDiff(before, after),
		})
	}
	sort.SliceStable(rep.Replacements, func(i, j int) bool {
		a, b := rep.Replacements[i], rep.Replacements[j]
		if a.Resource != b.Resource {
			return a.Resource < b.Resource
		}
		return a.Deposed < b.Deposed
	})
	sort.SliceStable(rep.Drift, func(i, j int) bool { return rep.Drift[i].Resource < rep.Drift[j].Resource })
	return rep
}

// refCount adds one change's actions to the summary: a replacement once, as
// Replace; anything else action by action.
func refCount(s *analyzer.Summary, actions tfjson.Actions) {
	if actions.Replace() {
		s.Replace++
		return
	}
	for _, a := range actions {
		switch a {
		case tfjson.ActionCreate:
			s.Create++
		case tfjson.ActionUpdate:
			s.Update++
		case tfjson.ActionDelete:
			s.Delete++
		case tfjson.ActionRead:
			s.Read++
		case tfjson.ActionNoop:
			s.NoOp++
		case "forget":
			s.Forget++
		default:
			if s.Other == nil {
				s.Other = map[string]int{}
			}
			s.Other[string(a)]++
		}
	}
}

func refIgnored(globs []string, typ, address string) bool {
	for _, g := range globs {
		if analyzer.MatchGlob(g, typ) || analyzer.MatchGlob(g, address) {
			return true
		}
	}
	return false
}

func refReplacement(t testing.TB, rc *tfjson.ResourceChange, maxLen int) analyzer.Replacement {
	t.Helper()
	r := analyzer.Replacement{
		Resource: rc.Address,
		Deposed:  rc.DeposedKey,
		Module:   rc.ModuleAddress,
		Type:     rc.Type,
		Name:     rc.Name,
		Provider: rc.ProviderName,
		Reason:   string(rc.ActionReason),
		Order:    analyzer.OrderDestroyBeforeCreate,
		Paths:    []string{},
		Changes:  []analyzer.Change{},
	}
	if rc.Change.Actions.CreateBeforeDestroy() {
		r.Order = analyzer.OrderCreateBeforeDestroy
	}
	if rc.PreviousAddress != "" && rc.PreviousAddress != rc.Address {
		r.PreviousResource = rc.PreviousAddress
	}
	byText := map[string]analyzer.Path{}
	for _, raw := range rc.Change.ReplacePaths {
		steps, ok := raw.([]any)
		if !ok {
			t.Fatalf("reference: %s: replace path %v is not a list", rc.Address, raw)
		}
		var p analyzer.Path
		for _, s := range steps {
			switch v := s.(type) {
			case string:
				p = append(p, v)
			case json.Number:
				n, err := strconv.Atoi(v.String())
				if err != nil {
					t.Fatalf("reference: %s: path step %v: %v", rc.Address, v, err)
				}
				p = append(p, n)
			default:
				t.Fatalf("reference: %s: path step %v of type %T", rc.Address, s, s)
			}
		}
		if len(p) > 0 {
			byText[p.String()] = p
		}
	}
	for text := range byText {
		r.Paths = append(r.Paths, text)
	}
	sort.Strings(r.Paths)
	for _, text := range r.Paths {
		p := byText[text]
		c := analyzer.Change{Path: text, Steps: p}
		if refMarked(rc.Change.BeforeSensitive, p) {
			c.Before, c.BeforeSensitive = analyzer.SensitiveValue, true
		} else {
			c.Before = refRender(rc.Change.Before, p, maxLen)
		}
		switch {
		case refMarked(rc.Change.AfterSensitive, p):
			c.After, c.AfterSensitive = analyzer.SensitiveValue, true
		case refMarked(rc.Change.AfterUnknown, p):
			c.After, c.AfterUnknown = analyzer.UnknownValue, true
		default:
			c.After = refRender(rc.Change.After, p, maxLen)
		}
		r.Changes = append(r.Changes, c)
	}
	return r
}

// refAt returns the decoded value at p.
func refAt(v any, p analyzer.Path) (any, bool) {
	for _, step := range p {
		switch s := step.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil, false
			}
			if v, ok = m[s]; !ok {
				return nil, false
			}
		case int:
			l, ok := v.([]any)
			if !ok || s < 0 || s >= len(l) {
				return nil, false
			}
			v = l[s]
		}
	}
	return v, true
}

// refMarked reports whether a marker tree (true where sensitive or unknown)
// marks the value at p or any part of it: true at p, above p, or anywhere
// below p.
func refMarked(marks any, p analyzer.Path) bool {
	cur := marks
	for i := 0; ; i++ {
		if b, ok := cur.(bool); ok && b {
			return true
		}
		if i == len(p) {
			return refAnyTrue(cur)
		}
		next, ok := refAt(cur, p[i:i+1])
		if !ok {
			return false
		}
		cur = next
	}
}

func refAnyTrue(v any) bool {
	switch t := v.(type) {
	case bool:
		return t
	case map[string]any:
		for _, e := range t {
			if refAnyTrue(e) {
				return true
			}
		}
	case []any:
		for _, e := range t {
			if refAnyTrue(e) {
				return true
			}
		}
	}
	return false
}

// refRender renders the value at p: a string as it is, anything else as
// compact JSON, "null" when absent, shortened past maxLen characters.
func refRender(v any, p analyzer.Path, maxLen int) string {
	x, ok := refAt(v, p)
	if !ok {
		return "null"
	}
	var s string
	if str, isStr := x.(string); isStr {
		s = str
	} else {
		b, err := json.Marshal(x)
		if err != nil {
			return "(invalid value)"
		}
		s = string(b)
	}
	if maxLen > 0 && utf8.RuneCountInString(s) > maxLen {
		r := []rune(s)
		s = string(r[:maxLen-1]) + "…"
	}
	return s
}

// refDiff lists the rendered paths at which two values differ: objects key
// by key, lists of equal length element by element, anything else whole.
func refDiff(before, after any) []string {
	out := []string{}
	var walk func(p analyzer.Path, x, y any)
	walk = func(p analyzer.Path, x, y any) {
		if xm, ok := x.(map[string]any); ok {
			if ym, ok := y.(map[string]any); ok {
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
		}
		if xl, ok := x.([]any); ok {
			if yl, ok := y.([]any); ok && len(xl) == len(yl) {
				for i := range xl {
					walk(append(p[:len(p):len(p)], i), xl[i], yl[i])
				}
				return
			}
		}
		if len(p) > 0 && !reflect.DeepEqual(x, y) {
			out = append(out, p.String())
		}
	}
	walk(nil, before, after)
	sort.Strings(out)
	return out
}

// compareReports fails t with a readable account of how got differs from
// want. Values of changes are printed only when neither side is masked.
func compareReports(t *testing.T, got, want *analyzer.Report) {
	t.Helper()
	got, want = withoutAttribution(got), withoutAttribution(want)
	if reflect.DeepEqual(got, want) {
		return
	}
	g, w := *got, *want
	g.Replacements, w.Replacements, g.Drift, w.Drift = nil, nil, nil, nil
	if !reflect.DeepEqual(g, w) {
		t.Errorf("report header/summary:\n got  %+v\n want %+v", g, w)
	}
	if len(got.Replacements) != len(want.Replacements) {
		t.Errorf("replacements: got %d, want %d", len(got.Replacements), len(want.Replacements))
		gotSet := map[string]bool{}
		for _, r := range got.Replacements {
			gotSet[r.Resource] = true
		}
		n := 0
		for _, r := range want.Replacements {
			if !gotSet[r.Resource] && n < 10 {
				t.Errorf("  missing %s", r.Resource)
				n++
			}
		}
	} else {
		bad := 0
		for i := range want.Replacements {
			if d := diffReplacement(got.Replacements[i], want.Replacements[i]); d != "" {
				if bad < 10 {
					t.Errorf("replacement %d (%s): %s", i, want.Replacements[i].Resource, d)
				}
				bad++
			}
		}
		if bad > 10 {
			t.Errorf("... %d replacements differ in all", bad)
		}
	}
	if !reflect.DeepEqual(got.Drift, want.Drift) {
		if len(got.Drift) != len(want.Drift) {
			t.Errorf("drift: got %d entries, want %d", len(got.Drift), len(want.Drift))
		} else {
			for i := range want.Drift {
				if !reflect.DeepEqual(got.Drift[i], want.Drift[i]) {
					t.Errorf("drift %d:\n got  %+v\n want %+v", i, got.Drift[i], want.Drift[i])
					break
				}
			}
		}
	}
}

// withoutAttribution returns a copy of r without what cause attribution
// adds from the configuration section (references, claim sensitivity,
// changed keys, fix, risk, presets), which the reference does not compute:
// the comparison checks the streaming parse itself.
func withoutAttribution(r *analyzer.Report) *analyzer.Report {
	c := *r
	c.Presets, c.Warnings = nil, nil
	c.Replacements = make([]analyzer.Replacement, len(r.Replacements))
	for i, rep := range r.Replacements {
		rep.ClaimSensitive, rep.Risk, rep.Fix = false, "", ""
		changes := make([]analyzer.Change, len(rep.Changes))
		for j, ch := range rep.Changes {
			ch.References, ch.ClaimSensitive, ch.ChangedKeys, ch.ReplacedReferences = nil, false, nil, nil
			changes[j] = ch
		}
		rep.Changes = changes
		c.Replacements[i] = rep
	}
	return &c
}

func diffReplacement(got, want analyzer.Replacement) string {
	if reflect.DeepEqual(got, want) {
		return ""
	}
	var b strings.Builder
	gh, wh := got, want
	gh.Changes, wh.Changes = nil, nil
	if !reflect.DeepEqual(gh, wh) {
		fmt.Fprintf(&b, "\n got  %+v\n want %+v", gh, wh)
	}
	if len(got.Changes) != len(want.Changes) {
		fmt.Fprintf(&b, "\n changes: got %d, want %d", len(got.Changes), len(want.Changes))
		return b.String()
	}
	for i := range want.Changes {
		gc, wc := got.Changes[i], want.Changes[i]
		if reflect.DeepEqual(gc, wc) {
			continue
		}
		masked := wc.BeforeSensitive || wc.AfterSensitive || gc.BeforeSensitive || gc.AfterSensitive
		if masked {
			fmt.Fprintf(&b, "\n change %s differs (values not shown: one side is sensitive); flags got %v/%v/%v want %v/%v/%v",
				wc.Path, gc.BeforeSensitive, gc.AfterSensitive, gc.AfterUnknown, wc.BeforeSensitive, wc.AfterSensitive, wc.AfterUnknown)
			continue
		}
		fmt.Fprintf(&b, "\n change %d:\n  got  %+v\n  want %+v", i, gc, wc)
	}
	return b.String()
}

// TestAnalyzeMatchesReferenceOnFixtures runs Analyze and the reference on
// every plan document in testdata/plans.
func TestAnalyzeMatchesReferenceOnFixtures(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "testdata", "plans", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no plan documents in testdata/plans (run `make fixtures`)")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			for _, opts := range []analyzer.Options{{}, {MaxValueLen: 12}} {
				got, err := analyzer.Analyze(bytes.NewReader(data), opts)
				if err != nil {
					t.Fatalf("Analyze: %v", err)
				}
				compareReports(t, got, referenceReport(t, data, opts))
			}
		})
	}
}

// TestAnalyzeMatchesReferenceOnGeneratedPlans compares Analyze with the
// reference on generated plans of several sizes, seeds and replace ratios.
func TestAnalyzeMatchesReferenceOnGeneratedPlans(t *testing.T) {
	cases := []struct {
		name string
		gen  plangen.Options
		opts analyzer.Options
	}{
		{"tiny", plangen.Options{Resources: 3, ReplaceRatio: 1, Seed: 1}, analyzer.Options{}},
		{"small_seed1", plangen.Options{Resources: 60, ReplaceRatio: 0.1, Seed: 1}, analyzer.Options{}},
		{"small_seed2", plangen.Options{Resources: 300, ReplaceRatio: 0.3, Seed: 2}, analyzer.Options{}},
		{"all_replaced", plangen.Options{Resources: 500, ReplaceRatio: 1, Seed: 3}, analyzer.Options{}},
		{"none_replaced", plangen.Options{Resources: 500, ReplaceRatio: 0, Seed: 4}, analyzer.Options{}},
		{"short_values", plangen.Options{Resources: 400, ReplaceRatio: 0.5, Seed: 5}, analyzer.Options{MaxValueLen: 10}},
		{"whole_values", plangen.Options{Resources: 400, ReplaceRatio: 0.5, Seed: 6}, analyzer.Options{MaxValueLen: -1}},
		{"ignore", plangen.Options{Resources: 400, ReplaceRatio: 0.5, Seed: 7}, analyzer.Options{Ignore: []string{"docker_image", `module.ws["team *`}}},
		{"medium", plangen.Options{Resources: 4000, ReplaceRatio: 0.1, Seed: 8}, analyzer.Options{}},
	}
	if !testing.Short() {
		cases = append(cases, struct {
			name string
			gen  plangen.Options
			opts analyzer.Options
		}{"20MB", plangen.Options{Resources: 4000, ReplaceRatio: 0.1, Seed: 9}, analyzer.Options{}})
		cases[len(cases)-1].gen.Resources = mustResourcesForSize(t, 20e6, cases[len(cases)-1].gen)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			st, err := plangen.Write(&buf, tc.gen)
			if err != nil {
				t.Fatal(err)
			}
			want := referenceReport(t, buf.Bytes(), tc.opts)
			if want.Summary.Replace != st.Replacements {
				t.Fatalf("reference found %d replacements, the generator wrote %d", want.Summary.Replace, st.Replacements)
			}
			if tc.gen.ReplaceRatio > 0 && tc.gen.Resources > 50 && len(want.Replacements) == 0 {
				t.Fatal("generated plan has no replacement to compare")
			}
			got, err := analyzer.Analyze(bytes.NewReader(buf.Bytes()), tc.opts)
			if err != nil {
				t.Fatalf("Analyze: %v", err)
			}
			compareReports(t, got, want)
		})
	}
}

func mustResourcesForSize(t testing.TB, size int64, opts plangen.Options) int {
	t.Helper()
	n, err := plangen.ResourcesForSize(size, opts)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
