package engine

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// rosterFile writes a CSV roster of n members (the emails spelt as given by spell) and returns its
// path.
func rosterFile(t *testing.T, name string, n int, spell func(i int) string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("sourcedId,email,mail\n")
	for i := range n {
		fmt.Fprintf(&b, "u%d,%s,other%d@example.org\n", i, spell(i), i)
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// A roster file read again with the same bytes and settings is the roster read before, not checked
// again: whatever its path, and without sharing the members returned. Other bytes, or other
// settings, are read anew.
func TestReadRoster_readAgain(t *testing.T) {
	spell := func(i int) string { return fmt.Sprintf("Member%05d@School.example.org", i) }
	path := rosterFile(t, "users.csv", 1500, spell)
	src := RosterSource{Path: path}
	first, err := ReadRoster(src)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := rosters.find(rosterKey{src.settings(), first.SHA256}); !ok {
		t.Fatal("the roster read is not kept")
	}
	first.Members[0] = "changed@example.org"
	copyPath := rosterFile(t, "copy.csv", 1500, spell)
	again, err := ReadRoster(RosterSource{Path: copyPath, Format: RosterFormatCSV, Column: " EMAIL "})
	if err != nil {
		t.Fatal(err)
	}
	if again.SHA256 != first.SHA256 || again.Members[0] != "member00000@school.example.org" || len(again.Members) != 1500 || again.Rows != 1500 {
		t.Errorf("read again: %d members from %d rows, first %q, SHA-256 %s; want the roster read before",
			len(again.Members), again.Rows, again.Members[0], again.SHA256)
	}
	other, err := ReadRoster(RosterSource{Path: copyPath, Column: "mail"})
	if err != nil || other.Members[0] != "other0@example.org" {
		t.Errorf("the same bytes read from another column: %v, %v; want that column's emails", other.Members[:1], err)
	}
	var missing *RosterColumnError
	if _, err := ReadRoster(RosterSource{Path: copyPath, Column: "e-mail"}); !errors.As(err, &missing) {
		t.Errorf("the same bytes read from a column they lack: %v; want a *RosterColumnError", err)
	}
	changed := rosterFile(t, "changed.csv", 1500, func(i int) string {
		if i == 7 {
			return "Member00007@School.example.net" // the same size, one byte apart
		}
		return spell(i)
	})
	r, err := ReadRoster(RosterSource{Path: changed})
	if err != nil || !slices.Contains(r.Members, "member00007@school.example.net") || r.SHA256 == first.SHA256 {
		t.Errorf("a file one byte apart read as %v (%v)", r.SHA256, err)
	}
}

// A long member list given again is not checked member by member again, whoever gave it first
// (NormalizeMembers or ReadRoster); the list returned is the caller's own; a list that differs
// from one remembered, by a single member, is checked.
func TestNormalizeMembers_remembers(t *testing.T) {
	in := make([]string, 1200)
	for i := range in {
		in[i] = fmt.Sprintf(" Reader%05d@Library.example.org", len(in)-i)
	}
	out, err := NormalizeMembers(in)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := normalizedLists.find(in); !ok {
		t.Fatal("the list is not remembered")
	}
	out[0] = "tampered@example.org"
	again, err := NormalizeMembers(slices.Clone(in))
	if err != nil || again[0] != "reader00001@library.example.org" || !slices.IsSorted(again) {
		t.Errorf("given again: %v… (%v); want the normalised list", again[:2], err)
	}
	bad := slices.Clone(in)
	bad[600] = "not an email"
	if _, err := NormalizeMembers(bad); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("a list one bad member apart: %v; want it refused", err)
	}
	roster, err := ReadRoster(RosterSource{Path: rosterFile(t, "users.csv", 1100, func(i int) string { return fmt.Sprintf("s%05d@example.org", i) })})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := normalizedLists.find(roster.Members); !ok {
		t.Error("a roster's members are not remembered as normalised")
	}
}
