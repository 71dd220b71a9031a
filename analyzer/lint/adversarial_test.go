package lint

import (
	"errors"
	"strings"
	"testing"
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
