package applesim

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// holdPages makes the first n paginated GETs that get a slot wait, holding it, until release is
// called; later ones go through. inside receives one value per request that got a slot.
func (e *env) holdPages(n int) (inside <-chan struct{}, release func()) {
	in := make(chan struct{}, 100)
	gate := make(chan struct{})
	held := 0
	e.sim.mu.Lock()
	e.sim.pageHook = func() {
		in <- struct{}{}
		e.sim.mu.Lock()
		held++
		wait := held <= n
		e.sim.mu.Unlock()
		if wait {
			<-gate
		}
	}
	e.sim.mu.Unlock()
	var once sync.Once
	release = func() { once.Do(func() { close(gate) }) }
	e.t.Cleanup(release)
	return in, release
}

// startGets sends n GETs in the background and returns their statuses once release lets them end.
func (e *env) startGets(paths []string, token string) func() []int {
	var wg sync.WaitGroup
	statuses := make([]int, len(paths))
	for i, p := range paths {
		req := e.request("GET", p, token, nil)
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := e.ts.Client().Do(req)
			if err != nil {
				statuses[i] = -1
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			statuses[i] = resp.StatusCode
		}()
	}
	return func() []int { wg.Wait(); return statuses }
}

func waitInside(t *testing.T, inside <-chan struct{}, n int) {
	t.Helper()
	for range n {
		select {
		case <-inside:
		case <-time.After(5 * time.Second):
			t.Fatalf("fewer than %d paginated requests in flight", n)
		}
	}
}

func TestConcurrentPageRequests(t *testing.T) {
	e := newEnv(t, testOptions())
	inside, release := e.holdPages(5)
	done := e.startGets([]string{"/assets", "/assignments", "/users", "/assets?pageIndex=0", "/users"}, e.token)
	waitInside(t, inside, 5)

	// A sixth paginated GET of the location is refused with 429 / 9646, without Retry-After.
	r := e.do("GET", "/assignments", e.token, nil)
	e.expectError(r, http.StatusTooManyRequests, 9646)
	if r.header.Get("Retry-After") != "" {
		t.Fatalf("Retry-After %q", r.header.Get("Retry-After"))
	}
	// Other endpoints and other locations are not limited.
	e.ok(e.do("GET", "/client/config", e.token, nil), nil)
	e.ok(e.do("POST", "/users/create", e.token, users("u1")), nil)
	other, _ := e.sim.CreateLocation(LocationSpec{})
	otherTok, _ := e.sim.MintToken(other.UID, time.Now().Add(time.Hour))
	e.ok(e.do("GET", "/assets", otherTok, nil), nil)

	release()
	for _, st := range done() {
		if st != http.StatusOK {
			t.Fatalf("held requests ended with %v", st)
		}
	}
	// Slots are given back.
	e.sim.mu.Lock()
	e.sim.pageHook = nil
	n := len(e.sim.pageRequests)
	e.sim.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d locations still hold slots", n)
	}
	e.ok(e.do("GET", "/assignments", e.token, nil), nil)
	if got := e.sim.Stats().RateLimited; got != 1 {
		t.Fatalf("RateLimited %d", got)
	}
}

func TestConcurrentPageRequestsOptions(t *testing.T) {
	opts := testOptions()
	opts.MaxConcurrentPageRequests = 2
	opts.Quirks.RateLimitRetryAfter = "3"
	e := newEnv(t, opts)
	inside, release := e.holdPages(2)
	done := e.startGets([]string{"/users", "/users"}, e.token)
	waitInside(t, inside, 2)
	r := e.do("GET", "/assets", e.token, nil)
	e.expectError(r, http.StatusTooManyRequests, 9646)
	if r.header.Get("Retry-After") != "3" {
		t.Fatalf("Retry-After %q", r.header.Get("Retry-After"))
	}
	release()
	done()

	opts.MaxConcurrentPageRequests = -1 // no limit
	e2 := newEnv(t, opts)
	inside2, release2 := e2.holdPages(8)
	paths := make([]string, 8)
	for i := range paths {
		paths[i] = "/assets"
	}
	done2 := e2.startGets(paths, e2.token)
	waitInside(t, inside2, 8)
	release2()
	for _, st := range done2() {
		if st != http.StatusOK {
			t.Fatalf("unlimited: %d", st)
		}
	}
}

// An empty clientUserId is refused synchronously with 9602 by default, or with the number of
// Quirks.EmptyClientUserIDError.
func TestEmptyClientUserID(t *testing.T) {
	type req = map[string]any
	requests := []struct {
		path string
		body any
	}{
		{"/users/create", req{"users": []req{{"clientUserId": "a"}, {"clientUserId": ""}}}},
		{"/users/update", req{"users": []req{{"email": "a@example.com"}}}}, // missing reads as empty
		{"/users/retire", req{"users": []req{{"clientUserId": ""}}}},
		{"/assets/associate", req{"assets": assets("200"), "clientUserIds": ids{"u1", ""}}},
		{"/assets/disassociate", req{"assets": assets("200"), "clientUserIds": ids{""}}},
		{"/assets/revoke", req{"clientUserIds": ids{""}}},
	}
	for _, tc := range []struct {
		quirk, number int
		message       string
	}{
		{0, 9602, "Invalid argument."},
		{9600, 9600, "Missing required argument."},
		{9720, 9720, "The request is missing users."},
	} {
		opts := testOptions()
		opts.Quirks.EmptyClientUserIDError = tc.quirk
		e := newEnv(t, opts)
		e.mustAddApp("200", 5)
		for _, rq := range requests {
			r := e.do("POST", rq.path, e.token, rq.body)
			e.expectError(r, http.StatusBadRequest, tc.number)
			var body wireError
			r.decode(t, &body)
			if body.ErrorMessage != tc.message {
				t.Fatalf("quirk %d %s: message %q", tc.quirk, rq.path, body.ErrorMessage)
			}
		}
		// An empty serial number stays an invalid argument.
		e.expectError(e.do("POST", "/assets/associate", e.token, req{"assets": assets("200"), "serialNumbers": ids{""}}), 400, 9602)
		if n := e.eventCount(); n != 0 {
			t.Fatalf("%d events", n)
		}
	}
	// 9600 is not one of Apple's v2 numbers: the service config does not list it.
	for _, c := range errorCodes() {
		if c.ErrorNumber == 9600 {
			t.Fatal("9600 listed in the service config")
		}
	}
}

// Every token file form the provider's plan-time parser (apple.ParseToken) accepts is adopted and
// authenticates; the forms it refuses are refused. The sandbox's TestSandbox_tokenFileForms checks
// the same forms against apple.ParseToken itself.
func TestTokenFileForms(t *testing.T) {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	raw := func(s string) string { return base64.RawStdEncoding.EncodeToString([]byte(s)) }
	file := func(secret, exp string) string {
		data, _ := json.Marshal(map[string]string{"token": secret, "expDate": exp, "orgName": "Org"})
		return string(data)
	}
	want := time.Date(2031, 1, 2, 3, 4, 5, 0, time.UTC)
	accepted := []struct {
		name, contents string
		expires        time.Time
	}{
		{"Apple's form", b64(file("t1", "2031-01-02T03:04:05+0000")), want},
		{"unpadded base64", raw(file("t2", "2031-01-02T03:04:05+0000")), want},
		{"Z", b64(file("t3", "2031-01-02T03:04:05Z")), want},
		{"colon offset", b64(file("t4", "2031-01-02T03:04:05+00:00")), want},
		{"hour offset", b64(file("t5", "2031-01-02T03:04:05+00")), want},
		{"negative offset", b64(file("t6", "2031-01-01T20:04:05-0700")), want},
		{"no offset", b64(file("t7", "2031-01-02T03:04:05")), want},
		{"fractional seconds", b64(file("t8", "2031-01-02T03:04:05.000Z")), want},
		{"space-padded date", b64(file("t9", "  2031-01-02T03:04:05+0000 ")), want},
		{"unpadded, Z", raw(file("t10", "2031-01-02T03:04:05Z")), want},
		{"surrounding whitespace", "\n " + b64(file("t11", "2031-01-02T03:04:05+0000")) + " \r\n", want},
		{"extra padding", raw(file("t12", "2031-01-02T03:04:05+0000")) + "===", want},
		{"extra fields", b64(`{"token":"t13","expDate":"2031-01-02T03:04:05+0000","orgName":"Org","v":2}`), want},
	}
	refused := []struct{ name, contents string }{
		{"empty", "  "},
		{"inner whitespace", b64(file("r1", "2031-01-02T03:04:05+0000"))[:8] + " " + b64(file("r1", "2031-01-02T03:04:05+0000"))[8:]},
		{"inner newline", b64(file("r1", "2031-01-02T03:04:05+0000"))[:8] + "\r\n" + b64(file("r1", "2031-01-02T03:04:05+0000"))[8:]},
		{"not base64", "!!!!"},
		{"url alphabet", base64.URLEncoding.EncodeToString([]byte(file("r2>?", "2031-01-02T03:04:05+0000")))},
		{"not json", b64("hello")},
		{"missing orgName", b64(`{"token":"r3","expDate":"2031-01-02T03:04:05+0000"}`)},
		{"blank token", b64(file(" ", "2031-01-02T03:04:05+0000"))},
		{"numeric expDate", b64(`{"token":"r4","expDate":20310102,"orgName":"Org"}`)},
		{"date only", b64(file("r5", "2031-01-02"))},
		{"US date", b64(file("r6", "01/02/2031 03:04:05"))},
	}

	e := newEnv(t, testOptions())
	for _, tc := range accepted {
		t.Run(tc.name, func(t *testing.T) {
			if err := e.sim.AdoptToken(e.uid, tc.contents); err != nil {
				t.Fatalf("AdoptToken: %v", err)
			}
			// The client sends the trimmed file as the Bearer value.
			var env struct {
				TokenExpirationDate string `json:"tokenExpirationDate"`
			}
			e.ok(e.do("GET", "/client/config", strings.TrimSpace(tc.contents), nil), &env)
			if env.TokenExpirationDate != formatDate(tc.expires) {
				t.Fatalf("tokenExpirationDate %q, want %q", env.TokenExpirationDate, formatDate(tc.expires))
			}
		})
	}
	for _, tc := range refused {
		t.Run("refused "+tc.name, func(t *testing.T) {
			if err := e.sim.AdoptToken(e.uid, tc.contents); !errors.Is(err, ErrInvalid) {
				t.Fatalf("AdoptToken: %v, want ErrInvalid", err)
			}
		})
	}
}
