# Embedded default: records in .vpp/engine.db under the working directory, Apple's service.
provider "vpp" {}

# Teams and CI fleets: one engine shared through PostgreSQL, tokens encrypted at rest.
# Pass the key from a secret store (on Terraform >= 1.10 an ephemeral value keeps it out of plans).
variable "vpp_encryption_key" {
  type      = string
  sensitive = true
}

provider "vpp" {
  alias          = "team"
  database       = "postgres://vpp@db.internal:5432/vpp?sslmode=require"
  encryption_key = var.vpp_encryption_key
  sync_interval  = "6h"
}

# No Apple account at hand: a simulated Apple service with sample books (see the quickstart).
provider "vpp" {
  alias   = "sandbox"
  sandbox = true
}
