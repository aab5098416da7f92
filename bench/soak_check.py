#!/usr/bin/env python3
"""bench/soak_check.py WORK - the independent checker of bench/soak.sh (Python 3 stdlib only).

It trusts nothing chute says about itself except what a client sees: the full
`consume --format json` read of every topic, `offsets -t T --json` (log start per partition),
the producers' inputs, exit statuses and kill times, the consumer-group members' stamped
deliveries and run times, and the exit status of `verify`. It prints a summary and exits 1 on
any violation, 0 otherwise.

Producer checks (value = producer:run:seq; prod/runs.log has each run's exit status):
  - every record of a run that exited 0 (acknowledged, --acks all) is present exactly once;
    allowed absences: on the retention topic, records below the log start (a run there has one
    key, so one partition: what is missing must be a prefix of the run, in a partition whose log
    start is above 0); on the compacted topic, records a later record of the same key (in the
    same partition, at a higher offset than the run's previous record there, from a run that had
    not finished before this one started) superseded;
  - a killed or failed run: whatever is present is present once, and never beyond what the
    generator wrote into the pipe;
  - per run and partition, offsets increase with seq (a run's order is kept);
  - no record is present twice, none is unknown, keys are those that were sent, and no record
    is below the log start reported by `offsets -t`.
Consumer-group checks (groups/G.deliveries: member run, arrival time, JSON envelope):
  - two owners at once, or a lost commit: an offset delivered by two member runs X and Y is
    legitimate only if one
    of them (X) was killed (or failed) and Y wrote it after X was killed (for a failed run: after
    it started). Y's write time is bounded above by the arrival stamp and by Y's end, both taken
    after the fact, and X's death is bounded below by the time the kill was sent, so a pair
    flagged here cannot be a legitimate redelivery (some real violations with slow stamps may
    pass). Two live owners of a partition both read from the same committed
    offset, so they deliver the same offsets while both are alive: that is what this detects.
    A member that exited 0 committed what it delivered, so any redelivery of it is a violation.
    Flagged offsets are reported per partition and pair of runs: as "two owners" when each run
    delivered the partition while the other was delivering those offsets, else as "redelivered
    after commit" (the later run started below an offset already committed: a lost or rewound
    commit);
  - a member run never delivers an offset of a partition twice or out of order;
  - every delivered record is the record the log holds at that partition and offset (a consumer
    never saw a record that a failover later took back), unless retention removed it since;
  - after the final drain (a cron run with nobody else alive), every record of the topic at or
    above the log start was delivered at least once, and the committed offsets equal the log end.
Cluster checks: `verify` exit 0, `controller --once` exit 0, final reads exit 0, nothing hung at
the stop.
"""
import bisect
import collections
import glob
import json
import os
import sys

MAX_SHOWN = 8


def murmur2(data: bytes) -> int:
    """Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2), as an unsigned 32-bit int."""
    m, r = 0x5BD1E995, 24
    length = len(data)
    h = (0x9747B28C ^ length) & 0xFFFFFFFF
    for i in range(length // 4):
        k = int.from_bytes(data[i * 4:i * 4 + 4], "little")
        k = (k * m) & 0xFFFFFFFF
        k ^= k >> r
        k = (k * m) & 0xFFFFFFFF
        h = (h * m) & 0xFFFFFFFF
        h ^= k
    rem, base = length % 4, length & ~3
    if rem == 3:
        h ^= data[base + 2] << 16
    if rem >= 2:
        h ^= data[base + 1] << 8
    if rem >= 1:
        h ^= data[base]
        h = (h * m) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * m) & 0xFFFFFFFF
    h ^= h >> 15
    return h


def kafka_partition(key: str, partitions: int) -> int:
    return (murmur2(key.encode()) & 0x7FFFFFFF) % partitions


class Report:
    def __init__(self):
        self.violations = collections.OrderedDict()
        self.notes = []

    def bad(self, kind, msg):
        self.violations.setdefault(kind, []).append(msg)

    def note(self, msg):
        self.notes.append(msg)

    def total(self):
        return sum(len(v) for v in self.violations.values())


def read_lines(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read().splitlines()
    except FileNotFoundError:
        return []


def read_int(path, default=None):
    try:
        with open(path) as f:
            return int(f.read().strip())
    except (FileNotFoundError, ValueError):
        return default


def head(path, n=3):
    lines = read_lines(path)
    return " | ".join(lines[:n])[:400]


def envelope_text(env, field):
    v = env.get(field)
    if v is not None and env.get(field + "_encoding") == "base64":
        import base64
        v = base64.b64decode(v).decode("utf-8", "replace")
    return v


def main(work):
    rep = Report()
    fig = collections.OrderedDict()          # figures for the summary
    topics = [l.split() for l in read_lines(os.path.join(work, "topics")) if l.strip()]
    kind_of = {t: k for t, k in topics}

    # ---- producer runs -----------------------------------------------------------------------
    runs = {}                                 # (pid, run) -> dict
    for line in read_lines(os.path.join(work, "prod", "runs.log")):
        f = line.split()
        if len(f) < 11:
            continue
        pid, run, topic, n, keymode, t0, t1, rc, killed, kill_us, cpid = f[:11]
        runs[(pid, int(run))] = dict(topic=topic, n=int(n), keymode=keymode, t0=int(t0), t1=int(t1),
                                     rc=int(rc), killed=int(killed), kill_us=int(kill_us))
    for path in glob.glob(os.path.join(work, "prod", "*.in")):
        pid, run = os.path.basename(path)[:-3].split(".")
        key = (pid, int(run))
        if key not in runs:                   # still running when the workers were stopped
            runs[key] = dict(topic=None, n=None, keymode=None, t0=0, t1=None, rc=None, killed=0, kill_us=0)
    status_count = collections.Counter()
    rc_count = collections.Counter()
    sent_total = intended = acked_records = 0
    keys_of = {}                              # (pid, run) -> list of keys (index seq-1), keyed runs
    for key, r in runs.items():
        base = os.path.join(work, "prod", f"{key[0]}.{key[1]}")
        lines = read_lines(base + ".in")
        if r["n"] is None:
            r["n"] = len(lines)
        if len(lines) != r["n"]:
            rep.bad("harness", f"run {key}: input has {len(lines)} lines, expected {r['n']}")
        ks = []
        for i, l in enumerate(lines, 1):
            k, sep, v = l.rpartition(",")
            if v != f"{key[0]}:{key[1]}:{i}":
                rep.bad("harness", f"run {key}: input line {i} is {l!r}")
                break
            ks.append(k if sep else None)
        keys_of[key] = ks
        r["sent"] = read_int(base + ".sent")
        intended += r["n"]
        sent_total += r["sent"] if r["sent"] is not None else 0
        if r["rc"] == 0:
            st = "ok"
            acked_records += r["n"]
        elif r["rc"] is None:
            st = "unfinished"
        elif r["killed"] and r["rc"] == 137:
            st = "killed"
        else:
            st = "failed"
        r["status"] = st
        status_count[st] += 1
        if r["rc"] is not None:
            rc_count[r["rc"]] += 1
        if st == "failed" and r["rc"] not in (75,):
            rep.bad("producer exit", f"run {key[0]}:{key[1]} on {r['topic']}: exit {r['rc']}: {head(base + '.err')}")
        elif st == "failed":
            rep.note(f"run {key[0]}:{key[1]} on {r['topic']}: exit {r['rc']}: {head(base + '.err', 1)}")
        if r["topic"] is None:
            # recover the topic from the record stream later; unfinished runs are partial anyway
            pass

    # ---- final reads --------------------------------------------------------------------------
    found = collections.defaultdict(list)     # (pid, run) -> [(seq, topic, partition, offset)]
    seen = {}                                 # (pid, run, seq) -> (topic, partition, offset)
    log_values = {}                           # (topic, partition) -> {offset: value}
    log_start = {}                            # (topic, partition) -> earliest
    log_end = {}
    partitions_of = {}
    by_key = collections.defaultdict(list)    # (topic, key) -> [(partition, offset, pid, run, seq)]
    found_total = 0
    for t, kind in topics:
        rc = read_int(os.path.join(work, "final", f"{t}.rc"))
        if rc != 0:
            rep.bad("final read", f"consume -t {t} --format json exited {rc}: {head(os.path.join(work, 'final', t + '.err'))}")
        try:
            offs = json.load(open(os.path.join(work, "final", f"{t}.offsets.json")))
            for p in offs["partitions"]:
                log_start[(t, p["partition"])] = p["earliest"]
                log_end[(t, p["partition"])] = p["latest"]
            partitions_of[t] = len(offs["partitions"])
        except (OSError, ValueError, KeyError) as e:
            rep.bad("final read", f"offsets -t {t} --json unreadable: {e}")
        last_off = {}
        for line in read_lines(os.path.join(work, "final", f"{t}.jsonl")):
            try:
                env = json.loads(line)
                p, o = env["partition"], env["offset"]
                v, k = envelope_text(env, "value"), envelope_text(env, "key")
            except (ValueError, KeyError) as e:
                rep.bad("unknown record", f"{t}: unparsable line {line[:120]!r}: {e}")
                continue
            found_total += 1
            if o <= last_off.get(p, -1):
                rep.bad("read order", f"{t}-{p}: offset {o} after {last_off[p]}")
            if kind != "compact" and o != last_off.get(p, log_start.get((t, p), 0) - 1) + 1:
                # without compaction a partition's offsets run from the log start to the end
                rep.bad("gap in log", f"{t}-{p}: offset {o} follows {last_off.get(p, 'the log start ' + str(log_start.get((t, p))))}")
            last_off[p] = o
            log_values.setdefault((t, p), {})[o] = v
            if o < log_start.get((t, p), 0) or o >= log_end.get((t, p), 1 << 62):
                rep.bad("offsets", f"{t}-{p}@{o} read but outside [log start {log_start.get((t, p))}, end {log_end.get((t, p))})")
            try:
                pid, run, seq = v.split(":")
                run, seq = int(run), int(seq)
                r = runs[(pid, run)]
            except (ValueError, KeyError, AttributeError):
                rep.bad("unknown record", f"{t}-{p}@{o}: value {v!r} is no producer's record")
                continue
            if not 1 <= seq <= r["n"]:
                rep.bad("unknown record", f"{t}-{p}@{o}: {v} beyond run's {r['n']} records")
                continue
            if r["topic"] is None:
                r["topic"] = t
            if r["topic"] != t:
                rep.bad("unknown record", f"{t}-{p}@{o}: {v} was produced to {r['topic']}")
            ks = keys_of.get((pid, run), [])
            if ks and seq <= len(ks) and ks[seq - 1] != k:
                rep.bad("corrupt record", f"{t}-{p}@{o}: {v} has key {k!r}, sent {ks[seq - 1]!r}")
            prev = seen.get((pid, run, seq))
            if prev is not None:
                rep.bad("duplicate", f"{v} at {t}-{p}@{o} and {prev[0]}-{prev[1]}@{prev[2]}")
                continue
            seen[(pid, run, seq)] = (t, p, o)
            found[(pid, run)].append((seq, t, p, o))
            if kind == "compact" and k is not None:
                by_key[(t, k)].append((p, o, pid, run, seq))

        for (tt, p), end in log_end.items():
            if tt == t and kind != "compact" and last_off.get(p, log_start[(t, p)] - 1) != end - 1:
                rep.bad("gap in log", f"{t}-{p}: the read ends at {last_off.get(p)}, the log end is {end}")

    # ---- per run: completeness and order --------------------------------------------------------
    acked_found = unacked_found = by_retention = by_compaction = 0
    missing_bad = 0
    murmur_mismatch = 0
    for key, r in runs.items():
        recs = found.get(key, [])
        per_part = collections.defaultdict(list)
        for seq, t, p, o in recs:
            per_part[p].append((o, seq))
        for p, lst in per_part.items():
            lst.sort()
            for (o1, s1), (o2, s2) in zip(lst, lst[1:]):
                if s2 <= s1:
                    rep.bad("run order", f"run {key[0]}:{key[1]} in {r['topic']}-{p}: seq {s1}@{o1} then seq {s2}@{o2}")
                    break
        if r["status"] != "ok":
            unacked_found += len(recs)
            if r["sent"] is not None:
                beyond = [s for s, *_ in recs if s > r["sent"]]
                if beyond:
                    rep.bad("unknown record", f"run {key[0]}:{key[1]}: seq {min(beyond)} present but only {r['sent']} were written to the producer")
            continue
        acked_found += len(recs)
        have = {s for s, *_ in recs}
        missing = [s for s in range(1, r["n"] + 1) if s not in have]
        if not missing:
            continue
        t, kind = r["topic"], kind_of.get(r["topic"])
        ks = keys_of[key]
        if kind == "retention":
            # one key per run, so one partition; retention removes a prefix of the partition
            p_hash = kafka_partition(ks[0], partitions_of.get(t, 1)) if ks and ks[0] else None
            parts = {p for _, _, p, _ in recs}
            if parts and p_hash is not None and parts != {p_hash}:
                murmur_mismatch += 1
            p = next(iter(parts)) if parts else p_hash
            prefix = not have or max(missing) < min(have)
            if prefix and log_start.get((t, p), 0) > 0:
                by_retention += len(missing)
                continue
            rep.bad("acked record missing", f"run {key[0]}:{key[1]} (exit 0) on {t}-{p}: {len(missing)} of {r['n']} missing "
                    f"(seq {missing[0]}..{missing[-1]}, {'a prefix' if prefix else 'not a prefix'}, log start {log_start.get((t, p))})")
            missing_bad += len(missing)
        elif kind == "compact":
            pos = {s: (p, o) for s, _, p, o in recs}
            bad = []
            for s in missing:
                k = ks[s - 1]
                p = kafka_partition(k, partitions_of.get(t, 1))
                pred = max((pos[x][1] for x in range(s - 1, 0, -1) if x in pos and pos[x][0] == p), default=-1)
                ok = False
                for (pp, oo, opid, orun, oseq) in by_key.get((t, k), []):
                    if pp != p or oo <= pred:
                        continue
                    if (opid, orun) == key:
                        ok = oseq > s
                    else:
                        other = runs[(opid, orun)]
                        ok = other["t1"] is None or other["t1"] > r["t0"]
                    if ok:
                        break
                if ok:
                    by_compaction += 1
                else:
                    bad.append(s)
            if bad:
                missing_bad += len(bad)
                rep.bad("acked record missing", f"run {key[0]}:{key[1]} (exit 0) on compacted {t}: {len(bad)} records missing with no later record of their key "
                        f"(seq {bad[:5]}, keys {[ks[s - 1] for s in bad[:5]]})")
        else:
            missing_bad += len(missing)
            rep.bad("acked record missing", f"run {key[0]}:{key[1]} (exit 0) on {t}: {len(missing)} of {r['n']} missing (seq {missing[:5]}...)")
    # partition of keyed records vs Kafka's murmur2 (a sanity check of the checker's model)
    for (t, k), lst in list(by_key.items())[:200]:
        for p, *_ in lst:
            if p != kafka_partition(k, partitions_of.get(t, 1)):
                murmur_mismatch += 1
    if murmur_mismatch:
        rep.note(f"{murmur_mismatch} keyed records not in the partition murmur2 gives (checker's retention/compaction model may be off)")

    # ---- consumer groups ------------------------------------------------------------------------
    gfig = collections.OrderedDict()
    for line in read_lines(os.path.join(work, "groups.list")):
        if not line.strip():
            continue
        g, t = line.split()
        mruns = {}
        for l in read_lines(os.path.join(work, "groups", f"{g}.runs")):
            f = l.split()
            if f[0] == "start":
                mruns[f[1]] = dict(kind=f[2], pid=int(f[3]), start=int(f[4]), rc=None, killed=0, kill_us=0, end=None)
            elif f[0] == "end" and f[1] in mruns:
                mruns[f[1]].update(rc=int(f[2]), killed=int(f[3]), kill_us=int(f[4]), end=int(f[5]))
        # when a redelivery by another member is legitimate after this run: None = never (it
        # committed what it delivered), else the earliest time of the other delivery
        def released_at(m):
            if m["rc"] == 0:
                return None
            if m["killed"] and m["kill_us"]:
                return m["kill_us"]
            return m["start"]                 # failed by itself, or cut off by the stop: lenient
        kinds = collections.Counter(m["kind"] for m in mruns.values())
        kills = collections.Counter(m["kind"] for m in mruns.values() if m["killed"] and m["rc"] != 0)
        errs = []
        for rid, m in mruns.items():
            if m["rc"] not in (0, None) and not (m["killed"] and m["rc"] in (137, 143)):
                errs.append(rid)
                msg = f"{rid} ({m['kind']}) exited {m['rc']}: {head(os.path.join(work, 'groups', rid + '.err'))}"
                if m["rc"] == 75:
                    rep.note(msg)
                else:
                    rep.bad("consumer exit", msg)
        first = {}                            # (p, o) -> (rid, us)
        redeliveries = collections.defaultdict(list)
        last_in_run = {}                      # (rid, p) -> offset
        times = collections.defaultdict(list)  # (rid, p) -> arrival times, in order
        deliveries = 0
        for l in read_lines(os.path.join(work, "groups", f"{g}.deliveries")):
            try:
                rid, us, js = l.split("\t", 2)
                env = json.loads(js)
                p, o, v = env["partition"], env["offset"], envelope_text(env, "value")
                us = int(us)
            except (ValueError, KeyError) as e:
                rep.bad("group delivery", f"{g}: unparsable delivery {l[:120]!r}: {e}")
                continue
            deliveries += 1
            if env.get("topic") != t:
                rep.bad("group delivery", f"{g}: {rid} delivered topic {env.get('topic')}")
            lo = last_in_run.get((rid, p))
            if lo is not None and o <= lo:
                rep.bad("member order", f"{g}: {rid} delivered {t}-{p}@{o} after @{lo}")
            last_in_run[(rid, p)] = o
            times[(rid, p)].append(us)
            vals = log_values.get((t, p), {})
            if o in vals:
                if vals[o] != v:
                    rep.bad("delivered != log", f"{g}: {rid} delivered {t}-{p}@{o} = {v!r}, the log holds {vals[o]!r}")
            elif o >= log_end.get((t, p), 0):
                rep.bad("delivered != log", f"{g}: {rid} delivered {t}-{p}@{o} = {v!r}, beyond the log end {log_end.get((t, p))}")
            elif o >= log_start.get((t, p), 0) and kind_of.get(t) != "compact":
                rep.bad("delivered != log", f"{g}: {rid} delivered {t}-{p}@{o} = {v!r}, which the log no longer holds")
            if (p, o) in first:
                redeliveries[(p, o)].append((rid, us))
            else:
                first[(p, o)] = (rid, us)
        two_owners = rewound = legit = 0
        flagged = {}                          # (kind, partition, run x, run y) -> [offsets, first, last, tx, ty]
        for (p, o), more in redeliveries.items():
            ds = [first[(p, o)]] + more
            for i in range(len(ds)):
                for j in range(i + 1, len(ds)):
                    (x, tx), (y, ty) = ds[i], ds[j]
                    if x == y:
                        # member order above reports it
                        continue
                    mx, my = mruns.get(x), mruns.get(y)
                    rx = released_at(mx) if mx else 0
                    ry = released_at(my) if my else 0
                    # a delivery was written before it arrived and before its member ended
                    wx = min(tx, mx["end"]) if mx and mx["end"] else tx
                    wy = min(ty, my["end"]) if my and my["end"] else ty
                    ok = (rx is not None and wy >= rx) or (ry is not None and wx >= ry)
                    if ok:
                        legit += 1
                        continue
                    f = flagged.setdefault((p, x, y), [0, o, o, tx, tx, ty, ty])
                    f[0] += 1
                    f[1], f[2] = min(f[1], o), max(f[2], o)
                    f[3], f[4], f[5], f[6] = min(f[3], tx), max(f[4], tx), min(f[5], ty), max(f[6], ty)

        def desc(r, m, tt):
            if not m:
                return f"{r} (unknown run) at {tt}"
            end = "still running" if m["end"] is None else \
                f"exit {m['rc']}{' killed at ' + str(m['kill_us']) if m['killed'] else ''}, ended {m['end']}"
            return f"{r} ({m['kind']}, pid {m['pid']}, {m['start']}..{end}; first of these at {tt})"
        def delivered_between(r, p, a, b):
            ts = times.get((r, p), [])
            i = bisect.bisect_left(ts, a)
            return i < len(ts) and ts[i] <= b
        for (p, x, y), (cnt, lo, hi, tx0, tx1, ty0, ty1) in sorted(flagged.items(), key=lambda kv: kv[1][3]):
            # "two owners" when each delivered the partition while the other was delivering these
            # offsets; otherwise one came after the other and started below what was committed
            # (a commit lost, or rewound)
            if delivered_between(x, p, ty0, ty1) or delivered_between(y, p, tx0, tx1):
                kind_ = "two owners"
                two_owners += cnt
            else:
                kind_ = "redelivered after commit"
                rewound += cnt
            rep.bad(kind_, f"{g}: {t}-{p}@{lo}..{hi} ({cnt} offsets) delivered by {desc(x, mruns.get(x), tx0)} "
                    f"and again by {desc(y, mruns.get(y), ty0)}")
        # completeness after the drain
        undelivered = []
        for (tt, p), vals in log_values.items():
            if tt != t:
                continue
            ls = log_start.get((t, p), 0)
            for o in vals:
                if o >= ls and (p, o) not in first:
                    undelivered.append((p, o))
        if undelivered:
            undelivered.sort()
            rep.bad("never delivered", f"{g}: {len(undelivered)} records of {t} never delivered, e.g. {undelivered[:5]}")
        try:
            offs = json.load(open(os.path.join(work, "final", f"{g}.offsets.json")))
            for p in offs["partitions"]:
                if p["committed"] != p["log_end_offset"]:
                    rep.bad("lag after drain", f"{g}: {t}-{p['partition']} committed {p['committed']}, log end {p['log_end_offset']}")
        except (OSError, ValueError, KeyError) as e:
            rep.bad("lag after drain", f"{g}: offsets -g unreadable: {e}")
        warn = collections.Counter()
        for path in glob.glob(os.path.join(work, "groups", f"{g}.*.err")):
            for l in read_lines(path):
                if "beyond the log end" in l:
                    warn["beyond"] += 1
                elif "below the log start" in l:
                    warn["below"] += 1
        partial = len([l for l in read_lines(os.path.join(work, "groups", f"{g}.deliveries.partial")) if l.strip()])
        gfig[g] = dict(topic=t, cron_runs=kinds["cron"], cron_kills=kills["cron"], follow_runs=kinds["follow"],
                       follow_kills=kills["follow"], deliveries=deliveries, distinct=len(first),
                       redelivered=sum(len(v) for v in redeliveries.values()), legit_pairs=legit,
                       two_owner_pairs=two_owners, rewound_pairs=rewound, errors=len(errs), partial_lines=partial,
                       beyond=warn["beyond"], below=warn["below"])

    # ---- cluster events and final commands --------------------------------------------------------
    ev = collections.Counter()
    isr_ms = []
    alters = []
    for l in read_lines(os.path.join(work, "events.log")):
        f = l.split()
        if len(f) < 2:
            continue
        kv = dict(x.split("=", 1) for x in f[2:] if "=" in x)
        if f[1] == "controller-kill":
            ev["controller kills (" + kv.get("role", "?") + ")"] += 1
        elif f[1] == "broker-down":
            ev["broker down"] += 1
            if kv.get("rc") != "0":
                rep.bad("broker cycle", l)
        elif f[1] == "broker-up":
            ev["broker up"] += 1
            if kv.get("rc") != "0":
                rep.bad("broker cycle", l)
        elif f[1] == "isr-full":
            isr_ms.append(int(kv.get("after_ms", 0)))
            if kv.get("ok") != "1":
                rep.note(f"ISR not full within 60 s after broker {kv.get('id')} came back")
        elif f[1] == "alter":
            alters.append(f"{kv.get('topic')}->{kv.get('partitions')} (exit {kv.get('rc')}, {kv.get('tries', 1)} tries)")
            if kv.get("rc") != "0":
                rep.bad("alter", l)
    for name in ("controller-once", "verify"):
        rc = read_int(os.path.join(work, "final", f"{name}.rc"))
        if rc != 0:
            rep.bad(name, f"{name.replace('-', ' --')} exited {rc}: {head(os.path.join(work, 'final', name + '.out'), 6)}")
    hung = [l for l in read_lines(os.path.join(work, "hung")) if l.strip()]
    for l in hung:
        rep.bad("hung", l)

    # ---- summary ----------------------------------------------------------------------------------
    version = head(os.path.join(work, "final", "version"), 1)
    print(f"soak summary ({version}; work dir {work})")
    print(f"producer runs: {len(runs)}: {status_count['ok']} exit 0, {status_count['killed']} killed -9, "
          f"{status_count['failed']} failed, {status_count['unfinished']} unfinished at the stop; "
          f"exit codes {dict(sorted(rc_count.items()))}")
    print(f"records: {intended} in the runs' inputs, {sent_total} written to producers, "
          f"{acked_records} acknowledged (runs that exited 0)")
    print(f"found in the final reads: {found_total} ({acked_found} of acknowledged runs, {unacked_found} of killed/failed runs); "
          f"acknowledged but gone: {by_retention} below the log start (retention), {by_compaction} superseded (compaction), "
          f"{missing_bad} missing (violation)")
    for t, k in topics:
        parts = sorted(p for (tt, p) in log_end if tt == t)
        desc = ", ".join(f"{p}:[{log_start[(t, p)]},{log_end[(t, p)]})" for p in parts)
        print(f"  topic {t} ({k}): {len([1 for (tt, p), v in log_values.items() if tt == t for _ in v])} records; log start/end {desc}")
    for g, d in gfig.items():
        print(f"group {g} on {d['topic']}: {d['cron_runs']} cron runs ({d['cron_kills']} killed), {d['follow_runs']} follow runs "
              f"({d['follow_kills']} killed), {d['deliveries']} deliveries of {d['distinct']} records, {d['redelivered']} redelivered "
              f"({d['legit_pairs']} pairs after a kill; violations: {d['two_owner_pairs']} by two owners, {d['rewound_pairs']} after a commit), "
              f"{d['errors']} member errors, {d['partial_lines']} partial lines; warnings: {d['below']} 'below the log start', "
              f"{d['beyond']} 'beyond the log end'")
    print(f"chaos: {ev['broker down']} broker down/up cycles (ISR full again after "
          f"{('max ' + str(max(isr_ms)) + ' ms, median ' + str(sorted(isr_ms)[len(isr_ms) // 2]) + ' ms') if isr_ms else '-'}), "
          f"controller kills: {ev['controller kills (active)']} active + {ev['controller kills (standby)']} standby, "
          f"alters: {', '.join(alters) or '-'}")
    print(f"final: controller --once exit {read_int(os.path.join(work, 'final', 'controller-once.rc'))}, "
          f"verify exit {read_int(os.path.join(work, 'final', 'verify.rc'))}, hung processes {len(hung)}")
    for n in rep.notes[:MAX_SHOWN]:
        print(f"note: {n}")
    if len(rep.notes) > MAX_SHOWN:
        print(f"note: ... {len(rep.notes) - MAX_SHOWN} more notes")
    if rep.total():
        print(f"VIOLATIONS: {rep.total()}")
        for kind, msgs in rep.violations.items():
            print(f"  {kind}: {len(msgs)}")
            for m in msgs[:MAX_SHOWN]:
                print(f"    {m}")
            if len(msgs) > MAX_SHOWN:
                print(f"    ... {len(msgs) - MAX_SHOWN} more")
        return 1
    print("violations: 0")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__.splitlines()[0], file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
