package engine_test

import (
	"context"
	"testing"

	"github.com/vppkit/terraform-provider-vpp/internal/applesim"
	"github.com/vppkit/terraform-provider-vpp/internal/engine"
	"github.com/vppkit/terraform-provider-vpp/internal/store"
)

// The location's users and the user-by-user license reads: a new process adding members to a large
// group reads what changed at Apple and the licenses of whom it licenses, not every user and every
// license changed since before the group was delivered, and still finds what another runner or
// system did at Apple.

// cidOf returns the clientUserId Apple holds for email at the env's location.
func (e *env) cidOf(email string) string {
	e.t.Helper()
	for _, u := range e.sim.Users(e.loc.UID) {
		if engine.EmailKey(u.Email) == email || engine.EmailKey(u.ManagedAppleID) == email {
			return u.ClientUserID
		}
	}
	e.t.Fatalf("Apple holds no user for %s", email)
	return ""
}

// growGroup adds members to the group as a new process would, and returns the Apple requests that
// cost.
func (e *env) growGroup(g engine.Group, more ...string) applesim.Stats {
	e.t.Helper()
	e.restart()
	members := append(append([]string(nil), g.Members...), more...)
	if _, _, err := e.eng.UpdateGroup(context.Background(), g.ID, engine.GroupInput{Name: g.Name, Members: members}); err != nil {
		e.t.Fatal(err)
	}
	return e.sim.Stats()
}

func (e *env) noDoubleSpend() {
	e.t.Helper()
	if v := e.sim.Violations(); len(v) != 0 {
		e.t.Errorf("double spends: %+v", v)
	}
}

// A new process adding one member to a group of 120 (10 users or assignments a page) reads one
// page of the users changed since the delivery, creates the member, reads it back and licenses it:
// before, it walked every user of the location (13 pages) to look the member up and every
// assignment changed since before the group's delivery (12 pages).
func TestLocationUsers_addingAMemberReadsOnlyWhatChanged(t *testing.T) {
	each(t, func(t *testing.T, kind store.Kind) {
		e := newEnv(t, kind, applesim.Options{PageSize: 10})
		tok := e.addToken()
		g := e.group("Readers", false, emails("r", 120)...)
		if _, err := e.eng.CreateAssignment(context.Background(), engine.AssignmentInput{BookID: engine.BookID(tok.ID, bookC, "STDQ"), GroupID: g.ID, Intent: engine.IntentRequired}); err != nil {
			t.Fatal(err)
		}
		st := e.growGroup(g, "newcomer@example.com")
		r := st.Requests
		if r["GET /users"] > 3 || r["GET /assignments"] > 0 {
			t.Errorf("adding one member read %d pages of users (want at most 3: the changes, then the new user, once more if Apple had not finished it) and %d of assignments (want 0): %v",
				r["GET /users"], r["GET /assignments"], r)
		}
		if r["POST /users/create"] != 1 || r["POST /assets/associate"] != 1 {
			t.Errorf("requests %v, want one users/create and one associate", r)
		}
		if h := e.holders(bookC); len(h) != 121 {
			t.Errorf("%d hold the book at Apple, want 121", len(h))
		}
		e.noDoubleSpend()
	})
}

// Another runner (or system) licensed a member the records know as unlicensed: the first delivery
// of a new process reads that member's licenses at Apple before it licenses anyone, so the book is
// not bought twice for them.
func TestLocationUsers_firstDeliveryReadsTheLicensesOfWhomItLicenses(t *testing.T) {
	each(t, func(t *testing.T, kind store.Kind) {
		e := newEnv(t, kind, applesim.Options{})
		ctx := context.Background()
		tok := e.addToken()
		g := e.group("Readers", false, "ann@example.com", "bob@example.com")
		if _, err := e.eng.CreateAssignment(ctx, engine.AssignmentInput{BookID: engine.BookID(tok.ID, bookB, "STDQ"), GroupID: g.ID, Intent: engine.IntentRequired}); err != nil {
			t.Fatal(err)
		}
		if err := e.sim.Assign(e.loc.UID, bookA, "STDQ", e.cidOf("ann@example.com")); err != nil {
			t.Fatal(err)
		}
		e.restart()
		if _, err := e.eng.CreateAssignment(ctx, engine.AssignmentInput{BookID: engine.BookID(tok.ID, bookA, "STDQ"), GroupID: g.ID, Intent: engine.IntentRequired}); err != nil {
			t.Fatal(err)
		}
		if h := e.holders(bookA); len(h) != 2 {
			t.Errorf("holders of the book at Apple: %v, want ann and bob", h)
		}
		if asset, _ := e.sim.Asset(e.loc.UID, bookA, "STDQ"); asset.AssignedCount != 2 {
			t.Errorf("Apple counts %d licenses of the book, want 2 (ann's held before, bob's spent)", asset.AssignedCount)
		}
		e.noDoubleSpend()
	})
}

// A member added to a group has a user another system created at the location after the
// engine's last walk of every user: the walk of the users changed since finds it by email, it is
// adopted with the license it holds, and nothing is created or licensed again.
func TestLocationUsers_adoptsAUserCreatedSinceTheLastWalk(t *testing.T) {
	each(t, func(t *testing.T, kind store.Kind) {
		e := newEnv(t, kind, applesim.Options{PageSize: 10})
		tok := e.addToken()
		g := e.group("Readers", false, emails("r", 60)...)
		if _, err := e.eng.CreateAssignment(context.Background(), engine.AssignmentInput{BookID: engine.BookID(tok.ID, bookC, "STDQ"), GroupID: g.ID, Intent: engine.IntentRequired}); err != nil {
			t.Fatal(err)
		}
		if err := e.sim.AddUser(e.loc.UID, applesim.UserSpec{ClientUserID: "jamf-dee", Email: "Dee@Example.com", Associated: true}); err != nil {
			t.Fatal(err)
		}
		if err := e.sim.Assign(e.loc.UID, bookC, "STDQ", "jamf-dee"); err != nil {
			t.Fatal(err)
		}
		st := e.growGroup(g, "dee@example.com")
		r := st.Requests
		if r["POST /users/create"] != 0 || r["POST /assets/associate"] != 0 {
			t.Errorf("requests %v: want nothing created or licensed (dee's user and license exist)", r)
		}
		if r["GET /users"] > 1 {
			t.Errorf("read %d pages of users, want 1 (the changes since the last walk)", r["GET /users"])
		}
		if h := e.holders(bookC); len(h) != 61 {
			t.Errorf("%d hold the book at Apple, want 61", len(h))
		}
		e.noDoubleSpend()
	})
}

// An engine database written before the location's users were kept (or whose walk of them
// stopped) has them incomplete: the lookup then walks every user, and finds a user another system
// created that no walk of the changes since would show again.
func TestLocationUsers_incompleteRecordsWalkEveryUser(t *testing.T) {
	each(t, func(t *testing.T, kind store.Kind) {
		e := newEnv(t, kind, applesim.Options{PageSize: 10})
		ctx := context.Background()
		tok := e.addToken()
		g := e.group("Readers", false, emails("r", 30)...)
		if _, err := e.eng.CreateAssignment(ctx, engine.AssignmentInput{BookID: engine.BookID(tok.ID, bookC, "STDQ"), GroupID: g.ID, Intent: engine.IntentRequired}); err != nil {
			t.Fatal(err)
		}
		if err := e.sim.AddUser(e.loc.UID, applesim.UserSpec{ClientUserID: "jamf-dee", Email: "dee@example.com"}); err != nil {
			t.Fatal(err)
		}
		// The records as an older release left them: the location's users not complete, and a
		// sync of the users changed since (which shows dee) already behind them.
		s, err := store.Open(ctx, store.Config{URL: e.dbURL})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Tx(ctx, func(tx store.Tx) error { return tx.SetLocationUsersVersion(ctx, tok.ID, "") }); err != nil {
			t.Fatal(err)
		}
		_ = s.Close()
		if _, err := e.eng.SyncToken(ctx, tok.ID, false); err != nil {
			t.Fatal(err)
		}
		st := e.growGroup(g, "dee@example.com")
		if r := st.Requests; r["POST /users/create"] != 0 || r["GET /users"] < 4 {
			t.Errorf("requests %v: want every user walked (4 pages) and dee's user adopted, none created", r)
		}
		if h := e.holders(bookC); len(h) != 31 {
			t.Errorf("%d hold the book at Apple, want 31", len(h))
		}
		e.noDoubleSpend()
	})
}
