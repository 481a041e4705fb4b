// SPDX-License-Identifier: GPL-2.0-only
/*
 * Planted by tests/harness/selfcheck.sh: the kernel panics after this
 * program's last result (sysrq's crash: the base kernel's panic(), no report
 * names our code). Every result passed; only the guest not reaching its end
 * is wrong, and that alone must turn the run red.
 */
#include <fcntl.h>
#include <stdio.h>
#include <termios.h>
#include <unistd.h>

int main(void)
{
	int fd;

	printf("TAP version 13\n1..1\nok 1 before_panic\n");
	fflush(stdout);
	tcdrain(STDOUT_FILENO);
	fd = open("/proc/sysrq-trigger", O_WRONLY);
	if (fd < 0 || write(fd, "c", 1) != 1)
		perror("planted panic: /proc/sysrq-trigger");
	return 1;
}
