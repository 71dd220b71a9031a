package lint

import (
	"fmt"
	"io/fs"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/claimdrift/claimdrift/analyzer"
)

// Options tune Lint.
type Options struct {
	// ClaimRefs are extra claim-sensitive reference patterns, added to
	// DefaultClaimRefs: dot-separated steps, each a path.Match pattern
	// (var.owner, data.external.who.*). Patterns for var, local and module
	// references apply in the root module only.
	ClaimRefs []string
	// PathPrefix is joined in front of every file name in findings and
	// errors, so that they read as the user named the directory.
	PathPrefix string
}

// Lint analyzes the Terraform configuration at the root of fsys and the
// local modules it calls. It returns a *ParseError (wrapping ErrSyntax) for
// a file that does not parse, and an error wrapping ErrNoConfig when the
// root holds no .tf file.
func Lint(fsys fs.FS, opts Options) (*Result, error) {
	claims, err := newClaimMatcher(opts.ClaimRefs)
	if err != nil {
		return nil, err
	}
	l := &loader{fsys: fsys, prefix: opts.PathPrefix, modules: map[string]*module{}}
	rootMod, err := l.load(".", 0)
	if err != nil {
		return nil, err
	}
	budget := maxInstances
	root := buildInstances(l, rootMod, nil, nil, "", 0, &budget)
	lt := &linter{ev: newEvaluator(claims), table: defaultTable, found: map[string]*Finding{}}
	root.walk(lt.instance)
	res := &Result{declared: map[string]declaration{}}
	root.walk(func(inst *instance) {
		for _, r := range inst.mod.resources {
			rng := r.block.TypeRange
			res.declared[inst.addr+"|"+r.addr()] = declaration{file: r.file, line: rng.Start.Line, column: rng.Start.Column}
		}
	})
	for _, f := range lt.found {
		sort.Strings(f.Modules)
		res.Findings = append(res.Findings, *f)
	}
	res.sort()
	if res.Findings == nil {
		res.Findings = []Finding{}
	}
	return res, nil
}

type linter struct {
	ev    *evaluator
	table table
	// found holds findings by a key that is the same for every instance of
	// a module, so that a module called twice reports once.
	found map[string]*Finding
}

// candidate is an attribute that depends on claim-sensitive values.
type candidate struct {
	path analyzer.Path // as written
	fix  analyzer.Path // addressable in ignore_changes
	rng  hcl.Range
	refs refSet
	via  map[string]bool
}

func (lt *linter) instance(inst *instance) {
	for _, r := range inst.mod.resources {
		if strings.HasPrefix(r.typ, "coder_") {
			continue
		}
		lt.resource(inst, r)
	}
}

func (lt *linter) resource(inst *instance, r *resource) {
	ti := lt.table[r.typ]
	var cands []*candidate
	byFix := map[string]*candidate{}
	emit := func(p analyzer.Path, rng hcl.Range, e hcl.Expression) {
		refs, via := lt.ev.expr(inst, e)
		if len(refs) == 0 {
			return
		}
		p = append(analyzer.Path{}, p...)
		fix := ti.setPrefix(p)
		key := fix.String()
		c, ok := byFix[key]
		if !ok {
			c = &candidate{path: p, fix: fix, rng: rng, refs: refSet{}, via: map[string]bool{}}
			byFix[key] = c
			cands = append(cands, c)
		}
		c.refs.add(refs)
		for _, v := range via {
			c.via[v] = true
		}
	}
	walkBody(r.block.Body, nil, true, emit)

	lc := r.lifecycle
	if lc.all {
		lt.ignoreAll(inst, r, cands)
		return
	}
	for _, c := range cands {
		if lc.covers(c.path) || lc.covers(c.fix) {
			continue
		}
		lt.attribute(inst, r, ti, c)
	}
}

// covers reports whether ignore_changes already holds p or a prefix of it.
func (lc *lifecycle) covers(p analyzer.Path) bool {
	if lc.all {
		return true
	}
	for _, ip := range lc.paths {
		if hasPrefix(p, ip) {
			return true
		}
	}
	return false
}

// walkBody calls emit for every argument expression of a resource body, with
// the attribute path it sets. Nested blocks count: the second `env` block is
// env[1]; literal maps and lists are entered key by key.
func walkBody(body *hclsyntax.Body, prefix analyzer.Path, top bool, emit func(analyzer.Path, hcl.Range, hcl.Expression)) {
	attrs := make([]*hclsyntax.Attribute, 0, len(body.Attributes))
	for _, a := range body.Attributes {
		attrs = append(attrs, a)
	}
	sort.Slice(attrs, func(i, j int) bool { return attrs[i].SrcRange.Start.Byte < attrs[j].SrcRange.Start.Byte })
	for _, a := range attrs {
		if top {
			switch a.Name {
			case "count", "for_each", "depends_on", "provider":
				continue
			}
		}
		walkExpr(append(prefix, a.Name), a.Expr, a.NameRange, emit)
	}
	index := map[string]int{}
	for _, b := range body.Blocks {
		if top {
			switch b.Type {
			case "lifecycle", "provisioner", "connection":
				continue
			}
		}
		if b.Type == "dynamic" {
			if len(b.Labels) == 1 {
				// Element indexes of a dynamic block are not known
				// statically: everything in it counts for the block.
				p := append(append(analyzer.Path{}, prefix...), b.Labels[0])
				emitAll(b.Body, p, emit)
			}
			continue
		}
		p := append(append(analyzer.Path{}, prefix...), b.Type, index[b.Type])
		index[b.Type]++
		walkBody(b.Body, p, false, emit)
	}
}

// emitAll reports every expression in body at path p.
func emitAll(body *hclsyntax.Body, p analyzer.Path, emit func(analyzer.Path, hcl.Range, hcl.Expression)) {
	attrs := make([]*hclsyntax.Attribute, 0, len(body.Attributes))
	for _, a := range body.Attributes {
		attrs = append(attrs, a)
	}
	sort.Slice(attrs, func(i, j int) bool { return attrs[i].SrcRange.Start.Byte < attrs[j].SrcRange.Start.Byte })
	for _, a := range attrs {
		emit(p, a.NameRange, a.Expr)
	}
	for _, b := range body.Blocks {
		emitAll(b.Body, p, emit)
	}
}

func walkExpr(p analyzer.Path, e hcl.Expression, rng hcl.Range, emit func(analyzer.Path, hcl.Range, hcl.Expression)) {
	switch e := e.(type) {
	case *hclsyntax.ObjectConsExpr:
		keys := make([]string, len(e.Items))
		for i, item := range e.Items {
			k, ok := literalKey(item.KeyExpr)
			if !ok {
				// A computed key: the whole map is the smallest
				// addressable path.
				emit(p, rng, e)
				return
			}
			keys[i] = k
		}
		for i, item := range e.Items {
			// Keys themselves can be claim-sensitive only when computed,
			// handled above.
			walkExpr(append(append(analyzer.Path{}, p...), keys[i]), item.ValueExpr, item.KeyExpr.Range(), emit)
		}
	case *hclsyntax.TupleConsExpr:
		for i, x := range e.Exprs {
			walkExpr(append(append(analyzer.Path{}, p...), i), x, x.Range(), emit)
		}
	default:
		emit(p, rng, e)
	}
}

func literalKey(e hclsyntax.Expression) (string, bool) {
	if k, ok := e.(*hclsyntax.ObjectConsKeyExpr); ok {
		if kw := hcl.ExprAsKeyword(k.Wrapped); kw != "" && !k.ForceNonLiteral {
			return kw, true
		}
		e = k.Wrapped
	}
	if len(e.Variables()) > 0 {
		return "", false
	}
	v, diags := e.Value(nil)
	if diags.HasErrors() || !v.IsKnown() || v.IsNull() || v.Type() != cty.String {
		return "", false
	}
	return v.AsString(), true
}

// attribute rates one uncovered claim-sensitive attribute.
func (lt *linter) attribute(inst *instance, r *resource, ti *typeInfo, c *candidate) {
	f := lt.newFinding(inst, r, c.fix.String(), c.rng)
	f.References = mergeSorted(f.References, c.refs.sorted())
	via := make([]string, 0, len(c.via))
	for v := range c.via {
		via = append(via, v)
	}
	sort.Strings(via)
	attr := c.fix.String()
	depends := describeRefs(f.References, via)
	verb := "changes"
	if len(f.References) > 1 {
		verb = "change"
	}
	claimed := fmt.Sprintf("`%s` depends on %s, which %s when a prebuilt workspace is claimed", attr, depends, verb)
	f.Fix = fixText(r.lifecycle, attr)
	f.ignorePath = attr
	switch {
	case ti == nil:
		f.Rule, f.Severity = RuleUnknownAttribute, SeverityWarning
		f.Message = fmt.Sprintf("%s; claimdrift does not know whether %s can update it in place, so claiming may replace %s (check the provider's documentation, or run claimdrift lint --plan)", claimed, r.typ, r.addr())
	default:
		e, ok := ti.lookup(c.path)
		behaviour := behaviourUnknown
		if ok {
			behaviour = e.behaviour
		}
		cond := ""
		if behaviour == behaviourConditional {
			cond = e.when
			switch boolArgument(r.block.Body, e.when) {
			case "true":
				behaviour = behaviourReplace
			case "false":
				behaviour = behaviourUpdate
			}
		}
		switch behaviour {
		case behaviourReplace:
			f.Rule, f.Severity = RuleForcesReplacement, SeverityError
			f.Message = fmt.Sprintf("%s; %s cannot update it in place, so claiming destroys and recreates %s", claimed, r.typ, r.addr())
		case behaviourUpdate:
			f.Rule, f.Severity = RuleUpdatesInPlace, SeverityInfo
			f.Message = fmt.Sprintf("%s; %s updates it in place, so claiming changes %s without replacing it", claimed, r.typ, r.addr())
			f.Fix = ""
		case behaviourConditional:
			f.Rule, f.Severity = RuleUnknownAttribute, SeverityWarning
			f.Message = fmt.Sprintf("%s; %s replaces %s on such a change only when %s is true, which is not a literal here", claimed, r.typ, r.addr(), cond)
		default:
			f.Rule, f.Severity = RuleUnknownAttribute, SeverityWarning
			f.Message = fmt.Sprintf("%s; claimdrift's table does not say whether %s can update `%s` in place, so claiming may replace %s (check the provider's documentation, or run claimdrift lint --plan)", claimed, r.typ, attr, r.addr())
		}
	}
}

// ignoreAll reports `ignore_changes = all`.
func (lt *linter) ignoreAll(inst *instance, r *resource, cands []*candidate) {
	f := lt.newFinding(inst, r, "", r.lifecycle.allRange)
	f.Rule, f.Severity = RuleIgnoreChangesAll, SeverityWarning
	var paths []string
	for _, c := range cands {
		paths = append(paths, c.fix.String())
		f.References = mergeSorted(f.References, c.refs.sorted())
	}
	if len(paths) > 0 {
		f.Message = fmt.Sprintf("`ignore_changes = all` on %s hides every change, including real template changes; only %s %s on claim-sensitive values", r.addr(), strings.Join(quoteAll(paths), ", "), plural(len(paths), "depends", "depend"))
		f.Fix = "ignore_changes = [" + strings.Join(paths, ", ") + "]"
	} else {
		f.Message = fmt.Sprintf("`ignore_changes = all` on %s hides every change, including real template changes, and no attribute of it depends on claim-sensitive values; list the attributes to ignore instead", r.addr())
		f.Fix = "remove ignore_changes = all"
	}
}

// newFinding returns the finding stored under the key of (resource,
// attribute, position), creating it; instances of the same module share it.
func (lt *linter) newFinding(inst *instance, r *resource, attr string, rng hcl.Range) *Finding {
	key := fmt.Sprintf("%s|%s|%s|%d|%d", r.file, r.addr(), attr, rng.Start.Line, rng.Start.Column)
	f, ok := lt.found[key]
	if !ok {
		f = &Finding{
			Resource:  r.addr(),
			Attribute: attr,
			File:      rng.Filename,
			Line:      rng.Start.Line,
			Column:    rng.Start.Column,
			resType:   r.typ,
			resName:   r.name,
		}
		if f.File == "" {
			f.File = r.file
		}
		lt.found[key] = f
	}
	for _, m := range f.Modules {
		if m == inst.addr {
			return f
		}
	}
	f.Modules = append(f.Modules, inst.addr)
	return f
}

// boolArgument returns "true" or "false" for a literal boolean argument,
// "false" when it is absent (the providers' default), "" otherwise.
func boolArgument(body *hclsyntax.Body, name string) string {
	a, ok := body.Attributes[name]
	if !ok {
		return "false"
	}
	if len(a.Expr.Variables()) > 0 {
		return ""
	}
	v, diags := a.Expr.Value(nil)
	if diags.HasErrors() || !v.IsKnown() || v.IsNull() || v.Type() != cty.Bool {
		return ""
	}
	if v.True() {
		return "true"
	}
	return "false"
}

// fixText is the ignore_changes edit that covers attr.
func fixText(lc *lifecycle, attr string) string {
	list := append(append([]string{}, lc.rendered...), attr)
	if lc.present {
		return "ignore_changes = [" + strings.Join(list, ", ") + "]"
	}
	return "lifecycle { ignore_changes = [" + strings.Join(list, ", ") + "] }"
}

func describeRefs(refs, via []string) string {
	s := strings.Join(refs, ", ")
	if len(via) > 0 {
		s += " (via " + strings.Join(via, ", ") + ")"
	}
	return s
}

func quoteAll(xs []string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = "`" + x + "`"
	}
	return out
}

func mergeSorted(a, b []string) []string {
	set := map[string]bool{}
	for _, x := range a {
		set[x] = true
	}
	for _, x := range b {
		set[x] = true
	}
	out := make([]string, 0, len(set))
	for x := range set {
		out = append(out, x)
	}
	sort.Strings(out)
	return out
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
