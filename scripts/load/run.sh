#!/usr/bin/env bash
# Load test of `habeas serve` on 127.0.0.1 only, bounded in time (about 3 minutes of wrk):
# a national synthetic register (110,000 held, no daily life), then whereabouts reads, single
# command writes at 4/8/16 connections with group commit and, as the baseline measured in the
# same run, with every request committed on its own (`--max-group 1`), and reads during writes.
#   bash scripts/load/run.sh            (needs wrk: apt-get install wrk)
# The national register is generated once and cached in $HABEAS_LOAD_CACHE (default
# target/load-cache); each run serves a fresh copy of it. HABEAS_BIN=path skips the build.
set -euo pipefail
cd "$(dirname "$0")/../.."
here=$PWD/scripts/load
command -v wrk >/dev/null || { echo "install wrk first (apt-get install wrk)" >&2; exit 2; }
cache=${HABEAS_LOAD_CACHE:-$PWD/target/load-cache}
mkdir -p "$cache"
export HABEAS_LOAD_DIR=$(mktemp -d)
trap 'kill ${server:-} 2>/dev/null || true; rm -rf "$HABEAS_LOAD_DIR"' EXIT
bin=${HABEAS_BIN:-}
if [ -z "$bin" ]; then
    cargo build --release --quiet -p habeas
    # Serve a copy, so a build meanwhile cannot change the binary under test.
    cp "${CARGO_TARGET_DIR:-target}/release/habeas" "$HABEAS_LOAD_DIR/habeas"
    bin=$HABEAS_LOAD_DIR/habeas
fi
# A cached register this habeas cannot open (another schema version) is built again.
if ! "$bin" --db "$cache/national.db" user list >/dev/null 2>&1; then
    echo "== building the national register in $cache (once)"
    rm -f "$cache"/national.db*
    nice "$bin" generate --scale national --no-daily-life --origin example.org/habeas/load \
        --register "$cache/national.db"
fi
export HABEAS_DB=$HABEAS_LOAD_DIR/national.db
cp "$cache/national.db" "$HABEAS_DB"
cp "$cache/national.db.key" "$HABEAS_DB.key"
"$bin" user add load.officer --role officer >/dev/null
"$bin" user add load.reader --role monitor >/dev/null
"$bin" user token load.officer > "$HABEAS_LOAD_DIR/officer.token" 2>/dev/null
"$bin" user token load.reader > "$HABEAS_LOAD_DIR/reader.token" 2>/dev/null
port=18080
url=http://127.0.0.1:$port

start() {
    "$bin" serve --addr 127.0.0.1:$port "$@" 2>>"$HABEAS_LOAD_DIR/serve.log" &
    server=$!
    for _ in $(seq 50); do
        curl -sf "$url/log/key" >/dev/null 2>&1 && return
        sleep 0.2
    done
    echo "the server did not start" >&2
    cat "$HABEAS_LOAD_DIR/serve.log" >&2
    exit 1
}
stop() {
    kill "$server"
    wait "$server" 2>/dev/null || true
    server=
}
measure() { # title, connections, script
    echo "== $1, $2 connections, 15 s"
    wrk -t2 -c"$2" -d15s --latency -s "$here/$3" "$url" | grep -E "^ +(50|99)%|Requests/sec|Non-2xx"
}

start
measure "reads: GET /api/v1/whereabouts" 16 reads.lua
for c in 4 8 16; do
    measure "writes, group commit: POST /api/v1/commands (one contact.record each)" $c writes.lua
done
echo "== reads (8 connections) while writes run (8 connections), 15 s"
wrk -t1 -c8 -d15s --latency -s "$here/writes.lua" "$url" > "$HABEAS_LOAD_DIR/mixed-writes" &
writes=$!
wrk -t1 -c8 -d15s --latency -s "$here/reads.lua" "$url" | grep -E "^ +(50|99)%|Requests/sec|Non-2xx" | sed 's/^/  reads  /'
wait $writes
grep -E "^ +(50|99)%|Requests/sec|Non-2xx" "$HABEAS_LOAD_DIR/mixed-writes" | sed 's/^/  writes /'
stop

start --max-group 1
for c in 4 8 16; do
    measure "baseline, one transaction per request (--max-group 1): writes" $c writes.lua
done
stop
"$bin" verify
