data "vpp_app" "pages" {
  token_id  = vpp_token.library.id
  bundle_id = "com.apple.Pages"
}

resource "vpp_user_group" "staff" {
  name                   = "Library staff"
  managed_apple_accounts = true
  members                = ["ada@corp.example.com", "bo@corp.example.com"]
}

# Required: every member gets a license now. The license makes Pages theirs to install from the
# App Store's purchased list; putting it on their devices is the device management system's job.
# The plan fails before anything is sent if the app has fewer available licenses than the group
# needs.
resource "vpp_app_assignment" "staff_pages" {
  app_id   = data.vpp_app.pages.id
  group_id = vpp_user_group.staff.id
  intent   = "required"
}

data "vpp_app" "library_card" {
  token_id = vpp_token.library.id
  name     = "Springfield Library Card"
}

resource "vpp_user_group" "patrons" {
  name    = "Patrons"
  members = ["carol@example.com", "dave@example.com", "erin@example.com"]
}

# Available: a member gets a license once they accept their invitation, so no license is spent
# on people who never join. Destroying the assignment reclaims the licenses of a revocable app
# (the plan says how many) and returns them to the app's available licenses.
resource "vpp_app_assignment" "patrons_card" {
  app_id                 = data.vpp_app.library_card.id
  group_id               = vpp_user_group.patrons.id
  intent                 = "available"
  allow_oversubscription = true

  timeouts = {
    create = "1h" # delivering to a large group takes time at Apple's rate limit
  }
}

output "patrons_card_delivery" {
  value = {
    licensed = vpp_app_assignment.patrons_card.licensed_count
    pending  = vpp_app_assignment.patrons_card.pending_count
    status   = vpp_app_assignment.patrons_card.delivery_status
  }
}
