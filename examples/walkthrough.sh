#!/usr/bin/env bash
# A walkthrough of the habeas register on a small synthetic example: creates a register in a
# temporary folder, applies examples/walkthrough.jsonl, asks where people are, shows a file,
# the population, a proof, and verifies the log. Run from the repository root:
#   bash examples/walkthrough.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet -p habeas
# The binary is wherever cargo puts it (CARGO_TARGET_DIR, else target/).
bin="${CARGO_TARGET_DIR:-target}/release/habeas"
habeas() { "$bin" "$@"; }
dir=$(mktemp -d)
export HABEAS_DB="$dir/register.db"
step() { printf '\n\033[1m$ habeas %s\033[0m\n' "$*"; habeas "$@"; }

step init --origin example.org/habeas/walkthrough
step apply examples/walkthrough.jsonl
step where SYN-000002
step where SYN-000004 --json
step show SYN-000003
step population
step population --at 2025-03-20T12:00:00Z
step log checkpoint
step log prove 10
step findings --at 2025-06-30 --check no-legal-basis
step verify
printf '\n# A transfer order barred by a court order is refused, and nothing is applied:\n'
echo '{"type":"transfer.order","transfer":"T-9","register_nos":["SYN-000003"],"to":{"jurisdiction":"Otheria","authority":"Otheria (synthetic)"},"authority":"Ministry (synthetic)","reference":"R-9","planned_at":"2025-05-01T00:00:00Z"}' \
  | { habeas apply - || true; }
printf '\nThe register is in %s (signing key beside it). Try: HABEAS_DB=%s %s show SYN-000001\n' \
  "$HABEAS_DB" "$HABEAS_DB" "$bin"
