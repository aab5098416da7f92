#!/usr/bin/env bash
# examples/disk-ops.sh - a disk that comes back empty, and a broker emptied for retirement.
#
# Shows:
#   1. three brokers in three directories; broker 1's disk is replaced by an empty one;
#      `chute broker replace 1` fences it, tags the new disk and rebuilds every replica from
#      the leaders; every record is still there and `verify` is clean
#   2. a fourth broker added, then `chute broker drain 1`: every replica moves off broker 1,
#      replication factors kept, leaders spread over the brokers that stay
#
# Run:  bash examples/disk-ops.sh
#       CHUTE=./target/release/chute bash examples/disk-ops.sh
# Works in a temporary directory and removes it at the end.
set -euo pipefail

chute=${CHUTE:-chute}
base=$(mktemp -d "${TMPDIR:-/tmp}/chute-disks.XXXXXX")
trap 'rm -rf "$base"' EXIT
CHUTE_ROOT=$base/root
export CHUTE_ROOT
say() { printf '\n== %s\n' "$*"; }

say "three brokers, each on its own 'disk' (a directory here)"
"$chute" cluster init --brokers 3 --broker-dir "0=$base/d0" --broker-dir "1=$base/d1" --broker-dir "2=$base/d2"
"$chute" topic create orders --partitions 3 -r 2
seq 1 3000 | sed 's/.*/k&,order &/' | "$chute" produce -t orders -K , --acks all
"$chute" topic describe orders | tail -4

say "broker 1's disk fails; an empty one is mounted in its place"
mv "$base/d1" "$base/d1.failed"
mkdir "$base/d1"
"$chute" broker list
"$chute" broker replace 1 2>&1 | grep -v 'same file system'
"$chute" topic describe orders | tail -4
echo "records: $("$chute" consume -t orders | wc -l)"
"$chute" verify && echo "verify: clean"

say "a new broker, then broker 1 drained"
"$chute" broker add --dir "$base/d3"
"$chute" broker drain 1
"$chute" topic describe orders | tail -4
echo "replicas left on broker 1: $(find "$base/d1" -maxdepth 1 -name 'orders-*' | wc -l)"
echo "records: $("$chute" consume -t orders | wc -l)"
"$chute" broker list
