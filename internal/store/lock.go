package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"
	"time"
)

// SQLite lease timing: a holder renews its lease every leaseRenew; a crashed holder's lease
// lapses after leaseTTL. Copied into each store at Open (tests shorten them).
var (
	leaseTTL   = 20 * time.Second
	leaseRenew = 5 * time.Second
)

// tokenLock is the in-process part of a token lock: a one-slot semaphore shared by the
// goroutines that want the token, counted so the map entry goes when nobody does.
type tokenLock struct {
	ch   chan struct{}
	refs int
}

// heldLock is one acquired token lock.
type heldLock struct {
	s       *db
	tokenID string
	once    sync.Once
	release func() // releases the cross-process part
}

func (h *heldLock) unlock() {
	h.once.Do(func() {
		h.release()
		h.s.lockMu.Lock()
		delete(h.s.held, h)
		h.s.lockMu.Unlock()
		h.s.releaseLocal(h.tokenID)
	})
}

// LockToken serialises work on one token: an in-process semaphore, then a PostgreSQL advisory
// lock on a dedicated connection or a SQLite lease row. It waits up to the busy timeout.
func (s *db) LockToken(ctx context.Context, tokenID string) (func(), error) {
	wctx, cancel := context.WithTimeout(ctx, s.busyTimeout)
	defer cancel()
	busy := func(cause error) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if cause != nil && !errors.Is(cause, context.DeadlineExceeded) && !errors.Is(cause, ErrBusy) {
			return cause
		}
		return fmt.Errorf("%w: token %s is locked by another engine (another terraform process or goroutine) and was not released within %s; retry later", ErrBusy, tokenID, s.busyTimeout)
	}

	if err := s.acquireLocal(wctx, tokenID); err != nil {
		return nil, busy(err)
	}
	var release func()
	var err error
	if s.kind == Postgres {
		release, err = s.lockPostgres(wctx, tokenID)
	} else {
		release, err = s.lockSQLite(wctx, tokenID)
	}
	if err != nil {
		s.releaseLocal(tokenID)
		return nil, busy(err)
	}
	h := &heldLock{s: s, tokenID: tokenID, release: release}
	s.lockMu.Lock()
	s.held[h] = struct{}{}
	s.lockMu.Unlock()
	return h.unlock, nil
}

func (s *db) acquireLocal(ctx context.Context, tokenID string) error {
	s.lockMu.Lock()
	l := s.tokenLocks[tokenID]
	if l == nil {
		l = &tokenLock{ch: make(chan struct{}, 1)}
		s.tokenLocks[tokenID] = l
	}
	l.refs++
	s.lockMu.Unlock()
	select {
	case l.ch <- struct{}{}:
		return nil
	case <-ctx.Done():
		s.lockMu.Lock()
		l.refs--
		if l.refs == 0 {
			delete(s.tokenLocks, tokenID)
		}
		s.lockMu.Unlock()
		return ctx.Err()
	}
}

func (s *db) releaseLocal(tokenID string) {
	s.lockMu.Lock()
	defer s.lockMu.Unlock()
	l := s.tokenLocks[tokenID]
	<-l.ch
	l.refs--
	if l.refs == 0 {
		delete(s.tokenLocks, tokenID)
	}
}

// sleepPoll waits d (growing) or until ctx ends.
func sleepPoll(ctx context.Context, d *time.Duration) error {
	t := time.NewTimer(*d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
	}
	*d = min(*d*2, 500*time.Millisecond)
	return nil
}

// advisoryKey is the PostgreSQL advisory lock key of a token.
func advisoryKey(tokenID string) int64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte("vpp-token:" + tokenID))
	return int64(h.Sum64())
}

// discardConn closes conn and keeps the pool from reusing its session (which may hold a lock).
func discardConn(conn *sql.Conn) {
	_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	_ = conn.Close()
}

func (s *db) lockPostgres(ctx context.Context, tokenID string) (func(), error) {
	key := advisoryKey(tokenID)
	conn, err := s.sql.Conn(ctx)
	if err != nil {
		return nil, s.mapErr(err)
	}
	wait := 20 * time.Millisecond
	for {
		var ok bool
		if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&ok); err != nil {
			discardConn(conn)
			return nil, s.mapErr(err)
		}
		if ok {
			break
		}
		if err := sleepPoll(ctx, &wait); err != nil {
			discardConn(conn)
			return nil, err
		}
	}
	return func() {
		uctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var ok bool
		if err := conn.QueryRowContext(uctx, `SELECT pg_advisory_unlock($1)`, key).Scan(&ok); err != nil || !ok {
			// Ending the session releases the lock.
			discardConn(conn)
			return
		}
		_ = conn.Close()
	}, nil
}

func (s *db) lockSQLite(ctx context.Context, tokenID string) (func(), error) {
	name := "token:" + tokenID
	wait := 20 * time.Millisecond
	for {
		ok, err := s.tryLease(ctx, name)
		if err != nil && !errors.Is(err, ErrBusy) {
			return nil, err
		}
		if ok {
			break
		}
		if err := sleepPoll(ctx, &wait); err != nil {
			return nil, err
		}
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(s.leaseRenew)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				rctx, cancel := context.WithTimeout(context.Background(), s.leaseRenew)
				_ = s.run(rctx, func(t *tx) error {
					_, err := t.exec(rctx, `UPDATE locks SET expires_at = $3 WHERE name = $1 AND owner = $2`,
						name, s.owner, ms(time.Now().Add(s.leaseTTL)))
					return err
				})
				cancel()
			}
		}
	}()
	return func() {
		close(stop)
		<-done
		uctx, cancel := context.WithTimeout(context.Background(), s.busyTimeout)
		defer cancel()
		// On failure the lease simply lapses after leaseTTL.
		_ = s.run(uctx, func(t *tx) error {
			_, err := t.exec(uctx, `DELETE FROM locks WHERE name = $1 AND owner = $2`, name, s.owner)
			return err
		})
	}, nil
}

// tryLease takes the lease row if it is free, lapsed or already ours.
func (s *db) tryLease(ctx context.Context, name string) (bool, error) {
	var got bool
	err := s.run(ctx, func(t *tx) error {
		now := time.Now()
		r, err := t.exec(ctx, `INSERT INTO locks (name, owner, expires_at) VALUES ($1, $2, $3)
			ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
			WHERE locks.expires_at < $4 OR locks.owner = excluded.owner`,
			name, s.owner, ms(now.Add(s.leaseTTL)), ms(now))
		if err != nil {
			return err
		}
		n, err := r.RowsAffected()
		got = n > 0
		return err
	})
	return got, err
}
