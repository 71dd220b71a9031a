package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/claimdrift/claimdrift/notify"
	"github.com/claimdrift/claimdrift/reconcile"
	"github.com/claimdrift/claimdrift/reconcile/postgres"
	"github.com/claimdrift/claimdrift/reconcile/sqlite"
)

// addPoolCommands registers the prebuild pool commands (issue 5) and the
// persistent --db flag every store-backed command shares.
func addPoolCommands(root *cobra.Command, io ioStreams, g *globalOptions) {
	root.PersistentFlags().StringVar(&g.db, "db", "",
		"database: a postgres:// or postgresql:// URL or a key=value DSN selects PostgreSQL, a path a SQLite file; other URL schemes are refused (default $CLAIMDRIFT_DB, else $XDG_STATE_HOME/claimdrift/claimdrift.db)")
	addStoreFlags(root, &g.store)
	root.AddCommand(
		newTemplateCmd(io, g),
		newPresetCmd(io, g),
		newReconcileCmd(io, g),
		newClaimCmd(io, g),
		newTrackCmd(io, g),
		newStatusCmd(io, g),
		newMetricsCmd(io, g),
	)
}

// poolStore is what the pool commands need from a store.
type poolStore interface {
	reconcile.Store
	notify.Outbox
}

// dbLocation resolves --db: the flag, else CLAIMDRIFT_DB, else a file in
// the user's state directory (XDG_STATE_HOME, else ~/.local/state).
func dbLocation(io ioStreams, g *globalOptions) (string, error) {
	if g.db != "" {
		return g.db, nil
	}
	getenv := io.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	if v := getenv("CLAIMDRIFT_DB"); v != "" {
		return v, nil
	}
	state := getenv("XDG_STATE_HOME")
	if state == "" {
		home := getenv("HOME")
		if home == "" {
			return "", usageError{errors.New("no database: pass --db or set CLAIMDRIFT_DB (HOME is not set)")}
		}
		state = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(state, "claimdrift", "claimdrift.db"), nil
}

// storeKind says which store a --db value selects.
type storeKind int

const (
	storeSQLite storeKind = iota
	storePostgres
)

// libpqKeywords are the connection parameters a key=value PostgreSQL DSN
// starts with (libpq's list; pgx accepts the same).
var libpqKeywords = map[string]bool{
	"host": true, "hostaddr": true, "port": true, "dbname": true, "user": true, "password": true, "passfile": true,
	"connect_timeout": true, "sslmode": true, "sslcert": true, "sslkey": true, "sslrootcert": true, "sslpassword": true,
	"application_name": true, "target_session_attrs": true, "options": true, "service": true, "servicefile": true,
	"sslsni": true, "krbsrvname": true, "gssencmode": true, "channel_binding": true, "search_path": true,
}

// urlScheme matches what looks like a URL scheme ("mysql:", "file:",
// "postgres:"): letters, digits, +, - and . after a letter, then a colon.
var urlScheme = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*:`)

// classifyDB tells PostgreSQL from SQLite: postgres:// and postgresql://
// URLs in any case and key=value DSNs (host=… dbname=…) are PostgreSQL;
// anything else that starts like a URL (mysql://, postgres:/h/db,
// file:x.db?mode=ro) is refused rather than silently created as a SQLite
// file of that name; everything else is a SQLite file path.
// The returned DSN has its URL scheme lowercased (pgx only knows the
// lowercase spelling).
func classifyDB(dsn string) (storeKind, string, error) {
	lower := strings.ToLower(dsn)
	for _, scheme := range []string{"postgres://", "postgresql://"} {
		if strings.HasPrefix(lower, scheme) {
			return storePostgres, scheme + dsn[len(scheme):], nil
		}
	}
	if k, _, ok := strings.Cut(strings.TrimSpace(dsn), "="); ok && libpqKeywords[strings.ToLower(strings.TrimSpace(k))] {
		return storePostgres, dsn, nil
	}
	if m := urlScheme.FindString(dsn); m != "" {
		return 0, "", usageError{fmt.Errorf("--db %s: unsupported database URL scheme %q: want postgres:// or postgresql://, a key=value PostgreSQL DSN, or a SQLite file path (write ./%s for a file of that name)",
			redactDSN(dsn), strings.TrimSuffix(m, ":"), "NAME")}
	}
	return storeSQLite, dsn, nil
}

// redactDSN hides the password of a database URL for messages.
func redactDSN(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
			return u.String()
		}
	}
	return dsn
}

// openStore opens the database --db names. The caller closes it.
func openStore(ctx context.Context, io ioStreams, g *globalOptions) (poolStore, error) {
	dsn, err := dbLocation(io, g)
	if err != nil {
		return nil, err
	}
	kind, dsn, err := classifyDB(dsn)
	if err != nil {
		return nil, err
	}
	if err := validateDurations(
		durationFlag{name: "db-connect-timeout", value: g.store.connectTimeout, min: 100 * time.Millisecond, max: time.Hour, zeroOK: true},
		durationFlag{name: "db-statement-timeout", value: g.store.statementTimeout, min: 100 * time.Millisecond, max: 24 * time.Hour, zeroOK: true},
	); err != nil {
		return nil, err
	}
	if err := validateCounts(countFlag{name: "db-max-conns", value: g.store.maxConns, min: 0, max: 10000}); err != nil {
		return nil, err
	}
	key, err := g.store.secretKey(io)
	if err != nil {
		return nil, err
	}
	var s interface {
		poolStore
		UseSecretKey(ctx context.Context, key *notify.SecretKey) (int, error)
	}
	if kind == storePostgres {
		s, err = postgres.OpenWith(ctx, dsn, postgres.Options{ConnectTimeout: g.store.connectTimeout, StatementTimeout: g.store.statementTimeout, MaxConns: g.store.maxConns})
	} else {
		s, err = sqlite.Open(ctx, dsn)
	}
	if err != nil {
		return nil, err
	}
	if key != nil {
		n, err := s.UseSecretKey(ctx, key)
		if err != nil {
			s.Close()
			return nil, err
		}
		if n > 0 {
			fmt.Fprintf(io.ErrOut, "claimdrift: encrypted %d webhook secret(s) that were stored in plain text\n", n)
		}
	}
	return s, nil
}

// storeOptions are the flags every store-backed command shares besides
// --db.
type storeOptions struct {
	connectTimeout, statementTimeout time.Duration
	maxConns                         int
	secretKeyFile                    string
}

func addStoreFlags(root *cobra.Command, o *storeOptions) {
	d := postgres.DefaultOptions()
	f := root.PersistentFlags()
	f.DurationVar(&o.connectTimeout, "db-connect-timeout", d.ConnectTimeout, "PostgreSQL: give up connecting after this long (0: no limit)")
	f.DurationVar(&o.statementTimeout, "db-statement-timeout", d.StatementTimeout, "PostgreSQL: statement_timeout of every statement; a server silent for this long plus 5s is given up on (0: no limit)")
	f.IntVar(&o.maxConns, "db-max-conns", 0, fmt.Sprintf("PostgreSQL: connections kept open; requests beyond wait their turn (0: the machine's cores, at least 4; %d here)", postgres.DefaultMaxConns()))
	f.StringVar(&o.secretKeyFile, "secret-key-file", "", "file holding the 32-byte key (hex or base64) that encrypts webhook secrets at rest (default $CLAIMDRIFT_SECRET_KEY_FILE; without one secrets are stored in plain text)")
}

// secretKey reads the key of --secret-key-file, else
// CLAIMDRIFT_SECRET_KEY_FILE; nil when neither is set.
func (o *storeOptions) secretKey(io ioStreams) (*notify.SecretKey, error) {
	path := o.secretKeyFile
	if path == "" && io.Getenv != nil {
		path = io.Getenv("CLAIMDRIFT_SECRET_KEY_FILE")
	}
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read secret key file: %w", err)
	}
	key, err := notify.ParseSecretKey(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return key, nil
}

// withStore opens the store, runs fn and closes the store.
func withStore(ctx context.Context, io ioStreams, g *globalOptions, fn func(s poolStore) error) error {
	s, err := openStore(ctx, io, g)
	if err != nil {
		return err
	}
	err = fn(s)
	if cerr := s.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close database: %w", cerr)
	}
	return err
}

// policyOptions are the reconciler's tunables as flags.
type policyOptions struct {
	onReplacement   string
	replaceK        int
	replaceN        int
	backoff         time.Duration
	backoffLookback time.Duration
	failureLimit    int
	lease           time.Duration
	takeoverGrace   time.Duration
}

func addPolicyFlags(cmd *cobra.Command, o *policyOptions) {
	d := reconcile.DefaultPolicy()
	f := cmd.Flags()
	f.StringVar(&o.onReplacement, "on-replacement", string(d.OnReplacement), "what to do about presets whose claims keep replacing resources: report, pause")
	f.IntVar(&o.replaceK, "replacement-threshold", d.ReplacementThreshold, "a preset is replacement-prone when at least this many of the last --replacement-window claims replaced something")
	f.IntVar(&o.replaceN, "replacement-window", d.ReplacementWindow, "how many recent claims --replacement-threshold looks at")
	f.DurationVar(&o.backoff, "backoff", d.BackoffInterval, "delay added per recent consecutive failed create (linear backoff)")
	f.DurationVar(&o.backoffLookback, "backoff-lookback", d.BackoffLookback, "failures older than this do not delay creation")
	f.IntVar(&o.failureLimit, "failure-limit", d.HardLimit, "consecutive failed creates that stop a preset until 'claimdrift preset resume' (0: no limit)")
	f.DurationVar(&o.lease, "build-lease", reconcile.DefaultLease, "a build whose runner stopped renewing its lease this long ago is taken over: recorded abandoned, its workspace deleted, recreated as needed")
	f.DurationVar(&o.takeoverGrace, "takeover-grace", d.TakeoverGrace, "extra wait before taking over a build that ran on another host (its reconciler's time to kill it, plus clock skew)")
	f.DurationVar(&o.lease, "stale-build-after", reconcile.DefaultLease, "deprecated alias of --build-lease")
	_ = f.MarkDeprecated("stale-build-after", "use --build-lease")
}

func (o *policyOptions) policy() (reconcile.Policy, error) {
	p := reconcile.Policy{
		OnReplacement:        reconcile.ReplacementPolicy(o.onReplacement),
		ReplacementThreshold: o.replaceK,
		ReplacementWindow:    o.replaceN,
		BackoffInterval:      o.backoff,
		BackoffLookback:      o.backoffLookback,
		HardLimit:            o.failureLimit,
		TakeoverGrace:        o.takeoverGrace,
	}
	p.Host, _ = os.Hostname() // as the reconciler's pool sets it, so that status agrees
	switch {
	case p.OnReplacement != reconcile.OnReplacementReport && p.OnReplacement != reconcile.OnReplacementPause:
		return p, usageError{fmt.Errorf("--on-replacement %q: want report or pause", o.onReplacement)}
	case p.ReplacementThreshold < 1 || p.ReplacementWindow < p.ReplacementThreshold:
		return p, usageError{fmt.Errorf("--replacement-threshold %d of --replacement-window %d: want 1 <= threshold <= window", p.ReplacementThreshold, p.ReplacementWindow)}
	case p.ReplacementWindow > reconcile.DefaultHistoryLimit || p.HardLimit > reconcile.DefaultHistoryLimit:
		return p, usageError{fmt.Errorf("--replacement-window and --failure-limit are at most %d", reconcile.DefaultHistoryLimit)}
	case p.BackoffInterval < 0 || p.BackoffLookback < 0 || p.HardLimit < 0 || p.TakeoverGrace < 0:
		return p, usageError{errors.New("--backoff, --backoff-lookback, --failure-limit and --takeover-grace must not be negative")}
	case o.lease < 300*time.Millisecond:
		return p, usageError{fmt.Errorf("--build-lease %s: want at least 300ms", o.lease)}
	}
	if err := p.Validate(); err != nil {
		return p, usageError{err}
	}
	return p, nil
}

// logger writes structured logs to the error stream.
func logger(io ioStreams) *slog.Logger {
	return slog.New(slog.NewTextHandler(io.ErrOut, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// findPreset resolves --preset (a name or id) within --template.
func findPreset(ctx context.Context, s poolStore, template, name string) (reconcile.PresetInfo, error) {
	if name == "" {
		return reconcile.PresetInfo{}, usageError{errors.New("--preset is required")}
	}
	return reconcile.FindPreset(ctx, s, template, name)
}
