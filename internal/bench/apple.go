// Package bench measures the provider against floors set by Apple's documented limits and by
// Terraform itself, and renders BENCHMARKS.md (make bench). It holds the scenarios of issue 6:
// delivery to many members, many books to one group, sync of a large location, a Terraform
// configuration of a thousand assignments in sandbox mode (plan and refresh cost), a Terraform
// apply that delivers licenses at Apple's rate, and the store's share of a delivery; and of issue
// 15: one app licensed to a device group's devices and reclaimed.
//
// The code here sets scenarios up, runs the operation under measurement, and computes floors; the
// tests of the package drive it. TestBench (VPP_BENCH=1, run by make bench) runs every scenario
// several times, each engine run in a child process so that its peak RSS is its own (the
// simulated Apple runs in the parent), and writes the report. The Benchmark functions run the
// same scenarios in one process for quick local use (go test -bench), and TestHarness checks the
// harness at a tiny scale, without timing, in make test.
package bench

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/vppkit/terraform-provider-vpp/internal/apple"
	"github.com/vppkit/terraform-provider-vpp/internal/applesim"
)

// AppleRate is Apple's documented maxRequestPerSecond.
const AppleRate = 15

// Apple is a simulated Apple service served on loopback, so that the engine under measurement can
// run in another process. Its state lives in this process.
type Apple struct {
	Sim      *applesim.Server
	Rate     int // maxRequestPerSecond the simulator enforces and announces
	PageSize int
	srv      *httptest.Server
	inFlight inFlight
}

// inFlight counts the requests being served, and the most at once since the last reset.
type inFlight struct {
	mu       sync.Mutex
	now, max int
}

func (f *inFlight) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.now++
		f.max = max(f.max, f.now)
		f.mu.Unlock()
		defer func() {
			f.mu.Lock()
			f.now--
			f.mu.Unlock()
		}()
		next.ServeHTTP(w, r)
	})
}

// NewApple starts a simulator enforcing rate requests per second (per location), with pages of
// pageSize records. An accepted event is processed before the request that submitted it is
// answered: how long Apple takes is not the provider's to measure, and the counts do not depend
// on a race between the simulator's background work and the engine's next request.
//
// The simulator runs in strict mode throughout, and CheckStrict turns every double spend it
// recorded into an error.
func NewApple(rate, pageSize int) *Apple {
	sim := applesim.New(applesim.Options{
		PageSize: pageSize,
		Limits:   map[string]int{applesim.LimitMaxRequestPerSecond: rate},
		Strict:   true,
	})
	a := &Apple{Sim: sim, Rate: rate, PageSize: pageSize}
	a.srv = httptest.NewServer(a.inFlight.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			sim.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		sim.ServeHTTP(rec, r)
		sim.ProcessPendingEvents()
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	})))
	return a
}

// CheckStrict returns an error naming the double spends the simulator recorded in strict mode
// since it started (or since ResetViolations), nil when there were none. Every scenario asserts
// it after its setup and after each measured run: a fast delivery that spends a license twice is
// a failure, not a figure.
func (a *Apple) CheckStrict() error {
	return violationsError(a.Sim.Violations())
}

func violationsError(vs []applesim.Violation) error {
	if len(vs) == 0 {
		return nil
	}
	const shown = 5
	lines := make([]string, 0, shown+1)
	for i, v := range vs {
		if i == shown {
			lines = append(lines, fmt.Sprintf("… and %d more", len(vs)-shown))
			break
		}
		lines = append(lines, fmt.Sprintf("%s: %s", v.Kind, v.Detail))
	}
	return fmt.Errorf("the simulated Apple (strict mode) recorded %d double spend(s):\n\t%s", len(vs), strings.Join(lines, "\n\t"))
}

// URL is the base URL of the API (…/mdm/v2).
func (a *Apple) URL() string { return a.srv.URL + "/mdm/v2" }

// Close stops the server and the simulator.
func (a *Apple) Close() {
	a.srv.Close()
	a.Sim.Close()
}

// Unthrottled lifts the rate limit while a scenario is set up (seeding a location through the API
// is not what is measured); Throttled restores it and zeroes the request counters.
func (a *Apple) Unthrottled() {
	a.Sim.SetLimits(map[string]int{applesim.LimitMaxRequestPerSecond: 100_000})
}

// Throttled restores the scenario's rate and zeroes the counters.
func (a *Apple) Throttled() {
	a.Sim.SetLimits(map[string]int{applesim.LimitMaxRequestPerSecond: a.Rate})
	a.ResetCounts()
}

// Location creates a business location holding books (and apps) and returns its uId and a token
// file.
func (a *Apple) Location(name string, books []applesim.BookSpec, apps ...applesim.AppSpec) (string, string, error) {
	loc, err := a.Sim.CreateLocation(applesim.LocationSpec{Name: name})
	if err != nil {
		return "", "", err
	}
	for _, b := range books {
		if err := a.Sim.AddBook(loc.UID, b); err != nil {
			return "", "", err
		}
	}
	for _, app := range apps {
		if err := a.Sim.AddApp(loc.UID, app); err != nil {
			return "", "", err
		}
	}
	tok, err := a.Sim.MintToken(loc.UID, time.Now().Add(300*24*time.Hour))
	return loc.UID, tok, err
}

// Books returns n book specs with adamIds from first on, each with licenses licenses.
func Books(first, n, licenses int) []applesim.BookSpec {
	out := make([]applesim.BookSpec, n)
	for i := range out {
		id := fmt.Sprintf("%d", first+i)
		out[i] = applesim.BookSpec{AdamID: id, Title: "Benchmark Book " + id, Author: "Bench", Genres: []string{"Reference"},
			Language: "en", Licenses: licenses}
	}
	return out
}

// Counts is what the simulator saw during a measured operation.
type Counts struct {
	Requests    map[string]int // per endpoint, e.g. "POST /users/create"
	Total       int
	RateLimited int // HTTP 429 answers
	MaxInFlight int // the most requests served at once
}

// ResetCounts zeroes the counters.
func (a *Apple) ResetCounts() {
	a.Sim.ResetStats()
	a.inFlight.mu.Lock()
	a.inFlight.max = 0
	a.inFlight.mu.Unlock()
}

// Counts reads the counters.
func (a *Apple) Counts() Counts {
	st := a.Sim.Stats()
	a.inFlight.mu.Lock()
	defer a.inFlight.mu.Unlock()
	return Counts{Requests: st.Requests, Total: st.TotalRequests, RateLimited: st.RateLimited, MaxInFlight: a.inFlight.max}
}

// Limited counts the requests subject to the rate limit: all but GET /service/config, which
// needs no token, and GET /lookup, the catalog's metadata service (not the API's).
func (c Counts) Limited() int {
	return c.Total - c.Requests["GET /service/config"] - c.Requests["GET /lookup"]
}

// unthrottledClient makes an engine's Apple client ignore the announced rate (setup only).
func unthrottledClient(c *apple.Config) { c.RequestsPerSecond = 100_000 }

// httpClient carries the engine's requests to the loopback simulator.
func httpClient() *http.Client {
	t := &http.Transport{MaxIdleConns: 16, MaxIdleConnsPerHost: 16, IdleConnTimeout: 90 * time.Second}
	return &http.Client{Transport: t}
}
