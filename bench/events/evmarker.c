// SPDX-License-Identifier: GPL-2.0-only
/*
 * The marker program of the events race: exits at once, one system call
 * after exec, so that an exec of it costs the exec and nothing else.
 * Built -nostdlib -static.
 */
void _start(void);

void _start(void)
{
	__asm__ volatile("mov $60, %eax\n\txor %edi, %edi\n\tsyscall");
	__builtin_unreachable();
}
