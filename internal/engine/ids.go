package engine

import (
	"fmt"
	"net/mail"
	"strings"

	"github.com/google/uuid"
)

// PricingStandard is Apple's default pricingParam ("standard quality").
const PricingStandard = "STDQ"

// BookID is the stable identifier of a purchased book in one token's location:
// "<token_id>:<adam_id>:<pricing_param>". It holds no "/" so that the assignment import
// identifier "<book_id>/<group_id>" splits unambiguously.
func BookID(tokenID, adamID, pricingParam string) string {
	return tokenID + ":" + adamID + ":" + pricingParam
}

// ParseBookID splits a BookID.
func ParseBookID(id string) (tokenID, adamID, pricingParam string, err error) {
	parts := strings.Split(id, ":")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return "", "", "", fmt.Errorf("%w: book id %q is not of the form <token_id>:<adam_id>:<pricing_param>; take it from the vpp_books or vpp_book data source", ErrInvalidInput, id)
	}
	return parts[0], parts[1], parts[2], nil
}

// clientUserID derives the Apple clientUserId of one person at one token's location. It is stable
// (the same person always maps to the same id, so a create whose outcome was lost can be
// reconciled instead of repeated), unique per engine and token, and reveals no email: Apple asks
// for GUIDs rather than addresses.
func clientUserID(engineID, tokenID, email string) string {
	ns := uuid.NewSHA1(uuid.NameSpaceURL, []byte("urn:vppkit:engine:"+engineID))
	return uuid.NewSHA1(ns, []byte(tokenID+"\n"+email)).String()
}

// NormalizeEmail returns the canonical form of an Apple Account email (trimmed, lower-case), or
// an error naming the bad address.
func NormalizeEmail(s string) (string, error) {
	e := strings.ToLower(strings.TrimSpace(s))
	addr, err := mail.ParseAddress(e)
	if err != nil || addr.Address != e || addr.Name != "" || !strings.Contains(e[strings.LastIndex(e, "@")+1:], ".") {
		return "", fmt.Errorf("%w: %q is not a valid email address (expected name@example.com)", ErrInvalidInput, s)
	}
	return e, nil
}
