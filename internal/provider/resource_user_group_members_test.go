package provider

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	acc "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

// members is a list that compares as a set of people: the same people in another order, or with
// other capitals, plan nothing and the state keeps the list as first applied. Seen failing with
// ModifyPlan no longer planning the state's list (a one-element diff per moved member).
func TestAccUserGroup_reorderAndRecasePlanNothing(t *testing.T) {
	db := testDatabase(t)
	first := []string{"ann@example.com", "Bo@example.com", "cy@example.com"}
	again := []string{"CY@example.com", "ann@example.com", "bo@EXAMPLE.com"}
	stateHasFirst := statecheck.ExpectKnownValue("vpp_user_group.test", tfjsonpath.New("members"), knownvalue.ListExact([]knownvalue.Check{
		knownvalue.StringExact(first[0]), knownvalue.StringExact(first[1]), knownvalue.StringExact(first[2]),
	}))
	acc.Test(t, acc.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []acc.TestStep{
			{
				Config:            testAccUserGroupConfig_basic(t, db, "Readers", "", first...),
				ConfigStateChecks: []statecheck.StateCheck{stateHasFirst},
			},
			{
				Config: testAccUserGroupConfig_basic(t, db, "Readers", "", again...),
				ConfigPlanChecks: acc.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{stateHasFirst},
			},
			{
				// A real change is still planned, with the new list as written.
				Config: testAccUserGroupConfig_basic(t, db, "Readers", "", append(again, "dee@example.com")...),
				ConfigPlanChecks: acc.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction("vpp_user_group.test", plancheck.ResourceActionUpdate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("vpp_user_group.test", tfjsonpath.New("member_count"), knownvalue.Int64Exact(4)),
					statecheck.ExpectKnownValue("vpp_user_group.test", tfjsonpath.New("members").AtSliceIndex(3), knownvalue.StringExact("dee@example.com")),
				},
			},
		},
	})
}

// A state written when members was a set (schema version 0) upgrades to the list with the same
// members, and the configuration's order plans nothing against it. Seen failing with the upgrader
// removed (the framework refuses a version 0 state).
func TestUserGroup_upgradeStateFromSet(t *testing.T) {
	ctx := context.Background()
	server, err := providerserver.NewProtocol6WithError(&vppProvider{version: "test", tune: fastEngine})()
	if err != nil {
		t.Fatal(err)
	}
	v0 := map[string]any{
		"id": "4b1f6a36-5bd0-4b39-9d1b-1ec3e7a1c0de", "name": "Readers", "description": nil,
		"members":                []string{"ann@example.com", "bo@example.com"},
		"managed_apple_accounts": false, "member_count": 2, "invitations": map[string]string{},
	}
	raw, _ := json.Marshal(v0)
	resp, err := server.UpgradeResourceState(ctx, &tfprotov6.UpgradeResourceStateRequest{
		TypeName: "vpp_user_group", Version: 0, RawState: &tfprotov6.RawState{JSON: raw},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range resp.Diagnostics {
		t.Fatalf("upgrade: %s: %s", d.Summary, d.Detail)
	}
	typ := userGroupObjectType(t, server)
	upgraded, err := resp.UpgradedState.Unmarshal(typ)
	if err != nil {
		t.Fatal(err)
	}
	var attrs map[string]tftypes.Value
	if err := upgraded.As(&attrs); err != nil {
		t.Fatal(err)
	}
	var members []tftypes.Value
	if err := attrs["members"].As(&members); err != nil {
		t.Fatalf("members is not a list after the upgrade: %v", err)
	}
	var got []string
	for _, m := range members {
		var s string
		_ = m.As(&s)
		got = append(got, s)
	}
	if len(got) != 2 || got[0] != "ann@example.com" || got[1] != "bo@example.com" {
		t.Fatalf("members after the upgrade = %v, want the set's members in its order", got)
	}
}

// userGroupObjectType is the state type of vpp_user_group as the provider declares it.
func userGroupObjectType(t *testing.T, server tfprotov6.ProviderServer) tftypes.Type {
	t.Helper()
	s, err := server.GetProviderSchema(context.Background(), &tfprotov6.GetProviderSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	schema := s.ResourceSchemas["vpp_user_group"]
	if schema == nil {
		t.Fatal("no vpp_user_group schema")
	}
	return schema.ValueType()
}

// An invitation URL lets whoever opens it take that person's licenses: invitations is sensitive in
// the resource and the data source, so plans, `terraform show` and outputs hide it. Seen failing
// with Sensitive removed from the resource's attribute.
func TestUserGroup_invitationsAreSensitive(t *testing.T) {
	server, err := providerserver.NewProtocol6WithError(&vppProvider{version: "test", tune: fastEngine})()
	if err != nil {
		t.Fatal(err)
	}
	s, err := server.GetProviderSchema(context.Background(), &tfprotov6.GetProviderSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for kind, schema := range map[string]*tfprotov6.Schema{"resource": s.ResourceSchemas["vpp_user_group"], "data source": s.DataSourceSchemas["vpp_user_group"]} {
		found := false
		for _, a := range schema.Block.Attributes {
			if a.Name == "invitations" {
				found = true
				if !a.Sensitive {
					t.Errorf("the %s's invitations is not sensitive", kind)
				}
			}
		}
		if !found {
			t.Errorf("the %s has no invitations attribute", kind)
		}
	}
}
