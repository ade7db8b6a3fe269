package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/vppkit/terraform-provider-vpp/internal/apple"
	"github.com/vppkit/terraform-provider-vpp/internal/applesim"
	"github.com/vppkit/terraform-provider-vpp/internal/engine"
)

// Op is the operation a scenario measures: what one `terraform apply` (or refresh) asks of the
// engine. It is serialised to a child process, which opens a fresh engine on DB and runs it.
type Op struct {
	Kind    string // OpCreateAssignment, OpDeleteAssignment, OpUpdateGroup, OpSync, OpRecord
	DB      string
	Apple   string // the API's base URL
	TokenID string
	BookID  string
	GroupID string
	Members int  // OpUpdateGroup: the group's new members are Member(0) … Member(Members-1)
	Full    bool // OpSync
	// Devices (OpCreateAssignment): BookID names an app and GroupID a device group.
	Devices bool
	// AssignmentID is the assignment OpDeleteAssignment removes.
	AssignmentID string
	// Unthrottled makes the engine's client ignore the announced rate (the store scenario).
	Unthrottled bool
}

// Operations.
const (
	OpCreateAssignment = "create_assignment" // a required assignment of BookID to GroupID
	OpDeleteAssignment = "delete_assignment" // the removal of AssignmentID, reclaiming its licenses
	OpUpdateGroup      = "update_group"      // the group gets its members
	OpSync             = "sync"              // a full or incremental sync of the token
	OpRecord           = "record"            // Deliver with nothing due: the states recomputed
)

// OpResult is what the operation reports.
type OpResult struct {
	Seconds  float64 // wall time of the operation alone (not opening the engine)
	Licensed int     // licensed members of the assignment, for a delivery
	// Assignment is the ID of the assignment OpCreateAssignment created.
	Assignment string
	// Reclaimed counts the licenses OpDeleteAssignment took back at Apple.
	Reclaimed int
	Error     string
	// PeakRSSMB is the process's peak resident set as the kernel reports it at the end of the
	// child (VmHWM); 0 when unknown.
	PeakRSSMB float64
}

// Member is the email of the i-th member of a benchmark group.
func Member(i int) string { return fmt.Sprintf("member%06d@example.com", i) }

// Members returns Member(0) … Member(n-1).
func Members(n int) []string { return numbered(n, Member) }

// numbered returns name(0) … name(n-1).
func numbered(n int, name func(int) string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = name(i)
	}
	return out
}

// OpenEngine opens an engine on db that talks to the simulator at appleURL. tune adjusts its Apple
// client (nil: the client follows the announced maxRequestPerSecond, as in production).
func OpenEngine(ctx context.Context, db, appleURL string, tune func(*apple.Config)) (*engine.Engine, error) {
	return engine.Open(ctx, engine.Config{
		Database:     db,
		AppleBaseURL: appleURL,
		HTTPClient:   httpClient(),
		Version:      "bench",
		TuneClient:   tune,
	})
}

// Run opens a fresh engine and runs the operation, timing the operation alone.
func (op Op) Run(ctx context.Context) OpResult {
	var tune func(*apple.Config)
	if op.Unthrottled {
		tune = unthrottledClient
	}
	e, err := OpenEngine(ctx, op.DB, op.Apple, tune)
	if err != nil {
		return OpResult{Error: err.Error()}
	}
	defer e.Close()
	start := time.Now()
	var res OpResult
	switch op.Kind {
	case OpCreateAssignment:
		var a engine.Assignment
		a, err = e.CreateAssignment(ctx, op.assignmentInput())
		res.Licensed, res.Assignment = a.Licensed, a.ID
	case OpDeleteAssignment:
		var rep engine.RemoveReport
		rep, err = e.DeleteAssignment(ctx, op.AssignmentID)
		res.Reclaimed = rep.LicensesReclaimed
	case OpUpdateGroup:
		_, _, err = e.UpdateGroup(ctx, op.GroupID, engine.GroupInput{Name: "Readers", Members: Members(op.Members)})
	case OpSync:
		_, err = e.SyncToken(ctx, op.TokenID, op.Full)
	case OpRecord:
		err = e.Deliver(ctx, op.TokenID)
	default:
		err = fmt.Errorf("unknown operation %q", op.Kind)
	}
	res.Seconds = time.Since(start).Seconds()
	if err != nil {
		res.Error = err.Error()
	}
	return res
}

// assignmentInput is the required assignment OpCreateAssignment creates: of a book to a group, or
// of an app to a device group.
func (op Op) assignmentInput() engine.AssignmentInput {
	in := engine.AssignmentInput{BookID: op.BookID, GroupID: op.GroupID, Intent: engine.IntentRequired}
	if op.Devices {
		in.Kind, in.Devices = engine.KindApp, true
	}
	return in
}

// Encode and DecodeOp carry an Op to a child process.
func (op Op) Encode() string {
	b, _ := json.Marshal(op)
	return string(b)
}

// DecodeOp reads an Op written by Encode.
func DecodeOp(s string) (Op, error) {
	var op Op
	err := json.Unmarshal([]byte(s), &op)
	return op, err
}

// Prepared is a scenario set up in a database: the operation to measure and its floor.
type Prepared struct {
	Op    Op
	Floor Floor
}

// setupEngine opens an engine for setting a scenario up: Apple's rate limit is lifted meanwhile.
func setupEngine(ctx context.Context, a *Apple, db string) (*engine.Engine, error) {
	a.Unthrottled()
	return OpenEngine(ctx, db, a.URL(), unthrottledClient)
}

// setupLocation creates a location of specs (and apps) at the simulator and opens an engine
// (Apple's rate limit lifted) with its token uploaded. The caller closes the engine, then calls
// a.Throttled.
func setupLocation(ctx context.Context, a *Apple, db, name string, specs []applesim.BookSpec, apps ...applesim.AppSpec) (*engine.Engine, engine.Token, error) {
	_, file, err := a.Location(name, specs, apps...)
	if err != nil {
		return nil, engine.Token{}, err
	}
	e, err := setupEngine(ctx, a, db)
	if err != nil {
		a.Throttled()
		return nil, engine.Token{}, err
	}
	tok, err := e.AddToken(ctx, engine.TokenInput{Contents: file, AccountType: engine.AccountBusiness, DisplayName: "Bench"})
	if err != nil {
		_ = e.Close()
		a.Throttled()
		return nil, engine.Token{}, fmt.Errorf("uploading the token: %w", err)
	}
	return e, tok, nil
}

// PrepareDelivery sets up scenario 1 (books == 1) or 2 in db: a location whose books each hold a
// license per member, the token uploaded, and a group of invited members with no VPP user yet.
// With one book the group is full and the operation creates the required assignment. With several,
// the assignments exist on an empty group and the operation fills the group, so that one delivery
// carries every book (as when members join a group that has many books assigned).
func PrepareDelivery(ctx context.Context, a *Apple, db string, members, books int) (Prepared, error) {
	e, tok, err := setupLocation(ctx, a, db, "Delivery", Books(1000000001, books, members))
	if err != nil {
		return Prepared{}, err
	}
	defer a.Throttled()
	defer e.Close()
	lim := apple.DefaultLimits()
	p := Prepared{Floor: DeliveryFloor(members, books, a.PageSize, lim)}
	op := Op{DB: db, Apple: a.URL(), TokenID: tok.ID}
	if books == 1 {
		g, err := e.CreateGroup(ctx, engine.GroupInput{Name: "Readers", Members: Members(members)})
		if err != nil {
			return Prepared{}, err
		}
		op.Kind, op.GroupID, op.BookID = OpCreateAssignment, g.ID, engine.BookID(tok.ID, "1000000001", engine.PricingStandard)
	} else {
		g, err := e.CreateGroup(ctx, engine.GroupInput{Name: "Readers"})
		if err != nil {
			return Prepared{}, err
		}
		for i := range books {
			in := engine.AssignmentInput{BookID: engine.BookID(tok.ID, fmt.Sprint(1000000001+i), engine.PricingStandard), GroupID: g.ID, Intent: engine.IntentRequired}
			if _, err := e.CreateAssignment(ctx, in); err != nil {
				return Prepared{}, err
			}
		}
		op.Kind, op.GroupID, op.Members = OpUpdateGroup, g.ID, members
	}
	p.Op = op
	return p, nil
}

// PrepareSync sets up scenario 3 in db: a location with books books and users VPP users of the
// engine, each holding the first perUser books (perUser × users assignments), all synced.
// The operation is a full sync; Incremental turns it into the incremental one.
func PrepareSync(ctx context.Context, a *Apple, db string, books, users, perUser int) (Prepared, error) {
	specs := Books(1000000001, books, 10)
	for i := range min(perUser, books) {
		specs[i].Licenses = users
	}
	e, tok, err := setupLocation(ctx, a, db, "Sync", specs)
	if err != nil {
		return Prepared{}, err
	}
	defer a.Throttled()
	defer e.Close()
	g, err := e.CreateGroup(ctx, engine.GroupInput{Name: "Everyone", Members: Members(users)})
	if err != nil {
		return Prepared{}, err
	}
	for i := range min(perUser, books) {
		in := engine.AssignmentInput{BookID: engine.BookID(tok.ID, fmt.Sprint(1000000001+i), engine.PricingStandard), GroupID: g.ID, Intent: engine.IntentRequired}
		a, err := e.CreateAssignment(ctx, in)
		if err != nil {
			return Prepared{}, err
		}
		if a.Licensed != users {
			return Prepared{}, fmt.Errorf("seeding: %d of %d users licensed", a.Licensed, users)
		}
	}
	if _, err := e.SyncToken(ctx, tok.ID, true); err != nil {
		return Prepared{}, err
	}
	return Prepared{
		Op:    Op{Kind: OpSync, DB: db, Apple: a.URL(), TokenID: tok.ID, Full: true},
		Floor: FullSyncFloor(books, users, users*min(perUser, books), a.PageSize),
	}, nil
}

// Incremental returns the incremental sync of a prepared sync scenario.
func (p Prepared) Incremental() Prepared {
	p.Op.Full = false
	p.Floor = IncrementalSyncFloor()
	return p
}

// Check verifies an operation's outcome beyond its error: a delivery licensed every member, a
// removal reclaimed every license.
func (p Prepared) Check(r OpResult, members int) error {
	switch {
	case r.Error != "":
		return errors.New(r.Error)
	case p.Op.Kind == OpCreateAssignment && r.Licensed != members:
		return fmt.Errorf("%d of %d members licensed", r.Licensed, members)
	case p.Op.Kind == OpDeleteAssignment && r.Reclaimed != members:
		return fmt.Errorf("%d of %d licenses reclaimed", r.Reclaimed, members)
	}
	return nil
}
