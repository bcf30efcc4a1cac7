/* policy.c - arm selection behind one interface: select (pending pulls
 * taken into account), update, an index and a selection probability per
 * arm for reports, and whether to stop.
 *
 * Regret policies: uniform (round robin), epsilon-greedy, softmax, UCB1,
 * UCB-V, KL-UCB, Thompson sampling (Beta, or Gaussian for rewards that
 * are not 0/1) and EXP3.  Fixed budget: successive halving and
 * successive rejects.  Fixed confidence: LUCB and top-two Thompson
 * sampling, stopped by the rule of pb_glr_stop (bai.c).
 *
 * Every policy sees the pulls that were handed out but not yet scored
 * (arm->pending) as if they had been observed at the arm's current mean,
 * so one batch of pulls spreads over the arms instead of all going to
 * the arm that led when it began. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "pb.h"

static const char *names[] = {
	[PB_POL_UNIFORM] = "uniform",
	[PB_POL_EPSILON] = "epsilon-greedy",
	[PB_POL_UCB1] = "ucb1",
	[PB_POL_THOMPSON] = "thompson",
	[PB_POL_SOFTMAX] = "softmax",
	[PB_POL_UCBV] = "ucb-v",
	[PB_POL_KLUCB] = "kl-ucb",
	[PB_POL_EXP3] = "exp3",
	[PB_POL_HALVING] = "successive-halving",
	[PB_POL_REJECTS] = "successive-rejects",
	[PB_POL_LUCB] = "lucb",
	[PB_POL_TOPTWO] = "top-two",
	[PB_POL_RACE] = "race",
};
#define NPOL (sizeof names / sizeof *names)

/* The parameters each policy takes, and their ranges: lo < v (or lo <= v
 * with closed_lo), v <= hi.  The one table: the parser, the range check
 * and the state file (state.c) all read it, so a parameter given on the
 * command line is the parameter saved. */
#define param pb_policy_param
const struct pb_policy_param pb_policy_params[] = {
	{ PB_POL_EPSILON, "epsilon", offsetof(struct pb_policy, epsilon), 0, 1, 1, 0 },
	{ PB_POL_UCB1, "c", offsetof(struct pb_policy, c), 0, INFINITY, 1, 0 },
	{ PB_POL_UCBV, "c", offsetof(struct pb_policy, c), 0, INFINITY, 1, 0 },
	{ PB_POL_KLUCB, "c", offsetof(struct pb_policy, c), 0, INFINITY, 1, 0 },
	{ PB_POL_THOMPSON, "a", offsetof(struct pb_policy, a0), 0, INFINITY, 0, 0 },
	{ PB_POL_THOMPSON, "b", offsetof(struct pb_policy, b0), 0, INFINITY, 0, 0 },
	{ PB_POL_SOFTMAX, "tau", offsetof(struct pb_policy, tau), 0, INFINITY, 0, 0 },
	{ PB_POL_EXP3, "gamma", offsetof(struct pb_policy, gamma), 0, 1, 0, 0 },
	{ PB_POL_HALVING, "budget", offsetof(struct pb_policy, budget), 1, 1e15, 1, 1 },
	{ PB_POL_REJECTS, "budget", offsetof(struct pb_policy, budget), 1, 1e15, 1, 1 },
	{ PB_POL_LUCB, "delta", offsetof(struct pb_policy, delta), 0, 0.5, 0, 0 },
	{ PB_POL_TOPTWO, "delta", offsetof(struct pb_policy, delta), 0, 0.5, 0, 0 },
	{ PB_POL_RACE, "delta", offsetof(struct pb_policy, delta), 0, 0.5, 0, 0 },
	{ PB_POL_TOPTWO, "beta", offsetof(struct pb_policy, beta), 0, 1, 0, 0 },
	{ PB_POL_TOPTWO, "a", offsetof(struct pb_policy, a0), 0, INFINITY, 0, 0 },
	{ PB_POL_TOPTWO, "b", offsetof(struct pb_policy, b0), 0, INFINITY, 0, 0 },
};
#define NPARAM (sizeof pb_policy_params / sizeof *pb_policy_params)
#define params pb_policy_params
const size_t pb_policy_nparams = NPARAM;

/* Monte Carlo draws behind pb_policy_prob for randomised policies, and
 * the fixed seed they use, so a report is the same every time. */
#define PROB_DRAWS 2000
#define PROB_SEED 0x5eedULL
/* Top-two: redraws of the posterior to find a challenger, before the
 * T3C challenger (least evidence against it) is taken instead. */
#define TOPTWO_REDRAWS 2

const char *
pb_policy_name(enum pb_policy_kind k)
{
	return names[k];
}

double *
pb_policy_field(struct pb_policy *p, const struct pb_policy_param *q)
{
	return (double *)(void *)((char *)p + q->off);
}
#define field pb_policy_field

static const struct param *
find_param(enum pb_policy_kind k, const char *key)
{
	size_t i;

	for (i = 0; i < NPARAM; i++)
		if (params[i].kind == k && !strcmp(params[i].key, key))
			return &params[i];
	return NULL;
}

/* Parses "k=v,k=v" after the colon of a policy spec. */
static int
parse_params(struct pb_policy *p, const char *s, char err[PB_ERRLEN])
{
	char key[32], *end;
	const char *eq, *comma;
	const struct param *q;
	double v;
	size_t n;

	while (*s) {
		eq = strchr(s, '=');
		comma = strchr(s, ',');
		if (!eq || (comma && comma < eq) || (n = (size_t)(eq - s)) >= sizeof key) {
			snprintf(err, PB_ERRLEN, "policy parameter '%s' is not NAME=VALUE", s);
			return -1;
		}
		memcpy(key, s, n);
		key[n] = '\0';
		v = strtod(eq + 1, &end);
		if (end == eq + 1 || (*end && *end != ',') || !isfinite(v)) {
			snprintf(err, PB_ERRLEN, "policy parameter %s: not a number", key);
			return -1;
		}
		if (!(q = find_param(p->kind, key))) {
			snprintf(err, PB_ERRLEN, "policy %s has no parameter '%s'",
			         names[p->kind], key);
			return -1;
		}
		*field(p, q) = v;
		s = *end ? end + 1 : end;
	}
	return 0;
}

int
pb_policy_parse(struct pb_policy *p, const char *spec, char err[PB_ERRLEN])
{
	const char *colon = strchr(spec, ':');
	size_t n = colon ? (size_t)(colon - spec) : strlen(spec);
	size_t k;

	memset(p, 0, sizeof *p);
	p->epsilon = 0.1;
	p->c = 2;
	p->a0 = p->b0 = 1;
	p->tau = 0.05;
	p->gamma = 0.1;
	p->budget = 0;
	p->delta = 0.05;
	p->beta = 0.5;
	for (k = 0; k < NPOL; k++)
		if (strlen(names[k]) == n && !strncmp(spec, names[k], n))
			break;
	if (k == NPOL) {
		snprintf(err, PB_ERRLEN, "unknown policy '%.*s' (uniform, "
		         "epsilon-greedy, softmax, ucb1, ucb-v, kl-ucb, thompson, exp3, "
		         "successive-halving, successive-rejects, lucb, top-two, race)",
		         (int)n, spec);
		return -1;
	}
	p->kind = (enum pb_policy_kind)k;
	if (p->kind == PB_POL_UCBV)
		p->c = 1;
	if (p->kind == PB_POL_KLUCB)
		p->c = 0;
	if (colon && parse_params(p, colon + 1, err) < 0)
		return -1;
	return pb_policy_check(p, err);
}

int
pb_policy_check(const struct pb_policy *p, char err[PB_ERRLEN])
{
	struct pb_policy copy = *p;
	size_t i;

	if ((unsigned)p->kind >= NPOL) {
		snprintf(err, PB_ERRLEN, "unknown policy number %d", (int)p->kind);
		return -1;
	}
	/* The messages of the first four policies are as they always were. */
	if (p->kind == PB_POL_EPSILON && !(p->epsilon >= 0 && p->epsilon <= 1)) {
		snprintf(err, PB_ERRLEN, "epsilon-greedy: epsilon=%g is not in [0,1]",
		         p->epsilon);
		return -1;
	}
	if (p->kind == PB_POL_UCB1 && !(p->c >= 0 && isfinite(p->c))) {
		snprintf(err, PB_ERRLEN, "ucb1: c=%g is not a number >= 0", p->c);
		return -1;
	}
	if ((p->kind == PB_POL_THOMPSON || p->kind == PB_POL_TOPTWO) &&
	    !(p->a0 > 0 && p->b0 > 0 && isfinite(p->a0) && isfinite(p->b0))) {
		snprintf(err, PB_ERRLEN, "%s: a=%g and b=%g must be > 0",
		         names[p->kind], p->a0, p->b0);
		return -1;
	}
	if ((p->kind == PB_POL_HALVING || p->kind == PB_POL_REJECTS) &&
	    p->budget == 0) {
		snprintf(err, PB_ERRLEN, "%s needs budget=N, the number of pulls "
		         "to spend", names[p->kind]);
		return -1;
	}
	for (i = 0; i < NPARAM; i++) {
		const struct param *q = &params[i];
		double v = *field(&copy, q);
		if (q->kind != p->kind)
			continue;
		if (!(q->closed_lo ? v >= q->lo : v > q->lo) || !(v <= q->hi) ||
		    (q->integer && v != floor(v))) {
			snprintf(err, PB_ERRLEN, "%s: %s=%g is not %s in %c%g,%g]",
			         names[p->kind], q->key, v,
			         q->integer ? "an integer" : "a number",
			         q->closed_lo ? '[' : '(', q->lo, q->hi);
			return -1;
		}
	}
	return 0;
}

int
pb_policy_nstate(enum pb_policy_kind k)
{
	switch (k) {
	case PB_POL_EXP3:    /* the sum of importance-weighted rewards */
	case PB_POL_HALVING: /* 1 while the arm is in the race, else 0 */
	case PB_POL_REJECTS:
	case PB_POL_RACE:
		return 1;
	case PB_POL_LUCB:    /* pulls, sum and upper bound when last computed */
		return 3;
	default:
		return 0;
	}
}

/* The starting value of the one number of per-arm state. */
static double
pstate_start(enum pb_policy_kind k)
{
	return k == PB_POL_EXP3 ? 0 : 1;
}

static double
pstate_of(const struct pb_state *st, size_t i)
{
	return st->arms[i].pstate ? st->arms[i].pstate[0] : pstate_start(st->pol.kind);
}

static int
pstate_make(struct pb_state *st, size_t i)
{
	int n = pb_policy_nstate(st->pol.kind), k;

	if (!st->arms[i].pstate) {
		if (!(st->arms[i].pstate = malloc((size_t)n * sizeof (double))))
			return -1;
		for (k = 0; k < n; k++)
			st->arms[i].pstate[k] = k ? 0 : pstate_start(st->pol.kind);
		if (st->pol.kind == PB_POL_LUCB)
			st->arms[i].pstate[0] = -1; /* nothing cached yet */
	}
	return 0;
}

int
pb_policy_prepare(struct pb_state *st)
{
	size_t i;

	if (pb_policy_nstate(st->pol.kind) == 0)
		return 0;
	for (i = 0; i < st->narms; i++)
		if (pstate_make(st, i) < 0)
			return -1;
	return 0;
}

/* ------------------------------------------------------------ helpers */

static double
eff_n(const struct pb_arm *a)
{
	return (double)(a->st.n + a->pending);
}

static double
mean_or(const struct pb_arm *a, double none)
{
	return a->st.n ? pb_stats_mean(&a->st) : none;
}

static long
handed(const struct pb_arm *a)
{
	return a->st.n + a->errors + a->pending;
}

/* The arms with the largest score; *nties receives how many share it.
 * With r, one of them at random (so ties do not always favour the first
 * arm in the file); without, the first. */
static int
argmax(const struct pb_state *st, const double *score, struct pb_rng *r,
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

static double
total_n(const struct pb_state *st, int with_pending)
{
	double t = 0;
	size_t i;

	for (i = 0; i < st->narms; i++)
		t += (double)st->arms[i].st.n + (with_pending ? (double)st->arms[i].pending : 0);
	return t;
}

static double
ucb(const struct pb_state *st, int i, double total, int with_pending)
{
	const struct pb_arm *a = &st->arms[i];
	double n = (double)a->st.n + (with_pending ? (double)a->pending : 0);
	double mean = mean_or(a, 1), lt = log(total > 1 ? total : 1), v;

	if (n == 0)
		return INFINITY;
	switch (st->pol.kind) {
	case PB_POL_UCBV:
		/* Audibert, Munos and Szepesvari: the variance term shrinks the
		 * bonus of steady arms; rewards lie in [0,1]. */
		v = a->st.n ? a->st.sumsq / (double)a->st.n - mean * mean : 0.25;
		v = v > 0 ? v : 0;
		return mean + sqrt(2 * v * st->pol.c * lt / n) + 3 * st->pol.c * lt / n;
	case PB_POL_KLUCB:
		return pb_kl_bound(mean, (lt + (lt > 1 ? st->pol.c * log(lt) : 0)) / n, 1);
	default:
		return mean + sqrt(st->pol.c * lt / n);
	}
}

/* Index policies: uniform, the greedy part of epsilon-greedy, UCB1,
 * UCB-V, KL-UCB.  Fills score; larger is better. */
static void
index_scores(const struct pb_state *st, double *score)
{
	double total = total_n(st, 1);
	size_t i;

	for (i = 0; i < st->narms; i++) {
		const struct pb_arm *a = &st->arms[i];
		switch (st->pol.kind) {
		case PB_POL_UNIFORM:
			/* Round robin: the arm handed out least so far, errors
			 * included, so a failing endpoint does not skew it. */
			score[i] = -(double)handed(a);
			break;
		case PB_POL_EPSILON:
			score[i] = eff_n(a) == 0 ? INFINITY : mean_or(a, 1);
			break;
		default:
			score[i] = ucb(st, (int)i, total, 1);
		}
	}
}

/* Softmax and EXP3 choose from an explicit distribution. */
static void
dist(const struct pb_state *st, double *p)
{
	double mx = -INFINITY, sum = 0, k = (double)st->narms;
	size_t i, fresh = 0;

	if (st->pol.kind == PB_POL_SOFTMAX) {
		for (i = 0; i < st->narms; i++)
			fresh += eff_n(&st->arms[i]) == 0;
		if (fresh) { /* untried arms first, in turn at random */
			for (i = 0; i < st->narms; i++)
				p[i] = eff_n(&st->arms[i]) == 0 ? 1.0 / (double)fresh : 0;
			return;
		}
		for (i = 0; i < st->narms; i++)
			p[i] = mean_or(&st->arms[i], 0) / st->pol.tau;
	} else { /* exp3: w_i = exp(gamma S_i / K) */
		for (i = 0; i < st->narms; i++)
			p[i] = st->pol.gamma * pstate_of(st, i) / k;
	}
	for (i = 0; i < st->narms; i++)
		if (p[i] > mx)
			mx = p[i];
	for (i = 0; i < st->narms; i++)
		sum += p[i] = exp(p[i] - mx);
	for (i = 0; i < st->narms; i++) {
		p[i] /= sum;
		if (st->pol.kind == PB_POL_EXP3)
			p[i] = (1 - st->pol.gamma) * p[i] + st->pol.gamma / k;
	}
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

/* A posterior draw of every arm's mean: Beta(a + s, b + f), pending
 * pulls adding their share at the arm's mean (or the prior mean); or,
 * once any reward is not 0/1, a Gaussian N(m, v / (n + 1)) with v the
 * rewards' variance shrunk towards 1/4 by one pseudo-observation. */
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

static void
posterior_draw(const struct pb_state *st, struct pb_rng *r, double *theta)
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
			double n = (double)a->st.n, m = mean_or(a, 0.5);
			double ss = a->st.n ? a->st.sumsq - n * m * m : 0;
			double v = ((ss > 0 ? ss : 0) + 0.25) / (n + 1);
			theta[i] = m + sqrt(v / (eff_n(a) + 1)) * normal2(r, &spare);
		} else {
			double m = mean_or(a, p->a0 / (p->a0 + p->b0));
			double s = a->st.sum + m * (double)a->pending;
			double f = eff_n(a) - s, x = p->a0 + s, y = p->b0 + (f > 0 ? f : 0);
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

/* The first arm with neither rewards nor pending pulls, or -1. */
static int
untried(const struct pb_state *st)
{
	size_t i;

	for (i = 0; i < st->narms; i++)
		if (eff_n(&st->arms[i]) == 0)
			return (int)i;
	return -1;
}

/* The upper end of an arm's anytime interval at level d, pending pulls
 * counted at its mean (pb_mix_bounds). */
static double
upper(const struct pb_arm *a, double d)
{
	double n = eff_n(a), m = mean_or(a, 0.5), s = m * n;

	/* LUCB keeps the last bound of each arm: it only changes with the
	 * arm's own pulls, and computing all K of them for every pull would
	 * dominate a long run. */
	if (a->pstate && a->pstate[0] == n && a->pstate[1] == s)
		return a->pstate[2];
	return pb_kl_bound(m, (log(1 / d) - pb_mix_log(s, n, m)) / n, 1);
}

/* Refreshes the cached upper bounds that are stale. */
static void
lucb_cache(struct pb_state *st)
{
	double d = st->pol.delta / (double)st->narms;
	size_t i;

	for (i = 0; i < st->narms; i++) {
		struct pb_arm *a = &st->arms[i];
		double n = eff_n(a), s = mean_or(a, 0.5) * n;
		if (n == 0 || (a->pstate && a->pstate[0] == n && a->pstate[1] == s))
			continue;
		if (pstate_make(st, i) < 0)
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
lucb_pick(const struct pb_state *st)
{
	double d = st->pol.delta / (double)st->narms, best = -1, u1;
	int lead = pb_glr_leader(st), ch = -1, u = untried(st);
	size_t i;

	if (u >= 0 || lead < 0)
		return u >= 0 ? u : 0;
	for (i = 0; i < st->narms; i++)
		if ((int)i != lead && (u1 = upper(&st->arms[i], d)) > best) {
			best = u1;
			ch = (int)i;
		}
	if (ch < 0)
		return lead;
	return eff_n(&st->arms[ch]) < eff_n(&st->arms[lead]) ? ch : lead;
}

/* T3C's transportation cost: n_a kl(m_a, m) + n_b kl(m_b, m) at the
 * pooled mean m when a leads b, else 0. */
static double
transport(const struct pb_arm *a, const struct pb_arm *b)
{
	double na = eff_n(a), nb = eff_n(b), ma = mean_or(a, 0.5),
	       mb = mean_or(b, 0.5), m = (na * ma + nb * mb) / (na + nb);

	return ma <= mb ? 0 : na * pb_kl_bern(ma, m) + nb * pb_kl_bern(mb, m);
}

/* Top-two Thompson sampling (Russo 2016) with probability beta for the
 * leader of a posterior draw; the challenger is the leader of a fresh
 * draw that disagrees, or, after TOPTWO_REDRAWS draws that agree, the
 * arm with the least GLR evidence against it (T3C, Shang et al. 2020). */
static int
toptwo_pick(const struct pb_state *st, struct pb_rng *r, double *theta)
{
	int lead, ch = -1, k, u = untried(st);
	double zmin = INFINITY, z;
	size_t i;

	if (u >= 0)
		return u;
	posterior_draw(st, r, theta);
	lead = argmax(st, theta, r, NULL);
	if (st->narms == 1 || pb_rng_uniform(r) < st->pol.beta)
		return lead;
	for (k = 0; k < TOPTWO_REDRAWS; k++) {
		posterior_draw(st, r, theta);
		if ((ch = argmax(st, theta, r, NULL)) != lead)
			return ch;
	}
	for (i = 0; i < st->narms; i++) {
		const struct pb_arm *a = &st->arms[lead], *b = &st->arms[i];
		double na = eff_n(a), nb = eff_n(b), gap = mean_or(a, 0.5) - mean_or(b, 0.5);
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

/* ------------------------------------------------- fixed budget */

static size_t
nalive(const struct pb_state *st)
{
	size_t i, n = 0;

	for (i = 0; i < st->narms; i++)
		n += pstate_of(st, i) != 0 && !st->arms[i].retired;
	return n;
}

/* How many pulls (rewards and errors) each surviving arm must have had
 * before the current round ends.  Successive halving (Karnin, Koren and
 * Somekh 2013): ceil(log2 K) rounds; in round r the S_r arms left get
 * floor(B / (S_r ceil(log2 K))) pulls each, then the better half goes on.
 * Successive rejects (Audibert and Bubeck 2010): K - 1 phases; after
 * phase k each arm left has had ceil((B - K) / (logbar(K) (K + 1 - k)))
 * pulls, logbar(K) = 1/2 + sum_{i=2..K} 1/i, and the worst is dropped. */
static long
round_target(const struct pb_state *st, size_t alive)
{
	double b = st->pol.budget, k = (double)st->narms, t = 0, s, logbar = 0.5;
	long rounds, q;
	size_t i;

	if (st->pol.kind == PB_POL_HALVING) {
		rounds = (long)ceil(log2(k > 1 ? k : 2));
		for (s = k; ; s = ceil(s / 2)) {
			q = (long)floor(b / (s * (double)rounds));
			t += q > 0 ? (double)q : 1;
			if (s <= (double)alive || s <= 1)
				break;
		}
		return (long)t;
	}
	for (i = 2; i <= st->narms; i++)
		logbar += 1.0 / (double)i;
	/* phase k = K - alive + 1 */
	t = ceil((b - k) / (logbar * (double)(alive)));
	return t > 1 ? (long)t : 1;
}

/* Ends the rounds whose pulls have all come back: drops the worse half
 * (halving) or the worst arm (rejects) by mean reward. */
static int
budget_advance(struct pb_state *st)
{
	size_t i, n, drop;

	while ((n = nalive(st)) > 1) {
		long target = round_target(st, n);
		for (i = 0; i < st->narms; i++)
			if (pstate_of(st, i) != 0 &&
			    st->arms[i].st.n + st->arms[i].errors < target)
				return 0;
		drop = st->pol.kind == PB_POL_HALVING ? n - (n + 1) / 2 : 1;
		while (drop--) {
			int worst = -1;
			for (i = 0; i < st->narms; i++)
				if (pstate_of(st, i) != 0 && (worst < 0 ||
				    pb_stats_mean(&st->arms[i].st) <=
				    pb_stats_mean(&st->arms[worst].st)))
					worst = (int)i; /* ties: the later arm goes */
			if (pstate_make(st, (size_t)worst) < 0)
				return -1;
			st->arms[worst].pstate[0] = 0;
		}
	}
	return 0;
}

/* The surviving arm handed out least, first in the file on ties. */
static int
budget_pick(const struct pb_state *st)
{
	int pick = -1;
	size_t i;

	for (i = 0; i < st->narms; i++)
		if (pstate_of(st, i) != 0 &&
		    (pick < 0 || handed(&st->arms[i]) < handed(&st->arms[pick])))
			pick = (int)i;
	return pick < 0 ? 0 : pick;
}

/* The surviving arm with the best mean. */
static int
budget_best(const struct pb_state *st)
{
	int best = -1;
	size_t i;

	for (i = 0; i < st->narms; i++)
		if (pstate_of(st, i) != 0 && st->arms[i].st.n > 0 && (best < 0 ||
		    pb_stats_mean(&st->arms[i].st) > pb_stats_mean(&st->arms[best].st)))
			best = (int)i;
	return best;
}

/* ------------------------------------------------------------- select */

/* The choice, without changing st (r supplies the randomness); work
 * holds narms doubles. */
static int
choose(const struct pb_state *st, struct pb_rng *r, double *work)
{
	switch (st->pol.kind) {
	case PB_POL_UNIFORM: /* round robin: first in file order */
		index_scores(st, work);
		return argmax(st, work, NULL, NULL);
	case PB_POL_EPSILON:
		if (pb_rng_uniform(r) < st->pol.epsilon)
			return (int)pb_rng_below(r, st->narms);
		index_scores(st, work);
		return argmax(st, work, r, NULL);
	case PB_POL_UCB1:
	case PB_POL_UCBV:
	case PB_POL_KLUCB:
		index_scores(st, work);
		return argmax(st, work, r, NULL);
	case PB_POL_THOMPSON:
		posterior_draw(st, r, work);
		return argmax(st, work, r, NULL);
	case PB_POL_SOFTMAX:
	case PB_POL_EXP3:
		dist(st, work);
		return draw_from(st, work, r);
	case PB_POL_HALVING:
	case PB_POL_REJECTS:
	case PB_POL_RACE: /* one at a time: the survivor handed out least */
		return budget_pick(st);
	case PB_POL_LUCB:
		return lucb_pick(st);
	case PB_POL_TOPTWO:
		return toptwo_pick(st, r, work);
	}
	return 0;
}

int
pb_policy_select(struct pb_state *st)
{
	double small[64], *work = st->narms <= 64 ? small :
	                          malloc(st->narms * sizeof *work);
	int pick;

	if (!work)
		return (int)pb_rng_below(&st->rng, st->narms);
	if (st->pol.kind == PB_POL_HALVING || st->pol.kind == PB_POL_REJECTS)
		budget_advance(st); /* out of memory: the round goes on */
	if (st->pol.kind == PB_POL_LUCB)
		lucb_cache(st);
	pick = choose(st, &st->rng, work);
	if (work != small)
		free(work);
	return pick;
}

int
pb_policy_probs(const struct pb_state *st, double *p)
{
	double *work = malloc(st->narms * sizeof *work);
	struct pb_rng r;
	size_t i, nties;
	int k, pick;

	if (!work)
		return -1;
	for (i = 0; i < st->narms; i++)
		p[i] = 0;
	switch (st->pol.kind) {
	case PB_POL_EPSILON:
	case PB_POL_UCB1:
	case PB_POL_UCBV:
	case PB_POL_KLUCB:
		index_scores(st, work);
		pick = argmax(st, work, NULL, &nties);
		for (i = 0; i < st->narms; i++)
			if (work[i] == work[pick])
				p[i] = 1.0 / (double)nties;
		if (st->pol.kind == PB_POL_EPSILON)
			for (i = 0; i < st->narms; i++)
				p[i] = st->pol.epsilon / (double)st->narms +
				       (1 - st->pol.epsilon) * p[i];
		break;
	case PB_POL_SOFTMAX:
	case PB_POL_EXP3:
		dist(st, p);
		break;
	case PB_POL_THOMPSON:
	case PB_POL_TOPTWO:
		pb_rng_seed(&r, PROB_SEED);
		for (k = 0; k < PROB_DRAWS; k++)
			p[choose(st, &r, work)] += 1.0 / PROB_DRAWS;
		break;
	case PB_POL_UNIFORM:
	case PB_POL_HALVING:
	case PB_POL_REJECTS:
	case PB_POL_LUCB:
		/* Deterministic (the fixed-budget round may end at the next
		 * select, which this does not anticipate). */
		p[choose(st, NULL, work)] = 1;
		break;
	case PB_POL_RACE: /* every survivor answers each task: equal shares */
		for (i = 0; i < st->narms; i++)
			p[i] = pstate_of(st, i) != 0 && !st->arms[i].retired ?
			       1.0 / (double)nalive(st) : 0;
		break;
	}
	free(work);
	return 0;
}

double
pb_policy_prob(const struct pb_state *st, int i)
{
	double *p = malloc(st->narms * sizeof *p), v;

	if (!p || pb_policy_probs(st, p) < 0) {
		free(p);
		return NAN;
	}
	v = p[i];
	free(p);
	return v;
}

int
pb_policy_update(struct pb_state *st, int i, double reward)
{
	double p;

	if (st->pol.kind != PB_POL_EXP3 || isnan(reward))
		return 0;
	/* EXP3's importance weight is 1 / (the arm's probability now): with
	 * pulls in flight the probability it was chosen with is gone, and
	 * the present one is the nearest known. */
	p = pb_policy_prob(st, i);
	if (isnan(p) || pstate_make(st, (size_t)i) < 0)
		return -1;
	st->arms[i].pstate[0] += reward / p;
	return 0;
}

/* Race: knocks x out if the others' pooled evidence against it is
 * enough (pb.h, pb_policy_pair). */
static int
race_check(struct pb_state *st, int x, double thr)
{
	const struct pb_pair *p;
	double mx = -INFINITY, sum = 0, v;
	size_t y;

	if (pstate_of(st, (size_t)x) == 0 || st->arms[x].retired || nalive(st) <= 1)
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
	if (pstate_make(st, (size_t)x) < 0)
		return -1;
	st->arms[x].pstate[0] = 0;
	return 0;
}

int
pb_policy_pair(struct pb_state *st, int i, int j)
{
	double thr;

	if (st->pol.kind != PB_POL_RACE || st->narms < 2)
		return 0;
	thr = pb_glr_threshold(st->narms, st->pol.delta);
	return race_check(st, i, thr) < 0 || race_check(st, j, thr) < 0 ? -1 : 0;
}

double
pb_policy_index(const struct pb_state *st, int i)
{
	const struct pb_arm *a = &st->arms[i];
	double lo, hi;

	switch (st->pol.kind) {
	case PB_POL_UCB1:
	case PB_POL_UCBV:
	case PB_POL_KLUCB:
		return ucb(st, i, total_n(st, 0), 0);
	case PB_POL_THOMPSON:
	case PB_POL_TOPTWO:
		return (st->pol.a0 + a->st.sum) /
		       (st->pol.a0 + st->pol.b0 + (double)a->st.n);
	case PB_POL_EXP3:
		return pstate_of(st, (size_t)i);
	case PB_POL_LUCB: /* the upper bound LUCB compares */
		if (!a->st.n)
			return NAN;
		pb_mix_bounds(a->st.sum, (double)a->st.n,
		              st->pol.delta / (double)st->narms, &lo, &hi);
		return hi;
	case PB_POL_HALVING:
	case PB_POL_REJECTS:
	case PB_POL_RACE:
		if (pstate_of(st, (size_t)i) == 0)
			return NAN; /* out of the race */
		break;
	case PB_POL_UNIFORM:
	case PB_POL_EPSILON:
	case PB_POL_SOFTMAX:
		break;
	}
	return a->st.n ? pb_stats_mean(&a->st) : NAN;
}

/* ---------------------------------------------------------------- stop */

int
pb_policy_done(const struct pb_state *st, char why[PB_ERRLEN], int *best)
{
	int b = pb_glr_leader(st), done = 0;
	long spent = st->next_pull - 1, n = (long)total_n(st, 0);

	switch (st->pol.kind) {
	case PB_POL_LUCB:
	case PB_POL_TOPTWO:
		done = st->pol.kind == PB_POL_LUCB ?
		       pb_box_stop(st, st->pol.delta, &b, NULL) :
		       pb_glr_stop(st, st->pol.delta, &b, NULL);
		if (done)
			snprintf(why, PB_ERRLEN, "arm %s is best with confidence "
			         "1-delta = %g after %ld pulls", st->arms[b].id,
			         1 - st->pol.delta, n);
		break;
	case PB_POL_RACE:
		b = budget_best(st);
		if ((done = nalive(st) <= 1) && b >= 0)
			snprintf(why, PB_ERRLEN, "arm %s is best with confidence "
			         "1-delta = %g: every other arm lost a paired test "
			         "(%ld rewards)", st->arms[b].id, 1 - st->pol.delta, n);
		else if (done)
			snprintf(why, PB_ERRLEN, "one arm is left in the race, "
			         "with no rewards yet");
		break;
	case PB_POL_HALVING:
	case PB_POL_REJECTS:
		b = budget_best(st);
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
		break;
	default:
		break;
	}
	if (best)
		*best = b;
	return done;
}
