package tfshow

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
)

// zipMagic starts every binary plan file (a zip archive).
var zipMagic = []byte("PK\x03\x04")

// OpenOptions configure OpenPlan.
type OpenOptions struct {
	Options
	// Dir is the working directory to run `show -json` in: the initialized
	// directory the plan came from (plans with providers need it). "" means
	// the current directory.
	Dir string
}

// OpenPlan opens a plan for the analyzer. JSON input (a plan document or a
// `plan -json` stream) is returned as it is (a JSON file as the open
// *os.File, which can be read again from the start); a binary plan file is shown as
// JSON by a terraform or tofu binary of the version that wrote it, streamed.
// path "-" reads r (standard input); a binary plan on r is first copied to
// a temporary file, removed on Close.
func OpenPlan(ctx context.Context, path string, stdin io.Reader, opts OpenOptions) (io.ReadCloser, error) {
	var (
		src    io.Reader
		closer func() error
	)
	if path == "-" {
		src, closer = stdin, func() error { return nil }
	} else {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("read plan: %w", err)
		}
		if fi, err := f.Stat(); err == nil && fi.IsDir() {
			f.Close()
			return nil, fmt.Errorf("read plan: %s is a directory", path)
		}
		head := make([]byte, len(zipMagic))
		if n, _ := f.ReadAt(head, 0); !bytes.Equal(head[:n], zipMagic) {
			// JSON: the file itself, which can be read again (io.Seeker).
			return f, nil
		}
		src, closer = f, f.Close
	}
	br := bufio.NewReaderSize(src, 64<<10)
	head, _ := br.Peek(len(zipMagic))
	if !bytes.Equal(head, zipMagic) {
		return readCloser{Reader: br, close: closer}, nil
	}
	planPath := path
	cleanup := func() error { return nil }
	if path == "-" {
		tmp, err := os.CreateTemp("", "claimdrift-plan-*.tfplan")
		if err != nil {
			return nil, fmt.Errorf("read plan: %w", err)
		}
		if _, err := io.Copy(tmp, br); err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
			return nil, fmt.Errorf("read plan: %w", err)
		}
		tmp.Close()
		planPath = tmp.Name()
		cleanup = func() error { return os.Remove(tmp.Name()) }
	} else {
		closer()
	}
	rc, err := showBinary(ctx, planPath, path, opts)
	if err != nil {
		cleanup()
		return nil, err
	}
	return readCloser{Reader: rc, close: func() error {
		err := rc.Close()
		cleanup()
		return err
	}}, nil
}

func showBinary(ctx context.Context, planPath, shownAs string, opts OpenOptions) (io.ReadCloser, error) {
	want, err := PlanVersion(planPath)
	if err != nil {
		return nil, fmt.Errorf("read binary plan %s: %w", shownAs, err)
	}
	bins, err := Find(ctx, opts.Options)
	if err != nil {
		if errors.Is(err, ErrNoTerraform) {
			v := "the terraform version that wrote it"
			if want != "" {
				v = "terraform " + want
			}
			return nil, fmt.Errorf("%s is a binary plan file and %w on PATH to convert it: run `terraform show -json %s > plan.json` with %s and analyze plan.json, or pass --terraform PATH",
				shownAs, err, shownAs, v)
		}
		return nil, err
	}
	bin, err := Select(bins, want)
	if err != nil {
		return nil, err
	}
	return Show(ctx, bin, planPath, opts.Dir)
}

type readCloser struct {
	io.Reader
	close func() error
}

func (r readCloser) Close() error { return r.close() }
