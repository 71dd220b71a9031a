package analyzer

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
