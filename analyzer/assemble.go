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

// resourceChange holds the fields of one resources_changes element that the
// report uses; raw parts point into the element's bytes.
type resourceChange struct {
	address, previous, module, mode, typ, name, provider, deposed, reason string
	actions                                                               []string
	change                                                                []byte
	changeOff                                                             int
}

// readHeader reads the element's identifying fields and change.actions. With
// stopEarly it returns as soon as it knows the change is not a replacement.
func readHeader(v []byte, stopEarly bool) (*resourceChange, error) {
	rc := &resourceChange{}
	sawActions := false
	err := objectEach(v, func(key string, _ int, val []byte, off int) (bool, error) {
		var err error
		switch key {
		case "address":
			rc.address, err = asString(val)
		case "previous_address":
			rc.previous, err = asString(val)
		case "module_address":
			rc.module, err = asString(val)
		case "mode":
			rc.mode, err = asString(val)
		case "type":
			rc.typ, err = asString(val)
		case "name":
			rc.name, err = asString(val)
		case "provider_name":
			rc.provider, err = asString(val)
		case "deposed":
			rc.deposed, err = asString(val)
		case "action_reason":
			rc.reason, err = asString(val)
		case "change":
			rc.change, rc.changeOff = val, off
			err = objectEach(val, func(k string, _ int, av []byte, aoff int) (bool, error) {
				if k != "actions" {
					return false, nil
				}
				acts, err := asStrings(av)
				if err != nil {
					return true, inField(rebase(err, aoff), "change.actions")
				}
				rc.actions, sawActions = acts, true
				return true, nil
			})
			if err != nil {
				return true, rebase(err, off)
			}
			if !sawActions {
				return true, invalidAt(off, "change has no actions")
			}
			if stopEarly && !isReplace(rc.actions) {
				return true, nil
			}
		}
		if err != nil {
			if key != "change" {
				err = inField(err, key)
			}
			return true, rebase(err, off)
		}
		return false, nil
	})
	if err != nil {
		return nil, err
	}
	if rc.change == nil {
		return nil, invalidAt(0, "resource change has no change object")
	}
	return rc, nil
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
	if rc.address == "" {
		return invalidAt(0, "replaced resource has no address")
	}
	if a.ignored(rc.typ, rc.address) {
		a.rep.Ignored++
		return nil
	}
	rep := Replacement{
		Resource: rc.address,
		Deposed:  rc.deposed,
		Module:   rc.module,
		Type:     rc.typ,
		Name:     rc.name,
		Provider: rc.provider,
		Reason:   rc.reason,
		Order:    OrderDestroyBeforeCreate,
		Paths:    []string{},
		Changes:  []Change{},
	}
	if rc.actions[0] == "create" {
		rep.Order = OrderCreateBeforeDestroy
	}
	if rc.previous != "" && rc.previous != rc.address {
		rep.PreviousResource = rc.previous
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

func (c *changeBody) collect(key string, _ int, val []byte, off int) (bool, error) {
	switch key {
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
	a.rep.Drift = append(a.rep.Drift, Drift{Resource: rc.address, Actions: actions, Paths: paths})
	return nil
}
