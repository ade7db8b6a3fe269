package applesim

import (
	"regexp"
	"slices"
	"testing"
)

func (e *env) usersList(query string) []wireUser {
	e.t.Helper()
	var resp wireUsers
	e.get("/users"+query, &resp)
	return resp.Users
}

func TestUsersLifecycle(t *testing.T) {
	opts := testOptions()
	e := newEnv(t, opts)
	e.sim.mu.Lock()
	e.sim.w.Locations[e.uid].ManagedAppleDomains = []string{"corp.example"}
	e.sim.mu.Unlock()
	e.mustAddBook("100", 5)
	e.mustAddApp("200", 5)

	st := e.run("/users/create", map[string]any{"users": []map[string]string{
		{"clientUserId": "u1", "email": "u1@example.com"},
		{"clientUserId": "u2", "managedAppleId": "maid@corp.example"},
		{"clientUserId": "u3", "managedAppleId": "maid@other.example"},
		{"clientUserId": "u4", "managedAppleId": "MAID@corp.example"},
		{"clientUserId": "u5", "managedAppleId": "someone@other.example"},
	}})
	if st.EventStatus != EventFailed || st.EventType != EventCreate || st.NumRequested != 5 || st.NumCompleted != 2 || len(st.Failures) != 2 {
		t.Fatalf("create %+v", st)
	}
	if f := st.Failures; f[0].ErrorNumber != 9635 || !slices.Equal(f[0].ErrorInfo.ClientUserIDs, []string{"u3", "u5"}) ||
		f[1].ErrorNumber != 9641 || !slices.Equal(f[1].ErrorInfo.ClientUserIDs, []string{"u4"}) {
		t.Fatalf("failures %+v", f)
	}
	list := e.usersList("")
	if len(list) != 2 {
		t.Fatalf("users %+v", list)
	}
	u1, u2 := list[0], list[1]
	if u1.Status != StatusRegistered || !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(u1.InviteCode) || u1.IDHash != "" || u1.Email != "u1@example.com" {
		t.Fatalf("invited user %+v", u1)
	}
	if u2.Status != StatusAssociated || len(u2.IDHash) != 28 || u2.InviteCode != "" {
		t.Fatalf("managed user %+v", u2)
	}

	// Create on an active clientUserId fails asynchronously.
	st = e.run("/users/create", users("u1"))
	if st.EventStatus != EventFailed || st.Failures[0].ErrorNumber != 9716 {
		t.Fatalf("recreate %+v", st)
	}

	if err := e.sim.AcceptInvitation(e.uid, "u1"); err != nil {
		t.Fatal(err)
	}
	if err := e.sim.AcceptInvitation(e.uid, "u1"); err == nil {
		t.Fatal("second acceptance accepted")
	}
	list = e.usersList("?clientUserId=u1")
	if len(list) != 1 || list[0].Status != StatusAssociated || len(list[0].IDHash) != 28 || list[0].InviteCode == "" {
		t.Fatalf("accepted %+v", list)
	}

	st = e.run("/users/update", map[string]any{"users": []map[string]string{
		{"clientUserId": "u1", "email": "new@example.com"},
		{"clientUserId": "ghost", "email": "g@example.com"},
		{"clientUserId": "u2", "managedAppleId": "maid@corp.example"},
	}})
	if st.EventStatus != EventFailed || st.EventType != EventUpdate || st.NumCompleted != 2 || st.Failures[0].ErrorNumber != 9609 {
		t.Fatalf("update %+v", st)
	}
	if got := e.usersList("?clientUserId=u1")[0].Email; got != "new@example.com" {
		t.Fatalf("email %q", got)
	}

	// Retire releases revocable assignments; books stay.
	e.run("/assets/associate", map[string]any{"assets": assets("100", "200"), "clientUserIds": ids{"u1"}})
	st = e.run("/users/retire", map[string]any{"users": []map[string]string{{"clientUserId": "u1"}, {"clientUserId": "ghost"}}})
	if st.EventStatus != EventFailed || st.EventType != EventRetire || st.NumRequested != 2 || st.NumCompleted != 1 || st.Failures[0].ErrorNumber != 9609 {
		t.Fatalf("retire %+v", st)
	}
	if got := e.sim.Assignments(e.uid); !slices.Equal(got, []Assignment{{"100", "STDQ", "u1", ""}}) {
		t.Fatalf("after retire %+v", got)
	}
	var as wireAssignments
	e.get("/assignments?includeUserState=true", &as)
	if len(as.Assignments) != 1 || as.Assignments[0].UserStatus != StatusRetired || as.Assignments[0].IDHash == "" {
		t.Fatalf("includeUserState %+v", as.Assignments)
	}
	e.get("/assignments?excludeInactiveUsers=true", &as)
	if len(as.Assignments) != 0 {
		t.Fatalf("excludeInactiveUsers %+v", as.Assignments)
	}

	// A retired clientUserId may be created again: one active and several retired records.
	e.mustCreateUsers("u1")
	e.run("/users/retire", map[string]any{"users": []map[string]string{{"clientUserId": "u1"}}})
	e.mustCreateUsers("u1")
	if all := e.usersList("?clientUserId=u1"); len(all) != 3 {
		t.Fatalf("records %+v", all)
	}
	if active := e.usersList("?clientUserId=u1&activeOnly=true"); len(active) != 1 || active[0].Status != StatusRegistered {
		t.Fatalf("active %+v", active)
	}
	if retired := e.usersList("?retiredOnly=1"); len(retired) != 2 {
		t.Fatalf("retired %+v", retired)
	}
	// The book assignment now shows the new active user.
	e.get("/assignments?includeUserState=1&excludeInactiveUsers=1", &as)
	if len(as.Assignments) != 1 || as.Assignments[0].UserStatus != StatusRegistered {
		t.Fatalf("after re-create %+v", as.Assignments)
	}
	if got := e.sim.Users(e.uid); len(got) != 4 || got[1].ManagedAppleID != "maid@corp.example" {
		t.Fatalf("Users hook %+v", got)
	}
}

// A retired user whose Apple Account later links to a new record of the same clientUserId
// becomes Deleted.
func TestRetiredUserBecomesDeleted(t *testing.T) {
	e := newEnv(t, testOptions())
	create := map[string]any{"users": []map[string]string{{"clientUserId": "u1", "managedAppleId": "a@corp.example"}}}
	e.run("/users/create", create)
	e.run("/users/retire", map[string]any{"users": []map[string]string{{"clientUserId": "u1"}}})
	if st := e.run("/users/create", create); st.EventStatus != EventComplete {
		t.Fatalf("%+v", st)
	}
	list := e.usersList("")
	if len(list) != 2 || list[0].Status != StatusDeleted || list[1].Status != StatusAssociated || list[0].IDHash != list[1].IDHash {
		t.Fatalf("%+v", list)
	}
}
