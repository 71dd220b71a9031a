package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/claimdrift/claimdrift/reconcile"
	"github.com/google/uuid"
)

// inProgressCols are the columns inProgressScanner reads, for builds b.
const inProgressCols = `b.id, b.workspace_id, b.template_version_id, b.transition, b.status, b.created_at, b.lease_owner, b.lease_until, b.host, b.pgid, b.proc_start`

func inProgressScanner(b *reconcile.InProgressBuild) ([]any, func()) {
	var bid, wid, vid, tr, st string
	var created, until int64
	return []any{&bid, &wid, &vid, &tr, &st, &created, &b.Lease.Owner, &until, &b.Process.Host, &b.Process.PGID, &b.Process.StartTime}, func() {
		b.BuildID, b.WorkspaceID, b.VersionID = parseID(bid), parseID(wid), parseID(vid)
		b.Transition, b.Status, b.CreatedAt = reconcile.Transition(tr), reconcile.BuildStatus(st), fromUS(created)
		b.Lease.Until, b.Lease.Host = fromUS(until), b.Process.Host
	}
}

// SetBuildProcess implements reconcile.Store.
func (s *Store) SetBuildProcess(ctx context.Context, buildID uuid.UUID, owner string, p reconcile.ProcessInfo) error {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE builds SET host = ?, pgid = ?, proc_start = ? WHERE id = ? AND lease_owner = ? AND status IN ('pending', 'running')`),
		p.Host, p.PGID, p.StartTime, buildID.String(), owner)
	if err != nil {
		return fmt.Errorf("record build process: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("build %s held by %s: %w", buildID, owner, reconcile.ErrNotFound)
	}
	return nil
}

// RenewLeases implements reconcile.Store.
func (s *Store) RenewLeases(ctx context.Context, owner string, until time.Time) ([]uuid.UUID, error) {
	var ids []uuid.UUID
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE builds SET lease_until = ? WHERE lease_owner = ? AND status IN ('pending', 'running')`), us(until), owner); err != nil {
			return fmt.Errorf("renew build leases: %w", err)
		}
		rows, err := tx.QueryContext(ctx, s.q(`SELECT id FROM builds WHERE lease_owner = ? AND status IN ('pending', 'running')`), owner)
		if err != nil {
			return fmt.Errorf("list leased builds: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			ids = append(ids, parseID(id))
		}
		return rows.Err()
	})
	return ids, err
}

// CancelBuild implements reconcile.Store.
func (s *Store) CancelBuild(ctx context.Context, buildID uuid.UUID, log string, now time.Time, cleanup reconcile.Lease) (reconcile.Build, error) {
	var out reconcile.Build
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var wid, vid, pid, tr, stage, st string
		err := tx.QueryRowContext(ctx, s.q(`SELECT workspace_id, template_version_id, preset_id, transition, stage, status FROM builds WHERE id = ? AND status IN ('pending', 'running')`),
			buildID.String()).Scan(&wid, &vid, &pid, &tr, &stage, &st)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("unfinished build %s: %w", buildID, reconcile.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE builds SET status = 'canceled', log = ?, completed_at = ?, started_at = CASE WHEN started_at = 0 THEN ? ELSE started_at END WHERE id = ?`),
			log, us(now), us(now), buildID.String()); err != nil {
			return fmt.Errorf("cancel build: %w", err)
		}
		// A create that never started made nothing; a delete, started or
		// not, still has a workspace to delete.
		if reconcile.Stage(stage) != reconcile.StagePrebuild || (reconcile.Transition(tr) == reconcile.TransitionStart && st == string(reconcile.BuildPending)) {
			return nil
		}
		out, err = s.insertBuild(ctx, tx, reconcile.Build{WorkspaceID: parseID(wid), TemplateVersionID: parseID(vid), PresetID: parseID(pid),
			Transition: reconcile.TransitionDelete, Status: reconcile.BuildPending, Stage: reconcile.StagePrebuild, Initiator: reconcile.PrebuildsOwner, CreatedAt: now, Lease: cleanup})
		return err
	})
	return out, err
}
