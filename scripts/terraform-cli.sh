#!/usr/bin/env bash
# Prints the absolute path of a Terraform-compatible CLI for the acceptance tests and the demo.
# Order: $TF_ACC_TERRAFORM_PATH, terraform on PATH, tofu on PATH, a previously built
# .tools/bin/tofu, and last, OpenTofu built once from the Go module proxy (the only registry
# these machines reach; about 3 minutes on 2 cores). With --tofu, only OpenTofu qualifies.
# All progress goes to stderr.
set -euo pipefail
only_tofu=false
[ "${1:-}" = "--tofu" ] && only_tofu=true

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tofu_version=${VPP_OPENTOFU_VERSION:-v1.12.6}
built="$root/.tools/bin/tofu"

candidates="terraform tofu"
if $only_tofu; then
  candidates="tofu"
elif [ -n "${TF_ACC_TERRAFORM_PATH:-}" ] && [ -x "${TF_ACC_TERRAFORM_PATH}" ]; then
  echo "$TF_ACC_TERRAFORM_PATH"; exit 0
fi
for cli in $candidates; do
  if path=$(command -v "$cli" 2>/dev/null); then echo "$path"; exit 0; fi
done
if [ -x "$built" ]; then echo "$built"; exit 0; fi

echo "terraform-cli: no suitable CLI found; building OpenTofu $tofu_version from the Go module proxy into .tools/ (once, ~3 minutes)" >&2
dir=$(cd "${TMPDIR:-/tmp}" && GOFLAGS=-mod=mod go mod download -json "github.com/opentofu/opentofu@$tofu_version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
if [ -z "$dir" ] || [ ! -d "$dir" ]; then
  echo "terraform-cli: could not download github.com/opentofu/opentofu@$tofu_version; install terraform >= 1.0 or tofu and retry" >&2
  exit 1
fi
work=$(mktemp -d)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
# The module cache is read-only, and go build wants a writable module root.
cp -R "$dir/." "$work/"
chmod -R u+w "$work"
mkdir -p "$(dirname "$built")"
(cd "$work" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -o "$built.tmp" ./cmd/tofu)
mv "$built.tmp" "$built"
echo "terraform-cli: built $("$built" version 2>/dev/null | grep -m1 OpenTofu)" >&2
echo "$built"
