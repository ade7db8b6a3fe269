package engine_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vppkit/terraform-provider-vpp/internal/applesim"
	"github.com/vppkit/terraform-provider-vpp/internal/engine"
	"github.com/vppkit/terraform-provider-vpp/internal/store"
	"github.com/vppkit/terraform-provider-vpp/internal/store/storetest"
)

// serials returns n distinct serial numbers (12 characters), sorted.
func serials(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("C02X%08d", i)
	}
	return out
}

// A serial number is trimmed and upper-cased; anything but 8 to 14 letters A–Z and digits is
// refused with the reason.
func TestNormalizeSerial(t *testing.T) {
	for in, want := range map[string]string{
		"C02XK1ZZJGH5":     "C02XK1ZZJGH5",
		" c02xk1zzjgh5\t":  "C02XK1ZZJGH5",
		"dmpxk1zz":         "DMPXK1ZZ",       // 8
		"F9FXK1ZZJGH5AB":   "F9FXK1ZZJGH5AB", // 14
		"00000000":         "00000000",
		"abcdefghijklmn":   "ABCDEFGHIJKLMN",
		"\u00a0C02XK1ZZJ ": "C02XK1ZZJ", // a no-break space is space
	} {
		if got, err := engine.NormalizeSerial(in); err != nil || got != want {
			t.Errorf("NormalizeSerial(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for in, reason := range map[string]string{
		"":                   "is empty",
		"   ":                "is empty",
		"C02XK1Z":            "has 7 characters, not 8 to 14",
		"C":                  "has 1 character, not 8 to 14",
		"C02XK1ZZJGH5ABC":    "has 15 characters, not 8 to 14",
		"C02-XK1ZZJGH5":      `contains '-', which is not a letter A–Z or a digit`,
		"C02 XK1ZZJGH5":      "contains a space",
		"C02XK1ZZJGHé":       `contains 'É', which is not a letter A–Z or a digit`,
		"C02XK1\x00ZZJGH5":   `contains '\x00', which is not a letter A–Z or a digit`,
		"C02XK1\xffZZJGH5":   "is not valid UTF-8 text",
		"C02XK1ZZJGH5\u200b": `contains '\u200b', which is not a letter A–Z or a digit`,
	} {
		_, err := engine.NormalizeSerial(in)
		var bad *engine.SerialError
		if !errors.As(err, &bad) || bad.Reason != reason || bad.Input != in || !errors.Is(err, engine.ErrInvalidInput) {
			t.Errorf("NormalizeSerial(%q) = %v; want a SerialError that it %s", in, err, reason)
		}
	}
}

// Duplicates after normalisation are refused, each naming the first entry it repeats by position;
// the error quotes the first few problems of thousands and counts the rest.
func TestNormalizeSerials_duplicatesNamedByIndex(t *testing.T) {
	p := engine.CheckSerials([]string{"C02XK1ZZJGH5", "DMPXK1ZZAB12", " c02xk1zzjgh5", "bad", "dmpxk1zzab12", "C02XK1ZZJGH5"})
	want := []engine.DuplicateSerial{
		{First: "C02XK1ZZJGH5", Again: " c02xk1zzjgh5", FirstAt: 0, AgainAt: 2},
		{First: "DMPXK1ZZAB12", Again: "dmpxk1zzab12", FirstAt: 1, AgainAt: 4},
		{First: "C02XK1ZZJGH5", Again: "C02XK1ZZJGH5", FirstAt: 0, AgainAt: 5},
	}
	if !slices.Equal(p.Duplicates, want) || !slices.Equal(p.InvalidAt, []int{3}) || p.Invalid[0].Input != "bad" {
		t.Fatalf("CheckSerials = %+v; want duplicates %+v and entry 3 invalid", p, want)
	}

	got, err := engine.NormalizeSerials([]string{"dmpxk1zzab12", " C02XK1ZZJGH5 "})
	if err != nil || !slices.Equal(got, []string{"C02XK1ZZJGH5", "DMPXK1ZZAB12"}) {
		t.Fatalf("NormalizeSerials = %v, %v; want them upper-case and sorted", got, err)
	}

	_, err = engine.NormalizeSerials([]string{"C02XK1ZZJGH5", "c02xk1zzjgh5"})
	const once = `serial numbers "C02XK1ZZJGH5" and "c02xk1zzjgh5" are the same device (serial numbers are not case-sensitive); list each device once`
	var serr *engine.SerialsError
	if !errors.As(err, &serr) || err.Error() != once || !errors.Is(err, engine.ErrInvalidInput) || serr.Duplicates[0].AgainAt != 1 {
		t.Fatalf("got %v\nwant %s", err, once)
	}

	many := make([]string, 0, 10_001)
	for i := range 5000 {
		many = append(many, "C02XK1ZZJGH5", fmt.Sprintf("bad-%d", i))
	}
	_, err = engine.NormalizeSerials(many)
	msg := err.Error()
	if !strings.HasPrefix(msg, `5000 entries are not device serial numbers: "bad-0" (it contains '-', which is not a letter A–Z or a digit); "bad-1" (it`) ||
		!strings.Contains(msg, "; and 4995 more (expected 8 to 14 letters A–Z and digits 0–9, such as C02XK1ZZJGH5); "+
			`4999 entries repeat a device listed before them: "C02XK1ZZJGH5" repeats "C02XK1ZZJGH5"; `) ||
		!strings.HasSuffix(msg, "; and 4994 more (serial numbers are not case-sensitive); list each device once") || len(msg) > 1000 {
		t.Fatalf("got %.1200s", msg)
	}
}

// The device group's errors carry domain facts only.
func TestDeviceGroup_errorsSpeakNoTerraform(t *testing.T) {
	for _, err := range []error{
		&engine.NotFoundError{Kind: engine.KindDeviceGroup, ID: "d1"},
		&engine.SerialError{Input: "x", Reason: "is empty"},
		&engine.SerialsError{SerialProblems: engine.CheckSerials([]string{"x", "C02XK1ZZJGH5", "c02xk1zzjgh5"})},
		&engine.SerialsError{SerialProblems: engine.CheckSerials([]string{"x", "y", "AAAAAAAA", "AAAAAAAA", "aaaaaaaa"})},
	} {
		if w := terraformWords.FindString(err.Error()); w != "" {
			t.Errorf("%T says %q: %s", err, w, err.Error())
		}
	}
}

func TestDeviceGroup_lifecycle(t *testing.T) {
	each(t, func(t *testing.T, kind store.Kind) {
		e := newEnv(t, kind, applesim.Options{})
		e.sim.ResetStats()
		ctx := context.Background()
		g, err := e.eng.CreateDeviceGroup(ctx, engine.DeviceGroupInput{Name: "Kiosks", Description: "lobby iPads",
			SerialNumbers: []string{"dmpxk1zzab12", " C02XK1ZZJGH5"}})
		if err != nil || g.ID == "" || !slices.Equal(g.SerialNumbers, []string{"C02XK1ZZJGH5", "DMPXK1ZZAB12"}) {
			t.Fatalf("CreateDeviceGroup = %+v, %v", g, err)
		}
		if got, err := e.eng.GetDeviceGroup(ctx, g.ID); err != nil || !equalGroups(got, g) {
			t.Fatalf("GetDeviceGroup = %+v, %v; want %+v", got, err, g)
		}

		// One device leaves, two join; the description goes.
		in := engine.DeviceGroupInput{Name: "Lobby kiosks", SerialNumbers: []string{"F9FXK1ZZJGH5", "DMPXK1ZZAB12", "H4TXK1ZZ"}}
		u, _, err := e.eng.UpdateDeviceGroup(ctx, g.ID, in)
		want := engine.DeviceGroup{ID: g.ID, Name: "Lobby kiosks", SerialNumbers: []string{"DMPXK1ZZAB12", "F9FXK1ZZJGH5", "H4TXK1ZZ"}}
		if err != nil || !equalGroups(u, want) {
			t.Fatalf("UpdateDeviceGroup = %+v, %v; want %+v", u, err, want)
		}
		if got, err := e.eng.GetDeviceGroup(ctx, g.ID); err != nil || !equalGroups(got, want) {
			t.Fatalf("after the update GetDeviceGroup = %+v, %v; want %+v", got, err, want)
		}

		// Bad serial numbers change nothing.
		in.SerialNumbers = []string{"DMPXK1ZZAB12", "dmpxk1zzab12"}
		if _, _, err := e.eng.UpdateDeviceGroup(ctx, g.ID, in); !errors.As(err, new(*engine.SerialsError)) {
			t.Fatalf("UpdateDeviceGroup with a repeated device = %v; want a SerialsError", err)
		}
		if _, err := e.eng.CreateDeviceGroup(ctx, engine.DeviceGroupInput{Name: "Bad", SerialNumbers: []string{"short"}}); !errors.As(err, new(*engine.SerialsError)) {
			t.Fatalf("CreateDeviceGroup with a bad serial number = %v; want a SerialsError", err)
		}
		if got, _ := e.eng.GetDeviceGroup(ctx, g.ID); !equalGroups(got, want) {
			t.Fatalf("a refused update changed the group: %+v", got)
		}

		if _, err := e.eng.DeleteDeviceGroup(ctx, g.ID); err != nil {
			t.Fatal(err)
		}
		var nf *engine.NotFoundError
		if _, err := e.eng.GetDeviceGroup(ctx, g.ID); !errors.As(err, &nf) || nf.Kind != engine.KindDeviceGroup || nf.ID != g.ID {
			t.Fatalf("GetDeviceGroup after delete = %v; want a NotFoundError of the device group", err)
		}
		if _, err := e.eng.DeleteDeviceGroup(ctx, g.ID); !errors.Is(err, engine.ErrNotFound) {
			t.Fatalf("DeleteDeviceGroup twice = %v; want ErrNotFound", err)
		}
		if n := e.sim.Stats().TotalRequests; n != 0 {
			t.Errorf("the device group sent %d requests to Apple, want none", n)
		}
	})
}

// The state is the device group's truth: an empty database gets the group back under the same id,
// a stale one is brought up to date, and a record that matches is left alone.
func TestDeviceGroup_restoredFromState(t *testing.T) {
	each(t, func(t *testing.T, kind store.Kind) {
		e := newEnv(t, kind, applesim.Options{})
		ctx := context.Background()
		in := engine.DeviceGroupInput{Name: "Carts", SerialNumbers: []string{"DMPXK1ZZAB12", "C02XK1ZZJGH5"}}
		g, err := e.eng.CreateDeviceGroup(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if _, restored, err := e.eng.RestoreDeviceGroup(ctx, g.ID, in); err != nil || restored {
			t.Fatalf("RestoreDeviceGroup of a record that matches: restored %t, %v; want false", restored, err)
		}

		e.dbURL = storetest.URL(t, kind) // another runner: the same state, an empty database
		b := e.open()
		state := engine.DeviceGroupInput{Name: "Carts", SerialNumbers: []string{"c02xk1zzjgh5", "dmpxk1zzab12"}} // another spelling
		got, restored, err := b.RestoreDeviceGroup(ctx, g.ID, state)
		if err != nil || !restored || !equalGroups(got, g) {
			t.Fatalf("RestoreDeviceGroup on an empty database = %+v, restored %t, %v; want %+v restored", got, restored, err, g)
		}
		if read, err := b.GetDeviceGroup(ctx, g.ID); err != nil || !equalGroups(read, g) {
			t.Fatalf("the rebuilt record = %+v, %v; want %+v", read, err, g)
		}
		if _, restored, err := b.RestoreDeviceGroup(ctx, g.ID, state); err != nil || restored {
			t.Fatalf("RestoreDeviceGroup again: restored %t, %v; want false", restored, err)
		}

		// A's database is older than the state B applied since (other devices, then another
		// description): A's next read brings it up to date.
		var want engine.DeviceGroup
		for _, newer := range []engine.DeviceGroupInput{
			{Name: "Carts", SerialNumbers: []string{"C02XK1ZZJGH5", "H4TXK1ZZ"}},
			{Name: "Carts", Description: "room 4", SerialNumbers: []string{"C02XK1ZZJGH5", "H4TXK1ZZ"}},
		} {
			if _, _, err := b.UpdateDeviceGroup(ctx, g.ID, newer); err != nil {
				t.Fatal(err)
			}
			got, restored, err = e.eng.RestoreDeviceGroup(ctx, g.ID, newer)
			want = engine.DeviceGroup{ID: g.ID, Name: newer.Name, Description: newer.Description, SerialNumbers: newer.SerialNumbers}
			if err != nil || !restored || !equalGroups(got, want) {
				t.Fatalf("RestoreDeviceGroup on a stale database = %+v, restored %t, %v; want %+v restored", got, restored, err, want)
			}
			if read, _ := e.eng.GetDeviceGroup(ctx, g.ID); !equalGroups(read, want) {
				t.Fatalf("the stale record after the restore = %+v; want %+v", read, want)
			}
		}

		// An update of a group the database lacks records it anew under the same id.
		e.dbURL = storetest.URL(t, kind)
		c := e.open()
		in = engine.DeviceGroupInput{Name: want.Name, Description: want.Description, SerialNumbers: want.SerialNumbers}
		if got, _, err := c.UpdateDeviceGroup(ctx, g.ID, in); err != nil || !equalGroups(got, want) {
			t.Fatalf("UpdateDeviceGroup on an empty database = %+v, %v", got, err)
		}
		if read, err := c.GetDeviceGroup(ctx, g.ID); err != nil || !equalGroups(read, want) {
			t.Fatalf("the record an update made = %+v, %v; want %+v", read, err, want)
		}
	})
}

// Ten thousand devices: created, restored and changed by one device, each in well under a second
// or two.
func TestDeviceGroup_tenThousandSerials(t *testing.T) {
	each(t, func(t *testing.T, kind store.Kind) {
		e := newEnv(t, kind, applesim.Options{})
		ctx := context.Background()
		all := serials(10_001)
		in := engine.DeviceGroupInput{Name: "District iPads", SerialNumbers: all[:10_000]}
		start := time.Now()
		g, err := e.eng.CreateDeviceGroup(ctx, in)
		if err != nil || len(g.SerialNumbers) != 10_000 {
			t.Fatalf("CreateDeviceGroup: %d serial numbers, %v", len(g.SerialNumbers), err)
		}
		if _, restored, err := e.eng.RestoreDeviceGroup(ctx, g.ID, in); err != nil || restored {
			t.Fatalf("RestoreDeviceGroup: restored %t, %v", restored, err)
		}
		in.SerialNumbers = all[1:]
		if g, _, err = e.eng.UpdateDeviceGroup(ctx, g.ID, in); err != nil || g.SerialNumbers[9_999] != all[10_000] {
			t.Fatalf("UpdateDeviceGroup: %v", err)
		}
		if took := time.Since(start); took > 10*time.Second {
			t.Errorf("create, restore and update of 10,000 devices took %v", took)
		}
	})
}

func equalGroups(a, b engine.DeviceGroup) bool {
	return a.ID == b.ID && a.Name == b.Name && a.Description == b.Description && slices.Equal(a.SerialNumbers, b.SerialNumbers)
}
