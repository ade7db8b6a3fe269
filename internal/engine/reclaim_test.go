package engine_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vppkit/terraform-provider-vpp/internal/applesim"
	"github.com/vppkit/terraform-provider-vpp/internal/engine"
	"github.com/vppkit/terraform-provider-vpp/internal/store"
	"github.com/vppkit/terraform-provider-vpp/internal/store/storetest"
)

// appStuck is an app Apple does not let be reclaimed (revocable false).
const appStuck = "1600000003"

// assignApp assigns the app adamID to g, required, and fails the test unless every member is
// licensed.
func (e *env) assignApp(tokenID, adamID string, g engine.Group) engine.Assignment {
	e.t.Helper()
	a, err := e.eng.CreateAssignment(context.Background(), engine.AssignmentInput{Kind: engine.KindApp,
		BookID: engine.AssetID(tokenID, adamID, "STDQ"), GroupID: g.ID, Intent: engine.IntentRequired})
	if err != nil || a.Licensed != len(g.Members) || a.Kind != engine.KindApp {
		e.t.Fatalf("assign app %s to %s: %+v, %v; want %d licensed", adamID, g.Name, a, err, len(g.Members))
	}
	return a
}

// corpEmails are n Managed Apple Accounts of the simulator's managed domain.
func corpEmails(prefix string, n int) []string {
	out := emails(prefix, n)
	for i, m := range out {
		out[i] = strings.Replace(m, "@example.com", "@corp.example.com", 1)
	}
	return out
}

// pagesAvailable is Pages' available count in the engine's records.
func (e *env) pagesAvailable(tokenID string) int {
	e.t.Helper()
	app, err := e.eng.GetApp(context.Background(), engine.AssetID(tokenID, appPages, "STDQ"))
	if err != nil {
		e.t.Fatal(err)
	}
	return app.Available
}

// Removing an app assignment takes back at Apple the licenses it alone gave: a member another
// assignment of the app covers keeps it. The forecast says the same before, Apple's and the
// records' counts return, and the disassociate is journaled and settled.
func TestReclaim_removingAnAppAssignmentTakesItsLicensesBack(t *testing.T) {
	each(t, func(t *testing.T, kind store.Kind) {
		e := newEnv(t, kind, applesim.Options{})
		ctx := context.Background()
		e.addApps()
		tok := e.addToken()
		staff := e.group("Staff", true, "ann@corp.example.com", "bob@corp.example.com", "cy@corp.example.com")
		leads := e.group("Leads", true, "cy@corp.example.com", "dee@corp.example.com")
		a := e.assignApp(tok.ID, appPages, staff)
		e.assignApp(tok.ID, appPages, leads)
		if got := e.holders(appPages); len(got) != 4 {
			t.Fatalf("holders = %v, want the 4 people of both groups", got)
		}
		if n := e.pagesAvailable(tok.ID); n != 46 {
			t.Fatalf("available = %d before, want 46", n)
		}
		if f, err := e.eng.ForecastRemoval(ctx, a.ID); err != nil || f.LicensesReclaimed != 2 || f.LicensesKept != 1 {
			t.Fatalf("ForecastRemoval = %+v, %v; want 2 reclaimed (ann, bob), 1 kept (cy, a lead)", f, err)
		}
		e.sim.ResetStats()
		rep, err := e.eng.DeleteAssignment(ctx, a.ID)
		if err != nil || rep.LicensesReclaimed != 2 || rep.LicensesKept != 1 {
			t.Fatalf("DeleteAssignment = %+v, %v; want 2 reclaimed, 1 kept", rep, err)
		}
		if got := e.holders(appPages); !slices.Equal(got, []string{"cy@corp.example.com", "dee@corp.example.com"}) {
			t.Errorf("holders after = %v, want the leads only", got)
		}
		if asset, _ := e.sim.Asset(e.loc.UID, appPages, "STDQ"); asset.AssignedCount != 2 {
			t.Errorf("Apple's assignedCount = %d, want 2", asset.AssignedCount)
		}
		if n := e.pagesAvailable(tok.ID); n != 48 {
			t.Errorf("available = %d in the records, want 48: the reclaimed licenses are available again", n)
		}
		if n := e.sim.Stats().Requests["POST /assets/disassociate"]; n != 1 {
			t.Errorf("%d disassociate requests, want 1", n)
		}
		if open := e.openJournal(tok.ID); len(open) != 0 {
			t.Errorf("open journal entries = %+v, want none", open)
		}
		if _, err := e.eng.GetAssignment(ctx, a.ID); !errors.Is(err, engine.ErrNotFound) {
			t.Errorf("GetAssignment after = %v, want not found", err)
		}
		e.noDoubleSpend()
	})
}

// Licenses Apple does not let be reclaimed stay: a book's, and an app's whose revocable is false.
// Removing their assignments sends nothing and says how many licenses stay.
func TestReclaim_booksAndIrrevocableAppsKeepTheirLicenses(t *testing.T) {
	each(t, func(t *testing.T, kind store.Kind) {
		e := newEnv(t, kind, applesim.Options{})
		ctx := context.Background()
		e.addApps()
		if err := e.sim.AddApp(e.loc.UID, applesim.AppSpec{AdamID: appStuck, Name: "Stuck", Licenses: 5, NotRevocable: true}); err != nil {
			t.Fatal(err)
		}
		tok := e.addToken()
		g := e.group("Staff", true, "ann@corp.example.com", "bob@corp.example.com")
		app := e.assignApp(tok.ID, appStuck, g)
		book, err := e.eng.CreateAssignment(ctx, engine.AssignmentInput{BookID: engine.BookID(tok.ID, bookA, "STDQ"), GroupID: g.ID, Intent: engine.IntentRequired})
		if err != nil || book.Kind != engine.KindBook {
			t.Fatalf("book assignment = %+v, %v", book, err)
		}
		e.sim.ResetStats()
		for _, id := range []string{app.ID, book.ID} {
			if f, err := e.eng.ForecastRemoval(ctx, id); err != nil || f.LicensesKept != 2 || f.LicensesReclaimed != 0 {
				t.Errorf("ForecastRemoval(%s) = %+v, %v; want 2 kept", id, f, err)
			}
			if rep, err := e.eng.DeleteAssignment(ctx, id); err != nil || rep.LicensesKept != 2 || rep.LicensesReclaimed != 0 {
				t.Errorf("DeleteAssignment(%s) = %+v, %v; want 2 kept", id, rep, err)
			}
		}
		if n := postCount(e.sim.Stats()); n != 0 {
			t.Errorf("%d POSTs sent, want none", n)
		}
		if got := e.holders(appStuck); len(got) != 2 {
			t.Errorf("holders of the irrevocable app = %v, want both still", got)
		}
	})
}

// A disassociate whose answer is lost after Apple did the work is not sent again: the removal
// reads the app's licenses at Apple (a read of changes does not show removals), sees them gone,
// and completes in the same call.
func TestReclaim_lostAnswerIsReconciledNotResent(t *testing.T) {
	for _, fault := range []applesim.FaultKind{applesim.FaultResetAfter, applesim.FaultInternalErrorAfter} {
		t.Run(string(fault), func(t *testing.T) {
			each(t, func(t *testing.T, kind store.Kind) {
				e := newEnv(t, kind, applesim.Options{ProcessingDelay: 20 * time.Millisecond, ProgressSteps: 2})
				e.reopen(nil)
				ctx := context.Background()
				e.addApps()
				tok := e.addToken()
				members := corpEmails("r", 12)
				g := e.group("Reclaim", true, members...)
				a := e.assignApp(tok.ID, appPages, g)
				// Another system's user holds Pages too: Apple's read of the app shows it, and the
				// records must not take it for one of the engine's.
				if err := e.sim.AddUser(e.loc.UID, applesim.UserSpec{ClientUserID: "other-mdm-user", Email: "zed@example.com", Associated: true}); err != nil {
					t.Fatal(err)
				}
				if err := e.sim.Assign(e.loc.UID, appPages, "STDQ", "other-mdm-user"); err != nil {
					t.Fatal(err)
				}
				e.sim.ResetStats()
				e.sim.InjectFault(applesim.Fault{Endpoint: "POST /assets/disassociate", Kind: fault, Count: 1, RetryAfter: "0"})
				rep, err := e.eng.DeleteAssignment(ctx, a.ID)
				if err != nil || rep.LicensesReclaimed != len(members) {
					t.Fatalf("DeleteAssignment with a lost answer = %+v, %v; want all %d reclaimed", rep, err, len(members))
				}
				e.sim.ProcessPendingEvents()
				if got := e.holders(appPages); !slices.Equal(got, []string{"zed@example.com"}) {
					t.Errorf("holders after = %v, want the other system's user only", got)
				}
				if n := e.sim.Stats().Requests["POST /assets/disassociate"]; n != 1 {
					t.Errorf("disassociate sent %d times; Apple had done the work of the first", n)
				}
				if n := e.pagesAvailable(tok.ID); n != 49 {
					t.Errorf("available = %d, want 49", n)
				}
				if n := e.licenseRows(tok.ID); n != 0 {
					t.Errorf("the records hold %d licenses, want none: the other system's user is not the engine's", n)
				}
				if open := e.openJournal(tok.ID); len(open) != 0 {
					t.Errorf("open journal entries = %+v, want none", open)
				}
			})
		})
	}
}

// A removal cut off with its disassociate sent and unanswered (the process killed) leaves the
// assignment and an open journal entry; the next removal, in a new process, settles the entry from
// Apple's records and sends nothing again.
func TestReclaim_interruptedRemovalResumesWithoutResending(t *testing.T) {
	each(t, func(t *testing.T, kind store.Kind) {
		e := newEnv(t, kind, applesim.Options{ProcessingDelay: 20 * time.Millisecond, ProgressSteps: 2})
		e.reopen(nil)
		e.addApps()
		tok := e.addToken()
		members := corpEmails("k", 5)
		g := e.group("Killed", true, members...)
		a := e.assignApp(tok.ID, appPages, g)
		e.sim.ResetStats()
		// The request reaches Apple; the process dies before the answer (its context ends).
		ctx, cancel := context.WithCancel(context.Background())
		e.setInterpose(func(r *http.Request, next func(*http.Request) (*http.Response, error)) (*http.Response, error) {
			resp, err := next(r)
			if strings.HasSuffix(r.URL.Path, "/assets/disassociate") {
				cancel()
				return nil, context.Canceled
			}
			return resp, err
		})
		if _, err := e.eng.DeleteAssignment(ctx, a.ID); err == nil {
			t.Fatal("DeleteAssignment cut off returned no error")
		}
		e.setInterpose(nil)
		if _, err := e.eng.GetAssignment(context.Background(), a.ID); err != nil {
			t.Fatalf("the assignment is gone after an interrupted removal: %v", err)
		}
		e.reopen(nil) // a new process
		e.sim.ProcessPendingEvents()
		rep, err := e.eng.DeleteAssignment(context.Background(), a.ID)
		if err != nil {
			t.Fatalf("second DeleteAssignment: %v", err)
		}
		if n := e.sim.Stats().Requests["POST /assets/disassociate"]; n != 1 {
			t.Errorf("disassociate sent %d times in all, want 1 (rep %+v)", n, rep)
		}
		if got := e.holders(appPages); len(got) != 0 {
			t.Errorf("holders after = %v, want none", got)
		}
		if open := e.openJournal(tok.ID); len(open) != 0 {
			t.Errorf("open journal entries = %+v, want none", open)
		}
	})
}

// Members leaving a group give back the revocable app licenses its assignments gave them (unless
// another group's assignment of the app covers them); books and the members who stay keep theirs.
// The plan-time impact says the same before. Deleting the group reclaims from everyone left.
func TestReclaim_membersLeavingAGroupGiveTheAppBack(t *testing.T) {
	each(t, func(t *testing.T, kind store.Kind) {
		e := newEnv(t, kind, applesim.Options{})
		ctx := context.Background()
		e.addApps()
		tok := e.addToken()
		staff := e.group("Staff", true, "ann@corp.example.com", "bob@corp.example.com", "cy@corp.example.com", "dee@corp.example.com")
		leads := e.group("Leads", true, "cy@corp.example.com")
		e.assignApp(tok.ID, appPages, staff)
		e.assignApp(tok.ID, appPages, leads)
		if _, err := e.eng.CreateAssignment(ctx, engine.AssignmentInput{BookID: engine.BookID(tok.ID, bookA, "STDQ"), GroupID: staff.ID, Intent: engine.IntentRequired}); err != nil {
			t.Fatal(err)
		}
		stay := []string{"ann@corp.example.com"}
		impact, err := e.eng.GroupRemovalImpact(ctx, staff.ID, stay)
		// bob and dee give Pages back; cy keeps it through Leads; the three keep book A.
		if err != nil || impact.LicensesReclaimed != 2 || impact.LicensesKept != 4 || impact.BookLicensesKept != 3 {
			t.Fatalf("GroupRemovalImpact = %+v, %v; want 2 reclaimed, 4 kept (3 of the book)", impact, err)
		}
		e.sim.ResetStats()
		_, change, err := e.eng.UpdateGroup(ctx, staff.ID, engine.GroupInput{Name: "Staff", Managed: true, Members: stay})
		if err != nil || change.LicensesReclaimed != 2 || change.LicensesKept != 4 || change.BookLicensesKept != 3 {
			t.Fatalf("UpdateGroup = %+v, %v; want 2 reclaimed, 4 kept (3 of the book)", change, err)
		}
		if got := e.holders(appPages); !slices.Equal(got, []string{"ann@corp.example.com", "cy@corp.example.com"}) {
			t.Errorf("Pages holders = %v, want ann (stays) and cy (a lead)", got)
		}
		if got := e.holders(bookA); len(got) != 4 {
			t.Errorf("book holders = %v, want all 4 still", got)
		}
		if n := e.sim.Stats().Requests["POST /assets/disassociate"]; n != 1 {
			t.Errorf("%d disassociate requests, want 1", n)
		}
		// The same update again sends nothing more.
		if _, change, err := e.eng.UpdateGroup(ctx, staff.ID, engine.GroupInput{Name: "Staff", Managed: true, Members: stay}); err != nil || change.LicensesReclaimed != 0 {
			t.Errorf("second UpdateGroup = %+v, %v; want nothing reclaimed", change, err)
		}
		rep, err := e.eng.DeleteGroup(ctx, staff.ID)
		if err != nil || rep.LicensesReclaimed != 1 || rep.LicensesKept != 1 || rep.BookLicensesKept != 1 {
			t.Fatalf("DeleteGroup = %+v, %v; want ann's app license reclaimed, her book license kept", rep, err)
		}
		if got := e.holders(appPages); !slices.Equal(got, []string{"cy@corp.example.com"}) {
			t.Errorf("Pages holders after the group's deletion = %v, want cy only", got)
		}
		if n := e.sim.Stats().Requests["POST /assets/disassociate"]; n != 2 {
			t.Errorf("%d disassociate requests in all, want 2", n)
		}
		if n := e.pagesAvailable(tok.ID); n != 49 {
			t.Errorf("available = %d, want 49", n)
		}
		e.noDoubleSpend()
	})
}

// licenseRows counts the licenses the engine's records hold for the token.
func (e *env) licenseRows(tokenID string) int {
	e.t.Helper()
	s := storetest.OpenURL(e.t, e.dbURL)
	defer s.Close()
	var n int
	if err := s.Tx(context.Background(), func(tx store.Tx) error {
		list, err := tx.ListLicenses(context.Background(), tokenID)
		n = len(list)
		return err
	}); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// CreateAssignment and UpdateAssignment say what they assign (Kind), as GetAssignment does: an app
// or a book.
func TestAssignment_createAndUpdateSayTheProduct(t *testing.T) {
	each(t, func(t *testing.T, kind store.Kind) {
		e := newEnv(t, kind, applesim.Options{})
		ctx := context.Background()
		e.addApps()
		tok := e.addToken()
		g := e.group("Staff", true, "ann@corp.example.com")
		for want, id := range map[string]string{engine.KindApp: engine.AssetID(tok.ID, appPages, "STDQ"), engine.KindBook: engine.BookID(tok.ID, bookA, "STDQ")} {
			in := engine.AssignmentInput{Kind: want, BookID: id, GroupID: g.ID, Intent: engine.IntentRequired}
			a, err := e.eng.CreateAssignment(ctx, in)
			if err != nil || a.Kind != want {
				t.Fatalf("CreateAssignment(%s) = %+v, %v; want Kind %q", id, a, err, want)
			}
			in.Intent = engine.IntentAvailable
			if a, err = e.eng.UpdateAssignment(ctx, a.ID, in); err != nil || a.Kind != want {
				t.Errorf("UpdateAssignment(%s) = %+v, %v; want Kind %q", id, a, err, want)
			}
		}
	})
}
