/* jsonl.c - fuzzes the record loop (lib/jsonl.c): any bytes as a JSON
 * lines file, every record walked through the field helpers. */
#include <stdio.h>

#include "fuzz.h"

static int
each(cJSON *rec, const struct pb_where *at, const char *why, void *arg)
{
	char *t;
	double d;

	(void)at, (void)why, (void)arg;
	if (!rec)
		return 0;
	pb_json_num(rec, "reward", &d);
	pb_json_str(rec, "response.text");
	if ((t = pb_json_text(pb_json_path(rec, "task.answer"))))
		free(t);
	cJSON_Delete(rec);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[PB_ERRLEN];
	long n;
	FILE *fp;

	if (!size || !(fp = fmemopen((void *)data, size, "r")))
		return 0;
	pb_jsonl_each(fp, "fuzz", each, NULL, &n, err);
	fclose(fp);
	return 0;
}
