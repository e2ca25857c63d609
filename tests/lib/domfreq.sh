#!/bin/sh
# usage: domfreq.sh FILE.wav  ->  prints "<dominant Hz> <RMS dB>"
# The dominant frequency sums the power of each bin of `sox stat -freq` over
# all analysis windows (a single window can be a transient); the level is
# sox's overall RMS in dB. A file of silence prints "0 -inf" or similar.
[ -r "$1" ] || { echo "domfreq.sh: cannot read $1" >&2; exit 2; }
f=$(sox "$1" -n stat -freq 2>&1 | awk 'NF == 2 && $1 ~ /^[0-9.]+$/ { p[$1] += $2 }
	END { m = -1; b = 0; for (k in p) if (p[k] > m) { m = p[k]; b = k }; printf "%.0f", b }')
rms=$(sox "$1" -n stats 2>&1 | awk '/^RMS lev dB/ { print $4 }')
echo "$f ${rms:-nan}"
