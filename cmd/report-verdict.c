/* report-verdict.c - pb-report's verdict: which arm is best, as far as
 * the state can tell, by the rule of its policy (pb_bandit_verdict), in
 * words and in JSON; and the check that no (arm, task) pair was counted
 * twice. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/pb.h"
#include "util.h"
#include "report.h"

void
judge(const struct pb_state *st, double level, double eps, struct pb_verdict *v)
{
	if (pb_bandit_verdict(st, level, eps, v) < 0)
		die("out of memory");
}

/* A state holds at most R pulls of each (arm, task) pair: more than R x
 * the pool's tasks on one arm means rewards were counted twice (a state
 * made by hand, or by another tool): say so. */
void
check_pairs(const struct pb_state *st, const char *ctx)
{
	size_t i, n = pb_state_pool_size(st, -1);
	double cap = (double)(st->repeats > 0 ? st->repeats : 1) * (double)n;

	if (st->ctx_field)
		return; /* each context's view is checked on its own */
	for (i = 0; i < st->narms; i++) {
		const struct pb_arm *a = &st->arms[i];
		if ((double)a->st.n > (double)n || (double)(a->st.n + a->errors) > cap)
			warnx_("warning: %s%s%sarm %s holds %ld pulls, but the pool has "
			       "%zu task%s (repeats %ld): some (arm, task) pairs were counted "
			       "more than once, and no interval or verdict here is valid",
			       ctx && *ctx ? "context " : "", ctx && *ctx ? ctx : "",
			       ctx && *ctx ? ": " : "", a->id, a->st.n + a->errors, n,
			       n == 1 ? "" : "s", st->repeats > 0 ? st->repeats : 1);
	}
}

/* The verdict as one line of words (and one more for --epsilon). */
void
say_verdict(const struct pb_state *st, const struct row *r, const struct pb_verdict *v)
{
	size_t i;

	if (v->totals) {
		printf("verdict: none on the totals: each of the %zu contexts has its "
		       "own, at delta/%zu; population-weighted means (each context by "
		       "its share of the %zu tasks):", v->nctx, v->nctx ? v->nctx : 1,
		       v->pool);
		for (i = 0; i < st->narms; i++) {
			if (isnan(v->weighted[r[i].arm]))
				printf(" %s -", st->arms[r[i].arm].id);
			else
				printf(" %s %.3f", st->arms[r[i].arm].id, v->weighted[r[i].arm]);
		}
		printf("\n");
	} else if (v->exhausted) {
		printf("verdict: %s (%s rule); no more tasks to hand out\n",
		       v->why, v->rule);
	} else if (!strcmp(v->rule, "budget")) {
		printf("verdict: %s\n", v->done ? v->why :
		       "fixed budget not yet spent");
	} else if (v->done) {
		printf("verdict: arm %s is best with confidence %g (%s rule)\n",
		       st->arms[v->best].id, v->conf, v->rule);
	} else {
		printf("verdict: not yet separated at confidence %g (%s rule):",
		       v->conf, v->rule);
		for (i = 0; i < st->narms; i++)
			if (v->open[r[i].arm] || r[i].arm == v->best)
				printf(" %s", st->arms[r[i].arm].id);
		printf(" remain\n");
	}
	if (v->good) {
		printf("eps-good set (epsilon %g, confidence %g):", v->eps, 1 - v->delta);
		for (i = 0; i < st->narms; i++)
			if (v->good[r[i].arm])
				printf(" %s", st->arms[r[i].arm].id);
		printf("\n");
	}
}

cJSON *
verdict_json(const struct pb_state *st, const struct row *r, const struct pb_verdict *v)
{
	cJSON *o = cJSON_CreateObject(), *rem, *good;
	size_t i;

	cJSON_AddBoolToObject(o, "done", v->done);
	cJSON_AddItemToObject(o, "best", v->done && v->best >= 0 ?
	                      cJSON_CreateString(st->arms[v->best].id) : cJSON_CreateNull());
	cJSON_AddItemToObject(o, "leader", v->best >= 0 ?
	                      cJSON_CreateString(st->arms[v->best].id) : cJSON_CreateNull());
	cJSON_AddItemToObject(o, "confidence", isnan(v->conf) ? cJSON_CreateNull() :
	                      cJSON_CreateNumber(v->conf));
	rem = cJSON_AddArrayToObject(o, "remaining");
	for (i = 0; i < st->narms; i++)
		if (v->open[r[i].arm])
			cJSON_AddItemToArray(rem, cJSON_CreateString(st->arms[r[i].arm].id));
	cJSON_AddStringToObject(o, "rule", v->rule);
	if ((v->done && !strcmp(v->rule, "budget")) || v->exhausted)
		cJSON_AddStringToObject(o, "why", v->why);
	cJSON_AddBoolToObject(o, "exhausted", v->exhausted);
	cJSON_AddNumberToObject(o, "pool", (double)v->pool);
	if (v->totals) {
		cJSON *wt = cJSON_AddObjectToObject(o, "weighted");
		cJSON_AddStringToObject(o, "why", "no verdict on the totals of a state "
		                        "with contexts: see each context's");
		cJSON_AddNumberToObject(o, "contexts", (double)v->nctx);
		for (i = 0; i < st->narms; i++)
			cJSON_AddItemToObject(wt, st->arms[r[i].arm].id,
			                      isnan(v->weighted[r[i].arm]) ? cJSON_CreateNull() :
			                      cJSON_CreateNumber(v->weighted[r[i].arm]));
	}
	if (v->good) {
		cJSON_AddNumberToObject(o, "epsilon", v->eps);
		cJSON_AddNumberToObject(o, "eps_confidence", 1 - v->delta);
		good = cJSON_AddArrayToObject(o, "eps_good");
		for (i = 0; i < st->narms; i++)
			if (v->good[r[i].arm])
				cJSON_AddItemToArray(good, cJSON_CreateString(st->arms[r[i].arm].id));
	}
	return o;
}
