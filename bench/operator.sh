#!/usr/bin/env bash
# bench/operator.sh - the operator's view on a cluster of 1,000 partitions: one refresh of
# `top --once`, `metrics` and `offsets -g G --check` (target: < 50 ms each, bench/README.md).
#
#   bench/operator.sh                      # 10 topics x 100 partitions, a group on all of them
#   TOPICS=20 PARTS=100 bench/operator.sh  # 2,000 partitions
#   CHUTE=/path/to/chute bench/operator.sh
set -euo pipefail

TOPICS=${TOPICS:-10}
PARTS=${PARTS:-100}
RUNS=${RUNS:-20}

KEEP=${KEEP:-0}
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
command -v hyperfine >/dev/null || die "hyperfine is needed"
mkdir -p "$lib_here/out"
make_work "$lib_here/out/operator.XXXXXX"
c="$chute --root $work/root"

echo "setup: $TOPICS topics x $PARTS partitions, 20 records each, group g half way through all" >&2
for t in $(seq 1 "$TOPICS"); do
    $c topic create "t$t" --partitions "$PARTS" >/dev/null 2>&1
    seq 1 $((PARTS * 20)) | $c produce -t "t$t" -K , --key-optional -q
done
for t in $(seq 1 "$TOPICS"); do
    $c consume -t "t$t" -g g -n $((PARTS * 10)) >/dev/null
done

hyperfine --style basic --warmup 2 --runs "$RUNS" -N \
    "$c top --once" \
    "$c metrics" \
    "$c offsets -g g --check --max-lag 1000000000" \
    --export-markdown "$work/operator.md" >&2
echo
echo "chute $($chute --version | cut -d' ' -f2), $TOPICS x $PARTS = $((TOPICS * PARTS)) partitions, target < 50 ms per refresh"
cat "$work/operator.md"
