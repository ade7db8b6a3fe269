# Every token the engine holds, as Intune lists them.
data "vpp_tokens" "all" {}

# Warn (without failing the plan or apply) 30 days before a token expires, and when Apple no
# longer accepts one.
check "vpp_tokens_healthy" {
  assert {
    condition = alltrue([for t in data.vpp_tokens.all.tokens : t.days_until_expiry >= 30])
    error_message = format(
      "VPP tokens expire within 30 days: %s. Download new tokens in Apple Business Manager or Apple School Manager and renew the vpp_token resources.",
      join(", ", [for t in data.vpp_tokens.all.tokens : "${t.location_name} (${t.days_until_expiry} days left)" if t.days_until_expiry < 30])
    )
  }

  assert {
    condition = alltrue([for t in data.vpp_tokens.all.tokens : t.state == "valid"])
    error_message = format(
      "VPP tokens Apple no longer accepts: %s.",
      join(", ", [for t in data.vpp_tokens.all.tokens : "${t.location_name} (${t.state})" if t.state != "valid"])
    )
  }
}

# Only the tokens Apple revoked.
data "vpp_tokens" "revoked" {
  state = "revoked"
}

output "vpp_token_expiry" {
  value = {
    for t in data.vpp_tokens.all.tokens : t.location_name => "${t.state}, expires ${t.expires_at} (${t.days_until_expiry} days left)"
  }
}
