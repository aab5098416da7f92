#!/usr/bin/env bash
# bench/linger.sh - adaptive linger (issue 10): latency of `tail -F FILE | chute produce -t T` ->
# `chute consume -t T --follow` and produce throughput from a file, for the default (adaptive)
# producer next to `--linger 0` and `--linger 5ms` (the old default), in one run, on this machine.
#
#   bench/linger.sh                  # ~4 min after the build
#   RATES="100 1000" SECS=20 bench/linger.sh   # lines/s of the latency runs; seconds per run
#   N=3000000 RUNS=3 ROUNDS=3 bench/linger.sh   # 100-byte lines in the throughput runs; ROUNDS
#                                    # interleaved rounds of RUNS runs per row (min and median of all)
#   NO_LATENCY=1 / NO_THROUGHPUT=1   # only one half
#   KEEP=1 CHUTE=path/to/chute NO_HYPERFINE=1   # as for run.sh
#
# Latency (bench/follow_latency.py --via-tail): a writer appends one timestamped line per 1/RATE s
# to a file (O_APPEND, one write each); `tail -F -n0 FILE` (GNU coreutils, as a user types it)
# pipes into `chute produce -t lat -q [ARGS]`; `chute consume -t lat --follow` prints them and
# each line is stamped on arrival (CLOCK_MONOTONIC). Rows: tail alone (its output read directly:
# tail's share), then produce with the default flags, --linger 0, --linger 5ms.
# Throughput: dd bs=1M conv=fsync of the input vs `chute produce -q -t bench < input` (default,
# --linger 5ms) and `--file input` (default), fresh root and `sync` before every run (not timed).
set -euo pipefail

RATES=${RATES:-100 1000}
SECS=${SECS:-20}
N=${N:-3000000}
RUNS=${RUNS:-3}
ROUNDS=${ROUNDS:-3}
KEEP=${KEEP:-0}
NO_LATENCY=${NO_LATENCY:-0}
NO_THROUGHPUT=${NO_THROUGHPUT:-0}
LINE=100

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=bench/lib.sh
source "$here/lib.sh"                  # chute, make_work, best_time, gen_input, dir_bytes, q, ...
mkdir -p "$here/out"                   # same filesystem as the repository (git-ignored)
make_work "$here/out/linger.XXXXXX"
# follow_latency.py kills its own processes (tail, producer, follower) on exit, Ctrl-C and TERM;
# run it under `timeout` so no latency run can outlive its budget.
lat_run() { # LABEL ARGS... -> one JSON line appended to $work/lat.jsonl
    local label=$1
    shift
    timeout -s TERM $((SECS + 90)) python3 "$here/follow_latency.py" --chute "$chute" \
        --workdir "$work" --json --label "$label" "$@" >>"$work/lat.jsonl" ||
        log "latency run failed: $label $*"
}

printf '%s (%s), %s %s, %s CPUs; load average at start: %s\n' \
    "$("$chute" --version | head -1)" "$(git -C "$repo" describe --always --dirty 2>/dev/null)" \
    "$(uname -sr)" "$(uname -m)" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf 'tail: %s\n' "$(tail --version | head -1)"

if [[ $NO_LATENCY != 1 ]]; then
    : >"$work/lat.jsonl"
    for rate in $RATES; do
        count=$((rate * SECS))
        log "latency at $rate lines/s ($count lines per row)"
        lat_run "tail -F -n0 alone (no chute)" --tail-only --rate "$rate" --count "$count"
        lat_run "default (adaptive)" --via-tail --rate "$rate" --count "$count" --producer-args ''
        lat_run "--linger 0" --via-tail --rate "$rate" --count "$count" --producer-args '--linger 0'
        lat_run "--linger 5ms" --via-tail --rate "$rate" --count "$count" --producer-args '--linger 5ms'
    done
    echo
    echo "latency: writer appends to FILE -> tail -F -n0 FILE | chute produce -t lat -q [flags] -> consume --follow"
    python3 - "$work/lat.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print(f"{'lines/s':>7}  {'producer':<30} {'msgs':>6} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'max ms':>8}")
print(f"{'-'*7}  {'-'*30} {'-'*6} {'-'*8} {'-'*8} {'-'*8} {'-'*8}")
for r in rows:
    print(f"{r['rate']:>7g}  {r['label']:<30} {r['count']:>6} {r['p50']:>8.3f} {r['p90']:>8.3f} "
          f"{r['p99']:>8.3f} {r['max']:>8.3f}")
ino = {r["tail_inotify"] for r in rows}
print("tail -F used inotify (no polling interval)" if ino == {True} else
      f"tail -F inotify in use: {sorted(map(str, ino))} (polling tails sleep --sleep-interval, default 1 s)")
PY
fi

if [[ $NO_THROUGHPUT != 1 ]]; then
    log "throughput: generating $N x $LINE-byte lines"
    input=$work/input
    gen_input "$input" "$N"
    bytes=$((N * LINE))
    r=$work/root
    prod() { printf '%q --root %q produce -q -t bench %s' "$chute" "$r" "$1"; }
    rows=(
        "dd bs=1M conv=fsync (baseline)|rm -f $(q "$work/dd.out"); sync|dd if=$(q "$input") of=$(q "$work/dd.out") bs=1M conv=fsync status=none"
        "produce < input (default)|rm -rf $(q "$r"); sync|$(prod "< $(q "$input")")"
        "produce --linger 5ms < input|rm -rf $(q "$r"); sync|$(prod "--linger 5ms < $(q "$input")")"
        "produce --file input (default)|rm -rf $(q "$r"); sync|$(prod "--file $(q "$input")")"
    )
    # Rounds interleave the rows, so a change in the machine's load hits all of them alike.
    : >"$work/tp"
    for ((round = 1; round <= ROUNDS; round++)); do
        for row in "${rows[@]}"; do
            IFS='|' read -r label prep cmd <<<"$row"
            log "throughput, round $round/$ROUNDS: $label"
            best_time "$label" "$prep" "$cmd" >/dev/null
            batches="" seg=""
            if [[ -d $r ]]; then           # the last timed run's root: how it batched
                seg=$(dir_bytes "$r" .log)
                batches=$(find "$r" -name '*.log' -path '*/bench-*' -exec "$chute" --root "$r" dump {} \; |
                    grep -c '^baseOffset' || true)
                rm -rf "$r"
            fi
            ((round == ROUNDS)) && printf '%s\t%s\t%s\n' "$label" "$batches" "$seg" >>"$work/tp"
        done
    done
    echo
    echo "throughput: $N records x $LINE B = $bytes B payload; timer: $timer, $ROUNDS interleaved rounds;"
    echo "seconds = min (median) of all $((RUNS * ROUNDS)) runs; ratio = dd seconds / chute seconds (min, median)"
    python3 - "$work/tp" "$work/spread" "$N" "$bytes" "$work/cpu" <<'PY'
import os, statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
times = {}
for l in open(sys.argv[2]):
    label, ts = l.rstrip("\n").split("\t", 1)
    times.setdefault(label, []).extend(float(x) for x in ts.split())
n, b = int(sys.argv[3]), int(sys.argv[4])
cpu = {}                                # hyperfine's mean user + system seconds, per round
if os.path.exists(sys.argv[5]):
    for l in open(sys.argv[5]):
        label, c = l.rstrip("\n").split("\t")
        cpu.setdefault(label, []).append(float(c))
dd = min(times[rows[0][0]]), statistics.median(times[rows[0][0]])
print(f"{'what':<32} {'seconds (median)':>16} {'msgs/s':>12} {'MB/s':>6} {'ratio (median)':>14} {'batches':>7} {'avg batch':>9} {'CPU s':>6}")
print(f"{'-'*32} {'-'*16} {'-'*12} {'-'*6} {'-'*14} {'-'*7} {'-'*9} {'-'*6}")
for label, batches, seg in rows:
    t, med = min(times[label]), statistics.median(times[label])
    avg = f"{int(seg) / int(batches) / 1024:.0f} KiB" if batches and int(batches) else "-"
    c = f"{statistics.mean(cpu[label]):.3f}" if label in cpu else "-"
    print(f"{label:<32} {t:>7.3f} ({med:>6.3f}) {n / t:>12,.0f} {b / t / 1e6:>6,.0f} "
          f"{dd[0] / t:>5.2f} ({dd[1] / med:>5.2f}) {batches or '-':>7} {avg:>9} {c:>6}")
print("CPU s = mean user + system time per run (hyperfine), less sensitive to other load than wall time")
print("every run (s):")
for label, *_ in rows:
    print(f"  {label:<30} " + " ".join(f"{x:.3f}" for x in times[label]))
PY
fi
printf '\nload average at the end: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
