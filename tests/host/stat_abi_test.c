// SPDX-License-Identifier: GPL-2.0-only
/*
 * mpmcring stat against modules of different ABI minors (it includes
 * userspace/tools/stat.c): stats.room_wakeups took a reserved word that a
 * module older than ABI 1.4 copies out as 0, so stat shows "n/a" in text
 * and null in JSON there, never a 0 the module did not count; from 1.4 on,
 * the count. The same for the chunk statistics of ABI 1.6, whose 0 would
 * otherwise read as a ring without chunks.
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

/*
 * For a module of ABI 1.minor: the text shows want_text and not
 * unwanted_text (NULL: no such check), the JSON shows want_json.
 */
static void check_shown(struct tap *t, unsigned int minor, const char *want_text,
			const char *unwanted_text, const char *want_json)
{
	char *text = shown(minor, false), *json = shown(minor, true);

	CHECK(t, text && json, "open_memstream");
	if (text && json) {
		CHECK(t, strstr(text, want_text), "no '%s' in:\n%s", want_text, text);
		CHECK(t, !unwanted_text || !strstr(text, unwanted_text), "'%s' in:\n%s",
		      unwanted_text, text);
		CHECK(t, strstr(json, want_json), "no '%s' in:\n%s", want_json, json);
	}
	free(text);
	free(json);
}

static void t_older_module_not_counted(struct tap *t)
{
	g_s.st.room_wakeups = 0; /* what the older module copies out */
	check_shown(t, MPMCRING_ABI_MINOR_ROOM_WAKEUPS - 1, "room wakeups  n/a (module ABI 1.3)\n",
		    "room wakeups  0", ",\"room_wakeups\":null,");
}

static void t_current_module_counted(struct tap *t)
{
	g_s.st.room_wakeups = 7;
	check_shown(t, MPMCRING_ABI_MINOR_ROOM_WAKEUPS, "room wakeups  7 (", NULL,
		    ",\"room_wakeups\":7,");
}

static void t_chunks_older_module_not_reported(struct tap *t)
{
	g_s.st.chunk_bytes = 0; /* what the older module copies out */
	g_s.st.chunk_filler_bytes = 0;
	check_shown(t, MPMCRING_ABI_MINOR_CHUNKS - 1,
		    "chunks        n/a (module ABI 1.5; 1.6 reports them)\n", "chunks        off",
		    ",\"chunks\":null");
}

static void t_chunks_reported(struct tap *t)
{
	g_s.st.chunk_bytes = 0;
	g_s.st.chunk_filler_bytes = 0;
	check_shown(t, MPMCRING_ABI_MINOR_CHUNKS,
		    "chunks        off (each record reserved alone)\n", NULL,
		    ",\"chunks\":{\"bytes\":0,\"filler_bytes\":0}");
	g_s.st.chunk_bytes = 4096;
	g_s.st.chunk_filler_bytes = 1234;
	check_shown(
		t, MPMCRING_ABI_MINOR_CHUNKS,
		"chunks        4096 bytes (one per CPU and interrupt level), 1234 bytes closed as fillers\n",
		NULL, ",\"chunks\":{\"bytes\":4096,\"filler_bytes\":1234}");
}

int main(void)
{
	static const struct tap_test tests[] = {
		TAP_TEST(t_older_module_not_counted),
		TAP_TEST(t_current_module_counted),
		TAP_TEST(t_chunks_older_module_not_reported),
		TAP_TEST(t_chunks_reported),
	};

	return tap_run(tests, sizeof(tests) / sizeof(tests[0]));
}
