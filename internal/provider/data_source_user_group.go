package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/vppkit/terraform-provider-vpp/internal/engine"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

var _ datasource.DataSourceWithConfigure = (*userGroupDataSource)(nil)

// userGroupDataSource is vpp_user_group: a group as the engine holds it now, with the invitations
// that exist once an assignment has created the members' VPP users.
type userGroupDataSource struct {
	data *providerData
}

// NewUserGroupDataSource returns the vpp_user_group data source.
func NewUserGroupDataSource() datasource.DataSource { return &userGroupDataSource{} }

type userGroupDataModel struct {
	ID                   types.String `tfsdk:"id"`
	Name                 types.String `tfsdk:"name"`
	Description          types.String `tfsdk:"description"`
	Members              types.List   `tfsdk:"members"`
	ManagedAppleAccounts types.Bool   `tfsdk:"managed_apple_accounts"`
	MemberCount          types.Int64  `tfsdk:"member_count"`
	InvitationsFor       types.List   `tfsdk:"invitations_for"`
	Invitations          types.Map    `tfsdk:"invitations"`
}

func (d *userGroupDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_user_group"
}

func (d *userGroupDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "A user group as the engine holds it now. Its `invitations` fill in once an assignment " +
			"has created the members' VPP users, which happens after the group resource itself is created: read this " +
			"data source with `depends_on` on the assignments to output invitation links in the same apply. It reads " +
			"only the engine's records.",
		Attributes: map[string]schema.Attribute{
			"id":          schema.StringAttribute{Required: true, MarkdownDescription: "The group's id (`vpp_user_group.<name>.id`)."},
			"name":        schema.StringAttribute{Computed: true, MarkdownDescription: "The group's name."},
			"description": schema.StringAttribute{Computed: true, MarkdownDescription: "The group's description."},
			"members": schema.ListAttribute{Computed: true, ElementType: types.StringType,
				MarkdownDescription: "Members' Apple Account emails, lower-case and sorted."},
			"managed_apple_accounts": schema.BoolAttribute{Computed: true, MarkdownDescription: "Whether members are Managed Apple Accounts."},
			"member_count":           schema.Int64Attribute{Computed: true, MarkdownDescription: "Number of members."},
			"invitations_for": schema.ListAttribute{Optional: true, ElementType: types.StringType,
				MarkdownDescription: "Read the invitations of these members only (emails, any case). Without it, " +
					"`invitations` holds every pending invitation of the group: for a group of many thousands, name the " +
					"people you are about to send links to instead of copying them all into the state."},
			"invitations": schema.MapAttribute{Computed: true, Sensitive: true, ElementType: types.StringType,
				MarkdownDescription: "Invitation URL per member (email, lower-case) who still has to accept one, of " +
					"`invitations_for` when it is set; empty for Managed Apple Accounts. Sensitive: whoever opens a URL takes " +
					"that person's licenses."},
		},
	}
}

func (d *userGroupDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = configuredData(req.ProviderData, &resp.Diagnostics, "Data Source")
}

func (d *userGroupDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m userGroupDataModel
	if !ready(ctx, d.data, &resp.Diagnostics, "reading the vpp_user_group data source", decode(req.Config, &m)) {
		return
	}
	g, err := d.data.engine.GetGroup(ctx, m.ID.ValueString())
	if err != nil {
		engineError(&resp.Diagnostics, "Unable to Read VPP User Group", err, attrs{aboutGroup: path.Root("id")})
		return
	}
	members, diags := types.ListValueFrom(ctx, types.StringType, g.Members)
	resp.Diagnostics.Append(diags...)
	invitations, diags := types.MapValueFrom(ctx, types.StringType, invitationsOf(g.Invitations, m.InvitationsFor))
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	m.Name, m.Description = types.StringValue(g.Name), types.StringValue(g.Description)
	m.Members, m.Invitations = members, invitations
	m.ManagedAppleAccounts, m.MemberCount = types.BoolValue(g.Managed), types.Int64Value(int64(len(g.Members)))
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

// invitationsOf keeps the invitations of the members named in only (any case), or all of them when
// only is null.
func invitationsOf(all map[string]string, only types.List) map[string]string {
	if only.IsNull() || only.IsUnknown() {
		return all
	}
	out := map[string]string{}
	for _, el := range only.Elements() {
		if s, ok := el.(types.String); ok {
			k := engine.EmailKey(s.ValueString())
			if u, found := all[k]; found {
				out[k] = u
			}
		}
	}
	return out
}
