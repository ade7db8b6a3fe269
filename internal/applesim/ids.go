package applesim

import (
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"math/big"
	"strings"

	"github.com/google/uuid"
)

// newEventID returns a lower-case UUID v4, the form of Apple's eventIds.
func newEventID() string { return uuid.NewString() }

// newUID returns a library id of 16 to 18 decimal digits, like Apple's uIds.
func newUID() string {
	n, _ := rand.Int(rand.Reader, big.NewInt(3)) // crypto/rand never fails
	digits := 16 + int(n.Int64())
	b := make([]byte, digits)
	for i := range b {
		d, _ := rand.Int(rand.Reader, big.NewInt(10))
		b[i] = byte('0' + d.Int64())
	}
	if b[0] == '0' {
		b[0] = '1'
	}
	return string(b)
}

// newInviteCode returns 32 lower-case hex characters.
func newInviteCode() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newSecret returns the inner token of a .vpptoken, which looks like base64 in Apple's files.
func newSecret() string {
	b := make([]byte, 48)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// accountHash is the idHash of an Apple Account: base64 of a 20-byte hash (28 characters). The
// same account always hashes the same, which is how Apple relates users to accounts.
func accountHash(account string) string {
	sum := sha1.Sum([]byte("applesim-account:" + strings.ToLower(account)))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// randomAccount names an Apple Account the simulator knows nothing about.
func randomAccount() string { return "anonymous-" + newInviteCode() }

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
