// SPDX-License-Identifier: GPL-2.0-only
/*
 * mpmcring stat's reading of the module's bpf_refused line (review 13c
 * SF2): by name, so that a module with a reason more, in any place, or
 * fewer, still shows every count it has, and none it lacks as 0.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpf_refused.h"
#include "tap.h"

#define ALL ((1U << MPR_BPF_REFUSED_NR) - 1)

/* What bpf_refused_text() or _json() print for @b, in a static buffer. */
static const char *shown(const struct bpf_refused *b, int json)
{
	static char out[1024];
	FILE *f = fmemopen(out, sizeof(out), "w");

	if (!f)
		abort();
	if (json)
		bpf_refused_json(f, b);
	else
		bpf_refused_text(f, b);
	fclose(f);
	return out;
}

/*
 * The line the module prints today. no_buffer is the total and
 * no_buffer_sleep its part (13 and 7 here): stat shows the part inside
 * the total's text, not as a reason of its own that could read as more
 * than the total.
 */
static void t_current_line(struct tap *t)
{
	struct bpf_refused b;
	int i;

	CHECK_EQ(
		t, 0,
		bpf_refused_parse("no_ring=1 bad_flags=2 zero_len=3 null_data=4 ring_gone=5 "
				  "no_buffer=13 no_buffer_sleep=7 bad_write=8 last_no_ring_id=42\n",
				  &b));
	CHECK_EQ(t, ALL, b.have);
	for (i = 0; i < MPR_BPF_REFUSED_NR; i++)
		CHECK_EQ(t, i == MPR_BPF_REFUSED_NO_BUFFER ? 13 : i + 1, b.count[i]);
	CHECK(t, b.have_last_id, "no last id");
	CHECK_EQ(t, 42, b.last_no_ring_id);
	CHECK(t,
	      !strcmp(shown(&b, 0),
		      "BPF refused   1 unknown ring id (last: 42), 2 bad flags, 3 empty, "
		      "4 NULL data, 5 ring destroyed before commit, "
		      "13 no staging buffer (7 of them for callers that may sleep), "
		      "8 bad writes (all rings: module-wide)\n"),
	      "%s", shown(&b, 0));
	CHECK(t,
	      !strcmp(shown(&b, 1),
		      ",\"bpf_refused\":{\"no_ring\":1,\"bad_flags\":2,\"zero_len\":3,"
		      "\"null_data\":4,\"ring_gone\":5,\"no_buffer\":13,\"no_buffer_sleep\":7,"
		      "\"bad_write\":8,\"last_no_ring_id\":42}"),
	      "%s", shown(&b, 1));
}

/*
 * A newer module: a reason added after bad_write, before the id (where
 * the old fscanf() stopped and dropped the whole line), and one first.
 */
static void t_newer_module(struct tap *t)
{
	struct bpf_refused b;

	CHECK_EQ(t, 0,
		 bpf_refused_parse("first_new=9 no_ring=1 bad_flags=2 zero_len=3 null_data=4 "
				   "ring_gone=5 no_buffer=16 no_buffer_sleep=10 bad_write=7 "
				   "next_new=8 last_no_ring_id=42\n",
				   &b));
	CHECK_EQ(t, ALL, b.have);
	CHECK_EQ(t, 7, b.count[MPR_BPF_REFUSED_BAD_WRITE]);
	CHECK_EQ(t, 10, b.count[MPR_BPF_REFUSED_NO_BUFFER_SLEEP]);
	CHECK_EQ(t, 1, b.count[MPR_BPF_REFUSED_NO_RING]);
	CHECK_EQ(t, 42, b.last_no_ring_id);
	CHECK(t, strstr(shown(&b, 0), "next_new") == NULL, "%s", shown(&b, 0));
}

/* An older module (the first four reasons): the rest left out, not 0. */
static void t_older_module(struct tap *t)
{
	struct bpf_refused b;

	CHECK_EQ(t, 0, bpf_refused_parse("no_ring=0 bad_flags=2 zero_len=3 null_data=4\n", &b));
	CHECK_EQ(t, 0xf, b.have);
	CHECK(t, !b.have_last_id, "a last id from nowhere");
	CHECK(t, strstr(shown(&b, 0), "ring destroyed") == NULL, "%s", shown(&b, 0));
	CHECK(t, strstr(shown(&b, 0), "staging") == NULL, "%s", shown(&b, 0));
	CHECK(t, strstr(shown(&b, 0), "last") == NULL, "%s", shown(&b, 0));
	CHECK(t,
	      !strcmp(shown(&b, 1),
		      ",\"bpf_refused\":{\"no_ring\":0,\"bad_flags\":2,\"zero_len\":3,"
		      "\"null_data\":4}"),
	      "%s", shown(&b, 1));
}

/*
 * A module from before no_buffer_sleep, whose no_buffer counted sleepers
 * too, as today's does: no_buffer is shown as it is, the part left out,
 * not shown as 0. And names are matched whole, never as a prefix, in any
 * order: so no_buffer is never taken from no_buffer_sleep's word, by this
 * reader or by an older one with the same matching, to which
 * no_buffer_sleep is a word it skips (t_newer_module).
 */
static void t_no_buffer_sleep_by_name(struct tap *t)
{
	struct bpf_refused b;

	CHECK_EQ(t, 0,
		 bpf_refused_parse("no_ring=0 bad_flags=0 zero_len=0 null_data=0 ring_gone=0 "
				   "no_buffer=10 bad_write=0 last_no_ring_id=0\n",
				   &b));
	CHECK_EQ(t, ALL & ~(1U << MPR_BPF_REFUSED_NO_BUFFER_SLEEP), b.have);
	CHECK_EQ(t, 10, b.count[MPR_BPF_REFUSED_NO_BUFFER]);
	CHECK(t, strstr(shown(&b, 0), "10 no staging buffer, 0 bad writes") != NULL, "%s",
	      shown(&b, 0));
	CHECK(t, strstr(shown(&b, 0), "sleep") == NULL, "%s", shown(&b, 0));
	CHECK(t, strstr(shown(&b, 1), "no_buffer_sleep") == NULL, "%s", shown(&b, 1));

	CHECK_EQ(t, 0, bpf_refused_parse("no_buffer_sleep=8 no_buffer=10", &b));
	CHECK_EQ(t, 10, b.count[MPR_BPF_REFUSED_NO_BUFFER]);
	CHECK_EQ(t, 8, b.count[MPR_BPF_REFUSED_NO_BUFFER_SLEEP]);
	CHECK(t,
	      !strcmp(shown(&b, 0), "BPF refused   10 no staging buffer (8 of them for callers "
				    "that may sleep) (all rings: module-wide)\n"),
	      "%s", shown(&b, 0));
	CHECK_EQ(t, 0, bpf_refused_parse("no_buffer=10 no_buffer_sleep=8", &b));
	CHECK_EQ(t, 10, b.count[MPR_BPF_REFUSED_NO_BUFFER]);
	CHECK_EQ(t, 8, b.count[MPR_BPF_REFUSED_NO_BUFFER_SLEEP]);
	/* Only the part: no_buffer is absent, not 8, and the part says whose. */
	CHECK_EQ(t, 0, bpf_refused_parse("no_buffer_sleep=8 bad_write=1", &b));
	CHECK_EQ(t, 1U << MPR_BPF_REFUSED_NO_BUFFER_SLEEP | 1U << MPR_BPF_REFUSED_BAD_WRITE,
		 b.have);
	CHECK_EQ(t, 0, b.count[MPR_BPF_REFUSED_NO_BUFFER]);
	CHECK(t,
	      !strcmp(shown(&b, 0), "BPF refused   8 no staging buffer for callers that may "
				    "sleep, 1 bad writes (all rings: module-wide)\n"),
	      "%s", shown(&b, 0));
	/* Nor is a word that only begins with a known name taken for it. */
	CHECK_EQ(t, -ENODATA, bpf_refused_parse("no_buffer_sleeping=3 no_buffe=4", &b));
}

/*
 * "none" only when nothing was refused for its id: an id of 0 is what a
 * program whose loader never set its id passes, and must show as 0.
 */
static void t_last_id_zero_is_an_id(struct tap *t)
{
	struct bpf_refused b;

	CHECK_EQ(t, 0, bpf_refused_parse("no_ring=3 last_no_ring_id=0", &b));
	CHECK(t, strstr(shown(&b, 0), "3 unknown ring id (last: 0)") != NULL, "%s", shown(&b, 0));
	CHECK(t, strstr(shown(&b, 1), "\"last_no_ring_id\":0}") != NULL, "%s", shown(&b, 1));
	CHECK_EQ(t, 0, bpf_refused_parse("no_ring=0 last_no_ring_id=0", &b));
	CHECK(t, strstr(shown(&b, 0), "0 unknown ring id (last: none)") != NULL, "%s",
	      shown(&b, 0));
	CHECK(t, strstr(shown(&b, 1), "\"last_no_ring_id\":null}") != NULL, "%s", shown(&b, 1));
}

/*
 * The list's names and texts, as the header promises them: a name for
 * each reason, of [a-z_] only, no two alike (two alike would set both
 * reasons from one word, and the module print one name twice), a text
 * for each, and NULL past the last.
 */
static void t_names(struct tap *t)
{
	unsigned int i, j;

	for (i = 0; i < MPR_BPF_REFUSED_NR; i++) {
		const char *name = mpr_bpf_refusal_name(i), *what = mpr_bpf_refusal_what(i);

		CHECK(t, name && *name, "reason %u has no name", i);
		CHECK(t, what && *what, "reason %u has no text", i);
		if (!name)
			continue;
		CHECK(t, strspn(name, "abcdefghijklmnopqrstuvwxyz_") == strlen(name), "%s", name);
		CHECK(t, strcmp(name, "last_no_ring_id"), "%s is the id's word", name);
		for (j = 0; j < i; j++)
			CHECK(t, !mpr_bpf_refusal_name(j) || strcmp(name, mpr_bpf_refusal_name(j)),
			      "%s twice", name);
	}
	CHECK(t, !mpr_bpf_refusal_name(MPR_BPF_REFUSED_NR), "a name past the last");
	CHECK(t, !mpr_bpf_refusal_what(MPR_BPF_REFUSED_NR), "a text past the last");
	CHECK(t, !mpr_bpf_refusal_name(~0U), "a name at ~0");
	CHECK(t, !mpr_bpf_refusal_what(~0U), "a text at ~0");
}

/* Words that are no name=decimal are skipped, alone. */
static void t_malformed_words(struct tap *t)
{
	struct bpf_refused b;

	CHECK_EQ(t, 0,
		 bpf_refused_parse(
			 "no_ring=abc bad_flags=-1 zero_len= null_data=18446744073709551616 "
			 "ring_gone=5 no_buffer =6 bad_write=7x =8 "
			 "last_no_ring_id=4294967296",
			 &b));
	CHECK_EQ(t, 1U << MPR_BPF_REFUSED_RING_GONE, b.have);
	CHECK_EQ(t, 5, b.count[MPR_BPF_REFUSED_RING_GONE]);
	CHECK(t, !b.have_last_id, "id out of range taken");
	CHECK_EQ(t, -ENODATA, bpf_refused_parse("foo=1 bar\n", &b));
	CHECK_EQ(t, -ENODATA, bpf_refused_parse("", &b));
}

int main(void)
{
	static const struct tap_test tests[] = {
		TAP_TEST(t_current_line),
		TAP_TEST(t_newer_module),
		TAP_TEST(t_older_module),
		TAP_TEST(t_no_buffer_sleep_by_name),
		TAP_TEST(t_last_id_zero_is_an_id),
		TAP_TEST(t_malformed_words),
		TAP_TEST(t_names),
	};

	return tap_run(tests, sizeof(tests) / sizeof(tests[0]));
}
