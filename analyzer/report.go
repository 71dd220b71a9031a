package analyzer

// Schema is the identifier of the JSON report format written by
// `claimdrift analyze --format json`. Fields may be added within v1; none is
// renamed or removed without a new schema identifier.
const Schema = "claimdrift.report/v1"

// Input kinds recorded in Report.Input.
const (
	// InputPlanJSON is the document written by `terraform show -json PLAN`.
	InputPlanJSON = "plan-json"
	// InputPlanStream is the line-delimited stream of `terraform plan -json`.
	InputPlanStream = "plan-stream"
)

// Replacement orders, as recorded in Replacement.Order.
const (
	OrderDestroyBeforeCreate = "destroy_before_create"
	OrderCreateBeforeDestroy = "create_before_destroy"
)

// Placeholders printed instead of values that must not or cannot be shown.
const (
	SensitiveValue = "(sensitive value)"
	UnknownValue   = "(known after apply)"
)

// Report is what the analyzer finds in one plan.
type Report struct {
	Schema            string `json:"schema"`
	TerraformVersion  string `json:"terraform_version"`
	PlanFormatVersion string `json:"plan_format_version"`
	// Input is InputPlanJSON or InputPlanStream.
	Input string `json:"input"`
	// Errored is true when the plan is partial: Terraform stopped planning
	// on an error, so the list of changes may be incomplete.
	Errored bool `json:"errored,omitempty"`
	// Incomplete is true when the plan says it is not complete (deferred
	// changes in newer Terraform versions: `"complete": false`).
	Incomplete bool `json:"incomplete,omitempty"`
	// Summary counts every planned action in the plan, ignored or not.
	Summary Summary `json:"summary"`
	// Replacements lists every replaced resource instance, sorted by
	// Resource then Deposed, minus those dropped by Options.Ignore.
	Replacements []Replacement `json:"replacements"`
	// Ignored counts replacements dropped by Options.Ignore.
	Ignored int `json:"ignored,omitempty"`
	// Drift lists the resources changed outside Terraform, sorted by Resource.
	Drift []Drift `json:"drift"`
	// Diagnostics holds error diagnostics found in a plan stream.
	Diagnostics []string `json:"diagnostics,omitempty"`
	// Warnings are problems that did not stop the analysis.
	Warnings []string `json:"warnings,omitempty"`
	// Presets are the prebuild presets the template declares
	// (data.coder_workspace_preset), from the plan's prior state.
	Presets []Preset `json:"presets,omitempty"`
}

// Summary counts planned actions. A replacement counts once, as Replace; any
// other action list counts each of its actions. Actions the analyzer does not
// know are counted in Other under their own name.
type Summary struct {
	Create  int `json:"create"`
	Update  int `json:"update"`
	Replace int `json:"replace"`
	Delete  int `json:"delete"`
	Read    int `json:"read"`
	NoOp    int `json:"no_op"`
	Forget  int `json:"forget,omitempty"`
	// Deferred counts changes Terraform postponed to a later plan
	// (deferred_changes); they are not part of this plan's actions.
	Deferred int            `json:"deferred,omitempty"`
	Drifted  int            `json:"drifted"`
	Other    map[string]int `json:"other,omitempty"`
}

// Replacement is one resource instance that the plan destroys and recreates.
type Replacement struct {
	// Resource is the full address, e.g. module.ws["a"].docker_container.main[0].
	Resource string `json:"resource"`
	// PreviousResource is the address before a `moved` block, when it differs.
	PreviousResource string `json:"previous_resource,omitempty"`
	// Deposed is the deposed object key, when the change is for a deposed object.
	Deposed string `json:"deposed,omitempty"`
	// Module is the module address, "" for the root module.
	Module   string `json:"module"`
	Type     string `json:"type"`
	Name     string `json:"name,omitempty"`
	Provider string `json:"provider"`
	// Reason is the plan's action_reason, "" when absent.
	Reason string `json:"reason"`
	// Order is OrderDestroyBeforeCreate or OrderCreateBeforeDestroy; "" when
	// the input does not say (the plan -json stream).
	Order string `json:"order"`
	// Paths are the rendered replace_paths, sorted; empty (never nil) when
	// the plan gives none (tainted, replace_triggered_by, -replace=).
	Paths []string `json:"paths"`
	// Changes holds, for each path, the value before and after.
	Changes []Change `json:"changes"`
	// ClaimSensitive is true when any change is caused by a reference that
	// differs per claimant.
	ClaimSensitive bool `json:"claim_sensitive"`
	// Risk is RiskHigh when the resource holds data (volumes, disks,
	// databases…), else RiskNormal.
	Risk string `json:"risk"`
	// Fix is the lifecycle block that stops these paths from forcing the
	// replacement; "" when there are no paths.
	Fix string `json:"fix"`
}

// Change is the value at one replaced path, before and after the plan.
// Values are rendered for display: strings as they are, other values as
// compact JSON, SensitiveValue or UnknownValue where they may not or cannot
// be shown, shortened past a limit.
type Change struct {
	Path   string `json:"path"`
	Before string `json:"before"`
	After  string `json:"after"`
	// References are the root-level references behind the attribute's
	// configuration expression, followed through module calls, outputs and
	// for_each (e.g. "data.coder_workspace_owner.me.name", "var.owner",
	// "local.name"); empty when the plan has no configuration for it.
	References []string `json:"references"`
	// ClaimSensitive is true when any reference differs per claimant.
	ClaimSensitive bool `json:"claim_sensitive"`
	// ReplacedReferences are the references that point into a resource the
	// same plan replaces: this change follows from that replacement, which
	// is the one to fix first.
	ReplacedReferences []string `json:"replaced_references,omitempty"`
	// ChangedKeys names, when the value at Path is a map or object, the
	// keys inside it that changed, e.g. triggers_replace["owner"].
	ChangedKeys []string `json:"changed_keys,omitempty"`
	// Steps is the path as the plan gives it (strings and integers); not
	// part of the JSON report.
	Steps Path `json:"-"`
	// BeforeSensitive and AfterSensitive tell that the value was masked.
	BeforeSensitive bool `json:"before_sensitive,omitempty"`
	AfterSensitive  bool `json:"after_sensitive,omitempty"`
	// AfterUnknown tells that the new value is known only after apply.
	AfterUnknown bool `json:"after_unknown,omitempty"`
}

// Drift is one resource that changed outside Terraform since the last apply.
type Drift struct {
	Resource string   `json:"resource"`
	Actions  []string `json:"actions"`
	// Paths are the rendered attribute paths whose values differ, sorted.
	Paths []string `json:"paths"`
}

// HasReplacements reports whether the report lists any replacement.
func (r *Report) HasReplacements() bool { return len(r.Replacements) > 0 }
