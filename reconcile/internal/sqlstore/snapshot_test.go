package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/claimdrift/claimdrift/reconcile"

	_ "modernc.org/sqlite"
)

// countingQuerier counts the statements a snapshot sends.
type countingQuerier struct {
	querier
	n int
}

func (c *countingQuerier) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	c.n++
	return c.querier.QueryContext(ctx, q, args...)
}

func (c *countingQuerier) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	c.n++
	return c.querier.QueryRowContext(ctx, q, args...)
}

func (c *countingQuerier) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	c.n++
	return c.querier.ExecContext(ctx, q, args...)
}

// TestSnapshotQueryCount checks that a snapshot costs the same number of
// queries whatever the number of presets and prebuilds.
func TestSnapshotQueryCount(t *testing.T) {
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "q.db")+"?_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s, err := New(t.Context(), db, Dialect{Name: "sqlite"}, os.DirFS("../../sqlite/migrations"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	count := func() (int, int) {
		var c countingQuerier
		c.querier = db
		snap, err := s.snapshot(t.Context(), &c, now, 10)
		if err != nil {
			t.Fatal(err)
		}
		return c.n, len(snap.Presets)
	}
	addPresets := func(n int) {
		var specs []reconcile.PresetSpec
		for i := range n {
			specs = append(specs, reconcile.PresetSpec{Name: fmt.Sprint("p", i), DesiredInstances: 2})
		}
		if _, err := s.ImportTemplate(t.Context(), reconcile.TemplateImport{Name: fmt.Sprint("t", n), Version: "v1", Presets: specs, Now: now}); err != nil {
			t.Fatal(err)
		}
		builds, err := s.Pass(t.Context(), now, 10, func(snap reconcile.Snapshot) (reconcile.PassWrite, error) {
			var w reconcile.PassWrite
			for _, ps := range snap.Presets {
				for _, a := range reconcile.CalculateActions(ps, now, reconcile.DefaultPolicy()).Actions {
					w.Creates = append(w.Creates, reconcile.CreateSpec{PresetID: a.PresetID, TemplateID: ps.Template.ID, VersionID: a.VersionID})
				}
			}
			return w, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for i, b := range builds {
			st := reconcile.BuildSucceeded
			if i%3 == 0 {
				st = reconcile.BuildFailed
			}
			if err := s.FinishBuild(t.Context(), b.ID, st, "", now); err != nil {
				t.Fatal(err)
			}
		}
	}
	addPresets(1)
	small, n1 := count()
	addPresets(25)
	large, n2 := count()
	if n1 != 1 || n2 != 26 {
		t.Fatalf("presets in snapshots: %d, %d", n1, n2)
	}
	if small != large || small != 5 {
		t.Fatalf("snapshot of 1 preset took %d queries, of 26 presets %d; want 5 both times", small, large)
	}
}
