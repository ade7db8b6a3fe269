# Invitation links exist once an assignment has created the members' VPP users. Reading the group
# after its assignments outputs them in the same apply.
data "vpp_user_group" "book_club" {
  id         = vpp_user_group.book_club.id
  depends_on = [vpp_ebook_assignment.club_pride]
}

output "invitations" {
  value = data.vpp_user_group.book_club.invitations
}
