package engine_test

import (
	"context"
	"slices"
	"testing"

	"github.com/vppkit/terraform-provider-vpp/internal/applesim"
	"github.com/vppkit/terraform-provider-vpp/internal/engine"
	"github.com/vppkit/terraform-provider-vpp/internal/store"
	"github.com/vppkit/terraform-provider-vpp/internal/store/storetest"
)

// A group's record says what its members were read from, on both databases: GroupMembers returns
// it, RestoreGroup rewrites a record whose source differs even when the members are the same, and
// UpdateGroup on a database that lost the group records it anew and delivers its books, spending
// no license twice. Seen failing with MembersFrom left out of sameGroup (RestoreGroup reported
// nothing restored) and with UpdateGroup's insert removed (not found).
func TestGroups_membersFromAndUpdateOfALostGroup(t *testing.T) {
	each(t, func(t *testing.T, kind store.Kind) {
		e := newEnv(t, kind, applesim.Options{Strict: true})
		ctx := context.Background()
		tok := e.addToken()
		members := []string{"ann@example.com", "bob@example.com"}
		g, err := e.eng.CreateGroup(ctx, engine.GroupInput{Name: "Readers", Members: members, MembersFrom: "sha-1"})
		if err != nil {
			t.Fatal(err)
		}
		in := engine.AssignmentInput{BookID: engine.BookID(tok.ID, bookA, "STDQ"), GroupID: g.ID, Intent: engine.IntentRequired}
		a, err := e.eng.CreateAssignment(ctx, in)
		if err != nil || a.Licensed != 2 {
			t.Fatalf("assignment: %+v, %v", a, err)
		}
		got, from, err := e.eng.GroupMembers(ctx, g.ID)
		if err != nil || from != "sha-1" || !slices.Equal(got, members) {
			t.Fatalf("GroupMembers = %v, %q, %v", got, from, err)
		}
		if _, restored, err := e.eng.RestoreGroup(ctx, g.ID, engine.GroupInput{Name: "Readers", Members: members, MembersFrom: "sha-2"}); err != nil || !restored {
			t.Fatalf("RestoreGroup with another source: restored %t, %v; want restored", restored, err)
		}
		if _, from, _ := e.eng.GroupMembers(ctx, g.ID); from != "sha-2" {
			t.Fatalf("MembersFrom after the restore = %q, want sha-2", from)
		}

		// Runner B: no database; the assignment comes back from the state, the group only at apply.
		e.dbURL = storetest.URL(t, kind)
		b := e.open()
		if _, _, err := b.RestoreToken(ctx, tok.ID, e.loc.UID, engine.TokenInput{Contents: e.token, AccountType: engine.AccountBusiness}); err != nil {
			t.Fatal(err)
		}
		three := append(slices.Clone(members), "cy@example.com")
		g2, _, err := b.UpdateGroup(ctx, g.ID, engine.GroupInput{Name: "Readers", Members: three, MembersFrom: "sha-3"})
		if err != nil || !slices.Equal(g2.Members, three) || g2.MembersFrom != "sha-3" {
			t.Fatalf("UpdateGroup of a lost group = %+v, %v", g2, err)
		}
		if _, err := b.RestoreAssignment(ctx, a.ID, in); err != nil {
			t.Fatal(err)
		}
		if err := b.Deliver(ctx, tok.ID); err != nil {
			t.Fatal(err)
		}
		if holders := e.holders(bookA); len(holders) != 3 {
			t.Errorf("Apple holds book A for %v, want the three members", holders)
		}
		if v := e.sim.Violations(); len(v) != 0 {
			t.Errorf("double spends: %+v", v)
		}
	})
}
