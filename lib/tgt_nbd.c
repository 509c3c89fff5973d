// SPDX-License-Identifier: MIT
/*
 * The nbd target: each queue serves its requests over one NBD connection
 * (lib/nbd.c speaks the protocol), all of it on the queue's own ring.
 * Requests go out in batches, one SENDMSG at a time per connection; one
 * RECV at a time reads the replies, which come in any order and name
 * their request by cookie: the connection's generation and the tag. A
 * READ's data lands in the tag's buffer.
 *
 * When a connection breaks (end of file, an error, a reply that breaks
 * the protocol, or no reply within --timeout) nothing is failed: the
 * requests in flight go back to the queue's FIFO, the queue reconnects
 * with growing pauses, checks that the export is the same, and sends them
 * again. Only when no request has completed for --reconnect-timeout
 * seconds is the waiting IO failed with EIO; the queue goes on trying, and
 * serves again once it gets through.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "nbd.h"
#include "ublk.h"

/* user_data ops of the target's SQEs; bits 24-55 carry the connection's generation */
#define NBD_OP_SEND		1
#define NBD_OP_RECV_HDR		2
#define NBD_OP_RECV_DATA	3
#define NBD_OP_TICK		4

#define NBD_IOV_MAX		1024	/* the kernel's UIO_MAXIOV */
#define NBD_CONNECT_MS		3000	/* one reconnect attempt, connect and handshake */
#define NBD_BACKOFF_MIN_MS	100
#define NBD_BACKOFF_MAX_MS	5000

enum nbd_req_state { REQ_IDLE, REQ_QUEUED, REQ_SENT };

struct nbd_req {
	uint8_t hdr[NBD_REQUEST_SIZE];
	uint64_t offset;
	uint64_t sent_ms;	/* for --timeout */
	uint32_t len;
	uint16_t type;
	uint16_t flags;
	uint8_t state;
};

/* One queue's connection; touched only by the queue's thread once it runs. */
struct nbd_conn {
	int fd;			/* -1 while down */
	uint32_t gen;		/* replies and CQEs of older connections are stale */
	bool sending;		/* a SENDMSG is in flight */
	bool receiving;		/* the RECV chain runs */
	bool ticking;		/* a timer is armed */
	bool failed;		/* past --reconnect-timeout: IO fails with EIO */
	int recv_tag;		/* a READ's data being received, or -1 */
	uint8_t reply[NBD_SIMPLE_REPLY_SIZE];
	uint64_t down_since_ms;	/* 0 while requests complete */
	uint64_t next_try_ms;
	unsigned int backoff_ms;
	/* requests waiting to go out, oldest first */
	uint16_t *fifo;
	unsigned int fifo_head, fifo_len;
	/* the batch in flight */
	struct msghdr msg;
	struct iovec *iov;
	size_t send_bytes;
	unsigned int depth;
	struct nbd_req reqs[];
};

struct nbd_dev {
	struct nbd_uri uri;
	struct nbd_export ex;		/* every later connection must show the same */
	unsigned int reconnects;	/* all queues; updated atomically */
	const char *state;		/* "up", "reconnecting" or "failed" */
	char last_error[NBD_ERR_LEN];
	struct nbd_conn *conns[UBLK_MAX_QUEUES];
};

static struct nbd_dev *nbd_of(const struct ublk_dev *dev)
{
	return dev->tgt_data;
}

static struct nbd_conn *conn_of(const struct ublk_queue *q)
{
	return nbd_of(q->dev)->conns[q->q_id];
}

static uint64_t nbd_ud(const struct nbd_conn *c, unsigned int tag, unsigned int op)
{
	return ublk_user_data(tag, op, true) | (uint64_t)c->gen << 24;
}

static uint32_t ud_gen(uint64_t ud)
{
	return (uint32_t)(ud >> 24);
}

/* The state list shows, kept in the state file. */
static void set_state(struct ublk_queue *q, const char *state)
{
	struct nbd_dev *nd = nbd_of(q->dev);

	if (nd->state == state)
		return;
	nd->state = state;
	ublk_dev_save_state(q->dev);
}

/* ---- connecting ---- */

/* What a later connection's export may not change: what the device was made of. */
#define NBD_KEPT_FLAGS (NBD_FLAG_READ_ONLY | NBD_FLAG_SEND_FLUSH | NBD_FLAG_SEND_FUA | \
			NBD_FLAG_SEND_TRIM | NBD_FLAG_SEND_WRITE_ZEROES | NBD_FLAG_CAN_MULTI_CONN)

static bool same_export(const struct nbd_export *was, const struct nbd_export *now)
{
	return now->size == was->size &&
	       (now->flags & NBD_KEPT_FLAGS) == (was->flags & NBD_KEPT_FLAGS) &&
	       now->min_block <= was->min_block &&
	       (now->max_block >= was->max_block || now->max_block == 0xffffffff);
}

/*
 * A new connection with the same export (the first one: any export, into
 * nd->ex), or -errno with nd->last_error set. timeout_ms bounds connect
 * and handshake together; 0: no bound.
 */
static int nbd_open(struct nbd_dev *nd, bool first, unsigned int timeout)
{
	struct nbd_export ex;
	int fd, ret;

	fd = nbd_connect(&nd->uri, timeout, nd->last_error, sizeof(nd->last_error));
	if (fd < 0)
		return fd;
	ret = nbd_handshake(fd, nd->uri.export_name, timeout, first ? &nd->ex : &ex,
			    nd->last_error, sizeof(nd->last_error));
	if (ret) {
		close(fd);
		return ret;
	}
	if (!first && !same_export(&nd->ex, &ex)) {
		snprintf(nd->last_error, sizeof(nd->last_error),
			 "the export changed: %llu bytes, flags 0x%x, blocks %u-%u; was %llu, "
			 "0x%x, %u-%u", (unsigned long long)ex.size, ex.flags & NBD_KEPT_FLAGS,
			 ex.min_block, ex.max_block, (unsigned long long)nd->ex.size,
			 nd->ex.flags & NBD_KEPT_FLAGS, nd->ex.min_block, nd->ex.max_block);
		nbd_close(fd, 100);
		return -ESTALE;
	}
	return fd;
}

/* What a server still starting, or a network still coming up, answers. */
static bool worth_waiting(int err)
{
	return err == -ECONNREFUSED || err == -ENETUNREACH || err == -EHOSTUNREACH ||
	       err == -ENETDOWN || err == -ETIMEDOUT || err == -ECONNRESET ||
	       err == -ENOENT || err == -EADDRNOTAVAIL;
}

/*
 * The first connection, tried again for --wait seconds (at boot the
 * server or the network may come up later than we do): each try within
 * what is left of the wait, and of --timeout.
 */
static int nbd_open_first(struct nbd_dev *nd, const struct ublk_dev_opts *o)
{
	uint64_t end = ublk_now_ms() + o->connect_wait * 1000ULL, now, left;
	unsigned int pause = 100, timeout;
	int fd;

	for (;;) {
		now = ublk_now_ms();
		left = now < end ? end - now : 1;
		timeout = ublk_ctrl_timeout_ms;
		if (o->connect_wait && (!timeout || left < timeout))
			timeout = left;
		fd = nbd_open(nd, true, timeout);
		now = ublk_now_ms();
		if (fd >= 0 || !worth_waiting(fd) || now + pause >= end)
			return fd;
		ublk_sleep_ms(pause);
		pause = pause < 1000 ? pause * 2 : 1000;
	}
}

static void post_recv_hdr(struct ublk_queue *q, struct nbd_conn *c);
static void fail_waiting(struct ublk_queue *q, struct nbd_conn *c);
static void nbd_kick(struct ublk_queue *q, struct nbd_conn *c);
static void arm_tick(struct ublk_queue *q, struct nbd_conn *c);

static void fifo_push(struct nbd_conn *c, unsigned int tag)
{
	c->fifo[(c->fifo_head + c->fifo_len++) % c->depth] = tag;
	c->reqs[tag].state = REQ_QUEUED;
}

static int fifo_pop(struct nbd_conn *c)
{
	unsigned int tag;

	if (!c->fifo_len)
		return -1;
	tag = c->fifo[c->fifo_head];
	c->fifo_head = (c->fifo_head + 1) % c->depth;
	c->fifo_len--;
	return tag;
}

/*
 * The connection is gone: every request sent on it waits in the FIFO to
 * go out again on the next one. Its SQEs still in the ring end with
 * errors and are recognised as stale by their generation.
 */
static void conn_down(struct ublk_queue *q, struct nbd_conn *c, const char *why)
{
	struct nbd_dev *nd = nbd_of(q->dev);
	unsigned int tag;

	if (c->fd < 0)
		return;
	snprintf(nd->last_error, sizeof(nd->last_error), "%.60s", why);
	/*
	 * SQEs queued for this fd go in now, while the number is still this
	 * socket's: a new connection may get the same number.
	 */
	io_uring_submit(&q->ring);
	shutdown(c->fd, SHUT_RDWR);
	close(c->fd);
	c->fd = -1;
	c->gen++;
	c->sending = false;
	c->receiving = false;
	c->recv_tag = -1;
	for (tag = 0; tag < c->depth; tag++)
		if (c->reqs[tag].state == REQ_SENT)
			fifo_push(c, tag);
	if (!c->down_since_ms)
		c->down_since_ms = ublk_now_ms();
	c->backoff_ms = NBD_BACKOFF_MIN_MS;
	c->next_try_ms = ublk_now_ms() + 1;	/* at the next tick, not in this batch */
	set_state(q, "reconnecting");
	if (!q->dev->opts.reconnect_timeout)
		fail_waiting(q, c);
	arm_tick(q, c);
}

/* Every waiting request fails: the server stayed away too long. */
static void fail_waiting(struct ublk_queue *q, struct nbd_conn *c)
{
	int tag;

	c->failed = true;
	while ((tag = fifo_pop(c)) >= 0) {
		c->reqs[tag].state = REQ_IDLE;
		ublk_complete_io(q, tag, -EIO);
	}
	set_state(q, "failed");
}

static void try_reconnect(struct ublk_queue *q, struct nbd_conn *c)
{
	struct nbd_dev *nd = nbd_of(q->dev);
	uint64_t now = ublk_now_ms();
	unsigned int limit = q->dev->opts.reconnect_timeout;
	int fd;

	if (now < c->next_try_ms)
		return;
	fd = nbd_open(nd, false, NBD_CONNECT_MS);
	if (fd < 0) {
		now = ublk_now_ms();
		c->next_try_ms = now + c->backoff_ms;
		c->backoff_ms = c->backoff_ms * 2 > NBD_BACKOFF_MAX_MS ? NBD_BACKOFF_MAX_MS :
			       c->backoff_ms * 2;
		if (!c->failed && limit != UINT_MAX &&
		    now - c->down_since_ms >= (uint64_t)limit * 1000)
			fail_waiting(q, c);
		return;
	}
	c->fd = fd;
	c->failed = false;	/* new requests go out again */
	__atomic_add_fetch(&nd->reconnects, 1, __ATOMIC_RELAXED);
	post_recv_hdr(q, c);
	nbd_kick(q, c);
	if (!c->fifo_len && !c->sending) {
		c->down_since_ms = 0;	/* nothing waited */
		set_state(q, "up");
	} else {
		/* "up" once a request completes: see complete_req() */
		ublk_dev_save_state(q->dev);
	}
}

/* ---- the timer: --timeout and reconnect attempts ---- */

static void arm_tick(struct ublk_queue *q, struct nbd_conn *c)
{
	static struct __kernel_timespec up = { .tv_sec = 1 }, down = { .tv_nsec = 50000000 };
	struct io_uring_sqe *sqe;

	if (c->ticking)
		return;
	sqe = ublk_queue_bg_sqe(q, NBD_OP_TICK);
	if (!sqe)
		return;
	io_uring_prep_timeout(sqe, c->fd < 0 ? &down : &up, 0, 0);
	sqe->user_data = nbd_ud(c, 0, NBD_OP_TICK) | UBLK_UD_BG;
	c->ticking = true;
}

/* The oldest request sent has waited longer than --timeout: the connection is dead. */
static bool reply_overdue(const struct nbd_conn *c, uint64_t now)
{
	unsigned int tag;

	if (!ublk_ctrl_timeout_ms)
		return false;
	for (tag = 0; tag < c->depth; tag++)
		if (c->reqs[tag].state == REQ_SENT &&
		    now - c->reqs[tag].sent_ms > ublk_ctrl_timeout_ms)
			return true;
	return false;
}

static bool stop_requested(const struct ublk_queue *q)
{
	return __atomic_load_n(&q->dev->stop_requested, __ATOMIC_RELAXED);
}

static void on_tick(struct ublk_queue *q, struct nbd_conn *c)
{
	char why[64];

	c->ticking = false;
	/* del is waiting for the device to stop: what waits for a server fails now */
	if (c->fd < 0 && stop_requested(q)) {
		if (c->fifo_len)
			fail_waiting(q, c);
		return;
	}
	if (c->fd >= 0 && reply_overdue(c, ublk_now_ms())) {
		snprintf(why, sizeof(why), "no reply within %u s", ublk_ctrl_timeout_ms / 1000);
		conn_down(q, c, why);
	}
	if (c->fd < 0)
		try_reconnect(q, c);
	arm_tick(q, c);
}

/* ---- sending ---- */

/* Requests from the FIFO into one SENDMSG, while no other is in flight. */
static void nbd_kick(struct ublk_queue *q, struct nbd_conn *c)
{
	struct io_uring_sqe *sqe;
	unsigned int n = 0;
	uint64_t now;
	int tag;

	if (c->fd < 0 || c->sending || !c->fifo_len)
		return;
	now = ublk_now_ms();
	c->send_bytes = 0;
	/* sendmsg takes UIO_MAXIOV iovecs at most: the rest go next time */
	while (n + 2 <= NBD_IOV_MAX && (tag = fifo_pop(c)) >= 0) {
		struct nbd_req *r = &c->reqs[tag];

		nbd_request_encode(r->hdr, r->type, r->flags,
				   (uint64_t)c->gen << 32 | (unsigned int)tag, r->offset, r->len);
		c->iov[n++] = (struct iovec){ r->hdr, NBD_REQUEST_SIZE };
		c->send_bytes += NBD_REQUEST_SIZE;
		if (r->type == NBD_CMD_WRITE) {
			c->iov[n++] = (struct iovec){ q->ios[tag].buf, r->len };
			c->send_bytes += r->len;
		}
		r->state = REQ_SENT;
		r->sent_ms = now;
	}
	sqe = ublk_queue_tgt_sqe(q, 0);
	if (!sqe) {
		conn_down(q, c, "no room in the ring");
		return;
	}
	c->msg.msg_iov = c->iov;
	c->msg.msg_iovlen = n;
	io_uring_prep_sendmsg(sqe, c->fd, &c->msg, MSG_NOSIGNAL | MSG_WAITALL);
	sqe->user_data = nbd_ud(c, 0, NBD_OP_SEND);
	c->sending = true;
}

static void on_sent(struct ublk_queue *q, struct nbd_conn *c, int res)
{
	char why[64];

	c->sending = false;
	if (res < 0 || (size_t)res != c->send_bytes) {
		snprintf(why, sizeof(why), "send: %s", res < 0 ? strerror(-res) : "cut short");
		conn_down(q, c, why);
		return;
	}
	nbd_kick(q, c);
}

/* ---- receiving ---- */

static void post_recv(struct ublk_queue *q, struct nbd_conn *c, void *buf, size_t len,
		      unsigned int op)
{
	struct io_uring_sqe *sqe = ublk_queue_bg_sqe(q, op);

	if (!sqe) {
		conn_down(q, c, "no room in the ring");
		return;
	}
	io_uring_prep_recv(sqe, c->fd, buf, len, MSG_WAITALL);
	sqe->user_data = nbd_ud(c, 0, op) | UBLK_UD_BG;
	c->receiving = true;
}

static void post_recv_hdr(struct ublk_queue *q, struct nbd_conn *c)
{
	c->recv_tag = -1;
	post_recv(q, c, c->reply, sizeof(c->reply), NBD_OP_RECV_HDR);
}

static void complete_req(struct ublk_queue *q, struct nbd_conn *c, unsigned int tag, int res)
{
	c->reqs[tag].state = REQ_IDLE;
	if (c->down_since_ms || c->failed) {
		c->down_since_ms = 0;
		c->failed = false;
		set_state(q, "up");
	}
	ublk_complete_io(q, tag, res);
}

/* A reply's header: which request, and whether data follows. */
static void on_reply(struct ublk_queue *q, struct nbd_conn *c, int res)
{
	struct nbd_reply r;
	struct nbd_req *req;
	unsigned int tag;

	c->receiving = false;
	if (res != NBD_SIMPLE_REPLY_SIZE) {
		conn_down(q, c, res == 0 ? "the server closed the connection" :
			  res < 0 ? strerror(-res) : "reply cut short");
		return;
	}
	if (nbd_reply_decode(c->reply, &r)) {
		conn_down(q, c, "the server broke the protocol: not a reply");
		return;
	}
	tag = r.cookie & 0xffffffff;
	if (r.cookie >> 32 != c->gen || tag >= c->depth || c->reqs[tag].state != REQ_SENT) {
		conn_down(q, c, "the server broke the protocol: a reply to no request");
		return;
	}
	/*
	 * A server told to quit answers what it holds with NBD_ESHUTDOWN
	 * (nbdkit does): not the request's fault. It waits for a new
	 * connection with the others.
	 */
	if (r.error == -ESHUTDOWN) {
		conn_down(q, c, "the server is shutting down");
		return;
	}
	req = &c->reqs[tag];
	if (req->type == NBD_CMD_READ && !r.error) {
		c->recv_tag = tag;
		post_recv(q, c, q->ios[tag].buf, req->len, NBD_OP_RECV_DATA);
		return;
	}
	complete_req(q, c, tag, r.error ? r.error :
		     req->type == NBD_CMD_WRITE ? (int)req->len : 0);
	post_recv_hdr(q, c);
}

static void on_read_data(struct ublk_queue *q, struct nbd_conn *c, int res)
{
	unsigned int tag = c->recv_tag;

	c->receiving = false;
	if (c->recv_tag < 0 || res != (int)c->reqs[tag].len) {
		conn_down(q, c, res == 0 ? "the server closed the connection" :
			  "read data cut short");
		return;
	}
	complete_req(q, c, tag, res);
	post_recv_hdr(q, c);
}

/* ---- the target interface ---- */

static int nbd_command(const struct ublksrv_io_desc *iod, uint16_t *type, uint16_t *flags)
{
	/* UBLK_IO_F_* are bits of op_flags itself (ublksrv_get_flags() shifts them away) */
	unsigned int io_flags = iod->op_flags;

	*flags = io_flags & UBLK_IO_F_FUA ? NBD_CMD_FLAG_FUA : 0;
	switch (ublksrv_get_op(iod)) {
	case UBLK_IO_OP_READ:
		*type = NBD_CMD_READ;
		*flags = 0;
		return 0;
	case UBLK_IO_OP_WRITE:
		*type = NBD_CMD_WRITE;
		return 0;
	case UBLK_IO_OP_FLUSH:
		*type = NBD_CMD_FLUSH;
		*flags = 0;
		return 0;
	case UBLK_IO_OP_DISCARD:
		*type = NBD_CMD_TRIM;
		return 0;
	case UBLK_IO_OP_WRITE_ZEROES:
		*type = NBD_CMD_WRITE_ZEROES;
		if (io_flags & UBLK_IO_F_NOUNMAP)
			*flags |= NBD_CMD_FLAG_NO_HOLE;
		return 0;
	}
	return -EOPNOTSUPP;
}

static int nbd_queue_io(struct ublk_queue *q, unsigned int tag,
			const struct ublksrv_io_desc *iod)
{
	struct nbd_conn *c = conn_of(q);
	struct nbd_req *r;
	uint64_t len;
	int ret;

	if (tag >= c->depth)
		return -EINVAL;
	r = &c->reqs[tag];
	ret = nbd_command(iod, &r->type, &r->flags);
	if (ret)
		return ret;
	if (c->failed || (c->fd < 0 && stop_requested(q)))
		return -EIO;
	len = (uint64_t)iod->nr_sectors << 9;
	if ((r->type == NBD_CMD_READ || r->type == NBD_CMD_WRITE) &&
	    len > q->dev->info.max_io_buf_bytes)
		return -EINVAL;
	if (len > UINT32_MAX)
		return -EINVAL;
	r->offset = iod->start_sector << 9;
	r->len = r->type == NBD_CMD_FLUSH ? 0 : len;
	if (r->type == NBD_CMD_FLUSH)
		r->offset = 0;
	fifo_push(c, tag);
	if (c->fd >= 0 && !c->receiving && c->recv_tag < 0)
		post_recv_hdr(q, c);
	arm_tick(q, c);
	nbd_kick(q, c);
	return 1;
}

static void nbd_io_done(struct ublk_queue *q, unsigned int tag,
			const struct io_uring_cqe *cqe)
{
	struct nbd_conn *c = conn_of(q);
	unsigned int op = ublk_ud_op(cqe->user_data);

	if (op == NBD_OP_TICK) {
		on_tick(q, c);
		return;
	}
	arm_tick(q, c);	/* in case no SQE was left for it before */
	if (ud_gen(cqe->user_data) != c->gen)
		return;	/* a broken connection's */
	if (op == NBD_OP_SEND)
		on_sent(q, c, cqe->res);
	else if (op == NBD_OP_RECV_HDR)
		on_reply(q, c, cqe->res);
	else if (op == NBD_OP_RECV_DATA)
		on_read_data(q, c, cqe->res);
}

static struct nbd_conn *conn_new(int fd, unsigned int depth)
{
	struct nbd_conn *c = calloc(1, sizeof(*c) + depth * sizeof(c->reqs[0]));

	if (!c)
		return NULL;
	c->fifo = calloc(depth, sizeof(*c->fifo));
	c->iov = calloc(2 * depth, sizeof(*c->iov));
	if (!c->fifo || !c->iov) {
		free(c->fifo);
		free(c->iov);
		free(c);
		return NULL;
	}
	c->fd = fd;
	c->depth = depth;
	c->recv_tag = -1;
	return c;
}

static void conn_free(struct nbd_conn *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		nbd_close(c->fd, 1000);
	free(c->fifo);
	free(c->iov);
	free(c);
}

/* What the export says about blocks, onto the device's block size and size. */
static int nbd_fit_blocks(struct ublk_dev *dev, const struct nbd_export *ex)
{
	struct ublk_dev_opts *o = &dev->opts;
	unsigned int need = ex->min_block > 512 ? ex->min_block : 512;

	if (need > 4096) {
		snprintf(dev->init_err, sizeof(dev->init_err),
			 "the export's minimum block size %u is more than 4096", need);
		return -EINVAL;
	}
	if (!o->block_size_set)
		o->block_size = need;
	if (o->block_size < need) {
		snprintf(dev->init_err, sizeof(dev->init_err),
			 "block size %u is smaller than the export's minimum, %u",
			 o->block_size, need);
		return -EINVAL;
	}
	if (!ex->size || ex->size % o->block_size) {
		snprintf(dev->init_err, sizeof(dev->init_err),
			 "the export's size, %llu bytes, is not a multiple of the block size %u",
			 (unsigned long long)ex->size, o->block_size);
		return -EINVAL;
	}
	o->size = ex->size;
	return 0;
}

static unsigned int ilog2(unsigned int v)
{
	return 31 - __builtin_clz(v);
}

/* The export's flags and block sizes onto ublk's params. */
static void nbd_set_params(const struct ublk_dev *dev, const struct nbd_export *ex,
			   struct ublk_params *p)
{
	const struct ublk_dev_opts *o = &dev->opts;
	unsigned int pref = ex->pref_block, max_bytes = UBLK_IO_BUF_BYTES;

	ublk_build_params(o, p);
	if (pref < o->block_size)
		pref = o->block_size;
	if (pref > 65536)
		pref = 65536;
	p->basic.physical_bs_shift = ilog2(pref);
	p->basic.io_opt_shift = ilog2(pref);
	if (ex->max_block && ex->max_block < max_bytes)
		max_bytes = ex->max_block & ~(o->block_size - 1);
	if (max_bytes >= o->block_size)
		p->basic.max_sectors = max_bytes >> 9;
	if (ex->flags & NBD_FLAG_SEND_FLUSH)
		p->basic.attrs |= UBLK_ATTR_VOLATILE_CACHE;
	if (ex->flags & NBD_FLAG_SEND_FUA)
		p->basic.attrs |= UBLK_ATTR_FUA;
	if (ex->flags & NBD_FLAG_ROTATIONAL)
		p->basic.attrs |= UBLK_ATTR_ROTATIONAL;
	if (o->read_only || !(ex->flags & (NBD_FLAG_SEND_TRIM | NBD_FLAG_SEND_WRITE_ZEROES)))
		return;
	p->types |= UBLK_PARAM_TYPE_DISCARD;
	p->discard.discard_granularity = pref;
	p->discard.max_discard_segments = 1;
	if (ex->flags & NBD_FLAG_SEND_TRIM)
		p->discard.max_discard_sectors = max_bytes >> 9;
	if (ex->flags & NBD_FLAG_SEND_WRITE_ZEROES)
		p->discard.max_write_zeroes_sectors = max_bytes >> 9;
}

static void nbd_deinit(struct ublk_dev *dev)
{
	struct nbd_dev *nd = nbd_of(dev);
	unsigned int i;

	if (!nd)
		return;
	for (i = 0; i < UBLK_MAX_QUEUES; i++)
		conn_free(nd->conns[i]);
	free(nd);
	dev->tgt_data = NULL;
}

/* The other queues' connections: the server allows several (CAN_MULTI_CONN). */
static int nbd_open_more(struct ublk_dev *dev, struct nbd_dev *nd)
{
	unsigned int i;
	int fd;

	for (i = 1; i < dev->opts.nr_queues; i++) {
		fd = nbd_open(nd, false, NBD_CONNECT_MS);
		if (fd < 0) {
			snprintf(dev->init_err, sizeof(dev->init_err), "connection %u: %.100s",
				 i + 1, nd->last_error);
			return fd;
		}
		nd->conns[i] = conn_new(fd, dev->opts.depth);
		if (!nd->conns[i]) {
			close(fd);
			return -ENOMEM;
		}
	}
	return 0;
}

static int nbd_init(struct ublk_dev *dev, struct ublk_params *p)
{
	struct ublk_dev_opts *o = &dev->opts;
	struct nbd_dev *nd = calloc(1, sizeof(*nd));
	int fd, ret;

	if (!nd)
		return -ENOMEM;
	dev->tgt_data = nd;
	nd->state = "up";
	ret = nbd_uri_parse(o->file, &nd->uri, dev->init_err, sizeof(dev->init_err));
	if (ret)
		goto fail;
	fd = nbd_open_first(nd, o);
	if (fd < 0) {
		snprintf(dev->init_err, sizeof(dev->init_err), "%.120s", nd->last_error);
		ret = fd;
		goto fail;
	}
	nd->conns[0] = conn_new(fd, o->depth);
	if (!nd->conns[0]) {
		close(fd);
		ret = -ENOMEM;
		goto fail;
	}
	if ((nd->ex.flags & NBD_FLAG_READ_ONLY) && !o->read_only) {
		snprintf(dev->init_err, sizeof(dev->init_err),
			 "the export is read-only: add it with --read-only (-r)");
		ret = -EROFS;
		goto fail;
	}
	if (o->recover && o->size && o->size != nd->ex.size) {
		snprintf(dev->init_err, sizeof(dev->init_err),
			 "the export has %llu bytes, the device %llu",
			 (unsigned long long)nd->ex.size, (unsigned long long)o->size);
		ret = -ESTALE;
		goto fail;
	}
	ret = nbd_fit_blocks(dev, &nd->ex);
	if (ret)
		goto fail;
	/* one connection each needs the server's word that they see one another's writes */
	if (!(nd->ex.flags & NBD_FLAG_CAN_MULTI_CONN)) {
		if (o->recover && o->nr_queues > 1) {
			snprintf(dev->init_err, sizeof(dev->init_err),
				 "the device has %u queues, and the server no longer allows "
				 "several connections", o->nr_queues);
			ret = -EINVAL;
			goto fail;
		}
		o->nr_queues = 1;
	}
	ret = nbd_open_more(dev, nd);
	if (ret)
		goto fail;
	nbd_set_params(dev, &nd->ex, p);
	return 0;
fail:
	nbd_deinit(dev);
	return ret;
}

static int nbd_describe(const struct ublk_dev *dev, char *buf, size_t len)
{
	const struct nbd_dev *nd = nbd_of(dev);
	char err[UBLK_JSON_ESCAPED_LEN(60)], last[61];
	int n;

	snprintf(last, sizeof(last), "%.60s", nd->last_error);
	if (ublk_json_escape(last, err, sizeof(err)) < 0)
		err[0] = 0;
	n = snprintf(buf, len, "{\"name\":\"nbd\",\"export_size\":%llu,\"connection\":\"%s\","
		     "\"reconnects\":%u,\"last_error\":\"%s\"}",
		     (unsigned long long)nd->ex.size, nd->state,
		     __atomic_load_n(&nd->reconnects, __ATOMIC_RELAXED), err);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

const struct ublk_tgt_ops nbd_tgt_ops = {
	.name		= "nbd",
	.init		= nbd_init,
	.deinit		= nbd_deinit,
	.queue_io	= nbd_queue_io,
	.io_done	= nbd_io_done,
	.describe	= nbd_describe,
};
