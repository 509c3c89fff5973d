/* SPDX-License-Identifier: MIT */
/*
 * /etc/ublktab: the devices `ublkctl up` creates and `ublkctl down`
 * deletes, one a line, like /etc/crypttab or nbd-client's /etc/nbdtab:
 *
 *   # ID  TARGET  FILE, URI or SIZE   OPTIONS (add's, as on its command line)
 *   0     loop    /srv/root.img       --recovery=reissue early
 *   1     nbd     nbd://server/data   --recovery --queues 2
 *
 * Fields are split at white space; '#' starts a comment. "early" marks a
 * device the initramfs starts (up --early). A pure parser: text in,
 * entries and one message per bad line out.
 */
#ifndef UBLKCTL_UBLKTAB_H
#define UBLKCTL_UBLKTAB_H

#include <stdbool.h>

#define UBLKTAB_PATH		"/etc/ublktab"
#define UBLKTAB_MAX_OPTS	32	/* option words a line may have */
#define UBLKTAB_ERR_LEN		256

struct ublktab_entry {
	unsigned int line;		/* from 1 */
	unsigned int id;
	const char *target;		/* null, loop or nbd */
	const char *source;		/* null: the size; loop: the file; nbd: the URI */
	bool early;
	unsigned int nr_opts;
	char *opts[UBLKTAB_MAX_OPTS];	/* add's option words, in order */
};

struct ublktab {
	unsigned int nr;
	struct ublktab_entry *entries;	/* the good lines, in order */
	char *text;			/* the copy the entries point into */
};

/* Told about each bad line, which is then left out. */
typedef void (*ublktab_bad_fn)(unsigned int line, const char *msg, void *arg);

/*
 * Parses text; returns 0 (bad lines reported through bad and skipped) or
 * -ENOMEM. t must be given to ublktab_free() in every case.
 */
int ublktab_parse(const char *text, struct ublktab *t, ublktab_bad_fn bad, void *arg);
void ublktab_free(struct ublktab *t);
/* The entry for device id, or NULL. */
const struct ublktab_entry *ublktab_find(const struct ublktab *t, unsigned int id);

#endif
