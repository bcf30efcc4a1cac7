/* policy-common.c - what several policies share: the arm with the best
 * score, totals, the policy's own per-arm numbers (pb_arm.pstate), a
 * posterior draw of every arm's mean, and the selection probabilities of
 * a randomised or a deterministic choice.  The policies themselves are
 * policy-index.c, policy-random.c, policy-budget.c and policy-bai.c;
 * policy.c holds their table. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "bandit.h"
#include "internal.h"

/* Monte Carlo draws behind the selection probability of randomised
 * policies, and the fixed seed they use, so a report is the same every
 * time. */
#define PROB_DRAWS 2000
#define PROB_SEED 0x5eedULL

int
pb__argmax(const struct pb_state *st, const double *score, struct pb_rng *r,
           size_t *nties)
{
	size_t i, nbest = 0;
	double best = -INFINITY;
	int pick = 0;

	for (i = 0; i < st->narms; i++) {
		if (score[i] > best) {
			best = score[i];
			nbest = 1;
			pick = (int)i;
		} else if (score[i] == best) {
			nbest++;
			if (r && pb_rng_below(r, nbest) == 0)
				pick = (int)i;
		}
	}
	if (nties)
		*nties = nbest;
	return pick;
}

double
pb__total_n(const struct pb_state *st, int with_pending)
{
	double t = 0;
	size_t i;

	for (i = 0; i < st->narms; i++)
		t += (double)st->arms[i].st.n + (with_pending ? (double)st->arms[i].pending : 0);
	return t;
}

double
pb__pstate(const struct pb_arm *a, double start)
{
	return a->pstate ? a->pstate[0] : start;
}

int
pb__pstate_make(struct pb_arm *a, int n, double start)
{
	int k;

	if (!a->pstate) {
		if (!(a->pstate = malloc((size_t)n * sizeof (double))))
			return -1;
		for (k = 0; k < n; k++)
			a->pstate[k] = k ? 0 : start;
	}
	return 0;
}

int
pb__untried(const struct pb_state *st)
{
	size_t i;

	for (i = 0; i < st->narms; i++)
		if (pb__eff_n(&st->arms[i]) == 0)
			return (int)i;
	return -1;
}

/* A standard normal by the polar method, keeping the second of each
 * pair in *spare (NAN: none): the draws of many arms at once are the
 * bulk of top-two's work. */
static double
normal2(struct pb_rng *r, double *spare)
{
	double u, v, q, f;

	if (!isnan(*spare)) {
		u = *spare;
		*spare = NAN;
		return u;
	}
	do {
		u = 2 * pb_rng_uniform(r) - 1;
		v = 2 * pb_rng_uniform(r) - 1;
		q = u * u + v * v;
	} while (q >= 1 || q == 0);
	f = sqrt(-2 * log(q) / q);
	*spare = v * f;
	return u * f;
}

/* A posterior draw of every arm's mean: Beta(a + s, b + f), pending
 * pulls adding their share at the arm's mean (or the prior mean); or,
 * once any reward is not 0/1, a Gaussian N(m, v / (n + 1)) with v the
 * rewards' variance shrunk towards 1/4 by one pseudo-observation. */
void
pb__posterior_draw(const struct pb_state *st, struct pb_rng *r, double *theta)
{
	const struct pb_policy *p = &st->pol;
	double spare = NAN;
	int gauss = 0;
	size_t i;

	for (i = 0; i < st->narms; i++)
		gauss |= st->arms[i].st.nonbinary > 0;
	for (i = 0; i < st->narms; i++) {
		const struct pb_arm *a = &st->arms[i];
		if (gauss) {
			double n = (double)a->st.n, m = pb__mean_or(a, 0.5);
			double ss = a->st.n ? a->st.sumsq - n * m * m : 0;
			double v = ((ss > 0 ? ss : 0) + 0.25) / (n + 1);
			theta[i] = m + sqrt(v / (pb__eff_n(a) + 1)) * normal2(r, &spare);
		} else {
			double m = pb__mean_or(a, p->a0 / (p->a0 + p->b0));
			double s = a->st.sum + m * (double)a->pending;
			double f = pb__eff_n(a) - s, x = p->a0 + s, y = p->b0 + (f > 0 ? f : 0);
			/* With 100 or more on each side a Beta is a Gaussian to
			 * within its sampling noise, at a fifth of the cost. */
			if (x >= 100 && y >= 100)
				theta[i] = x / (x + y) + sqrt(x * y / (x + y + 1)) /
				           (x + y) * normal2(r, &spare);
			else
				theta[i] = pb_rng_beta(r, x, y);
		}
	}
}

void
pb__probs_mc(const struct pb_state *st, double *p, double *work,
             pb__choose_fn *choose)
{
	struct pb_rng r;
	int k;

	pb_rng_seed(&r, PROB_SEED);
	for (k = 0; k < PROB_DRAWS; k++)
		p[choose(st, &r, work)] += 1.0 / PROB_DRAWS;
}

void
pb__probs_fixed(const struct pb_state *st, double *p, double *work,
                pb__choose_fn *choose)
{
	p[choose(st, NULL, work)] = 1;
}

/* The Beta posterior mean: Thompson's and top-two's index. */
double
pb__posterior_mean(const struct pb_state *st, int i)
{
	const struct pb_arm *a = &st->arms[i];

	return (st->pol.a0 + a->st.sum) / (st->pol.a0 + st->pol.b0 + (double)a->st.n);
}

/* The check of the Beta prior (Thompson, top-two): the message is as it
 * always was. */
int
pb__prior_check(const struct pb_policy *p, const char *name, char err[PB_ERRLEN])
{
	if (!(p->a0 > 0 && p->b0 > 0 && isfinite(p->a0) && isfinite(p->b0))) {
		snprintf(err, PB_ERRLEN, "%s: a=%g and b=%g must be > 0", name,
		         p->a0, p->b0);
		return -1;
	}
	return 0;
}
