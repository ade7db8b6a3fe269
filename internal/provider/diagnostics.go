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

	"github.com/vppkit/terraform-provider-vpp/internal/apple"
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

// engineError adds a diagnostic for an engine error: on attr when given (the attribute to blame),
// otherwise on the resource. The engine's error texts already say what is wrong and what to do.
func engineError(diags *diag.Diagnostics, attr *path.Path, summary string, err error) {
	detail := err.Error()
	switch {
	case errors.Is(err, engine.ErrDeliveryIncomplete):
		detail += "\n\nNothing was lost: the engine journals every request and the next apply resumes where this one stopped."
	case errors.Is(err, apple.ErrOutcomeUnknown):
		detail += "\n\n" + outcomeUnknownHint
	case errors.Is(err, engine.ErrTokenUnusable), errors.Is(err, engine.ErrExternalMDM):
		// the engine's text names the cause and the remedy
	}
	if attr != nil {
		diags.AddAttributeError(*attr, summary, detail)
		return
	}
	diags.AddError(summary, detail)
}

// outcomeUnknownHint explains a request whose outcome is unknown, and what to do.
const outcomeUnknownHint = "The connection to Apple broke after the request was sent, so whether Apple applied it is not " +
	"known. Apply again: the engine first reads Apple's records and sends only what is still missing, so nothing is done twice."

func attrPath(name string) *path.Path {
	p := path.Root(name)
	return &p
}

// warnAdopted reports the existing VPP users a delivery recognised at Apple instead of creating
// them (a take-over from another system, or another engine's users), with the licenses they held.
func warnAdopted(diags *diag.Diagnostics, a engine.Adoption) {
	if a.Users == 0 {
		return
	}
	diags.AddWarning("Existing VPP Users Adopted",
		fmt.Sprintf("%d member(s) already had a VPP user at this location (created by another system, or by this "+
			"provider with another database), holding %d book license(s) there. They were adopted as they are: no user "+
			"was created for them and none of those licenses was spent again.", a.Users, a.Licenses))
}

// quoteInput quotes what a user wrote for a diagnostic: escaped (control and invisible characters
// show as \u escapes), and cut to a short prefix when long, so that a mistake the size of a file is
// not echoed back in full.
func quoteInput(s string) string { return apple.QuotePrefix(s, 80) }

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
