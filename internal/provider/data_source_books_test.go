package provider

import (
	"fmt"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

// testAccBooksConfig is a token for loc, named "test", plus the data sources in extra.
func testAccBooksConfig(t *testing.T, db string, loc testLocation, tokenExtra, extra string) string {
	t.Helper()
	return testAccTokenConfig(t, db, loc.Token, loc.AccountType, tokenExtra) + extra
}

// bookCheck is what vpp_books and vpp_book report for one of the standard test books, with the
// license counts of a fresh location (nothing assigned or retired).
func bookCheck(adamID string, total int64) map[string]knownvalue.Check {
	meta := map[string]struct {
		title, author, genre, language string
	}{
		testBookA: {"The Art of Licensing", "A. Author", "Business", "en"},
		testBookB: {"Terraform for Librarians", "B. Writer", "Computers", "en"},
		testBookC: {"A Thousand Readers", "C. Poet", "Poetry", "de"},
	}[adamID]
	return map[string]knownvalue.Check{
		"id":                 knownvalue.StringRegexp(regexp.MustCompile(`^[0-9a-f-]{36}:` + adamID + `:STDQ$`)),
		"adam_id":            knownvalue.StringExact(adamID),
		"pricing_param":      knownvalue.StringExact("STDQ"),
		"title":              knownvalue.StringExact(meta.title),
		"author":             knownvalue.StringExact(meta.author),
		"genres":             knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact(meta.genre)}),
		"language":           knownvalue.StringExact(meta.language),
		"cover_url":          knownvalue.StringRegexp(regexp.MustCompile(`^http://127\.0\.0\.1:\d+/applesim/artwork/` + adamID + `\.png$`)),
		"token_id":           knownvalue.StringRegexp(uuidPattern),
		"total_licenses":     knownvalue.Int64Exact(total),
		"assigned_licenses":  knownvalue.Int64Exact(0),
		"available_licenses": knownvalue.Int64Exact(total),
		"retired_licenses":   knownvalue.Int64Exact(0),
	}
}

func TestAccBooksDataSource_basic(t *testing.T) {
	sim, _ := simulator(t)
	db := testDatabase(t)
	loc := newTestLocation(t, "business")
	dataSources := `
data "vpp_books" "mine" {
  token_id = vpp_token.test.id
}

data "vpp_books" "licensing" {
  title      = "LICENSING"
  depends_on = [vpp_token.test]
}

data "vpp_books" "plenty" {
  min_available = 100
  depends_on    = [vpp_token.test]
}

data "vpp_books" "none" {
  title      = "no such book"
  depends_on = [vpp_token.test]
}
`
	books := tfjsonpath.New("books")
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkTokensDestroyed(t, db),
		Steps: []resource.TestStep{
			{
				Config: testAccBooksConfig(t, db, loc, "", dataSources),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.vpp_books.mine", books, knownvalue.ListExact([]knownvalue.Check{
						knownvalue.ObjectExact(bookCheck(testBookA, 10)),
						knownvalue.ObjectExact(bookCheck(testBookB, 2)),
						knownvalue.ObjectExact(bookCheck(testBookC, 1000)),
					})),
					statecheck.CompareValuePairs("data.vpp_books.mine", books.AtSliceIndex(0).AtMapKey("token_id"),
						testTokenAddr, tfjsonpath.New("id"), compare.ValuesSame()),
					statecheck.ExpectKnownValue("data.vpp_books.mine", tfjsonpath.New("id"), knownvalue.StringRegexp(regexp.MustCompile(`^books-[0-9a-f]{16}$`))),
					statecheck.ExpectKnownValue("data.vpp_books.licensing", books, knownvalue.ListExact([]knownvalue.Check{
						knownvalue.ObjectExact(bookCheck(testBookA, 10)),
					})),
					statecheck.ExpectKnownValue("data.vpp_books.plenty", books, knownvalue.ListExact([]knownvalue.Check{
						knownvalue.ObjectExact(bookCheck(testBookC, 1000)),
					})),
					statecheck.ExpectKnownValue("data.vpp_books.none", books, knownvalue.ListSizeExact(0)),
				},
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
			{ // licenses bought at Apple show once the token syncs
				PreConfig: func() {
					if err := sim.Purchase(loc.UID, testBookB, "STDQ", 3); err != nil {
						t.Fatal(err)
					}
				},
				Config: testAccBooksConfig(t, db, loc, `  sync_trigger = "bought-more"`, dataSources),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.vpp_books.mine", books.AtSliceIndex(1), knownvalue.ObjectExact(bookCheck(testBookB, 5))),
					statecheck.ExpectKnownValue("data.vpp_books.plenty", books, knownvalue.ListSizeExact(1)),
				},
			},
			{
				Config: testAccBooksConfig(t, db, loc, `  sync_trigger = "bought-more"`, `
data "vpp_books" "typo" {
  token_id = "00000000-0000-0000-0000-000000000000"
}
`),
				ExpectError: expectDiag("Unknown VPP Token", `No vpp_token with id "00000000-0000-0000-0000-000000000000"`),
			},
		},
	})
}

// With no token, the list is empty (and reading it configures the provider).
func TestAccBooksDataSource_empty(t *testing.T) {
	db := testDatabase(t)
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: providerBlock(t, db) + `data "vpp_books" "all" {}`,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("data.vpp_books.all", tfjsonpath.New("books"), knownvalue.ListSizeExact(0)),
			},
		}},
	})
}

// The same filters give the same id; different filters a different one.
func TestAccBooksDataSource_idFollowsFilters(t *testing.T) {
	db := testDatabase(t)
	config := providerBlock(t, db) + `
data "vpp_books" "a" { title = "x" }
data "vpp_books" "b" { title = "x" }
data "vpp_books" "c" { title = "y" }
`
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: config,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.CompareValuePairs("data.vpp_books.a", tfjsonpath.New("id"), "data.vpp_books.b", tfjsonpath.New("id"), compare.ValuesSame()),
				statecheck.CompareValuePairs("data.vpp_books.a", tfjsonpath.New("id"), "data.vpp_books.c", tfjsonpath.New("id"), compare.ValuesDiffer()),
			},
		}},
	})
}

// fmtBookDataSource is a vpp_book data source named name with the given arguments.
func fmtBookDataSource(name, args string) string {
	return fmt.Sprintf("\ndata \"vpp_book\" %q {\n%s\n}\n", name, args)
}
