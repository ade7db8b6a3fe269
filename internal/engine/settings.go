package engine

import (
	"strings"

	"github.com/vppkit/terraform-provider-vpp/internal/apple"
	"github.com/vppkit/terraform-provider-vpp/internal/store"
)

// DefaultAppleBaseURL is Apple's App and Book Management API, the default of Config.AppleBaseURL.
const DefaultAppleBaseURL = apple.DefaultBaseURL

// Database kinds, by DatabaseKind.
const (
	DatabaseSQLite   = string(store.SQLite)
	DatabasePostgres = string(store.Postgres)
)

// DatabaseKind is the backend a database setting selects: DatabaseSQLite or DatabasePostgres.
func DatabaseKind(setting string) string { return string(store.KindOf(setting)) }

// DatabaseSettingError: a database setting Open would refuse. Reason never quotes the setting,
// which may hold a password.
type DatabaseSettingError struct{ Reason string }

func (e *DatabaseSettingError) Error() string { return e.Reason }

func (e *DatabaseSettingError) Is(target error) bool { return target == ErrInvalidInput }

// CheckDatabase reports, without touching any file or server, why Open would refuse setting: it
// is empty, a SQLite path that could not be a file name of its own, or neither a SQLite file path
// nor a postgres:// URL.
func CheckDatabase(setting string) error {
	if err := store.CheckURL(setting); err != nil {
		return &DatabaseSettingError{Reason: strings.TrimPrefix(err.Error(), "store: ")}
	}
	return nil
}

// SQLiteFile is the absolute path of the SQLite file a database setting names, or an error when
// the setting names none (a PostgreSQL URL, or a setting CheckDatabase refuses).
func SQLiteFile(setting string) (string, error) { return store.SQLitePath(setting) }

// TokenFileSecrets are the strings that must never appear in a log when contents is a token file:
// the file as it is read, and as it was given when that differs. None when contents is blank.
func TokenFileSecrets(contents string) []string {
	raw := apple.TrimTokenFile(contents)
	if raw == "" {
		return nil
	}
	out := []string{raw}
	if trimmed := strings.TrimSpace(contents); trimmed != raw {
		out = append(out, trimmed) // the file as given, byte-order mark and all
	}
	return out
}
