// Package storetest gives tests a fresh store on either backend. PostgreSQL databases come from
// one throwaway server per test binary (initdb into a temporary directory, random loopback port,
// trust authentication), started on first use; packages that use it call Main from TestMain so
// that the server stops when their tests end:
//
//	func TestMain(m *testing.M) { storetest.Main(m) }
//
// Without PostgreSQL binaries (initdb and postgres on PATH or under /usr/lib/postgresql/*/bin)
// PostgreSQL tests are skipped, unless VPP_REQUIRE_POSTGRES is set (CI sets it), which makes
// them fail instead.
package storetest

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vppkit/terraform-provider-vpp/internal/store"
)

// RequireEnv names the environment variable that turns a missing PostgreSQL into a failure.
const RequireEnv = "VPP_REQUIRE_POSTGRES"

// PasswordRole is a role of the test server whose members must authenticate with a password
// (scram-sha-256) on TCP; every other role is trusted. Tests of credential errors create a
// login role IN ROLE PasswordRole.
const PasswordRole = "vpp_password_auth"

// Option adjusts the Config Open uses.
type Option func(*store.Config)

// WithKey configures an encryption key.
func WithKey(key []byte) Option { return func(c *store.Config) { c.EncryptionKey = key } }

// WithBusyTimeout configures the busy timeout.
func WithBusyTimeout(d time.Duration) Option { return func(c *store.Config) { c.BusyTimeout = d } }

// Main runs the package's tests, then stops the PostgreSQL server if one was started, and exits.
// Call it from TestMain.
func Main(m *testing.M) { MainThen(m, nil) }

// MainThen is Main with a check run after the tests, whose non-zero result fails the binary.
func MainThen(m *testing.M, after func() int) {
	code := m.Run()
	if after != nil {
		if c := after(); code == 0 {
			code = c
		}
	}
	stopServer()
	os.Exit(code)
}

// URL returns the URL of a fresh, empty database of the given kind: a file path under
// t.TempDir() (not yet created) for SQLite, a new database on the test server for PostgreSQL.
func URL(t testing.TB, kind store.Kind) string {
	t.Helper()
	switch kind {
	case store.SQLite:
		return filepath.Join(t.TempDir(), "vpp", "engine.db")
	case store.Postgres:
		return Postgres(t)
	default:
		t.Fatalf("storetest: unknown store kind %q", kind)
		return ""
	}
}

// Open opens a fresh store of the given kind, closed when the test ends.
func Open(t testing.TB, kind store.Kind, opts ...Option) store.Store {
	t.Helper()
	return OpenURL(t, URL(t, kind), opts...)
}

// OpenURL opens the store at url (for example a second instance on the same database), closed
// when the test ends.
func OpenURL(t testing.TB, url string, opts ...Option) store.Store {
	t.Helper()
	cfg := store.Config{URL: url}
	for _, o := range opts {
		o(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := store.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("storetest: open %s store: %v", store.KindOf(url), err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// Each runs fn as a subtest per backend ("sqlite", "postgres"). The PostgreSQL subtest is
// skipped (or fails, with VPP_REQUIRE_POSTGRES set) when no PostgreSQL is installed.
func Each(t *testing.T, fn func(t *testing.T, kind store.Kind)) {
	t.Helper()
	for _, kind := range []store.Kind{store.SQLite, store.Postgres} {
		t.Run(string(kind), func(t *testing.T) {
			if kind == store.Postgres {
				requirePostgres(t)
			}
			fn(t, kind)
		})
	}
}
