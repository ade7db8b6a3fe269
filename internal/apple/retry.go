package apple

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// checkRetry is the retry policy. Reads are retried on transport errors, 429,
// 5xx (except 501) and Apple's transient error numbers, even inside a 200.
// Writes are retried only when they provably were not applied: the request was
// never written, or Apple refused it for the rate (429, 9646), which it checks
// before it looks at the request. A write answered with a server error (5xx,
// 9603, 9729, 9644) may have been applied before the error: Apple can queue the
// event and then fail to answer. It is not re-sent here; the caller gets an
// *OutcomeUnknownError and reconciles from Apple's records.
func checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	st := stateOf(ctx)
	read := st.repeatable
	if err != nil {
		if errors.Is(err, errBodyTooLarge) {
			return false, nil
		}
		if !read && st.wrote.Load() {
			return false, nil // it may have reached Apple: the caller must reconcile
		}
		// Still skips errors that cannot heal: bad scheme, redirect loops, TLS trust.
		return retryablehttp.DefaultRetryPolicy(ctx, nil, err)
	}
	if st.apple != nil {
		if !read {
			return st.apple.Code == CodeTooManyRequests, nil
		}
		return st.apple.Code.retryable(), nil
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		return true, nil
	case read && (resp.StatusCode == 0 || resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented):
		return true, nil
	}
	return false, nil
}

// backoff waits as long as Retry-After asks (seconds or HTTP date, capped at
// MaxRetryAfter) on 429, 5xx and Apple error responses; otherwise it grows
// exponentially from lo to hi with a little jitter.
func (c *Client) backoff(lo, hi time.Duration, attempt int, resp *http.Response) time.Duration {
	if resp != nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 || appleErrorOf(resp) != nil) {
		if wait, ok := parseRetryAfter(resp.Header.Get("Retry-After"), c.now()); ok {
			return min(wait, c.maxRetryAfter)
		}
	}
	return exponential(lo, hi, attempt)
}

// exponential returns lo·2^attempt capped at hi, less up to 10% jitter so that
// clients sharing a token do not retry in lockstep.
func exponential(lo, hi time.Duration, attempt int) time.Duration {
	wait := hi
	if d := float64(lo) * math.Pow(2, float64(attempt)); d < float64(hi) {
		wait = time.Duration(d)
	}
	if wait <= 0 {
		return 0
	}
	return wait - time.Duration(rand.Int64N(int64(wait)/10+1))
}

// parseRetryAfter reads a Retry-After value in seconds or as an HTTP date.
// A date in the past means no wait.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		return time.Duration(min(secs, math.MaxInt64/int64(time.Second))) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}
