package reconcile

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

var (
	t0       = time.Date(2026, 3, 2, 10, 30, 0, 0, time.UTC) // a Monday
	presetID = uuid.MustParse("00000000-0000-0000-0000-00000000000a")
	activeV  = uuid.MustParse("00000000-0000-0000-0000-0000000000a1")
	oldV     = uuid.MustParse("00000000-0000-0000-0000-0000000000a0")
)

func wsID(n int) uuid.UUID { return uuid.MustParse(fmt.Sprintf("00000000-0000-0000-0001-%012d", n)) }
func bID(n int) uuid.UUID  { return uuid.MustParse(fmt.Sprintf("00000000-0000-0000-0002-%012d", n)) }

func snap(desired int, mods ...func(*PresetSnapshot)) PresetSnapshot {
	s := PresetSnapshot{
		Preset:        Preset{ID: presetID, Name: "p", DesiredInstances: desired, Status: StatusHealthy},
		Template:      Template{Name: "t", ActiveVersionID: activeV},
		ActiveVersion: TemplateVersion{ID: activeV},
	}
	for _, m := range mods {
		m(&s)
	}
	return s
}

func withPrebuilds(version uuid.UUID, ages ...time.Duration) func(*PresetSnapshot) {
	return func(s *PresetSnapshot) {
		for _, age := range ages {
			n := len(s.Prebuilds) + 1
			s.Prebuilds = append(s.Prebuilds, Prebuild{WorkspaceID: wsID(n), BuildID: bID(n), VersionID: version, CreatedAt: t0.Add(-age)})
		}
	}
}

func withInProgress(tr Transition, st BuildStatus, version uuid.UUID, n int) func(*PresetSnapshot) {
	return func(s *PresetSnapshot) {
		for range n {
			k := 100 + len(s.InProgress)
			s.InProgress = append(s.InProgress, InProgressBuild{BuildID: bID(k), WorkspaceID: wsID(k), VersionID: version, Transition: tr, Status: st, CreatedAt: t0.Add(-time.Minute)})
		}
	}
}

// withCreates adds finished creates, newest first; "F" failed, "S" succeeded,
// one minute apart ending at `last` before t0.
func withCreates(last time.Duration, outcomes string) func(*PresetSnapshot) {
	return func(s *PresetSnapshot) {
		for i, c := range outcomes {
			st := BuildSucceeded
			if c == 'F' {
				st = BuildFailed
			}
			s.Creates = append(s.Creates, BuildOutcome{BuildID: bID(200 + i), VersionID: activeV, Status: st, CompletedAt: t0.Add(-last - time.Duration(i)*time.Minute)})
		}
	}
}

// withClaims adds claims, newest first; "R" replaced, "-" clean.
func withClaims(version uuid.UUID, outcomes string) func(*PresetSnapshot) {
	return func(s *PresetSnapshot) {
		for i, c := range outcomes {
			s.Claims = append(s.Claims, ClaimOutcome{BuildID: bID(300 + i), VersionID: version, At: t0.Add(-time.Duration(i+1) * time.Hour), Replaced: c == 'R'})
		}
	}
}

func pausePolicy() Policy {
	p := DefaultPolicy()
	p.OnReplacement = OnReplacementPause
	return p
}

// summary renders the actions as "create×2 delete(expired):ws1" style text
// so cases can state expectations compactly.
func summary(actions []Action) string {
	var parts []string
	for _, a := range actions {
		switch a.Kind {
		case ActionCreate:
			parts = append(parts, "create")
		case ActionDelete:
			parts = append(parts, fmt.Sprintf("delete(%s):%d", a.Reason, wsNum(a.WorkspaceID)))
		case ActionCancel:
			parts = append(parts, fmt.Sprintf("cancel(%s):%d", a.Reason, wsNum(a.BuildID)))
		case ActionTakeover:
			parts = append(parts, fmt.Sprintf("takeover:%d", wsNum(a.BuildID)))
		}
	}
	return strings.Join(parts, " ")
}

func wsNum(id uuid.UUID) int {
	var n int
	fmt.Sscanf(id.String()[24:], "%d", &n)
	return n
}

func TestCalculateActions(t *testing.T) {
	tests := []struct {
		name    string
		snap    PresetSnapshot
		policy  Policy
		want    string
		desired int
		status  PresetStatus
		changed bool
		blocked string // substring
	}{
		{name: "empty pool is filled", snap: snap(3), want: "create create create", desired: 3},
		{name: "full pool does nothing", snap: snap(2, withPrebuilds(activeV, time.Hour, 2*time.Hour)), want: "", desired: 2},
		{name: "partial pool tops up", snap: snap(3, withPrebuilds(activeV, time.Hour)), want: "create create", desired: 3},
		{name: "in-progress creates count", snap: snap(3, withPrebuilds(activeV, time.Hour), withInProgress(TransitionStart, BuildRunning, activeV, 2)), want: "", desired: 3},
		{name: "in-progress creates never overshoot", snap: snap(2, withInProgress(TransitionStart, BuildPending, activeV, 3)), want: "", desired: 2},
		{name: "extraneous deleted oldest first", snap: snap(1, withPrebuilds(activeV, time.Hour, 3*time.Hour, 2*time.Hour)), want: "delete(extraneous):2 delete(extraneous):3", desired: 1},
		{name: "extraneous waits for in-progress creates", snap: snap(1, withPrebuilds(activeV, time.Hour, 2*time.Hour), withInProgress(TransitionStart, BuildRunning, activeV, 1)), want: "", desired: 1},
		{name: "zero desired deletes all", snap: snap(0, withPrebuilds(activeV, time.Hour)), want: "delete(extraneous):1", desired: 0},
		{name: "expired deleted and replaced", snap: func() PresetSnapshot {
			s := snap(2, withPrebuilds(activeV, 30*time.Hour, time.Hour))
			s.Preset.TTL = 24 * time.Hour
			return s
		}(), want: "delete(expired):1 create", desired: 2},
		{name: "exactly at TTL is expired", snap: func() PresetSnapshot {
			s := snap(1, withPrebuilds(activeV, 24*time.Hour))
			s.Preset.TTL = 24 * time.Hour
			return s
		}(), want: "delete(expired):1 create", desired: 1},
		{name: "inactive version deleted and replaced", snap: snap(2, withPrebuilds(oldV, time.Hour), withPrebuilds(activeV, time.Hour)), want: "delete(inactive template version):1 create", desired: 2},
		{name: "pending create on inactive version canceled", snap: snap(1, withInProgress(TransitionStart, BuildPending, oldV, 1)), want: "cancel(inactive template version):100 create", desired: 1},
		{name: "running create on inactive version left to finish", snap: snap(1, withInProgress(TransitionStart, BuildRunning, oldV, 1)), want: "create", desired: 1},
		{name: "deprecated version deletes everything and cancels", snap: func() PresetSnapshot {
			s := snap(2, withPrebuilds(activeV, time.Hour), withInProgress(TransitionStart, BuildPending, activeV, 1))
			s.ActiveVersion.Deprecated = true
			return s
		}(), want: "delete(deprecated template version):1 cancel(deprecated template version):100", desired: 0},
		{name: "in-progress deletes do not block creates", snap: snap(1, withInProgress(TransitionDelete, BuildRunning, activeV, 1)), want: "create", desired: 1},
		{name: "schedule overrides desired", snap: func() PresetSnapshot {
			s := snap(1)
			s.Preset.Schedules = []Schedule{{Cron: "* 9-17 * * 1-5", Instances: 3}}
			return s
		}(), want: "create create create", desired: 3},
		{name: "schedule outside hours falls back", snap: func() PresetSnapshot {
			s := snap(1)
			s.Preset.Schedules = []Schedule{{Cron: "* 0-8 * * 1-5", Instances: 3}}
			return s
		}(), want: "create", desired: 1},
		{name: "first matching schedule wins", snap: func() PresetSnapshot {
			s := snap(0)
			s.Preset.Schedules = []Schedule{{Cron: "* 0-5 * * *", Instances: 5}, {Cron: "* 10 * * *", Instances: 2}, {Cron: "* * * * *", Instances: 4}}
			return s
		}(), want: "create create", desired: 2},
		{name: "schedule in preset timezone", snap: func() PresetSnapshot {
			// 10:30 UTC is 19:30 in Tokyo.
			s := snap(0)
			s.Preset.Timezone = "Asia/Tokyo"
			s.Preset.Schedules = []Schedule{{Cron: "* 19 * * *", Instances: 1}, {Cron: "* 10 * * *", Instances: 4}}
			return s
		}(), want: "create", desired: 1},
		{name: "schedule lowering desired deletes extras", snap: func() PresetSnapshot {
			s := snap(3, withPrebuilds(activeV, time.Hour, 2*time.Hour, 3*time.Hour))
			s.Preset.Schedules = []Schedule{{Cron: "* * * * 1", Instances: 1}}
			return s
		}(), want: "delete(extraneous):3 delete(extraneous):2", desired: 1},
		{name: "one recent failure backs off", snap: snap(2, withCreates(30*time.Second, "F")), want: "", desired: 2, blocked: "backing off after 1"},
		{name: "backoff over after one interval", snap: snap(1, withCreates(2*time.Minute, "F")), want: "create", desired: 1},
		{name: "backoff is linear in failures", snap: snap(1, withCreates(90*time.Second, "FF")), want: "", desired: 1, blocked: "backing off after 2"},
		{name: "success resets backoff", snap: snap(1, withCreates(10*time.Second, "SFF")), want: "create", desired: 1},
		{name: "failures outside lookback ignored", snap: func() PresetSnapshot {
			s := snap(1, withCreates(2*time.Hour, "FF"))
			return s
		}(), policy: func() Policy { p := DefaultPolicy(); p.HardLimit = 0; return p }(), want: "create", desired: 1},
		{name: "hard limit stops creation", snap: snap(2, withCreates(2*time.Hour, "FFF")), want: "", desired: 2, status: StatusHardLimited, changed: true, blocked: "hard_limited"},
		{name: "hard limit keeps deleting", snap: func() PresetSnapshot {
			s := snap(0, withPrebuilds(activeV, time.Hour), withCreates(2*time.Hour, "FFF"))
			return s
		}(), want: "delete(extraneous):1", desired: 0, status: StatusHardLimited, changed: true},
		{name: "hard-limited preset stays blocked", snap: func() PresetSnapshot {
			s := snap(1)
			s.Preset.Status, s.Preset.StatusReason = StatusHardLimited, "failed"
			return s
		}(), want: "", desired: 1, status: StatusHardLimited, blocked: "hard_limited"},
		{name: "resume forgets earlier failures", snap: func() PresetSnapshot {
			s := snap(1, withCreates(2*time.Hour, "FFF"))
			s.Preset.ResumedAt = t0.Add(-time.Hour)
			return s
		}(), want: "create", desired: 1},
		{name: "failures on old versions ignored", snap: func() PresetSnapshot {
			s := snap(1, withCreates(2*time.Hour, "FFF"))
			for i := range s.Creates {
				s.Creates[i].VersionID = oldV
			}
			return s
		}(), want: "create", desired: 1},
		{name: "replacing claims only reported by default", snap: snap(1, withClaims(activeV, "RRRRR")), want: "create", desired: 1},
		{name: "pause: 3 of 5 replacing claims pause", snap: snap(2, withClaims(activeV, "R-R-R")), policy: pausePolicy(), want: "", desired: 2, status: StatusReplacementProne, changed: true, blocked: "3 of the last 5"},
		{name: "pause: 2 of 5 not enough", snap: snap(1, withClaims(activeV, "R-R--R")), policy: pausePolicy(), want: "create", desired: 1},
		{name: "pause: older claims outside window", snap: snap(1, withClaims(activeV, "-----RRR")), policy: pausePolicy(), want: "create", desired: 1},
		{name: "pause: claims on old version ignored", snap: snap(1, withClaims(oldV, "RRRRR")), policy: pausePolicy(), want: "create", desired: 1},
		{name: "pause: claims before resume ignored", snap: func() PresetSnapshot {
			s := snap(1, withClaims(activeV, "RRRRR"))
			s.Preset.ResumedAt = t0.Add(-90 * time.Minute)
			return s
		}(), policy: pausePolicy(), want: "create", desired: 1},
		{name: "pause: still deletes expired but creates none", snap: func() PresetSnapshot {
			s := snap(1, withPrebuilds(activeV, 48*time.Hour), withClaims(activeV, "RRR"))
			s.Preset.TTL = time.Hour
			return s
		}(), policy: pausePolicy(), want: "delete(expired):1", desired: 1, status: StatusReplacementProne, changed: true, blocked: "3 of the last 3"},
		{name: "replacement-prone resumes on new active version", snap: func() PresetSnapshot {
			s := snap(1, withClaims(oldV, "RRRRR"))
			s.Preset.Status, s.Preset.StatusVersionID = StatusReplacementProne, oldV
			return s
		}(), policy: pausePolicy(), want: "create", desired: 1, status: StatusHealthy, changed: true},
		{name: "replacement-prone stays on same version", snap: func() PresetSnapshot {
			s := snap(1)
			s.Preset.Status, s.Preset.StatusVersionID = StatusReplacementProne, activeV
			return s
		}(), policy: pausePolicy(), want: "", desired: 1, status: StatusReplacementProne, blocked: "replacement_prone"},
		{name: "hard limit takes precedence over replacement", snap: snap(1, withCreates(2*time.Hour, "FFF"), withClaims(activeV, "RRR")), policy: pausePolicy(), want: "", desired: 1, status: StatusHardLimited, changed: true, blocked: "hard_limited"},
		{name: "expired lease on this host: taken over and replaced", snap: func() PresetSnapshot {
			s := snap(1, withInProgress(TransitionStart, BuildRunning, activeV, 1))
			s.InProgress[0].Lease, s.InProgress[0].Process.Host = Lease{Owner: "dead", Until: t0.Add(-time.Second)}, "here"
			return s
		}(), policy: func() Policy { p := DefaultPolicy(); p.Host = "here"; return p }(), want: "takeover:100 create", desired: 1},
		{name: "expired lease on another host: still its own within the grace", snap: func() PresetSnapshot {
			s := snap(1, withInProgress(TransitionStart, BuildRunning, activeV, 1))
			s.InProgress[0].Lease, s.InProgress[0].Process.Host = Lease{Owner: "far", Until: t0.Add(-time.Second)}, "there"
			return s
		}(), policy: func() Policy { p := DefaultPolicy(); p.Host = "here"; return p }(), want: "", desired: 1},
		{name: "expired lease on another host: taken over after the grace", snap: func() PresetSnapshot {
			s := snap(1, withInProgress(TransitionStart, BuildRunning, activeV, 1))
			s.InProgress[0].Lease, s.InProgress[0].Process.Host = Lease{Owner: "far", Until: t0.Add(-31 * time.Second)}, "there"
			return s
		}(), policy: func() Policy { p := DefaultPolicy(); p.Host = "here"; return p }(), want: "takeover:100 create", desired: 1},
		{name: "live lease counts as creating", snap: func() PresetSnapshot {
			s := snap(1, withInProgress(TransitionStart, BuildRunning, activeV, 1))
			s.InProgress[0].CreatedAt = t0.Add(-3 * time.Hour)
			s.InProgress[0].Lease, s.InProgress[0].Process.Host = Lease{Owner: "alive", Until: t0.Add(time.Second)}, "here"
			return s
		}(), policy: func() Policy { p := DefaultPolicy(); p.Host = "here"; return p }(), want: "", desired: 1},
		{name: "abandoned and canceled creates count no failure", snap: snap(1, withCreates(time.Hour, "FF"), func(s *PresetSnapshot) {
			for i := range s.Creates {
				s.Creates[i].Status = []BuildStatus{BuildAbandoned, BuildCanceled}[i]
			}
		}), want: "create", desired: 1},
		{name: "no active version wants nothing", snap: func() PresetSnapshot {
			s := snap(2, withPrebuilds(oldV, time.Hour))
			s.ActiveVersion = TemplateVersion{}
			return s
		}(), want: "delete(inactive template version):1", desired: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pol := tt.policy
			if pol == (Policy{}) {
				pol = DefaultPolicy()
			}
			got := CalculateActions(tt.snap, t0, pol)
			if s := summary(got.Actions); s != tt.want {
				t.Errorf("actions = %q, want %q", s, tt.want)
			}
			if got.Desired != tt.desired {
				t.Errorf("desired = %d, want %d", got.Desired, tt.desired)
			}
			wantStatus := tt.status
			if wantStatus == "" {
				wantStatus = StatusHealthy
			}
			if got.Status != wantStatus || got.StatusChanged != tt.changed {
				t.Errorf("status = %s (changed %v), want %s (changed %v)", got.Status, got.StatusChanged, wantStatus, tt.changed)
			}
			if !strings.Contains(got.Blocked, tt.blocked) || (tt.blocked == "" && got.Blocked != "") {
				t.Errorf("blocked = %q, want it to contain %q", got.Blocked, tt.blocked)
			}
			for _, a := range got.Actions {
				if a.PresetID != presetID {
					t.Errorf("action %+v has preset %s", a, a.PresetID)
				}
				if a.Kind == ActionCreate && a.VersionID != activeV {
					t.Errorf("create on version %s, want active %s", a.VersionID, activeV)
				}
			}
		})
	}
}

func TestCalculateActionsCounts(t *testing.T) {
	s := snap(3, withPrebuilds(activeV, time.Hour, 30*time.Hour), withPrebuilds(oldV, time.Hour),
		withInProgress(TransitionStart, BuildRunning, activeV, 1), withInProgress(TransitionDelete, BuildRunning, activeV, 2))
	s.Preset.TTL = 24 * time.Hour
	got := CalculateActions(s, t0, DefaultPolicy())
	if got.Running != 3 || got.Eligible != 1 || got.Creating != 1 || got.Deleting != 2 {
		t.Errorf("running/eligible/creating/deleting = %d/%d/%d/%d, want 3/1/1/2", got.Running, got.Eligible, got.Creating, got.Deleting)
	}
	if s := summary(got.Actions); s != "delete(expired):2 delete(inactive template version):3 create" {
		t.Errorf("actions = %q", s)
	}
}

func TestCalculateActionsBackoffUntil(t *testing.T) {
	s := snap(1, withCreates(30*time.Second, "FF"))
	got := CalculateActions(s, t0, DefaultPolicy())
	want := t0.Add(-30 * time.Second).Add(2 * time.Minute)
	if !got.BackoffUntil.Equal(want) {
		t.Errorf("BackoffUntil = %s, want %s", got.BackoffUntil, want)
	}
	if got.ConsecutiveFailures != 2 {
		t.Errorf("ConsecutiveFailures = %d, want 2", got.ConsecutiveFailures)
	}
}

func TestCalculateActionsPure(t *testing.T) {
	s := snap(1, withPrebuilds(activeV, 3*time.Hour, time.Hour, 2*time.Hour))
	first := summary(CalculateActions(s, t0, DefaultPolicy()).Actions)
	if second := summary(CalculateActions(s, t0, DefaultPolicy()).Actions); first != second {
		t.Fatalf("two calls differ: %q vs %q", first, second)
	}
	if s.Prebuilds[0].WorkspaceID != wsID(1) {
		t.Fatal("CalculateActions reordered the caller's prebuilds")
	}
}
