// Command serveload measures `claimdrift serve`'s API under load: it seeds
// a fresh database (SQLite file or a new PostgreSQL schema), starts
// `claimdrift serve` on it (-serve BIN, its own process) or serves the API
// handler of reconcile/api in this process (for -cpuprofile) on a loopback
// port, and runs concurrent clients against it over real HTTP. Scenarios:
//
//   - claims: POST /api/v1/presets/{id}/claims, each client on its own
//     preset, with P presets in the database;
//   - tracks: POST .../plan of a 20 KB claim plan for the claim build of a
//     prebuild claimed before the run (what a provisioner hook sends after
//     a claim through the API), a new claim each time;
//   - tracks-new: the same plan for a build and workspace the store has
//     never seen (a hook on builds claimdrift did not start), recorded as a
//     new workspace and its claim build, with 100 ready prebuilds per
//     preset in the database;
//   - pass: one reconcile pass over full pools (no builds to start).
//
// It prints one Markdown table row per scenario. Used by scripts/bench-serve.sh.
package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/claimdrift/claimdrift/analyzer"
	"github.com/claimdrift/claimdrift/notify"
	"github.com/claimdrift/claimdrift/reconcile"
	"github.com/claimdrift/claimdrift/reconcile/api"
	"github.com/claimdrift/claimdrift/reconcile/postgres"
	"github.com/claimdrift/claimdrift/reconcile/sqlite"
	"github.com/claimdrift/claimdrift/reconcile/storetest/benchseed"
)

type store interface {
	api.Store
	notify.RecipientLister
	AddRecipient(ctx context.Context, r notify.Recipient) (notify.Recipient, error)
	CreateToken(ctx context.Context, t reconcile.APIToken) error
	DB() *sql.DB
}

func main() {
	backend := flag.String("store", "sqlite", "sqlite or postgres (DSN from -dsn or $CLAIMDRIFT_TEST_POSTGRES_DSN)")
	dsn := flag.String("dsn", os.Getenv("CLAIMDRIFT_TEST_POSTGRES_DSN"), "PostgreSQL server for -store postgres (a fresh schema is made and dropped)")
	scenario := flag.String("scenario", "claims", "claims, tracks, tracks-new or pass")
	presets := flag.Int("presets", 10, "presets in the database")
	perPreset := flag.Int("prebuilds", 0, "ready prebuilds per preset (0: claims enough for the run on each client's preset, tracks 100, pass 10)")
	clients := flag.Int("clients", 32, "concurrent clients")
	duration := flag.Duration("duration", 5*time.Second, "how long the clients run, measured")
	warmup := flag.Duration("warmup", time.Second, "how long the clients run first, unmeasured: the server opens its database connections and prepares its statements (errors still count)")
	plan := flag.String("plan", "testdata/plans/providers/docker.json", "plan the tracks upload")
	passes := flag.Int("passes", 5, "reconcile passes timed (pass scenario)")
	history := flag.Int("history", 10000, "builds tracked through the store before the run, then ANALYZE (tracks scenarios): the history of a service in use")
	maxConns := flag.Int("max-conns", 0, "limit the store's open connections (0: the store's default)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the run to this file")
	keep := flag.Bool("keep", false, "keep the database (to look at the queries) and print where it is")
	serveBin := flag.String("serve", "", "claimdrift binary to run as the server (`claimdrift serve` in its own process); empty: the API handler in this process (for -cpuprofile)")
	flag.Parse()
	log.SetFlags(0)
	ctx := context.Background()

	s, dbArg, cleanup, err := open(ctx, *backend, *dsn)
	if err != nil {
		log.Fatal(err)
	}
	if *maxConns > 0 {
		s.DB().SetMaxOpenConns(*maxConns)
		s.DB().SetMaxIdleConns(*maxConns)
	}
	if *keep {
		cleanup = func() {}
	}
	defer cleanup()

	hot := *clients
	if hot > *presets {
		hot = *presets
	}
	per := *perPreset
	if per == 0 {
		switch *scenario {
		case "claims":
			per = 1
		case "pass":
			per = 10
		case "tracks-new":
			// Pools in use: with a nearly empty database the planner's
			// statistics (taken at seeding) make PostgreSQL check each
			// foreign key by scanning builds, which the run then grows
			// by thousands of rows in seconds; a database that has seen
			// use is analyzed with more rows than that.
			per = 100
		}
	}
	hotExtra := 0
	switch *scenario {
	case "claims":
		// Enough on the clients' presets for 3,000 claims/s.
		hotExtra = 3000 * int((*duration+*warmup).Seconds()+1) / hot
	case "tracks":
		// Claimed before the run, one claim build per track: enough for
		// 2,000 tracks/s, and the history's.
		hotExtra = (2000*int((*duration+*warmup).Seconds()+1) + *history + hot - 1) / hot
	}
	seedStart := time.Now()
	ids, err := benchseed.Pools(ctx, s.DB(), benchseed.Options{Numbered: *backend == "postgres", Presets: *presets, PerPreset: per, Ready: true, Hot: hot, Extra: hotExtra})
	if err != nil {
		log.Fatalf("seed: %v", err)
	}
	log.Printf("seeded %d presets, %d ready prebuilds each (+%d on %d presets) in %s", *presets, per, hotExtra, hot, time.Since(seedStart).Round(time.Millisecond))

	// As serve does: a track that replaced something queues a
	// notification for the recipients read from the store (here the
	// organization's one admin).
	if _, err := s.AddRecipient(ctx, notify.Recipient{Scope: notify.ScopeOrganization, Organization: "bench", Channel: notify.ChannelWebhook,
		Address: "https://hooks.example.com/bench"}); err != nil {
		log.Fatal(err)
	}
	resolver := notify.NewResolver(s, nil)
	x := reconcile.NewExecExecutor(reconcile.ExecOptions{CreateCmd: "true", DeleteCmd: "true"})
	pool := reconcile.NewPool(s, x, reconcile.Options{Recipients: func(ctx context.Context, bc reconcile.BuildContext) ([]string, error) {
		return resolver.Keys(ctx, notify.RecipientTarget{TemplateID: bc.TemplateID, Template: bc.Template, Organization: bc.Organization})
	}})
	if *scenario == "pass" {
		var ds []time.Duration
		for range *passes {
			start := time.Now()
			rep, err := pool.ReconcileOnce(ctx)
			if err != nil {
				log.Fatal(err)
			}
			ds = append(ds, time.Since(start))
			if len(rep.Builds) > 0 {
				log.Printf("warning: the pass started %d builds", len(rep.Builds))
			}
		}
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		fmt.Printf("| %s | reconcile pass, full pools | %d | %d | - | %d passes | median %.3f s | min %.3f s | max %.3f s | - |\n",
			*backend, *presets, *presets*per, len(ds), ds[len(ds)/2].Seconds(), ds[0].Seconds(), ds[len(ds)-1].Seconds())
		return
	}

	var claimed []reconcile.Claimed
	if *scenario == "tracks" {
		claimStart := time.Now()
		if claimed, err = claimAhead(ctx, pool, ids[:hot], hotExtra); err != nil {
			log.Fatal(err)
		}
		log.Printf("claimed %d prebuilds in %s", len(claimed), time.Since(claimStart).Round(time.Millisecond))
	}
	if *history > 0 && (*scenario == "tracks" || *scenario == "tracks-new") {
		// A service in use has tracked builds, and its tables have been
		// analyzed (autovacuum). Measured from an empty tracked_builds
		// instead, PostgreSQL's cached generic plan checks whether a
		// build was tracked by scanning that table, which the run grows by
		// a thousand rows a second.
		start := time.Now()
		if claimed, err = trackHistory(ctx, pool, *plan, *history, claimed, ids[:hot]); err != nil {
			log.Fatal(err)
		}
		if _, err := s.DB().ExecContext(ctx, "ANALYZE"); err != nil {
			log.Fatal(err)
		}
		log.Printf("tracked %d builds before the run (then ANALYZE) in %s", *history, time.Since(start).Round(time.Millisecond))
	}
	var next atomic.Int64
	countBuilds := func() int {
		var n int
		if err := s.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM builds`).Scan(&n); err != nil {
			log.Fatal(err)
		}
		return n
	}
	buildsBefore := countBuilds()

	token, hash, err := api.NewToken()
	if err != nil {
		log.Fatal(err)
	}
	if err := s.CreateToken(ctx, reconcile.APIToken{ID: uuid.New(), Name: "load", Scopes: []string{api.ScopeAdmin}, Hash: hash, CreatedAt: time.Now()}); err != nil {
		log.Fatal(err)
	}
	var base string
	serverCPU := func() time.Duration { return 0 } // the serve process's CPU time so far (-serve)
	if *serveBin != "" {
		if *cpuProfile != "" {
			log.Fatal("-cpuprofile profiles this process: leave out -serve")
		}
		var stop func()
		var pid int
		if base, pid, stop, err = startServe(*serveBin, dbArg, *maxConns); err != nil {
			log.Fatal(err)
		}
		defer stop()
		serverCPU = func() time.Duration { return procCPU(pid) }
	} else {
		base = serveInProcess(s, pool, *backend, *maxConns)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *clients * 2, MaxConnsPerHost: *clients * 2}}

	var body []byte
	if *scenario == "tracks" || *scenario == "tracks-new" {
		if body, err = os.ReadFile(*plan); err != nil {
			log.Fatal(err)
		}
	}
	request := func(i int) (*http.Request, error) {
		switch *scenario {
		case "claims":
			return http.NewRequest("POST", base+"/api/v1/presets/"+ids[i%hot].String()+"/claims", strings.NewReader(`{"user":"load"}`))
		case "tracks":
			n := next.Add(1) - 1
			if n >= int64(len(claimed)) {
				return nil, fmt.Errorf("all %d claims made ahead were tracked: claim more (-duration)", len(claimed))
			}
			c := claimed[n]
			return http.NewRequest("POST", fmt.Sprintf("%s/api/v1/workspaces/%s/builds/%s/plan", base, c.Workspace.ID, c.Build.ID), bytes.NewReader(body))
		case "tracks-new":
			return http.NewRequest("POST", fmt.Sprintf("%s/api/v1/workspaces/%s/builds/%s/plan?preset=%s&user=load", base, uuid.New(), uuid.New(), ids[i%hot]), bytes.NewReader(body))
		}
		return nil, fmt.Errorf("unknown scenario %q", *scenario)
	}
	want := map[string]int{"claims": http.StatusCreated, "tracks": http.StatusOK, "tracks-new": http.StatusOK}[*scenario]

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	var ok, conflict, failed atomic.Int64
	lat := make([][]time.Duration, *clients)
	// The clients run for the warm-up and then for the measured duration;
	// only requests sent after the warm-up are counted and timed (errors
	// always are), and the CPU used is read from the warm-up's end.
	start := time.Now()
	measureFrom := start.Add(*warmup)
	stop := measureFrom.Add(*duration)
	var serverCPU0, selfCPU0 time.Duration
	var dbCPU0 map[int]time.Duration
	measuring := make(chan struct{})
	go func() {
		time.Sleep(time.Until(measureFrom))
		serverCPU0, selfCPU0, dbCPU0 = serverCPU(), selfCPU(), postgresCPU()
		close(measuring)
	}()
	var wg sync.WaitGroup
	for c := range *clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				req, err := request(c)
				if err != nil {
					log.Fatal(err)
				}
				req.Header.Set("Authorization", "Bearer "+token)
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					failed.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				d := time.Since(t0)
				measured := !t0.Before(measureFrom)
				switch resp.StatusCode {
				case want:
					if measured {
						ok.Add(1)
						lat[c] = append(lat[c], d)
					}
				case http.StatusConflict:
					if measured {
						conflict.Add(1)
					}
				default:
					if failed.Add(1) <= 3 {
						log.Printf("answer %d", resp.StatusCode)
					}
				}
			}
		}()
	}
	wg.Wait()
	<-measuring
	elapsed := time.Since(measureFrom)
	serverUsed, selfUsed, dbCPU1 := serverCPU()-serverCPU0, selfCPU()-selfCPU0, postgresCPU()
	if n := countBuilds() - buildsBefore; *scenario == "tracks" && n != 0 {
		// Each track is to find its claim build recorded.
		log.Fatalf("the tracks recorded %d builds: they did not find the claim builds", n)
	}
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	pct := func(p float64) float64 {
		if len(all) == 0 {
			return 0
		}
		return float64(all[int(p*float64(len(all)-1))].Microseconds()) / 1000
	}
	name := map[string]string{"claims": "claims", "tracks": fmt.Sprintf("tracks of a %d KB claim plan", len(body)/1000),
		"tracks-new": fmt.Sprintf("tracks of a %d KB plan, new workspace", len(body)/1000)}[*scenario]
	// CPU per answered request, steadier than rates on a shared machine.
	perReq := func(d time.Duration) float64 {
		n := ok.Load() + conflict.Load()
		if n == 0 {
			return 0
		}
		return float64(d.Microseconds()) / 1000 / float64(n)
	}
	cpu := fmt.Sprintf("this process %.2f ms (server and clients)", perReq(selfUsed))
	if *serveBin != "" {
		cpu = fmt.Sprintf("serve %.2f ms, clients %.2f ms", perReq(serverUsed), perReq(selfUsed))
	}
	if *backend == "postgres" && dbCPU1 != nil {
		cpu += fmt.Sprintf(", postgres %.2f ms", perReq(cpuSince(dbCPU0, dbCPU1)))
	}
	ready := strconv.Itoa(*presets*per + hot*hotExtra)
	if *scenario == "tracks" {
		ready = fmt.Sprintf("%d (%d claimed)", *presets*per, len(claimed))
	}
	fmt.Printf("| %s | %s | %d | %s | %d | %.0f/s (%d ok, %d 409, %d errors) | p50 %.1f ms | p99 %.1f ms | max %.1f ms | %s |\n",
		*backend, name, *presets, ready, *clients, float64(ok.Load())/elapsed.Seconds(), ok.Load(), conflict.Load(), failed.Load(),
		pct(0.50), pct(0.99), pct(1), cpu)
}

// claimAhead claims n prebuilds of each preset through pool (no claim
// command: each claim build is recorded succeeded), for the tracks
// scenario to track their claim builds. The claims of different presets
// are interleaved, so concurrent tracks spread over the presets.
// trackHistory tracks n builds through the pool, 8 at a time, with the
// replacements of plan: the first n of claimed (returning the rest) when
// there are claims, else n new workspaces' claim builds on presets.
func trackHistory(ctx context.Context, pool *reconcile.Pool, plan string, n int, claimed []reconcile.Claimed, presets []uuid.UUID) ([]reconcile.Claimed, error) {
	f, err := os.Open(plan)
	if err != nil {
		return nil, err
	}
	rep, err := analyzer.Analyze(f, analyzer.Options{})
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("analyze %s: %w", plan, err)
	}
	if len(claimed) > 0 && len(claimed) < n {
		return nil, fmt.Errorf("%d claims made ahead, fewer than the %d builds of history", len(claimed), n)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				req := reconcile.TrackRequest{WorkspaceID: uuid.New(), BuildID: uuid.New(), PresetID: presets[i%len(presets)], Claimant: "load", Replacements: rep.Replacements}
				if len(claimed) > 0 {
					req = reconcile.TrackRequest{WorkspaceID: claimed[i].Workspace.ID, BuildID: claimed[i].Build.ID, Replacements: rep.Replacements}
				}
				if _, err := pool.Track(ctx, req); err != nil {
					errs <- fmt.Errorf("track history: %w", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	if len(claimed) > 0 {
		return claimed[n:], nil
	}
	return claimed, nil
}

func claimAhead(ctx context.Context, pool *reconcile.Pool, presets []uuid.UUID, n int) ([]reconcile.Claimed, error) {
	byPreset := make([][]reconcile.Claimed, len(presets))
	var wg sync.WaitGroup
	errs := make(chan error, len(presets))
	for i, id := range presets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range n {
				res, err := pool.Claim(ctx, "load", "", id)
				if err != nil {
					errs <- fmt.Errorf("claim ahead on preset %s: %w", id, err)
					return
				}
				byPreset[i] = append(byPreset[i], res.Claimed)
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	out := make([]reconcile.Claimed, 0, n*len(presets))
	for j := range n {
		for i := range presets {
			out = append(out, byPreset[i][j])
		}
	}
	return out, nil
}

// open opens a fresh store: a SQLite file in a temporary directory, or a
// new schema on the PostgreSQL server. It returns the store, its --db
// value and what removes it.
func open(ctx context.Context, backend, dsn string) (store, string, func(), error) {
	switch backend {
	case "sqlite":
		dir, err := os.MkdirTemp("", "serveload")
		if err != nil {
			return nil, "", nil, err
		}
		path := filepath.Join(dir, "load.db")
		s, err := sqlite.Open(ctx, path)
		if err != nil {
			return nil, "", nil, err
		}
		return s, path, func() { s.Close(); os.RemoveAll(dir) }, nil
	case "postgres":
		if dsn == "" {
			return nil, "", nil, fmt.Errorf("-store postgres needs -dsn or $CLAIMDRIFT_TEST_POSTGRES_DSN")
		}
		cfg, err := pgx.ParseConfig(dsn)
		if err != nil {
			return nil, "", nil, err
		}
		admin := stdlib.OpenDB(*cfg)
		schema := "serveload_" + strings.ReplaceAll(uuid.NewString(), "-", "")[:12]
		if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
			return nil, "", nil, err
		}
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		log.Printf("schema %s", schema)
		db := dsn + sep + "search_path=" + schema
		s, err := postgres.Open(ctx, db)
		if err != nil {
			return nil, "", nil, err
		}
		return s, db, func() {
			s.Close()
			admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
			admin.Close()
		}, nil
	}
	return nil, "", nil, fmt.Errorf("-store %q: want sqlite or postgres", backend)
}

// serveInProcess serves the API handler on a loopback port in this
// process, as serve would: the collector at serve's target, and on
// PostgreSQL as many requests doing database work at once as the store
// keeps connections.
func serveInProcess(s store, pool *reconcile.Pool, backend string, maxConns int) string {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(api.GCPercent)
	}
	admission := 0
	if backend == "postgres" {
		if admission = maxConns; admission <= 0 {
			admission = postgres.DefaultMaxConns()
		}
	}
	srv, err := api.New(s, pool, api.Options{Admission: admission})
	if err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go (&http.Server{Handler: srv}).Serve(ln)
	return "http://" + ln.Addr().String()
}

// startServe runs `bin serve` on the database on a free loopback port
// (no reconcile loop, notifications left queued) and waits until it is
// ready. stop sends it SIGTERM and waits for it.
func startServe(bin, db string, maxConns int) (base string, pid int, stop func(), err error) {
	args := []string{"serve", "--db", db, "--listen", "127.0.0.1:0", "--notify", "none"}
	if maxConns > 0 {
		args = append(args, "--db-max-conns", strconv.Itoa(maxConns))
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout = os.Stderr
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return "", 0, nil, err
	}
	if err := cmd.Start(); err != nil {
		return "", 0, nil, err
	}
	stop = func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}
	found := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`url=(http://127\.0\.0\.1:\d+)`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
				break
			}
		}
		// What it logs from here on is not read (the pipe must not fill).
		io.Copy(io.Discard, stderr)
	}()
	select {
	case base = <-found:
	case <-time.After(30 * time.Second):
		stop()
		return "", 0, nil, fmt.Errorf("%s serve did not say where it listens within 30 s", bin)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base, cmd.Process.Pid, stop, nil
			}
		}
		if time.Now().After(deadline) {
			stop()
			return "", 0, nil, fmt.Errorf("%s serve not ready within 30 s", bin)
		}
	}
}

// clockTick is the unit of /proc/PID/stat's CPU times (USER_HZ, 100 on
// Linux).
const clockTick = 10 * time.Millisecond

// procCPU is the user and system CPU time process pid has used (0 when it
// cannot be read: not Linux, or the process is gone).
func procCPU(pid int) time.Duration {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(raw)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * clockTick
}

// postgresCPU is the CPU time used so far by each process on this
// machine named postgres (the server's backends), by pid; nil when there
// is none (PostgreSQL elsewhere, or SQLite).
func postgresCPU() map[int]time.Duration {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out map[int]time.Duration
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		comm, err := os.ReadFile("/proc/" + e.Name() + "/comm")
		if err != nil || strings.TrimSpace(string(comm)) != "postgres" {
			continue
		}
		if out == nil {
			out = map[int]time.Duration{}
		}
		out[pid] = procCPU(pid)
	}
	return out
}

// cpuSince is how much CPU the processes of now used since then (a
// process started in between counts from zero, one that ended is lost).
func cpuSince(then, now map[int]time.Duration) time.Duration {
	var d time.Duration
	for pid, t := range now {
		d += t - then[pid]
	}
	return d
}

// selfCPU is the user and system CPU time this process has used.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
