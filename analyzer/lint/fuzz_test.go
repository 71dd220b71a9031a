package lint

import (
	"bytes"
	"errors"
	"testing"
	"testing/fstest"
)

// FuzzLint feeds arbitrary bytes to Lint as a template's main.tf (calling a
// local module whose main.tf is the same bytes) and renders the result in
// every format. It must return findings or an error, never panic or hang.
// Seeds are the fixtures in testdata/fuzz/FuzzLint.
func FuzzLint(f *testing.F) {
	f.Add([]byte(`resource "docker_container" "c" { name = data.coder_workspace_owner.me.name }`))
	f.Fuzz(func(t *testing.T, src []byte) {
		fsys := fstest.MapFS{
			"main.tf":     {Data: src},
			"mod/main.tf": {Data: src},
			"extra.tf":    {Data: []byte(`module "m" { source = "./mod" }`)},
		}
		res, err := Lint(fsys, Options{ClaimRefs: []string{"var.owner"}})
		if err != nil {
			var pe *ParseError
			if errors.As(err, &pe) && (pe.Line < 1 || pe.File == "") {
				t.Fatalf("parse error without a location: %v", err)
			}
			return
		}
		for _, fd := range res.Findings {
			if fd.Rule == "" || fd.Resource == "" || fd.Severity == 0 {
				t.Fatalf("incomplete finding %+v", fd)
			}
		}
		for _, format := range Formats {
			var buf bytes.Buffer
			if err := Write(&buf, format, res, WriteOptions{}); err != nil {
				t.Fatalf("write %s: %v", format, err)
			}
		}
	})
}

// FuzzLintJSON feeds arbitrary bytes to Lint as a main.tf.json (Terraform's
// JSON syntax, translated to native syntax) next to an override file. It
// must return findings or an error, never panic or hang. Seeds are in
// testdata/fuzz/FuzzLintJSON.
func FuzzLintJSON(f *testing.F) {
	f.Add([]byte(`{"resource": {"docker_container": {"c": {"name": "${data.coder_workspace_owner.me.name}"}}}}`))
	f.Fuzz(func(t *testing.T, src []byte) {
		fsys := fstest.MapFS{
			"main.tf.json": {Data: src},
			"override.tf":  {Data: []byte(`resource "docker_container" "c" { lifecycle { ignore_changes = [env] } }`)},
		}
		res, err := Lint(fsys, Options{})
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Line < 1 || pe.File == "" {
				t.Fatalf("error without a location: %v", err)
			}
			return
		}
		for _, format := range Formats {
			var buf bytes.Buffer
			if err := Write(&buf, format, res, WriteOptions{}); err != nil {
				t.Fatalf("write %s: %v", format, err)
			}
		}
	})
}
