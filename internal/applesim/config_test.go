package applesim

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestServiceConfig(t *testing.T) {
	e := newEnv(t, Options{DisableRateLimit: true, Limits: map[string]int{LimitMaxAssets: 10}})
	var sc struct {
		ErrorCodes []struct {
			ErrorNumber  int    `json:"errorNumber"`
			ErrorMessage string `json:"errorMessage"`
		} `json:"errorCodes"`
		Limits            map[string]int    `json:"limits"`
		NotificationTypes []string          `json:"notificationTypes"`
		URLs              map[string]string `json:"urls"`
	}
	e.ok(e.do("GET", "/service/config", "", nil), &sc) // no auth needed
	e.ok(e.do("GET", "/service/config", e.token, nil), nil)

	for name, want := range DefaultLimits() {
		if name == LimitMaxAssets {
			want = 10
		}
		if sc.Limits[name] != want {
			t.Errorf("limit %s = %d, want %d", name, sc.Limits[name], want)
		}
	}
	for _, key := range []string{"invitationEmail", "clientConfig", "createUsers", "getAssignments", "revokeAssets",
		"contentMetadataLookup", "getUsers", "eventStatus", "associateAssets", "disassociateAssets", "updateUsers",
		"getAssets", "retireUsers"} {
		if sc.URLs[key] == "" {
			t.Errorf("urls.%s missing", key)
		}
	}
	if sc.URLs["eventStatus"] != e.ts.URL+"/mdm/v2/status" ||
		sc.URLs["contentMetadataLookup"] != e.ts.URL+"/WebObjects/MZStorePlatform.woa/wa/lookup" ||
		!strings.Contains(sc.URLs["invitationEmail"], "inviteCode=%25inviteCode%25") {
		t.Errorf("urls %v", sc.URLs)
	}
	if !slices.Contains(sc.NotificationTypes, "ASSET_MANAGEMENT") || len(sc.ErrorCodes) < 30 {
		t.Errorf("notificationTypes %v, %d error codes", sc.NotificationTypes, len(sc.ErrorCodes))
	}
	// The URLs are usable as given.
	req, _ := http.NewRequest("GET", sc.URLs["getAssets"], nil)
	req.Header.Set("Authorization", "Bearer "+e.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("getAssets URL: %v %v", resp, err)
	}
	resp.Body.Close()

	e.sim.SetLimits(map[string]int{LimitMaxUsers: 7})
	e.ok(e.do("GET", "/service/config", "", nil), &sc)
	if sc.Limits[LimitMaxUsers] != 7 {
		t.Errorf("SetLimits not reflected: %v", sc.Limits)
	}
}

type wireClientConfig struct {
	CountryISO2ACode            string   `json:"countryISO2ACode"`
	DefaultPlatform             string   `json:"defaultPlatform"`
	LocationName                string   `json:"locationName"`
	NotificationAuthToken       string   `json:"notificationAuthToken"`
	NotificationURL             string   `json:"notificationUrl"`
	SubscribedNotificationTypes []string `json:"subscribedNotificationTypes"`
	WebsiteURL                  string   `json:"websiteURL"`
	TokenExpirationDate         string   `json:"tokenExpirationDate"`
	UID                         string   `json:"uId"`
	MDMInfo                     *MDMInfo `json:"mdmInfo"`
}

// receiver is a TLS notification endpoint that records what it gets.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	status int
	got    []notificationEnvelope
	auth   []string
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{status: http.StatusOK}
	rc.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n notificationEnvelope
		data, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(data, &n)
		rc.mu.Lock()
		defer rc.mu.Unlock()
		rc.got = append(rc.got, n)
		rc.auth = append(rc.auth, r.Header.Get("Authorization"))
		w.WriteHeader(rc.status)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func TestClientConfig(t *testing.T) {
	rc := newReceiver(t)
	opts := testOptions()
	opts.NotificationClient = rc.Client()
	e := newEnv(t, opts)

	var cfg wireClientConfig
	e.get("/client/config", &cfg)
	if cfg.LocationName != "PS01" || cfg.CountryISO2ACode != "DE" || cfg.DefaultPlatform != "enterprisestore" ||
		cfg.WebsiteURL != "https://business.apple.com" || cfg.UID != testUID || cfg.TokenExpirationDate == "" || cfg.MDMInfo != nil {
		t.Fatalf("initial config %+v", cfg)
	}

	long := func(n int) string { return strings.Repeat("x", n) }
	mdm := func(id, name, meta string) map[string]any {
		return map[string]any{"mdmInfo": map[string]string{"id": id, "name": name, "metadata": meta}}
	}
	invalid := []struct {
		name   string
		body   any
		number int
	}{
		{"mdmInfo incomplete", map[string]any{"mdmInfo": map[string]string{"id": "a", "name": "b"}}, 9723},
		{"id too long", mdm(long(101), "n", "m"), 9724},
		{"name too long", mdm("i", long(101), "m"), 9725},
		{"metadata too long", mdm("i", "n", long(256)), 9713},
		{"url without token", map[string]any{"notificationUrl": rc.URL + "/hook"}, 9710},
		{"token without url", map[string]any{"notificationAuthToken": "s"}, 9710},
		{"url too long", map[string]any{"notificationUrl": "https://h/" + long(510), "notificationAuthToken": "s"}, 9711},
		{"token too long", map[string]any{"notificationUrl": rc.URL, "notificationAuthToken": long(513)}, 9711},
		{"url not https", map[string]any{"notificationUrl": "http://example.com/hook", "notificationAuthToken": "s"}, 9712},
		{"url with query", map[string]any{"notificationUrl": rc.URL + "/hook?x=1", "notificationAuthToken": "s"}, 9712},
		{"url unreachable", map[string]any{"notificationUrl": "https://127.0.0.1:1/hook", "notificationAuthToken": "s"}, 9728},
		{"bad type", map[string]any{"notificationTypes": []string{"NOPE"}}, 9602},
	}
	for _, tc := range invalid {
		t.Run(tc.name, func(t *testing.T) {
			e.expectError(e.do("POST", "/client/config", e.token, tc.body), 400, tc.number)
		})
	}
	if got := e.sim.ClientConfig(e.uid); got.MDMInfo != nil || got.NotificationURL != "" {
		t.Fatalf("rejected requests changed the config: %+v", got)
	}

	// Full configuration: the TEST_NOTIFICATION carries the shared secret.
	e.post("/client/config", map[string]any{
		"mdmInfo":               map[string]string{"id": "engine-1", "name": "terraform-provider-vpp", "metadata": "v1"},
		"notificationUrl":       rc.URL + "/hook",
		"notificationAuthToken": "secret-1",
		"notificationTypes":     []string{"TEST_NOTIFICATION", "ASSET_MANAGEMENT"},
	}, &cfg)
	if cfg.MDMInfo == nil || cfg.MDMInfo.ID != "engine-1" || cfg.NotificationURL != rc.URL+"/hook" ||
		!slices.Equal(cfg.SubscribedNotificationTypes, []string{"ASSET_MANAGEMENT"}) {
		t.Fatalf("after POST %+v", cfg)
	}
	rc.mu.Lock()
	if len(rc.got) != 1 || rc.got[0].NotificationType != "TEST_NOTIFICATION" || rc.got[0].UID != testUID ||
		rc.got[0].NotificationID == "" || rc.auth[0] != "Bearer secret-1" {
		t.Fatalf("test notification %+v %v", rc.got, rc.auth)
	}
	rc.status = http.StatusInternalServerError
	rc.mu.Unlock()

	// A failing receiver rejects the change and keeps the old config.
	e.expectError(e.do("POST", "/client/config", e.token,
		map[string]any{"notificationUrl": rc.URL + "/other", "notificationAuthToken": "secret-2"}), 400, 9728)

	// Partial update: only mdmInfo changes.
	e.post("/client/config", mdm("engine-2", "n", ""), &cfg)
	if cfg.MDMInfo.ID != "engine-2" || cfg.NotificationURL != rc.URL+"/hook" || cfg.NotificationAuthToken != "secret-1" {
		t.Fatalf("partial update %+v", cfg)
	}
	// mdmInfo is echoed on other responses.
	var assetsResp struct{ MDMInfo *MDMInfo }
	e.get("/assets", &assetsResp)
	if assetsResp.MDMInfo == nil || assetsResp.MDMInfo.ID != "engine-2" {
		t.Fatalf("mdmInfo not echoed: %+v", assetsResp)
	}
	// Empty URL and token clear notifications; [] unsubscribes.
	cfg = wireClientConfig{}
	e.post("/client/config", map[string]any{"notificationUrl": "", "notificationAuthToken": "", "notificationTypes": []string{}}, &cfg)
	if cfg.NotificationURL != "" || cfg.NotificationAuthToken != "" || len(cfg.SubscribedNotificationTypes) != 0 || cfg.MDMInfo == nil {
		t.Fatalf("clear %+v", cfg)
	}

	// Another MDM takes over.
	if err := e.sim.OverwriteMDMInfo(e.uid, MDMInfo{ID: "jamf", Name: "Jamf", Metadata: "x"}); err != nil {
		t.Fatal(err)
	}
	e.get("/client/config", &cfg)
	if cfg.MDMInfo.ID != "jamf" || e.sim.ClientConfig(e.uid).MDMInfo.ID != "jamf" {
		t.Fatalf("overwrite %+v", cfg)
	}
}

func TestClientConfigQuirks(t *testing.T) {
	rc := newReceiver(t)
	opts := testOptions()
	opts.NotificationClient = rc.Client()
	opts.Quirks.ClientConfigReplace = true
	e := newEnv(t, opts)
	var cfg wireClientConfig
	e.post("/client/config", map[string]any{"notificationUrl": rc.URL, "notificationAuthToken": "s",
		"notificationTypes": []string{"ASSET_COUNT"}}, &cfg)
	cfg = wireClientConfig{}
	e.post("/client/config", map[string]any{"mdmInfo": map[string]string{"id": "a", "name": "b", "metadata": "c"}}, &cfg)
	if cfg.NotificationURL != "" || len(cfg.SubscribedNotificationTypes) != 0 || cfg.MDMInfo == nil {
		t.Fatalf("replace mode kept omitted fields: %+v", cfg)
	}

	opts = testOptions()
	opts.Quirks.ClientConfigPerToken = true
	e = newEnv(t, opts)
	second, _ := e.sim.MintToken(e.uid, time.Now().Add(24*time.Hour))
	e.post("/client/config", map[string]any{"mdmInfo": map[string]string{"id": "a", "name": "b", "metadata": "c"}}, nil)
	var other wireClientConfig
	e.ok(e.do("GET", "/client/config", second, nil), &other)
	if other.MDMInfo != nil || e.sim.ClientConfig(e.uid).MDMInfo == nil {
		t.Fatalf("per-token config leaked: %+v", other)
	}
}
