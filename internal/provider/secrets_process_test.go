package provider

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vppkit/terraform-provider-vpp/internal/apple"
	"github.com/vppkit/terraform-provider-vpp/internal/applesim"
	"github.com/vppkit/terraform-provider-vpp/internal/store"
	"github.com/vppkit/terraform-provider-vpp/internal/store/storetest"
)

// secretsConfig manages a token given through token_wo, with the engine's database sealed by an
// encryption key, both passed as ephemeral variables, and delivers a book to a group.
func secretsConfig(database, appleURL, trigger string, members []string) string {
	db := ""
	if database != "" {
		db = fmt.Sprintf("  database       = %q\n", database)
	}
	list, _ := json.Marshal(members)
	return fmt.Sprintf(`
terraform {
  required_providers {
    vpp = { source = "vppkit/vpp" }
  }
}

variable "token_file" {
  type      = string
  sensitive = true
  ephemeral = true
}

variable "encryption_key" {
  type      = string
  sensitive = true
  ephemeral = true
}

provider "vpp" {
%[1]s  apple_api_url  = %[2]q
  encryption_key = var.encryption_key
}

resource "vpp_token" "main" {
  token_wo         = var.token_file
  token_wo_version = 1
  apple_id         = "admin@example.com"
  account_type     = "business"
  sync_trigger     = %[3]q
}

resource "vpp_user_group" "readers" {
  name    = "Readers"
  members = %[4]s
}

resource "vpp_ebook_assignment" "book" {
  book_id  = "${vpp_token.main.id}:%[5]s:STDQ"
  group_id = vpp_user_group.readers.id
  intent   = "required"
}
`, db, appleURL, trigger, list, crashBook)
}

// echoingApple answers, while on, every request with an Apple error whose message quotes the
// caller's token file and secret, as a careless or hostile server might.
type echoingApple struct {
	next    http.Handler
	on      atomic.Bool
	message string
}

func (e *echoingApple) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !e.on.Load() || strings.HasSuffix(r.URL.Path, "/service/config") {
		e.next.ServeHTTP(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	_ = json.NewEncoder(w).Encode(map[string]any{"errorNumber": 9602, "errorMessage": e.message})
}

// TestProcess_secretsStayOut runs what a user runs, with TF_LOG=TRACE: a full apply that uploads a
// token through token_wo, seals the database with an encryption key, and delivers a book; a plan
// saved to a file and shown; and an apply that fails because Apple answers errors quoting the
// token. Then it searches everything left behind for the token file, its inner secret and the
// key: the trace log, the CLI output and its error text, every entry of the saved plan (a ZIP
// archive, searched unpacked), the state, the audit log, and the database (the SQLite file with its WAL, or every PostgreSQL table). It also checks
// that the SQLite database is created 0600 in a 0700 directory, and that every server the test
// runs listens on loopback only.
func TestProcess_secretsStayOut(t *testing.T) {
	cli := terraformCLI(t)
	bin := buildProvider(t)
	for _, kind := range []store.Kind{store.SQLite, store.Postgres} {
		t.Run(string(kind), func(t *testing.T) {
			echo := &echoingApple{}
			sim, appleURL := isolatedSimulator(t, func(h http.Handler) http.Handler { echo.next = h; return echo })
			loc, err := sim.CreateLocation(applesim.LocationSpec{Name: "Secret Library"})
			if err != nil {
				t.Fatal(err)
			}
			if err := sim.AddBook(loc.UID, applesim.BookSpec{AdamID: crashBook, Title: "Secrets", Licenses: 100}); err != nil {
				t.Fatal(err)
			}
			file, err := sim.MintToken(loc.UID, time.Now().Add(300*24*time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			tok, err := apple.ParseToken(file)
			if err != nil {
				t.Fatal(err)
			}
			key := []byte("k3y-for-the-secrets-test-32bytes")
			keyText := base64.StdEncoding.EncodeToString(key)
			echo.message = "rejected token " + file + " with secret " + tok.Secret
			secrets := map[string][]byte{
				"the token file":                []byte(file),
				"the inner secret":              []byte(tok.Secret),
				"the inner secret, base64":      []byte(base64.StdEncoding.EncodeToString([]byte(tok.Secret))),
				"the encryption key":            key,
				"the encryption key, as given":  []byte(keyText),
				"the encryption key, hex":       []byte(hex.EncodeToString(key)),
				"the first half of the token":   []byte(file[:len(file)/2]),
				"the first half of the secret":  []byte(tok.Secret[:len(tok.Secret)/2]),
				"the second half of the secret": []byte(tok.Secret[len(tok.Secret)/2:]),
			}

			logFile := filepath.Join(t.TempDir(), "trace.log")
			w := newWorkspace(t, cli, bin, "TF_LOG=TRACE", "TF_LOG_PATH="+logFile,
				"TF_VAR_token_file="+file, "TF_VAR_encryption_key="+keyText)
			database := "" // SQLite at the default .vpp/engine.db under the working directory
			if kind == store.Postgres {
				database = storetest.URL(t, store.Postgres)
			}
			members := memberEmails("secret", 25)
			var output bytes.Buffer
			w.write("main.tf", secretsConfig(database, appleURL, "1", members))
			output.WriteString(w.mustApply(3 * time.Minute))
			out, code := w.run(time.Minute, "plan", "-no-color", "-input=false", "-out=tfplan")
			if code != 0 {
				t.Fatalf("plan: %s", out)
			}
			output.WriteString(out)
			out, _ = w.run(time.Minute, "show", "-no-color", "tfplan")
			output.WriteString(out)
			if err := holdings(sim, loc.UID).checkExact(members); err != nil {
				t.Fatal(err)
			}

			// Apple now quotes the token in its errors: a "Sync now" and new members fail.
			echo.on.Store(true)
			w.write("main.tf", secretsConfig(database, appleURL, "2", append(members, "late@example.com")))
			out, code = w.run(3*time.Minute, "apply", "-auto-approve", "-no-color", "-input=false")
			echo.on.Store(false)
			if code == 0 || !strings.Contains(out, "9602") {
				t.Fatalf("the apply against an echoing Apple did not fail with Apple's error (exit %d):\n%s", code, out)
			}
			if !strings.Contains(out, "[redacted]") {
				t.Errorf("the error text does not show that Apple's message was redacted:\n%s", out)
			}
			output.WriteString(out)

			logs, err := os.ReadFile(logFile)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(logs, []byte("Apple API request")) || !bytes.Contains(logs, []byte("POST")) {
				t.Fatal("the trace log holds no Apple API requests; the test would prove nothing")
			}
			// The provider quiets the SDK's logging only when no TF_LOG* variable is set.
			if !bytes.Contains(logs, []byte("sdk.framework")) || !bytes.Contains(logs, []byte("sdk.proto")) {
				t.Fatal("TF_LOG=TRACE shows none of the plugin framework's or protocol's trace lines")
			}
			places := map[string][]byte{"the TF_LOG=TRACE log": logs, "the CLI output and its errors": output.Bytes()}
			for _, name := range []string{"terraform.tfstate", "terraform.tfstate.backup"} {
				if b, err := os.ReadFile(filepath.Join(w.dir, name)); err == nil {
					places[name] = b
				}
			}
			if len(places["terraform.tfstate"]) == 0 {
				t.Fatal("no state to search")
			}
			// The saved plan is a ZIP archive: its entries are searched unpacked, each on its own.
			// A member's email, which the plan holds in its configuration and planned values, shows
			// that the search reads what the plan holds.
			plan := savedPlanEntries(t, filepath.Join(w.dir, "tfplan"))
			if len(entriesContaining(plan, []byte(members[0]))) == 0 {
				t.Fatalf("no entry of the saved plan (%s) holds the member %s; the search of the plan would prove nothing", entryNames(plan), members[0])
			}
			for name, b := range plan {
				places["the saved plan's entry "+name] = b
			}

			if kind == store.SQLite {
				dir := filepath.Join(w.dir, ".vpp")
				checkMode(t, dir, 0o700)
				checkMode(t, filepath.Join(dir, "engine.db"), 0o600)
				for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
					if b, err := os.ReadFile(filepath.Join(dir, "engine.db"+suffix)); err == nil {
						checkMode(t, filepath.Join(dir, "engine.db"+suffix), 0o600)
						places["the SQLite file engine.db"+suffix] = b
					}
				}
				places["the audit log"] = auditText(t, filepath.Join(dir, "engine.db"), key)
			} else {
				places["the PostgreSQL tables"] = postgresDump(t, database)
				places["the audit log"] = auditText(t, database, key)
			}
			if !bytes.Contains(places["the audit log"], []byte("associate")) {
				t.Fatalf("the audit log records no delivery; the test would prove nothing:\n%s", places["the audit log"])
			}
			for where, b := range places {
				t.Logf("searched %s (%d bytes)", where, len(b))
				for what, s := range secrets {
					if bytes.Contains(b, s) {
						t.Errorf("%s found in %s", what, where)
					}
				}
			}

			// Every server of the test listens on loopback only: the simulator, the PostgreSQL
			// server, and anything else this process opened.
			if h := hostOf(t, appleURL); h != "127.0.0.1" {
				t.Errorf("the simulator listens on %s", h)
			}
			for _, a := range listeningAddresses(t) {
				if !a.IP.IsLoopback() {
					t.Errorf("this test process listens on %s, which is not loopback", a.String())
				}
			}
			if database != "" {
				if h := hostOf(t, database); h != "127.0.0.1" {
					t.Errorf("the PostgreSQL test server is reached on %s", h)
				}
				checkListenerLoopback(t, database)
			}
		})
	}
}

func checkMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("%s has mode %o, want %o", path, got, want)
	}
}

// auditText returns the engine's audit log (every token's), one entry per line.
func auditText(t *testing.T, database string, key []byte) []byte {
	t.Helper()
	s, err := store.Open(context.Background(), store.Config{URL: database, EncryptionKey: key})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var b bytes.Buffer
	if err := s.Tx(context.Background(), func(tx store.Tx) error {
		entries, err := tx.ListAudit(context.Background(), "")
		for _, a := range entries {
			fmt.Fprintf(&b, "%+v\n", a)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// postgresDump returns every row of every table of the database, as text.
func postgresDump(t *testing.T, url string) []byte {
	t.Helper()
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	_ = rows.Close()
	if len(tables) < 5 {
		t.Fatalf("only %d tables found: %v", len(tables), tables)
	}
	var b bytes.Buffer
	for _, table := range tables {
		rows, err := db.Query(`SELECT t::text FROM "` + table + `" t`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			b.WriteString(table + ": " + s + "\n")
		}
		_ = rows.Close()
	}
	if !bytes.Contains(b.Bytes(), []byte("tokens: ")) {
		t.Fatal("the dump holds no token row; the test would prove nothing")
	}
	return b.Bytes()
}

// checkListenerLoopback verifies that the listening socket of the server a URL names is bound to
// a loopback address.
func checkListenerLoopback(t *testing.T, raw string) {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		data, err := os.ReadFile(table)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) < 4 || f[3] != "0A" {
				continue
			}
			a := parseProcAddr(t, f[1])
			if fmt.Sprint(a.Port) != u.Port() {
				continue
			}
			found = true
			if !a.IP.IsLoopback() {
				t.Errorf("the server of %s listens on %s, which is not loopback", u.Redacted(), a.String())
			}
		}
	}
	if !found {
		t.Errorf("no listening socket found for port %s", u.Port())
	}
}
