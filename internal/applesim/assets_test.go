package applesim

import (
	"slices"
	"testing"
)

func adamIDs(list []wireAsset) []string {
	out := make([]string, len(list))
	for i, a := range list {
		out[i] = a.AdamID + "/" + a.PricingParam
	}
	return out
}

func TestAssetsFiltersAndCounts(t *testing.T) {
	e := newEnv(t, testOptions())
	e.mustAddBook("100", 10)
	if err := e.sim.AddBook(e.uid, BookSpec{AdamID: "100", PricingParam: PricingPLUS, Title: "HQ", Licenses: 5}); err != nil {
		t.Fatal(err)
	}
	e.mustAddApp("200", 20)
	if err := e.sim.AddApp(e.uid, AppSpec{AdamID: "300", Name: "Free", Unlimited: true}); err != nil {
		t.Fatal(err)
	}
	if err := e.sim.AddBook(e.uid, BookSpec{AdamID: "100", Licenses: 1}); err == nil {
		t.Fatal("duplicate AddBook accepted")
	}

	var all wireAssets
	e.get("/assets", &all)
	if got := adamIDs(all.Assets); !slices.Equal(got, []string{"100/STDQ", "100/PLUS", "200/STDQ", "300/STDQ"}) || all.Size != 4 || all.UnlimitedAssets != nil {
		t.Fatalf("assets %v", got)
	}
	book := all.Assets[0]
	if book.ProductType != "Book" || book.Revocable || book.DeviceAssignable || !slices.Equal(book.SupportedPlatforms, []string{"iOS", "macOS"}) ||
		*book.TotalCount != 10 || *book.AvailableCount != 10 || *book.RetiredCount != 0 {
		t.Fatalf("book %+v", book)
	}
	if free := all.Assets[3]; *free.TotalCount != 2147483647 || *free.AvailableCount != 2147483647 {
		t.Fatalf("unlimited in assets %+v", free)
	}

	e.mustCreateUsers("u1", "u2")
	e.run("/assets/associate", map[string]any{"assets": assets("100", "200", "300"), "clientUserIds": ids{"u1", "u2"}})
	e.run("/assets/associate", map[string]any{"assets": assets("200"), "serialNumbers": ids{"S1"}})
	if err := e.sim.Refund(e.uid, "100", "STDQ", 3); err != nil {
		t.Fatal(err)
	}
	if err := e.sim.Refund(e.uid, "100", "STDQ", 6); err == nil {
		t.Fatal("refund of assigned licences accepted")
	}
	if err := e.sim.Purchase(e.uid, "200", "STDQ", 5); err != nil {
		t.Fatal(err)
	}

	filters := []struct {
		query string
		want  []string
	}{
		{"productType=Book", []string{"100/STDQ", "100/PLUS"}},
		{"productType=App&pricingParam=STDQ", []string{"200/STDQ", "300/STDQ"}},
		{"pricingParam=PLUS", []string{"100/PLUS"}},
		{"revocable=false", []string{"100/STDQ", "100/PLUS"}},
		{"deviceAssignable=1", []string{"200/STDQ", "300/STDQ"}},
		{"adamId=100", []string{"100/STDQ", "100/PLUS"}},
		{"unlimited=false", []string{"100/STDQ", "100/PLUS", "200/STDQ"}},
		{"minAssignedCount=1", []string{"100/STDQ", "200/STDQ", "300/STDQ"}},
		{"maxAssignedCount=0", []string{"100/PLUS"}},
		{"minAvailableCount=6&maxAvailableCount=22", []string{"200/STDQ"}},
		{"maxAvailableCount=5", []string{"100/STDQ", "100/PLUS"}},
	}
	for _, f := range filters {
		var got wireAssets
		e.get("/assets?"+f.query, &got)
		if !slices.Equal(adamIDs(got.Assets), f.want) {
			t.Errorf("%s: got %v, want %v", f.query, adamIDs(got.Assets), f.want)
		}
	}

	var split wireAssets
	e.get("/assets?unlimited=true", &split)
	if !slices.Equal(adamIDs(split.UnlimitedAssets), []string{"300/STDQ"}) || len(split.Assets) != 3 || split.Size != 4 {
		t.Fatalf("unlimited=true: %v / %v", adamIDs(split.Assets), adamIDs(split.UnlimitedAssets))
	}
	if u := split.UnlimitedAssets[0]; u.TotalCount != nil || u.AvailableCount != nil || u.RetiredCount != nil || u.AssignedCount != 2 {
		t.Fatalf("unlimited asset has counts: %+v", u)
	}

	// Counts: total = assigned + available, refunds are retired.
	e.get("/assets", &all)
	assigned := map[string]int{}
	for _, a := range e.sim.Assignments(e.uid) {
		assigned[a.AdamID+"/"+a.PricingParam]++
	}
	for _, a := range all.Assets {
		key := a.AdamID + "/" + a.PricingParam
		if a.AssignedCount != assigned[key] || *a.TotalCount != a.AssignedCount+*a.AvailableCount {
			t.Errorf("%s inconsistent: %+v, %d assignments", key, a, assigned[key])
		}
	}
	if b, _ := e.sim.Asset(e.uid, "100", ""); b.TotalCount != 7 || b.RetiredCount != 3 || b.AssignedCount != 2 || b.AvailableCount != 5 {
		t.Fatalf("after refund %+v", b)
	}
	if a, _ := e.sim.Asset(e.uid, "200", "STDQ"); a.TotalCount != 25 || a.AssignedCount != 3 {
		t.Fatalf("after purchase %+v", a)
	}
}
