package engine_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vppkit/terraform-provider-vpp/internal/applesim"
	"github.com/vppkit/terraform-provider-vpp/internal/engine"
	"github.com/vppkit/terraform-provider-vpp/internal/store"
)

// corruption counts the answers corrupt changed and records every request the engine sent while
// it was in place, in order, with the corrupted answers marked.
type corruption struct {
	done atomic.Int64
	mu   sync.Mutex
	seq  []string // "GET /users", or "GET /status (corrupted)"
}

// after lists the requests sent after the first corrupted answer.
func (c *corruption) after() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, r := range c.seq {
		if strings.HasSuffix(r, " (corrupted)") {
			return append([]string(nil), c.seq[i+1:]...)
		}
	}
	return nil
}

// corrupt passes the answers to the first n requests for endpoint ("GET /users"; n <= 0: all
// of them) through mutate, which may change the status and the body.
func (e *env) corrupt(endpoint string, n int, mutate func(r *http.Request, status int, body []byte) (int, []byte)) *corruption {
	c := &corruption{}
	log := func(s string) {
		c.mu.Lock()
		c.seq = append(c.seq, s)
		c.mu.Unlock()
	}
	e.setInterpose(func(r *http.Request, next func(*http.Request) (*http.Response, error)) (*http.Response, error) {
		name := r.Method + " " + strings.TrimPrefix(r.URL.Path, "/mdm/v2")
		resp, err := next(r)
		if err != nil || name != endpoint || (n > 0 && c.done.Load() >= int64(n)) {
			log(name)
			return resp, err
		}
		body, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err != nil {
			return nil, err
		}
		status, changed := mutate(r, resp.StatusCode, body)
		if status == resp.StatusCode && bytes.Equal(changed, body) {
			log(name)
			resp.Body = io.NopCloser(bytes.NewReader(body))
			return resp, nil
		}
		c.done.Add(1)
		log(name + " (corrupted)")
		resp.StatusCode, resp.Status = status, strconv.Itoa(status)+" "+http.StatusText(status)
		resp.Body = io.NopCloser(bytes.NewReader(changed))
		resp.ContentLength = int64(len(changed))
		resp.Header.Del("Content-Length")
		return resp, nil
	})
	return c
}

// onlyOK leaves error answers alone.
func onlyOK(f func(r *http.Request, body []byte) []byte) func(*http.Request, int, []byte) (int, []byte) {
	return func(r *http.Request, status int, body []byte) (int, []byte) {
		if status != http.StatusOK {
			return status, body
		}
		return status, f(r, body)
	}
}

func truncate(_ *http.Request, body []byte) []byte { return body[:len(body)/2] }

// edit decodes a JSON object answer, lets f change it, and encodes it again.
func edit(f func(r *http.Request, m map[string]any)) func(*http.Request, []byte) []byte {
	return func(r *http.Request, body []byte) []byte {
		var m map[string]any
		if json.Unmarshal(body, &m) != nil {
			return body
		}
		f(r, m)
		out, _ := json.Marshal(m)
		return out
	}
}

// eachItem applies f to every object of the list m[key].
func eachItem(m map[string]any, key string, f func(item map[string]any)) {
	list, _ := m[key].([]any)
	for _, it := range list {
		if obj, ok := it.(map[string]any); ok {
			f(obj)
		}
	}
}

func pageIndex(r *http.Request) int {
	n, _ := strconv.Atoi(r.URL.Query().Get("pageIndex"))
	return n
}

// Garbage from Apple: truncated JSON, wrong types, unknown enum values, a page index beyond
// totalPages, a versionId that changes mid-walk, a foreign location. Each answer is corrupted on
// its way from the simulator to the engine. The engine never panics: it stops with a clear error
// naming the endpoint, or recovers by itself; either way, once Apple answers properly again, the
// next run delivers exactly the intended licenses, none twice.
func TestFaults_garbageFromApple(t *testing.T) {
	const (
		deliver = "deliver" // create the assignment, as an apply does
		sync    = "sync"    // a full "Sync now"
	)
	type outcome int
	const (
		clearError outcome = iota // the first run fails with an error containing want
		recovers                  // the first run succeeds anyway
	)
	type garbageCase struct {
		name     string
		op       string
		endpoint string
		n        int // answers corrupted; 0 = all while the case runs
		mutate   func(*http.Request, int, []byte) (int, []byte)
		outcome  outcome
		want     []string // fragments of the error, each exactly as it must appear
	}
	cases := []garbageCase{
		// An unreadable answer to a write is a lost answer: the delivery reads Apple's records
		// until they show the work, and goes on without sending it again.
		{"truncated users/create answer", deliver, "POST /users/create", 1, onlyOK(truncate), recovers, nil},
		{"truncated associate answer", deliver, "POST /assets/associate", 1, onlyOK(truncate), recovers, nil},
		{"truncated status answer", deliver, "GET /status", 1, onlyOK(truncate), clearError,
			[]string{"following license delivery (GET /status)", "apple: GET /status: decoding the response: unexpected end of JSON input"}},
		{"truncated users page", deliver, "GET /users", 0, onlyOK(truncate), clearError,
			[]string{"reading users (GET /users)", "apple: GET /users: decoding the response: unexpected end of JSON input"}},
		{"truncated assets page", sync, "GET /assets", 0, onlyOK(truncate), clearError,
			[]string{"reading assets (GET /assets)", "apple: GET /assets: decoding the response: unexpected end of JSON input"}},
		{"empty status answer", deliver, "GET /status", 1, onlyOK(func(*http.Request, []byte) []byte { return nil }), clearError,
			[]string{"following license delivery (GET /status)", "apple: GET /status: decoding the response: unexpected end of JSON input"}},
		{"HTML error page from a proxy", deliver, "GET /users", 0,
			func(_ *http.Request, _ int, _ []byte) (int, []byte) {
				return http.StatusBadGateway, []byte("<html><body>502 Bad Gateway</body></html>")
			}, clearError, []string{"reading users (GET /users)", "Apple API GET /users: HTTP 502"}},

		{"eventId is an object", deliver, "POST /users/create", 1,
			onlyOK(edit(func(_ *http.Request, m map[string]any) { m["eventId"] = map[string]any{"id": 1} })), recovers, nil},
		{"totalPages is a string", deliver, "GET /users", 0,
			onlyOK(edit(func(_ *http.Request, m map[string]any) { m["totalPages"] = "three" })), clearError,
			[]string{"reading users (GET /users)", "apple: GET /users: decoding the response: json: cannot unmarshal string", "totalPages"}},
		{"numCompleted is a string", deliver, "GET /status", 1,
			onlyOK(edit(func(_ *http.Request, m map[string]any) { m["numCompleted"] = "all of them" })), clearError,
			[]string{"following license delivery (GET /status)", "apple: GET /status: decoding the response: json: cannot unmarshal string", "numCompleted"}},
		{"users is an object", deliver, "GET /users", 0,
			onlyOK(edit(func(_ *http.Request, m map[string]any) { m["users"] = map[string]any{"a": 1} })), clearError,
			[]string{"reading users (GET /users)", "apple: GET /users: decoding the response: json: cannot unmarshal object", "users"}},
		{"assignedCount is a string", sync, "GET /assets", 0,
			onlyOK(edit(func(_ *http.Request, m map[string]any) {
				eachItem(m, "assets", func(a map[string]any) { a["assignedCount"] = "many" })
			})), clearError, []string{"reading assets (GET /assets)", "apple: GET /assets: decoding the response: json: cannot unmarshal string", "assignedCount"}},

		{"unknown event status", deliver, "GET /status", 0,
			onlyOK(edit(func(_ *http.Request, m map[string]any) { m["eventStatus"] = "EXPLODED" })), clearError,
			[]string{"delivery is incomplete: 1 pending, 0 failed (Apple has not finished delivering licenses (event ", "))"}},
		{"unknown user status", deliver, "GET /users", 0,
			onlyOK(edit(func(_ *http.Request, m map[string]any) {
				eachItem(m, "users", func(u map[string]any) { u["status"] = "Frozen" })
			})), recovers, nil},
		{"unknown product type", sync, "GET /assets", 0,
			onlyOK(edit(func(_ *http.Request, m map[string]any) {
				eachItem(m, "assets", func(a map[string]any) { a["productType"] = "Spaceship" })
			})), recovers, nil},
		{"unknown error number in a failure", deliver, "GET /status", 0,
			onlyOK(edit(func(_ *http.Request, m map[string]any) {
				if m["eventStatus"] == "COMPLETE" {
					m["eventStatus"] = "FAILED"
					m["failures"] = []any{map[string]any{"errorNumber": 99999, "errorMessage": "Something new"}}
				}
			})), recovers, nil},

		{"page index beyond totalPages, once", deliver, "GET /users", 1,
			onlyOK(edit(func(r *http.Request, m map[string]any) {
				if pageIndex(r) == 0 {
					m["nextPageIndex"], m["totalPages"] = 7, 1
				}
			})), recovers, nil},
		{"page index beyond totalPages, always", deliver, "GET /users", 0,
			onlyOK(edit(func(r *http.Request, m map[string]any) {
				if pageIndex(r) == 0 {
					m["nextPageIndex"], m["totalPages"] = 7, 1
				}
			})), clearError, []string{"reading users (GET /users)", "apple: GET /users: list kept changing while paging: gave up after 5 restarts (last: page ", " is out of range)"}},
		{"next page announced on the last page", deliver, "GET /users", 0,
			onlyOK(edit(func(r *http.Request, m map[string]any) {
				if _, more := m["nextPageIndex"]; !more {
					m["nextPageIndex"] = pageIndex(r) + 1
				}
			})), clearError, []string{"reading users (GET /users)", "apple: GET /users: list kept changing while paging: gave up after 5 restarts (last: page ", " is out of range)"}},
		{"next page pointing back", deliver, "GET /users", 0,
			onlyOK(edit(func(r *http.Request, m map[string]any) {
				if pageIndex(r) > 0 {
					m["nextPageIndex"] = 0
				}
			})), clearError, []string{"reading users (GET /users)", "apple: GET /users: list kept changing while paging: gave up after 5 restarts (last: page ", " is out of range)"}},
		{"versionId changes mid-walk, once", deliver, "GET /users", 1,
			onlyOK(edit(func(r *http.Request, m map[string]any) {
				if pageIndex(r) == 1 {
					m["versionId"] = "changed-under-the-walk"
				}
			})), recovers, nil},
		{"versionId changes mid-walk, always", deliver, "GET /users", 0,
			onlyOK(edit(func(r *http.Request, m map[string]any) {
				if pageIndex(r) == 1 {
					m["versionId"] = "changed-" + strconv.FormatInt(time.Now().UnixNano(), 10)
				}
			})), clearError, []string{"reading users (GET /users)", "apple: GET /users: list kept changing while paging: gave up after 5 restarts (last: versionId changed at page 1)"}},
		{"another location's uId", deliver, "GET /users", 0,
			onlyOK(edit(func(_ *http.Request, m map[string]any) { m["uId"] = "999999999999999" })), clearError,
			[]string{"reading users (GET /users)", `apple: response is for another location: uId "999999999999999", expected "`}},
		// Apple accepted the associate, but its answer names no location: the event is kept and
		// followed by the next run, which sends nothing again (a re-send would be a violation).
		{"associate answer without uId", deliver, "POST /assets/associate", 1,
			onlyOK(edit(func(_ *http.Request, m map[string]any) { delete(m, "uId") })), clearError,
			[]string{"sending associate request", "the response names no location: it has no uId"}},
	}
	// Recovery by reading Apple's records: after the first corrupted answer, the engine sends this
	// request (an uncorrupted delivery ends with the last GET /status).
	readsAfter := map[string]string{
		"unknown error number in a failure": "GET /assignments",
		"truncated users/create answer":     "GET /users",
		"truncated associate answer":        "GET /assignments",
		"eventId is an object":              "GET /users",
	}
	for name := range readsAfter {
		if !slices.ContainsFunc(cases, func(c garbageCase) bool { return c.name == name }) {
			t.Fatalf("readsAfter names no case: %q", name)
		}
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// Events finish right after they are accepted (no processing delay), so that each case's
			// corrupted answer is the one its words name: the associate's status, not a user
			// creation's that a slower Apple would make the engine ask first.
			opts := applesim.Options{PageSize: 50, ProgressSteps: 1}
			if tc.name == "associate answer without uId" {
				// Apple is still at work when the next run starts: only the kept event tells it so.
				opts.ProcessingDelay = 300 * time.Millisecond
			}
			e := newEnv(t, store.SQLite, opts)
			// An unknown event status keeps the engine polling: give up soon.
			e.reopen(func(c *engine.Config) { c.EventTimeout = 300 * time.Millisecond })
			ctx := context.Background()
			tok := e.addToken()
			readers := emails("g", 120)
			g := e.group("Readers", false, readers...)
			in := engine.AssignmentInput{BookID: engine.BookID(tok.ID, bookC, "STDQ"), GroupID: g.ID, Intent: engine.IntentRequired}
			if tc.op == sync {
				if _, err := e.eng.CreateAssignment(ctx, in); err != nil {
					t.Fatal(err)
				}
			}

			corrupted := e.corrupt(tc.endpoint, tc.n, tc.mutate)
			var err error
			if tc.op == sync {
				var synced engine.Token
				if synced, err = e.eng.SyncToken(ctx, tok.ID, true); err == nil && synced.LastSyncStatus == engine.SyncFailed {
					err = errors.New(synced.LastSyncError)
				}
			} else {
				_, err = e.eng.CreateAssignment(ctx, in)
			}
			if corrupted.done.Load() == 0 {
				t.Fatalf("no answer of %s was corrupted; the case proves nothing", tc.endpoint)
			}
			if want, ok := readsAfter[tc.name]; ok && !slices.Contains(corrupted.after(), want) {
				t.Errorf("the engine did not read Apple's records (%s) after the corrupted answer; it sent %v", want, corrupted.after())
			}
			switch {
			case tc.outcome == recovers && err != nil:
				t.Fatalf("the run did not recover: %v", err)
			case tc.outcome == clearError && err == nil:
				t.Fatalf("the run succeeded on a garbage answer")
			case err != nil:
				t.Logf("%s: %v", tc.name, err)
				for _, w := range tc.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not contain %q", err, w)
					}
				}
			}
			if err := e.checkApple(readers, false); err != nil {
				t.Fatal(err)
			}
			if err := e.checkRecords(tok.ID); err != nil {
				t.Fatal(err)
			}
			// What the engine reports matches what Apple holds.
			if a, err := e.eng.FindAssignment(ctx, in.BookID, g.ID); err == nil {
				held := len(e.holdersOf(bookC))
				t.Logf("after the first run: %d licensed, %d pending, %d failed (%s); Apple holds %d", a.Licensed, a.Pending, a.Failed, a.Status, held)
				if a.Licensed > held || (a.Status == engine.StatusComplete && held != len(readers)) {
					t.Errorf("the engine reports %d licensed (%s) but Apple holds %d", a.Licensed, a.Status, held)
				}
			}

			// Apple answers properly again: the next run (a new process) finishes exactly.
			e.setInterpose(nil)
			e.reopen(nil)
			if tc.op == sync {
				if synced, err := e.eng.SyncToken(ctx, tok.ID, true); err != nil || synced.LastSyncStatus != engine.SyncCompleted || synced.BookCount != 3 {
					t.Fatalf("sync after Apple recovered: %+v, %v", synced, err)
				}
			}
			if err := e.eng.Deliver(ctx, tok.ID); err != nil {
				t.Fatalf("the run after Apple recovered: %v", err)
			}
			// A user status the engine does not know leaves the user unconfirmed: once Apple
			// answers properly, the engine asks to create it and Apple refuses with 9716 (nothing
			// spent), which tells the engine to read every user. That re-create is the one
			// violation allowed, in that case only.
			allowed := ""
			if tc.name == "unknown user status" {
				allowed = applesim.ViolationRecreate
			}
			if err := e.checkAppleAllowing(readers, true, allowed); err != nil {
				t.Fatal(err)
			}
			if a, _ := e.eng.FindAssignment(ctx, in.BookID, g.ID); a.Licensed != len(readers) || a.Status != engine.StatusComplete {
				t.Errorf("assignment = %d licensed (%s), want %d complete", a.Licensed, a.Status, len(readers))
			}
		})
	}
}
