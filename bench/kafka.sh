#!/usr/bin/env bash
# bench/kafka.sh - chute's Kafka backend (`chute -b HOST:PORT ...`) against kcat and Kafka's own
# perf tools on the same broker, in one run: produce and consume throughput of N 100-byte
# records, and the wall time of a cron group member (`consume -g G --exec`) with nothing new.
#
#   bench/kafka.sh                       # N=1,000,000; starts its own single-node Kafka 4.1
#   KAFKA=127.0.0.1:9092 bench/kafka.sh  # use that broker instead (topics made here are deleted)
#   N=200000 RUNS=5 PARTS="1" bench/kafka.sh
#   CHUTE=path/to/chute KEEP=1 bench/kafka.sh
#   SPREAD=1 bench/kafka.sh              # also list every run's time (hyperfine's, or the tool's)
#
# For each partition count in PARTS (default "1 8"), acks=1 everywhere:
#   produce: chute -b B produce -t T --acks 1 < input; kcat -b B -P -t T -X acks=1 -l input;
#            ProducerPerformance --num-records N --record-size 100 --throughput -1 acks=1
#            (its own records/sec: JVM start not included). A fresh topic before every run (not
#            timed), so no run appends to another's log.
#   consume: chute -b B consume -t T > /dev/null (to the end as of start); kcat -b B -C -t T -e
#            -q > /dev/null; ConsumerPerformance --messages N (its own nMsg.sec, from its start
#            of consuming: JVM start not included, group join included). Same topic, N records.
#   group:   chute -b B consume -t T -g G --exec 'cat >/dev/null' (cron mode): a new group's
#            first run (join, read all N, commit), the join alone (a new group with --reset
#            latest: nothing to read), and a run with nothing new; with the KIP-848 `consumer`
#            protocol (chute's default) and with -X group.protocol=classic.
#   fixed cost: one record produced and consumed by each, and `chute offsets` (connect and exit).
# Consume also runs with the one setting that holds each back here: chute with -X
# fetch.queue.backoff.ms=10, kcat with -X fetch.wait.max.ms=10 (bench/README.md says why).
# vs kcat = kcat seconds / chute seconds. Targets: produce and consume >= 1.0 x kcat (defaults);
# a cron group run with nothing new < 1 s.
set -euo pipefail

N=${N:-1000000}
RUNS=${RUNS:-3}
KEEP=${KEEP:-0}
PARTS=${PARTS:-1 8}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=bench/lib.sh
source "$here/lib.sh"
command -v kcat >/dev/null || die "kcat is needed (Debian: apt-get install kcat)"
mkdir -p "$here/out"
make_work "$here/out/kafka.XXXXXX"

kafka_broker

ck() { "$chute" -q -b "$B" "$@"; }
run_class() { "$broker_script" run-class "org.apache.kafka.tools.$1" "${@:2}"; }
# new_topic P -> a topic of P partitions that nobody used, its name also in $work/topic.
# The counter is a file: callers run it in $(...), where a variable would not keep its count.
new_topic() {
    local n
    n=$(($(cat "$work/seq-new" 2>/dev/null || echo 0) + 1))
    echo "$n" >"$work/seq-new"
    local t=bench-$$-p$1-$n
    ck topic create "$t" --partitions "$1" >/dev/null
    echo "$t" >>"$topics"
    echo "$t" >"$work/topic"
    echo "$t"
}
# records in topic T (sum of the latest offsets; every topic here starts at 0)
count() { ck offsets -t "$1" | awk 'NR > 1 { n += $3 } END { print n + 0 }'; }
rate() { calc "f'{int($N / $1):,}'"; }
commas() { calc "f'{int($1):,}'"; }
report=$work/report
: >"$report"
row() { printf '%s\n' "$*" >>"$report"; }
# row_t WHAT P SECONDS VS_KCAT TARGET RESULT
row_t() { row "$(printf '%-44s %5s %8.3fs %12s %7s %7s %6s' "$1" "$2" "$3" "$(rate "$3")" "$4" "$5" "$6")"; }
verdict() { if python3 -c "import sys; sys.exit(0 if $1 else 1)"; then echo PASS; else echo FAIL; fi; }

log "generating $N 100-byte lines"
gen_input "$work/input" "$N"
# `fresh LABEL P`: hyperfine's --prepare; a new topic of P partitions, its name in $work/topic,
# which the timed command reads with $(cat ...) (about a millisecond)
cat >"$work/fresh" <<EOF
#!/usr/bin/env bash
set -e
n=\$((\$(cat $(q "$work/seq") 2>/dev/null || echo 0) + 1)); echo \$n >$(q "$work/seq")
t=bench-$$-\$1-h\$n
$(q "$chute") -q -b $(q "$B") topic create "\$t" --partitions "\$2" >/dev/null
echo "\$t" >>$(q "$topics"); echo "\$t" >$(q "$work/topic")
EOF
chmod +x "$work/fresh"
topic_now="\$(cat $(q "$work/topic"))"

# ---- what a command costs besides its records: one record in, one record out
log "fixed cost: one record"
one=$(new_topic 1)
echo one >"$work/one"
ck produce -t "$one" --file "$work/one"
fixed() { # LABEL COMMAND
    local t
    t=$(best_time "$1" "" "$2")
    row "$(printf '%-44s %5s %8.3fs' "$1" 1 "$t")"
}
fixed "one record: chute produce -t T" "$(q "$chute") -q -b $(q "$B") produce -t $one --file $(q "$work/one")"
fixed "one record: kcat -P -t T -X acks=1 -l FILE" "kcat -b $(q "$B") -P -t $one -X acks=1 -l $(q "$work/one")"
fixed "one record: chute consume -t T -n 1" "$(q "$chute") -q -b $(q "$B") consume -t $one -n 1 > /dev/null"
fixed "one record: kcat -C -t T -c 1 -q" "kcat -b $(q "$B") -C -t $one -c 1 -q > /dev/null"
fixed "one record: kcat -C -t T -e -q (to the end)" "kcat -b $(q "$B") -C -t $one -e -q > /dev/null"
fixed "chute offsets -t T (connect, metadata, exit)" "$(q "$chute") -q -b $(q "$B") offsets -t $one > /dev/null"

for P in $PARTS; do
    # ---- produce: a fresh topic before every run
    log "P=$P: produce (chute, kcat, ProducerPerformance), $RUNS runs each"
    t_cp=$(best_time "produce chute P=$P" "$(q "$work/fresh") pc $P" \
        "$(q "$chute") -q -b $(q "$B") produce -t $topic_now --acks 1 < $(q "$work/input")")
    got=$(count "$(cat "$work/topic")"); [[ $got == "$N" ]] || die "chute produce: $got records, not $N"
    t_kp=$(best_time "produce kcat P=$P" "$(q "$work/fresh") pk $P" \
        "kcat -b $(q "$B") -P -t $topic_now -X acks=1 -l $(q "$work/input")")
    got=$(count "$(cat "$work/topic")"); [[ $got == "$N" ]] || die "kcat produce: $got records, not $N"
    best_pp=0
    for ((i = 0; i < RUNS; i++)); do
        t=$(new_topic "$P")
        r=$(run_class ProducerPerformance --topic "$t" --num-records "$N" --record-size 100 \
            --throughput -1 --producer-props bootstrap.servers="$B" acks=1 2>"$work/pp.err" |
            sed -n 's/^[0-9]* records sent, \([0-9.]*\) records\/sec.*99th.*/\1/p') ||
            { cat "$work/pp.err" >&2; die "ProducerPerformance failed"; }
        [[ -n $r ]] || { cat "$work/pp.err" >&2; die "ProducerPerformance: no summary line"; }
        printf '%s\t%s\n' "produce ProducerPerformance P=$P (rec/s)" "$r" >>"$work/spread"
        best_pp=$(calc "max($best_pp, $r)")
    done
    row_t "produce  chute -b B produce -t T --acks 1" "$P" "$t_cp" "$(calc "f'{$t_kp / $t_cp:.2f}'")" ">= 1.0" \
        "$(verdict "$t_kp / $t_cp >= 1.0")"
    row_t "produce  kcat -P -t T -X acks=1 -l FILE" "$P" "$t_kp" "1.00" - -
    row "$(printf '%-44s %5s %9s %12s %7s   (its own figure; no JVM start)' "produce  ProducerPerformance acks=1" "$P" - \
        "$(commas "$best_pp")" "$(calc "f'{$best_pp * $t_kp / $N:.2f}'")")"

    # ---- consume: one topic of N records (chute's last produce run)
    ct=$(grep -- "-pc-" "$topics" | tail -n 1)
    log "P=$P: consume $ct (chute, kcat, ConsumerPerformance)"
    if [[ $P == 1 ]]; then
        ck consume -t "$ct" | cmp - "$work/input" >/dev/null || die "chute consume -t $ct differs from the input"
    fi
    got=$(ck consume -t "$ct" | wc -l); [[ $got == "$N" ]] || die "chute consume: $got records, not $N"
    got=$(kcat -b "$B" -C -t "$ct" -e -q | wc -l); [[ $got == "$N" ]] || die "kcat consume: $got records, not $N"
    t_cc=$(best_time "consume chute P=$P" "" "$(q "$chute") -q -b $(q "$B") consume -t $ct > /dev/null")
    t_kc=$(best_time "consume kcat P=$P" "" "kcat -b $(q "$B") -C -t $ct -e -q > /dev/null")
    # The same two with the setting that holds each back here (bench/README.md): librdkafka
    # >= 2.4 waits fetch.queue.backoff.ms (1 s) before fetching again once queued.min.messages
    # are queued; kcat learns the end from an empty fetch the broker holds fetch.wait.max.ms.
    t_cc2=$(best_time "consume chute backoff P=$P" "" \
        "$(q "$chute") -q -b $(q "$B") -X fetch.queue.backoff.ms=10 consume -t $ct > /dev/null")
    t_kc2=$(best_time "consume kcat wait P=$P" "" "kcat -b $(q "$B") -X fetch.wait.max.ms=10 -C -t $ct -e -q > /dev/null")
    best_cp=0 best_cf=0
    for ((i = 0; i < RUNS; i++)); do
        line=$(run_class ConsumerPerformance --bootstrap-server "$B" --topic "$ct" --messages "$N" \
            --hide-header 2>"$work/cp.err" | tail -n 1) || { cat "$work/cp.err" >&2; die "ConsumerPerformance failed"; }
        r=$(awk -F', *' 'NF >= 10 { print $6 }' <<<"$line")
        f=$(awk -F', *' 'NF >= 10 { print $10 }' <<<"$line")
        [[ -n $r ]] || { cat "$work/cp.err" >&2; die "ConsumerPerformance: no figures in: $line"; }
        printf '%s\t%s\n' "consume ConsumerPerformance P=$P (rec/s, fetch rec/s)" "$r $f" >>"$work/spread"
        best_cp=$(calc "max($best_cp, $r)")
        best_cf=$(calc "max($best_cf, $f)")
    done
    row_t "consume  chute -b B consume -t T > /dev/null" "$P" "$t_cc" "$(calc "f'{$t_kc / $t_cc:.2f}'")" ">= 1.0" \
        "$(verdict "$t_kc / $t_cc >= 1.0")"
    row_t "consume  kcat -C -t T -e -q > /dev/null" "$P" "$t_kc" "1.00" - -
    row_t "consume  chute -X fetch.queue.backoff.ms=10" "$P" "$t_cc2" "$(calc "f'{$t_kc / $t_cc2:.2f}'")" - -
    row_t "consume  kcat -X fetch.wait.max.ms=10" "$P" "$t_kc2" "$(calc "f'{$t_kc / $t_kc2:.2f}'")" - -
    row "$(printf '%-44s %5s %9s %12s %7s   (its own figure, with its group join; fetch only: %s)' \
        "consume  ConsumerPerformance --messages N" "$P" - "$(commas "$best_cp")" \
        "$(calc "f'{$best_cp * $t_kc / $N:.2f}'")" "$(commas "$best_cf")")"

    # ---- cron group member on the same topic: first run, join alone, nothing new
    for proto in consumer classic; do
        x=()
        [[ $proto == classic ]] && x=(-X group.protocol=classic)
        xs=${x[*]:+${x[*]} }
        g=bench-$$-$proto-p$P
        echo "$g" >>"$groups"
        for ((i = 1; i <= RUNS; i++)); do echo "$g-new$i" >>"$groups"; done
        log "P=$P: group ($proto protocol): first run over $N records"
        t0=$(now)
        ck "${x[@]}" consume -t "$ct" -g "$g" --exec 'cat >/dev/null'
        t1=$(now)
        t_first=$(calc "$t1 - $t0")
        lag=$(ck offsets -t "$ct" -g "$g" | awk 'NR > 1 { n += $5 } END { print n + 0 }')
        [[ $lag == 0 ]] || die "group $g: lag $lag after its first run"
        log "P=$P: group ($proto): join alone (new group, --reset latest), nothing new"
        # a new group name before every run: the group's name is the counter file's
        t_join=$(best_time "group join $proto P=$P" "echo x >>$(q "$work/g-$proto-$P")" \
            "$(q "$chute") -q -b $(q "$B") ${xs}consume -t $ct -g $g-new\$(wc -l < $(q "$work/g-$proto-$P")) --reset latest --exec 'cat >/dev/null'")
        t_none=$(best_time "group nothing-new $proto P=$P" "" \
            "$(q "$chute") -q -b $(q "$B") ${xs}consume -t $ct -g $g --exec 'cat >/dev/null'")
        row "$(printf 'group    %-9s %5s   first run %7.3fs (%s rec/s)   join alone %6.3fs   nothing new %6.3fs  < 1 s %s' \
            "$proto" "$P" "$t_first" "$(rate "$t_first")" "$t_join" "$t_none" "$(verdict "$t_none < 1")")"
    done
done

rev=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?')
rdk=$(sed -n '/^name = "rdkafka-sys"/{n;s/.*+\(.*\)"/\1/p}' "$repo/Cargo.lock" 2>/dev/null || true)
echo "chute $($chute --version | cut -d' ' -f2) ($rev; librdkafka ${rdk:-?}), $(uname -sr), $(nproc) CPUs; $timer"
echo "$broker_desc; $(kcat -V 2>&1 | sed -n 's/^Version \([^ ]*\) .*\(librdkafka [^ ]*\) .*/kcat \1 (\2)/p')"
echo "$N records x 100 B (99 + newline); acks=1 everywhere; a fresh topic before every produce run;"
echo "rec/s = N / seconds; vs kcat = kcat seconds / chute seconds (Kafka tools: their rec/s / kcat's)"
printf '%-44s %5s %9s %12s %7s %7s %6s\n' what parts seconds "rec/s" "vs kcat" target result
cat "$report"
echo "group: chute -b B [-X group.protocol=classic] consume -t T -g G --exec 'cat >/dev/null' (cron; --exec-batch 1000)"
if [[ ${SPREAD:-0} == 1 ]]; then echo "every run:"; cat "$work/spread"; fi
