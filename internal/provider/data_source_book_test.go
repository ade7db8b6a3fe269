package provider

import (
	"fmt"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

// bookStateChecks asserts every attribute of data source addr against bookCheck.
func bookStateChecks(addr, adamID string, total int64) []statecheck.StateCheck {
	var checks []statecheck.StateCheck
	for name, check := range bookCheck(adamID, total) {
		checks = append(checks, statecheck.ExpectKnownValue(addr, tfjsonpath.New(name), check))
	}
	return checks
}

func TestAccBookDataSource_basic(t *testing.T) {
	db := testDatabase(t)
	loc := newTestLocation(t, "business")
	config := testAccBooksConfig(t, db, loc, "",
		fmtBookDataSource("by_adam_id", `  adam_id    = "`+testBookA+`"
  depends_on = [vpp_token.test]`)+
			fmtBookDataSource("by_title", `  title      = "Terraform for Librarians"
  depends_on = [vpp_token.test]`)+
			fmtBookDataSource("in_token", `  adam_id  = "`+testBookC+`"
  token_id = vpp_token.test.id`)+`
data "vpp_books" "licensing" {
  title      = "licensing"
  depends_on = [vpp_token.test]
}
`)
	checks := append(bookStateChecks("data.vpp_book.by_adam_id", testBookA, 10), bookStateChecks("data.vpp_book.by_title", testBookB, 2)...)
	checks = append(checks, bookStateChecks("data.vpp_book.in_token", testBookC, 1000)...)
	checks = append(checks,
		statecheck.CompareValuePairs("data.vpp_book.in_token", tfjsonpath.New("token_id"), testTokenAddr, tfjsonpath.New("id"), compare.ValuesSame()),
		// vpp_book and vpp_books agree on a book's id
		statecheck.CompareValuePairs("data.vpp_book.by_adam_id", tfjsonpath.New("id"),
			"data.vpp_books.licensing", tfjsonpath.New("books").AtSliceIndex(0).AtMapKey("id"), compare.ValuesSame()),
	)
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkTokensDestroyed(t, db),
		Steps: []resource.TestStep{{
			Config:            config,
			ConfigStateChecks: checks,
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
			},
		}},
	})
}

func TestAccBookDataSource_noneOrInvalid(t *testing.T) {
	db := testDatabase(t)
	loc := newTestLocation(t, "business")
	step := func(args string, want *regexp.Regexp) resource.TestStep {
		return resource.TestStep{
			Config:      testAccBooksConfig(t, db, loc, "", fmtBookDataSource("x", args)),
			ExpectError: want,
		}
	}
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkTokensDestroyed(t, db),
		Steps: []resource.TestStep{
			{Config: testAccBooksConfig(t, db, loc, "", "")},
			step(`  adam_id = "999999999"`, expectDiag("Book Not Found", `No purchased book matches adam_id "999999999"; list what the engine holds with the vpp_books data source`)),
			// titles are exact and case-sensitive; vpp_books matches substrings
			step(`  title = "the art of licensing"`, expectDiag("Book Not Found", `No purchased book matches title "the art of licensing"`)),
			step(`  adam_id = "`+testBookA+`"`+"\n"+`  token_id = "00000000-0000-0000-0000-000000000000"`, expectDiag("Unknown VPP Token")),
			step(``, expectDiag("Invalid Attribute Combination", `No attribute specified when one \(and only one\) of \[adam_id,title\] is required`)),
			step(`  adam_id = "`+testBookA+`"`+"\n"+`  title = "The Art of Licensing"`, expectDiag("Invalid Attribute Combination", `2 attributes specified when one \(and only one\) of \[adam_id,title\] is required`)),
			{Config: testAccBooksConfig(t, db, loc, "", "")}, // a valid configuration to destroy
		},
	})
}

// Two locations both bought book A: adam_id alone is ambiguous and the error names both books;
// token_id chooses.
func TestAccBookDataSource_ambiguous(t *testing.T) {
	db := testDatabase(t)
	first := newTestLocation(t, "business")
	second := newTestLocation(t, "education")
	tokens := providerBlock(t, db) + fmt.Sprintf(`
resource "vpp_token" "first" {
  token        = %q
  apple_id     = "admin@corp.example.com"
  account_type = "business"
}

resource "vpp_token" "second" {
  token        = %q
  apple_id     = "admin@corp.example.com"
  account_type = "education"
}
`, first.Token, second.Token)
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkTokensDestroyed(t, db),
		Steps: []resource.TestStep{
			{
				Config: tokens + fmtBookDataSource("a", `  adam_id    = "`+testBookA+`"
  depends_on = [vpp_token.first, vpp_token.second]`),
				ExpectError: expectDiag("Several Books Match", `2 books match adam_id "`+testBookA+`" \([0-9a-f-]{36}:`+testBookA+
					`:STDQ, [0-9a-f-]{36}:`+testBookA+`:STDQ\); narrow it with token_id`),
			},
			{
				Config: tokens + fmtBookDataSource("a", `  adam_id  = "`+testBookA+`"
  token_id = vpp_token.second.id`),
				ConfigStateChecks: append(bookStateChecks("data.vpp_book.a", testBookA, 10),
					statecheck.CompareValuePairs("data.vpp_book.a", tfjsonpath.New("token_id"), "vpp_token.second", tfjsonpath.New("id"), compare.ValuesSame()),
				),
			},
			{ // by title, across tokens, it is just as ambiguous
				Config:      tokens + fmtBookDataSource("a", `  title = "The Art of Licensing"`),
				ExpectError: expectDiag("Several Books Match", `2 books match title "The Art of Licensing"`),
			},
		},
	})
}
