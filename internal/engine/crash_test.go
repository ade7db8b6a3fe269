package engine_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vppkit/terraform-provider-vpp/internal/applesim"
	"github.com/vppkit/terraform-provider-vpp/internal/engine"
	"github.com/vppkit/terraform-provider-vpp/internal/store"
)

// A provider killed after the engine stored a new token or assignment, but before Terraform
// recorded it, leaves Terraform with nothing in state: the next apply, a new provider process
// with a new engine on the same database, creates the same object again. The engine takes the
// token up again (its record is not held yet), or the same assignment, instead of refusing it,
// and nothing is sent to Apple twice. Once a create completed the location is held: another
// create for it, with the same file or another, is refused and names the holder. The same book
// and group with other settings are refused too.
func TestCrash_createAgainAfterAnUnrecordedCreate(t *testing.T) {
	each(t, func(t *testing.T, kind store.Kind) {
		e := newEnv(t, kind, applesim.Options{})
		// The first create dies during its sync, after the record was stored (the context ends as a
		// killed run's would).
		cctx, cancel := context.WithCancel(context.Background())
		e.setInterpose(func(r *http.Request, next func(*http.Request) (*http.Response, error)) (*http.Response, error) {
			if strings.HasSuffix(r.URL.Path, "/assets") {
				cancel()
			}
			return next(r)
		})
		if _, err := e.eng.AddToken(cctx, engine.TokenInput{Contents: e.token, AccountType: engine.AccountBusiness}); err == nil {
			t.Fatal("the interrupted create succeeded; the case proves nothing")
		}
		e.setInterpose(nil)
		// The killed process is gone: the next apply runs a new engine on the same database, which
		// knows only what the database holds (nothing this process kept in memory).
		e.reopen(nil)
		ctx := context.Background()
		// Data sources read the books (and tokens) first, on every plan: a read does not hold the
		// record, so the create's retry still takes it up.
		if err := e.eng.RefreshBooks(ctx, ""); err != nil {
			t.Fatal(err)
		}
		first, err := e.eng.AddToken(ctx, engine.TokenInput{Contents: e.token, AccountType: engine.AccountBusiness, AppleID: "new@example.com", DisplayName: "Again"})
		if err != nil {
			t.Fatalf("the same token file after an interrupted create: %v", err)
		}
		if first.ID != engine.TokenID(e.loc.UID) || first.DisplayName != "Again" || first.AppleID != "new@example.com" || first.LastSyncStatus != engine.SyncCompleted {
			t.Errorf("the token after an interrupted create = %+v, want token %s taken up with the new settings", first, engine.TokenID(e.loc.UID))
		}
		if tokens, _ := e.eng.ListTokens(ctx); len(tokens) != 1 {
			t.Errorf("%d tokens after the same file was uploaded twice, want 1", len(tokens))
		}
		other, _ := e.sim.MintToken(e.loc.UID, time.Now().Add(100*24*time.Hour))
		for what, file := range map[string]string{"the same token file": e.token, "another token file of the location": other} {
			var dup *engine.DuplicateLocationError
			_, err = e.eng.AddToken(ctx, engine.TokenInput{Contents: file, AccountType: engine.AccountBusiness})
			switch {
			case !errors.As(err, &dup):
				t.Errorf("%s once the location is held: %v, want DuplicateLocationError", what, err)
			case dup.ExistingTokenID != first.ID || !strings.Contains(err.Error(), "is already held by token "+first.ID+" in this engine"):
				t.Errorf("%s once the location is held: %v, want a refusal naming the holder %s", what, err, first.ID)
			}
		}

		g := e.group("Readers", false, emails("c", 40)...)
		in := engine.AssignmentInput{BookID: engine.BookID(first.ID, bookC, "STDQ"), GroupID: g.ID, Intent: engine.IntentRequired}
		a, err := e.eng.CreateAssignment(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		// That apply is killed too before Terraform records the assignment; the next one, again a
		// new process, creates it again.
		e.reopen(nil)
		e.sim.ResetStats()
		b, err := e.eng.CreateAssignment(ctx, in)
		if err != nil {
			t.Fatalf("the same assignment again: %v", err)
		}
		if b.ID != a.ID || b.Licensed != 40 {
			t.Errorf("the same assignment again = %+v, want assignment %s with 40 licensed", b, a.ID)
		}
		if n := e.sim.Stats().Requests["POST /assets/associate"] + e.sim.Stats().Requests["POST /users/create"]; n != 0 {
			t.Errorf("creating the same assignment again sent %d requests to Apple", n)
		}
		// A create whose deadline ends before it reaches the record (here: at once) still reports the
		// record an earlier run stored, with the error, so that the caller keeps it and resumes.
		dead, stop := context.WithCancel(ctx)
		stop()
		if c, err := e.eng.CreateAssignment(dead, in); !errors.Is(err, context.Canceled) || c.ID != a.ID {
			t.Errorf("the same assignment with its context ended = %+v, %v; want assignment %s with the context's error", c, err, a.ID)
		}
		// Other settings (another intent, or oversubscription allowed) are refused with the existing id.
		refusal := fmt.Sprintf("book %s is already assigned to group %s by assignment %s (intent %q)",
			in.BookID, g.ID, a.ID, engine.IntentRequired)
		for what, other := range map[string]engine.AssignmentInput{
			"another intent":           {BookID: in.BookID, GroupID: g.ID, Intent: engine.IntentAvailable},
			"oversubscription allowed": {BookID: in.BookID, GroupID: g.ID, Intent: engine.IntentRequired, AllowOversubscription: true},
		} {
			_, err = e.eng.CreateAssignment(ctx, other)
			if !errors.Is(err, engine.ErrInvalidInput) || !strings.Contains(err.Error(), refusal) {
				t.Errorf("the same book and group with %s: %v, want a refusal containing %q", what, err, refusal)
			}
		}
		if asset, _ := e.sim.Asset(e.loc.UID, bookC, "STDQ"); asset.AssignedCount != 40 {
			t.Errorf("licenses spent = %d, want 40", asset.AssignedCount)
		}
	})
}
