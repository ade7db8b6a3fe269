package engine

import (
	"errors"
	"fmt"
	"net"
	"net/mail"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/vppkit/terraform-provider-vpp/internal/apple"
)

// Apple Account emails. This file is the one rule for them: the provider's validators (members of
// a vpp_user_group, a vpp_token's apple_id), the engine's group operations and the matching of
// Apple's users to members all call it.

const (
	// MaxEmailLength and MaxEmailLocalLength are the limits of an address (RFC 5321), in bytes.
	MaxEmailLength      = 254
	MaxEmailLocalLength = 64
	// ProblemsShown is how many offending members one message quotes.
	ProblemsShown = 5
	// quotedEmailLength is how much of a bad address a message quotes.
	quotedEmailLength = 80
)

// EmailKey is the form in which two spellings of one Apple Account compare equal (emails are
// case-insensitive; surrounding space is not part of them), whether or not s is a valid address.
func EmailKey(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// EmailError says why a string is not an Apple Account email. It wraps ErrInvalidInput.
type EmailError struct {
	// Input is the string as given.
	Input string
	// Reason completes "it ...": what is wrong, e.g. "has no domain after the @".
	Reason string
}

func (e *EmailError) Error() string {
	return fmt.Sprintf("%s is not a valid Apple Account email: it %s (expected name@example.com)", e.Quoted(), e.Reason)
}

func (e *EmailError) Unwrap() error { return ErrInvalidInput }

// Quoted is the input for a message: quoted, escaped, and cut short when long.
func (e *EmailError) Quoted() string { return apple.QuotePrefix(e.Input, quotedEmailLength) }

// NormalizeEmail returns the canonical form of an Apple Account email (EmailKey: trimmed,
// lower-case), or an *EmailError that says what is wrong with it. It accepts what Apple accepts as
// an Apple Account: a plain address local@domain, at most 254 bytes with a local part of at most
// 64, and a domain name with a dot; no display name, quoted or commented part, IP address domain,
// control or invisible character.
func NormalizeEmail(s string) (string, error) {
	bad := func(format string, args ...any) (string, error) {
		return "", &EmailError{Input: s, Reason: fmt.Sprintf(format, args...)}
	}
	if !utf8.ValidString(s) {
		return bad("is not valid UTF-8 text")
	}
	e := EmailKey(s)
	if e == "" {
		return bad("is empty")
	}
	for _, r := range e {
		switch {
		case unicode.IsSpace(r):
			return bad("contains a space (%U)", r)
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || !unicode.IsGraphic(r):
			return bad("contains the invisible or control character %U", r)
		}
	}
	if len(e) > MaxEmailLength {
		return bad("is %d bytes long; an address has at most %d", len(e), MaxEmailLength)
	}
	if strings.ContainsAny(e, "<>") {
		return bad("has angle brackets or a display name; give the address alone")
	}
	switch n := strings.Count(e, "@"); {
	case n == 0:
		return bad("has no @")
	case n > 1:
		return bad("has %d @ signs; an address has one", n)
	}
	local, domain, _ := strings.Cut(e, "@")
	switch {
	case local == "":
		return bad("has nothing before the @")
	case len(local) > MaxEmailLocalLength:
		return bad("has %d bytes before the @; at most %d are allowed", len(local), MaxEmailLocalLength)
	case domain == "":
		return bad("has no domain after the @")
	case strings.HasPrefix(domain, "["):
		return bad("has an IP address in brackets as its domain; Apple Accounts use a domain name such as example.com")
	case net.ParseIP(domain) != nil:
		return bad("has an IP address as its domain; Apple Accounts use a domain name such as example.com")
	case !strings.Contains(domain, "."):
		return bad("has no dot in its domain %q; use the full domain, such as example.com", domain)
	}
	for _, label := range strings.Split(domain, ".") {
		if label == "" || len(label) > 63 || strings.HasPrefix(label, "-") || strings.HasSuffix(label, "-") ||
			strings.ContainsFunc(label, func(r rune) bool { return r < utf8.RuneSelf && r != '-' && !isASCIIAlnum(r) }) {
			return bad("has a domain that is not a valid domain name")
		}
	}
	if addr, err := mail.ParseAddress(e); err != nil || addr.Address != e || addr.Name != "" {
		return bad("is not a plain address of the form name@example.com")
	}
	return e, nil
}

func isASCIIAlnum(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}

// DuplicateMember is a member that names the same Apple Account as an earlier one.
type DuplicateMember struct {
	First, Again string
	// FirstAt and AgainAt are their positions in the list checked.
	FirstAt, AgainAt int
}

// MemberProblems is what CheckMembers finds wrong with a member list, in the list's order.
type MemberProblems struct {
	Invalid []*EmailError
	// InvalidAt holds the position in the list of each of Invalid.
	InvalidAt  []int
	Duplicates []DuplicateMember
}

// CheckMembers applies the email rule to a member list: the members that are not Apple Account
// emails, and those that repeat an Apple Account listed before (the same EmailKey).
func CheckMembers(in []string) MemberProblems {
	var p MemberProblems
	seen := make(map[string]int, len(in))
	for i, m := range in {
		var bad *EmailError
		if _, err := NormalizeEmail(m); errors.As(err, &bad) {
			p.Invalid = append(p.Invalid, bad)
			p.InvalidAt = append(p.InvalidAt, i)
			continue
		}
		k := EmailKey(m)
		if first, dup := seen[k]; dup {
			p.Duplicates = append(p.Duplicates, DuplicateMember{First: in[first], Again: m, FirstAt: first, AgainAt: i})
			continue
		}
		seen[k] = i
	}
	return p
}

// SameMembers reports whether two member lists name the same Apple Accounts, in any order and
// case (EmailKey): O(n log n).
func SameMembers(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	keys := func(in []string) []string {
		out := make([]string, len(in))
		for i, s := range in {
			out[i] = EmailKey(s)
		}
		slices.Sort(out)
		return out
	}
	return slices.Equal(keys(a), keys(b))
}

// InvalidSummary describes the invalid members in one sentence: each of the first ProblemsShown
// with its reason, and how many more there are.
func (p MemberProblems) InvalidSummary() string {
	if len(p.Invalid) == 1 {
		e := p.Invalid[0]
		return fmt.Sprintf("%s is not a valid Apple Account email: it %s", e.Quoted(), e.Reason)
	}
	parts := make([]string, 0, ProblemsShown)
	for _, e := range p.Invalid[:min(len(p.Invalid), ProblemsShown)] {
		parts = append(parts, fmt.Sprintf("%s (it %s)", e.Quoted(), e.Reason))
	}
	return fmt.Sprintf("%d members are not valid Apple Account emails: %s%s", len(p.Invalid), strings.Join(parts, "; "), more(len(p.Invalid)))
}

// DuplicateSummary describes the repeated members in one sentence: the first ProblemsShown pairs,
// and how many more there are.
func (p MemberProblems) DuplicateSummary() string {
	if len(p.Duplicates) == 1 {
		d := p.Duplicates[0]
		return fmt.Sprintf("Members %s and %s are the same Apple Account", apple.QuotePrefix(d.First, quotedEmailLength), apple.QuotePrefix(d.Again, quotedEmailLength))
	}
	parts := make([]string, 0, ProblemsShown)
	for _, d := range p.Duplicates[:min(len(p.Duplicates), ProblemsShown)] {
		parts = append(parts, apple.QuotePrefix(d.Again, quotedEmailLength)+" repeats "+apple.QuotePrefix(d.First, quotedEmailLength))
	}
	return fmt.Sprintf("%d members repeat an Apple Account listed before them: %s%s", len(p.Duplicates), strings.Join(parts, "; "), more(len(p.Duplicates)))
}

func more(n int) string {
	if n <= ProblemsShown {
		return ""
	}
	return fmt.Sprintf("; and %d more", n-ProblemsShown)
}
