package applesim

import "slices"

// Product types and pricing params.
const (
	ProductApp  = "App"
	ProductBook = "Book"

	PricingSTDQ = "STDQ"
	PricingPLUS = "PLUS"
)

type responseAsset struct {
	AdamID             string   `json:"adamId"`
	AssignedCount      int      `json:"assignedCount"`
	AvailableCount     int      `json:"availableCount"`
	DeviceAssignable   bool     `json:"deviceAssignable"`
	PricingParam       string   `json:"pricingParam"`
	ProductType        string   `json:"productType"`
	RetiredCount       int      `json:"retiredCount"`
	Revocable          bool     `json:"revocable"`
	SupportedPlatforms []string `json:"supportedPlatforms"`
	TotalCount         int      `json:"totalCount"`
}

// unlimitedResponseAsset is ResponseAsset without the counts that are meaningless when unlimited.
type unlimitedResponseAsset struct {
	AdamID             string   `json:"adamId"`
	AssignedCount      int      `json:"assignedCount"`
	DeviceAssignable   bool     `json:"deviceAssignable"`
	PricingParam       string   `json:"pricingParam"`
	ProductType        string   `json:"productType"`
	Revocable          bool     `json:"revocable"`
	SupportedPlatforms []string `json:"supportedPlatforms"`
}

type getAssetsResponse struct {
	Assets          []responseAsset          `json:"assets"`
	UnlimitedAssets []unlimitedResponseAsset `json:"unlimitedAssets,omitempty"`
	pageInfo
	envelope
}

// getAssets serves GET /assets. With unlimited=true, unlimited assets are paged together with
// the others but listed in unlimitedAssets; size counts both arrays.
func (s *Server) getAssets(c *call) (any, *apiError) {
	q := newQuery(c.r.URL)
	productType := q.oneOf("productType", ProductApp, ProductBook)
	pricing := q.oneOf("pricingParam", PricingSTDQ, PricingPLUS)
	adamID := q.str("adamId")
	revocable, hasRevocable := q.boolean("revocable")
	deviceAssignable, hasDeviceAssignable := q.boolean("deviceAssignable")
	unlimited, hasUnlimited := q.boolean("unlimited")
	maxAvail, hasMaxAvail := q.integer("maxAvailableCount")
	minAvail, hasMinAvail := q.integer("minAvailableCount")
	maxAssigned, hasMaxAssigned := q.integer("maxAssignedCount")
	minAssigned, hasMinAssigned := q.integer("minAssignedCount")
	return serveList(s, c, q, listing[*asset]{
		dataset: dsAssets,
		records: func(loc *location) []*asset { return loc.Assets },
		skip: func(_ *location, a *asset, _ int64) bool {
			return productType != "" && a.ProductType != productType ||
				pricing != "" && a.PricingParam != pricing ||
				adamID != "" && a.AdamID != adamID ||
				hasRevocable && a.Revocable != revocable ||
				hasDeviceAssignable && a.DeviceAssignable != deviceAssignable ||
				hasUnlimited && !unlimited && a.Unlimited ||
				hasMaxAvail && a.available() > maxAvail ||
				hasMinAvail && a.available() < minAvail ||
				hasMaxAssigned && a.Assigned > maxAssigned ||
				hasMinAssigned && a.Assigned < minAssigned
		},
		answer: func(p listPage[*asset]) any { return assetsResponse(p, unlimited) },
	})
}

// assetsResponse answers a page of assets; with unlimited, the unlimited ones are listed apart.
func assetsResponse(p listPage[*asset], unlimited bool) any {
	resp := getAssetsResponse{Assets: []responseAsset{}, pageInfo: p.pageInfo, envelope: p.envelope}
	for _, a := range p.records {
		if a.Unlimited && unlimited {
			resp.UnlimitedAssets = append(resp.UnlimitedAssets, unlimitedResponseAsset{
				AdamID:             a.AdamID,
				AssignedCount:      a.Assigned,
				DeviceAssignable:   a.DeviceAssignable,
				PricingParam:       a.PricingParam,
				ProductType:        a.ProductType,
				Revocable:          a.Revocable,
				SupportedPlatforms: slices.Clone(a.Platforms),
			})
			continue
		}
		resp.Assets = append(resp.Assets, responseAsset{
			AdamID:             a.AdamID,
			AssignedCount:      a.Assigned,
			AvailableCount:     a.available(),
			DeviceAssignable:   a.DeviceAssignable,
			PricingParam:       a.PricingParam,
			ProductType:        a.ProductType,
			RetiredCount:       a.Retired,
			Revocable:          a.Revocable,
			SupportedPlatforms: slices.Clone(a.Platforms),
			TotalCount:         a.total(),
		})
	}
	return resp
}
