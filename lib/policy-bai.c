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

/* ------------------------------------------------- paired knock-outs */

/* Paired lucb and top-two (k >= 2) keep, per arm, race's knock-out
 * e-process (policy-budget.c, race_bet): with d = r_o - r_x on a task x
 * shared with its opponent o (the group's first member, the leader when
 * the task was handed out; the second member for the first),
 *     M_x = (1/8) sum over the bets lam of prod (1 + lam (r_o - r_x)),
 * x knocked out once log M_x >= log(1/(KO_SHARE delta)).  Which arms share a task,
 * and who is whose opponent, are fixed when the task is handed out,
 * before its rewards, and the task is fresh, so if x is a best arm
 * E[r_o - r_x | past] <= 0: each product is a nonnegative
 * supermartingale, so is their mean, and M_x ever reaches that with
 * probability <= KO_SHARE delta (Ville).  A task x did not share contributes a
 * factor 1.  No union over the pairs is needed: a wrong verdict needs a
 * best arm knocked out, one e-process.  ko_stop spends the rest of delta,
 * (1 - KO_SHARE) delta, on the policy's unpaired rule.  Where the numbers sit in pstate: */
/* The share of delta the knock-outs get; the unpaired rule has the rest.
 * Most of it: in world 1 of the benchmark (100 runs) lucb -k 2 needed a
 * median of 36,153 calls with half, 35,194 with 0.8, 31,362 with 0.95;
 * top-two -k 2 40,410, 37,251, 36,560; the unpaired rule still stops a
 * run whose arms are plainly apart. */
#define KO_SHARE 0.95

struct ko {
	int nstate;   /* the policy's numbers per arm */
	double start; /* the first of them at the start */
	int out, lw;  /* 1 once knocked out; the PB_PAIR_GRID log-wealths */
};

static int
ko_out(const struct pb_arm *a, const struct ko *k)
{
	return a->pstate && a->pstate[k->out] != 0;
}

static int
ko_bet(struct pb_state *st, const struct ko *k, int x, double d)
{
	struct pb_arm *a = &st->arms[x];

	if (pb__pstate_make(a, k->nstate, k->start) < 0)
		return -1;
	if (a->pstate[k->out])
		return 0; /* out already: its e-process stops there */
	pb_bets_add(a->pstate + k->lw, d);
	if (pb_bets_logm(a->pstate + k->lw) >= -log(KO_SHARE * st->pol.delta))
		a->pstate[k->out] = 1;
	return 0;
}

/* One task's rewards of two arms: the member first in the group is the
 * opponent of every other, and the second the opponent of the first. */
static int
ko_pair(struct pb_state *st, const struct ko *k, const struct pb_pairing *t)
{
	if ((t->sb == 0 || (t->sa == 0 && t->sb == 1)) &&
	    ko_bet(st, k, t->a, t->rb - t->ra) < 0)
		return -1;
	if ((t->sa == 0 || (t->sb == 0 && t->sa == 1)) &&
	    ko_bet(st, k, t->b, t->ra - t->rb) < 0)
		return -1;
	return 0;
}

/* The paired stopping rule: the leader is declared when every other arm
 * is knocked out (at KO_SHARE delta) or separated from it by the policy's
 * unpaired rule at (1 - KO_SHARE) delta, arm by arm.  A wrong verdict L !=
 * a* (a best arm) needs a* knocked out (probability <= KO_SHARE delta) or
 * separated below L by the unpaired rule, whose error is <= (1 -
 * KO_SHARE) delta (its own proof at that level): <= delta in all.  The split is fixed by k, which is fixed
 * before the first reward (pb_policy_note_k). */
static int
ko_stop(const struct pb_state *st, const struct ko *k, double delta, int *best,
        unsigned char *open,
        int (*rule)(const struct pb_state *, double, int *, unsigned char *),
        int (*sep)(const struct pb_state *, double, int, int))
{
	unsigned char *o;
	size_t i;
	int done;

	if (!open) {
		/* only whether to stop: the first arm neither knocked out nor
		 * separated ends the look, at O(1) bounds rather than O(K) */
		*best = st->narms == 1 ? 0 : pb_glr_leader(st);
		if (st->narms == 1 || *best < 0)
			return st->narms == 1;
		for (i = 0; i < st->narms; i++)
			if ((int)i != *best && !ko_out(&st->arms[i], k) &&
			    !sep(st, (1 - KO_SHARE) * delta, *best, (int)i))
				return 0;
		return 1;
	}
	o = open;
	rule(st, (1 - KO_SHARE) * delta, best, o);
	done = *best >= 0 || st->narms == 1;
	for (i = 0; i < st->narms; i++) {
		if (o[i] && *best >= 0 && ko_out(&st->arms[i], k))
			o[i] = 0;
		done &= !o[i];
	}
	return done;
}

/* Whether the leader l is separated from arm j by the box rule at delta
 * (pb_box_stop's test for one arm), and by the GLR rule (pb_glr_stop's). */
static int
sep_box(const struct pb_state *st, double delta, int l, int j)
{
	double d = delta / (double)st->narms, llo, lhi, lo, hi;

	pb_mix_bounds(st->arms[l].st.sum, (double)st->arms[l].st.n, d, &llo, &lhi);
	pb_mix_bounds(st->arms[j].st.sum, (double)st->arms[j].st.n, d, &lo, &hi);
	return hi < llo;
}

static int
sep_glr(const struct pb_state *st, double delta, int l, int j)
{
	return st->arms[j].st.n > 0 && pb_glr_z(&st->arms[l].st, &st->arms[j].st) >=
	       pb_glr_threshold(st->narms, delta);
}

/* pb-update --merge of two shards of fresh tasks: each arm's bets'
 * log-wealths add (the product over both shards' shared tasks, as if
 * st's tasks came first, then other's: other's opponents were fixed by
 * its own past, which is predictable in that order, and its tasks are
 * independent of st's), and the arm is out if it was out in st or the
 * merged mixture reaches the threshold; other's knock-outs alone do not
 * count, as they would be a second look at KO_SHARE delta. */
static int
ko_merge(struct pb_state *st, const struct ko *k, const struct pb_state *other,
         const int *map)
{
	size_t i;
	int m;

	for (i = 0; i < other->narms; i++) {
		struct pb_arm *a;
		const double *o = other->arms[i].pstate;
		if (!o || map[i] < 0)
			continue;
		a = &st->arms[map[i]];
		if (pb__pstate_make(a, k->nstate, k->start) < 0)
			return -1;
		for (m = 0; m < PB_PAIR_GRID; m++)
			a->pstate[k->lw + m] += o[k->lw + m];
		if (pb_bets_logm(a->pstate + k->lw) >= -log(KO_SHARE * st->pol.delta))
			a->pstate[k->out] = 1;
	}
	return 0;
}

/* The k >= 2 arms of a task: the leader first (untried arms before it
 * while there are any), then the k - 1 others with the largest key,
 * those knocked out last (so a task still goes to k arms).  key(st, i,
 * arg) scores arm i in [0, 1]. */
static size_t
ko_group(const struct pb_state *st, const struct ko *ko, size_t k, int lead,
         double (*key)(const struct pb_state *, size_t, void *), void *arg,
         int *out)
{
	double *kv;
	size_t i, got = 0, fixed = 0, at;

	if (k < 2 || st->narms < 2 || !(kv = malloc(k * sizeof *kv)))
		return (size_t)-1; /* one at a time: the policy's choose */
	if (lead >= 0 && pb__untried(st) < 0)
		out[got++] = lead, fixed = 1;
	for (i = 0; i < st->narms; i++) {
		const struct pb_arm *a = &st->arms[i];
		double v;
		if (fixed && (int)i == lead)
			continue;
		/* untried first, then open arms by key, then the rest */
		v = pb__eff_n(a) == 0 ? 3 : key(st, i, arg) + (ko_out(a, ko) ? 0 : 1.5);
		if (got == k && v <= kv[got - 1])
			continue;
		at = got < k ? got++ : got - 1;
		for (; at > fixed && kv[at - 1] < v; at--) {
			kv[at] = kv[at - 1];
			out[at] = out[at - 1];
		}
		kv[at] = v;
		out[at] = (int)i;
	}
	free(kv);
	return got;
}

/* -------------------------------------------------------------- lucb */

/* LUCB's numbers per arm (pb_arm.pstate, "policy_state"):
 *   [0 .. 2] its pulls, sum and upper bound when last computed (upper);
 *   [3]      1 once the arm is knocked out by the paired rule (k >= 2);
 *   [4 .. 11] the log-wealths of the PB_PAIR_GRID bets of its knock-out
 *            e-process (lucb_pair), as race keeps them. */
enum { LUCB_OUT = 3, LUCB_LW = 4, LUCB_NSTATE = 4 + PB_PAIR_GRID };
static const struct ko lucb_ko = { LUCB_NSTATE, -1, LUCB_OUT, LUCB_LW };

/* Paired: the state was set for tasks shared by the leader and k - 1
 * challengers (lucb:k=K, or pb-sample -k before the first reward). */
static int
lucb_paired(const struct pb_state *st)
{
	return st->pol.k >= 2;
}

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
		if (pb__pstate_make(a, LUCB_NSTATE, -1) < 0) /* -1: none cached */
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

/* -k m >= 2: one task for the leader and the m - 1 challengers with the
 * highest upper bounds, those knocked out last (so a task still goes to
 * m arms); before every arm has a pull, the untried ones first.  The
 * leader is the group's first member, the opponent of every other
 * (lucb_pair), and the best challenger its second, the leader's
 * opponent.  Which arms share the task is fixed here, before any of its
 * rewards.  O(K m). */
static double
lucb_key(const struct pb_state *st, size_t i, void *arg)
{
	return upper(&st->arms[i], *(const double *)arg);
}

static size_t
lucb_pick(const struct pb_state *st, size_t k, int *out)
{
	double d = st->pol.delta / (double)st->narms;

	return ko_group(st, &lucb_ko, k, pb_glr_leader(st), lucb_key, &d, out);
}

static size_t
lucb_group(struct pb_state *st, size_t k, int *out)
{
	lucb_before(st); /* the cached bounds, refreshed where stale */
	return lucb_pick(st, k, out);
}

/* The next pull's arm; paired, the shares of the next task's group
 * (1/m each: the group is deterministic). */
static void
lucb_probs(const struct pb_state *st, double *p, double *work)
{
	size_t m = (size_t)st->pol.k, got, i;
	int *out;

	if (lucb_paired(st) && m > st->narms)
		m = st->narms;
	if (!lucb_paired(st) || !(out = malloc(m * sizeof *out))) {
		pb__probs_fixed(st, p, work, lucb_choose);
		return;
	}
	if ((got = lucb_pick(st, m, out)) == (size_t)-1 || got == 0)
		pb__probs_fixed(st, p, work, lucb_choose);
	else
		for (i = 0; i < got; i++)
			p[out[i]] = 1.0 / (double)got;
	free(out);
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
lucb_pair(struct pb_state *st, const struct pb_pairing *t)
{
	return lucb_paired(st) ? ko_pair(st, &lucb_ko, t) : 0;
}

/* Unpaired (k = 1): the box rule at delta; paired (k >= 2): knock-outs
 * or the box rule, arm by arm (ko_stop). */
static int
lucb_stop(const struct pb_state *st, double delta, int *best,
          unsigned char *open)
{
	if (!lucb_paired(st))
		return pb_box_stop(st, delta, best, open);
	return ko_stop(st, &lucb_ko, delta, best, open, pb_box_stop, sep_box);
}

static int
lucb_merge(struct pb_state *st, const struct pb_state *other, const int *map)
{
	if (!lucb_paired(st))
		return 0;
	if (ko_merge(st, &lucb_ko, other, map) < 0)
		return -1;
	for (size_t i = 0; i < st->narms; i++)
		if (st->arms[i].pstate)
			st->arms[i].pstate[0] = -1; /* the cached bound is stale */
	return 0;
}

static int
lucb_done(const struct pb_state *st, char why[PB_ERRLEN], int *best)
{
	int done;

	*best = pb_glr_leader(st);
	if ((done = lucb_stop(st, st->pol.delta, best, NULL)))
		say_best(st, *best, why);
	return done;
}

static int
lucb_contention(const struct pb_state *st, double delta, unsigned char *in)
{
	return contention(st, delta, in, lucb_stop);
}

static int
lucb_verdict(const struct pb_state *st, double delta, int *best,
             unsigned char *open, char why[PB_ERRLEN])
{
	(void)why;
	return lucb_stop(st, delta, best, open);
}

const struct pb_policy_ops pb_policy_lucb = {
	.name = "lucb",
	.nstate = LUCB_NSTATE,
	.start = -1,
	.flags = PB_POLICY_DELTA,
	.rule = "box",
	.before = lucb_before,
	.choose = lucb_choose,
	.probs = lucb_probs,
	.index = lucb_index,
	.pair = lucb_pair,
	.done = lucb_done,
	.contention = lucb_contention,
	.group = lucb_group,
	.verdict = lucb_verdict,
	.merge = lucb_merge,
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

/* Top-two's numbers per arm, only when paired (k >= 2): [0] 1 once the
 * arm is knocked out, [1 .. 8] the log-wealths of its knock-out
 * e-process (ko_bet). */
enum { TT_OUT = 0, TT_LW = 1, TT_NSTATE = 1 + PB_PAIR_GRID };
static const struct ko tt_ko = { TT_NSTATE, 0, TT_OUT, TT_LW };

static int
toptwo_paired(const struct pb_state *st)
{
	return st->pol.k >= 2;
}

static double
toptwo_key(const struct pb_state *st, size_t i, void *arg)
{
	double v = ((const double *)arg)[i];

	(void)st;
	return v < 0 ? 0 : v > 1 ? 1 : v;
}

/* -k m >= 2: one task for the empirical leader and the m - 1 arms not
 * yet knocked out with the largest posterior draws (a Thompson sample of
 * the challengers, fresh for every task), untried arms first.  The
 * leader is the group's first member, every challenger's opponent.
 * Fixed at hand-out, before the task's rewards. */
static size_t
toptwo_pick(const struct pb_state *st, struct pb_rng *r, size_t k, int *out)
{
	double *theta = malloc((st->narms ? st->narms : 1) * sizeof *theta);
	size_t got;

	if (!theta)
		return (size_t)-1;
	pb__posterior_draw(st, r, theta);
	got = ko_group(st, &tt_ko, k, pb_glr_leader(st), toptwo_key, theta, out);
	free(theta);
	return got;
}

static size_t
toptwo_group(struct pb_state *st, size_t k, int *out)
{
	return toptwo_pick(st, &st->rng, k, out);
}

/* Paired: each arm's share of the next task's pulls, by Monte Carlo over
 * the challengers' draws with a fixed seed. */
static void
toptwo_probs(const struct pb_state *st, double *p, double *work)
{
	size_t m = (size_t)st->pol.k, got, i, d, draws = 200;
	struct pb_rng r;
	int *out;

	if (m > st->narms)
		m = st->narms;
	if (!toptwo_paired(st) || m < 2 || !(out = malloc(m * sizeof *out))) {
		pb__probs_mc(st, p, work, toptwo_choose);
		return;
	}
	pb_rng_seed(&r, 0x7005eedULL);
	for (d = 0; d < draws; d++) {
		if ((got = toptwo_pick(st, &r, m, out)) == (size_t)-1 || got == 0)
			break;
		for (i = 0; i < got; i++)
			p[out[i]] += 1.0 / ((double)draws * (double)got);
	}
	free(out);
	if (d < draws) { /* out of memory: top-two's own chances */
		for (i = 0; i < st->narms; i++)
			p[i] = 0;
		pb__probs_mc(st, p, work, toptwo_choose);
	}
}

static int
toptwo_pair(struct pb_state *st, const struct pb_pairing *t)
{
	return toptwo_paired(st) ? ko_pair(st, &tt_ko, t) : 0;
}

/* Unpaired (k = 1): the GLR rule at delta; paired (k >= 2): knock-outs
 * or the GLR rule, arm by arm (ko_stop). */
static int
toptwo_stop(const struct pb_state *st, double delta, int *best,
            unsigned char *open)
{
	if (!toptwo_paired(st))
		return pb_glr_stop(st, delta, best, open);
	return ko_stop(st, &tt_ko, delta, best, open, pb_glr_stop, sep_glr);
}

static int
toptwo_done(const struct pb_state *st, char why[PB_ERRLEN], int *best)
{
	int done;

	*best = pb_glr_leader(st);
	if ((done = toptwo_stop(st, st->pol.delta, best, NULL)))
		say_best(st, *best, why);
	return done;
}

static int
toptwo_contention(const struct pb_state *st, double delta, unsigned char *in)
{
	return contention(st, delta, in, toptwo_stop);
}

static int
toptwo_verdict(const struct pb_state *st, double delta, int *best,
               unsigned char *open, char why[PB_ERRLEN])
{
	(void)why;
	return toptwo_stop(st, delta, best, open);
}

static int
toptwo_merge(struct pb_state *st, const struct pb_state *other, const int *map)
{
	return toptwo_paired(st) ? ko_merge(st, &tt_ko, other, map) : 0;
}

static int
toptwo_check(const struct pb_policy *p, char err[PB_ERRLEN])
{
	return pb__prior_check(p, "top-two", err);
}

const struct pb_policy_ops pb_policy_toptwo = {
	.name = "top-two",
	.nstate = TT_NSTATE, /* used only when paired */
	.flags = PB_POLICY_DELTA,
	.check = toptwo_check,
	.choose = toptwo_choose,
	.probs = toptwo_probs,
	.index = pb__posterior_mean,
	.pair = toptwo_pair,
	.done = toptwo_done,
	.contention = toptwo_contention,
	.group = toptwo_group,
	.verdict = toptwo_verdict,
	.merge = toptwo_merge,
};
