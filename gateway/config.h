/* Configuration: libconfig file -> immutable sb_config. Loaded and
 * validated on the signalling thread; a reload builds a new object and the
 * old one lives on while anything still holds a reference. Shared
 * read-only by all threads (refcount is atomic). */
#ifndef SB_GATEWAY_CONFIG_H
#define SB_GATEWAY_CONFIG_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "sip/auth_token.h"
#include "sip/dialplan.h"
#include "sip/limits.h"

#define SB_CONFIG_DEFAULT_PATH "conf/sipbridge.conf"

/* "host:port" split; host is an IP literal or "*" for any. */
typedef struct sb_hostport {
	char host[64];
	uint16_t port;
} sb_hostport;

typedef enum {
	SB_SIP_TRANSPORT_UDP,
	SB_SIP_TRANSPORT_TCP,
	SB_SIP_TRANSPORT_TLS,
} sb_sip_transport;

typedef struct sb_sip_listen {
	sb_sip_transport transport;
	sb_hostport addr;
} sb_sip_listen;

/* route.dtmf: what becomes of DTMF the browser sends as SIP INFO
 * (application/dtmf-relay, application/dtmf) on its way to SIP. */
typedef enum {
	SB_DTMF_AUTO = 0,   /* RFC 4733 when the SIP side negotiated
			     * telephone-event, else the INFO passes */
	SB_DTMF_RFC4733,    /* always RFC 4733; INFO refused (488) when the
			     * SIP side has no telephone-event */
	SB_DTMF_INFO,       /* the INFO always passes unchanged */
} sb_dtmf_mode;

typedef struct sb_config {
	gatomicrefcount ref;
	char *path;                 /* file it came from */

	/* listen */
	bool has_http;
	sb_hostport http;
	bool has_https;
	sb_hostport https;
	sb_sip_listen *sip;         /* owned array */
	unsigned n_sip;
	bool has_admin;
	sb_hostport admin;

	/* tls */
	char *tls_cert;             /* "" = none */
	char *tls_key;
	/* SIP over TLS as a client (trunks, PBXs): check the server's
	 * certificate chain against tls_ca_file ("" = the system's CAs) and
	 * its name against the host we connect to; off by default */
	bool tls_verify_server;
	char *tls_ca_file;

	/* route */
	char *outbound_proxy;       /* "" = local services only */
	sb_dtmf_mode route_dtmf;    /* route.dtmf, default auto */

	/* media */
	char *media_address;
	char *media_public_address; /* "" = same as media_address */
	/* Derived, not a key: where the SIP side's RTP binds for a peer of
	 * the other address family than media.address (an IPv6 phone when
	 * media.address is IPv4, or the reverse): the host of the first
	 * listen.sip entry of that family that is not a wildcard; "" = none,
	 * and such a peer's SDP gets 488. */
	char *media_address_alt;
	uint16_t rtp_port_min, rtp_port_max;
	char *stun_server;          /* "" = none */
	unsigned rtp_timeout_s;
	unsigned workers;           /* 0 = one per core (resolved at load) */
	bool prefer_opus;           /* Opus toward browsers even if G.711 is shared */
	unsigned max_transcoded;    /* per worker; 0 = SB_MEDIA_MAX_TRANSCODED_DEFAULT */
	bool jitter_buffer;         /* buffer transcoded audio (sb_media_params) */
	bool opus_low_delay;        /* CELT until loss (sb_media_params) */

	/* services */
	char *svc_echo;
	char *svc_conference_prefix;
	unsigned conference_max_participants;
	unsigned echo_delay_ms;

	/* http */
	char *www_root;             /* "" = built-in default */
	unsigned ws_max_message;    /* bytes */

	/* log */
	GLogLevelFlags log_level;   /* most verbose level shown */

	/* cdr */
	char *cdr_path;             /* SQLite file; "" = no CDRs */

	/* security (parsers in sip/auth_token.c, sip/limits.c, sip/dialplan.c) */
	sb_auth_config auth;        /* owned; keys NULL = no token required */
	sb_limits_config limits;
	sb_dialplan *dialplan;      /* owned; NULL = no dial plan configured */
	bool open_relay;            /* security.open_relay */
} sb_config;

/* listen.http/https bind beyond loopback while neither tokens nor a dial
 * plan restrict who may call where, and security.open_relay is not set. */
bool sb_config_is_open_relay(const sb_config *c, const char **which);

/* 127.0.0.0/8, ::1 or "localhost". */
bool sb_config_host_is_loopback(const char *host);

/* Why a configuration that loaded cannot start: an open relay, a TLS
 * file that cannot be read. NULL when it can; else a message (caller
 * frees). The daemon refuses to start with it and --check-config reports
 * it, so that a check that passes means a start that does. */
char *sb_config_startup_error(const sb_config *c);

/* Load and validate FILE. On error returns NULL and sets *err to
 * "FILE:LINE: message". Caller owns the result (unref). */
sb_config *sb_config_load(const char *path, GError **err);

sb_config *sb_config_ref(sb_config *c);
void sb_config_unref(sb_config *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(sb_config, sb_config_unref)

/* Parse "host:port" / "[v6]:port". Returns 0 or -EINVAL. */
int sb_config_parse_hostport(const char *s, sb_hostport *out);

#endif
