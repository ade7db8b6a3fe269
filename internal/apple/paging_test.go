package apple

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// pager serves /users pages. page decides each answer from the page index
// and how often that index was asked for.
type pager struct {
	mu    sync.Mutex
	calls map[int]int
	page  func(index, call int) (status int, body map[string]any)
}

func (p *pager) handler(t *testing.T) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/mdm/v2/users" {
			t.Errorf("unexpected %s", r.URL.Path)
			return
		}
		index, err := strconv.Atoi(r.URL.Query().Get("pageIndex"))
		if err != nil {
			t.Errorf("pageIndex %q", r.URL.Query().Get("pageIndex"))
		}
		p.mu.Lock()
		p.calls[index]++
		call := p.calls[index]
		p.mu.Unlock()
		status, body := p.page(index, call)
		writeJSON(w, status, body)
	}
}

// usersPageBody is page index of a list of total pages, two users each.
func usersPageBody(index, total int, version string) map[string]any {
	body := map[string]any{
		"currentPageIndex":    index,
		"size":                2,
		"totalPages":          total,
		"versionId":           version,
		"uId":                 testUID,
		"tokenExpirationDate": "2030-11-08T22:33:22+0000",
		"users": []map[string]any{
			{"clientUserId": fmt.Sprintf("u%03d-a", index), "status": "Registered"},
			{"clientUserId": fmt.Sprintf("u%03d-b", index), "status": "Associated", "idHash": "h"},
		},
	}
	if index < total-1 {
		body["nextPageIndex"] = index + 1
	}
	return body
}

func newPager(page func(index, call int) (int, map[string]any)) *pager {
	return &pager{calls: map[int]int{}, page: page}
}

// firstPageReads counts the walks that started.
func (p *pager) firstPageReads() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls[0]
}

// changingPager serves a list of pages that changes once: the first walk reads page 0 at
// versionId v1, every later read shows v2.
func changingPager(pages int) *pager {
	return newPager(func(index, call int) (int, map[string]any) {
		version := "v2"
		if index == 0 && call == 1 {
			version = "v1"
		}
		return http.StatusOK, usersPageBody(index, pages, version)
	})
}

// flightCounter counts the requests a fake server is serving at once, and the most it served at
// once.
type flightCounter struct{ inFlight, peak atomic.Int32 }

func (c *flightCounter) enter() {
	n := c.inFlight.Add(1)
	for {
		old := c.peak.Load()
		if n <= old || c.peak.CompareAndSwap(old, n) {
			return
		}
	}
}

func (c *flightCounter) leave() { c.inFlight.Add(-1) }

func checkUsers(t *testing.T, list *UserList, pages int) {
	t.Helper()
	if len(list.Users) != 2*pages {
		t.Fatalf("%d users, want %d", len(list.Users), 2*pages)
	}
	for i := range pages {
		if list.Users[2*i].ClientUserID != fmt.Sprintf("u%03d-a", i) || list.Users[2*i+1].ClientUserID != fmt.Sprintf("u%03d-b", i) {
			t.Fatalf("users out of order at page %d: %+v", i, list.Users[2*i:2*i+2])
		}
	}
}

func TestPagingParallelBounded(t *testing.T) {
	const total = 16
	var flights flightCounter
	p := newPager(func(index, call int) (int, map[string]any) {
		return http.StatusOK, usersPageBody(index, total, "v1")
	})
	serve := p.handler(t)
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		flights.enter()
		defer flights.leave()
		// Hold each later page until five are in flight (or a while has
		// passed), so that the peak does not depend on scheduling luck.
		deadline := time.Now().Add(300 * time.Millisecond)
		for r.URL.Query().Get("pageIndex") != "0" && flights.inFlight.Load() < maxInFlight && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		serve(w, r)
	})
	list, err := f.client(t).GetUsers(context.Background(), UserQuery{ActiveOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	checkUsers(t, list, total)
	if list.VersionID != "v1" || list.UID != testUID || list.TokenExpiration == nil {
		t.Errorf("head: %+v", list)
	}
	if got := flights.peak.Load(); got != maxInFlight {
		t.Errorf("peak of %d pages in flight, want %d", got, maxInFlight)
	}
	if n := f.count("GET", "/users"); n != total {
		t.Errorf("%d requests, want %d", n, total)
	}
}

func TestPagingSharedInFlightCap(t *testing.T) {
	var flights flightCounter
	p := newPager(func(index, call int) (int, map[string]any) {
		return http.StatusOK, usersPageBody(index, 8, "v1")
	})
	serve := p.handler(t)
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		flights.enter()
		defer flights.leave()
		time.Sleep(5 * time.Millisecond)
		serve(w, r)
	})
	c := f.client(t)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if _, err := c.GetUsers(context.Background(), UserQuery{}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got := flights.peak.Load(); got > maxInFlight {
		t.Errorf("peak of %d pages in flight across walks, want at most %d", got, maxInFlight)
	}
}

func TestPagingFollowsGrowingTotalPages(t *testing.T) {
	// Page 0 announces 3 pages; page 2 then says 5, page 4 ends the list.
	p := newPager(func(index, call int) (int, map[string]any) {
		total := 3
		if index >= 2 {
			total = 5
		}
		return http.StatusOK, usersPageBody(index, total, "v1")
	})
	f := newFake(t, p.handler(t))
	list, err := f.client(t).GetUsers(context.Background(), UserQuery{})
	if err != nil {
		t.Fatal(err)
	}
	checkUsers(t, list, 5)
	if n := f.count("GET", "/users"); n != 5 {
		t.Errorf("%d requests, want 5", n)
	}
}

func TestPagingRestartsWhenVersionChanges(t *testing.T) {
	// The first time page 2 is read, the list has changed under the walk.
	p := changingPager(4)
	f := newFake(t, p.handler(t))
	list, err := f.client(t).GetUsers(context.Background(), UserQuery{})
	if err != nil {
		t.Fatal(err)
	}
	checkUsers(t, list, 4)
	if list.VersionID != "v2" || p.firstPageReads() != 2 {
		t.Errorf("versionId %q after %d reads of page 0, want v2 after 2", list.VersionID, p.firstPageReads())
	}
}

func TestPagingRestartsOnPageOutOfRange(t *testing.T) {
	// The list shrinks from 4 to 3 pages after page 0 was read.
	p := newPager(func(index, call int) (int, map[string]any) {
		if index == 0 && call == 1 {
			return http.StatusOK, usersPageBody(0, 4, "v1")
		}
		if index == 3 {
			return http.StatusBadRequest, appleErrorBody(CodePageOutOfRange, "The provided page index must be greater than 0, and less than the total number of pages.")
		}
		return http.StatusOK, usersPageBody(index, 3, "v1")
	})
	f := newFake(t, p.handler(t))
	list, err := f.client(t).GetUsers(context.Background(), UserQuery{})
	if err != nil {
		t.Fatal(err)
	}
	checkUsers(t, list, 3)
	if p.firstPageReads() != 2 {
		t.Errorf("page 0 read %d times, want 2", p.firstPageReads())
	}
}

func TestPagingGivesUpWhenListKeepsChanging(t *testing.T) {
	var version atomic.Int32
	p := newPager(func(index, call int) (int, map[string]any) {
		return http.StatusOK, usersPageBody(index, 3, fmt.Sprint("v", version.Add(1)))
	})
	f := newFake(t, p.handler(t))
	_, err := f.client(t).GetUsers(context.Background(), UserQuery{})
	if !errors.Is(err, ErrListUnstable) {
		t.Fatalf("got %v", err)
	}
	if p.firstPageReads() != maxWalkRestarts+1 {
		t.Errorf("page 0 read %d times, want %d", p.firstPageReads(), maxWalkRestarts+1)
	}
}

func TestPagingEmptyResults(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		body   map[string]any
	}{
		{"totalPages 0", http.StatusOK, map[string]any{"currentPageIndex": 0, "size": 0, "totalPages": 0, "users": []any{}, "versionId": "v9", "uId": testUID}},
		{"totalPages 1", http.StatusOK, map[string]any{"currentPageIndex": 0, "size": 0, "totalPages": 1, "versionId": "v9", "uId": testUID}},
		{"page 0 out of range", http.StatusBadRequest, appleErrorBody(CodePageOutOfRange, "out of range")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, tc.status, tc.body)
			})
			list, err := f.client(t).GetUsers(context.Background(), UserQuery{SinceVersionID: "v8"})
			if err != nil || len(list.Users) != 0 {
				t.Fatalf("got %+v, %v", list, err)
			}
			if n := f.count("GET", "/users"); n != 1 {
				t.Errorf("%d requests, want 1", n)
			}
		})
	}
}

func TestPagingSendsFilters(t *testing.T) {
	var queries sync.Map
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		queries.Store(r.URL.Path, r.URL.RawQuery)
		writeJSON(w, http.StatusOK, map[string]any{"totalPages": 1, "uId": testUID})
	})
	c := f.client(t)
	ctx := context.Background()
	yes, no, five := true, false, 5
	if _, err := c.GetAssets(ctx, AssetQuery{ProductType: ProductBook, Revocable: &no, Unlimited: &yes, MinAvailableCount: &five}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetAssignments(ctx, AssignmentQuery{ClientUserID: "c1", SinceVersionID: "v1", IncludeUserState: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetUsers(ctx, UserQuery{ActiveOnly: true, ClientUserID: "c1"}); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		"/mdm/v2/assets":      "minAvailableCount=5&pageIndex=0&productType=Book&revocable=false&unlimited=true",
		"/mdm/v2/assignments": "clientUserId=c1&includeUserState=true&pageIndex=0&sinceVersionId=v1",
		"/mdm/v2/users":       "activeOnly=true&clientUserId=c1&pageIndex=0",
	} {
		if got, _ := queries.Load(path); got != want {
			t.Errorf("%s?%v, want %s", path, got, want)
		}
	}
}
