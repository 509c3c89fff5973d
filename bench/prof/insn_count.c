// SPDX-License-Identifier: MIT
/*
 * A QEMU TCG plugin that counts the guest instructions executed per
 * translation block start address: under -icount that is where the guest's
 * time goes. The guest marks a window by executing "xchg %bx,%bx" (see
 * tests/vm/progs/mark.c): each mark writes the counts since the previous
 * one to OUT.N (N = 1, 2, ...; lines "vaddr instructions", hex and decimal)
 * and starts again from zero.
 *
 *   qemu-system-x86_64 ... -plugin insn_count.so,out=/tmp/prof
 *
 * Only the few plugin API calls used here are declared, as QEMU 7.2's
 * plugin API (version 1) defines them.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
enum { QEMU_PLUGIN_CB_NO_REGS = 0 };
enum { QEMU_PLUGIN_INLINE_ADD_U64 = 0 };

size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
const void *qemu_plugin_insn_data(const struct qemu_plugin_insn *insn);
size_t qemu_plugin_insn_size(const struct qemu_plugin_insn *insn);
void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id,
	void (*cb)(qemu_plugin_id_t, struct qemu_plugin_tb *));
void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *tb, int op,
					      void *ptr, uint64_t imm);
void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn *insn,
	void (*cb)(unsigned int vcpu, void *udata), int flags, void *udata);

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

/* One counter per block start; retranslations of a block share it. */
struct block {
	uint64_t vaddr;
	uint64_t insns;
};

#define TABLE_BITS 22
static struct block *table;
static const char *out = "insn_count";
static unsigned int dumps;

static struct block *lookup(uint64_t vaddr)
{
	uint64_t mask = (1ULL << TABLE_BITS) - 1, i = (vaddr * 0x9e3779b97f4a7c15ULL) >> (64 - TABLE_BITS);

	for (;; i = (i + 1) & mask) {
		if (table[i].vaddr == vaddr)
			return &table[i];
		if (!table[i].vaddr) {
			table[i].vaddr = vaddr;
			return &table[i];
		}
	}
}

static void mark(unsigned int vcpu, void *udata)
{
	char path[4096];
	FILE *f;
	size_t i;

	(void)vcpu;
	(void)udata;
	snprintf(path, sizeof(path), "%s.%u", out, ++dumps);
	f = fopen(path, "w");
	for (i = 0; i < 1ULL << TABLE_BITS; i++) {
		if (f && table[i].insns)
			fprintf(f, "%llx %llu\n", (unsigned long long)table[i].vaddr,
				(unsigned long long)table[i].insns);
		table[i].insns = 0;
	}
	if (f)
		fclose(f);
}

static const unsigned char mark_insn[] = { 0x66, 0x87, 0xdb };	/* xchg %bx,%bx */

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	size_t i, n = qemu_plugin_tb_n_insns(tb);
	struct block *b = lookup(qemu_plugin_tb_vaddr(tb));

	(void)id;
	/* a block may run partly (an interrupt in the middle): rare enough */
	qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &b->insns, n);
	for (i = 0; i < n; i++) {
		struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);

		if (qemu_plugin_insn_size(insn) == sizeof(mark_insn) &&
		    !memcmp(qemu_plugin_insn_data(insn), mark_insn, sizeof(mark_insn)))
			qemu_plugin_register_vcpu_insn_exec_cb(insn, mark, QEMU_PLUGIN_CB_NO_REGS, NULL);
	}
}

__attribute__((visibility("default")))
int qemu_plugin_install(qemu_plugin_id_t id, const void *info, int argc, char **argv)
{
	int i;

	(void)info;
	for (i = 0; i < argc; i++)
		if (!strncmp(argv[i], "out=", 4))
			out = argv[i] + 4;
	table = calloc(1ULL << TABLE_BITS, sizeof(*table));
	if (!table)
		return -1;
	qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
	return 0;
}
