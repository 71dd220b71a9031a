package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/claimdrift/claimdrift/reconcile/sqlite"
	"github.com/claimdrift/claimdrift/reconcile/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) func() storetest.Store {
		path := filepath.Join(t.TempDir(), "claimdrift.db")
		return func() storetest.Store {
			s, err := sqlite.Open(t.Context(), path)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
	})
}

func TestWAL(t *testing.T) {
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "x", "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var mode string
	if err := s.DB().QueryRowContext(t.Context(), `PRAGMA journal_mode`).Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != "wal" {
		t.Fatalf("journal_mode = %s, want wal", mode)
	}
}

// BenchmarkPool: the snapshot, a pass over full pools and a first pass at
// 10,000 presets / 100,000 prebuilds (storetest.BenchSize).
func BenchmarkPool(b *testing.B) {
	storetest.Bench(b, false, func(b *testing.B) storetest.BenchStore {
		s, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "bench.db"))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		return s
	})
}
