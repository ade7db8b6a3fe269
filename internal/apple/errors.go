package apple

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Code is an Apple errorNumber. It implements error so that
// errors.Is(err, apple.CodeTokenRevoked) matches an *APIError carrying it.
type Code int

// Error numbers documented for the v2 API (synchronous and asynchronous), plus
// the legacy numbers real clients still meet on v2 (9616, 9622).
const (
	CodeLoginRequired              Code = 9601
	CodeInvalidArgument            Code = 9602
	CodeInternal                   Code = 9603
	CodeUserNotFound               Code = 9609
	CodeAlreadyAssigned            Code = 9616 // v1 only; the v2 equivalent is undocumented
	CodeTokenExpired               Code = 9621
	CodeInvalidToken               Code = 9622 // not in the v2 tables but returned by v2 in practice
	CodeInvalidPushToken           Code = 9623
	CodeTokenRevoked               Code = 9625
	CodeServiceRemoved             Code = 9634
	CodeCannotAssociateAccount     Code = 9635
	CodeFacilitatorNotAllowed      Code = 9637
	CodeAccountAlreadyAssociated   Code = 9641
	CodeMaintenance                Code = 9644
	CodeTooManyRequests            Code = 9646
	CodeLegacyToken                Code = 9647
	CodePageOutOfRange             Code = 9650
	CodeTooManyAssets              Code = 9700
	CodeTooManyClientUserIDs       Code = 9701
	CodeTooManySerialNumbers       Code = 9702
	CodeDuplicateAssets            Code = 9703
	CodeDuplicateClientUserIDs     Code = 9704
	CodeDuplicateSerialNumbers     Code = 9705
	CodeNotRevocable               Code = 9706
	CodeNotDeviceAssignable        Code = 9707
	CodeEventNotFound              Code = 9708
	CodeNotEnoughLicenses          Code = 9709
	CodeNotificationPairRequired   Code = 9710
	CodeNotificationTooLong        Code = 9711
	CodeInvalidNotificationURL     Code = 9712
	CodeMDMMetadataTooLong         Code = 9713
	CodeTooManyUsers               Code = 9714
	CodeDuplicateUsers             Code = 9715
	CodeUserExists                 Code = 9716
	CodeInvalidEmail               Code = 9717
	CodeAssetsMissing              Code = 9718
	CodeTargetsMissing             Code = 9719
	CodeUsersMissing               Code = 9720
	CodeInvalidVersionID           Code = 9721
	CodeInvalidAuthHeader          Code = 9722
	CodeMDMInfoIncomplete          Code = 9723
	CodeMDMIDTooLong               Code = 9724
	CodeMDMNameTooLong             Code = 9725
	CodeMethodNotAllowed           Code = 9726
	CodeUnsupportedContentType     Code = 9727
	CodeNotificationUnreachable    Code = 9728
	CodeServiceUnavailable         Code = 9729
	CodeInvalidSubscriptionRequest Code = 9811
	CodeInvalidCursor              Code = 9812
	CodeInvalidAdamID              Code = 9813
	CodeNoRegisteredUser           Code = 9814
	CodeSubscriptionNotAssigned    Code = 9815
	CodeTooManySubscriptions       Code = 9816
	CodeSubscribedThroughGroup     Code = 9817
	CodeSubscriptionsExist         Code = 9818
)

var codeText = map[Code]string{
	CodeLoginRequired:              "login required",
	CodeInvalidArgument:            "invalid argument",
	CodeInternal:                   "internal error",
	CodeUserNotFound:               "registered user not found",
	CodeAlreadyAssigned:            "license already assigned",
	CodeTokenExpired:               "token expired",
	CodeInvalidToken:               "invalid authentication token",
	CodeInvalidPushToken:           "invalid push notification token",
	CodeTokenRevoked:               "token revoked",
	CodeServiceRemoved:             "service no longer available",
	CodeCannotAssociateAccount:     "cannot associate the Apple Account with this user",
	CodeFacilitatorNotAllowed:      "operation not allowed for facilitator accounts",
	CodeAccountAlreadyAssociated:   "Apple Account already associated with another user",
	CodeMaintenance:                "service in maintenance mode",
	CodeTooManyRequests:            "too many requests",
	CodeLegacyToken:                "operation not supported for legacy tokens",
	CodePageOutOfRange:             "page index out of range",
	CodeTooManyAssets:              "too many assets",
	CodeTooManyClientUserIDs:       "too many clientUserIds",
	CodeTooManySerialNumbers:       "too many serialNumbers",
	CodeDuplicateAssets:            "duplicate assets",
	CodeDuplicateClientUserIDs:     "duplicate clientUserIds",
	CodeDuplicateSerialNumbers:     "duplicate serialNumbers",
	CodeNotRevocable:               "asset not revocable",
	CodeNotDeviceAssignable:        "asset not device-assignable",
	CodeEventNotFound:              "eventId not found",
	CodeNotEnoughLicenses:          "not enough licenses",
	CodeNotificationPairRequired:   "notification URL and auth token must be sent together",
	CodeNotificationTooLong:        "notification URL or auth token too long",
	CodeInvalidNotificationURL:     "notification URL must be a valid HTTPS URL",
	CodeMDMMetadataTooLong:         "mdmInfo.metadata too long",
	CodeTooManyUsers:               "too many users",
	CodeDuplicateUsers:             "duplicate users",
	CodeUserExists:                 "registered user already exists",
	CodeInvalidEmail:               "invalid email address",
	CodeAssetsMissing:              "assets missing",
	CodeTargetsMissing:             "clientUserIds and serialNumbers both missing",
	CodeUsersMissing:               "users missing",
	CodeInvalidVersionID:           "invalid versionId",
	CodeInvalidAuthHeader:          "invalid Authorization header",
	CodeMDMInfoIncomplete:          "mdmInfo needs id, name and metadata",
	CodeMDMIDTooLong:               "mdmInfo.id too long",
	CodeMDMNameTooLong:             "mdmInfo.name too long",
	CodeMethodNotAllowed:           "unsupported HTTP method",
	CodeUnsupportedContentType:     "unsupported Content-Type",
	CodeNotificationUnreachable:    "notification URL unreachable",
	CodeServiceUnavailable:         "service temporarily unavailable",
	CodeInvalidSubscriptionRequest: "invalid subscription association request",
	CodeInvalidCursor:              "invalid cursor",
	CodeInvalidAdamID:              "invalid Adam ID",
	CodeNoRegisteredUser:           "no registered user for the clientUserId",
	CodeSubscriptionNotAssigned:    "user not assigned the adamId",
	CodeTooManySubscriptions:       "too many subscriptions",
	CodeSubscribedThroughGroup:     "subscription already assigned through group membership",
	CodeSubscriptionsExist:         "subscriptions exist",
}

// Error describes the number, e.g. "Apple error 9625 (token revoked)".
func (c Code) Error() string {
	if text, ok := codeText[c]; ok {
		return fmt.Sprintf("Apple error %d (%s)", int(c), text)
	}
	return fmt.Sprintf("Apple error %d", int(c))
}

// UnmarshalJSON accepts the number as a JSON number or a numeric string.
func (c *Code) UnmarshalJSON(b []byte) error {
	var s flexString
	if err := s.UnmarshalJSON(b); err != nil {
		return err
	}
	if s == "" {
		*c = 0
		return nil
	}
	n, err := strconv.Atoi(string(s))
	if err != nil {
		return fmt.Errorf("apple: errorNumber %q is not an integer", string(s))
	}
	*c = Code(n)
	return nil
}

// retryable reports whether Apple documents the number as transient, and
// (being synchronous) as proof that nothing was processed.
func (c Code) retryable() bool {
	switch c {
	case CodeTooManyRequests, CodeInternal, CodeServiceUnavailable, CodeMaintenance:
		return true
	}
	return false
}

// IsTokenError reports whether err is an Apple error saying the token can no
// longer be used: login required, expired, invalid, revoked or a bad header.
func IsTokenError(err error) bool {
	for _, c := range []Code{CodeLoginRequired, CodeTokenExpired, CodeInvalidToken, CodeTokenRevoked, CodeInvalidAuthHeader} {
		if errors.Is(err, c) {
			return true
		}
	}
	return false
}

// ErrorInfo is Apple's ResponseErrorInfo: the entities an error is about.
type ErrorInfo struct {
	Assets        []AssetRef `json:"assets,omitempty"`
	ClientUserIDs []string   `json:"clientUserIds,omitempty"`
	SerialNumbers []string   `json:"serialNumbers,omitempty"`
}

// APIError is an error reported by Apple: an ErrorResponse body (whatever the
// HTTP status) or, when the body has none, a non-2xx status.
type APIError struct {
	Method     string
	Path       string
	StatusCode int
	Code       Code // 0 when the body carried no errorNumber
	Message    string
	Info       *ErrorInfo
	// RetryAfter is the wait the last response asked for, if any.
	RetryAfter time.Duration
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Apple API %s %s: ", e.Method, e.Path)
	if e.Code != 0 {
		fmt.Fprintf(&b, "error %d %q (HTTP %d)", int(e.Code), e.Message, e.StatusCode)
	} else {
		fmt.Fprintf(&b, "HTTP %d", e.StatusCode)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, ", retry after %s", e.RetryAfter)
	}
	return b.String()
}

// Is matches a Code, so errors.Is(err, apple.CodeTokenRevoked) works.
func (e *APIError) Is(target error) bool {
	c, ok := target.(Code)
	return ok && e.Code != 0 && c == e.Code
}

// ErrOutcomeUnknown is matched by *OutcomeUnknownError.
var ErrOutcomeUnknown = errors.New("outcome of the request is unknown")

// OutcomeUnknownError reports a write that may or may not have reached Apple:
// the connection failed after the request was sent, or Apple answered with a
// 5xx that carried no error body. The caller must reconcile (GET /users,
// /assignments or /status) instead of sending the request again.
type OutcomeUnknownError struct {
	Method string
	Path   string
	Err    error
}

func (e *OutcomeUnknownError) Error() string {
	return fmt.Sprintf("Apple API %s %s: %s, reconcile before retrying: %v", e.Method, e.Path, ErrOutcomeUnknown, e.Err)
}

func (e *OutcomeUnknownError) Unwrap() error { return e.Err }

func (e *OutcomeUnknownError) Is(target error) bool { return target == ErrOutcomeUnknown }

// ErrMDMConflict is matched by *MDMConflictError.
var ErrMDMConflict = errors.New("location is managed by another MDM")

// MDMConflictError reports a response whose mdmInfo.id names another system.
type MDMConflictError struct {
	Ours  string
	Found MDMInfo
}

func (e *MDMConflictError) Error() string {
	return fmt.Sprintf("apple: %s: mdmInfo.id %q (name %q), ours is %q", ErrMDMConflict, e.Found.ID, e.Found.Name, e.Ours)
}

func (e *MDMConflictError) Is(target error) bool { return target == ErrMDMConflict }

// ErrLocationMismatch is matched by *LocationMismatchError.
var ErrLocationMismatch = errors.New("response is for another location")

// LocationMismatchError reports a response whose uId differs from the expected
// (or first seen) location.
type LocationMismatchError struct {
	Expected string
	Got      string
}

func (e *LocationMismatchError) Error() string {
	if e.Got == "" {
		return fmt.Sprintf("apple: the response names no location: it has no uId (expected %q), which Apple sends on every authenticated response", e.Expected)
	}
	return fmt.Sprintf("apple: %s: uId %q, expected %q", ErrLocationMismatch, e.Got, e.Expected)
}

func (e *LocationMismatchError) Is(target error) bool { return target == ErrLocationMismatch }

// ErrInvalidRequest is returned, without sending anything, for a request Apple
// would refuse because of its shape (missing or duplicate entries).
var ErrInvalidRequest = errors.New("invalid request")

// ErrOverLimit is matched by *LimitError.
var ErrOverLimit = errors.New("request exceeds a service limit")

// LimitError reports a request refused locally because it exceeds one of the
// live limits from the service config.
type LimitError struct {
	Field string // e.g. "assets", "clientUserIds", "mdmInfo.name"
	Count int
	Max   int
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("apple: %s: %s has %d, the limit is %d", ErrOverLimit, e.Field, e.Count, e.Max)
}

func (e *LimitError) Is(target error) bool { return target == ErrOverLimit }

// ErrListUnstable is returned when a paginated list kept changing while it was
// walked, so no consistent snapshot could be read.
var ErrListUnstable = errors.New("list kept changing while paging")

// appleError is an ErrorResponse: a synchronous error body or one of the
// failures of a StatusResponse.
type appleError struct {
	Code    Code
	Message string
	Info    *ErrorInfo
}

// parseAppleError returns the ErrorResponse in body, or nil when body is not a
// JSON object with a non-zero errorNumber. It tolerates odd shapes of the other
// fields so that an error is never missed because of them.
func parseAppleError(body []byte) *appleError {
	trimmed := strings.TrimSpace(string(body[:min(len(body), 64)]))
	if !strings.HasPrefix(trimmed, "{") {
		return nil
	}
	var w struct {
		ErrorNumber  json.RawMessage `json:"errorNumber"`
		ErrorMessage json.RawMessage `json:"errorMessage"`
		ErrorInfo    json.RawMessage `json:"errorInfo"`
	}
	if json.Unmarshal(body, &w) != nil || w.ErrorNumber == nil {
		return nil
	}
	var code Code
	if code.UnmarshalJSON(w.ErrorNumber) != nil || code == 0 {
		return nil
	}
	e := &appleError{Code: code}
	if json.Unmarshal(w.ErrorMessage, &e.Message) != nil {
		e.Message = strings.Trim(string(w.ErrorMessage), `"`)
	}
	var info ErrorInfo
	if len(w.ErrorInfo) > 0 && json.Unmarshal(w.ErrorInfo, &info) == nil {
		e.Info = &info
	}
	return e
}
