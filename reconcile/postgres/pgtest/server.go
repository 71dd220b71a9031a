package pgtest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// Server is a private, throwaway PostgreSQL cluster for one test, which
// the test may stop and start again under its clients: the restart is a
// real one (same port, same data), not a simulated network cut.
type Server struct {
	t      testing.TB
	bin    string // directory of initdb, pg_ctl
	dir    string // owned by the server's user: data/, sockets, server.log
	port   int
	asUser []string // command prefix running as the postgres user, if any
}

// serverDB is the database NewServer creates.
const serverDB = "claimdrift_test"

// NewServer initialises a cluster in a fresh temporary directory, starts
// it on a free loopback port (trust authentication, fsync off) with a
// database claimdrift_test, and stops and removes it when t ends.
// Without the PostgreSQL server binaries it skips t, or fails it when CI
// is set. As root the server runs as the postgres user (initdb and pg_ctl
// refuse root).
func NewServer(t testing.TB) *Server {
	t.Helper()
	bin := serverBin()
	if bin == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("no PostgreSQL server binaries (initdb, pg_ctl) found: CI must run the PostgreSQL tests (make tools)")
		}
		t.Skip("no PostgreSQL server binaries (initdb, pg_ctl) found")
	}
	dir, err := os.MkdirTemp("", "claimdrift-pgtest-")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{t: t, bin: bin, dir: dir}
	t.Cleanup(func() {
		_ = s.pgCtl("stop", "-m", "immediate", "-w", "-t", "30")
		_ = os.RemoveAll(dir)
	})
	if os.Getuid() == 0 {
		pg, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root needs a postgres user for initdb: %v", err)
		}
		uid, _ := strconv.Atoi(pg.Uid)
		gid, _ := strconv.Atoi(pg.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
		s.asUser = []string{"runuser", "-u", "postgres", "--"}
	}
	if out, err := s.command(filepath.Join(bin, "initdb"), "-D", s.data(), "-U", "postgres",
		"--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync").CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	s.port = freePort(t)
	s.Start()
	cfg, err := pgx.ParseConfig(s.dsn("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	db := stdlib.OpenDB(*cfg)
	defer db.Close()
	if _, err := db.ExecContext(context.Background(), `CREATE DATABASE `+serverDB); err != nil {
		t.Fatalf("create database: %v", err)
	}
	return s
}

// DSN is a postgres:// URL of the server's database.
func (s *Server) DSN() string { return s.dsn(serverDB) }

func (s *Server) dsn(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.port, db)
}

// Stop kills the server like a crash (pg_ctl stop -m immediate): every
// connection is cut, new ones are refused; Start recovers it.
func (s *Server) Stop() {
	s.t.Helper()
	if err := s.pgCtl("stop", "-m", "immediate", "-w", "-t", "30"); err != nil {
		s.t.Fatalf("pg_ctl stop: %v", err)
	}
}

// Start starts the server (again) on its port and data, and waits until
// it accepts connections (after crash recovery when Stop preceded).
func (s *Server) Start() {
	s.t.Helper()
	// Sockets go into the cluster's directory: the default one may not
	// exist or be writable. fsync is off (the machine does not crash, only
	// the server), synchronous_commit is not: a commit reported to the
	// client must survive Stop, as it would a real crash.
	opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -c port=%d -c unix_socket_directories=%s "+
		"-c fsync=off -c full_page_writes=off -c max_connections=100", s.port, s.dir)
	if err := s.pgCtl("start", "-l", filepath.Join(s.dir, "server.log"), "-o", opts, "-w", "-t", "60"); err != nil {
		log, _ := os.ReadFile(filepath.Join(s.dir, "server.log"))
		s.t.Fatalf("pg_ctl start: %v\n%s", err, log)
	}
}

func (s *Server) data() string { return filepath.Join(s.dir, "data") }

func (s *Server) pgCtl(args ...string) error {
	args = append([]string{"-D", s.data()}, args...)
	out, err := s.command(filepath.Join(s.bin, "pg_ctl"), args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%w: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

// command runs name as the server's user, in its directory (the test's
// working directory may be closed to that user).
func (s *Server) command(name string, args ...string) *exec.Cmd {
	argv := append(append(slices.Clone(s.asUser), name), args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = s.dir
	return cmd
}

// serverBin finds the directory of initdb and pg_ctl like scripts/pg.sh:
// the highest /usr/lib/postgresql/*/bin, else initdb's on PATH.
func serverBin() string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	major := func(d string) int {
		n, _ := strconv.Atoi(strings.SplitN(filepath.Base(filepath.Dir(d)), ".", 2)[0])
		return n
	}
	slices.SortFunc(dirs, func(a, b string) int { return major(b) - major(a) })
	if p, err := exec.LookPath("initdb"); err == nil {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			dirs = append(dirs, filepath.Dir(r))
		}
	}
	for _, d := range dirs {
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "pg_ctl")) {
			return d
		}
	}
	return ""
}

func isExec(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// freePort picks a loopback port nothing listens on now.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
