#!/bin/bash
# Plot daemon CPU against concurrent calls from a run_compare.sh work dir.
#
#   tests/bench/plot_cpu.sh WORK OUT.png "SUBTITLE"
#
# Reads WORK/{sipbridge,rtpengine}_{pcmu,opus}.dat (lines "calls cpu ...",
# "#" lines are failed steps and skipped); a missing rtpengine file is
# left out of the plot. Needs gnuplot (Debian: gnuplot-nox). Exit status
# 0 when OUT was written.
set -u
WORK=$1 OUT=$2 SUB=${3:-}
command -v gnuplot >/dev/null || { echo "gnuplot not installed" >&2; exit 3; }
VER=$("${SB_RTPENGINE:-rtpengine}" --version 2>&1 | sed -n 's/^Version: //p')
series() {   # series FILE STYLE TITLE
	[ -s "$1" ] && grep -qv '^#' "$1" && printf "'%s' using 1:2 with linespoints lw 2 %s title '%s', " "$1" "$2" "$3"
}
plots=$(series "$WORK/sipbridge_pcmu.dat" "pt 7 lc rgb '#1f77b4'" "sipbridge relay (PCMU)")
plots+=$(series "$WORK/rtpengine_pcmu.dat" "dt 2 pt 6 lc rgb '#1f77b4'" "rtpengine relay (PCMU)")
plots+=$(series "$WORK/sipbridge_opus.dat" "pt 5 lc rgb '#ff7f0e'" "sipbridge transcoding (Opus↔PCMU)")
plots+=$(series "$WORK/rtpengine_opus.dat" "dt 2 pt 4 lc rgb '#ff7f0e'" "rtpengine transcoding (Opus↔PCMU)")
[ -n "$plots" ] || { echo "no data in $WORK" >&2; exit 1; }
gnuplot <<EOF
set terminal pngcairo size 900,640 font 'DejaVu Sans,10'
set output '$OUT'
set title "Daemon CPU against concurrent calls, one core, 50 packets/s each way per call\n$SUB${VER:+\nrtpengine $VER (Debian, userspace)}"
set xlabel 'concurrent calls'
set ylabel 'daemon CPU, % of one core'
set yrange [0:105]
set xrange [0:*]
set grid
set bmargin 9
set key at screen 0.5, screen 0.02 center bottom maxrows 3 width 2
set datafile commentschars '#'
plot $plots 98 with lines lc rgb '#999999' dt 3 title 'pass limit (98 %)'
EOF
[ -s "$OUT" ]
