package sandbox

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vppkit/terraform-provider-vpp/internal/apple"
)

func open(t *testing.T, opts Options) *Sandbox {
	t.Helper()
	if opts.StatePath == "" {
		opts.StatePath = filepath.Join(t.TempDir(), "sandbox.json")
	}
	s, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// pacedClient paces itself by the service config, as the provider does, and retries quickly.
func pacedClient(t *testing.T, s *Sandbox, file string) *apple.Client {
	t.Helper()
	tok, err := apple.ParseToken(file)
	if err != nil {
		t.Fatal(err)
	}
	c, err := apple.NewClient(apple.Config{BaseURL: BaseURL, Token: tok, HTTPClient: s.HTTPClient(), RetryWaitMin: 20 * time.Millisecond, RetryWaitMax: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// waitEvent polls an event until it is done and returns the numCompleted values seen while it was
// PENDING.
func waitEvent(t *testing.T, c *apple.Client, id string) (*apple.EventStatus, []int) {
	t.Helper()
	var seen []int
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := c.EventStatus(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if st.Done() {
			return st, seen
		}
		if !slices.Contains(seen, st.NumCompleted) {
			seen = append(seen, st.NumCompleted)
		}
		if time.Now().After(deadline) {
			t.Fatalf("event %s still pending: %+v", id, st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// By default the sandbox answers writes at once and applies them in steps, like Apple.
func TestSandbox_eventsProgressLikeProduction(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sandbox.json")
	s := open(t, Options{StatePath: path})
	c := pacedClient(t, s, TokenFile("Progress Library", false, time.Now().Add(24*time.Hour)))

	start := time.Now()
	ev, err := c.CreateUsers(ctx, []apple.RequestUser{{ClientUserID: "u1"}, {ClientUserID: "u2"}, {ClientUserID: "u3"}})
	if err != nil {
		t.Fatal(err)
	}
	if st, err := c.EventStatus(ctx, ev.EventID); err != nil || st.Status != apple.EventPending {
		t.Fatalf("right after the write: %+v, %v; want PENDING", st, err)
	}
	st, seen := waitEvent(t, c, ev.EventID)
	took := time.Since(start)
	if st.Status != apple.EventComplete || st.NumCompleted != 3 {
		t.Fatalf("create users: %+v", st)
	}
	if !slices.ContainsFunc(seen, func(n int) bool { return n > 0 && n < 3 }) {
		t.Errorf("numCompleted while PENDING: %v; want a value between 0 and 3", seen)
	}
	if took < DefaultProgressSteps*DefaultProcessingDelay {
		t.Errorf("3 tasks took %v, want at least %v", took, DefaultProgressSteps*DefaultProcessingDelay)
	}

	// Assignments show step by step.
	_, err = c.AssociateAssets(ctx, apple.ManageAssetsRequest{Assets: []apple.AssetRef{{AdamID: "1590000001"}}, ClientUserIDs: []string{"u1", "u2", "u3"}})
	if err != nil {
		t.Fatal(err)
	}
	var counts []int
	for {
		list, err := c.GetAssignments(ctx, apple.AssignmentQuery{})
		if err != nil {
			t.Fatal(err)
		}
		if n := len(list.Assignments); !slices.Contains(counts, n) {
			counts = append(counts, n)
		}
		if len(list.Assignments) == 3 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !slices.ContainsFunc(counts, func(n int) bool { return n > 0 && n < 3 }) {
		t.Errorf("assignment counts seen %v; want a partial one", counts)
	}

	// What is pending when the process ends is applied by Close, as Apple would have by the
	// next process.
	if _, err := c.RetireUsers(ctx, []apple.RequestUser{{ClientUserID: "u3"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	next := open(t, Options{StatePath: path})
	users, err := pacedClient(t, next, TokenFile("Progress Library", false, time.Now().Add(24*time.Hour))).GetUsers(ctx, apple.UserQuery{ClientUserID: "u3"})
	if err != nil || len(users.Users) != 1 || users.Users[0].Status != "Retired" {
		t.Fatalf("u3 in the next process: %+v, %v", users, err)
	}
}

// The state saved between requests holds the background progress of events, so a process that
// dies without Close leaves it, and the next one resumes.
func TestSandbox_progressSavedBetweenRequests(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sandbox.json")
	s := open(t, Options{StatePath: path, ProcessingDelay: 50 * time.Millisecond, ProgressSteps: 2})
	file := TokenFile("Crash Library", false, time.Now().Add(24*time.Hour))
	c := pacedClient(t, s, file)
	// Users with a Managed Apple Account are Associated at once: no invitation for the sandbox to
	// track, so only the event's progress changes the state.
	ev, err := c.CreateUsers(ctx, []apple.RequestUser{{ClientUserID: "u1", ManagedAppleID: "u1@example.com"}, {ClientUserID: "u2", ManagedAppleID: "u2@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	waitEvent(t, c, ev.EventID) // polls are requests: each saves the progress made since the last
	// Read the state file as a process that opens it after a crash would.
	crashed := open(t, Options{StatePath: path, ProcessingDelay: time.Hour})
	users, err := pacedClient(t, crashed, file).GetUsers(ctx, apple.UserQuery{})
	if err != nil || len(users.Users) != 2 {
		t.Fatalf("users in the saved state: %+v, %v", users, err)
	}
}

func TestSandbox_rateLimit(t *testing.T) {
	burst := func(s *Sandbox) (limited int) {
		t.Helper()
		file := TokenFile("Busy Library", false, time.Now().Add(24*time.Hour))
		for range 20 {
			req, _ := http.NewRequest(http.MethodGet, BaseURL+"/client/config", nil)
			req.Header.Set("Authorization", "Bearer "+file)
			resp, err := s.HTTPClient().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusTooManyRequests {
				limited++
			}
		}
		return limited
	}
	if n := burst(open(t, Options{})); n < 5 {
		t.Errorf("20 requests at once: %d refused with 429, want at least 5 (15 per second)", n)
	}
	if n := burst(open(t, Options{DisableRateLimit: true})); n != 0 {
		t.Errorf("DisableRateLimit: %d refused", n)
	}
}

// SettleEvents restores the old behaviour: the write's event is done when the write returns.
func TestSandbox_settleEvents(t *testing.T) {
	ctx := context.Background()
	s := open(t, Options{SettleEvents: true, ProcessingDelay: time.Hour})
	c := pacedClient(t, s, TokenFile("Quick Library", false, time.Now().Add(24*time.Hour)))
	ev, err := c.CreateUsers(ctx, []apple.RequestUser{{ClientUserID: "u1"}})
	if err != nil {
		t.Fatal(err)
	}
	if st, err := c.EventStatus(ctx, ev.EventID); err != nil || st.Status != apple.EventComplete {
		t.Fatalf("settled event: %+v, %v", st, err)
	}
}

// Every token file form the plan-time parser (apple.ParseToken) accepts works in sandbox mode at
// once, with the expiry the parser read; the forms it refuses never reach the sandbox, and the
// sandbox does not recognise them either.
func TestSandbox_tokenFileForms(t *testing.T) {
	ctx := context.Background()
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	raw := func(s string) string { return base64.RawStdEncoding.EncodeToString([]byte(s)) }
	file := func(secret, exp string) string {
		data, _ := json.Marshal(map[string]string{"token": TokenPrefix + secret, "expDate": exp, "orgName": "Form " + secret})
		return string(data)
	}
	want := time.Date(2031, 1, 2, 3, 4, 5, 0, time.UTC)
	accepted := []struct{ name, contents string }{
		{"Apple's form", b64(file("t1", "2031-01-02T03:04:05+0000"))},
		{"unpadded base64", raw(file("t2", "2031-01-02T03:04:05+0000"))},
		{"Z", b64(file("t3", "2031-01-02T03:04:05Z"))},
		{"colon offset", b64(file("t4", "2031-01-02T03:04:05+00:00"))},
		{"hour offset", b64(file("t5", "2031-01-02T03:04:05+00"))},
		{"negative offset", b64(file("t6", "2031-01-01T20:04:05-0700"))},
		{"no offset", b64(file("t7", "2031-01-02T03:04:05"))},
		{"fractional seconds", b64(file("t8", "2031-01-02T03:04:05.000Z"))},
		{"space-padded date", b64(file("t9", "  2031-01-02T03:04:05+0000 "))},
		{"unpadded, Z", raw(file("t10", "2031-01-02T03:04:05Z"))},
		{"unpadded, colon offset", raw(file("t11", "2031-01-02T03:04:05+00:00"))},
		{"surrounding whitespace", "\n " + b64(file("t12", "2031-01-02T03:04:05+0000")) + " \r\n"},
		{"extra padding", raw(file("t13", "2031-01-02T03:04:05+0000")) + "==="},
		{"extra fields", b64(`{"token":"sandbox-t14","expDate":"2031-01-02T03:04:05+0000","orgName":"Form","v":2}`)},
		{"education", b64(file("edu-t15", "2031-01-02T03:04:05Z"))},
	}
	refused := []struct{ name, contents string }{
		{"empty", "  "},
		{"inner whitespace", b64(file("r1", "2031-01-02T03:04:05+0000"))[:8] + " " + b64(file("r1", "2031-01-02T03:04:05+0000"))[8:]},
		{"inner newline", b64(file("r1", "2031-01-02T03:04:05+0000"))[:8] + "\r\n" + b64(file("r1", "2031-01-02T03:04:05+0000"))[8:]},
		{"not base64", "!!!!"},
		{"url alphabet", base64.URLEncoding.EncodeToString([]byte(file("r2>?", "2031-01-02T03:04:05+0000")))},
		{"not json", b64("hello")},
		{"missing orgName", b64(`{"token":"sandbox-r3","expDate":"2031-01-02T03:04:05+0000"}`)},
		{"blank token", b64(`{"token":" ","expDate":"2031-01-02T03:04:05+0000","orgName":"x"}`)},
		{"numeric expDate", b64(`{"token":"sandbox-r4","expDate":20310102,"orgName":"Org"}`)},
		{"date only", b64(file("r5", "2031-01-02"))},
		{"US date", b64(file("r6", "01/02/2031 03:04:05"))},
	}

	s := open(t, Options{ProcessingDelay: -1})
	for _, tc := range accepted {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := apple.ParseToken(tc.contents)
			if err != nil {
				t.Fatalf("the plan-time parser refuses it: %v", err)
			}
			// No retries: a refusal must show at once, not after minutes of backoff.
			c, err := apple.NewClient(apple.Config{BaseURL: BaseURL, Token: tok, HTTPClient: s.HTTPClient(), RetryMax: -1})
			if err != nil {
				t.Fatal(err)
			}
			cc, err := c.GetClientConfig(ctx)
			if err != nil {
				t.Fatalf("sandbox refuses a token file the plan accepts: %v", err)
			}
			if cc.LocationName != tok.OrgName || cc.TokenExpiration == nil || !cc.TokenExpiration.Equal(want) || !tok.ExpiresAt.Equal(want) {
				t.Fatalf("client config %+v (expiry %v), parsed expiry %v, want %v", cc, cc.TokenExpiration, tok.ExpiresAt, want)
			}
			if strings.Contains(tc.name, "education") != (cc.DefaultPlatform == apple.PlatformEducation) {
				t.Errorf("platform %q", cc.DefaultPlatform)
			}
		})
	}
	for _, tc := range refused {
		t.Run("refused "+tc.name, func(t *testing.T) {
			if _, err := apple.ParseToken(tc.contents); err == nil {
				t.Fatal("the plan-time parser accepts it; move it to the accepted forms")
			}
			if _, _, ok := sandboxToken(tc.contents); ok {
				t.Fatal("the sandbox recognises it")
			}
		})
	}
}
