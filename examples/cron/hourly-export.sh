#!/usr/bin/env bash
# examples/cron/hourly-export.sh - export one clock hour of a topic to a file, from cron. Works today.
#
#   hourly-export.sh TOPIC OUTDIR [HOURS_AGO]
#
# Writes OUTDIR/TOPIC/YYYY-MM-DDTHH.jsonl (UTC) with every record whose timestamp falls in
# [HH:00:00.000, HH:59:59.999] of the hour that began HOURS_AGO hours ago (default 1: the last
# full hour), as `chute consume --format json` envelopes (binary-safe; `chute produce --format
# json` reads them back). The window is given in epoch milliseconds so that consecutive hours
# neither overlap nor leave a gap. The file appears atomically (temp file + rename), so a reader
# never sees half an export, and re-running an hour rewrites the same file (idempotent).
#
# Environment: CHUTE (the binary, default `chute`), CHUTE_ROOT (the cluster root).
set -euo pipefail

chute=${CHUTE:-chute}
topic=${1:?usage: hourly-export.sh TOPIC OUTDIR [HOURS_AGO]}
outdir=${2:?usage: hourly-export.sh TOPIC OUTDIR [HOURS_AGO]}
ago=${3:-1}

now=$(date -u +%s)
start_s=$(((now / 3600 - ago) * 3600))              # the hour, truncated to HH:00:00
start_ms=$((start_s * 1000))
end_ms=$((start_ms + 3600 * 1000 - 1))             # HH:59:59.999 (--until is inclusive)
name=$(date -u -d "@$start_s" +%Y-%m-%dT%H)

mkdir -p "$outdir/$topic"
out=$outdir/$topic/$name.jsonl
tmp=$(mktemp "$out.XXXXXX")
trap 'rm -f "$tmp"' EXIT

"$chute" consume -t "$topic" --since "$start_ms" --until "$end_ms" --format json >"$tmp"
mv -f "$tmp" "$out"
trap - EXIT
echo "$out: $(wc -l <"$out") records"
