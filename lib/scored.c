/* scored.c - one reader of scored records, the lines pb-score writes and
 * pb-update, pb-report --replay and pb-report --validate read: the pull,
 * its arm, its reward (or null for a failed query), its tokens. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base.h"

static int
fail(char err[PB_ERRLEN], const char *msg)
{
	snprintf(err, PB_ERRLEN, "%s", msg);
	return -1;
}

/* The reward's value, or -1 with the message; a record without one was
 * told apart by the caller. */
static int
reward_of(const cJSON *rv, unsigned flags, double *reward, char err[PB_ERRLEN])
{
	char *s;

	if (cJSON_IsNull(rv)) {
		*reward = NAN;
		return 0;
	}
	if (cJSON_IsNumber(rv) && isfinite(rv->valuedouble) &&
	    rv->valuedouble >= 0 && rv->valuedouble <= 1) {
		*reward = rv->valuedouble;
		return 0;
	}
	if (flags & PB_SCORED_TERSE)
		return fail(err, "reward is not a number in [0,1] or null");
	/* cJSON prints a number past a double's range (1e309, read as
	 * infinity) as null: name it as what it is */
	if (cJSON_IsNumber(rv) && !isfinite(rv->valuedouble)) {
		snprintf(err, PB_ERRLEN, "reward too large to be a number (%s1.8e308), "
		         "not in [0,1]", rv->valuedouble > 0 ? "past " : "below -");
		return -1;
	}
	s = cJSON_PrintUnformatted(rv);
	snprintf(err, PB_ERRLEN, "reward %s is not a number in [0,1]", s ? s : "?");
	cJSON_free(s);
	return -1;
}

int
pb_scored_read(const cJSON *rec, unsigned flags, struct pb_scored *s,
               char err[PB_ERRLEN])
{
	int terse = (flags & PB_SCORED_TERSE) != 0;
	const cJSON *rv, *cv;
	double pull;

	memset(s, 0, sizeof *s);
	s->reward = NAN;
	s->tin = s->tout = -1;
	if (flags & PB_SCORED_PULL) {
		if (pb_json_num(rec, "pull", &pull) < 0 || pull < 1 || pull != floor(pull) ||
		    pull > PB_PULL_MAX)
			return fail(err, "no \"pull\" id (not a pb-sample record?)");
		s->pull = (long)pull;
		if (!(s->run = pb_json_str(rec, "run")))
			return fail(err, terse ? "no \"run\"" :
			            "no \"run\" (not a pb-sample record?)");
	}
	if (!(s->arm = pb_json_str(rec, "arm")))
		return fail(err, terse ? "no \"arm\"" :
		            "no \"arm\" (not a pb-sample record?)");
	s->task = cJSON_GetObjectItemCaseSensitive(rec, "task");
	if (!s->task && (flags & PB_SCORED_TASK))
		return fail(err, "no \"task\"");
	cv = cJSON_GetObjectItemCaseSensitive(rec, "context");
	if (cJSON_IsString(cv))
		s->context = cv->valuestring;
	else if (cv && (flags & PB_SCORED_CONTEXT))
		return fail(err, "\"context\" is not a string");
	if (flags & PB_SCORED_REWARD) {
		if (!(rv = cJSON_GetObjectItemCaseSensitive(rec, "reward")))
			return fail(err, "not scored (no \"reward\"; run pb-score first)");
		if (reward_of(rv, flags, &s->reward, err) < 0)
			return -1;
	}
	if (pb_json_num(rec, "response.usage.prompt_tokens", &s->tin) < 0 ||
	    pb_json_num(rec, "response.usage.completion_tokens", &s->tout) < 0 ||
	    !(s->tin >= 0 && s->tout >= 0))
		s->tin = s->tout = -1;
	return 0;
}
