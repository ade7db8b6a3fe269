package apple

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	"github.com/hashicorp/terraform-plugin-log/tflog"
)

// maxResponseBytes bounds a buffered response body. The largest documented
// pages hold about a thousand small records.
const maxResponseBytes = 32 << 20

var errBodyTooLarge = errors.New("apple: response body exceeds 32 MiB")

type callStateKey struct{}

// callState follows one logical request across its attempts. The transport,
// the retry policy and the log hooks find it in the request context.
type callState struct {
	// repeatable: the request may be sent again whatever happened to an attempt (request.repeatable).
	repeatable bool
	limited    bool // subject to the token's rate limit

	// The fields below describe the current attempt and are touched only by
	// the goroutine running the request. body and apple hold its response:
	// http.Client may wrap the Body it hands on, so the copy is kept here.
	attempt int
	start   time.Time
	body    []byte
	apple   *appleError
	// wrote is set, from the connection's goroutine, once the attempt's
	// headers were written; before that nothing can have reached Apple. Each
	// attempt gets its own, so a late signal cannot touch the next attempt.
	wrote *atomic.Bool
	// uncertain records that the attempt failed after writing.
	uncertain bool
}

func newCallState(repeatable, limited bool) *callState {
	return &callState{repeatable: repeatable, limited: limited, wrote: new(atomic.Bool)}
}

func stateOf(ctx context.Context) *callState {
	st, _ := ctx.Value(callStateKey{}).(*callState)
	return st
}

// transport rate-limits every attempt, notes whether the request was written,
// and buffers the response body so that the retry policy, the backoff, the log
// hooks and the caller can all read Apple's errorNumber.
type transport struct {
	next  http.RoundTripper
	pacer *pacer
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	st := stateOf(req.Context())
	wrote := new(atomic.Bool)
	st.attempt++
	st.body, st.apple, st.wrote, st.uncertain = nil, nil, wrote, false
	if st.limited {
		answered, err := t.pacer.Wait(req.Context())
		if err != nil {
			return nil, err
		}
		defer answered() // once the whole answer is read, or the attempt failed
	}
	st.start = time.Now()
	trace := &httptrace.ClientTrace{WroteHeaders: func() { wrote.Store(true) }}
	resp, err := t.next.RoundTrip(req.WithContext(httptrace.WithClientTrace(req.Context(), trace)))
	if err == nil {
		err = st.buffer(resp)
	}
	if err != nil {
		st.uncertain = wrote.Load()
		return nil, err
	}
	if resp.Request == nil { // a custom base transport may leave it unset
		resp.Request = req
	}
	return resp, nil
}

// buffer reads the whole (bounded) body into st and replaces resp.Body with a
// reader over the copy.
func (st *callState) buffer(resp *http.Response) error {
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return err
	}
	if len(data) > maxResponseBytes {
		return errBodyTooLarge
	}
	st.body, st.apple = data, parseAppleError(data)
	resp.Body = io.NopCloser(bytes.NewReader(data))
	return nil
}

// appleErrorOf returns the ErrorResponse in resp's body, whatever the status.
func appleErrorOf(resp *http.Response) *appleError {
	return stateOf(resp.Request.Context()).apple
}

// logRequest logs each attempt. Headers are redacted; bodies are never logged.
func logRequest(_ retryablehttp.Logger, r *http.Request, attempt int) {
	tflog.Debug(r.Context(), "Apple API request", map[string]any{
		"method":  r.Method,
		"path":    r.URL.Path,
		"query":   r.URL.RawQuery,
		"attempt": attempt + 1,
		"headers": redactHeaders(r.Header),
	})
}

// logResponse logs each response that arrived.
func logResponse(_ retryablehttp.Logger, resp *http.Response) {
	ctx := resp.Request.Context()
	st := stateOf(ctx)
	fields := map[string]any{
		"method":      resp.Request.Method,
		"path":        resp.Request.URL.Path,
		"query":       resp.Request.URL.RawQuery,
		"attempt":     st.attempt,
		"status":      resp.StatusCode,
		"duration_ms": time.Since(st.start).Milliseconds(),
	}
	if ae := appleErrorOf(resp); ae != nil {
		fields["error_number"] = int(ae.Code)
	}
	if ra := resp.Header.Get("Retry-After"); ra != "" {
		fields["retry_after"] = ra
	}
	tflog.Debug(ctx, "Apple API response", fields)
}

// redactHeaders flattens headers for logging, hiding the credential-bearing
// ones: the sToken travels in Authorization, or in the itvt cookie.
func redactHeaders(h http.Header) map[string]string {
	out := make(map[string]string, len(h))
	for name, values := range h {
		switch http.CanonicalHeaderKey(name) {
		case "Authorization", "Proxy-Authorization", "Cookie":
			out[name] = "[redacted]"
		default:
			out[name] = strings.Join(values, ", ")
		}
	}
	return out
}
