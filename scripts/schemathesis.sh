#!/usr/bin/env bash
# Runs schemathesis (every check) against a small register this script sets up and serves:
#   bash scripts/schemathesis.sh            (builds the habeas binary first)
# Installs schemathesis with pip when missing. Exits non-zero when any check fails.
# Bounded: at most $ST_MAX_EXAMPLES examples per operation and $ST_MAX_TIME seconds in all.
set -euo pipefail
cd "$(dirname "$0")/.."

ST_VERSION=4.32.5
ST_MAX_EXAMPLES=${ST_MAX_EXAMPLES:-30}
ST_MAX_TIME=${ST_MAX_TIME:-150}
PORT=${ST_PORT:-18097}

if ! python3 -m schemathesis.cli --version 2>/dev/null | grep -q "$ST_VERSION"; then
    echo "scripts/schemathesis.sh: installing schemathesis $ST_VERSION" >&2
    python3 -m pip install -q "schemathesis==$ST_VERSION"
fi

"${CARGO:-cargo}" build -q -p habeas
bin="${CARGO_TARGET_DIR:-target}/debug/habeas"

dir=$(mktemp -d)
server=
cleanup() {
    if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
    rm -rf "$dir"
}
trap cleanup EXIT
export HABEAS_DB="$dir/st.db"
"$bin" init --origin example.org/habeas/schemathesis >/dev/null
"$bin" apply examples/walkthrough.jsonl >/dev/null || true
"$bin" user add st.admin --role admin >/dev/null
token=$("$bin" user token st.admin 2>/dev/null)
"$bin" serve --addr "127.0.0.1:$PORT" >"$dir/serve.log" 2>&1 &
server=$!
for _ in $(seq 1 50); do
    curl -sf "http://127.0.0.1:$PORT/log/checkpoint" >/dev/null 2>&1 && break
    sleep 0.2
done

# Every check is on. The schema is read from the served register, so it is the one the code
# generates (the committed openapi.json is checked against it by the api tests). One worker:
# Python 3.11's ast module is not thread-safe, and hypothesis parses lambdas with it
# ("AST constructor recursion depth mismatch" with two).
python3 -m schemathesis.cli --config-file scripts/schemathesis.toml run "http://127.0.0.1:$PORT/api/v1/openapi.json" \
    --checks all \
    --max-examples "$ST_MAX_EXAMPLES" \
    --max-time "$ST_MAX_TIME" \
    --seed 15 \
    --workers 1 \
    --request-timeout 30 \
    --suppress-health-check too_slow \
    -H "Authorization: Bearer $token"
