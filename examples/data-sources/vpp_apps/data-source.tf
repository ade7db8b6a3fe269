# iPad and iPhone apps the library can license to shared devices (by serial number, with no Apple
# Account), with at least 30 licenses left. A license makes the app the device's to install; the
# device management system installs it.
data "vpp_apps" "for_shared_ipads" {
  token_id          = vpp_token.library.id
  platform          = "iOS"
  device_assignable = true
  min_available     = 30
}

# Apps only users can hold (licensed to their Apple Accounts), on every token.
data "vpp_apps" "user_only" {
  device_assignable = false
}

# Every Mac app whose name mentions "pro" (any case).
data "vpp_apps" "mac_pro_apps" {
  platform = "macOS"
  name     = "pro"
}

output "shared_ipad_apps" {
  value = {
    for a in data.vpp_apps.for_shared_ipads.apps : a.bundle_id => "${a.available_licenses} of ${a.total_licenses} available"
  }
}
