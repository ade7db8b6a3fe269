package provider

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	acc "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/vppkit/terraform-provider-vpp/internal/engine"
)

// hclStrings renders a list of strings as an HCL list.
func hclStrings(ss ...string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

func testAccUserGroupConfig_basic(t *testing.T, db, name, description string, members ...string) string {
	t.Helper()
	desc := ""
	if description != "" {
		desc = fmt.Sprintf("\n  description = %q", description)
	}
	return providerBlock(t, db) + fmt.Sprintf(`
resource "vpp_user_group" "test" {
  name        = %[1]q%[2]s
  members     = %[3]s
}
`, name, desc, hclStrings(members...))
}

// testAccCheckUserGroupDestroy asks the engine that every group of the state is gone.
func testAccCheckUserGroupDestroy(t *testing.T, db string) func(*terraform.State) error {
	return func(s *terraform.State) error {
		for _, rs := range s.RootModule().Resources {
			if rs.Type != "vpp_user_group" {
				continue
			}
			_, err := testEngine(t, db).GetGroup(context.Background(), rs.Primary.ID)
			if !errors.Is(err, engine.ErrNotFound) {
				return fmt.Errorf("user group %s still in the engine (err %v)", rs.Primary.ID, err)
			}
		}
		return nil
	}
}

func TestAccUserGroup_basic(t *testing.T) {
	db := testDatabase(t)
	const addr = "vpp_user_group.test"
	var groupID string
	acc.Test(t, acc.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             testAccCheckUserGroupDestroy(t, db),
		Steps: []acc.TestStep{
			{
				Config: testAccUserGroupConfig_basic(t, db, "Readers", "Book club", "alice@example.com", "bob@example.com"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("id"), knownvalue.StringRegexp(regexp.MustCompile(`^[0-9a-f-]{36}$`))),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("name"), knownvalue.StringExact("Readers")),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("description"), knownvalue.StringExact("Book club")),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("members"), knownvalue.SetExact([]knownvalue.Check{
						knownvalue.StringExact("alice@example.com"), knownvalue.StringExact("bob@example.com"),
					})),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("managed_apple_accounts"), knownvalue.Bool(false)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("member_count"), knownvalue.Int64Exact(2)),
					// No book is assigned yet, so nobody has a VPP user or an invitation.
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("invitations"), knownvalue.MapExact(map[string]knownvalue.Check{})),
				},
			},
			{
				ResourceName:      addr,
				ImportState:       true,
				ImportStateVerify: true,
			},
			{
				ResourceName:    addr,
				ImportState:     true,
				ImportStateKind: acc.ImportBlockWithID,
			},
			{
				// A new name, no description, one member replaced, and a mixed-case spelling that state keeps.
				Config: testAccUserGroupConfig_basic(t, db, "Readers 2026", "", "Alice@Example.com", "carol@example.com"),
				ConfigPlanChecks: acc.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
						plancheck.ExpectKnownValue(addr, tfjsonpath.New("member_count"), knownvalue.Int64Exact(2)),
						plancheck.ExpectUnknownValue(addr, tfjsonpath.New("invitations")),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("name"), knownvalue.StringExact("Readers 2026")),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("description"), knownvalue.Null()),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("members"), knownvalue.SetExact([]knownvalue.Check{
						knownvalue.StringExact("Alice@Example.com"), knownvalue.StringExact("carol@example.com"),
					})),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("member_count"), knownvalue.Int64Exact(2)),
				},
			},
			{
				// Only the name changes: member_count and invitations are known in the plan.
				Config: testAccUserGroupConfig_basic(t, db, "Readers 2027", "", "Alice@Example.com", "carol@example.com"),
				ConfigPlanChecks: acc.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
						plancheck.ExpectKnownValue(addr, tfjsonpath.New("member_count"), knownvalue.Int64Exact(2)),
						plancheck.ExpectKnownValue(addr, tfjsonpath.New("invitations"), knownvalue.MapExact(map[string]knownvalue.Check{})),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: func(s *terraform.State) error {
					groupID = s.RootModule().Resources[addr].Primary.ID
					return nil
				},
			},
			{
				// Gone from the engine's database (lost, or another runner's): the state is the group's
				// truth, so the refresh rebuilds the record under the same id and the plan is empty.
				PreConfig: func() {
					if _, err := testEngine(t, db).DeleteGroup(context.Background(), groupID); err != nil {
						t.Fatal(err)
					}
				},
				Config:   testAccUserGroupConfig_basic(t, db, "Readers 2027", "", "Alice@Example.com", "carol@example.com"),
				PlanOnly: true,
			},
			{
				Config:           testAccUserGroupConfig_basic(t, db, "Readers 2027", "", "Alice@Example.com", "carol@example.com"),
				ConfigPlanChecks: acc.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				Check: func(*terraform.State) error {
					g, err := testEngine(t, db).GetGroup(context.Background(), groupID)
					if err != nil || g.Name != "Readers 2027" || strings.Join(g.Members, ",") != "alice@example.com,carol@example.com" {
						return fmt.Errorf("the rebuilt group = %+v, %v; want %s with its two members", g, err, groupID)
					}
					return nil
				},
			},
		},
	})
}

// Members' invitations are exposed under the spelling the user wrote; members added later receive
// the group's books, and members removed keep theirs.
func TestAccUserGroup_invitationsAndMembership(t *testing.T) {
	db := testDatabase(t)
	loc := newTestLocation(t, "business")
	tokenID := seedToken(t, db, loc)
	const group = "vpp_user_group.test"
	config := func(members ...string) string {
		return assignmentConfig(t, db, engine.BookID(tokenID, testBookA, "STDQ"), members...)
	}
	acc.Test(t, acc.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             testAccCheckUserGroupDestroy(t, db),
		Steps: []acc.TestStep{
			{
				Config: config("Alice@Example.com", "bob@example.com"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("vpp_ebook_assignment.test", tfjsonpath.New("licensed_count"), knownvalue.Int64Exact(2)),
					statecheck.ExpectKnownValue(group, tfjsonpath.New("members"), knownvalue.SetExact([]knownvalue.Check{
						knownvalue.StringExact("Alice@Example.com"), knownvalue.StringExact("bob@example.com"),
					})),
				},
			},
			{
				// The assignment created the members' VPP users; a refresh shows their invitations.
				Config: config("Alice@Example.com", "bob@example.com"),
				ConfigPlanChecks: acc.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(group, tfjsonpath.New("invitations"), knownvalue.MapExact(map[string]knownvalue.Check{
						"Alice@Example.com": knownvalue.StringRegexp(regexp.MustCompile(`^https://`)),
						"bob@example.com":   knownvalue.StringRegexp(regexp.MustCompile(`^https://`)),
					})),
				},
			},
			{
				// bob leaves (keeping his license), carol joins and receives the book on this apply. The
				// assignment's counts follow in the same apply (planned unknown, then read after the
				// group's update), so the state holds them and the next plan is empty.
				Config: config("Alice@Example.com", "carol@example.com"),
				ConfigPlanChecks: acc.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(group, plancheck.ResourceActionUpdate),
						plancheck.ExpectResourceAction("vpp_ebook_assignment.test", plancheck.ResourceActionUpdate),
						plancheck.ExpectUnknownValue("vpp_ebook_assignment.test", tfjsonpath.New("licensed_count")),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("vpp_ebook_assignment.test", tfjsonpath.New("licensed_count"), knownvalue.Int64Exact(2)),
					statecheck.ExpectKnownValue(group, tfjsonpath.New("member_count"), knownvalue.Int64Exact(2)),
					statecheck.ExpectKnownValue(group, tfjsonpath.New("invitations"), knownvalue.MapExact(map[string]knownvalue.Check{
						"Alice@Example.com": knownvalue.StringRegexp(regexp.MustCompile(`^https://`)),
						"carol@example.com": knownvalue.StringRegexp(regexp.MustCompile(`^https://`)),
					})),
				},
				Check: func(*terraform.State) error {
					held := licensedEmails(t, loc.UID, testBookA)
					if want := "alice@example.com,bob@example.com,carol@example.com"; strings.Join(held, ",") != want {
						return fmt.Errorf("licenses of book A at Apple are held by %v, want %s", held, want)
					}
					return nil
				},
			},
			{
				// The group grows: the apply's state holds the assignment's new count, not the
				// one before the group's update.
				Config: config("Alice@Example.com", "carol@example.com", "dave@example.com"),
				ConfigPlanChecks: acc.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction("vpp_ebook_assignment.test", plancheck.ResourceActionUpdate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("vpp_ebook_assignment.test", tfjsonpath.New("licensed_count"), knownvalue.Int64Exact(3)),
				},
			},
		},
	})
}

func TestAccUserGroup_invalidMembers(t *testing.T) {
	db := testDatabase(t)
	acc.Test(t, acc.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []acc.TestStep{
			{
				Config:      testAccUserGroupConfig_basic(t, db, "Empty", ""),
				ExpectError: regexp.MustCompile(`members list must contain at least 1 elements`),
			},
			{
				Config: testAccUserGroupConfig_basic(t, db, "Twice", "", "alice@example.com", "ALICE@example.com"),
				ExpectError: expectDiag("Duplicate Group Member",
					`Members "(alice|ALICE)@example\.com" and "(alice|ALICE)@example\.com" are the same Apple Account: emails are case-insensitive\. List it once\.`),
			},
			{
				Config: testAccUserGroupConfig_basic(t, db, "Bad", "", "alice@example.com", "not-an-email"),
				ExpectError: expectDiag("Invalid Email Address", `"not-an-email" is not a valid Apple Account email\. Use the address the person signs in to Apple with,`,
					`such as name@example\.com\.`),
			},
		},
	})
}

// The plan warns how many licenses members keep when they are removed or the group is destroyed.
func TestUserGroup_planWarnsLicensesKept(t *testing.T) {
	testAccPreCheck(t)
	ctx := context.Background()
	db := testDatabase(t)
	loc := newTestLocation(t, "business")
	e := testEngine(t, db)
	tokenID := seedToken(t, db, loc)
	g, err := e.CreateGroup(ctx, engine.GroupInput{Name: "Readers", Members: []string{"alice@example.com", "bob@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.CreateAssignment(ctx, engine.AssignmentInput{BookID: engine.BookID(tokenID, testBookA, "STDQ"), GroupID: g.ID, Intent: engine.IntentRequired}); err != nil {
		t.Fatal(err)
	}

	r := &userGroupResource{data: &providerData{engine: e}}
	var sr resource.SchemaResponse
	r.Schema(ctx, resource.SchemaRequest{}, &sr)
	object := func(members ...string) tftypes.Value {
		st := tfsdk.State{Schema: sr.Schema, Raw: tftypes.NewValue(sr.Schema.Type().TerraformType(ctx), nil)}
		for name, v := range map[string]any{"id": g.ID, "name": "Readers", "managed_apple_accounts": false, "member_count": int64(len(members))} {
			if diags := st.SetAttribute(ctx, path.Root(name), v); diags.HasError() {
				t.Fatal(diags)
			}
		}
		if diags := st.SetAttribute(ctx, path.Root("members"), members); diags.HasError() {
			t.Fatal(diags)
		}
		if diags := st.SetAttribute(ctx, path.Root("invitations"), map[string]string{}); diags.HasError() {
			t.Fatal(diags)
		}
		return st.Raw
	}
	warnings := func(raw tftypes.Value) string {
		req := resource.ModifyPlanRequest{
			State: tfsdk.State{Schema: sr.Schema, Raw: object("alice@example.com", "bob@example.com")},
			Plan:  tfsdk.Plan{Schema: sr.Schema, Raw: raw},
		}
		resp := resource.ModifyPlanResponse{Plan: req.Plan}
		r.ModifyPlan(ctx, req, &resp)
		if resp.Diagnostics.HasError() {
			t.Fatal(resp.Diagnostics)
		}
		var details []string
		for _, d := range resp.Diagnostics.Warnings() {
			details = append(details, d.Summary()+": "+d.Detail())
		}
		return strings.Join(details, "\n")
	}

	warned := warnings(object("alice@example.com", "carol@example.com"))
	if !strings.Contains(warned, "1 book license stays with the removed members") || !strings.Contains(warned, "does not allow reclaiming books") {
		t.Errorf("removing bob: warning %q, want 1 license kept", warned)
	}
	warned = warnings(object("Alice@Example.com", "bob@example.com"))
	if warned != "" {
		t.Errorf("a new spelling removes nobody, but the plan warns: %q", warned)
	}
	warned = warnings(tftypes.NewValue(sr.Schema.Type().TerraformType(ctx), nil))
	if !strings.Contains(warned, "2 book licenses stay with its members") {
		t.Errorf("destroying the group: warning %q, want 2 licenses kept", warned)
	}
}
