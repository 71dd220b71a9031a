// Package postgres is the PostgreSQL store of the prebuild pool, through
// pgx: migrations embedded and applied on open (under an advisory lock),
// claims with FOR UPDATE SKIP LOCKED, and one reconcile pass at a time per
// database with pg_try_advisory_xact_lock.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"

	"github.com/claimdrift/claimdrift/reconcile/internal/sqlstore"
	"github.com/jackc/pgx/v5"
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

// Open connects to dsn (a postgres:// URL or key=value string) and applies
// the migrations.
func Open(ctx context.Context, dsn string) (*Store, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(20)
	// Keep them open: database/sql's default of 2 idle connections makes
	// a busy server open a new PostgreSQL connection for most requests.
	db.SetMaxIdleConns(20)
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

var dialect = sqlstore.Dialect{
	Name:                "postgres",
	Numbered:            true,
	ForUpdateSkipLocked: " FOR UPDATE SKIP LOCKED",
	ReadIsolation:       sql.LevelRepeatableRead,
	LockPass: func(ctx context.Context, tx *sql.Tx) (bool, error) {
		var ok bool
		err := tx.QueryRowContext(ctx, `SELECT pg_try_advisory_xact_lock($1, hashtext(current_schema()))`, passLockClass).Scan(&ok)
		return ok, err
	},
	LockMigrations: func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))`, migrationLockClass)
		return err
	},
}
