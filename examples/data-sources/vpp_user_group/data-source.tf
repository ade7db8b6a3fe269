# Invitation links exist once an assignment has created the members' VPP users. Reading the group
# after its assignments outputs them in the same apply.
data "vpp_user_group" "book_club" {
  id         = vpp_user_group.book_club.id
  depends_on = [vpp_ebook_assignment.club_pride]
}

# The URLs are sensitive: whoever opens one takes that person's licenses.
output "invitations" {
  value     = data.vpp_user_group.book_club.invitations
  sensitive = true
}

# For a large group (a roster file of a whole district), read only the invitations of the people
# you are about to write to, rather than copying every pending invitation into the state.
variable "new_students" {
  type    = list(string)
  default = ["new.kid@district.example.org"]
}

data "vpp_user_group" "district_new" {
  id              = vpp_user_group.district.id
  invitations_for = var.new_students
  depends_on      = [vpp_ebook_assignment.district_atlas]
}
