//go:build !unix

package storetest

import (
	"os"
	"testing"
)

// Postgres is unavailable on this platform: it skips t (or fails it with VPP_REQUIRE_POSTGRES).
func Postgres(t testing.TB) string {
	t.Helper()
	requirePostgres(t)
	return ""
}

func requirePostgres(t testing.TB) {
	t.Helper()
	if os.Getenv(RequireEnv) != "" {
		t.Fatalf("storetest: the throwaway PostgreSQL server needs a Unix system, and %s is set", RequireEnv)
	}
	t.Skip("storetest: the throwaway PostgreSQL server needs a Unix system: skipping the PostgreSQL tests")
}

func stopServer() {}
