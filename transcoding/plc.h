/* Packet loss concealment for codecs without their own (G.711, G.722):
 * repeats the last pitch period of good audio, fading out after 10 ms and
 * to silence after 60 ms (the shape of G.711 Appendix I), and cross-fades
 * back into real audio after a loss. Works at any rate up to 48 kHz.
 * An sb_plc is owned by one decoder and used from its worker thread. */
#ifndef SB_TRANSCODING_PLC_H
#define SB_TRANSCODING_PLC_H

#include <stddef.h>
#include <stdint.h>

typedef struct sb_plc sb_plc;

/* rate in Hz (8000..48000). Returns an owned concealer, or NULL for a
 * bad rate. Free with sb_plc_free (NULL-safe). */
sb_plc *sb_plc_new(uint32_t rate);
void sb_plc_free(sb_plc *plc);
/* Record n decoded samples; if they follow a loss, their start is
 * cross-faded in place with the synthetic signal. */
void sb_plc_good(sb_plc *plc, int16_t *pcm, size_t n);
/* Fill pcm with n samples of concealment for a lost stretch. */
void sb_plc_conceal(sb_plc *plc, int16_t *pcm, size_t n);

#endif
