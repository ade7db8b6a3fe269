# One app by its bundle identifier. token_id picks the location when several tokens bought it.
data "vpp_app" "pages" {
  bundle_id = "com.apple.Pages"
  token_id  = vpp_token.library.id
}

# Or by its exact name, as Apple spells it, or by its App Store id.
data "vpp_app" "keynote" {
  name = "Keynote"
}

data "vpp_app" "garageband" {
  adam_id = "1600000003"
}

output "pages" {
  value = {
    version           = data.vpp_app.pages.version
    available         = data.vpp_app.pages.available_licenses
    device_assignable = data.vpp_app.pages.device_assignable
  }
}
