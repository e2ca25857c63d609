/* The codec interface: one static const descriptor per RTP codec (as
 * baresip's aucodec and rtpengine's codec_def_t), plus encoder/decoder
 * state objects. Descriptors are immutable and may be read from any thread.
 * Encoder/decoder states are owned by their caller (the bridge) and used
 * from one thread only (the media worker that created them). */
#ifndef SB_TRANSCODING_CODEC_H
#define SB_TRANSCODING_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct sb_codec sb_codec;
typedef struct sb_codec_enc sb_codec_enc;
typedef struct sb_codec_dec sb_codec_dec;
typedef struct sb_codec_params sb_codec_params;

/* Largest encoded frame any codec here produces (Opus: 1275 bytes per
 * frame, RFC 6716 §3.4). */
#define SB_CODEC_MAX_PAYLOAD 1500
/* Largest PCM frame: 120 ms at 48 kHz, mono. */
#define SB_CODEC_MAX_SAMPLES 5760

/* Options for creating an encoder or decoder; start from
 * sb_codec_params_init() and change what you need. */
struct sb_codec_params {
	uint32_t pcm_rate;   /* internal PCM rate; 0 = codec default. Only
			      * codecs with pcm_rate_selectable accept other
			      * rates (Opus: 8000, 12000, 16000, 24000, 48000) */
	int complexity;      /* Opus 0..10; <0 = default 5 */
	int loss_perc;       /* Opus expected loss % hint (0..100) */
	int bitrate;         /* Opus bit/s; 0 = automatic: libopus's choice,
			      * or 24000 at <= 16 kHz with FEC or low_delay
			      * (FEC needs the room, CELT the quality) */
	bool fec;            /* Opus inband FEC (params_init: true) */
	bool dtx;            /* Opus DTX (default false) */
	bool low_delay;      /* Opus: encode CELT only (restricted low delay)
			      * until DTX or FEC against loss needs SILK:
			      * half the encoding time, 4 ms less look-ahead
			      * (default false) */
};

/* Common head of every encoder/decoder state; each codec embeds it as the
 * first member of its own state struct. */
struct sb_codec_enc {
	const sb_codec *codec; /* borrowed: static descriptor */
	uint32_t pcm_rate;     /* internal PCM sample rate in Hz */
};

struct sb_codec_dec {
	const sb_codec *codec; /* borrowed: static descriptor */
	uint32_t pcm_rate;
};

/* One codec. All function pointers may be NULL for codecs that carry no
 * audio (telephone-event); the sb_codec_* wrappers then return -ENOTSUP.
 * Lengths: PCM in samples (mono int16), payload in bytes. */
struct sb_codec {
	const char *name;          /* SDP encoding name, e.g. "PCMU" */
	uint32_t clock_rate;       /* RTP clock rate (a=rtpmap) */
	uint8_t channels;          /* SDP channel count (opus: 2) */
	int static_pt;             /* RFC 3551 static payload type, or -1 */
	uint32_t pcm_rate;         /* default internal PCM rate */
	bool pcm_rate_selectable;  /* caller may pick params.pcm_rate */
	bool is_event;             /* telephone-event: no PCM at all */
	const uint8_t *frame_ms;   /* supported ptimes in ms, 0-terminated */

	int (*enc_new)(const sb_codec *c, const sb_codec_params *p,
		       sb_codec_enc **out);
	void (*enc_free)(sb_codec_enc *enc);
	/* Encode exactly one frame of n samples at enc->pcm_rate. */
	ssize_t (*encode)(sb_codec_enc *enc, const int16_t *pcm, size_t n,
			  uint8_t *out, size_t cap);
	int (*dec_new)(const sb_codec *c, const sb_codec_params *p,
		       sb_codec_dec **out);
	void (*dec_free)(sb_codec_dec *dec);
	/* Decode one payload into at most cap samples; returns samples. */
	ssize_t (*decode)(sb_codec_dec *dec, const uint8_t *in, size_t len,
			  int16_t *pcm, size_t cap);
	/* Conceal one lost frame of exactly n samples. */
	ssize_t (*plc)(sb_codec_dec *dec, int16_t *pcm, size_t n);
	/* Recover a lost frame of n samples from the FEC data carried in the
	 * packet that followed it (Opus LBRR); NULL if the codec has none. */
	ssize_t (*decode_fec)(sb_codec_dec *dec, const uint8_t *next,
			      size_t len, int16_t *pcm, size_t n);
	/* Tell the encoder how much of its output the receiver loses (%),
	 * so that it spends bits (and CPU) on FEC only when it helps; NULL
	 * if the codec has no use for it. */
	int (*set_loss)(sb_codec_enc *enc, int loss_perc);
};

/* Built-in descriptors (static storage, any thread). */
extern const sb_codec sb_codec_pcmu;
extern const sb_codec sb_codec_pcma;
extern const sb_codec sb_codec_g722;
extern const sb_codec sb_codec_opus;
extern const sb_codec sb_codec_tel_event_8k;
extern const sb_codec sb_codec_tel_event_16k;
extern const sb_codec sb_codec_tel_event_48k;

/* Look a codec up by SDP name (case-insensitive), RTP clock rate and
 * channel count (0 = not given in SDP, meaning 1). Returns a static
 * descriptor or NULL. Any thread. */
const sb_codec *sb_codec_find(const char *name, uint32_t clock_rate,
			      unsigned channels);
/* Look a codec up by RFC 3551 static payload type; NULL if none. */
const sb_codec *sb_codec_find_static(int pt);

/* Fill p with the defaults: rate 0 = codec default, complexity 5, loss
 * hint 10 %, automatic bitrate, FEC on, DTX off, low delay off. */
void sb_codec_params_init(sb_codec_params *p);
/* True if the codec can send frames of ms milliseconds. */
bool sb_codec_supports_ptime(const sb_codec *c, unsigned ms);
/* PCM samples in one frame of ms milliseconds at rate pcm_rate. */
size_t sb_codec_samples(uint32_t pcm_rate, unsigned ms);
/* RTP timestamp units in one frame of ms milliseconds for codec c. */
uint32_t sb_codec_ts_units(const sb_codec *c, unsigned ms);

/* Wrappers over the descriptor. *_new return 0 or -errno (-ENOTSUP for a
 * codec without audio, -EINVAL for unsupported params) and hand the caller
 * ownership of *out, to be released with the matching *_free (NULL-safe).
 * The others return a length or -errno. Worker thread of the owner only. */
int sb_codec_enc_new(const sb_codec *c, const sb_codec_params *p,
		     sb_codec_enc **out);
void sb_codec_enc_free(sb_codec_enc *enc);
ssize_t sb_codec_encode(sb_codec_enc *enc, const int16_t *pcm, size_t n,
			uint8_t *out, size_t cap);
int sb_codec_dec_new(const sb_codec *c, const sb_codec_params *p,
		     sb_codec_dec **out);
void sb_codec_dec_free(sb_codec_dec *dec);
ssize_t sb_codec_decode(sb_codec_dec *dec, const uint8_t *in, size_t len,
			int16_t *pcm, size_t cap);
ssize_t sb_codec_plc(sb_codec_dec *dec, int16_t *pcm, size_t n);
/* -ENOTSUP when the codec carries no FEC (callers then use sb_codec_plc). */
ssize_t sb_codec_decode_fec(sb_codec_dec *dec, const uint8_t *next,
			    size_t len, int16_t *pcm, size_t n);
/* The receiver's loss, 0..100 %: 0 when applied or of no use to the
 * codec, -EINVAL out of range. */
int sb_codec_set_loss(sb_codec_enc *enc, int loss_perc);

#endif
