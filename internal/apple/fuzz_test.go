package apple

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Fuzz tests of what the provider reads from outside: token files (FuzzParseToken) and Apple's
// answers (FuzzClientResponses, FuzzParseRetryAfter). Seed corpora live in testdata/fuzz; make
// test runs each target for a few seconds (go test -run '^$' -fuzz '^FuzzParseToken$' ...).

// FuzzParseToken: any text is refused with a *TokenError or parsed into a complete token; the
// parse is stable; the error text never contains the inner secret.
func FuzzParseToken(f *testing.F) {
	f.Add(testTokenFile())
	f.Add("")
	f.Add("   \n")
	f.Add("not base64 at all!")
	f.Add(base64.StdEncoding.EncodeToString([]byte(`{"token":"abc","expDate":"2030-01-01T00:00:00+0000"}`)))
	f.Add(base64.RawStdEncoding.EncodeToString([]byte(`{"token":"s3cr3t-value","expDate":"2030-01-01T00:00:00Z","orgName":"O"}`)))
	f.Add(base64.StdEncoding.EncodeToString([]byte(`{"token":12345678,"expDate":"x","orgName":"O"}`)))
	f.Add(base64.StdEncoding.EncodeToString([]byte(`{"token":"s3cr3t-value","expDate":"yesterday","orgName":"O"}`)))
	f.Add(base64.StdEncoding.EncodeToString([]byte(`["token"]`)))
	f.Fuzz(func(t *testing.T, contents string) {
		tok, err := ParseToken(contents)
		if err != nil {
			var te *TokenError
			if !errors.As(err, &te) {
				t.Fatalf("error %v is not a *TokenError", err)
			}
			if secret := innerSecret(contents); len(secret) >= 6 && strings.Contains(err.Error(), secret) {
				t.Fatalf("error %q contains the inner secret", err)
			}
			return
		}
		if tok.Raw != TrimTokenFile(contents) || tok.Secret == "" || tok.OrgName == "" || tok.ExpiresAt.IsZero() {
			t.Fatalf("incomplete token parsed from %q: %v", contents, tok)
		}
		again, err := ParseToken(tok.Raw)
		if err != nil || again.Secret != tok.Secret || !again.ExpiresAt.Equal(tok.ExpiresAt) || again.OrgName != tok.OrgName {
			t.Fatalf("parsing the token's own text again gives %v, %v", again, err)
		}
		if len(tok.Secret) >= 6 && (strings.Contains(tok.String(), tok.Secret) || strings.Contains(tok.GoString(), tok.Secret)) {
			t.Fatalf("the token prints its secret")
		}
	})
}

// innerSecret returns the "token" field of a token file, if it can be read at all.
func innerSecret(contents string) string {
	raw := strings.TrimRight(strings.TrimSpace(contents), "=")
	decoded, err := base64.RawStdEncoding.DecodeString(raw)
	if err != nil {
		return ""
	}
	var f struct {
		Token any `json:"token"`
	}
	if json.Unmarshal(decoded, &f) != nil {
		return ""
	}
	switch v := f.Token.(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return ""
}

// FuzzParseRetryAfter: any header value gives no wait or a wait that is not negative.
func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"", "0", "1", "30", "-5", "99999999999999999999", "Wed, 21 Oct 2015 07:28:00 GMT", "soon", " 7 "} {
		f.Add(s)
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f.Fuzz(func(t *testing.T, v string) {
		if d, ok := parseRetryAfter(v, now); ok && d < 0 {
			t.Fatalf("Retry-After %q gives a negative wait %s", v, d)
		}
	})
}

// fuzzEndpoints are the client calls FuzzClientResponses exercises, by the endpoint byte.
var fuzzEndpoints = []struct {
	name string
	call func(ctx context.Context, c *Client) error
}{
	{"GET /service/config", func(ctx context.Context, c *Client) error { _, err := c.ServiceConfig(ctx); return err }},
	{"GET /client/config", func(ctx context.Context, c *Client) error { _, err := c.GetClientConfig(ctx); return err }},
	{"GET /assets", func(ctx context.Context, c *Client) error { _, err := c.GetAssets(ctx, AssetQuery{}); return err }},
	{"GET /users", func(ctx context.Context, c *Client) error { _, err := c.GetUsers(ctx, UserQuery{}); return err }},
	{"GET /assignments", func(ctx context.Context, c *Client) error {
		_, err := c.GetAssignments(ctx, AssignmentQuery{})
		return err
	}},
	{"GET /status", func(ctx context.Context, c *Client) error {
		st, err := c.EventStatus(ctx, "8f1f6a6c-4c1a-4a5e-9f55-1f1f6a6c4c1a")
		if err == nil {
			_, _ = st.Done(), st.Failed()
		}
		return err
	}},
	{"POST /assets/associate", func(ctx context.Context, c *Client) error {
		_, err := c.AssociateAssets(ctx, ManageAssetsRequest{Assets: []AssetRef{{AdamID: "1"}}, ClientUserIDs: []string{"u1"}})
		return err
	}},
	{"POST /users/create", func(ctx context.Context, c *Client) error {
		_, err := c.CreateUsers(ctx, []RequestUser{{ClientUserID: "u1", Email: "u1@example.com"}})
		return err
	}},
	{"POST /client/config", func(ctx context.Context, c *Client) error {
		_, err := c.SetClientConfig(ctx, ClientConfigRequest{MDMInfo: &MDMInfo{ID: testMDMID, Name: "n", Metadata: "m"}})
		return err
	}},
	{"GET lookup", func(ctx context.Context, c *Client) error {
		_, err := c.LookupMetadata(ctx, []string{"1", "2"}, "enterprisestore", "US")
		return err
	}},
}

var fuzzStatuses = []int{200, 200, 200, 400, 401, 404, 429, 500, 502, 503}

// fuzzTransport answers the fuzzed request with the fuzzed status and body, and every other
// request properly: a valid service config, and 9650 for pages past the third (as Apple does past
// the last page), so that a walk ends.
type fuzzTransport struct {
	target string
	status int
	body   []byte
}

func (ft *fuzzTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		_ = r.Body.Close()
	}
	path := strings.TrimPrefix(r.URL.Path, "/mdm/v2")
	key := r.Method + " " + path
	if strings.Contains(path, "lookup") {
		key = "GET lookup"
	}
	status, body := ft.status, ft.body
	switch {
	case key != ft.target && key == "GET /service/config":
		status, body = 200, []byte(`{"limits":{"maxRequestPerSecond":100000},"urls":{"contentMetadataLookup":"https://fuzz.example/lookup"}}`)
	case key != ft.target:
		status, body = 200, []byte(`{"uId":"`+testUID+`"}`)
	case r.URL.Query().Get("pageIndex") != "":
		if n, _ := strconv.Atoi(r.URL.Query().Get("pageIndex")); n > 3 {
			status, body = 400, []byte(`{"errorNumber":9650,"errorMessage":"out of range"}`)
		}
	}
	return &http.Response{StatusCode: status, Status: strconv.Itoa(status) + " " + http.StatusText(status),
		Header: http.Header{"Content-Type": {"application/json"}, "Retry-After": {"0"}}, Body: io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)), Request: r}, nil
}

// FuzzClientResponses: whatever Apple answers to any endpoint (status and body), the client
// returns a result or an error, never panics, and never puts the token in an error.
func FuzzClientResponses(f *testing.F) {
	for i := range fuzzEndpoints {
		for _, b := range []string{`{}`, `{"errorNumber":9603,"errorMessage":"Internal error"}`, `{"uId":"` + testUID + `","eventId":"e1"}`,
			`{"errorNumber":9625,"errorMessage":"revoked ` + testTokenFile() + ` ` + testSecret + `"}`} {
			f.Add(uint8(i), uint8(0), []byte(b))
		}
	}
	f.Fuzz(func(t *testing.T, endpoint, status uint8, body []byte) {
		ep := fuzzEndpoints[int(endpoint)%len(fuzzEndpoints)]
		c, err := NewClient(Config{
			BaseURL:    "https://fuzz.example/mdm/v2",
			Token:      testToken(t),
			MDMID:      testMDMID,
			HTTPClient: &http.Client{Transport: &fuzzTransport{target: ep.name, status: fuzzStatuses[int(status)%len(fuzzStatuses)], body: body}},
			RetryMax:   -1, RequestsPerSecond: 1e6, RequestTimeout: 5 * time.Second,
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := ep.call(ctx, c); err != nil {
			assertNoSecret(t, ep.name+" error", err.Error())
		}
	})
}
