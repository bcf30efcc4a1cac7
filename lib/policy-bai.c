/* policy-bai.c - the fixed-confidence policies, which stop when the best
 * arm is known at 1 - delta: LUCB, stopped by the box rule
 * (pb_box_stop), and top-two Thompson sampling, stopped by the GLR rule
 * (pb_glr_stop; both in bai.c). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "bandit.h"
#include "internal.h"

/* Top-two: redraws of the posterior to find a challenger, before the
 * T3C challenger (least evidence against it) is taken instead. */
#define TOPTWO_REDRAWS 2

/* A stop at confidence 1 - delta, in words. */
static void
say_best(const struct pb_state *st, int b, char why[PB_ERRLEN])
{
	snprintf(why, PB_ERRLEN, "arm %s is best with confidence 1-delta = %g "
	         "after %ld pulls", st->arms[b].id, 1 - st->pol.delta,
	         (long)pb__total_n(st, 0));
}

/* In contention: the leader and the arms not yet separated from it
 * (every arm while there is no leader), by the policy's stopping rule at
 * delta.  -1 out of memory. */
static int
contention(const struct pb_state *st, double delta, unsigned char *in,
           int (*rule)(const struct pb_state *, double, int *, unsigned char *))
{
	unsigned char *open = calloc(st->narms ? st->narms : 1, 1);
	int best = -1;
	size_t i;

	if (!open)
		return -1;
	rule(st, delta, &best, open);
	for (i = 0; i < st->narms; i++)
		in[i] = best < 0 || open[i] || (int)i == best;
	free(open);
	return 0;
}

/* -------------------------------------------------------------- lucb */

/* The upper end of an arm's anytime interval at level d, pending pulls
 * counted at its mean (pb_mix_bounds). */
static double
upper(const struct pb_arm *a, double d)
{
	double n = pb__eff_n(a), m = pb__mean_or(a, 0.5), s = m * n;

	/* LUCB keeps the last bound of each arm: it only changes with the
	 * arm's own pulls, and computing all K of them for every pull would
	 * dominate a long run. */
	if (a->pstate && a->pstate[0] == n && a->pstate[1] == s)
		return a->pstate[2];
	return pb_kl_bound(m, (log(1 / d) - pb_mix_log(s, n, m)) / n, 1);
}

/* Refreshes the cached upper bounds that are stale. */
static void
lucb_before(struct pb_state *st)
{
	double d = st->pol.delta / (double)st->narms;
	size_t i;

	for (i = 0; i < st->narms; i++) {
		struct pb_arm *a = &st->arms[i];
		double n = pb__eff_n(a), s = pb__mean_or(a, 0.5) * n;
		if (n == 0 || (a->pstate && a->pstate[0] == n && a->pstate[1] == s))
			continue;
		if (pb__pstate_make(a, 3, -1) < 0) /* -1: nothing cached yet */
			return;
		a->pstate[2] = upper(a, d);
		a->pstate[0] = n;
		a->pstate[1] = s;
	}
}

/* LUCB (Kalyanakrishnan et al. 2012, with KL bounds as in Kaufmann and
 * Kalyanakrishnan 2013): the empirical leader, or the challenger with
 * the highest upper bound, whichever has fewer pulls.  The bounds are
 * the anytime intervals at delta / K, pending pulls counted at the
 * mean. */
static int
lucb_choose(const struct pb_state *st, struct pb_rng *r, double *work)
{
	double d = st->pol.delta / (double)st->narms, best = -1, u1;
	int lead = pb_glr_leader(st), ch = -1, u = pb__untried(st);
	size_t i;

	(void)r;
	(void)work;
	if (u >= 0 || lead < 0)
		return u >= 0 ? u : 0;
	for (i = 0; i < st->narms; i++)
		if ((int)i != lead && (u1 = upper(&st->arms[i], d)) > best) {
			best = u1;
			ch = (int)i;
		}
	if (ch < 0)
		return lead;
	return pb__eff_n(&st->arms[ch]) < pb__eff_n(&st->arms[lead]) ? ch : lead;
}

static void
lucb_probs(const struct pb_state *st, double *p, double *work)
{
	pb__probs_fixed(st, p, work, lucb_choose);
}

/* The upper bound LUCB compares. */
static double
lucb_index(const struct pb_state *st, int i)
{
	const struct pb_arm *a = &st->arms[i];
	double lo, hi;

	if (!a->st.n)
		return NAN;
	pb_mix_bounds(a->st.sum, (double)a->st.n, st->pol.delta / (double)st->narms,
	              &lo, &hi);
	return hi;
}

static int
lucb_done(const struct pb_state *st, char why[PB_ERRLEN], int *best)
{
	int done;

	*best = pb_glr_leader(st);
	if ((done = pb_box_stop(st, st->pol.delta, best, NULL)))
		say_best(st, *best, why);
	return done;
}

static int
lucb_contention(const struct pb_state *st, double delta, unsigned char *in)
{
	return contention(st, delta, in, pb_box_stop);
}

static int
lucb_verdict(const struct pb_state *st, double delta, int *best,
             unsigned char *open, char why[PB_ERRLEN])
{
	(void)why;
	return pb_box_stop(st, delta, best, open);
}

const struct pb_policy_ops pb_policy_lucb = {
	.name = "lucb",
	.nstate = 3, /* pulls, sum and upper bound when last computed */
	.start = -1,
	.flags = PB_POLICY_DELTA,
	.rule = "box",
	.before = lucb_before,
	.choose = lucb_choose,
	.probs = lucb_probs,
	.index = lucb_index,
	.done = lucb_done,
	.contention = lucb_contention,
	.verdict = lucb_verdict,
};

/* ----------------------------------------------------------- top-two */

/* T3C's transportation cost: n_a kl(m_a, m) + n_b kl(m_b, m) at the
 * pooled mean m when a leads b, else 0. */
static double
transport(const struct pb_arm *a, const struct pb_arm *b)
{
	double na = pb__eff_n(a), nb = pb__eff_n(b), ma = pb__mean_or(a, 0.5),
	       mb = pb__mean_or(b, 0.5), m = (na * ma + nb * mb) / (na + nb);

	return ma <= mb ? 0 : na * pb_kl_bern(ma, m) + nb * pb_kl_bern(mb, m);
}

/* Top-two Thompson sampling (Russo 2016) with probability beta for the
 * leader of a posterior draw; the challenger is the leader of a fresh
 * draw that disagrees, or, after TOPTWO_REDRAWS draws that agree, the
 * arm with the least GLR evidence against it (T3C, Shang et al. 2020). */
static int
toptwo_choose(const struct pb_state *st, struct pb_rng *r, double *theta)
{
	int lead, ch = -1, k, u = pb__untried(st);
	double zmin = INFINITY, z;
	size_t i;

	if (u >= 0)
		return u;
	pb__posterior_draw(st, r, theta);
	lead = pb__argmax(st, theta, r, NULL);
	if (st->narms == 1 || pb_rng_uniform(r) < st->pol.beta)
		return lead;
	for (k = 0; k < TOPTWO_REDRAWS; k++) {
		pb__posterior_draw(st, r, theta);
		if ((ch = pb__argmax(st, theta, r, NULL)) != lead)
			return ch;
	}
	for (i = 0; i < st->narms; i++) {
		const struct pb_arm *a = &st->arms[lead], *b = &st->arms[i];
		double na = pb__eff_n(a), nb = pb__eff_n(b),
		       gap = pb__mean_or(a, 0.5) - pb__mean_or(b, 0.5);
		if ((int)i == lead)
			continue;
		/* Pinsker's 2 (na nb / (na + nb)) gap^2 <= the cost spares the
		 * logarithms of the arms that cannot be the least. */
		if (gap > 0 && 2 * na * nb / (na + nb) * gap * gap >= zmin)
			continue;
		z = transport(a, b);
		if (z < zmin) {
			zmin = z;
			ch = (int)i;
		}
	}
	return ch;
}

static void
toptwo_probs(const struct pb_state *st, double *p, double *work)
{
	pb__probs_mc(st, p, work, toptwo_choose);
}

static int
toptwo_done(const struct pb_state *st, char why[PB_ERRLEN], int *best)
{
	int done;

	*best = pb_glr_leader(st);
	if ((done = pb_glr_stop(st, st->pol.delta, best, NULL)))
		say_best(st, *best, why);
	return done;
}

static int
toptwo_contention(const struct pb_state *st, double delta, unsigned char *in)
{
	return contention(st, delta, in, pb_glr_stop);
}

static int
toptwo_check(const struct pb_policy *p, char err[PB_ERRLEN])
{
	return pb__prior_check(p, "top-two", err);
}

const struct pb_policy_ops pb_policy_toptwo = {
	.name = "top-two",
	.flags = PB_POLICY_DELTA,
	.check = toptwo_check,
	.choose = toptwo_choose,
	.probs = toptwo_probs,
	.index = pb__posterior_mean,
	.done = toptwo_done,
	.contention = toptwo_contention,
};
