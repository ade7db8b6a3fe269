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
// Strict mode (Options.Strict, SetStrict): the simulator still answers as Apple would, but records
// every double spend it processes as a Violation (an associate of an asset the user or device
// already holds, a users/create for an active clientUserId, or a second active user for the same
// email or Managed Apple Account), so tests can assert with Violations that a client never spends
// a licence twice or gives one person two users. The AddUser and Assign hooks set up state as
// another MDM would have, without recording violations.
//
// Clocks: Options.Now drives token expiry, tokenExpirationDate and event retention. The rate
// limiter and ProcessingDelay use the real clock, so a frozen Now cannot stall them.
package applesim
