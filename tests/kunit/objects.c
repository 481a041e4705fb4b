// SPDX-License-Identifier: GPL-2.0-only
/*
 * mpmcring_objects: the rules the runner judges the objects file's
 * "# dropped" count by (tests/harness/judge.py, docs/testing.md). An entry
 * leaves the list only when an object needs it: unused entries first, then
 * the oldest freed one, counted as dropped once; a live entry is never
 * taken, and with every entry live the object goes untracked, counted.
 * A kernel that broke them (evicting live objects and counting them, say)
 * would pass the runner and have it take live objects for dead ones.
 *
 * Each case checks a small list of its own: churning the module's list
 * would drop objects the runner never saw, and fail <kernel>/objects.
 */
#include <kunit/resource.h>
#include <kunit/test.h>

#include "internal.h"

/* Distinct addresses to note; nothing is ever read or written there. */
static char objects_space[128];

#define OBJ(i) (&objects_space[i])

/* The list's word on object i: 1 live, 0 freed, -ENOENT not listed. */
static int objects_state(struct mpmcring_objects *objs, int i, u64 *dropped,
			 u64 *untracked)
{
	return mpmcring_objects_state(objs, OBJ(i), dropped, untracked);
}

static int objects_res_init(struct kunit_resource *res, void *max)
{
	res->data = mpmcring_objects_new(*(unsigned int *)max);
	return res->data ? 0 : -ENOMEM;
}

static void objects_res_free(struct kunit_resource *res)
{
	mpmcring_objects_free(res->data);
}

/* A list of max entries, freed when the case ends however it ends. */
static struct mpmcring_objects *objects_new(struct kunit *test,
					    unsigned int max)
{
	struct mpmcring_objects *objs;

	objs = kunit_alloc_resource(test, objects_res_init, objects_res_free,
				    GFP_KERNEL, &max);
	KUNIT_ASSERT_NOT_NULL(test, objs);
	return objs;
}

/*
 * Four entries: the freed ones go oldest first, each counted once; live
 * ones stay; with all four live a fifth object goes untracked.
 */
static void objects_reuse_oldest_freed(struct kunit *test)
{
	static const int live[] = { 1, 3, 4, 5 };
	struct mpmcring_objects *objs = objects_new(test, 4);
	u64 dropped, untracked;
	unsigned int i;

	for (i = 0; i < 4; i++)
		mpmcring_objects_note_add(objs, OBJ(i), 1, "slots", "r");
	KUNIT_EXPECT_EQ(test, 1, objects_state(objs, 0, &dropped, &untracked));
	KUNIT_EXPECT_EQ(test, 0ULL, dropped);
	KUNIT_EXPECT_EQ(test, 0ULL, untracked);
	mpmcring_objects_note_del(objs, OBJ(2));
	mpmcring_objects_note_del(objs, OBJ(0));
	KUNIT_EXPECT_EQ(test, 0, objects_state(objs, 2, &dropped, &untracked));

	/* Freed 2, then 0: 2 goes first, though 0 was added first. */
	mpmcring_objects_note_add(objs, OBJ(4), 1, "slots", "r");
	KUNIT_EXPECT_EQ(test, -ENOENT,
			objects_state(objs, 2, &dropped, &untracked));
	KUNIT_EXPECT_EQ(test, 1ULL, dropped);
	KUNIT_EXPECT_EQ(test, 0, objects_state(objs, 0, &dropped, &untracked));
	mpmcring_objects_note_add(objs, OBJ(5), 1, "slots", "r");
	KUNIT_EXPECT_EQ(test, -ENOENT,
			objects_state(objs, 0, &dropped, &untracked));
	KUNIT_EXPECT_EQ(test, 2ULL, dropped);

	/* All four live: the next one is not listed, and nothing is dropped. */
	mpmcring_objects_note_add(objs, OBJ(6), 1, "slots", "r");
	KUNIT_EXPECT_EQ(test, -ENOENT,
			objects_state(objs, 6, &dropped, &untracked));
	KUNIT_EXPECT_EQ(test, 2ULL, dropped);
	KUNIT_EXPECT_EQ(test, 1ULL, untracked);
	/* Freeing an untracked object changes nothing. */
	mpmcring_objects_note_del(objs, OBJ(6));
	for (i = 0; i < ARRAY_SIZE(live); i++)
		KUNIT_EXPECT_EQ(test, 1, objects_state(objs, live[i], &dropped,
						       &untracked));
	KUNIT_EXPECT_EQ(test, 2ULL, dropped);
	KUNIT_EXPECT_EQ(test, 1ULL, untracked);
}

/*
 * One object lives through a hundred born and freed in turn: it keeps its
 * entry, and the count grows by one for each freed object that left.
 */
static void objects_churn_keeps_live(struct kunit *test)
{
	struct mpmcring_objects *objs = objects_new(test, 4);
	u64 dropped, untracked;
	int i;

	mpmcring_objects_note_add(objs, OBJ(0), 1, "ring", "r");
	for (i = 1; i <= 100; i++) {
		mpmcring_objects_note_add(objs, OBJ(i), 1, "file", "r");
		mpmcring_objects_note_del(objs, OBJ(i));
		KUNIT_ASSERT_EQ(test, 1, objects_state(objs, 0, &dropped,
						       &untracked));
		/* Three entries take turns once the unused ones are gone. */
		KUNIT_ASSERT_EQ(test, (u64)(i > 3 ? i - 3 : 0), dropped);
		KUNIT_ASSERT_EQ(test, 0ULL, untracked);
	}
	/* The last three are listed freed; the one before them is gone. */
	for (i = 98; i <= 100; i++)
		KUNIT_EXPECT_EQ(test, 0, objects_state(objs, i, &dropped,
						       &untracked));
	KUNIT_EXPECT_EQ(test, -ENOENT,
			objects_state(objs, 97, &dropped, &untracked));
}

static struct kunit_case objects_cases[] = {
	KUNIT_CASE(objects_reuse_oldest_freed),
	KUNIT_CASE(objects_churn_keeps_live),
	{}
};

static struct kunit_suite objects_suite = {
	.name = "mpmcring_objects",
	.test_cases = objects_cases,
};
kunit_test_suite(objects_suite);
