# shellcheck shell=bash
# Media helpers for system tests (source after common.sh): watch RTP on the
# namespace's loopback without tcpdump (not installed) and analyse it.
#
#   sb_rtp_sniff NAME PORT_LO PORT_HI   background sniffer (AF_PACKET on lo,
#        python3): every UDP packet whose destination port is in
#        [PORT_LO, PORT_HI] and that looks like RTP (version 2, not RTCP)
#        becomes one line of $SB_WORK/NAME.rtp:
#            <unix time> <sport> <dport> <pt> <marker> <seq> <ts> <ssrc> <payload hex>
#        Stop it with sb_stop NAME. Only packets the kernel delivers are seen
#        (lo's outgoing copy is skipped, as libpcap does), so a packet dropped
#        by an iptables OUTPUT rule never shows up.
#   sb_rtp_tool CMD ARGS...             run the analysis (python3, prints JSON):
#        dtmf FILE PT [AUDIO_PT]        RFC 4733 events of payload type PT
#            (-1: every 4-byte payload whose type is not AUDIO_PT):
#            {"digits": "...", "events": [{digit, pt, start_ts, end, max_dur,
#             packets, end_packets, marker, first_t, same_ssrc_audio,
#             ts_minus_audio_ts}]}; the last two compare each event with the
#             AUDIO_PT packet of the same SSRC that arrived closest in time
#        pcmu FILE PT T_FROM T_TO [DPORT_LO DPORT_HI]
#            PCMU stream of payload type PT (to those ports) that arrived
#            between the unix times T_FROM and T_TO (first SSRC):
#            packets, missing sequence numbers, RTP-time span vs.
#            arrival-time span, and the longest run of 5 ms windows that are
#            below -40 dBFS RMS or lack samples, with the audio placed by RTP
#            timestamp (a missing packet is a gap)
#        conceal FILE OUT IN REV T_FROM T_TO   (OUT, IN, REV: SPORT:DPORT)
#            the gap scan of the PCMU flow OUT (first SSRC, T_FROM..T_TO) with
#            the moments the input could not be concealed left out: the
#            sender's flow IN paused > 60 ms, or the gateway's flow REV the
#            other way paused or jumped (its worker did not run); each stall
#            excuses 60 ms before it to 300 ms after it. Reports the judged
#            fraction, the stalls and the longest gap among judged windows.
#        wavgap WAV SKIP TAIL           the same gap scan on a mono s16 WAV,
#            without its first SKIP and last TAIL seconds
#
# Why by RTP timestamp: a recorder that writes only the frames that arrive
# (baresip 1.0's sndfile) closes every gap; placing each payload at its
# timestamp keeps a lost or never-sent frame visible (E2E.md §7).

SB_RTP_TOOL=""

sb_rtp_tool_write() {
	[ -n "$SB_RTP_TOOL" ] && return 0
	SB_RTP_TOOL=$SB_WORK/rtp_tool.py
	cat >"$SB_RTP_TOOL" <<'PY'
import json, math, socket, struct, sys, time

SO_TIMESTAMPNS = 35                        # linux asm-generic/socket.h

def sniff(lo, hi, path):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.ntohs(3))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    s.bind(('lo', 0))
    out = open(path, 'w', buffering=1)
    while True:
        data, anc, _, addr = s.recvmsg(65535, 64)
        # the kernel's receive time: python may run late on a loaded machine
        t = time.time()
        for lvl, typ, val in anc:
            if lvl == socket.SOL_SOCKET and typ == SO_TIMESTAMPNS and len(val) >= 16:
                sec, nsec = struct.unpack('qq', val[:16])
                t = sec + nsec / 1e9
        if addr[2] == socket.PACKET_OUTGOING or len(data) < 14 + 20 + 8 + 12:
            continue
        if struct.unpack('!H', data[12:14])[0] != 0x0800:
            continue
        ip = data[14:]
        ihl = (ip[0] & 15) * 4
        if ip[9] != 17:
            continue
        sport, dport = struct.unpack('!HH', ip[ihl:ihl + 4])
        if not lo <= dport <= hi:
            continue
        p = ip[ihl + 8:]
        if len(p) < 12 or p[0] >> 6 != 2 or 192 <= p[1] <= 223:
            continue                      # not RTP, or RTCP (RFC 5761 §4)
        seq, ts, ssrc = struct.unpack('!HII', p[2:12])
        off = 12 + 4 * (p[0] & 15)
        if p[0] & 0x10 and len(p) >= off + 4:
            off += 4 + 4 * struct.unpack('!H', p[off + 2:off + 4])[0]
        pl = p[off:]
        if p[0] & 0x20 and pl:
            pl = pl[:-pl[-1]]
        out.write('%.6f %d %d %d %d %d %d %d %s\n' % (t, sport, dport, p[1] & 0x7f,
                  p[1] >> 7, seq, ts, ssrc, pl.hex()))

def load(path, pt, dports=None):
    pk = []
    for line in open(path):
        f = line.split()
        if len(f) == 9 and (pt is None or int(f[3]) == pt) and \
                (dports is None or dports[0] <= int(f[2]) <= dports[1]):
            pk.append({'t': float(f[0]), 'pt': int(f[3]), 'm': int(f[4]), 'seq': int(f[5]), 'ts': int(f[6]),
                       'ssrc': int(f[7]), 'pl': bytes.fromhex(f[8])})
    return pk

DIGITS = '0123456789*#ABCD'

def dtmf(path, pt, audio_pt=None):
    evs = []
    audio = load(path, audio_pt) if audio_pt is not None else []
    if pt >= 0:
        tel = load(path, pt)
    else:                                  # any PT but the audio's with 4-byte payloads
        tel = [p for p in load(path, None) if p['pt'] != audio_pt and len(p['pl']) == 4]
        tel.sort(key=lambda p: p['t'])
    for p in tel:
        if len(p['pl']) < 4:
            continue
        code, flags, dur = p['pl'][0], p['pl'][1], struct.unpack('!H', p['pl'][2:4])[0]
        if not evs or evs[-1]['start_ts'] != p['ts'] or evs[-1]['ssrc'] != p['ssrc']:
            evs.append({'digit': DIGITS[code] if code < 16 else '?%d' % code, 'pt': p['pt'], 'start_ts': p['ts'],
                        'ssrc': p['ssrc'], 'end': False, 'max_dur': 0, 'packets': 0,
                        'end_packets': 0, 'marker': p['m'], 'first_t': p['t']})
        e = evs[-1]
        e['packets'] += 1
        e['max_dur'] = max(e['max_dur'], dur)
        if flags & 0x80:
            e['end'] = True
            e['end_packets'] += 1
    for e in evs:
        # the audio packet of the same stream that arrived closest in time:
        # the event's timestamp must be on the audio's clock (RFC 4733 §2.1)
        same = [a for a in audio if a['ssrc'] == e['ssrc']]
        e['same_ssrc_audio'] = bool(same)
        if same:
            a = min(same, key=lambda a: abs(a['t'] - e['first_t']))
            d = (e['start_ts'] - a['ts']) & 0xffffffff
            e['ts_minus_audio_ts'] = d - (1 << 32) if d >= 1 << 31 else d
        del e['ssrc']
        e['first_t'] = round(e['first_t'], 3)
    print(json.dumps({'digits': ''.join(e['digit'] for e in evs), 'events': evs}))

def ulaw(b):
    b = ~b & 0xff
    t = ((b & 0x0f) << 3) + 0x84
    t <<= (b & 0x70) >> 4
    return (0x84 - t) if b & 0x80 else (t - 0x84)

def pcmu(path, pt, t_from, t_to, dports=None):
    pk = [p for p in load(path, pt, dports) if t_from <= p['t'] < t_to]
    if not pk:
        print(json.dumps({'packets': 0})); return
    ssrcs = sorted({p['ssrc'] for p in pk})
    pk = [p for p in pk if p['ssrc'] == ssrcs[0]]
    s0 = pk[0]['seq']
    pk.sort(key=lambda p: p['seq'] if p['seq'] >= s0 - 30000 else p['seq'] + 65536)
    seqs = [p['seq'] for p in pk]
    missing = sum(((b - a) & 0xffff) - 1 for a, b in zip(seqs, seqs[1:]) if ((b - a) & 0xffff) > 1)
    dups = len(seqs) - len(set(seqs))
    base = pk[0]['ts']
    end = max(((p['ts'] - base) & 0xffffffff) + len(p['pl']) for p in pk)
    pcm = [None] * end                     # None: no sample for this instant
    for p in pk:
        o = (p['ts'] - base) & 0xffffffff
        for i, b in enumerate(p['pl']):
            pcm[o + i] = ulaw(b)
    wall = pk[-1]['t'] - pk[0]['t']
    rtp = ((pk[-1]['ts'] - base) & 0xffffffff) / 8000.0
    r = {'packets': len(pk), 'ssrcs': len(ssrcs), 'missing_seq': missing, 'dup_seq': dups,
         'rtp_span_s': round(rtp, 3), 'wall_span_s': round(wall, 3)}
    r.update(gaps(pcm, 8000))
    print(json.dumps(r))

def gaps(pcm, rate):
    """5 ms windows: a window with a missing sample (None) or an RMS below
    -40 dBFS (the test tones are near -9 dBFS) is a gap window; report the
    longest run of them."""
    win = rate // 200
    run = longest = 0; holes = quiet = 0; rms_sum = 0.0; nwin = 0
    for w in range(0, len(pcm) - win + 1, win):
        seg = pcm[w:w + win]
        if any(v is None for v in seg):
            holes += 1; bad = True
        else:
            r = math.sqrt(sum(v * v for v in seg) / win) / 32768
            rms_sum += r; nwin += 1
            bad = r < 0.01
            quiet += bad
        run = run + 1 if bad else 0
        longest = max(longest, run)
    return {'windows': nwin + holes, 'hole_windows': holes, 'quiet_windows': quiet,
            'longest_gap_ms': longest * 5,
            'mean_rms_db': round(20 * math.log10(rms_sum / max(nwin, 1) + 1e-9), 1)}

def wavgap(path, skip, tail):
    import wave
    w = wave.open(path, 'rb')
    assert w.getsampwidth() == 2 and w.getnchannels() == 1
    rate = w.getframerate()
    raw = w.readframes(w.getnframes())
    pcm = list(struct.unpack('<%dh' % (len(raw) // 2), raw))
    pcm = pcm[int(skip * rate):len(pcm) - int(tail * rate)]
    r = {'rate': rate, 'seconds': round(len(pcm) / rate, 3)}
    r.update(gaps(pcm, rate))
    print(json.dumps(r))

def flows(path):
    """packets by (sport, dport), each list in file (arrival) order"""
    fl = {}
    for line in open(path):
        f = line.split()
        if len(f) == 9:
            fl.setdefault((int(f[1]), int(f[2])), []).append(
                {'t': float(f[0]), 'pt': int(f[3]), 'seq': int(f[5]), 'ts': int(f[6]),
                 'ssrc': int(f[7]), 'pl': bytes.fromhex(f[8])})
    return fl

def conceal(path, out_fl, in_fl, rev_fl, t_from, t_to):
    """Gap scan of a transcoded PCMU stream (out_fl = (sport, dport)) that
    leaves out the moments when the input could not be concealed: the
    sender paused (in_fl: no packet for > 60 ms) or the gateway's worker
    did not run (rev_fl, the gateway's stream the other way: a pause
    > 60 ms or a timestamp jump). Each such stall excuses its span, 60 ms
    before it and 300 ms after it (the jitter buffer refilling)."""
    fl = flows(path)
    out = [p for p in fl.get(out_fl, []) if p['pt'] == 0 and t_from <= p['t'] < t_to]
    if not out:
        print(json.dumps({'packets': 0})); return
    out = [p for p in out if p['ssrc'] == out[0]['ssrc']]
    s0 = out[0]['seq']
    out.sort(key=lambda p: p['seq'] if p['seq'] >= s0 - 30000 else p['seq'] + 65536)
    stalls = []
    inn, rev = fl.get(in_fl, []), fl.get(rev_fl, [])
    for a, b in zip(inn, inn[1:]):
        if b['t'] - a['t'] > 0.06:
            stalls.append((a['t'], b['t'], 'sender'))
    for a, b in zip(rev, rev[1:]):
        step = (b['ts'] - a['ts']) & 0xffffffff
        if b['t'] - a['t'] > 0.06 or (a['ssrc'] == b['ssrc'] and step > 1.5 * 960 and step < 1 << 31):
            stalls.append((a['t'], b['t'], 'gateway'))
    excused = [(a - 0.06, b + 0.3) for a, b, _ in stalls]
    base = out[0]['ts']
    end = max(((p['ts'] - base) & 0xffffffff) + len(p['pl']) for p in out)
    pcm, when = [None] * end, [None] * end
    for p in out:
        o = (p['ts'] - base) & 0xffffffff
        for i, b in enumerate(p['pl']):
            pcm[o + i] = ulaw(b); when[o + i] = p['t']
    nxt = None                               # a hole takes the time of the packet after it
    for i in range(end - 1, -1, -1):
        if when[i] is None:
            when[i] = nxt
        else:
            nxt = when[i]
    win, run, longest, bad_j, judged, total, longest_all, run_all = 40, 0, 0, 0, 0, 0, 0, 0
    for w in range(0, end - win + 1, win):
        seg = pcm[w:w + win]
        bad = any(v is None for v in seg) or math.sqrt(sum(v * v for v in seg) / win) / 32768 < 0.01
        total += 1
        run_all = run_all + 1 if bad else 0
        longest_all = max(longest_all, run_all)
        t = when[w]
        if any(a <= t <= b for a, b in excused):
            run = 0
            continue
        judged += 1
        bad_j += bad
        run = run + 1 if bad else 0
        longest = max(longest, run)
    print(json.dumps({'packets': len(out), 'windows': total, 'judged_windows': judged,
                      'judged_fraction': round(judged / max(total, 1), 3),
                      'stalls_sender': sum(1 for x in stalls if x[2] == 'sender'),
                      'stalls_gateway': sum(1 for x in stalls if x[2] == 'gateway'),
                      'longest_stall_ms': round(max([b - a for a, b, _ in stalls] or [0]) * 1000),
                      'bad_judged_windows': bad_j, 'longest_judged_gap_ms': longest * 5,
                      'longest_gap_ms_all': longest_all * 5}))

if __name__ == '__main__':
    a = sys.argv[1:]
    if a[0] == 'sniff':
        sniff(int(a[1]), int(a[2]), a[3])
    elif a[0] == 'dtmf':
        dtmf(a[1], int(a[2]), int(a[3]) if len(a) > 3 else None)
    elif a[0] == 'pcmu':
        pcmu(a[1], int(a[2]), float(a[3]), float(a[4]),
             (int(a[5]), int(a[6])) if len(a) > 6 else None)
    elif a[0] == 'conceal':
        pr = lambda x: tuple(int(v) for v in x.split(':'))
        conceal(a[1], pr(a[2]), pr(a[3]), pr(a[4]), float(a[5]), float(a[6]))
    elif a[0] == 'wavgap':
        wavgap(a[1], float(a[2]), float(a[3]))
PY
}

# sb_rtp_sniff NAME PORT_LO PORT_HI (see above); waits until it listens.
sb_rtp_sniff() {
	sb_rtp_tool_write
	sb_bg "$1" python3 -u "$SB_RTP_TOOL" sniff "$2" "$3" "$SB_WORK/$1.rtp"
	sleep 0.3
	sb_alive "$1" || { cat "$SB_WORK/$1.log"; sb_die "RTP sniffer did not start"; }
}

# sb_rtp_tool CMD ARGS... (see above)
sb_rtp_tool() {
	sb_rtp_tool_write
	python3 "$SB_RTP_TOOL" "$@"
}

# sb_json_checks FILE: like sb_expect_json for many checks with one node
# start (each costs ~1 s on a loaded machine). Reads "DESCRIPTION<TAB>EXPR"
# lines from stdin; `r` is the parsed JSON of FILE.
sb_json_checks() {
	local f=$1 desc v
	local -a descs=() res=()
	local exprs=""
	while IFS=$'\t' read -r desc v; do
		[ -n "$desc" ] || continue
		descs+=("$desc"); exprs+="$v"$'\n'
	done
	mapfile -t res < <(node -e '
		const fs = require("fs");
		let r = null; try { r = JSON.parse(fs.readFileSync(process.argv[1], "utf8")); } catch (e) {}
		for (const x of process.argv[2].split("\n").filter(Boolean)) {
			let v = false; try { v = !!eval(x); } catch (e) {}
			console.log(v ? "yes" : "no");
		}' "$f" "$exprs")
	local i
	for i in "${!descs[@]}"; do
		if [ "${res[$i]:-}" = yes ]; then sb_pass "${descs[$i]}"
		else sb_fail "${descs[$i]} [$(sed -n "$((i + 1))p" <<<"$exprs")] in $(basename "$f")"; fi
	done
}
