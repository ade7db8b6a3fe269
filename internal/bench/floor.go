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
// Apple already holds, since the engine's records are a cache that may be behind: the location's
// users (every page when the records' index of them is not complete, else the page of those changed
// since it), so that a member's existing user is adopted rather than created again. The licenses of
// the users the delivery adopts are read before it licenses them; members with no user yet hold no
// license, so here there are none to read. Then create the users at maxUsers per request, read them
// back for their invitation codes (one walk of the new users), associate at maxAssets books ×
// maxClientUserIds users per request, and confirm the associations: one status read per associate
// event, or one walk of the new assignments, whichever is fewer.
func DeliveryFloor(members, books, pageSize int, lim apple.Limits) Floor {
	return firstDeliveryFloor(members, books, pageSize, lim, "none yet")
}

// firstDeliveryFloor is DeliveryFloor at a location whose existing users existing describes.
func firstDeliveryFloor(members, books, pageSize int, lim apple.Limits, existing string) Floor {
	var f Floor
	f.add(1, false, "GET /service/config (the limits)")
	f.add(1, true, fmt.Sprintf("GET /users page of the location's users (%s)", existing))
	f.deliver(members, books, pageSize, lim)
	return f
}

// deliver adds the requests of delivering books to members who have no VPP user yet, once what
// Apple holds is known: create the users at maxUsers per request, read them back for their
// invitation codes (one walk of the new users), associate at maxAssets books × maxClientUserIds
// users per request, and confirm the associations: one status read per associate event, or one
// walk of the new assignments, whichever is fewer.
func (f *Floor) deliver(members, books, pageSize int, lim apple.Limits) {
	f.add(ceilDiv(members, lim.MaxUsers), true, fmt.Sprintf("POST /users/create (%d users each)", lim.MaxUsers))
	f.add(pages(members, pageSize), true, fmt.Sprintf("GET /users pages (%d per page) for the invitation codes", pageSize))
	assoc := ceilDiv(books, lim.MaxAssets) * ceilDiv(members, lim.MaxClientUserIDs)
	f.add(assoc, true, fmt.Sprintf("POST /assets/associate (%d books × %d users each)", lim.MaxAssets, lim.MaxClientUserIDs))
	f.confirm(assoc, members*books, pageSize)
}

// confirm adds the confirmations of events associate events that made assignments new
// assignments: one status read per event, or one walk of the new assignments, whichever is fewer.
func (f *Floor) confirm(events, assignments, pageSize int) {
	f.add(min(events, pages(assignments, pageSize)), true, "confirmations (GET /status per event, or GET /assignments pages, whichever is fewer)")
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

// Plus is the floor of f's work followed by g's.
func (f Floor) Plus(g Floor) Floor {
	return Floor{Requests: f.Requests + g.Requests, Limited: f.Limited + g.Limited, Parts: append(append([]string(nil), f.Parts...), g.Parts...)}
}

// TokenUploadFloor is the floor of creating a vpp_token for a location that holds books books and
// no users or assignments yet (SPEC 3.1 and 3.2): the limits; the client config (location,
// platform, and mdmInfo, which names no system yet); the claim, which writes the engine's mdmInfo;
// and the first full sync: the pages of the assets, the catalog's metadata of the new books
// (GET /lookup, the catalog service: not the API, not rate-limited), and one empty page each of
// the users and the assignments.
func TokenUploadFloor(books, pageSize int) Floor {
	var f Floor
	f.add(1, false, "GET /service/config (the limits)")
	f.add(1, true, "GET /client/config (location, platform, mdmInfo)")
	f.add(1, true, "POST /client/config (the claim: the engine's mdmInfo)")
	f.add(pages(books, pageSize), true, "GET /assets pages of the first sync")
	f.add(1, false, "GET /lookup (the new book's metadata; the catalog service, not rate-limited)")
	f.add(2, true, "GET /users and GET /assignments, one empty page each, of the first sync")
	return f
}

// TokenRefreshFloor is the floor of refreshing one vpp_token in a new process: the limits, which
// its client reads once, and the client config, so that another system's claim or a revoked or
// expired token shows in the plan.
func TokenRefreshFloor() Floor {
	var f Floor
	f.add(1, false, "GET /service/config (the limits)")
	f.add(1, true, "GET /client/config (the token's refresh)")
	return f
}

// TerraformGroupCreateFloor is the floor of scenario 6's first apply: a token uploaded, a group of
// members invited members, and one required assignment of the location's one book to it. The apply
// of each resource runs in one provider process, which synced the location when it uploaded the
// token: the delivery needs no further read of what Apple holds, only its own requests. The group
// alone sends nothing (its members get VPP users once a book is assigned), and the plan before the
// apply has nothing to refresh.
func TerraformGroupCreateFloor(members, pageSize int, lim apple.Limits) Floor {
	f := TokenUploadFloor(1, pageSize)
	f.deliver(members, 1, pageSize, lim)
	return f
}

// TerraformGroupAddFloor is the floor of scenario 6's apply that adds one member to the group: the
// plan refreshes the token (TokenRefreshFloor; the group and the assignment refresh from the
// engine's records), then the apply, in a new provider process, delivers the group's book to the
// new member, reading Apple first as any process's first delivery does (DeliveryFloor with one
// member: the page of the users changed since the records' index of them).
func TerraformGroupAddFloor(pageSize int, lim apple.Limits) Floor {
	return TokenRefreshFloor().Plus(firstDeliveryFloor(1, 1, pageSize, lim, "changed since the records' index of them, one page"))
}
