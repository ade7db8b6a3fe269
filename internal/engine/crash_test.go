package engine_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vppkit/terraform-provider-vpp/internal/applesim"
	"github.com/vppkit/terraform-provider-vpp/internal/engine"
	"github.com/vppkit/terraform-provider-vpp/internal/store"
)

// A provider killed after the engine stored a new token or assignment, but before Terraform
// recorded it, leaves Terraform with nothing in state: the next apply creates the same object
// again. The engine takes the very same token file, or the same assignment, up again instead of
// refusing it, and nothing is sent to Apple twice. Another token file of the location, or the
// same book and group with other settings, are still refused.
func TestCrash_createAgainAfterAnUnrecordedCreate(t *testing.T) {
	each(t, func(t *testing.T, kind store.Kind) {
		e := newEnv(t, kind, applesim.Options{})
		ctx := context.Background()
		first := e.addToken()

		again, err := e.eng.AddToken(ctx, engine.TokenInput{Contents: e.token, AccountType: engine.AccountBusiness, AppleID: "new@example.com", DisplayName: "Again"})
		if err != nil {
			t.Fatalf("the same token file again: %v", err)
		}
		if again.ID != first.ID || again.DisplayName != "Again" || again.AppleID != "new@example.com" || again.LastSyncStatus != engine.SyncCompleted {
			t.Errorf("the same token file again = %+v, want token %s taken up with the new settings", again, first.ID)
		}
		if tokens, _ := e.eng.ListTokens(ctx); len(tokens) != 1 {
			t.Errorf("%d tokens after the same file was uploaded twice, want 1", len(tokens))
		}
		other, _ := e.sim.MintToken(e.loc.UID, time.Now().Add(100*24*time.Hour))
		var dup *engine.DuplicateLocationError
		_, err = e.eng.AddToken(ctx, engine.TokenInput{Contents: other, AccountType: engine.AccountBusiness})
		switch {
		case !errors.As(err, &dup):
			t.Errorf("another token file of the location: %v, want DuplicateLocationError", err)
		case dup.ExistingTokenID != first.ID || !strings.Contains(err.Error(), "is already managed by token "+first.ID+"; one location needs one token"):
			t.Errorf("another token file of the location: %v, want a refusal naming the existing token %s", err, first.ID)
		}

		g := e.group("Readers", false, emails("c", 40)...)
		in := engine.AssignmentInput{BookID: engine.BookID(first.ID, bookC, "STDQ"), GroupID: g.ID, Intent: engine.IntentRequired}
		a, err := e.eng.CreateAssignment(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
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
		// Other settings (another intent, or oversubscription allowed) are refused with the existing id.
		refusal := fmt.Sprintf("book %s is already assigned to group %s by assignment %s (intent %q); import it instead of creating another",
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
