package engine_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/vppkit/terraform-provider-vpp/internal/engine"
)

func TestNormalizeEmail(t *testing.T) {
	for in, want := range map[string]string{
		"alice@example.com":                      "alice@example.com",
		"  Bob.Jones@Example.COM \n":             "bob.jones@example.com",
		"first+tag@sub.example.co.uk":            "first+tag@sub.example.co.uk",
		"o'neil@example.ie":                      "o'neil@example.ie",
		"x-y@my-domain.example":                  "x-y@my-domain.example",
		strings.Repeat("a", 64) + "@example.com": strings.Repeat("a", 64) + "@example.com",
		"josé@exämple.de":                        "josé@exämple.de",
	} {
		got, err := engine.NormalizeEmail(in)
		if err != nil || got != want {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q", in, got, err, want)
		}
	}

	long := strings.Repeat("a", 60) + "@" + strings.Repeat("b", 60) + "." + strings.Repeat("c", 60) + "." + strings.Repeat("d", 60) + ".example.com"
	for in, reason := range map[string]string{
		"":                                       "is empty",
		"bob@":                                   "has no domain after the @",
		"@example.com":                           "has nothing before the @",
		"bob@@example.com":                       "has 2 @ signs; an address has one",
		"bob.example.com":                        "has no @",
		"bob smith@example.com":                  "contains a space (U+0020)",
		"Bob <bob@example.com>":                  "contains a space (U+0020)",
		"<bob@example.com>":                      "has angle brackets or a display name; give the address alone",
		"bob@localhost":                          `has no dot in its domain "localhost"; use the full domain, such as example.com`,
		"bob\u200b@example.com":                  "contains the invisible or control character U+200B",
		"bob@exa\u200dmple.com":                  "contains the invisible or control character U+200D",
		"\ufeffbob@example.com":                  "contains the invisible or control character U+FEFF",
		"bob\x00@example.com":                    "contains the invisible or control character U+0000",
		"bob\x1b[31m@example.com":                "contains the invisible or control character U+001B",
		"bob\u202e@example.com":                  "contains the invisible or control character U+202E",
		"bob\xff@example.com":                    "is not valid UTF-8 text",
		"bob@[10.0.0.1]":                         "has an IP address in brackets as its domain; Apple Accounts use a domain name such as example.com",
		"bob@[ipv6:::1]":                         "has an IP address in brackets as its domain",
		"bob@10.0.0.1":                           "has an IP address as its domain",
		strings.Repeat("a", 65) + "@example.com": "has 65 bytes before the @; at most 64 are allowed",
		long:                                     "is 255 bytes long; an address has at most 254",
		"bob@-example.com":                       "has a domain that is not a valid domain name",
		"bob@example..com":                       "has a domain that is not a valid domain name",
		"bob@exa_mple.com":                       "has a domain that is not a valid domain name",
		"bob..jones@example.com":                 "is not a plain address of the form name@example.com",
		`"bob"@example.com`:                      "is not a plain address of the form name@example.com",
	} {
		_, err := engine.NormalizeEmail(in)
		var ee *engine.EmailError
		if !errors.As(err, &ee) || !errors.Is(err, engine.ErrInvalidInput) || !strings.HasPrefix(ee.Reason, reason) {
			t.Errorf("NormalizeEmail(%q) = %v; want the reason %q", in, err, reason)
		}
	}
}

// A long bad address is quoted only in part.
func TestEmailErrorQuotesAPrefix(t *testing.T) {
	in := strings.Repeat("x", 10000) + "@example.com"
	_, err := engine.NormalizeEmail(in)
	if err == nil || len(err.Error()) > 300 {
		t.Fatalf("the error quotes %d bytes: %.300v", len(err.Error()), err)
	}
	if !strings.Contains(err.Error(), `… (10012 bytes in all)`) {
		t.Fatalf("the error does not say the address was cut: %v", err)
	}
}

// Thousands of bad members give one error, quoting the first five and counting the rest.
func TestNormalizeMembersOneErrorPerMistake(t *testing.T) {
	var bad []string
	for i := range 5000 {
		bad = append(bad, "user"+strings.Repeat("x", i%3)+"@host"+string(rune('a'+i%26))+strings.Repeat("z", i/26))
	}
	p := engine.CheckMembers([]string{"Same@Example.com", "same@example.com", "SAME@example.com", "other@example.com", "bad@"})
	if len(p.Duplicates) != 2 || len(p.Invalid) != 1 {
		t.Fatalf("%d duplicates and %d invalid, want 2 and 1", len(p.Duplicates), len(p.Invalid))
	}
	_, err := engine.NormalizeMembers([]string{"Same@Example.com", "same@example.com", "SAME@example.com"})
	want := `invalid input: 2 members repeat an Apple Account listed before them: "same@example.com" repeats "Same@Example.com"; "SAME@example.com" repeats "Same@Example.com" (emails are case-insensitive); list each person once`
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}

	many := make([]string, 0, 5000)
	for i := range 5000 {
		many = append(many, "Reader@Example.com")
		_ = i
	}
	_, err = engine.NormalizeMembers(many)
	if err == nil || !strings.HasPrefix(err.Error(), `invalid input: 4999 members repeat an Apple Account listed before them: "Reader@Example.com" repeats "Reader@Example.com"; `) ||
		!strings.Contains(err.Error(), "; and 4994 more (emails are case-insensitive)") || len(err.Error()) > 600 {
		t.Fatalf("got %.800v", err)
	}

	_, err = engine.NormalizeMembers(bad)
	if err == nil || !strings.HasPrefix(err.Error(), `invalid input: 5000 members are not valid Apple Account emails: "user@hosta" (it has no dot in its domain "hosta"`) ||
		!strings.Contains(err.Error(), "; and 4995 more (expected name@example.com)") || len(err.Error()) > 1000 {
		t.Fatalf("got %.1200v", err)
	}
}
