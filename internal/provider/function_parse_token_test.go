package provider

import (
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"
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
	noDate := base64.StdEncoding.EncodeToString([]byte(`{"token":"c2VjcmV0","orgName":"X"}`))
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
	// Each bad file gets the function error naming what is wrong.
	for _, tc := range []struct{ contents, want string }{
		{"", `Invalid token file: invalid input: apple: token file is malformed: the file is empty`},
		{"not-base64###", `Invalid token file: invalid input: apple: token file is malformed: not standard base64`},
		{noOrg, `Invalid token file: invalid input: apple: token file lacks a required field \(field "orgName"\)`},
		{noDate, `Invalid token file: invalid input: apple: token file lacks a required field \(field "expDate"\)`},
		{badDate, `Invalid token file: invalid input: apple: token file has an unreadable expiry date \(field "expDate"\): "next year" is not an ISO-8601 date-time`},
	} {
		steps = append(steps, resource.TestStep{
			Config: fmt.Sprintf(`output "info" { value = provider::vpp::parse_token(%q) }`, tc.contents),
			// Terraform wraps long messages: any run of spaces may come out as a line break.
			ExpectError: regexp.MustCompile(strings.ReplaceAll(tc.want, " ", `\s+`)),
		})
	}
	resource.UnitTest(t, resource.TestCase{
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_8_0)},
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps:                    steps,
	})
}
