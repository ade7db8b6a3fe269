package applesim

import (
	"bytes"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
)

// addressChecks reads how many candidates the second_user check has examined at the env's
// location.
func (e *env) addressChecks() int {
	e.sim.mu.Lock()
	defer e.sim.mu.Unlock()
	return e.sim.w.Locations[e.uid].addressChecks
}

// churn creates and at once retires n users that all have one email, directly under the lock
// (the HTTP round trips would dominate the test's time).
func (e *env) churn(n int, email string) {
	e.sim.mu.Lock()
	defer e.sim.mu.Unlock()
	loc := e.sim.w.Locations[e.uid]
	ch := e.sim.changesLocked(loc)
	for i := range n {
		id := fmt.Sprintf("churn-%d", i)
		if number := e.sim.createUserLocked(loc, ch, requestUser{ClientUserID: id, Email: &email}); number != 0 {
			e.t.Fatalf("create %s: %d", id, number)
		}
		if number := e.sim.retireUserLocked(loc, ch, requestUser{ClientUserID: id}); number != 0 {
			e.t.Fatalf("retire %s: %d", id, number)
		}
	}
}

// Creating n users in strict mode examines O(n) candidates in all, not one per other user of
// the location for each user created: neither for people with their own addresses, nor for a
// long line of users that had one address and were retired.
func TestStrictSecondUserScales(t *testing.T) {
	checks := map[int]int{}
	for _, n := range []int{200, 2000} {
		e := newEnv(t, strictOptions())
		for first := 0; first < n; first += 100 {
			list := make([]map[string]string, 100)
			for i := range list {
				id := fmt.Sprintf("u%d", first+i)
				list[i] = map[string]string{"clientUserId": id, "email": strings.ToUpper(id) + "@Example.com"}
				if i%2 == 0 {
					list[i]["managedAppleId"] = id + "@corp.example"
				}
			}
			if st := e.run("/users/create", map[string]any{"users": list}); st.EventStatus != EventComplete {
				t.Fatalf("create: %+v", st)
			}
		}
		distinct := e.addressChecks()
		e.churn(n, "shared@example.com")
		churned := e.addressChecks() - distinct
		e.wantViolations()

		// Still found: one more user for the last churned address, and one for u7.
		e.run("/users/create", map[string]any{"users": []map[string]string{
			{"clientUserId": "again", "email": "SHARED@example.com"},
			{"clientUserId": "u7-bis", "email": "U7@example.COM"},
		}})
		e.wantViolations("second_user:u7-bis")

		t.Logf("n=%d: %d candidates for n people with their own addresses, %d for n users of one address in turn", n, distinct, churned)
		// One candidate per address of the new user (itself); a churned one also meets its
		// retired predecessor once.
		if distinct > 2*n || churned > 2*n {
			t.Errorf("n=%d: %d and %d candidates examined, want at most %d each: the check is not linear", n, distinct, churned, 2*n)
		}
		checks[n] = distinct + churned
	}
	if checks[2000] > 12*checks[200] {
		t.Errorf("10 times the users cost %d times the candidate checks", checks[2000]/checks[200])
	}
}

// The index gives the same violations as a scan of every user: in the order of the other users'
// records, naming the other user's first shared address, once per other user, after updates and
// after LoadState.
func TestStrictSecondUserIndex(t *testing.T) {
	e := newEnv(t, strictOptions())
	create := func(list ...map[string]string) {
		t.Helper()
		e.run("/users/create", map[string]any{"users": list})
	}
	details := func(vs []Violation) []string {
		out := make([]string, len(vs))
		for i, v := range vs {
			out[i] = v.Email + " | " + v.Detail
		}
		return out
	}
	create(
		map[string]string{"clientUserId": "o1", "email": "one@example.com"},
		map[string]string{"clientUserId": "o2", "email": "two@example.com"},
		map[string]string{"clientUserId": "o3", "email": "x@example.com", "managedAppleId": "y@example.com"},
	)
	e.wantViolations()

	// n meets o2 first (its email), then o1 (its managedAppleId), but o1's record is older.
	create(map[string]string{"clientUserId": "n", "email": "two@example.com", "managedAppleId": "ONE@example.com"})
	vs := e.wantViolations("second_user:n", "second_user:n")
	want := []string{
		`one@example.com | users/create made user "n" (Associated) although active user "o1" has address "one@example.com"`,
		`two@example.com | users/create made user "n" (Associated) although active user "o2" has address "two@example.com"`,
	}
	if got := details(vs); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Both of o3's addresses are m's: one violation, naming o3's first address (its email).
	e.sim.ResetViolations()
	create(map[string]string{"clientUserId": "m", "email": "y@example.com", "managedAppleId": "x@example.com"})
	vs = e.wantViolations("second_user:m")
	if vs[0].Email != "x@example.com" || !strings.Contains(vs[0].Detail, `"o3" has address "x@example.com"`) {
		t.Fatalf("%+v", vs[0])
	}

	// An update moves o1 away from one@ (n still has it) and to moved@.
	e.sim.ResetViolations()
	e.run("/users/retire", users("n"))
	if st := e.run("/users/update", map[string]any{"users": []map[string]string{{"clientUserId": "o1", "email": "Moved@example.com"}}}); st.EventStatus != EventComplete {
		t.Fatalf("%+v", st)
	}
	create(
		map[string]string{"clientUserId": "p1", "email": "one@example.com"},
		map[string]string{"clientUserId": "p2", "email": "moved@example.com"},
	)
	vs = e.wantViolations("second_user:p2")
	if !strings.Contains(vs[0].Detail, `"o1"`) {
		t.Fatalf("%+v", vs[0])
	}

	// o1 leaves for elsewhere@, another MDM adds p4 with one@ (no check), o1 comes back to one@
	// (now p1's and p4's too), twice: each other user is named once, in record order.
	e.sim.ResetViolations()
	update := func(email string) {
		t.Helper()
		if st := e.run("/users/update", map[string]any{"users": []map[string]string{{"clientUserId": "o1", "email": email}}}); st.EventStatus != EventComplete {
			t.Fatalf("%+v", st)
		}
	}
	update("elsewhere@example.com")
	if err := e.sim.AddUser(e.uid, UserSpec{ClientUserID: "p4", Email: "one@example.com"}); err != nil {
		t.Fatal(err)
	}
	update("one@example.com")
	update("One@example.com")
	create(map[string]string{"clientUserId": "p3", "email": "one@example.com"})
	vs = e.wantViolations("second_user:p3", "second_user:p3", "second_user:p3")
	for i, other := range []string{"o1", "p1", "p4"} {
		if !strings.Contains(vs[i].Detail, `"`+other+`"`) {
			t.Fatalf("violation %d names not %s: %+v", i, other, vs)
		}
	}

	// After LoadState the index is rebuilt from the loaded users.
	var buf bytes.Buffer
	if err := e.sim.SaveState(&buf); err != nil {
		t.Fatal(err)
	}
	sim2 := New(strictOptions())
	t.Cleanup(sim2.Close)
	if err := sim2.LoadState(&buf); err != nil {
		t.Fatal(err)
	}
	ts2 := httptest.NewServer(sim2)
	t.Cleanup(ts2.Close)
	e2 := &env{t: t, sim: sim2, ts: ts2, uid: e.uid, token: e.token}
	e2.run("/users/create", map[string]any{"users": []map[string]string{
		{"clientUserId": "q1", "email": "two@example.com"},
		{"clientUserId": "q2", "email": "moved@example.com"},
	}})
	vs = e2.wantViolations("second_user:q1", "second_user:q2")
	if !strings.Contains(vs[0].Detail, `"o2"`) || !strings.Contains(vs[1].Detail, `"p2"`) {
		t.Fatalf("%+v", vs)
	}
}
