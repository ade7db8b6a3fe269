// Package apple is the HTTP client for Apple's App and Book Management API v2
// ("VPP v2", https://vpp.itunes.apple.com/mdm/v2) and its content metadata
// lookup. It is the only package that talks to Apple.
//
// One Client serves one content token. It retries only what is safe to retry,
// reports every Apple errorNumber as a typed error whatever the HTTP status,
// honours the live limits and request rate from the service config, walks
// paginated lists consistently, and checks on every response that the location
// (uId) and the managing system (mdmInfo.id) are the expected ones.
package apple
