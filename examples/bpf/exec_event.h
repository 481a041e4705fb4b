/* SPDX-License-Identifier: MIT */
/* The record examples/bpf/exec.bpf.c writes: this, then the file name. */
#ifndef EXEC_EVENT_H
#define EXEC_EVENT_H

struct exec_event {
	__u32 pid;
	__u32 ppid;
	__u32 uid;
	__u32 filename_len; /* bytes after this struct, no NUL */
	char comm[16];
};

#endif /* EXEC_EVENT_H */
