package storetest

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/claimdrift/claimdrift/reconcile"
	"github.com/google/uuid"
)

// BenchStore is a store the benchmarks seed through its database handle.
type BenchStore interface {
	Store
	DB() *sql.DB
	Close() error
}

// BenchSize is the size of the benchmarks' pools: presets and ready
// prebuilds per preset, 10,000 × 10 (issue 12's reconcile target) unless
// CLAIMDRIFT_BENCH_PRESETS / CLAIMDRIFT_BENCH_PREBUILDS say otherwise.
func BenchSize() (presets, per int) {
	presets, per = 10000, 10
	if v, err := strconv.Atoi(os.Getenv("CLAIMDRIFT_BENCH_PRESETS")); err == nil && v > 0 {
		presets = v
	}
	if v, err := strconv.Atoi(os.Getenv("CLAIMDRIFT_BENCH_PREBUILDS")); err == nil && v >= 0 {
		per = v
	}
	return presets, per
}

// SeedPools writes one template with presets of desired size per, each
// with ready prebuilds (one succeeded create each, created an hour before
// now) when ready is true, and none otherwise. Rows go in with multi-row
// inserts in one transaction; numbered selects $1 placeholders. It
// returns the preset ids.
func SeedPools(ctx context.Context, db *sql.DB, numbered bool, presets, per int, ready bool, now time.Time) ([]uuid.UUID, error) {
	at := now.Add(-time.Hour).UnixMicro()
	tid, vid := uuid.NewString(), uuid.NewString()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, placeholders(numbered, `INSERT INTO templates (id, name, organization, active_version_id, created_at) VALUES (?, ?, 'bench', ?, ?)`),
		tid, "load-"+tid[:8], vid, at); err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, placeholders(numbered, `INSERT INTO template_versions (id, template_id, name, deprecated, created_at) VALUES (?, ?, 'v1', 0, ?)`), vid, tid, at); err != nil {
		return nil, err
	}
	ids := make([]uuid.UUID, presets)
	var presetRows, wsRows, buildRows [][]any
	for i := range presets {
		ids[i] = uuid.New()
		presetRows = append(presetRows, []any{ids[i].String(), tid, fmt.Sprintf("p%05d", i), per, at})
		if !ready {
			continue
		}
		for range per {
			ws, b := uuid.NewString(), uuid.NewString()
			wsRows = append(wsRows, []any{ws, "prebuild-" + ws[:8], reconcile.PrebuildsOwner, tid, ids[i].String(), at, b, "start", vid, "succeeded", at})
			buildRows = append(buildRows, []any{b, ws, vid, ids[i].String(), at, at, at})
		}
	}
	if err := insertRows(ctx, tx, numbered, `INSERT INTO presets (id, template_id, name, desired_instances, created_at) VALUES `, 5, presetRows, ""); err != nil {
		return nil, err
	}
	if err := insertRows(ctx, tx, numbered, `INSERT INTO workspaces (id, name, owner, template_id, preset_id, created_at, latest_build_id, latest_build_transition, latest_build_version_id, latest_build_outcome, latest_build_completed_at) VALUES `, 11, wsRows, ""); err != nil {
		return nil, err
	}
	if err := insertRows(ctx, tx, numbered, `INSERT INTO builds (id, workspace_id, number, template_version_id, preset_id, transition, status, stage, initiator, created_at, started_at, completed_at) VALUES `,
		7, buildRows, "(?, ?, 1, ?, ?, 'start', 'succeeded', 'prebuild', 'prebuilds', ?, ?, ?)"); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	_, err = db.ExecContext(ctx, "ANALYZE")
	return ids, err
}

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

// Bench runs the pool benchmarks on stores newStore opens (each call a
// fresh, empty database): a snapshot and a whole reconcile pass over full
// pools, and a first pass over empty pools (the time until its builds are
// recorded and the first one could start). Sizes from BenchSize.
func Bench(b *testing.B, numbered bool, newStore func(b *testing.B) BenchStore) {
	presets, per := BenchSize()
	now := time.Now()
	size := fmt.Sprintf("presets=%d/prebuilds=%d", presets, presets*per)
	b.Run("Snapshot/"+size, func(b *testing.B) {
		s := newStore(b)
		if _, err := SeedPools(b.Context(), s.DB(), numbered, presets, per, true, now); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			snap, err := s.Snapshot(b.Context(), time.Now(), reconcile.DefaultHistoryLimit)
			if err != nil {
				b.Fatal(err)
			}
			if n := countPrebuilds(snap); n != presets*per {
				b.Fatalf("snapshot holds %d prebuilds, want %d", n, presets*per)
			}
		}
	})
	b.Run("Pass/"+size, func(b *testing.B) {
		s := newStore(b)
		if _, err := SeedPools(b.Context(), s.DB(), numbered, presets, per, true, now); err != nil {
			b.Fatal(err)
		}
		pool := reconcile.NewPool(s, reconcile.NewExecExecutor(reconcile.ExecOptions{CreateCmd: "true", DeleteCmd: "true"}), reconcile.Options{})
		for b.Loop() {
			rep, err := pool.ReconcileOnce(b.Context())
			if err != nil {
				b.Fatal(err)
			}
			if rep.Locked || len(rep.Builds) > 0 || len(rep.Presets) != presets {
				b.Fatalf("pass over full pools: locked %v, %d builds, %d presets", rep.Locked, len(rep.Builds), len(rep.Presets))
			}
		}
	})
	// A first pass records every create at once; its builds start once
	// Pass returns. One database per run: b.Loop would rerun it on full
	// pools.
	b.Run("FirstPass/"+size, func(b *testing.B) {
		var total time.Duration
		runs := 0
		for b.Loop() {
			b.StopTimer()
			s := newStore(b)
			if _, err := SeedPools(b.Context(), s.DB(), numbered, presets, per, false, now); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			start := time.Now()
			builds, err := s.Pass(b.Context(), time.Now(), reconcile.DefaultHistoryLimit, func(snap reconcile.Snapshot) (reconcile.PassWrite, error) {
				w := reconcile.PassWrite{Lease: reconcile.Lease{Owner: "bench", Until: time.Now().Add(time.Minute)}}
				for _, ps := range snap.Presets {
					for _, a := range reconcile.CalculateActions(ps, snap.Now, reconcile.DefaultPolicy()).Actions {
						if a.Kind == reconcile.ActionCreate {
							w.Creates = append(w.Creates, reconcile.CreateSpec{PresetID: a.PresetID, TemplateID: ps.Template.ID, VersionID: a.VersionID})
						}
					}
				}
				return w, nil
			})
			total += time.Since(start)
			runs++
			b.StopTimer()
			if err != nil {
				b.Fatal(err)
			}
			if len(builds) != presets*per {
				b.Fatalf("first pass recorded %d builds, want %d", len(builds), presets*per)
			}
			s.Close()
			b.StartTimer()
		}
		b.ReportMetric(total.Seconds()/float64(runs), "s-to-first-build")
	})
}

func countPrebuilds(snap reconcile.Snapshot) int {
	n := 0
	for _, ps := range snap.Presets {
		n += len(ps.Prebuilds)
	}
	return n
}
