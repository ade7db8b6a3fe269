package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/vppkit/terraform-provider-vpp/internal/engine"
)

// fakeSource decodes a fixed name into a *string, or fails with a fixed error.
type fakeSource struct {
	name string
	fail string
}

func (f fakeSource) Get(_ context.Context, target any) diag.Diagnostics {
	var diags diag.Diagnostics
	if f.fail != "" {
		diags.AddError(f.fail, "cannot decode")
		return diags
	}
	if s, ok := target.(*string); ok {
		*s = f.name
	}
	return diags
}

// containsAll reports whether s contains every part.
func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// ready decodes every part, and lets an operation go on only when all decoded and the provider
// is configured; a part that does not decode is reported as such, not as an unconfigured provider.
func TestReady(t *testing.T) {
	ctx := context.Background()
	configured := &providerData{}
	var plan, state string
	var diags diag.Diagnostics
	if !ready(ctx, configured, &diags, "testing", decode(fakeSource{name: "p"}, &plan), decode(fakeSource{name: "s"}, &state)) ||
		plan != "p" || state != "s" || diags.HasError() {
		t.Fatalf("all decoded, configured: plan %q, state %q, %v; want it ready with both decoded", plan, state, diags)
	}

	diags = nil
	if ready(ctx, nil, &diags, "testing a thing", decode(fakeSource{name: "p"}, &plan)) {
		t.Fatal("ready without a configured provider")
	}
	if len(diags) != 1 || diags[0].Summary() != "Provider Not Configured" || !containsAll(diags[0].Detail(), "before testing a thing") {
		t.Errorf("unconfigured: %v, want one Provider Not Configured error naming what was being done", diags)
	}

	diags = nil
	if ready(ctx, nil, &diags, "testing", decode(fakeSource{fail: "Bad Plan"}, &plan), decode(fakeSource{fail: "Bad State"}, &state)) {
		t.Fatal("ready although nothing decoded")
	}
	if len(diags) != 2 || diags[0].Summary() != "Bad Plan" || diags[1].Summary() != "Bad State" {
		t.Errorf("undecodable parts: %v, want each part's error and nothing else", diags)
	}
}

// withTimeout bounds the context by the timeout the block gives (asking with the default), and
// stops the operation when the block cannot be read.
func TestWithTimeout(t *testing.T) {
	var asked time.Duration
	read := func(d time.Duration) timeoutOf {
		return func(_ context.Context, def time.Duration) (time.Duration, diag.Diagnostics) {
			asked = def
			return d, nil
		}
	}
	var diags diag.Diagnostics
	start := time.Now()
	ctx, cancel, ok := withTimeout(context.Background(), read(time.Hour), 20*time.Minute, &diags)
	defer cancel()
	deadline, bounded := ctx.Deadline()
	if !ok || !bounded || deadline.Before(start.Add(time.Hour)) || deadline.After(time.Now().Add(time.Hour)) || diags.HasError() {
		t.Errorf("a 1h timeout: ok %v, deadline %v (bounded %v) from %v, %v; want a deadline an hour on", ok, deadline, bounded, start, diags)
	}
	if asked != 20*time.Minute {
		t.Errorf("the block was asked with default %v, want 20m", asked)
	}
	cancel()
	if !errors.Is(ctx.Err(), context.Canceled) {
		t.Errorf("cancel did not end the context: %v", ctx.Err())
	}

	unreadable := func(context.Context, time.Duration) (time.Duration, diag.Diagnostics) {
		var d diag.Diagnostics
		d.AddError("Bad Timeouts", "cannot read")
		return 0, d
	}
	diags = nil
	ctx, cancel, ok = withTimeout(context.Background(), unreadable, time.Minute, &diags)
	cancel()
	if _, bounded := ctx.Deadline(); ok || bounded || len(diags) != 1 || diags[0].Summary() != "Bad Timeouts" {
		t.Errorf("unreadable block: ok %v, bounded %v, %v; want it refused with the block's error", ok, bounded, diags)
	}
}

// reportRemoval: a record already gone is no error, another error fails the delete under the
// operation's summary, and licenses kept are a warning.
func TestReportRemoval(t *testing.T) {
	var diags diag.Diagnostics
	reportRemoval(&diags, "Error Deleting Thing", engine.RemoveReport{LicensesKept: 3},
		fmt.Errorf("deleting: %w", engine.ErrNotFound), "The thing was removed.", "its users")
	if len(diags) != 0 {
		t.Errorf("already gone: %v, want nothing", diags)
	}
	reportRemoval(&diags, "Error Deleting Thing", engine.RemoveReport{LicensesKept: 3}, errors.New("disk on fire"),
		"The thing was removed.", "its users")
	if len(diags) != 1 || diags[0].Summary() != "Error Deleting Thing" || !containsAll(diags[0].Detail(), "Disk on fire") {
		t.Errorf("failed: %v, want one Error Deleting Thing", diags)
	}
	diags = nil
	reportRemoval(&diags, "Error Deleting Thing", engine.RemoveReport{LicensesKept: 3, BookLicensesKept: 3}, nil, "The thing was removed.", "its users")
	if diags.HasError() || diags.WarningsCount() != 1 ||
		!containsAll(diags[0].Detail(), "The thing was removed.", "3 book licenses stay with its users") {
		t.Errorf("removed: %v, want the licenses-kept warning", diags)
	}
}

// stringCheck runs its check on known values only, on the attribute validated.
func TestStringCheck(t *testing.T) {
	var checked []string
	v := stringCheck{description: "a test value", check: func(at path.Path, value string, diags *diag.Diagnostics) {
		checked = append(checked, value)
		diags.AddAttributeError(at, "Bad", value)
	}}
	at := path.Root("thing")
	for _, value := range []types.String{types.StringNull(), types.StringUnknown(), types.StringValue("x")} {
		var resp validator.StringResponse
		v.ValidateString(context.Background(), validator.StringRequest{Path: at, ConfigValue: value}, &resp)
		if known := !value.IsNull() && !value.IsUnknown(); known != resp.Diagnostics.HasError() {
			t.Errorf("%v: %v", value, resp.Diagnostics)
		}
	}
	if len(checked) != 1 || checked[0] != "x" {
		t.Errorf("checked %q, want only the known value", checked)
	}
	if d := v.Description(context.Background()); d != "a test value" || v.MarkdownDescription(context.Background()) != d {
		t.Errorf("description %q", d)
	}
}
