// Package tftest holds what tests that run a real terraform share: the
// project's test provider (cmd/terraform-provider-fake) built and installed
// through dev_overrides under the provider addresses it stands in for, and
// a copy of a template tree to plan in. It is imported by tests only.
package tftest

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// FakeProviders are the provider addresses the test provider answers for,
// by the type name its binary is installed under.
var FakeProviders = []struct{ Type, Source string }{
	{"coder", "coder/coder"}, {"docker", "kreuzwerker/docker"}, {"kubernetes", "hashicorp/kubernetes"},
}

// InstallFakeProvider builds cmd/terraform-provider-fake of the module at
// repoRoot into dir, links it under each of FakeProviders' names, and
// writes a terraform CLI configuration with dev_overrides for them. It
// returns the configuration's path (for TF_CLI_CONFIG_FILE).
func InstallFakeProvider(t testing.TB, repoRoot, dir string) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go not on PATH: %v", err)
	}
	bin := filepath.Join(dir, "bin", "terraform-provider-fake")
	cmd := exec.Command(goBin, "build", "-o", bin, "./cmd/terraform-provider-fake")
	cmd.Dir = repoRoot
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	var overrides strings.Builder
	for _, k := range FakeProviders {
		d := filepath.Join(dir, k.Type)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Link(bin, filepath.Join(d, "terraform-provider-"+k.Type)); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&overrides, "    %q = %q\n", k.Source, d)
	}
	rc := filepath.Join(dir, "terraformrc")
	conf := "provider_installation {\n  dev_overrides {\n" + overrides.String() + "  }\n  direct {}\n}\n"
	if err := os.WriteFile(rc, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return rc
}

// CopyTree copies the directories and regular files under src to dst.
func CopyTree(t testing.TB, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// OpenTofuVersion is the OpenTofu scripts/tools.sh builds into .tools/bin.
const OpenTofuVersion = "1.10.10"

// OpenTofu returns the absolute path of the OpenTofu that scripts/tools.sh
// builds into repoRoot's .tools/bin. Without it the test fails under CI
// (make test installs it) and is skipped elsewhere.
func OpenTofu(t testing.TB, repoRoot string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join(repoRoot, ".tools", "bin", "tofu"))
	if err == nil {
		cmd := exec.Command(p, "version")
		cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+os.DevNull)
		if out, err := cmd.Output(); err == nil && strings.HasPrefix(string(out), "OpenTofu v"+OpenTofuVersion+"\n") {
			return p
		}
	}
	msg := "OpenTofu " + OpenTofuVersion + " not found in .tools/bin; run: make tools"
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}
