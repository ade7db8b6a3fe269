package apple

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-cleanhttp"
	"github.com/hashicorp/terraform-plugin-log/tflogtest"
)

// timeline records when the fake saw each request.
type timeline struct {
	mu    sync.Mutex
	times []time.Time
}

func (tl *timeline) mark() int {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	tl.times = append(tl.times, time.Now())
	return len(tl.times)
}

func (tl *timeline) gaps() []time.Duration {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	var gaps []time.Duration
	for i := 1; i < len(tl.times); i++ {
		gaps = append(gaps, tl.times[i].Sub(tl.times[i-1]))
	}
	return gaps
}

var okEvent = map[string]any{"eventId": "954910a8-3d9c-4fde-948d-253e5aef431a", "uId": testUID, "tokenExpirationDate": "2030-11-08T22:33:22+0000"}

var oneUser = []RequestUser{{ClientUserID: "client-1", Email: "client-1@example.com"}}

func TestNewClientValidates(t *testing.T) {
	tok := testToken(t)
	for _, cfg := range []Config{
		{},
		{Token: &Token{}},
		{Token: tok, BaseURL: "vpp.itunes.apple.com/mdm/v2"},
		{Token: tok, BaseURL: "ftp://vpp.itunes.apple.com/mdm/v2"},
		{Token: tok, BaseURL: "https://"},
		{Token: tok, RequestsPerSecond: -1},
	} {
		if _, err := NewClient(cfg); err == nil {
			t.Errorf("NewClient(%+v) accepted", cfg)
		}
	}
	if _, err := NewClient(Config{Token: tok}); err != nil {
		t.Errorf("default config refused: %v", err)
	}
}

func TestRetriesTooManyRequestsWithExponentialBackoff(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
	}{{"429", http.StatusTooManyRequests}, {"200 with 9646", http.StatusOK}} {
		t.Run(tc.name, func(t *testing.T) {
			var tl timeline
			f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
				if tl.mark() <= 3 {
					writeJSON(w, tc.status, appleErrorBody(CodeTooManyRequests, "There are too many requests."))
					return
				}
				writeJSON(w, http.StatusOK, clientConfigBody(nil))
			})
			c := f.client(t, func(cfg *Config) { cfg.RetryWaitMin, cfg.RetryWaitMax = 20*time.Millisecond, time.Second })
			cc, err := c.GetClientConfig(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if cc.LocationName != "PS01" || f.count("GET", "/client/config") != 4 {
				t.Fatalf("got %+v after %d requests", cc, f.count("GET", "/client/config"))
			}
			// Waits of 20, 40 and 80 ms, less up to 10% jitter.
			for i, gap := range tl.gaps() {
				if least := time.Duration(18<<i) * time.Millisecond; gap < least {
					t.Errorf("gap %d = %v, want at least %v", i, gap, least)
				}
			}
		})
	}
}

func TestRetryAfterSecondsHonoured(t *testing.T) {
	var tl timeline
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		if tl.mark() == 1 {
			w.Header().Set("Retry-After", "1")
			writeJSON(w, http.StatusServiceUnavailable, appleErrorBody(CodeServiceUnavailable, "The service is temporarily unavailable."))
			return
		}
		writeJSON(w, http.StatusOK, clientConfigBody(nil))
	})
	c := f.client(t, func(cfg *Config) { cfg.MaxRetryAfter = 10 * time.Second })
	if _, err := c.GetClientConfig(context.Background()); err != nil {
		t.Fatal(err)
	}
	if gaps := tl.gaps(); len(gaps) != 1 || gaps[0] < 950*time.Millisecond {
		t.Errorf("gaps %v, want one of about a second", gaps)
	}
}

func TestRetryAfterCapped(t *testing.T) {
	for _, header := range []string{"3600", time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)} {
		t.Run(header, func(t *testing.T) {
			var tl timeline
			f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
				if tl.mark() == 1 {
					w.Header().Set("Retry-After", header)
					w.WriteHeader(http.StatusInternalServerError)
					return
				}
				writeJSON(w, http.StatusOK, clientConfigBody(nil))
			})
			c := f.client(t, func(cfg *Config) { cfg.MaxRetryAfter = 60 * time.Millisecond })
			start := time.Now()
			if _, err := c.GetClientConfig(context.Background()); err != nil {
				t.Fatal(err)
			}
			if gaps := tl.gaps(); len(gaps) != 1 || gaps[0] < 55*time.Millisecond {
				t.Errorf("gaps %v, want one of the 60ms cap", gaps)
			}
			if time.Since(start) > 10*time.Second {
				t.Error("Retry-After was not capped")
			}
		})
	}
}

func TestErrorBodyInside200(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, appleErrorBody(CodeTokenRevoked, "The server has revoked the sToken."))
	})
	_, err := f.client(t).GetClientConfig(context.Background())
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Code != CodeTokenRevoked || apiErr.StatusCode != http.StatusOK {
		t.Fatalf("got %#v", err)
	}
	if !errors.Is(err, CodeTokenRevoked) || errors.Is(err, CodeTokenExpired) || !IsTokenError(err) {
		t.Error("errors.Is / IsTokenError do not match the code")
	}
	want := `Apple API GET /client/config: error 9625 "The server has revoked the sToken." (HTTP 200)`
	if err.Error() != want {
		t.Errorf("got %q, want %q", err.Error(), want)
	}
	if n := f.count("GET", "/client/config"); n != 1 {
		t.Errorf("%d requests, want 1 (not retryable)", n)
	}
}

func TestErrorMessageNeverEchoesToken(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusUnauthorized, appleErrorBody(CodeInvalidAuthHeader, "bad header "+r.Header.Get("Authorization")))
	})
	_, err := f.client(t).GetClientConfig(context.Background())
	if !errors.Is(err, CodeInvalidAuthHeader) {
		t.Fatalf("got %v", err)
	}
	assertNoSecret(t, "error", err.Error())
}

func TestRetryMaxExhausted(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "0")
		writeJSON(w, http.StatusTooManyRequests, appleErrorBody(CodeTooManyRequests, "Too many."))
	})
	c := f.client(t, func(cfg *Config) { cfg.RetryMax = 3 })
	_, err := c.GetClientConfig(context.Background())
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 429 || apiErr.Code != CodeTooManyRequests {
		t.Fatalf("got %#v", err)
	}
	if n := f.count("GET", "/client/config"); n != 4 {
		t.Errorf("%d requests, want 1 + 3 retries", n)
	}
}

func TestGETServerErrorExhausted(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
	})
	c := f.client(t, func(cfg *Config) { cfg.RetryMax = 2 })
	_, err := c.GetClientConfig(context.Background())
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadGateway || apiErr.Code != 0 {
		t.Fatalf("got %#v", err)
	}
	if errors.Is(err, ErrOutcomeUnknown) {
		t.Error("a read is never an unknown outcome")
	}
	if n := f.count("GET", "/client/config"); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
}

func TestPOSTNotReplayedAfterReset(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		hijacker, ok := w.(http.Hijacker)
		if !ok {
			t.Error("cannot hijack the connection")
			return
		}
		conn, _, err := hijacker.Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		if tcp, ok := conn.(*net.TCPConn); ok {
			_ = tcp.SetLinger(0) // send a reset rather than a clean close
		}
		_ = conn.Close()
	})
	ev, err := f.client(t).CreateUsers(context.Background(), oneUser)
	var unknown *OutcomeUnknownError
	if ev != nil || !errors.As(err, &unknown) || !errors.Is(err, ErrOutcomeUnknown) || unknown.Path != "/users/create" {
		t.Fatalf("got %v, %#v", ev, err)
	}
	if n := f.count("POST", "/users/create"); n != 1 {
		t.Errorf("%d requests, want exactly 1", n)
	}
}

func TestPOSTServerErrorWithoutBodyIsUnknown(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
	})
	_, err := f.client(t).AssociateAssets(context.Background(), ManageAssetsRequest{
		Assets: []AssetRef{{AdamID: "408709785", PricingParam: PricingSTDQ}}, ClientUserIDs: []string{"client-1"},
	})
	var apiErr *APIError
	if !errors.Is(err, ErrOutcomeUnknown) || !errors.As(err, &apiErr) || apiErr.StatusCode != 500 {
		t.Fatalf("got %#v", err)
	}
	if n := f.count("POST", "/assets/associate"); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

func TestPOSTRetriedWhenNotApplied(t *testing.T) {
	var n atomic.Int32
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		// Every attempt carries the same, complete request.
		body, _ := io.ReadAll(r.Body)
		if string(body) != `{"users":[{"clientUserId":"client-1","email":"client-1@example.com"}]}` ||
			r.Header.Get("Authorization") != "Bearer "+testTokenFile() || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("attempt %d: %s (Content-Type %q)", n.Load()+1, body, r.Header.Get("Content-Type"))
		}
		switch n.Add(1) {
		case 1:
			w.WriteHeader(http.StatusTooManyRequests)
		case 2:
			writeJSON(w, http.StatusTooManyRequests, appleErrorBody(CodeTooManyRequests, "Too many requests."))
		default:
			writeJSON(w, http.StatusOK, okEvent)
		}
	})
	ev, err := f.client(t).CreateUsers(context.Background(), oneUser)
	if err != nil || ev.EventID != okEvent["eventId"] || ev.UID != testUID {
		t.Fatalf("got %+v, %v", ev, err)
	}
	if got := f.count("POST", "/users/create"); got != 3 {
		t.Errorf("%d requests, want 3", got)
	}
}

// A server error may come after Apple queued the work (apple-api.md gives no promise otherwise):
// a write answered with one is not re-sent, and the caller learns that its outcome is unknown.
func TestPOSTNotRetriedAfterServerError(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		body   map[string]any
	}{
		{"503", http.StatusServiceUnavailable, nil},
		{"503 9729", http.StatusServiceUnavailable, appleErrorBody(CodeServiceUnavailable, "The service is temporarily unavailable.")},
		{"500 9603", http.StatusInternalServerError, appleErrorBody(CodeInternal, "Internal error.")},
		{"200 9603", http.StatusOK, appleErrorBody(CodeInternal, "Internal error.")},
		{"502", http.StatusBadGateway, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
				if tc.body == nil {
					w.WriteHeader(tc.status)
					return
				}
				writeJSON(w, tc.status, tc.body)
			})
			_, err := f.client(t).CreateUsers(context.Background(), oneUser)
			if !errors.Is(err, ErrOutcomeUnknown) {
				t.Fatalf("got %v, want an outcome-unknown error", err)
			}
			if got := f.count("POST", "/users/create"); got != 1 {
				t.Errorf("%d requests, want 1: a write that may have been applied is not re-sent", got)
			}
		})
	}
}

// The client config is set, not added to: a second POST changes nothing, so it is retried.
func TestClientConfigRetriedAfterServerError(t *testing.T) {
	var n atomic.Int32
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			writeJSON(w, http.StatusServiceUnavailable, appleErrorBody(CodeServiceUnavailable, "The service is temporarily unavailable."))
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"uId": testUID, "locationName": "L"})
	})
	if _, err := f.client(t).SetClientConfig(context.Background(), ClientConfigRequest{}); err != nil {
		t.Fatal(err)
	}
	if got := f.count("POST", "/client/config"); got != 2 {
		t.Errorf("%d requests, want 2", got)
	}
}

func TestPOSTRetriedWhenConnectionRefused(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, okEvent)
	})
	// Dial 1 serves the service config; dials 2 and 3 (the POST) are refused.
	var dials atomic.Int32
	tr := cleanhttp.DefaultTransport()
	tr.DisableKeepAlives = true
	dial := tr.DialContext
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if n := dials.Add(1); n == 2 || n == 3 {
			return nil, &net.OpError{Op: "dial", Net: network, Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
		}
		return dial(ctx, network, addr)
	}
	c := f.client(t, func(cfg *Config) { cfg.HTTPClient = &http.Client{Transport: tr} })
	if _, err := c.CreateUsers(context.Background(), oneUser); err != nil {
		t.Fatal(err)
	}
	if n := f.count("POST", "/users/create"); n != 1 || dials.Load() != 4 {
		t.Errorf("%d requests after %d dials, want 1 after 4", n, dials.Load())
	}
}

func TestContextCancellation(t *testing.T) {
	t.Run("during backoff", func(t *testing.T) {
		f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusTooManyRequests)
		})
		c := f.client(t, func(cfg *Config) { cfg.RetryWaitMin, cfg.RetryWaitMax = time.Minute, time.Minute })
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_, err := c.GetClientConfig(ctx)
		if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrOutcomeUnknown) {
			t.Fatalf("got %v", err)
		}
		if n := f.count("GET", "/client/config"); n != 1 {
			t.Errorf("%d requests, want 1", n)
		}
	})
	t.Run("POST in flight", func(t *testing.T) {
		f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
			// Reading the body lets the server notice the client hanging up.
			_, _ = io.Copy(io.Discard, r.Body)
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		})
		c := f.client(t)
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		_, err := c.CreateUsers(ctx, oneUser)
		if !errors.Is(err, ErrOutcomeUnknown) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("got %v, want an unknown outcome caused by the deadline", err)
		}
		if n := f.count("POST", "/users/create"); n != 1 {
			t.Errorf("%d requests, want 1", n)
		}
	})
}

func TestLogsNeverContainToken(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/lookup"):
			writeJSON(w, http.StatusOK, map[string]any{"results": map[string]any{}})
		case r.URL.Path == "/mdm/v2/users/create":
			writeJSON(w, http.StatusOK, okEvent)
		default:
			writeJSON(w, http.StatusOK, clientConfigBody(nil))
		}
	})
	var buf bytes.Buffer
	ctx := tflogtest.RootLogger(context.Background(), &buf)
	c := f.client(t)
	if _, err := c.GetClientConfig(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.LookupMetadata(ctx, []string{"408709785"}, PlatformEducation, "US"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateUsers(ctx, oneUser); err != nil {
		t.Fatal(err)
	}
	logs := buf.String()
	assertNoSecret(t, "logs", logs)
	for _, want := range []string{`"method":"GET"`, `"path":"/mdm/v2/client/config"`, `"path":"/WebObjects/MZStorePlatform.woa/wa/lookup"`,
		`"method":"POST"`, `"status":200`, `"Authorization":"[redacted]"`, `"Cookie":"[redacted]"`, "Apple API response"} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %s:\n%s", want, logs)
		}
	}
	if strings.Contains(logs, "client-1@example.com") {
		t.Error("logs contain a request body")
	}
}

func TestRateLimit(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, clientConfigBody(nil))
	})
	f.setLimits(map[string]any{"maxRequestPerSecond": 20})
	c := f.client(t)
	ctx := context.Background()
	start := time.Now()
	const requests = 10
	for range requests {
		if _, err := c.GetClientConfig(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// 20 per second, evenly spaced.
	if got := c.pacer.Rate(); got != 20 {
		t.Errorf("limit %v, want 20", got)
	}
	if elapsed, least := time.Since(start), time.Duration(requests-1)*time.Second/20; elapsed < least {
		t.Errorf("%d requests took %v, want at least %v", requests, elapsed, least)
	}
}

func TestServiceConfigCachedAndRateFollowsIt(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, clientConfigBody(nil))
	})
	f.setLimits(map[string]any{"maxRequestPerSecond": 1000, "maxUsers": 7})
	var now atomic.Int64
	now.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	c := f.client(t, func(cfg *Config) { cfg.Now = func() time.Time { return time.Unix(0, now.Load()) } })
	ctx := context.Background()
	for range 3 {
		if _, err := c.GetClientConfig(ctx); err != nil {
			t.Fatal(err)
		}
	}
	lim, err := c.Limits(ctx)
	if err != nil || lim.MaxUsers != 7 || lim.MaxAssets != 25 {
		t.Fatalf("got %+v, %v (missing keys keep Apple's defaults)", lim, err)
	}
	if n := f.count("GET", "/service/config"); n != 1 {
		t.Errorf("%d service config requests, want 1 (cached)", n)
	}
	if got := c.pacer.Rate(); got != 1000 {
		t.Errorf("limit %v, want 1000", got)
	}

	f.setLimits(map[string]any{"maxRequestPerSecond": 100})
	now.Add(int64(6 * time.Minute))
	if _, err := c.GetClientConfig(ctx); err != nil {
		t.Fatal(err)
	}
	if n := f.count("GET", "/service/config"); n != 2 {
		t.Errorf("%d service config requests, want 2 after the TTL", n)
	}
	if got := c.pacer.Rate(); got != 100 {
		t.Errorf("limit %v, want 100 after the refresh", got)
	}
}

func TestFixedRequestRate(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, clientConfigBody(nil))
	})
	c := f.client(t, func(cfg *Config) { cfg.RequestsPerSecond = 250 })
	if _, err := c.GetClientConfig(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := c.pacer.Rate(); got != 250 {
		t.Errorf("limit %v, want the configured 250", got)
	}
}

func TestServiceConfigFailure(t *testing.T) {
	var failing atomic.Bool
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, clientConfigBody(nil))
	})
	// Wrap the fake so that the service config can be made to fail.
	inner := f.srv.Config.Handler
	f.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if failing.Load() && r.URL.Path == "/mdm/v2/service/config" {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		inner.ServeHTTP(w, r)
	})
	var now atomic.Int64
	c := f.client(t, func(cfg *Config) {
		cfg.RetryMax = 1
		cfg.Now = func() time.Time { return time.Unix(0, now.Load()) }
	})
	ctx := context.Background()

	failing.Store(true)
	var apiErr *APIError
	if _, err := c.GetClientConfig(ctx); !errors.As(err, &apiErr) || apiErr.Path != "/service/config" {
		t.Fatalf("without any service config: got %v", err)
	}
	failing.Store(false)
	if _, err := c.GetClientConfig(ctx); err != nil {
		t.Fatal(err)
	}
	failing.Store(true)
	now.Add(int64(time.Hour))
	if _, err := c.GetClientConfig(ctx); err != nil {
		t.Fatalf("a failed refresh should keep the previous config: %v", err)
	}
}
