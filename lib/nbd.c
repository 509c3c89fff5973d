// SPDX-License-Identifier: MIT
/*
 * The client side of the NBD protocol: URIs, connecting, the fixed
 * newstyle handshake and the transmission phase's headers (lib/nbd.h).
 * Everything the server sends is checked before it is used: lengths are
 * bounded before anything is read, magic numbers and the option a reply
 * answers are compared, and a server that breaks the protocol ends the
 * handshake with a message, never with a read past a buffer.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "nbd.h"

/* How much of a name or a server's message goes into a message. */
#define SHOWN_LEN	64
/*
 * The longest option reply read: a string of NBD_NAME_MAX bytes after
 * NBD_REP_INFO's 2-byte type (an export's name or description), or an
 * error's message. Anything longer is refused before it is read.
 */
#define REPLY_MAX	(2 + NBD_NAME_MAX)
/* NBD_REP_INFO replies taken before the final one; real servers send 2-4. */
#define REPLIES_MAX	64
#define OPT_HDR_LEN	16	/* IHAVEOPT, option, length */
#define REP_HDR_LEN	20	/* magic, option, type, length */
#define ZEROES_LEN	124	/* NBD_OPT_EXPORT_NAME's padding without NO_ZEROES */

static int fail(char *err, size_t errlen, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return ret;
}

/*
 * n bytes of s, fit to be shown on one line: other than printable ASCII
 * becomes '?', and past SHOWN_LEN bytes "..." ends it. out holds
 * SHOWN_LEN + 4 bytes.
 */
static const char *shown(const char *s, size_t n, char *out)
{
	size_t i, m = n > SHOWN_LEN ? SHOWN_LEN : n;

	for (i = 0; i < m; i++)
		out[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	strcpy(out + m, n > m ? "..." : "");
	return out;
}

/* ---- big-endian fields ---- */
static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v);
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, v >> 32);
	put32(p + 4, v);
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

/* ---- URIs ---- */
static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* RFC 3986's unreserved characters: never percent-encoded */
static bool is_unreserved(char c)
{
	return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

static bool is_sub_delim(char c)
{
	return c && strchr("!$&'()*+,;=", c);
}

/* What a path segment or a query value may hold unencoded ('/' too). */
static bool is_pchar(char c)
{
	return is_unreserved(c) || is_sub_delim(c) || c == ':' || c == '@' || c == '/';
}

static int hex_value(char c)
{
	if (is_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Percent-decodes the n bytes at s into out (cap bytes, NUL-terminated);
 * what names the field in messages. A query value may also hold '?'.
 */
static int pct_decode(const char *s, size_t n, bool query, char *out, size_t cap,
		      const char *what, char *err, size_t errlen)
{
	size_t i, o = 0;
	int hi, lo;
	char c;

	for (i = 0; i < n; i++) {
		c = s[i];
		if (c == '%') {
			hi = i + 2 < n ? hex_value(s[i + 1]) : -1;
			lo = hi >= 0 ? hex_value(s[i + 2]) : -1;
			if (lo < 0)
				return fail(err, errlen, -EINVAL, "%s: '%%' is not followed by two "
					    "hex digits", what);
			c = (char)(hi << 4 | lo);
			if (!c)
				return fail(err, errlen, -EINVAL, "%s: %%00 (a NUL byte) is not "
					    "allowed", what);
			i += 2;
		} else if (!is_pchar(c) && !(query && c == '?')) {
			return fail(err, errlen, -EINVAL, "%s: character 0x%02x must be "
				    "percent-encoded", what, (unsigned char)c);
		}
		if (o + 1 >= cap)
			return fail(err, errlen, -EINVAL, "%s: longer than %zu bytes", what,
				    cap - 1);
		out[o++] = c;
	}
	out[o] = 0;
	return 0;
}

static int parse_port(const char *s, size_t n, uint16_t *port, char *err, size_t errlen)
{
	unsigned int v = 0;
	size_t i;

	if (!n)		/* "host:" is allowed by RFC 3986: the default */
		return 0;
	for (i = 0; i < n; i++) {
		if (!is_digit(s[i]) || i >= 5)
			return fail(err, errlen, -EINVAL, "port: not a number from 1 to 65535");
		v = v * 10 + (unsigned int)(s[i] - '0');
	}
	if (!v || v > 65535)
		return fail(err, errlen, -EINVAL, "port: not a number from 1 to 65535");
	*port = (uint16_t)v;
	return 0;
}

/* An IPv6 address from between brackets, or a bare one. */
static int parse_ipv6(const char *s, size_t n, struct nbd_uri *u, char *err, size_t errlen)
{
	struct in6_addr a;
	char buf[INET6_ADDRSTRLEN + 1], show[SHOWN_LEN + 4];
	size_t i;

	if (memchr(s, '%', n))
		return fail(err, errlen, -EINVAL, "IPv6 zone identifiers are not supported");
	if (n >= sizeof(buf))
		return fail(err, errlen, -EINVAL, "'%s' is not an IPv6 address",
			    shown(s, n, show));
	memcpy(buf, s, n);
	buf[n] = 0;
	if (inet_pton(AF_INET6, buf, &a) != 1)
		return fail(err, errlen, -EINVAL, "'%s' is not an IPv6 address",
			    shown(s, n, show));
	for (i = 0; i <= n; i++)
		u->host[i] = buf[i] >= 'A' && buf[i] <= 'F' ? buf[i] - 'A' + 'a' : buf[i];
	return 0;
}

/* A host name or an IPv4 address: letters, digits, '-', '.', '_', '~'. */
static int parse_reg_name(const char *s, size_t n, struct nbd_uri *u, char *err, size_t errlen)
{
	size_t i;

	if (!n)
		return fail(err, errlen, -EINVAL, "no host");
	if (n > NBD_HOST_MAX)
		return fail(err, errlen, -EINVAL, "host: longer than %d bytes", NBD_HOST_MAX);
	for (i = 0; i < n; i++) {
		if (!is_unreserved(s[i]))
			return fail(err, errlen, -EINVAL, "host: character 0x%02x is not "
				    "allowed", (unsigned char)s[i]);
		/* names are case-insensitive: the canonical form is lower-case */
		u->host[i] = s[i] >= 'A' && s[i] <= 'Z' ? s[i] - 'A' + 'a' : s[i];
	}
	u->host[n] = 0;
	return 0;
}

/*
 * HOST[:PORT] or [IPV6][:PORT], n bytes at s. bare_ipv6: an address
 * with more than one ':' and no brackets is taken whole, without a port
 * (the plain form, where no URI rules apply).
 */
static int parse_host_port(const char *s, size_t n, bool bare_ipv6, struct nbd_uri *u,
			   char *err, size_t errlen)
{
	const char *end = s + n, *colon, *close;
	int ret;

	if (n && s[0] == '[') {
		close = memchr(s, ']', n);
		if (!close)
			return fail(err, errlen, -EINVAL, "'[' without ']'");
		ret = parse_ipv6(s + 1, (size_t)(close - s - 1), u, err, errlen);
		if (ret)
			return ret;
		if (close + 1 == end)
			return 0;
		if (close[1] != ':')
			return fail(err, errlen, -EINVAL, "only ':PORT' may follow ']'");
		return parse_port(close + 2, (size_t)(end - close - 2), &u->port, err, errlen);
	}
	colon = memchr(s, ':', n);
	if (colon && bare_ipv6 && memchr(colon + 1, ':', (size_t)(end - colon - 1)))
		return parse_ipv6(s, n, u, err, errlen);
	if (!colon)
		return parse_reg_name(s, n, u, err, errlen);
	ret = parse_reg_name(s, (size_t)(colon - s), u, err, errlen);
	if (ret)
		return ret;
	return parse_port(colon + 1, (size_t)(end - colon - 1), &u->port, err, errlen);
}

/* One "key=value" of the query. */
static int parse_param(const char *s, size_t n, struct nbd_uri *u, bool *have_socket,
		       char *err, size_t errlen)
{
	const char *eq = memchr(s, '=', n);
	char show[SHOWN_LEN + 4];
	size_t klen = eq ? (size_t)(eq - s) : n;

	if (klen >= 4 && !strncmp(s, "tls-", 4))
		return fail(err, errlen, -EINVAL, "TLS is not supported ('%s')",
			    shown(s, klen, show));
	if (klen != 6 || strncmp(s, "socket", 6))
		return fail(err, errlen, -EINVAL, "unknown parameter '%s'",
			    shown(s, klen, show));
	if (!eq)
		return fail(err, errlen, -EINVAL, "socket: no value");
	if (u->transport != NBD_TRANSPORT_UNIX)
		return fail(err, errlen, -EINVAL, "socket= is for nbd+unix:// URIs");
	if (*have_socket)
		return fail(err, errlen, -EINVAL, "socket= is given twice");
	*have_socket = true;
	return pct_decode(eq + 1, n - klen - 1, true, u->socket, sizeof(u->socket),
			  "socket", err, errlen);
}

static int parse_query(const char *s, size_t n, struct nbd_uri *u, char *err, size_t errlen)
{
	const char *end = s + n, *amp;
	bool have_socket = false;
	int ret;

	while (s < end) {
		amp = memchr(s, '&', (size_t)(end - s));
		if (!amp)
			amp = end;
		if (amp > s) {
			ret = parse_param(s, (size_t)(amp - s), u, &have_socket, err, errlen);
			if (ret)
				return ret;
		}
		s = amp + 1;
	}
	if (u->transport == NBD_TRANSPORT_UNIX && !u->socket[0])
		return fail(err, errlen, -EINVAL, "nbd+unix:// needs ?socket=PATH");
	return 0;
}

/* The scheme (n bytes at s) into u->transport, or why not. */
static int parse_scheme(const char *s, size_t n, struct nbd_uri *u, char *err, size_t errlen)
{
	char lower[16], show[SHOWN_LEN + 4];
	size_t i;

	for (i = 0; i < n && i < sizeof(lower) - 1; i++)
		lower[i] = s[i] >= 'A' && s[i] <= 'Z' ? s[i] - 'A' + 'a' : s[i];
	lower[i] = 0;
	if (n < sizeof(lower) && !strcmp(lower, "nbd"))
		u->transport = NBD_TRANSPORT_TCP;
	else if (n < sizeof(lower) && !strcmp(lower, "nbd+unix"))
		u->transport = NBD_TRANSPORT_UNIX;
	else if (n < sizeof(lower) && (!strcmp(lower, "nbds") || !strcmp(lower, "nbds+unix")))
		return fail(err, errlen, -EINVAL, "%s://: TLS is not supported", lower);
	else
		return fail(err, errlen, -EINVAL, "unsupported scheme '%s' (nbd:// and "
			    "nbd+unix:// are)", shown(s, n, show));
	return 0;
}

static int parse_authority(const char *s, size_t n, struct nbd_uri *u, char *err, size_t errlen)
{
	if (memchr(s, '@', n))
		return fail(err, errlen, -EINVAL, "user names are for TLS, which is not "
			    "supported");
	if (u->transport == NBD_TRANSPORT_UNIX) {
		if (n)
			return fail(err, errlen, -EINVAL, "nbd+unix:// takes no host: "
				    "nbd+unix:///EXPORT?socket=PATH");
		return 0;
	}
	return parse_host_port(s, n, false, u, err, errlen);
}

static int parse_uri(const char *text, const char *sep, struct nbd_uri *u,
		     char *err, size_t errlen)
{
	const char *auth = sep + 3, *path, *query, *end;
	int ret;

	ret = parse_scheme(text, (size_t)(sep - text), u, err, errlen);
	if (ret)
		return ret;
	if (strchr(auth, '#'))
		return fail(err, errlen, -EINVAL, "a URI fragment ('#') is not allowed");
	end = auth + strlen(auth);
	path = auth + strcspn(auth, "/?");
	query = path + strcspn(path, "?");
	ret = parse_authority(auth, (size_t)(path - auth), u, err, errlen);
	if (ret)
		return ret;
	/* the export name is the path less its leading '/' */
	if (query > path) {
		ret = pct_decode(path + 1, (size_t)(query - path - 1), false, u->export_name,
				 sizeof(u->export_name), "export name", err, errlen);
		if (ret)
			return ret;
	}
	return parse_query(query < end ? query + 1 : end, (size_t)(end - query - (query < end)),
			   u, err, errlen);
}

int nbd_uri_parse(const char *text, struct nbd_uri *u, char *err, size_t errlen)
{
	const char *sep;

	memset(u, 0, sizeof(*u));
	u->transport = NBD_TRANSPORT_TCP;
	u->port = NBD_DEFAULT_PORT;
	if (!text || !*text)
		return fail(err, errlen, -EINVAL, "no NBD server given");
	sep = strstr(text, "://");
	if (sep)
		return parse_uri(text, sep, u, err, errlen);
	/* HOST[:PORT]: the default export */
	return parse_host_port(text, strlen(text), true, u, err, errlen);
}

/* Appends s percent-encoded (all but unreserved bytes and '/'). */
static size_t pct_encode(char *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (; *s; s++) {
		if (is_unreserved(*s) || *s == '/') {
			out[o++] = *s;
			continue;
		}
		out[o++] = '%';
		out[o++] = hex[(unsigned char)*s >> 4];
		out[o++] = hex[*s & 15];
	}
	out[o] = 0;
	return o;
}

int nbd_uri_format(const struct nbd_uri *u, char *buf, size_t len)
{
	char tmp[NBD_URI_MAX], *p = tmp;

	if (u->transport == NBD_TRANSPORT_UNIX) {
		p += sprintf(p, "nbd+unix:///");
		p += pct_encode(p, u->export_name);
		p += sprintf(p, "?socket=");
		p += pct_encode(p, u->socket);
	} else {
		p += sprintf(p, strchr(u->host, ':') ? "nbd://[%s]" : "nbd://%s", u->host);
		if (u->port != NBD_DEFAULT_PORT)
			p += sprintf(p, ":%u", u->port);
		p += sprintf(p, "/");
		p += pct_encode(p, u->export_name);
	}
	if ((size_t)(p - tmp) >= len)
		return -ENOSPC;
	memcpy(buf, tmp, (size_t)(p - tmp) + 1);
	return (int)(p - tmp);
}

/* ---- deadlines ---- */
static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* 0: no deadline */
static int64_t deadline_after(unsigned int timeout_ms)
{
	return timeout_ms ? now_ms() + timeout_ms : 0;
}

/* What poll() should wait: -1 forever, 0 when the deadline has passed. */
static int ms_left(int64_t deadline)
{
	int64_t left;

	if (!deadline)
		return -1;
	left = deadline - now_ms();
	if (left <= 0)
		return 0;
	return left > 60000 ? 60000 : (int)left;
}

/* Waits until fd has events, or -ETIMEDOUT. */
static int wait_for(int fd, short events, int64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	int ms, n;

	for (;;) {
		ms = ms_left(deadline);
		if (!ms)
			return -ETIMEDOUT;
		n = poll(&p, 1, ms);
		if (n > 0)
			return 0;	/* also POLLHUP, POLLERR: the next call says what */
		if (n < 0 && errno != EINTR)
			return -errno;
	}
}

/* ---- connecting ---- */
/* connect() on a non-blocking socket, waiting for its end at most until deadline. */
static int connect_until(int fd, const struct sockaddr *sa, socklen_t salen, int64_t deadline)
{
	socklen_t elen = sizeof(int);
	int ret, e = 0;

	while (connect(fd, sa, salen) < 0) {
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN) {	/* a unix socket's full backlog: try again */
			ret = ms_left(deadline);
			if (!ret)
				return -ETIMEDOUT;
			usleep(10000);
			continue;
		}
		if (errno != EINPROGRESS)
			return -errno;
		ret = wait_for(fd, POLLOUT, deadline);
		if (ret)
			return ret;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen) < 0)
			return -errno;
		return -e;
	}
	return 0;
}

/* Back to a blocking socket: what the data path expects to get. */
static int make_blocking(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

static int connect_unix(const struct nbd_uri *u, int64_t deadline, char *err, size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char show[SHOWN_LEN + 4];
	int fd, ret;

	if (!u->socket[0] || strlen(u->socket) >= sizeof(sun.sun_path))
		return fail(err, errlen, -EINVAL, "bad socket path");
	strcpy(sun.sun_path, u->socket);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return fail(err, errlen, -errno, "socket: %s", strerror(errno));
	ret = connect_until(fd, (struct sockaddr *)&sun, sizeof(sun), deadline);
	if (!ret)
		ret = make_blocking(fd);
	if (ret) {
		close(fd);
		return fail(err, errlen, ret, "connect to %s: %s",
			    shown(u->socket, strlen(u->socket), show), strerror(-ret));
	}
	return fd;
}

/* One address of the server's; the fd, or -errno. */
static int connect_addr(const struct addrinfo *ai, int64_t deadline)
{
	int fd, ret, one = 1;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
		    ai->ai_protocol);
	if (fd < 0)
		return -errno;
	ret = connect_until(fd, ai->ai_addr, ai->ai_addrlen, deadline);
	/* small requests must not wait for the previous one's ACK (Nagle) */
	if (!ret && setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
		ret = -errno;
	if (!ret)
		ret = make_blocking(fd);
	if (ret) {
		close(fd);
		return ret;
	}
	return fd;
}

static int connect_tcp(const struct nbd_uri *u, int64_t deadline, char *err, size_t errlen)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_NUMERICSERV,
	};
	struct addrinfo *res, *ai;
	char port[8], show[SHOWN_LEN + 4];
	int fd = -EHOSTUNREACH, gai;

	snprintf(port, sizeof(port), "%u", u->port);
	gai = getaddrinfo(u->host, port, &hints, &res);
	if (gai)
		return fail(err, errlen, -EHOSTUNREACH, "%s: %s",
			    shown(u->host, strlen(u->host), show), gai_strerror(gai));
	for (ai = res; ai; ai = ai->ai_next) {
		fd = connect_addr(ai, deadline);
		if (fd >= 0 || fd == -ETIMEDOUT)
			break;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return fail(err, errlen, fd, "connect to %s port %u: %s",
			    shown(u->host, strlen(u->host), show), u->port, strerror(-fd));
	return fd;
}

int nbd_connect(const struct nbd_uri *u, unsigned int timeout_ms, char *err, size_t errlen)
{
	int64_t deadline = deadline_after(timeout_ms);

	if (u->transport == NBD_TRANSPORT_UNIX)
		return connect_unix(u, deadline, err, errlen);
	return connect_tcp(u, deadline, err, errlen);
}

/* ---- the handshake ---- */
struct handshake {
	int fd;
	int64_t deadline;
	unsigned int timeout_ms;
	const char *name;		/* the export asked for */
	char *err;
	size_t errlen;
};

/* ret (from recv or send) as a message; doing says when it happened. */
static int io_fail(struct handshake *h, int ret, const char *doing)
{
	if (ret == -ECONNRESET)
		return fail(h->err, h->errlen, ret, "the server closed the connection "
			    "%s", doing);
	if (ret == -ETIMEDOUT)
		return fail(h->err, h->errlen, ret, "the handshake did not finish within "
			    "%u ms (%s)", h->timeout_ms, doing);
	return fail(h->err, h->errlen, ret, "%s: %s", doing, strerror(-ret));
}

/* Exactly n bytes from the server, or -errno (-ECONNRESET at its end). */
static int recv_all(struct handshake *h, void *buf, size_t n)
{
	size_t got = 0;
	ssize_t r;
	int ret;

	while (got < n) {
		r = recv(h->fd, (char *)buf + got, n - got, MSG_DONTWAIT);
		if (r > 0) {
			got += (size_t)r;
			continue;
		}
		if (!r)
			return -ECONNRESET;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return errno == EPIPE ? -ECONNRESET : -errno;
		ret = wait_for(h->fd, POLLIN, h->deadline);
		if (ret)
			return ret;
	}
	return 0;
}

static int send_all(struct handshake *h, const void *buf, size_t n)
{
	size_t sent = 0;
	ssize_t r;
	int ret;

	while (sent < n) {
		r = send(h->fd, (const char *)buf + sent, n - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (r >= 0) {
			sent += (size_t)r;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return errno == EPIPE ? -ECONNRESET : -errno;
		ret = wait_for(h->fd, POLLOUT, h->deadline);
		if (ret)
			return ret;
	}
	return 0;
}

/* NBDMAGIC, IHAVEOPT and the handshake flags. */
static int read_greeting(struct handshake *h, uint16_t *hflags)
{
	uint8_t b[18];
	int ret;

	ret = recv_all(h, b, sizeof(b));
	if (ret)
		return io_fail(h, ret, "before its greeting");
	if (get64(b) != NBD_MAGIC)
		return fail(h->err, h->errlen, -EPROTO, "not an NBD server (bad magic "
			    "0x%016llx)", (unsigned long long)get64(b));
	if (get64(b + 8) == NBD_OLDSTYLE_MAGIC)
		return fail(h->err, h->errlen, -EPROTONOSUPPORT, "the server speaks the "
			    "oldstyle protocol, which is not supported");
	if (get64(b + 8) != NBD_IHAVEOPT)
		return fail(h->err, h->errlen, -EPROTO, "bad magic 0x%016llx after "
			    "NBDMAGIC", (unsigned long long)get64(b + 8));
	*hflags = get16(b + 16);
	if (!(*hflags & NBD_FLAG_FIXED_NEWSTYLE))
		return fail(h->err, h->errlen, -EPROTONOSUPPORT, "the server does not "
			    "speak fixed newstyle negotiation");
	return 0;
}

static int send_client_flags(struct handshake *h, uint32_t cflags)
{
	uint8_t b[4];
	int ret;

	put32(b, cflags);
	ret = send_all(h, b, sizeof(b));
	return ret ? io_fail(h, ret, "sending the client flags") : 0;
}

/*
 * NBD_OPT_GO for h->name with one information request, NBD_INFO_BLOCK_SIZE:
 * asking for it promises to honour the block sizes the server gives.
 */
static int send_opt_go(struct handshake *h)
{
	uint8_t b[OPT_HDR_LEN + 4 + NBD_NAME_MAX + 4];
	size_t n = strlen(h->name), len = 4 + n + 2 + 2;
	int ret;

	put64(b, NBD_IHAVEOPT);
	put32(b + 8, NBD_OPT_GO);
	put32(b + 12, (uint32_t)len);
	put32(b + 16, (uint32_t)n);
	memcpy(b + 20, h->name, n);
	put16(b + 20 + n, 1);
	put16(b + 22 + n, NBD_INFO_BLOCK_SIZE);
	ret = send_all(h, b, OPT_HDR_LEN + len);
	return ret ? io_fail(h, ret, "sending NBD_OPT_GO") : 0;
}

/* The soft disconnect of option haggling; the reply is not waited for. */
static void send_opt_abort(struct handshake *h)
{
	uint8_t b[OPT_HDR_LEN];

	put64(b, NBD_IHAVEOPT);
	put32(b + 8, NBD_OPT_ABORT);
	put32(b + 12, 0);
	send(h->fd, b, sizeof(b), MSG_DONTWAIT | MSG_NOSIGNAL);
}

/* One option reply to opt: its type and its payload (*len bytes) in buf. */
static int read_reply(struct handshake *h, uint32_t opt, uint32_t *type, uint8_t *buf,
		      uint32_t *len)
{
	uint8_t b[REP_HDR_LEN];
	int ret;

	ret = recv_all(h, b, sizeof(b));
	if (ret)
		return io_fail(h, ret, "before its option reply");
	if (get64(b) != NBD_REP_MAGIC)
		return fail(h->err, h->errlen, -EPROTO, "bad option reply magic 0x%016llx",
			    (unsigned long long)get64(b));
	if (get32(b + 8) != opt)
		return fail(h->err, h->errlen, -EPROTO, "the server answered option %u "
			    "where option %u was sent", get32(b + 8), opt);
	*type = get32(b + 12);
	*len = get32(b + 16);
	if (*len > REPLY_MAX)
		return fail(h->err, h->errlen, -EPROTO, "the server sent a %u-byte reply "
			    "(at most %d expected)", *len, REPLY_MAX);
	ret = recv_all(h, buf, *len);
	return ret ? io_fail(h, ret, "inside an option reply") : 0;
}

/* NBD_INFO_EXPORT or NBD_INFO_BLOCK_SIZE into ex; other types are ignored. */
static int take_info(struct handshake *h, const uint8_t *p, uint32_t len,
		     struct nbd_export *ex, bool *have_export)
{
	uint16_t info;

	if (len < 2)
		return fail(h->err, h->errlen, -EPROTO, "NBD_REP_INFO of %u bytes", len);
	info = get16(p);
	if (info == NBD_INFO_EXPORT) {
		if (len != 12)
			return fail(h->err, h->errlen, -EPROTO, "NBD_INFO_EXPORT of %u "
				    "bytes (12 expected)", len);
		ex->size = get64(p + 2);
		ex->flags = get16(p + 10);
		*have_export = true;
	} else if (info == NBD_INFO_BLOCK_SIZE) {
		if (len != 14)
			return fail(h->err, h->errlen, -EPROTO, "NBD_INFO_BLOCK_SIZE of %u "
				    "bytes (14 expected)", len);
		ex->min_block = get32(p + 2);
		ex->pref_block = get32(p + 6);
		ex->max_block = get32(p + 10);
		ex->block_sizes_sent = true;
	}
	return 0;
}

static bool power_of_2(uint32_t v)
{
	return v && !(v & (v - 1));
}

/* The rules of the spec's "Block size constraints" that a server must keep. */
static int check_block_sizes(struct handshake *h, const struct nbd_export *ex)
{
	uint32_t min = ex->min_block, pref = ex->pref_block, max = ex->max_block;

	if (!power_of_2(min) || min > 65536)
		return fail(h->err, h->errlen, -EPROTO, "minimum block size %u: not a "
			    "power of 2 up to 64 KiB", min);
	if (!power_of_2(pref) || pref < min || pref < 512)
		return fail(h->err, h->errlen, -EPROTO, "preferred block size %u: not a "
			    "power of 2 of at least 512 and %u", pref, min);
	if (max != UINT32_MAX && (max < min || max % min ||
				  (max < pref && max < ex->size)))
		return fail(h->err, h->errlen, -EPROTO, "maximum block size %u: not a "
			    "multiple of %u of at least %u", max, min,
			    (uint64_t)pref < ex->size ? pref : (uint32_t)ex->size);
	return 0;
}

/* What the export says of itself, checked once the server has accepted it. */
static int check_export(struct handshake *h, const struct nbd_export *ex)
{
	/* DF, FAST_ZERO and the others without their partner are never used: not checked */
	if (!(ex->flags & NBD_FLAG_HAS_FLAGS))
		return fail(h->err, h->errlen, -EPROTO, "transmission flags 0x%04x lack "
			    "NBD_FLAG_HAS_FLAGS", ex->flags);
	return check_block_sizes(h, ex);
}

/* An error reply to NBD_OPT_GO as a message; the server's text, if any, after it. */
static int go_error(struct handshake *h, uint32_t type, const uint8_t *msg, uint32_t len)
{
	char name[SHOWN_LEN + 4], text[SHOWN_LEN + 8] = "", show[SHOWN_LEN + 4];
	const char *what;
	int ret = -EPROTO;

	shown(h->name, strlen(h->name), name);
	if (len)
		snprintf(text, sizeof(text), ": %s", shown((const char *)msg, len, show));
	switch (type) {
	case NBD_REP_ERR_UNKNOWN:
		return fail(h->err, h->errlen, -ENOENT, "export '%s' not found on the "
			    "server%s", name, text);
	case NBD_REP_ERR_TLS_REQD:
		return fail(h->err, h->errlen, -EPROTONOSUPPORT, "the server requires "
			    "TLS, which is not supported%s", text);
	case NBD_REP_ERR_POLICY:
		return fail(h->err, h->errlen, -EACCES, "the server refused export "
			    "'%s'%s", name, text);
	case NBD_REP_ERR_SHUTDOWN:
		return fail(h->err, h->errlen, -ESHUTDOWN, "the server is shutting "
			    "down%s", text);
	case NBD_REP_ERR_INVALID:
		what = "calls the request invalid";
		break;
	case NBD_REP_ERR_PLATFORM:
		what = "cannot serve it on its platform";
		break;
	case NBD_REP_ERR_BLOCK_SIZE_REQD:
		what = "wants block sizes negotiated (they were asked for)";
		break;
	case NBD_REP_ERR_TOO_BIG:
		what = "finds the request too big";
		break;
	default:
		if (!(type & NBD_REP_FLAG_ERROR))
			return fail(h->err, h->errlen, ret, "unexpected reply type %u to "
				    "NBD_OPT_GO", type);
		return fail(h->err, h->errlen, ret, "the server refused export '%s' "
			    "(error 0x%08x)%s", name, type, text);
	}
	return fail(h->err, h->errlen, ret, "the server %s (export '%s')%s", what, name, text);
}

/*
 * NBD_OPT_GO's replies until the final one. 0: transmission phase, 1:
 * the server does not know NBD_OPT_GO, or -errno.
 */
static int opt_go(struct handshake *h, struct nbd_export *ex)
{
	uint8_t buf[REPLY_MAX];
	bool have_export = false;
	uint32_t type = 0, len = 0;
	int i, ret;

	ret = send_opt_go(h);
	for (i = 0; !ret && i < REPLIES_MAX; i++) {
		ret = read_reply(h, NBD_OPT_GO, &type, buf, &len);
		if (ret)
			return ret;
		if (type == NBD_REP_INFO) {
			ret = take_info(h, buf, len, ex, &have_export);
			continue;
		}
		if (type == NBD_REP_ERR_UNSUP)
			return 1;
		if (type != NBD_REP_ACK) {
			ret = go_error(h, type, buf, len);
			if (type & NBD_REP_FLAG_ERROR)
				send_opt_abort(h);
			return ret;
		}
		if (len)
			return fail(h->err, h->errlen, -EPROTO, "NBD_REP_ACK with %u bytes",
				    len);
		if (!have_export)
			return fail(h->err, h->errlen, -EPROTO, "the server accepted the "
				    "export without NBD_INFO_EXPORT");
		ex->go = true;
		return check_export(h, ex);
	}
	if (!ret)
		ret = fail(h->err, h->errlen, -EPROTO, "more than %d replies to NBD_OPT_GO",
			   REPLIES_MAX);
	return ret;
}

/*
 * The old way into the transmission phase. The server cannot refuse it
 * with a reason: it hangs up instead.
 */
static int opt_export_name(struct handshake *h, bool no_zeroes, struct nbd_export *ex)
{
	uint8_t b[OPT_HDR_LEN + NBD_NAME_MAX], zeroes[ZEROES_LEN];
	size_t n = strlen(h->name);
	char name[SHOWN_LEN + 4];
	int ret;

	put64(b, NBD_IHAVEOPT);
	put32(b + 8, NBD_OPT_EXPORT_NAME);
	put32(b + 12, (uint32_t)n);
	memcpy(b + OPT_HDR_LEN, h->name, n);
	ret = send_all(h, b, OPT_HDR_LEN + n);
	if (ret)
		return io_fail(h, ret, "sending NBD_OPT_EXPORT_NAME");
	ret = recv_all(h, b, 10);
	if (ret == -ECONNRESET)
		return fail(h->err, h->errlen, ret, "the server closed the connection: "
			    "no export '%s', or it was refused (an old server does not "
			    "say which)", shown(h->name, n, name));
	if (!ret && !no_zeroes)
		ret = recv_all(h, zeroes, sizeof(zeroes));
	if (ret)
		return io_fail(h, ret, "during NBD_OPT_EXPORT_NAME's reply");
	ex->size = get64(b);
	ex->flags = get16(b + 8);
	return check_export(h, ex);
}

/* The protocol's block sizes, for a server that sends none. */
static void export_defaults(struct nbd_export *ex)
{
	memset(ex, 0, sizeof(*ex));
	ex->min_block = 1;
	ex->pref_block = 4096;
	ex->max_block = UINT32_MAX;
}

int nbd_handshake(int fd, const char *export_name, unsigned int timeout_ms,
		  struct nbd_export *ex, char *err, size_t errlen)
{
	struct handshake h = {
		.fd = fd,
		.deadline = deadline_after(timeout_ms),
		.timeout_ms = timeout_ms,
		.name = export_name,
		.err = err,
		.errlen = errlen,
	};
	uint16_t hflags = 0;
	uint32_t cflags = NBD_FLAG_C_FIXED_NEWSTYLE;
	int ret;

	export_defaults(ex);
	if (strlen(export_name) > NBD_NAME_MAX)
		return fail(err, errlen, -EINVAL, "export name longer than %d bytes",
			    NBD_NAME_MAX);
	ret = read_greeting(&h, &hflags);
	if (ret)
		return ret;
	if (hflags & NBD_FLAG_NO_ZEROES)
		cflags |= NBD_FLAG_C_NO_ZEROES;
	ret = send_client_flags(&h, cflags);
	if (ret)
		return ret;
	ret = opt_go(&h, ex);
	if (ret <= 0)
		return ret;
	/* what NBD_REP_INFO said before the refusal does not hold */
	export_defaults(ex);
	return opt_export_name(&h, cflags & NBD_FLAG_C_NO_ZEROES, ex);
}

/* ---- the transmission phase ---- */
int nbd_request_encode(void *buf, unsigned int type, unsigned int flags,
		       uint64_t cookie, uint64_t offset, uint32_t length)
{
	unsigned int allowed = 0;
	uint8_t *b = buf;

	switch (type) {
	case NBD_CMD_READ:
		break;
	case NBD_CMD_WRITE:
	case NBD_CMD_TRIM:
		allowed = NBD_CMD_FLAG_FUA;
		break;
	case NBD_CMD_WRITE_ZEROES:
		allowed = NBD_CMD_FLAG_FUA | NBD_CMD_FLAG_NO_HOLE;
		break;
	case NBD_CMD_FLUSH:
	case NBD_CMD_DISC:
		/* their offset and length are reserved: zero */
		if (offset || length)
			return -EINVAL;
		break;
	default:
		return -EINVAL;
	}
	if (flags & ~allowed)
		return -EINVAL;
	put32(b, NBD_REQUEST_MAGIC);
	put16(b + 4, (uint16_t)flags);
	put16(b + 6, (uint16_t)type);
	put64(b + 8, cookie);
	put64(b + 16, offset);
	put32(b + 24, length);
	return NBD_REQUEST_SIZE;
}

int nbd_errno(uint32_t nbd_error)
{
	/* the protocol fixed these values to Linux's */
	switch (nbd_error) {
	case 0:
		return 0;
	case EPERM:
	case EIO:
	case ENOMEM:
	case EINVAL:
	case ENOSPC:
	case EOVERFLOW:
	case EOPNOTSUPP:
	case ESHUTDOWN:
		return -(int)nbd_error;
	default:
		return -EINVAL;	/* what the spec says an unknown value means */
	}
}

int nbd_reply_decode(const void *buf, struct nbd_reply *r)
{
	const uint8_t *b = buf;

	if (get32(b) != NBD_SIMPLE_REPLY_MAGIC)
		return -EPROTO;
	r->error = nbd_errno(get32(b + 4));
	r->cookie = get64(b + 8);
	return 0;
}

void nbd_close(int fd, unsigned int timeout_ms)
{
	uint8_t b[NBD_REQUEST_SIZE];

	nbd_request_encode(b, NBD_CMD_DISC, 0, 0, 0, 0);
	if (!wait_for(fd, POLLOUT, deadline_after(timeout_ms)))
		send(fd, b, sizeof(b), MSG_DONTWAIT | MSG_NOSIGNAL);
	close(fd);
}
