/* mc.c - Monte Carlo benchmark of sample efficiency: how many LLM calls
 * each best-arm policy of the library needs before its stopping rule
 * fires, and how often the arm it declares is wrong, in simulated worlds
 * of the kind pb-sim serves: P(correct) = sigmoid(skill - difficulty),
 * difficulty ~ N(0, sd^2) drawn afresh for every task.  No HTTP: the
 * policies run in process on a struct pb_state, thousands of runs in
 * seconds.
 *
 * Unpaired policies give every pull a fresh task, so a pull of arm k is
 * correct with probability exactly its marginal accuracy mu_k = E[sigmoid
 * (s_k - d)], which is what is drawn.  The paired policy (racing) sends
 * one task to every surviving arm: there the difficulty is drawn and
 * shared, so it cancels inside a pair.
 *
 * Finite pools (issue 10): a fixed task file at temperature 0, each (arm,
 * task) outcome frozen, run through the library's task pool as pb-sample
 * and pb-update run it; declarations are counted against the
 * POPULATION's best arm (run_finite).
 *
 * Each world prints two lower bounds and every method is compared with
 * the one that fits it (lower_bounds): unpaired methods with T*(mu)
 * log(1/delta), the paired ones (race, lucb -k m), which learn only from
 * tasks their arms share, with the paired kl(delta, 1-delta) (sum_j
 * 1/I_j + max_j 1/I_j).  World 4 breaks the model (an arm x task
 * interaction): every method's wrong declarations there.  The null table
 * (null_table) gives each rule's rate of declaring at all beside its
 * bound, and of ruling arm 0 out (race: knocking it out) beside delta,
 * in worlds of equal arms, and the closing summary puts world 1, the
 * finite pools and the null rates on one row per method.
 *
 * Built and run by tests/bench/mc.sh (cc -pthread -Ilib against
 * build/libpb.a).  Usage: mc [--seeds N] [--quick] [--threads N]
 * [--world 1|2|3|4] [--no-null] [--no-finite] [--finite-only]
 * [--race-only] [--method N] [--bounds-only] [--finite-seeds N].
 * --method N: only method N (0 uniform + GLR ... 8 top-two -k 2).  --quick:
 * 40 seeds, 100 a finite cell (N <= 1000), 200 a null cell, no runs in
 * world 3 (a few minutes on two cores). */
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pb.h"

#define MAXK 100

struct world {
	int k;
	double sd, best, second, low;
	double mu[MAXK], skill[MAXK];
	double inter; /* sd of an arm x task interaction (0: the Rasch model) */
};

/* World 4 breaks the model pb-sim simulates: P(correct) = sigmoid(skill
 * - d + e), e ~ N(0, 1) afresh for each arm and task, the skills
 * recalibrated so the marginal accuracies are world 1's (SPIKE.md's
 * world 4).  A method that assumed the Rasch model could err there. */
static struct world worlds[] = {
	{ 25, 2.5, 0.68, 0.65, 0.55, { 0 }, { 0 }, 0 },
	{ 10, 1.5, 0.80, 0.70, 0.55, { 0 }, { 0 }, 0 },
	{ 100, 2.5, 0.70, 0.67, 0.55, { 0 }, { 0 }, 0 },
	{ 25, 2.5, 0.68, 0.65, 0.55, { 0 }, { 0 }, 1 },
};
#define NWORLD (int)(sizeof worlds / sizeof *worlds)

enum strat { S_UNIFORM, S_UNIBOX, S_UCB1, S_LUCB, S_RACE, S_TOPTWO, S_LUCB2,
	S_LUCB4, S_TT2, NSTRAT };
static const char *strat_name[NSTRAT] = {
	"uniform + GLR stop", "uniform + box stop", "ucb1 + GLR stop",
	"lucb (box stop)", "race (paired)", "top-two (GLR stop)",
	"lucb -k 2 (paired)", "lucb -k 4 (paired)", "top-two -k 2 (paired)",
};
static const char *strat_policy[NSTRAT] = {
	"uniform", "uniform", "ucb1", "lucb", "race", "top-two", "lucb", "lucb",
	"top-two",
};
/* Whether a method learns from tasks its arms share (its bound is the
 * paired one) or from independent pulls (the unpaired one); the arms a
 * task goes to (0: the policy's group, race's survivors; 1: unpaired). */
static const int strat_paired[NSTRAT] = { 0, 0, 0, 0, 1, 0, 1, 1, 1 };
static const int strat_k[NSTRAT] = { 1, 1, 1, 1, 0, 1, 2, 4, 2 };
/* The bound on declaring at all in a null world (K equal arms), in units
 * of delta: the GLR rule at log((K-1)/delta) K/(K-1) (a verdict for L
 * needs Z(L, a) high for one fixed best arm a != L, a union over K);
 * the box rule 1 (a verdict needs an interval to fail); race 2 (arm 0 or
 * arm 1 knocked out); paired lucb 1.95 (an interval at 0.05 delta / K
 * failing, or arm 0 or arm 1 knocked out at 0.95 delta); paired top-two
 * 1.9 + 0.05 K/(K-1) (the GLR rule at 0.05 delta, or arm 0 or 1 knocked
 * out at 0.95 delta).  0: K/(K-1); -1: paired top-two's. */
static const double strat_declare[NSTRAT] = { 0, 1, 0, 1, 2, 0, 1.95, 1.95, -1 };

static double delta = 0.05;
static long caps[NSTRAT] = { 5000000, 5000000, 1000000, 2000000, 2000000, 2000000,
                             2000000, 2000000, 2000000 };

static double
sigmoid(double x)
{
	return 1 / (1 + exp(-x));
}

/* E[sigmoid(s - sd z)], z ~ N(0,1), by Simpson's rule on [-9, 9]. */
static double
accuracy(double s, double sd)
{
	const int n = 2000;
	double h = 18.0 / n, sum = 0, z, w;
	int i;

	for (i = 0; i <= n; i++) {
		z = -9 + i * h;
		w = i == 0 || i == n ? 1 : i % 2 ? 4 : 2;
		sum += w * sigmoid(s - sd * z) * exp(-z * z / 2);
	}
	return sum * h / 3 / sqrt(2 * M_PI);
}

/* Skills that hit the target accuracies: best, runner-up, and the rest
 * evenly spaced below the runner-up down to low (with an interaction,
 * the marginal: skill - d + e is N(skill, sd^2 + inter^2)). */
static void
calibrate(struct world *w)
{
	double sd = sqrt(w->sd * w->sd + w->inter * w->inter);
	int i, it;

	for (i = 0; i < w->k; i++) {
		double lo = -30, hi = 30;
		w->mu[i] = i == 0 ? w->best : i == 1 ? w->second :
		           w->second - (w->second - w->low) * (i - 1) / (w->k - 2);
		for (it = 0; it < 100; it++) {
			double mid = (lo + hi) / 2;
			if (accuracy(mid, sd) < w->mu[i])
				lo = mid;
			else
				hi = mid;
		}
		w->skill[i] = (lo + hi) / 2;
	}
}

/* P(an arm of skill s is right on a task of difficulty d): with an
 * interaction, E over e (a coarser rule: it runs inside joint's). */
static double
p_right(const struct world *w, double s, double d)
{
	const int n = 60;
	double h = 12.0 / n, sum = 0, z;
	int i;

	if (w->inter == 0)
		return sigmoid(s - d);
	for (i = 0; i <= n; i++) {
		z = -6 + i * h;
		sum += (i == 0 || i == n ? 1 : i % 2 ? 4 : 2) *
		       sigmoid(s - d + w->inter * z) * exp(-z * z / 2);
	}
	return sum * h / 3 / sqrt(2 * M_PI);
}

/* ------------------------------------------------------ lower bounds */

/* The joint law of two arms' rewards on one shared task, integrated over
 * the world's difficulty N(0, sd^2) by Simpson's rule on [-9, 9] sd:
 * p10 = P(a right, b wrong), p01 = P(a wrong, b right), p11 both right. */
static void
joint(const struct world *w, int a, int b, double *p10, double *p01, double *p11)
{
	const int n = 4000;
	double h = 18.0 / n, s10 = 0, s01 = 0, s11 = 0, c = h / 3 / sqrt(2 * M_PI);
	int i;

	for (i = 0; i <= n; i++) {
		double z = -9 + i * h, g = (i == 0 || i == n ? 1 : i % 2 ? 4 : 2) * exp(-z * z / 2);
		double pa = p_right(w, w->skill[a], w->sd * z),
		       pb = p_right(w, w->skill[b], w->sd * z);
		s10 += g * pa * (1 - pb);
		s01 += g * (1 - pa) * pb;
		s11 += g * pa * pb;
	}
	*p10 = s10 * c;
	*p01 = s01 * c;
	*p11 = s11 * c;
}

/* I_j: the information one shared task carries against "b is at least
 * as good as a", inf over joint laws Q with E_Q[r_a - r_b] <= 0 of
 * KL(P || Q) = s kl(p10 / s, 1/2), s = p10 + p01 the discordance (the
 * least favourable Q moves mass between the two discordant cells). */
static double
pair_info(const struct world *w, int a, int b)
{
	double p10, p01, p11, s;

	joint(w, a, b, &p10, &p01, &p11);
	s = p10 + p01;
	return s > 0 ? s * pb_kl_bern(p10 / s, 0.5) : 0;
}

static double
kl4(const double *p, const double *q)
{
	double r = 0;
	int i;

	for (i = 0; i < 4; i++)
		if (p[i] > 0)
			r += p[i] * log(p[i] / q[i]);
	return r;
}

/* The crude two-arm paired bound's rate for best a and runner-up b, any
 * design: per call at most max(KL_joint / 2, KL_a, KL_b) against the
 * least favourable joint law Q with E_Q r_b >= E_Q r_a (a call that
 * pairs gives half a joint observation, one that does not a marginal),
 * minimised over Q by a random search that narrows (SPIKE.md, Q6). */
static double
two_arm_rate(const struct world *w, int a, int b)
{
	double p[4], q[4], bq[4], best = INFINITY, p10, p01, p11;
	struct pb_rng r;
	int it, i;

	joint(w, a, b, &p10, &p01, &p11);
	p[0] = p11, p[1] = p10, p[2] = p01, p[3] = 1 - p11 - p10 - p01;
	memcpy(bq, p, sizeof p);
	pb_rng_seed(&r, 5);
	for (it = 0; it < 200000; it++) {
		double sc = it < 50000 ? 0.05 : 0.05 * exp(-(it - 50000) / 20000.0);
		double tot = 0, v, ma, mb, qa, qb;
		for (i = 0; i < 4; i++)
			tot += q[i] = bq[i] * exp(sc * pb_rng_normal(&r));
		for (i = 0; i < 4; i++)
			q[i] /= tot;
		if (q[1] > q[2]) /* the alternative: q10 <= q01 */
			q[1] = q[2] = (q[1] + q[2]) / 2;
		ma = p[0] + p[1], mb = p[0] + p[2], qa = q[0] + q[1], qb = q[0] + q[2];
		v = kl4(p, q) / 2;
		if (pb_kl_bern(ma, qa) > v)
			v = pb_kl_bern(ma, qa);
		if (pb_kl_bern(mb, qb) > v)
			v = pb_kl_bern(mb, qb);
		if (v < best)
			best = v, memcpy(bq, q, sizeof q);
	}
	return best;
}

struct bounds {
	double unpaired, unpaired_kl; /* T* log(1/delta), T* kl(delta, 1-delta) */
	double paired, paired_log;    /* kl(d,1-d) (sum + max of 1/I_j); log(1/d) (...) */
	double crude;                 /* kl(d,1-d) / two-arm rate, best vs second */
	double ts, i1;                /* T*; I_1 (best vs second) */
};

/* The lower bounds of world w at the bench's delta.  Unpaired (any
 * method whose pulls are independent given the arm: uniform, ucb1,
 * lucb, top-two): Garivier and Kaufmann's T*(mu) log(1/delta), from the
 * marginal accuracies alone.  Paired (methods that learn best vs j only
 * from tasks both answered: race): each arm j must answer n_j =
 * kl(delta, 1-delta) / I_j tasks beside the best, and the best must
 * answer max_j n_j of them, so sum_j n_j + max_j n_j calls. */
static struct bounds
lower_bounds(const struct world *w)
{
	struct bounds b;
	double sum = 0, max = 0, kld = pb_kl_bern(delta, 1 - delta);
	int j;

	b.ts = pb_char_time(w->mu, (size_t)w->k, NULL);
	b.unpaired = b.ts * log(1 / delta);
	b.unpaired_kl = b.ts * kld;
	for (j = 1; j < w->k; j++) {
		double inv = 1 / pair_info(w, 0, j);
		sum += inv;
		if (inv > max)
			max = inv;
	}
	b.i1 = pair_info(w, 0, 1);
	b.paired = kld * (sum + max);
	b.paired_log = log(1 / delta) * (sum + max);
	b.crude = kld / two_arm_rate(w, 0, 1);
	return b;
}

struct result {
	long calls;
	int wrong, capped;
	int declared, best; /* the rule fired; the arm it named (else -1) */
	int out0;           /* arm 0 was ruled out: declared another arm, or
	                     * (race) knocked out before the cap */
};

struct job {
	const struct world *w;
	enum strat s;
	int nseeds, next;
	struct result *res;
	pthread_mutex_t mu;
	int null;           /* the all-equal world: any declaration counts */
	int widx;           /* the world's number, for the seeds */
};

/* A state with k arms and the given policy, as pb-update --init makes;
 * the policies with a stopping rule of their own (lucb, top-two, race)
 * get delta=DELTA, the bench's delta. */
static void
make_state_k(struct pb_state *st, int k, const char *policy, int pk)
{
	char err[PB_ERRLEN], *buf = malloc((size_t)k * 24 + 1), spec[64];
	struct pb_policy pol;
	FILE *fp;
	int i, off = 0;

	for (i = 0; i < k; i++)
		off += sprintf(buf + off, "{\"id\":\"arm%d\"}\n", i);
	if ((!strcmp(policy, "lucb") || !strcmp(policy, "top-two")) && pk >= 2)
		snprintf(spec, sizeof spec, "%s:delta=%.17g,k=%d", policy, delta, pk);
	else if (!strcmp(policy, "lucb") || !strcmp(policy, "top-two") || !strcmp(policy, "race"))
		snprintf(spec, sizeof spec, "%s:delta=%.17g", policy, delta);
	else
		snprintf(spec, sizeof spec, "%s", policy);
	fp = fmemopen(buf, (size_t)off, "r");
	if (!fp || pb_policy_parse(&pol, spec, err) < 0 ||
	    pb_state_new(st, fp, "arms", &pol, 1, err) < 0) {
		fprintf(stderr, "mc: %s\n", err);
		exit(2);
	}
	fclose(fp);
	free(buf);
}

static void
make_state(struct pb_state *st, int k, const char *policy)
{
	make_state_k(st, k, policy, 1);
}

/* One unpaired run: select, reward, and check the stopping rule every
 * t/1000 pulls (so it fires at most 0.1% late; the rule is valid at any
 * time, so checking less often never makes it wrong). */
static struct result
run_unpaired(const struct world *w, enum strat s, uint64_t seed)
{
	struct pb_state st;
	struct pb_rng r;
	struct result res = { 0, 0, 0, 0, -1, 0 };
	long t = 0, check = 1, cap = caps[s];
	int best = -1, k = w->k, a;
	char why[PB_ERRLEN];

	make_state(&st, k, strat_policy[s]);
	pb_rng_seed(&st.rng, seed);
	pb_rng_seed(&r, seed ^ 0xabcdef12345ULL);
	for (;;) {
		if (t >= check) {
			int done = s == S_UNIFORM || s == S_UCB1 ?
			           pb_glr_stop(&st, delta, &best, NULL) :
			           s == S_UNIBOX ? pb_box_stop(&st, delta, &best, NULL) :
			           pb_policy_done(&st, why, &best);
			if (done)
				break;
			check = t + (t / 1000 > 1 ? t / 1000 : 1);
		}
		if (t >= cap) {
			res.capped = 1;
			break;
		}
		/* Uniform is round robin in file order, as pb_policy_select's
		 * uniform (checked once at start-up); the shortcut saves O(K). */
		a = s == S_UNIFORM || s == S_UNIBOX ? (int)(t % k) :
		    pb_policy_select(&st);
		pb_stats_add(&st.arms[a].st, pb_rng_uniform(&r) < w->mu[a] ? 1 : 0);
		t++;
	}
	res.calls = t;
	res.declared = !res.capped;
	res.best = res.declared ? best : -1;
	res.wrong = res.declared && best != 0;
	res.out0 = res.wrong;
	pb_state_free(&st);
	return res;
}

/* A pull of arm back in (context c's too, c >= 0): pb_state_hand_out
 * counted it pending, and pb-update's next load recounts the pulls
 * still out, so a run of the pipeline sees it pending only until its
 * reward is applied.  Without this, pending pulls pile up in a run of
 * the bench and the policies that count them at the arm's mean (lucb)
 * see inflated counts. */
static void
back(struct pb_state *st, int c, int arm)
{
	if (st->arms[arm].pending > 0)
		st->arms[arm].pending--;
	if (c >= 0 && st->ctx[c].arms[arm].pending > 0)
		st->ctx[c].arms[arm].pending--;
}

/* Whether arm 0 is among the m arms a task goes to (race: the
 * survivors); how the bench sees a knock-out through the public API. */
static int
has_arm0(const int *arm, int m)
{
	int i;

	for (i = 0; i < m; i++)
		if (arm[i] == 0)
			return 1;
	return 0;
}

/* One run of a paired method, through the same library calls as the
 * pipeline: pb_state_choose gives the task to the policy's group (race:
 * the survivors; lucb -k m: the leader and m - 1 challengers), as
 * pb-sample -k does, each reward goes through pb_state_apply (pb-update),
 * which pairs it with the group's other rewards and lets the policy
 * knock out a loser.  A fresh task's difficulty is shared by the group
 * (and in world 4 each arm adds its own interaction). */
static struct result
run_race(const struct world *w, enum strat s, uint64_t seed)
{
	struct pb_state st;
	struct pb_rng r;
	struct result res = { 0, 0, 0, 0, -1, 0 };
	char err[PB_ERRLEN];
	int arm[MAXK], best = -1, m, i;
	double d;

	make_state_k(&st, w->k, strat_policy[s], strat_k[s]);
	if (pb_history_take(&st) == 0) /* no history points (see run_finite) */
		st.hist->next = LONG_MAX;
	pb_rng_seed(&st.rng, seed ^ 0x77ULL);
	pb_rng_seed(&r, seed);
	while (!pb_state_done(&st, -1, err, &best)) {
		if (res.calls >= caps[s]) {
			res.capped = 1;
			break;
		}
		if ((m = pb_state_choose(&st, -1, (size_t)strat_k[s], NULL, arm)) <= 0 ||
		    pb_state_begin_batch(&st, 0) < 0)
			exit(2);
		st.batch[st.nbatch - 1].k = m;
		if (s == S_RACE)
			res.out0 |= !has_arm0(arm, m);
		d = w->sd * pb_rng_normal(&r);
		for (i = 0; i < m; i++)
			pb_state_hand_out(&st, arm[i]);
		for (i = 0; i < m; i++) {
			long id = st.next_pull - m + i;
			double e = w->inter ? w->inter * pb_rng_normal(&r) : 0;
			double rw = pb_rng_uniform(&r) < sigmoid(w->skill[arm[i]] - d + e);
			if (pb_state_apply(&st, id, arm[i], rw, err) != 0) {
				fprintf(stderr, "mc: %s\n", err);
				exit(2);
			}
			back(&st, -1, arm[i]);
		}
		res.calls += m;
	}
	/* the last task's rewards may have knocked arm 0 out: the survivors,
	 * as the next task would get them, say */
	if (s == S_RACE && res.capped && (m = pb_state_choose(&st, -1, 0, NULL, arm)) > 0)
		res.out0 |= !has_arm0(arm, m);
	res.declared = !res.capped;
	res.best = res.declared ? best : -1;
	res.wrong = res.declared && best != 0;
	res.out0 |= res.wrong;
	pb_state_free(&st);
	return res;
}

static void *
worker(void *arg)
{
	struct job *j = arg;
	int i;

	for (;;) {
		pthread_mutex_lock(&j->mu);
		i = j->next++;
		pthread_mutex_unlock(&j->mu);
		if (i >= j->nseeds)
			return NULL;
		uint64_t seed = 1000003ULL * (uint64_t)(i + 1) + 7919ULL * (uint64_t)j->s +
		                (uint64_t)j->widx * 104729ULL + (uint64_t)j->null;
		j->res[i] = strat_paired[j->s] ? run_race(j->w, j->s, seed) :
		            run_unpaired(j->w, j->s, seed);
		if (j->null) /* every arm is a best arm: any stop is a claim too many */
			j->res[i].wrong = !j->res[i].capped;
	}
}

static int
cmplong(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;
	return (x > y) - (x < y);
}

struct summary {
	double median, p90;
	int wrong, capped, n;
};

/* World 1's rows, for the summary and the goals. */
static struct {
	struct summary sm[NSTRAT];
	double lb[NSTRAT];
	int run[NSTRAT];
} w1;

static struct summary
run_job(const struct world *w, enum strat s, int nseeds, int nthreads, int null)
{
	struct job j = { w, s, nseeds, 0, calloc((size_t)nseeds, sizeof *j.res),
	                 PTHREAD_MUTEX_INITIALIZER, null, (int)(w - worlds) };
	pthread_t th[16];
	long *calls = malloc((size_t)nseeds * sizeof *calls);
	struct summary sm = { 0, 0, 0, 0, nseeds };
	int i;

	for (i = 0; i < nthreads; i++)
		pthread_create(&th[i], NULL, worker, &j);
	for (i = 0; i < nthreads; i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < nseeds; i++) {
		calls[i] = j.res[i].calls;
		sm.wrong += j.res[i].wrong;
		sm.capped += j.res[i].capped;
	}
	qsort(calls, (size_t)nseeds, sizeof *calls, cmplong);
	sm.median = nseeds % 2 ? (double)calls[nseeds / 2] :
	            (calls[nseeds / 2 - 1] + calls[nseeds / 2]) / 2.0;
	sm.p90 = (double)calls[(int)ceil(0.9 * nseeds) - 1];
	free(calls);
	free(j.res);
	return sm;
}

/* Mean pseudo-regret sum(mu* - mu_a) over the first n pulls. */
static void
regret(const struct world *w, const char *policy, int nseeds, long n)
{
	double sum = 0, sumsq = 0;
	int i;

	for (i = 0; i < nseeds; i++) {
		struct pb_state st;
		struct pb_rng r;
		double reg = 0;
		long t;
		make_state(&st, w->k, policy);
		pb_rng_seed(&st.rng, 77 + (uint64_t)i);
		pb_rng_seed(&r, 99991 * (uint64_t)(i + 1));
		for (t = 0; t < n; t++) {
			int a = pb_policy_select(&st);
			reg += w->mu[0] - w->mu[a];
			pb_stats_add(&st.arms[a].st, pb_rng_uniform(&r) < w->mu[a] ? 1 : 0);
		}
		sum += reg;
		sumsq += reg * reg;
		pb_state_free(&st);
	}
	printf("  %-22s %8.1f  (+- %.1f)\n", policy, sum / nseeds,
	       sqrt((sumsq / nseeds - (sum / nseeds) * (sum / nseeds)) / nseeds));
}

/* The bench's uniform shortcut must be the library's round robin. */
static void
check_uniform(void)
{
	struct pb_state st;
	int t;

	make_state(&st, 7, "uniform");
	for (t = 0; t < 70; t++) {
		int a = pb_policy_select(&st);
		if (a != t % 7) {
			fprintf(stderr, "mc: uniform is not round robin at pull %d\n", t);
			exit(2);
		}
		pb_stats_add(&st.arms[a].st, t % 3 == 0);
	}
	pb_state_free(&st);
}

/* ------------------------------------------------------- finite pools */

/* A finite world: N tasks with frozen difficulties, and each (arm, task)
 * outcome a frozen draw, as a fixed task file at temperature 0 is.  The
 * policies run through the library's task pool exactly as pb-sample and
 * pb-update drive it: each arm walks the pool's random order, a group
 * gets the first position none of its arms has used, and the run ends
 * when the rule fires (a declaration) or the pool is exhausted for the
 * arms in contention (none).  A declaration is wrong unless it names the
 * POPULATION's best arm (arm 0; in a null world every declaration is
 * wrong). */
struct fworld {
	const char *name;
	int k, graded, null;
	double sd, mu[8], skill[8];
};

/* The stopping rule of method s on st's applied rewards (context ctx):
 * the GLR or box rule for the policies without one of their own. */
static int
stop_rule(const struct pb_state *st, enum strat s, int ctx, int *best)
{
	char why[PB_ERRLEN];

	if (s == S_UNIFORM || s == S_UCB1)
		return pb_glr_stop(st, delta, best, NULL);
	if (s == S_UNIBOX)
		return pb_box_stop(st, delta, best, NULL);
	return pb_state_done(st, ctx, why, best);
}

/* What the closing table quotes of the finite pools, per method: wrong
 * declarations over every non-graded cell, and the "apart" world at
 * N = 1000 (calls, declared). */
static struct {
	int wrong, runs, apart_decl, apart_n;
	long apart_median;
} fsum[NSTRAT];

struct fresult {
	long calls;
	int declared, wrong, covered[8], exhausted;
};

static struct fresult
run_finite(const struct fworld *w, enum strat s, long N, uint64_t seed)
{
	struct pb_state st;
	struct pb_rng r;
	struct fresult res = { 0 };
	char err[PB_ERRLEN], why[PB_ERRLEN], buf[32];
	unsigned char *out, mask[8];
	double *d = malloc((size_t)N * sizeof *d);
	float *o = malloc((size_t)N * (size_t)w->k * sizeof *o);
	char **ids = malloc((size_t)N * sizeof *ids);
	uint64_t *digs = malloc((size_t)N * sizeof *digs);
	long *pos = malloc((size_t)N * sizeof *pos), t = 0, check = 1, i;
	int best = -1, arms[8], m, a, any_out = 0, done = 0;

	make_state_k(&st, w->k, strat_policy[s], strat_k[s]);
	/* no history points: they are for people, and cost Monte Carlo
	 * draws (pb_policy_probs) that would dominate the bench's time */
	if (pb_history_take(&st) == 0)
		st.hist->next = LONG_MAX;
	pb_rng_seed(&st.rng, seed);
	pb_rng_seed(&r, seed ^ 0x5eed5eedULL);
	for (i = 0; i < N; i++) {
		d[i] = w->sd * pb_rng_normal(&r);
		for (a = 0; a < w->k; a++) {
			double p = sigmoid(w->skill[a] - d[i]);
			if (!w->graded)
				o[i * w->k + a] = pb_rng_uniform(&r) < p;
			else /* a: 1 w.p. 0.45 else 0.5 (0.725); others 0.55 */
				o[i * w->k + a] = a == 0 ? (pb_rng_uniform(&r) < 0.45 ? 1 : 0.5) : 0.55f;
		}
		snprintf(buf, sizeof buf, "%ld", i);
		ids[i] = strdup(buf);
		digs[i] = (uint64_t)i;
	}
	if (pb_state_learn(&st, -1, (size_t)N, ids, digs, pos) < 0)
		exit(2);
	out = mask;
	for (;;) {
		if (t >= check) {
			if ((done = stop_rule(&st, s, -1, &best)))
				break;
			check = t + (t / 1000 > 1 ? t / 1000 : 1);
		}
		for (a = 0, any_out = 0; a < w->k; a++)
			any_out |= (mask[a] = st.arms[a].cursor < N) == 0;
		if (any_out && pb_state_exhausted(&st, -1, why)) {
			/* the rule's last look, on everything applied */
			done = stop_rule(&st, s, -1, &best);
			res.exhausted = !done;
			break;
		}
		if ((m = pb_state_choose(&st, -1, (size_t)strat_k[s],
		                         any_out ? mask : NULL, arms)) <= 0) {
			res.exhausted = 1;
			break;
		}
		long at = pb_state_next_pos(&st, -1, arms, (size_t)m, NULL);
		if (at < 0 || pb_state_begin_batch(&st, 0) < 0)
			exit(2);
		st.batch[st.nbatch - 1].k = m;
		for (a = 0; a < m; a++)
			pb_state_hand_out_task(&st, arms[a], -1, at);
		long task = atol(st.tasks.id[at]);
		for (a = 0; a < m; a++)
			if (pb_state_apply(&st, st.next_pull - m + a, arms[a],
			                   o[task * w->k + arms[a]], err) != 0) {
				fprintf(stderr, "mc: %s\n", err);
				exit(2);
			} else
				back(&st, -1, arms[a]);
		t += m;
	}
	(void)out;
	res.calls = t;
	res.declared = done;
	res.wrong = done && (w->null || best != 0);
	/* coverage at the stop of each arm's anytime interval (1 - delta
	 * each) of its population mean */
	for (a = 0; a < w->k; a++) {
		double lo, hi, mu = w->graded ? (a == 0 ? 0.725 : 0.55) : w->mu[a];
		pb_mix_bounds(st.arms[a].st.sum, (double)st.arms[a].st.n, delta, &lo, &hi);
		res.covered[a] = lo <= mu && mu <= hi;
	}
	for (i = 0; i < N; i++)
		free(ids[i]);
	free(ids);
	free(digs);
	free(pos);
	free(d);
	free(o);
	pb_state_free(&st);
	return res;
}

struct fjob {
	const struct fworld *w;
	enum strat s;
	long N;
	int nseeds, next;
	struct fresult *res;
	pthread_mutex_t mu;
};

static void *
fworker(void *arg)
{
	struct fjob *j = arg;
	int i;

	for (;;) {
		pthread_mutex_lock(&j->mu);
		i = j->next++;
		pthread_mutex_unlock(&j->mu);
		if (i >= j->nseeds)
			return NULL;
		j->res[i] = run_finite(j->w, j->s, j->N, 7777ULL * (uint64_t)(i + 1) +
		                       31ULL * (uint64_t)j->N + (uint64_t)j->s);
	}
}

/* The finite-pool table: wrong declarations against the population's
 * best, runs that exhausted the pool, median calls, and the worst arm's
 * coverage at the stop.  Returns 0 if some rule was wrong more often
 * than delta (with a binomial allowance: > delta n + 2 sqrt(delta n)). */
static int
finite_pools(int nseeds, int nthreads, int quick)
{
	static struct fworld fw[] = {
		{ "null: 6 equal arms (0.60)", 6, 0, 1, 2.5, { .6, .6, .6, .6, .6, .6 }, { 0 } },
		{ "near-null: 0.62 vs 5 x 0.60", 6, 0, 0, 2.5, { .62, .6, .6, .6, .6, .6 }, { 0 } },
		{ "apart: 0.75 0.65 0.60 0.55 0.50 0.45", 6, 0, 0, 2.5,
		  { .75, .65, .6, .55, .5, .45 }, { 0 } },
		{ "graded: 0.725 (median 0.5) vs 0.55", 2, 1, 0, 0, { .725, .55 }, { 0 } },
	};
	long Ns[] = { 50, 200, 1000, 5000 };
	int nN = quick ? 3 : 4, wi, ni, si, i, a, ok = 1;
	pthread_t th[16];

	printf("\nfinite pools: each (arm, task) outcome a frozen draw (a task file at "
	       "temperature 0);\nwrong = declarations not naming the population's best "
	       "arm (null: any declaration);\nexhausted = runs that used up the pool "
	       "without a verdict; cover = the worst arm's\nshare of runs whose "
	       "anytime interval (1 - delta) held its population mean at the stop\n");
	for (wi = 0; wi < (int)(sizeof fw / sizeof *fw); wi++) {
		struct fworld *w = &fw[wi];
		if (!w->graded) {
			struct world cw = { w->k, w->sd, w->mu[0], w->mu[1], w->mu[w->k - 1], { 0 }, { 0 }, 0 };
			for (a = 0; a < w->k; a++) {
				double lo = -30, hi = 30;
				int it;
				for (it = 0; it < 100; it++) {
					double mid = (lo + hi) / 2;
					if (accuracy(mid, w->sd) < w->mu[a])
						lo = mid;
					else
						hi = mid;
				}
				w->skill[a] = (lo + hi) / 2;
			}
			(void)cw;
		}
		printf("\n  %s\n  %-20s %6s %9s %10s %8s %7s\n", w->name, "policy", "N",
		       "wrong", "exhausted", "median", "cover");
		for (si = 0; si < NSTRAT; si++) {
			if (w->graded && si != S_RACE)
				continue;
			for (ni = 0; ni < nN; ni++) {
				struct fjob j = { w, (enum strat)si, Ns[ni], nseeds, 0,
				                  calloc((size_t)nseeds, sizeof *j.res),
				                  PTHREAD_MUTEX_INITIALIZER };
				long *calls = malloc((size_t)nseeds * sizeof *calls);
				int wrong = 0, exh = 0, cov[8] = { 0 }, mincov = nseeds;
				for (i = 0; i < nthreads; i++)
					pthread_create(&th[i], NULL, fworker, &j);
				for (i = 0; i < nthreads; i++)
					pthread_join(th[i], NULL);
				for (i = 0; i < nseeds; i++) {
					calls[i] = j.res[i].calls;
					wrong += j.res[i].wrong;
					exh += j.res[i].exhausted;
					for (a = 0; a < w->k; a++)
						cov[a] += j.res[i].covered[a];
				}
				for (a = 0; a < w->k; a++)
					if (cov[a] < mincov)
						mincov = cov[a];
				qsort(calls, (size_t)nseeds, sizeof *calls, cmplong);
				if (!w->graded) {
					fsum[si].wrong += wrong;
					fsum[si].runs += nseeds;
				}
				if (wi == 2 && Ns[ni] == 1000) {
					fsum[si].apart_median = calls[nseeds / 2];
					fsum[si].apart_decl = nseeds - exh;
					fsum[si].apart_n = nseeds;
				}
				printf("  %-20s %6ld %4d/%-4d %5d/%-4d %8ld %6.3f\n", strat_name[si],
				       Ns[ni], wrong, nseeds, exh, nseeds, calls[nseeds / 2],
				       (double)mincov / nseeds);
				fflush(stdout);
				if (wrong > delta * nseeds + 2 * sqrt(delta * nseeds))
					ok = 0;
				free(calls);
				free(j.res);
			}
		}
	}
	printf("\n  finite pools: wrong declarations within delta (binomial allowance): %s\n",
	       ok ? "yes" : "NO");
	return ok;
}

/* A two-context world: two pools of N tasks each (a task field naming
 * its context), four arms whose best differs by context.  The policy
 * chooses and stops in each context apart, as pb-sample does, each at
 * delta / 2 (pb_state_view).  A run is wrong if some context declares an
 * arm that is not that context's best; "totals" counts the runs in which
 * the GLR rule on the state's totals would have declared an arm that is
 * not the population-weighted best (what the report no longer does). */
static double ctxmu[2][4] = { { .80, .60, .55, .50 }, { .55, .70, .60, .50 } };

struct cresult {
	int wrong, declared, totals_wrong;
	long calls;
};

static struct cresult
run_contexts(enum strat s, long N, uint64_t seed)
{
	struct pb_state st;
	struct pb_rng r;
	struct cresult res = { 0 };
	char err[PB_ERRLEN], why[PB_ERRLEN], buf[32];
	const char *cname[2] = { "A", "B" };
	float *o = malloc(2 * (size_t)N * 4 * sizeof *o);
	char **ids = malloc((size_t)N * sizeof *ids);
	uint64_t *digs = malloc((size_t)N * sizeof *digs);
	long *pos = malloc((size_t)N * sizeof *pos), i, t = 0;
	int c, a, arms[4], m, stopped[2] = { 0, 0 }, best[2] = { -1, -1 }, tb = -1;
	double skill[2][4];
	unsigned char mask[4];

	make_state_k(&st, 4, strat_policy[s], strat_k[s]);
	st.ctx_field = strdup("domain");
	if (pb_history_take(&st) == 0)
		st.hist->next = LONG_MAX;
	pb_rng_seed(&st.rng, seed);
	pb_rng_seed(&r, seed ^ 0xc0ffeeULL);
	for (c = 0; c < 2; c++)
		for (a = 0; a < 4; a++) {
			double lo = -30, hi = 30;
			int it;
			for (it = 0; it < 60; it++) {
				double mid = (lo + hi) / 2;
				if (accuracy(mid, 2.5) < ctxmu[c][a])
					lo = mid;
				else
					hi = mid;
			}
			skill[c][a] = (lo + hi) / 2;
		}
	for (c = 0; c < 2; c++) {
		if (pb_state_add_ctx(&st, cname[c]) != c)
			exit(2);
		for (i = 0; i < N; i++) {
			double d = 2.5 * pb_rng_normal(&r);
			for (a = 0; a < 4; a++)
				o[(c * N + i) * 4 + a] = pb_rng_uniform(&r) < sigmoid(skill[c][a] - d);
			snprintf(buf, sizeof buf, "%ld", i);
			ids[i] = strdup(buf);
			digs[i] = (uint64_t)i;
		}
		if (pb_state_learn(&st, c, (size_t)N, ids, digs, pos) < 0)
			exit(2);
		for (i = 0; i < N; i++)
			free(ids[i]);
	}
	while (!stopped[0] || !stopped[1]) {
		c = (int)(t % 2);
		t++;
		if (stopped[c])
			continue;
		if (pb_state_done(&st, c, why, &best[c])) {
			stopped[c] = 1;
			res.declared++;
			res.wrong |= best[c] != (c == 0 ? 0 : 1);
			continue;
		}
		int any_out = 0;
		for (a = 0; a < 4; a++)
			any_out |= (mask[a] = st.ctx[c].arms[a].cursor < N) == 0;
		if (any_out && pb_state_exhausted(&st, c, why)) {
			stopped[c] = 2;
			continue;
		}
		if ((m = pb_state_choose(&st, c, (size_t)strat_k[s], any_out ? mask : NULL, arms)) <= 0) {
			stopped[c] = 2;
			continue;
		}
		long at = pb_state_next_pos(&st, c, arms, (size_t)m, NULL);
		if (at < 0 || pb_state_begin_batch(&st, 0) < 0)
			exit(2);
		st.batch[st.nbatch - 1].k = m;
		for (a = 0; a < m; a++)
			pb_state_hand_out_task(&st, arms[a], c, at);
		long task = atol(st.ctx[c].tasks.id[at]);
		for (a = 0; a < m; a++)
			if (pb_state_apply_ctx(&st, st.next_pull - m + a, arms[a],
			                       o[(c * N + task) * 4 + arms[a]], cname[c], err) != 0) {
				fprintf(stderr, "mc: %s\n", err);
				exit(2);
			} else
				back(&st, c, arms[a]);
		res.calls += m;
	}
	/* the totals' verdict, had it been given: against the weighted best */
	{
		struct pb_state tot = st;
		tot.ctx_field = NULL;
		tot.nctx = 0;
		if (pb_glr_stop(&tot, delta, &tb, NULL) && tb != 0)
			res.totals_wrong = 1;
	}
	free(o);
	free(ids);
	free(digs);
	free(pos);
	pb_state_free(&st);
	return res;
}

static int
two_contexts(int nseeds)
{
	static const enum strat cs[] = { S_LUCB, S_TOPTWO, S_RACE, S_LUCB2 };
	long Ns[] = { 200, 1000 };
	int ni, ci, si, i, ok = 1;

	printf("\ntwo contexts (A: 0.80 0.60 0.55 0.50; B: 0.55 0.70 0.60 0.50; weighted best:\n"
	       "arm 0 at 0.675): each context at delta/2; wrong = runs in which some context\n"
	       "named an arm not its best; totals = runs in which a GLR verdict on the totals\n"
	       "would have named an arm not the weighted best\n");
	printf("  %-20s %6s %9s %9s %9s %8s\n", "policy", "N", "wrong", "declared", "totals", "median");
	for (ci = 0; ci < (int)(sizeof cs / sizeof *cs); ci++)
		for (ni = 0; ni < 2; ni++) {
			si = cs[ci];
			int wrong = 0, decl = 0, tot = 0;
			long *calls = malloc((size_t)nseeds * sizeof *calls);
			for (i = 0; i < nseeds; i++) {
				struct cresult cr = run_contexts((enum strat)si, Ns[ni],
				                                 424242ULL * (uint64_t)(i + 1) + (uint64_t)si);
				wrong += cr.wrong;
				decl += cr.declared;
				tot += cr.totals_wrong;
				calls[i] = cr.calls;
			}
			qsort(calls, (size_t)nseeds, sizeof *calls, cmplong);
			printf("  %-20s %6ld %4d/%-4d %4d/%-4d %4d/%-4d %8ld\n", strat_name[si], Ns[ni],
			       wrong, nseeds, decl, 2 * nseeds, tot, nseeds, calls[nseeds / 2]);
			fflush(stdout);
			if (wrong > delta * nseeds + 2 * sqrt(delta * nseeds))
				ok = 0;
			free(calls);
		}
	return ok;
}

/* ------------------------------------------------------- null worlds */

/* Runs of one null cell: each method's rule in a world of k equal arms
 * (0.6, difficulty sd 2.5), every run stopped at the cap. */
struct nullcell {
	int declared, out0, n;
};

static struct nullcell
null_cell(int k, enum strat s, double d, long cap, int nseeds, int nthreads)
{
	static struct world eq;
	struct nullcell c = { 0, 0, nseeds };
	long save[NSTRAT];
	double dsave = delta;
	int i;

	eq.k = k, eq.sd = 2.5, eq.best = eq.second = eq.low = 0.6;
	for (i = 0; i < k; i++)
		eq.mu[i] = 0.6;
	calibrate(&eq);
	for (i = 0; i < k; i++) /* one skill for all: exactly equal */
		eq.mu[i] = eq.mu[0], eq.skill[i] = eq.skill[0];
	memcpy(save, caps, sizeof caps);
	caps[s] = cap;
	delta = d;
	{
		struct job j = { &eq, s, nseeds, 0, calloc((size_t)nseeds, sizeof *j.res),
		                 PTHREAD_MUTEX_INITIALIZER, 1, 1000 + k };
		/* the same seeds at either delta (common random numbers) */
		pthread_t th[16];
		for (i = 0; i < nthreads; i++)
			pthread_create(&th[i], NULL, worker, &j);
		for (i = 0; i < nthreads; i++)
			pthread_join(th[i], NULL);
		for (i = 0; i < nseeds; i++) {
			c.declared += j.res[i].declared;
			c.out0 += j.res[i].out0;
		}
		free(j.res);
	}
	delta = dsave;
	memcpy(caps, save, sizeof caps);
	return c;
}

/* The null false-declaration rate of every rule beside delta.  In a null
 * world declaring at all is not by itself an error, and no rule promises
 * it stays below delta; what a delta-correct rule does promise follows by
 * continuity from the world where arm 0 is better by epsilon (there any
 * verdict other than arm 0 is wrong): P(declare an arm other than 0) <=
 * delta, and for the race, which errs by knocking the best out, P(arm 0
 * knocked out) <= delta.  "ruled 0 out" is that rate (for the unpaired
 * rules: declared another arm; for the race: arm 0 out of the survivors
 * at the stop or at the cap), with its binomial standard error
 * sqrt(p(1-p)/n); "spent" is it over delta.  Returns 0 if some rule's
 * rate exceeds delta by more than 2 standard errors at delta. */
static int
null_table(int nseeds, int nthreads, int quick, double out[2][NSTRAT])
{
	static const int ks[] = { 2, 5 };
	static const double ds[] = { 0.05, 0.5 };
	long cap2 = quick ? 50000 : 100000, cap5 = 20000;
	int ki, di, si, ok = 1;

	printf("\nnull worlds: K equal arms (0.6, sd 2.5), %d runs a cell, capped at %ld "
	       "calls (K = 2)\nand %ld (K = 5).  declared = runs whose rule fired, beside the "
	       "bound the rule's\nproof gives on it (GLR: delta K/(K-1); box: delta; race: "
	       "2 delta; paired lucb: 1.95 delta;\npaired top-two: delta (1.9 + 0.05 K/(K-1)));\nruled "
	       "0 out = runs that declared\nan arm other than arm 0 (race: knocked arm 0 "
	       "out), which must stay <= delta by\ncontinuity from the world where arm 0 "
	       "is better by epsilon; +- = binomial standard\nerror; spent = ruled 0 out / "
	       "delta (1 = the rule spends all its delta)\n", nseeds, cap2, cap5);
	for (ki = 0; ki < 2; ki++)
		for (di = 0; di < 2; di++) {
			printf("\n  K = %d, delta = %g (a rule spending all of it: %.3f+-%.3f)\n"
			       "  %-22s %17s %7s %24s %6s\n", ks[ki], ds[di], ds[di],
			       sqrt(ds[di] * (1 - ds[di]) / nseeds), "rule", "declared",
			       "(bound)", "ruled 0 out (<= delta)", "spent");
			for (si = 0; si < NSTRAT; si++) {
				struct nullcell c = null_cell(ks[ki], (enum strat)si, ds[di],
				                              ks[ki] == 2 ? cap2 : cap5, nseeds, nthreads);
				double n = c.n, pd = c.declared / n, p0 = c.out0 / n;
				double kk = (double)ks[ki] / (ks[ki] - 1);
				double db = ds[di] * (strat_declare[si] > 0 ? strat_declare[si] :
				            strat_declare[si] < 0 ? 1.9 + 0.05 * kk : kk);
				printf("  %-22s %5d/%-5d %.3f %7.3f %5d/%-5d %.3f+-%.3f %6.2f\n",
				       strat_name[si], c.declared, c.n, pd, db > 1 ? 1 : db, c.out0,
				       c.n, p0, sqrt(p0 * (1 - p0) / n), p0 / ds[di]);
				fflush(stdout);
				if (c.out0 > ds[di] * n + 2 * sqrt(ds[di] * (1 - ds[di]) * n))
					ok = 0;
				if (db < 1 && c.declared > db * n + 2 * sqrt(db * (1 - db) * n))
					ok = 0;
				if (ki == 1)
					out[di][si] = p0;
			}
		}
	printf("\n  null worlds: every rule's ruled-0-out rate within delta (2 s.e.): %s\n",
	       ok ? "yes" : "NO");
	return ok;
}

static void
fmt(char *buf, size_t n, double v, int capped)
{
	snprintf(buf, n, "%s%.0f", capped ? ">=" : "", v);
}

/* World wi's table: its bounds, then each method's calls to a verdict
 * over the bound that fits it (world 1's rows kept in w1 for the
 * summary).  Returns 0 if some method was wrong more often than delta. */
static int
world_table(int wi, int nseeds, int nthreads, int quick, int bounds_only, int only_strat)
{
	struct world *w = &worlds[wi];
	struct bounds bd;
	double cell_s;
	int i, ok = 1;

	calibrate(w);
	bd = lower_bounds(w);
	printf("\nworld %d: %d arms, difficulty sd %g%s, accuracies %.3f, %.3f, "
	       "..., %.3f (skills %.2f, %.2f, ..., %.2f)\n", wi + 1, w->k, w->sd,
	       w->inter ? " plus an arm x task interaction N(0, 1) (the Rasch model "
	       "broken)" : "",
	       w->mu[0], w->mu[1], w->mu[w->k - 1], w->skill[0], w->skill[1],
	       w->skill[w->k - 1]);
	printf("  unpaired bound T*(mu) log(1/delta) = %.0f calls (T* = %.0f; "
	       "T* kl(delta,1-delta) = %.0f)\n", bd.unpaired, bd.ts, bd.unpaired_kl);
	printf("  paired bound kl(delta,1-delta) (sum_j 1/I_j + max_j 1/I_j) = %.0f "
	       "calls (log(1/delta)\n  in place of kl: %.0f; I_1 = %.5f nats a shared "
	       "task), for methods that compare\n  the best with arm j only on tasks "
	       "both answered; crude two-arm paired bound,\n  best vs second, any "
	       "design: %.0f\n", bd.paired, bd.paired_log, bd.i1, bd.crude);
	if (bounds_only)
		return ok;
	if (quick && wi == 2) {
		printf("  (runs skipped in --quick: at K = 100 they take minutes; the full run "
		       "has them)\n");
		return ok;
	}
	printf("  %-22s %10s %10s %6s %7s %9s %-8s %6s\n", "policy", "median", "p90",
	       "wrong", "capped", "median/LB", "LB", "time");
	for (i = 0; i < NSTRAT; i++) {
		struct timespec c0, c1;
		double lb = strat_paired[i] ? bd.paired : bd.unpaired;
		if (only_strat >= 0 && i != only_strat)
			continue;
		clock_gettime(CLOCK_MONOTONIC, &c0);
		struct summary sm = run_job(w, (enum strat)i, nseeds, nthreads, 0);
		clock_gettime(CLOCK_MONOTONIC, &c1);
		cell_s = (double)(c1.tv_sec - c0.tv_sec) + (c1.tv_nsec - c0.tv_nsec) / 1e9;
		char m[32], p[32];
		fmt(m, sizeof m, sm.median, sm.capped * 2 > nseeds);
		fmt(p, sizeof p, sm.p90, sm.capped * 10 > nseeds);
		printf("  %-22s %10s %10s %3d/%d %4d/%d %9.2f %-8s %5.1fs\n", strat_name[i],
		       m, p, sm.wrong, nseeds, sm.capped, nseeds, sm.median / lb,
		       strat_paired[i] ? "paired" : "unpaired", cell_s);
		fflush(stdout);
		if (sm.wrong > delta * nseeds)
			ok = 0;
		if (wi == 0) {
			w1.sm[i] = sm;
			w1.lb[i] = lb;
			w1.run[i] = 1;
		}
	}
	return ok;
}

/* The goals of issues 3 and 15 on world 1's rows: the best method is
 * the one with the fewest median calls among those never capped. */
static void
goals(int all_ok)
{
	double best1 = INFINITY, lb1 = 1;
	const char *best1_name = "", *lb1_name = "";
	double uni1 = w1.sm[S_UNIFORM].median, unibox1 = w1.sm[S_UNIBOX].median;
	double ucb1 = w1.sm[S_UCB1].median;
	int ucb1_capped = w1.sm[S_UCB1].capped * 2 > w1.sm[S_UCB1].n, i;

	for (i = 0; i < NSTRAT; i++)
		if (w1.run[i] && w1.sm[i].capped == 0 && w1.sm[i].median < best1) {
			best1 = w1.sm[i].median;
			best1_name = strat_name[i];
			lb1 = w1.lb[i];
			lb1_name = strat_paired[i] ? "paired" : "unpaired";
		}
	printf("\ngoals (world 1): best policy %s, median %.0f calls\n",
	       best1_name, best1);
	printf("  wrong declarations <= delta in every world: %s\n",
	       all_ok ? "yes" : "NO");
	printf("  uniform (GLR stop) / best = %.2f (goal >= 20): %s\n",
	       uni1 / best1, uni1 / best1 >= 20 ? "met" : "NOT met");
	printf("  uniform (box stop, the rule of the issue's calibration) / "
	       "best = %.2f\n", unibox1 / best1);
	printf("  ucb1 / best %s %.2f (goal >= 4): %s%s\n", ucb1_capped ? ">=" : "=",
	       ucb1 / best1, ucb1 / best1 >= 4 ? "met" : "NOT met",
	       ucb1_capped ? " (ucb1 capped: true ratio larger)" : "");
	printf("  best / its (%s) lower bound = %.2f (goal <= 3): %s\n", lb1_name,
	       best1 / lb1, best1 / lb1 <= 3 ? "met" : "NOT met");
	printf("  best <= 10,000 calls (issue 15): %s\n", best1 <= 10000 ? "met" : "NOT met");
}

/* The closing note's table: one row per method run in world 1. */
static void
summary_table(int nseeds, int fseeds, double null5[2][NSTRAT])
{
	int i, wi;

	printf("\nsummary, one row per method (delta = %g): world 1 (unlimited fresh "
	       "tasks, %d runs):\nmedian calls, over the bound that fits the method "
	       "(LB), wrong; finite pools\n(%d runs a cell): wrong declarations "
	       "against the population over all non-graded\ncells, and the 'apart' "
	       "world at N = 1000 (runs declared, median calls, declared or not);\n"
	       "null: the rate of ruling arm 0 out with K = 5 equal arms, at delta = "
	       "0.05 and 0.5\n", delta, nseeds,
	       fseeds);
	printf("  %-22s %9s %6s %-8s %6s %12s %9s %6s %6s %6s\n", "method", "w1 median",
	       "/LB", "LB", "wrong", "finite wrong", "apart dec", "calls", "null05",
	       "null.5");
	for (i = 0; i < NSTRAT; i++) {
		char m[32], fw[32] = "-", ad[32] = "-", ac[32] = "-", nl[2][32] = { "-", "-" };
		if (!w1.run[i])
			continue;
		fmt(m, sizeof m, w1.sm[i].median, w1.sm[i].capped * 2 > w1.sm[i].n);
		if (fsum[i].runs)
			snprintf(fw, sizeof fw, "%d/%d", fsum[i].wrong, fsum[i].runs);
		if (fsum[i].apart_n) {
			snprintf(ad, sizeof ad, "%d/%d", fsum[i].apart_decl, fsum[i].apart_n);
			snprintf(ac, sizeof ac, "%ld", fsum[i].apart_median);
		}
		for (wi = 0; wi < 2; wi++)
			if (null5[wi][i] >= 0)
				snprintf(nl[wi], sizeof nl[wi], "%.3f", null5[wi][i]);
		printf("  %-22s %9s %6.2f %-8s %2d/%-3d %12s %9s %6s %6s %6s\n", strat_name[i], m,
		       w1.sm[i].median / w1.lb[i], strat_paired[i] ? "paired" : "unpaired",
		       w1.sm[i].wrong, w1.sm[i].n, fw, ad, ac, nl[0], nl[1]);
	}
}


int
main(int argc, char **argv)
{
	int nseeds = 200, nthreads = 2, only = -1, quick = 0, null = 1, i, wi;
	int finite = 1, fseeds = 300, unlimited = 1, only_strat = -1, bounds_only = 0;
	int all_ok = 1;
	double null5[2][NSTRAT];
	time_t t0 = time(NULL);

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--seeds") && i + 1 < argc)
			nseeds = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
			nthreads = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--world") && i + 1 < argc)
			only = atoi(argv[++i]) - 1;
		else if (!strcmp(argv[i], "--quick"))
			quick = 1;
		else if (!strcmp(argv[i], "--no-null"))
			null = 0;
		else if (!strcmp(argv[i], "--no-finite"))
			finite = 0;
		else if (!strcmp(argv[i], "--race-only"))
			only_strat = S_RACE;
		else if (!strcmp(argv[i], "--method") && i + 1 < argc)
			only_strat = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--bounds-only"))
			bounds_only = 1;
		else if (!strcmp(argv[i], "--finite-only"))
			unlimited = 0;
		else if (!strcmp(argv[i], "--finite-seeds") && i + 1 < argc)
			fseeds = atoi(argv[++i]);
		else {
			fprintf(stderr, "usage: mc [--seeds N] [--quick] [--threads N] "
			        "[--world 1|2|3|4] [--no-null] [--no-finite] [--finite-only] [--race-only] "
			        "[--bounds-only] [--finite-seeds N]\n");
			return 2;
		}
	}
	if (quick) {
		nseeds = nseeds < 40 ? nseeds : 40;
		caps[S_UNIFORM] = caps[S_UNIBOX] = 2000000;
		caps[S_UCB1] = 200000;
	}
	if (nseeds < 1 || nthreads < 1 || nthreads > 16)
		return 2;
	for (i = 0; i < NSTRAT; i++)
		null5[0][i] = null5[1][i] = -1;
	check_uniform();
	printf("Monte Carlo benchmark: delta = %g, %d seeds per cell, %d threads\n"
	       "calls = LLM calls until the stopping rule fired (median, 90th "
	       "percentile);\nwrong = runs that declared an arm other than the "
	       "best; capped = runs stopped\nat the cap (uniform %ld, ucb1 %ld, "
	       "others %ld calls) without a verdict.\n", delta, nseeds, nthreads,
	       caps[S_UNIFORM], caps[S_UCB1], caps[S_LUCB]);
	printf("GLR stop: leader's Z >= log((K-1)/delta), Z from Jeffreys-mixture "
	       "likelihoods; box stop:\nthe leader's anytime lower bound above every "
	       "other's upper one; race: the library's\npaired knock-out rule "
	       "(pb-update(1)), seen only through pb_state_done/pb_state_choose.\n");
	if (bounds_only)
		finite = null = 0;
	if (finite && !finite_pools(quick && fseeds > 100 ? 100 : fseeds, nthreads, quick))
		all_ok = 0;
	if (finite && !two_contexts(quick && fseeds > 100 ? 100 : fseeds))
		all_ok = 0;
	for (wi = 0; unlimited && wi < NWORLD; wi++)
		if ((only < 0 || wi == only) &&
		    !world_table(wi, nseeds, nthreads, quick, bounds_only, only_strat))
			all_ok = 0;
	if (null && unlimited &&
	    !null_table(quick ? 200 : 1000, nthreads, quick, null5))
		all_ok = 0;
	if (unlimited && !bounds_only && (only < 0 || only == 0)) {
		printf("\ncumulative regret after 5000 pulls, world 1 (mean over %d "
		       "seeds)\n", nseeds);
		regret(&worlds[0], "ucb1", nseeds, 5000);
		regret(&worlds[0], "kl-ucb", nseeds, 5000);
		regret(&worlds[0], "thompson", nseeds, 5000);
		summary_table(nseeds, quick && fseeds > 100 ? 100 : fseeds, null5);
		goals(all_ok);
	}
	printf("\n(%ld s)\n", (long)(time(NULL) - t0));
	return 0;
}
