package provider

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"

	acc "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/vppkit/terraform-provider-vpp/internal/applesim"
	"github.com/vppkit/terraform-provider-vpp/internal/engine"
	"github.com/vppkit/terraform-provider-vpp/internal/store"
	"github.com/vppkit/terraform-provider-vpp/internal/store/storetest"
)

// The engine's database is a cache of Apple's records and the Terraform state: a runner with the
// same state and no database (a CI job, a colleague's checkout), a database restored from an older
// backup, or a stale one plans the truth and never spends a license twice. These tests drive the
// real CLI with the simulated Apple in strict mode: associating a pair Apple already holds, or a
// second VPP user for a person, is recorded as a violation, and every test asserts there is none.

// strictSimulator switches the shared simulator to strict mode (it records violations per
// location; the other tests' locations do not matter here).
func strictSimulator(t *testing.T) *applesim.Server {
	t.Helper()
	sim, _ := simulator(t)
	sim.SetStrict(true)
	return sim
}

// noDoubleSpend fails when the simulator recorded a double spend at the location.
func noDoubleSpend(t *testing.T, uid string) {
	t.Helper()
	sim, _ := simulator(t)
	for _, v := range sim.Violations() {
		if v.LocationUID == uid {
			t.Errorf("double spend at Apple: %+v", v)
		}
	}
}

// appleCounts checks the location's active users and the licenses of book A at Apple.
func appleCounts(t *testing.T, uid string, users, licenses int) error {
	t.Helper()
	sim, _ := simulator(t)
	active := 0
	for _, u := range sim.Users(uid) {
		if u.Status == "Registered" || u.Status == "Associated" {
			active++
		}
	}
	asset, _ := sim.Asset(uid, testBookA, "STDQ")
	if active != users || asset.AssignedCount != licenses {
		return fmt.Errorf("Apple holds %d active users and %d licenses of book A, want %d and %d", active, asset.AssignedCount, users, licenses)
	}
	noDoubleSpend(t, uid)
	return nil
}

// postsSince counts the POST requests to Apple since the last reset.
func postsSince(t *testing.T) int {
	sim, _ := simulator(t)
	return postCount(sim.Stats())
}

func resetStats(t *testing.T) {
	sim, _ := simulator(t)
	sim.ResetStats()
}

// recordsConfig is a whole configuration as users write it: a token from token_wo, a book by
// Apple id, a group of invited members and a required assignment.
func recordsConfig(t *testing.T, db string, managed bool, members ...string) string {
	t.Helper()
	return providerBlock(t, db) + tokenFileVariable + fmt.Sprintf(`
resource "vpp_token" "library" {
  token_wo         = var.token_file
  token_wo_version = 1
  apple_id         = "admin@corp.example.com"
  account_type     = "business"
}

data "vpp_book" "a" {
  token_id = vpp_token.library.id
  adam_id  = %[1]q
}

resource "vpp_user_group" "readers" {
  name                   = "Readers"
  members                = %[2]s
  managed_apple_accounts = %[3]t
}

resource "vpp_ebook_assignment" "a" {
  book_id  = data.vpp_book.a.id
  group_id = vpp_user_group.readers.id
  intent   = "required"
}
`, testBookA, hclStrings(members...), managed)
}

// freshDatabase returns a new, empty database of the kind.
func freshDatabase(t *testing.T, kind store.Kind) string {
	t.Helper()
	if kind == store.Postgres {
		return storetest.URL(t, store.Postgres)
	}
	return testDatabase(t)
}

func eachKind(t *testing.T, fn func(t *testing.T, kind store.Kind)) {
	for _, kind := range []store.Kind{store.SQLite, store.Postgres} {
		t.Run(string(kind), func(t *testing.T) { fn(t, kind) })
	}
}

// Machine A applies; machine B has the same configuration and state but no database: its plan is
// empty and its apply sends nothing. B adds a member and applies; A, with its stale database, then
// plans nothing either, and Apple holds exactly one user and one license per member.
func TestAccEngineRecords_secondRunnerWithoutDatabase(t *testing.T) {
	eachKind(t, func(t *testing.T, kind store.Kind) {
		strictSimulator(t)
		loc := newTestLocation(t, "business")
		dbA, dbB := freshDatabase(t, kind), freshDatabase(t, kind)
		three := []string{"ann@example.com", "bob@example.com", "cy@example.com"}
		four := append(append([]string(nil), three...), "dee@example.com")
		vars := testAccTokenFileVar(loc.Token)
		acc.Test(t, acc.TestCase{
			PreCheck:                 func() { testAccPreCheck(t) },
			ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
			Steps: []acc.TestStep{
				{
					Config: recordsConfig(t, dbA, false, three...), ConfigVariables: vars,
					Check: func(*terraform.State) error { return appleCounts(t, loc.UID, 3, 3) },
				},
				{
					// Runner B: the same state, no database.
					PreConfig: func() { resetStats(t) },
					Config:    recordsConfig(t, dbB, false, three...), ConfigVariables: vars,
					ConfigPlanChecks: acc.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
					Check: func(*terraform.State) error {
						if n := postsSince(t); n != 0 {
							return fmt.Errorf("runner B sent %d POST requests to Apple, want 0", n)
						}
						return appleCounts(t, loc.UID, 3, 3)
					},
				},
				{
					// B adds a member.
					Config: recordsConfig(t, dbB, false, four...), ConfigVariables: vars,
					Check: func(*terraform.State) error { return appleCounts(t, loc.UID, 4, 4) },
				},
				{
					// A again, with its database from before B's change.
					PreConfig: func() { resetStats(t) },
					Config:    recordsConfig(t, dbA, false, four...), ConfigVariables: vars,
					ConfigPlanChecks: acc.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
					Check: func(*terraform.State) error {
						if n := postsSince(t); n != 0 {
							return fmt.Errorf("runner A sent %d POST requests to Apple, want 0", n)
						}
						return appleCounts(t, loc.UID, 4, 4)
					},
				},
				{
					Config: recordsConfig(t, dbA, false, four...), ConfigVariables: vars,
					ConfigPlanChecks: acc.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				},
			},
		})
	})
}

// A token re-created for the same location (-replace, or destroy and apply) keeps every person's
// VPP user and license: nothing is created or associated again, for invited and for Managed Apple
// Account members alike.
func TestAccEngineRecords_recreatedToken(t *testing.T) {
	for _, managed := range []bool{false, true} {
		t.Run(fmt.Sprintf("managed=%t", managed), func(t *testing.T) {
			strictSimulator(t)
			loc := newTestLocation(t, "business")
			db := testDatabase(t)
			members := []string{"ann@corp.example.com", "bob@corp.example.com"}
			vars := testAccTokenFileVar(loc.Token)
			noPosts := func(*terraform.State) error {
				sim, _ := simulator(t)
				st := sim.Stats().Requests
				if n := st["POST /users/create"] + st["POST /assets/associate"]; n != 0 {
					return fmt.Errorf("%d users/create and associate requests after the token was re-created, want 0 (%v)", n, st)
				}
				return appleCounts(t, loc.UID, 2, 2)
			}
			acc.Test(t, acc.TestCase{
				PreCheck:                 func() { testAccPreCheck(t) },
				ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
				Steps: []acc.TestStep{
					{Config: recordsConfig(t, db, managed, members...), ConfigVariables: vars, Check: func(*terraform.State) error { return appleCounts(t, loc.UID, 2, 2) }},
					{
						PreConfig: func() { resetStats(t) },
						Config:    recordsConfig(t, db, managed, members...), ConfigVariables: vars,
						ConfigPlanChecks: acc.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
							plancheck.ExpectResourceAction("vpp_token.library", plancheck.ResourceActionReplace),
						}},
						Taint: []string{"vpp_token.library"},
						Check: noPosts,
					},
					{
						// Destroy everything but the group, then apply the whole configuration again.
						PreConfig: func() { resetStats(t) },
						Config: providerBlock(t, db) + fmt.Sprintf(`
resource "vpp_user_group" "readers" {
  name                   = "Readers"
  members                = %s
  managed_apple_accounts = %t
}
`, hclStrings(members...), managed),
					},
					{
						Config: recordsConfig(t, db, managed, members...), ConfigVariables: vars,
						Check: func(s *terraform.State) error {
							if err := noPosts(s); err != nil {
								return err
							}
							rs := s.RootModule().Resources["vpp_ebook_assignment.a"]
							if got := rs.Primary.Attributes["licensed_count"]; got != "2" {
								return fmt.Errorf("licensed_count = %s after the token was destroyed and created again, want 2", got)
							}
							return nil
						},
					},
				},
			})
		})
	}
}

// The database copied before an apply and restored after it: the next plan and apply spend
// nothing twice, and the one after plans nothing.
func TestAccEngineRecords_restoredBackup(t *testing.T) {
	strictSimulator(t)
	loc := newTestLocation(t, "business")
	db := testDatabase(t)
	backup := testDatabase(t)
	vars := testAccTokenFileVar(loc.Token)
	two := []string{"ann@example.com", "bob@example.com"}
	four := append(append([]string(nil), two...), "cy@example.com", "dee@example.com")
	acc.Test(t, acc.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []acc.TestStep{
			{Config: recordsConfig(t, db, false, two...), ConfigVariables: vars},
			{
				// The backup: the database as it is before the next apply.
				PreConfig: func() { copyDatabase(t, db, backup) },
				Config:    recordsConfig(t, db, false, four...), ConfigVariables: vars,
				Check: func(*terraform.State) error { return appleCounts(t, loc.UID, 4, 4) },
			},
			{
				// Restored: the provider now reads the backup.
				PreConfig: func() { resetStats(t) },
				Config:    recordsConfig(t, backup, false, four...), ConfigVariables: vars,
				Check: func(*terraform.State) error {
					sim, _ := simulator(t)
					st := sim.Stats().Requests
					if n := st["POST /users/create"] + st["POST /assets/associate"]; n != 0 {
						return fmt.Errorf("%d users/create and associate requests after the restore, want 0 (%v)", n, st)
					}
					return appleCounts(t, loc.UID, 4, 4)
				},
			},
			{
				Config: recordsConfig(t, backup, false, four...), ConfigVariables: vars,
				ConfigPlanChecks: acc.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
		},
	})
}

// copyDatabase copies a SQLite database consistently while the provider's engine has it open, as
// a backup tool would (VACUUM INTO reads one snapshot, write-ahead log included).
func copyDatabase(t *testing.T, from, to string) {
	t.Helper()
	db, err := sql.Open("sqlite", from)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`VACUUM INTO ?`, to); err != nil {
		t.Fatal(err)
	}
}

// Taking over a location from another management system adopts the VPP users it created for the
// configured members, with the licenses they hold: one member already holds the book, so one
// license is spent, not two, and no member gets a second user.
func TestAccEngineRecords_takeOverAdopts(t *testing.T) {
	sim := strictSimulator(t)
	loc := newTestLocation(t, "business")
	db := testDatabase(t)
	if err := sim.OverwriteMDMInfo(loc.UID, applesim.MDMInfo{ID: "intune-1", Name: "Microsoft Intune", Metadata: "x"}); err != nil {
		t.Fatal(err)
	}
	for _, u := range []applesim.UserSpec{
		{ClientUserID: "intune-ann", Email: "Ann@Example.com", Associated: true},
		{ClientUserID: "intune-bob", Email: "bob@example.com"},
	} {
		if err := sim.AddUser(loc.UID, u); err != nil {
			t.Fatal(err)
		}
	}
	if err := sim.Assign(loc.UID, testBookA, "STDQ", "intune-ann"); err != nil {
		t.Fatal(err)
	}
	cfg := recordsConfig(t, db, false, "ann@example.com", "bob@example.com")
	takeOver := func(c string) string {
		return strings.Replace(c, `account_type     = "business"`, `account_type     = "business"
  take_over_from_other_mdm = true`, 1)
	}
	vars := testAccTokenFileVar(loc.Token)
	acc.Test(t, acc.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []acc.TestStep{
			{
				PreConfig: func() { resetStats(t) },
				Config:    takeOver(cfg), ConfigVariables: vars,
				Check: func(s *terraform.State) error {
					if n := sim.Stats().Requests["POST /users/create"]; n != 0 {
						return fmt.Errorf("%d users/create requests, want 0: both members have users", n)
					}
					if err := appleCounts(t, loc.UID, 2, 2); err != nil {
						return err
					}
					rs := s.RootModule().Resources["vpp_ebook_assignment.a"]
					if got := rs.Primary.Attributes["licensed_count"]; got != "2" {
						return fmt.Errorf("licensed_count = %s, want 2", got)
					}
					audit, err := testEngine(t, db).AuditLog(context.Background(), engine.TokenID(loc.UID))
					if err != nil {
						return err
					}
					for _, a := range audit {
						if a.Operation == "adopt_users" && a.Count == 2 {
							return nil
						}
					}
					return fmt.Errorf("no audit entry records the 2 adopted users: %+v", audit)
				},
			},
			{
				Config: takeOver(cfg), ConfigVariables: vars,
				ConfigPlanChecks: acc.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
		},
	})
}
