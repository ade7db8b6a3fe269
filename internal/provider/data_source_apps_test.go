package provider

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/vppkit/terraform-provider-vpp/internal/sandbox"
)

// The apps and data sources here run against the sandbox (its catalog: sandbox.Apps and
// sandbox.Catalog), through the real CLI.

// sandboxConfig is the provider in sandbox mode on database, with one vpp_token per entry of
// tokens (resource name: inner token of its sandbox token file), plus extra.
func sandboxConfig(database string, tokens map[string]string, extra string) string {
	config := fmt.Sprintf("provider \"vpp\" {\n  sandbox  = true\n  database = %q\n}\n", database)
	for name, inner := range tokens {
		accountType := "business"
		if strings.HasPrefix(inner, sandbox.TokenPrefix+"edu-") {
			accountType = "education"
		}
		config += fmt.Sprintf(`
resource "vpp_token" %q {
  token        = base64encode(jsonencode({ token = %q, expDate = "2099-12-31T23:59:59+0000", orgName = %q }))
  apple_id     = "apps-admin@springfield.example"
  account_type = %q
}
`, name, inner, "Library "+name, accountType)
	}
	return config + extra
}

// sandboxApp is what the sandbox catalog (sandbox.Apps) says of the app adamID.
func sandboxApp(t *testing.T, adamID string) (name, developer, bundleID, version string, licenses int64, deviceAssignable bool) {
	t.Helper()
	for _, a := range sandbox.Apps() {
		if a.AdamID == adamID {
			return a.Name, a.Developer, a.BundleID, a.Version, int64(a.Licenses), !a.NotDeviceAssignable
		}
	}
	t.Fatalf("the sandbox catalog has no app %s", adamID)
	return
}

// appPlatformsAndPrice are the platforms and price label of each app of the sandbox catalog: the
// platforms Apple derives from its device families, the price as the store shows it.
var appPlatformsAndPrice = map[string]struct {
	platforms []string
	price     string
}{
	"1600000001": {[]string{"iOS"}, "Free"},
	"1600000002": {[]string{"iOS"}, "Free"},
	"1600000003": {[]string{"iOS"}, "Free"},
	"1600000004": {[]string{"iOS", "macOS"}, "Free"},
	"1600000005": {[]string{"macOS"}, "$299.99"},
	"1600000006": {[]string{"macOS"}, "$199.99"},
	"1600000007": {[]string{"iOS"}, "Free"},
	"1600000008": {[]string{"iOS"}, "$1.99"},
}

// appCheck is what vpp_apps and vpp_app report for the sandbox app adamID, at a fresh location
// (nothing assigned or retired).
func appCheck(t *testing.T, adamID string) map[string]knownvalue.Check {
	t.Helper()
	name, developer, bundleID, version, licenses, deviceAssignable := sandboxApp(t, adamID)
	var platforms []knownvalue.Check
	for _, p := range appPlatformsAndPrice[adamID].platforms {
		platforms = append(platforms, knownvalue.StringExact(p))
	}
	return map[string]knownvalue.Check{
		"id":                 knownvalue.StringRegexp(regexp.MustCompile(`^[0-9a-f-]{36}:` + adamID + `:STDQ$`)),
		"token_id":           knownvalue.StringRegexp(uuidPattern),
		"adam_id":            knownvalue.StringExact(adamID),
		"pricing_param":      knownvalue.StringExact("STDQ"),
		"name":               knownvalue.StringExact(name),
		"developer":          knownvalue.StringExact(developer),
		"bundle_id":          knownvalue.StringExact(bundleID),
		"platforms":          knownvalue.ListExact(platforms),
		"version":            knownvalue.StringExact(version),
		"price":              knownvalue.StringExact(appPlatformsAndPrice[adamID].price),
		"icon_url":           knownvalue.StringRegexp(regexp.MustCompile(`^https?://\S+/` + adamID + `\.png$`)),
		"revocable":          knownvalue.Bool(true),
		"device_assignable":  knownvalue.Bool(deviceAssignable),
		"total_licenses":     knownvalue.Int64Exact(licenses),
		"assigned_licenses":  knownvalue.Int64Exact(0),
		"available_licenses": knownvalue.Int64Exact(licenses),
		"retired_licenses":   knownvalue.Int64Exact(0),
	}
}

// appsNamed expects a list of apps with these names, in this order.
func appsNamed(names ...string) knownvalue.Check {
	checks := make([]knownvalue.Check, 0, len(names))
	for _, n := range names {
		checks = append(checks, knownvalue.ObjectPartial(map[string]knownvalue.Check{"name": knownvalue.StringExact(n)}))
	}
	return knownvalue.ListExact(checks)
}

// fmtDataSource is a data source of type kind named name with the given arguments.
func fmtDataSource(kind, name, args string) string {
	return fmt.Sprintf("\ndata %q %q {\n%s\n}\n", kind, name, args)
}

// library is the one sandbox token of most tests here.
var library = map[string]string{"library": "sandbox-apps-library"}

func TestAccAppsDataSource_filters(t *testing.T) {
	db := testDatabase(t)
	after := "\n  depends_on = [vpp_token.library]"
	config := sandboxConfig(db, library,
		fmtDataSource("vpp_apps", "all", `  token_id = vpp_token.library.id`)+
			fmtDataSource("vpp_apps", "pro", `  name = "PRO"`+after)+
			fmtDataSource("vpp_apps", "pages", `  bundle_id = "com.apple.pages"`+after)+
			fmtDataSource("vpp_apps", "mac", `  platform = "macOS"`+after)+
			fmtDataSource("vpp_apps", "devices", `  device_assignable = true`+after)+
			fmtDataSource("vpp_apps", "users_only", `  device_assignable = false`+after)+
			fmtDataSource("vpp_apps", "plenty", `  min_available = 30`+after)+
			fmtDataSource("vpp_apps", "classroom", `  token_id          = vpp_token.library.id
  platform          = "iOS"
  device_assignable = true
  min_available     = 40`)+
			fmtDataSource("vpp_apps", "none", `  name = "no such app"`+after)+
			fmtDataSource("vpp_books", "all", `  token_id = vpp_token.library.id`))
	apps := tfjsonpath.New("apps")
	var all []knownvalue.Check
	for _, a := range sandbox.Apps() {
		all = append(all, knownvalue.ObjectExact(appCheck(t, a.AdamID)))
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.vpp_apps.all", apps, knownvalue.ListExact(all)),
					statecheck.CompareValuePairs("data.vpp_apps.all", apps.AtSliceIndex(0).AtMapKey("token_id"),
						"vpp_token.library", tfjsonpath.New("id"), compare.ValuesSame()),
					statecheck.ExpectKnownValue("data.vpp_apps.all", tfjsonpath.New("id"), knownvalue.StringRegexp(regexp.MustCompile(`^apps-[0-9a-f]{16}$`))),
					statecheck.ExpectKnownValue("data.vpp_apps.pro", apps, appsNamed("Final Cut Pro", "Logic Pro")),
					statecheck.ExpectKnownValue("data.vpp_apps.pages", apps, appsNamed("Pages")),
					statecheck.ExpectKnownValue("data.vpp_apps.mac", apps, appsNamed("Swift Playgrounds", "Final Cut Pro", "Logic Pro")),
					statecheck.ExpectKnownValue("data.vpp_apps.devices", apps,
						appsNamed("Pages", "Keynote", "GarageBand", "Swift Playgrounds", "Final Cut Pro", "Logic Pro")),
					statecheck.ExpectKnownValue("data.vpp_apps.users_only", apps, appsNamed("Springfield Library Card", "Reading Log")),
					statecheck.ExpectKnownValue("data.vpp_apps.plenty", apps, appsNamed("Pages", "Keynote", "GarageBand", "Swift Playgrounds")),
					statecheck.ExpectKnownValue("data.vpp_apps.classroom", apps, appsNamed("Pages", "Keynote", "GarageBand")),
					statecheck.ExpectKnownValue("data.vpp_apps.none", apps, knownvalue.ListSizeExact(0)),
					// different filters, different ids
					statecheck.CompareValuePairs("data.vpp_apps.devices", tfjsonpath.New("id"), "data.vpp_apps.users_only", tfjsonpath.New("id"), compare.ValuesDiffer()),
					// the location's books are listed as before, and only they
					statecheck.ExpectKnownValue("data.vpp_books.all", tfjsonpath.New("books"), knownvalue.ListSizeExact(len(sandbox.Catalog()))),
				},
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
			{
				Config: sandboxConfig(db, library, fmtDataSource("vpp_apps", "typo", `  platform = "ios"`)),
				ExpectError: expectDiag("Invalid Attribute Value Match", `platform value must be one of:`,
					`"iOS" "macOS" "tvOS" "watchOS" "visionOS"`, `got: "ios"`),
			},
			{Config: sandboxConfig(db, library, "")}, // a valid configuration to destroy
		},
	})
}

func TestAccAppDataSource_lookups(t *testing.T) {
	db := testDatabase(t)
	after := "\n  depends_on = [vpp_token.library]"
	config := sandboxConfig(db, library,
		fmtDataSource("vpp_app", "by_id", `  id = "${vpp_token.library.id}:1600000005:STDQ"`)+
			fmtDataSource("vpp_app", "by_bundle_id", `  bundle_id = "com.apple.logic10"`+after)+
			fmtDataSource("vpp_app", "by_name", `  name = "Reading Log"`+after)+
			fmtDataSource("vpp_app", "by_adam_id", `  adam_id  = "1600000003"
  token_id = vpp_token.library.id`)+
			fmtDataSource("vpp_apps", "logic", `  bundle_id = "com.apple.logic10"`+after))
	var checks []statecheck.StateCheck
	for addr, adamID := range map[string]string{"data.vpp_app.by_id": "1600000005", "data.vpp_app.by_bundle_id": "1600000006",
		"data.vpp_app.by_name": "1600000008", "data.vpp_app.by_adam_id": "1600000003"} {
		for name, check := range appCheck(t, adamID) {
			checks = append(checks, statecheck.ExpectKnownValue(addr, tfjsonpath.New(name), check))
		}
	}
	checks = append(checks,
		statecheck.CompareValuePairs("data.vpp_app.by_adam_id", tfjsonpath.New("token_id"), "vpp_token.library", tfjsonpath.New("id"), compare.ValuesSame()),
		// vpp_app and vpp_apps agree on an app's id
		statecheck.CompareValuePairs("data.vpp_app.by_bundle_id", tfjsonpath.New("id"),
			"data.vpp_apps.logic", tfjsonpath.New("apps").AtSliceIndex(0).AtMapKey("id"), compare.ValuesSame()),
	)
	step := func(extra string, want *regexp.Regexp) resource.TestStep {
		return resource.TestStep{Config: sandboxConfig(db, library, extra), ExpectError: want}
	}
	app := func(args string) string { return fmtDataSource("vpp_app", "x", args) }
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:            config,
				ConfigStateChecks: checks,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
			step(app(`  bundle_id = "com.example.none"`), expectDiag("App Not Found",
				`No purchased app matches bundle_id "com.example.none"; list what the engine holds with the vpp_apps data source`)),
			// names are exact and case-sensitive; vpp_apps matches substrings
			step(app(`  name = "pages"`), expectDiag("App Not Found", `No purchased app matches name "pages"`)),
			step(app(`  adam_id = "1600000001"`+"\n"+`  token_id = "00000000-0000-0000-0000-000000000000"`), expectDiag("Unknown VPP Token")),
			// a book is not an app, and an app is not a book
			step(app(`  id = "${vpp_token.library.id}:1590000001:STDQ"`), expectDiag("Not an App",
				`The id [0-9a-f-]{36}:1590000001:STDQ names a book \("Pride and Prejudice"\), not an app\. Take the id of an app from the vpp_apps or vpp_app data source`)),
			step(fmtDataSource("vpp_ebook_assignment_members", "x", `  book_id = "${vpp_token.library.id}:1600000001:STDQ"`), expectDiag("Not a Book",
				`The id [0-9a-f-]{36}:1600000001:STDQ names an app \("Pages"\), not a book\. Take book_id from the vpp_books or vpp_book data source`)),
			step(fmtBookDataSource("x", `  adam_id = "1600000001"`+after), expectDiag("Book Not Found", `No purchased book matches adam_id "1600000001"`)),
			step(app(`  id = "${vpp_token.library.id}:1699999999:STDQ"`), expectDiag("Unknown App",
				`App "[0-9a-f-]{36}:1699999999:STDQ" not found in the engine's database\. Take the id of an app from the vpp_apps`)),
			step(app(`  id = "nope"`), expectDiag("Invalid App ID", `App id "nope" is not of the form <token_id>:<adam_id>:<pricing_param>\.`)),
			step(app(``), expectDiag("Invalid Attribute Combination",
				`No attribute specified when one \(and only one\) of \[id,adam_id,bundle_id,name\] is required`)),
			step(app(`  name = "Pages"`+"\n"+`  bundle_id = "com.apple.Pages"`), expectDiag("Invalid Attribute Combination",
				`2 attributes specified when one \(and only one\) of \[id,adam_id,bundle_id,name\] is required`)),
			step(app(`  id = "${vpp_token.library.id}:1600000001:STDQ"`+"\n"+`  token_id = vpp_token.library.id`),
				expectDiag("Invalid Attribute Combination", `Attribute "id" cannot be specified when "token_id" is specified`)),
			{Config: sandboxConfig(db, library, "")}, // a valid configuration to destroy
		},
	})
}

// Two locations bought the same apps: a name or a bundle id alone is ambiguous and the error names
// both apps; token_id chooses.
func TestAccAppDataSource_ambiguous(t *testing.T) {
	db := testDatabase(t)
	tokens := map[string]string{"first": "sandbox-apps-first", "second": "sandbox-edu-apps-second"}
	both := "\n  depends_on = [vpp_token.first, vpp_token.second]"
	app := func(args string) string { return fmtDataSource("vpp_app", "pages", args) }
	twoPages := `\([0-9a-f-]{36}:1600000001:STDQ, [0-9a-f-]{36}:1600000001:STDQ\); narrow it with token_id, or look one up by its id\.`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:      sandboxConfig(db, tokens, app(`  name = "Pages"`+both)),
				ExpectError: expectDiag("Several Apps Match", `2 apps match name "Pages" `+twoPages),
			},
			{
				Config:      sandboxConfig(db, tokens, app(`  bundle_id = "com.apple.Pages"`+both)),
				ExpectError: expectDiag("Several Apps Match", `2 apps match bundle_id "com.apple.Pages" `+twoPages),
			},
			{
				Config: sandboxConfig(db, tokens, app(`  bundle_id = "com.apple.Pages"
  token_id  = vpp_token.second.id`)+fmtDataSource("vpp_apps", "pages", `  bundle_id = "com.apple.Pages"`+both)),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.vpp_app.pages", tfjsonpath.New("name"), knownvalue.StringExact("Pages")),
					statecheck.CompareValuePairs("data.vpp_app.pages", tfjsonpath.New("token_id"), "vpp_token.second", tfjsonpath.New("id"), compare.ValuesSame()),
					// listed, it appears once per token
					statecheck.ExpectKnownValue("data.vpp_apps.pages", tfjsonpath.New("apps"), appsNamed("Pages", "Pages")),
				},
			},
		},
	})
}

// Both app data sources say what a license is and is not, and every attribute of an app is
// described, with its flags as booleans.
func TestAppDataSources_describeLicenses(t *testing.T) {
	wantAttrs := []string{"id", "token_id", "adam_id", "pricing_param", "name", "developer", "bundle_id", "platforms", "version",
		"price", "icon_url", "revocable", "device_assignable", "total_licenses", "assigned_licenses", "available_licenses", "retired_licenses"}
	for _, ds := range []datasource.DataSource{NewAppsDataSource(), NewAppDataSource()} {
		var resp datasource.SchemaResponse
		ds.Schema(context.Background(), datasource.SchemaRequest{}, &resp)
		attrs := resp.Schema.Attributes
		if nested, ok := attrs["apps"].(schema.ListNestedAttribute); ok {
			attrs = nested.NestedObject.Attributes
		}
		kind := fmt.Sprintf("%T", ds)
		for _, want := range []string{"A license makes the app its holder's to install: a user's (on their Apple Account) or a device's",
			"It installs nothing: putting the app on a device is the job of the device management system"} {
			if !strings.Contains(resp.Schema.MarkdownDescription, want) {
				t.Errorf("%s: description %q lacks %q", kind, resp.Schema.MarkdownDescription, want)
			}
		}
		if len(attrs) != len(wantAttrs) {
			t.Errorf("%s: an app has %d attributes, want %d", kind, len(attrs), len(wantAttrs))
		}
		for _, name := range wantAttrs {
			if a, ok := attrs[name]; !ok || a.GetMarkdownDescription() == "" {
				t.Errorf("%s: app attribute %s is missing or undescribed", kind, name)
			}
		}
		for name, want := range map[string]string{"revocable": "can be taken back",
			"device_assignable": "licensed to a device serial number: device-based licensing, for devices whose users have no Apple Account"} {
			a, ok := attrs[name].(schema.BoolAttribute)
			if !ok || !strings.Contains(a.MarkdownDescription, want) {
				t.Errorf("%s: %s is %T %q, want a boolean saying %q", kind, name, attrs[name], attrs[name].GetMarkdownDescription(), want)
			}
		}
	}
}

// A malformed app id is refused on id, as an app id, whether the schema's validator sees it (at
// validation) or only the read does (an id unknown until apply).
func TestAppID_malformed(t *testing.T) {
	var validated validator.StringResponse
	appIDValidator.ValidateString(context.Background(), validator.StringRequest{Path: path.Root("id"), ConfigValue: types.StringValue("nope")}, &validated)
	var read diag.Diagnostics
	m := appModel{ID: types.StringValue("nope"), AdamID: types.StringNull(), BundleID: types.StringNull(), Name: types.StringNull(), TokenID: types.StringNull()}
	if _, _, ok := (&appDataSource{}).finder(context.Background(), m, &read); ok {
		t.Error("the read accepted the app id \"nope\"")
	}
	want := `App id "nope" is not of the form <token_id>:<adam_id>:<pricing_param>. Take the id of an app from the vpp_apps or vpp_app data source`
	for when, diags := range map[string]diag.Diagnostics{"validation": validated.Diagnostics, "read": read} {
		if len(diags) != 1 || diags[0].Summary() != "Invalid App ID" || !strings.Contains(diags[0].Detail(), want) {
			t.Errorf("%s: %v, want one \"Invalid App ID\" saying %q", when, diags, want)
			continue
		}
		if at, ok := diags[0].(diag.DiagnosticWithPath); !ok || !at.Path().Equal(path.Root("id")) {
			t.Errorf("%s: %v is not on id", when, diags[0])
		}
	}
}
