/* SPDX-License-Identifier: MIT */
/*
 * The applet table: APPLET(name, entry, one-line description), sorted by
 * name. ublkctl.c expands it into prototypes and the dispatch table.
 */
#ifdef APPLET
APPLET(add, add_main, "create a device and start its server")
APPLET(boot-args, boot_args_main, "the ublk.* kernel parameters, for initramfs/ublk-boot")
APPLET(del, del_main, "stop and delete devices")
APPLET(down, down_main, "delete the devices of /etc/ublktab")
APPLET(features, features_main, "what the ublk driver can do, and what ublkctl uses")
APPLET(list, list_main, "show devices as a table or JSON")
APPLET(loop, loop_main, "serve a file as a block device (add -t loop)")
APPLET(nbd, nbd_main, "serve an NBD server's export, reconnecting (add -t nbd)")
APPLET(null, null_main, "a device that completes every IO at once (add -t null)")
APPLET(recover, recover_main, "serve a device again after its server died")
APPLET(resize, resize_main, "give a serving device a new size")
APPLET(up, up_main, "create the devices of /etc/ublktab that are not there")
APPLET(upgrade, upgrade_main, "a new server for a device, losing no IO")
APPLET(zero-copy-experimental, zero_copy_experimental_main, "loop without copying data (new kernels)")
#else
#ifndef UBLKCTL_APPLETS_H
#define UBLKCTL_APPLETS_H

#include "cli.h"

#define APPLET(name, entry, desc) int entry(int argc, char **argv);
#include "applets.h"
#undef APPLET

/* Option help that add, loop and null share, after their own lines. */
#define ADD_COMMON_OPTIONS \
" -n, --number ID          device id (default: the first free one)\n" \
" -q, --queues N           hardware queues, 1-64 (default 1)\n" \
" -d, --depth N            queue depth, 1-4096 (default 128)\n" \
" -b, --block-size N       logical block size, 512-4096, a power of 2\n" \
" -r, --read-only          refuse writes\n" \
"     --recovery[=MODE]    keep the device when the server dies, for\n" \
"                          `ublkctl recover`. MODE says what happens to IO:\n" \
"                          requeue (default): IO the dead server held fails,\n" \
"                          the rest waits for the new server; reissue: all\n" \
"                          IO waits and is sent again (a write may repeat);\n" \
"                          fail-io: all IO fails at once while no server runs.\n" \
"                          Only a server that dies unasked (crash, SIGKILL)\n" \
"                          leaves the device: SIGTERM or SIGINT to it stops\n" \
"                          and deletes it, as del does\n" \
"     --foreground         serve in this process until the device is deleted\n" \
"     --root-daemon        the device may hold the root filesystem: the server\n" \
"                          calls itself @ublkctl, which systemd spares at\n" \
"                          switch_root and shutdown, and the OOM killer\n" \
"                          leaves it alone (set by the initramfs scripts)\n" \
"     --timeout S          give up on a driver command after S seconds\n" \
"                          (default 30, 0: never)\n" \
" -h, --help               this text\n"

/*
 * add, loop and null share one option parser and one server start. The new
 * device's path is printed, or its id stored in *dev_id when that is given.
 */
int add_run(int argc, char **argv, const char *fixed_target,
	    const char *usage, int *dev_id);
/*
 * del's work: stop and delete each of ids, waiting for its server unless
 * async; a device already gone is an error unless missing_ok; with safe,
 * one in use is left (del --safe). EXIT_OK or EXIT_FAIL, after one line
 * per failure.
 */
int del_devices(const unsigned int *ids, int n, bool missing_ok, bool async, bool safe);
/*
 * path as /etc/ublktab into t (see lib/ublktab.h, ublktab_free() it), and
 * its entries for the nr_ids ids (all when 0) into *sel (to free); their
 * number, or -1. Each bad line and each id not in the file gets one line
 * on stderr ("PATH:LINE: why") and makes *status EXIT_FAIL; the good
 * lines are there all the same.
 */
struct ublktab;
struct ublktab_entry;
int ublktab_open(const char *path, char **ids, int nr_ids, struct ublktab *t,
		 const struct ublktab_entry ***sel, int *status);
/* ublksrv's `ublk` command line, for scripts written for it. */
int ublk_compat_main(int argc, char **argv);
/* One device in ublksrv's `ublk list` layout. */
int print_ublksrv_dump(struct ublk_ctrl *c, unsigned int id);

#endif
#endif
