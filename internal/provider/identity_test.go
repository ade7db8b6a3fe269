package provider

import (
	"regexp"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"

	"github.com/vppkit/terraform-provider-vpp/internal/engine"
)

// Resource identity needs Terraform or OpenTofu 1.12: with Terraform 1.11 (this machine's
// terraform) these tests skip, and `make test-tofu` runs them with OpenTofu 1.12.
var identityCLI = []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_12_0)}

// A token's identity is its location: set at create, unchanged by a renewal (a new token file of
// the same location), kept by refresh, and enough to import the token by identity.
func TestAccIdentity_token(t *testing.T) {
	sim, _ := simulator(t)
	db := testDatabase(t)
	loc := newTestLocation(t, "business")
	renewed, err := sim.MintToken(loc.UID, time.Now().Add(200*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	identity := statecheck.ExpectIdentity(testTokenAddr, map[string]knownvalue.Check{"location_id": knownvalue.StringExact(loc.UID)})
	resource.Test(t, resource.TestCase{
		TerraformVersionChecks:   identityCLI,
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: testAccTokenConfig(t, db, loc.Token, "business", ""), ConfigStateChecks: []statecheck.StateCheck{identity,
				statecheck.ExpectKnownValue(testTokenAddr, tfjsonpath.New("id"), knownvalue.StringExact(engine.TokenID(loc.UID)))}},
			{Config: testAccTokenConfig(t, db, renewed, "business", ""), ConfigStateChecks: []statecheck.StateCheck{identity}},
			{Config: testAccTokenConfig(t, db, renewed, "business", `  display_name = "Renamed"`), ConfigStateChecks: []statecheck.StateCheck{identity}},
			{
				Config:          testAccTokenConfig(t, db, renewed, "business", `  display_name = "Renamed"`),
				ResourceName:    testTokenAddr,
				ImportState:     true,
				ImportStateKind: resource.ImportBlockWithResourceIdentity,
				// The token file is not Apple's to return: the plan adds it to the state (as an import
				// by id does, TestAccToken_basic), and changes nothing else at Apple.
				ExpectNonEmptyPlan: true,
				ImportPlanChecks: resource.ImportPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(testTokenAddr, plancheck.ResourceActionUpdate)},
				},
			},
		},
	})
}

// A user group's and an assignment's identities: set at create, kept by update and refresh, and
// enough to import each by identity. The assignment's is its book and group.
func TestAccIdentity_groupAndAssignment(t *testing.T) {
	_, _ = simulator(t)
	db := testDatabase(t)
	loc := newTestLocation(t, "business")
	bookID := engine.BookID(seedToken(t, db, loc), testBookA, "STDQ")
	groupID := regexp.MustCompile(`^[0-9a-f-]{36}$`)
	checks := []statecheck.StateCheck{
		statecheck.ExpectIdentity("vpp_user_group.test", map[string]knownvalue.Check{"id": knownvalue.StringRegexp(groupID)}),
		statecheck.ExpectIdentity("vpp_ebook_assignment.test", map[string]knownvalue.Check{
			"book_id": knownvalue.StringExact(bookID), "group_id": knownvalue.StringRegexp(groupID)}),
		statecheck.CompareValuePairs("vpp_user_group.test", tfjsonpath.New("id"), "vpp_ebook_assignment.test", tfjsonpath.New("group_id"), compare.ValuesSame()),
	}
	config := func(intent string, members ...string) string {
		return testAccEbookAssignmentConfig(t, db, bookID, intent, "", false, members...)
	}
	resource.Test(t, resource.TestCase{
		TerraformVersionChecks:   identityCLI,
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: config("required", "alice@example.com"), ConfigStateChecks: checks},
			{Config: config("available", "alice@example.com", "bob@example.com"), ConfigStateChecks: checks},
			{
				Config:          config("available", "alice@example.com", "bob@example.com"),
				ResourceName:    "vpp_user_group.test",
				ImportState:     true,
				ImportStateKind: resource.ImportBlockWithResourceIdentity,
			},
			{
				Config:          config("available", "alice@example.com", "bob@example.com"),
				ResourceName:    "vpp_ebook_assignment.test",
				ImportState:     true,
				ImportStateKind: resource.ImportBlockWithResourceIdentity,
			},
		},
	})
}
