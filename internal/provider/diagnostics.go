package provider

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"

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

// What an engine error is about: the domain field to blame. Each resource or data source maps the
// fields it has to its own attributes (an attrs map); an error about a field it does not map is
// reported on the resource as a whole.
type subject int

const (
	aboutNothing         subject = iota
	aboutToken                   // a token id (a data source's token_id)
	aboutTokenFile               // the token file (token or token_wo)
	aboutAccountType             // account_type
	aboutTakeOver                // take_over_from_other_mdm
	aboutBook                    // a book id, or what finds a book (adam_id, title)
	aboutApp                     // an app id, or what finds an app (adam_id, bundle_id, name)
	aboutGroup                   // a group id
	aboutMembers                 // a group's members
	aboutInput                   // the input as a whole, when the error names no field of it
	aboutManagedAccounts         // managed_apple_accounts
	aboutRoster                  // a roster file (roster.file)
	aboutRosterRoles             // the roles a OneRoster file is filtered on (roster.roles)
)

// attrs maps subjects to the attributes that hold them.
type attrs map[subject]path.Path

// explanation is the diagnostic for one engine error: summary ("" keeps the operation's), the
// detail (what is wrong, and what to do), and the subject to blame.
type explanation struct {
	summary string
	detail  string
	about   subject
}

// explain turns an engine error into the words of a diagnostic. It is the one place that says,
// for each fact the engine reports, which attribute it concerns and what the user does about it.
func explain(err error) explanation {
	var (
		notFound  *engine.NotFoundError
		query     *engine.BookQueryError
		product   *engine.ProductError
		badID     *engine.BookIDError
		exists    *engine.AssignmentExistsError
		dup       *engine.DuplicateLocationError
		external  *engine.ExternalMDMError
		account   *engine.AccountTypeError
		moved     *engine.LocationChangedError
		unusable  *engine.TokenUnusableError
		shortage  *engine.ShortageError
		busy      *engine.BusyError
		switching *engine.ManagedAccountsSwitchError
		devices   *engine.DeviceLicensingError
		release   *engine.ReleaseError
		reclaim   *engine.ReclaimError
	)
	text := sentence(err.Error())
	switch {
	case errors.As(err, &shortage):
		return explanation{"Not Enough Licenses", text + " " + shortageAdvice(shortage), aboutGroup}
	case errors.As(err, &notFound) && notFound.Kind == engine.KindGroup:
		return explanation{"Unknown User Group", text + " Use the id of a vpp_user_group managed with this provider's " +
			"database (vpp_user_group.<name>.id).", aboutGroup}
	case errors.As(err, &notFound) && notFound.Kind == engine.KindAssignment:
		return explanation{"Unknown eBook Assignment", text + " Use the id of a vpp_ebook_assignment managed with this " +
			"provider's database (vpp_ebook_assignment.<name>.id).", aboutNothing}
	case errors.As(err, &notFound) && notFound.Kind == engine.KindToken:
		return explanation{"Unknown VPP Token", fmt.Sprintf("No vpp_token with id %q is in the engine's database. Pass "+
			"the id attribute of a vpp_token managed with this provider configuration (the same database).", notFound.ID), aboutToken}
	case errors.As(err, &notFound) && notFound.Kind == engine.KindBook:
		return explanation{"Unknown Book", text + " " + bookIDAdvice + " A token's books appear after its first sync.", aboutBook}
	case errors.As(err, &notFound) && notFound.Kind == engine.KindApp:
		return explanation{"Unknown App", text + " " + appIDAdvice + " A token's apps appear after its first sync.", aboutApp}
	case errors.As(err, &query) && query.Kind == engine.KindApp:
		return explainAppQuery(query)
	case errors.As(err, &query):
		return explainQuery(query)
	case errors.As(err, &product):
		return explainProduct(product)
	case errors.As(err, &badID):
		return malformedID("Book", badID.Input, bookIDAdvice, aboutBook)
	case errors.As(err, &exists):
		id := exists.ExistingID
		if id == "" {
			id = exists.BookID + "/" + exists.GroupID
		}
		summary, noun := "eBook Assignment Already Exists", engine.KindBook
		if exists.Kind == engine.KindApp {
			summary, noun = "App Assignment Already Exists", engine.KindApp
		}
		return explanation{summary, fmt.Sprintf("%s One %s has one assignment per group: import the existing one (an "+
			"import block with id = %q) instead of creating another, or change its intent there.", text, noun, id), aboutGroup}
	case errors.As(err, &dup):
		advice := "Keep one vpp_token for the location and refer to it (vpp_token.<name>.id) wherever it is needed."
		if dup.ExistingTokenID != "" {
			advice = fmt.Sprintf("To manage the location from this configuration as well, import that token (an import "+
				"block with id = %q) instead of creating another; to replace its token file, renew it in place (change "+
				"its token, or token_wo_version).", dup.ExistingTokenID)
		}
		return explanation{"Location Already Held", text + " " + advice, aboutTokenFile}
	case errors.As(err, &external):
		return explanation{"Location Managed by Another System", text + " " + externalMDMAdvice, aboutTakeOver}
	case errors.As(err, &account):
		return explanation{"Account Type Mismatch", fmt.Sprintf("%s Set account_type = %q.", text, account.Actual), aboutAccountType}
	case errors.As(err, &moved):
		return explanation{"Token File of Another Location", text + " Download the token file of the location this " +
			"vpp_token manages, or create a separate vpp_token for the other location.", aboutTokenFile}
	case errors.As(err, &unusable):
		return explanation{"VPP Token Not Usable", text + " " + tokenStateAdvice(unusable.State), aboutTokenFile}
	case errors.As(err, &release) && !release.Refused():
		// (A refused release is worded by its cause, below: the token cannot be used.)
		return explanation{"App Licenses Not Released", text + " " + journaledAdvice("destroying the vpp_token again releases "+
			"the licenses still held"), aboutNothing}
	case errors.As(err, &reclaim):
		return explanation{"App Licenses Not Reclaimed", text + " " + journaledAdvice("applying again takes back the "+
			"licenses still held") + " If Apple keeps refusing, check the app's licenses in Apple Business Manager or Apple " +
			"School Manager.", aboutNothing}
	case errors.As(err, &busy):
		return explanation{"VPP Token Busy", text + " Another terraform run, or a runner sharing this database, is working " +
			"on the token: run again when it has finished.", aboutNothing}
	case errors.As(err, &switching):
		return explanation{"Cannot Switch to Managed Apple Accounts", text + " Keep managed_apple_accounts = false for " +
			"this group (members can still accept their invitations), or create a new group with managed_apple_accounts " +
			"= true for the people who should use Managed Apple Accounts.", aboutManagedAccounts}
	case errors.Is(err, engine.ErrDeliveryIncomplete):
		return explanation{"", text + " Run apply again to resume. Nothing was lost: the engine journals every request " +
			"and the next apply resumes where this one stopped.", aboutNothing}
	case errors.Is(err, engine.ErrOutcomeUnknown):
		return explanation{"", text + "\n\n" + outcomeUnknownHint, aboutNothing}
	case errors.As(err, &devices):
		return explainDeviceLicensing(devices)
	case errors.As(err, &notFound) && notFound.Kind == engine.KindDeviceGroup:
		return explanation{"Unknown Device Group", text + " " + deviceGroupIDAdvice, aboutGroup}
	case errors.As(err, new(*engine.SerialsError)):
		return explanation{"Invalid Serial Numbers", text + " " + serialNumberAdvice, aboutMembers}
	case isRosterError(err):
		return explainRoster(err, text)
	case errors.As(err, new(*engine.EmailError)):
		return explanation{"", text, aboutMembers}
	case errors.Is(err, engine.ErrInvalidInput):
		return explanation{"", text, aboutInput}
	}
	return explanation{"", text, aboutNothing}
}

// explainDeviceLicensing words an asset Apple does not license to devices, assigned to a device
// group.
func explainDeviceLicensing(e *engine.DeviceLicensingError) explanation {
	title := ""
	if e.Title != "" {
		title = fmt.Sprintf(" (%q)", e.Title)
	}
	if e.Kind != engine.KindApp {
		return explanation{"Book Cannot Be Licensed to Devices", fmt.Sprintf("Book %s%s cannot be licensed to devices, so "+
			"device group %s cannot receive it: Apple licenses books to people only. Assign it to a vpp_user_group instead.",
			e.ID, title, e.GroupID), aboutGroup}
	}
	return explanation{"App Cannot Be Licensed to Devices", fmt.Sprintf("App %s%s cannot be licensed to devices, so device "+
		"group %s cannot receive it: Apple does not mark the app device-assignable (device_assignable = false in the "+
		"vpp_apps and vpp_app data sources). Assign it to a vpp_user_group instead (group_id), or choose an app whose "+
		"device_assignable is true.", e.ID, title, e.GroupID), aboutGroup}
}

// explainQuery words a lookup of one book that matched none or several, in the data source's
// attribute names.
func explainQuery(q *engine.BookQueryError) explanation {
	what := q.Criteria("adam_id", "bundle_id", "title", "token_id")
	if len(q.Matches) == 0 {
		return explanation{"Book Not Found", fmt.Sprintf("No purchased book matches %s; list what the engine holds with "+
			"the vpp_books data source (books appear after a token's first sync).", what), aboutBook}
	}
	return explanation{"Several Books Match", fmt.Sprintf("%d books match %s (%s); narrow it with token_id or adam_id.",
		len(q.Matches), what, strings.Join(q.Matches, ", ")), aboutBook}
}

// explainProduct words an id that names a book where an app is wanted, or the other way round.
// (The error's text begins with the id, whose case sentence would change.)
func explainProduct(e *engine.ProductError) explanation {
	if e.Want == engine.KindApp {
		return explanation{"Not an App", "The id " + e.Error() + ". " + appIDAdvice, aboutApp}
	}
	return explanation{"Not a Book", "The id " + e.Error() + ". " + bookIDAdvice, aboutBook}
}

// explainAppQuery words a lookup of one app that matched none or several, in vpp_app's attribute
// names.
func explainAppQuery(q *engine.BookQueryError) explanation {
	what := q.Criteria("adam_id", "bundle_id", "name", "token_id")
	if len(q.Matches) == 0 {
		return explanation{"App Not Found", fmt.Sprintf("No purchased app matches %s; list what the engine holds with "+
			"the vpp_apps data source (apps appear after a token's first sync).", what), aboutApp}
	}
	return explanation{"Several Apps Match", fmt.Sprintf("%d apps match %s (%s); narrow it with token_id, or look "+
		"one up by its id.", len(q.Matches), what, strings.Join(q.Matches, ", ")), aboutApp}
}

// malformedID words an id that is not of the form <token_id>:<adam_id>:<pricing_param>: what
// ("Book", "App") it should name, and advice on where such ids come from.
func malformedID(what, input, advice string, about subject) explanation {
	return explanation{"Invalid " + what + " ID", fmt.Sprintf("%s id %s is not of the form <token_id>:<adam_id>:<pricing_param>. %s",
		what, quoteInput(input), advice), about}
}

// bookIDAdvice says where a book id comes from.
const bookIDAdvice = "Take book_id from the vpp_books or vpp_book data source (data.vpp_book.<name>.id)."

// appIDAdvice says where an app id comes from.
const appIDAdvice = "Take the id of an app from the vpp_apps or vpp_app data source (data.vpp_app.<name>.id)."

// externalMDMAdvice says what to do about a location another system manages.
const externalMDMAdvice = "Remove the " +
	"token from the other system, or set take_over_from_other_mdm = true to make this provider the location's manager."

// shortageAdvice says what to do about a shortage of licenses.
func shortageAdvice(e *engine.ShortageError) string {
	advice := fmt.Sprintf("Buy at least %d more licenses in Apple Business Manager or Apple School Manager and sync, or "+
		"set allow_oversubscription = true to license members in email order until licenses run out", e.Short())
	if len(e.Demand) > 1 {
		return advice + " on every assignment of the " + e.Product() + ", or assign it to fewer groups."
	}
	return advice + "."
}

// tokenStateAdvice says what to do about a token in state (engine.State*); "" for a valid one.
func tokenStateAdvice(state string) string {
	switch state {
	case engine.StateValid:
		return ""
	case engine.StateExpired:
		return "Tokens last one year: download a new one in Apple Business Manager or Apple School Manager " +
			"(Settings > Payments and Billing > Content Tokens) and renew the vpp_token in place (change token, or token_wo and token_wo_version)."
	case engine.StateRevoked:
		return "Apple revoked it: download a new token for the location and renew the vpp_token in place."
	case engine.StateExternalMDM:
		return externalMDMAdvice
	}
	return "Apple does not accept it; a token becomes invalid when the password of the Managed Apple Account that " +
		"downloaded it changes. Download a new token and renew the vpp_token in place."
}

// engineError adds the diagnostic for an engine error (see explain): its summary, or op's when the
// error is no fact of its own ("Error Creating VPP Token"), on the attribute that at maps its
// subject to, or on the resource. A nil at reports every error on the resource.
func engineError(diags *diag.Diagnostics, op string, err error, at attrs) {
	x := explain(err)
	summary := x.summary
	if summary == "" {
		summary = op
	}
	report(diags, summary, x.detail, at, x.about)
}

// engineErrorIn adds the diagnostic for an engine error met while doing something the user did not
// ask for directly (rebuilding a record, say): summary names that, and why says it before the
// engine error's own detail.
func engineErrorIn(diags *diag.Diagnostics, summary, why string, err error, at attrs) {
	x := explain(err)
	report(diags, summary, why+" "+x.detail, at, x.about)
}

// report adds an error on the attribute at maps about to (aboutNothing maps the attribute to blame
// when the error names no subject), or on the resource.
func report(diags *diag.Diagnostics, summary, detail string, at attrs, about subject) {
	if p, ok := at[about]; ok {
		diags.AddAttributeError(p, summary, detail)
		return
	}
	diags.AddError(summary, detail)
}

// sentence makes an engine error's text a sentence: a capital letter and a full stop.
func sentence(s string) string {
	s = upperFirst(s)
	if s != "" && !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

// journaledAdvice says that work Apple left undone is finished by running again (again, what the
// next run does), and exactly once.
func journaledAdvice(again string) string {
	return "Nothing is lost or sent twice: the engine journals every request to Apple, so " + again + ", exactly once."
}

// outcomeUnknownHint explains a request whose outcome is unknown, and what to do.
const outcomeUnknownHint = "The connection to Apple broke after the request was sent, so whether Apple applied it is not " +
	"known. Apply again: the engine first reads Apple's records and sends only what is still missing, so nothing is done twice."

// notConfigured reports, from a resource operation, a provider that was never configured; it
// returns true when it did. (The framework configures the provider before any operation that
// reaches the engine, so this is a bug, not a user's mistake.)
func notConfigured(data *providerData, diags *diag.Diagnostics, doing string) bool {
	if data != nil {
		return false
	}
	diags.AddError("Provider Not Configured", "The vpp provider was not configured before "+doing+". This is always a "+
		"bug in the provider and should be reported to the provider developers.")
	return true
}

// licenseCount counts licenses by what they are of, for the warnings that name them.
type licenseCount struct {
	books, apps int
	devices     bool // the licenses are held by devices, not users
}

// keptOf is what a removal's report counts as staying with users, but the revocable app licenses a
// token's removal was asked to keep (warnAppLicensesKept words those).
func keptOf(rep engine.RemoveReport) licenseCount {
	return licenseCount{books: rep.BookLicensesKept, apps: max(rep.LicensesKept-rep.AppLicensesKept-rep.BookLicensesKept, 0)}
}

func (c licenseCount) total() int { return c.books + c.apps }

// String names the licenses by what they are of: "1 book license", "2 app licenses", "3 licenses
// (2 of books, 1 of apps)".
func (c licenseCount) String() string {
	n, of := c.total(), ""
	switch {
	case c.apps == 0:
		of = "book "
	case c.books == 0:
		of = "app "
	}
	s := fmt.Sprintf("%d %slicense", n, of)
	if n != 1 {
		s += "s"
	}
	if of == "" {
		s += fmt.Sprintf(" (%d of books, %d of apps)", c.books, c.apps)
	}
	return s
}

// stay says that the licenses stay (with someone): "1 book license stays", "2 app licenses stay".
func (c licenseCount) stay() string {
	if c.total() == 1 {
		return c.String() + " stays"
	}
	return c.String() + " stay"
}

// summary is the title of a warning about the licenses: "Book Licenses", "App Licenses", or
// "Licenses" when they are of both.
func (c licenseCount) summary() string {
	switch {
	case c.apps == 0:
		return "Book Licenses"
	case c.books == 0:
		return "App Licenses"
	}
	return "Licenses"
}

// whyKept says why licenses that are not taken back stay, by what they are of.
func (c licenseCount) whyKept() string {
	const apps = "apps that are not revocable, and an app that another assignment still gives its user is not taken back"
	switch {
	case c.apps == 0:
		return "Apple does not allow reclaiming books"
	case c.books == 0:
		return "Apple does not allow reclaiming " + apps
	}
	return "Apple does not allow reclaiming books, nor " + apps
}

// warnLicensesKept is the one wording of a fact every removal meets: licenses already given that
// are not taken back stay with their users. what says what is (or would be) removed, as a
// sentence; whom, who keeps them. at, when not nil, is the attribute the warning belongs to.
func warnLicensesKept(diags *diag.Diagnostics, at *path.Path, what string, kept licenseCount, whom string) {
	if kept.total() <= 0 {
		return
	}
	summary := kept.summary() + " Stay With Their Users"
	if kept.devices {
		summary = kept.summary() + " Stay With Their Devices"
	}
	detail := fmt.Sprintf("%s %s with %s: %s, so they still count as assigned at Apple.",
		what, upperFirst(kept.stay()), whom, kept.whyKept())
	if at != nil {
		diags.AddAttributeWarning(*at, summary, detail)
		return
	}
	diags.AddWarning(summary, detail)
}

// warnLicensesReclaimed is the one wording of what a plan's removal does to revocable app
// licenses: they are taken back from whom and return to the apps' available licenses. what says what
// is removed, as a sentence; at, when not nil, is the attribute the warning belongs to.
func warnLicensesReclaimed(diags *diag.Diagnostics, at *path.Path, what string, n int, whom string) {
	if n <= 0 {
		return
	}
	detail := fmt.Sprintf("%s Applying it takes %s back from %s at Apple (the apps are revocable) and returns them to the apps' "+
		"available licenses. Removing the apps from devices is the device management system's job, not this provider's.",
		what, licenseCount{apps: n}, whom)
	if at != nil {
		diags.AddAttributeWarning(*at, "App Licenses Will Be Reclaimed", detail)
		return
	}
	diags.AddWarning("App Licenses Will Be Reclaimed", detail)
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// warnAdopted reports the existing VPP users a delivery recognised at Apple instead of creating
// them (a take-over from another system, or another engine's users), with the licenses they held.
func warnAdopted(diags *diag.Diagnostics, a engine.Adoption) {
	if a.Users == 0 {
		return
	}
	diags.AddWarning("Existing VPP Users Adopted",
		fmt.Sprintf("%d member(s) already had a VPP user at this location (created by another system, or by this "+
			"provider with another database), holding %s there. They were adopted as they are: no user "+
			"was created for them and none of those licenses was spent again.", a.Users,
			licenseCount{books: a.Licenses - a.AppLicenses, apps: a.AppLicenses}))
}

// quoteInput quotes what a user wrote for a diagnostic (engine.QuoteInput).
func quoteInput(s string) string { return engine.QuoteInput(s) }

// redactedURL returns raw with any user info (user:password@) replaced by "xxxxx", for messages
// and logs. It also masks what looks like user info in text net/url cannot parse.
func redactedURL(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.User != nil {
		u.User = url.User("xxxxx")
		return u.String()
	}
	prefix, rest := "", raw
	if i := strings.Index(raw, "://"); i >= 0 {
		prefix, rest = raw[:i+3], raw[i+3:]
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	if at := strings.LastIndex(rest[:end], "@"); at >= 0 {
		rest = "xxxxx" + rest[at:]
	}
	return prefix + rest
}

// minTimeout is the shortest timeout a resource accepts: anything shorter cancels the operation
// before it has done anything ("context deadline exceeded").
const minTimeout = time.Second

// withTimeoutChecks adds, to each duration of a timeouts attribute (timeouts.Attributes), a check
// at plan time that it is at least minTimeout; def is the operations' default, named in the
// diagnostic.
func withTimeoutChecks(a schema.Attribute, def time.Duration) schema.Attribute {
	n, ok := a.(schema.SingleNestedAttribute)
	if !ok {
		return a // TestTimeoutsAreChecked notices
	}
	attrs := make(map[string]schema.Attribute, len(n.Attributes))
	for name, v := range n.Attributes {
		if s, ok := v.(schema.StringAttribute); ok {
			s.Validators = append(slices.Clone(s.Validators), timeoutValidator{def: def})
			v = s
		}
		attrs[name] = v
	}
	n.Attributes = attrs
	return n
}

// timeoutValidator refuses a timeout shorter than minTimeout (negative, zero, nanoseconds). Text
// that is not a duration is left to the timeouts library's own validator.
type timeoutValidator struct{ def time.Duration }

var _ validator.String = timeoutValidator{}

func (v timeoutValidator) Description(_ context.Context) string {
	return "value must be a duration of at least " + minTimeout.String()
}

func (v timeoutValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (v timeoutValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	d, err := time.ParseDuration(req.ConfigValue.ValueString())
	if err != nil || d >= minTimeout {
		return
	}
	why := "is negative"
	switch {
	case d == 0:
		why = "is zero"
	case d > 0:
		why = "is shorter than one second"
	}
	resp.Diagnostics.AddAttributeError(req.Path, "Invalid Timeout",
		fmt.Sprintf("%s = %s %s: the operation would be cancelled before it could do anything (\"context deadline "+
			"exceeded\"). Use a positive duration such as \"30m\" or \"1h\", or remove it to use the default (%q).",
			req.Path, quoteInput(req.ConfigValue.ValueString()), why, shortDuration(v.def)))
}

// shortDuration formats d without zero units ("20m", not "20m0s").
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// wholeNumberValidator refuses a number that is not a whole number a 64-bit integer holds, with a
// diagnostic that says so (an Int64 attribute given 1.5 fails inside the framework, with a message
// about a provider bug instead). summary and advice complete the diagnostic.
type wholeNumberValidator struct{ summary, advice string }

var _ validator.Number = wholeNumberValidator{}

func (v wholeNumberValidator) Description(_ context.Context) string {
	return "value must be a whole number"
}

func (v wholeNumberValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (v wholeNumberValidator) ValidateNumber(_ context.Context, req validator.NumberRequest, resp *validator.NumberResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	f := req.ConfigValue.ValueBigFloat()
	if f.IsInt() {
		if _, acc := f.Int64(); acc == big.Exact {
			return
		}
	}
	text := f.Text('g', -1)
	if len(text) > 40 {
		text = f.Text('g', 10)
	}
	why := "is not a whole number"
	if f.IsInt() {
		why = "is too large: it must lie between -9223372036854775808 and 9223372036854775807"
	}
	resp.Diagnostics.AddAttributeError(req.Path, v.summary, fmt.Sprintf("%s = %s %s. %s", req.Path, text, why, v.advice))
}

// isRosterError reports whether err is about a roster file or its settings.
func isRosterError(err error) bool {
	return errors.As(err, new(*engine.RosterError)) || errors.As(err, new(*engine.RosterFileError)) ||
		errors.As(err, new(*engine.RosterColumnError)) || errors.As(err, new(*engine.RosterSettingError))
}

// explainRoster words a roster file that cannot be used: nothing was read into the group.
func explainRoster(err error, text string) explanation {
	const advice = " Nothing was changed: correct the file, or the roster's settings, and run the plan again."
	var setting *engine.RosterSettingError
	if errors.As(err, &setting) && setting.Field == "Roles" {
		return explanation{"Invalid Roster Setting", text + advice, aboutRosterRoles}
	}
	if errors.As(err, &setting) {
		return explanation{"Invalid Roster Setting", text + advice, aboutRoster}
	}
	return explanation{"Invalid Roster File", text + advice, aboutRoster}
}
