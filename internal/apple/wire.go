package apple

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"
)

// flexString decodes a JSON string or number into a string: the doc shows some
// identifiers as numbers in samples and as strings in live responses.
type flexString string

func (s *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		return nil
	case len(b) > 0 && b[0] == '"':
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = flexString(v)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("apple: want a string or a number, got %.20s", b)
	}
	*s = flexString(n.String())
	return nil
}

// flexIDDecoder decodes a JSON object into a T as encoding/json does, except that T's string
// field whose JSON name is the decoder's key also takes a number: Apple sends adamId (and the
// lookup its id) either way. T's UnmarshalJSON delegates to it. It decodes through a twin of T:
// the same fields and tags, the id one a flexString, and none of T's methods, so that it does not
// call itself.
type flexIDDecoder[T any] struct {
	twin reflect.Type
	id   int // the id field's index
}

// newFlexIDDecoder panics when T has no string field named key in JSON: the decoders are made
// when the package loads, so any test finds the mistake.
func newFlexIDDecoder[T any](key string) flexIDDecoder[T] {
	t := reflect.TypeFor[T]()
	fields := make([]reflect.StructField, t.NumField())
	id := -1
	for i := range fields {
		fields[i] = t.Field(i)
		name, _, _ := strings.Cut(fields[i].Tag.Get("json"), ",")
		if name == key && fields[i].Type.Kind() == reflect.String {
			fields[i].Type, id = reflect.TypeFor[flexString](), i
		}
	}
	if id < 0 {
		panic(fmt.Sprintf("apple: %s has no string field %q", t, key))
	}
	return flexIDDecoder[T]{twin: reflect.StructOf(fields), id: id}
}

// decode decodes b into *v. As decoding into v itself would, it keeps the fields b does not name;
// the id is set whenever decoding succeeds ("" when b has none) and kept when it fails.
func (d flexIDDecoder[T]) decode(b []byte, v *T) error {
	dst := reflect.ValueOf(v).Elem()
	twin := reflect.New(d.twin).Elem()
	for i := range dst.NumField() {
		if i != d.id {
			twin.Field(i).Set(dst.Field(i))
		}
	}
	err := json.Unmarshal(b, twin.Addr().Interface())
	for i := range dst.NumField() {
		if i != d.id || err == nil {
			dst.Field(i).Set(twin.Field(i).Convert(dst.Field(i).Type()))
		}
	}
	return d.nameT(err)
}

// nameT makes a type error name T where it would name the twin, an unnamed struct: "Go struct
// field Asset.assignedCount", "Go value of type apple.Asset".
func (d flexIDDecoder[T]) nameT(err error) error {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		t := reflect.TypeFor[T]()
		if typeErr.Type == d.twin {
			typeErr.Type = t
		}
		if typeErr.Struct == "" && typeErr.Field != "" {
			typeErr.Struct = t.Name()
		}
	}
	return err
}

// The types whose id Apple sends as a string or a number, and their decoders.
var (
	assetRefDecoder        = newFlexIDDecoder[AssetRef]("adamId")
	assetDecoder           = newFlexIDDecoder[Asset]("adamId")
	unlimitedAssetDecoder  = newFlexIDDecoder[UnlimitedAsset]("adamId")
	assignmentDecoder      = newFlexIDDecoder[Assignment]("adamId")
	contentMetadataDecoder = newFlexIDDecoder[ContentMetadata]("id")
)

// UnmarshalJSON accepts adamId as a string or a number.
func (a *AssetRef) UnmarshalJSON(b []byte) error { return assetRefDecoder.decode(b, a) }

// UnmarshalJSON accepts adamId as a string or a number.
func (a *Asset) UnmarshalJSON(b []byte) error { return assetDecoder.decode(b, a) }

// UnmarshalJSON accepts adamId as a string or a number.
func (a *UnlimitedAsset) UnmarshalJSON(b []byte) error { return unlimitedAssetDecoder.decode(b, a) }

// UnmarshalJSON accepts adamId as a string or a number.
func (a *Assignment) UnmarshalJSON(b []byte) error { return assignmentDecoder.decode(b, a) }

// UnmarshalJSON accepts id as a string or a number.
func (m *ContentMetadata) UnmarshalJSON(b []byte) error { return contentMetadataDecoder.decode(b, m) }

// appleTimeLayouts are tried in order. Go accepts fractional seconds after the
// seconds field even when the layout has none, and Z for a zero offset.
var appleTimeLayouts = []string{
	"2006-01-02T15:04:05Z0700",  // Apple: +0000
	"2006-01-02T15:04:05Z07:00", // RFC 3339: +00:00
	"2006-01-02T15:04:05Z07",    // +00
	"2006-01-02T15:04:05",       // no zone: Apple documents UTC
}

// parseAppleTime parses Apple's ISO-8601 dates leniently.
func parseAppleTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range appleTimeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("apple: unrecognised date %q", s)
}

// flexTime decodes an Apple date; an absent or unreadable date stays nil
// rather than failing the whole response.
type flexTime struct{ t *time.Time }

func (ft *flexTime) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		if t, err := parseAppleTime(s); err == nil {
			ft.t = &t
		}
	}
	return nil
}

// MDMInfo identifies the device management service that claimed a location.
type MDMInfo struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Metadata string `json:"metadata"`
}

// Envelope holds the fields Apple adds to every authenticated response.
type Envelope struct {
	// UID is the location (library) id, a string of digits.
	UID string
	// TokenExpiration is nil when Apple left tokenExpirationDate out.
	TokenExpiration *time.Time
	// MDMInfo is nil until some system has claimed the location.
	MDMInfo *MDMInfo
}

type envelopeWire struct {
	UID                 flexString `json:"uId"`
	TokenExpirationDate flexTime   `json:"tokenExpirationDate"`
	MDMInfo             *MDMInfo   `json:"mdmInfo"`
}

func (w *envelopeWire) envelope() Envelope {
	return Envelope{UID: string(w.UID), TokenExpiration: w.TokenExpirationDate.t, MDMInfo: w.MDMInfo}
}

// pageFields are the pagination and versioning fields of Get Assets,
// Get Assignments and Get Users responses.
type pageFields struct {
	envelopeWire
	CurrentPageIndex *int       `json:"currentPageIndex"`
	NextPageIndex    *int       `json:"nextPageIndex"`
	TotalPages       *int       `json:"totalPages"`
	VersionID        flexString `json:"versionId"`
}

func (f *pageFields) page() *pageFields { return f }
