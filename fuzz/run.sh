#!/usr/bin/env bash
# Run fuzz targets one after another for a bounded time each and print a summary table
# (the figures in docs/security.md come from this script).
#
#   fuzz/run.sh [SECONDS] [TARGET...]     # default: 300 s, every target (`cargo fuzz list`)
#
# One libFuzzer process at a time (no -jobs/-workers parallelism: the build machines have
# two cores shared with other work). Corpora live in fuzz/corpus/<target> (made by
# fuzz/seed.sh on first use), crash inputs in fuzz/artifacts/<target>, full logs in
# fuzz/logs/<target>.log; none of these are committed. Exit status is 1 if any target
# found a crash, a timeout or an out-of-memory input.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
secs=${1:-300}
shift || true
export RUSTC_BOOTSTRAP=1

if [ $# -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list)
fi
# (Re)seed every run: new targets get their seeds, existing corpora keep what they grew.
./seed.sh corpus >/dev/null
mkdir -p logs

cargo fuzz build -s none >/dev/null

failed=0
printf '| target | seconds | executions | exec/s | corpus | result |\n|---|---:|---:|---:|---:|---|\n'
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t" "artifacts/$t"
    log=logs/$t.log
    status=ok
    if ! cargo fuzz run -s none "$t" "corpus/$t" -- \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=262144 \
        -print_final_stats=1 >"$log" 2>&1; then
        status="FAILED: $(grep -m1 -oE '(deadly signal|ERROR: libFuzzer: [a-z-]+|panicked at [^ ]+)' "$log" || echo 'see log')"
        failed=1
    fi
    runs=$(grep -oE 'stat::number_of_executed_units: [0-9]+' "$log" | grep -oE '[0-9]+$' || echo 0)
    took=$(grep -oE 'Done [0-9]+ runs in [0-9]+ second' "$log" | grep -oE '[0-9]+ second' | grep -oE '[0-9]+' || echo "$secs")
    [ "${took:-0}" -gt 0 ] || took=1
    corpus=$(find "corpus/$t" -type f | wc -l)
    printf '| %s | %s | %s | %s | %s | %s |\n' "$t" "$took" "$runs" "$((runs / took))" "$corpus" "$status"
done
exit "$failed"
