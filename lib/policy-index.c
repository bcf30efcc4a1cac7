/* policy-index.c - the index policies: uniform (round robin),
 * epsilon-greedy, UCB1, UCB-V and KL-UCB.  Each scores every arm and
 * takes the best, pending pulls counted as observed at the arm's mean. */
#include <math.h>
#include <stdio.h>

#include "bandit.h"
#include "internal.h"

/* A policy's score of arm i: larger is better.  total is the pulls of
 * every arm, counted as the arm's own with or without the pending ones. */
typedef double score_fn(const struct pb_state *st, int i, double total,
                        int with_pending);

/* Round robin: the arm handed out least so far, errors included, so a
 * failing endpoint does not skew it. */
static double
uniform_score(const struct pb_state *st, int i, double total, int with_pending)
{
	(void)total;
	(void)with_pending;
	return -(double)pb__handed(&st->arms[i]);
}

static double
epsilon_score(const struct pb_state *st, int i, double total, int with_pending)
{
	const struct pb_arm *a = &st->arms[i];

	(void)total;
	(void)with_pending;
	return pb__eff_n(a) == 0 ? INFINITY : pb__mean_or(a, 1);
}

/* The arm's pulls (n), mean and log of the total, for the UCBs; n == 0
 * when it has none. */
static double
ucb_parts(const struct pb_state *st, int i, double total, int with_pending,
          double *mean, double *lt)
{
	const struct pb_arm *a = &st->arms[i];

	*mean = pb__mean_or(a, 1);
	*lt = log(total > 1 ? total : 1);
	return (double)a->st.n + (with_pending ? (double)a->pending : 0);
}

static double
ucb1_score(const struct pb_state *st, int i, double total, int with_pending)
{
	double mean, lt, n = ucb_parts(st, i, total, with_pending, &mean, &lt);

	return n == 0 ? INFINITY : mean + sqrt(st->pol.c * lt / n);
}

/* Audibert, Munos and Szepesvari: the variance term shrinks the bonus of
 * steady arms; rewards lie in [0,1]. */
static double
ucbv_score(const struct pb_state *st, int i, double total, int with_pending)
{
	const struct pb_arm *a = &st->arms[i];
	double mean, lt, n = ucb_parts(st, i, total, with_pending, &mean, &lt), v;

	if (n == 0)
		return INFINITY;
	v = a->st.n ? a->st.sumsq / (double)a->st.n - mean * mean : 0.25;
	v = v > 0 ? v : 0;
	return mean + sqrt(2 * v * st->pol.c * lt / n) + 3 * st->pol.c * lt / n;
}

static double
klucb_score(const struct pb_state *st, int i, double total, int with_pending)
{
	double mean, lt, n = ucb_parts(st, i, total, with_pending, &mean, &lt);

	if (n == 0)
		return INFINITY;
	return pb_kl_bound(mean, (lt + (lt > 1 ? st->pol.c * log(lt) : 0)) / n, 1);
}

/* Every arm's score, pending pulls counted, into score. */
static void
index_scores(const struct pb_state *st, score_fn *f, double *score)
{
	double total = pb__total_n(st, 1);
	size_t i;

	for (i = 0; i < st->narms; i++)
		score[i] = f(st, (int)i, total, 1);
}

/* Equal shares of the best score's ties. */
static void
index_probs(const struct pb_state *st, score_fn *f, double *p, double *work)
{
	size_t i, nties;
	int pick;

	index_scores(st, f, work);
	pick = pb__argmax(st, work, NULL, &nties);
	for (i = 0; i < st->narms; i++)
		if (work[i] == work[pick])
			p[i] = 1.0 / (double)nties;
}

/* ----------------------------------------------------------- uniform */

static int
uniform_choose(const struct pb_state *st, struct pb_rng *r, double *work)
{
	(void)r;
	index_scores(st, uniform_score, work);
	return pb__argmax(st, work, NULL, NULL); /* first in file order */
}

static void
uniform_probs(const struct pb_state *st, double *p, double *work)
{
	pb__probs_fixed(st, p, work, uniform_choose);
}

const struct pb_policy_ops pb_policy_uniform = {
	.name = "uniform",
	.choose = uniform_choose,
	.probs = uniform_probs,
};

/* ---------------------------------------------------- epsilon-greedy */

static int
epsilon_choose(const struct pb_state *st, struct pb_rng *r, double *work)
{
	if (pb_rng_uniform(r) < st->pol.epsilon)
		return (int)pb_rng_below(r, st->narms);
	index_scores(st, epsilon_score, work);
	return pb__argmax(st, work, r, NULL);
}

/* The greedy arm's share, and epsilon spread over every arm. */
static void
epsilon_probs(const struct pb_state *st, double *p, double *work)
{
	size_t i;

	index_probs(st, epsilon_score, p, work);
	for (i = 0; i < st->narms; i++)
		p[i] = st->pol.epsilon / (double)st->narms +
		       (1 - st->pol.epsilon) * p[i];
}

/* The message is as it always was. */
static int
epsilon_check(const struct pb_policy *p, char err[PB_ERRLEN])
{
	if (!(p->epsilon >= 0 && p->epsilon <= 1)) {
		snprintf(err, PB_ERRLEN, "epsilon-greedy: epsilon=%g is not in [0,1]",
		         p->epsilon);
		return -1;
	}
	return 0;
}

const struct pb_policy_ops pb_policy_epsilon = {
	.name = "epsilon-greedy",
	.check = epsilon_check,
	.choose = epsilon_choose,
	.probs = epsilon_probs,
};

/* -------------------------------------------------------------- UCBs */

/* The best score, ties at random; the index without pending pulls. */
#define UCB_OPS(fn)                                                         \
static int                                                                  \
fn##_choose(const struct pb_state *st, struct pb_rng *r, double *work)      \
{                                                                           \
	index_scores(st, fn##_score, work);                                 \
	return pb__argmax(st, work, r, NULL);                               \
}                                                                           \
static void                                                                 \
fn##_probs(const struct pb_state *st, double *p, double *work)              \
{                                                                           \
	index_probs(st, fn##_score, p, work);                               \
}                                                                           \
static double                                                               \
fn##_index(const struct pb_state *st, int i)                                \
{                                                                           \
	return fn##_score(st, i, pb__total_n(st, 0), 0);                    \
}
UCB_OPS(ucb1)
UCB_OPS(ucbv)
UCB_OPS(klucb)

/* The message is as it always was. */
static int
ucb1_check(const struct pb_policy *p, char err[PB_ERRLEN])
{
	if (!(p->c >= 0 && isfinite(p->c))) {
		snprintf(err, PB_ERRLEN, "ucb1: c=%g is not a number >= 0", p->c);
		return -1;
	}
	return 0;
}

const struct pb_policy_ops pb_policy_ucb1 = {
	.name = "ucb1",
	.check = ucb1_check,
	.choose = ucb1_choose,
	.probs = ucb1_probs,
	.index = ucb1_index,
};

const struct pb_policy_ops pb_policy_ucbv = {
	.name = "ucb-v",
	.choose = ucbv_choose,
	.probs = ucbv_probs,
	.index = ucbv_index,
};

const struct pb_policy_ops pb_policy_klucb = {
	.name = "kl-ucb",
	.choose = klucb_choose,
	.probs = klucb_probs,
	.index = klucb_index,
};
