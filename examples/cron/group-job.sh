#!/bin/sh
# examples/cron/group-job.sh TOPIC GROUP HANDLER... - one cron run of a consumer-group job.
#
#   */5 * * * *  cd /srv/billing && /path/to/group-job.sh orders billing ./bill.sh >>billing.log 2>&1
#
# Runs HANDLER on every batch of records that arrived on TOPIC since GROUP's last successful run
# (records on its stdin, one per line; CHUTE_GROUP and CHUTE_TOPIC in its environment). A batch
# is committed only when HANDLER exits 0; on failure the run stops and the batch is retried by
# the next run. Overlapping runs split the partitions. Logs a timestamped line and the lag left.
#
# Environment: CHUTE (binary, default `chute`), CHUTE_ROOT (cluster root), BATCH (records per
# HANDLER call, default 1000), FORMAT (raw | json | csv | template; default raw).
set -u
[ $# -ge 3 ] || { echo "usage: $0 TOPIC GROUP HANDLER [ARGS...]" >&2; exit 2; }
topic=$1 group=$2
shift 2
chute=${CHUTE:-chute}
# HANDLER and its arguments, quoted for `sh -c`.
cmd=
for a in "$@"; do
    cmd="$cmd '$(printf '%s' "$a" | sed "s/'/'\\\\''/g")'"
done
now() { date -u +%Y-%m-%dT%H:%M:%SZ; }
"$chute" consume -t "$topic" -g "$group" --exec-batch "${BATCH:-1000}" \
    --format "${FORMAT:-raw}" --exec "$cmd"
rc=$?
lag=$("$chute" offsets -g "$group" -t "$topic" --json 2>/dev/null |
    sed -n 's/.*/&/p' | grep -o '"lag":[0-9]*' | cut -d: -f2 | awk '{s+=$1} END {print s+0}')
echo "$(now) $group/$topic: exit $rc, lag now $lag"
exit $rc
