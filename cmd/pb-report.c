/* pb-report - what a run learned and whether it is real: the ranking of
 * the arms of a state (or of the scored records of a run, replayed), with
 * intervals, the probability that each arm is best and the verdict; the
 * history of the run as a table, a text chart or a gnuplot picture; and
 * the validation of the chosen arm on held-out records. */
#include <errno.h>
#include <getopt.h>
#include <langinfo.h>
#include <locale.h>
#include <math.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../lib/pb.h"
#include "util.h"

extern char **environ;


static void
usage(FILE *fp, int status)
{
	fprintf(fp,
	    "usage: pb-report [-s STATE] [--json | --csv | --markdown] [--level L]\n"
	    "                 [--epsilon E] [--interval anytime|auto|bernstein]\n"
	    "                 [--draws N] [--seed N] [--price IN,OUT] [--history] [--chart]\n"
	    "                 [--plot FILE.svg|FILE.png] [--require verdict|uplift[:ALPHA]]\n"
	    "                 [--context VALUE]\n"
	    "       pb-report --replay [-s STATE] [options] [FILE...]\n"
	    "       pb-report --validate FILE [-s STATE] [--baseline ARM] [--arm ARM]\n"
	    "                 [--resamples B] [options]\n"
	    "Rank the arms of a state, best mean reward first, and give the verdict;\n"
	    "show how the run unfolded; check the winner on held-out records.\n"
	    "  -s, --state STATE the state file (default $PB_STATE)\n"
	    "      --json        one JSON object; its \"arms\" array is best first\n"
	    "      --csv         comma-separated values with a header line\n"
	    "      --markdown    a Markdown table\n"
	    "      --level L     confidence level of the intervals (default 0.95)\n"
	    "      --epsilon E   also name the arms that may be within E of the best\n"
	    "      --interval M  anytime (valid at any stop: the default but for\n"
	    "                    --validate), auto (fixed-sample: Wilson for 0/1\n"
	    "                    rewards, else Student t) or bernstein\n"
	    "      --draws N     Monte Carlo draws for P(best) (default 10000)\n"
	    "      --seed N      seed of P(best) and the bootstrap (default 1)\n"
	    "      --price IN,OUT dollars per million input and output tokens\n"
	    "      --history     the history of the run instead of the ranking\n"
	    "      --chart       text charts of the history, even off a terminal\n"
	    "      --plot FILE   draw the history with gnuplot into FILE.svg or .png\n"
	    "      --context VALUE  the ranking of one context only (default: the\n"
	    "                    totals, then each context)\n"
	    "      --require G   exit 4 unless the verdict is reached (verdict) or the\n"
	    "                    held-out uplift is significant (uplift[:ALPHA])\n"
	    "      --replay      rebuild the ranking from scored records (FILE... or\n"
	    "                    stdin) and check that they agree with the state\n"
	    "      --validate FILE  held-out scored records: accuracy and uplift\n"
	    "      --force       --validate even on tasks used in training (a warning)\n"
	    "      --baseline ARM   the arm uplift is measured against\n"
	    "      --arm ARM     the arm the run chose (default: the state's leader)\n"
	    "      --resamples B paired bootstrap resamples (default 10000)\n"
	    "  -h, --help        show this help\n"
	    "      --version     show the version\n");
	usage_end(fp, status);
}

/* Everything the options decide. */
struct opts {
	enum { F_TABLE, F_JSON, F_CSV, F_MD } format;
	double level, eps, price_in, price_out, alpha_gate;
	const char *interval, *plot, *validate, *baseline, *arm, *spath, *context;
	long draws, resamples;
	uint64_t seed;
	int history, chart, replay, price, force;
	enum { G_NONE, G_VERDICT, G_UPLIFT } gate;
};

/* ================================================================ ranking */

struct row {
	int arm;
	double mean, lo, hi, index, share, prob, pbest;
	double plo, phi;      /* the mean on the pool's tasks themselves
	                       * (pool_interval), or NAN */
	const char *method;
};

/* Which arm is best, as far as the state can tell (pb-report(1)). */
struct verdict {
	int done, best;
	double conf;          /* 1 - delta; NAN for a fixed budget */
	const char *rule;     /* "glr", "box" or "budget" */
	unsigned char *open;  /* per arm: not yet separated (budget: still in) */
	double delta;         /* error probability of the rule and eps set */
	double eps;           /* --epsilon, or NAN */
	unsigned char *good;  /* per arm: in the eps-good set */
	char why[PB_ERRLEN];
	int exhausted;        /* not done, and the arms in contention have
	                       * used every task: no new evidence can come */
	int totals;           /* the totals of a state with contexts: no
	                       * verdict (confounded), a weighted estimate */
	double *weighted;     /* per arm: sum over contexts of the context's
	                       * share of tasks times the arm's mean there */
	size_t nctx;
	size_t pool;          /* tasks in the pool */
};

/* A ranking: of a state, or of records replayed into one. */
struct ranking {
	struct pb_state st;
	struct row *r;        /* in rank order */
	struct verdict v;
	int tokens;           /* the arms' tok_in and tok_out mean something:
	                       * some arm has tokens, or (replayed) some record
	                       * had response.usage */
	long pending;
	int replayed;         /* index and prob mean nothing */
	int joint;            /* P(best) drawn jointly, through the pairs */
	int pool_best;        /* the arm best on the pool's own tasks at the
	                       * report's level, or -1 (pool_interval) */
	const char *ctx;      /* a context's ranking: its value (or ctx_all
	                       * for the totals of a state with contexts) */
	int view;             /* st is a view of another state: not freed */
	int more;             /* one more context after the totals (CSV: no
	                       * header) */
};

static const char ctx_all[] = "";

/* The verdict on the arms still in the pool: retired arms are never
 * pulled again, so they neither block a verdict nor win one. */
static void
judge(const struct pb_state *full, double level, struct verdict *v)
{
	enum pb_policy_kind k = full->pol.kind;
	double delta = k == PB_POL_LUCB || k == PB_POL_TOPTWO || k == PB_POL_RACE ?
	               full->pol.delta : 1 - level;
	struct pb_arm *arms = ecalloc(full->narms, sizeof *arms);
	int *map = ecalloc(full->narms, sizeof *map), best = -1;
	unsigned char *open = ecalloc(full->narms, 1), *good = NULL;
	struct pb_state view, *st = &view;
	size_t i, n = pb_state_active(full, &view, arms, map);

	v->open = ecalloc(full->narms, 1);
	v->delta = delta;
	v->conf = 1 - delta;
	if (k == PB_POL_HALVING || k == PB_POL_REJECTS) {
		v->rule = "budget";
		v->conf = NAN;
		v->done = pb_policy_done(st, v->why, &best);
		for (i = 0; i < n; i++) /* the arms still in the race */
			open[i] = (int)i != best && isfinite(pb_policy_index(st, (int)i));
	} else if (k == PB_POL_RACE) {
		/* the race's own rule on paired statistics: the last arm
		 * standing; the others still in it are not yet separated */
		v->rule = "paired";
		v->done = pb_policy_done(st, v->why, &best);
		for (i = 0; i < n; i++)
			open[i] = (int)i != best &&
			          (!st->arms[i].pstate || st->arms[i].pstate[0] != 0);
	} else if (k == PB_POL_LUCB) {
		v->rule = "box";
		v->done = pb_box_stop(st, delta, &best, open);
	} else {
		v->rule = "glr";
		v->done = pb_glr_stop(st, delta, &best, open);
	}
	if (!isnan(v->eps)) {
		good = ecalloc(full->narms, 1);
		v->good = ecalloc(full->narms, 1);
		pb_eps_good(st, delta, v->eps, good);
	}
	v->best = best >= 0 ? map[best] : -1;
	v->pool = pb_state_pool_size(full, -1);
	if (full->ctx_field) {
		/* Each context allocates and stops on its own, so the totals
		 * mix arms pulled on different contexts (Simpson): no verdict
		 * here, the contexts' own below, and a population-weighted
		 * estimate per arm instead. */
		size_t c, a;
		v->totals = 1;
		v->done = 0;
		v->nctx = full->nctx;
		v->weighted = ecalloc(full->narms, sizeof *v->weighted);
		for (a = 0; a < full->narms; a++) {
			double wsum = 0;
			for (c = 0; c < full->nctx; c++) {
				const struct pb_arm *ca = &full->ctx[c].arms[a];
				double share = v->pool ? (double)full->ctx[c].tasks.n /
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
	}
	if (!v->done && pb_state_exhausted(full, -1, v->why)) {
		long out = 0;
		size_t b, a;
		v->exhausted = 1;
		for (b = 0; b < full->nbatch; b++)
			for (a = 0; a < full->narms; a++)
				out += full->batch[b].left[a];
		if (out)
			snprintf(v->why + strlen(v->why), PB_ERRLEN - strlen(v->why),
			         "; %ld pull%s still out", out, out == 1 ? " is" : "s are");
	}
	for (i = 0; i < n; i++) {
		v->open[map[i]] = open[i];
		if (good)
			v->good[map[i]] = good[i];
	}
	free(arms);
	free(map);
	free(open);
	free(good);
}

/* A state holds at most R pulls of each (arm, task) pair: more than R x
 * the pool's tasks on one arm means rewards were counted twice (a state
 * made by hand, or by another tool): say so. */
static void
check_pairs(const struct pb_state *st, const char *ctx)
{
	size_t i, n = pb_state_pool_size(st, -1);
	double cap = (double)(st->repeats > 0 ? st->repeats : 1) * (double)n;

	if (st->ctx_field)
		return; /* each context's view is checked on its own */
	for (i = 0; i < st->narms; i++) {
		const struct pb_arm *a = &st->arms[i];
		if ((double)a->st.n > (double)n || (double)(a->st.n + a->errors) > cap)
			warnx_("warning: %s%s%sarm %s holds %ld pulls, but the pool has "
			       "%zu task%s (repeats %ld): some (arm, task) pairs were counted "
			       "more than once, and no interval or verdict here is valid",
			       ctx && *ctx ? "context " : "", ctx && *ctx ? ctx : "",
			       ctx && *ctx ? ": " : "", a->id, a->st.n + a->errors, n,
			       n == 1 ? "" : "s", st->repeats > 0 ? st->repeats : 1);
	}
}

/* The verdict as one line of words (and one more for --epsilon). */
static void
say_verdict(const struct pb_state *st, const struct row *r, const struct verdict *v)
{
	size_t i;

	if (v->totals) {
		printf("verdict: none on the totals: each of the %zu contexts has its "
		       "own, at delta/%zu; population-weighted means (each context by "
		       "its share of the %zu tasks):", v->nctx, v->nctx ? v->nctx : 1,
		       v->pool);
		for (i = 0; i < st->narms; i++) {
			if (isnan(v->weighted[r[i].arm]))
				printf(" %s -", st->arms[r[i].arm].id);
			else
				printf(" %s %.3f", st->arms[r[i].arm].id, v->weighted[r[i].arm]);
		}
		printf("\n");
	} else if (v->exhausted) {
		printf("verdict: %s (%s rule); no more tasks to hand out\n",
		       v->why, v->rule);
	} else if (!strcmp(v->rule, "budget")) {
		printf("verdict: %s\n", v->done ? v->why :
		       "fixed budget not yet spent");
	} else if (v->done) {
		printf("verdict: arm %s is best with confidence %g (%s rule)\n",
		       st->arms[v->best].id, v->conf, v->rule);
	} else {
		printf("verdict: not yet separated at confidence %g (%s rule):",
		       v->conf, v->rule);
		for (i = 0; i < st->narms; i++)
			if (v->open[r[i].arm] || r[i].arm == v->best)
				printf(" %s", st->arms[r[i].arm].id);
		printf(" remain\n");
	}
	if (v->good) {
		printf("eps-good set (epsilon %g, confidence %g):", v->eps, 1 - v->delta);
		for (i = 0; i < st->narms; i++)
			if (v->good[r[i].arm])
				printf(" %s", st->arms[r[i].arm].id);
		printf("\n");
	}
}

static cJSON *
verdict_json(const struct pb_state *st, const struct row *r, const struct verdict *v)
{
	cJSON *o = cJSON_CreateObject(), *rem, *good;
	size_t i;

	cJSON_AddBoolToObject(o, "done", v->done);
	cJSON_AddItemToObject(o, "best", v->done && v->best >= 0 ?
	                      cJSON_CreateString(st->arms[v->best].id) : cJSON_CreateNull());
	cJSON_AddItemToObject(o, "leader", v->best >= 0 ?
	                      cJSON_CreateString(st->arms[v->best].id) : cJSON_CreateNull());
	cJSON_AddItemToObject(o, "confidence", isnan(v->conf) ? cJSON_CreateNull() :
	                      cJSON_CreateNumber(v->conf));
	rem = cJSON_AddArrayToObject(o, "remaining");
	for (i = 0; i < st->narms; i++)
		if (v->open[r[i].arm])
			cJSON_AddItemToArray(rem, cJSON_CreateString(st->arms[r[i].arm].id));
	cJSON_AddStringToObject(o, "rule", v->rule);
	if ((v->done && !strcmp(v->rule, "budget")) || v->exhausted)
		cJSON_AddStringToObject(o, "why", v->why);
	cJSON_AddBoolToObject(o, "exhausted", v->exhausted);
	cJSON_AddNumberToObject(o, "pool", (double)v->pool);
	if (v->totals) {
		cJSON *wt = cJSON_AddObjectToObject(o, "weighted");
		cJSON_AddStringToObject(o, "why", "no verdict on the totals of a state "
		                        "with contexts: see each context's");
		cJSON_AddNumberToObject(o, "contexts", (double)v->nctx);
		for (i = 0; i < st->narms; i++)
			cJSON_AddItemToObject(wt, st->arms[r[i].arm].id,
			                      isnan(v->weighted[r[i].arm]) ? cJSON_CreateNull() :
			                      cJSON_CreateNumber(v->weighted[r[i].arm]));
	}
	if (v->good) {
		cJSON_AddNumberToObject(o, "epsilon", v->eps);
		cJSON_AddNumberToObject(o, "eps_confidence", 1 - v->delta);
		good = cJSON_AddArrayToObject(o, "eps_good");
		for (i = 0; i < st->narms; i++)
			if (v->good[r[i].arm])
				cJSON_AddItemToArray(good, cJSON_CreateString(st->arms[r[i].arm].id));
	}
	return o;
}

static const struct pb_state *cmp_st;

static int
bymean(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	long nx = cmp_st->arms[x->arm].st.n, ny = cmp_st->arms[y->arm].st.n;

	if ((nx > 0) != (ny > 0))
		return nx > 0 ? -1 : 1;
	if (x->mean != y->mean)
		return x->mean > y->mean ? -1 : 1;
	if (nx != ny)
		return nx > ny ? -1 : 1;
	return x->arm - y->arm;
}

static int
cmpid(const void *a, const void *b)
{
	return strcmp(cmp_st->arms[*(const size_t *)a].id, cmp_st->arms[*(const size_t *)b].id);
}

/* The posterior of arm a for P(best): Beta moments for 0/1 rewards
 * (as pb_prob_best draws them), else N(mean, v / n) with v floored at
 * 1 / (4 n). */
static void
posterior(const struct pb_stats *s, double *mu, double *var)
{
	double n = (double)s->n, v, a, b;

	if (s->nonbinary == 0) {
		a = 1 + s->sum;
		b = 1 + n - s->sum;
		*mu = a / (a + b);
		*var = a * b / ((a + b) * (a + b) * (a + b + 1));
		return;
	}
	v = pb_stats_var(s);
	*mu = pb_stats_mean(s);
	*var = (v > 1 / (4 * n) ? v : 1 / (4 * n)) / n;
}

/* Joint P(best) is O(draws K^2): beyond this many arms in the pool the
 * arms are drawn independently. */
enum { JOINT_MAX = 100 };

/* Fills pbest[] (per arm of st; NAN for a retired arm, which can no
 * longer be chosen) with each arm's chance of being best among the arms
 * still in the pool, drawn over the arms sorted by id, so that a replay,
 * whose arms come in the order first seen, draws the same numbers.
 * Where arms were paired on shared tasks, the draw is joint: the
 * covariance of two arms' means is their per-task covariance, estimated
 * from the pair's differences as (v_i + v_j - v_d) / 2, times
 * n_ij / (n_i n_j).  Returns 1 if it was joint. */
static int
prob_best(const struct pb_state *st, const struct opts *o, double *pbest)
{
	size_t i, j, k = 0, *byid = ecalloc(st->narms ? st->narms : 1, sizeof *byid);
	struct pb_stats *s = ecalloc(st->narms ? st->narms : 1, sizeof *s);
	double *p = ecalloc(st->narms ? st->narms : 1, sizeof *p);
	int joint = 0;

	for (i = 0; i < st->narms; i++) {
		pbest[i] = NAN;
		if (!st->arms[i].retired)
			byid[k++] = i;
	}
	cmp_st = st;
	qsort(byid, k, sizeof *byid, cmpid);
	for (i = 0; i < k; i++)
		s[i] = st->arms[byid[i]].st;
	for (i = 0; i < k && k <= JOINT_MAX && !joint; i++)
		for (j = i + 1; j < k && !joint; j++) {
			const struct pb_pair *q = pb_state_pair(st, (int)byid[i], (int)byid[j]);
			joint = q && q->n >= 2 && s[i].n >= 2 && s[j].n >= 2;
		}
	if (joint) {
		double *mu = ecalloc(k, sizeof *mu), *cov = ecalloc(k * k, sizeof *cov);
		for (i = 0; i < k; i++)
			posterior(&s[i], &mu[i], &cov[i * k + i]);
		for (i = 0; i < k; i++)
			for (j = i + 1; j < k; j++) {
				const struct pb_pair *q = pb_state_pair(st, (int)byid[i], (int)byid[j]);
				double nd, vd, vi, vj, c, lim;
				if (!q || q->n < 2 || s[i].n < 2 || s[j].n < 2)
					continue;
				nd = (double)q->n;
				vd = (q->sumsq - q->sum * q->sum / nd) / (nd - 1);
				vi = pb_stats_var(&s[i]);
				vj = pb_stats_var(&s[j]);
				c = (vi + vj - (vd > 0 ? vd : 0)) / 2 * nd /
				    ((double)s[i].n * (double)s[j].n);
				lim = 0.99 * sqrt(cov[i * k + i] * cov[j * k + j]);
				c = c > lim ? lim : c < -lim ? -lim : c;
				cov[i * k + j] = cov[j * k + i] = c;
			}
		if (pb_prob_best_joint(mu, cov, k, o->draws, o->seed, p) < 0)
			die("out of memory");
		free(mu);
		free(cov);
	} else if (pb_prob_best(s, k, o->draws, o->seed, p) < 0) {
		die("out of memory");
	}
	for (i = 0; i < k; i++)
		pbest[byid[i]] = p[i];
	free(byid);
	free(s);
	free(p);
	return joint;
}

/* The interval of arm a's mean over the pool's n tasks themselves (not
 * the population they came from) at level 1 - d: pb_wor_bounds for 0/1
 * rewards; for graded ones only the exact mean once every task is in
 * (no finite-population interval is computed from sums alone).  NAN
 * when there is none, or the arm holds more rewards than the pool has
 * tasks (check_pairs says why). */
static void
pool_interval(const struct pb_arm *a, size_t n, double d, double *lo, double *hi)
{
	*lo = *hi = NAN;
	if (n == 0 || a->st.n > (long)n)
		return;
	if (a->st.nonbinary == 0)
		pb_wor_bounds(a->st.sum, a->st.n, (long)n, d, lo, hi);
	else if (a->st.n == (long)n)
		*lo = *hi = pb_stats_mean(&a->st);
}

/* The claim about the pool itself, beside the verdict about the
 * population: each arm's pool interval at the report's level, and the
 * arm best on these tasks when its lower bound clears every other
 * arm's upper one at level 1 - (1 - L) / K (K arms in the pool, so the
 * K intervals hold together). */
static void
pool_claim(struct ranking *rk, const struct opts *o)
{
	const struct pb_state *st = &rk->st;
	size_t i, j, k = 0, n = rk->v.pool;
	double *lo, *hi;
	int best = -1;

	rk->pool_best = -1;
	for (i = 0; i < st->narms; i++) {
		rk->r[i].plo = rk->r[i].phi = NAN;
		k += !st->arms[i].retired;
	}
	if (n == 0 || rk->replayed || k == 0)
		return;
	lo = ecalloc(st->narms, sizeof *lo);
	hi = ecalloc(st->narms, sizeof *hi);
	for (i = 0; i < st->narms; i++) {
		const struct pb_arm *a = &st->arms[rk->r[i].arm];
		pool_interval(a, n, 1 - o->level, &rk->r[i].plo, &rk->r[i].phi);
		pool_interval(a, n, (1 - o->level) / (double)k, &lo[i], &hi[i]);
		if (!a->retired && best < 0)
			best = (int)i; /* rows are best mean first */
	}
	for (j = 0; best >= 0 && j < st->narms; j++) {
		if ((int)j == best || st->arms[rk->r[j].arm].retired)
			continue;
		if (!(lo[best] > hi[j]))
			best = -1;
	}
	if (best >= 0 && k > 1)
		rk->pool_best = rk->r[best].arm;
	free(lo);
	free(hi);
}

/* The table's line on the pool itself: the top arms' pool intervals. */
static void
print_pool(const struct ranking *rk, const struct opts *o)
{
	const struct pb_state *st = &rk->st;
	size_t i, shown = 0, more = 0, k = 0;

	if (rk->v.pool == 0 || rk->replayed)
		return;
	for (i = 0; i < st->narms; i++)
		k += !st->arms[i].retired;
	printf("on these %zu tasks themselves (finite-population %g%% intervals, "
	       "sampling without replacement):", rk->v.pool, o->level * 100);
	for (i = 0; i < st->narms; i++) {
		const struct pb_arm *a = &st->arms[rk->r[i].arm];
		if (a->retired || a->st.n == 0)
			continue;
		if (shown == 3) {
			more++;
			continue;
		}
		printf("%s %s %.3f", shown ? "," : "", a->id, rk->r[i].mean);
		if (isfinite(rk->r[i].plo))
			printf(" [%.3f, %.3f]", rk->r[i].plo, rk->r[i].phi);
		else
			printf(" [-]");
		printf(" on %ld", a->st.n);
		shown++;
	}
	if (more)
		printf(", and %zu more", more);
	putchar('\n');
	if (rk->pool_best >= 0)
		printf("best on these %zu tasks: %s (its interval clears every other "
		       "arm's, each at %g / %zu)\n", rk->v.pool, st->arms[rk->pool_best].id,
		       1 - o->level, k);
}

/* Fills rk->r (sorted) and rk->v from rk->st. */
static void
rank_arms(struct ranking *rk, const struct opts *o)
{
	struct pb_state *st = &rk->st;
	double *prob = ecalloc(st->narms, sizeof *prob), total = 0;
	double *pbest = ecalloc(st->narms, sizeof *pbest);
	size_t i;

	rk->r = ecalloc(st->narms, sizeof *rk->r);
	/* Tokens: the state's own counts (pb-update adds each applied
	 * pull's response.usage); a replay added them from the records. */
	if (!rk->replayed)
		for (i = 0; i < st->narms; i++)
			if (st->arms[i].tok_in || st->arms[i].tok_out)
				rk->tokens = 1;
	for (i = 0; i < st->narms; i++)
		total += (double)st->arms[i].st.n;
	rk->joint = prob_best(st, o, pbest);
	if (!rk->replayed && pb_policy_probs(st, prob) < 0)
		die("out of memory");
	for (i = 0; i < st->narms; i++) {
		const struct pb_arm *a = &st->arms[i];
		struct row *r = &rk->r[i];
		r->arm = (int)i;
		r->mean = pb_stats_mean(&a->st);
		r->share = total > 0 ? (double)a->st.n / total : NAN;
		r->index = rk->replayed ? NAN : pb_policy_index(st, (int)i);
		r->prob = rk->replayed ? NAN : prob[i];
		r->pbest = pbest[i];
		pb_report_ci(&a->st, 1 - o->level, o->interval, &r->lo, &r->hi, &r->method);
		rk->pending += a->pending;
	}
	qsort(rk->r, st->narms, sizeof *rk->r, bymean);
	rk->v.eps = o->eps;
	judge(st, o->level, &rk->v);
	pool_claim(rk, o);
	if (!rk->replayed)
		check_pairs(st, rk->ctx);
	free(prob);
	free(pbest);
}

/* Writes j as one line to stdout, and frees it. */
static void
put_json(cJSON *j)
{
	if (pb_jsonl_write(stdout, j) < 0)
		die("write error: %s", strerror(errno));
	cJSON_Delete(j);
}

static void
num(cJSON *o, const char *k, double v)
{
	cJSON_AddItemToObject(o, k, isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull());
}

/* Dollars for the tokens at --price; NAN without a price or without
 * token counts (known 0). */
static double
cost(const struct opts *o, int known, double in, double out)
{
	if (!known || !o->price)
		return NAN;
	return pb_cost(in, out, o->price_in, o->price_out);
}

static double
arm_cost(const struct ranking *rk, const struct opts *o, int arm)
{
	const struct pb_arm *a = &rk->st.arms[arm];

	return cost(o, rk->tokens, a->tok_in, a->tok_out);
}

static cJSON *
ranking_json(const struct ranking *rk, const struct opts *o)
{
	const struct pb_state *st = &rk->st;
	const struct row *r = rk->r;
	cJSON *j = cJSON_CreateObject(), *arr, *a, *pol = pb_state_to_json(st);
	size_t i;

	cJSON_AddStringToObject(j, "run", st->run);
	cJSON_AddItemToObject(j, "policy", cJSON_DetachItemFromObject(pol, "policy"));
	cJSON_Delete(pol);
	cJSON_AddNumberToObject(j, "updates", (double)st->updates);
	cJSON_AddNumberToObject(j, "pending", (double)rk->pending);
	cJSON_AddNumberToObject(j, "level", o->level);
	cJSON_AddNumberToObject(j, "pbest_draws", (double)o->draws);
	arr = cJSON_AddArrayToObject(j, "arms");
	for (i = 0; i < st->narms; i++) {
		const struct pb_arm *arm = &st->arms[r[i].arm];
		a = cJSON_CreateObject();
		cJSON_AddNumberToObject(a, "rank", (double)i + 1);
		cJSON_AddStringToObject(a, "id", arm->id);
		if (arm->retired)
			cJSON_AddBoolToObject(a, "retired", 1);
		cJSON_AddNumberToObject(a, "pulls", (double)arm->st.n);
		num(a, "share", r[i].share);
		num(a, "mean", arm->st.n ? r[i].mean : NAN);
		num(a, "ci_low", r[i].lo);
		num(a, "ci_high", r[i].hi);
		cJSON_AddStringToObject(a, "ci_method", r[i].method);
		num(a, "index", r[i].index);
		cJSON_AddNumberToObject(a, "errors", (double)arm->errors);
		cJSON_AddNumberToObject(a, "pending", (double)arm->pending);
		num(a, "prob", r[i].prob);
		num(a, "pbest", r[i].pbest);
		if (rk->v.pool > 0 && !rk->replayed) {
			num(a, "pool_low", r[i].plo);
			num(a, "pool_high", r[i].phi);
		}
		if (rk->tokens) {
			cJSON_AddNumberToObject(a, "prompt_tokens", arm->tok_in);
			cJSON_AddNumberToObject(a, "completion_tokens", arm->tok_out);
			num(a, "cost", arm_cost(rk, o, r[i].arm));
		}
		cJSON_AddItemToArray(arr, a);
	}
	cJSON_AddItemToObject(j, "verdict", verdict_json(st, r, &rk->v));
	if (rk->v.pool > 0 && !rk->replayed)
		cJSON_AddItemToObject(j, "pool_best", rk->pool_best >= 0 ?
		                      cJSON_CreateString(st->arms[rk->pool_best].id) :
		                      cJSON_CreateNull());
	return j;
}

/* A CSV field: quoted when it holds a comma, quote or newline. */
static void
csvfield(const char *s)
{
	if (!strpbrk(s, ",\"\n\r")) {
		fputs(s, stdout);
		return;
	}
	putchar('"');
	for (; *s; s++) {
		if (*s == '"')
			putchar('"');
		putchar(*s);
	}
	putchar('"');
}

/* The interval methods used, in words, for a heading: of n rows (the
 * ranking's or the validation's) of size bytes, each holding the name
 * pb_report_ci gave at offset off. */
static const char *
methods(const void *rows, size_t n, size_t size, size_t off)
{
	const char *p = rows, *m;
	size_t i, t = 0, b = 0, a = 0;

	for (i = 0; i < n; i++, p += size) {
		memcpy(&m, p + off, sizeof m);
		t += !strcmp(m, "t"), b += !strcmp(m, "bernstein");
		a += !strcmp(m, "anytime");
	}
	if (a)
		return "anytime-valid, Jeffreys mixture";
	return b == n ? "fixed-sample, empirical Bernstein" :
	       t == 0 && b == 0 ? "fixed-sample, Wilson score" :
	       t == n ? "fixed-sample, Student t" : b == 0 ?
	       "fixed-sample, Wilson score for 0/1 rewards, Student t otherwise" :
	       "fixed-sample, Wilson score for 0/1 rewards, Student t or empirical "
	       "Bernstein otherwise";
}

/* Markdown: a | in a cell would end it. */
static void
mdcell(const char *s)
{
	for (; *s; s++) {
		if (*s == '|')
			putchar('\\');
		putchar(*s);
	}
}

static void
fmtnum(char *buf, size_t n, double v, const char *fmt)
{
	if (isfinite(v))
		snprintf(buf, n, fmt, v);
	else
		snprintf(buf, n, "-");
}

/* The posterior P(best) drew from, in words, for the note under tables. */
static const char *
posteriors(const struct pb_state *st)
{
	size_t i, nb = 0;

	for (i = 0; i < st->narms; i++)
		nb += st->arms[i].st.nonbinary > 0;
	return nb == 0 ? "Beta(1 + wins, 1 + losses)" : nb == st->narms ?
	       "normal N(mean, var/n)" :
	       "Beta(1 + wins, 1 + losses) for 0/1 rewards, normal N(mean, var/n) otherwise";
}

static void
print_ranking(const struct ranking *rk, const struct opts *o)
{
	const struct pb_state *st = &rk->st;
	const struct row *r = rk->r;
	char m[32], lo[32], hi[32], ix[32], sh[32], pb[32], usd[32], ci[64], tok[48];
	size_t i, w = 3;
	int md = o->format == F_MD, money = rk->tokens;

	if (o->format == F_CSV) {
		if (!rk->more)
			printf("%srank,id,pulls,share,mean,ci_low,ci_high,ci_method,index,"
			       "errors,pbest,prompt_tokens,completion_tokens,cost\n",
			       rk->ctx ? "context," : "");
		for (i = 0; i < st->narms; i++) {
			const struct pb_arm *a = &st->arms[r[i].arm];
			if (rk->ctx) {
				csvfield(rk->ctx);
				putchar(',');
			}
			printf("%zu,", i + 1);
			csvfield(a->id);
			fmtnum(m, sizeof m, a->st.n ? r[i].mean : NAN, "%.6g");
			fmtnum(lo, sizeof lo, r[i].lo, "%.6g");
			fmtnum(hi, sizeof hi, r[i].hi, "%.6g");
			fmtnum(ix, sizeof ix, r[i].index, "%.6g");
			fmtnum(sh, sizeof sh, r[i].share, "%.6g");
			fmtnum(pb, sizeof pb, r[i].pbest, "%.6g");
			fmtnum(usd, sizeof usd, arm_cost(rk, o, r[i].arm), "%.6g");
			if (money)
				snprintf(tok, sizeof tok, "%.0f,%.0f", a->tok_in, a->tok_out);
			else
				snprintf(tok, sizeof tok, "-,-");
			printf(",%ld,%s,%s,%s,%s,%s,%s,%ld,%s,%s,%s\n", a->st.n, sh, m, lo,
			       hi, r[i].method, ix, a->errors, pb, tok, usd);
		}
		return;
	}
	for (i = 0; i < st->narms; i++)
		if (strlen(st->arms[i].id) + (st->arms[i].retired ? 10 : 0) > w)
			w = strlen(st->arms[i].id) + (st->arms[i].retired ? 10 : 0);
	printf(md ? "Policy `%s`, %ld pulls applied, %ld pending; "
	       "%g%% intervals (%s).\n\n" : "policy %s, %ld pulls applied, "
	       "%ld pending; %g%% intervals (%s)\n",
	       rk->replayed ? "- (replayed from records)" : pb_policy_name(st->pol.kind),
	       st->updates, rk->pending, o->level * 100, methods(r, st->narms, sizeof *r, offsetof(struct row, method)));
	if (md)
		printf("| rank | arm | pulls | share | mean | %g%% CI | index | errors | P(best) |%s\n"
		       "|---:|:---|---:|---:|---:|:---:|---:|---:|---:|%s\n", o->level * 100,
		       money ? " tokens | cost |" : "", money ? "---:|---:|" : "");
	else
		printf("%4s  %-*s %7s %6s %6s  %-15s %7s %6s %7s%s\n", "rank", (int)w,
		       "arm", "pulls", "share", "mean", "CI", "index", "errors", "P(best)",
		       money ? "     tokens     cost" : "");
	for (i = 0; i < st->narms; i++) {
		const struct pb_arm *a = &st->arms[r[i].arm];
		fmtnum(m, sizeof m, a->st.n ? r[i].mean : NAN, "%.3f");
		fmtnum(ix, sizeof ix, r[i].index, "%.3f");
		fmtnum(sh, sizeof sh, r[i].share * 100, "%.1f%%");
		fmtnum(pb, sizeof pb, r[i].pbest, "%.3f");
		fmtnum(usd, sizeof usd, arm_cost(rk, o, r[i].arm), "$%.4f");
		snprintf(ci, sizeof ci, "[%.3f, %.3f]", r[i].lo, r[i].hi);
		tok[0] = '\0';
		if (money)
			snprintf(tok, sizeof tok, "%.0f", a->tok_in + a->tok_out);
		if (md) {
			printf("| %zu | ", i + 1);
			mdcell(a->id);
			if (a->retired)
				printf(" (retired)");
			printf(" | %ld | %s | %s | %s | %s | %ld | %s |", a->st.n, sh, m, ci,
			       ix, a->errors, pb);
			if (money)
				printf(" %s | %s |", tok, usd);
			putchar('\n');
		} else {
			char name[300];
			snprintf(name, sizeof name, "%s%s", a->id, a->retired ? " (retired)" : "");
			printf("%4zu  %-*s %7ld %6s %6s  %-15s %7s %6ld %7s", i + 1,
			       (int)w, name, a->st.n, sh, m, ci, ix, a->errors, pb);
			if (money)
				printf(" %10s %8s", tok, usd);
			putchar('\n');
		}
	}
	if (md)
		putchar('\n');
	if (rk->joint)
		printf("P(best): Monte Carlo over %ld draws from a joint normal posterior, "
		       "correlated through the tasks arms shared (seed %llu)\n",
		       o->draws, (unsigned long long)o->seed);
	else
		printf("P(best): Monte Carlo over %ld draws from %s posteriors (seed %llu)\n",
		       o->draws, posteriors(st), (unsigned long long)o->seed);
	if (!rk->v.done && strcmp(rk->v.rule, "budget"))
		printf("P(best) is a posterior estimate, not a verdict: no arm is called "
		       "best until the %s rule separates it at confidence %g\n",
		       rk->v.rule, rk->v.conf);
	print_pool(rk, o);
	if (md)
		putchar('\n');
	say_verdict(st, r, &rk->v);
}

static void ranking_free(struct ranking *rk);

/* A view of context c of st, its "updates" those of the context. */
static void
context_view(const struct pb_state *st, size_t c, struct pb_state *v)
{
	size_t i;

	pb_state_view(st, c, v);
	v->updates = 0;
	for (i = 0; i < v->narms; i++)
		v->updates += v->arms[i].st.n + v->arms[i].errors;
}

/* The line above a context's table (CSV has a column instead). */
static void
context_heading(const char *field, const char *value, const struct opts *o)
{
	printf(o->format == F_MD ? "Context `%s` = `%s`.\n\n" : "context %s = %s\n",
	       field, value);
}

/* --require verdict on a state with contexts: the contexts without a
 * verdict (each judged as its ranking is, at delta / C). */
static size_t
contexts_undecided(const struct pb_state *st, const struct opts *o)
{
	size_t c, n = 0;

	for (c = 0; c < st->nctx; c++) {
		struct verdict v = { 0 };
		struct pb_state view;
		context_view(st, c, &view);
		v.eps = NAN;
		judge(&view, o->level, &v);
		n += !v.done;
		free(v.open);
		free(v.good);
		free(v.weighted);
	}
	return n;
}

/* After the totals of a state with contexts: each context's ranking and
 * verdict, into j (JSON) or printed. */
static void
contexts(const struct pb_state *st, const struct opts *o, cJSON *j)
{
	cJSON *arr = j ? cJSON_AddArrayToObject(j, "contexts") : NULL, *x;
	size_t c;

	if (j)
		cJSON_AddStringToObject(j, "context_field", st->ctx_field);
	for (c = 0; c < st->nctx; c++) {
		struct ranking cr = { 0 };
		context_view(st, c, &cr.st);
		cr.view = cr.more = 1;
		cr.ctx = st->ctx[c].name;
		rank_arms(&cr, o);
		if (j) {
			x = ranking_json(&cr, o);
			cJSON_AddStringToObject(x, "context", cr.ctx);
			cJSON_AddItemToArray(arr, x);
		} else {
			if (o->format != F_CSV) {
				putchar('\n');
				context_heading(st->ctx_field, cr.ctx, o);
			}
			print_ranking(&cr, o);
		}
		ranking_free(&cr);
	}
}

static void
ranking_free(struct ranking *rk)
{
	free(rk->r);
	free(rk->v.open);
	free(rk->v.good);
	free(rk->v.weighted);
	if (!rk->view)
		pb_state_free(&rk->st);
}

/* ================================================================ replay */

/* Reading scored records into a state of their own: one arm per arm id
 * (in the state's order when a state is given, else as first seen), each
 * pull counted once (by run and pull id, as pb-update would). */
struct replay {
	struct pb_state *st;
	const struct pb_state *ref; /* the state to check against, or NULL */
	int *tokens;                /* set when a record has response.usage */
	uint64_t *seen;             /* hashes of (run, pull), open addressing */
	size_t nseen, capseen;
	long records, bad;
};

static uint64_t
pull_key(const char *run, long pull)
{
	uint64_t h = pb_hash(run, strlen(run), (uint64_t)pull);

	return h ? h : 1; /* 0 marks a free place */
}

/* Adds key; returns 1 if it was there already. */
static int
seen_add(struct replay *rp, uint64_t key)
{
	size_t i;

	if (2 * (rp->nseen + 1) > rp->capseen) {
		size_t ncap = rp->capseen ? 2 * rp->capseen : 1024, j;
		uint64_t *ns = ecalloc(ncap, sizeof *ns);
		for (j = 0; j < rp->capseen; j++)
			if (rp->seen[j]) {
				i = rp->seen[j] & (ncap - 1);
				while (ns[i])
					i = (i + 1) & (ncap - 1);
				ns[i] = rp->seen[j];
			}
		free(rp->seen);
		rp->seen = ns;
		rp->capseen = ncap;
	}
	for (i = key & (rp->capseen - 1); rp->seen[i]; i = (i + 1) & (rp->capseen - 1))
		if (rp->seen[i] == key)
			return 1;
	rp->seen[i] = key;
	rp->nseen++;
	return 0;
}

/* Adds an arm to a replayed state. */
static int
replay_arm(struct pb_state *st, const char *id)
{
	struct pb_arm *a;

	st->arms = erealloc(st->arms, (st->narms + 1) * sizeof *st->arms);
	a = &st->arms[st->narms];
	memset(a, 0, sizeof *a);
	a->id = estrdup(id);
	a->fields = cJSON_CreateObject();
	cJSON_AddStringToObject(a->fields, "id", id);
	st->narms++;
	return (int)st->narms - 1;
}

/* Reports a bad scored record on stderr, by file and line (and pull,
 * when known), and counts it in *bad. */
static void __attribute__((format(printf, 4, 5)))
bad_record(long *bad, const struct pb_where *at, long pull, const char *fmt, ...)
{
	char msg[PB_ERRLEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (pull > 0)
		warnx_("%s:%ld: pull %ld: %s", at->file, at->line, pull, msg);
	else
		warnx_("%s:%ld: %s", at->file, at->line, msg);
	(*bad)++;
}

/* The reward of a scored record into *reward (NAN for null, the reward
 * of a record whose query failed).  Returns NULL, or what is wrong. */
static const char *
rec_reward(const cJSON *rec, double *reward)
{
	const cJSON *rv = cJSON_GetObjectItemCaseSensitive(rec, "reward");

	if (!rv)
		return "not scored (no \"reward\"; run pb-score first)";
	if (cJSON_IsNull(rv))
		*reward = NAN;
	else if (cJSON_IsNumber(rv) && rv->valuedouble >= 0 && rv->valuedouble <= 1)
		*reward = rv->valuedouble;
	else
		return "reward is not a number in [0,1] or null";
	return NULL;
}

/* The token counts of a record's response.usage: 0, or -1 if it has
 * none. */
static int
rec_usage(const cJSON *rec, double *in, double *out)
{
	return pb_json_num(rec, "response.usage.prompt_tokens", in) == 0 &&
	       pb_json_num(rec, "response.usage.completion_tokens", out) == 0 ? 0 : -1;
}

static int
is_merged(const struct pb_state *st, const char *run)
{
	const cJSON *x;

	if (!strcmp(st->run, run))
		return 1;
	cJSON_ArrayForEach(x, st->merged)
		if (cJSON_IsString(x) && !strcmp(x->valuestring, run))
			return 1;
	return 0;
}

static int
replay_record(cJSON *rec, const struct pb_where *at, const char *why, void *arg)
{
	struct replay *rp = arg;
	const char *run, *arm;
	double pull, reward, tin, tout;
	int i;

	if (!rec) {
		bad_record(&rp->bad, at, 0, "%s", why);
		return 0;
	}
	rp->records++;
	run = pb_json_str(rec, "run");
	arm = pb_json_str(rec, "arm");
	if (pb_json_num(rec, "pull", &pull) || pull < 1 || pull != floor(pull) || pull > 9e15) {
		bad_record(&rp->bad, at, 0, "no \"pull\" id (not a pb-sample record?)");
		goto out;
	}
	if (!run || !arm) {
		bad_record(&rp->bad, at, (long)pull, run ? "no \"arm\"" : "no \"run\"");
		goto out;
	}
	if ((why = rec_reward(rec, &reward))) {
		bad_record(&rp->bad, at, (long)pull, "%s", why);
		goto out;
	}
	if (rp->ref && !is_merged(rp->ref, run)) {
		bad_record(&rp->bad, at, (long)pull, "from run %s, not the state's", run);
		goto out;
	}
	if ((i = pb_state_find_arm(rp->st, arm)) < 0) {
		if (rp->ref) {
			bad_record(&rp->bad, at, (long)pull, "unknown arm '%s'", arm);
			goto out;
		}
		i = replay_arm(rp->st, arm);
	}
	if (seen_add(rp, pull_key(run, (long)pull)))
		goto out; /* applied once, as pb-update does */
	if (isnan(reward))
		rp->st->arms[i].errors++;
	else
		pb_stats_add(&rp->st->arms[i].st, reward);
	rp->st->updates++;
	if (rec_usage(rec, &tin, &tout) == 0) {
		pb_state_add_tokens(rp->st, i, NULL, tin, tout);
		*rp->tokens = 1;
	}
out:
	cJSON_Delete(rec);
	return 0;
}

/* Rebuilds rk->st from the files (stdin when none); with ref, in its
 * arms' order, and checks the numbers against it (differences reported).
 * Returns the number of bad records plus differences. */
static long
replay(struct ranking *rk, const struct pb_state *ref, int nfiles,
       char *const *files, long *records)
{
	struct pb_state *st = &rk->st;
	struct replay rp = { .st = st, .ref = ref, .tokens = &rk->tokens };
	char err[PB_ERRLEN];
	long diffs = 0;
	size_t i;

	memset(st, 0, sizeof *st);
	if (pb_policy_parse(&st->pol, "uniform", err) < 0)
		die("%s", err);
	st->merged = cJSON_CreateArray();
	st->next_pull = 1;
	if (ref) {
		memcpy(st->run, ref->run, sizeof st->run);
		for (i = 0; i < ref->narms; i++)
			replay_arm(st, ref->arms[i].id);
	}
	if (pb_jsonl_files(nfiles, files, replay_record, &rp, err) < 0)
		die("%s", err);
	free(rp.seen);
	*records = rp.records;
	/* Nothing read: say so, rather than "0 records disagree". */
	if (st->narms == 0 || rp.records == 0)
		die("replay: no scored records");
	for (i = 0; ref && i < ref->narms; i++) {
		const struct pb_arm *a = &ref->arms[i], *b = &st->arms[i];
		if (a->st.n != b->st.n || fabs(a->st.sum - b->st.sum) > 1e-9 * (1 + a->st.sum) ||
		    a->errors != b->errors) {
			warnx_("replay: arm %s: %ld rewarded pulls summing to %.6g and %ld "
			       "errors in the records; %ld summing to %.6g and %ld in %s",
			       a->id, b->st.n, b->st.sum, b->errors, a->st.n, a->st.sum,
			       a->errors, "the state");
			diffs++;
		}
	}
	return rp.bad + diffs;
}

/* =============================================================== history */

/* The stats of arm series s at point k, for an interval: 0/1 rewards
 * unless the arm's variance says otherwise (binary arms have var =
 * n/(n-1) m(1-m) exactly, up to the six decimals kept). */
static struct pb_stats
point_stats(const struct pb_hist_series *s, size_t k, int nonbinary)
{
	struct pb_stats t = { 0 };
	double n = s->pulls[k], m = s->mean[k], v = isnan(s->var[k]) ? 0 : s->var[k];

	if (isnan(n) || n <= 0)
		return t;
	t.n = (long)n;
	t.sum = n * m;
	t.sumsq = nonbinary ? (n - 1) * v + n * m * m : t.sum;
	t.nonbinary = nonbinary;
	return t;
}

/* The interval of series s at point k into lo, hi; returns the rewarded
 * pulls it rests on (0: none, and [0,1]). */
static long
point_ci(const struct pb_hist_series *s, size_t k, int nonbinary,
         const struct opts *o, double *lo, double *hi)
{
	struct pb_stats t = point_stats(s, k, nonbinary);
	const char *meth;

	pb_report_ci(&t, 1 - o->level, o->interval, lo, hi, &meth);
	return t.n;
}

/* Whether arm id of st has had nonbinary rewards (arms gone: assume 0/1). */
static int
nonbinary(const struct pb_state *st, const char *id)
{
	int i = pb_state_find_arm(st, id);

	return i >= 0 && st->arms[i].st.nonbinary > 0;
}

/* The total reward at point k: sum of pulls * mean over the arms. */
static double
cum_reward(const struct pb_history *h, size_t k)
{
	double c = 0;
	size_t i;

	for (i = 0; i < h->nser; i++)
		if (!isnan(h->ser[i].pulls[k]))
			c += h->ser[i].pulls[k] * h->ser[i].mean[k];
	return c;
}

/* The history to show: the state's, or with --context that context's. */
static const struct pb_history *
hist_of(const struct pb_state *st, const struct opts *o)
{
	return o->context ? pb_history_ctx(st->hist, o->context) : st->hist;
}

static void
need_history(const struct pb_state *st, const struct opts *o)
{
	const struct pb_history *h = hist_of(st, o);

	if (o->context && (!h || h->n == 0))
		die("%s: no history of context '%s' yet (none kept since its first "
		    "pull, or no pull applied since history was kept)", o->spath, o->context);
	if (!h || h->n == 0)
		die("%s: no history yet (no pulls applied since history was kept)", o->spath);
}

static void
print_history(const struct pb_state *st, const struct opts *o)
{
	const struct pb_history *h = hist_of(st, o);
	size_t i, k, w = 7;
	char a[32], b[32];
	int md = o->format == F_MD;

	need_history(st, o);
	if (o->format == F_JSON) {
		cJSON *j = cJSON_CreateObject(), *pts = NULL, *p, *arms, *x;
		cJSON_AddNumberToObject(j, "stride", (double)h->stride);
		cJSON_AddNumberToObject(j, "level", o->level);
		pts = cJSON_AddArrayToObject(j, "points");
		for (k = 0; k < h->n; k++) {
			p = cJSON_CreateObject();
			cJSON_AddNumberToObject(p, "updates", h->updates[k]);
			cJSON_AddNumberToObject(p, "cum_reward", cum_reward(h, k));
			arms = cJSON_AddObjectToObject(p, "arms");
			for (i = 0; i < h->nser; i++) {
				const struct pb_hist_series *s = &h->ser[i];
				double lo, hi;
				long n;
				if (isnan(s->pulls[k]))
					continue;
				n = point_ci(s, k, nonbinary(st, s->id), o, &lo, &hi);
				x = cJSON_AddObjectToObject(arms, s->id);
				num(x, "pulls", s->pulls[k]);
				num(x, "mean", n ? s->mean[k] : NAN);
				num(x, "ci_low", lo);
				num(x, "ci_high", hi);
				num(x, "prob", s->prob[k]);
			}
			cJSON_AddItemToArray(pts, p);
		}
		put_json(j);
		return;
	}
	if (o->format == F_CSV) {
		printf("updates,id,pulls,mean,ci_low,ci_high,prob,cum_reward\n");
		for (k = 0; k < h->n; k++)
			for (i = 0; i < h->nser; i++) {
				const struct pb_hist_series *s = &h->ser[i];
				double lo, hi;
				char m[32], l[32], u[32], p[32];
				long n;
				if (isnan(s->pulls[k]))
					continue;
				n = point_ci(s, k, nonbinary(st, s->id), o, &lo, &hi);
				fmtnum(m, sizeof m, n ? s->mean[k] : NAN, "%.6g");
				fmtnum(l, sizeof l, lo, "%.6g");
				fmtnum(u, sizeof u, hi, "%.6g");
				fmtnum(p, sizeof p, s->prob[k], "%.6g");
				printf("%.0f,", h->updates[k]);
				csvfield(s->id);
				printf(",%.0f,%s,%s,%s,%s,%.6g\n", s->pulls[k], m, l, u, p,
				       cum_reward(h, k));
			}
		return;
	}
	for (i = 0; i < h->nser; i++)
		if (strlen(h->ser[i].id) > w)
			w = strlen(h->ser[i].id);
	printf(md ? "History: %zu points, one every %ld updates; each cell is the "
	       "selection probability / mean reward.\n\n" : "history: %zu points, "
	       "one every %ld updates; each cell is selection probability / mean reward\n",
	       h->n, h->stride);
	printf(md ? "| updates |" : "%9s", "updates");
	for (i = 0; i < h->nser; i++) {
		if (md) {
			putchar(' ');
			mdcell(h->ser[i].id);
			printf(" |");
		} else {
			printf("  %*s", (int)(w > 11 ? w : 11), h->ser[i].id);
		}
	}
	printf(md ? " cumulative reward |\n|---:|" : "  %10s\n", "cum.reward");
	for (i = 0; md && i < h->nser; i++)
		printf(":---:|");
	if (md)
		printf("---:|\n");
	for (k = 0; k < h->n; k++) {
		printf(md ? "| %.0f |" : "%9.0f", h->updates[k]);
		for (i = 0; i < h->nser; i++) {
			const struct pb_hist_series *s = &h->ser[i];
			char cell[80];
			fmtnum(a, sizeof a, s->prob[k], "%.3f");
			fmtnum(b, sizeof b, s->pulls[k] > 0 ? s->mean[k] : NAN, "%.3f");
			snprintf(cell, sizeof cell, "%s / %s", a, b);
			if (md)
				printf(" %s |", cell);
			else
				printf("  %*s", (int)(w > 11 ? w : 11), cell);
		}
		printf(md ? " %.6g |\n" : "  %10.6g\n", cum_reward(h, k));
	}
}

/* Sparklines: eight levels in UTF-8, else ASCII. */
static const char *const spark_utf8[] = {
	"\xe2\x96\x81", "\xe2\x96\x82", "\xe2\x96\x83", "\xe2\x96\x84",
	"\xe2\x96\x85", "\xe2\x96\x86", "\xe2\x96\x87", "\xe2\x96\x88"
};
static const char *const spark_ascii[] = { "_", ".", ",", "-", "=", "+", "*", "#" };

#define CHART_W 60

/* One sparkline of v over the points (the last point of each column),
 * scaled to [0, top]. */
static void
sparkline(const double *v, size_t n, double top, int utf8)
{
	size_t c, cols = n < CHART_W ? n : CHART_W;

	for (c = 0; c < cols; c++) {
		double x = v[(c + 1) * n / cols - 1];
		int lv;
		if (isnan(x)) {
			putchar(' ');
			continue;
		}
		lv = top > 0 ? (int)floor(x / top * 8) : 0;
		lv = lv < 0 ? 0 : lv > 7 ? 7 : lv;
		fputs(utf8 ? spark_utf8[lv] : spark_ascii[lv], stdout);
	}
	for (; c < CHART_W; c++)
		putchar(' ');
}

static void
print_chart(const struct pb_state *st, const struct opts *o)
{
	const struct pb_history *h = hist_of(st, o);
	const char *cs;
	double *cum, top = 0;
	size_t i, k, w = 4;
	int utf8;

	if (!h || h->n == 0)
		return;
	setlocale(LC_CTYPE, "");
	cs = nl_langinfo(CODESET);
	utf8 = cs && (!strcmp(cs, "UTF-8") || !strcmp(cs, "utf8"));
	for (i = 0; i < h->nser; i++)
		if (strlen(h->ser[i].id) > w)
			w = strlen(h->ser[i].id);
	printf("\nselection probability over %.0f updates (0 to 1):\n", h->updates[h->n - 1]);
	for (i = 0; i < h->nser; i++) {
		printf("  %-*s  ", (int)w, h->ser[i].id);
		sparkline(h->ser[i].prob, h->n, 1, utf8);
		printf("  %.3f\n", h->ser[i].prob[h->n - 1]);
	}
	printf("mean reward (0 to 1):\n");
	for (i = 0; i < h->nser; i++) {
		printf("  %-*s  ", (int)w, h->ser[i].id);
		sparkline(h->ser[i].mean, h->n, 1, utf8);
		printf("  %.3f\n", h->ser[i].mean[h->n - 1]);
	}
	cum = ecalloc(h->n, sizeof *cum);
	for (k = 0; k < h->n; k++)
		if ((cum[k] = cum_reward(h, k)) > top)
			top = cum[k];
	printf("cumulative reward (0 to %.6g):\n  %-*s  ", top, (int)w, "all");
	sparkline(cum, h->n, top, utf8);
	printf("  %.6g\n", cum[h->n - 1]);
	free(cum);
}

/* ------------------------------------------------------------ gnuplot */

/* s as a gnuplot double-quoted string: " and \ after a backslash (so
 * no other backslash is left to start an escape), control characters
 * shown as '?'.  Not single quotes: gnuplot 5.4 does not read a doubled
 * ' inside them. */
static void
gpstr(FILE *fp, const char *s)
{
	putc('"', fp);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			putc('\\', fp);
		putc((unsigned char)*s < 0x20 ? '?' : *s, fp);
	}
	putc('"', fp);
}

static void
gpnum(FILE *fp, double v)
{
	if (isfinite(v))
		fprintf(fp, " %.6g", v);
	else
		fputs(" ?", fp);
}

/* The share of the recent pulls that went to each series at each point:
 * its pulls over the last w points (w about a fifteenth of the run) over
 * everyone's.  Unlike a policy's own probability of the next pull, which
 * for UCB1 is 1 for one arm and 0 for the rest, this moves smoothly and
 * reads the same for every policy.  share[i * n + k]; NAN where nothing
 * was pulled in the window.  Returns w. */
static size_t
recent_share(const struct pb_history *h, double *share)
{
	size_t w = h->n / 15 ? h->n / 15 : 1, i, k;

	for (k = 0; k < h->n; k++) {
		double tot = 0, d;
		for (i = 0; i < h->nser; i++) {
			const double *p = h->ser[i].pulls;
			double now = isnan(p[k]) ? 0 : p[k];
			double then = k >= w && !isnan(p[k - w]) ? p[k - w] : 0;
			share[i * h->n + k] = d = now - then;
			tot += d;
		}
		for (i = 0; i < h->nser; i++)
			share[i * h->n + k] = tot > 0 ? share[i * h->n + k] / tot : NAN;
	}
	return w;
}

#define PLOT_NAMED 6 /* arms named and coloured when there are more than 8 */

/* Sets lead[i] to 1 + the rank of series i among the arms drawn in
 * colour and named, 0 for the rest: all of them when there are 8 or
 * fewer, else the PLOT_NAMED with the highest lower interval bound at the
 * last point (a lucky arm pulled twice is no leader).  Rank 1 is the
 * highest bound.  Returns how many are named. */
static size_t
plot_leaders(const struct pb_state *st, const struct opts *o, int *lead)
{
	const struct pb_history *h = hist_of(st, o);
	size_t i, j, k = h->n - 1, n, want = h->nser <= 8 ? h->nser : PLOT_NAMED;
	double *lb = ecalloc(h->nser, sizeof *lb);

	for (i = 0; i < h->nser; i++) {
		double lo, hi;
		lead[i] = 0;
		lb[i] = point_ci(&h->ser[i], k, nonbinary(st, h->ser[i].id), o, &lo, &hi) ?
		        lo : -1;
	}
	for (n = 0; n < want; n++) {
		size_t best = h->nser;
		for (j = 0; j < h->nser; j++)
			if (!lead[j] && (best == h->nser || lb[j] > lb[best]))
				best = j;
		lead[best] = (int)n + 1;
	}
	free(lb);
	return n;
}

/* The line colour of series i: a fixed palette by rank for the named
 * arms, grey for the rest. */
static const char *
plot_colour(const int *lead, size_t i)
{
	static const char *const pal[] = { "#1f77b4", "#d62728", "#2ca02c",
		"#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf" };

	return lead[i] ? pal[(lead[i] - 1) % 8] : "#c0c0c0";
}

/* The series to draw in pass 0 (the grey ones, in order) then pass 1
 * (the named ones, by rank): the index of the j-th, or nser when done. */
static size_t
plot_nth(const int *lead, size_t nser, size_t pass, size_t j)
{
	size_t i, seen = 0;

	for (i = 0; i < nser; i++) {
		if (pass == 0 && !lead[i] && seen++ == j)
			return i;
		if (pass == 1 && lead[i] == (int)j + 1)
			return i;
	}
	return nser;
}

/* Draws the three panels of the history into o->plot through gnuplot: the
 * data and the script go to a temp folder, gnuplot runs without a shell,
 * and its exit status decides. */
static void
plot(const struct pb_state *st, const struct opts *o)
{
	const struct pb_history *h = hist_of(st, o);
	const char *ext = strrchr(o->plot, '.'), *tmpdir = getenv("TMPDIR");
	char dir[4096], data[4200], script[4200];
	char *argv[] = { "gnuplot", script, NULL };
	FILE *fp;
	size_t i, j, k, w, nlead, pass;
	pid_t pid;
	int png, status, e, *lead, first;
	double *share;
	struct stat sb;

	if (!ext || (strcmp(ext, ".svg") && strcmp(ext, ".png")))
		die("--plot: '%s' does not end in .svg or .png", o->plot);
	png = !strcmp(ext, ".png");
	need_history(st, o);
	snprintf(dir, sizeof dir, "%s/pb-report.XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
	if (!mkdtemp(dir))
		die("cannot make a temp folder in %s: %s", tmpdir && *tmpdir ? tmpdir : "/tmp",
		    strerror(errno));
	snprintf(data, sizeof data, "%s/history.dat", dir);
	snprintf(script, sizeof script, "%s/plot.gp", dir);
	share = ecalloc(h->nser * h->n, sizeof *share);
	w = recent_share(h, share);
	lead = ecalloc(h->nser, sizeof *lead);
	nlead = plot_leaders(st, o, lead);

	/* data: one block per arm (updates pulls mean lo hi prob share), then the
	 * cumulative reward; blocks are two blank lines apart (gnuplot's
	 * `index`) */
	if (!(fp = fopen(data, "w")))
		die("%s: %s", data, strerror(errno));
	for (i = 0; i < h->nser; i++) {
		const struct pb_hist_series *s = &h->ser[i];
		int nb = nonbinary(st, s->id);
		fprintf(fp, "# arm %zu\n", i);
		for (k = 0; k < h->n; k++) {
			double lo, hi;
			long n;
			if (isnan(s->pulls[k]))
				continue;
			/* no band where there is no mean, nor on one or two
			 * graded rewards: a t interval on them spans [0,1] or
			 * nothing, and shades the others' bands over */
			if ((n = point_ci(s, k, nb, o, &lo, &hi)) == 0 || (nb && n < 3))
				lo = hi = NAN;
			fprintf(fp, "%.0f", h->updates[k]);
			gpnum(fp, s->pulls[k]);
			gpnum(fp, n ? s->mean[k] : NAN);
			gpnum(fp, lo);
			gpnum(fp, hi);
			gpnum(fp, s->prob[k]);
			gpnum(fp, share[i * h->n + k]);
			putc('\n', fp);
		}
		fputs("\n\n", fp);
	}
	fprintf(fp, "# cumulative reward\n");
	for (k = 0; k < h->n; k++)
		fprintf(fp, "%.0f %.6g\n", h->updates[k], cum_reward(h, k));
	if (fclose(fp) == EOF)
		die("%s: %s", data, strerror(errno));

	if (!(fp = fopen(script, "w")))
		die("%s: %s", script, strerror(errno));
	if (png)
		fputs("if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n"
		      "  set terminal pngcairo size 900,1200 noenhanced font 'sans,10'\n"
		      "} else {\n"
		      "  set terminal png size 900,1200 noenhanced\n"
		      "}\n", fp);
	else
		fputs("set terminal svg size 900,1200 dynamic noenhanced font 'sans,11'\n", fp);
	fputs("set output ", fp);
	gpstr(fp, o->plot);
	/* fixed margins, so the three panels share their x axis */
	fputs("\nset datafile missing '?'\nset key outside right top\n"
	      "set lmargin 10\nset rmargin 26\n"
	      "set grid\nset xlabel 'updates (pulls applied)'\n"
	      "set style fill transparent solid 0.15 noborder\nset multiplot layout 3,1 title ", fp);
	{
		char t[256];
		snprintf(t, sizeof t, "promptbandit run %.8s, policy %s, %s%s%s%.0f updates",
		         st->run, pb_policy_name(st->pol.kind), o->context ? "context " : "",
		         o->context ? o->context : "", o->context ? ", " : "",
		         (double)st->updates);
		gpstr(fp, t);
	}
	/* The grey arms first, so the named ones are drawn over them; one
	 * legend entry for all the grey ones. */
	fprintf(fp, "\nset title 'share of the recent pulls (each point: the last %zu "
	        "of %zu points)'\n"
	        "set yrange [0:*]\nset ylabel 'share of pulls'\nplot", w, h->n);
	for (pass = 0, first = 1; pass < 2; pass++)
		for (j = 0; (i = plot_nth(lead, h->nser, pass, j)) < h->nser; j++) {
			fprintf(fp, "%s", first ? " " : ", \\\n  ");
			gpstr(fp, data);
			fprintf(fp, " index %zu using 1:7 with lines lw %d lc rgb '%s' ",
			        i, lead[i] ? 2 : 1, plot_colour(lead, i));
			if (lead[i]) {
				fputs("title ", fp);
				gpstr(fp, h->ser[i].id);
			} else if (first) {
				fprintf(fp, "title 'the other %zu arms'", h->nser - nlead);
			} else {
				fputs("notitle", fp);
			}
			first = 0;
		}
	fprintf(fp, "\nset title '%g%% interval band and mean reward%s'\n"
	        "set yrange [0:1]\nset ylabel 'mean reward'\nplot", o->level * 100,
	        nlead < h->nser ? " (bands of the named arms)" : "");
	for (pass = 0, first = 1; pass < 2; pass++)
		for (j = 0; (i = plot_nth(lead, h->nser, pass, j)) < h->nser; j++) {
			fprintf(fp, "%s", first ? " " : ", \\\n  ");
			if (lead[i]) {
				gpstr(fp, data);
				fprintf(fp, " index %zu using 1:4:5 with filledcurves lc rgb '%s' "
				        "notitle, ", i, plot_colour(lead, i));
			}
			gpstr(fp, data);
			fprintf(fp, " index %zu using 1:3 with lines lw %d lc rgb '%s' ",
			        i, lead[i] ? 2 : 1, plot_colour(lead, i));
			if (lead[i]) {
				fputs("title ", fp);
				gpstr(fp, h->ser[i].id);
			} else if (first) {
				fprintf(fp, "title 'the other %zu arms'", h->nser - nlead);
			} else {
				fputs("notitle", fp);
			}
			first = 0;
		}
	free(share);
	free(lead);
	fputs("\nset title 'cumulative reward'\nset autoscale y\nset ylabel 'reward'\nplot ", fp);
	gpstr(fp, data);
	fprintf(fp, " index %zu using 1:2 with lines lw 2 lc black title 'all arms'\n"
	        "unset multiplot\nset output\n", h->nser);
	if (fclose(fp) == EOF)
		die("%s: %s", script, strerror(errno));

	fflush(stdout);
	e = posix_spawnp(&pid, "gnuplot", NULL, NULL, argv, environ);
	if (e == 0) {
		while (waitpid(pid, &status, 0) < 0)
			if (errno != EINTR)
				die("waitpid: %s", strerror(errno));
	}
	unlink(data);
	unlink(script);
	rmdir(dir);
	if (e == ENOENT)
		die("--plot: gnuplot not found; install it (Debian: apt-get install gnuplot-nox)");
	if (e)
		die("--plot: cannot run gnuplot: %s", strerror(e));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		unlink(o->plot);
		die("--plot: gnuplot failed (%s %d); its messages are above",
		    WIFEXITED(status) ? "exit status" : "signal",
		    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	}
	if (stat(o->plot, &sb) < 0 || sb.st_size == 0)
		die("--plot: gnuplot wrote nothing to %s", o->plot);
}

/* ============================================================ validation */

/* Held-out records: per arm, per task, the sum and count of rewards;
 * tasks are told apart by task.id, or by the task object's canonical
 * text when it has none. */
struct varm {
	char *id;
	double *sum;   /* per task */
	int *cnt;      /* per task: rewarded answers */
	long errors;
	double tin, tout;
};

struct vset {
	struct varm *arm;
	size_t narms;
	char **task;   /* keys, in order of first appearance */
	size_t ntasks, captasks;
	size_t *slot;  /* hash table of task indexes + 1 */
	size_t capslot;
	long records, bad;
	int tokens;
};

static size_t
task_index(struct vset *vs, const char *key)
{
	size_t i, j, a;
	uint64_t hk = pb_hash(key, strlen(key), 0);

	if (2 * (vs->ntasks + 1) > vs->capslot) {
		size_t ncap = vs->capslot ? 2 * vs->capslot : 256;
		size_t *ns = ecalloc(ncap, sizeof *ns);
		for (j = 0; j < vs->ntasks; j++) {
			uint64_t h2 = pb_hash(vs->task[j], strlen(vs->task[j]), 0);
			for (i = h2 & (ncap - 1); ns[i]; i = (i + 1) & (ncap - 1))
				;
			ns[i] = j + 1;
		}
		free(vs->slot);
		vs->slot = ns;
		vs->capslot = ncap;
	}
	for (i = hk & (vs->capslot - 1); vs->slot[i]; i = (i + 1) & (vs->capslot - 1))
		if (!strcmp(vs->task[vs->slot[i] - 1], key))
			return vs->slot[i] - 1;
	if (vs->ntasks == vs->captasks) {
		vs->captasks = vs->captasks ? 2 * vs->captasks : 64;
		vs->task = erealloc(vs->task, vs->captasks * sizeof *vs->task);
		for (a = 0; a < vs->narms; a++) {
			vs->arm[a].sum = erealloc(vs->arm[a].sum, vs->captasks * sizeof(double));
			vs->arm[a].cnt = erealloc(vs->arm[a].cnt, vs->captasks * sizeof(int));
		}
	}
	for (a = 0; a < vs->narms; a++) {
		vs->arm[a].sum[vs->ntasks] = 0;
		vs->arm[a].cnt[vs->ntasks] = 0;
	}
	vs->task[vs->ntasks] = estrdup(key);
	vs->slot[i] = vs->ntasks + 1;
	return vs->ntasks++;
}

/* The index of arm id in vs, or vs->narms if it has no records. */
static size_t
varm_find(const struct vset *vs, const char *id)
{
	size_t i;

	for (i = 0; i < vs->narms && strcmp(vs->arm[i].id, id); i++)
		;
	return i;
}

static size_t
varm_index(struct vset *vs, const char *id)
{
	struct varm *a;
	size_t i = varm_find(vs, id);

	if (i < vs->narms)
		return i;
	vs->arm = erealloc(vs->arm, (vs->narms + 1) * sizeof *vs->arm);
	a = &vs->arm[vs->narms];
	memset(a, 0, sizeof *a);
	a->id = estrdup(id);
	a->sum = ecalloc(vs->captasks ? vs->captasks : 1, sizeof(double));
	a->cnt = ecalloc(vs->captasks ? vs->captasks : 1, sizeof(int));
	return vs->narms++;
}

static int
validate_record(cJSON *rec, const struct pb_where *at, const char *why, void *arg)
{
	struct vset *vs = arg;
	const char *arm;
	cJSON *task, *id;
	char *key;
	size_t a, t;
	double reward, pin, pout;

	if (!rec) {
		bad_record(&vs->bad, at, 0, "%s", why);
		return 0;
	}
	vs->records++;
	arm = pb_json_str(rec, "arm");
	task = cJSON_GetObjectItemCaseSensitive(rec, "task");
	why = !arm ? "no \"arm\"" : !task ? "no \"task\"" : rec_reward(rec, &reward);
	if (why) {
		bad_record(&vs->bad, at, 0, "%s", why);
		cJSON_Delete(rec);
		return 0;
	}
	id = cJSON_IsObject(task) ? cJSON_GetObjectItemCaseSensitive(task, "id") : NULL;
	key = id && (cJSON_IsString(id) || cJSON_IsNumber(id)) ? pb_json_text(id) :
	      pb_json_canonical(task);
	if (!key)
		die("out of memory");
	a = varm_index(vs, arm);
	t = task_index(vs, key);
	free(key);
	if (isnan(reward)) {
		vs->arm[a].errors++;
	} else {
		vs->arm[a].sum[t] += reward;
		vs->arm[a].cnt[t]++;
	}
	if (rec_usage(rec, &pin, &pout) == 0) {
		vs->arm[a].tin += pin;
		vs->arm[a].tout += pout;
		vs->tokens = 1;
	}
	cJSON_Delete(rec);
	return 0;
}

/* One arm's held-out numbers. */
struct vrow {
	size_t arm;
	struct pb_stats acc;  /* over tasks, each the mean of its answers */
	double lo, hi;
	const char *method;
	size_t npair;         /* tasks both it and the baseline answered */
	double uplift, ulo, uhi, p;
	long b, c;            /* tasks it did better / worse than the baseline */
};

static void
validate_rows(const struct vset *vs, size_t base, const struct opts *o, struct vrow *r)
{
	double *d = ecalloc(vs->ntasks ? vs->ntasks : 1, sizeof *d);
	size_t a, t;

	for (a = 0; a < vs->narms; a++) {
		const struct varm *x = &vs->arm[a], *y = &vs->arm[base];
		struct vrow *v = &r[a];
		memset(v, 0, sizeof *v);
		v->arm = a;
		for (t = 0; t < vs->ntasks; t++) {
			if (!x->cnt[t])
				continue;
			pb_stats_add(&v->acc, x->sum[t] / x->cnt[t]);
			if (!y->cnt[t])
				continue;
			d[v->npair] = x->sum[t] / x->cnt[t] - y->sum[t] / y->cnt[t];
			v->b += d[v->npair] > 0;
			v->c += d[v->npair] < 0;
			v->uplift += d[v->npair];
			v->npair++;
		}
		pb_report_ci(&v->acc, 1 - o->level, o->interval, &v->lo, &v->hi, &v->method);
		v->uplift = v->npair ? v->uplift / (double)v->npair : NAN;
		if (pb_boot_mean_ci(d, v->npair, o->resamples, 1 - o->level, o->seed,
		                    &v->ulo, &v->uhi) < 0)
			die("out of memory");
		v->p = pb_mcnemar_exact(v->b, v->c);
	}
	free(d);
}

/* The validation's note on its intervals, ending in end. */
static void
vintervals(const struct opts *o, const struct vrow *r, size_t n, const char *end)
{
	printf("%g%% intervals: %s for accuracy, paired percentile bootstrap for uplift "
	       "(%ld resamples, seed %llu); p: exact McNemar%s\n", o->level * 100,
	       methods(r, n, sizeof *r, offsetof(struct vrow, method)), o->resamples,
	       (unsigned long long)o->seed, end);
}

static const struct vrow *cmp_rows;

/* Whether the held-out mean ho (of h) is significantly below the
 * training mean of t, one-sided at alpha: the two are means of
 * different tasks, so their difference has variance v_t / n_t + v_h /
 * n_h, each v floored at 1 / (4 n) as P(best)'s is.  *z receives the
 * drop in standard errors. */
static int
curse(const struct pb_stats *t, const struct pb_stats *h, double alpha, double *z)
{
	double nt = (double)t->n, nh = (double)h->n, vt, vh, mt, mh, se;

	*z = NAN;
	if (t->n < 1 || h->n < 1)
		return 0;
	mt = pb_stats_mean(t);
	mh = pb_stats_mean(h);
	vt = t->nonbinary ? pb_stats_var(t) : mt * (1 - mt);
	vh = h->nonbinary ? pb_stats_var(h) : mh * (1 - mh);
	vt = vt > 1 / (4 * nt) ? vt : 1 / (4 * nt);
	vh = vh > 1 / (4 * nh) ? vh : 1 / (4 * nh);
	se = sqrt(vt / nt + vh / nh);
	*z = (mt - mh) / se;
	return *z > pb_normal_quantile(1 - alpha);
}

static int
byacc(const void *x, const void *y)
{
	size_t a = *(const size_t *)x, b = *(const size_t *)y;
	double ma = pb_stats_mean(&cmp_rows[a].acc), mb = pb_stats_mean(&cmp_rows[b].acc);

	if (ma != mb)
		return ma > mb ? -1 : 1;
	return a < b ? -1 : a > b;
}

/* Held-out tasks the training state used: a task of the validation file
 * whose id (pb_task_key, the default input fields) is in one of the
 * state's pools at a position below some arm's cursor there. */
struct overlap {
	const struct pb_state *st;
	long n, used;
	char *example;
	struct pb_tasks seen;
};

static int
overlap_record(cJSON *rec, const struct pb_where *at, const char *why, void *arg)
{
	static const char *fields[] = { "input", "question", "prompt" };
	struct overlap *ov = arg;
	const cJSON *task = rec ? cJSON_GetObjectItemCaseSensitive(rec, "task") : NULL;
	const char *in = NULL;
	char err[PB_ERRLEN], *key;
	uint64_t dig;
	size_t f, c, narms = ov->st->narms, a;
	int pools = ov->st->ctx_field ? (int)ov->st->nctx : 1, p;

	(void)at;
	(void)why;
	for (f = 0; cJSON_IsObject(task) && f < 3 && !in; f++)
		in = pb_json_str(task, fields[f]);
	if (!in || !(key = pb_task_key(task, in, &dig, err))) {
		cJSON_Delete(rec);
		return 0; /* the report itself says what is wrong with it */
	}
	if (pb_tasks_find(&ov->seen, key) < 0) {
		if (pb_tasks_add(&ov->seen, key, 0) < 0)
			die("out of memory");
		ov->n++;
		for (p = 0; p < pools; p++) {
			int ci = ov->st->ctx_field ? p : -1;
			long pos = pb_tasks_find(pb_state_tasks(ov->st, ci), key), most = 0;
			for (a = 0; pos >= 0 && a < narms; a++)
				if (pb_state_cursor(ov->st, ci, (int)a) > most)
					most = pb_state_cursor(ov->st, ci, (int)a);
			if (pos >= 0 && pos < most) {
				if (!ov->used++)
					ov->example = estrdup(key);
				break;
			}
		}
		(void)c;
	}
	free(key);
	cJSON_Delete(rec);
	return 0;
}

/* --validate refuses held-out tasks that were used in training (the
 * state knows its tasks): exit 2, or a warning with --force. */
static void
check_held_out(const struct opts *o, const struct pb_state *st)
{
	struct overlap ov = { st, 0, 0, NULL, { 0 } };
	char *files[1] = { (char *)o->validate }, err[PB_ERRLEN];

	if (!st || !strcmp(o->validate, "-"))
		return; /* standard input is read once, by the report */
	if (pb_jsonl_files(1, files, overlap_record, &ov, err) < 0)
		die("%s", err);
	pb_tasks_free(&ov.seen);
	if (ov.used && !o->force)
		die("--validate: %ld of the %ld tasks in %s were used in training "
		    "(for example '%s'): they are not held out; use other tasks, or "
		    "--force to report anyway", ov.used, ov.n, o->validate, ov.example);
	if (ov.used)
		warnx_("warning: --validate: %ld of the %ld tasks in %s were used in "
		       "training (for example '%s'); the report is not a held-out check",
		       ov.used, ov.n, o->validate, ov.example);
	free(ov.example);
}

/* The validation report; returns whether the gate (if any) is met. */
static int
validate(const struct opts *o, const struct pb_state *st)
{
	struct vset vs = { 0 };
	struct vrow *r;
	size_t *ord, a, base, chosen = (size_t)-1;
	char *files[1];
	char err[PB_ERRLEN], lo[32], hi[32], up[64], ci[64], uci[64], pv[32], usd[32];
	const char *bname = o->baseline, *cname = o->arm;
	int tr = -1, met = 1, md = o->format == F_MD;
	size_t w = 3;

	check_held_out(o, st);
	files[0] = (char *)o->validate;
	if (pb_jsonl_files(1, files, validate_record, &vs, err) < 0)
		die("%s", err);
	if (vs.narms == 0)
		die("--validate: %s: no scored records", o->validate);
	if (!bname && st) {
		for (a = 0; a < st->narms && !bname; a++) {
			const char *p = pb_json_str(st->arms[a].fields, "prefix");
			if (p && !*p)
				bname = st->arms[a].id;
		}
	}
	if (!bname)
		die("--validate: no baseline: give --baseline ARM");
	if ((base = varm_find(&vs, bname)) == vs.narms)
		die("--validate: the baseline arm '%s' has no records in %s", bname, o->validate);
	if (!cname && st && (tr = pb_glr_leader(st)) >= 0)
		cname = st->arms[tr].id;
	if (!cname && vs.narms == 2)
		cname = vs.arm[base == 0 ? 1 : 0].id;
	if (cname && (chosen = varm_find(&vs, cname)) == vs.narms)
		die("--validate: the chosen arm '%s' has no records in %s", cname, o->validate);
	if (st && cname)
		tr = pb_state_find_arm(st, cname);

	r = ecalloc(vs.narms, sizeof *r);
	validate_rows(&vs, base, o, r);
	ord = ecalloc(vs.narms, sizeof *ord);
	for (a = 0; a < vs.narms; a++) {
		ord[a] = a;
		if (strlen(vs.arm[a].id) > w)
			w = strlen(vs.arm[a].id);
	}
	cmp_rows = r;
	qsort(ord, vs.narms, sizeof *ord, byacc);

	if (o->gate == G_UPLIFT) {
		if (chosen == (size_t)-1 || chosen == base)
			met = 0;
		else
			met = r[chosen].npair > 0 && r[chosen].uplift > 0 &&
			      r[chosen].p < o->alpha_gate;
	}

	if (o->format == F_JSON) {
		cJSON *j = cJSON_CreateObject(), *v = cJSON_AddObjectToObject(j, "validate"),
		      *arr, *x;
		cJSON_AddStringToObject(v, "file", o->validate);
		cJSON_AddNumberToObject(v, "tasks", (double)vs.ntasks);
		cJSON_AddNumberToObject(v, "records", (double)vs.records);
		cJSON_AddStringToObject(v, "baseline", vs.arm[base].id);
		cJSON_AddItemToObject(v, "chosen", cname ? cJSON_CreateString(cname) : cJSON_CreateNull());
		cJSON_AddNumberToObject(v, "level", o->level);
		cJSON_AddNumberToObject(v, "resamples", (double)o->resamples);
		cJSON_AddNumberToObject(v, "seed", (double)o->seed);
		arr = cJSON_AddArrayToObject(v, "arms");
		for (a = 0; a < vs.narms; a++) {
			const struct vrow *q = &r[ord[a]];
			const struct varm *m = &vs.arm[ord[a]];
			x = cJSON_CreateObject();
			cJSON_AddStringToObject(x, "id", m->id);
			cJSON_AddNumberToObject(x, "tasks", (double)q->acc.n);
			num(x, "accuracy", q->acc.n ? pb_stats_mean(&q->acc) : NAN);
			num(x, "ci_low", q->lo);
			num(x, "ci_high", q->hi);
			cJSON_AddStringToObject(x, "ci_method", q->method);
			cJSON_AddNumberToObject(x, "errors", (double)m->errors);
			if (ord[a] != base) {
				cJSON_AddNumberToObject(x, "paired", (double)q->npair);
				num(x, "uplift", q->uplift);
				num(x, "uplift_low", q->ulo);
				num(x, "uplift_high", q->uhi);
				cJSON_AddNumberToObject(x, "b", (double)q->b);
				cJSON_AddNumberToObject(x, "c", (double)q->c);
				num(x, "p_mcnemar", q->p);
			}
			if (vs.tokens) {
				cJSON_AddNumberToObject(x, "prompt_tokens", m->tin);
				cJSON_AddNumberToObject(x, "completion_tokens", m->tout);
				num(x, "cost", cost(o, vs.tokens, m->tin, m->tout));
			}
			cJSON_AddItemToArray(arr, x);
		}
		if (tr >= 0 && chosen != (size_t)-1) {
			const struct pb_arm *t = &st->arms[tr];
			double tlo, thi;
			const char *tm;
			x = cJSON_AddObjectToObject(v, "winners_curse");
			pb_report_ci(&t->st, 1 - o->level, o->interval, &tlo, &thi, &tm);
			cJSON_AddStringToObject(x, "arm", t->id);
			cJSON_AddNumberToObject(x, "train_pulls", (double)t->st.n);
			num(x, "train_mean", t->st.n ? pb_stats_mean(&t->st) : NAN);
			num(x, "train_ci_low", tlo);
			num(x, "train_ci_high", thi);
			num(x, "heldout_mean", r[chosen].acc.n ? pb_stats_mean(&r[chosen].acc) : NAN);
			num(x, "heldout_ci_low", r[chosen].lo);
			num(x, "heldout_ci_high", r[chosen].hi);
			{
				double z;
				int sig = curse(&t->st, &r[chosen].acc, o->alpha_gate, &z);
				num(x, "drop", t->st.n && r[chosen].acc.n ? pb_stats_mean(&t->st) -
				    pb_stats_mean(&r[chosen].acc) : NAN);
				num(x, "z", z);
				cJSON_AddBoolToObject(x, "significant", sig);
			}
		}
		if (o->gate == G_UPLIFT) {
			x = cJSON_AddObjectToObject(v, "gate");
			cJSON_AddNumberToObject(x, "alpha", o->alpha_gate);
			cJSON_AddBoolToObject(x, "met", met);
		}
		put_json(j);
		goto done;
	}
	if (o->format == F_CSV) {
		printf("id,tasks,accuracy,ci_low,ci_high,ci_method,paired,uplift,uplift_low,"
		       "uplift_high,b,c,p_mcnemar,errors,prompt_tokens,completion_tokens,cost\n");
		for (a = 0; a < vs.narms; a++) {
			const struct vrow *q = &r[ord[a]];
			const struct varm *m = &vs.arm[ord[a]];
			int isb = ord[a] == base;
			csvfield(m->id);
			fmtnum(lo, sizeof lo, q->lo, "%.6g");
			fmtnum(hi, sizeof hi, q->hi, "%.6g");
			fmtnum(up, sizeof up, isb ? NAN : q->uplift, "%.6g");
			fmtnum(ci, sizeof ci, isb ? NAN : q->ulo, "%.6g");
			fmtnum(uci, sizeof uci, isb ? NAN : q->uhi, "%.6g");
			fmtnum(pv, sizeof pv, isb ? NAN : q->p, "%.6g");
			fmtnum(usd, sizeof usd, cost(o, vs.tokens, m->tin, m->tout), "%.6g");
			printf(",%ld,%.6g,%s,%s,%s,", q->acc.n, pb_stats_mean(&q->acc), lo, hi, q->method);
			if (isb)
				printf("-,%s,%s,%s,-,-,%s", up, ci, uci, pv);
			else
				printf("%zu,%s,%s,%s,%ld,%ld,%s", q->npair, up, ci, uci, q->b, q->c, pv);
			if (vs.tokens)
				printf(",%ld,%.0f,%.0f,%s\n", m->errors, m->tin, m->tout, usd);
			else
				printf(",%ld,-,-,%s\n", m->errors, usd);
		}
		goto done;
	}
	printf(md ? "Held-out validation: %zu arms on %zu tasks of `%s`, paired by task; "
	       "baseline `%s`.\n\n" : "held-out validation: %zu arms on %zu tasks of %s, "
	       "paired by task; baseline %s\n", vs.narms, vs.ntasks, o->validate, vs.arm[base].id);
	if (!md)
		vintervals(o, r, vs.narms, "");
	if (md)
		printf("| arm | tasks | accuracy | %g%% CI | uplift | %g%% CI | b | c | McNemar p | errors |%s\n"
		       "|:---|---:|---:|:---:|---:|:---:|---:|---:|---:|---:|%s\n", o->level * 100,
		       o->level * 100, vs.tokens ? " tokens | cost |" : "", vs.tokens ? "---:|---:|" : "");
	else
		printf("%-*s %6s %8s  %-15s %7s  %-17s %4s %4s %9s %6s%s\n", (int)w, "arm", "tasks",
		       "accuracy", "CI", "uplift", "CI", "b", "c", "McNemar p", "errors",
		       vs.tokens ? "     tokens     cost" : "");
	for (a = 0; a < vs.narms; a++) {
		const struct vrow *q = &r[ord[a]];
		const struct varm *m = &vs.arm[ord[a]];
		char acc[32], bs[32], cs[32], tok[32];
		int isb = ord[a] == base;
		fmtnum(acc, sizeof acc, q->acc.n ? pb_stats_mean(&q->acc) : NAN, "%.3f");
		snprintf(ci, sizeof ci, "[%.3f, %.3f]", q->lo, q->hi);
		if (isb) {
			snprintf(up, sizeof up, "(base)");
			snprintf(uci, sizeof uci, "-");
			snprintf(bs, sizeof bs, "-");
			snprintf(cs, sizeof cs, "-");
			snprintf(pv, sizeof pv, "-");
		} else {
			fmtnum(up, sizeof up, q->uplift, "%+.3f");
			if (isfinite(q->ulo))
				snprintf(uci, sizeof uci, "[%+.3f, %+.3f]", q->ulo, q->uhi);
			else
				snprintf(uci, sizeof uci, "-");
			snprintf(bs, sizeof bs, "%ld", q->b);
			snprintf(cs, sizeof cs, "%ld", q->c);
			snprintf(pv, sizeof pv, "%.4g", q->p);
		}
		snprintf(tok, sizeof tok, "%.0f", m->tin + m->tout);
		fmtnum(usd, sizeof usd, cost(o, vs.tokens, m->tin, m->tout), "$%.4f");
		if (md) {
			printf("| ");
			mdcell(m->id);
			printf(" | %ld | %s | %s | %s | %s | %s | %s | %s | %ld |", q->acc.n, acc,
			       ci, up, uci, bs, cs, pv, m->errors);
			if (vs.tokens)
				printf(" %s | %s |", tok, usd);
			putchar('\n');
		} else {
			printf("%-*s %6ld %8s  %-15s %7s  %-17s %4s %4s %9s %6ld", (int)w, m->id,
			       q->acc.n, acc, ci, up, uci, bs, cs, pv, m->errors);
			if (vs.tokens)
				printf(" %10s %8s", tok, usd);
			putchar('\n');
		}
	}
	if (md) {
		putchar('\n');
		vintervals(o, r, vs.narms, ".");
	}
	if (chosen != (size_t)-1 && chosen != base) {
		const struct vrow *q = &r[chosen];
		double ho = pb_stats_mean(&q->acc);
		if (md)
			putchar('\n');
		if (tr >= 0 && st->arms[tr].st.n > 0) {
			const struct pb_arm *t = &st->arms[tr];
			double tm = pb_stats_mean(&t->st), tlo, thi;
			const char *meth;
			double z;
			int sig = curse(&t->st, &q->acc, o->alpha_gate, &z);
			pb_report_ci(&t->st, 1 - o->level, o->interval, &tlo, &thi, &meth);
			printf("%s: the run chose %s on a training mean of %.3f "
			       "[%.3f, %.3f] over %ld pulls; on %ld held-out tasks it scored %.3f "
			       "[%.3f, %.3f]", sig ? "winner's curse" : "training against held-out",
			       t->id, tm, tlo, thi, t->st.n, q->acc.n, ho, q->lo, q->hi);
			if (sig)
				printf(", %.3f lower (z = %.2f, significant at %g): the training "
				       "figure was flattered by picking the luckiest arm; believe the "
				       "held-out one.\n", tm - ho, z, o->alpha_gate);
			else if (ho < tm)
				printf(", %.3f lower, within chance (z = %.2f, not significant at "
				       "%g): no evidence of the winner's curse.\n", tm - ho, z,
				       o->alpha_gate);
			else
				printf(", no lower: no sign of the winner's curse.\n");
		}
		printf("uplift of %s over %s: %+.3f on %zu paired tasks (%g%% CI [%+.3f, %+.3f]), "
		       "McNemar p = %.4g: %ssignificant at %g%s\n", vs.arm[chosen].id,
		       vs.arm[base].id, q->uplift, q->npair, o->level * 100, q->ulo, q->uhi, q->p,
		       q->uplift > 0 && q->p < o->alpha_gate ? "" : "not ", o->alpha_gate,
		       q->uplift > 0 && q->p < o->alpha_gate ? "." : ": the held-out tasks "
		       "do not show that it beats the baseline.");
	} else if (chosen != (size_t)-1) {
		printf("%suplift: the chosen arm %s is the baseline itself: there is no "
		       "uplift to measure (name another with --arm, or another baseline with "
		       "--baseline)\n", md ? "\n" : "", vs.arm[chosen].id);
	}
done:
	for (a = 0; a < vs.narms; a++) {
		free(vs.arm[a].id);
		free(vs.arm[a].sum);
		free(vs.arm[a].cnt);
	}
	for (a = 0; a < vs.ntasks; a++)
		free(vs.task[a]);
	free(vs.task);
	free(vs.slot);
	free(vs.arm);
	free(r);
	free(ord);
	if (o->gate == G_UPLIFT && !met)
		warnx_("gate: %s", chosen == (size_t)-1 ? "no chosen arm (give --arm ARM)" :
		       chosen == base ? "the chosen arm is the baseline itself: no uplift "
		       "to test" : "the held-out uplift of the chosen arm is not significant");
	return vs.bad ? -1 - !met : met; /* -1: bad records, -2: both */
}

/* =================================================================== main */

static void
parse_price(struct opts *o, const char *s)
{
	char *end;

	errno = 0;
	o->price_in = strtod(s, &end);
	if (errno || end == s || *end != ',' || !(o->price_in >= 0))
		die("--price: '%s' is not IN,OUT (dollars per million tokens)", s);
	s = end + 1;
	o->price_out = strtod(s, &end);
	if (errno || end == s || *end || !(o->price_out >= 0))
		die("--price: '%s' is not IN,OUT (dollars per million tokens)", s);
	o->price = 1;
}

static void
parse_gate(struct opts *o, const char *s)
{
	if (!strcmp(s, "verdict")) {
		o->gate = G_VERDICT;
	} else if (!strncmp(s, "uplift", 6) && (s[6] == '\0' || s[6] == ':')) {
		o->gate = G_UPLIFT;
		if (s[6] == ':')
			o->alpha_gate = numarg("--require uplift:ALPHA", s + 7, 1e-9, 0.5);
	} else {
		die("--require: '%s' is not verdict or uplift[:ALPHA]", s);
	}
}

int
main(int argc, char **argv)
{
	enum { O_JSON = 256, O_CSV, O_MD, O_LEVEL, O_EPS, O_VERSION, O_INTERVAL,
	       O_DRAWS, O_SEED, O_PRICE, O_HISTORY, O_CHART, O_PLOT, O_REQUIRE,
	       O_REPLAY, O_VALIDATE, O_BASELINE, O_ARM, O_RESAMPLES, O_CONTEXT,
	       O_FORCE };
	static const struct option lopts[] = {
		{ "state", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, O_JSON },
		{ "csv", no_argument, NULL, O_CSV },
		{ "markdown", no_argument, NULL, O_MD },
		{ "level", required_argument, NULL, O_LEVEL },
		{ "epsilon", required_argument, NULL, O_EPS },
		{ "interval", required_argument, NULL, O_INTERVAL },
		{ "draws", required_argument, NULL, O_DRAWS },
		{ "seed", required_argument, NULL, O_SEED },
		{ "price", required_argument, NULL, O_PRICE },
		{ "history", no_argument, NULL, O_HISTORY },
		{ "chart", no_argument, NULL, O_CHART },
		{ "plot", required_argument, NULL, O_PLOT },
		{ "require", required_argument, NULL, O_REQUIRE },
		{ "replay", no_argument, NULL, O_REPLAY },
		{ "validate", required_argument, NULL, O_VALIDATE },
		{ "force", no_argument, NULL, O_FORCE },
		{ "baseline", required_argument, NULL, O_BASELINE },
		{ "arm", required_argument, NULL, O_ARM },
		{ "resamples", required_argument, NULL, O_RESAMPLES },
		{ "context", required_argument, NULL, O_CONTEXT },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, O_VERSION },
		{ 0 }
	};
	struct opts o = { F_TABLE, 0.95, NAN, 0, 0, 0.05, NULL, NULL, NULL, NULL,
	                  NULL, NULL, NULL, 10000, 10000, 1, 0, 0, 0, 0, G_NONE };
	struct ranking rk = { 0 };
	struct pb_state ref;
	char err[PB_ERRLEN];
	int ch, have_ref = 0, status = PB_EXIT_OK, vr;
	long records = 0;

	setprog(argv[0]);
	while ((ch = getopt_long(argc, argv, "s:h", lopts, NULL)) != -1) {
		switch (ch) {
		case 's': o.spath = optarg; break;
		case O_JSON: o.format = F_JSON; break;
		case O_CSV: o.format = F_CSV; break;
		case O_MD: o.format = F_MD; break;
		case O_LEVEL: o.level = numarg("--level", optarg, 0.5, 0.9999); break;
		case O_EPS: o.eps = numarg("--epsilon", optarg, 0, 1); break;
		case O_INTERVAL:
			if (strcmp(optarg, "anytime") && strcmp(optarg, "auto") &&
			    strcmp(optarg, "bernstein"))
				die("--interval: '%s' is not anytime, auto or bernstein", optarg);
			o.interval = optarg;
			break;
		case O_DRAWS: o.draws = intarg("--draws", optarg, 1, 100000000); break;
		case O_SEED: o.seed = (uint64_t)intarg("--seed", optarg, 0, 0x7fffffffffffffffL); break;
		case O_PRICE: parse_price(&o, optarg); break;
		case O_HISTORY: o.history = 1; break;
		case O_CHART: o.chart = 1; break;
		case O_PLOT: o.plot = optarg; break;
		case O_REQUIRE: parse_gate(&o, optarg); break;
		case O_REPLAY: o.replay = 1; break;
		case O_VALIDATE: o.validate = optarg; break;
		case O_FORCE: o.force = 1; break;
		case O_BASELINE: o.baseline = optarg; break;
		case O_ARM: o.arm = optarg; break;
		case O_RESAMPLES: o.resamples = intarg("--resamples", optarg, 2, 10000000); break;
		case O_CONTEXT: o.context = optarg; break;
		case 'h': usage(stdout, PB_EXIT_OK); break;
		case O_VERSION: version(); break;
		default: usage(stderr, PB_EXIT_USAGE);
		}
	}
	if (optind != argc && !o.replay)
		usage(stderr, PB_EXIT_USAGE);
	/* Beside an adaptive run's verdict only an interval valid at the
	 * time the run chose to stop means what it says; a held-out set is
	 * a fixed sample. */
	if (!o.interval)
		o.interval = o.validate ? "auto" : "anytime";
	if (o.validate && (o.replay || o.history || o.plot))
		die("--validate does not go with --replay, --history or --plot");
	if (o.replay && (o.history || o.plot))
		die("--replay rebuilds the ranking only: no --history or --plot");
	if (o.context && (o.replay || o.validate))
		die("--context does not go with --replay or --validate");
	if (o.gate == G_UPLIFT && !o.validate)
		die("--require uplift needs --validate FILE");
	if (o.gate == G_VERDICT && o.validate)
		die("--require verdict needs the ranking, not --validate");

	/* Replay and validation can go without a state: use one only if named. */
	if ((o.replay || o.validate) && !o.spath)
		o.spath = getenv("PB_STATE") && *getenv("PB_STATE") ? getenv("PB_STATE") : NULL;
	else
		o.spath = statepath(o.spath);
	if (o.spath) {
		if (pb_state_load(&ref, o.spath, err) < 0)
			die("%s", err);
		pb_state_count_pending(&ref, pb_now());
		have_ref = 1;
	}

	if (o.validate) {
		vr = validate(&o, have_ref ? &ref : NULL);
		if (have_ref)
			pb_state_free(&ref);
		if (fshut(stdout, "<stdout>"))
			return PB_EXIT_USAGE;
		return vr == 1 ? PB_EXIT_OK : vr == 0 || vr == -2 ? PB_EXIT_GATE : PB_EXIT_RECORDS;
	}

	if (o.replay) {
		long bad = replay(&rk, have_ref ? &ref : NULL, argc - optind, argv + optind,
		                  &records);
		rk.replayed = 1;
		if (bad)
			status = PB_EXIT_RECORDS;
		if (have_ref) {
			rk.st.pol = ref.pol; /* the verdict by the state's policy's rule */
			pb_state_free(&ref);
		}
	} else if (o.context) {
		int c = pb_state_find_ctx(&ref, o.context);
		if (!ref.ctx_field)
			die("--context: %s keeps no contexts", o.spath);
		if (c < 0)
			die("--context: no context '%s' of %s in %s", o.context,
			    ref.ctx_field, o.spath);
		context_view(&ref, (size_t)c, &rk.st);
		rk.view = 1;
		rk.ctx = ref.ctx[c].name;
	} else {
		rk.st = ref;
		if (ref.ctx_field)
			rk.ctx = ctx_all;
	}

	rank_arms(&rk, &o);
	if (o.history) {
		print_history(&rk.st, &o);
	} else {
		if (o.format == F_JSON) {
			cJSON *j = ranking_json(&rk, &o);
			if (o.replay) {
				cJSON *x = cJSON_AddObjectToObject(j, "replay");
				cJSON_AddNumberToObject(x, "records", (double)records);
				cJSON_AddBoolToObject(x, "agrees", have_ref && status == PB_EXIT_OK);
			}
			if (rk.ctx && !rk.view)
				contexts(&rk.st, &o, j);
			else if (rk.view)
				cJSON_AddStringToObject(j, "context", rk.ctx);
			put_json(j);
		} else {
			if (rk.view && o.format != F_CSV)
				context_heading(ref.ctx_field, rk.ctx, &o);
			print_ranking(&rk, &o);
			if (rk.ctx && !rk.view)
				contexts(&rk.st, &o, NULL);
			if (o.replay && have_ref && o.format == F_TABLE)
				printf("replay: %ld records %s %s\n", records, status ==
				       PB_EXIT_OK ? "agree with" : "disagree with", o.spath);
		}
		if (!o.replay && (o.chart || (o.format == F_TABLE && isatty(1))))
			print_chart(&rk.st, &o);
	}
	if (o.plot)
		plot(&rk.st, &o);
	if (o.gate == G_VERDICT && rk.v.totals) {
		size_t open = contexts_undecided(&rk.st, &o);
		if (open || rk.st.nctx == 0) {
			warnx_("gate: the verdict is not reached in %zu of the %zu contexts",
			       open, rk.st.nctx);
			status = PB_EXIT_GATE;
		}
	} else if (o.gate == G_VERDICT && !rk.v.done) {
		warnx_("gate: the verdict is not reached");
		status = PB_EXIT_GATE;
	}
	ranking_free(&rk);
	if (rk.view)
		pb_state_free(&ref);
	if (fshut(stdout, "<stdout>"))
		return PB_EXIT_USAGE;
	return status;
}
