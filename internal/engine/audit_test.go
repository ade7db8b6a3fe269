package engine_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vppkit/terraform-provider-vpp/internal/applesim"
	"github.com/vppkit/terraform-provider-vpp/internal/engine"
	"github.com/vppkit/terraform-provider-vpp/internal/store"
)

// auditRow is what a test compares of an audit entry: its operation, count and outcome.
type auditRow struct {
	Operation string
	Count     int
	Outcome   string
}

func (r auditRow) String() string { return fmt.Sprintf("%s×%d=%q", r.Operation, r.Count, r.Outcome) }

// auditRows reads the log f selects as rows, checking every entry's invariants on the way: the
// token it was asked for, an event id exactly for the requests Apple answers with one.
func (e *env) auditRows(f engine.AuditFilter) []auditRow {
	e.t.Helper()
	log, err := e.eng.ReadAuditLog(context.Background(), f)
	if err != nil {
		e.t.Fatalf("ReadAuditLog(%+v): %v", f, err)
	}
	rows := make([]auditRow, len(log))
	for i, a := range log {
		evented := a.Operation == engine.AuditCreateUsers || a.Operation == engine.AuditAssociate
		if evented == (a.EventID == "") || (f.TokenID != "" && a.TokenID != f.TokenID) || a.At.IsZero() {
			e.t.Errorf("audit entry %+v: wrong token, time or event id", a)
		}
		rows[i] = auditRow{a.Operation, a.Count, a.Outcome}
	}
	return rows
}

func (e *env) wantAudit(f engine.AuditFilter, want ...auditRow) {
	e.t.Helper()
	if got := e.auditRows(f); !slices.Equal(got, want) {
		e.t.Errorf("audit log %+v:\n got  %v\n want %v", f, got, want)
	}
}

// deliverAllowingIncomplete runs a delivery that may stop with events still at Apple.
func (e *env) deliverAllowingIncomplete(tokenID string) {
	e.t.Helper()
	if err := e.eng.Deliver(context.Background(), tokenID); err != nil && !errors.Is(err, engine.ErrDeliveryIncomplete) {
		e.t.Fatalf("Deliver: %v", err)
	}
}

// assign gives a book to a group, tolerating the errors a test provokes (the assignment is kept).
func (e *env) assign(tokenID, adamID string, g engine.Group) error {
	e.t.Helper()
	_, err := e.eng.CreateAssignment(context.Background(), engine.AssignmentInput{
		BookID: engine.BookID(tokenID, adamID, "STDQ"), GroupID: g.ID, Intent: engine.IntentRequired})
	return err
}

// A delivery is logged as its claim, its users/create and its associate, with their counts, and
// both requests complete once Apple has finished them.
func TestAuditLog_deliveryComplete(t *testing.T) {
	e := newEnv(t, store.SQLite, applesim.Options{})
	tok := e.addToken()
	g := e.group("Readers", false, emails("r", 3)...)
	if err := e.assign(tok.ID, bookC, g); err != nil {
		t.Fatal(err)
	}
	e.wantAudit(engine.AuditFilter{TokenID: tok.ID},
		auditRow{engine.AuditClaim, 1, engine.OutcomeNone},
		auditRow{engine.AuditCreateUsers, 3, engine.OutcomeComplete},
		auditRow{engine.AuditAssociate, 3, engine.OutcomeComplete})
}

// An event Apple has not finished is pending, and complete once a later delivery followed it;
// that delivery's reconciliation is logged too.
func TestAuditLog_pendingUntilFollowed(t *testing.T) {
	e := newEnv(t, store.SQLite, applesim.Options{ProcessingDelay: time.Hour})
	e.reopen(func(c *engine.Config) { c.EventTimeout = 50 * time.Millisecond })
	tok := e.addToken()
	g := e.group("Readers", true, "a@corp.example.com", "b@corp.example.com")
	if err := e.assign(tok.ID, bookA, g); !errors.Is(err, engine.ErrDeliveryIncomplete) {
		t.Fatalf("assignment while Apple holds the users/create: %v, want an incomplete delivery", err)
	}
	f := engine.AuditFilter{TokenID: tok.ID}
	claim := auditRow{engine.AuditClaim, 1, engine.OutcomeNone}
	e.wantAudit(f, claim, auditRow{engine.AuditCreateUsers, 2, engine.OutcomePending})

	e.sim.ProcessPendingEvents()
	e.deliverAllowingIncomplete(tok.ID)
	reconciled := auditRow{engine.AuditReconcile, 1, engine.OutcomeNone}
	e.wantAudit(f, claim, auditRow{engine.AuditCreateUsers, 2, engine.OutcomeComplete}, reconciled,
		auditRow{engine.AuditAssociate, 2, engine.OutcomePending})

	e.sim.ProcessPendingEvents()
	e.deliverAllowingIncomplete(tok.ID)
	e.wantAudit(f, claim, auditRow{engine.AuditCreateUsers, 2, engine.OutcomeComplete}, reconciled,
		auditRow{engine.AuditAssociate, 2, engine.OutcomeComplete}, reconciled)
}

// An event Apple finished with failures is failed: here the licenses were refunded between the
// engine's check and Apple's processing.
func TestAuditLog_failedEvent(t *testing.T) {
	e := newEnv(t, store.SQLite, applesim.Options{})
	tok := e.addToken()
	g := e.group("Readers", true, "a@corp.example.com", "b@corp.example.com")
	refunded := false
	e.setInterpose(func(r *http.Request, next func(*http.Request) (*http.Response, error)) (*http.Response, error) {
		if !refunded && r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/assets/associate") {
			refunded = true
			if err := e.sim.Refund(e.loc.UID, bookB, "STDQ", 2); err != nil {
				t.Errorf("refund: %v", err)
			}
		}
		return next(r)
	})
	_ = e.assign(tok.ID, bookB, g) // the members' deliveries fail; what the apply says is not tested here
	e.wantAudit(engine.AuditFilter{TokenID: tok.ID},
		auditRow{engine.AuditClaim, 1, engine.OutcomeNone},
		auditRow{engine.AuditCreateUsers, 2, engine.OutcomeComplete},
		auditRow{engine.AuditAssociate, 2, engine.OutcomeFailed})
}

// An answer that failed a check (here: no uId) leaves the outcome unknown until a later delivery
// follows the event; Apple then reports it complete, and so does the log.
func TestAuditLog_unknownUntilFollowed(t *testing.T) {
	e := newEnv(t, store.SQLite, applesim.Options{})
	tok := e.addToken()
	g := e.group("Readers", true, "a@corp.example.com")
	e.corrupt("POST /assets/associate", 1, onlyOK(edit(func(_ *http.Request, m map[string]any) { delete(m, "uId") })))
	if err := e.assign(tok.ID, bookA, g); err == nil {
		t.Fatal("an associate answer without uId was accepted")
	}
	f := engine.AuditFilter{TokenID: tok.ID, Operations: []string{engine.AuditAssociate}}
	e.wantAudit(f, auditRow{engine.AuditAssociate, 1, engine.OutcomeUnknown})
	e.setInterpose(nil)
	e.deliverAllowingIncomplete(tok.ID)
	e.wantAudit(f, auditRow{engine.AuditAssociate, 1, engine.OutcomeComplete})
}

// The operations on a token itself are logged without an event: take-over, renewal, removal (after
// which its requests' outcomes are unknown, and its log is still read by its id) and restoration.
func TestAuditLog_tokenOperations(t *testing.T) {
	e := newEnv(t, store.SQLite, applesim.Options{})
	ctx := context.Background()
	if err := e.sim.OverwriteMDMInfo(e.loc.UID, applesim.MDMInfo{ID: "other-mdm", Name: "Other MDM"}); err != nil {
		t.Fatal(err)
	}
	in := engine.TokenInput{Contents: e.token, AccountType: engine.AccountBusiness, AppleID: "admin@example.com", TakeOver: true}
	tok, err := e.eng.AddToken(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.assign(tok.ID, bookA, e.group("Readers", true, "a@corp.example.com")); err != nil {
		t.Fatal(err)
	}
	renewed := e.renewedToken()
	in.Contents = renewed
	if _, err := e.eng.UpdateToken(ctx, tok.ID, in); err != nil {
		t.Fatal(err)
	}
	if _, err := e.eng.RemoveToken(ctx, tok.ID, engine.RemoveTokenOptions{}); err != nil {
		t.Fatal(err)
	}
	f := engine.AuditFilter{TokenID: tok.ID}
	history := []auditRow{
		{engine.AuditTakeOver, 1, engine.OutcomeNone},
		{engine.AuditCreateUsers, 1, engine.OutcomeUnknown},
		{engine.AuditAssociate, 1, engine.OutcomeUnknown},
		{engine.AuditRenew, 1, engine.OutcomeNone},
		{engine.AuditForgetToken, 1, engine.OutcomeNone},
	}
	e.wantAudit(f, history...)
	if _, _, err := e.eng.RestoreToken(ctx, tok.ID, e.loc.UID, in); err != nil {
		t.Fatal(err)
	}
	e.wantAudit(f, append(history, auditRow{engine.AuditRestoreToken, 1, engine.OutcomeNone})...)
}

// renewedToken mints a second token file for the env's location.
func (e *env) renewedToken() string {
	e.t.Helper()
	tok, err := e.sim.MintToken(e.loc.UID, time.Now().Add(200*24*time.Hour))
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// Existing users adopted for members are logged, with how many.
func TestAuditLog_adoptUsers(t *testing.T) {
	e := newEnv(t, store.SQLite, applesim.Options{})
	tok := e.addToken()
	if err := e.sim.AddUser(e.loc.UID, applesim.UserSpec{ClientUserID: "theirs-1", Email: "a@example.com", Associated: true}); err != nil {
		t.Fatal(err)
	}
	if err := e.assign(tok.ID, bookC, e.group("Readers", false, "a@example.com", "b@example.com")); err != nil {
		t.Fatal(err)
	}
	e.wantAudit(engine.AuditFilter{TokenID: tok.ID, Operations: []string{engine.AuditAdoptUsers, engine.AuditCreateUsers, engine.AuditAssociate}},
		auditRow{engine.AuditAdoptUsers, 1, engine.OutcomeNone},
		auditRow{engine.AuditCreateUsers, 1, engine.OutcomeComplete},
		auditRow{engine.AuditAssociate, 2, engine.OutcomeComplete})
}

// The log is filtered by token, by a time window that includes its start and excludes its end,
// and by operations; a token id the engine never knew is a NotFoundError.
func TestAuditLog_filters(t *testing.T) {
	e := newEnv(t, store.SQLite, applesim.Options{})
	t0 := e.clock.now()
	first := e.addToken()
	e.clock.advance(time.Hour)
	_, file2 := e.newLocation("Shelbyville School", applesim.AccountEducation)
	second, err := e.eng.AddToken(context.Background(), engine.TokenInput{Contents: file2, AccountType: engine.AccountEducation, AppleID: "b@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.advance(time.Hour)
	if err := e.assign(first.ID, bookC, e.group("Readers", true, "a@corp.example.com")); err != nil {
		t.Fatal(err)
	}
	claim := auditRow{engine.AuditClaim, 1, engine.OutcomeNone}
	created := auditRow{engine.AuditCreateUsers, 1, engine.OutcomeComplete}
	associated := auditRow{engine.AuditAssociate, 1, engine.OutcomeComplete}

	log, err := e.eng.ReadAuditLog(context.Background(), engine.AuditFilter{TokenID: second.ID})
	if err != nil || len(log) != 1 {
		t.Fatalf("log of the second token = %+v, %v", log, err)
	}
	secondClaim := log[0].At // t0+1h, to the store's millisecond
	e.wantAudit(engine.AuditFilter{}, claim, claim, created, associated)
	e.wantAudit(engine.AuditFilter{TokenID: first.ID}, claim, created, associated)
	e.wantAudit(engine.AuditFilter{Since: secondClaim}, claim, created, associated)
	e.wantAudit(engine.AuditFilter{Since: secondClaim.Add(time.Nanosecond)}, created, associated)
	e.wantAudit(engine.AuditFilter{Until: secondClaim}, claim)
	e.wantAudit(engine.AuditFilter{Until: secondClaim.Add(time.Nanosecond)}, claim, claim)
	e.wantAudit(engine.AuditFilter{Since: t0.Add(-time.Minute), Until: t0.Add(90 * time.Minute)}, claim, claim)
	e.wantAudit(engine.AuditFilter{TokenID: first.ID, Since: secondClaim}, created, associated)
	e.wantAudit(engine.AuditFilter{TokenID: second.ID, Since: secondClaim.Add(time.Nanosecond)}) // known token: empty, no error
	e.wantAudit(engine.AuditFilter{Operations: []string{engine.AuditClaim, engine.AuditAssociate}}, claim, claim, associated)
	e.wantAudit(engine.AuditFilter{Operations: []string{"no_such_operation"}})

	var nf *engine.NotFoundError
	_, err = e.eng.ReadAuditLog(context.Background(), engine.AuditFilter{TokenID: "00000000-0000-0000-0000-000000000000"})
	if !errors.As(err, &nf) || nf.Kind != engine.KindToken || nf.ID != "00000000-0000-0000-0000-000000000000" {
		t.Errorf("log of an unknown token: %v, want a NotFoundError of kind token", err)
	}
}

// No detail of the log holds a secret: neither the token file, nor the token inside it, nor an
// invitation URL or code.
func TestAuditLog_detailsHoldNoSecret(t *testing.T) {
	e := newEnv(t, store.SQLite, applesim.Options{})
	ctx := context.Background()
	tok := e.addToken()
	g := e.group("Invited", false, "a@example.com", "b@example.com")
	if err := e.assign(tok.ID, bookC, g); err != nil {
		t.Fatal(err)
	}
	renewed := e.renewedToken()
	if _, err := e.eng.UpdateToken(ctx, tok.ID, engine.TokenInput{Contents: renewed, AccountType: engine.AccountBusiness, AppleID: "admin@example.com"}); err != nil {
		t.Fatal(err)
	}
	g, err := e.eng.GetGroup(ctx, g.ID)
	if err != nil {
		t.Fatal(err)
	}
	secrets := secretsOf(t, e.token, renewed)
	for _, url := range g.Invitations {
		secrets = append(secrets, url)
	}
	for _, u := range e.sim.Users(e.loc.UID) {
		secrets = append(secrets, u.InviteCode)
	}
	if len(g.Invitations) != 2 {
		t.Fatalf("invitations = %v, want one per member", g.Invitations)
	}
	if _, err := e.eng.RemoveToken(ctx, tok.ID, engine.RemoveTokenOptions{}); err != nil {
		t.Fatal(err)
	}
	log, err := e.eng.ReadAuditLog(ctx, engine.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	ops := map[string]bool{}
	for _, a := range log {
		ops[a.Operation] = true
		for _, s := range secrets {
			if s != "" && strings.Contains(a.Detail, s) {
				t.Errorf("%s entry's detail %q holds a secret", a.Operation, a.Detail)
			}
		}
	}
	for _, op := range []string{engine.AuditClaim, engine.AuditCreateUsers, engine.AuditAssociate, engine.AuditRenew, engine.AuditForgetToken} {
		if !ops[op] {
			t.Errorf("no %s entry was checked", op)
		}
	}
}

// secretsOf lists the token files and the token each holds (base64 of {"token": ...}).
func secretsOf(t *testing.T, files ...string) []string {
	t.Helper()
	var out []string
	for _, f := range files {
		raw, err := base64.StdEncoding.DecodeString(f)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Token string `json:"token"`
		}
		if err := json.Unmarshal(raw, &doc); err != nil || doc.Token == "" {
			t.Fatalf("token file: %v", err)
		}
		out = append(out, f, doc.Token)
	}
	return out
}

// Every operation the engine writes to the audit log is one of AuditOperations, which the
// provider offers as filter values: a new one must be added there.
func TestAuditOperationsListsEveryWrittenOperation(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	literal := regexp.MustCompile(`Operation:\s*"([a-z_]+)"`)
	found := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range literal.FindAllStringSubmatch(string(src), -1) {
			op := m[1]
			found++
			if !slices.Contains(engine.AuditOperations, op) {
				t.Errorf("%s writes audit operation %q, which AuditOperations lacks", name, op)
			}
		}
	}
	if found < 5 {
		t.Fatalf("found %d audit operations in the engine's sources; the pattern is out of date", found)
	}
}
