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

# Device licensing: the app is licensed to each device of a vpp_device_group by its serial number,
# with no Apple Account and no invitation, so both intents license every device at once. Only apps
# whose device_assignable is true can go to devices; the plan fails for the others. A device
# removed from the group gives its license back (the plan warns how many); installing the app on
# the devices is the device management system's job.
resource "vpp_device_group" "lobby_kiosks" {
  name           = "Lobby kiosks"
  serial_numbers = ["DMPXK1ZZJGH5", "DMPXK2ZZJGH6", "F9FXK3ZZJGH7"]
}

resource "vpp_app_assignment" "kiosk_pages" {
  app_id          = data.vpp_app.pages.id
  device_group_id = vpp_device_group.lobby_kiosks.id
  intent          = "required"
}
