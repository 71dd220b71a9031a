package sqlstore

import (
	"database/sql"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/claimdrift/claimdrift/reconcile"
	"github.com/google/uuid"
)

// TestLatestBuildBackfill: a database made before migration 600 keeps its
// pools: the migration fills in each workspace's latest build, so the
// next snapshot sees the same ready prebuilds and failed deletes.
func TestLatestBuildBackfill(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", "file:"+path+"?_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	all := os.DirFS("../../sqlite/migrations")
	before := fstest.MapFS{}
	names, _ := fs.Glob(all, "*.sql")
	for _, n := range names {
		if n < "600" {
			body, _ := fs.ReadFile(all, n)
			before[n] = &fstest.MapFile{Data: body}
		}
	}
	if _, err := New(t.Context(), db, Dialect{Name: "sqlite"}, before); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	at := now.Add(-time.Hour).UnixMicro()
	tid, vid, pid := uuid.NewString(), uuid.NewString(), uuid.NewString()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.Exec(q, args...); err != nil {
			t.Fatal(err)
		}
	}
	exec(`INSERT INTO templates (id, name, organization, active_version_id, created_at) VALUES (?, 't', '', ?, ?)`, tid, vid, at)
	exec(`INSERT INTO template_versions (id, template_id, name, created_at) VALUES (?, ?, 'v1', ?)`, vid, tid, at)
	exec(`INSERT INTO presets (id, template_id, name, desired_instances, created_at) VALUES (?, ?, 'p', 5, ?)`, pid, tid, at)
	// ready: created then succeeded; retried: a failed create, then a
	// succeeded one; failedDelete: its last build is a failed delete;
	// running: its only build is unfinished.
	ws := map[string][]string{"ready": {"start succeeded"}, "retried": {"start failed", "start succeeded"}, "failedDelete": {"start succeeded", "delete failed"}, "running": {"start running"}}
	ids := map[string]string{}
	for name, builds := range ws {
		id := uuid.NewString()
		ids[name] = id
		exec(`INSERT INTO workspaces (id, name, owner, template_id, preset_id, created_at) VALUES (?, ?, ?, ?, ?, ?)`, id, name, reconcile.PrebuildsOwner, tid, pid, at)
		for i, b := range builds {
			tr, st, _ := strings.Cut(b, " ")
			exec(`INSERT INTO builds (id, workspace_id, number, template_version_id, preset_id, transition, status, stage, created_at, completed_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'prebuild', ?, ?)`,
				uuid.NewString(), id, i+1, vid, pid, tr, st, at, at)
		}
	}
	var wantLast string // migration 604: the newest finished create
	if err := db.QueryRow(`SELECT id FROM builds WHERE transition = 'start' AND status IN ('succeeded', 'failed') ORDER BY completed_at DESC, id DESC LIMIT 1`).Scan(&wantLast); err != nil {
		t.Fatal(err)
	}
	s, err := New(t.Context(), db, Dialect{Name: "sqlite"}, all)
	if err != nil {
		t.Fatal(err)
	}
	var last, lastStatus string
	if err := db.QueryRow(`SELECT last_create_id, last_create_status FROM presets`).Scan(&last, &lastStatus); err != nil {
		t.Fatal(err)
	}
	if last != wantLast || (lastStatus != "succeeded" && lastStatus != "failed") {
		t.Fatalf("preset's latest create after the migration: %s %s, want %s", last, lastStatus, wantLast)
	}
	snap, err := s.Snapshot(t.Context(), now, 10)
	if err != nil {
		t.Fatal(err)
	}
	ps := snap.Presets[0]
	var ready []string
	for _, pb := range ps.Prebuilds {
		ready = append(ready, pb.Name)
	}
	if len(ready) != 2 || len(ps.FailedDeletes) != 1 || ps.FailedDeletes[0].WorkspaceID.String() != ids["failedDelete"] {
		t.Fatalf("after the migration: ready %v, failed deletes %+v; want ready and retried, and failedDelete", ready, ps.FailedDeletes)
	}
	for _, pb := range ps.Prebuilds {
		if pb.Name != "ready" && pb.Name != "retried" {
			t.Fatalf("ready prebuilds %v", ready)
		}
	}
}
