data "vpp_book" "style" {
  token_id = vpp_token.library.id
  title    = "The Elements of Style"
}

resource "vpp_user_group" "book_club" {
  name    = "Book club"
  members = ["carol@example.com", "dave@example.com", "erin@example.com"]
}

# Required: every member gets a license now, invitation accepted or not. The plan fails before
# anything is sent if the book has fewer available licenses than the group needs.
resource "vpp_ebook_assignment" "book_club_style" {
  book_id  = data.vpp_book.style.id
  group_id = vpp_user_group.book_club.id
  intent   = "required"
}

data "vpp_book" "handbook" {
  token_id = vpp_token.library.id
  adam_id  = "1000000001"
}

resource "vpp_user_group" "staff" {
  name                   = "Library staff"
  managed_apple_accounts = true
  members                = ["ada@corp.example.com", "bo@corp.example.com"]
}

# Available: a member gets a license once associated (Managed Apple Accounts are, at once). When
# licenses may run short, license members in email order until they run out, and deliver the
# rest on a later apply after buying more.
resource "vpp_ebook_assignment" "staff_handbook" {
  book_id                = data.vpp_book.handbook.id
  group_id               = vpp_user_group.staff.id
  intent                 = "available"
  allow_oversubscription = true

  timeouts = {
    create = "1h" # delivering to a large group takes time at Apple's rate limit
  }
}

output "staff_handbook_delivery" {
  value = {
    licensed   = vpp_ebook_assignment.staff_handbook.licensed_count
    pending    = vpp_ebook_assignment.staff_handbook.pending_count
    unlicensed = vpp_ebook_assignment.staff_handbook.unlicensed_count
    status     = vpp_ebook_assignment.staff_handbook.delivery_status
  }
}
