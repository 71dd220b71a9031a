package analyzer

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
)

// eachMember walks the object at the scanner's position (null is an empty
// object); fn is called for each key and must consume the member's value.
func (s *scanner) eachMember(fn func(key []byte) error) error {
	c, ok := s.skipSpace()
	if !ok {
		return s.eofError("")
	}
	if c == 'n' {
		return s.skipValue()
	}
	if c != '{' {
		return s.errorAt(s.pos, ErrInvalid, "expected an object, found "+describe(s.buf[s.pos:s.end]))
	}
	s.pos++
	return s.membersAfterOpen(fn)
}

// eachItem walks the array at the scanner's position (null is empty); fn
// must consume each element.
func (s *scanner) eachItem(fn func(i int) error) error {
	c, ok := s.skipSpace()
	if !ok {
		return s.eofError("")
	}
	if c == 'n' {
		return s.skipValue()
	}
	if c != '[' {
		return s.errorAt(s.pos, ErrInvalid, "expected an array, found "+describe(s.buf[s.pos:s.end]))
	}
	s.pos++
	if c, ok = s.skipSpace(); !ok {
		return s.eofError("")
	}
	if c == ']' {
		s.pos++
		return nil
	}
	for i := 0; ; i++ {
		if err := fn(i); err != nil {
			return err
		}
		c, ok := s.skipSpace()
		if !ok {
			return s.eofError("")
		}
		s.pos++
		if c == ']' {
			return nil
		}
		if c != ',' {
			return s.errorAt(s.pos-1, ErrNotJSON, "expected ',' or ']' after array element, found "+quoteChar(c))
		}
	}
}

// walkPriorState reads prior_state.values, module by module, one resource
// at a time, collecting the presets the template declares.
func walkPriorState(s *scanner, a *assembler, where *string) error {
	return s.eachMember(func(key []byte) error {
		if string(key) != "values" {
			return s.skipValue()
		}
		return s.eachMember(func(key []byte) error {
			if string(key) != "root_module" {
				return s.skipValue()
			}
			return walkStateModule(s, a, where, 0)
		})
	})
}

func walkStateModule(s *scanner, a *assembler, where *string, depth int) error {
	if depth > 100 {
		return s.errorAt(s.pos, ErrInvalid, "modules nested too deep")
	}
	return s.eachMember(func(key []byte) error {
		switch string(key) {
		case "resources":
			return s.eachItem(func(i int) error {
				*where = "prior_state resource " + strconv.Itoa(i)
				return s.stateResource(a)
			})
		case "child_modules":
			return s.eachItem(func(int) error { return walkStateModule(s, a, where, depth+1) })
		}
		return s.skipValue()
	})
}

// stateResource is a resource in a state's values representation.
type stateResource struct {
	Address         string          `json:"address"`
	Mode            string          `json:"mode"`
	Type            string          `json:"type"`
	Values          json.RawMessage `json:"values"`
	SensitiveValues json.RawMessage `json:"sensitive_values"`
}

type presetValues struct {
	Name       string         `json:"name"`
	Default    bool           `json:"default"`
	Parameters map[string]any `json:"parameters"`
	Prebuilds  []struct {
		Instances        int `json:"instances"`
		ExpirationPolicy []struct {
			TTL int64 `json:"ttl"`
		} `json:"expiration_policy"`
		Scheduling []struct {
			Timezone string `json:"timezone"`
			Schedule []struct {
				Cron      string `json:"cron"`
				Instances int    `json:"instances"`
			} `json:"schedule"`
		} `json:"scheduling"`
	} `json:"prebuilds"`
}

// readStateResource reads the address, values and sensitive values of a
// state resource, in place (a member given twice: its last value, as
// encoding/json reads it).
func readStateResource(v []byte) (stateResource, error) {
	var r stateResource
	err := objectEach(v, func(key []byte, _ int, val []byte, _ int) (bool, error) {
		var err error
		switch string(key) {
		case "address":
			if r.Address, err = stringOrNull(val, ""); err != nil {
				err = fmt.Errorf("address: %w", err)
			}
		case "values":
			r.Values = val
		case "sensitive_values":
			r.SensitiveValues = val
		}
		return err != nil, err
	})
	return r, err
}

// addStateResource keeps data.coder_workspace_preset resources as presets.
func (a *assembler) addStateResource(v []byte) error {
	var typ, mode string
	err := objectEach(v, func(key []byte, _ int, val []byte, off int) (bool, error) {
		var err error
		switch string(key) {
		case "type":
			typ, err = asString(val)
		case "mode":
			mode, err = asString(val)
		}
		if err != nil {
			return true, inField(rebase(err, off), string(key))
		}
		return typ != "" && mode != "", nil
	})
	if err != nil || typ != "coder_workspace_preset" || mode != "data" {
		return err
	}
	// A preset whose shape this version does not understand is reported
	// as a warning: it must not stop the analysis of the plan.
	r, err := readStateResource(v)
	if err != nil {
		a.rep.Warnings = append(a.rep.Warnings, "a coder_workspace_preset in prior_state could not be read: "+err.Error())
		return nil
	}
	var pv presetValues
	if err := json.Unmarshal(r.Values, &pv); err != nil {
		a.rep.Warnings = append(a.rep.Warnings, r.Address+": preset values could not be read: "+err.Error())
		return nil
	}
	p := Preset{Resource: r.Address, Name: pv.Name, Default: pv.Default, Parameters: map[string]string{}}
	for k, val := range pv.Parameters {
		if markedAt(r.SensitiveValues, Path{"parameters", k}) {
			p.Parameters[k] = SensitiveValue
			continue
		}
		raw, _ := json.Marshal(val)
		p.Parameters[k] = renderValue(raw, 0)
	}
	if len(pv.Prebuilds) > 0 {
		pb := pv.Prebuilds[0]
		p.Instances = pb.Instances
		if len(pb.ExpirationPolicy) > 0 {
			p.TTLSeconds = pb.ExpirationPolicy[0].TTL
		}
		if len(pb.Scheduling) > 0 {
			p.Timezone = pb.Scheduling[0].Timezone
			for _, sch := range pb.Scheduling[0].Schedule {
				p.Schedules = append(p.Schedules, PresetSchedule{Cron: sch.Cron, Instances: sch.Instances})
			}
		}
	}
	a.rep.Presets = append(a.rep.Presets, p)
	sort.SliceStable(a.rep.Presets, func(i, j int) bool { return a.rep.Presets[i].Resource < a.rep.Presets[j].Resource })
	return nil
}

// eachChange walks resource_changes. Each element's header is read from the
// stream up to change.actions while the element is kept in the buffer; an
// element that is not a replacement is then counted and skipped without
// keeping it, so a huge resource that is not replaced never has to fit in
// memory. A replacement is kept whole and processed like a captured value.
func (s *scanner) eachChange(where *string, a *assembler) error {
	return s.eachItem(func(n int) error {
		*where = "resource_changes[" + strconv.Itoa(n) + "]"
		c, ok := s.skipSpace()
		if !ok {
			return s.eofError("")
		}
		if c != '{' {
			return s.errorAt(s.pos, ErrInvalid, "expected an object, found "+describe(s.buf[s.pos:s.end]))
		}
		s.mark = s.pos
		acts, found, err := s.streamActions()
		if err != nil {
			s.mark = -1
			return err
		}
		if found && !isReplace(acts) {
			// Not kept: release the element and skip what is left of it
			// (the rest of "change", then of the element).
			s.mark = -1
			a.count(acts)
			return s.skipOpen([]byte{'{', '{'})
		}
		if found {
			if err := s.skipOpen([]byte{'{', '{'}); err != nil {
				s.mark = -1
				return err
			}
		}
		// found == false: streamActions consumed the whole element.
		start := s.mark
		s.mark = -1
		return s.fromRaw(a.addChange(s.buf[start:s.pos]), start)
	})
}

// errFound ends the header walk of streamActions once actions are read.
var errFound = errors.New("found")

// streamActions reads, from the element whose '{' is at s.pos, the members
// up to and including change.actions. When it finds them it returns with
// the scanner inside the change object, just after the actions value;
// otherwise (no change, or no actions in it) it consumes the whole element
// and returns found=false. Values it reads are parsed from the buffer,
// which the caller keeps from s.mark on.
func (s *scanner) streamActions() (actions []string, found bool, err error) {
	s.pos++ // '{'
	err = s.membersAfterOpen(func(key []byte) error {
		if string(key) != "change" {
			if f := fieldIndex(key); f >= 0 {
				c, ok := s.skipSpace()
				if !ok {
					return s.eofError("")
				}
				if c != '"' && c != 'n' {
					return s.errorAt(s.pos, ErrInvalid, fieldNames[f]+": expected a string, got "+describe(s.buf[s.pos:s.end]))
				}
			}
			return s.skipValue()
		}
		c, ok := s.skipSpace()
		if !ok {
			return s.eofError("")
		}
		if c != '{' {
			return s.skipValue() // reported by addChange on the whole element
		}
		s.pos++
		return s.membersAfterOpen(func(key []byte) error {
			if string(key) != "actions" {
				return s.skipValue()
			}
			if _, ok := s.skipSpace(); !ok {
				return s.eofError("")
			}
			rel := s.pos - s.mark
			if err := s.skipValueHere(); err != nil {
				return err
			}
			start := s.mark + rel
			acts, err := asStrings(s.buf[start:s.pos])
			if err != nil {
				return s.fromRaw(inField(err, "change.actions"), start)
			}
			actions = acts
			return errFound
		})
	})
	if err == errFound {
		return actions, true, nil
	}
	return nil, false, err
}

// membersAfterOpen walks the members of an object whose '{' has just been
// consumed; fn must consume each value. The key is valid only until fn
// reads further. It stops at the first error.
func (s *scanner) membersAfterOpen(fn func(key []byte) error) error {
	c, ok := s.skipSpace()
	if !ok {
		return s.eofError("")
	}
	if c == '}' {
		s.pos++
		return nil
	}
	for {
		key, err := s.memberKey()
		if err != nil {
			return err
		}
		if err := fn(key); err != nil {
			return err
		}
		more, err := s.nextMember("")
		if err != nil || !more {
			return err
		}
	}
}

// errNotPreset ends the header walk of stateResource early.
var errNotPreset = errors.New("not a preset")

// stateResource reads one resource of a state's values representation. Its
// mode and type are read from the stream while the resource is kept in the
// buffer; anything but a data.coder_workspace_preset is then skipped without
// being held.
func (s *scanner) stateResource(a *assembler) error {
	c, ok := s.skipSpace()
	if !ok {
		return s.eofError("")
	}
	if c != '{' {
		return s.skipValue()
	}
	s.mark = s.pos
	s.pos++
	var mode, typ string
	err := s.membersAfterOpen(func(key []byte) error {
		k := string(key)
		if k != "mode" && k != "type" {
			return s.skipValue()
		}
		c, ok := s.skipSpace()
		if !ok {
			return s.eofError("")
		}
		if c != '"' {
			return s.skipValue()
		}
		v, err := s.readString()
		if err != nil {
			return err
		}
		if k == "mode" {
			mode = v
		} else {
			typ = v
		}
		if (mode != "" && mode != "data") || (typ != "" && typ != "coder_workspace_preset") {
			return errNotPreset
		}
		return nil
	})
	switch {
	case err == errNotPreset:
		s.mark = -1
		return s.skipOpen([]byte{'{'})
	case err != nil:
		s.mark = -1
		return err
	}
	start := s.mark
	s.mark = -1
	if mode != "data" || typ != "coder_workspace_preset" {
		return nil
	}
	return s.fromRaw(a.addStateResource(s.buf[start:s.pos]), start)
}
