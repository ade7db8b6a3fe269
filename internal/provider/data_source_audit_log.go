package provider

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timetypes/timetypes"
	"github.com/hashicorp/terraform-plugin-framework-validators/setvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/vppkit/terraform-provider-vpp/internal/engine"
)

var (
	_ datasource.DataSourceWithConfigure      = (*auditLogDataSource)(nil)
	_ datasource.DataSourceWithValidateConfig = (*auditLogDataSource)(nil)
)

// auditLogDataSource is vpp_audit_log: the changes the engine made at Apple, from its audit log.
type auditLogDataSource struct {
	data *providerData
}

// NewAuditLogDataSource returns the vpp_audit_log data source.
func NewAuditLogDataSource() datasource.DataSource { return &auditLogDataSource{} }

type auditLogDataSourceModel struct {
	ID         types.String      `tfsdk:"id"`
	TokenID    types.String      `tfsdk:"token_id"`
	Since      timetypes.RFC3339 `tfsdk:"since"`
	Until      timetypes.RFC3339 `tfsdk:"until"`
	Operations types.Set         `tfsdk:"operations"`
	Entries    []auditEntryModel `tfsdk:"entries"`
}

// auditEntryModel is one entry of the log.
type auditEntryModel struct {
	At        timetypes.RFC3339 `tfsdk:"at"`
	TokenID   types.String      `tfsdk:"token_id"`
	Operation types.String      `tfsdk:"operation"`
	EventID   types.String      `tfsdk:"event_id"`
	Count     types.Int64       `tfsdk:"count"`
	Detail    types.String      `tfsdk:"detail"`
	Outcome   types.String      `tfsdk:"outcome"`
}

// auditOperationDocs says what each operation of the log records, in the engine's order.
var auditOperationDocs = map[string]string{
	engine.AuditClaim:        "the provider's `mdmInfo` was written to a location no system claimed",
	engine.AuditTakeOver:     "the provider's `mdmInfo` replaced another system's (`take_over_from_other_mdm`)",
	engine.AuditRenew:        "the token file was replaced by a newer one for the same location",
	engine.AuditRestoreToken: "the token's record was rebuilt from its file and Apple's records (nothing written to Apple)",
	engine.AuditForgetToken:  "the token was removed from the engine; `count` is the book licenses that stay with their users",
	engine.AuditAdoptUsers:   "existing VPP users at the location were recognised as members' users (nothing created)",
	engine.AuditCreateUsers:  "one `users/create` request Apple accepted; `count` is its users",
	engine.AuditAssociate:    "one `assets/associate` request Apple accepted; `count` is its licenses (books × users)",
	engine.AuditReconcile:    "requests an earlier run left open were settled from Apple's records; `count` is how many",
}

// auditOperationList is the operations, each with what it records, as a Markdown list.
func auditOperationList() string {
	var b strings.Builder
	for _, op := range engine.AuditOperations {
		fmt.Fprintf(&b, "\n  - `%s`: %s.", op, auditOperationDocs[op])
	}
	return b.String()
}

var auditEntryDescriptions = map[string]string{
	"at": "When the engine recorded the change (RFC 3339, UTC, to the millisecond). Pass it as `since` or `until` " +
		"to read the log from or up to this entry.",
	"token_id":  "The `vpp_token` (its `id`) whose location was changed. The log outlives its tokens: a removed token's entries stay.",
	"operation": "What was done:" + auditOperationList(),
	"event_id": "Apple's event id for the request, for `create_users` and `associate` (Apple processes them in the " +
		"background); null for the other operations.",
	"count":  "How many users, licenses or records the change concerned (see `operation`).",
	"detail": "What was changed, in words (the location, an expiry date); null when there is nothing to add. It never holds a secret.",
	"outcome": "How the request ended, as the engine last learned it from Apple (reading the log asks Apple " +
		"nothing); null for entries without an event, which were done when recorded:\n" +
		"  - `complete`: Apple finished the event and reported no failure.\n" +
		"  - `failed`: Apple finished the event with failures for some or all of its users; the members' " +
		"delivery states (`vpp_ebook_assignment_members`) say whom and why.\n" +
		"  - `pending`: Apple had not finished the event when the engine last looked; the next apply that " +
		"delivers to the token follows it.\n" +
		"  - `unknown`: the engine cannot tell: Apple's answer to the request failed a check (it named another " +
		"location, or none, or another system) and the event has not been followed since, or the token was " +
		"removed and its record of the request with it.",
}

// auditEntryAttributes are the computed attributes of one entry.
func auditEntryAttributes() map[string]schema.Attribute {
	return computedAttributes(auditEntryDescriptions, map[string]valueKind{"at": timeValue, "count": wholeNumber})
}

func (d *auditLogDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_audit_log"
}

func (d *auditLogDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "The engine's audit log: every change it made at Apple (claims, users created, licenses " +
			"given) and to its own view of a location (renewals, removals), with when, how many and, for requests " +
			"Apple processes in the background, their outcome. Reading it reads the engine's database only: it asks " +
			"Apple nothing and changes nothing. Entries never hold a secret (no token file, no invitation URL).",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "An identifier derived from the filters, stable for the same filters.",
			},
			"token_id": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "Only entries of this `vpp_token` (its `id`), including those of a token since " +
					"removed. By default, entries of every token.",
				Validators: []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"since": schema.StringAttribute{
				CustomType: timetypes.RFC3339Type{},
				Optional:   true,
				MarkdownDescription: "Only entries recorded at or after this time (inclusive), an RFC 3339 timestamp " +
					"such as `2026-05-01T00:00:00Z`. By default, from the first entry.",
			},
			"until": schema.StringAttribute{
				CustomType: timetypes.RFC3339Type{},
				Optional:   true,
				MarkdownDescription: "Only entries recorded before this time (exclusive), an RFC 3339 timestamp; it " +
					"must not be before `since`. By default, up to the last entry.",
			},
			"operations": schema.SetAttribute{
				ElementType: types.StringType,
				Optional:    true,
				MarkdownDescription: "Only entries of these operations: " + quotedList(engine.AuditOperations) +
					" (see `entries.operation`). By default, every operation.",
				Validators: []validator.Set{
					setvalidator.SizeAtLeast(1),
					setvalidator.ValueStringsAre(stringvalidator.OneOf(engine.AuditOperations...)),
				},
			},
			"entries": schema.ListNestedAttribute{
				Computed:            true,
				MarkdownDescription: "The matching entries, oldest first; an empty list when there is none.",
				NestedObject:        schema.NestedAttributeObject{Attributes: auditEntryAttributes()},
			},
		},
	}
}

// quotedList is names as Markdown code, joined by commas.
func quotedList(names []string) string {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = "`" + n + "`"
	}
	return strings.Join(quoted, ", ")
}

func (d *auditLogDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = configuredData(req.ProviderData, &resp.Diagnostics, "Data Source")
}

func (d *auditLogDataSource) ValidateConfig(ctx context.Context, req datasource.ValidateConfigRequest, resp *datasource.ValidateConfigResponse) {
	var m auditLogDataSourceModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	_, _, diags := auditWindow(m)
	resp.Diagnostics.Append(diags...)
}

// auditWindow reads since and until (zero when null or not yet known), refusing a window whose end
// comes before its start.
func auditWindow(m auditLogDataSourceModel) (since, until time.Time, diags diag.Diagnostics) {
	since, diags = optionalTime(m.Since)
	u, more := optionalTime(m.Until)
	diags.Append(more...)
	until = u
	if diags.HasError() || since.IsZero() || until.IsZero() || !until.Before(since) {
		return since, until, diags
	}
	diags.AddAttributeError(path.Root("until"), "Invalid Audit Log Window", fmt.Sprintf(
		"until (%s) is before since (%s), so no entry can match: the log lists entries recorded at or after since "+
			"and before until. Swap the two values, or leave until unset to read up to the last entry.",
		m.Until.ValueString(), m.Since.ValueString()))
	return since, until, diags
}

// optionalTime is v's time, or the zero time when v is null or unknown.
func optionalTime(v timetypes.RFC3339) (time.Time, diag.Diagnostics) {
	if v.IsNull() || v.IsUnknown() {
		return time.Time{}, nil
	}
	return v.ValueRFC3339Time()
}

func (d *auditLogDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m auditLogDataSourceModel
	if !ready(ctx, d.data, &resp.Diagnostics, "reading the vpp_audit_log data source", decode(req.Config, &m)) {
		return
	}
	since, until, diags := auditWindow(m)
	var ops []string
	if !m.Operations.IsNull() {
		diags.Append(m.Operations.ElementsAs(ctx, &ops, false)...)
	}
	if resp.Diagnostics.Append(diags...); resp.Diagnostics.HasError() {
		return
	}
	entries, err := d.data.engine.ReadAuditLog(ctx, engine.AuditFilter{TokenID: m.TokenID.ValueString(), Since: since, Until: until, Operations: ops})
	if err != nil {
		engineError(&resp.Diagnostics, "Unable to Read Audit Log", err, attrs{aboutToken: path.Root("token_id")})
		return
	}
	m.ID = types.StringValue(auditLogID(m, ops))
	m.Entries = make([]auditEntryModel, len(entries))
	for i, a := range entries {
		m.Entries[i] = newAuditEntryModel(a)
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

// auditLogID is vpp_audit_log's id: the same for the same filters.
func auditLogID(m auditLogDataSourceModel, ops []string) string {
	sorted := append([]string(nil), ops...)
	sort.Strings(sorted)
	return filterID("audit", m.TokenID.ValueString(), m.Since.ValueString(), m.Until.ValueString(), strings.Join(sorted, ","))
}

// auditTimeLayout is RFC 3339 to the millisecond, the precision the engine records times at, so
// that an entry's at passed as since or until selects exactly from or up to that entry.
const auditTimeLayout = "2006-01-02T15:04:05.000Z07:00"

func newAuditEntryModel(a engine.AuditEntry) auditEntryModel {
	return auditEntryModel{
		At:        timetypes.NewRFC3339ValueMust(a.At.UTC().Format(auditTimeLayout)),
		TokenID:   types.StringValue(a.TokenID),
		Operation: types.StringValue(a.Operation),
		EventID:   stringOrNull(a.EventID),
		Count:     types.Int64Value(int64(a.Count)),
		Detail:    stringOrNull(a.Detail),
		Outcome:   stringOrNull(a.Outcome),
	}
}
