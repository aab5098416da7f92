#!/usr/bin/env bash
# bench/partitioning.sh - produce throughput per partitioner on 8 partitions, N unkeyed and N
# keyed 100-byte lines, as a ratio to dd conv=fsync of the same input, in one run.
#
#   bench/partitioning.sh                    # N=2,000,000
#   N=500000 RUNS=5 bench/partitioning.sh
#   OLD_CHUTE=path/to/older/chute bench/partitioning.sh   # adds that binary's default rows
#   CHUTE=path/to/chute KEEP=1 bench/partitioning.sh
#
# Each run: a fresh root with topic b of 8 partitions, then `chute produce -q -t b
# [--partitioner P] [-K ,] < input` (sync before each run, not timed). ratio = dd seconds /
# chute seconds. "spread" is max/min records per partition of the last run.
set -euo pipefail

N=${N:-2000000}
RUNS=${RUNS:-3}
KEEP=${KEEP:-0}
PARTS=8

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=bench/lib.sh
source "$here/lib.sh"
mkdir -p "$here/out"
make_work "$here/out/partitioning.XXXXXX"

log "generating $N unkeyed and $N keyed 100-byte lines"
gen_input "$work/unkeyed" "$N"
# key,value: 10,000 distinct keys; the line is still 100 bytes.
awk -v n="$N" 'BEGIN {
    pad = sprintf("%83s", ""); gsub(/ /, "x", pad)
    for (i = 0; i < n; i++) printf "k%05d,%010d%s\n", i % 10000, i, pad
}' >"$work/keyed"
sync

t_dd=$(best_time "dd" "rm -f $(q "$work/dd.out"); sync" \
    "dd if=$(q "$work/unkeyed") of=$(q "$work/dd.out") bs=1M conv=fsync status=none")
rm -f "$work/dd.out"

report=$work/report
printf '%-8s %-22s %9s %6s %12s %8s\n' input producer seconds ratio msgs/s spread >"$report"
run_row() { # BINARY LABEL INPUT EXTRA...
    local bin=$1 label=$2 input=$3 root=$work/root
    shift 3
    local prep="rm -rf $(q "$root"); $(q "$bin") --root $(q "$root") topic create b -p $PARTS -q; sync"
    local t
    t=$(best_time "$label" "$prep" "$(q "$bin") --root $(q "$root") produce -q -t b $* < $(q "$input")")
    local spread
    spread=$("$bin" --root "$root" offsets -t b --json | python3 -c '
import json, sys
n = [p["latest"] for p in json.load(sys.stdin)["partitions"]]
print(f"{max(n) / max(min(n), 1):.2f}" if min(n) else "inf")')
    printf '%-8s %-22s %8.3fs %6.2f %12s %8s\n' "$(basename "$input")" "$label" "$t" \
        "$(calc "$t_dd / $t")" "$(calc "f'{int($N / $t):,}'")" "$spread" >>"$report"
}

for p in murmur2 crc32 round-robin sticky random; do
    log "unkeyed: $p"
    run_row "$chute" "$p" "$work/unkeyed" --partitioner "$p"
done
for p in murmur2 crc32 round-robin sticky random; do
    log "keyed: $p"
    run_row "$chute" "$p" "$work/keyed" -K , --partitioner "$p"
done
if [[ -n ${OLD_CHUTE:-} ]]; then
    log "the older binary's defaults"
    run_row "$OLD_CHUTE" "older chute (default)" "$work/unkeyed"
    run_row "$OLD_CHUTE" "older chute (default)" "$work/keyed" -K ,
    run_row "$chute" "this chute (default)" "$work/unkeyed"
    run_row "$chute" "this chute (default)" "$work/keyed" -K ,
fi

echo "chute $($chute --version | cut -d' ' -f2) ($(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?')), $(uname -sr), $(nproc) CPUs; $timer"
echo "$N lines of 100 B; $PARTS partitions; dd bs=1M conv=fsync: $(calc "round($t_dd, 3)") s; ratio = dd s / chute s; spread = max/min records per partition"
cat "$report"
