/* The bencode subset sbload's NG client needs (tests/bench/bencode.c):
 * pure functions, any thread. The reply parser reads datagrams from the
 * network (rtpengine's), so it is bounded by len everywhere and limits
 * nesting; tests/fuzz/fuzz_bencode.c fuzzes it. */
#ifndef SB_BENCH_BENCODE_H
#define SB_BENCH_BENCODE_H

#include <stddef.h>
#include <glib.h>

/* Append a bencoded string. */
void sbl_benc_str(GString *out, const char *s);

/* In the bencoded dictionary buf[0..len), the string value of key (top
 * level only); other value types are skipped. New string (g_free) or
 * NULL: absent, not a string, or malformed input. */
char *sbl_benc_dict_str(const char *buf, size_t len, const char *key);

#endif
