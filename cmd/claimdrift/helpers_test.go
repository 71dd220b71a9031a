package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// repoRoot is the repository root, relative to this package's directory.
const repoRoot = "../.."

func planPath(name string) string { return filepath.Join(repoRoot, "testdata", "plans", name) }

// result is what one in-process run of the CLI produced.
type result struct {
	code           int
	stdout, stderr string
}

// runCLI runs the root command in-process with the given stdin and env.
func runCLI(t *testing.T, stdin string, env map[string]string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	io := ioStreams{
		In:     strings.NewReader(stdin),
		Out:    &out,
		ErrOut: &errOut,
		Getenv: func(k string) string { return env[k] },
	}
	if env["TTY"] == "1" {
		io.OutIsTTY = true
	}
	code := run(context.Background(), args, io)
	return result{code: code, stdout: out.String(), stderr: errOut.String()}
}

// terraform157 finds a terraform 1.5.7 binary (the version that wrote the
// binary fixture plan): ./.tools/bin first, then PATH. Missing in CI is a
// failure; elsewhere the test is skipped with the command that installs it.
func terraform157(t *testing.T) string {
	t.Helper()
	candidates := []string{filepath.Join(repoRoot, ".tools", "bin", "terraform")}
	if p, err := exec.LookPath("terraform"); err == nil {
		candidates = append(candidates, p)
	}
	for _, c := range candidates {
		out, err := exec.Command(c, "version").Output()
		if err == nil && strings.Contains(string(out), "Terraform v1.5.7") {
			abs, _ := filepath.Abs(c)
			return abs
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("terraform 1.5.7 not found in .tools/bin or on PATH (make tools installs it)")
	}
	t.Skip("terraform 1.5.7 not found; run `make tools`")
	return ""
}

// buildBinary compiles claimdrift once per test binary run.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "claimdrift")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}
