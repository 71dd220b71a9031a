package storetest

import (
	"database/sql"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/claimdrift/claimdrift/reconcile"
	"github.com/claimdrift/claimdrift/reconcile/storetest/benchseed"
)

// BenchStore is a store the benchmarks seed through its database handle.
type BenchStore interface {
	Store
	DB() *sql.DB
	Close() error
}

// BenchSize is the size of the benchmarks' pools: presets and ready
// prebuilds per preset, 10,000 × 10 (issue 12's reconcile target) unless
// CLAIMDRIFT_BENCH_PRESETS / CLAIMDRIFT_BENCH_PREBUILDS say otherwise.
func BenchSize() (presets, per int) {
	presets, per = 10000, 10
	if v, err := strconv.Atoi(os.Getenv("CLAIMDRIFT_BENCH_PRESETS")); err == nil && v > 0 {
		presets = v
	}
	if v, err := strconv.Atoi(os.Getenv("CLAIMDRIFT_BENCH_PREBUILDS")); err == nil && v >= 0 {
		per = v
	}
	return presets, per
}

// Bench runs the pool benchmarks on stores newStore opens (each call a
// fresh, empty database): a snapshot and a whole reconcile pass over full
// pools, and a first pass over empty pools (the time until its builds are
// recorded and the first one could start). Sizes from BenchSize.
func Bench(b *testing.B, numbered bool, newStore func(b *testing.B) BenchStore) {
	presets, per := BenchSize()
	now := time.Now()
	size := fmt.Sprintf("presets=%d/prebuilds=%d", presets, presets*per)
	b.Run("Snapshot/"+size, func(b *testing.B) {
		s := newStore(b)
		if _, err := benchseed.Pools(b.Context(), s.DB(), benchseed.Options{Numbered: numbered, Presets: presets, PerPreset: per, Ready: true, Now: now}); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			snap, err := s.Snapshot(b.Context(), time.Now(), reconcile.DefaultHistoryLimit)
			if err != nil {
				b.Fatal(err)
			}
			if n := countPrebuilds(snap); n != presets*per {
				b.Fatalf("snapshot holds %d prebuilds, want %d", n, presets*per)
			}
		}
	})
	b.Run("Pass/"+size, func(b *testing.B) {
		s := newStore(b)
		if _, err := benchseed.Pools(b.Context(), s.DB(), benchseed.Options{Numbered: numbered, Presets: presets, PerPreset: per, Ready: true, Now: now}); err != nil {
			b.Fatal(err)
		}
		pool := reconcile.NewPool(s, reconcile.NewExecExecutor(reconcile.ExecOptions{CreateCmd: "true", DeleteCmd: "true"}), reconcile.Options{})
		for b.Loop() {
			rep, err := pool.ReconcileOnce(b.Context())
			if err != nil {
				b.Fatal(err)
			}
			if rep.Locked || len(rep.Builds) > 0 || len(rep.Presets) != presets {
				b.Fatalf("pass over full pools: locked %v, %d builds, %d presets", rep.Locked, len(rep.Builds), len(rep.Presets))
			}
		}
	})
	// A first pass records every create at once; its builds start once
	// Pass returns. One database per run: b.Loop would rerun it on full
	// pools.
	b.Run("FirstPass/"+size, func(b *testing.B) {
		var total time.Duration
		runs := 0
		for b.Loop() {
			b.StopTimer()
			s := newStore(b)
			if _, err := benchseed.Pools(b.Context(), s.DB(), benchseed.Options{Numbered: numbered, Presets: presets, PerPreset: per, Ready: false, Now: now}); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			start := time.Now()
			builds, err := s.Pass(b.Context(), time.Now(), reconcile.DefaultHistoryLimit, func(snap reconcile.Snapshot) (reconcile.PassWrite, error) {
				w := reconcile.PassWrite{Lease: reconcile.Lease{Owner: "bench", Until: time.Now().Add(time.Minute)}}
				for _, ps := range snap.Presets {
					for _, a := range reconcile.CalculateActions(ps, snap.Now, reconcile.DefaultPolicy()).Actions {
						if a.Kind == reconcile.ActionCreate {
							w.Creates = append(w.Creates, reconcile.CreateSpec{PresetID: a.PresetID, TemplateID: ps.Template.ID, VersionID: a.VersionID})
						}
					}
				}
				return w, nil
			})
			total += time.Since(start)
			runs++
			b.StopTimer()
			if err != nil {
				b.Fatal(err)
			}
			if len(builds) != presets*per {
				b.Fatalf("first pass recorded %d builds, want %d", len(builds), presets*per)
			}
			s.Close()
			b.StartTimer()
		}
		b.ReportMetric(total.Seconds()/float64(runs), "s-to-first-build")
	})
}

func countPrebuilds(snap reconcile.Snapshot) int {
	n := 0
	for _, ps := range snap.Presets {
		n += len(ps.Prebuilds)
	}
	return n
}
