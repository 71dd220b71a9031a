package simulate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strconv"

	"github.com/google/uuid"
)

// planDoc is the part of `terraform show -json PLANFILE` that simulate
// needs to build a state from a plan.
type planDoc struct {
	TerraformVersion string           `json:"terraform_version"`
	ResourceChanges  []resourceChange `json:"resource_changes"`
}

type resourceChange struct {
	Address       string `json:"address"`
	ModuleAddress string `json:"module_address"`
	Mode          string `json:"mode"`
	Type          string `json:"type"`
	Name          string `json:"name"`
	// Index is the instance key: a json.Number (count), a string
	// (for_each) or nil.
	Index        any    `json:"index"`
	ProviderName string `json:"provider_name"`
	Deposed      string `json:"deposed"`
	Change       struct {
		Actions        []string `json:"actions"`
		Before         any      `json:"before"`
		After          any      `json:"after"`
		AfterUnknown   any      `json:"after_unknown"`
		AfterSensitive any      `json:"after_sensitive"`
	} `json:"change"`
}

// readPlanDoc decodes a plan document, numbers kept exact.
func readPlanDoc(r io.Reader) (*planDoc, error) {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	var p planDoc
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("read plan: %w", err)
	}
	return &p, nil
}

// instance is one managed resource instance of the synthetic state.
type instance struct {
	address       string
	module        string
	typ, name     string
	index         any
	provider      string
	schemaVersion int64
	// attrs are the values as a plan shows them (dynamic values plain);
	// the state encoding is made by stateValue.
	attrs     any
	attrType  *typeNode
	sensitive [][]map[string]any
	// marks is how sensitive was derived (a marksMode); marksTried counts
	// the modes tried after plans that only rewrote the marks.
	marks      marksMode
	marksTried int
}

// marksMode says how the state's sensitive paths are derived from a
// plan's after_sensitive, which merges the configuration's marks with the
// schema's sensitive attributes. Terraform 1.5 records only the
// configuration's marks in state, later versions both, and a schema
// sensitive map may have been marked whole or key by key by the
// configuration. A state whose marks differ from the plan's is planned as
// an update, which is how fold learns that it should try the next mode.
type marksMode int

const (
	// marksConfig leaves out the attributes the schema marks sensitive.
	marksConfig marksMode = iota
	// marksSchema keeps them, whole.
	marksSchema
	// marksElements marks their elements (map keys, list indexes,
	// object attributes) one by one, as a map literal of sensitive values
	// does.
	marksElements
	numMarksModes
)

// synthState is a state built from plans, instance by instance.
type synthState struct {
	terraformVersion string
	lineage          string
	serial           int
	instances        map[string]*instance
	// placeholders are the strings made up for unknown values.
	placeholders map[string]bool
}

// foldResult says what folding a plan into a state did.
type foldResult struct {
	// changed counts the managed instances the plan did not leave alone.
	changed int
	// untyped lists resource types whose schema was not found: their
	// unknown values got untyped placeholders.
	untyped []string
	// derived is true when a configurable attribute was unknown: its
	// configuration refers to values only known after apply (another
	// resource's id, token…), so the next plan will likely change it once
	// the placeholders are known.
	derived bool
}

// isAction reports whether actions is exactly want.
func isAction(actions []string, want ...string) bool {
	return reflect.DeepEqual(actions, want)
}

// fold returns the state a plan would leave if applied: every managed
// instance the plan keeps, creates or changes, with the planned values and
// the unknown ones filled with placeholders (the previous state's value at
// the same path where there is one, so that repeated folds settle).
func fold(prev *synthState, plan *planDoc, sch schemas) (*synthState, foldResult) {
	next := &synthState{
		terraformVersion: plan.TerraformVersion,
		lineage:          prev.lineage,
		serial:           prev.serial + 1,
		instances:        map[string]*instance{},
		placeholders:     map[string]bool{},
	}
	for p := range prev.placeholders {
		next.placeholders[p] = true
	}
	var res foldResult
	seen := map[string]bool{}
	for i := range plan.ResourceChanges {
		rc := &plan.ResourceChanges[i]
		if rc.Mode != "managed" || rc.Deposed != "" {
			continue
		}
		acts := rc.Change.Actions
		old := prev.instances[rc.Address]
		marks, marksTried := marksConfig, 0
		if old != nil {
			marks, marksTried = old.marks, old.marksTried
		}
		switch {
		case isAction(acts, "delete") || isAction(acts, "forget"):
			res.changed++
			continue
		case isAction(acts, "no-op") && old != nil:
			next.instances[rc.Address] = old
			continue
		case isAction(acts, "update") && old != nil && jsonEqual(rc.Change.Before, rc.Change.After) && !anyTrue(rc.Change.AfterUnknown):
			// Only the sensitivity marks differ: try the next way of
			// deriving them, until every way was tried (then the state is
			// as settled as it gets: the plan updates marks only).
			if marksTried < int(numMarksModes)-1 {
				marksTried++
				marks = (marks + 1) % numMarksModes
				res.changed++
			}
		default:
			res.changed++
		}
		rs, ok := sch.lookup(rc.ProviderName, rc.Type)
		if !ok && !seen[rc.Type] {
			seen[rc.Type] = true
			res.untyped = append(res.untyped, rc.Type)
		}
		var oldAttrs any
		if old != nil {
			oldAttrs = old.attrs
		}
		in := &instance{
			address:       rc.Address,
			module:        rc.ModuleAddress,
			typ:           rc.Type,
			name:          rc.Name,
			index:         rc.Index,
			provider:      rc.ProviderName,
			schemaVersion: rs.version,
			attrType:      rs.typ,
			attrs:         fill(rc.Change.After, rc.Change.AfterUnknown, rs.typ, oldAttrs, rc.Address, next.placeholders),
			marks:         marks,
			marksTried:    marksTried,
		}
		sensitivePaths(rc.Change.AfterSensitive, in.attrs, rs.typ, marks, nil, &in.sensitive)
		if !res.derived && configUnknown(rc.Change.AfterUnknown, rs.typ) {
			res.derived = true
		}
		next.instances[rc.Address] = in
	}
	sort.Strings(res.untyped)
	return next, res
}

// settled reports whether a plan changes no managed instance.
func settled(plan *planDoc, st *synthState) bool {
	_, res := fold(st, plan, nil)
	return res.changed == 0
}

// placeholderNS seeds the UUIDs that stand for unknown strings.
var placeholderNS = uuid.MustParse("0b4f3e0c-5c1d-4f0e-9b7a-2d6c8e1f3a57")

// fill returns v with every value that after_unknown marks unknown
// replaced: by prev's value at the same path when there is one, else by a
// placeholder of the schema type t. seed names the position (the resource
// address, then the path) so that placeholders are stable and distinct.
func fill(v, unknown any, t *typeNode, prev any, seed string, made map[string]bool) any {
	if b, ok := unknown.(bool); ok {
		if !b {
			return v
		}
		if prev != nil {
			return prev
		}
		return placeholder(t, seed, made)
	}
	switch x := v.(type) {
	case map[string]any:
		um, _ := unknown.(map[string]any)
		pm, _ := prev.(map[string]any)
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = fill(e, um[k], childType(t, k), pm[k], seed+"."+k, made)
		}
		// Wholly unknown attributes may be missing from after.
		for k, u := range um {
			if _, ok := x[k]; !ok {
				out[k] = fill(nil, u, childType(t, k), pm[k], seed+"."+k, made)
			}
		}
		return out
	case []any:
		ua, _ := unknown.([]any)
		pa, _ := prev.([]any)
		out := make([]any, len(x))
		for i, e := range x {
			var u, p any
			if i < len(ua) {
				u = ua[i]
			}
			if i < len(pa) {
				p = pa[i]
			}
			out[i] = fill(e, u, elemType(t, i), p, seed+"["+strconv.Itoa(i)+"]", made)
		}
		return out
	}
	return v
}

// childType is the type of attribute or map element k of t (nil when t
// does not say).
func childType(t *typeNode, k string) *typeNode {
	if t == nil {
		return nil
	}
	switch t.kind {
	case kindObject:
		return t.attrs[k]
	case kindMap:
		return t.elem
	}
	return nil
}

// elemType is the type of element i of a list, set or tuple t.
func elemType(t *typeNode, i int) *typeNode {
	if t == nil {
		return nil
	}
	switch t.kind {
	case kindList, kindSet:
		return t.elem
	case kindTuple:
		if i < len(t.elems) {
			return t.elems[i]
		}
	}
	return nil
}

// placeholder is a known value of type t for an unknown one: a UUID for
// strings (ids are the usual unknowns, and a UUID is a valid value for
// most), 0, false, empty collections, objects of placeholders.
func placeholder(t *typeNode, seed string, made map[string]bool) any {
	if t == nil || t.kind == kindString {
		s := uuid.NewSHA1(placeholderNS, []byte(seed)).String()
		if made != nil {
			made[s] = true
		}
		return s
	}
	switch t.kind {
	case kindNumber:
		return json.Number("0")
	case kindBool:
		return false
	case kindList, kindSet:
		return []any{}
	case kindMap:
		return map[string]any{}
	case kindObject:
		out := make(map[string]any, len(t.attrs))
		for k, at := range t.attrs {
			out[k] = placeholder(at, seed+"."+k, made)
		}
		return out
	case kindTuple:
		out := make([]any, len(t.elems))
		for i, et := range t.elems {
			out[i] = placeholder(et, seed+"["+strconv.Itoa(i)+"]", made)
		}
		return out
	}
	return nil // dynamic: no type to make a value of
}

// sensitivePaths appends to out the state paths (state v4 steps) of the
// values after_sensitive marks, those the schema itself marks sensitive as
// mode says; val is the value at the same path.
func sensitivePaths(sens, val any, t *typeNode, mode marksMode, path []map[string]any, out *[][]map[string]any) {
	emit := func(p []map[string]any) { *out = append(*out, append([]map[string]any(nil), p...)) }
	switch x := sens.(type) {
	case bool:
		if !x {
			return
		}
		if t == nil || !t.sensitive {
			emit(path)
			return
		}
		switch mode {
		case marksSchema:
			emit(path)
		case marksElements:
			switch v := val.(type) {
			case map[string]any:
				for _, k := range sortedKeys(v) {
					emit(append(path, keyStep(t, k)))
				}
			case []any:
				if t.kind == kindSet {
					emit(path)
					return
				}
				for i := range v {
					emit(append(path, indexStep(i)))
				}
			default:
				emit(path)
			}
		}
	case map[string]any:
		vm, _ := val.(map[string]any)
		for _, k := range sortedKeys(x) {
			sensitivePaths(x[k], vm[k], childType(t, k), mode, append(path, keyStep(t, k)), out)
		}
	case []any:
		if t != nil && t.kind == kindSet {
			// Set elements cannot be addressed; a mark inside a set marks it.
			if anyTrue(x) && (!t.sensitive || mode != marksConfig) {
				emit(path)
			}
			return
		}
		va, _ := val.([]any)
		for i, e := range x {
			var v any
			if i < len(va) {
				v = va[i]
			}
			sensitivePaths(e, v, elemType(t, i), mode, append(path, indexStep(i)), out)
		}
	}
}

// keyStep is the state path step to attribute or map key k of t.
func keyStep(t *typeNode, k string) map[string]any {
	if t != nil && t.kind == kindMap {
		return map[string]any{"type": "index", "value": map[string]any{"value": k, "type": "string"}}
	}
	return map[string]any{"type": "get_attr", "value": k}
}

func indexStep(i int) map[string]any {
	return map[string]any{"type": "index", "value": map[string]any{"value": i, "type": "number"}}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// configUnknown reports whether after_unknown marks a value that is not a
// computed-only attribute (or whose type is not known).
func configUnknown(unknown any, t *typeNode) bool {
	switch x := unknown.(type) {
	case bool:
		return x && (t == nil || !t.computedOnly)
	case map[string]any:
		for k, e := range x {
			if configUnknown(e, childType(t, k)) {
				return true
			}
		}
	case []any:
		for i, e := range x {
			if configUnknown(e, elemType(t, i)) {
				return true
			}
		}
	}
	return false
}

// anyTrue reports whether a mirror structure (after_unknown,
// after_sensitive) holds true anywhere.
func anyTrue(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case map[string]any:
		for _, e := range x {
			if anyTrue(e) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if anyTrue(e) {
				return true
			}
		}
	}
	return false
}

// jsonEqual compares two decoded JSON values.
func jsonEqual(a, b any) bool {
	ab, err1 := json.Marshal(a)
	bb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(ab, bb)
}

// stateValue encodes a plan-shaped value for the state: values of
// dynamically typed attributes carry their type.
func stateValue(v any, t *typeNode) any {
	if v == nil || t == nil {
		return v
	}
	switch t.kind {
	case kindDynamic:
		return map[string]any{"value": v, "type": inferType(v)}
	case kindObject, kindMap:
		m, ok := v.(map[string]any)
		if !ok {
			return v
		}
		out := make(map[string]any, len(m))
		for k, e := range m {
			out[k] = stateValue(e, childType(t, k))
		}
		return out
	case kindList, kindSet, kindTuple:
		a, ok := v.([]any)
		if !ok {
			return v
		}
		out := make([]any, len(a))
		for i, e := range a {
			out[i] = stateValue(e, elemType(t, i))
		}
		return out
	}
	return v
}

// marshal writes the state in format version 4, resources in address
// order.
func (s *synthState) marshal() ([]byte, error) {
	type resKey struct{ module, typ, name string }
	type resource struct {
		Module    string           `json:"module,omitempty"`
		Mode      string           `json:"mode"`
		Type      string           `json:"type"`
		Name      string           `json:"name"`
		Provider  string           `json:"provider"`
		Instances []map[string]any `json:"instances"`
	}
	addrs := make([]string, 0, len(s.instances))
	for a := range s.instances {
		addrs = append(addrs, a)
	}
	sort.Strings(addrs)
	byKey := map[resKey]*resource{}
	var order []resKey
	for _, a := range addrs {
		in := s.instances[a]
		k := resKey{in.module, in.typ, in.name}
		r := byKey[k]
		if r == nil {
			r = &resource{Module: in.module, Mode: "managed", Type: in.typ, Name: in.name,
				Provider: `provider["` + in.provider + `"]`}
			byKey[k] = r
			order = append(order, k)
		}
		sens := make([]any, 0, len(in.sensitive))
		for _, p := range in.sensitive {
			sens = append(sens, p)
		}
		inst := map[string]any{
			"schema_version":       in.schemaVersion,
			"attributes":           stateValue(in.attrs, in.attrType),
			"sensitive_attributes": sens,
		}
		if in.index != nil {
			inst["index_key"] = in.index
		}
		r.Instances = append(r.Instances, inst)
	}
	resources := make([]*resource, 0, len(order))
	for _, k := range order {
		resources = append(resources, byKey[k])
	}
	doc := map[string]any{
		"version":           4,
		"terraform_version": s.terraformVersion,
		"serial":            s.serial,
		"lineage":           s.lineage,
		"outputs":           map[string]any{},
		"resources":         resources,
		"check_results":     nil,
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("write state: %w", err)
	}
	return buf.Bytes(), nil
}
