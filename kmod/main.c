// SPDX-License-Identifier: GPL-2.0
/*
 * ublk_drv: module setup and the life of a device (its id, queues, tag set
 * and /dev/ublkcN), from ADD_DEV to the last reference.
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
struct workqueue_struct *ublk_wq;
dev_t ublk_chr_devt;

const struct class ublk_chr_class = {
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

void ublk_put_device(struct ublk_device *ub)
{
	put_device(&ub->cdev_dev);
}

bool ublk_device_freed(u32 id)
{
	bool freed;

	mutex_lock(&ublk_idr_lock);
	freed = !idr_find(&ublk_idr, id);
	mutex_unlock(&ublk_idr_lock);
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
	kfree(ubq);
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

	ubq = kzalloc(struct_size(ubq, ios, depth), GFP_KERNEL);
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
		kfree(ubq);
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
	if (flags & ~UBLK_F_KNOWN)
		return -EINVAL;
	if ((flags & (UBLK_F_USER_RECOVERY_REISSUE | UBLK_F_USER_RECOVERY_FAIL_IO)) &&
	    !(flags & UBLK_F_USER_RECOVERY))
		return -EINVAL;
	if ((flags & UBLK_F_USER_RECOVERY_REISSUE) &&
	    (flags & UBLK_F_USER_RECOVERY_FAIL_IO))
		return -EINVAL;

	flags &= UBLK_FEATURES;
	flags |= UBLK_F_CMD_IOCTL_ENCODE | UBLK_F_URING_CMD_COMP_IN_TASK;
	/* with user copy the server reads write data itself */
	if (flags & UBLK_F_USER_COPY)
		flags &= ~UBLK_F_NEED_GET_DATA;
	info->flags = flags;
	info->max_io_buf_bytes = round_down(info->max_io_buf_bytes, PAGE_SIZE);
	info->state = UBLK_S_DEV_DEAD;
	info->ublksrv_pid = -1;
	info->owner_uid = from_kuid(&init_user_ns, current_uid());
	info->owner_gid = from_kgid(&init_user_ns, current_gid());
	return 0;
}

static int ublk_alloc_id(struct ublk_device *ub, u32 want)
{
	int id;

	mutex_lock(&ublk_idr_lock);
	if (ublks_added >= ublks_max) {
		mutex_unlock(&ublk_idr_lock);
		return -EACCES;
	}
	if (want == U32_MAX) {
		id = idr_alloc(&ublk_idr, ub, 0, UBLK_MINORS, GFP_KERNEL);
	} else if (want >= UBLK_MINORS) {
		id = -EINVAL;
	} else {
		id = idr_alloc(&ublk_idr, ub, want, want + 1, GFP_KERNEL);
		if (id == -ENOSPC)
			id = -EEXIST;
	}
	if (id >= 0)
		ublks_added++;
	mutex_unlock(&ublk_idr_lock);
	return id;
}

/*
 * Creates a device from ADD_DEV's info (checked and completed here). On
 * success the device holds one reference for its existence, dropped by
 * ublk_remove_device().
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
	id = ublk_alloc_id(ub, info->dev_id);
	if (id < 0) {
		kfree(ub);
		return id;
	}
	info->dev_id = id;
	ub->info = *info;
	mutex_init(&ub->mutex);
	init_waitqueue_head(&ub->wait);
	INIT_WORK(&ub->nosrv_work, ublk_nosrv_work);

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
	*out = ub;
	return 0;
fail:
	put_device(&ub->cdev_dev);
	return ret;
}

/* Stops the disk, removes /dev/ublkcN and drops the device's existence. */
void ublk_remove_device(struct ublk_device *ub)
{
	mutex_lock(&ub->mutex);
	ublk_stop_disk(ub);
	mutex_unlock(&ub->mutex);

	mutex_lock(&ublk_idr_lock);
	if (test_and_set_bit(UB_DELETED, &ub->flags)) {
		mutex_unlock(&ublk_idr_lock);
		return;
	}
	mutex_unlock(&ublk_idr_lock);
	cdev_device_del(&ub->cdev, &ub->cdev_dev);
	put_device(&ub->cdev_dev);
}

static int __init ublk_init(void)
{
	int ret;

	ublk_wq = alloc_workqueue("ublk", WQ_UNBOUND | WQ_MEM_RECLAIM, 0);
	if (!ublk_wq)
		return -ENOMEM;
	ret = alloc_chrdev_region(&ublk_chr_devt, 0, UBLK_MINORS, "ublk-char");
	if (ret)
		goto free_wq;
	ret = class_register(&ublk_chr_class);
	if (ret)
		goto free_region;
	ret = ublk_ctrl_init();
	if (ret)
		goto free_class;
	return 0;
free_class:
	class_unregister(&ublk_chr_class);
free_region:
	unregister_chrdev_region(ublk_chr_devt, UBLK_MINORS);
free_wq:
	destroy_workqueue(ublk_wq);
	return ret;
}

static void __exit ublk_exit(void)
{
	struct ublk_device *ub;
	int id;

	ublk_ctrl_exit();
	/* no file is open (each pins the module): delete what is left */
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
	destroy_workqueue(ublk_wq);
	if (!idr_is_empty(&ublk_idr))
		pr_err("ublk_drv: devices still referenced at unload\n");
	idr_destroy(&ublk_idr);
	class_unregister(&ublk_chr_class);
	unregister_chrdev_region(ublk_chr_devt, UBLK_MINORS);
}

module_init(ublk_init);
module_exit(ublk_exit);

MODULE_DESCRIPTION("userspace block device driver (ublkctl's ublk, UAPI compatible)");
MODULE_LICENSE("GPL");
MODULE_VERSION(UBLK_DRV_VERSION);
MODULE_AUTHOR("ublkctl developers");
