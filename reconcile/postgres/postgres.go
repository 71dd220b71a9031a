// Package postgres is the PostgreSQL store of the prebuild pool, through
// pgx: migrations embedded and applied on open (under an advisory lock),
// claims with FOR UPDATE SKIP LOCKED, and one reconcile pass at a time per
// database with pg_try_advisory_xact_lock.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/claimdrift/claimdrift/reconcile/internal/sqlstore"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Advisory locks are taken with two keys: a constant naming the purpose and
// a hash of the current schema, so pools kept in different schemas of one
// database (the tests do that) do not block each other.
const (
	passLockClass      int32 = 0x636c6470 // "cldp"
	migrationLockClass int32 = 0x636c646d // "cldm"
)

// Store is a reconcile.Store and notify.Outbox on a PostgreSQL database.
type Store struct {
	*sqlstore.Store
}

// Options bound how long the store waits on the server.
type Options struct {
	// ConnectTimeout bounds establishing a connection (TCP, TLS,
	// authentication); zero keeps the DSN's connect_timeout, or none.
	ConnectTimeout time.Duration
	// StatementTimeout is the server's statement_timeout for every
	// statement (lock waits included); zero keeps the DSN's, or none.
	// Reads from the server also give up StatementTimeout plus
	// ReadGrace after the last byte arrived, so a frozen server (one that
	// stopped answering without closing connections, which enforces no
	// timeout of its own) cannot hang a command.
	StatementTimeout time.Duration
	// MaxConns bounds the connections the store keeps open; zero is
	// DefaultMaxConns. Few connections serve more requests per second
	// than many: each busy connection is a server process competing for
	// the same cores, and requests queue in the client instead.
	MaxConns int
}

// DefaultMaxConns is the connection limit when Options.MaxConns is zero:
// the machine's cores, at least 4.
func DefaultMaxConns() int {
	return max(4, runtime.NumCPU())
}

// ReadGrace is how much longer than the statement timeout a read from the
// server may block.
const ReadGrace = 5 * time.Second

// DefaultOptions are the CLI's defaults.
func DefaultOptions() Options {
	return Options{ConnectTimeout: 10 * time.Second, StatementTimeout: 30 * time.Second}
}

// Open connects to dsn (a postgres:// URL or key=value string) with
// DefaultOptions and applies the migrations.
func Open(ctx context.Context, dsn string) (*Store, error) {
	return OpenWith(ctx, dsn, DefaultOptions())
}

// OpenWith connects to dsn with o and applies the migrations. A
// connect_timeout or statement_timeout the DSN sets itself wins over o.
func OpenWith(ctx context.Context, dsn string, o Options) (*Store, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	if cfg.ConnectTimeout == 0 && o.ConnectTimeout > 0 {
		cfg.ConnectTimeout = o.ConnectTimeout
	}
	stmt := o.StatementTimeout
	if v, ok := cfg.RuntimeParams["statement_timeout"]; ok {
		stmt = 0
		if ms, err := strconv.ParseInt(v, 10, 64); err == nil && ms > 0 {
			stmt = time.Duration(ms) * time.Millisecond
		}
	} else if stmt > 0 {
		cfg.RuntimeParams["statement_timeout"] = strconv.FormatInt(stmt.Milliseconds(), 10)
	}
	if stmt > 0 {
		dial := cfg.DialFunc
		idle := stmt + ReadGrace
		cfg.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dial(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &deadlineConn{Conn: c, idle: idle}, nil
		}
	}
	db := stdlib.OpenDB(*cfg)
	conns := o.MaxConns
	if conns <= 0 {
		conns = DefaultMaxConns()
	}
	db.SetMaxOpenConns(conns)
	// Keep them open: database/sql's default of 2 idle connections makes
	// a busy server open a new PostgreSQL connection for most requests.
	db.SetMaxIdleConns(conns)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	sub, _ := fs.Sub(migrations, "migrations")
	s, err := sqlstore.New(ctx, db, dialect, sub)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	return &Store{s}, nil
}

// deadlineConn gives every read a deadline idle after it starts, unless
// pgx set an earlier one (it does to cancel on context end).
type deadlineConn struct {
	net.Conn
	idle time.Duration
	mu   sync.Mutex
	dl   time.Time // the read deadline pgx asked for; zero = none
}

func (c *deadlineConn) Read(b []byte) (int, error) {
	c.mu.Lock()
	dl := time.Now().Add(c.idle)
	if !c.dl.IsZero() && c.dl.Before(dl) {
		dl = c.dl
	}
	err := c.Conn.SetReadDeadline(dl)
	c.mu.Unlock()
	if err != nil {
		return 0, err
	}
	return c.Conn.Read(b)
}

func (c *deadlineConn) SetDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dl = t
	return c.Conn.SetDeadline(t)
}

func (c *deadlineConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dl = t
	return c.Conn.SetReadDeadline(t)
}

var dialect = sqlstore.Dialect{
	Name:                "postgres",
	Numbered:            true,
	ForUpdateSkipLocked: " FOR UPDATE SKIP LOCKED",
	WritableCTE:         true,
	ReadIsolation:       sql.LevelRepeatableRead,
	LockPass: func(ctx context.Context, tx *sql.Tx) (bool, error) {
		var ok bool
		err := tx.QueryRowContext(ctx, `SELECT pg_try_advisory_xact_lock($1, hashtext(current_schema()))`, passLockClass).Scan(&ok)
		return ok, err
	},
	Retryable: retryable,
	LockMigrations: func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))`, migrationLockClass)
		return err
	},
}

// retryable reports the errors of a transaction that lost a race with an
// identical one: unique_violation (23505), serialization_failure (40001)
// and deadlock_detected (40P01). Run again, the transaction sees the
// winner's rows and answers as if the requests had come one after the
// other ("already tracked", the existing recipient).
func retryable(err error) bool {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return false
	}
	switch pe.Code {
	case "23505", "40001", "40P01":
		return true
	}
	return false
}
