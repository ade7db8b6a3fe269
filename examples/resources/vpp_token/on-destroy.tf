# Decommissioning a location: take its app licenses back at Apple when the token is destroyed.
# Destroy reads on_destroy from the state, so apply this change first, then destroy (or remove
# the resource from the configuration and apply again). Setting it sends nothing to Apple.
resource "vpp_token" "branch" {
  token_wo         = file("${path.module}/sToken_for_Branch.vpptoken")
  token_wo_version = 1
  apple_id         = "vpp-admin@example.com"
  account_type     = "business"

  # "keep_licenses" (the default) leaves every license with its user.
  on_destroy = "release_app_licenses"
}
