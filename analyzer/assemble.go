package analyzer

import (
	"sort"
	"strconv"
)

// assembler collects what the report needs while the parser walks the plan.
type assembler struct {
	opts   Options
	rep    Report
	config []byte // the plan's configuration section, for attribution
}

func newAssembler(opts Options) *assembler {
	return &assembler{opts: opts, rep: Report{
		Schema:       Schema,
		Replacements: []Replacement{},
		Drift:        []Drift{},
	}}
}

func (a *assembler) report() *Report {
	a.attribute()
	sortReport(&a.rep)
	r := a.rep
	return &r
}

// isReplace reports whether actions is a replacement: ["delete","create"]
// or ["create","delete"].
func isReplace(actions []string) bool {
	return len(actions) == 2 &&
		(actions[0] == "delete" && actions[1] == "create" || actions[0] == "create" && actions[1] == "delete")
}

// count adds one resource change's actions to the summary.
func (a *assembler) count(actions []string) {
	s := &a.rep.Summary
	if isReplace(actions) {
		s.Replace++
		return
	}
	for _, act := range actions {
		switch act {
		case "create":
			s.Create++
		case "update":
			s.Update++
		case "delete":
			s.Delete++
		case "read":
			s.Read++
		case "no-op", "noop":
			s.NoOp++
		case "forget":
			s.Forget++
		default:
			if s.Other == nil {
				s.Other = map[string]int{}
			}
			s.Other[act]++
		}
	}
}

// Header fields of a resource change, as indexes into resourceChange.raw.
const (
	fAddress = iota
	fPrevious
	fModule
	fType
	fName
	fProvider
	fDeposed
	fReason
	numFields
)

// fieldNames are the JSON keys of the header fields, in field order.
var fieldNames = [numFields]string{"address", "previous_address", "module_address", "type", "name", "provider_name", "deposed", "action_reason"}

// fieldIndex maps a JSON key to its header field, or -1.
func fieldIndex(key []byte) int {
	for i, n := range fieldNames {
		if string(key) == n {
			return i
		}
	}
	return -1
}

// resourceChange holds the fields of one resource_changes element that the
// report uses. Raw parts point into the element's bytes; the string fields
// are decoded (decode) only for the elements the report keeps.
type resourceChange struct {
	raw       [numFields][]byte
	offs      [numFields]int
	field     [numFields]string
	actions   []string
	change    []byte
	changeOff int
}

// decode decodes the string fields kept raw by readHeader.
func (rc *resourceChange) decode() error {
	for i, raw := range rc.raw {
		if raw == nil {
			continue
		}
		v, err := asString(raw)
		if err != nil {
			return inField(rebase(err, rc.offs[i]), fieldNames[i])
		}
		rc.field[i] = v
	}
	return nil
}

// readHeader reads the element's identifying fields and change.actions.
// With stopEarly it returns as soon as it knows the change is not a
// replacement, without walking the rest of the element (the before and
// after values are most of it).
func readHeader(v []byte, stopEarly bool) (resourceChange, error) {
	var rc resourceChange
	it, err := newMemberIter(v)
	if err != nil {
		return rc, err
	}
	for {
		key, vs, ok, err := it.next()
		if err != nil {
			return rc, err
		}
		if !ok {
			break
		}
		isChange := string(key) == "change"
		if isChange {
			acts, found, err := findActions(v[vs:])
			if err != nil {
				return rc, rebase(err, vs)
			}
			if !found {
				return rc, invalidAt(vs, "change has no actions")
			}
			rc.actions = acts
			if stopEarly && !isReplace(acts) {
				return rc, nil
			}
		}
		end, err := skipValue(v, vs)
		if err != nil {
			return rc, err
		}
		if f := fieldIndex(key); f >= 0 {
			raw := v[vs:end]
			if len(raw) > 0 && raw[0] != '"' && raw[0] != 'n' {
				return rc, inField(invalidAt(vs, "expected a string, got "+describe(raw)), fieldNames[f])
			}
			rc.raw[f], rc.offs[f] = raw, vs
		}
		if isChange {
			rc.change, rc.changeOff = v[vs:end], vs
		}
		if err := it.advance(end); err != nil {
			return rc, err
		}
	}
	if rc.change == nil || rc.actions == nil {
		return rc, invalidAt(0, "resource change has no change object")
	}
	return rc, nil
}

// findActions reads change.actions from the change object that starts b,
// walking its members only up to "actions" (the first member in
// Terraform's output).
func findActions(b []byte) ([]string, bool, error) {
	it, err := newMemberIter(b)
	if err != nil {
		return nil, false, inField(err, "change")
	}
	for {
		key, vs, ok, err := it.next()
		if err != nil || !ok {
			return nil, false, err
		}
		end, err := skipValue(b, vs)
		if err != nil {
			return nil, false, err
		}
		if string(key) == "actions" {
			acts, err := asStrings(b[vs:end])
			if err != nil {
				return nil, false, inField(rebase(err, vs), "change.actions")
			}
			return acts, true, nil
		}
		if err := it.advance(end); err != nil {
			return nil, false, err
		}
	}
}

// addChange processes one element of resource_changes.
func (a *assembler) addChange(v []byte) error {
	rc, err := readHeader(v, true)
	if err != nil {
		return err
	}
	a.count(rc.actions)
	if !isReplace(rc.actions) {
		return nil
	}
	if err := rc.decode(); err != nil {
		return err
	}
	if rc.field[fAddress] == "" {
		return invalidAt(0, "replaced resource has no address")
	}
	if a.ignored(rc.field[fType], rc.field[fAddress]) {
		a.rep.Ignored++
		return nil
	}
	rep := Replacement{
		Resource: rc.field[fAddress],
		Deposed:  rc.field[fDeposed],
		Module:   rc.field[fModule],
		Type:     rc.field[fType],
		Name:     rc.field[fName],
		Provider: rc.field[fProvider],
		Reason:   rc.field[fReason],
		Order:    OrderDestroyBeforeCreate,
		Paths:    []string{},
		Changes:  []Change{},
	}
	if rc.actions[0] == "create" {
		rep.Order = OrderCreateBeforeDestroy
	}
	if rc.field[fPrevious] != "" && rc.field[fPrevious] != rc.field[fAddress] {
		rep.PreviousResource = rc.field[fPrevious]
	}
	var body changeBody
	if err := objectEach(rc.change, body.collect); err != nil {
		return rebase(err, rc.changeOff)
	}
	paths, err := parseReplacePaths(body.replacePaths)
	if err != nil {
		return inField(rebase(err, rc.changeOff+body.replacePathsOff), "change.replace_paths")
	}
	for _, p := range paths {
		rep.Paths = append(rep.Paths, p.String())
		rep.Changes = append(rep.Changes, body.changeAt(p, a.opts.maxLen()))
	}
	a.rep.Replacements = append(a.rep.Replacements, rep)
	return nil
}

// ignored reports whether a replacement is dropped by Options.Ignore.
func (a *assembler) ignored(typ, address string) bool {
	for _, g := range a.opts.Ignore {
		if MatchGlob(g, typ) || MatchGlob(g, address) {
			return true
		}
	}
	return false
}

// changeBody holds the raw parts of a change object.
type changeBody struct {
	before, after, afterUnknown, beforeSensitive, afterSensitive []byte
	replacePaths                                                 []byte
	replacePathsOff                                              int
}

func (c *changeBody) collect(key []byte, _ int, val []byte, off int) (bool, error) {
	switch string(key) {
	case "before":
		c.before = val
	case "after":
		c.after = val
	case "after_unknown":
		c.afterUnknown = val
	case "before_sensitive":
		c.beforeSensitive = val
	case "after_sensitive":
		c.afterSensitive = val
	case "replace_paths":
		c.replacePaths, c.replacePathsOff = val, off
	}
	return false, nil
}

// parseReplacePaths decodes replace_paths, a list of paths, each a list of
// string or integer steps, and returns them sorted by rendering, without
// duplicates.
func parseReplacePaths(raw []byte) ([]Path, error) {
	if raw == nil || string(raw) == "null" {
		return nil, nil
	}
	var paths []Path
	seen := map[string]bool{}
	err := arrayEach(raw, func(_ int, pv []byte, poff int) error {
		var p Path
		err := arrayEach(pv, func(_ int, sv []byte, soff int) error {
			step, err := parseStep(sv)
			if err != nil {
				return rebase(err, soff)
			}
			p = append(p, step)
			return nil
		})
		if err != nil {
			return rebase(err, poff)
		}
		if len(p) == 0 {
			return nil
		}
		if k := p.String(); !seen[k] {
			seen[k] = true
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.SliceStable(paths, func(i, j int) bool { return paths[i].String() < paths[j].String() })
	return paths, nil
}

// parseStep decodes one path step: a string, or a non-negative integer.
func parseStep(raw []byte) (any, error) {
	if len(raw) > 0 && raw[0] == '"' {
		s, err := unquote(raw)
		if err != nil {
			return nil, err
		}
		return s, nil
	}
	n, err := strconv.Atoi(string(raw))
	if err != nil || n < 0 {
		return nil, invalidAt(0, "a step must be a string or a non-negative integer, got "+describe(raw))
	}
	return n, nil
}

// addDrift processes one element of resource_drift.
func (a *assembler) addDrift(v []byte) error {
	rc, err := readHeader(v, false)
	if err != nil {
		return err
	}
	if err := rc.decode(); err != nil {
		return err
	}
	a.rep.Summary.Drifted++
	var body changeBody
	if err := objectEach(rc.change, body.collect); err != nil {
		return rebase(err, rc.changeOff)
	}
	paths, err := diffPaths(body.before, body.after)
	if err != nil {
		return rebase(err, rc.changeOff)
	}
	actions := rc.actions
	if actions == nil {
		actions = []string{}
	}
	a.rep.Drift = append(a.rep.Drift, Drift{Resource: rc.field[fAddress], Actions: actions, Paths: paths})
	return nil
}
