/* G.711 mu-law and A-law sample conversion (ITU-T G.711). Pure; any
 * thread. */
#ifndef SB_TRANSCODING_G711_H
#define SB_TRANSCODING_G711_H

#include <stddef.h>
#include <stdint.h>

uint8_t sb_g711_ulaw_encode(int16_t pcm);
int16_t sb_g711_ulaw_decode(uint8_t u);
uint8_t sb_g711_alaw_encode(int16_t pcm);
int16_t sb_g711_alaw_decode(uint8_t a);

#endif
