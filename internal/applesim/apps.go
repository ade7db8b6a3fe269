package applesim

import (
	"fmt"
	"math"
	"slices"
)

// platformFamilies pairs each supportedPlatforms value of an asset with the deviceFamilies the
// metadata lookup names for it (apple-api.md §8, §13). Apple's sample lists "iphone", "ipad" and
// "ipod" for an iOS app; "realityDevice" for visionOS is [unconfirmed].
var platformFamilies = []struct {
	platform string
	families []string
}{
	{"iOS", []string{"iphone", "ipad"}},
	{"macOS", []string{"mac"}},
	{"tvOS", []string{"tvos"}},
	{"watchOS", []string{"watch"}},
	{"visionOS", []string{"realityDevice"}},
}

// familiesOf returns the device families of platforms, in the order of platformFamilies.
func familiesOf(platforms []string) []string {
	var out []string
	for _, pf := range platformFamilies {
		if slices.Contains(platforms, pf.platform) {
			out = append(out, pf.families...)
		}
	}
	return out
}

// platformsOf returns the platforms whose device families include one of families, in the order
// of platformFamilies.
func platformsOf(families []string) []string {
	var out []string
	for _, pf := range platformFamilies {
		if slices.ContainsFunc(pf.families, func(f string) bool { return slices.Contains(families, f) }) {
			out = append(out, pf.platform)
		}
	}
	return out
}

// App metadata defaults, for AppSpec fields left empty.
const (
	defaultAppVersion = "1.0"
	freePriceLabel    = "Free"
)

// defaultAppPlatforms are an app's platforms when neither Platforms nor DeviceFamilies name any.
var defaultAppPlatforms = []string{"iOS"}

// appPlatforms returns the supportedPlatforms of an app: as given, else those of its device
// families, else iOS.
func appPlatforms(a AppSpec) []string {
	for _, p := range [][]string{a.Platforms, platformsOf(a.DeviceFamilies), defaultAppPlatforms} {
		if len(p) > 0 {
			return slices.Clone(p)
		}
	}
	return nil
}

// appCatalogEntry returns the metadata the lookup serves for an app, with the defaults of the
// fields a leaves empty. platforms are the app's resolved supportedPlatforms.
func appCatalogEntry(a AppSpec, platforms []string) (*catalogEntry, error) {
	if a.Price < 0 || math.IsNaN(a.Price) || math.IsInf(a.Price, 0) {
		return nil, fmt.Errorf("%w: app %s has price %v; want 0 (free) or more", ErrInvalid, a.AdamID, a.Price)
	}
	e := &catalogEntry{
		AdamID: a.AdamID, Kind: "software", Name: a.Name, Artist: a.Developer,
		Genres: slices.Clone(a.Genres), ArtworkURL: a.ArtworkURL,
		BundleID:       a.BundleID,
		DeviceFamilies: slices.Clone(a.DeviceFamilies),
		Version:        a.Version,
		Price:          a.Price,
		PriceFormatted: a.PriceFormatted,
	}
	if e.BundleID == "" {
		e.BundleID = "com.example.app" + a.AdamID
	}
	if len(e.DeviceFamilies) == 0 {
		e.DeviceFamilies = familiesOf(platforms)
	}
	if e.Version == "" {
		e.Version = defaultAppVersion
	}
	if e.PriceFormatted == "" {
		e.PriceFormatted = formatPrice(a.Price)
	}
	return e, nil
}

// formatPrice is the store's label for a price in US dollars.
func formatPrice(price float64) string {
	if price == 0 {
		return freePriceLabel
	}
	return fmt.Sprintf("$%.2f", price)
}
