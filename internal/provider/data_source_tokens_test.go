package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	tfjson "github.com/hashicorp/terraform-json"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/vppkit/terraform-provider-vpp/internal/apple"
	"github.com/vppkit/terraform-provider-vpp/internal/applesim"
	"github.com/vppkit/terraform-provider-vpp/internal/engine"
)

// listedToken is a token a test uploads, and what vpp_tokens should say of it.
type listedToken struct {
	name        string // the vpp_token's name
	loc         testLocation
	displayName string // "" for none
	appleID     string
	days        int64
	books       int64
}

// id is the engine's id of the token.
func (l listedToken) id() string { return engine.TokenID(l.loc.UID) }

// resource is the vpp_token of the token.
func (l listedToken) resource() string {
	displayName := ""
	if l.displayName != "" {
		displayName = fmt.Sprintf("  display_name = %q\n", l.displayName)
	}
	return fmt.Sprintf(`
resource "vpp_token" %q {
  token        = %q
  apple_id     = %q
  account_type = %q
%s}
`, l.name, l.loc.Token, l.appleID, l.loc.AccountType, displayName)
}

// check is what vpp_tokens lists for the token in state, with detail matching state_detail (nil:
// null).
func (l listedToken) check(t *testing.T, state string, detail *regexp.Regexp) knownvalue.Check {
	t.Helper()
	var displayName, stateDetail knownvalue.Check = knownvalue.Null(), knownvalue.Null()
	if l.displayName != "" {
		displayName = knownvalue.StringExact(l.displayName)
	}
	if detail != nil {
		stateDetail = knownvalue.StringRegexp(detail)
	}
	return knownvalue.ObjectExact(map[string]knownvalue.Check{
		"id":                knownvalue.StringExact(l.id()),
		"display_name":      displayName,
		"apple_id":          knownvalue.StringExact(l.appleID),
		"account_type":      knownvalue.StringExact(l.loc.AccountType),
		"organization_name": knownvalue.StringExact(l.loc.OrgName),
		"location_name":     knownvalue.StringExact(l.loc.Name),
		"location_id":       knownvalue.StringExact(l.loc.UID),
		"country_code":      knownvalue.StringExact(l.loc.CountryCode),
		"expires_at":        knownvalue.StringExact(expiryOf(t, l.loc.Token)),
		"days_until_expiry": knownvalue.Int64Exact(l.days),
		"state":             knownvalue.StringExact(state),
		"state_detail":      stateDetail,
		"last_sync_at":      knownvalue.StringRegexp(rfc3339Pattern),
		"last_sync_status":  knownvalue.StringExact(engine.SyncCompleted),
		"last_sync_error":   knownvalue.Null(),
		"book_count":        knownvalue.Int64Exact(l.books),
	})
}

// byID sorts tokens as vpp_tokens lists them.
func byID(tokens ...listedToken) []listedToken {
	sort.Slice(tokens, func(i, j int) bool { return tokens[i].id() < tokens[j].id() })
	return tokens
}

// newBooklessLocation is an education location in Germany with no books, and a token for it
// valid for validFor.
func newBooklessLocation(t *testing.T, validFor time.Duration) testLocation {
	t.Helper()
	sim, _ := simulator(t)
	loc, err := sim.CreateLocation(applesim.LocationSpec{Name: t.Name() + " School", AccountType: "education", CountryCode: "DE"})
	if err != nil {
		t.Fatal(err)
	}
	return testLocation{Location: loc, Token: mintToken(t, loc.UID, validFor)}
}

// Two tokens of two locations are listed with what the engine knows of them, each the id of its
// vpp_token, and the state filter picks tokens by their state.
func TestAccTokensDataSource_basic(t *testing.T) {
	db := testDatabase(t)
	office := listedToken{name: "office", loc: newTestLocation(t, "business"), displayName: "Head office", appleID: "admin@corp.example.com", days: 299, books: 3}
	school := listedToken{name: "school", loc: newBooklessLocation(t, 200*24*time.Hour), appleID: "it@school.example.org", days: 199, books: 0}
	config := providerBlock(t, db) + office.resource() + school.resource() + `
data "vpp_tokens" "all" {
  depends_on = [vpp_token.office, vpp_token.school]
}

data "vpp_tokens" "valid" {
  state      = "valid"
  depends_on = [vpp_token.office, vpp_token.school]
}

data "vpp_tokens" "revoked" {
  state      = "revoked"
  depends_on = [vpp_token.office, vpp_token.school]
}

data "vpp_tokens" "expired" {
  state      = "expired"
  depends_on = [vpp_token.office, vpp_token.school]
}
`
	tokens := tfjsonpath.New("tokens")
	bothValid := []knownvalue.Check{}
	sameIDs := []statecheck.StateCheck{}
	for i, l := range byID(office, school) {
		bothValid = append(bothValid, l.check(t, engine.StateValid, nil))
		sameIDs = append(sameIDs, statecheck.CompareValuePairs("data.vpp_tokens.all", tokens.AtSliceIndex(i).AtMapKey("id"),
			"vpp_token."+l.name, tfjsonpath.New("id"), compare.ValuesSame()))
	}
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkTokensDestroyed(t, db),
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigStateChecks: append(sameIDs,
					statecheck.ExpectKnownValue("data.vpp_tokens.all", tokens, knownvalue.ListExact(bothValid)),
					statecheck.ExpectKnownValue("data.vpp_tokens.valid", tokens, knownvalue.ListExact(bothValid)),
					statecheck.ExpectKnownValue("data.vpp_tokens.revoked", tokens, knownvalue.ListSizeExact(0)),
					statecheck.ExpectKnownValue("data.vpp_tokens.expired", tokens, knownvalue.ListSizeExact(0)),
					statecheck.ExpectKnownValue("data.vpp_tokens.all", tfjsonpath.New("id"), knownvalue.StringRegexp(regexp.MustCompile(`^tokens-[0-9a-f]{16}$`))),
					statecheck.CompareValuePairs("data.vpp_tokens.all", tfjsonpath.New("id"), "data.vpp_tokens.valid", tfjsonpath.New("id"), compare.ValuesDiffer()),
					expectNoTokenFile("data.vpp_tokens.all", office.loc.Token, school.loc.Token),
				),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
		},
	})
}

// seedListedToken uploads the token to the engine directly, as a vpp_token of another
// configuration would have.
func seedListedToken(t *testing.T, db string, l listedToken) {
	t.Helper()
	_, err := testEngine(t, db).AddToken(context.Background(), engine.TokenInput{
		Contents: l.loc.Token, AccountType: l.loc.AccountType, AppleID: l.appleID, DisplayName: l.displayName,
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Reading the data source, with no vpp_token in the configuration to refresh them, asks Apple for
// each token's state and syncs the tokens whose last sync is older than sync_interval.
func TestAccTokensDataSource_refreshesTokens(t *testing.T) {
	sim, _ := simulator(t)
	db := testDatabase(t)
	clock := &testClock{}
	office := listedToken{loc: newTestLocation(t, "business"), displayName: "Head office", appleID: "admin@corp.example.com", days: 299, books: 3}
	school := listedToken{loc: newBooklessLocation(t, 200*24*time.Hour), appleID: "it@school.example.org", days: 199, books: 0}
	config := providerBlock(t, db) + `
data "vpp_tokens" "all" {}

data "vpp_tokens" "revoked" {
  state = "revoked"
}

data "vpp_tokens" "expired" {
  state = "expired"
}
`
	officeSynced := office // after the book bought in step 2
	officeSynced.books = 4
	tokens := tfjsonpath.New("tokens")
	officeBooks := tokens.AtSliceIndex(0).AtMapKey("book_count")
	if byID(office, school)[0].id() != office.id() {
		officeBooks = tokens.AtSliceIndex(1).AtMapKey("book_count")
	}
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: providerFactoriesWithClock(clock),
		Steps: []resource.TestStep{
			{ // an unknown state is refused, naming the states there are
				Config:      providerBlock(t, db) + `data "vpp_tokens" "x" { state = "Valid" }`,
				ExpectError: expectDiag("Invalid Attribute Value Match", `state value must be one of:`, `"valid"`, `"assigned_to_external_mdm"`),
			},
			{ // with no token the list is empty, not null (this opens the engine with the test's clock)
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.vpp_tokens.all", tokens, knownvalue.ListSizeExact(0)),
				},
			},
			{ // a book bought since the last sync shows only once the last sync is stale
				PreConfig: func() {
					seedListedToken(t, db, office)
					seedListedToken(t, db, school)
					if err := sim.AddBook(office.loc.UID, applesim.BookSpec{AdamID: "1700000099", Title: "Late Arrival", Licenses: 5}); err != nil {
						t.Fatal(err)
					}
				},
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.vpp_tokens.all", officeBooks, knownvalue.Int64Exact(3)),
				},
			},
			{ // 13 hours later (sync_interval 12h) the read syncs first
				PreConfig: func() { clock.Advance(13 * time.Hour) },
				Config:    config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.vpp_tokens.all", officeBooks, knownvalue.Int64Exact(4)),
				},
			},
			{ // Apple revokes one token and expires the other: every read asks Apple
				PreConfig: func() {
					if err := sim.RevokeToken(office.loc.Token); err != nil {
						t.Fatal(err)
					}
					if err := sim.ExpireToken(school.loc.Token); err != nil {
						t.Fatal(err)
					}
				},
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.vpp_tokens.revoked", tokens, knownvalue.ListExact([]knownvalue.Check{
						officeSynced.check(t, engine.StateRevoked, regexp.MustCompile(`^token `+office.id()+` is revoked \(Apple: .*9625`)),
					})),
					statecheck.ExpectKnownValue("data.vpp_tokens.expired", tokens, knownvalue.ListExact([]knownvalue.Check{
						school.check(t, engine.StateExpired, regexp.MustCompile(`^token `+school.id()+` is expired \(Apple: .*9621`)),
					})),
					statecheck.ExpectKnownValue("data.vpp_tokens.all", tokens, knownvalue.ListSizeExact(2)),
					expectNoTokenFile("data.vpp_tokens.all", office.loc.Token, school.loc.Token),
				},
			},
		},
	})
}

// The example's check block passes while every token has 30 days or more, and warns (a failed
// check, which does not fail the apply) once one has fewer, naming it.
func TestAccTokensDataSource_checkWarnsBeforeExpiry(t *testing.T) {
	db := testDatabase(t)
	loc := newTestLocation(t, "business")
	clock := &testClock{}
	example, err := os.ReadFile("../../examples/data-sources/vpp_tokens/data-source.tf")
	if err != nil {
		t.Fatal(err)
	}
	withExample := testAccTokenConfig(t, db, loc.Token, "business", "") + string(example)
	expiry := tfjsonpath.New("tokens").AtSliceIndex(0).AtMapKey("days_until_expiry")
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: providerFactoriesWithClock(clock),
		CheckDestroy:             checkTokensDestroyed(t, db),
		Steps: []resource.TestStep{
			{Config: testAccTokenConfig(t, db, loc.Token, "business", "")},
			{
				Config: withExample,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.vpp_tokens.all", expiry, knownvalue.Int64Exact(299)),
					expectCheckBlock("vpp_tokens_healthy", tfjson.CheckStatusPass),
					statecheck.ExpectKnownOutputValue("vpp_token_expiry", knownvalue.MapExact(map[string]knownvalue.Check{
						loc.Name: knownvalue.StringExact("valid, expires " + expiryOf(t, loc.Token) + " (299 days left)"),
					})),
				},
			},
			{ // 280 days later, 19 are left
				PreConfig: func() { clock.Advance(280 * 24 * time.Hour) },
				Config:    withExample,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.vpp_tokens.all", expiry, knownvalue.Int64Exact(19)),
					expectCheckBlock("vpp_tokens_healthy", tfjson.CheckStatusFail,
						"VPP tokens expire within 30 days: "+loc.Name+" (19 days left). Download new tokens"),
				},
			},
		},
	})
}

// Every attribute of a listed token has a description, whether its own or vpp_token's.
func TestTokensDataSource_describesEveryAttribute(t *testing.T) {
	var resp datasource.SchemaResponse
	NewTokensDataSource().Schema(context.Background(), datasource.SchemaRequest{}, &resp)
	nested, ok := resp.Schema.Attributes["tokens"].(schema.ListNestedAttribute)
	if !ok {
		t.Fatalf("tokens is a %T, want a list of nested objects", resp.Schema.Attributes["tokens"])
	}
	for name, a := range nested.NestedObject.Attributes {
		if a.GetMarkdownDescription() == "" {
			t.Errorf("tokens.%s has no description", name)
		}
	}
	if len(nested.NestedObject.Attributes) != 16 {
		t.Errorf("a listed token has %d attributes, want 16", len(nested.NestedObject.Attributes))
	}
}

// checkBlockStatus is a state check that the check block name has status and, in order, the
// problems given.
type checkBlockStatus struct {
	name     string
	status   tfjson.CheckStatus
	problems []string
}

func expectCheckBlock(name string, status tfjson.CheckStatus, problems ...string) statecheck.StateCheck {
	return checkBlockStatus{name: name, status: status, problems: problems}
}

func (c checkBlockStatus) CheckState(_ context.Context, req statecheck.CheckStateRequest, resp *statecheck.CheckStateResponse) {
	if req.State == nil {
		resp.Error = fmt.Errorf("no state to find check %q in", c.name)
		return
	}
	for _, r := range req.State.Checks {
		if r.Address.Kind != tfjson.CheckKindCheckBlock || r.Address.Name != c.name {
			continue
		}
		var got []string
		for _, in := range r.Instances {
			for _, p := range in.Problems {
				got = append(got, p.Message)
			}
		}
		if r.Status != c.status || !problemsMatch(got, c.problems) {
			resp.Error = fmt.Errorf("check %q: status %s, problems %q; want %s with %q", c.name, r.Status, got, c.status, c.problems)
		}
		return
	}
	resp.Error = fmt.Errorf("the state records no check block %q", c.name)
}

// problemsMatch reports whether each problem starts with the prefix want gives it.
func problemsMatch(got, want []string) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if !strings.HasPrefix(got[i], want[i]) {
			return false
		}
	}
	return true
}

// expectNoTokenFile is a state check that the data source addr holds neither any of the token
// files nor the secret inside them.
func expectNoTokenFile(addr string, files ...string) statecheck.StateCheck {
	return noTokenFile{addr: addr, files: files}
}

type noTokenFile struct {
	addr  string
	files []string
}

func (c noTokenFile) CheckState(_ context.Context, req statecheck.CheckStateRequest, resp *statecheck.CheckStateResponse) {
	r := findResource(req.State, c.addr)
	if r == nil {
		resp.Error = fmt.Errorf("%s is not in the state", c.addr)
		return
	}
	values, err := json.Marshal(r.AttributeValues)
	if err != nil {
		resp.Error = err
		return
	}
	for _, f := range c.files {
		tok, err := apple.ParseToken(f)
		if err != nil {
			resp.Error = fmt.Errorf("reading a token file the test uploaded: %w", err)
			return
		}
		for _, secret := range []string{tok.Raw, tok.Secret} {
			if strings.Contains(string(values), secret) {
				resp.Error = fmt.Errorf("%s holds a token file or its secret", c.addr)
				return
			}
		}
	}
}

// findResource is the resource or data source addr in the root module of state (nil if absent).
func findResource(state *tfjson.State, addr string) *tfjson.StateResource {
	if state == nil || state.Values == nil || state.Values.RootModule == nil {
		return nil
	}
	for _, r := range state.Values.RootModule.Resources {
		if r.Address == addr {
			return r
		}
	}
	return nil
}
