#!/usr/bin/env bash
# make demo: builds the provider, points terraform (or tofu) at the build through a generated CLI
# configuration (nothing is written to your home directory), and applies examples/quickstart in
# sandbox mode on the embedded SQLite default. Run it twice: the second run has nothing to do.
# With --clean it removes the demo's state instead.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
demo="$root/.tools/demo"
work="$root/examples/quickstart"

if [ "${1:-}" = "--clean" ]; then
  rm -rf "$demo" "$work/.vpp" "$work/.terraform" "$work"/terraform.tfstate*
  echo "demo state removed"
  exit 0
fi

cli=$("$root/scripts/terraform-cli.sh")
echo "==> building the provider"
(cd "$root" && go build -o "$demo/plugins/terraform-provider-vpp" .)
mkdir -p "$demo"
cat > "$demo/cli.tfrc" <<CFG
provider_installation {
  dev_overrides {
    "registry.terraform.io/vppkit/vpp"  = "$demo/plugins"
    "registry.opentofu.org/vppkit/vpp" = "$demo/plugins"
  }
  direct {}
}
CFG
# Invitations stay pending unless asked otherwise, so that every later run reports no changes.
export TF_CLI_CONFIG_FILE="$demo/cli.tfrc" TF_IN_AUTOMATION=1 VPP_SANDBOX_ACCEPT_AFTER="${VPP_SANDBOX_ACCEPT_AFTER:-never}"
echo "==> applying examples/quickstart with $("$cli" version 2>/dev/null | head -n 1)"
# dev_overrides make `init` unnecessary. The CLI's warning that the provider is a local build is
# left out of the output on success; on failure the whole log is shown.
status=0
"$cli" -chdir="$work" apply -auto-approve -no-color > "$demo/apply.log" 2>&1 || status=$?
if [ "$status" -ne 0 ]; then
  cat "$demo/apply.log" >&2
  echo "make demo: apply failed (exit $status); the log is in $demo/apply.log" >&2
  exit "$status"
fi
awk '/^Warning: Provider development overrides are in effect/ {skip=1} skip && /^$/ {blank++; if (blank==2) {skip=0; blank=0}; next} !skip' "$demo/apply.log"
