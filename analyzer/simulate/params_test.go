package simulate

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

func TestMandatoryParamsIn(t *testing.T) {
	src := `
data "coder_parameter" "region" {
  name = "region"
  validation {
    regex = "^(eu|us)-[a-z]+[0-9]{2}$"
  }
}
data "coder_parameter" "image" {
  name    = "image"
  mutable = false
  option {
    name  = "Go"
    value = "golang"
  }
}
data "coder_parameter" "cpu" {
  name = "cpu"
  type = "number"
  validation {
    min = 2
    max = 8
  }
}
data "coder_parameter" "gpu" {
  name = "gpu"
  type = "bool"
}
data "coder_parameter" "repos" {
  name = "repos"
  type = "list(string)"
}
data "coder_parameter" "plain" {
  name = "plain"
}
data "coder_parameter" "nulled" {
  name    = "nulled"
  default = null
}
data "coder_parameter" "has_default" {
  name    = "has_default"
  default = ""
}
data "coder_parameter" "computed_name" {
  name = local.n
}
data "coder_workspace" "me" {}
`
	got := mandatoryParamsIn([]byte(src), "main.tf")
	want := []mandatoryParam{
		{"region", "eu-a00"}, {"image", "golang"}, {"cpu", "2"}, {"gpu", "false"},
		{"repos", "[]"}, {"plain", "claimdrift-placeholder"}, {"nulled", "claimdrift-placeholder"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	if mandatoryParamsIn([]byte("data \"coder_parameter\" {"), "bad.tf") != nil {
		t.Error("a file that does not parse gave parameters")
	}
}

func TestMatchingString(t *testing.T) {
	for _, expr := range []string{
		"^[a-z]+$", "^(eu|us)-[a-z]+$", `^\d{3}-[A-Z]{2}$`, "^.+@example\\.com$", "^[^0-9]*x?$", "abc|def", `^v\d+\.\d+$`,
	} {
		s, ok := matchingString(expr)
		if !ok || !regexp.MustCompile(expr).MatchString(s) {
			t.Errorf("matchingString(%q) = %q, %v", expr, s, ok)
		}
	}
	if _, ok := matchingString("a$b"); ok {
		t.Error("an expression nothing matches gave ok")
	}
}

func TestFillParams(t *testing.T) {
	mandatory := []mandatoryParam{{name: "region", placeholder: "eu-a"}}
	b := &build{preset: "Go", ws: workspace{parameters: map[string]string{"image": "go"}}}
	err := fillParams(b, map[string]string{"image": "node", "cpu": "4"}, mandatory)
	if !errors.Is(err, ErrMissingParameter) || !strings.Contains(err.Error(), `"region"`) ||
		!strings.Contains(err.Error(), `preset "Go"`) || !strings.Contains(err.Error(), "--param region=VALUE") {
		t.Fatalf("err = %v", err)
	}
	if b.ws.parameters["image"] != "go" || b.ws.parameters["cpu"] != "4" {
		t.Errorf("the preset's value must win, --param fill the rest: %v", b.ws.parameters)
	}
	b = &build{}
	if err := fillParams(b, map[string]string{"region": "us-east"}, mandatory); err != nil || b.ws.parameters["region"] != "us-east" {
		t.Errorf("err = %v, parameters %v", err, b.ws.parameters)
	}
	if err := fillParams(&build{}, nil, mandatory); err == nil || !strings.Contains(err.Error(), "no preset sets it") {
		t.Errorf("err = %v", err)
	}
}

// TestMandatoryParamsModules finds parameters without a default in the
// root module and in every module of the manifest: local, outside DIR and
// downloaded (under a TF_DATA_DIR elsewhere).
func TestMandatoryParamsModules(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "template")
	param := func(name string) string {
		return "data \"coder_parameter\" \"p\" {\n  name = \"" + name + "\"\n}\n"
	}
	files := map[string]string{
		"template/main.tf":                       param("root"),
		"template/modules/local/main.tf":         param("local"),
		"shared/outside/main.tf":                 param("outside"),
		"template/custom/modules/remote/main.tf": param("remote"),
		"template/custom/modules/modules.json":   `{"Modules":[{"Key":"","Dir":"."},{"Key":"l","Dir":"modules/local"},{"Key":"o","Dir":"../shared/outside"},{"Key":"r","Dir":"custom/modules/remote"}]}`,
		"template/modules/local/ignored.tf.bak":  param("ignored"),
		"template/modules/local/second.tf":       param("local"),
	}
	for p, c := range files {
		p = filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for _, p := range mandatoryParams(dir, filepath.Join(dir, "custom")) {
		got = append(got, p.name)
	}
	want := []string{"root", "local", "outside", "remote"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}
