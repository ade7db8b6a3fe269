package engine_test

import (
	"errors"
	"io/fs"
	"regexp"
	"testing"
	"time"

	"github.com/vppkit/terraform-provider-vpp/internal/engine"
)

// terraformWords are what the engine must not say: Terraform's resources, attributes and commands
// belong to the provider's diagnostics, which add them to the engine's facts.
var terraformWords = regexp.MustCompile(`(?i)terraform|vpp_[a-z]|\bapply\b|\bplan\b|\bimport\b|data source|` +
	`_id\b|account_type|take_over|allow_oversubscription|managed_apple_accounts|token_wo|sync_trigger|state_detail`)

// The engine's errors carry domain facts only: none of their texts names a Terraform attribute,
// resource or command, whatever their fields hold.
func TestErrorsSpeakNoTerraform(t *testing.T) {
	cause := errors.New("Apple error 9622")
	for _, err := range []error{
		&engine.NotFoundError{Kind: engine.KindGroup, ID: "g1"},
		&engine.NotFoundError{Kind: engine.KindBook, ID: "t:1:STDQ", In: "t"},
		&engine.BookQueryError{AdamID: "1", TokenID: "t", Title: "Go"},
		&engine.BookQueryError{Title: "Go", Matches: []string{"a", "b"}},
		&engine.BookIDError{Input: "x"},
		&engine.AssignmentExistsError{BookID: "b", GroupID: "g", ExistingID: "a", Intent: engine.IntentRequired},
		&engine.AssignmentExistsError{BookID: "b", GroupID: "g"},
		&engine.DuplicateLocationError{LocationName: "HQ", LocationUID: "u", ExistingTokenID: "t"},
		&engine.DuplicateLocationError{LocationName: "HQ", LocationUID: "u"},
		&engine.ExternalMDMError{LocationName: "HQ", MDMName: "Jamf", MDMID: "j"},
		&engine.AccountTypeError{Configured: engine.AccountBusiness, Actual: engine.AccountEducation},
		&engine.LocationChangedError{CurrentName: "HQ", CurrentUID: "u1", NewName: "B", NewUID: "u2"},
		&engine.LocationChangedError{CurrentUID: "u1", NewName: "B", NewUID: "u2"},
		&engine.TokenUnusableError{TokenID: "t", State: engine.StateExpired, Cause: cause},
		&engine.TokenUnusableError{TokenID: "t", State: engine.StateRevoked, Cause: cause},
		&engine.TokenUnusableError{State: engine.StateInvalid, Cause: cause},
		&engine.TokenUnusableError{TokenID: "t", State: engine.StateExpired, ExpiredAt: time.Unix(0, 0)},
		&engine.ShortageError{BookID: "b", BookTitle: "Go", GroupName: "Staff", Needed: 3, Available: 1},
		&engine.ShortageError{Needed: 3, Available: 1, Demand: []engine.GroupDemand{{GroupName: "A"}, {GroupName: "B"}}},
		&engine.ShortageError{Kind: engine.KindApp, BookID: "a", BookTitle: "Pages", GroupName: "Staff", Needed: 3, Available: 1},
		&engine.IncompleteError{AssignmentID: "a", Pending: 1, Reason: "event e"},
		&engine.BusyError{TokenID: "t", Cause: cause},
		&engine.ManagedAccountsSwitchError{GroupName: "Staff", Count: 1, Invited: []string{"a@x.org"}},
		&engine.DatabaseSettingError{Reason: "no database configured"},
		&engine.RosterFileError{Path: "/data/users.csv", Err: fs.ErrNotExist},
		&engine.RosterColumnError{Path: "/data/users.csv", Column: "email", Header: []string{"id", "mail"}},
		&engine.RosterColumnError{Path: "/data/users.csv", Column: "email", Positions: []int{1, 3}},
		&engine.RosterError{Path: "/data/users.csv", Problems: []engine.RosterProblem{{Line: 2, Problem: "empty email"}, {Problem: "has a header row but no data rows"}}, Total: 9},
		(engine.RosterSource{Path: "u.csv", Format: "xlsx"}).Check(),
		(engine.RosterSource{Path: "u.csv", Roles: []string{"student"}}).Check(),
		(engine.RosterSource{Path: "u.csv", Format: engine.RosterFormatOneRoster, Roles: []string{"pupil"}}).Check(),
		(engine.RosterSource{}).Check(),
	} {
		if w := terraformWords.FindString(err.Error()); w != "" {
			t.Errorf("%T says %q: %s", err, w, err.Error())
		}
	}
}

// The typed errors match their sentinels, so callers can choose by kind.
func TestErrorsMatchTheirSentinels(t *testing.T) {
	for err, sentinel := range map[error]error{
		&engine.BookQueryError{}:                       engine.ErrNotFound,
		&engine.BookQueryError{Matches: []string{"a"}}: engine.ErrAmbiguous,
		&engine.BookIDError{}:                          engine.ErrInvalidInput,
		&engine.AssignmentExistsError{}:                engine.ErrInvalidInput,
		&engine.BusyError{}:                            engine.ErrBusy,
		&engine.ManagedAccountsSwitchError{}:           engine.ErrInvalidInput,
		&engine.ShortageError{}:                        engine.ErrNotEnoughLicenses,
		&engine.RosterError{}:                          engine.ErrInvalidInput,
		&engine.RosterColumnError{}:                    engine.ErrInvalidInput,
		&engine.RosterFileError{}:                      engine.ErrInvalidInput,
		&engine.RosterSettingError{}:                   engine.ErrInvalidInput,
	} {
		if !errors.Is(err, sentinel) {
			t.Errorf("%T does not match %v", err, sentinel)
		}
	}
}
