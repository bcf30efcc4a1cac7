/* policy-random.c - the randomised regret policies: Thompson sampling
 * (Beta, or Gaussian for rewards that are not 0/1), and softmax and EXP3,
 * which draw from an explicit distribution over the arms. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "bandit.h"
#include "internal.h"

/* ---------------------------------------------------------- thompson */

static int
thompson_choose(const struct pb_state *st, struct pb_rng *r, double *work)
{
	pb__posterior_draw(st, r, work);
	return pb__argmax(st, work, r, NULL);
}

static void
thompson_probs(const struct pb_state *st, double *p, double *work)
{
	pb__probs_mc(st, p, work, thompson_choose);
}

static int
thompson_check(const struct pb_policy *p, char err[PB_ERRLEN])
{
	return pb__prior_check(p, "thompson", err);
}

const struct pb_policy_ops pb_policy_thompson = {
	.name = "thompson",
	.check = thompson_check,
	.choose = thompson_choose,
	.probs = thompson_probs,
	.index = pb__posterior_mean,
};

/* ------------------------------------------------------ softmax, exp3 */

/* Turns the log weights in p into probabilities. */
static void
normalise(const struct pb_state *st, double *p)
{
	double mx = -INFINITY, sum = 0;
	size_t i;

	for (i = 0; i < st->narms; i++)
		if (p[i] > mx)
			mx = p[i];
	for (i = 0; i < st->narms; i++)
		sum += p[i] = exp(p[i] - mx);
	for (i = 0; i < st->narms; i++)
		p[i] /= sum;
}

static int
draw_from(const struct pb_state *st, const double *p, struct pb_rng *r)
{
	double u = pb_rng_uniform(r);
	size_t i;

	for (i = 0; i + 1 < st->narms; i++) {
		if (u < p[i])
			return (int)i;
		u -= p[i];
	}
	return (int)st->narms - 1;
}

/* Softmax over the means at temperature tau; untried arms first, in
 * turn at random. */
static void
softmax_probs(const struct pb_state *st, double *p, double *work)
{
	size_t i, fresh = 0;

	(void)work;
	for (i = 0; i < st->narms; i++)
		fresh += pb__eff_n(&st->arms[i]) == 0;
	if (fresh) {
		for (i = 0; i < st->narms; i++)
			p[i] = pb__eff_n(&st->arms[i]) == 0 ? 1.0 / (double)fresh : 0;
		return;
	}
	for (i = 0; i < st->narms; i++)
		p[i] = pb__mean_or(&st->arms[i], 0) / st->pol.tau;
	normalise(st, p);
}

static int
softmax_choose(const struct pb_state *st, struct pb_rng *r, double *work)
{
	softmax_probs(st, work, NULL);
	return draw_from(st, work, r);
}

const struct pb_policy_ops pb_policy_softmax = {
	.name = "softmax",
	.choose = softmax_choose,
	.probs = softmax_probs,
};

/* EXP3: w_i = exp(gamma S_i / K), S_i (pstate[0]) the sum of the arm's
 * importance-weighted rewards, mixed with gamma of uniform. */
static void
exp3_probs(const struct pb_state *st, double *p, double *work)
{
	double k = (double)st->narms;
	size_t i;

	(void)work;
	for (i = 0; i < st->narms; i++)
		p[i] = st->pol.gamma * pb__pstate(&st->arms[i], 0) / k;
	normalise(st, p);
	for (i = 0; i < st->narms; i++)
		p[i] = (1 - st->pol.gamma) * p[i] + st->pol.gamma / k;
}

static int
exp3_choose(const struct pb_state *st, struct pb_rng *r, double *work)
{
	exp3_probs(st, work, NULL);
	return draw_from(st, work, r);
}

static double
exp3_index(const struct pb_state *st, int i)
{
	return pb__pstate(&st->arms[i], 0);
}

static int
exp3_update(struct pb_state *st, int i, double reward)
{
	double *p;
	double w;

	if (isnan(reward))
		return 0;
	/* EXP3's importance weight is 1 / (the arm's probability now): with
	 * pulls in flight the probability it was chosen with is gone, and
	 * the present one is the nearest known. */
	if (!(p = malloc(st->narms * sizeof *p)))
		return -1;
	exp3_probs(st, p, NULL);
	w = p[i];
	free(p);
	if (isnan(w) || pb__pstate_make(&st->arms[i], 1, 0) < 0)
		return -1;
	st->arms[i].pstate[0] += reward / w;
	return 0;
}

const struct pb_policy_ops pb_policy_exp3 = {
	.name = "exp3",
	.nstate = 1, /* the sum of importance-weighted rewards */
	.start = 0,
	.choose = exp3_choose,
	.probs = exp3_probs,
	.index = exp3_index,
	.update = exp3_update,
};
