package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/claimdrift/claimdrift/notify"
	"github.com/claimdrift/claimdrift/reconcile"
	"github.com/claimdrift/claimdrift/reconcile/api"
	"github.com/claimdrift/claimdrift/reconcile/postgres"
)

type serveOptions struct {
	listen               string
	tlsCert, tlsKey      string
	maxPlanBytes         int64
	metricsTokenRequired bool
	shutdownTimeout      time.Duration
	loop                 reconcileOptions
}

func newServeCmd(io ioStreams, g *globalOptions) *cobra.Command {
	o := &serveOptions{}
	cmd := &cobra.Command{
		Use:   "serve [--listen 127.0.0.1:8080] [--create-cmd … --delete-cmd …]",
		Short: "Run the HTTP API, /metrics, the status page, the reconcile loop and the notification dispatcher",
		Long: `Serve the claimdrift API (/api/v1), /metrics, /healthz, /readyz and the status
page (/) on --listen, and, in the same process, run the reconcile loop
(when --create-cmd and --delete-cmd are given; the flags are those of
"claimdrift reconcile") and deliver queued notifications (--notify
deliver; the flags of "claimdrift notify dispatch").

API requests need a bearer token: "claimdrift token create". /metrics,
/healthz and /readyz are open unless --metrics-token-required.

SIGTERM or SIGINT: stop accepting connections, let requests in flight
finish (up to --shutdown-timeout), finish the pass and the sends, exit 0.

Unless GOGC is set, the garbage collector runs at GOGC=400 (a small live
heap, much short-lived garbage under load); GOGC=100 restores Go's default.`,
		Example: `  claimdrift serve --db postgres://claimdrift@db/claimdrift --listen :8080 \
      --create-cmd ./create.sh --delete-cmd ./delete.sh
  claimdrift serve --listen 127.0.0.1:8080        # API, page and Coder notifications only`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runServe(cmd.Context(), o, io, g) },
	}
	f := cmd.Flags()
	f.StringVar(&o.listen, "listen", "127.0.0.1:8080", "address to listen on (host:port; port 0 picks one)")
	f.StringVar(&o.tlsCert, "tls-cert", "", "PEM certificate file: serve HTTPS (with --tls-key)")
	f.StringVar(&o.tlsKey, "tls-key", "", "PEM private key file of --tls-cert")
	f.Int64Var(&o.maxPlanBytes, "max-plan-bytes", api.DefaultMaxPlanBytes, "largest plan body accepted (413 above)")
	f.BoolVar(&o.metricsTokenRequired, "metrics-token-required", false, "require a read token for /metrics, /healthz and /readyz")
	f.DurationVar(&o.shutdownTimeout, "shutdown-timeout", 30*time.Second, "on SIGTERM, how long requests in flight may take to finish")
	addReconcileLoopFlags(cmd, &o.loop)
	return cmd
}

func runServe(ctx context.Context, o *serveOptions, io ioStreams, g *globalOptions) error {
	pol, err := o.loop.checkLoop()
	if err != nil {
		return err
	}
	if (o.tlsCert == "") != (o.tlsKey == "") {
		return usageError{errors.New("--tls-cert and --tls-key go together")}
	}
	if (o.loop.exec.createCmd == "") != (o.loop.exec.deleteCmd == "") {
		return usageError{errors.New("--create-cmd and --delete-cmd go together (neither: no reconcile loop)")}
	}
	if o.maxPlanBytes <= 0 || o.shutdownTimeout <= 0 {
		return usageError{errors.New("--max-plan-bytes and --shutdown-timeout must be positive")}
	}
	var tlsConfig *tls.Config
	if o.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(o.tlsCert, o.tlsKey)
		if err != nil {
			return fmt.Errorf("load TLS certificate: %w", err)
		}
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	x, err := o.loop.exec.executorFor()
	if err != nil {
		return err
	}
	lg := logger(io)
	if gc := tuneGC(os.Getenv); gc != "" {
		lg.Debug("garbage collector target", "gogc", gc)
	}
	return withStore(ctx, io, g, func(s poolStore) error {
		as, ok := s.(api.Store)
		if !ok {
			return fmt.Errorf("store %T cannot serve the API", s)
		}
		pool := reconcile.NewPool(s, x, reconcile.Options{Policy: pol, MaxBuilds: o.loop.maxBuilds, Parallelism: o.loop.parallel, Logger: lg,
			AnalyzePlan: o.loop.exec.analyzePlan(io), Recipients: notifyRecipients(s, lg),
			Lease: o.loop.policy.lease, StopTimeout: o.loop.stopTimeout, RecordRetry: o.loop.exec.recordRetry})
		// On PostgreSQL, as many requests do their database work at once
		// as the store keeps connections; the others queue in arrival
		// order (SQLite's writes already queue in the store).
		admission := 0
		if _, ok := s.(*postgres.Store); ok {
			if admission = g.store.maxConns; admission <= 0 {
				admission = postgres.DefaultMaxConns()
			}
		}
		srv, err := api.New(as, pool, api.Options{MaxPlanBytes: o.maxPlanBytes, MetricsTokenRequired: o.metricsTokenRequired,
			Policy: pol, Logger: lg, Admission: admission})
		if err != nil {
			return err
		}
		var dispatcher *notify.Dispatcher
		if o.loop.notifyVia != "none" {
			if dispatcher, err = o.loop.dispatch.newDispatcher(s, lg); err != nil {
				return err
			}
		}
		ln, err := net.Listen("tcp", o.listen)
		if err != nil {
			return fmt.Errorf("listen: %w", err)
		}
		scheme := "http"
		if tlsConfig != nil {
			ln, scheme = tls.NewListener(ln, tlsConfig), "https"
		}
		hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
			ErrorLog: log.New(slogWriter{lg}, "", 0)}
		return serveUntilDone(ctx, hs, ln, lg, o, pool, dispatcher, scheme)
	})
}

// tuneGC sets the collector's target to api.GCPercent unless the
// environment's GOGC chose one, and says which target applies.
func tuneGC(getenv func(string) string) string {
	if v := getenv("GOGC"); v != "" {
		return v
	}
	debug.SetGCPercent(api.GCPercent)
	return strconv.Itoa(api.GCPercent)
}

// serveUntilDone runs the server, the reconcile loop and the dispatcher
// until ctx ends, then stops them in order: no new connections, requests
// in flight drained, the pass and the sends finished.
func serveUntilDone(ctx context.Context, hs *http.Server, ln net.Listener, lg *slog.Logger, o *serveOptions, pool *reconcile.Pool, d *notify.Dispatcher, scheme string) error {
	lg.Info("claimdrift serve listening", "url", scheme+"://"+ln.Addr().String(), "reconcile", o.loop.exec.createCmd != "", "notify", o.loop.notifyVia)
	var wg sync.WaitGroup
	serveErr := make(chan error, 1)
	go func() { serveErr <- hs.Serve(ln) }()
	if o.loop.exec.createCmd != "" {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = pool.Run(ctx, o.loop.interval, func(rep reconcile.PassReport) {
				if len(rep.Actions) > 0 || rep.Deferred > 0 {
					lg.Info("reconcile pass", "actions", len(rep.Actions), "deferred", rep.Deferred, "builds", len(rep.Builds), "duration", rep.Duration.String())
				}
			})
		}()
	}
	if d != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = d.Run(ctx, 10*time.Second)
		}()
	}
	var err error
	select {
	case err = <-serveErr:
		err = fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
		lg.Info("shutting down: draining requests")
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), o.shutdownTimeout)
		if serr := hs.Shutdown(sctx); serr != nil {
			lg.Warn("requests still running at the shutdown timeout", "error", serr.Error())
			_ = hs.Close()
		}
		cancel()
	}
	wg.Wait()
	lg.Info("stopped")
	return err
}

// slogWriter sends the HTTP server's own messages (TLS handshakes…) to the
// structured log.
type slogWriter struct{ lg *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) {
	w.lg.Warn("http server", "message", string(p))
	return len(p), nil
}
