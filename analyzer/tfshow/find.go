package tfshow

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hc-install/fs"
	"github.com/hashicorp/hc-install/product"
	"github.com/hashicorp/terraform-exec/tfexec"
)

// ErrNoTerraform is returned when no terraform or tofu binary is found.
var ErrNoTerraform = errors.New("no terraform or tofu binary found")

// ErrVersionMismatch is returned when binaries exist but none has the
// version that wrote the plan file.
var ErrVersionMismatch = errors.New("no terraform or tofu binary matches the plan file's version")

// Binary is a terraform or tofu executable and its version.
type Binary struct {
	Path    string
	Version string // e.g. "1.5.7"; "" when it could not be asked
}

// Options say where to look for binaries.
type Options struct {
	// Explicit is a binary the user named (--terraform); it is tried first.
	Explicit string
	// ExtraDirs are searched after PATH; only absolute directories are
	// used: a binary is never looked up relative to the working directory
	// (a checked-out repository could plant ./.tools/bin/terraform).
	ExtraDirs []string
}

// Find lists the terraform and tofu binaries available, with versions.
func Find(ctx context.Context, opts Options) ([]Binary, error) {
	var paths []string
	var dirs []string
	for _, d := range opts.ExtraDirs {
		if filepath.IsAbs(d) {
			dirs = append(dirs, d)
		}
	}
	opts.ExtraDirs = dirs
	if opts.Explicit != "" {
		p, err := exec.LookPath(opts.Explicit)
		if err != nil {
			return nil, fmt.Errorf("--terraform %s: %w", opts.Explicit, err)
		}
		paths = append(paths, p)
	}
	av := &fs.AnyVersion{Product: &product.Terraform, ExtraPaths: opts.ExtraDirs}
	if p, err := av.Find(ctx); err == nil {
		paths = append(paths, p)
	}
	for _, dir := range opts.ExtraDirs {
		paths = append(paths, filepath.Join(dir, "terraform"))
	}
	if p, err := exec.LookPath("tofu"); err == nil {
		paths = append(paths, p)
	}
	seen := map[string]bool{}
	var bins []Binary
	for _, p := range paths {
		abs, err := filepath.Abs(p)
		if err != nil || seen[abs] {
			continue
		}
		if fi, err := os.Stat(abs); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			continue
		}
		seen[abs] = true
		bins = append(bins, Binary{Path: abs, Version: version(ctx, abs)})
	}
	if len(bins) == 0 {
		return nil, ErrNoTerraform
	}
	return bins, nil
}

// version asks a binary its version: terraform-exec first, then the
// `version -json` output that OpenTofu also writes.
func version(ctx context.Context, bin string) string {
	dir, err := os.MkdirTemp("", "claimdrift-tfversion-")
	if err == nil {
		defer os.RemoveAll(dir)
		if tf, err := tfexec.NewTerraform(dir, bin); err == nil {
			if v, _, err := tf.Version(ctx, true); err == nil && v != nil {
				return v.String()
			}
		}
	}
	out, err := exec.CommandContext(ctx, bin, "version", "-json").Output()
	if err != nil {
		return ""
	}
	var v struct {
		TerraformVersion string `json:"terraform_version"`
	}
	if json.Unmarshal(out, &v) != nil {
		return ""
	}
	return v.TerraformVersion
}

// Select picks the binary for a plan written by version want: the first
// with that exact version; any binary when want is unknown.
func Select(bins []Binary, want string) (Binary, error) {
	if len(bins) == 0 {
		return Binary{}, ErrNoTerraform
	}
	if want == "" {
		return bins[0], nil
	}
	var found []string
	for _, b := range bins {
		if b.Version == want {
			return b, nil
		}
		v := b.Version
		if v == "" {
			v = "unknown version"
		}
		found = append(found, fmt.Sprintf("%s (%s)", b.Path, v))
	}
	return Binary{}, fmt.Errorf("%w: the plan was written by %s, found %s; run `terraform show -json PLANFILE > plan.json` (`tofu show -json` for a plan OpenTofu wrote) with %s, or pass --terraform PATH",
		ErrVersionMismatch, want, strings.Join(found, ", "), want)
}

// Show runs `BIN show -json PLANFILE` in dir (the working directory the plan
// came from, needed for plans with providers) and returns its standard
// output as a stream. Close waits for the process and reports its failure,
// with the last lines it wrote on stderr.
func Show(ctx context.Context, bin Binary, planPath, dir string) (io.ReadCloser, error) {
	abs, err := filepath.Abs(planPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, bin.Path, "show", "-json", "-no-color", abs)
	cmd.Dir = dir
	if os.Getenv("TF_CLI_CONFIG_FILE") == "" {
		cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+os.DevNull)
	}
	stderr := &tailBuffer{max: 4096}
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("run %s show -json: %w", filepath.Base(bin.Path), err)
	}
	return &showStream{ReadCloser: out, cmd: cmd, stderr: stderr, name: filepath.Base(bin.Path)}, nil
}

type showStream struct {
	io.ReadCloser
	cmd    *exec.Cmd
	stderr *tailBuffer
	name   string
}

func (s *showStream) Close() error {
	// Drain so the process is not blocked on a full pipe, then wait.
	_, _ = io.Copy(io.Discard, s.ReadCloser)
	if err := s.cmd.Wait(); err != nil {
		msg := strings.Join(strings.Fields(s.stderr.String()), " ")
		if msg == "" {
			return fmt.Errorf("%s show -json: %w", s.name, err)
		}
		return fmt.Errorf("%s show -json: %w: %s", s.name, err, msg)
	}
	return nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	buf bytes.Buffer
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.buf.Write(p)
	if t.buf.Len() > t.max {
		b := t.buf.Bytes()
		keep := append([]byte(nil), b[len(b)-t.max:]...)
		t.buf.Reset()
		t.buf.Write(keep)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return t.buf.String() }
