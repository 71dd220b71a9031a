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
	// Root is the absolute path of the directory fsys reads, recorded in
	// SARIF output as the %SRCROOT% base of the file locations (which are
	// relative to it); "" leaves the base unresolved.
	Root string
}

// Lint analyzes the Terraform configuration at the root of fsys and the
// local modules it calls. It returns a *ParseError (wrapping ErrSyntax) for
// a file that does not parse, and an error wrapping ErrNoConfig when the
// root holds no .tf file.
func Lint(fsys fs.FS, opts Options) (*Result, error) {
	claims, err := analyzer.NewClaimMatcher(opts.ClaimRefs)
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
	lt := &linter{ev: newEvaluator(claims, defaultTable), found: map[string]*Finding{}}
	root.walk(lt.instance)
	lt.presets(rootMod)
	res := &Result{declared: map[string]declaration{}}
	root.walk(func(inst *instance) {
		for _, r := range inst.mod.resources {
			rng := r.block.TypeRange
			res.declared[inst.addr+"|"+r.addr()] = declaration{file: r.file, line: rng.Start.Line, column: rng.Start.Column}
		}
	})
	res.roots, res.prefix = []string{opts.Root}, opts.PathPrefix
	for _, f := range lt.found {
		sort.Strings(f.Modules)
		res.locate(f)
		res.Findings = append(res.Findings, *f)
	}
	res.sort()
	if res.Findings == nil {
		res.Findings = []Finding{}
	}
	return res, nil
}

// locate sets the SARIF location fields of f: its root and its file
// relative to the linted directory.
func (r *Result) locate(f *Finding) {
	if len(r.roots) > 0 {
		f.root = r.roots[0]
	}
	f.rel = f.File
	if p := r.prefix; p != "" && p != "." {
		f.rel = strings.TrimPrefix(f.File, strings.TrimSuffix(p, "/")+"/")
	}
}

type linter struct {
	ev *evaluator
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
		lt.resource(inst, r)
	}
	for _, name := range inst.mod.callOrder {
		lt.call(inst, inst.mod.calls[name])
	}
}

func (lt *linter) resource(inst *instance, r *resource) {
	ti := lt.ev.table[r.typ]
	cands := lt.ev.candidates(inst, r)
	if a := meta(r.block.Body); a != nil {
		if refs := lt.ev.keyRefs(inst, a); len(refs) > 0 {
			_, via := lt.ev.expr(inst, a.Expr, nil)
			lt.instances(inst, r.file, r.addr(), r.typ, r.name, a, refs, via)
		}
	}
	for _, t := range r.lifecycle.triggers {
		if refs, via := lt.ev.expr(inst, t, metaScope(r.block.Body)); len(refs) > 0 {
			lt.trigger(inst, r, t, refs, via)
		}
	}
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

// presets reports presets (data "coder_workspace_preset" in the root
// module) marked default when more than one is: Coder refuses the template.
func (lt *linter) presets(m *module) {
	var defaults []*resource
	for _, d := range m.data {
		if d.typ == "coder_workspace_preset" && boolArgument(d.block.Body, "default") == "true" {
			defaults = append(defaults, d)
		}
	}
	if len(defaults) < 2 {
		return
	}
	sort.Slice(defaults, func(i, j int) bool { return defaults[i].addr() < defaults[j].addr() })
	names := make([]string, len(defaults))
	for i, d := range defaults {
		names[i] = d.addr()
	}
	root := &instance{}
	for _, d := range defaults {
		a := d.block.Body.Attributes["default"]
		f := lt.newFinding(root, d.file, d.addr(), "", "", "default", a.NameRange)
		f.Rule, f.Severity = RuleMultipleDefaultPresets, SeverityError
		f.Message = fmt.Sprintf("%d presets are marked default (%s); Coder refuses a template version with more than one", len(defaults), strings.Join(names, ", "))
		f.Fix = "set default = true on one preset only"
	}
}

// call reports a module call that lint could not read, and one whose count
// or for_each depends on claim-sensitive values.
func (lt *linter) call(inst *instance, c *moduleCall) {
	addr := "module." + c.name
	if c.notRead != "" {
		f := lt.newFinding(inst, c.file, addr, "", "", "", c.block.TypeRange)
		f.Rule, f.Severity = RuleModuleNotRead, SeverityWarning
		f.Message = fmt.Sprintf("%s was not read: %s; claim-sensitive values that pass through it are not followed, so findings in it and through its outputs are missing (run claimdrift simulate, or lint --plan, for an exact answer)", addr, c.notRead)
		if inputs, refs, via := lt.callInputs(inst, c); len(inputs) > 0 {
			f.References = mergeSorted(f.References, refs)
			f.Message += fmt.Sprintf("; its inputs %s depend on %s, which %s when a prebuilt workspace is claimed, so what it makes from them (apps and scripts of a replaced agent, names) is likely replaced on claim", strings.Join(quoteAll(inputs), ", "), describeRefs(refs, via), plural(len(refs), "changes", "change"))
		}
	}
	if a := meta(c.block.Body); a != nil {
		if refs := lt.ev.keyRefs(inst, a); len(refs) > 0 {
			_, via := lt.ev.expr(inst, a.Expr, nil)
			lt.instances(inst, c.file, addr, "", "", a, refs, via)
		}
	}
}

// callInputs returns the arguments of a module call that depend on
// claim-sensitive values, with those references and the direct references
// that lead to them.
func (lt *linter) callInputs(inst *instance, c *moduleCall) (inputs, refs, via []string) {
	all, viaSet := refSet{}, map[string]bool{}
	for name, a := range c.attrs {
		switch name {
		case "source", "version", "count", "for_each", "depends_on", "providers":
			continue
		}
		r, v := lt.ev.expr(inst, a.Expr, metaScope(c.block.Body))
		if len(r) == 0 {
			continue
		}
		inputs = append(inputs, name)
		all.add(r)
		for _, x := range v {
			viaSet[x] = true
		}
	}
	sort.Strings(inputs)
	for x := range viaSet {
		via = append(via, x)
	}
	sort.Strings(via)
	return inputs, all.sorted(), via
}

// instances reports a count or for_each that depends on claim-sensitive
// values: a claim destroys instances and creates others.
func (lt *linter) instances(inst *instance, file, addr, typ, name string, a *hclsyntax.Attribute, refs refSet, via []string) {
	f := lt.newFinding(inst, file, addr, typ, name, a.Name, a.NameRange)
	f.References = mergeSorted(f.References, refs.sorted())
	f.Rule, f.Severity = RuleInstanceKeys, SeverityError
	what := "instance keys"
	if a.Name == "count" {
		what = "number of instances"
	}
	verb := "depend"
	if a.Name == "count" {
		verb = "depends"
	}
	f.Message = fmt.Sprintf("the %s of %s (`%s`) %s on %s, which %s when a prebuilt workspace is claimed, so claiming destroys instances of %s and creates others", what, addr, a.Name, verb, describeRefs(f.References, via), plural(len(f.References), "changes", "change"), addr)
	f.Fix = fmt.Sprintf("derive %s from values that stay the same on claim (data.coder_workspace.me.start_count, parameters, the workspace id); ignore_changes cannot cover it", a.Name)
}

// trigger reports a replace_triggered_by entry that a claim fires.
func (lt *linter) trigger(inst *instance, r *resource, t hcl.Expression, refs refSet, via []string) {
	f := lt.newFinding(inst, r.file, r.addr(), r.typ, r.name, "", t.Range())
	f.References = mergeSorted(f.References, refs.sorted())
	f.Rule, f.Severity = RuleForcesReplacement, SeverityError
	ref := "an entry"
	if tr, diags := hcl.AbsTraversalForExpr(t); !diags.HasErrors() {
		ref = renderTraversal(tr)
	}
	f.Message = fmt.Sprintf("lifecycle.replace_triggered_by names `%s`, which depends on %s, which %s when a prebuilt workspace is claimed, so claiming replaces %s", ref, describeRefs(f.References, via), plural(len(f.References), "changes", "change"), r.addr())
	f.Fix = fmt.Sprintf("stop `%s` from changing on claim (see its own findings), or remove it from replace_triggered_by; ignore_changes cannot cover a trigger", ref)
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

// emitFunc receives an argument expression, the path it sets and the scope
// it is evaluated in.
type emitFunc func(p analyzer.Path, rng hcl.Range, e hcl.Expression, sc *scope)

// walkBody calls emit for every argument expression of a resource body, with
// the attribute path it sets. Nested blocks count: the second `env` block is
// env[1], also after a dynamic "env" block whose for_each has a literal
// length (after one of unknown length the index is unknown and the path
// stops at the block type); literal maps and lists are entered key by key.
func walkBody(body *hclsyntax.Body, prefix analyzer.Path, top bool, sc *scope, emit emitFunc) {
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
		walkExpr(append(prefix, a.Name), a.Expr, a.NameRange, sc, emit)
	}
	index := map[string]int{}
	unknown := map[string]bool{}
	for _, b := range body.Blocks {
		if top {
			switch b.Type {
			case "lifecycle", "provisioner", "connection":
				continue
			}
		}
		if b.Type == "dynamic" {
			if len(b.Labels) != 1 {
				continue
			}
			typ := b.Labels[0]
			walkDynamic(b, append(append(analyzer.Path{}, prefix...), typ), sc, emit)
			if n, ok := dynamicLength(b.Body); ok && !unknown[typ] {
				index[typ] += n
			} else {
				unknown[typ] = true
			}
			continue
		}
		if unknown[b.Type] {
			emitAll(b.Body, append(append(analyzer.Path{}, prefix...), b.Type), sc, emit)
			continue
		}
		p := append(append(analyzer.Path{}, prefix...), b.Type, index[b.Type])
		index[b.Type]++
		walkBody(b.Body, p, false, sc, emit)
	}
}

// walkDynamic reports a dynamic block at p (its block type: element
// indexes are not known statically): its for_each, and its content with
// the iterator bound to the for_each.
func walkDynamic(b *hclsyntax.Block, p analyzer.Path, sc *scope, emit emitFunc) {
	iter := b.Labels[0]
	if it, ok := b.Body.Attributes["iterator"]; ok {
		if kw := hcl.ExprAsKeyword(it.Expr); kw != "" {
			iter = kw
		}
	}
	var fe hcl.Expression
	if a, ok := b.Body.Attributes["for_each"]; ok {
		fe = a.Expr
		emit(p, a.NameRange, a.Expr, sc)
	}
	inner := sc.bind(iter, fe)
	for _, c := range b.Body.Blocks {
		if c.Type == "content" {
			emitAll(c.Body, p, inner, emit)
		}
	}
}

// dynamicLength returns the number of blocks a dynamic block makes when its
// for_each is a literal collection.
func dynamicLength(body *hclsyntax.Body) (int, bool) {
	a, ok := body.Attributes["for_each"]
	if !ok || len(a.Expr.Variables()) > 0 {
		return 0, false
	}
	v, diags := a.Expr.Value(nil)
	if diags.HasErrors() || !v.IsWhollyKnown() || v.IsNull() {
		return 0, false
	}
	t := v.Type()
	switch {
	case t.IsObjectType():
		return len(t.AttributeTypes()), true
	case t.IsListType(), t.IsSetType(), t.IsMapType(), t.IsTupleType():
		return v.LengthInt(), true
	}
	return 0, false
}

// emitAll reports every expression in body at path p.
func emitAll(body *hclsyntax.Body, p analyzer.Path, sc *scope, emit emitFunc) {
	attrs := make([]*hclsyntax.Attribute, 0, len(body.Attributes))
	for _, a := range body.Attributes {
		attrs = append(attrs, a)
	}
	sort.Slice(attrs, func(i, j int) bool { return attrs[i].SrcRange.Start.Byte < attrs[j].SrcRange.Start.Byte })
	for _, a := range attrs {
		emit(p, a.NameRange, a.Expr, sc)
	}
	for _, b := range body.Blocks {
		if b.Type == "dynamic" && len(b.Labels) == 1 {
			walkDynamic(b, p, sc, emit)
			continue
		}
		emitAll(b.Body, p, sc, emit)
	}
}

func walkExpr(p analyzer.Path, e hcl.Expression, rng hcl.Range, sc *scope, emit emitFunc) {
	switch e := e.(type) {
	case *hclsyntax.ObjectConsExpr:
		keys := make([]string, len(e.Items))
		for i, item := range e.Items {
			k, ok := literalKey(item.KeyExpr)
			if !ok {
				// A computed key: the whole map is the smallest
				// addressable path.
				emit(p, rng, e, sc)
				return
			}
			keys[i] = k
		}
		for i, item := range e.Items {
			// Keys themselves can be claim-sensitive only when computed,
			// handled above.
			walkExpr(append(append(analyzer.Path{}, p...), keys[i]), item.ValueExpr, item.KeyExpr.Range(), sc, emit)
		}
	case *hclsyntax.TupleConsExpr:
		for i, x := range e.Exprs {
			walkExpr(append(append(analyzer.Path{}, p...), i), x, x.Range(), sc, emit)
		}
	default:
		emit(p, rng, e, sc)
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
	f := lt.newFinding(inst, r.file, r.addr(), r.typ, r.name, c.fix.String(), c.rng)
	f.References = mergeSorted(f.References, c.refs.sorted())
	via := make([]string, 0, len(c.via))
	for v := range c.via {
		via = append(via, v)
	}
	sort.Strings(via)
	attr := c.fix.String()
	depends := describeRefs(f.References, via)
	claimed := fmt.Sprintf("`%s` depends on %s, which %s when a prebuilt workspace is claimed", attr, depends, plural(len(f.References), "changes", "change"))
	f.Fix = fixText(r.lifecycle, attr)
	f.ignorePath = attr
	behaviour, cond := lt.ev.rate(r, c)
	switch {
	case ti == nil:
		f.Rule, f.Severity = RuleUnknownAttribute, SeverityWarning
		f.Message = fmt.Sprintf("%s; claimdrift does not know whether %s can update it in place, so claiming may replace %s (check the provider's documentation, or run claimdrift simulate or lint --plan)", claimed, r.typ, r.addr())
	case behaviour == behaviourReplace:
		f.Rule, f.Severity = RuleForcesReplacement, SeverityError
		f.Message = fmt.Sprintf("%s; %s cannot update it in place, so claiming destroys and recreates %s", claimed, r.typ, r.addr())
		if extra := lt.templateLabels(inst, r, ti, c); len(extra) > 0 {
			// Kubernetes rejects a selector that no longer matches the
			// pod template's labels: ignore both, or neither.
			f.Fix = fixText(r.lifecycle, strings.Join(append([]string{attr}, extra...), ", "))
			f.Message += fmt.Sprintf("; the pod template's labels (%s) follow claim-sensitive values too and must keep matching the selector, so the fix ignores both", strings.Join(quoteAll(extra), ", "))
		}
	case behaviour == behaviourUpdate:
		f.Rule, f.Severity = RuleUpdatesInPlace, SeverityInfo
		f.Message = fmt.Sprintf("%s; %s updates it in place, so claiming changes %s without replacing it", claimed, r.typ, r.addr())
		f.Fix = ""
	case behaviour == behaviourConditional:
		f.Rule, f.Severity = RuleUnknownAttribute, SeverityWarning
		f.Message = fmt.Sprintf("%s; %s replaces %s on such a change only when %s is true, which is not a literal here", claimed, r.typ, r.addr(), cond)
	default:
		f.Rule, f.Severity = RuleUnknownAttribute, SeverityWarning
		f.Message = fmt.Sprintf("%s; claimdrift's table does not say whether %s can update `%s` in place, so claiming may replace %s (check the provider's documentation, or run claimdrift simulate or lint --plan)", claimed, r.typ, attr, r.addr())
	}
}

// selectorTypes are the kinds whose spec.selector is ForceNew and must
// match spec.template.metadata.labels.
var selectorTypes = map[string]bool{
	"kubernetes_deployment_v1":   true,
	"kubernetes_stateful_set_v1": true,
	"kubernetes_daemon_set_v1":   true,
}

// templateLabels returns, for a claim-sensitive selector of a deployment,
// stateful set or daemon set, the paths of the pod template labels that
// change on claim too and that ignore_changes does not cover yet.
func (lt *linter) templateLabels(inst *instance, r *resource, ti *typeInfo, c *candidate) []string {
	if ti == nil || !selectorTypes[ti.name] || !hasPrefix(c.fix, []any{"spec", 0, "selector"}) {
		return nil
	}
	var out []string
	for _, o := range lt.ev.candidates(inst, r) {
		if !hasPrefix(o.fix, []any{"spec", 0, "template", 0, "metadata", 0, "labels"}) {
			continue
		}
		if r.lifecycle.covers(o.path) || r.lifecycle.covers(o.fix) {
			continue
		}
		out = append(out, o.fix.String())
	}
	return out
}

// ignoreAll reports `ignore_changes = all`: too broad (a warning) on most
// resources, the recommended protection (info) on one that holds data.
func (lt *linter) ignoreAll(inst *instance, r *resource, cands []*candidate) {
	f := lt.newFinding(inst, r.file, r.addr(), r.typ, r.name, "", r.lifecycle.allRange)
	f.Rule, f.Severity = RuleIgnoreChangesAll, SeverityWarning
	var paths []string
	for _, c := range cands {
		paths = append(paths, c.fix.String())
		f.References = mergeSorted(f.References, c.refs.sorted())
	}
	if analyzer.IsStatefulType(r.typ, nil) {
		f.Severity = SeverityInfo
		f.Message = fmt.Sprintf("`ignore_changes = all` on %s, which holds data: no change, from a claim or from the template, replaces it (the recommended protection for volumes and disks; change it deliberately with terraform apply -replace)", r.addr())
		return
	}
	if len(paths) > 0 {
		f.Message = fmt.Sprintf("`ignore_changes = all` on %s hides every change, including real template changes; only %s %s on claim-sensitive values", r.addr(), strings.Join(quoteAll(paths), ", "), plural(len(paths), "depends", "depend"))
		f.Fix = "ignore_changes = [" + strings.Join(paths, ", ") + "]"
	} else {
		f.Message = fmt.Sprintf("`ignore_changes = all` on %s hides every change, including real template changes, and no attribute of it depends on claim-sensitive values; list the attributes to ignore instead", r.addr())
		f.Fix = "remove ignore_changes = all"
	}
}

// newFinding returns the finding stored under the key of (file, address,
// attribute, position), creating it; instances of the same module share it.
func (lt *linter) newFinding(inst *instance, file, addr, typ, name, attr string, rng hcl.Range) *Finding {
	key := fmt.Sprintf("%s|%s|%s|%d|%d", file, addr, attr, rng.Start.Line, rng.Start.Column)
	f, ok := lt.found[key]
	if !ok {
		f = &Finding{
			Resource:  addr,
			Attribute: attr,
			File:      rng.Filename,
			Line:      rng.Start.Line,
			Column:    rng.Start.Column,
			resType:   typ,
			resName:   name,
		}
		if f.File == "" {
			f.File = file
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
