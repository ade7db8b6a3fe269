package engine_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/vppkit/terraform-provider-vpp/internal/applesim"
	"github.com/vppkit/terraform-provider-vpp/internal/engine"
	"github.com/vppkit/terraform-provider-vpp/internal/store"
	"github.com/vppkit/terraform-provider-vpp/internal/store/storetest"
)

// postCount counts the POST requests the simulated Apple service received.
func postCount(s applesim.Stats) int {
	n := 0
	for k, v := range s.Requests {
		if strings.HasPrefix(k, "POST ") {
			n += v
		}
	}
	return n
}

// The engine's records are a cache of Apple's and the Terraform state's. These tests cover, at the
// engine's level, what the acceptance tests of internal/provider (engine_records_test.go) drive
// through the CLI.

// Taking a location over from another system adopts the users it created for members (by email,
// whatever the case), with the licenses they hold: one of two members holds the book, so one
// license is spent; nobody gets a second user; the delivery reports what it adopted.
func TestRecords_takeOverAdoptsUsersAndLicenses(t *testing.T) {
	each(t, func(t *testing.T, kind store.Kind) {
		e := newEnv(t, kind, applesim.Options{Strict: true})
		ctx := context.Background()
		if err := e.sim.OverwriteMDMInfo(e.loc.UID, applesim.MDMInfo{ID: "jamf-7", Name: "Jamf Pro", Metadata: "x"}); err != nil {
			t.Fatal(err)
		}
		for _, u := range []applesim.UserSpec{
			{ClientUserID: "jamf-ann", Email: "ANN@example.com", Associated: true},
			{ClientUserID: "jamf-bob", Email: "bob@example.com"},
			{ClientUserID: "jamf-zed", Email: "zed@example.com"}, // not a member: left alone
		} {
			if err := e.sim.AddUser(e.loc.UID, u); err != nil {
				t.Fatal(err)
			}
		}
		if err := e.sim.Assign(e.loc.UID, bookA, "STDQ", "jamf-ann"); err != nil {
			t.Fatal(err)
		}
		e.addApps()
		if err := e.sim.Assign(e.loc.UID, appPages, "STDQ", "jamf-bob"); err != nil {
			t.Fatal(err)
		}
		var external *engine.ExternalMDMError
		if _, err := e.eng.AddToken(ctx, engine.TokenInput{Contents: e.token, AccountType: engine.AccountBusiness}); !errors.As(err, &external) {
			t.Fatalf("upload without take-over: %v, want ExternalMDMError", err)
		}
		tok, err := e.eng.AddToken(ctx, engine.TokenInput{Contents: e.token, AccountType: engine.AccountBusiness, TakeOver: true})
		if err != nil {
			t.Fatal(err)
		}
		g := e.group("Readers", false, "ann@example.com", "bob@example.com", "cy@example.com")
		e.sim.ResetStats()
		a, err := e.eng.CreateAssignment(ctx, engine.AssignmentInput{BookID: engine.BookID(tok.ID, bookA, "STDQ"), GroupID: g.ID, Intent: engine.IntentRequired})
		if err != nil {
			t.Fatal(err)
		}
		if a.Licensed != 3 || a.Adopted != (engine.Adoption{Users: 2, Licenses: 2, AppLicenses: 1}) {
			t.Errorf("assignment = %d licensed, adopted %+v; want 3 licensed, 2 users and 2 licenses adopted (1 of an app)", a.Licensed, a.Adopted)
		}
		if asset, _ := e.sim.Asset(e.loc.UID, bookA, "STDQ"); asset.AssignedCount != 3 {
			t.Errorf("Apple counts %d licenses of the book, want 3 (1 held before, 2 spent)", asset.AssignedCount)
		}
		if n := len(e.sim.Users(e.loc.UID)); n != 4 {
			t.Errorf("Apple holds %d users, want 4 (3 of the other system, cy created)", n)
		}
		if v := e.sim.Violations(); len(v) != 0 {
			t.Errorf("double spends: %+v", v)
		}
	})
}

// A second engine on an empty database (another runner) rebuilds the records from the state's ids
// and Apple, reading only: the assignment shows what Apple holds, and delivering sends nothing.
func TestRecords_emptyDatabaseRebuildsFromAppleAndState(t *testing.T) {
	each(t, func(t *testing.T, kind store.Kind) {
		e := newEnv(t, kind, applesim.Options{Strict: true})
		ctx := context.Background()
		tok := e.addToken()
		members := []string{"ann@example.com", "bob@corp.example.com", "cy@example.com"}
		g := e.group("Readers", false, members...)
		in := engine.AssignmentInput{BookID: engine.BookID(tok.ID, bookA, "STDQ"), GroupID: g.ID, Intent: engine.IntentRequired}
		a, err := e.eng.CreateAssignment(ctx, in)
		if err != nil || a.Licensed != 3 {
			t.Fatalf("assignment: %+v, %v", a, err)
		}

		e.dbURL = storetest.URL(t, kind) // runner B: the same state, an empty database
		b := e.open()
		e.sim.ResetStats()
		if _, restored, err := b.RestoreToken(ctx, tok.ID, e.loc.UID, engine.TokenInput{Contents: e.token, AccountType: engine.AccountBusiness}); err != nil || !restored {
			t.Fatalf("RestoreToken: restored %t, %v", restored, err)
		}
		if _, restored, err := b.RestoreGroup(ctx, g.ID, engine.GroupInput{Name: "Readers", Members: members}); err != nil || !restored {
			t.Fatalf("RestoreGroup: restored %t, %v", restored, err)
		}
		if restored, err := b.RestoreAssignment(ctx, a.ID, in); err != nil || !restored {
			t.Fatalf("RestoreAssignment: restored %t, %v", restored, err)
		}
		got, err := b.RefreshAssignment(ctx, a.ID)
		if err != nil || got.Licensed != 3 || got.Status != engine.StatusComplete {
			t.Fatalf("the rebuilt assignment = %+v, %v; want 3 licensed, complete", got, err)
		}
		if n := postCount(e.sim.Stats()); n != 0 {
			t.Errorf("rebuilding sent %d POST requests to Apple, want 0 (plans write nothing)", n)
		}
		if err := b.Deliver(ctx, tok.ID); err != nil {
			t.Fatal(err)
		}
		if n := postCount(e.sim.Stats()); n != 0 {
			t.Errorf("delivering from the rebuilt records sent %d POST requests, want 0", n)
		}
		if v := e.sim.Violations(); len(v) != 0 {
			t.Errorf("double spends: %+v", v)
		}
	})
}

// Two uploads of one location at the same time on one database: one holds it, the other is
// refused and names the holder; one record exists.
func TestRecords_concurrentUploadsOfOneLocation(t *testing.T) {
	each(t, func(t *testing.T, kind store.Kind) {
		e := newEnv(t, kind, applesim.Options{})
		other := e.open() // a second process on the same database
		ctx := context.Background()
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, eng := range []*engine.Engine{e.eng, other} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = eng.AddToken(ctx, engine.TokenInput{Contents: e.token, AccountType: engine.AccountBusiness})
			}()
		}
		wg.Wait()
		var dup *engine.DuplicateLocationError
		refused := 0
		for _, err := range errs {
			switch {
			case err == nil:
			case errors.As(err, &dup) && dup.ExistingTokenID == engine.TokenID(e.loc.UID):
				refused++
			default:
				t.Errorf("upload: %v", err)
			}
		}
		if refused != 1 {
			t.Errorf("%d of 2 concurrent uploads refused, want 1 (errors %v)", refused, errs)
		}
		if tokens, _ := e.eng.ListTokens(ctx); len(tokens) != 1 {
			t.Errorf("%d token records, want 1", len(tokens))
		}
	})
}
