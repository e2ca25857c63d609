#!/bin/bash
# Where a call's memory goes: the daemon under heaptrack with N calls from
# sbload, killed T seconds in (so that what is live shows as "leaked"),
# then the live blocks grouped by the first frame in the project and by
# thread, in KiB per call. A profile, not a measurement: heaptrack slows
# the daemon, and fixed per-process blocks (the worker's send queue,
# libwebsockets' context) show divided by N as well.
#
#   tests/bench/mem_profile.sh [N] [T] [pcmu|opus]    (default 60 45 opus)
#
# Env: SB_BUILD (default build-rel), SB_CALLS_PER_WS (default 10),
# SB_KEEP_WORK=1 keeps the work directory (heaptrack's file, logs).
# Needs heaptrack (Debian package heaptrack). Stops what it starts.
set -u
N=${1:-60}; T=${2:-45}; CODEC=${3:-opus}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${SB_BUILD:-build-rel}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
PER_WS=${SB_CALLS_PER_WS:-10}
# shellcheck source=tests/bench/lib.sh
. "$ROOT/tests/bench/lib.sh"

if ! command -v heaptrack >/dev/null || ! command -v heaptrack_print >/dev/null; then
	echo "heaptrack not installed (apt-get install heaptrack)"; exit 2
fi
for b in "$BUILD/gateway/sipbridge" "$BUILD/tests/bench/sbload"; do
	[ -x "$b" ] || { echo "missing $b (make -C BUILD gateway/sipbridge tests/bench/sbload)"; exit 2; }
done
WORK=$(mktemp -d /tmp/sb-memprof.XXXXXX)
GW_PID=""; LOAD_PID=""
cleanup() {
	stop_pid "$LOAD_PID"; stop_pid "$GW_PID"
	[ "${SB_KEEP_WORK:-0}" = 1 ] || rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bench_gw_conf "$WORK/gw.conf"
ulimit -n "$(ulimit -Hn)"
heaptrack -o "$WORK/gw" "$BUILD/gateway/sipbridge" -c "$WORK/gw.conf" >"$WORK/gw.log" 2>&1 &
GW_PID=$!
for _ in $(seq 600); do
	curl -fs "http://127.0.0.1:$HTTP/health" >/dev/null 2>&1 && break
	sleep 0.1
done
curl -fs "http://127.0.0.1:$HTTP/health" >/dev/null 2>&1 ||
	{ echo "daemon did not start under heaptrack; see $WORK/gw.log"; SB_KEEP_WORK=1; exit 1; }
# heaptrack's script runs the daemon as its child
DAEMON=$(pgrep -P "$GW_PID" -x sipbridge)
[ -n "$DAEMON" ] || { echo "no sipbridge under heaptrack ($GW_PID)"; SB_KEEP_WORK=1; exit 1; }
"$BUILD/tests/bench/sbload" --ws "ws://127.0.0.1:$HTTP/" --uas-port "$UAS" -n "$N" \
	-d $((T + 30)) --window 50 --codec "$CODEC" --late-ms 150 \
	--calls-per-ws "$PER_WS" >"$WORK/sbload.out" 2>&1 &
LOAD_PID=$!
sleep "$T"
up=$(curl -fs "http://127.0.0.1:$ADMIN/metrics" | sed -n 's/^sipbridge_media_sessions \([0-9]*\).*/\1/p')
echo "media sessions live at ${T} s: ${up:-?} of $N"
# KILL, not TERM: a clean exit frees everything, and nothing would show
kill -KILL "$DAEMON" 2>/dev/null
wait "$GW_PID" 2>/dev/null; GW_PID=""
stop_pid "$LOAD_PID"; LOAD_PID=""
f=$(find "$WORK" -maxdepth 1 -name 'gw.*z*' | head -1)
[ -n "$f" ] || { echo "no heaptrack file in $WORK"; SB_KEEP_WORK=1; exit 1; }
heaptrack_print -f "$f" --print-leaks 1 --print-peaks 0 --print-allocators 0 \
	--print-temporary 0 -n 400 -s 300 >"$WORK/leaks.txt" 2>/dev/null
python3 - "$WORK/leaks.txt" "$N" <<'PY'
import collections, re, sys

lines = open(sys.argv[1]).read().split('\n')
n = int(sys.argv[2])
unit = {'': 1 / 1024, 'K': 1, 'M': 1024, 'G': 1 << 20}
by_site, by_thread = collections.Counter(), collections.Counter()
i = 0
while i < len(lines):
    m = re.match(r'^([0-9.]+)([KMG]?)B? leaked over \d+ calls from:$', lines[i])
    if not m:
        i += 1
        continue
    kib = float(m.group(1)) * unit[m.group(2)]
    j, frames = i + 1, []
    while j < len(lines) and lines[j].strip() and 'leaked over' not in lines[j]:
        frames.append(lines[j].strip())
        j += 1
    i = j
    text = ' '.join(frames)
    thread = 'worker' if 'worker_main' in text else 'signalling and others'
    by_thread[thread] += kib
    site = next((frames[k - 1] + ' ' + f[3:] for k, f in enumerate(frames)
                 if k and f.startswith('at ../')), 'library: ' + frames[0])
    by_site[(thread, site)] += kib
print('live KiB per call by thread: ' + ', '.join(
    '%s %.1f' % (t, v / n) for t, v in by_thread.most_common()))
print('largest sites (KiB per call, thread, first project frame):')
for (t, s), v in by_site.most_common(30):
    print('%8.2f  %-22s %s' % (v / n, t, s))
PY
