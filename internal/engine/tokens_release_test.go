package engine_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vppkit/terraform-provider-vpp/internal/applesim"
	"github.com/vppkit/terraform-provider-vpp/internal/engine"
	"github.com/vppkit/terraform-provider-vpp/internal/store"
)

var (
	release = engine.RemoveTokenOptions{ReleaseAppLicenses: true}
	keep    = engine.RemoveTokenOptions{}
	// kept is what keeping the licenses of licensedLocation reports: 12 licenses stay, 6 of them
	// of revocable apps and 3 of the book.
	kept = engine.RemoveReport{LicensesKept: 12, AppLicensesKept: 6, BookLicensesKept: 3}
)

// expectReport returns a check that a forecast or removal (what) reported want, without an error.
func expectReport(t *testing.T, what string, want engine.RemoveReport) func(engine.RemoveReport, error) {
	t.Helper()
	return func(got engine.RemoveReport, err error) {
		t.Helper()
		if err != nil || got != want {
			t.Fatalf("%s = %+v, %v; want %+v", what, got, err, want)
		}
	}
}

// licensedLocation gives the env's location the apps (Pages and Library Card revocable, Stuck
// not), a token, and a group of three Managed Apple Accounts holding both revocable apps, Stuck
// and book A: 6 licenses a removal can release, 6 that stay whatever it is asked. Another system's
// user at the location holds Pages too, which the engine's records do not show.
func (e *env) licensedLocation() (engine.Token, []string) {
	e.t.Helper()
	e.addApps()
	if err := e.sim.AddApp(e.loc.UID, applesim.AppSpec{AdamID: appStuck, Name: "Stuck", Licenses: 5, NotRevocable: true}); err != nil {
		e.t.Fatal(err)
	}
	if err := e.sim.AddUser(e.loc.UID, applesim.UserSpec{ClientUserID: "other-mdm-user", Email: "zed@example.com", Associated: true}); err != nil {
		e.t.Fatal(err)
	}
	if err := e.sim.Assign(e.loc.UID, appPages, "STDQ", "other-mdm-user"); err != nil {
		e.t.Fatal(err)
	}
	tok := e.addToken()
	members := corpEmails("m", 3)
	g := e.group("Staff", true, members...)
	for _, app := range []string{appPages, appCard, appStuck} {
		e.assignApp(tok.ID, app, g)
	}
	if _, err := e.eng.CreateAssignment(context.Background(), engine.AssignmentInput{BookID: engine.BookID(tok.ID, bookA, "STDQ"),
		GroupID: g.ID, Intent: engine.IntentRequired}); err != nil {
		e.t.Fatal(err)
	}
	return tok, members
}

// expectHolders checks who holds each asset at Apple.
func (e *env) expectHolders(want map[string][]string) {
	e.t.Helper()
	for adamID, who := range want {
		if got := e.holders(adamID); !slices.Equal(got, who) {
			e.t.Errorf("holders of %s = %v, want %v", adamID, got, who)
		}
	}
}

// expectAssigned checks Apple's assignedCount of an asset.
func (e *env) expectAssigned(adamID string, n int) {
	e.t.Helper()
	if a, _ := e.sim.Asset(e.loc.UID, adamID, "STDQ"); a.AssignedCount != n {
		e.t.Errorf("Apple's assignedCount of %s = %d, want %d", adamID, a.AssignedCount, n)
	}
}

// expectReleased checks that the revocable apps' licenses of licensedLocation are released at
// Apple (another system's user keeps Pages), by n disassociate requests (why n), none of them a
// double spend.
func (e *env) expectReleased(n int, why string) {
	e.t.Helper()
	e.expectHolders(map[string][]string{appPages: {"zed@example.com"}, appCard: nil})
	if got := e.sim.Stats().Requests["POST /assets/disassociate"]; got != n {
		e.t.Errorf("%d disassociate requests, want %d: %s", got, n, why)
	}
	e.noDoubleSpend()
}

// Removing a token that releases its app licenses takes back at Apple, one disassociate per app,
// every revocable app license the engine's users hold there, and only those: the irrevocable
// app, the book and another system's user keep theirs. The forecast says the same before.
func TestRemoveToken_releasesAppLicenses(t *testing.T) {
	each(t, func(t *testing.T, kind store.Kind) {
		e := newEnv(t, kind, applesim.Options{})
		ctx := context.Background()
		tok, members := e.licensedLocation()
		released := engine.RemoveReport{LicensesReclaimed: 6, LicensesKept: 6, BookLicensesKept: 3}
		expectReport(t, "ForecastTokenRemoval(release)", released)(e.eng.ForecastTokenRemoval(ctx, tok.ID, release))
		expectReport(t, "ForecastTokenRemoval(keep)", kept)(e.eng.ForecastTokenRemoval(ctx, tok.ID, keep))
		e.sim.ResetStats()
		expectReport(t, "RemoveToken(release)", released)(e.eng.RemoveToken(ctx, tok.ID, release))
		e.expectHolders(map[string][]string{appPages: {"zed@example.com"}, appCard: nil, appStuck: members, bookA: members})
		e.expectAssigned(appPages, 1)
		e.expectAssigned(appCard, 0)
		stats := e.sim.Stats()
		if n := stats.Requests["POST /assets/disassociate"]; n != 2 || postCount(stats) != 2 {
			t.Errorf("%d disassociate requests of %d POSTs, want one per app and nothing else", n, postCount(stats))
		}
		if _, err := e.eng.GetToken(ctx, tok.ID); !errors.Is(err, engine.ErrNotFound) {
			t.Errorf("GetToken after = %v, want not found", err)
		}
		log, err := e.eng.ReadAuditLog(ctx, engine.AuditFilter{TokenID: tok.ID, Operations: []string{engine.AuditForgetToken}})
		if err != nil || len(log) != 1 || log[0].Count != 6 || !strings.Contains(log[0].Detail, "6 app licenses were released at Apple first") {
			t.Errorf("forget_token audit = %+v, %v", log, err)
		}
		e.noDoubleSpend()
	})
}

// Removing a token that keeps its licenses sends nothing to Apple: every holder stays.
func TestRemoveToken_keepSendsNothing(t *testing.T) {
	each(t, func(t *testing.T, kind store.Kind) {
		e := newEnv(t, kind, applesim.Options{})
		ctx := context.Background()
		tok, members := e.licensedLocation()
		e.sim.ResetStats()
		expectReport(t, "RemoveToken(keep)", kept)(e.eng.RemoveToken(ctx, tok.ID, keep))
		if n := postCount(e.sim.Stats()); n != 0 {
			t.Errorf("%d POSTs sent, want none", n)
		}
		e.expectHolders(map[string][]string{appPages: append(slices.Clone(members), "zed@example.com"), appCard: members, appStuck: members})
		if _, err := e.eng.GetToken(ctx, tok.ID); !errors.Is(err, engine.ErrNotFound) {
			t.Errorf("GetToken after = %v, want not found", err)
		}
	})
}

// A disassociate whose answer is lost after Apple did the work is settled from Apple's records in
// the next pass, not sent again; the removal completes in the same call.
func TestRemoveToken_lostAnswerIsSettledNotResent(t *testing.T) {
	each(t, func(t *testing.T, kind store.Kind) {
		e := newEnv(t, kind, applesim.Options{ProcessingDelay: 20 * time.Millisecond, ProgressSteps: 2})
		e.reopen(nil)
		ctx := context.Background()
		tok, _ := e.licensedLocation()
		e.sim.ResetStats()
		e.sim.InjectFault(applesim.Fault{Endpoint: "POST /assets/disassociate", Kind: applesim.FaultResetAfter, Count: 1})
		rep, err := e.eng.RemoveToken(ctx, tok.ID, release)
		if err != nil || rep.LicensesReclaimed != 6 {
			t.Fatalf("RemoveToken(release) with a lost answer = %+v, %v; want all 6 released", rep, err)
		}
		e.sim.ProcessPendingEvents()
		e.expectReleased(2, "Apple had done the work of the one whose answer was lost")
	})
}

// A release that stops part-way keeps the token and says how many licenses remain; removing it
// again releases the rest, and sends nothing again for what was released.
func TestRemoveToken_stoppedReleaseResumes(t *testing.T) {
	each(t, func(t *testing.T, kind store.Kind) {
		e := newEnv(t, kind, applesim.Options{})
		ctx := context.Background()
		tok, _ := e.licensedLocation()
		var once sync.Once
		e.setInterpose(func(r *http.Request, next func(*http.Request) (*http.Response, error)) (*http.Response, error) {
			if strings.HasSuffix(r.URL.Path, "/assets/disassociate") && r.Body != nil {
				body, _ := io.ReadAll(r.Body)
				r.Body = io.NopCloser(bytes.NewReader(body))
				if bytes.Contains(body, []byte(appCard)) {
					once.Do(func() {
						e.sim.InjectFault(applesim.Fault{Endpoint: "POST /assets/disassociate", Kind: applesim.FaultErrorBody, ErrorNumber: 9706})
					})
				}
			}
			return next(r)
		})
		e.sim.ResetStats()
		rep, err := e.eng.RemoveToken(ctx, tok.ID, release)
		var re *engine.ReleaseError
		if !errors.As(err, &re) || re.Remaining != 3 || re.Refused() || rep.LicensesReclaimed != 3 {
			t.Fatalf("RemoveToken(release) refused by Apple for one app = %+v, %v; want a ReleaseError with 3 remaining, 3 released", rep, err)
		}
		if msg := err.Error(); !strings.Contains(msg, "3 revocable app licenses") || !strings.Contains(msg, "were not released") ||
			!strings.Contains(msg, "is kept so that removing it again releases them") {
			t.Errorf("error = %q", msg)
		}
		if _, err := e.eng.GetToken(ctx, tok.ID); err != nil {
			t.Fatalf("the token is gone although licenses remain: %v", err)
		}
		e.setInterpose(nil)
		rep, err = e.eng.RemoveToken(ctx, tok.ID, release)
		if err != nil || rep.LicensesReclaimed != 3 {
			t.Fatalf("second RemoveToken(release) = %+v, %v; want the 3 left released", rep, err)
		}
		e.expectReleased(3, "Pages once, Library Card twice")
	})
}

// A token Apple no longer accepts cannot release anything: the forecast and the removal refuse,
// saying what to do, send nothing and keep the token; removing it keeping the licenses works. A
// token with nothing to release is removed whatever its state.
func TestRemoveToken_unusableTokenRefusesRelease(t *testing.T) {
	each(t, func(t *testing.T, kind store.Kind) {
		e := newEnv(t, kind, applesim.Options{})
		ctx := context.Background()
		tok, members := e.licensedLocation()
		if err := e.sim.RevokeToken(e.token); err != nil {
			t.Fatal(err)
		}
		if got, err := e.eng.RefreshToken(ctx, tok.ID); err != nil || got.State != engine.StateRevoked {
			t.Fatalf("RefreshToken = %+v, %v; want revoked", got, err)
		}
		e.sim.ResetStats()
		for name, call := range map[string]func() (engine.RemoveReport, error){
			"ForecastTokenRemoval": func() (engine.RemoveReport, error) { return e.eng.ForecastTokenRemoval(ctx, tok.ID, release) },
			"RemoveToken":          func() (engine.RemoveReport, error) { return e.eng.RemoveToken(ctx, tok.ID, release) },
		} {
			_, err := call()
			var re *engine.ReleaseError
			if !errors.As(err, &re) || !re.Refused() || re.Remaining != 6 || !errors.Is(err, engine.ErrTokenUnusable) {
				t.Fatalf("%s(release) of a revoked token = %v; want a refusal with 6 remaining", name, err)
			}
			for _, s := range []string{"6 revocable app licenses", "cannot be released through token " + tok.ID, "revoked",
				"renew its token file first", "remove it keeping the licenses with their users"} {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("%s error %q lacks %q", name, err, s)
				}
			}
			if w := terraformWords.FindString(err.Error()); w != "" {
				t.Errorf("%s error says %q: %s", name, w, err)
			}
		}
		if n := postCount(e.sim.Stats()); n != 0 {
			t.Errorf("%d POSTs sent, want none", n)
		}
		if _, err := e.eng.GetToken(ctx, tok.ID); err != nil {
			t.Fatalf("the token is gone after a refused release: %v", err)
		}
		e.expectHolders(map[string][]string{appCard: members})
		if rep, err := e.eng.RemoveToken(ctx, tok.ID, keep); err != nil || rep.AppLicensesKept != 6 {
			t.Fatalf("RemoveToken(keep) of a revoked token = %+v, %v", rep, err)
		}

		// Nothing to release: a revoked token goes.
		loc, file := e.newLocation("Branch", applesim.AccountBusiness)
		other, err := e.eng.AddToken(ctx, engine.TokenInput{Contents: file, AccountType: engine.AccountBusiness})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.sim.RevokeToken(file); err != nil {
			t.Fatal(err)
		}
		if _, err := e.eng.RefreshToken(ctx, other.ID); err != nil {
			t.Fatal(err)
		}
		if rep, err := e.eng.RemoveToken(ctx, other.ID, release); err != nil || rep.LicensesReclaimed != 0 {
			t.Errorf("RemoveToken(release) of revoked token of %s with nothing to release = %+v, %v", loc.Name, rep, err)
		}
	})
}
