package provider

import (
	"context"
	"maps"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/vppkit/terraform-provider-vpp/internal/engine"
)

var _ datasource.DataSourceWithConfigure = (*appsDataSource)(nil)

// appsDataSource is vpp_apps: the purchased apps the engine holds, optionally filtered.
type appsDataSource struct {
	data *providerData
}

// NewAppsDataSource returns the vpp_apps data source.
func NewAppsDataSource() datasource.DataSource { return &appsDataSource{} }

type appsDataSourceModel struct {
	ID               types.String `tfsdk:"id"`
	TokenID          types.String `tfsdk:"token_id"`
	Name             types.String `tfsdk:"name"`
	BundleID         types.String `tfsdk:"bundle_id"`
	Platform         types.String `tfsdk:"platform"`
	DeviceAssignable types.Bool   `tfsdk:"device_assignable"`
	MinAvailable     types.Int64  `tfsdk:"min_available"`
	Apps             []appModel   `tfsdk:"apps"`
}

// appModel is one app, as vpp_apps lists it and vpp_app returns it.
type appModel struct {
	ID                types.String `tfsdk:"id"`
	TokenID           types.String `tfsdk:"token_id"`
	AdamID            types.String `tfsdk:"adam_id"`
	PricingParam      types.String `tfsdk:"pricing_param"`
	Name              types.String `tfsdk:"name"`
	Developer         types.String `tfsdk:"developer"`
	BundleID          types.String `tfsdk:"bundle_id"`
	Platforms         types.List   `tfsdk:"platforms"`
	Version           types.String `tfsdk:"version"`
	Price             types.String `tfsdk:"price"`
	IconURL           types.String `tfsdk:"icon_url"`
	Revocable         types.Bool   `tfsdk:"revocable"`
	DeviceAssignable  types.Bool   `tfsdk:"device_assignable"`
	TotalLicenses     types.Int64  `tfsdk:"total_licenses"`
	AssignedLicenses  types.Int64  `tfsdk:"assigned_licenses"`
	AvailableLicenses types.Int64  `tfsdk:"available_licenses"`
	RetiredLicenses   types.Int64  `tfsdk:"retired_licenses"`
}

// applePlatforms are the values of Apple's supportedPlatforms, spelled as Apple spells them.
var applePlatforms = []string{"iOS", "macOS", "tvOS", "watchOS", "visionOS"}

// appLicensesDoc says what an app's license is, and what it is not.
const appLicensesDoc = "A license makes the app its holder's to install: a user's (on their Apple Account) or a " +
	"device's (by serial number). It installs nothing: putting the app on a device is the job of the device " +
	"management system (MDM)."

// appDescriptions describes each attribute of an app; vpp_app adds to some of them.
var appDescriptions = withLicenses(map[string]string{
	"id":        "The app's identifier in the engine, `<token_id>:<adam_id>:<pricing_param>`.",
	"adam_id":   "Apple's store identifier of the app (`adamId`).",
	"name":      "The app's name, from Apple's content metadata (empty until a sync has looked it up).",
	"developer": "The app's developer, from Apple's content metadata.",
	"bundle_id": "The app's bundle identifier (such as `com.apple.Pages`), from Apple's content metadata: the " +
		"identifier device management systems know the app by.",
	"platforms": "The platforms the app runs on, as Apple names them: `iOS`, `macOS`, `tvOS`, `watchOS`, `visionOS`.",
	"version":   "The app's current version in the App Store, from Apple's content metadata.",
	"price":     "The app's price as the App Store shows it (`Free`, `$1.99`), from Apple's content metadata.",
	"icon_url":  "URL of the app's icon, from Apple's content metadata (may be a template with `{w}`, `{h}` and `{f}`).",
	"revocable": "Whether a license of the app can be taken back from its user or device (and given to another). " +
		"Apple says which apps allow it.",
	"device_assignable": "Whether the app can be licensed to a device serial number: device-based licensing, for " +
		"devices whose users have no Apple Account. When false, only users can hold its licenses.",
	"assigned_licenses": "Licenses assigned to users or devices, as of the token's last sync.",
})

// appAttributes are the computed attributes of an app in vpp_apps' list.
func appAttributes() map[string]schema.Attribute {
	kinds := maps.Clone(licenseKinds)
	kinds["platforms"] = stringListValue
	attrs := computedAttributes(appDescriptions, kinds)
	for _, name := range []string{"revocable", "device_assignable"} {
		attrs[name] = schema.BoolAttribute{Computed: true, MarkdownDescription: appDescriptions[name]}
	}
	return attrs
}

func (d *appsDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_apps"
}

func (d *appsDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = assetList{plural: "apps", one: "An app", more: appLicensesDoc + " ", entry: appAttributes(), filters: map[string]schema.Attribute{
		"name":      textFilter("Only apps whose name contains this text, ignoring case."),
		"bundle_id": textFilter("Only the app with this bundle identifier, ignoring case (once per token that bought it)."),
		"platform": schema.StringAttribute{
			Optional: true,
			MarkdownDescription: "Only apps that run on this platform, spelled as Apple does: `iOS`, `macOS`, `tvOS`, " +
				"`watchOS` or `visionOS`.",
			Validators: []validator.String{stringvalidator.OneOf(applePlatforms...)},
		},
		"device_assignable": schema.BoolAttribute{
			Optional: true,
			MarkdownDescription: "`true`: only apps that can be licensed to devices (device-based licensing, for " +
				"devices whose users have no Apple Account). `false`: only apps that only users can hold. By default, both.",
		},
	}}.schema()
}

func (d *appsDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = configuredData(req.ProviderData, &resp.Diagnostics, "Data Source")
}

func (d *appsDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m appsDataSourceModel
	if !ready(ctx, d.data, &resp.Diagnostics, "reading the vpp_apps data source", decode(req.Config, &m)) {
		return
	}
	apps, ok := readFresh(ctx, d.data.engine, m.TokenID.ValueString(), &resp.Diagnostics, "Unable to Read Apps",
		attrs{aboutToken: path.Root("token_id")}, func() ([]engine.App, error) { return d.data.engine.ListApps(ctx, m.filter()) })
	if !ok {
		return
	}
	m.ID = types.StringValue(filterID("apps", m.TokenID.ValueString(), m.Name.ValueString(), m.BundleID.ValueString(),
		m.Platform.ValueString(), m.DeviceAssignable.String(), m.MinAvailable.String()))
	m.Apps = modelsOf(ctx, apps, newAppModel, &resp.Diagnostics)
	setRead(ctx, &resp.State, &m, &resp.Diagnostics)
}

// filter is the engine's filter for m's arguments.
func (m appsDataSourceModel) filter() engine.AppFilter {
	return engine.AppFilter{
		TokenID:          m.TokenID.ValueString(),
		NameContains:     m.Name.ValueString(),
		BundleID:         m.BundleID.ValueString(),
		Platform:         m.Platform.ValueString(),
		MinAvailable:     int(m.MinAvailable.ValueInt64()),
		DeviceAssignable: m.DeviceAssignable.ValueBoolPointer(),
	}
}

func newAppModel(ctx context.Context, a engine.App) (appModel, diag.Diagnostics) {
	platforms, diags := stringList(ctx, a.Platforms)
	return appModel{
		ID:                types.StringValue(a.ID),
		TokenID:           types.StringValue(a.TokenID),
		AdamID:            types.StringValue(a.AdamID),
		PricingParam:      types.StringValue(a.PricingParam),
		Name:              types.StringValue(a.Name),
		Developer:         types.StringValue(a.Developer),
		BundleID:          types.StringValue(a.BundleID),
		Platforms:         platforms,
		Version:           types.StringValue(a.Version),
		Price:             types.StringValue(a.Price),
		IconURL:           types.StringValue(a.IconURL),
		Revocable:         types.BoolValue(a.Revocable),
		DeviceAssignable:  types.BoolValue(a.DeviceAssignable),
		TotalLicenses:     types.Int64Value(int64(a.Total)),
		AssignedLicenses:  types.Int64Value(int64(a.Assigned)),
		AvailableLicenses: types.Int64Value(int64(a.Available)),
		RetiredLicenses:   types.Int64Value(int64(a.Retired)),
	}, diags
}
