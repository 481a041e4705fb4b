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
 * The runner judges the "# dropped" count by those rules; KUnit's
 * mpmcring_objects suite checks them on a small list of its own.
 */
#include <kunit/visibility.h>
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

/* One list: the module's, or a KUnit test's own, smaller one. */
struct mpmcring_objects {
	struct mutex lock;	/* guards everything below */
	struct mpmcring_object *entries;
	struct list_head live;
	struct list_head freed;	/* oldest first */
	struct list_head unused;
	u64 dropped;
	u64 untracked;
};

/* The module's list: NULL without one (no memory, or not a debug kernel). */
static struct mpmcring_objects *mpmcring_module_objects;

/**
 * mpmcring_objects_new() - a list of @max entries, all unused
 * @max: how many objects, live and freed, it holds
 *
 * Return: the list, or NULL without memory for it. Process context.
 */
struct mpmcring_objects *mpmcring_objects_new(unsigned int max)
{
	struct mpmcring_objects *objs = kzalloc(sizeof(*objs), GFP_KERNEL);
	unsigned int i;

	if (!objs)
		return NULL;
	objs->entries = kvcalloc(max, sizeof(*objs->entries), GFP_KERNEL);
	if (!objs->entries) {
		kfree(objs);
		return NULL;
	}
	mutex_init(&objs->lock);
	INIT_LIST_HEAD(&objs->live);
	INIT_LIST_HEAD(&objs->freed);
	INIT_LIST_HEAD(&objs->unused);
	for (i = 0; i < max; i++)
		list_add_tail(&objs->entries[i].node, &objs->unused);
	return objs;
}
EXPORT_SYMBOL_IF_KUNIT(mpmcring_objects_new);

/**
 * mpmcring_objects_free() - free a list of mpmcring_objects_new()'s
 * @objs: the list, or NULL; nobody may use it any more
 */
void mpmcring_objects_free(struct mpmcring_objects *objs)
{
	if (!objs)
		return;
	mutex_destroy(&objs->lock);
	kvfree(objs->entries);
	kfree(objs);
}
EXPORT_SYMBOL_IF_KUNIT(mpmcring_objects_free);

/**
 * mpmcring_objects_note_add() - note in @objs that an object lies here
 * @objs: the list
 * @start: the object's first byte
 * @size: its size in bytes
 * @kind: what it is, one word (a string constant)
 * @ring: the name of the ring it belongs to, or NULL
 *
 * It takes an unused entry, or else the oldest freed one (counted as
 * dropped), never a live one: with every entry live the object goes
 * untracked, counted. Process context: may sleep.
 */
void mpmcring_objects_note_add(struct mpmcring_objects *objs,
			       const void *start, size_t size,
			       const char *kind, const char *ring)
{
	struct mpmcring_object *o;

	mutex_lock(&objs->lock);
	o = list_first_entry_or_null(&objs->unused, struct mpmcring_object,
				     node);
	if (!o) {
		o = list_first_entry_or_null(&objs->freed,
					     struct mpmcring_object, node);
		if (o)
			objs->dropped++;
	}
	if (!o) {
		objs->untracked++;
		goto out;
	}
	o->start = (unsigned long)start;
	o->end = o->start + size;
	o->born = local_clock();
	o->died = 0;
	o->kind = kind;
	strscpy(o->ring, ring && *ring ? ring : "-", sizeof(o->ring));
	list_move_tail(&o->node, &objs->live);
out:
	mutex_unlock(&objs->lock);
}
EXPORT_SYMBOL_IF_KUNIT(mpmcring_objects_note_add);

/**
 * mpmcring_objects_note_del() - note in @objs that the object at @start
 * is freed now
 * @objs: the list
 * @start: what mpmcring_objects_note_add() was given; an address not live
 *	   in the list (never added, untracked) is ignored
 *
 * Process context: may sleep.
 */
void mpmcring_objects_note_del(struct mpmcring_objects *objs,
			       const void *start)
{
	struct mpmcring_object *o;

	mutex_lock(&objs->lock);
	/* Bounded: the live list holds at most the list's entries. */
	list_for_each_entry(o, &objs->live, node) {
		if (o->start == (unsigned long)start) {
			o->died = local_clock();
			list_move_tail(&o->node, &objs->freed);
			break;
		}
	}
	mutex_unlock(&objs->lock);
}
EXPORT_SYMBOL_IF_KUNIT(mpmcring_objects_note_del);

/**
 * mpmcring_objects_state() - what @objs says of the object at @start
 * @objs: the list
 * @start: the object's first byte
 * @dropped: set to the list's dropped count
 * @untracked: set to the list's untracked count
 *
 * For KUnit: the same facts the objects file prints, without parsing it.
 *
 * Return: 1 when the object is listed alive, 0 when listed freed,
 * -ENOENT when not listed. Process context: may sleep.
 */
int mpmcring_objects_state(struct mpmcring_objects *objs, const void *start,
			   u64 *dropped, u64 *untracked)
{
	const struct mpmcring_object *o;
	int ret = -ENOENT;

	mutex_lock(&objs->lock);
	list_for_each_entry(o, &objs->live, node)
		if (o->start == (unsigned long)start)
			ret = 1;
	list_for_each_entry(o, &objs->freed, node)
		if (o->start == (unsigned long)start && ret < 0)
			ret = 0;
	*dropped = objs->dropped;
	*untracked = objs->untracked;
	mutex_unlock(&objs->lock);
	return ret;
}
EXPORT_SYMBOL_IF_KUNIT(mpmcring_objects_state);

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
	/* Every caller may sleep (mpmcring_create(), open): keep it so. */
	might_sleep();
	if (mpmcring_module_objects && start)
		mpmcring_objects_note_add(mpmcring_module_objects, start, size,
					  kind, ring);
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
	/* Called where the ring is freed: mpmcring_put() may sleep. */
	might_sleep();
	if (mpmcring_module_objects && start)
		mpmcring_objects_note_del(mpmcring_module_objects, start);
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
	struct mpmcring_objects *objs = m->private;
	const struct mpmcring_object *o;

	seq_puts(m, "# mpmcring objects 1\n");
	mutex_lock(&objs->lock);
	list_for_each_entry(o, &objs->freed, node)
		mpmcring_object_show(m, o);
	list_for_each_entry(o, &objs->live, node)
		mpmcring_object_show(m, o);
	seq_printf(m, "# dropped %llu\n# untracked %llu\n", objs->dropped,
		   objs->untracked);
	mutex_unlock(&objs->lock);
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
	if (!IS_ENABLED(CONFIG_KCSAN) && !IS_ENABLED(CONFIG_KASAN))
		return;
	if (IS_ERR_OR_NULL(root))
		return;
	mpmcring_module_objects = mpmcring_objects_new(MPMCRING_OBJECTS_MAX);
	/* The allocator said so already; the runner fails on the missing file. */
	if (!mpmcring_module_objects)
		return;
	debugfs_create_file("objects", 0400, root, mpmcring_module_objects,
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
	mpmcring_objects_free(mpmcring_module_objects);
	mpmcring_module_objects = NULL;
}
