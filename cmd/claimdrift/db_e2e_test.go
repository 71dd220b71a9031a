package main

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/claimdrift/claimdrift/reconcile/postgres/pgtest"
)

// TestDBURLRefused: what looks like a URL of another database (or a
// misspelt PostgreSQL URL) is refused with exit 1 instead of silently
// creating a SQLite file of that name.
func TestDBURLRefused(t *testing.T) {
	for _, db := range []string{
		"mysql://root@localhost/claimdrift",
		"postgres:/h/db",
		"postgres:h/db",
		"file:claimdrift.db?mode=ro",
		"sqlite:claimdrift.db",
		"http://example.com/db",
	} {
		t.Run(db, func(t *testing.T) {
			dir := t.TempDir()
			t.Chdir(dir) // a relative SQLite file would land here
			r := runCLI(t, "", map[string]string{"CLAIMDRIFT_DB": db}, "preset", "list")
			if r.code != 1 || !strings.Contains(r.stderr, "unsupported database URL scheme") {
				t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != 0 {
				t.Errorf("files created: %v", entries)
			}
		})
	}
}

// TestDBPostgresForms: postgres:// and postgresql:// in any case, and
// key=value DSNs, select PostgreSQL (they used to open a SQLite file of
// that name); a path with no scheme is a SQLite file.
func TestDBPostgresForms(t *testing.T) {
	dsn := pgtest.Schema(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	rest := strings.TrimPrefix(dsn, u.Scheme+"://")
	kv := fmt.Sprintf("host=%s port=%s user=%s dbname=%s", u.Hostname(), u.Port(), u.User.Username(), strings.TrimPrefix(u.Path, "/"))
	if pw, ok := u.User.Password(); ok {
		kv += " password=" + pw
	}
	for k, v := range u.Query() {
		kv += " " + k + "=" + v[0]
	}
	for _, db := range []string{"PostgreS://" + rest, "POSTGRESQL://" + rest, kv} {
		dir := t.TempDir()
		t.Chdir(dir)
		r := runCLI(t, "", map[string]string{"CLAIMDRIFT_DB": db}, "preset", "list", "--format", "json")
		if r.code != 0 || strings.TrimSpace(r.stdout) != "[]" {
			t.Fatalf("--db %s: exit %d, stdout %q, stderr %q", strings.Fields(db)[0], r.code, r.stdout, r.stderr)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("--db %s created files: %v", strings.Fields(db)[0], entries)
		}
	}
	// A plain relative path is a SQLite file, created private.
	dir := t.TempDir()
	if r := runCLI(t, "", map[string]string{"CLAIMDRIFT_DB": filepath.Join(dir, "sub", "c.db")}, "preset", "list"); r.code != 0 {
		t.Fatalf("sqlite path: exit %d, stderr %q", r.code, r.stderr)
	}
	fi, err := os.Stat(filepath.Join(dir, "sub", "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("sqlite file mode %v, want 0600", fi.Mode().Perm())
	}
}
