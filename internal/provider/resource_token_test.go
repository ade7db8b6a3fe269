package provider

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	fwresource "github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/config"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"

	"github.com/vppkit/terraform-provider-vpp/internal/apple"
	"github.com/vppkit/terraform-provider-vpp/internal/applesim"
	"github.com/vppkit/terraform-provider-vpp/internal/engine"
)

const testTokenAddr = "vpp_token.test"

var (
	uuidPattern    = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	rfc3339Pattern = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$`)
)

// testAccTokenConfig is a provider block and one vpp_token "test" holding contents in token, with
// extra lines (arguments) added to the resource.
func testAccTokenConfig(t *testing.T, db, contents, accountType, extra string) string {
	t.Helper()
	return providerBlock(t, db) + fmt.Sprintf(`
resource "vpp_token" "test" {
  token        = %[1]q
  apple_id     = "admin@corp.example.com"
  account_type = %[2]q
%[3]s
}
`, contents, accountType, extra)
}

// testAccTokenConfig_writeOnly passes the token file in token_wo, at token_wo_version version,
// from an ephemeral variable as users do (a literal would sit in the configuration, which plans
// record); testAccTokenFileVar sets it.
func testAccTokenConfig_writeOnly(t *testing.T, db string, version int) string {
	t.Helper()
	return providerBlock(t, db) + tokenFileVariable + fmt.Sprintf(`
resource "vpp_token" "test" {
  token_wo         = var.token_file
  token_wo_version = %d
  apple_id         = "admin@corp.example.com"
  account_type     = "education"
}
`, version)
}

// tokenFileVariable declares the ephemeral variable testAccTokenFileVar sets.
const tokenFileVariable = `
variable "token_file" {
  type      = string
  sensitive = true
  ephemeral = true
}
`

func testAccTokenFileVar(contents string) config.Variables {
	return config.Variables{"token_file": config.StringVariable(contents)}
}

// expectDiag matches a diagnostic with the summary and, after it in order, the detail fragments
// (regular expressions). Terraform wraps diagnostics to the terminal width, so a space in a
// fragment matches any run of white space.
func expectDiag(summary string, fragments ...string) *regexp.Regexp {
	parts := []string{regexp.QuoteMeta(summary)}
	parts = append(parts, fragments...)
	for i, p := range parts {
		parts[i] = strings.ReplaceAll(p, " ", `\s+`)
	}
	return regexp.MustCompile(`(?s)` + strings.Join(parts, ".*"))
}

// expiryOf is what expires_at holds for a token file minted by the simulator.
func expiryOf(t *testing.T, contents string) string {
	t.Helper()
	f, err := engine.ParseTokenFile(contents)
	if err != nil {
		t.Fatal(err)
	}
	return f.ExpiresAt.UTC().Format(time.RFC3339)
}

// tokenChecks asserts every attribute the engine computes for vpp_token.test: a token of loc
// holding the file contents (which sets expires_at and days_until_expiry), with books books.
func tokenChecks(t *testing.T, loc testLocation, contents string, days int64, books int64) []statecheck.StateCheck {
	t.Helper()
	addr := testTokenAddr
	return []statecheck.StateCheck{
		statecheck.ExpectKnownValue(addr, tfjsonpath.New("id"), knownvalue.StringRegexp(uuidPattern)),
		statecheck.ExpectKnownValue(addr, tfjsonpath.New("organization_name"), knownvalue.StringExact(loc.OrgName)),
		statecheck.ExpectKnownValue(addr, tfjsonpath.New("location_name"), knownvalue.StringExact(loc.Name)),
		statecheck.ExpectKnownValue(addr, tfjsonpath.New("location_id"), knownvalue.StringExact(loc.UID)),
		statecheck.ExpectKnownValue(addr, tfjsonpath.New("country_code"), knownvalue.StringExact("US")),
		statecheck.ExpectKnownValue(addr, tfjsonpath.New("expires_at"), knownvalue.StringExact(expiryOf(t, contents))),
		statecheck.ExpectKnownValue(addr, tfjsonpath.New("days_until_expiry"), knownvalue.Int64Exact(days)),
		statecheck.ExpectKnownValue(addr, tfjsonpath.New("state"), knownvalue.StringExact(engine.StateValid)),
		statecheck.ExpectKnownValue(addr, tfjsonpath.New("last_sync_at"), knownvalue.StringRegexp(rfc3339Pattern)),
		statecheck.ExpectKnownValue(addr, tfjsonpath.New("last_sync_status"), knownvalue.StringExact(engine.SyncCompleted)),
		statecheck.ExpectKnownValue(addr, tfjsonpath.New("book_count"), knownvalue.Int64Exact(books)),
		statecheck.ExpectKnownValue(addr, tfjsonpath.New("take_over_from_other_mdm"), knownvalue.Bool(false)),
		statecheck.ExpectKnownValue(addr, tfjsonpath.New("token_wo"), knownvalue.Null()),
	}
}

// checkTokensDestroyed asks the engine that every vpp_token of the state is gone.
func checkTokensDestroyed(t *testing.T, db string) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		eng := testEngine(t, db)
		for _, rs := range s.RootModule().Resources {
			if rs.Type != "vpp_token" {
				continue
			}
			_, err := eng.GetToken(context.Background(), rs.Primary.ID)
			if err == nil {
				return fmt.Errorf("token %s is still in the engine after destroy", rs.Primary.ID)
			}
			if !errors.Is(err, engine.ErrNotFound) {
				return fmt.Errorf("asking the engine for token %s: %w", rs.Primary.ID, err)
			}
		}
		return nil
	}
}

func TestAccToken_basic(t *testing.T) {
	sim, _ := simulator(t)
	db := testDatabase(t)
	loc := newTestLocation(t, "business")
	renewed := mintToken(t, loc.UID, 200*24*time.Hour)
	sameID := statecheck.CompareValue(compare.ValuesSame())

	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkTokensDestroyed(t, db),
		Steps: []resource.TestStep{
			{ // create
				Config: testAccTokenConfig(t, db, loc.Token, "business", `  display_name = "Main library"`),
				ConfigStateChecks: append(tokenChecks(t, loc, loc.Token, 299, 3),
					sameID.AddStateValue(testTokenAddr, tfjsonpath.New("id")),
					statecheck.ExpectSensitiveValue(testTokenAddr, tfjsonpath.New("token")),
					statecheck.ExpectKnownValue(testTokenAddr, tfjsonpath.New("display_name"), knownvalue.StringExact("Main library")),
					statecheck.ExpectKnownValue(testTokenAddr, tfjsonpath.New("apple_id"), knownvalue.StringExact("admin@corp.example.com")),
					statecheck.ExpectKnownValue(testTokenAddr, tfjsonpath.New("account_type"), knownvalue.StringExact("business")),
					statecheck.ExpectKnownValue(testTokenAddr, tfjsonpath.New("sync_trigger"), knownvalue.Null()),
				),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(testTokenAddr, plancheck.ResourceActionCreate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
			{ // import with the CLI: the engine never gives the token file back
				ResourceName:            testTokenAddr,
				ImportState:             true,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"token", "token_wo", "token_wo_version", "sync_trigger"},
			},
			{ // import with an import block: the plan then only adds the token file to the state
				ResourceName:       testTokenAddr,
				ImportState:        true,
				ImportStateKind:    resource.ImportBlockWithID,
				ExpectNonEmptyPlan: true,
				ImportPlanChecks: resource.ImportPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(testTokenAddr, plancheck.ResourceActionUpdate),
						plancheck.ExpectKnownValue(testTokenAddr, tfjsonpath.New("location_id"), knownvalue.StringExact(loc.UID)),
						plancheck.ExpectKnownValue(testTokenAddr, tfjsonpath.New("display_name"), knownvalue.StringExact("Main library")),
					},
				},
			},
			{ // a new display name changes nothing at Apple and needs no sync
				Config: testAccTokenConfig(t, db, loc.Token, "business", `  display_name = "Library (renamed)"`),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(testTokenAddr, plancheck.ResourceActionUpdate),
						plancheck.ExpectKnownValue(testTokenAddr, tfjsonpath.New("last_sync_at"), knownvalue.StringRegexp(rfc3339Pattern)),
						plancheck.ExpectKnownValue(testTokenAddr, tfjsonpath.New("book_count"), knownvalue.Int64Exact(3)),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					sameID.AddStateValue(testTokenAddr, tfjsonpath.New("id")),
					statecheck.ExpectKnownValue(testTokenAddr, tfjsonpath.New("display_name"), knownvalue.StringExact("Library (renamed)")),
				},
			},
			{ // "sync now": a book bought since the last sync appears
				PreConfig: func() {
					if err := sim.AddBook(loc.UID, applesim.BookSpec{AdamID: "1000000004", Title: "Bought Later", Author: "D. Late", Licenses: 5}); err != nil {
						t.Fatal(err)
					}
				},
				Config: testAccTokenConfig(t, db, loc.Token, "business", `  display_name = "Library (renamed)"
  sync_trigger = "after-purchase-1"`),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(testTokenAddr, plancheck.ResourceActionUpdate),
						plancheck.ExpectUnknownValue(testTokenAddr, tfjsonpath.New("last_sync_at")),
						plancheck.ExpectUnknownValue(testTokenAddr, tfjsonpath.New("last_sync_status")),
						plancheck.ExpectUnknownValue(testTokenAddr, tfjsonpath.New("book_count")),
						plancheck.ExpectKnownValue(testTokenAddr, tfjsonpath.New("organization_name"), knownvalue.StringExact(loc.OrgName)),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					sameID.AddStateValue(testTokenAddr, tfjsonpath.New("id")),
					statecheck.ExpectKnownValue(testTokenAddr, tfjsonpath.New("book_count"), knownvalue.Int64Exact(4)),
					statecheck.ExpectKnownValue(testTokenAddr, tfjsonpath.New("last_sync_status"), knownvalue.StringExact(engine.SyncCompleted)),
					statecheck.ExpectKnownValue(testTokenAddr, tfjsonpath.New("sync_trigger"), knownvalue.StringExact("after-purchase-1")),
				},
			},
			{ // renewal: a new file of the same location updates the token in place
				Config: testAccTokenConfig(t, db, renewed, "business", `  display_name = "Library (renamed)"
  sync_trigger = "after-purchase-1"`),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(testTokenAddr, plancheck.ResourceActionUpdate),
						plancheck.ExpectUnknownValue(testTokenAddr, tfjsonpath.New("organization_name")),
						plancheck.ExpectUnknownValue(testTokenAddr, tfjsonpath.New("expires_at")),
						plancheck.ExpectUnknownValue(testTokenAddr, tfjsonpath.New("days_until_expiry")),
						plancheck.ExpectUnknownValue(testTokenAddr, tfjsonpath.New("state")),
						plancheck.ExpectUnknownValue(testTokenAddr, tfjsonpath.New("last_sync_at")),
						plancheck.ExpectKnownValue(testTokenAddr, tfjsonpath.New("location_id"), knownvalue.StringExact(loc.UID)),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: append(tokenChecks(t, loc, renewed, 199, 4),
					sameID.AddStateValue(testTokenAddr, tfjsonpath.New("id")),
				),
			},
		},
	})
}

// The write-only token file never reaches the plan or the state; bumping token_wo_version renews.
func TestAccToken_writeOnly(t *testing.T) {
	db := testDatabase(t)
	loc := newTestLocation(t, "education")
	renewed := mintToken(t, loc.UID, 250*24*time.Hour)
	unused := mintToken(t, loc.UID, 100*24*time.Hour)
	noSecrets := expectNoTokenSecrets(t, loc.Token, renewed, unused)

	resource.Test(t, resource.TestCase{
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_11_0)},
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkTokensDestroyed(t, db),
		Steps: []resource.TestStep{
			{
				Config: providerBlock(t, db) + fmt.Sprintf(`
resource "vpp_token" "test" {
  token_wo     = %q
  apple_id     = "admin@corp.example.com"
  account_type = "education"
}
`, loc.Token),
				ExpectError: expectDiag(`Attribute "token_wo_version" must be specified when "token_wo" is specified`),
			},
			{
				Config: providerBlock(t, db) + fmt.Sprintf(`
resource "vpp_token" "test" {
  token            = %[1]q
  token_wo         = %[1]q
  token_wo_version = 1
  apple_id         = "admin@corp.example.com"
  account_type     = "education"
}
`, loc.Token),
				ExpectError: expectDiag(`Attribute "token" cannot be specified when "token_wo" is specified`),
			},
			{
				Config:          testAccTokenConfig_writeOnly(t, db, 1),
				ConfigVariables: testAccTokenFileVar(loc.Token),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{noSecrets, plancheck.ExpectResourceAction(testTokenAddr, plancheck.ResourceActionCreate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: append(tokenChecks(t, loc, loc.Token, 299, 3), noSecrets,
					statecheck.ExpectKnownValue(testTokenAddr, tfjsonpath.New("token"), knownvalue.Null()),
					statecheck.ExpectKnownValue(testTokenAddr, tfjsonpath.New("token_wo_version"), knownvalue.Int64Exact(1)),
				),
			},
			{ // a new file without a new version is not seen: that is what token_wo_version is for
				Config:          testAccTokenConfig_writeOnly(t, db, 1),
				ConfigVariables: testAccTokenFileVar(unused),
				PlanOnly:        true,
			},
			{ // renewal
				Config:          testAccTokenConfig_writeOnly(t, db, 2),
				ConfigVariables: testAccTokenFileVar(renewed),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{noSecrets,
						plancheck.ExpectResourceAction(testTokenAddr, plancheck.ResourceActionUpdate),
						plancheck.ExpectUnknownValue(testTokenAddr, tfjsonpath.New("expires_at")),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: append(tokenChecks(t, loc, renewed, 249, 3), noSecrets,
					statecheck.ExpectKnownValue(testTokenAddr, tfjsonpath.New("token_wo_version"), knownvalue.Int64Exact(2)),
				),
			},
			{
				ResourceName:            testTokenAddr,
				ImportState:             true,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"token", "token_wo", "token_wo_version"},
				ConfigVariables:         testAccTokenFileVar(renewed),
			},
		},
	})
}

// noTokenSecretsCheck fails when a plan or state holds a token file or its inner secret anywhere.
type noTokenSecretsCheck struct {
	secrets map[string]string // what it is → the value
}

var (
	_ plancheck.PlanCheck   = noTokenSecretsCheck{}
	_ statecheck.StateCheck = noTokenSecretsCheck{}
)

func expectNoTokenSecrets(t *testing.T, files ...string) noTokenSecretsCheck {
	t.Helper()
	c := noTokenSecretsCheck{secrets: map[string]string{}}
	for i, f := range files {
		tok, err := apple.ParseToken(f)
		if err != nil {
			t.Fatal(err)
		}
		c.secrets[fmt.Sprintf("token file %d", i+1)] = tok.Raw
		c.secrets[fmt.Sprintf("inner secret of token file %d", i+1)] = tok.Secret
	}
	return c
}

func (c noTokenSecretsCheck) find(where string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var found []string
	for what, s := range c.secrets {
		if strings.Contains(string(b), s) {
			found = append(found, what)
		}
	}
	if len(found) > 0 {
		return fmt.Errorf("the %s holds %s", where, strings.Join(found, ", "))
	}
	return nil
}

func (c noTokenSecretsCheck) CheckPlan(_ context.Context, req plancheck.CheckPlanRequest, resp *plancheck.CheckPlanResponse) {
	resp.Error = c.find("plan", req.Plan)
}

func (c noTokenSecretsCheck) CheckState(_ context.Context, req statecheck.CheckStateRequest, resp *statecheck.CheckStateResponse) {
	resp.Error = c.find("state", req.State)
}

func TestAccToken_invalidArguments(t *testing.T) {
	db := testDatabase(t)
	loc := newTestLocation(t, "business")
	cfg := func(body string) string {
		return providerBlock(t, db) + "resource \"vpp_token\" \"test\" {\n" + body + "\n}\n"
	}
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:      cfg(`apple_id = "admin@corp.example.com"` + "\n" + `account_type = "business"`),
				ExpectError: expectDiag("Missing VPP Token File", "set token_wo and token_wo_version"),
			},
			{
				Config:      cfg(fmt.Sprintf("token = %q\napple_id = \"admin\"\naccount_type = \"business\"", loc.Token)),
				ExpectError: expectDiag(`Invalid Attribute Value Match`, `apple_id must be an email address`),
			},
			{
				Config:      cfg(fmt.Sprintf("token = %q\napple_id = \"admin@corp.example.com\"\naccount_type = \"enterprise\"", loc.Token)),
				ExpectError: expectDiag(`Invalid Attribute Value Match`, `account_type value must be one of: \["business" "education"\]`),
			},
		},
	})
}

func TestAccToken_malformedFile(t *testing.T) {
	db := testDatabase(t)
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:      testAccTokenConfig(t, db, "sToken_for_Library.vpptoken", "business", ""),
				ExpectError: expectDiag("Invalid VPP Token File", "token file is malformed: not standard base64"),
			},
			{
				Config:      testAccTokenConfig(t, db, "bm90IGEgdG9rZW4=", "business", ""), // base64 of "not a token"
				ExpectError: expectDiag("Invalid VPP Token File", "the decoded content is not a JSON object"),
			},
			{
				Config:      testAccTokenConfig(t, db, "eyJ0b2tlbiI6ImFiYyJ9", "business", ""), // {"token":"abc"}
				ExpectError: expectDiag("Invalid VPP Token File", `lacks a required field \(field "expDate"\)`),
			},
		},
	})
}

func TestAccToken_expiredFile(t *testing.T) {
	db := testDatabase(t)
	loc := newTestLocation(t, "business")
	expired := mintToken(t, loc.UID, -48*time.Hour)
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config:      testAccTokenConfig(t, db, expired, "business", ""),
			ExpectError: expectDiag("Expired VPP Token File", "expired on "+regexp.QuoteMeta(expiryOf(t, expired)), "Content Tokens"),
		}},
	})
}

// A token that expires within 30 days is accepted (the plan warns); the state says how long it has.
func TestAccToken_expiringSoon(t *testing.T) {
	db := testDatabase(t)
	loc := newTestLocation(t, "business")
	soon := mintToken(t, loc.UID, 20*24*time.Hour)
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkTokensDestroyed(t, db),
		Steps: []resource.TestStep{{
			Config:            testAccTokenConfig(t, db, soon, "business", ""),
			ConfigStateChecks: tokenChecks(t, loc, soon, 19, 3),
		}},
	})
}

func TestAccToken_accountTypeMismatch(t *testing.T) {
	db := testDatabase(t)
	loc := newTestLocation(t, "business")
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkTokensDestroyed(t, db),
		Steps: []resource.TestStep{
			{
				Config: testAccTokenConfig(t, db, loc.Token, "education", ""),
				ExpectError: expectDiag("Account Type Mismatch",
					`account type given is "education" but Apple reports this location as "business"`, `Set account_type = "business"`),
			},
			{
				Config:            testAccTokenConfig(t, db, loc.Token, "business", ""),
				ConfigStateChecks: tokenChecks(t, loc, loc.Token, 299, 3),
			},
		},
	})
}

// A location another system claimed fails the apply until take_over_from_other_mdm is set.
func TestAccToken_foreignMDMAndTakeOver(t *testing.T) {
	sim, _ := simulator(t)
	db := testDatabase(t)
	loc := newTestLocation(t, "business")
	if err := sim.OverwriteMDMInfo(loc.UID, applesim.MDMInfo{ID: "6d1b7f3e-other", Name: "Other MDM", Metadata: "9.1"}); err != nil {
		t.Fatal(err)
	}
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkTokensDestroyed(t, db),
		Steps: []resource.TestStep{
			{
				Config: testAccTokenConfig(t, db, loc.Token, "business", ""),
				ExpectError: expectDiag("Location Managed by Another System",
					`is managed by another system \("Other MDM", id 6d1b7f3e-other\)`, "take_over_from_other_mdm = true"),
			},
			{
				Config: testAccTokenConfig(t, db, loc.Token, "business", "  take_over_from_other_mdm = true"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(testTokenAddr, tfjsonpath.New("state"), knownvalue.StringExact(engine.StateValid)),
					statecheck.ExpectKnownValue(testTokenAddr, tfjsonpath.New("take_over_from_other_mdm"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(testTokenAddr, tfjsonpath.New("book_count"), knownvalue.Int64Exact(3)),
				},
				Check: func(*terraform.State) error {
					info := sim.ClientConfig(loc.UID).MDMInfo
					if want := testEngine(t, db).ID(); info == nil || info.ID != want || info.Name != engine.MDMName {
						return fmt.Errorf("Apple's mdmInfo is %+v, want this engine (%s)", info, want)
					}
					return nil
				},
			},
		},
	})
}

// One location has one vpp_token. Two in one configuration are refused at plan time; so is a new
// one for a location a vpp_token already holds in the engine's database, whether it is in the
// same configuration or in another one sharing the database (which may import it instead).
// Nothing is created, so no destroy can remove the holder's records.
func TestAccToken_duplicateLocation(t *testing.T) {
	db := testDatabase(t)
	loc := newTestLocation(t, "business")
	second := mintToken(t, loc.UID, 300*24*time.Hour)
	again := fmt.Sprintf(`
resource "vpp_token" "again" {
  token        = %q
  apple_id     = "admin@corp.example.com"
  account_type = "business"
}
`, second)
	held := expectDiag("Location Already Held", `Location "`+regexp.QuoteMeta(loc.Name)+`" \(uId `+loc.UID+`\) is already held by token `+
		engine.TokenID(loc.UID)+` in this engine; one location has one token record`, `import that token \(an import block with id = "`+engine.TokenID(loc.UID)+`"\)`)
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkTokensDestroyed(t, db),
		Steps: []resource.TestStep{
			{
				Config: testAccTokenConfig(t, db, loc.Token, "business", "") + again,
				ExpectError: expectDiag("Location Already Held", `This token file is for location uId `+loc.UID+`, which another new vpp_token in this`,
					`configuration also manages\. One location has one vpp_token`),
			},
			{Config: testAccTokenConfig(t, db, loc.Token, "business", "")},
			{
				// Terraform plans the two in either order: whichever comes second is refused.
				Config:      testAccTokenConfig(t, db, loc.Token, "business", "") + again,
				ExpectError: regexp.MustCompile(`Error: Location Already Held(.|\n)*uId\s+` + loc.UID + `(.|\n)*` + engine.TokenID(loc.UID)),
			},
			{
				// A second configuration (its own state) on the same database.
				PreConfig: func() {
					resource.Test(t, resource.TestCase{
						ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
						Steps:                    []resource.TestStep{{Config: providerBlock(t, db) + again, ExpectError: held}},
					})
				},
				Config:            testAccTokenConfig(t, db, loc.Token, "business", ""),
				ConfigPlanChecks:  resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				ConfigStateChecks: tokenChecks(t, loc, loc.Token, 299, 3),
			},
		},
	})
}

func TestAccToken_renewalWithAnotherLocation(t *testing.T) {
	db := testDatabase(t)
	loc := newTestLocation(t, "business")
	other := newTestLocation(t, "business")
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkTokensDestroyed(t, db),
		Steps: []resource.TestStep{
			{Config: testAccTokenConfig(t, db, loc.Token, "business", "")},
			{
				Config: testAccTokenConfig(t, db, other.Token, "business", ""),
				ExpectError: expectDiag("Token File of Another Location",
					`belongs to location "`+regexp.QuoteMeta(other.Name)+`" \(uId `+other.UID+`\), but this token manages "`+regexp.QuoteMeta(loc.Name)+`"`),
			},
			{ // the refused renewal changed nothing
				Config:            testAccTokenConfig(t, db, loc.Token, "business", ""),
				ConfigStateChecks: tokenChecks(t, loc, loc.Token, 299, 3),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
		},
	})
}

// testClock is a clock tests can move forward.
type testClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// providerFactoriesWithClock serves the provider with an engine that reads the time from clock.
func providerFactoriesWithClock(clock *testClock) map[string]func() (tfprotov6.ProviderServer, error) {
	return map[string]func() (tfprotov6.ProviderServer, error){
		"vpp": providerserver.NewProtocol6WithError(&vppProvider{version: "test", tune: func(c *engine.Config) {
			fastEngine(c)
			c.Now = clock.Now
		}}),
	}
}

// A token revoked at Apple shows as revoked on the first refresh after the sync interval.
func TestAccToken_revokedAtApple(t *testing.T) {
	sim, _ := simulator(t)
	db := testDatabase(t)
	loc := newTestLocation(t, "business")
	clock := &testClock{}
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: providerFactoriesWithClock(clock),
		CheckDestroy:             checkTokensDestroyed(t, db),
		Steps: []resource.TestStep{
			{
				Config:            testAccTokenConfig(t, db, loc.Token, "business", ""),
				ConfigStateChecks: tokenChecks(t, loc, loc.Token, 299, 3),
			},
			{ // revoked: the last sync is recent, but every refresh asks Apple for the client config
				PreConfig: func() {
					if err := sim.RevokeToken(loc.Token); err != nil {
						t.Fatal(err)
					}
				},
				Config: testAccTokenConfig(t, db, loc.Token, "business", ""),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(testTokenAddr, tfjsonpath.New("state"), knownvalue.StringExact(engine.StateRevoked)),
					statecheck.ExpectKnownValue(testTokenAddr, tfjsonpath.New("last_sync_status"), knownvalue.StringExact(engine.SyncCompleted)),
				},
			},
			{ // 13 hours later the refresh syncs (sync_interval 12h) and Apple's verdict shows
				PreConfig: func() { clock.Advance(13 * time.Hour) },
				Config:    testAccTokenConfig(t, db, loc.Token, "business", ""),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(testTokenAddr, tfjsonpath.New("state"), knownvalue.StringExact(engine.StateRevoked)),
					statecheck.ExpectKnownValue(testTokenAddr, tfjsonpath.New("last_sync_status"), knownvalue.StringExact(engine.SyncFailed)),
					statecheck.ExpectKnownValue(testTokenAddr, tfjsonpath.New("book_count"), knownvalue.Int64Exact(3)),
				},
				// Each refresh warns (the CLI's warnings are not visible here: Read is called as a
				// refresh calls it).
				Check: func(s *terraform.State) error {
					id := s.RootModule().Resources[testTokenAddr].Primary.ID
					return expectTokenWarning(t, db, id, "VPP Token Is Not Usable", fmt.Sprintf(
						"The token for %q is revoked: Token %s is revoked (Apple: ", loc.Name, id), "error 9625",
						"). Apple revoked it: download a new token for the location and renew the vpp_token in place.")
				},
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
		},
	})
}

// expectTokenWarning refreshes token id through the resource's Read, as terraform refresh calls
// it (terraform-plugin-testing does not show warnings), and checks it warns exactly once, with
// summary and a detail that contains the fragments in order.
func expectTokenWarning(t *testing.T, db, id, summary string, fragments ...string) error {
	t.Helper()
	ctx := context.Background()
	r := &tokenResource{data: &providerData{engine: testEngine(t, db), now: time.Now}}
	var sr fwresource.SchemaResponse
	r.Schema(ctx, fwresource.SchemaRequest{}, &sr)
	state := tfsdk.State{Schema: sr.Schema, Raw: tftypes.NewValue(sr.Schema.Type().TerraformType(ctx), nil)}
	if diags := state.SetAttribute(ctx, path.Root("id"), id); diags.HasError() {
		return fmt.Errorf("%v", diags)
	}
	resp := &fwresource.ReadResponse{State: state}
	r.Read(ctx, fwresource.ReadRequest{State: state}, resp)
	if resp.Diagnostics.HasError() || resp.Diagnostics.WarningsCount() != 1 {
		return fmt.Errorf("refresh of token %s: want one warning %q, got %v", id, summary, resp.Diagnostics)
	}
	w := resp.Diagnostics.Warnings()[0]
	rest := w.Detail()
	for _, f := range fragments {
		i := strings.Index(rest, f)
		if w.Summary() != summary || i < 0 {
			return fmt.Errorf("refresh of token %s warns %q: %q\nwant %q with, in order, %q", id, w.Summary(), w.Detail(), summary, fragments)
		}
		rest = rest[i+len(f):]
	}
	return nil
}

// tokenFileExpiring builds a token file (not valid at Apple) that expires at exp.
func tokenFileExpiring(exp time.Time) string {
	return base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf(`{"token":"c2VjcmV0","expDate":%q,"orgName":"Springfield Schools"}`,
		exp.UTC().Format("2006-01-02T15:04:05-0700"))))
}

// modifyTokenPlan runs the resource's ModifyPlan at now on a configuration (attributes not given
// are null) and, for an update, a prior state; the plan is the state overlaid with the
// configuration, write-only values left out, as Terraform proposes it.
func modifyTokenPlan(t *testing.T, now time.Time, cfg, state map[string]tftypes.Value) *fwresource.ModifyPlanResponse {
	t.Helper()
	ctx := context.Background()
	r := &tokenResource{data: &providerData{now: func() time.Time { return now }}}
	var sr fwresource.SchemaResponse
	r.Schema(ctx, fwresource.SchemaRequest{}, &sr)
	typ, ok := sr.Schema.Type().TerraformType(ctx).(tftypes.Object)
	if !ok {
		t.Fatal("the schema is not an object")
	}
	object := func(layers ...map[string]tftypes.Value) tftypes.Value {
		vals := map[string]tftypes.Value{}
		for name, at := range typ.AttributeTypes {
			vals[name] = tftypes.NewValue(at, nil)
			for _, l := range layers {
				if v, ok := l[name]; ok {
					vals[name] = v
				}
			}
		}
		return tftypes.NewValue(typ, vals)
	}
	noWriteOnly := map[string]tftypes.Value{"token_wo": tftypes.NewValue(tftypes.String, nil)}
	req := fwresource.ModifyPlanRequest{
		Config: tfsdk.Config{Schema: sr.Schema, Raw: object(cfg)},
		Plan:   tfsdk.Plan{Schema: sr.Schema, Raw: object(state, cfg, noWriteOnly)},
		State:  tfsdk.State{Schema: sr.Schema, Raw: tftypes.NewValue(typ, nil)},
	}
	if state != nil {
		req.State.Raw = object(state)
	}
	resp := &fwresource.ModifyPlanResponse{Plan: req.Plan}
	r.ModifyPlan(ctx, req, resp)
	return resp
}

func str(s string) tftypes.Value { return tftypes.NewValue(tftypes.String, s) }

// The plan-time checks of the token file, which the CLI tests cannot see when they are warnings.
func TestTokenResource_planChecksTokenFile(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	valid := tokenFileExpiring(now.Add(300 * 24 * time.Hour))
	soon := tokenFileExpiring(now.Add(20*24*time.Hour + time.Hour))
	expired := tokenFileExpiring(now.Add(-time.Hour))
	base := map[string]tftypes.Value{"apple_id": str("admin@example.com"), "account_type": str("business")}
	with := func(extra map[string]tftypes.Value) map[string]tftypes.Value {
		out := map[string]tftypes.Value{}
		for k, v := range base {
			out[k] = v
		}
		for k, v := range extra {
			out[k] = v
		}
		return out
	}
	inState := func(file string) map[string]tftypes.Value {
		return with(map[string]tftypes.Value{"id": str("t1"), "token": str(file), "state": str("valid"),
			"organization_name": str("Springfield Schools"), "book_count": tftypes.NewValue(tftypes.Number, 3)})
	}

	type want struct {
		severity diag.Severity
		at       string
		text     []string
	}
	cases := map[string]struct {
		config, state map[string]tftypes.Value
		want          *want
	}{
		"valid file":           {config: with(map[string]tftypes.Value{"token": str(valid)})},
		"unknown file":         {config: with(map[string]tftypes.Value{"token": tftypes.NewValue(tftypes.String, tftypes.UnknownValue)})},
		"malformed file":       {config: with(map[string]tftypes.Value{"token": str("not a token")}), want: &want{diag.SeverityError, "token", []string{"Invalid VPP Token File", "contains whitespace"}}},
		"expired file":         {config: with(map[string]tftypes.Value{"token": str(expired)}), want: &want{diag.SeverityError, "token", []string{"Expired VPP Token File", "expired on 2026-06-01T11:00:00Z", "Content Tokens"}}},
		"expiring file":        {config: with(map[string]tftypes.Value{"token": str(soon)}), want: &want{diag.SeverityWarning, "token", []string{"VPP Token Expires Soon", "expires on 2026-06-21T13:00:00Z, in 20 days", "increment token_wo_version"}}},
		"expiring write-only":  {config: with(map[string]tftypes.Value{"token_wo": str(soon), "token_wo_version": tftypes.NewValue(tftypes.Number, 1)}), want: &want{diag.SeverityWarning, "token_wo", []string{"VPP Token Expires Soon"}}},
		"malformed write-only": {config: with(map[string]tftypes.Value{"token_wo": str("###"), "token_wo_version": tftypes.NewValue(tftypes.Number, 1)}), want: &want{diag.SeverityError, "token_wo", []string{"not standard base64"}}},
		// An expired file already in use only warns: its state shows it, and an error would block every
		// other change of the configuration until the renewal.
		"expired file in use": {config: with(map[string]tftypes.Value{"token": str(expired)}), state: inState(expired), want: &want{diag.SeverityWarning, "token", []string{"VPP Token Expired", "2026-06-01T11:00:00Z"}}},
		"expired renewal":     {config: with(map[string]tftypes.Value{"token": str(expired)}), state: inState(valid), want: &want{diag.SeverityError, "token", []string{"Expired VPP Token File"}}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			resp := modifyTokenPlan(t, now, tc.config, tc.state)
			if tc.want == nil {
				if len(resp.Diagnostics) > 0 {
					t.Fatalf("want no diagnostics, got %v", resp.Diagnostics)
				}
				return
			}
			if len(resp.Diagnostics) != 1 {
				t.Fatalf("want one diagnostic, got %v", resp.Diagnostics)
			}
			d := resp.Diagnostics[0]
			if d.Severity() != tc.want.severity {
				t.Errorf("severity %v, want %v", d.Severity(), tc.want.severity)
			}
			if dp, ok := d.(diag.DiagnosticWithPath); !ok || !dp.Path().Equal(path.Root(tc.want.at)) {
				t.Errorf("diagnostic not on %s: %#v", tc.want.at, d)
			}
			for _, s := range tc.want.text {
				if !strings.Contains(d.Summary()+": "+d.Detail(), s) {
					t.Errorf("diagnostic %q: %q lacks %q", d.Summary(), d.Detail(), s)
				}
			}
		})
	}
}

// What an update learns from Apple is unknown in its plan; nothing else is.
func TestTokenResource_planMarksWhatAnUpdateLearns(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	file := tokenFileExpiring(now.Add(300 * 24 * time.Hour))
	renewed := tokenFileExpiring(now.Add(365 * 24 * time.Hour))
	state := map[string]tftypes.Value{
		"id": str("t1"), "token": str(file), "apple_id": str("admin@example.com"), "account_type": str("business"),
		"take_over_from_other_mdm": tftypes.NewValue(tftypes.Bool, false),
		"organization_name":        str("Springfield Schools"), "location_name": str("Main"), "location_id": str("123"),
		"country_code": str("US"), "expires_at": str("2027-03-28T12:00:00Z"), "days_until_expiry": tftypes.NewValue(tftypes.Number, 300),
		"state": str("valid"), "last_sync_at": str("2026-06-01T11:00:00Z"), "last_sync_status": str("completed"),
		"book_count": tftypes.NewValue(tftypes.Number, 3),
	}
	config := func(extra map[string]tftypes.Value) map[string]tftypes.Value {
		out := map[string]tftypes.Value{"token": str(file), "apple_id": str("admin@example.com"), "account_type": str("business")}
		for k, v := range extra {
			out[k] = v
		}
		return out
	}
	syncDerived := []string{"location_name", "country_code", "expires_at", "days_until_expiry", "state", "last_sync_at", "last_sync_status", "book_count"}
	cases := map[string]struct {
		config  map[string]tftypes.Value
		unknown []string
	}{
		"display name": {config: config(map[string]tftypes.Value{"display_name": str("Main library")})},
		"sync trigger": {config: config(map[string]tftypes.Value{"sync_trigger": str("1")}), unknown: syncDerived},
		"renewal":      {config: config(map[string]tftypes.Value{"token": str(renewed)}), unknown: append([]string{"organization_name"}, syncDerived...)},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			resp := modifyTokenPlan(t, now, tc.config, state)
			if resp.Diagnostics.HasError() {
				t.Fatal(resp.Diagnostics)
			}
			var plan tokenResourceModel
			if diags := resp.Plan.Get(context.Background(), &plan); diags.HasError() {
				t.Fatal(diags)
			}
			unknown := map[string]bool{}
			for _, n := range tc.unknown {
				unknown[n] = true
			}
			for name, v := range map[string]interface{ IsUnknown() bool }{
				"id": plan.ID, "organization_name": plan.OrganizationName, "location_name": plan.LocationName,
				"location_id": plan.LocationID, "country_code": plan.CountryCode, "expires_at": plan.ExpiresAt,
				"days_until_expiry": plan.DaysUntilExpiry, "state": plan.State, "last_sync_at": plan.LastSyncAt,
				"last_sync_status": plan.LastSyncStatus, "book_count": plan.BookCount,
			} {
				if v.IsUnknown() != unknown[name] {
					t.Errorf("%s unknown = %v, want %v", name, v.IsUnknown(), unknown[name])
				}
			}
		})
	}
}

// Destroying a token whose books went to users warns that the licenses stay with them; a token
// already gone is destroyed without a word.
func TestTokenResource_deleteWarnsLicensesKept(t *testing.T) {
	testAccPreCheck(t)
	ctx := context.Background()
	db := testDatabase(t)
	loc := newTestLocation(t, "business")
	eng := testEngine(t, db)
	tok, err := eng.AddToken(ctx, engine.TokenInput{Contents: loc.Token, AppleID: "admin@corp.example.com", AccountType: engine.AccountBusiness})
	if err != nil {
		t.Fatal(err)
	}
	g, err := eng.CreateGroup(ctx, engine.GroupInput{Name: "Staff", Members: []string{"ada@corp.example.com", "bo@corp.example.com"}, Managed: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eng.CreateAssignment(ctx, engine.AssignmentInput{BookID: engine.BookID(tok.ID, testBookA, engine.PricingStandard), GroupID: g.ID, Intent: engine.IntentRequired}); err != nil {
		t.Fatal(err)
	}

	r := &tokenResource{data: &providerData{engine: eng, now: time.Now}}
	var sr fwresource.SchemaResponse
	r.Schema(ctx, fwresource.SchemaRequest{}, &sr)
	state := tfsdk.State{Schema: sr.Schema, Raw: tftypes.NewValue(sr.Schema.Type().TerraformType(ctx), nil)}
	for name, v := range map[string]string{"id": tok.ID, "location_name": tok.LocationName} {
		if diags := state.SetAttribute(ctx, path.Root(name), v); diags.HasError() {
			t.Fatal(diags)
		}
	}
	destroy := func() diag.Diagnostics {
		resp := &fwresource.DeleteResponse{State: state}
		r.Delete(ctx, fwresource.DeleteRequest{State: state}, resp)
		return resp.Diagnostics
	}

	diags := destroy()
	if diags.HasError() || diags.WarningsCount() != 1 {
		t.Fatalf("want one warning, got %v", diags)
	}
	w := diags.Warnings()[0]
	if w.Summary() != "Book Licenses Stay With Their Users" || !strings.Contains(w.Detail(), "2 book licenses stay with the users they were given to: Apple does not allow reclaiming books") ||
		!strings.Contains(w.Detail(), loc.Name) {
		t.Errorf("warning %q: %q", w.Summary(), w.Detail())
	}
	if _, err := eng.GetToken(ctx, tok.ID); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("the token is still in the engine: %v", err)
	}
	if diags := destroy(); len(diags) != 0 {
		t.Errorf("destroying a token already gone: %v", diags)
	}
}

// Another system claims the location after the token was uploaded: a refresh past the sync
// interval shows it, and setting take_over_from_other_mdm claims the location back in place.
func TestAccToken_claimedByAnotherMDMLater(t *testing.T) {
	sim, _ := simulator(t)
	db := testDatabase(t)
	loc := newTestLocation(t, "business")
	clock := &testClock{}
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: providerFactoriesWithClock(clock),
		CheckDestroy:             checkTokensDestroyed(t, db),
		Steps: []resource.TestStep{
			{Config: testAccTokenConfig(t, db, loc.Token, "business", "")},
			{
				PreConfig: func() {
					if err := sim.OverwriteMDMInfo(loc.UID, applesim.MDMInfo{ID: "6d1b7f3e-other", Name: "Other MDM"}); err != nil {
						t.Fatal(err)
					}
					clock.Advance(13 * time.Hour)
				},
				Config: testAccTokenConfig(t, db, loc.Token, "business", ""),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(testTokenAddr, tfjsonpath.New("state"), knownvalue.StringExact(engine.StateExternalMDM)),
				},
				// The refresh warns, with the remedy.
				Check: func(s *terraform.State) error {
					return expectTokenWarning(t, db, s.RootModule().Resources[testTokenAddr].Primary.ID, "VPP Token Is Not Usable",
						fmt.Sprintf("The token for %q is assigned_to_external_mdm: Location %q", loc.Name, loc.Name),
						` is managed by another system ("Other MDM", id 6d1b7f3e-other); two systems managing one location can `+
							`lose license assignments and user records. Remove the token from the other system, or set `+
							`take_over_from_other_mdm = true to make this provider the location's manager`)
				},
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
			{
				Config: testAccTokenConfig(t, db, loc.Token, "business", "  take_over_from_other_mdm = true"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(testTokenAddr, plancheck.ResourceActionUpdate),
						plancheck.ExpectUnknownValue(testTokenAddr, tfjsonpath.New("state")),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(testTokenAddr, tfjsonpath.New("state"), knownvalue.StringExact(engine.StateValid)),
					statecheck.ExpectKnownValue(testTokenAddr, tfjsonpath.New("last_sync_status"), knownvalue.StringExact(engine.SyncCompleted)),
				},
				Check: func(*terraform.State) error {
					if info := sim.ClientConfig(loc.UID).MDMInfo; info == nil || info.Name != engine.MDMName {
						return fmt.Errorf("Apple's mdmInfo is %+v, want this engine's", info)
					}
					return nil
				},
			},
		},
	})
}
