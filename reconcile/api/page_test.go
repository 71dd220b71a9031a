package api_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"

	"github.com/claimdrift/claimdrift/analyzer"
	"github.com/claimdrift/claimdrift/reconcile/api"
)

// chromium finds Debian's chromium (scripts/tools.sh installs it): a
// failure in CI, a skip elsewhere.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium not found (scripts/tools.sh installs it)")
	}
	t.Skip("chromium not found: run scripts/tools.sh (Debian package chromium)")
	return ""
}

// TestStatusPageInChromium renders the page of a seeded database in a
// real headless Chromium: log in through the form, every pool listed,
// one bar per path in the template's chart, no console errors.
// CLAIMDRIFT_SCREENSHOT=docs/status-page.png writes a screenshot.
func TestStatusPageInChromium(t *testing.T) {
	bin := chromium(t)
	w := newWorld(t, stores[0].open, api.Options{})
	w.fill()
	plan := planFile(t, "providers/docker.json")
	for i := range 3 {
		a := w.do("POST", fmt.Sprintf("/api/v1/workspaces/%s/builds/%s/plan?preset=docker-dev/small&user=user%d", uuid.New(), uuid.New(), i), w.tokens["track"], strings.NewReader(plan))
		if a.status != 200 {
			t.Fatal(a.status, string(a.body))
		}
	}
	a := w.do("POST", "/api/v1/coder/notifications?token="+w.tokens["track"], "", strings.NewReader(coderMessage(uuid.NewString(), "ws-1", 3,
		map[string]string{"kubernetes_deployment.main": "metadata.0.name, spec.0.template.0.metadata.0.labels"})))
	if a.status != 200 {
		t.Fatal(a.status, string(a.body))
	}
	// The bars the docker-dev chart must have: one per type.path the plan
	// replaced.
	rep, err := analyzer.Analyze(strings.NewReader(plan), analyzer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	wantBars := map[string]bool{}
	for _, r := range rep.Replacements {
		for _, p := range r.Paths {
			wantBars[r.Type+"."+p] = true
		}
	}

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 1000),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	defer cancelTimeout()

	// Collect everything the page writes to the console (calls, uncaught
	// exceptions, browser log entries such as CSP violations).
	consoleCtx, stopConsole := context.WithCancel(ctx)
	messages := chromedp.Console(consoleCtx)
	var problems []string
	consoleDone := make(chan struct{})
	go func() {
		defer close(consoleDone)
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleWarning || m.IsException() {
				problems = append(problems, m.String()+" ("+m.URL+")")
			}
		}
	}()

	err = chromedp.Do(ctx,
		chromedp.Navigate(w.http.URL+"/"),
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), w.tokens["read"]),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.ID("pools")),
	)
	if err != nil {
		t.Fatal(err)
	}
	pools, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#pools tr.pool")).map(r => r.dataset.preset)`))
	if err != nil {
		t.Fatal(err)
	}
	bars, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('figure.chart[data-template="docker-dev"] g.bar-row')).map(g => g.querySelector("text.label").textContent)`))
	if err != nil {
		t.Fatal(err)
	}
	cookie, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.cookie`))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(pools)
	if want := []string{"gpu", "large", "small"}; strings.Join(pools, ",") != strings.Join(want, ",") {
		t.Errorf("pools on the page: %v, want %v", pools, want)
	}
	if len(bars) != len(wantBars) {
		t.Errorf("docker-dev chart has %d bars %v, want one per path: %v", len(bars), bars, wantBars)
	}
	for _, b := range bars {
		if !wantBars[b] {
			t.Errorf("bar %q is not a replaced path", b)
		}
	}
	rects, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('figure.chart[data-template="docker-dev"] rect.bar').length`))
	if err != nil {
		t.Fatal(err)
	}
	if rects != len(wantBars) {
		t.Errorf("%d bars drawn, want %d", rects, len(wantBars))
	}
	if cookie != "" {
		t.Errorf("the session cookie is readable by scripts: %q", cookie)
	}
	if path := os.Getenv("CLAIMDRIFT_SCREENSHOT"); path != "" {
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	stopConsole()
	<-consoleDone
	if len(problems) > 0 {
		t.Errorf("console problems: %v", problems)
	}
}
