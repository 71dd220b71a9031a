package lint

import (
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/claimdrift/claimdrift/analyzer"
)

// instance is one instantiation of a module: the root, or a module call.
type instance struct {
	mod      *module
	parent   *instance
	call     *moduleCall
	addr     string // "" for the root, module.a.module.b below
	children map[string]*instance
}

// maxInstances bounds the module instance tree.
const maxInstances = 1000

func buildInstances(l *loader, m *module, parent *instance, call *moduleCall, addr string, depth int, budget *int) *instance {
	inst := &instance{mod: m, parent: parent, call: call, addr: addr, children: map[string]*instance{}}
	*budget--
	if depth >= maxModuleDepth {
		return inst
	}
	for _, name := range m.callOrder {
		c := m.calls[name]
		if c.dir == "" || *budget <= 0 {
			continue
		}
		child, ok := l.modules[c.dir]
		if !ok || inst.hasAncestor(child) {
			// A module that calls itself, directly or not, is an error
			// for Terraform; do not follow it.
			continue
		}
		a := "module." + name
		if addr != "" {
			a = addr + "." + a
		}
		inst.children[name] = buildInstances(l, child, inst, c, a, depth+1, budget)
	}
	return inst
}

// hasAncestor reports whether m is the module of inst or of an instance above it.
func (inst *instance) hasAncestor(m *module) bool {
	for i := inst; i != nil; i = i.parent {
		if i.mod == m {
			return true
		}
	}
	return false
}

// walk calls fn for inst and every instance below it, parents first, in
// module call order.
func (inst *instance) walk(fn func(*instance)) {
	fn(inst)
	for _, name := range inst.mod.callOrder {
		if c, ok := inst.children[name]; ok {
			c.walk(fn)
		}
	}
}

// refSet is a set of rendered claim-sensitive references.
type refSet map[string]struct{}

func (s refSet) add(o refSet) {
	for k := range o {
		s[k] = struct{}{}
	}
}

func (s refSet) sorted() []string {
	out := make([]string, 0, len(s))
	for k := range s {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// scope binds the names a block introduces (each, count, self, a dynamic
// block's iterator) to the expression their value comes from.
type scope struct {
	parent *scope
	name   string
	// expr is nil when the name carries nothing that changes on claim
	// (count.index, self).
	expr hcl.Expression
	kind bindKind
	// evalIn is the scope expr is evaluated in, when it is not parent.
	evalIn *scope
}

// bind returns a scope with name bound to e, evaluated in s.
func (s *scope) bind(name string, e hcl.Expression) *scope {
	return &scope{parent: s, name: name, expr: e}
}

func (s *scope) lookup(name string) (*scope, bool) {
	for x := s; x != nil; x = x.parent {
		if x.name == name {
			return x, true
		}
	}
	return nil, false
}

// metaScope is the scope of a resource, data source or module call body:
// each is its for_each, count and self carry nothing.
func metaScope(body *hclsyntax.Body) *scope {
	var sc *scope
	sc = sc.bind("count", nil).bind("self", nil)
	if a, ok := body.Attributes["for_each"]; ok {
		return sc.bind("each", a.Expr)
	}
	return sc.bind("each", nil)
}

// evaluator finds the claim-sensitive references an expression depends on,
// and which resources a claim replaces.
type evaluator struct {
	claims *analyzer.ClaimMatcher
	table  table
	memo   map[memoKey]resolved
	active map[memoKey]bool

	cands      map[resKey][]*candidate
	candActive map[resKey]bool
	repl       map[resKey]refSet
	replActive map[resKey]bool
	// partDepth counts nested lookups of parts of values (part.go).
	partDepth int
}

type memoKey struct {
	inst *instance
	ref  string
}

type resKey struct {
	inst *instance
	r    *resource
}

// resolved is what a reference depends on; replaced names the resource
// whose replacement on claim changes it ("" when it is not a computed
// value of a replaced resource).
type resolved struct {
	refs     refSet
	replaced string
}

func newEvaluator(c *analyzer.ClaimMatcher, t table) *evaluator {
	return &evaluator{
		claims: c, table: t,
		memo: map[memoKey]resolved{}, active: map[memoKey]bool{},
		cands: map[resKey][]*candidate{}, candActive: map[resKey]bool{},
		repl: map[resKey]refSet{}, replActive: map[resKey]bool{},
	}
}

// expr returns the claim-sensitive references expression e depends on in
// inst and scope sc, and the direct references of e that lead to them.
func (ev *evaluator) expr(inst *instance, e hcl.Expression, sc *scope) (refs refSet, via []string) {
	refs = refSet{}
	seen := map[string]bool{}
	vars := e.Variables()
	forColls := ev.instanceCollections(inst, e, vars)
	for _, t := range vars {
		name := renderTraversal(t)
		var r resolved
		if fes, ok := forColls[name]; ok {
			// Iterated by for expressions only: what their bodies read
			// of each instance (instancesPart), once.
			if fes == nil {
				continue
			}
			forColls[name] = nil
			r.refs = refSet{}
			for _, fe := range fes {
				inner := ev.forScope(fe, sc)
				for _, x := range []hcl.Expression{fe.KeyExpr, fe.ValExpr, fe.CondExpr} {
					if x != nil {
						r.refs.add(ev.exprRefs(inst, x, inner))
					}
				}
			}
		} else if b, ok := sc.lookup(t.RootName()); ok {
			if b.expr == nil {
				continue
			}
			steps, _ := valueSteps(t)
			r.refs = ev.boundRefs(inst, b, steps)
		} else if refs, ok := ev.partRef(inst, t); ok {
			r.refs = refs
		} else {
			r = ev.traversal(inst, t)
		}
		if len(r.refs) == 0 {
			continue
		}
		refs.add(r.refs)
		if r.replaced != "" {
			name += " [new when claiming replaces " + r.replaced + "]"
		}
		if _, isRoot := r.refs[name]; !isRoot && !seen[name] {
			seen[name] = true
			via = append(via, name)
		}
	}
	sort.Strings(via)
	return refs, via
}

// instanceCollections finds the resources with count or for_each that e
// reads only as the collection of for expressions (not nested in another
// for expression): [for v in docker_volume.x : v.name]. It maps each such
// reference, as renderTraversal writes it, to those for expressions.
func (ev *evaluator) instanceCollections(inst *instance, e hcl.Expression, vars []hcl.Traversal) map[string][]*hclsyntax.ForExpr {
	if inst == nil || inst.mod == nil {
		return nil
	}
	// Most expressions read no such resource: no walk for them.
	if !slices.ContainsFunc(vars, func(t hcl.Traversal) bool { return ev.counted(inst, t) != nil }) {
		return nil
	}
	var out map[string][]*hclsyntax.ForExpr
	node, ok := e.(hclsyntax.Node)
	if !ok {
		return nil
	}
	w := &forWalker{visit: func(fe *hclsyntax.ForExpr) {
		st, ok := fe.CollExpr.(*hclsyntax.ScopeTraversalExpr)
		if !ok || ev.counted(inst, st.Traversal) == nil {
			return
		}
		if out == nil {
			out = map[string][]*hclsyntax.ForExpr{}
		}
		name := renderTraversal(st.Traversal)
		out[name] = append(out[name], fe)
	}}
	hclsyntax.Walk(node, w)
	// Read anywhere else too (or inside a for expression's body): the
	// whole resource, as before.
	uses := map[string]int{}
	for _, t := range vars {
		uses[renderTraversal(t)]++
	}
	for name, fes := range out {
		if uses[name] != len(fes) {
			delete(out, name)
		}
	}
	return out
}

// forWalker calls visit for each for expression that is not inside
// another one.
type forWalker struct {
	depth int
	visit func(*hclsyntax.ForExpr)
}

func (w *forWalker) Enter(n hclsyntax.Node) hcl.Diagnostics {
	if fe, ok := n.(*hclsyntax.ForExpr); ok {
		if w.depth == 0 {
			w.visit(fe)
		}
		w.depth++
	}
	return nil
}

func (w *forWalker) Exit(n hclsyntax.Node) hcl.Diagnostics {
	if _, ok := n.(*hclsyntax.ForExpr); ok {
		w.depth--
	}
	return nil
}

// keyRefs returns the claim-sensitive references of the instances a count
// or for_each makes: the keys of a for_each, the value of a count.
func (ev *evaluator) keyRefs(inst *instance, a *hclsyntax.Attribute) refSet {
	if a.Name == "for_each" {
		return ev.keysOf(inst, a.Expr, nil, nil)
	}
	return ev.exprRefs(inst, a.Expr, nil)
}

func (ev *evaluator) exprRefs(inst *instance, e hcl.Expression, sc *scope) refSet {
	r, _ := ev.expr(inst, e, sc)
	return r
}

// match reports whether a reference is claim-sensitive in inst. Patterns
// for var, local and module references apply in the root module only:
// below it, those are followed to the caller.
func (ev *evaluator) match(steps []string, root bool) bool {
	if !root {
		switch steps[0] {
		case "var", "local", "module":
			return false
		}
	}
	return ev.claims.Match(strings.Join(steps, "."))
}

// traversal resolves one reference outside any block scope.
func (ev *evaluator) traversal(inst *instance, t hcl.Traversal) resolved {
	steps := nameSteps(t)
	if len(steps) == 0 {
		return resolved{}
	}
	if ev.match(steps, inst.parent == nil) {
		return resolved{refs: refSet{renderTraversal(t): {}}}
	}
	key := memoKey{inst: inst}
	switch steps[0] {
	case "var", "local":
		key.ref = joinSteps(steps, 2)
	case "module":
		key.ref = joinSteps(steps, 3)
	case "data":
		if len(steps) < 3 || ev.claims.Source(joinSteps(steps, 3)) {
			// The claim-sensitive sources' other attributes stay
			// the same on claim (data.coder_workspace.me.id).
			return resolved{}
		}
		key.ref = joinSteps(steps, 3)
	case "each", "count", "self", "path", "terraform":
		return resolved{}
	default:
		key.ref = joinSteps(steps, len(steps))
	}
	if r, ok := ev.memo[key]; ok {
		return r
	}
	if ev.active[key] {
		return resolved{} // a cycle: Terraform rejects it; do not loop
	}
	ev.active[key] = true
	r := ev.resolve(inst, steps)
	delete(ev.active, key)
	ev.memo[key] = r
	return r
}

func (ev *evaluator) resolve(inst *instance, steps []string) resolved {
	m := inst.mod
	switch steps[0] {
	case "var":
		if len(steps) < 2 || inst.call == nil {
			return resolved{}
		}
		a, ok := inst.call.attrs[steps[1]]
		if !ok {
			return resolved{}
		}
		return resolved{refs: ev.exprRefs(inst.parent, a.Expr, metaScope(inst.call.block.Body))}
	case "local":
		if len(steps) < 2 {
			return resolved{}
		}
		a, ok := m.locals[steps[1]]
		if !ok {
			return resolved{}
		}
		return resolved{refs: ev.exprRefs(inst, a.Expr, nil)}
	case "module":
		if len(steps) < 2 {
			return resolved{}
		}
		child, ok := inst.children[steps[1]]
		if !ok {
			return resolved{}
		}
		out := refSet{}
		if len(steps) >= 3 {
			if a, ok := child.mod.outputs[steps[2]]; ok {
				out.add(ev.exprRefs(child, a.Expr, nil))
			}
			return resolved{refs: out}
		}
		for _, a := range child.mod.outputs {
			out.add(ev.exprRefs(child, a.Expr, nil))
		}
		return resolved{refs: out}
	case "data":
		// Every attribute of a data source depends on all of its
		// arguments: data.cloudinit_config.x.rendered follows the
		// parts it renders.
		d, ok := m.data[joinSteps(steps, 3)]
		if !ok {
			return resolved{}
		}
		return resolved{refs: ev.bodyRefs(inst, d.block.Body, true)}
	}
	if len(steps) < 2 {
		return resolved{}
	}
	r, ok := m.byAddr[steps[0]+"."+steps[1]]
	if !ok {
		return resolved{}
	}
	return ev.resourceRef(inst, r, steps[2:])
}

// bodyRefs returns every claim-sensitive reference of a block body; for a
// top-level body also those of its count or for_each.
func (ev *evaluator) bodyRefs(inst *instance, body *hclsyntax.Body, top bool) refSet {
	out := refSet{}
	sc := metaScope(body)
	walkBody(body, nil, top, sc, func(_ analyzer.Path, _ hcl.Range, e hcl.Expression, sc *scope) {
		out.add(ev.exprRefs(inst, e, sc))
	})
	if a := meta(body); top && a != nil {
		out.add(ev.exprRefs(inst, a.Expr, nil))
	}
	return out
}

// resourceRef resolves a reference into a managed resource: an argument
// set in the configuration follows its expression; a computed value (id,
// token, metadata[0].uid, an unset optional argument) changes when a claim
// replaces the resource.
func (ev *evaluator) resourceRef(inst *instance, r *resource, rest []string) resolved {
	sc := metaScope(r.block.Body)
	if len(rest) == 0 {
		out := refSet{}
		walkBody(r.block.Body, nil, true, sc, func(p analyzer.Path, _ hcl.Range, e hcl.Expression, sc *scope) {
			if !r.lifecycle.covers(p) {
				out.add(ev.exprRefs(inst, e, sc))
			}
		})
		res := resolved{refs: out}
		if rr := ev.replaceRefs(inst, r); len(rr) > 0 {
			out.add(rr)
			res.replaced = r.addr()
		}
		return res
	}
	if r.typ == "terraform_data" && rest[0] == "output" {
		// The built-in terraform_data's output is its input.
		rest = append([]string{"input"}, rest[1:]...)
	}
	if refs, found := ev.argRefs(inst, r, r.block.Body, rest, nil, sc); found {
		return resolved{refs: refs}
	}
	rr := ev.replaceRefs(inst, r)
	if len(rr) == 0 {
		return resolved{}
	}
	return resolved{refs: rr, replaced: r.addr()}
}

// argRefs follows the argument at rest (attribute and block names) in
// body; found is false when the configuration does not set it.
func (ev *evaluator) argRefs(inst *instance, r *resource, body *hclsyntax.Body, rest, prefix []string, sc *scope) (refSet, bool) {
	name := rest[0]
	names := append(append([]string{}, prefix...), name)
	if a, ok := body.Attributes[name]; ok {
		if r.lifecycle.coversNames(names) {
			// Terraform keeps the old value of an ignored argument.
			return nil, true
		}
		return ev.exprRefs(inst, a.Expr, sc), true
	}
	out := refSet{}
	found := false
	for _, b := range body.Blocks {
		switch {
		case b.Type == name && len(rest) == 1:
			found = true
			walkBody(b.Body, nil, false, sc, func(_ analyzer.Path, _ hcl.Range, e hcl.Expression, sc *scope) {
				out.add(ev.exprRefs(inst, e, sc))
			})
		case b.Type == name:
			if x, ok := ev.argRefs(inst, r, b.Body, rest[1:], names, sc); ok {
				found = true
				out.add(x)
			}
		case b.Type == "dynamic" && len(b.Labels) == 1 && b.Labels[0] == name:
			found = true
			walkBody(&hclsyntax.Body{Blocks: hclsyntax.Blocks{b}}, nil, false, sc, func(_ analyzer.Path, _ hcl.Range, e hcl.Expression, sc *scope) {
				out.add(ev.exprRefs(inst, e, sc))
			})
		}
	}
	if found && r.lifecycle.coversNames(names) {
		return nil, true
	}
	return out, found
}

// candidates returns the attributes of r that depend on claim-sensitive
// values, one per ignore_changes path.
func (ev *evaluator) candidates(inst *instance, r *resource) []*candidate {
	k := resKey{inst, r}
	if c, ok := ev.cands[k]; ok {
		return c
	}
	if ev.candActive[k] {
		return nil
	}
	ev.candActive[k] = true
	defer delete(ev.candActive, k)
	ti := ev.table[r.typ]
	var cands []*candidate
	byFix := map[string]*candidate{}
	walkBody(r.block.Body, nil, true, metaScope(r.block.Body), func(p analyzer.Path, rng hcl.Range, e hcl.Expression, sc *scope) {
		refs, via := ev.expr(inst, e, sc)
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
	})
	ev.cands[k] = cands
	return cands
}

// instanceRefs are the claim-sensitive references of r's count or for_each.
func (ev *evaluator) instanceRefs(inst *instance, r *resource) refSet {
	if a := meta(r.block.Body); a != nil {
		return ev.keyRefs(inst, a)
	}
	return nil
}

// replaceRefs returns the claim-sensitive references that make a claim
// replace r (or may: attributes whose behaviour the table does not know
// count), through its own arguments, its count or for_each, and its
// replace_triggered_by.
func (ev *evaluator) replaceRefs(inst *instance, r *resource) refSet {
	k := resKey{inst, r}
	if rr, ok := ev.repl[k]; ok {
		return rr
	}
	if ev.replActive[k] {
		return nil
	}
	ev.replActive[k] = true
	defer delete(ev.replActive, k)
	out := refSet{}
	for _, c := range ev.candidates(inst, r) {
		if r.lifecycle.covers(c.path) || r.lifecycle.covers(c.fix) {
			continue
		}
		if b, _ := ev.rate(r, c); b == behaviourUpdate {
			continue
		}
		out.add(c.refs)
	}
	out.add(ev.instanceRefs(inst, r))
	for _, t := range r.lifecycle.triggers {
		out.add(ev.exprRefs(inst, t, nil))
	}
	ev.repl[k] = out
	return out
}

// rate says what the provider does when c changes: the table's behaviour,
// with a conditional entry settled by its literal switch when it has one;
// cond names the switch of an unsettled conditional entry.
func (ev *evaluator) rate(r *resource, c *candidate) (behaviour, cond string) {
	ti := ev.table[r.typ]
	if ti == nil {
		return behaviourUnknown, ""
	}
	e, ok := ti.lookup(c.path)
	if !ok {
		return behaviourUnknown, ""
	}
	if e.behaviour != behaviourConditional {
		return e.behaviour, ""
	}
	switch boolArgument(r.block.Body, e.when) {
	case "true":
		return behaviourReplace, ""
	case "false":
		return behaviourUpdate, ""
	}
	return behaviourConditional, e.when
}

func joinSteps(steps []string, n int) string {
	if len(steps) < n {
		n = len(steps)
	}
	return strings.Join(steps[:n], ".")
}
