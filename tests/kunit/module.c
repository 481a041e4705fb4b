// SPDX-License-Identifier: GPL-2.0-only
/*
 * mpmcring_test.ko: the KUnit suites. Each suite file registers itself;
 * loading this module runs them all (results in the kernel log and in
 * /sys/kernel/debug/kunit/<suite>/results).
 */
#include <linux/module.h>

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("KUnit tests for mpmcring");
MODULE_IMPORT_NS(EXPORTED_FOR_KUNIT_TESTING);
