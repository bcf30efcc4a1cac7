/* policy-budget.c - the policies that knock arms out of a race, their
 * one per-arm number (pstate[0]) 1 while the arm is in it, else 0: the
 * fixed budgets, successive halving and successive rejects, which stop
 * when `budget` pulls were handed out; and race, which sends each task to
 * every surviving arm and knocks an arm out on the paired evidence
 * against it (race_check), stopping when one is left. */
#include <math.h>
#include <stdio.h>

#include "bandit.h"
#include "internal.h"

static int
in_race(const struct pb_state *st, size_t i)
{
	return pb__pstate(&st->arms[i], 1) != 0;
}

static int
knock_out(struct pb_state *st, size_t i)
{
	if (pb__pstate_make(&st->arms[i], 1, 1) < 0)
		return -1;
	st->arms[i].pstate[0] = 0;
	return 0;
}

static size_t
nalive(const struct pb_state *st)
{
	size_t i, n = 0;

	for (i = 0; i < st->narms; i++)
		n += in_race(st, i) && !st->arms[i].retired;
	return n;
}

/* The surviving arm handed out least, first in the file on ties. */
static int
budget_choose(const struct pb_state *st, struct pb_rng *r, double *work)
{
	int pick = -1;
	size_t i;

	(void)r;
	(void)work;
	for (i = 0; i < st->narms; i++)
		if (in_race(st, i) &&
		    (pick < 0 || pb__handed(&st->arms[i]) < pb__handed(&st->arms[pick])))
			pick = (int)i;
	return pick < 0 ? 0 : pick;
}

/* Deterministic (the round may end at the next select, which this does
 * not anticipate). */
static void
budget_probs(const struct pb_state *st, double *p, double *work)
{
	pb__probs_fixed(st, p, work, budget_choose);
}

/* The surviving arm with the best mean. */
static int
budget_best(const struct pb_state *st)
{
	int best = -1;
	size_t i;

	for (i = 0; i < st->narms; i++)
		if (in_race(st, i) && st->arms[i].st.n > 0 && (best < 0 ||
		    pb_stats_mean(&st->arms[i].st) > pb_stats_mean(&st->arms[best].st)))
			best = (int)i;
	return best;
}

/* The mean of an arm in the race; NAN out of it or without rewards. */
static double
race_index(const struct pb_state *st, int i)
{
	const struct pb_arm *a = &st->arms[i];

	if (!in_race(st, (size_t)i))
		return NAN; /* out of the race */
	return a->st.n ? pb_stats_mean(&a->st) : NAN;
}

/* Every arm still in the race is in contention. */
static int
race_contention(const struct pb_state *st, double delta, unsigned char *in)
{
	size_t i;

	(void)delta;
	for (i = 0; i < st->narms; i++)
		in[i] = !st->arms[i].pstate || st->arms[i].pstate[0] != 0;
	return 0;
}

/* ------------------------------------------------------ fixed budget */

/* How many pulls (rewards and errors) each surviving arm must have had
 * before the current round ends.  Successive halving (Karnin, Koren and
 * Somekh 2013): ceil(log2 K) rounds; in round r the S_r arms left get
 * floor(B / (S_r ceil(log2 K))) pulls each, then the better half goes on.
 * Successive rejects (Audibert and Bubeck 2010): K - 1 phases; after
 * phase k each arm left has had ceil((B - K) / (logbar(K) (K + 1 - k)))
 * pulls, logbar(K) = 1/2 + sum_{i=2..K} 1/i, and the worst is dropped. */
static long
halving_target(const struct pb_state *st, size_t alive)
{
	double b = st->pol.budget, k = (double)st->narms, t = 0, s;
	long rounds = (long)ceil(log2(k > 1 ? k : 2)), q;

	for (s = k; ; s = ceil(s / 2)) {
		q = (long)floor(b / (s * (double)rounds));
		t += q > 0 ? (double)q : 1;
		if (s <= (double)alive || s <= 1)
			break;
	}
	return (long)t;
}

static long
rejects_target(const struct pb_state *st, size_t alive)
{
	double b = st->pol.budget, k = (double)st->narms, t, logbar = 0.5;
	size_t i;

	for (i = 2; i <= st->narms; i++)
		logbar += 1.0 / (double)i;
	/* phase k = K - alive + 1 */
	t = ceil((b - k) / (logbar * (double)(alive)));
	return t > 1 ? (long)t : 1;
}

/* Ends the rounds whose pulls have all come back: drops the drop(n)
 * worst of the n arms left by mean reward (ties: the later arm goes). */
static void
budget_advance(struct pb_state *st, long (*target)(const struct pb_state *, size_t),
               size_t (*drop)(size_t))
{
	size_t i, n, k;

	while ((n = nalive(st)) > 1) {
		long t = target(st, n);
		for (i = 0; i < st->narms; i++)
			if (in_race(st, i) && st->arms[i].st.n + st->arms[i].errors < t)
				return;
		for (k = drop(n); k > 0; k--) {
			int worst = -1;
			for (i = 0; i < st->narms; i++)
				if (in_race(st, i) && (worst < 0 ||
				    pb_stats_mean(&st->arms[i].st) <=
				    pb_stats_mean(&st->arms[worst].st)))
					worst = (int)i;
			if (knock_out(st, (size_t)worst) < 0)
				return; /* out of memory: the round goes on */
		}
	}
}

static size_t
drop_half(size_t n)
{
	return n - (n + 1) / 2;
}

static size_t
drop_one(size_t n)
{
	(void)n;
	return 1;
}

static void
halving_before(struct pb_state *st)
{
	budget_advance(st, halving_target, drop_half);
}

static void
rejects_before(struct pb_state *st)
{
	budget_advance(st, rejects_target, drop_one);
}

static int
budget_done(const struct pb_state *st, char why[PB_ERRLEN], int *best)
{
	int b = budget_best(st), done;
	long spent = st->next_pull - 1, n = (long)pb__total_n(st, 0);

	if ((done = spent >= (long)st->pol.budget)) {
		if (b >= 0)
			snprintf(why, PB_ERRLEN, "budget of %ld pulls spent; arm %s "
			         "is recommended (best mean of the %zu arms left, "
			         "after %ld rewards)", (long)st->pol.budget,
			         st->arms[b].id, nalive(st), n);
		else
			snprintf(why, PB_ERRLEN, "budget of %ld pulls spent; no "
			         "rewards yet to recommend an arm", (long)st->pol.budget);
	}
	*best = b;
	return done;
}

/* The verdict: the budget's own stop; the arms still in the race, with
 * rewards, are not yet separated from the recommended one. */
static int
budget_verdict(const struct pb_state *st, double delta, int *best,
               unsigned char *open, char why[PB_ERRLEN])
{
	int done = budget_done(st, why, best);
	size_t i;

	(void)delta;
	for (i = 0; i < st->narms; i++)
		open[i] = (int)i != *best && isfinite(race_index(st, (int)i));
	return done;
}

static int
budget_check(const struct pb_policy *p, const char *name, char err[PB_ERRLEN])
{
	if (p->budget == 0) {
		snprintf(err, PB_ERRLEN, "%s needs budget=N, the number of pulls "
		         "to spend", name);
		return -1;
	}
	return 0;
}

static int
halving_check(const struct pb_policy *p, char err[PB_ERRLEN])
{
	return budget_check(p, "successive-halving", err);
}

static int
rejects_check(const struct pb_policy *p, char err[PB_ERRLEN])
{
	return budget_check(p, "successive-rejects", err);
}

const struct pb_policy_ops pb_policy_halving = {
	.name = "successive-halving",
	.nstate = 1, .start = 1,
	.flags = PB_POLICY_BUDGET,
	.rule = "budget",
	.check = halving_check,
	.before = halving_before,
	.choose = budget_choose,
	.probs = budget_probs,
	.index = race_index,
	.done = budget_done,
	.contention = race_contention,
	.verdict = budget_verdict,
};

const struct pb_policy_ops pb_policy_rejects = {
	.name = "successive-rejects",
	.nstate = 1, .start = 1,
	.flags = PB_POLICY_BUDGET,
	.rule = "budget",
	.check = rejects_check,
	.before = rejects_before,
	.choose = budget_choose,
	.probs = budget_probs,
	.index = race_index,
	.done = budget_done,
	.contention = race_contention,
	.verdict = budget_verdict,
};

/* -------------------------------------------------------------- race */

/* Every survivor answers each task: equal shares. */
static void
race_probs(const struct pb_state *st, double *p, double *work)
{
	size_t i;

	(void)work;
	for (i = 0; i < st->narms; i++)
		p[i] = in_race(st, i) && !st->arms[i].retired ?
		       1.0 / (double)nalive(st) : 0;
}

/* Race knocks out arm x (i, then j, after a pair changed) once the
 * evidence of all the others against it,
 *     log sum over y != x of M(y over x)       (M = exp(lm), see pb_pair)
 * reaches log(K / delta), K the arms in the state; the last arm standing
 * stays.  If x is a best arm, every M(y over x) is a supermartingale, so
 * their mean is one, and by Ville's inequality it ever reaches
 * K / ((K - 1) delta) with probability <= delta (K - 1) / K: a best arm
 * is knocked out with at most that probability, and with all arms equal
 * the race ends (K - 1 of K knocked out) with probability <= delta.  A
 * pair with no discordant task counts M = 1.  The sum, where the usual
 * rule takes the largest M against a threshold (K - 1) / delta, lets the
 * several arms that beat a middling arm pool their evidence. */
static int
race_check(struct pb_state *st, int x, double thr)
{
	const struct pb_pair *p;
	double mx = -INFINITY, sum = 0, v;
	size_t y;

	if (!in_race(st, (size_t)x) || st->arms[x].retired || nalive(st) <= 1)
		return 0; /* out already, or the last one standing */
	for (y = 0; y < st->narms; y++) {
		if ((int)y == x)
			continue;
		p = pb_state_pair(st, (int)y, x);
		v = !p ? 0 : (int)y < x ? p->lm[0] : p->lm[1];
		if (v > mx) {
			sum = sum * exp(mx - v) + 1;
			mx = v;
		} else {
			sum += exp(v - mx);
		}
	}
	if (mx + log(sum) < thr)
		return 0;
	return knock_out(st, (size_t)x);
}

static int
race_pair(struct pb_state *st, int i, int j)
{
	double thr;

	if (st->narms < 2)
		return 0;
	thr = pb_glr_threshold(st->narms, st->pol.delta);
	return race_check(st, i, thr) < 0 || race_check(st, j, thr) < 0 ? -1 : 0;
}

static int
race_done(const struct pb_state *st, char why[PB_ERRLEN], int *best)
{
	int b = budget_best(st), done;
	long n = (long)pb__total_n(st, 0);

	if ((done = nalive(st) <= 1) && b >= 0)
		snprintf(why, PB_ERRLEN, "arm %s is best with confidence "
		         "1-delta = %g: every other arm lost a paired test "
		         "(%ld rewards)", st->arms[b].id, 1 - st->pol.delta, n);
	else if (done)
		snprintf(why, PB_ERRLEN, "one arm is left in the race, "
		         "with no rewards yet");
	*best = b;
	return done;
}

/* The race's own rule on paired statistics: the last arm standing; the
 * others still in it are not yet separated. */
static int
race_verdict(const struct pb_state *st, double delta, int *best,
             unsigned char *open, char why[PB_ERRLEN])
{
	int done = race_done(st, why, best);
	size_t i;

	(void)delta;
	for (i = 0; i < st->narms; i++)
		open[i] = (int)i != *best &&
		          (!st->arms[i].pstate || st->arms[i].pstate[0] != 0);
	return done;
}

/* A task's arms: the survivors, best mean first when there are more than
 * k (an insertion sort, stable: ties in file order). */
static size_t
race_group(const struct pb_state *st, size_t k, int *out)
{
	size_t i, a, b, got = 0;

	for (i = 0; i < st->narms; i++)
		if (st->arms[i].pstate[0] != 0)
			out[got++] = (int)i;
	for (a = 1; a < got; a++)
		for (b = a; b > 0 && pb_stats_mean(&st->arms[out[b - 1]].st) <
		     pb_stats_mean(&st->arms[out[b]].st); b--) {
			int t = out[b];
			out[b] = out[b - 1];
			out[b - 1] = t;
		}
	return got > k ? k : got;
}

const struct pb_policy_ops pb_policy_race = {
	.name = "race",
	.nstate = 1, .start = 1,
	.flags = PB_POLICY_DELTA | PB_POLICY_ALL_ARMS,
	.rule = "paired",
	.choose = budget_choose,
	.probs = race_probs,
	.index = race_index,
	.pair = race_pair,
	.done = race_done,
	.contention = race_contention,
	.group = race_group,
	.verdict = race_verdict,
};
