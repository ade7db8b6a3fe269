package provider

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/diag"

	"github.com/vppkit/terraform-provider-vpp/internal/apple"
	"github.com/vppkit/terraform-provider-vpp/internal/engine"
)

// A delivery cut off by a request of unknown outcome says what happened and what to do, as
// every other diagnostic of that error does (found by TestProcess_applyUnderRandomFaults in a
// soak, where such a cut came through the assignment's create).
func TestDeliveryStoppedByUnknownOutcome(t *testing.T) {
	unknown := fmt.Errorf("sending associate request for token t1: %w",
		&apple.OutcomeUnknownError{Method: "POST", Path: "/assets/associate", Err: errors.New("connection reset by peer")})
	a := engine.Assignment{BookID: "t1:1:STDQ", GroupID: "g1", Licensed: 288, Pending: 212}
	for name, tc := range map[string]struct {
		err      error
		wantHint bool
	}{
		"outcome unknown": {unknown, true},
		"other":           {errors.New("Apple API POST /assets/associate: error 9603"), false},
	} {
		var diags diag.Diagnostics
		deliveryStopped(&diags, "Error Delivering eBook Assignment", a, tc.err, "The next apply resumes delivery.")
		if len(diags) != 1 {
			t.Fatalf("%s: %d diagnostics, want 1", name, len(diags))
		}
		detail := diags[0].Detail()
		for _, want := range []string{tc.err.Error(), "So far 288 member(s) are licensed, 212 pending, 0 failed", "The next apply resumes delivery."} {
			if !strings.Contains(detail, want) {
				t.Errorf("%s: detail %q lacks %q", name, detail, want)
			}
		}
		if got := strings.Contains(detail, outcomeUnknownHint); got != tc.wantHint {
			t.Errorf("%s: detail %q: says to apply again after an unknown outcome = %v, want %v", name, detail, got, tc.wantHint)
		}
	}
}

// A delivery that adopted existing users says how many, with the licenses they held; one that
// adopted nobody says nothing.
func TestWarnAdopted(t *testing.T) {
	var diags diag.Diagnostics
	warnAdopted(&diags, engine.Adoption{})
	if len(diags) != 0 {
		t.Fatalf("no adoption: %v, want no diagnostic", diags)
	}
	warnAdopted(&diags, engine.Adoption{Users: 2, Licenses: 1})
	want := "2 member(s) already had a VPP user at this location (created by another system, or by this provider with " +
		"another database), holding 1 book license(s) there. They were adopted as they are: no user was created for them " +
		"and none of those licenses was spent again."
	if len(diags) != 1 || diags[0].Severity() != diag.SeverityWarning || diags[0].Summary() != "Existing VPP Users Adopted" || diags[0].Detail() != want {
		t.Fatalf("adoption: %v, want one warning %q", diags, want)
	}
}
