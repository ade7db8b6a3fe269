package provider

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/vppkit/terraform-provider-vpp/internal/sandbox"
)

// quickstartConfig is examples/quickstart/main.tf, as `make demo` applies it, adapted to the test
// harness: the provider gets a database in a temporary directory (the sandbox's state sits beside
// it) instead of .vpp/ under the working directory, the token file's contents are inlined (the
// CLI runs in a directory of its own), and the terraform block goes, since the harness serves the
// provider in-process under its own address. Each edit must apply, so that a change to the
// quickstart that this test would no longer follow fails here rather than going unchecked.
func quickstartConfig(t *testing.T, database string) string {
	t.Helper()
	dir := filepath.Join("..", "..", "examples", "quickstart")
	raw, err := os.ReadFile(filepath.Join(dir, "main.tf"))
	if err != nil {
		t.Fatal(err)
	}
	token, err := os.ReadFile(filepath.Join(dir, "springfield.vpptoken"))
	if err != nil {
		t.Fatal(err)
	}
	config := string(raw)
	for _, edit := range []struct {
		what string
		re   *regexp.Regexp
		with string
	}{
		{"the terraform block", regexp.MustCompile(`(?ms)^terraform \{\n.*?^\}\n`), ""},
		{"the provider block with sandbox = true", regexp.MustCompile(`(?m)^provider "vpp" \{\n\s*sandbox\s*=\s*true\n\}\n`),
			fmt.Sprintf("provider \"vpp\" {\n  sandbox  = true\n  database = %q\n}\n", database)},
		{"the token file", regexp.MustCompile(`file\("\$\{path\.module\}/springfield\.vpptoken"\)`),
			fmt.Sprintf("%q", strings.TrimSpace(string(token)))},
	} {
		if !edit.re.MatchString(config) {
			t.Fatalf("examples/quickstart/main.tf has no %s that this test can adapt (%s): update quickstartConfig", edit.what, edit.re)
		}
		config = edit.re.ReplaceAllLiteralString(config, edit.with)
	}
	return config
}

// catalogLicenses returns the licenses the sandbox's sample catalog holds of title.
func catalogLicenses(t *testing.T, title string) int64 {
	t.Helper()
	for _, b := range sandbox.Catalog() {
		if b.Title == title {
			return int64(b.Licenses)
		}
	}
	t.Fatalf("the sandbox catalog has no %q", title)
	return 0
}

// The quickstart in sandbox mode, through the real CLI, as `make demo` runs it: the token uploads,
// the staff's Managed Apple Accounts get their available book at once and the invited book club
// its required one, the outputs show the licenses each book had before and after and an
// invitation link per club member, and a second plan has nothing to do (outputs included).
func TestAccSandbox_quickstart(t *testing.T) {
	// As make demo: invitations stay pending, so the next plan sees the same Apple.
	t.Setenv("VPP_SANDBOX_ACCEPT_AFTER", "never")
	config := quickstartConfig(t, testDatabase(t))
	pride, style := catalogLicenses(t, "Pride and Prejudice"), catalogLicenses(t, "The Elements of Style")
	counts := func(pride, style int64) knownvalue.Check {
		return knownvalue.MapExact(map[string]knownvalue.Check{
			"Pride and Prejudice": knownvalue.Int64Exact(pride), "The Elements of Style": knownvalue.Int64Exact(style),
		})
	}
	delivered := func(licensed int64) knownvalue.Check {
		return knownvalue.ObjectExact(map[string]knownvalue.Check{
			"licensed": knownvalue.Int64Exact(licensed), "pending": knownvalue.Int64Exact(0), "status": knownvalue.StringExact("complete"),
		})
	}
	invitation := knownvalue.StringRegexp(regexp.MustCompile(`^https://\S+inviteCode=[0-9a-f]{32}`))
	promises := []statecheck.StateCheck{
		statecheck.ExpectKnownValue("vpp_token.library", tfjsonpath.New("state"), knownvalue.StringExact("valid")),
		statecheck.ExpectKnownValue("vpp_token.library", tfjsonpath.New("location_name"), knownvalue.StringExact("Springfield Public Library")),
		// Two staff members use The Elements of Style, three club members Pride and Prejudice.
		statecheck.ExpectKnownOutputValue("licenses_available_before", counts(pride, style)),
		statecheck.ExpectKnownOutputValue("licenses_available_after", counts(pride-3, style-2)),
		statecheck.ExpectKnownOutputValue("deliveries", knownvalue.ObjectExact(map[string]knownvalue.Check{
			"staff_style": delivered(2), "club_pride": delivered(3), "staff_pages": delivered(2), "cart_keynote": delivered(3),
		})),
		statecheck.ExpectKnownOutputValue("book_club_invitations", knownvalue.MapExact(map[string]knownvalue.Check{
			"carol@example.com": invitation, "dave@example.com": invitation, "erin@example.com": invitation,
		})),
		// Managed Apple Accounts need no invitation.
		statecheck.ExpectKnownValue("vpp_user_group.staff", tfjsonpath.New("invitations"), knownvalue.MapExact(map[string]knownvalue.Check{})),
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: config, ConfigStateChecks: promises},
			{
				// The second run: nothing to change, no output to update, and the same promises.
				Config:            config,
				ConfigPlanChecks:  resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				ConfigStateChecks: promises,
			},
		},
	})
}

// A real token file in sandbox mode is refused at plan time with what to use instead, rather than
// with the simulated Apple's 9622 "invalid token" and its advice about renewing.
func TestAccSandbox_realTokenRefused(t *testing.T) {
	notSandbox := newTestLocation(t, "business").Token // a simulator token: no "sandbox-" prefix
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: fmt.Sprintf(`
provider "vpp" {
  sandbox  = true
  database = %q
}
resource "vpp_token" "t" {
  token        = %q
  apple_id     = "admin@example.com"
  account_type = "business"
}
`, testDatabase(t), notSandbox),
			ExpectError: expectDiag("Not a Sandbox Token File", `whose simulated Apple accepts only sandbox token files: ones whose inner token starts with "sandbox-"`,
				`Nothing was sent anywhere\. Use examples/quickstart/springfield\.vpptoken, or make one:`),
		}},
	})
}

// The list and monitoring data sources against the sandbox, read after the quickstart applied:
// the token list, who holds the book club's book (required: licensed, invited or not), and the
// audit log of what was done at the sandbox's Apple, with each event's outcome.
func TestAccSandbox_monitoringDataSources(t *testing.T) {
	t.Setenv("VPP_SANDBOX_ACCEPT_AFTER", "never")
	config := quickstartConfig(t, testDatabase(t)) + `
data "vpp_tokens" "all" {
  depends_on = [vpp_token.library]
}

data "vpp_ebook_assignment_members" "club" {
  assignment_id = vpp_ebook_assignment.club_pride.id
}

data "vpp_audit_log" "library" {
  token_id   = vpp_token.library.id
  operations = ["claim", "associate"]
  depends_on = [vpp_ebook_assignment.club_pride, vpp_ebook_assignment.staff_style, vpp_app_assignment.staff_pages, vpp_app_assignment.cart_keynote]
}
`
	member := func(email string) knownvalue.Check {
		return knownvalue.ObjectPartial(map[string]knownvalue.Check{
			"email": knownvalue.StringExact(email), "state": knownvalue.StringExact("licensed"), "error_number": knownvalue.Null()})
	}
	complete := knownvalue.ObjectPartial(map[string]knownvalue.Check{
		"operation": knownvalue.StringExact("associate"), "outcome": knownvalue.StringExact("complete")})
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: config,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("data.vpp_tokens.all", tfjsonpath.New("tokens"), knownvalue.ListExact([]knownvalue.Check{
					knownvalue.ObjectPartial(map[string]knownvalue.Check{
						"location_name": knownvalue.StringExact("Springfield Public Library"), "state": knownvalue.StringExact("valid"),
						"last_sync_status": knownvalue.StringExact("completed"), "days_until_expiry": knownvalue.NotNull()}),
				})),
				statecheck.ExpectKnownValue("data.vpp_ebook_assignment_members.club", tfjsonpath.New("members"), knownvalue.ListExact([]knownvalue.Check{
					member("carol@example.com"), member("dave@example.com"), member("erin@example.com")})),
				statecheck.ExpectKnownValue("data.vpp_ebook_assignment_members.club", tfjsonpath.New("licensed_count"), knownvalue.Int64Exact(3)),
				statecheck.ExpectKnownValue("data.vpp_audit_log.library", tfjsonpath.New("entries"), knownvalue.ListExact([]knownvalue.Check{
					knownvalue.ObjectPartial(map[string]knownvalue.Check{"operation": knownvalue.StringExact("claim"), "outcome": knownvalue.Null()}),
					complete, complete, complete, complete, // the two books, Pages to the staff, Keynote to the iPads
				})),
			},
		}},
	})
}
