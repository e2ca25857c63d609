#!/bin/bash
# Conference rooms (services.conference_prefix "conf-"): mix-minus, a SIP
# phone in the same room as browsers, /health, and the room limit.
#
# Part 1, daemon 1 with the default limit (16):
#   * two headless Chromium pages (JsSIP, two browser.js processes) call
#     sip:conf-test@sipbridge.test; page A's fake mic plays 600 Hz, page B's
#     1 kHz. Each page measures the energy it receives in narrow bands
#     (±25 Hz, AnalyserNode, power summed over ~2.5 s) around 400, 600 and
#     1000 Hz and a quiet reference band (1700 Hz). Each must hear the other's
#     tone (>= 25 dB above the reference) and its own frequency at least
#     20 dB below the other's (mix-minus: nobody hears themselves).
#   * baresip (PCMU only, 400 Hz source, records what it receives) dials
#     sip:conf-test@127.0.0.1:<gateway SIP port> over SIP/UDP: both pages
#     then hear 400 Hz too (still not themselves), and baresip's recording
#     holds 600 Hz and 1 kHz (sox band-pass RMS, each >= 25 dB above a quiet
#     band) and not its own 400 Hz (>= 20 dB below them).
#   * when everyone has left, /health shows 0 calls and 0 media sessions.
# Part 2 (run on daemon 2 while part 1's browsers start), daemon 2 has
# services.conference_max_participants = 2
# (the generated config already has a services group and libconfig refuses
# a duplicate, so the test edits that line of the generated file): two sipp
# UACs hold calls into sip:conf-small@..., a third INVITE to that room gets
# 486, a call to another room (conf-other) is still answered (the limit is
# per room), /health back to 0 calls, no sanitizer report.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/media.sh"
sb_require_cmd node baresip sox sipp
sb_require_daemon
sb_require_node_modules
# Chromium alone can take a minute to start on a loaded machine
SB_TEST_TIMEOUT=${SB_TEST_TIMEOUT:-150}
sb_init
sb_bundle

# SB_CONF_MAXP: when set, the generated config's services group gets
# conference_max_participants = SB_CONF_MAXP (sb_daemon_start calls this).
eval "sb_orig_$(declare -f sb_daemon_config)"
sb_daemon_config() {
	sb_orig_sb_daemon_config "$@" || return
	[ -n "${SB_CONF_MAXP:-}" ] || return 0
	sed -i "s/^services: *{/services: { conference_max_participants = $SB_CONF_MAXP;/" "$1"
	grep -q "conference_max_participants = $SB_CONF_MAXP;" "$1"
}

# Sources at -10.5 dBFS peak (not sb_tone's -6): two of them summed stay
# below the mixer's soft-clip knee (-2.5 dBFS), whose intermodulation
# would put energy on the listener's own frequency (1000 - 400 = 600 Hz).
tone() { sox -n -r "$3" -c 1 -b 16 "$1" synth "$4" sine "$2" vol 0.3; }
tone "$SB_WORK/mic600.wav" 600 48000 90
tone "$SB_WORK/mic1k.wav" 1000 48000 90
tone "$SB_WORK/tone400_8k.wav" 400 8000 60
sb_free_port BS_PORT
sb_free_range BS_RTP BS_RTP_HI 20
sb_baresip_conf "$SB_WORK/bs" "$BS_PORT" "$BS_RTP" "$SB_WORK/tone400_8k.wav" PCMU phone

SB_OUTBOUND_PROXY=""
SB_CONF_MAXP=2
sb_daemon_start sipbridge2
D2_HTTP=$SB_HTTP_URL; D2_SIP=$SB_SIP_PORT
sb_daemon_new_ports; unset SB_CONF_MAXP
sb_daemon_start sipbridge

# Part 2 runs on daemon 2 while the browsers of part 1 start.
limit_part() {
	echo "room limit (conference_max_participants = 2, daemon 2)"
	sb_check "the config sets the limit" grep -q "conference_max_participants = 2;" "$SB_WORK/sipbridge2.conf"
	# the two members hold their calls 12 s: sipp can take seconds to
	# start on a loaded machine, the third INVITE must come while both
	# are still in
	uac uac1 conf-small uac_call.xml -d 12000
	uac uac2 conf-small uac_call.xml -d 12000
	local i
	for ((i = 0; i < 100; i++)); do
		SB_HTTP_URL=$D2_HTTP sb_health 2>/dev/null | grep -q '"calls":2,' && break
		sleep 0.1
	done
	SB_HTTP_URL=$D2_HTTP sb_health >"$SB_WORK/health2.json"
	uac uac3 conf-small uac_expect_486.xml
	sb_wait uac3 15; sb_expect_eq "third INVITE into the full room gets 486 (sipp status)" 0 $?
	sb_check "both members were still in the room then" both_in
	sb_expect_json "/health: two calls in the room before the third INVITE" "$SB_WORK/health2.json" 'r.calls === 2'
	sb_check "the 486 is in the trace" grep -q "SIP/2.0 486" "$SB_WORK/uac3.msg"
	uac uac4 conf-other uac_call.xml -d 500
	sb_wait uac4 15; sb_expect_eq "a call to another room is answered (sipp status)" 0 $?
	sb_wait uac1 20; sb_expect_eq "first room member's call ends normally" 0 $?
	sb_wait uac2 20; sb_expect_eq "second room member's call ends normally" 0 $?
	sleep 0.5
	SB_HTTP_URL=$D2_HTTP sb_health >"$SB_WORK/health3.json"
	echo "  /health of daemon 2 at the end: $(cat "$SB_WORK/health3.json")"
	sb_expect_json "/health: 0 calls after the limit checks" "$SB_WORK/health3.json" 'r.calls === 0 && r.media_sessions === 0'
	sb_stop sipbridge2 5
	sb_expect_eq "daemon 2 exit status" 0 $?
	sb_check_sanitizers "$SB_WORK/sipbridge2.log"
}
both_in() { sb_alive uac1 && sb_alive uac2; }
uac() { # NAME ROOM SCENARIO [sipp options]: a sipp UAC toward daemon 2
	local name=$1 room=$2 sf=$3 p mp; shift 3
	sb_free_port p; sb_free_port mp
	sb_sipp "$name" -sf "$SB_SIPP_DIR/$sf" -p "$p" -mi 127.0.0.1 -mp "$mp" -m 1 \
		-s "$room" -set pt 0 -set codec PCMU "$@" "127.0.0.1:$D2_SIP"
}

# The page: join the room, then measure in two phases. Each phase first
# waits (polling 0.5 s windows) until the expected new tone is there, then
# measures 2.5 s. Phase "pair": the other page's tone; phase "three":
# baresip's 400 Hz. The shell starts baresip after both pages logged
# "pair". After phase "three" the page stays a.holdMs, then hangs up.
cat >"$SB_WORK/conf.js" <<'JS'
async (a) => {
  const R = { name: a.name };
  // energy (dB, power summed over the band's bins and averaged over time)
  // in ±25 Hz around each frequency of `freqs`
  const bands = async (stream, ms) => {
    const ctx = new AudioContext();
    await ctx.resume();
    const src = ctx.createMediaStreamSource(stream);
    const an = ctx.createAnalyser();
    an.fftSize = 8192; an.smoothingTimeConstant = 0;
    src.connect(an);
    const spec = new Float32Array(an.frequencyBinCount), acc = new Float64Array(an.frequencyBinCount);
    let n = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < ms) {
      await sb.sleep(50);
      an.getFloatFrequencyData(spec);
      for (let i = 0; i < spec.length; i++) acc[i] += Math.pow(10, spec[i] / 10);
      n++;
    }
    const hzPerBin = ctx.sampleRate / an.fftSize, out = {};
    for (const f of a.freqs) {
      let s = 0;
      for (let i = Math.ceil((f - 25) / hzPerBin); i <= Math.floor((f + 25) / hzPerBin); i++) s += acc[i];
      out[f] = Math.round(10 * Math.log10(s / Math.max(n, 1) + 1e-30) * 10) / 10;
    }
    src.disconnect();
    await ctx.close();
    return out;
  };
  // wait until `hz` is present (>= a.presentDb above the reference band)
  const waitFor = async (rs, hz, ms) => {
    const t0 = performance.now(); let b;
    while (performance.now() - t0 < ms) {
      b = await bands(rs, 500);
      if (b[hz] - b[a.ref] >= a.presentDb) return { ok: true, afterMs: Math.round(performance.now() - t0) };
    }
    return { ok: false, last: b };
  };
  const ua = await sb.ua({ lib: 'jssip', name: a.name, ws: a.ws, uri: `sip:${a.name}@sipbridge.test` });
  if (!ua.connected) return { error: 'ws not connected' };
  const c = await ua.call(a.target, { timeoutMs: 15000 });
  R.state = c.state;
  if (c.state !== 'confirmed') { R.summary = c.summary(); return R; }
  await c.tone(200);                       // attaches the unmuted <audio> element
  const rs = c.remoteStream();
  R.waitPair = await waitFor(rs, a.other, 30000);
  R.pair = await bands(rs, 2500);
  sb.emit(a.name, 'pair');
  R.waitThree = await waitFor(rs, 400, 40000);
  R.three = await bands(rs, 2500);
  sb.emit(a.name, 'three');
  R.stats = await c.stats();
  await sb.sleep(a.holdMs);
  R.end = await c.hangup();
  await ua.stop();
  return R;
}
JS
args() { # NAME OWN OTHER
	printf '{"ws":"%s","name":"%s","own":%s,"other":%s,"target":"sip:conf-test@sipbridge.test","freqs":[400,600,1000,1700],"ref":1700,"presentDb":25,"holdMs":3000}' \
		"$SB_WS_URL" "$1" "$2" "$3"
}
sb_browser_bg pageA --timeout 100 --wav "$SB_WORK/mic600.wav" --arg "$(args pagea 600 1000)" "@$SB_WORK/conf.js"
sb_browser_bg pageB --timeout 100 --wav "$SB_WORK/mic1k.wav" --arg "$(args pageb 1000 600)" "@$SB_WORK/conf.js"
limit_part
sb_wait_log pageA '"ev":"pair"' 60 || sb_log "page A never logged phase 'pair'"
sb_wait_log pageB '"ev":"pair"' 60 || sb_log "page B never logged phase 'pair'"
sb_log "both pages in the room; baresip dials in"
sb_bg baresip baresip -f "$SB_WORK/bs" -e "/dial sip:conf-test@127.0.0.1:$SB_SIP_PORT" -t 12
sb_wait pageA 90; sb_expect_eq "page A driver exit status" 0 $?
sb_wait pageB 30; sb_expect_eq "page B driver exit status" 0 $?
sb_wait baresip 20
sb_log "pages and baresip done"

for p in A B; do
	J=$SB_WORK/page$p.json
	echo "  page $p: $(sb_json "$J" '({ pair: r.pair, three: r.three, waitPair: r.waitPair, waitThree: r.waitThree })')"
	own=$([ $p = A ] && echo 600 || echo 1000); other=$([ $p = A ] && echo 1000 || echo 600)
	sb_json_checks "$J" <<EOF
page $p joined conf-test	r.state === "confirmed"
page $p hears the other page's $other Hz	r.pair && r.pair[$other] - r.pair[1700] >= 25
page $p: its own $own Hz >= 20 dB below $other Hz (two in the room)	r.pair && r.pair[$other] - r.pair[$own] >= 20
page $p hears baresip's 400 Hz	r.three && r.three[400] - r.three[1700] >= 25
page $p still hears $other Hz with three in the room	r.three && r.three[$other] - r.three[1700] >= 25
page $p: its own $own Hz >= 12 dB below $other Hz (three in the room: 1000 - 400 = 600 Hz appears as a coding product of the other two)	r.three && r.three[$other] - r.three[$own] >= 12
page $p hung up cleanly	r.end && r.end.state === "ended"
EOF
done

sb_check "baresip's call was answered" grep -Eq "Call established|call established" "$SB_WORK/baresip.log"
sb_check "baresip sent PCMU" grep -q "Set audio encoder: PCMU" "$SB_WORK/baresip.log"
rec=$(sb_baresip_rec "$SB_WORK/bs" dec)
band_db() { sox "$1" -n sinc "$2" stats 2>&1 | awk '/^RMS lev dB/ { print $4 }'; }
if [ -s "$rec" ]; then
	# the first 0.5 s holds the join tone (880 Hz), skip it
	sox "$rec" "$SB_WORK/bs_rec_trim.wav" trim 0.5
	b400=$(band_db "$SB_WORK/bs_rec_trim.wav" 380-420); b600=$(band_db "$SB_WORK/bs_rec_trim.wav" 580-620)
	b1k=$(band_db "$SB_WORK/bs_rec_trim.wav" 980-1020); bq=$(band_db "$SB_WORK/bs_rec_trim.wav" 1680-1720)
	echo "  baresip recording $(basename "$rec") ($(soxi -D "$rec") s): 400 Hz $b400 dB, 600 Hz $b600 dB, 1 kHz $b1k dB, 1700 Hz (quiet) $bq dB"
	sb_expect_ge "baresip hears page A's 600 Hz (dB over the quiet band)" 25 "$(awk -v a="$b600" -v q="$bq" 'BEGIN { print a - q }')"
	sb_expect_ge "baresip hears page B's 1 kHz (dB over the quiet band)" 25 "$(awk -v a="$b1k" -v q="$bq" 'BEGIN { print a - q }')"
	sb_expect_ge "baresip does not hear its own 400 Hz (dB below the weaker page tone)" 20 \
		"$(awk -v a="$b600" -v b="$b1k" -v o="$b400" 'BEGIN { m = a < b ? a : b; print m - o }')"
else
	sb_fail "baresip made no recording"
fi

sleep 1
sb_health >"$SB_WORK/health1.json"
echo "  /health after everyone left: $(cat "$SB_WORK/health1.json")"
sb_expect_json "/health: 0 calls after everyone left" "$SB_WORK/health1.json" 'r.calls === 0'
sb_expect_json "/health: 0 media sessions after everyone left" "$SB_WORK/health1.json" 'r.media_sessions === 0'
sb_stop sipbridge 5
sb_expect_eq "daemon 1 exit status" 0 $?
sb_check_sanitizers "$SB_WORK/sipbridge.log"

sb_finish
