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
	struct cells *cells;        /* --adjusted: the (arm, task) cells, or NULL */
};

/* --adjusted: each arm's rewards on each task, summed, for pb_pooled_fit;
 * tasks by their id (pb_task_key, the default input fields). */
struct cells {
	struct pb_index taskix;     /* hash of a task id -> its index */
	char **task;
	size_t ntasks, taskcap;
	struct pb_index cellix;     /* hash of (arm, task) -> its cell */
	struct pb_cell *cell;
	size_t ncells, cellcap;
};

/* The index of the task with id key, added if new. */
static size_t
task_index(struct cells *cs, const char *key)
{
	uint64_t h = pb_hash(key, strlen(key), 0x7a5c);
	size_t pos = 0, v;

	while (pb_index_next(&cs->taskix, h, &pos, &v))
		if (!strcmp(cs->task[v], key))
			return v;
	if (cs->ntasks == cs->taskcap) {
		cs->taskcap = cs->taskcap ? 2 * cs->taskcap : 64;
		cs->task = erealloc(cs->task, cs->taskcap * sizeof *cs->task);
	}
	cs->task[cs->ntasks] = estrdup(key);
	if (pb_index_put(&cs->taskix, h, cs->ntasks) < 0)
		die("out of memory");
	return cs->ntasks++;
}

/* Adds reward to the cell of (arm, task). */
static void
cell_add(struct cells *cs, size_t arm, size_t task, double reward)
{
	uint64_t k[2] = { arm, task }, h = pb_hash(k, sizeof k, 0xce11);
	size_t pos = 0, v;

	while (pb_index_next(&cs->cellix, h, &pos, &v))
		if (cs->cell[v].arm == arm && cs->cell[v].task == task) {
			cs->cell[v].sum += reward;
			cs->cell[v].n++;
			return;
		}
	if (cs->ncells == cs->cellcap) {
		cs->cellcap = cs->cellcap ? 2 * cs->cellcap : 64;
		cs->cell = erealloc(cs->cell, cs->cellcap * sizeof *cs->cell);
	}
	cs->cell[cs->ncells] = (struct pb_cell){ arm, task, reward, 1 };
	if (pb_index_put(&cs->cellix, h, cs->ncells) < 0)
		die("out of memory");
	cs->ncells++;
}

/* A rewarded record into its cell; a record with no task id to place it
 * by is reported. */
static void
cells_record(struct replay *rp, const struct pb_scored *in, int arm,
             const struct pb_where *at)
{
	static const char *fields[] = { "input", "question", "prompt" };
	const char *input = NULL;
	char err[PB_ERRLEN] = "", *key = NULL;
	uint64_t dig;
	size_t f;

	for (f = 0; cJSON_IsObject(in->task) && f < 3 && !input; f++)
		input = pb_json_str(in->task, fields[f]);
	if (cJSON_IsObject(in->task) &&
	    (input || cJSON_GetObjectItemCaseSensitive(in->task, "id")))
		key = pb_task_key(in->task, input ? input : "", &dig, err);
	if (!key) {
		bad_record(&rp->bad, at, in->pull, "--adjusted: %s", *err ? err :
		           "no task id (no \"task\" with an \"id\" or an input field)");
		return;
	}
	cell_add(rp->cells, (size_t)arm, task_index(rp->cells, key), in->reward);
	free(key);
}

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
	if (rp->cells && !isnan(in.reward))
		cells_record(rp, &in, i, at);
	rp->st->updates++;
	if (in.tin >= 0) {
		pb_state_add_tokens(rp->st, i, NULL, in.tin, in.tout);
		*rp->tokens = 1;
	}
out:
	cJSON_Delete(rec);
	return 0;
}

/* --adjusted: the pooled fit of the cells into rk->adj; frees cs. */
static void
fit(struct ranking *rk, struct cells *cs)
{
	struct adjusted *ad = ecalloc(1, sizeof *ad);
	char err[PB_ERRLEN];
	size_t i;

	ad->a = ecalloc(rk->st.narms, sizeof *ad->a);
	ad->comp = ecalloc(rk->st.narms, sizeof *ad->comp);
	ad->ncells = cs->ncells;
	ad->ntasks = cs->ntasks;
	if ((ad->ncomp = pb_pooled_fit(cs->cell, cs->ncells, rk->st.narms, cs->ntasks,
	                               ad->a, ad->comp, &ad->sweeps, err)) < 0)
		die("%s", err);
	if (ad->sweeps > PB_POOLED_SWEEPS)
		warnx_("--adjusted: the fit moved by more than 1e-10 still after %d sweeps: "
		       "the adjusted means are not exact", PB_POOLED_SWEEPS);
	for (i = 0; i < cs->ntasks; i++)
		free(cs->task[i]);
	free(cs->task);
	free(cs->cell);
	pb_index_clear(&cs->taskix);
	pb_index_clear(&cs->cellix);
	rk->adj = ad;
}

/* Rebuilds rk->st from the files (stdin when none); with ref, in its
 * arms' order, and checks the numbers against it (differences reported).
 * Returns the number of bad records plus differences. */
long
replay(struct ranking *rk, const struct pb_state *ref, int adjusted,
       int nfiles, char *const *files, long *records)
{
	struct pb_state *st = &rk->st;
	struct cells cs = { 0 };
	struct replay rp = { .st = st, .ref = ref, .tokens = &rk->tokens,
	                     .cells = adjusted ? &cs : NULL };
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
	if (adjusted)
		fit(rk, &cs);
	return rp.bad + diffs;
}

/* ============================================================ --adjusted */

/* The arm of component k with the highest adjusted mean (ties: the
 * first in rank order), or -1. */
static int
best_in(const struct ranking *rk, int k)
{
	const struct adjusted *ad = rk->adj;
	size_t i;
	int best = -1;

	for (i = 0; i < rk->st.narms; i++) {
		int arm = rk->r[i].arm;
		if (ad->comp[arm] == k && (best < 0 || ad->a[arm] > ad->a[best]))
			best = arm;
	}
	return best;
}

void
print_adjusted(const struct ranking *rk, const struct opts *o)
{
	const struct adjusted *ad = rk->adj;
	const struct pb_state *st = &rk->st;
	int md = o->format == F_MD, comps = ad->ncomp > 1, k, b;
	char m[32], adj[32], cn[16];
	size_t i, w = 3;

	for (i = 0; i < st->narms; i++)
		if (strlen(st->arms[i].id) > w)
			w = strlen(st->arms[i].id);
	printf(md ? "Adjusted: reward = arm + task, least squares on %zu (arm, task) "
	       "cells of %zu tasks.\n\n" : "adjusted: reward = arm + task, least squares "
	       "on %zu (arm, task) cells of %zu tasks\n", ad->ncells, ad->ntasks);
	if (md)
		printf("| rank | arm | pulls | mean | adjusted |%s\n|---:|:---|---:|---:|---:|%s\n",
		       comps ? " comp |" : "", comps ? "---:|" : "");
	else
		printf("%4s  %-*s %7s %6s %8s%s\n", "rank", (int)w, "arm", "pulls", "mean",
		       "adjusted", comps ? "  comp" : "");
	for (i = 0; i < st->narms; i++) {
		const struct pb_arm *a = &st->arms[rk->r[i].arm];
		fmtnum(m, sizeof m, a->st.n ? rk->r[i].mean : NAN, "%.3f");
		fmtnum(adj, sizeof adj, ad->a[rk->r[i].arm], "%.3f");
		snprintf(cn, sizeof cn, ad->comp[rk->r[i].arm] ? "%d" : "-",
		         ad->comp[rk->r[i].arm]);
		if (md) {
			printf("| %zu | ", i + 1);
			mdcell(a->id);
			printf(" | %ld | %s | %s |", a->st.n, m, adj);
			if (comps)
				printf(" %s |", cn);
			putchar('\n');
		} else {
			printf("%4zu  %-*s %7ld %6s %8s", i + 1, (int)w, a->id, a->st.n, m, adj);
			if (comps)
				printf("  %4s", cn);
			putchar('\n');
		}
	}
	if (md)
		putchar('\n');
	if (comps)
		printf("the arms fall into %d components that share no task: adjusted means "
		       "compare only within a component\n", ad->ncomp);
	if (!ad->ncomp)
		printf("no rewarded (arm, task) cell");
	for (k = 1; k <= ad->ncomp; k++)
		if ((b = best_in(rk, k)) >= 0) {
			if (comps)
				printf("%s component %d: %s", k == 1 ? "best adjusted in" : "; in",
				       k, st->arms[b].id);
			else
				printf("best adjusted: %s", st->arms[b].id);
		}
	printf("\nadjusted means are model-based (wrong if arm x task interactions are "
	       "large), without a standard error; the verdict and P(best) do not use them\n");
}

void
adjusted_json(const struct ranking *rk, cJSON *j)
{
	const struct adjusted *ad = rk->adj;
	cJSON *a, *p = cJSON_AddObjectToObject(j, "pooled");
	int i;

	cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(j, "arms")) {
		i = pb_state_find_arm(&rk->st, pb_json_str(a, "id"));
		num(a, "adjusted", i >= 0 ? ad->a[i] : NAN);
		if (ad->ncomp > 1)
			cJSON_AddNumberToObject(a, "comp", i >= 0 ? ad->comp[i] : 0);
	}
	cJSON_AddStringToObject(p, "model", "reward = arm + task");
	cJSON_AddNumberToObject(p, "cells", (double)ad->ncells);
	cJSON_AddNumberToObject(p, "tasks", (double)ad->ntasks);
	cJSON_AddNumberToObject(p, "components", ad->ncomp);
	cJSON_AddNumberToObject(p, "sweeps", ad->sweeps > PB_POOLED_SWEEPS ?
	                        PB_POOLED_SWEEPS : ad->sweeps);
	cJSON_AddBoolToObject(p, "converged", ad->sweeps <= PB_POOLED_SWEEPS);
}

void
adjusted_free(struct ranking *rk)
{
	if (!rk->adj)
		return;
	free(rk->adj->a);
	free(rk->adj->comp);
	free(rk->adj);
	rk->adj = NULL;
}
