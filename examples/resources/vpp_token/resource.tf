# The location token downloaded from Apple Business Manager (Preferences > Payments and Billing >
# Content Tokens). With token_wo (Terraform >= 1.11) the file never reaches the plan or the state.
resource "vpp_token" "library" {
  token_wo         = file("${path.module}/sToken_for_Library.vpptoken")
  token_wo_version = 1 # bump it after replacing the file with a renewed token: renews in place
  apple_id         = "vpp-admin@example.com"
  account_type     = "business"
  display_name     = "Main library"

  # Change to sync books and license counts now, e.g. after buying licenses,
  # instead of waiting for the provider's sync_interval (12h by default).
  sync_trigger = "2026-06-01 purchase"
}

# Fail the run a month before the token expires, even when nothing else changes.
check "library_token_fresh" {
  assert {
    condition     = vpp_token.library.days_until_expiry > 30
    error_message = "The library's VPP token expires on ${vpp_token.library.expires_at}: download a new one and bump token_wo_version."
  }
}

# On Terraform < 1.11, pass the file in token instead (sensitive, but stored in the state).
resource "vpp_token" "school" {
  token        = file("${path.module}/sToken_for_School.vpptoken")
  apple_id     = "it@school.example.edu"
  account_type = "education"
}
