#!/usr/bin/env bash
# examples/cron/consume-new.sh - "what is new since my last run", from cron, with today's chute:
# a stand-in for consumer groups (`chute consume -g GROUP`, a later release) that keeps the
# committed offsets in a state file of its own.
#
#   consume-new.sh TOPIC STATEFILE HANDLER [ARGS...]
#
# For each partition of TOPIC, runs HANDLER with the records appended since the offset stored in
# STATEFILE on its stdin (raw format: value + newline; set FORMAT=json for binary-safe
# envelopes), and stores the new offset only when HANDLER exits 0. So delivery is at-least-once,
# like a Kafka consumer that commits after processing: a failed handler sees the same records
# again next run. A lock file makes an overlapping cron run exit quietly instead of doubling up.
# The first run starts at the earliest offset (FROM=end to skip what is already there).
#
# STATEFILE lines: "PARTITION NEXT_OFFSET". Environment: CHUTE, CHUTE_ROOT, FORMAT, FROM.
set -euo pipefail

chute=${CHUTE:-chute}
usage="usage: consume-new.sh TOPIC STATEFILE HANDLER [ARGS...]"
topic=${1:?$usage}
state=${2:?$usage}
shift 2
(($# > 0)) || { echo "$usage" >&2; exit 2; }
format=${FORMAT:-raw}
from=${FROM:-beginning}

mkdir -p "$(dirname "$state")"
exec 9>"$state.lock"
flock -n 9 || { echo "consume-new: previous run still busy ($state.lock)" >&2; exit 0; }
touch "$state"

# partition earliest latest, one line each
"$chute" offsets -t "$topic" --json |
    python3 -c 'import json, sys
for p in json.load(sys.stdin)["partitions"]:
    print(p["partition"], p["earliest"], p["latest"])' >"$state.offsets"

while read -r p earliest latest; do
    next=$(awk -v p="$p" '$1 == p { print $2 }' "$state")
    if [[ -z $next ]]; then
        if [[ $from == end ]]; then next=$latest; else next=$earliest; fi
    fi
    ((next < earliest)) && next=$earliest   # retention removed what we never read
    if ((next < latest)); then
        n=$((latest - next))
        "$chute" consume -t "$topic" -p "$p" --from "$next" -n "$n" --format "$format" | "$@"
        echo "consume-new: $topic/$p: handled offsets $next..$((latest - 1)) ($n records)" >&2
        next=$latest
    fi
    # commit: rewrite the state file atomically with this partition's new offset
    { awk -v p="$p" '$1 != p' "$state"; echo "$p $next"; } | sort -n >"$state.tmp"
    mv -f "$state.tmp" "$state"
done <"$state.offsets"
rm -f "$state.offsets"
