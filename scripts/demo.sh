#!/usr/bin/env bash
# make demo: builds the provider, points terraform (or tofu) at the build through a generated CLI
# configuration (nothing is written to your home directory), and applies examples/quickstart in
# sandbox mode on the embedded SQLite default. Then it checks what the quickstart promises: the
# licenses each assignment used (the counts before and after, and the delivery counts of the
# state), the iPads licensed by serial number, an invitation link for each book club member
# (checked, not printed), and a plan that has nothing to do (`plan -detailed-exitcode` exits 0).
# Then it takes an iPad off the cart and checks that its Keynote license comes back (the plan warns
# first), and puts it back. Run it twice: the second run has nothing to do either. With --clean it removes the demo's state instead.
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
# dev_overrides make `init` unnecessary; the CLI warns that the provider is a local build, which
# it is.
status=0
"$cli" -chdir="$work" apply -auto-approve -input=false -no-color 2>&1 | tee "$demo/apply.log" || status=$?
if [ "$status" -ne 0 ]; then
  echo "make demo: apply failed (exit $status); the log is in $demo/apply.log" >&2
  exit "$status"
fi

echo "==> checking what the quickstart promises"
fail() {
  echo "make demo: FAILED: $*" >&2
  exit 1
}
# output NAME prints an output of the state as compact JSON.
output() {
  "$cli" -chdir="$work" output -no-color -json "$1" 2>/dev/null | tr -d '\n' ||
    fail "terraform output $1 failed: is it still declared in examples/quickstart/main.tf?"
}
# field JSON KEY prints the number KEY holds in a flat JSON object, or nothing.
field() { sed -n "s/.*\"$2\":[[:space:]]*\([0-9][0-9]*\).*/\1/p" <<<"$1"; }
# object JSON KEY prints the flat JSON object KEY holds, or nothing.
object() { grep -o "\"$2\":[[:space:]]*{[^{}]*}" <<<"$1" | sed "s/^\"$2\":[[:space:]]*//" || true; }

before=$(output licenses_available_before)
after=$(output licenses_available_after)
deliveries=$(output deliveries)
# Each book: the assignment that uses it, and how many members it licenses (the group's size).
for check in "Pride and Prejudice:club_pride:3" "The Elements of Style:staff_style:2"; do
  IFS=: read -r title assignment members <<<"$check"
  b=$(field "$before" "$title")
  a=$(field "$after" "$title")
  [ -n "$b" ] && [ -n "$a" ] || fail "no license counts for \"$title\" in the outputs (before: $before, after: $after)"
  d=$(object "$deliveries" "$assignment")
  licensed=$(field "$d" licensed)
  pending=$(field "$d" pending)
  [ "$licensed" = "$members" ] && [ "$pending" = "0" ] ||
    fail "$assignment licenses ${licensed:-?} of its $members members with ${pending:-?} pending, want all $members licensed (deliveries: $deliveries)"
  [ $((b - a)) -eq "$members" ] ||
    fail "\"$title\": $b licenses available before and $a after, so $((b - a)) used; its $members members should have used $members"
  echo "    \"$title\": $((b - a)) licenses used ($b available before, $a after), $licensed of $members members licensed"
done

# The app: each staff member holds a Pages license.
d=$(object "$deliveries" staff_pages)
[ "$(field "$d" licensed)" = "2" ] && [ "$(field "$d" pending)" = "0" ] ||
  fail "staff_pages licenses $(field "$d" licensed) of the 2 staff, want both (deliveries: $deliveries)"
echo "    Pages: 2 of 2 staff licensed"

# Device licensing: each iPad on the cart holds a Keynote license, with no user.
d=$(object "$deliveries" cart_keynote)
[ "$(field "$d" licensed)" = "3" ] && [ "$(field "$d" pending)" = "0" ] ||
  fail "cart_keynote licenses $(field "$d" licensed) of the 3 iPads, want all 3 (deliveries: $deliveries)"
keynote=$(output keynote_licenses)
total=$(field "$keynote" total)
available=$(field "$keynote" available)
[ -n "$total" ] && [ "$((total - available))" -eq 3 ] ||
  fail "Keynote: ${available:-?} of ${total:-?} licenses available, want 3 used by the iPads ($keynote)"
echo "    Keynote: 3 of 3 iPads licensed ($available of $total licenses available)"

# The invitation links are the members' to use: checked here, never printed.
invitations=$(output book_club_invitations)
for member in carol@example.com dave@example.com erin@example.com; do
  grep -Eq "\"$member\":[[:space:]]*\"https://[^\"]*inviteCode=[0-9a-f]{16,}" <<<"$invitations" ||
    fail "no invitation link for $member in the book_club_invitations output"
done
echo "    invitation links for the 3 book club members are present (not shown)"

echo "==> planning again: nothing should change"
status=0
"$cli" -chdir="$work" plan -detailed-exitcode -input=false -no-color >"$demo/plan.log" 2>&1 || status=$?
case "$status" in
  0) echo "    no changes" ;;
  2)
    # The plan may show invitation links: name what would change, and leave the rest to the log.
    grep -E '^  # |^Plan:|^Changes to Outputs' "$demo/plan.log" >&2 || true
    fail "a second run would change something (terraform plan -detailed-exitcode exited 2); the plan is in $demo/plan.log"
    ;;
  *) fail "terraform plan failed (exit $status); the log is in $demo/plan.log" ;;
esac
echo "==> taking an iPad off the cart: its Keynote license comes back"
two='cart_ipads=["DMPQK1ZZJGH5","DMPQK2ZZJGH6"]'
status=0
"$cli" -chdir="$work" apply -auto-approve -input=false -no-color -var "$two" >"$demo/reclaim.log" 2>&1 || status=$?
[ "$status" -eq 0 ] || fail "the apply without one iPad failed (exit $status); the log is in $demo/reclaim.log"
grep -q "App Licenses Will Be Reclaimed" "$demo/reclaim.log" ||
  fail "the apply without one iPad did not warn that its license will be reclaimed; the log is in $demo/reclaim.log"
keynote=$(output keynote_licenses)
[ "$(field "$keynote" available)" = "$((available + 1))" ] ||
  fail "Keynote: $(field "$keynote" available) licenses available after the iPad left the cart, want $((available + 1)) ($keynote)"
echo "    Keynote: the license came back ($(field "$keynote" available) of $total available)"
# The iPad goes back on the cart, so that the demo ends as the quickstart is written and runs again.
status=0
"$cli" -chdir="$work" apply -auto-approve -input=false -no-color >"$demo/restore.log" 2>&1 || status=$?
[ "$status" -eq 0 ] || fail "putting the iPad back failed (exit $status); the log is in $demo/restore.log"
keynote=$(output keynote_licenses)
[ "$(field "$keynote" available)" = "$available" ] ||
  fail "Keynote: $(field "$keynote" available) licenses available with the iPad back, want $available ($keynote)"
echo "    the iPad is back on the cart, licensed again ($available of $total available)"
status=0
"$cli" -chdir="$work" plan -detailed-exitcode -input=false -no-color >"$demo/plan2.log" 2>&1 || status=$?
[ "$status" -eq 0 ] || fail "a run after the iPad came back would change something (exit $status); the plan is in $demo/plan2.log"
echo "    no changes"

echo "make demo: the quickstart did what it promises"
