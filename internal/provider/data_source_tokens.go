package provider

import (
	"context"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timetypes/timetypes"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/vppkit/terraform-provider-vpp/internal/engine"
)

var _ datasource.DataSourceWithConfigure = (*tokensDataSource)(nil)

// tokensDataSource is vpp_tokens: every token the engine holds, optionally filtered by state.
type tokensDataSource struct {
	data *providerData
}

// NewTokensDataSource returns the vpp_tokens data source.
func NewTokensDataSource() datasource.DataSource { return &tokensDataSource{} }

type tokensDataSourceModel struct {
	ID     types.String     `tfsdk:"id"`
	State  types.String     `tfsdk:"state"`
	Tokens []tokenListModel `tfsdk:"tokens"`
}

// tokenListModel is one token in vpp_tokens' list. It never holds the token file.
type tokenListModel struct {
	ID               types.String      `tfsdk:"id"`
	DisplayName      types.String      `tfsdk:"display_name"`
	AppleID          types.String      `tfsdk:"apple_id"`
	AccountType      types.String      `tfsdk:"account_type"`
	OrganizationName types.String      `tfsdk:"organization_name"`
	LocationName     types.String      `tfsdk:"location_name"`
	LocationID       types.String      `tfsdk:"location_id"`
	CountryCode      types.String      `tfsdk:"country_code"`
	ExpiresAt        timetypes.RFC3339 `tfsdk:"expires_at"`
	DaysUntilExpiry  types.Int64       `tfsdk:"days_until_expiry"`
	State            types.String      `tfsdk:"state"`
	StateDetail      types.String      `tfsdk:"state_detail"`
	LastSyncAt       timetypes.RFC3339 `tfsdk:"last_sync_at"`
	LastSyncStatus   types.String      `tfsdk:"last_sync_status"`
	LastSyncError    types.String      `tfsdk:"last_sync_error"`
	BookCount        types.Int64       `tfsdk:"book_count"`
}

// tokenStates are the states a token can be in, which the state filter accepts.
var tokenStates = []string{engine.StateValid, engine.StateExpired, engine.StateInvalid, engine.StateRevoked, engine.StateExternalMDM}

// tokenListDescriptions describes the attributes of a listed token that vpp_token does not have,
// or describes differently.
var tokenListDescriptions = map[string]string{
	"id": "The engine's identifier of the token, the same as the `id` of the `vpp_token` that uploaded it. Pass it " +
		"as `token_id` to the `vpp_books` and `vpp_book` data sources.",
	"display_name": "The token's `display_name`; null when none was set.",
	"account_type": "The kind of account the location belongs to: `business` (Apple Business Manager) or " +
		"`education` (Apple School Manager).",
	"days_until_expiry": "Whole days left until `expires_at` (negative once expired), counted when the data source " +
		"was read. Compare it in a `check` block to be warned before a token expires.",
	"state": "The token's state as Apple last reported it (every read asks Apple): `valid`, `expired`, `invalid` " +
		"(Apple no longer accepts it, e.g. after a password change), `revoked`, or `assigned_to_external_mdm` " +
		"(another system claimed the location). Anything but `valid` needs a new token file, or for " +
		"`assigned_to_external_mdm` the `vpp_token`'s `take_over_from_other_mdm`.",
	"state_detail": "Why the token is not `valid`: Apple's error, or which other system claimed the location; null " +
		"while the token is `valid`.",
	"last_sync_error": "Why the last sync failed; null unless `last_sync_status` is `failed`.",
}

// tokenListAttributes are the computed attributes of a token in vpp_tokens' list: the
// descriptions vpp_token gives its attributes, except where tokenListDescriptions has its own.
func tokenListAttributes(ctx context.Context) map[string]schema.Attribute {
	resourceAttrs := tokenSchema(ctx).Attributes
	describe := func(name string) string {
		if d, ok := tokenListDescriptions[name]; ok {
			return d
		}
		if a, ok := resourceAttrs[name]; ok {
			return a.GetMarkdownDescription()
		}
		return "" // TestTokensDataSource_describesEveryAttribute fails
	}
	kinds := map[string]valueKind{"expires_at": timeValue, "last_sync_at": timeValue, "days_until_expiry": wholeNumber,
		"book_count": wholeNumber}
	descriptions := map[string]string{}
	for _, name := range []string{"id", "display_name", "apple_id", "account_type", "organization_name", "location_name",
		"location_id", "country_code", "expires_at", "days_until_expiry", "state", "state_detail", "last_sync_at",
		"last_sync_status", "last_sync_error", "book_count"} {
		descriptions[name] = describe(name)
	}
	return computedAttributes(descriptions, kinds)
}

func (d *tokensDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_tokens"
}

func (d *tokensDataSource) Schema(ctx context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Every location token the engine holds, with its Apple ID, account type, location, " +
			"country, expiry, days left, state, last sync and book count: the token list of Intune's Apple VPP " +
			"tokens page, and what a `check` block needs to warn before a token expires. Reading it asks Apple for " +
			"each token's state (one request per token) and syncs a token first when its last sync is older than " +
			"the provider's `sync_interval`; it never changes anything at Apple. The token files are never exposed.\n\n" +
			"-> App counts will come with apps; tokens list books only for now.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "An identifier derived from the filter, stable for the same filter.",
			},
			"state": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "Only tokens in this state: `valid`, `expired`, `invalid`, `revoked` or " +
					"`assigned_to_external_mdm`. By default, every token.",
				Validators: []validator.String{stringvalidator.OneOf(tokenStates...)},
			},
			"tokens": schema.ListNestedAttribute{
				Computed:            true,
				MarkdownDescription: "The matching tokens, ordered by `id`; an empty list when there is none.",
				NestedObject:        schema.NestedAttributeObject{Attributes: tokenListAttributes(ctx)},
			},
		},
	}
}

func (d *tokensDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = configuredData(req.ProviderData, &resp.Diagnostics, "Data Source")
}

func (d *tokensDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m tokensDataSourceModel
	if !ready(ctx, d.data, &resp.Diagnostics, "reading the vpp_tokens data source", decode(req.Config, &m)) {
		return
	}
	// Syncs every token whose last sync is stale, and asks Apple for each token's state.
	if err := d.data.engine.RefreshBooks(ctx, ""); err != nil {
		engineError(&resp.Diagnostics, "Unable to Read Tokens", err, nil)
		return
	}
	tokens, err := d.data.engine.ListTokens(ctx)
	if err != nil {
		engineError(&resp.Diagnostics, "Unable to Read Tokens", err, nil)
		return
	}
	m.ID = types.StringValue(filterID("tokens", m.State.ValueString()))
	now := d.data.now()
	m.Tokens = make([]tokenListModel, 0, len(tokens))
	for _, t := range tokens {
		if m.State.IsNull() || t.State == m.State.ValueString() {
			m.Tokens = append(m.Tokens, newTokenListModel(t, now))
		}
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func newTokenListModel(t engine.Token, now time.Time) tokenListModel {
	return tokenListModel{
		ID:               types.StringValue(t.ID),
		DisplayName:      stringOrNull(t.DisplayName),
		AppleID:          types.StringValue(t.AppleID),
		AccountType:      types.StringValue(t.AccountType),
		OrganizationName: types.StringValue(t.OrganizationName),
		LocationName:     types.StringValue(t.LocationName),
		LocationID:       types.StringValue(t.LocationID),
		CountryCode:      types.StringValue(t.CountryCode),
		ExpiresAt:        rfc3339OrNull(t.ExpiresAt),
		DaysUntilExpiry:  types.Int64Value(int64(t.DaysUntilExpiry(now))),
		State:            types.StringValue(t.State),
		StateDetail:      stringOrNull(t.StateDetail),
		LastSyncAt:       rfc3339OrNull(t.LastSyncAt),
		LastSyncStatus:   types.StringValue(t.LastSyncStatus),
		LastSyncError:    stringOrNull(t.LastSyncError),
		BookCount:        types.Int64Value(int64(t.BookCount)),
	}
}

// stringOrNull is s, or null when s is empty (a value never set).
func stringOrNull(s string) types.String {
	if s == "" {
		return types.StringNull()
	}
	return types.StringValue(s)
}

// rfc3339OrNull is t in UTC to the second, as every timestamp attribute holds it, or null when t
// is zero (a time that has not come yet, such as the first sync).
func rfc3339OrNull(t time.Time) timetypes.RFC3339 {
	if t.IsZero() {
		return timetypes.NewRFC3339Null()
	}
	return timetypes.NewRFC3339TimeValue(t.UTC().Truncate(time.Second))
}
