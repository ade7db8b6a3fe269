package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

var _ resource.ResourceWithUpgradeState = (*userGroupResource)(nil)

// userGroupModelV0 is vpp_user_group's state before version 1, when members was a set.
type userGroupModelV0 struct {
	ID                   types.String `tfsdk:"id"`
	Name                 types.String `tfsdk:"name"`
	Description          types.String `tfsdk:"description"`
	Members              types.Set    `tfsdk:"members"`
	ManagedAppleAccounts types.Bool   `tfsdk:"managed_apple_accounts"`
	MemberCount          types.Int64  `tfsdk:"member_count"`
	Invitations          types.Map    `tfsdk:"invitations"`
}

// UpgradeState carries states written before members became a list: the same members, in the
// order the state held them. A configuration that lists them in another order plans no change,
// since the list compares as a set of people.
func (r *userGroupResource) UpgradeState(_ context.Context) map[int64]resource.StateUpgrader {
	v0 := schema.Schema{Attributes: map[string]schema.Attribute{
		"id":                     schema.StringAttribute{Computed: true},
		"name":                   schema.StringAttribute{Required: true},
		"description":            schema.StringAttribute{Optional: true},
		"members":                schema.SetAttribute{Required: true, ElementType: types.StringType},
		"managed_apple_accounts": schema.BoolAttribute{Optional: true, Computed: true},
		"member_count":           schema.Int64Attribute{Computed: true},
		"invitations":            schema.MapAttribute{Computed: true, ElementType: types.StringType},
	}}
	return map[int64]resource.StateUpgrader{
		0: {
			PriorSchema: &v0,
			StateUpgrader: func(ctx context.Context, req resource.UpgradeStateRequest, resp *resource.UpgradeStateResponse) {
				var old userGroupModelV0
				resp.Diagnostics.Append(req.State.Get(ctx, &old)...)
				if resp.Diagnostics.HasError() {
					return
				}
				members := emailsNull()
				if !old.Members.IsNull() {
					members = emailsValue{ListValue: types.ListValueMust(types.StringType, old.Members.Elements())}
				}
				resp.Diagnostics.Append(resp.State.Set(ctx, userGroupResourceModel{
					ID: old.ID, Name: old.Name, Description: old.Description, Members: members,
					Roster: rosterNull(), ManagedAppleAccounts: old.ManagedAppleAccounts, MemberCount: old.MemberCount, Invitations: old.Invitations,
				})...)
			},
		},
	}
}
