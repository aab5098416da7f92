#!/usr/bin/env bash
# bench/streams.sh - `chute stream` against the pipeline it replaces, `chute consume -g G |
# TRANSFORM | chute produce -t OUT` (at least once, not exactly once), on the same input, in
# one run: records per second and the ratio, with `cat` and with `jq -c .` as the transform.
#
#   bench/streams.sh                     # N=1,000,000 lines for cat, N/10 JSON lines for jq
#   N=200000 RUNS=5 bench/streams.sh
#   CHUTE=path/to/chute KEEP=1 bench/streams.sh
#
# Each run starts from a copy of a root holding the input topic `in` (4 partitions) and an
# empty `out` (4 partitions); the copy is not timed. The stream runs in cron mode (its share
# read to the end, then exit) with --exec-batch 10000.
set -euo pipefail

N=${N:-1000000}
RUNS=${RUNS:-3}
KEEP=${KEEP:-0}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=bench/lib.sh
source "$here/lib.sh"
mkdir -p "$here/out"
make_work "$here/out/streams.XXXXXX"
command -v jq >/dev/null || die "jq is needed (Debian: apt-get install jq)"

report=$work/report
: >"$report"
row() { printf '%s\n' "$*" >>"$report"; }

# run_case NAME LINES TRANSFORM
run_case() {
    local name=$1 n=$2 transform=$3 tmpl=$work/tmpl-$1 root=$work/root
    rm -rf "$tmpl"
    "$chute" --root "$tmpl" topic create in --partitions 4 >/dev/null 2>&1
    "$chute" --root "$tmpl" topic create out --partitions 4 >/dev/null 2>&1
    "$chute" --root "$tmpl" produce -q -t in --file "$work/$name.in"
    local prep="rm -rf $(q "$root"); cp -a $(q "$tmpl") $(q "$root"); sync"
    log "$name: chute stream"
    local t_s t_p
    t_s=$(best_time "$name stream" "$prep" \
        "$(q "$chute") --root $(q "$root") stream -t in -g s --to out --exec-batch 10000 --exec $(q "$transform")")
    log "$name: consume -g | transform | produce"
    t_p=$(best_time "$name pipeline" "$prep" \
        "$(q "$chute") --root $(q "$root") consume -t in -g s | $transform | $(q "$chute") --root $(q "$root") produce -q -t out")
    # Check the last stream run's output count (the pipeline's run is the last in $root).
    row "$(printf '%-8s %9s %9.3fs %12s %9.3fs %12s %7.2f' "$name" "$n" "$t_s" \
        "$(calc "f'{int($n / $t_s):,}'")" "$t_p" "$(calc "f'{int($n / $t_p):,}'")" \
        "$(calc "$t_p / $t_s")")"
}

log "generating $N 100-byte lines and $((N / 10)) JSON lines"
gen_input "$work/cat.in" "$N"
python3 - "$work/jq.in" "$((N / 10))" <<'PY'
import json, sys
with open(sys.argv[1], "w") as f:
    for i in range(int(sys.argv[2])):
        f.write(json.dumps({"id": i, "user": f"u{i % 977}", "amount": i * 7 % 1000, "tags": ["a", "b"]}) + "\n")
PY
run_case cat "$N" cat
run_case jq "$((N / 10))" "jq -c ."

echo "chute $($chute --version | cut -d' ' -f2) ($(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?')), $(uname -sr), $(nproc) CPUs; $timer"
echo "stream: chute stream (exactly once); pipeline: chute consume -g | transform | chute produce (at least once)"
printf '%-8s %9s %10s %12s %10s %12s %7s\n' case records stream "rec/s" pipeline "rec/s" "p/s"
cat "$report"
