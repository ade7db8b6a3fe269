package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/vppkit/terraform-provider-vpp/internal/engine"
)

// appAssignmentResource is vpp_app_assignment: one app given to one user group (user licensing) or
// to one device group (device licensing).
type appAssignmentResource = assignmentResource[appAssignmentResourceModel, *appAssignmentResourceModel]

// NewAppAssignmentResource returns the vpp_app_assignment resource.
func NewAppAssignmentResource() resource.Resource { return &appAssignmentResource{product: appProduct} }

type appAssignmentResourceModel struct {
	AppID         types.String `tfsdk:"app_id"`
	DeviceGroupID types.String `tfsdk:"device_group_id"`
	assignmentFields
}

func (m *appAssignmentResourceModel) deviceGroupID() *types.String { return &m.DeviceGroupID }

func (m *appAssignmentResourceModel) parts() (*types.String, *assignmentFields) {
	return &m.AppID, &m.assignmentFields
}

// appProduct is what vpp_app_assignment assigns: an app, whose licenses come back when the
// assignment goes if Apple lets the app be revoked.
var appProduct = assignedProduct{
	kind:        engine.KindApp,
	typeName:    "_app_assignment",
	title:       "App",
	lower:       "app",
	noun:        "app",
	attr:        "app_id",
	about:       aboutApp,
	idValidator: appIDValidator,
	description: "Assigns one purchased app to one `vpp_user_group` (user licensing), as `required` (every member " +
		"gets a license now) or `available` (a member gets a license once their invitation is accepted, or at once " +
		"for Managed Apple Accounts). A license makes the app the member's to install from the App Store's purchased " +
		"list; it installs nothing: putting the app on a device is the device management system's (MDM's) job, not " +
		"this provider's. Apply delivers the licenses, batched and rate-limited to Apple's limits; an interrupted " +
		"apply resumes on the next one without losing or spending a license twice.\n\n" +
		"With `device_group_id` instead of `group_id`, the app goes to a `vpp_device_group` (device licensing): " +
		"each device holds a license by its serial number, with no Apple Account and no invitation, so both intents " +
		"license every device at once, and a device removed from the group gives its license back (when the app is " +
		"revocable). Only apps Apple marks device-assignable (`device_assignable` in the `vpp_apps` and `vpp_app` " +
		"data sources) can be licensed to devices; the plan fails for the others.\n\n" +
		"The plan fails, before anything is sent to Apple, when the group needs more licenses than the app has " +
		"available, unless `allow_oversubscription = true`. When licenses are bought, an invitation is accepted or " +
		"a failure is fixed, the next plan shows an update that delivers the remainder.\n\n" +
		"~> Destroying or replacing the assignment of a revocable app reclaims its licenses at Apple from the group's " +
		"members that no other assignment of the app covers, and returns them to the app's available licenses; the " +
		"plan warns how many. The licenses of an app whose `revocable` is false stay with their users.",
	assetDescription: "The app to assign, as `<token_id>:<adam_id>:<pricing_param>`: the `id` of an app from the " +
		"`vpp_apps` or `vpp_app` data source.",
	replaced: " (the licenses given through the old one are reclaimed as on destroy, when the app is revocable)",
	createStopped: "Terraform marks the new assignment as tainted because its creation reported an error, so the next apply " +
		"replaces it: for a revocable app that reclaims the licenses given so far, then gives them again. To resume " +
		"delivery in place instead, run terraform untaint on this vpp_app_assignment before the next apply.",
	warnRemoving: warnAppRemoval,
	removed:      reportAppRemoved,
	devices:      true,
}

// warnAppRemoval warns, in a plan that destroys or replaces (doing) the assignment of an app, how
// many of its licenses will be reclaimed, or stay with their users.
func warnAppRemoval(ctx context.Context, eng *engine.Engine, diags *diag.Diagnostics, rm removal, doing string) {
	rep, err := eng.ForecastRemoval(ctx, rm.id)
	if err != nil {
		// The engine no longer holds the assignment (the refresh says so) or cannot read it now: the
		// plan goes on, and the apply reports what it did.
		tflog.Debug(ctx, "Cannot forecast the removal of an app assignment", map[string]any{"assignment_id": rm.id, "error": err.Error()})
		return
	}
	app := describeApp(ctx, eng, rm.in.BookID)
	warnLicensesReclaimed(diags, nil, fmt.Sprintf("%s %s takes back the licenses of app %s that it alone gives.%s", doing,
		rm.what(), app.label, app.keptElsewhere(rep.LicensesKept)), rep.LicensesReclaimed, holdersOf(rm.in))
	app.warnKept(diags, doing+" "+rm.what()+" removes it from the engine only.", rep.LicensesKept, rm.in.Devices)
}

// holdersOf names who holds the licenses of the assignment in: "group <id>'s members", or
// "device group <id>'s devices".
func holdersOf(in engine.AssignmentInput) string {
	if in.Devices {
		return targetOf(true, in.GroupID) + "'s devices"
	}
	return targetOf(false, in.GroupID) + "'s members"
}

// reportAppRemoved reports, after the assignment of an app was deleted, the licenses that stay with
// their users because Apple does not let the app be reclaimed.
func reportAppRemoved(ctx context.Context, eng *engine.Engine, diags *diag.Diagnostics, rm removal, rep engine.RemoveReport) {
	tflog.Info(ctx, "Removed an app assignment", map[string]any{"assignment_id": rm.id,
		"licenses_reclaimed": rep.LicensesReclaimed, "licenses_kept": rep.LicensesKept})
	describeApp(ctx, eng, rm.in.BookID).warnKept(diags, upperFirst(rm.what())+" was removed.", rep.LicensesKept, rm.in.Devices)
}

// appDescription is what the warnings about an app's licenses say of the app.
type appDescription struct {
	label     string // `"Pages" (<id>)`, or the id when the engine no longer holds the app
	revocable bool
}

func describeApp(ctx context.Context, eng *engine.Engine, id string) appDescription {
	app, err := eng.GetApp(ctx, id)
	if err != nil || app.Name == "" {
		return appDescription{label: id, revocable: err == nil && app.Revocable}
	}
	return appDescription{label: fmt.Sprintf("%q (%s)", app.Name, id), revocable: app.Revocable}
}

// keptElsewhere says, after the reclaimed licenses, that kept licenses of a revocable app stay
// because other assignments of it cover their holders ("" when none do).
func (a appDescription) keptElsewhere(kept int) string {
	if kept <= 0 || !a.revocable {
		return ""
	}
	return fmt.Sprintf(" %s with members that another assignment of the app covers.", upperFirst(licenseCount{apps: kept}.stay()))
}

// warnKept warns that kept licenses of an app Apple does not let be reclaimed stay with their
// users; what says what is (or would be) removed, as a sentence. Kept licenses of a revocable app
// are those another assignment covers: nothing to warn about.
func (a appDescription) warnKept(diags *diag.Diagnostics, what string, kept int, devices bool) {
	if a.revocable {
		return
	}
	whom := "their users"
	if devices {
		whom = "their devices"
	}
	warnLicensesKept(diags, nil, fmt.Sprintf("%s App %s is not revocable (Apple's revocable = false).", what, a.label),
		licenseCount{apps: kept, devices: devices}, whom)
}
