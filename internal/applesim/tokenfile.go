package applesim

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// tokenFile is the JSON inside a .vpptoken file.
type tokenFile struct {
	Token   string `json:"token"`
	ExpDate string `json:"expDate"`
	OrgName string `json:"orgName"`
}

// The simulator reads token files in exactly the forms the provider's plan-time parser
// (apple.ParseToken in internal/apple/token.go) accepts, so that every file a plan accepts also
// works against the simulator and in sandbox mode. The rules are duplicated here rather than
// imported: the simulator is the independent stand-in for Apple that the client is tested
// against, and sharing the client's parser would hide its bugs. TestTokenFileForms (and the
// sandbox's TestSandbox_tokenFileForms, which uses apple.ParseToken itself) pin the two together.

// decodeTokenBase64 decodes a token file's text like apple.ParseToken: surrounding whitespace
// trimmed, standard base64 alphabet, "=" padding optional.
func decodeTokenBase64(contents string) ([]byte, error) {
	return base64.RawStdEncoding.DecodeString(strings.TrimRight(strings.TrimSpace(contents), "="))
}

// tokenDateLayouts are apple.ParseToken's expDate layouts (appleTimeLayouts in
// internal/apple/wire.go), tried in order. Go also accepts "Z" for a zero offset and fractional
// seconds after the seconds field, although the layouts show neither.
var tokenDateLayouts = []string{
	"2006-01-02T15:04:05Z0700",  // Apple: +0000
	"2006-01-02T15:04:05Z07:00", // RFC 3339: +00:00
	"2006-01-02T15:04:05Z07",    // +00
	"2006-01-02T15:04:05",       // no zone: Apple documents UTC
}

// parseTokenDate parses an expDate as apple.ParseToken does: space-padding trimmed, the first
// matching layout wins.
func parseTokenDate(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, layout := range tokenDateLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// decodeToken extracts the inner secret from .vpptoken contents sent as a Bearer value. The
// server reads the token field rather than comparing the whole file, as apple-api.md §2.3
// infers, so the other fields are not checked here.
func decodeToken(contents string) (string, bool) {
	raw, err := decodeTokenBase64(contents)
	if err != nil {
		return "", false
	}
	var f tokenFile
	if err := json.Unmarshal(raw, &f); err != nil || f.Token == "" {
		return "", false
	}
	return f.Token, true
}

// parseTokenFile reads a whole token file with apple.ParseToken's rules: one line of base64
// (padded or not), a JSON object whose token, expDate and orgName are non-blank strings, and an
// expDate in one of tokenDateLayouts.
func parseTokenFile(contents string) (tokenFile, time.Time, error) {
	raw := strings.TrimSpace(contents)
	if raw == "" {
		return tokenFile{}, time.Time{}, errors.New("token file is empty")
	}
	if strings.ContainsAny(raw, " \t\r\n") {
		return tokenFile{}, time.Time{}, errors.New("token file's base64 text contains whitespace")
	}
	decoded, err := decodeTokenBase64(raw)
	if err != nil {
		return tokenFile{}, time.Time{}, errors.New("token file is not base64")
	}
	var f struct {
		Token   *string `json:"token"`
		ExpDate *string `json:"expDate"`
		OrgName *string `json:"orgName"`
	}
	if err := json.Unmarshal(decoded, &f); err != nil {
		return tokenFile{}, time.Time{}, errors.New("token file is not a JSON object of string fields")
	}
	for _, field := range []struct {
		name  string
		value *string
	}{{"token", f.Token}, {"expDate", f.ExpDate}, {"orgName", f.OrgName}} {
		if field.value == nil || strings.TrimSpace(*field.value) == "" {
			return tokenFile{}, time.Time{}, fmt.Errorf("token file lacks the %s field", field.name)
		}
	}
	exp, ok := parseTokenDate(*f.ExpDate)
	if !ok {
		return tokenFile{}, time.Time{}, fmt.Errorf("expDate %q is not an ISO-8601 date-time such as 2006-01-02T15:04:05+0000", *f.ExpDate)
	}
	return tokenFile{Token: *f.Token, ExpDate: *f.ExpDate, OrgName: *f.OrgName}, exp, nil
}
