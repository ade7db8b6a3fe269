package provider

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/vppkit/terraform-provider-vpp/internal/engine"
)

// tokenLicenseHolders is who keeps the licenses of a destroyed token's location.
const tokenLicenseHolders = "the users they were given to"

// removeOptions is what destroying the token does with its licenses, as on_destroy in the state m
// says: destroy uses the state, since the configuration may be gone. Null (a state written before
// on_destroy existed) keeps them, as destroying did then.
func removeOptions(m tokenResourceModel) engine.RemoveTokenOptions {
	return engine.RemoveTokenOptions{ReleaseAppLicenses: m.OnDestroy.ValueString() == onDestroyRelease}
}

// planDestroy says, in a plan that destroys the token, what becomes of the licenses its location
// gave, as the state's on_destroy says, from the engine's records (nothing is sent to Apple): the
// licenses that stay, and those that will be released. A token that cannot release the licenses it
// is to release fails the plan, before anything is destroyed.
func (r *tokenResource) planDestroy(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if r.data == nil || r.data.engine == nil || req.State.Raw.IsNull() {
		return
	}
	var state tokenResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	f, err := r.data.engine.ForecastTokenRemoval(ctx, state.ID.ValueString(), removeOptions(state))
	if errors.As(err, new(*engine.ReleaseError)) {
		releaseError(&resp.Diagnostics, err)
		return
	}
	if err != nil {
		// A token gone from the engine is destroyed without a word; other errors show at the destroy.
		tflog.Debug(ctx, "Could not count the licenses of the token to destroy", map[string]any{"token_id": state.ID.ValueString(), "error": err.Error()})
		return
	}
	location := state.LocationName.ValueString()
	what := fmt.Sprintf("Destroying the vpp_token for %q makes the engine forget the token, its books and its assignments.", location)
	warnLicensesKept(&resp.Diagnostics, nil, what, keptOf(f), tokenLicenseHolders)
	warnAppLicensesKept(&resp.Diagnostics, what, f.AppLicensesKept, fmt.Sprintf("To take them back at Apple instead, set "+
		"on_destroy = %q and apply before destroying.", onDestroyRelease))
	warnLicensesReclaimed(&resp.Diagnostics, nil, fmt.Sprintf("The vpp_token for %q is destroyed with on_destroy = %q.",
		location, onDestroyRelease), f.LicensesReclaimed, tokenLicenseHolders)
}

// warnAppLicensesKept warns that n revocable app licenses stay with their users because on_destroy
// keeps them (Apple would let them be taken back). what says what is (or was) destroyed, as a
// sentence; advice, what can still be done about them.
func warnAppLicensesKept(diags *diag.Diagnostics, what string, n int, advice string) {
	if n <= 0 {
		return
	}
	diags.AddWarning("App Licenses Stay With Their Users", fmt.Sprintf("%s %s with %s: on_destroy = %q keeps them, so "+
		"they still count as assigned at Apple although the apps are revocable. %s", what, licenseCount{apps: n}.stay(), tokenLicenseHolders,
		onDestroyKeep, advice))
}

// releaseError reports a destroy that was to release the token's app licenses and could not (a
// ReleaseError): the engine's error as explain words it, and what to do in on_destroy's terms. The
// token stays, in the state and in the engine.
func releaseError(diags *diag.Diagnostics, err error) {
	var rel *engine.ReleaseError
	errors.As(err, &rel)
	x := explain(err) // a ReleaseError always has a summary of its own
	next := "To keep them with their users instead, "
	if rel.Refused() {
		next = "To destroy it keeping the licenses with their users instead, "
	}
	diags.AddError(x.summary, fmt.Sprintf("%s\n\nThe vpp_token is not destroyed (on_destroy = %q). %sset on_destroy = %q "+
		"and apply before destroying.", x.detail, onDestroyRelease, next, onDestroyKeep))
}
