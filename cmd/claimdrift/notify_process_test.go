package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/claimdrift/claimdrift/notify"
	"github.com/claimdrift/claimdrift/reconcile/postgres/pgtest"
)

// delivery is one request a loopback receiver took.
type delivery struct {
	dedupKey, messageID string
}

// sigkillReceiver verifies every delivery's signature, records it as soon
// as its body is read, and blocks the request number blockAt until
// released: that message has arrived but its sender cannot have recorded
// the delivery.
type sigkillReceiver struct {
	t       *testing.T
	secret  []byte
	blockAt int
	blocked chan struct{}
	release chan struct{}

	mu         sync.Mutex
	deliveries []delivery
	bad        []string
}

func (rc *sigkillReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	var p struct {
		Schema   string `json:"schema"`
		DedupKey string `json:"dedup_key"`
	}
	rc.mu.Lock()
	switch {
	case notify.VerifySignature(rc.secret, r.Header.Get(notify.HeaderTimestamp), r.Header.Get(notify.HeaderSignature), body, time.Now(), time.Minute) != nil:
		rc.bad = append(rc.bad, "bad signature")
	case json.Unmarshal(body, &p) != nil || p.Schema != notify.Schema:
		rc.bad = append(rc.bad, "bad payload: "+string(body[:min(len(body), 80)]))
	case p.DedupKey != r.Header.Get(notify.HeaderDedupKey):
		rc.bad = append(rc.bad, "dedup key header differs from payload")
	}
	rc.deliveries = append(rc.deliveries, delivery{dedupKey: p.DedupKey, messageID: r.Header.Get(notify.HeaderDelivery)})
	n := len(rc.deliveries)
	rc.mu.Unlock()
	if n == rc.blockAt {
		close(rc.blocked)
		select {
		case <-rc.release:
		case <-r.Context().Done():
		}
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (rc *sigkillReceiver) distinct() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	seen := map[string]bool{}
	for _, d := range rc.deliveries {
		seen[d.dedupKey] = true
	}
	return len(seen)
}

// TestNotifyDispatchSurvivesSIGKILL kills a real dispatcher process with
// SIGKILL while a delivery is in flight, restarts it, and checks that all
// 500 messages arrived, and that the only message received twice is the
// one in flight, with the same dedup key (and message id) both times. It
// runs on a SQLite file and on PostgreSQL.
func TestNotifyDispatchSurvivesSIGKILL(t *testing.T) {
	bin := buildBinary(t)
	t.Run("sqlite", func(t *testing.T) { testDispatchSIGKILL(t, bin, filepath.Join(t.TempDir(), "claimdrift.db")) })
	t.Run("postgres", func(t *testing.T) { testDispatchSIGKILL(t, bin, pgtest.Schema(t)) })
}

func testDispatchSIGKILL(t *testing.T, bin, db string) {
	const total = 500
	dir := t.TempDir()
	secret := "whsec-" + uuid.NewString()
	secretFile := filepath.Join(dir, "secret")
	if err := os.WriteFile(secretFile, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	rc := &sigkillReceiver{t: t, secret: []byte(secret), blockAt: 200, blocked: make(chan struct{}), release: make(chan struct{})}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	defer close(rc.release)

	if r := runCLI(t, "", nil, "--db", db, "admins", "add", "--default", "--webhook", srv.URL+"/hook", "--secret-file", secretFile); r.code != 0 {
		t.Fatalf("admins add: %d %s", r.code, r.stderr)
	}
	keys := queueMessages(t, db, total)

	var logs bytes.Buffer
	start := func(args ...string) *exec.Cmd {
		cmd := exec.Command(bin, append([]string{"--db", db, "notify", "dispatch", "--lease", "3s", "--send-timeout", "1s", "--batch", "25", "--interval", "100ms"}, args...)...)
		cmd.Stdout, cmd.Stderr = &logs, &logs
		cmd.Env = append(os.Environ(), "NO_COLOR=1")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}

	first := start()
	select {
	case <-rc.blocked:
	case <-time.After(60 * time.Second):
		first.Process.Kill()
		t.Fatalf("the dispatcher did not reach delivery %d within a minute:\n%s", rc.blockAt, logs.String())
	}
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := first.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("first dispatcher: %v, want killed", err)
	}

	// The restarted dispatcher delivers the rest at once, and the message
	// in flight at the kill once its lease (3s) has run out.
	second := start()
	deadline := time.Now().Add(60 * time.Second)
	for (rc.distinct() < total || countDelivered(t, db) < total) && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	if err := second.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := second.Wait(); err != nil {
		t.Fatalf("second dispatcher did not stop cleanly on SIGTERM: %v\n%s", err, logs.String())
	}

	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.bad) > 0 {
		t.Fatalf("receiver rejected deliveries: %v", rc.bad[:min(len(rc.bad), 5)])
	}
	byKey := map[string][]delivery{}
	for _, d := range rc.deliveries {
		byKey[d.dedupKey] = append(byKey[d.dedupKey], d)
	}
	for _, k := range keys {
		if len(byKey[k]) == 0 {
			t.Errorf("message %s never arrived", k)
		}
	}
	if len(byKey) != total {
		t.Errorf("received %d distinct dedup keys, want %d", len(byKey), total)
	}
	twice := 0
	for k, ds := range byKey {
		if len(ds) == 1 {
			continue
		}
		twice++
		for _, d := range ds {
			if d.messageID != ds[0].messageID || d.dedupKey != k {
				t.Errorf("repeated delivery of %s carried another message: %+v", k, ds)
			}
		}
	}
	// Exactly the one message that was in flight when the process died
	// is sent again; everything recorded as delivered is not.
	if twice != 1 {
		t.Errorf("%d messages arrived more than once, want exactly the one in flight at the kill", twice)
	}
	if strings.Contains(logs.String(), secret) {
		t.Error("the webhook secret appears in the dispatcher's output")
	}

	if delivered := countDelivered(t, db); delivered != total {
		t.Errorf("outbox shows %d of %d delivered", delivered, total)
	}
}

// countDelivered reads how many outbox messages are delivered, through a
// second handle on the database (the dispatcher process holds another).
func countDelivered(t *testing.T, db string) int {
	t.Helper()
	s := openTestStore(t, db)
	defer s.Close()
	entries, err := s.OutboxList(context.Background(), "delivered")
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

// queueMessages puts n replacement notifications for the default
// recipients of db into its outbox and returns their dedup keys.
func queueMessages(t *testing.T, db string, n int) []string {
	t.Helper()
	s := openTestStore(t, db)
	defer s.Close()
	recips, err := s.ListRecipients(context.Background())
	if err != nil || len(recips) == 0 {
		t.Fatalf("recipients: %v %v", recips, err)
	}
	var msgs []notify.Message
	var keys []string
	for i := range n {
		nt := notify.Notification{Kind: notify.KindResourceReplaced, CreatedAt: time.Now().UTC(), Organization: "acme", Template: "tpl", Preset: "small",
			WorkspaceID: uuid.New(), Workspace: fmt.Sprintf("ws-%03d", i), Claimant: "alice", BuildID: uuid.New(),
			Replacements: []notify.Resource{{Resource: "terraform_data.token", Type: "terraform_data", Name: "token", Reason: "replace_because_cannot_update",
				Paths: []string{"triggers_replace"}, Changes: []notify.Change{{Path: "triggers_replace", Before: "(sensitive value)", After: "(sensitive value)"}}}}}
		for _, r := range recips {
			m := notify.NewMessage(nt, r.Key())
			msgs = append(msgs, m)
			keys = append(keys, m.DedupKey)
		}
	}
	if err := s.Enqueue(context.Background(), msgs); err != nil {
		t.Fatal(err)
	}
	return keys
}

// openTestStore opens the database --db would: a postgres:// DSN or a
// SQLite path.
func openTestStore(t *testing.T, db string) notifyStore {
	t.Helper()
	g := &globalOptions{db: db}
	s, err := openStore(context.Background(), ioStreams{}, g)
	if err != nil {
		t.Fatal(err)
	}
	ns, ok := s.(notifyStore)
	if !ok {
		t.Fatalf("%T is not a notifyStore", s)
	}
	return ns
}

// TestNotifyDispatchSIGTERMRecordsSend stops a real dispatcher with
// SIGTERM while a webhook send is in flight; the receiver answers 2xx
// after the signal: the dispatcher records the delivery and exits 0, and a
// dispatcher started after the lease ran out sends nothing again.
func TestNotifyDispatchSIGTERMRecordsSend(t *testing.T) {
	bin := buildBinary(t)
	db := filepath.Join(t.TempDir(), "claimdrift.db")
	secretFile := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretFile, []byte("k3y\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	rc := &sigkillReceiver{t: t, secret: []byte("k3y"), blockAt: 1, blocked: make(chan struct{}), release: make(chan struct{})}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	if r := runCLI(t, "", nil, "--db", db, "admins", "add", "--default", "--webhook", srv.URL+"/hook", "--secret-file", secretFile); r.code != 0 {
		t.Fatalf("admins add: %d %s", r.code, r.stderr)
	}
	queueMessages(t, db, 1)
	var logs bytes.Buffer
	dispatch := func(args ...string) *exec.Cmd {
		cmd := exec.Command(bin, append([]string{"--db", db, "notify", "dispatch", "--lease", "2s", "--send-timeout", "1s", "--interval", "100ms"}, args...)...)
		cmd.Stdout, cmd.Stderr = &logs, &logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	cmd := dispatch()
	select {
	case <-rc.blocked:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("no delivery within 30s:\n%s", logs.String())
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	close(rc.release) // the receiver answers 200 after the signal
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("dispatcher after SIGTERM: %v\n%s", err, logs.String())
		}
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("dispatcher still running 10s after SIGTERM:\n%s", logs.String())
	}
	if n := countDelivered(t, db); n != 1 {
		t.Fatalf("%d deliveries recorded, want the one the receiver answered\n%s", n, logs.String())
	}
	time.Sleep(2500 * time.Millisecond) // the lease runs out
	again := dispatch("--once")
	if err := again.Wait(); err != nil {
		t.Fatalf("second dispatcher: %v\n%s", err, logs.String())
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.deliveries) != 1 || len(rc.bad) != 0 {
		t.Fatalf("receiver got %d requests (%v), want 1", len(rc.deliveries), rc.bad)
	}
}
