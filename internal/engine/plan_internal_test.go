package engine

import (
	"testing"

	"github.com/vppkit/terraform-provider-vpp/internal/store"
)

// dueNow is the one rule of who needs a book's license now; delivery, forecasts and delivery states
// all follow it.
func TestDueNow(t *testing.T) {
	invited := store.VPPUser{Status: UserRegistered}
	accepted := store.VPPUser{Status: UserAssociated}
	managed := store.VPPUser{Managed: true}
	for _, tc := range []struct {
		name         string
		intent       string
		groupManaged bool
		user         store.VPPUser
		want         bool
	}{
		{"required, no user yet", IntentRequired, false, store.VPPUser{}, true},
		{"required, invited", IntentRequired, false, invited, true},
		{"available, no user yet", IntentAvailable, false, store.VPPUser{}, false},
		{"available, invited", IntentAvailable, false, invited, false},
		{"available, invitation accepted", IntentAvailable, false, accepted, true},
		{"available, managed group", IntentAvailable, true, store.VPPUser{}, true},
		{"available, user created as managed", IntentAvailable, false, managed, true},
	} {
		if got := dueNow(tc.intent, store.Group{Managed: tc.groupManaged}, tc.user); got != tc.want {
			t.Errorf("%s: dueNow = %t, want %t", tc.name, got, tc.want)
		}
	}
	// A device accepts no invitation: it is due at once, whatever the intent.
	if !dueNow(IntentAvailable, store.Group{Kind: store.GroupDevices}, store.VPPUser{}) {
		t.Error("available, device group: dueNow = false, want true")
	}
}
