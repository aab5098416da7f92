#!/usr/bin/env bash
# examples/retention-compaction.sh - a log that never fills the disk, and keyed state that
# stays small.
#
# Shows:
#   1. size retention: small segments, retention.bytes; `chute controller --once` (what cron
#      would run) deletes the oldest segments; the log start moves; --from 0 is clamped with a
#      warning
#   2. compaction: ten updates of each key and a tombstone; after a pass only the latest value
#      of each key is left, at its original offset
#
# Run:  bash examples/retention-compaction.sh
#       CHUTE=./target/release/chute bash examples/retention-compaction.sh
# Works in a temporary root and removes it at the end.
set -euo pipefail

chute=${CHUTE:-chute}
CHUTE_ROOT=$(mktemp -d "${TMPDIR:-/tmp}/chute-retention.XXXXXX")
export CHUTE_ROOT
trap 'rm -rf "$CHUTE_ROOT"' EXIT
say() { printf '\n== %s\n' "$*"; }

say "a topic with 16 KiB segments that keeps about 64 KiB"
"$chute" topic create logs -c segment.bytes=16KiB -c retention.bytes=64KiB
seq 1 50000 | "$chute" produce -t logs --batch-size 2KiB
"$chute" topic describe logs | tail -2

say "one retention pass (cron: * * * * * chute controller --once)"
"$chute" controller --once 2>&1 | grep retention || true
"$chute" topic describe logs | tail -2
"$chute" offsets -t logs

say "reading from offset 0 starts at the log start, with a warning"
"$chute" consume -t logs --from 0 -n 3

say "a compacted topic: ten updates per key, then a tombstone for user7"
"$chute" topic create users -c cleanup.policy=compact -c segment.bytes=4KiB \
    -c segment.ms=1s -c delete.retention=1ms
for round in $(seq 1 10); do
    for u in $(seq 1 20); do echo "user$u,{\"visits\":$round}"; done
done | "$chute" produce -t users -K , --batch-size 512
echo '{"key":"user7","value":null}' | "$chute" produce -t users -f json
echo "records before: $("$chute" consume -t users | wc -l)"

say "compaction works on sealed segments: wait for segment.ms to roll the last one, then a pass"
sleep 1.1
"$chute" controller --once 2>&1 | grep compaction || true
echo "records after: $("$chute" consume -t users | wc -l)"
"$chute" consume -t users --format '%o %k %s\n' | head -5
"$chute" verify -t users
