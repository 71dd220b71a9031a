package notify

import "github.com/claimdrift/claimdrift/analyzer"

// Resource is one replaced resource as notifications carry it: a copy of
// the report's fields that the notification schema promises, so that
// fields added to the analyzer's report do not change the payload.
type Resource struct {
	Resource string   `json:"resource"`
	Module   string   `json:"module"`
	Type     string   `json:"type"`
	Name     string   `json:"name"`
	Provider string   `json:"provider"`
	Reason   string   `json:"reason"`
	Order    string   `json:"order"`
	Paths    []string `json:"paths"`
	Changes  []Change `json:"changes"`
}

// Change is the value at one replaced path, before and after, already
// rendered and masked by the analyzer (analyzer.SensitiveValue,
// analyzer.UnknownValue).
type Change struct {
	Path   string `json:"path"`
	Before string `json:"before"`
	After  string `json:"after"`
}

// ResourcesFrom copies the analyzer's replacements for a notification.
func ResourcesFrom(reps []analyzer.Replacement) []Resource {
	if len(reps) == 0 {
		return nil
	}
	out := make([]Resource, 0, len(reps))
	for _, r := range reps {
		paths := r.Paths
		if paths == nil {
			paths = []string{}
		}
		changes := make([]Change, 0, len(r.Changes))
		for _, c := range r.Changes {
			changes = append(changes, Change{Path: c.Path, Before: c.Before, After: c.After})
		}
		out = append(out, Resource{Resource: r.Resource, Module: r.Module, Type: r.Type, Name: r.Name, Provider: r.Provider,
			Reason: r.Reason, Order: r.Order, Paths: append([]string{}, paths...), Changes: changes})
	}
	return out
}
