// Package engine is vpp's management engine: it uploads and claims location tokens, syncs books,
// users and licenses from Apple, keeps user groups and book assignments, and delivers licenses
// exactly once, resuming after interruptions. It holds no Terraform types: the provider maps
// configuration onto it. Records live in internal/store; Apple is reached through internal/apple.
//
// Apple's records and the Terraform state are the truth; the engine's records are a cache of them
// that any runner may lose, restore from an old backup or keep a second copy of. Nothing the engine
// creates at Apple depends on its database: a person's VPP user id is derived from the location's
// uId and the email, a token record's id from the uId, and the mdmInfo.id it writes from the
// provider's name (ids.go). A record missing from the database is rebuilt from the state and from
// Apple (RestoreToken, RestoreGroup, RestoreAssignment, with reads only), members' existing users
// are adopted rather than created again (adopt.go), and a delivery reads what they hold at Apple
// before it associates anything.
package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/vppkit/terraform-provider-vpp/internal/apple"
	"github.com/vppkit/terraform-provider-vpp/internal/store"
)

// MDMName is written to Apple's client config as mdmInfo.name when a token is claimed.
const MDMName = "terraform-provider-vpp"

// Defaults.
const (
	DefaultDatabase     = ".vpp/engine.db"
	DefaultSyncInterval = 12 * time.Hour
	// Apple: while an event is PENDING, poll its status no more than once every 30 seconds, and
	// resubmit after 10 minutes.
	DefaultPollInterval = 30 * time.Second
	DefaultEventTimeout = 10 * time.Minute
	// A first look at a new event comes sooner: most finish within seconds.
	DefaultFirstPoll = 2 * time.Second
)

// Config configures an Engine. Zero values take the defaults above.
type Config struct {
	// Database is a SQLite path or a postgres:// URL.
	Database string
	// EncryptionKey (32 bytes) seals tokens at rest.
	EncryptionKey []byte
	// AppleBaseURL is Apple's App and Book Management API (default apple.DefaultBaseURL).
	AppleBaseURL string
	// HTTPClient carries requests to Apple (sandbox mode passes an in-process transport).
	HTTPClient *http.Client
	// SyncInterval is how old a sync may be before a refresh syncs again.
	SyncInterval time.Duration
	// PollInterval, FirstPoll and EventTimeout pace the polling of Apple's event status.
	PollInterval time.Duration
	FirstPoll    time.Duration
	EventTimeout time.Duration
	// ProgressInterval is how often a long phase of a delivery logs its progress at INFO (default
	// DefaultProgressInterval).
	ProgressInterval time.Duration
	// Version is reported to Apple as mdmInfo.metadata.
	Version string
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger receives the engine's progress records, each with its operation's context (nil: none).
	Logger *slog.Logger
	// TuneClient adjusts each Apple client's configuration (tests shorten retries).
	TuneClient func(*apple.Config)
}

// Engine is safe for concurrent use; work on one token is serialised by a per-token lock that
// also holds across processes sharing the database.
type Engine struct {
	cfg   Config
	store store.Store

	mu      sync.Mutex
	clients map[string]tokenClient // by token id
	// synced marks the tokens this process synced: its first delivery to a token reads Apple's
	// licenses first, since the records may be older than Apple's (another runner's database, a
	// restored backup).
	synced map[string]bool
	// looked holds, per token, the members this process looked up at Apple (adoptUsers).
	looked map[string]map[string]bool
}

type tokenClient struct {
	secret string // the token file the client was built for; a renewal replaces the client
	client *apple.Client
}

// Open opens (creating and migrating when needed) the engine's database.
func Open(ctx context.Context, cfg Config) (*Engine, error) {
	if cfg.Database == "" {
		cfg.Database = DefaultDatabase
	}
	if cfg.AppleBaseURL == "" {
		cfg.AppleBaseURL = apple.DefaultBaseURL
	}
	if cfg.SyncInterval <= 0 {
		cfg.SyncInterval = DefaultSyncInterval
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.FirstPoll <= 0 {
		cfg.FirstPoll = DefaultFirstPoll
	}
	if cfg.EventTimeout <= 0 {
		cfg.EventTimeout = DefaultEventTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Version == "" {
		cfg.Version = "dev"
	}
	st, err := store.Open(ctx, store.Config{URL: cfg.Database, EncryptionKey: cfg.EncryptionKey})
	if err != nil {
		return nil, err
	}
	return &Engine{cfg: cfg, store: st, clients: map[string]tokenClient{}, synced: map[string]bool{}, looked: map[string]map[string]bool{}}, nil
}

// Close releases the database.
func (e *Engine) Close() error { return e.store.Close() }

// ID is the mdmInfo.id the engine writes to Apple: MDMID, the same for every engine of this
// provider, so that a location one engine claimed is not "another system" to the next.
func (e *Engine) ID() string { return MDMID }

// SyncInterval reports the configured staleness limit.
func (e *Engine) SyncInterval() time.Duration { return e.cfg.SyncInterval }

func (e *Engine) now() time.Time { return e.cfg.Now().UTC() }

func (e *Engine) mdmInfo() apple.MDMInfo {
	return apple.MDMInfo{ID: e.ID(), Name: MDMName, Metadata: e.cfg.Version}
}

// newClient builds an Apple client for a token file. uid pins the expected location ("" learns it).
func (e *Engine) newClient(tok *apple.Token, uid string) (*apple.Client, error) {
	cfg := apple.Config{
		BaseURL:     e.cfg.AppleBaseURL,
		Token:       tok,
		MDMID:       e.ID(),
		MDMName:     MDMName,
		LocationUID: uid,
		HTTPClient:  e.cfg.HTTPClient,
		UserAgent:   MDMName + "/" + e.cfg.Version,
		Now:         e.cfg.Now,
	}
	if e.cfg.TuneClient != nil {
		e.cfg.TuneClient(&cfg)
	}
	return apple.NewClient(cfg)
}

// client returns the cached client of a stored token, rebuilding it after a renewal.
func (e *Engine) client(t store.Token) (*apple.Client, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if c, ok := e.clients[t.ID]; ok && c.secret == t.Secret {
		return c.client, nil
	}
	tok, err := apple.ParseToken(t.Secret)
	if err != nil {
		return nil, fmt.Errorf("stored token %s cannot be read (%v); renew it with a new token file", t.ID, err)
	}
	c, err := e.newClient(tok, t.LocationUID)
	if err != nil {
		return nil, err
	}
	e.clients[t.ID] = tokenClient{secret: t.Secret, client: c}
	return c, nil
}

func (e *Engine) forgetClient(tokenID string) {
	e.mu.Lock()
	delete(e.clients, tokenID)
	delete(e.synced, tokenID)
	delete(e.looked, tokenID)
	e.mu.Unlock()
}

// withTokenLock runs fn while holding the token's lock.
func (e *Engine) withTokenLock(ctx context.Context, tokenID string, fn func() error) error {
	unlock, err := e.store.LockToken(ctx, tokenID)
	if err != nil {
		if errors.Is(err, store.ErrBusy) {
			return &BusyError{TokenID: tokenID, Cause: err}
		}
		return err
	}
	defer unlock()
	return fn()
}

// readTx runs fn in a transaction; a convenience for reads.
func (e *Engine) tx(ctx context.Context, fn func(tx store.Tx) error) error {
	return e.store.Tx(ctx, fn)
}

// view runs a read-only fn: reads never wait for a writer, so parallel refreshes do not queue.
func (e *Engine) view(ctx context.Context, fn func(tx store.Tx) error) error {
	return e.store.View(ctx, fn)
}

// tokenRecord reads a token's record (a NotFoundError when there is none).
func (e *Engine) tokenRecord(ctx context.Context, id string) (store.Token, error) {
	var rec store.Token
	err := e.view(ctx, func(tx store.Tx) error {
		var err error
		rec, err = tx.GetToken(ctx, id)
		return notFound("token", id, err)
	})
	return rec, err
}

func notFound(kind, id string, err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return &NotFoundError{Kind: kind, ID: id}
	}
	return err
}
