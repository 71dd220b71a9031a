package analyzer

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
)

// The plan's "configuration" section, as much of it as attribution needs.

type cfgModule struct {
	Resources   []cfgResource        `json:"resources"`
	ModuleCalls map[string]cfgCall   `json:"module_calls"`
	Outputs     map[string]cfgOutput `json:"outputs"`
}

type cfgOutput struct {
	Expression json.RawMessage `json:"expression"`
}

type cfgResource struct {
	Address           string                     `json:"address"`
	Mode              string                     `json:"mode"`
	Type              string                     `json:"type"`
	Name              string                     `json:"name"`
	Expressions       map[string]json.RawMessage `json:"expressions"`
	ForEachExpression json.RawMessage            `json:"for_each_expression"`
}

type cfgCall struct {
	Expressions       map[string]json.RawMessage `json:"expressions"`
	ForEachExpression json.RawMessage            `json:"for_each_expression"`
	Module            cfgModule                  `json:"module"`
}

type cfgExpr struct {
	References []string `json:"references"`
}

// parseExpr reads an expression object's references, in place (an
// expression that is not an object, or whose references are not a list of
// strings, gives false).
func parseExpr(raw []byte) (cfgExpr, bool) {
	var e cfgExpr
	ok := true
	err := objectEach(raw, func(k []byte, _ int, v []byte, _ int) (bool, error) {
		if string(k) != "references" {
			return false, nil
		}
		e.References = e.References[:0]
		if string(v) == "null" {
			return false, nil
		}
		return false, arrayEach(v, func(_ int, el []byte, _ int) error {
			r, err := unquote(el)
			if err != nil {
				ok = false
				return err
			}
			e.References = append(e.References, r)
			return nil
		})
	})
	if err != nil || !ok {
		return cfgExpr{}, false
	}
	return e, true
}

// blockList reads a list of nested blocks, each a map of its expressions
// (values in place); false when raw is not a list of objects.
func blockList(raw []byte) ([]map[string]json.RawMessage, bool) {
	var blocks []map[string]json.RawMessage
	err := arrayEach(raw, func(_ int, el []byte, _ int) error {
		b := map[string]json.RawMessage{}
		if string(el) != "null" {
			if err := objectEach(el, func(k []byte, _ int, v []byte, _ int) (bool, error) {
				b[string(k)] = v
				return false, nil
			}); err != nil {
				return err
			}
		}
		blocks = append(blocks, b)
		return nil
	})
	return blocks, err == nil
}

type cfgRoot struct {
	RootModule cfgModule `json:"root_module"`
}

// parseConfiguration reads the configuration section; attribution is
// best effort, so a section it cannot read gives nil, not an error. It
// walks the raw bytes with the package's scanner: expressions stay slices
// of raw (read when a replaced attribute needs them), nothing is decoded
// that attribution does not use.
func parseConfiguration(raw []byte) *cfgRoot {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	var c cfgRoot
	err := objectEach(raw, func(k []byte, _ int, v []byte, _ int) (bool, error) {
		if string(k) == "root_module" {
			return false, parseModule(v, &c.RootModule, 0)
		}
		return false, nil
	})
	if err != nil {
		return nil
	}
	return &c
}

// maxModuleDepth bounds module calls within module calls (Terraform's own
// limit is far lower in practice); a deeper section is not read.
const maxModuleDepth = 100

var errTooDeep = errors.New("module calls nested too deep")

// parseModule reads a configuration module (null leaves it empty).
func parseModule(raw []byte, m *cfgModule, depth int) error {
	if depth > maxModuleDepth {
		return errTooDeep
	}
	if isNull(raw) {
		return nil
	}
	return objectEach(raw, func(k []byte, _ int, v []byte, _ int) (bool, error) {
		switch string(k) {
		case "resources":
			m.Resources = m.Resources[:0]
			return false, eachNonNull(v, func(el []byte) error {
				var r cfgResource
				if err := parseResource(el, &r); err != nil {
					return err
				}
				m.Resources = append(m.Resources, r)
				return nil
			})
		case "module_calls":
			m.ModuleCalls = map[string]cfgCall{}
			return false, eachMember(v, func(name string, cv []byte) error {
				var c cfgCall
				if !isNull(cv) {
					if err := objectEach(cv, func(k []byte, _ int, v []byte, _ int) (bool, error) {
						switch string(k) {
						case "expressions":
							return false, rawMembers(v, &c.Expressions)
						case "for_each_expression":
							c.ForEachExpression = v
						case "module":
							return false, parseModule(v, &c.Module, depth+1)
						}
						return false, nil
					}); err != nil {
						return err
					}
				}
				m.ModuleCalls[name] = c
				return nil
			})
		case "outputs":
			m.Outputs = map[string]cfgOutput{}
			return false, eachMember(v, func(name string, ov []byte) error {
				var o cfgOutput
				if !isNull(ov) {
					if err := objectEach(ov, func(k []byte, _ int, v []byte, _ int) (bool, error) {
						if string(k) == "expression" {
							o.Expression = v
						}
						return false, nil
					}); err != nil {
						return err
					}
				}
				m.Outputs[name] = o
				return nil
			})
		}
		return false, nil
	})
}

// parseResource reads one resource of a configuration module.
func parseResource(raw []byte, r *cfgResource) error {
	return objectEach(raw, func(k []byte, _ int, v []byte, _ int) (bool, error) {
		var err error
		switch string(k) {
		case "address":
			r.Address, err = stringOrNull(v, r.Address)
		case "mode":
			r.Mode, err = stringOrNull(v, r.Mode)
		case "type":
			r.Type, err = stringOrNull(v, r.Type)
		case "name":
			r.Name, err = stringOrNull(v, r.Name)
		case "expressions":
			err = rawMembers(v, &r.Expressions)
		case "for_each_expression":
			r.ForEachExpression = v
		}
		return false, err
	})
}

func isNull(raw []byte) bool { return string(bytes.TrimSpace(raw)) == "null" }

// stringOrNull is a string value, or old for null.
func stringOrNull(raw []byte, old string) (string, error) {
	if isNull(raw) {
		return old, nil
	}
	return unquote(raw)
}

// rawMembers reads an object into a map of its raw values (null: nil).
func rawMembers(raw []byte, m *map[string]json.RawMessage) error {
	if isNull(raw) {
		*m = nil
		return nil
	}
	*m = map[string]json.RawMessage{}
	return objectEach(raw, func(k []byte, _ int, v []byte, _ int) (bool, error) {
		(*m)[string(k)] = v
		return false, nil
	})
}

// eachMember calls fn for each member of an object (null: none).
func eachMember(raw []byte, fn func(name string, v []byte) error) error {
	if isNull(raw) {
		return nil
	}
	return objectEach(raw, func(k []byte, _ int, v []byte, _ int) (bool, error) {
		return false, fn(string(k), v)
	})
}

// eachNonNull calls fn for each element of an array that is not null
// (a null array: none).
func eachNonNull(raw []byte, fn func(el []byte) error) error {
	if isNull(raw) {
		return nil
	}
	return arrayEach(raw, func(_ int, el []byte, _ int) error {
		if isNull(el) {
			return nil
		}
		return fn(el)
	})
}

// ModuleCalls splits a module instance address such as
// module.ws["a b"].module.agent[0] into its module call names: ws, agent.
// It reports false for a string that is not a module address.
func ModuleCalls(addr string) ([]string, bool) {
	segs, ok := moduleSegments(addr)
	if !ok || len(segs) == 0 {
		return nil, ok
	}
	calls := make([]string, len(segs))
	for i, seg := range segs {
		calls[i] = refRoot(strings.TrimPrefix(seg, "module."))
	}
	return calls, true
}

// moduleSegments splits a module instance address into its
// module.NAME[KEY] segments (the key is optional).
func moduleSegments(addr string) ([]string, bool) {
	var segs []string
	s := addr
	for s != "" {
		if !strings.HasPrefix(s, "module.") {
			return nil, false
		}
		j := len("module.")
		for j < len(s) && s[j] != '.' && s[j] != '[' {
			j++
		}
		if j == len("module.") {
			return nil, false // no call name
		}
		if j < len(s) && s[j] == '[' {
			rest, ok := skipIndex(s[j:])
			if !ok {
				return nil, false
			}
			j = len(s) - len(rest)
		}
		segs = append(segs, s[:j])
		s = s[j:]
		if s == "" {
			break
		}
		if s[0] != '.' || len(s) == 1 {
			return nil, false
		}
		s = s[1:]
	}
	return segs, true
}

// skipIndex skips one [key] instance key (a quoted string or a number).
func skipIndex(s string) (string, bool) {
	if len(s) < 2 || s[0] != '[' {
		return s, false
	}
	if s[1] == '"' {
		i := 2
		for i < len(s) {
			switch s[i] {
			case '\\':
				i += 2
				continue
			case '"':
				if i+1 < len(s) && s[i+1] == ']' {
					return s[i+2:], true
				}
				return s, false
			}
			i++
		}
		return s, false
	}
	end := strings.IndexByte(s, ']')
	if end < 0 {
		return s, false
	}
	return s[end+1:], true
}

// scope is a module instance's configuration and how it was called.
type scope struct {
	mod    *cfgModule
	call   *cfgCall // nil for the root module
	parent *scope
	prefix string // "module.a.module.b." for child modules, "" at the root
}

// scopeFor finds the configuration scope of a module address.
func (c *cfgRoot) scopeFor(moduleAddr string) (*scope, bool) {
	sc := &scope{mod: &c.RootModule}
	if moduleAddr == "" {
		return sc, true
	}
	calls, ok := ModuleCalls(moduleAddr)
	if !ok {
		return nil, false
	}
	for _, name := range calls {
		call, ok := sc.mod.ModuleCalls[name]
		if !ok {
			return nil, false
		}
		sc = &scope{mod: &call.Module, call: &call, parent: sc, prefix: sc.prefix + "module." + name + "."}
	}
	return sc, true
}

// resource finds a managed resource's configuration in a module.
func (m *cfgModule) resource(typ, name string) *cfgResource {
	for i := range m.Resources {
		r := &m.Resources[i]
		if r.Type == typ && r.Name == name && (r.Mode == "managed" || r.Mode == "") {
			return r
		}
	}
	return nil
}

// exprAt finds the expression behind an attribute path: the attribute's own
// expression for a plain attribute (deeper steps index into its value), or
// the attribute inside a nested block for block paths such as
// metadata[0].name. Blocks that cannot be indexed are merged.
func exprAt(exprs map[string]json.RawMessage, p Path) (cfgExpr, bool) {
	if len(p) == 0 {
		return cfgExpr{}, false
	}
	name, ok := p[0].(string)
	if !ok {
		return cfgExpr{}, false
	}
	raw, ok := exprs[name]
	if !ok {
		return cfgExpr{}, false
	}
	rest := p[1:]
	for depth := 0; depth < 64; depth++ {
		raw = bytes.TrimSpace(raw)
		if len(raw) == 0 {
			return cfgExpr{}, false
		}
		if raw[0] == '{' {
			return parseExpr(raw)
		}
		if raw[0] != '[' {
			return cfgExpr{}, false
		}
		blocks, ok := blockList(raw)
		if !ok || len(blocks) == 0 {
			return cfgExpr{}, false
		}
		if len(rest) > 0 {
			if idx, ok := rest[0].(int); ok {
				if idx < len(blocks) {
					blocks = blocks[idx : idx+1]
				}
				rest = rest[1:]
			}
		}
		if len(rest) == 0 {
			// The whole block: every expression in it.
			var merged cfgExpr
			for _, b := range blocks {
				for k := range b {
					if e, ok := exprAt(b, Path{k}); ok {
						merged.References = append(merged.References, e.References...)
					}
				}
			}
			return merged, true
		}
		attr, ok := rest[0].(string)
		if !ok {
			return cfgExpr{}, false
		}
		rest = rest[1:]
		if len(blocks) == 1 {
			raw, ok = blocks[0][attr]
			if !ok {
				return cfgExpr{}, false
			}
			continue
		}
		var merged cfgExpr
		found := false
		for _, b := range blocks {
			if e, ok := exprAt(b, append(Path{attr}, rest...)); ok {
				merged.References = append(merged.References, e.References...)
				found = true
			}
		}
		return merged, found
	}
	return cfgExpr{}, false
}

func exprRefs(raw json.RawMessage) []string {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	e, _ := parseExpr(raw)
	return e.References
}

// resolve follows references to the root module: a module's var.X becomes
// the caller's expression for X, module.M.O the child's output expression,
// each.key/each.value the for_each expression they come from. References
// that cannot be followed further (root variables, locals, data sources,
// resources) are returned, qualified with their module path when they are
// inside a child module.
func (sc *scope) resolve(refs []string, forEach json.RawMessage, depth int, out map[string]bool) {
	if depth > 64 {
		return
	}
	for _, r := range normalizeRefs(refs) {
		switch {
		case strings.HasPrefix(r, "var."):
			if sc.call == nil {
				out[r] = true
				continue
			}
			name := refRoot(r[len("var."):])
			if e, ok := sc.call.Expressions[name]; ok {
				sc.parent.resolve(exprRefs(e), sc.call.ForEachExpression, depth+1, out)
			} else {
				out[sc.prefix+r] = true // the variable's default
			}
		case strings.HasPrefix(r, "each."):
			if forEach != nil {
				sc.resolve(exprRefs(forEach), nil, depth+1, out)
			}
		case r == "count.index" || strings.HasPrefix(r, "path.") || r == "terraform.workspace" || strings.HasPrefix(r, "self."):
			// Not an input that differs between builds.
		case strings.HasPrefix(r, "module."):
			rest := r[len("module."):]
			name := refRoot(rest)
			output := ""
			if after := strings.TrimPrefix(rest[len(name):], "."); after != rest[len(name):] {
				output = refRoot(after)
			}
			call, ok := sc.mod.ModuleCalls[name]
			if !ok || output == "" {
				out[sc.prefix+r] = true
				continue
			}
			o, ok := call.Module.Outputs[output]
			if !ok {
				out[sc.prefix+r] = true
				continue
			}
			child := &scope{mod: &call.Module, call: &call, parent: sc, prefix: sc.prefix + "module." + name + "."}
			child.resolve(exprRefs(o.Expression), nil, depth+1, out)
		default:
			out[sc.prefix+r] = true
		}
	}
}

// refRoot returns the first name of a traversal: "owner" of "owner.name[0]".
func refRoot(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] == '.' || s[i] == '[' {
			return s[:i]
		}
	}
	return s
}

// normalizeRefs drops references that only repeat a prefix of a more
// specific one in the same list (terraform lists both
// data.coder_workspace_owner.me.name and data.coder_workspace_owner.me).
func normalizeRefs(refs []string) []string {
	var out []string
	for _, r := range refs {
		covered := false
		for _, o := range refs {
			if len(o) > len(r) && strings.HasPrefix(o, r) && (o[len(r)] == '.' || o[len(r)] == '[') {
				covered = true
				break
			}
		}
		if !covered {
			out = append(out, r)
		}
	}
	return out
}
