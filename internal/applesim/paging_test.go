package applesim

import (
	"strconv"
	"testing"
	"time"
)

func TestPagination(t *testing.T) {
	opts := testOptions()
	opts.PageSize = 2
	e := newEnv(t, opts)
	e.mustCreateUsers("u1", "u2", "u3", "u4", "u5")

	var seen []string
	var first wireUsers
	for page := 0; ; {
		var resp wireUsers
		e.get("/users?pageIndex="+strconv.Itoa(page), &resp)
		if page == 0 {
			first = resp
		}
		if resp.CurrentPageIndex != page || resp.TotalPages != 3 || resp.Size != len(resp.Users) || resp.VersionID != first.VersionID {
			t.Fatalf("page %d: %+v", page, resp.wirePage)
		}
		for _, u := range resp.Users {
			seen = append(seen, u.ClientUserID)
		}
		if resp.NextPageIndex == nil {
			if page != 2 || resp.Size != 1 {
				t.Fatalf("last page %+v", resp.wirePage)
			}
			break
		}
		if *resp.NextPageIndex != page+1 {
			t.Fatalf("nextPageIndex %d on page %d", *resp.NextPageIndex, page)
		}
		page = *resp.NextPageIndex
	}
	if len(seen) != 5 {
		t.Fatalf("seen %v", seen)
	}
	e.expectError(e.do("GET", "/users?pageIndex=3", e.token, nil), 400, 9650)

	// Empty result set: totalPages 1 and page 0 served (default).
	var empty wireAssignments
	e.get("/assignments", &empty)
	if empty.TotalPages != 1 || empty.Size != 0 || empty.NextPageIndex != nil || empty.Assignments == nil || empty.VersionID == "" {
		t.Fatalf("empty %+v", empty)
	}
	e.expectError(e.do("GET", "/assignments?pageIndex=1", e.token, nil), 400, 9650)

	opts.Quirks.EmptyTotalPagesZero = true
	e2 := newEnv(t, opts)
	e2.get("/assets?pageIndex=0", &empty)
	if empty.TotalPages != 0 || empty.Size != 0 {
		t.Fatalf("quirk empty %+v", empty.wirePage)
	}
	e2.expectError(e2.do("GET", "/assets?pageIndex=1", e2.token, nil), 400, 9650)
}

func TestSinceVersionID(t *testing.T) {
	e := newEnv(t, testOptions())
	e.mustAddApp("200", 10)
	e.mustCreateUsers("u1", "u2")

	var users0 wireUsers
	e.get("/users", &users0)
	var none wireUsers
	e.get("/users?sinceVersionId="+users0.VersionID, &none)
	if len(none.Users) != 0 || none.TotalPages != 1 || none.VersionID != users0.VersionID {
		t.Fatalf("no changes %+v", none)
	}
	e.mustCreateUsers("u3")
	e.run("/users/retire", map[string]any{"users": []map[string]string{{"clientUserId": "u1"}}})
	var delta wireUsers
	e.get("/users?sinceVersionId="+users0.VersionID, &delta)
	if len(delta.Users) != 2 || delta.Users[0].ClientUserID != "u1" || delta.Users[0].Status != StatusRetired ||
		delta.Users[1].ClientUserID != "u3" || delta.VersionID == users0.VersionID {
		t.Fatalf("delta %+v", delta)
	}

	var as0 wireAssignments
	e.get("/assignments", &as0)
	e.run("/assets/associate", map[string]any{"assets": assets("200"), "clientUserIds": ids{"u2"}, "serialNumbers": ids{"S1"}})
	var as1 wireAssignments
	e.get("/assignments?sinceVersionId="+as0.VersionID, &as1)
	if len(as1.Assignments) != 2 || as1.VersionID == as0.VersionID {
		t.Fatalf("assignment delta %+v", as1)
	}
	e.run("/assets/disassociate", map[string]any{"assets": assets("200"), "serialNumbers": ids{"S1"}})
	var as2 wireAssignments
	e.get("/assignments?sinceVersionId="+as1.VersionID, &as2)
	if len(as2.Assignments) != 0 || as2.VersionID == as1.VersionID {
		t.Fatalf("removals are omitted by default: %+v", as2)
	}

	// A versionId of another dataset or location is invalid.
	var assetsResp wireAssets
	e.get("/assets", &assetsResp)
	e.expectError(e.do("GET", "/users?sinceVersionId="+assetsResp.VersionID, e.token, nil), 400, 9721)
	other, _ := e.sim.CreateLocation(LocationSpec{})
	otherTok, _ := e.sim.MintToken(other.UID, time.Now().Add(time.Hour))
	e.expectError(e.do("GET", "/users?sinceVersionId="+users0.VersionID, otherTok, nil), 400, 9721)
}

func TestSinceVersionInvalidatedByRemovalQuirk(t *testing.T) {
	opts := testOptions()
	opts.Quirks.InvalidateSinceOnRemoval = true
	e := newEnv(t, opts)
	e.mustAddApp("200", 10)
	e.mustCreateUsers("u1")
	e.run("/assets/associate", map[string]any{"assets": assets("200"), "clientUserIds": ids{"u1"}, "serialNumbers": ids{"S1"}})
	var before wireAssignments
	e.get("/assignments", &before)
	e.run("/assets/disassociate", map[string]any{"assets": assets("200"), "serialNumbers": ids{"S1"}})
	e.expectError(e.do("GET", "/assignments?sinceVersionId="+before.VersionID, e.token, nil), 400, 9721)
	var after wireAssignments
	e.get("/assignments", &after)
	e.get("/assignments?sinceVersionId="+after.VersionID, &after)
}
