package lint

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Schema identifies the JSON output of `claimdrift lint --format json`.
// Fields may be added within v1; none is renamed or removed.
const Schema = "claimdrift.lint/v1"

// Severity rates a finding.
type Severity int

// Severities, in increasing order.
const (
	SeverityInfo Severity = iota + 1
	SeverityWarning
	SeverityError
)

// String returns "info", "warning" or "error".
func (s Severity) String() string {
	switch s {
	case SeverityInfo:
		return "info"
	case SeverityWarning:
		return "warning"
	case SeverityError:
		return "error"
	}
	return fmt.Sprintf("severity(%d)", int(s))
}

// MarshalJSON writes the severity as its name.
func (s Severity) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// UnmarshalJSON reads a severity name.
func (s *Severity) UnmarshalJSON(b []byte) error {
	var name string
	if err := json.Unmarshal(b, &name); err != nil {
		return err
	}
	v, err := ParseSeverity(name)
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// ParseSeverity reads "error", "warning" or "info".
func ParseSeverity(name string) (Severity, error) {
	switch strings.ToLower(name) {
	case "error":
		return SeverityError, nil
	case "warning":
		return SeverityWarning, nil
	case "info":
		return SeverityInfo, nil
	}
	return 0, fmt.Errorf("unknown severity %q (want error, warning or info)", name)
}

// Plan confirmation states recorded in Finding.Plan by Confirm.
const (
	// PlanConfirmed: the plan replaces the resource because of this attribute.
	PlanConfirmed = "confirmed"
	// PlanNotReplaced: the plan does not replace the resource for this attribute.
	PlanNotReplaced = "not_replaced"
	// PlanMissed: the plan replaces something the static pass did not find.
	PlanMissed = "missed"
)

// Finding is one problem in a template.
type Finding struct {
	// Rule is the rule id, one of the IDs in Rules.
	Rule     string   `json:"rule"`
	Severity Severity `json:"severity"`
	// Resource is the resource address within the module that declares it,
	// e.g. docker_container.workspace.
	Resource string `json:"resource"`
	// Attribute is the attribute path rendered for ignore_changes, e.g.
	// metadata[0].name; "" for findings about a whole resource. For
	// plan_replacement_missed it lists the plan's unexplained replace
	// paths, separated by ", ".
	Attribute string `json:"attribute"`
	// File is the file path (with Options.PathPrefix), slash-separated;
	// Line and Column are 1-based. All three are empty for a plan
	// replacement that no file declares.
	File    string `json:"file"`
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Message string `json:"message"`
	// Fix is the suggested ignore_changes edit, "" when none is needed.
	Fix string `json:"fix"`
	// References are the claim-sensitive references the attribute depends
	// on, sorted.
	References []string `json:"references,omitempty"`
	// Modules lists the module addresses ("" is the root module) in which
	// the declaring module is instantiated, sorted.
	Modules []string `json:"-"`
	// Plan is set by Confirm: PlanConfirmed, PlanNotReplaced or PlanMissed.
	Plan string `json:"plan,omitempty"`

	resType, resName string
	ignorePath       string
	// rel is File relative to the linted directory, root that directory's
	// absolute path (Options.Root), for SARIF.
	rel, root string
}

// Result is everything Lint found.
type Result struct {
	Findings []Finding

	// roots are the linted directories' Options.Root, in order; prefix is
	// the Options.PathPrefix of a result that Lint returned.
	roots  []string
	prefix string

	// declared maps "MODULE|TYPE.NAME" (MODULE "" for the root, instance
	// keys dropped) to where the resource block is, for Confirm.
	declared map[string]declaration
}

type declaration struct {
	file         string
	line, column int
}

// Merge returns the findings of several results (one per linted
// directory) as one, in order. Confirm each result before merging: a merged
// result cannot be confirmed.
func Merge(results ...*Result) *Result {
	out := &Result{Findings: []Finding{}}
	for _, r := range results {
		out.Findings = append(out.Findings, r.Findings...)
		out.roots = append(out.roots, r.roots...)
	}
	return out
}

// Max returns the highest severity among the findings, 0 when there are none.
func (r *Result) Max() Severity {
	var m Severity
	for _, f := range r.Findings {
		if f.Severity > m {
			m = f.Severity
		}
	}
	return m
}

// Count returns how many findings have severity s.
func (r *Result) Count(s Severity) int {
	n := 0
	for _, f := range r.Findings {
		if f.Severity == s {
			n++
		}
	}
	return n
}

// AtLeast reports whether any finding has severity s or higher.
func (r *Result) AtLeast(s Severity) bool { return r.Max() >= s && r.Max() != 0 }

func (r *Result) sort() {
	sort.SliceStable(r.Findings, func(i, j int) bool {
		a, b := r.Findings[i], r.Findings[j]
		if a.File != b.File {
			// Findings without a file go last.
			if a.File == "" || b.File == "" {
				return b.File == ""
			}
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Column != b.Column {
			return a.Column < b.Column
		}
		if a.Resource != b.Resource {
			return a.Resource < b.Resource
		}
		if a.Attribute != b.Attribute {
			return a.Attribute < b.Attribute
		}
		return a.Rule < b.Rule
	})
}

// Rule describes one kind of finding.
type Rule struct {
	// ID is the rule id used in every output format.
	ID string
	// Name is a short CamelCase name (SARIF reportingDescriptor.name).
	Name string
	// Short is a one-sentence description.
	Short string
	// Help explains the problem and the fix.
	Help string
	// Default is the usual severity of the rule's findings.
	Default Severity
}

// Rule ids.
const (
	RuleForcesReplacement      = "claim_forces_replacement"
	RuleUnknownAttribute       = "claim_unknown_attribute"
	RuleUpdatesInPlace         = "claim_updates_in_place"
	RuleIgnoreChangesAll       = "ignore_changes_all"
	RulePlanMissed             = "plan_replacement_missed"
	RuleInstanceKeys           = "claim_changes_instances"
	RuleModuleNotRead          = "module_not_read"
	RuleMultipleDefaultPresets = "multiple_default_presets"
)

// Rules lists every rule, in a stable order.
var Rules = []Rule{
	{
		ID:      RuleForcesReplacement,
		Name:    "ClaimForcesReplacement",
		Short:   "A claim-sensitive value feeds an attribute that forces the resource to be replaced.",
		Help:    "When a prebuilt workspace is claimed, the owner and workspace name change and Terraform runs again. An attribute that depends on them and that the provider cannot update in place makes Terraform destroy and recreate the resource, wasting the prebuild. Add the attribute to lifecycle { ignore_changes = [...] }, or stop deriving it from claim-sensitive values.",
		Default: SeverityError,
	},
	{
		ID:      RuleUnknownAttribute,
		Name:    "ClaimUnknownAttribute",
		Short:   "A claim-sensitive value feeds an attribute whose replacement behaviour claimdrift does not know.",
		Help:    "The attribute depends on a value that changes when a prebuilt workspace is claimed, and claimdrift's table does not say whether the provider can update it in place. Check the provider's documentation, or run `claimdrift lint --plan` with a plan of a claim.",
		Default: SeverityWarning,
	},
	{
		ID:      RuleUpdatesInPlace,
		Name:    "ClaimUpdatesInPlace",
		Short:   "A claim-sensitive value feeds an attribute the provider updates in place.",
		Help:    "The attribute changes when a prebuilt workspace is claimed, but the provider updates it without replacing the resource. Nothing is destroyed; this is reported for information.",
		Default: SeverityInfo,
	},
	{
		ID:      RuleIgnoreChangesAll,
		Name:    "IgnoreChangesAll",
		Short:   "lifecycle.ignore_changes = all hides every change to the resource.",
		Help:    "ignore_changes = all keeps claims from replacing the resource, but it also hides every real change the template makes later (new image, new settings). List the claim-sensitive attributes instead.",
		Default: SeverityWarning,
	},
	{
		ID:      RulePlanMissed,
		Name:    "PlanReplacementMissed",
		Short:   "The plan replaces a resource that the static analysis did not flag.",
		Help:    "The plan given with --plan replaces this resource, and no static finding explains it: the cause may be outside the claim-sensitive references claimdrift follows (a variable, a provider default, a tainted resource). Look at the plan's replace paths.",
		Default: SeverityError,
	},
	{
		ID:      RuleInstanceKeys,
		Name:    "ClaimChangesInstances",
		Short:   "A resource's or module's count or for_each depends on a claim-sensitive value.",
		Help:    "When count or for_each changes on claim, Terraform destroys the instances whose keys went away and creates new ones: the prebuild's resources are lost. ignore_changes cannot cover count or for_each; derive them from values that stay the same when a prebuild is claimed (data.coder_workspace.me.start_count, parameters, the workspace id).",
		Default: SeverityError,
	},
	{
		ID:      RuleModuleNotRead,
		Name:    "ModuleNotRead",
		Short:   "A module call was not read, so what passes through it is not checked.",
		Help:    "claimdrift lint reads local modules only (a source starting with ./ or ../ inside the linted directory). Registry, git and remote modules, and local modules that are missing, are not followed: claim-sensitive values passed into them, and resources inside them, are not checked. Run claimdrift simulate or lint --plan with a claim plan for an exact answer.",
		Default: SeverityWarning,
	},
	{
		ID:      RuleMultipleDefaultPresets,
		Name:    "MultipleDefaultPresets",
		Short:   "More than one coder_workspace_preset is marked default.",
		Help:    "Coder refuses a template version in which more than one preset has default = true (and claimdrift template import refuses such a plan). Mark at most one preset default.",
		Default: SeverityError,
	},
}

// RuleByID returns the rule with the given id.
func RuleByID(id string) (Rule, bool) {
	for _, r := range Rules {
		if r.ID == id {
			return r, true
		}
	}
	return Rule{}, false
}
