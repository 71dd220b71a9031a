package reconcile

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Causes of a build's cancellation, told apart with context.Cause.
var (
	// ErrLeaseLost: the build's lease could not be renewed in time (or
	// another reconciler took the build over); its command is killed and
	// its outcome left to whoever holds it now.
	ErrLeaseLost = errors.New("build lease lost")
	// ErrBuildTimeout is returned (wrapped) by executors when a build
	// command ran longer than its timeout and was killed.
	ErrBuildTimeout = errors.New("build timed out")
)

// ProcessKiller is implemented by executors that can make sure a build
// command started on this host by an earlier (dead) runner is gone before a
// takeover cleans up after it.
type ProcessKiller interface {
	KillProcess(ctx context.Context, p ProcessInfo) error
}

func defaultOwner(host string) string {
	return host + ":" + strconv.Itoa(os.Getpid()) + ":" + uuid.NewString()[:8]
}

func defaultHost() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "unknown-host"
	}
	return h
}

// lease is the lease this pool gives the builds it records now.
func (p *Pool) lease(now time.Time) Lease {
	return Lease{Owner: p.opts.Owner, Host: p.opts.Host, Until: now.Add(p.opts.Lease)}
}

// heartbeat renews the leases of the builds this pool holds every third
// of the lease until stop is called. A build another runner took over is
// cancelled with ErrLeaseLost; when no renewal succeeded for a whole lease
// (the database is unreachable), every held build is cancelled the same
// way, so that its command is gone before anyone may take it over.
type heartbeat struct {
	p       *Pool
	mu      sync.Mutex
	running map[uuid.UUID]context.CancelCauseFunc
	stop    chan struct{}
	done    chan struct{}
}

func (p *Pool) startHeartbeat(ctx context.Context) *heartbeat {
	h := &heartbeat{p: p, running: map[uuid.UUID]context.CancelCauseFunc{}, stop: make(chan struct{}), done: make(chan struct{})}
	ctx = context.WithoutCancel(ctx)
	go h.loop(ctx)
	return h
}

// hold registers a running build's cancel function; release forgets it.
func (h *heartbeat) hold(id uuid.UUID, cancel context.CancelCauseFunc) {
	h.mu.Lock()
	h.running[id] = cancel
	h.mu.Unlock()
}

func (h *heartbeat) release(id uuid.UUID) {
	h.mu.Lock()
	delete(h.running, id)
	h.mu.Unlock()
}

func (h *heartbeat) close() {
	close(h.stop)
	<-h.done
}

func (h *heartbeat) loop(ctx context.Context) {
	defer close(h.done)
	every := max(h.p.opts.Lease/3, 10*time.Millisecond)
	t := time.NewTicker(every)
	defer t.Stop()
	lastOK := time.Now()
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
		}
		// Only builds running before the renewal began can be missing from
		// it because someone took them over: one that started meanwhile
		// (recorded by a later chunk of the pass) may not be in its answer.
		before := h.runningIDs()
		rctx, cancel := context.WithTimeout(ctx, every)
		held, err := h.p.store.RenewLeases(rctx, h.p.opts.Owner, h.p.opts.Now().Add(h.p.opts.Lease))
		cancel()
		if err != nil {
			h.p.opts.Logger.WarnContext(ctx, "renew build leases", "error", err.Error())
			if time.Since(lastOK) >= h.p.opts.Lease {
				h.cancelAll(func(uuid.UUID) bool { return true }, fmt.Errorf("%w: no renewal for %s: %v", ErrLeaseLost, h.p.opts.Lease, err))
			}
			continue
		}
		lastOK = time.Now()
		mine := make(map[uuid.UUID]bool, len(held))
		for _, id := range held {
			mine[id] = true
		}
		h.cancelAll(func(id uuid.UUID) bool { return before[id] && !mine[id] }, fmt.Errorf("%w: taken over by another reconciler", ErrLeaseLost))
	}
}

// runningIDs is the set of builds held now.
func (h *heartbeat) runningIDs() map[uuid.UUID]bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	ids := make(map[uuid.UUID]bool, len(h.running))
	for id := range h.running {
		ids[id] = true
	}
	return ids
}

func (h *heartbeat) cancelAll(which func(uuid.UUID) bool, cause error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for id, cancel := range h.running {
		if which(id) {
			h.p.opts.Logger.Warn("build lease lost; killing its command", "build_id", id.String(), "error", cause.Error())
			cancel(cause)
			delete(h.running, id)
		}
	}
}

// retryWrite runs a database write until it succeeds, fails with an error
// retrying cannot fix (ErrNotFound), or RecordRetry has passed. It is
// not cancelled with ctx: a result that is known is recorded even during a
// shutdown (bounded by RecordRetry).
func (p *Pool) retryWrite(ctx context.Context, what string, fn func(ctx context.Context) error) error {
	ctx = context.WithoutCancel(ctx)
	deadline := time.Now().Add(p.opts.RecordRetry)
	wait := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := fn(ctx)
		if err == nil || errors.Is(err, ErrNotFound) || !time.Now().Add(wait).Before(deadline) {
			if err != nil && attempt > 1 {
				err = fmt.Errorf("%w (after %d attempts)", err, attempt)
			}
			return err
		}
		p.opts.Logger.WarnContext(ctx, what+" failed; retrying", "attempt", attempt, "retry_in", wait.String(), "error", err.Error())
		time.Sleep(wait)
		wait = min(2*wait, 5*time.Second)
	}
}
