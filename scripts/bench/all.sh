#!/usr/bin/env bash
# The benchmark suite: every figure of BENCHMARKS.md, each printed beside a baseline measured in
# the same run (medians and ratios), over the national synthetic register where the figure is
# about a national register. Long: about an hour on a 2-core machine, most of it building the
# registers (cached under $HABEAS_BENCH_CACHE, default target/bench-cache, for the next run).
#   bash scripts/bench/all.sh            everything
#   bash scripts/bench/all.sh register   one part: ledger register findings stats server backends
# Everything it starts listens on 127.0.0.1 only and stops by itself.
set -euo pipefail
cd "$(dirname "$0")/../.."
export HABEAS_BENCH_CACHE=${HABEAS_BENCH_CACHE:-$PWD/target/bench-cache}
mkdir -p "$HABEAS_BENCH_CACHE"
out=$HABEAS_BENCH_CACHE/suite-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$out"
parts=${*:-ledger register findings stats server backends}

cargo build --release --quiet -p habeas
bin=$PWD/target/release/habeas
national=$HABEAS_BENCH_CACHE/national-nodaily.jsonl
if [ ! -s "$national" ]; then
    "$bin" generate --scale national --no-daily-life --out "$national.tmp"
    mv "$national.tmp" "$national"
fi

run() { # name, command…: runs one part, keeps its whole output, shows its summary lines
    local name=$1; shift
    echo "== $name: $*"
    "$@" 2>&1 | tee "$out/$name.txt" | grep -E "ratio|median|goal|/s|per 10,000|ms|MB" || true
}

for part in $parts; do
    case $part in
        ledger) run ledger cargo bench --quiet -p habeas-ledger ;;
        register) HABEAS_BENCH_INPUT=$national HABEAS_BENCH_RUNS=${HABEAS_BENCH_RUNS:-3} \
            run register cargo bench --quiet -p habeas --bench register ;;
        findings) run findings cargo bench --quiet -p habeas --bench findings ;;
        stats) run stats cargo bench --quiet -p habeas --bench stats ;;
        server) run server bash scripts/load/run.sh ;;
        backends) run backends cargo bench --quiet -p habeas --bench backends ;;
        *) echo "unknown part $part (ledger register findings stats server backends)" >&2; exit 2 ;;
    esac
done
echo "== whole outputs in $out"
