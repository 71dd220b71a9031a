package reconcile_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/claimdrift/claimdrift/reconcile"
	"github.com/google/uuid"
)

func TestExecExecutorEnv(t *testing.T) {
	job := reconcile.Job{
		Kind: reconcile.JobClaim, BuildID: uuid.MustParse("00000000-0000-0000-0000-000000000001"), WorkspaceID: uuid.MustParse("00000000-0000-0000-0000-000000000002"),
		WorkspaceName: "alice-dev", PresetID: uuid.MustParse("00000000-0000-0000-0000-000000000003"), Preset: "small",
		TemplateID: uuid.MustParse("00000000-0000-0000-0000-000000000004"), Template: "dev", Organization: "acme",
		VersionID: uuid.MustParse("00000000-0000-0000-0000-000000000005"), Version: "v1",
		Parameters: map[string]string{"cpu": "2", "quote": `a"b`}, Owner: "alice", Claimant: "alice",
	}
	planDir := t.TempDir()
	x := reconcile.NewExecExecutor(reconcile.ExecOptions{ClaimCmd: "sh " + repoFile(t, "fixtures/exec/env.sh"), PlanDir: planDir,
		Env: []string{"PATH=" + os.Getenv("PATH"), "CLAIMDRIFT_DB=postgres://claimdrift:hunter2@db/claimdrift", "CLAIMDRIFT_SECRET_KEY_FILE=/k"}})
	res, err := x.Run(t.Context(), job)
	if err != nil {
		t.Fatal(err)
	}
	// The plan goes to a fresh private directory of its own.
	planOut := regexp.MustCompile(`CLAIMDRIFT_PLAN_OUT=(.*)\n`).FindStringSubmatch(res.Log)
	if planOut == nil || filepath.Dir(filepath.Dir(planOut[1])) != planDir || !strings.HasPrefix(filepath.Base(filepath.Dir(planOut[1])), "claimdrift-claim-") {
		t.Fatalf("CLAIMDRIFT_PLAN_OUT not in a directory of its own under %s:\n%s", planDir, res.Log)
	}
	res.Log = strings.Replace(res.Log, planOut[1], planDir+"/claimdrift-claim-X/plan", 1)
	want := strings.Join([]string{
		"CLAIMDRIFT_ACTION=claim",
		"CLAIMDRIFT_BUILD_ID=00000000-0000-0000-0000-000000000001",
		"CLAIMDRIFT_CLAIMANT=alice",
		"CLAIMDRIFT_ORGANIZATION=acme",
		"CLAIMDRIFT_OWNER=alice",
		`CLAIMDRIFT_PARAMETERS={"cpu":"2","quote":"a\"b"}`,
		"CLAIMDRIFT_PLAN_OUT=" + planDir + "/claimdrift-claim-X/plan",
		"CLAIMDRIFT_PRESET=small",
		"CLAIMDRIFT_PRESET_ID=00000000-0000-0000-0000-000000000003",
		"CLAIMDRIFT_TEMPLATE=dev",
		"CLAIMDRIFT_TEMPLATE_ID=00000000-0000-0000-0000-000000000004",
		"CLAIMDRIFT_TEMPLATE_VERSION=v1",
		"CLAIMDRIFT_TEMPLATE_VERSION_ID=00000000-0000-0000-0000-000000000005",
		"CLAIMDRIFT_TRANSITION=start",
		"CLAIMDRIFT_WORKSPACE_ID=00000000-0000-0000-0000-000000000002",
		"CLAIMDRIFT_WORKSPACE_NAME=alice-dev",
	}, "\n") + "\n"
	if res.Log != want {
		t.Errorf("environment:\n%s\nwant:\n%s", res.Log, want)
	}
	if res.PlanPath != "" {
		t.Errorf("PlanPath = %q for a command that wrote no plan", res.PlanPath)
	}
	if entries, _ := os.ReadDir(planDir); len(entries) != 0 {
		t.Errorf("plan directory left behind for a command that wrote no plan: %v", entries)
	}
}

// TestExecExecutorStripsDatabaseURLs: build commands never see the
// database URL (with its password) or other credentials claimdrift uses.
func TestExecExecutorStripsDatabaseURLs(t *testing.T) {
	x := reconcile.NewExecExecutor(reconcile.ExecOptions{CreateCmd: "env", Env: []string{"PATH=" + os.Getenv("PATH"), "KEEP=me",
		"CLAIMDRIFT_DB=postgres://claimdrift:hunter2@db/claimdrift", "DATABASE_URL=postgres://u:hunter2@db/x", "PGPASSWORD=hunter2", "PGPASSFILE=/hunter2"}})
	res, err := x.Run(t.Context(), reconcile.Job{Kind: reconcile.JobCreate, BuildID: uuid.New()})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(res.Log, "hunter2") || !strings.Contains(res.Log, "KEEP=me\n") || !strings.Contains(res.Log, "CLAIMDRIFT_ACTION=create\n") {
		t.Fatalf("build environment:\n%s", res.Log)
	}
}

func TestExecExecutorBoundedLogAndExitStatus(t *testing.T) {
	x := reconcile.NewExecExecutor(reconcile.ExecOptions{CreateCmd: "sh " + repoFile(t, "fixtures/exec/noisy.sh"), MaxLog: 1000})
	res, err := x.Run(t.Context(), reconcile.Job{Kind: reconcile.JobCreate, BuildID: uuid.New()})
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != 3 {
		t.Fatalf("error = %v, want exit status 3", err)
	}
	if len(res.Log) > 1100 {
		t.Errorf("log is %d bytes, want about 1000", len(res.Log))
	}
	if !strings.HasPrefix(res.Log, "line 0\n") || !strings.HasSuffix(res.Log, "the end\n") || !strings.Contains(res.Log, "bytes omitted") {
		t.Errorf("log keeps head and tail? %q", res.Log)
	}
}

func TestExecExecutorPlanOut(t *testing.T) {
	state := t.TempDir()
	x := reconcile.NewExecExecutor(reconcile.ExecOptions{ClaimCmd: "sh " + repoFile(t, "fixtures/exec/claim.sh"),
		Env: append(os.Environ(), "EXEC_STATE_DIR="+state, "EXEC_PLAN="+claimPlan(t)), PlanDir: t.TempDir()})
	res, err := x.Run(t.Context(), reconcile.Job{Kind: reconcile.JobClaim, BuildID: uuid.New(), WorkspaceName: "w", Claimant: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	if res.PlanPath == "" {
		t.Fatal("plan written to CLAIMDRIFT_PLAN_OUT not reported")
	}
	got, _ := os.ReadFile(res.PlanPath)
	want, _ := os.ReadFile(claimPlan(t))
	if string(got) != string(want) {
		t.Error("plan file differs")
	}
	fi, err := os.Stat(filepath.Dir(res.PlanPath))
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("plan directory: %v %v, want mode 0700", fi.Mode(), err)
	}
	if res.Done == nil {
		t.Fatal("no Done to remove the plan once recorded")
	}
	res.Done()
	if _, err := os.Stat(filepath.Dir(res.PlanPath)); !os.IsNotExist(err) {
		t.Fatalf("plan directory after Done: %v", err)
	}
}

func TestExecExecutorMissingCommand(t *testing.T) {
	x := reconcile.NewExecExecutor(reconcile.ExecOptions{})
	if _, err := x.Run(t.Context(), reconcile.Job{Kind: reconcile.JobCreate}); err == nil {
		t.Fatal("create without a command succeeded")
	}
	res, err := x.Run(t.Context(), reconcile.Job{Kind: reconcile.JobClaim})
	if err != nil || !strings.Contains(res.Log, "no claim command") {
		t.Fatalf("claim without a command: %v %q", err, res.Log)
	}
}
