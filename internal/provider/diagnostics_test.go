package provider

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"

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
		for _, want := range []string{sentence(tc.err.Error()), "So far 288 member(s) are licensed, 212 pending, 0 failed", "The next apply resumes delivery."} {
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
	for held, adoption := range map[string]engine.Adoption{
		"1 book license":                     {Users: 2, Licenses: 1},
		"2 app licenses":                     {Users: 2, Licenses: 2, AppLicenses: 2},
		"3 licenses (1 of books, 2 of apps)": {Users: 2, Licenses: 3, AppLicenses: 2},
	} {
		diags = nil
		warnAdopted(&diags, adoption)
		want := "2 member(s) already had a VPP user at this location (created by another system, or by this provider with " +
			"another database), holding " + held + " there. They were adopted as they are: no user was created for them " +
			"and none of those licenses was spent again."
		if len(diags) != 1 || diags[0].Severity() != diag.SeverityWarning || diags[0].Summary() != "Existing VPP Users Adopted" || diags[0].Detail() != want {
			t.Errorf("adoption %+v: %v, want one warning %q", adoption, diags, want)
		}
	}
}

// Licenses that stay with their users are named by what they are of (books, apps, or both), with
// why they stay; the same for reclaimed app licenses.
func TestWarnLicensesKeptAndReclaimed(t *testing.T) {
	for _, tc := range []struct {
		kept    licenseCount
		summary string
		want    []string
	}{
		{licenseCount{books: 1}, "Book Licenses Stay With Their Users", []string{"Gone. 1 book license stays with its members: " +
			"Apple does not allow reclaiming books, so they still count as assigned at Apple."}},
		{licenseCount{apps: 2}, "App Licenses Stay With Their Users", []string{"Gone. 2 app licenses stay with its members: " +
			"Apple does not allow reclaiming apps that are not revocable, and an app that another assignment still gives its " +
			"user is not taken back, so they still count as assigned at Apple."}},
		{licenseCount{books: 2, apps: 1}, "Licenses Stay With Their Users", []string{"Gone. 3 licenses (2 of books, 1 of apps) " +
			"stay with its members: Apple does not allow reclaiming books, nor apps that are not revocable"}},
		{licenseCount{}, "", nil},
	} {
		var diags diag.Diagnostics
		warnLicensesKept(&diags, nil, "Gone.", tc.kept, "its members")
		if tc.summary == "" {
			if len(diags) != 0 {
				t.Errorf("%+v: %v, want nothing", tc.kept, diags)
			}
			continue
		}
		if len(diags) != 1 || diags[0].Severity() != diag.SeverityWarning || diags[0].Summary() != tc.summary ||
			!containsAll(diags[0].Detail(), tc.want...) {
			t.Errorf("%+v: %v, want one warning %q saying %q", tc.kept, diags, tc.summary, tc.want)
		}
	}
	var diags diag.Diagnostics
	at := path.Root("members")
	warnLicensesReclaimed(&diags, &at, "Gone.", 1, "its members")
	if len(diags) != 1 || diags[0].Summary() != "App Licenses Will Be Reclaimed" ||
		!containsAll(diags[0].Detail(), "Gone. Applying it takes 1 app license back from its members at Apple") {
		t.Errorf("reclaimed: %v", diags)
	}
}

// Every fact the engine reports has one diagnostic: its summary, the attribute it concerns and
// what to do, all worded here (explain), none of it in the engine's text.
func TestExplainEngineErrors(t *testing.T) {
	for _, tc := range []struct {
		err     error
		summary string
		about   subject
		want    []string
	}{
		{&engine.ShortageError{BookID: "t:1:STDQ", BookTitle: "Go", GroupName: "Staff", Needed: 3, Available: 2},
			"Not Enough Licenses", aboutGroup, []string{`Book "Go" (t:1:STDQ) has 2 available licenses but group "Staff" needs 3 now: 1 short.`,
				"Buy at least 1 more licenses", "allow_oversubscription = true"}},
		{&engine.ShortageError{Needed: 5, Available: 1, Demand: []engine.GroupDemand{{GroupName: "A", Needed: 3}, {GroupName: "B", Needed: 2}}},
			"Not Enough Licenses", aboutGroup, []string{"4 short", "on every assignment of the book, or assign it to fewer groups."}},
		{&engine.ShortageError{Kind: engine.KindApp, BookID: "t:2:STDQ", BookTitle: "Pages", GroupName: "Staff", Needed: 3, Available: 2},
			"Not Enough Licenses", aboutGroup, []string{`App "Pages" (t:2:STDQ) has 2 available licenses but group "Staff" needs 3 now: 1 short.`}},
		{&engine.ShortageError{Kind: engine.KindApp, Needed: 5, Available: 1, Demand: []engine.GroupDemand{{GroupName: "A", Needed: 3}, {GroupName: "B", Needed: 2}}},
			"Not Enough Licenses", aboutGroup, []string{"App ", "4 short", "on every assignment of the app, or assign it to fewer groups."}},
		{fmt.Errorf("removing members: %w", &engine.ReclaimError{AdamID: "361309726", Remaining: 2, ErrorNumber: 9610, Detail: "busy"}),
			"App Licenses Not Reclaimed", aboutNothing, []string{"Apple did not take back 2 licenses of app 361309726 (Apple error 9610: busy)",
				"the engine journals every request to Apple, so applying again takes back the licenses still held, exactly once.",
				"check the app's licenses in Apple Business Manager"}},
		{&engine.ReleaseError{TokenID: "t1", LocationName: "HQ", Remaining: 2,
			Cause: &engine.ReclaimError{AdamID: "361309726", Remaining: 2, ErrorNumber: 9610, Detail: "busy"}},
			"App Licenses Not Released", aboutNothing, []string{`2 revocable app licenses that the engine's users and devices hold at location "HQ" were not released`,
				"Apple did not take back 2 licenses of app 361309726 (Apple error 9610: busy)", "token t1 is kept",
				"the engine journals every request to Apple, so destroying the vpp_token again releases the licenses still held, exactly once."}},
		{&engine.ReleaseError{TokenID: "t1", LocationName: "HQ", Remaining: 1, Cause: &engine.IncompleteError{Pending: 1, Reason: "event e1"}},
			"App Licenses Not Released", aboutNothing, []string{"1 revocable app licenses", "destroying the vpp_token again releases"}},
		{&engine.ReleaseError{TokenID: "t1", LocationName: "HQ", Remaining: 2,
			Cause: &engine.TokenUnusableError{TokenID: "t1", State: engine.StateRevoked, Cause: errors.New("error 9625")}},
			"VPP Token Not Usable", aboutTokenFile, []string{"cannot be released through token t1", "Apple revoked it"}},
		{&engine.NotFoundError{Kind: engine.KindGroup, ID: "g1"}, "Unknown User Group", aboutGroup, []string{"vpp_user_group.<name>.id"}},
		{&engine.NotFoundError{Kind: engine.KindToken, ID: "t1"}, "Unknown VPP Token", aboutToken, []string{`No vpp_token with id "t1"`}},
		{&engine.NotFoundError{Kind: engine.KindBook, ID: "t1:9:STDQ", In: "t1"}, "Unknown Book", aboutBook,
			[]string{"Book t1:9:STDQ is not among the books of token t1.", "vpp_books"}},
		{&engine.BookQueryError{AdamID: "9", TokenID: "t1"}, "Book Not Found", aboutBook,
			[]string{`No purchased book matches adam_id "9" and token_id "t1"; list what the engine holds with the vpp_books data source`}},
		{&engine.BookQueryError{Title: "Go", Matches: []string{"a", "b"}}, "Several Books Match", aboutBook,
			[]string{`2 books match title "Go" (a, b); narrow it with token_id or adam_id.`}},
		{&engine.BookIDError{Input: "nope"}, "Invalid Book ID", aboutBook, []string{`Book id "nope" is not of the form`, "data.vpp_book.<name>.id"}},
		{&engine.BookQueryError{Kind: engine.KindBook, Title: "Go", TokenID: "t1"}, "Book Not Found", aboutBook,
			[]string{`No purchased book matches title "Go" and token_id "t1"; list what the engine holds with the vpp_books data source`}},
		{&engine.NotFoundError{Kind: engine.KindApp, ID: "t1:9:STDQ"}, "Unknown App", aboutApp,
			[]string{`App "t1:9:STDQ" not found in the engine's database.`, "vpp_apps or vpp_app data source (data.vpp_app.<name>.id)",
				"A token's apps appear after its first sync."}},
		{&engine.BookQueryError{Kind: engine.KindApp, BundleID: "com.apple.Pages", TokenID: "t1"}, "App Not Found", aboutApp,
			[]string{`No purchased app matches bundle_id "com.apple.Pages" and token_id "t1"; list what the engine holds with the vpp_apps data source`}},
		{&engine.BookQueryError{Kind: engine.KindApp, AdamID: "9"}, "App Not Found", aboutApp, []string{`No purchased app matches adam_id "9";`}},
		{&engine.BookQueryError{Kind: engine.KindApp, Title: "Pages", Matches: []string{"a", "b"}}, "Several Apps Match", aboutApp,
			[]string{`2 apps match name "Pages" (a, b); narrow it with token_id, or look one up by its id.`}},
		{&engine.ProductError{ID: "t1:9:STDQ", Title: "Go", Want: engine.KindApp, Got: engine.KindBook}, "Not an App", aboutApp,
			[]string{`The id t1:9:STDQ names a book ("Go"), not an app. Take the id of an app from the vpp_apps or vpp_app data source`}},
		{fmt.Errorf("assigning: %w", &engine.ProductError{ID: "t1:9:STDQ", Title: "Pages", Want: engine.KindBook, Got: engine.KindApp}),
			"Not a Book", aboutBook, []string{`The id t1:9:STDQ names an app ("Pages"), not a book. Take book_id from the vpp_books or vpp_book data source`}},
		{&engine.AssignmentExistsError{BookID: "b", GroupID: "g", ExistingID: "a1", Intent: "required"}, "eBook Assignment Already Exists",
			aboutGroup, []string{`an import block with id = "a1"`}},
		{&engine.DuplicateLocationError{LocationName: "HQ", LocationUID: "u1", ExistingTokenID: "t1"}, "Location Already Held",
			aboutTokenFile, []string{"held by token t1", `import that token (an import block with id = "t1")`, "token_wo_version"}},
		{&engine.ExternalMDMError{LocationName: "HQ", MDMName: "Jamf Pro", MDMID: "j1"}, "Location Managed by Another System",
			aboutTakeOver, []string{`"Jamf Pro"`, "take_over_from_other_mdm = true"}},
		{&engine.AccountTypeError{Configured: "business", Actual: "education"}, "Account Type Mismatch", aboutAccountType,
			[]string{`Set account_type = "education".`}},
		{&engine.LocationChangedError{CurrentName: "HQ", CurrentUID: "u1", NewName: "Branch", NewUID: "u2"}, "Token File of Another Location",
			aboutTokenFile, []string{`location "Branch" (uId u2), but this token manages "HQ" (uId u1)`, "separate vpp_token"}},
		{&engine.TokenUnusableError{TokenID: "t1", State: engine.StateExpired, Cause: errors.New("error 9622")}, "VPP Token Not Usable",
			aboutTokenFile, []string{"Token t1 is expired (Apple: error 9622).", "renew the vpp_token in place"}},
		{&engine.BusyError{TokenID: "t1", Cause: errors.New("lock wait")}, "VPP Token Busy", aboutNothing, []string{"run again when it has finished"}},
		{&engine.ManagedAccountsSwitchError{GroupName: "Staff", Count: 2, Invited: []string{"a@x.org"}}, "Cannot Switch to Managed Apple Accounts",
			aboutManagedAccounts, []string{"Keep managed_apple_accounts = false"}},
		{&engine.IncompleteError{Pending: 1, Reason: "event e1"}, "", aboutNothing, []string{"Run apply again to resume."}},
		{fmt.Errorf("sending: %w", &apple.OutcomeUnknownError{Method: "POST", Path: "/users/create", Err: errors.New("reset")}), "", aboutNothing,
			[]string{outcomeUnknownHint}},
	} {
		x := explain(tc.err)
		if x.summary != tc.summary || x.about != tc.about {
			t.Errorf("%T: summary %q about %d, want %q about %d", tc.err, x.summary, x.about, tc.summary, tc.about)
		}
		for _, w := range tc.want {
			if !strings.Contains(x.detail, w) {
				t.Errorf("%T: detail %q lacks %q", tc.err, x.detail, w)
			}
		}
	}
}

// engineError blames the attribute the resource maps the error's subject to, keeps the
// operation's summary for an error that is no fact of its own, and falls back to the resource.
func TestEngineErrorBlame(t *testing.T) {
	var diags diag.Diagnostics
	engineError(&diags, "Error Creating eBook Assignment", &engine.NotFoundError{Kind: engine.KindGroup, ID: "g"}, assignmentAttrs)
	engineError(&diags, "Error Reading VPP Token", errors.New("database is locked"), tokenAttrs(path.Root("token")))
	engineError(&diags, "Error Syncing VPP Token", errors.New("boom"), attrs{aboutNothing: path.Root("sync_trigger")})
	want := []struct {
		summary string
		at      string
	}{{"Unknown User Group", "group_id"}, {"Error Reading VPP Token", ""}, {"Error Syncing VPP Token", "sync_trigger"}}
	if len(diags) != len(want) {
		t.Fatalf("%d diagnostics, want %d", len(diags), len(want))
	}
	for i, w := range want {
		at := ""
		if d, ok := diags[i].(diag.DiagnosticWithPath); ok {
			at = d.Path().String()
		}
		if diags[i].Summary() != w.summary || at != w.at {
			t.Errorf("diagnostic %d: %q on %q, want %q on %q", i, diags[i].Summary(), at, w.summary, w.at)
		}
	}
}
