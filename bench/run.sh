#!/usr/bin/env bash
# bench/run.sh - chute throughput and memory against dd and cat, in one run, on this machine.
#
#   bench/run.sh                 # 2,000,000 x 100-byte lines (200 MB), plus a 1 GiB memory run
#   N=500000 bench/run.sh        # fewer records
#   QUICK=1 bench/run.sh         # skip the big memory run
#   BIG_MB=4096 bench/run.sh     # bigger memory run (needs ~2.2x BIG_MB of free disk)
#   KEEP=1 bench/run.sh          # keep bench/out/run.* (inputs, roots) for a look afterwards
#   STRICT=1 bench/run.sh        # exit 1 when a figure misses its target
#   CHUTE=/path/to/chute bench/run.sh   # use that binary instead of `cargo build --release`
#   NO_HYPERFINE=1, RSS_POLL=1   # time with date deltas / measure RSS by polling /proc VmHWM even
#                                # when hyperfine / GNU time are installed
#
# What is measured (see bench/README.md):
#   write: dd if=input of=out bs=1M conv=fsync   vs  chute produce -t bench < input (fresh root)
#   read:  cat <segment files> > /dev/null       vs  chute consume -t bench > /dev/null
#   peak RSS of produce and consume, at 200 MB and at BIG_MB, to show it does not grow with input.
# Times are the best of RUNS (default 3). Reads are warm-cache for both cat and chute: the data
# was just written and nothing drops the page cache (fair, but it is not a cold-disk figure).
set -euo pipefail

N=${N:-2000000}
RUNS=${RUNS:-3}
BIG_MB=${BIG_MB:-1024}
QUICK=${QUICK:-0}
KEEP=${KEEP:-0}
STRICT=${STRICT:-0}
LINE=100                               # bytes per line, newline included

# Targets (bench/README.md, Design targets): produce >= 0.5x dd conv=fsync, consume >= 0.05x cat, peak RSS <= 32 MiB.
T_PRODUCE=0.5
T_CONSUME=0.05
T_RSS_MIB=32

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=bench/lib.sh
source "$here/lib.sh"                  # chute, make_work, now, calc, gen_input, q, ...
# Work directory on the same filesystem as the repo (bench/out is git-ignored).
mkdir -p "$here/out"
make_work "$here/out/run.XXXXXX"

# (run.sh's own timer: unlabelled, with an optional warm-up; lib.sh's best_time is labelled.)
# best_time_min PREPARE COMMAND [WARMUP] -> prints the best wall time in seconds.
# Both are shell snippets; PREPARE runs before every run and is not timed.
best_time_min() {
    local prep=$1 cmd=$2 warmup=${3:-0}
    if [[ $have_hyperfine == 1 ]]; then
        local json=$work/hyperfine.json
        hyperfine --style none --runs "$RUNS" --warmup "$warmup" --prepare "$prep" \
            --export-json "$json" "$cmd" >/dev/null
        python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["results"][0]["min"])' "$json"
        return
    fi
    local best="" t0 t1 i
    for ((i = 0; i < warmup; i++)); do bash -c "$prep"; bash -c "$cmd"; done
    for ((i = 0; i < RUNS; i++)); do
        bash -c "$prep"
        t0=$(now)
        bash -c "$cmd"
        t1=$(now)
        best=$(calc "min(x for x in [$t1 - $t0, ${best:-1e9}])")
    done
    printf '%s\n' "$best"
}

# peak_rss_kib STDIN STDOUT COMMAND... -> prints the peak RSS of COMMAND in KiB.
# GNU time's %M where present; else a poller reading VmHWM (a high-water mark) from /proc.
# (Not getrusage(RUSAGE_CHILDREN) from a python parent: the forked copy of the interpreter is
# charged to the child's maxrss across exec, which would hide anything smaller than python.)
if [[ ${RSS_POLL:-0} != 1 ]] && [[ -x /usr/bin/time ]] && /usr/bin/time -f %M true >/dev/null 2>&1; then
    rss_meter="GNU time %M"
else
    rss_meter="VmHWM polled every 2 ms"
fi
hwm_poller='
import os, subprocess, sys, time
p = subprocess.Popen(sys.argv[1:])
hwm = 0
while p.poll() is None:
    try:
        with open(f"/proc/{p.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    hwm = max(hwm, int(line.split()[1]))
    except OSError:
        pass
    time.sleep(0.002)
if p.returncode:
    sys.exit(p.returncode)
os.write(3, f"{hwm}\n".encode())
'
peak_rss_kib() {
    local in=$1 out=$2
    shift 2
    if [[ $rss_meter == GNU* ]]; then
        /usr/bin/time -f %M -o "$work/rss" "$@" <"$in" >"$out"
        tail -n 1 "$work/rss"
    else
        python3 -c "$hwm_poller" "$@" <"$in" >"$out" 3>"$work/rss"
        tail -n 1 "$work/rss"
    fi
}

# --- 1. input --------------------------------------------------------------------------------
input=$work/input
bytes=$((N * LINE))
log "generating $N lines x $LINE bytes ($((bytes / 1000000)) MB)"
gen_input "$input" "$N"
[[ $(stat -c %s "$input") == "$bytes" ]] || die "input has the wrong size"
sync

# --- 2. baseline write: dd conv=fsync -------------------------------------------------------
log "dd conv=fsync x$RUNS"
t_dd=$(best_time_min "rm -f $(q "$work/dd.out"); sync" \
    "dd if=$(q "$input") of=$(q "$work/dd.out") bs=1M conv=fsync status=none")
rm -f "$work/dd.out"

# --- 3. chute produce (fresh root each run, default durability: --acks 1) -------------------
root=$work/root
log "chute produce x$RUNS"
t_produce=$(best_time_min "rm -rf $(q "$root"); sync" \
    "$(q "$chute") --root $(q "$root") produce -q -t bench < $(q "$input")")
# one more fresh run for peak RSS (kept as the data for the read side)
rm -rf "$root"
sync
rss_produce=$(peak_rss_kib "$input" /dev/null "$chute" --root "$root" produce -q -t bench)

shopt -s nullglob
segments=("$root"/brokers/*/bench-*/*.log)
shopt -u nullglob
((${#segments[@]} > 0)) || die "no segment files under $root"
seg_bytes=$(cat "${segments[@]}" | wc -c)

# --- 4. reads: cat the segment files vs chute consume (both warm cache) ----------------------
seg_args=""
for s in "${segments[@]}"; do seg_args+=" $(q "$s")"; done
log "cat segments x$RUNS"
t_cat=$(best_time_min "true" "cat$seg_args > /dev/null" 1)
log "chute consume x$RUNS"
t_consume=$(best_time_min "true" "$(q "$chute") --root $(q "$root") consume -t bench > /dev/null" 1)
rss_consume=$(peak_rss_kib /dev/null /dev/null "$chute" --root "$root" consume -t bench)

log "checking: chute consume -t bench | cmp - input"
if "$chute" --root "$root" consume -t bench | cmp - "$input"; then
    roundtrip=PASS
else
    roundtrip=MISS
fi
rm -rf "$root"

# --- 5. big run: peak RSS only ---------------------------------------------------------------
if [[ $QUICK != 1 ]]; then
    big_lines=$((BIG_MB * 1024 * 1024 / LINE))
    big_bytes=$((big_lines * LINE))
    log "big run: $big_lines lines ($((big_bytes / 1000000)) MB): generating"
    rm -f "$input"
    gen_input "$input" "$big_lines"
    sync
    log "big run: chute produce"
    rss_produce_big=$(peak_rss_kib "$input" /dev/null "$chute" --root "$root" produce -q -t bench)
    log "big run: chute consume"
    rss_consume_big=$(peak_rss_kib /dev/null /dev/null "$chute" --root "$root" consume -t bench)
    big_count=$("$chute" --root "$root" offsets -t bench --json |
        python3 -c 'import json,sys; print(sum(p["latest"]-p["earliest"] for p in json.load(sys.stdin)["partitions"]))')
    [[ $big_count == "$big_lines" ]] || die "big run: topic holds $big_count records, expected $big_lines"
    big_segments=$(find "$root" -name '*.log' | wc -l)
    rm -rf "$root" "$input"
fi

# --- report ----------------------------------------------------------------------------------
python3 - "$N" "$bytes" "$seg_bytes" "$t_dd" "$t_produce" "$t_cat" "$t_consume" \
    "$T_PRODUCE" "$T_CONSUME" >"$work/table" <<'PY'
import sys
n, payload, seg = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
t_dd, t_pr, t_cat, t_co = map(float, sys.argv[4:8])
tp, tc = map(float, sys.argv[8:10])
rows = [
    ("dd bs=1M conv=fsync (baseline)", t_dd, "1.00", "-", "-"),
    ("chute produce -t bench", t_pr, f"{t_dd / t_pr:.2f}", f">= {tp:g}",
     "PASS" if t_dd / t_pr >= tp else "MISS"),
    ("cat segments > /dev/null (baseline)", t_cat, "1.00", "-", "-"),
    ("chute consume -t bench > /dev/null", t_co, f"{t_cat / t_co:.2f}", f">= {tc:g}",
     "PASS" if t_cat / t_co >= tc else "MISS"),
]
hdr = ("what", "seconds", "msgs/s", "MB/s", "ratio", "target", "result")
out = [hdr] + [(w, f"{t:.3f}", f"{n / t:,.0f}", f"{payload / t / 1e6:,.0f}", r, tg, res)
               for (w, t, r, tg, res) in rows]
widths = [max(len(r[i]) for r in out) for i in range(len(hdr))]
for j, r in enumerate(out):
    print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))
    if j == 0:
        print("  ".join("-" * w for w in widths))
PY

mib() { calc "f'{$1 / 1024:.1f}'"; }
rss_verdict() { calc "'PASS' if $1 / 1024 <= $T_RSS_MIB else 'MISS'"; }

{
    echo
    echo "chute $("$chute" --version | awk '{print $2}') ($(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$repo" diff --quiet 2>/dev/null || echo '+dirty')), $(uname -srm), $(nproc) CPUs"
    echo "input: $N records x $LINE B = $bytes B payload; segment files: $seg_bytes B"
    echo "timer: $timer; MB = 10^6 bytes of payload; ratio = baseline seconds / chute seconds"
    echo "reads are warm-cache for both cat and chute (page cache not dropped)"
    echo
    cat "$work/table"
    echo
    printf '%-38s  %9s  %9s  %7s\n' "peak RSS ($rss_meter)" "MiB" "target" "result"
    printf '%-38s  %9s  %9s  %7s\n' "--------------------------------------" "---------" "---------" "-------"
    rows=("produce, $((bytes / 1000000)) MB:$rss_produce" "consume, $((bytes / 1000000)) MB:$rss_consume")
    if [[ $QUICK != 1 ]]; then
        rows+=("produce, $((big_bytes / 1000000)) MB:$rss_produce_big" "consume, $((big_bytes / 1000000)) MB:$rss_consume_big")
    fi
    for r in "${rows[@]}"; do
        printf '%-38s  %9s  %9s  %7s\n' "${r%%:*}" "$(mib "${r##*:}")" "<= $T_RSS_MIB" "$(rss_verdict "${r##*:}")"
    done
    if [[ $QUICK != 1 ]]; then
        # flat: the big run may not exceed the small one by more than max(2 MiB, 25%)
        flat() { calc "'PASS' if $2 <= max($1 + 2048, $1 * 1.25) else 'MISS'"; }
        printf '%-38s  %9s  %9s  %7s\n' "produce flat ($((bytes / 1000000)) MB -> $((big_bytes / 1000000)) MB)" \
            "$(calc "f'{($rss_produce_big - $rss_produce) / 1024:+.1f}'")" "flat" "$(flat "$rss_produce" "$rss_produce_big")"
        printf '%-38s  %9s  %9s  %7s\n' "consume flat ($((bytes / 1000000)) MB -> $((big_bytes / 1000000)) MB)" \
            "$(calc "f'{($rss_consume_big - $rss_consume) / 1024:+.1f}'")" "flat" "$(flat "$rss_consume" "$rss_consume_big")"
        echo "(big run: $big_lines records in $big_segments segment files; flat = within max(2 MiB, 25%) of the small run)"
    else
        echo "(QUICK=1: big run skipped)"
    fi
    echo
    printf '%-38s  %s\n' "chute consume -t bench | cmp - input" "$roundtrip"
} >"$work/report"
cat "$work/report"

if [[ $STRICT == 1 ]] && grep -qw MISS "$work/report"; then
    exit 1
fi
