package reconcile

import (
	"encoding/binary"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"
)

// fuzzReader turns fuzz bytes into snapshot fields; past the end it reads
// zeros.
type fuzzReader struct{ b []byte }

func (r *fuzzReader) byte() byte {
	if len(r.b) == 0 {
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *fuzzReader) int64() int64 {
	var buf [8]byte
	for i := range buf {
		buf[i] = r.byte()
	}
	return int64(binary.LittleEndian.Uint64(buf[:]))
}

// small returns a value in [0, n).
func (r *fuzzReader) small(n int) int { return int(r.byte()) % n }

// id picks one of a few ids (so versions and workspaces collide) or nil.
func (r *fuzzReader) id(pool []uuid.UUID) uuid.UUID { return pool[r.small(len(pool))] }

// instances is anything an old row may hold: small, negative or huge.
func (r *fuzzReader) instances() int {
	switch r.small(4) {
	case 0:
		return int(r.int64())
	case 1:
		return -r.small(10)
	default:
		return r.small(20)
	}
}

func (r *fuzzReader) time(base time.Time) time.Time {
	if r.small(8) == 0 {
		return time.Unix(0, r.int64()) // anything, zero and far future included
	}
	return base.Add(time.Duration(int(r.byte())-128) * time.Minute)
}

var fuzzCrons = []string{"", "* * * * *", "bogus", "*/0 * * * *", "0-59 0-23 1-31 1-12 0-7", "30 10 * * 1"}
var fuzzZones = []string{"", "UTC", "Europe/Paris", "Mars/Olympus", "\xff"}
var fuzzStatuses = []PresetStatus{"", StatusHealthy, StatusReplacementProne, StatusHardLimited, "bogus"}
var fuzzBuildStatuses = []BuildStatus{BuildPending, BuildRunning, BuildSucceeded, BuildFailed, BuildCanceled, "bogus"}
var fuzzTransitions = []Transition{TransitionStart, TransitionStop, TransitionDelete, ""}

func fuzzSnapshot(data []byte) (PresetSnapshot, time.Time, Policy) {
	r := &fuzzReader{b: data}
	now := time.Date(2026, 3, 2, 10, 30, 0, 0, time.UTC).Add(time.Duration(r.int64() % int64(365*24*time.Hour)))
	versions := []uuid.UUID{uuid.Nil, uuid.MustParse("00000000-0000-0000-0000-00000000000a"), uuid.MustParse("00000000-0000-0000-0000-00000000000b")}
	workspaces := make([]uuid.UUID, 8)
	for i := range workspaces {
		workspaces[i] = uuid.New()
	}
	s := PresetSnapshot{
		Preset: Preset{ID: uuid.New(), Name: "p", DesiredInstances: r.instances(), TTL: time.Duration(r.int64()),
			Timezone: fuzzZones[r.small(len(fuzzZones))], Status: fuzzStatuses[r.small(len(fuzzStatuses))],
			StatusVersionID: r.id(versions), ResumedAt: r.time(now)},
		ActiveVersion: TemplateVersion{ID: r.id(versions), Deprecated: r.small(4) == 0},
	}
	for range r.small(4) {
		s.Preset.Schedules = append(s.Preset.Schedules, Schedule{Cron: fuzzCrons[r.small(len(fuzzCrons))], Instances: r.instances()})
	}
	for range r.small(12) {
		s.Prebuilds = append(s.Prebuilds, Prebuild{WorkspaceID: r.id(workspaces), BuildID: uuid.New(), VersionID: r.id(versions), CreatedAt: r.time(now)})
	}
	for range r.small(12) {
		s.InProgress = append(s.InProgress, InProgressBuild{BuildID: uuid.New(), WorkspaceID: r.id(workspaces), VersionID: r.id(versions),
			Transition: fuzzTransitions[r.small(len(fuzzTransitions))], Status: fuzzBuildStatuses[r.small(len(fuzzBuildStatuses))], CreatedAt: r.time(now)})
	}
	for range r.small(12) {
		s.Creates = append(s.Creates, BuildOutcome{BuildID: uuid.New(), VersionID: r.id(versions), Status: fuzzBuildStatuses[r.small(len(fuzzBuildStatuses))], CompletedAt: r.time(now)})
	}
	for range r.small(12) {
		s.Claims = append(s.Claims, ClaimOutcome{BuildID: uuid.New(), VersionID: r.id(versions), At: r.time(now), Replaced: r.small(2) == 0})
	}
	pol := Policy{
		OnReplacement:        []ReplacementPolicy{OnReplacementReport, OnReplacementPause, "bogus"}[r.small(3)],
		ReplacementThreshold: r.small(8) - 1,
		ReplacementWindow:    r.small(8) - 1,
		BackoffInterval:      time.Duration(r.int64() % int64(time.Hour)),
		BackoffLookback:      time.Duration(r.int64() % int64(48*time.Hour)),
		HardLimit:            r.small(6) - 1,
		TakeoverGrace:        time.Duration(r.int64() % int64(4*time.Hour)),
	}
	return s, now, pol
}

// FuzzCalculateActions feeds CalculateActions arbitrary snapshots, as a
// database written by any version (or by hand) may hold: it must not
// panic, must stay pure, and its plan must keep the pool's invariants.
func FuzzCalculateActions(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("\x01\x02\x03\x04\x05\x06\x07\x08\x03\xfd\xff\xff\xff\xff\xff\xff\xff"))
	f.Add([]byte("prebuilds of an old version, a negative pool and failing creates............"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, now, pol := fuzzSnapshot(data)
		plan := CalculateActions(s, now, pol)
		if again := CalculateActions(s, now, pol); !reflect.DeepEqual(plan, again) {
			t.Fatalf("not pure:\n%+v\n%+v", plan, again)
		}
		if plan.Desired < 0 || plan.Desired > MaxInstances {
			t.Fatalf("desired %d outside 0..%d", plan.Desired, MaxInstances)
		}
		if plan.Running != len(s.Prebuilds) || plan.Eligible < 0 || plan.Eligible > plan.Running {
			t.Fatalf("running %d eligible %d of %d prebuilds", plan.Running, plan.Eligible, len(s.Prebuilds))
		}
		prebuilds := map[uuid.UUID]int{}
		for _, pb := range s.Prebuilds {
			prebuilds[pb.WorkspaceID]++
		}
		inProgress := map[uuid.UUID]bool{}
		for _, b := range s.InProgress {
			inProgress[b.BuildID] = true
		}
		deleted := map[uuid.UUID]int{}
		creates := 0
		for _, a := range plan.Actions {
			if a.PresetID != s.Preset.ID {
				t.Fatalf("action for another preset: %+v", a)
			}
			switch a.Kind {
			case ActionCreate:
				creates++
				if a.VersionID != s.ActiveVersion.ID || a.VersionID == uuid.Nil || s.ActiveVersion.Deprecated {
					t.Fatalf("create of a version that is not the usable active one: %+v", a)
				}
			case ActionDelete:
				deleted[a.WorkspaceID]++
				if deleted[a.WorkspaceID] > prebuilds[a.WorkspaceID] {
					t.Fatalf("delete of a workspace that is not a ready prebuild (or twice): %+v", a)
				}
			case ActionCancel, ActionTakeover:
				if !inProgress[a.BuildID] {
					t.Fatalf("%s of a build that is not in progress: %+v", a.Kind, a)
				}
			default:
				t.Fatalf("unknown action %+v", a)
			}
		}
		if creates > plan.Desired {
			t.Fatalf("%d creates for a desired size of %d", creates, plan.Desired)
		}
		if creates > 0 && plan.Status != StatusHealthy {
			t.Fatalf("creates while %s", plan.Status)
		}
	})
}
