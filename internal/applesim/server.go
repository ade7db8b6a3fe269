package applesim

import (
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"mime"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// apiPrefix is where the v2 endpoints live.
const apiPrefix = "/mdm/v2"

// maxBodyBytes bounds a request body; the largest legal request (25 assets, 2000 ids) is far
// smaller.
const maxBodyBytes = 8 << 20

// Server is the simulated service. Create it with New, serve it as an http.Handler, and stop its
// background worker with Close. All methods are safe for concurrent use.
type Server struct {
	opts Options

	mu      sync.Mutex // guards w, queue, windows, limits, clock, strict, violations and the counters below
	w       *world
	queue   []queued           // pending events in due order
	windows map[string]*window // rate limiter per location
	limits  map[string]int

	strict     bool        // record double spends (see SetStrict)
	violations []Violation // recorded while strict, in order

	appliedSteps uint64         // event processing steps applied (AppliedSteps)
	pageRequests map[string]int // paginated GETs in flight per location
	pageHook     func()         // tests: runs while a paginated GET holds its slot
	// replays holds, in strict mode, what faulted-after writes carried: location uId → endpoint
	// path → item → fault kind (see rememberFaulted).
	replays map[string]map[string]map[assignKey]FaultKind

	faults faults
	stats  statsCounter

	// clock is the real clock behind the rate limiter and ProcessingDelay; tests replace it.
	clock func() time.Time

	wake      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup
}

// New returns a Server with no locations and starts its event worker.
func New(opts Options) *Server {
	opts = opts.withDefaults()
	s := &Server{
		opts:    opts,
		w:       newWorld(),
		windows: map[string]*window{},
		limits:  opts.Limits,
		strict:  opts.Strict,
		clock:   time.Now,
		wake:    make(chan struct{}, 1),
		done:    make(chan struct{}),

		pageRequests: map[string]int{},
		replays:      map[string]map[string]map[assignKey]FaultKind{},
	}
	s.faults.init(opts.Seed, opts.RandomFaults)
	s.wg.Add(1)
	go s.run()
	return s
}

// Close stops the background worker. Pending events stay pending (ProcessPendingEvents still
// applies them). Close is idempotent.
func (s *Server) Close() {
	s.closeOnce.Do(func() { close(s.done) })
	s.wg.Wait()
}

// handler serves one endpoint once the caller is authenticated (if the endpoint needs it).
type handler func(s *Server, c *call) (any, *apiError)

type endpoint struct {
	auth    bool
	methods map[string]handler
}

// endpoints maps paths below apiPrefix to their handlers.
var endpoints = map[string]endpoint{
	"/service/config": {auth: false, methods: map[string]handler{http.MethodGet: (*Server).getServiceConfig}},
	"/client/config": {auth: true, methods: map[string]handler{
		http.MethodGet:  (*Server).getClientConfig,
		http.MethodPost: (*Server).postClientConfig,
	}},
	"/assets":              {auth: true, methods: map[string]handler{http.MethodGet: (*Server).getAssets}},
	"/assignments":         {auth: true, methods: map[string]handler{http.MethodGet: (*Server).getAssignments}},
	"/assets/associate":    {auth: true, methods: map[string]handler{http.MethodPost: (*Server).associate}},
	"/assets/disassociate": {auth: true, methods: map[string]handler{http.MethodPost: (*Server).disassociate}},
	"/assets/revoke":       {auth: true, methods: map[string]handler{http.MethodPost: (*Server).revoke}},
	"/users":               {auth: true, methods: map[string]handler{http.MethodGet: (*Server).getUsers}},
	"/users/create":        {auth: true, methods: map[string]handler{http.MethodPost: (*Server).createUsers}},
	"/users/update":        {auth: true, methods: map[string]handler{http.MethodPost: (*Server).updateUsers}},
	"/users/retire":        {auth: true, methods: map[string]handler{http.MethodPost: (*Server).retireUsers}},
	"/status":              {auth: true, methods: map[string]handler{http.MethodGet: (*Server).getStatus}},
}

// call is one request being served.
type call struct {
	r      *http.Request
	secret string // inner token of the caller
	uid    string // location of the caller, once authenticated
	body   []byte
	// after is the fault kind that will replace this request's response once it has been
	// applied (FaultResetAfter, FaultInternalErrorAfter, FaultUnavailableAfter); "" normally.
	after FaultKind
}

// pagedEndpoints are the paginated GET endpoints that MaxConcurrentPageRequests limits.
var pagedEndpoints = map[string]bool{"/assets": true, "/assignments": true, "/users": true}

// endpointKey names a request for stats and fault rules: "GET /assets", "POST /users/create",
// "GET /lookup".
func endpointKey(r *http.Request) string {
	path := strings.TrimSuffix(r.URL.Path, "/")
	switch {
	case path == lookupPath:
		path = "/lookup"
	case strings.HasPrefix(path, artworkPrefix):
		path = "/artwork"
	default:
		path = strings.TrimPrefix(path, apiPrefix)
	}
	return r.Method + " " + path
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	key := endpointKey(r)
	s.stats.request(key)
	rec := &statusRecorder{ResponseWriter: w}
	defer func() {
		if rec.status == http.StatusTooManyRequests {
			s.stats.rateLimited()
		}
	}()
	if f, ok := s.faults.next(key); ok {
		s.stats.fault(f.Kind)
		s.serveFault(rec, r, f)
		return
	}
	s.serve(rec, r, "")
}

// serve routes a request that no fault intercepted, or that a fault kind "after" lets through
// before it replaces the response.
func (s *Server) serve(w http.ResponseWriter, r *http.Request, after FaultKind) {
	path := strings.TrimSuffix(r.URL.Path, "/")
	switch {
	case path == lookupPath:
		s.lookup(w, r)
		return
	case strings.HasPrefix(path, artworkPrefix):
		s.artwork(w, r)
		return
	}
	rel, ok := strings.CutPrefix(path, apiPrefix)
	ep, known := endpoints[rel]
	if !ok || !known {
		http.NotFound(w, r)
		return
	}
	c := &call{r: r, after: after}
	if ep.auth {
		var aerr *apiError
		if c.secret, c.uid, aerr = s.authenticate(r); aerr != nil {
			s.writeError(w, aerr)
			return
		}
	}
	h, ok := ep.methods[r.Method]
	if !ok {
		w.Header().Set("Allow", strings.Join(slices.Sorted(maps.Keys(ep.methods)), ", "))
		s.writeError(w, errorFor(9726))
		return
	}
	if r.Method == http.MethodGet && pagedEndpoints[rel] {
		if !s.enterPageRequest(c.uid) {
			aerr := errorFor(9646)
			aerr.retryAfter = s.opts.Quirks.RateLimitRetryAfter
			s.writeError(w, aerr)
			return
		}
		defer s.leavePageRequest(c.uid)
	}
	if r.Method == http.MethodPost {
		mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || mt != "application/json" {
			s.writeError(w, errorFor(9727))
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
		if err != nil {
			s.writeError(w, errorFor(9602))
			return
		}
		c.body = body
		s.checkReplay(c, rel)
	}
	resp, aerr := h(s, c)
	if aerr != nil {
		s.writeError(w, aerr)
		return
	}
	if c.after != "" {
		s.rememberFaulted(c, rel)
	}
	writeJSON(w, http.StatusOK, resp)
}

// enterPageRequest takes one of a location's MaxConcurrentPageRequests slots for a paginated GET;
// it reports false, taking nothing, when they are all in use.
func (s *Server) enterPageRequest(uid string) bool {
	s.mu.Lock()
	limit := s.opts.MaxConcurrentPageRequests
	if limit > 0 && s.pageRequests[uid] >= limit {
		s.mu.Unlock()
		return false
	}
	s.pageRequests[uid]++
	hook := s.pageHook
	s.mu.Unlock()
	if hook != nil {
		hook()
	}
	return true
}

func (s *Server) leavePageRequest(uid string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pageRequests[uid]--; s.pageRequests[uid] <= 0 {
		delete(s.pageRequests, uid)
	}
}

// authenticate applies the token checks in the order of apple-api.md §15, then the rate limit,
// and returns the caller's inner token and location.
func (s *Server) authenticate(r *http.Request) (secret, uid string, _ *apiError) {
	value := strings.TrimSpace(r.Header.Get("Authorization"))
	if value == "" || strings.EqualFold(value, "Bearer") {
		return "", "", errorFor(9601)
	}
	scheme, cred, found := strings.Cut(value, " ")
	if !found || !strings.EqualFold(scheme, "Bearer") {
		return "", "", errorFor(9722)
	}
	cred = strings.TrimSpace(cred)
	if cred == "" {
		return "", "", errorFor(9601)
	}
	secret, ok := decodeToken(cred)
	if !ok {
		return "", "", errorFor(9622)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tok := s.w.Tokens[secret]
	if tok == nil || s.w.Locations[tok.UID] == nil {
		return "", "", errorFor(9622)
	}
	if tok.Expired || !s.opts.Now().Before(tok.ExpiresAt) {
		return "", "", errorFor(9621)
	}
	if tok.Revoked {
		return "", "", errorFor(9625)
	}
	if !s.admitLocked(tok.UID) {
		aerr := errorFor(9646)
		aerr.retryAfter = s.opts.Quirks.RateLimitRetryAfter
		return "", "", aerr
	}
	return secret, tok.UID, nil
}

// sessionLocked resolves the authenticated caller under s.mu: LoadState may have replaced the
// state since authenticate ran.
func (s *Server) sessionLocked(c *call) (*token, *location, *apiError) {
	tok := s.w.Tokens[c.secret]
	if tok == nil {
		return nil, nil, errorFor(9622)
	}
	loc := s.w.Locations[tok.UID]
	if loc == nil {
		return nil, nil, errorFor(9622)
	}
	return tok, loc, nil
}

// envelope holds the fields every authenticated success response carries.
type envelope struct {
	MDMInfo             *MDMInfo `json:"mdmInfo,omitempty"`
	TokenExpirationDate string   `json:"tokenExpirationDate,omitempty"`
	UID                 string   `json:"uId"`
}

// dateLayout is Apple's date format: UTC offset without a colon, no fractional seconds.
const dateLayout = "2006-01-02T15:04:05-0700"

func formatDate(t time.Time) string { return t.UTC().Format(dateLayout) }

func (s *Server) envelopeLocked(tok *token, loc *location) envelope {
	env := envelope{UID: loc.UID, MDMInfo: s.configLocked(tok, loc).MDMInfo}
	if !s.opts.Quirks.ExpirationDateWithin15Days || tok.ExpiresAt.Sub(s.opts.Now()) <= 15*24*time.Hour {
		env.TokenExpirationDate = formatDate(tok.ExpiresAt)
	}
	if env.MDMInfo != nil {
		m := *env.MDMInfo
		env.MDMInfo = &m
	}
	return env
}

func (s *Server) writeError(w http.ResponseWriter, e *apiError) {
	status := e.status
	if s.opts.Quirks.TokenErrorsAsOK && status == http.StatusUnauthorized {
		status = http.StatusOK
	}
	if e.retryAfter != "" {
		w.Header().Set("Retry-After", e.retryAfter)
	}
	writeJSON(w, status, e.body())
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		data, _ = json.Marshal(errorFor(9603).body())
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(data)
}

// decodeBody parses a JSON request body; an empty body reads as {}.
func decodeBody(body []byte, v any) *apiError {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		return errorFor(9602)
	}
	return nil
}

// baseURL is the scheme and host clients reach this simulator at.
func (s *Server) baseURL(r *http.Request) string {
	if s.opts.BaseURL != "" {
		return strings.TrimSuffix(s.opts.BaseURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// statusRecorder remembers the status written, for stats.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection for injected resets.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
