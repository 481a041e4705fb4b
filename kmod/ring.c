// SPDX-License-Identifier: GPL-2.0-only
/*
 * Ring memory and lifetime: allocation, the double mapping of the data
 * pages, the registry of named rings, and reference counting.
 *
 * Memory of a ring, as one array of pages mapped by one vmap():
 *
 *   [ consumer area | meta | slot info | stamps | data ... | data again ... ]
 *
 * The data pages appear twice, back to back, so a record that wraps the end
 * of the ring is still contiguous, in the kernel and in every user mapping
 * (which maps slices of the same array). Only the consumer area is ever
 * mapped writable; see fops.c.
 */
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/mm.h>
#include <linux/string.h>
#include <linux/ctype.h>
#include <linux/log2.h>
#include <kunit/visibility.h>

#include "env.h"

DEFINE_MUTEX(mpmcring_registry_lock);
static LIST_HEAD(mpmcring_registry);
/*
 * Ring ids (layout.id), the names BPF programs use: allocated cyclically so
 * that a program holding the id of a destroyed ring does not soon reach a
 * new one; looked up under RCU from any context (mpmcring_find_id()).
 */
static DEFINE_IDR(mpmcring_ids);

/*
 * What mpmcring_find_id() looks at first: in each slot (id modulo its
 * size) a registered ring whose id falls there, if there is one (the one
 * registered last, or after it is destroyed another; none held after its
 * unpublish), set and cleared with the IDR's entry under the registry
 * lock. A miss (no ring, or another id's) goes to the IDR. A BPF producer
 * finds its ring by id for every record: the IDR's radix-tree walk cost it
 * 54 guest instructions (bench/tcgprof), where a hit here, two dependent
 * loads and a compare, leaves mpmcring_find_id() 5 more than its 6.
 */
static struct mpmcring __rcu *mpmcring_id_cache[MPMCRING_ID_CACHE];

/* Pages rings hold right now; tests check that failed creations leak none. */
atomic_long_t mpmcring_live_pages = ATOMIC_LONG_INIT(0);
EXPORT_SYMBOL_IF_KUNIT(mpmcring_live_pages);

static bool mpmcring_name_ok(const char *name)
{
	size_t i, n = name ? strnlen(name, 32) : 0;

	if (n == 0 || n > 31)
		return false;
	for (i = 0; i < n; i++)
		if (!isalnum(name[i]) && !strchr("_.-", name[i]))
			return false;
	return true;
}

/**
 * mpmcring_min_size() - the smallest ring on a kernel with this page size
 * @page_size: the kernel's page size
 *
 * The data area is a whole number of pages (it is mapped twice, page by
 * page), so a ring is at least one page and at least 4 KiB.
 *
 * Return: the minimum data size in bytes.
 */
u64 mpmcring_min_size(unsigned long page_size)
{
	return max_t(u64, MPMCRING_MIN_SIZE, page_size);
}
EXPORT_SYMBOL_IF_KUNIT(mpmcring_min_size);

/**
 * mpmcring_validate_params() - check ring parameters
 * @p: parameters as given; zero fields mean defaults
 *
 * Return: 0, or -EINVAL after a message naming the bad field.
 */
int mpmcring_validate_params(const struct mpmcring_params *p)
{
	u32 g = p->granule ? p->granule : 8;
	u64 min = mpmcring_min_size(PAGE_SIZE);
	int i;

	if (!mpmcring_name_ok(p->name)) {
		pr_err("mpmcring: ring name must be 1-31 characters of [a-zA-Z0-9_.-]\n");
		return -EINVAL;
	}
	if (!is_power_of_2(p->size) || p->size < min ||
	    p->size > MPMCRING_MAX_SIZE) {
		pr_err("mpmcring: %s: size=%llu: must be a power of two from %llu to %llu\n",
		       p->name, p->size, min, MPMCRING_MAX_SIZE);
		return -EINVAL;
	}
	if (!is_power_of_2(g) || g < 8 || g > 64) {
		pr_err("mpmcring: %s: granule=%u: must be 8, 16, 32 or 64\n",
		       p->name, g);
		return -EINVAL;
	}
	if (p->mode != MPMCRING_MODE_DROP_NEWEST &&
	    p->mode != MPMCRING_MODE_OVERWRITE) {
		pr_err("mpmcring: %s: mode=%u: must be %u (drop newest) or %u (overwrite)\n",
		       p->name, p->mode, MPMCRING_MODE_DROP_NEWEST,
		       MPMCRING_MODE_OVERWRITE);
		return -EINVAL;
	}
	if (p->max_consumers > MPMCRING_MAX_CONSUMERS) {
		pr_err("mpmcring: %s: max_consumers=%u: at most %u\n",
		       p->name, p->max_consumers, MPMCRING_MAX_CONSUMERS);
		return -EINVAL;
	}
	for (i = 0; i < MPMCRING_NR_PRIO; i++) {
		if (p->watermark[i] >= p->size) {
			pr_err("mpmcring: %s: watermark[%d]=%llu: must be below the size %llu\n",
			       p->name, i, p->watermark[i], p->size);
			return -EINVAL;
		}
		if (i && p->watermark[i] > p->watermark[i - 1]) {
			pr_err("mpmcring: %s: watermark[%d]=%llu: a higher class cannot need more free space than a lower one (%llu)\n",
			       p->name, i, p->watermark[i], p->watermark[i - 1]);
			return -EINVAL;
		}
	}
	if ((p->flags & MPMCRING_CREATE_USER_PRIO) &&
	    p->user_max_prio >= MPMCRING_NR_PRIO) {
		pr_err("mpmcring: %s: user_max_prio=%u: must be %u (low), %u (normal) or %u (critical)\n",
		       p->name, p->user_max_prio, MPMCRING_PRIO_LOW,
		       MPMCRING_PRIO_NORMAL, MPMCRING_PRIO_CRITICAL);
		return -EINVAL;
	}
	if (p->claim_timeout_ms > MPMCRING_MAX_CLAIM_TIMEOUT_MS) {
		pr_err("mpmcring: %s: claim_timeout_ms=%u: at most %u (an hour)\n",
		       p->name, p->claim_timeout_ms, MPMCRING_MAX_CLAIM_TIMEOUT_MS);
		return -EINVAL;
	}
	if (p->max_per_file > MPMCRING_MAX_CONSUMERS) {
		pr_err("mpmcring: %s: max_per_file=%u: at most %u\n",
		       p->name, p->max_per_file, MPMCRING_MAX_CONSUMERS);
		return -EINVAL;
	}
	if (p->flags & ~(MPMCRING_CREATE_WATERMARKS | MPMCRING_CREATE_USER_PRIO |
			 MPMCRING_CREATE_NO_LEASE)) {
		pr_err("mpmcring: %s: flags=%#x: unknown flags\n", p->name, p->flags);
		return -EINVAL;
	}
	if (p->initial_pos & (g - 1)) {
		pr_err("mpmcring: %s: initial_pos=%llu: must be a multiple of the granule %u\n",
		       p->name, p->initial_pos, g);
		return -EINVAL;
	}
	return 0;
}

/*
 * The layout's ABI minor tells consumers whether the meta page's state word
 * is kept; mpmcring_destroy() keeps it ([D5]), so the minor it publishes
 * must be one that says so, or consumers would wait for POLLHUP instead.
 * It catches a lowered MPMCRING_ABI_MINOR, or a major bump that resets it
 * without deciding what the word's gate becomes. The same for the room
 * wakeup count (mpmcring_room_backstop()) and the chunk statistics
 * (mpmcring_get_stats()).
 */
static_assert(MPMCRING_ABI_MINOR >= MPMCRING_ABI_MINOR_STATE);
static_assert(MPMCRING_ABI_MINOR >= MPMCRING_ABI_MINOR_ROOM_WAKEUPS);
static_assert(MPMCRING_ABI_MINOR >= MPMCRING_ABI_MINOR_CHUNKS);

static void mpmcring_fill_layout(struct mpmcring *ring,
				 const struct mpmcring_params *p,
				 unsigned int nr_info_pages,
				 unsigned int nr_stamp_pages)
{
	struct mpmcring_layout *l = &ring->layout;
	u32 g = p->granule ? p->granule : 8;
	int i;

	l->magic = MPMCRING_MAGIC;
	l->abi_major = MPMCRING_ABI_MAJOR;
	l->abi_minor = MPMCRING_ABI_MINOR;
	l->layout_size = sizeof(*l);
	l->features = p->mode == MPMCRING_MODE_OVERWRITE ?
		      MPMCRING_FEAT_OVERWRITE : 0;
	if (!(p->flags & MPMCRING_CREATE_NO_LEASE)) {
		l->features |= MPMCRING_FEAT_LEASE;
		l->claim_timeout_ms = p->claim_timeout_ms ? p->claim_timeout_ms :
				      MPMCRING_DEF_CLAIM_TIMEOUT_MS;
	}
	l->user_max_prio = (p->flags & MPMCRING_CREATE_USER_PRIO) ?
			   p->user_max_prio : MPMCRING_PRIO_NORMAL;
	l->max_per_file = p->max_per_file ? p->max_per_file :
			  MPMCRING_DEF_PER_FILE;
	l->data_size = p->size;
	l->granule_shift = ilog2(g);
	/* Half the ring: a record never needs more than one wrap. */
	l->max_record = min_t(u64, p->size / 2, U32_MAX) - MPMCRING_HDR_SIZE;
	l->max_consumers = p->max_consumers ? p->max_consumers :
			   MPMCRING_DEF_CONSUMERS;
	l->mode = p->mode;
	l->cons_size = (u64)ring->nr_cons_pages << PAGE_SHIFT;
	l->slot_info_offset = PAGE_SIZE;
	l->stamps_offset = (u64)(1 + nr_info_pages) << PAGE_SHIFT;
	l->data_offset = (u64)(1 + nr_info_pages + nr_stamp_pages) << PAGE_SHIFT;
	l->ro_size = l->data_offset + 2 * p->size;
	if (p->flags & MPMCRING_CREATE_WATERMARKS) {
		for (i = 0; i < MPMCRING_NR_PRIO; i++)
			l->watermark[i] = p->watermark[i];
	} else {
		l->watermark[MPMCRING_PRIO_LOW] = p->size / 2;
		l->watermark[MPMCRING_PRIO_NORMAL] = p->size / 8;
		l->watermark[MPMCRING_PRIO_CRITICAL] = 0;
	}
	strscpy(l->name, p->name, sizeof(l->name));
}

static void mpmcring_free_pages(struct mpmcring *ring)
{
	unsigned int i;

	/* Entries past nr_alloc_pages repeat the data pages: not freed twice. */
	for (i = 0; i < ring->nr_alloc_pages; i++) {
		if (!ring->pages[i])
			break;
		__free_page(ring->pages[i]);
		atomic_long_dec(&mpmcring_live_pages);
	}
	kvfree(ring->pages);
}

static int mpmcring_alloc_pages(struct mpmcring *ring, unsigned int nr_ro_meta,
				unsigned int nr_data)
{
	unsigned int i, first_data = ring->nr_cons_pages + nr_ro_meta;

	ring->nr_alloc_pages = first_data + nr_data;
	ring->nr_pages = ring->nr_alloc_pages + nr_data;
	ring->pages = kvcalloc(ring->nr_pages, sizeof(*ring->pages),
			       GFP_KERNEL_ACCOUNT);
	if (!ring->pages)
		return -ENOMEM;
	for (i = 0; i < ring->nr_alloc_pages; i++) {
		ring->pages[i] = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO |
					    __GFP_NOWARN);
		if (!ring->pages[i])
			return -ENOMEM;
		atomic_long_inc(&mpmcring_live_pages);
		cond_resched();
	}
	for (i = 0; i < nr_data; i++)
		ring->pages[ring->nr_alloc_pages + i] = ring->pages[first_data + i];
	return 0;
}

/*
 * The ring's objects, for the objects list (objects.c): the structure with
 * its locks and wait queues, the page array, the kernel's mapping (control
 * pages, then the data pages twice) and the per-slot arrays. Per-CPU
 * counters are left out: each CPU has its own copy elsewhere.
 */
static void mpmcring_objects_note(struct mpmcring *ring)
{
	const char *name = ring->layout.name;
	unsigned long ctl = ring->layout.cons_size + ring->layout.data_offset;
	size_t bitmap = BITS_TO_LONGS(ring->layout.max_consumers) *
			sizeof(unsigned long);

	mpmcring_object_add(ring, sizeof(*ring), "ring", name);
	mpmcring_object_add(ring->pages, ring->nr_pages * sizeof(*ring->pages),
			    "pages", name);
	mpmcring_object_add(ring->vaddr, ctl, "ctl", name);
	mpmcring_object_add((u8 *)ring->vaddr + ctl, 2 * ring->layout.data_size,
			    "data", name);
	mpmcring_object_add(ring->slots_used, bitmap, "slots", name);
	mpmcring_object_add(ring->read_slots, bitmap, "read-slots", name);
	mpmcring_object_add(ring->read_claims, ring->layout.max_consumers *
			    sizeof(*ring->read_claims), "read-claims", name);
	mpmcring_object_add(ring->leases, ring->layout.max_consumers *
			    sizeof(*ring->leases), "leases", name);
	mpmcring_object_add(ring->slot_pids, ring->layout.max_consumers *
			    sizeof(*ring->slot_pids), "slot-pids", name);
}

/* Before they are freed; objects never noted (a failed creation) are ignored. */
static void mpmcring_objects_forget(struct mpmcring *ring)
{
	mpmcring_object_del(ring->slot_pids);
	mpmcring_object_del(ring->leases);
	mpmcring_object_del(ring->read_claims);
	mpmcring_object_del(ring->read_slots);
	mpmcring_object_del(ring->slots_used);
	if (ring->vaddr) {
		mpmcring_object_del((u8 *)ring->vaddr + ring->layout.cons_size +
				    ring->layout.data_offset);
		mpmcring_object_del(ring->vaddr);
	}
	mpmcring_object_del(ring->pages);
	mpmcring_object_del(ring);
}

static void mpmcring_release(struct kref *ref)
{
	struct mpmcring *ring = container_of(ref, struct mpmcring, ref);
	unsigned int i;

	irq_work_sync(&ring->wake_work);
	del_timer_sync(&ring->tick);
	mpmcring_objects_forget(ring);
	if (ring->vaddr)
		vunmap(ring->vaddr);
	if (ring->pages)
		mpmcring_free_pages(ring);
	free_percpu(ring->depth);
	free_percpu(ring->stats);
	free_percpu(ring->chunks);
	bitmap_free(ring->slots_used);
	bitmap_free(ring->read_slots);
	bitmap_free(ring->lease_fresh);
	kvfree(ring->read_claims);
	kvfree(ring->leases);
	/* Files detach their slots before they let go of the ring. */
	for (i = 0; ring->slot_pids && i < ring->layout.max_consumers; i++)
		put_pid(ring->slot_pids[i]);
	kvfree(ring->slot_pids);
	kfree(ring);
}

/* Allocates and initialises a ring; it is not visible anywhere yet. */
static struct mpmcring *mpmcring_alloc(const struct mpmcring_params *p)
{
	u32 g = p->granule ? p->granule : 8;
	u32 consumers = p->max_consumers ? p->max_consumers :
			MPMCRING_DEF_CONSUMERS;
	unsigned int nr_data = p->size >> PAGE_SHIFT;
	unsigned int nr_stamp = DIV_ROUND_UP((p->size / g) * sizeof(u64),
					     PAGE_SIZE);
	unsigned int nr_info = DIV_ROUND_UP(consumers *
					    sizeof(struct mpmcring_slot_info),
					    PAGE_SIZE);
	struct mpmcring *ring;
	unsigned int i;
	int err = -ENOMEM;

	ring = kzalloc(sizeof(*ring), GFP_KERNEL_ACCOUNT);
	if (!ring)
		return ERR_PTR(-ENOMEM);
	kref_init(&ring->ref);
	INIT_LIST_HEAD(&ring->node);
	spin_lock_init(&ring->slots_lock);
	spin_lock_init(&ring->wake_lock);
	init_waitqueue_head(&ring->wq);
	init_waitqueue_head(&ring->wq_out);
	/* Odd: never a head, so the first tick compares unequal. */
	ring->tick_head = MPMCRING_SLOT_IDLE;
	ring->woke_head = MPMCRING_SLOT_IDLE;
	ring->refused_head = MPMCRING_SLOT_IDLE;
	ring->refused_reclaim = MPMCRING_SLOT_IDLE;
	init_irq_work(&ring->wake_work, mpmcring_wake_work);
	mpmcring_tick_init(ring);
	ring->nr_cons_pages = DIV_ROUND_UP(MPMCRING_CONS_HDR_SIZE +
					   consumers * sizeof(struct mpmcring_slot),
					   PAGE_SIZE);
	mpmcring_fill_layout(ring, p, nr_info, nr_stamp);

	ring->slots_used = bitmap_zalloc(consumers, GFP_KERNEL_ACCOUNT);
	ring->read_slots = bitmap_zalloc(consumers, GFP_KERNEL_ACCOUNT);
	ring->lease_fresh = bitmap_zalloc(consumers, GFP_KERNEL_ACCOUNT);
	ring->read_claims = kvcalloc(consumers, sizeof(*ring->read_claims),
				     GFP_KERNEL_ACCOUNT);
	ring->leases = kvcalloc(consumers, sizeof(*ring->leases),
				GFP_KERNEL_ACCOUNT);
	ring->slot_pids = kvcalloc(consumers, sizeof(*ring->slot_pids),
				   GFP_KERNEL_ACCOUNT);
	ring->stats = alloc_percpu_gfp(struct mpmcring_pcpu_stats,
				       GFP_KERNEL_ACCOUNT);
	ring->depth = __alloc_percpu_gfp(MPMCRING_NR_LEVELS * sizeof(unsigned int),
					 __alignof__(unsigned int),
					 GFP_KERNEL_ACCOUNT);
	if (!ring->slots_used || !ring->read_slots || !ring->lease_fresh ||
	    !ring->read_claims || !ring->leases || !ring->slot_pids ||
	    !ring->stats || !ring->depth)
		goto fail;
	for (i = 0; i < consumers; i++) {
		ring->read_claims[i] = MPMCRING_SLOT_IDLE;
		ring->leases[i].seen = MPMCRING_SLOT_IDLE;
		ring->leases[i].head = MPMCRING_SLOT_IDLE;
	}
	ring->floor.top = MPMCRING_SLOT_IDLE;
	ring->floor.mark = MPMCRING_SLOT_IDLE;

	err = mpmcring_alloc_pages(ring, 1 + nr_info + nr_stamp, nr_data);
	if (err)
		goto fail;
	ring->vaddr = vmap(ring->pages, ring->nr_pages, VM_MAP, PAGE_KERNEL);
	if (!ring->vaddr) {
		err = -ENOMEM;
		goto fail;
	}
	mpr_view_init(&ring->view, &ring->layout, ring->vaddr,
		      (u8 *)ring->vaddr + ring->layout.cons_size);
	mpr_ring_init(&ring->view, &ring->layout, p->initial_pos);
	/* Fixed from here: a mutable class watermark must recompute it. */
	ring->chunk_open_max = ring->view.data_size;
	for (i = 0; i < MPMCRING_NR_PRIO; i++) {
		ring->reserve_limit[i] = mpr_reserve_limit(&ring->view,
							   &ring->layout, i);
		ring->chunk_open_max = min(ring->chunk_open_max,
					   ring->reserve_limit[i]);
	}
	err = mpmcring_chunks_init(ring, p->chunk_bytes);
	if (err)
		goto fail;
	mpmcring_objects_note(ring);
	return ring;
fail:
	kref_put(&ring->ref, mpmcring_release);
	return ERR_PTR(err);
}

static struct mpmcring *mpmcring_find_locked(const char *name)
{
	struct mpmcring *ring;

	lockdep_assert_held(&mpmcring_registry_lock);
	list_for_each_entry(ring, &mpmcring_registry, node)
		if (!strcmp(ring->layout.name, name))
			return ring;
	return NULL;
}

/* Makes a ring visible: registry, device node, debugfs. Registry locked. */
static int mpmcring_publish(struct mpmcring *ring, umode_t mode)
{
	int err, id;

	lockdep_assert_held(&mpmcring_registry_lock);
	if (mpmcring_find_locked(ring->layout.name))
		return -EEXIST;
	if (!strcmp(ring->layout.name, "default"))
		strscpy(ring->devname, "mpmcring", sizeof(ring->devname));
	else
		snprintf(ring->devname, sizeof(ring->devname), "mpmcring-%s",
			 ring->layout.name);
	ring->misc.minor = MISC_DYNAMIC_MINOR;
	ring->misc.name = ring->devname;
	ring->misc.fops = &mpmcring_fops;
	ring->misc.mode = mode ? mode : 0600;
	id = idr_alloc_cyclic(&mpmcring_ids, NULL, 1, INT_MAX, GFP_KERNEL);
	if (id < 0)
		return id;
	ring->layout.id = id;
	ring->view.meta->layout.id = id;
	err = misc_register(&ring->misc);
	if (err) {
		/* Says which: a caller's message has the number only. */
		pr_err("mpmcring: ring %s: registering /dev/%s failed (%d)%s\n",
		       ring->layout.name, ring->devname, err,
		       err == -EBUSY ? ": no misc device minor could be had (none left: 6.1 has 128 in all, so destroy rings or unload modules that hold one; or no memory for one)" :
		       err == -EEXIST ? ": a device of that name exists" : "");
		idr_remove(&mpmcring_ids, id);
		return err;
	}
	/*
	 * Pair with the rcu_dereference()s in mpmcring_find_id() and
	 * idr_find(): a fully built ring.
	 */
	idr_replace(&mpmcring_ids, ring, id);
	rcu_assign_pointer(mpmcring_id_cache[id % MPMCRING_ID_CACHE], ring);
	ring->registered = true;
	list_add_tail(&ring->node, &mpmcring_registry);
	mpmcring_debugfs_add(ring);
	return 0;
}

/**
 * mpmcring_create() - create a named ring with its own device node
 * @params: name, size, mode and limits; see &struct mpmcring_params
 *
 * Allocates the ring and registers /dev/mpmcring-<name>. The caller owns
 * one reference and must end it with mpmcring_destroy(). May sleep.
 *
 * Return: the ring, or ERR_PTR(-EINVAL) for bad parameters (a message says
 * which), ERR_PTR(-EEXIST) when the name is taken, ERR_PTR(-ENOMEM), or
 * what registering its device returns: -ENOSPC (no ring id left), -EBUSY
 * (no dynamic misc minor could be had: 6.1 has 128 for the whole system;
 * later kernels say -EBUSY for no memory for one too), or misc_register()'s
 * other errors.
 */
struct mpmcring *mpmcring_create(const struct mpmcring_params *params)
{
	struct mpmcring *ring;
	int err;

	err = mpmcring_validate_params(params);
	if (err)
		return ERR_PTR(err);
	ring = mpmcring_alloc(params);
	if (IS_ERR(ring))
		return ring;
	mutex_lock(&mpmcring_registry_lock);
	err = mpmcring_publish(ring, params->dev_mode);
	mutex_unlock(&mpmcring_registry_lock);
	if (err) {
		kref_put(&ring->ref, mpmcring_release);
		return ERR_PTR(err);
	}
	return ring;
}
EXPORT_SYMBOL_GPL(mpmcring_create);

/*
 * Takes a ring being unpublished out of mpmcring_find_id()'s first look,
 * putting another registered ring of the same slot there if there is one
 * (a long-lived ring keeps its fast lookup when a later one in its slot
 * goes). Bounded by the rings registered; only destroy calls it.
 */
static void mpmcring_id_uncache(struct mpmcring *ring)
{
	u32 i = ring->layout.id % MPMCRING_ID_CACHE;
	struct mpmcring *other, *next = NULL;

	lockdep_assert_held(&mpmcring_registry_lock);
	if (rcu_access_pointer(mpmcring_id_cache[i]) != ring)
		return;
	list_for_each_entry(other, &mpmcring_registry, node)
		if (other != ring && other->layout.id % MPMCRING_ID_CACHE == i)
			next = other;
	/*
	 * A ring on the list is registered and fully built
	 * (mpmcring_publish()); pairs with mpmcring_find_id()'s
	 * rcu_dereference().
	 */
	rcu_assign_pointer(mpmcring_id_cache[i], next);
}

/**
 * mpmcring_destroy() - remove a ring created with mpmcring_create()
 * @ring: the ring; the creator's reference ends here
 *
 * Removes the device node so nobody can open the ring any more, marks the
 * ring dead in its meta page (MPMCRING_STATE_DEAD) and wakes sleeping
 * consumers, who see end-of-file once the ring is empty. Files
 * and mappings still open keep the memory valid until the last one goes.
 * The caller's own producers must be stopped before this; any other
 * producer (write(2), BPF, another module holding a reference from
 * mpmcring_get_by_name()) is refused from then on, and those under way
 * are waited for (an RCU grace period), so it sleeps.
 */
void mpmcring_destroy(struct mpmcring *ring)
{
	if (IS_ERR_OR_NULL(ring))
		return;
	/* [M:destroy-unpublish] From here on, a lookup by id finds nothing. */
	mutex_lock(&mpmcring_registry_lock);
	if (ring->registered) {
		idr_remove(&mpmcring_ids, ring->layout.id);
		mpmcring_id_uncache(ring);
		mpmcring_debugfs_remove(ring);
		misc_deregister(&ring->misc);
		list_del_init(&ring->node);
		ring->registered = false;
	}
	mutex_unlock(&mpmcring_registry_lock);
	/*
	 * [M:destroy-closing] the model's step (tests/model).
	 * Producers the caller does not control are done with the ring, and
	 * their records committed, before consumers are told the end: a
	 * consumer that sees @dead and an empty ring stops reading, so a
	 * record committed after that would be lost without being counted
	 * anywhere. BPF kfuncs look the ring up by its id (unpublished above)
	 * and use it inside one RCU read-side section; write(2) reserves and
	 * commits inside one that starts by looking at @closing, and so does
	 * every kernel reservation (its preemption-off window, reserve to
	 * commit). [D3] pairs with [D4] in write(2) and in
	 * mpmcring_closed()'s callers (kmod/produce.c): a producer whose
	 * section began before the grace period has committed when it ends;
	 * one that begins after it sees @closing and writes nothing.
	 */
	WRITE_ONCE(ring->closing, true);
	/* [M:destroy-sync] Whether or not BPF is there: write(2) needs it. */
	synchronize_rcu();
	/*
	 * Producers are done: what they left open in chunks is framed as
	 * fillers, or consumers would stop at the first one for good. A
	 * close by someone else (the tick, an unpinning begun before the
	 * grace period) may have won a chunk here and not stamped its
	 * filler yet: each close runs with preemption off, so a second
	 * grace period waits for them before consumers are told the end.
	 */
	mpmcring_chunks_close(ring);
	if (ring->chunks)
		synchronize_rcu();
	/*
	 * [M:destroy-dead] the model's step (tests/model).
	 * [D5] pairs with [D6] in the library's poller (and any consumer of
	 * the mapping): the same message as [D1], in the meta page
	 * (MPMCRING_STATE_DEAD), for consumers that tell the end without a
	 * system call. Before @dead, whose store-release orders it first: a
	 * consumer that learned of the end from poll (POLLHUP) finds the
	 * word set too.
	 */
	smp_store_release(&ring->view.meta->state, MPMCRING_STATE_DEAD);
	/*
	 * [D1] pairs with [D2] in read(2) and poll: every record committed
	 * before (by BPF, write(2) and other modules' producers, through the
	 * grace period; by the caller's producers, which are done) is
	 * published before @dead.
	 * Consumers load @dead before they look at the ring, so "dead, then
	 * empty" is the end.
	 */
	smp_store_release(&ring->dead, true);
	wake_up_all(&ring->wq);
	wake_up_all(&ring->wq_out);
	/* [M:destroy-put] Open files and mappings keep the memory. */
	mpmcring_put(ring);
}
EXPORT_SYMBOL_GPL(mpmcring_destroy);

void mpmcring_ring_get(struct mpmcring *ring)
{
	kref_get(&ring->ref);
}

/**
 * mpmcring_get_by_name() - find a ring and take a reference to it
 * @name: the name it was created with ("default" for /dev/mpmcring)
 *
 * Return: the ring, to be released with mpmcring_put(), or NULL.
 */
struct mpmcring *mpmcring_get_by_name(const char *name)
{
	struct mpmcring *ring;

	mutex_lock(&mpmcring_registry_lock);
	ring = mpmcring_find_locked(name);
	if (ring)
		kref_get(&ring->ref);
	mutex_unlock(&mpmcring_registry_lock);
	return ring;
}
EXPORT_SYMBOL_GPL(mpmcring_get_by_name);

/**
 * mpmcring_get_default() - the ring behind /dev/mpmcring
 *
 * Return: the default ring with a reference taken, to be released with
 * mpmcring_put().
 */
struct mpmcring *mpmcring_get_default(void)
{
	return mpmcring_get_by_name("default");
}
EXPORT_SYMBOL_GPL(mpmcring_get_default);

/**
 * mpmcring_put() - release a reference from mpmcring_get_by_name()
 * @ring: the ring
 *
 * Frees the ring when this was the last reference. May sleep.
 */
void mpmcring_put(struct mpmcring *ring)
{
	kref_put(&ring->ref, mpmcring_release);
}
EXPORT_SYMBOL_GPL(mpmcring_put);

/**
 * mpmcring_layout() - the geometry of a ring
 * @ring: the ring
 *
 * Return: the kernel's copy of the layout; valid as long as @ring is.
 */
const struct mpmcring_layout *mpmcring_layout(struct mpmcring *ring)
{
	return &ring->layout;
}
EXPORT_SYMBOL_GPL(mpmcring_layout);

/**
 * mpmcring_kunit_view() - the kernel's protocol view of a ring, for tests
 * @ring: the ring
 *
 * Return: the view kernel-side test consumers run the protocol over.
 */
struct mpr_view *mpmcring_kunit_view(struct mpmcring *ring)
{
	return &ring->view;
}
EXPORT_SYMBOL_IF_KUNIT(mpmcring_kunit_view);

/*
 * The ring with this id, or NULL. The caller holds rcu_read_lock(), which
 * mpmcring_destroy() waits for (synchronize_rcu()): the ring stays valid
 * until it ends. Any context.
 */
struct mpmcring *mpmcring_find_id(u32 id)
{
	struct mpmcring *ring;

	if (!id || id > INT_MAX)
		return NULL;
	ring = rcu_dereference(mpmcring_id_cache[id % MPMCRING_ID_CACHE]);
	if (likely(ring && ring->layout.id == id))
		return ring;
	return idr_find(&mpmcring_ids, id);
}
EXPORT_SYMBOL_IF_KUNIT(mpmcring_find_id);

/* The ring in id's first-look slot, for the KUnit suites: compare only. */
struct mpmcring *mpmcring_id_cached(u32 id)
{
	return rcu_access_pointer(mpmcring_id_cache[id % MPMCRING_ID_CACHE]);
}
EXPORT_SYMBOL_IF_KUNIT(mpmcring_id_cached);

void mpmcring_registry_exit(void)
{
	WARN_ON(!list_empty(&mpmcring_registry));
	idr_destroy(&mpmcring_ids);
}
