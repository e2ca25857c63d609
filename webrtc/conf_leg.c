/* Conference participant leg and its room. A room (one per name per
 * worker thread: the registry is thread-local, so no locks) mixes its
 * participants at 16 kHz with transcoding/mixer (mix-minus) every 20 ms
 * on an absolute-time tick. Each participant leg decodes what the
 * session sends it (the caller's audio, in the caller's codec) into one
 * 20 ms frame at 16 kHz (G.711 doubled / halved around the mixer, Opus
 * decoded and encoded at 16 kHz directly), and hands the caller's mix
 * back as received RTP in the same codec, so the session relays it
 * without transcoding. A short tone marks each join (880 Hz) and leave
 * (440 Hz). Deliberately simple: the newest frame per tick wins (no
 * jitter buffer); telephone-events are not mixed.
 * Media worker thread only; buffers allocated at join. */
#include "webrtc/leg.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include "transcoding/codec.h"
#include "transcoding/mixer.h"

#define CONF_RATE 16000
#define CONF_PTIME 20
#define CONF_FRAME (CONF_RATE * CONF_PTIME / 1000)
#define CONF_MAX_PARTS 32
#define CONF_TONE_TICKS 10     /* 200 ms */
#define CONF_TONE_AMP 3000.0

typedef struct conf_room conf_room;

typedef struct conf_leg {
	sb_leg base;                /* first: sb_leg * casts to this */
	conf_room *room;            /* the room's ref held by this leg */
	int id;                     /* mixer id; -1 before the codec is known */
	const sb_codec *codec;      /* borrowed static descriptor */
	uint8_t pt;
	sb_codec_dec *dec;          /* owned */
	sb_codec_enc *enc;          /* owned */
	uint32_t codec_rate;        /* PCM rate of dec/enc: 8000 or 16000 */
	int16_t in[CONF_FRAME];     /* this tick's frame from the caller */
	bool has_in;
	uint16_t seq;
	uint32_t ts;
	bool announced;
	uint8_t out[SB_LEG_BUF];    /* the mix going back, as RTP */
} conf_leg;

struct conf_room {
	char *name;                 /* owned; registry key */
	unsigned refs;              /* participant legs */
	GMainContext *ctx;          /* ref */
	sb_mixer *mixer;            /* owned */
	conf_leg *part[CONF_MAX_PARTS];
	GSource *tick;              /* owned */
	gint64 next;                /* monotonic µs of the next tick */
	unsigned tone_left;
	double tone_hz;
	uint64_t tone_n;
};

static _Thread_local GHashTable *rooms;   /* name -> conf_room */

/* --- the room --------------------------------------------------------- */

static void add_tone(conf_room *r, int16_t *pcm)
{
	for (size_t i = 0; i < CONF_FRAME; i++) {
		double v = pcm[i] + CONF_TONE_AMP *
			   sin(2 * M_PI * r->tone_hz *
			       (double)(r->tone_n + i) / CONF_RATE);
		pcm[i] = sb_mixer_soft_clip((int32_t)lrint(v));
	}
}

static void send_back(conf_leg *c, const int16_t *mix)
{
	int16_t pcm[CONF_FRAME];
	size_t n = CONF_FRAME;
	uint8_t pl[SB_CODEC_MAX_PAYLOAD];

	if (c->codec_rate == 8000) {          /* halve: average pairs */
		n = CONF_FRAME / 2;
		for (size_t i = 0; i < n; i++)
			pcm[i] = (int16_t)((mix[2 * i] + mix[2 * i + 1]) / 2);
	} else {
		memcpy(pcm, mix, sizeof(pcm));
	}
	ssize_t len = sb_codec_encode(c->enc, pcm, n, pl, sizeof(pl));
	if (len <= 0)
		return;
	sb_rtp_hdr h = { .pt = c->pt, .seq = c->seq++, .ts = c->ts,
			 .ssrc = c->base.ssrc };
	c->ts += sb_codec_ts_units(c->codec, CONF_PTIME);
	ssize_t k = sb_rtp_build(c->out, SB_LEG_MTU, &h, pl, (size_t)len);
	if (k > 0)
		sb_leg_deliver_rtp(&c->base, c->out, (size_t)k, sizeof(c->out),
				   &h);
}

static void mix_tick(conf_room *r)
{
	for (unsigned i = 0; i < CONF_MAX_PARTS; i++) {
		conf_leg *c = r->part[i];
		if (c && c->has_in)
			sb_mixer_put(r->mixer, c->id, c->in, CONF_FRAME);
		if (c)
			c->has_in = false;
	}
	sb_mixer_mix(r->mixer);
	for (unsigned i = 0; i < CONF_MAX_PARTS; i++) {
		conf_leg *c = r->part[i];
		if (!c || c->base.closed)
			continue;
		int16_t mix[CONF_FRAME];
		memcpy(mix, sb_mixer_output(r->mixer, c->id), sizeof(mix));
		if (r->tone_left)
			add_tone(r, mix);
		send_back(c, mix);
	}
	if (r->tone_left) {
		r->tone_left--;
		r->tone_n += CONF_FRAME;
	}
}

static gboolean tick_dispatch(GSource *src, GSourceFunc cb, gpointer data)
{
	(void)src;
	return cb(data);
}

static GSourceFuncs tick_funcs = { .dispatch = tick_dispatch };

static gboolean on_tick(gpointer data)
{
	conf_room *r = data;
	gint64 now = g_get_monotonic_time();
	mix_tick(r);
	r->next += CONF_PTIME * 1000;
	if (r->next <= now)
		r->next = now + CONF_PTIME * 1000;
	g_source_set_ready_time(r->tick, r->next);
	return G_SOURCE_CONTINUE;
}

static void room_free(conf_room *r)
{
	if (r->tick) {
		g_source_destroy(r->tick);
		g_source_unref(r->tick);
	}
	sb_mixer_free(r->mixer);
	g_main_context_unref(r->ctx);
	g_free(r->name);
	g_free(r);
}

static conf_room *room_get(const char *name, GMainContext *ctx)
{
	if (!rooms)
		rooms = g_hash_table_new(g_str_hash, g_str_equal);
	conf_room *r = g_hash_table_lookup(rooms, name);
	if (!r) {
		r = g_new0(conf_room, 1);
		r->name = g_strdup(name);
		r->ctx = g_main_context_ref(ctx);
		r->mixer = sb_mixer_new(CONF_RATE, CONF_PTIME, CONF_MAX_PARTS);
		g_hash_table_insert(rooms, r->name, r);
	}
	r->refs++;
	return r;
}

static void room_put(conf_room *r)
{
	if (--r->refs > 0)
		return;
	g_hash_table_remove(rooms, r->name);
	if (g_hash_table_size(rooms) == 0)
		g_clear_pointer(&rooms, g_hash_table_unref);
	room_free(r);
}

static void room_tone(conf_room *r, double hz)
{
	r->tone_hz = hz;
	r->tone_left = CONF_TONE_TICKS;
	r->tone_n = 0;
}

static int room_join(conf_room *r, conf_leg *c)
{
	int id = sb_mixer_join(r->mixer);
	if (id < 0 || id >= CONF_MAX_PARTS) {
		if (id >= 0)
			sb_mixer_leave(r->mixer, id);
		return -EBUSY;
	}
	c->id = id;
	r->part[id] = c;
	room_tone(r, 880);
	if (!r->tick) {
		r->next = g_get_monotonic_time() + CONF_PTIME * 1000;
		r->tick = g_source_new(&tick_funcs, sizeof(GSource));
		g_source_set_callback(r->tick, on_tick, r, NULL);
		g_source_set_ready_time(r->tick, r->next);
		g_source_attach(r->tick, r->ctx);
	}
	return 0;
}

static void room_leave(conf_room *r, conf_leg *c)
{
	if (c->id < 0)
		return;
	sb_mixer_leave(r->mixer, c->id);
	r->part[c->id] = NULL;
	c->id = -1;
	if (sb_mixer_count(r->mixer) > 0)
		room_tone(r, 440);
}

/* --- the leg ---------------------------------------------------------- */

static conf_leg *C(sb_leg *leg)
{
	return (conf_leg *)leg;
}

static int open_codec(conf_leg *c, const sb_md_codec *m)
{
	sb_codec_params p;
	const sb_codec *codec = sb_codec_find(m->name, m->clock, m->channels);
	if (!codec || codec->is_event)
		return -ENOTSUP;
	sb_codec_params_init(&p);
	if (codec->pcm_rate_selectable)
		p.pcm_rate = CONF_RATE;
	else if (codec->pcm_rate != 8000 && codec->pcm_rate != CONF_RATE)
		return -ENOTSUP;
	int err = sb_codec_dec_new(codec, &p, &c->dec);
	if (err == 0)
		err = sb_codec_enc_new(codec, &p, &c->enc);
	if (err < 0)
		return err;
	c->codec = codec;
	c->pt = m->pt;
	c->codec_rate = c->dec->pcm_rate;
	return 0;
}

/* The session tells us the negotiated codec (codecs[0]) this way. */
static int cl_set_remote(sb_leg *leg, bool offer, const sb_media_desc *d)
{
	conf_leg *c = C(leg);
	(void)offer;
	if (!c->codec) {
		if (d->n_codecs == 0)
			return -EINVAL;
		int err = open_codec(c, &d->codecs[0]);
		if (err == 0)
			err = room_join(c->room, c);
		if (err < 0)
			return err;
	}
	if (!c->announced) {
		c->announced = true;
		sb_leg_emit(leg, SB_LEG_EV_CONNECTED, NULL);
	}
	return 0;
}

/* The caller's audio: one frame at 16 kHz for the next mix. */
static int cl_send_rtp(sb_leg *leg, uint8_t *buf, size_t len, size_t cap)
{
	conf_leg *c = C(leg);
	sb_rtp_hdr h;
	int16_t pcm[SB_CODEC_MAX_SAMPLES];
	(void)cap;

	if (leg->closed || !c->codec || sb_rtp_parse(buf, len, &h) < 0) {
		leg->stats.tx_dropped++;
		return -EAGAIN;
	}
	sb_leg_account_tx(leg, buf, len);
	if (h.pt != c->pt)
		return 0; /* telephone-event: not mixed */
	ssize_t n = sb_codec_decode(c->dec, buf + h.payload_off,
				    h.payload_len, pcm, G_N_ELEMENTS(pcm));
	if (n <= 0)
		return 0;
	memset(c->in, 0, sizeof(c->in));
	if (c->codec_rate == 8000) {          /* double: linear steps */
		size_t m = MIN((size_t)n, CONF_FRAME / 2);
		for (size_t i = 0; i < m; i++) {
			int16_t next = i + 1 < m ? pcm[i + 1] : pcm[i];
			c->in[2 * i] = pcm[i];
			c->in[2 * i + 1] = (int16_t)((pcm[i] + next) / 2);
		}
	} else {
		memcpy(c->in, pcm, MIN((size_t)n, CONF_FRAME) * 2);
	}
	c->has_in = true;
	return 0;
}

static int cl_get_local(sb_leg *leg, bool offer, sb_media_desc *d)
{
	(void)offer;
	d->proto = SB_MD_PROTO_RTP_AVP;
	g_strlcpy(d->addr, "127.0.0.1", sizeof(d->addr));
	d->ssrc = leg->ssrc;
	g_strlcpy(d->cname, leg->cname, sizeof(d->cname));
	return 0;
}

static void cl_close(sb_leg *leg)
{
	conf_leg *c = C(leg);
	if (leg->closed)
		return;
	sb_leg_base_close(leg);
	room_leave(c->room, c);
}

static void cl_free(sb_leg *leg)
{
	conf_leg *c = C(leg);
	room_put(c->room);
	sb_codec_dec_free(c->dec);
	sb_codec_enc_free(c->enc);
	sb_leg_base_clear(leg);
	g_free(c);
}

static const sb_leg_ops conf_ops = {
	.name = "conf",
	.get_local = cl_get_local,
	.set_remote = cl_set_remote,
	.send_rtp = cl_send_rtp,
	.close = cl_close,
	.free = cl_free,
};

int sb_conf_leg_new(const sb_leg_params *p, sb_leg **out)
{
	if (!p->ctx || !p->conf_room || !*p->conf_room)
		return -EINVAL;
	conf_leg *c = g_new0(conf_leg, 1);
	sb_leg_base_init(&c->base, &conf_ops, p);
	c->id = -1;
	c->seq = (uint16_t)g_random_int();
	c->ts = g_random_int();
	c->room = room_get(p->conf_room, p->ctx);
	*out = &c->base;
	return 0;
}

unsigned sb_conf_room_count(const char *name)
{
	conf_room *r = rooms ? g_hash_table_lookup(rooms, name) : NULL;
	return r ? sb_mixer_count(r->mixer) : 0;
}
