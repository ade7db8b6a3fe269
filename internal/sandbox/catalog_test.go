package sandbox

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/vppkit/terraform-provider-vpp/internal/apple"
	"github.com/vppkit/terraform-provider-vpp/internal/applesim"
)

// A new sandbox location holds the sample apps beside the unchanged sample books: device-assignable
// and user-only ones, and the lookup serves their bundle ids, device families, versions and prices.
func TestSandbox_seedsSampleApps(t *testing.T) {
	ctx := context.Background()
	s, err := Open(Options{StatePath: filepath.Join(t.TempDir(), "sandbox.json")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := client(t, s, TokenFile("Springfield Public Library", false, time.Now().Add(365*24*time.Hour)))

	books, err := c.GetAssets(ctx, apple.AssetQuery{ProductType: apple.ProductBook})
	if err != nil || len(books.Assets) != len(Catalog()) {
		t.Fatalf("books = %d, %v; want the %d of the sample catalog", len(books.Assets), err, len(Catalog()))
	}
	apps, err := c.GetAssets(ctx, apple.AssetQuery{ProductType: apple.ProductApp})
	if err != nil || len(apps.Assets) != len(Apps()) {
		t.Fatalf("apps = %d, %v; want the %d sample apps", len(apps.Assets), err, len(Apps()))
	}
	deviceAssignable := map[bool]int{}
	for _, a := range apps.Assets {
		deviceAssignable[a.DeviceAssignable]++
	}
	if deviceAssignable[true] == 0 || deviceAssignable[false] == 0 {
		t.Errorf("device-assignable apps: %v; want some of each", deviceAssignable)
	}

	var ids []string
	for _, a := range Apps() {
		ids = append(ids, a.AdamID)
	}
	cc, err := c.GetClientConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	meta, err := c.LookupMetadata(ctx, ids, cc.DefaultPlatform, cc.CountryISO2ACode)
	if err != nil {
		t.Fatal(err)
	}
	families := map[string]bool{}
	for _, want := range Apps() {
		m := meta[want.AdamID]
		offer, ok := m.CurrentOffer()
		if m.Name != want.Name || m.BundleID != want.BundleID || !slices.Equal(m.DeviceFamilies, want.DeviceFamilies) ||
			!ok || offer.Version.Display != want.Version || offer.Price != want.Price {
			t.Errorf("metadata of %s (%s) = %+v, want bundle id %s, families %v, version %s, price %v",
				want.AdamID, want.Name, m, want.BundleID, want.DeviceFamilies, want.Version, want.Price)
		}
		for _, f := range m.DeviceFamilies {
			families[f] = true
		}
	}
	if !families["mac"] || !families["iphone"] {
		t.Errorf("device families %v; want iPhone and Mac apps", families)
	}
}

// Bundle ids are unique, and apps and books never share an adamId (seeding would fail).
func TestCatalog_identifiersAreUnique(t *testing.T) {
	seen := map[string]bool{}
	for _, b := range Catalog() {
		seen[b.AdamID] = true
	}
	bundles := map[string]bool{}
	for _, a := range Apps() {
		if seen[a.AdamID] || bundles[a.BundleID] || a.BundleID == "" {
			t.Errorf("app %s (%s): adamId or bundle id repeated or empty", a.AdamID, a.BundleID)
		}
		seen[a.AdamID], bundles[a.BundleID] = true, true
	}
}

// A sandbox saved before apps joined the catalog (its location holds books only) gains the sample
// apps when it is opened again; its books stay as they were.
func TestSandbox_oldStateGainsTheApps(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sandbox.json")
	file := TokenFile("Springfield Public Library", false, time.Now().Add(365*24*time.Hour))
	s, err := Open(Options{StatePath: path})
	if err != nil {
		t.Fatal(err)
	}
	// The location as an older release seeded it: books only.
	inner, org, _ := sandboxToken(file)
	loc, err := s.sim.CreateLocation(applesim.LocationSpec{Name: org, OrgName: org, AccountType: applesim.AccountBusiness})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range Catalog() {
		if err := s.sim.AddBook(loc.UID, b); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.sim.AdoptToken(loc.UID, file); err != nil {
		t.Fatal(err)
	}
	s.meta.Locations[inner] = loc.UID
	if err := s.save(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(Options{StatePath: path})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := client(t, s, file)
	apps, err := c.GetAssets(ctx, apple.AssetQuery{ProductType: apple.ProductApp})
	if err != nil || len(apps.Assets) != len(Apps()) {
		t.Fatalf("apps after reopening = %d, %v; want the %d sample apps", len(apps.Assets), err, len(Apps()))
	}
	books, err := c.GetAssets(ctx, apple.AssetQuery{ProductType: apple.ProductBook})
	if err != nil || len(books.Assets) != len(Catalog()) {
		t.Fatalf("books = %d, %v; want the %d of the catalog, once each", len(books.Assets), err, len(Catalog()))
	}
}
