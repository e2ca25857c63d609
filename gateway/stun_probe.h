/* The gateway's server-reflexive address, learnt from media.stun_server
 * (RFC 8489 Binding request, no credentials): sent from media.address at
 * start and every SB_STUN_PROBE_INTERVAL_S, on a thread of GIO's pool so
 * that a slow or dead server holds nothing up. Each learnt address that
 * differs from the last is handed to a callback on the signalling
 * context; the media anchor then offers it to browsers as a srflx
 * candidate next to the host one (webrtc/ice.c).
 *
 * Why once per gateway instead of libnice's STUN per call: an address
 * libnice learns arrives after the SDP is made, so it never reached a
 * browser; and for a server behind a 1:1 NAT, the only kind a media
 * gateway can live behind without a relay, the mapped IP is the same for
 * every port.
 *
 * Thread: create, free and the callback on the signalling thread; the
 * exchange itself on a pool thread. */
#ifndef SB_GATEWAY_STUN_PROBE_H
#define SB_GATEWAY_STUN_PROBE_H

#include <glib.h>

#define SB_STUN_PROBE_INTERVAL_S 300

typedef struct sb_stun_probe sb_stun_probe;

/* addr: the mapped IP as text. */
typedef void (*sb_stun_probe_cb)(const char *addr, void *user_data);

/* server "IP:PORT" (IPv6 in brackets), local_addr an IP literal of the
 * same family; starts the first probe at once. NULL on bad arguments. */
sb_stun_probe *sb_stun_probe_new(const char *server, const char *local_addr,
				 sb_stun_probe_cb cb, void *user_data);
void sb_stun_probe_free(sb_stun_probe *p);

/* One Binding exchange, blocking: up to tries requests, timeout_ms apart.
 * 0 and the mapped IP in out, or -errno (-ETIMEDOUT, -EPROTO). Exposed
 * for the unit test. */
int sb_stun_probe_once(const char *server, const char *local_addr,
		       unsigned tries, unsigned timeout_ms, char *out, size_t size);

#endif
