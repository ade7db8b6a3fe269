package apple

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"
)

// EachUser hands the pages over in order; when the list changes under the walk it starts again
// from page 0 with restart set, and the caller ends with the list as of the final walk.
func TestEachUserRestartsWhenVersionChanges(t *testing.T) {
	p := changingPager(12)
	f := newFake(t, p.handler(t))
	var got []User
	restarts := 0
	version, err := f.client(t).EachUser(context.Background(), UserQuery{}, func(restart bool, users []User) error {
		if restart {
			restarts++
			got = got[:0]
		}
		got = append(got, users...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	checkUsers(t, &UserList{Users: got}, 12)
	if version != "v2" || restarts != 2 {
		t.Errorf("versionId %q after %d starts, want v2 after 2", version, restarts)
	}
}

// An error from the caller stops the walk and is returned.
func TestEachUserStopsOnCallerError(t *testing.T) {
	p := newPager(func(index, call int) (int, map[string]any) {
		return http.StatusOK, usersPageBody(index, 40, "v1")
	})
	f := newFake(t, p.handler(t))
	boom := errors.New("boom")
	pages := 0
	_, err := f.client(t).EachUser(context.Background(), UserQuery{}, func(restart bool, users []User) error {
		pages++
		if pages == 3 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) || pages != 3 {
		t.Fatalf("error %v after %d pages, want boom after 3", err, pages)
	}
}

// GetAssetsUnlessAt reads page 0 only while the assets' versionId is the one the caller holds.
func TestGetAssetsUnlessAt(t *testing.T) {
	version := "v1"
	var mu sync.Mutex
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		v := version
		mu.Unlock()
		var index int
		_, _ = fmt.Sscan(r.URL.Query().Get("pageIndex"), &index)
		body := map[string]any{
			"currentPageIndex": index, "size": 1, "totalPages": 3, "versionId": v, "uId": testUID,
			"tokenExpirationDate": "2030-11-08T22:33:22+0000",
			"assets":              []map[string]any{{"adamId": fmt.Sprint(100 + index), "pricingParam": "STDQ", "productType": "Book", "totalCount": 5}},
		}
		if index < 2 {
			body["nextPageIndex"] = index + 1
		}
		writeJSON(w, http.StatusOK, body)
	})
	c := f.client(t)
	ctx := context.Background()
	list, unchanged, err := c.GetAssetsUnlessAt(ctx, AssetQuery{}, "")
	if err != nil || unchanged || len(list.Assets) != 3 || list.VersionID != "v1" {
		t.Fatalf("first walk: %+v, unchanged %v, %v; want 3 assets at v1", list, unchanged, err)
	}
	list, unchanged, err = c.GetAssetsUnlessAt(ctx, AssetQuery{}, "v1")
	if err != nil || !unchanged || len(list.Assets) != 0 || list.VersionID != "v1" || list.TokenExpiration == nil {
		t.Fatalf("unchanged: %+v, unchanged %v, %v; want page 0's envelope only", list, unchanged, err)
	}
	if n := f.count("GET", "/assets"); n != 4 {
		t.Errorf("%d GET /assets, want 3 + 1", n)
	}
	mu.Lock()
	version = "v2"
	mu.Unlock()
	list, unchanged, err = c.GetAssetsUnlessAt(ctx, AssetQuery{}, "v1")
	if err != nil || unchanged || len(list.Assets) != 3 || list.VersionID != "v2" {
		t.Fatalf("after a change: %+v, unchanged %v, %v; want the whole walk at v2", list, unchanged, err)
	}
}

// The pacer spaces requests at the rate, and lets a request go only a second after the answer to
// the one rate places before it: no one-second window sees more than rate requests arrive, even
// when they are sent from many goroutines.
func TestPacerWindow(t *testing.T) {
	const rate, n = 10, 25
	p := newPacer(rate)
	var mu sync.Mutex
	var arrivals []time.Time
	var wg sync.WaitGroup
	start := time.Now()
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			done, err := p.Wait(context.Background())
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			arrivals = append(arrivals, time.Now())
			mu.Unlock()
			time.Sleep(5 * time.Millisecond) // the round trip
			done()
		}()
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	sortTimes(arrivals)
	for i := rate; i < len(arrivals); i++ {
		if d := arrivals[i].Sub(arrivals[i-rate]); d < time.Second {
			t.Fatalf("requests %d and %d left %v apart; at most %d may leave in a second", i-rate, i, d, rate)
		}
	}
	if took, least := time.Since(start), time.Duration(n-rate)*time.Second/rate; took < least {
		t.Errorf("%d requests took %v, want at least %v", n, took, least)
	}
	if got := p.Rate(); got != rate {
		t.Errorf("Rate() = %v, want %v", got, rate)
	}
}

// A cancelled wait returns the context's error and does not block the requests after it.
func TestPacerCancel(t *testing.T) {
	p := newPacer(1)
	done, err := p.Wait(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	done()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := p.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("wait past the deadline: %v, want DeadlineExceeded", err)
	}
}

func sortTimes(ts []time.Time) {
	for i := 1; i < len(ts); i++ {
		for j := i; j > 0 && ts[j].Before(ts[j-1]); j-- {
			ts[j], ts[j-1] = ts[j-1], ts[j]
		}
	}
}
