package provider

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/identityschema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/vppkit/terraform-provider-vpp/internal/engine"
)

var (
	_ resource.Resource                = (*deviceGroupResource)(nil)
	_ resource.ResourceWithConfigure   = (*deviceGroupResource)(nil)
	_ resource.ResourceWithImportState = (*deviceGroupResource)(nil)
	_ resource.ResourceWithModifyPlan  = (*deviceGroupResource)(nil)
	_ resource.ResourceWithIdentity    = (*deviceGroupResource)(nil)
)

// deviceGroupResource is vpp_device_group: a set of device serial numbers, for Apple's
// device-based licensing.
type deviceGroupResource struct {
	data *providerData
}

// NewDeviceGroupResource returns the vpp_device_group resource.
func NewDeviceGroupResource() resource.Resource { return &deviceGroupResource{} }

type deviceGroupResourceModel struct {
	ID            types.String `tfsdk:"id"`
	Name          types.String `tfsdk:"name"`
	Description   types.String `tfsdk:"description"`
	SerialNumbers serialsValue `tfsdk:"serial_numbers"`
	SerialCount   types.Int64  `tfsdk:"serial_count"`
}

// deviceLicensingDescription says what device-based licensing is for, in the resource's and the
// data source's descriptions.
const deviceLicensingDescription = "Apple's device-based licensing gives an app to a device, by its serial number, " +
	"instead of to a person: it is for devices whose users have no Apple Account (shared iPads, kiosks, classroom " +
	"carts) or where the App Store is disabled. A license makes the app the device's to install; installing it is " +
	"the job of the device management system (MDM) that manages the device, not of this provider."

// serialNumberAdvice says what a serial number looks like and where to find one.
const serialNumberAdvice = "A device serial number is " + engine.SerialNumberFormat + "; it is shown in the device's " +
	"About settings, in Apple Business Manager or Apple School Manager, and in the device management system."

// deviceGroupIDAdvice says where the id of a device group comes from.
const deviceGroupIDAdvice = "A device group is a set of devices the configuration defines, so there is nothing to " +
	"read back from Apple: use the id of a vpp_device_group managed with this provider's database " +
	"(vpp_device_group.<name>.id), or declare the group as a new vpp_device_group. Creating it sends nothing to Apple."

func (r *deviceGroupResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_device_group"
}

func (r *deviceGroupResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "A named set of devices, by serial number, for device-based licensing of apps.\n\n" +
			deviceLicensingDescription + "\n\n" +
			"A device group on its own sends nothing to Apple: it records which devices licenses go to. Give it an app " +
			"with a `vpp_app_assignment` whose `device_group_id` is the group's `id`; then devices added to the group " +
			"get the group's apps on apply, and devices removed give back the licenses of revocable apps (the plan " +
			"warns how many, and refuses new devices the apps have no licenses for). Books cannot be licensed to " +
			"devices (Apple licenses books to people only); give them to a `vpp_user_group`.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "The device group's identifier in the engine (a UUID). It stays the same for the group's life.",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"name": schema.StringAttribute{
				Required:            true,
				MarkdownDescription: "The group's name, shown in diagnostics.",
			},
			"description": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "Free text describing the group.",
			},
			"serial_numbers": schema.ListAttribute{
				Required:    true,
				CustomType:  newSerialsType(),
				ElementType: types.StringType,
				MarkdownDescription: "Serial numbers of the group's devices (at least one). " + serialNumberAdvice + " The " +
					"list is a set of devices: its order does not matter and serial numbers are not case-sensitive, so " +
					"reordering or re-casing the list plans no change. List each device once; a serial number listed " +
					"twice is an error that names the repeat.",
				Validators: []validator.List{
					listvalidator.SizeAtLeast(1),
					serialsValidator{},
				},
			},
			"serial_count": schema.Int64Attribute{
				Computed:            true,
				MarkdownDescription: "How many devices the group has.",
			},
		},
	}
}

func (r *deviceGroupResource) IdentitySchema(_ context.Context, _ resource.IdentitySchemaRequest, resp *resource.IdentitySchemaResponse) {
	resp.IdentitySchema = identityschema.Schema{Attributes: map[string]identityschema.Attribute{
		"id": identityschema.StringAttribute{RequiredForImport: true, Description: "The device group's id."},
	}}
}

func (m deviceGroupResourceModel) setIdentity(ctx context.Context, identity *tfsdk.ResourceIdentity, diags *diag.Diagnostics) {
	setIdentity(ctx, identity, known(m.ID), groupIdentityModel{ID: m.ID}, diags)
}

func (r *deviceGroupResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = configuredData(req.ProviderData, &resp.Diagnostics, "Resource")
}

// ModifyPlan plans serial_count once the serial numbers are known, and the state's list when the
// configuration names the same devices in another order or case, so that nothing is planned. A
// change of devices is checked against the group's app assignments: new devices need licenses
// (with the rest of the plan), and devices removed give theirs back.
func (r *deviceGroupResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		r.warnDestroy(ctx, req, resp)
		return
	}
	var plan, state deviceGroupResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if !req.State.Raw.IsNull() {
		resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	}
	if resp.Diagnostics.HasError() || plan.SerialNumbers.IsUnknown() || plan.SerialNumbers.IsNull() {
		return
	}
	planned, _ := plan.SerialNumbers.known()
	if len(planned) != len(plan.SerialNumbers.Elements()) {
		return // serial_count stays unknown until every serial number is known
	}
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("serial_count"), int64(len(planned)))...)
	if state.ID.IsNull() {
		return // a new group: no assignment names it yet
	}
	if state.SerialNumbers.sameSet(plan.SerialNumbers) {
		// The same devices in another order or case: the list in state stands (Terraform accepts a
		// prior value planned for a configured attribute as equivalent), so nothing is planned.
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("serial_numbers"), state.SerialNumbers)...)
		return
	}
	if r.data != nil {
		r.planDevicesChange(ctx, state, planned, resp)
	}
}

// planDevicesChange checks, for the plan, what new and removed devices of an existing group mean:
// the licenses new devices need (with the rest of the plan), and those removed devices give back
// or keep.
func (r *deviceGroupResource) planDevicesChange(ctx context.Context, state deviceGroupResourceModel, planned []string, resp *resource.ModifyPlanResponse) {
	id, name := state.ID.ValueString(), state.Name.ValueString()
	if err := r.data.engine.ForecastDeviceGroup(ctx, id, planned, r.data.planned); errors.Is(err, engine.ErrNotEnoughLicenses) {
		engineErrorIn(&resp.Diagnostics, "Not Enough Licenses", fmt.Sprintf("The devices planned for device group %q need "+
			"more licenses than there are.", name), err, deviceGroupAttrs)
		return
	} else if err != nil {
		tflog.Debug(ctx, "Could not forecast the device group's apps", map[string]any{"device_group_id": id, "error": err.Error()})
	}
	impact, err := r.data.engine.DeviceGroupRemovalImpact(ctx, id, planned)
	if err != nil {
		// The validators report bad serial numbers; a group gone from the engine shows on refresh.
		tflog.Debug(ctx, "Could not count the licenses of removed devices", map[string]any{"device_group_id": id, "error": err.Error()})
		return
	}
	serials := deviceGroupAttrs[aboutMembers]
	warnDeviceLicensesKept(&resp.Diagnostics, &serials, fmt.Sprintf("Removing devices from device group %q does not take "+
		"back every license: they receive no further apps through this group.", name), impact.LicensesKept)
	warnLicensesReclaimed(&resp.Diagnostics, &serials, fmt.Sprintf("Devices are removed from device group %q.", name),
		impact.LicensesReclaimed, "the removed devices")
}

// warnDestroy warns, in the plan, what destroying the group does to its devices' app licenses.
func (r *deviceGroupResource) warnDestroy(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if r.data == nil || req.State.Raw.IsNull() {
		return
	}
	var state deviceGroupResourceModel
	if resp.Diagnostics.Append(req.State.Get(ctx, &state)...); resp.Diagnostics.HasError() {
		return
	}
	impact, err := r.data.engine.DeviceGroupRemovalImpact(ctx, state.ID.ValueString(), nil)
	if err != nil {
		tflog.Debug(ctx, "Could not count the licenses of a destroyed device group", map[string]any{"device_group_id": state.ID.ValueString(), "error": err.Error()})
		return
	}
	name := state.Name.ValueString()
	warnDeviceLicensesKept(&resp.Diagnostics, nil, fmt.Sprintf("Destroying device group %q removes it and its assignments "+
		"from the engine.", name), impact.LicensesKept)
	warnLicensesReclaimed(&resp.Diagnostics, nil, fmt.Sprintf("Device group %q is destroyed.", name), impact.LicensesReclaimed, "its devices")
}

// warnDeviceLicensesKept warns that kept app licenses stay with the devices that leave a group
// (what says what removes them, as a sentence); at, when not nil, is the attribute the warning
// belongs to.
func warnDeviceLicensesKept(diags *diag.Diagnostics, at *path.Path, what string, kept int) {
	warnLicensesKept(diags, at, what, licenseCount{apps: kept, devices: true}, "the devices")
}

func (r *deviceGroupResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan deviceGroupResourceModel
	if !ready(ctx, r.data, &resp.Diagnostics, "creating a device group", decode(req.Plan, &plan)) {
		return
	}
	g, err := r.data.engine.CreateDeviceGroup(ctx, plan.input())
	if err != nil {
		engineError(&resp.Diagnostics, "Error Creating Device Group", err, deviceGroupAttrs)
		return
	}
	tflog.Debug(ctx, "Created device group", map[string]any{"device_group_id": g.ID, "serial_numbers": len(g.SerialNumbers)})
	plan.fromDeviceGroup(g)
	saveState(ctx, &resp.State, resp.Identity, &plan, &resp.Diagnostics)
}

func (r *deviceGroupResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state deviceGroupResourceModel
	if !ready(ctx, r.data, &resp.Diagnostics, "reading a device group", decode(req.State, &state)) {
		return
	}
	var g engine.DeviceGroup
	var err error
	if state.SerialNumbers.IsNull() || state.SerialNumbers.IsUnknown() {
		// Just imported: the engine's record is all there is to read.
		g, err = r.data.engine.GetDeviceGroup(ctx, state.ID.ValueString())
	} else {
		// The state is the group's truth and the engine's record a cache of it: a database that
		// lacks the group (a new runner, a lost or restored database) or holds an older version
		// gets the state's.
		var restored bool
		g, restored, err = r.data.engine.RestoreDeviceGroup(ctx, state.ID.ValueString(), state.input())
		if restored {
			tflog.Info(ctx, "Rebuilt the engine's record of a device group from the state", map[string]any{"device_group_id": state.ID.ValueString()})
		}
	}
	if err != nil {
		engineError(&resp.Diagnostics, "Unable to Read Device Group", err, nil)
		return
	}
	state.fromDeviceGroup(g)
	saveState(ctx, &resp.State, resp.Identity, &state, &resp.Diagnostics)
}

func (r *deviceGroupResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state deviceGroupResourceModel
	if !ready(ctx, r.data, &resp.Diagnostics, "updating a device group", decode(req.Plan, &plan), decode(req.State, &state)) {
		return
	}
	g, change, err := r.data.engine.UpdateDeviceGroup(ctx, state.ID.ValueString(), plan.input())
	if g.ID != "" {
		// Saved, even when delivering the group's apps to new devices stopped: keep what was saved
		// so that the next apply resumes delivery.
		plan.fromDeviceGroup(g)
		saveState(ctx, &resp.State, resp.Identity, &plan, &resp.Diagnostics)
	}
	if err != nil {
		engineError(&resp.Diagnostics, "Error Updating Device Group", err, deviceGroupAttrs)
		return
	}
	tflog.Info(ctx, "Updated device group", map[string]any{"device_group_id": g.ID,
		"licenses_reclaimed": change.LicensesReclaimed, "licenses_kept": change.LicensesKept})
	serials := deviceGroupAttrs[aboutMembers]
	warnDeviceLicensesKept(&resp.Diagnostics, &serials, fmt.Sprintf("Devices were removed from device group %q.", g.Name), change.LicensesKept)
}

func (r *deviceGroupResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state deviceGroupResourceModel
	if !ready(ctx, r.data, &resp.Diagnostics, "deleting a device group", decode(req.State, &state)) {
		return
	}
	rep, err := r.data.engine.DeleteDeviceGroup(ctx, state.ID.ValueString())
	switch {
	case errors.Is(err, engine.ErrNotFound):
		// Gone already: removed all the same.
	case err != nil:
		engineError(&resp.Diagnostics, "Error Deleting Device Group", err, nil)
	default:
		tflog.Info(ctx, "Deleted device group", map[string]any{"device_group_id": state.ID.ValueString(),
			"licenses_reclaimed": rep.LicensesReclaimed, "licenses_kept": rep.LicensesKept})
		warnDeviceLicensesKept(&resp.Diagnostics, nil, fmt.Sprintf("Device group %q was removed from the engine.",
			state.Name.ValueString()), rep.LicensesKept)
	}
}

func (r *deviceGroupResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	resource.ImportStatePassthroughWithIdentity(ctx, path.Root("id"), path.Root("id"), req, resp)
}

// input is the engine's input for the model, keeping the user's spelling of the serial numbers
// (the engine normalises them).
func (m deviceGroupResourceModel) input() engine.DeviceGroupInput {
	return engine.DeviceGroupInput{Name: m.Name.ValueString(), Description: m.Description.ValueString(), SerialNumbers: m.SerialNumbers.strings()}
}

// fromDeviceGroup fills the model from the engine's device group. The serial numbers stay as
// planned or as in state, in the user's order and spelling (Terraform requires it); only a group
// just imported takes the engine's list.
func (m *deviceGroupResourceModel) fromDeviceGroup(g engine.DeviceGroup) {
	m.ID = types.StringValue(g.ID)
	m.Name = types.StringValue(g.Name)
	if g.Description != "" || !m.Description.IsNull() {
		m.Description = types.StringValue(g.Description)
	}
	m.SerialCount = types.Int64Value(int64(len(g.SerialNumbers)))
	if m.SerialNumbers.IsNull() || m.SerialNumbers.IsUnknown() {
		m.SerialNumbers = setListOf[serialRule](g.SerialNumbers)
	}
}

// deviceGroupAttrs are the attributes an engine error about a device group is blamed on: its
// serial numbers are its members, and what its devices need (a shortage) is about them too.
var deviceGroupAttrs = attrs{aboutMembers: path.Root("serial_numbers"), aboutInput: path.Root("serial_numbers"),
	aboutGroup: path.Root("serial_numbers")}

// serialsValidator checks the serial numbers with the engine's rule (engine.CheckSerials): a
// diagnostic on each of the first few entries that is not a serial number or repeats a device
// listed before it, naming its index, and one that counts the rest.
type serialsValidator struct{}

var _ validator.List = serialsValidator{}

func (serialsValidator) Description(_ context.Context) string {
	return "each value must be a device serial number (" + engine.SerialNumberFormat + "), each device listed once " +
		"(serial numbers are not case-sensitive)"
}

func (v serialsValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (serialsValidator) ValidateList(_ context.Context, req validator.ListRequest, resp *validator.ListResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	// Unknown elements are checked once known; a problem names its index in the whole list.
	for i, el := range req.ConfigValue.Elements() {
		if el.IsNull() {
			resp.Diagnostics.AddAttributeError(req.Path.AtListIndex(i), "Invalid Serial Number",
				fmt.Sprintf("%s is null. %s", req.Path.AtListIndex(i), serialNumberAdvice))
		}
	}
	values, index := serialsValue{ListValue: req.ConfigValue}.known()
	at := func(i int) path.Path { return req.Path.AtListIndex(index[i]) }
	p := engine.CheckSerials(values)
	shown := func(n int) int { return min(n, engine.ProblemsShown) }
	for n, bad := range p.Invalid[:shown(len(p.Invalid))] {
		i := at(p.InvalidAt[n])
		resp.Diagnostics.AddAttributeError(i, "Invalid Serial Number", fmt.Sprintf("%s = %s is not a device serial number: "+
			"it %s. %s", i, bad.Quoted(), bad.Reason, serialNumberAdvice))
	}
	for _, d := range p.Duplicates[:shown(len(p.Duplicates))] {
		again, first := at(d.AgainAt), at(d.FirstAt)
		resp.Diagnostics.AddAttributeError(again, "Duplicate Serial Number", fmt.Sprintf("%s = %s repeats %s = %s: serial "+
			"numbers are not case-sensitive, so both name the same device. List each device once.",
			again, quoteInput(d.Again), first, quoteInput(d.First)))
	}
	if rest := len(p.Invalid) - shown(len(p.Invalid)) + len(p.Duplicates) - shown(len(p.Duplicates)); rest > 0 {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid Serial Numbers", fmt.Sprintf("%d more entries of %s are not "+
			"device serial numbers or repeat a device listed before them. %s List each device once.", rest, req.Path, serialNumberAdvice))
	}
}
