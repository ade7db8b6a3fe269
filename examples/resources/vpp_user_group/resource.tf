# People who use their own Apple Accounts: each gets an invitation URL (see `invitations`) once a
# book is assigned to the group, and `available` books reach them after they accept.
variable "book_club_emails" {
  description = "Apple Account emails of the book club."
  type        = list(string)
  default     = ["carol@example.com", "dave@example.com", "erin@example.com"]
}

resource "vpp_user_group" "book_club" {
  name        = "Book club"
  description = "Monthly reading circle"
  members     = var.book_club_emails
}

# Send each member their invitation (for example from a mail module). The URLs are sensitive:
# whoever opens one takes that person's licenses.
output "book_club_invitations" {
  value     = vpp_user_group.book_club.invitations
  sensitive = true
}

# Staff with Managed Apple Accounts (created in Apple Business Manager or Apple School Manager):
# associated at once, no invitation.
resource "vpp_user_group" "staff" {
  name                   = "Library staff"
  managed_apple_accounts = true
  members                = ["ada@corp.example.com", "bo@corp.example.com"]
}

# Members fed from an Entra ID group with the azuread provider. Flatten nested groups and keep one
# owner per membership: let this resource own it rather than also managing the same people
# elsewhere.
#
# data "azuread_group" "teachers" {
#   display_name               = "Teachers"
#   include_transitive_members = true
# }
#
# data "azuread_users" "teachers" {
#   object_ids     = data.azuread_group.teachers.members
#   ignore_missing = true # members may include devices or service principals
# }
#
# resource "vpp_user_group" "teachers" {
#   name                   = "Teachers"
#   managed_apple_accounts = true
#   members                = data.azuread_users.teachers.user_principal_names
# }
