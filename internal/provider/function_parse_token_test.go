package provider

import (
	"encoding/base64"
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"
)

func TestParseTokenFunction(t *testing.T) {
	valid := base64.StdEncoding.EncodeToString([]byte(`{"token":"c2VjcmV0","expDate":"2030-11-08T22:33:22+0000","orgName":"Springfield Schools"}`))
	noOrg := base64.StdEncoding.EncodeToString([]byte(`{"token":"c2VjcmV0","expDate":"2030-11-08T22:33:22+0000"}`))
	badDate := base64.StdEncoding.EncodeToString([]byte(`{"token":"c2VjcmV0","expDate":"next year","orgName":"X"}`))
	steps := []resource.TestStep{{
		Config: fmt.Sprintf(`output "info" { value = provider::vpp::parse_token(%q) }`, valid),
		ConfigStateChecks: []statecheck.StateCheck{
			statecheck.ExpectKnownOutputValue("info", knownvalue.ObjectExact(map[string]knownvalue.Check{
				"organization_name": knownvalue.StringExact("Springfield Schools"),
				"expires_at":        knownvalue.StringExact(time.Date(2030, 11, 8, 22, 33, 22, 0, time.UTC).Format(time.RFC3339)),
			})),
		},
	}}
	for contents, want := range map[string]string{
		"":               `Invalid token file`,
		"not base64 ###": `Invalid token file`,
		noOrg:            `orgName`,
		badDate:          `expDate`,
	} {
		steps = append(steps, resource.TestStep{
			Config:      fmt.Sprintf(`output "info" { value = provider::vpp::parse_token(%q) }`, contents),
			ExpectError: regexp.MustCompile(want),
		})
	}
	resource.UnitTest(t, resource.TestCase{
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_8_0)},
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps:                    steps,
	})
}
