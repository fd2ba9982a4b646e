#!/usr/bin/env bash
# The README's test command: sets up what the tests need, then runs every test of the workspace.
#   bash scripts/test.sh [extra cargo test arguments]
# - headless Chromium and ChromeDriver for the browser tests (Debian packages chromium,
#   chromium-driver), installed when missing;
# - PostgreSQL on 127.0.0.1:5432 for the PostgreSQL backend's tests, started when it is down;
# - then the OpenAPI fuzzer (scripts/schemathesis.sh: every check, about 2.5 minutes), counted
#   as one test; HABEAS_SCHEMATHESIS=0 leaves it out of a quick local run.
# It ends with one line counting every test binary's results and the fuzzer's.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v chromedriver >/dev/null 2>&1 || ! command -v chromium >/dev/null 2>&1; then
    echo "scripts/test.sh: installing chromium and chromium-driver (Debian packages)" >&2
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
fi

if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
    if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
        echo "scripts/test.sh: starting PostgreSQL" >&2
        as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start || true
    fi
    for _ in $(seq 1 30); do
        pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null && break
        sleep 1
    done
    if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
        echo "scripts/test.sh: PostgreSQL is not reachable on 127.0.0.1:5432; its tests need it" >&2
        exit 1
    fi
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
"${CARGO:-cargo}" test --workspace "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
fuzz=
if [ "${HABEAS_SCHEMATHESIS:-1}" != 0 ]; then
    bash scripts/schemathesis.sh 2>&1 | tee -a "$log" | tail -n 40
    if [ "${PIPESTATUS[0]}" = 0 ]; then fuzz=passed; else fuzz=failed; status=1; fi
fi
set -e
grep -E '^test result:' "$log" | awk -v fuzz="$fuzz" '{p += $4; f += $6}
    END {if (fuzz == "passed") p++; if (fuzz == "failed") f++;
         printf "tests: %d passed, %d failed%s\n", p, f, (fuzz == "" ? "" : " (schemathesis " fuzz ")")}'
exit "$status"
