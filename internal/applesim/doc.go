// Package applesim simulates Apple's App and Book Management API v2 ("VPP v2") as a stateful
// http.Handler, so that tests, benchmarks and the provider's sandbox mode can run without Apple.
//
// It follows the team's engineering reference (apple-api.md): the /mdm/v2 endpoints except
// subscriptions, the legacy content metadata lookup, Bearer authentication with the whole
// .vpptoken file, synchronous validation in Apple's documented order, asynchronous events
// processed in the background, pagination, versionId / sinceVersionId, the per-location rate
// limit, fault injection and test hooks. Where the reference leaves a behaviour open, Options.Quirks
// selects it.
//
// Notifications: only the TEST_NOTIFICATION that validates a new notificationUrl is sent. Other
// notification types (ASSET_MANAGEMENT, USER_MANAGEMENT, USER_ASSOCIATED, ASSET_COUNT and the
// undocumented UNLIMITED_ASSET) are not emitted; clients observe changes through GET /status and
// the Get endpoints.
//
// Events: an accepted write stays PENDING for Options.ProcessingDelay; with Options.ProgressSteps
// its tasks are then applied in several steps, one per ProcessingDelay, so numCompleted grows
// across polls of GET /status and the Get endpoints show each step's results as it lands.
//
// Strict mode (Options.Strict, SetStrict): the simulator still answers as Apple would, but records
// every double spend it processes as a Violation (an associate of an asset the user or device
// already holds, a users/create for an active clientUserId, or a second active user for the same
// email or Managed Apple Account), and every resend of a write whose response a fault replaced
// after the write was applied (ViolationReplay), so tests can assert with Violations that a
// client never spends a licence twice, gives one person two users, or blindly retries a write of
// unknown outcome. The AddUser and Assign hooks set up state as another MDM would have, without
// recording violations.
//
// Limits: the per-location rate limit (maxRequestPerSecond) and Apple's limit of 5 paginated
// requests in flight at once (Options.MaxConcurrentPageRequests) are enforced with HTTP 429 and
// errorNumber 9646.
//
// Clocks: Options.Now drives token expiry, tokenExpirationDate and event retention. The rate
// limiter and ProcessingDelay use the real clock, so a frozen Now cannot stall them.
package applesim
