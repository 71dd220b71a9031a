package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/claimdrift/claimdrift/analyzer"
	"github.com/claimdrift/claimdrift/notify"
	"github.com/claimdrift/claimdrift/reconcile"
	"github.com/google/uuid"
)

// statementLog records the text of every statement a database is sent.
type statementLog struct {
	mu   sync.Mutex
	list []string
}

func (l *statementLog) add(q string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.list = append(l.list, q)
}

// since returns the statements sent after the first n.
func (l *statementLog) since(n int) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.list[n:]...)
}

func (l *statementLog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.list)
}

// loggingConnector opens connections of the real SQLite driver that log
// each statement: without the driver's QueryerContext and ExecerContext,
// database/sql prepares every statement it sends.
type loggingConnector struct {
	d   driver.Driver
	dsn string
	log *statementLog
}

func (c loggingConnector) Connect(context.Context) (driver.Conn, error) {
	conn, err := c.d.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	return loggingConn{conn, c.log}, nil
}

func (c loggingConnector) Driver() driver.Driver { return c.d }

type loggingConn struct {
	driver.Conn
	log *statementLog
}

func (c loggingConn) Prepare(q string) (driver.Stmt, error) {
	c.log.add(q)
	return c.Conn.Prepare(q)
}

// openLogged opens a migrated SQLite store whose statements go to the
// returned log.
func openLogged(t *testing.T) (*Store, *sql.DB, *statementLog) {
	t.Helper()
	dsn := "file:" + filepath.Join(t.TempDir(), "t.db") + "?_pragma=foreign_keys(1)&_txlock=immediate"
	plain, err := sql.Open("sqlite", dsn)
	if err != nil {
		t.Fatal(err)
	}
	log := &statementLog{}
	db := sql.OpenDB(loggingConnector{d: plain.Driver(), dsn: dsn, log: log})
	plain.Close()
	t.Cleanup(func() { db.Close() })
	s, err := New(t.Context(), db, Dialect{Name: "sqlite", SerializeWrites: true}, os.DirFS("../../sqlite/migrations"))
	if err != nil {
		t.Fatal(err)
	}
	return s, db, log
}

// TestTrackReadsRecipientsWithItsBuild checks that a claim build's track
// reads the notification recipients in the statement that reads its
// build, rather than in one of their own (a round trip per track), and
// that the recipients read so are what ListRecipients lists and route the
// notification as before.
func TestTrackReadsRecipientsWithItsBuild(t *testing.T) {
	s, db, log := openLogged(t)
	ctx := t.Context()
	now := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	key, err := notify.ParseSecretKey([]byte(strings.Repeat("ab", 32)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.UseSecretKey(ctx, key); err != nil {
		t.Fatal(err)
	}
	docker, err := s.ImportTemplate(ctx, reconcile.TemplateImport{Name: "docker", Organization: "acme", Version: "v1",
		Presets: []reconcile.PresetSpec{{Name: "small", DesiredInstances: 1}}, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	other, err := s.ImportTemplate(ctx, reconcile.TemplateImport{Name: "k8s", Organization: "acme", Version: "v1",
		Presets: []reconcile.PresetSpec{{Name: "small", DesiredInstances: 1}}, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	add := func(r notify.Recipient) notify.Recipient {
		t.Helper()
		r.CreatedAt = now
		out, err := s.AddRecipient(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	mine := add(notify.Recipient{Scope: notify.ScopeTemplate, TemplateID: docker.Template.ID, Channel: notify.ChannelWebhook,
		Address: "https://hooks.example/docker", Secret: "webhook-signing-secret", Payload: notify.PayloadSlack})
	add(notify.Recipient{Scope: notify.ScopeTemplate, TemplateID: other.Template.ID, Channel: notify.ChannelEmail, Address: "k8s@example.com"})
	add(notify.Recipient{Scope: notify.ScopeOrganization, Organization: "acme", Channel: notify.ChannelEmail, Address: "acme@example.com"})
	add(notify.Recipient{Scope: notify.ScopeDefault, Channel: notify.ChannelEmail, Address: "ops@example.com"})

	resolver := notify.NewResolver(s, nil)
	pool := reconcile.NewPool(s, nil, reconcile.Options{Now: func() time.Time { return now },
		Recipients: func(ctx context.Context, bc reconcile.BuildContext) ([]string, error) {
			return resolver.Keys(ctx, notify.RecipientTarget{TemplateID: bc.TemplateID, Template: bc.Template, Organization: bc.Organization})
		}})
	req := reconcile.TrackRequest{WorkspaceID: uuid.New(), BuildID: uuid.New(), PresetID: docker.Presets[0].ID, Claimant: "alice", Now: now,
		Replacements: []analyzer.Replacement{{Resource: "docker_container.workspace[0]", Type: "docker_container", Name: "workspace",
			Reason: "replace_because_cannot_update", Paths: []string{"env"}}}}

	t.Run("one statement reads the build and the recipients", func(t *testing.T) {
		before := log.len()
		res, err := pool.Track(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if !res.New || res.Queued != 1 {
			t.Fatalf("track: new %v, %d queued; want a new track that queues one message", res.New, res.Queued)
		}
		var reads []string
		for _, q := range log.since(before) {
			if strings.Contains(q, "notify_recipients") {
				reads = append(reads, q)
			}
		}
		if len(reads) != 1 || !strings.Contains(reads[0], "FROM builds b") {
			t.Fatalf("statements reading the recipients during the track: %d, want 1, the build's read:\n%s", len(reads), strings.Join(reads, "\n---\n"))
		}
		var to string
		if err := db.QueryRowContext(ctx, `SELECT recipient FROM outbox`).Scan(&to); err != nil {
			t.Fatal(err)
		}
		if to != mine.Key() {
			t.Fatalf("message queued for %s, want the template's own recipient %s", to, mine.Key())
		}
	})

	t.Run("the recipients read with the build are the listed ones", func(t *testing.T) {
		listed, err := s.ListRecipients(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.readTrackTarget(ctx, s.db, req, true, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(listed) != 4 || !reflect.DeepEqual(got.recipients, listed) {
			t.Fatalf("read with the build:\n%+v\nlisted:\n%+v", got.recipients, listed)
		}
		if got.recipients[0].Secret != "webhook-signing-secret" || got.recipients[0].Payload != notify.PayloadSlack {
			t.Fatalf("the template's webhook read with the build: secret opened %v, payload %q", got.recipients[0].Secret == "webhook-signing-secret", got.recipients[0].Payload)
		}
	})

	t.Run("a track that cannot notify does not read them", func(t *testing.T) {
		before := log.len()
		again := req
		again.BuildID, again.Replacements = uuid.New(), nil
		again.WorkspaceID = req.WorkspaceID
		if _, err := pool.Track(ctx, again); err != nil {
			t.Fatal(err)
		}
		for _, q := range log.since(before) {
			if strings.Contains(q, "notify_recipients") {
				t.Fatalf("a track without replacements read the recipients:\n%s", q)
			}
		}
	})
}
