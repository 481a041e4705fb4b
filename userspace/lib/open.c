// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Opening and mapping a ring, checking what it says about itself, and
 * attaching consumers. The library learns every size from the ring at run
 * time; nothing about a ring is compiled in except the ABI version.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"

static _Thread_local char mpr_errbuf[256];
/* The last failure's message when it was a constant (NULL: mpr_errbuf). */
static _Thread_local const char *mpr_errconst;

int mpr_lib_error(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(mpr_errbuf, sizeof(mpr_errbuf), fmt, ap);
	va_end(ap);
	mpr_errconst = NULL;
	errno = err;
	return -err;
}

int mpr_lib_fail(int err, const char *msg)
{
	mpr_errconst = msg;
	errno = err;
	return -err;
}

int mpr_lib_opts_check(const void *opts, size_t known, const char *what)
{
	const unsigned char *p = opts;
	size_t sz, i;

	if (!opts)
		return 0;
	sz = *(const size_t *)opts;
	if (sz < sizeof(size_t))
		return mpr_lib_error(EINVAL,
				     "%s: sz is %zu: set it to sizeof the struct (MPMCRING_OPTS())",
				     what, sz);
	/* A newer caller's fields this library does not know: fine while 0. */
	for (i = known; i < sz; i++)
		if (p[i])
			return mpr_lib_error(
				EINVAL,
				"%s: byte %zu is set, a field this library (%s) does not know: upgrade the library",
				what, i, MPMCRING_VERSION_STRING);
	return 0;
}

int mpr_lib_opts_reserved(unsigned int reserved, const char *what)
{
	if (!reserved)
		return 0;
	return mpr_lib_error(
		EINVAL,
		"%s: reserved is %#x: it must be 0 (set by a caller built for a newer library than %s? upgrade the library)",
		what, reserved, MPMCRING_VERSION_STRING);
}

uint32_t mpmcring_version(void)
{
	return MPMCRING_VERSION_CODE(MPMCRING_VERSION_MAJOR, MPMCRING_VERSION_MINOR,
				     MPMCRING_VERSION_PATCH);
}

const char *mpmcring_version_string(void)
{
	return MPMCRING_VERSION_STRING;
}

const char *mpmcring_errmsg(void)
{
	if (mpr_errconst)
		return mpr_errconst;
	return mpr_errbuf[0] ? mpr_errbuf : "no error";
}

static bool pow2(uint64_t x)
{
	return x && !(x & (x - 1));
}

/*
 * The longest mapping this process can ask for: mmap takes a size_t, so a
 * 32-bit process would map a ring past it short and index past the mapping.
 * A variable so that tests can stand in for a 32-bit process.
 */
uint64_t mpr_lib_max_mapping = SIZE_MAX;

int mpr_lib_check_layout(const struct mpmcring_layout *l)
{
	uint64_t stamps;

	if (l->magic != MPMCRING_MAGIC)
		return mpr_lib_error(EPROTO, "not an mpmcring ring (bad magic)");
	if (l->abi_major != MPMCRING_ABI_MAJOR || l->abi_minor < 1)
		return mpr_lib_error(
			EPROTONOSUPPORT,
			"ring ABI %u.%u, library ABI %u.%u: upgrade the library or the module",
			l->abi_major, l->abi_minor, MPMCRING_ABI_MAJOR, MPMCRING_ABI_MINOR);
	if (l->features & ~MPMCRING_FEAT_KNOWN)
		return mpr_lib_error(
			EPROTONOSUPPORT,
			"ring uses features %#llx this library does not know: upgrade the library",
			(unsigned long long)(l->features & ~MPMCRING_FEAT_KNOWN));
	/*
	 * A newer kernel's layout may be larger (fields appended with an ABI
	 * minor bump, inside the meta page's first 512 bytes): the library
	 * reads the part it knows.
	 */
	if (l->layout_size < sizeof(*l) ||
	    l->layout_size > offsetof(struct mpmcring_meta, prod_pos) || !pow2(l->data_size) ||
	    l->data_size < 4096 || l->data_size > (1ULL << 40) || l->granule_shift < 3 ||
	    l->granule_shift > 12 || l->max_record > l->data_size / 2 || l->max_consumers == 0 ||
	    l->cons_size < MPMCRING_CONS_HDR_SIZE +
				   (uint64_t)l->max_consumers * sizeof(struct mpmcring_slot))
		return mpr_lib_error(EPROTO, "the ring's layout is inconsistent");
	/* Never true on LP64; a 32-bit process cannot map 2 GiB rings. */
	if (l->ro_size > mpr_lib_max_mapping || l->cons_size > mpr_lib_max_mapping ||
	    l->ro_size + l->cons_size > mpr_lib_max_mapping)
		return mpr_lib_error(
			EFBIG,
			"the ring maps %llu bytes, more than a %zu-bit process can (%llu): use a 64-bit build or a smaller ring",
			(unsigned long long)(l->ro_size + l->cons_size), sizeof(size_t) * 8,
			(unsigned long long)mpr_lib_max_mapping);
	stamps = (l->data_size >> l->granule_shift) * sizeof(uint64_t);
	if (l->slot_info_offset < sizeof(struct mpmcring_meta) || l->slot_info_offset % 8 ||
	    l->stamps_offset < l->slot_info_offset + (uint64_t)l->max_consumers *
							     sizeof(struct mpmcring_slot_info) ||
	    l->stamps_offset % 8 || l->data_offset % 4096 ||
	    l->data_offset < l->stamps_offset + stamps ||
	    l->ro_size != l->data_offset + 2 * l->data_size)
		return mpr_lib_error(EPROTO, "the ring's layout is inconsistent");
	return 0;
}

static int mpr_open_error(const char *path, int err)
{
	switch (err) {
	case ENOENT:
		return mpr_lib_error(
			err,
			"%s: no such device: is the module loaded (modprobe mpmcring), and is the ring name right?",
			path);
	case EACCES:
	case EPERM:
		return mpr_lib_error(
			err,
			"%s: permission denied: the device is root-only by default; the udev rule can give a group access",
			path);
	case ENOTTY:
	case EINVAL:
		return mpr_lib_error(err, "%s: not an mpmcring device", path);
	default:
		return mpr_lib_error(err, "%s: %s", path, strerror(err));
	}
}

struct mpmcring *mpmcring_open(const char *path, int flags)
{
	if (flags < 0) {
		mpr_lib_error(EINVAL, "unknown open flags %#x", (unsigned int)flags);
		return NULL;
	}
	return mpmcring_open_opts(path,
				  &MPMCRING_OPTS(mpmcring_open_opts, .flags = (unsigned int)flags));
}

struct mpmcring *mpmcring_open_opts(const char *path, const struct mpmcring_open_opts *opts)
{
	struct mpmcring_open_opts o = { 0 };
	struct mpmcring *r;
	int err, prot;

	if (mpr_lib_opts_check(opts, sizeof(o), "mpmcring_open_opts"))
		return NULL;
	if (opts)
		memcpy(&o, opts, opts->sz < sizeof(o) ? opts->sz : sizeof(o));
	if (mpr_lib_opts_reserved(o.reserved, "mpmcring_open_opts"))
		return NULL;
	if (!path)
		path = MPMCRING_DEFAULT_PATH;
	if (o.flags & ~MPMCRING_OPEN_RDONLY) {
		mpr_lib_error(EINVAL, "unknown open flags %#x", o.flags);
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		errno = -mpr_lib_error(ENOMEM, "out of memory");
		return NULL;
	}
	r->rdonly = o.flags & MPMCRING_OPEN_RDONLY;
	r->fd = open(path, (r->rdonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (r->fd < 0) {
		err = mpr_open_error(path, errno);
		goto fail;
	}
	if (ioctl(r->fd, MPMCRING_IOC_INFO, &r->layout) < 0) {
		err = mpr_open_error(path, errno);
		goto fail;
	}
	err = mpr_lib_check_layout(&r->layout);
	if (err)
		goto fail;

	prot = r->rdonly ? PROT_READ : PROT_READ | PROT_WRITE;
	r->cons_map = mmap(NULL, r->layout.cons_size, prot, MAP_SHARED, r->fd, MPMCRING_OFF_CONS);
	if (r->cons_map == MAP_FAILED) {
		err = mpr_lib_error(errno, "%s: mapping the consumer area: %s", path,
				    strerror(errno));
		r->cons_map = NULL;
		goto fail;
	}
	r->ro_map = mmap(NULL, r->layout.ro_size, PROT_READ, MAP_SHARED, r->fd, MPMCRING_OFF_RO);
	if (r->ro_map == MAP_FAILED) {
		err = mpr_lib_error(errno, "%s: mapping the ring: %s", path, strerror(errno));
		r->ro_map = NULL;
		/* Not r->mapped yet: close would leave it, and the file with it. */
		munmap(r->cons_map, r->layout.cons_size);
		r->cons_map = NULL;
		goto fail;
	}
	r->mapped = true;
	if (memcmp(r->ro_map, &r->layout, sizeof(r->layout))) {
		err = mpr_lib_error(
			EPROTO, "%s: the mapped layout differs from the one the device reported",
			path);
		goto fail;
	}
	mpr_view_init(&r->v, &r->layout, r->cons_map, r->ro_map);
	if (o.watermark) {
		err = mpmcring_set_watermark(r, o.watermark);
		if (err)
			goto fail;
	}
	return r;
fail:
	mpmcring_close(r);
	errno = -err;
	return NULL;
}

struct mpmcring *mpmcring__open_memory(void *cons, void *ro, const struct mpmcring_layout *l)
{
	struct mpmcring *r;
	int err = mpr_lib_check_layout(l);

	if (err) {
		errno = -err;
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		errno = ENOMEM;
		return NULL;
	}
	r->fd = -1;
	r->layout = *l;
	r->cons_map = cons;
	r->ro_map = ro;
	mpr_view_init(&r->v, &r->layout, r->cons_map, r->ro_map);
	return r;
}

void mpmcring_close(struct mpmcring *r)
{
	if (!r)
		return;
	if (r->mapped && r->cons_map)
		munmap(r->cons_map, r->layout.cons_size);
	if (r->mapped && r->ro_map)
		munmap(r->ro_map, r->layout.ro_size);
	if (r->fd >= 0)
		close(r->fd);
	free(r);
}

int mpmcring_fd(const struct mpmcring *r)
{
	return r->fd;
}

const struct mpmcring_layout *mpmcring_get_layout(const struct mpmcring *r)
{
	return &r->layout;
}

struct mpmcring_consumer *mpmcring_consumer_new(struct mpmcring *r)
{
	return mpmcring_consumer_new_opts(r, NULL);
}

struct mpmcring_consumer *mpmcring_consumer_new_opts(struct mpmcring *r,
						     const struct mpmcring_consumer_opts *opts)
{
	struct mpmcring_consumer_opts o = { 0 };
	struct mpmcring_consumer *c;
	__u32 idx;

	if (!r) {
		mpr_lib_error(EINVAL,
			      "mpmcring_consumer_new: no ring (NULL): did mpmcring_open() fail?");
		return NULL;
	}
	if (mpr_lib_opts_check(opts, sizeof(o), "mpmcring_consumer_opts"))
		return NULL;
	if (opts)
		memcpy(&o, opts, opts->sz < sizeof(o) ? opts->sz : sizeof(o));
	if (mpr_lib_opts_reserved(o.reserved, "mpmcring_consumer_opts"))
		return NULL;
	if (o.flags & ~MPMCRING_CONSUMER_LOST_RECORDS) {
		mpr_lib_error(EINVAL, "unknown consumer flags %#x", o.flags);
		return NULL;
	}

	if (r->rdonly) {
		errno = -mpr_lib_error(
			EBADF,
			"the ring was opened read-only: consumers need MPMCRING_OPEN_RDONLY off");
		return NULL;
	}
	if (r->fd >= 0) {
		if (ioctl(r->fd, MPMCRING_IOC_ATTACH, &idx) < 0) {
			int e = errno;

			switch (e) {
			case EUSERS:
				errno = -mpr_lib_error(
					e,
					"every consumer slot of the ring is taken (max_consumers=%u)",
					r->layout.max_consumers);
				break;
			case EDQUOT:
				errno = -mpr_lib_error(
					e,
					"this handle's open file holds max_per_file=%u consumer slots (read(2) on it takes one too): open the ring again for more",
					r->layout.max_per_file);
				break;
			case EPERM:
				errno = -mpr_lib_error(
					e,
					"the device was opened read-only: it can observe, not consume");
				break;
			default:
				errno = -mpr_lib_error(e, "attaching a consumer: %s", strerror(e));
			}
			return NULL;
		}
	} else {
		idx = __atomic_fetch_add(&r->mem_slots, 1, __ATOMIC_RELAXED);
	}
	if (idx >= r->layout.max_consumers) {
		errno = -mpr_lib_error(EUSERS, "every consumer slot of the ring is taken");
		goto detach;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		errno = -mpr_lib_error(ENOMEM, "out of memory");
		goto detach;
	}
	c->r = r;
	c->idx = idx;
	c->lost_records = o.flags & MPMCRING_CONSUMER_LOST_RECORDS;
	c->slot = &r->v.cons->slots[idx];
	/* A real prod_pos of the past: mpr_claim_one() relies on it. */
	c->prod_seen = MPR_LOAD_ACQUIRE(&r->v.meta->prod_pos);
	if (r->fd < 0)
		MPR_STORE_RELEASE(&c->slot->start, MPMCRING_SLOT_IDLE);
	return c;
detach:
	/* The slot goes back now, not when the file closes (max_per_file). */
	if (r->fd >= 0) {
		int e = errno;

		ioctl(r->fd, MPMCRING_IOC_DETACH, &idx);
		errno = e;
	}
	return NULL;
}

/*
 * here: the frame of the public function the program called (its
 * __builtin_frame_address(0)). From inside consume's callback it is
 * deeper on the stack than consume's own frame: the consumer ends now
 * (claim committed or let go, slot detached: nothing stays pinned), and
 * consume frees its memory when the callback returns, touching nothing of
 * the ring (the program may close it meanwhile). After a longjmp out of
 * the callback, consume's frame is gone and the program's next call sits
 * at or above where it was: the memory goes now, also that of a consumer
 * ended inside. This rests on stacks that grow down (x86_64, arm64), on
 * each entry point keeping a frame of its own (MPR_ENTRY_FRAME), and on
 * the free coming from the thread that ran the consume. A call after a
 * longjmp from a function deeper than consume was is taken for one from
 * inside: the consumer ends all the same, and only its memory stays until
 * a free from a shallower frame (a leak at worst, never a use after free
 * nor a pinned ring).
 */
bool mpr_consumer_free(struct mpmcring_consumer *c, const void *here)
{
	__u32 idx;

	if (!c)
		return true;
	if (!c->ended) {
		mpr_lib_end(c); /* what a stopped consume left: abandoned at detach */
		if (c->r->fd >= 0) {
			idx = c->idx;
			ioctl(c->r->fd, MPMCRING_IOC_DETACH, &idx);
		}
		c->ended = true;
	}
	if (c->in_consume && (const char *)here < (const char *)c->consume_frame)
		return false; /* consume frees it when the callback returns */
	free(c);
	return true;
}

MPR_ENTRY_FRAME void mpmcring_consumer_free(struct mpmcring_consumer *c)
{
	if (c && c->poller_owned) {
		mpr_lib_error(
			EINVAL,
			"mpmcring_consumer_free: the consumer is a poller's: mpmcring_poller_remove() or mpmcring_poller_free() frees it");
		return;
	}
	mpr_consumer_free(c, __builtin_frame_address(0));
}
