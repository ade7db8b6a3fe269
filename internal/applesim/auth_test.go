package applesim

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func encodeFile(t *testing.T, v any) string {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(raw)
}

func TestAuthAndRequestErrors(t *testing.T) {
	e := newEnv(t, testOptions())
	expired, _ := e.sim.MintToken(e.uid, time.Now().Add(-time.Hour))
	revoked, _ := e.sim.MintToken(e.uid, time.Now().Add(time.Hour))
	if err := e.sim.RevokeToken(revoked); err != nil {
		t.Fatal(err)
	}
	expiredRevoked, _ := e.sim.MintToken(e.uid, time.Now().Add(time.Hour))
	_ = e.sim.ExpireToken(expiredRevoked)
	_ = e.sim.RevokeToken(expiredRevoked)
	unknown := encodeFile(t, map[string]string{"token": "bm90IGEgdG9rZW4=", "expDate": "2030-01-01T00:00:00+0000", "orgName": "x"})

	tests := []struct {
		name        string
		method      string
		path        string
		auth        string // full Authorization header; "-" omits it
		contentType string
		body        string
		status      int
		number      int
	}{
		{"missing header", "GET", "/assets", "-", "", "", 401, 9601},
		{"empty bearer", "GET", "/assets", "Bearer", "", "", 401, 9601},
		{"wrong scheme", "GET", "/assets", "Basic " + e.token, "", "", 401, 9722},
		{"no scheme", "GET", "/assets", e.token, "", "", 401, 9722},
		{"not base64", "GET", "/assets", "Bearer !!!", "", "", 401, 9622},
		{"not json", "GET", "/assets", "Bearer " + base64.StdEncoding.EncodeToString([]byte("hello")), "", "", 401, 9622},
		{"unknown token", "GET", "/assets", "Bearer " + unknown, "", "", 401, 9622},
		{"expired", "GET", "/assets", "Bearer " + expired, "", "", 401, 9621},
		{"expired before revoked", "GET", "/assets", "Bearer " + expiredRevoked, "", "", 401, 9621},
		{"revoked", "GET", "/assets", "Bearer " + revoked, "", "", 401, 9625},
		{"auth before method", "DELETE", "/assets", "-", "", "", 401, 9601},
		{"revoked before method", "DELETE", "/assets", "Bearer " + revoked, "", "", 401, 9625},
		{"method", "DELETE", "/assets", "Bearer " + e.token, "", "", 405, 9726},
		{"method on POST endpoint", "GET", "/assets/associate", "Bearer " + e.token, "", "", 405, 9726},
		{"method on service config", "POST", "/service/config", "-", "application/json", "{}", 405, 9726},
		{"content type missing", "POST", "/users/create", "Bearer " + e.token, "", `{"users":[]}`, 415, 9727},
		{"content type wrong", "POST", "/users/create", "Bearer " + e.token, "text/plain", `{"users":[]}`, 415, 9727},
		{"method before content type", "PUT", "/users/create", "Bearer " + e.token, "text/plain", "", 405, 9726},
		{"content type before body", "POST", "/users/create", "Bearer " + e.token, "text/plain", "{", 415, 9727},
		{"charset allowed", "POST", "/users/create", "Bearer " + e.token, "application/json; charset=utf-8", `{"users":[]}`, 400, 9720},
		{"malformed json", "POST", "/users/create", "Bearer " + e.token, "application/json", "{", 400, 9602},
		{"unknown event", "GET", "/status?eventId=nope", "Bearer " + e.token, "", "", 400, 9708},
		{"page out of range", "GET", "/assets?pageIndex=1", "Bearer " + e.token, "", "", 400, 9650},
		{"negative page", "GET", "/users?pageIndex=-1", "Bearer " + e.token, "", "", 400, 9650},
		{"bad boolean", "GET", "/assets?revocable=yes", "Bearer " + e.token, "", "", 400, 9602},
		{"bad since", "GET", "/users?sinceVersionId=nope", "Bearer " + e.token, "", "", 400, 9721},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var body *strings.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
			}
			req, err := http.NewRequest(tc.method, e.ts.URL+apiPrefix+tc.path, nil)
			if body != nil {
				req, err = http.NewRequest(tc.method, e.ts.URL+apiPrefix+tc.path, body)
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.auth != "-" {
				req.Header.Set("Authorization", tc.auth)
			}
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			resp, err := e.ts.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var got errorResponse
			if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status || got.ErrorNumber != tc.number || got.ErrorMessage == "" {
				t.Fatalf("got %d %+v, want %d %d", resp.StatusCode, got, tc.status, tc.number)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Fatalf("Content-Type %q", ct)
			}
		})
	}
}

// The server reads the token field, so a re-encoded file (PHP escapes "/") still works.
func TestTokenReencodedAndTrimmed(t *testing.T) {
	e := newEnv(t, testOptions())
	raw, _ := base64.StdEncoding.DecodeString(e.token)
	var f map[string]string
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	if f["expDate"] == "" || f["orgName"] != "ORG12345" || f["token"] == "" {
		t.Fatalf("token file %s", raw)
	}
	if _, err := time.Parse("2006-01-02T15:04:05-0700", f["expDate"]); err != nil || !strings.HasSuffix(f["expDate"], "+0000") {
		t.Fatalf("expDate %q", f["expDate"])
	}
	php := strings.ReplaceAll(`{"orgName":"ORG12345", "token":"`+f["token"]+`"}`, "/", `\/`)
	reencoded := base64.StdEncoding.EncodeToString([]byte(php))
	e.ok(e.do("GET", "/client/config", reencoded, nil), nil)
	e.ok(e.do("GET", "/client/config", e.token+"  ", nil), nil)
}

func TestTokenErrorsAsOKQuirk(t *testing.T) {
	opts := testOptions()
	opts.Quirks.TokenErrorsAsOK = true
	e := newEnv(t, opts)
	e.expectError(e.do("GET", "/assets", "", nil), 200, 9601)
	e.expectError(e.do("GET", "/assets", "garbage", nil), 200, 9622)
	e.expectError(e.do("DELETE", "/assets", e.token, nil), 405, 9726)
}

func TestEnvelopeAndExpirationDate(t *testing.T) {
	clock := newFakeClock()
	opts := testOptions()
	opts.Now = clock.Now
	e := newEnv(t, opts)
	soon, _ := e.sim.MintToken(e.uid, clock.Now().Add(10*24*time.Hour))
	var env struct {
		UID                 string               `json:"uId"`
		TokenExpirationDate string               `json:"tokenExpirationDate"`
		MDMInfo             *struct{ ID string } `json:"mdmInfo"`
	}
	e.ok(e.do("GET", "/users", soon, nil), &env)
	want := clock.Now().Add(10*24*time.Hour).UTC().Format("2006-01-02T15:04:05") + "+0000"
	if env.UID != testUID || env.TokenExpirationDate != want || env.MDMInfo != nil {
		t.Fatalf("envelope %+v, want date %s", env, want)
	}

	opts.Quirks.ExpirationDateWithin15Days = true
	e2 := newEnv(t, opts)
	soon2, _ := e2.sim.MintToken(e2.uid, clock.Now().Add(10*24*time.Hour))
	var far, near struct {
		TokenExpirationDate *string `json:"tokenExpirationDate"`
	}
	e2.ok(e2.do("GET", "/assets", e2.token, nil), &far)
	e2.ok(e2.do("GET", "/assets", soon2, nil), &near)
	if far.TokenExpirationDate != nil || near.TokenExpirationDate == nil {
		t.Fatalf("15-day mode: far %v near %v", far.TokenExpirationDate, near.TokenExpirationDate)
	}

	clock.Advance(11 * 24 * time.Hour)
	e.expectError(e.do("GET", "/users", soon, nil), 401, 9621)
}

func TestRateLimit(t *testing.T) {
	opts := Options{Limits: map[string]int{LimitMaxRequestPerSecond: 3}}
	e := newEnv(t, opts)
	clock := newFakeClock()
	e.sim.mu.Lock()
	e.sim.clock = clock.Now
	e.sim.mu.Unlock()

	for range 3 {
		e.ok(e.do("GET", "/client/config", e.token, nil), nil)
	}
	r := e.do("GET", "/assets", e.token, nil)
	e.expectError(r, 429, 9646)
	if r.header.Get("Retry-After") != "" {
		t.Fatalf("unexpected Retry-After %q", r.header.Get("Retry-After"))
	}
	// Unauthenticated endpoints and failed authentication are not limited.
	e.ok(e.do("GET", "/service/config", "", nil), nil)
	e.expectError(e.do("GET", "/assets", "", nil), 401, 9601)

	clock.Advance(999 * time.Millisecond)
	e.expectError(e.do("GET", "/assets", e.token, nil), 429, 9646)
	clock.Advance(time.Millisecond)
	e.ok(e.do("GET", "/assets", e.token, nil), nil)

	// Another location has its own window.
	other, _ := e.sim.CreateLocation(LocationSpec{})
	otherTok, _ := e.sim.MintToken(other.UID, time.Now().Add(time.Hour))
	e.ok(e.do("GET", "/assets", otherTok, nil), nil)

	if got := e.sim.Stats().RateLimited; got != 2 {
		t.Fatalf("RateLimited = %d, want 2", got)
	}

	opts.Quirks.RateLimitRetryAfter = "2"
	e2 := newEnv(t, opts)
	e2.sim.mu.Lock()
	e2.sim.clock = clock.Now
	e2.sim.mu.Unlock()
	for range 3 {
		e2.ok(e2.do("GET", "/assets", e2.token, nil), nil)
	}
	r = e2.do("GET", "/assets", e2.token, nil)
	if r.status != 429 || r.header.Get("Retry-After") != "2" {
		t.Fatalf("got %d Retry-After %q", r.status, r.header.Get("Retry-After"))
	}
}

func TestAdoptToken(t *testing.T) {
	s := New(Options{DisableRateLimit: true})
	defer s.Close()
	srv := httptest.NewServer(s)
	defer srv.Close()
	loc, err := s.CreateLocation(LocationSpec{Name: "Sandbox", AccountType: AccountBusiness})
	if err != nil {
		t.Fatal(err)
	}
	file := base64.StdEncoding.EncodeToString([]byte(`{"token":"sandbox-springfield","expDate":"2031-01-01T00:00:00+0000","orgName":"Springfield"}`))
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/mdm/v2/client/config", nil)
	req.Header.Set("Authorization", "Bearer "+file)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("before adoption: %v %v, want 401", resp, err)
	}
	if err := s.AdoptToken(loc.UID, file); err != nil {
		t.Fatal(err)
	}
	if err := s.AdoptToken(loc.UID, file); err != nil {
		t.Fatalf("adopting twice: %v", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("after adoption: %v %v, want 200", resp, err)
	}
	var cc map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&cc)
	if cc["uId"] != loc.UID || cc["tokenExpirationDate"] != "2031-01-01T00:00:00+0000" {
		t.Errorf("client config = %v", cc)
	}
	other, _ := s.CreateLocation(LocationSpec{Name: "Other"})
	if err := s.AdoptToken(other.UID, file); !errors.Is(err, ErrExists) {
		t.Errorf("adopting another location's token: %v, want ErrExists", err)
	}
	if err := s.AdoptToken(loc.UID, "bm90IGpzb24="); !errors.Is(err, ErrInvalid) {
		t.Errorf("adopting garbage: %v, want ErrInvalid", err)
	}
}
