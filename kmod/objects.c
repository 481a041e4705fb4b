// SPDX-License-Identifier: GPL-2.0-only
/*
 * The module's objects and when each lived, for whoever reads the kernel's
 * reports: /sys/kernel/debug/mpmcring/objects. A KCSAN report gives the
 * racing address; found inside one of these objects while it was alive,
 * the race is on our memory even when no frame of ours is near either
 * access (a base-kernel helper several calls below ours, a debugfs or list
 * helper reached from elsewhere). The format is docs/testing.md's:
 *
 *   # mpmcring objects 1
 *   <start> <end> <born> <died> <kind> <ring>
 *   # dropped <n>
 *   # untracked <n>
 *
 * [start, end) in hex, born and died in local_clock() nanoseconds (the
 * clock of printk's timestamps), died "-" while the object is alive.
 *
 * Only kernels built to find memory bugs (KCSAN or KASAN) keep the list:
 * elsewhere every function here returns at once and there is no file. The
 * entries come from one array allocated at load time, so that tracking
 * allocates nothing per object and adds no fault-injection point to the
 * code under test. Live objects keep their entry; freed ones stay as
 * history until their entry is needed again (oldest first, counted as
 * dropped). With every entry live, a new object goes untracked, counted.
 */
#include <linux/debugfs.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/sched/clock.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "internal.h"

/* Objects live and freed that the list holds: 88 bytes each. */
#define MPMCRING_OBJECTS_MAX	4096

struct mpmcring_object {
	struct list_head node;	/* on the live, freed or unused list */
	unsigned long start;
	unsigned long end;
	u64 born;
	u64 died;
	const char *kind;	/* a string constant of this module */
	char ring[32];		/* the ring's name, "-" for none */
};

static struct mpmcring_object *mpmcring_objects;
static DEFINE_MUTEX(mpmcring_objects_lock);
static LIST_HEAD(mpmcring_objects_live);
static LIST_HEAD(mpmcring_objects_freed);	/* oldest first */
static LIST_HEAD(mpmcring_objects_unused);
static u64 mpmcring_objects_dropped;
static u64 mpmcring_objects_untracked;

static bool mpmcring_objects_on(void)
{
	return (IS_ENABLED(CONFIG_KCSAN) || IS_ENABLED(CONFIG_KASAN)) &&
	       mpmcring_objects;
}

/**
 * mpmcring_object_add() - note that one of our objects now lies here
 * @start: its first byte; nothing is noted for NULL
 * @size: its size in bytes
 * @kind: what it is, one word (a string constant)
 * @ring: the name of the ring it belongs to, or NULL
 *
 * Process context: may sleep.
 */
void mpmcring_object_add(const void *start, size_t size, const char *kind,
			 const char *ring)
{
	struct mpmcring_object *o;

	/* Every caller may sleep (mpmcring_create(), open): keep it so. */
	might_sleep();
	if (!mpmcring_objects_on() || !start)
		return;
	mutex_lock(&mpmcring_objects_lock);
	o = list_first_entry_or_null(&mpmcring_objects_unused,
				     struct mpmcring_object, node);
	if (!o) {
		o = list_first_entry_or_null(&mpmcring_objects_freed,
					     struct mpmcring_object, node);
		if (o)
			mpmcring_objects_dropped++;
	}
	if (!o) {
		mpmcring_objects_untracked++;
		goto out;
	}
	o->start = (unsigned long)start;
	o->end = o->start + size;
	o->born = local_clock();
	o->died = 0;
	o->kind = kind;
	strscpy(o->ring, ring && *ring ? ring : "-", sizeof(o->ring));
	list_move_tail(&o->node, &mpmcring_objects_live);
out:
	mutex_unlock(&mpmcring_objects_lock);
}

/**
 * mpmcring_object_del() - note that our object at @start is freed now
 * @start: what mpmcring_object_add() was given; NULL or an address never
 *	   added (an allocation that failed, an untracked object) is ignored
 *
 * Call it before the memory is freed. Process context: may sleep.
 */
void mpmcring_object_del(const void *start)
{
	struct mpmcring_object *o;

	/* Called where the ring is freed: mpmcring_put() may sleep. */
	might_sleep();
	if (!mpmcring_objects_on() || !start)
		return;
	mutex_lock(&mpmcring_objects_lock);
	/* Bounded: the live list holds at most MPMCRING_OBJECTS_MAX entries. */
	list_for_each_entry(o, &mpmcring_objects_live, node) {
		if (o->start == (unsigned long)start) {
			o->died = local_clock();
			list_move_tail(&o->node, &mpmcring_objects_freed);
			break;
		}
	}
	mutex_unlock(&mpmcring_objects_lock);
}

static void mpmcring_object_show(struct seq_file *m,
				 const struct mpmcring_object *o)
{
	seq_printf(m, "%lx %lx %llu ", o->start, o->end, o->born);
	if (o->died)
		seq_printf(m, "%llu", o->died);
	else
		seq_putc(m, '-');
	seq_printf(m, " %s %s\n", o->kind, o->ring);
}

static int mpmcring_objects_show(struct seq_file *m, void *unused)
{
	const struct mpmcring_object *o;

	seq_puts(m, "# mpmcring objects 1\n");
	mutex_lock(&mpmcring_objects_lock);
	list_for_each_entry(o, &mpmcring_objects_freed, node)
		mpmcring_object_show(m, o);
	list_for_each_entry(o, &mpmcring_objects_live, node)
		mpmcring_object_show(m, o);
	seq_printf(m, "# dropped %llu\n# untracked %llu\n",
		   mpmcring_objects_dropped, mpmcring_objects_untracked);
	mutex_unlock(&mpmcring_objects_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(mpmcring_objects);

/**
 * mpmcring_objects_init() - start keeping the list, before any object
 * @root: the module's debugfs directory (an error pointer: no file)
 *
 * Without memory for the list there is no list and no file, which the
 * runner fails (<kernel>/objects): the reports would be judged without it.
 */
void mpmcring_objects_init(struct dentry *root)
{
	unsigned int i;

	if (!IS_ENABLED(CONFIG_KCSAN) && !IS_ENABLED(CONFIG_KASAN))
		return;
	if (IS_ERR_OR_NULL(root))
		return;
	mpmcring_objects = kvcalloc(MPMCRING_OBJECTS_MAX,
				    sizeof(*mpmcring_objects), GFP_KERNEL);
	/* The allocator said so already; the runner fails on the missing file. */
	if (!mpmcring_objects)
		return;
	for (i = 0; i < MPMCRING_OBJECTS_MAX; i++)
		list_add_tail(&mpmcring_objects[i].node, &mpmcring_objects_unused);
	debugfs_create_file("objects", 0400, root, NULL,
			    &mpmcring_objects_fops);
}

/**
 * mpmcring_objects_exit() - free the list
 *
 * After every object is gone and the debugfs directory (with the file, whose
 * readers it waits for) is removed.
 */
void mpmcring_objects_exit(void)
{
	kvfree(mpmcring_objects);
	mpmcring_objects = NULL;
	INIT_LIST_HEAD(&mpmcring_objects_live);
	INIT_LIST_HEAD(&mpmcring_objects_freed);
	INIT_LIST_HEAD(&mpmcring_objects_unused);
}
