#!/usr/bin/env bash
# Load test of `habeas serve` on 127.0.0.1 only, bounded in time: a national synthetic register
# (110,000 held, no daily life), then whereabouts reads and single-command writes with wrk.
#   bash scripts/load/run.sh            (needs wrk: apt-get install wrk)
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v wrk >/dev/null || { echo "install wrk first (apt-get install wrk)" >&2; exit 2; }
cargo build --release --quiet -p habeas
bin=$PWD/target/release/habeas
export HABEAS_LOAD_DIR=$(mktemp -d)
export HABEAS_DB=$HABEAS_LOAD_DIR/national.db
port=18080
"$bin" generate --scale national --no-daily-life --out "$HABEAS_LOAD_DIR/national.jsonl"
"$bin" init --origin example.org/habeas/load >/dev/null
"$bin" apply --batch-size 10000 "$HABEAS_LOAD_DIR/national.jsonl"
"$bin" user add load.officer --role officer >/dev/null
"$bin" user add load.reader --role monitor >/dev/null
"$bin" user token load.officer > "$HABEAS_LOAD_DIR/officer.token" 2>/dev/null
"$bin" user token load.reader > "$HABEAS_LOAD_DIR/reader.token" 2>/dev/null
"$bin" serve --addr 127.0.0.1:$port 2>"$HABEAS_LOAD_DIR/serve.log" &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$HABEAS_LOAD_DIR"' EXIT
sleep 2
here=scripts/load
echo "== reads: GET /api/v1/whereabouts, 16 connections, 15 s"
wrk -t2 -c16 -d15s --latency -s $here/reads.lua http://127.0.0.1:$port | grep -E "Requests/sec|50%|99%|Non-2xx"
for c in 4 8 16; do
    echo "== writes: POST /api/v1/commands (one contact.record each), $c connections, 15 s"
    wrk -t2 -c$c -d15s --latency -s $here/writes.lua http://127.0.0.1:$port | grep -E "Requests/sec|50%|99%|Non-2xx"
done
kill $server
wait $server 2>/dev/null || true
"$bin" verify
