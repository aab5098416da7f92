#!/usr/bin/env bash
# bench/compression.sh - produce and consume per codec, side by side with dd, cat, gzip and zstd,
# in one run, on two inputs: N realistic access-log lines and N 100-byte counter lines.
#
#   bench/compression.sh                 # N=2,000,000 of each input
#   N=500000 bench/compression.sh        # fewer lines
#   CODECS="lz4 zstd" bench/compression.sh
#   RUNS=5 KEEP=1 CHUTE=path/to/chute STRICT=1 bench/compression.sh
#
# Per input and codec (bench/README.md, "Compression"):
#   produce: chute produce -q -t b -z CODEC < input, fresh root and sync before each run (not
#            timed); ratio = dd bs=1M conv=fsync seconds / chute seconds
#   consume: chute consume -t b > /dev/null, warm cache; ratio = cat input > /dev/null seconds /
#            chute seconds (cat of the uncompressed input: what a reader of the plain file pays)
#   on disk: bytes of the segment files, next to gzip -6 and zstd -3 of the whole input file
#   peak RSS of produce and consume (GNU time %M)
# Targets: lz4 produce >= 0.5 x dd; lz4 consume >= 0.1 x cat; zstd on the log input stores
# <= 1.2 x the bytes of zstd -3 of the file; every codec's peak RSS <= 32 MiB.
set -euo pipefail

N=${N:-2000000}
RUNS=${RUNS:-3}
KEEP=${KEEP:-0}
STRICT=${STRICT:-0}
CODECS=${CODECS:-none gzip snappy lz4 zstd}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=bench/lib.sh
source "$here/lib.sh"
[[ -x /usr/bin/time ]] || die "GNU time is needed for peak RSS (Debian package: time)"
for tool in gzip zstd; do command -v $tool >/dev/null || die "$tool is needed for the size baseline"; done
mkdir -p "$here/out"
make_work "$here/out/compression.XXXXXX"

# Access-log lines as a web server writes them: a few hundred client addresses, repeated paths
# with ids, a handful of user agents, status codes and sizes; time moves forward. Deterministic.
gen_logs() {
    python3 - "$1" "$2" <<'PY'
import random, sys
random.seed(20261127)
out, n = sys.argv[1], int(sys.argv[2])
ips = [f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(256)}" for _ in range(400)]
paths = ["/", "/index.html", "/api/v1/users/{}", "/api/v1/orders/{}", "/static/app.{}.js",
         "/static/style.css", "/images/p/{}.jpg", "/search?q=item{}", "/cart", "/checkout"]
agents = ["Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
          "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
          "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
          "curl/8.5.0", "Googlebot/2.1 (+http://www.google.com/bot.html)", "python-requests/2.32.3"]
status = [200] * 40 + [304] * 5 + [301, 302, 404, 404, 500]
t = 1_764_000_000
months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
import time
with open(out, "w") as f:
    for i in range(n):
        if random.random() < 0.3:
            t += 1
        tm = time.gmtime(t)
        p = random.choice(paths).format(random.randrange(5000))
        f.write(f'{random.choice(ips)} - - [{tm.tm_mday:02d}/{months[tm.tm_mon - 1]}/{tm.tm_year}:'
                f'{tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d} +0000] "GET {p} HTTP/1.1" '
                f'{random.choice(status)} {random.randrange(200, 60000)} "-" "{random.choice(agents)}"\n')
PY
}

report=$work/report
: >"$report"
row() { printf '%s\n' "$*" >>"$report"; }
verdict() { # VALUE OP TARGET -> PASS/FAIL
    if python3 -c "import sys; sys.exit(0 if $1 $2 $3 else 1)"; then echo PASS; else echo FAIL; fi
}
mib() { calc "round($1 / 1024, 1)"; }

bench_input() {
    local name=$1 input=$2 bytes root=$work/root
    bytes=$(stat -c %s "$input")
    sync
    log "$name: baselines (dd conv=fsync, cat, gzip -6, zstd -3)"
    local t_dd t_cat gz zs
    t_dd=$(best_time "$name dd" "rm -f $(q "$work/dd.out"); sync" \
        "dd if=$(q "$input") of=$(q "$work/dd.out") bs=1M conv=fsync status=none")
    rm -f "$work/dd.out"
    t_cat=$(best_time "$name cat" "" "cat $(q "$input") > /dev/null")
    gz=$(gzip -6 -c "$input" | wc -c)
    zs=$(zstd -3 -q -c "$input" | wc -c)
    row ""
    row "input: $name, $N lines, $bytes B; gzip -6: $gz B ($(calc "round($bytes / $gz, 2)")x); zstd -3: $zs B ($(calc "round($bytes / $zs, 2)")x)"
    row "dd bs=1M conv=fsync: $(calc "round($t_dd, 3)") s; cat input > /dev/null: $(calc "round($t_cat, 3)") s"
    row "$(printf '%-7s %9s %6s %9s %6s %13s %7s %8s %8s  %s' codec produce ratio consume ratio "on disk B" "x" "RSS p" "RSS c" targets)"
    local c t_p t_c disk rp rc tgt
    for c in $CODECS; do
        log "$name: $c"
        t_p=$(best_time "$name produce $c" "rm -rf $(q "$root"); sync" \
            "$(q "$chute") --root $(q "$root") produce -q -t b -z $c < $(q "$input")")
        rm -rf "$root"
        sync
        /usr/bin/time -f %M -o "$work/rss" "$chute" --root "$root" produce -q -t b -z "$c" <"$input"
        rp=$(tail -n 1 "$work/rss")
        t_c=$(best_time "$name consume $c" "" "$(q "$chute") --root $(q "$root") consume -t b > /dev/null")
        /usr/bin/time -f %M -o "$work/rss" "$chute" --root "$root" consume -t b >"$work/out"
        rc=$(tail -n 1 "$work/rss")
        cmp -s "$work/out" "$input" || die "$name $c: consume output differs from the input"
        disk=$(dir_bytes "$root/brokers" .log)
        tgt="rss<=32MiB $(verdict "max($rp, $rc)" "<=" $((32 * 1024)))"
        if [[ $c == lz4 ]]; then
            tgt+=" produce>=0.5 $(verdict "$t_dd / $t_p" ">=" 0.5) consume>=0.1 $(verdict "$t_cat / $t_c" ">=" 0.1)"
        fi
        if [[ $c == zstd && $name == logs ]]; then
            tgt+=" disk<=1.2x(zstd -3) $(verdict "$disk" "<=" "1.2 * $zs")"
        fi
        row "$(printf '%-7s %8.3fs %6.2f %8.3fs %6.2f %13s %7s %8s %8s  %s' "$c" "$t_p" \
            "$(calc "$t_dd / $t_p")" "$t_c" "$(calc "$t_cat / $t_c")" "$disk" \
            "$(calc "round($bytes / $disk, 2)")" "$(mib "$rp")" "$(mib "$rc")" "$tgt")"
        rm -rf "$root"
    done
}

log "generating $N access-log lines and $N 100-byte lines"
gen_logs "$work/logs" "$N"
gen_input "$work/lines" "$N"
bench_input logs "$work/logs"
bench_input lines100 "$work/lines"

echo "chute $($chute --version | cut -d' ' -f2) ($(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?')), $(uname -sr), $(nproc) CPUs; $timer"
echo "produce ratio = dd seconds / chute seconds; consume ratio = cat seconds / chute seconds (warm cache);"
echo "x = input bytes / bytes on disk (segment files); RSS in MiB (GNU time %M)"
cat "$report"
fails=$(grep -c ' FAIL' "$report" || true)
if [[ $STRICT == 1 && $fails -gt 0 ]]; then
    echo "$fails figure(s) missed their target" >&2
    exit 1
fi
