package engine

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/vppkit/terraform-provider-vpp/internal/apple"
)

// Device serial numbers, as Apple's device-based licensing names devices (serialNumbers of an
// associate request). This file is the one rule for them: the provider's validators, the engine's
// device group operations and the comparison of two lists all call it.

const (
	// MinSerialLength and MaxSerialLength bound a serial number's length, in characters.
	MinSerialLength = 8
	MaxSerialLength = 14
	// SerialNumberFormat says what a serial number looks like, for messages.
	SerialNumberFormat = "8 to 14 letters A–Z and digits 0–9, such as C02XK1ZZJGH5"
	// quotedSerialLength is how much of a bad serial number a message quotes.
	quotedSerialLength = 40
)

// SerialKey is the form in which two spellings of one serial number compare equal (serial numbers
// are upper-case; surrounding space is not part of them), whether or not s is a valid one.
func SerialKey(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }

// SerialError says why a string is not a device serial number. It matches ErrInvalidInput.
type SerialError struct {
	// Input is the string as given.
	Input string
	// Reason completes "it ...": what is wrong, e.g. "has 5 characters".
	Reason string
}

func (e *SerialError) Error() string {
	return fmt.Sprintf("%s is not a device serial number: it %s (expected %s)", e.Quoted(), e.Reason, SerialNumberFormat)
}

func (e *SerialError) Is(target error) bool { return target == ErrInvalidInput }

// Quoted is the input for a message: quoted, escaped, and cut short when long.
func (e *SerialError) Quoted() string { return apple.QuotePrefix(e.Input, quotedSerialLength) }

// NormalizeSerial returns the canonical form of a device serial number (SerialKey: trimmed,
// upper-case), or a *SerialError that says what is wrong with it: a serial number is
// MinSerialLength to MaxSerialLength characters, each a letter A–Z or a digit.
func NormalizeSerial(s string) (string, error) {
	bad := func(format string, args ...any) (string, error) {
		return "", &SerialError{Input: s, Reason: fmt.Sprintf(format, args...)}
	}
	if !utf8.ValidString(s) {
		return bad("is not valid UTF-8 text")
	}
	k := SerialKey(s)
	if k == "" {
		return bad("is empty")
	}
	if i := strings.IndexFunc(k, func(r rune) bool { return (r < 'A' || r > 'Z') && (r < '0' || r > '9') }); i >= 0 {
		r, _ := utf8.DecodeRuneInString(k[i:])
		if r == ' ' {
			return bad("contains a space")
		}
		return bad("contains %s, which is not a letter A–Z or a digit", strconv.QuoteRune(r))
	}
	if n := len(k); n < MinSerialLength || n > MaxSerialLength {
		return bad("has %s, not %d to %d", plural(n, "character"), MinSerialLength, MaxSerialLength)
	}
	return k, nil
}

// DuplicateSerial is a serial number that names the same device as an earlier one.
type DuplicateSerial struct {
	First, Again string
	// FirstAt and AgainAt are their positions in the list checked (from 0).
	FirstAt, AgainAt int
}

// SerialProblems is what CheckSerials finds wrong with a list of serial numbers, in the list's
// order.
type SerialProblems struct {
	Invalid []*SerialError
	// InvalidAt holds the position in the list (from 0) of each of Invalid.
	InvalidAt  []int
	Duplicates []DuplicateSerial
}

// CheckSerials applies the serial number rule to a list: the entries that are not serial numbers,
// and those that repeat a device listed before them (the same SerialKey).
func CheckSerials(in []string) SerialProblems {
	var p SerialProblems
	seen := make(map[string]int, len(in))
	for i, s := range in {
		k, err := NormalizeSerial(s)
		var bad *SerialError
		if errors.As(err, &bad) {
			p.Invalid = append(p.Invalid, bad)
			p.InvalidAt = append(p.InvalidAt, i)
			continue
		}
		if first, dup := seen[k]; dup {
			p.Duplicates = append(p.Duplicates, DuplicateSerial{First: in[first], Again: s, FirstAt: first, AgainAt: i})
			continue
		}
		seen[k] = i
	}
	return p
}

// NormalizeSerials validates and normalises serial numbers (NormalizeSerial), sorted, refusing
// duplicates that differ only in case or surrounding space (Apple refuses a request that names a
// device twice, and the set would silently shrink otherwise). One *SerialsError covers every bad
// entry.
func NormalizeSerials(in []string) ([]string, error) {
	if p := CheckSerials(in); len(p.Invalid) > 0 || len(p.Duplicates) > 0 {
		return nil, &SerialsError{SerialProblems: p}
	}
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = SerialKey(s)
	}
	slices.Sort(out)
	return out, nil
}

// SameSerials reports whether two lists name the same devices, in any order and case
// (SerialKey): O(n log n).
func SameSerials(a, b []string) bool { return sameKeys(a, b, SerialKey) }

// sameKeys reports whether a and b hold the same values under key, in any order.
func sameKeys(a, b []string, key func(string) string) bool {
	if len(a) != len(b) {
		return false
	}
	keys := func(in []string) []string {
		out := make([]string, len(in))
		for i, s := range in {
			out[i] = key(s)
		}
		slices.Sort(out)
		return out
	}
	return slices.Equal(keys(a), keys(b))
}

// SerialsError: a list of serial numbers that cannot make a device group. Its problems say which
// entries, by position, are not serial numbers and which repeat a device listed before them.
type SerialsError struct {
	SerialProblems
}

func (e *SerialsError) Error() string {
	var parts []string
	if len(e.Invalid) > 0 {
		parts = append(parts, fmt.Sprintf("%s (expected %s)", e.InvalidSummary(), SerialNumberFormat))
	}
	if len(e.Duplicates) > 0 {
		parts = append(parts, e.DuplicateSummary()+" (serial numbers are not case-sensitive); list each device once")
	}
	return strings.Join(parts, "; ")
}

func (e *SerialsError) Is(target error) bool { return target == ErrInvalidInput }

// InvalidSummary describes the entries that are not serial numbers in one sentence: each of the
// first ProblemsShown with its reason, and how many more there are.
func (p SerialProblems) InvalidSummary() string {
	if len(p.Invalid) == 1 {
		e := p.Invalid[0]
		return fmt.Sprintf("%s is not a device serial number: it %s", e.Quoted(), e.Reason)
	}
	parts := make([]string, 0, ProblemsShown)
	for _, e := range p.Invalid[:min(len(p.Invalid), ProblemsShown)] {
		parts = append(parts, fmt.Sprintf("%s (it %s)", e.Quoted(), e.Reason))
	}
	return fmt.Sprintf("%d entries are not device serial numbers: %s%s", len(p.Invalid), strings.Join(parts, "; "), more(len(p.Invalid)))
}

// DuplicateSummary describes the repeated devices in one sentence: the first ProblemsShown pairs,
// and how many more there are.
func (p SerialProblems) DuplicateSummary() string {
	quote := func(s string) string { return apple.QuotePrefix(s, quotedSerialLength) }
	if len(p.Duplicates) == 1 {
		d := p.Duplicates[0]
		return fmt.Sprintf("serial numbers %s and %s are the same device", quote(d.First), quote(d.Again))
	}
	parts := make([]string, 0, ProblemsShown)
	for _, d := range p.Duplicates[:min(len(p.Duplicates), ProblemsShown)] {
		parts = append(parts, quote(d.Again)+" repeats "+quote(d.First))
	}
	return fmt.Sprintf("%d entries repeat a device listed before them: %s%s", len(p.Duplicates), strings.Join(parts, "; "), more(len(p.Duplicates)))
}

// plural is n and the noun, in the plural unless n is 1 ("1 character", "3 characters").
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
