package analyzer

import (
	"errors"
	"fmt"
	"strings"
)

// Preset is a prebuild preset a template declares with the
// data.coder_workspace_preset data source: a named set of parameter values
// and the pool of prebuilt workspaces to keep for it.
type Preset struct {
	// Resource is the data source's address.
	Resource string `json:"resource"`
	Name     string `json:"name"`
	// Parameters are the preset's parameter values; sensitive ones are
	// SensitiveValue.
	Parameters map[string]string `json:"parameters"`
	// Instances is the number of prebuilds to keep (0: no pool).
	Instances int `json:"instances"`
	// TTLSeconds is the expiration_policy ttl: prebuilds older than this
	// are replaced; 0 means none.
	TTLSeconds int64 `json:"ttl_seconds,omitempty"`
	// Timezone and Schedules come from the scheduling block.
	Timezone  string           `json:"timezone,omitempty"`
	Schedules []PresetSchedule `json:"schedules,omitempty"`
	Default   bool             `json:"default,omitempty"`
}

// PresetSchedule sets the pool size while a cron expression matches.
type PresetSchedule struct {
	Cron      string `json:"cron"`
	Instances int    `json:"instances"`
}

// ErrMultipleDefaultPresets is wrapped by CheckPresets when more than one
// preset is marked default: Coder refuses such a template version.
var ErrMultipleDefaultPresets = errors.New("more than one preset is marked default")

// CheckPresets reports what Coder refuses in a template's presets: more
// than one marked default (an error wrapping ErrMultipleDefaultPresets that
// names them).
func CheckPresets(presets []Preset) error {
	var defaults []string
	for _, p := range presets {
		if p.Default {
			defaults = append(defaults, fmt.Sprintf("%q (%s)", p.Name, p.Resource))
		}
	}
	if len(defaults) > 1 {
		return fmt.Errorf("%w: %s; mark at most one", ErrMultipleDefaultPresets, strings.Join(defaults, ", "))
	}
	return nil
}
