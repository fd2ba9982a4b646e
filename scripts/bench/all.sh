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

# The server part drives the server with wrk (Debian package), installed here when missing.
case " $parts " in
    *" server "*)
        if ! command -v wrk >/dev/null; then
            echo "== installing wrk (Debian package) for the server part"
            if [ "$(id -u)" = 0 ]; then sudo=; else sudo=sudo; fi
            $sudo apt-get install -y -qq wrk >/dev/null || { echo "cannot install wrk" >&2; exit 2; }
        fi ;;
esac

failed=
run() { # name, command…: runs one part, keeps its whole output, shows its summary lines
    local name=$1; shift
    echo "== $name: $*"
    if ! "$@" > "$out/$name.txt" 2>&1; then
        failed="$failed $name"
        echo "!! $name failed:"; tail -5 "$out/$name.txt"
    fi
    grep -E "ratio|median|goal|/s|per 10,000|ms|MB" "$out/$name.txt" || true
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
if [ -n "$failed" ]; then
    echo "!! failed parts:$failed" >&2
    exit 1
fi
