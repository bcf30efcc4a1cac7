/* scored.c - unit tests: the one reader of scored records, which
 * pb-update, pb-report --replay and --validate share, and whose messages
 * the tools print as they are. */
#include "../../lib/pb.h"
#include "tap.h"

#define UPDATE (PB_SCORED_PULL | PB_SCORED_CONTEXT | PB_SCORED_REWARD)
#define REPLAY (PB_SCORED_PULL | PB_SCORED_REWARD | PB_SCORED_TERSE)
#define VALIDATE (PB_SCORED_TASK | PB_SCORED_REWARD | PB_SCORED_TERSE)

/* Reads the record text with flags; returns the error message, or "" if
 * it read, with *s filled. */
static const char *
rd(const char *text, unsigned flags, struct pb_scored *s)
{
	static char err[PB_ERRLEN];
	static cJSON *rec;
	int rc;

	cJSON_Delete(rec); /* the previous record: *s pointed into it */
	rec = parse(text);
	err[0] = '\0';
	rc = pb_scored_read(rec, flags, s, err);
	if (rc == 0 && err[0])
		return "(an error message on success)";
	return rc == 0 ? "" : err[0] ? err : "(failure without a message)";
}

int
main(void)
{
	struct pb_scored s;

	/* a good record, in full */
	is_str(rd("{\"run\":\"r1\",\"pull\":7,\"arm\":\"a\",\"task\":{\"id\":3},"
	          "\"context\":\"music\",\"reward\":0.5,\"response\":{\"usage\":"
	          "{\"prompt_tokens\":10,\"completion_tokens\":4}}}", UPDATE, &s),
	       "", "a good record reads");
	ok(s.pull == 7, "its pull id");
	is_str(s.run, "r1", "its run");
	is_str(s.arm, "a", "its arm");
	ok(cJSON_IsObject(s.task), "its task");
	is_str(s.context, "music", "its context");
	is_num(s.reward, 0.5, 0, "its reward");
	ok(s.tin == 10 && s.tout == 4, "its tokens");

	/* null reward, no usage */
	is_str(rd("{\"run\":\"r\",\"pull\":1,\"arm\":\"a\",\"reward\":null}", UPDATE, &s),
	       "", "a null reward reads");
	ok(isnan(s.reward), "as NAN: a failed query, counted as an error");
	ok(s.tin == -1 && s.tout == -1, "no usage: tokens -1");
	ok(!s.context && !s.task, "no context, no task: NULL");
	rd("{\"run\":\"r\",\"pull\":1,\"arm\":\"a\",\"reward\":1,\"response\":{\"usage\":"
	   "{\"prompt_tokens\":10}}}", UPDATE, &s);
	ok(s.tin == -1 && s.tout == -1, "half a usage is none");
	rd("{\"run\":\"r\",\"pull\":1,\"arm\":\"a\",\"reward\":1,\"response\":{\"usage\":"
	   "{\"prompt_tokens\":-3,\"completion_tokens\":4}}}", UPDATE, &s);
	ok(s.tin == -1 && s.tout == -1, "a negative token count is none");

	/* the pull id */
	is_str(rd("{\"run\":\"r\",\"arm\":\"a\",\"reward\":1}", UPDATE, &s),
	       "no \"pull\" id (not a pb-sample record?)", "no pull");
	ok(s.pull == 0, "no pull: s->pull is 0");
	is_str(rd("{\"run\":\"r\",\"pull\":0,\"arm\":\"a\",\"reward\":1}", UPDATE, &s),
	       "no \"pull\" id (not a pb-sample record?)", "pull 0");
	is_str(rd("{\"run\":\"r\",\"pull\":1.5,\"arm\":\"a\",\"reward\":1}", UPDATE, &s),
	       "no \"pull\" id (not a pb-sample record?)", "a fractional pull");
	is_str(rd("{\"run\":\"r\",\"pull\":\"1\",\"arm\":\"a\",\"reward\":1}", UPDATE, &s),
	       "no \"pull\" id (not a pb-sample record?)", "a pull as a string");
	is_str(rd("{\"run\":\"r\",\"pull\":9e15,\"arm\":\"a\",\"reward\":1}", UPDATE, &s),
	       "", "pull PB_PULL_MAX is good");
	ok(s.pull == 9000000000000000L, "and read exactly");
	is_str(rd("{\"run\":\"r\",\"pull\":9.000000000000002e15,\"arm\":\"a\",\"reward\":1}",
	          UPDATE, &s), "no \"pull\" id (not a pb-sample record?)",
	       "a pull past PB_PULL_MAX");

	/* run and arm, in both wordings */
	is_str(rd("{\"pull\":2,\"reward\":1}", UPDATE, &s),
	       "no \"run\" (not a pb-sample record?)", "no run (and no arm): run first");
	ok(s.pull == 2, "the pull is known for the message");
	is_str(rd("{\"pull\":2,\"run\":\"r\",\"reward\":1}", UPDATE, &s),
	       "no \"arm\" (not a pb-sample record?)", "no arm");
	is_str(rd("{\"pull\":2,\"reward\":1}", REPLAY, &s), "no \"run\"", "no run, tersely");
	is_str(rd("{\"pull\":2,\"run\":\"r\",\"reward\":1}", REPLAY, &s), "no \"arm\"",
	       "no arm, tersely");
	is_str(rd("{\"pull\":2,\"run\":\"r\",\"arm\":7,\"reward\":1}", UPDATE, &s),
	       "no \"arm\" (not a pb-sample record?)", "an arm that is not a string");

	/* without PB_SCORED_PULL: no pull or run needed */
	is_str(rd("{\"arm\":\"a\",\"task\":{\"input\":\"x\"},\"reward\":0}", VALIDATE, &s),
	       "", "a held-out record needs no pull");
	ok(s.pull == 0 && !s.run, "and none is read");
	is_str(rd("{\"task\":{},\"reward\":0}", VALIDATE, &s), "no \"arm\"", "no arm");
	is_str(rd("{\"arm\":\"a\",\"reward\":1}", VALIDATE, &s), "no \"task\"", "no task");
	is_str(rd("{\"arm\":\"a\",\"task\":1,\"reward\":2}", VALIDATE, &s),
	       "reward is not a number in [0,1] or null", "the task before the reward");

	/* context */
	is_str(rd("{\"run\":\"r\",\"pull\":1,\"arm\":\"a\",\"context\":3,\"reward\":1}",
	          UPDATE, &s), "\"context\" is not a string", "a context that is not a string");
	is_str(rd("{\"run\":\"r\",\"pull\":1,\"arm\":\"a\",\"context\":3,\"reward\":2}",
	          UPDATE, &s), "\"context\" is not a string", "the context before the reward");
	is_str(rd("{\"run\":\"r\",\"pull\":1,\"arm\":\"a\",\"context\":3,\"reward\":1}",
	          REPLAY, &s), "", "not asked for: ignored");
	ok(!s.context, "and not read");

	/* the reward */
	is_str(rd("{\"run\":\"r\",\"pull\":1,\"arm\":\"a\"}", UPDATE, &s),
	       "not scored (no \"reward\"; run pb-score first)", "no reward");
	is_str(rd("{\"run\":\"r\",\"pull\":1,\"arm\":\"a\"}", REPLAY, &s),
	       "not scored (no \"reward\"; run pb-score first)", "no reward, tersely");
	is_str(rd("{\"run\":\"r\",\"pull\":1,\"arm\":\"a\",\"reward\":1.5}", UPDATE, &s),
	       "reward 1.5 is not a number in [0,1]", "a reward above 1");
	is_str(rd("{\"run\":\"r\",\"pull\":1,\"arm\":\"a\",\"reward\":-0.1}", UPDATE, &s),
	       "reward -0.1 is not a number in [0,1]", "a reward below 0");
	is_str(rd("{\"run\":\"r\",\"pull\":1,\"arm\":\"a\",\"reward\":\"1\"}", UPDATE, &s),
	       "reward \"1\" is not a number in [0,1]", "a reward as a string");
	is_str(rd("{\"run\":\"r\",\"pull\":1,\"arm\":\"a\",\"reward\":1e309}", UPDATE, &s),
	       "reward too large to be a number (past 1.8e308), not in [0,1]",
	       "a reward past a double's range");
	is_str(rd("{\"run\":\"r\",\"pull\":1,\"arm\":\"a\",\"reward\":-1e309}", UPDATE, &s),
	       "reward too large to be a number (below -1.8e308), not in [0,1]",
	       "a reward below a double's range");
	is_str(rd("{\"run\":\"r\",\"pull\":1,\"arm\":\"a\",\"reward\":1e309}", REPLAY, &s),
	       "reward is not a number in [0,1] or null", "tersely: one message");
	is_str(rd("{\"run\":\"r\",\"pull\":1,\"arm\":\"a\",\"reward\":[1]}", REPLAY, &s),
	       "reward is not a number in [0,1] or null", "an array, tersely");
	is_str(rd("{\"run\":\"r\",\"pull\":1,\"arm\":\"a\",\"reward\":0}", UPDATE, &s), "",
	       "reward 0 is good");
	is_str(rd("{\"run\":\"r\",\"pull\":1,\"arm\":\"a\",\"reward\":1}", UPDATE, &s), "",
	       "reward 1 is good");
	is_str(rd("{\"run\":\"r\",\"pull\":1,\"arm\":\"a\",\"reward\":\"x\"}",
	          PB_SCORED_PULL, &s), "", "the reward not asked for (--release): not read");
	ok(isnan(s.reward), "and NAN");
	is_str(rd("{\"run\":\"r\",\"pull\":1,\"arm\":\"a\"}", PB_SCORED_PULL, &s), "",
	       "nor needed");
	return tap_done();
}
