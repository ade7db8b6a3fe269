package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// versionTable is goose's bookkeeping table. A name of our own keeps it apart from any other
// goose user sharing a PostgreSQL database.
const versionTable = "vpp_schema_version"

// Open opens (creating on first use) the database cfg.URL names and brings its schema up to date.
// A file path selects SQLite; a postgres:// or postgresql:// URL selects PostgreSQL.
func Open(ctx context.Context, cfg Config) (Store, error) {
	cfg.URL = strings.TrimSpace(cfg.URL)
	if err := CheckURL(cfg.URL); err != nil {
		return nil, err
	}
	if cfg.BusyTimeout <= 0 {
		cfg.BusyTimeout = DefaultBusyTimeout
	}
	aead, err := newSealer(cfg.EncryptionKey)
	if err != nil {
		return nil, err
	}
	s := &db{
		kind:        KindOf(cfg.URL),
		aead:        aead,
		busyTimeout: cfg.BusyTimeout,
		owner:       uuid.NewString(),
		leaseTTL:    leaseTTL,
		leaseRenew:  leaseRenew,
		tokenLocks:  map[string]*tokenLock{},
		held:        map[*heldLock]struct{}{},
	}
	switch s.kind {
	case Postgres:
		err = s.openPostgres(ctx, cfg.URL)
	default:
		err = s.openSQLite(ctx, cfg.URL)
	}
	if err != nil {
		return nil, err
	}
	if err := s.migrate(ctx); err != nil {
		_ = s.sql.Close()
		return nil, err
	}
	if err := s.initMeta(ctx); err != nil {
		_ = s.sql.Close()
		return nil, err
	}
	if err := s.prepareHot(ctx); err != nil {
		_ = s.sql.Close()
		return nil, err
	}
	return s, nil
}

// CheckURL reports, without touching any file or server, why Open would refuse url as the
// database setting: it is empty, a SQLite path that could not be a file name of its own, or not
// one of the forms Open reads (a SQLite file path, or a postgres:// or postgresql:// URL). Its
// errors never quote a setting that may hold a password.
func CheckURL(url string) error {
	url = strings.TrimSpace(url)
	if url == "" {
		return errors.New("store: no database configured: set a SQLite file path or a postgres:// URL")
	}
	if KindOf(url) == Postgres {
		return nil
	}
	_, err := sqlitePath(url)
	return err
}

// libpq's connection keywords: a setting that starts with one of them followed by "=" is a
// keyword/value connection string, not a file name.
var pgKeywords = []string{"host", "hostaddr", "port", "dbname", "user", "password", "passfile", "sslmode",
	"connect_timeout", "application_name", "options", "service", "target_session_attrs", "sslrootcert",
	"sslcert", "sslkey", "sslpassword", "krbsrvname", "gssencmode", "channel_binding", "require_auth"}

// sqlitePath returns the file path a SQLite setting names (without a sqlite:// prefix), or why it
// names none. A PostgreSQL keyword/value connection string, or a URL of another scheme, would
// otherwise become a file (or directory) whose name holds its password.
func sqlitePath(setting string) (string, error) {
	path := strings.TrimPrefix(setting, "sqlite://")
	lower := strings.ToLower(path)
	keyword := strings.Contains(lower, "password=") || (strings.Contains(path, "=") && strings.ContainsAny(path, " \t\r\n"))
	for _, f := range strings.Fields(lower) {
		for _, k := range pgKeywords {
			keyword = keyword || strings.HasPrefix(f, k+"=")
		}
	}
	if keyword {
		return "", errors.New("store: the database setting looks like a PostgreSQL keyword/value connection string " +
			"(host=... user=... password=...), which is not supported, so it was not used as a SQLite file name either. " +
			"Write it as a URL, postgres://user:password@host:5432/dbname?sslmode=require (percent-encode special " +
			"characters in the password), or give a SQLite file path without '=' and spaces")
	}
	if i := strings.Index(path, "://"); i > 0 && !strings.ContainsAny(path[:i], "/\\.") {
		return "", fmt.Errorf("store: the database setting is a URL with the scheme %s://, which is not supported: "+
			"give a SQLite file path, or a postgres:// URL for PostgreSQL", quoteScheme(path[:i]))
	}
	if strings.ContainsAny(path, "?#") {
		return "", fmt.Errorf("store: SQLite path %q must not contain '?' or '#': choose another file name", path)
	}
	return path, nil
}

// quoteScheme quotes a URL scheme for a message, at most 20 bytes of it.
func quoteScheme(s string) string {
	if len(s) > 20 {
		s = s[:20] + "..."
	}
	return fmt.Sprintf("%q", s)
}

// SQLitePath returns the absolute path of the SQLite file a database setting names (the file Open
// creates or opens), or an error when the setting is not a SQLite path (see CheckURL).
func SQLitePath(setting string) (string, error) {
	setting = strings.TrimSpace(setting)
	if KindOf(setting) == Postgres {
		return "", errors.New("store: the database setting is a PostgreSQL URL, not a SQLite path")
	}
	path, err := sqlitePath(setting)
	if err != nil {
		return "", err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("store: SQLite path %q: %w", path, err)
	}
	return abs, nil
}

// ---- SQLite -------------------------------------------------------------------------------

func (s *db) openSQLite(ctx context.Context, setting string) error {
	abs, err := SQLitePath(setting)
	if err != nil {
		return err
	}
	s.where = abs
	dir := filepath.Dir(abs)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("store: cannot create the directory %s for the engine database: %w; check its permissions or configure another path", dir, err)
	}
	// Create the file with owner-only permissions before the driver does (it would use 0644).
	f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	switch {
	case err == nil:
		_ = f.Close()
	case errors.Is(err, fs.ErrExist):
		fi, serr := os.Stat(abs)
		if serr != nil {
			return fmt.Errorf("store: cannot read the engine database %s: %w", abs, serr)
		}
		if fi.IsDir() {
			return fmt.Errorf("store: the engine database path %s is a directory: configure a file path", abs)
		}
		if !fi.Mode().IsRegular() {
			// SQLite would fail on it ("disk I/O error") after creating a -journal beside it.
			return fmt.Errorf("store: the engine database path %s is %s, not a regular file: configure the path of a file "+
				"(it is created if missing), not of a device, pipe or socket", abs, fileKind(fi.Mode()))
		}
		f, err := os.OpenFile(abs, os.O_RDWR, 0)
		if err != nil {
			return fmt.Errorf("store: the engine database %s is not writable: %w; fix its permissions or configure another path", abs, err)
		}
		_ = f.Close()
	default:
		return fmt.Errorf("store: cannot create the engine database %s: %w; check the permissions of %s or configure another path", abs, err, dir)
	}

	q := url.Values{}
	q.Set("_txlock", "immediate")
	q.Add("_pragma", "busy_timeout("+strconv.FormatInt(s.busyTimeout.Milliseconds(), 10)+")")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	sdb, err := sql.Open("sqlite", abs+"?"+q.Encode())
	if err != nil {
		return fmt.Errorf("store: open SQLite database %s: %w", abs, err)
	}
	// Transactions are serialised by writeSem (one writer per process, as SQLite allows); a
	// second connection serves goose and lease renewal while a long transaction runs.
	sdb.SetMaxOpenConns(4)
	sdb.SetMaxIdleConns(4)
	sdb.SetConnMaxLifetime(0)
	sdb.SetConnMaxIdleTime(0)
	if err := sdb.PingContext(ctx); err != nil {
		_ = sdb.Close()
		return s.sqliteOpenError(err)
	}
	// Check that the database really is writable (a read-only file or directory makes SQLite
	// fall back to read-only, or fail only at the first write).
	if _, err := sdb.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS vpp_probe (x INTEGER)"); err != nil {
		_ = sdb.Close()
		return s.sqliteOpenError(err)
	}
	if _, err := sdb.ExecContext(ctx, "DROP TABLE IF EXISTS vpp_probe"); err != nil {
		_ = sdb.Close()
		return s.sqliteOpenError(err)
	}
	s.sql = sdb
	s.writeSem = make(chan struct{}, 1)
	return nil
}

// fileKind names the kind of a file that is not a regular file or a directory.
func fileKind(m fs.FileMode) string {
	switch {
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	default:
		return "a special file"
	}
}

func (s *db) sqliteOpenError(err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PERM, sqlite3.SQLITE_AUTH:
			return fmt.Errorf("store: the engine database %s cannot be opened for writing: %w; check the permissions of the file and its directory, or configure another path", s.where, err)
		case sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT:
			return fmt.Errorf("store: %s is not a usable SQLite database: %w; configure another path or restore the file", s.where, err)
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return s.busyError(err)
		}
	}
	return fmt.Errorf("store: open the engine database %s: %w", s.where, err)
}

// ---- PostgreSQL ---------------------------------------------------------------------------

func (s *db) openPostgres(ctx context.Context, rawURL string) error {
	s.where = redactURL(rawURL)
	secrets := urlSecrets(rawURL)
	pcfg, err := pgx.ParseConfig(rawURL)
	if err != nil {
		return fmt.Errorf("store: invalid PostgreSQL URL: %s; use postgres://user:password@host:5432/database", redact(err.Error(), secrets))
	}
	if pcfg.ConnectTimeout == 0 {
		pcfg.ConnectTimeout = 30 * time.Second
	}
	sdb := stdlib.OpenDB(*pcfg)
	sdb.SetMaxIdleConns(8)
	sdb.SetConnMaxIdleTime(5 * time.Minute)
	if err := sdb.PingContext(ctx); err != nil {
		_ = sdb.Close()
		return postgresOpenError(s.where, pcfg, err, secrets)
	}
	s.sql = sdb
	return nil
}

func postgresOpenError(where string, pcfg *pgx.ConnConfig, err error, secrets []string) error {
	msg := redact(err.Error(), secrets)
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "28P01", "28000":
			return fmt.Errorf("store: PostgreSQL at %s rejected the credentials of user %q (%s): check the user name and password in the URL", where, pcfg.User, msg)
		case "3D000":
			return fmt.Errorf("store: database %q does not exist on the PostgreSQL server at %s: create it (CREATE DATABASE) or fix the URL", pcfg.Database, where)
		case "42501":
			return fmt.Errorf("store: user %q may not use database %q at %s (%s): grant it CONNECT and CREATE, or use another user", pcfg.User, pcfg.Database, where, msg)
		case "53300":
			return fmt.Errorf("store: the PostgreSQL server at %s has no free connections (%s): retry later or raise max_connections", where, msg)
		}
	}
	var ne net.Error
	var ce *pgconn.ConnectError
	if errors.As(err, &ne) || errors.As(err, &ce) {
		return fmt.Errorf("store: cannot connect to PostgreSQL at %s: %s; check that the server is running and reachable and that the URL is right", where, msg)
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return fmt.Errorf("store: connecting to PostgreSQL at %s: %w", where, err)
	}
	return fmt.Errorf("store: connect to PostgreSQL at %s: %s", where, msg)
}

// redactURL returns rawURL with any password (userinfo or password= parameter) replaced.
func redactURL(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		// Do not echo what may contain a password.
		return "(unparseable PostgreSQL URL)"
	}
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
	}
	q := u.Query()
	changed := false
	for k := range q {
		if strings.EqualFold(k, "password") {
			q.Set(k, "xxxxx")
			changed = true
		}
	}
	if changed {
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// urlSecrets lists the passwords in rawURL, in clear and escaped, for redact.
func urlSecrets(rawURL string) []string {
	var out []string
	add := func(p string) {
		if p == "" {
			return
		}
		out = append(out, p, url.QueryEscape(p), url.PathEscape(p), url.UserPassword("", p).String()[1:])
	}
	if u, err := url.Parse(rawURL); err == nil {
		if u.User != nil {
			if p, ok := u.User.Password(); ok {
				add(p)
			}
		}
		for k, vs := range u.Query() {
			if strings.EqualFold(k, "password") {
				for _, v := range vs {
					add(v)
				}
			}
		}
	} else if i := strings.Index(rawURL, "://"); i >= 0 {
		// Best effort for a URL net/url rejects: the text between ':' and the last '@'.
		rest := rawURL[i+3:]
		if at := strings.LastIndex(rest, "@"); at >= 0 {
			if c := strings.Index(rest[:at], ":"); c >= 0 {
				add(rest[c+1 : at])
			}
		}
	}
	return out
}

func redact(msg string, secrets []string) string {
	for _, p := range secrets {
		if len(p) >= 1 {
			msg = strings.ReplaceAll(msg, p, "xxxxx")
		}
	}
	return msg
}

// ---- migrations and meta ------------------------------------------------------------------

func (s *db) migrate(ctx context.Context) error {
	fsys, err := fs.Sub(migrationFS, "migrations")
	if err != nil {
		return err
	}
	opts := []goose.ProviderOption{
		goose.WithTableName(versionTable),
		goose.WithLogger(goose.NopLogger()),
		goose.WithDisableGlobalRegistry(true),
	}
	dialect := goose.DialectSQLite3
	if s.kind == Postgres {
		dialect = goose.DialectPostgres
		h := fnv.New64a()
		_, _ = h.Write([]byte("vpp-migrate"))
		locker, err := lock.NewPostgresSessionLocker(
			lock.WithLockID(int64(h.Sum64())),
			lock.WithLockTimeout(1, 600),
		)
		if err != nil {
			return err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	run := func() error {
		p, err := goose.NewProvider(dialect, s.sql, fsys, opts...)
		if err != nil {
			return err
		}
		_, err = p.Up(ctx)
		return err
	}
	err = run()
	if err != nil && s.kind == SQLite {
		// Another process may have been migrating the same file: SQLite runs each migration in
		// a BEGIN IMMEDIATE transaction, so the loser's statements fail ("already exists") and
		// roll back. Re-reading the version after a pause finds the work done.
		for i := 0; i < 3 && err != nil && ctx.Err() == nil; i++ {
			time.Sleep(time.Duration(100*(i+1)) * time.Millisecond)
			err = run()
		}
	}
	if err != nil {
		if s.kind == SQLite {
			return fmt.Errorf("store: migrate the engine database %s: %w", s.where, s.mapErr(err))
		}
		return fmt.Errorf("store: migrate the PostgreSQL database %s: %w", s.where, s.mapErr(err))
	}
	return nil
}

const (
	metaEngineID = "engine_id"
	metaKeyCheck = "key_check"
	keyCheckText = "vpp-engine key check v1"
	keyCheckAAD  = "meta:key_check"
)

// initMeta creates the engine id on first open and reconciles the encryption key with the
// database: it detects a wrong or missing key and seals tokens stored in clear.
func (s *db) initMeta(ctx context.Context) error {
	scrub := false
	err := s.run(ctx, func(x *tx) error {
		if _, err := x.exec(ctx, `INSERT INTO meta (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, metaEngineID, uuid.NewString()); err != nil {
			return err
		}
		id, err := x.meta(ctx, metaEngineID)
		if err != nil {
			return err
		}
		s.engineID = id

		check, err := x.meta(ctx, metaKeyCheck)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		hasCheck := err == nil
		var sealedCount, plainCount int64
		if err := x.queryRow(ctx, `SELECT COUNT(*) FROM tokens WHERE secret_sealed = TRUE`).Scan(&sealedCount); err != nil {
			return s.mapErr(err)
		}
		if err := x.queryRow(ctx, `SELECT COUNT(*) FROM tokens WHERE secret_sealed = FALSE AND secret <> ''`).Scan(&plainCount); err != nil {
			return s.mapErr(err)
		}
		if s.aead == nil {
			if hasCheck || sealedCount > 0 {
				return fmt.Errorf("%w: the engine database %s was set up with an encryption key; configure the same key (it is never stored in the database)", ErrKeyRequired, s.where)
			}
			return nil
		}
		if hasCheck {
			if pt, err := s.open(check, keyCheckAAD); err != nil || pt != keyCheckText {
				return fmt.Errorf("%w: the configured key does not open the engine database %s; configure the key it was created with", ErrWrongKey, s.where)
			}
		} else {
			if sealedCount > 0 {
				// Sealed tokens without a check value: try to open one to tell wrong key apart.
				if err := x.verifyAnySealed(ctx); err != nil {
					return err
				}
			}
			sealed, err := s.seal(keyCheckText, keyCheckAAD)
			if err != nil {
				return err
			}
			if _, err := x.exec(ctx, `INSERT INTO meta (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, metaKeyCheck, sealed); err != nil {
				return err
			}
			// Another process may have won the insert with another key.
			check, err := x.meta(ctx, metaKeyCheck)
			if err != nil {
				return err
			}
			if pt, err := s.open(check, keyCheckAAD); err != nil || pt != keyCheckText {
				return fmt.Errorf("%w: the configured key does not open the engine database %s; configure the key it was created with", ErrWrongKey, s.where)
			}
			// First open with a key: clear text of tokens stored (or deleted) before may linger
			// in free pages.
			scrub = true
		}
		if plainCount > 0 {
			if _, err := x.sealPlaintextTokens(ctx); err != nil {
				return err
			}
			scrub = true
		}
		return nil
	})
	if err != nil {
		return err
	}
	if scrub {
		s.scrub(ctx)
	}
	return nil
}

// scrub rewrites storage so that the clear text of tokens sealed just now survives nowhere:
// SQLite rebuilds the file and empties the WAL; PostgreSQL rewrites the tokens table. Best
// effort: a failure leaves a working (sealed) database.
func (s *db) scrub(ctx context.Context) {
	if s.kind == Postgres {
		// VACUUM FULL needs an exclusive lock on tokens: do not wait long for it.
		vctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_, _ = s.sql.ExecContext(vctx, `VACUUM FULL tokens`)
		return
	}
	if err := s.acquireWrite(ctx); err != nil {
		return
	}
	defer s.releaseWrite()
	conn, err := s.sql.Conn(ctx)
	if err != nil {
		return
	}
	defer conn.Close()
	_, _ = conn.ExecContext(ctx, `VACUUM`)
	_, _ = conn.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
}
