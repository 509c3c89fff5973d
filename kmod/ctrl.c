// SPDX-License-Identifier: GPL-2.0
/*
 * ublk_drv: /dev/ublk-control, the control commands (ADD_DEV, START_DEV,
 * SET_PARAMS, recovery, ...) sent as io_uring commands on SQE128 rings.
 */
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/capability.h>
#include <linux/blk-mq.h>
#include <linux/delay.h>
#include "ublk.h"

/*
 * For tests of servers that must survive a control command that never
 * completes (some distribution kernels hang in ADD_DEV): the command whose
 * opcode number is set here sleeps, uninterruptibly, until it is cleared.
 */
static unsigned int debug_stall_cmd;
module_param(debug_stall_cmd, uint, 0644);
MODULE_PARM_DESC(debug_stall_cmd, "testing only: control opcode number that stalls until cleared");

static void ublk_debug_stall(int op)
{
	while (op && READ_ONCE(debug_stall_cmd) == op)
		msleep(100);
}

/* One snapshot of the command: userspace may rewrite the SQE under us. */
static void ublk_ctrl_read_cmd(struct io_uring_cmd *cmd, struct ublksrv_ctrl_cmd *c)
{
	const struct ublksrv_ctrl_cmd *src = ublk_cmd_payload(cmd);

	c->dev_id = READ_ONCE(src->dev_id);
	c->queue_id = READ_ONCE(src->queue_id);
	c->len = READ_ONCE(src->len);
	c->addr = READ_ONCE(src->addr);
	c->data[0] = READ_ONCE(src->data[0]);
	c->dev_path_len = READ_ONCE(src->dev_path_len);
}

/* Opcode number of a legacy or ioctl-encoded control opcode, or -errno. */
static int ublk_ctrl_opcode(u32 op)
{
	if (_IOC_TYPE(op) == 'u') {
		if (_IOC_SIZE(op) != sizeof(struct ublksrv_ctrl_cmd))
			return -EOPNOTSUPP;
		return _IOC_NR(op);
	}
	if (op & ~0xffU)
		return -EOPNOTSUPP;
	return op;
}

static void __user *ublk_arg(const struct ublksrv_ctrl_cmd *c)
{
	return u64_to_user_ptr(c->addr);
}

static int ublk_ctrl_get_features(const struct ublksrv_ctrl_cmd *c)
{
	u64 features = UBLK_FEATURES;

	if (c->len < UBLK_FEATURES_LEN)
		return -EINVAL;
	if (copy_to_user(ublk_arg(c), &features, sizeof(features)))
		return -EFAULT;
	return 0;
}

static int ublk_ctrl_add_dev(const struct ublksrv_ctrl_cmd *c)
{
	struct ublksrv_ctrl_dev_info info;
	struct ublk_device *ub;
	int ret;

	if (c->len < sizeof(info) || c->queue_id != (u16)-1)
		return -EINVAL;
	if (copy_from_user(&info, ublk_arg(c), sizeof(info)))
		return -EFAULT;
	/* the id comes from the command, not from the payload */
	info.dev_id = c->dev_id;
	ret = ublk_add_device(&info, &ub);
	if (ret)
		return ret;
	/* our reference: a DEL_DEV may already have removed it */
	ret = copy_to_user(ublk_arg(c), &ub->info, sizeof(ub->info)) ? -EFAULT : 0;
	if (ret)
		ublk_remove_device(ub);
	ublk_put_device(ub);
	return ret;
}

static int ublk_ctrl_del_dev(struct ublk_device *ub, bool wait)
{
	u32 id = ub->info.dev_id;

	if (wait)
		ublk_remove_device_detached(ub);
	else
		ublk_remove_device(ub);
	/* the caller's reference goes here, so that waiting can end */
	ublk_put_device(ub);
	/* the id is free again once the server has closed /dev/ublkcN */
	if (wait)
		wait_event_interruptible(ublk_freed_wait, ublk_device_freed(id));
	return 0;
}

static int ublk_ctrl_start_dev(struct ublk_device *ub, const struct ublksrv_ctrl_cmd *c)
{
	pid_t pid = c->data[0];
	int ret;

	if (pid <= 0)
		return -EINVAL;
	/* every tag of every queue fetched, or the server ended meanwhile */
	if (wait_event_interruptible(ub->wait, ublk_all_queues_ready(ub) ||
				     ublk_srv_ended(ub)))
		return -EINTR;
	mutex_lock(&ub->mutex);
	if (ub->disk || ub->info.state != UBLK_S_DEV_DEAD) {
		ret = -EEXIST;
	} else if (ublk_srv_ended(ub) || !ublk_all_queues_ready(ub)) {
		/* deleted, or a server that died or was stopped: it needs a new one */
		ret = -ENODEV;
	} else if (!(ub->params.types & UBLK_PARAM_TYPE_BASIC)) {
		ret = -EINVAL;
	} else {
		ub->info.ublksrv_pid = pid;
		ret = ublk_start_disk(ub);
		if (ret)
			ub->info.ublksrv_pid = -1;
	}
	mutex_unlock(&ub->mutex);
	return ret;
}

static int ublk_ctrl_stop_dev(struct ublk_device *ub)
{
	mutex_lock(&ub->mutex);
	ublk_stop_disk(ub);
	mutex_unlock(&ub->mutex);
	return 0;
}

static int ublk_ctrl_get_info(struct ublk_device *ub, const struct ublksrv_ctrl_cmd *c,
			      bool with_path)
{
	void __user *argp = ublk_arg(c);
	unsigned int len = c->len;

	/* INFO2 payloads start with the char device's path: skip it */
	if (with_path) {
		if (!c->dev_path_len || c->dev_path_len > PATH_MAX || len < c->dev_path_len)
			return -EINVAL;
		argp += c->dev_path_len;
		len -= c->dev_path_len;
	}
	if (len < sizeof(ub->info))
		return -EINVAL;
	if (copy_to_user(argp, &ub->info, sizeof(ub->info)))
		return -EFAULT;
	return 0;
}

/*
 * The length of the user's ublk_params (its own len field, within the
 * command's buffer), cut to what we know: a newer server's is longer.
 */
static int ublk_params_len(const struct ublksrv_ctrl_cmd *c, u32 *len)
{
	if (c->len < offsetofend(struct ublk_params, types))
		return -EINVAL;
	if (get_user(*len, (u32 __user *)ublk_arg(c)))
		return -EFAULT;
	if (*len > c->len || *len < offsetofend(struct ublk_params, types))
		return -EINVAL;
	*len = min_t(u32, *len, sizeof(struct ublk_params));
	return 0;
}

static int ublk_ctrl_set_params(struct ublk_device *ub, const struct ublksrv_ctrl_cmd *c)
{
	struct ublk_params p;
	u32 len;
	int ret;

	ret = ublk_params_len(c, &len);
	if (ret)
		return ret;
	memset(&p, 0, sizeof(p));
	if (copy_from_user(&p, ublk_arg(c), len))
		return -EFAULT;
	p.len = len;
	ret = ublk_validate_params(ub, &p);
	if (ret)
		return ret;

	mutex_lock(&ub->mutex);
	if (ub->disk) {
		ret = -EACCES;
	} else {
		p.types &= ~UBLK_PARAM_TYPE_DEVT;	/* the kernel fills it */
		ub->params = p;
	}
	mutex_unlock(&ub->mutex);
	return ret;
}

static int ublk_ctrl_get_params(struct ublk_device *ub, const struct ublksrv_ctrl_cmd *c)
{
	struct ublk_params p;
	u32 len;
	int ret;

	ret = ublk_params_len(c, &len);
	if (ret)
		return ret;
	mutex_lock(&ub->mutex);
	p = ub->params;
	p.types |= UBLK_PARAM_TYPE_DEVT;
	p.devt.char_major = MAJOR(ub->cdev_dev.devt);
	p.devt.char_minor = MINOR(ub->cdev_dev.devt);
	if (ub->disk) {
		p.devt.disk_major = ub->disk->major;
		p.devt.disk_minor = ub->disk->first_minor;
	} else {
		p.devt.disk_major = 0;
		p.devt.disk_minor = 0;
	}
	mutex_unlock(&ub->mutex);
	p.len = len;
	if (copy_to_user(ublk_arg(c), &p, len))
		return -EFAULT;
	return 0;
}

static int ublk_ctrl_get_affinity(struct ublk_device *ub, const struct ublksrv_ctrl_cmd *c)
{
	const struct blk_mq_queue_map *map = &ub->tag_set.map[HCTX_TYPE_DEFAULT];
	unsigned int len = c->len, copy;
	u64 q_id = c->data[0];	/* not queue_id: the UAPI puts it here */
	cpumask_var_t mask;
	int cpu, ret = 0;

	if (q_id >= ub->info.nr_hw_queues)
		return -EINVAL;
	if (len * BITS_PER_BYTE < nr_cpu_ids || len % sizeof(unsigned long))
		return -EINVAL;
	if (!zalloc_cpumask_var(&mask, GFP_KERNEL))
		return -ENOMEM;
	for_each_possible_cpu(cpu)
		if (map->mq_map[cpu] == q_id)
			cpumask_set_cpu(cpu, mask);
	copy = min_t(unsigned int, len, cpumask_size());
	if (copy_to_user(ublk_arg(c), cpumask_bits(mask), copy))
		ret = -EFAULT;
	else if (len > copy && clear_user(ublk_arg(c) + copy, len - copy))
		ret = -EFAULT;
	free_cpumask_var(mask);
	return ret;
}

/* UPDATE_SIZE: a started disk only; before START, SET_PARAMS sets the size. */
static int ublk_ctrl_update_size(struct ublk_device *ub, const struct ublksrv_ctrl_cmd *c)
{
	u64 sectors = c->data[0];
	int ret;

	if (!(ub->info.flags & UBLK_F_UPDATE_SIZE))
		return -EOPNOTSUPP;
	mutex_lock(&ub->mutex);
	if (!ub->disk) {
		ret = -ENODEV;
	} else {
		ret = ublk_check_size(&ub->params.basic, sectors);
		if (!ret) {
			ub->params.basic.dev_sectors = sectors;
			set_capacity_and_notify(ub->disk, sectors);
		}
	}
	mutex_unlock(&ub->mutex);
	return ret;
}

/*
 * QUIESCE_DEV: data[0] bounds the wait for the server's IO, in ms (0: no
 * bound). A device already QUIESCED is where the caller wants it: 0.
 */
static int ublk_ctrl_quiesce_dev(struct ublk_device *ub, const struct ublksrv_ctrl_cmd *c)
{
	int ret;

	if (!(ub->info.flags & UBLK_F_QUIESCE))
		return -EOPNOTSUPP;
	mutex_lock(&ub->mutex);
	if (!ub->disk)
		ret = -ENODEV;
	else if (ub->info.state == UBLK_S_DEV_QUIESCED)
		ret = 0;
	else if (ub->info.state != UBLK_S_DEV_LIVE || test_bit(UB_SRV_GONE, &ub->flags))
		ret = -EBUSY;
	else
		ret = ublk_quiesce_disk(ub, min_t(u64, c->data[0], UINT_MAX));
	mutex_unlock(&ub->mutex);
	return ret;
}

/*
 * Recovery, first half: the old server is gone (its /dev/ublkcN closed),
 * the device is QUIESCED or FAIL_IO; make the queues take a new server.
 */
static int ublk_ctrl_start_recovery(struct ublk_device *ub)
{
	int ret = 0;

	if (!ublk_recoverable(ub))
		return -EINVAL;
	mutex_lock(&ub->mutex);
	if (ub->info.state != UBLK_S_DEV_QUIESCED && ub->info.state != UBLK_S_DEV_FAIL_IO)
		ret = -EBUSY;
	else if (test_bit(UB_OPEN, &ub->flags))
		ret = -EBUSY;
	else
		ret = ublk_reset_queues(ub);
	mutex_unlock(&ub->mutex);
	return ret;
}

/* Recovery, second half: the new server fetched everything; let IO flow. */
static int ublk_ctrl_end_recovery(struct ublk_device *ub, const struct ublksrv_ctrl_cmd *c)
{
	pid_t pid = c->data[0];
	int ret = 0;

	if (!ublk_recoverable(ub))
		return -EINVAL;
	if (pid <= 0)
		return -EINVAL;
	if (wait_event_interruptible(ub->wait, ublk_all_queues_ready(ub) ||
				     ublk_srv_ended(ub)))
		return -EINTR;
	mutex_lock(&ub->mutex);
	if (ub->info.state != UBLK_S_DEV_QUIESCED && ub->info.state != UBLK_S_DEV_FAIL_IO) {
		ret = -EBUSY;
	} else if (ublk_srv_ended(ub) || !ublk_all_queues_ready(ub)) {
		ret = -ENODEV;
	} else {
		ub->info.ublksrv_pid = pid;
		WRITE_ONCE(ub->requeue_ok, !(ub->info.flags & UBLK_F_USER_RECOVERY_FAIL_IO));
		if (ub->info.state == UBLK_S_DEV_QUIESCED)
			blk_mq_unquiesce_queue(ub->disk->queue);
		WRITE_ONCE(ub->fail_io, false);
		ublk_set_state(ub, UBLK_S_DEV_LIVE);
		blk_mq_kick_requeue_list(ub->disk->queue);
	}
	mutex_unlock(&ub->mutex);
	return ret;
}

static int ublk_ctrl_uring_cmd(struct io_uring_cmd *cmd, unsigned int issue_flags)
{
	struct ublksrv_ctrl_cmd c;
	struct ublk_device *ub;
	int op, ret;

	/* several commands sleep: run them from io-wq */
	if (issue_flags & IO_URING_F_NONBLOCK)
		return -EAGAIN;
	if (!(issue_flags & IO_URING_F_SQE128))
		return -EINVAL;
	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	op = ublk_ctrl_opcode(cmd->cmd_op);
	if (op < 0)
		return op;
	ublk_ctrl_read_cmd(cmd, &c);
	ublk_debug_stall(op);

	if (op == _IOC_NR(UBLK_U_CMD_GET_FEATURES))
		return ublk_ctrl_get_features(&c);
	if (op == UBLK_CMD_ADD_DEV)
		return ublk_ctrl_add_dev(&c);

	switch (op) {
	case UBLK_CMD_DEL_DEV:
	case _IOC_NR(UBLK_U_CMD_DEL_DEV_ASYNC):
	case UBLK_CMD_START_DEV:
	case UBLK_CMD_STOP_DEV:
	case UBLK_CMD_GET_DEV_INFO:
	case UBLK_CMD_GET_DEV_INFO2:
	case UBLK_CMD_SET_PARAMS:
	case UBLK_CMD_GET_PARAMS:
	case UBLK_CMD_GET_QUEUE_AFFINITY:
	case UBLK_CMD_START_USER_RECOVERY:
	case UBLK_CMD_END_USER_RECOVERY:
	case _IOC_NR(UBLK_U_CMD_UPDATE_SIZE):
	case _IOC_NR(UBLK_U_CMD_QUIESCE_DEV):
		break;
	default:
		return -EOPNOTSUPP;
	}
	ub = ublk_get_device(c.dev_id);
	if (!ub)
		return -ENODEV;
	switch (op) {
	case UBLK_CMD_DEL_DEV:
		return ublk_ctrl_del_dev(ub, true);
	case _IOC_NR(UBLK_U_CMD_DEL_DEV_ASYNC):
		return ublk_ctrl_del_dev(ub, false);
	case UBLK_CMD_START_DEV:
		ret = ublk_ctrl_start_dev(ub, &c);
		break;
	case UBLK_CMD_STOP_DEV:
		ret = ublk_ctrl_stop_dev(ub);
		break;
	case UBLK_CMD_GET_DEV_INFO:
		ret = ublk_ctrl_get_info(ub, &c, false);
		break;
	case UBLK_CMD_GET_DEV_INFO2:
		ret = ublk_ctrl_get_info(ub, &c, true);
		break;
	case UBLK_CMD_SET_PARAMS:
		ret = ublk_ctrl_set_params(ub, &c);
		break;
	case UBLK_CMD_GET_PARAMS:
		ret = ublk_ctrl_get_params(ub, &c);
		break;
	case UBLK_CMD_GET_QUEUE_AFFINITY:
		ret = ublk_ctrl_get_affinity(ub, &c);
		break;
	case UBLK_CMD_START_USER_RECOVERY:
		ret = ublk_ctrl_start_recovery(ub);
		break;
	case UBLK_CMD_END_USER_RECOVERY:
		ret = ublk_ctrl_end_recovery(ub, &c);
		break;
	case _IOC_NR(UBLK_U_CMD_QUIESCE_DEV):
		ret = ublk_ctrl_quiesce_dev(ub, &c);
		break;
	default:	/* UPDATE_SIZE */
		ret = ublk_ctrl_update_size(ub, &c);
		break;
	}
	ublk_put_device(ub);
	return ret;
}

static const struct file_operations ublk_ctrl_fops = {
	.owner = THIS_MODULE,
	.open = nonseekable_open,
	.uring_cmd = ublk_ctrl_uring_cmd,
	.llseek = noop_llseek,
};

static struct miscdevice ublk_ctrl_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "ublk-control",
	.fops = &ublk_ctrl_fops,
};

int ublk_ctrl_init(void)
{
	return misc_register(&ublk_ctrl_misc);
}

void ublk_ctrl_exit(void)
{
	misc_deregister(&ublk_ctrl_misc);
}
