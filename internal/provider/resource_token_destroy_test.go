package provider

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	fwresource "github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/vppkit/terraform-provider-vpp/internal/applesim"
	"github.com/vppkit/terraform-provider-vpp/internal/engine"
)

// The app of the on_destroy tests: revocable, 10 licenses.
const onDestroyApp = "1700000101"

// onDestroyMembers are the Managed Apple Accounts that hold the app and book A at the location.
var onDestroyMembers = []string{"ann@corp.example.com", "ben@corp.example.com", "cy@corp.example.com"}

// onDestroyConfig is a configuration of one vpp_token "main" (its file in var.token), with extra
// arguments.
func onDestroyConfig(db, appleURL, extra string) string {
	return fmt.Sprintf(`
terraform {
  required_providers {
    vpp = { source = "vppkit/vpp" }
  }
}

variable "token" {
  type      = string
  sensitive = true
}

provider "vpp" {
  database      = %q
  apple_api_url = %q
%s}

resource "vpp_token" "main" {
  token        = var.token
  apple_id     = "admin@corp.example.com"
  account_type = "business"
%s
}
`, db, appleURL, unencryptedOptIn(db), extra)
}

// onDestroyRun is a location holding book A and the app, a database and a working directory
// whose configuration manages the location's token.
type onDestroyRun struct {
	t        *testing.T
	sim      *applesim.Server
	appleURL string
	loc      applesim.Location
	db       string
	ws       *workspace
}

func newOnDestroyRun(t *testing.T, sim *applesim.Server, appleURL, cli, bin, name string) *onDestroyRun {
	t.Helper()
	loc, err := sim.CreateLocation(applesim.LocationSpec{Name: name, AccountType: "business", ManagedAppleDomains: []string{"corp.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.AddBook(loc.UID, applesim.BookSpec{AdamID: testBookA, Title: "The Art of Licensing", Licenses: 10}); err != nil {
		t.Fatal(err)
	}
	if err := sim.AddApp(loc.UID, applesim.AppSpec{AdamID: onDestroyApp, Name: "Field Notes", Licenses: 10}); err != nil {
		t.Fatal(err)
	}
	file, err := sim.MintToken(loc.UID, time.Now().Add(300*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(t.TempDir(), "engine.db")
	return &onDestroyRun{t: t, sim: sim, appleURL: appleURL, loc: loc, db: db, ws: newWorkspace(t, cli, bin, "TF_VAR_token="+file)}
}

// license gives the members the app and book A, through the engine (a group and two assignments
// outside the configuration): the licenses the token's destroy finds.
func (r *onDestroyRun) license() {
	r.t.Helper()
	ctx := context.Background()
	cfg := engine.Config{Database: r.db, AppleBaseURL: r.appleURL, Version: "seed"}
	fastEngine(&cfg)
	eng, err := engine.Open(ctx, cfg)
	if err != nil {
		r.t.Fatal(err)
	}
	defer func() { _ = eng.Close() }()
	g, err := eng.CreateGroup(ctx, engine.GroupInput{Name: "Staff", Members: onDestroyMembers, Managed: true})
	if err != nil {
		r.t.Fatal(err)
	}
	tokenID := engine.TokenID(r.loc.UID)
	for _, in := range []engine.AssignmentInput{
		{Kind: engine.KindApp, BookID: engine.AssetID(tokenID, onDestroyApp, engine.PricingStandard)},
		{BookID: engine.BookID(tokenID, testBookA, engine.PricingStandard)},
	} {
		in.GroupID, in.Intent = g.ID, engine.IntentRequired
		if a, err := eng.CreateAssignment(ctx, in); err != nil || a.Licensed != len(onDestroyMembers) {
			r.t.Fatalf("assigning %s: %+v, %v", in.BookID, a, err)
		}
	}
	r.expectHolders(onDestroyMembers, onDestroyMembers)
}

// expectHolders checks who holds the app and book A at Apple, and the app's assignedCount.
func (r *onDestroyRun) expectHolders(app, book []string) {
	r.t.Helper()
	email := map[string]string{}
	for _, u := range r.sim.Users(r.loc.UID) {
		email[u.ClientUserID] = u.Email
		if u.Email == "" {
			email[u.ClientUserID] = u.ManagedAppleID
		}
	}
	held := map[string][]string{}
	for _, a := range r.sim.Assignments(r.loc.UID) {
		held[a.AdamID] = append(held[a.AdamID], email[a.ClientUserID])
	}
	for adamID, want := range map[string][]string{onDestroyApp: app, testBookA: book} {
		got := held[adamID]
		slices.Sort(got)
		if !slices.Equal(got, want) {
			r.t.Errorf("Apple shows %s held by %v, want %v", adamID, got, want)
		}
	}
	if a, _ := r.sim.Asset(r.loc.UID, onDestroyApp, engine.PricingStandard); a.AssignedCount != len(app) {
		r.t.Errorf("Apple's assignedCount of the app = %d, want %d", a.AssignedCount, len(app))
	}
}

// posts counts the POST requests the simulator served since its counts were reset.
func posts(sim *applesim.Server) int {
	n := 0
	for k, v := range sim.Stats().Requests {
		if strings.HasPrefix(k, "POST ") {
			n += v
		}
	}
	return n
}

// expectWarnings checks that a destroy plan warns on vpp_token.main exactly with the summaries of
// want, each with its detail fragments.
func (r *onDestroyRun) expectWarnings(want map[string][]string) {
	r.t.Helper()
	got := planWarnings(r.t, r.ws, "-destroy")["vpp_token.main"]
	if len(got) != len(want) {
		r.t.Errorf("plan -destroy warns on vpp_token.main %+v, want %d warnings", got, len(want))
	}
	for _, w := range got {
		fragments, ok := want[w.Summary]
		if !ok {
			r.t.Errorf("unexpected warning %q: %q", w.Summary, w.Detail)
		}
		for _, f := range fragments {
			if !strings.Contains(strings.Join(strings.Fields(w.Detail), " "), f) {
				r.t.Errorf("warning %q does not say %q: %q", w.Summary, f, w.Detail)
			}
		}
	}
}

// stripOnDestroy rewrites the workspace's state as the release before on_destroy wrote it: no
// on_destroy attribute (and the next serial, as any new state has).
func (r *onDestroyRun) stripOnDestroy() {
	r.t.Helper()
	out, code := r.ws.run(time.Minute, "state", "pull")
	if code != 0 {
		r.t.Fatalf("state pull failed:\n%s", out)
	}
	attr := regexp.MustCompile(`\s*"on_destroy":\s*"keep_licenses",`)
	if n := len(attr.FindAllString(out, -1)); n != 1 {
		r.t.Fatalf("the state holds %d on_destroy attributes, want 1:\n%s", n, out)
	}
	old := attr.ReplaceAllString(out, "")
	serial := regexp.MustCompile(`"serial":\s*(\d+)`)
	m := serial.FindStringSubmatch(old)
	if m == nil {
		r.t.Fatalf("the state has no serial:\n%s", out)
	}
	n, err := strconv.Atoi(m[1])
	if err != nil {
		r.t.Fatal(err)
	}
	r.ws.write("old.tfstate", serial.ReplaceAllString(old, fmt.Sprintf(`"serial": %d`, n+1)))
	if out, code := r.ws.run(time.Minute, "state", "push", "old.tfstate"); code != 0 {
		r.t.Fatalf("state push failed:\n%s", out)
	}
}

// Under the real CLI with the built provider, on_destroy decides what destroying a vpp_token does
// with the app licenses of its location, and its plan says so with counts:
//   - unset (and in a state written before on_destroy existed, which plans no change): the licenses
//     stay, and nothing is sent to Apple;
//   - "release_app_licenses", set in place without a request to Apple: the app's licenses are taken
//     back at Apple (one disassociate) before the token is forgotten; book licenses stay.
func TestAccTokenOnDestroy_cli(t *testing.T) {
	cli := terraformCLI(t)
	testAccPreCheck(t)
	bin := buildProvider(t)
	sim, appleURL := isolatedSimulator(t, nil)

	t.Run("keep", func(t *testing.T) {
		r := newOnDestroyRun(t, sim, appleURL, cli, bin, "Keeping Library")
		r.ws.write("main.tf", onDestroyConfig(r.db, appleURL, ""))
		r.ws.mustApply(3 * time.Minute)
		r.license()
		r.stripOnDestroy()
		r.ws.mustPlanEmpty(2 * time.Minute)
		r.expectWarnings(map[string][]string{
			"Book Licenses Stay With Their Users": {"3 book licenses stay with the users they were given to"},
			"App Licenses Stay With Their Users": {`Destroying the vpp_token for "Keeping Library" makes the engine forget`,
				`3 app licenses stay with the users they were given to: on_destroy = "keep_licenses" keeps them`,
				`set on_destroy = "release_app_licenses" and apply before destroying`},
		})
		sim.ResetStats()
		if out, code := r.ws.run(3*time.Minute, "destroy", "-auto-approve", "-no-color", "-input=false"); code != 0 {
			t.Fatalf("destroy failed (exit %d):\n%s", code, out)
		}
		if n := posts(sim); n != 0 {
			t.Errorf("destroying with the licenses kept sent %d POSTs to Apple, want none", n)
		}
		r.expectHolders(onDestroyMembers, onDestroyMembers)
	})

	t.Run("release", func(t *testing.T) {
		r := newOnDestroyRun(t, sim, appleURL, cli, bin, "Releasing Library")
		r.ws.write("main.tf", onDestroyConfig(r.db, appleURL, ""))
		r.ws.mustApply(3 * time.Minute)
		r.license()
		r.ws.write("main.tf", onDestroyConfig(r.db, appleURL, `  on_destroy   = "release_app_licenses"`))
		sim.ResetStats()
		if out := r.ws.mustApply(3 * time.Minute); !strings.Contains(out, "0 added, 1 changed, 0 destroyed") {
			t.Errorf("setting on_destroy is not an update in place:\n%s", out)
		}
		if n := posts(sim); n != 0 {
			t.Errorf("setting on_destroy sent %d POSTs to Apple, want none", n)
		}
		r.ws.mustPlanEmpty(2 * time.Minute)
		r.expectWarnings(map[string][]string{
			"Book Licenses Stay With Their Users": {"3 book licenses stay with the users they were given to"},
			"App Licenses Will Be Reclaimed": {`The vpp_token for "Releasing Library" is destroyed with on_destroy = "release_app_licenses".`,
				"takes 3 app licenses back from the users they were given to at Apple"},
		})
		r.expectHolders(onDestroyMembers, onDestroyMembers)
		sim.ResetStats()
		if out, code := r.ws.run(3*time.Minute, "destroy", "-auto-approve", "-no-color", "-input=false"); code != 0 {
			t.Fatalf("destroy failed (exit %d):\n%s", code, out)
		}
		if n := sim.Stats().Requests["POST /assets/disassociate"]; n != 1 || posts(sim) != 1 {
			t.Errorf("destroying sent %d disassociate requests of %d POSTs, want one and nothing else", n, posts(sim))
		}
		r.expectHolders(nil, onDestroyMembers)
	})
}

// A vpp_token with on_destroy = "release_app_licenses" whose token Apple revoked cannot release
// anything: the destroy plan fails before anything is destroyed, saying what to do, and so does the
// destroy itself, which keeps the token. With on_destroy = "keep_licenses" it is destroyed.
func TestTokenResource_destroyOfUnusableTokenRefusesRelease(t *testing.T) {
	testAccPreCheck(t)
	ctx := context.Background()
	sim, _ := simulator(t)
	db := testDatabase(t)
	loc := newTestLocation(t, "business")
	if err := sim.AddApp(loc.UID, applesim.AppSpec{AdamID: onDestroyApp, Name: "Field Notes", Licenses: 10}); err != nil {
		t.Fatal(err)
	}
	eng := testEngine(t, db)
	tok, err := eng.AddToken(ctx, engine.TokenInput{Contents: loc.Token, AppleID: "admin@corp.example.com", AccountType: engine.AccountBusiness})
	if err != nil {
		t.Fatal(err)
	}
	g, err := eng.CreateGroup(ctx, engine.GroupInput{Name: "Staff", Members: onDestroyMembers[:2], Managed: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eng.CreateAssignment(ctx, engine.AssignmentInput{Kind: engine.KindApp, GroupID: g.ID, Intent: engine.IntentRequired,
		BookID: engine.AssetID(tok.ID, onDestroyApp, engine.PricingStandard)}); err != nil {
		t.Fatal(err)
	}
	if err := sim.RevokeToken(loc.Token); err != nil {
		t.Fatal(err)
	}
	if got, err := eng.RefreshToken(ctx, tok.ID); err != nil || got.State != engine.StateRevoked {
		t.Fatalf("RefreshToken = %+v, %v; want revoked", got, err)
	}

	r := &tokenResource{data: &providerData{engine: eng, now: time.Now}}
	var sr fwresource.SchemaResponse
	r.Schema(ctx, fwresource.SchemaRequest{}, &sr)
	stateWith := func(onDestroy string) tfsdk.State {
		state := tfsdk.State{Schema: sr.Schema, Raw: tftypes.NewValue(sr.Schema.Type().TerraformType(ctx), nil)}
		for name, v := range map[string]string{"id": tok.ID, "location_name": tok.LocationName, "on_destroy": onDestroy} {
			if diags := state.SetAttribute(ctx, path.Root(name), v); diags.HasError() {
				t.Fatal(diags)
			}
		}
		return state
	}
	planDestroy := func(state tfsdk.State) diag.Diagnostics {
		req := fwresource.ModifyPlanRequest{State: state, Plan: tfsdk.Plan{Schema: sr.Schema, Raw: tftypes.NewValue(sr.Schema.Type().TerraformType(ctx), nil)}}
		resp := &fwresource.ModifyPlanResponse{Plan: req.Plan}
		r.ModifyPlan(ctx, req, resp)
		return resp.Diagnostics
	}
	destroy := func(state tfsdk.State) diag.Diagnostics {
		resp := &fwresource.DeleteResponse{State: state}
		r.Delete(ctx, fwresource.DeleteRequest{State: state}, resp)
		return resp.Diagnostics
	}

	released := stateWith(onDestroyRelease)
	for name, diags := range map[string]diag.Diagnostics{"plan": planDestroy(released), "destroy": destroy(released)} {
		if diags.ErrorsCount() != 1 {
			t.Fatalf("%s: want one error, got %v", name, diags)
		}
		d := diags.Errors()[0]
		if d.Summary() != "VPP Token Not Usable" {
			t.Errorf("%s: summary %q", name, d.Summary())
		}
		for _, s := range []string{"2 revocable app licenses", "cannot be released through token " + tok.ID, "revoked",
			"Apple revoked it: download a new token for the location and renew the vpp_token in place.",
			`The vpp_token is not destroyed (on_destroy = "release_app_licenses"). To destroy it keeping the licenses with their users instead, set on_destroy = "keep_licenses" and apply before destroying.`} {
			if !strings.Contains(d.Detail(), s) {
				t.Errorf("%s: detail %q lacks %q", name, d.Detail(), s)
			}
		}
	}
	if _, err := eng.GetToken(ctx, tok.ID); err != nil {
		t.Fatalf("the token is gone after a refused destroy: %v", err)
	}

	kept := stateWith(onDestroyKeep)
	diags := planDestroy(kept)
	if diags.HasError() || diags.WarningsCount() != 1 || diags.Warnings()[0].Summary() != "App Licenses Stay With Their Users" ||
		!strings.Contains(diags.Warnings()[0].Detail(), "2 app licenses stay") {
		t.Errorf("plan with on_destroy = keep_licenses: %v", diags)
	}
	if diags := destroy(kept); diags.HasError() {
		t.Errorf("destroy with on_destroy = keep_licenses: %v", diags)
	}
	if _, err := eng.GetToken(ctx, tok.ID); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("the token is still in the engine: %v", err)
	}
}
