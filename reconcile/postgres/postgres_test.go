package postgres_test

import (
	"strings"
	"testing"

	"github.com/claimdrift/claimdrift/reconcile/postgres"
	"github.com/claimdrift/claimdrift/reconcile/postgres/pgtest"
	"github.com/claimdrift/claimdrift/reconcile/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) func() storetest.Store {
		dsn := pgtest.Schema(t)
		return func() storetest.Store {
			s, err := postgres.Open(t.Context(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
	})
}

func TestSchemasAreDistinct(t *testing.T) {
	a, b := pgtest.Schema(t), pgtest.Schema(t)
	if a == b || !strings.Contains(a, "search_path=") {
		t.Fatalf("schemas not distinct: %s %s", a, b)
	}
}
