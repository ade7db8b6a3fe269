package provider

import (
	"fmt"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

// testAccAuditLogDelivery is a managed group of two given book A (required) by vpp_token.test,
// and the audit log read after the delivery: all of it, the token's, the token's associations,
// the token's from its users/create on (since that entry's at) and before it (until).
const testAccAuditLogDelivery = `
resource "vpp_user_group" "test" {
  name                   = "Readers"
  members                = ["ann@corp.example.com", "bob@corp.example.com"]
  managed_apple_accounts = true
}

resource "vpp_ebook_assignment" "test" {
  book_id  = "${vpp_token.test.id}:1000000001:STDQ"
  group_id = vpp_user_group.test.id
  intent   = "required"
}

data "vpp_audit_log" "all" {
  depends_on = [vpp_ebook_assignment.test]
}

data "vpp_audit_log" "mine" {
  token_id   = vpp_token.test.id
  depends_on = [vpp_ebook_assignment.test]
}

data "vpp_audit_log" "associations" {
  token_id   = vpp_token.test.id
  operations = ["associate"]
  depends_on = [vpp_ebook_assignment.test]
}

data "vpp_audit_log" "from_users" {
  token_id = vpp_token.test.id
  since    = data.vpp_audit_log.mine.entries[1].at
}

data "vpp_audit_log" "before_users" {
  token_id = vpp_token.test.id
  until    = data.vpp_audit_log.mine.entries[1].at
}

data "vpp_audit_log" "long_ago" {
  until      = "2001-01-01T00:00:00Z"
  depends_on = [vpp_ebook_assignment.test]
}
`

// millisecondTime is how the log writes at: RFC 3339, UTC, to the millisecond.
var millisecondTime = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$`)

// auditEntry is the check of one entry: a claim (no event, no outcome, a detail naming the
// location), or a request Apple answered with an event (no detail), of count and outcome.
func auditEntry(operation string, count int64, outcome string) knownvalue.Check {
	var event, detail, out knownvalue.Check = knownvalue.StringRegexp(regexp.MustCompile(`^\S+$`)), knownvalue.Null(), knownvalue.StringExact(outcome)
	if outcome == "" {
		event, detail, out = knownvalue.Null(), knownvalue.StringRegexp(regexp.MustCompile(`^mdmInfo\.id \S+ written to location ".+"$`)), knownvalue.Null()
	}
	return knownvalue.ObjectExact(map[string]knownvalue.Check{
		"at":        knownvalue.StringRegexp(millisecondTime),
		"token_id":  knownvalue.StringRegexp(uuidPattern),
		"operation": knownvalue.StringExact(operation),
		"event_id":  event,
		"count":     knownvalue.Int64Exact(count),
		"detail":    detail,
		"outcome":   out,
	})
}

func TestAccAuditLogDataSource_delivery(t *testing.T) {
	simulator(t)
	db := testDatabase(t)
	other := seedToken(t, db, newTestLocation(t, "business")) // another token's claim comes first
	loc := newTestLocation(t, "business")
	entries := tfjsonpath.New("entries")
	claim := auditEntry("claim", 1, "")
	created := auditEntry("create_users", 2, "complete")
	associated := auditEntry("associate", 2, "complete")
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkTokensDestroyed(t, db),
		Steps: []resource.TestStep{{
			Config: testAccTokenConfig(t, db, loc.Token, loc.AccountType, "") + testAccAuditLogDelivery,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("data.vpp_audit_log.mine", entries, knownvalue.ListExact([]knownvalue.Check{claim, created, associated})),
				statecheck.CompareValuePairs("data.vpp_audit_log.mine", entries.AtSliceIndex(2).AtMapKey("token_id"),
					testTokenAddr, tfjsonpath.New("id"), compare.ValuesSame()),
				statecheck.ExpectKnownValue("data.vpp_audit_log.mine", tfjsonpath.New("id"), knownvalue.StringRegexp(regexp.MustCompile(`^audit-[0-9a-f]{16}$`))),
				statecheck.ExpectKnownValue("data.vpp_audit_log.all", entries, knownvalue.ListExact([]knownvalue.Check{claim, claim, created, associated})),
				statecheck.ExpectKnownValue("data.vpp_audit_log.all", entries.AtSliceIndex(0).AtMapKey("token_id"), knownvalue.StringExact(other)),
				statecheck.ExpectKnownValue("data.vpp_audit_log.associations", entries, knownvalue.ListExact([]knownvalue.Check{associated})),
				statecheck.ExpectKnownValue("data.vpp_audit_log.from_users", entries, knownvalue.ListExact([]knownvalue.Check{created, associated})),
				statecheck.ExpectKnownValue("data.vpp_audit_log.before_users", entries, knownvalue.ListExact([]knownvalue.Check{claim})),
				statecheck.ExpectKnownValue("data.vpp_audit_log.long_ago", entries, knownvalue.ListSizeExact(0)),
			},
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
			},
		}},
	})
}

// Each bad filter is refused with a diagnostic on its attribute (Terraform then quotes the
// attribute's line, which is why each stands on a line of its own): an unknown token (from the
// engine), a window that ends before it starts, a time that is not RFC 3339, an unknown operation.
func TestAccAuditLogDataSource_badFilters(t *testing.T) {
	db := testDatabase(t)
	step := func(data string, expect *regexp.Regexp) resource.TestStep {
		return resource.TestStep{Config: providerBlock(t, db) + data, ExpectError: expect}
	}
	const unknown = "00000000-0000-0000-0000-000000000000"
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			step(fmt.Sprintf(`
data "vpp_audit_log" "typo" {
  token_id = %q
}`, unknown),
				expectDiag("Unknown VPP Token", `token_id = "`+unknown+`"`, `No vpp_token with id "`+unknown+`"`)),
			step(`
data "vpp_audit_log" "backwards" {
  since = "2026-02-01T00:00:00Z"
  until = "2026-01-01T00:00:00Z"
}`, expectDiag("Invalid Audit Log Window", `until = "2026-01-01T00:00:00Z"`,
				`until \(2026-01-01T00:00:00Z\) is before since \(2026-02-01T00:00:00Z\)`, `Swap the two values`)),
			step(`
data "vpp_audit_log" "sloppy" {
  since = "yesterday"
}`,
				expectDiag("Invalid RFC3339 String Value", `since = "yesterday"`)),
			step(`
data "vpp_audit_log" "unknown_op" {
  operations = ["delete_everything"]
}`,
				expectDiag("Invalid Attribute Value Match", `operations = \["delete_everything"\]`, `must be one of`, `"associate"`)),
		},
	})
}
