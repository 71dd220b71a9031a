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

// Open connects to dsn (a postgres:// URL or key=value string) and applies
// the migrations.
func Open(ctx context.Context, dsn string) (*Store, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(20)
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
