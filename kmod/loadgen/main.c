// SPDX-License-Identifier: GPL-2.0-only
/*
 * mpmcring_loadgen: a load generator that produces self-checking records
 * into a ring from kthreads (task context), timers (softirq), hrtimers
 * (hardirq) and NMIs, using only the exported mpmcring API.
 *
 *   insmod mpmcring_loadgen.ko ring=NAME create=1 size=64K threads=2 \
 *          hrtimer=1 softirq=1 nmi=1 count=100000 len_min=24 len_max=200
 *
 * Control and counters in /sys/kernel/debug/mpmcring_loadgen/:
 *   control   write "start" or "stop" (stop returns once no producer is
 *             mid-record: the counters are then final)
 *   stats     one line per producer: id ctx cpu attempted committed dropped
 *             done elapsed_ns (first to last record) outputs (records of
 *             those attempted with mpmcring_output(), see output_every)
 *             discarded (see discard_every); then totals (attempted
 *             committed dropped: discarded records are in attempted only)
 *             and "finished 0|1"
 */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/kthread.h>
#include <linux/delay.h>
#include <linux/debugfs.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/cpumask.h>
#include <linux/ktime.h>

#include "loadgen.h"

static char *ring = "";
static bool create;
static unsigned long long size = 1 << 20;
static char *mode = "drop";
static unsigned int granule = 8;
static unsigned long long initial_pos;
static unsigned int threads = UINT_MAX;
static bool hrtimer;
static bool softirq;
static bool nmi;
static unsigned long long count = 100000;
static unsigned int len_min = 24, len_max = 256;
static char *prio_mix = "0:100:0";
static unsigned int batch = 1;
static unsigned long long rate;
static unsigned long long timer_ns = 200000;
static unsigned int timer_batch = 4;
static unsigned int stall_every;
static unsigned int stall_us = 200;
static unsigned int output_every;
static unsigned int discard_every;
static bool autostart = true;
static unsigned int claim_timeout_ms;
static unsigned int chunk_bytes;
static bool no_lease;
static int user_max_prio = -1;
static char *watermarks = "";

module_param(ring, charp, 0444);
MODULE_PARM_DESC(ring, "ring to produce into (\"\": the default ring, /dev/mpmcring)");
module_param(create, bool, 0444);
MODULE_PARM_DESC(create, "create the named ring (size, mode, granule, initial_pos) and destroy it on unload");
module_param(size, ullong, 0444);
MODULE_PARM_DESC(size, "data bytes of a created ring");
module_param(mode, charp, 0444);
MODULE_PARM_DESC(mode, "drop or overwrite, for a created ring");
module_param(granule, uint, 0444);
MODULE_PARM_DESC(granule, "record alignment of a created ring");
module_param(initial_pos, ullong, 0444);
MODULE_PARM_DESC(initial_pos, "starting position of a created ring");
module_param(claim_timeout_ms, uint, 0444);
MODULE_PARM_DESC(claim_timeout_ms, "claim timeout of a created ring (0: the default)");
module_param(chunk_bytes, uint, 0444);
MODULE_PARM_DESC(chunk_bytes, "chunked reservation of a created ring: chunk size, used while the ring is filled below its lowest class limit (capped to a quarter of that limit and of the ring over every possible CPU's four levels; 0: a reservation per record)");
module_param(no_lease, bool, 0444);
MODULE_PARM_DESC(no_lease, "claims of a created ring never expire");
module_param(user_max_prio, int, 0444);
MODULE_PARM_DESC(user_max_prio, "highest class write(2) may use on a created ring, 0-2 (-1: the default)");
module_param(watermarks, charp, 0444);
MODULE_PARM_DESC(watermarks, "free-space percentages LOW,NORMAL,CRITICAL of a created ring (\"\": the defaults)");
module_param(threads, uint, 0444);
MODULE_PARM_DESC(threads, "kthread producers, bound to CPUs in turn (default: one per online CPU)");
module_param(hrtimer, bool, 0444);
MODULE_PARM_DESC(hrtimer, "one hrtimer (hardirq) producer per online CPU");
module_param(softirq, bool, 0444);
MODULE_PARM_DESC(softirq, "one timer (softirq) producer per online CPU");
module_param(nmi, bool, 0444);
MODULE_PARM_DESC(nmi, "one NMI producer per online CPU (x86)");
module_param(count, ullong, 0444);
MODULE_PARM_DESC(count, "records each producer attempts (0: until stopped)");
module_param(len_min, uint, 0444);
MODULE_PARM_DESC(len_min, "smallest payload, at least 24 bytes");
module_param(len_max, uint, 0444);
MODULE_PARM_DESC(len_max, "largest payload");
module_param(prio_mix, charp, 0444);
MODULE_PARM_DESC(prio_mix, "percent of low:normal:critical records (default 0:100:0)");
module_param(batch, uint, 0444);
MODULE_PARM_DESC(batch, "records per reservation in kthreads, 1-16");
module_param(rate, ullong, 0444);
MODULE_PARM_DESC(rate, "records per second per kthread (0: as fast as possible)");
module_param(timer_ns, ullong, 0444);
MODULE_PARM_DESC(timer_ns, "period of timer, hrtimer and NMI producers");
module_param(timer_batch, uint, 0444);
MODULE_PARM_DESC(timer_batch, "records per timer tick or NMI");
module_param(stall_every, uint, 0444);
MODULE_PARM_DESC(stall_every, "producer 0 stalls between reserve and commit every N records");
module_param(stall_us, uint, 0444);
MODULE_PARM_DESC(stall_us, "length of that stall in microseconds");
module_param(output_every, uint, 0444);
MODULE_PARM_DESC(output_every, "every Nth burst is built in a buffer and sent record by record with mpmcring_output() (0: never)");
module_param(discard_every, uint, 0444);
MODULE_PARM_DESC(discard_every, "every Nth reservation's records are discarded, not committed (0: never; output_every's records are always sent)");
module_param(autostart, bool, 0444);
MODULE_PARM_DESC(autostart, "start producing at load (else write start to control)");

struct lg_config lg_cfg;
bool lg_running;

static struct lg_producer *lg_prod;
static unsigned int lg_nprod, lg_nthreads, lg_ntimer, lg_nhr, lg_nnmi;
static unsigned int lg_first_sirq, lg_first_hr, lg_first_nmi;
static bool lg_created;
static struct dentry *lg_debugfs;
static DEFINE_MUTEX(lg_lock);	/* start/stop */

static int lg_thread(void *arg)
{
	struct lg_producer *p = arg;
	ktime_t t0 = ktime_get();

	while (!kthread_should_stop()) {
		if (!READ_ONCE(lg_running) || lg_producer_finished(p)) {
			schedule_timeout_interruptible(HZ / 50);
			continue;
		}
		lg_produce(p, lg_cfg.batch);
		if (lg_cfg.rate && !(p->attempted % 64)) {
			s64 ahead = div64_u64(p->attempted * NSEC_PER_SEC, lg_cfg.rate) -
				    ktime_to_ns(ktime_sub(ktime_get(), t0));

			if (ahead > 20000)
				usleep_range(ahead / 1000, ahead / 1000 + 20);
		}
		cond_resched();
	}
	return 0;
}

static enum hrtimer_restart lg_hrtimer_fn(struct hrtimer *t)
{
	struct lg_producer *p = container_of(t, struct lg_producer, hrt);

	if (!READ_ONCE(lg_running) || lg_producer_finished(p))
		return HRTIMER_NORESTART;
	lg_produce(p, lg_cfg.timer_batch);
	hrtimer_forward_now(t, ns_to_ktime(lg_cfg.timer_ns));
	return HRTIMER_RESTART;
}

static void lg_timer_fn(struct timer_list *t)
{
	struct lg_producer *p = from_timer(p, t, tl);

	if (!READ_ONCE(lg_running) || lg_producer_finished(p))
		return;
	lg_produce(p, lg_cfg.timer_batch);
	mod_timer(&p->tl, jiffies + max_t(unsigned long, 1, nsecs_to_jiffies(lg_cfg.timer_ns)));
}

/* Runs on the producer's CPU so the pinned hrtimer is that CPU's. */
static void lg_hrtimer_arm(void *arg)
{
	struct lg_producer *p = arg;

	hrtimer_start(&p->hrt, ns_to_ktime(lg_cfg.timer_ns),
		      HRTIMER_MODE_REL_PINNED_HARD);
}

static void lg_start(void)
{
	unsigned int i;

	mutex_lock(&lg_lock);
	if (lg_running)
		goto out;
	WRITE_ONCE(lg_running, true);
	for (i = 0; i < lg_nthreads; i++)
		wake_up_process(lg_prod[i].task);
	for (i = lg_first_sirq; i < lg_first_sirq + lg_ntimer; i++) {
		lg_prod[i].tl.expires = jiffies + 1;
		add_timer_on(&lg_prod[i].tl, lg_prod[i].cpu);
	}
	for (i = lg_first_hr; i < lg_first_hr + lg_nhr; i++)
		smp_call_function_single(lg_prod[i].cpu, lg_hrtimer_arm,
					 &lg_prod[i], 1);
out:
	mutex_unlock(&lg_lock);
}

/* Stops every producer and waits until none runs. */
static void lg_stop(void)
{
	unsigned int i;

	mutex_lock(&lg_lock);
	WRITE_ONCE(lg_running, false);
	for (i = lg_first_sirq; i < lg_first_sirq + lg_ntimer; i++)
		del_timer_sync(&lg_prod[i].tl);
	for (i = lg_first_hr; i < lg_first_hr + lg_nhr; i++)
		hrtimer_cancel(&lg_prod[i].hrt);
	/* A quiescent point: counters are final once this returns. */
	lg_quiesce(lg_prod, lg_nprod);
	mutex_unlock(&lg_lock);
}

static const char *const lg_ctx_names[MPR_NR_CTX] = {
	"task", "softirq", "hardirq", "nmi", "user",
};

static int lg_stats_show(struct seq_file *m, void *unused)
{
	u64 att = 0, com = 0, drop = 0;
	bool finished = true;
	unsigned int i;

	seq_puts(m, "# id ctx cpu attempted committed dropped done elapsed_ns outputs discarded\n");
	for (i = 0; i < lg_nprod; i++) {
		const struct lg_producer *p = &lg_prod[i];
		bool done = lg_producer_finished(p);

		seq_printf(m, "%u %s %d %llu %llu %llu %d %llu %llu %llu\n", p->id,
			   lg_ctx_names[p->ctx], p->cpu, READ_ONCE(p->attempted),
			   READ_ONCE(p->committed), READ_ONCE(p->dropped), done,
			   READ_ONCE(p->t_last) - READ_ONCE(p->t_first),
			   READ_ONCE(p->outputs), READ_ONCE(p->discarded));
		att += READ_ONCE(p->attempted);
		com += READ_ONCE(p->committed);
		drop += READ_ONCE(p->dropped);
		finished &= done;
	}
	seq_printf(m, "total %llu %llu %llu\nfinished %d\nrunning %d\n", att,
		   com, drop, finished && lg_cfg.count, READ_ONCE(lg_running));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(lg_stats);

static ssize_t lg_control_write(struct file *f, const char __user *ubuf,
				size_t len, loff_t *off)
{
	char buf[16] = { };

	if (copy_from_user(buf, ubuf, min(len, sizeof(buf) - 1)))
		return -EFAULT;
	if (sysfs_streq(buf, "start"))
		lg_start();
	else if (sysfs_streq(buf, "stop"))
		lg_stop();
	else
		return -EINVAL;
	return len;
}

static const struct file_operations lg_control_fops = {
	.owner = THIS_MODULE,
	.write = lg_control_write,
};

/* Checks the parameters, naming the bad one. */
static int lg_parse_params(void)
{
	unsigned int pct[MPMCRING_NR_PRIO];

	if (len_min < MPR_TESTREC_MIN || len_max < len_min) {
		pr_err("mpmcring_loadgen: len_min=%u len_max=%u: need %u <= len_min <= len_max\n",
		       len_min, len_max, MPR_TESTREC_MIN);
		return -EINVAL;
	}
	if (sscanf(prio_mix, "%u:%u:%u", &pct[0], &pct[1], &pct[2]) != 3 ||
	    pct[0] + pct[1] + pct[2] != 100) {
		pr_err("mpmcring_loadgen: prio_mix=%s: want low:normal:critical percents summing to 100\n",
		       prio_mix);
		return -EINVAL;
	}
	if (output_every && stall_every) {
		pr_err("mpmcring_loadgen: output_every=%u stall_every=%u: a stall falls between a reservation and its commit, which mpmcring_output() does not leave open: use one or the other\n",
		       output_every, stall_every);
		return -EINVAL;
	}
	if (output_every && len_max > LG_OUT_MAX) {
		pr_err("mpmcring_loadgen: output_every=%u len_max=%u: a producer's output buffer holds at most %u bytes\n",
		       output_every, len_max, LG_OUT_MAX);
		return -EINVAL;
	}
	if (!batch || batch > 16) {
		pr_err("mpmcring_loadgen: batch=%u: must be 1-16\n", batch);
		return -EINVAL;
	}
	if (timer_ns < 10000 || !timer_batch) {
		pr_err("mpmcring_loadgen: timer_ns=%llu timer_batch=%u: need timer_ns >= 10000 and timer_batch >= 1\n",
		       timer_ns, timer_batch);
		return -EINVAL;
	}
	if (strcmp(mode, "drop") && strcmp(mode, "overwrite")) {
		pr_err("mpmcring_loadgen: mode=%s: must be drop or overwrite\n", mode);
		return -EINVAL;
	}
	if (create && !*ring) {
		pr_err("mpmcring_loadgen: create=1 needs ring=NAME\n");
		return -EINVAL;
	}
	memcpy(lg_cfg.prio_pct, pct, sizeof(pct));
	lg_cfg.count = count;
	lg_cfg.len_min = len_min;
	lg_cfg.len_max = len_max;
	lg_cfg.batch = batch;
	lg_cfg.rate = rate;
	lg_cfg.timer_ns = timer_ns;
	lg_cfg.timer_batch = timer_batch;
	lg_cfg.stall_every = stall_every;
	lg_cfg.stall_us = stall_us;
	lg_cfg.output_every = output_every;
	lg_cfg.discard_every = discard_every;
	return 0;
}

static struct mpmcring *lg_get_ring(void)
{
	struct mpmcring_params p = {
		.name = ring,
		.size = size,
		.granule = granule,
		.mode = strcmp(mode, "overwrite") ? MPMCRING_MODE_DROP_NEWEST :
						    MPMCRING_MODE_OVERWRITE,
		.initial_pos = initial_pos,
		.claim_timeout_ms = claim_timeout_ms,
		.chunk_bytes = chunk_bytes,
		.flags = no_lease ? MPMCRING_CREATE_NO_LEASE : 0,
	};
	unsigned int pct[MPMCRING_NR_PRIO];
	struct mpmcring *r;
	int i;

	if (user_max_prio >= 0) {
		p.flags |= MPMCRING_CREATE_USER_PRIO;
		p.user_max_prio = user_max_prio;
	}
	if (*watermarks) {
		if (sscanf(watermarks, "%u,%u,%u", &pct[0], &pct[1], &pct[2]) != 3) {
			pr_err("mpmcring_loadgen: watermarks=%s: want LOW,NORMAL,CRITICAL percentages\n",
			       watermarks);
			return ERR_PTR(-EINVAL);
		}
		p.flags |= MPMCRING_CREATE_WATERMARKS;
		for (i = 0; i < MPMCRING_NR_PRIO; i++)
			p.watermark[i] = div_u64(size * min(pct[i], 99U), 100);
	}
	if (create) {
		r = mpmcring_create(&p);
		lg_created = !IS_ERR(r);
		return r;
	}
	r = *ring ? mpmcring_get_by_name(ring) : mpmcring_get_default();
	if (!r) {
		pr_err("mpmcring_loadgen: ring=%s: no such ring\n", ring);
		return ERR_PTR(-ENOENT);
	}
	return r;
}

static void lg_put_ring(void)
{
	if (IS_ERR_OR_NULL(lg_cfg.ring))
		return;
	if (lg_created)
		mpmcring_destroy(lg_cfg.ring);
	else
		mpmcring_put(lg_cfg.ring);
	lg_cfg.ring = NULL;
}

static void lg_free_producers(void)
{
	unsigned int i;

	if (!lg_prod)
		return;
	for (i = 0; i < lg_nthreads; i++)
		if (!IS_ERR_OR_NULL(lg_prod[i].task))
			kthread_stop(lg_prod[i].task);
	for (i = 0; i < lg_nprod; i++)
		kfree(lg_prod[i].out_buf);
	kfree(lg_prod);
	lg_prod = NULL;
}

/* Lays out the producers: kthreads, then softirq, hardirq, NMI ones. */
static int lg_setup_producers(void)
{
	unsigned int ncpu = num_online_cpus(), i, cpu;
	unsigned int *cpus;
	int n = 0;

	cpus = kcalloc(ncpu, sizeof(*cpus), GFP_KERNEL);
	if (!cpus)
		return -ENOMEM;
	for_each_online_cpu(cpu)
		cpus[n++] = cpu;
	lg_nthreads = threads == UINT_MAX ? ncpu : threads;
	lg_ntimer = softirq ? ncpu : 0;
	lg_nhr = hrtimer ? ncpu : 0;
	lg_nnmi = nmi ? nr_cpu_ids : 0;
	lg_first_sirq = lg_nthreads;
	lg_first_hr = lg_first_sirq + lg_ntimer;
	lg_first_nmi = lg_first_hr + lg_nhr;
	lg_nprod = lg_first_nmi + lg_nnmi;
	lg_prod = kcalloc(max(lg_nprod, 1U), sizeof(*lg_prod), GFP_KERNEL);
	if (!lg_prod) {
		kfree(cpus);
		return -ENOMEM;
	}
	for (i = 0; i < lg_nprod; i++) {
		struct lg_producer *p = &lg_prod[i];

		p->id = i;
		if (output_every) {
			p->out_buf = kmalloc(len_max, GFP_KERNEL);
			if (!p->out_buf) {
				kfree(cpus);
				return -ENOMEM;
			}
		}
		if (i < lg_first_sirq) {
			p->ctx = MPR_CTX_TASK;
			p->cpu = cpus[i % ncpu];
			p->task = kthread_create_on_cpu(lg_thread, p, p->cpu,
							"mpmcring_lg/%u");
			if (IS_ERR(p->task)) {
				kfree(cpus);
				return PTR_ERR(p->task);
			}
		} else if (i < lg_first_hr) {
			p->ctx = MPR_CTX_SOFTIRQ;
			p->cpu = cpus[i - lg_first_sirq];
			timer_setup(&p->tl, lg_timer_fn, TIMER_PINNED);
		} else if (i < lg_first_nmi) {
			p->ctx = MPR_CTX_HARDIRQ;
			p->cpu = cpus[i - lg_first_hr];
			hrtimer_init(&p->hrt, CLOCK_MONOTONIC,
				     HRTIMER_MODE_REL_PINNED_HARD);
			p->hrt.function = lg_hrtimer_fn;
		} else {
			p->ctx = MPR_CTX_NMI;
			p->cpu = i - lg_first_nmi;
		}
	}
	kfree(cpus);
	return 0;
}

static int __init lg_init(void)
{
	int err = lg_parse_params();

	if (err)
		return err;
	lg_cfg.ring = lg_get_ring();
	if (IS_ERR(lg_cfg.ring))
		return PTR_ERR(lg_cfg.ring);
	err = lg_setup_producers();
	if (err)
		goto fail;
	if (lg_nnmi) {
		err = lg_nmi_start(lg_prod + lg_first_nmi, lg_nnmi);
		if (err)
			goto fail;
	}
	lg_debugfs = debugfs_create_dir("mpmcring_loadgen", NULL);
	debugfs_create_file("stats", 0400, lg_debugfs, NULL, &lg_stats_fops);
	debugfs_create_file("control", 0200, lg_debugfs, NULL, &lg_control_fops);
	if (autostart)
		lg_start();
	return 0;
fail:
	lg_free_producers();
	lg_put_ring();
	return err;
}

static void __exit lg_exit(void)
{
	debugfs_remove_recursive(lg_debugfs);
	lg_stop();
	lg_nmi_stop();
	lg_free_producers();
	lg_put_ring();
}

module_init(lg_init);
module_exit(lg_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Load generator for mpmcring: producers in every context");
