// Package pgtest gives each test a fresh schema on the throwaway PostgreSQL
// server named by CLAIMDRIFT_TEST_POSTGRES_DSN, or (NewServer) a private
// cluster of its own that it may stop and start.
package pgtest

import (
	"context"
	"database/sql"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// DSNEnv names the environment variable holding the DSN of the
// throwaway server tests use (scripts/pg.sh writes it).
const DSNEnv = "CLAIMDRIFT_TEST_POSTGRES_DSN"

// Schema creates a fresh schema on the test server for t and returns a
// DSN whose search_path points at it; the schema is dropped after the
// test. Without the server it skips t, or fails it when CI is set.
func Schema(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(DSNEnv)
	if dsn == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not set: CI must run the PostgreSQL tests (scripts/pg.sh start)", DSNEnv)
		}
		t.Skipf("%s is not set: start a throwaway server with scripts/pg.sh start", DSNEnv)
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatalf("parse %s: %v", DSNEnv, err)
	}
	admin := stdlib.OpenDB(*cfg)
	defer admin.Close()
	schema := "t_" + strings.ReplaceAll(uuid.NewString(), "-", "")
	ctx := context.Background()
	if _, err := admin.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
		t.Fatalf("create test schema: %v", err)
	}
	t.Cleanup(func() {
		db := stdlib.OpenDB(*cfg)
		defer db.Close()
		dropSchema(db, schema)
	})
	return withSearchPath(dsn, schema)
}

func dropSchema(db *sql.DB, schema string) {
	_, _ = db.ExecContext(context.Background(), `DROP SCHEMA IF EXISTS `+schema+` CASCADE`)
}

// withSearchPath adds search_path to a URL or key=value DSN.
func withSearchPath(dsn, schema string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err == nil {
			q := u.Query()
			q.Set("search_path", schema)
			u.RawQuery = q.Encode()
			return u.String()
		}
	}
	return dsn + " search_path=" + schema
}
