package provider

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	acc "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/vppkit/terraform-provider-vpp/internal/engine"
	"github.com/vppkit/terraform-provider-vpp/internal/store"
)

const testDeviceGroupAddr = "vpp_device_group.test"

func testAccDeviceGroupConfig(t *testing.T, db, name, description string, serials ...string) string {
	t.Helper()
	desc := ""
	if description != "" {
		desc = fmt.Sprintf("\n  description    = %q", description)
	}
	return providerBlock(t, db) + fmt.Sprintf(`
resource "vpp_device_group" "test" {
  name           = %[1]q%[2]s
  serial_numbers = %[3]s
}
`, name, desc, hclStrings(serials...))
}

// testAccDeviceGroupWithDataSource is the configuration with the vpp_device_group data source
// reading the group back.
func testAccDeviceGroupWithDataSource(t *testing.T, db, name, description string, serials ...string) string {
	return testAccDeviceGroupConfig(t, db, name, description, serials...) + `
data "vpp_device_group" "test" {
  id = vpp_device_group.test.id
}
`
}

// testAccCheckDeviceGroupDestroy asks the engine that every device group of the state is gone.
func testAccCheckDeviceGroupDestroy(t *testing.T, db string) func(*terraform.State) error {
	return func(s *terraform.State) error {
		for _, rs := range s.RootModule().Resources {
			if rs.Type != "vpp_device_group" {
				continue
			}
			if _, err := testEngine(t, db).GetDeviceGroup(context.Background(), rs.Primary.ID); !errors.Is(err, engine.ErrNotFound) {
				return fmt.Errorf("device group %s still in the engine (err %v)", rs.Primary.ID, err)
			}
		}
		return nil
	}
}

// engineHoldsDeviceGroup checks the engine's record of the state's device group: its name and
// serial numbers (normalised, sorted).
func engineHoldsDeviceGroup(t *testing.T, db, name string, serials ...string) func(*terraform.State) error {
	return func(s *terraform.State) error {
		id := s.RootModule().Resources[testDeviceGroupAddr].Primary.ID
		g, err := testEngine(t, db).GetDeviceGroup(context.Background(), id)
		if err != nil || g.Name != name || !slices.Equal(g.SerialNumbers, serials) {
			return fmt.Errorf("the engine holds device group %s as %+v (%v); want %q with %v", id, g, err, name, serials)
		}
		return nil
	}
}

// serialsExact checks a list of serial numbers as written.
func serialsExact(serials ...string) knownvalue.Check {
	checks := make([]knownvalue.Check, len(serials))
	for i, s := range serials {
		checks[i] = knownvalue.StringExact(s)
	}
	return knownvalue.ListExact(checks)
}

func TestAccDeviceGroup_basic(t *testing.T) {
	db := testDatabase(t)
	const data = "data.vpp_device_group.test"
	acc.Test(t, acc.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             testAccCheckDeviceGroupDestroy(t, db),
		Steps: []acc.TestStep{
			{
				Config: testAccDeviceGroupWithDataSource(t, db, "Kiosks", "Lobby iPads", "C02XK1ZZJGH5", "DMPXK1ZZAB12"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(testDeviceGroupAddr, tfjsonpath.New("id"), knownvalue.StringRegexp(regexp.MustCompile(`^[0-9a-f-]{36}$`))),
					statecheck.ExpectKnownValue(testDeviceGroupAddr, tfjsonpath.New("name"), knownvalue.StringExact("Kiosks")),
					statecheck.ExpectKnownValue(testDeviceGroupAddr, tfjsonpath.New("description"), knownvalue.StringExact("Lobby iPads")),
					statecheck.ExpectKnownValue(testDeviceGroupAddr, tfjsonpath.New("serial_numbers"), serialsExact("C02XK1ZZJGH5", "DMPXK1ZZAB12")),
					statecheck.ExpectKnownValue(testDeviceGroupAddr, tfjsonpath.New("serial_count"), knownvalue.Int64Exact(2)),
					statecheck.ExpectKnownValue(data, tfjsonpath.New("name"), knownvalue.StringExact("Kiosks")),
					statecheck.ExpectKnownValue(data, tfjsonpath.New("serial_numbers"), serialsExact("C02XK1ZZJGH5", "DMPXK1ZZAB12")),
					statecheck.ExpectKnownValue(data, tfjsonpath.New("serial_count"), knownvalue.Int64Exact(2)),
				},
				Check: engineHoldsDeviceGroup(t, db, "Kiosks", "C02XK1ZZJGH5", "DMPXK1ZZAB12"),
			},
			{
				ResourceName:      testDeviceGroupAddr,
				ImportState:       true,
				ImportStateVerify: true,
			},
			{
				ResourceName:    testDeviceGroupAddr,
				ImportState:     true,
				ImportStateKind: acc.ImportBlockWithID,
			},
			{
				// A new name, no description, one device out and one in, written in lower case: the
				// state keeps the spelling, the engine the serial numbers.
				Config: testAccDeviceGroupConfig(t, db, "Lobby kiosks", "", "C02XK1ZZJGH5", "f9fxk1zzjgh5"),
				ConfigPlanChecks: acc.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(testDeviceGroupAddr, plancheck.ResourceActionUpdate),
						plancheck.ExpectKnownValue(testDeviceGroupAddr, tfjsonpath.New("serial_count"), knownvalue.Int64Exact(2)),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(testDeviceGroupAddr, tfjsonpath.New("name"), knownvalue.StringExact("Lobby kiosks")),
					statecheck.ExpectKnownValue(testDeviceGroupAddr, tfjsonpath.New("description"), knownvalue.Null()),
					statecheck.ExpectKnownValue(testDeviceGroupAddr, tfjsonpath.New("serial_numbers"), serialsExact("C02XK1ZZJGH5", "f9fxk1zzjgh5")),
				},
				Check: engineHoldsDeviceGroup(t, db, "Lobby kiosks", "C02XK1ZZJGH5", "F9FXK1ZZJGH5"),
			},
			{
				// Two more devices.
				Config: testAccDeviceGroupConfig(t, db, "Lobby kiosks", "", "C02XK1ZZJGH5", "f9fxk1zzjgh5", "H4TXK1ZZ", "DMPXK1ZZAB12"),
				ConfigPlanChecks: acc.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(testDeviceGroupAddr, plancheck.ResourceActionUpdate),
						plancheck.ExpectKnownValue(testDeviceGroupAddr, tfjsonpath.New("serial_count"), knownvalue.Int64Exact(4)),
					},
				},
				Check: engineHoldsDeviceGroup(t, db, "Lobby kiosks", "C02XK1ZZJGH5", "DMPXK1ZZAB12", "F9FXK1ZZJGH5", "H4TXK1ZZ"),
			},
			{
				// The same devices in another order and case: nothing to do, and the state keeps the
				// list as first applied.
				Config: testAccDeviceGroupConfig(t, db, "Lobby kiosks", "", "dmpxk1zzab12", "h4txk1zz", " c02xk1zzjgh5", "F9FXK1ZZJGH5"),
				ConfigPlanChecks: acc.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(testDeviceGroupAddr, tfjsonpath.New("serial_numbers"),
						serialsExact("C02XK1ZZJGH5", "f9fxk1zzjgh5", "H4TXK1ZZ", "DMPXK1ZZAB12")),
				},
			},
		},
	})
}

// The state is a device group's truth: a runner with the same state and no database (a lost,
// new or restored one) plans nothing, gets the group back under the same id, and applies changes
// to it.
func TestAccDeviceGroup_lostDatabaseRestoredFromState(t *testing.T) {
	eachKind(t, func(t *testing.T, kind store.Kind) {
		dbA, dbB := freshDatabase(t, kind), freshDatabase(t, kind)
		serials := []string{"C02XK1ZZJGH5", "dmpxk1zzab12"}
		var id string
		acc.Test(t, acc.TestCase{
			PreCheck:                 func() { testAccPreCheck(t) },
			ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
			CheckDestroy:             testAccCheckDeviceGroupDestroy(t, dbB),
			Steps: []acc.TestStep{
				{
					Config: testAccDeviceGroupConfig(t, dbA, "Carts", "Room 4", serials...),
					Check: func(s *terraform.State) error {
						id = s.RootModule().Resources[testDeviceGroupAddr].Primary.ID
						return nil
					},
				},
				{
					// Runner B: the same state, an empty database.
					Config:           testAccDeviceGroupConfig(t, dbB, "Carts", "Room 4", serials...),
					ConfigPlanChecks: acc.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
					Check: acc.ComposeTestCheckFunc(
						acc.TestCheckResourceAttrPtr(testDeviceGroupAddr, "id", &id),
						engineHoldsDeviceGroup(t, dbB, "Carts", "C02XK1ZZJGH5", "DMPXK1ZZAB12"),
					),
				},
				{
					Config: testAccDeviceGroupConfig(t, dbB, "Carts", "Room 4", append(serials, "H4TXK1ZZ")...),
					Check: acc.ComposeTestCheckFunc(
						acc.TestCheckResourceAttrPtr(testDeviceGroupAddr, "id", &id),
						engineHoldsDeviceGroup(t, dbB, "Carts", "C02XK1ZZJGH5", "DMPXK1ZZAB12", "H4TXK1ZZ"),
					),
				},
			},
		})
	})
}

// A serial number that is not one, or a device listed twice, is refused at plan, naming its index
// and saying what a serial number looks like.
func TestAccDeviceGroup_invalidSerialsRefusedAtPlan(t *testing.T) {
	db := testDatabase(t)
	config := func(serials ...string) string { return testAccDeviceGroupConfig(t, db, "Bad", "", serials...) }
	advice := `A device serial number is 8 to 14 letters A–Z and digits 0–9, such as C02XK1ZZJGH5;`
	var bad []string
	for i := range 7 {
		bad = append(bad, fmt.Sprintf("bad-%d", i))
	}
	acc.Test(t, acc.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []acc.TestStep{
			{
				Config:      config(),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`serial_numbers list must contain at least 1 elements`),
			},
			{
				Config:   config("C02XK1ZZJGH5", "C02-XK1ZZJGH5"),
				PlanOnly: true,
				ExpectError: expectDiag("Invalid Serial Number", `serial_numbers\[1\] = "C02-XK1ZZJGH5" is not a device serial number: it contains '-', which is not a letter A–Z or a digit\.`,
					advice),
			},
			{
				Config:      config("C02XK1", "DMPXK1ZZAB12"),
				PlanOnly:    true,
				ExpectError: expectDiag("Invalid Serial Number", `serial_numbers\[0\] = "C02XK1" is not a device serial number: it has 6 characters, not 8 to 14\.`, advice),
			},
			{
				Config:   config("C02XK1ZZJGH5", "DMPXK1ZZAB12", " c02xk1zzjgh5"),
				PlanOnly: true,
				ExpectError: expectDiag("Duplicate Serial Number", `serial_numbers\[2\] = " c02xk1zzjgh5" repeats serial_numbers\[0\] = "C02XK1ZZJGH5": serial numbers are not case-sensitive,`,
					`so both name the same device\. List each device once\.`),
			},
			{
				// Many mistakes: the first five by index, and a count of the rest.
				Config:      config(append(bad, "C02XK1ZZJGH5")...),
				PlanOnly:    true,
				ExpectError: expectDiag("Invalid Serial Numbers", `2 more entries of serial_numbers are not device serial numbers or repeat a device listed before them\.`),
			},
			{
				// (Terraform orders the diagnostics: each needs its own step.)
				Config:      config(append(bad, "C02XK1ZZJGH5")...),
				PlanOnly:    true,
				ExpectError: expectDiag("Invalid Serial Number", `serial_numbers\[4\] = "bad-4" is not a device serial number`),
			},
		},
	})
}

// Ten thousand devices are created and planned again, in another order and case, through the CLI:
// the plan is empty. Terraform's own cost dominates: on 2 cores the same steps with the list in a
// terraform_data resource took 55 s, this test 46 s (each plan of a state holding 10,000 values
// costs Terraform about 11 s). TestAccDeviceGroup_providerCostOfTenThousandSerials bounds the
// provider's share.
func TestAccDeviceGroup_tenThousandSerials(t *testing.T) {
	db := testDatabase(t)
	const n = 10_000
	serials := make([]string, n)
	again := make([]string, n)
	for i := range serials {
		serials[i] = fmt.Sprintf("C02X%08d", i)
		again[n-1-i] = strings.ToLower(serials[i])
	}
	start := time.Now()
	acc.Test(t, acc.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []acc.TestStep{
			{
				Config: testAccDeviceGroupConfig(t, db, "District iPads", "", serials...),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(testDeviceGroupAddr, tfjsonpath.New("serial_count"), knownvalue.Int64Exact(n)),
				},
			},
			{
				Config:   testAccDeviceGroupConfig(t, db, "District iPads", "", again...),
				PlanOnly: true, // fails on a non-empty plan
			},
		},
	})
	took := time.Since(start)
	t.Logf("10,000 serial numbers: created, planned twice and destroyed through the CLI in %v", took)
	if took > 2*time.Minute {
		t.Errorf("10,000 serial numbers took %v through the CLI; Terraform's own cost for such a list is about a minute", took)
	}
}

// A device group's identity is its id: set at create, kept by update and refresh, and enough to
// import the group by identity.
func TestAccDeviceGroup_identity(t *testing.T) {
	db := testDatabase(t)
	identity := statecheck.ExpectIdentity(testDeviceGroupAddr, map[string]knownvalue.Check{
		"id": knownvalue.StringRegexp(regexp.MustCompile(`^[0-9a-f-]{36}$`))})
	acc.Test(t, acc.TestCase{
		TerraformVersionChecks:   identityCLI,
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []acc.TestStep{
			{Config: testAccDeviceGroupConfig(t, db, "Kiosks", "", "C02XK1ZZJGH5"), ConfigStateChecks: []statecheck.StateCheck{identity}},
			{Config: testAccDeviceGroupConfig(t, db, "Kiosks", "", "C02XK1ZZJGH5", "DMPXK1ZZAB12"), ConfigStateChecks: []statecheck.StateCheck{identity}},
			{
				Config:          testAccDeviceGroupConfig(t, db, "Kiosks", "", "C02XK1ZZJGH5", "DMPXK1ZZAB12"),
				ResourceName:    testDeviceGroupAddr,
				ImportState:     true,
				ImportStateKind: acc.ImportBlockWithResourceIdentity,
			},
		},
	})
}

// Importing an id the engine does not hold says there is nothing to import from Apple.
func TestAccDeviceGroup_importUnknownID(t *testing.T) {
	db := testDatabase(t)
	acc.Test(t, acc.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []acc.TestStep{{
			Config:        testAccDeviceGroupConfig(t, db, "Kiosks", "", "C02XK1ZZJGH5"),
			ResourceName:  testDeviceGroupAddr,
			ImportState:   true,
			ImportStateId: "0b6f7d2e-4c1a-4e8b-9f3d-2a5c6e7b8d90",
			ExpectError: expectDiag("Unknown Device Group", `Device group "0b6f7d2e-4c1a-4e8b-9f3d-2a5c6e7b8d90" not found in the engine's database\.`,
				`nothing to read back from Apple`),
		}},
	})
}

// The provider's own share of a group of 10,000 devices, through the plugin protocol without the
// CLI: validating, planning and applying the create, then planning the same devices in another
// order and case (nothing to change). Terraform's own cost for a 10,000-element list is far larger
// (TestAccDeviceGroup_tenThousandSerials); this bounds what the provider adds to it.
func TestAccDeviceGroup_providerCostOfTenThousandSerials(t *testing.T) {
	ctx := context.Background()
	server, err := providerserver.NewProtocol6WithError(&vppProvider{version: "test", tune: fastEngine})()
	if err != nil {
		t.Fatal(err)
	}
	schemas, err := server.GetProviderSchema(ctx, &tfprotov6.GetProviderSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	_, base := simulator(t)
	configure, err := server.ConfigureProvider(ctx, &tfprotov6.ConfigureProviderRequest{
		Config: dynamicValue(t, schemas.Provider, map[string]any{"database": testDatabase(t), "apple_api_url": base})})
	noDiagnostics(t, "ConfigureProvider", configure, err)

	const n = 10_000
	serials, again := make([]any, n), make([]any, n)
	for i := range serials {
		s := fmt.Sprintf("C02X%08d", i)
		serials[i], again[n-1-i] = s, strings.ToLower(s)
	}
	schema := schemas.ResourceSchemas["vpp_device_group"]
	config := map[string]any{"name": "District iPads", "serial_numbers": serials}
	start := time.Now()
	validated, err := server.ValidateResourceConfig(ctx, &tfprotov6.ValidateResourceConfigRequest{TypeName: "vpp_device_group", Config: dynamicValue(t, schema, config)})
	noDiagnostics(t, "ValidateResourceConfig", validated, err)
	planned, err := server.PlanResourceChange(ctx, &tfprotov6.PlanResourceChangeRequest{TypeName: "vpp_device_group",
		PriorState: dynamicValue(t, schema, nil), ProposedNewState: dynamicValue(t, schema, config), Config: dynamicValue(t, schema, config)})
	noDiagnostics(t, "PlanResourceChange (create)", planned, err)
	applied, err := server.ApplyResourceChange(ctx, &tfprotov6.ApplyResourceChangeRequest{TypeName: "vpp_device_group",
		PriorState: dynamicValue(t, schema, nil), PlannedState: planned.PlannedState, Config: dynamicValue(t, schema, config)})
	noDiagnostics(t, "ApplyResourceChange (create)", applied, err)
	created := time.Since(start)

	// The same devices in another order and case: the proposal is the configuration over the
	// state's computed values, and the plan is the state.
	state, err := applied.NewState.Unmarshal(schema.ValueType())
	if err != nil {
		t.Fatal(err)
	}
	var attrs map[string]tftypes.Value
	if err := state.As(&attrs); err != nil {
		t.Fatal(err)
	}
	var id string
	var count big.Float
	_ = attrs["id"].As(&id)
	_ = attrs["serial_count"].As(&count)
	if c, _ := count.Int64(); id == "" || c != n {
		t.Fatalf("the created group has id %q and %d serial numbers, want %d", id, c, n)
	}
	config["serial_numbers"] = again
	proposed := map[string]any{"id": id, "serial_count": int64(n), "name": "District iPads", "serial_numbers": again}
	start = time.Now()
	validated, err = server.ValidateResourceConfig(ctx, &tfprotov6.ValidateResourceConfigRequest{TypeName: "vpp_device_group", Config: dynamicValue(t, schema, config)})
	noDiagnostics(t, "ValidateResourceConfig", validated, err)
	read, err := server.ReadResource(ctx, &tfprotov6.ReadResourceRequest{TypeName: "vpp_device_group", CurrentState: applied.NewState,
		CurrentIdentity: applied.NewIdentity})
	noDiagnostics(t, "ReadResource", read, err)
	replanned, err := server.PlanResourceChange(ctx, &tfprotov6.PlanResourceChangeRequest{TypeName: "vpp_device_group",
		PriorState: read.NewState, PriorIdentity: read.NewIdentity, ProposedNewState: dynamicValue(t, schema, proposed), Config: dynamicValue(t, schema, config)})
	noDiagnostics(t, "PlanResourceChange (reordered)", replanned, err)
	plannedAgain := time.Since(start)
	if planned, _ := replanned.PlannedState.Unmarshal(schema.ValueType()); !planned.Equal(state) {
		t.Errorf("the same devices in another order and case planned a change")
	}
	t.Logf("10,000 serial numbers in the provider: created in %v, refreshed and planned again in %v", created, plannedAgain)
	// About half a second each on 2 idle cores; the bound leaves room for a busy machine.
	if created > 10*time.Second || plannedAgain > 10*time.Second {
		t.Errorf("the provider took %v to create and %v to refresh and plan 10,000 serial numbers; want a second or so each", created, plannedAgain)
	}
}

// dynamicValue encodes values (by attribute name; the others null) as an object of the schema's
// type; nil values encode a null object.
func dynamicValue(t *testing.T, schema *tfprotov6.Schema, values map[string]any) *tfprotov6.DynamicValue {
	t.Helper()
	typ := schema.ValueType()
	var v tftypes.Value
	if values == nil {
		v = tftypes.NewValue(typ, nil)
	} else {
		obj, ok := typ.(tftypes.Object)
		if !ok {
			t.Fatalf("the schema's type is %s, not an object", typ)
		}
		attrTypes := obj.AttributeTypes
		attrs := make(map[string]tftypes.Value, len(attrTypes))
		for name, at := range attrTypes {
			switch x := values[name].(type) {
			case nil:
				attrs[name] = tftypes.NewValue(at, nil)
			case []any:
				els := make([]tftypes.Value, len(x))
				for i, s := range x {
					els[i] = tftypes.NewValue(tftypes.String, s)
				}
				attrs[name] = tftypes.NewValue(at, els)
			case int64:
				attrs[name] = tftypes.NewValue(at, new(big.Float).SetInt64(x))
			default:
				attrs[name] = tftypes.NewValue(at, x)
			}
		}
		v = tftypes.NewValue(typ, attrs)
	}
	dv, err := tfprotov6.NewDynamicValue(typ, v)
	if err != nil {
		t.Fatal(err)
	}
	return &dv
}

// noDiagnostics fails the test when a protocol call failed or its response (a pointer to a
// tfprotov6 response) carries diagnostics.
func noDiagnostics(t *testing.T, call string, resp any, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", call, err)
	}
	diags, _ := reflect.ValueOf(resp).Elem().FieldByName("Diagnostics").Interface().([]*tfprotov6.Diagnostic)
	for _, d := range diags {
		t.Fatalf("%s: %s: %s", call, d.Summary, d.Detail)
	}
}

// The engine's device group errors are worded once, in explain: bad serial numbers on
// serial_numbers with what a serial number looks like, an unknown group as such. (The validator
// refuses bad serial numbers at plan; the engine's check stands behind it.)
func TestAccDeviceGroup_engineErrorsExplained(t *testing.T) {
	_, err := engine.NormalizeSerials([]string{"C02XK1ZZJGH5", "c02xk1zzjgh5"})
	var diags diag.Diagnostics
	engineError(&diags, "Error Creating Device Group", err, deviceGroupAttrs)
	if len(diags) != 1 || diags[0].Summary() != "Invalid Serial Numbers" ||
		!strings.Contains(diags[0].Detail(), `Serial numbers "C02XK1ZZJGH5" and "c02xk1zzjgh5" are the same device`) ||
		!strings.Contains(diags[0].Detail(), serialNumberAdvice) {
		t.Fatalf("bad serial numbers explained as %v", diags)
	}
	if at, ok := diags[0].(diag.DiagnosticWithPath); !ok || !at.Path().Equal(path.Root("serial_numbers")) {
		t.Errorf("bad serial numbers reported on %v, want serial_numbers", diags[0])
	}
	if x := explain(&engine.NotFoundError{Kind: engine.KindDeviceGroup, ID: "d1"}); x.summary != "Unknown Device Group" || x.about != aboutGroup ||
		!strings.HasPrefix(x.detail, `Device group "d1" not found in the engine's database. A device group is a set of devices`) {
		t.Errorf("an unknown device group explained as %+v", x)
	}
}
