// SPDX-License-Identifier: GPL-2.0-only

//go:build mpmcring_vm

package vmtest

const sysFinitModule = 273
