package engine

import (
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
		return "", "", "", &BookIDError{Input: id}
	}
	return parts[0], parts[1], parts[2], nil
}

// Identities the engine creates at Apple, and the ids of its records that Terraform's state holds,
// are derived from stable facts: the location (Apple's uId) and the person (the normalised email).
// Nothing in them depends on the engine's database, so any engine — a new database on a CI runner,
// a database restored from an old backup, a second configuration on the same location — computes
// the same ids, finds at Apple what another engine created, and never creates a second VPP user
// for a person or spends a license twice.
var idSpace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://registry.terraform.io/providers/vppkit/vpp"))

// MDMID is the mdmInfo.id every engine of this provider writes to the locations it manages: the
// provider is one management system, whatever database each engine keeps.
var MDMID = idSpace.String()

// TokenID is the id of the engine's record of a location (and of the vpp_token holding it).
func TokenID(locationUID string) string {
	return uuid.NewSHA1(idSpace, []byte("location\n"+locationUID)).String()
}

// clientUserID derives the Apple clientUserId of one person at one location. It is stable (the same
// person always maps to the same id, so a create whose outcome was lost can be reconciled instead of
// repeated, and another engine finds the user), unique per location and person, and reveals no
// email: Apple asks for GUIDs rather than addresses.
func clientUserID(locationUID, email string) string {
	return uuid.NewSHA1(idSpace, []byte("user\n"+locationUID+"\n"+email)).String()
}
