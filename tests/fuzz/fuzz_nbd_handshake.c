// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the client's NBD handshake (lib/nbd.c) against a
 * server whose every byte is the fuzzer's. They wait in a socket pair,
 * whose far end is then shut: the handshake must end (never wait: the
 * deadline is 1 s, and -timeout=10 catches a hang), with 0 and a sane
 * export or with an errno and a message.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nbd.h"

#define check(cond) do { if (!(cond)) { fprintf(stderr, "check failed: %s\n", #cond); abort(); } } while (0)

/* What a successful handshake must have checked. */
static void check_export(const struct nbd_export *ex)
{
	check(ex->flags & NBD_FLAG_HAS_FLAGS);
	check(ex->min_block && !(ex->min_block & (ex->min_block - 1)));
	check(ex->min_block <= 65536);
	check(ex->pref_block >= 512 && ex->pref_block >= ex->min_block);
	check(!(ex->pref_block & (ex->pref_block - 1)));
	check(ex->max_block == UINT32_MAX || ex->max_block % ex->min_block == 0);
	check(ex->block_sizes_sent || ex->min_block == 1);
	check(ex->go || !ex->block_sizes_sent);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nbd_export ex;
	char err[NBD_ERR_LEN] = "";
	int sv[2], sndbuf = 1 << 20, ret;
	ssize_t n;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return 0;
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	/* what does not fit is dropped: the stream then ends early */
	n = size ? send(sv[1], data, size, MSG_DONTWAIT | MSG_NOSIGNAL) : 0;
	(void)n;
	shutdown(sv[1], SHUT_WR);
	ret = nbd_handshake(sv[0], "fuzz", 1000, &ex, err, sizeof(err));
	close(sv[0]);
	close(sv[1]);
	check(ret <= 0);
	if (ret) {
		check(ret != -ETIMEDOUT);	/* the stream always ends before the deadline */
		check(err[0] && strlen(err) < sizeof(err));
		return 0;
	}
	check_export(&ex);
	return 0;
}
