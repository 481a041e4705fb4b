# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The runner of the small models (wakeups.sh, chunks.sh), sourced: each
# configuration in configs[] gets a verifier of its own, built from
# $model.pml with its -D flags, runs to the end of its state space, and
# passes when spin finds no error, or, for a plant, when spin reports
# what the plant must break. Prints TAP; returns non-zero when any test
# fails, with the interleaving of an unexpected error.
#
#   configs=("name|model|spin -D flags|pass or what spin must report|what" ...)
#   small_models_run <folder of the .pml files> <build folder> \
#                    <the verifier's cc flags> <pan's flags>

small_models_run() {
	local here=$1 out=$2 cflags=$3 panflags=$4 n=0 failed=0 c name model defs expect what
	local d unknown def errors states got

	# shellcheck disable=SC2154 # the caller's
	echo "1..${#configs[@]}"
	for c in "${configs[@]}"; do
		IFS='|' read -r name model defs expect what <<<"$c"
		n=$((n + 1))
		d=$out/$name
		rm -rf "$d"
		mkdir -p "$d"
		cp "$here/$model.pml" "$d/" || { echo "not ok $n - $name: no $model.pml"; failed=1; continue; }
		# A misspelt -D would check the default configuration and pass.
		unknown=
		for def in $defs; do
			def=${def#-D}
			def=${def%%=*}
			grep -qw -- "$def" "$d/$model.pml" || unknown="$unknown $def"
		done
		if [ -n "$unknown" ]; then
			echo "not ok $n - $name: $model.pml has no$unknown"
			failed=1
			continue
		fi
		# shellcheck disable=SC2086 # defs is words on purpose
		if ! (cd "$d" && spin $defs -a "$model.pml" >spin.log 2>&1 &&
			cc -w $cflags -o pan pan.c >cc.log 2>&1); then
			echo "not ok $n - $name: the verifier did not build"
			sed 's/^/# /' "$d/spin.log" "$d/cc.log" | tail -n 20
			failed=1
			continue
		fi
		# shellcheck disable=SC2086 # flags are words on purpose
		(cd "$d" && ./pan $panflags) >"$d/pan.log" 2>&1
		errors=$(grep -oE 'errors: [0-9]+' "$d/pan.log" | awk '{print $2}')
		states=$(awk '/states, stored/ {print $1; exit}' "$d/pan.log")
		got=$(grep -oE 'invalid end state \(|assertion violated' "$d/pan.log" | head -n 1)
		got=${got% (}
		# (a search stopped at its first error says "not completed" too)
		if [ "${errors:-1}" = 0 ] &&
			grep -qE 'max search depth too small|Search not completed' "$d/pan.log"; then
			echo "not ok $n - $name: the search did not complete"
			failed=1
		elif [ "$expect" = pass ] && [ "${errors:-1}" = 0 ]; then
			echo "ok $n - $name: $what (${states:-?} states)"
			continue
		elif [ "$expect" != pass ] && [ "$got" = "$expect" ]; then
			echo "ok $n - $name: caught ($expect): $what (${states:-?} states)"
			continue
		else
			echo "not ok $n - $name: $what: expected ${expect}, got ${got:-no error} (${states:-?} states)"
			failed=1
		fi
		if [ -f "$d/$model.pml.trail" ]; then
			# shellcheck disable=SC2086
			(cd "$d" && spin $defs -t -p "$model.pml") >"$d/trail.txt" 2>&1
			echo "# the interleaving ($d/trail.txt):"
			grep -E '^ *[0-9]+:.*proc' "$d/trail.txt" | sed 's/^ */#   /' | tail -n 40
		fi
	done
	return $failed
}
