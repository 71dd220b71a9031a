package analyzer

import (
	"errors"
	"fmt"
	"strings"
	"sync"
)

// ErrClaimRef is wrapped by the error NewClaimMatcher returns for a pattern
// it cannot use.
var ErrClaimRef = errors.New("invalid claim reference pattern")

// ClaimMatcher decides whether a reference differs per claimant. It is the
// one implementation behind `analyze --claim-ref` and `lint --claim-ref`, so
// that the plan analysis and the template lint agree on every reference.
//
// Patterns are MatchGlob globs over the reference written with dots
// (data.coder_workspace.*.name, var.owner): '*' matches any run of
// characters, dots included. A pattern also matches the references below
// what it names (var.owner matches var.owner.name and var.owner["k"]), and a
// data source used as a whole object (data.coder_workspace.me) matches when
// a pattern names one of its attributes.
type ClaimMatcher struct {
	patterns []string
	// sources are the first three dot-separated steps of patterns that
	// name a data source (data.TYPE.NAME).
	sources []string
}

// NewClaimMatcher returns a matcher for DefaultClaimRefs and extra. A
// pattern with an empty step (var..x, .x, x.) is an error wrapping
// ErrClaimRef; blank patterns are skipped.
func NewClaimMatcher(extra []string) (*ClaimMatcher, error) {
	m := &ClaimMatcher{}
	for _, p := range append(append([]string{}, DefaultClaimRefs...), extra...) {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		steps := strings.Split(p, ".")
		for _, s := range steps {
			if s == "" {
				return nil, fmt.Errorf("%w %q: empty step", ErrClaimRef, p)
			}
		}
		m.patterns = append(m.patterns, p)
		if len(steps) >= 3 && MatchGlob(steps[0], "data") {
			m.sources = append(m.sources, strings.Join(steps[:3], "."))
		}
	}
	return m, nil
}

// mustClaimMatcher is NewClaimMatcher for callers that validated extra.
// A ClaimMatcher does not change once made, so the defaults' one is made
// once.
func mustClaimMatcher(extra []string) *ClaimMatcher {
	if len(extra) == 0 {
		return defaultClaimMatcher()
	}
	m, err := NewClaimMatcher(extra)
	if err != nil {
		// An invalid pattern matches nothing: fall back to the defaults.
		return defaultClaimMatcher()
	}
	return m
}

// defaultClaimMatcher is the matcher of DefaultClaimRefs alone.
var defaultClaimMatcher = sync.OnceValue(func() *ClaimMatcher {
	m, err := NewClaimMatcher(nil)
	if err != nil {
		panic("claimdrift: default claim references: " + err.Error())
	}
	return m
})

// Match reports whether ref is claim-sensitive.
func (m *ClaimMatcher) Match(ref string) bool {
	for _, p := range m.patterns {
		if matchRef(p, ref) {
			return true
		}
	}
	if strings.HasPrefix(ref, "data.") && strings.Count(ref, ".") == 2 {
		return m.Source(ref)
	}
	return false
}

// Source reports whether ref (data.TYPE.NAME) is a data source whose
// attributes the patterns name: its claim-sensitive attributes come from
// the claim itself, not from its arguments.
func (m *ClaimMatcher) Source(ref string) bool {
	for _, s := range m.sources {
		if MatchGlob(s, ref) {
			return true
		}
	}
	return false
}

func matchRef(pattern, ref string) bool {
	if MatchGlob(pattern, ref) {
		return true
	}
	// var.owner also covers var.owner.name and var.owner["k"].
	for i := 0; i < len(ref); i++ {
		if (ref[i] == '.' || ref[i] == '[') && MatchGlob(pattern, ref[:i]) {
			return true
		}
	}
	return false
}
