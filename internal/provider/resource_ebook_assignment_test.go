package provider

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/compare"
	acc "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/vppkit/terraform-provider-vpp/internal/applesim"
	"github.com/vppkit/terraform-provider-vpp/internal/engine"
)

// seedToken uploads the location's token straight through the engine, so that these tests do not
// depend on the vpp_token resource. It returns the token id.
func seedToken(t *testing.T, db string, loc testLocation) string {
	t.Helper()
	tok, err := testEngine(t, db).AddToken(context.Background(), engine.TokenInput{
		Contents: loc.Token, AccountType: "business", AppleID: "admin@example.com",
	})
	if err != nil {
		t.Fatal(err)
	}
	return tok.ID
}

// syncToken makes the engine read Apple's changes now (a refresh syncs only after sync_interval).
func syncToken(t *testing.T, db, tokenID string) {
	t.Helper()
	if _, err := testEngine(t, db).SyncToken(context.Background(), tokenID, false); err != nil {
		t.Fatal(err)
	}
}

// licensedEmails lists, sorted, the emails of the users holding a book at Apple.
func licensedEmails(t *testing.T, uid, adamID string) []string {
	t.Helper()
	sim, _ := simulator(t)
	email := map[string]string{}
	for _, u := range sim.Users(uid) {
		email[u.ClientUserID] = u.Email
	}
	var out []string
	for _, a := range sim.Assignments(uid) {
		if a.AdamID == adamID {
			out = append(out, email[a.ClientUserID])
		}
	}
	sort.Strings(out)
	return out
}

// acceptInvitation makes the member with this email accept their invitation at Apple.
func acceptInvitation(t *testing.T, uid, email string) {
	t.Helper()
	sim, _ := simulator(t)
	for _, u := range sim.Users(uid) {
		if u.Email == email && u.Status == "Registered" {
			if err := sim.AcceptInvitation(uid, u.ClientUserID); err != nil {
				t.Fatal(err)
			}
			return
		}
	}
	t.Fatalf("no registered user %s at location %s", email, uid)
}

// postCount counts the POST requests the simulated Apple service has received.
func postCount(s applesim.Stats) int {
	n := 0
	for k, v := range s.Requests {
		if strings.HasPrefix(k, "POST ") {
			n += v
		}
	}
	return n
}

func testAccEbookAssignmentConfig(t *testing.T, db, bookID, intent, extra string, managed bool, members ...string) string {
	t.Helper()
	return providerBlock(t, db) + fmt.Sprintf(`
resource "vpp_user_group" "test" {
  name                   = "Readers"
  members                = %[1]s
  managed_apple_accounts = %[2]t
}

resource "vpp_ebook_assignment" "test" {
  book_id  = %[3]q
  group_id = vpp_user_group.test.id
  intent   = %[4]q
  %[5]s
}
`, hclStrings(members...), managed, bookID, intent, extra)
}

// testAccCheckEbookAssignmentDestroy asks the engine that every assignment of the state is gone.
func testAccCheckEbookAssignmentDestroy(t *testing.T, db string) func(*terraform.State) error {
	return func(s *terraform.State) error {
		for _, rs := range s.RootModule().Resources {
			if rs.Type != "vpp_ebook_assignment" && rs.Type != "vpp_user_group" {
				continue
			}
			var err error
			if rs.Type == "vpp_ebook_assignment" {
				_, err = testEngine(t, db).GetAssignment(context.Background(), rs.Primary.ID)
			} else {
				_, err = testEngine(t, db).GetGroup(context.Background(), rs.Primary.ID)
			}
			if !errors.Is(err, engine.ErrNotFound) {
				return fmt.Errorf("%s %s still in the engine (err %v)", rs.Type, rs.Primary.ID, err)
			}
		}
		return nil
	}
}

func bookGroupImportID(s *terraform.State) (string, error) {
	rs, ok := s.RootModule().Resources["vpp_ebook_assignment.test"]
	if !ok {
		return "", errors.New("vpp_ebook_assignment.test not in state")
	}
	return rs.Primary.Attributes["book_id"] + "/" + rs.Primary.Attributes["group_id"], nil
}

// expectDelivery checks the delivery counts of vpp_ebook_assignment.test.
func expectDelivery(licensed, pending, unlicensed, failed int64, status string) []statecheck.StateCheck {
	const addr = "vpp_ebook_assignment.test"
	return []statecheck.StateCheck{
		statecheck.ExpectKnownValue(addr, tfjsonpath.New("licensed_count"), knownvalue.Int64Exact(licensed)),
		statecheck.ExpectKnownValue(addr, tfjsonpath.New("pending_count"), knownvalue.Int64Exact(pending)),
		statecheck.ExpectKnownValue(addr, tfjsonpath.New("unlicensed_count"), knownvalue.Int64Exact(unlicensed)),
		statecheck.ExpectKnownValue(addr, tfjsonpath.New("failed_count"), knownvalue.Int64Exact(failed)),
		statecheck.ExpectKnownValue(addr, tfjsonpath.New("delivery_status"), knownvalue.StringExact(status)),
	}
}

// required to an invited group licenses everyone now; the assignment imports by id and by
// <book_id>/<group_id>, updates in place, and destroying it keeps the licenses at Apple.
func TestAccEbookAssignment_basic(t *testing.T) {
	db := testDatabase(t)
	loc := newTestLocation(t, "business")
	tokenID := seedToken(t, db, loc)
	bookID := engine.BookID(tokenID, testBookA, "STDQ")
	const addr = "vpp_ebook_assignment.test"
	members := []string{"alice@example.com", "bob@example.com"}
	var assignmentID string
	acc.Test(t, acc.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy: func(s *terraform.State) error {
			if err := testAccCheckEbookAssignmentDestroy(t, db)(s); err != nil {
				return err
			}
			// Books cannot be reclaimed: both licenses are still held at Apple.
			if held := licensedEmails(t, loc.UID, testBookA); len(held) != 2 {
				return fmt.Errorf("after destroy Apple shows book A held by %v, want both members", held)
			}
			return nil
		},
		Steps: []acc.TestStep{
			{
				Config: testAccEbookAssignmentConfig(t, db, bookID, "required", "", false, members...),
				ConfigStateChecks: append(expectDelivery(2, 0, 0, 0, "complete"),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("id"), knownvalue.StringRegexp(regexp.MustCompile(`^[0-9a-f-]{36}$`))),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("book_id"), knownvalue.StringExact(bookID)),
					statecheck.CompareValuePairs(addr, tfjsonpath.New("group_id"), "vpp_user_group.test", tfjsonpath.New("id"), compare.ValuesSame()),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("intent"), knownvalue.StringExact("required")),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("allow_oversubscription"), knownvalue.Bool(false)),
				),
				Check: func(*terraform.State) error {
					if held := licensedEmails(t, loc.UID, testBookA); strings.Join(held, ",") != "alice@example.com,bob@example.com" {
						return fmt.Errorf("Apple shows book A held by %v", held)
					}
					return nil
				},
			},
			{
				ResourceName:      addr,
				ImportState:       true,
				ImportStateVerify: true,
			},
			{
				ResourceName:      addr,
				ImportState:       true,
				ImportStateIdFunc: bookGroupImportID,
				ImportStateVerify: true,
			},
			{
				ResourceName:    addr,
				ImportState:     true,
				ImportStateKind: acc.ImportBlockWithID,
			},
			{
				ResourceName:      addr,
				ImportState:       true,
				ImportStateKind:   acc.ImportBlockWithID,
				ImportStateIdFunc: bookGroupImportID,
			},
			{
				ResourceName:  addr,
				ImportState:   true,
				ImportStateId: "not an id",
				ExpectError:   regexp.MustCompile(`(?s)Unexpected Import Identifier.*book_id/group_id or an assignment id.*"not an id"`),
			},
			{
				ResourceName:  addr,
				ImportState:   true,
				ImportStateId: bookID + "/",
				ExpectError:   regexp.MustCompile(`Unexpected Import Identifier`),
			},
			{
				Config: testAccEbookAssignmentConfig(t, db, bookID, "available", "timeouts = { update = \"5m\" }", false, members...),
				ConfigPlanChecks: acc.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				// The licenses already given stay: nothing becomes pending.
				ConfigStateChecks: append(expectDelivery(2, 0, 0, 0, "complete"),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("intent"), knownvalue.StringExact("available"))),
			},
			{
				// Only the timeouts change: nothing to deliver, so the counts stay known in the plan.
				Config: testAccEbookAssignmentConfig(t, db, bookID, "available", "timeouts = { update = \"10m\" }", false, members...),
				ConfigPlanChecks: acc.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
						plancheck.ExpectKnownValue(addr, tfjsonpath.New("licensed_count"), knownvalue.Int64Exact(2)),
						plancheck.ExpectKnownValue(addr, tfjsonpath.New("delivery_status"), knownvalue.StringExact("complete")),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: func(s *terraform.State) error {
					assignmentID = s.RootModule().Resources[addr].Primary.ID
					return nil
				},
			},
			{
				// Gone from the engine outside Terraform: the refresh drops it and the plan creates it again.
				PreConfig: func() {
					if _, err := testEngine(t, db).DeleteAssignment(context.Background(), assignmentID); err != nil {
						t.Fatal(err)
					}
				},
				Config:             testAccEbookAssignmentConfig(t, db, bookID, "available", "", false, members...),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
		},
	})
}

// available to an invited group waits for each member to accept; once one does, a refresh shows
// an update, and the apply licenses that member.
func TestAccEbookAssignment_availableWaitsForInvitation(t *testing.T) {
	db := testDatabase(t)
	loc := newTestLocation(t, "business")
	tokenID := seedToken(t, db, loc)
	config := testAccEbookAssignmentConfig(t, db, engine.BookID(tokenID, testBookA, "STDQ"), "available", "", false,
		"alice@example.com", "bob@example.com")
	const addr = "vpp_ebook_assignment.test"
	acc.Test(t, acc.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             testAccCheckEbookAssignmentDestroy(t, db),
		Steps: []acc.TestStep{
			{
				Config:            config,
				ConfigStateChecks: expectDelivery(0, 2, 0, 0, "pending"),
				Check: func(*terraform.State) error {
					if held := licensedEmails(t, loc.UID, testBookA); len(held) != 0 {
						return fmt.Errorf("no license should be spent before an invitation is accepted; Apple shows %v", held)
					}
					return nil
				},
			},
			{
				Config: config,
				ConfigPlanChecks: acc.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("vpp_user_group.test", tfjsonpath.New("invitations"), knownvalue.MapSizeExact(2)),
				},
			},
			{
				PreConfig: func() {
					acceptInvitation(t, loc.UID, "alice@example.com")
					syncToken(t, db, tokenID)
				},
				Config: config,
				ConfigPlanChecks: acc.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
						plancheck.ExpectUnknownValue(addr, tfjsonpath.New("licensed_count")),
						plancheck.ExpectResourceAction("vpp_user_group.test", plancheck.ResourceActionNoop),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: append(expectDelivery(1, 1, 0, 0, "pending"),
					statecheck.ExpectKnownValue("vpp_user_group.test", tfjsonpath.New("invitations"), knownvalue.MapExact(map[string]knownvalue.Check{
						"bob@example.com": knownvalue.StringRegexp(regexp.MustCompile(`^https://`)),
					}))),
				Check: func(*terraform.State) error {
					if held := licensedEmails(t, loc.UID, testBookA); strings.Join(held, ",") != "alice@example.com" {
						return fmt.Errorf("Apple shows book A held by %v, want alice only", held)
					}
					return nil
				},
			},
		},
	})
}

// Managed Apple Accounts are associated at once: available books reach them with no invitation.
// A member Apple refuses is reported, not retried at every plan; a member added later gets the book.
func TestAccEbookAssignment_managedGroup(t *testing.T) {
	db := testDatabase(t)
	loc := newTestLocation(t, "business")
	tokenID := seedToken(t, db, loc)
	bookID := engine.BookID(tokenID, testBookA, "STDQ")
	acc.Test(t, acc.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             testAccCheckEbookAssignmentDestroy(t, db),
		Steps: []acc.TestStep{
			{
				Config:            testAccEbookAssignmentConfig(t, db, bookID, "available", "", true, "ann@corp.example.com", "ben@corp.example.com"),
				ConfigStateChecks: expectDelivery(2, 0, 0, 0, "complete"),
			},
			{
				Config: testAccEbookAssignmentConfig(t, db, bookID, "available", "", true, "ann@corp.example.com", "ben@corp.example.com"),
				ConfigPlanChecks: acc.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("vpp_user_group.test", tfjsonpath.New("invitations"), knownvalue.MapExact(map[string]knownvalue.Check{})),
				},
			},
			{
				// cat joins; eve is not in the organisation's managed domain, so Apple refuses her.
				Config: testAccEbookAssignmentConfig(t, db, bookID, "available", "", true,
					"ann@corp.example.com", "ben@corp.example.com", "cat@corp.example.com", "eve@elsewhere.example.com"),
				ConfigPlanChecks: acc.ConfigPlanChecks{
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: func(*terraform.State) error {
					held := licensedEmails(t, loc.UID, testBookA)
					if strings.Join(held, ",") != "ann@corp.example.com,ben@corp.example.com,cat@corp.example.com" {
						return fmt.Errorf("Apple shows book A held by %v", held)
					}
					return nil
				},
			},
			{
				// The refresh shows the new member licensed and the refused one failed.
				Config: testAccEbookAssignmentConfig(t, db, bookID, "available", "", true,
					"ann@corp.example.com", "ben@corp.example.com", "cat@corp.example.com", "eve@elsewhere.example.com"),
				ConfigPlanChecks: acc.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: expectDelivery(3, 0, 0, 1, "partial"),
			},
		},
	})
}

// A shortage fails the plan before anything reaches Apple; oversubscription licenses members in
// email order; licenses bought later make the plan deliver the remainder.
func TestAccEbookAssignment_shortageAndOversubscription(t *testing.T) {
	db := testDatabase(t)
	loc := newTestLocation(t, "business")
	tokenID := seedToken(t, db, loc)
	sim, _ := simulator(t)
	bookID := engine.BookID(tokenID, testBookB, "STDQ") // 2 licenses
	group := providerBlock(t, db) + `
resource "vpp_user_group" "test" {
  name    = "Three Readers"
  members = ["carol@example.com", "alice@example.com", "bob@example.com"]
}
`
	assignment := func(extra string) string {
		return group + fmt.Sprintf(`
resource "vpp_ebook_assignment" "test" {
  book_id  = %q
  group_id = vpp_user_group.test.id
  intent   = "required"
  %s
}
`, bookID, extra)
	}
	const addr = "vpp_ebook_assignment.test"
	var posts int
	acc.Test(t, acc.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             testAccCheckEbookAssignmentDestroy(t, db),
		Steps: []acc.TestStep{
			{
				Config: group,
			},
			{
				PreConfig:   func() { posts = postCount(sim.Stats()) },
				Config:      assignment(""),
				ExpectError: regexp.MustCompile(`(?s)Not Enough Licenses.*Terraform for Librarians.*has 2 available.*needs 3.*1\s+short.*allow_oversubscription`),
			},
			{
				PreConfig: func() {
					if got := postCount(sim.Stats()); got != posts {
						t.Errorf("the failed plan sent %d POST requests to Apple, want none", got-posts)
					}
					if users := sim.Users(loc.UID); len(users) != 0 {
						t.Errorf("the failed plan created %d users at Apple", len(users))
					}
				},
				Config:            assignment("allow_oversubscription = true"),
				ConfigStateChecks: expectDelivery(2, 0, 1, 0, "partial"),
				Check: func(*terraform.State) error {
					// Licensed in email order until the licenses ran out.
					if held := licensedEmails(t, loc.UID, testBookB); strings.Join(held, ",") != "alice@example.com,bob@example.com" {
						return fmt.Errorf("Apple shows book B held by %v, want alice and bob", held)
					}
					return nil
				},
			},
			{
				Config: assignment("allow_oversubscription = true"),
				ConfigPlanChecks: acc.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
			{
				PreConfig: func() {
					if err := sim.Purchase(loc.UID, testBookB, "STDQ", 1); err != nil {
						t.Fatal(err)
					}
					syncToken(t, db, tokenID)
				},
				Config: assignment("allow_oversubscription = true"),
				ConfigPlanChecks: acc.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
						plancheck.ExpectUnknownValue(addr, tfjsonpath.New("delivery_status")),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: expectDelivery(3, 0, 0, 0, "complete"),
			},
		},
	})
}

// A group created in the same apply is unknown at plan time: the engine refuses the shortage at
// apply, before any request.
func TestAccEbookAssignment_shortageAtApply(t *testing.T) {
	db := testDatabase(t)
	loc := newTestLocation(t, "business")
	tokenID := seedToken(t, db, loc)
	sim, _ := simulator(t)
	var posts int
	acc.Test(t, acc.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy: func(s *terraform.State) error {
			if got := postCount(sim.Stats()); got != posts {
				return fmt.Errorf("the refused apply sent %d POST requests to Apple, want none", got-posts)
			}
			return testAccCheckEbookAssignmentDestroy(t, db)(s)
		},
		Steps: []acc.TestStep{
			{
				PreConfig: func() { posts = postCount(sim.Stats()) },
				Config: testAccEbookAssignmentConfig(t, db, engine.BookID(tokenID, testBookB, "STDQ"), "required", "", false,
					"alice@example.com", "bob@example.com", "carol@example.com"),
				ExpectError: regexp.MustCompile(`(?s)Not Enough Licenses.*1\s+short.*allow_oversubscription`),
			},
		},
	})
}

// Every bad input is refused at plan time with a diagnostic naming the attribute and the fix.
func TestAccEbookAssignment_invalidInput(t *testing.T) {
	ctx := context.Background()
	db := testDatabase(t)
	loc := newTestLocation(t, "business")
	tokenID := seedToken(t, db, loc)
	g, err := testEngine(t, db).CreateGroup(ctx, engine.GroupInput{Name: "Readers", Members: []string{"alice@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	config := func(bookID, groupID, intent string) string {
		return providerBlock(t, db) + fmt.Sprintf(`
resource "vpp_ebook_assignment" "test" {
  book_id  = %q
  group_id = %q
  intent   = %q
}
`, bookID, groupID, intent)
	}
	bookA := engine.BookID(tokenID, testBookA, "STDQ")
	acc.Test(t, acc.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []acc.TestStep{
			{
				Config:      config(engine.BookID(tokenID, "9999999999", "STDQ"), g.ID, "required"),
				ExpectError: regexp.MustCompile(`(?s)Unknown Book.*vpp_books`),
			},
			{
				Config:      config(bookA, "00000000-0000-0000-0000-000000000000", "required"),
				ExpectError: regexp.MustCompile(`(?s)Unknown User Group.*vpp_user_group`),
			},
			{
				Config: config("1000000001", g.ID, "required"),
				ExpectError: expectDiag("Invalid Book ID", `Book id "1000000001" is not of the form <token_id>:<adam_id>:<pricing_param>\. Take book_id from the vpp_books or`,
					`vpp_book data source \(data\.vpp_book\.<name>\.id\)\.`),
			},
			{
				Config:      config(bookA, g.ID, "mandatory"),
				ExpectError: regexp.MustCompile(`(?s)intent.*value must be one of.*"required".*"available"`),
			},
		},
	})
}

// A create whose delivery is cut off mid-way is saved and reported; the next apply resumes it
// without spending a license twice.
func TestAccEbookAssignment_resumesInterruptedDelivery(t *testing.T) {
	db := testDatabase(t)
	loc := newTestLocation(t, "business")
	tokenID := seedToken(t, db, loc)
	sim, _ := simulator(t)
	config := testAccEbookAssignmentConfig(t, db, engine.BookID(tokenID, testBookA, "STDQ"), "required", "", false,
		"alice@example.com", "bob@example.com")
	const addr = "vpp_ebook_assignment.test"
	acc.Test(t, acc.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             testAccCheckEbookAssignmentDestroy(t, db),
		Steps: []acc.TestStep{
			{
				// Apple applies the associate request, but the connection drops before the answer;
				// then Apple cannot say how the request went (GET /status down past the retries).
				// (A lost answer alone no longer stops the apply: the engine reads Apple's records
				// until they show the work, and goes on.)
				PreConfig: func() {
					sim.InjectFault(applesim.Fault{Endpoint: "POST /assets/associate", Kind: applesim.FaultResetAfter})
					sim.InjectFault(applesim.Fault{Endpoint: "GET /status", Kind: applesim.FaultUnavailable, Count: 40, RetryAfter: "0"})
				},
				Config:      config,
				ExpectError: regexp.MustCompile(`(?s)Error Delivering eBook Assignment.*is saved.*next\s+apply`),
			},
			{
				PreConfig: sim.ClearFaults,
				Config:    config,
				ConfigPlanChecks: acc.ConfigPlanChecks{
					// Terraform taints an object whose create reported an error; replacing it resumes.
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(addr, plancheck.ResourceActionDestroyBeforeCreate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: expectDelivery(2, 0, 0, 0, "complete"),
				Check: func(*terraform.State) error {
					if n := len(sim.Assignments(loc.UID)); n != 2 {
						return fmt.Errorf("Apple holds %d licenses for the group, want exactly 2", n)
					}
					return nil
				},
			},
		},
	})
}

// An unchanged available assignment that runs short because members accepted their invitations
// does not block plans (a warning says so); allowing oversubscription then delivers what fits.
func TestAccEbookAssignment_shortageAfterInvitationsAccepted(t *testing.T) {
	db := testDatabase(t)
	loc := newTestLocation(t, "business")
	tokenID := seedToken(t, db, loc)
	members := []string{"alice@example.com", "bob@example.com", "carol@example.com"}
	bookID := engine.BookID(tokenID, testBookB, "STDQ") // 2 licenses
	acc.Test(t, acc.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             testAccCheckEbookAssignmentDestroy(t, db),
		Steps: []acc.TestStep{
			{
				Config:            testAccEbookAssignmentConfig(t, db, bookID, "available", "", false, members...),
				ConfigStateChecks: expectDelivery(0, 3, 0, 0, "pending"),
			},
			{
				PreConfig: func() {
					for _, m := range members {
						acceptInvitation(t, loc.UID, m)
					}
					syncToken(t, db, tokenID)
				},
				Config: testAccEbookAssignmentConfig(t, db, bookID, "available", "", false, members...),
				ConfigPlanChecks: acc.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
			{
				Config: testAccEbookAssignmentConfig(t, db, bookID, "available", "allow_oversubscription = true", false, members...),
				ConfigPlanChecks: acc.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction("vpp_ebook_assignment.test", plancheck.ResourceActionUpdate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: expectDelivery(2, 0, 1, 0, "partial"),
			},
		},
	})
}
