# Everything the engine did at Apple for the library's location, oldest first.
data "vpp_audit_log" "library" {
  token_id = vpp_token.library.id
}

# The license deliveries of May 2026 (since is inclusive, until exclusive).
data "vpp_audit_log" "may_deliveries" {
  token_id   = vpp_token.library.id
  operations = ["associate"]
  since      = "2026-05-01T00:00:00Z"
  until      = "2026-06-01T00:00:00Z"
}

output "licenses_delivered_in_may" {
  value = sum(concat([0], [for e in data.vpp_audit_log.may_deliveries.entries : e.count if e.outcome == "complete"]))
}

# Requests Apple has not finished, or whose outcome the engine could not learn: worth a look.
check "deliveries_settled" {
  assert {
    condition = alltrue([
      for e in data.vpp_audit_log.library.entries : e.outcome == null || e.outcome == "complete"
    ])
    error_message = "Some requests to Apple are pending, failed or unknown: see data.vpp_audit_log.library.entries."
  }
}
