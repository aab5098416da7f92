#!/usr/bin/env bash
# bench/mirror.sh - `chute mirror` between a root and a real broker, in one run, against the
# at-least-once pipelines a user would write instead:
#
#   root -> Kafka:  chute mirror -t T --to-kafka B      vs  chute consume -t T | kcat -P -t T2
#   Kafka -> root:  chute mirror -t T --from-kafka B    vs  kcat -C -t T -e | chute produce -t T2
#   catch-up:       a following mirror whose broker is frozen (SIGSTOP) while N records are
#                   produced to the root; the time from SIGCONT until all N are on Kafka
#
#   bench/mirror.sh                        # N=1,000,000 x 100 B, 1 partition; own Kafka 4.1
#   KAFKA=127.0.0.1:9092 bench/mirror.sh   # an existing broker (topics made here are deleted)
#   N=200000 RUNS=5 P=4 bench/mirror.sh
#
# Every copy is checked: the destination holds exactly the N records (and, for the mirror,
# the same bytes in the same order). vs pipe = pipe seconds / mirror seconds: >= 1 means the
# exactly-once mirror is at least as fast as the at-least-once pipe. The pipes use kcat's
# defaults (acks=all, as the mirror's transactions need).
set -euo pipefail

N=${N:-1000000}
RUNS=${RUNS:-3}
P=${P:-1}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=bench/lib.sh
source "$here/lib.sh"
command -v kcat >/dev/null || die "kcat is needed (Debian: apt-get install kcat)"
mkdir -p "$here/out"
make_work "$here/out/mirror.XXXXXX"

kafka_broker

root=$work/root
R() { "$chute" -q --root "$root" "$@"; }
K() { "$chute" -q -b "$B" "$@"; }
report=$work/report
: >"$report"
row() { printf '%s\n' "$*" >>"$report"; }
rate() { calc "f'{int($N / $1):,}'"; }
verdict() { if python3 -c "import sys; sys.exit(0 if $1 else 1)"; then echo PASS; else echo FAIL; fi; }
count_kafka() { K offsets -t "$1" >/dev/null && kcat -b "$B" -C -t "$1" -e -q -f 'x\n' | wc -l; }
count_root() { R offsets -t "$1" | awk 'NR > 1 { n += $3 - $2 } END { print n + 0 }'; }
seq_no=$work/seq
# name PREFIX -> a name no run used yet
name() {
    local n
    n=$(($(cat "$seq_no" 2>/dev/null || echo 0) + 1))
    echo "$n" >"$seq_no"
    echo "bench-$$-$1-$n"
}

log "generating $N 100-byte lines; the source topics"
gen_input "$work/input" "$N"
R topic create src -p "$P" >/dev/null
R produce -t src --file "$work/input"
ksrc=$(name ksrc)
echo "$ksrc" >>"$topics"
K topic create "$ksrc" -p "$P" >/dev/null
K produce -t "$ksrc" --file "$work/input" --acks all

# PREPARE scripts (hyperfine --prepare): a fresh destination name in $work/dest for each run.
cat >"$work/fresh-kafka" <<EOF
#!/usr/bin/env bash
n=\$((\$(cat $(q "$seq_no")) + 1)); echo \$n >$(q "$seq_no")
t=bench-$$-dst-\$n
$(q "$chute") -q -b $(q "$B") topic create "\$t" -p $P >/dev/null
echo "\$t" >>$(q "$topics"); echo "\$t" >$(q "$work/dest")
EOF
cat >"$work/fresh-root" <<EOF
#!/usr/bin/env bash
n=\$((\$(cat $(q "$seq_no")) + 1)); echo \$n >$(q "$seq_no")
t=dst-\$n
$(q "$chute") -q --root $(q "$root") topic create "\$t" -p $P >/dev/null
echo "\$t" >$(q "$work/dest")
EOF
chmod +x "$work/fresh-kafka" "$work/fresh-root"
dest='$(cat '$(q "$work/dest")')'

log "root -> Kafka: mirror, and chute consume | kcat -P ($RUNS runs each)"
t_m=$(best_time "mirror to kafka" "$(q "$work/fresh-kafka")" \
    "$(q "$chute") -q --root $(q "$root") mirror -t src --to-kafka $(q "$B") --rename src=$dest --name $dest")
d=$(cat "$work/dest")
[[ $(count_kafka "$d") == "$N" ]] || die "mirror to Kafka: not $N records in $d"
cmp <(K consume -t "$d") <(R consume -t src) || die "mirror to Kafka: $d differs from the root's src"
t_p=$(best_time "pipe to kafka" "$(q "$work/fresh-kafka")" \
    "$(q "$chute") --root $(q "$root") consume -t src | kcat -b $(q "$B") -P -t $dest")
[[ $(count_kafka "$(cat "$work/dest")") == "$N" ]] || die "chute consume | kcat -P: not $N records"

log "Kafka -> root: mirror, and kcat -C | chute produce ($RUNS runs each)"
t_mf=$(best_time "mirror from kafka" "$(q "$work/fresh-root")" \
    "$(q "$chute") -q --root $(q "$root") mirror -t $ksrc --from-kafka $(q "$B") --rename $ksrc=$dest --name $dest")
d=$(cat "$work/dest")
[[ $(count_root "$d") == "$N" ]] || die "mirror from Kafka: not $N records in $d"
cmp <(R consume -t "$d") <(K consume -t "$ksrc") || die "mirror from Kafka: $d differs from $ksrc"
t_pf=$(best_time "pipe from kafka" "$(q "$work/fresh-root")" \
    "kcat -b $(q "$B") -C -t $ksrc -e -q | $(q "$chute") -q --root $(q "$root") produce -t $dest")
[[ $(count_root "$(cat "$work/dest")") == "$N" ]] || die "kcat -C | chute produce: not $N records"

catch_up=-
if [[ $own_broker == 1 ]]; then
    log "catch-up: a following mirror, the broker frozen while $N records arrive"
    out=$(name out)
    echo "$out" >>"$topics"
    R topic create live -p "$P" >/dev/null
    R mirror -t live --to-kafka "$B" --rename "live=$out" --name "$out" >/dev/null
    "$chute" -q --root "$root" -X socket.timeout.ms=2000 mirror -t live --to-kafka "$B" \
        --rename "live=$out" --name "$out" --follow 2>"$work/follow.err" &
    echo $! >>"$pids"
    follower=$!
    bpid=$(cat "$CHUTE_KAFKA_STATE/pid")
    kill -STOP "$bpid"
    R produce -t live --file "$work/input"
    # The follower has found the broker gone (it says so) before the broker returns.
    for ((i = 0; i < 600; i++)); do grep -q "trying again" "$work/follow.err" && break; sleep 0.1; done
    grep -q "trying again" "$work/follow.err" || die "the mirror never noticed the frozen broker"
    t0=$(now)
    kill -CONT "$bpid"
    # Done when the mirror's committed positions (group chute-mirror.NAME) reach N.
    while [[ $(K offsets -g "chute-mirror.$out" -t "$out" 2>/dev/null |
        awk 'NR > 1 && $3 != "-" { n += $3 } END { print n + 0 }') != "$N" ]]; do
        sleep 0.05
        [[ $(calc "$(now) - $t0 > 300") == True ]] && die "catch-up: not done in 300 s"
    done
    catch_up=$(calc "f'{$(now) - $t0:.3f}'")
    kill -TERM "$follower"
    wait "$follower" || true
fi

{
    echo "chute $("$chute" --version | awk '{print $2}') ($(cd "$repo" && git rev-parse --short HEAD 2>/dev/null || echo '?')), $(uname -sr), $(nproc) CPUs; $timer"
    echo "$broker_desc; $(kcat -V 2>&1 | sed -n 's/^Version \([^ ]*\) .*\(librdkafka [^ ]*\) .*/kcat \1 (\2)/p')"
    echo "$N records x 100 B, $P partition(s); vs pipe = pipe seconds / mirror seconds"
    printf '%-52s %8s %12s %8s %7s\n' what seconds rec/s "vs pipe" result
    printf '%-52s %7.3fs %12s %8s %7s\n' "root -> Kafka: chute mirror --to-kafka (exactly once)" "$t_m" "$(rate "$t_m")" \
        "$(calc "f'{$t_p / $t_m:.2f}'")" "$(verdict "$t_p / $t_m >= 1.0")"
    printf '%-52s %7.3fs %12s %8s\n' "root -> Kafka: chute consume | kcat -P" "$t_p" "$(rate "$t_p")" 1.00
    printf '%-52s %7.3fs %12s %8s %7s\n' "Kafka -> root: chute mirror --from-kafka (exactly once)" "$t_mf" "$(rate "$t_mf")" \
        "$(calc "f'{$t_pf / $t_mf:.2f}'")" "$(verdict "$t_pf / $t_mf >= 1.0")"
    printf '%-52s %7.3fs %12s %8s\n' "Kafka -> root: kcat -C | chute produce" "$t_pf" "$(rate "$t_pf")" 1.00
    if [[ $catch_up != - ]]; then
        printf '%-52s %7.3fs %12s\n' "catch-up after $N records arrived in an outage" "$catch_up" "$(rate "$catch_up")"
    fi
} | tee -a "$report"
if [[ ${SPREAD:-0} == 1 ]]; then cat "$work/spread"; fi
