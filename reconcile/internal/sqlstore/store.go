package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/claimdrift/claimdrift/notify"
	"github.com/claimdrift/claimdrift/reconcile"
	"github.com/google/uuid"
)

// Dialect is what differs between databases.
type Dialect struct {
	// Name is "sqlite" or "postgres".
	Name string
	// Numbered placeholders ($1) instead of ?.
	Numbered bool
	// ForUpdateSkipLocked is appended to row-claiming selects ("" when the
	// whole transaction is exclusive, as in SQLite).
	ForUpdateSkipLocked string
	// LockPass takes the reconcile pass lock inside tx; false when another
	// reconciler holds it. Nil when transactions are already exclusive.
	LockPass func(ctx context.Context, tx *sql.Tx) (bool, error)
	// ReadIsolation is the isolation level of read-only snapshots.
	ReadIsolation sql.IsolationLevel
	// LockMigrations serializes migrations inside tx; nil when not needed.
	LockMigrations func(ctx context.Context, tx *sql.Tx) error
	// SerializeWrites queues this process's write transactions on a mutex
	// (SQLite has one writer: waiting in Go beats the busy handler's
	// sleeps, which reach 100 ms each under load).
	SerializeWrites bool
	// WritableCTE sends a batch of writes (execBatch) as one statement of
	// data-modifying WITH queries, one round trip (PostgreSQL); false runs
	// them one by one (SQLite, in process, has no round trips to save).
	WritableCTE bool
	// Retryable reports errors after which a write transaction is run
	// again from the start: a unique-key violation or serialization
	// failure from a concurrent identical request, whose retry then sees
	// the other request's row and answers like the sequential case. Nil
	// when transactions are exclusive (SQLite's BEGIN IMMEDIATE).
	Retryable func(error) bool
}

// txAttempts bounds the retries of a write transaction that lost a race.
const txAttempts = 5

// Store implements reconcile.Store and notify.Outbox on a *sql.DB.
type Store struct {
	db *sql.DB
	d  Dialect
	// wmu serializes write transactions when d.SerializeWrites.
	wmu sync.Mutex
	// secrets encrypts webhook secrets at rest; nil stores them as given.
	secrets *notify.SecretKey
}

var (
	_ reconcile.Store = (*Store)(nil)
	_ notify.Outbox   = (*Store)(nil)
)

// New wraps db, applying the migrations in migrations (files NNN_*.sql,
// applied in order, each once).
func New(ctx context.Context, db *sql.DB, d Dialect, migrations fs.FS) (*Store, error) {
	s := &Store{db: db, d: d}
	if err := s.migrate(ctx, migrations); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	return s, nil
}

// DB returns the underlying database handle.
func (s *Store) DB() *sql.DB { return s.db }

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

func (s *Store) migrate(ctx context.Context, migrations fs.FS) error {
	names, err := fs.Glob(migrations, "*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if s.d.LockMigrations != nil {
		if err := s.d.LockMigrations(ctx, tx); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		return err
	}
	for _, name := range names {
		var n int
		if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM schema_migrations WHERE version = ?`), name).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			continue
		}
		body, err := fs.ReadFile(migrations, name)
		if err != nil {
			return err
		}
		for _, stmt := range splitStatements(string(body)) {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`), name, time.Now().UnixMicro()); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// splitStatements splits a migration on semicolons at line ends; the
// migrations hold no semicolons inside literals.
func splitStatements(body string) []string {
	var out []string
	for _, part := range strings.Split(body, ";\n") {
		var lines []string
		for _, l := range strings.Split(part, "\n") {
			if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "--") {
				lines = append(lines, l)
			}
		}
		if stmt := strings.TrimSuffix(strings.TrimSpace(strings.Join(lines, "\n")), ";"); stmt != "" {
			out = append(out, stmt)
		}
	}
	return out
}

// q rewrites ? placeholders for the dialect.
func (s *Store) q(query string) string {
	if !s.d.Numbered {
		return query
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	return b.String()
}

type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// txKey marks a context carrying one of this store's transactions.
type txKey struct{ s *Store }

// withTx returns ctx carrying tx, for callbacks run inside a transaction
// (a notification's recipient lookup) whose reads must go through it: a
// read on a second connection while holding the first would wait forever
// once every connection of the pool is held that way.
func (s *Store) withTx(ctx context.Context, tx *sql.Tx) context.Context {
	return context.WithValue(ctx, txKey{s}, tx)
}

// reader is the transaction ctx carries (withTx), else the pool.
func (s *Store) reader(ctx context.Context) querier {
	if tx, ok := ctx.Value(txKey{s}).(*sql.Tx); ok {
		return tx
	}
	return s.db
}

func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if s.d.SerializeWrites {
		s.wmu.Lock()
		defer s.wmu.Unlock()
	}
	return s.retrying(ctx, func() error { return s.inTxOnce(ctx, fn) })
}

// retrying runs fn again, up to txAttempts times, while it fails with an
// error the dialect calls Retryable (a lost race with an identical
// request).
func (s *Store) retrying(ctx context.Context, fn func() error) error {
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil || s.d.Retryable == nil || attempt >= txAttempts || ctx.Err() != nil || !s.d.Retryable(err) {
			return err
		}
	}
}

func (s *Store) inTxOnce(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

func us(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromUS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}

func idText(id uuid.UUID) string {
	if id == uuid.Nil {
		return ""
	}
	return id.String()
}

func parseID(s string) uuid.UUID {
	if s == "" {
		return uuid.Nil
	}
	id, err := uuid.Parse(s)
	if err != nil {
		return uuid.Nil
	}
	return id
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// ---- catalog ----

const templateCols = `t.id, t.name, t.organization, t.active_version_id, t.created_at`

func scanTemplate(sc interface{ Scan(...any) error }, t *reconcile.Template) error {
	var id, active string
	var created int64
	if err := sc.Scan(&id, &t.Name, &t.Organization, &active, &created); err != nil {
		return err
	}
	t.ID, t.ActiveVersionID, t.CreatedAt = parseID(id), parseID(active), fromUS(created)
	return nil
}

const presetCols = `p.id, p.template_id, p.name, p.parameters, p.desired_instances, p.ttl_seconds, p.timezone, p.schedules,
	p.status, p.status_reason, p.status_version_id, p.resumed_at, p.created_at`

// presetScanner returns the scan destinations for presetCols and a
// function that fills p from them after Scan. Parameters or schedules that
// are not valid JSON do not fail the read: they mark the preset
// Unreadable, so one broken row stops only its own pool.
func presetScanner(p *reconcile.Preset) ([]any, func() error) {
	var id, tid, params, schedules, status, statusVersion string
	var ttl, resumed, created int64
	dest := []any{&id, &tid, &p.Name, &params, &p.DesiredInstances, &ttl, &p.Timezone, &schedules,
		&status, &p.StatusReason, &statusVersion, &resumed, &created}
	return dest, func() error {
		p.ID, p.TemplateID, p.StatusVersionID = parseID(id), parseID(tid), parseID(statusVersion)
		p.TTL = time.Duration(ttl) * time.Second
		p.Status = reconcile.PresetStatus(status)
		p.ResumedAt, p.CreatedAt = fromUS(resumed), fromUS(created)
		p.Parameters, p.Schedules, p.Unreadable = map[string]string{}, nil, ""
		if err := json.Unmarshal([]byte(params), &p.Parameters); err != nil {
			p.Parameters, p.Unreadable = map[string]string{}, "stored parameters are not valid: "+err.Error()
		}
		if err := json.Unmarshal([]byte(schedules), &p.Schedules); err != nil {
			p.Schedules, p.Unreadable = nil, joinReason(p.Unreadable, "stored schedules are not valid: "+err.Error())
		}
		return nil
	}
}

// joinReason appends b to a, with "; " between when both are set.
func joinReason(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// ImportTemplate implements reconcile.Store.
func (s *Store) ImportTemplate(ctx context.Context, in reconcile.TemplateImport) (reconcile.ImportResult, error) {
	if err := in.Validate(); err != nil {
		return reconcile.ImportResult{}, err
	}
	var res reconcile.ImportResult
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res = reconcile.ImportResult{}
		t, err := s.templateByName(ctx, tx, in.Organization, in.Name, true)
		if errors.Is(err, reconcile.ErrNotFound) {
			t = reconcile.Template{ID: uuid.New(), Name: in.Name, Organization: in.Organization, CreatedAt: in.Now}
			_, err = tx.ExecContext(ctx, s.q(`INSERT INTO templates (id, name, organization, active_version_id, created_at) VALUES (?, ?, ?, '', ?)`),
				t.ID.String(), t.Name, t.Organization, us(t.CreatedAt))
		}
		if err != nil {
			return err
		}
		v := reconcile.TemplateVersion{TemplateID: t.ID, Name: in.Version, CreatedAt: in.Now}
		if v.Name == "" {
			var n int
			if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM template_versions WHERE template_id = ?`), t.ID.String()).Scan(&n); err != nil {
				return err
			}
			v.Name = "v" + strconv.Itoa(n+1)
		}
		var vid string
		var deprecated int
		var created int64
		err = tx.QueryRowContext(ctx, s.q(`SELECT id, deprecated, created_at FROM template_versions WHERE template_id = ? AND name = ?`), t.ID.String(), v.Name).Scan(&vid, &deprecated, &created)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			v.ID = uuid.New()
			if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO template_versions (id, template_id, name, deprecated, created_at) VALUES (?, ?, ?, 0, ?)`),
				v.ID.String(), t.ID.String(), v.Name, us(v.CreatedAt)); err != nil {
				return err
			}
		case err != nil:
			return err
		default:
			v.ID, v.Deprecated, v.CreatedAt = parseID(vid), deprecated != 0, fromUS(created)
		}
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE templates SET active_version_id = ? WHERE id = ?`), v.ID.String(), t.ID.String()); err != nil {
			return err
		}
		t.ActiveVersionID = v.ID
		res.Template, res.Version = t, v
		for _, spec := range in.Presets {
			spec.TemplateID = t.ID
			if spec.Now.IsZero() {
				spec.Now = in.Now
			}
			p, err := s.savePreset(ctx, tx, spec)
			if err != nil {
				return fmt.Errorf("preset %q: %w", spec.Name, err)
			}
			res.Presets = append(res.Presets, p)
		}
		return nil
	})
	return res, err
}

func (s *Store) templateByName(ctx context.Context, q querier, org, name string, exactOrg bool) (reconcile.Template, error) {
	query := `SELECT ` + templateCols + ` FROM templates t WHERE t.name = ?`
	args := []any{name}
	if org != "" || exactOrg {
		query += ` AND t.organization = ?`
		args = append(args, org)
	}
	rows, err := q.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return reconcile.Template{}, err
	}
	defer rows.Close()
	var found []reconcile.Template
	for rows.Next() {
		var t reconcile.Template
		if err := scanTemplate(rows, &t); err != nil {
			return t, err
		}
		found = append(found, t)
	}
	if err := rows.Err(); err != nil {
		return reconcile.Template{}, err
	}
	switch len(found) {
	case 0:
		return reconcile.Template{}, fmt.Errorf("template %q: %w", name, reconcile.ErrNotFound)
	case 1:
		return found[0], nil
	}
	return reconcile.Template{}, fmt.Errorf("template %q exists in %d organizations: %w", name, len(found), reconcile.ErrAmbiguous)
}

// SavePreset implements reconcile.Store.
func (s *Store) SavePreset(ctx context.Context, spec reconcile.PresetSpec) (reconcile.Preset, error) {
	if err := spec.Validate(); err != nil {
		return reconcile.Preset{}, err
	}
	var p reconcile.Preset
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if spec.TemplateID == uuid.Nil {
			t, err := s.templateByName(ctx, tx, spec.Organization, spec.TemplateName, false)
			if err != nil {
				return err
			}
			spec.TemplateID = t.ID
		}
		var err error
		p, err = s.savePreset(ctx, tx, spec)
		return err
	})
	return p, err
}

func (s *Store) savePreset(ctx context.Context, tx *sql.Tx, spec reconcile.PresetSpec) (reconcile.Preset, error) {
	params := spec.Parameters
	if params == nil {
		params = map[string]string{}
	}
	paramsJSON, err := json.Marshal(params)
	if err != nil {
		return reconcile.Preset{}, err
	}
	schedules := spec.Schedules
	if schedules == nil {
		schedules = []reconcile.Schedule{}
	}
	schedJSON, err := json.Marshal(schedules)
	if err != nil {
		return reconcile.Preset{}, err
	}
	var id string
	err = tx.QueryRowContext(ctx, s.q(`SELECT id FROM presets WHERE template_id = ? AND name = ?`), spec.TemplateID.String(), spec.Name).Scan(&id)
	ttl := int64(spec.TTL / time.Second)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		id = uuid.NewString()
		_, err = tx.ExecContext(ctx, s.q(`INSERT INTO presets (id, template_id, name, parameters, desired_instances, ttl_seconds, timezone, schedules, status, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'healthy', ?)`),
			id, spec.TemplateID.String(), spec.Name, string(paramsJSON), spec.DesiredInstances, ttl, spec.Timezone, string(schedJSON), us(spec.Now))
	case err == nil:
		_, err = tx.ExecContext(ctx, s.q(`UPDATE presets SET parameters = ?, desired_instances = ?, ttl_seconds = ?, timezone = ?, schedules = ? WHERE id = ?`),
			string(paramsJSON), spec.DesiredInstances, ttl, spec.Timezone, string(schedJSON), id)
	}
	if err != nil {
		return reconcile.Preset{}, err
	}
	var p reconcile.Preset
	dst, finish := presetScanner(&p)
	if err := tx.QueryRowContext(ctx, s.q(`SELECT `+presetCols+` FROM presets p WHERE p.id = ?`), id).Scan(dst...); err != nil {
		return p, err
	}
	return p, finish()
}
