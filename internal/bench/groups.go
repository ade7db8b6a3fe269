package bench

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/vppkit/terraform-provider-vpp/internal/applesim"
)

// GroupShape is the configuration of scenario 6 (issue 13): one vpp_token, one vpp_user_group of
// Members invited members (not Managed Apple Accounts) and one required vpp_ebook_assignment of
// the location's one book to it. The members come from a variable (members = var.members, set in
// a generated members.auto.tfvars.json) or, with Roster, from a CSV file (users.csv) that only the
// provider reads.
type GroupShape struct {
	Members int
	Roster  bool
}

// Files the configurations read, beside main.tf.
const (
	membersFile = "members.auto.tfvars.json"
	rosterFile  = "users.csv"
)

// RosterMissing is how `terraform validate` words a schema without the roster argument.
const RosterMissing = `An argument named "roster" is not expected here`

// groupBook is the adamId of the location's one book.
const groupBook = 1000000001

// Books is the location's catalog: one book with a license for every member and for the one the
// run adds, so that the plan's shortage check passes with no license to spare.
func (s GroupShape) Books() []applesim.BookSpec { return Books(groupBook, 1, s.Members+1) }

// Config is the configuration against the Apple service at appleURL (the bench's simulator on
// loopback, strict and rate-limited like Apple).
func (s GroupShape) Config(appleURL string) string {
	members := `members                = var.members`
	variable := `
variable "members" {
  type = list(string)
}
`
	if s.Roster {
		members, variable = fmt.Sprintf(`roster                 = { file = "${path.module}/%s", column = "email" }`, rosterFile), ""
	}
	return appleConfig(appleURL) + fmt.Sprintf(`%s
resource "vpp_user_group" "g" {
  name                   = "district"
  managed_apple_accounts = false
  %s
}

resource "vpp_ebook_assignment" "a" {
  book_id  = "${vpp_token.t.id}:%d:STDQ"
  group_id = vpp_user_group.g.id
  intent   = "required"
}
`, variable, members, groupBook)
}

// FloorConfig is the same graph of terraform_data resources, the roster held as a list from the
// same variable: what Terraform itself takes for the configuration.
func (s GroupShape) FloorConfig() string {
	return fmt.Sprintf(`variable "token" {
  type      = string
  sensitive = true
}

variable "members" {
  type = list(string)
}

resource "terraform_data" "t" {
  input = { token = sha256(var.token), apple_id = "books-admin@example.com", account_type = "business", display_name = "Benchmark" }
}

resource "terraform_data" "g" {
  input = { name = "district", managed_apple_accounts = false, members = var.members }
}

resource "terraform_data" "a" {
  input = { book_id = "${terraform_data.t.id}:%d:STDQ", group_id = terraform_data.g.id, intent = "required" }
}
`, groupBook)
}

// WriteMembers writes the roster of the workspace dir, Member(0) … Member(n-1): as the members
// variable (Config of a members shape, and FloorConfig), or as the rows of the CSV file for a
// roster shape.
func (s GroupShape) WriteMembers(dir string, n int) error {
	if s.Roster {
		return writeRoster(filepath.Join(dir, rosterFile), n)
	}
	raw, err := json.Marshal(map[string][]string{"members": Members(n)})
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, membersFile), raw, 0o600)
}

// writeRoster writes a OneRoster-like users.csv: a header row, then one row per member with its
// sourcedId, email and role.
func writeRoster(path string, n int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	buf := bufio.NewWriter(f)
	w := csv.NewWriter(buf)
	_ = w.Write([]string{"sourcedId", "email", "role"})
	for i := range n {
		_ = w.Write([]string{fmt.Sprintf("u%06d", i), Member(i), "student"})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		_ = f.Close()
		return err
	}
	if err := buf.Flush(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// StateSizeMB is the size of a workspace's state file (terraform.tfstate, the local backend).
func StateSizeMB(dir string) (float64, error) {
	st, err := os.Stat(filepath.Join(dir, "terraform.tfstate"))
	if err != nil {
		return 0, err
	}
	return float64(st.Size()) / (1 << 20), nil
}

// HasRosterAttribute reports whether the provider's vpp_user_group accepts a roster, from the
// output of `terraform validate` of a roster configuration: false when the CLI says the argument is
// not expected, an error when it refuses the configuration for another reason.
func HasRosterAttribute(validateErr error) (bool, error) {
	switch {
	case validateErr == nil:
		return true, nil
	case strings.Contains(validateErr.Error(), RosterMissing):
		return false, nil
	default:
		return false, validateErr
	}
}
