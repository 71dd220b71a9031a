package reconcile_test

import (
	"strings"
	"testing"
	"time"

	"github.com/claimdrift/claimdrift/reconcile"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestCollector(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			open := b.newDB(t)
			e := newEnv(t, open(), "EXEC_PLAN="+claimPlan(t))
			res := e.importTemplate("v1", 2)
			p := e.pool(reconcile.DefaultPolicy(), 0)
			pass(t, p)
			e.clock.Advance(time.Minute)
			if _, err := p.Claim(t.Context(), "alice", "", res.Presets[0].ID); err != nil {
				t.Fatal(err)
			}
			e.setFail(true)
			e.clock.Advance(time.Minute)
			pass(t, p)

			// A fresh handle (a restart, or another replica) reports the same.
			reg := prometheus.NewPedanticRegistry()
			c := reconcile.NewCollector(open(), reconcile.CollectorOptions{Now: e.clock.Now})
			if err := c.Register(reg); err != nil {
				t.Fatal(err)
			}
			const labels = `organization_name="acme",preset_name="small",template_name="dev"`
			want := `
# HELP claimdrift_prebuilt_workspaces_claimed_total Prebuilt workspaces claimed by users.
# TYPE claimdrift_prebuilt_workspaces_claimed_total counter
claimdrift_prebuilt_workspaces_claimed_total{` + labels + `} 1
# HELP claimdrift_prebuilt_workspaces_created_total Prebuilt workspaces created successfully.
# TYPE claimdrift_prebuilt_workspaces_created_total counter
claimdrift_prebuilt_workspaces_created_total{` + labels + `} 2
# HELP claimdrift_prebuilt_workspaces_desired Prebuilt workspaces the preset wants now.
# TYPE claimdrift_prebuilt_workspaces_desired gauge
claimdrift_prebuilt_workspaces_desired{` + labels + `} 2
# HELP claimdrift_prebuilt_workspaces_eligible Prebuilt workspaces ready to be claimed.
# TYPE claimdrift_prebuilt_workspaces_eligible gauge
claimdrift_prebuilt_workspaces_eligible{` + labels + `} 1
# HELP claimdrift_prebuilt_workspaces_failed_total Prebuilt workspace creations that failed.
# TYPE claimdrift_prebuilt_workspaces_failed_total counter
claimdrift_prebuilt_workspaces_failed_total{` + labels + `} 1
# HELP claimdrift_prebuilt_workspaces_preset_status 1 for the preset's current status, 0 for the others.
# TYPE claimdrift_prebuilt_workspaces_preset_status gauge
claimdrift_prebuilt_workspaces_preset_status{organization_name="acme",preset_name="small",status="hard_limited",template_name="dev"} 0
claimdrift_prebuilt_workspaces_preset_status{organization_name="acme",preset_name="small",status="healthy",template_name="dev"} 1
claimdrift_prebuilt_workspaces_preset_status{organization_name="acme",preset_name="small",status="replacement_prone",template_name="dev"} 0
# HELP claimdrift_prebuilt_workspaces_resource_replacements_total Claim builds whose plan replaced at least one resource.
# TYPE claimdrift_prebuilt_workspaces_resource_replacements_total counter
claimdrift_prebuilt_workspaces_resource_replacements_total{` + labels + `} 1
# HELP claimdrift_prebuilt_workspaces_running Prebuilt workspaces running (ready), any version.
# TYPE claimdrift_prebuilt_workspaces_running gauge
claimdrift_prebuilt_workspaces_running{` + labels + `} 1
`
			if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
				reconcile.MetricClaimed, reconcile.MetricCreated, reconcile.MetricDesired, reconcile.MetricEligible, reconcile.MetricFailed,
				reconcile.MetricPresetStatus, reconcile.MetricReplacements, reconcile.MetricRunning); err != nil {
				t.Error(err)
			}
			if n := testutil.CollectAndCount(c, reconcile.MetricReconcileSecs); n != 1 {
				t.Errorf("%d reconcile duration series, want 1", n)
			}
			if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
				t.Errorf("lint: %v %+v", err, problems)
			}
		})
	}
}
