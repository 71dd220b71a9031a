package analyzer

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// planDoc wraps resource_changes JSON in a minimal plan document.
func planDoc(changes string) string {
	return `{"format_version":"1.2","terraform_version":"1.5.7","planned_values":{},"resource_changes":[` + changes + `],"configuration":{}}`
}

func analyzeString(t *testing.T, in string, opts Options) *Report {
	t.Helper()
	rep, err := Analyze(strings.NewReader(in), opts)
	if err != nil {
		t.Fatalf("Analyze: %v", err)
	}
	return rep
}

func TestAnalyzeReplacements(t *testing.T) {
	in := planDoc(`
	{"address":"docker_container.main[0]","module_address":"","mode":"managed","type":"docker_container","name":"main","index":0,
	 "provider_name":"registry.terraform.io/kreuzwerker/docker",
	 "change":{"actions":["delete","create"],
	   "before":{"name":"ws-prebuilds-1","env":["A=1","OWNER=prebuilds"],"metadata":[{"name":"old","labels":{"app.kubernetes.io/name":"x"}}],"secret":"hunter2","nested":{"k":"v","pw":"p"}},
	   "after":{"name":"ws-alice-1","env":["A=1","OWNER=alice"],"metadata":[{"name":"new","labels":{"app.kubernetes.io/name":"y"}}],"secret":"hunter3","nested":{"k":"v","pw":"q"}},
	   "after_unknown":{"id":true},
	   "before_sensitive":{"secret":true,"nested":{"pw":true}},
	   "after_sensitive":{"secret":true,"nested":{"pw":true}},
	   "replace_paths":[["name"],["metadata",0,"name"],["env"],["metadata",0,"labels","app.kubernetes.io/name"],["secret"],["nested"],["name"]]},
	 "action_reason":"replace_because_cannot_update"},
	{"address":"terraform_data.tainted","type":"terraform_data","name":"tainted","provider_name":"terraform.io/builtin/terraform",
	 "change":{"actions":["create","delete"],"before":{},"after":{}},"action_reason":"replace_because_tainted"},
	{"address":"terraform_data.new","type":"terraform_data","change":{"actions":["create"]}},
	{"address":"terraform_data.same","type":"terraform_data","change":{"actions":["no-op"]}},
	{"address":"terraform_data.gone","type":"terraform_data","change":{"actions":["forget"]}},
	{"address":"terraform_data.cf","type":"terraform_data","change":{"actions":["create","forget"]}},
	{"address":"terraform_data.future","type":"terraform_data","change":{"actions":["teleport"]},"action_reason":"some_new_reason"}
	`)
	for _, tc := range []struct {
		name string
		r    func(string) io.Reader
	}{
		{"whole", func(s string) io.Reader { return strings.NewReader(s) }},
		{"one byte at a time", func(s string) io.Reader { return iotest.OneByteReader(strings.NewReader(s)) }},
		{"half reads", func(s string) io.Reader { return iotest.HalfReader(strings.NewReader(s)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := Analyze(tc.r(in), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Replacements) != 2 {
				t.Fatalf("got %d replacements, want 2: %+v", len(rep.Replacements), rep.Replacements)
			}
			dc := rep.Replacements[0]
			if dc.Resource != "docker_container.main[0]" || dc.Order != OrderDestroyBeforeCreate || dc.Reason != "replace_because_cannot_update" {
				t.Errorf("unexpected replacement header: %+v", dc)
			}
			wantPaths := []string{"env", `metadata[0].labels["app.kubernetes.io/name"]`, "metadata[0].name", "name", "nested", "secret"}
			if strings.Join(dc.Paths, "|") != strings.Join(wantPaths, "|") {
				t.Errorf("paths = %q, want %q (sorted, deduplicated)", dc.Paths, wantPaths)
			}
			byPath := map[string]Change{}
			for _, c := range dc.Changes {
				byPath[c.Path] = c
			}
			checks := map[string][2]string{
				"name":             {"ws-prebuilds-1", "ws-alice-1"},
				"metadata[0].name": {"old", "new"},
				"env":              {`["A=1","OWNER=prebuilds"]`, `["A=1","OWNER=alice"]`},
				`metadata[0].labels["app.kubernetes.io/name"]`: {"x", "y"},
				"secret": {SensitiveValue, SensitiveValue},
				"nested": {SensitiveValue, SensitiveValue}, // contains a sensitive part
			}
			for p, want := range checks {
				got := byPath[p]
				if got.Before != want[0] || got.After != want[1] {
					t.Errorf("%s: %q → %q, want %q → %q", p, got.Before, got.After, want[0], want[1])
				}
			}
			tainted := rep.Replacements[1]
			if tainted.Order != OrderCreateBeforeDestroy || tainted.Reason != "replace_because_tainted" || tainted.Paths == nil || len(tainted.Paths) != 0 {
				t.Errorf("tainted replacement: %+v (want create_before_destroy, empty non-nil paths)", tainted)
			}
			s := rep.Summary
			if s.Replace != 2 || s.Create != 2 || s.NoOp != 1 || s.Forget != 2 || s.Other["teleport"] != 1 {
				t.Errorf("summary = %+v", s)
			}
		})
	}
}

func TestAnalyzeNeverPrintsSensitiveValues(t *testing.T) {
	in := planDoc(`{"address":"x.y","type":"x","change":{"actions":["delete","create"],
	  "before":{"a":{"b":[{"c":"TOPSECRET-1"}]},"whole":"TOPSECRET-2"},
	  "after":{"a":{"b":[{"c":"TOPSECRET-3"}]},"whole":"TOPSECRET-4"},
	  "before_sensitive":{"a":{"b":[{"c":true}]},"whole":true},
	  "after_sensitive":true,
	  "replace_paths":[["a"],["a","b",0,"c"],["a","b"],["whole"]]}}`)
	rep := analyzeString(t, in, Options{})
	for _, c := range rep.Replacements[0].Changes {
		if strings.Contains(c.Before+c.After, "TOPSECRET") {
			t.Errorf("%s leaks a sensitive value: %q → %q", c.Path, c.Before, c.After)
		}
		if c.Before != SensitiveValue || c.After != SensitiveValue {
			t.Errorf("%s: %q → %q, want both masked", c.Path, c.Before, c.After)
		}
	}
}

func TestAnalyzeUnknownAndShortened(t *testing.T) {
	long := strings.Repeat("x", 50)
	in := planDoc(`{"address":"x.y","type":"x","change":{"actions":["delete","create"],
	  "before":{"id":"old","big":"` + long + `"},"after":{"big":"` + long + `y"},"after_unknown":{"id":true},
	  "replace_paths":[["id"],["big"],["missing"]]}}`)
	rep := analyzeString(t, in, Options{MaxValueLen: 10})
	byPath := map[string]Change{}
	for _, c := range rep.Replacements[0].Changes {
		byPath[c.Path] = c
	}
	if c := byPath["id"]; c.Before != "old" || c.After != UnknownValue || !c.AfterUnknown {
		t.Errorf("id: %+v", c)
	}
	if c := byPath["big"]; c.Before != strings.Repeat("x", 9)+"…" {
		t.Errorf("big not shortened: %q", c.Before)
	}
	if c := byPath["missing"]; c.Before != "null" || c.After != "null" {
		t.Errorf("missing: %+v", c)
	}
}

func TestAnalyzeIgnore(t *testing.T) {
	in := planDoc(`{"address":"coder_agent.main","type":"coder_agent","change":{"actions":["delete","create"]}},
	{"address":"module.m[\"a.b\"].docker_volume.home","type":"docker_volume","change":{"actions":["delete","create"]}},
	{"address":"docker_container.c","type":"docker_container","change":{"actions":["delete","create"]}}`)
	rep := analyzeString(t, in, Options{Ignore: []string{"coder_*", `module.m["a.b"].*`}})
	if len(rep.Replacements) != 1 || rep.Replacements[0].Resource != "docker_container.c" || rep.Ignored != 2 || rep.Summary.Replace != 3 {
		t.Errorf("got %+v ignored=%d summary=%+v", rep.Replacements, rep.Ignored, rep.Summary)
	}
}

func TestAnalyzeDrift(t *testing.T) {
	in := `{"format_version":"1.2","planned_values":{},"resource_drift":[
	  {"address":"terraform_data.d","type":"terraform_data","change":{"actions":["update"],
	    "before":{"input":"a","tags":{"x":"1","y":"2"},"list":[1,2]},"after":{"input":"b","tags":{"x":"1","y":"3","z":"4"},"list":[1,2,3]}}}],
	  "resource_changes":[]}`
	rep := analyzeString(t, in, Options{})
	if len(rep.Drift) != 1 || rep.Summary.Drifted != 1 {
		t.Fatalf("drift = %+v", rep.Drift)
	}
	want := "input,list,tags.y,tags.z"
	if got := strings.Join(rep.Drift[0].Paths, ","); got != want {
		t.Errorf("drift paths = %s, want %s", got, want)
	}
}

func TestAnalyzeErroredAndIncomplete(t *testing.T) {
	in := `{"format_version":"1.2","planned_values":{},"resource_changes":[],
	  "deferred_changes":[{"reason":"provider_config_unknown","resource_change":{"address":"a.b","change":{"actions":["delete","create"]}}}],
	  "errored":true,"complete":false}`
	rep := analyzeString(t, in, Options{})
	if !rep.Errored || !rep.Incomplete || rep.Summary.Deferred != 1 || len(rep.Replacements) != 0 {
		t.Errorf("errored=%v incomplete=%v deferred=%d replacements=%d", rep.Errored, rep.Incomplete, rep.Summary.Deferred, len(rep.Replacements))
	}
}

func TestAnalyzeWrapperLines(t *testing.T) {
	doc := planDoc(`{"address":"a.b","type":"a","change":{"actions":["delete","create"]}}`)
	in := "[command]/home/runner/work/_temp/terraform-bin show -json tfplan\n" + doc +
		"\n::debug::Terraform exited with code 0.\n::debug::stdout: {}\n::set-output name=exitcode::0\n"
	rep := analyzeString(t, in, Options{})
	if len(rep.Replacements) != 1 {
		t.Errorf("got %d replacements", len(rep.Replacements))
	}
}

func TestAnalyzeStream(t *testing.T) {
	in := `{"@level":"info","@message":"Terraform 1.5.7","@module":"terraform.ui","terraform":"1.5.7","type":"version","ui":"1.1"}
{"@level":"info","@message":"x: Plan to replace","type":"planned_change","change":{"resource":{"addr":"module.m[\"k\"].terraform_data.a","module":"module.m[\"k\"]","resource":"terraform_data.a","implied_provider":"terraform","resource_type":"terraform_data","resource_name":"a","resource_key":null},"action":"replace","reason":"cannot_update"}}
{"@level":"info","type":"planned_change","change":{"resource":{"addr":"terraform_data.b","resource_type":"terraform_data"},"action":"replace","reason":"replace_triggered_by"}}
{"@level":"info","type":"planned_change","change":{"resource":{"addr":"terraform_data.c","resource_type":"terraform_data"},"action":"replace","reason":"requested"}}
{"@level":"info","type":"planned_change","change":{"resource":{"addr":"terraform_data.d","resource_type":"terraform_data"},"action":"replace","reason":"tainted"}}
{"@level":"info","type":"planned_change","change":{"resource":{"addr":"terraform_data.e","resource_type":"terraform_data"},"action":"replace","reason":"brand_new_reason"}}
{"@level":"info","type":"planned_change","change":{"resource":{"addr":"terraform_data.f","resource_type":"terraform_data"},"action":"create"}}
{"@level":"info","type":"resource_drift","change":{"resource":{"addr":"terraform_data.g","resource_type":"terraform_data"},"action":"update"}}
{"@level":"error","@message":"Error: boom","type":"diagnostic","diagnostic":{"severity":"error","summary":"boom"}}
{"@level":"info","type":"change_summary","changes":{"add":1,"change":0,"remove":0,"operation":"plan"}}
`
	rep := analyzeString(t, in, Options{})
	if rep.Input != InputPlanStream || rep.TerraformVersion != "1.5.7" {
		t.Errorf("input=%s version=%s", rep.Input, rep.TerraformVersion)
	}
	want := map[string]string{
		`module.m["k"].terraform_data.a`: "replace_because_cannot_update",
		"terraform_data.b":               "replace_by_triggers",
		"terraform_data.c":               "replace_by_request",
		"terraform_data.d":               "replace_because_tainted",
		"terraform_data.e":               "brand_new_reason",
	}
	if len(rep.Replacements) != len(want) {
		t.Fatalf("got %d replacements", len(rep.Replacements))
	}
	for _, r := range rep.Replacements {
		if want[r.Resource] != r.Reason || r.Paths == nil || len(r.Paths) != 0 {
			t.Errorf("%s: reason %q paths %v", r.Resource, r.Reason, r.Paths)
		}
	}
	if !rep.Errored || len(rep.Diagnostics) != 1 || rep.Summary.Create != 1 || rep.Summary.Drifted != 1 {
		t.Errorf("errored=%v diags=%v summary=%+v", rep.Errored, rep.Diagnostics, rep.Summary)
	}
}

func TestAnalyzeLongLine(t *testing.T) {
	// A single value far larger than the scanner's buffer (and than
	// bufio.Scanner's default token limit).
	big := strings.Repeat("a", 5<<20)
	in := planDoc(`{"address":"x.y","type":"x","change":{"actions":["delete","create"],"before":{"v":"` + big + `"},"after":{"v":"b"},"replace_paths":[["v"]]}}`)
	rep := analyzeString(t, in, Options{})
	if got := rep.Replacements[0].Changes[0].Before; len(got) > DefaultMaxValueLen+3 || !strings.HasPrefix(got, "aaa") {
		t.Errorf("before has %d bytes", len(got))
	}
}

func TestAnalyzeBadInput(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr error
		wantMsg string
	}{
		{"empty", "", ErrEmpty, "empty input"},
		{"whitespace", " \n\t ", ErrEmpty, "empty input"},
		{"not JSON", "hello world", ErrNotJSON, "invalid character 'h' at line 1, column 1"},
		{"human plan output", "Terraform used the selected providers to generate the following execution plan.", ErrNotJSON, "human-readable output"},
		{"truncated", `{"format_version":"1.2","resource_changes":[{"address":"a","change":{"actions":["delete"`, ErrNotJSON, "truncated"},
		{"truncated names the element", `{"format_version":"1.2","resource_changes":[{"address":"a","change":{"actions":[]}},{"address":"b",`, ErrNotJSON, "resource_changes[1]"},
		{"truncated top level", `{"format_version":"1.2"`, ErrNotJSON, "not closed"},
		{"array", `[{"format_version":"1.2"}]`, ErrNotPlan, "JSON array"},
		{"empty object", `{}`, ErrNotPlan, "empty JSON object"},
		{"state document", `{"format_version":"1.0","terraform_version":"1.5.7","values":{"root_module":{}}}`, ErrStateDocument, "state document"},
		{"unsupported format", `{"format_version":"2.0","planned_values":{}}`, ErrUnsupportedFormat, `"2.0"`},
		{"garbage format", `{"format_version":"abc","planned_values":{}}`, ErrUnsupportedFormat, "not a version"},
		{"format wrong type", `{"format_version":1.2,"planned_values":{}}`, ErrInvalid, "expected a string, got a number"},
		{"no format version", `{"planned_values":{}}`, ErrNotPlan, "format_version"},
		{"resource_changes not array", `{"format_version":"1.2","resource_changes":{}}`, ErrInvalid, "expected an array"},
		{"element not object", `{"format_version":"1.2","resource_changes":[42]}`, ErrInvalid, "expected an object"},
		{"actions wrong type", planDoc(`{"address":"a","change":{"actions":"delete"}}`), ErrInvalid, "change.actions: expected an array"},
		{"actions element wrong type", planDoc(`{"address":"a","change":{"actions":[1]}}`), ErrInvalid, "change.actions"},
		{"no actions", planDoc(`{"address":"a","change":{}}`), ErrInvalid, "no actions"},
		{"no change", planDoc(`{"address":"a"}`), ErrInvalid, "no change object"},
		{"address wrong type", planDoc(`{"address":5,"change":{"actions":["delete","create"]}}`), ErrInvalid, "address: expected a string"},
		{"replace path step float", planDoc(`{"address":"a","change":{"actions":["delete","create"],"replace_paths":[[1.5]]}}`), ErrInvalid, "replace_paths"},
		{"replace paths not nested", planDoc(`{"address":"a","change":{"actions":["delete","create"],"replace_paths":["name"]}}`), ErrInvalid, "replace_paths"},
		{"mismatched brackets", `{"format_version":"1.2","planned_values":{"a":[1,2}}`, ErrNotJSON, "mismatched"},
		{"trailing garbage", `{"format_version":"1.2","planned_values":{}} trailing`, ErrNotJSON, "after the end"},
		{"binary plan", "PK\x03\x04rest-of-zip", ErrBinaryPlan, "binary plan"},
		{"random bytes", "\x00\x01\x02\xff\xfe", ErrNotJSON, "invalid character"},
		{"deep nesting", `{"format_version":"1.2","planned_values":` + strings.Repeat("[", maxDepth+10) + strings.Repeat("]", maxDepth+10) + `}`, ErrNotJSON, "nesting too deep"},
		{"stream then garbage", `{"@level":"info","type":"version"}` + "\nnot json\n", ErrNotJSON, "expected a JSON message"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Analyze(strings.NewReader(tt.in), Options{})
			if err == nil {
				t.Fatal("want an error")
			}
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("error %q does not wrap %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not mention %q", err, tt.wantMsg)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}

func TestSyntaxErrorPosition(t *testing.T) {
	in := "{\n  \"format_version\": \"1.2\",\n  \"resource_changes\": [\n    {\"address\": 7, \"change\": {\"actions\": []}}\n  ]\n}"
	_, err := Analyze(strings.NewReader(in), Options{})
	var se *SyntaxError
	if !errors.As(err, &se) {
		t.Fatalf("want *SyntaxError, got %T %v", err, err)
	}
	if se.Line != 4 || se.Column != 17 {
		t.Errorf("position line %d column %d, want 4:17 (%v)", se.Line, se.Column, err)
	}
}

// TestAnalyzeSmallReadsOfALargeElement reads a 1 MB resource change one
// byte at a time, as a slow pipe may deliver it: the scanner must not copy
// the captured element on every read (that was quadratic).
func TestAnalyzeSmallReadsOfALargeElement(t *testing.T) {
	big := strings.Repeat("x", 1<<20)
	in := planDoc(`{"address":"x.y","type":"x","change":{"actions":["delete","create"],"before":{"v":"` + big + `"},"after":{"v":"b"},"replace_paths":[["v"]]}}`)
	rep, err := Analyze(iotest.OneByteReader(strings.NewReader(in)), Options{MaxValueLen: 8})
	if err != nil {
		t.Fatal(err)
	}
	if got := rep.Replacements[0].Changes[0].Before; got != "xxxxxxx…" {
		t.Errorf("before = %q", got)
	}
}

func TestAnalyzeOpenTofuStream(t *testing.T) {
	in := `{"@level":"info","@message":"OpenTofu 1.8.3","@module":"tofu.ui","tofu":"1.8.3","type":"version","ui":"1.2"}
{"@level":"info","@module":"tofu.ui","type":"planned_change","change":{"resource":{"addr":"terraform_data.old","resource_type":"terraform_data"},"action":"forget"}}
{"@level":"info","@module":"tofu.ui","type":"planned_change","change":{"resource":{"addr":"terraform_data.off","resource_type":"terraform_data"},"action":"delete","reason":"delete_because_enabled_false"}}
{"@level":"info","@module":"tofu.ui","type":"planned_change","change":{"resource":{"addr":"terraform_data.r","resource_type":"terraform_data"},"action":"replace","reason":"cannot_update"}}
`
	rep := analyzeString(t, in, Options{})
	if rep.TerraformVersion != "1.8.3" || rep.Summary.Forget != 1 || rep.Summary.Delete != 1 || len(rep.Replacements) != 1 {
		t.Errorf("version %q summary %+v replacements %d", rep.TerraformVersion, rep.Summary, len(rep.Replacements))
	}
}

// TestHugeElementNotReplacedIsNotKept checks that a resource change that is
// not a replacement is skipped without being held: the scanner's buffer
// stays at its initial size even though the element is 32 MB.
func TestHugeElementNotReplacedIsNotKept(t *testing.T) {
	big := strings.Repeat("y", 32<<20)
	in := planDoc(`{"address":"local_file.big","type":"local_file","change":{"actions":["update"],"before":{"content":"` + big + `"},"after":{"content":"` + big + `z"}}},
	{"address":"x.y","type":"x","change":{"actions":["delete","create"],"before":{"v":"a"},"after":{"v":"b"},"replace_paths":[["v"]]}}`)
	s := newScanner(strings.NewReader(in))
	a := newAssembler(Options{})
	if _, ok := s.skipSpace(); !ok {
		t.Fatal("empty")
	}
	if err := parseDocument(s, a); err != nil {
		t.Fatal(err)
	}
	if len(s.buf) > 4*initialBuf {
		t.Errorf("buffer grew to %d bytes for a change that is not kept", len(s.buf))
	}
	rep := a.report()
	if rep.Summary.Update != 1 || len(rep.Replacements) != 1 || rep.Replacements[0].Changes[0].After != "b" {
		t.Errorf("summary %+v replacements %+v", rep.Summary, rep.Replacements)
	}
}

func TestHugeStateResourceIsNotKept(t *testing.T) {
	big := strings.Repeat("s", 32<<20)
	in := `{"format_version":"1.2","planned_values":{},"prior_state":{"values":{"root_module":{"resources":[
	  {"address":"local_file.big","mode":"managed","type":"local_file","values":{"content":"` + big + `"}},
	  {"address":"data.coder_workspace_preset.p","mode":"data","type":"coder_workspace_preset","values":{"name":"P","parameters":{},"prebuilds":[{"instances":2}]}}]}}}}`
	s := newScanner(strings.NewReader(in))
	a := newAssembler(Options{})
	s.skipSpace()
	if err := parseDocument(s, a); err != nil {
		t.Fatal(err)
	}
	if len(s.buf) > 4*initialBuf {
		t.Errorf("buffer grew to %d bytes for a state resource that is not kept", len(s.buf))
	}
	if rep := a.report(); len(rep.Presets) != 1 || rep.Presets[0].Instances != 2 {
		t.Errorf("presets %+v", rep.Presets)
	}
}
