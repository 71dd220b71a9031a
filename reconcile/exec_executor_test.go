package reconcile_test

import (
	"errors"
	"os"
	"os/exec"
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
	x := reconcile.NewExecExecutor(reconcile.ExecOptions{ClaimCmd: "sh " + repoFile(t, "fixtures/exec/env.sh"), Env: []string{"PATH=" + os.Getenv("PATH")}, PlanDir: planDir})
	res, err := x.Run(t.Context(), job)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		"CLAIMDRIFT_ACTION=claim",
		"CLAIMDRIFT_BUILD_ID=00000000-0000-0000-0000-000000000001",
		"CLAIMDRIFT_CLAIMANT=alice",
		"CLAIMDRIFT_ORGANIZATION=acme",
		"CLAIMDRIFT_OWNER=alice",
		`CLAIMDRIFT_PARAMETERS={"cpu":"2","quote":"a\"b"}`,
		"CLAIMDRIFT_PLAN_OUT=" + planDir + "/claimdrift-plan-00000000-0000-0000-0000-000000000001",
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
