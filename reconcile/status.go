package reconcile

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// PresetState is what `claimdrift status` and the metrics report per preset.
type PresetState struct {
	PresetID     uuid.UUID    `json:"preset_id"`
	Organization string       `json:"organization"`
	Template     string       `json:"template"`
	Version      string       `json:"template_version"`
	Preset       string       `json:"preset"`
	Desired      int          `json:"desired"`
	Running      int          `json:"running"`
	Eligible     int          `json:"eligible"`
	InProgress   int          `json:"in_progress"`
	Status       PresetStatus `json:"status"`
	StatusReason string       `json:"status_reason,omitempty"`
	Blocked      string       `json:"blocked,omitempty"`
	// Totals, derived from the store.
	Created        int `json:"created"`
	Failed         int `json:"failed"`
	Claims         int `json:"claims"`
	ClaimsReplaced int `json:"claims_replaced"`
}

// States combines a snapshot and the counters into per-preset states, with
// the desired count and status CalculateActions gives at now.
func States(snap Snapshot, counters []PresetCounters, now time.Time, pol Policy) []PresetState {
	byPreset := make(map[uuid.UUID]PresetCounters, len(counters))
	for _, c := range counters {
		byPreset[c.PresetID] = c
	}
	out := make([]PresetState, 0, len(snap.Presets))
	for _, ps := range snap.Presets {
		plan := CalculateActions(ps, now, pol)
		c := byPreset[ps.Preset.ID]
		out = append(out, PresetState{
			PresetID: ps.Preset.ID, Organization: ps.Template.Organization, Template: ps.Template.Name, Version: ps.ActiveVersion.Name, Preset: ps.Preset.Name,
			Desired: plan.Desired, Running: plan.Running, Eligible: plan.Eligible, InProgress: plan.Creating + plan.Deleting,
			Status: plan.Status, StatusReason: plan.StatusReason, Blocked: plan.Blocked,
			Created: c.Created, Failed: c.Failed, Claims: c.Claimed, ClaimsReplaced: c.ClaimsReplaced,
		})
	}
	return out
}

// Status reads the store and returns every preset's state now.
func (p *Pool) Status(ctx context.Context) ([]PresetState, error) {
	return readStates(ctx, p.store, p.opts.Now(), p.opts.Policy, p.opts.HistoryLimit)
}

func readStates(ctx context.Context, s Store, now time.Time, pol Policy, limit int) ([]PresetState, error) {
	snap, err := s.Snapshot(ctx, now, limit)
	if err != nil {
		return nil, fmt.Errorf("read pool: %w", err)
	}
	counters, err := s.Counters(ctx)
	if err != nil {
		return nil, fmt.Errorf("read counters: %w", err)
	}
	return States(snap, counters, now, pol), nil
}

// FindPreset resolves a preset by name, optionally within a template
// ("" = any): ErrNotFound when none matches, ErrAmbiguous when several do.
func FindPreset(ctx context.Context, s Store, template, name string) (PresetInfo, error) {
	list, err := s.Presets(ctx)
	if err != nil {
		return PresetInfo{}, err
	}
	var found []PresetInfo
	for _, pi := range list {
		if pi.Preset.Name == name && (template == "" || pi.Template.Name == template) {
			found = append(found, pi)
		}
		if id, err := uuid.Parse(name); err == nil && pi.Preset.ID == id {
			return pi, nil
		}
	}
	switch len(found) {
	case 0:
		if template != "" {
			return PresetInfo{}, fmt.Errorf("preset %q of template %q: %w", name, template, ErrNotFound)
		}
		return PresetInfo{}, fmt.Errorf("preset %q: %w", name, ErrNotFound)
	case 1:
		return found[0], nil
	}
	return PresetInfo{}, fmt.Errorf("preset %q exists in %d templates (pass --template): %w", name, len(found), ErrAmbiguous)
}
