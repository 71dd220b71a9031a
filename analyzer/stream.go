package analyzer

import "strconv"

// streamReasons maps the reasons of `terraform plan -json` planned_change
// messages to the action_reason vocabulary of the plan document. Reasons
// not listed (the delete_because_* and read_because_* ones are spelled the
// same in both) pass through unchanged.
var streamReasons = map[string]string{
	"cannot_update":        "replace_because_cannot_update",
	"replace_triggered_by": "replace_by_triggers",
	"requested":            "replace_by_request",
	"tainted":              "replace_because_tainted",
}

// StreamReason maps a `terraform plan -json` change reason to the plan
// document's action_reason vocabulary; unknown reasons pass through.
func StreamReason(r string) string {
	if m, ok := streamReasons[r]; ok {
		return m
	}
	return r
}

// streamResource is the "resource" object of a planned_change message.
type streamResource struct {
	addr, module, typ, name, provider string
}

// parseStream reads the messages of `terraform plan -json`, one JSON object
// after another (one a line, but lines may have any length).
func parseStream(s *scanner, a *assembler) error {
	a.rep.Input = InputPlanStream
	where := ""
	s.where = func() string { return where }
	for n := 1; ; n++ {
		c, ok := s.skipSpace()
		if !ok {
			return nil
		}
		if c != '{' {
			s.ensure(2)
			if c == '[' || (c == ':' && s.end-s.pos >= 2 && s.buf[s.pos+1] == ':') {
				// A CI wrapper's line ("[command]…", "::debug::…").
				skipLine(s)
				continue
			}
			return s.errorAt(s.pos, ErrNotJSON, "expected a JSON message, found "+quoteChar(c))
		}
		where = "message " + strconv.Itoa(n)
		v, start, err := s.captureValue()
		if err != nil {
			return err
		}
		if err := s.fromRaw(a.addMessage(v), start); err != nil {
			return err
		}
	}
}

// addMessage processes one message of the stream.
func (a *assembler) addMessage(v []byte) error {
	var typ, level, message string
	var change, diag []byte
	var changeOff, diagOff int
	var version string
	err := objectEach(v, func(key []byte, _ int, val []byte, off int) (bool, error) {
		var err error
		switch string(key) {
		case "type":
			typ, err = asString(val)
		case "@level":
			level, err = asString(val)
		case "@message":
			message, err = asString(val)
		case "change":
			change, changeOff = val, off
		case "diagnostic":
			diag, diagOff = val, off
		case "terraform", "tofu":
			if len(val) > 0 && val[0] == '"' {
				version, err = asString(val)
			}
		}
		return false, rebase(err, off)
	})
	if err != nil {
		return err
	}
	switch typ {
	case "version":
		if version != "" {
			a.rep.TerraformVersion = version
		}
	case "planned_change", "resource_drift":
		if change == nil {
			return invalidAt(0, typ+" message without a change")
		}
		return rebase(a.addStreamChange(typ == "resource_drift", change), changeOff)
	case "diagnostic":
		if level == "error" {
			a.rep.Errored = true
			summary := message
			if diag != nil {
				_ = objectEach(diag, func(k []byte, _ int, dv []byte, _ int) (bool, error) {
					if string(k) == "summary" {
						if s, err := asString(dv); err == nil && s != "" {
							summary = s
						}
						return true, nil
					}
					return false, nil
				})
				_ = diagOff
			}
			a.rep.Diagnostics = append(a.rep.Diagnostics, summary)
		}
	}
	return nil
}

// addStreamChange processes the change object of a planned_change or
// resource_drift message.
func (a *assembler) addStreamChange(drift bool, change []byte) error {
	var res, prev streamResource
	var action, reason string
	err := objectEach(change, func(key []byte, _ int, val []byte, off int) (bool, error) {
		var err error
		switch string(key) {
		case "resource":
			res, err = parseStreamResource(val)
		case "previous_resource":
			prev, err = parseStreamResource(val)
		case "action":
			action, err = asString(val)
		case "reason":
			reason, err = asString(val)
		}
		return false, rebase(err, off)
	})
	if err != nil {
		return err
	}
	if drift {
		a.rep.Summary.Drifted++
		a.rep.Drift = append(a.rep.Drift, Drift{Resource: res.addr, Actions: streamActions(action), Paths: []string{}})
		return nil
	}
	if action != "replace" {
		a.count(streamActions(action))
		return nil
	}
	a.rep.Summary.Replace++
	if a.ignored(res.typ, res.addr) {
		a.rep.Ignored++
		return nil
	}
	rep := Replacement{
		Resource: res.addr,
		Module:   res.module,
		Type:     res.typ,
		Name:     res.name,
		Provider: res.provider,
		Reason:   StreamReason(reason),
		Paths:    []string{},
		Changes:  []Change{},
	}
	if prev.addr != "" && prev.addr != res.addr {
		rep.PreviousResource = prev.addr
	}
	a.rep.Replacements = append(a.rep.Replacements, rep)
	return nil
}

// streamActions maps a stream action to the plan document's action list.
func streamActions(action string) []string {
	switch action {
	case "noop":
		return []string{"no-op"}
	case "":
		return []string{}
	}
	return []string{action}
}

func parseStreamResource(raw []byte) (streamResource, error) {
	var r streamResource
	err := objectEach(raw, func(key []byte, _ int, val []byte, off int) (bool, error) {
		var err error
		switch string(key) {
		case "addr":
			r.addr, err = asString(val)
		case "module":
			r.module, err = asString(val)
		case "resource_type":
			r.typ, err = asString(val)
		case "resource_name":
			r.name, err = asString(val)
		case "implied_provider":
			r.provider, err = asString(val)
		}
		return false, rebase(err, off)
	})
	return r, err
}
