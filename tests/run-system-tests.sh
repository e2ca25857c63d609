#!/bin/bash
# Run the system tests: every executable tests/sip/t_*.sh and tests/e2e/t_*.sh,
# one after the other (each builds its own network namespace; Chromium and the
# daemon are too heavy to run side by side on a small machine).
#
# usage: tests/run-system-tests.sh [PATTERN]
#   PATTERN  optional extended regex matched against the test name (e.g. 'register|daemon')
# env:
#   SB_BUILD        build dir with gateway/sipbridge (default: build/ in the source tree), passed on
#   SB_RESULTS_DIR  where logs go (default tests/e2e/.work/results/<date-time>)
#   SB_TEST_LIMIT   hard limit per test in seconds (default 150)
#
# Output: one line per test "PASS|FAIL|SKIP name seconds", the tail of every
# failing test's log, and a last line "N passed, N failed[, N skipped]".
# Exit status: 1 if any test failed, else 0.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PATTERN=${1:-}
LIMIT=${SB_TEST_LIMIT:-150}
RESULTS=${SB_RESULTS_DIR:-$ROOT/tests/e2e/.work/results/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$RESULTS"
RESULTS=$(cd "$RESULTS" && pwd)
export SB_BUILD=${SB_BUILD:-$ROOT/build}

# npm packages for the browser tests (no browser download: /usr/bin/chromium is used)
if [ ! -d "$ROOT/node_modules/playwright-core" ] && command -v npm >/dev/null; then
	(cd "$ROOT" && npm ci --no-audit --no-fund --silent >/dev/null 2>&1) || echo "warning: npm ci failed; browser tests will skip"
fi

pass=0 fail=0 skip=0
failed=()
echo "system tests: build $SB_BUILD, logs in $RESULTS"
for t in "$ROOT"/tests/sip/t_*.sh "$ROOT"/tests/e2e/t_*.sh; do
	[ -x "$t" ] || continue
	name=$(basename "$t" .sh)
	if [ -n "$PATTERN" ] && ! [[ $name =~ $PATTERN ]]; then continue; fi
	log=$RESULTS/$name.log
	start=$(date +%s.%N)
	# setsid + timeout: the test runs in its own session; on overrun timeout
	# sends TERM (the test's trap cleans up), then KILL 10 s later.
	SB_RESULTS=$RESULTS/$name SB_TEST_TIMEOUT=$((LIMIT - 20)) \
		timeout -k 10 "$LIMIT" setsid bash "$t" </dev/null >"$log" 2>&1
	rc=$?
	secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
	case $rc in
		0)  pass=$((pass + 1)); printf 'PASS %s %ss\n' "$name" "$secs" ;;
		77) skip=$((skip + 1)); printf 'SKIP %s %ss (%s)\n' "$name" "$secs" \
			"$(grep -m1 '^SKIP:' "$log" | sed 's/^SKIP: //')" ;;
		*)  fail=$((fail + 1)); failed+=("$name")
		    [ "$rc" = 124 ] && echo "TIMEOUT after ${LIMIT}s (runner)" >>"$log"
		    printf 'FAIL %s %ss\n' "$name" "$secs" ;;
	esac
done

for name in "${failed[@]}"; do
	echo
	echo "---- $name: last 50 lines of $RESULTS/$name.log"
	tail -n 50 "$RESULTS/$name.log"
done
echo
if [ "$skip" -gt 0 ]; then
	echo "$pass passed, $fail failed, $skip skipped"
else
	echo "$pass passed, $fail failed"
fi
[ "$fail" -eq 0 ]
