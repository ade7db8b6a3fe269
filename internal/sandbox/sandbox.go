// Package sandbox serves sandbox mode: the Apple simulator runs inside the provider process,
// with its state saved beside the engine's database so that plan and apply (separate processes)
// see the same "Apple". Sandbox token files are recognised by their inner token, which starts
// with "sandbox-"; the first request with a new one creates its location, seeded with a catalog
// of sample books and apps. Invited users accept their invitations after a configurable delay.
//
// The simulated Apple behaves like production by default: it enforces the rate limit of 15
// requests per second per location, and applies each accepted write in the background, in steps
// (DefaultProgressSteps steps DefaultProcessingDelay apart), so a client must poll GET /status
// until the event is COMPLETE or FAILED. Options change both.
package sandbox

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/vppkit/terraform-provider-vpp/internal/apple"
	"github.com/vppkit/terraform-provider-vpp/internal/applesim"
)

// BaseURL is the address the engine uses for the sandbox; ".invalid" never resolves, and the
// transport answers it in-process.
const BaseURL = "https://sandbox.vpp.invalid/mdm/v2"

// TokenPrefix marks the inner token of a sandbox token file; "sandbox-edu-" makes an Apple School
// Manager (education) location, any other "sandbox-" a business one.
const TokenPrefix = "sandbox-"

// DefaultAcceptDelay is how long after an invitation an invited user accepts it.
const DefaultAcceptDelay = 2 * time.Minute

// Event processing defaults: like Apple, the sandbox answers a write at once and applies it
// afterwards, in DefaultProgressSteps steps DefaultProcessingDelay apart, so that numCompleted
// grows over several polls of GET /status while the event is PENDING. An event of n tasks takes
// min(n, DefaultProgressSteps) × DefaultProcessingDelay.
const (
	DefaultProcessingDelay = 100 * time.Millisecond
	DefaultProgressSteps   = 3
)

// Options configure a Sandbox.
type Options struct {
	// StatePath is the JSON file holding the simulated service's state.
	StatePath string
	// AcceptDelay is how long invited users take to accept; negative means never.
	AcceptDelay time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// ProcessingDelay is the wait before each processing step of an event (default
	// DefaultProcessingDelay; negative means none: events are applied right after the request,
	// still in the background).
	ProcessingDelay time.Duration
	// ProgressSteps is how many steps an event's tasks are applied in (default
	// DefaultProgressSteps; 1 applies them all at once).
	ProgressSteps int
	// DisableRateLimit turns off Apple's rate limit (maxRequestPerSecond, 15 requests per second
	// per location), which the sandbox enforces by default with HTTP 429 and errorNumber 9646.
	DisableRateLimit bool
	// SettleEvents applies every event before the request that created it is answered, as the
	// sandbox did before it simulated Apple's processing delay: a caller never sees PENDING.
	SettleEvents bool
}

// Sandbox is an in-process simulated Apple service with persistent state.
type Sandbox struct {
	opts Options
	mu   sync.Mutex
	sim  *applesim.Server
	meta meta
	// saved is the simulator's AppliedSteps when the state was last saved or loaded: event
	// processing changes the state between requests.
	saved  uint64
	closed bool
}

// meta is the sandbox's own bookkeeping, saved with the simulator's state.
type meta struct {
	// Locations maps a sandbox inner token to its location's uId.
	Locations map[string]string `json:"locations"`
	// Invited records when each Registered user ("<uId>/<clientUserId>") was first seen.
	Invited map[string]time.Time `json:"invited"`
}

type stateFile struct {
	Sandbox   meta            `json:"sandbox"`
	Simulator json.RawMessage `json:"simulator"`
}

// Open loads the sandbox's state, or starts an empty one.
func Open(opts Options) (*Sandbox, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.AcceptDelay == 0 {
		opts.AcceptDelay = DefaultAcceptDelay
	}
	switch {
	case opts.ProcessingDelay == 0:
		opts.ProcessingDelay = DefaultProcessingDelay
	case opts.ProcessingDelay < 0:
		opts.ProcessingDelay = 0
	}
	if opts.ProgressSteps <= 0 {
		opts.ProgressSteps = DefaultProgressSteps
	}
	s := &Sandbox{
		opts: opts,
		sim: applesim.New(applesim.Options{
			DisableRateLimit: opts.DisableRateLimit,
			ProcessingDelay:  opts.ProcessingDelay,
			ProgressSteps:    opts.ProgressSteps,
			BaseURL:          strings.TrimSuffix(BaseURL, "/mdm/v2"),
			Now:              opts.Now,
		}),
		meta: meta{Locations: map[string]string{}, Invited: map[string]time.Time{}},
	}
	raw, err := os.ReadFile(opts.StatePath)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return s, nil
	case err != nil:
		return nil, fmt.Errorf("reading sandbox state %s: %w", opts.StatePath, err)
	}
	var f stateFile
	if err := json.Unmarshal(raw, &f); err != nil {
		return nil, fmt.Errorf("sandbox state %s is damaged (%v); delete it to start the sandbox afresh", opts.StatePath, err)
	}
	if err := s.sim.LoadState(bytes.NewReader(f.Simulator)); err != nil {
		return nil, fmt.Errorf("sandbox state %s is damaged (%v); delete it to start the sandbox afresh", opts.StatePath, err)
	}
	if f.Sandbox.Locations != nil {
		s.meta.Locations = f.Sandbox.Locations
	}
	for _, uid := range s.meta.Locations {
		if err := topUpCatalog(s.sim, uid); err != nil {
			return nil, fmt.Errorf("sandbox state %s: adding the catalog's new entries: %w", opts.StatePath, err)
		}
	}
	if f.Sandbox.Invited != nil {
		s.meta.Invited = f.Sandbox.Invited
	}
	return s, nil
}

// Close finishes the events still pending, saves the state and stops the simulator's background
// work. Apple keeps processing an accepted event after the client has gone; the sandbox lives only
// as long as the provider process, so it stands in for that by applying, when the process ends,
// what Apple would have applied before the next process (the next plan or apply) starts. Events
// pending in a state that was saved without Close (a crash) resume when the state is next opened.
// The error is that of saving the state. Closing again does nothing.
func (s *Sandbox) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	s.sim.ProcessPendingEvents()
	var err error
	if s.trackInvitations() || s.sim.AppliedSteps() != s.saved {
		err = s.save()
	}
	s.sim.Close()
	return err
}

// HTTPClient returns a client whose requests the sandbox answers in-process.
func (s *Sandbox) HTTPClient() *http.Client { return &http.Client{Transport: s} }

// RoundTrip answers one request from the simulator, and saves the state when it changed.
func (s *Sandbox) RoundTrip(req *http.Request) (*http.Response, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	changed, err := s.adopt(req)
	if err != nil {
		return nil, err
	}
	if s.acceptDue() {
		changed = true
	}
	rec := httptest.NewRecorder()
	s.sim.ServeHTTP(rec, req)
	if req.Method != http.MethodGet {
		if s.opts.SettleEvents {
			s.sim.ProcessPendingEvents()
		}
		changed = true
	}
	if s.sim.AppliedSteps() != s.saved {
		changed = true // events progressed in the background since the last save
	}
	if s.trackInvitations() {
		changed = true
	}
	if changed {
		if err := s.save(); err != nil {
			return nil, err
		}
	}
	return rec.Result(), nil
}

// adopt creates, on first sight, the location of a sandbox token file found in the request.
func (s *Sandbox) adopt(req *http.Request) (bool, error) {
	contents := strings.TrimPrefix(req.Header.Get("Authorization"), "Bearer ")
	if c, err := req.Cookie("itvt"); err == nil && contents == "" {
		contents = c.Value
	}
	inner, org, ok := sandboxToken(contents)
	if !ok {
		return false, nil
	}
	if _, known := s.meta.Locations[inner]; known {
		return false, nil
	}
	account := applesim.AccountBusiness
	if strings.HasPrefix(inner, TokenPrefix+"edu-") {
		account = applesim.AccountEducation
	}
	loc, err := s.sim.CreateLocation(applesim.LocationSpec{Name: org, OrgName: org, AccountType: account})
	if err != nil {
		return false, err
	}
	if err := seedCatalog(s.sim, loc.UID); err != nil {
		return false, err
	}
	if err := s.sim.AdoptToken(loc.UID, contents); err != nil {
		return false, err
	}
	s.meta.Locations[inner] = loc.UID
	return true, nil
}

// sandboxToken reads a token file's inner token and organisation when it is a sandbox one. It
// uses the provider's own plan-time parser, apple.ParseToken, so that the sandbox recognises
// exactly the token files a plan accepts (padded or unpadded base64, any expDate form the parser
// reads); the simulator's AdoptToken reads the same forms (TestSandbox_tokenFileForms).
// IsToken reports whether contents is a token file the sandbox accepts: one whose inner token
// starts with TokenPrefix.
func IsToken(contents string) bool {
	_, _, ok := sandboxToken(contents)
	return ok
}

func sandboxToken(contents string) (inner, org string, ok bool) {
	tok, err := apple.ParseToken(contents)
	if err != nil || !strings.HasPrefix(tok.Secret, TokenPrefix) {
		return "", "", false
	}
	return tok.Secret, tok.OrgName, true
}

// trackInvitations notes when each Registered user was first seen, for acceptDue.
func (s *Sandbox) trackInvitations() bool {
	changed := false
	for _, uid := range s.meta.Locations {
		for _, u := range s.sim.Users(uid) {
			key := uid + "/" + u.ClientUserID
			if u.Status == "Registered" && u.InviteCode != "" {
				if _, seen := s.meta.Invited[key]; !seen {
					s.meta.Invited[key] = s.opts.Now()
					changed = true
				}
			}
		}
	}
	return changed
}

// acceptDue lets invited users accept once the accept delay has passed.
func (s *Sandbox) acceptDue() bool {
	if s.opts.AcceptDelay < 0 {
		return false
	}
	changed := false
	now := s.opts.Now()
	for key, since := range s.meta.Invited {
		if now.Sub(since) < s.opts.AcceptDelay {
			continue
		}
		uid, clientUserID, _ := strings.Cut(key, "/")
		// A user retired or already associated since simply drops out.
		_ = s.sim.AcceptInvitation(uid, clientUserID)
		delete(s.meta.Invited, key)
		changed = true
	}
	return changed
}

// save writes the state atomically: a reader sees the old file or the new one, never a torn one.
func (s *Sandbox) save() error {
	steps := s.sim.AppliedSteps() // read first: a step applied during SaveState triggers another save
	var sim bytes.Buffer
	if err := s.sim.SaveState(&sim); err != nil {
		return err
	}
	raw, err := json.Marshal(stateFile{Sandbox: s.meta, Simulator: sim.Bytes()})
	if err != nil {
		return err
	}
	dir := filepath.Dir(s.opts.StatePath)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("saving sandbox state: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".sandbox-*.json")
	if err != nil {
		return fmt.Errorf("saving sandbox state: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(raw); err != nil {
		tmp.Close()
		return fmt.Errorf("saving sandbox state: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("saving sandbox state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("saving sandbox state: %w", err)
	}
	if err := os.Rename(tmp.Name(), s.opts.StatePath); err != nil {
		return fmt.Errorf("saving sandbox state: %w", err)
	}
	s.saved = steps
	return nil
}

// TokenFile returns a sandbox token file for an organisation: base64 of the JSON Apple's files
// hold, with an inner token the sandbox recognises. education selects Apple School Manager.
func TokenFile(org string, education bool, expires time.Time) string {
	slug := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			return r
		case r >= 'A' && r <= 'Z':
			return r + ('a' - 'A')
		}
		return '-'
	}, org)
	inner := TokenPrefix + slug
	if education {
		inner = TokenPrefix + "edu-" + slug
	}
	raw, _ := json.Marshal(map[string]string{"token": inner, "expDate": expires.UTC().Format("2006-01-02T15:04:05-0700"), "orgName": org})
	return base64.StdEncoding.EncodeToString(raw)
}
