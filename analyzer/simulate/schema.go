package simulate

import (
	"encoding/json"
	"fmt"
)

// Type kinds of a typeNode, after cty's type names.
const (
	kindString  = "string"
	kindNumber  = "number"
	kindBool    = "bool"
	kindList    = "list"
	kindSet     = "set"
	kindMap     = "map"
	kindObject  = "object"
	kindTuple   = "tuple"
	kindDynamic = "dynamic"
)

// typeNode is the type of one value in a resource's attributes, built from
// the provider's schema: what a placeholder for an unknown value must look
// like, and which values the schema itself marks sensitive.
type typeNode struct {
	kind string
	// elem is the element type of a list, set or map.
	elem *typeNode
	// attrs are an object's attribute types.
	attrs map[string]*typeNode
	// elems are a tuple's element types.
	elems []*typeNode
	// sensitive is true for an attribute the schema declares sensitive.
	sensitive bool
	// computedOnly is true for an attribute only the provider sets
	// (computed, not optional): its value being unknown says nothing about
	// the configuration.
	computedOnly bool
}

// resourceSchema is one resource type's schema: its version and the type
// of its attributes object.
type resourceSchema struct {
	version int64
	typ     *typeNode
}

// schemas holds the managed resource schemas of every provider, by provider
// source address and resource type.
type schemas map[string]map[string]resourceSchema

// lookup returns the schema of a resource type, ok false when unknown.
func (s schemas) lookup(provider, typ string) (resourceSchema, bool) {
	rs, ok := s[provider][typ]
	return rs, ok
}

// The JSON of `terraform providers schema -json`.
type schemaDoc struct {
	ProviderSchemas map[string]struct {
		ResourceSchemas map[string]struct {
			Version int64     `json:"version"`
			Block   blockJSON `json:"block"`
		} `json:"resource_schemas"`
	} `json:"provider_schemas"`
}

type blockJSON struct {
	Attributes map[string]attributeJSON `json:"attributes"`
	BlockTypes map[string]struct {
		NestingMode string    `json:"nesting_mode"`
		Block       blockJSON `json:"block"`
	} `json:"block_types"`
}

type attributeJSON struct {
	Type       json.RawMessage `json:"type"`
	NestedType *struct {
		Attributes  map[string]attributeJSON `json:"attributes"`
		NestingMode string                   `json:"nesting_mode"`
	} `json:"nested_type"`
	Sensitive bool `json:"sensitive"`
	Computed  bool `json:"computed"`
	Optional  bool `json:"optional"`
}

// parseSchemas reads the output of `terraform providers schema -json`.
func parseSchemas(b []byte) (schemas, error) {
	var doc schemaDoc
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("read provider schemas: %w", err)
	}
	out := schemas{}
	for prov, ps := range doc.ProviderSchemas {
		m := map[string]resourceSchema{}
		for typ, rs := range ps.ResourceSchemas {
			t, err := blockType(rs.Block)
			if err != nil {
				return nil, fmt.Errorf("read provider schemas: %s %s: %w", prov, typ, err)
			}
			m[typ] = resourceSchema{version: rs.Version, typ: t}
		}
		out[prov] = m
	}
	return out, nil
}

// blockType is the object type a block's values have.
func blockType(b blockJSON) (*typeNode, error) {
	n := &typeNode{kind: kindObject, attrs: map[string]*typeNode{}}
	for name, a := range b.Attributes {
		t, err := attributeType(a)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		n.attrs[name] = t
	}
	for name, bt := range b.BlockTypes {
		inner, err := blockType(bt.Block)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		n.attrs[name] = nest(bt.NestingMode, inner)
	}
	return n, nil
}

// nest wraps an object type the way a block or nested attribute's nesting
// mode does.
func nest(mode string, inner *typeNode) *typeNode {
	switch mode {
	case "list":
		return &typeNode{kind: kindList, elem: inner}
	case "set":
		return &typeNode{kind: kindSet, elem: inner}
	case "map":
		return &typeNode{kind: kindMap, elem: inner}
	}
	return inner // single, group
}

func attributeType(a attributeJSON) (*typeNode, error) {
	var t *typeNode
	if a.NestedType != nil {
		inner := &typeNode{kind: kindObject, attrs: map[string]*typeNode{}}
		for name, na := range a.NestedType.Attributes {
			nt, err := attributeType(na)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			inner.attrs[name] = nt
		}
		t = nest(a.NestedType.NestingMode, inner)
	} else {
		var raw any
		if err := json.Unmarshal(a.Type, &raw); err != nil {
			return nil, fmt.Errorf("attribute type: %w", err)
		}
		var err error
		if t, err = ctyType(raw); err != nil {
			return nil, err
		}
	}
	if a.Sensitive || (a.Computed && !a.Optional) {
		c := *t
		c.sensitive = a.Sensitive
		c.computedOnly = a.Computed && !a.Optional
		t = &c
	}
	return t, nil
}

// ctyType reads a type in cty's JSON notation: "string", ["list","string"],
// ["object",{"a":"number"}], ["tuple",["string","bool"]], "dynamic".
func ctyType(raw any) (*typeNode, error) {
	switch v := raw.(type) {
	case string:
		switch v {
		case kindString, kindNumber, kindBool, kindDynamic:
			return &typeNode{kind: v}, nil
		}
	case []any:
		if len(v) != 2 {
			break
		}
		kind, _ := v[0].(string)
		switch kind {
		case kindList, kindSet, kindMap:
			e, err := ctyType(v[1])
			if err != nil {
				return nil, err
			}
			return &typeNode{kind: kind, elem: e}, nil
		case kindObject:
			attrs, ok := v[1].(map[string]any)
			if !ok {
				break
			}
			n := &typeNode{kind: kindObject, attrs: map[string]*typeNode{}}
			for name, at := range attrs {
				t, err := ctyType(at)
				if err != nil {
					return nil, err
				}
				n.attrs[name] = t
			}
			return n, nil
		case kindTuple:
			elems, ok := v[1].([]any)
			if !ok {
				break
			}
			n := &typeNode{kind: kindTuple}
			for _, et := range elems {
				t, err := ctyType(et)
				if err != nil {
					return nil, err
				}
				n.elems = append(n.elems, t)
			}
			return n, nil
		}
	}
	return nil, fmt.Errorf("unsupported type %v", raw)
}

// inferType returns, in cty's JSON notation, the type of a value of a
// dynamically typed attribute, whose state encoding carries its type.
// Arrays are tuples and objects are objects, as HCL literals are.
func inferType(v any) any {
	switch x := v.(type) {
	case string:
		return kindString
	case json.Number, float64:
		return kindNumber
	case bool:
		return kindBool
	case []any:
		elems := make([]any, len(x))
		for i, e := range x {
			elems[i] = inferType(e)
		}
		return []any{kindTuple, elems}
	case map[string]any:
		attrs := map[string]any{}
		for k, e := range x {
			attrs[k] = inferType(e)
		}
		return []any{kindObject, attrs}
	}
	return kindDynamic
}
