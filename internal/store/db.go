package store

import (
	"context"
	"crypto/cipher"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// db implements Store for both backends.
type db struct {
	kind        Kind
	sql         *sql.DB
	where       string // SQLite file path or redacted PostgreSQL URL, for messages
	aead        cipher.AEAD
	engineID    string
	busyTimeout time.Duration
	owner       string // this instance's identity in SQLite lease rows
	leaseTTL    time.Duration
	leaseRenew  time.Duration

	// writeSem serialises this instance's SQLite transactions, so that only other processes
	// ever make a transaction wait on SQLite's busy handler. Nil on PostgreSQL.
	writeSem chan struct{}

	lockMu     sync.Mutex
	tokenLocks map[string]*tokenLock
	held       map[*heldLock]struct{}

	// hot holds SQLite statements prepared once, for the reads every refresh makes (see
	// prepareHot). Read-only after Open. Nil on PostgreSQL, whose driver caches statements.
	hot     map[string]*sql.Stmt
	hotUses atomic.Int64 // for tests: how often a hot statement served a query

	closeOnce sync.Once
	closeErr  error
}

// hotQueries are the statements of an assignment's refresh: Terraform reads every assignment at
// every plan, and parsing them anew each time was a sixth of the provider's CPU.
var hotQueries = []string{
	assignmentByIDQuery,
	tokenByIDQuery,
	deliveriesQuery("email"),
}

// prepareHot prepares hotQueries on SQLite. They are prepared here, while no transaction holds a
// connection: preparing on the pool from inside a transaction could wait for a free connection
// forever. A transaction then reuses them on its connection (Tx.StmtContext).
func (s *db) prepareHot(ctx context.Context) error {
	if s.kind != SQLite {
		return nil
	}
	s.hot = make(map[string]*sql.Stmt, len(hotQueries))
	for _, q := range hotQueries {
		st, err := s.sql.PrepareContext(ctx, q)
		if err != nil {
			return fmt.Errorf("store: prepare %q: %w", q, err)
		}
		s.hot[q] = st
	}
	return nil
}

var _ Store = (*db)(nil)

func (s *db) Kind() Kind       { return s.kind }
func (s *db) EngineID() string { return s.engineID }

// Close releases held token locks and the database. Safe to call more than once.
func (s *db) Close() error {
	s.closeOnce.Do(func() {
		s.lockMu.Lock()
		held := make([]*heldLock, 0, len(s.held))
		for h := range s.held {
			held = append(held, h)
		}
		s.lockMu.Unlock()
		for _, h := range held {
			h.unlock()
		}
		for _, st := range s.hot {
			_ = st.Close()
		}
		s.closeErr = s.sql.Close()
	})
	return s.closeErr
}

// acquireWrite takes this instance's SQLite write slot, waiting at most the busy timeout.
func (s *db) acquireWrite(ctx context.Context) error {
	if s.writeSem == nil {
		return nil
	}
	select {
	case s.writeSem <- struct{}{}:
		return nil
	default:
	}
	timer := time.NewTimer(s.busyTimeout)
	defer timer.Stop()
	select {
	case s.writeSem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return fmt.Errorf("%w: another transaction of this process held the engine database %s for longer than %s; retry", ErrBusy, s.where, s.busyTimeout)
	}
}

func (s *db) releaseWrite() {
	if s.writeSem != nil {
		<-s.writeSem
	}
}

const maxTxAttempts = 6

// Tx runs fn in one transaction, retrying it on PostgreSQL serialisation failures and deadlocks.
func (s *db) Tx(ctx context.Context, fn func(tx Tx) error) error {
	return s.run(ctx, func(t *tx) error { return fn(t) })
}

// View runs fn in a read-only transaction, without this process's write slot.
func (s *db) View(ctx context.Context, fn func(tx Tx) error) error {
	return s.runTx(ctx, true, func(t *tx) error { return fn(t) })
}

// run is Tx for the store's own use, with the concrete transaction type.
func (s *db) run(ctx context.Context, fn func(t *tx) error) error {
	return s.runTx(ctx, false, fn)
}

func (s *db) runTx(ctx context.Context, readOnly bool, fn func(t *tx) error) error {
	for attempt := 1; ; attempt++ {
		err := s.txOnce(ctx, readOnly, fn)
		if err == nil || s.kind != Postgres || !isRetryable(err) || attempt >= maxTxAttempts {
			return err
		}
		backoff := time.Duration(5<<attempt)*time.Millisecond + time.Duration(rand.Int64N(int64(10*time.Millisecond)))
		select {
		case <-ctx.Done():
			return err
		case <-time.After(backoff):
		}
	}
}

func (s *db) txOnce(ctx context.Context, readOnly bool, fn func(t *tx) error) (err error) {
	var opts *sql.TxOptions
	if readOnly {
		// SQLite: a deferred BEGIN (the driver's _txlock applies to writers only), which in WAL
		// mode reads a snapshot without blocking or being blocked. PostgreSQL: BEGIN READ ONLY.
		opts = &sql.TxOptions{ReadOnly: true}
	} else {
		if err := s.acquireWrite(ctx); err != nil {
			return err
		}
		defer s.releaseWrite()
	}
	sqlTx, err := s.sql.BeginTx(ctx, opts)
	if err != nil {
		return s.mapErr(fmt.Errorf("store: begin transaction: %w", err))
	}
	t := &tx{s: s, tx: sqlTx}
	done := false
	defer func() {
		t.closeStmts()
		if !done {
			_ = sqlTx.Rollback()
		}
	}()
	if err := fn(t); err != nil {
		return err
	}
	t.closeStmts()
	done = true
	if err := sqlTx.Commit(); err != nil {
		return s.mapErr(fmt.Errorf("store: commit: %w", err))
	}
	return nil
}

// isRetryable reports a PostgreSQL serialisation failure or deadlock.
func isRetryable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "40001" || pe.Code == "40P01"
	}
	return false
}

// busyError explains a SQLite busy error to a Terraform user.
func (s *db) busyError(err error) error {
	return fmt.Errorf("%w: another terraform process holds the engine database %s (waited %s): retry, or use PostgreSQL for concurrent runs (%w)", ErrBusy, s.where, s.busyTimeout, err)
}

// mapErr maps driver errors to the sentinel errors, keeping the original in the chain.
func (s *db) mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w (%w)", ErrNotFound, err)
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		code := se.Code()
		switch code {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%w: %w", ErrConflict, err)
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return fmt.Errorf("%w: a referenced token, group or assignment does not exist (%w)", ErrNotFound, err)
		}
		switch code & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return s.busyError(err)
		}
		return err
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505":
			return fmt.Errorf("%w: %w", ErrConflict, err)
		case "23503":
			return fmt.Errorf("%w: a referenced token, group or assignment does not exist (%w)", ErrNotFound, err)
		case "55P03":
			return fmt.Errorf("%w: %w", ErrBusy, err)
		}
	}
	return err
}
