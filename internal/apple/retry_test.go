package apple

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// attempt builds the context and response of a finished attempt, as the
// transport leaves them for the retry policy and the backoff.
func attempt(method string, wrote bool, status int, body string, header ...string) (context.Context, *http.Response) {
	ctx := stateContext(method, wrote)
	req, err := http.NewRequestWithContext(ctx, method, "https://vpp.example/mdm/v2/x", nil)
	if err != nil {
		panic(err)
	}
	resp := &http.Response{StatusCode: status, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(body)), Request: req}
	for i := 0; i+1 < len(header); i += 2 {
		resp.Header.Set(header[i], header[i+1])
	}
	if err := stateOf(ctx).buffer(resp); err != nil {
		panic(err)
	}
	return ctx, resp
}

// testResponse is a finished GET attempt's response.
func testResponse(status int, body string, header ...string) *http.Response {
	_, resp := attempt(http.MethodGet, true, status, body, header...)
	return resp
}

func stateContext(method string, wrote bool) context.Context {
	st := newCallState(method == http.MethodGet, false)
	st.wrote.Store(wrote)
	return context.WithValue(context.Background(), callStateKey{}, st)
}

func appleBody(code Code) string {
	return `{"errorNumber":` + strconv.Itoa(int(code)) + `,"errorMessage":"m"}`
}

func TestCheckRetry(t *testing.T) {
	transportErr := errors.New("read tcp: connection reset by peer")
	cases := []struct {
		name   string
		method string
		wrote  bool
		err    error // a transport error, or else:
		status int
		body   string
		retry  bool
	}{
		{"GET transport error", http.MethodGet, true, transportErr, 0, "", true},
		{"GET body too large", http.MethodGet, true, errBodyTooLarge, 0, "", false},
		{"GET 429", http.MethodGet, true, nil, 429, "", true},
		{"GET 429 9646", http.MethodGet, true, nil, 429, appleBody(CodeTooManyRequests), true},
		{"GET 200 with 9646", http.MethodGet, true, nil, 200, appleBody(CodeTooManyRequests), true},
		{"GET 200 with 9603", http.MethodGet, true, nil, 200, appleBody(CodeInternal), true},
		{"GET 200 with 9729", http.MethodGet, true, nil, 200, appleBody(CodeServiceUnavailable), true},
		{"GET 200 with 9644", http.MethodGet, true, nil, 200, appleBody(CodeMaintenance), true},
		{"GET 500 with 9603", http.MethodGet, true, nil, 500, appleBody(CodeInternal), true},
		{"GET 500 no body", http.MethodGet, true, nil, 500, "", true},
		{"GET 502 html", http.MethodGet, true, nil, 502, "<html>bad gateway</html>", true},
		{"GET 503", http.MethodGet, true, nil, 503, "", true},
		{"GET 501", http.MethodGet, true, nil, 501, "", false},
		{"GET 500 with non-transient 9602", http.MethodGet, true, nil, 500, appleBody(CodeInvalidArgument), false},
		{"GET 401 9625", http.MethodGet, true, nil, 401, appleBody(CodeTokenRevoked), false},
		{"GET 200 with 9622", http.MethodGet, true, nil, 200, appleBody(CodeInvalidToken), false},
		{"GET 400 9650", http.MethodGet, true, nil, 400, appleBody(CodePageOutOfRange), false},
		{"GET 404", http.MethodGet, true, nil, 404, "", false},
		{"GET 200", http.MethodGet, true, nil, 200, `{"uId":"1"}`, false},

		{"POST error before writing", http.MethodPost, false, transportErr, 0, "", true},
		{"POST error after writing", http.MethodPost, true, transportErr, 0, "", false},
		{"POST 429", http.MethodPost, true, nil, 429, "", true},
		{"POST 429 9646", http.MethodPost, true, nil, 429, appleBody(CodeTooManyRequests), true},
		{"POST 200 with 9646", http.MethodPost, true, nil, 200, appleBody(CodeTooManyRequests), true},
		// A server error may come after Apple queued the work: never re-sent blindly.
		{"POST 503", http.MethodPost, true, nil, 503, "", false},
		{"POST 500 with 9603", http.MethodPost, true, nil, 500, appleBody(CodeInternal), false},
		{"POST 503 with 9729", http.MethodPost, true, nil, 503, appleBody(CodeServiceUnavailable), false},
		{"POST 200 with 9603", http.MethodPost, true, nil, 200, appleBody(CodeInternal), false},
		{"POST 200 with 9644", http.MethodPost, true, nil, 200, appleBody(CodeMaintenance), false},
		{"POST 500 no body", http.MethodPost, true, nil, 500, "", false},
		{"POST 502", http.MethodPost, true, nil, 502, "bad gateway", false},
		{"POST 504", http.MethodPost, true, nil, 504, "", false},
		{"POST 400 9700", http.MethodPost, true, nil, 400, appleBody(CodeTooManyAssets), false},
		{"POST 200", http.MethodPost, true, nil, 200, `{"eventId":"e"}`, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, resp := stateContext(tc.method, tc.wrote), (*http.Response)(nil)
			if tc.err == nil {
				ctx, resp = attempt(tc.method, tc.wrote, tc.status, tc.body)
			}
			retry, err := checkRetry(ctx, resp, tc.err)
			if err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if retry != tc.retry {
				t.Errorf("retry = %v, want %v", retry, tc.retry)
			}
		})
	}

	t.Run("context done", func(t *testing.T) {
		ctx, resp := attempt(http.MethodGet, false, 503, "")
		ctx, cancel := context.WithCancel(ctx)
		cancel()
		retry, err := checkRetry(ctx, resp, nil)
		if retry || !errors.Is(err, context.Canceled) {
			t.Errorf("got %v, %v", retry, err)
		}
	})
}

func TestBackoff(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	c, err := NewClient(Config{Token: testToken(t), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	const lo, hi = 100 * time.Millisecond, time.Second
	date := func(d time.Duration) string { return now.Add(d).Format(http.TimeFormat) }

	honoured := []struct {
		name string
		resp *http.Response
		want time.Duration
	}{
		{"429 seconds", testResponse(429, "", "Retry-After", "3"), 3 * time.Second},
		{"503 seconds", testResponse(503, "", "Retry-After", "120"), 120 * time.Second},
		{"500 seconds capped", testResponse(500, "", "Retry-After", "600"), 2 * time.Minute},
		{"502 HTTP date", testResponse(502, "", "Retry-After", date(90*time.Second)), 90 * time.Second},
		{"503 HTTP date capped", testResponse(503, "", "Retry-After", date(time.Hour)), 2 * time.Minute},
		{"503 HTTP date in the past", testResponse(503, "", "Retry-After", date(-time.Minute)), 0},
		{"200 with 9646 and seconds", testResponse(200, appleBody(CodeTooManyRequests), "Retry-After", "7"), 7 * time.Second},
	}
	for _, tc := range honoured {
		t.Run(tc.name, func(t *testing.T) {
			if got := c.backoff(lo, hi, 0, tc.resp); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}

	exponentialCases := []struct {
		name string
		resp *http.Response
	}{
		{"no response", nil},
		{"429 without header", testResponse(429, "")},
		{"503 with unreadable header", testResponse(503, "", "Retry-After", "soon")},
		{"503 with negative seconds", testResponse(503, "", "Retry-After", "-5")},
		{"400 with header is not a retry signal", testResponse(400, "", "Retry-After", "9")},
	}
	for _, tc := range exponentialCases {
		t.Run(tc.name, func(t *testing.T) {
			for attempt, ms := range []int{100, 200, 400, 800, 1000, 1000} {
				base := time.Duration(ms) * time.Millisecond
				got := c.backoff(lo, hi, attempt, tc.resp)
				if got > base || got < base*9/10 {
					t.Errorf("attempt %d: got %v, want within 10%% below %v", attempt, got, base)
				}
			}
			if got := c.backoff(lo, hi, 400, tc.resp); got > hi || got < hi*9/10 {
				t.Errorf("huge attempt: got %v", got)
			}
		})
	}
}
