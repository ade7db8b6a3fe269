package provider

import (
	"fmt"
	"regexp"
	"slices"
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
	"github.com/vppkit/terraform-provider-vpp/internal/store"
)

// Serial numbers of the test devices.
var testSerials = []string{"C02XK1ZZJGH1", "C02XK1ZZJGH2", "C02XK1ZZJGH3", "C02XK1ZZJGH4"}

// testAppUserOnly is an app Apple does not license to devices (deviceAssignable false).
const testAppUserOnly = "1700000009"

// deviceGroupBlock is a vpp_device_group named name holding serials.
func deviceGroupBlock(name string, serials ...string) string {
	return fmt.Sprintf(`
resource "vpp_device_group" %[1]q {
  name           = "Devices %[1]s"
  serial_numbers = %[2]s
}
`, name, hclStrings(serials...))
}

// deviceAssignmentBlock is a vpp_app_assignment named name giving appID to the device group
// whose id is groupRef (an expression), with intent.
func deviceAssignmentBlock(name, appID, groupRef, intent string) string {
	return fmt.Sprintf(`
resource "vpp_app_assignment" %q {
  app_id          = %q
  device_group_id = %s
  intent          = %q
}
`, name, appID, groupRef, intent)
}

// heldSerials lists, sorted, the serial numbers Apple shows holding a license of adamID.
func heldSerials(t *testing.T, uid, adamID string) []string {
	t.Helper()
	sim, _ := simulator(t)
	var out []string
	for _, a := range sim.Assignments(uid) {
		if a.AdamID == adamID && a.SerialNumber != "" {
			out = append(out, a.SerialNumber)
		}
	}
	slices.Sort(out)
	return out
}

// expectDevicesHold checks that Apple shows adamID held by exactly the devices serials (sorted),
// and counts them as its assigned licenses, out of total.
func expectDevicesHold(t *testing.T, uid, adamID string, total int, serials ...string) error {
	t.Helper()
	if held := heldSerials(t, uid, adamID); !slices.Equal(held, serials) {
		return fmt.Errorf("Apple shows app %s held by devices %v, want %v", adamID, held, serials)
	}
	sim, _ := simulator(t)
	asset, _ := sim.Asset(uid, adamID, "STDQ")
	if asset.AssignedCount != len(serials) || asset.AvailableCount != total-len(serials) {
		return fmt.Errorf("Apple counts app %s as %d assigned and %d available, want %d and %d", adamID,
			asset.AssignedCount, asset.AvailableCount, len(serials), total-len(serials))
	}
	noDoubleSpend(t, uid)
	return nil
}

// nothingSentSince fails the test when Apple received POST requests since posts were counted.
func nothingSentSince(t *testing.T, sim *applesim.Server, posts int) {
	t.Helper()
	if got := postCount(sim.Stats()); got != posts {
		t.Errorf("the refused plan sent %d POST requests to Apple, want none", got-posts)
	}
}

// buyAfterRefusal is the PreConfig of the step after a refused plan: it checks that the refusal
// sent nothing, then buys n licenses of app adamID.
func buyAfterRefusal(t *testing.T, sim *applesim.Server, uid, adamID string, n int, posts *int) func() {
	return func() {
		nothingSentSince(t, sim, *posts)
		if err := sim.Purchase(uid, adamID, "STDQ", n); err != nil {
			t.Fatal(err)
		}
	}
}

// An app assigned to a device group as required licenses every device now, with no VPP user; an
// available one does too (devices need no invitation). Both import by id and by
// <app_id>/<device_group_id>, and the vpp_app data source counts Apple's licenses.
func TestAccAppAssignmentDevice_requiredAndAvailable(t *testing.T) {
	db := testDatabase(t)
	loc, tokenID := newAppLocation(t, db)
	appA, appC := engine.AssetID(tokenID, testAppA, "STDQ"), engine.AssetID(tokenID, testAppC, "STDQ")
	serials := testSerials[:3]
	const req, avail = "vpp_app_assignment.required", "vpp_app_assignment.available"
	config := providerBlock(t, db) + deviceGroupBlock("kiosks", serials...) +
		deviceAssignmentBlock("required", appA, "vpp_device_group.kiosks.id", "required") +
		deviceAssignmentBlock("available", appC, "vpp_device_group.kiosks.id", "available")
	withCounts := config + fmt.Sprintf(`
data "vpp_app" "a" {
  id = %q
}
`, appA)
	appAssignmentTest(t, db, []acc.TestStep{
		{
			Config: config,
			ConfigStateChecks: append(append(expectAppDelivery(req, 3, 0, "complete"), expectAppDelivery(avail, 3, 0, "complete")...),
				statecheck.CompareValuePairs(req, tfjsonpath.New("device_group_id"), "vpp_device_group.kiosks", tfjsonpath.New("id"), compare.ValuesSame()),
				statecheck.ExpectKnownValue(req, tfjsonpath.New("group_id"), knownvalue.Null()),
			),
			Check: func(*terraform.State) error {
				sim, _ := simulator(t)
				if n := len(sim.Users(loc.UID)); n != 0 {
					return fmt.Errorf("device licensing created %d VPP users, want none", n)
				}
				if err := expectDevicesHold(t, loc.UID, testAppA, 10, serials...); err != nil {
					return err
				}
				return expectDevicesHold(t, loc.UID, testAppC, 10, serials...)
			},
		},
		{
			// The data source reads Apple's counts after a sync.
			Config: withCounts,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("data.vpp_app.a", tfjsonpath.New("assigned_licenses"), knownvalue.Int64Exact(3)),
				statecheck.ExpectKnownValue("data.vpp_app.a", tfjsonpath.New("available_licenses"), knownvalue.Int64Exact(7)),
			},
		},
		{ResourceName: req, ImportState: true, ImportStateVerify: true},
		{ResourceName: req, ImportState: true, ImportStateIdFunc: importIDOf(req, "app_id", "device_group_id"), ImportStateVerify: true},
		{ResourceName: avail, ImportState: true, ImportStateKind: acc.ImportBlockWithID, ImportStateIdFunc: importIDOf(avail, "app_id", "device_group_id")},
		{Config: withCounts, ConfigPlanChecks: acc.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}}},
	})
}

// Setting both group_id and device_group_id, or neither, fails validation naming both.
func TestAccAppAssignmentDevice_exactlyOneGroup(t *testing.T) {
	db := testDatabase(t)
	_, tokenID := newAppLocation(t, db)
	appA := engine.AssetID(tokenID, testAppA, "STDQ")
	base := appGroupConfig(t, db, true, []string{"ann@corp.example.com"}, deviceGroupBlock("kiosks", testSerials[0]))
	appAssignmentTest(t, db, []acc.TestStep{
		{
			Config: base + fmt.Sprintf(`
resource "vpp_app_assignment" "both" {
  app_id          = %q
  group_id        = vpp_user_group.test.id
  device_group_id = vpp_device_group.kiosks.id
  intent          = "required"
}
`, appA),
			ExpectError: regexp.MustCompile(`(?s)Invalid Attribute Combination.*Exactly one of these attributes must be configured.*\[group_id,device_group_id\]`),
		},
		{
			Config: base + fmt.Sprintf(`
resource "vpp_app_assignment" "neither" {
  app_id = %q
  intent = "required"
}
`, appA),
			ExpectError: regexp.MustCompile(`(?s)Missing Attribute Configuration.*Exactly one of these attributes must be configured.*\[group_id,device_group_id\]`),
		},
		{Config: base}, // a valid configuration, for the destroy
	})
}

// An app Apple does not license to devices is refused at plan, on device_group_id, naming the app
// and what to do; nothing reaches Apple.
func TestAccAppAssignmentDevice_notDeviceAssignable(t *testing.T) {
	sim, _ := simulator(t)
	db := testDatabase(t)
	loc, tokenID := newAppLocation(t, db)
	if err := sim.AddApp(loc.UID, applesim.AppSpec{AdamID: testAppUserOnly, Name: "Library Card", Licenses: 10, NotDeviceAssignable: true}); err != nil {
		t.Fatal(err)
	}
	syncToken(t, db, tokenID) // the engine reads the new app
	appID := engine.AssetID(tokenID, testAppUserOnly, "STDQ")
	base := providerBlock(t, db) + deviceGroupBlock("kiosks", testSerials[:2]...)
	var posts int
	appAssignmentTest(t, db, []acc.TestStep{
		{Config: base},
		{
			PreConfig: func() { posts = postCount(sim.Stats()) },
			Config:    base + deviceAssignmentBlock("card", appID, "vpp_device_group.kiosks.id", "required"),
			ExpectError: expectDiag("App Cannot Be Licensed to Devices", `device_group_id = vpp_device_group.kiosks.id`,
				`App `+regexp.QuoteMeta(appID)+` \("Library Card"\) cannot be licensed to devices, so device group [0-9a-f-]{36} cannot receive it`,
				`device_assignable = false`, `Assign it to a vpp_user_group instead \(group_id\), or choose an app whose device_assignable is true`),
		},
		{
			Config: base,
			Check: func(*terraform.State) error {
				nothingSentSince(t, sim, posts)
				return expectDevicesHold(t, loc.UID, testAppUserOnly, 10)
			},
		},
	})
}

// Two device assignments of one app (2 licenses) to device groups of 2 that exist already: each
// fits alone, together they do not. The plan fails, and nothing reaches Apple; once licenses are
// bought, one apply delivers both.
func TestAccAppAssignmentDevice_shortageAcrossPlan(t *testing.T) {
	sim, _ := simulator(t)
	db := testDatabase(t)
	loc, tokenID := newAppLocation(t, db)
	appB := engine.AssetID(tokenID, testAppB, "STDQ")
	base := providerBlock(t, db) + deviceGroupBlock("d0", testSerials[0], testSerials[1]) + deviceGroupBlock("d1", testSerials[2], testSerials[3])
	both := base + deviceAssignmentBlock("a0", appB, "vpp_device_group.d0.id", "required") +
		deviceAssignmentBlock("a1", appB, "vpp_device_group.d1.id", "available")
	var posts int
	appAssignmentTest(t, db, []acc.TestStep{
		{Config: base},
		{
			PreConfig: func() { posts = postCount(sim.Stats()) },
			Config:    both,
			ExpectError: expectDiag("Not Enough Licenses", `device_group_id = vpp_device_group.d[01].id`,
				`"Scarce Tool" \(`+regexp.QuoteMeta(appB)+`\) has 2 available licenses but its assignments need 4 now`, `2 short`),
		},
		{
			PreConfig: buyAfterRefusal(t, sim, loc.UID, testAppB, 2, &posts),
			Config:    both,
			ConfigStateChecks: append(expectAppDelivery("vpp_app_assignment.a0", 2, 0, "complete"),
				expectAppDelivery("vpp_app_assignment.a1", 2, 0, "complete")...),
			Check: func(*terraform.State) error { return expectDevicesHold(t, loc.UID, testAppB, 4, testSerials...) },
		},
	})
}

// deviceAppConfig is a whole configuration as users write it: the provider, a token whose token
// file tokenArg gives ("token = ..." or "token_wo = ..."), app A read by its Apple id, a device group
// of serials and, with intent set, app A assigned to it with that intent.
func deviceAppConfig(t *testing.T, db, tokenArg, intent string, serials ...string) string {
	t.Helper()
	config := providerBlock(t, db) + fmt.Sprintf(`
resource "vpp_token" "t" {
  %s
  apple_id     = "admin@corp.example.com"
  account_type = "business"
}

data "vpp_app" "notes" {
  token_id = vpp_token.t.id
  adam_id  = %q
}
`, tokenArg, testAppA) + deviceGroupBlock("kiosks", serials...)
	if intent != "" {
		config += deviceAssignmentBlock("notes", "${data.vpp_app.notes.id}", "vpp_device_group.kiosks.id", intent)
	}
	return config
}

// deviceWorkspaceConfig is deviceAppConfig for the built provider, with the token file inline and
// app A required when assigned.
func deviceWorkspaceConfig(t *testing.T, db, token string, assigned bool, serials ...string) string {
	t.Helper()
	intent := ""
	if assigned {
		intent = engine.IntentRequired
	}
	return `
terraform {
  required_providers {
    vpp = { source = "vppkit/vpp" }
  }
}
` + deviceAppConfig(t, db, fmt.Sprintf("token        = %q", token), intent, serials...)
}

// Under the real CLI with the built provider: a device added to the group gets the app; a plan
// that removes a device warns that its license will be reclaimed, and the apply gives it back to
// the app's available licenses; a plan that destroys the assignment warns how many licenses its
// devices give back, and the apply reclaims them all.
func TestAccAppAssignmentDevice_reclaim(t *testing.T) {
	cli := terraformCLI(t)
	testAccPreCheck(t)
	bin := buildProvider(t)
	db := testDatabase(t)
	sim, _ := simulator(t)
	loc := newTestLocation(t, "business")
	if err := sim.AddApp(loc.UID, applesim.AppSpec{AdamID: testAppA, Name: "Field Notes", Licenses: 10}); err != nil {
		t.Fatal(err)
	}
	w := newWorkspace(t, cli, bin)
	apply := func(assigned bool, serials ...string) {
		t.Helper()
		w.write("main.tf", deviceWorkspaceConfig(t, db, loc.Token, assigned, serials...))
		w.mustApply(3 * time.Minute)
		held := serials
		if !assigned {
			held = nil
		}
		if err := expectDevicesHold(t, loc.UID, testAppA, 10, held...); err != nil {
			t.Fatal(err)
		}
		w.mustPlanEmpty(2 * time.Minute)
	}
	apply(true, testSerials[:2]...)
	apply(true, testSerials[:3]...) // a device added gets the app

	// Removing a device warns at plan, on the device group.
	w.write("main.tf", deviceWorkspaceConfig(t, db, loc.Token, true, testSerials[0], testSerials[2]))
	expectWarning(t, planWarnings(t, w), "vpp_device_group.kiosks", "App Licenses Will Be Reclaimed",
		`Devices are removed from device group "Devices kiosks". Applying it takes 1 app license back from the removed devices`)
	apply(true, testSerials[0], testSerials[2])

	// Destroying the assignment warns at plan (the CLI gives the warnings of a resource removed from
	// the configuration no address).
	w.write("main.tf", deviceWorkspaceConfig(t, db, loc.Token, false, testSerials[0], testSerials[2]))
	appID := engine.AssetID(engine.TokenID(loc.UID), testAppA, "STDQ")
	expectWarning(t, planWarnings(t, w), "", "App Licenses Will Be Reclaimed",
		"Destroying the assignment of app "+appID+" to device group ", `takes back the licenses of app "Field Notes" (`+appID+
			`) that it alone gives. Applying it takes 2 app licenses back from device group `, `'s devices at Apple`)
	apply(false, testSerials[0], testSerials[2])
	if out, code := w.run(3*time.Minute, "destroy", "-auto-approve", "-no-color", "-input=false"); code != 0 {
		t.Fatalf("destroy failed (exit %d):\n%s", code, out)
	}
}

// expectWarning checks that warnings hold, for addr, one warning of summary whose detail says each
// of fragments.
func expectWarning(t *testing.T, warnings map[string][]cliDiagnostic, addr, summary string, fragments ...string) {
	t.Helper()
	var found []cliDiagnostic
	for _, w := range warnings[addr] {
		if w.Summary == summary {
			found = append(found, w)
		}
	}
	if len(found) != 1 {
		t.Fatalf("the plan warns on %q %+v, want one warning %q (all: %+v)", addr, found, summary, warnings)
	}
	for _, fragment := range fragments {
		if !strings.Contains(found[0].Detail, fragment) {
			t.Errorf("the plan's warning on %q does not say %q: %q", addr, fragment, found[0].Detail)
		}
	}
}

// devicesRecordsConfig is deviceAppConfig for the test framework: a token from token_wo, and app A
// available to the device group.
func devicesRecordsConfig(t *testing.T, db string, serials ...string) string {
	t.Helper()
	return tokenFileVariable + deviceAppConfig(t, db, "token_wo         = var.token_file\n  token_wo_version = 1",
		engine.IntentAvailable, serials...)
}

// Machine A applies a device assignment; machine B has the same configuration and state but no
// database: its plan is empty and its apply sends nothing.
func TestAccAppAssignmentDevice_secondRunnerWithoutDatabase(t *testing.T) {
	eachKind(t, func(t *testing.T, kind store.Kind) {
		sim := strictSimulator(t)
		loc := newTestLocation(t, "business")
		if err := sim.AddApp(loc.UID, applesim.AppSpec{AdamID: testAppA, Name: "Field Notes", Licenses: 10}); err != nil {
			t.Fatal(err)
		}
		dbA, dbB := freshDatabase(t, kind), freshDatabase(t, kind)
		serials := testSerials[:3]
		vars := testAccTokenFileVar(loc.Token)
		held := func(*terraform.State) error { return expectDevicesHold(t, loc.UID, testAppA, 10, serials...) }
		acc.Test(t, acc.TestCase{
			PreCheck:                 func() { testAccPreCheck(t) },
			ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
			Steps: []acc.TestStep{
				{Config: devicesRecordsConfig(t, dbA, serials...), ConfigVariables: vars, Check: held},
				{
					// Runner B: the same state, no database.
					PreConfig: func() { resetStats(t) },
					Config:    devicesRecordsConfig(t, dbB, serials...), ConfigVariables: vars,
					ConfigPlanChecks: acc.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
					ConfigStateChecks: []statecheck.StateCheck{
						statecheck.ExpectKnownValue("vpp_app_assignment.notes", tfjsonpath.New("licensed_count"), knownvalue.Int64Exact(3)),
					},
					Check: func(s *terraform.State) error {
						if n := postsSince(t); n != 0 {
							return fmt.Errorf("runner B sent %d POST requests to Apple, want 0", n)
						}
						return held(s)
					},
				},
			},
		})
	})
}

// A device assignment's identity is its app and its device group, under group_id (the identity's
// schema is the one user assignments have had since before device licensing): set at create, and
// enough to import it by identity.
func TestAccIdentity_appAssignmentDevice(t *testing.T) {
	db := testDatabase(t)
	_, tokenID := newAppLocation(t, db)
	appID := engine.AssetID(tokenID, testAppA, "STDQ")
	const addr = "vpp_app_assignment.test"
	identity := statecheck.ExpectIdentity(addr, map[string]knownvalue.Check{"app_id": knownvalue.StringExact(appID),
		"group_id": knownvalue.StringRegexp(regexp.MustCompile(`^[0-9a-f-]{36}$`))})
	config := providerBlock(t, db) + deviceGroupBlock("kiosks", testSerials[0]) +
		deviceAssignmentBlock("test", appID, "vpp_device_group.kiosks.id", "required")
	acc.Test(t, acc.TestCase{
		TerraformVersionChecks:   identityCLI,
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []acc.TestStep{
			{
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{identity, statecheck.CompareValuePairs(addr, tfjsonpath.New("device_group_id"),
					"vpp_device_group.kiosks", tfjsonpath.New("id"), compare.ValuesSame())},
			},
			{Config: config, ResourceName: addr, ImportState: true, ImportStateKind: acc.ImportBlockWithResourceIdentity},
		},
	})
}

// Devices added to a group beyond the licenses of an app assigned to it are refused at plan, on
// serial_numbers, and nothing reaches Apple; once licenses are bought, the apply delivers.
func TestAccDeviceGroup_newDevicesNeedLicenses(t *testing.T) {
	sim, _ := simulator(t)
	db := testDatabase(t)
	loc, tokenID := newAppLocation(t, db)
	appB := engine.AssetID(tokenID, testAppB, "STDQ")
	config := func(serials ...string) string {
		return providerBlock(t, db) + deviceGroupBlock("kiosks", serials...) +
			deviceAssignmentBlock("scarce", appB, "vpp_device_group.kiosks.id", "required")
	}
	var posts int
	appAssignmentTest(t, db, []acc.TestStep{
		{
			Config: config(testSerials[:2]...),
			Check:  func(*terraform.State) error { return expectDevicesHold(t, loc.UID, testAppB, 2, testSerials[:2]...) },
		},
		{
			PreConfig: func() { posts = postCount(sim.Stats()) },
			Config:    config(testSerials[:3]...),
			ExpectError: expectDiag("Not Enough Licenses", `serial_numbers`, `The devices planned for device group "Devices kiosks" need more`,
				`licenses than there are.`, `"Scarce Tool" \(`+regexp.QuoteMeta(appB)+`\) has 0 available licenses`),
		},
		{
			PreConfig:         buyAfterRefusal(t, sim, loc.UID, testAppB, 1, &posts),
			Config:            config(testSerials[:3]...),
			ConfigStateChecks: []statecheck.StateCheck{statecheck.ExpectKnownValue("vpp_device_group.kiosks", tfjsonpath.New("serial_count"), knownvalue.Int64Exact(3))},
			Check:             func(*terraform.State) error { return expectDevicesHold(t, loc.UID, testAppB, 3, testSerials[:3]...) },
		},
	})
}
