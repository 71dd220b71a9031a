package lint

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
)

// TestDeepNestingIsAnError: hashicorp/hcl's parser recurses once per
// nesting level, so a file of deeply nested parentheses, brackets or
// template interpolations overflowed the goroutine stack, a fatal error no
// recover catches (found by hand: `claimdrift lint` died with "stack
// overflow"). Lint now refuses such a file with a located ParseError, and a
// file nested as deep as real templates go still parses.
func TestDeepNestingIsAnError(t *testing.T) {
	const n = 200000
	cases := map[string]string{
		"parentheses":    "locals {\n  x = " + strings.Repeat("(", n) + "1" + strings.Repeat(")", n) + "\n}\n",
		"brackets":       "locals {\n  x = " + strings.Repeat("[", n) + "1" + strings.Repeat("]", n) + "\n}\n",
		"templates":      "locals {\n  x = " + strings.Repeat(`"${`, n/4) + "1" + strings.Repeat(`}"`, n/4) + "\n}\n",
		"unclosed":       "locals {\n  x = " + strings.Repeat("{a = ", n) + "\n",
		"json templates": "",
	}
	cases["json templates"] = `{"locals": {"x": "` + strings.Repeat(`${`, n/4) + "1" + strings.Repeat(`}`, n/4) + `"}}`
	for name, src := range cases {
		t.Run(name, func(t *testing.T) {
			file := "main.tf"
			if strings.HasPrefix(name, "json") {
				file = "main.tf.json"
			}
			_, err := Lint(fstestFS(map[string]string{file: src}), Options{})
			var pe *ParseError
			if !errors.As(err, &pe) || !errors.Is(err, ErrSyntax) || pe.Line < 1 {
				t.Fatalf("got %v, want a ParseError", err)
			}
		})
	}
	t.Run("ordinary depth", func(t *testing.T) {
		src := "data \"coder_workspace_owner\" \"me\" {}\nresource \"docker_container\" \"c\" {\n  name = " +
			strings.Repeat("lower(", 40) + `"${data.coder_workspace_owner.me.name}"` + strings.Repeat(")", 40) + "\n}\n"
		res, err := Lint(fstestFS(map[string]string{"main.tf": src}), Options{})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Findings) != 1 {
			t.Fatalf("got %d findings, want the name", len(res.Findings))
		}
	})
}

// TestPartsKeepWhatChanges guards the parts-of-values lookups (part.go)
// against false negatives: whatever reads the claim-sensitive part through
// a function, a computed index, a computed key, a filter, a module called
// with count or the whole object is still reported, and only reads of
// static parts are not.
func TestPartsKeepWhatChanges(t *testing.T) {
	res, err := Lint(fstestFS(map[string]string{"main.tf": partsMain, "m/main.tf": partsModule}), Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, f := range res.Findings {
		got[f.Resource] = true
	}
	flagged := []string{"a", "b", "c", "d", "f", "g", "h", "i", "k", "l", "m", "n"}
	for _, name := range flagged {
		if !got["docker_container."+name] {
			t.Errorf("docker_container.%s: no finding, but it reads the owner's name", name)
		}
	}
	for _, name := range []string{"e", "j", "o"} {
		if got["docker_container."+name] {
			t.Errorf("docker_container.%s: a finding, but it reads a static part", name)
		}
	}
	if len(res.Findings) != len(flagged) {
		t.Errorf("got %d findings, want %d", len(res.Findings), len(flagged))
	}
}

const partsMain = `data "coder_workspace_owner" "me" {}
variable "key" { default = "user" }
locals {
  cfg   = { image = "u", user = data.coder_workspace_owner.me.name }
  ck    = { (data.coder_workspace_owner.me.name) = 1 }
  lst   = [data.coder_workspace_owner.me.name, "x"]
  filt  = { for k, v in { a = 1 } : k => v if data.coder_workspace_owner.me.name != "" }
}
resource "docker_container" "a" { name = lookup(local.cfg, "user") }
resource "docker_container" "b" { name = local.cfg[var.key] }
resource "docker_container" "c" { name = merge(local.cfg, {})["user"] }
resource "docker_container" "d" { name = local.lst[0] }
resource "docker_container" "e" { name = local.lst[1] }
resource "docker_container" "f" {
  for_each = local.ck
  name = "f"
}
resource "docker_container" "g" {
  for_each = data.coder_workspace_owner.me.groups
  name = "g"
}
resource "docker_container" "h" {
  for_each = local.filt
  name = "h"
}
module "m" {
  source = "./m"
  count  = 1
  who    = data.coder_workspace_owner.me.name
}
resource "docker_container" "i" { name = module.m[0].o.w }
resource "docker_container" "j" { name = module.m[0].o.s }
resource "docker_container" "k" { name = one([for x in local.lst : x]) }
resource "docker_container" "l" { name = local.cfg }
resource "docker_container" "m" { name = jsonencode(local.cfg) }
resource "docker_container" "n" { name = try(local.cfg.user, "") }
resource "docker_container" "o" { name = coalesce(local.cfg.image, "") }
`

const partsModule = `variable "who" {}
output "o" { value = { w = var.who, s = "s" } }
`

// TestPrebuildCountChangesOnClaim: data.coder_workspace.me.prebuild_count
// is 1 in a prebuild and 0 once claimed (terraform-provider-coder's
// workspace data source), the same fact as is_prebuild, so a count over it
// destroys the instance on claim; start_count stays and is not reported.
func TestPrebuildCountChangesOnClaim(t *testing.T) {
	src := `data "coder_workspace" "me" {}
resource "docker_container" "warm" {
  count = data.coder_workspace.me.prebuild_count
  name  = "warm-${data.coder_workspace.me.id}"
}
resource "docker_container" "main" {
  count = data.coder_workspace.me.start_count
  name  = "main-${data.coder_workspace.me.id}"
}
`
	res, err := Lint(fstestFS(map[string]string{"main.tf": src}), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) != 1 || res.Findings[0].Resource != "docker_container.warm" || res.Findings[0].Rule != RuleInstanceKeys {
		t.Fatalf("got %+v, want one claim_changes_instances finding on docker_container.warm", res.Findings)
	}
}

// TestJSONTemplatesKeepTheirCode: in a .tf.json string, what is inside
// ${ } or %{ } is code, whose quotes were JSON-escaped (\"k\"); the
// translation escaped them again, so `"${lookup(local.m, \"k\")}"` (what
// CDKTF writes) made lint fail with "Invalid character". Quotes outside the
// sequences stay literal, and $${ stays an escape.
func TestJSONTemplatesKeepTheirCode(t *testing.T) {
	src := `{
  "data": {"coder_workspace_owner": {"me": {}}},
  "locals": {"m": {"k": "${data.coder_workspace_owner.me.name}", "s": "static"}},
  "resource": {"docker_container": {
    "lookup": {"name": "${lookup(local.m, \"k\", \"\")}"},
    "directive": {"name": "%{ if data.coder_workspace_owner.me.email != \"\" }x%{ endif }"},
    "nested": {"name": "${lower(\"w-${data.coder_workspace_owner.me.name}-{x}\")}"},
    "static": {"name": "${lookup(local.m, \"s\", \"}\")} say \"hi\" {}"},
    "escaped": {"name": "$${data.coder_workspace_owner.me.name} \"q\""}
  }}
}`
	res, err := Lint(fstestFS(map[string]string{"main.tf.json": src}), Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, f := range res.Findings {
		got[f.Resource] = true
	}
	for _, name := range []string{"lookup", "directive", "nested"} {
		if !got["docker_container."+name] {
			t.Errorf("docker_container.%s: no finding", name)
		}
	}
	// lookup(local.m, "s") reads the whole map (lookup is not followed by
	// key), so "static" is reported too; the escaped one never is.
	if got["docker_container.escaped"] || len(res.Findings) != 4 {
		t.Errorf("got %d findings %v", len(res.Findings), got)
	}
}

// TestJSONTemplateLineBreaks: a line break inside ${ } of a .tf.json
// string must not shift the lines of the findings after it: the finding is
// where it is when the same code has no line breaks.
func TestJSONTemplateLineBreaks(t *testing.T) {
	file := func(code string) string {
		return "{\"data\": {\"coder_workspace_owner\": {\"me\": {}}},\n" +
			"\"locals\": {\"x\": \"${" + code + "}\"},\n" +
			"\"resource\": {\"docker_container\": {\"c\": {\n" +
			"\n\n\n\n" +
			"\"name\": \"${data.coder_workspace_owner.me.name}\"}}}}\n"
	}
	line := func(src string) int {
		res, err := Lint(fstestFS(map[string]string{"main.tf.json": src}), Options{})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Findings) != 1 {
			t.Fatalf("got %+v, want one finding", res.Findings)
		}
		return res.Findings[0].Line
	}
	if got, want := line(file(`\n lower(\n \"a\")\n`)), line(file(` lower( \"a\") `)); got != want {
		t.Errorf("finding on line %d, want %d", got, want)
	}
}

// TestSelectorFixKeepsTemplateMatching: a deployment's selector must match
// its pod template's labels. When both follow the owner (the usual shape:
// one labels local for both), ignoring only the selector, as the fix used
// to say, leaves it matching labels the claim changed, and Kubernetes
// rejects the update. The fix names both, and applying it leaves no error.
func TestSelectorFixKeepsTemplateMatching(t *testing.T) {
	tmpl := func(lifecycle string) string {
		return `data "coder_workspace" "me" {}
data "coder_workspace_owner" "me" {}
locals {
  labels = { "app.kubernetes.io/instance" = "ws-${data.coder_workspace_owner.me.name}" }
}
resource "kubernetes_deployment_v1" "main" {
  metadata {
    name = "ws-${data.coder_workspace.me.id}"
  }
  spec {
    selector {
      match_labels = local.labels
    }
    template {
      metadata {
        labels = local.labels
      }
      spec {
        container {
          name  = "dev"
          image = "ubuntu"
        }
      }
    }
  }
` + lifecycle + `}
`
	}
	res, err := Lint(fstestFS(map[string]string{"main.tf": tmpl("")}), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var fix string
	for _, f := range res.Findings {
		if f.Severity == SeverityError {
			fix = f.Fix
		}
	}
	want := "lifecycle { ignore_changes = [spec[0].selector[0].match_labels, spec[0].template[0].metadata[0].labels] }"
	if fix != want {
		t.Fatalf("fix %q, want %q", fix, want)
	}
	res, err = Lint(fstestFS(map[string]string{"main.tf": tmpl("  " + strings.TrimPrefix(want, "") + "\n")}), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range res.Findings {
		if f.Severity == SeverityError {
			t.Errorf("after the fix: %+v", f)
		}
	}
}

// TestUnreadModulesAndTerraformDataOutput: terraform_data's output is its
// input (lint found no finding on a container whose hostname read it), and
// a registry module that is not read says which of its inputs change on
// claim (module.code-server gets the id of an agent a claim replaces, so
// its apps and scripts are replaced too); one whose inputs stay does not.
func TestUnreadModulesAndTerraformDataOutput(t *testing.T) {
	res, err := Lint(fstestFS(map[string]string{"main.tf": unreadMain}), Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Finding{}
	for _, f := range res.Findings {
		got[f.Resource] = f
	}
	if f, ok := got["docker_container.c"]; !ok || f.Attribute != "hostname" || f.Severity != SeverityError {
		t.Errorf("docker_container.c: got %+v, want an error on hostname", f)
	}
	for _, m := range []string{"module.code-server", "module.dotfiles"} {
		f := got[m]
		if f.Rule != RuleModuleNotRead || !strings.Contains(f.Message, "inputs") || len(f.References) == 0 {
			t.Errorf("%s: got %+v, want module_not_read naming its claim-sensitive inputs", m, f)
		}
	}
	if f := got["module.code-server"]; !strings.Contains(f.Message, "agent_id") {
		t.Errorf("module.code-server: %q does not name agent_id", f.Message)
	}
	if f := got["module.quiet"]; f.Rule != RuleModuleNotRead || strings.Contains(f.Message, "inputs") || len(f.References) != 0 {
		t.Errorf("module.quiet: got %+v, want a plain module_not_read", f)
	}
}

const unreadMain = `data "coder_workspace_owner" "me" {}
resource "coder_agent" "main" {
  os   = "linux"
  arch = "amd64"
  env  = { OWNER = data.coder_workspace_owner.me.name }
}
module "code-server" {
  source   = "registry.coder.com/coder/code-server/coder"
  version  = "1.0.0"
  agent_id = coder_agent.main.id
}
module "dotfiles" {
  source   = "registry.coder.com/coder/dotfiles/coder"
  agent_id = "static"
  user     = data.coder_workspace_owner.me.name
}
module "quiet" {
  source   = "registry.coder.com/coder/jetbrains/coder"
  agent_id = "static"
}
resource "terraform_data" "who" {
  input = data.coder_workspace_owner.me.name
}
resource "docker_container" "c" {
  name  = "c"
  image = "u"
  hostname = terraform_data.who.output
}
`

// TestLongChainsAndSelfReferences: a chain of locals longer than the
// parts-of-values depth bound is still followed to the end (the bound
// silently dropped the finding), and self references whose path grows at
// every step (Terraform rejects them as cycles) end instead of recursing.
func TestLongChainsAndSelfReferences(t *testing.T) {
	var b strings.Builder
	b.WriteString("data \"coder_workspace_owner\" \"me\" {}\nlocals {\n  l0 = { v = data.coder_workspace_owner.me.name }\n")
	const n = 2000
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, "  l%d = local.l%d\n", i, i-1)
	}
	fmt.Fprintf(&b, "  grow = { x = local.grow.x.x, y = local.grow[\"y\"][0] }\n}\n")
	fmt.Fprintf(&b, "resource \"docker_container\" \"c\" {\n  name = local.l%d.v\n  hostname = local.grow.x\n  domainname = local.grow.y\n}\n", n-1)
	res, err := Lint(fstestFS(map[string]string{"main.tf": b.String()}), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) != 1 || res.Findings[0].Attribute != "name" {
		t.Fatalf("got %+v, want one finding on name", res.Findings)
	}
}

// TestNotRegularOrHugeFiles: a FIFO named x.tf made lint block forever in
// open (SIGTERM included: the CLI waits for its context), and main.tf ->
// /dev/zero read until memory ran out. Files that are not regular, and
// files larger than maxFileSize, are errors that name the file.
func TestNotRegularOrHugeFiles(t *testing.T) {
	ok := []byte(`resource "docker_container" "c" { name = "x" }`)
	cases := map[string]fstest.MapFS{
		"fifo":   {"main.tf": {Data: ok}, "x.tf": {Mode: fs.ModeNamedPipe}},
		"device": {"main.tf": {Data: ok}, "zero.tf": {Mode: fs.ModeDevice | fs.ModeCharDevice}},
		"huge":   {"main.tf": {Data: append(append([]byte{}, ok...), make([]byte, maxFileSize)...)}},
	}
	for name, fsys := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Lint(fsys, Options{})
			if err == nil || errors.Is(err, ErrSyntax) {
				t.Fatalf("got %v, want an error about the file", err)
			}
		})
	}
}
