#!/bin/bash
# Build sipbridge with AddressSanitizer + UndefinedBehaviorSanitizer and run
# the whole suite: cmocka unit tests, a libFuzzer smoke run of every fuzz
# target, then the system and browser tests against the real daemon.
# Ends with "N passed, N failed"; exits non-zero on any failure.
set -u
cd "$(dirname "$0")"
top=$PWD
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:strict_string_checks=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$top/tests/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

scripts/setup.sh --test-deps --asan --werror --builddir build-asan || {
	echo "0 passed, 1 failed"; exit 1; }

passed=0 failed=0
count() { # name status
	if [ "$2" = 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: $1"; fi
}

# 1. Unit tests: one cmocka binary per module, each counted per test case.
echo "== unit tests (cmocka, ASan+UBSan)"
make -s -C build-asan -j"$(nproc)" check >/dev/null 2>&1
for log in build-asan/tests/unit/test_*.log; do
	[ -f "$log" ] || continue
	t=$(basename "$log" .log)
	ok=$(grep -c '^\[       OK \]' "$log")
	bad=$(grep -c '^\[  FAILED  \] [a-z]' "$log")
	res=$(sed -n 's/^:test-result: //p' "build-asan/tests/unit/$t.trs" 2>/dev/null)
	passed=$((passed + ok)); failed=$((failed + bad))
	if [ "$res" != PASS ] && [ "$bad" = 0 ]; then failed=$((failed + 1)); fi
	printf '  %-28s %3d ok %3d failed  %s\n' "$t" "$ok" "$bad" "$res"
	[ "$res" = PASS ] || tail -30 "$log"
done

# 2. Fuzz smoke: each target over its seeds plus a few thousand mutations,
# inside a network namespace with only lo: fuzzed SIP may name any host,
# and nothing may leave the machine. Its resolv.conf points DNS at lo too.
echo "== fuzz smoke (libFuzzer)"
fuzz_ns=sbfuzz-$$
ip netns add "$fuzz_ns" && ip -n "$fuzz_ns" link set lo up
mkdir -p "/etc/netns/$fuzz_ns" && echo "nameserver 127.0.0.1" >"/etc/netns/$fuzz_ns/resolv.conf"
trap 'ip netns del "$fuzz_ns" 2>/dev/null; rm -rf "/etc/netns/$fuzz_ns"' EXIT
if scripts/setup.sh --no-build >/dev/null && mkdir -p build-fuzz && (
	cd build-fuzz && { [ -f Makefile ] || CC=clang ../configure -q --enable-fuzzing >/dev/null; } &&
	make -s -j"$(nproc)" $(cd "$top" && ls tests/fuzz/fuzz_*.c 2>/dev/null | sed 's/\.c$//') >/dev/null 2>&1); then
	for f in build-fuzz/tests/fuzz/fuzz_*; do
		[ -x "$f" ] || continue
		n=$(basename "$f"); seeds="tests/data/fuzz/${n#fuzz_}"
		mkdir -p "build-fuzz/corpus/$n"
		if timeout 300 ip netns exec "$fuzz_ns" "$f" -runs=10000 -max_len=4096 \
			-max_total_time=120 "build-fuzz/corpus/$n" \
			$( [ -d "$seeds" ] && echo "$seeds") >"build-fuzz/$n.log" 2>&1; then
			count "$n" 0; echo "  $n ok"
		else
			count "$n" 1; tail -20 "build-fuzz/$n.log"
		fi
	done
else
	count fuzz-build 1
fi

# 3. System and end-to-end tests: real daemon, sipp, baresip, Chromium.
echo "== system and browser tests"
out=$(mktemp)
SB_BUILD="$top/build-asan" bash tests/run-system-tests.sh 2>&1 | tee "$out"
line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out" | tail -1)
rm -f "$out"
if [ -n "$line" ]; then
	passed=$((passed + $(echo "$line" | cut -d' ' -f1)))
	failed=$((failed + $(echo "$line" | cut -d' ' -f3)))
else
	count system-tests 1
fi

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
