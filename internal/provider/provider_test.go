package provider

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"

	"github.com/vppkit/terraform-provider-vpp/internal/apple"
	"github.com/vppkit/terraform-provider-vpp/internal/applesim"
	"github.com/vppkit/terraform-provider-vpp/internal/engine"
)

// The acceptance tests drive the real terraform (or tofu) CLI against the provider served
// in-process, with the simulator standing in for Apple on a loopback address.

// fastEngine shortens Apple's polling guidance (30 s) so that tests run in seconds.
func fastEngine(c *engine.Config) {
	c.PollInterval = 5 * time.Millisecond
	c.FirstPoll = time.Millisecond
	// Apple's 10 minutes, scaled to the simulator's processing: how long an event may stay
	// pending, and how long the work of a request whose answer was lost is awaited before it is
	// sent again.
	c.EventTimeout = 5 * time.Second
	if c.HTTPClient != nil {
		return // sandbox mode: its Apple has Apple's rate limit, which the client's own pace follows
	}
	c.TuneClient = func(a *apple.Config) {
		a.RequestsPerSecond = 10000
		a.RetryMax = 3
		a.RetryWaitMin, a.RetryWaitMax = time.Millisecond, 20*time.Millisecond
	}
}

// testAccProtoV6ProviderFactories serves the provider in-process to the CLI that
// terraform-plugin-testing drives.
var testAccProtoV6ProviderFactories = map[string]func() (tfprotov6.ProviderServer, error){
	"vpp": providerserver.NewProtocol6WithError(&vppProvider{version: "test", tune: fastEngine}),
}

var (
	simOnce sync.Once
	testSim *applesim.Server
	simURL  string
)

// simulator starts, once per test binary, the simulated Apple service on loopback.
func simulator(t *testing.T) (*applesim.Server, string) {
	t.Helper()
	simOnce.Do(func() {
		testSim = applesim.New(testSimOptions(applesim.Options{DisableRateLimit: true}))
		srv := httptest.NewServer(testSim)
		simURL = srv.URL + "/mdm/v2"
	})
	return testSim, simURL
}

// testSimOptions is how every simulated Apple of the provider's tests behaves: strict (a double
// spend is recorded as a violation, and checkNoViolations fails the test binary on any), and slow
// the way Apple is: an event finishes a part at a time after it was accepted, so numCompleted grows
// over several status polls and the records show the work only once it is done.
func testSimOptions(o applesim.Options) applesim.Options {
	o.Strict = true
	if o.ProcessingDelay == 0 {
		o.ProcessingDelay = 5 * time.Millisecond
	}
	if o.ProgressSteps == 0 {
		o.ProgressSteps = 2
	}
	return o
}

// checkNoViolations fails the test when the simulator recorded a double spend: an associate of a
// pair Apple already held, a second user for a person, a users/create of an existing user, or a
// request re-sent after Apple had done its work.
func checkNoViolations(t testing.TB, sim *applesim.Server) {
	t.Helper()
	for _, v := range sim.Violations() {
		t.Errorf("violation at the simulated Apple (location %s): %s: %s", v.LocationUID, v.Kind, v.Detail)
	}
}

// testAccPreCheck fails fast when the simulated Apple service does not answer.
func testAccPreCheck(t *testing.T) {
	t.Helper()
	_, base := simulator(t)
	resp, err := http.Get(base + "/service/config")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("the simulated Apple service at %s does not answer (%v); the acceptance tests need it", base, err)
	}
	_ = resp.Body.Close()
}

// Books every test location holds: A 10 licenses, B 2, C 1000.
const (
	testBookA = "1000000001"
	testBookB = "1000000002"
	testBookC = "1000000003"
)

// testLocation is a simulated Apple location with a token file for it.
type testLocation struct {
	applesim.Location
	Token string
}

var locSeq struct {
	sync.Mutex
	n      int
	testOf map[string]string // location uId -> the test that made it
}

// sharedSimViolations reports every violation the shared simulator recorded, with the test whose
// location it was at; it returns 1 when there is any.
func sharedSimViolations() int {
	if testSim == nil {
		return 0
	}
	vs := testSim.Violations()
	locSeq.Lock()
	defer locSeq.Unlock()
	for _, v := range vs {
		fmt.Fprintf(os.Stderr, "FAIL: %s: violation at the simulated Apple: %s: %s\n", locSeq.testOf[v.LocationUID], v.Kind, v.Detail)
	}
	if len(vs) > 0 {
		return 1
	}
	return 0
}

// newTestLocation creates a location (managed Apple Accounts under corp.example.com) holding the
// standard books, and mints a token valid for 300 days.
func newTestLocation(t *testing.T, accountType string) testLocation {
	t.Helper()
	sim, _ := simulator(t)
	locSeq.Lock()
	locSeq.n++
	name := fmt.Sprintf("%s Library %d", t.Name(), locSeq.n)
	locSeq.Unlock()
	loc, err := sim.CreateLocation(applesim.LocationSpec{Name: name, AccountType: accountType, ManagedAppleDomains: []string{"corp.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	locSeq.Lock()
	if locSeq.testOf == nil {
		locSeq.testOf = map[string]string{}
	}
	locSeq.testOf[loc.UID] = t.Name()
	locSeq.Unlock()
	for _, b := range []applesim.BookSpec{
		{AdamID: testBookA, Title: "The Art of Licensing", Author: "A. Author", Genres: []string{"Business"}, Language: "en", Licenses: 10},
		{AdamID: testBookB, Title: "Terraform for Librarians", Author: "B. Writer", Genres: []string{"Computers"}, Language: "en", Licenses: 2},
		{AdamID: testBookC, Title: "A Thousand Readers", Author: "C. Poet", Genres: []string{"Poetry"}, Language: "de", Licenses: 1000},
	} {
		if err := sim.AddBook(loc.UID, b); err != nil {
			t.Fatal(err)
		}
	}
	return testLocation{Location: loc, Token: mintToken(t, loc.UID, 300*24*time.Hour)}
}

func mintToken(t *testing.T, uid string, validFor time.Duration) string {
	t.Helper()
	sim, _ := simulator(t)
	tok, err := sim.MintToken(uid, time.Now().Add(validFor))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// testDatabase is a fresh engine database for one test.
func testDatabase(t *testing.T) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "engine.db")
}

// providerBlock configures the provider against the simulator and the given database.
func providerBlock(t *testing.T, database string) string {
	t.Helper()
	_, base := simulator(t)
	return fmt.Sprintf(`
provider "vpp" {
  database      = %q
  apple_api_url = %q
%s}
`, database, base, unencryptedOptIn(database))
}

// testEngine returns the engine the provider opened for database (the same instance), so that
// checks can ask it what it holds.
func testEngine(t *testing.T, database string) *engine.Engine {
	t.Helper()
	_, base := simulator(t)
	cfg := engine.Config{Database: database, AppleBaseURL: base, Version: "test"}
	fastEngine(&cfg)
	e, err := openEngine(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// The provider starts under the real CLI, accepts an empty configuration and plans nothing.
func TestAccProvider_servesEmptyConfiguration(t *testing.T) {
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: providerBlock(t, testDatabase(t)),
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
			},
		}},
	})
}

func TestAccProvider_refusesBadSettings(t *testing.T) {
	// A regular file where the database's directory should be: no user, root included, can
	// create it.
	notADir := filepath.Join(t.TempDir(), "a-file")
	writeFile(t, notADir, "")
	// A database file that exists but cannot be opened for writing: read-only for a normal user;
	// root ignores file modes, so it gets the running test binary (Linux refuses to open an
	// executing file for writing).
	unwritable := filepath.Join(t.TempDir(), "engine.db")
	writeFile(t, unwritable, "")
	if os.Geteuid() == 0 {
		exe, err := os.Executable()
		if err == nil {
			exe, err = filepath.EvalSymlinks(exe)
		}
		if err != nil {
			t.Fatal(err)
		}
		unwritable = exe
	} else if err := os.Chmod(unwritable, 0o400); err != nil {
		t.Fatal(err)
	}
	if f, err := os.OpenFile(unwritable, os.O_RDWR, 0); err == nil {
		_ = f.Close()
		t.Fatalf("%s can be opened for writing; the unwritable-file case would prove nothing", unwritable)
	}

	cases := map[string]struct {
		config string
		want   *regexp.Regexp
	}{
		"plain HTTP off loopback": {`provider "vpp" { apple_api_url = "http://vpp.example.com/mdm/v2" }`,
			expectDiag("Invalid Apple API URL", `apple_api_url "http://vpp\.example\.com/mdm/v2" uses plain HTTP on a host that is not loopback; tokens would travel unencrypted\.`,
				`Use https://, or a loopback address \(127\.0\.0\.1, ::1, localhost\) for a local simulator`)},
		"not a URL": {`provider "vpp" { apple_api_url = "vpp.example.com" }`,
			expectDiag("Invalid Apple API URL", `apple_api_url "vpp\.example\.com" is not an absolute http\(s\) URL; the default is https://`)},
		"short key": {`provider "vpp" { encryption_key = "c2hvcnQ=" }`,
			expectDiag("Invalid Encryption Key", `encryption_key decodes to 5 bytes; AES-256 needs exactly 32\. Generate one with`, "`openssl rand -base64 32`")},
		"garbage key": {`provider "vpp" { encryption_key = "!!not a key!!" }`,
			expectDiag("Invalid Encryption Key", `encryption_key is neither base64 nor 64 hex digits; generate one with`, "`openssl rand -base64 32`")},
		"bad interval": {`provider "vpp" { sync_interval = "twice a day" }`,
			expectDiag("Invalid Sync Interval", `sync_interval "twice a day" is not a duration; use a Go duration such as "12h" or "30m"\.`)},
		"too frequent": {`provider "vpp" { sync_interval = "5s" }`,
			expectDiag("Invalid Sync Interval", `sync_interval "5s" is shorter than one minute; Apple asks clients not to poll that often\.`)},
		"database directory in /proc": {`provider "vpp" { database = "/proc/vpp/engine.db" }`,
			expectDiag("Unable to Open the VPP Engine", `The engine's database could not be opened: store: cannot create the directory /proc/vpp for the engine database: .*; check its permissions or configure another path`)},
		"database directory under a file": {fmt.Sprintf(`provider "vpp" { database = %q }`, filepath.Join(notADir, ".vpp", "engine.db")),
			expectDiag("Unable to Open the VPP Engine", `The engine's database could not be opened: store: cannot create the directory `+
				regexp.QuoteMeta(filepath.Join(notADir, ".vpp"))+` for the engine database: .*; check its permissions or configure another path`)},
		"database file not writable": {fmt.Sprintf(`provider "vpp" { database = %q }`, unwritable),
			expectDiag("Unable to Open the VPP Engine", `The engine's database could not be opened: store: the engine database `+
				regexp.QuoteMeta(unwritable)+` is not writable: .*; fix its permissions or configure another path`)},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
				Steps: []resource.TestStep{{
					// A data source read forces the provider to be configured during plan.
					Config: tc.config + "\n" + `data "vpp_books" "all" {}`,
					// Terraform wraps long messages: expectDiag matches any run of spaces as a line break.
					ExpectError: tc.want,
				}},
			})
		})
	}
}

// When Terraform stops the provider, main calls Shutdown: the engines it opened are closed and
// forgotten, so the database is released.
func TestShutdown_closesEngines(t *testing.T) {
	db := testDatabase(t)
	e := testEngine(t, db)
	if _, err := e.ListTokens(context.Background()); err != nil {
		t.Fatal(err)
	}
	Shutdown()
	if _, err := e.ListTokens(context.Background()); err == nil {
		t.Fatal("the engine still answers after Shutdown")
	}
	if again := testEngine(t, db); again == e {
		t.Fatal("Shutdown left the closed engine cached")
	}
}
