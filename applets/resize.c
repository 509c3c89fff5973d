// SPDX-License-Identifier: MIT
/* resize: a serving device's new size (UPDATE_SIZE). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "applets.h"

static const char usage[] =
"usage: ublkctl resize -n ID [SIZE] [--force]\n"
"\n"
"Give a serving device a new size (UPDATE_SIZE): SIZE (K/M/G/T suffixes),\n"
"or for a loop device its backing file's size now, rounded down to whole\n"
"blocks. The state file keeps the new size, so recover keeps it. Grow the\n"
"filesystem on it afterwards (resize2fs, xfs_growfs).\n"
"\n"
"Options:\n"
" -n, --number ID   the device\n"
"     --force       shrink: a filesystem on the device may not fit\n"
"     --timeout S   give up on a driver command after S seconds (default\n"
"                   30, 0: never)\n"
" -h, --help        this text\n"
"\n"
"Needs UBLK_F_UPDATE_SIZE (Linux 6.16 or later, or ublkctl's module) on a\n"
"device added by this ublkctl. An nbd device has its export's size.\n"
"Exit status: 0 when the device has the new size, 1 otherwise, 2 on a\n"
"usage error.\n";

/* a loop device's backing file's size now */
static int file_size(const char *path, uint64_t *size)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret = 0;

	if (fd < 0 || fstat(fd, &st) < 0)
		ret = -errno;
	else if (S_ISBLK(st.st_mode) && ioctl(fd, BLKGETSIZE64, size) < 0)
		ret = -errno;
	else if (!S_ISBLK(st.st_mode))
		*size = st.st_size;
	if (fd >= 0)
		close(fd);
	return ret;
}

/* the new size in bytes for device id (its state s), or why not */
static int new_size(unsigned int id, const struct ublk_state *s, const char *arg,
		    uint64_t *size)
{
	int ret;

	if (!strcmp(s->opts.target, "nbd")) {
		error_msg("device %u: an nbd device has the size of its export", id);
		return EXIT_FAIL;
	}
	if (arg) {
		ret = ublk_parse_size(arg, size);
		return ret ? usage_error("invalid size '%s'", arg) : EXIT_OK;
	}
	if (strcmp(s->opts.target, "loop"))
		return usage_error("device %u is not a loop device: give the size", id);
	ret = file_size(s->opts.file, size);
	if (ret)
		error_msg("%s: %s", s->opts.file, strerror(-ret));
	return ret ? EXIT_FAIL : EXIT_OK;
}

/* UPDATE_SIZE for device id, checked against what it has */
static int resize_dev(struct ublk_ctrl *c, unsigned int id, uint64_t size, bool force)
{
	struct ublksrv_ctrl_dev_info info;
	struct ublk_params p;
	uint64_t sectors, now;
	unsigned int bs;
	int ret;

	ret = ublk_ctrl_get_info(c, id, &info);
	if (!ret)
		ret = ublk_ctrl_get_params(c, id, &p);
	if (ret) {
		error_msg("device %u: %s", id, ctrl_strerror(ret));
		return EXIT_FAIL;
	}
	if (!(info.flags & UBLK_F_UPDATE_SIZE)) {
		error_msg(c->features & UBLK_F_UPDATE_SIZE ?
			  "device %u was added without UBLK_F_UPDATE_SIZE (by another tool?)" :
			  "device %u: this ublk driver lacks UBLK_F_UPDATE_SIZE (Linux 6.16 "
			  "or later, or ublkctl's module, has it)", id);
		return EXIT_FAIL;
	}
	bs = 1U << p.basic.logical_bs_shift;
	sectors = size / bs * (bs >> 9);
	now = p.basic.dev_sectors;
	if (!sectors) {
		error_msg("device %u: %llu bytes are less than one block", id,
			  (unsigned long long)size);
		return EXIT_FAIL;
	}
	if (sectors < now && !force) {
		error_msg("device %u: shrinking from %llu to %llu bytes needs --force (a "
			  "filesystem on it may not fit)", id, (unsigned long long)now << 9,
			  (unsigned long long)sectors << 9);
		return EXIT_FAIL;
	}
	ret = ublk_ctrl_update_size(c, id, sectors);
	if (ret) {
		error_msg("device %u: %s", id, ctrl_strerror(ret));
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

int resize_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "number", required_argument, NULL, 'n' },
		{ "force", no_argument, NULL, 'F' },
		TIMEOUT_OPTION,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *arg = NULL;
	unsigned int id = 0;
	bool force = false, have_id = false;
	struct ublk_state s;
	struct ublk_ctrl c;
	int opt, ret, lock;
	uint64_t size;

	while ((opt = getopt_long(argc, argv, ":n:h", longopts, NULL)) != -1) {
		if (opt == 'n') {
			if (parse_dev_id(optarg, &id))
				return EXIT_USAGE;
			have_id = true;
		} else if (opt == 'F') {
			force = true;
		} else if ((ret = common_option(opt, usage, argv)) != OPTION_OK) {
			return ret;
		}
	}
	if (optind < argc)
		arg = argv[optind++];
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (!have_id)
		return usage_error("which device? (-n ID)");
	lock = lock_device(id);
	if (lock < 0)
		return EXIT_FAIL;
	ret = ublk_state_read(id, &s);
	if (ret) {
		error_msg("device %u: no state file (%s): not a device of ublkctl's", id,
			  strerror(-ret));
		ublk_unlock(lock);
		return EXIT_FAIL;
	}
	ret = new_size(id, &s, arg, &size);
	if (!ret && !open_ctrl(&c)) {
		ret = resize_dev(&c, id, size, force);
		ublk_ctrl_close(&c);
	} else if (!ret) {
		ret = EXIT_FAIL;
	}
	if (!ret) {
		s.opts.size = ublk_dev_capacity(id, size);
		if (ublk_state_write(id, &s))
			error_msg("device %u: the state file keeps the old size", id);
		printf("/dev/ublkb%u: %llu bytes\n", id, (unsigned long long)s.opts.size);
	}
	ublk_unlock(lock);
	return finish(ret);
}
