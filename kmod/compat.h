/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Differences between the kernels mpmcring builds for (6.1 to 6.12). Kbuild
 * looks for each feature in the kernel's own headers (MPMCRING_HAVE_*), so
 * backports are picked up and no kernel version is compared.
 */
#ifndef _MPMCRING_COMPAT_H
#define _MPMCRING_COMPAT_H

#include <linux/mm.h>
#include <linux/uio.h>

static inline void mpmcring_vm_flags_mod(struct vm_area_struct *vma,
					 unsigned long set, unsigned long clear)
{
#ifdef MPMCRING_HAVE_VM_FLAGS_MOD
	vm_flags_mod(vma, set, clear);
#else
	vma->vm_flags = (vma->vm_flags | set) & ~clear;
#endif
}

static inline const struct iovec *mpmcring_iter_iov(const struct iov_iter *i)
{
#ifdef MPMCRING_HAVE_ITER_IOV
	return iter_iov(i);
#else
	return i->iov;
#endif
}

#endif /* _MPMCRING_COMPAT_H */
