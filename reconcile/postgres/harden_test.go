package postgres_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/claimdrift/claimdrift/analyzer"
	"github.com/claimdrift/claimdrift/notify"
	"github.com/claimdrift/claimdrift/reconcile"
	"github.com/claimdrift/claimdrift/reconcile/postgres"
	"github.com/claimdrift/claimdrift/reconcile/postgres/pgtest"
)

// freezer is a TCP proxy to the test server that can stop forwarding
// without closing anything: to the client, a PostgreSQL that froze
// (SIGSTOP, a dead VM, a network partition) looks exactly like this.
type freezer struct {
	ln     net.Listener
	target string
	frozen atomic.Bool
}

func newFreezer(t *testing.T, target string) *freezer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &freezer{ln: ln, target: target}
	t.Cleanup(func() { ln.Close() })
	go f.serve(t)
	return f
}

func (f *freezer) serve(t *testing.T) {
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", f.target)
		if err != nil {
			c.Close()
			continue
		}
		t.Cleanup(func() { c.Close(); up.Close() })
		go f.pipe(c, up)
		go f.pipe(up, c)
	}
}

func (f *freezer) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		for f.frozen.Load() {
			time.Sleep(10 * time.Millisecond) // hold the bytes, answer nothing
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if err != io.EOF {
				return
			}
			return
		}
	}
}

// via rewrites dsn to connect through addr.
func via(t *testing.T, dsn, addr string) (string, string) {
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	target := u.Host
	u.Host = addr
	return u.String(), target
}

// TestFrozenServerDoesNotHang: a server that stops answering fails the
// next statement after the statement timeout plus the read grace, and a
// server that accepts but never speaks fails the connect after the
// connect timeout; neither hangs a command.
func TestFrozenServerDoesNotHang(t *testing.T) {
	dsn := pgtest.Schema(t)
	u, _ := url.Parse(dsn)
	f := newFreezer(t, u.Host)
	proxied, _ := via(t, dsn, f.ln.Addr().String())
	s, err := postgres.OpenWith(t.Context(), proxied, postgres.Options{ConnectTimeout: 2 * time.Second, StatementTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Presets(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.frozen.Store(true)
	defer f.frozen.Store(false)
	start := time.Now()
	_, err = s.Presets(context.Background()) // no deadline of its own
	if took := time.Since(start); err == nil || took > time.Second+postgres.ReadGrace+5*time.Second {
		t.Fatalf("query on a frozen server: %v after %s", err, took)
	}

	// Accepts, never answers: the connect timeout applies.
	mute, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer mute.Close()
	go func() {
		for {
			c, err := mute.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()
	silent, _ := via(t, dsn, mute.Addr().String())
	start = time.Now()
	if _, err := postgres.OpenWith(context.Background(), silent, postgres.Options{ConnectTimeout: 500 * time.Millisecond}); err == nil || time.Since(start) > 5*time.Second {
		t.Fatalf("connect to a silent server: %v after %s", err, time.Since(start))
	}
}

// TestStatementTimeout: the server cancels a statement that runs past
// --db-statement-timeout; a DSN's own statement_timeout wins.
func TestStatementTimeout(t *testing.T) {
	dsn := pgtest.Schema(t)
	s, err := postgres.OpenWith(t.Context(), dsn, postgres.Options{StatementTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	start := time.Now()
	_, err = s.DB().ExecContext(t.Context(), `SELECT pg_sleep(5)`)
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "57014" || time.Since(start) > 3*time.Second {
		t.Fatalf("pg_sleep(5) with a 200ms statement timeout: %v after %s", err, time.Since(start))
	}
	var v string
	if err := s.DB().QueryRowContext(t.Context(), `SHOW statement_timeout`).Scan(&v); err != nil || v != "200ms" {
		t.Fatalf("statement_timeout = %q, %v", v, err)
	}
}

// TestConcurrentIdenticalRequests: identical requests at once answer like
// the same requests one after the other (already tracked, same template,
// same recipient), never with a raw duplicate-key error.
func TestConcurrentIdenticalRequests(t *testing.T) {
	dsn := pgtest.Schema(t)
	const n = 16
	stores := make([]*postgres.Store, n)
	for i := range stores {
		s, err := postgres.Open(t.Context(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		stores[i] = s
	}
	now := time.Now()
	imp, err := stores[0].ImportTemplate(t.Context(), reconcile.TemplateImport{Name: "dev", Organization: "acme", Version: "v1", Now: now,
		Presets: []reconcile.PresetSpec{{Name: "small", DesiredInstances: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	run := func(name string, fn func(s *postgres.Store) error) {
		t.Helper()
		var wg sync.WaitGroup
		errs := make(chan error, n)
		start := make(chan struct{})
		for _, s := range stores {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				errs <- fn(s)
			}()
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}
	}

	for round := range 3 {
		ws, build := uuid.New(), uuid.New()
		var fresh atomic.Int32
		run("track", func(s *postgres.Store) error {
			res, err := s.TrackReplacements(context.Background(), reconcile.TrackRequest{WorkspaceID: ws, BuildID: build, PresetID: imp.Presets[0].ID, Claimant: "alice", Now: now,
				Replacements: []analyzer.Replacement{{Resource: "terraform_data.a", Type: "terraform_data", Name: "a", Paths: []string{"input"}}}})
			if err == nil && res.New {
				fresh.Add(1)
			}
			if err == nil && res.Replacements != 1 {
				return errors.New("replacements not reported")
			}
			return err
		})
		if fresh.Load() != 1 {
			t.Errorf("round %d: %d tracks report New, want 1", round, fresh.Load())
		}

		tpl := "race-" + uuid.NewString()[:8]
		ids := make(chan uuid.UUID, n)
		run("import", func(s *postgres.Store) error {
			res, err := s.ImportTemplate(context.Background(), reconcile.TemplateImport{Name: tpl, Organization: "acme", Version: "v1", Now: now,
				Presets: []reconcile.PresetSpec{{Name: "small", DesiredInstances: 2}}})
			if err == nil {
				ids <- res.Presets[0].ID
			}
			return err
		})
		close(ids)
		first := <-ids
		for id := range ids {
			if id != first {
				t.Errorf("round %d: concurrent imports made different presets %s and %s", round, first, id)
			}
		}

		addr := "https://hooks.example.com/" + uuid.NewString()
		rids := make(chan uuid.UUID, n)
		run("admins add", func(s *postgres.Store) error {
			r, err := s.AddRecipient(context.Background(), notify.Recipient{Scope: notify.ScopeOrganization, Organization: "acme", Channel: notify.ChannelWebhook, Address: addr, Secret: "k"})
			if err == nil {
				rids <- r.ID
			}
			return err
		})
		close(rids)
		firstR := <-rids
		for id := range rids {
			if id != firstR {
				t.Errorf("round %d: concurrent adds made different recipients", round)
			}
		}
	}
}
