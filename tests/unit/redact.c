/* redact.c - unit tests of lib/redact.c: secrets out of raw text and out
 * of every string of a JSON tree. */
#include <stdlib.h>

#include "tap.h"
#include "../../lib/pb.h"
#include "../../lib/internal.h"

static void
test_text(void)
{
	static const char *const more[] = { "hdr-secret-1", NULL };
	const char *s = "key sk-abc123 and hdr-secret-1, sk-abc123 again";
	char *out = NULL;
	size_t len = 0;

	ok(pb_redact("sk-abc123", more, s, strlen(s), &out, &len) == 1, "secrets found: 1");
	is_str(out, "key [redacted] and [redacted], [redacted] again", "every one replaced");
	ok(out && len == strlen(out), "the length is handed back (%zu)", len);
	free(out);
	ok(pb_redact("sk-abc123", NULL, "nothing here", 12, &out, NULL) == 0 && !out,
	   "none there: 0, nothing made");
	ok(pb_redact(NULL, NULL, s, strlen(s), &out, NULL) == 0 && !out, "no secrets: 0");
	ok(pb_redact("sk-abc123", NULL, "xsk-abc12", 9, &out, NULL) == 0,
	   "a secret cut short at the end is not there");
	ok(pb_redact("secret", NULL, "a secret\0secret", 15, &out, &len) == 1 && len == 23 &&
	   !memcmp(out, "a [redacted]\0[redacted]", 23), "bytes past a NUL count too");
	free(out);
}

static void
test_tree(void)
{
	static const char *const more[] = { "hdr-secret-1", NULL };
	cJSON *v = parse("{\"error\":{\"message\":\"bad key sk\\u002dabc123\","
	                 "\"hdr-secret-1\":[\"x hdr-secret-1\",3]},\"ok\":\"plain\"}");
	char *text;

	ok(pb_redact_tree("sk-abc123", more, v) == 1, "a tree with secrets: 1");
	text = cJSON_PrintUnformatted(v);
	is_str(text, "{\"error\":{\"message\":\"bad key [redacted]\",\"[redacted]\":"
	       "[\"x [redacted]\",3]},\"ok\":\"plain\"}",
	       "strings as decoded, member names and array items are redacted");
	free(text);
	ok(pb_redact_tree("sk-abc123", more, v) == 0, "a clean tree: 0");
	cJSON_Delete(v);
}

int
main(void)
{
	test_text();
	test_tree();
	return tap_done();
}
