package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"

	"github.com/vppkit/terraform-provider-vpp/internal/engine"
)

var _ datasource.DataSourceWithConfigure = (*appDataSource)(nil)

// appDataSource is vpp_app: exactly one purchased app, by id, adamId, bundle id or exact name.
type appDataSource struct {
	data *providerData
}

// NewAppDataSource returns the vpp_app data source.
func NewAppDataSource() datasource.DataSource { return &appDataSource{} }

// appFinders are the arguments that find an app; exactly one of them is set.
var appFinders = []string{"id", "adam_id", "bundle_id", "name"}

// exactlyOneFinder is what each finder's description ends with.
const exactlyOneFinder = " Exactly one of `id`, `adam_id`, `bundle_id` and `name` is required."

func (d *appDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_app"
}

func (d *appDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	finders := make([]path.Expression, 0, len(appFinders))
	for _, name := range appFinders {
		finders = append(finders, path.MatchRoot(name))
	}
	nonEmpty := stringvalidator.LengthAtLeast(1)
	attrs := appAttributes()
	attrs["id"] = lookupArgument(appDescriptions["id"]+" Look the app up by it (from `vpp_apps`, say)."+exactlyOneFinder,
		stringvalidator.ExactlyOneOf(finders...), appIDValidator)
	attrs["adam_id"] = lookupArgument(appDescriptions["adam_id"]+" Look the app up by it; when several tokens' "+
		"locations bought it, add `token_id`."+exactlyOneFinder, nonEmpty)
	attrs["bundle_id"] = lookupArgument(appDescriptions["bundle_id"]+" Look the app up by it (ignoring case); when "+
		"several tokens' locations bought it, add `token_id`."+exactlyOneFinder, nonEmpty)
	attrs["name"] = lookupArgument(appDescriptions["name"]+" Look the app up by its exact name (case-sensitive, as "+
		"Apple spells it; `vpp_apps` matches substrings)."+exactlyOneFinder, nonEmpty)
	attrs["token_id"] = lookupArgument(appDescriptions["token_id"]+" Set it to choose among several tokens holding the "+
		"app; an `id` names its token already.", nonEmpty, stringvalidator.ConflictsWith(path.MatchRoot("id")))
	resp.Schema = schema.Schema{
		MarkdownDescription: "One purchased app, found by `id`, by `adam_id` or `bundle_id` (with `token_id` when " +
			"several tokens hold it) or by exact `name`, with its license counts as of its token's last sync. Finding " +
			"none, or several, is an error that lists what matched. " + appLicensesDoc + " Reading it syncs the token " +
			"first when its last sync is older than the provider's `sync_interval`; it never changes anything at Apple.",
		Attributes: attrs,
	}
}

func (d *appDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = configuredData(req.ProviderData, &resp.Diagnostics, "Data Source")
}

func (d *appDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m appModel
	if !ready(ctx, d.data, &resp.Diagnostics, "reading the vpp_app data source", decode(req.Config, &m)) {
		return
	}
	read, tokenID, ok := d.finder(ctx, m, &resp.Diagnostics)
	if !ok {
		return
	}
	a, ok := readFresh(ctx, d.data.engine, tokenID, &resp.Diagnostics, "Unable to Read App", m.blame(), read)
	if !ok {
		return
	}
	out, diags := newAppModel(ctx, a)
	resp.Diagnostics.Append(diags...)
	setRead(ctx, &resp.State, &out, &resp.Diagnostics)
}

// finder returns how to read the app m's arguments name, and the token to bring up to date first
// (every token when ""). False means the id is malformed, and diags say so.
func (d *appDataSource) finder(ctx context.Context, m appModel, diags *diag.Diagnostics) (func() (engine.App, error), string, bool) {
	if m.ID.IsNull() {
		return func() (engine.App, error) {
			return d.data.engine.FindApp(ctx, m.AdamID.ValueString(), m.BundleID.ValueString(), m.TokenID.ValueString(), m.Name.ValueString())
		}, m.TokenID.ValueString(), true
	}
	id := m.ID.ValueString()
	// An app's id has a book id's form (engine.AssetID); one unknown at plan time escaped appIDValidator.
	tokenID, _, _, err := engine.ParseBookID(id)
	if err != nil {
		appIDValidator.check(path.Root("id"), id, diags)
		return nil, "", false
	}
	return func() (engine.App, error) { return d.data.engine.GetApp(ctx, id) }, tokenID, true
}

// blame maps what an engine error is about to the argument that found the app: an id names its
// token too.
func (m appModel) blame() attrs {
	switch {
	case !m.ID.IsNull():
		return attrs{aboutApp: path.Root("id"), aboutToken: path.Root("id")}
	case !m.AdamID.IsNull():
		return attrs{aboutApp: path.Root("adam_id"), aboutToken: path.Root("token_id")}
	case !m.BundleID.IsNull():
		return attrs{aboutApp: path.Root("bundle_id"), aboutToken: path.Root("token_id")}
	}
	return attrs{aboutApp: path.Root("name"), aboutToken: path.Root("token_id")}
}

// appIDValidator checks the form of an app id (<token_id>:<adam_id>:<pricing_param>).
var appIDValidator = stringCheck{
	description: "value must be an app id of the form <token_id>:<adam_id>:<pricing_param>",
	check: func(at path.Path, value string, diags *diag.Diagnostics) {
		if _, _, _, err := engine.ParseBookID(value); err != nil {
			x := malformedID("App", value, appIDAdvice, aboutApp)
			diags.AddAttributeError(at, x.summary, x.detail)
		}
	},
}
