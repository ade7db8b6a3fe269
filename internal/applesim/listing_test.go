package applesim

import (
	"slices"
	"testing"
)

// excludeInactiveUsers leaves out the assignments of retired or inactive users (apple-api.md, Get
// Assignments) and no others: a device's assignment has no user, and stays.
func TestExcludeInactiveUsersKeepsDeviceAssignments(t *testing.T) {
	e := newEnv(t, testOptions())
	e.mustAddBook("100", 5)
	e.mustAddApp("200", 5)
	e.mustCreateUsers("u1", "u2")
	e.run("/assets/associate", map[string]any{"assets": assets("100"), "clientUserIds": ids{"u1", "u2"}})
	e.run("/assets/associate", map[string]any{"assets": assets("200"), "serialNumbers": ids{"S1"}})
	e.run("/users/retire", map[string]any{"users": []map[string]string{{"clientUserId": "u1"}}})

	var as wireAssignments
	e.get("/assignments?excludeInactiveUsers=true", &as)
	var got []string
	for _, a := range as.Assignments {
		got = append(got, a.AdamID+" "+a.ClientUserID+a.SerialNumber)
	}
	slices.Sort(got)
	if want := []string{"100 u2", "200 S1"}; !slices.Equal(got, want) {
		t.Fatalf("excludeInactiveUsers lists %q, want %q", got, want)
	}
}
