#!/usr/bin/env bash
# Prints KEY=VALUE lines for running the acceptance tests with the real CLI, for use as
# `env $(scripts/acceptance-env.sh) go test ...`. With VPP_TEST_CLI=tofu it prefers OpenTofu.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

if [ "${VPP_TEST_CLI:-}" = "tofu" ]; then
  cli=$("$root/scripts/terraform-cli.sh" --tofu)
else
  cli=$("$root/scripts/terraform-cli.sh")
fi

# The provider is attached in-process, so the tests need no CLI configuration; an empty one keeps
# a user's overrides, or a TF_CLI_CONFIG_FILE naming a missing file, out of them.
mkdir -p "$root/.tools"
: > "$root/.tools/test.tfrc"

echo "TF_ACC=1"
echo "TF_ACC_TERRAFORM_PATH=$cli"
echo "TF_CLI_CONFIG_FILE=$root/.tools/test.tfrc"
# OpenTofu resolves the implied provider of `provider "vpp"` to registry.opentofu.org/hashicorp/vpp
# and rejects the legacy "-" namespace terraform-plugin-testing reattaches under by default.
if "$cli" version 2>/dev/null | grep '^OpenTofu' >/dev/null; then  # not grep -q: under pipefail, tofu's SIGPIPE would fail the test
  echo "TF_ACC_PROVIDER_HOST=registry.opentofu.org"
  echo "TF_ACC_PROVIDER_NAMESPACE=hashicorp"
fi
