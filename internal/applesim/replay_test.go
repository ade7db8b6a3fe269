package applesim

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// The "after" faults apply the request, queue its event as normal, then answer an error.
func TestFaultsAfter(t *testing.T) {
	e := newEnv(t, testOptions())
	e.mustAddApp("200", 5)

	e.sim.InjectFault(Fault{Endpoint: "POST /users/create", Kind: FaultInternalErrorAfter})
	r := e.do("POST", "/users/create", e.token, users("u1"))
	e.expectError(r, 500, 9603)
	if r.header.Get("Retry-After") != DefaultRetryAfter {
		t.Fatalf("500 Retry-After %q", r.header.Get("Retry-After"))
	}
	if n := e.eventCount(); n != 1 {
		t.Fatalf("%d events after internal_error_after", n)
	}

	date := RetryAfterDate(time.Now().Add(time.Minute))
	e.sim.InjectFault(Fault{Endpoint: "POST /assets/associate", Kind: FaultUnavailableAfter, RetryAfter: date})
	r = e.do("POST", "/assets/associate", e.token, map[string]any{"assets": assets("200"), "serialNumbers": ids{"S1"}})
	e.expectError(r, 503, 9729)
	if r.header.Get("Retry-After") != date {
		t.Fatalf("503 Retry-After %q", r.header.Get("Retry-After"))
	}
	if n := e.eventCount(); n != 2 {
		t.Fatalf("%d events after unavailable_after", n)
	}
	e.sim.ProcessPendingEvents()
	if got := e.sim.Users(e.uid); len(got) != 1 || got[0].ClientUserID != "u1" {
		t.Fatalf("users %+v", got)
	}
	if got := e.sim.Assignments(e.uid); !slices.Equal(got, []Assignment{{"200", "STDQ", "", "S1"}}) {
		t.Fatalf("assignments %+v", got)
	}

	// A request the inner service refuses is refused all the same: no event.
	e.sim.InjectFault(Fault{Endpoint: "POST /users/create", Kind: FaultUnavailableAfter})
	e.expectError(e.do("POST", "/users/create", e.token, map[string]any{"users": []any{}}), 503, 9729)
	if n := e.eventCount(); n != 2 {
		t.Fatalf("%d events after a refused request", n)
	}

	// Reads work too, and random faults can draw the new kinds.
	e.sim.SetRandomFaults(RandomFaults{Rate: 1, Endpoint: "POST /users/retire", Kinds: []FaultKind{FaultInternalErrorAfter, FaultUnavailableAfter}})
	for range 4 {
		r := e.do("POST", "/users/retire", e.token, users("u1"))
		if n := r.errorNumber(t); r.status != 500 && r.status != 503 || n != 9603 && n != 9729 {
			t.Fatalf("random after fault: %d %s", r.status, r.body)
		}
	}
	if n := e.eventCount(); n != 6 {
		t.Fatalf("%d events after random after-faults", n)
	}
	st := e.sim.Stats()
	if st.Faults[FaultInternalErrorAfter]+st.Faults[FaultUnavailableAfter] != 7 {
		t.Fatalf("stats %+v", st.Faults)
	}
}

// The default random kinds stay 429, 500 and 503, without the "after" kinds.
func TestRandomFaultsDefaultKinds(t *testing.T) {
	e := newEnv(t, testOptions())
	e.sim.SetRandomFaults(RandomFaults{Rate: 1})
	e.sim.faults.mu.Lock()
	kinds := slices.Clone(e.sim.faults.random.Kinds)
	e.sim.faults.mu.Unlock()
	if !slices.Equal(kinds, []FaultKind{FaultRateLimited, FaultInternalError, FaultUnavailable}) {
		t.Fatalf("default kinds %v", kinds)
	}
}

// replays lists the replay violations only.
func replays(vs []Violation) []Violation {
	return slices.DeleteFunc(slices.Clone(vs), func(v Violation) bool { return v.Kind != ViolationReplay })
}

func TestStrictReplay(t *testing.T) {
	e := newEnv(t, strictOptions())
	e.mustAddApp("200", 10)
	e.mustAddApp("300", 10)
	e.mustCreateUsers("u1", "u2", "u3")
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resetAfter := func(path string, body any) {
		t.Helper()
		e.sim.InjectFault(Fault{Endpoint: "POST " + path, Kind: FaultResetAfter})
		if resp, err := client.Do(e.request("POST", path, e.token, body)); err == nil {
			resp.Body.Close()
			t.Fatal("reset after: request succeeded")
		}
	}

	// The lost associate was applied; a request with other pairs is no replay.
	resetAfter("/assets/associate", map[string]any{"assets": assets("200"), "clientUserIds": ids{"u1"}, "serialNumbers": ids{"S1"}})
	e.sim.ProcessPendingEvents()
	e.run("/assets/associate", map[string]any{"assets": assets("200"), "clientUserIds": ids{"u2"}})
	e.run("/assets/associate", map[string]any{"assets": assets("300"), "clientUserIds": ids{"u1"}})
	e.wantViolations()

	// Resending one of its pairs is a replay, recorded once, at request time; the reassociate
	// follows when the event is processed. pricingParam defaults to STDQ.
	e.run("/assets/associate", map[string]any{"assets": []map[string]string{{"adamId": "200"}}, "clientUserIds": ids{"u3", "u1"}, "serialNumbers": ids{"S1"}})
	vs := e.wantViolations("replay:u1", "reassociate:u1", "reassociate:")
	if v := vs[0]; v.LocationUID != testUID || v.AdamID != "200" || v.PricingParam != PricingSTDQ ||
		!strings.Contains(v.Detail, "/assets/associate") || !strings.Contains(v.Detail, `clientUserId "u1"`) || !strings.Contains(v.Detail, string(FaultResetAfter)) {
		t.Fatalf("replay %+v", v)
	}
	// A device pair is an item too.
	e.sim.ResetViolations()
	e.run("/assets/associate", map[string]any{"assets": assets("200"), "serialNumbers": ids{"S1"}})
	if v := replays(e.sim.Violations()); len(v) != 1 || v[0].ClientUserID != "" || !strings.Contains(v[0].Detail, `serialNumber "S1"`) {
		t.Fatalf("device replay %+v", v)
	}
	// Memory is per endpoint: disassociating the pair is no replay of the associate.
	e.sim.ResetViolations()
	e.run("/assets/disassociate", map[string]any{"assets": assets("200"), "clientUserIds": ids{"u1"}})
	e.wantViolations()

	// disassociate with a 503 after it was applied, then resent.
	e.sim.InjectFault(Fault{Endpoint: "POST /assets/disassociate", Kind: FaultUnavailableAfter})
	e.expectError(e.do("POST", "/assets/disassociate", e.token, map[string]any{"assets": assets("300"), "clientUserIds": ids{"u1"}}), 503, 9729)
	e.run("/assets/disassociate", map[string]any{"assets": assets("300"), "clientUserIds": ids{"u1"}})
	if v := replays(e.sim.Violations()); len(v) != 1 || v[0].AdamID != "300" || !strings.Contains(v[0].Detail, "/assets/disassociate") ||
		!strings.Contains(v[0].Detail, string(FaultUnavailableAfter)) {
		t.Fatalf("disassociate replay %+v", e.sim.Violations())
	}

	// users/create with a 500 after it was applied, then resent: replay and recreate.
	e.sim.ResetViolations()
	e.sim.InjectFault(Fault{Endpoint: "POST /users/create", Kind: FaultInternalErrorAfter})
	e.expectError(e.do("POST", "/users/create", e.token, users("n1", "n2")), 500, 9603)
	e.sim.ProcessPendingEvents()
	e.run("/users/create", users("n3", "n2"))
	vs = e.wantViolations("replay:n2", "recreate:n2")
	if v := vs[0]; v.AdamID != "" || !strings.Contains(v.Detail, "/users/create") || !strings.Contains(v.Detail, `clientUserId "n2"`) {
		t.Fatalf("users replay %+v", v)
	}
	// A replay is recorded even when the resend is refused synchronously.
	e.sim.ResetViolations()
	e.expectError(e.do("POST", "/users/create", e.token, map[string]any{"users": []map[string]string{{"clientUserId": "n1", "email": "bad"}}}), 400, 9717)
	e.wantViolations("replay:n1")

	// A faulted request that was refused leaves nothing to replay.
	e.sim.ResetViolations()
	e.sim.InjectFault(Fault{Endpoint: "POST /users/create", Kind: FaultInternalErrorAfter})
	e.expectError(e.do("POST", "/users/create", e.token, map[string]any{"users": []map[string]string{{"clientUserId": "x1", "email": "bad"}}}), 500, 9603)
	e.run("/users/create", users("x1"))
	e.wantViolations()

	// Another location has its own memory.
	other, _ := e.sim.CreateLocation(LocationSpec{})
	otherTok, _ := e.sim.MintToken(other.UID, time.Now().Add(time.Hour))
	e.ok(e.do("POST", "/users/create", otherTok, users("n1")), nil)
	e.wantViolations()

	// Strict mode off: nothing is remembered or recorded.
	e.sim.SetStrict(false)
	e.sim.InjectFault(Fault{Endpoint: "POST /users/create", Kind: FaultInternalErrorAfter})
	e.expectError(e.do("POST", "/users/create", e.token, users("y1")), 500, 9603)
	e.sim.SetStrict(true)
	e.run("/users/create", users("y1"))
	e.wantViolations("recreate:y1") // no replay
}
