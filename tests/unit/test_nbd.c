// SPDX-License-Identifier: MIT
/*
 * Description: lib/nbd.c: URIs parse, refuse and format back; connecting
 * over a unix socket and TCP on 127.0.0.1; the handshake against fake
 * servers (a forked child on a socket pair, scripted byte by byte, that
 * also checks what the client sent: its exit status); the transmission
 * phase's headers.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "nbd.h"

#define TIMEOUT_MS	5000

/* ---- URIs ---- */
static void parse_ok(const char *text, struct nbd_uri *u)
{
	char err[NBD_ERR_LEN] = "";
	int ret = nbd_uri_parse(text, u, err, sizeof(err));

	if (ret)
		fail_msg("%s: %s", text, err);
}

/* err after a refused text; the test checks its words */
static const char *parse_refused(const char *text)
{
	static char err[NBD_ERR_LEN];
	struct nbd_uri u;

	err[0] = 0;
	if (nbd_uri_parse(text, &u, err, sizeof(err)) != -EINVAL)
		fail_msg("%s: accepted", text);
	assert_true(err[0]);
	return err;
}

static void uri__nbd_host_port_export(void **state)
{
	struct nbd_uri u;

	parse_ok("nbd://example.com:10810/disk", &u);
	assert_int_equal(u.transport, NBD_TRANSPORT_TCP);
	assert_string_equal(u.host, "example.com");
	assert_int_equal(u.port, 10810);
	assert_string_equal(u.export_name, "disk");
}

static void uri__no_port_no_export__defaults(void **state)
{
	struct nbd_uri u;

	parse_ok("nbd://127.0.0.1", &u);
	assert_string_equal(u.host, "127.0.0.1");
	assert_int_equal(u.port, NBD_DEFAULT_PORT);
	assert_string_equal(u.export_name, "");
	parse_ok("nbd://127.0.0.1:/", &u);
	assert_int_equal(u.port, NBD_DEFAULT_PORT);
	assert_string_equal(u.export_name, "");
}

/* doc/uri.md's table: the path less its first '/' is the export */
static void uri__export_name_from_path(void **state)
{
	struct nbd_uri u;

	parse_ok("nbd://example.com//disk", &u);
	assert_string_equal(u.export_name, "/disk");
	parse_ok("nbd://example.com/hello%20world", &u);
	assert_string_equal(u.export_name, "hello world");
	parse_ok("nbd://example.com/a%2fb%C3%A9", &u);
	assert_string_equal(u.export_name, "a/b\xc3\xa9");
}

static void uri__ipv6_in_brackets(void **state)
{
	struct nbd_uri u;

	parse_ok("nbd://[::1]:10900/x", &u);
	assert_string_equal(u.host, "::1");
	assert_int_equal(u.port, 10900);
	parse_ok("[FE80::1]", &u);
	assert_string_equal(u.host, "fe80::1");
	assert_int_equal(u.port, NBD_DEFAULT_PORT);
}

static void uri__plain_host_port(void **state)
{
	struct nbd_uri u;

	parse_ok("LocalHost:2000", &u);
	assert_int_equal(u.transport, NBD_TRANSPORT_TCP);
	assert_string_equal(u.host, "localhost");
	assert_int_equal(u.port, 2000);
	assert_string_equal(u.export_name, "");
	parse_ok("::1", &u);	/* a bare IPv6 address has no port */
	assert_string_equal(u.host, "::1");
	assert_int_equal(u.port, NBD_DEFAULT_PORT);
}

static void uri__unix_socket(void **state)
{
	struct nbd_uri u;

	parse_ok("NBD+UNIX:///disk?socket=/run/nbd%20x.sock", &u);
	assert_int_equal(u.transport, NBD_TRANSPORT_UNIX);
	assert_string_equal(u.export_name, "disk");
	assert_string_equal(u.socket, "/run/nbd x.sock");
	parse_ok("nbd+unix://?socket=nbd.sock", &u);
	assert_string_equal(u.export_name, "");
	assert_string_equal(u.socket, "nbd.sock");
}

static void uri__tls__refused_naming_tls(void **state)
{
	assert_non_null(strstr(parse_refused("nbds://example.com/disk"), "TLS is not supported"));
	assert_non_null(strstr(parse_refused("nbds+unix:///?socket=s"), "TLS is not supported"));
	assert_non_null(strstr(parse_refused("nbd://h/?tls-type=x509"), "TLS is not supported"));
	assert_non_null(strstr(parse_refused("nbd://user@h/"), "TLS"));
}

static void uri__bad__refused(void **state)
{
	static const char *const bad[] = {
		"", "nbd://", "nbd:///disk", "http://h/", "nbd+vsock://2:10809",
		"h:0", "h:65536", "h:12a", "h:123456", "h x", "h/disk",
		"nbd://h/a%2", "nbd://h/a%zz", "nbd://h/a%00b", "nbd://h/a b",
		"nbd://h/\x01", "nbd://h/\xc3\xa9", "nbd://h/#frag",
		"nbd://[::1", "nbd://[::1]x", "nbd://[127.0.0.1]/", "nbd://[fe80::1%25eth0]/",
		"nbd+unix:///disk", "nbd+unix://host/?socket=s", "nbd+unix:///?socket=",
		"nbd+unix:///?socket=a&socket=b", "nbd+unix:///?socket", "nbd://h/?socket=s",
		"nbd://h/?x-foo=1",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		parse_refused(bad[i]);
}

static void uri__too_long__refused(void **state)
{
	char text[3 * NBD_NAME_MAX], path[200];

	snprintf(text, sizeof(text), "nbd://h/%0*d", NBD_NAME_MAX + 1, 0);
	assert_non_null(strstr(parse_refused(text), "longer than 4096"));
	memset(path, 'p', sizeof(path));
	snprintf(text, sizeof(text), "nbd+unix:///?socket=%.*s", (int)sizeof(path), path);
	assert_non_null(strstr(parse_refused(text), "socket"));
}

static void uri__format__round_trip(void **state)
{
	static const char *const in[][2] = {
		{ "nbd://example.com/disk", "nbd://example.com/disk" },
		{ "nbd://EXAMPLE.com:10809", "nbd://example.com/" },
		{ "nbd://h:99//a%20b?", "nbd://h:99//a%20b" },
		{ "[::1]:7", "nbd://[::1]:7/" },
		{ "nbd://h/a:b@c!", "nbd://h/a%3Ab%40c%21" },
		{ "nbd+unix:///e%c3%a9?socket=/tmp/s+1", "nbd+unix:///e%C3%A9?socket=/tmp/s%2B1" },
	};
	char buf[NBD_URI_MAX];
	struct nbd_uri u, again;
	size_t i;

	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		parse_ok(in[i][0], &u);
		assert_int_equal(nbd_uri_format(&u, buf, sizeof(buf)), strlen(in[i][1]));
		assert_string_equal(buf, in[i][1]);
		parse_ok(buf, &again);
		assert_memory_equal(&u, &again, sizeof(u));
	}
}

static void uri__format_small_buffer__enospc(void **state)
{
	struct nbd_uri u;
	char buf[8];

	parse_ok("nbd://example.com/disk", &u);
	assert_int_equal(nbd_uri_format(&u, buf, sizeof(buf)), -ENOSPC);
}

/* ---- connecting ---- */
static void connect__unix_socket__connected(void **state)
{
	char path[64], err[NBD_ERR_LEN], text[128];
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct nbd_uri u;
	int lfd, fd;

	snprintf(path, sizeof(path), "/tmp/test_nbd.%d.sock", (int)getpid());
	strcpy(sun.sun_path, path);
	unlink(path);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(lfd, 1), 0);
	snprintf(text, sizeof(text), "nbd+unix:///?socket=%s", path);
	parse_ok(text, &u);
	fd = nbd_connect(&u, TIMEOUT_MS, err, sizeof(err));
	unlink(path);
	close(lfd);
	assert_true(fd >= 0);
	close(fd);
}

static void connect__no_socket_file__enoent_with_path(void **state)
{
	char err[NBD_ERR_LEN];
	struct nbd_uri u;

	parse_ok("nbd+unix:///?socket=/nonexistent/nbd.sock", &u);
	assert_int_equal(nbd_connect(&u, TIMEOUT_MS, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/nbd.sock"));
}

/* A listening socket on 127.0.0.1 and its port (loopback only). */
static int listen_loopback(uint16_t *port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(fd, 1), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

static void connect__tcp_loopback__connected(void **state)
{
	char err[NBD_ERR_LEN], text[64];
	struct nbd_uri u;
	uint16_t port;
	int lfd = listen_loopback(&port), fd;

	snprintf(text, sizeof(text), "127.0.0.1:%u", port);
	parse_ok(text, &u);
	fd = nbd_connect(&u, TIMEOUT_MS, err, sizeof(err));
	close(lfd);
	assert_true(fd >= 0);
	close(fd);
}

static void connect__tcp_nobody_listening__econnrefused(void **state)
{
	char err[NBD_ERR_LEN], text[64];
	struct nbd_uri u;
	uint16_t port;

	close(listen_loopback(&port));	/* a port that was free a moment ago */
	snprintf(text, sizeof(text), "nbd://127.0.0.1:%u/", port);
	parse_ok(text, &u);
	assert_int_equal(nbd_connect(&u, TIMEOUT_MS, err, sizeof(err)), -ECONNREFUSED);
	assert_non_null(strstr(err, "127.0.0.1"));
}

/* ---- fake servers ---- */
/* The server's side: any mismatch ends the child with status 1. */
static void srv_send(int fd, const void *buf, size_t n)
{
	if (write(fd, buf, n) != (ssize_t)n)
		_exit(1);
}

static void srv_read(int fd, void *buf, size_t n)
{
	size_t got = 0;
	ssize_t r;

	while (got < n) {
		r = read(fd, (char *)buf + got, n - got);
		if (r <= 0)
			_exit(1);
		got += (size_t)r;
	}
}

/* The client is done: wait for its end of the connection, then pass. */
static void srv_end(int fd)
{
	char c;

	while (read(fd, &c, 1) > 0)
		;
	_exit(0);
}

static void be16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static void be32(uint8_t *p, uint32_t v)
{
	be16(p, v >> 16);
	be16(p + 2, v & 0xffff);
}

static void be64(uint8_t *p, uint64_t v)
{
	be32(p, v >> 32);
	be32(p + 4, v & 0xffffffff);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void srv_greeting(int fd, uint16_t hflags)
{
	uint8_t b[18];

	be64(b, NBD_MAGIC);
	be64(b + 8, NBD_IHAVEOPT);
	be16(b + 16, hflags);
	srv_send(fd, b, sizeof(b));
}

static void srv_expect_cflags(int fd, uint32_t want)
{
	uint8_t b[4];

	srv_read(fd, b, 4);
	if (rd32(b) != want)
		_exit(1);
}

/* Reads one option; its data into data (cap bytes); returns its length. */
static uint32_t srv_option(int fd, uint32_t want_opt, uint8_t *data, size_t cap)
{
	uint8_t b[16];
	uint32_t len;

	srv_read(fd, b, 16);
	if (rd32(b) != (NBD_IHAVEOPT >> 32) || rd32(b + 4) != (uint32_t)NBD_IHAVEOPT ||
	    rd32(b + 8) != want_opt)
		_exit(1);
	len = rd32(b + 12);
	if (len > cap)
		_exit(1);
	srv_read(fd, data, len);
	return len;
}

static void srv_reply(int fd, uint32_t opt, uint32_t type, const void *data, uint32_t len)
{
	uint8_t b[20];

	be64(b, NBD_REP_MAGIC);
	be32(b + 8, opt);
	be32(b + 12, type);
	be32(b + 16, len);
	srv_send(fd, b, sizeof(b));
	if (len)
		srv_send(fd, data, len);
}

static void srv_info_export(int fd, uint64_t size, uint16_t flags)
{
	uint8_t b[12];

	be16(b, NBD_INFO_EXPORT);
	be64(b + 2, size);
	be16(b + 10, flags);
	srv_reply(fd, NBD_OPT_GO, NBD_REP_INFO, b, sizeof(b));
}

static void srv_info_block_size(int fd, uint32_t min, uint32_t pref, uint32_t max)
{
	uint8_t b[14];

	be16(b, NBD_INFO_BLOCK_SIZE);
	be32(b + 2, min);
	be32(b + 6, pref);
	be32(b + 10, max);
	srv_reply(fd, NBD_OPT_GO, NBD_REP_INFO, b, sizeof(b));
}

/* NBD_OPT_GO for name, asking for exactly NBD_INFO_BLOCK_SIZE. */
static void srv_expect_go(int fd, const char *name)
{
	uint8_t d[64], want[64];
	size_t n = strlen(name);

	be32(want, (uint32_t)n);
	memcpy(want + 4, name, n);
	be16(want + 4 + n, 1);
	be16(want + 6 + n, NBD_INFO_BLOCK_SIZE);
	if (srv_option(fd, NBD_OPT_GO, d, sizeof(d)) != n + 8 || memcmp(d, want, n + 8))
		_exit(1);
}

typedef void (*script_fn)(int fd);

struct run {
	int ret;
	struct nbd_export ex;
	char err[NBD_ERR_LEN];
};

/*
 * The handshake for name against a child running script, which must end
 * well: the client sent all it expected.
 */
static void run_handshake(script_fn script, const char *name, unsigned int timeout_ms,
			  struct run *r)
{
	int sv[2], status;
	pid_t pid;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		close(sv[0]);
		script(sv[1]);
		_exit(0);
	}
	close(sv[1]);
	memset(r, 0, sizeof(*r));
	r->ret = nbd_handshake(sv[0], name, timeout_ms, &r->ex, r->err, sizeof(r->err));
	close(sv[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void script_go_block_sizes(int fd)
{
	srv_greeting(fd, NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES);
	srv_expect_cflags(fd, NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES);
	srv_expect_go(fd, "disk");
	srv_info_block_size(fd, 512, 4096, 1 << 20);
	srv_reply(fd, NBD_OPT_GO, NBD_REP_INFO, "\0\1name", 6);	/* NBD_INFO_NAME: ignored */
	srv_info_export(fd, 1ULL << 30, NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH |
			NBD_FLAG_SEND_TRIM);
	srv_reply(fd, NBD_OPT_GO, NBD_REP_ACK, NULL, 0);
	srv_end(fd);
}

static void handshake__go_with_block_sizes__all_reported(void **state)
{
	struct run r;

	run_handshake(script_go_block_sizes, "disk", TIMEOUT_MS, &r);
	assert_int_equal(r.ret, 0);
	assert_true(r.ex.go);
	assert_int_equal(r.ex.size, 1ULL << 30);
	assert_int_equal(r.ex.flags, NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH |
			 NBD_FLAG_SEND_TRIM);
	assert_true(r.ex.block_sizes_sent);
	assert_int_equal(r.ex.min_block, 512);
	assert_int_equal(r.ex.pref_block, 4096);
	assert_int_equal(r.ex.max_block, 1 << 20);
}

/* An old server: GO unknown, EXPORT_NAME answered with the 124 zeroes. */
static void script_go_unsupported(int fd)
{
	uint8_t d[64], b[10 + 124] = { 0 };

	srv_greeting(fd, NBD_FLAG_FIXED_NEWSTYLE);
	srv_expect_cflags(fd, NBD_FLAG_C_FIXED_NEWSTYLE);
	srv_expect_go(fd, "old");
	srv_reply(fd, NBD_OPT_GO, NBD_REP_ERR_UNSUP, "what?", 5);
	if (srv_option(fd, NBD_OPT_EXPORT_NAME, d, sizeof(d)) != 3 || memcmp(d, "old", 3))
		_exit(1);
	be64(b, 1 << 20);
	be16(b + 8, NBD_FLAG_HAS_FLAGS | NBD_FLAG_READ_ONLY);
	srv_send(fd, b, sizeof(b));
	srv_end(fd);
}

static void handshake__go_unsupported__export_name_fallback(void **state)
{
	struct run r;

	run_handshake(script_go_unsupported, "old", TIMEOUT_MS, &r);
	assert_int_equal(r.ret, 0);
	assert_false(r.ex.go);
	assert_int_equal(r.ex.size, 1 << 20);
	assert_int_equal(r.ex.flags, NBD_FLAG_HAS_FLAGS | NBD_FLAG_READ_ONLY);
	assert_false(r.ex.block_sizes_sent);
	assert_int_equal(r.ex.min_block, 1);
	assert_int_equal(r.ex.pref_block, 4096);
	assert_int_equal(r.ex.max_block, UINT32_MAX);
}

/* With NO_ZEROES negotiated the reply ends after the flags: nothing more is read. */
static void script_export_name_no_zeroes(int fd)
{
	uint8_t d[64], b[10];

	srv_greeting(fd, NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES);
	srv_expect_cflags(fd, NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES);
	srv_expect_go(fd, "");
	srv_reply(fd, NBD_OPT_GO, NBD_REP_ERR_UNSUP, NULL, 0);
	if (srv_option(fd, NBD_OPT_EXPORT_NAME, d, sizeof(d)) != 0)
		_exit(1);
	be64(b, 4096);
	be16(b + 8, NBD_FLAG_HAS_FLAGS);
	srv_send(fd, b, sizeof(b));
	srv_end(fd);
}

static void handshake__export_name_no_zeroes__no_padding_read(void **state)
{
	struct run r;

	run_handshake(script_export_name_no_zeroes, "", 1000, &r);
	assert_int_equal(r.ret, 0);
	assert_int_equal(r.ex.size, 4096);
}

/* Block sizes sent before the refusal belong to the refused option. */
static void script_info_then_unsupported(int fd)
{
	uint8_t d[64], b[10 + 124] = { 0 };

	srv_greeting(fd, NBD_FLAG_FIXED_NEWSTYLE);
	srv_expect_cflags(fd, NBD_FLAG_C_FIXED_NEWSTYLE);
	srv_expect_go(fd, "i");
	srv_info_block_size(fd, 4096, 4096, 1 << 20);
	srv_reply(fd, NBD_OPT_GO, NBD_REP_ERR_UNSUP, NULL, 0);
	srv_option(fd, NBD_OPT_EXPORT_NAME, d, sizeof(d));
	be64(b, 8192);
	be16(b + 8, NBD_FLAG_HAS_FLAGS);
	srv_send(fd, b, sizeof(b));
	srv_end(fd);
}

static void handshake__info_before_unsupported__block_sizes_dropped(void **state)
{
	struct run r;

	run_handshake(script_info_then_unsupported, "i", TIMEOUT_MS, &r);
	assert_int_equal(r.ret, 0);
	assert_false(r.ex.block_sizes_sent);
	assert_int_equal(r.ex.min_block, 1);
}

static void script_export_name_hangs_up(int fd)
{
	uint8_t d[64];

	srv_greeting(fd, NBD_FLAG_FIXED_NEWSTYLE);
	srv_expect_cflags(fd, NBD_FLAG_C_FIXED_NEWSTYLE);
	srv_expect_go(fd, "gone");
	srv_reply(fd, NBD_OPT_GO, NBD_REP_ERR_UNSUP, NULL, 0);
	srv_option(fd, NBD_OPT_EXPORT_NAME, d, sizeof(d));
}

static void handshake__export_name_refused__says_server_closed(void **state)
{
	struct run r;

	run_handshake(script_export_name_hangs_up, "gone", TIMEOUT_MS, &r);
	assert_int_equal(r.ret, -ECONNRESET);
	assert_non_null(strstr(r.err, "no export 'gone'"));
}

/* The client ends with NBD_OPT_ABORT, its soft disconnect. */
static void script_unknown_export(int fd)
{
	uint8_t d[8];

	srv_greeting(fd, NBD_FLAG_FIXED_NEWSTYLE);
	srv_expect_cflags(fd, NBD_FLAG_C_FIXED_NEWSTYLE);
	srv_expect_go(fd, "nope");
	srv_reply(fd, NBD_OPT_GO, NBD_REP_ERR_UNKNOWN, "no such\nexport", 14);
	srv_option(fd, NBD_OPT_ABORT, d, 0);
	srv_end(fd);
}

static void handshake__unknown_export__enoent_named(void **state)
{
	struct run r;

	run_handshake(script_unknown_export, "nope", TIMEOUT_MS, &r);
	assert_int_equal(r.ret, -ENOENT);
	assert_string_equal(r.err, "export 'nope' not found on the server: no such?export");
}

static void script_tls_required(int fd)
{
	srv_greeting(fd, NBD_FLAG_FIXED_NEWSTYLE);
	srv_expect_cflags(fd, NBD_FLAG_C_FIXED_NEWSTYLE);
	srv_expect_go(fd, "x");
	srv_reply(fd, NBD_OPT_GO, NBD_REP_ERR_TLS_REQD, NULL, 0);
	srv_end(fd);
}

static void handshake__tls_required__says_so(void **state)
{
	struct run r;

	run_handshake(script_tls_required, "x", TIMEOUT_MS, &r);
	assert_int_equal(r.ret, -EPROTONOSUPPORT);
	assert_non_null(strstr(r.err, "server requires TLS"));
}

static void script_bad_magic(int fd)
{
	srv_send(fd, "NBDMAGIXIHAVEOPT\0\1", 18);
	srv_end(fd);
}

static void handshake__bad_magic__eproto(void **state)
{
	struct run r;

	run_handshake(script_bad_magic, "", TIMEOUT_MS, &r);
	assert_int_equal(r.ret, -EPROTO);
	assert_non_null(strstr(r.err, "not an NBD server"));
}

static void script_oldstyle(int fd)
{
	uint8_t b[18];

	be64(b, NBD_MAGIC);
	be64(b + 8, NBD_OLDSTYLE_MAGIC);
	be16(b + 16, 0);
	srv_send(fd, b, sizeof(b));
	srv_end(fd);
}

static void handshake__oldstyle_server__refused(void **state)
{
	struct run r;

	run_handshake(script_oldstyle, "", TIMEOUT_MS, &r);
	assert_int_equal(r.ret, -EPROTONOSUPPORT);
	assert_non_null(strstr(r.err, "oldstyle"));
}

static void script_not_fixed_newstyle(int fd)
{
	srv_greeting(fd, 0);
	srv_end(fd);
}

static void handshake__no_fixed_newstyle__refused(void **state)
{
	struct run r;

	run_handshake(script_not_fixed_newstyle, "", TIMEOUT_MS, &r);
	assert_int_equal(r.ret, -EPROTONOSUPPORT);
	assert_non_null(strstr(r.err, "fixed newstyle"));
}

/* A reply header announcing 12 bytes, 5 of them sent, then the end. */
static void script_truncated_reply(int fd)
{
	uint8_t b[20];

	srv_greeting(fd, NBD_FLAG_FIXED_NEWSTYLE);
	srv_expect_cflags(fd, NBD_FLAG_C_FIXED_NEWSTYLE);
	srv_expect_go(fd, "t");
	be64(b, NBD_REP_MAGIC);
	be32(b + 8, NBD_OPT_GO);
	be32(b + 12, NBD_REP_INFO);
	be32(b + 16, 12);
	srv_send(fd, b, sizeof(b));
	srv_send(fd, "\0\0\0\0\0", 5);
}

static void handshake__truncated_reply__econnreset(void **state)
{
	struct run r;

	run_handshake(script_truncated_reply, "t", TIMEOUT_MS, &r);
	assert_int_equal(r.ret, -ECONNRESET);
	assert_non_null(strstr(r.err, "closed the connection inside an option reply"));
}

/* NBD_INFO_EXPORT must be 12 bytes: 8 is refused, not read past. */
static void script_short_info_export(int fd)
{
	uint8_t b[8] = { 0 };

	srv_greeting(fd, NBD_FLAG_FIXED_NEWSTYLE);
	srv_expect_cflags(fd, NBD_FLAG_C_FIXED_NEWSTYLE);
	srv_expect_go(fd, "s");
	srv_reply(fd, NBD_OPT_GO, NBD_REP_INFO, b, sizeof(b));
	srv_end(fd);
}

static void handshake__short_info_export__eproto(void **state)
{
	struct run r;

	run_handshake(script_short_info_export, "s", TIMEOUT_MS, &r);
	assert_int_equal(r.ret, -EPROTO);
	assert_non_null(strstr(r.err, "NBD_INFO_EXPORT of 8 bytes"));
}

/* 256 MiB announced, nothing sent: refused from the header alone. */
static void script_oversized_reply(int fd)
{
	uint8_t b[20];

	srv_greeting(fd, NBD_FLAG_FIXED_NEWSTYLE);
	srv_expect_cflags(fd, NBD_FLAG_C_FIXED_NEWSTYLE);
	srv_expect_go(fd, "big");
	be64(b, NBD_REP_MAGIC);
	be32(b + 8, NBD_OPT_GO);
	be32(b + 12, NBD_REP_INFO);
	be32(b + 16, 256U << 20);
	srv_send(fd, b, sizeof(b));
	srv_end(fd);
}

static void handshake__oversized_reply_length__eproto(void **state)
{
	struct run r;

	run_handshake(script_oversized_reply, "big", TIMEOUT_MS, &r);
	assert_int_equal(r.ret, -EPROTO);
	assert_non_null(strstr(r.err, "268435456-byte reply"));
}

static void script_reply_to_other_option(int fd)
{
	srv_greeting(fd, NBD_FLAG_FIXED_NEWSTYLE);
	srv_expect_cflags(fd, NBD_FLAG_C_FIXED_NEWSTYLE);
	srv_expect_go(fd, "o");
	srv_reply(fd, 3, NBD_REP_ACK, NULL, 0);	/* NBD_OPT_LIST's */
	srv_end(fd);
}

static void handshake__reply_to_another_option__eproto(void **state)
{
	struct run r;

	run_handshake(script_reply_to_other_option, "o", TIMEOUT_MS, &r);
	assert_int_equal(r.ret, -EPROTO);
	assert_non_null(strstr(r.err, "answered option 3 where option 7 was sent"));
}

static void script_ack_without_export(int fd)
{
	srv_greeting(fd, NBD_FLAG_FIXED_NEWSTYLE);
	srv_expect_cflags(fd, NBD_FLAG_C_FIXED_NEWSTYLE);
	srv_expect_go(fd, "a");
	srv_reply(fd, NBD_OPT_GO, NBD_REP_ACK, NULL, 0);
	srv_end(fd);
}

static void handshake__ack_without_info_export__eproto(void **state)
{
	struct run r;

	run_handshake(script_ack_without_export, "a", TIMEOUT_MS, &r);
	assert_int_equal(r.ret, -EPROTO);
	assert_non_null(strstr(r.err, "without NBD_INFO_EXPORT"));
}

static void script_bad_block_sizes(int fd)
{
	srv_greeting(fd, NBD_FLAG_FIXED_NEWSTYLE);
	srv_expect_cflags(fd, NBD_FLAG_C_FIXED_NEWSTYLE);
	srv_expect_go(fd, "b");
	srv_info_block_size(fd, 768, 4096, 1 << 20);	/* 768: not a power of 2 */
	srv_info_export(fd, 1 << 20, NBD_FLAG_HAS_FLAGS);
	srv_reply(fd, NBD_OPT_GO, NBD_REP_ACK, NULL, 0);
	srv_end(fd);
}

static void handshake__min_block_not_power_of_2__eproto(void **state)
{
	struct run r;

	run_handshake(script_bad_block_sizes, "b", TIMEOUT_MS, &r);
	assert_int_equal(r.ret, -EPROTO);
	assert_non_null(strstr(r.err, "minimum block size 768"));
}

static void script_close_after_greeting(int fd)
{
	srv_greeting(fd, NBD_FLAG_FIXED_NEWSTYLE);
	srv_expect_cflags(fd, NBD_FLAG_C_FIXED_NEWSTYLE);
}

static void handshake__server_closes_midway__econnreset(void **state)
{
	struct run r;

	run_handshake(script_close_after_greeting, "c", TIMEOUT_MS, &r);
	assert_int_equal(r.ret, -ECONNRESET);
	assert_non_null(strstr(r.err, "closed the connection"));
}

static void script_silent(int fd)
{
	srv_greeting(fd, NBD_FLAG_FIXED_NEWSTYLE);
	srv_end(fd);
}

static void handshake__silent_server__etimedout_at_deadline(void **state)
{
	struct timespec a, b;
	struct run r;
	long ms;

	clock_gettime(CLOCK_MONOTONIC, &a);
	run_handshake(script_silent, "q", 200, &r);
	clock_gettime(CLOCK_MONOTONIC, &b);
	ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
	assert_int_equal(r.ret, -ETIMEDOUT);
	assert_non_null(strstr(r.err, "within 200 ms"));
	assert_true(ms >= 190 && ms < 2000);
}

/* NBD_REP_INFO of an unknown type every 10 ms, until the client leaves */
static void script_endless_info(int fd)
{
	uint8_t b[22];

	srv_greeting(fd, NBD_FLAG_FIXED_NEWSTYLE);
	srv_expect_cflags(fd, NBD_FLAG_C_FIXED_NEWSTYLE);
	srv_expect_go(fd, "e");
	be64(b, NBD_REP_MAGIC);
	be32(b + 8, NBD_OPT_GO);
	be32(b + 12, NBD_REP_INFO);
	be32(b + 16, 2);
	be16(b + 20, 0x7fff);
	while (send(fd, b, sizeof(b), MSG_NOSIGNAL) == sizeof(b))
		usleep(10000);
}

static void handshake__endless_option_replies__etimedout_at_deadline(void **state)
{
	struct run r;

	run_handshake(script_endless_info, "e", 300, &r);
	assert_int_equal(r.ret, -ETIMEDOUT);
	assert_non_null(strstr(r.err, "did not finish within 300 ms"));
}

/* ---- the transmission phase ---- */
static void request__write_fua__exact_bytes(void **state)
{
	static const uint8_t want[NBD_REQUEST_SIZE] = {
		0x25, 0x60, 0x95, 0x13, 0x00, 0x01, 0x00, 0x01,
		0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
		0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x02, 0x00,
		0x00, 0x01, 0x00, 0x00,
	};
	uint8_t b[NBD_REQUEST_SIZE];

	assert_int_equal(nbd_request_encode(b, NBD_CMD_WRITE, NBD_CMD_FLAG_FUA,
					    0x0102030405060708ULL, 0x100000200ULL, 65536),
			 NBD_REQUEST_SIZE);
	assert_memory_equal(b, want, sizeof(want));
}

static void request__write_zeroes_no_hole__flags_and_type(void **state)
{
	uint8_t b[NBD_REQUEST_SIZE];

	assert_int_equal(nbd_request_encode(b, NBD_CMD_WRITE_ZEROES,
					    NBD_CMD_FLAG_FUA | NBD_CMD_FLAG_NO_HOLE, 1, 0, 4096),
			 NBD_REQUEST_SIZE);
	assert_int_equal(b[5], NBD_CMD_FLAG_FUA | NBD_CMD_FLAG_NO_HOLE);
	assert_int_equal(b[7], NBD_CMD_WRITE_ZEROES);
}

static void request__bad_combinations__einval(void **state)
{
	uint8_t b[NBD_REQUEST_SIZE];

	assert_int_equal(nbd_request_encode(b, NBD_CMD_FLUSH, 0, 1, 512, 0), -EINVAL);
	assert_int_equal(nbd_request_encode(b, NBD_CMD_DISC, 0, 1, 0, 512), -EINVAL);
	assert_int_equal(nbd_request_encode(b, NBD_CMD_WRITE, NBD_CMD_FLAG_NO_HOLE, 1, 0, 512),
			 -EINVAL);
	assert_int_equal(nbd_request_encode(b, NBD_CMD_READ, NBD_CMD_FLAG_FUA, 1, 0, 512),
			 -EINVAL);
	assert_int_equal(nbd_request_encode(b, 5, 0, 1, 0, 512), -EINVAL);	/* CACHE */
	assert_int_equal(nbd_request_encode(b, NBD_CMD_TRIM, 1U << 4, 1, 0, 512), -EINVAL);
}

static void request__flush_and_trim__accepted(void **state)
{
	uint8_t b[NBD_REQUEST_SIZE];

	assert_int_equal(nbd_request_encode(b, NBD_CMD_FLUSH, 0, 9, 0, 0), NBD_REQUEST_SIZE);
	assert_int_equal(b[7], NBD_CMD_FLUSH);
	assert_int_equal(nbd_request_encode(b, NBD_CMD_TRIM, NBD_CMD_FLAG_FUA, 9, 4096, 4096),
			 NBD_REQUEST_SIZE);
	assert_int_equal(b[7], NBD_CMD_TRIM);
}

static void reply_bytes(uint8_t *b, uint32_t magic, uint32_t error, uint64_t cookie)
{
	be32(b, magic);
	be32(b + 4, error);
	be64(b + 8, cookie);
}

static void reply__success__cookie_back(void **state)
{
	struct nbd_reply r;
	uint8_t b[NBD_SIMPLE_REPLY_SIZE];

	reply_bytes(b, NBD_SIMPLE_REPLY_MAGIC, 0, 0xfeedfacecafe0001ULL);
	assert_int_equal(nbd_reply_decode(b, &r), 0);
	assert_int_equal(r.error, 0);
	assert_int_equal(r.cookie, 0xfeedfacecafe0001ULL);
}

static void reply__server_errors__negative_errno(void **state)
{
	static const struct { uint32_t nbd; int want; } map[] = {
		{ 1, -EPERM }, { 5, -EIO }, { 12, -ENOMEM }, { 22, -EINVAL },
		{ 28, -ENOSPC }, { 75, -EOVERFLOW }, { 95, -EOPNOTSUPP },
		{ 108, -ESHUTDOWN }, { 2, -EINVAL }, { 0xffffffff, -EINVAL },
	};
	struct nbd_reply r;
	uint8_t b[NBD_SIMPLE_REPLY_SIZE];
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		reply_bytes(b, NBD_SIMPLE_REPLY_MAGIC, map[i].nbd, 7);
		assert_int_equal(nbd_reply_decode(b, &r), 0);
		assert_int_equal(r.error, map[i].want);
	}
}

static void reply__structured_or_bad_magic__eproto(void **state)
{
	struct nbd_reply r;
	uint8_t b[NBD_SIMPLE_REPLY_SIZE];

	reply_bytes(b, NBD_STRUCTURED_REPLY_MAGIC, 0, 7);
	assert_int_equal(nbd_reply_decode(b, &r), -EPROTO);
	reply_bytes(b, NBD_REQUEST_MAGIC, 0, 7);
	assert_int_equal(nbd_reply_decode(b, &r), -EPROTO);
}

static void close__sends_disc_then_eof(void **state)
{
	uint8_t b[NBD_REQUEST_SIZE + 1], want[NBD_REQUEST_SIZE];
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	nbd_close(sv[0], 1000);
	nbd_request_encode(want, NBD_CMD_DISC, 0, 0, 0, 0);
	assert_int_equal(read(sv[1], b, sizeof(b)), NBD_REQUEST_SIZE);
	assert_memory_equal(b, want, NBD_REQUEST_SIZE);
	assert_int_equal(read(sv[1], b, sizeof(b)), 0);
	close(sv[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(uri__nbd_host_port_export),
		cmocka_unit_test(uri__no_port_no_export__defaults),
		cmocka_unit_test(uri__export_name_from_path),
		cmocka_unit_test(uri__ipv6_in_brackets),
		cmocka_unit_test(uri__plain_host_port),
		cmocka_unit_test(uri__unix_socket),
		cmocka_unit_test(uri__tls__refused_naming_tls),
		cmocka_unit_test(uri__bad__refused),
		cmocka_unit_test(uri__too_long__refused),
		cmocka_unit_test(uri__format__round_trip),
		cmocka_unit_test(uri__format_small_buffer__enospc),
		cmocka_unit_test(connect__unix_socket__connected),
		cmocka_unit_test(connect__no_socket_file__enoent_with_path),
		cmocka_unit_test(connect__tcp_loopback__connected),
		cmocka_unit_test(connect__tcp_nobody_listening__econnrefused),
		cmocka_unit_test(handshake__go_with_block_sizes__all_reported),
		cmocka_unit_test(handshake__go_unsupported__export_name_fallback),
		cmocka_unit_test(handshake__export_name_no_zeroes__no_padding_read),
		cmocka_unit_test(handshake__info_before_unsupported__block_sizes_dropped),
		cmocka_unit_test(handshake__export_name_refused__says_server_closed),
		cmocka_unit_test(handshake__unknown_export__enoent_named),
		cmocka_unit_test(handshake__tls_required__says_so),
		cmocka_unit_test(handshake__bad_magic__eproto),
		cmocka_unit_test(handshake__oldstyle_server__refused),
		cmocka_unit_test(handshake__no_fixed_newstyle__refused),
		cmocka_unit_test(handshake__truncated_reply__econnreset),
		cmocka_unit_test(handshake__short_info_export__eproto),
		cmocka_unit_test(handshake__oversized_reply_length__eproto),
		cmocka_unit_test(handshake__reply_to_another_option__eproto),
		cmocka_unit_test(handshake__ack_without_info_export__eproto),
		cmocka_unit_test(handshake__min_block_not_power_of_2__eproto),
		cmocka_unit_test(handshake__server_closes_midway__econnreset),
		cmocka_unit_test(handshake__silent_server__etimedout_at_deadline),
		cmocka_unit_test(handshake__endless_option_replies__etimedout_at_deadline),
		cmocka_unit_test(request__write_fua__exact_bytes),
		cmocka_unit_test(request__write_zeroes_no_hole__flags_and_type),
		cmocka_unit_test(request__bad_combinations__einval),
		cmocka_unit_test(request__flush_and_trim__accepted),
		cmocka_unit_test(reply__success__cookie_back),
		cmocka_unit_test(reply__server_errors__negative_errno),
		cmocka_unit_test(reply__structured_or_bad_magic__eproto),
		cmocka_unit_test(close__sends_disc_then_eof),
	};

	return cmocka_run_group_tests_name("nbd", tests, NULL, NULL);
}
