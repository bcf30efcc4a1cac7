/* policy-budget.c - the policies that knock arms out of a race, their
 * first per-arm number (pstate[0]) 1 while the arm is in it, else 0: the
 * fixed budgets, successive halving and successive rejects, which stop
 * when `budget` pulls were handed out; and race, which sends each task to
 * the surviving arms (all, or the leader and -k m - 1 challengers) and
 * knocks an arm out once its opponents' bet against it, one e-process
 * per arm (race_bet), pays 1/delta, stopping when one is left. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* The verdicts' open set: every arm but the best still in the race
 * (with rewards, if rewarded), so not yet separated from it. */
static void
still_in(const struct pb_state *st, int best, int rewarded, unsigned char *open)
{
	size_t i;

	for (i = 0; i < st->narms; i++)
		open[i] = (int)i != best && in_race(st, i) &&
		          (!rewarded || st->arms[i].st.n > 0);
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

	(void)delta;
	still_in(st, *best, 1, open);
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

/* Race's numbers per arm (pb_arm.pstate, "policy_state"):
 *   [0]      1 while the arm is in the race, else 0 (as the budgets');
 *   [1 .. 8] the log-wealths of the PB_PAIR_GRID bets of its knock-out
 *            e-process M_x (race_bet);
 *   [9]      the sum of r_x - r_o over the tasks where it had an
 *            opponent o, and [10] the sum of |r_x - r_o|: its paired
 *            record against its opponents, for -k m (race_group). */
enum { RACE_LW = 1, RACE_WON = 1 + PB_PAIR_GRID, RACE_DISC, RACE_NSTATE };

/* Best mean first, then file order (a stable sort). */
struct ranked {
	double key;
	int arm;
};

static int
by_key(const void *x, const void *y)
{
	const struct ranked *a = x, *b = y;

	if (a->key != b->key)
		return a->key > b->key ? -1 : 1;
	return (a->arm > b->arm) - (a->arm < b->arm);
}

static void race_challengers(const struct pb_state *st, struct pb_rng *r,
                             int *out, size_t n, size_t m, struct ranked *top);

/* Draws of race_challengers behind race_probs: enough for shares to
 * about +-0.03 (the history's and the report's purpose), fewer for a
 * large pool (O(draws x survivors) work in all). */
#define RACE_PROB_DRAWS 400
#define RACE_PROB_WORK 4000000.0

/* Each arm's share of the next task's pulls.  -k all (k = 0, or k at
 * least the survivors): every survivor answers, equal shares.  -k m
 * (the last hand-out's, pb_policy_note_k): the leader answers every
 * task, so 1/m; a challenger its chance of being among the m - 1 drawn
 * (race_challengers' paired Thompson draw, by Monte Carlo with a fixed
 * seed), over m.  The shares sum to 1. */
static void
race_probs(const struct pb_state *st, double *p, double *work)
{
	size_t i, n = nalive(st), lead = 0, m = (size_t)st->pol.k, d, draws;
	struct ranked *top = NULL;
	struct pb_rng r;
	int *arm = NULL, t;

	(void)work;
	if (m == 0 || m >= n || !(arm = malloc(n * sizeof *arm)) ||
	    !(top = malloc(m * sizeof *top))) {
		/* (out of memory too: equal shares) */
		for (i = 0; i < st->narms; i++)
			p[i] = in_race(st, i) && !st->arms[i].retired ? 1.0 / (double)n : 0;
		free(arm);
		return;
	}
	for (i = 0, n = 0; i < st->narms; i++)
		if (in_race(st, i) && !st->arms[i].retired)
			arm[n++] = (int)i;
	for (i = 1; i < n; i++) /* race_group's leader: best mean, first on ties */
		if (pb_stats_mean(&st->arms[arm[i]].st) >
		    pb_stats_mean(&st->arms[arm[lead]].st))
			lead = i;
	t = arm[lead];
	memmove(arm + 1, arm, lead * sizeof *arm);
	arm[0] = t;
	p[t] = 1.0 / (double)m;
	draws = (size_t)(RACE_PROB_WORK / (double)n);
	draws = draws > RACE_PROB_DRAWS ? RACE_PROB_DRAWS : draws < 20 ? 20 : draws;
	pb_rng_seed(&r, 0x7ace5eedULL);
	for (d = 0; m > 1 && d < draws; d++) {
		race_challengers(st, &r, arm, n, m, top);
		for (i = 0; i < m - 1; i++)
			p[top[i].arm] += 1.0 / ((double)draws * (double)m);
	}
	free(arm);
	free(top);
}

/* Arm x's opponent o on a task answered d = r_o - r_x: one factor of
 * each bet of x's knock-out e-process
 *     M_x = (1/8) sum over the bets lam of prod (1 + lam (r_o - r_x))
 * (pb_bets_add: Fan's bound for a fractional d, as pb_pair_evidence),
 * and x knocked out once log M_x >= log(1/delta); the last arm standing
 * stays.  The opponent is the group's first member (its second, for the
 * first): race_group put the survivors best mean first when it handed
 * the task out, before any of the task's rewards, so o is fixed in
 * advance.  If x is a best arm, E[r_o - r_x] <= 0 on a fresh task for
 * any o fixed in advance, each product is a nonnegative supermartingale,
 * so is their mean, and by Ville's inequality M_x ever reaches 1/delta
 * with probability <= delta: one e-process per arm, no union over the
 * pairs (pb-update(1) gives the argument and its conditions).  The
 * work is O(1) per pair; counting the survivors (O(K)) happens only at
 * a knock-out. */
static int
race_bet(struct pb_state *st, int x, double d)
{
	struct pb_arm *a = &st->arms[x];

	if (!in_race(st, (size_t)x) || a->retired)
		return 0; /* out already: its e-process no longer counts */
	if (pb__pstate_make(a, RACE_NSTATE, 1) < 0)
		return -1;
	pb_bets_add(a->pstate + RACE_LW, d);
	a->pstate[RACE_WON] -= d;
	a->pstate[RACE_DISC] += fabs(d);
	if (pb_bets_logm(a->pstate + RACE_LW) < -log(st->pol.delta) ||
	    nalive(st) <= 1)
		return 0;
	a->pstate[0] = 0;
	return 0;
}

/* One task's rewards of two arms: the member first in the group is the
 * opponent of every other, and the second the opponent of the first. */
static int
race_pair(struct pb_state *st, const struct pb_pairing *t)
{
	if ((t->sb == 0 || (t->sa == 0 && t->sb == 1)) &&
	    race_bet(st, t->a, t->rb - t->ra) < 0)
		return -1;
	if ((t->sa == 0 || (t->sb == 0 && t->sa == 1)) &&
	    race_bet(st, t->b, t->ra - t->rb) < 0)
		return -1;
	return 0;
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

/* The race's own rule (race_bet): the last arm standing; the
 * others still in it are not yet separated. */
static int
race_verdict(const struct pb_state *st, double delta, int *best,
             unsigned char *open, char why[PB_ERRLEN])
{
	int done = race_done(st, why, best);

	(void)delta;
	still_in(st, *best, 0, open);
	return done;
}

static void
sort_by_mean(const struct pb_state *st, int *arm, size_t n, struct ranked *tmp)
{
	size_t i;

	for (i = 0; i < n; i++) {
		tmp[i].key = pb_stats_mean(&st->arms[arm[i]].st);
		tmp[i].arm = arm[i];
	}
	qsort(tmp, n, sizeof *tmp, by_key);
	for (i = 0; i < n; i++)
		arm[i] = tmp[i].arm;
}

/* -k m with m < the survivors: the m - 1 challengers of the leader
 * out[0] with the largest paired Thompson draws of mu_j - mu_leader,
 *     theta_j ~ N(w, (1 - w^2) / (a + 2)),  w = s / (a + 2),
 * s the arm's sum of r_j - r_o and a its sum of |r_j - r_o| against its
 * opponents (for 0/1 rewards: wins minus losses, and discordant tasks),
 * into top[0 .. m - 2], best draw first.  O(n m) at worst. */
static void
race_challengers(const struct pb_state *st, struct pb_rng *r, int *out,
                 size_t n, size_t m, struct ranked *top)
{
	size_t i, got = 0, at;
	struct ranked c;

	for (i = 1; i < n; i++) {
		const double *ps = st->arms[out[i]].pstate;
		double a = ps ? ps[RACE_DISC] : 0, w = (ps ? ps[RACE_WON] : 0) / (a + 2);
		c.key = w + sqrt((1 - w * w) / (a + 2)) * pb_rng_normal(r);
		c.arm = out[i];
		if (got == m - 1 && c.key <= top[got - 1].key)
			continue;
		at = got < m - 1 ? got++ : got - 1;
		for (; at > 0 && top[at - 1].key < c.key; at--)
			top[at] = top[at - 1];
		top[at] = c;
	}
}

/* A task's arms: the survivors, best mean first (stable: ties in file
 * order), all of them when k allows (-k all); else the leader and k - 1
 * challengers (race_challengers), the challengers best mean first too,
 * so the first member is the leader and the second the best of the
 * rest: race_pair's opponents. */
static size_t
race_group(struct pb_state *st, size_t k, int *out)
{
	struct ranked small[64], *tmp;
	size_t i, a, b, got = 0, lead = 0;

	for (i = 0; i < st->narms; i++)
		if (in_race(st, i))
			out[got++] = (int)i;
	if (got == 0 || k == 0)
		return 0;
	tmp = got <= 64 ? small : malloc(got * sizeof *tmp);
	if (got > k) {
		for (i = 1; i < got; i++)
			if (pb_stats_mean(&st->arms[out[i]].st) >
			    pb_stats_mean(&st->arms[out[lead]].st))
				lead = i;
		b = (size_t)out[lead];
		memmove(out + 1, out, lead * sizeof *out);
		out[0] = (int)b;
		if (k > 1 && tmp) {
			race_challengers(st, &st->rng, out, got, k, tmp);
			for (i = 0; i < k - 1; i++)
				out[1 + i] = tmp[i].arm;
			sort_by_mean(st, out + 1, k - 1, tmp);
		}
		got = k;
	} else if (tmp) {
		sort_by_mean(st, out, got, tmp);
	} else {
		/* out of memory: an insertion sort in place */
		for (a = 1; a < got; a++)
			for (b = a; b > 0 && pb_stats_mean(&st->arms[out[b - 1]].st) <
			     pb_stats_mean(&st->arms[out[b]].st); b--) {
				int t = out[b];
				out[b] = out[b - 1];
				out[b - 1] = t;
			}
	}
	if (tmp != small)
		free(tmp);
	return got;
}

/* pb-update --merge of two races run on disjoint shards of fresh tasks:
 * each arm's merged e-process is exact, the product of its factors over
 * both shards' tasks, so bet by bet the log-wealths add (and the paired
 * records, RACE_WON and RACE_DISC, add).  Order the tasks st's first,
 * then other's: other's opponents were fixed by other's own past, which
 * is part of the past in that order, and its tasks are fresh and
 * independent of st's, so each factor still has E[1 + lam (r_o - r_x) |
 * past] <= 1 when x is a best arm, and the merged M_x is that ordered
 * process at its end (an arm's product stopped at its knock-out in a
 * shard is the process stopped at a stopping time: still a
 * supermartingale).  Hence an arm is out after the merge if it was out
 * in st (the process crossed on st's prefix) or the merged M_x reaches
 * 1/delta; a knock-out in other alone is not carried over, since it
 * would be a look at another ordering and could double the error.  The
 * last arm standing stays: if the merge would leave none, the one with
 * the least evidence against it is kept. */
static int
race_merge(struct pb_state *st, const struct pb_state *other, const int *map)
{
	double thr = -log(st->pol.delta), least = INFINITY;
	size_t i;
	int m, keep = -1;

	for (i = 0; i < other->narms; i++) {
		struct pb_arm *a;
		const double *o = other->arms[i].pstate;
		if (map[i] < 0 || !o)
			continue;
		a = &st->arms[map[i]];
		if (pb__pstate_make(a, RACE_NSTATE, 1) < 0)
			return -1;
		for (m = 0; m < PB_PAIR_GRID; m++)
			a->pstate[RACE_LW + m] += o[RACE_LW + m];
		a->pstate[RACE_WON] += o[RACE_WON];
		a->pstate[RACE_DISC] += o[RACE_DISC];
	}
	for (i = 0; i < st->narms; i++) {
		struct pb_arm *a = &st->arms[i];
		double lm;
		if (!a->pstate || a->retired)
			continue;
		lm = pb_bets_logm(a->pstate + RACE_LW);
		if (in_race(st, i) && lm < least)
			least = lm, keep = (int)i;
	}
	for (i = 0; i < st->narms; i++) {
		struct pb_arm *a = &st->arms[i];
		if (a->pstate && (int)i != keep &&
		    pb_bets_logm(a->pstate + RACE_LW) >= thr)
			a->pstate[0] = 0;
	}
	return 0;
}

const struct pb_policy_ops pb_policy_race = {
	.name = "race",
	.nstate = RACE_NSTATE, .start = 1,
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
	.merge = race_merge,
};
