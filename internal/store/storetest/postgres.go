//go:build unix

package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
)

const dirPrefix = "vpp-storetest-pg-"

type server struct {
	base    string // temporary directory: data/, the socket, the log
	port    int
	cmd     *exec.Cmd
	done    chan struct{} // closed when the postgres process has exited
	admin   *sql.DB
	logPath string
}

var (
	pgOnce    sync.Once
	pgSrv     *server
	pgErr     error
	pgMissing string // why no PostgreSQL is available, when it is not
	dbSeq     atomic.Int64
)

// Postgres returns the postgres:// URL of a fresh database on this test binary's PostgreSQL
// server, starting the server on first use. The database is dropped when the test ends.
func Postgres(t testing.TB) string {
	t.Helper()
	requirePostgres(t)
	name := fmt.Sprintf("vpp_test_%d_%s", dbSeq.Add(1), randHex(4))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := pgSrv.admin.ExecContext(ctx, `CREATE DATABASE `+name); err != nil {
		t.Fatalf("storetest: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, _ = pgSrv.admin.ExecContext(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`)
	})
	return pgSrv.url(name)
}

func (s *server) url(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.port, db)
}

// requirePostgres starts the server once, and skips or fails t when that is impossible.
func requirePostgres(t testing.TB) {
	t.Helper()
	pgOnce.Do(func() { pgSrv, pgErr = startServer() })
	if pgMissing != "" {
		if os.Getenv(RequireEnv) != "" {
			t.Fatalf("storetest: %s, and %s is set: install PostgreSQL (Debian: apt-get install postgresql)", pgMissing, RequireEnv)
		}
		t.Skipf("storetest: %s: skipping the PostgreSQL tests (install PostgreSQL, or set %s to make this a failure)", pgMissing, RequireEnv)
	}
	if pgErr != nil {
		t.Fatalf("storetest: start PostgreSQL: %v", pgErr)
	}
}

// findBinaries locates initdb and postgres from one installation.
func findBinaries() (initdb, postgres string, err error) {
	var dirs []string
	if p, err := exec.LookPath("initdb"); err == nil {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			p = r
		}
		dirs = append(dirs, filepath.Dir(p))
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(matches, func(i, j int) bool { return pgVersion(matches[i]) > pgVersion(matches[j]) })
	dirs = append(dirs, matches...)
	dirs = append(dirs, "/usr/local/pgsql/bin")
	for _, d := range dirs {
		i, p := filepath.Join(d, "initdb"), filepath.Join(d, "postgres")
		if isExec(i) && isExec(p) {
			return i, p, nil
		}
	}
	return "", "", errors.New("no PostgreSQL server binaries (initdb, postgres) on PATH or under /usr/lib/postgresql/*/bin")
}

func pgVersion(binDir string) float64 {
	v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(binDir)), 64)
	return v
}

func isExec(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// runAs is the user PostgreSQL runs as: initdb and postgres refuse to run as root.
type runAs struct {
	cred *syscall.Credential
	uid  int
	gid  int
}

func postgresUser() (*runAs, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, and PostgreSQL refuses root: no 'postgres' user to run it as (%v); run the tests as another user or install Debian's postgresql package, which creates it", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &runAs{cred: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, uid: uid, gid: gid}, nil
}

func (r *runAs) attr() *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Setpgid: true}
	if r != nil {
		a.Credential = r.cred
	}
	return a
}

func startServer() (*server, error) {
	initdb, postgres, err := findBinaries()
	if err != nil {
		pgMissing = err.Error()
		return nil, nil
	}
	as, err := postgresUser()
	if err != nil {
		return nil, err
	}
	removeStale()

	base, err := os.MkdirTemp("", dirPrefix)
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			_ = os.RemoveAll(base)
		}
	}()
	if err := os.WriteFile(filepath.Join(base, "owner.pid"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return nil, err
	}
	if as != nil {
		if err := os.Chown(base, as.uid, as.gid); err != nil {
			return nil, err
		}
	}
	data := filepath.Join(base, "data")
	cmd := exec.Command(initdb, "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync")
	cmd.SysProcAttr = as.attr()
	cmd.Dir = base
	if out, err := cmd.CombinedOutput(); err != nil {
		hint := ""
		if as != nil {
			hint = fmt.Sprintf(" (it runs as user postgres: every directory above %s must be searchable by that user)", base)
		}
		return nil, fmt.Errorf("initdb failed%s: %v\n%s", hint, err, out)
	}
	hba := "local all all trust\n" +
		"host all +" + PasswordRole + " 127.0.0.1/32 scram-sha-256\n" +
		"host all all 127.0.0.1/32 trust\n"
	if err := os.WriteFile(filepath.Join(data, "pg_hba.conf"), []byte(hba), 0o600); err != nil {
		return nil, err
	}
	if as != nil {
		_ = os.Chown(filepath.Join(data, "pg_hba.conf"), as.uid, as.gid)
	}

	var lastErr error
	for attempt := 0; attempt < 4; attempt++ {
		srv, err := launch(postgres, base, data, as)
		if err == nil {
			ok = true
			return srv, nil
		}
		lastErr = err
		if !strings.Contains(err.Error(), "already in use") && !strings.Contains(err.Error(), "could not bind") &&
			!strings.Contains(err.Error(), "could not create any TCP/IP sockets") {
			break
		}
	}
	return nil, lastErr
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	addr, ok := l.Addr().(*net.TCPAddr)
	if !ok {
		return 0, fmt.Errorf("unexpected listener address %v", l.Addr())
	}
	return addr.Port, nil
}

func launch(postgres, base, data string, as *runAs) (*server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(base, "postgres.log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(postgres, "-D", data, "-p", strconv.Itoa(port),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories="+base,
		"-c", "fsync=off",
		"-c", "synchronous_commit=off",
		"-c", "full_page_writes=off",
		"-c", "max_connections=300",
		"-c", "shared_buffers=32MB",
	)
	cmd.Dir = base
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = as.attr()
	setParentDeathSignal(cmd.SysProcAttr)
	srv := &server{base: base, port: port, cmd: cmd, done: make(chan struct{}), logPath: logPath}

	started := make(chan error, 1)
	go func() {
		// The parent-death signal follows the thread that started the child: keep this
		// goroutine on its thread (never unlocked) for as long as the server runs.
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		_ = cmd.Wait()
		_ = logf.Close()
		close(srv.done)
	}()
	if err := <-started; err != nil {
		_ = logf.Close()
		return nil, fmt.Errorf("start postgres: %w", err)
	}

	admin, err := sql.Open("pgx", srv.url("postgres"))
	if err != nil {
		srv.stop()
		return nil, err
	}
	admin.SetMaxOpenConns(4)
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err = admin.PingContext(ctx)
		cancel()
		if err == nil {
			break
		}
		select {
		case <-srv.done:
			_ = admin.Close()
			return nil, fmt.Errorf("postgres exited during startup: %s", tail(logPath))
		default:
		}
		if time.Now().After(deadline) {
			_ = admin.Close()
			srv.stop()
			return nil, fmt.Errorf("postgres did not accept connections within 60s: %v\n%s", err, tail(logPath))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := admin.Exec(`CREATE ROLE ` + PasswordRole + ` NOLOGIN`); err != nil {
		_ = admin.Close()
		srv.stop()
		return nil, fmt.Errorf("create role %s: %w", PasswordRole, err)
	}
	srv.admin = admin
	return srv, nil
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(bytes.TrimSpace(b))
}

// stop shuts the server down (fast shutdown, then kill) and waits for it.
func (s *server) stop() {
	if s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-s.done:
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

func stopServer() {
	if pgSrv == nil {
		return
	}
	if pgSrv.admin != nil {
		_ = pgSrv.admin.Close()
	}
	pgSrv.stop()
	_ = os.RemoveAll(pgSrv.base)
	pgSrv = nil
}

// removeStale deletes the directories (and stops the servers) of test binaries that died
// without calling Main's cleanup.
func removeStale() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), dirPrefix+"*"))
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "owner.pid"))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 || processAlive(pid) {
			continue
		}
		if pm, err := os.ReadFile(filepath.Join(d, "data", "postmaster.pid")); err == nil {
			first, _, _ := strings.Cut(string(pm), "\n")
			if ppid, err := strconv.Atoi(strings.TrimSpace(first)); err == nil && ppid > 0 && isPostgres(ppid) {
				_ = syscall.Kill(ppid, syscall.SIGQUIT)
				time.Sleep(200 * time.Millisecond)
			}
		}
		_ = os.RemoveAll(d)
	}
}

// isPostgres reports whether pid is a running postgres process (Linux only; elsewhere false, so
// that nothing unrelated is ever signalled).
func isPostgres(pid int) bool {
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	return err == nil && strings.TrimSpace(string(comm)) == "postgres"
}

func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
