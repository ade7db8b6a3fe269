package apple

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
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

// Limits on a token file. A real .vpptoken is a few hundred bytes; the limits are generous, and
// keep a wrong file (a log, a disk image) from being decoded, echoed or stored.
const (
	// MaxTokenFileSize is the largest token file ParseToken reads, in bytes.
	MaxTokenFileSize = 64 << 10
	// MaxTokenSecretLen, MaxTokenExpDateLen and MaxTokenOrgNameLen cap each field, in bytes.
	MaxTokenSecretLen  = 16 << 10
	MaxTokenExpDateLen = 64
	MaxTokenOrgNameLen = 1024
)

// TrimTokenFile returns the text of a token file as ParseToken reads it: without the byte-order
// marks, NUL bytes and whitespace that editors, copy and paste or a shell redirection leave at
// either end. It is the Raw text of the parsed token.
func TrimTokenFile(contents string) string {
	return strings.TrimFunc(contents, func(r rune) bool { return unicode.IsSpace(r) || r == 0 || r == '\uFEFF' })
}

// ParseToken parses the content of a .vpptoken file: standard base64 (padded
// or not) of a JSON object with the string fields token, expDate and orgName.
// Other fields are ignored. It does not check expiry; see CheckUsable.
//
// A byte-order mark and trailing whitespace or NUL bytes around the base64
// text are tolerated (TrimTokenFile). Files over MaxTokenFileSize and fields
// over their caps are refused, and errors never quote more than a short,
// escaped prefix of what the file holds. OrgName is cleaned with CleanText.
func ParseToken(contents string) (*Token, error) {
	if len(contents) > MaxTokenFileSize {
		return nil, &TokenError{Kind: ErrTokenMalformed, Detail: fmt.Sprintf("the file is %d bytes; a .vpptoken file is a "+
			"few hundred bytes, and at most %d are accepted", len(contents), MaxTokenFileSize)}
	}
	raw := TrimTokenFile(contents)
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
	if f.OrgName != nil {
		clean := CleanText(*f.OrgName)
		f.OrgName = &clean
	}
	for _, field := range []struct {
		name  string
		value *string
		max   int
	}{{"token", f.Token, MaxTokenSecretLen}, {"expDate", f.ExpDate, MaxTokenExpDateLen}, {"orgName", f.OrgName, MaxTokenOrgNameLen}} {
		if field.value == nil || strings.TrimSpace(*field.value) == "" {
			return nil, &TokenError{Kind: ErrTokenMissingField, Field: field.name}
		}
		if len(*field.value) > field.max {
			return nil, &TokenError{Kind: ErrTokenMalformed, Field: field.name,
				Detail: fmt.Sprintf("the field is %d bytes long; at most %d are accepted", len(*field.value), field.max)}
		}
	}
	exp, err := parseAppleTime(*f.ExpDate)
	if err != nil {
		return nil, &TokenError{Kind: ErrTokenBadDate, Field: "expDate", Detail: QuotePrefix(*f.ExpDate, 40) + " is not an ISO-8601 date-time"}
	}
	return &Token{Raw: raw, Secret: *f.Token, ExpiresAt: exp, OrgName: *f.OrgName}, nil
}

// QuotePrefix quotes s for a message as %q does (control and invisible characters escaped), but
// at most its first limit characters, followed by how long s is when it is cut.
func QuotePrefix(s string, limit int) string {
	if utf8.RuneCountInString(s) <= limit {
		return fmt.Sprintf("%q", s)
	}
	cut := s
	for i := range s {
		if limit == 0 {
			cut = s[:i]
			break
		}
		limit--
	}
	return fmt.Sprintf("%q… (%d bytes in all)", cut, len(s))
}

// CleanText makes text that comes from a token file or from Apple safe to show in an attribute,
// a diagnostic or a terminal: it drops terminal escape sequences, control characters and the
// invisible characters that reorder or hide text (bidirectional overrides, zero-width space,
// byte-order mark), turns tabs and line breaks into spaces, replaces invalid UTF-8, and trims
// the ends.
func CleanText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == 0x1b || r == 0x9b || r == 0x9d || r == 0x90 || r == 0x98 || r == 0x9e || r == 0x9f:
			i = skipEscape(s, i)
			continue
		case r == '\t' || r == '\n' || r == '\r':
			b.WriteByte(' ')
		case unicode.IsControl(r) || hiddenRune(r):
			// dropped
		default:
			b.WriteRune(r)
		}
		i += size
	}
	return strings.TrimSpace(b.String())
}

// hiddenRune reports the format characters that can disguise text on a terminal or in a plan.
func hiddenRune(r rune) bool {
	switch {
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f, r == 0x061c:
		return true // bidirectional embeddings, overrides, isolates and marks
	case r == 0x200b, r == 0xfeff, r == 0x2060, r == 0x00ad:
		return true // zero-width space, byte-order mark, word joiner, soft hyphen
	}
	return false
}

// skipEscape returns the index after the terminal escape sequence that starts at s[i] (ESC or a
// C1 introducer): CSI (ESC [ or U+009B) up to its final byte, OSC, DCS, SOS, PM and APC (ESC ] P
// X ^ _ or their C1 forms) up to BEL or the string terminator, and ESC with one more character.
func skipEscape(s string, i int) int {
	r, size := utf8.DecodeRuneInString(s[i:])
	j := i + size
	kind := r
	if r == 0x1b {
		if j >= len(s) {
			return j
		}
		switch s[j] {
		case '[':
			kind = 0x9b
		case ']':
			kind = 0x9d
		case 'P', 'X', '^', '_':
			kind = 0x90
		default:
			// ESC and one character (charset selection, keypad modes and the like).
			_, n := utf8.DecodeRuneInString(s[j:])
			return j + n
		}
		j++
	}
	if kind == 0x9b {
		// Parameter and intermediate bytes, then one final byte in 0x40-0x7e.
		for j < len(s) {
			c := s[j]
			if c >= 0x40 && c <= 0x7e {
				return j + 1
			}
			if c < 0x20 || c > 0x3f {
				return j // malformed: what follows is text again
			}
			j++
		}
		return j
	}
	// A control string: up to BEL, ESC \ or ST (U+009C).
	for j < len(s) {
		if s[j] == 0x07 {
			return j + 1
		}
		if s[j] == 0x1b {
			if j+1 < len(s) && s[j+1] == '\\' {
				return j + 2
			}
			return j
		}
		r, n := utf8.DecodeRuneInString(s[j:])
		if r == 0x9c {
			return j + n
		}
		j += n
	}
	return j
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
