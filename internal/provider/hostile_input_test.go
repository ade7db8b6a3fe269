package provider

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	fwprovider "github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	rschema "github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	acc "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"

	"github.com/vppkit/terraform-provider-vpp/internal/store"
)

// Bad input tried as a careless or hostile user would: credentials where they do not belong,
// connection strings and devices as database paths, files and lists far larger than any real one,
// invisible characters, and numbers of the wrong kind. Each is a row of TestAccBadInput_catalog.

// unencryptedOptIn is the provider argument a test configuration needs to use a PostgreSQL
// database without an encryption key ("" for SQLite).
func unencryptedOptIn(database string) string {
	if store.KindOf(database) == store.Postgres {
		return "  allow_unencrypted_tokens = true\n"
	}
	return ""
}

// caseVariants returns n distinct spellings of one address that differ only in case.
func caseVariants(n int) []string {
	const local = "abcdefghijklmn" // 2^14 spellings
	out := make([]string, 0, n)
	for i := range n {
		b := []byte(local)
		for j := range b {
			if i&(1<<j) != 0 {
				b[j] -= 'a' - 'A'
			}
		}
		out = append(out, string(b)+"@example.com")
	}
	return out
}

// noFileNamed fails when the working directory (the provider's, in-process) holds name, and
// removes it.
func noFileNamed(name string) func(t *testing.T) {
	return func(t *testing.T) {
		if _, err := os.Lstat(name); err == nil {
			_ = os.RemoveAll(name)
			t.Errorf("the provider created %q in its working directory", name)
		}
	}
}

func hostileInputs(t *testing.T, future string) []badInput {
	t.Helper()
	const urlSecret = "Hunter2-url-secret"
	dsn := "host=127.0.0.1 user=vpp password=Hunter2-dsn-secret dbname=engine"
	sqliteFIFO := func(t *testing.T) string {
		p := filepath.Join(t.TempDir(), "engine.db")
		if err := syscall.Mkfifo(p, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	orgFile := func(org string) string {
		return tokenFile(`{"token":"abcdefgh","expDate":"` + future + `","orgName":"` + org + `"}`)
	}
	noURLSecret := func(*testing.T) []string { return []string{urlSecret, "vpp-admin"} }
	return []badInput{
		// ---- credentials in apple_api_url: refused, and shown redacted
		{name: "apple_api_url with a user and password", config: func(t *testing.T) string {
			return providerSettings(t, `apple_api_url = "https://vpp-admin:`+urlSecret+`@vpp.example.com/mdm/v2"`)
		}, want: expectDiag("Invalid Apple API URL", `apple_api_url "https://xxxxx@vpp\.example\.com/mdm/v2" holds a user name or password \(user:password@ before the host\)\.`,
			`never with credentials in the URL, and the URL shows in logs and errors: remove them`), secrets: noURLSecret},
		{name: "apple_api_url over plain HTTP with a password", config: func(t *testing.T) string {
			return providerSettings(t, `apple_api_url = "http://vpp-admin:`+urlSecret+`@10.0.0.7/mdm/v2"`)
		}, want: expectDiag("Invalid Apple API URL", `apple_api_url "http://xxxxx@10\.0\.0\.7/mdm/v2" holds a user name or password`), secrets: noURLSecret},
		{name: "apple_api_url without a scheme, with a password", config: func(t *testing.T) string {
			return providerSettings(t, `apple_api_url = "vpp-admin:`+urlSecret+`@vpp.example.com/mdm/v2"`)
		}, want: expectDiag("Invalid Apple API URL", `apple_api_url "xxxxx@vpp\.example\.com/mdm/v2" is not an absolute http\(s\) URL; the default is https://vpp\.itunes\.apple\.com/mdm/v2`),
			secrets: noURLSecret},

		// ---- database settings that are not a path
		{name: "database as a PostgreSQL keyword/value string", config: func(t *testing.T) string {
			return providerSettings(t, fmt.Sprintf("database = %q", dsn))
		}, want: expectDiag("Invalid Database", `The database setting looks like a PostgreSQL keyword/value connection string \(host=\.\.\. user=\.\.\. password=\.\.\.\), which is not supported, so it was not used as a SQLite file name either\.`,
			`Write it as a URL, postgres://user:password@host:5432/dbname\?sslmode=require`),
			secrets: func(*testing.T) []string { return []string{"Hunter2-dsn-secret"} }, after: noFileNamed(dsn)},
		{name: "database as a MySQL URL", config: func(t *testing.T) string {
			return providerSettings(t, `database = "mysql://vpp:Hunter2-mysql@db.example.com/engine"`)
		}, want: expectDiag("Invalid Database", `The database setting is a URL with the scheme "mysql"://, which is not supported: give a SQLite file path, or a postgres:// URL for PostgreSQL\.`),
			secrets: func(*testing.T) []string { return []string{"Hunter2-mysql"} }, after: noFileNamed("mysql:")},
		{name: "database is /dev/null", config: func(t *testing.T) string {
			return providerBlock(t, "/dev/null") + `data "vpp_books" "all" {}`
		}, want: expectDiag("Unable to Open the VPP Engine", `store: the engine database path /dev/null is a character device, not a regular file: configure the path of a file \(it is created if missing\), not of a device, pipe or socket`),
			after: func(t *testing.T) {
				if _, err := os.Lstat("/dev/null-journal"); err == nil {
					t.Error("the provider left /dev/null-journal behind")
				}
			}},
		{name: "database is a FIFO", config: func(t *testing.T) string {
			return providerBlock(t, sqliteFIFO(t)) + `data "vpp_books" "all" {}`
		}, want: expectDiag("Unable to Open the VPP Engine", `engine\.db is a named pipe \(FIFO\), not a regular file: configure the path of a file`)},

		// ---- tokens at rest
		{name: "PostgreSQL without an encryption key", config: func(t *testing.T) string {
			return providerSettings(t, `database = "postgres://vpp:Hunter2-pg@127.0.0.1:1/engine?sslmode=disable"`)
		}, want: expectDiag("Missing Encryption Key", `database names a PostgreSQL server, and no encryption_key is set \(nor VPP_ENCRYPTION_KEY\): the engine would store every token file there unencrypted`,
			"Set encryption_key to a 32-byte key \\(generate one with `openssl rand -base64 32`", `or set allow_unencrypted_tokens = true in the provider block to store them unencrypted on purpose\.`),
			secrets: func(*testing.T) []string { return []string{"Hunter2-pg"} }},

		// ---- token files of the wrong size or content
		{name: "token file of 1 MB", config: func(t *testing.T) string {
			return tokenConfig(t, testDatabase(t), tokenFile(`{"token":"abcdefgh","expDate":"`+future+`","orgName":"`+strings.Repeat("LEAKCHECK", 1<<17/9*6)+`"}`))
		}, want: expectDiag("Invalid VPP Token File", `token file is malformed: the file is 1048\d\d\d bytes; a \.vpptoken file is a few hundred bytes, and at most 65536 are accepted`),
			secrets: func(*testing.T) []string { return []string{"TEVBS0NIRUNL", "EAKCHECKLEAKCHECK"} }},
		{name: "token file with an orgName of 2000 bytes", config: func(t *testing.T) string {
			return tokenConfig(t, testDatabase(t), orgFile(strings.Repeat("O", 2000)))
		}, want: expectDiag("Invalid VPP Token File", `token file is malformed \(field "orgName"\): the field is 2000 bytes long; at most 1024 are accepted`)},
		{name: "token file with an expDate of 5000 bytes", config: func(t *testing.T) string {
			return tokenConfig(t, testDatabase(t), tokenFile(`{"token":"abcdefgh","expDate":"`+strings.Repeat("2", 5000)+`","orgName":"Org"}`))
		}, want: expectDiag("Invalid VPP Token File", `token file is malformed \(field "expDate"\): the field is 5000 bytes long; at most 64 are accepted`),
			secrets: func(*testing.T) []string { return []string{strings.Repeat("2", 65)} }},
		{name: "token file with an orgName of only escape codes", config: func(t *testing.T) string {
			return tokenConfig(t, testDatabase(t), orgFile(`\u001b[2J\u001b[31m`))
		}, want: expectDiag("Invalid VPP Token File", `token file lacks a required field \(field "orgName"\)`)},
		{name: "token_wo_version of 1.5", config: func(t *testing.T) string {
			return providerBlock(t, testDatabase(t)) + `
resource "vpp_token" "test" {
  token_wo         = "abc"
  token_wo_version = 1.5
  apple_id         = "admin@example.com"
  account_type     = "business"
}
`
		}, want: expectDiag("Invalid Token File Version", `token_wo_version = 1\.5 is not a whole number\. token_wo_version counts the versions of the file in token_wo: use a whole number such as 1, and increment it by one each time token_wo holds a new file\.`)},
		{name: "negative token create timeout", config: func(t *testing.T) string {
			loc := newTestLocation(t, "business")
			return testAccTokenConfig(t, testDatabase(t), loc.Token, "business", `  timeouts = { create = "-5m" }`)
		}, want: expectDiag("Invalid Timeout", `timeouts\.create = "-5m" is negative: the operation would be cancelled before it could do anything \("context deadline exceeded"\)\.`,
			`Use a positive duration such as "30m" or "1h", or remove it to use the default \("20m"\)\.`)},
		{name: "zero assignment update timeout", config: func(t *testing.T) string {
			return assignmentConfig(t, testDatabase(t), "00000000-0000-0000-0000-000000000000:1000000001:STDQ", "alice@example.com") + `
resource "vpp_ebook_assignment" "timed" {
  book_id  = "00000000-0000-0000-0000-000000000000:1000000001:STDQ"
  group_id = vpp_user_group.test.id
  intent   = "available"
  timeouts = { update = "0s" }
}
`
		}, want: expectDiag("Invalid Timeout", `timeouts\.update = "0s" is zero: the operation would be cancelled`, `or remove it to use the default \("30m"\)\.`)},

		// ---- emails Apple would not accept
		{name: "member with a zero-width space", config: func(t *testing.T) string {
			return testAccUserGroupConfig_basic(t, testDatabase(t), "Bad", "", "alice@example.com", "bob\u200b@example.com")
		}, want: expectDiag("Invalid Email Address", `"bob\\u200b@example\.com" is not a valid Apple Account email\. Use the address the person signs in to Apple with, such as name@example\.com\. This one contains the invisible or control character U\+200B\.`)},
		{name: "member with a bidirectional override", config: func(t *testing.T) string {
			return testAccUserGroupConfig_basic(t, testDatabase(t), "Bad", "", "moc.elpmaxe@\u202ebob")
		}, want: expectDiag("Invalid Email Address", `This one contains the invisible or control character U\+202E\.`)},
		{name: "member at an IP address", config: func(t *testing.T) string {
			return testAccUserGroupConfig_basic(t, testDatabase(t), "Bad", "", "bob@[10.0.0.1]")
		}, want: expectDiag("Invalid Email Address", `"bob@\[10\.0\.0\.1\]" is not a valid Apple Account email\.`, `This one has an IP address in brackets as its domain; Apple Accounts use a domain name such as example\.com\.`)},
		{name: "member with a local part of 65 characters", config: func(t *testing.T) string {
			return testAccUserGroupConfig_basic(t, testDatabase(t), "Bad", "", strings.Repeat("a", 65)+"@example.com")
		}, want: expectDiag("Invalid Email Address", `This one has 65 bytes before the @; at most 64 are allowed\.`)},
		{name: "member of 300 characters", config: func(t *testing.T) string {
			return testAccUserGroupConfig_basic(t, testDatabase(t), "Bad", "", "bob@"+strings.Repeat("sub.", 70)+"example.com")
		}, want: expectDiag("Invalid Email Address", `"bob@sub\.sub\.sub\.[a-z.]+"… \(295 bytes in all\) is not a valid Apple Account email\.`, `This one is 295 bytes long; an address has at most 254\.`)},
		{name: "apple_id with a zero-width space", config: func(t *testing.T) string {
			loc := newTestLocation(t, "business")
			return providerBlock(t, testDatabase(t)) + fmt.Sprintf(`
resource "vpp_token" "test" {
  token        = %q
  apple_id     = "admin\u200b@example.com"
  account_type = "business"
}
`, loc.Token)
		}, want: expectDiag("Invalid Attribute Value Match", `Attribute apple_id must be an email address, such as admin@example\.com: the Apple Account that administers the location\. "admin\\u200b@example\.com" is not one: it contains the invisible or control character U\+200B\.`)},

		// ---- one diagnostic per mistake, however many members make it
		{name: "5,000 members differing in case only", config: func(t *testing.T) string {
			return testAccUserGroupConfig_basic(t, testDatabase(t), "Echo", "", caseVariants(5000)...)
		}, want: expectDiag("Duplicate Group Member", `4999 members repeat an Apple Account listed before them: "[a-nA-N]{14}@example\.com" repeats "[a-nA-N]{14}@example\.com"; `,
			`; and 4994 more\. Emails are case-insensitive and surrounding spaces do not count: list each person once\.`),
			once: []string{"Duplicate Group Member"}},
		{name: "5,000 members at a host without a dot", config: func(t *testing.T) string {
			members := make([]string, 5000)
			for i := range members {
				members[i] = fmt.Sprintf("reader%04d@intranet", i)
			}
			return testAccUserGroupConfig_basic(t, testDatabase(t), "Local", "", members...)
		}, want: expectDiag("Invalid Email Address", `5000 members are not valid Apple Account emails: "reader0000@intranet" \(it has no dot in its domain "intranet"; use the full domain, such as example\.com\); "reader0001@intranet" `,
			`; and 4995 more\. Use the address each person signs in to Apple with, such as name@example\.com\.`),
			once: []string{"Invalid Email Address"}},
	}
}

// providerSettings is a provider block with the given settings, and a data source that makes the
// CLI configure the provider at plan time.
func providerSettings(t *testing.T, settings string) string {
	t.Helper()
	return "provider \"vpp\" {\n  " + settings + "\n}\ndata \"vpp_books\" \"all\" {}\n"
}

// A token file with a byte-order mark, NUL padding and a final newline reads as the file it wraps,
// and an orgName full of terminal escape codes reaches Terraform cleaned (parse_token reads the
// file as vpp_token does).
func TestAccBadInput_tokenFileArtifactsTolerated(t *testing.T) {
	future := "2031-05-06T07:08:09+0000"
	file := tokenFile(`{"token":"abcdefgh","expDate":"` + future + `","orgName":"\u001b[2J\u001b[31mAcme\u0007 Library\u001b[0m\nWest"}`)
	acc.Test(t, acc.TestCase{
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_8_0)},
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []acc.TestStep{{
			Config: fmt.Sprintf(`
output "parsed" {
  value = provider::vpp::parse_token("\ufeff%s\u0000\u0000\n")
}
`, file),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownOutputValue("parsed", knownvalue.ObjectExact(map[string]knownvalue.Check{
					"organization_name": knownvalue.StringExact("Acme Library West"),
					"expires_at":        knownvalue.StringExact("2031-05-06T07:08:09Z"),
				})),
			},
		}},
	})
}

// configureProvider calls the provider's Configure with the given settings (the others null),
// as Terraform does at plan time, and returns its diagnostics.
func configureProvider(t *testing.T, settings map[string]tftypes.Value) diag.Diagnostics {
	t.Helper()
	ctx := context.Background()
	p := &vppProvider{version: "test", tune: fastEngine}
	var sr fwprovider.SchemaResponse
	p.Schema(ctx, fwprovider.SchemaRequest{}, &sr)
	typ, ok := sr.Schema.Type().TerraformType(ctx).(tftypes.Object)
	if !ok {
		t.Fatal("the provider schema is not an object")
	}
	vals := map[string]tftypes.Value{}
	for name, at := range typ.AttributeTypes {
		vals[name] = tftypes.NewValue(at, nil)
		if v, ok := settings[name]; ok {
			vals[name] = v
		}
	}
	var resp fwprovider.ConfigureResponse
	p.Configure(ctx, fwprovider.ConfigureRequest{Config: tfsdk.Config{Schema: sr.Schema, Raw: tftypes.NewValue(typ, vals)}}, &resp)
	return resp.Diagnostics
}

// A SQLite database that holds tokens unencrypted draws a plan-time warning when other users can
// read it; with mode 0600, or with no token in it, it does not.
func TestConfigure_warnsOfReadableUnencryptedTokens(t *testing.T) {
	t.Setenv("VPP_ENCRYPTION_KEY", "")
	_, base := simulator(t)
	db := testDatabase(t)
	settings := map[string]tftypes.Value{
		"database":      tftypes.NewValue(tftypes.String, db),
		"apple_api_url": tftypes.NewValue(tftypes.String, base),
	}
	warnings := func() []diag.Diagnostic {
		diags := configureProvider(t, settings)
		if diags.HasError() {
			t.Fatalf("Configure: %v", diags)
		}
		return diags.Warnings()
	}
	if w := warnings(); len(w) != 0 {
		t.Fatalf("an empty database draws %v", w)
	}
	if err := os.Chmod(db, 0o644); err != nil {
		t.Fatal(err)
	}
	if w := warnings(); len(w) != 0 {
		t.Fatalf("a database without tokens draws %v", w)
	}
	seedToken(t, db, newTestLocation(t, "business"))
	w := warnings()
	want := fmt.Sprintf("The engine database %s holds 1 token file(s) unencrypted (no encryption_key is set), and its mode "+
		"is 0644, so other users of this machine can read them. Restrict it with `chmod 600 %s`, and set encryption_key "+
		"(generate one with `openssl rand -base64 32`) to encrypt the tokens at rest.", db, db)
	if len(w) != 1 || w[0].Summary() != "Unencrypted Tokens Readable by Others" || w[0].Detail() != want {
		t.Fatalf("got %v\nwant one warning: %s", w, want)
	}
	if err := os.Chmod(db, 0o640); err != nil {
		t.Fatal(err)
	}
	if w := warnings(); len(w) != 1 || !strings.Contains(w[0].Detail(), "is 0640, so the members of its group can read them") {
		t.Fatalf("mode 0640: got %v", w)
	}
	if err := os.Chmod(db, 0o600); err != nil {
		t.Fatal(err)
	}
	if w := warnings(); len(w) != 0 {
		t.Fatalf("mode 0600 draws %v", w)
	}
}

// PostgreSQL without a key is refused unless allow_unencrypted_tokens (or its environment
// variable) opts in; a key needs no opt-in. No server is contacted for the refusal.
func TestConfigure_postgresNeedsKeyOrOptIn(t *testing.T) {
	t.Setenv("VPP_ENCRYPTION_KEY", "")
	t.Setenv("VPP_ALLOW_UNENCRYPTED_TOKENS", "")
	pg := map[string]tftypes.Value{"database": tftypes.NewValue(tftypes.String, "postgres://vpp:pw@127.0.0.1:1/engine?connect_timeout=1")}
	summaries := func(diags diag.Diagnostics) []string {
		var out []string
		for _, d := range diags.Errors() {
			out = append(out, d.Summary())
		}
		return out
	}
	if got := summaries(configureProvider(t, pg)); len(got) != 1 || got[0] != "Missing Encryption Key" {
		t.Fatalf("without a key: %v", got)
	}
	optIn := map[string]tftypes.Value{"database": pg["database"], "allow_unencrypted_tokens": tftypes.NewValue(tftypes.Bool, true)}
	// Past the check, the engine cannot connect (port 1): that error proves the opt-in let it through.
	if got := summaries(configureProvider(t, optIn)); len(got) != 1 || got[0] != "Unable to Open the VPP Engine" {
		t.Fatalf("with allow_unencrypted_tokens: %v", got)
	}
	t.Setenv("VPP_ALLOW_UNENCRYPTED_TOKENS", "1")
	if got := summaries(configureProvider(t, pg)); len(got) != 1 || got[0] != "Unable to Open the VPP Engine" {
		t.Fatalf("with VPP_ALLOW_UNENCRYPTED_TOKENS=1: %v", got)
	}
	t.Setenv("VPP_ALLOW_UNENCRYPTED_TOKENS", "")
	keyed := map[string]tftypes.Value{"database": pg["database"],
		"encryption_key": tftypes.NewValue(tftypes.String, "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")}
	if got := summaries(configureProvider(t, keyed)); len(got) != 1 || got[0] != "Unable to Open the VPP Engine" {
		t.Fatalf("with a key: %v", got)
	}
}

func TestRedactedURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://user:secret@host/mdm/v2":  "https://xxxxx@host/mdm/v2",
		"https://tokenonly@host/mdm/v2":    "https://xxxxx@host/mdm/v2",
		"http://a:b@10.0.0.7":              "http://xxxxx@10.0.0.7",
		"user:secret@host/path":            "xxxxx@host/path",
		"https://us er:se%zzcret@host/p":   "https://xxxxx@host/p",
		"https://host/path?x=a@b":          "https://host/path?x=a@b",
		"https://vpp.itunes.apple.com/mdm": "https://vpp.itunes.apple.com/mdm",
	} {
		if got := redactedURL(in); got != want {
			t.Errorf("redactedURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// Every duration of both resources' timeouts is checked at plan time.
func TestTimeoutsAreChecked(t *testing.T) {
	ctx := context.Background()
	for _, r := range []resource.Resource{NewTokenResource(), NewEbookAssignmentResource()} {
		var sr resource.SchemaResponse
		r.Schema(ctx, resource.SchemaRequest{}, &sr)
		a, ok := sr.Schema.Attributes["timeouts"]
		if !ok {
			t.Fatalf("%T has no timeouts", r)
		}
		sn, ok := a.(rschema.SingleNestedAttribute)
		if !ok {
			t.Fatalf("%T timeouts is a %T", r, a)
		}
		n := 0
		for name, nested := range sn.Attributes {
			sv, ok := nested.(interface{ StringValidators() []validator.String })
			if !ok {
				t.Fatalf("%T timeouts.%s is not a string", r, name)
			}
			found := false
			for _, v := range sv.StringValidators() {
				_, found = v.(timeoutValidator)
				if found {
					break
				}
			}
			if !found {
				t.Errorf("%T timeouts.%s is not checked", r, name)
			}
			n++
		}
		if n == 0 {
			t.Errorf("%T timeouts has no durations", r)
		}
	}
}

// The built provider under the real CLI with TF_LOG=TRACE: credentials in apple_api_url, and a
// keyword/value connection string as database, reach neither the output nor the trace log, and
// no file is named after the connection string.
func TestAccBadInput_traceLogKeepsCredentialsOut(t *testing.T) {
	cli := terraformCLI(t)
	bin := buildProvider(t)
	const secret = "Hunter2-trace-secret"
	cases := []struct{ setting, want string }{
		{`apple_api_url = "https://vpp-admin:` + secret + `@vpp.example.com/mdm/v2"`, `apple_api_url "https://xxxxx@vpp.example.com/mdm/v2" holds a user name or password`},
		{`apple_api_url = "http://vpp-admin:` + secret + `@10.0.0.7/mdm/v2"`, `apple_api_url "http://xxxxx@10.0.0.7/mdm/v2" holds a user name or password`},
		{`apple_api_url = "vpp-admin:` + secret + `@vpp.example.com"`, `apple_api_url "xxxxx@vpp.example.com" is not an absolute http(s) URL`},
		{`database = "host=127.0.0.1 user=vpp password=` + secret + ` dbname=engine"`, `The database setting looks like a PostgreSQL keyword/value connection string`},
	}
	for i, tc := range cases {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			logFile := filepath.Join(t.TempDir(), "trace.log")
			w := newWorkspace(t, cli, bin, "TF_LOG=TRACE", "TF_LOG_PATH="+logFile)
			w.write("main.tf", `
terraform {
  required_providers {
    vpp = { source = "vppkit/vpp" }
  }
}
provider "vpp" {
  `+tc.setting+`
}
data "vpp_books" "all" {}
`)
			out, code := w.run(2*time.Minute, "plan", "-no-color", "-input=false")
			if code == 0 || !strings.Contains(strings.Join(strings.Fields(out), " "), tc.want) {
				t.Fatalf("plan (exit %d) does not say %q:\n%s", code, tc.want, out)
			}
			log, err := os.ReadFile(logFile)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(log), "[TRACE]") {
				t.Fatalf("the trace log holds no trace (%d bytes)", len(log))
			}
			for where, text := range map[string]string{"the output": out, "the trace log": string(log)} {
				if i := strings.Index(text, secret); i >= 0 {
					t.Errorf("%s contains the secret: …%s…", where, text[max(0, i-300):min(len(text), i+100)])
				}
			}
			entries, err := os.ReadDir(w.dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				if strings.Contains(e.Name(), secret) || strings.Contains(e.Name(), "=") {
					t.Errorf("the plan created %q in the working directory", e.Name())
				}
			}
		})
	}
}

// event_timeout bounds how long Apple may take: below a second it would re-send requests whose
// answer was lost before Apple could have finished them.
func TestConfigure_eventTimeout(t *testing.T) {
	t.Setenv("VPP_EVENT_TIMEOUT", "")
	db := tftypes.NewValue(tftypes.String, filepath.Join(t.TempDir(), "engine.db"))
	for value, want := range map[string]string{
		"10ms": `event_timeout "10ms" is shorter than one second`,
		"soon": `event_timeout "soon" is not a duration`,
		"90s":  "",
	} {
		diags := configureProvider(t, map[string]tftypes.Value{"database": db, "event_timeout": tftypes.NewValue(tftypes.String, value)})
		switch {
		case want == "" && diags.HasError():
			t.Errorf("event_timeout %q: %v", value, diags)
		case want != "" && (len(diags.Errors()) != 1 || diags.Errors()[0].Summary() != "Invalid Event Timeout" || !strings.Contains(diags.Errors()[0].Detail(), want)):
			t.Errorf("event_timeout %q: %v, want Invalid Event Timeout: %s", value, diags, want)
		}
	}
}

// VPP_SANDBOX_PACE takes "apple" (the default) or "instant"; anything else is refused, not ignored.
func TestOpenSandbox_pace(t *testing.T) {
	for value, ok := range map[string]bool{"": true, "apple": true, "instant": true, "fast": false} {
		t.Setenv("VPP_SANDBOX_PACE", value)
		sb, err := openSandbox(filepath.Join(t.TempDir(), "engine.db"))
		switch {
		case ok && err != nil:
			t.Errorf("VPP_SANDBOX_PACE=%q: %v", value, err)
		case !ok && (err == nil || !strings.Contains(err.Error(), `VPP_SANDBOX_PACE="fast" is neither "apple"`)):
			t.Errorf("VPP_SANDBOX_PACE=%q: %v, want it refused", value, err)
		}
		if sb != nil {
			sb.Close()
		}
	}
}
