// SPDX-License-Identifier: GPL-2.0-only
/*
 * insn_is_locked() (locked.h) on instructions it must count and ones it
 * must not; a host test (tests/host/run.sh: bench/tcgprof_locked).
 */
#include <stdio.h>

#include "locked.h"

struct insn_case {
	const char *what;
	unsigned char bytes[8];
	size_t len;
	bool locked;
};

static const struct insn_case cases[] = {
	{ "lock cmpxchg %rcx,(%rbx)", { 0xf0, 0x48, 0x0f, 0xb1, 0x0b }, 5, true },
	{ "xchg %rax,(%rbx)", { 0x48, 0x87, 0x03 }, 3, true },
	{ "lock addl $0,-4(%rsp)", { 0xf0, 0x83, 0x44, 0x24, 0xfc, 0x00 }, 6, true },
	{ "gs lock xadd", { 0x65, 0xf0, 0x48, 0x0f, 0xc1, 0x03 }, 6, true },
	{ "xchg %ax,(%r11)", { 0x66, 0x41, 0x87, 0x03 }, 4, true },
	{ "xchg %rax,%gs:0(%rip)", { 0x65, 0x48, 0x87, 0x05, 0, 0, 0, 0 }, 8, true },
	{ "xchg %cl,(%rbx)", { 0x86, 0x0b }, 2, true },
	{ "xchg %ecx,%ecx (a marker)", { 0x87, 0xc9 }, 2, false },
	{ "xchg %rbx,%rbx (a marker)", { 0x48, 0x87, 0xdb }, 3, false },
	{ "gs xadd without lock", { 0x65, 0x48, 0x0f, 0xc1, 0x03 }, 5, false },
	{ "add %dh,%al then 0xf0", { 0x00, 0xf0 }, 2, false },
	{ "data16 add %dh,%al", { 0x66, 0x00, 0xf0 }, 3, false },
	{ "mov $0xf0,%rax", { 0x48, 0xc7, 0xc0, 0xf0, 0, 0, 0 }, 7, false },
	{ "xchg cut short", { 0x48, 0x87 }, 2, false },
	{ "nothing", { 0 }, 0, false },
};

int main(void)
{
	size_t i, failed = 0;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct insn_case *c = &cases[i];
		bool got = insn_is_locked(c->bytes, c->len);

		if (got != c->locked) {
			printf("FAIL %s: counted %s\n", c->what, got ? "locked" : "not locked");
			failed++;
		}
	}
	printf("%zu of %zu instructions classified wrong\n", failed, i);
	return failed != 0;
}
