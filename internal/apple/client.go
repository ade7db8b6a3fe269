package apple

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-cleanhttp"
	"github.com/hashicorp/go-retryablehttp"
	"github.com/hashicorp/terraform-plugin-log/tflog"
	"golang.org/x/sync/semaphore"
)

// DefaultBaseURL is Apple's production endpoint.
const DefaultBaseURL = "https://vpp.itunes.apple.com/mdm/v2"

const (
	defaultRequestTimeout   = 60 * time.Second
	defaultRetryMax         = 8
	defaultRetryWaitMin     = time.Second
	defaultRetryWaitMax     = 30 * time.Second
	defaultMaxRetryAfter    = 2 * time.Minute
	defaultServiceConfigTTL = 5 * time.Minute
	defaultUserAgent        = "terraform-provider-vpp"

	// maxInFlight is Apple's cap on simultaneous paginated requests.
	maxInFlight = 5
)

// Config configures a Client. Only Token is required.
type Config struct {
	// BaseURL defaults to DefaultBaseURL.
	BaseURL string
	Token   *Token
	// MDMID is our mdmInfo.id; empty disables the mdmInfo check.
	MDMID string
	// MDMName is our mdmInfo.name: an mdmInfo with this name is ours too, whatever its id (an
	// earlier release of this provider wrote another id).
	MDMName string
	// LocationUID is the expected uId; empty means learn it from the first
	// authenticated response.
	LocationUID string
	// HTTPClient is copied and wrapped; nil means a pooled cleanhttp client.
	HTTPClient *http.Client
	// RequestTimeout bounds each attempt (default 60s).
	RequestTimeout time.Duration
	// RetryMax is the number of retries (default 8; negative disables them).
	RetryMax int
	// RetryWaitMin and RetryWaitMax bound the exponential backoff (1s, 30s).
	RetryWaitMin, RetryWaitMax time.Duration
	// MaxRetryAfter caps a Retry-After wait asked for by Apple (default 2m).
	MaxRetryAfter time.Duration
	// RequestsPerSecond fixes the request rate; 0 follows the service config's
	// maxRequestPerSecond.
	RequestsPerSecond float64
	// ServiceConfigTTL is how long the service config is cached (default 5m).
	ServiceConfigTTL time.Duration
	UserAgent        string
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Client talks to Apple for one content token. It is safe for concurrent use;
// build one per token and reuse it, since it owns the token's rate limiter.
type Client struct {
	base          string
	token         *Token
	mdmID         string
	mdmName       string
	userAgent     string
	now           func() time.Time
	fixedRate     bool
	maxRetryAfter time.Duration
	configTTL     time.Duration

	http     *retryablehttp.Client
	pacer    *pacer              // the token's rate limit, shared by all calls
	inFlight *semaphore.Weighted // paginated and lookup requests, shared by all calls

	refreshing chan struct{} // held while the service config is fetched

	mu      sync.Mutex // guards the fields below
	service *ServiceConfig
	fetched time.Time
	uid     string
}

// NewClient validates cfg and builds a Client.
func NewClient(cfg Config) (*Client, error) {
	if cfg.Token == nil || cfg.Token.Raw == "" {
		return nil, errors.New("apple: Config.Token is required")
	}
	base := cfg.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	if u, err := url.Parse(base); err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("apple: Config.BaseURL %q is not an absolute http(s) URL", base)
	}
	if cfg.RequestsPerSecond < 0 {
		return nil, errors.New("apple: Config.RequestsPerSecond must not be negative")
	}

	c := &Client{
		base:          strings.TrimRight(base, "/"),
		token:         cfg.Token,
		mdmID:         cfg.MDMID,
		mdmName:       cfg.MDMName,
		userAgent:     cmp.Or(cfg.UserAgent, defaultUserAgent),
		now:           cfg.Now,
		fixedRate:     cfg.RequestsPerSecond > 0,
		maxRetryAfter: cmp.Or(cfg.MaxRetryAfter, defaultMaxRetryAfter),
		configTTL:     cmp.Or(cfg.ServiceConfigTTL, defaultServiceConfigTTL),
		inFlight:      semaphore.NewWeighted(maxInFlight),
		refreshing:    make(chan struct{}, 1),
		uid:           cfg.LocationUID,
	}
	if c.now == nil {
		c.now = time.Now
	}
	perSecond := cfg.RequestsPerSecond
	if !c.fixedRate {
		perSecond = float64(DefaultLimits().MaxRequestPerSecond)
	}
	c.pacer = newPacer(perSecond)

	hc := cleanhttp.DefaultPooledClient()
	if cfg.HTTPClient != nil {
		copied := *cfg.HTTPClient
		hc = &copied
	}
	next := hc.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	hc.Transport = &transport{next: next, pacer: c.pacer}
	hc.Timeout = cmp.Or(cfg.RequestTimeout, defaultRequestTimeout)

	retries := cmp.Or(cfg.RetryMax, defaultRetryMax)
	if cfg.RetryMax < 0 {
		retries = 0
	}
	c.http = &retryablehttp.Client{
		HTTPClient:   hc,
		Logger:       nil, // logging happens in the hooks, which see the request context
		RetryWaitMin: cmp.Or(cfg.RetryWaitMin, defaultRetryWaitMin),
		RetryWaitMax: cmp.Or(cfg.RetryWaitMax, defaultRetryWaitMax),
		RetryMax:     retries,
		CheckRetry:   checkRetry,
		Backoff:      c.backoff,
		// Hand the last response to us so that Apple's error body survives.
		ErrorHandler:    retryablehttp.PassthroughErrorHandler,
		RequestLogHook:  logRequest,
		ResponseLogHook: logResponse,
	}
	return c, nil
}

// LocationUID returns the expected uId, or the one learnt from the first
// authenticated response ("" before that).
func (c *Client) LocationUID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.uid
}

type authMode int

const (
	authNone   authMode = iota
	authBearer          // Authorization: Bearer <sToken>
	authCookie          // Cookie: itvt=<sToken> (metadata lookup)
)

// request is one logical call, which may take several attempts.
type request struct {
	method string
	url    string
	path   string // names the endpoint in errors
	body   []byte
	auth   authMode
}

// repeatable reports whether sending r twice does no more than sending it once: reads, and the
// client config, which a second POST sets to the same values. Other writes create users or spend
// licenses, so a write that may have been applied is never re-sent blindly.
func (r request) repeatable() bool {
	return r.method == http.MethodGet || r.path == "/client/config"
}

// response is the final answer to a request.
type response struct {
	status int
	header http.Header
	body   []byte
	apple  *appleError
}

// exchange performs r with retries and returns Apple's final response,
// whatever its status. Its error is a transport failure, or an
// *OutcomeUnknownError when a write may have reached Apple.
func (c *Client) exchange(ctx context.Context, r request) (*response, error) {
	st := newCallState(r.repeatable(), r.auth != authNone)
	ctx = context.WithValue(ctx, callStateKey{}, st)
	for _, secret := range []string{c.token.Raw, c.token.Secret} {
		if secret != "" {
			ctx = tflog.MaskLogStrings(ctx, secret)
		}
	}
	var body any
	if r.body != nil {
		body = r.body // a []byte body can be replayed on retries
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, r.method, r.url, body)
	if err != nil {
		return nil, fmt.Errorf("apple: %s %s: %w", r.method, r.path, err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	switch r.auth {
	case authBearer:
		req.Header.Set("Authorization", "Bearer "+c.token.Raw)
	case authCookie:
		req.Header.Set("Cookie", "itvt="+c.token.Raw)
	}

	resp, err := c.http.Do(req)
	// A complete response is used even when err reports a context cancelled
	// after it arrived.
	if resp == nil {
		if !r.repeatable() && st.uncertain {
			return nil, &OutcomeUnknownError{Method: r.method, Path: r.path, Err: err}
		}
		return nil, fmt.Errorf("apple: %s %s: %w", r.method, r.path, err)
	}
	defer resp.Body.Close()
	return &response{status: resp.StatusCode, header: resp.Header, body: st.body, apple: st.apple}, nil
}

// check maps an error body or a non-2xx status to an error.
func (c *Client) check(r request, resp *response) error {
	retryAfter, _ := parseRetryAfter(resp.header.Get("Retry-After"), c.now())
	var err *APIError
	switch {
	case resp.apple != nil:
		err = &APIError{
			Method: r.method, Path: r.path, StatusCode: resp.status,
			Code: resp.apple.Code, Message: c.redact(resp.apple.Message), Info: resp.apple.Info,
			RetryAfter: retryAfter,
		}
	case resp.status >= 200 && resp.status < 300:
		return nil
	default:
		err = &APIError{Method: r.method, Path: r.path, StatusCode: resp.status, RetryAfter: retryAfter}
	}
	if !r.repeatable() && mayHaveApplied(err) {
		return &OutcomeUnknownError{Method: r.method, Path: r.path, Err: err}
	}
	return err
}

// mayHaveApplied reports whether a write answered with err may still have been applied: a server
// error (any 5xx but 501, or Apple's 9603, 9729 or 9644 in whatever status) can come after Apple
// queued the work. Refusals for the request itself (4xx, the rate limit, the token) cannot.
func mayHaveApplied(err *APIError) bool {
	if err.Code == 0 {
		return err.StatusCode >= 500 && err.StatusCode != http.StatusNotImplemented
	}
	// Apple's transient numbers but the rate limit, which it checks before the request.
	return err.Code.retryable() && err.Code != CodeTooManyRequests
}

// redact removes the token from text Apple sent back, in case it echoes it.
func (c *Client) redact(s string) string {
	for _, secret := range []string{c.token.Raw, c.token.Secret} {
		if secret != "" {
			s = strings.ReplaceAll(s, secret, "[redacted]")
		}
	}
	return s
}

// call sends an authenticated request to the API and decodes the JSON answer
// into out. The envelope is left to the caller to check.
func (c *Client) call(ctx context.Context, method, path string, query url.Values, in, out any) error {
	// Refreshing the service config here keeps the limits and the rate current.
	if _, err := c.ServiceConfig(ctx); err != nil {
		return err
	}
	r := request{method: method, url: c.base + path, path: path, auth: authBearer}
	if len(query) > 0 {
		r.url += "?" + query.Encode()
	}
	if in != nil {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false) // send URLs with a literal &, as Apple's examples do
		if err := enc.Encode(in); err != nil {
			return fmt.Errorf("apple: %s %s: encoding the request: %w", method, path, err)
		}
		r.body = bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	}
	resp, err := c.exchange(ctx, r)
	if err != nil {
		return err
	}
	if err := c.check(r, resp); err != nil {
		return err
	}
	if err := json.Unmarshal(resp.body, out); err != nil {
		err = fmt.Errorf("apple: %s %s: decoding the response: %w", method, path, err)
		if method != http.MethodGet {
			// Apple answered 2xx, so the write was probably applied.
			return &OutcomeUnknownError{Method: method, Path: path, Err: err}
		}
		return err
	}
	return nil
}

// checkEnvelope verifies that a response is for our location and that no
// other system has claimed it. The first uId seen is remembered.
//
// apple-api.md §3 documents a uId on every authenticated response, and that is how a response is
// known to be about the token's location: an answer without one is refused like an answer for
// another location (a write's event is still returned with the error, so that it can be followed).
func (c *Client) checkEnvelope(e Envelope) error {
	if e.UID == "" {
		c.mu.Lock()
		expected := c.uid
		c.mu.Unlock()
		return &LocationMismatchError{Expected: expected}
	}
	c.mu.Lock()
	if c.uid == "" {
		c.uid = e.UID
	}
	expected := c.uid
	c.mu.Unlock()
	if e.UID != expected {
		return &LocationMismatchError{Expected: expected, Got: e.UID}
	}
	if c.mdmID != "" && e.MDMInfo != nil && e.MDMInfo.ID != "" && e.MDMInfo.ID != c.mdmID &&
		(c.mdmName == "" || e.MDMInfo.Name != c.mdmName) {
		return &MDMConflictError{Ours: c.mdmID, Found: *e.MDMInfo}
	}
	return nil
}
