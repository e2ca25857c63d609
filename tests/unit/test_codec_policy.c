/* Codec policy of media sessions (webrtc/codec_policy.h), pure
 * functions: Chromium's offer toward a SIP trunk, a G.711 phone's offer
 * toward a browser (Opus first, fmtp at the narrow rate), G.722's 16 kHz,
 * payload-type collisions, nothing to transcode from, filtering. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "webrtc/codec_policy.h"

static void add(sb_media_desc *d, uint8_t pt, const char *name,
		uint32_t clock, uint8_t ch)
{
	sb_cp_add(d, pt, name, clock, ch, "");
}

/* Chromium 120's audio m= line. */
static void chromium(sb_media_desc *d)
{
	memset(d, 0, sizeof(*d));
	add(d, 111, "opus", 48000, 2);
	add(d, 63, "red", 48000, 2);
	add(d, 9, "G722", 8000, 1);
	add(d, 0, "PCMU", 8000, 1);
	add(d, 8, "PCMA", 8000, 1);
	add(d, 13, "CN", 8000, 1);
	add(d, 110, "telephone-event", 48000, 1);
	add(d, 126, "telephone-event", 8000, 1);
}

static void test_chromium_to_sip(void **state)
{
	sb_media_desc in, out;
	(void)state;
	chromium(&in);
	assert_int_equal(sb_cp_filter(&in, &out), 4);
	/* everything relayable was there already: nothing added */
	assert_false(sb_cp_widen(&out, false, false));
	assert_int_equal(out.n_codecs, 6);
	assert_int_equal(out.codecs[0].pt, 111);
	assert_int_equal(out.codecs[1].pt, 9);
	assert_int_equal(out.codecs[5].pt, 126);
}

static void test_opus_only_to_sip(void **state)
{
	sb_media_desc in, out;
	(void)state;
	memset(&in, 0, sizeof(in));
	add(&in, 0, "opus", 48000, 2);   /* PT 0 taken by Opus */
	add(&in, 110, "telephone-event", 48000, 1);
	assert_int_equal(sb_cp_filter(&in, &out), 1);
	assert_true(sb_cp_widen(&out, false, false));
	assert_int_equal(out.n_codecs, 5);
	assert_string_equal(out.codecs[2].name, "PCMU");
	assert_int_equal(out.codecs[2].pt, 96);  /* 0 was taken */
	assert_string_equal(out.codecs[3].name, "PCMA");
	assert_int_equal(out.codecs[3].pt, 8);
	assert_string_equal(out.codecs[4].name, "telephone-event");
	assert_int_equal(out.codecs[4].clock, 8000);
	assert_int_equal(out.codecs[4].pt, 101);
}

static void test_g711_to_browser(void **state)
{
	sb_media_desc in, out;
	(void)state;
	memset(&in, 0, sizeof(in));
	add(&in, 8, "PCMA", 8000, 1);
	add(&in, 0, "PCMU", 8000, 1);
	add(&in, 101, "telephone-event", 8000, 1);
	/* default: the phone's codecs first, so a browser relays them;
	 * Opus after them and before DTMF */
	sb_cp_filter(&in, &out);
	assert_true(sb_cp_widen(&out, true, false));
	assert_int_equal(out.n_codecs, 5);
	assert_int_equal(out.codecs[0].pt, 8);
	assert_int_equal(out.codecs[1].pt, 0);
	assert_string_equal(out.codecs[2].name, "opus");
	assert_int_equal(out.codecs[2].pt, 111);
	assert_int_equal(out.codecs[3].pt, 101);
	assert_int_equal(out.codecs[4].pt, 110);
	/* media.prefer_opus: Opus first */
	sb_cp_filter(&in, &out);
	assert_true(sb_cp_widen(&out, true, true));
	assert_int_equal(out.n_codecs, 5);
	assert_string_equal(out.codecs[0].name, "opus");
	assert_int_equal(out.codecs[0].pt, 111);
	assert_int_equal(out.codecs[0].channels, 2);
	assert_non_null(strstr(out.codecs[0].fmtp, "useinbandfec=1"));
	assert_non_null(strstr(out.codecs[0].fmtp, "maxplaybackrate=8000"));
	assert_non_null(strstr(out.codecs[0].fmtp,
			       "sprop-maxcapturerate=8000"));
	assert_non_null(strstr(out.codecs[0].fmtp, "stereo=0"));
	assert_int_equal(out.codecs[1].pt, 8);   /* the phone's order */
	assert_int_equal(out.codecs[2].pt, 0);
	assert_int_equal(out.codecs[3].pt, 101);
	assert_int_equal(out.codecs[4].pt, 110);
	assert_int_equal(out.codecs[4].clock, 48000);
	/* towards SIP nothing is added: no Opus to transcode from */
	sb_cp_filter(&in, &out);
	assert_false(sb_cp_widen(&out, false, false));
	assert_int_equal(out.n_codecs, 3);
}

static void test_g722_rate(void **state)
{
	sb_media_desc in, out;
	(void)state;
	memset(&in, 0, sizeof(in));
	add(&in, 9, "G722", 8000, 1);
	add(&in, 111, "X-unknown", 8000, 1); /* 111 taken, not relayed */
	sb_cp_filter(&in, &out);
	assert_int_equal(out.n_codecs, 1);
	assert_true(sb_cp_widen(&out, true, true));
	assert_non_null(strstr(out.codecs[0].fmtp, "maxplaybackrate=16000"));
	/* no DTMF offered, none added */
	assert_int_equal(out.n_codecs, 2);
	/* a browser that has Opus already is left alone */
	chromium(&in);
	sb_cp_filter(&in, &out);
	assert_false(sb_cp_widen(&out, true, false));
}

static void test_lookup(void **state)
{
	sb_md_codec opus = { .pt = 111, .name = "OPUS", .clock = 48000,
			     .channels = 2 };
	sb_md_codec g722 = { .pt = 9, .name = "G722", .clock = 8000 };
	sb_md_codec l16 = { .pt = 96, .name = "L16", .clock = 8000 };
	(void)state;
	assert_true(sb_cp_is_opus(&opus));
	assert_ptr_equal(sb_cp_xcodec(&opus), &sb_codec_opus);
	assert_ptr_equal(sb_cp_xcodec(&g722), &sb_codec_g722);
	assert_int_equal(sb_cp_narrow_rate(&g722), 16000);
	assert_false(sb_cp_relayable(&l16));
	sb_media_desc d;
	memset(&d, 0, sizeof(d));
	for (int pt = 96; pt < 96 + SB_MD_MAX_CODECS; pt++)
		add(&d, (uint8_t)pt, "x", 8000, 1);
	/* 111 is taken: the first free dynamic PT instead */
	assert_int_equal(sb_cp_free_pt(&d, 111), 96 + SB_MD_MAX_CODECS);
	assert_int_equal(sb_cp_free_pt(&d, 0), 0);
	/* a full description takes nothing more */
	add(&d, 0, "PCMU", 8000, 1);
	assert_int_equal(d.n_codecs, SB_MD_MAX_CODECS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chromium_to_sip),
		cmocka_unit_test(test_opus_only_to_sip),
		cmocka_unit_test(test_g711_to_browser),
		cmocka_unit_test(test_g722_rate),
		cmocka_unit_test(test_lookup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
