// SPDX-License-Identifier: MIT
/* The fake driver of fake_ctrl.h: lib/ctrl.c and the server start replaced. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_ctrl.h"

struct ublksrv_ctrl_dev_info fake_info;
unsigned int fake_devs = 1;
int fake_spawned;
struct ublk_dev_opts fake_spawned_opts;

/* one of the fake devices: fake_info.dev_id and the fake_devs - 1 after it */
static bool fake_dev(unsigned int id)
{
	return id - fake_info.dev_id < fake_devs;
}

int fake_state_dir(char *dir, size_t len, const char *name)
{
	snprintf(dir, len, "/tmp/ublkctl-%s-XXXXXX", name);
	if (!mkdtemp(dir))
		return -1;
	return setenv("UBLK_STATE_DIR", dir, 1);
}

uint64_t fake_features;

int ublk_ctrl_open(struct ublk_ctrl *c)
{
	memset(c, 0, sizeof(*c));
	c->features = fake_features;
	return 0;
}
void ublk_ctrl_close(struct ublk_ctrl *c) { }

const char *ublk_state_name(unsigned int state)
{
	return state == UBLK_S_DEV_LIVE ? "LIVE" : "QUIESCED";
}

int ublk_list_ids(unsigned int **ids)
{
	unsigned int i;

	*ids = calloc(fake_devs, sizeof(**ids));
	if (!*ids)
		return -ENOMEM;
	for (i = 0; i < fake_devs; i++)
		(*ids)[i] = fake_info.dev_id + i;
	return fake_devs;
}

int ublk_ctrl_get_info(struct ublk_ctrl *c, unsigned int id,
		       struct ublksrv_ctrl_dev_info *info)
{
	if (!fake_dev(id))
		return -ENODEV;
	*info = fake_info;
	info->dev_id = id;
	return 0;
}

int ublk_ctrl_get_params(struct ublk_ctrl *c, unsigned int id, struct ublk_params *p)
{
	return -ENODEV;
}

const struct ublk_tgt_ops *ublk_find_target(const char *name)
{
	static const struct ublk_tgt_ops loop = { .name = "loop" }, null = { .name = "null" },
					 nbd = { .name = "nbd" };

	return !strcmp(name, "loop") ? &loop : !strcmp(name, "null") ? &null :
	       !strcmp(name, "nbd") ? &nbd : NULL;
}

int ublk_server_spawn(const struct ublk_dev_opts *o, struct ublk_spawn_result *res,
		      char *err, size_t len)
{
	fake_spawned++;
	fake_spawned_opts = *o;
	res->dev_id = o->dev_id < 0 ? 0 : o->dev_id;
	res->pid = FAKE_SERVER_PID;
	res->report_fd = -1;
	res->lock_fd = -1;
	return 0;
}

void ublk_server_confirm(struct ublk_spawn_result *res) { }

int fake_stopped, fake_deleted;

int ublk_ctrl_stop_dev(struct ublk_ctrl *c, unsigned int id)
{
	if (!fake_dev(id))
		return -ENODEV;
	fake_stopped++;
	fake_info.state = UBLK_S_DEV_DEAD;
	return 0;
}

int ublk_ctrl_del_dev(struct ublk_ctrl *c, unsigned int id, bool async)
{
	if (!fake_dev(id))
		return -ENODEV;
	fake_deleted++;
	return 0;
}

int ublk_ctrl_get_affinity(struct ublk_ctrl *c, unsigned int id, unsigned int q_id,
			   cpu_set_t *set)
{
	CPU_ZERO(set);
	CPU_SET(0, set);
	return 0;
}

/* lib/ctrl.c's deadline, which the applets set and describe */
unsigned int ublk_ctrl_timeout_ms = UBLK_CTRL_TIMEOUT_MS;

const char *ublk_ctrl_strerror(int err)
{
	return strerror(-err);
}

int ublk_ctrl_try_stop_dev(struct ublk_ctrl *c, unsigned int id)
{
	return fake_dev(id) ? 0 : -ENODEV;
}

int ublk_ctrl_update_size(struct ublk_ctrl *c, unsigned int id, uint64_t sectors)
{
	return fake_dev(id) ? 0 : -ENODEV;
}

int ublk_ctrl_quiesce_dev(struct ublk_ctrl *c, unsigned int id, unsigned int wait_ms)
{
	return fake_dev(id) ? 0 : -ENODEV;
}
