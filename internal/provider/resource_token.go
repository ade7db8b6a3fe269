package provider

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-timetypes/timetypes"
	"github.com/hashicorp/terraform-plugin-framework-validators/numbervalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/vppkit/terraform-provider-vpp/internal/engine"
	"github.com/vppkit/terraform-provider-vpp/internal/sandbox"
)

var (
	_ resource.ResourceWithConfigure      = (*tokenResource)(nil)
	_ resource.ResourceWithImportState    = (*tokenResource)(nil)
	_ resource.ResourceWithModifyPlan     = (*tokenResource)(nil)
	_ resource.ResourceWithValidateConfig = (*tokenResource)(nil)
)

const (
	// tokenDefaultTimeout bounds create and update, which upload the token and run a full sync.
	tokenDefaultTimeout = 20 * time.Minute
	// tokenExpiryWarning is how close to its expiry a token file draws a plan-time warning.
	tokenExpiryWarning = 30 * 24 * time.Hour
	// tokenRenewHowTo tells a user where a new token file comes from.
	tokenRenewHowTo = "Download a new token in Apple Business Manager or Apple School Manager (Preferences or " +
		"Settings > Payments and Billing > Content Tokens) and put its contents in token, or in token_wo and " +
		"increment token_wo_version. The vpp_token renews in place: books, groups and assignments stay as they are."
)

// Values of on_destroy: what destroying the token does with the licenses its location gave.
const (
	onDestroyKeep    = "keep_licenses"
	onDestroyRelease = "release_app_licenses"
)

// tokenResource is vpp_token: a location token uploaded to the engine.
type tokenResource struct {
	data *providerData
}

// NewTokenResource returns the vpp_token resource.
func NewTokenResource() resource.Resource { return &tokenResource{} }

type tokenResourceModel struct {
	ID                   types.String      `tfsdk:"id"`
	Token                types.String      `tfsdk:"token"`
	TokenWO              types.String      `tfsdk:"token_wo"`
	TokenWOVersion       types.Number      `tfsdk:"token_wo_version"`
	AppleID              types.String      `tfsdk:"apple_id"`
	AccountType          types.String      `tfsdk:"account_type"`
	DisplayName          types.String      `tfsdk:"display_name"`
	TakeOverFromOtherMDM types.Bool        `tfsdk:"take_over_from_other_mdm"`
	SyncTrigger          types.String      `tfsdk:"sync_trigger"`
	OnDestroy            types.String      `tfsdk:"on_destroy"`
	OrganizationName     types.String      `tfsdk:"organization_name"`
	LocationName         types.String      `tfsdk:"location_name"`
	LocationID           types.String      `tfsdk:"location_id"`
	CountryCode          types.String      `tfsdk:"country_code"`
	ExpiresAt            timetypes.RFC3339 `tfsdk:"expires_at"`
	DaysUntilExpiry      types.Int64       `tfsdk:"days_until_expiry"`
	State                types.String      `tfsdk:"state"`
	LastSyncAt           timetypes.RFC3339 `tfsdk:"last_sync_at"`
	LastSyncStatus       types.String      `tfsdk:"last_sync_status"`
	BookCount            types.Int64       `tfsdk:"book_count"`
	Timeouts             timeouts.Value    `tfsdk:"timeouts"`
}

func (r *tokenResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_token"
}

func (r *tokenResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = tokenSchema(ctx)
}

func tokenSchema(ctx context.Context) schema.Schema {
	stable := []planmodifier.String{stringplanmodifier.UseStateForUnknown()}
	return schema.Schema{
		MarkdownDescription: "A location token (`.vpptoken` file) from Apple Business Manager or Apple School Manager, " +
			"uploaded to the provider's engine. Creating it reads the location from Apple, claims the location for this " +
			"engine (Apple's `mdmInfo`), and runs a full sync of the location's purchased books and license counts. " +
			"A refresh syncs again when the last sync is older than the provider's `sync_interval`; change " +
			"`sync_trigger` to sync now.\n\n" +
			"A new token file for the same location renews the token in place. Plans read the token file offline: " +
			"a malformed or expired file fails the plan, and one that expires within 30 days draws a warning.\n\n" +
			"Destroying the resource makes the engine forget the token, its books, apps and assignments. Book licenses " +
			"already given stay with their users: Apple does not let books be reclaimed. App licenses stay too, unless " +
			"`on_destroy = \"release_app_licenses\"` takes the revocable ones back at Apple first; the destroy plan warns " +
			"how many licenses stay and how many are released.\n\n" +
			"-> Prefer `token_wo` (write-only, first introduced in Terraform 1.11) with `token_wo_version`: the token " +
			"file then never appears in the plan or the state. `token` is kept for older Terraform versions; it is " +
			"sensitive but stored in the state.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "The engine's identifier of the token (a UUID). Pass it as `token_id` to the `vpp_books` and `vpp_book` data sources.",
				PlanModifiers:       stable,
			},
			"token": schema.StringAttribute{
				Optional:  true,
				Sensitive: true,
				MarkdownDescription: "The contents of the `.vpptoken` file, e.g. `file(\"sToken_for_Library.vpptoken\")`. " +
					"Sensitive, which only hides it from plan output: Terraform stores it in the state and in every plan saved " +
					"with `terraform plan -out`, where anyone who can read the state or the plan file can use it. On " +
					"Terraform 1.11 or newer (OpenTofu 1.12 or newer) use `token_wo` instead, which is in neither. A new file for the " +
					"same location renews the token in place; a file for another location is refused. Exactly one of " +
					"`token` and `token_wo` is required.",
				Validators: []validator.String{
					stringvalidator.ConflictsWith(path.MatchRoot("token_wo")),
					stringvalidator.PreferWriteOnlyAttribute(path.MatchRoot("token_wo")),
				},
			},
			"token_wo": schema.StringAttribute{
				Optional:  true,
				WriteOnly: true,
				Sensitive: true,
				MarkdownDescription: "The contents of the `.vpptoken` file, as a write-only argument: it is never stored " +
					"in the plan or the state. Requires Terraform 1.11 or newer and `token_wo_version`; since Terraform cannot " +
					"compare a write-only value with an earlier one, increment `token_wo_version` to renew the token with a " +
					"new file. Exactly one of `token` and `token_wo` is required.",
				Validators: []validator.String{
					stringvalidator.ConflictsWith(path.MatchRoot("token")),
					stringvalidator.AlsoRequires(path.MatchRoot("token_wo_version")),
				},
			},
			"token_wo_version": schema.NumberAttribute{
				Optional: true,
				MarkdownDescription: "Version of the file in `token_wo`, a whole number. Changing it renews the token in " +
					"place with the file `token_wo` holds at that time (any value that differs from the previous one works; " +
					"incrementing by one is conventional).",
				Validators: []validator.Number{
					numbervalidator.AlsoRequires(path.MatchRoot("token_wo")),
					wholeNumberValidator{summary: "Invalid Token File Version", advice: "token_wo_version counts the versions " +
						"of the file in token_wo: use a whole number such as 1, and increment it by one each time token_wo " +
						"holds a new file."},
				},
			},
			"apple_id": schema.StringAttribute{
				Required: true,
				MarkdownDescription: "Email of the Apple Account (usually a Managed Apple Account) that administers the " +
					"location in Apple Business Manager or Apple School Manager. Recorded with the token for the people who " +
					"renew it; Apple does not check it.",
				Validators: []validator.String{appleIDValidator},
			},
			"account_type": schema.StringAttribute{
				Required: true,
				MarkdownDescription: "The kind of account the location belongs to: `business` (Apple Business Manager, " +
					"Apple's `enterprisestore`) or `education` (Apple School Manager, `volumestore`). It must match what " +
					"Apple reports for the location.",
				Validators: []validator.String{
					stringvalidator.OneOf(engine.AccountBusiness, engine.AccountEducation),
				},
			},
			"display_name": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "A name for the token in the engine's records, to tell locations apart.",
				Validators:          []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"take_over_from_other_mdm": schema.BoolAttribute{
				Optional: true,
				Computed: true,
				Default:  booldefault.StaticBool(false),
				MarkdownDescription: "Claim the location even when Apple reports that another management system manages " +
					"it. Two systems managing one location can lose license assignments and user records, so only set it " +
					"once the token has been removed from the other system, or when this provider is to replace it. " +
					"Taking over adopts what the other system built for your members: each member who already has a VPP " +
					"user at the location (matched by email) keeps it with every license it holds, so nothing is created " +
					"or licensed twice. A location an earlier run or another database of this provider claimed is not " +
					"another system and needs no take-over. Defaults to `false`: a location claimed elsewhere fails the apply.",
			},
			"sync_trigger": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "Any string. Changing it runs a full sync of the location now (Intune's \"Sync\"), " +
					"without waiting for `sync_interval`; for example a date, or a value your pipeline bumps after buying " +
					"licenses.",
			},
			"on_destroy": schema.StringAttribute{
				Optional: true,
				Computed: true,
				Default:  stringdefault.StaticString(onDestroyKeep),
				MarkdownDescription: "What destroying the token does with the app licenses its location gave the users " +
					"of this provider's groups: `keep_licenses` (the default) leaves every license with its user and sends " +
					"nothing to Apple; `release_app_licenses` first takes back at Apple every license of a revocable app that " +
					"the engine's records show one of those users holding (`POST /assets/disassociate`, journaled and sent " +
					"exactly once) and keeps the token until Apple confirmed them all. Book licenses, licenses of apps that " +
					"are not revocable, and licenses other systems gave their own users stay either way. A token Apple no " +
					"longer accepts, or whose location another system claimed, cannot release anything: its destroy plan " +
					"fails until the token is renewed or this is `keep_licenses`. Destroy uses the value in the state, as " +
					"deletion protection settings of other providers do: set it and apply before destroying. Changing it is " +
					"an in-place update that sends nothing to Apple.",
				Validators: []validator.String{stringvalidator.OneOf(onDestroyKeep, onDestroyRelease)},
			},
			"organization_name": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "The organisation named in the token file.",
				PlanModifiers:       stable,
			},
			"location_name": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "The location's name, as Apple reports it.",
				PlanModifiers:       stable,
			},
			"location_id": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "The location's identifier at Apple (`uId`). One location can be managed through one token only.",
				PlanModifiers:       stable,
			},
			"country_code": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "The location's country (ISO 3166-1 alpha-2), which selects the store for book metadata.",
				PlanModifiers:       stable,
			},
			"expires_at": schema.StringAttribute{
				CustomType:          timetypes.RFC3339Type{},
				Computed:            true,
				MarkdownDescription: "When the token expires (RFC 3339, UTC). Tokens last one year.",
				PlanModifiers:       stable,
			},
			"days_until_expiry": schema.Int64Attribute{
				Computed: true,
				MarkdownDescription: "Whole days left until `expires_at` (negative once expired), as of the last refresh. " +
					"Plans warn when fewer than 30 remain.",
				PlanModifiers: []planmodifier.Int64{int64planmodifier.UseStateForUnknown()},
			},
			"state": schema.StringAttribute{
				Computed: true,
				MarkdownDescription: "The token's state as Apple last reported it: `valid`, `expired`, `invalid` (Apple no " +
					"longer accepts it, e.g. after a password change), `revoked`, or `assigned_to_external_mdm` (another " +
					"system claimed the location). Every refresh asks Apple (one request per token), so a change shows in " +
					"the next plan, with a warning that says what to do; an apply that would send anything through a token " +
					"that is not `valid` refuses. (A second token for a location already held is refused outright, so " +
					"`duplicate_location` never occurs.)",
				PlanModifiers: stable,
			},
			"last_sync_at": schema.StringAttribute{
				CustomType:          timetypes.RFC3339Type{},
				Computed:            true,
				MarkdownDescription: "When the last successful sync finished (RFC 3339, UTC); null before the first.",
				PlanModifiers:       stable,
			},
			"last_sync_status": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "Outcome of the last sync: `none`, `in_progress`, `completed` or `failed`.",
				PlanModifiers:       stable,
			},
			"book_count": schema.Int64Attribute{
				Computed:            true,
				MarkdownDescription: "How many purchased books (per pricing) the last sync found at the location.",
				PlanModifiers:       []planmodifier.Int64{int64planmodifier.UseStateForUnknown()},
			},
			"timeouts": withTimeoutChecks(timeouts.Attributes(ctx, timeouts.Opts{
				Create:            true,
				Update:            true,
				CreateDescription: "How long creating may take: uploading the token and its first full sync (default `20m`, at least `1s`).",
				UpdateDescription: "How long an update may take: a renewal or a sync (default `20m`, at least `1s`).",
			}), tokenDefaultTimeout),
		},
	}
}

func (r *tokenResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = configuredData(req.ProviderData, &resp.Diagnostics, "Resource")
}

// ValidateConfig requires one of token and token_wo; the schema validators refuse both.
func (r *tokenResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var token, tokenWO types.String
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("token"), &token)...)
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("token_wo"), &tokenWO)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if token.IsNull() && tokenWO.IsNull() {
		resp.Diagnostics.AddAttributeError(path.Root("token"), "Missing VPP Token File",
			"A vpp_token needs the contents of its .vpptoken file: set token_wo and token_wo_version (Terraform 1.11 or "+
				"newer; the file stays out of plan and state), or token, for example token_wo = file(\"sToken_for_Library.vpptoken\").")
	}
}

// tokenFileSource is where the configuration supplies the token file: the attribute that holds it
// and its value (token from the plan, or token_wo, which only the configuration holds).
func tokenFileSource(plan, config tokenResourceModel) (path.Path, types.String) {
	if !config.TokenWO.IsNull() {
		return path.Root("token_wo"), config.TokenWO
	}
	return path.Root("token"), plan.Token
}

// tokenFileChanged reports whether a plan supplies a new token file: at create, when token
// changes, or when token_wo_version changes.
func tokenFileChanged(plan, state *tokenResourceModel) bool {
	return state == nil || !plan.Token.Equal(state.Token) || !plan.TokenWOVersion.Equal(state.TokenWOVersion)
}

// syncTriggered reports whether a plan changes sync_trigger to a new value.
func syncTriggered(plan, state tokenResourceModel) bool {
	return !plan.SyncTrigger.IsNull() && !plan.SyncTrigger.Equal(state.SyncTrigger)
}

// ModifyPlan reads the token file offline: a malformed or expired file is an error, one that
// expires within 30 days a warning. It also marks what an update will learn from Apple as unknown,
// and at destroy says what becomes of the location's licenses (planDestroy). It never contacts
// Apple.
func (r *tokenResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		r.planDestroy(ctx, req, resp)
		return
	}
	var plan, config tokenResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	var state *tokenResourceModel
	if !req.State.Raw.IsNull() {
		state = &tokenResourceModel{}
		resp.Diagnostics.Append(req.State.Get(ctx, state)...)
	}
	if resp.Diagnostics.HasError() {
		return
	}

	changed := tokenFileChanged(&plan, state)
	at, contents := tokenFileSource(plan, config)
	if !contents.IsNull() && !contents.IsUnknown() {
		ctx = maskTokenFile(ctx, contents.ValueString())
		r.checkTokenFile(ctx, at, contents.ValueString(), changed, &resp.Diagnostics)
		if resp.Diagnostics.HasError() {
			return
		}
	}
	if r.data != nil && r.data.engine != nil && !contents.IsNull() && !contents.IsUnknown() {
		if state == nil {
			r.checkNewLocation(ctx, contents.ValueString(), &resp.Diagnostics)
		} else {
			r.restoreRecord(ctx, *state, plan, contents.ValueString(), at, &resp.Diagnostics)
		}
		if resp.Diagnostics.HasError() {
			return
		}
	}
	if state == nil {
		return // at create every computed attribute is unknown already
	}

	var unknown []string
	if changed {
		unknown = append(unknown, "organization_name")
	}
	// An update with take_over_from_other_mdm claims back a location another system took; a plan
	// with nothing else to change does not propose one by itself.
	reclaim := !req.Plan.Raw.Equal(req.State.Raw) && plan.TakeOverFromOtherMDM.ValueBool() &&
		state.State.ValueString() == engine.StateExternalMDM
	if changed || syncTriggered(plan, *state) || reclaim {
		// A renewal, a take-over or "sync now" runs a full sync: whatever Apple reports may change.
		unknown = append(unknown, "location_name", "country_code", "expires_at", "days_until_expiry", "state",
			"last_sync_at", "last_sync_status", "book_count")
	}
	for _, name := range unknown {
		var v attr.Value
		switch name {
		case "expires_at", "last_sync_at":
			v = timetypes.NewRFC3339Unknown()
		case "days_until_expiry", "book_count":
			v = types.Int64Unknown()
		default:
			v = types.StringUnknown()
		}
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root(name), v)...)
	}
}

// checkNewLocation refuses, at plan time, a new vpp_token for a location that another vpp_token
// holds: in the engine's database, or in this plan. It reads the token file's location from Apple
// (a read; nothing is written). Other failures are left to the apply, which reports them in full.
func (r *tokenResource) checkNewLocation(ctx context.Context, contents string, diags *diag.Diagnostics) {
	uid, err := r.data.engine.LocationOf(ctx, contents)
	var dup *engine.DuplicateLocationError
	if errors.As(err, &dup) && r.data.locations.inState(dup.ExistingTokenID) {
		// This configuration's state holds the token: the plan replaces it (tainted, or -replace,
		// which reach the provider as a create), or another of its vpp_tokens is refused below.
		uid, err = dup.LocationUID, nil
	}
	if errors.As(err, &dup) {
		// Not on the attribute: Terraform would quote the configuration line, a literal token with it.
		engineError(diags, "Location Already Held", err, nil)
		return
	}
	if err != nil {
		tflog.Debug(ctx, "Could not read the new token's location at plan time", map[string]any{"error": err.Error()})
		return
	}
	if prior, found := r.data.locations.plan(uid, ""); found {
		holder := "another new vpp_token in this configuration"
		if prior != "" {
			holder = fmt.Sprintf("vpp_token %s in this configuration", prior)
		}
		diags.AddError("Location Already Held",
			fmt.Sprintf("This token file is for location uId %s, which %s also manages. One location has one vpp_token: "+
				"two would share one record, and destroying either would erase the other's books and assignments. Keep one "+
				"vpp_token for the location and refer to it (vpp_token.<name>.id) wherever it is needed.", uid, holder))
	}
}

// restoreRecord rebuilds, at plan time, the engine's record of a token the state holds when the
// engine's database lacks it (a new CI runner, a colleague's checkout, a database lost or restored
// from an older backup), from the token file the configuration supplies (token_wo included): the
// state and Apple are the truth, the database a cache. It also notes the token's location for
// checkNewLocation.
func (r *tokenResource) restoreRecord(ctx context.Context, state, plan tokenResourceModel, contents string, at path.Path, diags *diag.Diagnostics) {
	id := state.ID.ValueString()
	if uid := state.LocationID.ValueString(); uid != "" {
		if prior, found := r.data.locations.plan(uid, id); found && prior == "" {
			diags.AddError("Location Already Held",
				fmt.Sprintf("Another vpp_token in this configuration plans to create a second record of location %q (uId %s), "+
					"which this vpp_token (id %s) holds. One location has one vpp_token: keep this one and refer to it "+
					"(vpp_token.<name>.id) wherever it is needed.", state.LocationName.ValueString(), uid, id))
			return
		}
	}
	has, err := r.data.engine.HasToken(ctx, id)
	if err != nil || has {
		return // a database error shows on refresh
	}
	t, restored, err := r.data.engine.RestoreToken(ctx, id, state.LocationID.ValueString(), tokenInput(plan, contents))
	if err != nil {
		engineErrorIn(diags, "Cannot Rebuild VPP Token Record", "The engine's database has no record of this token (a new "+
			"or restored database), and rebuilding it from the token file failed:", err, tokenAttrs(at))
		return
	}
	if restored {
		tflog.Info(ctx, "Rebuilt the engine's record of a VPP token from its token file and Apple", map[string]any{"token_id": id})
		tokenStateWarning(t, diags)
	}
}

// tokenInput is the engine's input for a token file and the plan's settings.
func tokenInput(plan tokenResourceModel, contents string) engine.TokenInput {
	return engine.TokenInput{
		Contents:    contents,
		AppleID:     plan.AppleID.ValueString(),
		AccountType: plan.AccountType.ValueString(),
		DisplayName: plan.DisplayName.ValueString(),
		TakeOver:    plan.TakeOverFromOtherMDM.ValueBool(),
	}
}

// checkTokenFile reports a malformed or expired file (an error when the plan supplies it anew, a
// warning when it is the file already in use) and a file that expires within 30 days (a warning).
func (r *tokenResource) checkTokenFile(ctx context.Context, at path.Path, contents string, changed bool, diags *diag.Diagnostics) {
	file, err := engine.ParseTokenFile(contents)
	if err != nil {
		tflog.Debug(ctx, "Token file does not parse", map[string]any{"attribute": at.String()})
		diags.AddAttributeError(at, "Invalid VPP Token File",
			fmt.Sprintf("The value of %s is not a readable .vpptoken file (%v). Pass the file Apple Business Manager or "+
				"Apple School Manager downloads, unchanged: for example file(\"sToken_for_Library.vpptoken\").", at, err))
		return
	}
	if r.data != nil && r.data.sandbox && !sandbox.IsToken(contents) {
		diags.AddAttributeError(at, "Not a Sandbox Token File",
			fmt.Sprintf("The value of %s is a token file for %q, but the provider runs in sandbox mode (sandbox = true), "+
				"whose simulated Apple accepts only sandbox token files: ones whose inner token starts with %q (%q for an "+
				"education location). Nothing was sent anywhere. Use examples/quickstart/springfield.vpptoken, or make one: "+
				"base64encode(jsonencode({token = \"sandbox-my-library\", expDate = \"2099-12-31T23:59:59+0000\", "+
				"orgName = \"My Library\"})). To use this file with Apple, remove sandbox = true.",
				at, file.OrganizationName, sandbox.TokenPrefix, sandbox.TokenPrefix+"edu-"))
		return
	}
	now := time.Now
	if r.data != nil && r.data.now != nil {
		now = r.data.now
	}
	expires := file.ExpiresAt.UTC().Format(time.RFC3339)
	left := file.ExpiresAt.Sub(now())
	switch {
	case left <= 0 && changed:
		diags.AddAttributeError(at, "Expired VPP Token File",
			fmt.Sprintf("The token file for %q expired on %s; Apple refuses expired tokens. %s", file.OrganizationName, expires, tokenRenewHowTo))
	case left <= 0:
		diags.AddAttributeWarning(at, "VPP Token Expired",
			fmt.Sprintf("The token file for %q expired on %s; the location no longer syncs and no license can be given "+
				"through it. %s", file.OrganizationName, expires, tokenRenewHowTo))
	case left < tokenExpiryWarning:
		diags.AddAttributeWarning(at, "VPP Token Expires Soon",
			fmt.Sprintf("The token file for %q expires on %s, in %d days. After that the location no longer syncs and no "+
				"license can be given through it. %s", file.OrganizationName, expires, int(left.Hours()/24), tokenRenewHowTo))
	}
}

func (r *tokenResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan, config tokenResourceModel
	if !ready(ctx, r.data, &resp.Diagnostics, "creating a VPP token", decode(req.Plan, &plan), decode(req.Config, &config)) {
		return
	}
	ctx, cancel, ok := withTimeout(ctx, plan.Timeouts.Create, tokenDefaultTimeout, &resp.Diagnostics)
	defer cancel()
	if !ok {
		return
	}

	at, contents := tokenFileSource(plan, config)
	ctx = maskTokenFile(ctx, contents.ValueString())
	tflog.Debug(ctx, "Uploading VPP token", map[string]any{"from": at.String()})
	t, err := r.data.engine.AddToken(ctx, tokenInput(plan, contents.ValueString()))
	if err != nil {
		engineError(&resp.Diagnostics, "Error Creating VPP Token", err, tokenAttrs(at))
		return
	}
	tflog.Debug(ctx, "Uploaded VPP token", map[string]any{"token_id": t.ID, "last_sync_status": t.LastSyncStatus})
	r.fromEngine(&plan, t, true)
	saveState(ctx, &resp.State, resp.Identity, &plan, &resp.Diagnostics)
	tokenStateWarning(t, &resp.Diagnostics)
}

func (r *tokenResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state tokenResourceModel
	if !ready(ctx, r.data, &resp.Diagnostics, "reading a VPP token", decode(req.State, &state)) {
		return
	}
	if state.OnDestroy.IsNull() {
		// A state written before on_destroy existed, or an import: the default, which is what destroying
		// the token did before. Set now, so that the plan proposes no change for it.
		state.OnDestroy = types.StringValue(onDestroyKeep)
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("on_destroy"), state.OnDestroy)...)
	}
	r.data.locations.refreshed(state.ID.ValueString())
	t, err := r.data.engine.RefreshToken(ctx, state.ID.ValueString())
	if errors.Is(err, engine.ErrNotFound) {
		// The state is the truth and the engine's database a cache (a new runner, a lost or restored
		// database): the record is rebuilt from the token file, now when the state holds it, or else
		// when the plan reads it from the configuration (token_wo). The state stands meanwhile.
		if state.Token.IsNull() || state.Token.IsUnknown() {
			tflog.Info(ctx, "VPP token not in the engine's database; the plan rebuilds its record from the configuration", map[string]any{"token_id": state.ID.ValueString()})
			state.setIdentity(ctx, resp.Identity, &resp.Diagnostics)
			return
		}
		ctx = maskTokenFile(ctx, state.Token.ValueString())
		t, _, err = r.data.engine.RestoreToken(ctx, state.ID.ValueString(), state.LocationID.ValueString(), tokenInput(state, state.Token.ValueString()))
	}
	if err != nil {
		engineError(&resp.Diagnostics, "Error Reading VPP Token", err, nil)
		return
	}
	if state.TakeOverFromOtherMDM.IsNull() {
		state.TakeOverFromOtherMDM = types.BoolValue(false) // after import
	}
	r.fromEngine(&state, t, true)
	saveState(ctx, &resp.State, resp.Identity, &state, &resp.Diagnostics)
	tokenStateWarning(t, &resp.Diagnostics)
}

func (r *tokenResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, config, state tokenResourceModel
	if !ready(ctx, r.data, &resp.Diagnostics, "updating a VPP token",
		decode(req.Plan, &plan), decode(req.Config, &config), decode(req.State, &state)) {
		return
	}
	ctx, cancel, ok := withTimeout(ctx, plan.Timeouts.Update, tokenDefaultTimeout, &resp.Diagnostics)
	defer cancel()
	if !ok {
		return
	}

	id := state.ID.ValueString()
	at, contents := tokenFileSource(plan, config)
	in := engine.TokenInput{
		AppleID:     plan.AppleID.ValueString(),
		AccountType: plan.AccountType.ValueString(),
		DisplayName: plan.DisplayName.ValueString(),
		TakeOver:    plan.TakeOverFromOtherMDM.ValueBool(),
	}
	if tokenFileChanged(&plan, &state) {
		in.Contents = contents.ValueString()
		ctx = maskTokenFile(ctx, in.Contents)
	}
	tflog.Debug(ctx, "Updating VPP token", map[string]any{"token_id": id, "renew": in.Contents != ""})
	t, err := r.data.engine.UpdateToken(ctx, id, in)
	if err != nil {
		engineError(&resp.Diagnostics, "Error Updating VPP Token", err, tokenAttrs(at))
		return
	}
	if syncTriggered(plan, state) {
		tflog.Debug(ctx, "Syncing VPP token now (sync_trigger changed)", map[string]any{"token_id": id})
		if t, err = r.data.engine.SyncToken(ctx, id, true); err != nil {
			engineError(&resp.Diagnostics, "Error Syncing VPP Token", err, attrs{aboutNothing: path.Root("sync_trigger")})
			return
		}
	}
	// days_until_expiry counts from the clock: it changes only on refresh, or when the expiry may
	// have changed (the plan then left it unknown).
	r.fromEngine(&plan, t, plan.DaysUntilExpiry.IsUnknown())
	saveState(ctx, &resp.State, resp.Identity, &plan, &resp.Diagnostics)
	tokenStateWarning(t, &resp.Diagnostics)
}

func (r *tokenResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state tokenResourceModel
	if !ready(ctx, r.data, &resp.Diagnostics, "deleting a VPP token", decode(req.State, &state)) {
		return
	}
	id := state.ID.ValueString()
	rep, err := r.data.engine.RemoveToken(ctx, id, removeOptions(state))
	if errors.As(err, new(*engine.ReleaseError)) {
		releaseError(&resp.Diagnostics, err)
		return
	}
	what := fmt.Sprintf("The engine forgot the token for %q with its books and assignments.", state.LocationName.ValueString())
	reportRemoval(&resp.Diagnostics, "Error Deleting VPP Token", rep, err, what, tokenLicenseHolders)
	if err != nil {
		return
	}
	warnAppLicensesKept(&resp.Diagnostics, what, rep.AppLicensesKept, "Apple Business Manager or Apple School Manager "+
		"can still take them back.")
	if rep.LicensesReclaimed > 0 {
		tflog.Info(ctx, "Released the token's app licenses at Apple before forgetting it", map[string]any{"token_id": id,
			"licenses_released": rep.LicensesReclaimed})
	}
}

// ImportState accepts the token's id, or (import by identity) its location's uId: the id is
// derived from it.
func (r *tokenResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	var id tokenIdentityModel
	if importIdentity(ctx, req, &id, &resp.Diagnostics) {
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), engine.TokenID(id.LocationID.ValueString()))...)
		return
	}
	resource.ImportStatePassthroughID(ctx, path.Root("id"), req, resp)
}

// fromEngine copies what the engine knows into the model; the token file, sync_trigger,
// take_over_from_other_mdm, on_destroy and timeouts come from the configuration. days is false when
// days_until_expiry is to keep its value.
func (r *tokenResource) fromEngine(m *tokenResourceModel, t engine.Token, days bool) {
	m.ID = types.StringValue(t.ID)
	m.AppleID = types.StringValue(t.AppleID)
	m.AccountType = types.StringValue(t.AccountType)
	m.DisplayName = stringOrNull(t.DisplayName)
	m.OrganizationName = types.StringValue(t.OrganizationName)
	m.LocationName = types.StringValue(t.LocationName)
	m.LocationID = types.StringValue(t.LocationID)
	m.CountryCode = types.StringValue(t.CountryCode)
	m.ExpiresAt = timetypes.NewRFC3339TimeValue(t.ExpiresAt.UTC().Truncate(time.Second))
	if days {
		m.DaysUntilExpiry = types.Int64Value(int64(t.DaysUntilExpiry(r.data.now())))
	}
	m.State = types.StringValue(t.State)
	m.LastSyncAt = rfc3339OrNull(t.LastSyncAt)
	m.LastSyncStatus = types.StringValue(t.LastSyncStatus)
	m.BookCount = types.Int64Value(int64(t.BookCount))
	m.TokenWO = types.StringNull()
}

// maskTokenFile masks the token file in every log line written with ctx: nothing logs it, and this
// keeps it so should a lower layer ever try. (The engine's Apple client redacts the inner secret.)
func maskTokenFile(ctx context.Context, contents string) context.Context {
	// None for a blank file: masking "" would garble every message.
	return tflog.MaskLogStrings(ctx, engine.TokenFileSecrets(contents)...)
}

// appleIDValidator checks apple_id with the engine's email rule (engine.NormalizeEmail). The
// summary and the start of the detail are those of stringvalidator.RegexMatches, which it replaced.
var appleIDValidator = stringCheck{
	description: "must be an email address, such as admin@example.com",
	check: func(at path.Path, value string, diags *diag.Diagnostics) {
		var bad *engine.EmailError
		if _, err := engine.NormalizeEmail(value); errors.As(err, &bad) {
			diags.AddAttributeError(at, "Invalid Attribute Value Match",
				fmt.Sprintf("Attribute %s must be an email address, such as admin@example.com: the Apple Account that "+
					"administers the location. %s %s.", at, bad.Quoted(), "is not one: it "+bad.Reason))
		}
	},
}

// tokenAttrs are the attributes an engine error about a token is blamed on; file is the token
// file's (token or token_wo).
func tokenAttrs(file path.Path) attrs {
	return attrs{aboutAccountType: path.Root("account_type"), aboutTakeOver: path.Root("take_over_from_other_mdm"),
		aboutTokenFile: file, aboutInput: file}
}

// tokenStateWarning surfaces Apple's verdict on a token that is not valid, or a failed sync.
func tokenStateWarning(t engine.Token, diags *diag.Diagnostics) {
	switch {
	case t.State != engine.StateValid:
		detail := sentence(t.StateDetail)
		if detail == "" {
			detail = "Apple no longer accepts this token."
		}
		diags.AddWarning("VPP Token Is Not Usable",
			fmt.Sprintf("The token for %q is %s: %s %s", t.LocationName, t.State, detail, tokenStateAdvice(t.State)))
	case t.LastSyncStatus == engine.SyncFailed:
		diags.AddWarning("VPP Token Sync Failed",
			fmt.Sprintf("The last sync of the token for %q failed: %s. License counts are as of the last successful "+
				"sync; the next refresh retries, or change sync_trigger to retry now.", t.LocationName, t.LastSyncError))
	}
}
