package engine_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/vppkit/terraform-provider-vpp/internal/engine"
)

// writeRoster writes content to a new file and returns its path.
func writeRoster(t testing.TB, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "users.csv")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// rosterProblems reads a roster that must be refused with a *RosterError, and returns it.
func rosterProblems(t *testing.T, src engine.RosterSource) *engine.RosterError {
	t.Helper()
	r, err := engine.ReadRoster(src)
	var re *engine.RosterError
	if !errors.As(err, &re) || !errors.Is(err, engine.ErrInvalidInput) {
		t.Fatalf("ReadRoster = %+v, %v; want a *RosterError", r, err)
	}
	if !reflect.DeepEqual(r, engine.Roster{}) {
		t.Errorf("a refused roster returned %+v; want nothing", r)
	}
	return re
}

// Each kind of bad row is refused at its line, every problem in line order, with nothing read.
func TestReadRoster_problems(t *testing.T) {
	type p = engine.RosterProblem
	for _, c := range []struct {
		name, file string
		want       []p
	}{
		{"empty cell", "email,name\n,Ann\n", []p{{Line: 2, Problem: "empty email"}}},
		{"blank cell", "email,name\n   ,Ann\n", []p{{Line: 2, Value: "   ", Problem: "empty email"}}},
		{"invalid email", "email\nann@example.com\nbob@\n", []p{{Line: 3, Value: "bob@", Problem: `"bob@" is not an email address (it has no domain after the @)`}}},
		{"repeat", "email\nann@example.com\nbo@example.com\nann@example.com\n",
			[]p{{Line: 4, Value: "ann@example.com", Problem: "repeats line 2 (ann@example.com)"}}},
		{"repeat in another case", "email\nAnn@Example.com\n ann@example.com \n",
			[]p{{Line: 3, Value: "ann@example.com", Problem: "repeats line 2 (ann@example.com; emails are case-insensitive)"}}},
		{"three times", "email\nann@example.com\nann@example.com\nbo@example.com\nANN@example.com\n", []p{
			{Line: 3, Value: "ann@example.com", Problem: "repeats line 2 (ann@example.com)"},
			{Line: 5, Value: "ANN@example.com", Problem: "repeats line 2 (ann@example.com; emails are case-insensitive)"},
		}},
		{"wrong number of fields", "email,name\na@example.com,Ann\nb@example.com\nc@example.com,C,x\n", []p{
			{Line: 3, Problem: "has 1 field where the header has 2"},
			{Line: 4, Problem: "has 3 fields where the header has 2"},
		}},
		{"multi-line field before the bad row", "email,note\na@example.com,\"one\ntwo\nthree\"\nbob@,x\n",
			[]p{{Line: 5, Value: "bob@", Problem: `"bob@" is not an email address (it has no domain after the @)`}}},
		{"multi-line field before the cell", "note,email\n\"one\ntwo\",bob@\n",
			[]p{{Line: 3, Value: "bob@", Problem: `"bob@" is not an email address (it has no domain after the @)`}}},
		{"byte-order mark", "\ufeffemail\r\nann@example.com\r\nbob@\r\n",
			[]p{{Line: 3, Value: "bob@", Problem: `"bob@" is not an email address (it has no domain after the @)`}}},
		{"bare quote", "email\na\"b@example.com\n",
			[]p{{Line: 2, Problem: `has a " in a field that is not quoted (at column 2); a field with a " must be quoted whole, with the " doubled`}}},
		{"quote never closed", "email\na@example.com\n\"b@example.com\nc@example.com\n",
			[]p{{Line: 3, Problem: `has a quoted field whose closing " is missing or followed by more text (at line 4, column 15)`}}},
		{"no data rows", "email\n", []p{{Problem: "has a header row but no data rows"}}},
		{"empty file", "", []p{{Problem: "is empty: it has no header row naming its columns"}}},
		{"byte-order mark only", "\ufeff", []p{{Problem: "is empty: it has no header row naming its columns"}}},
		{"header unreadable", "\"email\n", []p{{Line: 1, Problem: `the header row cannot be read: it has a quoted field whose closing " is missing or followed by more text (at column 8)`}}},
		{"problems in line order", "email,n\nann@example.com,1\n,2\nann@example.com,3\nbob@,4\nx,5,6\n", []p{
			{Line: 3, Problem: "empty email"},
			{Line: 4, Value: "ann@example.com", Problem: "repeats line 2 (ann@example.com)"},
			{Line: 5, Value: "bob@", Problem: `"bob@" is not an email address (it has no domain after the @)`},
			{Line: 6, Problem: "has 3 fields where the header has 2"},
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			re := rosterProblems(t, engine.RosterSource{Path: writeRoster(t, c.file)})
			if !reflect.DeepEqual(re.Problems, c.want) || re.Total != len(c.want) {
				t.Errorf("problems = %q (total %d)\nwant %q", re.Problems, re.Total, c.want)
			}
		})
	}
}

// The error names the file and its first problems, quotes a long cell only in part, and says how
// many more there are; it keeps the first RosterProblemsKept problems and counts them all.
func TestReadRoster_errorText(t *testing.T) {
	var b strings.Builder
	b.WriteString("email\nbob@\n\"\"\nann@example.com\n")
	fmt.Fprintf(&b, "%s@example.com\n", strings.Repeat("x", 5000))
	for range 146 {
		b.WriteString("ann@example.com\n")
	}
	path := writeRoster(t, b.String())
	re := rosterProblems(t, engine.RosterSource{Path: path})
	if re.Total != 149 || len(re.Problems) != engine.RosterProblemsKept || re.Problems[99].Line != 102 {
		t.Errorf("total %d, kept %d, last kept %+v; want 149, %d, line 102", re.Total, len(re.Problems), re.Problems[len(re.Problems)-1], engine.RosterProblemsKept)
	}
	msg := re.Error()
	for _, want := range []string{
		fmt.Sprintf("roster file %q has 149 problems: ", path),
		`line 2: "bob@" is not an email address (it has no domain after the @); line 3: empty email; line 5: "xxxx`,
		"… (5012 bytes in all) is not an email address (it is 5012 bytes long; an address has at most 254); " +
			"line 6: repeats line 4 (ann@example.com); line 7: repeats line 4 (ann@example.com); and 144 more",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q\ndoes not contain %q", msg, want)
		}
	}
	if len(msg) > 1000 {
		t.Errorf("error is %d bytes long; a long cell must be quoted in part", len(msg))
	}
	path = writeRoster(t, "email\n\n\"\"\n")
	if msg, want := rosterProblems(t, engine.RosterSource{Path: path}).Error(), fmt.Sprintf("roster file %q has 1 problem: line 3: empty email", path); msg != want {
		t.Errorf("error %q; want %q", msg, want)
	}
}

// A roster read: members normalised, sorted and each once; the SHA-256 of the file's bytes (the
// byte-order mark and line ends included); the rows counted.
func TestReadRoster_members(t *testing.T) {
	content := "\ufeffName,  E-Mail \r\nCy,cy@example.com\r\nAnn,\" Ann@Example.COM\"\r\n\"Bo\r\nB\",bo@example.com\r\n"
	r, err := engine.ReadRoster(engine.RosterSource{Path: writeRoster(t, content), Column: " e-mail"})
	sum := sha256.Sum256([]byte(content))
	want := engine.Roster{Members: []string{"ann@example.com", "bo@example.com", "cy@example.com"}, SHA256: hex.EncodeToString(sum[:]), Rows: 3}
	if err != nil || !reflect.DeepEqual(r, want) {
		t.Errorf("ReadRoster = %+v, %v\nwant %+v", r, err, want)
	}
}

const oneRosterHeader = "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName," +
	"familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password\n"

// oneRosterRow is a users.csv row.
func oneRosterRow(id, status, enabled, role, email string) string {
	return fmt.Sprintf("%s,%s,,%s,org1,%s,%s,,Given,Family,,,%s,,,,,\n", id, status, enabled, role, id, email)
}

// A OneRoster users.csv skips the rows to be deleted and the disabled users, without checking
// their emails, and keeps the roles asked for.
func TestReadRoster_oneRoster(t *testing.T) {
	path := writeRoster(t, oneRosterHeader+
		oneRosterRow("s1", "active", "true", "student", "s1@school.org")+
		oneRosterRow("s2", "tobedeleted", "true", "student", "")+
		oneRosterRow("s3", "", "TRUE", "Student", "s3@school.org")+
		oneRosterRow("t1", "active", "false", "teacher", "not an email")+
		oneRosterRow("t2", "active", "true", "teacher", "t2@school.org")+
		oneRosterRow("p1", "ToBeDeleted", "False", "parent", "p1@home.org")+
		oneRosterRow("g1", "active", "true", "guardian", "g1@home.org"))
	for _, c := range []struct {
		roles   []string
		members []string
		skipped int
	}{
		{nil, []string{"g1@home.org", "s1@school.org", "s3@school.org", "t2@school.org"}, 3},
		{[]string{"student"}, []string{"s1@school.org", "s3@school.org"}, 5},
		{[]string{"Teacher ", "student"}, []string{"s1@school.org", "s3@school.org", "t2@school.org"}, 4},
	} {
		r, err := engine.ReadRoster(engine.RosterSource{Path: path, Format: engine.RosterFormatOneRoster, Roles: c.roles})
		if err != nil || !slices.Equal(r.Members, c.members) || r.Rows != 7 || r.Skipped != c.skipped {
			t.Errorf("roles %q: ReadRoster = %+v, %v; want members %q, 7 rows, %d skipped", c.roles, r, err, c.members, c.skipped)
		}
	}
	re := rosterProblems(t, engine.RosterSource{Path: path, Format: engine.RosterFormatOneRoster, Roles: []string{"aide"}})
	want := []engine.RosterProblem{{Problem: `keeps none of its 7 data rows (3 with status "tobedeleted" or enabledUser "false"; 4 of a role other than aide)`}}
	if !reflect.DeepEqual(re.Problems, want) {
		t.Errorf("problems = %q; want %q", re.Problems, want)
	}
}

// A header without the column names the columns it has; a column named twice is ambiguous; a role
// filter needs the role column.
func TestReadRoster_columns(t *testing.T) {
	for _, c := range []struct {
		name, file string
		src        engine.RosterSource
		want       string
	}{
		{"missing", "id,Name,mail\n1,Ann,ann@example.com\n", engine.RosterSource{},
			`has no column "email" in its header (first row); its columns are "id", "Name", "mail"`},
		{"named twice", "Email,name,EMAIL \n", engine.RosterSource{}, `has 2 columns named "email" in its header (columns 1, 3)`},
		{"no role column", "email,status\n", engine.RosterSource{Format: engine.RosterFormatOneRoster, Roles: []string{"student"}},
			`has no column "role" in its header (first row); its columns are "email", "status"`},
		{"OneRoster column named twice", "email,status,Status\n", engine.RosterSource{Format: engine.RosterFormatOneRoster},
			`has 2 columns named "status" in its header (columns 2, 3)`},
		{"custom column missing", "email\n", engine.RosterSource{Column: "mail"}, `has no column "mail"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.src.Path = writeRoster(t, c.file)
			_, err := engine.ReadRoster(c.src)
			var ce *engine.RosterColumnError
			if !errors.As(err, &ce) || !errors.Is(err, engine.ErrInvalidInput) || !strings.Contains(err.Error(), c.want) ||
				!strings.HasPrefix(err.Error(), fmt.Sprintf("roster file %q ", c.src.Path)) {
				t.Errorf("ReadRoster = %v; want a *RosterColumnError saying %q", err, c.want)
			}
		})
	}
}

// A missing or unreadable file is a *RosterFileError that names it and keeps the system's error.
func TestReadRoster_fileErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "absent.csv")
	for path, want := range map[string]error{missing: fs.ErrNotExist, dir: nil} {
		_, err := engine.ReadRoster(engine.RosterSource{Path: path})
		var fe *engine.RosterFileError
		if !errors.As(err, &fe) || fe.Path != path || !errors.Is(err, engine.ErrInvalidInput) ||
			!strings.HasPrefix(err.Error(), fmt.Sprintf("roster file %q cannot be read: ", path)) {
			t.Errorf("ReadRoster(%s) = %v; want a *RosterFileError", path, err)
		}
		if want != nil && (!errors.Is(err, want) || !strings.HasSuffix(err.Error(), ": no such file or directory")) {
			t.Errorf("ReadRoster(%s) = %v; want %v", path, err, want)
		}
	}
}

// Check refuses settings that no file could satisfy, naming the field at fault.
func TestRosterSource_Check(t *testing.T) {
	for _, c := range []struct {
		src          engine.RosterSource
		field, error string
	}{
		{engine.RosterSource{Path: " "}, "Path", "no roster file is named"},
		{engine.RosterSource{Path: "u.csv", Format: "xlsx"}, "Format", `unknown roster format "xlsx"; the formats are "csv" and "oneroster"`},
		{engine.RosterSource{Path: "u.csv", Format: "OneRoster"}, "Format", `unknown roster format "OneRoster"`},
		{engine.RosterSource{Path: "u.csv", Roles: []string{"student"}}, "Roles", `roster format "csv" has no roles: a role filter applies to a OneRoster users.csv (format "oneroster")`},
		{engine.RosterSource{Path: "u.csv", Format: engine.RosterFormatOneRoster, Roles: []string{"student", "pupil"}}, "Roles",
			`"pupil" is not a OneRoster role; the roles are administrator, aide, guardian, parent, proctor, relative, student, teacher`},
	} {
		err := c.src.Check()
		var se *engine.RosterSettingError
		if !errors.As(err, &se) || se.Field != c.field || !strings.HasPrefix(err.Error(), c.error) || !errors.Is(err, engine.ErrInvalidInput) {
			t.Errorf("Check(%+v) = %v; want a *RosterSettingError on %s saying %q", c.src, err, c.field, c.error)
		}
		if _, err := engine.ReadRoster(c.src); !errors.As(err, &se) {
			t.Errorf("ReadRoster(%+v) = %v; want Check's error", c.src, err)
		}
	}
	for _, src := range []engine.RosterSource{
		{Path: "u.csv"},
		{Path: "u.csv", Format: engine.RosterFormatCSV, Column: "mail"},
		{Path: "u.csv", Format: engine.RosterFormatOneRoster, Roles: engine.OneRosterRoles()},
		{Path: "u.csv", Format: engine.RosterFormatOneRoster, Roles: []string{" Student"}},
	} {
		if err := src.Check(); err != nil {
			t.Errorf("Check(%+v) = %v; want nil", src, err)
		}
	}
}

func TestDiffMembers(t *testing.T) {
	many := func(n int) []string {
		m := make([]string, n)
		for i := range m {
			m[i] = fmt.Sprintf("m%05d@example.com", i)
		}
		return m
	}
	for _, c := range []struct {
		name          string
		before, after []string
		want          engine.MembershipChange
		text          string
	}{
		{"both empty", nil, nil, engine.MembershipChange{}, "no change"},
		{"same", []string{"a@x.org", "b@x.org"}, []string{"a@x.org", "b@x.org"}, engine.MembershipChange{}, "no change"},
		{"all added", nil, []string{"ann@example.com", "bo@example.com"},
			engine.MembershipChange{Added: 2, FirstAdded: []string{"ann@example.com", "bo@example.com"}}, "2 added (ann@example.com, bo@example.com)"},
		{"all removed", []string{"cy@example.com"}, nil,
			engine.MembershipChange{Removed: 1, FirstRemoved: []string{"cy@example.com"}}, "1 removed (cy@example.com)"},
		{"both", []string{"b@x.org", "c@x.org", "e@x.org"}, []string{"a@x.org", "c@x.org", "d@x.org", "f@x.org"},
			engine.MembershipChange{Added: 3, Removed: 2, FirstAdded: []string{"a@x.org", "d@x.org", "f@x.org"}, FirstRemoved: []string{"b@x.org", "e@x.org"}},
			"3 added (a@x.org, d@x.org, f@x.org), 2 removed (b@x.org, e@x.org)"},
		{"first three", []string{"z@x.org"}, append(many(3204), "z@x.org"),
			engine.MembershipChange{Added: 3204, FirstAdded: many(3)},
			"3,204 added (m00000@example.com, m00001@example.com, m00002@example.com, …)"},
		{"all replaced", many(4), []string{"a@x.org"},
			engine.MembershipChange{Added: 1, Removed: 4, FirstAdded: []string{"a@x.org"}, FirstRemoved: many(3)},
			"1 added (a@x.org), 4 removed (m00000@example.com, m00001@example.com, m00002@example.com, …)"},
	} {
		got := engine.DiffMembers(c.before, c.after)
		if !reflect.DeepEqual(got, c.want) || got.String() != c.text {
			t.Errorf("%s: DiffMembers = %+v, %q\nwant %+v, %q", c.name, got, got.String(), c.want, c.text)
		}
	}
	for n, want := range map[int]string{0: "no change", 999: "999 removed", 1000: "1,000 removed", 1234567: "1,234,567 removed"} {
		if got := (engine.MembershipChange{Removed: n}).String(); got != want {
			t.Errorf("%d removed: %q; want %q", n, got, want)
		}
	}
}

// Whatever the file holds, ReadRoster does not panic, and a roster it accepts has members that are
// normalised Apple Account emails, sorted and each once, the file's hash, and rows that add up.
func FuzzReadRoster(f *testing.F) {
	f.Add([]byte("email\nann@example.com\nBo@Example.com\n"), false)
	f.Add([]byte("\ufeffname,email\r\n\"A\nB\",a@x.org\r\n"), false)
	f.Add([]byte("email\nann@example.com\nANN@example.com\nbob@\n,\n"), false)
	f.Add([]byte("email,x\na\"b,\"c\n"), false)
	f.Add([]byte(oneRosterHeader+oneRosterRow("s1", "active", "true", "student", "s1@school.org")+
		oneRosterRow("s2", "tobedeleted", "false", "teacher", "x")), true)
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte, oneRoster bool) {
		path := filepath.Join(dir, "users.csv")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		src := engine.RosterSource{Path: path}
		if oneRoster {
			src.Format = engine.RosterFormatOneRoster
		}
		r, err := engine.ReadRoster(src)
		if err != nil {
			var re *engine.RosterError
			var ce *engine.RosterColumnError
			problems := errors.As(err, &re) && len(re.Problems) > 0 && re.Total >= len(re.Problems)
			if !problems && !errors.As(err, &ce) {
				t.Fatalf("ReadRoster = %#v; want a *RosterError with problems or a *RosterColumnError", err)
			}
			_ = err.Error()
			return
		}
		sum := sha256.Sum256(data)
		if r.SHA256 != hex.EncodeToString(sum[:]) || r.Rows != len(r.Members)+r.Skipped || len(r.Members) == 0 {
			t.Fatalf("roster %+v: hash or counts wrong", r)
		}
		for i, m := range r.Members {
			if n, err := engine.NormalizeEmail(m); err != nil || n != m || i > 0 && r.Members[i-1] >= m {
				t.Fatalf("member %d %q is not a normalised email, or not after %q (%v)", i, m, r.Members[max(i-1, 0)], err)
			}
		}
	})
}

// BenchmarkReadRoster100k reads a roster of 100,000 rows of a student information system export.
func BenchmarkReadRoster100k(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("Student ID,First Name,Last Name,Grade,Email\n")
	for i := range 100_000 {
		fmt.Fprintf(&sb, "%d,First%d,\"Last, %d\",%d,Student.%06d@District.example.org\n", 100000+i, i, i, i%12+1, (i*7919)%100_000)
	}
	src := engine.RosterSource{Path: writeRoster(b, sb.String())}
	b.ReportAllocs()
	for b.Loop() {
		r, err := engine.ReadRoster(src)
		if err != nil || len(r.Members) != 100_000 {
			b.Fatalf("ReadRoster: %d members, %v", len(r.Members), err)
		}
	}
}
