/* verdict.c - unit tests of pb_bandit_verdict (lib/verdict.c): on states
 * built here under every policy (rewards applied through the state's own
 * verbs, paired for race, with retired arms, contexts and a pool used
 * up), it gives what pb-report's judge() gave before the verdict moved
 * into the library.  That judge() is kept below, as it was, as the
 * reference. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "../../lib/pb.h"

/* ------------------------------------------- the reference: judge() */

struct verdict {
	int done, best;
	double conf;
	const char *rule;
	unsigned char *open;
	double delta;
	double eps;
	unsigned char *good;
	char why[PB_ERRLEN];
	int exhausted;
	int totals;
	double *weighted;
	size_t nctx;
	size_t pool;
};

static void *
ecalloc(size_t n, size_t m)
{
	void *p = calloc(n ? n : 1, m);

	if (!p)
		exit(2);
	return p;
}

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
		for (i = 0; i < n; i++)
			open[i] = (int)i != best && isfinite(pb_policy_index(st, (int)i));
	} else if (k == PB_POL_RACE) {
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
						wsum = NAN;
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

/* ------------------------------------------------------ the states */

static int
same_num(double a, double b)
{
	return (isnan(a) && isnan(b)) || a == b;
}

static int ndone, nopen; /* verdicts reached, and arms left open, seen */

/* Whether pb_bandit_verdict agrees with judge() on st; says what differs. */
static int
agree(const struct pb_state *st, double level, double eps, const char *what)
{
	struct verdict r = { 0 };
	struct pb_verdict v;
	size_t i;
	int bad = 0;

	r.eps = eps;
	judge(st, level, &r);
	ndone += r.done;
	for (i = 0; i < st->narms; i++)
		nopen += r.open[i];
	if (pb_bandit_verdict(st, level, eps, &v) < 0) {
		printf("# %s: out of memory\n", what);
		return 0;
	}
#define CHECK(c, ...) do { if (!(c)) { printf("# %s: ", what); \
	printf(__VA_ARGS__); printf("\n"); bad++; } } while (0)
	CHECK(v.done == r.done, "done %d, judge %d", v.done, r.done);
	CHECK(v.best == r.best, "best %d, judge %d", v.best, r.best);
	CHECK(same_num(v.conf, r.conf), "conf %g, judge %g", v.conf, r.conf);
	CHECK(v.delta == r.delta, "delta %g, judge %g", v.delta, r.delta);
	CHECK(!strcmp(v.rule, r.rule), "rule %s, judge %s", v.rule, r.rule);
	CHECK(!strcmp(v.why, r.why), "why '%s', judge '%s'", v.why, r.why);
	CHECK(v.exhausted == r.exhausted, "exhausted %d", v.exhausted);
	CHECK(v.totals == r.totals && v.nctx == r.nctx && v.pool == r.pool,
	      "totals %d/%d nctx %zu/%zu pool %zu/%zu", v.totals, r.totals,
	      v.nctx, r.nctx, v.pool, r.pool);
	CHECK(!v.good == !r.good, "good set %s", v.good ? "made" : "missing");
	for (i = 0; i < st->narms; i++) {
		CHECK(v.open[i] == r.open[i], "open[%zu] %d, judge %d", i,
		      v.open[i], r.open[i]);
		if (v.good && r.good)
			CHECK(v.good[i] == r.good[i], "good[%zu]", i);
		if (v.weighted && r.weighted)
			CHECK(same_num(v.weighted[i], r.weighted[i]), "weighted[%zu] %g, "
			      "judge %g", i, v.weighted[i], r.weighted[i]);
	}
	CHECK(!v.weighted == !r.weighted, "weighted");
#undef CHECK
	pb_verdict_free(&v);
	free(r.open);
	free(r.good);
	free(r.weighted);
	return bad == 0;
}

static const char *policies[] = {
	"uniform", "epsilon-greedy", "softmax", "ucb1", "ucb-v", "kl-ucb",
	"thompson", "exp3", "successive-halving:budget=60",
	"successive-rejects:budget=60", "lucb", "top-two", "race",
	"lucb:delta=0.3", "race:delta=0.4",
};
#define NPOLICIES (sizeof policies / sizeof *policies)

static const double mu[] = { 0.2, 0.5, 0.9, 0.45 };
#define NARMS 4

static void
mkstate(struct pb_state *st, const char *policy, const char *cfield)
{
	static const char arms[] = "{\"id\":\"a\"}\n{\"id\":\"b\"}\n"
	                           "{\"id\":\"c\"}\n{\"id\":\"d\"}\n";
	char err[PB_ERRLEN];
	struct pb_policy pol;
	FILE *fp = fmemopen((void *)arms, strlen(arms), "r");

	if (pb_policy_parse(&pol, policy, err) < 0 ||
	    pb_state_new(st, fp, "arms", &pol, 3, err) < 0) {
		printf("Bail out! %s: %s\n", policy, err);
		exit(1);
	}
	fclose(fp);
	if (cfield)
		st->ctx_field = strdup(cfield);
}

/* Runs ntasks tasks through st as pb-sample and pb-update would: the
 * policy's arms for each task (in the context ctx[t % nctx] when given),
 * handed out as a group, rewards drawn at mu; the last `out` tasks are
 * handed out and left pending.  Each task is a pool task when pooled. */
static void
run(struct pb_state *st, long ntasks, long out, const char *const *ctx,
    size_t nctx, int pooled)
{
	struct pb_rng r;
	char err[PB_ERRLEN];
	long t;

	pb_rng_seed(&r, 99);
	for (t = 0; t < ntasks; t++) {
		int arms[NARMS], c = -1, m, j;
		const char *cn = nctx ? ctx[t % (long)nctx] : NULL;
		long first, pos = -1;

		if (cn && (c = pb_state_add_ctx(st, cn)) < 0)
			exit(2);
		if (st->ctx_field == NULL && pb_state_done(st, -1, err, NULL))
			break;
		m = pb_state_choose(st, c, (size_t)pb_policy_arms_per_task(&st->pol),
		                    NULL, arms);
		if (m <= 0)
			break;
		if (pooled) {
			char id[32], *ids[1] = { id };
			uint64_t dig = (uint64_t)t;
			snprintf(id, sizeof id, "t%ld", t);
			if (pb_state_learn(st, c, 1, ids, &dig, &pos) < 0)
				exit(2);
			if ((pos = pb_state_next_pos(st, c, arms, (size_t)m, NULL)) < 0)
				break;
		}
		if (pb_state_begin_batch(st, 1e9) < 0)
			exit(2);
		st->batch[st->nbatch - 1].k = m;
		first = st->next_pull;
		for (j = 0; j < m; j++)
			if (pb_state_hand_out_task(st, arms[j], c, pos) < 0)
				exit(2);
		if (t >= ntasks - out)
			continue;
		for (j = 0; j < m; j++) {
			double rw = pb_rng_uniform(&r) < mu[arms[j]] ? 1 : 0;
			if (pb_state_apply_ctx(st, first + j, arms[j], rw, cn, err) < 0) {
				printf("Bail out! apply: %s\n", err);
				exit(1);
			}
		}
	}
}

int
main(void)
{
	static const char *const two[] = { "easy", "hard" };
	char err[PB_ERRLEN];
	size_t p;
	long n;

	for (p = 0; p < NPOLICIES; p++) {
		static const long lengths[] = { 0, 3, 40, 400 };
		size_t l;
		int good = 1;
		for (l = 0; l < sizeof lengths / sizeof *lengths; l++) {
			struct pb_state st;
			char what[128];
			n = lengths[l];
			mkstate(&st, policies[p], NULL);
			run(&st, n, n > 4 ? 2 : 0, NULL, 0, 0);
			snprintf(what, sizeof what, "%s, %ld tasks", policies[p], n);
			good &= agree(&st, 0.95, NAN, what);
			good &= agree(&st, 0.8, 0.1, what);
			/* a retired arm neither blocks nor wins a verdict */
			if (pb_state_retire(&st, n % 2 ? "c" : "a", err) == 0)
				good &= agree(&st, 0.95, 0.05, what);
			pb_state_free(&st);
		}
		ok(good, "%s: the verdict is judge()'s, short and long runs, "
		   "with eps and a retired arm", policies[p]);
	}

	for (p = 0; p < NPOLICIES; p++) {
		struct pb_state st;
		struct pb_verdict v;
		size_t c;
		int good = 1;
		mkstate(&st, policies[p], "level");
		run(&st, 120, 3, two, 2, 1);
		good &= agree(&st, 0.95, 0.1, policies[p]);
		for (c = 0; c < st.nctx; c++) {
			struct pb_state view;
			pb_state_context_view(&st, c, &view);
			good &= agree(&view, 0.9, NAN, policies[p]);
		}
		ok(good && pb_bandit_verdict(&st, 0.95, NAN, &v) == 0 && v.totals &&
		   v.done == 0 && v.weighted && v.nctx == 2 && v.pool > 0,
		   "%s with contexts: totals weighted, no verdict there; each "
		   "context's view judged as judge() did", policies[p]);
		pb_verdict_free(&v);
		pb_state_free(&st);
	}

	ok(ndone >= 10 && nopen >= 10, "the states judged include %d verdicts "
	   "reached and %d arms not yet separated", ndone, nopen);

	/* a pool used up with pulls still out: the exhaustion in words */
	{
		struct pb_state st;
		struct pb_verdict v;
		mkstate(&st, "uniform", NULL);
		run(&st, 8, 1, NULL, 0, 1);
		run(&st, 0, 0, NULL, 0, 1);
		ok(agree(&st, 0.95, NAN, "uniform, pooled"), "a pooled run: as judge()");
		pb_state_free(&st);

		mkstate(&st, "thompson", NULL);
		/* three tasks, every arm given each: nothing new can come */
		{
			char *ids[3] = { "x", "y", "z" };
			uint64_t dig[3] = { 1, 2, 3 };
			long pos[3], id[NARMS][3];
			int a, k;
			pb_state_learn(&st, -1, 3, ids, dig, pos);
			pb_state_begin_batch(&st, 1e9);
			for (a = 0; a < NARMS; a++)
				for (k = 0; k < 3; k++)
					id[a][k] = pb_state_hand_out_task(&st, a, -1, k);
			for (a = 0; a < NARMS; a++)
				for (k = 0; k < 3; k++)
					if (!(a == 3 && k == 2))
						pb_state_apply(&st, id[a][k], a, a == 2 ? 1 : 0, err);
		}
		ok(pb_bandit_verdict(&st, 0.95, NAN, &v) == 0 && v.exhausted &&
		   !v.done && strstr(v.why, "pool exhausted after 3 tasks") &&
		   strstr(v.why, "; 1 pull is still out"),
		   "a pool used up: exhausted, why says so and counts the pull out");
		ok(agree(&st, 0.95, 0.2, "thompson, exhausted"), "and as judge() said");
		pb_verdict_free(&v);
		pb_state_free(&st);
	}
	/* a state built by hand, as pb-report --replay does */
	{
		struct pb_state st;
		struct pb_verdict v;
		int a, b, i;
		ok(pb_state_blank(&st, "0123456789abcdef0123456789abcdef") == 0 &&
		   st.narms == 0 && st.next_pull == 1 && st.pol.kind == PB_POL_UNIFORM &&
		   !strcmp(st.run, "0123456789abcdef0123456789abcdef") &&
		   cJSON_IsArray(st.merged), "pb_state_blank: an empty state");
		a = pb_state_new_arm(&st, "x");
		b = pb_state_new_arm(&st, "y");
		for (i = 0; i < 200; i++) {
			pb_stats_add(&st.arms[a].st, i % 10 < 2);
			pb_stats_add(&st.arms[b].st, i % 10 < 8);
		}
		ok(a == 0 && b == 1 && st.narms == 2 && pb_state_find_arm(&st, "y") == 1 &&
		   !strcmp(pb_json_str(st.arms[1].fields, "id"), "y"),
		   "pb_state_new_arm: arms with fields {\"id\": id}");
		ok(pb_bandit_verdict(&st, 0.95, NAN, &v) == 0 && v.done && v.best == 1 &&
		   !strcmp(v.rule, "glr") && agree(&st, 0.95, 0.05, "blank"),
		   "its verdict: y is best, as judge() says");
		pb_verdict_free(&v);
		pb_state_free(&st);
	}
	return tap_done();
}
