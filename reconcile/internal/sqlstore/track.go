package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/claimdrift/claimdrift/analyzer"
	"github.com/claimdrift/claimdrift/reconcile"
	"github.com/google/uuid"
)

// TrackReplacements implements reconcile.Store. A build already known
// (a claim claimdrift started) costs one read before the writes; an
// unknown one is recorded with its workspace first.
func (s *Store) TrackReplacements(ctx context.Context, req reconcile.TrackRequest) (reconcile.TrackResult, error) {
	if err := reconcile.ValidateOptionalName("claimant", req.Claimant); err != nil {
		return reconcile.TrackResult{}, err
	}
	var res reconcile.TrackResult
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res = reconcile.TrackResult{} // a retried transaction starts over
		bc, tracked, err := s.trackedBuild(ctx, tx, req.BuildID)
		if errors.Is(err, reconcile.ErrNotFound) {
			var known bool
			if bc, known, err = s.recordBuild(ctx, tx, req); err == nil && !known {
				bc, tracked, err = s.trackedBuild(ctx, tx, req.BuildID)
			}
		}
		if err != nil {
			return err
		}
		if bc.WorkspaceID != req.WorkspaceID {
			return fmt.Errorf("build %s belongs to workspace %s, not %s: %w", req.BuildID, bc.WorkspaceID, req.WorkspaceID, reconcile.ErrNotFound)
		}
		res.Build = bc
		if tracked {
			res.Recorded, err = s.buildReplacements(ctx, tx, req.BuildID)
			res.Replacements = len(res.Recorded)
			return err
		}
		res.New = true
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO tracked_builds (build_id, workspace_id, replacements, tracked_at) VALUES (?, ?, ?, ?)`),
			req.BuildID.String(), req.WorkspaceID.String(), len(req.Replacements), us(req.Now)); err != nil {
			return fmt.Errorf("record tracked build: %w", err)
		}
		if res.Replacements, err = s.insertReplacements(ctx, tx, req.BuildID, req.WorkspaceID, req.Replacements, nil, req.Now); err != nil {
			return err
		}
		res.Recorded = reconcile.RecordedReplacements(req.Replacements)
		if res.Replacements == 0 || req.Notify == nil {
			return nil
		}
		msgs, err := req.Notify(s.withTx(ctx, tx), bc)
		if err != nil {
			return err
		}
		res.Queued = len(msgs)
		return s.enqueue(ctx, tx, msgs, req.Now)
	})
	return res, err
}

// replacementCols are the columns insertReplacements writes per row.
const replacementCols = `build_id, resource, deposed, workspace_id, module, type, name, provider, reason, replace_order, paths, changes, paths_as_given, created_at`

// insertReplacements records a build's replacements (asGiven names those
// whose paths are kept as given), several rows per statement, and returns
// how many were new.
func (s *Store) insertReplacements(ctx context.Context, tx *sql.Tx, buildID, workspaceID uuid.UUID, reps []analyzer.Replacement, asGiven map[string]bool, now time.Time) (int, error) {
	n := 0
	for len(reps) > 0 {
		batch := reps[:min(len(reps), insertBatch)]
		reps = reps[len(batch):]
		args := make([]any, 0, 14*len(batch))
		for _, r := range batch {
			paths := r.Paths
			if paths == nil {
				paths = []string{}
			}
			pathsJSON, err := json.Marshal(paths)
			if err != nil {
				return n, err
			}
			changes := r.Changes
			if changes == nil {
				changes = []analyzer.Change{}
			}
			changesJSON, err := json.Marshal(changes)
			if err != nil {
				return n, err
			}
			args = append(args, buildID.String(), r.Resource, r.Deposed, workspaceID.String(), r.Module, r.Type, r.Name, r.Provider, r.Reason, r.Order,
				string(pathsJSON), string(changesJSON), b2i(asGiven[r.Resource]), us(now))
		}
		res, err := tx.ExecContext(ctx, s.q(`INSERT INTO replacements (`+replacementCols+`) VALUES `+
			repeatTuple(`(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, len(batch))+` ON CONFLICT (build_id, resource, deposed) DO NOTHING`), args...)
		if err != nil {
			return n, fmt.Errorf("record replacements: %w", err)
		}
		k, err := res.RowsAffected()
		if err != nil {
			return n, fmt.Errorf("record replacements: %w", err)
		}
		n += int(k)
	}
	return n, nil
}

// trackedBuild reads what a build's notifications name and whether it was
// tracked; ErrNotFound when the build is unknown.
func (s *Store) trackedBuild(ctx context.Context, q querier, buildID uuid.UUID) (reconcile.BuildContext, bool, error) {
	var tracked int
	bc, err := s.scanBuildContext(q.QueryRowContext(ctx, s.q(buildContextQuery(`, CASE WHEN EXISTS (SELECT 1 FROM tracked_builds tb WHERE tb.build_id = b.id) THEN 1 ELSE 0 END`)),
		buildID.String()), buildID, &tracked)
	return bc, tracked != 0, err
}

// recordBuild records an unknown build (and its workspace when unknown
// too) as a succeeded claim of req.PresetID, so the provisioner hook works
// for builds claimdrift did not start. For a new workspace it returns the
// build's context as written (known); otherwise the caller reads it.
func (s *Store) recordBuild(ctx context.Context, tx *sql.Tx, req reconcile.TrackRequest) (bc reconcile.BuildContext, known bool, err error) {
	var presetID, templateID, active, owner string
	err = tx.QueryRowContext(ctx, s.q(`SELECT w.preset_id, w.template_id, t.active_version_id, w.owner FROM workspaces w JOIN templates t ON t.id = w.template_id WHERE w.id = ?`),
		req.WorkspaceID.String()).Scan(&presetID, &templateID, &active, &owner)
	newWorkspace := errors.Is(err, sql.ErrNoRows)
	var version string
	switch {
	case newWorkspace:
		if req.PresetID == uuid.Nil {
			return bc, false, fmt.Errorf("workspace %s and build %s are unknown (pass the preset to record them): %w", req.WorkspaceID, req.BuildID, reconcile.ErrNotFound)
		}
		// What the build's context names, read with the preset.
		var versionID string
		err = tx.QueryRowContext(ctx, s.q(`SELECT p.template_id, t.active_version_id, t.name, t.organization, p.name, COALESCE(v.id, ''), COALESCE(v.name, '')
			FROM presets p JOIN templates t ON t.id = p.template_id LEFT JOIN template_versions v ON v.id = t.active_version_id WHERE p.id = ?`),
			req.PresetID.String()).Scan(&templateID, &active, &bc.Template, &bc.Organization, &bc.Preset, &versionID, &version)
		if errors.Is(err, sql.ErrNoRows) {
			return bc, false, fmt.Errorf("preset %s: %w", req.PresetID, reconcile.ErrNotFound)
		}
		if err != nil {
			return bc, false, err
		}
		bc.VersionID, bc.Version = parseID(versionID), version
		presetID, owner = req.PresetID.String(), req.Claimant
		if owner == "" {
			owner = "unknown"
		}
	case err != nil:
		return bc, false, err
	}
	if presetID == "" && req.PresetID != uuid.Nil {
		presetID = req.PresetID.String()
	}
	initiator := req.Claimant
	if initiator == "" {
		initiator = owner
	}
	b := reconcile.Build{ID: req.BuildID, WorkspaceID: req.WorkspaceID, Number: 1, TemplateVersionID: parseID(active), PresetID: parseID(presetID),
		Transition: reconcile.TransitionStart, Status: reconcile.BuildSucceeded, Stage: reconcile.StageClaim, Initiator: initiator,
		CreatedAt: req.Now, StartedAt: req.Now, CompletedAt: req.Now}
	if !newWorkspace {
		_, err = s.insertBuild(ctx, tx, b)
		return bc, false, err
	}
	// A new workspace is written pointing at its first build already.
	name := "workspace-" + req.WorkspaceID.String()[:8]
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO workspaces (id, name, owner, template_id, preset_id, created_at, claimed_at,
			latest_build_id, latest_build_transition, latest_build_version_id, latest_build_outcome, latest_build_completed_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		req.WorkspaceID.String(), name, owner, templateID, presetID, us(req.Now), us(req.Now),
		b.ID.String(), string(b.Transition), idText(b.TemplateVersionID), outcome(b.Status), outcomeAt(b.Status, b.CompletedAt)); err != nil {
		return bc, false, fmt.Errorf("record workspace: %w", err)
	}
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO builds (`+buildInsertCols+`) VALUES `+buildInsertTuple), buildInsertArgs(b)...); err != nil {
		return bc, false, fmt.Errorf("insert build: %w", err)
	}
	bc.TemplateID, bc.PresetID, bc.WorkspaceID, bc.WorkspaceName, bc.Owner = parseID(templateID), req.PresetID, req.WorkspaceID, name, owner
	bc.BuildID, bc.Stage, bc.Initiator = req.BuildID, b.Stage, initiator
	return bc, true, nil
}

// buildReplacements reads a build's recorded replacements, in the order
// RecordedReplacements gives.
func (s *Store) buildReplacements(ctx context.Context, q querier, buildID uuid.UUID) ([]reconcile.HistoryReplacement, error) {
	byBuild, err := s.replacementsOf(ctx, q, []any{buildID.String()})
	return byBuild[buildID.String()], err
}

// replacementsOf reads the recorded replacements of builds (ids), by
// build, each build's in reconcile.RecordedOrder.
func (s *Store) replacementsOf(ctx context.Context, q querier, ids []any) (map[string][]reconcile.HistoryReplacement, error) {
	out := map[string][]reconcile.HistoryReplacement{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := q.QueryContext(ctx, s.q(`SELECT build_id, resource, deposed, type, reason, replace_order, paths, changes, paths_as_given FROM replacements
		WHERE build_id IN (?`+strings.Repeat(", ?", len(ids)-1)+`)`), ids...)
	if err != nil {
		return nil, fmt.Errorf("read replacements: %w", err)
	}
	defer rows.Close()
	type row struct {
		r       reconcile.HistoryReplacement
		deposed string
	}
	byBuild := map[string][]row{}
	for rows.Next() {
		var x row
		var bid, paths, changes string
		var asGiven int
		if err := rows.Scan(&bid, &x.r.Resource, &x.deposed, &x.r.Type, &x.r.Reason, &x.r.Order, &paths, &changes, &asGiven); err != nil {
			return nil, err
		}
		x.r.PathsAsGiven = asGiven != 0
		if err := json.Unmarshal([]byte(paths), &x.r.Paths); err != nil {
			return nil, fmt.Errorf("replacement paths of build %s: %w", bid, err)
		}
		if err := json.Unmarshal([]byte(changes), &x.r.Changes); err != nil {
			return nil, fmt.Errorf("replacement changes of build %s: %w", bid, err)
		}
		byBuild[bid] = append(byBuild[bid], x)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for bid, rs := range byBuild {
		slices.SortFunc(rs, func(a, b row) int { return reconcile.RecordedOrder(a.r.Resource, a.deposed, b.r.Resource, b.deposed) })
		list := make([]reconcile.HistoryReplacement, len(rs))
		for i, x := range rs {
			list[i] = x.r
		}
		out[bid] = list
	}
	return out, nil
}

// buildContextQuery reads what a build's notifications name, with extra
// columns after (each starting with a comma).
func buildContextQuery(extra string) string {
	return `SELECT b.id, b.stage, b.initiator, w.id, w.name, w.owner, t.id, t.name, t.organization,
			COALESCE(v.id, ''), COALESCE(v.name, ''), COALESCE(p.id, ''), COALESCE(p.name, '')` + extra + `
		FROM builds b JOIN workspaces w ON w.id = b.workspace_id JOIN templates t ON t.id = w.template_id
		LEFT JOIN template_versions v ON v.id = b.template_version_id
		LEFT JOIN presets p ON p.id = b.preset_id
		WHERE b.id = ?`
}

// scanBuildContext scans a buildContextQuery row (extra into extra);
// ErrNotFound when there is none.
func (s *Store) scanBuildContext(row *sql.Row, buildID uuid.UUID, extra ...any) (reconcile.BuildContext, error) {
	var bc reconcile.BuildContext
	var bid, wid, tid, vid, pid, stage string
	dest := append([]any{&bid, &stage, &bc.Initiator, &wid, &bc.WorkspaceName, &bc.Owner, &tid, &bc.Template, &bc.Organization, &vid, &bc.Version, &pid, &bc.Preset}, extra...)
	err := row.Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return bc, fmt.Errorf("build %s: %w", buildID, reconcile.ErrNotFound)
	}
	if err != nil {
		return bc, fmt.Errorf("read build: %w", err)
	}
	bc.BuildID, bc.WorkspaceID, bc.TemplateID, bc.VersionID, bc.PresetID = parseID(bid), parseID(wid), parseID(tid), parseID(vid), parseID(pid)
	bc.Stage = reconcile.Stage(stage)
	return bc, nil
}

func (s *Store) buildContext(ctx context.Context, q querier, buildID uuid.UUID) (reconcile.BuildContext, error) {
	return s.scanBuildContext(q.QueryRowContext(ctx, s.q(buildContextQuery("")), buildID.String()), buildID)
}

// Counters implements reconcile.Store.
func (s *Store) Counters(ctx context.Context) ([]reconcile.PresetCounters, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT b.preset_id,
			SUM(CASE WHEN b.stage = 'prebuild' AND b.transition = 'start' AND b.status = 'succeeded' THEN 1 ELSE 0 END),
			SUM(CASE WHEN b.stage = 'prebuild' AND b.transition = 'start' AND b.status = 'failed' THEN 1 ELSE 0 END),
			SUM(CASE WHEN b.stage = 'claim' AND b.status <> 'canceled' THEN 1 ELSE 0 END),
			SUM(CASE WHEN b.stage = 'claim' AND EXISTS (SELECT 1 FROM replacements r WHERE r.build_id = b.id) THEN 1 ELSE 0 END)
		FROM builds b WHERE b.preset_id <> '' GROUP BY b.preset_id ORDER BY b.preset_id`)
	if err != nil {
		return nil, fmt.Errorf("count builds: %w", err)
	}
	defer rows.Close()
	var out []reconcile.PresetCounters
	for rows.Next() {
		var pid string
		var c reconcile.PresetCounters
		if err := rows.Scan(&pid, &c.Created, &c.Failed, &c.Claimed, &c.ClaimsReplaced); err != nil {
			return nil, err
		}
		c.PresetID = parseID(pid)
		out = append(out, c)
	}
	return out, rows.Err()
}

// RecordPassDuration implements reconcile.Store.
func (s *Store) RecordPassDuration(ctx context.Context, d time.Duration, at time.Time) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO reconciler_state (key, value, updated_at) VALUES ('last_pass_duration_us', ?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`), strconv.FormatInt(d.Microseconds(), 10), us(at))
	if err != nil {
		return fmt.Errorf("record pass duration: %w", err)
	}
	return nil
}

// LastPassDuration implements reconcile.Store.
func (s *Store) LastPassDuration(ctx context.Context) (time.Duration, time.Time, error) {
	var v string
	var at int64
	err := s.db.QueryRowContext(ctx, `SELECT value, updated_at FROM reconciler_state WHERE key = 'last_pass_duration_us'`).Scan(&v, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, time.Time{}, nil
	}
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("read pass duration: %w", err)
	}
	n, _ := strconv.ParseInt(v, 10, 64)
	return time.Duration(n) * time.Microsecond, fromUS(at), nil
}
