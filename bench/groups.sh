#!/usr/bin/env bash
# bench/groups.sh - consumer-group figures against the targets in bench/README.md, in one run, on this machine.
#
#   bench/groups.sh                  # 64 partitions, 1,000,000 records in total
#   N=4000000 PARTS=64 bench/groups.sh
#   RUNS=30 bench/groups.sh          # more hyperfine runs
#   CHUTE=/path/to/chute bench/groups.sh
#
# Measures (hyperfine):
#   1. cron run with nothing new: `consume -t T -g G` after everything is committed
#      (target < 20 ms wall: join, 64 owner locks, 64 committed-offset reads, 64 tail reads)
#   2. throughput: `consume -t T -g G > /dev/null` from the beginning (offsets reset before
#      each run, not timed) vs plain `consume -t T > /dev/null` (target: group >= 0.9 x plain)
set -euo pipefail

N=${N:-1000000}
PARTS=${PARTS:-64}
RUNS=${RUNS:-20}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
command -v hyperfine >/dev/null || { echo "bench: hyperfine is needed" >&2; exit 1; }
if [[ -n ${CHUTE:-} ]]; then
    chute=$CHUTE
else
    (cd "$repo" && cargo build --release --quiet)
    chute=$repo/target/release/chute
fi
mkdir -p "$here/out"
work=$(mktemp -d "$here/out/groups.XXXXXX")
trap 'rm -rf "$work"' EXIT
unset CHUTE_ROOT
root=$work/root
c="$chute --root $root"

echo "setup: $PARTS partitions, $N records (100-byte lines)" >&2
$c topic create g --partitions "$PARTS" >/dev/null 2>&1
python3 -c "
import sys
w = sys.stdout.write
for i in range($N):
    w(f'k{i},' + 'x' * (100 - len(f'k{i},') - 1) + '\n')
" | $c produce -t g -q -K,
$c consume -t g -g cron >/dev/null          # commit everything once

json=$work/h.json
min_of() { python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"]; print(" ".join(str(x["min"]) + ":" + str(x["mean"]) for x in r))' "$json"; }

hyperfine --style none --warmup 3 --runs "$RUNS" --export-json "$json" \
    "$c consume -t g -g cron" >/dev/null
read -r cron <<<"$(min_of)"
cron_min=${cron%%:*}; cron_mean=${cron##*:}

hyperfine --style none --warmup 1 --runs "$RUNS" --export-json "$json" \
    "$c consume -t g >/dev/null" \
    --prepare "$c offsets reset -g thr -t g --to-earliest --execute >/dev/null 2>&1" \
    "$c consume -t g -g thr >/dev/null" >/dev/null
read -r plain grp <<<"$(min_of)"
plain_min=${plain%%:*}; grp_min=${grp%%:*}
# The group run must really have read everything.
lag=$($c offsets -g thr --json | python3 -c 'import json,sys; print(sum(p["lag"] for p in json.load(sys.stdin)["partitions"]))')

python3 - "$cron_min" "$cron_mean" "$plain_min" "$grp_min" "$N" "$PARTS" "$lag" <<'PY'
import sys
cron_min, cron_mean, plain, grp = map(float, sys.argv[1:5])
n, parts, lag = int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])
ok1 = cron_mean < 0.020
ratio = plain / grp
ok2 = ratio >= 0.9 and lag == 0
print(f"cron run, nothing new, {parts} partitions x {n} records: min {cron_min*1000:.2f} ms, mean {cron_mean*1000:.2f} ms   (target < 20 ms: {'ok' if ok1 else 'MISSED'})")
print(f"plain consume to /dev/null: {plain*1000:.1f} ms = {n/plain/1e6:.2f} M msgs/s")
print(f"group consume to /dev/null: {grp*1000:.1f} ms = {n/grp/1e6:.2f} M msgs/s   ratio {ratio:.3f} (target >= 0.9: {'ok' if ok2 else 'MISSED'}; lag after {lag})")
PY
