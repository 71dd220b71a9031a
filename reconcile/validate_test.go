package reconcile_test

import (
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/claimdrift/claimdrift/reconcile"
	"github.com/prometheus/client_golang/prometheus"
)

func TestPresetSpecValidate(t *testing.T) {
	ok := reconcile.PresetSpec{Name: "small", DesiredInstances: 2, TTL: time.Hour, Timezone: "Europe/Paris",
		Schedules: []reconcile.Schedule{{Cron: "* 8-18 * * 1-5", Instances: 5}}, Parameters: map[string]string{"cpu": "2"}}
	tests := []struct {
		name  string
		edit  func(*reconcile.PresetSpec)
		field string // "" = valid
	}{
		{"valid", func(*reconcile.PresetSpec) {}, ""},
		{"zero ttl is forever", func(s *reconcile.PresetSpec) { s.TTL = 0 }, ""},
		{"max instances", func(s *reconcile.PresetSpec) { s.DesiredInstances = reconcile.MaxInstances }, ""},
		{"negative instances", func(s *reconcile.PresetSpec) { s.DesiredInstances = -3 }, "instances"},
		{"10^12 instances", func(s *reconcile.PresetSpec) { s.DesiredInstances = 1e12 }, "instances"},
		{"sub-second ttl", func(s *reconcile.PresetSpec) { s.TTL = 500 * time.Millisecond }, "ttl"},
		{"fractional ttl", func(s *reconcile.PresetSpec) { s.TTL = 1500 * time.Millisecond }, "ttl"},
		{"negative ttl", func(s *reconcile.PresetSpec) { s.TTL = -time.Second }, "ttl"},
		{"bad timezone", func(s *reconcile.PresetSpec) { s.Timezone = "Mars/Olympus" }, "timezone"},
		{"bad cron", func(s *reconcile.PresetSpec) { s.Schedules[0].Cron = "* * *" }, "schedules[0].cron"},
		{"schedule instances", func(s *reconcile.PresetSpec) { s.Schedules[0].Instances = -1 }, "schedules[0].instances"},
		{"empty name", func(s *reconcile.PresetSpec) { s.Name = "" }, "name"},
		{"newline in name", func(s *reconcile.PresetSpec) { s.Name = "a\nb" }, "name"},
		{"escape in name", func(s *reconcile.PresetSpec) { s.Name = "a\x1b[2J" }, "name"},
		{"invalid utf-8 name", func(s *reconcile.PresetSpec) { s.Name = "a\xff" }, "name"},
		{"long name", func(s *reconcile.PresetSpec) { s.Name = strings.Repeat("x", reconcile.MaxNameLen+1) }, "name"},
		{"control in template", func(s *reconcile.PresetSpec) { s.TemplateName = "t\r" }, "template"},
		{"control in parameter name", func(s *reconcile.PresetSpec) { s.Parameters = map[string]string{"a\tb": "1"} }, "parameters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := ok
			spec.Schedules = append([]reconcile.Schedule(nil), ok.Schedules...)
			tt.edit(&spec)
			err := spec.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			var fe *reconcile.FieldError
			if !errors.As(err, &fe) || fe.Field != tt.field || !errors.Is(err, reconcile.ErrInvalid) {
				t.Fatalf("Validate() = %v, want a FieldError on %q", err, tt.field)
			}
			if strings.ContainsAny(err.Error(), "\n\r\x1b") {
				t.Errorf("error prints raw control characters: %q", err.Error())
			}
		})
	}
}

func TestStoreRefusesInvalidPresets(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			s := b.newDB(t)()
			e := newEnv(t, s)
			e.importTemplate("v1", 1)
			_, err := s.ImportTemplate(t.Context(), reconcile.TemplateImport{Name: "dev", Organization: "acme", Now: t0,
				Presets: []reconcile.PresetSpec{{Name: "ok", DesiredInstances: 1}, {Name: "bad", DesiredInstances: -3}}})
			if !errors.Is(err, reconcile.ErrInvalid) || !strings.Contains(err.Error(), `preset "bad"`) || !strings.Contains(err.Error(), "instances") {
				t.Fatalf("import of instances -3 = %v, want ErrInvalid naming the preset and field", err)
			}
			if _, err := s.SavePreset(t.Context(), reconcile.PresetSpec{TemplateName: "dev", Name: "big", DesiredInstances: 1e12, Now: t0}); !errors.Is(err, reconcile.ErrInvalid) {
				t.Fatalf("SavePreset(10^12) = %v, want ErrInvalid", err)
			}
			if _, err := s.SavePreset(t.Context(), reconcile.PresetSpec{TemplateName: "dev", Name: "short", TTL: 500 * time.Millisecond, Now: t0}); !errors.Is(err, reconcile.ErrInvalid) {
				t.Fatalf("SavePreset(ttl 500ms) = %v, want ErrInvalid", err)
			}
			list, err := s.Presets(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if len(list) != 1 || list[0].Preset.Name != "small" {
				t.Fatalf("presets after refused writes: %+v", list)
			}
		})
	}
}

// TestBadRowsDoNotPanic writes rows an older version accepted (negative
// and huge instance counts, a negative TTL, a schedule of negative
// instances, an unknown timezone, a template name that is not UTF-8)
// straight into the database: status, metrics and passes keep working for
// every preset.
func TestBadRowsDoNotPanic(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			open := b.newDB(t)
			s := open()
			e := newEnv(t, s)
			e.importTemplate("v1", 2)
			p := e.pool(reconcile.DefaultPolicy(), 0)
			pass(t, p) // two ready prebuilds
			e.clock.Advance(time.Minute)
			if st := e.state1(p); st.Eligible != 2 {
				t.Fatalf("eligible = %d, want 2", st.Eligible)
			}
			db := s.(interface{ DB() *sql.DB }).DB()
			raw := func(q string) {
				t.Helper()
				if _, err := db.ExecContext(t.Context(), q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}

			raw(`UPDATE presets SET desired_instances = -3, ttl_seconds = -5`)
			st := e.state1(p)
			if st.Desired != 0 {
				t.Errorf("desired with instances -3 = %d, want 0", st.Desired)
			}
			rep, err := p.Plan(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if n := countActions(rep.Actions, reconcile.ActionDelete); n != 2 {
				t.Errorf("deletes planned with instances -3 = %d, want 2 (the pool's extra prebuilds)", n)
			}

			raw(`UPDATE presets SET desired_instances = 2000000000, ttl_seconds = 0, timezone = 'Mars/Olympus',
				schedules = '[{"cron":"* * * * *","instances":-7},{"cron":"bogus","instances":3}]'`)
			if st := e.state1(p); st.Desired != 0 {
				t.Errorf("desired with a schedule of -7 = %d, want 0", st.Desired)
			}
			raw(`UPDATE presets SET schedules = '[]'`)
			if st := e.state1(p); st.Desired != reconcile.MaxInstances {
				t.Errorf("desired with instances 2*10^9 = %d, want the limit %d", st.Desired, reconcile.MaxInstances)
			}
			rep, err = p.Plan(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if n := countActions(rep.Actions, reconcile.ActionCreate); n != reconcile.MaxInstances-2 {
				t.Errorf("creates planned with instances 2*10^9 = %d, want %d", n, reconcile.MaxInstances-2)
			}

			if b.name == "sqlite" {
				// PostgreSQL refuses invalid UTF-8 in text columns; SQLite
				// stores whatever bytes it is given.
				raw(`UPDATE templates SET name = CAST(X'6465769fff' AS TEXT)`)
				raw(`UPDATE presets SET desired_instances = 1`)
			}
			reg := prometheus.NewPedanticRegistry()
			if err := reconcile.NewCollector(open(), reconcile.CollectorOptions{Now: e.clock.Now}).Register(reg); err != nil {
				t.Fatal(err)
			}
			mfs, err := reg.Gather()
			if err != nil {
				t.Fatalf("gather: %v", err)
			}
			found := false
			for _, mf := range mfs {
				if mf.GetName() == reconcile.MetricDesired && len(mf.GetMetric()) == 1 {
					found = true
				}
			}
			if !found {
				t.Errorf("no %s series for the preset", reconcile.MetricDesired)
			}
		})
	}
}

func countActions(actions []reconcile.Action, kind reconcile.ActionKind) int {
	n := 0
	for _, a := range actions {
		if a.Kind == kind {
			n++
		}
	}
	return n
}

// TestUnreadablePresetStopsOnlyItsPool writes parameters and schedules
// that are not JSON into one preset's row: the passes, the status and the
// claims of the other preset go on; the broken pool is left as it is
// (nothing created, deleted or re-statused), the status says why, a claim
// of it that would run a command refuses, and a template import repairs
// it.
func TestUnreadablePresetStopsOnlyItsPool(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			s := b.newDB(t)()
			e := newEnv(t, s)
			presets := []reconcile.PresetSpec{
				{Name: "broken", Parameters: map[string]string{"cpu": "2"}, DesiredInstances: 1},
				{Name: "fine", Parameters: map[string]string{"cpu": "4"}, DesiredInstances: 1},
			}
			imp := func() {
				t.Helper()
				if _, err := s.ImportTemplate(t.Context(), reconcile.TemplateImport{Name: "dev", Organization: "acme", Version: "v1", Now: e.clock.Now(), Presets: presets}); err != nil {
					t.Fatal(err)
				}
			}
			imp()
			lg, logs := captureLogs()
			p := reconcile.NewPool(e.s, e.exec, reconcile.Options{Policy: reconcile.DefaultPolicy(), Now: e.clock.Now, Logger: lg})
			pass(t, p) // one ready prebuild each
			e.clock.Advance(time.Minute)

			db := s.(interface{ DB() *sql.DB }).DB()
			for _, q := range []string{
				`UPDATE presets SET parameters = '{"cpu": 2', schedules = 'not json' WHERE name = 'broken'`,
				`UPDATE presets SET desired_instances = 3`,
			} {
				if _, err := db.ExecContext(t.Context(), q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}

			states, err := p.Status(t.Context())
			if err != nil {
				t.Fatalf("status with one unreadable preset: %v", err)
			}
			byName := map[string]reconcile.PresetState{}
			for _, st := range states {
				byName[st.Preset] = st
			}
			broken, fine := byName["broken"], byName["fine"]
			if len(states) != 2 || !strings.Contains(broken.Blocked, "unreadable") || !strings.Contains(broken.Blocked, "parameters") ||
				!strings.Contains(broken.Blocked, "schedules") || broken.Eligible != 1 || broken.Status != reconcile.StatusHealthy {
				t.Fatalf("status of the broken preset: %+v (all: %+v)", broken, states)
			}
			if fine.Blocked != "" || fine.Desired != 3 || fine.Eligible != 1 {
				t.Fatalf("status of the fine preset: %+v", fine)
			}

			rep := pass(t, p)
			if n := count(rep.Builds, reconcile.JobCreate, reconcile.BuildSucceeded); n != 2 {
				t.Fatalf("creates in the pass = %d, want the fine preset's 2: %+v", n, rep.Builds)
			}
			for _, a := range rep.Actions {
				if a.PresetID == broken.PresetID {
					t.Errorf("action on the unreadable preset: %+v", a)
				}
			}
			if l := logs(); !strings.Contains(l, "preset left as it is") || !strings.Contains(l, "preset=broken") {
				t.Errorf("the pass did not warn about the unreadable preset:\n%s", l)
			}
			e.clock.Advance(time.Minute)
			states, err = p.Status(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			for _, st := range states {
				if want := map[string]int{"broken": 1, "fine": 3}[st.Preset]; st.Eligible != want {
					t.Errorf("preset %s: %d ready prebuilds, want %d", st.Preset, st.Eligible, want)
				}
			}

			if _, err := p.Claim(t.Context(), "alice", "ws-fine", fine.PresetID); err != nil {
				t.Fatalf("claim of the fine preset: %v", err)
			}
			res, err := p.Claim(t.Context(), "bob", "ws-broken", broken.PresetID)
			if err == nil || !strings.Contains(err.Error(), "unreadable") || res.BuildStatus != reconcile.BuildFailed {
				t.Fatalf("claim of the unreadable preset with a claim command = %v (build %s), want a failed build saying it is unreadable", err, res.BuildStatus)
			}

			imp() // writes the preset again
			states, err = p.Status(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			for _, st := range states {
				if st.Preset == "broken" && strings.Contains(st.Blocked, "unreadable") {
					t.Errorf("still unreadable after the import: %+v", st)
				}
			}
		})
	}
}
