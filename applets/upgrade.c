// SPDX-License-Identifier: MIT
/* upgrade: replace a device's server with a new process, losing no IO. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "applets.h"

static const char usage[] =
"usage: ublkctl upgrade -n ID [--binary PATH]\n"
"\n"
"Replace the server of device ID with a new process of PATH (default:\n"
"this ublkctl), e.g. after installing a new ublkctl, without failing any\n"
"IO. Where the driver has UBLK_F_QUIESCE (Linux 7.x, ublkctl's own\n"
"ublk_drv) the old server answers what it holds and exits (QUIESCE_DEV);\n"
"elsewhere it is killed and the device keeps what it held. Either way\n"
"the device waits QUIESCED, then `PATH recover -n ID` serves it again.\n"
"The device must have been added with --recovery; without QUIESCE, with\n"
"--recovery=reissue (requeue would fail the IO the old server held,\n"
"fail-io all IO meanwhile). For a device that serves the root filesystem\n"
"(--root-daemon) PATH is first copied to /run/ublk/bin, which does not\n"
"depend on that filesystem.\n"
"\n"
"Options:\n"
" -n, --number ID   the device\n"
"     --binary PATH the new ublkctl (default: /proc/self/exe)\n"
"     --timeout S   give up on a driver command after S seconds (default\n"
"                   30, 0: never)\n"
" -h, --help        this text\n"
"\n"
"Exit status: that of recover: 0 when the new server serves; 1 otherwise\n"
"(the device stays recoverable); 2 on a usage error.\n";

#define QUIESCE_WAIT_MS		10000
#define ROOT_BIN		UBLK_STATE_DIR "/bin/ublkctl"
/*
 * QUIESCE_DEV on per-tag queues only: 7.2's in-tree driver fails arriving
 * requests with EIO while it quiesces a batch-IO queue (docs/recovery.md).
 * Our module has no batch IO.
 */
static bool can_quiesce(const struct ublksrv_ctrl_dev_info *info)
{
	return (info->flags & UBLK_F_QUIESCE) && !(info->flags & UBLK_F_BATCH_IO);
}

/* the device may be upgraded without losing IO: why not, or NULL */
static const char *not_upgradable(const struct ublksrv_ctrl_dev_info *info)
{
	if (!(info->flags & UBLK_F_USER_RECOVERY))
		return "was added without --recovery: its IO would fail";
	if (info->state != UBLK_S_DEV_LIVE)
		return "is not LIVE (recover it instead)";
	/* quiesced, the old server holds nothing: any recovery mode will do */
	if (can_quiesce(info))
		return NULL;
	if (info->flags & UBLK_F_USER_RECOVERY_FAIL_IO)
		return "has --recovery=fail-io: IO would fail while no server runs";
	if (!(info->flags & UBLK_F_USER_RECOVERY_REISSUE))
		return "has --recovery=requeue: the IO its server holds would fail "
		       "(add it with --recovery=reissue)";
	return NULL;
}

/* path copied next to ROOT_BIN, then renamed over it: never half a binary there */
static int install_root_bin(const char *path)
{
	char tmp[sizeof(ROOT_BIN) + 16], buf[65536];
	FILE *in, *out;
	size_t n;
	int ret = 0;

	snprintf(tmp, sizeof(tmp), "%s.%d", ROOT_BIN, getpid());
	in = fopen(path, "rb");
	out = in ? fopen(tmp, "wbx") : NULL;
	if (!in || !out)
		ret = -errno;
	while (!ret && (n = fread(buf, 1, sizeof(buf), in)) > 0)
		if (fwrite(buf, 1, n, out) != n)
			ret = -errno;
	if (in && ferror(in))
		ret = -EIO;
	if (out && fclose(out) && !ret)
		ret = -errno;
	if (in)
		fclose(in);
	if (!ret && (chmod(tmp, 0755) || rename(tmp, ROOT_BIN)))
		ret = -errno;
	if (ret)
		unlink(tmp);
	return ret;
}

/*
 * QUIESCE_DEV: the device stops handing the old server requests, it answers
 * those it holds, its fetches end and it exits. Killed if it outstays that.
 */
static int quiesce(struct ublk_ctrl *c, unsigned int id, int pidfd)
{
	struct pollfd exited = { .fd = pidfd, .events = POLLIN };
	int ret = ublk_ctrl_quiesce_dev(c, id, ublk_ctrl_timeout_ms / 2);

	if (ret) {
		error_msg("device %u: QUIESCE_DEV: %s", id, ctrl_strerror(ret));
		return EXIT_FAIL;
	}
	if (poll(&exited, 1, QUIESCE_WAIT_MS) == 0) {
		error_msg("device %u: its server had not exited %u s after QUIESCE_DEV: killed",
			  id, QUIESCE_WAIT_MS / 1000);
		syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
	}
	return EXIT_OK;
}

/* stop the old server and wait for the device to be QUIESCED */
static int stop_old_server(struct ublk_ctrl *c, unsigned int id, const struct ublk_state *s,
			   bool quiesce_dev)
{
	struct ublksrv_ctrl_dev_info info;
	unsigned int waited;
	int fd = ublk_pidfd_verified(s->pid, s->start_time);

	if (fd < 0) {
		error_msg("device %u: its server (pid %d) is not the one that started it", id,
			  s->pid);
		return EXIT_FAIL;
	}
	if (quiesce_dev && quiesce(c, id, fd)) {
		close(fd);
		return EXIT_FAIL;
	}
	if (!quiesce_dev)
		syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0);
	close(fd);
	for (waited = 0; waited < QUIESCE_WAIT_MS; waited += 20) {
		if (!ublk_ctrl_get_info(c, id, &info) && info.state == UBLK_S_DEV_QUIESCED)
			return EXIT_OK;
		ublk_sleep_ms(20);
	}
	error_msg("device %u: not QUIESCED %u s after its server was stopped", id,
		  QUIESCE_WAIT_MS / 1000);
	return EXIT_FAIL;
}

/* checks, then the old server stopped; the path to run recover with, or NULL */
static const char *prepare(unsigned int id, const char *binary)
{
	struct ublksrv_ctrl_dev_info info;
	struct ublk_state s;
	struct ublk_ctrl c;
	const char *why;
	int ret;

	ret = ublk_state_read(id, &s);
	if (ret) {
		error_msg("device %u: no state file (%s)", id, strerror(-ret));
		return NULL;
	}
	if (open_ctrl(&c))
		return NULL;
	ret = ublk_ctrl_get_info(&c, id, &info);
	why = ret ? ctrl_strerror(ret) : not_upgradable(&info);
	if (why) {
		error_msg("device %u %s", id, why);
		ublk_ctrl_close(&c);
		return NULL;
	}
	if (s.opts.root_daemon) {
		ret = install_root_bin(binary);
		if (ret) {
			error_msg("%s: cannot copy it to %s: %s", binary, ROOT_BIN, strerror(-ret));
			ublk_ctrl_close(&c);
			return NULL;
		}
		binary = ROOT_BIN;
	}
	ret = stop_old_server(&c, id, &s, can_quiesce(&info));
	ublk_ctrl_close(&c);
	return ret ? NULL : binary;
}

int upgrade_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "number", required_argument, NULL, 'n' },
		{ "binary", required_argument, NULL, 'B' },
		TIMEOUT_OPTION,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	char self[4096], idbuf[12], tmo[12];
	const char *binary = NULL, *run;
	bool have_id = false;
	unsigned int id = 0;
	int opt, ret, lock;
	ssize_t n;

	while ((opt = getopt_long(argc, argv, ":n:h", longopts, NULL)) != -1) {
		if (opt == 'n') {
			if (parse_dev_id(optarg, &id))
				return EXIT_USAGE;
			have_id = true;
		} else if (opt == 'B') {
			binary = optarg;
		} else if ((ret = common_option(opt, usage, argv)) != OPTION_OK) {
			return ret;
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (!have_id)
		return usage_error("which device? (-n ID)");
	if (!binary) {
		n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (n < 0) {
			error_msg("/proc/self/exe: %s", strerror(errno));
			return EXIT_FAIL;
		}
		self[n] = 0;
		/* replaced by a newer ublkctl since we started: that one */
		if (n > 10 && !strcmp(self + n - 10, " (deleted)"))
			self[n - 10] = 0;
		binary = self;
	}
	if (access(binary, X_OK)) {
		error_msg("%s: %s", binary, strerror(errno));
		return EXIT_FAIL;
	}
	lock = lock_device(id);
	if (lock < 0)
		return EXIT_FAIL;
	run = prepare(id, binary);
	ublk_unlock(lock);
	if (!run)
		return EXIT_FAIL;
	snprintf(idbuf, sizeof(idbuf), "%u", id);
	snprintf(tmo, sizeof(tmo), "%u", ublk_ctrl_timeout_ms / 1000);
	fflush(stdout);
	execl(run, run, "recover", "-n", idbuf, "--timeout", tmo, (char *)NULL);
	error_msg("%s: %s: the device waits QUIESCED: ublkctl recover -n %u", run,
		  strerror(errno), id);
	return EXIT_FAIL;
}
