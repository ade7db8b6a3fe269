# Quickstart: the whole job in sandbox mode, with no Apple account. `make demo` applies it.
#
# springfield.vpptoken is a sandbox token file: the sandbox recognises its inner token and creates
# the "Springfield Public Library" location, stocked with sample books. A real token file comes
# from Apple Business Manager or Apple School Manager (Settings > Payments and Billing > Content
# Tokens); with one, drop `sandbox = true`.

terraform {
  required_version = ">= 1.11" # token_wo is a write-only argument
  required_providers {
    vpp = {
      source = "vppkit/vpp"
    }
  }
}

provider "vpp" {
  sandbox = true
}

# Upload the token. token_wo keeps the file out of the state; bump token_wo_version to renew.
resource "vpp_token" "library" {
  token_wo         = file("${path.module}/springfield.vpptoken")
  token_wo_version = 1
  apple_id         = "books-admin@springfield.example"
  account_type     = "business"
  display_name     = "Springfield Public Library"
}

# What the library bought, before anything is assigned.
data "vpp_books" "before" {
  token_id = vpp_token.library.id
}

# The data source reads Apple's counts at every plan, so after the first apply it shows the licenses
# already spent. terraform_data keeps the counts as the first apply read them, before the
# assignments (which depend on it): the output stays put and a second run has nothing to do.
resource "terraform_data" "licenses_before" {
  input = { for b in data.vpp_books.before.books : b.title => b.available_licenses if contains(["Pride and Prejudice", "The Elements of Style"], b.title) }

  lifecycle {
    ignore_changes = [input]
  }
}

data "vpp_book" "style" {
  token_id = vpp_token.library.id
  title    = "The Elements of Style"
}

data "vpp_book" "pride" {
  token_id = vpp_token.library.id
  title    = "Pride and Prejudice"
}

# Staff use Managed Apple Accounts: associated at once, no invitation.
resource "vpp_user_group" "staff" {
  name                   = "Library staff"
  managed_apple_accounts = true
  members                = ["ada@springfield.example", "bo@springfield.example"]
}

# Book club members use their own Apple Accounts and get an invitation.
resource "vpp_user_group" "book_club" {
  name        = "Book club"
  description = "Monthly reading circle"
  members     = ["carol@example.com", "dave@example.com", "erin@example.com"]
}

# Available: a member gets a license once associated (staff are, at once).
resource "vpp_ebook_assignment" "staff_style" {
  book_id    = data.vpp_book.style.id
  group_id   = vpp_user_group.staff.id
  intent     = "available"
  depends_on = [terraform_data.licenses_before]
}

# Required: every member gets a license now, invited or not.
resource "vpp_ebook_assignment" "club_pride" {
  book_id    = data.vpp_book.pride.id
  group_id   = vpp_user_group.book_club.id
  intent     = "required"
  depends_on = [terraform_data.licenses_before]
}

# Apps are licensed like books. Required: each staff member gets a Pages license now, which makes
# Pages theirs to install from the App Store; putting it on their devices is the device management
# system's job. Pages is revocable: removing a member (or this assignment) takes the license back
# and returns it to the pool, and the plan says so first.
data "vpp_app" "pages" {
  token_id  = vpp_token.library.id
  bundle_id = "com.apple.Pages"
}

resource "vpp_app_assignment" "staff_pages" {
  app_id     = data.vpp_app.pages.id
  group_id   = vpp_user_group.staff.id
  intent     = "required"
  depends_on = [terraform_data.licenses_before]
}

# Device licensing: Keynote on the library's iPad cart, licensed to each iPad by its serial number,
# with no Apple Account and no invitation (both intents license at once). Only apps Apple marks
# device_assignable can go to devices. Take an iPad off the cart (drop its serial number from
# var.cart_ipads) and the next plan warns that its license will be reclaimed; the apply gives it back
# to Keynote's available licenses. Installing the app on the iPads is the device management
# system's job.
variable "cart_ipads" {
  description = "Serial numbers of the iPads on the library's cart."
  type        = list(string)
  default     = ["DMPQK1ZZJGH5", "DMPQK2ZZJGH6", "DMPQK3ZZJGH7"]
}

data "vpp_app" "keynote" {
  token_id  = vpp_token.library.id
  bundle_id = "com.apple.Keynote"
}

resource "vpp_device_group" "ipad_cart" {
  name           = "iPad cart"
  serial_numbers = var.cart_ipads
}

resource "vpp_app_assignment" "cart_keynote" {
  app_id          = data.vpp_app.keynote.id
  device_group_id = vpp_device_group.ipad_cart.id
  intent          = "required"
}

# Keynote's counts after the apply: a data source that depends on resources with changes is read
# during the apply, after them; otherwise at the plan.
data "vpp_app" "keynote_after" {
  token_id   = vpp_token.library.id
  bundle_id  = "com.apple.Keynote"
  depends_on = [vpp_app_assignment.cart_keynote, vpp_device_group.ipad_cart]
}

# The book club as the engine holds it after the assignments created its members' VPP users: the
# group resource was created before that, so its invitations fill in at the next refresh.
data "vpp_user_group" "book_club" {
  id         = vpp_user_group.book_club.id
  depends_on = [vpp_ebook_assignment.club_pride]
}

# The same catalog, read after the assignments.
data "vpp_books" "after" {
  token_id   = vpp_token.library.id
  depends_on = [vpp_ebook_assignment.staff_style, vpp_ebook_assignment.club_pride]
}

output "token" {
  value = {
    location   = vpp_token.library.location_name
    state      = vpp_token.library.state
    expires_at = vpp_token.library.expires_at
    books      = vpp_token.library.book_count
  }
}

output "licenses_available_before" {
  value = terraform_data.licenses_before.output
}

output "licenses_available_after" {
  value = { for b in data.vpp_books.after.books : b.title => b.available_licenses if contains(["Pride and Prejudice", "The Elements of Style"], b.title) }
}

output "deliveries" {
  value = {
    for name, a in {
      staff_style  = vpp_ebook_assignment.staff_style
      club_pride   = vpp_ebook_assignment.club_pride
      staff_pages  = vpp_app_assignment.staff_pages
      cart_keynote = vpp_app_assignment.cart_keynote
      } : name => {
      licensed = a.licensed_count
      pending  = a.pending_count
      status   = a.delivery_status
    }
  }
}

output "keynote_licenses" {
  value = {
    total     = data.vpp_app.keynote_after.total_licenses
    available = data.vpp_app.keynote_after.available_licenses
  }
}

# Invitation URLs are sensitive: whoever opens one takes that person's licenses. Read them with
# `terraform output -json book_club_invitations` and send each to its member.
output "book_club_invitations" {
  value     = data.vpp_user_group.book_club.invitations
  sensitive = true
}
