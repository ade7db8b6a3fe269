variable "vpp_token_file" {
  type        = string
  sensitive   = true
  description = "Contents of the .vpptoken file downloaded from Apple Business Manager."

  validation {
    condition     = can(provider::vpp::parse_token(var.vpp_token_file))
    error_message = "This is not a .vpptoken file: download it again from Apple Business Manager (Settings > Payments and Billing > Content Tokens)."
  }
}

# Fail the plan a month before the token expires, without contacting Apple.
check "token_not_expiring" {
  assert {
    condition     = timecmp(provider::vpp::parse_token(var.vpp_token_file).expires_at, timeadd(plantimestamp(), "720h")) > 0
    error_message = "The VPP token for ${provider::vpp::parse_token(var.vpp_token_file).organization_name} expires within 30 days: download a new one and bump token_wo_version."
  }
}
