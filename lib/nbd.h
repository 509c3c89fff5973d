/* SPDX-License-Identifier: MIT */
/*
 * The client side of the NBD protocol (NetworkBlockDevice/nbd doc/proto.md)
 * for the nbd target: URIs (doc/uri.md), connecting, the fixed newstyle
 * handshake, and the transmission phase's 28-byte requests and 16-byte
 * simple replies, encoded into and decoded from the caller's memory.
 *
 * No global state and no allocation: what a call needs lives in its
 * arguments or on its stack. Functions return 0 (or a length, or an fd)
 * or a negative errno; where that says too little they also write one
 * line, without a newline, into the caller's err buffer. Nothing is
 * printed. The subset of the protocol spoken, and why: docs/nbd.md.
 */
#ifndef UBLKCTL_NBD_H
#define UBLKCTL_NBD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NBD_DEFAULT_PORT	10809	/* IANA's, what a URI without a port means */
#define NBD_NAME_MAX		4096	/* the protocol's bound on any string */
#define NBD_HOST_MAX		255	/* a DNS name, or an IPv6 address */
#define NBD_SOCKET_MAX		107	/* sun_path less its terminating NUL */
#define NBD_ERR_LEN		256	/* enough for every message here */
/* what nbd_uri_format() writes at most, NUL included: each byte as %XX */
#define NBD_URI_MAX		(32 + 3 * (NBD_HOST_MAX + NBD_NAME_MAX + NBD_SOCKET_MAX))

/* ---- URIs ---- */
enum nbd_transport {
	NBD_TRANSPORT_TCP,		/* nbd://, or a plain HOST[:PORT] */
	NBD_TRANSPORT_UNIX,		/* nbd+unix:///EXPORT?socket=PATH */
};

/* A parsed URI; every byte is set by nbd_uri_parse(), so two compare with memcmp. */
struct nbd_uri {
	enum nbd_transport transport;
	uint16_t port;				/* TCP */
	char host[NBD_HOST_MAX + 1];		/* TCP: a name or an address, no brackets */
	char socket[NBD_SOCKET_MAX + 1];	/* unix: the socket's path */
	char export_name[NBD_NAME_MAX + 1];	/* percent-decoded; "" is the default export */
};

/*
 * text into *u: nbd://HOST[:PORT][/EXPORT], nbd+unix:///[EXPORT]?socket=PATH,
 * or HOST[:PORT] (an IPv6 address in brackets, or bare without a port).
 * Returns 0, or -EINVAL with the reason in err (TLS schemes and parameters,
 * user names, fragments, unknown parameters and NUL bytes included).
 */
int nbd_uri_parse(const char *text, struct nbd_uri *u, char *err, size_t errlen);
/*
 * u in canonical form: lower-case scheme, the port only when not the
 * default, bytes other than unreserved ones percent-encoded (upper-case
 * hex). nbd_uri_parse() gives u back from it. Returns its length, or
 * -ENOSPC when len (NBD_URI_MAX always suffices) is too small.
 */
int nbd_uri_format(const struct nbd_uri *u, char *buf, size_t len);

/* ---- connecting ---- */
/*
 * A connected stream socket to u's server (close-on-exec; TCP_NODELAY on
 * TCP), or -errno with err set. Each address the name resolves to is
 * tried in turn until timeout_ms (0: the system's own timeouts) has
 * passed: then -ETIMEDOUT. Name resolution itself is not under it.
 */
int nbd_connect(const struct nbd_uri *u, unsigned int timeout_ms, char *err, size_t errlen);

/* ---- the handshake ---- */
/* handshake flags, from the server */
#define NBD_FLAG_FIXED_NEWSTYLE		(1U << 0)
#define NBD_FLAG_NO_ZEROES		(1U << 1)
/* client flags */
#define NBD_FLAG_C_FIXED_NEWSTYLE	(1U << 0)
#define NBD_FLAG_C_NO_ZEROES		(1U << 1)

/* transmission flags: what the export is and what it takes */
#define NBD_FLAG_HAS_FLAGS		(1U << 0)
#define NBD_FLAG_READ_ONLY		(1U << 1)
#define NBD_FLAG_SEND_FLUSH		(1U << 2)
#define NBD_FLAG_SEND_FUA		(1U << 3)
#define NBD_FLAG_ROTATIONAL		(1U << 4)
#define NBD_FLAG_SEND_TRIM		(1U << 5)
#define NBD_FLAG_SEND_WRITE_ZEROES	(1U << 6)
#define NBD_FLAG_SEND_DF		(1U << 7)
#define NBD_FLAG_CAN_MULTI_CONN		(1U << 8)
#define NBD_FLAG_SEND_RESIZE		(1U << 9)
#define NBD_FLAG_SEND_CACHE		(1U << 10)
#define NBD_FLAG_SEND_FAST_ZERO		(1U << 11)

/* magic numbers */
#define NBD_MAGIC			0x4e42444d41474943ULL	/* "NBDMAGIC" */
#define NBD_OLDSTYLE_MAGIC		0x00420281861253ULL
#define NBD_IHAVEOPT			0x49484156454f5054ULL	/* "IHAVEOPT" */
#define NBD_REP_MAGIC			0x3e889045565a9ULL
#define NBD_REQUEST_MAGIC		0x25609513U
#define NBD_SIMPLE_REPLY_MAGIC		0x67446698U
#define NBD_STRUCTURED_REPLY_MAGIC	0x668e33efU

/* options */
#define NBD_OPT_EXPORT_NAME		1
#define NBD_OPT_ABORT			2
#define NBD_OPT_GO			7

/* option reply types; errors have bit 31 set */
#define NBD_REP_ACK			1
#define NBD_REP_INFO			3
#define NBD_REP_FLAG_ERROR		(1U << 31)
#define NBD_REP_ERR_UNSUP		(NBD_REP_FLAG_ERROR | 1)
#define NBD_REP_ERR_POLICY		(NBD_REP_FLAG_ERROR | 2)
#define NBD_REP_ERR_INVALID		(NBD_REP_FLAG_ERROR | 3)
#define NBD_REP_ERR_PLATFORM		(NBD_REP_FLAG_ERROR | 4)
#define NBD_REP_ERR_TLS_REQD		(NBD_REP_FLAG_ERROR | 5)
#define NBD_REP_ERR_UNKNOWN		(NBD_REP_FLAG_ERROR | 6)
#define NBD_REP_ERR_SHUTDOWN		(NBD_REP_FLAG_ERROR | 7)
#define NBD_REP_ERR_BLOCK_SIZE_REQD	(NBD_REP_FLAG_ERROR | 8)
#define NBD_REP_ERR_TOO_BIG		(NBD_REP_FLAG_ERROR | 9)

/* NBD_REP_INFO types */
#define NBD_INFO_EXPORT			0
#define NBD_INFO_NAME			1
#define NBD_INFO_DESCRIPTION		2
#define NBD_INFO_BLOCK_SIZE		3

/* What the server said of the export; block sizes are in bytes. */
struct nbd_export {
	uint64_t size;
	uint16_t flags;			/* NBD_FLAG_* transmission flags */
	bool block_sizes_sent;		/* false: the protocol's defaults below */
	uint32_t min_block;		/* power of 2, 1..64 KiB; default 1 */
	uint32_t pref_block;		/* power of 2, >= min_block and 512; default 4096 */
	uint32_t max_block;		/* multiple of min_block, or 0xffffffff (default): none */
	bool go;			/* NBD_OPT_GO; false: the NBD_OPT_EXPORT_NAME fallback */
};

/*
 * The fixed newstyle handshake on a connected fd, as the client, for
 * export_name (NUL-terminated, at most NBD_NAME_MAX bytes; "" is the
 * server's default export): NBD_OPT_GO asking for block sizes, or
 * NBD_OPT_EXPORT_NAME when the server does not know NBD_OPT_GO. On 0 the
 * fd is in the transmission phase and *ex says what was negotiated. On
 * failure err says why: -ENOENT (no such export), -EPROTONOSUPPORT (the
 * server wants TLS, or speaks an older protocol), -EACCES (refused by
 * policy), -ESHUTDOWN, -ECONNRESET (the server hung up), -ETIMEDOUT (the
 * whole handshake took longer than timeout_ms; 0: no deadline), -EPROTO
 * (the server broke the protocol) or another errno from the socket. The
 * fd stays open either way: its caller closes it.
 */
int nbd_handshake(int fd, const char *export_name, unsigned int timeout_ms,
		  struct nbd_export *ex, char *err, size_t errlen);

/* ---- the transmission phase ---- */
#define NBD_REQUEST_SIZE		28
#define NBD_SIMPLE_REPLY_SIZE		16

/* commands */
#define NBD_CMD_READ			0
#define NBD_CMD_WRITE			1
#define NBD_CMD_DISC			2
#define NBD_CMD_FLUSH			3
#define NBD_CMD_TRIM			4
#define NBD_CMD_WRITE_ZEROES		6

/* command flags */
#define NBD_CMD_FLAG_FUA		(1U << 0)
#define NBD_CMD_FLAG_NO_HOLE		(1U << 1)

/*
 * The 28-byte request header into buf (NBD_REQUEST_SIZE bytes): the
 * cookie (the spec's older "handle") comes back in the reply. A WRITE's
 * data is the caller's to send after it. Refused with -EINVAL: a type
 * other than those above, a flag other than FUA and, on WRITE_ZEROES,
 * NO_HOLE, and FLUSH or DISC with an offset or a length. Returns
 * NBD_REQUEST_SIZE.
 */
int nbd_request_encode(void *buf, unsigned int type, unsigned int flags,
		       uint64_t cookie, uint64_t offset, uint32_t length);

struct nbd_reply {
	uint64_t cookie;
	int error;		/* 0, or the server's error as -errno */
};

/*
 * A simple reply's 16-byte header from buf into *r; a successful READ's
 * data follows it on the stream. -EPROTO when buf is no simple reply (a
 * structured one included: we never ask for them): the stream cannot be
 * followed any more.
 */
int nbd_reply_decode(const void *buf, struct nbd_reply *r);
/* The server's error value as a negative errno (unknown ones: -EINVAL). */
int nbd_errno(uint32_t nbd_error);

/*
 * Ends the transmission phase the way the protocol asks (NBD_CMD_DISC,
 * waiting at most timeout_ms for room to send it), then closes fd.
 */
void nbd_close(int fd, unsigned int timeout_ms);

#endif
