package main

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestScenarios runs the load generator briefly on SQLite, the handler in
// its own process, and checks each scenario answers every request it sends
// as it should (a broken scenario errs, or answers 404 to its tracks).
func TestScenarios(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs serveload for a few seconds per scenario")
	}
	bin := filepath.Join(t.TempDir(), "serveload")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	row := regexp.MustCompile(`\| sqlite \| ([^|]+) \|.*\| (\d+)/s \((\d+) ok, (\d+) 409, (\d+) errors\)`)
	for _, tc := range []struct {
		scenario, name string
	}{
		{"claims", "claims"},
		{"tracks", "tracks of a 19 KB claim plan"},
		{"tracks-new", "tracks of a 19 KB plan, new workspace"},
	} {
		t.Run(tc.scenario, func(t *testing.T) {
			cmd := exec.Command(bin, "-store", "sqlite", "-scenario", tc.scenario, "-clients", "4", "-warmup", "100ms", "-duration", "300ms", "-history", "20",
				"-plan", filepath.Join("..", "..", "testdata", "plans", "providers", "docker.json"))
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("serveload: %v\n%s", err, out)
			}
			m := row.FindSubmatch(out)
			if m == nil {
				t.Fatalf("no result row in:\n%s", out)
			}
			if string(m[1]) != tc.name {
				t.Errorf("scenario named %q, want %q", m[1], tc.name)
			}
			if tc.scenario != "claims" && !strings.Contains(string(out), "tracked 20 builds before the run") {
				t.Errorf("no history tracked before the run:\n%s", out)
			}
			ok, _ := strconv.Atoi(string(m[3]))
			if ok == 0 || string(m[4]) != "0" || string(m[5]) != "0" {
				t.Errorf("want every request answered as expected, got %s ok, %s 409, %s errors:\n%s", m[3], m[4], m[5], out)
			}
		})
	}
}
