package provider

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/resourcevalidator"
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

	_ resource.ResourceWithConfigValidators = (*userGroupResource)(nil)
)

// ConfigValidators requires the members from exactly one place: the list or a roster file.
func (r *userGroupResource) ConfigValidators(_ context.Context) []resource.ConfigValidator {
	return []resource.ConfigValidator{resourcevalidator.ExactlyOneOf(path.MatchRoot("members"), path.MatchRoot("roster"))}
}

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
	Members              emailsValue  `tfsdk:"members"`
	Roster               types.Object `tfsdk:"roster"`
	ManagedAppleAccounts types.Bool   `tfsdk:"managed_apple_accounts"`
	MemberCount          types.Int64  `tfsdk:"member_count"`
	Invitations          types.Map    `tfsdk:"invitations"`
}

func (r *userGroupResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_user_group"
}

func (r *userGroupResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Version: 1, // 1: members is a list (it was a set)
		MarkdownDescription: "A group of people, by Apple Account email, that eBooks are assigned to with " +
			"`vpp_ebook_assignment`. Books go to user groups only: Apple licenses a book to a person, never to a device.\n\n" +
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
			"members": schema.ListAttribute{
				Optional:    true,
				CustomType:  newEmailsType(),
				ElementType: types.StringType,
				MarkdownDescription: "Apple Account emails of the members (at least one). The list is a set of people: " +
					"its order does not matter and emails are case-insensitive, so reordering or re-casing the list " +
					"plans no change. List each person once; two entries naming the same Apple Account are an error " +
					"that names the first repeat. Adding members delivers the group's books to them on apply; removing " +
					"members keeps the licenses they hold with them. Exactly one of `members` and `roster` is set: " +
					"past about 5,000 members Terraform's own cost for a list grows large (see the guide on large " +
					"groups), and a `roster` file keeps the members out of Terraform's values.",
				Validators: []validator.List{
					listvalidator.SizeAtLeast(1),
					membersValidator{},
				},
			},
			"roster": rosterSchema(),
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
				Sensitive:   true,
				ElementType: types.StringType,
				MarkdownDescription: "Invitation URLs by member email, for members who still have to accept one (empty " +
					"for Managed Apple Accounts). A member gets a VPP user, and so an invitation, once a book is assigned " +
					"to the group; after a member accepts, the entry disappears on the next refresh. Send each URL to its " +
					"member: `available` books reach a member only after they accept. Sensitive: whoever opens a URL " +
					"takes that person's licenses. Null for a group whose members come from a `roster` file; for such " +
					"groups, and any large group, read only the invitations you need with the `vpp_user_group` data " +
					"source's `invitations_for`.",
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
	var plan, state userGroupResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if !req.State.Raw.IsNull() {
		resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	}
	if resp.Diagnostics.HasError() {
		return
	}
	planned, membersChanged, known := r.planMembers(ctx, plan, state, resp)
	if !known || resp.Diagnostics.HasError() {
		return // member_count and invitations stay unknown until the members are known
	}
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("member_count"), int64(len(planned)))...)
	if state.ID.IsNull() {
		return // a new group: its invitations are known after apply
	}
	if !membersChanged && plan.Roster.IsNull() {
		// The same people in another order or case: the list in state stands (Terraform accepts a
		// prior value planned for a configured attribute as equivalent), so nothing is planned.
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("members"), state.Members)...)
		if plan.ManagedAppleAccounts.Equal(state.ManagedAppleAccounts) {
			resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("invitations"), state.Invitations)...)
		}
	}
	if r.data == nil {
		return
	}
	if plan.ManagedAppleAccounts.ValueBool() && !state.ManagedAppleAccounts.ValueBool() {
		in := groupInput(plan)
		in.Members = planned
		if err := r.data.engine.CheckGroupChange(ctx, state.ID.ValueString(), in); errors.Is(err, engine.ErrInvalidInput) {
			engineError(&resp.Diagnostics, "Cannot Switch to Managed Apple Accounts", err, plan.blame())
			return
		}
	}
	if !membersChanged {
		return
	}
	r.planMembersChange(ctx, state, planned, plan.blame(), resp)
}

// planMembers reads the members the plan gives the group, from members or the roster file, and
// reports whether they differ from the state's. A roster's hash and change are planned here.
func (r *userGroupResource) planMembers(ctx context.Context, plan, state userGroupResourceModel, resp *resource.ModifyPlanResponse) (planned []string, changed, known bool) {
	rm, known, diags := rosterOf(ctx, plan.Roster)
	resp.Diagnostics.Append(diags...)
	if !known || diags.HasError() {
		return nil, false, false
	}
	if rm == nil {
		if plan.Members.IsUnknown() {
			return nil, false, false
		}
		return plan.Members.strings(), !state.Members.samePeople(plan.Members), true
	}
	roster, ok := readRoster(rm, &resp.Diagnostics)
	if !ok {
		return nil, false, false
	}
	rm.SHA256 = types.StringValue(roster.SHA256)
	prior, _, diags := rosterOf(ctx, state.Roster)
	resp.Diagnostics.Append(diags...)
	changed = prior == nil || !rm.sameSource(prior) || prior.SHA256.ValueString() != roster.SHA256
	if changed {
		applied := ""
		if prior != nil {
			applied = prior.SHA256.ValueString()
		}
		rm.Changes = types.StringValue(r.rosterChange(ctx, state.ID.ValueString(), applied, roster.Members))
	} else {
		rm.Changes = prior.Changes
	}
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, rosterPath, rm.object())...)
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("invitations"), types.MapNull(types.StringType))...)
	return roster.Members, changed, true
}

// planMembersChange checks, for the plan, what new and removed members of an existing group mean:
// the licenses new members need (with the rest of the plan), and those removed members keep.
func (r *userGroupResource) planMembersChange(ctx context.Context, state userGroupResourceModel, planned []string, blame attrs, resp *resource.ModifyPlanResponse) {
	// New members need the group's books: forecast them with the rest of the plan.
	if err := r.data.engine.ForecastGroup(ctx, state.ID.ValueString(), planned, r.data.planned); errors.Is(err, engine.ErrNotEnoughLicenses) {
		engineErrorIn(&resp.Diagnostics, "Not Enough Licenses", fmt.Sprintf("The members planned for user group %q need "+
			"more licenses than there are.", state.Name.ValueString()), err, blame)
		return
	} else if err != nil {
		tflog.Debug(ctx, "Could not forecast the group's books", map[string]any{"group_id": state.ID.ValueString(), "error": err.Error()})
	}
	impact, err := r.data.engine.GroupRemovalImpact(ctx, state.ID.ValueString(), planned)
	if err != nil {
		// The validators report bad emails; a group gone from the engine shows on refresh.
		tflog.Debug(ctx, "Could not count the licenses removed members keep", map[string]any{"group_id": state.ID.ValueString(), "error": err.Error()})
		return
	}
	members := blame[aboutMembers]
	warnLicensesKept(&resp.Diagnostics, &members, fmt.Sprintf("Members removed from user group %q receive no "+
		"further licenses through it.", state.Name.ValueString()), keptOf(impact), "the removed members")
	warnLicensesReclaimed(&resp.Diagnostics, &members, fmt.Sprintf("Members are removed from user group %q.", state.Name.ValueString()),
		impact.LicensesReclaimed, "the removed members")
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
	impact, err := r.data.engine.GroupRemovalImpact(ctx, state.ID.ValueString(), nil)
	if err != nil {
		tflog.Debug(ctx, "Could not count the licenses a deleted group's members keep", map[string]any{"group_id": state.ID.ValueString(), "error": err.Error()})
		return
	}
	warnLicensesKept(&resp.Diagnostics, nil, fmt.Sprintf("Destroying user group %q removes it and its assignments from "+
		"the engine only.", state.Name.ValueString()), keptOf(impact), "its members")
	warnLicensesReclaimed(&resp.Diagnostics, nil, fmt.Sprintf("User group %q is destroyed.", state.Name.ValueString()),
		impact.LicensesReclaimed, "its members")
}

func (r *userGroupResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan userGroupResourceModel
	if !ready(ctx, r.data, &resp.Diagnostics, "creating a user group", decode(req.Plan, &plan)) {
		return
	}
	in, ok := r.applyInput(ctx, plan, &resp.Diagnostics)
	if !ok {
		return
	}
	g, err := r.data.engine.CreateGroup(ctx, in)
	if err != nil {
		engineError(&resp.Diagnostics, "Error Creating User Group", err, plan.blame())
		return
	}
	tflog.Debug(ctx, "Created user group", map[string]any{"group_id": g.ID, "members": len(g.Members)})
	plan.fromGroup(g, plan.Invitations)
	saveState(ctx, &resp.State, resp.Identity, &plan, &resp.Diagnostics)
}

func (r *userGroupResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state userGroupResourceModel
	if !ready(ctx, r.data, &resp.Diagnostics, "reading a user group", decode(req.State, &state)) {
		return
	}
	var g engine.Group
	var err error
	restored := false
	if !state.Roster.IsNull() {
		g, restored, err = r.readRosterGroup(ctx, state)
		if errors.Is(err, engine.ErrNotFound) {
			// Nothing to rebuild the record from: the state stands, and the next apply records the
			// group anew from the file (UpdateGroup).
			tflog.Warn(ctx, "The engine's database has no record of this roster group, and its roster file changed "+
				"since it was applied", map[string]any{"group_id": state.ID.ValueString()})
			saveState(ctx, &resp.State, resp.Identity, &state, &resp.Diagnostics)
			return
		}
	} else if state.Members.IsNull() || state.Members.IsUnknown() {
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
		g, restored, err = r.data.engine.RestoreGroup(ctx, state.ID.ValueString(), groupInput(state))
		if restored {
			tflog.Info(ctx, "Rebuilt the engine's record of a user group from the state", map[string]any{"group_id": state.ID.ValueString()})
		}
	}
	if err != nil {
		engineError(&resp.Diagnostics, "Unable to Read User Group", err, nil)
		return
	}
	keep := types.MapUnknown(types.StringType)
	if restored {
		// The engine has not read the members' users from Apple yet: the invitations the state
		// knows stand until it has.
		keep = state.Invitations
	}
	state.fromGroup(g, keep)
	saveState(ctx, &resp.State, resp.Identity, &state, &resp.Diagnostics)
}

func (r *userGroupResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state userGroupResourceModel
	if !ready(ctx, r.data, &resp.Diagnostics, "updating a user group", decode(req.Plan, &plan), decode(req.State, &state)) {
		return
	}
	in, ok := r.applyInput(ctx, plan, &resp.Diagnostics)
	if !ok {
		return
	}
	id := state.ID.ValueString()
	g, change, err := r.data.engine.UpdateGroup(ctx, id, in)
	if g.ID != "" && err != nil {
		// The group was saved; only delivering its books to new members stopped. Keep what was
		// saved so the next apply resumes delivery.
		plan.ID = state.ID
		plan.fromGroup(g, types.MapUnknown(types.StringType))
		saveState(ctx, &resp.State, resp.Identity, &plan, &resp.Diagnostics)
	}
	if err != nil {
		engineError(&resp.Diagnostics, "Error Updating User Group", err, plan.blame())
		return
	}
	plan.ID = state.ID
	plan.fromGroup(g, plan.Invitations)
	warnAdopted(&resp.Diagnostics, change.Adopted)
	members := plan.blame()[aboutMembers]
	warnLicensesKept(&resp.Diagnostics, &members, fmt.Sprintf("Members were removed from user group %q.", g.Name),
		licenseCount{books: change.BookLicensesKept, apps: change.LicensesKept - change.BookLicensesKept}, "the removed members")
	saveState(ctx, &resp.State, resp.Identity, &plan, &resp.Diagnostics)
}

func (r *userGroupResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state userGroupResourceModel
	if !ready(ctx, r.data, &resp.Diagnostics, "deleting a user group", decode(req.State, &state)) {
		return
	}
	rep, err := r.data.engine.DeleteGroup(ctx, state.ID.ValueString())
	reportRemoval(&resp.Diagnostics, "Error Deleting User Group", rep, err, fmt.Sprintf("User group %q was removed from "+
		"the engine, with its assignments.", state.Name.ValueString()), "its members")
}

func (r *userGroupResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	resource.ImportStatePassthroughWithIdentity(ctx, path.Root("id"), path.Root("id"), req, resp)
}

// applyInput is the engine's input for an apply of plan: its members are the list's, or the roster
// file's when it is still the file the plan read.
func (r *userGroupResource) applyInput(ctx context.Context, plan userGroupResourceModel, diags *diag.Diagnostics) (engine.GroupInput, bool) {
	in := groupInput(plan)
	rm, _, d := rosterOf(ctx, plan.Roster)
	diags.Append(d...)
	if rm == nil || d.HasError() {
		return in, !d.HasError()
	}
	roster, ok := rosterAtApply(rm, diags)
	in.Members, in.MembersFrom = roster.Members, roster.SHA256
	in.NoInvitations = true // a roster group keeps none in its state (see fromGroup)
	return in, ok
}

// readRosterGroup reads a roster group for a refresh. The roster file as last applied (the state's
// hash) is the group's truth, so a database that lacks the group or holds an older version gets
// it back, as for a members list. A file that changed since leaves the engine's record as it is
// (the next plan reads the file and shows the change); when there is no record, the new file's
// members are recorded, marked as not those last applied, so that the group's assignments can be
// rebuilt and the plan says the change is not known. A file that cannot be read leaves the record
// as it is, or missing.
func (r *userGroupResource) readRosterGroup(ctx context.Context, state userGroupResourceModel) (g engine.Group, restored bool, err error) {
	id := state.ID.ValueString()
	rm, _, diags := rosterOf(ctx, state.Roster)
	roster, readErr := engine.Roster{}, errors.New("no roster")
	if rm != nil && !diags.HasError() {
		roster, readErr = engine.ReadRoster(rm.source())
	}
	in := groupInput(state)
	in.Members, in.MembersFrom, in.NoInvitations = roster.Members, roster.SHA256, true
	if readErr == nil && roster.SHA256 == rm.SHA256.ValueString() {
		return r.data.engine.RestoreGroup(ctx, id, in)
	}
	g, err = r.data.engine.GetGroup(ctx, id)
	if errors.Is(err, engine.ErrNotFound) && readErr == nil {
		return r.data.engine.RestoreGroup(ctx, id, in)
	}
	return g, false, err
}

// groupInput maps the plan onto the engine's input, keeping the user's spelling of members (the
// engine normalises them).
func groupInput(m userGroupResourceModel) engine.GroupInput {
	return engine.GroupInput{
		Name:        m.Name.ValueString(),
		Description: m.Description.ValueString(),
		Members:     m.Members.strings(),
		Managed:     m.ManagedAppleAccounts.ValueBool(),
	}
}

// fromGroup fills the model from the engine's group. The members stay as planned or as in state,
// in the user's order and spelling (Terraform requires it); only a group just imported takes the
// engine's list. The keys of invitations take the members' spelling. keepInvitations, when known,
// is kept instead of the engine's invitations (the plan promised it).
func (m *userGroupResourceModel) fromGroup(g engine.Group, keepInvitations types.Map) {
	m.ID = types.StringValue(g.ID)
	m.Name = types.StringValue(g.Name)
	if g.Description != "" || !m.Description.IsNull() {
		m.Description = types.StringValue(g.Description)
	}
	m.ManagedAppleAccounts = types.BoolValue(g.Managed)
	m.MemberCount = types.Int64Value(int64(len(g.Members)))
	if !m.Roster.IsNull() {
		m.Invitations = types.MapNull(types.StringType) // not in state: see the vpp_user_group data source
		return
	}
	if m.Members.IsNull() || m.Members.IsUnknown() {
		m.Members = emailsOf(g.Members) // just imported
	}
	if !keepInvitations.IsUnknown() && !keepInvitations.IsNull() {
		m.Invitations = keepInvitations
		return
	}
	m.Invitations = invitationsSpelled(g.Invitations, m.Members.strings())
}

// invitationsSpelled keys the engine's invitations (by normalised email) with the spelling the
// members list uses.
func invitationsSpelled(inv map[string]string, spelling []string) types.Map {
	out := make(map[string]attr.Value, len(inv))
	if len(inv) > 0 {
		spell := make(map[string]string, len(spelling))
		for _, s := range spelling {
			spell[engine.EmailKey(s)] = s
		}
		for e, u := range inv {
			if s, ok := spell[e]; ok {
				e = s
			}
			out[e] = types.StringValue(u)
		}
	}
	return types.MapValueMust(types.StringType, out)
}

// blame is the attributes an engine error about the group is blamed on: its members list, or its
// roster file.
func (m userGroupResourceModel) blame() attrs {
	if !m.Roster.IsNull() {
		return rosterAttrs
	}
	return groupAttrs
}

// groupAttrs are the attributes an engine error about a group is blamed on.
var groupAttrs = attrs{aboutMembers: path.Root("members"), aboutInput: path.Root("members"), aboutGroup: path.Root("members"),
	aboutManagedAccounts: path.Root("managed_apple_accounts")}

// membersValidator checks the members with the engine's email rule (engine.CheckMembers): one
// diagnostic for the members that are not Apple Account emails and one for those that repeat an
// Apple Account (emails are case-insensitive; the set would silently shrink), each quoting the
// first few, however many members are wrong.
type membersValidator struct{}

var _ validator.List = membersValidator{}

func (membersValidator) Description(_ context.Context) string {
	return "each value must be an Apple Account email (name@example.com), each Apple Account listed once (emails are case-insensitive)"
}

func (v membersValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (membersValidator) ValidateList(_ context.Context, req validator.ListRequest, resp *validator.ListResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	// Unknown elements are checked once known; until then the problems name the list, not a position.
	members := emailsValue{ListValue: req.ConfigValue}.strings()
	at := func(i int) path.Path {
		if len(members) != len(req.ConfigValue.Elements()) {
			return req.Path
		}
		return req.Path.AtListIndex(i)
	}
	p := engine.CheckMembers(members)
	switch n := len(p.Invalid); {
	case n == 1:
		bad := p.Invalid[0]
		resp.Diagnostics.AddAttributeError(at(p.InvalidAt[0]), "Invalid Email Address",
			fmt.Sprintf("%s is not a valid Apple Account email. Use the address the person signs in to Apple with, such as "+
				"name@example.com. This one %s.", bad.Quoted(), bad.Reason))
	case n > 1:
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid Email Address",
			fmt.Sprintf("%s. Use the address each person signs in to Apple with, such as name@example.com.", p.InvalidSummary()))
	}
	switch n := len(p.Duplicates); {
	case n == 1:
		resp.Diagnostics.AddAttributeError(at(p.Duplicates[0].AgainAt), "Duplicate Group Member",
			p.DuplicateSummary()+": emails are case-insensitive. List it once.")
	case n > 1:
		resp.Diagnostics.AddAttributeError(req.Path, "Duplicate Group Member",
			p.DuplicateSummary()+". Emails are case-insensitive and surrounding spaces do not count: list each person once.")
	}
}
