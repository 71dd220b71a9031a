package simulate

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"regexp/syntax"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// ErrMissingParameter is returned when a parameter has no default and
// neither the preset nor Options.Params gives it a value: a real build
// would ask the user for it.
var ErrMissingParameter = errors.New("parameter has no value")

// mandatoryParam is a data "coder_parameter" without a default: Coder's
// build only succeeds when the preset or the user gives it a value.
type mandatoryParam struct {
	name string
	// placeholder is a value that passes the block's own checks (first
	// option, validation min, a string matching the regex): the first
	// plan, which only reads the presets, runs with it.
	placeholder string
}

// mandatoryParams reads, statically, the data "coder_parameter" blocks of
// the root module in dir and of the modules it was initialized with (the
// module manifest in dataDir names their directories, relative to dir), and
// returns those without a default whose name is a literal string. Files
// that do not parse are skipped: terraform reports them.
func mandatoryParams(dir, dataDir string) []mandatoryParam {
	dirs := []string{dir}
	if b, err := os.ReadFile(filepath.Join(dataDir, "modules", "modules.json")); err == nil {
		var m struct {
			Modules []struct {
				Dir string `json:"Dir"`
			} `json:"Modules"`
		}
		if json.Unmarshal(b, &m) == nil {
			for _, mod := range m.Modules {
				d := filepath.FromSlash(mod.Dir)
				if !filepath.IsAbs(d) {
					d = filepath.Join(dir, d)
				}
				dirs = append(dirs, d)
			}
		}
	}
	seenDir := map[string]bool{}
	seen := map[string]bool{}
	var out []mandatoryParam
	for _, d := range dirs {
		d = filepath.Clean(d)
		if seenDir[d] {
			continue
		}
		seenDir[d] = true
		files, _ := filepath.Glob(filepath.Join(d, "*.tf"))
		sort.Strings(files)
		for _, f := range files {
			src, err := os.ReadFile(f)
			if err != nil {
				continue
			}
			for _, p := range mandatoryParamsIn(src, f) {
				if !seen[p.name] {
					seen[p.name] = true
					out = append(out, p)
				}
			}
		}
	}
	return out
}

func mandatoryParamsIn(src []byte, name string) []mandatoryParam {
	f, diags := hclsyntax.ParseConfig(src, name, hcl.InitialPos)
	if diags.HasErrors() {
		return nil
	}
	body, ok := f.Body.(*hclsyntax.Body)
	if !ok {
		return nil
	}
	var out []mandatoryParam
	for _, blk := range body.Blocks {
		if blk.Type != "data" || len(blk.Labels) != 2 || blk.Labels[0] != "coder_parameter" {
			continue
		}
		if def, ok := blk.Body.Attributes["default"]; ok {
			if v, d := def.Expr.Value(nil); d.HasErrors() || !v.IsNull() {
				continue
			}
		}
		pname, ok := literalString(blk.Body.Attributes["name"])
		if !ok {
			continue
		}
		typ, _ := literalString(blk.Body.Attributes["type"])
		out = append(out, mandatoryParam{name: pname, placeholder: placeholderFor(typ, blk.Body)})
	}
	return out
}

// literalString is an attribute's value when it is a constant string or
// number (no references).
func literalString(a *hclsyntax.Attribute) (string, bool) {
	if a == nil {
		return "", false
	}
	v, d := a.Expr.Value(nil)
	if d.HasErrors() || v.IsNull() || !v.IsKnown() {
		return "", false
	}
	switch v.Type() {
	case cty.String:
		return v.AsString(), true
	case cty.Number:
		return v.AsBigFloat().Text('f', -1), true
	case cty.Bool:
		if v.True() {
			return "true", true
		}
		return "false", true
	}
	return "", false
}

// placeholderFor is a value of the parameter's type that its option and
// validation blocks accept.
func placeholderFor(typ string, body *hclsyntax.Body) string {
	var regex string
	var min *big.Float
	for _, b := range body.Blocks {
		switch b.Type {
		case "option":
			if v, ok := literalString(b.Body.Attributes["value"]); ok {
				return v
			}
		case "validation":
			if r, ok := literalString(b.Body.Attributes["regex"]); ok {
				regex = r
			}
			if a := b.Body.Attributes["min"]; a != nil {
				if v, d := a.Expr.Value(nil); !d.HasErrors() && v.Type() == cty.Number && v.IsKnown() && !v.IsNull() {
					min = v.AsBigFloat()
				}
			}
		}
	}
	switch {
	case typ == "number":
		if min != nil {
			return min.Text('f', -1)
		}
		return "0"
	case typ == "bool":
		return "false"
	case strings.HasPrefix(typ, "list"):
		return "[]"
	case regex != "":
		if s, ok := matchingString(regex); ok {
			return s
		}
	}
	return "claimdrift-placeholder"
}

// matchingString makes up a short string that the regular expression
// matches: the first alternative, the minimum repetitions, the first
// character of each class. ok is false when the result does not match
// (anchors in odd places, look-alikes).
func matchingString(expr string) (string, bool) {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return "", false
	}
	var sb strings.Builder
	var gen func(r *syntax.Regexp)
	gen = func(r *syntax.Regexp) {
		switch r.Op {
		case syntax.OpLiteral:
			sb.WriteString(string(r.Rune))
		case syntax.OpCharClass:
			if len(r.Rune) > 0 {
				c := r.Rune[0]
				// Prefer a printable letter or digit inside the class.
				for i := 0; i+1 < len(r.Rune); i += 2 {
					if lo, hi := r.Rune[i], r.Rune[i+1]; lo <= 'a' && 'a' <= hi {
						c = 'a'
						break
					} else if lo >= ' ' && lo < 0x7f {
						c = lo
						break
					}
				}
				sb.WriteRune(c)
			}
		case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
			sb.WriteByte('a')
		case syntax.OpCapture:
			gen(r.Sub[0])
		case syntax.OpPlus:
			gen(r.Sub[0])
		case syntax.OpRepeat:
			for i := 0; i < r.Min; i++ {
				gen(r.Sub[0])
			}
		case syntax.OpConcat:
			for _, s := range r.Sub {
				gen(s)
			}
		case syntax.OpAlternate:
			gen(r.Sub[0])
		}
		// Star, Quest, empty and anchors add nothing.
	}
	gen(re)
	s := sb.String()
	ok, err := regexp.MatchString(expr, s)
	return s, err == nil && ok
}

// fillParams completes a build's parameter values: values from
// Options.Params for parameters the preset does not set, then an error
// naming the first mandatory parameter still without a value.
func fillParams(b *build, given map[string]string, mandatory []mandatoryParam) error {
	for k, v := range given {
		if _, ok := b.ws.parameters[k]; !ok {
			if b.ws.parameters == nil {
				b.ws.parameters = map[string]string{}
			}
			b.ws.parameters[k] = v
		}
	}
	for _, p := range mandatory {
		if _, ok := b.ws.parameters[p.name]; ok {
			continue
		}
		if b.preset == "" {
			return fmt.Errorf("%w: %q has no default and no preset sets it; give one with --param %s=VALUE", ErrMissingParameter, p.name, p.name)
		}
		return fmt.Errorf("%w: %q has no default and preset %q does not set it; give one with --param %s=VALUE", ErrMissingParameter, p.name, b.preset, p.name)
	}
	return nil
}
