// SPDX-License-Identifier: MIT
/*
 * ublk-nbd-fault: a small NBD server that misbehaves on purpose, for the
 * nbd target's tests. Written from the NBD protocol document
 * (NetworkBlockDevice/nbd, doc/proto.md): the fixed newstyle handshake
 * (NBD_OPT_EXPORT_NAME, NBD_OPT_INFO, NBD_OPT_GO, NBD_OPT_ABORT) and the
 * transmission phase with simple replies only.
 *
 *   ublk-nbd-fault (--listen 127.0.0.1:PORT | --listen [::1]:PORT | --unix PATH)
 *	[--file PATH] [--size BYTES[K|M|G]] [--export NAME]
 *	[--flags F,F...] [--block-size MIN:PREF:MAX] [--no-go]
 *	[--drop-after N] [--delay-ms N] [--stall-after N] [--bad-magic-after N]
 *	[--unknown-handle-after N] [--short-read-after N] [--long-read-after N]
 *	[--close-in-handshake] [--endless-handshake] [--huge-option-reply] [--shutdown-after N]
 *	[--fault-conns FIRST[-LAST]] [--wrong-size-on-reconnect]
 *	[--max-conns N] [--log FILE] [--ready FILE] [--exit-after-secs N]
 *   ublk-nbd-fault --probe ADDR [--export NAME] [--rw]
 *	ADDR is 127.0.0.1:PORT, [::1]:PORT or unix:PATH: handshake (NBD_OPT_GO,
 *	falling back to NBD_OPT_EXPORT_NAME), print what the server offers,
 *	with --rw write, read back and flush 4 KiB at offset 0; exit 0 if all
 *	went well
 *   ublk-nbd-fault --self-test
 *	runs servers in every mode on a unix socket and on 127.0.0.1 and
 *	checks each with the probe client; ends with "N passed, N failed"
 *
 * Only loopback: --listen takes 127.0.0.1 or ::1 and nothing else. The
 * server runs in the foreground, one process per connection (each dies
 * with the listener), and lives at most --exit-after-secs (default 600).
 * Data: --file (created when missing, sized to --size; kept across
 * restarts), or memory shared by the connections of one run.
 *
 * Flags (--flags): READ_ONLY, SEND_FLUSH, SEND_FUA, SEND_TRIM,
 * SEND_WRITE_ZEROES, CAN_MULTI_CONN; default SEND_FLUSH,SEND_FUA,SEND_TRIM,
 * SEND_WRITE_ZEROES. "none" advertises none. NBD_FLAG_HAS_FLAGS is always set.
 *
 * Faults hit the connections numbered FIRST..LAST (--fault-conns, counted
 * from 1, default 1: only the first connection; "2-" means the second and
 * every later one); other connections are served correctly, so that a
 * client that reconnects gets a working server:
 *   --drop-after N	  answer N requests, close on the next one
 *   --stall-after N	  answer N requests, then never again (the socket
 *			  stays open until the client closes it)
 *   --bad-magic-after N  the reply after N good ones has a bad magic
 *   --unknown-handle-after N  ... answers a handle that was never sent
 *   --short-read-after N the first READ after N requests gets half its data,
 *			  then the connection closes
 *   --shutdown-after N   the request after N good ones is answered with
 *			  NBD_ESHUTDOWN (as nbdkit answers what it holds when it
 *			  is told to quit)
 *   --long-read-after N  the first READ after N requests gets its data and
 *			  4 KiB of zeroes more
 *   --close-in-handshake close right after the greeting
 *   --endless-handshake  NBD_OPT_GO and NBD_OPT_INFO get NBD_REP_INFO of an
 *			  unknown type every 100 ms and never an ACK
 *   --huge-option-reply  NBD_OPT_GO and NBD_OPT_INFO get a reply that says
 *			  it is 4 GiB - 16 bytes long
 *   --delay-ms N	  every reply waits N ms (all connections)
 *   --wrong-size-on-reconnect  connections after the first offer half the size
 * After a bad magic, an unknown handle, a long read or a huge option reply
 * the server reads and drops what the client sends until it closes.
 *
 * --log FILE: one line per event, appended: "CONN n", "OPT name conn",
 * "TYPE OFFSET LENGTH conn" per request (TYPE: READ WRITE DISC FLUSH TRIM
 * WRITE_ZEROES or CMDn; FUA appended when set), "FAULT what conn",
 * "CLOSE reason conn". --ready FILE: written (our pid) once listening.
 * Exit status: 0, 1 on errors, 2 on bad usage (any address other than
 * loopback is bad usage).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* from doc/proto.md */
#define NBDMAGIC		0x4e42444d41474943ULL
#define IHAVEOPT		0x49484156454F5054ULL
#define OPT_REPLY_MAGIC		0x0003e889045565a9ULL
#define REQUEST_MAGIC		0x25609513U
#define SIMPLE_REPLY_MAGIC	0x67446698U

#define FLAG_FIXED_NEWSTYLE	(1 << 0)
#define FLAG_NO_ZEROES		(1 << 1)

#define OPT_EXPORT_NAME		1
#define OPT_ABORT		2
#define OPT_INFO		6
#define OPT_GO			7

#define REP_ACK			1
#define REP_INFO		3
#define REP_ERR_UNSUP		(0x80000000U | 1)
#define REP_ERR_INVALID		(0x80000000U | 3)
#define REP_ERR_UNKNOWN		(0x80000000U | 6)

#define INFO_EXPORT		0
#define INFO_BLOCK_SIZE		3

#define TF_HAS_FLAGS		(1 << 0)
#define TF_READ_ONLY		(1 << 1)
#define TF_SEND_FLUSH		(1 << 2)
#define TF_SEND_FUA		(1 << 3)
#define TF_SEND_TRIM		(1 << 5)
#define TF_SEND_WRITE_ZEROES	(1 << 6)
#define TF_CAN_MULTI_CONN	(1 << 8)

#define CMD_FLAG_FUA		(1 << 0)

#define CMD_READ		0
#define CMD_WRITE		1
#define CMD_DISC		2
#define CMD_FLUSH		3
#define CMD_TRIM		4
#define CMD_WRITE_ZEROES	6

#define E_PERM			1
#define E_IO			5
#define E_INVAL			22
#define E_NOSPC			28
#define E_SHUTDOWN		108

#define MAX_REQUEST		(32U << 20)	/* the protocol's usual maximum */
#define MAX_OPTION_DATA		(64U << 10)
#define MAX_OPTIONS		64
#define IO_TIMEOUT_S		30		/* one read or write of ours */

static const struct { const char *name; unsigned int bit; } flag_names[] = {
	{ "READ_ONLY", TF_READ_ONLY }, { "SEND_FLUSH", TF_SEND_FLUSH },
	{ "SEND_FUA", TF_SEND_FUA }, { "SEND_TRIM", TF_SEND_TRIM },
	{ "SEND_WRITE_ZEROES", TF_SEND_WRITE_ZEROES },
	{ "CAN_MULTI_CONN", TF_CAN_MULTI_CONN },
};

static struct {
	const char *listen, *unix_path, *file, *export, *log, *ready;
	uint64_t size;
	int size_set;
	unsigned int tflags;
	uint32_t bmin, bpref, bmax;
	int no_go, close_in_handshake, endless_handshake, huge_option_reply, wrong_size;
	long drop_after, stall_after, bad_magic_after, unknown_handle_after, short_read_after;
	long long_read_after, shutdown_after;
	long delay_ms, max_conns, exit_after;
	long fault_first, fault_last;		/* fault_last < 0: no end */
} o = {
	.tflags = TF_SEND_FLUSH | TF_SEND_FUA | TF_SEND_TRIM | TF_SEND_WRITE_ZEROES,
	.drop_after = -1, .stall_after = -1, .bad_magic_after = -1,
	.unknown_handle_after = -1, .short_read_after = -1, .long_read_after = -1,
	.shutdown_after = -1,
	.max_conns = 0, .exit_after = 600, .fault_first = 1, .fault_last = 1,
	.size = 64 << 20,
};

static int data_fd = -1, log_fd = -1;
static char *unix_to_remove;

static void die(int code, const char *fmt, ...)
{
	va_list ap;

	fputs("ublk-nbd-fault: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

static void logf_(const char *fmt, ...)
{
	char line[256];
	va_list ap;
	int n;

	if (log_fd < 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	if (write(log_fd, line, n) < 0) {
		/* nothing to do: the log is for the tests only */
	}
}

/* ---- byte order and whole reads and writes ---- */

static void put16(unsigned char *p, uint16_t v) { p[0] = v >> 8; p[1] = v; }
static void put32(unsigned char *p, uint32_t v) { put16(p, v >> 16); put16(p + 2, v); }
static void put64(unsigned char *p, uint64_t v) { put32(p, v >> 32); put32(p + 4, v); }
static uint16_t get16(const unsigned char *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t get32(const unsigned char *p) { return (uint32_t)get16(p) << 16 | get16(p + 2); }
static uint64_t get64(const unsigned char *p) { return (uint64_t)get32(p) << 32 | get32(p + 4); }

/* 0 when all of it came, -1 on end of file, error or IO_TIMEOUT_S */
static int read_all(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

static void set_timeouts(int fd, int secs)
{
	struct timeval tv = { .tv_sec = secs };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* read and drop what the peer sends until it closes (or 10 minutes pass) */
static void drain(int fd, long conn, const char *why)
{
	char buf[4096];
	time_t end = time(NULL) + 600;

	logf_("FAULT %s %ld", why, conn);
	while (time(NULL) < end) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 1000) <= 0)
			continue;
		n = read(fd, buf, sizeof(buf));
		if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
			break;
	}
	logf_("CLOSE peer %ld", conn);
}

/* ---- addresses ---- */

/* 127.0.0.1:PORT or [::1]:PORT; anything else is refused */
static int parse_loopback(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	const char *colon = strrchr(s, ':');
	char host[64];
	long port;
	char *end;

	if (!colon || (size_t)(colon - s) >= sizeof(host))
		return -1;
	memcpy(host, s, colon - s);
	host[colon - s] = 0;
	port = strtol(colon + 1, &end, 10);
	if (*end || colon[1] == 0 || port < 1 || port > 65535)
		return -1;
	memset(ss, 0, sizeof(*ss));
	if (strcmp(host, "127.0.0.1") == 0) {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;

		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		*len = sizeof(*in);
		return 0;
	}
	if (strcmp(host, "[::1]") == 0) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		in6->sin6_addr = in6addr_loopback;
		*len = sizeof(*in6);
		return 0;
	}
	return -1;
}

static int unix_addr(const char *path, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_un *un = (struct sockaddr_un *)ss;

	memset(ss, 0, sizeof(*ss));
	if (!*path || strlen(path) >= sizeof(un->sun_path))
		return -1;
	un->sun_family = AF_UNIX;
	strcpy(un->sun_path, path);
	*len = sizeof(*un);
	return 0;
}

/* ---- the server ---- */

static int fault_here(long conn)
{
	return conn >= o.fault_first && (o.fault_last < 0 || conn <= o.fault_last);
}

static int opt_reply_header(int fd, uint32_t opt, uint32_t type, uint32_t len)
{
	unsigned char h[20];

	put64(h, OPT_REPLY_MAGIC);
	put32(h + 8, opt);
	put32(h + 12, type);
	put32(h + 16, len);
	return write_all(fd, h, sizeof(h));
}

static int opt_reply(int fd, uint32_t opt, uint32_t type, const void *data, uint32_t len)
{
	if (opt_reply_header(fd, opt, type, len))
		return -1;
	return len ? write_all(fd, data, len) : 0;
}

/* the handshake faults of NBD_OPT_GO/INFO: -1 (close) when one hit */
static int option_fault(int fd, uint32_t opt, long conn)
{
	static const struct timespec tick = { 0, 100 * 1000000L };
	unsigned char info[2];

	if (!fault_here(conn))
		return 0;
	if (o.endless_handshake) {
		logf_("FAULT endless-handshake %ld", conn);
		/* a type no one defines: clients must ignore it and read on */
		put16(info, 0x7fff);
		while (!opt_reply(fd, opt, REP_INFO, info, sizeof(info)))
			nanosleep(&tick, NULL);
		return -1;
	}
	if (o.huge_option_reply) {
		opt_reply_header(fd, opt, REP_INFO, 0xfffffff0U);
		drain(fd, conn, "huge-option-reply");
		return -1;
	}
	return 0;
}

static int name_ok(const char *name)
{
	return !o.export || strcmp(name, o.export) == 0;
}

static const char *opt_name(uint32_t opt)
{
	static char buf[24];

	switch (opt) {
	case OPT_EXPORT_NAME: return "EXPORT_NAME";
	case OPT_ABORT: return "ABORT";
	case OPT_INFO: return "INFO";
	case OPT_GO: return "GO";
	}
	snprintf(buf, sizeof(buf), "OPT%u", opt);
	return buf;
}

/* NBD_OPT_INFO or NBD_OPT_GO: 1 to go on to transmission, 0 to stay, -1 to close */
static int info_or_go(int fd, long conn, uint32_t opt, const unsigned char *d, uint32_t len,
		      uint64_t size, uint16_t tflags)
{
	unsigned char info[18];
	uint32_t nlen;
	uint16_t nreq;
	char name[4097];

	if (o.no_go)
		return opt_reply(fd, opt, REP_ERR_UNSUP, "NBD_OPT_GO disabled (--no-go)", 29) ? -1 : 0;
	if (len < 6 || (nlen = get32(d)) > len - 6 || nlen > 4096 ||
	    (nreq = get16(d + 4 + nlen), len != 6 + nlen + 2U * nreq))
		return opt_reply(fd, opt, REP_ERR_INVALID, NULL, 0) ? -1 : 0;
	memcpy(name, d + 4, nlen);
	name[nlen] = 0;
	if (memchr(name, 0, nlen))
		return opt_reply(fd, opt, REP_ERR_INVALID, NULL, 0) ? -1 : 0;
	if (!name_ok(name)) {
		static const char msg[] = "no such export";

		return opt_reply(fd, opt, REP_ERR_UNKNOWN, msg, sizeof(msg) - 1) ? -1 : 0;
	}
	if (option_fault(fd, opt, conn))
		return -1;
	put16(info, INFO_EXPORT);
	put64(info + 2, size);
	put16(info + 10, tflags);
	if (opt_reply(fd, opt, REP_INFO, info, 12))
		return -1;
	if (o.bmin) {
		put16(info, INFO_BLOCK_SIZE);
		put32(info + 2, o.bmin);
		put32(info + 6, o.bpref);
		put32(info + 10, o.bmax);
		if (opt_reply(fd, opt, REP_INFO, info, 14))
			return -1;
	}
	if (opt_reply(fd, opt, REP_ACK, NULL, 0))
		return -1;
	return opt == OPT_GO;
}

/* the handshake: 0 when transmission starts, -1 to close */
static int handshake(int fd, long conn, uint64_t size, uint16_t tflags)
{
	unsigned char g[18], cf[4], h[16], *d = NULL, ex[10 + 124];
	int no_zeroes, n, r;

	put64(g, NBDMAGIC);
	put64(g + 8, IHAVEOPT);
	put16(g + 16, FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES);
	if (write_all(fd, g, sizeof(g)))
		return -1;
	if (o.close_in_handshake && fault_here(conn)) {
		logf_("FAULT close-in-handshake %ld", conn);
		return -1;
	}
	if (read_all(fd, cf, 4) || (get32(cf) & ~3U) || !(get32(cf) & FLAG_FIXED_NEWSTYLE))
		return -1;
	no_zeroes = !!(get32(cf) & FLAG_NO_ZEROES);
	for (n = 0; n < MAX_OPTIONS; n++) {
		uint32_t opt, len;

		if (read_all(fd, h, 16) || get64(h) != IHAVEOPT)
			break;
		opt = get32(h + 8);
		len = get32(h + 12);
		if (len > MAX_OPTION_DATA)
			break;
		free(d);
		d = malloc(len + 1);
		if (!d || read_all(fd, d, len))
			break;
		d[len] = 0;
		logf_("OPT %s %ld", opt_name(opt), conn);
		switch (opt) {
		case OPT_EXPORT_NAME:
			if (memchr(d, 0, len) || !name_ok((char *)d))
				goto out;	/* the protocol's only answer: close */
			put64(ex, size);
			put16(ex + 8, tflags);
			memset(ex + 10, 0, 124);
			r = write_all(fd, ex, no_zeroes ? 10 : sizeof(ex));
			free(d);
			return r;
		case OPT_ABORT:
			opt_reply(fd, opt, REP_ACK, NULL, 0);
			goto out;
		case OPT_INFO:
		case OPT_GO:
			r = info_or_go(fd, conn, opt, d, len, size, tflags);
			if (r < 0)
				goto out;
			if (r > 0) {
				free(d);
				return 0;
			}
			break;
		default:
			if (opt_reply(fd, opt, REP_ERR_UNSUP, NULL, 0))
				goto out;
		}
	}
out:
	free(d);
	return -1;
}

static const char *cmd_name(unsigned int type)
{
	static char buf[16];
	static const char *const names[] = {
		[CMD_READ] = "READ", [CMD_WRITE] = "WRITE", [CMD_DISC] = "DISC",
		[CMD_FLUSH] = "FLUSH", [CMD_TRIM] = "TRIM", [CMD_WRITE_ZEROES] = "WRITE_ZEROES",
	};

	if (type < sizeof(names) / sizeof(names[0]) && names[type])
		return names[type];
	snprintf(buf, sizeof(buf), "CMD%u", type);
	return buf;
}

static int fault_after(long after, long conn, long n)
{
	return after >= 0 && fault_here(conn) && n > after;
}

static uint32_t do_zero(uint64_t off, uint32_t len)
{
	static const char zero[65536];

	while (len) {
		uint32_t chunk = len < sizeof(zero) ? len : sizeof(zero);

		if (pwrite(data_fd, zero, chunk, off) != (ssize_t)chunk)
			return E_IO;
		off += chunk;
		len -= chunk;
	}
	return 0;
}

/* the transmission phase of one connection */
static void transmission(int fd, long conn, uint64_t size, uint16_t tflags)
{
	unsigned char req[28], rep[16];
	char *buf = NULL;
	long n = 0;

	buf = malloc(MAX_REQUEST);
	if (!buf)
		return;
	for (;;) {
		uint16_t flags, type;
		uint64_t handle, off;
		uint32_t len, err = 0;
		int read_data = 0;

		if (read_all(fd, req, sizeof(req))) {
			logf_("CLOSE eof %ld", conn);
			break;
		}
		if (get32(req) != REQUEST_MAGIC) {
			logf_("CLOSE bad-request-magic %ld", conn);
			break;
		}
		flags = get16(req + 4);
		type = get16(req + 6);
		handle = get64(req + 8);
		off = get64(req + 16);
		len = get32(req + 24);
		n++;
		logf_("%s %llu %u %ld%s", cmd_name(type), (unsigned long long)off, len, conn,
		      flags & CMD_FLAG_FUA ? " FUA" : "");
		if (type == CMD_WRITE) {
			if (len > MAX_REQUEST) {
				logf_("CLOSE write-too-long %ld", conn);
				break;
			}
			if (read_all(fd, buf, len)) {
				logf_("CLOSE eof %ld", conn);
				break;
			}
		}
		if (type == CMD_DISC) {
			logf_("CLOSE disc %ld", conn);
			break;
		}
		if (fault_after(o.drop_after, conn, n)) {
			logf_("FAULT drop %ld", conn);
			break;
		}
		if (fault_after(o.stall_after, conn, n)) {
			drain(fd, conn, "stall");
			break;
		}
		/* the checks the protocol suggests, in its order of errors */
		switch (type) {
		case CMD_READ:
		case CMD_WRITE:
		case CMD_TRIM:
		case CMD_WRITE_ZEROES:
			if (type == CMD_TRIM && !(tflags & TF_SEND_TRIM))
				err = E_INVAL;
			else if (type == CMD_WRITE_ZEROES && !(tflags & TF_SEND_WRITE_ZEROES))
				err = E_INVAL;
			else if (type != CMD_READ && (tflags & TF_READ_ONLY))
				err = E_PERM;
			else if (len > MAX_REQUEST || (o.bmax && type <= CMD_WRITE && len > o.bmax))
				err = E_INVAL;
			else if (o.bmin && (off % o.bmin || len % o.bmin))
				err = E_INVAL;
			else if (off > size || len > size - off)
				err = type == CMD_READ ? E_INVAL : E_NOSPC;
			else if (type == CMD_READ) {
				if (pread(data_fd, buf, len, off) != (ssize_t)len)
					err = E_IO;
				read_data = !err;
			} else if (type == CMD_WRITE) {
				if (pwrite(data_fd, buf, len, off) != (ssize_t)len)
					err = E_IO;
			} else if (type == CMD_WRITE_ZEROES) {
				err = do_zero(off, len);
			} else if (len) {
				/* trim: the data may become anything; ours reads zeroes */
				if (fallocate(data_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len))
					err = do_zero(off, len);
			}
			if (!err && type != CMD_READ && (flags & CMD_FLAG_FUA) && fdatasync(data_fd))
				err = E_IO;
			break;
		case CMD_FLUSH:
			if (!(tflags & TF_SEND_FLUSH))
				err = E_INVAL;
			else if (fdatasync(data_fd))
				err = E_IO;
			break;
		default:
			err = E_INVAL;
		}
		if (o.delay_ms > 0) {
			struct timespec ts = { o.delay_ms / 1000, o.delay_ms % 1000 * 1000000L };

			while (nanosleep(&ts, &ts) && errno == EINTR)
				;
		}
		put32(rep, SIMPLE_REPLY_MAGIC);
		put32(rep + 4, err);
		put64(rep + 8, handle);
		if (fault_after(o.bad_magic_after, conn, n)) {
			put32(rep, SIMPLE_REPLY_MAGIC ^ 0x00ff00ff);
			write_all(fd, rep, sizeof(rep));
			drain(fd, conn, "bad-magic");
			break;
		}
		if (fault_after(o.shutdown_after, conn, n)) {
			put32(rep + 4, E_SHUTDOWN);
			write_all(fd, rep, sizeof(rep));
			drain(fd, conn, "shutdown");
			break;
		}
		if (fault_after(o.unknown_handle_after, conn, n)) {
			put64(rep + 8, ~handle ^ 0x5a5a5a5a00000000ULL);
			write_all(fd, rep, sizeof(rep));
			drain(fd, conn, "unknown-handle");
			break;
		}
		if (read_data && fault_after(o.short_read_after, conn, n)) {
			write_all(fd, rep, sizeof(rep));
			write_all(fd, buf, len / 2);
			logf_("FAULT short-read %ld", conn);
			break;
		}
		if (read_data && fault_after(o.long_read_after, conn, n)) {
			static const char surplus[4096];

			write_all(fd, rep, sizeof(rep));
			write_all(fd, buf, len);
			write_all(fd, surplus, sizeof(surplus));
			drain(fd, conn, "long-read");
			break;
		}
		if (write_all(fd, rep, sizeof(rep)) || (read_data && write_all(fd, buf, len))) {
			logf_("CLOSE send-failed %ld", conn);
			break;
		}
	}
	free(buf);
}

static void serve(int fd, long conn)
{
	uint64_t size = o.size;
	uint16_t tflags = TF_HAS_FLAGS | o.tflags;
	int one = 1;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() == 1)
		_exit(0);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	set_timeouts(fd, IO_TIMEOUT_S);
	if (o.wrong_size && conn > 1) {
		size = o.size / 2;
		logf_("FAULT wrong-size %llu %ld", (unsigned long long)size, conn);
	}
	if (handshake(fd, conn, size, tflags) == 0) {
		/* idle clients are fine: only our own sends time out */
		set_timeouts(fd, 0);
		{
			struct timeval tv = { .tv_sec = IO_TIMEOUT_S };

			setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		}
		transmission(fd, conn, size, tflags);
	} else {
		logf_("CLOSE handshake %ld", conn);
	}
	close(fd);
	_exit(0);
}

static void on_term(int sig)
{
	if (unix_to_remove)
		unlink(unix_to_remove);
	_exit(sig == SIGALRM ? 0 : 1);
}

static uint64_t parse_size(const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-')
		die(2, "bad size '%s'", s);
	switch (*end) {
	case 'K': case 'k': v <<= 10; end++; break;
	case 'M': case 'm': v <<= 20; end++; break;
	case 'G': case 'g': v <<= 30; end++; break;
	}
	if (*end || v == 0)
		die(2, "bad size '%s'", s);
	return v;
}

static long parse_num(const char *s, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0)
		die(2, "bad %s '%s'", what, s);
	return v;
}

static unsigned int parse_flags(const char *s)
{
	char copy[256], *tok, *save;
	unsigned int f = 0, i;

	if (strcmp(s, "none") == 0)
		return 0;
	snprintf(copy, sizeof(copy), "%s", s);
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < sizeof(flag_names) / sizeof(flag_names[0]); i++)
			if (strcmp(tok, flag_names[i].name) == 0)
				break;
		if (i == sizeof(flag_names) / sizeof(flag_names[0]))
			die(2, "unknown flag '%s'", tok);
		f |= flag_names[i].bit;
	}
	return f;
}

static int listen_socket(void)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1;

	if (o.unix_path) {
		if (unix_addr(o.unix_path, &ss, &len))
			die(2, "bad unix socket path '%s'", o.unix_path);
		unlink(o.unix_path);
	} else if (parse_loopback(o.listen, &ss, &len)) {
		die(2, "refusing to listen on '%s': only 127.0.0.1:PORT or [::1]:PORT", o.listen);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die(1, "socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 16))
		die(1, "cannot listen on %s: %s", o.unix_path ? o.unix_path : o.listen, strerror(errno));
	if (o.unix_path)
		unix_to_remove = (char *)o.unix_path;
	return fd;
}

static void open_data(void)
{
	struct stat st;

	if (!o.file) {
		data_fd = memfd_create("nbd-fault", 0);
		if (data_fd < 0 || ftruncate(data_fd, o.size))
			die(1, "memory for the export: %s", strerror(errno));
		return;
	}
	data_fd = open(o.file, O_RDWR | O_CREAT, 0644);
	if (data_fd < 0 || fstat(data_fd, &st))
		die(1, "%s: %s", o.file, strerror(errno));
	if (!o.size_set && st.st_size > 0)
		o.size = st.st_size;
	else if ((uint64_t)st.st_size < o.size && ftruncate(data_fd, o.size))
		die(1, "%s: %s", o.file, strerror(errno));
}

static int run_server(void)
{
	int lfd;
	long conns = 0, live = 0;
	struct sigaction sa = { .sa_handler = on_term };

	open_data();
	if (o.log) {
		log_fd = open(o.log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (log_fd < 0)
			die(1, "%s: %s", o.log, strerror(errno));
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (o.exit_after > 0)
		alarm(o.exit_after);
	lfd = listen_socket();
	if (o.ready) {
		FILE *f = fopen(o.ready, "w");

		if (!f || fprintf(f, "%d\n", getpid()) < 0 || fclose(f))
			die(1, "%s: %s", o.ready, strerror(errno));
	}
	for (;;) {
		struct pollfd p = { .fd = lfd, .events = POLLIN };
		int fd;
		pid_t pid;

		while (waitpid(-1, NULL, WNOHANG) > 0)
			live--;
		if (lfd < 0) {
			if (live <= 0)
				break;
			usleep(100000);
			continue;
		}
		if (poll(&p, 1, 200) <= 0)
			continue;
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		conns++;
		logf_("CONN %ld", conns);
		pid = fork();
		if (pid == 0) {
			close(lfd);
			serve(fd, conns);
		}
		close(fd);
		if (pid > 0)
			live++;
		if (o.max_conns && conns >= o.max_conns) {
			close(lfd);
			lfd = -1;
			if (unix_to_remove)
				unlink(unix_to_remove);
			unix_to_remove = NULL;
		}
	}
	return 0;
}

/* ---- the probe client (and the self-test's) ---- */

struct probe {
	uint64_t size;
	uint16_t tflags;
	uint32_t bmin, bpref, bmax;
	int used_go;
	uint32_t go_error;	/* an NBD_REP_ERR_* answer to GO */
};

static int client_connect(const char *addr)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd;

	if (strncmp(addr, "unix:", 5) == 0 ? unix_addr(addr + 5, &ss, &len)
					   : parse_loopback(addr, &ss, &len))
		die(2, "bad address '%s': 127.0.0.1:PORT, [::1]:PORT or unix:PATH", addr);
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	set_timeouts(fd, 5);
	if (connect(fd, (struct sockaddr *)&ss, len)) {
		close(fd);
		return -1;
	}
	return fd;
}

static int send_option(int fd, uint32_t opt, const void *data, uint32_t len)
{
	unsigned char h[16];

	put64(h, IHAVEOPT);
	put32(h + 8, opt);
	put32(h + 12, len);
	return write_all(fd, h, 16) || (len && write_all(fd, data, len)) ? -1 : 0;
}

/* 0 in transmission, -1 on a broken or refused handshake (errno-like
 * reasons are printed into why) */
static int client_handshake(int fd, const char *name, struct probe *p, char *why, size_t wlen)
{
	unsigned char g[18], b[20], d[4200], ex[10 + 124];
	uint32_t nlen = strlen(name), type, len;
	int i;

	memset(p, 0, sizeof(*p));
	if (read_all(fd, g, 18)) {
		snprintf(why, wlen, "closed during the greeting");
		return -1;
	}
	if (get64(g) != NBDMAGIC || get64(g + 8) != IHAVEOPT || !(get16(g + 16) & FLAG_FIXED_NEWSTYLE)) {
		snprintf(why, wlen, "not a fixed newstyle server");
		return -1;
	}
	put32(b, FLAG_FIXED_NEWSTYLE | (get16(g + 16) & FLAG_NO_ZEROES));
	if (write_all(fd, b, 4))
		return -1;
	put32(d, nlen);
	memcpy(d + 4, name, nlen);
	put16(d + 4 + nlen, 1);
	put16(d + 6 + nlen, INFO_BLOCK_SIZE);
	if (send_option(fd, OPT_GO, d, nlen + 8))
		return -1;
	for (i = 0; i < 16; i++) {
		if (i == 15) {
			snprintf(why, wlen, "more than 15 replies to NBD_OPT_GO");
			return -1;
		}
		if (read_all(fd, b, 20) || get64(b) != OPT_REPLY_MAGIC || get32(b + 8) != OPT_GO) {
			snprintf(why, wlen, "bad or missing option reply");
			return -1;
		}
		type = get32(b + 12);
		len = get32(b + 16);
		if (len > sizeof(d) || read_all(fd, d, len)) {
			snprintf(why, wlen, "bad option reply length");
			return -1;
		}
		if (type == REP_INFO && len >= 12 && get16(d) == INFO_EXPORT) {
			p->size = get64(d + 2);
			p->tflags = get16(d + 10);
		} else if (type == REP_INFO && len >= 14 && get16(d) == INFO_BLOCK_SIZE) {
			p->bmin = get32(d + 2);
			p->bpref = get32(d + 6);
			p->bmax = get32(d + 10);
		} else if (type == REP_ACK) {
			p->used_go = 1;
			return 0;
		} else if (type == REP_ERR_UNSUP) {
			break;
		} else if (type & 0x80000000U) {
			p->go_error = type;
			snprintf(why, wlen, "NBD_OPT_GO refused: error 0x%x '%.*s'", type, (int)len, d);
			return -1;
		}
	}
	/* the older way */
	memset(p, 0, sizeof(*p));
	if (send_option(fd, OPT_EXPORT_NAME, name, nlen))
		return -1;
	if (read_all(fd, ex, (get16(g + 16) & FLAG_NO_ZEROES) ? 10 : sizeof(ex))) {
		snprintf(why, wlen, "closed after NBD_OPT_EXPORT_NAME");
		return -1;
	}
	p->size = get64(ex);
	p->tflags = get16(ex + 8);
	return 0;
}

static uint64_t next_handle = 1;

/* one request; returns the reply's error, or -1 on a broken reply, -2 on
 * no reply (end of file or timeout); a READ's data goes into buf */
static long request(int fd, uint16_t type, uint16_t flags, uint64_t off, uint32_t len, void *buf)
{
	unsigned char r[28], rep[16];
	uint64_t handle = next_handle++;

	put32(r, REQUEST_MAGIC);
	put16(r + 4, flags);
	put16(r + 6, type);
	put64(r + 8, handle);
	put64(r + 16, off);
	put32(r + 24, len);
	if (write_all(fd, r, 28) || (type == CMD_WRITE && write_all(fd, buf, len)))
		return -2;
	if (type == CMD_DISC)
		return 0;
	if (read_all(fd, rep, 16))
		return -2;
	if (get32(rep) != SIMPLE_REPLY_MAGIC || get64(rep + 8) != handle)
		return -1;
	if (type == CMD_READ && get32(rep + 4) == 0 && read_all(fd, buf, len))
		return -3;	/* short data */
	return get32(rep + 4);
}

static int probe_main(const char *addr, const char *name, int rw)
{
	struct probe p;
	char why[256], a[4096], b[4096];
	int fd = client_connect(addr), i;
	long e;

	if (fd < 0)
		die(1, "cannot connect to %s: %s", addr, strerror(errno));
	if (client_handshake(fd, name, &p, why, sizeof(why)))
		die(1, "%s: handshake failed: %s", addr, why);
	printf("export '%s' size %llu flags 0x%x block %u:%u:%u via %s\n", name,
	       (unsigned long long)p.size, p.tflags, p.bmin, p.bpref, p.bmax,
	       p.used_go ? "NBD_OPT_GO" : "NBD_OPT_EXPORT_NAME");
	if (rw) {
		for (i = 0; i < (int)sizeof(a); i++)
			a[i] = (char)(i * 7 + getpid());
		if ((e = request(fd, CMD_WRITE, 0, 0, sizeof(a), a)) != 0)
			die(1, "write: %ld", e);
		if ((e = request(fd, CMD_READ, 0, 0, sizeof(b), b)) != 0)
			die(1, "read: %ld", e);
		if (memcmp(a, b, sizeof(a)))
			die(1, "read back other data than written");
		if ((p.tflags & TF_SEND_FLUSH) && (e = request(fd, CMD_FLUSH, 0, 0, 0, NULL)) != 0)
			die(1, "flush: %ld", e);
		printf("write, read back, flush: ok\n");
	}
	request(fd, CMD_DISC, 0, 0, 0, NULL);
	close(fd);
	return 0;
}

/* ---- self-test ---- */

static int passed, failed;
static char self_dir[64], self_exe[4096];

static void check(const char *what, long got, long want)
{
	if (got == want) {
		printf("ok %s\n", what);
		passed++;
	} else {
		printf("FAIL %s: got %ld, want %ld\n", what, got, want);
		failed++;
	}
	fflush(stdout);
}

/* start a server with ARGS (NULL-terminated) on the self-test's socket */
static pid_t start(const char *sock, ...)
{
	const char *argv[40];
	char ready[128];
	va_list ap;
	int n = 0, i;
	pid_t pid;

	snprintf(ready, sizeof(ready), "%s/ready", self_dir);
	unlink(ready);
	argv[n++] = self_exe;
	if (strncmp(sock, "unix:", 5) == 0) {
		argv[n++] = "--unix";
		argv[n++] = sock + 5;
	} else {
		argv[n++] = "--listen";
		argv[n++] = sock;
	}
	argv[n++] = "--ready";
	argv[n++] = ready;
	argv[n++] = "--exit-after-secs";
	argv[n++] = "60";
	va_start(ap, sock);
	while (n < 38 && (argv[n] = va_arg(ap, const char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;
	pid = fork();
	if (pid == 0) {
		execv(self_exe, (char **)argv);
		_exit(127);
	}
	for (i = 0; i < 100 && access(ready, F_OK); i++)
		usleep(50000);
	if (i == 100)
		printf("# server did not become ready\n");
	return pid;
}

static void stop(pid_t pid)
{
	int i;

	kill(pid, SIGTERM);
	for (i = 0; i < 50 && waitpid(pid, NULL, WNOHANG) == 0; i++)
		usleep(100000);
	if (i == 50) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
}

static int connect_go(const char *addr, const char *name, struct probe *p)
{
	char why[256];
	int fd = client_connect(addr);

	if (fd < 0)
		return -1;
	if (client_handshake(fd, name, p, why, sizeof(why))) {
		close(fd);
		return -1;
	}
	return fd;
}

static long count_lines(const char *path, const char *prefix)
{
	char line[256];
	long n = 0;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		n += strncmp(line, prefix, strlen(prefix)) == 0;
	fclose(f);
	return n;
}

static int run_status(const char *a1, const char *a2)
{
	int st;
	pid_t pid = fork();

	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 2);
		execl(self_exe, self_exe, a1, a2, "--exit-after-secs", "1", (char *)NULL);
		_exit(127);
	}
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int self_test(void)
{
	static char a[65536], b[65536], big[131072];
	char sock[128], file[128], logp[128], tcp[32];
	struct probe p;
	pid_t srv;
	int fd, fd2, i;
	long e;
	struct timespec t0, t1;

	if (readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1) < 0)
		die(1, "/proc/self/exe: %s", strerror(errno));
	snprintf(self_dir, sizeof(self_dir), "/tmp/nbd-fault.XXXXXX");
	if (!mkdtemp(self_dir))
		die(1, "mkdtemp: %s", strerror(errno));
	snprintf(sock, sizeof(sock), "unix:%s/sock", self_dir);
	snprintf(file, sizeof(file), "%s/data", self_dir);
	snprintf(logp, sizeof(logp), "%s/log", self_dir);
	snprintf(tcp, sizeof(tcp), "127.0.0.1:%d", 20000 + getpid() % 20000);
	for (i = 0; i < (int)sizeof(a); i++)
		a[i] = (char)(i * 13 + 5);

	/* a plain export: GO, block sizes, IO of every kind, the log */
	srv = start(sock, "--file", file, "--size", "1M", "--block-size", "512:4096:65536",
		    "--log", logp, "--export", "disk", (char *)NULL);
	fd = connect_go(sock, "disk", &p);
	check("GO handshake", fd >= 0, 1);
	check("GO size", p.size, 1 << 20);
	check("GO flags", p.tflags, TF_HAS_FLAGS | TF_SEND_FLUSH | TF_SEND_FUA | TF_SEND_TRIM | TF_SEND_WRITE_ZEROES);
	check("GO block size", p.bmin * 1000000L + p.bpref * 10 + (p.bmax == 65536), 512 * 1000000L + 40961);
	check("write", request(fd, CMD_WRITE, CMD_FLAG_FUA, 8192, sizeof(a), a), 0);
	check("read", request(fd, CMD_READ, 0, 8192, sizeof(b), b), 0);
	check("read back", memcmp(a, b, sizeof(a)), 0);
	check("flush", request(fd, CMD_FLUSH, 0, 0, 0, NULL), 0);
	check("write zeroes", request(fd, CMD_WRITE_ZEROES, 0, 8192, 4096, NULL), 0);
	check("trim", request(fd, CMD_TRIM, 0, 12288, 4096, NULL), 0);
	request(fd, CMD_READ, 0, 8192, 16384, b);
	memset(a, 0, 8192);
	check("zeroed and trimmed read zero", memcmp(a, b, 16384), 0);
	check("read past the end: EINVAL", request(fd, CMD_READ, 0, (1 << 20) - 512, 1024, b), E_INVAL);
	check("write past the end: ENOSPC", request(fd, CMD_WRITE, 0, 1 << 20, 512, b), E_NOSPC);
	check("misaligned: EINVAL", request(fd, CMD_READ, 0, 100, 512, b), E_INVAL);
	check("over the maximum: EINVAL", request(fd, CMD_READ, 0, 0, 131072, big), E_INVAL);
	check("unknown command: EINVAL", request(fd, 99, 0, 0, 0, NULL), E_INVAL);
	request(fd, CMD_DISC, 0, 0, 0, NULL);
	close(fd);
	check("unknown export refused", connect_go(sock, "other", &p) < 0 && p.go_error == REP_ERR_UNKNOWN, 1);
	stop(srv);
	check("log: one READ line per read", count_lines(logp, "READ "), 5);
	check("log: WRITE lines", count_lines(logp, "WRITE "), 2);
	check("log: connections", count_lines(logp, "CONN "), 2);

	/* the data is in the file: a new server on it has it */
	srv = start(tcp, "--file", file, "--no-go", "--flags", "READ_ONLY,SEND_FLUSH", (char *)NULL);
	fd = connect_go(tcp, "", &p);
	check("127.0.0.1: EXPORT_NAME fallback", fd >= 0 && !p.used_go, 1);
	check("size from the file", p.size, 1 << 20);
	check("read-only flags", p.tflags, TF_HAS_FLAGS | TF_READ_ONLY | TF_SEND_FLUSH);
	request(fd, CMD_READ, 0, 16384, 4096, b);
	for (i = 0; i < 4096; i++)
		a[i] = (char)((i + 8192) * 13 + 5);
	check("data survives a restart", memcmp(a, b, 4096), 0);
	check("write to a read-only export: EPERM", request(fd, CMD_WRITE, 0, 0, 512, b), E_PERM);
	check("trim not advertised: EINVAL", request(fd, CMD_TRIM, 0, 0, 512, NULL), E_INVAL);
	close(fd);
	stop(srv);

	/* faults */
	unlink(logp);
	srv = start(sock, "--drop-after", "2", "--log", logp, (char *)NULL);
	fd = connect_go(sock, "", &p);
	e = request(fd, CMD_READ, 0, 0, 512, b);
	e = e * 10 + request(fd, CMD_READ, 0, 0, 512, b);
	check("drop-after 2: two answers", e, 0);
	check("drop-after 2: the third closes", request(fd, CMD_READ, 0, 0, 512, b), -2);
	close(fd);
	fd = connect_go(sock, "", &p);
	for (i = 0, e = 0; i < 5; i++)
		e |= request(fd, CMD_READ, 0, 0, 512, b);
	check("drop-after: the next connection is served", e, 0);
	close(fd);
	stop(srv);
	check("log: drop", count_lines(logp, "FAULT drop"), 1);

	srv = start(sock, "--stall-after", "1", (char *)NULL);
	fd = connect_go(sock, "", &p);
	check("stall-after 1: one answer", request(fd, CMD_READ, 0, 0, 512, b), 0);
	set_timeouts(fd, 1);
	check("stall-after 1: then none", request(fd, CMD_READ, 0, 0, 512, b), -2);
	check("stall: the socket stays open", write_all(fd, "x", 1), 0);
	close(fd);
	stop(srv);

	srv = start(sock, "--bad-magic-after", "1", (char *)NULL);
	fd = connect_go(sock, "", &p);
	e = request(fd, CMD_READ, 0, 0, 512, b);
	check("bad-magic-after 1", e * 10 + request(fd, CMD_READ, 0, 0, 512, b), -1);
	close(fd);
	stop(srv);

	srv = start(sock, "--unknown-handle-after", "0", (char *)NULL);
	fd = connect_go(sock, "", &p);
	check("unknown-handle-after 0", request(fd, CMD_FLUSH, 0, 0, 0, NULL), -1);
	close(fd);
	stop(srv);

	srv = start(sock, "--short-read-after", "1", "--fault-conns", "1-2", (char *)NULL);
	fd = connect_go(sock, "", &p);
	e = request(fd, CMD_READ, 0, 0, 4096, b);
	check("short-read-after 1", e * 10 + request(fd, CMD_READ, 0, 0, 4096, b), -3);
	close(fd);
	fd = connect_go(sock, "", &p);
	e = request(fd, CMD_READ, 0, 0, 4096, b);
	check("fault-conns 1-2: the second connection too", e * 10 + request(fd, CMD_READ, 0, 0, 4096, b), -3);
	close(fd);
	fd = connect_go(sock, "", &p);
	e = request(fd, CMD_READ, 0, 0, 4096, b);
	check("fault-conns 1-2: not the third", e * 10 + request(fd, CMD_READ, 0, 0, 4096, b), 0);
	close(fd);
	stop(srv);

	srv = start(sock, "--long-read-after", "1", (char *)NULL);
	fd = connect_go(sock, "", &p);
	e = request(fd, CMD_READ, 0, 0, 4096, b) * 10;
	e += request(fd, CMD_READ, 0, 0, 4096, b);
	check("long-read-after 1", e * 10 + request(fd, CMD_READ, 0, 0, 4096, b), -1);
	close(fd);
	stop(srv);

	srv = start(sock, "--shutdown-after", "1", (char *)NULL);
	fd = connect_go(sock, "", &p);
	e = request(fd, CMD_READ, 0, 0, 512, b);
	check("shutdown-after 1", e * 1000 + request(fd, CMD_WRITE, 0, 0, 512, b), E_SHUTDOWN);
	close(fd);
	stop(srv);

	srv = start(sock, "--endless-handshake", "--log", logp, (char *)NULL);
	check("endless-handshake", connect_go(sock, "", &p), -1);
	check("log: endless-handshake", count_lines(logp, "FAULT endless-handshake"), 1);
	stop(srv);

	srv = start(sock, "--huge-option-reply", (char *)NULL);
	check("huge-option-reply", connect_go(sock, "", &p), -1);
	stop(srv);

	srv = start(sock, "--close-in-handshake", "--wrong-size-on-reconnect", "--size", "8M", (char *)NULL);
	check("close-in-handshake", connect_go(sock, "", &p), -1);
	fd = connect_go(sock, "", &p);
	check("wrong-size-on-reconnect: half the size", fd >= 0 ? (long)p.size : -1, 4 << 20);
	close(fd);
	stop(srv);

	srv = start(sock, "--delay-ms", "300", "--max-conns", "1", (char *)NULL);
	fd = connect_go(sock, "", &p);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	request(fd, CMD_READ, 0, 0, 512, b);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	e = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	check("delay-ms 300", e >= 290 && e < 3000, 1);
	fd2 = connect_go(sock, "", &p);
	check("max-conns 1: a second connection is refused", fd2, -1);
	close(fd);
	for (i = 0; i < 50 && waitpid(srv, NULL, WNOHANG) == 0; i++)
		usleep(100000);
	check("max-conns 1: the server ends with its connection", i < 50, 1);
	if (i == 50)
		stop(srv);

	srv = start(sock, (char *)NULL);
	fd = connect_go(sock, "", &p);
	check("default size", p.size, 64 << 20);
	check("no block size unless asked", p.bmin, 0);
	stop(srv);
	check("connections die with the server", request(fd, CMD_READ, 0, 0, 512, b) < 0, 1);
	close(fd);

	check("refuses 0.0.0.0", run_status("--listen", "0.0.0.0:10809"), 2);
	check("refuses a name", run_status("--listen", "localhost:10809"), 2);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	run_status("--unix", sock + 5);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	check("exit-after-secs 1", t1.tv_sec - t0.tv_sec <= 3, 1);

	unlink(file);
	unlink(logp);
	unlink(sock + 5);
	rmdir(self_dir);
	printf("nbd-fault self-test: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}

static void usage(void)
{
	fputs("usage: ublk-nbd-fault (--listen 127.0.0.1:PORT|[::1]:PORT | --unix PATH) [options]\n"
	      "       ublk-nbd-fault --probe ADDR [--export NAME] [--rw]\n"
	      "       ublk-nbd-fault --self-test\n"
	      "(options: see the comment at the top of tests/vm/progs/nbd_fault.c)\n", stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	enum { O_LISTEN = 256, O_UNIX, O_FILE, O_SIZE, O_EXPORT, O_FLAGS, O_BS, O_NOGO,
	       O_DROP, O_DELAY, O_STALL, O_MAGIC, O_HANDLE, O_SHORT, O_LONG, O_CLOSEHS,
	       O_ENDLESS, O_HUGE, O_SHUT, O_FCONNS,
	       O_WRONG, O_MAX, O_LOG, O_READY, O_EXIT, O_PROBE, O_RW, O_SELF };
	static const struct option longopts[] = {
		{ "listen", 1, 0, O_LISTEN }, { "unix", 1, 0, O_UNIX }, { "file", 1, 0, O_FILE },
		{ "size", 1, 0, O_SIZE }, { "export", 1, 0, O_EXPORT }, { "flags", 1, 0, O_FLAGS },
		{ "block-size", 1, 0, O_BS }, { "no-go", 0, 0, O_NOGO },
		{ "drop-after", 1, 0, O_DROP }, { "delay-ms", 1, 0, O_DELAY },
		{ "stall-after", 1, 0, O_STALL }, { "bad-magic-after", 1, 0, O_MAGIC },
		{ "unknown-handle-after", 1, 0, O_HANDLE }, { "short-read-after", 1, 0, O_SHORT },
		{ "long-read-after", 1, 0, O_LONG }, { "close-in-handshake", 0, 0, O_CLOSEHS },
		{ "endless-handshake", 0, 0, O_ENDLESS }, { "huge-option-reply", 0, 0, O_HUGE },
		{ "shutdown-after", 1, 0, O_SHUT }, { "fault-conns", 1, 0, O_FCONNS },
		{ "wrong-size-on-reconnect", 0, 0, O_WRONG }, { "max-conns", 1, 0, O_MAX },
		{ "log", 1, 0, O_LOG }, { "ready", 1, 0, O_READY },
		{ "exit-after-secs", 1, 0, O_EXIT }, { "probe", 1, 0, O_PROBE },
		{ "rw", 0, 0, O_RW }, { "self-test", 0, 0, O_SELF }, { "help", 0, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	const char *probe = NULL;
	int c, rw = 0;
	char *end;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case O_LISTEN: o.listen = optarg; break;
		case O_UNIX: o.unix_path = optarg; break;
		case O_FILE: o.file = optarg; break;
		case O_SIZE: o.size = parse_size(optarg); o.size_set = 1; break;
		case O_EXPORT: o.export = optarg; break;
		case O_FLAGS: o.tflags = parse_flags(optarg); break;
		case O_BS:
			if (sscanf(optarg, "%u:%u:%u", &o.bmin, &o.bpref, &o.bmax) != 3 ||
			    !o.bmin || o.bpref < o.bmin || o.bmax < o.bpref)
				die(2, "bad block size '%s': MIN:PREF:MAX", optarg);
			break;
		case O_NOGO: o.no_go = 1; break;
		case O_DROP: o.drop_after = parse_num(optarg, "count"); break;
		case O_DELAY: o.delay_ms = parse_num(optarg, "delay"); break;
		case O_STALL: o.stall_after = parse_num(optarg, "count"); break;
		case O_MAGIC: o.bad_magic_after = parse_num(optarg, "count"); break;
		case O_HANDLE: o.unknown_handle_after = parse_num(optarg, "count"); break;
		case O_SHORT: o.short_read_after = parse_num(optarg, "count"); break;
		case O_LONG: o.long_read_after = parse_num(optarg, "count"); break;
		case O_CLOSEHS: o.close_in_handshake = 1; break;
		case O_ENDLESS: o.endless_handshake = 1; break;
		case O_HUGE: o.huge_option_reply = 1; break;
		case O_SHUT: o.shutdown_after = parse_num(optarg, "count"); break;
		case O_FCONNS:
			o.fault_first = strtol(optarg, &end, 10);
			if (end == optarg || o.fault_first < 1)
				die(2, "bad --fault-conns '%s'", optarg);
			if (*end == 0)
				o.fault_last = o.fault_first;
			else if (strcmp(end, "-") == 0)
				o.fault_last = -1;
			else if (*end == '-')
				o.fault_last = parse_num(end + 1, "--fault-conns");
			else
				die(2, "bad --fault-conns '%s'", optarg);
			break;
		case O_WRONG: o.wrong_size = 1; break;
		case O_MAX: o.max_conns = parse_num(optarg, "count"); break;
		case O_LOG: o.log = optarg; break;
		case O_READY: o.ready = optarg; break;
		case O_EXIT: o.exit_after = parse_num(optarg, "seconds"); break;
		case O_PROBE: probe = optarg; break;
		case O_RW: rw = 1; break;
		case O_SELF: return self_test();
		default: usage();
		}
	}
	if (optind != argc)
		usage();
	if (probe)
		return probe_main(probe, o.export ? o.export : "", rw);
	if (!o.listen == !o.unix_path)
		usage();
	if (o.exit_after == 0 || o.exit_after > 3600)
		die(2, "--exit-after-secs must be 1..3600");
	return run_server();
}
