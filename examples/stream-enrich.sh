#!/usr/bin/env bash
# examples/stream-enrich.sh - a stream processor made of chute and jq, exactly once.
#
# Shows:
#   1. `chute stream`: orders (JSON lines) -> jq adds a tax and a tier, keyed by customer ->
#      orders-enriched; the stream group is an ordinary consumer group (offsets -g)
#   2. a transform that fails mid-run: nothing of its batch is visible, the run exits 75, and
#      the next run does exactly what is missing: every order enriched once
#   3. a retry-safe producer (`produce --id`): the same load run twice writes once
#
# Run:  bash examples/stream-enrich.sh
#       CHUTE=./target/release/chute bash examples/stream-enrich.sh
# Needs jq. Works in a temporary root and removes it at the end.
set -euo pipefail

chute=${CHUTE:-chute}
CHUTE_ROOT=$(mktemp -d "${TMPDIR:-/tmp}/chute-stream.XXXXXX")
export CHUTE_ROOT
trap 'rm -rf "$CHUTE_ROOT"' EXIT
say() { printf '\n== %s\n' "$*"; }

orders() { # FROM TO: one JSON order per line
    for i in $(seq "$1" "$2"); do
        printf '{"id":%d,"customer":"c%d","amount":%d}\n' "$i" $((i % 7)) $((i * 3 % 1000))
    done
}
# The transform: one enriched order per order, "customer<TAB>json" so -K keys it by customer.
enrich='jq -rc '\''"\(.customer)\t\(. + {tax: (.amount * 0.2), tier: (if .amount > 500 then "gold" else "standard" end)} | tojson)"'\'

say "300 orders, enriched by jq in batches of 50"
"$chute" topic create orders --partitions 3
"$chute" topic create orders-enriched --partitions 3
orders 1 300 >"$CHUTE_ROOT/day1.jsonl"
# Retry-safe: loading the same file twice writes it once.
"$chute" produce -t orders --id day1 --file "$CHUTE_ROOT/day1.jsonl"
"$chute" produce -t orders --id day1 --file "$CHUTE_ROOT/day1.jsonl"
"$chute" stream -t orders -g enrich --to orders-enriched -K '\t' --exec-batch 50 --exec "$enrich"
echo "enriched: $("$chute" consume -t orders-enriched | wc -l)"
"$chute" consume -t orders-enriched -K ' ' -n 2
"$chute" offsets -g enrich

say "300 more; the transform fails on the batch holding order 450"
orders 301 600 | "$chute" produce -t orders
set +e
"$chute" stream -t orders -g enrich --to orders-enriched -K '\t' --exec-batch 50 \
    --exec "tee \"$CHUTE_ROOT/batch\" | $enrich; ! grep -q '\"id\":450,' \"$CHUTE_ROOT/batch\""
echo "exit status: $?"
set -e
echo "enriched so far: $("$chute" consume -t orders-enriched | wc -l)"

say "run again: exactly what is missing"
"$chute" stream -t orders -g enrich --to orders-enriched -K '\t' --exec-batch 50 --exec "$enrich"
ids=$("$chute" consume -t orders-enriched | jq -r .id | sort -n)
echo "exactly once: $(echo "$ids" | wc -l) ids, $(echo "$ids" | uniq -d | wc -l) duplicates"
