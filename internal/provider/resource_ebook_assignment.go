package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
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
	_ resource.Resource                = (*ebookAssignmentResource)(nil)
	_ resource.ResourceWithConfigure   = (*ebookAssignmentResource)(nil)
	_ resource.ResourceWithImportState = (*ebookAssignmentResource)(nil)
	_ resource.ResourceWithModifyPlan  = (*ebookAssignmentResource)(nil)
)

// defaultDeliveryTimeout bounds create and update, which deliver licenses to the whole group.
const defaultDeliveryTimeout = 30 * time.Minute

// ebookAssignmentResource is vpp_ebook_assignment: one book given to one user group.
type ebookAssignmentResource struct {
	data *providerData
}

// NewEbookAssignmentResource returns the vpp_ebook_assignment resource.
func NewEbookAssignmentResource() resource.Resource { return &ebookAssignmentResource{} }

type ebookAssignmentResourceModel struct {
	ID                    types.String   `tfsdk:"id"`
	BookID                types.String   `tfsdk:"book_id"`
	GroupID               types.String   `tfsdk:"group_id"`
	Intent                types.String   `tfsdk:"intent"`
	AllowOversubscription types.Bool     `tfsdk:"allow_oversubscription"`
	LicensedCount         types.Int64    `tfsdk:"licensed_count"`
	PendingCount          types.Int64    `tfsdk:"pending_count"`
	UnlicensedCount       types.Int64    `tfsdk:"unlicensed_count"`
	FailedCount           types.Int64    `tfsdk:"failed_count"`
	DeliveryStatus        types.String   `tfsdk:"delivery_status"`
	Timeouts              timeouts.Value `tfsdk:"timeouts"`
}

func (r *ebookAssignmentResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_ebook_assignment"
}

func (r *ebookAssignmentResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Assigns one purchased eBook to one `vpp_user_group`, as `required` (every member gets a " +
			"license now) or `available` (a member gets a license once their invitation is accepted, or at once for " +
			"Managed Apple Accounts). Apply delivers the licenses, batched and rate-limited to Apple's limits; an " +
			"interrupted apply resumes on the next one without losing or spending a license twice.\n\n" +
			"The plan fails, before anything is sent to Apple, when the group needs more licenses than the book has " +
			"available, unless `allow_oversubscription = true`. When licenses are bought, an invitation is accepted or " +
			"a failure is fixed, the next plan shows an update that delivers the remainder.\n\n" +
			"-> Destroying an assignment never takes a book license back: Apple does not allow reclaiming books. The " +
			"plan warns how many licenses stay with their users.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "The assignment's identifier in the engine (a UUID).",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"book_id": schema.StringAttribute{
				Required: true,
				MarkdownDescription: "The book to assign, as `<token_id>:<adam_id>:<pricing_param>`: the `id` of a book " +
					"from the `vpp_books` or `vpp_book` data source. Changing it replaces the assignment (the licenses " +
					"already given stay with their users).",
				Validators:    []validator.String{bookIDValidator},
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"group_id": schema.StringAttribute{
				Required: true,
				MarkdownDescription: "The `id` of the `vpp_user_group` that receives the book. Changing it replaces the " +
					"assignment (the licenses already given stay with their users).",
				Validators:    []validator.String{stringvalidator.LengthAtLeast(1)},
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"intent": schema.StringAttribute{
				Required: true,
				MarkdownDescription: "`required`: every member gets a license now (Apple recommends assigning before " +
					"members accept their invitations). `available`: a member gets a license once their VPP user is " +
					"associated (invitation accepted, or a Managed Apple Account), so licenses are not spent on people " +
					"who never join; the others count as `pending_count`.",
				Validators: []validator.String{stringvalidator.OneOf(engine.IntentRequired, engine.IntentAvailable)},
			},
			"allow_oversubscription": schema.BoolAttribute{
				Optional: true,
				Computed: true,
				Default:  booldefault.StaticBool(false),
				MarkdownDescription: "When the group needs more licenses than the book has available: `false` (the " +
					"default) fails the plan before anything is sent; `true` licenses members in email order until the " +
					"licenses run out and reports the rest in `unlicensed_count`.",
			},
			"licensed_count": schema.Int64Attribute{
				Computed:            true,
				MarkdownDescription: "Members who hold the book's license.",
			},
			"pending_count": schema.Int64Attribute{
				Computed: true,
				MarkdownDescription: "Members still to receive a license: with `available`, members who have not " +
					"accepted their invitation yet; also members whose delivery is under way or due on the next apply.",
			},
			"unlicensed_count": schema.Int64Attribute{
				Computed:            true,
				MarkdownDescription: "Members left without a license because the book ran out (only with `allow_oversubscription = true`).",
			},
			"failed_count": schema.Int64Attribute{
				Computed: true,
				MarkdownDescription: "Members Apple refused; apply reports each with Apple's error number. Fix the cause " +
					"and apply again.",
			},
			"delivery_status": schema.StringAttribute{
				Computed: true,
				MarkdownDescription: "`complete` (every member who should hold the book does), `pending` (some members " +
					"are still to receive it, usually waiting for an invitation) or `partial` (some members are " +
					"unlicensed or failed).",
			},
			"timeouts": withTimeoutChecks(timeouts.Attributes(ctx, timeouts.Opts{
				Create:            true,
				Update:            true,
				CreateDescription: "How long creating may take, delivering to the whole group (default `30m`, at least `1s`).",
				UpdateDescription: "How long an update may take, delivering what is due (default `30m`, at least `1s`).",
			}), defaultDeliveryTimeout),
		},
	}
}

func (r *ebookAssignmentResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = configuredData(req.ProviderData, &resp.Diagnostics, "Resource")
}

// ModifyPlan checks the assignment against the engine's records only (a plan never contacts Apple):
// a shortage of licenses, an unknown book or group, and remainders to deliver.
func (r *ebookAssignmentResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if r.data == nil {
		return
	}
	var state *ebookAssignmentResourceModel
	if !req.State.Raw.IsNull() {
		state = &ebookAssignmentResourceModel{}
		resp.Diagnostics.Append(req.State.Get(ctx, state)...)
		if resp.Diagnostics.HasError() {
			return
		}
	}
	if req.Plan.Raw.IsNull() {
		if state != nil {
			r.warnKept(ctx, &resp.Diagnostics, *state, "Destroying")
		}
		return
	}
	var plan ebookAssignmentResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	replacing := state != nil && (!plan.BookID.Equal(state.BookID) || !plan.GroupID.Equal(state.GroupID))
	if replacing {
		r.warnKept(ctx, &resp.Diagnostics, *state, "Replacing")
	}
	if plan.BookID.IsUnknown() || plan.GroupID.IsUnknown() || plan.Intent.IsUnknown() || plan.AllowOversubscription.IsUnknown() {
		// A book or group created in this apply: the engine checks again at apply, before any request.
		return
	}
	unchanged := state != nil && !replacing && plan.Intent.Equal(state.Intent) &&
		plan.AllowOversubscription.Equal(state.AllowOversubscription)

	f, err := r.data.engine.Forecast(ctx, plan.input(), r.data.planned)
	if err != nil {
		var shortage *engine.ShortageError
		if errors.As(err, &shortage) && unchanged {
			// Nothing in the configuration changed: the book ran short since it was assigned (a refund,
			// a member who accepted). Say so without blocking the rest of the configuration.
			resp.Diagnostics.AddAttributeWarning(path.Root("group_id"), "Not Enough Licenses",
				"Members of the group are waiting for this book. "+explain(err).detail+" Until then they receive nothing, "+
					"and deliveries of this token's books fail while the shortage lasts.")
			return
		}
		engineError(&resp.Diagnostics, "Cannot Plan eBook Assignment", err, assignmentAttrs)
		return
	}
	if !unchanged {
		return // a new assignment, or a new intent: the counts are known after apply
	}
	if f.Deliverable > 0 {
		// Licenses were bought, an invitation accepted or a failure fixed: plan an update that
		// delivers the remainder.
		tflog.Debug(ctx, "Planning delivery of the remainder", map[string]any{"assignment_id": state.ID.ValueString(), "deliverable": f.Deliverable})
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("delivery_status"), types.StringUnknown())...)
		for _, name := range []string{"licensed_count", "pending_count", "unlicensed_count", "failed_count"} {
			resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root(name), types.Int64Unknown())...)
		}
		return
	}
	// Nothing to deliver: the counts stay as they are (only timeouts can have changed).
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("delivery_status"), state.DeliveryStatus)...)
	for name, v := range map[string]types.Int64{"licensed_count": state.LicensedCount, "pending_count": state.PendingCount,
		"unlicensed_count": state.UnlicensedCount, "failed_count": state.FailedCount} {
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root(name), v)...)
	}
}

// warnKept warns, in a plan that removes the assignment, how many licenses stay with their users.
func (r *ebookAssignmentResource) warnKept(ctx context.Context, diags *diag.Diagnostics, state ebookAssignmentResourceModel, doing string) {
	kept := int(state.LicensedCount.ValueInt64())
	if f, err := r.data.engine.Forecast(ctx, state.input(), nil); err == nil {
		kept = f.LicensesKept
	}
	warnLicensesKept(diags, nil, fmt.Sprintf("%s the assignment of book %s to group %s removes it from the engine only.",
		doing, state.BookID.ValueString(), state.GroupID.ValueString()), kept, "their users")
}

func (r *ebookAssignmentResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan ebookAssignmentResourceModel
	if !ready(ctx, r.data, &resp.Diagnostics, "creating an eBook assignment", decode(req.Plan, &plan)) {
		return
	}
	dctx, cancel, ok := withTimeout(ctx, plan.Timeouts.Create, defaultDeliveryTimeout, &resp.Diagnostics)
	defer cancel()
	if !ok {
		return
	}

	// The engine returns the assignment whenever it is stored, even when the timeout cut the run.
	a, err := r.data.engine.CreateAssignment(dctx, plan.input())
	if a.ID != "" {
		// Stored, even if delivery stopped early: save it so that the next apply resumes delivery.
		tflog.Debug(ctx, "Created eBook assignment", map[string]any{"assignment_id": a.ID, "licensed": a.Licensed, "status": a.Status})
		plan.fromAssignment(a)
		saveState(ctx, &resp.State, resp.Identity, &plan, &resp.Diagnostics)
	}
	reportDelivery(&resp.Diagnostics, a, err, "Error Creating eBook Assignment",
		"Terraform marks the new assignment as tainted because its creation reported an error, so the next apply "+
			"replaces it: that resumes delivery, and licenses already given stay with their users.")
}

func (r *ebookAssignmentResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state ebookAssignmentResourceModel
	if !ready(ctx, r.data, &resp.Diagnostics, "reading an eBook assignment", decode(req.State, &state)) {
		return
	}
	id := state.ID.ValueString()
	a, err := r.data.engine.RefreshAssignment(ctx, id)
	imported := state.BookID.IsNull() || state.Intent.IsNull()
	if !imported && (errors.Is(err, engine.ErrNotFound) || (err == nil && (a.Intent != state.Intent.ValueString() ||
		a.AllowOversubscription != state.AllowOversubscription.ValueBool()))) {
		// The state is the assignment's truth and the engine's record a cache of it: a database that
		// lacks it (a new runner, a lost or restored database) or holds other settings gets the
		// state's, and the refresh reads its members' users and licenses from Apple.
		tflog.Info(ctx, "Rebuilding the engine's record of an eBook assignment from the state", map[string]any{"assignment_id": id})
		if _, err = r.data.engine.RestoreAssignment(ctx, id, state.input()); err == nil {
			a, err = r.data.engine.RefreshAssignment(ctx, id)
		} else if errors.Is(err, engine.ErrNotFound) {
			resp.Diagnostics.AddAttributeError(path.Root("book_id"), "Cannot Rebuild eBook Assignment",
				fmt.Sprintf("The engine's database has no record of assignment %s, and it cannot be rebuilt from the state: %s "+
					"The vpp_token and vpp_user_group resources rebuild their records when they are planned; keep them in "+
					"this configuration and let book_id come from the vpp_book or vpp_books data source (so that they are "+
					"planned first), or run the plan again.", id, sentence(err.Error())))
			return
		}
	}
	if err != nil {
		engineError(&resp.Diagnostics, "Unable to Read eBook Assignment", err, nil)
		return
	}
	if !state.holds(a) { // else the response already carries the prior state: no need to write it again
		state.fromAssignment(a)
		resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
	}
	state.setIdentity(ctx, resp.Identity, &resp.Diagnostics)
}

func (r *ebookAssignmentResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state ebookAssignmentResourceModel
	if !ready(ctx, r.data, &resp.Diagnostics, "updating an eBook assignment", decode(req.Plan, &plan), decode(req.State, &state)) {
		return
	}
	dctx, cancel, ok := withTimeout(ctx, plan.Timeouts.Update, defaultDeliveryTimeout, &resp.Diagnostics)
	defer cancel()
	if !ok {
		return
	}

	a, err := r.data.engine.UpdateAssignment(dctx, state.ID.ValueString(), plan.input())
	if a.ID != "" {
		plan.fromAssignment(a)
		saveState(ctx, &resp.State, resp.Identity, &plan, &resp.Diagnostics)
	}
	reportDelivery(&resp.Diagnostics, a, err, "Error Updating eBook Assignment", "The change is saved; the next apply resumes delivery.")
}

func (r *ebookAssignmentResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state ebookAssignmentResourceModel
	if !ready(ctx, r.data, &resp.Diagnostics, "deleting an eBook assignment", decode(req.State, &state)) {
		return
	}
	rep, err := r.data.engine.DeleteAssignment(ctx, state.ID.ValueString())
	reportRemoval(&resp.Diagnostics, "Error Deleting eBook Assignment", rep, err, fmt.Sprintf("The assignment of book %s "+
		"to group %s was removed.", state.BookID.ValueString(), state.GroupID.ValueString()), "their users")
}

// ImportState accepts an assignment id, "<book_id>/<group_id>", or (import by identity) the book
// and the group.
func (r *ebookAssignmentResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	var ident assignmentIdentityModel
	if importIdentity(ctx, req, &ident, &resp.Diagnostics) {
		bookID := ident.BookID.ValueString()
		if _, _, _, err := engine.ParseBookID(bookID); err != nil {
			x := explain(err)
			resp.Diagnostics.AddAttributeError(path.Root("book_id"), x.summary, x.detail)
			return
		}
		r.importPair(ctx, bookID, ident.GroupID.ValueString(), resp)
		return
	}
	if resp.Diagnostics.HasError() {
		return
	}
	bad := func() {
		resp.Diagnostics.AddError("Unexpected Import Identifier",
			fmt.Sprintf("Expected import identifier with format: book_id/group_id or an assignment id. Got: %s", quoteInput(req.ID)))
	}
	bookID, groupID, composite := strings.Cut(req.ID, "/")
	if !composite {
		if uuid.Validate(req.ID) != nil {
			bad()
			return
		}
		resource.ImportStatePassthroughID(ctx, path.Root("id"), req, resp)
		return
	}
	if groupID == "" || strings.Contains(groupID, "/") {
		bad()
		return
	}
	if _, _, _, err := engine.ParseBookID(bookID); err != nil {
		bad()
		return
	}
	r.importPair(ctx, bookID, groupID, resp)
}

// importPair imports the assignment of book bookID to group groupID.
func (r *ebookAssignmentResource) importPair(ctx context.Context, bookID, groupID string, resp *resource.ImportStateResponse) {
	if notConfigured(r.data, &resp.Diagnostics, "importing an eBook assignment") {
		return
	}
	a, err := r.data.engine.FindAssignment(ctx, bookID, groupID)
	if err != nil {
		if errors.Is(err, engine.ErrNotFound) {
			resp.Diagnostics.AddError("Cannot Import Non-Existent eBook Assignment",
				fmt.Sprintf("The engine holds no assignment of book %s to group %s. Check both ids (the book's id comes from "+
					"the vpp_books data source, the group's from vpp_user_group), or create the assignment instead.", bookID, groupID))
			return
		}
		engineError(&resp.Diagnostics, "Unable to Import eBook Assignment", err, nil)
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), a.ID)...)
}

func (m ebookAssignmentResourceModel) input() engine.AssignmentInput {
	return engine.AssignmentInput{
		BookID:                m.BookID.ValueString(),
		GroupID:               m.GroupID.ValueString(),
		Intent:                m.Intent.ValueString(),
		AllowOversubscription: m.AllowOversubscription.ValueBool(),
	}
}

func (m *ebookAssignmentResourceModel) fromAssignment(a engine.Assignment) {
	m.ID = types.StringValue(a.ID)
	m.BookID = types.StringValue(a.BookID)
	m.GroupID = types.StringValue(a.GroupID)
	m.Intent = types.StringValue(a.Intent)
	m.AllowOversubscription = types.BoolValue(a.AllowOversubscription)
	m.LicensedCount = types.Int64Value(int64(a.Licensed))
	m.PendingCount = types.Int64Value(int64(a.Pending))
	m.UnlicensedCount = types.Int64Value(int64(a.Unlicensed))
	m.FailedCount = types.Int64Value(int64(a.Failed))
	m.DeliveryStatus = types.StringValue(a.Status)
}

// holds reports whether the model already holds what fromAssignment would write. A refresh that
// changes nothing then skips the framework's reflection over the model, a good share of the
// provider's time in a plan of a thousand assignments.
func (m ebookAssignmentResourceModel) holds(a engine.Assignment) bool {
	fresh := m
	fresh.fromAssignment(a)
	return fresh.ID.Equal(m.ID) && fresh.BookID.Equal(m.BookID) && fresh.GroupID.Equal(m.GroupID) &&
		fresh.Intent.Equal(m.Intent) && fresh.AllowOversubscription.Equal(m.AllowOversubscription) &&
		fresh.LicensedCount.Equal(m.LicensedCount) && fresh.PendingCount.Equal(m.PendingCount) &&
		fresh.UnlicensedCount.Equal(m.UnlicensedCount) && fresh.FailedCount.Equal(m.FailedCount) &&
		fresh.DeliveryStatus.Equal(m.DeliveryStatus)
}

// assignmentAttrs are the attributes an engine error about an assignment is blamed on: a shortage
// or an unknown group on group_id, an unknown or malformed book (or its token) on book_id.
var assignmentAttrs = attrs{aboutGroup: path.Root("group_id"), aboutBook: path.Root("book_id"), aboutToken: path.Root("book_id")}

// reportDelivery reports how a create or update of an assignment went: a stored assignment (a has
// an ID) whose delivery err stopped early, where next says what the next apply does; an error that
// stored nothing, under summary when the error names no fact of its own; or, when all went
// through, the users adopted and the members Apple refused.
func reportDelivery(diags *diag.Diagnostics, a engine.Assignment, err error, summary, next string) {
	switch {
	case err != nil && a.ID != "":
		deliveryStopped(diags, "Error Delivering eBook Assignment", a, err, next)
	case err != nil:
		engineError(diags, summary, err, assignmentAttrs)
	default:
		warnAdopted(diags, a.Adopted)
		warnFailures(diags, a)
	}
}

// deliveryStopped reports an assignment that is saved but whose delivery stopped early.
func deliveryStopped(diags *diag.Diagnostics, summary string, a engine.Assignment, err error, next string) {
	diags.AddError(summary, fmt.Sprintf("The assignment of book %s to group %s is saved, but delivering it stopped "+
		"early: %s\n\nSo far %d member(s) are licensed, %d pending, %d failed. Nothing is lost or sent twice: the engine "+
		"journals every request to Apple and reconciles with Apple before sending more. %s",
		a.BookID, a.GroupID, explain(err).detail, a.Licensed, a.Pending, a.Failed, next))
}

// warnFailures lists the members Apple refused: a warning, since the rest was delivered.
func warnFailures(diags *diag.Diagnostics, a engine.Assignment) {
	if len(a.Failures) == 0 {
		return
	}
	var b strings.Builder
	for _, f := range a.Failures {
		fmt.Fprintf(&b, "\n  - %s: Apple error %d: %s", f.Email, f.ErrorNumber, f.Detail)
	}
	diags.AddWarning("Apple Refused Some Members",
		fmt.Sprintf("Book %s could not be delivered to %d member(s) of group %s:%s\n\nEveryone else was delivered. Fix the "+
			"cause (for example an Apple Account that cannot be used at this location) and apply again; the plan "+
			"shows an update when a failure can be retried.", a.BookID, len(a.Failures), a.GroupID, b.String()))
}

// bookIDValidator checks the form of a book id (<token_id>:<adam_id>:<pricing_param>).
var bookIDValidator = stringCheck{
	description: "value must be a book id of the form <token_id>:<adam_id>:<pricing_param>",
	check: func(at path.Path, value string, diags *diag.Diagnostics) {
		if _, _, _, err := engine.ParseBookID(value); err != nil {
			x := explain(err)
			diags.AddAttributeError(at, x.summary, x.detail)
		}
	},
}
