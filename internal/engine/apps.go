package engine

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/vppkit/terraform-provider-vpp/internal/store"
)

// Books and apps are one kind of record, an asset (store.Asset) with Apple's product type and
// flags; Book and App are the engine's views of each.

// App is a purchased app with its license counts at the last sync.
type App struct {
	ID           string // AssetID
	TokenID      string
	AdamID       string
	PricingParam string
	Name         string
	Developer    string
	BundleID     string
	// Platforms are Apple's supportedPlatforms of the app (iOS, macOS, tvOS, ...).
	Platforms []string
	Version   string
	Price     string // as the store shows it ("Free", "$9.99"); empty until a lookup found it
	IconURL   string
	// Revocable: a license can be taken back and given to someone else. DeviceAssignable: it can
	// be licensed to a device serial number, for devices without an Apple Account.
	Revocable        bool
	DeviceAssignable bool
	Total            int
	Assigned         int
	Available        int
	Retired          int
}

// AppFilter narrows ListApps; zero values do not filter.
type AppFilter struct {
	TokenID      string
	AdamID       string
	BundleID     string
	NameContains string // case-insensitive substring
	Platform     string // one of the app's platforms, ignoring case (iOS, macOS, ...)
	MinAvailable int
	// DeviceAssignable, when set, keeps only the apps that can (true) or cannot (false) be
	// licensed to devices.
	DeviceAssignable *bool
}

// AssetID is the identifier of a book or an app in the engine: <token>:<adamId>:<pricingParam>.
func AssetID(tokenID, adamID, pricingParam string) string {
	return BookID(tokenID, adamID, pricingParam)
}

// ListApps lists purchased apps from the engine's records, ordered by token, adamId, pricing.
func (e *Engine) ListApps(ctx context.Context, f AppFilter) ([]App, error) {
	var out []App
	err := e.view(ctx, func(tx store.Tx) error {
		assets, err := tx.ListAssets(ctx, store.AssetFilter{TokenID: f.TokenID, AdamID: f.AdamID, ProductType: store.ProductApp,
			TitleContains: f.NameContains, MinAvailable: f.MinAvailable})
		if err != nil {
			return err
		}
		out = make([]App, 0, len(assets))
		for _, a := range assets {
			if f.matches(a) {
				out = append(out, appView(a))
			}
		}
		return nil
	})
	return out, err
}

func (f AppFilter) matches(a store.Asset) bool {
	if f.BundleID != "" && !strings.EqualFold(a.BundleID, f.BundleID) {
		return false
	}
	if f.DeviceAssignable != nil && *f.DeviceAssignable != a.DeviceAssignable {
		return false
	}
	return f.Platform == "" || slices.ContainsFunc(a.Platforms, func(p string) bool { return strings.EqualFold(p, f.Platform) })
}

// GetApp reads one app by its AssetID.
func (e *Engine) GetApp(ctx context.Context, id string) (App, error) {
	a, err := e.assetOf(ctx, id, store.ProductApp)
	return appView(a), err
}

// FindApp finds exactly one app by adamId or bundle id (optionally within one token) or by exact
// name (case-sensitive, as Apple spells it).
func (e *Engine) FindApp(ctx context.Context, adamID, bundleID, tokenID, name string) (App, error) {
	apps, err := e.ListApps(ctx, AppFilter{TokenID: tokenID, AdamID: adamID, BundleID: bundleID})
	if err != nil {
		return App{}, err
	}
	var matches []App
	for _, a := range apps {
		if name == "" || a.Name == name {
			matches = append(matches, a)
		}
	}
	if len(matches) == 1 {
		return matches[0], nil
	}
	miss := &BookQueryError{Kind: KindApp, AdamID: adamID, BundleID: bundleID, TokenID: tokenID, Title: name}
	for _, a := range matches {
		miss.Matches = append(miss.Matches, a.ID)
	}
	return App{}, miss
}

// assetOf reads the asset id names, which must be of the product type want.
func (e *Engine) assetOf(ctx context.Context, id, want string) (store.Asset, error) {
	tokenID, adamID, pricing, err := ParseBookID(id)
	if err != nil {
		return store.Asset{}, err
	}
	var out store.Asset
	err = e.view(ctx, func(tx store.Tx) error {
		out, err = assetRecord(ctx, tx, tokenID, adamID, pricing, id, want)
		return err
	})
	return out, err
}

// assetRecord reads the asset id names (tokenID, adamID, pricing) and refuses one that is not of
// the product type want: a NotFoundError of the want's kind when there is none, a ProductError
// when it is the other product.
func assetRecord(ctx context.Context, tx store.Tx, tokenID, adamID, pricing, id, want string) (store.Asset, error) {
	kind := productKind(want)
	a, err := tx.GetAsset(ctx, tokenID, adamID, pricing)
	if err != nil {
		return a, notFound(kind, id, err)
	}
	return a, checkProduct(a, id, want)
}

// groupKind is the kind of group in names, for NotFoundError.
func (in AssignmentInput) groupKind() string {
	if in.Devices {
		return KindDeviceGroup
	}
	return KindGroup
}

// checkTarget refuses an assignment whose group is not of the kind in names (a user group given
// as a device group, or the other way round), and device licensing of an asset Apple does not
// license to devices (deviceAssignable false: every book, and some apps). It is the one check of
// an assignment's group kind, made by every forecast (so before anything is stored) and restore.
func checkTarget(in AssignmentInput, g store.Group, a store.Asset) error {
	devices := g.Kind == store.GroupDevices
	switch {
	case in.Devices != devices:
		return &NotFoundError{Kind: in.groupKind(), ID: in.GroupID}
	case devices && !a.DeviceAssignable:
		return &DeviceLicensingError{ID: in.BookID, Title: a.Title, Kind: productKind(productOf(a)), GroupID: in.GroupID}
	}
	return nil
}

// DeviceLicensingError: an asset Apple does not license to devices (its deviceAssignable is
// false) was assigned to a device group.
type DeviceLicensingError struct {
	ID, Title string
	Kind      string // KindBook or KindApp
	GroupID   string
}

func (e *DeviceLicensingError) Error() string {
	title := ""
	if e.Title != "" {
		title = fmt.Sprintf(" (%q)", e.Title)
	}
	return fmt.Sprintf("%s %s%s cannot be licensed to devices: Apple does not make it device-assignable, so device group %s cannot receive it; assign it to a user group instead",
		e.Kind, e.ID, title, e.GroupID)
}

func (e *DeviceLicensingError) Is(target error) bool { return target == ErrInvalidInput }

// checkProduct refuses an asset that is not of the product type want.
func checkProduct(a store.Asset, id, want string) error {
	if productOf(a) == want {
		return nil
	}
	return &ProductError{ID: id, Title: a.Title, Want: productKind(want), Got: productKind(productOf(a))}
}

func productOf(a store.Asset) string {
	if a.ProductType == "" {
		return store.ProductBook
	}
	return a.ProductType
}

// productKind is the record kind of a product type: KindBook or KindApp.
func productKind(product string) string {
	if product == store.ProductApp {
		return KindApp
	}
	return KindBook
}

func appView(a store.Asset) App {
	if a.AdamID == "" {
		return App{}
	}
	return App{ID: AssetID(a.TokenID, a.AdamID, a.PricingParam), TokenID: a.TokenID, AdamID: a.AdamID, PricingParam: a.PricingParam,
		Name: a.Title, Developer: a.Author, BundleID: a.BundleID, Platforms: a.Platforms, Version: a.Version, Price: a.Price,
		IconURL: a.CoverURL, Revocable: a.Revocable, DeviceAssignable: a.DeviceAssignable,
		Total: a.Total, Assigned: a.Assigned, Available: a.Available, Retired: a.Retired}
}

// ProductError: the asset an id names is the other product (a book where an app is wanted, or
// the other way round). It wraps ErrInvalidInput.
type ProductError struct {
	ID    string
	Title string
	Want  string // KindBook or KindApp
	Got   string
}

func (e *ProductError) Error() string {
	title := ""
	if e.Title != "" {
		title = fmt.Sprintf(" (%q)", e.Title)
	}
	return fmt.Sprintf("%s names %s %s%s, not %s %s", e.ID, article(e.Got), e.Got, title, article(e.Want), e.Want)
}

func (e *ProductError) Is(target error) bool { return target == ErrInvalidInput }

func article(kind string) string {
	if kind == KindApp {
		return "an"
	}
	return "a"
}
