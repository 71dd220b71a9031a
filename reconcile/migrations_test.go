package reconcile_test

import (
	"database/sql"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/claimdrift/claimdrift/reconcile/postgres"
	"github.com/claimdrift/claimdrift/reconcile/postgres/pgtest"
	"github.com/claimdrift/claimdrift/reconcile/sqlite"
)

// TestMigrationsStayEquivalent: the two stores keep one schema in two SQL
// dialects. Every migration exists in both directories under the same
// name, and after migrating, both databases hold the same tables with the
// same columns and the same indexes.
func TestMigrationsStayEquivalent(t *testing.T) {
	list := func(dir string) []string {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".sql") {
				names = append(names, e.Name())
			}
		}
		return names
	}
	lite, pg := list(filepath.Join("sqlite", "migrations")), list(filepath.Join("postgres", "migrations"))
	if !slices.Equal(lite, pg) {
		t.Fatalf("migration files differ:\nsqlite:   %v\npostgres: %v", lite, pg)
	}

	ls, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer ls.Close()
	ps, err := postgres.Open(t.Context(), pgtest.Schema(t))
	if err != nil {
		t.Fatal(err)
	}
	defer ps.Close()

	liteSchema := schemaOf(t, ls.DB(), `SELECT m.name || '.' || p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p
		WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'`,
		`SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL`)
	pgSchema := schemaOf(t, ps.DB(), `SELECT table_name || '.' || column_name FROM information_schema.columns WHERE table_schema = current_schema()`,
		`SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND indexname NOT LIKE '%_pkey' AND indexname NOT LIKE '%_key'`)
	if !slices.Equal(liteSchema, pgSchema) {
		t.Fatalf("schemas differ:\nsqlite only:   %v\npostgres only: %v", minus(liteSchema, pgSchema), minus(pgSchema, liteSchema))
	}
	if len(liteSchema) < 20 {
		t.Fatalf("schema looks empty: %v", liteSchema)
	}
}

func schemaOf(t *testing.T, db *sql.DB, columns, indexes string) []string {
	t.Helper()
	var out []string
	for prefix, q := range map[string]string{"column ": columns, "index ": indexes} {
		rows, err := db.QueryContext(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var v string
			if err := rows.Scan(&v); err != nil {
				t.Fatal(err)
			}
			out = append(out, prefix+strings.ToLower(v))
		}
		rows.Close()
	}
	sort.Strings(out)
	return out
}

func minus(a, b []string) []string {
	var out []string
	for _, v := range a {
		if !slices.Contains(b, v) {
			out = append(out, v)
		}
	}
	return out
}
