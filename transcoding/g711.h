/* G.711 mu-law and A-law (ITU-T G.711, with the bit-exact conventions of
 * the ITU-T G.191 reference: 16-bit linear input, one's complement for
 * negative magnitudes). Pure functions; any thread. The PCMU/PCMA codec
 * descriptors built on them are sb_codec_pcmu/sb_codec_pcma (codec.h). */
#ifndef SB_TRANSCODING_G711_H
#define SB_TRANSCODING_G711_H

#include <stddef.h>
#include <stdint.h>

uint8_t sb_g711_ulaw_encode(int16_t pcm);
int16_t sb_g711_ulaw_decode(uint8_t u);
uint8_t sb_g711_alaw_encode(int16_t pcm);
int16_t sb_g711_alaw_decode(uint8_t a);

/* Buffer forms: n samples <-> n bytes. */
void sb_g711_ulaw_encode_buf(uint8_t *out, const int16_t *pcm, size_t n);
void sb_g711_ulaw_decode_buf(int16_t *pcm, const uint8_t *in, size_t n);
void sb_g711_alaw_encode_buf(uint8_t *out, const int16_t *pcm, size_t n);
void sb_g711_alaw_decode_buf(int16_t *pcm, const uint8_t *in, size_t n);

#endif
