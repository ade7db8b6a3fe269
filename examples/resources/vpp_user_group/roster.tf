# A whole district from the roster file its student information system exports (here a OneRoster
# users.csv, as schools produce for Apple School Manager). Only the file's SHA-256 and counts go
# through Terraform; the plan shows how many students join and leave, naming the first few:
#
#   ~ roster = {
#       ~ changes = "no change" -> "2 added (ana@district.example.org, ben@district.example.org), 1 removed (cy@district.example.org)"
#       ~ sha256  = "9f2c…" -> "41ab…"
#     }
resource "vpp_user_group" "district" {
  name                   = "District students"
  managed_apple_accounts = true
  roster = {
    file   = "${path.module}/users.csv"
    format = "oneroster"
    roles  = ["student"]
  }
}

# A plain CSV export works too: name the column that holds the emails.
resource "vpp_user_group" "grade_9" {
  name = "Grade 9"
  roster = {
    file   = "${path.module}/grade9.csv"
    column = "Student Email"
  }
}

# Up to a few thousand people, csvdecode() into members is fine as well (every email then goes
# through Terraform's values: see the guide on large groups for the sizes).
resource "vpp_user_group" "teachers" {
  name    = "Teachers"
  members = [for row in csvdecode(file("${path.module}/teachers.csv")) : row.email]
}
