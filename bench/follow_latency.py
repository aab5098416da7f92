#!/usr/bin/env python3
"""End-to-end latency of `chute consume --follow`: a producer is fed timestamped lines at a
fixed rate (default one per millisecond, 1 k msgs/s); each line carries its send time
(CLOCK_MONOTONIC, shared by all processes); the follower's output is timestamped on arrival.
Prints p50/p90/p99/max.

    bench/follow_latency.py [--chute PATH] [--count N] [--rate R] [--replicas R]
                            [--producer-args ARGS] [--via-tail [--tail-args ARGS] | --tail-only]
                            [--workdir DIR] [--json]

By default the producer is `chute produce -t lat -q --linger 0` and the lines are written to its
stdin. --producer-args replaces `--linger 0` (e.g. `--producer-args ''` for the default adaptive
linger, `--producer-args '--linger 5ms'`).

--via-tail: the lines are appended (O_APPEND, one write per line) to a file instead, and the
producer reads `tail -F -n0 FILE` (GNU coreutils; --tail-args replaces `-F -n0`): the figure is
what a user of `tail -F app.log | chute produce -t T` sees, tail's own delay included.
--tail-only: the same writer and tail, but the "follower" reads tail's stdout directly (no chute
at all): tail's share of the --via-tail figure.

With --replicas R > 1 the topic is replicated over R brokers and `chute controller` runs:
consumers see a record once every in-sync replica has it (the high watermark), so this
measures produce -> controller's follower sync -> consume.

Target (bench/README.md, "Design targets"): p50 < 1 ms, p99 < 5 ms.
"""
import argparse, json, os, select, shlex, shutil, signal, subprocess, sys, tempfile, time

def mono():
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC)

def inotify_in_use(pid):
    """Whether process PID holds an inotify descriptor (GNU tail -F uses inotify when it can,
    otherwise it polls every --sleep-interval, default 1 s)."""
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            if os.readlink(f"/proc/{pid}/fd/{fd}") == "anon_inode:inotify":
                return True
    except OSError:
        pass
    return False

def writer(out_fd, count, rate):
    """Child process: COUNT lines b"m<send ns>\\n" to OUT_FD, one write each, paced at RATE/s.
    Sleeps until ~150 us before each send time, then spins (a sleep alone overshoots)."""
    period = 1e9 / rate
    nxt = mono()
    for _ in range(count):
        nxt += period
        while True:
            now = mono()
            if now >= nxt:
                break
            if nxt - now > 200_000:
                time.sleep((nxt - now - 150_000) / 1e9)
        os.write(out_fd, b"m%d\n" % mono())

def main():
    ap = argparse.ArgumentParser()
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--chute", default=os.path.join(here, "..", "target", "release", "chute"))
    ap.add_argument("--count", type=int, default=5000)
    ap.add_argument("--rate", type=float, default=1000, help="messages per second")
    ap.add_argument("--replicas", type=int, default=1, help="replication factor (controller runs)")
    ap.add_argument("--producer-args", default="--linger 0",
                    help="produce options instead of `--linger 0` ('' = adaptive linger)")
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--via-tail", action="store_true",
                      help="append the lines to a file; the producer reads `tail -F -n0 FILE`")
    mode.add_argument("--tail-only", action="store_true",
                      help="as --via-tail, but read tail's output directly (tail's own delay)")
    ap.add_argument("--tail-args", default="-F -n0", help="tail options (default `-F -n0`)")
    ap.add_argument("--workdir", default=None, help="where the temporary root goes ($TMPDIR)")
    ap.add_argument("--label", default=None, help="name of this configuration in the output")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead")
    a = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))   # run the cleanup below
    tail_mode = a.via_tail or a.tail_only
    base = tempfile.mkdtemp(prefix="chute-lat.", dir=a.workdir)
    root = os.path.join(base, "root")
    env = dict(os.environ, CHUTE_ROOT=root)
    procs = []                                   # killed at the end, whatever happens
    quiet = dict(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wpid = None
    try:
        if not a.tail_only:
            if a.replicas > 1:
                subprocess.run([a.chute, "cluster", "init", "--brokers", str(a.replicas)], env=env,
                               check=True, **quiet)
            subprocess.run([a.chute, "topic", "create", "lat", "-r", str(a.replicas)], env=env,
                           check=True, **quiet)
            if a.replicas > 1:
                procs.append(subprocess.Popen([a.chute, "controller"], env=env,
                                              stderr=subprocess.DEVNULL))
        tail = None
        if tail_mode:
            path = os.path.join(base, "app.log")
            out_fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            tail = subprocess.Popen(["tail", *shlex.split(a.tail_args), path],
                                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            procs.append(tail)
        if a.tail_only:
            follower = tail
        else:
            follower = subprocess.Popen([a.chute, "consume", "-t", "lat", "--follow", "--from", "end"],
                                        env=env, stdout=subprocess.PIPE, bufsize=0)
            procs.append(follower)
            prod = subprocess.Popen([a.chute, "produce", "-t", "lat", "-q",
                                     *shlex.split(a.producer_args)], env=env,
                                    stdin=tail.stdout if tail else subprocess.PIPE)
            procs.append(prod)
            if tail:
                tail.stdout.close()              # the producer holds it now
            else:
                out_fd = prod.stdin.fileno()
        rfd = follower.stdout.fileno()

        # Warm-up: "w" lines every 10 ms until the first one comes out of the follower (it resolves
        # --from end when it starts; tail -n0 starts at the file's end), at most 20 s.
        buf = b""
        deadline = mono() + 20 * 10**9
        got = False
        while not got and mono() < deadline:
            os.write(out_fd, b"w%d\n" % mono())
            if select.select([rfd], [], [], 0.01)[0]:
                chunk = os.read(rfd, 65536)
                if not chunk:
                    break
                buf += chunk
                got = b"\n" in buf
        if not got:
            raise SystemExit("follow_latency: the follower printed nothing within 20 s of warm-up")
        time.sleep(0.2)                          # let the warm-up lines drain

        # Measurement: a child process writes; this one only reads and stamps arrivals.
        wpid = os.fork()
        if wpid == 0:
            try:
                writer(out_fd, a.count, a.rate)
            finally:
                os._exit(0)
        lat = []
        deadline = mono() + int((a.count / a.rate + 30) * 1e9)
        while len(lat) < a.count and mono() < deadline:
            if not select.select([rfd], [], [], 0.5)[0]:
                continue
            chunk = os.read(rfd, 65536)
            now = mono()
            if not chunk:
                break
            buf += chunk
            *lines, buf = buf.split(b"\n")
            for l in lines:
                if l.startswith(b"m"):
                    lat.append(now - int(l[1:]))
        os.waitpid(wpid, 0)
        wpid = None
        tail_inotify = inotify_in_use(tail.pid) if tail else None
    finally:
        if wpid:
            os.kill(wpid, signal.SIGKILL)
            os.waitpid(wpid, 0)
        for p in reversed(procs):
            p.kill()
            p.wait()
        shutil.rmtree(base, ignore_errors=True)

    xs = sorted(lat)
    if len(xs) < a.count:
        print(f"only {len(xs)} of {a.count} messages arrived", file=sys.stderr)
        sys.exit(1)
    q = lambda p: xs[min(len(xs) - 1, int(p * len(xs)))] / 1e6
    if a.tail_only:
        what = f"tail {a.tail_args} (no chute)"
    else:
        what = ("tail " + a.tail_args + " | " if a.via_tail else "") + \
               "produce " + (a.producer_args or "(default)")
    res = dict(label=a.label or what, count=a.count, rate=a.rate, replicas=a.replicas,
               p50=q(0.5), p90=q(0.9), p99=q(0.99), max=xs[-1] / 1e6, tail_inotify=tail_inotify)
    if a.json:
        print(json.dumps(res))
        return
    rf = f", RF {a.replicas} with controller" if a.replicas > 1 else ""
    ino = {None: "", True: " [tail: inotify]", False: " [tail: polling]"}[tail_inotify]
    print(f"follow latency{rf}, {res['label']}, {a.count} msgs at {a.rate:g}/s: p50 {res['p50']:.3f} ms  "
          f"p90 {res['p90']:.3f} ms  p99 {res['p99']:.3f} ms  max {res['max']:.3f} ms{ino}  "
          f"(target p50 < 1 ms, p99 < 5 ms)")

if __name__ == "__main__":
    main()
