package applesim

import (
	"maps"
	"net/http"
	"slices"
)

// errorDef is one row of Apple's error table: the HTTP status a synchronous error is sent with
// and its message.
type errorDef struct {
	status  int
	message string
}

// errorTable holds the v2 error numbers (apple-api.md §11.1 and §11.2) plus 9616 and 9622, which
// clients meet in practice. Asynchronous-only numbers carry 400; they only appear in failures.
var errorTable = map[int]errorDef{
	9601: {http.StatusUnauthorized, "Login required."},
	9602: {http.StatusBadRequest, "Invalid argument."},
	9603: {http.StatusInternalServerError, "Internal error."},
	9609: {http.StatusBadRequest, "Unable to find the registered user."},
	9616: {http.StatusBadRequest, "License already assigned."},
	9621: {http.StatusUnauthorized, "The token has expired. You need to generate a new token online using your organization's login at https://school.apple.com or https://business.apple.com."},
	9622: {http.StatusUnauthorized, "Invalid authentication token."},
	9623: {http.StatusBadRequest, "Invalid Apple Push Notification token."},
	9625: {http.StatusUnauthorized, "The server has revoked the sToken."},
	9634: {http.StatusGone, "This service has been removed and is no longer available."},
	9635: {http.StatusBadRequest, "Unable to associate the Apple Account with this user."},
	9637: {http.StatusForbidden, "This operation isn't allowed for facilitator accounts."},
	9641: {http.StatusBadRequest, "This Apple Account is already associated with another user."},
	9644: {http.StatusBadRequest, "The service is in maintenance mode. Try again later."},
	9646: {http.StatusTooManyRequests, "There are too many requests for the current organization. Retry with an incremental or exponential backoff strategy until successful."},
	9647: {http.StatusForbidden, "This operation isn't supported for legacy tokens."},
	9650: {http.StatusBadRequest, "The pageIndex must be greater than or equal to 0, and less than the total number of pages."},
	9700: {http.StatusBadRequest, "The number of assets exceeds the maximum allowed in a request."},
	9701: {http.StatusBadRequest, "The number of clientUserIds exceeds the maximum allowed in a request."},
	9702: {http.StatusBadRequest, "The number of serialNumbers exceeds the maximum allowed in a request."},
	9703: {http.StatusBadRequest, "The request contains duplicate assets."},
	9704: {http.StatusBadRequest, "The request contains duplicate clientUserIds."},
	9705: {http.StatusBadRequest, "The request contains duplicate serialNumbers."},
	9706: {http.StatusBadRequest, "The asset isn't revocable."},
	9707: {http.StatusBadRequest, "The asset isn't device-assignable."},
	9708: {http.StatusBadRequest, "Unable to find eventId."},
	9709: {http.StatusBadRequest, "There aren't enough assets available to complete this association."},
	9710: {http.StatusBadRequest, "The notificationUrl and notificationAuthToken must be provided together."},
	9711: {http.StatusBadRequest, "The notificationUrl or notificationAuthToken exceeds the maximum length."},
	9712: {http.StatusBadRequest, "The notificationUrl must be a valid HTTPS URL."},
	9713: {http.StatusBadRequest, "The mdmInfo metadata exceeds the maximum length."},
	9714: {http.StatusBadRequest, "The number of users exceeds the maximum allowed in a request."},
	9715: {http.StatusBadRequest, "The request contains duplicate users."},
	9716: {http.StatusBadRequest, "A registered user already exists with the given clientUserId."},
	9717: {http.StatusBadRequest, "Invalid email address."},
	9718: {http.StatusBadRequest, "The request is missing assets."},
	9719: {http.StatusBadRequest, "The request must include clientUserIds or serialNumbers."},
	9720: {http.StatusBadRequest, "The request is missing users."},
	9721: {http.StatusBadRequest, "Invalid versionId."},
	9722: {http.StatusUnauthorized, "Invalid Authorization header. Use the format 'Bearer {sToken}'."},
	9723: {http.StatusBadRequest, "The mdmInfo requires name, id and metadata."},
	9724: {http.StatusBadRequest, "The mdmInfo id exceeds the maximum length."},
	9725: {http.StatusBadRequest, "The mdmInfo name exceeds the maximum length."},
	9726: {http.StatusMethodNotAllowed, "The HTTP method isn't supported for this endpoint."},
	9727: {http.StatusUnsupportedMediaType, "Unsupported Content-Type. Use application/json."},
	9728: {http.StatusBadRequest, "Unable to deliver the test notification to the notificationUrl."},
	9729: {http.StatusServiceUnavailable, "The service is temporarily unavailable."},
	9811: {http.StatusBadRequest, "Invalid subscription association request."},
	9812: {http.StatusBadRequest, "Invalid cursor."},
	9813: {http.StatusBadRequest, "Invalid Adam ID."},
	9814: {http.StatusBadRequest, "No associated registered user for the clientUserId."},
	9815: {http.StatusBadRequest, "The registered user isn't assigned the adamId."},
	9816: {http.StatusBadRequest, "The number of subscriptions exceeds the maximum allowed in a request."},
	9817: {http.StatusBadRequest, "The user already has the subscription through group membership."},
	9818: {http.StatusBadRequest, "Subscription management can't be disabled while subscriptions exist."},
}

// unlistedErrors are numbers the simulator can answer with, through a quirk, but that are not in
// Apple's v2 tables, so the service config does not list them.
var unlistedErrors = map[int]errorDef{
	9600: {http.StatusBadRequest, "Missing required argument."}, // v1 (apple-api.md §11.3)
}

// apiError is a synchronous error response.
type apiError struct {
	status     int
	number     int
	message    string
	info       *errorInfo
	retryAfter string
}

// errorResponse is Apple's ErrorResponse body.
type errorResponse struct {
	ErrorNumber  int        `json:"errorNumber"`
	ErrorMessage string     `json:"errorMessage"`
	ErrorInfo    *errorInfo `json:"errorInfo,omitempty"`
}

// errorInfo is Apple's ResponseErrorInfo: the ids an error is about.
type errorInfo struct {
	Assets        []assetRef `json:"assets,omitempty"`
	ClientUserIDs []string   `json:"clientUserIds,omitempty"`
	SerialNumbers []string   `json:"serialNumbers,omitempty"`
}

func errorFor(number int) *apiError {
	def, ok := errorTable[number]
	if !ok {
		if def, ok = unlistedErrors[number]; !ok {
			def = errorDef{http.StatusBadRequest, "Error."}
		}
	}
	return &apiError{status: def.status, number: number, message: def.message}
}

func (e *apiError) withInfo(info *errorInfo) *apiError {
	e.info = info
	return e
}

func (e *apiError) body() errorResponse {
	return errorResponse{ErrorNumber: e.number, ErrorMessage: e.message, ErrorInfo: e.info}
}

func errorMessage(number int) string { return errorFor(number).message }

// errorCodes lists every number of the table, for the service config.
func errorCodes() []serviceErrorCode {
	numbers := slices.Sorted(maps.Keys(errorTable))
	codes := make([]serviceErrorCode, 0, len(numbers))
	for _, n := range numbers {
		codes = append(codes, serviceErrorCode{ErrorNumber: n, ErrorMessage: errorTable[n].message})
	}
	return codes
}
