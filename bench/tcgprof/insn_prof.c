// SPDX-License-Identifier: GPL-2.0-only
/*
 * insn_prof: a QEMU TCG plugin that counts the guest instructions executed
 * between two marker instructions the guest runs, per translation block,
 * so that a benchmark under TCG can say where its instructions go, kernel
 * and user alike, with counts that do not depend on the host's load.
 *
 *   qemu-system-x86_64 -plugin insn_prof.so,out=FILE ...
 *
 * The guest opens a window with `xchg %rbx,%rbx` and closes it with
 * `xchg %rcx,%rcx` (bench/tcgprof/mark.h); both are no-ops that compilers
 * do not emit. Every closed window is written to FILE as
 *
 *   window K
 *   <block start, hex> <instructions> <runs, all vCPUs> <runs on vCPU 0> <on 1>... <atomics>
 *   ...
 *   end K <instructions in the window>
 *
 * (MAX_VCPUS columns of runs by vCPU, a vCPU past the last counted in the
 * last; atomics: the block's locked instructions, a LOCK prefix or an xchg
 * with memory, which cost a cache line's ownership on hardware and a
 * helper call under TCG) and bench/tcgprof/report.py names the addresses. A block is
 * counted whole when it starts (one left early by an interrupt counts all
 * of its instructions), on every vCPU, while a window is open.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "locked.h"
#include "qemu_plugin_abi.h"

__attribute__((visibility("default"))) int qemu_plugin_version = QEMU_PLUGIN_ABI_VERSION;

#define MAX_VCPUS 8

struct block {
	uint64_t vaddr;
	uint64_t n;		  /* instructions */
	uint64_t runs[MAX_VCPUS]; /* in the open window, by vCPU */
	uint64_t atomics;	  /* locked instructions in it */
	struct block *next;	  /* in its hash chain */
};

#define HASH_BITS 16
static struct block *table[1u << HASH_BITS];
static struct block **all_blocks; /* every block, for the window's dump */
static size_t nall, capall;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int open_window; /* read by every block's callback: relaxed */
static unsigned long windows;
static FILE *out;

static const unsigned char mark_open[] = { 0x48, 0x87, 0xdb };	/* xchg %rbx,%rbx */
static const unsigned char mark_close[] = { 0x48, 0x87, 0xc9 }; /* xchg %rcx,%rcx */

static unsigned int hash(uint64_t vaddr, uint64_t n)
{
	return (unsigned int)(((vaddr ^ (n << 52)) * 0x9e3779b97f4a7c15ULL) >> (64 - HASH_BITS));
}

/*
 * The block for (vaddr, n, atomics), kept for the run, so that a block
 * translated again keeps its count. Other code at the same address and
 * length (another process's, a module loaded again) shares it unless
 * its locked instructions differ: report.py names addresses by the
 * symbols of what ran in the windows, the kernel and the workload.
 */
static struct block *block_of(uint64_t vaddr, uint64_t n, uint64_t atomics)
{
	unsigned int h = hash(vaddr, n);
	struct block *b;

	pthread_mutex_lock(&lock);
	for (b = table[h]; b; b = b->next)
		if (b->vaddr == vaddr && b->n == n && b->atomics == atomics)
			goto found;
	if (nall == capall) {
		size_t cap = capall ? 2 * capall : 4096;
		struct block **grown = realloc(all_blocks, cap * sizeof(*all_blocks));

		if (!grown)
			abort();
		all_blocks = grown;
		capall = cap;
	}
	b = calloc(1, sizeof(*b));
	if (!b)
		abort();
	b->vaddr = vaddr;
	b->n = n;
	b->atomics = atomics;
	b->next = table[h];
	table[h] = b;
	all_blocks[nall++] = b;
found:
	pthread_mutex_unlock(&lock);
	return b;
}

static void block_ran(unsigned int vcpu, void *udata)
{
	struct block *b = udata;

	if (vcpu >= MAX_VCPUS)
		vcpu = MAX_VCPUS - 1;
	if (__atomic_load_n(&open_window, __ATOMIC_RELAXED))
		__atomic_fetch_add(&b->runs[vcpu], 1, __ATOMIC_RELAXED);
}

static void window_open(unsigned int vcpu, void *udata)
{
	(void)vcpu;
	(void)udata;
	__atomic_store_n(&open_window, 1, __ATOMIC_RELAXED);
}

/* Writes the window's counts and zeroes them (a window closed twice
 * writes nothing the second time). */
static void window_close(unsigned int vcpu, void *udata)
{
	uint64_t total = 0, runs[MAX_VCPUS], all;
	size_t i;
	int v;

	(void)vcpu;
	(void)udata;
	if (!__atomic_exchange_n(&open_window, 0, __ATOMIC_RELAXED))
		return;
	pthread_mutex_lock(&lock);
	fprintf(out, "window %lu\n", windows);
	for (i = 0; i < nall; i++) {
		for (all = 0, v = 0; v < MAX_VCPUS; v++) {
			runs[v] = __atomic_exchange_n(&all_blocks[i]->runs[v], 0, __ATOMIC_RELAXED);
			all += runs[v];
		}
		if (!all)
			continue;
		fprintf(out, "%llx %llu %llu", (unsigned long long)all_blocks[i]->vaddr,
			(unsigned long long)all_blocks[i]->n, (unsigned long long)all);
		for (v = 0; v < MAX_VCPUS; v++)
			fprintf(out, " %llu", (unsigned long long)runs[v]);
		fprintf(out, " %llu\n", (unsigned long long)all_blocks[i]->atomics);
		total += all * all_blocks[i]->n;
	}
	fprintf(out, "end %lu %llu\n", windows++, (unsigned long long)total);
	fflush(out);
	pthread_mutex_unlock(&lock);
}

static bool is_mark(const struct qemu_plugin_insn *insn, const unsigned char *mark, size_t len)
{
	return qemu_plugin_insn_size(insn) == len &&
	       !memcmp(qemu_plugin_insn_data(insn), mark, len);
}

static void translated(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	size_t i, n = qemu_plugin_tb_n_insns(tb);
	struct qemu_plugin_insn *insn;
	uint64_t atomics = 0;
	struct block *b;

	(void)id;
	for (i = 0; i < n; i++) {
		insn = qemu_plugin_tb_get_insn(tb, i);
		atomics += insn_is_locked(qemu_plugin_insn_data(insn), qemu_plugin_insn_size(insn));
		if (is_mark(insn, mark_open, sizeof(mark_open)))
			qemu_plugin_register_vcpu_insn_exec_cb(insn, window_open,
							       QEMU_PLUGIN_CB_NO_REGS, NULL);
		else if (is_mark(insn, mark_close, sizeof(mark_close)))
			qemu_plugin_register_vcpu_insn_exec_cb(insn, window_close,
							       QEMU_PLUGIN_CB_NO_REGS, NULL);
	}
	b = block_of(qemu_plugin_tb_vaddr(tb), n, atomics);
	qemu_plugin_register_vcpu_tb_exec_cb(tb, block_ran, QEMU_PLUGIN_CB_NO_REGS, b);
}

static void at_exit(qemu_plugin_id_t id, void *udata)
{
	(void)id;
	(void)udata;
	window_close(0, NULL);
	fclose(out);
}

__attribute__((visibility("default"))) int qemu_plugin_install(qemu_plugin_id_t id,
							       const void *info, int argc,
							       char **argv)
{
	const char *path = NULL;
	int i;

	(void)info;
	for (i = 0; i < argc; i++)
		if (!strncmp(argv[i], "out=", 4))
			path = argv[i] + 4;
	if (!path) {
		qemu_plugin_outs("insn_prof: out=FILE is required\n");
		return -1;
	}
	out = fopen(path, "w");
	if (!out) {
		qemu_plugin_outs("insn_prof: cannot write the out= file\n");
		return -1;
	}
	qemu_plugin_register_vcpu_tb_trans_cb(id, translated);
	qemu_plugin_register_atexit_cb(id, at_exit, NULL);
	return 0;
}
