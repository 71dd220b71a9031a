package api_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"

	"github.com/claimdrift/claimdrift/reconcile"
	"github.com/claimdrift/claimdrift/reconcile/api"
)

// prefetcher is the PostgreSQL and SQLite stores' PrefetchTrack.
type prefetcher interface {
	PrefetchTrack(ctx context.Context, hash string, req reconcile.TrackRequest) (context.Context, reconcile.APIToken, bool, error)
}

// countingStore counts how the server reads tokens from the store it
// wraps.
type countingStore struct {
	testStore
	prefetches, lookups atomic.Int32
}

func (c *countingStore) TokenByHash(ctx context.Context, hash string) (reconcile.APIToken, error) {
	c.lookups.Add(1)
	return c.testStore.TokenByHash(ctx, hash)
}

func (c *countingStore) PrefetchTrack(ctx context.Context, hash string, req reconcile.TrackRequest) (context.Context, reconcile.APIToken, bool, error) {
	c.prefetches.Add(1)
	return c.testStore.(prefetcher).PrefetchTrack(ctx, hash, req)
}

// TestTrackChecksTokenWithItsRead: on PostgreSQL a track that names its
// preset by id (or none) checks its token in the statement that reads the
// track's build, not in a lookup of its own; SQLite, and a preset named by
// template and name, look the token up first, as every other route does.
// Either way a revoked token is refused and the track is recorded.
func TestTrackChecksTokenWithItsRead(t *testing.T) {
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			var cs *countingStore
			w := newWorld(t, func(t *testing.T) testStore {
				cs = &countingStore{testStore: st.open(t)}
				return cs
			}, api.Options{})
			w.fill()
			plan := planFile(t, "providers/docker.json")
			wantLookups := int32(0)
			if st.name == "sqlite" {
				wantLookups = 1
			}
			track := func(preset, token string) answer {
				t.Helper()
				cs.prefetches.Store(0)
				cs.lookups.Store(0)
				return w.do("POST", fmt.Sprintf("/api/v1/workspaces/%s/builds/%s/plan?preset=%s&user=alice", uuid.New(), uuid.New(), preset), token, strings.NewReader(plan))
			}

			if a := track(w.small.ID.String(), w.tokens["track"]); a.status != 200 || cs.prefetches.Load() != 1 || cs.lookups.Load() != wantLookups {
				t.Fatalf("track by preset id: %d %s; %d prefetches, %d lookups, want 1 and %d", a.status, a.body, cs.prefetches.Load(), cs.lookups.Load(), wantLookups)
			}
			if a := track(w.small.ID.String(), w.tokens["revoked"]); a.status != 401 || !strings.Contains(a.errorText(t), "revoked") {
				t.Fatalf("revoked token: %d %s", a.status, a.body)
			}
			if a := track(w.small.ID.String(), w.tokens["read"]); a.status != 403 {
				t.Fatalf("read token: %d %s", a.status, a.body)
			}
			if a := track("docker-dev/small", w.tokens["track"]); a.status != 200 || cs.prefetches.Load() != 0 || cs.lookups.Load() != 1 {
				t.Fatalf("track by preset name: %d %s; %d prefetches, %d lookups, want 0 and 1", a.status, a.body, cs.prefetches.Load(), cs.lookups.Load())
			}
		})
	}
}
