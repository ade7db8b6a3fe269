package engine

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/google/uuid"

	"github.com/vppkit/terraform-provider-vpp/internal/store"
)

// Intents.
const (
	IntentRequired  = "required"
	IntentAvailable = "available"
)

// Delivery states of one assignment for one member.
const (
	DeliveryLicensed   = "licensed"   // the member holds the book's license
	DeliveryPending    = "pending"    // available intent: waiting for the invitation to be accepted
	DeliveryQueued     = "queued"     // sent to Apple, not confirmed yet
	DeliveryUnlicensed = "unlicensed" // oversubscribed: licenses ran out before this member
	DeliveryFailed     = "failed"     // Apple refused; ErrorNumber says why
)

// Delivery statuses of an assignment.
const (
	StatusComplete = "complete"
	StatusPending  = "pending"
	StatusPartial  = "partial"
)

// AssignmentInput is what the user supplies for an assignment: a book, or an app, to a group.
type AssignmentInput struct {
	// Kind is the product BookID names: KindBook ("" too) or KindApp. An id of the other product
	// is a ProductError.
	Kind string
	// BookID is the asset's id (BookID and AssetID are the same form), the book's or the app's.
	BookID  string
	GroupID string
	// Devices says GroupID names a device group (device licensing: the app is licensed to each
	// device's serial number) rather than a user group. A group of the other kind is not found.
	Devices               bool
	Intent                string // required | available
	AllowOversubscription bool
}

// Assignment is an assignment with its delivery counts.
type Assignment struct {
	ID string
	// Kind is the product assigned: KindBook or KindApp.
	Kind    string
	BookID  string
	GroupID string
	// Devices says GroupID is a device group: the counts are of its devices.
	Devices               bool
	Intent                string
	AllowOversubscription bool
	Licensed              int
	Pending               int
	Unlicensed            int
	Failed                int
	Status                string
	// Failures names members Apple refused, with Apple's error number, sorted by email.
	Failures []MemberFailure
	// Adopted reports the existing users this create or update recognised at Apple.
	Adopted Adoption
}

// MemberFailure is one member Apple refused.
type MemberFailure struct {
	Email       string
	ErrorNumber int
	Detail      string
}

// product is the store's product type of the asset in names.
func (in AssignmentInput) product() string {
	if in.Kind == KindApp {
		return store.ProductApp
	}
	return store.ProductBook
}

func validateAssignment(in AssignmentInput) (tokenID, adamID, pricing string, err error) {
	if in.Kind != "" && in.Kind != KindBook && in.Kind != KindApp {
		return "", "", "", fmt.Errorf("%w: an assignment is of a %s or an %s, not %q", ErrInvalidInput, KindBook, KindApp, in.Kind)
	}
	if in.Intent != IntentRequired && in.Intent != IntentAvailable {
		return "", "", "", fmt.Errorf("%w: intent %q is not supported; use %q or %q", ErrInvalidInput, in.Intent, IntentRequired, IntentAvailable)
	}
	return ParseBookID(in.BookID)
}

// CreateAssignment stores the assignment and delivers it. A shortage of licenses is refused before
// any request unless oversubscription is allowed. The assignment is stored even when delivery stops
// early, so the next apply resumes it; the error says what is left. Creating an assignment that
// exists with the same intent and oversubscription resumes it (a run that stored it may have died
// before Terraform recorded it); with other settings it is refused.
//
// When ctx ends first, the record may be stored all the same (by this call, or by an earlier run
// that died): it is looked up and returned with the error, so that the caller keeps it and the
// next run resumes delivery instead of creating it again.
func (e *Engine) CreateAssignment(ctx context.Context, in AssignmentInput) (Assignment, error) {
	a, err := e.createAssignment(ctx, in)
	if a.ID == "" && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)) {
		found, ferr := e.FindAssignment(context.WithoutCancel(ctx), in.BookID, in.GroupID)
		if ferr == nil && found.Intent == in.Intent && found.AllowOversubscription == in.AllowOversubscription {
			return found, err
		}
	}
	return a, err
}

func (e *Engine) createAssignment(ctx context.Context, in AssignmentInput) (Assignment, error) {
	tokenID, adamID, pricing, err := validateAssignment(in)
	if err != nil {
		return Assignment{}, err
	}
	if _, err := e.Forecast(ctx, in, nil); err != nil {
		return Assignment{}, err
	}
	now := e.now()
	a := store.Assignment{ID: uuid.NewString(), TokenID: tokenID, AdamID: adamID, PricingParam: pricing, GroupID: in.GroupID,
		Intent: in.Intent, AllowOversubscription: in.AllowOversubscription, CreatedAt: now, UpdatedAt: now}
	err = e.tx(ctx, func(tx store.Tx) error {
		existing, err := tx.GetAssignmentByBookGroup(ctx, tokenID, adamID, pricing, in.GroupID)
		switch {
		case err == nil && existing.Intent == in.Intent && existing.AllowOversubscription == in.AllowOversubscription:
			// The same assignment again: an earlier run stored it but did not live to report it to
			// Terraform (killed or crashed in between). Resume it rather than refuse it.
			a = existing
			return nil
		case err == nil:
			return &AssignmentExistsError{Kind: in.Kind, BookID: in.BookID, GroupID: in.GroupID, ExistingID: existing.ID, Intent: existing.Intent}
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
		if err := tx.TouchDeliveries(ctx, tokenID); err != nil {
			return err
		}
		if err := tx.InsertAssignment(ctx, a); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return &AssignmentExistsError{Kind: in.Kind, BookID: in.BookID, GroupID: in.GroupID}
			}
			return err
		}
		return nil
	})
	if err != nil {
		return Assignment{}, err
	}
	adopted, derr := e.deliverBook(ctx, tokenID, adamID, pricing)
	// The assignment is stored whatever delivery did; read it even if ctx ran out meanwhile.
	out, err := e.GetAssignment(context.WithoutCancel(ctx), a.ID)
	if err != nil {
		return Assignment{}, err
	}
	out.Adopted = adopted
	return out, derr
}

// RestoreAssignment makes the engine's record of an assignment that Terraform's state holds match
// that state (see RestoreGroup): a database that lacks it gets it back under the same id, one with
// other settings takes the state's. Its token and group must be in the engine already (the
// vpp_token rebuilds its record at plan time from its token file; the group from its state). It
// sends nothing to Apple; the refresh that follows reads members' users and licenses from Apple.
func (e *Engine) RestoreAssignment(ctx context.Context, id string, in AssignmentInput) (restored bool, err error) {
	tokenID, adamID, pricing, err := validateAssignment(in)
	if err != nil {
		return false, err
	}
	err = e.tx(ctx, func(tx store.Tx) error {
		cur, err := tx.GetAssignment(ctx, id)
		switch {
		case err == nil && cur.Intent == in.Intent && cur.AllowOversubscription == in.AllowOversubscription:
			return nil
		case err == nil:
			cur.Intent, cur.AllowOversubscription, cur.UpdatedAt = in.Intent, in.AllowOversubscription, e.now()
			restored = true
			if err := tx.TouchDeliveries(ctx, tokenID); err != nil {
				return err
			}
			return tx.UpdateAssignment(ctx, cur)
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
		if _, err := tx.GetToken(ctx, tokenID); err != nil {
			return notFound("token", tokenID, err)
		}
		g, err := tx.GetGroup(ctx, in.GroupID)
		if err != nil {
			return notFound(in.groupKind(), in.GroupID, err)
		}
		asset, err := assetRecord(ctx, tx, tokenID, adamID, pricing, in.BookID, in.product())
		if err != nil {
			return err
		}
		if err := checkTarget(in, g, asset); err != nil {
			return err
		}
		if other, err := tx.GetAssignmentByBookGroup(ctx, tokenID, adamID, pricing, in.GroupID); err == nil {
			return fmt.Errorf("%w: %s %s is already assigned to group %s by assignment %s in the engine's records; remove one of the two resources",
				ErrInvalidInput, productKind(in.product()), in.BookID, in.GroupID, other.ID)
		}
		now := e.now()
		restored = true
		if err := tx.TouchDeliveries(ctx, tokenID); err != nil {
			return err
		}
		return tx.InsertAssignment(ctx, store.Assignment{ID: id, TokenID: tokenID, AdamID: adamID, PricingParam: pricing, GroupID: in.GroupID,
			Intent: in.Intent, AllowOversubscription: in.AllowOversubscription, CreatedAt: now, UpdatedAt: now})
	})
	return restored, err
}

// UpdateAssignment changes intent or oversubscription and delivers what is due, which is also how
// an apply delivers the remainder after licenses were bought or a failure was fixed.
func (e *Engine) UpdateAssignment(ctx context.Context, id string, in AssignmentInput) (Assignment, error) {
	if _, _, _, err := validateAssignment(in); err != nil {
		return Assignment{}, err
	}
	// Refuse a shortage before anything is stored, so a refused change leaves no trace.
	if _, err := e.Forecast(ctx, in, nil); err != nil {
		return Assignment{}, err
	}
	var tokenID, adamID, pricing string
	err := e.tx(ctx, func(tx store.Tx) error {
		a, err := tx.GetAssignment(ctx, id)
		if err != nil {
			return notFound("assignment", id, err)
		}
		if BookID(a.TokenID, a.AdamID, a.PricingParam) != in.BookID || a.GroupID != in.GroupID {
			return fmt.Errorf("%w: an assignment's book and group cannot change; replace the assignment", ErrInvalidInput)
		}
		a.Intent, a.AllowOversubscription, a.UpdatedAt = in.Intent, in.AllowOversubscription, e.now()
		tokenID, adamID, pricing = a.TokenID, a.AdamID, a.PricingParam
		if err := tx.TouchDeliveries(ctx, tokenID); err != nil {
			return err
		}
		return tx.UpdateAssignment(ctx, a)
	})
	if err != nil {
		return Assignment{}, err
	}
	adopted, derr := e.deliverBook(ctx, tokenID, adamID, pricing)
	out, err := e.GetAssignment(context.WithoutCancel(ctx), id)
	if err != nil {
		return Assignment{}, err
	}
	out.Adopted = adopted
	return out, derr
}

// GetAssignment reads an assignment and its delivery counts from the engine's records.
func (e *Engine) GetAssignment(ctx context.Context, id string) (Assignment, error) {
	var out Assignment
	err := e.view(ctx, func(tx store.Tx) error {
		a, err := tx.GetAssignment(ctx, id)
		if err != nil {
			return notFound("assignment", id, err)
		}
		out, err = assignmentOf(ctx, tx, a)
		return err
	})
	return out, err
}

// FindAssignment finds the assignment of a book to a group (for import by "<book_id>/<group_id>").
func (e *Engine) FindAssignment(ctx context.Context, bookID, groupID string) (Assignment, error) {
	tokenID, adamID, pricing, err := ParseBookID(bookID)
	if err != nil {
		return Assignment{}, err
	}
	var id string
	err = e.view(ctx, func(tx store.Tx) error {
		a, err := tx.GetAssignmentByBookGroup(ctx, tokenID, adamID, pricing, groupID)
		if err != nil {
			return notFound("assignment", bookID+"/"+groupID, err)
		}
		id = a.ID
		return nil
	})
	if err != nil {
		return Assignment{}, err
	}
	return e.GetAssignment(ctx, id)
}

// RefreshAssignment syncs the assignment's token when stale, recomputes delivery from the records
// when they changed since the states were recorded, and returns the assignment. In the common
// case (a recent sync, nothing changed) it is one read: a refresh of many assignments costs one
// sync and one recomputation in all, not one per assignment.
func (e *Engine) RefreshAssignment(ctx context.Context, id string) (Assignment, error) {
	var a Assignment
	var tok store.Token
	err := e.view(ctx, func(tx store.Tx) error {
		sa, err := tx.GetAssignment(ctx, id)
		if err != nil {
			return notFound("assignment", id, err)
		}
		if a, err = assignmentOf(ctx, tx, sa); err != nil {
			return err
		}
		tok, err = tx.GetToken(ctx, sa.TokenID)
		return notFound("token", sa.TokenID, err)
	})
	if err != nil {
		return Assignment{}, err
	}
	switch {
	case e.stale(tokenFromRecord(tok, 0)):
		_ = e.syncIfStale(ctx, tok.ID) // failures show on the token's sync status
	case tok.DeliveriesRecorded >= tok.DeliveriesGen:
		return a, nil
	default:
		// Members whose users the records lack (a rebuilt record, a group that grew elsewhere) may
		// have them at Apple: a sync finds them and their licenses. Reads only.
		due, err := e.lookupDue(ctx, tok.ID)
		if err != nil {
			return Assignment{}, err
		}
		if due {
			_ = e.withTokenLock(ctx, tok.ID, func() error { return e.sync(ctx, tok.ID, false) }) // failures show on the token's sync status
		}
	}
	// Delivery and sync record the states they change; they are recomputed here only when one of
	// them did not get to (interrupted, or the sync above).
	recorded, err := e.recordIfStale(ctx, tok.ID)
	if err != nil || !recorded {
		return a, err
	}
	return e.GetAssignment(ctx, id)
}

// DeleteAssignment removes the assignment. A revocable app's licenses that it alone gave are taken
// back at Apple first (see removeReclaiming); other licenses stay with their users: Apple does not
// let books, or apps that are not revocable, be reclaimed.
func (e *Engine) DeleteAssignment(ctx context.Context, id string) (RemoveReport, error) {
	var rep RemoveReport
	var revocable *store.Assignment
	err := e.tx(ctx, func(tx store.Tx) error {
		a, err := tx.GetAssignment(ctx, id)
		if err != nil {
			return notFound("assignment", id, err)
		}
		if asset, err := tx.GetAsset(ctx, a.TokenID, a.AdamID, a.PricingParam); err == nil && reclaims(asset) {
			revocable = &a
			return nil
		}
		// Other assignments of the book may get the licenses it would have taken.
		if err := tx.TouchDeliveries(ctx, a.TokenID); err != nil {
			return err
		}
		ds, err := tx.ListDeliveries(ctx, id)
		if err != nil {
			return err
		}
		for _, d := range ds {
			if d.State == DeliveryLicensed {
				rep.LicensesKept++
			}
		}
		return tx.DeleteAssignment(ctx, id)
	})
	if err == nil && revocable != nil {
		return e.removeReclaiming(ctx, *revocable)
	}
	return rep, err
}

// describe sets what the view of assignment a says of its product and group: Kind, the product it
// gives (KindApp or KindBook; an asset the records no longer hold, gone from the location, reads
// as a book, the product every assignment was before apps), and Devices, whether its group is a
// device group.
func (out *Assignment) describe(ctx context.Context, tx store.Tx, a store.Assignment) error {
	g, err := tx.GetGroup(ctx, a.GroupID)
	if err != nil {
		return notFound(KindGroup, a.GroupID, err)
	}
	out.Devices = g.Kind == store.GroupDevices
	asset, err := tx.GetAsset(ctx, a.TokenID, a.AdamID, a.PricingParam)
	switch {
	case errors.Is(err, store.ErrNotFound):
		out.Kind = KindBook
		return nil
	case err != nil:
		return err
	}
	out.Kind = productKind(productOf(asset))
	return nil
}

// assignmentOf reads assignment sa's view in tx: its delivery counts by state (one counting query,
// not a read of every member's delivery: a refresh of an assignment of a 100,000-member group reads
// a few rows), the members Apple refused, its product and its group's kind.
func assignmentOf(ctx context.Context, tx store.Tx, sa store.Assignment) (Assignment, error) {
	counts, err := tx.CountDeliveriesByState(ctx, sa.ID)
	if err != nil {
		return Assignment{}, err
	}
	failed, err := tx.ListDeliveriesInState(ctx, sa.ID, DeliveryFailed)
	if err != nil {
		return Assignment{}, err
	}
	out := assignmentView(sa, counts, failed)
	return out, out.describe(ctx, tx, sa)
}

// assignmentView is the view of assignment a with its deliveries counted by state and its failed
// ones.
func assignmentView(a store.Assignment, counts map[string]int, failed []store.Delivery) Assignment {
	out := Assignment{ID: a.ID, BookID: BookID(a.TokenID, a.AdamID, a.PricingParam), GroupID: a.GroupID,
		Intent: a.Intent, AllowOversubscription: a.AllowOversubscription,
		Licensed: counts[DeliveryLicensed], Pending: counts[DeliveryPending] + counts[DeliveryQueued],
		Unlicensed: counts[DeliveryUnlicensed], Failed: counts[DeliveryFailed]}
	for _, d := range failed {
		out.Failures = append(out.Failures, MemberFailure{Email: d.Email, ErrorNumber: d.ErrorNumber, Detail: d.Detail})
	}
	switch {
	case out.Failed > 0 || out.Unlicensed > 0:
		out.Status = StatusPartial
	case out.Pending > 0:
		out.Status = StatusPending
	default:
		out.Status = StatusComplete
	}
	sort.Slice(out.Failures, func(i, j int) bool { return out.Failures[i].Email < out.Failures[j].Email })
	return out
}
