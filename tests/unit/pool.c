/* pool.c - unit tests of lib/state.c and lib/batch.c: paired statistics against a recount
 * from the records, groups that come back in pieces, contexts kept apart,
 * arms added and retired, the race policy, and the round trip through
 * the state file. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "tap.h"
#include "../../lib/pb.h"
#include "arms.h"

#define MAXPULL 4000

/* What pb-update would have seen: one record per pull. */
struct rec {
	long id, group;
	int arm, ctx;
	double r;
};
static struct rec rec[MAXPULL];
static size_t nrec;
static const char *ctxname[] = { "music", "tennis", "physics" };

/* Hands out ntask tasks of k arms each (contexts drawn if ctx), and
 * notes the records with made-up rewards (one in ten an error). */
static void
hand_out(struct pb_state *s, int ntask, size_t k, int ctx, struct pb_rng *r)
{
	int arm[64], m, i, t, c;

	for (t = 0; t < ntask; t++) {
		c = ctx ? (int)pb_rng_below(r, 3) : -1;
		int ci = c >= 0 ? pb_state_add_ctx(s, ctxname[c]) : -1;
		m = pb_state_choose(s, ci, k, NULL, arm);
		if (t == 0 || s->batch[s->nbatch - 1].k != m) {
			pb_state_begin_batch(s, pb_now());
			s->batch[s->nbatch - 1].k = m;
		}
		long first = s->next_pull;
		for (i = 0; i < m; i++) {
			struct rec *x = &rec[nrec++];
			x->id = pb_state_hand_out(s, arm[i]);
			x->group = first;
			x->arm = arm[i];
			x->ctx = c;
			x->r = pb_rng_uniform(r) < 0.1 ? NAN :
			       pb_rng_uniform(r) < 0.3 + 0.1 * arm[i] ? 1 : 0;
		}
	}
}

/* A state under policy with narms arms and contexts by "domain", given
 * ntask tasks of 2 arms each, every pull applied; returns how many
 * applies failed. */
static int
run_contexts(const char *policy, int narms, uint64_t seed, int ntask)
{
	struct pb_rng r;
	char err[PB_ERRLEN];
	size_t i;
	int bad = 0;

	setup(policy, narms);
	st.ctx_field = strdup("domain");
	pb_rng_seed(&r, seed);
	nrec = 0;
	hand_out(&st, ntask, 2, 1, &r);
	for (i = 0; i < nrec; i++)
		bad += pb_state_apply_ctx(&st, rec[i].id, rec[i].arm, rec[i].r,
		                          ctxname[rec[i].ctx], err) != 0;
	return bad;
}

/* The pairs recounted from the records of context c (-1: all). */
static int
pairs_match(const struct pb_state *s, const struct pb_pairs *pair, int c)
{
	size_t i, j, a, b;
	int bad = 0;

	for (a = 0; a < s->narms; a++)
		for (b = a + 1; b < s->narms; b++) {
			struct pb_pair want = { 0 };
			const struct pb_pair *got;
			struct pb_state v = *s;
			for (i = 0; i < nrec; i++)
				for (j = 0; j < nrec; j++)
					if (rec[i].group == rec[j].group && rec[i].arm == (int)a &&
					    rec[j].arm == (int)b && !isnan(rec[i].r) &&
					    !isnan(rec[j].r) && (c < 0 || rec[i].ctx == c))
						pb_pair_add(&want, rec[i].r, rec[j].r);
			v.pair = (struct pb_pairs *)pair;
			got = pb_state_pair(&v, (int)a, (int)b);
			if (!got && want.n == 0)
				continue;
			if (!got || got->n != want.n || got->b != want.b ||
			    got->c != want.c || fabs(got->sum - want.sum) > 1e-9 ||
			    fabs(got->sumsq - want.sumsq) > 1e-9) {
				printf("# pair %zu,%zu: got n %ld b %ld c %ld, want n %ld b %ld c %ld\n",
				       a, b, got ? got->n : -1, got ? got->b : -1,
				       got ? got->c : -1, want.n, want.b, want.c);
				bad++;
			}
		}
	return bad == 0;
}

/* Saves s to a temp file and loads it back into t. */
static int
round_trip(const struct pb_state *s, struct pb_state *t)
{
	char path[] = "/tmp/pbpool.XXXXXX", err[PB_ERRLEN];
	int fd = mkstemp(path), rv;

	if (fd < 0)
		return -1;
	close(fd);
	unlink(path);
	rv = pb_state_create(s, path, err) < 0 ? -1 : pb_state_load(t, path, err);
	if (rv < 0)
		printf("# %s\n", err);
	unlink(path);
	return rv;
}

static void
test_pairs(void)
{
	struct pb_rng r;
	char err[PB_ERRLEN];
	size_t i, order[MAXPULL];
	int bad = 0;
	struct pb_state t;

	setup("uniform", 5);
	pb_rng_seed(&r, 11);
	nrec = 0;
	hand_out(&st, 200, 3, 0, &r);
	ok(nrec == 600 && st.nbatch == 1 && st.batch[0].k == 3,
	   "200 tasks of 3 arms: 600 pulls in one batch of groups of 3");
	/* Come back in a shuffled order, the first half now. */
	for (i = 0; i < nrec; i++)
		order[i] = i;
	for (i = nrec - 1; i > 0; i--) {
		size_t j = (size_t)pb_rng_below(&r, i + 1), x = order[i];
		order[i] = order[j];
		order[j] = x;
	}
	for (i = 0; i < nrec / 2; i++)
		bad += pb_state_apply(&st, rec[order[i]].id, rec[order[i]].arm,
		                      rec[order[i]].r, err) != 0;
	ok(bad == 0 && st.nopen > 0, "half back: %zu groups wait for members", st.nopen);
	ok(round_trip(&st, &t) == 0 && t.nopen == st.nopen, "open groups survive a save");
	/* The rest into the reloaded state. */
	for (i = nrec / 2; i < nrec; i++)
		bad += pb_state_apply(&t, rec[order[i]].id, rec[order[i]].arm,
		                      rec[order[i]].r, err) != 0;
	ok(bad == 0 && t.nopen == 0 && t.nbatch == 0, "all back: no group, no batch left");
	ok(pairs_match(&t, t.pair, -1), "paired statistics equal a recount from the records");
	{
		/* Orientation: pair(i,j) and pair(j,i) are the same numbers. */
		ok(pb_state_pair(&t, 3, 1) == pb_state_pair(&t, 1, 3) &&
		   pb_state_pair(&t, 2, 2) == NULL, "pb_state_pair is symmetric, NULL for i == j");
	}
	{
		/* Only pairs with tasks are stored, and the walk finds each
		 * one as the lookup does. */
		size_t k, nwith = 0, a, b;
		int walk = 1, pi, pj;
		for (a = 0; a < t.narms; a++)
			for (b = a + 1; b < t.narms; b++) {
				const struct pb_pair *q = pb_state_pair(&t, (int)a, (int)b);
				nwith += q != NULL;
				walk &= !q || q->n > 0;
			}
		for (k = 0; k < pb_state_npairs(&t); k++) {
			const struct pb_pair *q = pb_state_pair_at(&t, k, &pi, &pj);
			walk &= pi < pj && q == pb_state_pair(&t, pi, pj);
		}
		ok(walk && nwith == pb_state_npairs(&t) && nwith > 0,
		   "pb_state_npairs/pb_state_pair_at walk the %zu stored pairs, each with tasks",
		   nwith);
	}
	pb_state_free(&t);
	ok(pb_state_apply(&st, rec[order[0]].id, rec[order[0]].arm, 1, err) == 1,
	   "a pull applied twice is a duplicate");
}

static void
test_contexts(void)
{
	char err[PB_ERRLEN];
	struct pb_state t;
	size_t i;
	int c, bad = 0, a;

	bad = run_contexts("thompson", 4, 12, 300);
	ok(bad == 0 && st.nctx == 3, "three contexts");
	for (c = 0; c < 3; c++) {
		int same = 1;
		for (a = 0; a < 4; a++) {
			struct pb_stats want = { 0 };
			long errs = 0;
			for (i = 0; i < nrec; i++)
				if (rec[i].arm == a && rec[i].ctx == c) {
					if (isnan(rec[i].r))
						errs++;
					else
						pb_stats_add(&want, rec[i].r);
				}
			int ci = pb_state_find_ctx(&st, ctxname[c]);
			const struct pb_arm *x = &st.ctx[ci].arms[a];
			same &= x->st.n == want.n && fabs(x->st.sum - want.sum) < 1e-9 &&
			        x->errors == errs;
		}
		ok(same, "context %s: every arm's statistics are its tasks' alone", ctxname[c]);
		ok(pairs_match(&st, st.ctx[pb_state_find_ctx(&st, ctxname[c])].pair, c),
		   "context %s: its pairs are its tasks' alone", ctxname[c]);
	}
	{
		long n = 0, sum = 0;
		for (c = 0; c < 3; c++)
			n += st.ctx[c].arms[1].st.n, sum += (long)st.ctx[c].arms[1].st.sum;
		ok(n == st.arms[1].st.n && sum == (long)st.arms[1].st.sum,
		   "the state's own statistics are the sum of the contexts'");
	}
	ok(round_trip(&st, &t) == 0 && t.nctx == 3 && t.ctx_field &&
	   !strcmp(t.ctx_field, "domain") && t.ctx[2].arms[3].st.n == st.ctx[2].arms[3].st.n,
	   "contexts survive a save");
	{
		struct pb_state v;
		int b;
		pb_state_view(&t, 1, &v);
		ok(v.narms == 4 && v.arms == t.ctx[1].arms && !pb_state_done(&t, 1, err, &b),
		   "a context's view works with the policy functions");
	}
	pb_state_free(&t);

	/* Errors, before anything changes. */
	pb_state_begin_batch(&st, pb_now());
	long id = pb_state_hand_out(&st, 0);
	ok(pb_state_apply_ctx(&st, id, 0, 1, NULL, err) < 0 &&
	   strstr(err, "no \"context\""), "a pull without context where the state keeps them");
	free(st.ctx_field);
	st.ctx_field = NULL;
	ok(pb_state_apply_ctx(&st, id, 0, 1, "music", err) < 0 &&
	   strstr(err, "keeps none"), "a context where the state keeps none");
	ok(pb_state_apply(&st, id, 0, 1, err) == 0, "and the pull still applies without");
}

static void
test_group_context_mismatch(void)
{
	char err[PB_ERRLEN];
	long id;

	setup("uniform", 3);
	st.ctx_field = strdup("domain");
	pb_state_begin_batch(&st, pb_now());
	st.batch[0].k = 2;
	id = pb_state_hand_out(&st, 0);
	pb_state_hand_out(&st, 1);
	ok(pb_state_apply_ctx(&st, id, 0, 1, "music", err) == 0, "first member, music");
	ok(pb_state_apply_ctx(&st, id + 1, 1, 0, "tennis", err) < 0 &&
	   strstr(err, "not that of the other pulls"), "second member, tennis: refused");
	ok(st.arms[1].st.n == 0, "and nothing of it applied");
}

static void
test_pool_changes(void)
{
	char err[PB_ERRLEN], more[] = "{\"id\":\"new1\"}\n{\"id\":\"new2\",\"prefix\":\"x\"}\n",
	     dup[] = "{\"id\":\"a1\"}\n";
	struct pb_pair before;
	struct pb_stats s0;
	struct pb_state t;
	FILE *fp;
	int i, count[8] = { 0 }, arm[8], bad = 0;

	bad = run_contexts("ucb1", 4, 13, 100);
	before = *pb_state_pair(&st, 1, 3);
	s0 = st.arms[2].st;
	fp = fmemopen(more, strlen(more), "r");
	ok(bad == 0 && pb_state_add_arms(&st, fp, "more", err) == 0 && st.narms == 6,
	   "two arms added to a running state");
	fclose(fp);
	ok(!memcmp(pb_state_pair(&st, 1, 3), &before, sizeof before) &&
	   st.arms[2].st.n == s0.n && st.arms[2].st.sum == s0.sum,
	   "the others' statistics and pairs are kept");
	ok(st.arms[4].st.n == 0 && st.ctx[0].arms[5].st.n == 0 &&
	   !strcmp(st.ctx[0].arms[5].id, "new2"), "the new arms start empty, in every context");
	fp = fmemopen(dup, strlen(dup), "r");
	ok(pb_state_add_arms(&st, fp, "dup", err) < 0 && strstr(err, "'a1' is in the state"),
	   "adding an arm that is there already fails");
	fclose(fp);
	ok(pb_state_retire(&st, "a0", err) == 0 && st.arms[0].retired, "a0 retired");
	ok(pb_state_retire(&st, "zz", err) < 0 && strstr(err, "no arm 'zz'"), "an unknown arm");
	for (i = 0; i < 300; i++) {
		int m = pb_state_choose(&st, 0, 2, NULL, arm);
		count[arm[0]]++;
		count[arm[1]]++;
		bad += m != 2 || arm[0] == arm[1];
	}
	ok(bad == 0 && count[0] == 0, "a retired arm is never chosen (two distinct arms each time)");
	ok(count[4] > 0 && count[5] > 0, "the new arms are (%d and %d times)", count[4], count[5]);
	ok(round_trip(&st, &t) == 0 && t.arms[0].retired && !t.arms[1].retired &&
	   t.narms == 6 && t.ctx[1].arms[0].retired, "retired and added arms survive a save");
	pb_state_free(&t);
	for (i = 1; i < 5; i++)
		pb_state_retire(&st, st.arms[i].id, err);
	ok(pb_state_retire(&st, "new2", err) < 0 && strstr(err, "last arm"),
	   "the last arm in the pool cannot be retired");
	/* A pull of an arm retired since it went out still applies. */
	pb_state_begin_batch(&st, pb_now());
	long id = pb_state_hand_out(&st, 5);
	pb_state_retire(&st, "a0", err);
	ok(pb_state_apply_ctx(&st, id, 5, 1, "music", err) == 0, "pulls still out apply");
}

/* Race through the state, as the pipeline runs it.  skills: logistic. */
static int
race_run(const double *skill, int k, uint64_t seed, long cap, long *calls)
{
	struct pb_rng r;
	char err[PB_ERRLEN];
	int arm[16], m, i, best = -1;

	setup("race:delta=0.05", k);
	pb_rng_seed(&r, seed);
	*calls = 0;
	while (!pb_state_done(&st, -1, err, &best) && *calls < cap) {
		double d = 2 * pb_rng_normal(&r);
		m = pb_state_choose(&st, -1, 0, NULL, arm);
		pb_state_begin_batch(&st, 0);
		st.batch[st.nbatch - 1].k = m;
		for (i = 0; i < m; i++)
			pb_state_hand_out(&st, arm[i]);
		for (i = 0; i < m; i++)
			pb_state_apply(&st, st.next_pull - m + i, arm[i],
			               pb_rng_uniform(&r) < 1 / (1 + exp(d - skill[arm[i]])), err);
		*calls += m;
	}
	return pb_state_done(&st, -1, err, &best) ? best : -1;
}

/* A graded race of two arms: a averages 0.725 (1 w.p. 0.45, else 0.5),
 * b is always 0.55, so b wins 55% of the tasks while a has the larger
 * mean.  Returns the winner, or -1. */
static int
graded_race(uint64_t seed, long cap, double pa)
{
	struct pb_rng r;
	char err[PB_ERRLEN];
	int arm[2], m, i, best = -1;
	long calls = 0;

	setup("race:delta=0.05", 2);
	pb_rng_seed(&r, seed);
	while (!pb_state_done(&st, -1, err, &best) && calls < cap) {
		m = pb_state_choose(&st, -1, 0, NULL, arm);
		pb_state_begin_batch(&st, 0);
		st.batch[st.nbatch - 1].k = m;
		for (i = 0; i < m; i++)
			pb_state_hand_out(&st, arm[i]);
		for (i = 0; i < m; i++)
			pb_state_apply(&st, st.next_pull - m + i, arm[i], arm[i] == 0 ?
			               (pb_rng_uniform(&r) < pa ? 1 : 0.5) : 0.55, err);
		calls += m;
	}
	return pb_state_done(&st, -1, err, &best) ? best : -1;
}

static void
test_race(void)
{
	double sk[4] = { 1.0, 0.0, -0.5, -1.0 }, eq[5] = { 0 };
	int i, wrong = 0, fin = 0, fired = 0, b;
	long calls;

	for (i = 0; i < 50; i++) {
		b = race_run(sk, 4, 500 + (uint64_t)i, 100000, &calls);
		fin += b >= 0;
		wrong += b >= 0 && b != 0;
	}
	ok(fin == 50 && wrong == 0, "race finds the best of 4 through the state (%d done, %d wrong)",
	   fin, wrong);
	/* All equal: the stopping rule may fire in at most delta of the runs. */
	for (i = 0; i < 200; i++)
		fired += race_run(eq, 5, 2000 + (uint64_t)i, 5000, &calls) >= 0;
	ok(fired <= 10, "race, 5 equal arms, 5000 calls: the rule fired in %d of 200 runs "
	   "(delta 0.05 allows 10)", fired);
	{
		/* The race is about the mean: graded rewards whose sign test
		 * favours the worse arm (before, b won 300 of 300). */
		int right = 0, wrongg = 0, w;
		for (i = 0; i < 300; i++) {
			w = graded_race(7000 + (uint64_t)i, 20000, 0.45);
			right += w == 0;
			wrongg += w == 1;
		}
		ok(right >= 285 && wrongg <= 15, "graded race: the arm of mean 0.725 "
		   "beats the one of 0.55 that wins more tasks (%d right, %d wrong "
		   "of 300)", right, wrongg);
		/* equal means (a: 1 w.p. 0.1, else 0.5): at most delta fire */
		for (i = 0, w = 0; i < 300; i++)
			w += graded_race(9000 + (uint64_t)i, 4000, 0.1) >= 0;
		ok(w <= 15, "graded race, equal means, 4000 calls: fired in %d of 300 "
		   "runs (delta 0.05 allows 15)", w);
	}
	{
		/* The race gives a task to its survivors only, best mean first. */
		int arm[8];
		setup("race", 4);
		pb_policy_prepare(&st);
		st.arms[2].pstate[0] = 0;
		give(0, 10, 3);
		give(1, 10, 8);
		give(3, 10, 5);
		ok(pb_state_choose(&st, -1, 0, NULL, arm) == 3 && arm[0] == 1 &&
		   arm[1] == 3 && arm[2] == 0, "race: the three survivors, best first");
		/* -k m: the leader and m - 1 challengers by a paired Thompson
		 * draw of mu_j - mu_leader from each arm's record against its
		 * opponents (policy_state[9], [10]): arm 0 won 1000 of its
		 * 1000 discordant tasks, arm 3 lost as many. */
		st.arms[0].pstate[9] = 1000;
		st.arms[0].pstate[10] = 1000;
		st.arms[3].pstate[9] = -1000;
		st.arms[3].pstate[10] = 1000;
		ok(pb_state_choose(&st, -1, 2, NULL, arm) == 2 && arm[0] == 1 && arm[1] == 0,
		   "race with -k 2: the leader and the challenger with the larger draw");
		st.arms[0].pstate[9] = st.arms[0].pstate[10] = 0;
		st.arms[3].pstate[9] = st.arms[3].pstate[10] = 0;
		{
			int seen[4] = { 0 }, t, good = 1;
			for (t = 0; t < 200; t++) {
				good &= pb_state_choose(&st, -1, 2, NULL, arm) == 2 &&
				        arm[0] == 1 && (arm[1] == 0 || arm[1] == 3);
				seen[arm[1]]++;
			}
			ok(good && seen[0] > 50 && seen[3] > 50, "race with -k 2 and equal "
			   "records: the leader, then either challenger (%d, %d of 200): "
			   "the draws move on", seen[0], seen[3]);
		}
		ok(pb_state_choose(&st, -1, 3, NULL, arm) == 3 && arm[0] == 1 &&
		   arm[1] == 3 && arm[2] == 0, "race with -k 3 of 3: every survivor, "
		   "best mean first");
	}
}

/* The same seed and inputs give the same choices, -k and contexts too:
 * the generator lives in the state. */
static void
test_reproducible(void)
{
	int a[2][64], arm[4], t, r, same = 1;
	struct pb_state keep;

	for (r = 0; r < 2; r++) {
		setup("thompson", 5);
		st.ctx_field = strdup("domain");
		pb_state_add_ctx(&st, "music");
		for (t = 0; t < 32; t++) {
			pb_state_choose(&st, t % 2 ? 0 : -1, 2, NULL, arm);
			a[r][2 * t] = arm[0];
			a[r][2 * t + 1] = arm[1];
		}
		if (r == 0) {
			keep = st;
			memset(&st, 0, sizeof st);
		}
	}
	for (t = 0; t < 64; t++)
		same &= a[0][t] == a[1][t];
	ok(same, "thompson with -k 2 and a context: the same seed, the same choices");
	pb_state_free(&keep);
}

/* Merging adds the pairs and the contexts. */
static void
test_merge(void)
{
	struct pb_state a, b;
	char err[PB_ERRLEN];
	long n1, n2;

	for (int k = 0; k < 2; k++) {
		run_contexts("uniform", 3, 40 + (uint64_t)k, 50);
		if (k == 0)
			a = st;
		else
			b = st;
		memset(&st, 0, sizeof st);
	}
	n1 = pb_state_pair(&a, 0, 1)->n + pb_state_pair(&b, 0, 1)->n;
	n2 = a.ctx[pb_state_find_ctx(&a, "music")].arms[2].st.n +
	     b.ctx[pb_state_find_ctx(&b, "music")].arms[2].st.n;
	ok(pb_state_merge(&a, &b, err) == 0, "two states with pairs and contexts merge");
	ok(pb_state_pair(&a, 0, 1)->n == n1, "pairs add up (%ld tasks)", n1);
	ok(a.ctx[pb_state_find_ctx(&a, "music")].arms[2].st.n == n2,
	   "contexts add up (%ld pulls)", n2);
	free(b.ctx_field);
	b.ctx_field = NULL;
	memcpy(b.run, "00000000000000000000000000000001", 33); /* another run */
	ok(pb_state_merge(&a, &b, err) < 0 && strstr(err, "same contexts"),
	   "a state without the contexts is refused");
	pb_state_free(&a);
	b.ctx_field = strdup("domain");
	pb_state_free(&b);
}

/* Many pb-sample runs, as pb-sample makes them through the library: each
 * input a random subset of a growing set of tasks, the pool learning the
 * new ones, arms chosen one or k at a time among those not used up, and
 * each handed the next position none of them has used.  No (arm, task)
 * pair may ever come twice, and every arm ends with every task. */
static void
test_task_unit(void)
{
	enum { NT = 60, NA = 4 };
	static unsigned char used[NA][NT];
	char *ids[NT], buf[16], err[PB_ERRLEN];
	uint64_t digs[NT];
	long pos[NT], nxt[NT + 1], tinp[NT + 1];
	struct pb_rng r;
	int run, twice = 0, pulls = 0, wrongpos = 0, i, a, arms[NA], began;
	size_t n, p;

	setup("uniform", NA);
	pb_rng_seed(&r, 99);
	for (run = 0; run < 400; run++) {
		int universe = 20 + run / 10 > NT ? NT : 20 + run / 10, m;
		/* the input: each task of the universe with probability 0.6 */
		for (i = 0, n = 0; i < universe; i++)
			if (pb_rng_uniform(&r) < 0.6) {
				snprintf(buf, sizeof buf, "task%d", i);
				ids[n] = strdup(buf);
				digs[n++] = (uint64_t)i * 7919;
			}
		if (pb_state_learn(&st, -1, n, ids, digs, pos) < 0)
			break;
		for (p = 0; p <= st.tasks.n; p++)
			tinp[p] = -1;
		for (p = 0; p < n; p++)
			tinp[pos[p]] = (long)p;
		nxt[st.tasks.n] = (long)st.tasks.n;
		for (p = st.tasks.n; p-- > 0;)
			nxt[p] = tinp[p] >= 0 ? (long)p : nxt[p + 1];
		for (m = 0, began = 0; m < 3; m++) {
			int k = 1 + (int)pb_rng_below(&r, NA), got = 0, one;
			long at;
			/* k distinct arms that still have a task in this input */
			for (a = 0; a < NA && got < k; a++) {
				one = (a + run) % NA;
				if (pb_state_next_pos(&st, -1, &one, 1, nxt) >= 0)
					arms[got++] = one;
			}
			if (!got || (at = pb_state_next_pos(&st, -1, arms, (size_t)got, nxt)) < 0)
				continue;
			if (!began++)
				pb_state_begin_batch(&st, 0);
			for (i = 0; i < got; i++) {
				int t = atoi(st.tasks.id[at] + 4);
				if (pb_state_cursor(&st, -1, arms[i]) > at)
					wrongpos++;
				pb_state_hand_out_task(&st, arms[i], -1, at);
				twice += used[arms[i]][t];
				used[arms[i]][t] = 1;
				pulls++;
			}
		}
		for (p = 0; p < n; p++)
			free(ids[p]);
	}
	ok(twice == 0 && wrongpos == 0 && pulls > 150, "no (arm, task) pair handed "
	   "out twice in %d pulls over 400 runs with changing inputs (%d twice)",
	   pulls, twice);
	/* pending pulls know their arm and task */
	{
		const struct pb_batch *b = &st.batch[st.nbatch - 1];
		int good = b->n > 0;
		for (i = 0; i < b->n; i++)
			good &= b->pos[i] >= 0 && b->pos[i] < (long)st.tasks.n;
		ok(good, "each pending pull has its arm and task position");
	}
	/* the state round trip keeps pool and cursors */
	{
		struct pb_state b2;
		char path[] = "/tmp/pbtaskXXXXXX";
		int fd = mkstemp(path), same;
		close(fd);
		unlink(path);
		same = pb_state_create(&st, path, err) == 0 && pb_state_load(&b2, path, err) == 0;
		for (i = 0; same && i < (int)st.tasks.n; i++)
			same = !strcmp(b2.tasks.id[i], st.tasks.id[i]) && b2.tasks.dig[i] == st.tasks.dig[i];
		for (a = 0; same && a < NA; a++)
			same = b2.arms[a].cursor == st.arms[a].cursor;
		for (i = 0; same && i < (int)st.nbatch; i++)
			same = b2.batch[i].n == st.batch[i].n &&
			       !memcmp(b2.batch[i].arm, st.batch[i].arm, (size_t)st.batch[i].n * sizeof (int)) &&
			       !memcmp(b2.batch[i].pos, st.batch[i].pos, (size_t)st.batch[i].n * sizeof (long));
		ok(same, "pool, cursors and pending pulls survive the state file%s%s",
		   same ? "" : ": ", same ? "" : err);
		if (same)
			pb_state_free(&b2);
		unlink(path);
	}
	/* a task whose input changed under its id is refused */
	{
		char *one[1] = { st.tasks.id[0] };
		uint64_t d[1] = { st.tasks.dig[0] + 1 };
		size_t before = st.tasks.n;
		ok(pb_state_learn(&st, -1, 1, one, d, pos) == 1 && pos[0] == -2 &&
		   st.tasks.n == before, "a changed task: -2, the pool unchanged");
	}
	/* the order is uniformly random: which task comes first, and which
	 * of a later file's new tasks comes first among them, over seeds */
	{
		enum { K = 10, SEEDS = 3000 };
		long first[K] = { 0 }, later[5] = { 0 };
		double chi = 0, chi2 = 0, e = SEEDS / (double)K, e2 = SEEDS / 5.0;
		int sd;
		for (sd = 0; sd < SEEDS; sd++) {
			struct pb_state one_st = { 0 };
			for (i = 0; i < K + 5; i++) {
				snprintf(buf, sizeof buf, "%d", i);
				ids[i] = strdup(buf);
				digs[i] = (uint64_t)i;
			}
			pb_rng_seed(&one_st.rng, 1000 + (uint64_t)sd);
			pb_state_learn(&one_st, -1, K, ids, digs, pos);
			first[atoi(one_st.tasks.id[0])]++;
			pb_state_learn(&one_st, -1, 5, ids + K, digs + K, pos);
			later[atoi(one_st.tasks.id[K]) - K]++;
			for (i = 0; i < K + 5; i++)
				free(ids[i]);
			pb_tasks_free(&one_st.tasks);
		}
		for (i = 0; i < K; i++)
			chi += (first[i] - e) * (first[i] - e) / e;
		for (i = 0; i < 5; i++)
			chi2 += (later[i] - e2) * (later[i] - e2) / e2;
		/* 0.999 quantiles of chi-square: 27.88 (9 df), 18.47 (4 df) */
		ok(chi < 27.88, "the first task of the order is uniform over the "
		   "10 (chi-square %.1f, 9 df)", chi);
		ok(chi2 < 18.47, "new tasks join in a uniform order of their own "
		   "(chi-square %.1f, 4 df)", chi2);
	}
}

/* A released member of a group: no reward, no error, no pair, and the
 * group still closes when the others are back. */
static void
test_release(void)
{
	char err[PB_ERRLEN];

	setup("uniform", 3);
	pb_state_begin_batch(&st, 0);
	st.batch[0].k = 2;
	pb_state_hand_out(&st, 0);
	pb_state_hand_out(&st, 1);
	ok(pb_state_release(&st, 1, 1, NULL, err) < 0 && !strcmp(err,
	   "handed out to arm 'a0', not 'a1'"), "release checks the arm");
	ok(pb_state_release(&st, 1, 0, NULL, err) == 0, "release pull 1");
	ok(pb_state_release(&st, 1, 0, NULL, err) == 1, "released twice: 1, as applied before");
	ok(pb_state_apply(&st, 2, 1, 1, err) == 0, "its partner applies");
	ok(st.arms[0].st.n == 0 && st.arms[0].errors == 0 && st.arms[1].st.n == 1 &&
	   st.updates == 1 && !st.pair && st.nopen == 0 && st.nbatch == 0,
	   "no reward, error or pair for the released pull; group and batch gone");
}

int
main(void)
{
	test_release();
	test_task_unit();
	test_merge();
	test_reproducible();
	test_pairs();
	test_contexts();
	test_group_context_mismatch();
	test_pool_changes();
	test_race();
	pb_state_free(&st);
	return tap_done();
}
