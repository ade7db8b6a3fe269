package apple

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// Limits are the request-size and rate limits of the service config. Apple
// changes them without notice; read them with Client.Limits.
type Limits struct {
	MaxAssets                    int // assets per associate/disassociate
	MaxClientUserIDs             int // clientUserIds per associate/disassociate
	MaxSerialNumbers             int // serialNumbers per associate/disassociate
	MaxRevokeClientUserIDs       int
	MaxRevokeSerialNumbers       int
	MaxUsers                     int // users per users/create, update, retire
	MaxNotificationLength        int // notificationUrl and notificationAuthToken
	MaxMDMNameLength             int
	MaxMDMMetadataLength         int
	MaxMDMIDLength               int
	MaxRequestPerSecond          int // all requests of one token
	MaxSubscriptions             int
	MaxSubscriptionClientUserIDs int
}

// DefaultLimits returns Apple's currently documented values, used for keys
// the service config leaves out.
func DefaultLimits() Limits {
	return Limits{
		MaxAssets:                    25,
		MaxClientUserIDs:             1000,
		MaxSerialNumbers:             1000,
		MaxRevokeClientUserIDs:       100,
		MaxRevokeSerialNumbers:       100,
		MaxUsers:                     100,
		MaxNotificationLength:        512,
		MaxMDMNameLength:             100,
		MaxMDMMetadataLength:         255,
		MaxMDMIDLength:               100,
		MaxRequestPerSecond:          15,
		MaxSubscriptions:             25,
		MaxSubscriptionClientUserIDs: 1000,
	}
}

// byKey maps the service config's key names to the fields of l.
func (l *Limits) byKey() map[string]*int {
	return map[string]*int{
		"maxAssets":                    &l.MaxAssets,
		"maxClientUserIds":             &l.MaxClientUserIDs,
		"maxSerialNumbers":             &l.MaxSerialNumbers,
		"maxRevokeClientUserIds":       &l.MaxRevokeClientUserIDs,
		"maxRevokeSerialNumbers":       &l.MaxRevokeSerialNumbers,
		"maxUsers":                     &l.MaxUsers,
		"maxNotificationLength":        &l.MaxNotificationLength,
		"maxMdmNameLength":             &l.MaxMDMNameLength,
		"maxMdmMetadataLength":         &l.MaxMDMMetadataLength,
		"maxMdmIdLength":               &l.MaxMDMIDLength,
		"maxRequestPerSecond":          &l.MaxRequestPerSecond,
		"maxSubscriptions":             &l.MaxSubscriptions,
		"maxSubscriptionClientUserIds": &l.MaxSubscriptionClientUserIDs,
	}
}

// parseLimits reads the limits object leniently: a value may be a number or a
// numeric string, and a missing, unreadable or non-positive value keeps
// Apple's default.
func parseLimits(raw map[string]json.RawMessage) Limits {
	lim := DefaultLimits()
	for key, field := range lim.byKey() {
		var s flexString
		if v, ok := raw[key]; !ok || s.UnmarshalJSON(v) != nil {
			continue
		}
		if n, err := strconv.Atoi(string(s)); err == nil && n > 0 {
			*field = n
		}
	}
	return lim
}

// withDefaults replaces non-positive values, e.g. of a zero Limits.
func (l Limits) withDefaults() Limits {
	def := DefaultLimits()
	defByKey := def.byKey()
	for key, field := range l.byKey() {
		if *field <= 0 {
			*field = *defByKey[key]
		}
	}
	return l
}

// SplitAssociations covers the cross product of assets and users with the
// fewest associate (or disassociate) requests: every request pairs a chunk of
// at most MaxAssets assets with a chunk of at most MaxClientUserIDs users.
// Chunks are balanced. Duplicates are not removed; they make the request
// invalid, so pass distinct values.
func SplitAssociations(assets []AssetRef, clientUserIDs []string, lim Limits) []ManageAssetsRequest {
	lim = lim.withDefaults()
	var reqs []ManageAssetsRequest
	for _, a := range chunk(assets, lim.MaxAssets) {
		for _, u := range chunk(clientUserIDs, lim.MaxClientUserIDs) {
			reqs = append(reqs, ManageAssetsRequest{Assets: a, ClientUserIDs: u})
		}
	}
	return reqs
}

// SplitDeviceAssociations is SplitAssociations for devices: every request pairs a chunk of at
// most MaxAssets assets with a chunk of at most MaxSerialNumbers serial numbers.
func SplitDeviceAssociations(assets []AssetRef, serialNumbers []string, lim Limits) []ManageAssetsRequest {
	lim = lim.withDefaults()
	var reqs []ManageAssetsRequest
	for _, a := range chunk(assets, lim.MaxAssets) {
		for _, s := range chunk(serialNumbers, lim.MaxSerialNumbers) {
			reqs = append(reqs, ManageAssetsRequest{Assets: a, SerialNumbers: s})
		}
	}
	return reqs
}

// SplitUsers splits users into the fewest balanced batches of at most
// MaxUsers, for users/create, update and retire.
func SplitUsers(users []RequestUser, lim Limits) [][]RequestUser {
	return chunk(users, lim.withDefaults().MaxUsers)
}

// chunk splits s into the fewest parts of at most size elements, with sizes
// differing by at most one. Parts share s's array but cannot grow into a
// neighbour.
func chunk[T any](s []T, size int) [][]T {
	if len(s) == 0 {
		return nil
	}
	n := (len(s) + size - 1) / size
	parts := make([][]T, 0, n)
	for i, start := 0, 0; i < n; i++ {
		end := start + len(s)/n
		if i < len(s)%n {
			end++
		}
		parts = append(parts, s[start:end:end])
		start = end
	}
	return parts
}

// checkCount returns a *LimitError when count exceeds limit.
func checkCount(field string, count, limit int) error {
	if count > limit {
		return &LimitError{Field: field, Count: count, Max: limit}
	}
	return nil
}

// checkDistinct refuses empty and repeated values.
func checkDistinct(field string, values []string) error {
	seen := make(map[string]bool, len(values))
	for _, v := range values {
		if v == "" {
			return fmt.Errorf("apple: %w: %s contains an empty value", ErrInvalidRequest, field)
		}
		if seen[v] {
			return fmt.Errorf("apple: %w: %s contains %q twice", ErrInvalidRequest, field, v)
		}
		seen[v] = true
	}
	return nil
}
