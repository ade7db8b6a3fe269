package store

import (
	"errors"
	"path/filepath"
	"testing"
	"time"
)

func TestSQLiteLeaseRenewalAndExpiry(t *testing.T) {
	ctx := t.Context()
	oldTTL, oldRenew := leaseTTL, leaseRenew
	leaseTTL, leaseRenew = 800*time.Millisecond, 100*time.Millisecond
	defer func() { leaseTTL, leaseRenew = oldTTL, oldRenew }()

	path := filepath.Join(t.TempDir(), "engine.db")
	open := func(busy time.Duration) *db {
		s, err := Open(ctx, Config{URL: path, BusyTimeout: busy})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		d, ok := s.(*db)
		if !ok {
			t.Fatalf("Open returned %T", s)
		}
		return d
	}
	a, b := open(time.Second), open(300*time.Millisecond)

	// A held lease is renewed past its TTL.
	unlock, err := a.LockToken(ctx, "x")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * leaseTTL / 2)
	if _, err := b.LockToken(ctx, "x"); !errors.Is(err, ErrBusy) {
		t.Fatalf("lock of a renewed lease: %v, want ErrBusy", err)
	}
	unlock()
	u, err := b.LockToken(ctx, "x")
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	u()

	// A crashed holder's lease (never renewed) lapses: a waiter gets it once it expires.
	setLease := func(name string, expires time.Time) {
		err := a.run(ctx, func(x *tx) error {
			_, err := x.exec(ctx, `INSERT INTO locks (name, owner, expires_at) VALUES ($1, 'crashed', $2)`, name, ms(expires))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	setLease("token:y", time.Now().Add(-time.Second))
	u, err = b.LockToken(ctx, "y")
	if err != nil {
		t.Fatalf("lock over an expired lease: %v", err)
	}
	u()
	setLease("token:z", time.Now().Add(time.Hour))
	if _, err := b.LockToken(ctx, "z"); !errors.Is(err, ErrBusy) {
		t.Fatalf("lock over a live lease: %v, want ErrBusy", err)
	}
	setLease("token:w", time.Now().Add(400*time.Millisecond))
	start := time.Now()
	u, err = a.LockToken(ctx, "w")
	if err != nil {
		t.Fatalf("lock over a lease that lapses within the busy timeout: %v", err)
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Fatalf("got a live lease after %v", d)
	}
	u()
}
