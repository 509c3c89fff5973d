// SPDX-License-Identifier: MIT
/*
 * Who uses /dev/ublkbN (or one of its partitions): a holder in sysfs (dm,
 * md), a mount, a process with it open. For `del --safe`, which refuses to
 * pull a device from under them. A snapshot: a user may come or go right
 * after; the driver's TRY_STOP_DEV closes that gap where it exists.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "ublk.h"

/* appends "; what" to buf (len bytes), counting it */
static void add_user(char *buf, size_t len, int *n, const char *fmt, const char *a,
		     const char *b)
{
	size_t used = strlen(buf);

	if (used + 3 < len) {
		if (*n)
			used += snprintf(buf + used, len - used, "; ");
		snprintf(buf + used, len - used, fmt, a, b);
	}
	(*n)++;
}

/* the block devices: ublkbN and its partitions, by name and dev_t */
struct disk_parts {
	unsigned int nr;
	char name[64][NAME_MAX + 1];
	dev_t dev[64];
};

static dev_t sysfs_dev(const char *dir)
{
	char path[PATH_MAX];
	unsigned int ma, mi;
	FILE *f;

	snprintf(path, sizeof(path), "%s/dev", dir);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fscanf(f, "%u:%u", &ma, &mi) != 2)
		ma = mi = 0;
	fclose(f);
	return makedev(ma, mi);
}

static void find_parts(unsigned int id, struct disk_parts *p)
{
	char disk[32], dir[64];
	struct dirent *d;
	DIR *dh;

	p->nr = 0;
	snprintf(disk, sizeof(disk), "ublkb%u", id);
	snprintf(dir, sizeof(dir), "/sys/block/%s", disk);
	snprintf(p->name[p->nr], sizeof(p->name[0]), "%s", disk);
	p->dev[p->nr++] = sysfs_dev(dir);
	dh = opendir(dir);
	if (!dh)
		return;
	while ((d = readdir(dh)) && p->nr < 64) {
		char sub[PATH_MAX];

		if (strncmp(d->d_name, disk, strlen(disk)) || !d->d_name[strlen(disk)])
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", dir, d->d_name);
		strcpy(p->name[p->nr], d->d_name);
		p->dev[p->nr++] = sysfs_dev(sub);
	}
	closedir(dh);
}

static void find_holders(const struct disk_parts *p, char *buf, size_t len, int *n)
{
	char dir[PATH_MAX];
	struct dirent *d;
	unsigned int i;
	DIR *dh;

	for (i = 0; i < p->nr; i++) {
		if (i)
			snprintf(dir, sizeof(dir), "/sys/block/%s/%s/holders", p->name[0],
				 p->name[i]);
		else
			snprintf(dir, sizeof(dir), "/sys/block/%s/holders", p->name[0]);
		dh = opendir(dir);
		if (!dh)
			continue;
		while ((d = readdir(dh)))
			if (d->d_name[0] != '.')
				add_user(buf, len, n, "%s held by %s", p->name[i], d->d_name);
		closedir(dh);
	}
}

static const char *part_of(const struct disk_parts *p, dev_t dev)
{
	unsigned int i;

	for (i = 0; i < p->nr; i++)
		if (p->dev[i] && p->dev[i] == dev)
			return p->name[i];
	return NULL;
}

static void find_mounts(const struct disk_parts *p, char *buf, size_t len, int *n)
{
	char line[4096], where[PATH_MAX];
	unsigned int ma, mi;
	const char *name;
	FILE *f = fopen("/proc/self/mountinfo", "r");

	if (!f)
		return;
	/* "ID PARENT MAJOR:MINOR ROOT MOUNTPOINT ..." */
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%*u %*u %u:%u %*s %4095s", &ma, &mi, where) != 3)
			continue;
		name = part_of(p, makedev(ma, mi));
		if (name)
			add_user(buf, len, n, "%s mounted on %s", name, where);
	}
	fclose(f);
}

/* control characters as '?': a process names itself as it likes */
static void plain(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

/* the processes with one of p's nodes open (any path to it: by dev_t) */
static void find_openers(const struct disk_parts *p, char *buf, size_t len, int *n)
{
	char dir[300], path[600], comm[64], who[NAME_MAX + 80];
	struct dirent *pd, *fd;
	const char *name;
	struct stat st;
	DIR *proc, *fds;
	FILE *f;

	proc = opendir("/proc");
	if (!proc)
		return;
	while ((pd = readdir(proc))) {
		if (pd->d_name[0] < '0' || pd->d_name[0] > '9')
			continue;
		snprintf(dir, sizeof(dir), "/proc/%s/fd", pd->d_name);
		fds = opendir(dir);
		if (!fds)
			continue;
		while ((fd = readdir(fds))) {
			snprintf(path, sizeof(path), "%s/%s", dir, fd->d_name);
			if (fd->d_name[0] == '.' || stat(path, &st) || !S_ISBLK(st.st_mode))
				continue;
			name = part_of(p, st.st_rdev);
			if (!name)
				continue;
			snprintf(path, sizeof(path), "/proc/%s/comm", pd->d_name);
			comm[0] = 0;
			f = fopen(path, "r");
			if (f) {
				if (!fgets(comm, sizeof(comm), f))
					comm[0] = 0;
				fclose(f);
			}
			comm[strcspn(comm, "\n")] = 0;
			plain(comm);
			snprintf(who, sizeof(who), "%s (%s)", pd->d_name, comm);
			add_user(buf, len, n, "%s open by %s", name, who);
			break;
		}
		closedir(fds);
	}
	closedir(proc);
}

int ublk_dev_users(unsigned int id, char *buf, size_t len)
{
	struct disk_parts *p = malloc(sizeof(*p));
	int n = 0;

	if (!p)
		return -ENOMEM;
	buf[0] = 0;
	find_parts(id, p);
	find_holders(p, buf, len, &n);
	find_mounts(p, buf, len, &n);
	find_openers(p, buf, len, &n);
	free(p);
	return n;
}
