package main

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	encpem "encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/claimdrift/claimdrift/reconcile"
	"github.com/claimdrift/claimdrift/reconcile/postgres/pgtest"
)

// serveWorld is a database seeded through the CLI, with a token file.
type serveWorld struct {
	poolWorld
	tokens map[string]string // scope -> token file
}

func newServeWorld(t *testing.T, backend string) *serveWorld {
	w := &serveWorld{poolWorld: poolWorld{t: t, state: t.TempDir()}, tokens: map[string]string{}}
	if backend == "sqlite" {
		w.db = filepath.Join(t.TempDir(), "serve.db")
	} else {
		w.db = pgtest.Schema(t)
	}
	w.ok("template", "import", "--name", "dev", planPath("claim.json"))
	w.ok("preset", "add", "--template", "dev", "--name", "small", "--instances", "2")
	for _, scope := range []string{"track", "claim", "read", "admin"} {
		r := w.run("token", "create", "--name", scope+"-hook", "--scope", scope)
		if r.code != 0 {
			t.Fatalf("token create: %d %s", r.code, r.stderr)
		}
		token := strings.TrimSpace(r.stdout)
		if !strings.HasPrefix(token, "cdt_") || strings.Contains(r.stderr, token) {
			t.Fatalf("token create printed %q / %q", r.stdout, r.stderr)
		}
		f := filepath.Join(t.TempDir(), scope+".token")
		if err := os.WriteFile(f, []byte(token+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		w.tokens[scope] = f
	}
	return w
}

func (w *serveWorld) token(scope string) string {
	b, err := os.ReadFile(w.tokens[scope])
	if err != nil {
		w.t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// serveProcess is a running `claimdrift serve` of the real binary.
type serveProcess struct {
	cmd  *exec.Cmd
	url  string
	logs *serveLogs
	done chan error
}

type serveLogs struct {
	ch  chan string
	buf bytes.Buffer
}

func startServe(t *testing.T, bin, db string, extra ...string) *serveProcess {
	t.Helper()
	args := append([]string{"serve", "--listen", "127.0.0.1:0", "--notify", "none"}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "CLAIMDRIFT_DB="+db)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &serveProcess{cmd: cmd, logs: &serveLogs{ch: make(chan string, 1000)}, done: make(chan error, 1)}
	urlRE := regexp.MustCompile(`url=(http://127\.0\.0\.1:\d+)`)
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			if m := urlRE.FindStringSubmatch(line); m != nil {
				found <- m[1]
			}
			select {
			case p.logs.ch <- line:
			default:
			}
		}
		p.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
		}
	})
	select {
	case p.url = <-found:
	case err := <-p.done:
		t.Fatalf("serve exited at start: %v\n%s", err, p.logText())
	case <-time.After(30 * time.Second):
		t.Fatalf("serve did not start\n%s", p.logText())
	}
	return p
}

func (p *serveProcess) logText() string {
	for {
		select {
		case l := <-p.logs.ch:
			p.logs.buf.WriteString(l + "\n")
		default:
			return p.logs.buf.String()
		}
	}
}

func getJSON(t *testing.T, url, token string, v any) int {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if v != nil && resp.StatusCode == 200 {
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode
}

// TestServeProcess runs the real binary: reconcile loop and API in one
// process; the hooks' client mode of track and claim; SIGTERM with a
// request in flight drains it and exits 0.
func TestServeProcess(t *testing.T) {
	bin := buildBinary(t)
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			w := newServeWorld(t, backend)
			t.Setenv("EXEC_STATE_DIR", w.state)
			p := startServe(t, bin, w.db, "--interval", "200ms", "--create-cmd", w.script("create.sh"), "--delete-cmd", w.script("delete.sh"))

			// The reconcile loop fills the pool.
			deadline := time.Now().Add(30 * time.Second)
			for {
				var states []reconcile.PresetState
				if code := getJSON(t, p.url+"/api/v1/presets", w.token("read"), &states); code != 200 {
					t.Fatalf("presets: %d", code)
				}
				if len(states) == 1 && states[0].Eligible == 2 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("pool not filled: %+v\n%s", states, p.logText())
				}
				time.Sleep(100 * time.Millisecond)
			}

			// Client mode: claim and track through the API, no database.
			remote := func(args ...string) result {
				return runCLI(t, "", map[string]string{}, append(args, "--server", p.url)...)
			}
			r := remote("claim", "--template", "dev", "--preset", "small", "--user", "alice", "--token-file", w.tokens["claim"])
			if r.code != 0 {
				t.Fatalf("remote claim: %d %s", r.code, r.stderr)
			}
			ws, err := uuid.Parse(strings.TrimSpace(r.stdout))
			if err != nil {
				t.Fatalf("claim printed %q", r.stdout)
			}
			build := uuid.New()
			for i, want := range []string{"tracked: 5 replacements recorded", "already tracked: 5 replacements recorded"} {
				r = remote("track", "--workspace", ws.String(), "--build", build.String(), "--token-file", w.tokens["track"], planPath("claim.json"))
				if r.code != 0 || !strings.Contains(r.stdout, want) {
					t.Fatalf("remote track %d: %d %q %q", i, r.code, r.stdout, r.stderr)
				}
			}
			r = remote("track", "--workspace", ws.String(), "--build", uuid.NewString(), "--fail-on-replace", "--token-file", w.tokens["track"], planPath("claim.json"))
			if r.code != 2 {
				t.Fatalf("remote track --fail-on-replace: %d %s", r.code, r.stderr)
			}
			// The wrong scope and a missing token file fail with exit 1.
			if r := remote("claim", "--template", "dev", "--preset", "small", "--user", "bob", "--token-file", w.tokens["track"]); r.code != 1 || !strings.Contains(r.stderr, "403") {
				t.Fatalf("claim with a track token: %d %s", r.code, r.stderr)
			}
			if r := remote("claim", "--template", "dev", "--preset", "small", "--user", "bob"); r.code != 1 || !strings.Contains(r.stderr, "--token-file") {
				t.Fatalf("claim without a token file: %d %s", r.code, r.stderr)
			}
			// The history has the claim, with what it replaced.
			var hist struct {
				History []reconcile.HistoryEntry `json:"history"`
			}
			getJSON(t, p.url+"/api/v1/replacements", w.token("read"), &hist)
			if len(hist.History) != 2 || hist.History[1].BuildID != build || hist.History[1].Claimant != "alice" || len(hist.History[1].Replacements) != 5 {
				t.Fatalf("history: %+v", hist.History)
			}

			// Revoked from the CLI: refused from now on.
			w.ok("token", "revoke", "read-hook")
			if code := getJSON(t, p.url+"/api/v1/presets", w.token("read"), nil); code != 401 {
				t.Fatalf("revoked token: %d", code)
			}
			if list := w.ok("token", "list"); strings.Contains(list, "cdt_") || !strings.Contains(list, "read-hook") {
				t.Fatalf("token list:\n%s", list)
			}

			// SIGTERM with a plan upload in flight: it completes, then exit 0.
			pr, pw := io.Pipe()
			req, _ := http.NewRequest("POST", fmt.Sprintf("%s/api/v1/workspaces/%s/builds/%s/plan", p.url, ws, uuid.New()), pr)
			req.Header.Set("Authorization", "Bearer "+w.token("track"))
			answered := make(chan int, 1)
			// A connection of its own (no idle keep-alive connection that
			// Shutdown may close under it).
			fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
			go func() {
				resp, err := fresh.Do(req)
				if err != nil {
					answered <- -1
					return
				}
				resp.Body.Close()
				answered <- resp.StatusCode
			}()
			plan, _ := os.ReadFile(planPath("claim.json"))
			if _, err := pw.Write(plan[:len(plan)/2]); err != nil {
				t.Fatal(err)
			}
			// Let the server start reading the request before SIGTERM.
			time.Sleep(300 * time.Millisecond)
			if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			time.Sleep(300 * time.Millisecond)
			if _, err := pw.Write(plan[len(plan)/2:]); err != nil {
				t.Fatal(err)
			}
			pw.Close()
			if code := <-answered; code != 200 {
				t.Fatalf("request in flight at SIGTERM: %d\n%s", code, p.logText())
			}
			select {
			case err := <-p.done:
				if err != nil {
					t.Fatalf("serve exit: %v\n%s", err, p.logText())
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("serve did not stop\n%s", p.logText())
			}
			if logs := p.logText(); !strings.Contains(logs, "stopped") || strings.Contains(logs, "cdt_") {
				t.Fatalf("logs:\n%s", logs)
			}
		})
	}
}

// TestServeTLS serves HTTPS with --tls-cert and --tls-key.
func TestServeTLS(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeSelfSigned(t, certFile, keyFile)
	db := filepath.Join(dir, "tls.db")
	args := []string{"serve", "--listen", "127.0.0.1:0", "--notify", "none", "--tls-cert", certFile, "--tls-key", keyFile}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "CLAIMDRIFT_DB="+db)
	logs := &lockedBuffer{}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	re := regexp.MustCompile(`url=(https://127\.0\.0\.1:\d+)`)
	var url string
	for deadline := time.Now().Add(30 * time.Second); url == "" && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if m := re.FindStringSubmatch(logs.String()); m != nil {
			url = m[1]
		}
	}
	if url == "" {
		t.Fatalf("no https listener:\n%s", logs.String())
	}
	pool := x509.NewCertPool()
	pem, _ := os.ReadFile(certFile)
	pool.AppendCertsFromPEM(pem)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := client.Get(url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.TLS == nil {
		t.Fatalf("https /healthz: %d", resp.StatusCode)
	}
	// Plain HTTP to the TLS listener never reaches the API (Go answers 400).
	if r2, err := http.Get(strings.Replace(url, "https:", "http:", 1) + "/healthz"); err == nil {
		r2.Body.Close()
		if r2.StatusCode == 200 {
			t.Fatal("plain HTTP served on the TLS listener")
		}
	}
}

// lockedBuffer is a bytes.Buffer safe for a process writing to it while
// the test reads.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func writeSelfSigned(t *testing.T, certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pemEncode("CERTIFICATE", der), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pemEncode("EC PRIVATE KEY", kb), 0o600); err != nil {
		t.Fatal(err)
	}
}

func pemEncode(typ string, b []byte) []byte {
	return encpem.EncodeToMemory(&encpem.Block{Type: typ, Bytes: b})
}

// TestServeClientRetriesAcrossRestart: a hook's track waits, within
// --server-retry, for a serve that was killed (SIGKILL) and comes back on
// the same address, and the plan it sends then is recorded whole.
func TestServeClientRetriesAcrossRestart(t *testing.T) {
	bin := buildBinary(t)
	w := newServeWorld(t, "sqlite")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	track := func(retry string) result {
		return runCLI(t, "", map[string]string{}, "track", "--server", "http://"+addr, "--token-file", w.tokens["track"], "--server-retry", retry,
			"--workspace", uuid.NewString(), "--build", uuid.NewString(), "--template", "dev", "--preset", "small", "--user", "alice", planPath("claim.json"))
	}

	p := startServe(t, bin, w.db, "--listen", addr)
	if r := track("30s"); r.code != 0 || !strings.Contains(r.stdout, "tracked: 5 replacements recorded") {
		t.Fatalf("track: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-p.done

	// Without retries, a dead server fails the track at once.
	if r := track("0"); r.code != 1 || !strings.Contains(r.stderr, "connection refused") || strings.Contains(r.stderr, "trying again") {
		t.Fatalf("track with --server-retry 0: %d %q", r.code, r.stderr)
	}
	done := make(chan result, 1)
	go func() { done <- track("30s") }()
	time.Sleep(time.Second)
	startServe(t, bin, w.db, "--listen", addr)
	r := <-done
	if r.code != 0 || !strings.Contains(r.stdout, "tracked: 5 replacements recorded") || !strings.Contains(r.stderr, "connection refused; trying again in") {
		t.Fatalf("track across the restart: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if strings.Contains(r.stderr, w.token("track")) {
		t.Fatalf("the token reached the output: %q", r.stderr)
	}
	// Both tracks are in the history, each with all it replaced.
	var hist struct {
		History []reconcile.HistoryEntry `json:"history"`
	}
	getJSON(t, "http://"+addr+"/api/v1/replacements", w.token("read"), &hist)
	if len(hist.History) != 2 || len(hist.History[0].Replacements) != 5 || len(hist.History[1].Replacements) != 5 {
		t.Fatalf("history: %+v", hist.History)
	}
}
