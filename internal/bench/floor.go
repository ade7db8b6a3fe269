package bench

import (
	"fmt"

	"github.com/vppkit/terraform-provider-vpp/internal/apple"
)

// Floor is the fewest requests Apple's documented limits allow for a piece of work, computed from
// the limits and the simulator's page size of the same run.
type Floor struct {
	Requests int // every request
	Limited  int // those subject to maxRequestPerSecond (all but GET /service/config)
	Parts    []string
}

// Seconds is the rate floor: the time the rate-limited requests take at rate per second.
func (f Floor) Seconds(rate int) float64 { return float64(f.Limited) / float64(rate) }

func (f *Floor) add(n int, limited bool, what string) {
	f.Requests += n
	if limited {
		f.Limited += n
	}
	f.Parts = append(f.Parts, fmt.Sprintf("%d %s", n, what))
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// pages is the number of pages a list of n records takes (an empty list still has page 0).
func pages(n, pageSize int) int { return max(1, ceilDiv(n, pageSize)) }

// DeliveryFloor is the floor of delivering books, by a process that has not read the location yet,
// to members who have no VPP user yet at a location that has none: read the limits once; read what
// Apple already holds, since the engine's records are a cache that may be behind (the location's
// users, so that a member's existing user is adopted rather than created again, and what changed
// since the records were written: the assets' page 0 for the counts, the users and the
// assignments); create the users at maxUsers per request, read them back for their invitation
// codes (one walk of the new users), associate at maxAssets books × maxClientUserIds users per
// request, and confirm the associations: one status read per associate event, or one walk of the
// new assignments, whichever is fewer.
func DeliveryFloor(members, books, pageSize int, lim apple.Limits) Floor {
	var f Floor
	f.add(1, false, "GET /service/config (the limits)")
	f.add(1, true, "GET /users page of the location's existing users (none yet)")
	f.add(3, true, "GET /assets page 0, GET /users and GET /assignments changed since the records")
	f.add(ceilDiv(members, lim.MaxUsers), true, fmt.Sprintf("POST /users/create (%d users each)", lim.MaxUsers))
	f.add(pages(members, pageSize), true, fmt.Sprintf("GET /users pages (%d per page) for the invitation codes", pageSize))
	assoc := ceilDiv(books, lim.MaxAssets) * ceilDiv(members, lim.MaxClientUserIDs)
	f.add(assoc, true, fmt.Sprintf("POST /assets/associate (%d books × %d users each)", lim.MaxAssets, lim.MaxClientUserIDs))
	f.add(min(assoc, pages(members*books, pageSize)), true, "confirmations (GET /status per event, or GET /assignments pages, whichever is fewer)")
	return f
}

// FullSyncFloor is the floor of a full sync: the limits, the client config (claim and expiry), and
// every page of the books, the users and the assignments.
func FullSyncFloor(books, users, assignments, pageSize int) Floor {
	var f Floor
	f.add(1, false, "GET /service/config")
	f.add(1, true, "GET /client/config")
	f.add(pages(books, pageSize), true, "GET /assets pages")
	f.add(pages(users, pageSize), true, "GET /users pages")
	f.add(pages(assignments, pageSize), true, "GET /assignments pages")
	return f
}

// IncrementalSyncFloor is the floor of an incremental sync when nothing changed: the limits, page
// 0 of the assets (Get Assets takes no sinceVersionId; an unchanged versionId ends the walk), and
// one empty page each of the users and assignments changed since the last versionIds.
func IncrementalSyncFloor() Floor {
	var f Floor
	f.add(1, false, "GET /service/config")
	f.add(1, true, "GET /assets page 0")
	f.add(1, true, "GET /users?sinceVersionId")
	f.add(1, true, "GET /assignments?sinceVersionId")
	return f
}

// TerraformDeliveryFloor is the floor of the deliveries of a Terraform apply that creates
// assignments required assignments, spread over groups groups of members Managed Apple Accounts
// each (scenario 4b), for a provider that applies each resource on its own: Terraform hands the
// provider one vpp_ebook_assignment at a time, and the provider reports that assignment's licensed
// members before it returns. Each group's members are created once (users/create at maxUsers per
// request) and read back (the pages of the users); each assignment takes one associate (one book,
// at most maxClientUserIds members) and one confirmation. The token's upload, its client config
// reads and the book catalog are left out. A provider that merged the assignments Terraform
// applies concurrently into shared associate requests could go below it.
func TerraformDeliveryFloor(assignments, groups, members, pageSize int, lim apple.Limits) Floor {
	var f Floor
	f.add(groups*ceilDiv(members, lim.MaxUsers), true, fmt.Sprintf("POST /users/create (%d users each, per group)", lim.MaxUsers))
	f.add(groups*pages(members, pageSize), true, fmt.Sprintf("GET /users pages (%d per page, per group) reading the users back", pageSize))
	per := ceilDiv(members, lim.MaxClientUserIDs)
	f.add(assignments*per, true, "POST /assets/associate (one per assignment)")
	f.add(assignments*per, true, "confirmations (one per associate)")
	return f
}
