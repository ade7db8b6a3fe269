package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/compare"
	acc "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/vppkit/terraform-provider-vpp/internal/applesim"
	"github.com/vppkit/terraform-provider-vpp/internal/engine"
)

// Apps every app test location holds besides the standard books: A and C revocable with 10
// licenses, B revocable with 2, Fixed not revocable with 5.
const (
	testAppA     = "1700000001"
	testAppB     = "1700000002"
	testAppC     = "1700000003"
	testAppFixed = "1700000004"
)

// newAppLocation is newTestLocation with the test apps added, and its token seeded in db. It
// returns the location and the token id.
func newAppLocation(t *testing.T, db string) (testLocation, string) {
	t.Helper()
	sim, _ := simulator(t)
	loc := newTestLocation(t, "business")
	for _, a := range []applesim.AppSpec{
		{AdamID: testAppA, Name: "Field Notes", Developer: "Notes Co", Licenses: 10},
		{AdamID: testAppB, Name: "Scarce Tool", Developer: "Tools Co", Licenses: 2},
		{AdamID: testAppC, Name: "Second Look", Developer: "Notes Co", Licenses: 10},
		{AdamID: testAppFixed, Name: "Kept Forever", Developer: "Fixed Co", Licenses: 5, NotRevocable: true},
	} {
		if err := sim.AddApp(loc.UID, a); err != nil {
			t.Fatal(err)
		}
	}
	return loc, seedToken(t, db, loc)
}

// appAssignmentBlock is a vpp_app_assignment named name giving appID to the group whose id is
// groupRef (an expression), with intent.
func appAssignmentBlock(name, appID, groupRef, intent string) string {
	return fmt.Sprintf(`
resource "vpp_app_assignment" %q {
  app_id   = %q
  group_id = %s
  intent   = %q
}
`, name, appID, groupRef, intent)
}

// appGroupConfig is the provider, a user group "test" (invited unless managed) and extra.
func appGroupConfig(t *testing.T, db string, managed bool, members []string, extra string) string {
	t.Helper()
	return providerBlock(t, db) + fmt.Sprintf(`
resource "vpp_user_group" "test" {
  name                   = "Staff"
  members                = %s
  managed_apple_accounts = %t
}
`, hclStrings(members...), managed) + extra
}

// expectAppDelivery checks the delivery counts of the vpp_app_assignment at addr.
func expectAppDelivery(addr string, licensed, pending int64, status string) []statecheck.StateCheck {
	return []statecheck.StateCheck{
		statecheck.ExpectKnownValue(addr, tfjsonpath.New("licensed_count"), knownvalue.Int64Exact(licensed)),
		statecheck.ExpectKnownValue(addr, tfjsonpath.New("pending_count"), knownvalue.Int64Exact(pending)),
		statecheck.ExpectKnownValue(addr, tfjsonpath.New("unlicensed_count"), knownvalue.Int64Exact(0)),
		statecheck.ExpectKnownValue(addr, tfjsonpath.New("failed_count"), knownvalue.Int64Exact(0)),
		statecheck.ExpectKnownValue(addr, tfjsonpath.New("delivery_status"), knownvalue.StringExact(status)),
	}
}

// expectHeld checks that Apple shows adamID held by exactly the members emails (sorted).
func expectHeld(t *testing.T, uid, adamID string, emails ...string) error {
	t.Helper()
	if held := licensedEmails(t, uid, adamID); strings.Join(held, ",") != strings.Join(emails, ",") {
		return fmt.Errorf("Apple shows asset %s held by %v, want %v", adamID, held, emails)
	}
	return nil
}

// expectKind checks that the engine records the assignment at addr as giving kind.
func expectKind(t *testing.T, db, addr, kind string) func(*terraform.State) error {
	return func(s *terraform.State) error {
		rs, ok := s.RootModule().Resources[addr]
		if !ok {
			return fmt.Errorf("%s not in state", addr)
		}
		a, err := testEngine(t, db).GetAssignment(context.Background(), rs.Primary.ID)
		if err != nil {
			return err
		}
		if a.Kind != kind {
			return fmt.Errorf("the engine records %s as giving a %q, want %q", addr, a.Kind, kind)
		}
		return nil
	}
}

// appAssignmentTest runs steps through the real CLI, then checks that the destroy left none of the
// state's app assignments in the engine.
func appAssignmentTest(t *testing.T, db string, steps []acc.TestStep) {
	t.Helper()
	acc.Test(t, acc.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy: func(s *terraform.State) error {
			for _, id := range idsOf(s, "vpp_app_assignment") {
				if _, err := testEngine(t, db).GetAssignment(context.Background(), id); !errors.Is(err, engine.ErrNotFound) {
					return fmt.Errorf("app assignment %s is still in the engine after destroy (err %v)", id, err)
				}
			}
			return nil
		},
		Steps: steps,
	})
}

// idsOf lists the ids of the state's resources of type typ.
func idsOf(s *terraform.State, typ string) []string {
	var ids []string
	for _, rs := range s.RootModule().Resources {
		if rs.Type == typ {
			ids = append(ids, rs.Primary.ID)
		}
	}
	return ids
}

// importIDOf returns the import id "<a>/<b>/..." of the resource at addr: the values of its
// attributes names, joined by slashes.
func importIDOf(addr string, names ...string) acc.ImportStateIdFunc {
	return func(s *terraform.State) (string, error) {
		rs, ok := s.RootModule().Resources[addr]
		if !ok {
			return "", fmt.Errorf("%s not in state", addr)
		}
		values := make([]string, len(names))
		for i, n := range names {
			values[i] = rs.Primary.Attributes[n]
		}
		return strings.Join(values, "/"), nil
	}
}

// required licenses every member now, the engine records an app, and the assignment imports by id
// and by <app_id>/<group_id>, and updates in place.
func TestAccAppAssignment_basic(t *testing.T) {
	db := testDatabase(t)
	loc, tokenID := newAppLocation(t, db)
	appID := engine.AssetID(tokenID, testAppA, "STDQ")
	const addr = "vpp_app_assignment.test"
	members := []string{"alice@example.com", "bob@example.com"}
	config := func(intent string) string {
		return appGroupConfig(t, db, false, members, appAssignmentBlock("test", appID, "vpp_user_group.test.id", intent))
	}
	appAssignmentTest(t, db, []acc.TestStep{
		{
			Config: config("required"),
			ConfigStateChecks: append(expectAppDelivery(addr, 2, 0, "complete"),
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("id"), knownvalue.StringRegexp(regexp.MustCompile(`^[0-9a-f-]{36}$`))),
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("app_id"), knownvalue.StringExact(appID)),
				statecheck.CompareValuePairs(addr, tfjsonpath.New("group_id"), "vpp_user_group.test", tfjsonpath.New("id"), compare.ValuesSame()),
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("allow_oversubscription"), knownvalue.Bool(false)),
			),
			Check: acc.ComposeTestCheckFunc(
				func(*terraform.State) error { return expectHeld(t, loc.UID, testAppA, members...) },
				expectKind(t, db, addr, engine.KindApp),
			),
		},
		{ResourceName: addr, ImportState: true, ImportStateVerify: true},
		{ResourceName: addr, ImportState: true, ImportStateIdFunc: importIDOf(addr, "app_id", "group_id"), ImportStateVerify: true},
		{ResourceName: addr, ImportState: true, ImportStateKind: acc.ImportBlockWithID, ImportStateIdFunc: importIDOf(addr, "app_id", "group_id")},
		{
			ResourceName:  addr,
			ImportState:   true,
			ImportStateId: "not an id",
			ExpectError:   regexp.MustCompile(`(?s)Unexpected Import Identifier.*app_id/group_id or an assignment id.*"not an id"`),
		},
		{
			Config: config("available"),
			ConfigPlanChecks: acc.ConfigPlanChecks{
				PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate)},
				PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
			},
			// The licenses already given stay: nothing becomes pending.
			ConfigStateChecks: append(expectAppDelivery(addr, 2, 0, "complete"),
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("intent"), knownvalue.StringExact("available"))),
		},
	})
}

// required and available to one invited group: required licenses both members now; available
// waits until a member accepts the invitation, and then the plan delivers to that member.
func TestAccAppAssignment_requiredAndAvailable(t *testing.T) {
	db := testDatabase(t)
	loc, tokenID := newAppLocation(t, db)
	members := []string{"alice@example.com", "bob@example.com"}
	config := appGroupConfig(t, db, false, members,
		appAssignmentBlock("required", engine.AssetID(tokenID, testAppA, "STDQ"), "vpp_user_group.test.id", "required")+
			appAssignmentBlock("available", engine.AssetID(tokenID, testAppC, "STDQ"), "vpp_user_group.test.id", "available"))
	appAssignmentTest(t, db, []acc.TestStep{
		{
			Config: config,
			ConfigStateChecks: append(expectAppDelivery("vpp_app_assignment.required", 2, 0, "complete"),
				expectAppDelivery("vpp_app_assignment.available", 0, 2, "pending")...),
			Check: func(*terraform.State) error {
				if err := expectHeld(t, loc.UID, testAppA, members...); err != nil {
					return err
				}
				return expectHeld(t, loc.UID, testAppC) // nobody has accepted yet
			},
		},
		{
			PreConfig: func() {
				acceptInvitation(t, loc.UID, "alice@example.com")
				syncToken(t, db, tokenID)
			},
			Config: config,
			ConfigPlanChecks: acc.ConfigPlanChecks{
				PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("vpp_app_assignment.available", plancheck.ResourceActionUpdate),
					plancheck.ExpectResourceAction("vpp_app_assignment.required", plancheck.ResourceActionNoop),
				},
				PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
			},
			ConfigStateChecks: expectAppDelivery("vpp_app_assignment.available", 1, 1, "pending"),
			Check:             func(*terraform.State) error { return expectHeld(t, loc.UID, testAppC, "alice@example.com") },
		},
	})
}

// A book and an app go to one group in one plan: each is delivered as its own product.
func TestAccAppAssignment_withBookInOnePlan(t *testing.T) {
	db := testDatabase(t)
	loc, tokenID := newAppLocation(t, db)
	members := []string{"ann@corp.example.com", "ben@corp.example.com"}
	config := appGroupConfig(t, db, true, members, appAssignmentBlock("test", engine.AssetID(tokenID, testAppA, "STDQ"), "vpp_user_group.test.id", "required")+
		fmt.Sprintf(`
resource "vpp_ebook_assignment" "test" {
  book_id  = %q
  group_id = vpp_user_group.test.id
  intent   = "required"
}
`, engine.BookID(tokenID, testBookA, "STDQ")))
	appAssignmentTest(t, db, []acc.TestStep{
		{
			Config: config,
			ConfigStateChecks: append(expectAppDelivery("vpp_app_assignment.test", 2, 0, "complete"),
				expectDelivery(2, 0, 0, 0, "complete")...),
			Check: acc.ComposeTestCheckFunc(
				func(*terraform.State) error { return expectHeld(t, loc.UID, testAppA, members...) },
				func(*terraform.State) error { return expectHeld(t, loc.UID, testBookA, members...) },
				expectKind(t, db, "vpp_app_assignment.test", engine.KindApp),
				expectKind(t, db, "vpp_ebook_assignment.test", engine.KindBook),
			),
		},
		{
			Config:           config,
			ConfigPlanChecks: acc.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
		},
	})
}

// Ids of the wrong product, malformed or unknown, an assignment that exists already, and an app
// assignment imported as a book's are refused with diagnostics that name the fix.
func TestAccAppAssignment_invalidInput(t *testing.T) {
	ctx := context.Background()
	db := testDatabase(t)
	_, tokenID := newAppLocation(t, db)
	g, err := testEngine(t, db).CreateGroup(ctx, engine.GroupInput{Name: "Staff", Members: []string{"ann@corp.example.com"}, Managed: true})
	if err != nil {
		t.Fatal(err)
	}
	appA, bookA := engine.AssetID(tokenID, testAppA, "STDQ"), engine.BookID(tokenID, testBookA, "STDQ")
	if _, err := testEngine(t, db).CreateAssignment(ctx, engine.AssignmentInput{Kind: engine.KindApp, BookID: appA, GroupID: g.ID,
		Intent: engine.IntentAvailable}); err != nil {
		t.Fatal(err)
	}
	config := func(appID, intent string) string {
		return providerBlock(t, db) + appAssignmentBlock("test", appID, fmt.Sprintf("%q", g.ID), intent)
	}
	bookConfig := func(bookID, intent string) string {
		return providerBlock(t, db) + fmt.Sprintf(`
resource "vpp_ebook_assignment" "test" {
  book_id  = %q
  group_id = %q
  intent   = %q
}
`, bookID, g.ID, intent)
	}
	acc.Test(t, acc.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []acc.TestStep{
			{
				Config: config(bookA, "required"),
				ExpectError: expectDiag("Not an App", `The id `+regexp.QuoteMeta(bookA)+` names a book \("The Art of Licensing"\), not an app\.`,
					`Take the id of an app from the vpp_apps or vpp_app data source \(data\.vpp_app\.<name>\.id\)\.`),
			},
			{
				Config:      bookConfig(appA, "required"),
				ExpectError: expectDiag("Not a Book", `The id `+regexp.QuoteMeta(appA)+` names an app \("Field Notes"\), not a book\.`),
			},
			{
				Config:      config(engine.AssetID(tokenID, "9999999999", "STDQ"), "required"),
				ExpectError: expectDiag("Unknown App", `vpp_apps`),
			},
			{
				Config:      config(testAppA, "required"),
				ExpectError: expectDiag("Invalid App ID", `App id "`+testAppA+`" is not of the form <token_id>:<adam_id>:<pricing_param>\.`),
			},
			{
				// The engine holds the app's assignment to the group (available): creating another is refused.
				Config: config(appA, "required"),
				ExpectError: expectDiag("App Assignment Already Exists", `One app has one assignment per group: import the existing one`,
					`id = "[0-9a-f-]{36}"`),
			},
			{
				Config:        bookConfig(bookA, "available"),
				ResourceName:  "vpp_ebook_assignment.test",
				ImportState:   true,
				ImportStateId: appA + "/" + g.ID,
				ExpectError: expectDiag("Wrong Resource Type for This Assignment", `gives app `+regexp.QuoteMeta(appA)+` to group`,
					`not a book: import it as a vpp_app_assignment resource instead\.`),
			},
		},
	})
}

// Two assignments of one app (2 licenses) to groups of 2 that exist already: each fits alone,
// together they do not. The plan fails on both, and nothing reaches Apple; once licenses are
// bought, one apply delivers both.
func TestAccAppAssignment_shortageAcrossPlan(t *testing.T) {
	sim, _ := simulator(t)
	db := testDatabase(t)
	loc, tokenID := newAppLocation(t, db)
	appB := engine.AssetID(tokenID, testAppB, "STDQ")
	base := groupsConfig(t, db, []string{"m0a@example.com", "m0b@example.com"}, []string{"m1a@example.com", "m1b@example.com"})
	both := base + appAssignmentBlock("a0", appB, "vpp_user_group.g0.id", "required") + appAssignmentBlock("a1", appB, "vpp_user_group.g1.id", "required")
	var posts int
	appAssignmentTest(t, db, []acc.TestStep{
		{Config: base},
		{
			PreConfig: func() { posts = postCount(sim.Stats()) },
			Config:    both,
			ExpectError: expectDiag("Not Enough Licenses", `App "Scarce Tool" \(`+regexp.QuoteMeta(appB)+`\) has 2 available licenses but its`,
				`assignments need 4 now \(group "Group 0" 2, group "Group 1" 2;`, `2 short`, `allow_oversubscription`),
		},
		{
			PreConfig: func() {
				if got := postCount(sim.Stats()); got != posts {
					t.Errorf("the refused plan sent %d POST requests to Apple, want none", got-posts)
				}
				if err := sim.Purchase(loc.UID, testAppB, "STDQ", 2); err != nil {
					t.Fatal(err)
				}
			},
			Config: both,
			ConfigStateChecks: append(expectAppDelivery("vpp_app_assignment.a0", 2, 0, "complete"),
				expectAppDelivery("vpp_app_assignment.a1", 2, 0, "complete")...),
			Check: func(*terraform.State) error {
				noDoubleSpend(t, loc.UID)
				return expectHeld(t, loc.UID, testAppB, "m0a@example.com", "m0b@example.com", "m1a@example.com", "m1b@example.com")
			},
		},
	})
}

// An app assignment's identity is its app and its group: set at create, kept by update, and
// enough to import it by identity.
func TestAccIdentity_appAssignment(t *testing.T) {
	db := testDatabase(t)
	_, tokenID := newAppLocation(t, db)
	appID := engine.AssetID(tokenID, testAppA, "STDQ")
	const addr = "vpp_app_assignment.test"
	identity := statecheck.ExpectIdentity(addr, map[string]knownvalue.Check{
		"app_id": knownvalue.StringExact(appID), "group_id": knownvalue.StringRegexp(regexp.MustCompile(`^[0-9a-f-]{36}$`))})
	config := func(intent string) string {
		return appGroupConfig(t, db, true, []string{"ann@corp.example.com"}, appAssignmentBlock("test", appID, "vpp_user_group.test.id", intent))
	}
	acc.Test(t, acc.TestCase{
		TerraformVersionChecks:   identityCLI,
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []acc.TestStep{
			{Config: config("required"), ConfigStateChecks: []statecheck.StateCheck{identity}},
			{Config: config("available"), ConfigStateChecks: []statecheck.StateCheck{identity}},
			{Config: config("available"), ResourceName: addr, ImportState: true, ImportStateKind: acc.ImportBlockWithResourceIdentity},
		},
	})
}

// Under the real CLI with the built provider: a plan that destroys the assignment of a revocable
// app says how many licenses will be reclaimed, and one of an app that is not revocable says
// they stay; removing the assignments takes the revocable app's licenses back at Apple and leaves
// the others.
func TestAccAppAssignment_destroyWarnsReclaim(t *testing.T) {
	cli := terraformCLI(t)
	testAccPreCheck(t)
	bin := buildProvider(t)
	db := testDatabase(t)
	sim, _ := simulator(t)
	loc := newTestLocation(t, "business")
	for _, a := range []applesim.AppSpec{
		{AdamID: testAppA, Name: "Field Notes", Licenses: 10},
		{AdamID: testAppFixed, Name: "Kept Forever", Licenses: 5, NotRevocable: true},
	} {
		if err := sim.AddApp(loc.UID, a); err != nil {
			t.Fatal(err)
		}
	}
	members := []string{"ann@corp.example.com", "ben@corp.example.com"}
	config := `
terraform {
  required_providers {
    vpp = { source = "vppkit/vpp" }
  }
}
` + providerBlock(t, db) + fmt.Sprintf(`
resource "vpp_token" "t" {
  token        = %q
  apple_id     = "admin@corp.example.com"
  account_type = "business"
}

resource "vpp_user_group" "staff" {
  name                   = "Staff"
  members                = %s
  managed_apple_accounts = true
}

data "vpp_app" "notes" {
  token_id = vpp_token.t.id
  adam_id  = %q
}

data "vpp_app" "fixed" {
  token_id = vpp_token.t.id
  adam_id  = %q
}
`, loc.Token, hclStrings(members...), testAppA, testAppFixed)
	const assignments = `
resource "vpp_app_assignment" "notes" {
  app_id   = data.vpp_app.notes.id
  group_id = vpp_user_group.staff.id
  intent   = "required"
}

resource "vpp_app_assignment" "fixed" {
  app_id   = data.vpp_app.fixed.id
  group_id = vpp_user_group.staff.id
  intent   = "required"
}
`

	w := newWorkspace(t, cli, bin)
	w.write("main.tf", config+assignments)
	w.mustApply(3 * time.Minute)
	for _, adamID := range []string{testAppA, testAppFixed} {
		if err := expectHeld(t, loc.UID, adamID, members...); err != nil {
			t.Fatal(err)
		}
	}

	warnings := planWarnings(t, w, "-destroy")
	appID := engine.AssetID(engine.TokenID(loc.UID), testAppA, "STDQ")
	for addr, want := range map[string][]string{
		"vpp_app_assignment.notes": {"App Licenses Will Be Reclaimed", "Destroying the assignment of app " + appID + ` to group `,
			` takes back the licenses of app "Field Notes" (` + appID + `) that it alone gives. Applying it takes 2 app licenses back from group `,
			`'s members at Apple (the apps are revocable) and returns them to the apps' available licenses.`},
		"vpp_app_assignment.fixed": {"App Licenses Stay With Their Users", `removes it from the engine only. App "Kept Forever"`,
			`is not revocable (Apple's revocable = false). 2 app licenses stay with their users: Apple does not allow reclaiming apps that are not revocable`},
	} {
		if len(warnings[addr]) != 1 || warnings[addr][0].Summary != want[0] {
			t.Errorf("plan -destroy warns on %s %+v, want one warning %q", addr, warnings[addr], want[0])
			continue
		}
		for _, fragment := range want[1:] {
			if !strings.Contains(warnings[addr][0].Detail, fragment) {
				t.Errorf("plan -destroy's warning on %s does not say %q: %q", addr, fragment, warnings[addr][0].Detail)
			}
		}
	}

	// The assignments go; the group stays.
	w.write("main.tf", config)
	w.mustApply(3 * time.Minute)
	if err := expectHeld(t, loc.UID, testAppFixed, members...); err != nil {
		t.Errorf("after removing the assignments: %v (an app that is not revocable keeps its licenses)", err)
	}
	if err := expectHeld(t, loc.UID, testAppA); err != nil {
		t.Errorf("after removing the assignments: %v (the revocable app's licenses are reclaimed)", err)
	}
	w.mustPlanEmpty(2 * time.Minute)
	if out, code := w.run(3*time.Minute, "destroy", "-auto-approve", "-no-color", "-input=false"); code != 0 {
		t.Fatalf("destroy failed (exit %d):\n%s", code, out)
	}
}

// cliDiagnostic is a diagnostic of the CLI's machine-readable output (-json).
type cliDiagnostic struct {
	Severity string `json:"severity"`
	Summary  string `json:"summary"`
	Detail   string `json:"detail"`
	Address  string `json:"address"`
}

// planWarnings runs a plan with args and returns its warnings by the resource address they are
// about. The machine-readable output lists every warning; the human one folds those that share a
// summary into the first.
func planWarnings(t *testing.T, w *workspace, args ...string) map[string][]cliDiagnostic {
	t.Helper()
	out, code := w.run(2*time.Minute, append([]string{"plan", "-json", "-input=false"}, args...)...)
	if code != 0 {
		t.Fatalf("plan %v failed (exit %d):\n%s", args, code, out)
	}
	warnings := map[string][]cliDiagnostic{}
	for _, line := range strings.Split(out, "\n") {
		var msg struct {
			Type       string        `json:"type"`
			Diagnostic cliDiagnostic `json:"diagnostic"`
		}
		if json.Unmarshal([]byte(line), &msg) != nil || msg.Type != "diagnostic" || msg.Diagnostic.Severity != "warning" {
			continue
		}
		warnings[msg.Diagnostic.Address] = append(warnings[msg.Diagnostic.Address], msg.Diagnostic)
	}
	return warnings
}
