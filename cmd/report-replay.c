/* report-replay.c - pb-report --replay: the ranking rebuilt from scored
 * records, each pull counted once, checked against the state. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/pb.h"
#include "util.h"
#include "report.h"

/* Reading scored records into a state of their own: one arm per arm id
 * (in the state's order when a state is given, else as first seen), each
 * pull counted once (by run and pull id, as pb-update would). */
struct replay {
	struct pb_state *st;
	const struct pb_state *ref; /* the state to check against, or NULL */
	int *tokens;                /* set when a record has response.usage */
	struct pb_index seen;       /* the hashes of (run, pull) seen */
	long records, bad;
};

/* Adds the pull id of run to those seen; returns 1 if it was there
 * already.  By hash alone, as before: two pulls would need the same
 * 64-bit hash to be taken for one. */
static int
seen_add(struct replay *rp, const char *run, long pull)
{
	uint64_t h = pb_hash(run, strlen(run), (uint64_t)pull);
	size_t pos = 0, v;

	if (pb_index_next(&rp->seen, h, &pos, &v))
		return 1;
	if (pb_index_put(&rp->seen, h, 0) < 0)
		die("out of memory");
	return 0;
}

/* Adds an arm to a replayed state; its index. */
static int
replay_arm(struct pb_state *st, const char *id)
{
	int i = pb_state_new_arm(st, id);

	if (i < 0)
		die("out of memory");
	return i;
}

static int
is_merged(const struct pb_state *st, const char *run)
{
	const cJSON *x;

	if (!strcmp(st->run, run))
		return 1;
	cJSON_ArrayForEach(x, st->merged)
		if (cJSON_IsString(x) && !strcmp(x->valuestring, run))
			return 1;
	return 0;
}

static int
replay_record(cJSON *rec, const struct pb_where *at, const char *why, void *arg)
{
	struct replay *rp = arg;
	struct pb_scored in;
	char err[PB_ERRLEN];
	int i;

	if (!rec) {
		bad_record(&rp->bad, at, 0, "%s", why);
		return 0;
	}
	rp->records++;
	if (pb_scored_read(rec, PB_SCORED_PULL | PB_SCORED_REWARD | PB_SCORED_TERSE,
	                   &in, err) < 0) {
		bad_record(&rp->bad, at, in.pull, "%s", err);
		goto out;
	}
	if (rp->ref && !is_merged(rp->ref, in.run)) {
		bad_record(&rp->bad, at, in.pull, "from run %s, not the state's", in.run);
		goto out;
	}
	if ((i = pb_state_find_arm(rp->st, in.arm)) < 0) {
		if (rp->ref) {
			bad_record(&rp->bad, at, in.pull, "unknown arm '%s'", in.arm);
			goto out;
		}
		i = replay_arm(rp->st, in.arm);
	}
	if (seen_add(rp, in.run, in.pull))
		goto out; /* applied once, as pb-update does */
	if (isnan(in.reward))
		rp->st->arms[i].errors++;
	else
		pb_stats_add(&rp->st->arms[i].st, in.reward);
	rp->st->updates++;
	if (in.tin >= 0) {
		pb_state_add_tokens(rp->st, i, NULL, in.tin, in.tout);
		*rp->tokens = 1;
	}
out:
	cJSON_Delete(rec);
	return 0;
}

/* Rebuilds rk->st from the files (stdin when none); with ref, in its
 * arms' order, and checks the numbers against it (differences reported).
 * Returns the number of bad records plus differences. */
long
replay(struct ranking *rk, const struct pb_state *ref, int nfiles,
       char *const *files, long *records)
{
	struct pb_state *st = &rk->st;
	struct replay rp = { .st = st, .ref = ref, .tokens = &rk->tokens };
	char err[PB_ERRLEN];
	long diffs = 0;
	size_t i;

	if (pb_state_blank(st, ref ? ref->run : NULL) < 0)
		die("out of memory");
	if (ref) {
		for (i = 0; i < ref->narms; i++)
			replay_arm(st, ref->arms[i].id);
	}
	if (pb_jsonl_files(nfiles, files, replay_record, &rp, err) < 0)
		die("%s", err);
	pb_index_clear(&rp.seen);
	*records = rp.records;
	/* Nothing read: say so, rather than "0 records disagree". */
	if (st->narms == 0 || rp.records == 0)
		die("replay: no scored records");
	for (i = 0; ref && i < ref->narms; i++) {
		const struct pb_arm *a = &ref->arms[i], *b = &st->arms[i];
		if (a->st.n != b->st.n || fabs(a->st.sum - b->st.sum) > 1e-9 * (1 + a->st.sum) ||
		    a->errors != b->errors) {
			warnx_("replay: arm %s: %ld rewarded pulls summing to %.6g and %ld "
			       "errors in the records; %ld summing to %.6g and %ld in %s",
			       a->id, b->st.n, b->st.sum, b->errors, a->st.n, a->st.sum,
			       a->errors, "the state");
			diffs++;
		}
	}
	return rp.bad + diffs;
}
