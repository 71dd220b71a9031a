package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
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
	"github.com/claimdrift/claimdrift/reconcile"
	"github.com/claimdrift/claimdrift/reconcile/postgres/pgtest"
)

// TestSecretsEncryptedAtRest: with --secret-key-file (or
// CLAIMDRIFT_SECRET_KEY_FILE) webhook secrets are stored AES-GCM
// encrypted, plain-text rows from before are encrypted on the first run
// with the key, deliveries are still signed with the real secret, a
// dispatcher without the key refuses to sign (and retries) rather than
// sign with ciphertext, and Slack-style path tokens never show.
func TestSecretsEncryptedAtRest(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testSecretsAtRest(t, filepath.Join(t.TempDir(), "claimdrift.db")) })
	t.Run("postgres", func(t *testing.T) { testSecretsAtRest(t, pgtest.Schema(t)) })
}

func testSecretsAtRest(t *testing.T, db string) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	oldSecret, newSecret := "whsec-OLD-"+uuid.NewString(), "whsec-NEW-"+uuid.NewString()
	oldFile, newFile := write("old", oldSecret), write("new", newSecret)
	keyFile := write("key", strings.Repeat("0f", 32))
	slackToken := "SLACKtoken" + strings.ReplaceAll(uuid.NewString(), "-", "")[:14]

	var mu sync.Mutex
	var got []string // signature verdicts
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mac := hmac.New(sha256.New, []byte(newSecret))
		mac.Write([]byte(r.Header.Get(notify.HeaderTimestamp) + "."))
		mac.Write(body)
		ok := hmac.Equal([]byte(notify.SignaturePrefix+hex.EncodeToString(mac.Sum(nil))), []byte(r.Header.Get(notify.HeaderSignature)))
		mu.Lock()
		got = append(got, map[bool]string{true: "valid", false: "invalid"}[ok]+" "+r.URL.Path)
		mu.Unlock()
	}))
	defer srv.Close()

	var outputs []string
	cli := func(env map[string]string, args ...string) result {
		t.Helper()
		r := runCLI(t, "", env, append([]string{"--db", db}, args...)...)
		outputs = append(outputs, r.stdout, r.stderr)
		if r.code != 0 {
			t.Fatalf("%v: exit %d\n%s%s", args, r.code, r.stdout, r.stderr)
		}
		return r
	}
	withKey := map[string]string{"CLAIMDRIFT_SECRET_KEY_FILE": keyFile}
	rawSecrets := func() string {
		t.Helper()
		s := openTestStore(t, db)
		defer s.Close()
		rows, err := s.(interface{ DB() *sql.DB }).DB().QueryContext(context.Background(), `SELECT secret FROM notify_recipients WHERE secret <> '' ORDER BY secret`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var all []string
		for rows.Next() {
			var v string
			if err := rows.Scan(&v); err != nil {
				t.Fatal(err)
			}
			all = append(all, v)
		}
		return strings.Join(all, "\n")
	}

	s := openTestStore(t, db)
	imp, err := s.ImportTemplate(context.Background(), reconcile.TemplateImport{Name: "dev", Organization: "acme", Now: time.Now(),
		Presets: []reconcile.PresetSpec{{Name: "small", DesiredInstances: 1}}})
	s.Close()
	if err != nil {
		t.Fatal(err)
	}

	// Without a key: stored in plain text, with a warning.
	r := cli(nil, "admins", "add", "--template", "dev", "--webhook", srv.URL+"/old", "--secret-file", oldFile)
	if !strings.Contains(r.stderr, "UNENCRYPTED") {
		t.Errorf("no warning without a key: %q", r.stderr)
	}
	if raw := rawSecrets(); raw != oldSecret {
		t.Fatalf("stored without a key: %q", raw)
	}
	// The first command with the key encrypts it.
	if r := cli(withKey, "admins", "list"); !strings.Contains(r.stderr, "encrypted 1 webhook secret") {
		t.Errorf("plain-text row not reported encrypted: %q", r.stderr)
	}
	// Re-adding the same destination rotates its secret, encrypted; a
	// Slack-style URL's token never shows.
	if r := cli(withKey, "admins", "add", "--template", "dev", "--webhook", srv.URL+"/old", "--secret-file", newFile); strings.Contains(r.stderr, "UNENCRYPTED") {
		t.Errorf("warning with a key: %q", r.stderr)
	}
	cli(withKey, "admins", "add", "--template", "dev", "--webhook", srv.URL+"/services/T0ACME/B0HOOK/"+slackToken, "--secret-file", newFile, "--payload", "slack")
	raw := rawSecrets()
	if strings.Count(raw, notify.SealedPrefix) != 2 || strings.Contains(raw, "whsec-") {
		t.Fatalf("stored with a key:\n%s", raw)
	}
	list := cli(withKey, "admins", "list").stdout
	if !strings.Contains(list, "/services/T0ACME/B0HOOK/redacted") {
		t.Errorf("admins list does not show the redacted Slack URL:\n%s", list)
	}

	// Queue one notification per recipient.
	f, err := os.Open(planPath("sensitive.json"))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := analyzer.Analyze(f, analyzer.Options{})
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	s = openTestStore(t, db)
	pool := reconcile.NewPool(s, nil, reconcile.Options{Recipients: notifyRecipients(s, nil)})
	tr, err := pool.Track(context.Background(), reconcile.TrackRequest{WorkspaceID: uuid.New(), BuildID: uuid.New(), PresetID: imp.Presets[0].ID, Claimant: "alice", Replacements: rep.Replacements})
	s.Close()
	if err != nil || tr.Queued != 2 {
		t.Fatalf("track: queued %d, %v", tr.Queued, err)
	}

	// A dispatcher without the key cannot sign: nothing is sent, both wait.
	r = cli(nil, "notify", "dispatch", "--once", "--retry-base", "10ms", "--retry-max", "10ms")
	if !strings.Contains(r.stdout, "delivered 0") {
		t.Errorf("dispatch without the key: %s", r.stdout)
	}
	if out := cli(nil, "outbox", "list").stdout; !strings.Contains(out, "secret-key-file") || strings.Contains(out, slackToken) {
		t.Errorf("outbox list after a keyless dispatch:\n%s", out)
	}
	// With the key: both delivered (once their short retry is due),
	// signed with the real secret.
	delivered := 0
	for try := 0; try < 50 && delivered < 2; try++ {
		time.Sleep(100 * time.Millisecond)
		r := cli(withKey, "notify", "dispatch", "--once")
		var n int
		if _, err := fmt.Sscanf(between(r.stdout, "delivered ", ","), "%d", &n); err == nil {
			delivered += n
		}
	}
	if delivered != 2 {
		t.Errorf("dispatch with the key delivered %d, want 2\n%s", delivered, cli(nil, "outbox", "list", "--format", "json").stdout)
	}
	mu.Lock()
	verdicts := strings.Join(got, ", ")
	mu.Unlock()
	if strings.Count(verdicts, "valid /") != 2 || strings.Contains(verdicts, "invalid") {
		t.Errorf("deliveries: %s", verdicts)
	}
	everything := strings.Join(outputs, "\n")
	for _, leak := range []string{oldSecret, newSecret, slackToken} {
		if strings.Contains(everything, leak) {
			t.Errorf("%q appears in command output", leak)
		}
	}
}
