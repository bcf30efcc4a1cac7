/* template.c - fuzzes template rendering: pb-sample's (pb_render, in
 * lib/template.c) and the judge's (pb_judge_check and pb_judge_render,
 * in lib/judge.c).  The input is the template. */
#include "fuzz.h"

static cJSON *arm, *task, *rec;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[PB_ERRLEN], *t = fuzz_str(data, size), *out;

	if (!arm) {
		arm = cJSON_Parse("{\"id\":\"a\",\"prefix\":\"Be brief.\",\"n\":3,"
		                  "\"x\":{\"y\":[1,null]}}");
		task = cJSON_Parse("{\"id\":\"t\",\"input\":\"What is 2+2?\","
		                   "\"answer\":\"#### 4\",\"question\":\"Q\"}");
		rec = cJSON_Parse("{\"task\":{\"input\":\"What is 2+2?\",\"answer\":4},"
		                  "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
		                  "\"response\":{\"text\":\"4\"}}");
		if (!arm || !task || !rec)
			abort();
	}
	free(pb_render(t, arm, task, "input", err));
	free(pb_render(t, NULL, task, "question", err));
	if (pb_judge_check(t, err) == 0 &&
	    (out = pb_judge_render(t, rec, "task.answer", "4", err)))
		free(out);
	free(t);
	return 0;
}
