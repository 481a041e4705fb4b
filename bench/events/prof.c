// SPDX-License-Identifier: GPL-2.0-only
/*
 * Instruction-count windows for bench/tcgprof/insn_prof.c
 * (MPMCRING_EVB_PROFILE=1, scripts/bench-events.sh sets it with the
 * plugin): every workload, and a drain's consume, runs between the
 * plugin's markers; each window is named on one BENCH line, and while a
 * transport is loaded the addresses of the code that ran (the kernel's,
 * our modules' and the BPF programs' functions) are printed as KSYM
 * lines, so that bench/tcgprof/report.py can name every block.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../tcgprof/mark.h"
#include "evbench.h"

#define PROF_SETTLE_US 1000000

bool prof_on;
static unsigned int prof_windows;

/* Opens a window once the guest has settled: the work a transport's end
 * left behind (a 64 MiB buffer freed by a kworker, RCU callbacks) would
 * otherwise be counted in the next window, on either vCPU. */
void prof_open(void)
{
	if (!prof_on)
		return;
	usleep(PROF_SETTLE_US);
	tcgprof_open();
}

unsigned int prof_close(const char *part, const char *transport, unsigned int rep,
			const char *stretch, uint64_t work)
{
	if (!prof_on)
		return 0;
	tcgprof_close();
	printf("BENCH {\"kind\":\"window\",\"window\":%u,\"part\":\"%s\",\"transport\":\"%s\","
	       "\"rep\":%u,\"stretch\":\"%s\",\"work\":%llu}\n",
	       prof_windows, part, transport, rep, stretch, (unsigned long long)work);
	fflush(stdout);
	return prof_windows++;
}

/* The code a window ran, by address: the kernel's own functions once
 * (Debian's System.map is a stub, and KASLR moves them every boot), then
 * at each call our modules' and the BPF programs' (each load may put them
 * elsewhere). Text symbols only. */
void prof_ksyms(unsigned int window)
{
	static bool kernel_done;
	FILE *f;
	char line[512], addr[32], type[8], name[256], mod[64];
	bool ours;
	int n;

	if (!prof_on)
		return;
	f = fopen("/proc/kallsyms", "r");
	if (!f) {
		perror("evbench: /proc/kallsyms");
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		mod[0] = 0;
		n = sscanf(line, "%31s %7s %255s %63s", addr, type, name, mod);
		if (n < 3 || !strchr("tTwW", type[0]))
			continue;
		ours = n == 4 && (!strncmp(mod, "[mpmcring", 9) || !strcmp(mod, "[bpf]"));
		if (ours || (n == 3 && !kernel_done))
			printf("KSYM %u %s %s %s %s\n", window, addr, type, name,
			       n == 4 ? mod : "-");
	}
	kernel_done = true;
	fclose(f);
	fflush(stdout);
}
