// SPDX-License-Identifier: GPL-2.0-only
/*
 * The experiment's probe (2026-12-06): is a cache line's transfer cost
 * between two CPUs a property of the line? 48 lines, each ping-ponged
 * 20000 round trips between CPU 0 and CPU 1, four passes over all of them;
 * prints "line pass0 pass1 pass2 pass3" in ns per transfer.
 *
 *   line-probe pages     line i at line i % 64 of page i (default)
 *   line-probe twomaps   the same pages (a memfd) mapped twice: passes 0
 *                        and 2 through one mapping, 1 and 3 through the
 *                        other (same frames, other virtual addresses)
 *   line-probe onepage   line i of one page
 *
 * cc -O2 -pthread -o line-probe line-probe.c
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define NL 48
#define TRIPS 20000
#define PAGE 4096

static _Atomic unsigned long *line;
static atomic_int go, quit;

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

static void pin(int c)
{
	cpu_set_t s;

	CPU_ZERO(&s);
	CPU_SET(c, &s);
	pthread_setaffinity_np(pthread_self(), sizeof(s), &s);
}

static void *echo(void *a)
{
	(void)a;
	pin(1);
	for (;;) {
		_Atomic unsigned long *l;
		unsigned long v = 0;

		while (!atomic_load(&go))
			if (atomic_load(&quit))
				return NULL;
		l = line;
		while (v < 2 * TRIPS) {
			unsigned long x = atomic_load_explicit(l, memory_order_acquire);

			if (x & 1) {
				atomic_store_explicit(l, x + 1, memory_order_release);
				v = x + 1;
			}
		}
		atomic_store(&go, 0);
	}
}

static double probe(_Atomic unsigned long *l)
{
	unsigned long v = 0;
	double t0;

	atomic_store(l, 0);
	line = l;
	atomic_store(&go, 1);
	t0 = now();
	while (v < 2 * TRIPS) {
		atomic_store_explicit(l, v + 1, memory_order_release);
		v += 2;
		while (atomic_load_explicit(l, memory_order_acquire) != v)
			;
	}
	t0 = now() - t0;
	while (atomic_load(&go))
		;
	return t0 / (2.0 * TRIPS);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "pages";
	int two = !strcmp(mode, "twomaps"), one = !strcmp(mode, "onepage");
	int fd = memfd_create("lines", 0);
	char *a, *b;
	double r[4][NL];
	pthread_t t;

	if (fd < 0 || ftruncate(fd, NL * PAGE))
		return 2;
	a = mmap(NULL, NL * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
	b = two ? mmap(NULL, NL * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0)
		: a;
	if (a == MAP_FAILED || b == MAP_FAILED)
		return 2;
	pin(0);
	pthread_create(&t, NULL, echo, NULL);
	for (int p = 0; p < 4; p++)
		for (int i = 0; i < NL; i++) {
			char *base = (p & 1) ? b : a;
			size_t off = one ? (size_t)i * 64 : (size_t)i * PAGE + (i % 64) * 64;

			r[p][i] = probe((_Atomic unsigned long *)(base + off));
		}
	atomic_store(&quit, 1);
	pthread_join(t, NULL);
	for (int i = 0; i < NL; i++)
		printf("%d %.1f %.1f %.1f %.1f\n", i, r[0][i], r[1][i], r[2][i], r[3][i]);
	return 0;
}
