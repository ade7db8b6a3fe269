package store_test

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/vppkit/terraform-provider-vpp/internal/store"
)

// A PostgreSQL keyword/value connection string, or a URL of another scheme, is refused before
// anything is created: taken as a SQLite path, it became a file or directory named after it,
// password included.
func TestOpenRefusesSettingsThatAreNotPaths(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	const keywordMsg = "store: the database setting looks like a PostgreSQL keyword/value connection string " +
		"(host=... user=... password=...), which is not supported, so it was not used as a SQLite file name either. " +
		"Write it as a URL, postgres://user:password@host:5432/dbname?sslmode=require (percent-encode special " +
		"characters in the password), or give a SQLite file path without '=' and spaces"
	for setting, want := range map[string]string{
		"host=127.0.0.1 user=vpp password=Hunter2-secret dbname=engine": keywordMsg,
		"  dbname=engine  ": keywordMsg,
		"user=vpp":          keywordMsg,
		"sqlite://host=db password=Hunter2-secret": keywordMsg,
		"data/PASSWORD=Hunter2-secret.db":          keywordMsg,
		"mysql://vpp:Hunter2-secret@db/engine":     `store: the database setting is a URL with the scheme "mysql"://, which is not supported: give a SQLite file path, or a postgres:// URL for PostgreSQL`,
		"engine.db?mode=ro":                        `store: SQLite path "engine.db?mode=ro" must not contain '?' or '#': choose another file name`,
	} {
		t.Run(setting, func(t *testing.T) {
			err := store.CheckURL(setting)
			if err == nil || err.Error() != want {
				t.Fatalf("CheckURL: %v\nwant %s", err, want)
			}
			if _, err := store.Open(ctx, store.Config{URL: setting}); err == nil || err.Error() != want {
				t.Fatalf("Open: %v\nwant %s", err, want)
			}
			if strings.Contains(err.Error(), "Hunter2") {
				t.Fatalf("the error quotes the password: %v", err)
			}
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				t.Errorf("Open left %q in the working directory", e.Name())
			}
		})
	}
	// Paths that merely look unusual are still paths.
	for _, ok := range []string{"engine.db", "./.vpp/engine.db", "sqlite://engine.db", "/tmp/a=b/engine.db", "my engine.db",
		"postgres://vpp:pw@127.0.0.1/engine", "PostgreSQL://vpp@host/db"} {
		if err := store.CheckURL(ok); err != nil {
			t.Errorf("CheckURL(%q): %v", ok, err)
		}
	}
}

func TestSQLitePath(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	for setting, want := range map[string]string{
		"engine.db":                 filepath.Join(dir, "engine.db"),
		" sqlite://.vpp/engine.db ": filepath.Join(dir, ".vpp", "engine.db"),
		"/var/lib/vpp/engine.db":    "/var/lib/vpp/engine.db",
	} {
		if got, err := store.SQLitePath(setting); err != nil || got != want {
			t.Errorf("SQLitePath(%q) = %q, %v; want %q", setting, got, err, want)
		}
	}
	if _, err := store.SQLitePath("postgres://host/db"); err == nil {
		t.Error("SQLitePath accepted a PostgreSQL URL")
	}
}

// A device or a FIFO is refused before SQLite opens it: SQLite failed with "disk I/O error" and
// left a -journal file beside it (in /dev for /dev/null, when run as root).
func TestOpenRefusesSpecialFiles(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "engine.db")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), "engine.db")
	if err := os.Symlink("/dev/null", link); err != nil {
		t.Fatal(err)
	}
	for path, kind := range map[string]string{"/dev/null": "a character device", fifo: "a named pipe (FIFO)", link: "a character device"} {
		t.Run(path, func(t *testing.T) {
			_, err := store.Open(ctx, store.Config{URL: path})
			want := "store: the engine database path " + path + " is " + kind + ", not a regular file: configure the path of a " +
				"file (it is created if missing), not of a device, pipe or socket"
			if err == nil || err.Error() != want {
				t.Fatalf("got %v\nwant %s", err, want)
			}
			for _, suffix := range []string{"-journal", "-wal", "-shm"} {
				if _, err := os.Lstat(path + suffix); err == nil {
					_ = os.Remove(path + suffix)
					t.Errorf("Open left %s%s behind", path, suffix)
				}
			}
		})
	}
}
