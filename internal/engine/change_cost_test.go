package engine_test

import (
	"context"
	"testing"

	"github.com/vppkit/terraform-provider-vpp/internal/applesim"
	"github.com/vppkit/terraform-provider-vpp/internal/engine"
	"github.com/vppkit/terraform-provider-vpp/internal/store"
)

// Adding one member to a large group whose book is delivered costs what the change costs, not
// what the group does: planning it (the group's forecast, the assignment's) reads the group's
// member list to find the change and a few records besides, and applying it (the update and the
// delivery to the new member) reads, beyond the member lists, the token's users once (the read-back
// of the user created), and writes a few deliveries. The whole records were read three times each
// (users, licenses, deliveries) at plan, and twice at apply, before the work was read open.
func TestAddingOneMemberReadsWhatChanged(t *testing.T) {
	if testing.Short() {
		t.Skip("large group")
	}
	const n = 2000
	e := newEnv(t, store.SQLite, applesim.Options{})
	ctx := context.Background()
	_ = e.sim.Purchase(e.loc.UID, bookC, "STDQ", 2000)
	tok := e.addToken()
	members := emails("m", n)
	g := e.group("District", false, members...)
	in := engine.AssignmentInput{BookID: engine.BookID(tok.ID, bookC, "STDQ"), GroupID: g.ID, Intent: engine.IntentRequired}
	a, err := e.eng.CreateAssignment(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.eng.RefreshAssignment(ctx, a.ID); err != nil { // the refresh of the next plan records the states
		t.Fatal(err)
	}
	rows := e.eng.CountStoreRows()
	grown := append(members, "newcomer@example.com")

	plan := engine.NewPlannedChanges()
	if err := e.eng.ForecastGroup(ctx, g.ID, grown, plan); err != nil {
		t.Fatal(err)
	}
	f, err := e.eng.Forecast(ctx, in, plan)
	if err != nil {
		t.Fatal(err)
	}
	if f.Needed != 1 || f.LicensesKept != n || f.Deliverable != 0 {
		t.Errorf("forecast %+v, want 1 needed (the newcomer, delivered by the group's update) and %d licenses kept", f, n)
	}
	if _, err := e.eng.GroupRemovalImpact(ctx, g.ID, grown); err != nil {
		t.Fatal(err)
	}
	if other := rows.RowsBut("ListMembers"); other > 20 || rows.Calls("ListMembers") > 3 {
		t.Errorf("planning one more member read %d rows besides %d member lists (want at most 20 and 3): %s", other, rows.Calls("ListMembers"), rows)
	}

	rows.Reset()
	if _, _, err := e.eng.UpdateGroup(ctx, g.ID, engine.GroupInput{Name: "District", Members: grown, NoInvitations: true}); err != nil {
		t.Fatal(err)
	}
	if other := rows.RowsBut("ListMembers", "ListVPPUsers"); other > 50 || rows.Calls("ListVPPUsers") > 1 {
		t.Errorf("applying one more member read %d rows besides the member lists and one read of the users (want at most 50): %s", other, rows)
	}
	if held := len(e.holders(bookC)); held != n+1 {
		t.Errorf("Apple holds %d licenses of the book, want %d", held, n+1)
	}
	if a, err = e.eng.RefreshAssignment(ctx, a.ID); err != nil || a.Licensed != n+1 {
		t.Errorf("after the update: %d licensed (%v), want %d", a.Licensed, err, n+1)
	}

	// A refresh counts the assignment's deliveries: it reads no member's.
	rows.Reset()
	if a, err = e.eng.RefreshAssignment(ctx, a.ID); err != nil || a.Licensed != n+1 || a.Status != engine.StatusComplete {
		t.Fatalf("refresh: %+v, %v; want %d licensed", a, err, n+1)
	}
	if read := rows.RowsBut(); read > 10 {
		t.Errorf("refreshing the assignment of a group of %d read %d rows, want at most 10: %s", n+1, read, rows)
	}
}
