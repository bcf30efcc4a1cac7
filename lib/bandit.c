/* bandit.c - where the state, the policy and the history meet: the verbs
 * of a run.  Choose the arms of a task, apply a reward (the arm's
 * statistics, its context's, its group's pairs, the policy told and the
 * history handed its numbers), hand a pull back.  The verdict, which
 * reads but never changes the state, is verdict.c's.
 *
 * Applying one reward goes down the layer only: bandit.c -> policy ->
 * state, and bandit.c -> history with the numbers computed here. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bandit.h"
#include "internal.h"

/* ------------------------------------------------------------ applying */

/* Resolves a pull's context (adding a new one) and checks it against its
 * group's: the context's index, -1 for none, or -2 with err set. */
static int
pull_context(struct pb_state *st, long first, long k, long id,
             const char *ctx, char err[PB_ERRLEN])
{
	const struct pb_group *g;
	int c = -1;

	if (ctx && !st->ctx_field) {
		snprintf(err, PB_ERRLEN, "the pull has a context but the state "
		         "keeps none (pb-update --init --context FIELD)");
		return -2;
	}
	if (!ctx && st->ctx_field) {
		snprintf(err, PB_ERRLEN, "the pull has no \"context\", but the "
		         "state keeps statistics per task field '%s'", st->ctx_field);
		return -2;
	}
	if (ctx) {
		c = pb_state_find_ctx(st, ctx);
		if (k > 1 && (g = pb__group_find(st, first + (id - first) / k * k)) &&
		    g->ctx != c) {
			snprintf(err, PB_ERRLEN, "context '%s' is not that of the "
			         "other pulls of its task ('%s')", ctx,
			         g->ctx >= 0 ? st->ctx[g->ctx].name : "");
			return -2;
		}
		if (c < 0 && (c = pb_state_add_ctx(st, ctx)) < 0) {
			snprintf(err, PB_ERRLEN, "out of memory");
			return -2;
		}
	}
	return c;
}

/* A reward in one set of statistics, st's own or a context's view: the
 * policy first, as it may want them as they were (EXP3). */
static int
reward_in(struct pb_state *v, int arm, double reward)
{
	if (pb_policy_update(v, arm, reward) < 0)
		return -1;
	if (isnan(reward))
		v->arms[arm].errors++;
	else
		pb_stats_add(&v->arms[arm].st, reward);
	return 0;
}

/* One task's rewards of two arms into v's pairs *pp, and v's policy
 * told (the race may knock one out). */
static int
pair_in(struct pb_state *v, struct pb_pairs **pp, const struct pb_pairing *t)
{
	if (pb__pair_add(pp, v->narms, t->a, t->b, t->ra, t->rb) < 0)
		return -1;
	v->pair = *pp;
	return pb_policy_pair(v, t);
}

/* One task's reward of arm into st's statistics and its context's. */
static int
task_in(struct pb_state *st, int c, int arm, double reward)
{
	struct pb_state view;

	if (reward_in(st, arm, reward) < 0)
		return -1;
	if (c >= 0) {
		pb_state_view(st, (size_t)c, &view);
		if (reward_in(&view, arm, reward) < 0)
			return -1;
	}
	return 0;
}

/* The rewards of arms a and b on one task, members sa and sb of its
 * group, into st's pairs and its context's. */
static int
pairs_in(struct pb_state *st, int c, int a, int b, double ra, double rb,
         long sa, long sb)
{
	struct pb_pairing t = { a, b, ra, rb, sa, sb };
	struct pb_state view;

	if (pair_in(st, &st->pair, &t) < 0)
		return -1;
	if (c >= 0) {
		pb_state_view(st, (size_t)c, &view);
		if (pair_in(&view, &st->ctx[c].pair, &t) < 0)
			return -1;
	}
	return 0;
}

/* With R repeats, member slot*R .. slot*R + R - 1 of a group are the R
 * pulls of one arm on the group's task.  Their mean, once all are back,
 * is the arm's reward on the task (NAN if every one was an error). */
static double
slot_mean(const struct pb_group *g, long slot, long R, int *complete)
{
	double sum = 0;
	long s, n = 0;

	*complete = 1;
	for (s = 0; s < R; s++) {
		if (g->arm[slot * R + s] < 0) {
			*complete = 0;
			return NAN;
		}
		if (!isnan(g->r[slot * R + s])) {
			sum += g->r[slot * R + s];
			n++;
		}
	}
	return n ? sum / (double)n : NAN;
}

/* Records a reward (released: only the pull's place in its group), the
 * policy told first, in the arm's statistics, its context's and its
 * group's, pairing it with the members back already.  -1 only if out of
 * memory. */
static int
pull_apply(struct pb_state *st, long first, long k, long id, int arm,
           double reward, int c, int released)
{
	struct pb_group *g;
	long m, o, gfirst, R = st->repeats > 1 ? st->repeats : 1;
	int done;

	/* An error is an error of the pull, whatever the repeats. */
	if (!released && (R == 1 || isnan(reward)) && task_in(st, c, arm, reward) < 0)
		return -1;
	if (k <= 1)
		return 0;
	gfirst = first + (id - first) / k * k;
	if (!(g = pb__group_find(st, gfirst)) && !(g = pb__group_new(st, gfirst, k, c)))
		return -1;
	m = id - gfirst;
	g->arm[m] = arm;
	g->r[m] = reward;
	if (R == 1) {
		for (o = 0; o < k; o++) {
			if (o == m || g->arm[o] < 0 || isnan(g->r[o]) || isnan(reward) ||
			    g->arm[o] == arm)
				continue;
			if (pairs_in(st, c, arm, g->arm[o], reward, g->r[o], m, o) < 0)
				return -1;
		}
	} else {
		/* the task's reward once its R pulls are back, averaged: the
		 * unit is the task, so every variance is the between-task one */
		double mean = slot_mean(g, m / R, R, &done), om;
		int odone;
		if (done && !isnan(mean)) {
			if (task_in(st, c, arm, mean) < 0)
				return -1;
			for (o = 0; o < k / R; o++) {
				if (o == m / R || g->arm[o * R] == arm)
					continue;
				om = slot_mean(g, o, R, &odone);
				if (odone && !isnan(om) &&
				    pairs_in(st, c, arm, g->arm[o * R], mean, om,
				             m / R, o) < 0)
					return -1;
			}
		}
	}
	if (++g->nback == k)
		pb__group_close(st, g);
	return 0;
}

int
pb_state_apply(struct pb_state *st, long id, int arm, double reward,
               char err[PB_ERRLEN])
{
	return pb_state_apply_ctx(st, id, arm, reward, NULL, err);
}

static int settle(struct pb_state *, long, int, double, const char *, int,
                  char[PB_ERRLEN]);

int
pb_state_apply_ctx(struct pb_state *st, long id, int arm, double reward,
                   const char *ctx, char err[PB_ERRLEN])
{
	return settle(st, id, arm, reward, ctx, 0, err);
}

int
pb_state_release(struct pb_state *st, long id, int arm, const char *ctx,
                 char err[PB_ERRLEN])
{
	return settle(st, id, arm, NAN, ctx, 1, err);
}

/* Applies pull id (released: hands it back, no reward and no error). */
static int
settle(struct pb_state *st, long id, int arm, double reward, const char *ctx,
       int released, char err[PB_ERRLEN])
{
	struct pb_batch *b;
	size_t i, k;
	long out = 0;
	int c;

	if (id < 1 || id >= st->next_pull) {
		snprintf(err, PB_ERRLEN, "never handed out by this state");
		return -1;
	}
	if (!(b = pb__batch_find(st, id)))
		return 1;
	i = pb__batch_range(b, id);
	if (i < b->ndone && b->done[i][0] <= id && id <= b->done[i][1])
		return 1;
	if (b->arm[id - b->first] != arm) {
		snprintf(err, PB_ERRLEN, "handed out to arm '%s', not '%s'",
		         st->arms[b->arm[id - b->first]].id, st->arms[arm].id);
		return -1;
	}
	/* Everything that can refuse the pull comes before any change. */
	if ((c = pull_context(st, b->first, b->k, id, ctx, err)) < -1)
		return -1;
	if (pb__batch_mark(b, id) < 0 ||
	    pull_apply(st, b->first, b->k, id, arm, reward, c, released) < 0) {
		snprintf(err, PB_ERRLEN, "out of memory");
		return -1;
	}
	b->left[arm]--;
	if (!released) {
		st->updates++;
		pb_history_note(st);
	}
	/* the pulls still out: the batch's less those back (its done
	 * ranges, few), not a sum over every arm's left */
	out = b->n;
	for (k = 0; k < b->ndone; k++)
		out -= b->done[k][1] - b->done[k][0] + 1;
	if (out == 0) {
		pb_groups_drop(st, b->first, b->first + b->n - 1);
		pb__batch_drop(st, b);
	}
	return 0;
}

/* ------------------------------------------------------------- history */

/* A point of v (a state, or a context's view) into *hp: the numbers are
 * computed here and handed to the history. */
static int
history_point(struct pb_history **hp, const struct pb_state *v)
{
	double *p = malloc((v->narms ? v->narms : 1) * sizeof *p);
	int rv = -1;

	if (p && pb_policy_probs(v, p) == 0)
		rv = pb_history_point(hp, v->updates, v->arms, v->narms, p);
	free(p);
	return rv;
}

/* A point of each context whose count changed since its last one. */
static int
history_contexts(struct pb_state *st)
{
	size_t c;

	for (c = 0; c < st->nctx; c++) {
		struct pb_state v;
		struct pb_history *ch = pb_history_ctx_add(st->hist, st->ctx[c].name);
		if (!ch)
			return -1;
		pb_state_context_view(st, c, &v);
		if (v.updates == 0 || (ch->n && ch->updates[ch->n - 1] >= (double)v.updates))
			continue;
		if (history_point(&ch, &v) < 0)
			return -1;
	}
	return 0;
}

int
pb_history_take(struct pb_state *st)
{
	if (history_point(&st->hist, st) < 0)
		return -1;
	return st->nctx ? history_contexts(st) : 0;
}

void
pb_history_note(struct pb_state *st)
{
	if (pb_history_due(st->hist, st->updates, st->narms))
		(void)pb_history_take(st);
}

/* ------------------------------------------------------------ choosing */


static int
any_retired(const struct pb_state *st)
{
	size_t i;

	for (i = 0; i < st->narms; i++)
		if (st->arms[i].retired)
			return 1;
	return 0;
}


int
pb_state_choose(struct pb_state *st, int ctx, size_t k,
                const unsigned char *allow, int *out)
{
	struct pb_state base, view;
	struct pb_arm *arms;
	unsigned char *taken;
	int *map, rv = -1;
	size_t i, n, got = 0;

	if (ctx >= 0)
		pb_state_view(st, (size_t)ctx, &base);
	else
		base = *st;
	if (ctx < 0 && k == 1 && !allow && !any_retired(st))
		return *out = pb_policy_select(st), 1; /* the common case */
	arms = malloc((st->narms ? st->narms : 1) * sizeof *arms);
	map = malloc((st->narms ? st->narms : 1) * sizeof *map);
	taken = calloc(st->narms ? st->narms : 1, 1);
	if (!arms || !map || !taken)
		goto out;
	for (i = 0; allow && i < st->narms; i++)
		taken[i] = !allow[i];
	/* Selection may allocate an arm's policy numbers: do it here, where
	 * the arms are the real ones and not the view's copies. */
	if (pb_policy_prepare(&base) < 0)
		goto out;
	n = pb__active_view(&base, taken, &view, arms, map);
	if (k == 0 || k > n)
		k = n;
	view.rng = st->rng;
	got = pb_policy_group(&view, k, out);
	st->rng = view.rng; /* a group drawn at random (race -k m) */
	if (got != (size_t)-1) {
		/* the policy's own group, in the view's numbers */
		for (i = 0; i < got; i++)
			out[i] = map[out[i]];
	} else {
		got = 0;
		while (got < k) {
			int v;
			if (pb__active_view(&base, taken, &view, arms, map) == 0)
				break;
			view.rng = st->rng;
			v = pb_policy_select(&view);
			st->rng = view.rng;
			out[got++] = map[v];
			taken[map[v]] = 1;
		}
	}
	/* A context's pending pulls are counted here, for the tasks that
	 * follow in this run; the state's own, by pb_state_hand_out. */
	for (i = 0; ctx >= 0 && i < got; i++)
		base.arms[out[i]].pending++;
	rv = (int)got;
out:
	free(arms);
	free(map);
	free(taken);
	return rv;
}
