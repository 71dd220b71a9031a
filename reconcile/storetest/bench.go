package storetest

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strconv"
	"sync"
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
// pools, and a first pass over empty pools: in the store (the time until
// its first chunk of builds is recorded, when they can start, and until
// all are) and through a reconcile.Pool until its first build starts.
// Sizes from BenchSize.
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
	// A first pass over empty pools records its creates in chunks: the
	// first chunk's builds can start as soon as it commits. One database
	// per run: b.Loop would rerun it on full pools.
	b.Run("FirstPass/"+size, func(b *testing.B) {
		var first, all time.Duration
		runs := 0
		for b.Loop() {
			b.StopTimer()
			s := newStore(b)
			if _, err := benchseed.Pools(b.Context(), s.DB(), benchseed.Options{Numbered: numbered, Presets: presets, PerPreset: per, Ready: false, Now: now}); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			start := time.Now()
			var firstAt time.Time
			builds, err := s.Pass(b.Context(), time.Now(), reconcile.DefaultHistoryLimit, func(snap reconcile.Snapshot) (reconcile.PassWrite, error) {
				w := reconcile.PassWrite{Lease: reconcile.Lease{Owner: "bench", Until: time.Now().Add(time.Minute)}}
				for _, ps := range snap.Presets {
					for _, a := range reconcile.CalculateActions(ps, snap.Now, reconcile.DefaultPolicy()).Actions {
						if a.Kind == reconcile.ActionCreate {
							w.Creates = append(w.Creates, reconcile.CreateSpec{PresetID: a.PresetID, TemplateID: ps.Template.ID, VersionID: a.VersionID})
						}
					}
				}
				w.OnRecorded = func([]reconcile.Build) {
					if firstAt.IsZero() {
						firstAt = time.Now()
					}
				}
				return w, nil
			})
			all += time.Since(start)
			first += firstAt.Sub(start)
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
		b.ReportMetric(first.Seconds()/float64(runs), "s-to-first-build")
		b.ReportMetric(all.Seconds()/float64(runs), "s-to-all-recorded")
	})
	benchFirstBuild(b, numbered, newStore)
}

// benchFirstBuild times a reconciler's first pass over empty pools up to
// the start of its first build, through reconcile.Pool (planning
// included). The build stops the pass: the builds recorded but not run
// are cancelled, not timed.
func benchFirstBuild(b *testing.B, numbered bool, newStore func(b *testing.B) BenchStore) {
	presets, per := BenchSize()
	b.Run(fmt.Sprintf("FirstBuild/presets=%d/prebuilds=%d", presets, presets*per), func(b *testing.B) {
		var total time.Duration
		runs := 0
		for b.Loop() {
			b.StopTimer()
			s := newStore(b)
			if _, err := benchseed.Pools(b.Context(), s.DB(), benchseed.Options{Numbered: numbered, Presets: presets, PerPreset: per, Ready: false, Now: time.Now()}); err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(b.Context())
			x := &firstRun{stop: cancel}
			pool := reconcile.NewPool(s, x, reconcile.Options{})
			b.StartTimer()
			start := time.Now()
			_, _ = pool.ReconcileOnce(ctx) // ends canceled by the first build
			b.StopTimer()
			cancel()
			if x.at.IsZero() {
				b.Fatal("no build started")
			}
			total += x.at.Sub(start)
			runs++
			s.Close()
			b.StartTimer()
		}
		b.ReportMetric(total.Seconds()/float64(runs), "s-to-first-build")
	})
}

// firstRun is an executor that notes when the first build starts and
// stops the pass there.
type firstRun struct {
	once sync.Once
	at   time.Time
	stop func()
}

func (f *firstRun) Run(ctx context.Context, job reconcile.Job) (reconcile.JobResult, error) {
	f.once.Do(func() {
		f.at = time.Now()
		f.stop()
	})
	return reconcile.JobResult{}, ctx.Err()
}

func countPrebuilds(snap reconcile.Snapshot) int {
	n := 0
	for _, ps := range snap.Presets {
		n += len(ps.Prebuilds)
	}
	return n
}
