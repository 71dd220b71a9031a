package reconcile

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/claimdrift/claimdrift/analyzer"
	"github.com/claimdrift/claimdrift/notify"
	"github.com/google/uuid"
)

// Sources of a tracked build, as HistoryEntry.Source reports them.
const (
	// SourceClaimdrift: tracked by `claimdrift track`, a claim or the API.
	SourceClaimdrift = "claimdrift"
	// SourceCoder: recorded from a Coder notification.
	SourceCoder = "coder"
)

// ObservedFromCoder marks templates and presets claimdrift only knows from
// Coder's notifications: no pool of claimdrift's (desired 0), never
// reconciled.
const ObservedFromCoder = "coder"

// ErrDuplicate is returned when a record with the same unique name exists
// (an API token name).
var ErrDuplicate = errors.New("already exists")

// APIToken is a bearer token of the serve API. Only the SHA-256 of the
// token (hex) is stored; the token itself is printed once, at creation.
type APIToken struct {
	ID        uuid.UUID `json:"id"`
	Name      string    `json:"name"`
	Scopes    []string  `json:"scopes"`
	Hash      string    `json:"-"`
	CreatedAt time.Time `json:"created_at"`
	RevokedAt time.Time `json:"revoked_at,omitzero"`
}

// Revoked reports whether the token was revoked.
func (t APIToken) Revoked() bool { return !t.RevokedAt.IsZero() }

// HistoryQuery filters the replacement history; zero fields match all.
type HistoryQuery struct {
	// Template and Preset match names (or ids).
	Template string
	Preset   string
	Since    time.Time
	// BuildID selects one build (uuid.Nil: any).
	BuildID uuid.UUID
	// Limit bounds the entries returned (newest first).
	Limit int
}

// HistoryEntry is one tracked build that replaced something.
type HistoryEntry struct {
	BuildID         uuid.UUID            `json:"build_id"`
	WorkspaceID     uuid.UUID            `json:"workspace_id"`
	Workspace       string               `json:"workspace"`
	Claimant        string               `json:"claimant"`
	Organization    string               `json:"organization"`
	TemplateID      uuid.UUID            `json:"template_id"`
	Template        string               `json:"template"`
	TemplateVersion string               `json:"template_version"`
	PresetID        uuid.UUID            `json:"preset_id"`
	Preset          string               `json:"preset"`
	Stage           Stage                `json:"stage"`
	Source          string               `json:"source"`
	TrackedAt       time.Time            `json:"tracked_at"`
	Replacements    []HistoryReplacement `json:"replacements"`
}

// HistoryReplacement is one replaced resource of a HistoryEntry.
type HistoryReplacement struct {
	Resource string `json:"resource"`
	Type     string `json:"type"`
	Reason   string `json:"reason"`
	Order    string `json:"order"`
	// Paths are rendered in claimdrift's path syntax, unless PathsAsGiven:
	// then they are kept as a Coder notification gave them (ambiguous).
	Paths        []string `json:"paths"`
	PathsAsGiven bool     `json:"paths_as_given,omitempty"`
	// Changes are the values before and after at each path and the
	// references that caused them (empty for Coder notifications).
	Changes []analyzer.Change `json:"changes"`
}

// RecordedOrder is the order of a build's recorded replacements wherever
// they are listed: by resource address, then deposed key, byte by byte
// (not by a database's collation, which differs between servers).
func RecordedOrder(aResource, aDeposed, bResource, bDeposed string) int {
	return cmp.Or(strings.Compare(aResource, bResource), strings.Compare(aDeposed, bDeposed))
}

// RecordedReplacements is what the history shows of a build's tracked
// replacements: one per resource instance (the first of duplicates), by
// resource address then deposed key, byte by byte.
func RecordedReplacements(reps []analyzer.Replacement) []HistoryReplacement {
	type key struct{ resource, deposed string }
	seen := make(map[key]bool, len(reps))
	sorted := make([]analyzer.Replacement, 0, len(reps))
	for _, r := range reps {
		k := key{r.Resource, r.Deposed}
		if !seen[k] {
			seen[k] = true
			sorted = append(sorted, r)
		}
	}
	slices.SortStableFunc(sorted, func(a, b analyzer.Replacement) int {
		return RecordedOrder(a.Resource, a.Deposed, b.Resource, b.Deposed)
	})
	out := make([]HistoryReplacement, len(sorted))
	for i, r := range sorted {
		paths, changes := r.Paths, r.Changes
		if paths == nil {
			paths = []string{}
		}
		if changes == nil {
			changes = []analyzer.Change{}
		}
		out[i] = HistoryReplacement{Resource: r.Resource, Type: r.Type, Reason: r.Reason, Order: r.Order, Paths: paths, Changes: changes}
	}
	return out
}

// PathCount is how many tracked claims of a template one attribute path
// forced a replacement in.
type PathCount struct {
	Organization string `json:"organization"`
	Template     string `json:"template"`
	// Path is "resource type.path", e.g. "docker_container.env".
	Path         string `json:"path"`
	PathsAsGiven bool   `json:"paths_as_given,omitempty"`
	Claims       int    `json:"claims"`
}

// ObservedReplacement is a claim's replacement reported by Coder (its
// "Prebuilt Workspace Resource Replaced" notification), named by names.
type ObservedReplacement struct {
	// MsgID identifies the notification; recording it twice changes nothing.
	MsgID        string
	Organization string
	Template     string
	Version      string
	Preset       string
	Workspace    string
	Claimant     string
	BuildNumber  int
	Replacements []analyzer.Replacement
	// PathsAsGiven names the resources whose Paths are kept as given.
	PathsAsGiven map[string]bool
	Now          time.Time
	// Notify returns the messages to queue for a new record.
	Notify func(ctx context.Context, bc BuildContext) ([]notify.Message, error)
}

// ObservedResult is what recording an ObservedReplacement did.
type ObservedResult struct {
	// New is false when the message (or its build) was already recorded.
	New          bool
	Replacements int
	Queued       int
	Build        BuildContext
}

// ObservedStore records replacements reported by Coder: every record (the
// template, version, preset, workspace and build it names, created as
// observed from Coder when unknown, the replacements and the message id)
// in one transaction.
type ObservedStore interface {
	RecordObserved(ctx context.Context, in ObservedReplacement) (ObservedResult, error)
}

// RecordObserved records a replacement Coder reported, and queues the
// same notifications to the template's admins as a tracked claim.
func (p *Pool) RecordObserved(ctx context.Context, in ObservedReplacement) (ObservedResult, error) {
	os, ok := p.store.(ObservedStore)
	if !ok {
		return ObservedResult{}, fmt.Errorf("store %T cannot record observed replacements", p.store)
	}
	if in.Now.IsZero() {
		in.Now = p.opts.Now()
	}
	in.Notify = p.claimNotify(in.Now, in.Replacements)
	res, err := os.RecordObserved(ctx, in)
	if err != nil {
		return res, fmt.Errorf("record coder notification %s: %w", in.MsgID, err)
	}
	return res, nil
}

// PresetLookup reads one preset without listing them all.
type PresetLookup interface {
	// PresetByID returns the preset with that id, or ErrNotFound.
	PresetByID(ctx context.Context, id uuid.UUID) (PresetInfo, error)
	// PresetByName returns the preset of that name in the named template
	// (or template id); ErrNotFound, or ErrAmbiguous when the template name
	// is in several organizations.
	PresetByName(ctx context.Context, template, preset string) (PresetInfo, error)
}

// ObservedReplacementOf describes a resource a Coder notification says a
// claim replaced: its address and paths, its module, type and name read
// from the address.
func ObservedReplacementOf(address string, paths []string) analyzer.Replacement {
	if paths == nil {
		paths = []string{}
	}
	r := analyzer.Replacement{Resource: address, Paths: paths, Changes: []analyzer.Change{}}
	steps := addressSteps(address)
	var module []string
	for len(steps) >= 2 && steps[0] == "module" {
		module = append(module, steps[0], steps[1])
		steps = steps[2:]
	}
	if len(steps) > 0 && steps[0] == "data" {
		steps = steps[1:]
	}
	if len(steps) != 2 {
		return r
	}
	r.Module = strings.Join(module, ".")
	r.Type = steps[0]
	r.Name, _, _ = strings.Cut(steps[1], "[")
	return r
}

// addressSteps splits a resource address on the dots outside brackets
// and quoted keys.
func addressSteps(addr string) []string {
	var out []string
	depth, inQuote, start := 0, false, 0
	for i := 0; i < len(addr); i++ {
		c := addr[i]
		switch {
		case inQuote && c == '\\':
			i++
		case c == '"':
			inQuote = !inQuote
		case inQuote:
		case c == '[':
			depth++
		case c == ']':
			depth--
		case c == '.' && depth == 0:
			out = append(out, addr[start:i])
			start = i + 1
		}
	}
	return append(out, addr[start:])
}
