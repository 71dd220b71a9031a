package postgres_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/claimdrift/claimdrift/analyzer"
	"github.com/claimdrift/claimdrift/reconcile"
	"github.com/claimdrift/claimdrift/reconcile/postgres"
	"github.com/claimdrift/claimdrift/reconcile/postgres/pgtest"
	"github.com/claimdrift/claimdrift/reconcile/sqlite"
	"github.com/google/uuid"
)

// TestPrefetchTrack: the service's track route reads the token and the
// track's target in one statement (PrefetchTrack). The token it reads is
// the one TokenByHash reads; the track's first attempt starts from that
// read (a preset renamed in between does not show); a read that went
// stale (the same build tracked meanwhile) is read again, not trusted;
// and a read made for another build is not used.
func TestPrefetchTrack(t *testing.T) {
	ctx := t.Context()
	s, err := postgres.Open(ctx, pgtest.Schema(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	if _, err := s.ImportTemplate(ctx, reconcile.TemplateImport{Name: "dev", Organization: "acme", Version: "v1", Now: now,
		Presets: []reconcile.PresetSpec{{Name: "small", DesiredInstances: 1}}}); err != nil {
		t.Fatal(err)
	}
	presets, err := s.Presets(ctx)
	if err != nil || len(presets) != 1 {
		t.Fatalf("presets: %v %+v", err, presets)
	}
	preset := presets[0].Preset.ID
	hook := reconcile.APIToken{ID: uuid.New(), Name: "hook", Scopes: []string{"track", "read"}, Hash: "hash-of-hook", CreatedAt: now}
	old := reconcile.APIToken{ID: uuid.New(), Name: "old", Scopes: []string{"track"}, Hash: "hash-of-old", CreatedAt: now}
	for _, tok := range []reconcile.APIToken{hook, old} {
		if err := s.CreateToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.RevokeToken(ctx, "old", now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	reps := []analyzer.Replacement{{Resource: "docker_container.ws", Type: "docker_container", Name: "ws", Paths: []string{"name"}}}
	request := func() reconcile.TrackRequest {
		return reconcile.TrackRequest{WorkspaceID: uuid.New(), BuildID: uuid.New(), PresetID: preset, Claimant: "alice", Now: now, Replacements: reps}
	}

	t.Run("token", func(t *testing.T) {
		for _, hash := range []string{hook.Hash, old.Hash} {
			_, got, ok, err := s.PrefetchTrack(ctx, hash, request())
			want, werr := s.TokenByHash(ctx, hash)
			if !ok || err != nil || werr != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("PrefetchTrack token = %+v, %v, %v; TokenByHash = %+v, %v", got, ok, err, want, werr)
			}
		}
		if _, _, ok, err := s.PrefetchTrack(ctx, "no-such-hash", request()); !ok || !errors.Is(err, reconcile.ErrNotFound) {
			t.Errorf("unknown hash: ok %v, err %v; want ErrNotFound", ok, err)
		}
	})

	rename := func(name string) {
		t.Helper()
		if _, err := s.DB().ExecContext(ctx, `UPDATE presets SET name = $1`, name); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("first attempt uses the read", func(t *testing.T) {
		req := request()
		pctx, _, _, err := s.PrefetchTrack(ctx, hook.Hash, req)
		if err != nil {
			t.Fatal(err)
		}
		rename("renamed")
		defer rename("small")
		res, err := s.TrackReplacements(pctx, req)
		if err != nil || !res.New || res.Build.Preset != "small" || res.Replacements != 1 {
			t.Fatalf("track = %+v, %v; want a new track of preset small, as read ahead", res, err)
		}
		// Without the read ahead, the track reads now.
		fresh, err := s.TrackReplacements(ctx, request())
		if err != nil || fresh.Build.Preset != "renamed" {
			t.Fatalf("track without a read ahead = %+v, %v; want preset renamed", fresh, err)
		}
	})

	t.Run("stale read is read again", func(t *testing.T) {
		req := request()
		first, _, _, err := s.PrefetchTrack(ctx, hook.Hash, req)
		if err != nil {
			t.Fatal(err)
		}
		second, _, _, err := s.PrefetchTrack(ctx, hook.Hash, req)
		if err != nil {
			t.Fatal(err)
		}
		a, err := s.TrackReplacements(first, req)
		if err != nil || !a.New {
			t.Fatalf("first track = %+v, %v", a, err)
		}
		// second read the build as unknown: its writes conflict and the
		// retry reads the build, tracked.
		b, err := s.TrackReplacements(second, req)
		if err != nil || b.New || b.Replacements != 1 || !reflect.DeepEqual(a.Recorded, b.Recorded) || a.Build != b.Build {
			t.Fatalf("second track = %+v, %v; want the first's answer, not new", b, err)
		}
		var builds, tracked int
		if err := s.DB().QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM builds WHERE id = $1), (SELECT COUNT(*) FROM tracked_builds WHERE build_id = $1)`,
			req.BuildID.String()).Scan(&builds, &tracked); err != nil || builds != 1 || tracked != 1 {
			t.Fatalf("rows for the build: %d builds, %d tracked (%v); want 1 and 1", builds, tracked, err)
		}
	})

	t.Run("another build's read is not used", func(t *testing.T) {
		pctx, _, _, err := s.PrefetchTrack(ctx, hook.Hash, request())
		if err != nil {
			t.Fatal(err)
		}
		rename("renamed")
		defer rename("small")
		res, err := s.TrackReplacements(pctx, request())
		if err != nil || res.Build.Preset != "renamed" {
			t.Fatalf("track of another build = %+v, %v; want it read now (preset renamed)", res, err)
		}
	})

	t.Run("sqlite reads in its transaction", func(t *testing.T) {
		lite, err := sqlite.Open(ctx, t.TempDir()+"/c.db")
		if err != nil {
			t.Fatal(err)
		}
		defer lite.Close()
		pctx, _, ok, err := lite.PrefetchTrack(ctx, hook.Hash, request())
		if ok || err != nil || pctx != context.Context(ctx) {
			t.Fatalf("sqlite PrefetchTrack: ok %v, err %v; want nothing read", ok, err)
		}
	})
}
