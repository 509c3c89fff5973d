// SPDX-License-Identifier: GPL-2.0
/*
 * ublk_drv: userspace block device driver, ublkctl's own implementation of
 * the in-tree driver's UAPI. The top of the module: it sets up and tears
 * down the layers below it, in the order ublk.h lists them.
 */
#include <linux/module.h>
#include "ublk.h"

static int __init ublk_init(void)
{
	int ret;

	ret = ublk_blk_init();
	if (ret)
		return ret;
	ret = ublk_dev_init();
	if (ret)
		goto blk_exit;
	ret = ublk_ctrl_init();
	if (ret)
		goto dev_exit;
	return 0;
dev_exit:
	ublk_dev_exit();
blk_exit:
	ublk_blk_exit();
	return ret;
}

static void __exit ublk_exit(void)
{
	ublk_ctrl_exit();
	ublk_remove_all();
	/* after the devices: their death work runs on this queue */
	ublk_blk_exit();
	ublk_dev_exit();
}

module_init(ublk_init);
module_exit(ublk_exit);

MODULE_DESCRIPTION("userspace block device driver (ublkctl's ublk, UAPI compatible)");
MODULE_LICENSE("GPL");
MODULE_VERSION(UBLK_DRV_VERSION);
MODULE_AUTHOR("ublkctl developers");
