#!/usr/bin/env bash
# bench/soak.sh - a soak test: for N minutes, everything at once against one chute root, then an
# independent check of what came out (bench/soak_check.py). Not part of `cargo test`.
#
#   bench/soak.sh                        # 5 minutes, work dir under $TMPDIR (/tmp)
#   bench/soak.sh --minutes 30 --workdir /var/tmp --seed 42
#   CHUTE=path/to/chute bench/soak.sh    # that binary instead of `cargo build --release` (lib.sh)
#   KEEP=1 bench/soak.sh                 # keep the work directory (it is always kept on a violation)
#   PRODUCERS=6 RATE=2000 bench/soak.sh  # concurrent producers (default 4), records/s each (1000)
#
# What runs concurrently, on a 3-broker cluster (`cluster init --brokers 3`), every topic RF 3 with
# min.insync.replicas=2:
#   orders  4 partitions, keyed (random keys)              groups: soak-orders (2 cron + 1 follow)
#   events  2 partitions, no keys, grown to 4 then 6 by `topic alter --partitions` mid-run
#                                                          groups: soak-events (2 follow + 1 cron)
#   logs    3 partitions, segment.bytes=4KiB, retention.bytes=16KiB, retention=30s, one key per
#           producer run (a run goes to one partition)    groups: soak-logs (1 cron)
#   state   2 partitions, cleanup.policy=compact, segment.bytes=4KiB, 64 keys
# - PRODUCERS loops of `produce --acks all`, each run a bounded, paced stream of records whose
#   value is `producer:run:seq` (the run's input is kept in prod/); about a quarter of the runs
#   get `kill -9` at a random moment; each run's exit status is logged (prod/runs.log);
# - consumer-group members: cron (`consume -g G --format json`, over and over, some killed -9)
#   and `--follow` (killed with -9 or TERM after 4-20 s, restarted); every delivered line is
#   stamped with its arrival time and the member run that delivered it (groups/G.deliveries);
# - two `chute controller` (one active, one standby; --retention-check 5s,
#   --preferred-leader-interval 30s), one of them killed -9 every 8-20 s and restarted;
# - `broker down ID` / `broker up ID` cycles, one broker at a time;
# - `topic alter events --partitions 4` at 30 % of the run, 6 at 60 %.
# At the end: stop everything (the workers finish their current run; follow members are killed),
# `broker up` every broker, `controller --once`, `verify` (must exit 0), a last cron run of every
# group (the drain), a full `consume --format json` of every topic and `offsets -t T --json`; then
# bench/soak_check.py checks it all and prints the summary. Exit 0 only without any violation.
set -uo pipefail

minutes=5
workdir=${TMPDIR:-/tmp}
seed=$(( $(date +%s) % 100000 ))
usage() { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while (($#)); do
    case $1 in
        --minutes) minutes=${2:?}; shift 2 ;;
        --minutes=*) minutes=${1#*=}; shift ;;
        --workdir) workdir=${2:?}; shift 2 ;;
        --workdir=*) workdir=${1#*=}; shift ;;
        --seed) seed=${2:?}; shift 2 ;;
        --seed=*) seed=${1#*=}; shift ;;
        -h | --help) usage 0 ;;
        *) echo "soak: unknown argument: $1" >&2; usage 2 >&2 ;;
    esac
done
[[ $minutes =~ ^[0-9]+([.][0-9]+)?$ ]] || { echo "soak: --minutes needs a number" >&2; exit 2; }
PRODUCERS=${PRODUCERS:-4}
RATE=${RATE:-1000}
RUNS=1                                 # lib.sh's timer line wants it; unused here
KEEP=${KEEP:-0}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=bench/lib.sh
source "$here/lib.sh"                  # $chute, make_work, log, die
mkdir -p "$workdir" || die "cannot create $workdir"
make_work "$workdir/chute-soak.XXXXXX"
root=$work/root
c=("$chute" --root "$root")

# Every worker is started as its own process group (set -m around the `&` only), so that the
# cleanup can kill a worker with everything it started (chute processes, generators, stampers) by
# group id. Ctrl-C goes to the terminal's foreground group: this script (and the `sleep` it is in),
# whose INT trap exits through soak_cleanup.
workers=()                             # pids (= process group ids) of the worker loops
stop=$work/stop
soak_cleanup() {
    local rc=$? w
    trap - EXIT INT TERM
    : >"$stop" 2>/dev/null
    for w in "${workers[@]}"; do kill -9 -- "-$w" 2>/dev/null; done
    bench_cleanup                      # lib.sh: kills what is listed in $pids, removes $work unless KEEP=1
    exit "$rc"
}
trap soak_cleanup EXIT
trap 'log "soak: interrupted"; exit 130' INT TERM

us() { local t=${EPOCHREALTIME/[.,]/}; printf '%s' "$t"; }   # wall clock, microseconds
alive() { [[ ! -e $stop ]]; }
rnd() { echo $(($1 + RANDOM % ($2 - $1 + 1))); }            # integer in [a, b]
msleep() { sleep "$(printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)))"; }   # pacing only
event() { printf '%s %s\n' "$(us)" "$*" >>"$work/events.log"; }
mkdir -p "$work/prod" "$work/groups" "$work/final" "$work/logs"

# --- helpers written into the work directory ----------------------------------------------------
# gen.py ID RUN N KEYMODE IN SENT RATE: writes the run's N records to IN (what it means to send),
# then streams them to stdout in random chunks paced at RATE records/s; SENT gets how many lines
# were written to the pipe (fewer when the producer was killed).
cat >"$work/gen.py" <<'PY'
import os, random, sys, time
pid, run, n, keymode, inpath, sentpath, rate = sys.argv[1:8]
n, rate = int(n), float(rate)
rng = random.Random(f"{pid}:{run}")
lines = []
for s in range(1, n + 1):
    v = f"{pid}:{run}:{s}"
    if keymode == "none":
        lines.append(v)
    elif keymode == "run":
        lines.append(f"{pid}-{run},{v}")
    else:                                   # rand:PREFIX:KEYS
        _, prefix, keys = keymode.split(":")
        lines.append(f"{prefix}{rng.randrange(int(keys))},{v}")
with open(inpath, "w") as f:
    f.write("".join(l + "\n" for l in lines))
sent = 0
try:
    while sent < n:
        k = min(n - sent, rng.randint(1, 40))
        os.write(1, "".join(l + "\n" for l in lines[sent:sent + k]).encode())
        sent += k
        time.sleep(k / rate)
except (BrokenPipeError, OSError):
    pass
finally:
    with open(sentpath, "w") as f:
        f.write(f"{sent}\n")
PY
# stamp.py RUNID OUT: appends "RUNID<TAB>arrival us<TAB>line" for every complete line of stdin to
# OUT (one O_APPEND write per read, so concurrent stampers never interleave inside a line); an
# incomplete last line (the member was killed mid-write) is counted in OUT.partial, not kept.
# With READY FIFO: says it is running (creates READY) before it opens FIFO and reads from it,
# so a member is started only once its reader is up. chute commits what its reader took: a
# reader still starting up a second later would make records count as delivered again.
cat >"$work/stamp.py" <<'PY'
import os, sys, time
rid, out = sys.argv[1], sys.argv[2]
fd = os.open(out, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
src = 0
if len(sys.argv) > 4:
    open(sys.argv[3], "w").close()
    src = os.open(sys.argv[4], os.O_RDONLY)
pre, rest = rid.encode() + b"\t", b""
while True:
    data = os.read(src, 1 << 16)
    if not data:
        break
    t = str(time.time_ns() // 1000).encode()
    data = rest + data
    cut = data.rfind(b"\n") + 1
    rest = data[cut:]
    if cut:
        os.write(fd, b"".join(pre + t + b"\t" + l + b"\n" for l in data[:cut].split(b"\n")[:-1]))
if rest:
    with open(out + ".partial", "a") as f:
        f.write(f"{rid} {len(rest)}\n")
PY

# --- the cluster and topics -------------------------------------------------------------------------
log "soak: $minutes min, seed $seed, $PRODUCERS producers at $RATE records/s, work dir $work"
log "soak: $("$chute" --version 2>/dev/null | head -1) at $chute"
"${c[@]}" cluster init --brokers 3 2>"$work/logs/setup.err" || die "cluster init failed"
mk() { "${c[@]}" topic create "$@" -r 3 -c min.insync.replicas=2 2>>"$work/logs/setup.err" ||
    die "topic create $* failed: $(cat "$work/logs/setup.err")"; }
mk orders -p 4
mk events -p 2
mk logs -p 3 -c segment.bytes=4KiB -c retention.bytes=16KiB -c retention=30s
mk state -p 2 -c cleanup.policy=compact -c segment.bytes=4KiB -c delete.retention=1s
# topic kind partitions (read by the checker)
printf '%s\n' "orders plain" "events plain" "logs retention" "state compact" >"$work/topics"
# group topic
printf '%s\n' "soak-orders orders" "soak-events events" "soak-logs logs" >"$work/groups.list"

start_us=$(us)
end_us=$((start_us + $(python3 -c "print(int(float('$minutes') * 60e6))")))
before_end() { (($(us) < end_us)); }
spawn() { # a worker: its own process group; inside, no job control (its children stay in its group)
    set -m
    (set +m; "$@") </dev/null 2>>"$work/logs/workers.err" &
    workers+=($!)
    set +m
}

# --- producers ------------------------------------------------------------------------------------
producer() {
    local id=p$1 run=0 topic keymode n kill_at cpid rc killed kill_us t0 t1 args
    RANDOM=$((seed * 31 + $1))
    while alive && before_end; do
        run=$((run + 1))
        case $((RANDOM % 20)) in
            [0-6]) topic=orders keymode=rand:o:100000 ;;
            [7-9] | 1[0-2]) topic=events keymode=none ;;
            1[3-6]) topic=logs keymode=run ;;
            *) topic=state keymode=rand:k:64 ;;
        esac
        n=$(rnd 20 2500)
        args=(produce -q -t "$topic" --acks all)
        [[ $keymode != none ]] && args+=(-K ,)
        ((RANDOM % 4 == 0)) && args+=(--batch-size 2KiB)
        kill_at=-1
        ((RANDOM % 100 < 25)) && kill_at=$(rnd 0 $((n * 1000 / RATE + 200)))
        local base=$work/prod/$id.$run
        t0=$(us)
        python3 "$work/gen.py" "$id" "$run" "$n" "$keymode" "$base.in" "$base.sent" "$RATE" |
            "${c[@]}" "${args[@]}" 2>"$base.err" &
        cpid=$!
        echo "$cpid" >>"$pids"
        killed=0 kill_us=0
        if ((kill_at >= 0)); then
            msleep "$kill_at"
            kill_us=$(us)
            kill -9 "$cpid" 2>/dev/null && killed=1
        fi
        wait "$cpid"
        rc=$?
        t1=$(us)
        [[ -s $base.err ]] || rm -f "$base.err"
        echo "$id $run $topic $n $keymode $t0 $t1 $rc $killed $kill_us $cpid" >>"$work/prod/runs.log"
        msleep "$(rnd 0 300)"
    done
}

# --- consumer group members --------------------------------------------------------------------
# groups/G.runs: "start RUNID KIND PID START_US" and "end RUNID RC KILLED KILL_US END_US"
stamper() { # GROUP RUNID -> a reader of $work/groups/RUNID.fifo that is up and reading
    local fifo=$work/groups/$2.fifo ready=$work/groups/$2.ready i=0
    rm -f "$fifo" "$ready"
    mkfifo "$fifo"
    python3 "$work/stamp.py" "$2" "$work/groups/$1.deliveries" "$ready" "$fifo" &
    echo "$!" >>"$pids"
    while [[ ! -e $ready ]] && ((i < 2000)); do msleep 5; i=$((i + 1)); done
}
member() { # GROUP TOPIC KIND RUNID [consume args...] -> runs one member in the background: $cpid
    local g=$1 t=$2 kind=$3 rid=$4
    shift 4
    stamper "$g" "$rid"
    "${c[@]}" consume -t "$t" -g "$g" --format json "$@" \
        >"$work/groups/$rid.fifo" 2>"$work/groups/$rid.err" &
    cpid=$!
    echo "$cpid" >>"$pids"
    echo "start $rid $kind $cpid $(us)" >>"$work/groups/$g.runs"
}
member_end() { # GROUP RUNID RC KILLED KILL_US
    echo "end $2 $3 $4 $5 $(us)" >>"$work/groups/$1.runs"
    [[ -s $work/groups/$2.err ]] || rm -f "$work/groups/$2.err"
}
cron_worker() { # GROUP TOPIC INDEX
    local g=$1 t=$2 k=0 cpid rc killed kill_us
    RANDOM=$((seed * 37 + ${#g} * 7 + $3))
    while alive && before_end; do
        k=$((k + 1))
        member "$g" "$t" cron "$g.c$3.$k"
        killed=0 kill_us=0
        if ((RANDOM % 100 < 15)); then
            # A cron run whose reader keeps up lasts tens of ms: kill within that.
            msleep "$(rnd 0 40)"
            kill_us=$(us)
            kill -9 "$cpid" 2>/dev/null && killed=1
        fi
        wait "$cpid"
        rc=$?
        member_end "$g" "$g.c$3.$k" "$rc" "$killed" "$kill_us"
        msleep "$(rnd 200 1200)"
    done
}
follow_worker() { # GROUP TOPIC INDEX
    local g=$1 t=$2 k=0 cpid rc killed kill_us until sig
    RANDOM=$((seed * 41 + ${#g} * 7 + $3))
    while alive && before_end; do
        k=$((k + 1))
        member "$g" "$t" follow "$g.f$3.$k" --follow
        until=$(($(us) + $(rnd 4000 20000) * 1000))
        while alive && (($(us) < until)) && kill -0 "$cpid" 2>/dev/null; do sleep 0.2; done
        sig=-9
        ((RANDOM % 10 < 3)) && sig=-TERM
        kill_us=$(us)
        killed=0
        kill "$sig" "$cpid" 2>/dev/null && killed=1
        wait "$cpid"
        rc=$?
        member_end "$g" "$g.f$3.$k" "$rc" "$killed" "$kill_us"
        msleep "$(rnd 300 3000)"
    done
}

# --- controllers: slot 0 and slot 1, one active, one standby; one of them killed -9 now and then ---
controller_worker() {
    local slot pids_=() victim active which
    RANDOM=$((seed * 43))
    start_ctl() {
        "${c[@]}" controller --retention-check 5s --preferred-leader-interval 30s \
            2>>"$work/logs/controller.$1.log" &
        pids_[$1]=$!
        echo "$!" >>"$pids"
        event "controller-start slot=$1 pid=$!"
    }
    start_ctl 0
    start_ctl 1
    while alive && before_end; do
        msleep "$(rnd 8000 20000)"
        alive && before_end || break
        active=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' \
            "$root/controller.json" 2>/dev/null || echo 0)
        # 70 %: the active one (a takeover); otherwise the standby
        slot=$((RANDOM % 2))
        if ((RANDOM % 10 < 7)); then
            for which in 0 1; do [[ ${pids_[$which]} == "$active" ]] && slot=$which; done
        fi
        victim=${pids_[$slot]}
        which=standby
        [[ $victim == "$active" ]] && which=active
        if kill -9 "$victim" 2>/dev/null; then
            wait "$victim" 2>/dev/null
            event "controller-kill slot=$slot pid=$victim role=$which"
        fi
        msleep "$(rnd 200 2000)"
        start_ctl "$slot"
    done
    for slot in 0 1; do kill -TERM "${pids_[$slot]}" 2>/dev/null; done
    wait
}

# --- broker down / up cycles, one broker at a time ---------------------------------------------------
broker_worker() {
    local id t0 deadline rc
    RANDOM=$((seed * 47))
    msleep "$(rnd 5000 10000)"
    while alive && before_end; do
        id=$((RANDOM % 3))
        "${c[@]}" broker down "$id" 2>>"$work/logs/broker.err"
        rc=$?
        event "broker-down id=$id rc=$rc"
        msleep "$(rnd 3000 8000)"
        "${c[@]}" broker up "$id" 2>>"$work/logs/broker.err"
        rc=$?
        event "broker-up id=$id rc=$rc"
        # the replicas of the returning broker catch up and rejoin the ISR (condition, deadline 60 s)
        t0=$(us)
        deadline=$((t0 + 60000000))
        while alive && (($(us) < deadline)); do
            "${c[@]}" cluster status --json 2>/dev/null |
                python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)["under_replicated_partitions"] == 0 else 1)' &&
                break
            sleep 0.5
        done
        event "isr-full id=$id after_ms=$((($(us) - t0) / 1000)) ok=$((($(us) < deadline) ? 1 : 0))"
        msleep "$(rnd 5000 15000)"
    done
}

# --- topic alter --partitions mid-run ------------------------------------------------------------
alter_worker() {
    local frac parts rc tries
    for frac_parts in "30 4" "60 6"; do
        read -r frac parts <<<"$frac_parts"
        while alive && (($(us) < start_us + (end_us - start_us) * frac / 100)); do sleep 0.5; done
        alive || return
        # exit 75 (a broker is down: new replicas need every broker up) means "retry later"
        tries=0
        while alive; do
            tries=$((tries + 1))
            "${c[@]}" topic alter events --partitions "$parts" 2>>"$work/logs/alter.err"
            rc=$?
            ((rc == 75)) || break
            sleep 1
        done
        event "alter topic=events partitions=$parts rc=$rc tries=$tries"
    done
}

# --- run -------------------------------------------------------------------------------------------
spawn controller_worker
for ((i = 1; i <= PRODUCERS; i++)); do spawn producer "$i"; done
spawn cron_worker soak-orders orders 1
spawn cron_worker soak-orders orders 2
spawn follow_worker soak-orders orders 1
spawn follow_worker soak-events events 1
spawn follow_worker soak-events events 2
spawn cron_worker soak-events events 1
spawn cron_worker soak-logs logs 1
spawn broker_worker
spawn alter_worker
log "soak: ${#workers[@]} workers running until $(date -d "@$((end_us / 1000000))" +%T)"

next_report=$(($(us) + 30000000))
while before_end; do
    sleep 1
    if (($(us) >= next_report)); then
        next_report=$((next_report + 30000000))
        log "soak: $(wc -l <"$work/prod/runs.log" 2>/dev/null || echo 0) producer runs done," \
            "$(grep -c . "$work/events.log" 2>/dev/null || echo 0) events"
    fi
done

# --- stop --------------------------------------------------------------------------------------
log "soak: stopping: workers finish their current run"
: >"$stop"
stop_deadline=$(($(us) + 90000000))    # a producer may wait up to its 30 s --timeout
hung=()
for w in "${workers[@]}"; do
    while kill -0 "$w" 2>/dev/null && (($(us) < stop_deadline)); do sleep 0.2; done
done
# what is still running in a worker's group (the worker loop, chute processes, stampers) after
# the deadline is hung: listed for the report, then killed
group_procs() { ps -e -o pgid=,pid=,args= | awk -v g="$1" '$1 == g { $1 = ""; print }'; }
for w in "${workers[@]}"; do
    # stampers drain what a killed member wrote, then exit: give them a moment (condition, 10 s)
    d=$(($(us) + 10000000))
    while [[ -n $(group_procs "$w") ]] && (($(us) < d)); do sleep 0.1; done
    if [[ -n $(group_procs "$w") ]]; then
        while read -r line; do hung+=("$line"); done < <(group_procs "$w")
        kill -9 -- "-$w" 2>/dev/null
    fi
done
printf '%s\n' "${hung[@]}" >"$work/hung"
sed -i '/^$/d' "$work/hung"
((${#hung[@]})) && log "soak: HUNG after the stop deadline (killed): ${hung[*]}"

# --- final passes ------------------------------------------------------------------------------------
log "soak: final: brokers up, controller --once, verify, drain the groups, read every topic"
T() { timeout -s KILL 300 "$@"; }      # no final step may hang the script
for id in 0 1 2; do T "${c[@]}" broker up "$id" 2>>"$work/logs/broker.err"; done
T "${c[@]}" controller --once >"$work/final/controller-once.out" 2>&1
echo $? >"$work/final/controller-once.rc"
T "${c[@]}" verify >"$work/final/verify.out" 2>&1
echo $? >"$work/final/verify.rc"
while read -r g t; do
    rid=$g.drain
    echo "start $rid drain 0 $(us)" >>"$work/groups/$g.runs"
    stamper "$g" "$rid"
    T "${c[@]}" consume -t "$t" -g "$g" --format json >"$work/groups/$rid.fifo" 2>"$work/groups/$rid.err"
    rc=$?
    wait "$(tail -n1 "$pids")" 2>/dev/null || true
    member_end "$g" "$rid" "$rc" 0 0
    T "${c[@]}" offsets -g "$g" -t "$t" --json >"$work/final/$g.offsets.json" 2>>"$work/logs/final.err"
done <"$work/groups.list"
while read -r t _; do
    T "${c[@]}" consume -t "$t" --format json >"$work/final/$t.jsonl" 2>"$work/final/$t.err"
    echo $? >"$work/final/$t.rc"
    T "${c[@]}" offsets -t "$t" --json >"$work/final/$t.offsets.json" 2>>"$work/logs/final.err"
    T "${c[@]}" topic describe "$t" --json >"$work/final/$t.describe.json" 2>>"$work/logs/final.err"
done <"$work/topics"
T "${c[@]}" cluster status --json >"$work/final/status.json" 2>>"$work/logs/final.err"
{ "$chute" --version 2>&1 | tr -d '\n'; printf ' (checkout %s)\n' "$(git -C "$repo" describe --always --dirty 2>/dev/null)"; } >"$work/final/version"

# --- check ---------------------------------------------------------------------------------------
python3 "$here/soak_check.py" "$work"
rc=$?
if ((rc != 0)); then
    KEEP=1
    log "soak: violations found (exit $rc): work directory kept: $work"
fi
exit "$rc"
