package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vppkit/terraform-provider-vpp/internal/store"
	"github.com/vppkit/terraform-provider-vpp/internal/store/storetest"
)

// checkExclusion holds tokenID through a and checks that b waits for it, then gets it.
func checkExclusion(t *testing.T, a, b store.Store) {
	t.Helper()
	unlock, err := a.LockToken(ctx, "tok")
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan func(), 1)
	errc := make(chan error, 1)
	go func() {
		u, err := b.LockToken(ctx, "tok")
		if err != nil {
			errc <- err
			return
		}
		got <- u
	}()
	select {
	case u := <-got:
		u()
		t.Fatal("second holder got the lock while the first held it")
	case err := <-errc:
		t.Fatal(err)
	case <-time.After(300 * time.Millisecond):
	}
	// Another token is not blocked.
	other, err := b.LockToken(ctx, "other")
	if err != nil {
		t.Fatalf("lock of another token: %v", err)
	}
	other()

	unlock()
	unlock() // idempotent
	select {
	case u := <-got:
		u()
	case err := <-errc:
		t.Fatal(err)
	case <-time.After(10 * time.Second):
		t.Fatal("second holder did not get the lock after unlock")
	}
}

func TestLockTokenInProcess(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, s store.Store) {
		checkExclusion(t, s, s)
	})
}

func TestLockTokenAcrossInstances(t *testing.T) {
	t.Parallel()
	eachSharedDatabase(t, func(t *testing.T, a, b store.Store) {
		checkExclusion(t, a, b)
		checkExclusion(t, b, a)
	})
}

func TestLockTokenBusyAndCancel(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, kind store.Kind) {
		url := storetest.URL(t, kind)
		a := storetest.OpenURL(t, url)
		b := storetest.OpenURL(t, url, storetest.WithBusyTimeout(400*time.Millisecond))
		unlock, err := a.LockToken(ctx, "tok")
		if err != nil {
			t.Fatal(err)
		}
		for name, s := range map[string]store.Store{"other instance": b} {
			start := time.Now()
			_, err := s.LockToken(ctx, "tok")
			if !errors.Is(err, store.ErrBusy) {
				t.Fatalf("%s: %v, want ErrBusy", name, err)
			}
			if !strings.Contains(err.Error(), "tok") {
				t.Fatalf("busy error does not name the token: %v", err)
			}
			if d := time.Since(start); d < 350*time.Millisecond || d > 5*time.Second {
				t.Fatalf("%s: gave up after %v, want about the busy timeout", name, d)
			}
		}
		// In one process too (the in-process wait honours the timeout).
		c := storetest.OpenURL(t, url, storetest.WithBusyTimeout(200*time.Millisecond))
		uc, err := c.LockToken(ctx, "tok2")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.LockToken(ctx, "tok2"); !errors.Is(err, store.ErrBusy) {
			t.Fatalf("in-process second lock: %v, want ErrBusy", err)
		}
		uc()
		// A cancelled context ends the wait with the context's error.
		cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		if _, err := a.LockToken(cctx, "tok"); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("cancelled wait: %v, want context.DeadlineExceeded", err)
		}
		// Closing a store releases what it holds.
		if err := a.Close(); err != nil {
			t.Fatal(err)
		}
		unlock() // after Close: harmless
		u, err := b.LockToken(ctx, "tok")
		if err != nil {
			t.Fatalf("lock after the holder closed: %v", err)
		}
		u()
	})
}
