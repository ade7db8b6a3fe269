package applesim

import (
	"maps"
	"net/http"
	"time"
)

// Options configure a Server. The zero value is usable.
type Options struct {
	// PageSize is the number of records per page of GET /assets, /assignments and /users.
	// Default 1000.
	PageSize int
	// ProcessingDelay is how long an accepted event stays PENDING before the background worker
	// applies it (its first step, with ProgressSteps). 0 processes it right after the request,
	// still in the background.
	ProcessingDelay time.Duration
	// ProgressSteps splits the tasks of each event into that many steps, applied one per
	// ProcessingDelay: GET /status shows numCompleted (and failures) growing while the event
	// stays PENDING, and each step's licences and users show at GET /assignments and /users once
	// it is applied. An event with fewer tasks than steps takes one step per task. 0 or 1 applies
	// all tasks in one step, ProcessingDelay after acceptance.
	ProgressSteps int
	// MaxConcurrentPageRequests is how many paginated GET requests (/assets, /assignments,
	// /users) of one location may be in flight at once (apple-api.md §5: "at most 5 requests at
	// once"); one more is refused with HTTP 429 and errorNumber 9646, the response Apple gives
	// for too many requests (the response for this case is undocumented), with Retry-After only
	// if Quirks.RateLimitRetryAfter is set. Default 5; negative means no limit.
	MaxConcurrentPageRequests int
	// Limits override entries of the service config limits (DefaultLimits); the simulator
	// enforces the effective values.
	Limits map[string]int
	// DisableRateLimit turns off the maxRequestPerSecond check, for fast tests.
	DisableRateLimit bool
	// Now is the clock for token expiry, tokenExpirationDate and event retention. Default time.Now.
	Now func() time.Time
	// Seed seeds the random fault generator (RandomFaults.Seed overrides it).
	Seed int64
	// RandomFaults starts the server with random fault injection; see SetRandomFaults.
	RandomFaults RandomFaults
	// Quirks choose among the behaviours Apple leaves undocumented.
	Quirks Quirks
	// NotificationClient sends the TEST_NOTIFICATION. Default: a client with a 5 s timeout.
	NotificationClient *http.Client
	// NotificationTimeout bounds one TEST_NOTIFICATION delivery. Default 5 s.
	NotificationTimeout time.Duration
	// Strict starts the server in strict mode: double spends are recorded as Violations. See
	// SetStrict.
	Strict bool
	// BaseURL ("https://host:port") replaces the scheme and host derived from each request in the
	// service config urls and artwork URLs, e.g. behind a proxy.
	BaseURL string
}

// Quirks select the behaviours that apple-api.md §17 lists as open questions. Every zero value
// is the documented default.
//
// UNLIMITED_ASSET (§17 question 9): its payload is undocumented and the simulator emits no
// notification other than TEST_NOTIFICATION, so there is nothing to configure.
type Quirks struct {
	// TokenErrorsAsOK sends authentication errors (9601, 9621, 9622, 9625, 9722) with HTTP 200
	// instead of 401, as Fleet's client comment says Apple sometimes does. Default false: 401.
	TokenErrorsAsOK bool
	// EmptyTotalPagesZero reports totalPages 0 for an empty result set. Default false: 1.
	// Page 0 is served either way.
	EmptyTotalPagesZero bool
	// InvalidateSinceOnRemoval rejects with 9721 a sinceVersionId of /assignments that is older
	// than the latest removed assignment, forcing a full re-sync. Default false: removals are
	// simply absent from incremental results.
	InvalidateSinceOnRemoval bool
	// AlreadyAssignedFails reports an already-assigned (asset, user or device) pair as an
	// asynchronous 9616 failure. Default false: the task counts as completed and spends no licence.
	AlreadyAssignedFails bool
	// EventRetention is how long a finished event stays queryable; after it GET /status
	// answers 9708. Default 0: forever.
	EventRetention time.Duration
	// ClientConfigReplace makes POST /client/config replace the whole configuration, clearing
	// omitted fields. Default false: omitted fields keep their value.
	ClientConfigReplace bool
	// ClientConfigPerToken keeps one client configuration per token instead of one per
	// location. Default false: per location.
	ClientConfigPerToken bool
	// RateLimitRetryAfter, when set, is sent as Retry-After with 429 responses (seconds such as
	// "1", or an HTTP-date). Default "": no Retry-After on 429.
	RateLimitRetryAfter string
	// ExpirationDateWithin15Days includes tokenExpirationDate only when the token expires within
	// 15 days, as Apple's getting-started article says. Default false: always included.
	ExpirationDateWithin15Days bool
	// EmptyClientUserIDError is the errorNumber (HTTP 400) of a request naming an empty
	// clientUserId: a user of users/create, update or retire, or an entry of the clientUserIds of
	// associate, disassociate or revoke. Apple documents clientUserId as required but gives no
	// number for it; the default 0 answers 9602 "Invalid argument" (see emptyClientUserIDError).
	// Set 9600 for v1's "missing required argument", or 9720 / 9719 to treat the user or the
	// target list as missing.
	EmptyClientUserIDError int
}

// DefaultMaxConcurrentPageRequests is Apple's limit on paginated requests in flight at once per
// location (apple-api.md §5 and §7.2).
const DefaultMaxConcurrentPageRequests = 5

// Limit names of the service config (apple-api.md §7.1).
const (
	LimitMaxAssets                    = "maxAssets"
	LimitMaxClientUserIDs             = "maxClientUserIds"
	LimitMaxSerialNumbers             = "maxSerialNumbers"
	LimitMaxRevokeClientUserIDs       = "maxRevokeClientUserIds"
	LimitMaxRevokeSerialNumbers       = "maxRevokeSerialNumbers"
	LimitMaxUsers                     = "maxUsers"
	LimitMaxNotificationLength        = "maxNotificationLength"
	LimitMaxMDMNameLength             = "maxMdmNameLength"
	LimitMaxMDMMetadataLength         = "maxMdmMetadataLength"
	LimitMaxMDMIDLength               = "maxMdmIdLength"
	LimitMaxRequestPerSecond          = "maxRequestPerSecond"
	LimitMaxSubscriptions             = "maxSubscriptions"
	LimitMaxSubscriptionClientUserIDs = "maxSubscriptionClientUserIds"
)

// DefaultLimits returns Apple's current service config limits (apple-api.md §7.1).
func DefaultLimits() map[string]int {
	return map[string]int{
		LimitMaxAssets:                    25,
		LimitMaxClientUserIDs:             1000,
		LimitMaxSerialNumbers:             1000,
		LimitMaxRevokeClientUserIDs:       100,
		LimitMaxRevokeSerialNumbers:       100,
		LimitMaxUsers:                     100,
		LimitMaxNotificationLength:        512,
		LimitMaxMDMNameLength:             100,
		LimitMaxMDMMetadataLength:         255,
		LimitMaxMDMIDLength:               100,
		LimitMaxRequestPerSecond:          15,
		LimitMaxSubscriptions:             25,
		LimitMaxSubscriptionClientUserIDs: 1000,
	}
}

func (o Options) withDefaults() Options {
	if o.PageSize <= 0 {
		o.PageSize = 1000
	}
	if o.ProgressSteps < 1 {
		o.ProgressSteps = 1
	}
	if o.MaxConcurrentPageRequests == 0 {
		o.MaxConcurrentPageRequests = DefaultMaxConcurrentPageRequests
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.NotificationTimeout <= 0 {
		o.NotificationTimeout = 5 * time.Second
	}
	if o.NotificationClient == nil {
		o.NotificationClient = &http.Client{Timeout: o.NotificationTimeout}
	}
	limits := DefaultLimits()
	maps.Copy(limits, o.Limits)
	o.Limits = limits
	return o
}
