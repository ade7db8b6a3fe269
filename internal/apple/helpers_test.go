package apple

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	testSecret = "SUPERSECRETINNERTOKENVALUE0123456789"
	testUID    = "2049025000431439"
	testMDMID  = "11111111-2222-4333-8444-555555555555"
)

// testTokenFile is a .vpptoken file for testSecret.
func testTokenFile() string {
	return base64.StdEncoding.EncodeToString([]byte(
		`{"token":"` + testSecret + `","expDate":"2099-11-08T22:33:22+0000","orgName":"ORG12345"}`))
}

func testToken(t testing.TB) *Token {
	t.Helper()
	tok, err := ParseToken(testTokenFile())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// fakeApple serves /mdm/v2/service/config itself and hands every other
// request to handler. It counts requests per "METHOD path".
type fakeApple struct {
	srv *httptest.Server

	mu     sync.Mutex
	limits map[string]any
	hits   map[string]int
}

func newFake(t *testing.T, handler http.HandlerFunc) *fakeApple {
	t.Helper()
	f := &fakeApple{
		// A high rate keeps the limiter out of tests that are not about it.
		limits: map[string]any{"maxRequestPerSecond": 100000},
		hits:   map[string]int{},
	}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.hits[r.Method+" "+r.URL.Path]++
		f.mu.Unlock()
		if r.URL.Path == "/mdm/v2/service/config" {
			f.mu.Lock()
			body := map[string]any{
				"limits":            f.limits,
				"notificationTypes": []string{"ASSET_MANAGEMENT", "USER_MANAGEMENT", "USER_ASSOCIATED", "ASSET_COUNT"},
				"urls": map[string]string{
					"contentMetadataLookup": f.srv.URL + "/WebObjects/MZStorePlatform.woa/wa/lookup",
					"invitationEmail":       "https://buy.example/wa/associate?inviteCode=%25inviteCode%25&mt=8",
				},
			}
			f.mu.Unlock()
			writeJSON(w, http.StatusOK, body)
			return
		}
		handler(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeApple) setLimits(limits map[string]any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.limits = limits
}

func (f *fakeApple) count(method, path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hits[method+" /mdm/v2"+path]
}

// client returns a Client for the fake with tiny retry waits.
func (f *fakeApple) client(t *testing.T, mods ...func(*Config)) *Client {
	t.Helper()
	cfg := Config{
		BaseURL:        f.srv.URL + "/mdm/v2",
		Token:          testToken(t),
		RequestTimeout: 10 * time.Second,
		RetryWaitMin:   time.Millisecond,
		RetryWaitMax:   4 * time.Millisecond,
		MaxRetryAfter:  50 * time.Millisecond,
	}
	for _, mod := range mods {
		mod(&cfg)
	}
	c, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func appleErrorBody(code Code, message string) map[string]any {
	return map[string]any{"errorNumber": int(code), "errorMessage": message}
}

// clientConfigBody is a ClientConfigResponse for testUID.
func clientConfigBody(mdm *MDMInfo) map[string]any {
	body := map[string]any{
		"countryISO2ACode":    "US",
		"defaultPlatform":     "volumestore",
		"locationName":        "PS01",
		"tokenExpirationDate": "2030-11-08T22:33:22+0000",
		"uId":                 testUID,
		"websiteURL":          "https://school.apple.com",
	}
	if mdm != nil {
		body["mdmInfo"] = mdm
	}
	return body
}

// assertNoSecret fails when s contains the test token or its secret.
func assertNoSecret(t *testing.T, what, s string) {
	t.Helper()
	if strings.Contains(s, testSecret) || strings.Contains(s, testTokenFile()) {
		t.Errorf("%s leaks the token: %s", what, s)
	}
}
