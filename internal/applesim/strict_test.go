package applesim

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func strictOptions() Options {
	opts := testOptions()
	opts.Strict = true
	return opts
}

// kinds lists the kinds and subjects of violations, for compact comparisons.
func kinds(vs []Violation) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.Kind + ":" + v.ClientUserID
	}
	return out
}

func (e *env) wantViolations(want ...string) []Violation {
	e.t.Helper()
	got := e.sim.Violations()
	if k := kinds(got); !slices.Equal(k, want) {
		e.t.Fatalf("violations %q, want %q: %+v", k, want, got)
	}
	return got
}

func TestStrictReassociate(t *testing.T) {
	e := newEnv(t, strictOptions())
	e.mustAddApp("200", 5)
	e.mustAddBook("100", 5)
	e.mustCreateUsers("u1", "u2")
	first := map[string]any{"assets": assets("200"), "clientUserIds": ids{"u1"}, "serialNumbers": ids{"S1"}}
	if st := e.run("/assets/associate", first); st.EventStatus != EventComplete || st.NumCompleted != 2 {
		t.Fatalf("first %+v", st)
	}
	e.wantViolations() // first assignments are no violation

	// u1 and S1 already hold 200; u2 does not; nobody holds 100.
	again := map[string]any{"assets": assets("100", "200"), "clientUserIds": ids{"u1", "u2"}}
	if st := e.run("/assets/associate", again); st.EventStatus != EventComplete || st.NumCompleted != 4 {
		t.Fatalf("again %+v", st)
	}
	if st := e.run("/assets/associate", map[string]any{"assets": assets("200"), "serialNumbers": ids{"S1", "S2"}}); st.EventStatus != EventComplete {
		t.Fatalf("devices %+v", st)
	}
	vs := e.wantViolations("reassociate:u1", "reassociate:")
	if v := vs[0]; v.LocationUID != testUID || v.AdamID != "200" || v.PricingParam != PricingSTDQ || v.Email != "" || v.Detail == "" {
		t.Fatalf("user violation %+v", v)
	}
	if v := vs[1]; v.AdamID != "200" || v.PricingParam != PricingSTDQ || !strings.Contains(v.Detail, `serialNumber "S1"`) {
		t.Fatalf("device violation %+v", v)
	}
	// Behaviour is unchanged: no licence spent twice.
	if a, _ := e.sim.Asset(e.uid, "200", ""); a.AssignedCount != 4 || a.AvailableCount != 1 {
		t.Fatalf("asset %+v", a)
	}

	// Violations returns a copy; ResetViolations clears.
	vs[0].Kind = "changed"
	e.wantViolations("reassociate:u1", "reassociate:")
	e.sim.ResetViolations()
	e.wantViolations()

	// Off: nothing is recorded.
	e.sim.SetStrict(false)
	e.run("/assets/associate", first)
	e.wantViolations()
	e.sim.SetStrict(true)
	e.run("/assets/associate", first)
	e.wantViolations("reassociate:u1", "reassociate:")
}

// Under Quirks.AlreadyAssignedFails the task still fails with 9616 and is still recorded.
func TestStrictReassociateQuirk(t *testing.T) {
	opts := strictOptions()
	opts.Quirks.AlreadyAssignedFails = true
	e := newEnv(t, opts)
	e.mustAddApp("200", 5)
	e.mustCreateUsers("u1")
	body := map[string]any{"assets": assets("200"), "clientUserIds": ids{"u1"}}
	e.run("/assets/associate", body)
	st := e.run("/assets/associate", body)
	if st.EventStatus != EventFailed || st.Failures[0].ErrorNumber != 9616 {
		t.Fatalf("%+v", st)
	}
	e.wantViolations("reassociate:u1")
}

func TestStrictRecreate(t *testing.T) {
	e := newEnv(t, strictOptions())
	e.mustCreateUsers("u1")
	e.wantViolations()
	st := e.run("/users/create", users("u1", "u2"))
	if st.EventStatus != EventFailed || st.NumCompleted != 1 || st.Failures[0].ErrorNumber != 9716 {
		t.Fatalf("%+v", st)
	}
	vs := e.wantViolations("recreate:u1")
	if v := vs[0]; v.LocationUID != testUID || v.Email != "u1@example.com" || v.AdamID != "" || v.Detail == "" {
		t.Fatalf("%+v", v)
	}
	// A retired clientUserId may be created again.
	e.run("/users/retire", users("u1"))
	if st := e.run("/users/create", users("u1")); st.EventStatus != EventComplete {
		t.Fatalf("%+v", st)
	}
	e.wantViolations("recreate:u1")

	e.sim.SetStrict(false)
	e.sim.ResetViolations()
	if st := e.run("/users/create", users("u1")); st.Failures[0].ErrorNumber != 9716 {
		t.Fatalf("%+v", st)
	}
	e.wantViolations()
}

func TestStrictSecondUser(t *testing.T) {
	e := newEnv(t, strictOptions())
	create := func(list ...map[string]string) wireStatus {
		t.Helper()
		return e.run("/users/create", map[string]any{"users": list})
	}
	st := create(
		map[string]string{"clientUserId": "alice-1", "email": "Alice@Example.com"},
		map[string]string{"clientUserId": "bob-1", "managedAppleId": "bob@corp.example"},
		map[string]string{"clientUserId": "carol-1", "email": "carol@example.com"},
	)
	if st.EventStatus != EventComplete {
		t.Fatalf("%+v", st)
	}
	e.wantViolations()

	st = create(
		// Same email, other case: a second user for Alice.
		map[string]string{"clientUserId": "alice-2", "email": "alice@example.COM"},
		// Email equal to another user's Managed Apple Account.
		map[string]string{"clientUserId": "bob-2", "email": "BOB@corp.example"},
		// Same Managed Apple Account: Apple refuses it (9641), so no user, no violation.
		map[string]string{"clientUserId": "bob-3", "managedAppleId": "bob@corp.example"},
		// Another person.
		map[string]string{"clientUserId": "dave-1", "email": "dave@example.com"},
	)
	if st.EventStatus != EventFailed || st.NumCompleted != 3 || st.Failures[0].ErrorNumber != 9641 {
		t.Fatalf("%+v", st)
	}
	vs := e.wantViolations("second_user:alice-2", "second_user:bob-2")
	if v := vs[0]; v.LocationUID != testUID || v.Email != "alice@example.com" || !strings.Contains(v.Detail, "alice-1") {
		t.Fatalf("%+v", v)
	}
	if v := vs[1]; v.Email != "bob@corp.example" || !strings.Contains(v.Detail, "bob-1") {
		t.Fatalf("%+v", v)
	}
	// The users exist as without strict mode.
	if list := e.usersList("?activeOnly=true"); len(list) != 6 {
		t.Fatalf("%+v", list)
	}

	// Retired users do not count.
	e.sim.ResetViolations()
	e.run("/users/retire", users("carol-1"))
	create(map[string]string{"clientUserId": "carol-2", "email": "carol@example.com"})
	e.wantViolations()

	// Off: nothing is recorded.
	e.sim.SetStrict(false)
	create(map[string]string{"clientUserId": "alice-3", "email": "alice@example.com"})
	e.wantViolations()
}

func TestAddUserHook(t *testing.T) {
	e := newEnv(t, strictOptions())
	e.sim.mu.Lock()
	e.sim.w.Locations[e.uid].ManagedAppleDomains = []string{"corp.example"}
	e.sim.mu.Unlock()
	var before wireUsers
	e.get("/users", &before)

	specs := []UserSpec{
		{ClientUserID: "reg", Email: "reg@example.com"},
		{ClientUserID: "acc", Email: "acc@example.com", Associated: true},
		{ClientUserID: "anon", Associated: true},
		{ClientUserID: "maid", ManagedAppleID: "maid@corp.example"},
	}
	for _, spec := range specs {
		if err := e.sim.AddUser(e.uid, spec); err != nil {
			t.Fatalf("AddUser(%+v): %v", spec, err)
		}
	}
	var after wireUsers
	e.get("/users", &after)
	if after.VersionID == before.VersionID {
		t.Fatal("users versionId unchanged")
	}
	got := after.Users
	if len(got) != 4 {
		t.Fatalf("%+v", got)
	}
	if u := got[0]; u.ClientUserID != "reg" || u.Status != StatusRegistered || len(u.InviteCode) != 32 || u.IDHash != "" || u.Email != "reg@example.com" {
		t.Fatalf("registered %+v", u)
	}
	if u := got[1]; u.Status != StatusAssociated || u.IDHash != accountHash("acc@example.com") || u.Email != "acc@example.com" {
		t.Fatalf("associated %+v", u)
	}
	if u := got[2]; u.Status != StatusAssociated || len(u.IDHash) != 28 {
		t.Fatalf("anonymous %+v", u)
	}
	if u := got[3]; u.Status != StatusAssociated || u.IDHash != accountHash("maid@corp.example") || u.InviteCode != "" {
		t.Fatalf("managed %+v", u)
	}
	// Incremental sync sees the hook's users like created ones.
	var since wireUsers
	e.get("/users?sinceVersionId="+before.VersionID, &since)
	if len(since.Users) != 4 {
		t.Fatalf("since %+v", since.Users)
	}

	for _, tc := range []struct {
		uid  string
		spec UserSpec
		want error
	}{
		{e.uid, UserSpec{ClientUserID: "reg"}, ErrExists},
		{e.uid, UserSpec{ClientUserID: "x", ManagedAppleID: "MAID@corp.example"}, ErrExists},
		{e.uid, UserSpec{ClientUserID: "x", ManagedAppleID: "x@other.example"}, ErrInvalid},
		{e.uid, UserSpec{ClientUserID: "x", Email: "not an email"}, ErrInvalid},
		{e.uid, UserSpec{}, ErrInvalid},
		{"1", UserSpec{ClientUserID: "x"}, ErrUnknownLocation},
	} {
		if err := e.sim.AddUser(tc.uid, tc.spec); !errors.Is(err, tc.want) {
			t.Errorf("AddUser(%s, %+v) = %v, want %v", tc.uid, tc.spec, err, tc.want)
		}
	}
	// The hook is another MDM: strict mode records nothing for it...
	if err := e.sim.AddUser(e.uid, UserSpec{ClientUserID: "reg-2", Email: "reg@example.com"}); err != nil {
		t.Fatal(err)
	}
	e.wantViolations()
	// ...but the client under test creating the same person again is a violation.
	if st := e.run("/users/create", users("reg")); st.Failures[0].ErrorNumber != 9716 {
		t.Fatalf("%+v", st)
	}
	e.run("/users/create", map[string]any{"users": []map[string]string{{"clientUserId": "mine", "email": "acc@example.com"}}})
	e.wantViolations("recreate:reg", "second_user:mine")

	// A retired user's clientUserId can be added again.
	e.run("/users/retire", users("reg"))
	if err := e.sim.AddUser(e.uid, UserSpec{ClientUserID: "reg"}); err != nil {
		t.Fatal(err)
	}
}

func TestAssignHook(t *testing.T) {
	e := newEnv(t, strictOptions())
	e.mustAddApp("200", 2)
	e.mustAddBook("100", 5)
	if err := e.sim.AddUser(e.uid, UserSpec{ClientUserID: "u1", Email: "u1@example.com"}); err != nil {
		t.Fatal(err)
	}
	e.mustCreateUsers("u2", "u3")
	var assetsBefore wireAssets
	var assignBefore wireAssignments
	e.get("/assets", &assetsBefore)
	e.get("/assignments", &assignBefore)

	if err := e.sim.Assign(e.uid, "200", "", "u1"); err != nil {
		t.Fatal(err)
	}
	if err := e.sim.Assign(e.uid, "100", PricingSTDQ, "u2"); err != nil {
		t.Fatal(err)
	}
	var assetsAfter wireAssets
	var assignAfter wireAssignments
	e.get("/assets", &assetsAfter)
	e.get("/assignments", &assignAfter)
	if assetsAfter.VersionID == assetsBefore.VersionID || assignAfter.VersionID == assignBefore.VersionID {
		t.Fatal("versionIds unchanged")
	}
	want := []wireAssignment{
		{AdamID: "200", PricingParam: "STDQ", ClientUserID: "u1"},
		{AdamID: "100", PricingParam: "STDQ", ClientUserID: "u2"},
	}
	if !slices.Equal(assignAfter.Assignments, want) {
		t.Fatalf("assignments %+v", assignAfter.Assignments)
	}
	var since wireAssignments
	e.get("/assignments?sinceVersionId="+assignBefore.VersionID, &since)
	if len(since.Assignments) != 2 {
		t.Fatalf("since %+v", since.Assignments)
	}
	for _, a := range assetsAfter.Assets {
		if a.AdamID == "200" && (a.AssignedCount != 1 || *a.AvailableCount != 1) || a.AdamID == "100" && (a.AssignedCount != 1 || *a.AvailableCount != 4) {
			t.Fatalf("asset %+v", a)
		}
	}

	for _, tc := range []struct {
		uid, adamID, pricing, user string
		want                       error
	}{
		{e.uid, "200", "STDQ", "u1", ErrExists},
		{e.uid, "200", "STDQ", "nobody", ErrUnknownUser},
		{e.uid, "999", "STDQ", "u1", ErrUnknownAsset},
		{e.uid, "200", "PLUS", "u1", ErrUnknownAsset},
		{"1", "200", "STDQ", "u1", ErrUnknownLocation},
	} {
		if err := e.sim.Assign(tc.uid, tc.adamID, tc.pricing, tc.user); !errors.Is(err, tc.want) {
			t.Errorf("Assign(%v) = %v, want %v", tc, err, tc.want)
		}
	}
	// The last licence of 200 goes to u2; none is left for u3.
	if err := e.sim.Assign(e.uid, "200", "STDQ", "u2"); err != nil {
		t.Fatal(err)
	}
	if err := e.sim.Assign(e.uid, "200", "STDQ", "u3"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Assign without licences: %v", err)
	}
	if a, _ := e.sim.Asset(e.uid, "200", ""); a.AssignedCount != 2 || a.AvailableCount != 0 {
		t.Fatalf("asset %+v", a)
	}
	e.wantViolations() // the hook records nothing

	// The client under test associating what another MDM assigned is a re-associate.
	st := e.run("/assets/associate", map[string]any{"assets": assets("200"), "clientUserIds": ids{"u1"}})
	if st.EventStatus != EventComplete {
		t.Fatalf("%+v", st)
	}
	e.wantViolations("reassociate:u1")
	if a, _ := e.sim.Asset(e.uid, "200", ""); a.AssignedCount != 2 {
		t.Fatalf("asset %+v", a)
	}
}
