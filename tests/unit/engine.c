/* engine.c - unit tests for pb-score's engine (lib/engine*.c) with
 * built-in components only, so no program runs: the blend's weights
 * (divided by their sum), the status that follows the reward, an
 * unscored component or a failed query making the record unscored, and
 * records handed back in input order through a window smaller than the
 * input.  tests/unit/score2.c runs a program component, tests/03*.t the
 * whole of pb-score. */
#include <stdlib.h>

#include "tap.h"
#include "../../lib/pb.h"

#define NREC 16

struct sink {
	char *out[NREC];  /* each record's reward and score, as printed */
	int n;
	int warned;
	char warning[PB_ERRLEN + 256];
};

static int
collect(cJSON *rec, void *arg, char err[PB_ERRLEN])
{
	struct sink *k = arg;
	cJSON *keep = cJSON_CreateObject();

	(void)err;
	cJSON_AddItemToObject(keep, "reward",
	                      cJSON_DetachItemFromObject(rec, "reward"));
	cJSON_AddItemToObject(keep, "score", cJSON_DetachItemFromObject(rec, "score"));
	if (k->n < NREC)
		k->out[k->n] = cJSON_PrintUnformatted(keep);
	k->n++;
	cJSON_Delete(keep);
	cJSON_Delete(rec);
	return 0;
}

static void
warned(const char *msg, void *arg)
{
	struct sink *k = arg;

	k->warned++;
	snprintf(k->warning, sizeof k->warning, "%s", msg);
}

/* Runs the engine over recs (NULL-terminated JSON texts) with the
 * components given; the results land in k. */
static void
run(const struct pb_component *comp, size_t ncomp, int blend, size_t window,
    const char *const recs[], struct sink *k, struct pb_blend_counts *cnt)
{
	struct pb_blend_opts o = { 0 };
	struct pb_blend *b;
	char err[PB_ERRLEN] = "";
	int i;

	memset(k, 0, sizeof *k);
	o.comp = comp;
	o.ncomp = ncomp;
	o.blend = blend;
	o.reference = "task.answer";
	o.response = "response.text";
	o.window = window;
	o.out = collect;
	o.warn = warned;
	o.arg = k;
	if (!(b = pb_blend_new(&o, err))) {
		printf("Bail out! pb_blend_new: %s\n", err);
		exit(2);
	}
	for (i = 0; recs[i]; i++) {
		while (!pb_blend_room(b))
			if (pb_blend_step(b, -1, err) < 0)
				goto out;
		if (pb_blend_add(b, parse(recs[i]), "test", i + 1, NULL, 0, err) < 0)
			goto out;
	}
	pb_blend_finish(b);
	while (!pb_blend_idle(b))
		if (pb_blend_step(b, -1, err) < 0)
			break;
out:
	ok(!*err, "engine ran (%s)", *err ? err : "no error");
	pb_blend_counts(b, cnt);
	pb_blend_free(b);
}

static void
sink_free(struct sink *k)
{
	int i;

	for (i = 0; i < k->n && i < NREC; i++)
		cJSON_free(k->out[i]);
}

/* A record whose response is text and whose reference is ref (JSON);
 * REC2's has a word too, the contains scorer's reference. */
#define REC(ref, text) "{\"task\":{\"answer\":" ref "},\"response\":{\"text\":\"" text "\"}}"
#define REC2(ref, word, text) "{\"task\":{\"answer\":" ref ",\"word\":\"" word "\"}," \
	"\"response\":{\"text\":\"" text "\"}}"

int
main(void)
{
	struct pb_scorer num, has, len;
	struct pb_component comp[3];
	struct pb_blend_counts cnt;
	struct sink k;
	char err[PB_ERRLEN];

	pb_scorer_init(&num, "number", err);
	pb_scorer_init(&has, "contains", err);
	pb_scorer_init(&len, "length", err);
	has.reference = "task.word";
	len.max_words = 2;

	/* --- weights: divided by their sum */
	{
		static const char *const recs[] = {
			REC2("7", "cat", "7 dogs"),  /* number right, contains wrong */
			REC2("7", "cat", "6 dogs"),  /* both wrong */
			REC2("7", "cat", "one cat"), /* number: no answer; contains right */
			NULL
		};

		comp[0] = (struct pb_component){ PB_COMP_BUILTIN, "number", 3, &num };
		comp[1] = (struct pb_component){ PB_COMP_BUILTIN, "contains", 1, &has };
		run(comp, 2, 1, 0, recs, &k, &cnt);
		ok(k.n == 3, "weights 3:1: three records back (%d)", k.n);
		is_str(k.out[0], "{\"reward\":0.75,\"score\":{\"scorer\":\"blend\","
		       "\"extracted\":null,\"reference\":null,\"status\":\"partial\","
		       "\"components\":{"
		       "\"number\":{\"weight\":3,\"reward\":1,\"extracted\":\"7\","
		       "\"reference\":\"7\",\"status\":\"ok\"},"
		       "\"contains\":{\"weight\":1,\"reward\":0,\"extracted\":\"7 dogs\","
		       "\"reference\":\"cat\",\"status\":\"wrong\"}}}}",
		       "weights 3:1: right and wrong is 0.75, partial");
		ok(k.out[1] && strstr(k.out[1], "{\"reward\":0,") &&
		   strstr(k.out[1], "\"scorer\":\"blend\",\"extracted\":null,"
		          "\"reference\":null,\"status\":\"wrong\""),
		   "weights 3:1: both wrong is 0, wrong");
		ok(k.out[2] && strstr(k.out[2], "{\"reward\":0.25,") &&
		   strstr(k.out[2], "\"status\":\"partial\"") &&
		   strstr(k.out[2], "\"number\":{\"weight\":3,\"reward\":0,"
		          "\"extracted\":null,\"reference\":\"7\",\"status\":\"no-answer\"}"),
		   "weights 3:1: no answer weighs as 0: 0.25");
		ok(cnt.done == 3 && cnt.status[PB_SCORE_PARTIAL] == 2 &&
		   cnt.status[PB_SCORE_WRONG] == 1 && cnt.failed == 0 && !k.warned,
		   "weights 3:1: counts");
		sink_free(&k);

		/* the same weights scaled: the same rewards */
		comp[0].weight = 0.3;
		comp[1].weight = 0.1;
		run(comp, 2, 1, 0, recs, &k, &cnt);
		ok(k.out[0] && !strncmp(k.out[0], "{\"reward\":0.75,", 15) &&
		   k.out[2] && !strncmp(k.out[2], "{\"reward\":0.25,", 15),
		   "weights 0.3:0.1 read as 3:1");
		sink_free(&k);

		comp[0].weight = comp[1].weight = 2;
		run(comp, 2, 1, 0, recs, &k, &cnt);
		ok(k.out[0] && !strncmp(k.out[0], "{\"reward\":0.5,", 14),
		   "weights 2:2: right and wrong is 0.5");
		sink_free(&k);
	}

	/* --- all right is 1 exactly (the sum is not left at 0.99...) */
	{
		static const char *const recs[] = { REC2("7", "7", "7"), NULL };

		comp[0] = (struct pb_component){ PB_COMP_BUILTIN, "number", 0.1, &num };
		comp[1] = (struct pb_component){ PB_COMP_BUILTIN, "contains", 0.2, &has };
		comp[2] = (struct pb_component){ PB_COMP_BUILTIN, "length", 0.7, &len };
		run(comp, 3, 1, 0, recs, &k, &cnt);
		ok(k.out[0] && !strncmp(k.out[0], "{\"reward\":1,", 12) &&
		   strstr(k.out[0], "\"status\":\"ok\",\"components\""),
		   "weights 0.1:0.2:0.7, all right: reward 1, ok");
		sink_free(&k);
	}

	/* --- a graded component: length's partial reward weighs in */
	{
		static const char *const recs[] = { REC("\"7\"", "it is 7"), NULL };

		comp[0] = (struct pb_component){ PB_COMP_BUILTIN, "number", 1, &num };
		comp[1] = (struct pb_component){ PB_COMP_BUILTIN, "length", 1, &len };
		run(comp, 2, 1, 0, recs, &k, &cnt);
		/* 3 words for 2 given full marks: 1 - 1/2 = 0.5 */
		ok(k.out[0] && !strncmp(k.out[0], "{\"reward\":0.75,", 15) &&
		   strstr(k.out[0], "\"length\":{\"weight\":1,\"reward\":0.5,"
		          "\"extracted\":\"3 words\",\"reference\":\"2 words\","
		          "\"status\":\"partial\"}"),
		   "number 1 and length 0.5, equal weights: 0.75");
		sink_free(&k);
	}

	/* --- every component without an answer: no-answer */
	{
		static const char *const recs[] = { REC2("7", "cat", ""), NULL };

		comp[0] = (struct pb_component){ PB_COMP_BUILTIN, "number", 1, &num };
		comp[1] = (struct pb_component){ PB_COMP_BUILTIN, "contains", 1, &has };
		run(comp, 2, 1, 0, recs, &k, &cnt);
		ok(k.out[0] && !strncmp(k.out[0], "{\"reward\":0,", 12) &&
		   strstr(k.out[0], "\"scorer\":\"blend\",\"extracted\":null,"
		          "\"reference\":null,\"status\":\"no-answer\""),
		   "all components without an answer: reward 0, no-answer");
		ok(cnt.status[PB_SCORE_NOANSWER] == 1, "no-answer counted");
		sink_free(&k);
	}

	/* --- one component unscored: the record is, with "NAME: why" */
	{
		static const char *const recs[] = { REC2("\"none\"", "none", "none"), NULL };

		comp[0] = (struct pb_component){ PB_COMP_BUILTIN, "number", 1, &num };
		comp[1] = (struct pb_component){ PB_COMP_BUILTIN, "contains", 1, &has };
		run(comp, 2, 1, 0, recs, &k, &cnt);
		ok(k.out[0] && !strncmp(k.out[0], "{\"reward\":null,", 15) &&
		   strstr(k.out[0], "\"status\":\"unscored\",\"reason\":\"number: "
		          "reference at task.answer has no number: 'none'\""),
		   "an unscored component: reward null, reason named");
		ok(k.out[0] && strstr(k.out[0], "\"number\":{\"weight\":1,\"reward\":null,"),
		   "an unscored component: its reward null in components");
		ok(k.out[0] && strstr(k.out[0], "\"contains\":{\"weight\":1,\"reward\":1,"),
		   "an unscored component: the others still shown");
		is_str(k.warning, "test:1: number: reference at task.answer has no "
		       "number: 'none'", "an unscored component: warned with file and line");
		ok(cnt.failed == 1 && cnt.status[PB_SCORE_UNSCORED] == 1, "unscored counted");
		sink_free(&k);
	}

	/* --- a failed query: unscored, no components, not sent anywhere */
	{
		static const char *const recs[] = {
			"{\"task\":{\"answer\":\"7\"},\"error\":{\"kind\":\"timeout\"}}",
			NULL
		};

		run(comp, 2, 1, 0, recs, &k, &cnt);
		is_str(k.out[0], "{\"reward\":null,\"score\":{\"scorer\":\"blend\","
		       "\"extracted\":null,\"reference\":null,\"status\":\"unscored\","
		       "\"reason\":\"query failed: timeout\"}}",
		       "a failed query: unscored, no components");
		ok(!k.warned && cnt.failed == 0, "a failed query: normal data, no warning");
		sink_free(&k);
	}

	/* --- one component with --blend: still a blend, weight shown */
	{
		static const char *const recs[] = { REC("7", "7"), NULL };

		comp[0] = (struct pb_component){ PB_COMP_BUILTIN, "number", 5, &num };
		run(comp, 1, 1, 0, recs, &k, &cnt);
		is_str(k.out[0], "{\"reward\":1,\"score\":{\"scorer\":\"blend\","
		       "\"extracted\":null,\"reference\":null,\"status\":\"ok\","
		       "\"components\":{\"number\":{\"weight\":5,\"reward\":1,"
		       "\"extracted\":\"7\",\"reference\":\"7\",\"status\":\"ok\"}}}}",
		       "--blend with one component");
		sink_free(&k);

		/* without --blend: exactly pb_score_record's fields */
		run(comp, 1, 0, 0, recs, &k, &cnt);
		is_str(k.out[0], "{\"reward\":1,\"score\":{\"scorer\":\"number\","
		       "\"extracted\":\"7\",\"reference\":\"7\",\"status\":\"ok\"}}",
		       "one scorer without --blend: the scorer's own fields");
		ok(cnt.status[PB_SCORE_OK] == 1 && cnt.done == 1, "one scorer: counted");
		sink_free(&k);
	}

	/* --- order kept through a window of 2 */
	{
		static const char *const recs[] = {
			REC2("1", "1", "1"), REC2("1", "1", "2"), REC2("1", "1", "1"),
			REC2("1", "1", "x"), REC2("1", "1", "1"), NULL
		};
		int i, in_order = 1;

		comp[0] = (struct pb_component){ PB_COMP_BUILTIN, "number", 1, &num };
		comp[1] = (struct pb_component){ PB_COMP_BUILTIN, "contains", 1, &has };
		run(comp, 2, 1, 2, recs, &k, &cnt);
		for (i = 0; i < 5; i++) {
			const char *want = i == 1 ? "{\"reward\":0," : i == 3 ?
			                   "{\"reward\":0," : "{\"reward\":1,";

			if (!k.out[i] || strncmp(k.out[i], want, strlen(want)))
				in_order = 0;
		}
		ok(k.n == 5 && in_order, "window 2: five records back in input order");
		sink_free(&k);
	}

	pb_scorer_free(&num);
	pb_scorer_free(&has);
	pb_scorer_free(&len);
	return tap_done();
}
