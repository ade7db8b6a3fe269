package engine_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vppkit/terraform-provider-vpp/internal/apple"
	"github.com/vppkit/terraform-provider-vpp/internal/applesim"
	"github.com/vppkit/terraform-provider-vpp/internal/engine"
	"github.com/vppkit/terraform-provider-vpp/internal/store"
	"github.com/vppkit/terraform-provider-vpp/internal/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// env is one engine, its database, and a simulated Apple with one business location.
type env struct {
	t     *testing.T
	sim   *applesim.Server
	srv   *httptest.Server
	loc   applesim.Location
	token string
	dbURL string
	eng   *engine.Engine
	clock *clock
	// transport, when set, wraps every request the engine sends to Apple.
	mu        sync.Mutex
	interpose func(*http.Request, func(*http.Request) (*http.Response, error)) (*http.Response, error)
}

type clock struct{ offset atomic.Int64 }

func (c *clock) now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) advance(d time.Duration) { c.offset.Add(int64(d)) }
func (e *env) RoundTrip(r *http.Request) (*http.Response, error) {
	e.mu.Lock()
	ip := e.interpose
	e.mu.Unlock()
	if ip != nil {
		return ip(r, http.DefaultTransport.RoundTrip)
	}
	return http.DefaultTransport.RoundTrip(r)
}

func (e *env) setInterpose(f func(*http.Request, func(*http.Request) (*http.Response, error)) (*http.Response, error)) {
	e.mu.Lock()
	e.interpose = f
	e.mu.Unlock()
}

// Books of every new location: A has 10 licenses, B 2, C 1000.
const (
	bookA = "1000000001"
	bookB = "1000000002"
	bookC = "1000000003"
)

func newEnv(t *testing.T, kind store.Kind, simOpts applesim.Options) *env {
	t.Helper()
	simOpts.DisableRateLimit = true
	simOpts.Strict = true // checkApple reports double spends the counts alone would not show
	if simOpts.ProcessingDelay == 0 && simOpts.ProgressSteps == 0 {
		// Apple finishes events in the background, a part at a time: numCompleted grows over
		// several status polls, and the records show the work only once it is done.
		simOpts.ProcessingDelay, simOpts.ProgressSteps = 2*time.Millisecond, 2
	}
	sim := applesim.New(simOpts)
	srv := httptest.NewServer(sim)
	t.Cleanup(func() { srv.Close(); sim.Close() })
	e := &env{t: t, sim: sim, srv: srv, clock: &clock{}, dbURL: storetest.URL(t, kind)}
	e.loc, e.token = e.newLocation("Springfield Library", applesim.AccountBusiness)
	e.eng = e.open()
	return e
}

func (e *env) newLocation(name, account string) (applesim.Location, string) {
	e.t.Helper()
	loc, err := e.sim.CreateLocation(applesim.LocationSpec{Name: name, AccountType: account, ManagedAppleDomains: []string{"corp.example.com"}})
	if err != nil {
		e.t.Fatal(err)
	}
	tok, err := e.sim.MintToken(loc.UID, time.Now().Add(300*24*time.Hour))
	if err != nil {
		e.t.Fatal(err)
	}
	for _, b := range []applesim.BookSpec{
		{AdamID: bookA, Title: "The Art of Licensing", Author: "A. Author", Genres: []string{"Business"}, Language: "en", Licenses: 10},
		{AdamID: bookB, Title: "Terraform for Librarians", Author: "B. Writer", Genres: []string{"Computers"}, Language: "en", Licenses: 2},
		{AdamID: bookC, Title: "A Thousand Readers", Author: "C. Poet", Genres: []string{"Poetry"}, Language: "de", Licenses: 1000},
	} {
		if err := e.sim.AddBook(loc.UID, b); err != nil {
			e.t.Fatal(err)
		}
	}
	return loc, tok
}

// open opens an engine on the env's database (a second call is a second process, or a restart).
func (e *env) open() *engine.Engine {
	e.t.Helper()
	return e.openWith(nil)
}

// restart replaces the env's engine with a new one on the same database, as a new process would
// be (nothing cached), and starts the simulator's request counts from zero.
func (e *env) restart() {
	e.t.Helper()
	_ = e.eng.Close()
	e.eng = e.open()
	e.sim.ResetStats()
}

// resumeDelivery delivers tokenID's assignments from a restarted engine and returns how many
// associate requests that sent.
func (e *env) resumeDelivery(tokenID string) int {
	e.t.Helper()
	e.restart()
	if err := e.eng.Deliver(context.Background(), tokenID); err != nil {
		e.t.Fatal(err)
	}
	return e.sim.Stats().Requests["POST /assets/associate"]
}

// openWith is open with the configuration adjusted by tune, when not nil.
func (e *env) openWith(tune func(*engine.Config)) *engine.Engine {
	e.t.Helper()
	cfg := engine.Config{
		Database:     e.dbURL,
		AppleBaseURL: e.srv.URL + "/mdm/v2",
		HTTPClient:   &http.Client{Transport: e},
		PollInterval: 5 * time.Millisecond,
		FirstPoll:    time.Millisecond,
		EventTimeout: 10 * time.Second,
		Version:      "test",
		Now:          e.clock.now,
		TuneClient: func(c *apple.Config) {
			c.RequestsPerSecond = 10000
			c.RetryMax = 3
			c.RetryWaitMin, c.RetryWaitMax = time.Millisecond, 10*time.Millisecond
		},
	}
	if tune != nil {
		tune(&cfg)
	}
	eng, err := engine.Open(context.Background(), cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = eng.Close() })
	return eng
}

func (e *env) addToken() engine.Token {
	e.t.Helper()
	tok, err := e.eng.AddToken(context.Background(), engine.TokenInput{Contents: e.token, AccountType: engine.AccountBusiness, AppleID: "admin@example.com", DisplayName: "Main"})
	if err != nil {
		e.t.Fatalf("AddToken: %v", err)
	}
	return tok
}

func (e *env) group(name string, managed bool, members ...string) engine.Group {
	e.t.Helper()
	g, err := e.eng.CreateGroup(context.Background(), engine.GroupInput{Name: name, Members: members, Managed: managed})
	if err != nil {
		e.t.Fatalf("CreateGroup: %v", err)
	}
	return g
}

func emails(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%05d@example.com", prefix, i)
	}
	return out
}

// licensed lists the emails that hold adamID at Apple (through the engine's users).
func (e *env) holders(adamID string) []string {
	e.t.Helper()
	emailOf := map[string]string{}
	for _, u := range e.sim.Users(e.loc.UID) {
		emailOf[u.ClientUserID] = u.Email
		if u.Email == "" {
			emailOf[u.ClientUserID] = u.ManagedAppleID
		}
	}
	var out []string
	for _, a := range e.sim.Assignments(e.loc.UID) {
		if a.AdamID == adamID {
			out = append(out, emailOf[a.ClientUserID])
		}
	}
	sort.Strings(out)
	return out
}

func each(t *testing.T, fn func(t *testing.T, kind store.Kind)) { storetest.Each(t, fn) }

func TestToken_lifecycle(t *testing.T) {
	each(t, func(t *testing.T, kind store.Kind) {
		e := newEnv(t, kind, applesim.Options{})
		ctx := context.Background()
		tok := e.addToken()
		if tok.State != engine.StateValid || tok.LocationName != "Springfield Library" || tok.LocationID != e.loc.UID ||
			tok.LastSyncStatus != engine.SyncCompleted || tok.BookCount != 3 || tok.OrganizationName == "" || tok.CountryCode != "US" {
			t.Errorf("token after upload = %+v", tok)
		}
		if mdm := e.sim.ClientConfig(e.loc.UID).MDMInfo; mdm == nil || mdm.ID != e.eng.ID() || mdm.Name != engine.MDMName {
			t.Errorf("client config mdmInfo = %+v, want ours", mdm)
		}

		// The same location again: refused, nothing stored.
		second, _ := e.sim.MintToken(e.loc.UID, time.Now().Add(200*24*time.Hour))
		_, err := e.eng.AddToken(ctx, engine.TokenInput{Contents: second, AccountType: engine.AccountBusiness})
		var dup *engine.DuplicateLocationError
		if !errors.As(err, &dup) || dup.ExistingTokenID != tok.ID {
			t.Errorf("second token for the location: %v, want DuplicateLocationError naming %s", err, tok.ID)
		}

		// Renewal in place with a new file for the same location.
		renewed, err := e.eng.UpdateToken(ctx, tok.ID, engine.TokenInput{Contents: second, AccountType: engine.AccountBusiness, DisplayName: "Renamed"})
		if err != nil || renewed.DisplayName != "Renamed" || !renewed.ExpiresAt.Before(tok.ExpiresAt) {
			t.Errorf("renew: %+v, %v; want the new file's earlier expiry", renewed, err)
		}
		// A file of another location is no renewal.
		_, otherTok := e.newLocation("Shelbyville", applesim.AccountBusiness)
		_, err = e.eng.UpdateToken(ctx, tok.ID, engine.TokenInput{Contents: otherTok, AccountType: engine.AccountBusiness})
		if !errors.Is(err, engine.ErrLocationChanged) {
			t.Errorf("renew with another location's token: %v, want ErrLocationChanged", err)
		}

		// Apple revokes the token: a refresh once the sync is stale shows it.
		if err := e.sim.RevokeToken(second); err != nil {
			t.Fatal(err)
		}
		e.clock.advance(13 * time.Hour)
		got, err := e.eng.RefreshToken(ctx, tok.ID)
		if err != nil || got.State != engine.StateRevoked || got.LastSyncStatus != engine.SyncFailed {
			t.Errorf("after revocation: %+v, %v; want state revoked", got, err)
		}
		if strings.Contains(got.StateDetail, second) || strings.Contains(got.LastSyncError, second) {
			t.Error("token state detail contains the token")
		}

		rep, err := e.eng.RemoveToken(ctx, tok.ID, engine.RemoveTokenOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.eng.GetToken(ctx, tok.ID); !errors.Is(err, engine.ErrNotFound) {
			t.Errorf("token after removal: %v, want ErrNotFound", err)
		}
		_ = rep
	})
}

func TestToken_refusals(t *testing.T) {
	each(t, func(t *testing.T, kind store.Kind) {
		e := newEnv(t, kind, applesim.Options{})
		ctx := context.Background()
		for name, contents := range map[string]string{"empty": "", "not base64": "%%%", "not JSON": "bm90IGpzb24="} {
			if _, err := e.eng.AddToken(ctx, engine.TokenInput{Contents: contents}); !errors.Is(err, engine.ErrInvalidInput) {
				t.Errorf("%s token file: %v, want ErrInvalidInput", name, err)
			}
		}
		expired, _ := e.sim.MintToken(e.loc.UID, time.Now().Add(-time.Hour))
		if _, err := e.eng.AddToken(ctx, engine.TokenInput{Contents: expired}); !errors.Is(err, engine.ErrInvalidInput) || !strings.Contains(err.Error(), "expire") {
			t.Errorf("expired token file: %v", err)
		}
		_, err := e.eng.AddToken(ctx, engine.TokenInput{Contents: e.token, AccountType: engine.AccountEducation})
		var at *engine.AccountTypeError
		if !errors.As(err, &at) || at.Actual != engine.AccountBusiness {
			t.Errorf("education token for a business location: %v, want AccountTypeError", err)
		}
		// Another MDM holds the location: refused unless taking over.
		if err := e.sim.OverwriteMDMInfo(e.loc.UID, applesim.MDMInfo{ID: "jamf-1", Name: "Jamf Pro", Metadata: "11"}); err != nil {
			t.Fatal(err)
		}
		_, err = e.eng.AddToken(ctx, engine.TokenInput{Contents: e.token, AccountType: engine.AccountBusiness})
		var ext *engine.ExternalMDMError
		if !errors.As(err, &ext) || ext.MDMName != "Jamf Pro" || !strings.Contains(err.Error(), `managed by another system ("Jamf Pro"`) {
			t.Errorf("foreign claim: %v, want ExternalMDMError naming Jamf Pro", err)
		}
		toks, _ := e.eng.ListTokens(ctx)
		if len(toks) != 0 {
			t.Errorf("refused uploads stored %d tokens", len(toks))
		}
		tok, err := e.eng.AddToken(ctx, engine.TokenInput{Contents: e.token, AccountType: engine.AccountBusiness, TakeOver: true})
		if err != nil || tok.State != engine.StateValid {
			t.Fatalf("take over: %+v, %v", tok, err)
		}
		if mdm := e.sim.ClientConfig(e.loc.UID).MDMInfo; mdm.ID != e.eng.ID() {
			t.Errorf("after take-over mdmInfo = %+v", mdm)
		}
		// Jamf claims it back: the next sync reports the conflict; take-over on update reclaims.
		_ = e.sim.OverwriteMDMInfo(e.loc.UID, applesim.MDMInfo{ID: "jamf-1", Name: "Jamf Pro", Metadata: "11"})
		got, _ := e.eng.SyncToken(ctx, tok.ID, true)
		if got.State != engine.StateExternalMDM {
			t.Errorf("state after another MDM claimed the location = %q", got.State)
		}
		got, err = e.eng.UpdateToken(ctx, tok.ID, engine.TokenInput{AccountType: engine.AccountBusiness, TakeOver: true})
		if err != nil || got.State != engine.StateValid || e.sim.ClientConfig(e.loc.UID).MDMInfo.ID != e.eng.ID() {
			t.Errorf("reclaim: %+v, %v", got, err)
		}
	})
}

func TestSync_booksUsersLicenses(t *testing.T) {
	each(t, func(t *testing.T, kind store.Kind) {
		e := newEnv(t, kind, applesim.Options{PageSize: 2})
		ctx := context.Background()
		tok := e.addToken()
		books, err := e.eng.ListBooks(ctx, engine.BookFilter{TokenID: tok.ID})
		if err != nil || len(books) != 3 {
			t.Fatalf("books = %+v, %v", books, err)
		}
		b := books[0]
		if b.Title != "The Art of Licensing" || b.Author != "A. Author" || b.Language != "en" || len(b.Genres) != 1 || b.Total != 10 || b.Available != 10 {
			t.Errorf("book = %+v", b)
		}
		// Another MDM's users at the same location are never synced.
		other := e.rawClient()
		if _, err := other.CreateUsers(ctx, []apple.RequestUser{{ClientUserID: "jamf-user", Email: "x@example.com"}}); err != nil {
			t.Fatal(err)
		}
		e.sim.ProcessPendingEvents()
		if err := e.sim.Purchase(e.loc.UID, bookB, "STDQ", 5); err != nil {
			t.Fatal(err)
		}
		if _, err := e.eng.SyncToken(ctx, tok.ID, true); err != nil {
			t.Fatal(err)
		}
		got, _ := e.eng.GetBook(ctx, engine.BookID(tok.ID, bookB, "STDQ"))
		if got.Total != 7 || got.Available != 7 {
			t.Errorf("book B after purchase = %+v, want 7 total and available", got)
		}
		g := e.group("Readers", false, "ann@example.com")
		if _, err := e.eng.CreateAssignment(ctx, engine.AssignmentInput{BookID: engine.BookID(tok.ID, bookA, "STDQ"), GroupID: g.ID, Intent: engine.IntentRequired}); err != nil {
			t.Fatal(err)
		}
		e.sim.ResetStats()
		if _, err := e.eng.SyncToken(ctx, tok.ID, false); err != nil {
			t.Fatal(err)
		}
		st := e.sim.Stats().Requests
		if st["GET /users"] != 1 || st["GET /assignments"] != 1 {
			t.Errorf("incremental sync requests = %v, want one page each of users and assignments since the last versions", st)
		}
		if f, _ := e.eng.Forecast(ctx, engine.AssignmentInput{BookID: engine.BookID(tok.ID, bookA, "STDQ"), GroupID: g.ID, Intent: engine.IntentRequired}, nil); f.LicensesKept != 1 || f.Needed != 0 {
			t.Errorf("forecast after sync = %+v, want the one license held", f)
		}
		if n := e.countOwnUsers(tok.ID); n != 1 {
			t.Errorf("engine knows %d users, want only its own 1", n)
		}
	})
}

func (e *env) rawClient() *apple.Client {
	e.t.Helper()
	tok, _ := apple.ParseToken(e.token)
	c, err := apple.NewClient(apple.Config{BaseURL: e.srv.URL + "/mdm/v2", Token: tok, RequestsPerSecond: 10000})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e *env) countOwnUsers(tokenID string) int {
	g, err := e.eng.DebugUserCount(context.Background(), tokenID)
	if err != nil {
		e.t.Fatal(err)
	}
	return g
}

func TestDelivery_requiredAndAvailable(t *testing.T) {
	each(t, func(t *testing.T, kind store.Kind) {
		e := newEnv(t, kind, applesim.Options{})
		ctx := context.Background()
		tok := e.addToken()
		invited := e.group("Invited", false, "ann@example.com", "bob@example.com")
		managed := e.group("Staff", true, "cat@corp.example.com", "dan@corp.example.com")

		// required: every member licensed now, invited or not.
		a, err := e.eng.CreateAssignment(ctx, engine.AssignmentInput{BookID: engine.BookID(tok.ID, bookA, "STDQ"), GroupID: invited.ID, Intent: engine.IntentRequired})
		if err != nil || a.Licensed != 2 || a.Status != engine.StatusComplete {
			t.Fatalf("required to invited group: %+v, %v", a, err)
		}
		if got := e.holders(bookA); strings.Join(got, ",") != "ann@example.com,bob@example.com" {
			t.Errorf("holders at Apple = %v", got)
		}
		g, _ := e.eng.GetGroup(ctx, invited.ID)
		if len(g.Invitations) != 2 || !strings.Contains(g.Invitations["ann@example.com"], "inviteCode=") {
			t.Errorf("invitations = %v, want a URL per invited member", g.Invitations)
		}
		// A caller that keeps no invitations (a roster group) is spared reading them, and the
		// group as recorded is returned whether it is restored, updated or the same.
		gin := engine.GroupInput{Name: g.Name, Members: g.Members, NoInvitations: true}
		for what, read := range map[string]func() (engine.Group, error){
			"RestoreGroup": func() (engine.Group, error) { g, _, err := e.eng.RestoreGroup(ctx, invited.ID, gin); return g, err },
			"UpdateGroup":  func() (engine.Group, error) { g, _, err := e.eng.UpdateGroup(ctx, invited.ID, gin); return g, err },
		} {
			ng, err := read()
			if err != nil || len(ng.Invitations) != 0 || strings.Join(ng.Members, ",") != "ann@example.com,bob@example.com" || ng.ID != invited.ID {
				t.Errorf("%s without invitations = %+v, %v; want the group's members and no invitations", what, ng, err)
			}
		}
		gin.NoInvitations = false
		if ng, _, err := e.eng.RestoreGroup(ctx, invited.ID, gin); err != nil || len(ng.Invitations) != 2 {
			t.Errorf("RestoreGroup with invitations = %v, %v; want 2", ng.Invitations, err)
		}

		// available to invited members: nothing until they accept.
		av, err := e.eng.CreateAssignment(ctx, engine.AssignmentInput{BookID: engine.BookID(tok.ID, bookC, "STDQ"), GroupID: invited.ID, Intent: engine.IntentAvailable})
		if err != nil || av.Licensed != 0 || av.Pending != 2 || av.Status != engine.StatusPending {
			t.Fatalf("available to invited group: %+v, %v", av, err)
		}
		// ann accepts; after a sync the plan sees one deliverable license and an apply delivers it.
		for _, u := range e.sim.Users(e.loc.UID) {
			if u.Email == "ann@example.com" {
				if err := e.sim.AcceptInvitation(e.loc.UID, u.ClientUserID); err != nil {
					t.Fatal(err)
				}
			}
		}
		if _, err := e.eng.SyncToken(ctx, tok.ID, false); err != nil {
			t.Fatal(err)
		}
		in := engine.AssignmentInput{BookID: av.BookID, GroupID: invited.ID, Intent: engine.IntentAvailable}
		if f, err := e.eng.Forecast(ctx, in, nil); err != nil || f.Deliverable != 1 {
			t.Errorf("forecast after acceptance = %+v, %v; want 1 deliverable", f, err)
		}
		av, err = e.eng.UpdateAssignment(ctx, av.ID, in)
		if err != nil || av.Licensed != 1 || av.Pending != 1 {
			t.Errorf("after acceptance: %+v, %v; want 1 licensed, 1 pending", av, err)
		}

		// available to Managed Apple Accounts: associated at once, so licensed at once.
		m, err := e.eng.CreateAssignment(ctx, engine.AssignmentInput{BookID: engine.BookID(tok.ID, bookC, "STDQ"), GroupID: managed.ID, Intent: engine.IntentAvailable})
		if err != nil || m.Licensed != 2 {
			t.Errorf("available to managed group: %+v, %v", m, err)
		}
		mg, _ := e.eng.GetGroup(ctx, managed.ID)
		if len(mg.Invitations) != 0 {
			t.Errorf("managed group invitations = %v, want none", mg.Invitations)
		}

		// A member added later receives every book assigned to the group.
		if _, _, err := e.eng.UpdateGroup(ctx, invited.ID, engine.GroupInput{Name: "Invited", Members: []string{"ann@example.com", "bob@example.com", "eve@example.com"}}); err != nil {
			t.Fatal(err)
		}
		if got := e.holders(bookA); len(got) != 3 {
			t.Errorf("book A holders after eve joined = %v", got)
		}
		// Removing members and assignments never takes a license back.
		_, change, err := e.eng.UpdateGroup(ctx, invited.ID, engine.GroupInput{Name: "Invited", Members: []string{"ann@example.com"}})
		if err != nil || change.LicensesKept != 2 {
			t.Errorf("removing bob and eve: %+v, %v; want 2 licenses kept (book A; book C is available and only ann accepted)", change, err)
		}
		rep, err := e.eng.DeleteAssignment(ctx, a.ID)
		if err != nil || rep.LicensesKept != 1 || len(e.holders(bookA)) != 3 {
			t.Errorf("delete assignment: %+v, %v, holders %v", rep, err, e.holders(bookA))
		}
	})
}

func TestDelivery_shortage(t *testing.T) {
	each(t, func(t *testing.T, kind store.Kind) {
		e := newEnv(t, kind, applesim.Options{})
		ctx := context.Background()
		tok := e.addToken()
		g := e.group("Three", false, "zed@example.com", "amy@example.com", "max@example.com")
		in := engine.AssignmentInput{BookID: engine.BookID(tok.ID, bookB, "STDQ"), GroupID: g.ID, Intent: engine.IntentRequired}
		e.sim.ResetStats()
		_, err := e.eng.CreateAssignment(ctx, in)
		var short *engine.ShortageError
		if !errors.As(err, &short) || short.Needed != 3 || short.Available != 2 || short.Short() != 1 || !strings.Contains(err.Error(), ": 1 short") {
			t.Fatalf("shortage: %v", err)
		}
		if st := e.sim.Stats().Requests; st["POST /users/create"]+st["POST /assets/associate"] != 0 {
			t.Errorf("a refused shortage sent requests: %v", st)
		}
		in.AllowOversubscription = true
		a, err := e.eng.CreateAssignment(ctx, in)
		if err != nil || a.Licensed != 2 || a.Unlicensed != 1 || a.Status != engine.StatusPartial {
			t.Fatalf("oversubscribed: %+v, %v", a, err)
		}
		if got := e.holders(bookB); strings.Join(got, ",") != "amy@example.com,max@example.com" {
			t.Errorf("licensed in email order: got %v, want amy and max", got)
		}
		// Licenses bought later: the next apply delivers the remainder.
		_ = e.sim.Purchase(e.loc.UID, bookB, "STDQ", 1)
		_, _ = e.eng.SyncToken(ctx, tok.ID, true)
		if f, _ := e.eng.Forecast(ctx, in, nil); f.Deliverable != 1 {
			t.Errorf("forecast after purchase = %+v", f)
		}
		a, err = e.eng.UpdateAssignment(ctx, a.ID, in)
		if err != nil || a.Licensed != 3 || a.Status != engine.StatusComplete {
			t.Errorf("after purchase: %+v, %v", a, err)
		}
	})
}

// A request whose answer is lost (Apple applied it, the connection died) or an engine killed after
// sending: a reopened engine settles from Apple's records and spends no license twice.
func TestDelivery_resumesWithoutDoubleSpend(t *testing.T) {
	each(t, func(t *testing.T, kind store.Kind) {
		e := newEnv(t, kind, applesim.Options{})
		ctx := context.Background()
		tok := e.addToken()
		members := emails("r", 30)
		g := e.group("Resume", false, members...)
		in := engine.AssignmentInput{BookID: engine.BookID(tok.ID, bookC, "STDQ"), GroupID: g.ID, Intent: engine.IntentRequired}

		// The associate reaches Apple and is applied; its answer never arrives. The same run reads
		// Apple's records until they show the work, and sends nothing again.
		e.sim.ResetStats()
		e.sim.InjectFault(applesim.Fault{Endpoint: "POST /assets/associate", Kind: applesim.FaultResetAfter, Count: 1})
		if _, err := e.eng.CreateAssignment(ctx, in); err != nil {
			t.Fatalf("create with a lost answer: %v, want it reconciled", err)
		}
		if n := e.sim.Stats().Requests["POST /assets/associate"]; n != 1 {
			t.Errorf("%d associate requests; Apple had applied the first", n)
		}
		// "Restart": a new engine on the same database sends nothing either.
		if n := e.resumeDelivery(tok.ID); n != 0 {
			t.Errorf("resumed run sent %d associate requests; Apple had applied the first", n)
		}
		if got := e.holders(bookC); len(got) != 30 {
			t.Errorf("holders = %d, want 30", len(got))
		}
		if a, _ := e.eng.FindAssignment(ctx, in.BookID, g.ID); a.Licensed != 30 {
			t.Errorf("assignment after resume = %+v", a)
		}
		if asset, _ := e.sim.Asset(e.loc.UID, bookC, "STDQ"); asset.AssignedCount != 30 {
			t.Errorf("licenses spent at Apple = %d, want exactly 30", asset.AssignedCount)
		}

		// Killed while Apple is still processing: the event id is journaled; the next run waits for it.
		more := append(members, emails("s", 20)...)
		ctx2, cancel := context.WithCancel(ctx)
		e.setInterpose(func(r *http.Request, next func(*http.Request) (*http.Response, error)) (*http.Response, error) {
			resp, err := next(r)
			if r.URL.Path == "/mdm/v2/assets/associate" {
				defer cancel() // the process dies right after Apple accepted the request
			}
			return resp, err
		})
		_, _, err := e.eng.UpdateGroup(ctx2, g.ID, engine.GroupInput{Name: "Resume", Members: more})
		if err == nil {
			t.Fatal("update with a killed process succeeded")
		}
		e.setInterpose(nil)
		if n := e.resumeDelivery(tok.ID); n != 0 {
			t.Errorf("resumed run sent %d associate requests", n)
		}
		if asset, _ := e.sim.Asset(e.loc.UID, bookC, "STDQ"); asset.AssignedCount != 50 || len(e.holders(bookC)) != 50 {
			t.Errorf("after the killed run resumed: %d spent, %d holders, want 50", asset.AssignedCount, len(e.holders(bookC)))
		}
	})
}

// Two engines (two terraform processes) on one PostgreSQL database deliver at once: the per-token
// lock serialises them and nothing is sent twice.
func TestDelivery_twoEnginesOnePostgres(t *testing.T) {
	e := newEnv(t, store.Postgres, applesim.Options{})
	ctx := context.Background()
	tok := e.addToken()
	members := emails("p", 120)
	g := e.group("Both", false, members...)
	in := engine.AssignmentInput{BookID: engine.BookID(tok.ID, bookC, "STDQ"), GroupID: g.ID, Intent: engine.IntentRequired}
	if _, err := e.eng.Forecast(ctx, in, nil); err != nil {
		t.Fatal(err)
	}
	other := e.open()
	e.sim.ResetStats()
	var wg sync.WaitGroup
	errs := make([]error, 2)
	wg.Add(2)
	go func() { defer wg.Done(); _, errs[0] = e.eng.CreateAssignment(ctx, in) }()
	go func() { defer wg.Done(); time.Sleep(5 * time.Millisecond); errs[1] = other.Deliver(ctx, tok.ID) }()
	wg.Wait()
	if errs[0] != nil || errs[1] != nil {
		t.Fatalf("concurrent deliveries: %v / %v", errs[0], errs[1])
	}
	st := e.sim.Stats().Requests
	if st["POST /users/create"] != 2 || st["POST /assets/associate"] != 1 {
		t.Errorf("requests = %v, want 2 users/create and 1 associate in total", st)
	}
	if asset, _ := e.sim.Asset(e.loc.UID, bookC, "STDQ"); asset.AssignedCount != 120 {
		t.Errorf("licenses spent = %d, want 120", asset.AssignedCount)
	}
}

// Delivery of one book to 10,000 members uses exactly ceil(10000/100) users/create requests and
// ceil(10000/1000) associate requests.
func TestDelivery_tenThousandMembersFewestRequests(t *testing.T) {
	if testing.Short() {
		t.Skip("large delivery")
	}
	e := newEnv(t, store.SQLite, applesim.Options{})
	ctx := context.Background()
	_ = e.sim.Purchase(e.loc.UID, bookC, "STDQ", 9000)
	tok := e.addToken()
	g := e.group("Everyone", false, emails("m", 10000)...)
	e.sim.ResetStats()
	a, err := e.eng.CreateAssignment(ctx, engine.AssignmentInput{BookID: engine.BookID(tok.ID, bookC, "STDQ"), GroupID: g.ID, Intent: engine.IntentRequired})
	if err != nil {
		t.Fatal(err)
	}
	st := e.sim.Stats().Requests
	if st["POST /users/create"] != 100 || st["POST /assets/associate"] != 10 {
		t.Errorf("requests = users/create %d, associate %d; want 100 and 10", st["POST /users/create"], st["POST /assets/associate"])
	}
	if a.Licensed != 10000 {
		t.Errorf("licensed = %d", a.Licensed)
	}
}

// Every change made at Apple is in the audit log, with its event id and count.
func TestAudit_recordsChangesAtApple(t *testing.T) {
	e := newEnv(t, store.SQLite, applesim.Options{})
	ctx := context.Background()
	tok := e.addToken()
	g := e.group("Audited", false, emails("a", 150)...)
	if _, err := e.eng.CreateAssignment(ctx, engine.AssignmentInput{BookID: engine.BookID(tok.ID, bookC, "STDQ"), GroupID: g.ID, Intent: engine.IntentRequired}); err != nil {
		t.Fatal(err)
	}
	log, err := e.eng.AuditLog(ctx, tok.ID)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, a := range log {
		if (a.Operation == "create_users" || a.Operation == "associate") && a.EventID == "" {
			t.Errorf("audit entry %+v has no event id", a)
		}
		if strings.Contains(a.Detail, e.token) {
			t.Errorf("audit entry %+v contains the token", a)
		}
		counts[a.Operation] += a.Count
	}
	if counts["claim"] != 1 || counts["create_users"] != 150 || counts["associate"] != 150 {
		t.Errorf("audited counts = %v, want claim 1, create_users 150, associate 150", counts)
	}
}

// Apple's expired verdict (9621) shows as the token's state.
func TestToken_expiredAtApple(t *testing.T) {
	e := newEnv(t, store.SQLite, applesim.Options{})
	ctx := context.Background()
	tok := e.addToken()
	if err := e.sim.ExpireToken(e.token); err != nil {
		t.Fatal(err)
	}
	got, err := e.eng.SyncToken(ctx, tok.ID, false)
	if err != nil || got.State != engine.StateExpired || !strings.Contains(got.StateDetail, "is expired (Apple: ") {
		t.Errorf("after Apple expired the token: %+v, %v", got, err)
	}
	g := e.group("Late", false, "late@example.com")
	_, err = e.eng.CreateAssignment(ctx, engine.AssignmentInput{BookID: engine.BookID(tok.ID, bookA, "STDQ"), GroupID: g.ID, Intent: engine.IntentRequired})
	if !errors.Is(err, engine.ErrTokenUnusable) {
		t.Errorf("delivering with an expired token: %v, want ErrTokenUnusable", err)
	}
}

// An engine holds at least 256 tokens (one per location).
func TestToken_manyLocations(t *testing.T) {
	if testing.Short() {
		t.Skip("256 locations")
	}
	e := newEnv(t, store.SQLite, applesim.Options{})
	ctx := context.Background()
	for i := 0; i < 256; i++ {
		loc, err := e.sim.CreateLocation(applesim.LocationSpec{Name: fmt.Sprintf("Branch %03d", i), AccountType: applesim.AccountEducation})
		if err != nil {
			t.Fatal(err)
		}
		file, _ := e.sim.MintToken(loc.UID, time.Now().Add(100*24*time.Hour))
		if _, err := e.eng.AddToken(ctx, engine.TokenInput{Contents: file, AccountType: engine.AccountEducation}); err != nil {
			t.Fatalf("token %d: %v", i, err)
		}
	}
	toks, err := e.eng.ListTokens(ctx)
	if err != nil || len(toks) != 256 {
		t.Fatalf("tokens = %d, %v", len(toks), err)
	}
	for _, tk := range toks {
		if tk.State != engine.StateValid || tk.LastSyncStatus != engine.SyncCompleted {
			t.Fatalf("token %+v", tk)
		}
	}
}

// A book that runs short for a strict assignment waits for licenses, and the run that meets the
// shortage says so (it never ends green with members silently left out); other books on the same
// token are still delivered.
func TestDelivery_shortBookDoesNotBlockOthers(t *testing.T) {
	e := newEnv(t, store.SQLite, applesim.Options{})
	ctx := context.Background()
	tok := e.addToken()
	g := e.group("Two", false, "a@example.com", "b@example.com")
	short := engine.AssignmentInput{BookID: engine.BookID(tok.ID, bookB, "STDQ"), GroupID: g.ID, Intent: engine.IntentRequired}
	if _, err := e.eng.CreateAssignment(ctx, short); err != nil {
		t.Fatal(err)
	}
	// A third member: book B (2 licenses) is now short for this strict assignment.
	_, _, err := e.eng.UpdateGroup(ctx, g.ID, engine.GroupInput{Name: "Two", Members: []string{"a@example.com", "b@example.com", "c@example.com"}})
	if want := `has 0 available licenses but group "Two" needs 1 now: 1 short`; !errors.Is(err, engine.ErrNotEnoughLicenses) || !strings.Contains(err.Error(), want) {
		t.Fatalf("growing the group past the licenses: %v, want a shortage containing %q", err, want)
	}
	other := e.group("Others", false, "x@example.com")
	a, err := e.eng.CreateAssignment(ctx, engine.AssignmentInput{BookID: engine.BookID(tok.ID, bookA, "STDQ"), GroupID: other.ID, Intent: engine.IntentRequired})
	if err != nil || a.Licensed != 1 {
		t.Fatalf("another book on the same token: %+v, %v; want it delivered", a, err)
	}
	s, _ := e.eng.FindAssignment(ctx, short.BookID, g.ID)
	if s.Licensed != 2 || s.Pending != 1 {
		t.Errorf("short assignment = %+v, want 2 licensed and 1 waiting", s)
	}
	// Refused changes leave no trace: switching to "available" is no shortage, but asking for more
	// than exists via a new strict assignment is refused before anything is stored.
	third := e.group("Third", false, "q@example.com", "r@example.com", "s@example.com")
	if _, err := e.eng.CreateAssignment(ctx, engine.AssignmentInput{BookID: short.BookID, GroupID: third.ID, Intent: engine.IntentRequired}); !errors.Is(err, engine.ErrNotEnoughLicenses) {
		t.Errorf("new strict assignment of a short book: %v", err)
	}
	if _, err := e.eng.FindAssignment(ctx, short.BookID, third.ID); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("refused assignment was stored: %v", err)
	}
}
