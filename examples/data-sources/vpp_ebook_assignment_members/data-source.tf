# Who has not accepted the invitation yet, for one assignment: the people to remind.
data "vpp_ebook_assignment_members" "to_remind" {
  assignment_id = vpp_ebook_assignment.handbook.id
  states        = ["pending"]
}

output "who_still_has_to_accept" {
  value = data.vpp_ebook_assignment_members.to_remind.members[*].email
}

# Everyone the book is assigned to, across all groups, and why those without it wait.
data "vpp_ebook_assignment_members" "handbook" {
  book_id    = data.vpp_book.handbook.id
  depends_on = [vpp_ebook_assignment.handbook, vpp_ebook_assignment.handbook_staff]
}

output "handbook_waiting" {
  value = {
    for m in data.vpp_ebook_assignment_members.handbook.members :
    "${m.email} (${m.group_id})" => m.reason if m.state != "licensed"
  }
}

output "handbook_licensed" {
  value = "${data.vpp_ebook_assignment_members.handbook.licensed_count} of ${length(data.vpp_ebook_assignment_members.handbook.members)} members hold the book"
}
