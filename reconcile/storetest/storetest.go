// Package storetest is the conformance suite every reconcile.Store
// implementation passes: the same tests run against SQLite and PostgreSQL.
package storetest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/claimdrift/claimdrift/analyzer"
	"github.com/claimdrift/claimdrift/notify"
	"github.com/claimdrift/claimdrift/reconcile"
	"github.com/google/uuid"
)

// Store is what the suite tests: the pool store and the outbox.
type Store interface {
	reconcile.Store
	notify.Outbox
}

// NewDB creates a fresh, empty database for one test and returns a
// function that opens a new handle on it (a second handle stands for a
// second process). Handles are closed by the suite.
type NewDB func(t *testing.T) (open func() Store)

// T0 is the suite's clock origin.
var T0 = time.Date(2026, 3, 2, 10, 30, 0, 0, time.UTC)

// Run runs the whole suite.
func Run(t *testing.T, newDB NewDB) {
	tests := []struct {
		name string
		fn   func(t *testing.T, open func() Store)
	}{
		{"ImportTemplate", testImportTemplate},
		{"SavePreset", testSavePreset},
		{"PassCreatesAndBuildsFinish", testPass},
		{"CreateHistory", testCreateHistory},
		{"LeaseTakeover", testLeaseTakeover},
		{"CancelBuild", testCancelBuild},
		{"ResumePreset", testResumePreset},
		{"Claim", testClaim},
		{"ClaimFinished", testClaimFinished},
		{"PassInChunksHoldsTheLock", testPassChunksLock},
		{"PassLockOfADeadHolderExpires", testPassLockExpires},
		{"PassStopsWhenItsLockIsTaken", testPassLockLost},
		{"ConcurrentClaims", testConcurrentClaims},
		{"TwoReconcilersNeverOvercreate", testTwoReconcilers},
		{"TrackIdempotent", testTrackIdempotent},
		{"TrackUnknownBuild", testTrackUnknownBuild},
		{"TrackNewBuildOfKnownWorkspace", testTrackNewBuildOfKnownWorkspace},
		{"TrackManyReplacements", testTrackManyReplacements},
		{"Outbox", testOutbox},
		{"OutboxDispatcherOnce", testOutboxDispatcher},
		{"OutboxConcurrentClaims", testOutboxConcurrentClaims},
		{"Counters", testCounters},
		{"Reopen", testReopen},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			open := newDB(t)
			opened := func() Store {
				s := open()
				t.Cleanup(func() { s.Close() })
				return s
			}
			tt.fn(t, opened)
		})
	}
}

func ctx(t *testing.T) context.Context { return t.Context() }

// seed imports template "tpl" with version v1 and preset "small".
func seed(t *testing.T, s Store, desired int) (reconcile.ImportResult, reconcile.Preset) {
	t.Helper()
	res, err := s.ImportTemplate(ctx(t), reconcile.TemplateImport{Name: "tpl", Organization: "acme", Version: "v1", Now: T0,
		Presets: []reconcile.PresetSpec{{Name: "small", Parameters: map[string]string{"cpu": "2"}, DesiredInstances: desired, TTL: 24 * time.Hour}}})
	if err != nil {
		t.Fatal(err)
	}
	return res, res.Presets[0]
}

// fill runs one pass creating the missing prebuilds of every preset and
// finishes their builds with status.
func fill(t *testing.T, s Store, now time.Time, status reconcile.BuildStatus) []reconcile.Build {
	t.Helper()
	builds, err := s.Pass(ctx(t), now, 20, func(snap reconcile.Snapshot) (reconcile.PassWrite, error) {
		return planAll(snap, now), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range builds {
		if err := s.StartBuild(ctx(t), b.ID, now); err != nil {
			t.Fatal(err)
		}
		if err := s.FinishBuild(ctx(t), b.ID, status, "log of "+b.ID.String(), now); err != nil {
			t.Fatal(err)
		}
	}
	return builds
}

func planAll(snap reconcile.Snapshot, now time.Time) reconcile.PassWrite {
	var w reconcile.PassWrite
	for _, ps := range snap.Presets {
		plan := reconcile.CalculateActions(ps, now, reconcile.DefaultPolicy())
		for _, a := range plan.Actions {
			switch a.Kind {
			case reconcile.ActionCreate:
				w.Creates = append(w.Creates, reconcile.CreateSpec{PresetID: a.PresetID, TemplateID: ps.Template.ID, VersionID: a.VersionID})
			case reconcile.ActionDelete:
				w.Deletes = append(w.Deletes, reconcile.DeleteSpec{WorkspaceID: a.WorkspaceID, PresetID: a.PresetID, VersionID: a.VersionID})
			case reconcile.ActionCancel:
				w.Cancels = append(w.Cancels, a.BuildID)
			}
		}
	}
	return w
}

func presetSnap(t *testing.T, s Store, now time.Time, id uuid.UUID) reconcile.PresetSnapshot {
	t.Helper()
	snap, err := s.Snapshot(ctx(t), now, 20)
	if err != nil {
		t.Fatal(err)
	}
	for _, ps := range snap.Presets {
		if ps.Preset.ID == id {
			return ps
		}
	}
	t.Fatalf("preset %s not in snapshot", id)
	return reconcile.PresetSnapshot{}
}

func testImportTemplate(t *testing.T, open func() Store) {
	s := open()
	res, p := seed(t, s, 2)
	if res.Template.Name != "tpl" || res.Template.Organization != "acme" || res.Version.Name != "v1" || res.Template.ActiveVersionID != res.Version.ID {
		t.Fatalf("import = %+v", res)
	}
	if p.Parameters["cpu"] != "2" || p.DesiredInstances != 2 || p.TTL != 24*time.Hour || p.Status != reconcile.StatusHealthy {
		t.Fatalf("preset = %+v", p)
	}
	// Same version again: nothing new, preset updated in place.
	again, err := s.ImportTemplate(ctx(t), reconcile.TemplateImport{Name: "tpl", Organization: "acme", Version: "v1", Now: T0,
		Presets: []reconcile.PresetSpec{{Name: "small", DesiredInstances: 3}}})
	if err != nil {
		t.Fatal(err)
	}
	if again.Template.ID != res.Template.ID || again.Version.ID != res.Version.ID || again.Presets[0].ID != p.ID || again.Presets[0].DesiredInstances != 3 {
		t.Fatalf("re-import = %+v", again)
	}
	// A new version (auto-named) becomes active.
	v2, err := s.ImportTemplate(ctx(t), reconcile.TemplateImport{Name: "tpl", Organization: "acme", Now: T0.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if v2.Version.Name != "v2" || v2.Version.ID == res.Version.ID {
		t.Fatalf("new version = %+v", v2.Version)
	}
	ps := presetSnap(t, s, T0, p.ID)
	if ps.ActiveVersion.ID != v2.Version.ID || ps.Template.ActiveVersionID != v2.Version.ID {
		t.Fatalf("active version = %s, want %s", ps.ActiveVersion.ID, v2.Version.ID)
	}
}

func testSavePreset(t *testing.T, open func() Store) {
	s := open()
	seed(t, s, 1)
	p, err := s.SavePreset(ctx(t), reconcile.PresetSpec{TemplateName: "tpl", Name: "big", DesiredInstances: 4, Timezone: "Europe/Paris",
		Schedules: []reconcile.Schedule{{Cron: "* 8-18 * * 1-5", Instances: 6}}, Now: T0})
	if err != nil {
		t.Fatal(err)
	}
	if p.Timezone != "Europe/Paris" || len(p.Schedules) != 1 || p.Schedules[0].Instances != 6 || len(p.Parameters) != 0 {
		t.Fatalf("preset = %+v", p)
	}
	list, err := s.Presets(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, pi := range list {
		names = append(names, pi.Template.Name+"/"+pi.Preset.Name)
	}
	if fmt.Sprint(names) != "[tpl/big tpl/small]" {
		t.Fatalf("presets = %v", names)
	}
	if _, err := s.SavePreset(ctx(t), reconcile.PresetSpec{TemplateName: "nope", Name: "x", Now: T0}); !errors.Is(err, reconcile.ErrNotFound) {
		t.Fatalf("unknown template: %v, want ErrNotFound", err)
	}
	if _, err := s.ImportTemplate(ctx(t), reconcile.TemplateImport{Name: "tpl", Organization: "other", Version: "v1", Now: T0}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SavePreset(ctx(t), reconcile.PresetSpec{TemplateName: "tpl", Name: "x", Now: T0}); !errors.Is(err, reconcile.ErrAmbiguous) {
		t.Fatalf("template in two organizations: %v, want ErrAmbiguous", err)
	}
	if _, err := s.SavePreset(ctx(t), reconcile.PresetSpec{TemplateName: "tpl", Organization: "other", Name: "x", Now: T0}); err != nil {
		t.Fatalf("with organization: %v", err)
	}
}

func testPass(t *testing.T, open func() Store) {
	s := open()
	_, p := seed(t, s, 3)
	builds, err := s.Pass(ctx(t), T0, 20, func(snap reconcile.Snapshot) (reconcile.PassWrite, error) {
		return planAll(snap, T0), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(builds) != 3 {
		t.Fatalf("pass recorded %d builds, want 3", len(builds))
	}
	ps := presetSnap(t, s, T0, p.ID)
	if len(ps.InProgress) != 3 || len(ps.Prebuilds) != 0 {
		t.Fatalf("in progress %d, prebuilds %d; want 3, 0", len(ps.InProgress), len(ps.Prebuilds))
	}
	if plan := reconcile.CalculateActions(ps, T0, reconcile.DefaultPolicy()); len(plan.Actions) != 0 {
		t.Fatalf("second pass would act: %+v", plan.Actions)
	}
	// One succeeds, one fails, one is still running.
	for i, st := range []reconcile.BuildStatus{reconcile.BuildSucceeded, reconcile.BuildFailed} {
		if err := s.StartBuild(ctx(t), builds[i].ID, T0); err != nil {
			t.Fatal(err)
		}
		if err := s.FinishBuild(ctx(t), builds[i].ID, st, "output", T0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.StartBuild(ctx(t), builds[0].ID, T0); !errors.Is(err, reconcile.ErrNotFound) {
		t.Fatalf("starting a finished build: %v, want ErrNotFound", err)
	}
	if err := s.FinishBuild(ctx(t), builds[0].ID, reconcile.BuildFailed, "", T0); !errors.Is(err, reconcile.ErrNotFound) {
		t.Fatalf("finishing a finished build: %v, want ErrNotFound", err)
	}
	ps = presetSnap(t, s, T0.Add(time.Minute), p.ID)
	if len(ps.Prebuilds) != 1 || ps.Prebuilds[0].WorkspaceID != builds[0].WorkspaceID {
		t.Fatalf("prebuilds = %+v", ps.Prebuilds)
	}
	if len(ps.InProgress) != 1 || ps.InProgress[0].BuildID != builds[2].ID {
		t.Fatalf("in progress = %+v", ps.InProgress)
	}
	// The history reaches back to the latest success and no further; the
	// failure finished at the same time sorts before or after it by id.
	if n := len(ps.Creates); n == 0 || n > 2 || ps.Creates[n-1].BuildID != builds[0].ID || ps.Creates[n-1].Status != reconcile.BuildSucceeded ||
		(n == 2 && (ps.Creates[0].BuildID != builds[1].ID || ps.Creates[0].Status != reconcile.BuildFailed)) {
		t.Fatalf("create history = %+v", ps.Creates)
	}
	// Delete the prebuild: a pending delete build, then the workspace is gone.
	dels, err := s.Pass(ctx(t), T0.Add(2*time.Minute), 20, func(reconcile.Snapshot) (reconcile.PassWrite, error) {
		return reconcile.PassWrite{Deletes: []reconcile.DeleteSpec{{WorkspaceID: builds[0].WorkspaceID, PresetID: p.ID, VersionID: builds[0].TemplateVersionID}},
			Cancels: []uuid.UUID{builds[2].ID}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(dels) != 1 || dels[0].Transition != reconcile.TransitionDelete || dels[0].Number != 2 {
		t.Fatalf("delete builds = %+v", dels)
	}
	ps = presetSnap(t, s, T0.Add(2*time.Minute), p.ID)
	if len(ps.Prebuilds) != 0 || len(ps.InProgress) != 1 || ps.InProgress[0].Transition != reconcile.TransitionDelete {
		t.Fatalf("after delete pass: prebuilds %+v in progress %+v (the running create was canceled only if pending)", ps.Prebuilds, ps.InProgress)
	}
	if err := s.FinishBuild(ctx(t), dels[0].ID, reconcile.BuildSucceeded, "", T0.Add(3*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if ps = presetSnap(t, s, T0.Add(3*time.Minute), p.ID); len(ps.Prebuilds)+len(ps.InProgress) != 0 {
		t.Fatalf("after delete: %+v %+v", ps.Prebuilds, ps.InProgress)
	}
}

// testLeaseTakeover: builds carry the lease of the pass that recorded
// them; the holder renews it and records where its command runs; once it
// runs out, a takeover records the build abandoned (not failed: no
// failure counted) and a delete of its workspace held by the new owner; a
// lease renewed since the snapshot is left alone; the old holder's late
// report is refused.
func testLeaseTakeover(t *testing.T, open func() Store) {
	s := open()
	_, p := seed(t, s, 1)
	a := reconcile.Lease{Owner: "a", Host: "h1", Until: T0.Add(30 * time.Second)}
	builds, err := s.Pass(ctx(t), T0, 20, func(snap reconcile.Snapshot) (reconcile.PassWrite, error) {
		w := planAll(snap, T0)
		w.Lease = a
		return w, nil
	})
	if err != nil || len(builds) != 1 {
		t.Fatalf("pass: %v %v", builds, err)
	}
	b := builds[0]
	if err := s.StartBuild(ctx(t), b.ID, T0); err != nil {
		t.Fatal(err)
	}
	proc := reconcile.ProcessInfo{Host: "h1", PGID: 4242, StartTime: 987654}
	if err := s.SetBuildProcess(ctx(t), b.ID, "a", proc); err != nil {
		t.Fatal(err)
	}
	if err := s.SetBuildProcess(ctx(t), b.ID, "b", proc); !errors.Is(err, reconcile.ErrNotFound) {
		t.Fatalf("process recorded by a non-holder: %v", err)
	}
	ps := presetSnap(t, s, T0.Add(10*time.Second), p.ID)
	if len(ps.InProgress) != 1 || ps.InProgress[0].Lease.Owner != "a" || !ps.InProgress[0].Lease.Until.Equal(a.Until) || ps.InProgress[0].Process != proc {
		t.Fatalf("in progress: %+v", ps.InProgress)
	}
	held, err := s.RenewLeases(ctx(t), "a", T0.Add(time.Minute))
	if err != nil || len(held) != 1 || held[0] != b.ID {
		t.Fatalf("renew: %v %v", held, err)
	}
	if held, err := s.RenewLeases(ctx(t), "nobody", T0.Add(time.Minute)); err != nil || len(held) != 0 {
		t.Fatalf("renew by nobody: %v %v", held, err)
	}
	ps = presetSnap(t, s, T0.Add(2*time.Minute), p.ID)
	ip := ps.InProgress[0]
	if !ip.Lease.Until.Equal(T0.Add(time.Minute)) {
		t.Fatalf("renewed lease until %s", ip.Lease.Until)
	}
	takeover := func(leaseUntil time.Time) []reconcile.Build {
		t.Helper()
		got, err := s.Pass(ctx(t), T0.Add(2*time.Minute), 20, func(reconcile.Snapshot) (reconcile.PassWrite, error) {
			return reconcile.PassWrite{Lease: reconcile.Lease{Owner: "b", Host: "h2", Until: T0.Add(3 * time.Minute)},
				Takeovers: []reconcile.Takeover{{BuildID: b.ID, WorkspaceID: b.WorkspaceID, PresetID: p.ID, VersionID: b.TemplateVersionID, LeaseUntil: leaseUntil, Cleanup: true}}}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := takeover(T0.Add(30 * time.Second)); len(got) != 0 {
		t.Fatalf("a takeover of a lease renewed since recorded %v", got)
	}
	got := takeover(ip.Lease.Until)
	if len(got) != 1 || got[0].Transition != reconcile.TransitionDelete || got[0].WorkspaceID != b.WorkspaceID || got[0].Lease.Owner != "b" {
		t.Fatalf("takeover recorded %+v", got)
	}
	ps = presetSnap(t, s, T0.Add(2*time.Minute), p.ID)
	if len(ps.InProgress) != 1 || ps.InProgress[0].BuildID != got[0].ID || ps.InProgress[0].Lease.Owner != "b" || ps.InProgress[0].Process.Host != "h2" || len(ps.Creates) != 0 {
		t.Fatalf("after takeover: in progress %+v creates %+v", ps.InProgress, ps.Creates)
	}
	if held, _ := s.RenewLeases(ctx(t), "a", T0.Add(5*time.Minute)); len(held) != 0 {
		t.Fatalf("old holder still holds %v", held)
	}
	if err := s.FinishBuild(ctx(t), b.ID, reconcile.BuildSucceeded, "", T0.Add(2*time.Minute)); !errors.Is(err, reconcile.ErrNotFound) {
		t.Fatalf("finishing an abandoned build: %v", err)
	}
	counters, err := s.Counters(ctx(t))
	if err != nil || len(counters) != 1 || counters[0].Failed != 0 || counters[0].Created != 0 {
		t.Fatalf("counters after takeover: %+v %v", counters, err)
	}

	// A claim build whose claimer died shows up once its lease ran out.
	if err := s.StartBuild(ctx(t), got[0].ID, T0.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishBuild(ctx(t), got[0].ID, reconcile.BuildSucceeded, "", T0.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	fill(t, s, T0.Add(3*time.Minute), reconcile.BuildSucceeded)
	c, err := s.Claim(ctx(t), reconcile.ClaimRequest{PresetID: p.ID, User: "alice", Now: T0.Add(4 * time.Minute),
		Lease: reconcile.Lease{Owner: "claimer", Host: "h3", Until: T0.Add(5 * time.Minute)}})
	if err != nil {
		t.Fatal(err)
	}
	if snap, err := s.Snapshot(ctx(t), T0.Add(4*time.Minute), 20); err != nil || len(snap.StaleClaims) != 0 {
		t.Fatalf("stale claims before the lease ran out: %+v %v", snap.StaleClaims, err)
	}
	snap, err := s.Snapshot(ctx(t), T0.Add(6*time.Minute), 20)
	if err != nil || len(snap.StaleClaims) != 1 || snap.StaleClaims[0].BuildID != c.Build.ID || snap.StaleClaims[0].Lease.Owner != "claimer" {
		t.Fatalf("stale claims: %+v %v", snap.StaleClaims, err)
	}
	claimed, err := s.Pass(ctx(t), T0.Add(6*time.Minute), 20, func(reconcile.Snapshot) (reconcile.PassWrite, error) {
		return reconcile.PassWrite{Takeovers: []reconcile.Takeover{{BuildID: c.Build.ID, WorkspaceID: c.Workspace.ID, LeaseUntil: T0.Add(5 * time.Minute)}}}, nil
	})
	if err != nil || len(claimed) != 0 {
		t.Fatalf("claim takeover: %v %v", claimed, err)
	}
	if snap, _ := s.Snapshot(ctx(t), T0.Add(7*time.Minute), 20); len(snap.StaleClaims) != 0 {
		t.Fatalf("claim still unfinished after takeover: %+v", snap.StaleClaims)
	}
}

// testCancelBuild: a canceled running create gets a pending delete of its
// workspace, held by the given lease; a create that never started needs
// none; a canceled delete gets another delete.
func testCancelBuild(t *testing.T, open func() Store) {
	s := open()
	_, p := seed(t, s, 2)
	builds, err := s.Pass(ctx(t), T0, 20, func(snap reconcile.Snapshot) (reconcile.PassWrite, error) { return planAll(snap, T0), nil })
	if err != nil || len(builds) != 2 {
		t.Fatalf("pass: %v %v", builds, err)
	}
	if err := s.StartBuild(ctx(t), builds[0].ID, T0); err != nil {
		t.Fatal(err)
	}
	lease := reconcile.Lease{Owner: "me", Host: "h", Until: T0.Add(time.Minute)}
	del, err := s.CancelBuild(ctx(t), builds[0].ID, "stopped", T0, lease)
	if err != nil || del.ID == uuid.Nil || del.Transition != reconcile.TransitionDelete || del.WorkspaceID != builds[0].WorkspaceID || del.Status != reconcile.BuildPending || del.Lease != lease {
		t.Fatalf("cancel running create: %+v %v", del, err)
	}
	if none, err := s.CancelBuild(ctx(t), builds[1].ID, "stopped", T0, lease); err != nil || none.ID != uuid.Nil {
		t.Fatalf("cancel pending create: %+v %v", none, err)
	}
	if _, err := s.CancelBuild(ctx(t), builds[1].ID, "again", T0, lease); !errors.Is(err, reconcile.ErrNotFound) {
		t.Fatalf("cancel a finished build: %v", err)
	}
	again, err := s.CancelBuild(ctx(t), del.ID, "stopped", T0, lease)
	if err != nil || again.Transition != reconcile.TransitionDelete || again.WorkspaceID != del.WorkspaceID {
		t.Fatalf("cancel pending delete: %+v %v", again, err)
	}
	ps := presetSnap(t, s, T0, p.ID)
	if len(ps.InProgress) != 1 || ps.InProgress[0].BuildID != again.ID || len(ps.Creates) != 0 {
		t.Fatalf("after cancels: in progress %+v, creates %+v (canceled builds are no failures)", ps.InProgress, ps.Creates)
	}
}

func testResumePreset(t *testing.T, open func() Store) {
	s := open()
	res, p := seed(t, s, 1)
	if _, err := s.Pass(ctx(t), T0, 20, func(reconcile.Snapshot) (reconcile.PassWrite, error) {
		return reconcile.PassWrite{Statuses: []reconcile.StatusChange{{PresetID: p.ID, Status: reconcile.StatusHardLimited, Reason: "failing", VersionID: res.Version.ID}}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	ps := presetSnap(t, s, T0, p.ID)
	if ps.Preset.Status != reconcile.StatusHardLimited || ps.Preset.StatusReason != "failing" || ps.Preset.StatusVersionID != res.Version.ID {
		t.Fatalf("status not recorded: %+v", ps.Preset)
	}
	if err := s.ResumePreset(ctx(t), p.ID, T0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	ps = presetSnap(t, s, T0, p.ID)
	if ps.Preset.Status != reconcile.StatusHealthy || !ps.Preset.ResumedAt.Equal(T0.Add(time.Minute)) {
		t.Fatalf("after resume: %+v", ps.Preset)
	}
	if err := s.ResumePreset(ctx(t), uuid.New(), T0); !errors.Is(err, reconcile.ErrNotFound) {
		t.Fatalf("resume unknown: %v", err)
	}
}

func testClaim(t *testing.T, open func() Store) {
	s := open()
	_, p := seed(t, s, 2)
	if _, err := s.Claim(ctx(t), reconcile.ClaimRequest{PresetID: p.ID, User: "alice", Now: T0}); !errors.Is(err, reconcile.ErrNoClaimablePrebuilds) {
		t.Fatalf("claim on empty pool: %v", err)
	}
	builds := fill(t, s, T0, reconcile.BuildSucceeded)
	c, err := s.Claim(ctx(t), reconcile.ClaimRequest{PresetID: p.ID, User: "alice", Name: "alice-dev", Now: T0.Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if c.Workspace.Owner != "alice" || c.Workspace.Name != "alice-dev" || c.Preset != "small" || c.Template != "tpl" || c.Build.Stage != reconcile.StageClaim || c.Build.Number != 2 || c.Build.Initiator != "alice" {
		t.Fatalf("claimed = %+v", c)
	}
	if c.Workspace.ID != builds[0].WorkspaceID && c.Workspace.ID != builds[1].WorkspaceID {
		t.Fatalf("claimed workspace %s is not a prebuild", c.Workspace.ID)
	}
	ps := presetSnap(t, s, T0.Add(time.Minute), p.ID)
	if len(ps.Prebuilds) != 1 || len(ps.Claims) != 1 || ps.Claims[0].BuildID != c.Build.ID || ps.Claims[0].Replaced {
		t.Fatalf("after claim: prebuilds %d claims %+v", len(ps.Prebuilds), ps.Claims)
	}
	// Expired prebuilds are not handed out.
	if _, err := s.Claim(ctx(t), reconcile.ClaimRequest{PresetID: p.ID, User: "bob", Now: T0.Add(25 * time.Hour)}); !errors.Is(err, reconcile.ErrNoClaimablePrebuilds) {
		t.Fatalf("claim of an expired prebuild: %v", err)
	}
	// Prebuilds of an inactive version are not handed out.
	if _, err := s.ImportTemplate(ctx(t), reconcile.TemplateImport{Name: "tpl", Organization: "acme", Version: "v2", Now: T0}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Claim(ctx(t), reconcile.ClaimRequest{PresetID: p.ID, User: "bob", Now: T0.Add(time.Minute)}); !errors.Is(err, reconcile.ErrNoClaimablePrebuilds) {
		t.Fatalf("claim of an old-version prebuild: %v", err)
	}
	if _, err := s.Claim(ctx(t), reconcile.ClaimRequest{PresetID: uuid.New(), User: "bob", Now: T0}); !errors.Is(err, reconcile.ErrNotFound) {
		t.Fatalf("claim of unknown preset: %v", err)
	}
}

// testClaimFinished claims with Finished (no claim command): the claim
// build is recorded succeeded in the same write, and only prebuilds whose
// latest build is a succeeded start are handed out.
func testClaimFinished(t *testing.T, open func() Store) {
	s := open()
	_, p := seed(t, s, 3)
	builds := fill(t, s, T0, reconcile.BuildSucceeded)
	now := T0.Add(time.Minute)
	// One prebuild gets a pending delete: it may not be handed out,
	// whatever its earlier (succeeded) start was.
	if _, err := s.Pass(ctx(t), now, 20, func(reconcile.Snapshot) (reconcile.PassWrite, error) {
		return reconcile.PassWrite{Deletes: []reconcile.DeleteSpec{{WorkspaceID: builds[0].WorkspaceID, PresetID: p.ID, VersionID: builds[0].TemplateVersionID}}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	c, err := s.Claim(ctx(t), reconcile.ClaimRequest{PresetID: p.ID, User: "alice", Now: now, Lease: reconcile.Lease{Owner: "r1", Until: now.Add(time.Minute)},
		Finished: true, FinishedLog: "no claim command\n"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Workspace.ID == builds[0].WorkspaceID {
		t.Fatalf("claim handed out the prebuild being deleted")
	}
	if c.Build.Status != reconcile.BuildSucceeded || !c.Build.CompletedAt.Equal(now) || !c.Build.StartedAt.Equal(now) || c.Build.Lease.Owner != "" || c.Build.Number != 2 {
		t.Fatalf("finished claim build = %+v", c.Build)
	}
	// Recorded as finished: nothing to start or finish, nothing leased.
	if err := s.StartBuild(ctx(t), c.Build.ID, now); !errors.Is(err, reconcile.ErrNotFound) {
		t.Fatalf("start of a finished claim build: %v", err)
	}
	if err := s.FinishBuild(ctx(t), c.Build.ID, reconcile.BuildFailed, "", now); !errors.Is(err, reconcile.ErrNotFound) {
		t.Fatalf("finish of a finished claim build: %v", err)
	}
	snap, err := s.Snapshot(ctx(t), now, 20)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range snap.StaleClaims {
		if b.BuildID == c.Build.ID {
			t.Fatalf("finished claim build listed as unfinished: %+v", b)
		}
	}
	ps := presetSnap(t, s, now, p.ID)
	if len(ps.Claims) != 1 || ps.Claims[0].BuildID != c.Build.ID {
		t.Fatalf("claims after a finished claim: %+v", ps.Claims)
	}
	// The last prebuild ready: claimed. Then none is left (the deleted
	// one stays out).
	if _, err := s.Claim(ctx(t), reconcile.ClaimRequest{PresetID: p.ID, User: "bob", Now: now, Finished: true}); err != nil {
		t.Fatalf("second claim: %v", err)
	}
	if _, err := s.Claim(ctx(t), reconcile.ClaimRequest{PresetID: p.ID, User: "carol", Now: now, Finished: true}); !errors.Is(err, reconcile.ErrNoClaimablePrebuilds) {
		t.Fatalf("claim with only a prebuild being deleted left: %v", err)
	}
}

func testConcurrentClaims(t *testing.T, open func() Store) {
	s := open()
	_, p := seed(t, s, 20)
	fill(t, s, T0, reconcile.BuildSucceeded)
	if n := len(presetSnap(t, s, T0, p.ID).Prebuilds); n != 20 {
		t.Fatalf("%d prebuilds ready, want 20", n)
	}
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		won       = map[uuid.UUID]string{}
		none      int
		otherErrs []error
	)
	start := make(chan struct{})
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			user := fmt.Sprintf("user%02d", i)
			c, err := s.Claim(context.Background(), reconcile.ClaimRequest{PresetID: p.ID, User: user, Now: T0.Add(time.Minute)})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case errors.Is(err, reconcile.ErrNoClaimablePrebuilds):
				none++
			case err != nil:
				otherErrs = append(otherErrs, err)
			default:
				if prev, dup := won[c.Workspace.ID]; dup {
					otherErrs = append(otherErrs, fmt.Errorf("workspace %s claimed by %s and %s", c.Workspace.ID, prev, user))
				}
				won[c.Workspace.ID] = user
			}
		}()
	}
	close(start)
	wg.Wait()
	if len(otherErrs) > 0 {
		t.Fatalf("errors: %v", otherErrs)
	}
	if len(won) != 20 || none != 30 {
		t.Fatalf("%d distinct successes and %d ErrNoClaimablePrebuilds, want 20 and 30", len(won), none)
	}
	ps := presetSnap(t, s, T0.Add(time.Minute), p.ID)
	if len(ps.Prebuilds) != 0 || len(ps.Claims) != 20 {
		t.Fatalf("after claims: %d prebuilds, %d claims", len(ps.Prebuilds), len(ps.Claims))
	}
}

// dbOf returns the database handle of a store (both stores have one), to
// play a crashed or stalled reconciler on the pass lock row.
func dbOf(t *testing.T, s Store) *sql.DB {
	t.Helper()
	d, ok := s.(interface{ DB() *sql.DB })
	if !ok {
		t.Fatalf("%T has no DB()", s)
	}
	return d.DB()
}

// testPassChunksLock records a pass of 5 creates 2 per transaction: the
// chunks come in order, another reconciler (a second handle) is refused
// the pass between them, and once the last chunk is in, passes run again
// and find nothing missing.
func testPassChunksLock(t *testing.T, open func() Store) {
	a, b := open(), open()
	_, p := seed(t, a, 5)
	var sizes []int
	var others []error
	builds, err := a.Pass(ctx(t), T0, 20, func(snap reconcile.Snapshot) (reconcile.PassWrite, error) {
		w := planAll(snap, T0)
		w.Chunk = 2
		w.Lease = reconcile.Lease{Owner: "a", Until: T0.Add(time.Minute)}
		w.OnRecorded = func(bs []reconcile.Build) {
			sizes = append(sizes, len(bs))
			_, err := b.Pass(ctx(t), T0, 20, func(snap reconcile.Snapshot) (reconcile.PassWrite, error) { return planAll(snap, T0), nil })
			others = append(others, err)
		}
		return w, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(builds) != 5 || fmt.Sprint(sizes) != "[2 2 1]" {
		t.Fatalf("recorded %d builds in chunks %v, want 5 in [2 2 1]", len(builds), sizes)
	}
	for i, err := range others[:2] {
		if !errors.Is(err, reconcile.ErrPassLocked) {
			t.Fatalf("a pass between chunks %d and %d: %v, want ErrPassLocked", i+1, i+2, err)
		}
	}
	if others[2] != nil {
		t.Fatalf("a pass after the last chunk: %v, want it to run", others[2])
	}
	if n := len(presetSnap(t, a, T0, p.ID).InProgress); n != 5 {
		t.Fatalf("%d builds in progress, want 5 (nothing created twice)", n)
	}
}

// testPassLockExpires: a reconciler that died between chunks leaves the
// pass lock with its lease; passes are refused until it runs out.
func testPassLockExpires(t *testing.T, open func() Store) {
	s := open()
	_, p := seed(t, s, 2)
	if _, err := dbOf(t, s).ExecContext(ctx(t), `UPDATE pass_lock SET owner = 'dead/pass-1', until = `+fmt.Sprint(T0.Add(30*time.Second).UnixMicro())); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pass(ctx(t), T0, 20, func(snap reconcile.Snapshot) (reconcile.PassWrite, error) { return planAll(snap, T0), nil }); !errors.Is(err, reconcile.ErrPassLocked) {
		t.Fatalf("pass while a dead holder's lock runs: %v, want ErrPassLocked", err)
	}
	later := T0.Add(31 * time.Second)
	builds, err := s.Pass(ctx(t), later, 20, func(snap reconcile.Snapshot) (reconcile.PassWrite, error) { return planAll(snap, later), nil })
	if err != nil || len(builds) != 2 {
		t.Fatalf("pass after the lock expired: %d builds, %v; want 2", len(builds), err)
	}
	if n := len(presetSnap(t, s, later, p.ID).InProgress); n != 2 {
		t.Fatalf("%d builds in progress, want 2", n)
	}
}

// testPassLockLost: a pass whose lock was taken over between two chunks
// (it stalled past its lease) records nothing more and says so.
func testPassLockLost(t *testing.T, open func() Store) {
	s := open()
	_, p := seed(t, s, 5)
	chunks := 0
	builds, err := s.Pass(ctx(t), T0, 20, func(snap reconcile.Snapshot) (reconcile.PassWrite, error) {
		w := planAll(snap, T0)
		w.Chunk = 2
		w.OnRecorded = func([]reconcile.Build) {
			chunks++
			if _, err := dbOf(t, s).ExecContext(ctx(t), `UPDATE pass_lock SET owner = 'thief/pass-1'`); err != nil {
				t.Error(err)
			}
		}
		return w, nil
	})
	if !errors.Is(err, reconcile.ErrPassLocked) || len(builds) != 2 || chunks != 1 {
		t.Fatalf("pass that lost its lock: %d builds in %d chunks, err %v; want 2 in 1 and ErrPassLocked", len(builds), chunks, err)
	}
	if n := len(presetSnap(t, s, T0, p.ID).InProgress); n != 2 {
		t.Fatalf("%d builds in progress, want the first chunk's 2", n)
	}
}

func testTwoReconcilers(t *testing.T, open func() Store) {
	a, b := open(), open()
	_, p := seed(t, a, 5)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	created := 0
	for _, s := range []Store{a, b, a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			builds, err := s.Pass(context.Background(), T0, 20, func(snap reconcile.Snapshot) (reconcile.PassWrite, error) {
				time.Sleep(20 * time.Millisecond) // widen the race window
				return planAll(snap, T0), nil
			})
			mu.Lock()
			defer mu.Unlock()
			if err != nil && !errors.Is(err, reconcile.ErrPassLocked) {
				errs = append(errs, err)
			}
			created += len(builds)
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if created != 5 {
		t.Fatalf("concurrent passes created %d prebuilds, want exactly 5", created)
	}
	if n := len(presetSnap(t, a, T0, p.ID).InProgress); n != 5 {
		t.Fatalf("%d builds in progress, want 5", n)
	}
}

func sampleReplacements() []analyzer.Replacement {
	return []analyzer.Replacement{
		{Resource: "docker_container.main[0]", Type: "docker_container", Name: "main", Provider: "registry.terraform.io/kreuzwerker/docker",
			Reason: "replace_because_cannot_update", Order: analyzer.OrderDestroyBeforeCreate, Paths: []string{"env", "name"},
			Changes: []analyzer.Change{{Path: "name", Before: "ws-prebuilds-1", After: "ws-alice-1"}, {Path: "env", Before: analyzer.SensitiveValue, After: analyzer.SensitiveValue}}},
		{Resource: "terraform_data.marker", Type: "terraform_data", Name: "marker", Reason: "replace_by_triggers", Paths: []string{}},
	}
}

func notifyFor(reps []analyzer.Replacement) func(context.Context, reconcile.BuildContext) ([]notify.Message, error) {
	return func(_ context.Context, bc reconcile.BuildContext) ([]notify.Message, error) {
		n := notify.Notification{Kind: notify.KindResourceReplaced, CreatedAt: T0, Organization: bc.Organization, Template: bc.Template, Version: bc.Version,
			Preset: bc.Preset, WorkspaceID: bc.WorkspaceID, Workspace: bc.WorkspaceName, Claimant: bc.Owner, BuildID: bc.BuildID, Replacements: notify.ResourcesFrom(reps)}
		return []notify.Message{notify.NewMessage(n, "")}, nil
	}
}

// claimedByAlice seeds a preset with one ready prebuild, which alice
// claims.
func claimedByAlice(t *testing.T, s Store) (reconcile.Preset, reconcile.Claimed) {
	t.Helper()
	_, p := seed(t, s, 1)
	fill(t, s, T0, reconcile.BuildSucceeded)
	c, err := s.Claim(ctx(t), reconcile.ClaimRequest{PresetID: p.ID, User: "alice", Now: T0})
	if err != nil {
		t.Fatal(err)
	}
	return p, c
}

func testTrackIdempotent(t *testing.T, open func() Store) {
	s := open()
	p, c := claimedByAlice(t, s)
	reps := sampleReplacements()
	req := reconcile.TrackRequest{WorkspaceID: c.Workspace.ID, BuildID: c.Build.ID, Replacements: reps, Now: T0, Notify: notifyFor(reps)}
	first, err := s.TrackReplacements(ctx(t), req)
	if err != nil {
		t.Fatal(err)
	}
	if !first.New || first.Replacements != 2 || first.Queued != 1 {
		t.Fatalf("first track = %+v", first)
	}
	bc := first.Build
	if bc.Organization != "acme" || bc.Template != "tpl" || bc.Version != "v1" || bc.Preset != "small" || bc.Owner != "alice" || bc.Stage != reconcile.StageClaim {
		t.Fatalf("build context = %+v", bc)
	}
	second, err := s.TrackReplacements(ctx(t), req)
	if err != nil {
		t.Fatal(err)
	}
	if second.New || second.Replacements != 2 || second.Queued != 0 {
		t.Fatalf("second track = %+v, want no change", second)
	}
	msgs, err := s.ClaimDue(ctx(t), "o", T0.Add(time.Second), time.Minute, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 {
		t.Fatalf("%d outbox messages, want 1", len(msgs))
	}
	n := msgs[0].Notification
	if n.Kind != notify.KindResourceReplaced || n.BuildID != c.Build.ID || len(n.Replacements) != 2 || n.Replacements[0].Changes[1].Before != analyzer.SensitiveValue {
		t.Fatalf("queued notification = %+v", n)
	}
	ps := presetSnap(t, s, T0, p.ID)
	if len(ps.Claims) != 1 || !ps.Claims[0].Replaced {
		t.Fatalf("claims = %+v, want one that replaced", ps.Claims)
	}
	if !reflect.DeepEqual(first.Recorded, second.Recorded) || len(first.Recorded) != 2 || first.Recorded[0].Resource != "docker_container.main[0]" {
		t.Fatalf("recorded replacements differ between the first and the repeated track:\n%+v\n%+v", first.Recorded, second.Recorded)
	}
	// A wrong workspace for a known build is refused.
	bad := req
	bad.WorkspaceID = uuid.New()
	if _, err := s.TrackReplacements(ctx(t), bad); !errors.Is(err, reconcile.ErrNotFound) {
		t.Fatalf("mismatched workspace: %v", err)
	}
}

// testTrackManyReplacements tracks more replacements than one insert
// statement writes (and more parameters than PostgreSQL takes in one
// statement, so a combined batch must be split), with addresses whose byte order differs from common
// collations and a deposed object beside its current one: the new track
// and the repeated one answer the same list, in byte order.
func testTrackManyReplacements(t *testing.T, open func() Store) {
	s := open()
	_, p := seed(t, s, 0)
	var reps []analyzer.Replacement
	for i := range 4800 {
		reps = append(reps, analyzer.Replacement{Resource: fmt.Sprintf(`module.m["k-%04d"].docker_volume.v`, 4799-i), Type: "docker_volume", Reason: "replace_because_cannot_update", Paths: []string{"name"}})
	}
	reps = append(reps,
		analyzer.Replacement{Resource: "docker_container.B", Type: "docker_container", Reason: "replace_because_cannot_update"},
		analyzer.Replacement{Resource: "docker_container.a", Type: "docker_container", Reason: "replace_because_cannot_update"},
		analyzer.Replacement{Resource: "docker_container.a", Deposed: "beefcafe", Type: "docker_container", Reason: "replace_because_cannot_update"},
		analyzer.Replacement{Resource: "docker_container._x", Type: "docker_container", Reason: "replace_because_cannot_update"})
	req := reconcile.TrackRequest{WorkspaceID: uuid.New(), BuildID: uuid.New(), PresetID: p.ID, Claimant: "dave", Replacements: reps, Now: T0}
	first, err := s.TrackReplacements(ctx(t), req)
	if err != nil {
		t.Fatal(err)
	}
	second, err := s.TrackReplacements(ctx(t), req)
	if err != nil {
		t.Fatal(err)
	}
	if first.Replacements != len(reps) || second.Replacements != len(reps) || len(first.Recorded) != len(reps) {
		t.Fatalf("recorded %d then %d (%d listed), want %d", first.Replacements, second.Replacements, len(first.Recorded), len(reps))
	}
	if !reflect.DeepEqual(first.Recorded, second.Recorded) {
		t.Fatal("the repeated track lists the replacements differently from the first")
	}
	got := []string{}
	for _, r := range first.Recorded[:5] {
		got = append(got, r.Resource)
	}
	if want := []string{"docker_container.B", "docker_container._x", "docker_container.a", "docker_container.a", `module.m["k-0000"].docker_volume.v`}; !reflect.DeepEqual(got, want) {
		t.Fatalf("order = %q, want %q", got, want)
	}
	hs, ok := s.(interface {
		History(context.Context, reconcile.HistoryQuery) ([]reconcile.HistoryEntry, error)
	})
	if !ok {
		t.Fatalf("%T has no History", s)
	}
	hist, err := hs.History(ctx(t), reconcile.HistoryQuery{BuildID: req.BuildID})
	if err != nil || len(hist) != 1 || !reflect.DeepEqual(hist[0].Replacements, first.Recorded) {
		t.Fatalf("history of the build differs from the track's answer (err %v)", err)
	}
}

func testTrackUnknownBuild(t *testing.T, open func() Store) {
	s := open()
	_, p := seed(t, s, 1)
	ws, build := uuid.New(), uuid.New()
	req := reconcile.TrackRequest{WorkspaceID: ws, BuildID: build, Claimant: "carol", Replacements: nil, Now: T0, Notify: notifyFor(nil)}
	if _, err := s.TrackReplacements(ctx(t), req); !errors.Is(err, reconcile.ErrNotFound) {
		t.Fatalf("unknown build without preset: %v", err)
	}
	req.PresetID = p.ID
	res, err := s.TrackReplacements(ctx(t), req)
	if err != nil {
		t.Fatal(err)
	}
	if !res.New || res.Replacements != 0 || res.Queued != 0 || res.Build.Owner != "carol" || res.Build.Preset != "small" {
		t.Fatalf("track without replacements = %+v", res)
	}
	first := res.Build
	// Tracked once with nothing replaced: a later track changes nothing.
	req.Replacements = sampleReplacements()
	res, err = s.TrackReplacements(ctx(t), req)
	if err != nil {
		t.Fatal(err)
	}
	if res.New || res.Replacements != 0 {
		t.Fatalf("re-track = %+v", res)
	}
	// What the first track said of the build it recorded is what the
	// database holds.
	if first != res.Build || first.VersionID == uuid.Nil || first.TemplateID == uuid.Nil || first.WorkspaceName == "" || first.Stage != reconcile.StageClaim {
		t.Fatalf("build context when recorded:\n%+v\nread back:\n%+v", first, res.Build)
	}
	msgs, _ := s.ClaimDue(ctx(t), "o", T0, time.Minute, 10)
	if len(msgs) != 0 {
		t.Fatalf("%d notifications for a build that replaced nothing", len(msgs))
	}
}

// testTrackNewBuildOfKnownWorkspace tracks builds claimdrift did not
// start of a workspace it knows (a user's later build of a claimed
// workspace): each is recorded with the next build number, the context
// the first track answers is what a repeated one reads back, and a
// preset id matters only when a new workspace is recorded under it.
func testTrackNewBuildOfKnownWorkspace(t *testing.T, open func() Store) {
	s := open()
	p, c := claimedByAlice(t, s)
	reps := sampleReplacements()
	for i, claimant := range []string{"bob", ""} {
		req := reconcile.TrackRequest{WorkspaceID: c.Workspace.ID, BuildID: uuid.New(), Claimant: claimant, Replacements: reps, Now: T0, Notify: notifyFor(reps)}
		first, err := s.TrackReplacements(ctx(t), req)
		if err != nil {
			t.Fatalf("track build %d of the workspace: %v", 3+i, err)
		}
		initiator := claimant
		if initiator == "" {
			initiator = "alice"
		}
		bc := first.Build
		if !first.New || first.Replacements != 2 || first.Queued != 1 || bc.BuildID != req.BuildID || bc.WorkspaceID != c.Workspace.ID || bc.WorkspaceName != c.Workspace.Name ||
			bc.Owner != "alice" || bc.Initiator != initiator || bc.Stage != reconcile.StageClaim || bc.Preset != "small" || bc.PresetID != p.ID || bc.Version != "v1" || bc.Template != "tpl" {
			t.Fatalf("track of build %d = %+v", 3+i, first)
		}
		// A preset id beside a known build is not needed and not read.
		req.PresetID = uuid.New()
		again, err := s.TrackReplacements(ctx(t), req)
		if err != nil {
			t.Fatal(err)
		}
		if again.New || again.Build != bc {
			t.Fatalf("build context when recorded:\n%+v\nread back:\n%+v", bc, again.Build)
		}
	}
	// A new workspace under an unknown preset is refused, and nothing of
	// it is kept.
	req := reconcile.TrackRequest{WorkspaceID: uuid.New(), BuildID: uuid.New(), PresetID: uuid.New(), Replacements: reps, Now: T0}
	if _, err := s.TrackReplacements(ctx(t), req); !errors.Is(err, reconcile.ErrNotFound) || !strings.Contains(err.Error(), req.PresetID.String()) {
		t.Fatalf("unknown preset: %v", err)
	}
	req.PresetID = uuid.Nil
	if _, err := s.TrackReplacements(ctx(t), req); !errors.Is(err, reconcile.ErrNotFound) {
		t.Fatalf("the refused workspace was recorded: %v", err)
	}
}

func testOutbox(t *testing.T, open func() Store) {
	s := open()
	n := notify.Notification{Kind: notify.KindPresetHardLimited, CreatedAt: T0, Template: "tpl", Preset: "small", PresetID: uuid.New(), Reason: "failing"}
	m1, m2 := notify.NewMessage(n, "a"), notify.NewMessage(n, "b")
	dup := notify.NewMessage(n, "a")
	if err := s.Enqueue(ctx(t), []notify.Message{m1, m2, dup}); err != nil {
		t.Fatal(err)
	}
	if ex, err := s.ClaimDueExcluding(ctx(t), "zero", T0, time.Minute, 10, []string{"a", "b"}); err != nil || len(ex) != 0 {
		t.Fatalf("claim excluding every recipient: %+v, %v", ex, err)
	}
	if ex, err := s.ClaimDueExcluding(ctx(t), "zero", T0, time.Minute, 10, []string{"a"}); err != nil || len(ex) != 1 || ex[0].Recipient != "b" {
		t.Fatalf("claim excluding a: %+v, %v", ex, err)
	}
	if err := s.Release(ctx(t), m2.ID, "zero", T0); err != nil {
		t.Fatal(err)
	}
	got, err := s.ClaimDue(ctx(t), "one", T0, time.Minute, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Attempts != 1 || got[0].Notification.Reason != "failing" {
		t.Fatalf("first claim = %+v", got)
	}
	rest, err := s.ClaimDue(ctx(t), "two", T0, time.Minute, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(rest) != 1 || rest[0].ID == got[0].ID {
		t.Fatalf("second owner got %+v, want only the other message (duplicate dropped, leased skipped)", rest)
	}
	if err := s.MarkDelivered(ctx(t), got[0].ID, "two", T0); !errors.Is(err, notify.ErrLeaseLost) {
		t.Fatalf("mark by non-owner: %v", err)
	}
	if err := s.MarkDelivered(ctx(t), got[0].ID, "one", T0); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkRetry(ctx(t), rest[0].ID, "two", T0.Add(time.Hour), "down"); err != nil {
		t.Fatal(err)
	}
	if again, _ := s.ClaimDue(ctx(t), "one", T0.Add(time.Minute), time.Minute, 10); len(again) != 0 {
		t.Fatalf("retry claimed before due: %+v", again)
	}
	again, err := s.ClaimDue(ctx(t), "one", T0.Add(time.Hour), time.Minute, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(again) != 1 || again[0].Attempts != 2 {
		t.Fatalf("retry = %+v", again)
	}
	// An expired lease can be taken over; the old owner then loses.
	taken, err := s.ClaimDue(ctx(t), "three", T0.Add(time.Hour+2*time.Minute), time.Minute, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(taken) != 1 {
		t.Fatalf("expired lease not taken over: %+v", taken)
	}
	if err := s.MarkDead(ctx(t), again[0].ID, "one", T0, "x"); !errors.Is(err, notify.ErrLeaseLost) {
		t.Fatalf("old owner after takeover: %v", err)
	}
	// Release gives it back untried: the attempt is not counted.
	if err := s.Release(ctx(t), taken[0].ID, "three", T0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.Release(ctx(t), taken[0].ID, "three", T0); !errors.Is(err, notify.ErrLeaseLost) {
		t.Fatalf("release of a released message: %v", err)
	}
	taken, err = s.ClaimDue(ctx(t), "three", T0.Add(2*time.Hour), time.Minute, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(taken) != 1 || taken[0].Attempts != 3 {
		t.Fatalf("after release: %+v, want attempt 3", taken)
	}
	if err := s.MarkDead(ctx(t), taken[0].ID, "three", T0, "gone"); err != nil {
		t.Fatal(err)
	}
	if left, _ := s.ClaimDue(ctx(t), "x", T0.Add(48*time.Hour), time.Minute, 10); len(left) != 0 {
		t.Fatalf("delivered or dead messages claimed again: %+v", left)
	}
}

func testOutboxDispatcher(t *testing.T, open func() Store) {
	a, b := open(), open()
	var msgs []notify.Message
	for i := range 40 {
		n := notify.Notification{Kind: notify.KindResourceReplaced, CreatedAt: T0, WorkspaceID: uuid.New(), BuildID: uuid.New(), Template: "tpl", Workspace: fmt.Sprint("ws", i)}
		msgs = append(msgs, notify.NewMessage(n, ""))
	}
	if err := a.Enqueue(ctx(t), msgs); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[string]int{}
	tr := notify.TransportFunc(func(_ context.Context, m notify.Message) error {
		mu.Lock()
		defer mu.Unlock()
		seen[m.DedupKey]++
		return nil
	})
	var wg sync.WaitGroup
	var errs []error
	for i, s := range []Store{a, b, a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := notify.NewDispatcher(s, tr, notify.DispatcherOptions{Owner: fmt.Sprint("d", i), Batch: 3, Now: func() time.Time { return T0 }})
			if _, err := d.DrainOnce(context.Background()); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	// A dispatcher may hand back messages it did not get to; a last drain
	// delivers them.
	last := notify.NewDispatcher(a, tr, notify.DispatcherOptions{Owner: "last", Now: func() time.Time { return T0 }})
	if _, err := last.DrainOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k, n := range seen {
		if n != 1 {
			t.Errorf("message %s sent %d times", k, n)
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(keys) != 40 {
		t.Fatalf("%d messages sent, want 40", len(keys))
	}
}

// testOutboxConcurrentClaims: workers on two handles claim small batches
// until none is left; every message is leased exactly once.
func testOutboxConcurrentClaims(t *testing.T, open func() Store) {
	a, b := open(), open()
	var msgs []notify.Message
	for i := range 60 {
		n := notify.Notification{Kind: notify.KindResourceReplaced, CreatedAt: T0.Add(time.Duration(i) * time.Microsecond), WorkspaceID: uuid.New(), BuildID: uuid.New()}
		msgs = append(msgs, notify.NewMessage(n, fmt.Sprint("r", i%3)))
	}
	if err := a.Enqueue(ctx(t), msgs); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	leased := map[uuid.UUID]int{}
	var errs []error
	var wg sync.WaitGroup
	for i := range 6 {
		s := []Store{a, b}[i%2]
		wg.Add(1)
		go func() {
			defer wg.Done()
			owner := fmt.Sprint("w", i)
			for {
				got, err := s.ClaimDue(context.Background(), owner, T0.Add(time.Second), time.Minute, 3)
				if err == nil {
					for _, m := range got {
						if err = s.MarkDelivered(context.Background(), m.ID, owner, T0); err != nil {
							break
						}
					}
				}
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				}
				for _, m := range got {
					leased[m.ID]++
				}
				mu.Unlock()
				if err != nil || len(got) == 0 {
					return
				}
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	for _, m := range msgs {
		if leased[m.ID] != 1 {
			t.Errorf("message %s leased %d times, want 1", m.ID, leased[m.ID])
		}
	}
}

func testCounters(t *testing.T, open func() Store) {
	s := open()
	_, p := seed(t, s, 3)
	fill(t, s, T0, reconcile.BuildSucceeded)
	if _, err := s.SavePreset(ctx(t), reconcile.PresetSpec{TemplateName: "tpl", Name: "other", DesiredInstances: 2, Now: T0}); err != nil {
		t.Fatal(err)
	}
	fill(t, s, T0.Add(time.Minute), reconcile.BuildFailed)
	for _, u := range []string{"a", "b"} {
		c, err := s.Claim(ctx(t), reconcile.ClaimRequest{PresetID: p.ID, User: u, Now: T0.Add(time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
		reps := sampleReplacements()
		if u == "b" {
			reps = nil
		}
		if _, err := s.TrackReplacements(ctx(t), reconcile.TrackRequest{WorkspaceID: c.Workspace.ID, BuildID: c.Build.ID, Replacements: reps, Now: T0}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Counters(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	byPreset := map[uuid.UUID]reconcile.PresetCounters{}
	for _, c := range got {
		byPreset[c.PresetID] = c
	}
	if c := byPreset[p.ID]; c.Created != 3 || c.Failed != 0 || c.Claimed != 2 || c.ClaimsReplaced != 1 {
		t.Errorf("small = %+v, want created 3, claimed 2, replaced 1", c)
	}
	if len(got) != 2 {
		t.Fatalf("counters for %d presets, want 2", len(got))
	}
	for id, c := range byPreset {
		if id != p.ID && (c.Failed != 2 || c.Created != 0) {
			t.Errorf("other = %+v, want 2 failed", c)
		}
	}
	if err := s.RecordPassDuration(ctx(t), 1500*time.Millisecond, T0); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordPassDuration(ctx(t), 250*time.Millisecond, T0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	d, at, err := s.LastPassDuration(ctx(t))
	if err != nil || d != 250*time.Millisecond || !at.Equal(T0.Add(time.Minute)) {
		t.Fatalf("last pass = %s at %s (%v)", d, at, err)
	}
}

func testReopen(t *testing.T, open func() Store) {
	s := open()
	_, p := seed(t, s, 1)
	fill(t, s, T0, reconcile.BuildSucceeded)
	s.Close()
	// Opening again applies no migration twice and keeps the data.
	s2 := open()
	if n := len(presetSnap(t, s2, T0, p.ID).Prebuilds); n != 1 {
		t.Fatalf("after reopen: %d prebuilds, want 1", n)
	}
}

// testCreateHistory: a snapshot's creates run newest first back to the
// latest succeeded create of the active version (older ones never change a
// decision), and the failures since then decide the backoff and the hard
// limit as they would over the whole history.
func testCreateHistory(t *testing.T, open func() Store) {
	s := open()
	_, p := seed(t, s, 1)
	ps := presetSnap(t, s, T0, p.ID)
	active := ps.ActiveVersion.ID
	finishOn := func(at time.Time, st reconcile.BuildStatus, version uuid.UUID) reconcile.Build {
		t.Helper()
		builds, err := s.Pass(ctx(t), at, 20, func(reconcile.Snapshot) (reconcile.PassWrite, error) {
			return reconcile.PassWrite{Creates: []reconcile.CreateSpec{{PresetID: p.ID, TemplateID: p.TemplateID, VersionID: version}}}, nil
		})
		if err != nil || len(builds) != 1 {
			t.Fatalf("pass: %v, %d builds", err, len(builds))
		}
		if err := s.FinishBuild(ctx(t), builds[0].ID, st, "", at.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		return builds[0]
	}
	other := uuid.New()
	finishOn(T0, reconcile.BuildFailed, active)
	ok := finishOn(T0.Add(time.Minute), reconcile.BuildSucceeded, active)
	otherOK := finishOn(T0.Add(2*time.Minute), reconcile.BuildSucceeded, other)
	f1 := finishOn(T0.Add(3*time.Minute), reconcile.BuildFailed, active)
	f2 := finishOn(T0.Add(4*time.Minute), reconcile.BuildFailed, active)
	now := T0.Add(5 * time.Minute)
	ps = presetSnap(t, s, now, p.ID)
	var got []uuid.UUID
	for _, c := range ps.Creates {
		got = append(got, c.BuildID)
	}
	want := []uuid.UUID{f2.ID, f1.ID, otherOK.ID, ok.ID}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("create history = %v, want %v (newest first, back to the latest success on the active version)", got, want)
	}
	if plan := reconcile.CalculateActions(ps, now, reconcile.DefaultPolicy()); plan.ConsecutiveFailures != 2 {
		t.Fatalf("consecutive failures = %d, want 2", plan.ConsecutiveFailures)
	}
	// Without any success on the active version, the whole (bounded)
	// history counts.
	if _, err := s.ImportTemplate(ctx(t), reconcile.TemplateImport{Name: "tpl", Organization: "acme", Version: "v2", Now: now,
		Presets: []reconcile.PresetSpec{{Name: "small", DesiredInstances: 1, TTL: 24 * time.Hour}}}); err != nil {
		t.Fatal(err)
	}
	ps = presetSnap(t, s, now, p.ID)
	if len(ps.Creates) != 5 {
		t.Fatalf("create history without a success on the active version: %d creates, want all 5", len(ps.Creates))
	}
	// A success on the new active version is now the latest create: the
	// history is that create alone (read from the preset row); a failure
	// after it brings back the history read from the builds.
	v2 := ps.ActiveVersion.ID
	ok2 := finishOn(now, reconcile.BuildSucceeded, v2)
	ps = presetSnap(t, s, now.Add(time.Minute), p.ID)
	if len(ps.Creates) != 1 || ps.Creates[0].BuildID != ok2.ID || ps.Creates[0].Status != reconcile.BuildSucceeded ||
		ps.Creates[0].VersionID != v2 || !ps.Creates[0].CompletedAt.Equal(now.Add(time.Second)) {
		t.Fatalf("history after a success on the active version = %+v, want that create alone", ps.Creates)
	}
	f3 := finishOn(now.Add(time.Minute), reconcile.BuildFailed, v2)
	ps = presetSnap(t, s, now.Add(2*time.Minute), p.ID)
	if len(ps.Creates) != 2 || ps.Creates[0].BuildID != f3.ID || ps.Creates[1].BuildID != ok2.ID {
		t.Fatalf("history after a failure = %+v, want the failure then the success", ps.Creates)
	}
	// A create finished late with an older completion time does not hide
	// the newer one.
	old := finishOn(now.Add(-time.Hour), reconcile.BuildSucceeded, v2)
	ps = presetSnap(t, s, now.Add(2*time.Minute), p.ID)
	if len(ps.Creates) != 2 || ps.Creates[0].BuildID != f3.ID || old.ID == f3.ID {
		t.Fatalf("history after an older create = %+v, want the failure first still", ps.Creates)
	}
}
