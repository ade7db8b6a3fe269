package apple

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"
)

// The documented examples in testdata/examples decode into the client's types
// with the values Apple shows, and the requests the client builds match
// Apple's example requests. See testdata/examples/README.md for sources.

func example(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "examples", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decodeExample(t *testing.T, name string, v any) {
	t.Helper()
	if err := json.Unmarshal(example(t, name), v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

var exampleExpiry = time.Date(2030, 11, 8, 22, 33, 22, 0, time.UTC)

func checkEnvelopeExample(t *testing.T, name string, e Envelope) {
	t.Helper()
	if e.UID != "2049025000431439" || e.TokenExpiration == nil || !e.TokenExpiration.Equal(exampleExpiry) {
		t.Errorf("%s: envelope %+v", name, e)
	}
}

func TestExampleServiceConfig(t *testing.T) {
	sc, err := decodeServiceConfig(example(t, "service-config.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := Limits{
		MaxAssets: 25, MaxClientUserIDs: 1000, MaxSerialNumbers: 1000, MaxRevokeClientUserIDs: 100, MaxRevokeSerialNumbers: 100,
		MaxUsers: 100, MaxNotificationLength: 512, MaxMDMNameLength: 100, MaxMDMMetadataLength: 255, MaxMDMIDLength: 100,
		MaxRequestPerSecond: 15, MaxSubscriptions: 25, MaxSubscriptionClientUserIDs: 1000,
	}
	if sc.Limits != want || want != DefaultLimits() {
		t.Errorf("limits %+v", sc.Limits)
	}
	if len(sc.ErrorCodes) != 38 || sc.ErrorCodes[0] != (ErrorCodeInfo{Code: CodeLoginRequired, Message: "Login required."}) ||
		sc.ErrorCodes[37].Code != CodeNotificationUnreachable {
		t.Errorf("errorCodes %d: %+v", len(sc.ErrorCodes), sc.ErrorCodes[0])
	}
	for _, ec := range sc.ErrorCodes {
		if _, named := codeText[ec.Code]; !named {
			t.Errorf("documented error %d has no named Code", ec.Code)
		}
	}
	if !slices.Equal(sc.NotificationTypes, []string{"ASSET_MANAGEMENT", "USER_MANAGEMENT", "USER_ASSOCIATED", "ASSET_COUNT"}) {
		t.Errorf("notificationTypes %v", sc.NotificationTypes)
	}
	if len(sc.URLs) != 13 || sc.URLs["contentMetadataLookup"] != "https://uclient-api.itunes.apple.com/WebObjects/MZStorePlatform.woa/wa/lookup" ||
		sc.URLs["eventStatus"] != "https://vpp.itunes.apple.com/mdm/v2/status" {
		t.Errorf("urls %v", sc.URLs)
	}
	invite, err := sc.InvitationURL("46bc93ea3acd41e0a4919c02db0d7d3a")
	if err != nil || invite != "https://buy.itunes.apple.com/WebObjects/MZFinance.woa/wa/associateVPPUserWithITSAccount?inviteCode=46bc93ea3acd41e0a4919c02db0d7d3a&mt=8" {
		t.Errorf("invitation %q, %v", invite, err)
	}
}

func TestExampleClientConfig(t *testing.T) {
	var w clientConfigWire
	decodeExample(t, "client-config.json", &w)
	cc := w.config()
	checkEnvelopeExample(t, "client-config", cc.Envelope)
	want := &ClientConfig{
		Envelope:                    cc.Envelope,
		CountryISO2ACode:            "US",
		DefaultPlatform:             PlatformEducation,
		LocationName:                "PS01",
		NotificationAuthToken:       "SUp3rS3Cr3t",
		NotificationURL:             "https://www.next.com/notification",
		SubscribedNotificationTypes: []string{"ASSET_COUNT", "ASSET_MANAGEMENT", "USER_MANAGEMENT", "USER_ASSOCIATED"},
		WebsiteURL:                  "https://school.apple.com",
	}
	if !reflect.DeepEqual(cc, want) || *cc.MDMInfo != (MDMInfo{ID: "522d5c43-44ca-4f7e-ba7a-53570cf60765", Name: "Apple Configurator 2", Metadata: "2.13.3"}) {
		t.Errorf("got %+v", cc)
	}

	// The request the client would send equals Apple's example request.
	url, secret := "https://www.next.com/notification", "SUp3rS3Cr3t"
	sameJSON(t, "request-client-config.json", ClientConfigRequest{
		MDMInfo:               cc.MDMInfo,
		NotificationURL:       &url,
		NotificationAuthToken: &secret,
		NotificationTypes:     []string{"ASSET_COUNT", "ASSET_MANAGEMENT", "USER_MANAGEMENT", "USER_ASSOCIATED"},
	})
	if err := (ClientConfigRequest{MDMInfo: cc.MDMInfo, NotificationURL: &url, NotificationAuthToken: &secret}).validate(DefaultLimits()); err != nil {
		t.Errorf("Apple's example request refused: %v", err)
	}
}

func TestExampleGetAssets(t *testing.T) {
	var p assetsPage
	decodeExample(t, "get-assets.json", &p)
	checkEnvelopeExample(t, "get-assets", p.envelope())
	if p.NextPageIndex != nil || *p.TotalPages != 1 || *p.CurrentPageIndex != 0 || p.VersionID != "70e8c740-514c-11eb-bb63-a90b882fcd52" {
		t.Errorf("paging %+v", p.pageFields)
	}
	want := Asset{
		AdamID: "408709785", PricingParam: PricingSTDQ, ProductType: ProductApp,
		AssignedCount: 5000, AvailableCount: 10000, TotalCount: 15000, RetiredCount: 0,
		Revocable: true, DeviceAssignable: true, SupportedPlatforms: []string{"iOS"},
	}
	if len(p.Assets) != 5 || !reflect.DeepEqual(p.Assets[0], want) || p.Assets[4].AdamID != "361285480" || p.Assets[0].Unlimited() {
		t.Errorf("assets %+v", p.Assets)
	}
}

func TestExampleGetAssignments(t *testing.T) {
	var p assignmentsPage
	decodeExample(t, "get-assignments.json", &p)
	checkEnvelopeExample(t, "get-assignments", p.envelope())
	want := Assignment{AdamID: "408709785", PricingParam: PricingSTDQ, SerialNumber: "443d8def-f14b-4422-9997-75c83f595c24"}
	if len(p.Assignments) != 5 || p.Assignments[0] != want || p.VersionID != "ef149b10-55c7-11eb-a8a1-490feefbbca0" || p.NextPageIndex != nil {
		t.Errorf("got %+v", p)
	}

	var s assignmentsPage
	decodeExample(t, "get-assignments-user-state.json", &s)
	want = Assignment{AdamID: "408709785", PricingParam: PricingSTDQ, ClientUserID: "client-100", IDHash: "leSKk3IaE2vk2KLmv2k3/200D3=", UserStatus: UserAssociated}
	if len(s.Assignments) != 2 || s.Assignments[0] != want || s.Assignments[1].UserStatus != UserRegistered || *s.NextPageIndex != 1 || *s.TotalPages != 2 {
		t.Errorf("got %+v", s)
	}
}

func TestExampleGetUsers(t *testing.T) {
	var p usersPage
	decodeExample(t, "get-users.json", &p)
	checkEnvelopeExample(t, "get-users", p.envelope())
	want := []User{
		{ClientUserID: "client-101", Email: "client-101@apple.com", InviteCode: "46bc93ea3acd41e0a4919c02db0d7d3a", Status: UserRegistered},
		{ClientUserID: "client-102", Email: "client-102@apple.com", InviteCode: "d2ab1319ff6448f89bb1b0e010cf68e0", Status: UserRegistered},
		{ClientUserID: "client-103", Email: "client-1031@apple.com", Status: UserRetired},
	}
	if !slices.Equal(p.Users, want) || p.VersionID != "021f10a0-7035-11eb-9f67-bd1df52e1e13" {
		t.Errorf("got %+v", p)
	}

	var a usersPage
	decodeExample(t, "get-users-associated.json", &a)
	if len(a.Users) != 1 || a.Users[0] != (User{ClientUserID: "client-100", Email: "client-100@apple.com", IDHash: "leSKk3IaE2vk2KLmv2k3/200D3=", InviteCode: "f551b37da07146628e8dcbe0111f0364", Status: UserAssociated}) {
		t.Errorf("got %+v", a.Users)
	}
}

func TestExampleEvents(t *testing.T) {
	var w eventWire
	decodeExample(t, "event-response.json", &w)
	ev := w.event()
	checkEnvelopeExample(t, "event-response", ev.Envelope)
	if ev.EventID != "954910a8-3d9c-4fde-948d-253e5aef431a" || ev.MDMInfo != nil {
		t.Errorf("got %+v", ev)
	}

	sameJSON(t, "request-associate-assets.json", ManageAssetsRequest{
		Assets:        []AssetRef{{AdamID: "408709785"}, {AdamID: "377298193"}},
		ClientUserIDs: []string{"client-1", "client-2", "client-3", "client-4"},
		SerialNumbers: []string{"serial-1", "serial-2", "serial-3", "serial-4"},
	})
	sameJSON(t, "request-create-users.json", manageUsersRequest{Users: []RequestUser{
		{ClientUserID: "client-1", Email: "client-1@apple.com"},
		{ClientUserID: "client-2", Email: "client-2@apple.com"},
	}})
}

func TestExampleStatus(t *testing.T) {
	cases := []struct {
		file                 string
		status, kind         string
		requested, completed int
		done, failed         bool
		failures             []EventFailure
	}{
		{"status-pending.json", EventPending, EventAssociate, 16, 8, false, false, nil},
		{"status-complete.json", EventComplete, EventAssociate, 16, 16, true, false, nil},
		{"status-failed.json", EventFailed, EventAssociate, 16, 14, true, true,
			[]EventFailure{{Code: CodeUserNotFound, Message: "Registered user not found", ClientUserIDs: []string{"client-4"}}}},
		{"status-failed-grouped.json", EventFailed, EventAssociate, 2, 0, true, true,
			[]EventFailure{{Code: CodeUserNotFound, Message: "Unable to find registered user.", ClientUserIDs: []string{"user102", "user101"}}}},
		{"status-create-complete.json", EventComplete, EventCreate, 2, 2, true, false, nil},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			var w statusWire
			decodeExample(t, tc.file, &w)
			s := w.status("event-1")
			checkEnvelopeExample(t, tc.file, s.Envelope)
			if s.EventID != "event-1" || s.Status != tc.status || s.Type != tc.kind || s.NumRequested != tc.requested || s.NumCompleted != tc.completed ||
				s.Done() != tc.done || s.Failed() != tc.failed || !reflect.DeepEqual(s.Failures, tc.failures) {
				t.Errorf("got %+v", s)
			}
		})
	}
}

func TestExampleErrors(t *testing.T) {
	for file, want := range map[string]appleError{
		"error-response.json":      {Code: CodeMethodNotAllowed, Message: "This request contains an unsupported HTTP method for the requested endpoint."},
		"error-token-revoked.json": {Code: CodeTokenRevoked, Message: "The server has revoked the sToken."},
	} {
		if got := parseAppleError(example(t, file)); got == nil || *got != want {
			t.Errorf("%s: got %+v", file, got)
		}
	}
	// Bodies that are not ErrorResponses.
	for _, body := range []string{"", "null", "[]", `{"errorNumber":0}`, `{"uId":"1"}`, "<html>502</html>", string(example(t, "get-assets.json"))} {
		if got := parseAppleError([]byte(body)); got != nil {
			t.Errorf("%q parsed as %+v", body, got)
		}
	}
	// Lenient: a numeric string, and an errorInfo of an unexpected shape.
	got := parseAppleError([]byte(`{"errorNumber":"9709","errorMessage":"none left","errorInfo":{"assets":[{"adamId":408709785,"pricingParam":"STDQ"}],"clientUserIds":["c"]}}`))
	if got == nil || got.Code != CodeNotEnoughLicenses || got.Info.Assets[0].AdamID != "408709785" || got.Info.ClientUserIDs[0] != "c" {
		t.Errorf("got %+v", got)
	}
	if got := parseAppleError([]byte(`{"errorNumber":9603,"errorInfo":"odd"}`)); got == nil || got.Code != CodeInternal || got.Info != nil {
		t.Errorf("got %+v", got)
	}
}

func TestExampleLookup(t *testing.T) {
	var w struct {
		Results json.RawMessage `json:"results"`
	}
	decodeExample(t, "lookup.json", &w)
	got, err := decodeLookupResults(w.Results)
	if err != nil {
		t.Fatal(err)
	}
	app, book := got["408709785"], got["1234567890"]
	if app.Kind != "software" || app.Name != "Example App" || !slices.Equal(app.DeviceFamilies, []string{"iphone", "ipad"}) || app.Artwork.Width != 1024 {
		t.Errorf("app %+v", app)
	}
	offer, ok := app.CurrentOffer()
	want := Offer{Type: "buy", Price: 2.99, PriceFormatted: "$2.99", Version: OfferVersion{Display: "4.2.1", ExternalID: "861234567"}}
	if app.BundleID != "com.example.app" || !ok || offer != want {
		t.Errorf("app bundle id %q, current offer %+v (%v); want com.example.app and %+v", app.BundleID, offer, ok, want)
	}
	if book.ID != "1234567890" || book.Kind != "ebook" || book.ArtistName != "Jane Author" || book.Language != "en" ||
		!slices.Equal(book.GenreNames, []string{"Fiction & Literature", "Books"}) || book.Artwork.URL == "" {
		t.Errorf("book %+v", book)
	}

	var e struct {
		Errors []lookupErrorWire `json:"errors"`
	}
	decodeExample(t, "lookup-error.json", &e)
	if len(e.Errors) != 1 || e.Errors[0].Code != "40300" || e.Errors[0].Status != "403" {
		t.Errorf("errors %+v", e.Errors)
	}
}

// sameJSON checks that v encodes to the same JSON value as the example file.
func sameJSON(t *testing.T, file string, v any) {
	t.Helper()
	encoded, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var got, want any
	if err := json.Unmarshal(encoded, &got); err != nil {
		t.Fatal(err)
	}
	decodeExample(t, file, &want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: the client sends\n%s", file, encoded)
	}
}

func TestLenientDates(t *testing.T) {
	want := time.Date(2030, 11, 8, 22, 33, 22, 0, time.UTC)
	for _, s := range []string{"2030-11-08T22:33:22+0000", "2030-11-08T22:33:22+00:00", "2030-11-08T22:33:22Z", "2030-11-08T22:33:22.000Z",
		"2030-11-08T23:33:22+01", "2030-11-08T22:33:22", "2030-11-08T15:33:22-0700"} {
		if got, err := parseAppleTime(s); err != nil || !got.Equal(want) {
			t.Errorf("%s: got %v, %v", s, got, err)
		}
	}
	var w envelopeWire
	if err := json.Unmarshal([]byte(`{"uId":981060278089131045,"tokenExpirationDate":"soon","mdmInfo":null}`), &w); err != nil {
		t.Fatal(err)
	}
	if e := w.envelope(); e.UID != "981060278089131045" || e.TokenExpiration != nil || e.MDMInfo != nil {
		t.Errorf("got %+v", e)
	}
}
