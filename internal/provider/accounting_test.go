package provider

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	acc "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/vppkit/terraform-provider-vpp/internal/applesim"
	"github.com/vppkit/terraform-provider-vpp/internal/engine"
)

// License accounting holds for whole configurations: demand is counted across every assignment
// and group of a plan, a shortage asks Apple before it refuses, and an apply never ends green with
// members silently left without a license.

// groupsConfig is one group per member list, all given the book as required.
func groupsConfig(t *testing.T, db string, groups ...[]string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString(providerBlock(t, db))
	for i, members := range groups {
		fmt.Fprintf(&b, `
resource "vpp_user_group" "g%[1]d" {
  name    = "Group %[1]d"
  members = %[2]s
}
`, i, hclStrings(members...))
	}
	return b.String()
}

func withAssignments(config, bookID string, groups int) string {
	var b strings.Builder
	b.WriteString(config)
	for i := range groups {
		fmt.Fprintf(&b, `
resource "vpp_ebook_assignment" "a%[1]d" {
  book_id  = %[2]q
  group_id = vpp_user_group.g%[1]d.id
  intent   = "required"
}
`, i, bookID)
	}
	return b.String()
}

// Two and three assignments of one book (2 licenses) to groups of 2 that already exist: each fits
// alone, together they do not. The plan fails, naming the book and every group, and nothing is
// sent; once licenses are bought at Apple (no sync in between), one apply delivers them all and the
// next plan is empty.
func TestAccAccounting_manyAssignmentsOfOneBook(t *testing.T) {
	for _, n := range []int{2, 3} {
		t.Run(fmt.Sprintf("%d assignments", n), func(t *testing.T) {
			sim := strictSimulator(t)
			db := testDatabase(t)
			loc := newTestLocation(t, "business")
			tokenID := seedToken(t, db, loc)
			bookID := engine.BookID(tokenID, testBookB, "STDQ")
			var groups [][]string
			for i := range n {
				groups = append(groups, []string{fmt.Sprintf("m%da@example.com", i), fmt.Sprintf("m%db@example.com", i)})
			}
			base := groupsConfig(t, db, groups...)
			var names []string
			for i := range n {
				names = append(names, fmt.Sprintf(`group\s+"Group\s+%d"\s+2`, i))
			}
			acc.Test(t, acc.TestCase{
				PreCheck:                 func() { testAccPreCheck(t) },
				ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
				Steps: []acc.TestStep{
					{Config: base},
					{
						PreConfig: func() { sim.ResetStats() },
						Config:    withAssignments(base, bookID, n),
						ExpectError: regexp.MustCompile(`(?s)Not Enough Licenses.*Terraform\s+for\s+Librarians.*has\s+2\s+available\s+licenses\s+but\s+its\s+assignments\s+need\s+` +
							fmt.Sprint(2*n) + `\s+now\s+\(` + strings.Join(names, `,\s+`) + `;.*` + fmt.Sprint(2*n-2) + `\s+short.*allow_oversubscription`),
					},
					{
						// Nothing was sent; then licenses are bought at Apple, after the last sync.
						PreConfig: func() {
							if n := postCount(sim.Stats()); n != 0 {
								t.Errorf("the refused plan sent %d POST requests", n)
							}
							if err := sim.Purchase(loc.UID, testBookB, "STDQ", 2*n-2); err != nil {
								t.Fatal(err)
							}
						},
						Config: withAssignments(base, bookID, n),
						Check: func(*terraform.State) error {
							if got := len(licensedEmails(t, loc.UID, testBookB)); got != 2*n {
								return fmt.Errorf("%d members hold the book at Apple, want %d", got, 2*n)
							}
							noDoubleSpend(t, loc.UID)
							return nil
						},
					},
					{
						Config:           withAssignments(base, bookID, n),
						ConfigPlanChecks: acc.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
					},
				},
			})
		})
	}
}

// A group that grows past its book's licenses fails the plan on its members, in the same terms;
// with the licenses bought, the same change applies.
func TestAccAccounting_groupGrowsPastLicenses(t *testing.T) {
	sim, _ := simulator(t)
	db := testDatabase(t)
	loc := newTestLocation(t, "business")
	tokenID := seedToken(t, db, loc)
	bookID := engine.BookID(tokenID, testBookB, "STDQ")
	two := []string{"ann@example.com", "bob@example.com"}
	three := append(append([]string(nil), two...), "cy@example.com")
	acc.Test(t, acc.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []acc.TestStep{
			{Config: withAssignments(groupsConfig(t, db, two), bookID, 1)},
			{
				Config: withAssignments(groupsConfig(t, db, three), bookID, 1),
				ExpectError: expectDiag("Not Enough Licenses", `The members planned for user group "Group 0" need more licenses than there are\. Book`,
					`"Terraform for Librarians" \(`+regexp.QuoteMeta(bookID)+`\) has 0 available licenses but group "Group 0" needs 1 now: 1 short\.`,
					`allow_oversubscription = true`),
			},
			{
				PreConfig: func() {
					if err := sim.Purchase(loc.UID, testBookB, "STDQ", 1); err != nil {
						t.Fatal(err)
					}
				},
				Config: withAssignments(groupsConfig(t, db, three), bookID, 1),
				Check: func(*terraform.State) error {
					if got := licensedEmails(t, loc.UID, testBookB); len(got) != 3 {
						return fmt.Errorf("Apple licensed %v, want the 3 members", got)
					}
					return nil
				},
			},
			{
				Config:           withAssignments(groupsConfig(t, db, three), bookID, 1),
				ConfigPlanChecks: acc.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("vpp_ebook_assignment.a0", tfjsonpath.New("licensed_count"), knownvalue.Int64Exact(3)),
				},
			},
		},
	})
}

// Switching a group whose members already have invited VPP users to Managed Apple Accounts is
// refused at plan time, before a license is spent on someone who cannot associate.
func TestAccAccounting_managedSwitchRefused(t *testing.T) {
	db := testDatabase(t)
	loc := newTestLocation(t, "business")
	tokenID := seedToken(t, db, loc)
	bookID := engine.BookID(tokenID, testBookA, "STDQ")
	config := func(managed bool) string {
		return providerBlock(t, db) + fmt.Sprintf(`
resource "vpp_user_group" "g" {
  name                   = "Staff"
  members                = ["ann@corp.example.com", "bob@corp.example.com"]
  managed_apple_accounts = %t
}

resource "vpp_ebook_assignment" "a" {
  book_id  = %q
  group_id = vpp_user_group.g.id
  intent   = "available"
}
`, managed, bookID)
	}
	acc.Test(t, acc.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []acc.TestStep{
			{Config: config(false)},
			{
				Config: config(true),
				ExpectError: expectDiag("Cannot Switch to Managed Apple Accounts", `User group "Staff" cannot switch to Managed Apple Accounts: 2 of its members`,
					`\(ann@corp\.example\.com, bob@corp\.example\.com\) already have VPP users created with an invitation`,
					`create a new group with managed_apple_accounts = true`),
			},
			{
				Config:           config(false),
				ConfigPlanChecks: acc.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
		},
	})
}

// A refresh asks Apple: another system's claim, a revocation and an expiry made at Apple after the
// last sync show in the next plan's state, with no sync_trigger change; and an apply that would
// send anything through that token refuses.
func TestAccAccounting_refreshAsksApple(t *testing.T) {
	for _, tc := range []struct{ name, state string }{
		{"claimed by another system", engine.StateExternalMDM},
		{"revoked", engine.StateRevoked},
		{"expired", engine.StateExpired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sim, _ := simulator(t)
			db := testDatabase(t)
			loc := newTestLocation(t, "business")
			config := func(members ...string) string {
				return testAccTokenConfig(t, db, loc.Token, "business", "") + fmt.Sprintf(`
resource "vpp_user_group" "g" {
  name    = "Readers"
  members = %s
}

resource "vpp_ebook_assignment" "a" {
  book_id  = "${vpp_token.test.id}:%s:STDQ"
  group_id = vpp_user_group.g.id
  intent   = "required"
}
`, hclStrings(members...), testBookA)
			}
			acc.Test(t, acc.TestCase{
				PreCheck:                 func() { testAccPreCheck(t) },
				ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
				Steps: []acc.TestStep{
					{Config: config("ann@example.com")},
					{
						PreConfig: func() {
							var err error
							switch tc.state {
							case engine.StateExternalMDM:
								err = sim.OverwriteMDMInfo(loc.UID, applesim.MDMInfo{ID: "jamf-1", Name: "Jamf Pro", Metadata: "x"})
							case engine.StateRevoked:
								err = sim.RevokeToken(loc.Token)
							case engine.StateExpired:
								err = sim.ExpireToken(loc.Token)
							}
							if err != nil {
								t.Fatal(err)
							}
						},
						Config: config("ann@example.com"),
						ConfigStateChecks: []statecheck.StateCheck{
							statecheck.ExpectKnownValue("vpp_token.test", tfjsonpath.New("state"), knownvalue.StringExact(tc.state)),
						},
					},
					{
						// Sending anything through the token is refused.
						Config:      config("ann@example.com", "bob@example.com"),
						ExpectError: regexp.MustCompile(`(?s)Error.*(managed by another system|is ` + tc.state + `)`),
					},
				},
			})
		})
	}
}

// Groups created in the same apply are unknown at plan time: the engine counts their assignments
// at apply, before it sends anything for the one that does not fit, and the apply fails in the
// same terms; no license is spent twice and the book is never oversubscribed.
func TestAccAccounting_unknownAtPlanCountedAtApply(t *testing.T) {
	sim := strictSimulator(t)
	db := testDatabase(t)
	loc := newTestLocation(t, "business")
	tokenID := seedToken(t, db, loc)
	bookID := engine.BookID(tokenID, testBookB, "STDQ")
	config := withAssignments(groupsConfig(t, db, []string{"a1@example.com", "a2@example.com"}, []string{"b1@example.com", "b2@example.com"}), bookID, 2)
	acc.Test(t, acc.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []acc.TestStep{{
			Config:      config,
			ExpectError: regexp.MustCompile(`(?s)Not Enough Licenses.*Terraform\s+for\s+Librarians.*short`),
		}},
		CheckDestroy: func(*terraform.State) error {
			if asset, _ := sim.Asset(loc.UID, testBookB, "STDQ"); asset.AssignedCount > 2 {
				return fmt.Errorf("Apple counts %d licenses of a book that has 2", asset.AssignedCount)
			}
			noDoubleSpend(t, loc.UID)
			return nil
		},
	})
}
