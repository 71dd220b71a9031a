package lint

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/claimdrift/claimdrift/analyzer"
)

//go:embed replace_table.json
var replaceTableJSON []byte

// Behaviours of an attribute, as the table records them.
const (
	behaviourUnknown     = ""
	behaviourReplace     = "replace"
	behaviourUpdate      = "update"
	behaviourConditional = "conditional"
)

// tableFile is the layout of replace_table.json.
type tableFile struct {
	Types map[string]struct {
		Aliases     []string          `json:"aliases"`
		Provider    string            `json:"provider"`
		Source      string            `json:"source"`
		Replace     []string          `json:"replace"`
		Update      []string          `json:"update"`
		Conditional map[string]string `json:"conditional"`
		Sets        []string          `json:"sets"`
	} `json:"types"`
}

// typeInfo is what the table knows about one resource type.
type typeInfo struct {
	name     string
	provider string
	source   string
	entries  []tableEntry
	sets     [][]string
}

type tableEntry struct {
	pattern   []string
	behaviour string
	// when names the boolean argument that makes a conditional entry replace.
	when string
}

// table maps resource type names (and aliases) to what is known of them.
type table map[string]*typeInfo

// loadTable parses the embedded table; a broken table is a programming
// error caught by the tests.
func loadTable(data []byte) (table, error) {
	var f tableFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("read replace table: %w", err)
	}
	t := table{}
	for name, e := range f.Types {
		ti := &typeInfo{name: name, provider: e.Provider, source: e.Source}
		if e.Source == "" {
			return nil, fmt.Errorf("read replace table: %s has no source note", name)
		}
		for _, p := range e.Replace {
			ti.entries = append(ti.entries, tableEntry{pattern: strings.Split(p, "."), behaviour: behaviourReplace})
		}
		for _, p := range e.Update {
			ti.entries = append(ti.entries, tableEntry{pattern: strings.Split(p, "."), behaviour: behaviourUpdate})
		}
		for p, when := range e.Conditional {
			ti.entries = append(ti.entries, tableEntry{pattern: strings.Split(p, "."), behaviour: behaviourConditional, when: when})
		}
		for _, p := range e.Sets {
			ti.sets = append(ti.sets, strings.Split(p, "."))
		}
		for _, n := range append([]string{name}, e.Aliases...) {
			if _, dup := t[n]; dup {
				return nil, fmt.Errorf("read replace table: %s listed twice", n)
			}
			t[n] = ti
		}
	}
	return t, nil
}

var defaultTable = mustTable()

func mustTable() table {
	t, err := loadTable(replaceTableJSON)
	if err != nil {
		panic(err)
	}
	return t
}

// matchPrefix reports whether pattern matches the first len(pattern) steps
// of p: a name matches a string step equal to it, * matches any one step.
func matchPrefix(pattern []string, p analyzer.Path) bool {
	if len(pattern) > len(p) {
		return false
	}
	for i, want := range pattern {
		if want == "*" {
			continue
		}
		s, ok := p[i].(string)
		if !ok || s != want {
			return false
		}
	}
	return true
}

// lookup returns the entry of the longest pattern that covers p, if any.
func (ti *typeInfo) lookup(p analyzer.Path) (tableEntry, bool) {
	var best tableEntry
	found := false
	for _, e := range ti.entries {
		if matchPrefix(e.pattern, p) && (!found || len(e.pattern) > len(best.pattern)) {
			best, found = e, true
		}
	}
	return best, found
}

// setPrefix returns the shortest prefix of p that ends at a set-typed
// attribute or block; ignore_changes cannot address elements of a set.
func (ti *typeInfo) setPrefix(p analyzer.Path) analyzer.Path {
	if ti == nil {
		return p
	}
	for n := 1; n <= len(p); n++ {
		for _, s := range ti.sets {
			if len(s) == n && matchPrefix(s, p) {
				return p[:n]
			}
		}
	}
	return p
}
