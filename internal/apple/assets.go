package apple

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
)

// Asset field values.
const (
	ProductApp  = "App"
	ProductBook = "Book"
	PricingSTDQ = "STDQ" // standard quality
	PricingPLUS = "PLUS" // high quality
	// UnlimitedCount is the totalCount of an unlimited free asset when
	// AssetQuery.Unlimited is nil.
	UnlimitedCount = 2147483647
)

// AssetRef identifies an asset: Apple's RequestAsset, a (store id, quality)
// pair.
type AssetRef struct {
	AdamID string `json:"adamId"`
	// PricingParam is PricingSTDQ or PricingPLUS; empty is not sent.
	PricingParam string `json:"pricingParam,omitempty"`
}

// Asset is Apple's ResponseAsset: an app or book with its license counts.
type Asset struct {
	AdamID             string   `json:"adamId"`
	PricingParam       string   `json:"pricingParam"`
	ProductType        string   `json:"productType"`
	AssignedCount      int      `json:"assignedCount"`
	AvailableCount     int      `json:"availableCount"`
	TotalCount         int      `json:"totalCount"`
	RetiredCount       int      `json:"retiredCount"`
	Revocable          bool     `json:"revocable"`
	DeviceAssignable   bool     `json:"deviceAssignable"`
	SupportedPlatforms []string `json:"supportedPlatforms"`
}

// Ref returns the asset's identity.
func (a Asset) Ref() AssetRef { return AssetRef{AdamID: a.AdamID, PricingParam: a.PricingParam} }

// Unlimited reports whether the asset is an unlimited free one.
func (a Asset) Unlimited() bool { return a.TotalCount == UnlimitedCount }

// UnlimitedAsset is Apple's UnlimitedResponseAsset, listed separately when
// AssetQuery.Unlimited is true.
type UnlimitedAsset struct {
	AdamID             string   `json:"adamId"`
	PricingParam       string   `json:"pricingParam"`
	ProductType        string   `json:"productType"`
	AssignedCount      int      `json:"assignedCount"`
	Revocable          bool     `json:"revocable"`
	DeviceAssignable   bool     `json:"deviceAssignable"`
	SupportedPlatforms []string `json:"supportedPlatforms"`
}

// AssetQuery holds the filters of Get Assets; zero values are not sent.
type AssetQuery struct {
	AdamID       string
	ProductType  string // ProductApp or ProductBook
	PricingParam string
	Revocable    *bool
	// DeviceAssignable filters on device assignability.
	DeviceAssignable                     *bool
	MinAvailableCount, MaxAvailableCount *int
	MinAssignedCount, MaxAssignedCount   *int
	// Unlimited: true lists unlimited free assets in UnlimitedAssets, false
	// leaves them out, nil lists them in Assets with TotalCount UnlimitedCount.
	Unlimited *bool
}

func (q AssetQuery) values() url.Values {
	v := url.Values{}
	setString(v, "adamId", q.AdamID)
	setString(v, "productType", q.ProductType)
	setString(v, "pricingParam", q.PricingParam)
	setBool(v, "revocable", q.Revocable)
	setBool(v, "deviceAssignable", q.DeviceAssignable)
	setInt(v, "minAvailableCount", q.MinAvailableCount)
	setInt(v, "maxAvailableCount", q.MaxAvailableCount)
	setInt(v, "minAssignedCount", q.MinAssignedCount)
	setInt(v, "maxAssignedCount", q.MaxAssignedCount)
	setBool(v, "unlimited", q.Unlimited)
	return v
}

func setString(v url.Values, key, value string) {
	if value != "" {
		v.Set(key, value)
	}
}

func setBool(v url.Values, key string, value *bool) {
	if value != nil {
		v.Set(key, strconv.FormatBool(*value))
	}
}

func setInt(v url.Values, key string, value *int) {
	if value != nil {
		v.Set(key, strconv.Itoa(*value))
	}
}

// AssetList is the whole result of Get Assets.
type AssetList struct {
	Envelope
	// VersionID is the first page's versionId.
	VersionID       string
	Assets          []Asset
	UnlimitedAssets []UnlimitedAsset
}

type assetsPage struct {
	pageFields
	Assets          []Asset          `json:"assets"`
	UnlimitedAssets []UnlimitedAsset `json:"unlimitedAssets"`
}

// GetAssets lists all assets matching q, walking every page.
func (c *Client) GetAssets(ctx context.Context, q AssetQuery) (*AssetList, error) {
	list, _, err := c.GetAssetsUnlessAt(ctx, q, "")
	return list, err
}

// GetAssetsUnlessAt is GetAssets for a caller that holds the assets as of versionId known. Get
// Assets takes no sinceVersionId, but its versionId changes whenever the assets do: when page 0
// still shows known, the walk stops there and unchanged is true; the list then carries only the
// envelope and VersionID, no assets. An empty known walks every page, like GetAssets.
func (c *Client) GetAssetsUnlessAt(ctx context.Context, q AssetQuery, known string) (list *AssetList, unchanged bool, err error) {
	pages, unchanged, err := walkUnlessAt[assetsPage](ctx, c, "/assets", q.values(), known)
	if err != nil {
		return nil, false, err
	}
	if unchanged {
		list = &AssetList{}
		list.Envelope, list.VersionID = listHead(&pages[0].pageFields)
		return list, true, nil
	}
	return assetList(pages), false, nil
}

func assetList(pages []*assetsPage) *AssetList {
	list := &AssetList{}
	for i, p := range pages {
		if i == 0 {
			list.Envelope, list.VersionID = listHead(&p.pageFields)
		}
		list.Assets = append(list.Assets, p.Assets...)
		list.UnlimitedAssets = append(list.UnlimitedAssets, p.UnlimitedAssets...)
	}
	return list
}

// ManageAssetsRequest is Apple's ManageAssetsRequest: every asset applies to
// every listed user and device.
type ManageAssetsRequest struct {
	Assets        []AssetRef `json:"assets"`
	ClientUserIDs []string   `json:"clientUserIds,omitempty"`
	SerialNumbers []string   `json:"serialNumbers,omitempty"`
}

func (r ManageAssetsRequest) validate(lim Limits) error {
	if len(r.Assets) == 0 {
		return fmt.Errorf("apple: %w: assets is empty", ErrInvalidRequest)
	}
	if len(r.ClientUserIDs) == 0 && len(r.SerialNumbers) == 0 {
		return fmt.Errorf("apple: %w: need clientUserIds or serialNumbers", ErrInvalidRequest)
	}
	seen := make(map[AssetRef]bool, len(r.Assets))
	for _, a := range r.Assets {
		if a.AdamID == "" {
			return fmt.Errorf("apple: %w: an asset has no adamId", ErrInvalidRequest)
		}
		if seen[a] {
			return fmt.Errorf("apple: %w: asset %s/%s appears twice", ErrInvalidRequest, a.AdamID, a.PricingParam)
		}
		seen[a] = true
	}
	for _, err := range []error{
		checkDistinct("clientUserIds", r.ClientUserIDs),
		checkDistinct("serialNumbers", r.SerialNumbers),
		checkCount("assets", len(r.Assets), lim.MaxAssets),
		checkCount("clientUserIds", len(r.ClientUserIDs), lim.MaxClientUserIDs),
		checkCount("serialNumbers", len(r.SerialNumbers), lim.MaxSerialNumbers),
	} {
		if err != nil {
			return err
		}
	}
	return nil
}

// RevokeAssetsRequest is Apple's RevokeAssetsRequest: it removes every
// revocable assignment of the listed users and devices.
type RevokeAssetsRequest struct {
	ClientUserIDs []string `json:"clientUserIds,omitempty"`
	SerialNumbers []string `json:"serialNumbers,omitempty"`
}

func (r RevokeAssetsRequest) validate(lim Limits) error {
	if len(r.ClientUserIDs) == 0 && len(r.SerialNumbers) == 0 {
		return fmt.Errorf("apple: %w: need clientUserIds or serialNumbers", ErrInvalidRequest)
	}
	for _, err := range []error{
		checkDistinct("clientUserIds", r.ClientUserIDs),
		checkDistinct("serialNumbers", r.SerialNumbers),
		checkCount("clientUserIds", len(r.ClientUserIDs), lim.MaxRevokeClientUserIDs),
		checkCount("serialNumbers", len(r.SerialNumbers), lim.MaxRevokeSerialNumbers),
	} {
		if err != nil {
			return err
		}
	}
	return nil
}

// AssociateAssets assigns assets (POST /assets/associate). Apple does the work
// asynchronously: follow it with EventStatus. Use SplitAssociations to respect
// the size limits; a request over them is refused locally (ErrOverLimit).
//
// Errors: *APIError when Apple refused the request synchronously (then nothing
// was processed); *OutcomeUnknownError when it may have been applied, which
// the caller must reconcile instead of resending. When the response's envelope
// check fails, the accepted event is returned together with the
// *MDMConflictError or *LocationMismatchError.
func (c *Client) AssociateAssets(ctx context.Context, req ManageAssetsRequest) (*EventResponse, error) {
	return c.postEvent(ctx, "/assets/associate", req)
}

// DisassociateAssets removes assignments (POST /assets/disassociate); errors
// as for AssociateAssets.
func (c *Client) DisassociateAssets(ctx context.Context, req ManageAssetsRequest) (*EventResponse, error) {
	return c.postEvent(ctx, "/assets/disassociate", req)
}

// RevokeAssets removes all revocable assignments of users and devices
// (POST /assets/revoke); errors as for AssociateAssets.
func (c *Client) RevokeAssets(ctx context.Context, req RevokeAssetsRequest) (*EventResponse, error) {
	return c.postEvent(ctx, "/assets/revoke", req)
}
