package provider

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"

	"github.com/vppkit/terraform-provider-vpp/internal/engine"
	"github.com/vppkit/terraform-provider-vpp/internal/store"
	"github.com/vppkit/terraform-provider-vpp/internal/store/storetest"
)

// The bad-input catalog: inputs a user can get wrong, each with the exact diagnostic (summary and
// the sentences that say what is wrong and what to do) it must produce. Inputs that other test
// files already cover are listed in RELIABILITY.md with their tests; this file covers the rest.

// uuidRE matches an id the engine made.
const uuidRE = `[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`

// tokenFile encodes a .vpptoken file from its JSON text.
func tokenFile(json string) string { return base64.StdEncoding.EncodeToString([]byte(json)) }

// tokenConfig is a vpp_token resource with the given token file.
func tokenConfig(t *testing.T, db, contents string) string {
	return testAccTokenConfig(t, db, contents, "business", "")
}

// badInput is one entry of the catalog.
type badInput struct {
	name string
	// config returns the configuration to apply; it may prepare the engine or the simulator.
	config func(t *testing.T) string
	// factories serve the provider (default testAccProtoV6ProviderFactories).
	factories func(t *testing.T) map[string]func() (tfprotov6.ProviderServer, error)
	want      *regexp.Regexp
	// secrets must not appear in the diagnostic.
	secrets func(t *testing.T) []string
	// once lists summaries that must appear exactly once: one diagnostic per mistake, however many
	// members make it.
	once []string
	// after checks what the run left behind (no file named after a secret, no -journal in /dev).
	after func(t *testing.T)
}

func TestAccBadInput_catalog(t *testing.T) {
	future := time.Now().Add(200 * 24 * time.Hour).UTC().Format("2006-01-02T15:04:05-0700")
	key1 := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	key2 := base64.StdEncoding.EncodeToString([]byte("fedcba9876543210fedcba9876543210"))

	cases := []badInput{
		// ---- token files
		{name: "token file empty", config: func(t *testing.T) string { return tokenConfig(t, testDatabase(t), "") },
			want: expectDiag("Invalid VPP Token File", `token file is malformed: the file is empty`,
				`Pass the file Apple Business Manager or Apple School Manager downloads, unchanged: for example file\("sToken_for_Library\.vpptoken"\)\.`)},
		{name: "token file only whitespace", config: func(t *testing.T) string { return tokenConfig(t, testDatabase(t), " \n\t ") },
			want: expectDiag("Invalid VPP Token File", `token file is malformed: the file is empty`)},
		{name: "token file with a line break inside", config: func(t *testing.T) string {
			f := tokenFile(`{"token":"abcdefgh","expDate":"` + future + `","orgName":"Org"}`)
			return tokenConfig(t, testDatabase(t), f[:10]+"\n"+f[10:])
		}, want: expectDiag("Invalid VPP Token File", `token file is malformed: the base64 text contains whitespace`)},
		{name: "token file JSON without token", config: func(t *testing.T) string {
			return tokenConfig(t, testDatabase(t), tokenFile(`{"expDate":"`+future+`","orgName":"Org"}`))
		}, want: expectDiag("Invalid VPP Token File", `token file lacks a required field \(field "token"\)`)},
		{name: "token file JSON without orgName", config: func(t *testing.T) string {
			return tokenConfig(t, testDatabase(t), tokenFile(`{"token":"abcdefgh","expDate":"`+future+`"}`))
		}, want: expectDiag("Invalid VPP Token File", `token file lacks a required field \(field "orgName"\)`)},
		{name: "token file JSON with an empty token", config: func(t *testing.T) string {
			return tokenConfig(t, testDatabase(t), tokenFile(`{"token":"","expDate":"`+future+`","orgName":"Org"}`))
		}, want: expectDiag("Invalid VPP Token File", `token file lacks a required field \(field "token"\)`)},
		{name: "token file with an unreadable date", config: func(t *testing.T) string {
			return tokenConfig(t, testDatabase(t), tokenFile(`{"token":"abcdefgh","expDate":"next spring","orgName":"Org"}`))
		}, want: expectDiag("Invalid VPP Token File", `token file has an unreadable expiry date \(field "expDate"\): "next spring" is not an ISO-8601 date-time`)},
		{name: "token file with a numeric token", config: func(t *testing.T) string {
			return tokenConfig(t, testDatabase(t), tokenFile(`{"token":12345678,"expDate":"`+future+`","orgName":"Org"}`))
		}, want: expectDiag("Invalid VPP Token File", `token file is malformed \(field "token"\): the field is not a string`),
			secrets: func(*testing.T) []string { return []string{"12345678"} }},
		{name: "token file of a JSON list", config: func(t *testing.T) string {
			return tokenConfig(t, testDatabase(t), tokenFile(`["abcdefgh"]`))
		}, want: expectDiag("Invalid VPP Token File", `the decoded content is not a JSON object`)},
		{name: "token file revoked before upload", config: func(t *testing.T) string {
			sim, _ := simulator(t)
			loc := newTestLocation(t, "business")
			if err := sim.RevokeToken(loc.Token); err != nil {
				t.Fatal(err)
			}
			return tokenConfig(t, testDatabase(t), loc.Token)
		}, want: expectDiag("VPP Token Not Usable", `The token file is revoked \(Apple: `, `9625`, `\)\. Apple revoked it: download a new token for the location and renew the vpp_token in place\.`)},
		{name: "token file unknown to Apple", config: func(t *testing.T) string {
			return tokenConfig(t, testDatabase(t), tokenFile(`{"token":"bm90LWEtcmVhbC10b2tlbg==","expDate":"`+future+`","orgName":"Org"}`))
		}, want: expectDiag("VPP Token Not Usable", `The token file is invalid \(Apple: `, `9622`, `Apple does not accept it; a token becomes invalid when the password`),
			secrets: func(*testing.T) []string { return []string{"bm90LWEtcmVhbC10b2tlbg=="} }},

		// ---- group members
		{name: "member without a domain", config: func(t *testing.T) string {
			return testAccUserGroupConfig_basic(t, testDatabase(t), "Bad", "", "alice@example.com", "bob@")
		}, want: expectDiag("Invalid Email Address", `"bob@" is not a valid Apple Account email`, `name@example.com`)},
		{name: "member without a name", config: func(t *testing.T) string {
			return testAccUserGroupConfig_basic(t, testDatabase(t), "Bad", "", "@example.com")
		}, want: expectDiag("Invalid Email Address", `"@example.com" is not a valid Apple Account email`)},
		{name: "member with two at signs", config: func(t *testing.T) string {
			return testAccUserGroupConfig_basic(t, testDatabase(t), "Bad", "", "bob@@example.com")
		}, want: expectDiag("Invalid Email Address", `"bob@@example.com" is not a valid Apple Account email`)},
		{name: "member with a space inside", config: func(t *testing.T) string {
			return testAccUserGroupConfig_basic(t, testDatabase(t), "Bad", "", "bob smith@example.com")
		}, want: expectDiag("Invalid Email Address", `"bob smith@example.com" is not a valid Apple Account email`)},
		{name: "member with a display name", config: func(t *testing.T) string {
			return testAccUserGroupConfig_basic(t, testDatabase(t), "Bad", "", "Bob <bob@example.com>")
		}, want: expectDiag("Invalid Email Address", `"Bob <bob@example.com>" is not a valid Apple Account email`)},
		{name: "member at a host without a dot", config: func(t *testing.T) string {
			return testAccUserGroupConfig_basic(t, testDatabase(t), "Bad", "", "bob@localhost")
		}, want: expectDiag("Invalid Email Address", `"bob@localhost" is not a valid Apple Account email`)},
		{name: "members differing in surrounding space", config: func(t *testing.T) string {
			return testAccUserGroupConfig_basic(t, testDatabase(t), "Twice", "", "carol@example.com", " carol@example.com")
		}, want: expectDiag("Duplicate Group Member", `Members "( carol@example\.com|carol@example\.com)" and "( carol@example\.com|carol@example\.com)" are the same Apple Account: emails are case-insensitive\. List it once\.`)},
		{name: "members differing in case only (mixed)", config: func(t *testing.T) string {
			return testAccUserGroupConfig_basic(t, testDatabase(t), "Twice", "", "Dave.Jones@Example.com", "dave.jones@example.COM")
		}, want: expectDiag("Duplicate Group Member", `Members "(Dave\.Jones@Example\.com|dave\.jones@example\.COM)" and "(Dave\.Jones@Example\.com|dave\.jones@example\.COM)" are the same Apple Account: emails are case-insensitive\. List it once\.`)},

		// ---- assignments
		{name: "book id of a deleted token", config: func(t *testing.T) string {
			db := testDatabase(t)
			loc := newTestLocation(t, "business")
			tokenID := seedToken(t, db, loc)
			if _, err := testEngine(t, db).RemoveToken(context.Background(), tokenID, engine.RemoveTokenOptions{}); err != nil {
				t.Fatal(err)
			}
			return assignmentConfig(t, db, engine.BookID(tokenID, testBookA, "STDQ"), "alice@example.com")
		}, want: expectDiag("Unknown Book", `Book `+uuidRE+`:1000000001:STDQ is not among the books of token `+uuidRE+`\. Take book_id from the vpp_books or vpp_book data source`)},
		{name: "assignment of a token that expired since", config: func(t *testing.T) string {
			db := testDatabase(t)
			loc := newTestLocation(t, "business")
			// Seeded by an engine of its own: the provider's (cached per database) must be the one
			// with the clock below.
			_, base := simulator(t)
			cfg := engine.Config{Database: db, AppleBaseURL: base, Version: "seed"}
			fastEngine(&cfg)
			e, err := engine.Open(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			tok, err := e.AddToken(context.Background(), engine.TokenInput{Contents: loc.Token, AccountType: "business"})
			_ = e.Close()
			if err != nil {
				t.Fatal(err)
			}
			tokenID := tok.ID
			return assignmentConfig(t, db, engine.BookID(tokenID, testBookA, "STDQ"), "alice@example.com")
		}, factories: func(t *testing.T) map[string]func() (tfprotov6.ProviderServer, error) {
			clock := &testClock{}
			clock.Advance(400 * 24 * time.Hour) // the token lasted 300 days
			return providerFactoriesWithClock(clock)
		}, want: expectDiag("Error Delivering eBook Assignment", `expired on `, `Tokens last one year: download a new one`, `renew the vpp_token in place`)},
		{name: "assignment of a token Apple expired since", config: func(t *testing.T) string {
			sim, _ := simulator(t)
			db := testDatabase(t)
			loc := newTestLocation(t, "business")
			tokenID := seedToken(t, db, loc)
			if err := sim.ExpireToken(loc.Token); err != nil {
				t.Fatal(err)
			}
			return assignmentConfig(t, db, engine.BookID(tokenID, testBookA, "STDQ"), "alice@example.com")
		}, want: expectDiag("Error Delivering eBook Assignment", `Token `+uuidRE+` is expired \(Apple: `, `9621`, `Tokens last one year: download a new one`)},
		{name: "over-assignment", config: func(t *testing.T) string {
			db := testDatabase(t)
			loc := newTestLocation(t, "business")
			tokenID := seedToken(t, db, loc)
			return assignmentConfig(t, db, engine.BookID(tokenID, testBookB, "STDQ"), "a@example.com", "b@example.com", "c@example.com")
		}, want: expectDiag("Not Enough Licenses", `has 2 available licenses but group "Readers" needs 3 now: 1 short`, `allow_oversubscription = true`)},
		{name: "the same book to the same group twice", config: func(t *testing.T) string {
			db := testDatabase(t)
			loc := newTestLocation(t, "business")
			tokenID := seedToken(t, db, loc)
			return assignmentConfig(t, db, engine.BookID(tokenID, testBookA, "STDQ"), "alice@example.com") + fmt.Sprintf(`
resource "vpp_ebook_assignment" "again" {
  book_id    = %q
  group_id   = vpp_user_group.test.id
  intent     = "available"
  depends_on = [vpp_ebook_assignment.test]
}
`, engine.BookID(tokenID, testBookA, "STDQ"))
		}, want: expectDiag("eBook Assignment Already Exists", `Book `+uuidRE+`:1000000001:STDQ is already assigned to group `+uuidRE+
			` by assignment `+uuidRE+` \(intent "required"\)\. One book has one assignment per group: import the existing one \(an import block with id = "`+uuidRE+`"\)`)},

		// ---- provider settings
		{name: "unreachable apple_api_url", config: func(t *testing.T) string {
			loc := newTestLocation(t, "business")
			return fmt.Sprintf(`
provider "vpp" {
  database      = %q
  apple_api_url = "http://127.0.0.1:1/mdm/v2"
}
`, testDatabase(t)) + strings.SplitN(tokenConfig(t, testDatabase(t), loc.Token), "}\n", 2)[1]
		}, want: expectDiag("Error Creating VPP Token", `GET /service/config`, `connection refused`)},
		{name: "plain HTTP on a private address", config: func(*testing.T) string {
			return `provider "vpp" { apple_api_url = "http://10.0.0.7/mdm/v2" }` + "\n" + `data "vpp_books" "all" {}`
		}, want: expectDiag("Invalid Apple API URL", `uses plain HTTP on a host that is not loopback; tokens would travel unencrypted`)},
		{name: "plain HTTP on a name that only starts with localhost", config: func(*testing.T) string {
			return `provider "vpp" { apple_api_url = "http://localhost.example.com/mdm/v2" }` + "\n" + `data "vpp_books" "all" {}`
		}, want: expectDiag("Invalid Apple API URL", `uses plain HTTP on a host that is not loopback`)},
		{name: "empty database setting", config: func(*testing.T) string {
			return `provider "vpp" { database = "" }` + "\n" + `data "vpp_books" "all" {}`
		}, want: expectDiag("Invalid Database", `database is empty; remove it to use .vpp/engine.db`)},
		{name: "database path is a directory", config: func(t *testing.T) string {
			return providerBlock(t, t.TempDir()) + `data "vpp_books" "all" {}`
		}, want: expectDiag("Unable to Open the VPP Engine", `is a directory: configure a file path`)},
		{name: "database file is not SQLite", config: func(t *testing.T) string {
			db := testDatabase(t)
			writeFile(t, db, strings.Repeat("not a database ", 500))
			return providerBlock(t, db) + `data "vpp_books" "all" {}`
		}, want: expectDiag("Unable to Open the VPP Engine", `engine.db is not a usable SQLite database: file is not a database`, `configure another path or restore the file`)},
		{name: "PostgreSQL URL with wrong credentials", config: func(t *testing.T) string {
			url := wrongPasswordURL(t)
			return providerBlock(t, url) + `data "vpp_books" "all" {}`
		}, want: expectDiag("Unable to Open the VPP Engine", `rejected the credentials of user "pw_`, `check the user name and password in the URL`),
			secrets: func(*testing.T) []string { return []string{"Wr0ng-pass-xyz"} }},
		{name: "PostgreSQL unreachable", config: func(t *testing.T) string {
			return providerBlock(t, "postgres://vpp:S3cret-pw@127.0.0.1:1/engine?sslmode=disable&connect_timeout=5") + `data "vpp_books" "all" {}`
		}, want: expectDiag("Unable to Open the VPP Engine", `cannot connect to PostgreSQL at postgres://vpp:xxxxx@127\.0\.0\.1:1/engine\?sslmode=disable&connect_timeout=5: `,
			`check that the server is running and reachable and that the URL is right`),
			secrets: func(*testing.T) []string { return []string{"S3cret-pw"} }},
		{name: "encryption_key of 16 bytes", config: func(t *testing.T) string {
			return keyedProvider(t, testDatabase(t), base64.StdEncoding.EncodeToString(make([]byte, 16)))
		}, want: expectDiag("Invalid Encryption Key", `decodes to 16 bytes; AES-256 needs exactly 32`, `openssl rand -base64 32`)},
		{name: "encryption_key of 64 bytes in hex", config: func(t *testing.T) string {
			return keyedProvider(t, testDatabase(t), hex.EncodeToString(make([]byte, 64)))
		}, want: expectDiag("Invalid Encryption Key", `decodes to 96 bytes; AES-256 needs exactly 32`)},
		{name: "database written with one key, opened with another", config: func(t *testing.T) string {
			db := keyedDatabase(t, key1)
			return keyedProvider(t, db, key2)
		}, want: expectDiag("Unable to Open the VPP Engine", `the database was written with a different encryption key`),
			secrets: func(*testing.T) []string { return []string{key1, key2} }},
		{name: "database written with a key, opened without", config: func(t *testing.T) string {
			db := keyedDatabase(t, key1)
			return providerBlock(t, db) + `data "vpp_books" "all" {}`
		}, want: expectDiag("Unable to Open the VPP Engine", `the database holds encrypted tokens; an encryption key is required`)},
		{name: "sandbox with an apple_api_url", config: func(t *testing.T) string {
			return fmt.Sprintf(`provider "vpp" {
  database      = %q
  sandbox       = true
  apple_api_url = "https://vpp.example.com/mdm/v2"
}
data "vpp_books" "all" {}
`, testDatabase(t))
		}, want: expectDiag("Conflicting Provider Settings", `sandbox = true runs a simulated Apple service inside the provider, so apple_api_url has no effect`)},
	}
	cases = append(cases, hostileInputs(t, future)...)
	// RELIABILITY.md lists 60 catalog entries: 37 here, 23 from hostileInputs.
	if len(cases) < 60 {
		t.Fatalf("the catalog lost entries: %d, RELIABILITY.md lists 60", len(cases))
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			factories := testAccProtoV6ProviderFactories
			if tc.factories != nil {
				factories = tc.factories(t)
			}
			cfg := tc.config(t)
			var secrets []string
			if tc.secrets != nil {
				secrets = tc.secrets(t)
			}
			// The diagnostic is checked in ErrorCheck, not with ExpectError: terraform-plugin-testing
			// calls ErrorCheck only for steps without ExpectError, so the secret and count checks
			// would never run beside it.
			failed := false
			resource.Test(t, resource.TestCase{
				PreCheck:                 func() { testAccPreCheck(t) },
				ProtoV6ProviderFactories: factories,
				ErrorCheck: func(err error) error {
					failed = true
					if !tc.want.MatchString(err.Error()) {
						t.Errorf("the error does not match %s:\n%.4000v", tc.want, err)
					}
					// Error text never carries a secret of the configuration.
					for _, s := range secrets {
						if strings.Contains(err.Error(), s) {
							t.Errorf("the diagnostic contains the secret %q:\n%.2000v", s, err)
						}
					}
					for _, summary := range tc.once {
						if n := strings.Count(err.Error(), "Error: "+summary); n != 1 {
							t.Errorf("%d diagnostics %q, want one:\n%.3000v", n, summary, err)
						}
					}
					return nil
				},
				Steps: []resource.TestStep{{
					Config: cfg,
				}},
			})
			if !failed {
				t.Errorf("the configuration was accepted; want an error matching %s", tc.want)
			}
			if tc.after != nil {
				tc.after(t)
			}
		})
	}
}

// assignmentConfig is a group of members with the book assigned, required.
func assignmentConfig(t *testing.T, db, bookID string, members ...string) string {
	t.Helper()
	return providerBlock(t, db) + fmt.Sprintf(`
resource "vpp_user_group" "test" {
  name    = "Readers"
  members = %s
}

resource "vpp_ebook_assignment" "test" {
  book_id  = %q
  group_id = vpp_user_group.test.id
  intent   = "required"
}
`, hclStrings(members...), bookID)
}

// keyedProvider configures the provider with an encryption key and reads the books.
func keyedProvider(t *testing.T, db, key string) string {
	_, base := simulator(t)
	return fmt.Sprintf(`
provider "vpp" {
  database       = %q
  apple_api_url  = %q
  encryption_key = %q
}
data "vpp_books" "all" {}
`, db, base, key)
}

// keyedDatabase creates a SQLite engine database sealed with key (base64).
func keyedDatabase(t *testing.T, key string) string {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(key)
	if err != nil {
		t.Fatal(err)
	}
	db := testDatabase(t)
	s, err := store.Open(context.Background(), store.Config{URL: db, EncryptionKey: raw})
	if err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	return db
}

// wrongPasswordURL returns the URL of a fresh PostgreSQL database for a role that must log in
// with a password, with a wrong password in it.
func wrongPasswordURL(t *testing.T) string {
	t.Helper()
	url := storetest.URL(t, store.Postgres)
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	role := "pw_" + strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	if _, err := db.Exec(`CREATE ROLE ` + role + ` LOGIN PASSWORD 'right-pass-1' IN ROLE ` + storetest.PasswordRole); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if db, err := sql.Open("pgx", url); err == nil {
			_, _ = db.Exec(`DROP ROLE IF EXISTS ` + role)
			_ = db.Close()
		}
	})
	return strings.Replace(url, "postgres@", role+":Wr0ng-pass-xyz@", 1)
}
