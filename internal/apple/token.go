package apple

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Token is a parsed .vpptoken file (the content token, or sToken).
//
// Raw and Secret are credentials: String, GoString and Format leave them out,
// so %v and %+v are safe, and JSON encoding skips them.
type Token struct {
	// Raw is the trimmed file content, sent as the Bearer value.
	Raw string `json:"-"`
	// Secret is the inner "token" field.
	Secret    string `json:"-"`
	ExpiresAt time.Time
	OrgName   string
}

// Errors returned by ParseToken and Token.CheckUsable, wrapped in *TokenError.
var (
	ErrTokenMalformed    = errors.New("token file is malformed")
	ErrTokenMissingField = errors.New("token file lacks a required field")
	ErrTokenBadDate      = errors.New("token file has an unreadable expiry date")
	ErrTokenExpired      = errors.New("token has expired")
)

// TokenError describes why a token file was refused. Its text never contains
// the token or its secret.
type TokenError struct {
	Kind   error  // one of the ErrToken* sentinels
	Field  string // the JSON field concerned, if any
	Detail string
}

func (e *TokenError) Error() string {
	msg := "apple: " + e.Kind.Error()
	if e.Field != "" {
		msg += fmt.Sprintf(" (field %q)", e.Field)
	}
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return msg
}

func (e *TokenError) Unwrap() error { return e.Kind }

// ParseToken parses the content of a .vpptoken file: standard base64 (padded
// or not) of a JSON object with the string fields token, expDate and orgName.
// Other fields are ignored. It does not check expiry; see CheckUsable.
func ParseToken(contents string) (*Token, error) {
	raw := strings.TrimSpace(contents)
	if raw == "" {
		return nil, &TokenError{Kind: ErrTokenMalformed, Detail: "the file is empty"}
	}
	// The raw text is sent verbatim as a header value, so it must be one line
	// (the base64 decoder alone would skip embedded newlines).
	if strings.ContainsAny(raw, " \t\r\n") {
		return nil, &TokenError{Kind: ErrTokenMalformed, Detail: "the base64 text contains whitespace"}
	}
	decoded, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(raw, "="))
	if err != nil {
		return nil, &TokenError{Kind: ErrTokenMalformed, Detail: "not standard base64"}
	}
	// Detail messages are ours: decoder errors could quote the decoded secret.
	var f struct {
		Token   *string `json:"token"`
		ExpDate *string `json:"expDate"`
		OrgName *string `json:"orgName"`
	}
	if err := json.Unmarshal(decoded, &f); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field != "" {
			return nil, &TokenError{Kind: ErrTokenMalformed, Field: typeErr.Field, Detail: "the field is not a string"}
		}
		return nil, &TokenError{Kind: ErrTokenMalformed, Detail: "the decoded content is not a JSON object"}
	}
	for _, field := range []struct {
		name  string
		value *string
	}{{"token", f.Token}, {"expDate", f.ExpDate}, {"orgName", f.OrgName}} {
		if field.value == nil || strings.TrimSpace(*field.value) == "" {
			return nil, &TokenError{Kind: ErrTokenMissingField, Field: field.name}
		}
	}
	exp, err := parseAppleTime(*f.ExpDate)
	if err != nil {
		return nil, &TokenError{Kind: ErrTokenBadDate, Field: "expDate", Detail: fmt.Sprintf("%q is not an ISO-8601 date-time", *f.ExpDate)}
	}
	return &Token{Raw: raw, Secret: *f.Token, ExpiresAt: exp, OrgName: *f.OrgName}, nil
}

// Expired reports whether the token's expiry date has passed at now.
func (t *Token) Expired(now time.Time) bool {
	return !now.Before(t.ExpiresAt)
}

// CheckUsable returns a *TokenError (ErrTokenExpired) when the token has
// expired at now, judged locally from the file's expDate.
func (t *Token) CheckUsable(now time.Time) error {
	if t.Raw == "" || t.Secret == "" {
		return &TokenError{Kind: ErrTokenMalformed, Detail: "the token is empty"}
	}
	if t.Expired(now) {
		return &TokenError{Kind: ErrTokenExpired, Detail: "it expired at " + t.ExpiresAt.UTC().Format(time.RFC3339)}
	}
	return nil
}

// String describes the token without its credentials.
func (t Token) String() string {
	return fmt.Sprintf("apple.Token{OrgName: %q, ExpiresAt: %s, Raw: [redacted], Secret: [redacted]}",
		t.OrgName, t.ExpiresAt.UTC().Format(time.RFC3339))
}

// GoString is used by %#v; it also leaves the credentials out.
func (t Token) GoString() string { return t.String() }

// Format makes every verb (%v, %+v, %#v, %s, %q, ...) print String.
func (t Token) Format(f fmt.State, _ rune) {
	_, _ = io.WriteString(f, t.String())
}
