package sqlstore

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/claimdrift/claimdrift/reconcile"
	"github.com/google/uuid"
)

// Presets implements reconcile.Store.
func (s *Store) Presets(ctx context.Context) ([]reconcile.PresetInfo, error) {
	return s.presets(ctx, s.db)
}

func (s *Store) presets(ctx context.Context, q querier) ([]reconcile.PresetInfo, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+presetCols+`, `+templateCols+`
		FROM presets p JOIN templates t ON t.id = p.template_id
		ORDER BY t.organization, t.name, p.name`)
	if err != nil {
		return nil, fmt.Errorf("list presets: %w", err)
	}
	defer rows.Close()
	var out []reconcile.PresetInfo
	for rows.Next() {
		var pi reconcile.PresetInfo
		dest, finish := presetScanner(&pi.Preset)
		var tid, tactive string
		var tcreated int64
		dest = append(dest, &tid, &pi.Template.Name, &pi.Template.Organization, &tactive, &tcreated)
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		if err := finish(); err != nil {
			return nil, err
		}
		pi.Template.ID, pi.Template.ActiveVersionID, pi.Template.CreatedAt = parseID(tid), parseID(tactive), fromUS(tcreated)
		out = append(out, pi)
	}
	return out, rows.Err()
}

// ResumePreset implements reconcile.Store.
func (s *Store) ResumePreset(ctx context.Context, presetID uuid.UUID, now time.Time) error {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE presets SET status = 'healthy', status_reason = 'resumed', status_version_id = '', resumed_at = ? WHERE id = ?`),
		us(now), presetID.String())
	if err != nil {
		return fmt.Errorf("resume preset: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("preset %s: %w", presetID, reconcile.ErrNotFound)
	}
	return nil
}

// Snapshot implements reconcile.Store.
func (s *Store) Snapshot(ctx context.Context, now time.Time, historyLimit int) (reconcile.Snapshot, error) {
	var snap reconcile.Snapshot
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		var err error
		snap, err = s.snapshot(ctx, tx, now, historyLimit)
		return err
	})
	return snap, err
}

// readTx runs fn in a read-only transaction for a consistent read: a
// deferred transaction on SQLite (no write lock), REPEATABLE READ on
// PostgreSQL (one snapshot for every query).
//
// Pass deliberately does not use it: after taking the pass lock, each of
// its queries must see what the previous lock holder committed, which READ
// COMMITTED gives and a snapshot taken before the lock would not.
func (s *Store) readTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true, Isolation: s.d.ReadIsolation})
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// snapshot reads every pool with five queries, whatever the number of presets.
func (s *Store) snapshot(ctx context.Context, q querier, now time.Time, limit int) (reconcile.Snapshot, error) {
	snap := reconcile.Snapshot{Now: now}
	index := map[uuid.UUID]int{}

	// 1. Presets, templates, active versions.
	rows, err := q.QueryContext(ctx, `SELECT `+presetCols+`, `+templateCols+`, COALESCE(v.id, ''), COALESCE(v.name, ''), COALESCE(v.deprecated, 0), COALESCE(v.created_at, 0),
			p.last_create_id, p.last_create_version_id, p.last_create_status, p.last_create_completed_at
		FROM presets p JOIN templates t ON t.id = p.template_id
		LEFT JOIN template_versions v ON v.id = t.active_version_id
		ORDER BY t.organization, t.name, p.name`)
	if err != nil {
		return snap, fmt.Errorf("snapshot presets: %w", err)
	}
	for rows.Next() {
		var ps reconcile.PresetSnapshot
		dest, finish := presetScanner(&ps.Preset)
		var tid, tactive, vid, lastID, lastVersion, lastStatus string
		var tcreated, vcreated, lastAt int64
		var deprecated int
		dest = append(dest, &tid, &ps.Template.Name, &ps.Template.Organization, &tactive, &tcreated, &vid, &ps.ActiveVersion.Name, &deprecated, &vcreated,
			&lastID, &lastVersion, &lastStatus, &lastAt)
		if err := rows.Scan(dest...); err != nil {
			rows.Close()
			return snap, err
		}
		if err := finish(); err != nil {
			rows.Close()
			return snap, err
		}
		ps.Template.ID, ps.Template.ActiveVersionID, ps.Template.CreatedAt = parseID(tid), parseID(tactive), fromUS(tcreated)
		ps.ActiveVersion.ID, ps.ActiveVersion.TemplateID, ps.ActiveVersion.Deprecated, ps.ActiveVersion.CreatedAt = parseID(vid), ps.Template.ID, deprecated != 0, fromUS(vcreated)
		// The latest finished create is a success on the active version:
		// that create is the whole history step 4 would read.
		if lastID != "" && lastStatus == string(reconcile.BuildSucceeded) && lastVersion == tactive && limit > 0 {
			ps.Creates = []reconcile.BuildOutcome{{BuildID: parseID(lastID), VersionID: parseID(lastVersion), Status: reconcile.BuildSucceeded, CompletedAt: fromUS(lastAt)}}
		}
		index[ps.Preset.ID] = len(snap.Presets)
		snap.Presets = append(snap.Presets, ps)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return snap, err
	}
	at := func(presetID string) *reconcile.PresetSnapshot {
		i, ok := index[parseID(presetID)]
		if !ok {
			return nil
		}
		return &snap.Presets[i]
	}

	// 2. Unfinished prebuild builds, before the ready ones: under READ
	// COMMITTED a build that finishes between the two queries is then
	// counted twice (the pass creates too few, the next one catches up)
	// rather than not at all (it would create one too many). Claims and
	// other builds are listed only once their lease ran out.
	rows, err = q.QueryContext(ctx, s.q(`SELECT b.preset_id, b.stage, `+inProgressCols+`
		FROM builds b WHERE b.status IN ('pending', 'running') AND (b.stage = 'prebuild' OR (b.lease_until > 0 AND b.lease_until < ?))
		ORDER BY b.created_at, b.id`), us(now))
	if err != nil {
		return snap, fmt.Errorf("snapshot builds in progress: %w", err)
	}
	for rows.Next() {
		var pid, stage string
		var b reconcile.InProgressBuild
		dest, finish := inProgressScanner(&b)
		if err := rows.Scan(append([]any{&pid, &stage}, dest...)...); err != nil {
			rows.Close()
			return snap, err
		}
		finish()
		if stage != string(reconcile.StagePrebuild) {
			snap.StaleClaims = append(snap.StaleClaims, b)
			continue
		}
		if ps := at(pid); ps != nil {
			ps.InProgress = append(ps.InProgress, b)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return snap, err
	}

	// 3. Prebuild workspaces whose latest build is a succeeded start
	// (ready) or a failed delete (to delete again), from the latest build
	// the workspaces carry (see insertBuild and FinishBuild).
	rows, err = q.QueryContext(ctx, s.q(`SELECT w.preset_id, w.id, w.name, w.created_at, w.latest_build_id, w.latest_build_version_id, w.latest_build_transition, w.latest_build_completed_at
		FROM workspaces w
		WHERE w.owner = ? AND w.deleted_at = 0 AND w.preset_id <> ''
		  AND ((w.latest_build_transition = 'start' AND w.latest_build_outcome = 'succeeded') OR (w.latest_build_transition = 'delete' AND w.latest_build_outcome = 'failed'))`), reconcile.PrebuildsOwner)
	if err != nil {
		return snap, fmt.Errorf("snapshot prebuilds: %w", err)
	}
	var lastPreset string
	var ps *reconcile.PresetSnapshot
	for rows.Next() {
		var pid, wid, name, bid, vid, tr string
		var created, completed int64
		if err := rows.Scan(&pid, &wid, &name, &created, &bid, &vid, &tr, &completed); err != nil {
			rows.Close()
			return snap, err
		}
		if pid != lastPreset || ps == nil {
			ps, lastPreset = at(pid), pid
		}
		if ps == nil {
			continue
		}
		if tr == string(reconcile.TransitionDelete) {
			ps.FailedDeletes = append(ps.FailedDeletes, reconcile.FailedDelete{WorkspaceID: parseID(wid), VersionID: parseID(vid), FailedAt: fromUS(completed)})
			continue
		}
		ps.Prebuilds = append(ps.Prebuilds, reconcile.Prebuild{WorkspaceID: parseID(wid), Name: name, BuildID: parseID(bid), VersionID: parseID(vid), CreatedAt: fromUS(created)})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return snap, err
	}
	// Oldest first within each preset: sorting a few workspaces per preset
	// here costs less than sorting all of them in the database.
	for i := range snap.Presets {
		ps := &snap.Presets[i]
		// Byte order of the ids is the order of their text form.
		slices.SortFunc(ps.Prebuilds, func(a, b reconcile.Prebuild) int {
			return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), bytes.Compare(a.WorkspaceID[:], b.WorkspaceID[:]))
		})
		slices.SortFunc(ps.FailedDeletes, func(a, b reconcile.FailedDelete) int {
			return bytes.Compare(a.WorkspaceID[:], b.WorkspaceID[:])
		})
	}

	// 4. Finished creates per preset, newest first, back to the latest
	// success on the active version: CalculateActions counts consecutive
	// failures and backs off from that success on and never looks past it,
	// so the older history (one create per prebuild ever made) is not read.
	// That success is the newest one (the highest id among those finished
	// at the same time, the order the list is read in). Each preset costs
	// a few seeks along builds_creates_ok and builds_creates, so only the
	// presets whose latest finished create (migration 604) is not that
	// success are read here; step 1 gave the others their one create.
	rows, err = q.QueryContext(ctx, s.q(`WITH x AS MATERIALIZED (
			SELECT p.id AS preset_id,
				(SELECT ok.completed_at FROM builds ok
				WHERE ok.preset_id = p.id AND ok.stage = 'prebuild' AND ok.transition = 'start' AND ok.status = 'succeeded' AND ok.template_version_id = t.active_version_id
				ORDER BY ok.completed_at DESC, ok.id DESC LIMIT 1) AS ok_at,
				(SELECT ok.id FROM builds ok
				WHERE ok.preset_id = p.id AND ok.stage = 'prebuild' AND ok.transition = 'start' AND ok.status = 'succeeded' AND ok.template_version_id = t.active_version_id
				ORDER BY ok.completed_at DESC, ok.id DESC LIMIT 1) AS ok_id
			FROM presets p JOIN templates t ON t.id = p.template_id
			WHERE p.last_create_id <> '' AND NOT (p.last_create_status = 'succeeded' AND p.last_create_version_id = t.active_version_id))
		SELECT b.preset_id, b.id, b.template_version_id, b.status, b.completed_at
		FROM x JOIN builds b ON b.preset_id = x.preset_id AND b.stage = 'prebuild' AND b.transition = 'start' AND b.completed_at >= COALESCE(x.ok_at, 0)
		WHERE b.status IN ('succeeded', 'failed') AND (x.ok_id IS NULL OR b.completed_at > x.ok_at OR b.id >= x.ok_id)
		ORDER BY b.preset_id, b.completed_at DESC, b.id DESC`))
	if err != nil {
		return snap, fmt.Errorf("snapshot create history: %w", err)
	}
	for rows.Next() {
		var pid, bid, vid, st string
		var completed int64
		if err := rows.Scan(&pid, &bid, &vid, &st, &completed); err != nil {
			rows.Close()
			return snap, err
		}
		if ps := at(pid); ps != nil && len(ps.Creates) < limit {
			ps.Creates = append(ps.Creates, reconcile.BuildOutcome{BuildID: parseID(bid), VersionID: parseID(vid), Status: reconcile.BuildStatus(st), CompletedAt: fromUS(completed)})
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return snap, err
	}

	// 5. Recent claims per preset, and whether they replaced something.
	rows, err = q.QueryContext(ctx, s.q(`SELECT preset_id, id, workspace_id, template_version_id, created_at, replaced FROM (
			SELECT b.preset_id, b.id, b.workspace_id, b.template_version_id, b.created_at,
				CASE WHEN EXISTS (SELECT 1 FROM replacements r WHERE r.build_id = b.id) THEN 1 ELSE 0 END AS replaced,
				ROW_NUMBER() OVER (PARTITION BY b.preset_id ORDER BY b.created_at DESC, b.id DESC) AS rn
			FROM builds b WHERE b.stage = 'claim' AND b.status <> 'canceled' AND b.preset_id <> ''
		) x WHERE rn <= ? ORDER BY preset_id, created_at DESC, id DESC`), limit)
	if err != nil {
		return snap, fmt.Errorf("snapshot claims: %w", err)
	}
	for rows.Next() {
		var pid, bid, wid, vid string
		var created int64
		var replaced int
		if err := rows.Scan(&pid, &bid, &wid, &vid, &created, &replaced); err != nil {
			rows.Close()
			return snap, err
		}
		if ps := at(pid); ps != nil {
			ps.Claims = append(ps.Claims, reconcile.ClaimOutcome{BuildID: parseID(bid), WorkspaceID: parseID(wid), VersionID: parseID(vid), At: fromUS(created), Replaced: replaced != 0})
		}
	}
	rows.Close()
	return snap, rows.Err()
}

// Pass implements reconcile.Store. The pass lock is the pass_lock row
// (migration 603), taken in the first transaction (after the dialect's
// own lock, if any) and held across the chunks that follow, renewed by
// each; a holder that dies leaves it to expire after the builds' lease.
func (s *Store) Pass(ctx context.Context, now time.Time, historyLimit int, plan func(reconcile.Snapshot) (reconcile.PassWrite, error)) ([]reconcile.Build, error) {
	start := time.Now()
	var w reconcile.PassWrite
	var builds []reconcile.Build
	var dels []reconcile.DeleteSpec
	var creates []reconcile.CreateSpec
	holder := ""
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		builds = nil
		if s.d.LockPass != nil {
			ok, err := s.d.LockPass(ctx, tx)
			if err != nil {
				return fmt.Errorf("take pass lock: %w", err)
			}
			if !ok {
				return reconcile.ErrPassLocked
			}
		}
		snap, err := s.snapshot(ctx, tx, now, historyLimit)
		if err != nil {
			return err
		}
		if w, err = plan(snap); err != nil {
			return err
		}
		// One holder per pass, even for two pools of one owner.
		holder = w.Lease.Owner + "/pass-" + uuid.NewString()
		// Taken after the snapshot so that a pass that finds nothing to do
		// still checks it: a holder between chunks has recorded only part
		// of its plan.
		if err := s.takePassLock(ctx, tx, holder, now, passLockUntil(w, now, start)); err != nil {
			return err
		}
		for _, id := range w.Cancels {
			if _, err := tx.ExecContext(ctx, s.q(`UPDATE builds SET status = 'canceled', completed_at = ? WHERE id = ? AND status = 'pending'`), us(now), id.String()); err != nil {
				return fmt.Errorf("cancel build: %w", err)
			}
		}
		dels = append([]reconcile.DeleteSpec(nil), w.Deletes...)
		for _, to := range w.Takeovers {
			res, err := tx.ExecContext(ctx, s.q(`UPDATE builds SET status = 'abandoned', completed_at = ?, log = log || ?
				WHERE id = ? AND status IN ('pending', 'running') AND lease_until = ?`),
				us(now), "\nclaimdrift: build lease expired (its runner stopped renewing it); taken over by "+w.Lease.Owner+"\n", to.BuildID.String(), us(to.LeaseUntil))
			if err != nil {
				return fmt.Errorf("take over build: %w", err)
			}
			if n, _ := res.RowsAffected(); n > 0 && to.Cleanup {
				dels = append(dels, reconcile.DeleteSpec{WorkspaceID: to.WorkspaceID, PresetID: to.PresetID, VersionID: to.VersionID})
			}
		}
		for _, sc := range w.Statuses {
			if _, err := tx.ExecContext(ctx, s.q(`UPDATE presets SET status = ?, status_reason = ?, status_version_id = ?, status_changed_at = ? WHERE id = ?`),
				string(sc.Status), sc.Reason, idText(sc.VersionID), us(now), sc.PresetID.String()); err != nil {
				return fmt.Errorf("set preset status: %w", err)
			}
		}
		if err := s.enqueue(ctx, tx, w.Messages, now); err != nil {
			return err
		}
		creates = w.Creates
		builds, err = s.recordChunk(ctx, tx, &dels, &creates, chunkOf(w), w.Lease, now)
		if err != nil {
			return err
		}
		if len(dels)+len(creates) == 0 {
			return s.releasePassLock(ctx, tx, holder)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if w.OnRecorded != nil && len(builds) > 0 {
		w.OnRecorded(builds)
	}
	for len(dels)+len(creates) > 0 {
		var chunk []reconcile.Build
		err := ctx.Err()
		if err == nil {
			err = s.inTx(ctx, func(tx *sql.Tx) error {
				d, c := dels, creates // a retried transaction starts over
				if err := s.renewPassLock(ctx, tx, holder, passLockUntil(w, now, start)); err != nil {
					return err
				}
				var err error
				if chunk, err = s.recordChunk(ctx, tx, &d, &c, chunkOf(w), w.Lease, now); err != nil {
					return err
				}
				if len(d)+len(c) == 0 {
					if err := s.releasePassLock(ctx, tx, holder); err != nil {
						return err
					}
				}
				dels, creates = d, c
				return nil
			})
		}
		if err != nil {
			if !errors.Is(err, reconcile.ErrPassLocked) {
				s.abandonPassLock(ctx, holder)
			}
			return builds, fmt.Errorf("record the pass's builds after %d of them (%d left for the next pass): %w", len(builds), len(dels)+len(creates), err)
		}
		builds = append(builds, chunk...)
		if w.OnRecorded != nil {
			w.OnRecorded(chunk)
		}
	}
	return builds, nil
}

func chunkOf(w reconcile.PassWrite) int {
	if w.Chunk > 0 {
		return w.Chunk
	}
	return reconcile.DefaultPassChunk
}

// passLockUntil is when the pass lock expires unless renewed: the builds'
// lease from now, pushed on by the time the pass has run.
func passLockUntil(w reconcile.PassWrite, now, start time.Time) time.Time {
	lease := w.Lease.Until.Sub(now)
	if w.Lease.Until.IsZero() || lease <= 0 {
		lease = reconcile.DefaultLease
	}
	return now.Add(time.Since(start) + lease)
}

// takePassLock takes the pass_lock row for holder unless another holder's
// lease on it runs past now: ErrPassLocked then.
func (s *Store) takePassLock(ctx context.Context, tx *sql.Tx, holder string, now, until time.Time) error {
	res, err := tx.ExecContext(ctx, s.q(`UPDATE pass_lock SET owner = ?, until = ? WHERE id = 1 AND (owner = '' OR until <= ?)`),
		holder, us(until), us(now))
	if err != nil {
		return fmt.Errorf("take pass lock: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return reconcile.ErrPassLocked
	}
	return nil
}

// renewPassLock extends holder's pass lock; ErrPassLocked when it was
// taken over (it expired while this pass stalled).
func (s *Store) renewPassLock(ctx context.Context, tx *sql.Tx, holder string, until time.Time) error {
	res, err := tx.ExecContext(ctx, s.q(`UPDATE pass_lock SET until = ? WHERE id = 1 AND owner = ?`), us(until), holder)
	if err != nil {
		return fmt.Errorf("renew pass lock: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("pass lock taken over: %w", reconcile.ErrPassLocked)
	}
	return nil
}

func (s *Store) releasePassLock(ctx context.Context, q querier, holder string) error {
	if _, err := q.ExecContext(ctx, s.q(`UPDATE pass_lock SET owner = '', until = 0 WHERE id = 1 AND owner = ?`), holder); err != nil {
		return fmt.Errorf("release pass lock: %w", err)
	}
	return nil
}

// abandonPassLock releases holder's pass lock after a failed chunk, on a
// context of its own (ctx may be what ended); when even that fails, the
// lock expires with its lease.
func (s *Store) abandonPassLock(ctx context.Context, holder string) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_ = s.inTx(rctx, func(tx *sql.Tx) error { return s.releasePassLock(rctx, tx, holder) })
}

// recordChunk records up to n of the pass's deletes and creates (deletes
// first), taking them off the front of dels and creates.
func (s *Store) recordChunk(ctx context.Context, tx *sql.Tx, dels *[]reconcile.DeleteSpec, creates *[]reconcile.CreateSpec, n int, lease reconcile.Lease, now time.Time) ([]reconcile.Build, error) {
	var out []reconcile.Build
	for len(*dels) > 0 && len(out) < n {
		d := (*dels)[0]
		b, err := s.insertBuild(ctx, tx, reconcile.Build{WorkspaceID: d.WorkspaceID, TemplateVersionID: d.VersionID, PresetID: d.PresetID,
			Transition: reconcile.TransitionDelete, Status: reconcile.BuildPending, Stage: reconcile.StagePrebuild, Initiator: reconcile.PrebuildsOwner, CreatedAt: now, Lease: lease})
		if err != nil {
			return nil, err
		}
		out = append(out, b)
		*dels = (*dels)[1:]
	}
	k := min(n-len(out), len(*creates))
	if k > 0 {
		created, err := s.insertCreates(ctx, tx, (*creates)[:k], lease, now)
		if err != nil {
			return nil, err
		}
		out = append(out, created...)
		*creates = (*creates)[k:]
	}
	return out, nil
}

// insertBuild records a build with the workspace's next build number and
// makes it the workspace's latest build. The workspace's copy of the
// latest build's outcome is kept in the same transaction here and in
// FinishBuild, the only writes that record a build succeeded or failed.
func (s *Store) insertBuild(ctx context.Context, q querier, b reconcile.Build) (reconcile.Build, error) {
	if b.ID == uuid.Nil {
		b.ID = uuid.New()
	}
	// One row even when the workspace is unknown (number 1, no name).
	if err := q.QueryRowContext(ctx, s.q(`SELECT COALESCE((SELECT MAX(number) FROM builds WHERE workspace_id = ?), 0) + 1,
			COALESCE((SELECT name FROM workspaces WHERE id = ?), '')`), b.WorkspaceID.String(), b.WorkspaceID.String()).Scan(&b.Number, &b.WorkspaceName); err != nil {
		return b, fmt.Errorf("next build number: %w", err)
	}
	b.Process.Host = b.Lease.Host
	_, err := q.ExecContext(ctx, s.q(`INSERT INTO builds (`+buildInsertCols+`) VALUES `+buildInsertTuple), buildInsertArgs(b)...)
	if err != nil {
		return b, fmt.Errorf("insert build: %w", err)
	}
	if _, err := q.ExecContext(ctx, s.q(`UPDATE workspaces SET latest_build_id = ?, latest_build_transition = ?, latest_build_version_id = ?, latest_build_outcome = ?, latest_build_completed_at = ?
			WHERE id = ?`), b.ID.String(), string(b.Transition), idText(b.TemplateVersionID), outcome(b.Status), outcomeAt(b.Status, b.CompletedAt), b.WorkspaceID.String()); err != nil {
		return b, fmt.Errorf("point workspace at its latest build: %w", err)
	}
	return b, nil
}

const (
	buildInsertCols = `id, workspace_id, number, template_version_id, preset_id, transition, status, stage, initiator, log, created_at, started_at, completed_at,
			lease_owner, lease_until, host`
	buildInsertTuple = `(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	// insertBatch is how many rows one multi-row INSERT of a pass writes
	// (16 columns each: far below either database's parameter limit).
	insertBatch = 200
)

func buildInsertArgs(b reconcile.Build) []any {
	return []any{b.ID.String(), b.WorkspaceID.String(), b.Number, idText(b.TemplateVersionID), idText(b.PresetID), string(b.Transition), string(b.Status), string(b.Stage),
		b.Initiator, b.Log, us(b.CreatedAt), us(b.StartedAt), us(b.CompletedAt), b.Lease.Owner, us(b.Lease.Until), b.Lease.Host}
}

// insertCreates records a pass's creates: a new prebuild workspace and
// its first build for each, pointing at each other, with multi-row
// inserts (a first pass over 10,000 presets records 100,000 of them).
func (s *Store) insertCreates(ctx context.Context, q querier, creates []reconcile.CreateSpec, lease reconcile.Lease, now time.Time) ([]reconcile.Build, error) {
	out := make([]reconcile.Build, 0, len(creates))
	for start := 0; start < len(creates); start += insertBatch {
		batch := creates[start:min(start+insertBatch, len(creates))]
		wsArgs := make([]any, 0, 9*len(batch))
		buildArgs := make([]any, 0, 16*len(batch))
		for _, c := range batch {
			wsID := uuid.New()
			name := c.WorkspaceName
			if name == "" {
				name = "prebuild-" + wsID.String()[:8]
			}
			b := reconcile.Build{ID: uuid.New(), WorkspaceID: wsID, WorkspaceName: name, Number: 1, TemplateVersionID: c.VersionID, PresetID: c.PresetID,
				Transition: reconcile.TransitionStart, Status: reconcile.BuildPending, Stage: reconcile.StagePrebuild, Initiator: reconcile.PrebuildsOwner, CreatedAt: now, Lease: lease}
			b.Process.Host = lease.Host
			wsArgs = append(wsArgs, wsID.String(), name, reconcile.PrebuildsOwner, c.TemplateID.String(), c.PresetID.String(), us(now), b.ID.String(), string(b.Transition), idText(b.TemplateVersionID))
			buildArgs = append(buildArgs, buildInsertArgs(b)...)
			out = append(out, b)
		}
		if _, err := q.ExecContext(ctx, s.q(`INSERT INTO workspaces (id, name, owner, template_id, preset_id, created_at, latest_build_id, latest_build_transition, latest_build_version_id) VALUES `+
			repeatTuple(`(?, ?, ?, ?, ?, ?, ?, ?, ?)`, len(batch))), wsArgs...); err != nil {
			return nil, fmt.Errorf("insert prebuild workspaces: %w", err)
		}
		if _, err := q.ExecContext(ctx, s.q(`INSERT INTO builds (`+buildInsertCols+`) VALUES `+repeatTuple(buildInsertTuple, len(batch))), buildArgs...); err != nil {
			return nil, fmt.Errorf("insert builds: %w", err)
		}
	}
	return out, nil
}

// outcome is what a workspace records of its latest build's status: only
// the final outcomes a snapshot looks for.
func outcome(st reconcile.BuildStatus) string {
	if st == reconcile.BuildSucceeded || st == reconcile.BuildFailed {
		return string(st)
	}
	return ""
}

func outcomeAt(st reconcile.BuildStatus, at time.Time) int64 {
	if outcome(st) == "" {
		return 0
	}
	return us(at)
}

func repeatTuple(tuple string, n int) string {
	return strings.TrimSuffix(strings.Repeat(tuple+", ", n), ", ")
}

// StartBuild implements reconcile.Store.
func (s *Store) StartBuild(ctx context.Context, buildID uuid.UUID, now time.Time) error {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE builds SET status = 'running', started_at = ? WHERE id = ? AND status = 'pending'`), us(now), buildID.String())
	if err != nil {
		return fmt.Errorf("start build: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("pending build %s: %w", buildID, reconcile.ErrNotFound)
	}
	return nil
}

// FinishBuild implements reconcile.Store.
func (s *Store) FinishBuild(ctx context.Context, buildID uuid.UUID, status reconcile.BuildStatus, log string, now time.Time) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var wid, tr, stage, pid, vid string
		err := tx.QueryRowContext(ctx, s.q(`SELECT workspace_id, transition, stage, preset_id, template_version_id FROM builds WHERE id = ? AND status IN ('pending', 'running')`),
			buildID.String()).Scan(&wid, &tr, &stage, &pid, &vid)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("unfinished build %s: %w", buildID, reconcile.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE builds SET status = ?, log = ?, completed_at = ?, started_at = CASE WHEN started_at = 0 THEN ? ELSE started_at END WHERE id = ?`),
			string(status), log, us(now), us(now), buildID.String()); err != nil {
			return fmt.Errorf("finish build: %w", err)
		}
		if reconcile.Stage(stage) == reconcile.StagePrebuild && reconcile.Transition(tr) == reconcile.TransitionStart && outcome(status) != "" && pid != "" {
			// The preset's latest finished create (migration 604), when
			// this one is newer, in the snapshot's order.
			if _, err := tx.ExecContext(ctx, s.q(`UPDATE presets SET last_create_id = ?, last_create_version_id = ?, last_create_status = ?, last_create_completed_at = ?
					WHERE id = ? AND (last_create_completed_at < ? OR (last_create_completed_at = ? AND last_create_id < ?))`),
				buildID.String(), vid, string(status), us(now), pid, us(now), us(now), buildID.String()); err != nil {
				return fmt.Errorf("record the preset's latest create: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE workspaces SET latest_build_outcome = ?, latest_build_completed_at = ? WHERE id = ? AND latest_build_id = ?`),
			outcome(status), outcomeAt(status, now), wid, buildID.String()); err != nil {
			return fmt.Errorf("record the workspace's latest build: %w", err)
		}
		if status == reconcile.BuildSucceeded && reconcile.Transition(tr) == reconcile.TransitionDelete {
			if _, err := tx.ExecContext(ctx, s.q(`UPDATE workspaces SET deleted_at = ? WHERE id = ?`), us(now), wid); err != nil {
				return fmt.Errorf("mark workspace deleted: %w", err)
			}
		}
		return nil
	})
}

// Claim implements reconcile.Store.
func (s *Store) Claim(ctx context.Context, req reconcile.ClaimRequest) (reconcile.Claimed, error) {
	if err := reconcile.ValidateName("user", req.User); err != nil {
		return reconcile.Claimed{}, err
	}
	if err := reconcile.ValidateOptionalName("workspace name", req.Name); err != nil {
		return reconcile.Claimed{}, err
	}
	var out reconcile.Claimed
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var active string
		var ttl int64
		err := tx.QueryRowContext(ctx, s.q(`SELECT t.active_version_id, p.ttl_seconds, p.name, t.name FROM presets p JOIN templates t ON t.id = p.template_id WHERE p.id = ?`),
			req.PresetID.String()).Scan(&active, &ttl, &out.Preset, &out.Template)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("preset %s: %w", req.PresetID, reconcile.ErrNotFound)
		}
		if err != nil {
			return err
		}
		minCreated := int64(-1 << 62)
		if ttl > 0 {
			minCreated = us(req.Now.Add(-time.Duration(ttl) * time.Second))
		}
		var wid, name, tid string
		var created, number int64
		// Along the workspaces_prebuilds index, the latest build's outcome
		// read from the workspace row itself (migration 600) until the
		// first ready prebuild; its build number comes along for the claim
		// build. (Joined with the preset read above, PostgreSQL's generic
		// plan sorts the preset's prebuilds instead at 10,000 presets.)
		err = tx.QueryRowContext(ctx, s.q(`SELECT w.id, w.name, w.template_id, w.created_at,
				COALESCE((SELECT MAX(b.number) FROM builds b WHERE b.workspace_id = w.id), 0)
			FROM workspaces w
			WHERE w.preset_id = ? AND w.owner = ? AND w.deleted_at = 0 AND w.created_at > ?
			  AND w.latest_build_transition = 'start' AND w.latest_build_outcome = 'succeeded' AND w.latest_build_version_id = ?
			ORDER BY w.created_at, w.id LIMIT 1`+s.d.ForUpdateSkipLocked),
			req.PresetID.String(), reconcile.PrebuildsOwner, minCreated, active).Scan(&wid, &name, &tid, &created, &number)
		if errors.Is(err, sql.ErrNoRows) {
			return reconcile.ErrNoClaimablePrebuilds
		}
		if err != nil {
			return fmt.Errorf("find prebuild: %w", err)
		}
		w := reconcile.Workspace{ID: parseID(wid), Name: name, TemplateID: parseID(tid), PresetID: req.PresetID, CreatedAt: fromUS(created)}
		if req.Name != "" {
			w.Name = req.Name
		}
		w.Owner, w.ClaimedAt = req.User, req.Now
		b := reconcile.Build{ID: uuid.New(), WorkspaceID: w.ID, WorkspaceName: w.Name, Number: int(number) + 1, TemplateVersionID: parseID(active), PresetID: req.PresetID,
			Transition: reconcile.TransitionStart, Status: reconcile.BuildPending, Stage: reconcile.StageClaim, Initiator: req.User, CreatedAt: req.Now, Lease: req.Lease}
		if req.Finished {
			b.Status, b.Log, b.StartedAt, b.CompletedAt, b.Lease = reconcile.BuildSucceeded, req.FinishedLog, req.Now, req.Now, reconcile.Lease{}
		}
		b.Process.Host = b.Lease.Host
		// The hand-over (with the pointer to the claim build) and the
		// claim build: one batch.
		counts, err := s.execBatch(ctx, tx, []write{
			{"hand over workspace", `UPDATE workspaces SET owner = ?, name = ?, claimed_at = ?,
				latest_build_id = ?, latest_build_transition = ?, latest_build_version_id = ?, latest_build_outcome = ?, latest_build_completed_at = ?
				WHERE id = ? AND owner = ?`,
				[]any{w.Owner, w.Name, us(w.ClaimedAt), b.ID.String(), string(b.Transition), idText(b.TemplateVersionID), outcome(b.Status), outcomeAt(b.Status, b.CompletedAt),
					wid, reconcile.PrebuildsOwner}},
			{"insert claim build", `INSERT INTO builds (` + buildInsertCols + `) VALUES ` + buildInsertTuple, buildInsertArgs(b)},
		})
		if err != nil {
			return err
		}
		if counts[0] != 1 {
			// Not the prebuild it was a moment ago (the row lock, or
			// SQLite's exclusive transaction, should make this
			// impossible): the transaction, build included, is rolled back.
			return reconcile.ErrNoClaimablePrebuilds
		}
		out.Workspace, out.Build = w, b
		return nil
	})
	return out, err
}
