/* Plain data exchanged between sip/ (SDP text) and webrtc/ (media
 * sessions): one audio stream as either side describes it. No pointers,
 * no library objects: a desc is copied by value across threads (it
 * travels inside worker messages). sip/sdp.c converts SDP text to and from
 * this; webrtc/ never sees SDP text. */
#ifndef SB_WEBRTC_MEDIA_DESC_H
#define SB_WEBRTC_MEDIA_DESC_H

#include <stdbool.h>
#include <stdint.h>

#define SB_MD_MAX_CODECS 16
#define SB_MD_MAX_CANDS 16
#define SB_MD_CAND_LEN 256
#define SB_MD_FMTP_LEN 256

typedef enum {
	SB_MD_PROTO_UNKNOWN = 0,
	SB_MD_PROTO_RTP_AVP,      /* RTP/AVP: plain RTP toward SIP */
	SB_MD_PROTO_RTP_AVPF,     /* RTP/AVPF */
	SB_MD_PROTO_RTP_SAVP,     /* RTP/SAVP: SDES-SRTP */
	SB_MD_PROTO_RTP_SAVPF,    /* RTP/SAVPF */
	SB_MD_PROTO_DTLS_SAVPF,   /* UDP/TLS/RTP/SAVPF: WebRTC */
	SB_MD_PROTO_DTLS_SAVP,    /* UDP/TLS/RTP/SAVP */
} sb_md_proto;

typedef enum {
	SB_MD_DIR_SENDRECV = 0,
	SB_MD_DIR_SENDONLY,
	SB_MD_DIR_RECVONLY,
	SB_MD_DIR_INACTIVE,
} sb_md_dir;

/* RFC 4145 / RFC 8842 a=setup */
typedef enum {
	SB_MD_SETUP_NONE = 0,
	SB_MD_SETUP_ACTPASS,
	SB_MD_SETUP_ACTIVE,
	SB_MD_SETUP_PASSIVE,
	SB_MD_SETUP_HOLDCONN,
} sb_md_setup;

typedef struct sb_md_codec {
	uint8_t pt;                 /* payload type as on this side's m= line */
	char name[24];              /* encoding name as written ("opus", "PCMU") */
	uint32_t clock;             /* RTP clock rate */
	uint8_t channels;           /* 1 unless rtpmap says otherwise */
	char fmtp[SB_MD_FMTP_LEN];  /* a=fmtp value after the PT, "" if none */
} sb_md_codec;

typedef struct sb_media_desc {
	sb_md_proto proto;
	char addr[64];              /* c= address (IP literal); "0.0.0.0" = hold */
	uint16_t port;              /* m= port; 0 = stream rejected/disabled */
	uint16_t rtcp_port;         /* a=rtcp port, 0 if absent */
	bool rtcp_mux;              /* a=rtcp-mux */
	bool rtcp_rsize;            /* a=rtcp-rsize */
	sb_md_dir dir;
	unsigned ptime;             /* a=ptime in ms, 0 = not given */
	unsigned maxptime;          /* a=maxptime in ms, 0 = not given */

	sb_md_codec codecs[SB_MD_MAX_CODECS]; /* m= line order */
	unsigned n_codecs;

	/* ICE (RFC 8839); session-level values are folded in by the parser */
	char ice_ufrag[257];
	char ice_pwd[257];
	bool ice_lite;
	bool end_of_candidates;
	/* attribute values "candidate:..." without "a=", as in the SDP */
	char cands[SB_MD_MAX_CANDS][SB_MD_CAND_LEN];
	unsigned n_cands;

	/* DTLS (RFC 8842); session-level values are folded in by the parser */
	char fp_hash[16];           /* "sha-256" */
	char fingerprint[200];      /* "AB:CD:..." */
	sb_md_setup setup;

	/* BUNDLE (RFC 8843) and stream identity */
	char mid[64];               /* a=mid, "" if none */
	bool bundled;               /* mid listed in a=group:BUNDLE */
	uint32_t ssrc;              /* first a=ssrc, 0 if none */
	char cname[64];             /* a=ssrc:<ssrc> cname: */
	char msid[160];             /* a=msid value, "" if none */
} sb_media_desc;

#endif
