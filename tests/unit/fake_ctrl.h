/* SPDX-License-Identifier: MIT */
/*
 * A fake driver for the applets' tests: fake_devs devices, from
 * fake_info.dev_id on, for which GET_DEV_INFO returns fake_info (with
 * their id); they have no params. Targets are null and loop, with
 * no ops; ublk_server_spawn records what it would have served; STOP_DEV
 * and DEL_DEV are counted.
 */
#ifndef UBLKCTL_FAKE_CTRL_H
#define UBLKCTL_FAKE_CTRL_H

#include "ublk.h"

extern struct ublksrv_ctrl_dev_info fake_info;
extern unsigned int fake_devs;			/* devices from fake_info.dev_id on (1) */
extern int fake_spawned;			/* ublk_server_spawn calls */
extern struct ublk_dev_opts fake_spawned_opts;	/* the last one's */
extern uint64_t fake_features;			/* what GET_FEATURES answers (0: refused) */
extern int fake_stopped, fake_deleted;		/* STOP_DEV (the device goes DEAD), DEL_DEV */

/*
 * The pid ublk_server_spawn reports: above any pid_max (2^22 at most), so
 * that no process has it and a signal add --foreground forwards reaches
 * nobody (it was 1: init).
 */
#define FAKE_SERVER_PID		(4 << 20)

/* A new UBLK_STATE_DIR, /tmp/ublkctl-NAME-XXXXXX, its path into dir; 0 or -1. */
int fake_state_dir(char *dir, size_t len, const char *name);

#endif
