package engine_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vppkit/terraform-provider-vpp/internal/applesim"
	"github.com/vppkit/terraform-provider-vpp/internal/engine"
	"github.com/vppkit/terraform-provider-vpp/internal/store"
)

// memberRow is what a test expects of one member: its state, and a fragment of its reason.
type memberRow struct {
	email, state, reason string
	errorNumber          int
}

// expectMembers checks the member states got, in order, against want (each reason must contain
// the fragment given), and that every row names the group and assignment.
func expectMembers(t *testing.T, what string, got []engine.MemberState, groupOf map[string]string, want ...memberRow) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d members, want %d: %+v", what, len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		if g.Email != w.email || g.State != w.state || !strings.Contains(g.Reason, w.reason) || g.ErrorNumber != w.errorNumber {
			t.Errorf("%s: member %d = %+v, want %s %s (reason with %q, error %d)", what, i, g, w.email, w.state, w.reason, w.errorNumber)
		}
		if g.AssignmentID == "" || groupOf[g.AssignmentID] != g.GroupID {
			t.Errorf("%s: member %s names assignment %q of group %q; want the assignment and its group", what, g.Email, g.AssignmentID, g.GroupID)
		}
		if (g.ErrorMessage != "") != (g.State == engine.DeliveryFailed) {
			t.Errorf("%s: member %s in state %s has error message %q; only a refused member has one", what, g.Email, g.State, g.ErrorMessage)
		}
	}
}

// acceptAll makes every registered user of the location accept their invitation.
func (e *env) acceptAll() {
	e.t.Helper()
	for _, u := range e.sim.Users(e.loc.UID) {
		if u.Status == "Registered" && u.ManagedAppleID == "" {
			if err := e.sim.AcceptInvitation(e.loc.UID, u.ClientUserID); err != nil {
				e.t.Fatal(err)
			}
		}
	}
}

// Every delivery state, with its reason: licensed, failed with Apple's error, pending until the
// invitation is accepted, queued for licenses the book lacks, and unlicensed when oversubscribed.
// Reads are as fresh as a refresh: a stale sync is redone first.
func TestMembers_statesAndReasons(t *testing.T) {
	each(t, func(t *testing.T, kind store.Kind) {
		e := newEnv(t, kind, applesim.Options{})
		ctx := context.Background()
		tok := e.addToken()
		bookIDA, bookIDB := engine.BookID(tok.ID, bookA, "STDQ"), engine.BookID(tok.ID, bookB, "STDQ")
		staff := e.group("Staff", true, "eve@elsewhere.example.com", "ann@corp.example.com")
		invited := e.group("Invited", false, "dan@example.com", "bob@example.com", "cat@example.com")

		// A managed group: ann is licensed; eve is outside the organisation's domain, and Apple refuses her.
		a1, err := e.eng.CreateAssignment(ctx, engine.AssignmentInput{BookID: bookIDA, GroupID: staff.ID, Intent: engine.IntentRequired})
		if err != nil {
			t.Fatal(err)
		}
		// Book B has 2 licenses for 3 invited members: nothing is spent before they accept.
		in := engine.AssignmentInput{BookID: bookIDB, GroupID: invited.ID, Intent: engine.IntentAvailable}
		a2, err := e.eng.CreateAssignment(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		groupOf := map[string]string{a1.ID: staff.ID, a2.ID: invited.ID}

		got, err := e.eng.AssignmentMembers(ctx, a1.ID)
		if err != nil {
			t.Fatal(err)
		}
		expectMembers(t, "managed group", got, groupOf,
			memberRow{"ann@corp.example.com", engine.DeliveryLicensed, "holds a license", 0},
			memberRow{"eve@elsewhere.example.com", engine.DeliveryFailed, "Apple refused this member (error 9635): Unable to associate", 9635})
		if got[1].ErrorMessage != "Unable to associate the Apple Account with this user." {
			t.Errorf("eve's error message = %q, want Apple's", got[1].ErrorMessage)
		}

		got, err = e.eng.AssignmentMembers(ctx, a2.ID)
		if err != nil {
			t.Fatal(err)
		}
		pending := "invitation not accepted"
		expectMembers(t, "invited, before accepting", got, groupOf,
			memberRow{"bob@example.com", engine.DeliveryPending, pending, 0},
			memberRow{"cat@example.com", engine.DeliveryPending, pending, 0},
			memberRow{"dan@example.com", engine.DeliveryPending, pending, 0})

		// They all accept at Apple. The engine learns it from the sync a stale read does first:
		// then three members are due and the book has two licenses, so all three wait for licenses.
		e.acceptAll()
		e.clock.advance(13 * time.Hour)
		got, err = e.eng.AssignmentMembers(ctx, a2.ID)
		if err != nil {
			t.Fatal(err)
		}
		short := `waiting for licenses: book "Terraform for Librarians"`
		expectMembers(t, "invited, accepted, short of licenses", got, groupOf,
			memberRow{"bob@example.com", engine.DeliveryQueued, short, 0},
			memberRow{"cat@example.com", engine.DeliveryQueued, short, 0},
			memberRow{"dan@example.com", engine.DeliveryQueued, short, 0})
		if !strings.Contains(got[0].Reason, "1 short") {
			t.Errorf("queued reason %q does not say how many licenses are missing", got[0].Reason)
		}

		// Oversubscription licenses members in email order until the licenses run out.
		in.AllowOversubscription = true
		if _, err := e.eng.UpdateAssignment(ctx, a2.ID, in); err != nil {
			t.Fatal(err)
		}
		got, err = e.eng.AssignmentMembers(ctx, a2.ID)
		if err != nil {
			t.Fatal(err)
		}
		expectMembers(t, "oversubscribed", got, groupOf,
			memberRow{"bob@example.com", engine.DeliveryLicensed, "holds a license", 0},
			memberRow{"cat@example.com", engine.DeliveryLicensed, "holds a license", 0},
			memberRow{"dan@example.com", engine.DeliveryUnlicensed, "no licenses left", 0})
	})
}

// A book's members come from every group it is assigned to, sorted by email, each row naming its
// assignment and group; a book assigned to no group has none.
func TestMembers_ofBook(t *testing.T) {
	each(t, func(t *testing.T, kind store.Kind) {
		e := newEnv(t, kind, applesim.Options{})
		ctx := context.Background()
		tok := e.addToken()
		bookID := engine.BookID(tok.ID, bookA, "STDQ")
		g1 := e.group("Required", false, "zoe@example.com", "amy@example.com")
		g2 := e.group("Available", false, "max@example.com")
		a1, err := e.eng.CreateAssignment(ctx, engine.AssignmentInput{BookID: bookID, GroupID: g1.ID, Intent: engine.IntentRequired})
		if err != nil {
			t.Fatal(err)
		}
		a2, err := e.eng.CreateAssignment(ctx, engine.AssignmentInput{BookID: bookID, GroupID: g2.ID, Intent: engine.IntentAvailable})
		if err != nil {
			t.Fatal(err)
		}
		got, err := e.eng.BookMembers(ctx, bookID)
		if err != nil {
			t.Fatal(err)
		}
		expectMembers(t, "book A", got, map[string]string{a1.ID: g1.ID, a2.ID: g2.ID},
			memberRow{"amy@example.com", engine.DeliveryLicensed, "holds a license", 0},
			memberRow{"max@example.com", engine.DeliveryPending, "invitation not accepted", 0},
			memberRow{"zoe@example.com", engine.DeliveryLicensed, "holds a license", 0})
		if got[1].GroupID != g2.ID || got[0].GroupID != g1.ID {
			t.Errorf("groups of the rows = %s, %s; want %s, %s", got[0].GroupID, got[1].GroupID, g1.ID, g2.ID)
		}

		// max accepts at Apple: a read once the last sync is stale syncs first, and finds max due.
		e.acceptAll()
		e.clock.advance(13 * time.Hour)
		got, err = e.eng.BookMembers(ctx, bookID)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 || got[1].State != engine.DeliveryQueued || got[1].Reason != "due; the next delivery sends it" {
			t.Errorf("max after accepting = %+v; want queued, due", got)
		}

		none, err := e.eng.BookMembers(ctx, engine.BookID(tok.ID, bookC, "STDQ"))
		if err != nil || len(none) != 0 {
			t.Errorf("members of a book assigned to nobody = %+v, %v; want none", none, err)
		}
	})
}

// Unknown ids are the engine's typed errors, naming what was asked for.
func TestMembers_unknownIDs(t *testing.T) {
	e := newEnv(t, store.SQLite, applesim.Options{})
	ctx := context.Background()
	tok := e.addToken()
	var nf *engine.NotFoundError
	if _, err := e.eng.AssignmentMembers(ctx, "no-such-assignment"); !errors.As(err, &nf) || nf.Kind != engine.KindAssignment || nf.ID != "no-such-assignment" {
		t.Errorf("unknown assignment: %v, want a NotFoundError of the assignment", err)
	}
	missing := engine.BookID(tok.ID, "9999999999", "STDQ")
	if _, err := e.eng.BookMembers(ctx, missing); !errors.As(err, &nf) || nf.Kind != engine.KindBook || nf.ID != missing {
		t.Errorf("unknown book: %v, want a NotFoundError of the book", err)
	}
	other := engine.BookID("00000000-0000-0000-0000-000000000000", bookA, "STDQ")
	if _, err := e.eng.BookMembers(ctx, other); !errors.As(err, &nf) || nf.Kind != engine.KindBook || nf.ID != other {
		t.Errorf("book of an unknown token: %v, want a NotFoundError of the book", err)
	}
	var bad *engine.BookIDError
	if _, err := e.eng.BookMembers(ctx, "1000000001"); !errors.As(err, &bad) || bad.Input != "1000000001" {
		t.Errorf("malformed book id: %v, want a BookIDError", err)
	}
}

// Ten thousand members are read whole, in email order, in a fixed number of queries.
func TestMembers_tenThousand(t *testing.T) {
	if testing.Short() {
		t.Skip("large group")
	}
	e := newEnv(t, store.SQLite, applesim.Options{})
	ctx := context.Background()
	tok := e.addToken()
	members := emails("m", 10000)
	g := e.group("Everyone", false, members...)
	bookID := engine.BookID(tok.ID, bookC, "STDQ")
	a, err := e.eng.CreateAssignment(ctx, engine.AssignmentInput{BookID: bookID, GroupID: g.ID, Intent: engine.IntentAvailable})
	if err != nil {
		t.Fatal(err)
	}
	for name, read := range map[string]func() ([]engine.MemberState, error){
		"assignment": func() ([]engine.MemberState, error) { return e.eng.AssignmentMembers(ctx, a.ID) },
		"book":       func() ([]engine.MemberState, error) { return e.eng.BookMembers(ctx, bookID) },
	} {
		start := time.Now()
		got, err := read()
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d members read in %v", name, len(got), time.Since(start))
		if len(got) != len(members) {
			t.Fatalf("%s: %d members, want %d", name, len(got), len(members))
		}
		for i, m := range got {
			if m.Email != members[i] || m.State != engine.DeliveryPending {
				t.Fatalf("%s: member %d = %+v, want %s pending", name, i, m, members[i])
			}
		}
	}
}
