package provider

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/hashicorp/terraform-plugin-framework-validators/setvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/vppkit/terraform-provider-vpp/internal/engine"
)

var (
	_ resource.Resource                = (*userGroupResource)(nil)
	_ resource.ResourceWithConfigure   = (*userGroupResource)(nil)
	_ resource.ResourceWithImportState = (*userGroupResource)(nil)
	_ resource.ResourceWithModifyPlan  = (*userGroupResource)(nil)
)

// userGroupResource is vpp_user_group: a set of Apple Account emails that books are assigned to.
type userGroupResource struct {
	data *providerData
}

// NewUserGroupResource returns the vpp_user_group resource.
func NewUserGroupResource() resource.Resource { return &userGroupResource{} }

type userGroupResourceModel struct {
	ID                   types.String `tfsdk:"id"`
	Name                 types.String `tfsdk:"name"`
	Description          types.String `tfsdk:"description"`
	Members              types.Set    `tfsdk:"members"`
	ManagedAppleAccounts types.Bool   `tfsdk:"managed_apple_accounts"`
	MemberCount          types.Int64  `tfsdk:"member_count"`
	Invitations          types.Map    `tfsdk:"invitations"`
}

func (r *userGroupResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_user_group"
}

func (r *userGroupResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "A group of people, by Apple Account email, that eBooks are assigned to with " +
			"`vpp_ebook_assignment`. Books go to user groups only; there are no device groups.\n\n" +
			"Members who are not Managed Apple Accounts join through an invitation: the engine creates a VPP user for " +
			"each of them at the location of every token whose books are assigned to the group, and `invitations` " +
			"lists the URLs still to be accepted. Members added later receive every book already assigned to the " +
			"group on the next apply.\n\n" +
			"-> Removing a member, or the group, never takes a book license back: Apple does not allow reclaiming " +
			"books. The plan warns how many licenses stay with the people removed.\n\n" +
			"-> Let one `vpp_user_group` own each membership. When members come from a directory (for example the " +
			"`azuread_group` data source with `include_transitive_members = true`), feed the emails into `members` " +
			"rather than managing the same people from two places.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "The group's identifier in the engine (a UUID). Use it as `group_id` of `vpp_ebook_assignment`.",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"name": schema.StringAttribute{
				Required:            true,
				MarkdownDescription: "The group's name, shown in diagnostics (a shortage names the group).",
			},
			"description": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "Free text describing the group.",
			},
			"members": schema.SetAttribute{
				Required:    true,
				ElementType: types.StringType,
				MarkdownDescription: "Apple Account emails of the members (at least one). Emails are case-insensitive: " +
					"list each person once; two entries differing only in case are an error. The spelling you write is " +
					"kept in state. Adding members delivers the group's books to them on apply; removing members keeps " +
					"the licenses they hold with them.",
				Validators: []validator.Set{
					setvalidator.SizeAtLeast(1),
					membersValidator{},
				},
			},
			"managed_apple_accounts": schema.BoolAttribute{
				Optional: true,
				Computed: true,
				Default:  booldefault.StaticBool(false),
				MarkdownDescription: "Whether the members are Managed Apple Accounts (created in Apple Business Manager " +
					"or Apple School Manager). Their VPP users are created with `managedAppleId` and associated at once, " +
					"with no invitation, so `available` books reach them immediately. Defaults to `false`.",
			},
			"member_count": schema.Int64Attribute{
				Computed:            true,
				MarkdownDescription: "How many members the group has.",
			},
			"invitations": schema.MapAttribute{
				Computed:    true,
				ElementType: types.StringType,
				MarkdownDescription: "Invitation URLs by member email, for members who still have to accept one (empty " +
					"for Managed Apple Accounts). A member gets a VPP user, and so an invitation, once a book is assigned " +
					"to the group; after a member accepts, the entry disappears on the next refresh. Send each URL to its " +
					"member: `available` books reach a member only after they accept.",
			},
		},
	}
}

func (r *userGroupResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = configuredData(req.ProviderData, &resp.Diagnostics, "Resource")
}

func (r *userGroupResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		r.warnDestroy(ctx, req, resp)
		return
	}
	var plan userGroupResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() || plan.Members.IsUnknown() {
		return // member_count and invitations stay unknown until the members are known
	}
	planned, diags := stringsOfSet(ctx, plan.Members)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("member_count"), int64(len(planned)))...)
	if req.State.Raw.IsNull() {
		return // a new group: its invitations are known after apply
	}

	var state userGroupResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	prior, diags := stringsOfSet(ctx, state.Members)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	if in, diags := groupInput(ctx, plan); !diags.HasError() && r.data != nil {
		if err := r.data.engine.CheckGroupChange(ctx, state.ID.ValueString(), in); errors.Is(err, engine.ErrInvalidInput) {
			engineError(&resp.Diagnostics, "Cannot Switch to Managed Apple Accounts", err, groupAttrs)
			return
		}
	}
	membersChanged := !sameEmails(prior, planned)
	if !membersChanged && plan.ManagedAppleAccounts.Equal(state.ManagedAppleAccounts) {
		// The same people: their invitations do not change (a new spelling re-keys them).
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("invitations"), respell(state.Invitations, planned))...)
	}
	if !membersChanged || r.data == nil {
		return
	}
	// New members need the group's books: forecast them with the rest of the plan.
	if err := r.data.engine.ForecastGroup(ctx, state.ID.ValueString(), planned, r.data.planned); errors.Is(err, engine.ErrNotEnoughLicenses) {
		engineErrorIn(&resp.Diagnostics, "Not Enough Licenses", fmt.Sprintf("The members planned for user group %q need "+
			"more licenses than there are.", state.Name.ValueString()), err, groupAttrs)
		return
	} else if err != nil {
		tflog.Debug(ctx, "Could not forecast the group's books", map[string]any{"group_id": state.ID.ValueString(), "error": err.Error()})
	}
	kept, err := r.data.engine.GroupRemovalImpact(ctx, state.ID.ValueString(), planned)
	if err != nil {
		// The validators report bad emails; a group gone from the engine shows on refresh.
		tflog.Debug(ctx, "Could not count the licenses removed members keep", map[string]any{"group_id": state.ID.ValueString(), "error": err.Error()})
		return
	}
	members := path.Root("members")
	warnLicensesKept(&resp.Diagnostics, &members, fmt.Sprintf("Removing members from user group %q does not take their "+
		"books back: they receive no further books through this group.", state.Name.ValueString()), kept, "the removed members")
}

// warnDestroy warns, in the plan, how many book licenses the members of a group being destroyed keep.
func (r *userGroupResource) warnDestroy(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if r.data == nil || req.State.Raw.IsNull() {
		return
	}
	var state userGroupResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	kept, err := r.data.engine.GroupRemovalImpact(ctx, state.ID.ValueString(), nil)
	if err != nil {
		tflog.Debug(ctx, "Could not count the licenses a deleted group's members keep", map[string]any{"group_id": state.ID.ValueString(), "error": err.Error()})
		return
	}
	warnLicensesKept(&resp.Diagnostics, nil, fmt.Sprintf("Destroying user group %q removes it and its assignments from "+
		"the engine only.", state.Name.ValueString()), kept, "its members")
}

func (r *userGroupResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan userGroupResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if notConfigured(r.data, &resp.Diagnostics, "creating a user group") {
		return
	}
	in, diags := groupInput(ctx, plan)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	g, err := r.data.engine.CreateGroup(ctx, in)
	if err != nil {
		engineError(&resp.Diagnostics, "Error Creating User Group", err, groupAttrs)
		return
	}
	tflog.Debug(ctx, "Created user group", map[string]any{"group_id": g.ID, "members": len(g.Members)})
	resp.Diagnostics.Append(plan.fromGroup(ctx, g, in.Members, plan.Invitations)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
	plan.setIdentity(ctx, resp.Identity, &resp.Diagnostics)
}

func (r *userGroupResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state userGroupResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || notConfigured(r.data, &resp.Diagnostics, "reading a user group") {
		return
	}
	var g engine.Group
	var err error
	restored := false
	if state.Members.IsNull() || state.Members.IsUnknown() {
		// Just imported: the engine's record is all there is to read.
		g, err = r.data.engine.GetGroup(ctx, state.ID.ValueString())
		if errors.Is(err, engine.ErrNotFound) {
			resp.Diagnostics.AddError("Unknown User Group",
				fmt.Sprintf("The engine's database has no user group %q to import. A group is a set of people that the "+
					"configuration defines, so there is nothing to import from Apple: declare it as a new vpp_user_group "+
					"instead. Creating it sends nothing to Apple, and its members' existing VPP users and book licenses are "+
					"recognised when its assignments are delivered, so no license is spent twice.", state.ID.ValueString()))
			return
		}
	} else {
		// The state is the group's truth and the engine's record a cache of it: a database that lacks
		// the group (a new runner, a lost or restored database) or holds an older version gets the
		// state's.
		in, diags := groupInput(ctx, state)
		resp.Diagnostics.Append(diags...)
		if resp.Diagnostics.HasError() {
			return
		}
		g, restored, err = r.data.engine.RestoreGroup(ctx, state.ID.ValueString(), in)
		if restored {
			tflog.Info(ctx, "Rebuilt the engine's record of a user group from the state", map[string]any{"group_id": state.ID.ValueString()})
		}
	}
	if err != nil {
		engineError(&resp.Diagnostics, "Unable to Read User Group", err, nil)
		return
	}
	var spelling []string
	if !state.Members.IsNull() && !state.Members.IsUnknown() {
		var diags diag.Diagnostics
		spelling, diags = stringsOfSet(ctx, state.Members)
		resp.Diagnostics.Append(diags...)
		if resp.Diagnostics.HasError() {
			return
		}
	}
	keep := types.MapUnknown(types.StringType)
	if restored {
		// The engine has not read the members' users from Apple yet: the invitations the state
		// knows stand until it has.
		keep = state.Invitations
	}
	resp.Diagnostics.Append(state.fromGroup(ctx, g, spelling, keep)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
	state.setIdentity(ctx, resp.Identity, &resp.Diagnostics)
}

func (r *userGroupResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state userGroupResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if notConfigured(r.data, &resp.Diagnostics, "updating a user group") {
		return
	}
	in, diags := groupInput(ctx, plan)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	id := state.ID.ValueString()
	g, change, err := r.data.engine.UpdateGroup(ctx, id, in)
	if g.ID != "" && err != nil {
		// The group was saved; only delivering its books to new members stopped. Keep what was
		// saved so the next apply resumes delivery.
		plan.ID = state.ID
		resp.Diagnostics.Append(plan.fromGroup(ctx, g, in.Members, types.MapUnknown(types.StringType))...)
		resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
		plan.setIdentity(ctx, resp.Identity, &resp.Diagnostics)
	}
	if err != nil {
		engineError(&resp.Diagnostics, "Error Updating User Group", err, groupAttrs)
		return
	}
	plan.ID = state.ID
	resp.Diagnostics.Append(plan.fromGroup(ctx, g, in.Members, plan.Invitations)...)
	warnAdopted(&resp.Diagnostics, change.Adopted)
	members := path.Root("members")
	warnLicensesKept(&resp.Diagnostics, &members, fmt.Sprintf("Members were removed from user group %q.", g.Name),
		change.LicensesKept, "the removed members")
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
	plan.setIdentity(ctx, resp.Identity, &resp.Diagnostics)
}

func (r *userGroupResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state userGroupResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if notConfigured(r.data, &resp.Diagnostics, "deleting a user group") {
		return
	}
	rep, err := r.data.engine.DeleteGroup(ctx, state.ID.ValueString())
	if errors.Is(err, engine.ErrNotFound) {
		return
	}
	if err != nil {
		engineError(&resp.Diagnostics, "Error Deleting User Group", err, nil)
		return
	}
	warnLicensesKept(&resp.Diagnostics, nil, fmt.Sprintf("User group %q was removed from the engine, with its assignments.",
		state.Name.ValueString()), rep.LicensesKept, "its members")
}

func (r *userGroupResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	resource.ImportStatePassthroughWithIdentity(ctx, path.Root("id"), path.Root("id"), req, resp)
}

// groupInput maps the plan onto the engine's input, keeping the user's spelling of members (the
// engine normalises them).
func groupInput(ctx context.Context, m userGroupResourceModel) (engine.GroupInput, diag.Diagnostics) {
	members, diags := stringsOfSet(ctx, m.Members)
	return engine.GroupInput{
		Name:        m.Name.ValueString(),
		Description: m.Description.ValueString(),
		Members:     members,
		Managed:     m.ManagedAppleAccounts.ValueBool(),
	}, diags
}

// fromGroup fills the model from the engine's group. Members, and the keys of invitations, take
// the spelling of spelling where it matches ignoring case, so that state keeps what the user wrote
// and a second plan is empty. keepInvitations, when known, is kept instead of the engine's
// invitations (the plan promised it).
func (m *userGroupResourceModel) fromGroup(ctx context.Context, g engine.Group, spelling []string, keepInvitations types.Map) diag.Diagnostics {
	var diags diag.Diagnostics
	spell := make(map[string]string, len(spelling))
	for _, s := range spelling {
		if n, err := engine.NormalizeEmail(s); err == nil {
			spell[n] = s
		}
	}
	as := func(email string) string {
		if s, ok := spell[email]; ok {
			return s
		}
		return email
	}
	members := make([]string, len(g.Members))
	for i, e := range g.Members {
		members[i] = as(e)
	}
	m.ID = types.StringValue(g.ID)
	m.Name = types.StringValue(g.Name)
	if g.Description != "" || !m.Description.IsNull() {
		m.Description = types.StringValue(g.Description)
	}
	m.ManagedAppleAccounts = types.BoolValue(g.Managed)
	set, d := types.SetValueFrom(ctx, types.StringType, members)
	diags.Append(d...)
	m.Members = set
	m.MemberCount = types.Int64Value(int64(len(g.Members)))
	if !keepInvitations.IsUnknown() && !keepInvitations.IsNull() {
		m.Invitations = keepInvitations
		return diags
	}
	inv := make(map[string]attr.Value, len(g.Invitations))
	for e, u := range g.Invitations {
		inv[as(e)] = types.StringValue(u)
	}
	mv, d := types.MapValue(types.StringType, inv)
	diags.Append(d...)
	m.Invitations = mv
	return diags
}

// respell re-keys an invitations map with the given spelling of its emails.
func respell(inv types.Map, spelling []string) types.Map {
	if inv.IsNull() || inv.IsUnknown() {
		return inv
	}
	spell := make(map[string]string, len(spelling))
	for _, s := range spelling {
		spell[engine.EmailKey(s)] = s
	}
	out := make(map[string]attr.Value, len(inv.Elements()))
	for k, v := range inv.Elements() {
		if s, ok := spell[engine.EmailKey(k)]; ok {
			k = s
		}
		out[k] = v
	}
	return types.MapValueMust(types.StringType, out)
}

// groupAttrs are the attributes an engine error about a group is blamed on.
var groupAttrs = attrs{aboutMembers: path.Root("members"), aboutInput: path.Root("members"), aboutGroup: path.Root("members"),
	aboutManagedAccounts: path.Root("managed_apple_accounts")}

func stringsOfSet(ctx context.Context, s types.Set) ([]string, diag.Diagnostics) {
	if s.IsNull() || s.IsUnknown() {
		return nil, nil
	}
	var out []string
	diags := s.ElementsAs(ctx, &out, false)
	return out, diags
}

// sameEmails compares two member lists as sets of Apple Accounts (ignoring case).
func sameEmails(a, b []string) bool {
	norm := func(in []string) []string {
		out := make([]string, 0, len(in))
		for _, s := range in {
			out = append(out, engine.EmailKey(s))
		}
		sort.Strings(out)
		return out
	}
	na, nb := norm(a), norm(b)
	if len(na) != len(nb) {
		return false
	}
	for i := range na {
		if na[i] != nb[i] {
			return false
		}
	}
	return true
}

// membersValidator checks the members with the engine's email rule (engine.CheckMembers): one
// diagnostic for the members that are not Apple Account emails and one for those that repeat an
// Apple Account (emails are case-insensitive; the set would silently shrink), each quoting the
// first few, however many members are wrong.
type membersValidator struct{}

var _ validator.Set = membersValidator{}

func (membersValidator) Description(_ context.Context) string {
	return "each value must be an Apple Account email (name@example.com), each Apple Account listed once (emails are case-insensitive)"
}

func (v membersValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (membersValidator) ValidateSet(_ context.Context, req validator.SetRequest, resp *validator.SetResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	var members []string
	for _, el := range req.ConfigValue.Elements() {
		if s, ok := el.(types.String); ok && !s.IsNull() && !s.IsUnknown() {
			members = append(members, s.ValueString())
		}
	}
	p := engine.CheckMembers(members)
	switch n := len(p.Invalid); {
	case n == 1:
		bad := p.Invalid[0]
		resp.Diagnostics.AddAttributeError(req.Path.AtSetValue(types.StringValue(bad.Input)), "Invalid Email Address",
			fmt.Sprintf("%s is not a valid Apple Account email. Use the address the person signs in to Apple with, such as "+
				"name@example.com. This one %s.", bad.Quoted(), bad.Reason))
	case n > 1:
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid Email Address",
			fmt.Sprintf("%s. Use the address each person signs in to Apple with, such as name@example.com.", p.InvalidSummary()))
	}
	switch n := len(p.Duplicates); {
	case n == 1:
		resp.Diagnostics.AddAttributeError(req.Path, "Duplicate Group Member",
			p.DuplicateSummary()+": emails are case-insensitive. List it once.")
	case n > 1:
		resp.Diagnostics.AddAttributeError(req.Path, "Duplicate Group Member",
			p.DuplicateSummary()+". Emails are case-insensitive and surrounding spaces do not count: list each person once.")
	}
}
