#!/usr/bin/env bash
# examples/pipeline.sh - chute as a pipe between shell commands, the way a log pipeline uses Kafka.
#
# Shows:
#   1. a tail -F style consumer (--from end --follow) that sees records as they are appended
#   2. a producer pipeline: printf | chute produce, keyed records with -K (TAB splits key/value);
#      keys pick partitions like a Java Kafka producer (murmur2), so one key stays in one partition
#   3. unkeyed lines from seq | chute produce (one record per line)
#   4. consume --format json (binary-safe envelope) and a kcat-style template
#   5. chute consume | head: ends quietly, exit status 0 even under `set -o pipefail`
#   6. offsets --json: earliest/latest offset per partition
#
# Run:  bash examples/pipeline.sh
#       CHUTE=./target/release/chute bash examples/pipeline.sh     # a chute not on PATH
#       CHUTE_ROOT=/some/dir bash examples/pipeline.sh             # keep the data afterwards
# Without CHUTE_ROOT it works in a temporary root and removes it at the end.
set -euo pipefail

chute=${CHUTE:-chute}
if [[ -z ${CHUTE_ROOT:-} ]]; then
    CHUTE_ROOT=$(mktemp -d "${TMPDIR:-/tmp}/chute-example.XXXXXX")
    trap 'rm -rf "$CHUTE_ROOT"' EXIT
fi
export CHUTE_ROOT
say() { printf '\n== %s\n' "$*"; }

say "topic with 3 partitions"
"$chute" topic create app-logs --partitions 3 --if-not-exists

say "tail -F style consumer in the background: --from end --follow (stops after 4 records)"
follow_out=$(mktemp "${TMPDIR:-/tmp}/chute-follow.XXXXXX")
# (timeout: only so that a broken build cannot hang the example)
timeout 20 "$chute" consume -t app-logs --from end --follow -n 4 --format '%k %s\n' >"$follow_out" &
follower=$!
sleep 0.3 # let it find the end before anything is appended

say "producer pipeline: keyed log lines, KEY<TAB>VALUE, split with -K"
# A stand-in for `tail -F /var/log/app.log | awk ... | chute produce ...`.
for i in $(seq 1 12); do
    user="user$((i % 4))"
    level=INFO
    ((i % 5 == 0)) && level=ERROR
    printf '%s\tlevel=%s user=%s msg="request %d"\n' "$user" "$level" "$user" "$i"
done | "$chute" produce -t app-logs -K $'\t' -H source=example

say "unkeyed lines: seq | chute produce (one record per line)"
seq 1 100000 | sed 's/^/tick /' | "$chute" produce -t app-ticks

wait "$follower"
say "what the follower saw (the first 4 records appended after it started)"
cat "$follow_out"
rm -f "$follow_out"

say "consume --format json (first 3 records of partition 0, one envelope per line)"
"$chute" consume -t app-logs -p 0 -n 3 --format json

say "kcat-style template: %t topic, %p partition, %o offset, %k key, %s value, %h headers"
"$chute" consume -t app-logs --format '%t [%p] @%o  %k: %s  (%h)\n'

say "one key, one partition: all of user1's records are in the same partition"
"$chute" consume -t app-logs --format '%k %p\n' | sort -u | grep '^user1 '

say "grep the stream: only ERROR lines, as TSV key<TAB>value"
"$chute" consume -t app-logs --format '%k\t%s\n' | grep 'level=ERROR'

say "chute consume | head -n 3: ends quietly, exit 0 (pipefail is on, so a failure would stop here)"
# 100,000 records do not fit in a pipe buffer: chute really gets EPIPE when head exits.
"$chute" consume -t app-ticks | head -n 3

say "offsets --json"
"$chute" offsets -t app-logs --json
"$chute" offsets -t app-ticks --json

say "done (root: $CHUTE_ROOT)"
