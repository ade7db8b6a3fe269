package apple

import (
	"context"
	"net/url"
)

// Assignment is one license assignment: an asset given to a user
// (ClientUserID) or a device (SerialNumber).
type Assignment struct {
	AdamID       string `json:"adamId"`
	PricingParam string `json:"pricingParam"`
	ClientUserID string `json:"clientUserId"`
	SerialNumber string `json:"serialNumber"`
	// IDHash and UserStatus are filled with AssignmentQuery.IncludeUserState.
	IDHash     string `json:"idHash"`
	UserStatus string `json:"userStatus"`
}

// Asset returns the assigned asset.
func (a Assignment) Asset() AssetRef { return AssetRef{AdamID: a.AdamID, PricingParam: a.PricingParam} }

// AssignmentQuery holds the filters of Get Assignments; zero values are not
// sent.
type AssignmentQuery struct {
	AdamID       string
	ClientUserID string
	SerialNumber string
	PricingParam string
	// SinceVersionID asks only for assignments changed since that versionId.
	SinceVersionID string
	// ExcludeInactiveUsers leaves out assignments of retired or inactive users.
	ExcludeInactiveUsers bool
	// IncludeUserState adds IDHash and UserStatus to each assignment.
	IncludeUserState bool
}

func (q AssignmentQuery) values() url.Values {
	v := url.Values{}
	setString(v, "adamId", q.AdamID)
	setString(v, "clientUserId", q.ClientUserID)
	setString(v, "serialNumber", q.SerialNumber)
	setString(v, "pricingParam", q.PricingParam)
	setString(v, "sinceVersionId", q.SinceVersionID)
	if q.ExcludeInactiveUsers {
		v.Set("excludeInactiveUsers", "true")
	}
	if q.IncludeUserState {
		v.Set("includeUserState", "true")
	}
	return v
}

// AssignmentList is the whole result of Get Assignments.
type AssignmentList struct {
	Envelope
	// VersionID is the first page's versionId, for a later SinceVersionID.
	VersionID   string
	Assignments []Assignment
}

type assignmentsPage struct {
	pageFields
	Assignments []Assignment `json:"assignments"`
}

func (p *assignmentsPage) items() []Assignment { return p.Assignments }

// GetAssignments lists all assignments matching q, walking every page.
func (c *Client) GetAssignments(ctx context.Context, q AssignmentQuery) (*AssignmentList, error) {
	list, err := walkItems(ctx, c, "/assignments", q.values(), (*assignmentsPage).items)
	if err != nil {
		return nil, err
	}
	return &AssignmentList{Envelope: list.Envelope, VersionID: list.VersionID, Assignments: list.Items}, nil
}

// EachAssignment walks the assignments matching q page by page, as EachUser does the users, and
// returns the walk's versionId.
func (c *Client) EachAssignment(ctx context.Context, q AssignmentQuery, fn func(restart bool, assignments []Assignment) error) (string, error) {
	return walkEachItems(ctx, c, "/assignments", q.values(), (*assignmentsPage).items, fn)
}
