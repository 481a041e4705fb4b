/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Differences between the kernels mpmcring builds for (6.1 to 6.12).
 */
#ifndef _MPMCRING_COMPAT_H
#define _MPMCRING_COMPAT_H

#include <linux/version.h>
#include <linux/mm.h>
#include <linux/uio.h>

#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 3, 0)
static inline void mpmcring_vm_flags_mod(struct vm_area_struct *vma,
					 unsigned long set, unsigned long clear)
{
	vma->vm_flags = (vma->vm_flags | set) & ~clear;
}
#else
static inline void mpmcring_vm_flags_mod(struct vm_area_struct *vma,
					 vm_flags_t set, vm_flags_t clear)
{
	vm_flags_mod(vma, set, clear);
}
#endif

#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 4, 0)
static inline const struct iovec *mpmcring_iter_iov(const struct iov_iter *i)
{
	return i->iov;
}
#else
static inline const struct iovec *mpmcring_iter_iov(const struct iov_iter *i)
{
	return iter_iov(i);
}
#endif

#endif /* _MPMCRING_COMPAT_H */
