package provider

import (
	"context"
	"errors"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"

	"github.com/vppkit/terraform-provider-vpp/internal/engine"
)

// The steps that begin and end the operations of the resources and the reads of the data sources,
// written once.

// modelSource is a request's plan, configuration or state: each decodes into a model.
type modelSource interface {
	Get(ctx context.Context, target any) diag.Diagnostics
}

// decoding is one part of a request (its plan, configuration or state) and the model it decodes
// into.
type decoding struct {
	from modelSource
	into any
}

// decode pairs a part of a request with a pointer to the model it decodes into.
func decode(from modelSource, into any) decoding { return decoding{from: from, into: into} }

// ready begins an operation: it decodes each part of the request into its model, then checks that
// the provider is configured for doing ("creating a VPP token"). False means the operation cannot
// go on, and the diagnostics say why.
func ready(ctx context.Context, data *providerData, diags *diag.Diagnostics, doing string, parts ...decoding) bool {
	for _, p := range parts {
		diags.Append(p.from.Get(ctx, p.into)...)
	}
	return !diags.HasError() && !notConfigured(data, diags, doing)
}

// timeoutOf reads an operation's timeout from a timeouts block (its Create or Update method),
// def when the block leaves it unset.
type timeoutOf func(ctx context.Context, def time.Duration) (time.Duration, diag.Diagnostics)

// withTimeout bounds ctx by the timeout timeout reads (def when unset). False means the timeouts
// block cannot be read, and the diagnostics say why; cancel is to be called either way.
func withTimeout(ctx context.Context, timeout timeoutOf, def time.Duration, diags *diag.Diagnostics) (_ context.Context, cancel context.CancelFunc, ok bool) {
	d, more := timeout(ctx, def)
	if diags.Append(more...); more.HasError() {
		return ctx, func() {}, false
	}
	ctx, cancel = context.WithTimeout(ctx, d)
	return ctx, cancel, true
}

// identified is a resource model that derives the resource's identity from its attributes.
type identified interface {
	setIdentity(ctx context.Context, identity *tfsdk.ResourceIdentity, diags *diag.Diagnostics)
}

// saveState writes the model m points to as the resource's state, and its identity.
func saveState[M identified](ctx context.Context, state *tfsdk.State, identity *tfsdk.ResourceIdentity, m *M, diags *diag.Diagnostics) {
	diags.Append(state.Set(ctx, m)...)
	(*m).setIdentity(ctx, identity, diags)
}

// reportRemoval reports, for a Delete, how removing a record from the engine went (rep and err):
// a record already gone is removed all the same; another error fails the delete, under summary
// when the error names no fact of its own; otherwise the licenses that stay with their users are a
// warning, where what says what was removed and whom who keeps them (see warnLicensesKept).
func reportRemoval(diags *diag.Diagnostics, summary string, rep engine.RemoveReport, err error, what, whom string) {
	if errors.Is(err, engine.ErrNotFound) {
		return
	}
	if err != nil {
		engineError(diags, summary, err, nil)
		return
	}
	warnLicensesKept(diags, nil, what, keptOf(rep), whom)
}
