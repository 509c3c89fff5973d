/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ublk_drv: userspace block device driver, ublkctl's own implementation.
 *
 * Shared definitions of the module's files; their order is at the end.
 */
#ifndef UBLK_DRV_H
#define UBLK_DRV_H

#include <linux/blk-mq.h>
#include <linux/cdev.h>
#include <linux/device.h>
#include <linux/mutex.h>
#include <linux/refcount.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/ublk_cmd.h>
#include "compat.h"

/*
 * The module follows the newest UAPI: build.sh force-includes Debian
 * unstable's ublk_cmd.h. Fail early rather than build a module that
 * silently lacks the newer features.
 */
#ifndef UBLK_F_UPDATE_SIZE
#error "ublk_cmd.h is too old: build with UBLK_UAPI_H=<newest linux/ublk_cmd.h>"
#endif

#define UBLK_DRV_VERSION	"0.4"
#define UBLK_MINORS		(1U << MINORBITS)

/* What this module implements; GET_FEATURES reports exactly this. */
#define UBLK_FEATURES	(UBLK_F_URING_CMD_COMP_IN_TASK | UBLK_F_NEED_GET_DATA | \
			 UBLK_F_USER_RECOVERY | UBLK_F_USER_RECOVERY_REISSUE | \
			 UBLK_F_CMD_IOCTL_ENCODE | UBLK_F_USER_COPY | \
			 UBLK_F_USER_RECOVERY_FAIL_IO | UBLK_F_UPDATE_SIZE | \
			 UBLK_F_QUIESCE)

/* Param types this module understands in SET_PARAMS. */
#define UBLK_PARAM_TYPES (UBLK_PARAM_TYPE_BASIC | UBLK_PARAM_TYPE_DISCARD | \
			  UBLK_PARAM_TYPE_DEVT | UBLK_PARAM_TYPE_DMA_ALIGN | \
			  UBLK_PARAM_TYPE_SEGMENT)

/*
 * Life of one tag's command slot. Every change goes through ublk_io_set(),
 * under the queue lock.
 *
 *   IDLE --FETCH--> ARMING --> FETCHED --queue_rq--> DISPATCHING --tw-->
 *   OWNED (or NEED_DATA --NEED_GET_DATA, via COMPLETING--> OWNED)
 *   --COMMIT--> FETCHED again, the request ended just after.
 *   Any state --server gone or stopped--> IDLE, its request ended or parked.
 *
 * ARMING, DISPATCHING and COMPLETING belong to the one context moving the
 * slot on; everyone else leaves such a slot alone.
 *
 * Life of a device (info.state), changed only by ublk_set_state() under
 * ub->mutex, which warns on any other move:
 *
 *   DEAD --START_DEV--> LIVE --server gone, recovery--> QUIESCED (requeue,
 *   reissue) or FAIL_IO --END_USER_RECOVERY--> LIVE; LIVE --QUIESCE_DEV-->
 *   QUIESCED; any state --STOP_DEV, DEL_DEV, server gone without
 *   recovery--> DEAD.
 */
enum ublk_io_state {
	UBLK_IO_IDLE,		/* no command, no request */
	UBLK_IO_ARMING,		/* a fetch is being published */
	UBLK_IO_FETCHED,	/* we hold the server's command */
	UBLK_IO_DISPATCHING,	/* request handed to task work */
	UBLK_IO_NEED_DATA,	/* server must send NEED_GET_DATA */
	UBLK_IO_OWNED,		/* request is with the server */
	UBLK_IO_COMPLETING,	/* NEED_GET_DATA is copying the write's data */
};

/* io->res value asking ublk_put_request() to requeue, not complete. */
#define UBLK_RES_REQUEUE	INT_MIN

struct ublk_io {
	struct io_uring_cmd *cmd;
	struct request *rq;
	u64 addr;
	int res;
	u8 state;
	/* base reference of the server's turn, plus one per user copy */
	refcount_t ref;
};

struct ublk_device;
struct ublk_queue;

/* What a command carries for the cancel and task-work callbacks. */
struct ublk_cmd_pdu {
	struct ublk_queue *ubq;
	u16 tag;
};

static inline struct ublk_cmd_pdu *ublk_pdu(struct io_uring_cmd *cmd)
{
	return ublk_cmd_to_pdu(cmd, struct ublk_cmd_pdu);
}

struct ublk_queue {
	struct ublk_device *ub;
	spinlock_t lock;
	u16 q_id;
	u16 depth;
	/* no server: no fetches, no dispatch */
	bool dead;
	unsigned int nr_fetched;
	/* the task that fetched first; only it may send commands */
	struct task_struct *daemon;
	/* the ublksrv_io_desc array the server maps read-only */
	struct ublksrv_io_desc *descs;
	unsigned int descs_order;
	struct ublk_io ios[];
};

/* ub->flags bits */
enum {
	UB_OPEN,		/* /dev/ublkcN is open */
	UB_SRV_GONE,		/* this server generation died */
	UB_DELETED,		/* DEL_DEV ran */
	UB_SRV_STOPPED,		/* STOP_DEV ended this server's fetches */
};

struct ublk_device {
	struct ublksrv_ctrl_dev_info info;
	struct ublk_params params;
	/* serialises control commands and device state changes */
	struct mutex mutex;
	unsigned long flags;
	struct device cdev_dev;
	struct cdev cdev;
	struct blk_mq_tag_set tag_set;
	bool tag_set_ready;
	struct gendisk *disk;
	/* recovery with requeue or reissue: park IO while no server runs */
	bool requeue_ok;
	/* FAIL_IO state: fail every request at once */
	bool fail_io;
	atomic_t nr_queues_ready;
	wait_queue_head_t wait;
	struct work_struct nosrv_work;
	/* kernels without cancelable commands: looks for exiting servers */
	struct delayed_work watch_work;
	struct ublk_queue *queues[];
};

static inline void ublk_io_set(struct ublk_queue *ubq, struct ublk_io *io,
			       enum ublk_io_state state)
{
	lockdep_assert_held(&ubq->lock);
	io->state = state;
}

static inline bool ublk_recoverable(const struct ublk_device *ub)
{
	return ub->info.flags & UBLK_F_USER_RECOVERY;
}

static inline bool ublk_user_copy(const struct ublk_device *ub)
{
	return ub->info.flags & UBLK_F_USER_COPY;
}

static inline bool ublk_need_get_data(const struct ublk_device *ub)
{
	return ub->info.flags & UBLK_F_NEED_GET_DATA;
}

static inline bool ublk_all_queues_ready(struct ublk_device *ub)
{
	return atomic_read(&ub->nr_queues_ready) == ub->info.nr_hw_queues;
}

/* This server generation can serve no more: it died, was stopped or deleted. */
static inline bool ublk_srv_ended(struct ublk_device *ub)
{
	return test_bit(UB_SRV_GONE, &ub->flags) ||
	       test_bit(UB_SRV_STOPPED, &ub->flags) ||
	       test_bit(UB_DELETED, &ub->flags);
}

/*
 * The module's files, each owning one thing and calling only the files
 * listed after it (module.c, at the top, calls init and exit of each):
 *
 *   ctrl.c    /dev/ublk-control: the control commands
 *   dev.c     a device's life: id, queues, tag set, /dev/ublkcN
 *   io.c      /dev/ublkcN: the server's FETCH/COMMIT commands, user copy
 *   blk.c     /dev/ublkbN: blk-mq dispatch, start/stop, server death
 *   params.c  SET_PARAMS values checked, and made queue limits
 *   rq.c      one request: its end, requeue and data copies
 */

/* ctrl.c */
int ublk_ctrl_init(void);
void ublk_ctrl_exit(void);

/* dev.c */
int ublk_dev_init(void);
void ublk_dev_exit(void);
struct ublk_device *ublk_get_device(u32 id);
int ublk_add_device(struct ublksrv_ctrl_dev_info *info, struct ublk_device **out);
void ublk_remove_device(struct ublk_device *ub);
void ublk_remove_device_detached(struct ublk_device *ub);
void ublk_remove_all(void);
bool ublk_device_freed(u32 id);
extern wait_queue_head_t ublk_freed_wait;

/* the release function, in dev.c, runs at the last put */
static inline void ublk_put_device(struct ublk_device *ub)
{
	put_device(&ub->cdev_dev);
}

/* io.c */
extern const struct file_operations ublk_ch_fops;

/* blk.c */
int ublk_blk_init(void);
void ublk_blk_exit(void);
extern const struct blk_mq_ops ublk_mq_ops;
int ublk_start_disk(struct ublk_device *ub);
void ublk_stop_disk(struct ublk_device *ub);
void ublk_set_state(struct ublk_device *ub, u16 state);
void ublk_srv_gone(struct ublk_device *ub);
void ublk_nosrv_work(struct work_struct *work);
void ublk_watch_work(struct work_struct *work);
void ublk_watch_start(struct ublk_device *ub);
void ublk_watch_stop(struct ublk_device *ub);
int ublk_reset_queues(struct ublk_device *ub);
int ublk_quiesce_disk(struct ublk_device *ub, unsigned int timeout_ms);

/* params.c */
int ublk_check_size(const struct ublk_param_basic *p, u64 sectors);
int ublk_validate_params(const struct ublk_device *ub, const struct ublk_params *p);
void ublk_fill_limits(const struct ublk_params *p, struct ublk_limits *ul);

/* rq.c */
void ublk_abort_rq(struct ublk_device *ub, struct request *rq, bool seen);
void ublk_put_request(struct ublk_device *ub, struct ublk_io *io);
size_t ublk_copy_rq(struct request *rq, size_t offset, struct iov_iter *iter);
int ublk_copy_rq_user(struct request *rq, u64 addr, size_t len, int dir);

#endif
