package simulate

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/claimdrift/claimdrift/analyzer"
	"github.com/claimdrift/claimdrift/analyzer/render"
	"github.com/claimdrift/claimdrift/analyzer/tfshow"
	"github.com/claimdrift/claimdrift/analyzer/tfshow/tftest"
)

// repoRoot is the module root, two levels up from this package.
const repoRoot = "../.."

// need fails in CI (CI set) and skips elsewhere: a missing tool must never
// let CI pass without the test.
func need(t *testing.T, msg string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// terraform157 finds terraform 1.5.7: ./.tools/bin first, then PATH.
func terraform157(t *testing.T) string {
	t.Helper()
	candidates := []string{filepath.Join(repoRoot, ".tools", "bin", "terraform")}
	if p, err := exec.LookPath("terraform"); err == nil {
		candidates = append(candidates, p)
	}
	for _, c := range candidates {
		cmd := exec.Command(c, "version")
		cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+os.DevNull)
		if out, err := cmd.Output(); err == nil && strings.HasPrefix(string(out), "Terraform v1.5.7\n") {
			abs, _ := filepath.Abs(c)
			return abs
		}
	}
	need(t, "terraform 1.5.7 not found in .tools/bin or on PATH; run: make tools")
	return ""
}

// coderProvider finds the real coder provider that scripts/tools.sh builds.
func coderProvider(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join(repoRoot, ".tools", "bin", "terraform-provider-coder"))
	if err == nil {
		if _, err = os.Stat(p); err == nil {
			return p
		}
	}
	need(t, "the real coder provider is not in .tools/bin (terraform-provider-coder); run: make tools")
	return ""
}

var (
	providerOnce sync.Once
	providerDir  string
	providerErr  error
)

// fakeProvider builds cmd/terraform-provider-fake once per test binary and
// installs it under the names of the three providers; it returns the
// directory holding coder/, docker/ and kubernetes/.
func fakeProvider(t *testing.T) string {
	t.Helper()
	providerOnce.Do(func() {
		dir, err := os.MkdirTemp("", "claimdrift-simulate-provider-")
		if err != nil {
			providerErr = err
			return
		}
		bin := filepath.Join(dir, "bin", "terraform-provider-fake")
		cmd := exec.Command("go", "build", "-o", bin, "./cmd/terraform-provider-fake")
		cmd.Dir = repoRoot
		if out, err := cmd.CombinedOutput(); err != nil {
			providerErr = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		for _, k := range []string{"coder", "docker", "kubernetes"} {
			if err := os.MkdirAll(filepath.Join(dir, k), 0o755); err != nil {
				providerErr = err
				return
			}
			if err := os.Link(bin, filepath.Join(dir, k, "terraform-provider-"+k)); err != nil {
				providerErr = err
				return
			}
		}
		providerDir = dir
	})
	if providerErr != nil {
		t.Fatal(providerErr)
	}
	return providerDir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if providerDir != "" {
		os.RemoveAll(providerDir)
	}
	os.Exit(code)
}

// cliConfig writes a CLI configuration with dev_overrides: the fake
// provider for docker and kubernetes, and for coder either the fake one or
// the real one (realCoder, a binary path).
func cliConfig(t *testing.T, realCoder string) string {
	t.Helper()
	fake := fakeProvider(t)
	coderDir := filepath.Join(fake, "coder")
	if realCoder != "" {
		coderDir = filepath.Dir(realCoder)
	}
	conf := fmt.Sprintf("provider_installation {\n  dev_overrides {\n    %q = %q\n    %q = %q\n    %q = %q\n  }\n  direct {}\n}\n",
		"coder/coder", coderDir, "kreuzwerker/docker", filepath.Join(fake, "docker"),
		"hashicorp/kubernetes", filepath.Join(fake, "kubernetes"))
	rc := filepath.Join(t.TempDir(), "terraformrc")
	if err := os.WriteFile(rc, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return rc
}

// testEnv is the environment of a test's terraform runs: no CODER_* or TF_*
// of the caller, the CLI configuration, and the fake provider's record file.
func testEnv(rc, record string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "CODER_") || strings.HasPrefix(k, "TF_") || k == "CLAIMDRIFT_FAKE_RECORD" {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "TF_CLI_CONFIG_FILE="+rc, "CLAIMDRIFT_FAKE_RECORD="+record, "CHECKPOINT_DISABLE=1")
}

// treeHash hashes every path, mode, link target and file content under dir.
func treeHash(t *testing.T, dir string) string {
	t.Helper()
	h := sha256.New()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		fmt.Fprintf(h, "%s\x00%v\x00%d\x00", rel, fi.Mode(), fi.ModTime().UnixNano())
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			l, _ := os.Readlink(p)
			fmt.Fprintf(h, "%s\x00", l)
		case fi.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			h.Write(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// tf runs terraform in dir and fails the test on error.
func tf(t *testing.T, bin, dir string, env []string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir, cmd.Env = dir, env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("terraform %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.String())
	}
	return out
}

// initTemplate copies a fixture template to a temporary DIR named like it
// and initializes it as a user would with dev_overrides (terraform get).
func initTemplate(t *testing.T, bin, fixture string, env []string) string {
	t.Helper()
	return initTemplateIn(t, bin, fixture, "", env)
}

// initTemplateIn is initTemplate for a template in the subdirectory sub of
// a fixture tree (whose modules may lie outside the template).
func initTemplateIn(t *testing.T, bin, fixture, sub string, env []string) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), filepath.Base(fixture))
	tftest.CopyTree(t, fixture, root)
	dir := filepath.Join(root, sub)
	tf(t, bin, dir, env, "get", "-no-color")
	return dir
}

// replacementKeys are a report's replacements as "resource | reason |
// paths".
func replacementKeys(rep *analyzer.Report) []string {
	keys := []string{}
	for _, r := range rep.Replacements {
		keys = append(keys, fmt.Sprintf("%s | %s | %s", r.Resource, r.Reason, strings.Join(r.Paths, ", ")))
	}
	sort.Strings(keys)
	return keys
}

// agentTokenEnv returns, when the applied state has a coder_agent, the
// variable through which Coder hands the running agent's token to a claim
// build (RunningAgentTokenEnvironmentVariable in the real provider), so
// that the claim keeps the token as a real claim does.
func agentTokenEnv(t *testing.T, bin, dir string, env []string) []string {
	t.Helper()
	var st struct {
		Values struct {
			RootModule struct {
				Resources []struct {
					Type   string         `json:"type"`
					Values map[string]any `json:"values"`
				} `json:"resources"`
			} `json:"root_module"`
		} `json:"values"`
	}
	if err := json.Unmarshal(tf(t, bin, dir, env, "show", "-json"), &st); err != nil {
		t.Fatal(err)
	}
	for _, r := range st.Values.RootModule.Resources {
		if tok, ok := r.Values["token"].(string); ok && r.Type == "coder_agent" {
			sum := sha256.Sum256([]byte(""))
			return []string{"CODER_RUNNING_WORKSPACE_AGENT_TOKEN_" + hex.EncodeToString(sum[:]) + "=" + tok}
		}
	}
	return nil
}

// oracle applies the template as the simulated prebuild (a copy of dir,
// same identities and parameters), plans as the claimant with a normal
// refresh, and returns the analyzer's report and the re-keyed resources of
// that real claim plan. It also returns what the provider recorded.
func oracle(t *testing.T, bin, dir, sub string, rc string, want Simulation) (*analyzer.Report, []Rekey, []byte) {
	t.Helper()
	root := dir
	for range strings.Split(filepath.Clean(sub), string(filepath.Separator)) {
		if sub != "" {
			root = filepath.Dir(root)
		}
	}
	workRoot := filepath.Join(t.TempDir(), filepath.Base(root))
	tftest.CopyTree(t, root, workRoot)
	work := filepath.Join(workRoot, sub)
	if err := stripBackends(work); err != nil {
		t.Fatal(err)
	}
	record := filepath.Join(t.TempDir(), "oracle-record")
	s := &sim{template: filepath.Base(dir), base: cleanEnv(testEnv(rc, record))}
	b := s.newBuild(want.Preset, want.Parameters)
	if !reflect.DeepEqual(b.prebuild, want.Prebuild) || b.ws.id != want.WorkspaceID {
		t.Fatalf("oracle identity %+v %s differs from simulate's %+v %s", b.prebuild, b.ws.id, want.Prebuild, want.WorkspaceID)
	}
	tf(t, bin, work, s.env(b, b.prebuild), "apply", "-auto-approve", "-input=false", "-no-color")
	claimEnv := append(s.env(b, want.Claimant), agentTokenEnv(t, bin, work, s.env(b, b.prebuild))...)
	tf(t, bin, work, claimEnv, "plan", "-input=false", "-no-color", "-out=claim.tfplan")
	out := tf(t, bin, work, claimEnv, "show", "-json", "claim.tfplan")
	rep, err := analyzer.Analyze(bytes.NewReader(out), analyzer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	doc, err := readPlanDoc(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	rec, _ := os.ReadFile(record)
	return rep, rekeyed(doc), rec
}

// TestSimulateMatchesRealClaim is the oracle test: for every template the
// project can apply locally, a real apply as the prebuild and a real plan
// as the claimant replace and re-key exactly what simulate predicts. Each
// run also checks that simulate left DIR byte-for-byte unchanged and
// applied nothing (the test provider records every create, update and
// delete; the oracle's apply is the control that it does).
//
// Every template runs with Terraform; those marked opentofu run with
// OpenTofu too (simulate and the oracle both with it): the Coder templates
// on the real provider, and the fake providers' replacement and re-key.
func TestSimulateMatchesRealClaim(t *testing.T) {
	if testing.Short() {
		t.Skip("real terraform plans; not in -short")
	}
	// Each tool is looked up in its own subtests, so that a machine
	// without OpenTofu still runs the Terraform ones (under CI both must
	// be there).
	tools := []struct {
		name string
		bin  func(*testing.T) string
	}{{"terraform", terraform157}, {"opentofu", func(t *testing.T) string { return tftest.OpenTofu(t, repoRoot) }}}
	tests := []struct {
		name      string
		fixture   string
		realCoder bool
		opentofu  bool
		// sub is the template's directory inside the fixture, when the
		// fixture holds more than the template.
		sub string
		// preset limits the run to one preset (the others add time, not
		// coverage).
		preset string
		// groups are the claimant's groups.
		groups []string
		// The replacements and re-keys that must be there (the oracle
		// alone would also accept two empty lists).
		wantReplaced []string
		wantRekeyed  []string
	}{
		{name: "docker", fixture: "fixtures/providers/docker", opentofu: true,
			wantReplaced: []string{"coder_agent.main", "docker_container.workspace[0]", "docker_volume.home"}},
		{name: "docker-fixed", fixture: "fixtures/providers/docker-fixed",
			wantReplaced: []string{"coder_agent.main"}},
		{name: "kubernetes", fixture: "fixtures/providers/kubernetes", preset: "Small",
			wantReplaced: []string{"module.workspace.kubernetes_deployment.main", "module.workspace.kubernetes_persistent_volume_claim.home"}},
		{name: "kubernetes-fixed", fixture: "fixtures/providers/kubernetes-fixed", preset: "Small",
			wantReplaced: []string{"coder_agent.main"}},
		{name: "preset-deferred", fixture: "fixtures/providers/preset-deferred",
			wantReplaced: []string{"coder_agent.main"}},
		{name: "keyed", fixture: "fixtures/simulate/fake/keyed", opentofu: true,
			wantReplaced: []string{"docker_container.sidecar", "docker_container.workspace[0]"},
			wantRekeyed:  []string{"docker_volume.home"}},
		{name: "module-chain", fixture: "fixtures/simulate/fake/module-chain",
			wantReplaced: []string{"module.workspace.module.storage.kubernetes_persistent_volume_claim.home"}},
		{name: "clean", fixture: "fixtures/simulate/fake/clean"},
		{name: "module outside the template", fixture: "fixtures/simulate/fake/shared", sub: "template",
			wantReplaced: []string{"module.home.docker_volume.home"}},
		{name: "real coder provider", fixture: "fixtures/simulate/coder/agent-env", realCoder: true, opentofu: true,
			wantReplaced: []string{"coder_agent.main", "docker_container.workspace[0]"}},
		// Parameters without a default, filled only by the presets; two
		// presets differing in the image; ignore_changes = [env] keeps
		// the agent; coder_script, coder_app, terraform_data, moved.
		{name: "mandatory parameters and two presets", fixture: "fixtures/simulate/coder/mandatory", realCoder: true, opentofu: true,
			wantReplaced: []string{"coder_app.code", "coder_script.dotfiles", "terraform_data.owner_marker"}},
		// Modules two deep, the inner one for_each over a map keyed by
		// the owner: re-keyed; a sensitive output; count = start_count.
		{name: "nested modules keyed by the owner", fixture: "fixtures/simulate/coder/nested-foreach", realCoder: true, opentofu: true,
			wantRekeyed: []string{"module.team.module.member.docker_volume.cache"}},
		// The agent's neighbours: external auth, coder_env, coder_metadata,
		// agent metadata, create_before_destroy, a dynamic env block.
		{name: "agent neighbours", fixture: "fixtures/simulate/coder/agent-shapes", realCoder: true, opentofu: true,
			wantReplaced: []string{"coder_agent.main", "coder_app.web", "coder_env.owner", "coder_metadata.deployment[0]", "terraform_data.agent_ref"}},
		// is_prebuild and is_prebuild_claim in the configuration.
		{name: "prebuild-aware template", fixture: "fixtures/simulate/coder/prebuild-aware", realCoder: true, opentofu: true,
			groups: []string{"dev"}, wantReplaced: []string{"docker_container.workspace[0]", "docker_volume.group_cache"}},
	}
	for _, tool := range tools {
		for _, tt := range tests {
			if tool.name == "opentofu" && !tt.opentofu {
				continue
			}
			t.Run(tool.name+"/"+tt.name, func(t *testing.T) {
				bin := tool.bin(t)
				t.Parallel()
				real := ""
				if tt.realCoder {
					real = coderProvider(t)
				}
				rc := cliConfig(t, real)
				record := filepath.Join(t.TempDir(), "simulate-record")
				env := testEnv(rc, record)
				dir := initTemplateIn(t, bin, filepath.Join(repoRoot, tt.fixture), tt.sub, env)
				before := treeHash(t, dir)

				results, err := Run(context.Background(), Options{Dir: dir, Binary: tfshow.Options{Explicit: bin}, Env: env, Preset: tt.preset, OwnerGroups: tt.groups})
				if err != nil {
					t.Fatalf("simulate: %v", err)
				}
				if after := treeHash(t, dir); after != before {
					t.Errorf("simulate changed %s", dir)
				}
				if rec, err := os.ReadFile(record); err == nil || !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("simulate applied something: the provider recorded %q (%v)", rec, err)
				}
				if len(results) == 0 {
					t.Fatal("no simulation")
				}
				var allReplaced, allRekeyed []string
				for _, res := range results {
					if !res.Simulation.Settled {
						t.Errorf("preset %q: synthetic state did not settle in %d rounds", res.Simulation.Preset, res.Simulation.Rounds)
					}
					rep, rk, rec := oracle(t, bin, dir, tt.sub, rc, res.Simulation)
					if !bytes.Contains(rec, []byte("create ")) {
						t.Errorf("the oracle's apply recorded no create (%q): the record proves nothing", rec)
					}
					if g, w := replacementKeys(res.Report), replacementKeys(rep); !reflect.DeepEqual(g, w) {
						t.Errorf("preset %q: simulate replaces\n  %s\nthe real claim replaces\n  %s", res.Simulation.Preset,
							strings.Join(g, "\n  "), strings.Join(w, "\n  "))
					}
					if !reflect.DeepEqual(res.Simulation.Rekeyed, rk) {
						t.Errorf("preset %q: simulate re-keys %+v, the real claim %+v", res.Simulation.Preset, res.Simulation.Rekeyed, rk)
					}
					for _, r := range res.Report.Replacements {
						allReplaced = append(allReplaced, r.Resource)
					}
					for _, r := range res.Simulation.Rekeyed {
						allRekeyed = append(allRekeyed, r.Resource)
					}
				}
				for _, w := range tt.wantReplaced {
					if !contains(allReplaced, w) {
						t.Errorf("%s not replaced; replaced: %v", w, allReplaced)
					}
				}
				for _, w := range tt.wantRekeyed {
					if !contains(allRekeyed, w) {
						t.Errorf("%s not re-keyed; re-keyed: %v", w, allRekeyed)
					}
				}
				if tool.name == "opentofu" && !strings.HasPrefix(results[0].Report.TerraformVersion, "1.10.") {
					t.Errorf("the plans say version %q: not OpenTofu's", results[0].Report.TerraformVersion)
				}
			})
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestSimulateIsRepeatable runs simulate twice on one template: the same
// report, byte for byte, in every format.
func TestSimulateIsRepeatable(t *testing.T) {
	if testing.Short() {
		t.Skip("real terraform plans; not in -short")
	}
	bin := terraform157(t)
	rc := cliConfig(t, "")
	env := testEnv(rc, filepath.Join(t.TempDir(), "record"))
	dir := initTemplate(t, bin, filepath.Join(repoRoot, "fixtures/simulate/fake/keyed"), env)
	var outs [2]map[string]string
	for i := range outs {
		results, err := Run(context.Background(), Options{Dir: dir, Binary: tfshow.Options{Explicit: bin}, Env: env})
		if err != nil {
			t.Fatal(err)
		}
		outs[i] = map[string]string{}
		for _, f := range render.Formats {
			var buf bytes.Buffer
			if err := Write(&buf, f, results, render.Options{}); err != nil {
				t.Fatal(err)
			}
			outs[i][f] = buf.String()
		}
	}
	for _, f := range render.Formats {
		if outs[0][f] != outs[1][f] {
			t.Errorf("%s output differs between two runs:\n%s\n---\n%s", f, outs[0][f], outs[1][f])
		}
	}
	var doc struct {
		Schema     string     `json:"schema"`
		Simulation Simulation `json:"simulation"`
	}
	if err := json.Unmarshal([]byte(outs[0]["json"]), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Schema != analyzer.Schema || doc.Simulation.Preset != "Go" || doc.Simulation.Prebuild.Owner != PrebuildsOwner ||
		doc.Simulation.Prebuild.OwnerID != PrebuildsOwnerID || doc.Simulation.Claimant.Owner != "alice" ||
		!doc.Simulation.Claimant.IsPrebuildClaim || doc.Simulation.Parameters["image"] != "codercom/enterprise-golang:ubuntu" {
		t.Errorf("json simulation object: %+v", doc)
	}
	if strings.Contains(outs[0]["json"], "not-a-real-token") || strings.Contains(outs[0]["text"], "not-a-real-token") {
		t.Error("the sensitive variable's value is printed")
	}
}

// TestSimulateBadInput: every bad input is an error naming what is wrong,
// before or from terraform.
func TestSimulateBadInput(t *testing.T) {
	file := filepath.Join(t.TempDir(), "main.tf")
	if err := os.WriteFile(file, []byte("# a file\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := t.TempDir()
	if err := os.WriteFile(filepath.Join(empty, "README.md"), []byte("no terraform here\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, dir string
		want      error
	}{
		{"not a directory", file, ErrNotDirectory},
		{"missing", filepath.Join(empty, "nope"), ErrNotDirectory},
		{"no tf files", empty, ErrNoConfiguration},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Run(context.Background(), Options{Dir: tt.dir})
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	if testing.Short() {
		return
	}
	bin := terraform157(t)
	rc := cliConfig(t, "")
	env := testEnv(rc, filepath.Join(t.TempDir(), "record"))
	for _, tt := range []struct {
		name, fixture string
		init          bool
		want          error
		wantMsg       []string
	}{
		{"uninitialized", "fixtures/simulate/fake/module-chain", false, ErrNotInitialized,
			[]string{"terraform init", "module-chain"}},
		{"provider error", "fixtures/simulate/bad/provider-error", true, ErrTerraform,
			[]string{"invalid coder url", "ftp://coder.example.com"}},
		{"syntax error", "fixtures/simulate/bad/syntax", true, ErrTerraform,
			[]string{"main.tf:"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), filepath.Base(tt.fixture))
			tftest.CopyTree(t, filepath.Join(repoRoot, tt.fixture), dir)
			_, err := Run(context.Background(), Options{Dir: dir, Binary: tfshow.Options{Explicit: bin}, Env: env})
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			for _, w := range tt.wantMsg {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}

// TestSimulateCanceled stops a run half way: Run returns the context's
// error, removes its working copy and leaves no terraform or provider
// process behind.
func TestSimulateCanceled(t *testing.T) {
	if testing.Short() {
		t.Skip("real terraform plans; not in -short")
	}
	bin := terraform157(t)
	rc := cliConfig(t, "")
	env := testEnv(rc, filepath.Join(t.TempDir(), "record"))
	dir := initTemplate(t, bin, filepath.Join(repoRoot, "fixtures/simulate/fake/keyed"), env)
	tmp := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := Run(ctx, Options{Dir: dir, Binary: tfshow.Options{Explicit: bin}, Env: env, TempDir: tmp})
		done <- err
	}()
	// Cancel once terraform runs (the working copy exists).
	for i := 0; i < 200; i++ {
		if m, _ := filepath.Glob(filepath.Join(tmp, "claimdrift-simulate-*", "work", "*.tf")); len(m) > 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return within 30s of the cancellation")
	}
	if m, _ := filepath.Glob(filepath.Join(tmp, "*")); len(m) > 0 {
		t.Errorf("working copy left behind: %v", m)
	}
	// No process runs the provider or terraform from this test's copies.
	deadline := time.Now().Add(10 * time.Second)
	for {
		left := processesUnder(fakeProvider(t))
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("provider processes left running: %v", left)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// processesUnder lists the pids whose executable lies under dir (Linux
// /proc; none elsewhere).
func processesUnder(dir string) []string {
	var out []string
	procs, _ := filepath.Glob("/proc/[0-9]*/exe")
	for _, p := range procs {
		if exe, err := os.Readlink(p); err == nil && strings.HasPrefix(exe, dir) {
			out = append(out, strings.Split(p, "/")[2]+" "+exe)
		}
	}
	return out
}

// TestSimulateInitializedTemplate simulates a template initialized the
// usual way: `terraform init` with providers installed from a mirror
// (here a local filesystem mirror of the test provider), a lock file, and
// a configured backend. simulate must use the installed providers, never
// the backend (its state file must not appear), and leave DIR unchanged.
func TestSimulateInitializedTemplate(t *testing.T) {
	if testing.Short() {
		t.Skip("real terraform plans; not in -short")
	}
	bin := terraform157(t)
	fake := fakeProvider(t)
	mirror := t.TempDir()
	for _, p := range []string{"coder/coder", "kreuzwerker/docker"} {
		typ := p[strings.Index(p, "/")+1:]
		d := filepath.Join(mirror, "registry.terraform.io", p, "0.0.1", "linux_amd64")
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Link(filepath.Join(fake, "bin", "terraform-provider-fake"), filepath.Join(d, "terraform-provider-"+typ+"_v0.0.1")); err != nil {
			t.Fatal(err)
		}
	}
	rc := filepath.Join(t.TempDir(), "terraformrc")
	conf := fmt.Sprintf("provider_installation {\n  filesystem_mirror {\n    path = %q\n  }\n}\n", mirror)
	if err := os.WriteFile(rc, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	record := filepath.Join(t.TempDir(), "record")
	env := testEnv(rc, record)
	dir := filepath.Join(t.TempDir(), "keyed")
	tftest.CopyTree(t, filepath.Join(repoRoot, "fixtures/simulate/fake/keyed"), dir)
	backend := "terraform {\n  backend \"local\" {\n    path = \"real.tfstate\"\n  }\n}\n"
	if err := os.WriteFile(filepath.Join(dir, "backend.tf"), []byte(backend), 0o644); err != nil {
		t.Fatal(err)
	}
	tf(t, bin, dir, env, "init", "-input=false", "-no-color")
	for _, p := range []string{".terraform.lock.hcl", ".terraform/providers", ".terraform/terraform.tfstate"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Fatalf("terraform init made no %s: %v", p, err)
		}
	}
	before := treeHash(t, dir)
	results, err := Run(context.Background(), Options{Dir: dir, Binary: tfshow.Options{Explicit: bin}, Env: env})
	if err != nil {
		t.Fatalf("simulate: %v", err)
	}
	if treeHash(t, dir) != before {
		t.Error("simulate changed DIR")
	}
	if _, err := os.Stat(filepath.Join(dir, "real.tfstate")); err == nil {
		t.Error("simulate wrote the backend's state")
	}
	if rec, err := os.ReadFile(record); err == nil {
		t.Errorf("simulate applied something: %q", rec)
	}
	got := replacementKeys(results[0].Report)
	want := []string{
		"docker_container.sidecar | replace_by_triggers | ",
		"docker_container.workspace[0] | replace_because_cannot_update | env, name",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("replacements %v, want %v", got, want)
	}
}
