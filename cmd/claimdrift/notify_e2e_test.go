package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/claimdrift/claimdrift/analyzer"
	"github.com/claimdrift/claimdrift/notify"
	"github.com/claimdrift/claimdrift/notify/smtptest"
	"github.com/claimdrift/claimdrift/reconcile"
	"github.com/claimdrift/claimdrift/reconcile/postgres/pgtest"
)

// recorder is a loopback webhook receiver that keeps every request and
// answers with the status its handler picks.
type recorder struct {
	mu     sync.Mutex
	bodies []string
	status func(n int) int
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.bodies = append(rc.bodies, r.Header.Get(notify.HeaderSignature)+" "+r.URL.Path+" "+string(b))
	n := len(rc.bodies)
	rc.mu.Unlock()
	w.WriteHeader(rc.status(n))
}

func (rc *recorder) all() string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return strings.Join(rc.bodies, "\n")
}

// TestNotifyEndToEndNoSecrets drives recipients, a real replacing plan
// with sensitive values, delivery over loopback HTTP and a real SMTP
// server with AUTH, dead letters and retry, and greps every payload, mail,
// log line and command output for the planted secrets; on both stores.
func TestNotifyEndToEndNoSecrets(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testNotifyEndToEnd(t, filepath.Join(t.TempDir(), "claimdrift.db")) })
	t.Run("postgres", func(t *testing.T) { testNotifyEndToEnd(t, pgtest.Schema(t)) })
}

func testNotifyEndToEnd(t *testing.T, db string) {
	dir := t.TempDir()
	webhookSecret := "whsec-PLANTED-" + uuid.NewString()
	smtpPassword := "smtp-PLANTED-" + uuid.NewString()
	queryToken := "qtok-PLANTED-" + uuid.NewString()
	planted := []string{webhookSecret, smtpPassword, queryToken, "s3cr3t-alice", "s3cr3t-prebuilds"}
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	secretFile, passwordFile := write("secret", webhookSecret), write("smtp-password", smtpPassword)

	generic := &recorder{status: func(int) int { return 200 }}
	slack := &recorder{status: func(int) int { return 503 }} // down: retried
	gone := &recorder{status: func(n int) int {              // 410 once: dead, then back
		if n == 1 {
			return 410
		}
		return 204
	}}
	var servers []*httptest.Server
	for _, rc := range []*recorder{generic, slack, gone} {
		srv := httptest.NewServer(rc)
		defer srv.Close()
		servers = append(servers, srv)
	}
	smtpSrv := smtptest.Start(t, smtptest.Options{Username: "claimdrift", Password: smtpPassword})

	// A template with a preset, in the store the commands use.
	s := openTestStore(t, db)
	imp, err := s.ImportTemplate(context.Background(), reconcile.TemplateImport{Name: "docker-dev", Organization: "acme", Version: "v1", Now: time.Now(),
		Presets: []reconcile.PresetSpec{{Name: "small", DesiredInstances: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()

	var outputs []string
	cli := func(wantCode int, args ...string) result {
		t.Helper()
		r := runCLI(t, "", nil, append([]string{"--db", db}, args...)...)
		outputs = append(outputs, r.stdout, r.stderr)
		if r.code != wantCode {
			t.Fatalf("%v: exit %d, want %d\n%s%s", args, r.code, wantCode, r.stdout, r.stderr)
		}
		return r
	}
	cli(0, "admins", "add", "--template", "docker-dev", "--webhook", servers[0].URL+"/generic", "--secret-file", secretFile)
	cli(0, "admins", "add", "--template", "docker-dev", "--webhook", servers[1].URL+"/slack?token="+queryToken, "--payload", "slack")
	cli(0, "admins", "add", "--template", "docker-dev", "--email", "ops@example.com")
	gonehook := cli(0, "admins", "add", "--template", "docker-dev", "--webhook", servers[2].URL+"/gone", "--secret-file", secretFile)
	cli(0, "admins", "add", "--org", "acme", "--email", "org@example.com") // shadowed by the template's own
	list := cli(0, "admins", "list")
	if !strings.Contains(list.stdout, "(secret set)") || !strings.Contains(list.stdout, "token=redacted") {
		t.Errorf("admins list:\n%s", list.stdout)
	}
	cli(0, "admins", "list", "--format", "json")
	cli(1, "admins", "add", "--template", "docker-dev") // no destination

	// Track a real plan whose replaced attributes hold sensitive values,
	// resolving recipients as the long-running commands do.
	f, err := os.Open(planPath("sensitive.json"))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := analyzer.Analyze(f, analyzer.Options{})
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	var trackLog bytes.Buffer
	s = openTestStore(t, db)
	pool := reconcile.NewPool(s, nil, reconcile.Options{Recipients: notifyRecipients(s, slog.New(slog.NewTextHandler(&trackLog, nil)))})
	tr, err := pool.Track(context.Background(), reconcile.TrackRequest{WorkspaceID: uuid.New(), BuildID: uuid.New(), PresetID: imp.Presets[0].ID, Claimant: "alice", Replacements: rep.Replacements})
	s.Close()
	if err != nil {
		t.Fatal(err)
	}
	if tr.Queued != 4 {
		t.Fatalf("queued %d messages, want one per template recipient (4)", tr.Queued)
	}
	outputs = append(outputs, trackLog.String())

	dispatch := []string{"notify", "dispatch", "--once", "--retry-base", "1h", "--link-template", "https://coder.example.com/@{claimant}/{workspace}/builds/{build_id}", "--smtp-addr", smtpSrv.Addr, "--smtp-from", "claimdrift@example.com",
		"--smtp-user", "claimdrift", "--smtp-password-file", passwordFile}
	if r := cli(0, dispatch...); !strings.Contains(r.stdout, "delivered 2, retrying 1, dead 1") {
		t.Errorf("dispatch: %s", r.stdout)
	}
	out := cli(0, "outbox", "list").stdout
	t.Logf("outbox list:\n%s", out)
	for _, want := range []string{"dead", "HTTP 410", "pending", "HTTP 503", "token=redacted", "delivered", "email ops@example.com"} {
		if !strings.Contains(out, want) {
			t.Errorf("outbox list lacks %q:\n%s", want, out)
		}
	}
	cli(0, "outbox", "list", "--format", "json")
	deadList := cli(0, "outbox", "list", "--status", "dead", "--format", "json").stdout
	deadID := between(deadList, `"id": "`, `"`)
	if deadID == "" {
		t.Fatalf("no dead letter listed:\n%s", deadList)
	}
	cli(0, "outbox", "retry", deadID[:8])
	if r := cli(0, dispatch...); !strings.Contains(r.stdout, "delivered 1,") {
		t.Errorf("dispatch after retry: %s", r.stdout)
	}
	if strings.Count(gone.all(), "/gone") != 2 {
		t.Errorf("the retried dead letter was not sent again")
	}
	cli(1, "outbox", "retry", "ffffffff")
	cli(0, "admins", "remove", between(gonehook.stdout, "", "\t")[:8])

	mails := smtpSrv.Mails(t)
	if len(mails) != 1 || !mails[0].Authenticated || mails[0].To[0] != "ops@example.com" {
		t.Fatalf("mails = %+v, want one authenticated mail to the template's address", mails)
	}
	everything := strings.Join(outputs, "\n") + generic.all() + slack.all() + gone.all() + mails[0].Data
	for _, secret := range planted {
		if strings.Contains(everything, secret) {
			t.Errorf("%q appears in a payload, mail, log line or command output", secret)
		}
	}
	// The payloads did carry the masked values and the fix.
	if !strings.Contains(generic.all(), "(sensitive value)") || !strings.Contains(generic.all(), "ignore_changes") {
		t.Errorf("generic payload lacks the masked change or the fix:\n%.400s", generic.all())
	}
	if !strings.Contains(generic.all(), `"link":"https://coder.example.com/@alice/`) || !strings.Contains(mails[0].Data, "https://coder.example.com/@alice/") {
		t.Error("the link template was not applied to the payload and the mail")
	}
	if !strings.Contains(generic.all(), notify.SignaturePrefix) {
		t.Error("generic deliveries are not signed")
	}
}

// between returns the text after the first start and before the next end.
func between(s, start, end string) string {
	_, rest, ok := strings.Cut(s, start)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, end)
	return v
}
