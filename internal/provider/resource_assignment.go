package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/resourcevalidator"
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

// vpp_ebook_assignment and vpp_app_assignment give one asset (a book, an app) to one user group
// through the same engine calls. They share this implementation, assignmentResource; an
// assignedProduct describes what differs: names, wording, the attribute holding the asset's id,
// and what removing an assignment does to its licenses.

// defaultDeliveryTimeout bounds create and update, which deliver licenses to the whole group.
const defaultDeliveryTimeout = 30 * time.Minute

// What both assignment resources implement (identity: identity.go).
var _ = []interface {
	resource.ResourceWithConfigure
	resource.ResourceWithImportState
	resource.ResourceWithModifyPlan
	resource.ResourceWithConfigValidators
}{(*ebookAssignmentResource)(nil), (*appAssignmentResource)(nil)}

// assignedProduct is what an assignment resource assigns.
type assignedProduct struct {
	kind     string // engine.KindBook or engine.KindApp
	typeName string // the resource type's name after the provider's: "_ebook_assignment"
	title    string // in diagnostic summaries: "eBook" ("Error Creating eBook Assignment")
	lower    string // in sentences: "eBook" ("creating an eBook assignment")
	noun     string // the asset: "book" ("the assignment of book <id> to group <id>"; vpp_books)
	attr     string // the attribute holding the asset's id: "book_id"
	about    subject
	// idValidator checks the form of the asset's id.
	idValidator stringCheck
	// description is the resource's; assetDescription the asset attribute's, before what changing
	// it does; replaced completes "Changing it replaces the assignment", saying what becomes of
	// the licenses already given.
	description, assetDescription, replaced string
	// warnRemoving warns, in a plan that destroys or replaces (doing: "Destroying", "Replacing")
	// the assignment rm, what becomes of its licenses.
	warnRemoving func(ctx context.Context, eng *engine.Engine, diags *diag.Diagnostics, rm removal, doing string)
	// createStopped says what the next apply does after a create whose delivery stopped early:
	// Terraform taints the new assignment, so that apply replaces it.
	createStopped string
	// removed reports, after the assignment rm was deleted, what became of its licenses (rep).
	removed func(ctx context.Context, eng *engine.Engine, diags *diag.Diagnostics, rm removal, rep engine.RemoveReport)
	// devices says the asset can also be licensed to devices: the resource has device_group_id
	// besides group_id (exactly one of them set), and its model implements deviceGroupModel.
	devices bool
}

// deviceGroupModel is a model with device_group_id (vpp_app_assignment).
type deviceGroupModel interface {
	deviceGroupID() *types.String
}

// deviceGroupOf is the model's device_group_id, or nil for a resource without one.
func deviceGroupOf(m any) *types.String {
	if d, ok := m.(deviceGroupModel); ok {
		return d.deviceGroupID()
	}
	return nil
}

// targetOf says which group an assignment gives to: "group <id>" or "device group <id>".
func targetOf(devices bool, groupID string) string {
	if devices {
		return "device group " + groupID
	}
	return "group " + groupID
}

// removal is an assignment a plan or an apply removes, as the state holds it.
type removal struct {
	id       string
	in       engine.AssignmentInput
	licensed int
}

// what says which assignment is removed: "the assignment of book <id> to group <id>".
func (rm removal) what() string {
	return fmt.Sprintf("the assignment of %s %s to %s", kindOf(rm.in.Kind), rm.in.BookID, targetOf(rm.in.Devices, rm.in.GroupID))
}

// blame maps what an engine error about an assignment to a user group is about to the resource's
// attributes: a shortage or an unknown group on group_id, an unknown or malformed asset (or its
// token) on the asset's attribute.
func (p assignedProduct) blame() attrs {
	return attrs{aboutGroup: path.Root("group_id"), p.about: path.Root(p.attr), aboutToken: path.Root(p.attr)}
}

// blameFor is blame for the assignment in: for device licensing, what is about the group (a
// shortage, an unknown group, an asset that cannot go to devices) is on device_group_id.
func (p assignedProduct) blameFor(in engine.AssignmentInput) attrs {
	at := p.blame()
	at[aboutGroup] = groupPath(in.Devices)
	return at
}

// groupPath is the attribute naming an assignment's group: device_group_id for device licensing.
func groupPath(devices bool) path.Path {
	if devices {
		return path.Root("device_group_id")
	}
	return path.Root("group_id")
}

// assignmentFields are the attributes every assignment resource has: all but the asset's id.
type assignmentFields struct {
	ID                    types.String   `tfsdk:"id"`
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

// assignmentModel is a resource model: the asset's id under the product's attribute, and
// assignmentFields embedded.
type assignmentModel[M any] interface {
	*M
	parts() (asset *types.String, fields *assignmentFields)
}

// assignmentResource is one asset given to one user group; product says which kind of asset.
type assignmentResource[M identified, P assignmentModel[M]] struct {
	data    *providerData
	product assignedProduct
}

func (r *assignmentResource[M, P]) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + r.product.typeName
}

func (r *assignmentResource[M, P]) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	p := r.product
	resp.Schema = schema.Schema{
		MarkdownDescription: p.description,
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "The assignment's identifier in the engine (a UUID).",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			p.attr: schema.StringAttribute{
				Required:            true,
				MarkdownDescription: p.assetDescription + " Changing it replaces the assignment" + p.replaced + ".",
				Validators:          []validator.String{p.idValidator},
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"group_id": p.groupAttribute(),
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
				MarkdownDescription: "When the group needs more licenses than the " + p.noun + " has available: `false` (the " +
					"default) fails the plan before anything is sent; `true` licenses members in email order until the " +
					"licenses run out and reports the rest in `unlicensed_count`.",
			},
			"licensed_count": schema.Int64Attribute{
				Computed:            true,
				MarkdownDescription: "Members who hold the " + p.noun + "'s license.",
			},
			"pending_count": schema.Int64Attribute{
				Computed: true,
				MarkdownDescription: "Members still to receive a license: with `available`, members who have not " +
					"accepted their invitation yet; also members whose delivery is under way or due on the next apply.",
			},
			"unlicensed_count": schema.Int64Attribute{
				Computed:            true,
				MarkdownDescription: "Members left without a license because the " + p.noun + " ran out (only with `allow_oversubscription = true`).",
			},
			"failed_count": schema.Int64Attribute{
				Computed: true,
				MarkdownDescription: "Members Apple refused; apply reports each with Apple's error number. Fix the cause " +
					"and apply again.",
			},
			"delivery_status": schema.StringAttribute{
				Computed: true,
				MarkdownDescription: "`complete` (every member who should hold the " + p.noun + " does), `pending` (some members " +
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
	if p.devices {
		resp.Schema.Attributes["device_group_id"] = p.deviceGroupAttribute()
	}
}

// groupAttribute is group_id: required, unless the asset can go to a device group instead.
func (p assignedProduct) groupAttribute() schema.StringAttribute {
	a := schema.StringAttribute{
		Required: true,
		MarkdownDescription: "The `id` of the `vpp_user_group` that receives the " + p.noun + ". Changing it " +
			"replaces the assignment" + p.replaced + ".",
		Validators:    []validator.String{stringvalidator.LengthAtLeast(1)},
		PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
	}
	if p.devices {
		a.Required, a.Optional = false, true
		a.MarkdownDescription = "The `id` of the `vpp_user_group` that receives the " + p.noun + " (user licensing). Set " +
			"exactly one of `group_id` and `device_group_id`. Changing it replaces the assignment" + p.replaced + "."
	}
	return a
}

// deviceGroupAttribute is device_group_id, for an asset that can be licensed to devices.
func (p assignedProduct) deviceGroupAttribute() schema.StringAttribute {
	a := p.groupAttribute()
	a.MarkdownDescription = "The `id` of the `vpp_device_group` that receives the " + p.noun + " (device licensing: " +
		"each device of the group holds a license by its serial number, with no Apple Account and no invitation, and " +
		"both intents license every device at once). The " + p.noun + " must be device-assignable (`device_assignable` " +
		"in the `vpp_apps` and `vpp_app` data sources), or the plan fails. Set exactly one of `group_id` and " +
		"`device_group_id`. Changing it replaces the assignment" + p.replaced + "."
	return a
}

// ConfigValidators requires exactly one of group_id and device_group_id where both exist.
func (r *assignmentResource[M, P]) ConfigValidators(_ context.Context) []resource.ConfigValidator {
	if !r.product.devices {
		return nil
	}
	return []resource.ConfigValidator{resourcevalidator.ExactlyOneOf(path.MatchRoot("group_id"), path.MatchRoot("device_group_id"))}
}

func (r *assignmentResource[M, P]) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = configuredData(req.ProviderData, &resp.Diagnostics, "Resource")
}

// ModifyPlan checks the assignment against the engine's records only (a plan never contacts Apple):
// a shortage of licenses, an unknown asset or group, and remainders to deliver; and it warns what
// destroying or replacing the assignment does to its licenses.
func (r *assignmentResource[M, P]) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if r.data == nil {
		return
	}
	var state P
	if !req.State.Raw.IsNull() {
		state = P(new(M))
		if resp.Diagnostics.Append(req.State.Get(ctx, state)...); resp.Diagnostics.HasError() {
			return
		}
	}
	if req.Plan.Raw.IsNull() {
		if state != nil {
			r.product.warnRemoving(ctx, r.data.engine, &resp.Diagnostics, r.removal(state), "Destroying")
		}
		return
	}
	plan := P(new(M))
	if resp.Diagnostics.Append(req.Plan.Get(ctx, plan)...); resp.Diagnostics.HasError() {
		return
	}
	asset, f := plan.parts()
	var prior *assignmentFields
	replacing := false
	if state != nil {
		var priorAsset *types.String
		priorAsset, prior = state.parts()
		replacing = !asset.Equal(*priorAsset) || !f.GroupID.Equal(prior.GroupID) || !sameDeviceGroup(plan, state)
	}
	if replacing {
		r.product.warnRemoving(ctx, r.data.engine, &resp.Diagnostics, r.removal(state), "Replacing")
	}
	if asset.IsUnknown() || f.GroupID.IsUnknown() || f.Intent.IsUnknown() || f.AllowOversubscription.IsUnknown() ||
		(deviceGroupOf(plan) != nil && deviceGroupOf(plan).IsUnknown()) {
		// An asset or group created in this apply: the engine checks again at apply, before any request.
		return
	}
	unchanged := prior != nil && !replacing && f.Intent.Equal(prior.Intent) && f.AllowOversubscription.Equal(prior.AllowOversubscription)
	r.forecast(ctx, resp, r.input(plan), prior, unchanged)
}

// sameDeviceGroup reports whether plan and state name the same device group (or none).
func sameDeviceGroup(plan, state any) bool {
	p, s := deviceGroupOf(plan), deviceGroupOf(state)
	return p == nil || s == nil || p.Equal(*s)
}

// forecast checks the planned assignment in against the whole plan's demand for its asset, and
// plans the counts of an unchanged assignment (prior, its state): unknown when an apply would
// deliver more, else as they are.
func (r *assignmentResource[M, P]) forecast(ctx context.Context, resp *resource.ModifyPlanResponse, in engine.AssignmentInput, prior *assignmentFields, unchanged bool) {
	f, err := r.data.engine.Forecast(ctx, in, r.data.planned)
	if err != nil {
		var shortage *engine.ShortageError
		if errors.As(err, &shortage) && unchanged {
			// Nothing in the configuration changed: the asset ran short since it was assigned (a
			// refund, a member who accepted). Say so without blocking the rest of the configuration.
			resp.Diagnostics.AddAttributeWarning(groupPath(in.Devices), "Not Enough Licenses",
				"Members of the group are waiting for this "+r.product.noun+". "+explain(err).detail+" Until then they "+
					"receive nothing, and deliveries of this token's "+r.product.noun+"s fail while the shortage lasts.")
			return
		}
		engineError(&resp.Diagnostics, "Cannot Plan "+r.product.title+" Assignment", err, r.product.blameFor(in))
		return
	}
	if !unchanged {
		return // a new assignment, or a new intent: the counts are known after apply
	}
	if f.Deliverable > 0 || f.MembersChange {
		// Licenses were bought, an invitation accepted or a failure fixed: plan an update that
		// delivers the remainder. Or the group's members change: its update delivers to those who
		// join (and reclaims from those who leave), and the counts follow.
		tflog.Debug(ctx, "Planning delivery of the remainder", map[string]any{"assignment_id": prior.ID.ValueString(),
			"deliverable": f.Deliverable, "members_change": f.MembersChange})
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("delivery_status"), types.StringUnknown())...)
		for _, name := range []string{"licensed_count", "pending_count", "unlicensed_count", "failed_count"} {
			resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root(name), types.Int64Unknown())...)
		}
		resp.Diagnostics.Append(resp.Private.SetKey(ctx, privateCountsOnly, []byte("false"))...)
		return
	}
	// Nothing to deliver: the counts are the records' (only timeouts can have changed). They are the
	// state's at a plan, which refreshed them; when an apply plans again, after the group's update
	// delivered to its new members, they are what that update did.
	status, counts := prior.DeliveryStatus, map[string]types.Int64{"licensed_count": prior.LicensedCount,
		"pending_count": prior.PendingCount, "unlicensed_count": prior.UnlicensedCount, "failed_count": prior.FailedCount}
	if cur, err := r.data.engine.GetAssignment(ctx, prior.ID.ValueString()); err == nil {
		status = types.StringValue(cur.Status)
		counts = map[string]types.Int64{"licensed_count": types.Int64Value(int64(cur.Licensed)), "pending_count": types.Int64Value(int64(cur.Pending)),
			"unlicensed_count": types.Int64Value(int64(cur.Unlicensed)), "failed_count": types.Int64Value(int64(cur.Failed))}
	}
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("delivery_status"), status)...)
	for name, v := range counts {
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root(name), v)...)
	}
	// An update planned now only takes the records' counts: the group's update did the work.
	resp.Diagnostics.Append(resp.Private.SetKey(ctx, privateCountsOnly, []byte("true"))...)
}

// privateCountsOnly is the key of the plan's private state that says an update of the assignment
// only takes the records' counts (true), with nothing to deliver, or delivers (false).
const privateCountsOnly = "counts_only"

// countsOnly reports whether the plan's private state says the update only takes the records'
// counts.
func countsOnly(ctx context.Context, private interface {
	GetKey(context.Context, string) ([]byte, diag.Diagnostics)
}) bool {
	b, d := private.GetKey(ctx, privateCountsOnly)
	return !d.HasError() && string(b) == "true"
}

func (r *assignmentResource[M, P]) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan M
	if !ready(ctx, r.data, &resp.Diagnostics, "creating "+r.anAssignment(), decode(req.Plan, &plan)) {
		return
	}
	_, f := P(&plan).parts()
	dctx, cancel, ok := withTimeout(ctx, f.Timeouts.Create, defaultDeliveryTimeout, &resp.Diagnostics)
	defer cancel()
	if !ok {
		return
	}

	// The engine returns the assignment whenever it is stored, even when the timeout cut the run.
	in := r.input(&plan)
	a, err := r.data.engine.CreateAssignment(dctx, in)
	if a.ID != "" {
		// Stored, even if delivery stopped early: save it so that the next apply resumes delivery.
		tflog.Debug(ctx, "Created "+r.product.lower+" assignment", map[string]any{"assignment_id": a.ID, "licensed": a.Licensed, "status": a.Status})
		r.fromAssignment(&plan, a)
		saveState(ctx, &resp.State, resp.Identity, &plan, &resp.Diagnostics)
	}
	r.reportDelivery(&resp.Diagnostics, a, err, in, "Error Creating "+r.product.title+" Assignment", r.product.createStopped)
}

func (r *assignmentResource[M, P]) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state M
	if !ready(ctx, r.data, &resp.Diagnostics, "reading "+r.anAssignment(), decode(req.State, &state)) {
		return
	}
	asset, f := P(&state).parts()
	id := f.ID.ValueString()
	a, err := r.data.engine.RefreshAssignment(ctx, id)
	imported := asset.IsNull() || f.Intent.IsNull()
	if !imported && (errors.Is(err, engine.ErrNotFound) || (err == nil && (a.Intent != f.Intent.ValueString() ||
		a.AllowOversubscription != f.AllowOversubscription.ValueBool()))) {
		// The state is the assignment's truth and the engine's record a cache of it: a database that
		// lacks it (a new runner, a lost or restored database) or holds other settings gets the
		// state's, and the refresh reads its members' users and licenses from Apple.
		if a, err = r.rebuild(ctx, &state, &resp.Diagnostics); resp.Diagnostics.HasError() {
			return
		}
	}
	if err != nil {
		engineError(&resp.Diagnostics, "Unable to Read "+r.product.title+" Assignment", err, nil)
		return
	}
	if imported && !r.gives(a, &resp.Diagnostics) {
		return
	}
	if !r.holds(&state, a) { // else the response already carries the prior state: no need to write it again
		r.fromAssignment(&state, a)
		resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
	}
	state.setIdentity(ctx, resp.Identity, &resp.Diagnostics)
}

// rebuild gives the engine the state's record of the assignment, then refreshes it. A record that
// cannot be rebuilt is an error in diags.
func (r *assignmentResource[M, P]) rebuild(ctx context.Context, state P, diags *diag.Diagnostics) (engine.Assignment, error) {
	_, f := state.parts()
	id := f.ID.ValueString()
	tflog.Info(ctx, "Rebuilding the engine's record of "+r.anAssignment()+" from the state", map[string]any{"assignment_id": id})
	_, err := r.data.engine.RestoreAssignment(ctx, id, r.input(state))
	if err == nil {
		return r.data.engine.RefreshAssignment(ctx, id)
	}
	if errors.Is(err, engine.ErrNotFound) {
		p := r.product
		diags.AddAttributeError(path.Root(p.attr), "Cannot Rebuild "+p.title+" Assignment",
			fmt.Sprintf("The engine's database has no record of assignment %s, and it cannot be rebuilt from the state: %s "+
				"The vpp_token and vpp_user_group resources rebuild their records when they are planned; keep them in "+
				"this configuration and let %s come from the vpp_%s or vpp_%ss data source (so that they are "+
				"planned first), or run the plan again.", id, sentence(err.Error()), p.attr, p.noun, p.noun))
	}
	return engine.Assignment{}, err
}

func (r *assignmentResource[M, P]) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state M
	if !ready(ctx, r.data, &resp.Diagnostics, "updating "+r.anAssignment(), decode(req.Plan, &plan), decode(req.State, &state)) {
		return
	}
	_, f := P(&plan).parts()
	_, prior := P(&state).parts()
	dctx, cancel, ok := withTimeout(ctx, f.Timeouts.Update, defaultDeliveryTimeout, &resp.Diagnostics)
	defer cancel()
	if !ok {
		return
	}

	in := r.input(&plan)
	var a engine.Assignment
	var err error
	if countsOnly(ctx, req.Private) && f.Intent.Equal(prior.Intent) && f.AllowOversubscription.Equal(prior.AllowOversubscription) {
		// The group's update delivered (or reclaimed) this apply: the records' counts are the
		// assignment's, with nothing to deliver (delivering would read every member of the group).
		tflog.Debug(ctx, "Taking the assignment's counts after its group's update", map[string]any{"assignment_id": prior.ID.ValueString()})
		a, err = r.data.engine.GetAssignment(dctx, prior.ID.ValueString())
	} else {
		a, err = r.data.engine.UpdateAssignment(dctx, prior.ID.ValueString(), in)
	}
	if a.ID != "" {
		r.fromAssignment(&plan, a)
		saveState(ctx, &resp.State, resp.Identity, &plan, &resp.Diagnostics)
	}
	r.reportDelivery(&resp.Diagnostics, a, err, in, "Error Updating "+r.product.title+" Assignment", "The change is saved; the next apply resumes delivery.")
}

func (r *assignmentResource[M, P]) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state M
	if !ready(ctx, r.data, &resp.Diagnostics, "deleting "+r.anAssignment(), decode(req.State, &state)) {
		return
	}
	rm := r.removal(&state)
	rep, err := r.data.engine.DeleteAssignment(ctx, rm.id)
	switch {
	case errors.Is(err, engine.ErrNotFound):
		// Gone already: removed all the same.
	case err != nil:
		engineError(&resp.Diagnostics, "Error Deleting "+r.product.title+" Assignment", err, nil)
	default:
		r.product.removed(ctx, r.data.engine, &resp.Diagnostics, rm, rep)
	}
}

// ImportState accepts an assignment id, "<asset_id>/<group_id>" (the group of either kind:
// "<app_id>/<device_group_id>" too), or (import by identity) the asset and the group (of either
// kind too).
func (r *assignmentResource[M, P]) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	if assetID, groupID, ok := r.importedIdentity(ctx, req, &resp.Diagnostics); ok {
		r.product.idValidator.check(path.Root(r.product.attr), assetID, &resp.Diagnostics)
		if !resp.Diagnostics.HasError() {
			r.importPair(ctx, assetID, groupID, resp)
		}
		return
	}
	if resp.Diagnostics.HasError() {
		return
	}
	bad := func() {
		resp.Diagnostics.AddError("Unexpected Import Identifier",
			fmt.Sprintf("Expected import identifier with format: %s/group_id or an assignment id%s. Got: %s", r.product.attr,
				r.product.deviceImportForm(), quoteInput(req.ID)))
	}
	assetID, groupID, composite := strings.Cut(req.ID, "/")
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
	if _, _, _, err := engine.ParseBookID(assetID); err != nil {
		bad()
		return
	}
	r.importPair(ctx, assetID, groupID, resp)
}

// importedIdentity reads the asset and group an import block's identity names; false when the
// import gave an id instead (or reading failed, with a diagnostic).
func (r *assignmentResource[M, P]) importedIdentity(ctx context.Context, req resource.ImportStateRequest, diags *diag.Diagnostics) (assetID, groupID string, ok bool) {
	var ident types.Object
	if !importIdentity(ctx, req, &ident, diags) {
		return "", "", false
	}
	text := func(name string) string {
		s, _ := ident.Attributes()[name].(types.String)
		return s.ValueString()
	}
	return text(r.product.attr), text("group_id"), true
}

// deviceImportForm completes the import identifier's expected formats for an asset that can go to
// a device group ("" for one that cannot).
func (p assignedProduct) deviceImportForm() string {
	if !p.devices {
		return ""
	}
	return " (" + p.attr + "/device_group_id for a device group)"
}

// importPair imports the assignment of the asset assetID to group groupID.
func (r *assignmentResource[M, P]) importPair(ctx context.Context, assetID, groupID string, resp *resource.ImportStateResponse) {
	p := r.product
	if notConfigured(r.data, &resp.Diagnostics, "importing "+r.anAssignment()) {
		return
	}
	a, err := r.data.engine.FindAssignment(ctx, assetID, groupID)
	if err != nil {
		if errors.Is(err, engine.ErrNotFound) {
			resp.Diagnostics.AddError("Cannot Import Non-Existent "+p.title+" Assignment",
				fmt.Sprintf("The engine holds no assignment of %[1]s %[2]s to group %[3]s. Check both ids (the %[1]s's id comes from "+
					"the vpp_%[1]ss data source, the group's from %[4]s), or create the assignment instead.", p.noun, assetID, groupID, p.groupSources()))
			return
		}
		engineError(&resp.Diagnostics, "Unable to Import "+p.title+" Assignment", err, nil)
		return
	}
	if r.gives(a, &resp.Diagnostics) {
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), a.ID)...)
	}
}

// groupSources names the resources whose ids the assignment's group can be.
func (p assignedProduct) groupSources() string {
	if p.devices {
		return "vpp_user_group or vpp_device_group"
	}
	return "vpp_user_group"
}

// gives reports whether the assignment a gives this resource's product; when it gives the other
// one (an import into the wrong resource type), it says which resource manages it.
func (r *assignmentResource[M, P]) gives(a engine.Assignment, diags *diag.Diagnostics) bool {
	if kindOf(a.Kind) == kindOf(r.product.kind) {
		return true
	}
	other := "vpp_ebook_assignment"
	if a.Kind == engine.KindApp {
		other = "vpp_app_assignment"
	}
	diags.AddError("Wrong Resource Type for This Assignment", fmt.Sprintf("Assignment %s gives %s %s to group %s, not "+
		"%s %s: import it as a %s resource instead.", a.ID, kindOf(a.Kind), a.BookID, a.GroupID, article(r.product.noun), r.product.noun, other))
	return false
}

// kindOf is the product an assignment's Kind names: a book unless it says app.
func kindOf(kind string) string {
	if kind == engine.KindApp {
		return engine.KindApp
	}
	return engine.KindBook
}

// article is "an" before an app, "a" before a book.
func article(noun string) string {
	if noun == engine.KindApp {
		return "an"
	}
	return "a"
}

// anAssignment names the resource's object in sentences: "an eBook assignment", "an app assignment".
func (r *assignmentResource[M, P]) anAssignment() string {
	return "an " + r.product.lower + " assignment"
}

func (r *assignmentResource[M, P]) input(m P) engine.AssignmentInput {
	asset, f := m.parts()
	in := engine.AssignmentInput{
		Kind:                  r.product.kind,
		BookID:                asset.ValueString(),
		GroupID:               f.GroupID.ValueString(),
		Intent:                f.Intent.ValueString(),
		AllowOversubscription: f.AllowOversubscription.ValueBool(),
	}
	if d := deviceGroupOf(m); d != nil && !d.IsNull() {
		in.GroupID, in.Devices = d.ValueString(), true
	}
	return in
}

func (r *assignmentResource[M, P]) removal(m P) removal {
	_, f := m.parts()
	return removal{id: f.ID.ValueString(), in: r.input(m), licensed: int(f.LicensedCount.ValueInt64())}
}

func (r *assignmentResource[M, P]) fromAssignment(m P, a engine.Assignment) {
	asset, f := m.parts()
	*asset = types.StringValue(a.BookID)
	f.fromAssignment(a)
	if d := deviceGroupOf(m); d != nil {
		*d, f.GroupID = groupIDs(a)
	}
}

// groupIDs are device_group_id and group_id of the assignment a: the one naming its group holds
// its id, the other is null.
func groupIDs(a engine.Assignment) (device, user types.String) {
	if a.Devices {
		return types.StringValue(a.GroupID), types.StringNull()
	}
	return types.StringNull(), types.StringValue(a.GroupID)
}

// holds reports whether the model already holds what fromAssignment would write. A refresh that
// changes nothing then skips the framework's reflection over the model, a good share of the
// provider's time in a plan of a thousand assignments.
func (r *assignmentResource[M, P]) holds(m P, a engine.Assignment) bool {
	asset, f := m.parts()
	if d := deviceGroupOf(m); d != nil {
		device, user := groupIDs(a)
		return asset.Equal(types.StringValue(a.BookID)) && d.Equal(device) && f.GroupID.Equal(user) && f.holdsCounts(a)
	}
	return asset.Equal(types.StringValue(a.BookID)) && f.holds(a)
}

func (f *assignmentFields) fromAssignment(a engine.Assignment) {
	f.ID = types.StringValue(a.ID)
	f.GroupID = types.StringValue(a.GroupID)
	f.Intent = types.StringValue(a.Intent)
	f.AllowOversubscription = types.BoolValue(a.AllowOversubscription)
	f.LicensedCount = types.Int64Value(int64(a.Licensed))
	f.PendingCount = types.Int64Value(int64(a.Pending))
	f.UnlicensedCount = types.Int64Value(int64(a.Unlicensed))
	f.FailedCount = types.Int64Value(int64(a.Failed))
	f.DeliveryStatus = types.StringValue(a.Status)
}

func (f assignmentFields) holds(a engine.Assignment) bool {
	return types.StringValue(a.GroupID).Equal(f.GroupID) && f.holdsCounts(a)
}

// holdsCounts is holds for all but group_id.
func (f assignmentFields) holdsCounts(a engine.Assignment) bool {
	fresh := f
	fresh.fromAssignment(a)
	return fresh.ID.Equal(f.ID) && fresh.Intent.Equal(f.Intent) && fresh.AllowOversubscription.Equal(f.AllowOversubscription) &&
		fresh.LicensedCount.Equal(f.LicensedCount) && fresh.PendingCount.Equal(f.PendingCount) &&
		fresh.UnlicensedCount.Equal(f.UnlicensedCount) && fresh.FailedCount.Equal(f.FailedCount) &&
		fresh.DeliveryStatus.Equal(f.DeliveryStatus)
}

// reportDelivery reports how a create or update of an assignment went: a stored assignment (a has
// an ID) whose delivery err stopped early, where next says what the next apply does; an error that
// stored nothing, under summary when the error names no fact of its own; or, when all went
// through, the users adopted and the members Apple refused.
func (r *assignmentResource[M, P]) reportDelivery(diags *diag.Diagnostics, a engine.Assignment, err error, in engine.AssignmentInput, summary, next string) {
	a.Kind = r.product.kind // what deliveryStopped and warnFailures name
	switch {
	case err != nil && a.ID != "":
		deliveryStopped(diags, "Error Delivering "+r.product.title+" Assignment", a, err, next)
	case err != nil:
		engineError(diags, summary, err, r.product.blameFor(in))
	default:
		warnAdopted(diags, a.Adopted)
		warnFailures(diags, a)
	}
}

// deliveryStopped reports an assignment that is saved but whose delivery stopped early.
func deliveryStopped(diags *diag.Diagnostics, summary string, a engine.Assignment, err error, next string) {
	diags.AddError(summary, fmt.Sprintf("The assignment of %s %s to %s is saved, but delivering it stopped "+
		"early: %s\n\nSo far %d member(s) are licensed, %d pending, %d failed. Nothing is lost or sent twice: the engine "+
		"journals every request to Apple and reconciles with Apple before sending more. %s",
		kindOf(a.Kind), a.BookID, targetOf(a.Devices, a.GroupID), explain(err).detail, a.Licensed, a.Pending, a.Failed, next))
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
		fmt.Sprintf("%s %s could not be delivered to %d member(s) of %s:%s\n\nEveryone else was delivered. Fix the "+
			"cause (for example an Apple Account that cannot be used at this location) and apply again; the plan "+
			"shows an update when a failure can be retried.", upperFirst(kindOf(a.Kind)), a.BookID, len(a.Failures), targetOf(a.Devices, a.GroupID), b.String()))
}
