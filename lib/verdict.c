/* verdict.c - whether a run is done, and which arm is best as far as the
 * state can tell: the policy's stop (pb_state_done), the arms still in
 * contention and a pool used up (pb_state_exhausted), and the verdict
 * pb-report gives (pb_bandit_verdict), each judged on the arms still in
 * the pool: retired arms are never pulled again, so they neither block a
 * verdict nor win one. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bandit.h"
#include "internal.h"

int
pb_state_done(const struct pb_state *st, int ctx, char why[PB_ERRLEN],
              int *best)
{
	struct pb_state base, view;
	struct pb_arm *arms = malloc((st->narms ? st->narms : 1) * sizeof *arms);
	int *map = malloc((st->narms ? st->narms : 1) * sizeof *map), b = -1, done;

	if (!arms || !map) {
		free(arms);
		free(map);
		snprintf(why, PB_ERRLEN, "out of memory");
		return 0;
	}
	if (ctx >= 0)
		pb_state_view(st, (size_t)ctx, &base);
	else
		base = *st;
	if (pb__active_view(&base, NULL, &view, arms, map) == 0) {
		snprintf(why, PB_ERRLEN, "every arm is retired");
		done = 1;
	} else {
		done = pb_policy_done(&view, why, &b);
		b = b >= 0 ? map[b] : -1;
	}
	if (best)
		*best = b;
	free(arms);
	free(map);
	return done;
}

/* --------------------------------------------------------- contention */

int
pb_state_contention(const struct pb_state *st, int ctx, unsigned char *in)
{
	struct pb_state base, view;
	struct pb_arm *arms = malloc((st->narms ? st->narms : 1) * sizeof *arms);
	int *map = malloc((st->narms ? st->narms : 1) * sizeof *map);
	unsigned char *open = calloc(st->narms ? st->narms : 1, 1);
	size_t i, n;
	int rv = -1;

	if (!arms || !map || !open)
		goto out;
	if (ctx >= 0)
		pb_state_view(st, (size_t)ctx, &base);
	else
		base = *st;
	n = pb_state_active(&base, &view, arms, map);
	memset(in, 0, st->narms);
	/* the full state's delta, not a context's share of it */
	if (pb_policy_contention(&view, st->pol.delta, open) < 0)
		goto out;
	for (i = 0; i < n; i++)
		in[map[i]] = open[i];
	rv = 0;
out:
	free(arms);
	free(map);
	free(open);
	return rv;
}

int
pb_state_exhausted(const struct pb_state *st, int ctx, char why[PB_ERRLEN])
{
	size_t n = pb_state_pool_size(st, ctx), a, len;
	unsigned char *in = malloc(st->narms ? st->narms : 1);
	int open = 0;

	if (!in || n == 0 || pb_state_contention(st, ctx, in) < 0) {
		free(in);
		return 0;
	}
	for (a = 0; a < st->narms; a++)
		if (in[a] && pb_state_cursor(st, ctx, (int)a) < (long)n) {
			free(in);
			return 0;
		}
	for (a = 0; a < st->narms; a++)
		open += in[a];
	snprintf(why, PB_ERRLEN, "pool exhausted after %zu task%s: ", n, n == 1 ? "" : "s");
	if (open == 1) {
		for (a = 0; !in[a]; a++)
			;
		len = strlen(why);
		snprintf(why + len, PB_ERRLEN - len, "arm %s is left, with every "
		         "other arm separated from it", st->arms[a].id);
	} else {
		int first = 1;
		strncat(why, "not separated:", PB_ERRLEN - strlen(why) - 1);
		for (a = 0; a < st->narms; a++)
			if (in[a]) {
				len = strlen(why);
				snprintf(why + len, PB_ERRLEN - len, "%s %s", first ? "" : ",",
				         st->arms[a].id);
				first = 0;
			}
	}
	free(in);
	return 1;
}

/* -------------------------------------------------------------- verdict */

/* The totals of a state with contexts: each context allocates and stops
 * on its own, so the totals mix arms pulled on different contexts
 * (Simpson): no verdict there, and a population-weighted estimate per
 * arm instead.  -1 out of memory. */
static int
weigh_contexts(const struct pb_state *st, struct pb_verdict *v)
{
	size_t c, a;

	v->totals = 1;
	v->done = 0;
	v->nctx = st->nctx;
	if (!(v->weighted = calloc(st->narms ? st->narms : 1, sizeof *v->weighted)))
		return -1;
	for (a = 0; a < st->narms; a++) {
		double wsum = 0;
		for (c = 0; c < st->nctx; c++) {
			const struct pb_arm *ca = &st->ctx[c].arms[a];
			double share = v->pool ? (double)st->ctx[c].tasks.n /
			               (double)v->pool : 0;
			if (!ca->st.n) {
				if (share > 0)
					wsum = NAN; /* unknown in a context with tasks */
				continue;
			}
			wsum += share * pb_stats_mean(&ca->st);
		}
		v->weighted[a] = wsum;
	}
	return 0;
}

/* Not done, and no new evidence can come: say so, with the pulls still
 * out. */
static void
exhausted(const struct pb_state *st, struct pb_verdict *v)
{
	long out = 0;
	size_t b, a, len;

	if (v->done || !pb_state_exhausted(st, -1, v->why))
		return;
	v->exhausted = 1;
	for (b = 0; b < st->nbatch; b++)
		for (a = 0; a < st->narms; a++)
			out += st->batch[b].left[a];
	len = strlen(v->why);
	if (out)
		snprintf(v->why + len, PB_ERRLEN - len, "; %ld pull%s still out",
		         out, out == 1 ? " is" : "s are");
}

int
pb_bandit_verdict(const struct pb_state *st, double level, double eps,
                  struct pb_verdict *v)
{
	const struct pb_policy_ops *o = pb__policy_ops(st->pol.kind);
	size_t na = st->narms ? st->narms : 1, i, n;
	struct pb_arm *arms = calloc(na, sizeof *arms);
	int *map = calloc(na, sizeof *map), best = -1, rv = -1;
	unsigned char *open = calloc(na, 1), *good = NULL;
	struct pb_state view;

	memset(v, 0, sizeof *v);
	v->eps = eps;
	v->best = -1;
	if (!arms || !map || !open || !(v->open = calloc(na, 1)) ||
	    (!isnan(eps) && (!(good = calloc(na, 1)) || !(v->good = calloc(na, 1)))))
		goto out;
	n = pb_state_active(st, &view, arms, map);
	v->delta = o->flags & PB_POLICY_DELTA ? st->pol.delta : 1 - level;
	v->conf = o->flags & PB_POLICY_BUDGET ? NAN : 1 - v->delta;
	v->rule = pb__policy_rule(&st->pol);
	v->done = o->verdict ? o->verdict(&view, v->delta, &best, open, v->why) :
	          pb_glr_stop(&view, v->delta, &best, open);
	if (good)
		pb_eps_good(&view, v->delta, eps, good);
	v->best = best >= 0 ? map[best] : -1;
	v->pool = pb_state_pool_size(st, -1);
	if (st->ctx_field && weigh_contexts(st, v) < 0)
		goto out;
	exhausted(st, v);
	for (i = 0; i < n; i++) {
		v->open[map[i]] = open[i];
		if (good)
			v->good[map[i]] = good[i];
	}
	rv = 0;
out:
	free(arms);
	free(map);
	free(open);
	free(good);
	if (rv < 0)
		pb_verdict_free(v);
	return rv;
}

void
pb_verdict_free(struct pb_verdict *v)
{
	free(v->open);
	free(v->good);
	free(v->weighted);
	v->open = v->good = NULL;
	v->weighted = NULL;
}
