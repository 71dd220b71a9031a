package simulate

import (
	"sort"
	"strings"
)

// Rekey is a resource whose instances a claim destroys under one address
// and creates under another: count or for_each keyed by a value that
// differs per claimant (module instances included). A replacement in all
// but name.
type Rekey struct {
	// Resource is the configuration address, instance keys removed:
	// module.ws.docker_volume.home.
	Resource string `json:"resource"`
	// Deleted and Created are the instance addresses, sorted.
	Deleted []string `json:"deleted"`
	Created []string `json:"created"`
}

// rekeyed finds the resources of a plan with instances both deleted and
// created (not replaced in place: those are replacements).
func rekeyed(plan *planDoc) []Rekey {
	byRes := map[string]*Rekey{}
	for i := range plan.ResourceChanges {
		rc := &plan.ResourceChanges[i]
		if rc.Mode != "managed" || rc.Deposed != "" {
			continue
		}
		var del bool
		switch {
		case isAction(rc.Change.Actions, "delete"):
			del = true
		case isAction(rc.Change.Actions, "create"):
		default:
			continue
		}
		res := rc.Type + "." + rc.Name
		if m := stripKeys(rc.ModuleAddress); m != "" {
			res = m + "." + res
		}
		rk := byRes[res]
		if rk == nil {
			rk = &Rekey{Resource: res, Deleted: []string{}, Created: []string{}}
			byRes[res] = rk
		}
		if del {
			rk.Deleted = append(rk.Deleted, rc.Address)
		} else {
			rk.Created = append(rk.Created, rc.Address)
		}
	}
	out := []Rekey{}
	for _, rk := range byRes {
		if len(rk.Deleted) == 0 || len(rk.Created) == 0 {
			continue
		}
		sort.Strings(rk.Deleted)
		sort.Strings(rk.Created)
		out = append(out, *rk)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Resource < out[j].Resource })
	return out
}

// stripKeys removes the instance keys ([0], ["a.b"]) from a module or
// resource address; quoted keys may hold brackets, dots and escapes.
func stripKeys(addr string) string {
	var b strings.Builder
	depth, inStr, esc := 0, false, false
	for i := 0; i < len(addr); i++ {
		c := addr[i]
		switch {
		case inStr:
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				inStr = false
			}
		case c == '"' && depth > 0:
			inStr = true
		case c == '[':
			depth++
		case c == ']' && depth > 0:
			depth--
		case depth == 0:
			b.WriteByte(c)
		}
	}
	return b.String()
}
