package applesim

import (
	"net/http"
	"slices"
	"testing"
	"time"
)

func TestScriptedFaults(t *testing.T) {
	e := newEnv(t, testOptions())
	e.sim.InjectFault(Fault{Endpoint: "GET /assets", Kind: FaultRateLimited, Count: 2})
	for range 2 {
		r := e.do("GET", "/assets", e.token, nil)
		e.expectError(r, 429, 9646)
		if r.header.Get("Retry-After") != "" {
			t.Fatal("429 fault sent Retry-After")
		}
	}
	e.ok(e.do("GET", "/assets", e.token, nil), nil)

	date := RetryAfterDate(time.Now().Add(time.Minute))
	e.sim.InjectFault(Fault{Kind: FaultInternalError})
	e.sim.InjectFault(Fault{Kind: FaultUnavailable, RetryAfter: date})
	e.sim.InjectFault(Fault{Endpoint: "GET /users", Kind: FaultErrorBody, ErrorNumber: 9625})
	e.sim.InjectFault(Fault{Endpoint: "GET /service/config", Kind: FaultErrorBody})

	r := e.do("GET", "/users", e.token, nil) // "" matches any endpoint
	e.expectError(r, 500, 9603)
	if r.header.Get("Retry-After") != DefaultRetryAfter {
		t.Fatalf("500 Retry-After %q", r.header.Get("Retry-After"))
	}
	r = e.do("GET", "/status?eventId=x", e.token, nil)
	e.expectError(r, 503, 9729)
	if r.header.Get("Retry-After") != date {
		t.Fatalf("503 Retry-After %q", r.header.Get("Retry-After"))
	}
	e.expectError(e.do("GET", "/users", e.token, nil), 200, 9625)
	e.expectError(e.do("GET", "/service/config", "", nil), 200, 9603)
	e.ok(e.do("GET", "/users", e.token, nil), nil)

	st := e.sim.Stats()
	if st.FaultsInjected != 6 || st.Faults[FaultRateLimited] != 2 || st.Faults[FaultErrorBody] != 2 ||
		st.RateLimited != 2 || st.Requests["GET /assets"] != 3 || st.Requests["GET /users"] != 3 || st.TotalRequests != 8 {
		t.Fatalf("stats %+v", st)
	}
	e.sim.ResetStats()
	if st := e.sim.Stats(); st.TotalRequests != 0 || len(st.Requests) != 0 {
		t.Fatalf("after reset %+v", st)
	}
}

func TestConnectionResetFaults(t *testing.T) {
	e := newEnv(t, testOptions())
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	send := func(method, path string, body any) error {
		resp, err := client.Do(e.request(method, path, e.token, body))
		if err == nil {
			resp.Body.Close()
		}
		return err
	}

	e.sim.InjectFault(Fault{Endpoint: "POST /users/create", Kind: FaultResetBefore})
	if err := send("POST", "/users/create", users("u1")); err == nil {
		t.Fatal("reset before: request succeeded")
	}
	e.sim.ProcessPendingEvents()
	if n := e.eventCount(); n != 0 || len(e.sim.Users(e.uid)) != 0 {
		t.Fatalf("reset before applied the request: %d events", n)
	}

	// The outcome is unknown to the client, but the event exists and completes.
	e.sim.InjectFault(Fault{Endpoint: "POST /users/create", Kind: FaultResetAfter})
	if err := send("POST", "/users/create", users("u1")); err == nil {
		t.Fatal("reset after: request succeeded")
	}
	if n := e.eventCount(); n != 1 {
		t.Fatalf("reset after: %d events", n)
	}
	e.sim.ProcessPendingEvents()
	if got := e.sim.Users(e.uid); len(got) != 1 || got[0].ClientUserID != "u1" {
		t.Fatalf("reset after: users %+v", got)
	}

	e.sim.InjectFault(Fault{Endpoint: "GET /assets", Kind: FaultResetBefore})
	if err := send("GET", "/assets", nil); err == nil {
		t.Fatal("GET reset: request succeeded")
	}
	if st := e.sim.Stats(); st.Faults[FaultResetBefore] != 2 || st.Faults[FaultResetAfter] != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestSlowFault(t *testing.T) {
	e := newEnv(t, testOptions())
	e.sim.InjectFault(Fault{Endpoint: "GET /assets", Kind: FaultSlow, Delay: 100 * time.Millisecond})
	start := time.Now()
	e.ok(e.do("GET", "/assets", e.token, nil), nil)
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Fatalf("slow fault took %v", d)
	}

	// A client that gives up gets nothing applied.
	e.sim.InjectFault(Fault{Endpoint: "POST /users/create", Kind: FaultSlow, Delay: time.Minute})
	client := &http.Client{Timeout: 100 * time.Millisecond}
	if resp, err := client.Do(e.request("POST", "/users/create", e.token, users("u1"))); err == nil {
		resp.Body.Close()
		t.Fatal("slow request did not time out")
	}
	if n := e.eventCount(); n != 0 {
		t.Fatalf("%d events", n)
	}
}

func TestRandomFaults(t *testing.T) {
	sequence := func() []int {
		e := newEnv(t, Options{DisableRateLimit: true, Seed: 42, RandomFaults: RandomFaults{Rate: 0.5}})
		var statuses []int
		for range 30 {
			statuses = append(statuses, e.do("GET", "/service/config", "", nil).status)
		}
		if st := e.sim.Stats(); st.FaultsInjected == 0 || st.FaultsInjected == 30 {
			t.Fatalf("rate 0.5 injected %d of 30", st.FaultsInjected)
		}
		return statuses
	}
	a, b := sequence(), sequence()
	if !slices.Equal(a, b) {
		t.Fatalf("same seed, different faults:\n%v\n%v", a, b)
	}
	if !slices.Contains(a, 200) || !slices.ContainsFunc(a, func(s int) bool { return s >= 429 }) {
		t.Fatalf("statuses %v", a)
	}

	e := newEnv(t, testOptions())
	e.sim.SetRandomFaults(RandomFaults{Rate: 1, Kinds: []FaultKind{FaultErrorBody}, Endpoint: "GET /users", ErrorNumber: 9646})
	e.expectError(e.do("GET", "/users", e.token, nil), 200, 9646)
	e.ok(e.do("GET", "/assets", e.token, nil), nil)
	e.sim.ClearFaults()
	e.ok(e.do("GET", "/users", e.token, nil), nil)
}
