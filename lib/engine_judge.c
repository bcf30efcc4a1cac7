/* engine_judge.c - the judge component of pb-score's engine: a record's
 * judge prompt sent through a pb_query engine (ordered), and the judge's
 * reply read as the component's reward.  The template and the verdict's
 * reading are in judge.c.
 */
#include <stdlib.h>
#include <string.h>

#include "score.h"
#include "internal.h"

static int
judge_out(const cJSON *jrec, void *arg, char err[PB_ERRLEN])
{
	struct pb_blend *b = arg;
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(jrec, "error");
	const char *reply, *model;
	char why[PB_ERRLEN], verdict[64];
	struct pb__slot *s;
	double n, x;
	struct pb__res *r;

	(void)err;
	if (pb_json_num(jrec, "n", &n) < 0 || !(s = pb__blend_slot(b, (long)n)))
		return 0;
	r = &s->r[b->judge_comp];
	if (e && !cJSON_IsNull(e)) {
		char line[PB_ERRLEN];

		pb_llm_error_line(e, line);
		snprintf(why, sizeof why, "judge failed: %s", line);
		pb__blend_unscored(b, s, b->judge_comp, why, 1); /* the engine said so */
		b->cnt.failed++;
		return 0;
	}
	reply = pb_json_str(jrec, "response.text");
	model = pb_json_str(jrec, "response.model");
	if ((r->judge = cJSON_CreateObject())) {
		cJSON_AddItemToObject(r->judge, "model", model ? cJSON_CreateString(model) :
		                      cJSON_CreateNull());
		cJSON_AddItemToObject(r->judge, "reply", reply ? cJSON_CreateString(reply) :
		                      cJSON_CreateNull());
	}
	if (!reply || pb_judge_verdict(&b->o.judge_scale, reply, &x, verdict, why) < 0) {
		if (!reply)
			snprintf(why, sizeof why, "the judge gave no text");
		pb__blend_unscored(b, s, b->judge_comp, why, 0);
		b->cnt.failed++;
		return 0;
	}
	pb__blend_graded(s, b->judge_comp, x, verdict);
	return 0;
}

static void
judge_warn(const char *msg, void *arg)
{
	pb__blend_warn(arg, "judge: %s", msg);
}

int
pb__judge_send(struct pb_blend *b, struct pb__slot *s, const char *text,
               char err[PB_ERRLEN])
{
	char why[PB_ERRLEN], *prompt;
	cJSON *j, *msgs, *m;

	if (!text) {
		snprintf(why, sizeof why, "no response text at %s", b->o.response);
		pb__blend_unscored(b, s, b->judge_comp, why, 0);
		b->cnt.failed++;
		return 0;
	}
	if (!(prompt = pb_judge_render(b->o.judge_tmpl, s->rec, b->o.reference, text, why))) {
		pb__blend_unscored(b, s, b->judge_comp, why, 0);
		b->cnt.failed++;
		return 0;
	}
	j = cJSON_CreateObject();
	msgs = cJSON_AddArrayToObject(j, "messages");
	m = cJSON_CreateObject();
	cJSON_AddItemToArray(msgs, m);
	cJSON_AddStringToObject(m, "role", "user");
	cJSON_AddStringToObject(m, "content", prompt);
	cJSON_AddNumberToObject(j, "n", (double)s->seq);
	free(prompt);
	if (!j || !msgs || !m)
		return pb__blend_fail(b, err, "out of memory");
	if (pb_query_add(b->judge, j, s->file, s->line, err) < 0)
		return pb__blend_fail(b, err, "judge: %s", err);
	return 0;
}

int
pb__judge_start(struct pb_blend *b, int comp, char err[PB_ERRLEN])
{
	struct pb_query_opts qo = b->o.judge;

	b->judge_comp = comp;
	qo.ordered = 1;
	qo.dry_run = 0;
	qo.out = judge_out;
	qo.warn = judge_warn;
	qo.arg = b;
	return (b->judge = pb_query_new(&qo, err)) ? 0 : -1;
}
