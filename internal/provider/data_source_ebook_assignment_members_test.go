package provider

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	acc "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/vppkit/terraform-provider-vpp/internal/engine"
)

// testAccMembersGroups is three groups with an assignment each:
//   - staff (Managed Apple Accounts) has book A required: ann is licensed, and Apple refuses eve,
//     whose account is outside the organisation's domain (9635);
//   - readers (invited) has book A available: bob, cat and dan wait for their invitations;
//   - crowd (invited) has book B (2 licenses) required with oversubscription: fay and gus are
//     licensed, hal is unlicensed.
func testAccMembersGroups(t *testing.T, db, tokenID string) string {
	t.Helper()
	return providerBlock(t, db) + fmt.Sprintf(`
locals {
  book_a = %[1]q
  book_b = %[2]q
}

resource "vpp_user_group" "staff" {
  name                   = "Staff"
  members                = ["eve@elsewhere.example.com", "ann@corp.example.com"]
  managed_apple_accounts = true
}

resource "vpp_user_group" "readers" {
  name    = "Readers"
  members = ["dan@example.com", "bob@example.com", "cat@example.com"]
}

resource "vpp_user_group" "crowd" {
  name    = "Crowd"
  members = ["hal@example.com", "gus@example.com", "fay@example.com"]
}

resource "vpp_ebook_assignment" "staff" {
  book_id  = local.book_a
  group_id = vpp_user_group.staff.id
  intent   = "required"
}

resource "vpp_ebook_assignment" "readers" {
  book_id  = local.book_a
  group_id = vpp_user_group.readers.id
  intent   = "available"
}

resource "vpp_ebook_assignment" "crowd" {
  book_id                = local.book_b
  group_id               = vpp_user_group.crowd.id
  intent                 = "required"
  allow_oversubscription = true
}
`, engine.BookID(tokenID, testBookA, "STDQ"), engine.BookID(tokenID, testBookB, "STDQ"))
}

// testAccMembersDataSources reads the members of the staff assignment, of book A (two groups),
// of book A still to accept (the output), and the unlicensed of the crowd.
const testAccMembersDataSources = `
data "vpp_ebook_assignment_members" "staff" {
  assignment_id = vpp_ebook_assignment.staff.id
}

data "vpp_ebook_assignment_members" "book_a" {
  book_id    = local.book_a
  depends_on = [vpp_ebook_assignment.staff, vpp_ebook_assignment.readers]
}

data "vpp_ebook_assignment_members" "to_accept" {
  book_id    = local.book_a
  states     = ["pending"]
  depends_on = [vpp_ebook_assignment.staff, vpp_ebook_assignment.readers]
}

data "vpp_ebook_assignment_members" "crowd_unlicensed" {
  assignment_id = vpp_ebook_assignment.crowd.id
  states        = ["unlicensed", "failed"]
}

output "who_still_has_to_accept" {
  value = data.vpp_ebook_assignment_members.to_accept.members[*].email
}
`

// member is the check of one member row: email, state, a pattern of its reason, the name of the
// assignment and of the group it names (resources of that name, by their ids recorded in ids), and
// Apple's error (0 and "" for none: both null).
func member(ids resourceIDs, email, state, reason, name string, errorNumber int64, errorMessage string) knownvalue.Check {
	var number, message knownvalue.Check = knownvalue.Null(), knownvalue.Null()
	if errorNumber != 0 {
		number, message = knownvalue.Int64Exact(errorNumber), knownvalue.StringExact(errorMessage)
	}
	return knownvalue.ObjectExact(map[string]knownvalue.Check{
		"email":         knownvalue.StringExact(email),
		"state":         knownvalue.StringExact(state),
		"reason":        knownvalue.StringRegexp(regexp.MustCompile(reason)),
		"assignment_id": ids.check("vpp_ebook_assignment." + name),
		"group_id":      ids.check("vpp_user_group." + name),
		"error_number":  number,
		"error_message": message,
	})
}

// memberCounts checks the five counts of a vpp_ebook_assignment_members data source.
func memberCounts(addr string, licensed, pending, queued, unlicensed, failed int64) []statecheck.StateCheck {
	var out []statecheck.StateCheck
	for name, n := range map[string]int64{"licensed_count": licensed, "pending_count": pending, "queued_count": queued,
		"unlicensed_count": unlicensed, "failed_count": failed} {
		out = append(out, statecheck.ExpectKnownValue(addr, tfjsonpath.New(name), knownvalue.Int64Exact(n)))
	}
	return out
}

// resourceIDs records the id of each resource after an apply (record), for checks built before
// the ids exist (check).
type resourceIDs map[string]string

func (ids resourceIDs) record(s *terraform.State) error {
	for addr, rs := range s.RootModule().Resources {
		ids[addr] = rs.Primary.ID
	}
	return nil
}

// check matches the id recorded for the resource at addr when the check runs.
func (ids resourceIDs) check(addr string) knownvalue.Check { return recordedID{ids, addr} }

type recordedID struct {
	ids  resourceIDs
	addr string
}

func (c recordedID) CheckValue(v any) error {
	want, ok := c.ids[c.addr]
	if !ok {
		return fmt.Errorf("no id recorded for %s", c.addr)
	}
	if got, _ := v.(string); got != want {
		return fmt.Errorf("expected the id of %s (%q), got %v", c.addr, want, v)
	}
	return nil
}

func (c recordedID) String() string { return "id of " + c.addr }

// noInvitations fails when a data source's state holds an invitation (they are secrets, kept in
// vpp_user_group's sensitive attribute).
func noInvitations(s *terraform.State) error {
	for addr, rs := range s.RootModule().Resources {
		if rs.Type != "vpp_ebook_assignment_members" {
			continue
		}
		for k, v := range rs.Primary.Attributes {
			if strings.Contains(v, "inviteCode") || strings.Contains(v, "https://") {
				return fmt.Errorf("%s.%s holds an invitation URL: %q", addr, k, v)
			}
		}
	}
	return nil
}

// Each member's state with its reason: licensed, failed with Apple's error, pending, unlicensed;
// by assignment and by book across two groups; filtered by state with unfiltered counts; an
// invitation accepted later shows at the next refresh.
func TestAccEbookAssignmentMembersDataSource_states(t *testing.T) {
	db := testDatabase(t)
	loc := newTestLocation(t, "business")
	tokenID := seedToken(t, db, loc)
	config := testAccMembersGroups(t, db, tokenID) + testAccMembersDataSources
	ids := resourceIDs{}
	const (
		staff      = "data.vpp_ebook_assignment_members.staff"
		bookA      = "data.vpp_ebook_assignment_members.book_a"
		toAccept   = "data.vpp_ebook_assignment_members.to_accept"
		crowd      = "data.vpp_ebook_assignment_members.crowd_unlicensed"
		licensed   = `^holds a license for the book$`
		pending    = `^invitation not accepted`
		refused    = `^Apple refused this member \(error 9635\): Unable to associate the Apple Account with this user\.$`
		appleText  = "Unable to associate the Apple Account with this user."
		unlicensed = `^no licenses left for this member \(oversubscribed; members are licensed in email order\)$`
	)
	members := tfjsonpath.New("members")
	ann := member(ids, "ann@corp.example.com", "licensed", licensed, "staff", 0, "")
	eve := member(ids, "eve@elsewhere.example.com", "failed", refused, "staff", 9635, appleText)
	waiting := []knownvalue.Check{
		member(ids, "bob@example.com", "pending", pending, "readers", 0, ""),
		member(ids, "cat@example.com", "pending", pending, "readers", 0, ""),
		member(ids, "dan@example.com", "pending", pending, "readers", 0, ""),
	}
	acc.Test(t, acc.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             testAccCheckEbookAssignmentDestroy(t, db),
		Steps: []acc.TestStep{
			{
				Config: config,
				Check:  acc.ComposeTestCheckFunc(ids.record, noInvitations),
			},
			{
				Config: config,
				ConfigPlanChecks: acc.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: slices.Concat([]statecheck.StateCheck{
					statecheck.ExpectKnownValue(staff, members, knownvalue.ListExact([]knownvalue.Check{ann, eve})),
					// Book A through both of its assignments, by email.
					statecheck.ExpectKnownValue(bookA, members, knownvalue.ListExact(slices.Concat([]knownvalue.Check{ann}, waiting, []knownvalue.Check{eve}))),
					// Filtered: only who still has to accept; the counts are the whole book's.
					statecheck.ExpectKnownValue(toAccept, members, knownvalue.ListExact(waiting)),
					statecheck.ExpectKnownOutputValue("who_still_has_to_accept", knownvalue.ListExact([]knownvalue.Check{
						knownvalue.StringExact("bob@example.com"), knownvalue.StringExact("cat@example.com"), knownvalue.StringExact("dan@example.com"),
					})),
					statecheck.ExpectKnownValue(crowd, members, knownvalue.ListExact([]knownvalue.Check{
						member(ids, "hal@example.com", "unlicensed", unlicensed, "crowd", 0, ""),
					})),
				}, memberCounts(bookA, 1, 3, 0, 0, 1), memberCounts(toAccept, 1, 3, 0, 0, 1), memberCounts(crowd, 2, 0, 0, 1, 0)),
				Check: noInvitations,
			},
			{
				// bob accepts: the refresh shows the assignment due, the apply licenses him, and the
				// data sources read after it show him licensed.
				PreConfig: func() {
					acceptInvitation(t, loc.UID, "bob@example.com")
					syncToken(t, db, tokenID)
				},
				Config: config,
				ConfigPlanChecks: acc.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction("vpp_ebook_assignment.readers", plancheck.ResourceActionUpdate)},
				},
				ConfigStateChecks: append([]statecheck.StateCheck{
					statecheck.ExpectKnownOutputValue("who_still_has_to_accept", knownvalue.ListExact([]knownvalue.Check{
						knownvalue.StringExact("cat@example.com"), knownvalue.StringExact("dan@example.com"),
					})),
					statecheck.ExpectKnownValue(bookA, members.AtSliceIndex(1),
						member(ids, "bob@example.com", "licensed", licensed, "readers", 0, "")),
				}, memberCounts(toAccept, 2, 2, 0, 0, 1)...),
			},
		},
	})
}

// Members due a book that lacks licenses are queued, and the reason names the shortage; the read
// of a data source alone (no resource changes) shows it.
func TestAccEbookAssignmentMembersDataSource_queuedForLicenses(t *testing.T) {
	db := testDatabase(t)
	loc := newTestLocation(t, "business")
	tokenID := seedToken(t, db, loc)
	readers := []string{"alice@example.com", "bob@example.com", "carol@example.com"}
	config := testAccEbookAssignmentConfig(t, db, engine.BookID(tokenID, testBookB, "STDQ"), "available", "", false, readers...) + `
data "vpp_ebook_assignment_members" "test" {
  assignment_id = vpp_ebook_assignment.test.id
}
`
	const addr = "data.vpp_ebook_assignment_members.test"
	queued := func(email string) knownvalue.Check {
		return knownvalue.ObjectPartial(map[string]knownvalue.Check{
			"email": knownvalue.StringExact(email),
			"state": knownvalue.StringExact("queued"),
			"reason": knownvalue.StringRegexp(regexp.MustCompile(
				`^waiting for licenses: book "Terraform for Librarians" \(.*\) has 2 available licenses but group "Readers" needs 3 now: 1 short$`)),
			"error_number": knownvalue.Null(),
		})
	}
	acc.Test(t, acc.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             testAccCheckEbookAssignmentDestroy(t, db),
		Steps: []acc.TestStep{
			{
				Config:            config,
				ConfigStateChecks: memberCounts(addr, 0, 3, 0, 0, 0),
			},
			{
				PreConfig: func() {
					for _, m := range readers {
						acceptInvitation(t, loc.UID, m)
					}
					syncToken(t, db, tokenID)
				},
				Config: config,
				ConfigPlanChecks: acc.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: append(memberCounts(addr, 0, 0, 3, 0, 0),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("members"), knownvalue.ListExact([]knownvalue.Check{
						queued("alice@example.com"), queued("bob@example.com"), queued("carol@example.com"),
					}))),
			},
		},
	})
}

// Wrong arguments and unknown ids get diagnostics that say what is wrong and where ids come from.
func TestAccEbookAssignmentMembersDataSource_badInput(t *testing.T) {
	db := testDatabase(t)
	loc := newTestLocation(t, "business")
	tokenID := seedToken(t, db, loc)
	dataSource := func(args string) string {
		return providerBlock(t, db) + "\ndata \"vpp_ebook_assignment_members\" \"test\" {\n" + args + "\n}\n"
	}
	unknownBook := engine.BookID(tokenID, "9999999999", "STDQ")
	acc.Test(t, acc.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []acc.TestStep{
			{
				Config: dataSource(`assignment_id = "00000000-0000-0000-0000-000000000000"`),
				ExpectError: expectDiag("Unknown eBook Assignment", `with data.vpp_ebook_assignment_members.test`, `assignment_id`,
					`Assignment "00000000-0000-0000-0000-000000000000" not found in the engine's database\.`,
					`vpp_ebook_assignment\.<name>\.id`),
			},
			{
				Config: dataSource(fmt.Sprintf("book_id = %q", unknownBook)),
				ExpectError: expectDiag("Unknown Book", `book_id`, regexp.QuoteMeta(fmt.Sprintf("Book %q not found", unknownBook)),
					`vpp_books or vpp_book`),
			},
			{
				Config:      dataSource(`book_id = "1000000001"`),
				ExpectError: expectDiag("Invalid Book ID", `book_id`, `Book id "1000000001" is not of the form <token_id>:<adam_id>:<pricing_param>\.`),
			},
			{
				Config: dataSource(fmt.Sprintf("book_id = %q\n  assignment_id = \"x\"", unknownBook)),
				ExpectError: expectDiag("Invalid Attribute Combination",
					`Exactly one of these attributes must be configured: \[assignment_id,book_id\]`),
			},
			{
				Config:      dataSource(""),
				ExpectError: expectDiag("Missing Attribute Configuration", `Exactly one of these attributes must be configured: \[assignment_id,book_id\]`),
			},
			{
				Config:      dataSource(fmt.Sprintf("book_id = %q\n  states = [\"accepted\"]", unknownBook)),
				ExpectError: expectDiag("Invalid Attribute Value Match", `must be one of: \["licensed" "pending" "queued" "unlicensed" "failed"\]`, `"accepted"`),
			},
			{
				Config:      dataSource(fmt.Sprintf("book_id = %q\n  states = []", unknownBook)),
				ExpectError: expectDiag("Invalid Attribute Value", `states set must contain at least 1 elements`),
			},
		},
	})
}
