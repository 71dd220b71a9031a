package simulate

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// ErrNotInitialized is returned when Terraform says the template's working
// directory needs `terraform init` (modules or providers missing).
var ErrNotInitialized = errors.New("not initialized")

// ErrTerraform is returned when a terraform command fails; the message
// carries Terraform's own error.
var ErrTerraform = errors.New("terraform failed")

// runner runs one terraform (or tofu) binary in the private working
// directory.
type runner struct {
	bin  string
	dir  string
	name string // "terraform" or "tofu", for messages
	// vars are the -var and -var-file arguments of every plan.
	vars []string
	// template is the directory the user gave, for messages.
	template string
}

// run runs the binary with args and env; it returns stdout, and on
// failure an error with Terraform's diagnostics on one line. ok lists exit
// codes that are not failures besides 0 (2 for -detailed-exitcode).
func (r *runner) run(ctx context.Context, env []string, ok []int, args ...string) ([]byte, int, error) {
	cmd := exec.CommandContext(ctx, r.bin, args...)
	// On cancellation, ask terraform to stop (it stops its providers), and
	// kill it only if it does not within the delay.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	cmd.Dir = r.dir
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			return nil, -1, fmt.Errorf("run %s %s: %w", r.name, args[0], err)
		}
		code = ee.ExitCode()
		for _, c := range ok {
			if c == code {
				return stdout.Bytes(), code, nil
			}
		}
		if ctx.Err() != nil {
			return nil, code, ctx.Err()
		}
		return nil, code, r.failure(args[0], stdout.Bytes(), stderr.Bytes())
	}
	return stdout.Bytes(), 0, nil
}

// failure turns a failed command's output into one error: the first error
// diagnostic (from the -json stream when there is one, else from stderr),
// classified as ErrNotInitialized when Terraform asks for init.
func (r *runner) failure(verb string, stdout, stderr []byte) error {
	msg := jsonDiagnostic(stdout)
	if msg == "" {
		msg = textDiagnostic(stderr)
	}
	if msg == "" {
		msg = oneLine(string(stderr), 300)
	}
	if needsInit(msg) || needsInit(string(stderr)) {
		return fmt.Errorf("%s is %w: run `%s init` in it (a template whose providers all come from dev_overrides needs only `%s get`): %s",
			r.template, ErrNotInitialized, r.name, r.name, msg)
	}
	return fmt.Errorf("%w: %s %s: %s", ErrTerraform, r.name, verb, msg)
}

// needsInit tells Terraform's "run init" errors.
func needsInit(s string) bool {
	for _, p := range []string{
		"Module not installed", "Missing required provider", "Inconsistent dependency lock file",
		"Required plugins are not installed", "Backend initialization required",
		"terraform init", "tofu init", "Module source has changed", "Module version requirements have changed",
	} {
		if strings.Contains(s, p) {
			return true
		}
	}
	return false
}

// jsonDiagnostic returns the first error diagnostic of a -json stream as
// "summary: detail (file:line)", "" when there is none.
func jsonDiagnostic(stdout []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(stdout))
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if !bytes.Contains(line, []byte(`"diagnostic"`)) {
			continue
		}
		var m struct {
			Level      string `json:"@level"`
			Diagnostic struct {
				Severity string `json:"severity"`
				Summary  string `json:"summary"`
				Detail   string `json:"detail"`
				Range    *struct {
					Filename string `json:"filename"`
					Start    struct {
						Line int `json:"line"`
					} `json:"start"`
				} `json:"range"`
			} `json:"diagnostic"`
		}
		if json.Unmarshal(line, &m) != nil || m.Diagnostic.Severity != "error" {
			continue
		}
		d := m.Diagnostic
		msg := d.Summary
		if det := oneLine(d.Detail, 300); det != "" {
			msg += ": " + det
		}
		if d.Range != nil && d.Range.Filename != "" {
			msg += fmt.Sprintf(" (%s:%d)", filepath.ToSlash(d.Range.Filename), d.Range.Start.Line)
		}
		return msg
	}
	return ""
}

// textDiagnostic returns the first "Error: ..." block of Terraform's
// human-readable diagnostics (box-drawing prefixes removed) on one line.
func textDiagnostic(stderr []byte) string {
	lines := strings.Split(string(stderr), "\n")
	for i, l := range lines {
		l = strings.TrimSpace(strings.TrimLeft(l, "│╷╵ "))
		if !strings.HasPrefix(l, "Error: ") {
			continue
		}
		parts := []string{strings.TrimPrefix(l, "Error: ")}
		for _, m := range lines[i+1:] {
			m = strings.TrimSpace(strings.TrimLeft(m, "│ "))
			if strings.HasPrefix(m, "╵") || strings.HasPrefix(m, "Error: ") {
				break
			}
			if m != "" {
				parts = append(parts, m)
			}
		}
		return oneLine(strings.Join(parts, " "), 400)
	}
	return ""
}

// oneLine folds whitespace and shortens s to max runes.
func oneLine(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > max {
		s = string(r[:max]) + "…"
	}
	return s
}

// plan runs `plan -out=out` (with -refresh=false when refresh is false)
// and reports whether the plan has changes (-detailed-exitcode).
func (r *runner) plan(ctx context.Context, env []string, out string, refresh bool) (bool, error) {
	args := []string{"plan", "-input=false", "-no-color", "-lock=false", "-json", "-detailed-exitcode", "-out=" + out}
	if !refresh {
		args = append(args, "-refresh=false")
	}
	args = append(args, r.vars...)
	_, code, err := r.run(ctx, env, []int{2}, args...)
	return code == 2, err
}

// show runs `show -json PLANFILE`.
func (r *runner) show(ctx context.Context, env []string, planFile string) ([]byte, error) {
	out, _, err := r.run(ctx, env, nil, "show", "-json", "-no-color", planFile)
	return out, err
}

// schemas runs `providers schema -json`.
func (r *runner) schemas(ctx context.Context, env []string) (schemas, error) {
	out, _, err := r.run(ctx, env, nil, "providers", "schema", "-json")
	if err != nil {
		return nil, err
	}
	return parseSchemas(out)
}
