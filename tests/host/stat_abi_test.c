// SPDX-License-Identifier: GPL-2.0-only
/*
 * mpmcring stat against modules of different ABI minors (it includes
 * userspace/tools/stat.c): stats.room_wakeups took a reserved word that a
 * module older than ABI 1.4 copies out as 0, so stat shows "n/a" in text
 * and null in JSON there, never a 0 the module did not count; from 1.4 on,
 * the count.
 */
#include "../../userspace/tools/stat.c"

#include "tap.h"

static struct stat_sample g_s;

/* stat's text (json false) or JSON output of g_s for a module of ABI 1.minor. */
static char *shown(unsigned int minor, bool json)
{
	struct mpmcring_layout l = { .abi_major = MPMCRING_ABI_MAJOR,
				     .abi_minor = minor,
				     .data_size = 65536,
				     .granule_shift = 3 };
	char *out = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&out, &len);

	if (!m)
		return NULL;
	if (json)
		stat_json(m, "/dev/mpmcring", &l, &g_s, NULL);
	else
		stat_text(m, "/dev/mpmcring", &l, &g_s, NULL);
	fclose(m);
	return out;
}

static void t_older_module_not_counted(struct tap *t)
{
	char *text, *json;

	g_s.st.room_wakeups = 0; /* what the older module copies out */
	text = shown(MPMCRING_ABI_MINOR_ROOM_WAKEUPS - 1, false);
	json = shown(MPMCRING_ABI_MINOR_ROOM_WAKEUPS - 1, true);
	CHECK(t, text && json, "open_memstream");
	if (!text || !json)
		goto out;
	CHECK(t, strstr(text, "room wakeups  n/a (module ABI 1.3)\n"), "%s", text);
	CHECK(t, !strstr(text, "room wakeups  0"), "%s", text);
	CHECK(t, strstr(json, ",\"room_wakeups\":null,"), "%s", json);
out:
	free(text);
	free(json);
}

static void t_current_module_counted(struct tap *t)
{
	char *text, *json;

	g_s.st.room_wakeups = 7;
	text = shown(MPMCRING_ABI_MINOR_ROOM_WAKEUPS, false);
	json = shown(MPMCRING_ABI_MINOR_ROOM_WAKEUPS, true);
	CHECK(t, text && json, "open_memstream");
	if (!text || !json)
		goto out;
	CHECK(t, strstr(text, "room wakeups  7 ("), "%s", text);
	CHECK(t, strstr(json, ",\"room_wakeups\":7,"), "%s", json);
out:
	free(text);
	free(json);
}

int main(void)
{
	static const struct tap_test tests[] = {
		TAP_TEST(t_older_module_not_counted),
		TAP_TEST(t_current_module_counted),
	};

	return tap_run(tests, sizeof(tests) / sizeof(tests[0]));
}
