package engine

import (
	"bufio"
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Roster files: a group's members read from a file a school already has, a CSV export of a student
// information system or a OneRoster 1.1 users.csv, so that a roster of 100,000 people travels as
// the file's SHA-256 and a few counts instead of 100,000 strings. ReadRoster reads and checks one;
// DiffMembers describes how a group's members change.

// Roster formats, in RosterSource.Format.
const (
	// RosterFormatCSV is a CSV file with a header row: one row per person, the email in Column.
	RosterFormatCSV = "csv"
	// RosterFormatOneRoster is a OneRoster 1.1 users.csv: rows with status "tobedeleted" or
	// enabledUser "false" are skipped, and Roles keeps only the rows of those roles.
	RosterFormatOneRoster = "oneroster"
	// DefaultRosterColumn is the column that holds the emails when RosterSource.Column is empty.
	DefaultRosterColumn = "email"
	// RosterProblemsKept is how many problems a RosterError holds (the first, by line); its Total
	// counts them all.
	RosterProblemsKept = 100
	// MembershipChangeShown is how many added and removed members a MembershipChange names.
	MembershipChangeShown = 3
)

// The columns of a OneRoster users.csv that ReadRoster reads besides the emails.
const (
	oneRosterStatus  = "status"
	oneRosterEnabled = "enabledUser"
	oneRosterRole    = "role"
)

var oneRosterRoles = []string{"administrator", "aide", "guardian", "parent", "proctor", "relative", "student", "teacher"}

// OneRosterRoles are the values of a OneRoster 1.1 user's role, the roles RosterSource.Roles may name.
func OneRosterRoles() []string { return slices.Clone(oneRosterRoles) }

// RosterSource names a roster file and how to read it.
type RosterSource struct {
	// Path is the file's path.
	Path string
	// Format is RosterFormatCSV (the default, when empty) or RosterFormatOneRoster.
	Format string
	// Column is the header of the column holding the emails, matched case-insensitively and
	// without surrounding space; DefaultRosterColumn when empty.
	Column string
	// Roles, for a OneRoster file only, keeps the rows whose role is one of these (compared
	// case-insensitively); empty keeps every role. A OneRoster file without a status or
	// enabledUser column skips no row by it.
	Roles []string
}

// RosterSettingError: a RosterSource that no file could satisfy. Field is the RosterSource field
// at fault ("Path", "Format" or "Roles").
type RosterSettingError struct {
	Field  string
	Reason string
}

func (e *RosterSettingError) Error() string { return e.Reason }

func (e *RosterSettingError) Is(target error) bool { return target == ErrInvalidInput }

// Check reports what is wrong with the source before any file is read: no path, an unknown
// format, a role filter on a plain CSV file, or a role that OneRoster does not have.
func (s RosterSource) Check() error {
	bad := func(field, format string, args ...any) error {
		return &RosterSettingError{Field: field, Reason: fmt.Sprintf(format, args...)}
	}
	if strings.TrimSpace(s.Path) == "" {
		return bad("Path", "no roster file is named")
	}
	switch s.format() {
	case RosterFormatCSV:
		if len(s.Roles) > 0 {
			return bad("Roles", "roster format %q has no roles: a role filter applies to a OneRoster users.csv (format %q)", RosterFormatCSV, RosterFormatOneRoster)
		}
	case RosterFormatOneRoster:
		for _, r := range s.Roles {
			if !slices.Contains(oneRosterRoles, roleKey(r)) {
				return bad("Roles", "%s is not a OneRoster role; the roles are %s", QuoteInput(r), strings.Join(oneRosterRoles, ", "))
			}
		}
	default:
		return bad("Format", "unknown roster format %s; the formats are %q and %q", QuoteInput(s.Format), RosterFormatCSV, RosterFormatOneRoster)
	}
	return nil
}

func (s RosterSource) format() string {
	if s.Format == "" {
		return RosterFormatCSV
	}
	return s.Format
}

func (s RosterSource) column() string {
	if c := strings.TrimSpace(s.Column); c != "" {
		return c
	}
	return DefaultRosterColumn
}

func roleKey(r string) string { return strings.ToLower(strings.TrimSpace(r)) }

// Roster is the content of a roster file that ReadRoster accepted.
type Roster struct {
	// Members are the emails, normalised (NormalizeEmail) and sorted, each once.
	Members []string
	// SHA256 is the hex SHA-256 of the file's bytes.
	SHA256 string
	// Rows is how many data rows the file has (the header not counted).
	Rows int
	// Skipped is how many of them the format's rules left out (OneRoster: inactive, or of
	// another role).
	Skipped int
}

// RosterFileError: the roster file could not be opened or read. Err is the system's error, so
// errors.Is(err, fs.ErrNotExist) tells a missing file.
type RosterFileError struct {
	Path string
	Err  error
}

func (e *RosterFileError) Error() string {
	cause := e.Err
	var pe *fs.PathError
	if errors.As(cause, &pe) {
		cause = pe.Err // the path is named already
	}
	return fmt.Sprintf("roster file %s cannot be read: %v", QuoteInput(e.Path), cause)
}

func (e *RosterFileError) Is(target error) bool { return target == ErrInvalidInput }

func (e *RosterFileError) Unwrap() error { return e.Err }

// RosterColumnError: the header of the roster file has no column of that name (Header: the
// header's columns), or has several (Positions: their 1-based positions).
type RosterColumnError struct {
	Path      string
	Column    string
	Header    []string
	Positions []int
}

// rosterColumnsShown is how many of a header's columns a RosterColumnError names.
const rosterColumnsShown = 30

func (e *RosterColumnError) Error() string {
	file := "roster file " + QuoteInput(e.Path)
	if len(e.Positions) > 1 {
		pos := make([]string, len(e.Positions))
		for i, p := range e.Positions {
			pos[i] = strconv.Itoa(p)
		}
		return fmt.Sprintf("%s has %d columns named %s in its header (columns %s), so which holds the emails is ambiguous",
			file, len(e.Positions), QuoteInput(e.Column), strings.Join(pos, ", "))
	}
	names := make([]string, 0, rosterColumnsShown)
	for _, h := range e.Header[:min(len(e.Header), rosterColumnsShown)] {
		names = append(names, QuoteInput(h))
	}
	if len(e.Header) > rosterColumnsShown {
		names = append(names, fmt.Sprintf("and %d more", len(e.Header)-rosterColumnsShown))
	}
	return fmt.Sprintf("%s has no column %s in its header (first row); its columns are %s", file, QuoteInput(e.Column), strings.Join(names, ", "))
}

func (e *RosterColumnError) Is(target error) bool { return target == ErrInvalidInput }

// RosterError: the roster file has bad rows, or none. Problems are the first RosterProblemsKept
// problems by line; Total counts them all.
type RosterError struct {
	Path     string
	Problems []RosterProblem
	Total    int
}

// RosterProblem is one thing wrong in a roster file: at Line (1-based; 0 for the whole file),
// with the cell's text as Value ("" when the problem is not one cell), and Problem saying what is
// wrong.
type RosterProblem struct {
	Line    int
	Value   string
	Problem string
}

func (p RosterProblem) String() string {
	if p.Line == 0 {
		return p.Problem
	}
	return fmt.Sprintf("line %d: %s", p.Line, p.Problem)
}

func (e *RosterError) Error() string {
	shown := e.Problems[:min(len(e.Problems), ProblemsShown)]
	parts := make([]string, 0, len(shown)+1)
	for _, p := range shown {
		parts = append(parts, p.String())
	}
	if rest := e.Total - len(shown); rest > 0 {
		parts = append(parts, "and "+thousands(rest)+" more")
	}
	return fmt.Sprintf("roster file %s has %s: %s", QuoteInput(e.Path), counted(e.Total, "problem"), strings.Join(parts, "; "))
}

func (e *RosterError) Is(target error) bool { return target == ErrInvalidInput }

// ReadRoster reads and checks a roster file, reading it once. It returns the members only when
// every row is good: otherwise a *RosterError with every bad row by line number (or a
// *RosterColumnError, *RosterFileError, *RosterSettingError), and no members. A file whose bytes
// and settings are those of a roster read lately in this process is not checked again (see
// rosters).
func ReadRoster(src RosterSource) (Roster, error) {
	if err := src.Check(); err != nil {
		return Roster{}, err
	}
	data, err := os.ReadFile(src.Path)
	if err != nil {
		return Roster{}, &RosterFileError{Path: src.Path, Err: err}
	}
	sum := sha256.Sum256(data)
	key := rosterKey{settings: src.settings(), sha256: hex.EncodeToString(sum[:])}
	if r, ok := rosters.find(key); ok {
		return r, nil
	}
	s := newRosterScan(src, bytes.NewReader(data))
	if err := s.readHeader(); err != nil {
		return Roster{}, err
	}
	if err := s.readRows(); err != nil {
		return Roster{}, &RosterFileError{Path: src.Path, Err: err}
	}
	members := s.members()
	if s.problems.total > 0 {
		return Roster{}, &RosterError{Path: src.Path, Problems: s.problems.kept, Total: s.problems.total}
	}
	r := Roster{Members: members, SHA256: key.sha256, Rows: s.rows, Skipped: s.inactive + s.otherRole}
	rosters.remember(key, r)
	normalizedLists.remember(members, members)
	return r, nil
}

// settings is what of the source, besides the file's bytes, decides the roster read from it.
func (s RosterSource) settings() string {
	roles := make([]string, len(s.Roles))
	for i, r := range s.Roles {
		roles[i] = roleKey(r)
	}
	return s.format() + "\x00" + strings.ToLower(s.column()) + "\x00" + strings.Join(roles, "\x00")
}

// rosters keeps the rosters ReadRoster read last: a plan reads its roster file at refresh and
// again to plan it, an apply to plan it again and to apply it, in one process each. The same bytes
// read with the same settings are the same roster, so the file is read whole and its SHA-256
// compared, and only a new file is checked row by row.
var rosters rosterCache

// rosterKey identifies a roster by the settings it was read with and the SHA-256 of the file's
// bytes.
type rosterKey struct{ settings, sha256 string }

// rosterCache keeps the last rosters read. It is safe for concurrent use.
type rosterCache struct {
	mu   sync.Mutex
	kept [2]struct {
		key    rosterKey
		roster Roster
	}
	next int
}

// find returns the roster read with key (its members a copy), when it is kept.
func (c *rosterCache) find(key rosterKey) (Roster, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, k := range c.kept {
		if k.key == key {
			r := k.roster
			r.Members = slices.Clone(r.Members)
			return r, true
		}
	}
	return Roster{}, false
}

// remember keeps the roster read with key (a copy of its members), in place of the oldest kept.
func (c *rosterCache) remember(key rosterKey, r Roster) {
	r.Members = slices.Clone(r.Members)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.kept[c.next].key, c.kept[c.next].roster = key, r
	c.next = (c.next + 1) % len(c.kept)
}

// rosterScan is one reading of a roster file.
type rosterScan struct {
	src   RosterSource
	csv   *csv.Reader
	roles []string
	// The columns read, by index; -1 when absent.
	email, status, enabled, role int
	fields                       int
	entries                      []rosterEntry
	problems                     rosterProblems
	rows, inactive, otherRole    int
}

// rosterEntry is one member as read: its email (normalised) and the line of its cell.
type rosterEntry struct {
	key string
	// spelling is the cell as written, without surrounding space (key when the same).
	spelling string
	line     int
}

var utf8BOM = []byte("\ufeff")

func newRosterScan(src RosterSource, r io.Reader) *rosterScan {
	br := bufio.NewReader(r)
	if b, err := br.Peek(len(utf8BOM)); err == nil && bytes.Equal(b, utf8BOM) {
		_, _ = br.Discard(len(utf8BOM))
	}
	cr := csv.NewReader(br)
	cr.ReuseRecord = true
	s := &rosterScan{src: src, csv: cr, email: -1, status: -1, enabled: -1, role: -1}
	for _, r := range src.Roles {
		s.roles = append(s.roles, roleKey(r))
	}
	return s
}

// readHeader reads the first row and finds the columns in it.
func (s *rosterScan) readHeader() error {
	header, err := s.csv.Read()
	var pe *csv.ParseError
	switch {
	case err == io.EOF:
		return s.fileProblem(0, "is empty: it has no header row naming its columns")
	case errors.As(err, &pe):
		return s.fileProblem(pe.StartLine, "the header row cannot be read: it "+parseProblem(pe, 0, 0))
	case err != nil:
		return &RosterFileError{Path: s.src.Path, Err: err}
	}
	s.fields = len(header)
	columns := []wantedColumn{{&s.email, s.src.column(), true}}
	if s.src.format() == RosterFormatOneRoster {
		columns = append(columns, wantedColumn{&s.status, oneRosterStatus, false},
			wantedColumn{&s.enabled, oneRosterEnabled, false}, wantedColumn{&s.role, oneRosterRole, len(s.roles) > 0})
	}
	for _, c := range columns {
		if *c.at, err = s.column(header, c.name, c.required); err != nil {
			return err
		}
	}
	return nil
}

// wantedColumn is a column to find in the header, and where to keep its index.
type wantedColumn struct {
	at       *int
	name     string
	required bool
}

// column finds the column called name in the header, or -1 when there is none and it is not
// required.
func (s *rosterScan) column(header []string, name string, required bool) (int, error) {
	var at []int
	for i, h := range header {
		if strings.EqualFold(strings.TrimSpace(h), name) {
			at = append(at, i)
		}
	}
	switch {
	case len(at) == 1:
		return at[0], nil
	case len(at) == 0 && !required:
		return -1, nil
	}
	for i := range at {
		at[i]++
	}
	return -1, &RosterColumnError{Path: s.src.Path, Column: name, Header: slices.Clone(header), Positions: at}
}

// fileProblem is the error of a file that cannot be read past its header.
func (s *rosterScan) fileProblem(line int, problem string) error {
	return &RosterError{Path: s.src.Path, Problems: []RosterProblem{{Line: line, Problem: problem}}, Total: 1}
}

// readRows reads every data row. It returns an error only when the file cannot be read; bad rows
// are problems.
func (s *rosterScan) readRows() error {
	for {
		record, err := s.csv.Read()
		switch {
		case err == io.EOF:
			s.checkKept()
			return nil
		case err != nil:
			if err := s.readBadRow(record, err); err != nil {
				return err
			}
		default:
			s.rows++
			s.readRow(record)
		}
	}
}

// readBadRow counts a row that encoding/csv could not read as a problem; it returns the error
// when it is not the row's but the file's.
func (s *rosterScan) readBadRow(record []string, err error) error {
	var pe *csv.ParseError
	if !errors.As(err, &pe) {
		return err
	}
	s.rows++
	s.problems.add(RosterProblem{Line: pe.StartLine, Problem: parseProblem(pe, len(record), s.fields)})
	return nil
}

// checkKept adds a problem when the file has no data rows, or keeps none of them.
func (s *rosterScan) checkKept() {
	switch s.rows {
	case 0:
		s.problems.add(RosterProblem{Problem: "has a header row but no data rows"})
	case s.inactive + s.otherRole:
		s.problems.add(RosterProblem{Problem: s.noneKept()})
	}
}

// parseProblem says what is wrong with a row that encoding/csv could not read, a row that starts
// on pe.StartLine.
func parseProblem(pe *csv.ParseError, fields, want int) string {
	at := fmt.Sprintf("column %d", pe.Column)
	if pe.Line != pe.StartLine {
		at = fmt.Sprintf("line %d, column %d", pe.Line, pe.Column)
	}
	switch pe.Err {
	case csv.ErrFieldCount:
		return fmt.Sprintf("has %s where the header has %d", counted(fields, "field"), want)
	case csv.ErrBareQuote:
		return fmt.Sprintf(`has a " in a field that is not quoted (at %s); a field with a " must be quoted whole, with the " doubled`, at)
	case csv.ErrQuote:
		return fmt.Sprintf(`has a quoted field whose closing " is missing or followed by more text (at %s)`, at)
	}
	return fmt.Sprintf("cannot be read (at %s): %v", at, pe.Err)
}

func (s *rosterScan) noneKept() string {
	var why []string
	if s.inactive > 0 {
		why = append(why, fmt.Sprintf(`%s with status "tobedeleted" or enabledUser "false"`, thousands(s.inactive)))
	}
	if s.otherRole > 0 {
		why = append(why, fmt.Sprintf("%s of a role other than %s", thousands(s.otherRole), strings.Join(s.roles, ", ")))
	}
	return fmt.Sprintf("keeps none of its %s data rows (%s)", thousands(s.rows), strings.Join(why, "; "))
}

// readRow reads one data row with the header's number of fields.
func (s *rosterScan) readRow(record []string) {
	switch {
	case s.isInactive(record):
		s.inactive++
		return
	case s.role >= 0 && len(s.roles) > 0 && !slices.Contains(s.roles, roleKey(record[s.role])):
		s.otherRole++
		return
	}
	line, _ := s.csv.FieldPos(s.email)
	cell := record[s.email]
	key, err := NormalizeEmail(cell)
	if err != nil {
		s.problems.addf(line, cell, func() string { return badEmail(cell, err) })
		return
	}
	// Keep copies, not parts of the row's text (which holds every field): the key is a part of it
	// when it is spelt as written, and a new string otherwise.
	spelling := strings.TrimSpace(cell)
	if spelling == key {
		key = strings.Clone(key)
		spelling = key
	} else {
		spelling = strings.Clone(spelling)
	}
	s.entries = append(s.entries, rosterEntry{key: key, spelling: spelling, line: line})
}

// isInactive: a OneRoster row with status "tobedeleted" or enabledUser "false".
func (s *rosterScan) isInactive(record []string) bool {
	return s.status >= 0 && strings.EqualFold(strings.TrimSpace(record[s.status]), "tobedeleted") ||
		s.enabled >= 0 && strings.EqualFold(strings.TrimSpace(record[s.enabled]), "false")
}

func badEmail(cell string, err error) string {
	if EmailKey(cell) == "" {
		return "empty email"
	}
	var ee *EmailError
	if errors.As(err, &ee) {
		return fmt.Sprintf("%s is not an email address (it %s)", ee.Quoted(), ee.Reason)
	}
	return err.Error()
}

// members sorts the members read, adds a problem for each that repeats an earlier line, and
// returns them, each once.
func (s *rosterScan) members() []string {
	slices.SortFunc(s.entries, func(a, b rosterEntry) int {
		return cmp.Or(strings.Compare(a.key, b.key), cmp.Compare(a.line, b.line))
	})
	members := make([]string, 0, len(s.entries))
	var repeats []RosterProblem
	for i, e := range s.entries {
		if i > 0 && s.entries[i-1].key == e.key {
			repeats = append(repeats, repeatProblem(s.entries[i-1], e))
			s.entries[i].spelling, s.entries[i].line = s.entries[i-1].spelling, s.entries[i-1].line // name the first line
			continue
		}
		members = append(members, e.key)
	}
	s.problems.merge(repeats)
	return members
}

func repeatProblem(first, again rosterEntry) RosterProblem {
	note := ""
	if first.spelling != again.spelling {
		note = "; emails are case-insensitive"
	}
	return RosterProblem{Line: again.line, Value: again.spelling, Problem: fmt.Sprintf("repeats line %d (%s%s)", first.line, first.key, note)}
}

// rosterProblems keeps the first RosterProblemsKept problems by line, and counts them all.
type rosterProblems struct {
	kept  []RosterProblem
	total int
}

// add records a problem found in line order.
func (p *rosterProblems) add(problem RosterProblem) {
	p.addf(problem.Line, problem.Value, func() string { return problem.Problem })
}

// addf records a problem found in line order, writing its text only when it is kept.
func (p *rosterProblems) addf(line int, value string, problem func() string) {
	p.total++
	if len(p.kept) < RosterProblemsKept {
		p.kept = append(p.kept, RosterProblem{Line: line, Value: value, Problem: problem()})
	}
}

// merge records problems found out of line order.
func (p *rosterProblems) merge(more []RosterProblem) {
	p.total += len(more)
	p.kept = append(p.kept, more...)
	slices.SortStableFunc(p.kept, func(a, b RosterProblem) int { return cmp.Compare(a.Line, b.Line) })
	p.kept = slices.Clip(p.kept[:min(len(p.kept), RosterProblemsKept)])
}

// MembershipChange describes how a group's members change: how many are added and removed, and
// the first MembershipChangeShown of each in sorted order.
type MembershipChange struct {
	Added, Removed           int
	FirstAdded, FirstRemoved []string
}

// DiffMembers compares two member lists, each normalised (NormalizeEmail), sorted and without
// repeats, as a Roster's Members are, in one pass over both.
func DiffMembers(before, after []string) MembershipChange {
	added, removed := diffSorted(before, after)
	return MembershipChange{Added: len(added), Removed: len(removed),
		FirstAdded: firstFew(added), FirstRemoved: firstFew(removed)}
}

// firstFew returns the first MembershipChangeShown of list (a copy), or nil when it is empty.
func firstFew(list []string) []string {
	if len(list) == 0 {
		return nil
	}
	return slices.Clone(list[:min(len(list), MembershipChangeShown)])
}

// String describes the change, e.g. "3,204 added (a@x.org, b@x.org, c@x.org, …), 1 removed
// (cy@example.com)", or "no change".
func (c MembershipChange) String() string {
	var parts []string
	if c.Added > 0 {
		parts = append(parts, countNamed(c.Added, "added", c.FirstAdded))
	}
	if c.Removed > 0 {
		parts = append(parts, countNamed(c.Removed, "removed", c.FirstRemoved))
	}
	if len(parts) == 0 {
		return "no change"
	}
	return strings.Join(parts, ", ")
}

// countNamed is "n what (first, …)": the count, and the members named, with … for the rest.
func countNamed(n int, what string, first []string) string {
	s := thousands(n) + " " + what
	if len(first) == 0 {
		return s
	}
	names := strings.Join(first, ", ")
	if n > len(first) {
		names += ", …"
	}
	return s + " (" + names + ")"
}

// counted is "1 thing" or "3,204 things".
func counted(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return thousands(n) + " " + thing + "s"
}

// thousands writes n with a comma between each group of three digits: 3,204.
func thousands(n int) string {
	s := strconv.Itoa(n)
	start := 1 // the first digit, or the sign
	if n < 0 {
		start = 2
	}
	for i := len(s) - 3; i >= start; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
