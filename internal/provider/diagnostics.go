package provider

import (
	"errors"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"

	"github.com/vppkit/terraform-provider-vpp/internal/apple"
	"github.com/vppkit/terraform-provider-vpp/internal/engine"
)

// configuredData checks the provider data handed to a resource, data source or function.
// It returns nil (without a diagnostic) before the provider is configured, as the framework
// calls Configure with nil ProviderData during validation.
func configuredData(data any, diags *diag.Diagnostics, kind string) *providerData {
	if data == nil {
		return nil
	}
	d, ok := data.(*providerData)
	if !ok {
		diags.AddError("Unexpected "+kind+" Configure Type",
			fmt.Sprintf("Expected *provider.providerData, got: %T. This is always a bug in the provider and should be reported to the provider developers.", data))
		return nil
	}
	return d
}

// engineError adds a diagnostic for an engine error: on attr when given (the attribute to blame),
// otherwise on the resource. The engine's error texts already say what is wrong and what to do.
func engineError(diags *diag.Diagnostics, attr *path.Path, summary string, err error) {
	detail := err.Error()
	switch {
	case errors.Is(err, engine.ErrDeliveryIncomplete):
		detail += "\n\nNothing was lost: the engine journals every request and the next apply resumes where this one stopped."
	case errors.Is(err, apple.ErrOutcomeUnknown):
		detail += "\n\n" + outcomeUnknownHint
	case errors.Is(err, engine.ErrTokenUnusable), errors.Is(err, engine.ErrExternalMDM):
		// the engine's text names the cause and the remedy
	}
	if attr != nil {
		diags.AddAttributeError(*attr, summary, detail)
		return
	}
	diags.AddError(summary, detail)
}

// outcomeUnknownHint explains a request whose outcome is unknown, and what to do.
const outcomeUnknownHint = "The connection to Apple broke after the request was sent, so whether Apple applied it is not " +
	"known. Apply again: the engine first reads Apple's records and sends only what is still missing, so nothing is done twice."

func attrPath(name string) *path.Path {
	p := path.Root(name)
	return &p
}

// warnAdopted reports the existing VPP users a delivery recognised at Apple instead of creating
// them (a take-over from another system, or another engine's users), with the licenses they held.
func warnAdopted(diags *diag.Diagnostics, a engine.Adoption) {
	if a.Users == 0 {
		return
	}
	diags.AddWarning("Existing VPP Users Adopted",
		fmt.Sprintf("%d member(s) already had a VPP user at this location (created by another system, or by this "+
			"provider with another database), holding %d book license(s) there. They were adopted as they are: no user "+
			"was created for them and none of those licenses was spent again.", a.Users, a.Licenses))
}
