package simulate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/claimdrift/claimdrift/analyzer"
	"github.com/claimdrift/claimdrift/analyzer/tfshow"
)

// DefaultMaxRounds bounds the re-plans that settle the synthetic state.
const DefaultMaxRounds = 5

// ErrNoPreset is returned when Options.Preset names no preset of the
// template.
var ErrNoPreset = errors.New("no such preset")

// Options configure Run.
type Options struct {
	// Dir is the template: an initialized Terraform working directory.
	Dir string
	// Binary is where to find terraform or tofu (as `analyze` finds it).
	Binary tfshow.Options
	// Preset simulates only the preset of this name; "" simulates every
	// preset that keeps prebuilds (every preset when none does; one run
	// with parameter defaults when there are no presets).
	Preset string
	// Owner, OwnerEmail, OwnerName and WorkspaceName are the claimant's;
	// defaults alice, OWNER@example.com, "" and OWNER-workspace.
	Owner, OwnerEmail, OwnerName, WorkspaceName string
	// OwnerGroups are the claimant's groups (data.coder_workspace_owner's
	// groups); none by default.
	OwnerGroups []string
	// Vars ("NAME=VALUE") and VarFiles are passed to every plan.
	Vars, VarFiles []string
	// Params are values of coder parameters (by name) for the parameters
	// a preset does not set (every parameter when there is no preset), as
	// a user would fill them in. A parameter without a default needs one
	// when no preset sets it.
	Params map[string]string
	// Env is the environment terraform runs with (and the providers it
	// starts); nil means os.Environ(). CODER_* variables in it are
	// replaced by the simulated identities.
	Env []string
	// MaxRounds bounds the re-plans that settle the synthetic state; 0
	// means DefaultMaxRounds.
	MaxRounds int
	// Analyzer options for the claim plan's report.
	Analyzer analyzer.Options
	// TempDir is where the private working copy is made; "" means the
	// system's temporary directory. It is removed before Run returns,
	// unless KeepWorkdir is set (to inspect the synthetic state and plans).
	TempDir     string
	KeepWorkdir bool
}

// Simulation describes one simulated claim.
type Simulation struct {
	// Template is the directory simulated.
	Template string `json:"template"`
	// Preset is the preset's name, "" when the template has none.
	Preset string `json:"preset"`
	// Parameters are the preset's parameter values the builds ran with.
	Parameters  map[string]string `json:"parameters,omitempty"`
	WorkspaceID string            `json:"workspace_id"`
	Prebuild    Identity          `json:"prebuild"`
	Claimant    Identity          `json:"claimant"`
	// Rounds counts the re-plans as the prebuild against the synthetic
	// state; Settled is false when the last one still had changes.
	Rounds  int  `json:"rounds"`
	Settled bool `json:"settled"`
	// Rekeyed lists resources whose instances the claim destroys and
	// creates under other addresses.
	Rekeyed []Rekey `json:"rekeyed"`
	// Terraform is the binary's name and version, e.g. "terraform 1.5.7".
	Terraform string `json:"terraform"`
	// Workdir is the private working copy, when Options.KeepWorkdir kept it.
	Workdir string `json:"workdir,omitempty"`
}

// Result is one simulated claim and the analyzer's report on its plan.
type Result struct {
	Simulation Simulation
	Report     *analyzer.Report
}

// HasFindings reports whether the claim replaces or re-keys anything.
func (r *Result) HasFindings() bool {
	return r.Report.HasReplacements() || len(r.Simulation.Rekeyed) > 0
}

// Run simulates the claim of a prebuilt workspace of the template in
// opts.Dir, once per preset: it plans as the prebuild, turns that plan
// into a synthetic state, settles it, plans as the claimant against it
// with -refresh=false, and analyzes that plan. It never applies, never
// writes inside opts.Dir and never uses the template's backend: it works
// on a private copy with a local state.
//
// Errors wrap ErrNotDirectory, ErrNoConfiguration, ErrNotInitialized,
// ErrTerraform, ErrNoPreset or tfshow.ErrNoTerraform.
func Run(ctx context.Context, opts Options) ([]Result, error) {
	if opts.Dir == "" {
		opts.Dir = "."
	}
	if err := checkDir(opts.Dir); err != nil {
		return nil, err
	}
	absDir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, err
	}
	bin, err := findBinary(ctx, opts.Binary)
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(opts.TempDir, "claimdrift-simulate-")
	if err != nil {
		return nil, err
	}
	if !opts.KeepWorkdir {
		defer os.RemoveAll(tmp)
	}
	env := opts.Env
	if env == nil {
		env = os.Environ()
	}
	// The user's data directory: TF_DATA_DIR (relative to DIR, as terraform
	// run in DIR reads it) or DIR/.terraform.
	dataDir := ".terraform"
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "TF_DATA_DIR="); ok && v != "" {
			dataDir = v
		}
	}
	if !filepath.IsAbs(dataDir) {
		dataDir = filepath.Join(absDir, dataDir)
	}
	// Local modules outside DIR (source = "../modules/x") are linked beside
	// the copy, as deep as they reach up.
	outside, maxUp := outsideModules(dataDir)
	work := filepath.Join(tmp, strings.Repeat("up"+string(filepath.Separator), maxUp)+"work")
	if err := os.MkdirAll(work, 0o755); err != nil {
		return nil, err
	}
	if err := prepareWorkdir(absDir, work, dataDir); err != nil {
		return nil, err
	}
	if err := linkOutside(absDir, work, outside); err != nil {
		return nil, err
	}
	r := &runner{bin: bin.Path, dir: work, name: binName(bin.Path), template: opts.Dir}
	for _, v := range opts.Vars {
		r.vars = append(r.vars, "-var="+v)
	}
	for _, f := range opts.VarFiles {
		abs, err := filepath.Abs(f)
		if err != nil {
			return nil, err
		}
		r.vars = append(r.vars, "-var-file="+abs)
	}
	s := &sim{opts: opts, r: r, base: cleanEnv(env), work: work, template: filepath.Base(absDir)}
	s.mandatory = mandatoryParams(absDir, dataDir)
	s.claimant = claimantIdentity(opts)
	return s.run(ctx)
}

// findBinary picks the terraform or tofu to plan with: the one named, else
// the first tfshow.Find finds. The version is read from the plans.
func findBinary(ctx context.Context, o tfshow.Options) (tfshow.Binary, error) {
	if o.Explicit == "" {
		bins, err := tfshow.Find(ctx, o)
		if err != nil {
			return tfshow.Binary{}, err
		}
		return bins[0], nil
	}
	p, err := exec.LookPath(o.Explicit)
	if err != nil {
		return tfshow.Binary{}, fmt.Errorf("--terraform %s: %w", o.Explicit, err)
	}
	if p, err = filepath.Abs(p); err != nil {
		return tfshow.Binary{}, err
	}
	return tfshow.Binary{Path: p}, nil
}

func binName(p string) string {
	if strings.HasPrefix(filepath.Base(p), "tofu") {
		return "tofu"
	}
	return "terraform"
}

func claimantIdentity(o Options) Identity {
	id := Identity{Owner: o.Owner, OwnerEmail: o.OwnerEmail, OwnerName: o.OwnerName, WorkspaceName: o.WorkspaceName, IsPrebuildClaim: true,
		OwnerGroups: o.OwnerGroups}
	if id.Owner == "" {
		id.Owner = "alice"
	}
	if id.OwnerEmail == "" {
		id.OwnerEmail = id.Owner + "@example.com"
	}
	if id.WorkspaceName == "" {
		id.WorkspaceName = id.Owner + "-workspace"
	}
	id.OwnerID = derivedID("user", id.Owner)
	return id
}

// sim is one Run in progress.
type sim struct {
	opts      Options
	r         *runner
	base      []string
	work      string
	template  string
	terraform string
	claimant  Identity
	schemas   schemas
	// mandatory are the parameters without a default.
	mandatory []mandatoryParam
}

// build is a prebuild and claim of one preset.
type build struct {
	preset     string
	ws         workspace
	prebuild   Identity
	warnings   []string
	prebuildPl []byte // the prebuild plan's JSON, when already made
}

func (s *sim) newBuild(preset string, params map[string]string) *build {
	return &build{
		preset: preset,
		ws: workspace{
			id:              derivedID("workspace", s.template, preset),
			templateID:      derivedID("template", s.template),
			templateName:    s.template,
			templateVersion: "simulate",
			parameters:      params,
		},
		prebuild: Identity{
			Owner:         PrebuildsOwner,
			OwnerID:       PrebuildsOwnerID,
			WorkspaceName: prebuildName(s.template, preset),
			IsPrebuild:    true,
		},
	}
}

func (s *sim) env(b *build, id Identity) []string {
	env := append([]string(nil), s.base...)
	env = append(env, b.ws.env()...)
	return append(env, id.env()...)
}

func (s *sim) statePath() string { return filepath.Join(s.work, "terraform.tfstate") }

// planJSON plans as id against the current state and returns the plan's
// JSON and whether it has changes.
func (s *sim) planJSON(ctx context.Context, b *build, id Identity, name string, refresh bool) ([]byte, bool, error) {
	env := s.env(b, id)
	changes, err := s.r.plan(ctx, env, name, refresh)
	if err != nil {
		return nil, false, err
	}
	out, err := s.r.show(ctx, env, name)
	return out, changes, err
}

func (s *sim) run(ctx context.Context) ([]Result, error) {
	// The provider schemas (for typed placeholders) load while the first
	// plan runs.
	type schemaResult struct {
		s   schemas
		err error
	}
	schemaCh := make(chan schemaResult, 1)
	go func() {
		sc, err := s.r.schemas(ctx, s.base)
		schemaCh <- schemaResult{sc, err}
	}()
	// The first plan, as a prebuild with the parameters' defaults: it
	// reads the presets. Parameters without a default get a placeholder
	// that their own checks accept (or the value of Options.Params), so
	// that the data sources read; the presets' values come from this plan.
	firstParams := map[string]string{}
	placeheld := false
	for _, p := range s.mandatory {
		if v, ok := s.opts.Params[p.name]; ok {
			firstParams[p.name] = v
		} else {
			firstParams[p.name] = p.placeholder
			placeheld = true
		}
	}
	for k, v := range s.opts.Params {
		firstParams[k] = v
	}
	first := s.newBuild("", firstParams)
	out, _, err := s.planJSON(ctx, first, first.prebuild, "prebuild.tfplan", true)
	sr := <-schemaCh
	if err != nil {
		return nil, err
	}
	if sr.err != nil {
		return nil, sr.err
	}
	s.schemas = sr.s
	rep, err := analyzer.Analyze(bytes.NewReader(out), analyzer.Options{})
	if err != nil {
		return nil, fmt.Errorf("read prebuild plan: %w", err)
	}
	if placeheld {
		// The first plan ran with made-up values: not a prebuild's plan.
		out = nil
	}
	builds, err := s.selectPresets(rep.Presets, first, out)
	if err != nil {
		return nil, err
	}
	var results []Result
	for _, b := range builds {
		res, err := s.simulate(ctx, b)
		if err != nil {
			if b.preset != "" {
				return nil, fmt.Errorf("preset %q: %w", b.preset, err)
			}
			return nil, err
		}
		results = append(results, res)
	}
	return results, nil
}

// selectPresets picks the presets to simulate (see Options.Preset).
func (s *sim) selectPresets(presets []analyzer.Preset, first *build, firstPlan []byte) ([]*build, error) {
	if len(presets) == 0 {
		if s.opts.Preset != "" {
			return nil, fmt.Errorf("%w %q: the template declares no presets (data.coder_workspace_preset)", ErrNoPreset, s.opts.Preset)
		}
		b := s.newBuild("", nil)
		if err := fillParams(b, s.opts.Params, s.mandatory); err != nil {
			return nil, err
		}
		b.prebuildPl = firstPlan
		return []*build{b}, nil
	}
	var chosen []analyzer.Preset
	switch {
	case s.opts.Preset != "":
		var names []string
		for _, p := range presets {
			if p.Name == s.opts.Preset {
				chosen = append(chosen, p)
			}
			names = append(names, fmt.Sprintf("%q", p.Name))
		}
		if len(chosen) == 0 {
			return nil, fmt.Errorf("%w %q; the template declares %s", ErrNoPreset, s.opts.Preset, strings.Join(names, ", "))
		}
	default:
		for _, p := range presets {
			if keepsPrebuilds(p) {
				chosen = append(chosen, p)
			}
		}
		if len(chosen) == 0 {
			chosen = presets
		}
	}
	var builds []*build
	for _, p := range chosen {
		params := map[string]string{}
		var warnings []string
		for k, v := range p.Parameters {
			if v == analyzer.SensitiveValue {
				warnings = append(warnings, fmt.Sprintf("parameter %q of preset %q is sensitive: simulated with its default", k, p.Name))
				continue
			}
			params[k] = v
		}
		b := s.newBuild(p.Name, params)
		b.warnings = warnings
		if err := fillParams(b, s.opts.Params, s.mandatory); err != nil {
			return nil, err
		}
		builds = append(builds, b)
	}
	return builds, nil
}

func keepsPrebuilds(p analyzer.Preset) bool {
	if p.Instances > 0 {
		return true
	}
	for _, sc := range p.Schedules {
		if sc.Instances > 0 {
			return true
		}
	}
	return false
}

// simulate runs one prebuild and claim.
func (s *sim) simulate(ctx context.Context, b *build) (Result, error) {
	if err := os.Remove(s.statePath()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return Result{}, err
	}
	out := b.prebuildPl
	if out == nil {
		var err error
		if out, _, err = s.planJSON(ctx, b, b.prebuild, "prebuild.tfplan", true); err != nil {
			return Result{}, err
		}
	}
	plan, err := readPlanDoc(bytes.NewReader(out))
	if err != nil {
		return Result{}, err
	}
	s.terraform = s.r.name
	if plan.TerraformVersion != "" {
		s.terraform += " " + plan.TerraformVersion
	}
	st, fr := fold(&synthState{lineage: derivedID("lineage", s.template, b.preset)}, plan, s.schemas)
	if len(fr.untyped) > 0 {
		b.warnings = append(b.warnings, "no provider schema for "+strings.Join(fr.untyped, ", ")+": unknown values got untyped placeholders")
	}
	sim := Simulation{
		Template:    s.opts.Dir,
		Preset:      b.preset,
		Parameters:  b.ws.parameters,
		WorkspaceID: b.ws.id,
		Prebuild:    b.prebuild,
		Claimant:    s.claimant,
		Terraform:   s.terraform,
	}
	if s.opts.KeepWorkdir {
		sim.Workdir = s.work
	}
	// Settle: plan as the prebuild against the state until nothing changes.
	// The claim is planned at the same time against the same state (both
	// only read it): when the prebuild's plan is a no-op, that claim plan is
	// the answer and nobody waited for it.
	max := s.opts.MaxRounds
	if max <= 0 {
		max = DefaultMaxRounds
	}
	type planned struct {
		out []byte
		err error
	}
	var claim *planned
	for sim.Rounds < max {
		if err := s.writeState(st); err != nil {
			return Result{}, err
		}
		sim.Rounds++
		// Speculate when this round is likely the last: after a fold of
		// a re-plan, or when the prebuild plan left only computed
		// attributes unknown (nothing derived from placeholders).
		var claimCh chan planned
		if sim.Rounds > 1 || !fr.derived {
			claimCh = make(chan planned, 1)
			go func() {
				out, _, err := s.planJSON(ctx, b, s.claimant, "claim.tfplan", false)
				claimCh <- planned{out, err}
			}()
		}
		changes, err := s.r.plan(ctx, s.env(b, b.prebuild), "settle.tfplan", false)
		var speculative *planned
		if claimCh != nil {
			p := <-claimCh
			speculative = &p
		}
		if err != nil {
			return Result{}, err
		}
		if !changes && speculative != nil {
			sim.Settled = true
			claim = speculative
			break
		}
		if !changes {
			sim.Settled = true
			break
		}
		out, err := s.r.show(ctx, s.env(b, b.prebuild), "settle.tfplan")
		if err != nil {
			return Result{}, err
		}
		plan, err := readPlanDoc(bytes.NewReader(out))
		if err != nil {
			return Result{}, err
		}
		if settled(plan, st) {
			sim.Settled = true
			claim = speculative
			break
		}
		st, _ = fold(st, plan, s.schemas)
	}
	if !sim.Settled {
		b.warnings = append(b.warnings, fmt.Sprintf("the synthetic prebuild state did not settle after %d re-plans: the prediction may show changes a real prebuild would not", sim.Rounds))
		if err := s.writeState(st); err != nil {
			return Result{}, err
		}
	}
	if claim == nil {
		out, _, err := s.planJSON(ctx, b, s.claimant, "claim.tfplan", false)
		claim = &planned{out, err}
	}
	if claim.err != nil {
		return Result{}, claim.err
	}
	claimOut := claim.out
	rep, err := analyzer.Analyze(bytes.NewReader(claimOut), s.opts.Analyzer)
	if err != nil {
		return Result{}, fmt.Errorf("read claim plan: %w", err)
	}
	claimPlan, err := readPlanDoc(bytes.NewReader(claimOut))
	if err != nil {
		return Result{}, err
	}
	sim.Rekeyed = rekeyed(claimPlan)
	maskPlaceholders(rep, st.placeholders)
	rep.Warnings = append(rep.Warnings, b.warnings...)
	return Result{Simulation: sim, Report: rep}, nil
}

func (s *sim) writeState(st *synthState) error {
	b, err := st.marshal()
	if err != nil {
		return err
	}
	return os.WriteFile(s.statePath(), b, 0o600)
}

// PrebuildPlaceholder is printed instead of a placeholder simulate made up
// for a value the prebuild would only know after apply.
const PrebuildPlaceholder = "(prebuild: known after apply)"

// maskPlaceholders replaces, in the values a report prints, the strings
// simulate made up for unknown values: they are no real value.
func maskPlaceholders(rep *analyzer.Report, made map[string]bool) {
	if len(made) == 0 {
		return
	}
	mask := func(s string) string {
		for _, m := range uuidRE.FindAllString(s, -1) {
			if made[m] {
				if s == m {
					return PrebuildPlaceholder
				}
				s = strings.ReplaceAll(s, m, PrebuildPlaceholder)
			}
		}
		return s
	}
	for i := range rep.Replacements {
		for j := range rep.Replacements[i].Changes {
			c := &rep.Replacements[i].Changes[j]
			c.Before, c.After = mask(c.Before), mask(c.After)
		}
	}
}

var uuidRE = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
