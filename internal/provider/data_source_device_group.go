package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

var _ datasource.DataSourceWithConfigure = (*deviceGroupDataSource)(nil)

// deviceGroupDataSource is vpp_device_group: a device group as the engine holds it now.
type deviceGroupDataSource struct {
	data *providerData
}

// NewDeviceGroupDataSource returns the vpp_device_group data source.
func NewDeviceGroupDataSource() datasource.DataSource { return &deviceGroupDataSource{} }

type deviceGroupDataModel struct {
	ID            types.String `tfsdk:"id"`
	Name          types.String `tfsdk:"name"`
	Description   types.String `tfsdk:"description"`
	SerialNumbers types.List   `tfsdk:"serial_numbers"`
	SerialCount   types.Int64  `tfsdk:"serial_count"`
}

func (d *deviceGroupDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_device_group"
}

func (d *deviceGroupDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "A device group as the engine holds it now: the devices, by serial number, that " +
			"device-based licenses go to. " + deviceLicensingDescription + " It reads only the engine's records.",
		Attributes: map[string]schema.Attribute{
			"id":          schema.StringAttribute{Required: true, MarkdownDescription: "The device group's id (`vpp_device_group.<name>.id`)."},
			"name":        schema.StringAttribute{Computed: true, MarkdownDescription: "The group's name."},
			"description": schema.StringAttribute{Computed: true, MarkdownDescription: "The group's description."},
			"serial_numbers": schema.ListAttribute{Computed: true, ElementType: types.StringType,
				MarkdownDescription: "The devices' serial numbers, upper-case and sorted."},
			"serial_count": schema.Int64Attribute{Computed: true, MarkdownDescription: "Number of devices."},
		},
	}
}

func (d *deviceGroupDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = configuredData(req.ProviderData, &resp.Diagnostics, "Data Source")
}

func (d *deviceGroupDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m deviceGroupDataModel
	if !ready(ctx, d.data, &resp.Diagnostics, "reading the vpp_device_group data source", decode(req.Config, &m)) {
		return
	}
	g, err := d.data.engine.GetDeviceGroup(ctx, m.ID.ValueString())
	if err != nil {
		engineError(&resp.Diagnostics, "Unable to Read Device Group", err, attrs{aboutGroup: path.Root("id")})
		return
	}
	serials, diags := types.ListValueFrom(ctx, types.StringType, g.SerialNumbers)
	if resp.Diagnostics.Append(diags...); diags.HasError() {
		return
	}
	m.Name, m.Description, m.SerialNumbers = types.StringValue(g.Name), types.StringValue(g.Description), serials
	m.SerialCount = types.Int64Value(int64(len(g.SerialNumbers)))
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}
