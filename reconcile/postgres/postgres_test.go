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

// BenchmarkPool: the snapshot, a pass over full pools and a first pass at
// 10,000 presets / 100,000 prebuilds (storetest.BenchSize).
func BenchmarkPool(b *testing.B) {
	storetest.Bench(b, true, func(b *testing.B) storetest.BenchStore {
		s, err := postgres.Open(b.Context(), pgtest.Schema(b))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		return s
	})
}
