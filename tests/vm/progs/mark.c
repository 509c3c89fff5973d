// SPDX-License-Identifier: MIT
/*
 * ublk-mark: executes "xchg %bx,%bx", an instruction that does nothing and
 * that bench/prof/insn_count.c watches for: it marks the start and the end
 * of a profiled window.
 */
int main(void)
{
	__asm__ volatile("xchg %%bx, %%bx" ::: "memory");
	return 0;
}
