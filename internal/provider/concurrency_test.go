package provider

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/vppkit/terraform-provider-vpp/internal/applesim"
	"github.com/vppkit/terraform-provider-vpp/internal/engine"
	"github.com/vppkit/terraform-provider-vpp/internal/store"
	"github.com/vppkit/terraform-provider-vpp/internal/store/storetest"
)

// busyDiagnostic is what a run that gave up waiting for another one must say: the database (or
// the token) is busy, and to retry (or use PostgreSQL for concurrent runs).
var busyDiagnostic = regexp.MustCompile(`(?s)(another\s+terraform\s+process\s+holds\s+the\s+engine\s+database.*retry|` +
	`another\s+terraform\s+run\s+is\s+working\s+on\s+token.*retry)`)

// groupConfig is a configuration of its own: one group, given the book by one assignment. The
// token is shared: it was uploaded before, by another configuration.
func groupConfig(database, appleURL, bookID, name string) string {
	return fmt.Sprintf(`
terraform {
  required_providers {
    vpp = { source = "vppkit/vpp" }
  }
}

provider "vpp" {
  database      = %q
  apple_api_url = %q
%s}

resource "vpp_user_group" "readers" {
  name    = %q
  members = jsondecode(file("${path.module}/members.json"))
}

resource "vpp_ebook_assignment" "book" {
  book_id  = %q
  group_id = vpp_user_group.readers.id
  intent   = "required"
}

output "group_id" {
  value = vpp_user_group.readers.id
}
`, database, appleURL, unencryptedOptIn(database), name, bookID)
}

// TestProcess_concurrentApplies runs two `terraform apply` processes at once on one engine
// database, each giving the same book to its own group; the groups overlap. On PostgreSQL both
// finish. On SQLite each finishes or fails with a diagnostic that says the database is busy and
// what to do, within a bounded time; a failed one succeeds when run again. Either way: no lost
// update (both groups and assignments complete), no double spend (each member of either group
// holds the book once, and Apple's assignedCount says the same), and SQLite's integrity check
// passes.
func TestProcess_concurrentApplies(t *testing.T) {
	cli := terraformCLI(t)
	bin := buildProvider(t)
	size, overlap := 600, 300
	if soak() {
		size, overlap = 2000, 1000
	}
	for _, kind := range []store.Kind{store.Postgres, store.SQLite} {
		t.Run(string(kind), func(t *testing.T) {
			sim, appleURL := isolatedSimulator(t, nil)
			loc, err := sim.CreateLocation(applesim.LocationSpec{Name: "Shared " + string(kind)})
			if err != nil {
				t.Fatal(err)
			}
			union := memberEmails("shared", 2*size-overlap)
			if err := sim.AddBook(loc.UID, applesim.BookSpec{AdamID: crashBook, Title: "Shared Book", Licenses: len(union)}); err != nil {
				t.Fatal(err)
			}
			tokenFile, err := sim.MintToken(loc.UID, time.Now().Add(300*24*time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			db := filepath.Join(t.TempDir(), ".vpp", "engine.db")
			if kind == store.Postgres {
				db = storetest.URL(t, store.Postgres)
			}
			// The token is uploaded once, by another configuration (here, the engine directly).
			seed, err := engine.Open(context.Background(), engine.Config{Database: db, AppleBaseURL: appleURL, Version: "seed"})
			if err != nil {
				t.Fatal(err)
			}
			tok, err := seed.AddToken(context.Background(), engine.TokenInput{Contents: tokenFile, AccountType: "business"})
			_ = seed.Close()
			if err != nil {
				t.Fatal(err)
			}
			bookID := engine.BookID(tok.ID, crashBook, "STDQ")

			groups := map[string][]string{"Morning": union[:size], "Evening": union[size-overlap:]}
			ws := map[string]*workspace{}
			for name, members := range groups {
				ws[name] = newWorkspace(t, cli, bin)
				ws[name].write("main.tf", groupConfig(db, appleURL, bookID, name))
				ws[name].write("members.json", jsonList(t, members))
			}

			// Both at once.
			const bound = 4 * time.Minute
			type result struct {
				out  string
				code int
				took time.Duration
			}
			results := map[string]result{}
			var mu sync.Mutex
			var wg sync.WaitGroup
			for name, w := range ws {
				wg.Add(1)
				go func() {
					defer wg.Done()
					start := time.Now()
					out, code := w.run(bound, "apply", "-auto-approve", "-no-color", "-input=false")
					mu.Lock()
					results[name] = result{out, code, time.Since(start)}
					mu.Unlock()
				}()
			}
			wg.Wait()
			for name, r := range results {
				switch {
				case r.code == 0:
					t.Logf("%s: applied in %s", name, r.took.Round(time.Millisecond))
				case kind == store.SQLite && busyDiagnostic.MatchString(r.out):
					t.Logf("%s: refused after %s, the database being busy: %s", name, r.took.Round(time.Millisecond), firstError(r.out))
					ws[name].mustApply(bound)
				default:
					t.Fatalf("%s: apply failed (exit %d) after %s:\n%s", name, r.code, r.took, r.out)
				}
			}
			if kind == store.SQLite {
				sqliteIntegrity(t, db)
			}
			for _, w := range ws {
				w.mustPlanEmpty(bound)
			}
			if err := holdings(sim, loc.UID).checkExact(union); err != nil {
				t.Fatal(err)
			}
			// No lost update: the engine holds both groups, whole, and both assignments complete.
			check, err := engine.Open(context.Background(), engine.Config{Database: db, AppleBaseURL: appleURL, Version: "check"})
			if err != nil {
				t.Fatal(err)
			}
			defer check.Close()
			for name, members := range groups {
				out, code := ws[name].run(time.Minute, "output", "-raw", "group_id")
				if code != 0 {
					t.Fatalf("output: %s", out)
				}
				g, err := check.GetGroup(context.Background(), out)
				if err != nil {
					t.Fatal(err)
				}
				if len(g.Members) != len(members) {
					t.Errorf("group %s has %d members in the engine, want %d", name, len(g.Members), len(members))
				}
				a, err := check.FindAssignment(context.Background(), bookID, g.ID)
				if err != nil || a.Licensed != len(members) || a.Status != engine.StatusComplete {
					t.Errorf("assignment to %s: %d licensed (%s), %v; want %d complete", name, a.Licensed, a.Status, err, len(members))
				}
			}
		})
	}
}

// TestProcess_sqliteBusyDiagnostic holds the SQLite database's write lock from outside (another
// process stuck in a write) while `terraform apply` runs: the apply gives up within a bounded
// time with a diagnostic that says the database is busy and what to do, changes nothing, and
// succeeds once the lock is released. It waits out the engine's busy timeout (30 seconds), so it
// runs with make soak.
func TestProcess_sqliteBusyDiagnostic(t *testing.T) {
	if !soak() {
		t.Skip("waits out the 30-second busy timeout; runs with make soak (VPP_SOAK=1)")
	}
	cli := terraformCLI(t)
	bin := buildProvider(t)
	_, appleURL := isolatedSimulator(t, nil)
	w := newWorkspace(t, cli, bin)
	db := filepath.Join(w.dir, ".vpp", "engine.db")
	w.write("main.tf", fmt.Sprintf(`
terraform {
  required_providers {
    vpp = { source = "vppkit/vpp" }
  }
}
provider "vpp" {
  database      = %q
  apple_api_url = %q
}
resource "vpp_user_group" "readers" {
  name    = "Readers"
  members = ["ann@example.com", "bob@example.com"]
}
`, db, appleURL))
	// The database exists (a first plan creates it); then a stuck writer holds it.
	if out, code := w.run(time.Minute, "plan", "-no-color", "-input=false"); code != 0 {
		t.Fatalf("plan: %s", out)
	}
	holder, err := sql.Open("sqlite", db+"?_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	held, err := holder.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := held.Exec(`UPDATE meta SET value = value WHERE name = 'engine_id'`); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	out, code := w.run(3*time.Minute, "apply", "-auto-approve", "-no-color", "-input=false")
	took := time.Since(start)
	_ = held.Rollback()
	// Not any busy message: the database's, after the whole 30-second busy timeout, with advice.
	want := expectDiag("Unable to Open the VPP Engine", `The engine's database could not be opened: `,
		`database busy: another terraform process holds the engine database `+regexp.QuoteMeta(db)+
			` \(waited 30s\): retry, or use PostgreSQL for concurrent runs`)
	if code == 0 || !want.MatchString(out) {
		t.Fatalf("apply while the database was held: exit %d after %s, want a diagnostic matching %s:\n%s", code, took, want, out)
	}
	if took < store.DefaultBusyTimeout || took > 2*time.Minute {
		t.Errorf("the apply gave up after %s, want after the busy timeout (%s) and within 2 minutes", took, store.DefaultBusyTimeout)
	}
	t.Logf("refused after %s:\n%s", took.Round(time.Second), tail(out, 12))
	sqliteIntegrity(t, db)
	w.mustApply(time.Minute)
	w.mustPlanEmpty(time.Minute)
}
