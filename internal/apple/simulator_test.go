package apple_test

// The client against the simulator over real HTTP: every endpoint, the error numbers, paging with
// changing totalPages, rate limiting, Retry-After in both forms and each fault kind. The two are
// independent implementations of apple-api.md; these tests are where they must agree.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vppkit/terraform-provider-vpp/internal/apple"
	"github.com/vppkit/terraform-provider-vpp/internal/applesim"
)

const (
	bookA = "1000000001"
	bookB = "1000000002"
	appA  = "2000000001"
)

type fixture struct {
	sim   *applesim.Server
	srv   *httptest.Server
	loc   applesim.Location
	token string
	// mutate, when set, rewrites outgoing requests: a stand-in for a broken proxy, to reach
	// validation the client itself never fails.
	mu     sync.Mutex
	mutate func(*http.Request)
}

type fixtureOpts struct {
	sim applesim.Options
}

func newFixture(t *testing.T, o fixtureOpts) *fixture {
	t.Helper()
	sim := applesim.New(o.sim)
	srv := httptest.NewServer(sim)
	t.Cleanup(func() { srv.Close(); sim.Close() })
	loc, err := sim.CreateLocation(applesim.LocationSpec{Name: "Springfield Library", AccountType: applesim.AccountBusiness, ManagedAppleDomains: []string{"corp.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := sim.MintToken(loc.UID, time.Now().Add(300*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []applesim.BookSpec{
		{AdamID: bookA, Title: "The Art of Licensing", Author: "A. Author", Genres: []string{"Business"}, Language: "en", Licenses: 10},
		{AdamID: bookB, Title: "Terraform for Librarians", Author: "B. Writer", Genres: []string{"Computers"}, Language: "en", Licenses: 2},
	} {
		if err := sim.AddBook(loc.UID, b); err != nil {
			t.Fatal(err)
		}
	}
	if err := sim.AddApp(loc.UID, applesim.AppSpec{AdamID: appA, Name: "Reader", Developer: "Dev", Licenses: 5}); err != nil {
		t.Fatal(err)
	}
	return &fixture{sim: sim, srv: srv, loc: loc, token: tok}
}

func (f *fixture) setMutate(m func(*http.Request)) {
	f.mu.Lock()
	f.mutate = m
	f.mu.Unlock()
}

func (f *fixture) RoundTrip(r *http.Request) (*http.Response, error) {
	f.mu.Lock()
	m := f.mutate
	f.mu.Unlock()
	if m != nil {
		r = r.Clone(r.Context())
		m(r)
	}
	return http.DefaultTransport.RoundTrip(r)
}

// client builds a client with fast retries; each test sets what it needs on top.
func (f *fixture) client(t *testing.T, tune func(*apple.Config)) *apple.Client {
	t.Helper()
	tok, err := apple.ParseToken(f.token)
	if err != nil {
		t.Fatal(err)
	}
	cfg := apple.Config{
		BaseURL:           f.srv.URL + "/mdm/v2",
		Token:             tok,
		MDMID:             "engine-1",
		HTTPClient:        &http.Client{Transport: f},
		RequestTimeout:    5 * time.Second,
		RetryMax:          4,
		RetryWaitMin:      5 * time.Millisecond,
		RetryWaitMax:      50 * time.Millisecond,
		MaxRetryAfter:     3 * time.Second,
		RequestsPerSecond: 1000,
	}
	if tune != nil {
		tune(&cfg)
	}
	c, err := apple.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// event processes pending events and returns the event's final status.
func (f *fixture) event(t *testing.T, c *apple.Client, resp *apple.EventResponse, err error) *apple.EventStatus {
	t.Helper()
	if err != nil {
		t.Fatalf("request refused: %v", err)
	}
	f.sim.ProcessPendingEvents()
	st, err := c.EventStatus(context.Background(), resp.EventID)
	if err != nil {
		t.Fatalf("status of %s: %v", resp.EventID, err)
	}
	if !st.Done() {
		t.Fatalf("event %s still %s after processing", resp.EventID, st.Status)
	}
	return st
}

func book(id string) apple.AssetRef { return apple.AssetRef{AdamID: id, PricingParam: "STDQ"} }

func TestSimulator_everyEndpoint(t *testing.T) {
	f := newFixture(t, fixtureOpts{sim: applesim.Options{DisableRateLimit: true}})
	c := f.client(t, nil)
	ctx := context.Background()

	sc, err := c.ServiceConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sc.Limits.MaxAssets != 25 || sc.Limits.MaxClientUserIDs != 1000 || sc.Limits.MaxUsers != 100 || sc.Limits.MaxRequestPerSecond != 15 {
		t.Errorf("limits = %+v, want Apple's current values", sc.Limits)
	}
	if u := sc.URLs["contentMetadataLookup"]; !strings.HasPrefix(u, f.srv.URL) {
		t.Errorf("contentMetadataLookup = %q, want the simulator's own URL", u)
	}

	cc, err := c.GetClientConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if cc.UID != f.loc.UID || cc.LocationName != "Springfield Library" || cc.DefaultPlatform != "enterprisestore" || cc.MDMInfo != nil {
		t.Errorf("client config = %+v", cc)
	}
	if cc.TokenExpiration == nil {
		t.Error("tokenExpirationDate missing from client config")
	}
	ours := apple.MDMInfo{ID: "engine-1", Name: "terraform-provider-vpp", Metadata: "test"}
	cc, err = c.SetClientConfig(ctx, apple.ClientConfigRequest{MDMInfo: &ours})
	if err != nil || cc.MDMInfo == nil || *cc.MDMInfo != ours {
		t.Fatalf("claim: %+v, %v", cc, err)
	}

	assets, err := c.GetAssets(ctx, apple.AssetQuery{ProductType: "Book"})
	if err != nil {
		t.Fatal(err)
	}
	if len(assets.Assets) != 2 {
		t.Fatalf("books = %+v, want 2", assets.Assets)
	}
	for _, a := range assets.Assets {
		if a.Revocable || a.DeviceAssignable || a.TotalCount != a.AssignedCount+a.AvailableCount {
			t.Errorf("book %+v: books are neither revocable nor device-assignable, and counts add up", a)
		}
	}

	st := f.eventOf(t, c)(c.CreateUsers(ctx, []apple.RequestUser{
		{ClientUserID: "u-ann", Email: "ann@example.com"},
		{ClientUserID: "u-bob", Email: "bob@example.com"},
		{ClientUserID: "u-cat", ManagedAppleID: "cat@corp.example.com"},
	}))
	if st.Status != apple.EventComplete || st.Type != "CREATE" || st.NumRequested != 3 || st.NumCompleted != 3 {
		t.Errorf("create users status = %+v", st)
	}
	users, err := c.GetUsers(ctx, apple.UserQuery{})
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]apple.User{}
	for _, u := range users.Users {
		byID[u.ClientUserID] = u
	}
	if u := byID["u-ann"]; u.Status != "Registered" || len(u.InviteCode) != 32 {
		t.Errorf("invited user = %+v, want Registered with a 32-hex invite code", u)
	}
	if u := byID["u-cat"]; u.Status != "Associated" || u.IDHash == "" || u.InviteCode != "" {
		t.Errorf("managed user = %+v, want Associated at once with idHash and no invitation", u)
	}
	inv, err := sc.InvitationURL(byID["u-ann"].InviteCode)
	if err != nil || !strings.Contains(inv, byID["u-ann"].InviteCode) {
		t.Errorf("invitation URL %q, %v", inv, err)
	}

	st = f.eventOf(t, c)(c.AssociateAssets(ctx, apple.ManageAssetsRequest{Assets: []apple.AssetRef{book(bookA)}, ClientUserIDs: []string{"u-ann", "u-bob", "u-cat"}}))
	if st.Status != apple.EventComplete || st.Type != "ASSOCIATE" || st.NumRequested != 3 || st.NumCompleted != 3 {
		t.Errorf("associate status = %+v", st)
	}
	got, err := c.GetAssignments(ctx, apple.AssignmentQuery{AdamID: bookA, IncludeUserState: true})
	if err != nil || len(got.Assignments) != 3 {
		t.Fatalf("assignments = %+v, %v", got, err)
	}
	if got.Assignments[0].UserStatus == "" {
		t.Errorf("includeUserState: %+v lacks userStatus", got.Assignments[0])
	}
	assets, err = c.GetAssets(ctx, apple.AssetQuery{AdamID: bookA})
	if err != nil || len(assets.Assets) != 1 || assets.Assets[0].AssignedCount != 3 || assets.Assets[0].AvailableCount != 7 {
		t.Fatalf("counts after associate = %+v, %v", assets, err)
	}

	_, err = c.DisassociateAssets(ctx, apple.ManageAssetsRequest{Assets: []apple.AssetRef{book(bookA)}, ClientUserIDs: []string{"u-ann"}})
	if !errors.Is(err, apple.CodeNotRevocable) {
		t.Errorf("disassociating a book: %v, want 9706", err)
	}

	f.eventOf(t, c)(c.AssociateAssets(ctx, apple.ManageAssetsRequest{Assets: []apple.AssetRef{book(appA)}, ClientUserIDs: []string{"u-ann", "u-bob"}}))
	st = f.eventOf(t, c)(c.DisassociateAssets(ctx, apple.ManageAssetsRequest{Assets: []apple.AssetRef{book(appA)}, ClientUserIDs: []string{"u-ann"}}))
	if st.Status != apple.EventComplete || st.Type != "DISASSOCIATE" {
		t.Errorf("disassociate app status = %+v", st)
	}
	st = f.eventOf(t, c)(c.RevokeAssets(ctx, apple.RevokeAssetsRequest{ClientUserIDs: []string{"u-bob"}}))
	if st.Status != apple.EventComplete || st.Type != "REVOKE" {
		t.Errorf("revoke status = %+v", st)
	}
	got, err = c.GetAssignments(ctx, apple.AssignmentQuery{ClientUserID: "u-bob"})
	if err != nil || len(got.Assignments) != 1 || got.Assignments[0].AdamID != bookA {
		t.Errorf("after revoke u-bob holds %+v (%v); the book must stay, the app must go", got, err)
	}

	before, err := c.GetUsers(ctx, apple.UserQuery{})
	if err != nil {
		t.Fatal(err)
	}
	f.eventOf(t, c)(c.UpdateUsers(ctx, []apple.RequestUser{{ClientUserID: "u-ann", Email: "ann@new.example.com"}}))
	f.eventOf(t, c)(c.RetireUsers(ctx, []apple.RequestUser{{ClientUserID: "u-bob"}}))
	changed, err := c.GetUsers(ctx, apple.UserQuery{SinceVersionID: before.VersionID})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	for _, u := range changed.Users {
		seen[u.ClientUserID] = u.Status + " " + u.Email
	}
	if len(seen) != 2 || seen["u-ann"] != "Registered ann@new.example.com" || !strings.HasPrefix(seen["u-bob"], "Retired") {
		t.Errorf("users changed since %s = %v, want the update and the retirement only", before.VersionID, seen)
	}
	active, err := c.GetUsers(ctx, apple.UserQuery{ActiveOnly: true})
	if err != nil || len(active.Users) != 2 {
		t.Errorf("active users = %+v, %v; want 2 after one retired", active, err)
	}

	meta, err := c.LookupMetadata(ctx, []string{bookA, bookB, appA, "9999999999"}, cc.DefaultPlatform, cc.CountryISO2ACode)
	if err != nil {
		t.Fatal(err)
	}
	if m := meta[bookA]; m.Name != "The Art of Licensing" || m.ArtistName != "A. Author" || m.Kind != "ebook" || len(m.GenreNames) == 0 ||
		m.BundleID != "" || m.DeviceFamilies != nil || m.Offers != nil {
		t.Errorf("metadata of %s = %+v", bookA, m)
	}
	app := meta[appA]
	offer, ok := app.CurrentOffer()
	if app.Name != "Reader" || app.BundleID == "" || len(app.DeviceFamilies) == 0 || !ok || offer.Version.Display == "" ||
		offer.Version.ExternalID == "" || offer.PriceFormatted == "" {
		t.Errorf("metadata of app %s = %+v, want a bundle id, device families and an offer with version and price", appA, app)
	}
	if _, ok := meta["9999999999"]; ok || len(meta) != 3 {
		t.Errorf("metadata = %v, want the two known books, the app and no entry for an unknown id", meta)
	}
}

// eventOf adapts a (response, error) pair for f.event.
func (f *fixture) eventOf(t *testing.T, c *apple.Client) func(*apple.EventResponse, error) *apple.EventStatus {
	return func(r *apple.EventResponse, err error) *apple.EventStatus { return f.event(t, c, r, err) }
}

// rewriteJSON returns a mutation that edits a POST body.
func rewriteJSON(edit func(map[string]any)) func(*http.Request) {
	return func(r *http.Request) {
		if r.Body == nil || r.Method != http.MethodPost {
			return
		}
		b, _ := io.ReadAll(r.Body)
		var m map[string]any
		if json.Unmarshal(b, &m) != nil {
			return
		}
		edit(m)
		nb, _ := json.Marshal(m)
		r.Body = io.NopCloser(bytes.NewReader(nb))
		r.ContentLength = int64(len(nb))
		r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(nb)), nil }
	}
}

func duplicateFirst(key string) func(*http.Request) {
	return rewriteJSON(func(m map[string]any) {
		if list, ok := m[key].([]any); ok && len(list) > 0 {
			m[key] = append(list, list[0])
		}
	})
}

func TestSimulator_errorNumbers(t *testing.T) {
	users := func(n int) []apple.RequestUser {
		out := make([]apple.RequestUser, n)
		for i := range out {
			out[i] = apple.RequestUser{ClientUserID: fmt.Sprintf("u%d", i), Email: fmt.Sprintf("u%d@example.com", i)}
		}
		return out
	}
	strp := func(s string) *string { return &s }
	cases := []struct {
		name   string
		setup  func(f *fixture)
		call   func(ctx context.Context, c *apple.Client) error
		code   apple.Code
		status int
	}{
		{name: "9601 login required (credential stripped)", setup: func(f *fixture) { f.setMutate(func(r *http.Request) { r.Header.Set("Authorization", "Bearer ") }) },
			call: getAssets, code: apple.CodeLoginRequired, status: 401},
		{name: "9722 malformed Authorization header", setup: func(f *fixture) {
			f.setMutate(func(r *http.Request) {
				r.Header.Set("Authorization", "Token "+strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
			})
		}, call: getAssets, code: apple.CodeInvalidAuthHeader, status: 401},
		{name: "9622 unknown token", setup: func(f *fixture) {
			f.setMutate(func(r *http.Request) { r.Header.Set("Authorization", "Bearer eyJ0b2tlbiI6Im5vcGUifQ==") })
		}, call: getAssets, code: apple.CodeInvalidToken, status: 401},
		{name: "9621 expired token", setup: func(f *fixture) { must(f.sim.ExpireToken(f.token)) }, call: getAssets, code: apple.CodeTokenExpired, status: 401},
		{name: "9625 revoked token", setup: func(f *fixture) { must(f.sim.RevokeToken(f.token)) }, call: getAssets, code: apple.CodeTokenRevoked, status: 401},
		{name: "9726 wrong method", setup: func(f *fixture) {
			f.setMutate(func(r *http.Request) {
				if strings.HasSuffix(r.URL.Path, "/assets") {
					r.Method = http.MethodDelete
				}
			})
		}, call: getAssets, code: apple.CodeMethodNotAllowed, status: 405},
		{name: "9727 wrong content type", setup: func(f *fixture) { f.setMutate(func(r *http.Request) { r.Header.Set("Content-Type", "text/plain") }) },
			call: func(ctx context.Context, c *apple.Client) error { _, err := c.CreateUsers(ctx, users(1)); return err }, code: apple.CodeUnsupportedContentType, status: 415},
		{name: "9602 invalid argument", setup: func(f *fixture) {
			f.setMutate(rewriteJSON(func(m map[string]any) { m["assets"] = []any{map[string]any{"adamId": "not-a-number"}} }))
		}, call: associateA("u0"), code: apple.CodeInvalidArgument, status: 400},
		{name: "9603 internal error (fault, retries exhausted)", setup: func(f *fixture) {
			f.sim.InjectFault(applesim.Fault{Kind: applesim.FaultInternalError, Count: 10, RetryAfter: "0"})
		}, call: getAssets, code: apple.CodeInternal, status: 500},
		{name: "9729 unavailable (fault, retries exhausted)", setup: func(f *fixture) {
			f.sim.InjectFault(applesim.Fault{Kind: applesim.FaultUnavailable, Count: 10, RetryAfter: "0"})
		}, call: getAssets, code: apple.CodeServiceUnavailable, status: 503},
		{name: "9646 too many requests (fault, retries exhausted)", setup: func(f *fixture) {
			f.sim.InjectFault(applesim.Fault{Kind: applesim.FaultRateLimited, Count: 10})
		}, call: getAssets, code: apple.CodeTooManyRequests, status: 429},
		{name: "9700 too many assets (limit lowered at Apple)", setup: func(f *fixture) { f.sim.SetLimits(map[string]int{"maxAssets": 1}) },
			call: func(ctx context.Context, c *apple.Client) error {
				_, err := c.AssociateAssets(ctx, apple.ManageAssetsRequest{Assets: []apple.AssetRef{book(bookA), book(bookB)}, ClientUserIDs: []string{"u0"}})
				return err
			}, code: apple.CodeTooManyAssets, status: 400},
		{name: "9701 too many clientUserIds", setup: func(f *fixture) { f.sim.SetLimits(map[string]int{"maxClientUserIds": 1}) },
			call: associateA("u0", "u1"), code: apple.CodeTooManyClientUserIDs, status: 400},
		{name: "9702 too many serialNumbers", setup: func(f *fixture) { f.sim.SetLimits(map[string]int{"maxSerialNumbers": 1}) },
			call: func(ctx context.Context, c *apple.Client) error {
				_, err := c.AssociateAssets(ctx, apple.ManageAssetsRequest{Assets: []apple.AssetRef{book(appA)}, SerialNumbers: []string{"S1", "S2"}})
				return err
			}, code: apple.CodeTooManySerialNumbers, status: 400},
		{name: "9703 duplicate assets", setup: func(f *fixture) { f.setMutate(duplicateFirst("assets")) }, call: associateA("u0"), code: apple.CodeDuplicateAssets, status: 400},
		{name: "9704 duplicate clientUserIds", setup: func(f *fixture) { f.setMutate(duplicateFirst("clientUserIds")) }, call: associateA("u0"), code: apple.CodeDuplicateClientUserIDs, status: 400},
		{name: "9705 duplicate serialNumbers", setup: func(f *fixture) { f.setMutate(duplicateFirst("serialNumbers")) },
			call: func(ctx context.Context, c *apple.Client) error {
				_, err := c.AssociateAssets(ctx, apple.ManageAssetsRequest{Assets: []apple.AssetRef{book(appA)}, SerialNumbers: []string{"S1"}})
				return err
			}, code: apple.CodeDuplicateSerialNumbers, status: 400},
		{name: "9706 book not revocable", call: func(ctx context.Context, c *apple.Client) error {
			_, err := c.DisassociateAssets(ctx, apple.ManageAssetsRequest{Assets: []apple.AssetRef{book(bookA)}, ClientUserIDs: []string{"u0"}})
			return err
		}, code: apple.CodeNotRevocable, status: 400},
		{name: "9707 book not device-assignable", call: func(ctx context.Context, c *apple.Client) error {
			_, err := c.AssociateAssets(ctx, apple.ManageAssetsRequest{Assets: []apple.AssetRef{book(bookA)}, SerialNumbers: []string{"S1"}})
			return err
		}, code: apple.CodeNotDeviceAssignable, status: 400},
		{name: "9708 unknown event", call: func(ctx context.Context, c *apple.Client) error {
			_, err := c.EventStatus(ctx, "6ba7b810-9dad-41d1-80b4-00c04fd430c8")
			return err
		}, code: apple.CodeEventNotFound, status: 400},
		{name: "9710 notification URL without auth token", setup: func(f *fixture) {
			f.setMutate(rewriteJSON(func(m map[string]any) { m["notificationUrl"] = "https://mdm.example.com/vpp" }))
		}, call: setMDM(validMDM), code: apple.CodeNotificationPairRequired, status: 400},
		{name: "9711 notification URL too long", setup: func(f *fixture) {
			f.setMutate(rewriteJSON(func(m map[string]any) {
				m["notificationUrl"], m["notificationAuthToken"] = "https://mdm.example.com/"+strings.Repeat("a", 600), "s"
			}))
		}, call: setMDM(validMDM), code: apple.CodeNotificationTooLong, status: 400},
		{name: "9712 notification URL not HTTPS", setup: func(f *fixture) {
			f.setMutate(rewriteJSON(func(m map[string]any) {
				m["notificationUrl"], m["notificationAuthToken"] = "http://mdm.example.com/vpp", "s"
			}))
		}, call: setMDM(validMDM), code: apple.CodeInvalidNotificationURL, status: 400},
		{name: "9713 mdmInfo.metadata too long", setup: func(f *fixture) { f.setMutate(editMDM("metadata", strings.Repeat("m", 256))) },
			call: setMDM(validMDM), code: apple.CodeMDMMetadataTooLong, status: 400},
		{name: "9714 too many users (limit lowered at Apple)", setup: func(f *fixture) { f.sim.SetLimits(map[string]int{"maxUsers": 1}) },
			call: func(ctx context.Context, c *apple.Client) error { _, err := c.CreateUsers(ctx, users(2)); return err }, code: apple.CodeTooManyUsers, status: 400},
		{name: "9715 duplicate users", setup: func(f *fixture) { f.setMutate(duplicateFirst("users")) },
			call: func(ctx context.Context, c *apple.Client) error { _, err := c.CreateUsers(ctx, users(1)); return err }, code: apple.CodeDuplicateUsers, status: 400},
		{name: "9717 invalid email", call: func(ctx context.Context, c *apple.Client) error {
			_, err := c.CreateUsers(ctx, []apple.RequestUser{{ClientUserID: "u0", Email: "not an email"}})
			return err
		}, code: apple.CodeInvalidEmail, status: 400},
		{name: "9718 assets missing", setup: func(f *fixture) { f.setMutate(rewriteJSON(func(m map[string]any) { delete(m, "assets") })) },
			call: associateA("u0"), code: apple.CodeAssetsMissing, status: 400},
		{name: "9719 users and devices missing", setup: func(f *fixture) { f.setMutate(rewriteJSON(func(m map[string]any) { delete(m, "clientUserIds") })) },
			call: associateA("u0"), code: apple.CodeTargetsMissing, status: 400},
		{name: "9720 users missing", setup: func(f *fixture) { f.setMutate(rewriteJSON(func(m map[string]any) { delete(m, "users") })) },
			call: func(ctx context.Context, c *apple.Client) error { _, err := c.CreateUsers(ctx, users(1)); return err }, code: apple.CodeUsersMissing, status: 400},
		{name: "9721 unknown sinceVersionId", call: func(ctx context.Context, c *apple.Client) error {
			_, err := c.GetUsers(ctx, apple.UserQuery{SinceVersionID: "00000000-0000-1000-8000-000000000000"})
			return err
		}, code: apple.CodeInvalidVersionID, status: 400},
		{name: "9723 mdmInfo incomplete", setup: func(f *fixture) { f.setMutate(editMDM("name", nil)) },
			call: setMDM(validMDM), code: apple.CodeMDMInfoIncomplete, status: 400},
		{name: "9724 mdmInfo.id too long", setup: func(f *fixture) { f.setMutate(editMDM("id", strings.Repeat("i", 101))) },
			call: setMDM(validMDM), code: apple.CodeMDMIDTooLong, status: 400},
		{name: "9725 mdmInfo.name too long", setup: func(f *fixture) { f.setMutate(editMDM("name", strings.Repeat("n", 101))) },
			call: setMDM(validMDM), code: apple.CodeMDMNameTooLong, status: 400},
		{name: "9728 notification URL unreachable", call: func(ctx context.Context, c *apple.Client) error {
			_, err := c.SetClientConfig(ctx, apple.ClientConfigRequest{NotificationURL: strp("https://127.0.0.1:1/vpp"), NotificationAuthToken: strp("s")})
			return err
		}, code: apple.CodeNotificationUnreachable, status: 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, fixtureOpts{sim: applesim.Options{DisableRateLimit: true}})
			c := f.client(t, func(cfg *apple.Config) { cfg.RetryMax = 1 })
			ctx := context.Background()
			if _, err := c.ServiceConfig(ctx); err != nil { // cache Apple's limits before any change
				t.Fatal(err)
			}
			if tc.setup != nil {
				tc.setup(f)
			}
			err := tc.call(ctx, c)
			if !errors.Is(err, tc.code) {
				t.Fatalf("error = %v, want %d", err, int(tc.code))
			}
			var apiErr *apple.APIError
			if !errors.As(err, &apiErr) || apiErr.StatusCode != tc.status {
				t.Fatalf("error %#v, want an APIError with HTTP %d", err, tc.status)
			}
			if strings.Contains(err.Error(), f.token) {
				t.Fatal("error text contains the token")
			}
		})
	}
}

func getAssets(ctx context.Context, c *apple.Client) error {
	_, err := c.GetAssets(ctx, apple.AssetQuery{})
	return err
}

func associateA(users ...string) func(context.Context, *apple.Client) error {
	return func(ctx context.Context, c *apple.Client) error {
		_, err := c.AssociateAssets(ctx, apple.ManageAssetsRequest{Assets: []apple.AssetRef{book(bookA)}, ClientUserIDs: users})
		return err
	}
}

func setMDM(m apple.MDMInfo) func(context.Context, *apple.Client) error {
	return func(ctx context.Context, c *apple.Client) error {
		_, err := c.SetClientConfig(ctx, apple.ClientConfigRequest{MDMInfo: &m})
		return err
	}
}

var validMDM = apple.MDMInfo{ID: "engine-1", Name: "terraform-provider-vpp", Metadata: "test"}

// editMDM sets (or, with nil, removes) one mdmInfo field of a POST /client/config body.
func editMDM(field string, value any) func(*http.Request) {
	return rewriteJSON(func(m map[string]any) {
		info, _ := m["mdmInfo"].(map[string]any)
		if info == nil {
			return
		}
		if value == nil {
			delete(info, field)
		} else {
			info[field] = value
		}
	})
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

// failuresByCode flattens an event's failures.
func failuresByCode(st *apple.EventStatus) map[apple.Code][]string {
	out := map[apple.Code][]string{}
	for _, f := range st.Failures {
		out[f.Code] = append(out[f.Code], f.ClientUserIDs...)
	}
	return out
}

func TestSimulator_asyncFailures(t *testing.T) {
	f := newFixture(t, fixtureOpts{sim: applesim.Options{DisableRateLimit: true}})
	c := f.client(t, nil)
	ctx := context.Background()
	ev := f.eventOf(t, c)

	st := ev(c.CreateUsers(ctx, []apple.RequestUser{{ClientUserID: "a", Email: "a@example.com"}, {ClientUserID: "b", Email: "b@example.com"}, {ClientUserID: "c", Email: "c@example.com"}}))
	if st.Status != apple.EventComplete {
		t.Fatalf("create = %+v", st)
	}

	// 9709: book B has 2 licenses; three users ask for it.
	st = ev(c.AssociateAssets(ctx, apple.ManageAssetsRequest{Assets: []apple.AssetRef{book(bookB)}, ClientUserIDs: []string{"a", "b", "c"}}))
	if st.Status != apple.EventFailed || st.NumRequested != 3 || st.NumCompleted != 2 || len(failuresByCode(st)[apple.CodeNotEnoughLicenses]) != 1 {
		t.Errorf("associate beyond licenses = %+v, want FAILED 2 of 3 with one 9709", st)
	}

	// 9609: an unknown user; the other user's task completes. 2 assets x 2 users = 4 tasks.
	st = ev(c.AssociateAssets(ctx, apple.ManageAssetsRequest{Assets: []apple.AssetRef{book(bookA), book(appA)}, ClientUserIDs: []string{"a", "ghost"}}))
	if st.NumRequested != 4 || st.NumCompleted != 2 || st.Status != apple.EventFailed {
		t.Errorf("associate with unknown user = %+v, want FAILED 2 of 4", st)
	}
	if ids := failuresByCode(st)[apple.CodeUserNotFound]; len(ids) != 1 || ids[0] != "ghost" {
		t.Errorf("9609 failures = %v, want [ghost] (grouped once per errorNumber)", ids)
	}

	// 9716: create on an active clientUserId.
	st = ev(c.CreateUsers(ctx, []apple.RequestUser{{ClientUserID: "a", Email: "a@example.com"}}))
	if ids := failuresByCode(st)[apple.CodeUserExists]; st.Status != apple.EventFailed || len(ids) != 1 {
		t.Errorf("create existing = %+v, want 9716", st)
	}
	// 9635: a Managed Apple Account outside the location's domains; 9641: one already linked.
	st = ev(c.CreateUsers(ctx, []apple.RequestUser{{ClientUserID: "m1", ManagedAppleID: "m1@other.example.org"}, {ClientUserID: "m2", ManagedAppleID: "m2@corp.example.com"}}))
	if ids := failuresByCode(st)[apple.CodeCannotAssociateAccount]; len(ids) != 1 || ids[0] != "m1" {
		t.Errorf("managed account of another org: %+v, want 9635 for m1", st)
	}
	st = ev(c.CreateUsers(ctx, []apple.RequestUser{{ClientUserID: "m3", ManagedAppleID: "m2@corp.example.com"}}))
	if ids := failuresByCode(st)[apple.CodeAccountAlreadyAssociated]; len(ids) != 1 {
		t.Errorf("managed account already linked: %+v, want 9641", st)
	}
	// 9609 on update/retire of an unknown user.
	st = ev(c.RetireUsers(ctx, []apple.RequestUser{{ClientUserID: "nobody"}}))
	if ids := failuresByCode(st)[apple.CodeUserNotFound]; len(ids) != 1 {
		t.Errorf("retire unknown: %+v, want 9609", st)
	}
}

func TestSimulator_pagingWhileDataChanges(t *testing.T) {
	f := newFixture(t, fixtureOpts{sim: applesim.Options{DisableRateLimit: true, PageSize: 2}})
	c := f.client(t, nil)
	ctx := context.Background()
	var reqs []apple.RequestUser
	for i := 0; i < 7; i++ {
		reqs = append(reqs, apple.RequestUser{ClientUserID: fmt.Sprintf("p%02d", i), Email: fmt.Sprintf("p%02d@example.com", i)})
	}
	f.eventOf(t, c)(c.CreateUsers(ctx, reqs))

	first, err := c.GetUsers(ctx, apple.UserQuery{})
	if err != nil || len(first.Users) != 7 {
		t.Fatalf("7 users over 4 pages: %d, %v", len(first.Users), err)
	}

	// While the next walk is under way, four users arrive: totalPages grows from 4 to 6 and the
	// versionId changes. The walk must restart and return every user exactly once.
	side := f.client(t, nil)
	var once sync.Once
	f.setMutate(func(r *http.Request) {
		if r.URL.Path != "/mdm/v2/users" || r.URL.Query().Get("pageIndex") != "1" {
			return
		}
		once.Do(func() {
			var more []apple.RequestUser
			for i := 7; i < 11; i++ {
				more = append(more, apple.RequestUser{ClientUserID: fmt.Sprintf("p%02d", i), Email: fmt.Sprintf("p%02d@example.com", i)})
			}
			if _, err := side.CreateUsers(context.Background(), more); err != nil {
				t.Error(err)
			}
			f.sim.ProcessPendingEvents()
		})
	})
	f.sim.ResetStats()
	got, err := c.GetUsers(ctx, apple.UserQuery{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, u := range got.Users {
		seen[u.ClientUserID]++
	}
	if len(got.Users) != 11 || len(seen) != 11 {
		t.Errorf("walk returned %d users (%d distinct), want all 11 once", len(got.Users), len(seen))
	}
	// At least page 0 and page 1 of the aborted walk (the restart cancels its other pages), then
	// all 6 pages of the new one.
	if n := f.sim.Stats().Requests["GET /users"]; n < 2+6 {
		t.Errorf("GET /users requests = %d, want the aborted walk plus a full new one (>= 8)", n)
	}
}

// A page that Apple says is out of range (9650) means the list shrank under the walk: the walk
// starts over, and gives up after a bounded number of restarts rather than returning a partial list.
func TestSimulator_pageOutOfRangeRestartsWalk(t *testing.T) {
	f := newFixture(t, fixtureOpts{sim: applesim.Options{DisableRateLimit: true, PageSize: 1}})
	c := f.client(t, nil)
	f.setMutate(func(r *http.Request) {
		if q := r.URL.Query(); r.URL.Path == "/mdm/v2/assets" && q.Get("pageIndex") == "1" {
			q.Set("pageIndex", "7")
			r.URL.RawQuery = q.Encode()
		}
	})
	_, err := c.GetAssets(context.Background(), apple.AssetQuery{})
	if !errors.Is(err, apple.ErrListUnstable) || !strings.Contains(err.Error(), "out of range") {
		t.Fatalf("error = %v, want ErrListUnstable naming the out-of-range page", err)
	}
	if n := f.sim.Stats().Requests["GET /assets"]; n < 2*6 {
		t.Errorf("GET /assets requests = %d, want page 0 and page 1 for each of the 6 attempts", n)
	}
}

func TestSimulator_rateLimit(t *testing.T) {
	ctx := context.Background()
	t.Run("client paces itself at maxRequestPerSecond", func(t *testing.T) {
		f := newFixture(t, fixtureOpts{sim: applesim.Options{Limits: map[string]int{"maxRequestPerSecond": 40}}})
		c := f.client(t, func(cfg *apple.Config) { cfg.RequestsPerSecond = 0 })
		for i := 0; i < 60; i++ {
			if _, err := c.GetAssets(ctx, apple.AssetQuery{}); err != nil {
				t.Fatal(err)
			}
		}
		if st := f.sim.Stats(); st.RateLimited != 0 {
			t.Errorf("simulator answered 429 %d times; the client's limiter must set the pace", st.RateLimited)
		}
	})
	t.Run("429 from Apple is retried with backoff", func(t *testing.T) {
		f := newFixture(t, fixtureOpts{sim: applesim.Options{Limits: map[string]int{"maxRequestPerSecond": 5}}})
		c := f.client(t, func(cfg *apple.Config) {
			cfg.RetryMax = 10
			cfg.RetryWaitMin = 100 * time.Millisecond
			cfg.RetryWaitMax = time.Second
		})
		for i := 0; i < 12; i++ {
			if _, err := c.GetAssets(ctx, apple.AssetQuery{}); err != nil {
				t.Fatalf("request %d: %v", i, err)
			}
		}
		if st := f.sim.Stats(); st.RateLimited == 0 {
			t.Error("expected the simulator to rate-limit a client running above maxRequestPerSecond")
		}
	})
}

func TestSimulator_retryAfterBothForms(t *testing.T) {
	ctx := context.Background()
	for name, value := range map[string]func() string{
		"seconds":   func() string { return "1" },
		"HTTP-date": func() string { return applesim.RetryAfterDate(time.Now().Add(2 * time.Second)) },
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, fixtureOpts{sim: applesim.Options{DisableRateLimit: true}})
			c := f.client(t, nil)
			if _, err := c.ServiceConfig(ctx); err != nil {
				t.Fatal(err)
			}
			f.sim.InjectFault(applesim.Fault{Endpoint: "GET /assets", Kind: applesim.FaultUnavailable, Count: 1, RetryAfter: value()})
			f.sim.ResetStats()
			start := time.Now()
			if _, err := c.GetAssets(ctx, apple.AssetQuery{}); err != nil {
				t.Fatal(err)
			}
			// A lower bound only: the client must have waited as Apple asked (backoff alone is 5 ms).
			if waited := time.Since(start); waited < 900*time.Millisecond {
				t.Errorf("retried after %v; Retry-After asked for about a second", waited)
			}
			if n := f.sim.Stats().Requests["GET /assets"]; n != 2 {
				t.Errorf("GET /assets requests = %d, want 2", n)
			}
		})
	}
}

func TestSimulator_faults(t *testing.T) {
	ctx := context.Background()
	created := func(f *fixture) int { return len(f.sim.Users(f.loc.UID)) }
	create := func(c *apple.Client) error {
		_, err := c.CreateUsers(ctx, []apple.RequestUser{{ClientUserID: "f1", Email: "f1@example.com"}})
		return err
	}
	cases := []struct {
		kind applesim.FaultKind
		// for a POST: whether the client may retry (Apple said it did not apply the request)
		postRetried bool
	}{
		{applesim.FaultRateLimited, true},
		// A server error may follow work Apple did: the caller reconciles instead.
		{applesim.FaultInternalError, false},
		{applesim.FaultUnavailable, false},
		{applesim.FaultErrorBody, false}, // 9603 in a 200
		{applesim.FaultResetBefore, false},
		{applesim.FaultResetAfter, false},
		{applesim.FaultSlow, false},
	}
	for _, tc := range cases {
		t.Run(string(tc.kind), func(t *testing.T) {
			f := newFixture(t, fixtureOpts{sim: applesim.Options{DisableRateLimit: true}})
			c := f.client(t, func(cfg *apple.Config) { cfg.RequestTimeout = 300 * time.Millisecond })
			if _, err := c.ServiceConfig(ctx); err != nil {
				t.Fatal(err)
			}
			fault := applesim.Fault{Kind: tc.kind, Count: 1, RetryAfter: "0", Delay: 2 * time.Second}

			// Reads are always retried.
			fault.Endpoint = "GET /assets"
			f.sim.InjectFault(fault)
			if _, err := c.GetAssets(ctx, apple.AssetQuery{}); err != nil {
				t.Errorf("GET after %s: %v, want success on retry", tc.kind, err)
			}

			// Writes are replayed only when Apple said the request was not applied: the rate limit.
			fault.Endpoint = "POST /users/create"
			f.sim.InjectFault(fault)
			f.sim.ResetStats()
			err := create(c)
			f.sim.ProcessPendingEvents()
			posts := f.sim.Stats().Requests["POST /users/create"]
			if tc.postRetried {
				if err != nil || posts != 2 || created(f) != 1 {
					t.Errorf("POST after %s: err=%v posts=%d users=%d, want one retry creating the user once", tc.kind, err, posts, created(f))
				}
				return
			}
			if !errors.Is(err, apple.ErrOutcomeUnknown) {
				t.Errorf("POST after %s: %v, want an outcome-unknown error", tc.kind, err)
			}
			if posts != 1 {
				t.Errorf("POST after %s sent %d times; a request whose outcome is unknown must not be replayed", tc.kind, posts)
			}
			wantUsers := 0
			if tc.kind == applesim.FaultResetAfter {
				wantUsers = 1 // Apple applied it; only the answer was lost
			}
			if got := created(f); got != wantUsers {
				t.Errorf("users at Apple after %s = %d, want %d", tc.kind, got, wantUsers)
			}
		})
	}
}

// TestSimulator_tokenErrorsAsHTTP200 runs the client against the "200 with an error body" quirk.
func TestSimulator_tokenErrorsAsHTTP200(t *testing.T) {
	f := newFixture(t, fixtureOpts{sim: applesim.Options{DisableRateLimit: true, Quirks: applesim.Quirks{TokenErrorsAsOK: true}}})
	c := f.client(t, nil)
	must(f.sim.RevokeToken(f.token))
	_, err := c.GetAssets(context.Background(), apple.AssetQuery{})
	var apiErr *apple.APIError
	if !errors.Is(err, apple.CodeTokenRevoked) || !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusOK {
		t.Fatalf("error = %v, want 9625 decoded from an HTTP 200 body", err)
	}
}

func TestSimulator_mdmConflictAndLocation(t *testing.T) {
	f := newFixture(t, fixtureOpts{sim: applesim.Options{DisableRateLimit: true}})
	c := f.client(t, nil)
	ctx := context.Background()
	ours := apple.MDMInfo{ID: "engine-1", Name: "terraform-provider-vpp", Metadata: "test"}
	if _, err := c.SetClientConfig(ctx, apple.ClientConfigRequest{MDMInfo: &ours}); err != nil {
		t.Fatal(err)
	}
	must(f.sim.OverwriteMDMInfo(f.loc.UID, applesim.MDMInfo{ID: "jamf-42", Name: "Jamf Pro", Metadata: "11.0"}))
	cc, err := c.GetClientConfig(ctx)
	var conflict *apple.MDMConflictError
	if !errors.As(err, &conflict) || conflict.Found.ID != "jamf-42" || cc == nil {
		t.Fatalf("client config after another MDM claimed the location: %+v, %v", cc, err)
	}
	if _, err := c.GetAssets(ctx, apple.AssetQuery{}); !errors.Is(err, apple.ErrMDMConflict) {
		t.Errorf("GET /assets under a foreign claim: %v, want ErrMDMConflict", err)
	}

	// A client pinned to another location refuses this one's answers.
	tok, _ := apple.ParseToken(f.token)
	other, err := apple.NewClient(apple.Config{BaseURL: f.srv.URL + "/mdm/v2", Token: tok, LocationUID: "123", RequestsPerSecond: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.GetAssets(ctx, apple.AssetQuery{}); !errors.Is(err, apple.ErrLocationMismatch) {
		t.Errorf("uId mismatch: %v, want ErrLocationMismatch", err)
	}
}

// TestConformance_simulatorMatchesDocumentedExamples checks that the simulator's responses carry
// the fields of Apple's documented examples, with the same JSON types, and no field Apple does not
// document.
func TestConformance_simulatorMatchesDocumentedExamples(t *testing.T) {
	f := newFixture(t, fixtureOpts{sim: applesim.Options{DisableRateLimit: true, PageSize: 2}})
	c := f.client(t, nil)
	ctx := context.Background()
	ours := apple.MDMInfo{ID: "engine-1", Name: "terraform-provider-vpp", Metadata: "test"}
	if _, err := c.SetClientConfig(ctx, apple.ClientConfigRequest{MDMInfo: &ours}); err != nil {
		t.Fatal(err)
	}
	f.eventOf(t, c)(c.CreateUsers(ctx, []apple.RequestUser{{ClientUserID: "c1", Email: "c1@example.com"}, {ClientUserID: "c2", Email: "c2@example.com"}, {ClientUserID: "c3", Email: "c3@example.com"}}))
	resp, err := c.AssociateAssets(ctx, apple.ManageAssetsRequest{Assets: []apple.AssetRef{book(bookB)}, ClientUserIDs: []string{"c1", "c2", "c3"}})
	if err != nil {
		t.Fatal(err)
	}
	pendingStatus := rawGet(t, f, "/mdm/v2/status?eventId="+resp.EventID)
	f.sim.ProcessPendingEvents()
	failedStatus := rawGet(t, f, "/mdm/v2/status?eventId="+resp.EventID)
	f.eventOf(t, c)(c.RetireUsers(ctx, []apple.RequestUser{{ClientUserID: "c3"}}))

	// Optional keys: present only in some states (mdmInfo once claimed, nextPageIndex when
	// another page exists, failures on FAILED events, per-user fields by status).
	optional := map[string]bool{"mdmInfo": true, "nextPageIndex": true, "failures": true, "inviteCode": true, "email": true,
		"idHash": true, "errorInfo": true, "notificationAuthToken": true, "notificationUrl": true, "subscribedNotificationTypes": true,
		"language": true, "unlimitedAssets": true, "clientUserIds": true, "serialNumbers": true, "assets": true,
		"serialNumber": true, "clientUserId": true}

	cases := []struct {
		example string
		sim     any
	}{
		{"service-config.json", rawGetNoAuth(t, f, "/mdm/v2/service/config")},
		{"client-config.json", rawGet(t, f, "/mdm/v2/client/config")},
		{"get-assets.json", rawGet(t, f, "/mdm/v2/assets")},
		{"get-assignments.json", rawGet(t, f, "/mdm/v2/assignments")},
		{"get-assignments-user-state.json", rawGet(t, f, "/mdm/v2/assignments?includeUserState=true")},
		{"get-users.json", rawGet(t, f, "/mdm/v2/users")},
		{"status-pending.json", pendingStatus},
		{"status-failed.json", failedStatus},
		{"error-response.json", rawDo(t, f, http.MethodDelete, "/mdm/v2/assets", true)},
		{"error-token-revoked.json", rawGetWith(t, f, "/mdm/v2/assets", "Bearer eyJ0b2tlbiI6Im5vcGUifQ==")},
		{"lookup.json", rawLookup(t, f, c)},
	}
	for _, tc := range cases {
		t.Run(tc.example, func(t *testing.T) {
			b, err := readExample(tc.example)
			if err != nil {
				t.Fatal(err)
			}
			var doc any
			if err := json.Unmarshal(b, &doc); err != nil {
				t.Fatal(err)
			}
			for _, d := range shapeDiff("$", doc, tc.sim, optional) {
				t.Error(d)
			}
		})
	}
}

func readExample(name string) ([]byte, error) {
	return os.ReadFile("testdata/examples/" + name)
}

// shapeDiff lists where sim differs from doc: a documented key missing (unless optional), a key
// Apple does not document, or a different JSON type. Arrays compare their elements' shapes; maps
// keyed by ids (the lookup's results) compare values.
func shapeDiff(path string, doc, sim any, optional map[string]bool) []string {
	var out []string
	switch d := doc.(type) {
	case map[string]any:
		s, ok := sim.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: simulator has %s, Apple documents an object", path, kind(sim))}
		}
		if isIDMap(d) {
			for k, v := range s {
				out = append(out, shapeDiff(path+"["+k+"]", idMapProto(d, v), v, optional)...)
			}
			return out
		}
		for k, dv := range d {
			sv, present := s[k]
			if !present {
				if !optional[k] {
					out = append(out, fmt.Sprintf("%s.%s: documented by Apple, missing from the simulator", path, k))
				}
				continue
			}
			out = append(out, shapeDiff(path+"."+k, dv, sv, optional)...)
		}
		for k := range s {
			if _, documented := d[k]; !documented && !optional[k] && !isIDMap(s) {
				out = append(out, fmt.Sprintf("%s.%s: the simulator sends a field Apple's example does not have", path, k))
			}
		}
	case []any:
		s, ok := sim.([]any)
		if !ok {
			return []string{fmt.Sprintf("%s: simulator has %s, Apple documents an array", path, kind(sim))}
		}
		if len(d) > 0 {
			for i, sv := range s {
				out = append(out, shapeDiff(fmt.Sprintf("%s[%d]", path, i), d[0], sv, optional)...)
			}
		}
	default:
		// The lookup's id is a number in some of Apple's samples and a string in live answers.
		idAsString := strings.HasSuffix(path, ".id") && kind(sim) == "string"
		if kind(doc) != kind(sim) && !idAsString {
			out = append(out, fmt.Sprintf("%s: simulator has %s, Apple documents %s", path, kind(sim), kind(doc)))
		}
	}
	return out
}

// idMapProto returns the documented value of an id map that a simulated one must look like: the
// one of the same "kind" (the lookup's app or book), else the first by id.
func idMapProto(doc map[string]any, sim any) any {
	kindOf := func(v any) any {
		m, _ := v.(map[string]any)
		return m["kind"]
	}
	ids := slices.Sorted(maps.Keys(doc))
	for _, id := range ids {
		if k := kindOf(sim); k != nil && kindOf(doc[id]) == k {
			return doc[id]
		}
	}
	return doc[ids[0]]
}

func isIDMap(m map[string]any) bool {
	if len(m) == 0 {
		return false
	}
	for k := range m {
		if _, err := fmt.Sscanf(k, "%d", new(int64)); err != nil || strings.Trim(k, "0123456789") != "" {
			return false
		}
	}
	return true
}

func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "boolean"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

func rawDo(t *testing.T, f *fixture, method, path string, auth bool) any {
	t.Helper()
	req, _ := http.NewRequest(method, f.srv.URL+path, nil)
	if auth {
		req.Header.Set("Authorization", "Bearer "+f.token)
	}
	v, err := sendForJSON(t, req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return v
}

// sendForJSON sends req, failing the test when it cannot, and returns the response body decoded
// from JSON, with the error of a body that is not JSON.
func sendForJSON(t *testing.T, req *http.Request) (any, error) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v any
	err = json.NewDecoder(resp.Body).Decode(&v)
	return v, err
}

func rawGet(t *testing.T, f *fixture, path string) any {
	return rawDo(t, f, http.MethodGet, path, true)
}

func rawGetNoAuth(t *testing.T, f *fixture, path string) any {
	return rawDo(t, f, http.MethodGet, path, false)
}

func rawGetWith(t *testing.T, f *fixture, path, authz string) any {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, f.srv.URL+path, nil)
	req.Header.Set("Authorization", authz)
	v, _ := sendForJSON(t, req)
	return v
}

func rawLookup(t *testing.T, f *fixture, c *apple.Client) any {
	t.Helper()
	sc, err := c.ServiceConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(sc.URLs["contentMetadataLookup"])
	q := url.Values{"version": {"2"}, "p": {"mdm-lockup"}, "caller": {"MDM"}, "platform": {"enterprisestore"}, "cc": {"US"}, "l": {"en"}, "id": {bookA + "," + appA}}
	u.RawQuery = q.Encode()
	req, _ := http.NewRequest(http.MethodGet, u.String(), nil)
	req.AddCookie(&http.Cookie{Name: "itvt", Value: f.token})
	v, err := sendForJSON(t, req)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// The lookup's results are compared by kind: a simulated book must look like the documented
// book, whatever order the map holds them in, so app-only fields on a book are reported.
func TestShapeDiff_comparesLookupResultsByKind(t *testing.T) {
	doc := map[string]any{"results": map[string]any{
		"1": map[string]any{"kind": "software", "bundleId": "a"},
		"2": map[string]any{"kind": "ebook"},
	}}
	appLike := map[string]any{"kind": "ebook", "bundleId": "a"}
	for range 20 { // map order varies between runs
		got := shapeDiff("$", doc, map[string]any{"results": map[string]any{"9": appLike}}, nil)
		if len(got) != 1 || !strings.Contains(got[0], "$.results[9].bundleId: the simulator sends a field") {
			t.Fatalf("book with an app field: %q", got)
		}
		if got := shapeDiff("$", doc, map[string]any{"results": map[string]any{"8": map[string]any{"kind": "software"}}}, nil); len(got) != 1 {
			t.Fatalf("app without bundleId: %q", got)
		}
	}
}

// The conformance comparison must be able to fail: it reports a documented key the simulator
// lacks, a key Apple does not document, and a change of JSON type.
func TestShapeDiff_reportsEachKindOfDifference(t *testing.T) {
	doc := map[string]any{"uId": "1", "size": 2.0, "users": []any{map[string]any{"status": "Registered"}}}
	for name, tc := range map[string]struct {
		sim  any
		want string
	}{
		"missing": {map[string]any{"uId": "1", "users": []any{}}, "$.size: documented by Apple, missing"},
		"extra":   {map[string]any{"uId": "1", "size": 2.0, "users": []any{}, "bogus": true}, "$.bogus: the simulator sends a field"},
		"type":    {map[string]any{"uId": 1.0, "size": 2.0, "users": []any{}}, "$.uId: simulator has number, Apple documents string"},
		"nested":  {map[string]any{"uId": "1", "size": 2.0, "users": []any{map[string]any{"status": 3.0}}}, "$.users[0].status: simulator has number"},
	} {
		diffs := shapeDiff("$", doc, tc.sim, nil)
		if len(diffs) != 1 || !strings.HasPrefix(diffs[0], tc.want) {
			t.Errorf("%s: diffs = %q, want one starting %q", name, diffs, tc.want)
		}
	}
	if d := shapeDiff("$", doc, map[string]any{"uId": "9", "size": 5.0, "users": []any{map[string]any{"status": "Retired"}}}, nil); len(d) != 0 {
		t.Errorf("same shape, other values: %q, want no difference", d)
	}
}
