#!/usr/bin/env bash
# examples/replicated.sh - a three-broker cluster on one machine, a disk that "dies" under a
# producer, and the controller moving leadership to a surviving copy.
#
# Shows:
#   1. cluster init with each broker in its own directory (in real life: its own disk)
#   2. a replicated topic (-r 3, min.insync.replicas=2) and `chute controller` in the background
#   3. produce --acks all: exit 0 means every in-sync replica has the records, fsynced
#   4. the leader's broker directory vanishes mid-stream: a new leader within milliseconds, the
#      producer carries on, every record is there exactly once
#   5. the directory comes back: its replica catches up and rejoins the ISR
#   6. --acks all refused (exit 75) when too few replicas are in sync
#
# Run:  bash examples/replicated.sh
#       CHUTE=./target/release/chute bash examples/replicated.sh     # a chute not on PATH
# Works in a temporary directory and removes it (and the controller) at the end.
set -euo pipefail
[[ -n ${TRACE:-} ]] && set -x

chute=${CHUTE:-chute}
work=$(mktemp -d "${TMPDIR:-/tmp}/chute-replicated.XXXXXX")
export CHUTE_ROOT=$work/root
controller=
cleanup() {
    if [[ -n $controller ]]; then kill "$controller" 2>/dev/null || true; wait "$controller" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT
say() { printf '\n== %s\n' "$*"; }
# (plain grep/sed on the --json output: jq would be nicer, but this runs anywhere)
leader() { "$chute" topic describe payments --json | grep -o '"leader":[0-9]*' | head -1 | cut -d: -f2; }
isr() { "$chute" topic describe payments --json | grep -o '"isr":\[[0-9,]*\]' | head -1 | cut -d: -f2; }

disk=("$work/disk-a" "$work/disk-b" "$work/disk-c")
say "three brokers, each in its own directory (think /mnt/a, /mnt/b, /mnt/c)"
"$chute" cluster init --brokers 3 \
    --broker-dir 0="$work/disk-a" --broker-dir 1="$work/disk-b" --broker-dir 2="$work/disk-c"
"$chute" topic create payments -r 3 -c min.insync.replicas=2

say "the controller (logs its decisions to stderr; here: controller.log)"
"$chute" controller >"$work/controller.log" 2>&1 &
controller=$!

say "produce with --acks all"
seq 1 1000 | "$chute" produce -t payments --acks all
"$chute" topic describe payments | tail -2

old=$(leader)
say "broker $old leads; its directory vanishes while a producer is streaming"
{
    seq 1001 2000
    sleep 0.5
    mv "${disk[$old]}" "$work/dead-disk"
    sleep 0.5
    seq 2001 3000
} | "$chute" produce -t payments --acks all --linger 1ms
echo "producer exit status: $?   new leader: $(leader)   isr: $(isr)"

say "every record exactly once"
"$chute" consume -t payments | sort -n | uniq | wc -l
"$chute" consume -t payments | sort -n | uniq -d | wc -l | sed 's/^/duplicates: /'

say "the disk comes back: its replica catches up and rejoins the ISR"
mv "$work/dead-disk" "${disk[$old]}"
for _ in $(seq 1 50); do
    [[ $(isr) == *"$old"* ]] && break
    sleep 0.1
done
echo "isr: $(isr)"
"$chute" verify -t payments

say "two brokers marked down: one in-sync replica left, --acks all is refused (exit 75)"
"$chute" broker down 1
"$chute" broker down 2
for _ in $(seq 1 50); do
    [[ $(isr) != *,* ]] && break
    sleep 0.1
done
status=0
echo more | "$chute" produce -t payments --acks all || status=$?
echo "exit status: $status"
"$chute" broker up 1
"$chute" broker up 2

say "controller log"
cat "$work/controller.log"
