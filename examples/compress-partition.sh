#!/usr/bin/env bash
# examples/compress-partition.sh - compressed batches and where records go.
#
# Shows:
#   1. a topic whose batches are stored with zstd (compression.type), its size on disk next to
#      the input's, and `dump` naming the codec of each batch
#   2. records without a key spreading over the partitions; keys taken from a JSON field
#      (--key-field) landing where -K puts the same keys
#   3. a partitioner command: even ids to partition 0, odd to 1
#
# Run:  bash examples/compress-partition.sh
#       CHUTE=./target/release/chute bash examples/compress-partition.sh
# Works in a temporary root and removes it at the end.
set -euo pipefail

chute=${CHUTE:-chute}
CHUTE_ROOT=$(mktemp -d "${TMPDIR:-/tmp}/chute-compress.XXXXXX")
export CHUTE_ROOT
trap 'rm -rf "$CHUTE_ROOT"' EXIT
say() { printf '\n== %s\n' "$*"; }

say "an access log stored with zstd"
for i in $(seq 1 20000); do
    echo "10.0.$((i % 7)).$((i % 250)) - - \"GET /api/v1/items/$((i % 97)) HTTP/1.1\" 200 $((i % 5000))"
done >"$CHUTE_ROOT/access.log"
"$chute" topic create access -c compression.type=zstd
"$chute" produce -t access --file "$CHUTE_ROOT/access.log"
in=$(wc -c <"$CHUTE_ROOT/access.log")
stored=$(cat "$CHUTE_ROOT"/brokers/0/access-0/*.log | wc -c)
echo "input: $in bytes; stored: $stored bytes"
"$chute" dump "$CHUTE_ROOT/brokers/0/access-0" | grep -m 1 -o 'compresscodec: [a-z]* uncompressedSize: [0-9]*'
"$chute" consume -t access | cmp - "$CHUTE_ROOT/access.log" && echo "consumed: byte for byte the input"

say "records without a key spread over 6 partitions"
"$chute" topic create spread --partitions 6
seq 1 6000 | "$chute" produce -t spread
"$chute" offsets -t spread

say "keys from a JSON field land where -K puts the same keys"
"$chute" topic create by-field --partitions 4
"$chute" topic create by-k --partitions 4
for u in ann bob cy dee; do echo "{\"user\":\"$u\",\"n\":1}"; done |
    "$chute" produce -t by-field --key-field user
for u in ann bob cy dee; do echo "$u,{\"user\":\"$u\",\"n\":1}"; done |
    "$chute" produce -t by-k -K ,
a=$("$chute" consume -t by-field -f '%k %p\n' | sort)
b=$("$chute" consume -t by-k -f '%k %p\n' | sort)
echo "$a"
[[ $a == "$b" ]] && echo "same placement as -K"

say "a partitioner command: even ids to 0, odd to 1"
"$chute" topic create jobs --partitions 2
seq 1 10 | sed 's/.*/&,job &/' |
    "$chute" produce -t jobs -K , --partitioner-exec 'while read k; do echo $((k % 2)); done'
"$chute" consume -t jobs -f 'partition %p: %s\n' | sort
