#!/usr/bin/env bash
# examples/json-roundtrip.sh - binary-safe JSON in and out: consume --format json | produce --format json
# copies a topic exactly (keys, values, headers, timestamps, partitions), even when values are not text.
#
# Shows:
#   1. produce --format json with binary values ("value_encoding":"base64"), keys, headers,
#      explicit timestamps and partitions, a null key and a tombstone (null value)
#   2. consume --format json: UTF-8 values come out as strings, other bytes as base64
#   3. piping that into produce --format json of another topic (a topic copy / mirror)
#   4. byte-exact comparison of the two topics: the JSON envelopes, and the raw value bytes
#
# Run:  bash examples/json-roundtrip.sh
#       CHUTE=./target/release/chute bash examples/json-roundtrip.sh
# Without CHUTE_ROOT it works in a temporary root and removes it at the end.
set -euo pipefail

chute=${CHUTE:-chute}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/chute-roundtrip.XXXXXX")
own_root=0
if [[ -z ${CHUTE_ROOT:-} ]]; then
    CHUTE_ROOT=$tmp/root
    own_root=1
fi
export CHUTE_ROOT
# in a root of your own, fresh topic names so that a second run does not append to the first
src=blobs dst=blobs-copy
[[ $own_root == 1 ]] || { src=blobs-$$; dst=blobs-$$-copy; }
trap 'rm -rf "$tmp"' EXIT
say() { printf '\n== %s\n' "$*"; }

say "input: one JSON object per line; values that are not text are base64 with value_encoding"
b64() { base64 -w0; }
all_bytes=$(python3 -c 'import sys; sys.stdout.buffer.write(bytes(range(256)))' | b64)
png_magic=$(printf '\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR' | b64)
nul_key=$(printf 'k\x00ey' | b64)
cat >"$tmp/input.jsonl" <<EOF
{"key":"text","value":"plain UTF-8 value: héllo wörld ✓","timestamp":1700000000000}
{"key":"all-bytes","value":"$all_bytes","value_encoding":"base64","headers":[{"key":"content-type","value":"application/octet-stream"}],"partition":0,"timestamp":1700000000001}
{"key":"png","value":"$png_magic","value_encoding":"base64","partition":1,"timestamp":1700000000002}
{"key":"$nul_key","key_encoding":"base64","value":"a key with a NUL byte","timestamp":1700000000003}
{"key":null,"value":"no key","partition":0,"timestamp":1700000000004}
{"key":"png","value":null,"timestamp":1700000000005}
{"key":"empty","value":"","timestamp":1700000000006}
EOF
cat "$tmp/input.jsonl"

say "produce --format json into '$src' (2 partitions)"
"$chute" topic create "$src" --partitions 2 --if-not-exists
"$chute" produce -t "$src" --format json <"$tmp/input.jsonl"

say "consume --format json: what a reader sees"
"$chute" consume -t "$src" --format json | tee "$tmp/blobs.jsonl"

say "copy: consume --format json | produce --format json into '$dst' (same partition count)"
"$chute" topic create "$dst" --partitions 2 --if-not-exists
"$chute" consume -t "$src" --format json | "$chute" produce -t "$dst" --format json
"$chute" consume -t "$dst" --format json >"$tmp/copy.jsonl"

say "compare the JSON envelopes byte for byte (only the topic name differs)"
sed "s/^{\"topic\":\"$dst\",/{\"topic\":\"$src\",/" "$tmp/copy.jsonl" | cmp - "$tmp/blobs.jsonl"
echo "identical: $(wc -l <"$tmp/blobs.jsonl") records, same partitions, offsets, timestamps, keys, values, headers"

say "compare the raw bytes: every value, length-prefixed (%S), from both topics"
"$chute" consume -t "$src" --format '%p %o %K %S|%k|%s|\n' >"$tmp/blobs.raw"
"$chute" consume -t "$dst" --format '%p %o %K %S|%k|%s|\n' >"$tmp/copy.raw"
cmp "$tmp/blobs.raw" "$tmp/copy.raw"
echo "identical: $(wc -c <"$tmp/blobs.raw") bytes of raw keys and values"

say "and the 256-byte value (partition 0, offset 0) really is bytes 0..255"
"$chute" consume -t "$src" -p 0 --from 0 -n 1 --format '%s' | od -An -tx1 | sed -n '1p;$p'
"$chute" consume -t "$src" -p 0 --from 0 -n 1 --format '%s' |
    cmp - <(python3 -c 'import sys; sys.stdout.buffer.write(bytes(range(256)))')
echo "identical to bytes(range(256))"

if [[ $own_root == 1 ]]; then say "done (temporary root removed)"; else say "done (root: $CHUTE_ROOT)"; fi
