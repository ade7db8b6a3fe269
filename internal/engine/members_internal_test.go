package engine

import (
	"reflect"
	"testing"

	"github.com/vppkit/terraform-provider-vpp/internal/store"
)

// Each recorded delivery state maps to a member state with its reason; only a refusal carries
// Apple's error number and message.
func TestMemberState_reasons(t *testing.T) {
	shortage := "waiting for licenses: book \"B\" (t:2:STDQ) has 2 available licenses but group \"G\" needs 3 now: 1 short"
	for _, c := range []struct {
		name string
		d    store.Delivery
		want MemberState
	}{
		{"licensed", store.Delivery{State: DeliveryLicensed},
			MemberState{State: DeliveryLicensed, Reason: "holds a license for the book"}},
		{"pending", store.Delivery{State: DeliveryPending, Detail: "waiting for the member to accept the invitation"},
			MemberState{State: DeliveryPending, Reason: "invitation not accepted: the member gets the book once they accept their invitation"}},
		{"queued for licenses", store.Delivery{State: DeliveryQueued, Detail: shortage},
			MemberState{State: DeliveryQueued, Reason: shortage}},
		{"queued, due", store.Delivery{State: DeliveryQueued, Detail: "due; the next delivery sends it"},
			MemberState{State: DeliveryQueued, Reason: "due; the next delivery sends it"}},
		{"queued, no detail", store.Delivery{State: DeliveryQueued},
			MemberState{State: DeliveryQueued, Reason: "due; the next delivery sends it"}},
		{"unlicensed", store.Delivery{State: DeliveryUnlicensed},
			MemberState{State: DeliveryUnlicensed, Reason: "no licenses left for this member (oversubscribed; members are licensed in email order)"}},
		{"failed", store.Delivery{State: DeliveryFailed, ErrorNumber: 9635, Detail: "Unable to associate the Apple Account with this user."},
			MemberState{State: DeliveryFailed, ErrorNumber: 9635, ErrorMessage: "Unable to associate the Apple Account with this user.",
				Reason: "Apple refused this member (error 9635): Unable to associate the Apple Account with this user."}},
		{"failed, no message", store.Delivery{State: DeliveryFailed, ErrorNumber: 9600},
			MemberState{State: DeliveryFailed, ErrorNumber: 9600, Reason: "Apple refused this member (error 9600)"}},
		{"failed, no number", store.Delivery{State: DeliveryFailed, Detail: "no."},
			MemberState{State: DeliveryFailed, ErrorMessage: "no.", Reason: "Apple refused this member: no."}},
		{"a state of a newer engine", store.Delivery{State: "archived", Detail: "kept for the record"},
			MemberState{State: "archived", Reason: "kept for the record"}},
	} {
		c.d.AssignmentID, c.d.Email = "a1", "m@example.com"
		c.want.AssignmentID, c.want.Email, c.want.GroupID = "a1", "m@example.com", "g1"
		if got := memberState(c.d, "g1"); got != c.want {
			t.Errorf("%s:\n got %+v\nwant %+v", c.name, got, c.want)
		}
	}
}

// Rows are sorted by email, then group; deliveries of assignments not read are left out.
func TestMemberStates_order(t *testing.T) {
	ds := []store.Delivery{
		{AssignmentID: "a2", Email: "b@x", State: DeliveryLicensed},
		{AssignmentID: "a1", Email: "b@x", State: DeliveryPending},
		{AssignmentID: "a3", Email: "a@x", State: DeliveryLicensed},
		{AssignmentID: "a9", Email: "0@x", State: DeliveryLicensed},
		{AssignmentID: "a1", Email: "c@x", State: DeliveryLicensed},
	}
	got := memberStates(ds, map[string]string{"a1": "g-beta", "a2": "g-alpha", "a3": "g-beta"})
	var order [][2]string
	for _, m := range got {
		order = append(order, [2]string{m.Email, m.GroupID})
	}
	want := [][2]string{{"a@x", "g-beta"}, {"b@x", "g-alpha"}, {"b@x", "g-beta"}, {"c@x", "g-beta"}}
	if !reflect.DeepEqual(order, want) {
		t.Errorf("order = %v, want %v", order, want)
	}
}
