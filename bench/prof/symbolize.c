// SPDX-License-Identifier: MIT
/*
 * symbolize SYMBOLS COUNTS [IOS [TOP]]: sums insn_count's per-block
 * instruction counts (COUNTS) by function, with SYMBOLS in the format of
 * /proc/kallsyms and nm: the guest's kernel, and ublkctl's (static, not
 * PIE: below 4G). Other user space is summed by where it is mapped: PIE
 * programs (fio), and shared libraries with the vDSO. Prints
 * the TOP (default 40) biggest: instructions, instructions per IO when
 * IOS is given, and the share of the whole.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sym {
	uint64_t addr;
	char name[96];
	uint64_t insns;
};

static struct sym *syms;
static size_t nsyms;

#define USER_SLOTS 3
static const char *const user_name[USER_SLOTS] = {
	"[user: static programs below 4G (ublkctl)]",
	"[user: PIE programs (fio)]",
	"[user: shared libraries, vDSO]",
};

static int by_addr(const void *a, const void *b)
{
	const struct sym *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static int by_insns(const void *a, const void *b)
{
	const struct sym *x = a, *y = b;

	return x->insns > y->insns ? -1 : x->insns < y->insns;
}

static int load_syms(const char *path)
{
	char line[512], type, name[80], mod[80];
	unsigned long long addr;
	size_t cap = 0, i;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		int n = sscanf(line, "%llx %c %79s %79s", &addr, &type, name, mod);

		if (n < 3 || (type != 't' && type != 'T') || !addr)
			continue;
		if (nsyms + USER_SLOTS + 1 > cap) {
			cap = cap ? cap * 2 : 65536;
			syms = realloc(syms, cap * sizeof(*syms));
			if (!syms)
				return -1;
		}
		syms[nsyms].addr = addr;
		syms[nsyms].insns = 0;
		snprintf(syms[nsyms].name, sizeof(syms[nsyms].name), n == 4 ? "%s %s" : "%s",
			 name, mod);
		nsyms++;
	}
	fclose(f);
	if (!nsyms)
		return -1;
	qsort(syms, nsyms, sizeof(*syms), by_addr);
	/* after the symbols: user space, and kernel code below every symbol */
	for (i = 0; i < USER_SLOTS + 1; i++) {
		syms[nsyms + i].addr = 0;
		syms[nsyms + i].insns = 0;
		strcpy(syms[nsyms + i].name, i < USER_SLOTS ? user_name[i] : "[kernel, no symbol]");
	}
	return 0;
}

/* the symbol at or below addr, or one of the slots after them */
static struct sym *find(uint64_t addr)
{
	size_t lo = 0, hi = nsyms;

	if (addr >= 0x100000000ULL && addr < 0x7f0000000000ULL)
		return &syms[nsyms + 1];
	if (addr >= 0x7f0000000000ULL && addr < 0xffff800000000000ULL)
		return &syms[nsyms + 2];
	if (addr < syms[0].addr)
		return &syms[nsyms + (addr < 0x100000000ULL ? 0 : USER_SLOTS)];
	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;

		if (syms[mid].addr <= addr)
			lo = mid;
		else
			hi = mid;
	}
	return &syms[lo];
}

int main(int argc, char **argv)
{
	unsigned long long addr, insns, total = 0;
	double ios = argc > 3 ? atof(argv[3]) : 0;
	size_t i, top = argc > 4 ? strtoul(argv[4], NULL, 10) : 40;
	FILE *f;

	if (argc < 3 || load_syms(argv[1]) < 0 || !(f = fopen(argv[2], "r"))) {
		fprintf(stderr, "usage: symbolize KALLSYMS COUNTS [IOS [TOP]]\n");
		return 2;
	}
	while (fscanf(f, "%llx %llu", &addr, &insns) == 2) {
		find(addr)->insns += insns;
		total += insns;
	}
	fclose(f);
	qsort(syms, nsyms + USER_SLOTS + 1, sizeof(*syms), by_insns);
	printf("%14s %10s %6s  %s\n", "instructions", "per IO", "share", "function");
	for (i = 0; i < nsyms + USER_SLOTS + 1 && i < top && syms[i].insns; i++)
		printf("%14llu %10.0f %5.1f%%  %s\n", (unsigned long long)syms[i].insns,
		       ios > 0 ? syms[i].insns / ios : 0, 100.0 * syms[i].insns / total,
		       syms[i].name);
	printf("%14llu %10.0f %5.1f%%  total\n", total, ios > 0 ? total / ios : 0, 100.0);
	return 0;
}
