#!/usr/bin/env python3
"""End-to-end latency of `chute consume --follow`: a producer with --linger 0 is fed one line
per millisecond (1 k msgs/s); each line carries its send time (CLOCK_MONOTONIC, shared by all
processes); the follower's output is timestamped on arrival. Prints p50/p90/p99/max.

    bench/follow_latency.py [--chute PATH] [--count N] [--rate R] [--replicas R]

With --replicas R > 1 the topic is replicated over R brokers and `chute controller` runs:
consumers see a record once every in-sync replica has it (the high watermark), so this
measures produce -> controller's follower sync -> consume.

Target (DESIGN.md §4): p50 < 1 ms, p99 < 5 ms.
"""
import argparse, os, subprocess, sys, tempfile, threading, time

def main():
    ap = argparse.ArgumentParser()
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--chute", default=os.path.join(here, "..", "target", "release", "chute"))
    ap.add_argument("--count", type=int, default=5000)
    ap.add_argument("--rate", type=int, default=1000, help="messages per second")
    ap.add_argument("--replicas", type=int, default=1, help="replication factor (controller runs)")
    a = ap.parse_args()
    root = tempfile.mkdtemp(prefix="chute-lat.")
    env = dict(os.environ, CHUTE_ROOT=root)
    ctl = None
    if a.replicas > 1:
        subprocess.run([a.chute, "cluster", "init", "--brokers", str(a.replicas)], env=env,
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    subprocess.run([a.chute, "topic", "create", "lat", "-r", str(a.replicas)], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if a.replicas > 1:
        ctl = subprocess.Popen([a.chute, "controller"], env=env, stderr=subprocess.DEVNULL)
    cons = subprocess.Popen([a.chute, "consume", "-t", "lat", "--follow", "--from", "end"],
                            env=env, stdout=subprocess.PIPE, bufsize=0)
    prod = subprocess.Popen([a.chute, "produce", "-t", "lat", "--linger", "0", "-q"],
                            env=env, stdin=subprocess.PIPE, bufsize=0)
    lat = []
    warm = 200  # the follower is ready once the first warm-up lines arrive
    total = warm + a.count
    def reader():
        buf = b""
        while len(lat) < total:
            chunk = cons.stdout.read(65536)
            if not chunk:
                break
            now = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
            buf += chunk
            *lines, buf = buf.split(b"\n")
            for l in lines:
                lat.append(now - int(l))
    t = threading.Thread(target=reader)
    t.start()
    period = 1e9 / a.rate
    # Warm-up: send until the follower reports the first line (it resolves --from end at start).
    while not lat:
        prod.stdin.write(b"%d\n" % time.clock_gettime_ns(time.CLOCK_MONOTONIC))
        time.sleep(0.01)
    lat.clear()
    total = a.count
    nxt = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
    for _ in range(a.count):
        nxt += period
        while True:
            now = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
            if now >= nxt:
                break
            if nxt - now > 200_000:
                time.sleep((nxt - now - 150_000) / 1e9)
        prod.stdin.write(b"%d\n" % time.clock_gettime_ns(time.CLOCK_MONOTONIC))
    t.join(timeout=30)
    prod.stdin.close()
    prod.wait()
    cons.kill()
    cons.wait()
    if ctl:
        ctl.kill()
        ctl.wait()
    subprocess.run(["rm", "-rf", root])
    xs = sorted(lat[: a.count])
    if len(xs) < a.count:
        print(f"only {len(xs)} of {a.count} messages arrived", file=sys.stderr)
        sys.exit(1)
    q = lambda p: xs[min(len(xs) - 1, int(p * len(xs)))] / 1e6
    rf = f", RF {a.replicas} with controller" if a.replicas > 1 else ""
    print(f"follow latency{rf}, {a.count} msgs at {a.rate}/s: p50 {q(0.5):.3f} ms  p90 {q(0.9):.3f} ms  "
          f"p99 {q(0.99):.3f} ms  max {xs[-1]/1e6:.3f} ms  (target p50 < 1 ms, p99 < 5 ms)")

if __name__ == "__main__":
    main()
