package main

import (
	"database/sql"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// TestTemplateImportRefusesBadPresets: a plan's presets go through the
// same checks as `preset add`; a bad one refuses the whole import with
// exit 1 naming the preset and the field, and nothing is recorded.
func TestTemplateImportRefusesBadPresets(t *testing.T) {
	orig, err := os.ReadFile(planPath("providers/docker.json"))
	if err != nil {
		t.Fatal(err)
	}
	const instances = `"expiration_policy":[{"ttl":86400}],"instances":2,`
	if !strings.Contains(string(orig), instances) {
		t.Fatal("sample plan changed: no preset with instances 2")
	}
	tests := []struct {
		name, from, to string
		want           []string
	}{
		{"negative instances", instances, `"expiration_policy":[{"ttl":86400}],"instances":-3,`, []string{`preset "Standard"`, "instances", "-3"}},
		{"10^12 instances", instances, `"expiration_policy":[{"ttl":86400}],"instances":1000000000000,`, []string{`preset "Standard"`, "instances", "1000000000000"}},
		{"sub-second ttl is impossible, negative ttl is not", `"ttl":86400`, `"ttl":-5`, []string{`preset "Standard"`, "ttl"}},
		{"bad cron", `"cron":"* 8-18 * * 1-5"`, `"cron":"* 8-18 * *"`, []string{`preset "Standard"`, "schedules[0].cron"}},
		{"schedule instances", `"cron":"* 8-18 * * 1-5","instances":4`, `"cron":"* 8-18 * * 1-5","instances":-4`, []string{`preset "Standard"`, "schedules[0].instances"}},
		{"control character in name", `"name":"Standard"`, `"name":"Stan\u001b[2Jdard"`, []string{`preset "Stan\x1b[2Jdard"`, "name"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(string(orig), tt.from) {
				t.Fatalf("sample plan has no %s", tt.from)
			}
			plan := filepath.Join(t.TempDir(), "plan.json")
			if err := os.WriteFile(plan, []byte(strings.Replace(string(orig), tt.from, tt.to, 1)), 0o600); err != nil {
				t.Fatal(err)
			}
			w := &poolWorld{t: t, db: filepath.Join(t.TempDir(), "c.db")}
			r := w.run("template", "import", "--name", "docker", plan)
			if r.code != 1 {
				t.Fatalf("exit %d, want 1; stdout %q stderr %q", r.code, r.stdout, r.stderr)
			}
			for _, want := range tt.want {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("stderr %q does not name %q", r.stderr, want)
				}
			}
			if strings.Count(r.stderr, "\n") != 1 || strings.ContainsAny(r.stderr, "\x1b\r") {
				t.Errorf("stderr is not one clean line: %q", r.stderr)
			}
			if _, err := os.Stat(w.db); err == nil {
				if out := w.ok("preset", "list", "--format", "json"); strings.TrimSpace(out) != "[]" {
					t.Errorf("presets recorded by a refused import: %s", out)
				}
			}
		})
	}
}

// TestAnalyzeNeverRunsTerraformFromWorkingDirectory: a repository that
// ships ./.tools/bin/terraform must not get it run by `claimdrift analyze`
// of a binary plan in that directory.
func TestAnalyzeNeverRunsTerraformFromWorkingDirectory(t *testing.T) {
	plan, err := filepath.Abs(planPath("claim.tfplan"))
	if err != nil {
		t.Fatal(err)
	}
	repo := t.TempDir()
	marker := filepath.Join(t.TempDir(), "ran")
	if err := os.MkdirAll(filepath.Join(repo, ".tools", "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	script := "#!/bin/sh\ntouch " + marker + "\necho '{\"terraform_version\":\"1.5.7\",\"platform\":\"linux_amd64\"}'\n"
	if err := os.WriteFile(filepath.Join(repo, ".tools", "bin", "terraform"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", t.TempDir()) // nothing on PATH
	t.Chdir(repo)
	r := runCLI(t, "", nil, "analyze", plan)
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("claimdrift ran ./.tools/bin/terraform from the working directory")
	}
	if r.code != 1 {
		t.Errorf("exit %d, want 1 (no terraform): %s", r.code, r.stderr)
	}
}

// TestFlagUsageHasNoBackquotes: pflag takes a `quoted` word in a flag's
// usage as the value's name, so "until `preset resume`" rendered as
// "--failure-limit preset resume". No flag of any command may do that.
func TestFlagUsageHasNoBackquotes(t *testing.T) {
	root := newRootCmd(ioStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: io.Discard})
	var walk func(c *cobra.Command)
	n := 0
	walk = func(c *cobra.Command) {
		for _, fs := range []*pflag.FlagSet{c.LocalFlags(), c.PersistentFlags()} {
			fs.VisitAll(func(f *pflag.Flag) {
				n++
				if strings.Contains(f.Usage, "`") {
					name, _ := pflag.UnquoteUsage(f)
					t.Errorf("%s --%s: usage has backquotes (renders as --%s %s): %q", c.CommandPath(), f.Name, f.Name, name, f.Usage)
				}
			})
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	if n < 50 {
		t.Fatalf("only %d flags visited", n)
	}
}

// TestHostileNamesArePrintedEscaped: names an older version stored with
// escape codes and line breaks are printed quoted, never raw, by every
// listing.
func TestHostileNamesArePrintedEscaped(t *testing.T) {
	w := &poolWorld{t: t, db: filepath.Join(t.TempDir(), "c.db")}
	w.ok("template", "import", "--name", "dev", "--org", "acme", planPath("claim.json"))
	w.ok("preset", "add", "--template", "dev", "--name", "small", "--instances", "1")
	w.ok("admins", "add", "--template", "dev", "--email", "ops@example.com")
	s := openTestStore(t, w.db)
	db := s.(interface{ DB() *sql.DB }).DB()
	for _, q := range []string{
		"UPDATE templates SET name = 'dev' || char(27) || '[2J' || char(10) || 'FAKE LINE', organization = 'ac' || char(13) || 'me'",
		"UPDATE presets SET name = 'sm' || char(27) || ']0;title' || char(7) || 'all'",
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	for _, args := range [][]string{{"status"}, {"preset", "list"}, {"admins", "list"}, {"reconcile", "--once", "--dry-run"}} {
		r := w.run(args...)
		if r.code != 0 {
			t.Fatalf("%v: exit %d: %s", args, r.code, r.stderr)
		}
		if strings.ContainsAny(r.stdout+r.stderr, "\x1b\r\x07") || strings.Contains(r.stdout, "\nFAKE LINE") {
			t.Errorf("%v prints a name raw:\n%q", args, r.stdout)
		}
		if !strings.Contains(r.stdout, `\x1b`) {
			t.Errorf("%v does not show the escaped name:\n%q", args, r.stdout)
		}
	}
}

// TestUnreadablePresetIsReportedNotFatal: a preset whose stored
// parameters are not JSON (edited by hand) no longer stops every listing
// and pass: each command names it as unreadable and goes on with the other
// presets.
func TestUnreadablePresetIsReportedNotFatal(t *testing.T) {
	w := &poolWorld{t: t, db: filepath.Join(t.TempDir(), "c.db")}
	w.ok("template", "import", "--name", "dev", "--org", "acme", planPath("claim.json"))
	w.ok("preset", "add", "--template", "dev", "--name", "small", "--instances", "1")
	w.ok("preset", "add", "--template", "dev", "--name", "large", "--instances", "2")
	s := openTestStore(t, w.db)
	if _, err := s.(interface{ DB() *sql.DB }).DB().Exec(`UPDATE presets SET parameters = '{"cpu":' WHERE name = 'small'`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"status"}, []string{"healthy (unreadable preset: stored parameters are not valid", "large"}},
		{[]string{"preset", "list"}, []string{"healthy (unreadable: stored parameters are not valid", "large"}},
		{[]string{"preset", "list", "--format", "json"}, []string{`"unreadable": "stored parameters are not valid`, `"name": "large"`}},
		{[]string{"reconcile", "--once", "--dry-run"}, []string{"create   dev/large", "blocked  dev/small  unreadable preset", `msg="preset left as it is"`}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			r := w.run(tt.args...)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			for _, want := range tt.want {
				if !strings.Contains(r.stdout+r.stderr, want) {
					t.Errorf("output lacks %q:\n%s\n%s", want, r.stdout, r.stderr)
				}
			}
		})
	}
	// Adding the preset again writes it whole: readable again.
	w.ok("preset", "add", "--template", "dev", "--name", "small", "--instances", "1")
	if r := w.run("status"); r.code != 0 || strings.Contains(r.stdout, "unreadable") {
		t.Errorf("status after preset add: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
