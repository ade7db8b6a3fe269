package store_test

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vppkit/terraform-provider-vpp/internal/store"
	"github.com/vppkit/terraform-provider-vpp/internal/store/storetest"
)

func TestOpenMigratesOnceAndKeepsEngineID(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, kind store.Kind) {
		url := storetest.URL(t, kind)
		s1, err := store.Open(ctx, store.Config{URL: url})
		if err != nil {
			t.Fatal(err)
		}
		if s1.Kind() != kind {
			t.Fatalf("Kind = %s, want %s", s1.Kind(), kind)
		}
		id := s1.EngineID()
		if _, err := uuid.Parse(id); err != nil {
			t.Fatalf("engine id %q is not a UUID: %v", id, err)
		}
		insertToken(t, s1, token("t1", "l1"))
		if err := s1.Close(); err != nil {
			t.Fatal(err)
		}
		if err := s1.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}

		s2 := storetest.OpenURL(t, url)
		if s2.EngineID() != id {
			t.Fatalf("engine id changed on reopen: %s -> %s", id, s2.EngineID())
		}
		mustTx(t, s2, func(tx store.Tx) error {
			_, err := tx.GetToken(ctx, "t1")
			return err
		})
		db := rawDB(t, url)
		if n := count(t, db, `SELECT COUNT(*) FROM vpp_schema_version WHERE version_id = 1`); n != 1 {
			t.Fatalf("migration 1 recorded %d times, want 1", n)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM meta WHERE name = 'engine_id'`); n != 1 {
			t.Fatalf("%d engine ids, want 1", n)
		}
	})
}

func TestConcurrentOpenOfANewDatabase(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, kind store.Kind) {
		url := storetest.URL(t, kind)
		const n = 4
		ids := make([]string, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s, err := store.Open(ctx, store.Config{URL: url})
				if err != nil {
					errs[i] = err
					return
				}
				ids[i] = s.EngineID()
				errs[i] = s.Close()
			}()
		}
		wg.Wait()
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("open %d: %v", i, errs[i])
			}
			if ids[i] != ids[0] {
				t.Fatalf("engine ids differ: %v", ids)
			}
		}
	})
}

func TestSQLiteFilePermissions(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "nested", ".vpp")
	path := filepath.Join(dir, "engine.db")
	s := storetest.OpenURL(t, path)
	insertToken(t, s, token("t1", "l1"))
	if s.Kind() != store.SQLite {
		t.Fatalf("Kind = %s", s.Kind())
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o700 {
		t.Errorf("directory mode %o, want 700", perm)
	}
	fi, err = os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("file mode %o, want 600", perm)
	}
	// While the store is open in WAL mode, SQLite keeps the write-ahead log and the shared-memory
	// index beside the database; they hold the same data and must be as private.
	for _, side := range []string{path + "-wal", path + "-shm"} {
		fi, err := os.Stat(side)
		if err != nil {
			t.Fatalf("%s while the store is open: %v", filepath.Base(side), err)
		}
		if perm := fi.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s mode %o, want 600", filepath.Base(side), perm)
		}
	}
	// WAL mode is on.
	var mode string
	if err := rawDB(t, path).QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if !strings.EqualFold(mode, "wal") {
		t.Errorf("journal_mode %q, want wal", mode)
	}
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	t.Run("empty", func(t *testing.T) {
		if _, err := store.Open(ctx, store.Config{}); err == nil {
			t.Fatal("Open with no URL succeeded")
		}
	})
	// Each SQLite cause has its own message: what is wrong, with the path, and what to do.
	wantErr := func(t *testing.T, err error, pattern string) {
		t.Helper()
		if err == nil || !regexp.MustCompile(pattern).MatchString(err.Error()) {
			t.Fatalf("error %v\nwant it to match %s", err, pattern)
		}
	}
	t.Run("sqlite directory cannot be created", func(t *testing.T) {
		// A regular file where a directory should be: refused whatever the user (root too).
		file := filepath.Join(t.TempDir(), "a-file")
		if err := os.WriteFile(file, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(file, "sub", "engine.db")
		_, err := store.Open(ctx, store.Config{URL: path})
		wantErr(t, err, `^store: cannot create the directory `+regexp.QuoteMeta(filepath.Join(file, "sub"))+
			` for the engine database: .+; check its permissions or configure another path$`)
	})
	notWritable := func(path string) string {
		return `^store: the engine database ` + regexp.QuoteMeta(path) + ` is not writable: open ` + regexp.QuoteMeta(path) +
			`: .+; fix its permissions or configure another path$`
	}
	t.Run("sqlite file read-only", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("root writes to read-only files; the next subtest covers an existing file root cannot write")
		}
		path := filepath.Join(t.TempDir(), "engine.db")
		storetest.OpenURL(t, path).Close()
		if err := os.Chmod(path, 0o400); err != nil {
			t.Fatal(err)
		}
		_, err := store.Open(ctx, store.Config{URL: path})
		wantErr(t, err, notWritable(path))
	})
	t.Run("sqlite file the system will not open for writing", func(t *testing.T) {
		// The running test binary: Linux refuses to open an executing file for writing (text
		// file busy), for root too.
		path, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		if path, err = filepath.EvalSymlinks(path); err != nil {
			t.Fatal(err)
		}
		if f, err := os.OpenFile(path, os.O_RDWR, 0); err == nil {
			_ = f.Close()
			t.Skipf("this system lets a running executable be opened for writing (%s)", path)
		}
		_, err = store.Open(ctx, store.Config{URL: path})
		wantErr(t, err, notWritable(path))
	})
	t.Run("sqlite path is a directory", func(t *testing.T) {
		dir := t.TempDir()
		_, err := store.Open(ctx, store.Config{URL: dir})
		wantErr(t, err, `^store: the engine database path `+regexp.QuoteMeta(dir)+` is a directory: configure a file path$`)
	})
	t.Run("sqlite not a database", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "engine.db")
		if err := os.WriteFile(path, []byte(strings.Repeat("this is not sqlite ", 400)), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := store.Open(ctx, store.Config{URL: path})
		wantErr(t, err, `^store: `+regexp.QuoteMeta(path)+` is not a usable SQLite database: .*file is not a database.*; configure another path or restore the file$`)
	})
	t.Run("postgres unreachable", func(t *testing.T) {
		const pw = "Sup3r-Secret-pw"
		_, err := store.Open(ctx, store.Config{URL: "postgres://vpp:" + pw + "@127.0.0.1:1/engine?sslmode=disable&connect_timeout=5"})
		if err == nil {
			t.Fatal("Open succeeded")
		}
		if strings.Contains(err.Error(), pw) {
			t.Fatalf("error leaks the password: %v", err)
		}
		if !strings.Contains(err.Error(), "cannot connect") || !strings.Contains(err.Error(), "127.0.0.1") {
			t.Fatalf("error does not explain: %v", err)
		}
	})
	t.Run("postgres invalid url", func(t *testing.T) {
		const pw = "Sup3r-Secret-pw"
		_, err := store.Open(ctx, store.Config{URL: "postgres://vpp:" + pw + "@127.0.0.1:notaport/engine"})
		if err == nil || strings.Contains(err.Error(), pw) {
			t.Fatalf("error %v (must exist and not contain the password)", err)
		}
	})
	t.Run("postgres wrong credentials", func(t *testing.T) {
		{
			url := storetest.Postgres(t)
			db := rawDB(t, url)
			role := "pw_" + strings.ReplaceAll(uuid.NewString()[:8], "-", "")
			if _, err := db.ExecContext(ctx, `CREATE ROLE `+role+` LOGIN PASSWORD 'right-pass-1' IN ROLE `+storetest.PasswordRole); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _, _ = db.ExecContext(ctx, `DROP ROLE `+role) })
			const wrong = "Wr0ng-pass-xyz"
			bad := strings.Replace(url, "postgres@", role+":"+wrong+"@", 1)
			_, err := store.Open(ctx, store.Config{URL: bad})
			if err == nil {
				t.Fatal("Open with a wrong password succeeded")
			}
			if strings.Contains(err.Error(), wrong) {
				t.Fatalf("error leaks the password: %v", err)
			}
			if !strings.Contains(err.Error(), "credentials") || !strings.Contains(err.Error(), role) {
				t.Fatalf("error does not say the credentials are wrong: %v", err)
			}
			// The right password works (and the database is usable by a non-superuser owner).
			if _, err := db.ExecContext(ctx, `GRANT ALL ON SCHEMA public TO `+role); err != nil {
				t.Fatal(err)
			}
			good := strings.Replace(url, "postgres@", role+":right-pass-1@", 1)
			s := storetest.OpenURL(t, good)
			insertToken(t, s, token("t1", "l1"))
		}
	})
	t.Run("postgres missing database", func(t *testing.T) {
		{
			url := storetest.Postgres(t)
			i := strings.LastIndex(url, "/")
			j := strings.Index(url, "?")
			missing := url[:i+1] + "no_such_db" + url[j:]
			_, err := store.Open(ctx, store.Config{URL: missing})
			if err == nil || !strings.Contains(err.Error(), "does not exist") {
				t.Fatalf("error %v", err)
			}
		}
	})
}

func TestSQLiteBusy(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "engine.db")
	a := storetest.OpenURL(t, path)
	b := storetest.OpenURL(t, path, storetest.WithBusyTimeout(300*time.Millisecond))
	c := storetest.OpenURL(t, path, storetest.WithBusyTimeout(10*time.Second))
	insertToken(t, a, token("t1", "l1"))

	// a holds the write lock (as another terraform process would) while b tries to write.
	holding := make(chan struct{})
	release := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- a.Tx(ctx, func(tx store.Tx) error {
			if err := tx.InsertGroup(ctx, store.Group{ID: "g-a"}); err != nil {
				return err
			}
			close(holding)
			<-release
			return nil
		})
	}()
	<-holding
	start := time.Now()
	err := b.Tx(ctx, func(tx store.Tx) error { return tx.InsertGroup(ctx, store.Group{ID: "g-b"}) })
	if !errors.Is(err, store.ErrBusy) {
		t.Fatalf("write while another process writes: %v, want ErrBusy", err)
	}
	if !strings.Contains(err.Error(), "PostgreSQL") || !strings.Contains(err.Error(), "retry") {
		t.Fatalf("busy error does not advise: %v", err)
	}
	if waited := time.Since(start); waited < 250*time.Millisecond {
		t.Fatalf("gave up after %v, before the busy timeout", waited)
	}
	// Within the timeout, a writer waits instead of failing.
	go func() {
		time.Sleep(100 * time.Millisecond)
		close(release)
	}()
	if err := c.Tx(ctx, func(tx store.Tx) error { return tx.InsertGroup(ctx, store.Group{ID: "g-c"}) }); err != nil {
		t.Fatalf("write that should have waited: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
