#!/bin/bash
# Long libFuzzer campaign over every target, for the record in
# doc/FUZZING.md (the CI smoke run in test.sh is ~10,000 runs per target;
# this is minutes per target). Usage, as root from the source tree:
#   tests/fuzz/long-run.sh [SECONDS_PER_TARGET] [TARGET...]
# Builds the targets in build-fuzz (clang, --enable-fuzzing), runs each in
# a private network namespace with only lo (fuzzed SIP may name any host;
# DNS points at lo), keeps the grown corpus in build-fuzz/corpus/NAME, any
# crash in build-fuzz/crashes/NAME, and prints one Markdown table row per
# target: execs, execs/s, coverage, features, corpus size, crashes (crash,
# leak, timeout and out-of-memory artifacts; libFuzzer's "slow-unit" files
# are listed apart: on a shared machine a descheduled process makes any
# input look slow, so rerun one alone before believing it).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
secs=${1:-300}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(ls tests/fuzz/fuzz_*.c | xargs -n1 basename | sed 's/\.c$//')

mkdir -p build-fuzz
(cd build-fuzz && { [ -f Makefile ] || CC=clang ../configure -q --enable-fuzzing >/dev/null; } &&
	make -s -j2 $(printf 'tests/fuzz/%s ' "${targets[@]}") >/dev/null) || { echo "fuzz build failed"; exit 1; }

ns=sblongfuzz-$$
ip netns add "$ns" && ip -n "$ns" link set lo up || exit 1
mkdir -p "/etc/netns/$ns" && echo "nameserver 127.0.0.1" >"/etc/netns/$ns/resolv.conf"
trap 'ip netns del "$ns" 2>/dev/null; rm -rf "/etc/netns/$ns"' EXIT

echo "| target | seconds | execs | execs/s | cov | ft | corpus | crashes | slow units |"
echo "|---|---|---|---|---|---|---|---|---|"
fails=0
for n in "${targets[@]}"; do
	f=build-fuzz/tests/fuzz/$n
	seeds=tests/data/fuzz/${n#fuzz_}
	corpus=build-fuzz/corpus/$n
	crashes=build-fuzz/crashes/$n
	log=build-fuzz/$n.long.log
	mkdir -p "$corpus" "$crashes"
	timeout -k 10 $((secs + 60)) ip netns exec "$ns" "$f" -max_len=4096 \
		-max_total_time="$secs" -print_final_stats=1 \
		-artifact_prefix="$crashes/" "$corpus" \
		$([ -d "$seeds" ] && echo "$seeds") >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
	last=$(grep -E '^#[0-9]+' "$log" | tail -1)
	cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
	ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
	ncorp=$(ls "$corpus" | wc -l)
	ncrash=$(ls "$crashes" | grep -Ec '^(crash|leak|timeout|oom)-')
	nslow=$(ls "$crashes" | grep -c '^slow-unit-')
	[ "$rc" -eq 0 ] && [ "$ncrash" -eq 0 ] || fails=$((fails + 1))
	echo "| $n | $secs | ${execs:-?} | ${rate:-?} | ${cov:-?} | ${ft:-?} | $ncorp | $ncrash$([ "$rc" -ne 0 ] && echo " (exit $rc, see $log)") | $nslow |"
done
echo "$((${#targets[@]} - fails)) passed, $fails failed"
[ "$fails" -eq 0 ]
