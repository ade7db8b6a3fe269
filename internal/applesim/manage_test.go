package applesim

import (
	"slices"
	"testing"
	"time"
)

func (e *env) eventCount() int {
	e.sim.mu.Lock()
	defer e.sim.mu.Unlock()
	return len(e.sim.w.Locations[e.uid].Events)
}

func TestManageValidationOrder(t *testing.T) {
	opts := testOptions()
	opts.Limits = map[string]int{
		LimitMaxAssets: 2, LimitMaxClientUserIDs: 2, LimitMaxSerialNumbers: 2,
		LimitMaxRevokeClientUserIDs: 1, LimitMaxRevokeSerialNumbers: 1,
	}
	e := newEnv(t, opts)
	e.mustAddBook("100", 5)
	e.mustAddApp("200", 5)

	type req = map[string]any
	tests := []struct {
		name   string
		path   string
		body   any
		number int
	}{
		{"assets missing", "/assets/associate", req{"clientUserIds": ids{"u1"}}, 9718},
		{"assets missing before targets", "/assets/associate", req{}, 9718},
		{"targets missing", "/assets/associate", req{"assets": assets("200")}, 9719},
		{"bad pricing", "/assets/associate", req{"assets": []req{{"adamId": "200", "pricingParam": "GOLD"}}, "clientUserIds": ids{"u1"}}, 9602},
		{"duplicate assets before limits", "/assets/associate", req{"assets": assets("200", "200", "1", "2"), "clientUserIds": ids{"u1"}}, 9703},
		{"duplicate assets with default pricing", "/assets/associate", req{"assets": []req{{"adamId": "200"}, {"adamId": "200", "pricingParam": "STDQ"}}, "clientUserIds": ids{"u1"}}, 9703},
		{"duplicate users", "/assets/associate", req{"assets": assets("200"), "clientUserIds": ids{"u1", "u1", "u2", "u3"}}, 9704},
		{"duplicate serials", "/assets/associate", req{"assets": assets("100"), "serialNumbers": ids{"S1", "S1"}}, 9705},
		{"too many assets", "/assets/associate", req{"assets": assets("1", "2", "3"), "clientUserIds": ids{"u1"}}, 9700},
		{"too many users", "/assets/associate", req{"assets": assets("200"), "clientUserIds": ids{"u1", "u2", "u3"}}, 9701},
		{"too many serials before device check", "/assets/associate", req{"assets": assets("100"), "serialNumbers": ids{"S1", "S2", "S3"}}, 9702},
		{"book to device", "/assets/associate", req{"assets": assets("200", "100"), "clientUserIds": ids{"u1"}, "serialNumbers": ids{"S1"}}, 9707},
		{"disassociate book", "/assets/disassociate", req{"assets": assets("100"), "clientUserIds": ids{"u1"}}, 9706},
		{"disassociate limits first", "/assets/disassociate", req{"assets": assets("100", "1", "2"), "clientUserIds": ids{"u1"}}, 9700},
		{"revoke empty", "/assets/revoke", req{}, 9719},
		{"revoke duplicates", "/assets/revoke", req{"clientUserIds": ids{"u1", "u1"}}, 9704},
		{"revoke duplicate serials", "/assets/revoke", req{"serialNumbers": ids{"S", "S"}}, 9705},
		{"revoke too many users", "/assets/revoke", req{"clientUserIds": ids{"u1", "u2"}}, 9701},
		{"revoke too many serials", "/assets/revoke", req{"serialNumbers": ids{"S1", "S2"}}, 9702},
		{"users missing", "/users/create", req{"users": []req{}}, 9720},
		{"duplicate users before limit", "/users/create", req{"users": []req{{"clientUserId": "a"}, {"clientUserId": "a"}}}, 9715},
		{"invalid email", "/users/update", req{"users": []req{{"clientUserId": "a", "email": "not an email"}}}, 9717},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("POST", tc.path, e.token, tc.body)
			e.expectError(r, 400, tc.number)
			var body wireError
			r.decode(t, &body)
			if tc.number == 9707 && !slices.Equal(body.ErrorInfo.Assets, []assetRef{{"100", "STDQ"}}) {
				t.Fatalf("errorInfo %+v", body.ErrorInfo)
			}
		})
	}
	e.sim.SetLimits(map[string]int{LimitMaxUsers: 1})
	e.expectError(e.do("POST", "/users/create", e.token, users("a", "b")), 400, 9714)
	if n := e.eventCount(); n != 0 {
		t.Fatalf("rejected requests created %d events", n)
	}
	// An app goes to devices; an asset the location lacks fails asynchronously.
	if st := e.run("/assets/associate", req{"assets": assets("200"), "serialNumbers": ids{"S1"}}); st.EventStatus != EventComplete {
		t.Fatalf("%+v", st)
	}
	st := e.run("/assets/associate", req{"assets": assets("999"), "serialNumbers": ids{"S1"}})
	if st.EventStatus != EventFailed || st.Failures[0].ErrorNumber != 9709 {
		t.Fatalf("unknown asset %+v", st)
	}
}

// Apple's example: 2 assets × (4 users + 4 serials) = 16 tasks; client-4 is unknown, so 14 complete.
func TestAssociateEventArithmetic(t *testing.T) {
	e := newEnv(t, testOptions())
	e.mustAddApp("408709785", 100)
	e.mustAddApp("361304891", 100)
	e.mustCreateUsers("client-1", "client-2", "client-3")

	body := map[string]any{
		"assets":        assets("408709785", "361304891"),
		"clientUserIds": ids{"client-1", "client-2", "client-3", "client-4"},
		"serialNumbers": ids{"S1", "S2", "S3", "S4"},
	}
	id := e.submit("/assets/associate", body)
	if st := e.status(id); st.EventStatus != EventPending || st.EventType != EventAssociate || st.NumRequested != 16 || st.NumCompleted != 0 || st.UID != testUID {
		t.Fatalf("pending %+v", st)
	}
	e.sim.ProcessPendingEvents()
	st := e.status(id)
	if st.EventStatus != EventFailed || st.NumRequested != 16 || st.NumCompleted != 14 || len(st.Failures) != 1 {
		t.Fatalf("done %+v", st)
	}
	f := st.Failures[0]
	if f.ErrorNumber != 9609 || f.ErrorMessage == "" || !slices.Equal(f.ErrorInfo.ClientUserIDs, []string{"client-4"}) || len(f.ErrorInfo.Assets) != 2 {
		t.Fatalf("failure %+v", f)
	}
	if a, _ := e.sim.Asset(e.uid, "408709785", "STDQ"); a.AssignedCount != 7 || a.AvailableCount != 93 {
		t.Fatalf("asset %+v", a)
	}

	// Already-assigned pairs succeed without spending a licence (default).
	body["clientUserIds"] = ids{"client-1", "client-2", "client-3"}
	if st := e.run("/assets/associate", body); st.EventStatus != EventComplete || st.NumCompleted != 14 || st.Failures != nil {
		t.Fatalf("repeat %+v", st)
	}
	if a, _ := e.sim.Asset(e.uid, "408709785", "STDQ"); a.AssignedCount != 7 {
		t.Fatalf("repeat spent licences: %+v", a)
	}
	if n := len(e.sim.Assignments(e.uid)); n != 14 {
		t.Fatalf("%d assignments", n)
	}

	// Disassociate: unassigned pairs count as done; unknown users fail.
	st = e.run("/assets/disassociate", map[string]any{"assets": assets("408709785"), "clientUserIds": ids{"client-1", "nobody"}, "serialNumbers": ids{"S1", "S9"}})
	if st.EventStatus != EventFailed || st.NumRequested != 4 || st.NumCompleted != 3 || st.Failures[0].ErrorNumber != 9609 {
		t.Fatalf("disassociate %+v", st)
	}
	if a, _ := e.sim.Asset(e.uid, "408709785", "STDQ"); a.AssignedCount != 5 {
		t.Fatalf("after disassociate %+v", a)
	}
}

func TestAlreadyAssignedQuirk(t *testing.T) {
	opts := testOptions()
	opts.Quirks.AlreadyAssignedFails = true
	e := newEnv(t, opts)
	e.mustAddApp("200", 5)
	e.mustCreateUsers("u1")
	e.run("/assets/associate", map[string]any{"assets": assets("200"), "clientUserIds": ids{"u1"}})
	st := e.run("/assets/associate", map[string]any{"assets": assets("200"), "clientUserIds": ids{"u1"}})
	if st.EventStatus != EventFailed || st.Failures[0].ErrorNumber != 9616 {
		t.Fatalf("%+v", st)
	}
}

func TestLicencesRunOutMidEvent(t *testing.T) {
	e := newEnv(t, testOptions())
	e.mustAddBook("101", 3)
	e.mustCreateUsers("u1", "u2", "u3", "u4", "u5")
	st := e.run("/assets/associate", map[string]any{"assets": assets("101"), "clientUserIds": ids{"u1", "u2", "u3", "u4", "u5"}})
	if st.EventStatus != EventFailed || st.NumRequested != 5 || st.NumCompleted != 3 || len(st.Failures) != 1 {
		t.Fatalf("%+v", st)
	}
	if f := st.Failures[0]; f.ErrorNumber != 9709 || !slices.Equal(f.ErrorInfo.ClientUserIDs, []string{"u4", "u5"}) {
		t.Fatalf("failure %+v", f)
	}
	if a, _ := e.sim.Asset(e.uid, "101", "STDQ"); a.AssignedCount != 3 || a.AvailableCount != 0 || a.TotalCount != 3 {
		t.Fatalf("asset %+v", a)
	}
}

func TestRevoke(t *testing.T) {
	e := newEnv(t, testOptions())
	e.mustAddBook("100", 5)
	e.mustAddApp("200", 5)
	e.mustAddApp("300", 5)
	e.mustCreateUsers("u1", "u2")
	e.run("/assets/associate", map[string]any{"assets": assets("100", "200"), "clientUserIds": ids{"u1", "u2"}})
	e.run("/assets/associate", map[string]any{"assets": assets("200", "300"), "serialNumbers": ids{"S1", "S2"}})

	st := e.run("/assets/revoke", map[string]any{"clientUserIds": ids{"u1", "ghost"}, "serialNumbers": ids{"S1"}})
	if st.EventStatus != EventFailed || st.EventType != EventRevoke || st.NumRequested != 3 || st.NumCompleted != 2 ||
		st.Failures[0].ErrorNumber != 9609 || !slices.Equal(st.Failures[0].ErrorInfo.ClientUserIDs, []string{"ghost"}) {
		t.Fatalf("%+v", st)
	}
	want := []Assignment{
		{"100", "STDQ", "u1", ""}, // books stay
		{"100", "STDQ", "u2", ""},
		{"200", "STDQ", "u2", ""},
		{"200", "STDQ", "", "S2"},
		{"300", "STDQ", "", "S2"},
	}
	if got := e.sim.Assignments(e.uid); !slices.Equal(got, want) {
		t.Fatalf("assignments %+v", got)
	}
	if a, _ := e.sim.Asset(e.uid, "200", "STDQ"); a.AssignedCount != 2 || a.AvailableCount != 3 {
		t.Fatalf("asset %+v", a)
	}
}

func TestEventsProcessInBackground(t *testing.T) {
	e := newEnv(t, Options{DisableRateLimit: true}) // ProcessingDelay 0
	id := e.submit("/users/create", users("u1"))
	if st := e.waitDone(id); st.EventStatus != EventComplete || st.NumCompleted != 1 {
		t.Fatalf("%+v", st)
	}
}

func (e *env) waitDone(id string) wireStatus {
	e.t.Helper()
	for range 500 {
		if st := e.status(id); st.EventStatus != EventPending {
			return st
		}
		time.Sleep(10 * time.Millisecond)
	}
	e.t.Fatal("event still pending")
	return wireStatus{}
}

func TestEventRetentionQuirk(t *testing.T) {
	clock := newFakeClock()
	opts := testOptions()
	opts.Now = clock.Now
	opts.Quirks.EventRetention = 24 * time.Hour
	e := newEnv(t, opts)
	// The env's token was minted with the real clock; use one valid on the fake clock.
	tok, _ := e.sim.MintToken(e.uid, clock.Now().Add(365*24*time.Hour))
	e.token = tok
	first := e.run("/users/create", users("u1"))
	if first.EventStatus != EventComplete {
		t.Fatalf("%+v", first)
	}
	id := e.submit("/users/create", users("u2"))
	clock.Advance(48 * time.Hour)
	// Pending events never expire.
	e.ok(e.do("GET", "/status?eventId="+id, e.token, nil), nil)
	e.sim.ProcessPendingEvents()
	e.ok(e.do("GET", "/status?eventId="+id, e.token, nil), nil)
	clock.Advance(25 * time.Hour)
	e.expectError(e.do("GET", "/status?eventId="+id, e.token, nil), 400, 9708)
}
