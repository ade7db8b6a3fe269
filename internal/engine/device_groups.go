package engine

import (
	"context"
	"errors"
	"slices"

	"github.com/google/uuid"

	"github.com/vppkit/terraform-provider-vpp/internal/store"
)

// Device groups: Apple's device-based licensing names devices by serial number, so an app can be
// licensed to a device whose user has no Apple Account, or where the App Store is disabled. A
// device group is the set of serial numbers such a license goes to; on its own it sends nothing to
// Apple (as a user group), and installing a licensed app is the device management system's job.

// KindDeviceGroup is a device group, in NotFoundError.
const KindDeviceGroup = "device group"

// DeviceGroupInput is what the user supplies for a device group.
type DeviceGroupInput struct {
	Name          string
	Description   string
	SerialNumbers []string // any case, surrounding space allowed; each device once
}

// DeviceGroup is a device group as the engine knows it.
type DeviceGroup struct {
	ID            string
	Name          string
	Description   string
	SerialNumbers []string // normalised (SerialKey), sorted
}

// CreateDeviceGroup stores a new device group.
func (e *Engine) CreateDeviceGroup(ctx context.Context, in DeviceGroupInput) (DeviceGroup, error) {
	serials, err := NormalizeSerials(in.SerialNumbers)
	if err != nil {
		return DeviceGroup{}, err
	}
	id := uuid.NewString()
	if err := e.tx(ctx, func(tx store.Tx) error { return e.recordDeviceGroup(ctx, tx, id, in, serials) }); err != nil {
		return DeviceGroup{}, err
	}
	return deviceGroupOf(id, in, serials), nil
}

// RestoreDeviceGroup makes the engine's record of a device group that Terraform's state holds
// match that state: the group is a set of devices the configuration defines, so the state is its
// truth and the record a cache of it. A database that lacks the group (a new runner, a lost or
// restored database) gets it back under the same id; one that holds an older version of it is
// brought up to date. It sends nothing to Apple. restored reports whether the record was missing
// or differed.
func (e *Engine) RestoreDeviceGroup(ctx context.Context, id string, in DeviceGroupInput) (g DeviceGroup, restored bool, err error) {
	serials, err := NormalizeSerials(in.SerialNumbers)
	if err != nil {
		return DeviceGroup{}, false, err
	}
	// In the common case the record matches: one read, no write.
	var same bool
	err = e.view(ctx, func(tx store.Tx) (err error) {
		same, err = deviceGroupIs(ctx, tx, id, in, serials)
		return err
	})
	if err == nil && !same {
		err = e.tx(ctx, func(tx store.Tx) error {
			same, err := deviceGroupIs(ctx, tx, id, in, serials)
			if restored = err == nil && !same; !restored {
				return err
			}
			return e.recordDeviceGroup(ctx, tx, id, in, serials)
		})
	}
	if err != nil {
		return DeviceGroup{}, false, err
	}
	return deviceGroupOf(id, in, serials), restored, nil
}

// UpdateDeviceGroup changes the device group. New devices receive every app assigned to the group
// (delivery runs for each token the group's assignments use); the revocable app licenses of
// devices leaving it are reclaimed first, where no other assignment of the app covers them, as for
// members leaving a user group. A group the engine's records lack (a lost database) is recorded
// anew under the same id.
func (e *Engine) UpdateDeviceGroup(ctx context.Context, id string, in DeviceGroupInput) (DeviceGroup, GroupChange, error) {
	serials, err := NormalizeSerials(in.SerialNumbers)
	if err != nil {
		return DeviceGroup{}, GroupChange{}, err
	}
	var change GroupChange
	// Licenses go back before the devices leave the records: an update cut short finds them there
	// again, and the next one resumes.
	if change.LicensesReclaimed, err = e.reclaimRemoved(ctx, id, serials); err != nil {
		return DeviceGroup{}, change, err
	}
	var tokens []string
	err = e.tx(ctx, func(tx store.Tx) error {
		old, err := tx.ListSerials(ctx, id)
		if err != nil {
			return err
		}
		added, removed := diffSorted(old, serials)
		var held heldLicenses
		if held, tokens, err = licensesHeldBy(ctx, tx, id, removed); err != nil {
			return err
		}
		change.LicensesKept, change.BookLicensesKept = held.keptAfter(change.LicensesReclaimed)
		if err := e.recordDeviceGroupOnly(ctx, tx, id, in); err != nil {
			return err
		}
		return e.changeMembersIn(ctx, tx, id, added, removed, tokens)
	})
	if err != nil {
		return DeviceGroup{}, GroupChange{}, err
	}
	g := deviceGroupOf(id, in, serials)
	for _, t := range tokens {
		if _, err := e.deliverReporting(ctx, t, nil); err != nil {
			return g, change, err
		}
	}
	return g, change, nil
}

// ForecastDeviceGroup is ForecastGroup for a device group: with serials as its planned devices,
// every assignment of the group is forecast, and the first shortage returned.
func (e *Engine) ForecastDeviceGroup(ctx context.Context, id string, serials []string, plan *PlannedChanges) error {
	normalized, err := NormalizeSerials(serials)
	if err != nil {
		return err
	}
	return e.forecastGroup(ctx, id, normalized, plan)
}

// DeviceGroupRemovalImpact is GroupRemovalImpact for a device group: what the devices leaving it
// (all but remaining; every device when remaining is nil) would do to their licenses.
func (e *Engine) DeviceGroupRemovalImpact(ctx context.Context, id string, remaining []string) (RemoveReport, error) {
	serials, err := NormalizeSerials(remaining)
	if err != nil {
		return RemoveReport{}, err
	}
	return e.removalImpact(ctx, id, serials)
}

// GetDeviceGroup reads a device group from the engine's records.
func (e *Engine) GetDeviceGroup(ctx context.Context, id string) (DeviceGroup, error) {
	var g DeviceGroup
	err := e.view(ctx, func(tx store.Tx) error {
		rec, err := tx.GetDeviceGroup(ctx, id)
		if err != nil {
			return notFound(KindDeviceGroup, id, err)
		}
		serials, err := tx.ListSerials(ctx, id)
		g = DeviceGroup{ID: rec.ID, Name: rec.Name, Description: rec.Description, SerialNumbers: serials}
		return err
	})
	return g, err
}

// DeleteDeviceGroup forgets the device group, its serial numbers and its assignments. Revocable
// app licenses its assignments alone gave are taken back first, as when its devices leave it.
func (e *Engine) DeleteDeviceGroup(ctx context.Context, id string) (RemoveReport, error) {
	return e.deleteGroup(ctx, id, KindDeviceGroup)
}

// recordDeviceGroup writes the input, with its normalised serial numbers, as the record of device
// group id: a new record when there is none, the same record (created when it was) otherwise. The
// delivery states of the tokens its assignments use are outdated by it.
func (e *Engine) recordDeviceGroup(ctx context.Context, tx store.Tx, id string, in DeviceGroupInput, serials []string) error {
	if err := e.recordDeviceGroupOnly(ctx, tx, id, in); err != nil {
		return err
	}
	if err := tx.SetSerials(ctx, id, serials); err != nil {
		return err
	}
	_, tokens, err := licensesHeldBy(ctx, tx, id, nil)
	if err != nil {
		return err
	}
	return tx.TouchDeliveries(ctx, tokens...)
}

// recordDeviceGroupOnly is recordDeviceGroup without the serial numbers: the group's own record.
func (e *Engine) recordDeviceGroupOnly(ctx context.Context, tx store.Tx, id string, in DeviceGroupInput) error {
	now := e.now()
	rec := store.DeviceGroup{ID: id, Name: in.Name, Description: in.Description, CreatedAt: now, UpdatedAt: now}
	cur, err := tx.GetDeviceGroup(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		err = tx.InsertDeviceGroup(ctx, rec)
	case err == nil:
		rec.CreatedAt = cur.CreatedAt
		err = tx.UpdateDeviceGroup(ctx, rec)
	}
	return err
}

// deviceGroupIs reports whether the record of device group id is the input (with its normalised
// serial numbers); false when there is no record.
func deviceGroupIs(ctx context.Context, tx store.Tx, id string, in DeviceGroupInput, serials []string) (bool, error) {
	cur, err := tx.GetDeviceGroup(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	held, err := tx.ListSerials(ctx, id)
	return err == nil && cur.Name == in.Name && cur.Description == in.Description && slices.Equal(held, serials), err
}

// deviceGroupOf is the device group the input, recorded under id, makes.
func deviceGroupOf(id string, in DeviceGroupInput, serials []string) DeviceGroup {
	return DeviceGroup{ID: id, Name: in.Name, Description: in.Description, SerialNumbers: serials}
}
