/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ublk_drv: userspace block device driver, ublkctl's own implementation.
 *
 * Shared definitions of the module's three parts: the control device
 * (ctrl.c), the per-device char device that servers drive (io.c) and the
 * block device with its blk-mq queues (blk.c).
 */
#ifndef UBLK_DRV_H
#define UBLK_DRV_H

#include <linux/blk-mq.h>
#include <linux/cdev.h>
#include <linux/device.h>
#include <linux/io_uring/cmd.h>
#include <linux/mutex.h>
#include <linux/refcount.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/ublk_cmd.h>

/*
 * The module follows the newest UAPI: build.sh force-includes Debian
 * unstable's ublk_cmd.h. Fail early rather than build a module that
 * silently lacks the newer features.
 */
#ifndef UBLK_F_UPDATE_SIZE
#error "ublk_cmd.h is too old: build with UBLK_UAPI_H=<newest linux/ublk_cmd.h>"
#endif

#define UBLK_DRV_VERSION	"0.3"
#define UBLK_MINORS		(1U << MINORBITS)

/* What this module implements; GET_FEATURES reports exactly this. */
#define UBLK_FEATURES	(UBLK_F_URING_CMD_COMP_IN_TASK | UBLK_F_NEED_GET_DATA | \
			 UBLK_F_USER_RECOVERY | UBLK_F_USER_RECOVERY_REISSUE | \
			 UBLK_F_CMD_IOCTL_ENCODE | UBLK_F_USER_COPY | \
			 UBLK_F_USER_RECOVERY_FAIL_IO | UBLK_F_UPDATE_SIZE)

/*
 * Flags the newest UAPI defines that this module does not implement: like
 * the in-tree driver, ADD_DEV drops them and hands back what is left, so a
 * server can see what it got. Bits beyond the UAPI are rejected.
 */
#define UBLK_F_KNOWN	(GENMASK_ULL(19, 0))

/* Param types this module understands in SET_PARAMS. */
#define UBLK_PARAM_TYPES (UBLK_PARAM_TYPE_BASIC | UBLK_PARAM_TYPE_DISCARD | \
			  UBLK_PARAM_TYPE_DEVT | UBLK_PARAM_TYPE_DMA_ALIGN | \
			  UBLK_PARAM_TYPE_SEGMENT)

/*
 * Life of one tag's command slot. The queue lock guards every change.
 *
 *   IDLE --FETCH--> ARMING --> FETCHED --queue_rq--> DISPATCHING --tw-->
 *   OWNED (or NEED_DATA --NEED_GET_DATA, via COMPLETING--> OWNED)
 *   --COMMIT--> FETCHED again, the request ended just after.
 *
 * ARMING, DISPATCHING and COMPLETING belong to the one context moving the
 * slot on; everyone else leaves such a slot alone.
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
	return io_uring_cmd_to_pdu(cmd, struct ublk_cmd_pdu);
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
	struct ublk_queue *queues[];
};

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

/* main.c */
extern struct workqueue_struct *ublk_wq;
extern const struct class ublk_chr_class;
extern dev_t ublk_chr_devt;
struct ublk_device *ublk_get_device(u32 id);
void ublk_put_device(struct ublk_device *ub);
int ublk_add_device(struct ublksrv_ctrl_dev_info *info, struct ublk_device **out);
void ublk_remove_device(struct ublk_device *ub);
bool ublk_device_freed(u32 id);
extern wait_queue_head_t ublk_freed_wait;

/* ctrl.c */
int ublk_ctrl_init(void);
void ublk_ctrl_exit(void);

/* io.c */
extern const struct file_operations ublk_ch_fops;
size_t ublk_copy_rq(struct request *rq, size_t offset, struct iov_iter *iter);
int ublk_copy_rq_user(struct request *rq, u64 addr, size_t len, int dir);

/* blk.c */
extern const struct blk_mq_ops ublk_mq_ops;
int ublk_start_disk(struct ublk_device *ub);
void ublk_stop_disk(struct ublk_device *ub);
void ublk_srv_gone(struct ublk_device *ub);
void ublk_nosrv_work(struct work_struct *work);
void ublk_abort_rq(struct ublk_device *ub, struct request *rq, bool seen);
void ublk_put_request(struct ublk_device *ub, struct ublk_io *io);
int ublk_reset_queues(struct ublk_device *ub);
int ublk_validate_params(const struct ublk_device *ub, const struct ublk_params *p);

#endif
