#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Installs one file under /etc (make install: the udev rule, the modprobe.d
# file) without taking an admin's changes away:
#
#   scripts/install-etc.sh <new-file> <dest> <replace 0|1> <hint>
#
# dest absent: installed, mode 0644. Same content: left alone, silently.
# Different: kept, and a line on stderr says so and how to get the new one
# (hint), unless replace is 1 (the caller asked for this content, e.g.
# make install MPMCRING_GROUP=...): then replaced, and said.
set -euo pipefail
[ $# -eq 4 ] || { echo "usage: install-etc.sh <new-file> <dest> <replace 0|1> <hint>" >&2; exit 2; }
new=$1 dest=$2 replace=$3 hint=$4

if [ ! -e "$dest" ]; then
	install -D -m 0644 "$new" "$dest"
elif cmp -s "$new" "$dest"; then
	:
elif [ "$replace" = 1 ]; then
	install -m 0644 "$new" "$dest"
	echo "make install: replaced $dest, as asked" >&2
else
	echo "make install: kept $dest: it differs from this version's (changed by an admin?); $hint" >&2
fi
