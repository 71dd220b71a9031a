// Package sqlite is the SQLite store of the prebuild pool
// (modernc.org/sqlite, pure Go): one file in WAL mode, migrations embedded
// and applied on open. Every transaction is BEGIN IMMEDIATE, so passes and
// claims from several processes on one file serialize on SQLite's write
// lock (waiting up to the busy timeout).
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/claimdrift/claimdrift/reconcile/internal/sqlstore"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is a reconcile.Store and notify.Outbox on a SQLite file.
type Store struct {
	*sqlstore.Store
}

// Open opens (creating when missing) the database file at path and applies
// the migrations.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" {
		return nil, fmt.Errorf("open sqlite: empty path")
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("open sqlite: %w", err)
		}
	}
	if err := createPrivate(path); err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	// 64 MiB of page cache per connection (the default is 2 MiB): a pass
	// that records thousands of builds in one transaction otherwise spills
	// its dirty index pages to the WAL many times over.
	q.Add("_pragma", "cache_size(-65536)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate")
	dsn := "file:" + strings.ReplaceAll(path, "?", "%3F") + "?" + q.Encode()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	sub, _ := fs.Sub(migrations, "migrations")
	s, err := sqlstore.New(ctx, db, sqlstore.Dialect{Name: "sqlite", SerializeWrites: true}, sub)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	return &Store{s}, nil
}

// createPrivate creates the database file readable by its owner only
// (0600) when it does not exist yet: it holds webhook destinations and
// (encrypted) secrets. SQLite creates the -wal and -shm files with the
// main file's mode, so they are 0600 too. An existing file keeps its mode.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	switch {
	case errors.Is(err, fs.ErrExist):
		return nil
	case err != nil:
		return err
	}
	// The umask can only remove bits, but make the mode exact anyway.
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
