package provider

import (
	"context"
	"maps"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/vppkit/terraform-provider-vpp/internal/engine"
)

// Books and apps are both purchased content with license counts (the engine's assets): what their
// data sources (vpp_books, vpp_book, vpp_apps, vpp_app) do alike is here.

// licenseDescriptions describe the attributes books and apps share: where the licenses were bought
// and how many there are. (assigned_licenses differs: books go to users only.)
var licenseDescriptions = map[string]string{
	"pricing_param": "The quality the licenses were bought at: `STDQ` (standard) or `PLUS` (high quality).",
	"token_id":      "The `vpp_token` whose location bought the licenses.",
	"total_licenses": "Licenses bought, as of the token's last sync. Counts refresh when a refresh finds the token's last " +
		"sync older than the provider's `sync_interval`, or when the token's `sync_trigger` changes.",
	"available_licenses": "Licenses neither assigned nor retired, as of the token's last sync: what new assignments can use.",
	"retired_licenses":   "Licenses Apple retired (refunded), as of the token's last sync.",
}

// licenseKinds are the types of the license counts, for computedAttributes.
var licenseKinds = map[string]valueKind{"total_licenses": wholeNumber, "assigned_licenses": wholeNumber,
	"available_licenses": wholeNumber, "retired_licenses": wholeNumber}

// withLicenses is descriptions plus licenseDescriptions.
func withLicenses(descriptions map[string]string) map[string]string {
	out := maps.Clone(descriptions)
	maps.Copy(out, licenseDescriptions)
	return out
}

// assetList is a list data source of books or apps (vpp_books, vpp_apps).
type assetList struct {
	plural string // what it lists: "books"
	one    string // one of them, with its article: "A book"
	more   string // what its description says besides what every such list's says ("" or sentences and a space)
	// filters are its filters besides those of every such list (token_id and min_available).
	filters map[string]schema.Attribute
	entry   map[string]schema.Attribute // the attributes of one listed book or app
}

// schema is the list data source's schema.
func (l assetList) schema() schema.Schema {
	attrs := map[string]schema.Attribute{
		"id": schema.StringAttribute{
			Computed:            true,
			MarkdownDescription: "An identifier derived from the filters, stable for the same filters.",
		},
		"token_id": textFilter("Only " + l.plural + " of this `vpp_token` (its `id`). By default, " + l.plural + " of every token."),
		"min_available": schema.Int64Attribute{
			Optional:            true,
			MarkdownDescription: "Only " + l.plural + " with at least this many available licenses.",
			Validators:          []validator.Int64{int64validator.AtLeast(0)},
		},
		l.plural: schema.ListNestedAttribute{
			Computed: true,
			MarkdownDescription: "The matching " + l.plural + ", ordered by token, then `adam_id`, then `pricing_param`. " +
				l.one + " bought by several locations appears once per token.",
			NestedObject: schema.NestedAttributeObject{Attributes: l.entry},
		},
	}
	maps.Copy(attrs, l.filters)
	return schema.Schema{
		MarkdownDescription: "The purchased " + l.plural + " the engine holds for its tokens, with license counts as of " +
			"each token's last sync, optionally filtered. " + l.more + "Reading it syncs a token first when its last " +
			"sync is older than the provider's `sync_interval`; it never changes anything at Apple.",
		Attributes: attrs,
	}
}

// textFilter is an optional, non-empty text filter of a list data source.
func textFilter(description string) schema.StringAttribute {
	return schema.StringAttribute{Optional: true, MarkdownDescription: description,
		Validators: []validator.String{stringvalidator.LengthAtLeast(1)}}
}

// lookupArgument is an argument of a data source that finds one book or app (adam_id, title, ...):
// optional, and computed from what was found when another argument found it.
func lookupArgument(description string, validators ...validator.String) schema.StringAttribute {
	return schema.StringAttribute{Optional: true, Computed: true, MarkdownDescription: description, Validators: validators}
}

// readFresh brings the token tokenID (every token when "") up to date, then reads with read. It
// reports a failure of either under summary, on the attribute at maps the error to, and returns
// false.
func readFresh[T any](ctx context.Context, e *engine.Engine, tokenID string, diags *diag.Diagnostics, summary string, at attrs,
	read func() (T, error),
) (T, bool) {
	var out T
	err := e.RefreshBooks(ctx, tokenID) // it syncs the token's assets: apps as well as books
	if err == nil {
		out, err = read()
	}
	if err != nil {
		engineError(diags, summary, err, at)
		return out, false
	}
	return out, true
}

// modelsOf converts items with model, adding its diagnostics to diags.
func modelsOf[T, M any](ctx context.Context, items []T, model func(context.Context, T) (M, diag.Diagnostics), diags *diag.Diagnostics) []M {
	out := make([]M, 0, len(items))
	for _, it := range items {
		m, more := model(ctx, it)
		diags.Append(more...)
		out = append(out, m)
	}
	return out
}

// stringList is a list value of ss: an empty list, not a null one, for none.
func stringList(ctx context.Context, ss []string) (types.List, diag.Diagnostics) {
	if ss == nil {
		ss = []string{}
	}
	return types.ListValueFrom(ctx, types.StringType, ss)
}

// setRead saves the model m a data source read as its state, unless diags already hold an error.
func setRead(ctx context.Context, state *tfsdk.State, m any, diags *diag.Diagnostics) {
	if diags.HasError() {
		return
	}
	diags.Append(state.Set(ctx, m)...)
}
