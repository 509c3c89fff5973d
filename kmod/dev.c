// SPDX-License-Identifier: GPL-2.0
/*
 * ublk_drv: the life of a device (its id, queues, tag set and /dev/ublkcN)
 * from ADD_DEV to the last reference. Calls io.c (the char device's
 * operations) and blk.c (the disk) only.
 */
#include <linux/module.h>
#include <linux/idr.h>
#include <linux/slab.h>
#include <linux/gfp.h>
#include <linux/sched/task.h>
#include <linux/cred.h>
#include "ublk.h"

static unsigned int ublks_max = 64;
module_param(ublks_max, uint, 0644);
MODULE_PARM_DESC(ublks_max, "maximum number of ublk devices (default 64)");

static DEFINE_IDR(ublk_idr);
static DEFINE_MUTEX(ublk_idr_lock);
static unsigned int ublks_added;
DECLARE_WAIT_QUEUE_HEAD(ublk_freed_wait);
static dev_t ublk_chr_devt;

static ublk_class_const struct class ublk_chr_class = {
	.name = "ublk-char",
};

struct ublk_device *ublk_get_device(u32 id)
{
	struct ublk_device *ub;

	if (id >= UBLK_MINORS)
		return NULL;
	mutex_lock(&ublk_idr_lock);
	ub = idr_find(&ublk_idr, id);
	if (ub && !test_bit(UB_DELETED, &ub->flags))
		get_device(&ub->cdev_dev);
	else
		ub = NULL;
	mutex_unlock(&ublk_idr_lock);
	return ub;
}

/*
 * DEL_DEV's wait condition, so it must not sleep: the IDR can be looked up
 * under RCU, and the entry is only compared, never dereferenced.
 */
bool ublk_device_freed(u32 id)
{
	bool freed;

	rcu_read_lock();
	freed = !idr_find(&ublk_idr, id);
	rcu_read_unlock();
	return freed;
}

static void ublk_free_queue(struct ublk_queue *ubq)
{
	if (!ubq)
		return;
	if (ubq->daemon)
		put_task_struct(ubq->daemon);
	if (ubq->descs)
		free_pages((unsigned long)ubq->descs, ubq->descs_order);
	kvfree(ubq);
}

/* Runs when the last reference is gone: no file, disk or command left. */
static void ublk_device_release(struct device *dev)
{
	struct ublk_device *ub = container_of(dev, struct ublk_device, cdev_dev);
	unsigned int i;

	if (ub->tag_set_ready)
		blk_mq_free_tag_set(&ub->tag_set);
	for (i = 0; i < ub->info.nr_hw_queues; i++)
		ublk_free_queue(ub->queues[i]);
	mutex_destroy(&ub->mutex);

	mutex_lock(&ublk_idr_lock);
	idr_remove(&ublk_idr, ub->info.dev_id);
	ublks_added--;
	mutex_unlock(&ublk_idr_lock);
	wake_up_all(&ublk_freed_wait);
	kfree(ub);
}

static struct ublk_queue *ublk_alloc_queue(struct ublk_device *ub, u16 q_id)
{
	unsigned int depth = ub->info.queue_depth;
	size_t descs_size = depth * sizeof(struct ublksrv_io_desc);
	struct ublk_queue *ubq;

	/* up to 4096 slots: too large to ask for contiguous pages */
	ubq = kvzalloc(struct_size(ubq, ios, depth), GFP_KERNEL);
	if (!ubq)
		return NULL;
	ubq->ub = ub;
	ubq->q_id = q_id;
	ubq->depth = depth;
	spin_lock_init(&ubq->lock);
	/* physically contiguous, so that mmap can remap it in one go */
	ubq->descs_order = get_order(descs_size);
	ubq->descs = (void *)__get_free_pages(GFP_KERNEL | __GFP_ZERO,
					      ubq->descs_order);
	if (!ubq->descs) {
		kvfree(ubq);
		return NULL;
	}
	return ubq;
}

static int ublk_check_dev_info(struct ublksrv_ctrl_dev_info *info)
{
	u64 flags = info->flags;

	if (!info->nr_hw_queues || info->nr_hw_queues > UBLK_MAX_NR_QUEUES)
		return -EINVAL;
	if (!info->queue_depth || info->queue_depth > UBLK_MAX_QUEUE_DEPTH)
		return -EINVAL;
	if (info->max_io_buf_bytes < PAGE_SIZE ||
	    info->max_io_buf_bytes > (1U << UBLK_IO_BUF_BITS))
		return -EINVAL;
	/*
	 * A server that asks for what we lack would wait for behaviour that
	 * never comes: refuse, rather than drop the flag as the in-tree
	 * driver does with flags it does not know.
	 */
	if (flags & ~UBLK_FEATURES)
		return -EINVAL;
	if ((flags & (UBLK_F_USER_RECOVERY_REISSUE | UBLK_F_USER_RECOVERY_FAIL_IO)) &&
	    !(flags & UBLK_F_USER_RECOVERY))
		return -EINVAL;
	if ((flags & UBLK_F_USER_RECOVERY_REISSUE) &&
	    (flags & UBLK_F_USER_RECOVERY_FAIL_IO))
		return -EINVAL;
	/* a quiesced device waits for a new server: recovery brings it */
	if ((flags & UBLK_F_QUIESCE) && !(flags & UBLK_F_USER_RECOVERY))
		return -EINVAL;

	flags |= UBLK_F_CMD_IOCTL_ENCODE | UBLK_F_URING_CMD_COMP_IN_TASK;
	/* with user copy the server reads write data itself */
	if (flags & UBLK_F_USER_COPY)
		flags &= ~UBLK_F_NEED_GET_DATA;
	info->flags = flags;
	/* more queues than CPUs only waste memory: blk-mq maps CPUs to them */
	info->nr_hw_queues = min_t(u16, info->nr_hw_queues, nr_cpu_ids);
	info->max_io_buf_bytes = round_down(info->max_io_buf_bytes, PAGE_SIZE);
	info->state = UBLK_S_DEV_DEAD;
	info->ublksrv_pid = -1;
	info->owner_uid = from_kuid(&init_user_ns, current_uid());
	info->owner_gid = from_kgid(&init_user_ns, current_gid());
	return 0;
}

/*
 * Reserves an id with no device behind it: lookups see nothing until
 * ublk_publish() puts the fully built device there.
 */
static int ublk_alloc_id(u32 want)
{
	int id;

	mutex_lock(&ublk_idr_lock);
	if (ublks_added >= ublks_max) {
		mutex_unlock(&ublk_idr_lock);
		return -EACCES;
	}
	if (want == U32_MAX) {
		id = idr_alloc(&ublk_idr, NULL, 0, UBLK_MINORS, GFP_KERNEL);
	} else if (want >= UBLK_MINORS) {
		id = -EINVAL;
	} else {
		id = idr_alloc(&ublk_idr, NULL, want, want + 1, GFP_KERNEL);
		if (id == -ENOSPC)
			id = -EEXIST;
	}
	if (id >= 0)
		ublks_added++;
	mutex_unlock(&ublk_idr_lock);
	return id;
}

static void ublk_publish(struct ublk_device *ub)
{
	mutex_lock(&ublk_idr_lock);
	idr_replace(&ublk_idr, ub, ub->info.dev_id);
	mutex_unlock(&ublk_idr_lock);
}

/*
 * Creates a device from ADD_DEV's info (checked and completed here). On
 * success the device holds one reference for its existence, dropped by
 * ublk_remove_device(), and the caller one, for ublk_put_device().
 */
int ublk_add_device(struct ublksrv_ctrl_dev_info *info, struct ublk_device **out)
{
	struct ublk_device *ub;
	unsigned int i;
	int ret, id;

	ret = ublk_check_dev_info(info);
	if (ret)
		return ret;
	ub = kzalloc(struct_size(ub, queues, info->nr_hw_queues), GFP_KERNEL);
	if (!ub)
		return -ENOMEM;
	id = ublk_alloc_id(info->dev_id);
	if (id < 0) {
		kfree(ub);
		return id;
	}
	info->dev_id = id;
	ub->info = *info;
	mutex_init(&ub->mutex);
	init_waitqueue_head(&ub->wait);
	INIT_WORK(&ub->nosrv_work, ublk_nosrv_work);
	INIT_DELAYED_WORK(&ub->watch_work, ublk_watch_work);

	/* from here on the release function undoes everything */
	device_initialize(&ub->cdev_dev);
	ub->cdev_dev.class = &ublk_chr_class;
	ub->cdev_dev.devt = MKDEV(MAJOR(ublk_chr_devt), id);
	ub->cdev_dev.release = ublk_device_release;
	ret = dev_set_name(&ub->cdev_dev, "ublkc%d", id);
	if (ret)
		goto fail;

	ret = -ENOMEM;
	for (i = 0; i < info->nr_hw_queues; i++) {
		ub->queues[i] = ublk_alloc_queue(ub, i);
		if (!ub->queues[i])
			goto fail;
	}

	ub->tag_set.ops = &ublk_mq_ops;
	ub->tag_set.nr_hw_queues = info->nr_hw_queues;
	ub->tag_set.queue_depth = info->queue_depth;
	ub->tag_set.numa_node = NUMA_NO_NODE;
	ub->tag_set.flags = BLK_MQ_F_SHOULD_MERGE;
	ub->tag_set.driver_data = ub;
	ret = blk_mq_alloc_tag_set(&ub->tag_set);
	if (ret)
		goto fail;
	ub->tag_set_ready = true;

	cdev_init(&ub->cdev, &ublk_ch_fops);
	ub->cdev.owner = THIS_MODULE;
	ret = cdev_device_add(&ub->cdev, &ub->cdev_dev);
	if (ret)
		goto fail;
	/*
	 * Before the device can be found: a DEL_DEV may remove (and free) it
	 * as soon as it is published, and must find the watch armed to cancel
	 * it; the caller's reference keeps it for ADD_DEV's answer.
	 */
	ublk_watch_start(ub);
	get_device(&ub->cdev_dev);
	ublk_publish(ub);
	*out = ub;
	return 0;
fail:
	put_device(&ub->cdev_dev);
	return ret;
}

/*
 * Hides the device from lookups, stops its disk, removes /dev/ublkcN and
 * drops the device's existence. UB_DELETED is set before the mutex is
 * taken, so a START_DEV that holds a reference sees it and refuses.
 */
void ublk_remove_device(struct ublk_device *ub)
{
	bool deleted;

	mutex_lock(&ublk_idr_lock);
	deleted = test_and_set_bit(UB_DELETED, &ub->flags);
	mutex_unlock(&ublk_idr_lock);
	if (deleted)
		return;
	/* a START_DEV waiting for the server gives up */
	wake_up_all(&ub->wait);

	mutex_lock(&ub->mutex);
	ublk_stop_disk(ub);
	mutex_unlock(&ub->mutex);
	/* only now: the stop may wait for IO that only the watch ends */
	ublk_watch_stop(ub);
	cdev_device_del(&ub->cdev, &ub->cdev_dev);
	put_device(&ub->cdev_dev);
}

struct ublk_remove_work {
	struct work_struct work;
	struct ublk_device *ub;
};

static void ublk_remove_work_fn(struct work_struct *work)
{
	ublk_remove_device(container_of(work, struct ublk_remove_work, work)->ub);
}

/*
 * ublk_remove_device() for a caller that then waits for /dev/ublkcN to
 * close. Ending a dead server's fetches can drop the file's last
 * reference; dropped by a task, its release waits in that task's task
 * work until it returns to user space (6.1's io_uring_cmd_done() drops
 * it right there), so the caller would wait for itself. From a kworker
 * the release runs on its own.
 */
void ublk_remove_device_detached(struct ublk_device *ub)
{
	struct ublk_remove_work rw = { .ub = ub };

	INIT_WORK_ONSTACK(&rw.work, ublk_remove_work_fn);
	queue_work(system_unbound_wq, &rw.work);
	flush_work(&rw.work);
	destroy_work_on_stack(&rw.work);
}

/* Deletes every device left; no file is open (each pins the module). */
void ublk_remove_all(void)
{
	struct ublk_device *ub;
	int id;

	for (;;) {
		ub = NULL;
		mutex_lock(&ublk_idr_lock);
		idr_for_each_entry(&ublk_idr, ub, id) {
			if (!test_bit(UB_DELETED, &ub->flags)) {
				get_device(&ub->cdev_dev);
				break;
			}
		}
		mutex_unlock(&ublk_idr_lock);
		if (!ub)
			break;
		ublk_remove_device(ub);
		ublk_put_device(ub);
	}
	if (!idr_is_empty(&ublk_idr))
		pr_err("ublk_drv: devices still referenced at unload\n");
	idr_destroy(&ublk_idr);
}

int ublk_dev_init(void)
{
	int ret;

	ret = alloc_chrdev_region(&ublk_chr_devt, 0, UBLK_MINORS, "ublk-char");
	if (ret)
		return ret;
	ret = class_register(&ublk_chr_class);
	if (ret)
		unregister_chrdev_region(ublk_chr_devt, UBLK_MINORS);
	return ret;
}

void ublk_dev_exit(void)
{
	class_unregister(&ublk_chr_class);
	unregister_chrdev_region(ublk_chr_devt, UBLK_MINORS);
}
