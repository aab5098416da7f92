# bench/lib.sh - what every bench script needs, sourced by run.sh, replication.sh, retention.sh:
# the chute binary, a work directory with a cleanup that kills what the script started, clocks,
# the timer (hyperfine when present), and small helpers. Sourcing scripts set RUNS and KEEP.

lib_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$lib_here/.." && pwd)

log() { printf '[%4ds] %s\n' "$SECONDS" "$*" >&2; }
die() { log "bench: $*"; exit 1; }
q() { printf '%q' "$1"; }

# --- the binary: $CHUTE, else a release build of this checkout; made absolute -----------------
if [[ -n ${CHUTE:-} ]]; then
    chute=$CHUTE
else
    log "building: cargo build --release"
    (cd "$repo" && cargo build --release --quiet) || die "cargo build --release failed"
    chute=$repo/target/release/chute
fi
[[ -x $chute ]] || die "no executable chute at $chute"
chute=$(cd "$(dirname "$chute")" && pwd)/$(basename "$chute")

# make_work TEMPLATE: the work directory ($work, from mktemp -d TEMPLATE) and a cleanup on exit
# that kills every background process listed in $pids (only those whose command line names
# $work: never someone else's), then removes $work unless KEEP=1.
make_work() {
    work=$(mktemp -d "$1")
    pids=$work/pids
    : >"$pids"
    trap bench_cleanup EXIT
    trap 'exit 130' INT TERM
    unset CHUTE_ROOT                   # every chute call gets an explicit --root
}
bench_cleanup() {
    local pid
    while read -r pid; do
        [[ -r /proc/$pid/cmdline ]] || continue
        if tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$work"; then
            kill -9 "$pid" 2>/dev/null || true
        fi
    done <"$pids"
    if [[ ${KEEP:-0} == 1 ]]; then log "kept $work"; else rm -rf "$work"; fi
}

# --- clocks ----------------------------------------------------------------------------------
now() {
    if [[ -n ${EPOCHREALTIME:-} ]]; then printf '%s\n' "${EPOCHREALTIME/,/.}"; else date +%s.%N; fi
}
calc() { python3 -c "import sys; print($1)"; }

have_hyperfine=0
[[ ${NO_HYPERFINE:-0} != 1 ]] && command -v hyperfine >/dev/null 2>&1 && have_hyperfine=1
timer="date deltas (best of $RUNS)"
[[ $have_hyperfine == 1 ]] && timer="hyperfine (min of $RUNS runs)"

record() { # LABEL "t1 t2 ..." -> appends to $work/spread, prints the min
    printf '%s\t%s\n' "$1" "$2" >>"$work/spread"
    calc "min([${2// /,}])"
}

# best_time LABEL PREPARE COMMAND -> prints the best wall time in seconds. PREPARE is not timed
# and runs before every run, so a run that changes state can be repeated; an empty PREPARE means
# the command does not change state: one untimed warm-up run instead. Every run's time is
# appended to $work/spread as "LABEL<TAB>t1 t2 ...", and hyperfine's mean CPU (user + system)
# to $work/cpu, for the report.
best_time() {
    local label=$1 prep=$2 cmd=$3 times=""
    if [[ $have_hyperfine == 1 ]]; then
        local json=$work/hyperfine.json args=(--warmup 1)
        [[ -n $prep ]] && args=(--prepare "$prep")
        hyperfine --style none --runs "$RUNS" "${args[@]}" --export-json "$json" "$cmd" >/dev/null
        times=$(python3 -c 'import json,sys; print(" ".join(str(t) for t in json.load(open(sys.argv[1]))["results"][0]["times"]))' "$json")
        python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][0]; print(sys.argv[2] + "\t" + str(r["user"] + r["system"]))' \
            "$json" "$label" >>"$work/cpu"
    else
        local t0 t1 i
        [[ -z $prep ]] && bash -c "$cmd"
        for ((i = 0; i < RUNS; i++)); do
            [[ -n $prep ]] && bash -c "$prep"
            t0=$(now)
            bash -c "$cmd"
            t1=$(now)
            times+="$(calc "$t1 - $t0") "
        done
    fi
    record "$label" "$times"
}

# gen_input FILE LINES: deterministic LINES x 100-byte lines: 10-digit counter, 89 x 'x', '\n'
gen_input() {
    awk -v n="$2" 'BEGIN {
        pad = sprintf("%89s", ""); gsub(/ /, "x", pad)
        for (i = 0; i < n; i++) printf "%010d%s\n", i, pad
    }' >"$1"
}

# bytes of the files under DIR whose name ends in SUFFIX (all files when SUFFIX is empty)
dir_bytes() { python3 -c '
import os, sys
print(sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(sys.argv[1]) for f in fs
          if f.endswith(sys.argv[2])))' "$1" "${2:-}"; }

# new_cluster NAME BROKERS: a root and BROKERS broker directories d0.. under $work/NAME
new_cluster() {
    local base=$work/$1 args=() i
    rm -rf "$base"
    mkdir -p "$base"
    for ((i = 0; i < $2; i++)); do args+=(--broker-dir "$i=$base/d$i"); done
    "$chute" --root "$base/root" cluster init --brokers "$2" "${args[@]}" 2>/dev/null
}

# kafka_broker (after make_work): $B, the broker to bench against: $KAFKA when given, else a
# single node of its own (scripts/kafka-broker.sh, state in $work, stopped on exit);
# $broker_desc for the report and $own_broker. Topics and groups whose names the bench
# appends to $topics and $groups are deleted on exit from a broker it did not start.
kafka_broker() {
    broker_script=$repo/scripts/kafka-broker.sh
    own_broker=0
    if [[ -n ${KAFKA:-} ]]; then
        B=$KAFKA
        broker_desc="broker $B (given)"
    else
        export CHUTE_KAFKA_STATE=$work/broker
        log "starting a Kafka broker (state $CHUTE_KAFKA_STATE)"
        B=$("$broker_script" start)
        own_broker=1
        broker_desc="Kafka ${CHUTE_KAFKA_VERSION:-4.1.2} single node at $B (scripts/kafka-broker.sh)"
    fi
    topics=$work/topics groups=$work/groups
    : >"$topics"
    : >"$groups"
    trap kafka_cleanup EXIT
}
kafka_cleanup() {
    if [[ $own_broker == 1 ]]; then
        "$broker_script" stop || true
    else
        local t
        while read -r t; do "$chute" -q -b "$B" topic delete "$t" >/dev/null 2>&1 || true; done <"$topics"
        while read -r t; do "$chute" -q -b "$B" group delete "$t" >/dev/null 2>&1 || true; done <"$groups"
    fi
    bench_cleanup
}
