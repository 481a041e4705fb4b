// SPDX-License-Identifier: GPL-2.0-only
/*
 * Planted by tests/harness/selfcheck.sh: a program that forges the results
 * port's framing. It looks for this boot's token wherever a program can look
 * without reading init's memory (the file init.sh deleted, the kernel command
 * line, environments), prints a passing document, then the END line init.sh
 * would write for it (rc=0) and DONE: with each token it found, or without
 * one when it found none; and exits 0. Nothing else is wrong with it: only
 * the forged markers can turn it red, and a token it found would make them
 * count as init's and turn it green.
 */
#include <stdio.h>
#include <string.h>

static void forge(const char *tok)
{
	const char *sep = *tok ? " tok=" : "";

	printf("@@MPMCRING END vm zz_plant_forge rc=0 t=1.00%s%s\n", sep, tok);
	printf("@@MPMCRING DONE%s%s\n", sep, tok);
}

static char tokens[16][33];
static int found;

/* Every word of a file that could be a token (32 hex digits). */
static void look_in(const char *path)
{
	static char buf[65536];
	char *w, *save;
	size_t n, i;
	FILE *f;

	f = fopen(path, "r");
	if (!f)
		return;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	for (i = 0; i < n; i++)
		if (!buf[i])
			buf[i] = ' ';
	buf[n] = 0;
	for (w = strtok_r(buf, " \n=", &save); w; w = strtok_r(NULL, " \n=", &save)) {
		if (strlen(w) == 32 && strspn(w, "0123456789abcdef") == 32 && found < 16)
			memcpy(tokens[found++], w, 33);
	}
}

int main(void)
{
	static const char *const places[] = {
		"/mpmcring-token",
		"/proc/cmdline",
		"/proc/self/environ",
		"/proc/1/environ",
		"/proc/1/cmdline",
		/* 6.12 with retain_initrd: the whole initrd, token archive first */
		"/sys/firmware/initrd",
	};
	size_t i;
	int t;

	for (i = 0; i < sizeof(places) / sizeof(places[0]); i++)
		look_in(places[i]);
	printf("TAP version 13\n1..1\nok 1 forged\n# tokens found: %d\n", found);
	for (t = 0; t < found; t++)
		forge(tokens[t]);
	if (!found)
		forge("");
	return 0;
}
