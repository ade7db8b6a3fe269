// Package provider is the Terraform surface of vpp: schemas, plan checks and diagnostics. It holds
// no business logic; every decision about tokens, licenses and delivery belongs to the engine.
package provider

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/function"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/vppkit/terraform-provider-vpp/internal/engine"
	"github.com/vppkit/terraform-provider-vpp/internal/sandbox"
)

var (
	_ provider.Provider              = (*vppProvider)(nil)
	_ provider.ProviderWithFunctions = (*vppProvider)(nil)
)

// vppProvider is the provider implementation; version and commit identify the build.
type vppProvider struct {
	version string
	commit  string
	// tune adjusts the engine configuration (tests shorten Apple's polling intervals).
	tune func(*engine.Config)
}

// New returns a factory for the provider, so tests can serve it in-process with New("test", "")().
func New(version, commit string) func() provider.Provider {
	return func() provider.Provider {
		return &vppProvider{version: version, commit: commit}
	}
}

// providerData is what Configure hands to resources, data sources and functions.
type providerData struct {
	engine *engine.Engine
	now    func() time.Time
	// locations holds the location of each vpp_token this provider instance planned, so that two
	// resources of one configuration that use token files of the same location are refused.
	locations locationPlans
	// planned collects the assignments and group members this plan changes, so that license
	// demand is forecast for the whole plan (one plan is served by one provider instance).
	planned *engine.PlannedChanges
	// sandbox is set in sandbox mode, whose simulated Apple accepts only sandbox token files.
	sandbox bool
}

// locationPlans maps a location's uId to the vpp_token planned for it: the id of an existing one
// (from its state), or "" for one the plan creates. read holds the ids of the vpp_tokens this
// provider instance refreshed: the state of the configuration being planned holds them.
type locationPlans struct {
	mu   sync.Mutex
	m    map[string]string
	read map[string]bool
}

// refreshed notes that the state being planned holds vpp_token id.
func (l *locationPlans) refreshed(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.read == nil {
		l.read = map[string]bool{}
	}
	l.read[id] = true
}

// inState reports whether the state being planned holds vpp_token id (it was refreshed).
func (l *locationPlans) inState(id string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.read[id]
}

// plan records that a vpp_token (id, or "" for a new one) is planned for location uid, and returns
// the one planned for it before, if any (found reports whether there was one).
func (l *locationPlans) plan(uid, id string) (prior string, found bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = map[string]string{}
	}
	prior, found = l.m[uid]
	if !found || prior == "" {
		l.m[uid] = id
	}
	return prior, found
}

type providerModel struct {
	Database      types.String `tfsdk:"database"`
	AppleAPIURL   types.String `tfsdk:"apple_api_url"`
	Sandbox       types.Bool   `tfsdk:"sandbox"`
	EncryptionKey types.String `tfsdk:"encryption_key"`
	SyncInterval  types.String `tfsdk:"sync_interval"`
	EventTimeout  types.String `tfsdk:"event_timeout"`
	// AllowUnencryptedTokens lets a PostgreSQL database hold tokens without encryption_key.
	AllowUnencryptedTokens types.Bool `tfsdk:"allow_unencrypted_tokens"`
}

func (p *vppProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "vpp"
	resp.Version = p.version
}

func (p *vppProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Manage Apple volume-purchased eBooks as code: upload location tokens, sync purchased " +
			"books and license counts, and assign books to user groups. The provider embeds a management engine that " +
			"keeps its records in SQLite (default) or PostgreSQL and talks to Apple's App and Book Management API.",
		Attributes: map[string]schema.Attribute{
			"database": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "Where the engine keeps its records: a SQLite file path (created with its directory, " +
					"mode 0600 in a 0700 directory) or a `postgres://` URL for teams and CI fleets that share one engine. " +
					"Defaults to `" + engine.DefaultDatabase + "` under the working directory, or `VPP_DATABASE`.",
			},
			"apple_api_url": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "Apple's App and Book Management API. Defaults to `" + engine.DefaultAppleBaseURL + "`, or " +
					"`VPP_APPLE_API_URL`. Any compatible endpoint works; it must use HTTPS, except on a loopback address " +
					"(for simulators).",
			},
			"sandbox": schema.BoolAttribute{
				Optional: true,
				MarkdownDescription: "Run against an in-process simulation of Apple's service instead of Apple, with no Apple " +
					"account needed. Its state is kept in `sandbox.json` beside the engine's database, so plan and apply see " +
					"the same simulated Apple. It accepts sandbox token files (see the quickstart) and seeds each new location " +
					"with sample books; invited users accept after `VPP_SANDBOX_ACCEPT_AFTER` (default `2m`, or `never`). " +
					"Like Apple, it allows 15 requests a second per location and finishes requests in the background over a " +
					"few tenths of a second; `VPP_SANDBOX_PACE=instant` lifts both, for tests that want speed over realism. " +
					"Defaults to `false`, or `VPP_SANDBOX`.",
			},
			"encryption_key": schema.StringAttribute{
				Optional:  true,
				Sensitive: true,
				MarkdownDescription: "32-byte key, base64 or hex encoded, that encrypts stored tokens with AES-256-GCM " +
					"(generate one with `openssl rand -base64 32`). Defaults to `VPP_ENCRYPTION_KEY`. Once a database holds " +
					"encrypted tokens it must always be opened with the same key. On Terraform 1.10 or newer, pass an " +
					"ephemeral value to keep it out of plans entirely. Required with a PostgreSQL `database`, unless " +
					"`allow_unencrypted_tokens = true`.",
			},
			"allow_unencrypted_tokens": schema.BoolAttribute{
				Optional: true,
				MarkdownDescription: "Let a PostgreSQL `database` hold token files unencrypted, when no `encryption_key` is " +
					"set. A PostgreSQL database is usually shared by people, CI runners and backups, and each token file is " +
					"a credential for its location, so the provider refuses PostgreSQL without a key unless this is `true`. " +
					"Setting a key later encrypts the tokens already stored. It has no effect with a key, or on SQLite (where " +
					"the plan warns when a database holding unencrypted tokens can be read by other users). Defaults to " +
					"`false`, or `VPP_ALLOW_UNENCRYPTED_TOKENS`.",
			},
			"event_timeout": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "How long Apple may take to finish a request, as a Go duration (`10m`, `90s`): how long " +
					"an apply waits for a pending event before it reports the members pending, and how long the work of a " +
					"request whose answer was lost (a dropped connection, a server error after sending) is awaited in Apple's " +
					"records before the request is sent again. Sending it sooner could spend a license twice. Defaults to " +
					"`10m`, Apple's guidance for resubmitting a pending request, or `VPP_EVENT_TIMEOUT`. At least `1s`.",
			},
			"sync_interval": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "How old a token's last sync may be before a refresh syncs it again, as a Go duration " +
					"(`12h`, `30m`). Defaults to `12h` (twice a day, like Intune), or `VPP_SYNC_INTERVAL`. At least `1m`.",
			},
		},
	}
}

func (p *vppProvider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	var m providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	for name, v := range map[string]interface{ IsUnknown() bool }{
		"database": m.Database, "apple_api_url": m.AppleAPIURL, "sandbox": m.Sandbox,
		"encryption_key": m.EncryptionKey, "sync_interval": m.SyncInterval, "event_timeout": m.EventTimeout,
		"allow_unencrypted_tokens": m.AllowUnencryptedTokens,
	} {
		if v.IsUnknown() {
			resp.Diagnostics.AddAttributeError(path.Root(name), "Unknown Provider Setting",
				fmt.Sprintf("The provider cannot open its engine until %s is known. Set it to a literal, a variable, or "+
					"a value known at plan time, or apply the resources it depends on first (-target).", name))
		}
	}
	if resp.Diagnostics.HasError() {
		return
	}

	cfg := engine.Config{Version: p.version, Logger: engineLogger}
	cfg.Database = stringOr(m.Database, "VPP_DATABASE", engine.DefaultDatabase)
	databaseOK := false
	if cfg.Database == "" {
		resp.Diagnostics.AddAttributeError(path.Root("database"), "Invalid Database", "database is empty; remove it to use "+engine.DefaultDatabase+" or give a file path or postgres:// URL.")
	} else if err := engine.CheckDatabase(cfg.Database); err != nil {
		// The engine's rule: a setting that is not a SQLite path or a postgres:// URL (a keyword/value
		// connection string, another scheme) would otherwise become a file named after it. The
		// message never quotes the setting, which may hold a password.
		settingError(&resp.Diagnostics, "database", holdsCredential(cfg.Database), "Invalid Database", sentence(err.Error()))
	} else {
		databaseOK = true
	}

	rawURL := stringOr(m.AppleAPIURL, "VPP_APPLE_API_URL", engine.DefaultAppleBaseURL)
	if err := checkAppleURL(rawURL); err != nil {
		settingError(&resp.Diagnostics, "apple_api_url", holdsCredential(rawURL), "Invalid Apple API URL", err.Error())
	}
	cfg.AppleBaseURL = rawURL

	useSandbox, err := boolOr(m.Sandbox, "VPP_SANDBOX")
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("sandbox"), "Invalid Sandbox Setting", err.Error())
	}
	if useSandbox {
		if !m.AppleAPIURL.IsNull() {
			resp.Diagnostics.AddAttributeError(path.Root("apple_api_url"), "Conflicting Provider Settings",
				"sandbox = true runs a simulated Apple service inside the provider, so apple_api_url has no effect; remove one of them.")
		}
		// An invalid database is reported above: the sandbox's state would sit beside it.
		if databaseOK {
			sb, err := openSandbox(cfg.Database)
			if err != nil {
				resp.Diagnostics.AddAttributeError(path.Root("sandbox"), "Unable to Start the Sandbox", err.Error())
			} else {
				cfg.HTTPClient, cfg.AppleBaseURL = sb.HTTPClient(), sandbox.BaseURL
				// The sandbox's Apple finishes an event in a few steps of DefaultProcessingDelay, as
				// the real one does in seconds: poll at its pace rather than Apple's 30 s.
				cfg.FirstPoll, cfg.PollInterval = sandbox.DefaultProcessingDelay, sandbox.DefaultProcessingDelay
			}
		}
	}

	key := stringOr(m.EncryptionKey, "VPP_ENCRYPTION_KEY", "")
	if key != "" {
		cfg.EncryptionKey, err = decodeKey(key)
		if err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("encryption_key"), "Invalid Encryption Key", err.Error())
		}
	}
	allowPlain, err := boolOr(m.AllowUnencryptedTokens, "VPP_ALLOW_UNENCRYPTED_TOKENS")
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("allow_unencrypted_tokens"), "Invalid Unencrypted Tokens Setting", err.Error())
	}
	if key == "" && !allowPlain && err == nil && databaseOK && engine.DatabaseKind(cfg.Database) == engine.DatabasePostgres {
		resp.Diagnostics.AddAttributeError(path.Root("encryption_key"), "Missing Encryption Key",
			"database names a PostgreSQL server, and no encryption_key is set (nor VPP_ENCRYPTION_KEY): the engine would "+
				"store every token file there unencrypted, where everyone who can read the database or its backups could "+
				"use it. Set encryption_key to a 32-byte key (generate one with `openssl rand -base64 32`, keep it in a "+
				"secret store, and give every runner the same key; tokens already stored are encrypted on the next run), or "+
				"set allow_unencrypted_tokens = true in the provider block to store them unencrypted on purpose.")
	}

	if d, ok := syncIntervalSetting.read(m.SyncInterval, &resp.Diagnostics); ok {
		cfg.SyncInterval = d
	}
	if d, ok := eventTimeoutSetting.read(m.EventTimeout, &resp.Diagnostics); ok {
		cfg.EventTimeout = d
	}
	if resp.Diagnostics.HasError() {
		return
	}
	if p.tune != nil {
		p.tune(&cfg)
	}

	eng, err := openEngine(ctx, cfg)
	if err != nil {
		settingError(&resp.Diagnostics, "database", holdsCredential(cfg.Database), "Unable to Open the VPP Engine",
			fmt.Sprintf("The engine's database could not be opened: %v", err))
		return
	}
	if len(cfg.EncryptionKey) == 0 && engine.DatabaseKind(cfg.Database) == engine.DatabaseSQLite {
		warnReadablePlainTokens(ctx, eng, cfg.Database, &resp.Diagnostics)
	}
	data := &providerData{engine: eng, now: time.Now, planned: engine.NewPlannedChanges(), sandbox: useSandbox}
	if cfg.Now != nil {
		data.now = cfg.Now
	}
	resp.ResourceData = data
	resp.DataSourceData = data
	resp.EphemeralResourceData = data
	resp.ActionData = data
	resp.ListResourceData = data
}

func (p *vppProvider) Resources(_ context.Context) []func() resource.Resource {
	return []func() resource.Resource{NewTokenResource, NewUserGroupResource, NewDeviceGroupResource, NewEbookAssignmentResource, NewAppAssignmentResource}
}

func (p *vppProvider) DataSources(_ context.Context) []func() datasource.DataSource {
	return []func() datasource.DataSource{NewBooksDataSource, NewBookDataSource, NewAppsDataSource, NewAppDataSource, NewUserGroupDataSource, NewDeviceGroupDataSource, NewTokensDataSource, NewEbookAssignmentMembersDataSource, NewAuditLogDataSource}
}

func (p *vppProvider) Functions(_ context.Context) []func() function.Function {
	return []func() function.Function{NewParseTokenFunction}
}

// Engines are shared by configuration within one process: Terraform configures the provider once
// per run, but tests configure it for every step, and one SQLite file is best served by one engine.
var (
	enginesMu sync.Mutex
	engines   = map[string]*engine.Engine{}
)

func openEngine(ctx context.Context, cfg engine.Config) (*engine.Engine, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%x\x00%s\x00%s\x00%v\x00%v\x00%v", cfg.Database, cfg.AppleBaseURL, cfg.EncryptionKey, cfg.SyncInterval,
		cfg.Version, cfg.PollInterval, cfg.HTTPClient != nil, cfg.EventTimeout)
	key := hex.EncodeToString(h.Sum(nil))
	enginesMu.Lock()
	defer enginesMu.Unlock()
	if e, ok := engines[key]; ok {
		return e, nil
	}
	tflog.Debug(ctx, "Opening the VPP engine", map[string]any{"database_kind": engine.DatabaseKind(cfg.Database)})
	e, err := engine.Open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	engines[key] = e
	return e, nil
}

// Shutdown closes every engine and sandbox this process opened. main calls it once Terraform has
// stopped the provider, so that databases are released cleanly (SQLite checkpoints its WAL).
func Shutdown() {
	enginesMu.Lock()
	for key, e := range engines {
		_ = e.Close()
		delete(engines, key)
	}
	enginesMu.Unlock()
	sandboxesMu.Lock()
	for key, sb := range sandboxes {
		sb.Close()
		delete(sandboxes, key)
	}
	sandboxesMu.Unlock()
}

// settingError reports an error about a provider setting. When the setting's value holds a
// credential, the error is not attached to the attribute (its text names the setting): Terraform
// would print the configuration line under it, credential and all.
func settingError(diags *diag.Diagnostics, attr string, credential bool, summary, detail string) {
	if credential {
		diags.AddError(summary, detail)
		return
	}
	diags.AddAttributeError(path.Root(attr), summary, detail)
}

// holdsCredential reports whether a URL or connection string carries a password or user info.
func holdsCredential(setting string) bool {
	return strings.Contains(strings.ToLower(setting), "password") || redactedURL(setting) != setting
}

// warnReadablePlainTokens warns, at plan time, when a SQLite database that holds tokens in plain
// text (no encryption key) can be read by users other than its owner: the store creates it 0600,
// but a copy, a restore or a chmod may have widened it.
func warnReadablePlainTokens(ctx context.Context, eng *engine.Engine, database string, diags *diag.Diagnostics) {
	file, err := engine.SQLiteFile(database)
	if err != nil {
		return
	}
	fi, err := os.Stat(file)
	if err != nil || fi.Mode().Perm()&0o077 == 0 {
		return
	}
	tokens, err := eng.ListTokens(ctx)
	if err != nil || len(tokens) == 0 {
		return
	}
	who := "other users of this machine"
	if fi.Mode().Perm()&0o007 == 0 {
		who = "the members of its group"
	}
	diags.AddAttributeWarning(path.Root("database"), "Unencrypted Tokens Readable by Others",
		fmt.Sprintf("The engine database %s holds %d token file(s) unencrypted (no encryption_key is set), and its mode "+
			"is %04o, so %s can read them. Restrict it with `chmod 600 %s`, and set encryption_key (generate one with "+
			"`openssl rand -base64 32`) to encrypt the tokens at rest.", file, len(tokens), fi.Mode().Perm(), who, file))
}

// durationSetting is a provider setting that holds a Go duration, from its attribute or else its
// environment variable.
type durationSetting struct {
	attr, env, summary string
	examples           string        // durations to suggest, such as "12h" or "30m"
	min                time.Duration // the shortest accepted
	tooShort           string        // what is shorter than min, and why it is refused
}

var (
	syncIntervalSetting = durationSetting{attr: "sync_interval", env: "VPP_SYNC_INTERVAL", summary: "Invalid Sync Interval",
		examples: `"12h" or "30m"`, min: time.Minute, tooShort: "one minute; Apple asks clients not to poll that often."}
	eventTimeoutSetting = durationSetting{attr: "event_timeout", env: "VPP_EVENT_TIMEOUT", summary: "Invalid Event Timeout",
		examples: `"10m" or "90s"`, min: time.Second, tooShort: "one second; Apple takes seconds to minutes to finish a " +
			"request. Remove it to use Apple's 10 minutes."}
)

// read returns the setting's duration from v or the environment; false when it is unset, or
// invalid (which adds an error on its attribute).
func (s durationSetting) read(v types.String, diags *diag.Diagnostics) (time.Duration, bool) {
	raw := stringOr(v, s.env, "")
	if raw == "" {
		return 0, false
	}
	d, err := time.ParseDuration(raw)
	switch {
	case err != nil:
		diags.AddAttributeError(path.Root(s.attr), s.summary,
			fmt.Sprintf("%s %s is not a duration; use a Go duration such as %s.", s.attr, quoteInput(raw), s.examples))
	case d < s.min:
		diags.AddAttributeError(path.Root(s.attr), s.summary,
			fmt.Sprintf("%s %s is shorter than %s", s.attr, quoteInput(raw), s.tooShort))
	default:
		return d, true
	}
	return 0, false
}

func stringOr(v types.String, env, def string) string {
	if !v.IsNull() {
		return v.ValueString()
	}
	if s, ok := os.LookupEnv(env); ok {
		return s
	}
	return def
}

func boolOr(v types.Bool, env string) (bool, error) {
	if !v.IsNull() {
		return v.ValueBool(), nil
	}
	s, ok := os.LookupEnv(env)
	if !ok || s == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, fmt.Errorf("%s=%s is not a boolean; use true or false (or 1 or 0)", env, quoteInput(s))
	}
	return b, nil
}

// checkAppleURL accepts HTTPS anywhere and plain HTTP only on loopback (simulators), without user
// info. Its errors show the URL with any user info redacted, and cut short when long.
func checkAppleURL(raw string) error {
	shown := quoteInput(redactedURL(raw))
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Errorf("apple_api_url %s is not an absolute http(s) URL; the default is %s", shown, engine.DefaultAppleBaseURL)
	}
	if u.User != nil {
		return fmt.Errorf("apple_api_url %s holds a user name or password (user:password@ before the host). Apple's API "+
			"authenticates with each token file, never with credentials in the URL, and the URL shows in logs and "+
			"errors: remove them", shown)
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		return fmt.Errorf("apple_api_url %s uses plain HTTP on a host that is not loopback; tokens would travel unencrypted. "+
			"Use https://, or a loopback address (127.0.0.1, ::1, localhost) for a local simulator", shown)
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// decodeKey reads a 32-byte key given as base64 or as 64 hex digits. The error never echoes it.
func decodeKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if b, err := hex.DecodeString(s); err == nil && len(b) == 32 {
		return b, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) != 32 {
				return nil, fmt.Errorf("encryption_key decodes to %d bytes; AES-256 needs exactly 32. Generate one with `openssl rand -base64 32`", len(b))
			}
			return b, nil
		}
	}
	return nil, fmt.Errorf("encryption_key is neither base64 nor 64 hex digits; generate one with `openssl rand -base64 32`")
}
