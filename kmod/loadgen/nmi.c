// SPDX-License-Identifier: GPL-2.0-only
/*
 * NMI producers (x86): a kicker thread sends an NMI to each CPU in turn;
 * the NMI handler produces records right there, in NMI context, racing
 * every other producer on that CPU.
 */
#include <linux/kthread.h>
#include <linux/delay.h>
#include <linux/percpu.h>
#include <linux/cpumask.h>

#include "loadgen.h"

#ifdef CONFIG_X86_LOCAL_APIC
#include <asm/apic.h>
#include <asm/nmi.h>

static DEFINE_PER_CPU(int, lg_nmi_pending);
static struct lg_producer *lg_nmi_producers;	/* indexed by CPU */
static unsigned int lg_nmi_count;
static struct task_struct *lg_nmi_kicker;
static bool lg_nmi_registered;

static int lg_nmi_handler(unsigned int type, struct pt_regs *regs)
{
	int cpu = smp_processor_id();

	if (!this_cpu_read(lg_nmi_pending))
		return NMI_DONE;	/* not ours */
	if (cpu < lg_nmi_count && !lg_producer_finished(&lg_nmi_producers[cpu]))
		lg_produce(&lg_nmi_producers[cpu], lg_cfg.timer_batch);
	this_cpu_write(lg_nmi_pending, 0);
	return NMI_HANDLED;
}

static bool lg_nmi_all_done(void)
{
	unsigned int i;

	for (i = 0; i < lg_nmi_count; i++)
		if (cpu_online(i) && !lg_producer_finished(&lg_nmi_producers[i]))
			return false;
	return true;
}

static int lg_nmi_kick(void *unused)
{
	unsigned int cpu;

	while (!kthread_should_stop()) {
		if (READ_ONCE(lg_running)) {
			for_each_online_cpu(cpu) {
				/* One NMI at a time per CPU: each one is ours. */
				if (cpu >= lg_nmi_count ||
				    lg_producer_finished(&lg_nmi_producers[cpu]) ||
				    READ_ONCE(per_cpu(lg_nmi_pending, cpu)))
					continue;
				WRITE_ONCE(per_cpu(lg_nmi_pending, cpu), 1);
				apic->send_IPI_mask(cpumask_of(cpu), NMI_VECTOR);
			}
			if (lg_nmi_all_done())
				break;
		}
		usleep_range(lg_cfg.timer_ns / 1000 + 1, lg_cfg.timer_ns / 1000 + 50);
	}
	/* Done early: a kthread must not return before kthread_stop(). */
	while (!kthread_should_stop())
		schedule_timeout_interruptible(HZ / 10);
	return 0;
}

int lg_nmi_start(struct lg_producer *producers, unsigned int n)
{
	int err;

	lg_nmi_producers = producers;
	lg_nmi_count = n;
	err = register_nmi_handler(NMI_LOCAL, lg_nmi_handler, 0, "mpmcring_lg");
	if (err)
		return err;
	lg_nmi_registered = true;
	lg_nmi_kicker = kthread_run(lg_nmi_kick, NULL, "mpmcring_lg_nmi");
	if (IS_ERR(lg_nmi_kicker)) {
		err = PTR_ERR(lg_nmi_kicker);
		lg_nmi_kicker = NULL;
		lg_nmi_stop();
		return err;
	}
	return 0;
}

void lg_nmi_stop(void)
{
	unsigned int cpu, tries;

	if (lg_nmi_kicker)
		kthread_stop(lg_nmi_kicker);
	lg_nmi_kicker = NULL;
	/* NMIs already sent must find the handler still there. */
	for_each_possible_cpu(cpu)
		for (tries = 0; READ_ONCE(per_cpu(lg_nmi_pending, cpu)) && tries < 1000; tries++)
			usleep_range(100, 200);
	if (lg_nmi_registered)
		unregister_nmi_handler(NMI_LOCAL, "mpmcring_lg");
	lg_nmi_registered = false;
}

#else /* !CONFIG_X86_LOCAL_APIC */

int lg_nmi_start(struct lg_producer *producers, unsigned int n)
{
	pr_err("mpmcring_loadgen: nmi=1 needs x86 local APIC NMIs\n");
	return -EOPNOTSUPP;
}

void lg_nmi_stop(void)
{
}
#endif
