#!/usr/bin/env bash
# bench/retention.sh - retention, compaction and reassignment figures, in one run, on this machine,
# each against a baseline measured in the same run.
#
#   bench/retention.sh                  # ~3-4 min after the build at the default sizes
#   PARTS=200 PART_KIB=100 bench/retention.sh   # retention test: partitions, KiB produced per partition
#   COMPACT_MB=128 bench/retention.sh   # compaction test: MiB of key,value lines (default 512)
#   KEYS=10000 bench/retention.sh       # distinct keys in the compaction test (default 100,000)
#   MOVE_MB=256 bench/retention.sh      # reassignment test: MiB of 100-byte lines (default 1024)
#   SIZE_MB=128 bench/retention.sh      # sets both COMPACT_MB and MOVE_MB
#   RUNS=5 bench/retention.sh           # timed runs per figure (default 3, min taken)
#   KEEP=1 bench/retention.sh           # keep the work directory
#   CHUTE=/path/to/chute bench/retention.sh     # use that binary instead of `cargo build --release`
#   NO_HYPERFINE=1                      # time with $EPOCHREALTIME deltas even when hyperfine is there
#
# What is measured (see bench/README.md, "Retention, compaction, reassignment"):
#   1. retention: `controller --once` on PARTS partitions (RF1, segment.bytes=16KiB,
#      retention.bytes=32KiB), the pass that deletes and a second pass with nothing to delete,
#      vs `find <broker dir> -name '*.log' | xargs stat` over the same tree (and, for context,
#      `rm` of exactly the files the pass deleted, in a restored copy)
#   2. compaction: the `controller --once` pass that compacts a COMPACT_MB partition (KEYS keys),
#      MB/s of the .log bytes before, vs `cat` of those .log files and `chute consume`
#   3. reassignment: `topic reassign T -p 0 --replicas <other>` of a MOVE_MB RF1 partition
#      between two brokers (back and forth), vs `cp -r` of the partition directory (and + sync)
set -euo pipefail

PARTS=${PARTS:-1000}
PART_KIB=${PART_KIB:-100}
COMPACT_MB=${COMPACT_MB:-${SIZE_MB:-512}}
KEYS=${KEYS:-100000}
MOVE_MB=${MOVE_MB:-${SIZE_MB:-1024}}
RUNS=${RUNS:-3}
KEEP=${KEEP:-0}
LINE=100                               # bytes per line, newline included
SEG_BYTES=16384                        # part 1: segment.bytes=16KiB
RET_BYTES=32768                        # part 1: retention.bytes=32KiB

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=bench/lib.sh
source "$here/lib.sh"                  # chute, make_work, now, calc, best_time, new_cluster, ...
make_work "${TMPDIR:-/tmp}/chute-ret.XXXXXX"

notes=$work/notes                      # anything unexpected, for the report
: >"$notes"
note() { printf '%s\n' "$*" >>"$notes"; log "bench: NOTE: $*"; }

# --- 1. retention on PARTS partitions -----------------------------------------------------------
ret_lines=$((PARTS * PART_KIB * 1024 / LINE))
log "1. retention: $PARTS partitions, $ret_lines keyed lines x $LINE B ($((ret_lines * LINE / 1000000)) MB), --batch-size 4KiB"
new_cluster ret 1
R=$work/ret/root B=$work/ret/d0
"$chute" --root "$R" topic create r -p "$PARTS" -c segment.bytes=16KiB -c retention.bytes=32KiB 2>/dev/null
# key,value: 8-char keys cycling over max(100000, 10 x PARTS) values (so every partition gets
# keys), 90-byte values
python3 - "$work/ret.in" "$ret_lines" "$((PARTS * 10 > 100000 ? PARTS * 10 : 100000))" <<'PY'
import sys
path, n, keys = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
pad = b"v" * 90 + b"\n"
with open(path, "wb") as f:
    for lo in range(0, n, 100_000):
        f.write(b"".join(b"k%07d," % (i % keys) + pad for i in range(lo, min(n, lo + 100_000))))
PY
t0=$(now)
"$chute" --root "$R" produce -q -t r -K , --batch-size 4KiB --file "$work/ret.in"
t1=$(now)
ret_produce_s=$(calc "round($t1 - $t0, 1)")
rm -f "$work/ret.in"
sync
# per-partition segment counts and .log bytes, before
seg_stats() { python3 - "$1" "$PARTS" <<'PY'
import os, sys
b, parts = sys.argv[1], int(sys.argv[2])
segs, sizes = [], []
for p in range(parts):
    d = os.path.join(b, f"r-{p}")
    logs = [f for f in os.listdir(d) if f.endswith(".log")]
    segs.append(len(logs))
    sizes.append(sum(os.path.getsize(os.path.join(d, f)) for f in logs))
print(sum(segs), min(segs), max(segs), sum(sizes), min(sizes), max(sizes))
PY
}
read -r ret_segs_before ret_segmin_before ret_segmax_before ret_bytes_before _ _ <<<"$(seg_stats "$B")"
ret_files_before=$(find "$B" -type f | wc -l)
log "1. retention: produced in ${ret_produce_s}s: $ret_segs_before segments ($ret_segmin_before-$ret_segmax_before per partition), $ret_bytes_before B of .log, $ret_files_before files"
# a pristine copy of the whole cluster (root + broker dir) to restore before every run of a
# pass that deletes (cp -a keeps mtimes; same path, so metadata.json's broker paths hold)
cp -a "$work/ret" "$work/ret.snap"
sync
restore="rm -rf $(q "$work/ret") && cp -a $(q "$work/ret.snap") $(q "$work/ret") && sync"
stat_cmd() { printf '%s' "find $(q "$1") -name '*.log' -print0 | xargs -0 stat >/dev/null"; }

log "1. retention: find | xargs stat over the tree before retention x$RUNS"
t_stat_before=$(best_time stat-before "" "$(stat_cmd "$work/ret.snap/d0")")
log "1. retention: controller --once, the pass that deletes x$RUNS (tree restored before each run)"
t_ret=$(best_time ret-pass "$restore" \
    "$(q "$chute") --root $(q "$R") controller --once 2>$(q "$work/ret-pass.log")")
ret_logged=$(grep -c ': retention: ' "$work/ret-pass.log" || true)
# the files that pass deleted (in the snapshot, not in the live tree)
(cd "$work/ret.snap/d0" && find . -type f | sort) >"$work/files.before"
(cd "$B" && find . -type f | sort) >"$work/files.after"
comm -23 "$work/files.before" "$work/files.after" >"$work/deleted"
ret_deleted=$(wc -l <"$work/deleted")
ret_deleted_logs=$(grep -c '\.log$' "$work/deleted" || true)
log "1. retention: steady state: controller --once with nothing to delete x$RUNS"
t_steady=$(best_time ret-steady "" "$(q "$chute") --root $(q "$R") controller --once 2>$(q "$work/ret-steady.log")")
steady_logged=$(grep -c ': retention: ' "$work/ret-steady.log" || true)
# the fixed cost of a pass (start, lease, probes, exit), whatever the partitions: an empty cluster
new_cluster empty 1
log "1. retention: controller --once on a cluster with no topics (fixed cost of a pass) x$RUNS"
t_empty=$(best_time empty "" "$(q "$chute") --root $(q "$work/empty/root") controller --once 2>/dev/null")
rm -rf "$work/empty"
log "1. retention: find | xargs stat over the tree after retention x$RUNS"
t_stat_after=$(best_time stat-after "" "$(stat_cmd "$B")")
# the state to check: the one the timed runs left
read -r ret_segs_after ret_segmin_after ret_segmax_after ret_bytes_after ret_pmin_after ret_pmax_after <<<"$(seg_stats "$B")"
ret_check=PASS
[[ $ret_pmax_after -le $((RET_BYTES + SEG_BYTES)) ]] ||
    ret_check="MISS (a partition keeps $ret_pmax_after B of .log > retention.bytes + segment.bytes = $((RET_BYTES + SEG_BYTES)))"
[[ $ret_logged -eq $PARTS ]] || note "retention pass logged $ret_logged partitions with deletions, expected $PARTS"
[[ $steady_logged -eq 0 ]] || note "steady-state pass still logged $steady_logged retention deletions"
if ! "$chute" --root "$R" verify -t r >"$work/verify.out" 2>&1; then
    ret_check="MISS (chute verify: $(tr '\n' ' ' <"$work/verify.out" | cut -c1-300))"
fi
log "1. retention: rm of the $ret_deleted files the pass deleted, in a restored copy x$RUNS"
t_rm=$(best_time rm "$restore" "cd $(q "$B") && xargs -d '\n' rm -f <$(q "$work/deleted")")
rm -rf "$work/ret" "$work/ret.snap"

# --- 2. compaction ---------------------------------------------------------------------------
cmp_lines=$((COMPACT_MB * 1024 * 1024 / 111))
log "2. compaction: $cmp_lines lines 'kNNNNNNNN,<100-byte value>' over $KEYS keys ($((cmp_lines * 111 / 1000000)) MB)"
python3 - "$work/cmp.in" "$cmp_lines" "$KEYS" <<'PY'
import sys
path, n, keys = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
pad = b"v" * 90
with open(path, "wb") as f:
    for lo in range(0, n, 100_000):
        # key (9 B), ',', value: 10-digit line number + 90 'v' (100 B), '\n' = 111 B
        f.write(b"".join(b"k%08d,%010d" % (i % keys, i) + pad + b"\n"
                         for i in range(lo, min(n, lo + 100_000))))
PY
cmp_in_bytes=$(stat -c %s "$work/cmp.in")
C=$work/cmp/root CB=$work/cmp/d0
fresh_cmp="rm -rf $(q "$work/cmp") && mkdir -p $(q "$work/cmp") && \
$(q "$chute") --root $(q "$C") cluster init --brokers 1 --broker-dir 0=$(q "$CB") 2>/dev/null && \
$(q "$chute") --root $(q "$C") topic create c -c cleanup.policy=compact -c segment.bytes=64MiB \
-c segment.ms=1s -c delete.retention=1ms 2>/dev/null && \
$(q "$chute") --root $(q "$C") produce -q -t c -K , --file $(q "$work/cmp.in") && sync"
# one untimed setup: sizes before, and the read baselines on the uncompacted log
bash -c "$fresh_cmp"
cmp_before=$(dir_bytes "$CB/c-0" .log)
cmp_segs_before=$(find "$CB/c-0" -name '*.log' | wc -l)
log "2. compaction: partition c-0 holds $cmp_before B in $cmp_segs_before .log files"
log "2. compaction: cat of the .log files > /dev/null x$RUNS (warm cache)"
t_cat=$(best_time cat "" "cat $(q "$CB")/c-0/*.log >/dev/null")
log "2. compaction: chute consume -t c > /dev/null x$RUNS (before compaction)"
t_consume=$(best_time consume "" "$(q "$chute") --root $(q "$C") consume -t c >/dev/null")
# Timed: the pass that compacts. Before each run (not timed): fresh cluster, produce, sync, and
# 1.2 s so that segment.ms=1s rolls the active segment in the timed pass.
log "2. compaction: controller --once, the pass that compacts x$RUNS (fresh topic + 1.2 s wait before each)"
t_compact=$(best_time compact "$fresh_cmp && sleep 1.2" \
    "$(q "$chute") --root $(q "$C") controller --once 2>$(q "$work/cmp-pass.log")")
cmp_after=$(dir_bytes "$CB/c-0" .log)
cmp_logline=$(grep -m1 ': compaction: ' "$work/cmp-pass.log" | sed 's/^.*partition /partition /' || true)
[[ -n $cmp_logline ]] || cmp_logline="(no compaction line in the timed pass's log)"
# did the timed pass do all of it? a second pass should find nothing (more) to compact
"$chute" --root "$C" controller --once 2>"$work/cmp-pass2.log"
cmp_after2=$(dir_bytes "$CB/c-0" .log)
if grep -q ': compaction: ' "$work/cmp-pass2.log"; then
    note "a second controller pass compacted again: $(grep -m1 ': compaction: ' "$work/cmp-pass2.log" | sed 's/^.*partition /partition /')"
fi
cmp_check=PASS
dups=$("$chute" --root "$C" consume -t c --format '%k\n' | sort | uniq -d | wc -l)
ncmp=$("$chute" --root "$C" consume -t c --format '%k\n' | wc -l)
[[ $dups -eq 0 ]] || cmp_check="MISS ($dups keys appear more than once after compaction)"
[[ $ncmp -eq $((cmp_lines < KEYS ? cmp_lines : KEYS)) ]] ||
    cmp_check="MISS ($ncmp records after compaction, expected one per key = $((cmp_lines < KEYS ? cmp_lines : KEYS)))"
# the latest value per key must survive: the record of the last line with key k holds the
# largest line number i with i % KEYS == k
lastok=$("$chute" --root "$C" consume -t c --format '%k %s\n' | python3 -c '
import sys
n, keys = int(sys.argv[1]), int(sys.argv[2])
bad = 0
for line in sys.stdin:
    k, v = line.split()
    k, i = int(k[1:]), int(v[:10])
    last = k + ((n - 1 - k) // keys) * keys
    bad += i != last
print(bad)' "$cmp_lines" "$KEYS")
[[ $lastok -eq 0 ]] || cmp_check="MISS ($lastok keys kept a value that is not their latest)"
if ! "$chute" --root "$C" verify >"$work/verify.out" 2>&1; then
    cmp_check="MISS (chute verify: $(tr '\n' ' ' <"$work/verify.out" | cut -c1-300))"
fi
rm -rf "$work/cmp" "$work/cmp.in"

# --- 3. reassignment vs cp -r ----------------------------------------------------------------
mv_lines=$((MOVE_MB * 1024 * 1024 / LINE))
log "3. reassignment: $mv_lines lines x $LINE B ($((mv_lines * LINE / 1000000)) MB)"
python3 - "$work/mv.in" "$mv_lines" <<'PY'
import sys
path, n = sys.argv[1], int(sys.argv[2])
pad = b"x" * 89 + b"\n"
with open(path, "wb") as f:
    for lo in range(0, n, 100_000):
        f.write(b"".join(b"%010d" % i + pad for i in range(lo, min(n, lo + 100_000))))
PY
new_cluster mv 2
M=$work/mv/root
"$chute" --root "$M" topic create t 2>/dev/null
"$chute" --root "$M" produce -q -t t --file "$work/mv.in"
rm -f "$work/mv.in"
sync
replicas() { "$chute" --root "$M" topic describe t --json |
    python3 -c 'import json,sys; p=json.load(sys.stdin)["partitions"][0]; print(",".join(map(str, p["replicas"])), p["leader"])'; }
read -r mv_first mv_leader <<<"$(replicas)"
[[ $mv_first == 0 || $mv_first == 1 ]] || die "unexpected replicas for t-0: $mv_first"
mv_bytes=$(dir_bytes "$work/mv/d$mv_first/t-0")
log "3. reassignment: t-0 on broker $mv_first (leader $mv_leader), $mv_bytes B in its directory"
# Timed by hand (each run moves the partition to the other broker, so runs alternate 0->1,
# 1->0, ...); sync before each run, not timed.
log "3. reassignment: topic reassign t -p 0 to the other broker x$RUNS (back and forth)"
mv_times="" mv_moves="" cur=$mv_first
for ((i = 0; i < RUNS; i++)); do
    to=$((1 - cur))
    sync
    t0=$(now)
    "$chute" --root "$M" topic reassign t -p 0 --replicas "$to" 2>>"$work/reassign.log" ||
        die "topic reassign t -p 0 --replicas $to failed: $(tail -3 "$work/reassign.log")"
    t1=$(now)
    mv_times+="$(calc "$t1 - $t0") "
    mv_moves+="$cur->$to "
    read -r now_on _ <<<"$(replicas)"
    [[ $now_on == "$to" ]] || note "after reassign to $to, describe says replicas $now_on"
    [[ -d $work/mv/d$cur/t-0 ]] && note "after reassign $cur->$to, $work/mv/d$cur/t-0 still exists"
    cur=$to
done
t_move=$(record reassign "$mv_times")
src=$work/mv/d$cur/t-0
log "3. reassignment: cp -r of the partition directory x$RUNS"
t_cp=$(best_time cp "rm -rf $(q "$work/copy"); sync" "cp -r $(q "$src") $(q "$work/copy")")
log "3. reassignment: cp -r + sync of the copied files x$RUNS"
t_cpsync=$(best_time cp+sync "rm -rf $(q "$work/copy"); sync" \
    "cp -r $(q "$src") $(q "$work/copy") && sync $(q "$work/copy")/* $(q "$work/copy")")
rm -rf "$work/copy"
mv_check=PASS
mv_count=$("$chute" --root "$M" consume -t t | wc -l)
[[ $mv_count -eq $mv_lines ]] || mv_check="MISS (consume gave $mv_count records, expected $mv_lines)"
"$chute" --root "$M" consume -t t | cmp -s - <(python3 -c '
import sys
n = int(sys.argv[1]); pad = b"x" * 89 + b"\n"
for lo in range(0, n, 100_000):
    sys.stdout.buffer.write(b"".join(b"%010d" % i + pad for i in range(lo, min(n, lo + 100_000))))' "$mv_lines") ||
    mv_check="MISS (consume after the moves differs from the input)"
if ! "$chute" --root "$M" verify >"$work/verify.out" 2>&1; then
    mv_check="MISS (chute verify: $(tr '\n' ' ' <"$work/verify.out" | cut -c1-300))"
fi
mv_after=$(dir_bytes "$src")
rm -rf "$work/mv"

# --- report ----------------------------------------------------------------------------------
{
    echo
    echo "chute $("$chute" --version | awk '{print $2}') ($(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$repo" diff --quiet 2>/dev/null || echo '+dirty')), $(uname -srm), $(nproc) CPUs"
    echo "work dir on: $(df -PT "$work" | awk 'NR == 2 {print $1 " (" $2 ")"}') mount options: $(findmnt -no OPTIONS -T "$work" 2>/dev/null || echo '?'); load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "timer: $timer; the reassignment runs: \$EPOCHREALTIME deltas (min of $RUNS alternating moves)"
    echo
    RET_CHECK=$ret_check CMP_CHECK=$cmp_check MV_CHECK=$mv_check CMP_LOGLINE=$cmp_logline \
        python3 - "$work" <<PY
import os, sys
E = os.environ
work = sys.argv[1]
cpu = {}
if os.path.exists(os.path.join(work, "cpu")):
    for line in open(os.path.join(work, "cpu")):
        k, v = line.rstrip("\n").split("\t")
        cpu[k] = f"{float(v):.3f}"
spread = {}
for line in open(os.path.join(work, "spread")):
    k, v = line.rstrip("\n").split("\t")
    spread[k] = " ".join(f"{float(x):.3f}" for x in v.split())

def table(hdr, rows):
    out = [hdr] + rows
    w = [max(len(r[i]) for r in out) for i in range(len(hdr))]
    for j, r in enumerate(out):
        print("  ".join(c.ljust(x) if i == 0 else c.rjust(x) for i, (c, x) in enumerate(zip(r, w))))
        if j == 0:
            print("  ".join("-" * x for x in w))
def runs(*keys):
    print("every run (s): " + "; ".join(f"{k} {spread[k]}" for k in keys))

# 1. retention
parts = $PARTS
t_stat_b, t_ret, t_rm, t_steady, t_stat_a, t_empty = $t_stat_before, $t_ret, $t_rm, $t_steady, $t_stat_after, $t_empty
print(f"1. retention: {parts} partitions RF1, segment.bytes=16KiB, retention.bytes=32KiB; produced "
      f"{$ret_bytes_before:,} B of .log in {$ret_segs_before:,} segments "
      f"({$ret_segmin_before}-{$ret_segmax_before} per partition, {$ret_files_before:,} files) in {$ret_produce_s:.1f} s")
print(f"   the deleting pass removed {$ret_deleted:,} files ({$ret_deleted_logs:,} segments); "
      f"after: {$ret_segs_after:,} segments ({$ret_segmin_after}-{$ret_segmax_after} per partition); "
      f"ms/part = ms per partition")
ms = lambda t: f"{t * 1000 / parts:.2f}"
table(("what", "seconds", "ms/part", "x baseline", "CPU s"), [
    ("find | xargs stat, tree before (baseline)", f"{t_stat_b:.3f}", ms(t_stat_b), "1.0", cpu.get("stat-before", "-")),
    ("controller --once, deletes (restored tree)", f"{t_ret:.3f}", ms(t_ret), f"{t_ret / t_stat_b:.1f}", cpu.get("ret-pass", "-")),
    ("rm of the same files (context)", f"{t_rm:.3f}", ms(t_rm), f"{t_rm / t_stat_b:.1f}", cpu.get("rm", "-")),
    ("find | xargs stat, tree after (baseline)", f"{t_stat_a:.3f}", ms(t_stat_a), "1.0", cpu.get("stat-after", "-")),
    ("controller --once, nothing to delete", f"{t_steady:.3f}", ms(t_steady), f"{t_steady / t_stat_a:.1f}", cpu.get("ret-steady", "-")),
    ("controller --once, no topics (fixed cost)", f"{t_empty:.3f}", "-", "-", cpu.get("empty", "-")),
])
print("x baseline = seconds / the stat row above it; CPU s = mean user + system per run (hyperfine)")
runs("stat-before", "ret-pass", "rm", "stat-after", "ret-steady", "empty")
print(f"net of the fixed cost: deleting pass {ms(t_ret - t_empty)} ms/part, "
      f"steady state {ms(t_steady - t_empty)} ms/part")
print(f"kept per partition: {$ret_pmin_after:,}-{$ret_pmax_after:,} B of .log "
      f"(limit retention.bytes + segment.bytes = {$RET_BYTES + $SEG_BYTES:,}); "
      f"pass logged {$ret_logged} partitions; chute verify: " + E["RET_CHECK"])

# 2. compaction
before, after = $cmp_before, $cmp_after
t_c, t_cat, t_con = $t_compact, $t_cat, $t_consume
mb = lambda t: f"{before / t / 1e6:,.0f}"
print()
print(f"2. compaction: {$cmp_lines:,} records over $KEYS keys, {$cmp_in_bytes:,} B of input; "
      f"partition .log {before:,} B in $cmp_segs_before files -> {after:,} B; MB = 10^6 B of .log before")
table(("what", "seconds", "MB/s", "ratio"), [
    ("cat .log files > /dev/null (baseline)", f"{t_cat:.3f}", mb(t_cat), "1.00"),
    ("chute consume > /dev/null (context)", f"{t_con:.3f}", mb(t_con), f"{t_cat / t_con:.2f}"),
    ("controller --once, compacts", f"{t_c:.3f}", mb(t_c), f"{t_cat / t_c:.2f}"),
])
print(f"ratio = cat seconds / seconds; compaction vs consume: {t_con / t_c:.2f}x consume's MB/s")
runs("cat", "consume", "compact")
print("timed pass logged: " + E["CMP_LOGLINE"])
print("after: one record per key, latest value kept, chute verify: " + E["CMP_CHECK"])

# 3. reassignment
b = $mv_bytes
t_mv, t_cp, t_cps = $t_move, $t_cp, $t_cpsync
mb = lambda t: f"{b / t / 1e6:,.0f}"
print()
print(f"3. reassignment: {$mv_lines:,} records x 100 B, partition directory {b:,} B; "
      f"moves: $mv_moves; MB = 10^6 B of the partition directory")
table(("what", "seconds", "MB/s", "ratio"), [
    ("cp -r partition dir (baseline)", f"{t_cp:.3f}", mb(t_cp), "1.00"),
    ("cp -r + sync of the copy", f"{t_cps:.3f}", mb(t_cps), f"{t_cp / t_cps:.2f}"),
    ("chute topic reassign -p 0", f"{t_mv:.3f}", mb(t_mv), f"{t_cp / t_mv:.2f}"),
])
print("ratio = cp -r seconds / seconds")
runs("cp", "cp+sync", "reassign")
print(f"after the moves: partition directory {$mv_after:,} B, consume | wc -l = $mv_count, "
      f"consume == input, chute verify: " + E["MV_CHECK"])

print()
print("summary                             measured                                    check")
print("----------------------------------  ------------------------------------------  ------")
def s(w, m, c):
    print(f"{w:<34}  {m:<42}  {c.split()[0]}")
s("retention pass, deletes", f"{t_ret:.2f} s = {ms(t_ret)} ms/part ({t_ret / t_stat_b:.1f}x stat)", E["RET_CHECK"])
s("retention pass, steady state", f"{t_steady:.2f} s = {ms(t_steady)} ms/part ({t_steady / t_stat_a:.1f}x stat)", E["RET_CHECK"])
s("compaction", f"{before / t_c / 1e6:,.0f} MB/s = {t_cat / t_c:.2f}x cat, {t_con / t_c:.2f}x consume", E["CMP_CHECK"])
s("reassignment", f"{b / t_mv / 1e6:,.0f} MB/s = {t_cp / t_mv:.2f}x cp -r, {t_cps / t_mv:.2f}x cp+sync", E["MV_CHECK"])
PY
    if [[ -s $notes ]]; then
        echo
        sed 's/^/NOTE: /' "$notes"
    fi
} >"$work/report"
cat "$work/report"
