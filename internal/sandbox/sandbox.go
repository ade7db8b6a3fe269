// Package sandbox serves sandbox mode: the Apple simulator runs inside the provider process,
// with its state saved beside the engine's database so that plan and apply (separate processes)
// see the same "Apple". Sandbox token files are recognised by their inner token, which starts
// with "sandbox-"; the first request with a new one creates its location, seeded with a catalog
// of sample books. Invited users accept their invitations after a configurable delay.
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

// Options configure a Sandbox.
type Options struct {
	// StatePath is the JSON file holding the simulated service's state.
	StatePath string
	// AcceptDelay is how long invited users take to accept; negative means never.
	AcceptDelay time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Sandbox is an in-process simulated Apple service with persistent state.
type Sandbox struct {
	opts Options
	mu   sync.Mutex
	sim  *applesim.Server
	meta meta
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
	s := &Sandbox{
		opts: opts,
		sim:  applesim.New(applesim.Options{DisableRateLimit: true, BaseURL: strings.TrimSuffix(BaseURL, "/mdm/v2"), Now: opts.Now}),
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
	if f.Sandbox.Invited != nil {
		s.meta.Invited = f.Sandbox.Invited
	}
	return s, nil
}

// Close stops the simulator's background work.
func (s *Sandbox) Close() { s.sim.Close() }

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
		s.sim.ProcessPendingEvents() // a sandbox settles at once, so the saved state is final
		changed = true
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
	for _, b := range Catalog() {
		if err := s.sim.AddBook(loc.UID, b); err != nil {
			return false, err
		}
	}
	if err := s.sim.AdoptToken(loc.UID, contents); err != nil {
		return false, err
	}
	s.meta.Locations[inner] = loc.UID
	return true, nil
}

// sandboxToken reads a token file's inner token and organisation when it is a sandbox one.
func sandboxToken(contents string) (inner, org string, ok bool) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(contents))
	if err != nil {
		return "", "", false
	}
	var f struct {
		Token   string `json:"token"`
		OrgName string `json:"orgName"`
	}
	if json.Unmarshal(raw, &f) != nil || !strings.HasPrefix(f.Token, TokenPrefix) {
		return "", "", false
	}
	if f.OrgName == "" {
		f.OrgName = strings.TrimPrefix(f.Token, TokenPrefix)
	}
	return f.Token, f.OrgName, true
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
