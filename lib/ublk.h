/* SPDX-License-Identifier: MIT */
/*
 * ublkctl's internal library: control plane, data plane, targets' interface
 * and device state. Functions here return 0 or a negative errno and never
 * print or exit; the applets decide what the user sees.
 */
#ifndef UBLKCTL_UBLK_H
#define UBLKCTL_UBLK_H

#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <liburing.h>

#include "uapi.h"

#define UBLK_CONTROL_PATH	"/dev/ublk-control"
#define UBLK_STATE_DIR		"/run/ublk"
#define UBLK_DEF_QUEUES		1
#define UBLK_DEF_DEPTH		128
#define UBLK_DEF_NULL_SIZE	(250ULL << 30)
#define UBLK_IO_BUF_BYTES	(512U << 10)
#define UBLK_MAX_QUEUES		64	/* what we accept; the UAPI allows more */
#define UBLK_MAX_DEV_ID		((1U << 20) - 1)	/* the driver's minor space */
#define UBLK_MAX_CONNECT_WAIT	3600			/* nbd: add --wait, seconds */
#define UBLK_TARGET_LEN		16
#define UBLK_JSON_LEN		512

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* What the user asked for. Everything needed to serve the device again. */
struct ublk_dev_opts {
	int dev_id;			/* -1: the kernel picks the first free */
	char target[UBLK_TARGET_LEN];
	unsigned int nr_queues;
	unsigned int depth;
	unsigned int block_size;	/* logical block size, 512..4096 */
	bool block_size_set;		/* given (-b) or the device's: kept (not saved) */
	uint64_t size;			/* bytes; loop: 0 means the file's */
	char file[PATH_MAX];		/* loop: absolute backing file path */
	bool read_only;
	bool direct_io;
	bool foreground;
	bool root_daemon;		/* may serve the root filesystem: see server_pin() */
	uint64_t flags;			/* extra UBLK_F_* asked for */
	unsigned int reconnect_timeout;	/* nbd: seconds IO waits for a server; UINT_MAX: for ever */
	unsigned int connect_wait;	/* nbd: seconds add keeps trying to reach it (not saved) */
	bool recover;			/* serve an existing device again (not saved) */
	uint64_t cookie;		/* ADD_DEV's ublksrv_flags: whose device it is (not saved) */
};

/* Zero copy: the request's pages become io_uring buffer <tag> of the queue's ring. */
#define UBLK_ZERO_COPY_FLAGS (UBLK_F_SUPPORT_ZERO_COPY | UBLK_F_AUTO_BUF_REG)

/* The recovery flags --recovery sets, and what the driver must have. */
#define UBLK_RECOVERY_FLAGS (UBLK_F_USER_RECOVERY | UBLK_F_USER_RECOVERY_REISSUE | \
			     UBLK_F_USER_RECOVERY_FAIL_IO)

void ublk_dev_opts_init(struct ublk_dev_opts *o);
/* argv[0] of this process, for servers to rename themselves (main sets it) */
extern char *ublk_argv0;

/* ---- parse.c: validated number parsing ---- */
int ublk_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
int ublk_parse_uint(const char *s, unsigned int min, unsigned int max,
		    unsigned int *out);
int ublk_parse_size(const char *s, uint64_t *out);
int ublk_format_size(uint64_t bytes, char *buf, size_t len);

/* ---- ctrl.c: /dev/ublk-control ---- */
struct ublk_ctrl {
	int fd;
	struct io_uring ring;
	uint64_t features;	/* GET_FEATURES, 0 when the driver lacks it */
	bool ioctl_encode;	/* use UBLK_U_CMD_* opcodes */
};

/*
 * Every command's deadline (0: none, wait as long as the driver takes);
 * past it the command returns -ETIMEDOUT and ublk_ctrl_strerror() names it.
 */
#define UBLK_CTRL_TIMEOUT_MS	30000
extern unsigned int ublk_ctrl_timeout_ms;
const char *ublk_ctrl_strerror(int err);

int ublk_ctrl_open(struct ublk_ctrl *c);
void ublk_ctrl_close(struct ublk_ctrl *c);
int ublk_ctrl_add_dev(struct ublk_ctrl *c, struct ublksrv_ctrl_dev_info *info);
int ublk_ctrl_del_dev(struct ublk_ctrl *c, unsigned int id, bool async);
int ublk_ctrl_start_dev(struct ublk_ctrl *c, unsigned int id, pid_t pid);
int ublk_ctrl_stop_dev(struct ublk_ctrl *c, unsigned int id);
/* A started device's new size, in 512-byte sectors (UBLK_F_UPDATE_SIZE) */
int ublk_ctrl_update_size(struct ublk_ctrl *c, unsigned int id, uint64_t sectors);
/* STOP_DEV only when nothing has the device open (UBLK_F_SAFE_STOP_DEV): -EBUSY */
int ublk_ctrl_try_stop_dev(struct ublk_ctrl *c, unsigned int id);
/* wait_ms: for the server to answer what it holds; 0: no limit */
int ublk_ctrl_quiesce_dev(struct ublk_ctrl *c, unsigned int id, unsigned int wait_ms);
int ublk_ctrl_start_recovery(struct ublk_ctrl *c, unsigned int id);
int ublk_ctrl_end_recovery(struct ublk_ctrl *c, unsigned int id, pid_t pid);
int ublk_ctrl_set_params(struct ublk_ctrl *c, unsigned int id,
			 struct ublk_params *p);
int ublk_ctrl_get_params(struct ublk_ctrl *c, unsigned int id,
			 struct ublk_params *p);
int ublk_ctrl_get_info(struct ublk_ctrl *c, unsigned int id,
		       struct ublksrv_ctrl_dev_info *info);
int ublk_ctrl_get_affinity(struct ublk_ctrl *c, unsigned int id,
			   unsigned int q_id, cpu_set_t *set);
int ublk_ctrl_get_features(struct ublk_ctrl *c, uint64_t *features);
/*
 * Device ids present in sysfs, sorted, in *ids (to free; NULL when none):
 * however many the driver has. Returns their number or -errno.
 */
int ublk_list_ids(unsigned int **ids);
const char *ublk_state_name(unsigned int state);

/* ---- params.c: what ADD_DEV and SET_PARAMS get ---- */
void ublk_build_dev_info(const struct ublk_dev_opts *o, uint64_t features,
			 struct ublksrv_ctrl_dev_info *info);
void ublk_build_params(const struct ublk_dev_opts *o, struct ublk_params *p);
bool ublk_dev_info_servable(const struct ublksrv_ctrl_dev_info *info);

/* ---- queue.c and the target interface ---- */
struct ublk_dev;
struct ublk_queue;

/*
 * A target. Every callback but init runs on the queue's own thread, and the
 * queue loop knows nothing else about the target.
 */
struct ublk_tgt_ops {
	const char *name;
	/*
	 * Open backing resources, settle opts->size, fill params, and put in
	 * dev->tgt_flags the UBLK_F_* it would take if the driver offers them.
	 * Required.
	 */
	int (*init)(struct ublk_dev *dev, struct ublk_params *p);
	/* Undo init. Optional. */
	void (*deinit)(struct ublk_dev *dev);
	/*
	 * Start one request. Returns the number of target SQEs queued with
	 * ublk_queue_tgt_sqe(), 0 after completing it with ublk_complete_io(),
	 * or -errno to fail it. Required.
	 */
	int (*queue_io)(struct ublk_queue *q, unsigned int tag,
			const struct ublksrv_io_desc *iod);
	/* One target SQE completed. Required when queue_io queues SQEs. */
	void (*io_done)(struct ublk_queue *q, unsigned int tag,
			const struct io_uring_cqe *cqe);
	/* A short JSON object describing the target, for state and list. */
	int (*describe)(const struct ublk_dev *dev, char *buf, size_t len);
};

extern const struct ublk_tgt_ops null_tgt_ops;
extern const struct ublk_tgt_ops loop_tgt_ops;
extern const struct ublk_tgt_ops nbd_tgt_ops;
/* loop with O_DIRECT: the block size for a backing that needs blocks of need bytes */
unsigned int ublk_loop_block_size(unsigned int want, bool fixed, unsigned int need);
const struct ublk_tgt_ops *ublk_find_target(const char *name);

struct ublk_io {
	struct io_uring_sqe commit;	/* this tag's COMMIT_AND_FETCH, made at setup */
	void *buf;		/* copy mode only; zero and user copy have none */
	int zc_res;		/* zero copy: the file IO's result so far */
	unsigned int zc_pending;	/* zero copy: CQEs still to come */
};

struct ublk_cmd_ops;

struct ublk_queue {
	struct ublk_dev *dev;
	unsigned int q_id;
	unsigned int depth;
	struct io_uring ring;
	const struct ublk_cmd_ops *cmd_ops;	/* per tag or batch: chosen at start */
	const struct ublksrv_io_desc *descs;
	size_t descs_len;
	char *bufs;			/* IO buffers: one per tag, or with user copy one */
	size_t bufs_len;
	unsigned int cmds_inflight;
	unsigned int tgt_inflight;
	unsigned int tags_ended;	/* per tag: commands that ended without a request */
	bool stopping;
	pid_t tid;
	pthread_t thread;
	int error;
	/* UBLK_F_BATCH_IO: see batch.c */
	void *batch_map;
	size_t batch_len;
	struct io_uring_buf_ring *fetch_ring;
	unsigned int fetch_nr;		/* buffers in the ring */
	uint16_t *fetch_tags;		/* the buffers, up to 128 tags each */
	char *commit[2];		/* element arrays: one fills, one may be in the SQ */
	unsigned int commit_cur;
	unsigned int commit_nr;
	unsigned int elem_bytes;
	uint16_t batch_flags;
	struct ublk_io ios[];
};

struct ublk_dev {
	struct ublk_dev_opts opts;
	struct ublksrv_ctrl_dev_info info;
	const struct ublk_tgt_ops *ops;
	int cdev_fd;
	int backing_fd;			/* -1 when the target has none */
	bool backing_in_memory;		/* tmpfs or ramfs: see loop_queue_sync() */
	void *tgt_data;			/* the target's own, from init to deinit */
	bool stop_requested;		/* SIGTERM: the device is being stopped (atomic) */
	uint64_t tgt_flags;		/* what init would like: see ublk_tgt_ops */
	uint64_t io_cmd_fetch;		/* FETCH_REQ opcode in use */
	uint64_t io_cmd_commit;		/* COMMIT_AND_FETCH_REQ opcode */
	cpu_set_t *affinity;		/* per queue, may be NULL */
	struct ublk_queue *queues[UBLK_MAX_QUEUES];
	/* start-up rendezvous with the queue threads */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned int queues_ready;
	unsigned int queues_live;
	int queue_error;
	char init_err[128];		/* why init failed, when -errno says too little */
};

/* Queue one target SQE for tag; returns it or NULL when the SQ is full. */
struct io_uring_sqe *ublk_queue_tgt_sqe(struct ublk_queue *q, unsigned int tag);
/*
 * A target SQE that runs in the background (a socket's receive, a timer),
 * for op (the user_data op byte; bits 24-55 of user_data are free for the
 * target): it does not hold the queue open when the device stops, the
 * ring's exit cancels it. Its CQE reaches io_done with tag 0.
 */
#define UBLK_UD_BG	(1ULL << 62)
struct io_uring_sqe *ublk_queue_bg_sqe(struct ublk_queue *q, unsigned int op);
/* Commit the result of tag and fetch its next request. */
void ublk_complete_io(struct ublk_queue *q, unsigned int tag, int res);
int ublk_queues_start(struct ublk_dev *dev);
void ublk_queues_join(struct ublk_dev *dev);
/* The header of every ublk IO command: fixed file 0 (/dev/ublkcN) and op. */
static inline void ublk_sqe_io_cmd(struct io_uring_sqe *sqe, unsigned int op)
{
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = 0;
	sqe->flags = IOSQE_FIXED_FILE;
	sqe->cmd_op = op;
}
/*
 * How a queue trades commands with the driver: per tag (FETCH_REQ, then
 * COMMIT_AND_FETCH_REQ for ever; queue.c) or in batches (UBLK_F_BATCH_IO;
 * batch.c). The queue picks one at start and calls nothing else of it; a
 * mode uses only the two queue services below, so the dependency runs one
 * way: mode -> queue.
 */
struct ublk_cmd_ops {
	int (*setup)(struct ublk_queue *q);	/* once the ring exists; optional */
	void (*teardown)(struct ublk_queue *q);	/* optional; also after a failed setup */
	/* the first commands, queued: the queue submits and reaps at once */
	void (*start)(struct ublk_queue *q);
	/* commit tag's result (and fetch its next request) */
	void (*complete)(struct ublk_queue *q, unsigned int tag, int res);
	/* before each submit: what the last completions produced; optional */
	void (*flush)(struct ublk_queue *q);
	/* a CQE of one of the mode's own commands */
	void (*handle_cqe)(struct ublk_queue *q, const struct io_uring_cqe *cqe);
};
extern const struct ublk_cmd_ops ublk_tag_cmd_ops;
extern const struct ublk_cmd_ops ublk_batch_cmd_ops;
/* The queue's services to a mode: an SQE (NULL if the SQ is full), and a new request for tag. */
struct io_uring_sqe *ublk_queue_sqe(struct ublk_queue *q);
void ublk_queue_dispatch(struct ublk_queue *q, unsigned int tag);

/* user_data layout shared by the queue loop and the targets */
static inline uint64_t ublk_user_data(unsigned int tag, unsigned int op,
				      bool tgt)
{
	return tag | (uint64_t)(op & 0xff) << 16 | (uint64_t)tgt << 63;
}
/* Target user_data ops of the zero-copy buffer commands. */
#define UBLK_OP_BUF_REG		0xfe
#define UBLK_OP_BUF_UNREG	0xff

static inline bool ublk_dev_zero_copy(const struct ublk_dev *dev)
{
	return dev->info.flags & UBLK_F_SUPPORT_ZERO_COPY;
}

static inline bool ublk_dev_auto_buf_reg(const struct ublk_dev *dev)
{
	return dev->info.flags & UBLK_F_AUTO_BUF_REG;
}

/*
 * Zero copy: a register or unregister command for tag's request buffer
 * (buffer index tag), on a target SQE already taken, or on a new one.
 */
void ublk_prep_buf_cmd(struct ublk_queue *q, struct io_uring_sqe *sqe,
		       unsigned int tag, bool reg);
struct io_uring_sqe *ublk_queue_buf_cmd(struct ublk_queue *q, unsigned int tag, bool reg);

static inline unsigned int ublk_ud_tag(uint64_t ud) { return ud & 0xffff; }
static inline unsigned int ublk_ud_op(uint64_t ud) { return (ud >> 16) & 0xff; }
static inline bool ublk_ud_is_tgt(uint64_t ud) { return ud >> 63; }

/* ---- state.c: /run/ublk/<id> ---- */
struct ublk_state {
	struct ublk_dev_opts opts;
	pid_t pid;
	uint64_t start_time;		/* the server's, see ublk_pid_start_time(); 0: unknown */
	char tgt_json[UBLK_JSON_LEN];
	pid_t tids[UBLK_MAX_QUEUES];
};

const char *ublk_state_dir(void);
int ublk_state_path(unsigned int id, char *buf, size_t len);
int ublk_state_format(const struct ublk_state *s, char *buf, size_t len);
int ublk_state_parse(const char *text, struct ublk_state *s);
int ublk_state_write(unsigned int id, const struct ublk_state *s);
int ublk_state_read(unsigned int id, struct ublk_state *s);
int ublk_state_remove(unsigned int id);
/* Create the state directory (0700), or check an existing one is safe. */
int ublk_state_dir_prepare(void);
const char *ublk_state_dir_strerror(int err);

/* ---- lock.c: the per-device locks ---- */
/*
 * Device id's lock, for add, del and recover: a descriptor to give to
 * ublk_unlock(), or -EBUSY after timeout_ms (0: wait for ever), or -errno.
 */
#define UBLK_LOCK_TIMEOUT_MS	90000
int ublk_lock_dev(unsigned int id, unsigned int timeout_ms);
void ublk_unlock(int lock_fd);

/* ---- server.c: the per-device server process ---- */
struct ublk_spawn_result {
	int dev_id;
	pid_t pid;
	uint64_t start_time;	/* the server's: what proves pid is still it */
	int report_fd;		/* open until ublk_server_confirm() */
	int lock_fd;		/* the device's lock, held until then too */
};
/*
 * Create and serve a device. Without opts->foreground it forks a server and
 * returns once /dev/ublkbN is usable, with err (len bytes) describing any
 * failure. With foreground it serves in this process until the device stops.
 */
int ublk_server_spawn(const struct ublk_dev_opts *o,
		      struct ublk_spawn_result *res, char *err, size_t len);
/*
 * After a spawn that succeeded, once the user has been told: until then a
 * killed add (Ctrl-C, timeout) makes a new device's server remove it.
 */
void ublk_server_confirm(struct ublk_spawn_result *res);
/* Write the device's state file from what it serves now; any thread. */
int ublk_dev_save_state(struct ublk_dev *dev);

/* ---- users.c ---- */
/*
 * What uses /dev/ublkbN or its partitions (holders, mounts, processes
 * with it open), "; "-separated into buf; their number, or -ENOMEM.
 */
int ublk_dev_users(unsigned int id, char *buf, size_t len);

/* ---- teardown.c ---- */
/* Stop and delete device id, wait for its server; returns 0 or -errno. */
int ublk_dev_remove(struct ublk_ctrl *c, unsigned int id, bool async,
		    unsigned int timeout_ms);
/*
 * Undo a start-up that did not finish: the server is gone or going. The
 * device is removed only when its ublksrv_flags hold cookie (ADD_DEV
 * stored it): the server may have died before it could report the id,
 * and an id alone could name someone else's device.
 */
void ublk_start_undo(int id, uint64_t cookie, pid_t pid, uint64_t start_time);
/* The server's last step, once its queues have ended. */
void ublk_server_exit(struct ublk_ctrl *c, unsigned int id, bool self_stop);

/* ---- util.c ---- */
bool ublk_pid_alive(pid_t pid);
uint64_t ublk_pid_start_time(pid_t pid);
int ublk_pidfd_verified(pid_t pid, uint64_t start_time);
int ublk_keep_fds(int *fds, unsigned int n);
int ublk_close_inherited(int keep);
int ublk_write_all(int fd, const void *buf, size_t len);
uint64_t ublk_now_ms(void);	/* CLOCK_MONOTONIC */
int ublk_close_from_walk(int first);	/* close_range's fallback, for tests too */
int ublk_wait_node(const char *path, const char *sysfs_dev, mode_t type,
		   unsigned int timeout_ms);
void ublk_sleep_ms(unsigned int ms);
/* /dev/ublkbN's size in bytes as the kernel has it, or fallback when unknown */
uint64_t ublk_dev_capacity(unsigned int id, uint64_t fallback);
/*
 * A small text file into *text (to free), NUL-terminated. Only a regular
 * file is opened (a FIFO or a device could block, or act on being
 * opened). Returns 0, -errno, -EFBIG past max bytes, -EILSEQ on a NUL byte.
 */
int ublk_read_text(const char *path, size_t max, char **text);
/* At most 6 bytes ("\u001f") per byte of input, and the NUL. */
#define UBLK_JSON_ESCAPED_LEN(n)	(6 * (n) + 1)
int ublk_json_escape(const char *s, char *buf, size_t len);
/*
 * What to say, in one line, when /dev/ublk-control is missing: "ublk
 * driver not loaded", then modprobe when the running kernel's modules.dep
 * or modules.builtin (in /lib/modules) has ublk_drv, else that it has none
 * and what provides one. _at: another modules root and release, for tests.
 */
const char *ublk_no_driver_msg(void);
const char *ublk_no_driver_msg_at(const char *modules, const char *release);

#endif
