// Package benchseed writes large pools straight into a claimdrift database
// (SQLite or PostgreSQL) for the pool benchmarks (reconcile/storetest) and
// the serve load generator (cmd/serveload): one template, many presets,
// ready prebuilds, in multi-row inserts. It knows the stores' tables; it
// is for benchmarks only.
package benchseed

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/claimdrift/claimdrift/reconcile"
	"github.com/google/uuid"
)

// Options say what Pools writes.
type Options struct {
	// Numbered selects $1 placeholders (PostgreSQL) instead of ?.
	Numbered bool
	// Presets is the number of presets; each has desired size PerPreset.
	Presets, PerPreset int
	// Ready writes PerPreset ready prebuilds per preset (one succeeded
	// create each, an hour before Now); false writes empty pools.
	Ready bool
	// Hot and Extra add Extra more ready prebuilds to each of the first
	// Hot presets (the ones load clients claim from).
	Hot, Extra int
	// Now is the seeding time; zero means time.Now().
	Now time.Time
}

// Pools writes one template and its pools as o says, in one transaction,
// then has the database refresh its statistics (ANALYZE). It returns the
// preset ids in creation order.
func Pools(ctx context.Context, db *sql.DB, o Options) ([]uuid.UUID, error) {
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	at := now.Add(-time.Hour).UnixMicro()
	tid, vid := uuid.NewString(), uuid.NewString()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, placeholders(o.Numbered, `INSERT INTO templates (id, name, organization, active_version_id, created_at) VALUES (?, ?, 'bench', ?, ?)`),
		tid, "load-"+tid[:8], vid, at); err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, placeholders(o.Numbered, `INSERT INTO template_versions (id, template_id, name, deprecated, created_at) VALUES (?, ?, 'v1', 0, ?)`), vid, tid, at); err != nil {
		return nil, err
	}
	ids := make([]uuid.UUID, o.Presets)
	var presetRows, wsRows, buildRows [][]any
	for i := range o.Presets {
		ids[i] = uuid.New()
		presetRows = append(presetRows, []any{ids[i].String(), tid, fmt.Sprintf("p%05d", i), o.PerPreset, at})
		n := 0
		if o.Ready {
			n = o.PerPreset
			if i < o.Hot {
				n += o.Extra
			}
		}
		for range n {
			ws, b := uuid.NewString(), uuid.NewString()
			wsRows = append(wsRows, []any{ws, "prebuild-" + ws[:8], reconcile.PrebuildsOwner, tid, ids[i].String(), at, b, "start", vid, "succeeded", at})
			buildRows = append(buildRows, []any{b, ws, vid, ids[i].String(), at, at, at})
		}
	}
	if err := insertRows(ctx, tx, o.Numbered, `INSERT INTO presets (id, template_id, name, desired_instances, created_at) VALUES `, 5, presetRows, ""); err != nil {
		return nil, err
	}
	if err := insertRows(ctx, tx, o.Numbered, `INSERT INTO workspaces (id, name, owner, template_id, preset_id, created_at, latest_build_id, latest_build_transition, latest_build_version_id, latest_build_outcome, latest_build_completed_at) VALUES `, 11, wsRows, ""); err != nil {
		return nil, err
	}
	if err := insertRows(ctx, tx, o.Numbered, `INSERT INTO builds (id, workspace_id, number, template_version_id, preset_id, transition, status, stage, initiator, created_at, started_at, completed_at) VALUES `,
		7, buildRows, "(?, ?, 1, ?, ?, 'start', 'succeeded', 'prebuild', 'prebuilds', ?, ?, ?)"); err != nil {
		return nil, err
	}
	// Each preset's latest finished create, as FinishBuild keeps it
	// (migration 604 fills it the same way).
	for _, q := range []string{
		`UPDATE presets SET last_create_id = COALESCE((SELECT b.id FROM builds b
			WHERE b.preset_id = presets.id AND b.stage = 'prebuild' AND b.transition = 'start' AND b.status IN ('succeeded', 'failed')
			ORDER BY b.completed_at DESC, b.id DESC LIMIT 1), '')`,
		`UPDATE presets SET
			last_create_version_id = COALESCE((SELECT b.template_version_id FROM builds b WHERE b.id = presets.last_create_id), ''),
			last_create_status = COALESCE((SELECT b.status FROM builds b WHERE b.id = presets.last_create_id), ''),
			last_create_completed_at = COALESCE((SELECT b.completed_at FROM builds b WHERE b.id = presets.last_create_id), 0)`,
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return nil, err
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	_, err = db.ExecContext(ctx, "ANALYZE")
	return ids, err
}

// insertRows writes rows with prefix in batches of multi-row inserts; a
// row is tuple, or cols placeholders when tuple is "".
func insertRows(ctx context.Context, tx *sql.Tx, numbered bool, prefix string, cols int, rows [][]any, tuple string) error {
	if tuple == "" {
		tuple = "(" + strings.TrimSuffix(strings.Repeat("?, ", cols), ", ") + ")"
	}
	const batch = 500
	for start := 0; start < len(rows); start += batch {
		end := min(start+batch, len(rows))
		var args []any
		tuples := make([]string, 0, end-start)
		for _, r := range rows[start:end] {
			tuples = append(tuples, tuple)
			args = append(args, r...)
		}
		if _, err := tx.ExecContext(ctx, placeholders(numbered, prefix+strings.Join(tuples, ", ")), args...); err != nil {
			return err
		}
	}
	return nil
}

// placeholders numbers the ? placeholders of q ($1, $2…) when numbered.
func placeholders(numbered bool, q string) string {
	if !numbered {
		return q
	}
	var b strings.Builder
	n := 0
	for _, c := range q {
		if c == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}
