/* paired.c - unit tests of the paired parts of issue 15: lucb -k m (its
 * group of the leader and challengers, its knock-out e-process and its
 * stopping rule at 0.95 delta + 0.05 delta, chosen by k before the first
 * reward), race's shares under -k m (pb_policy_probs), and the merge of
 * two shards' e-processes (race and lucb), bet by bet. */
#include <stdlib.h>
#include <unistd.h>

#include "../../lib/pb.h"
#include "tap.h"

#include "arms.h"

enum { L_OUT = 3, L_LW = 4, R_LW = 1, R_WON = 9, R_DISC = 10 };

/* A state of n arms a0.. under policy, its run id from seed. */
static void
mk(struct pb_state *s, const char *policy, int n, uint64_t seed)
{
	char err[PB_ERRLEN], buf[4096] = "";
	struct pb_policy pol;
	FILE *fp;
	int i;

	for (i = 0; i < n; i++)
		snprintf(buf + strlen(buf), sizeof buf - strlen(buf),
		         "{\"id\":\"a%d\"}\n", i);
	fp = fmemopen(buf, strlen(buf), "r");
	if (pb_policy_parse(&pol, policy, err) < 0 ||
	    pb_state_new(s, fp, "arms", &pol, seed, err) < 0) {
		printf("Bail out! %s\n", err);
		exit(1);
	}
	fclose(fp);
}

/* One task of s for the policy's group of k arms, arm a right with
 * probability p[a] given the task's difficulty (shared); returns the
 * group's size. */
static int
task(struct pb_state *s, size_t k, const double *p, struct pb_rng *r, int *arm)
{
	char err[PB_ERRLEN];
	double d = pb_rng_normal(r);
	int m, i;

	if ((m = pb_state_choose(s, -1, k, NULL, arm)) <= 0 ||
	    pb_state_begin_batch(s, 0) < 0)
		return m;
	s->batch[s->nbatch - 1].k = m;
	for (i = 0; i < m; i++)
		pb_state_hand_out(s, arm[i]);
	for (i = 0; i < m; i++) {
		double rw = pb_rng_uniform(r) < 1 / (1 + exp(-(p[arm[i]] - d)));
		if (pb_state_apply(s, s->next_pull - m + i, arm[i], rw, err) != 0) {
			printf("Bail out! %s\n", err);
			exit(2);
		}
	}
	return m;
}

static void
test_lucb_group(void)
{
	int arm[8], m;
	double lw[PB_PAIR_GRID] = { 0 };
	int n = 0, t, at = -1;
	char why[PB_ERRLEN];

	setup("lucb:k=2", 4);
	ok(pb_policy_arms_per_task(&st.pol) == 2, "lucb:k=2: pb-sample sends a "
	   "task to 2 arms unless told");
	m = pb_state_choose(&st, -1, 2, NULL, arm);
	ok(m == 2 && arm[0] == 0 && arm[1] == 1, "untried arms first (%d: a%d a%d)",
	   m, arm[0], arm[1]);
	give(0, 20, 15);
	give(1, 20, 10);
	give(2, 20, 12);
	give(3, 4, 1);
	m = pb_state_choose(&st, -1, 3, NULL, arm);
	ok(m == 3 && arm[0] == 0 && arm[1] == 3 && arm[2] == 2,
	   "-k 3: the leader a0, then a3 and a2, highest upper bounds first "
	   "(got a%d a%d a%d)", arm[0], arm[1], arm[2]);
	{
		double pr[4];
		pb_policy_probs(&st, pr);
		ok(pr[0] == 0.5 && pr[3] == 0.5 && pr[1] == 0 && pr[2] == 0,
		   "paired lucb's chances of the next pull: the group's, 1/2 each");
	}
	/* a knocked-out arm comes after every open one */
	pb_policy_prepare(&st);
	st.arms[3].pstate[L_OUT] = 1;
	m = pb_state_choose(&st, -1, 2, NULL, arm);
	ok(m == 2 && arm[0] == 0 && arm[1] == 2, "a knocked-out a3 is passed "
	   "over for the open a2 (a%d)", arm[1]);
	setup("lucb", 4);
	give(0, 20, 15);
	give(1, 20, 10);
	ok(pb_state_choose(&st, -1, 1, NULL, arm) == 1, "-k 1: one arm, LUCB's "
	   "own choice");

	/* the knock-out threshold log(1/(0.95 delta)): after 2000 pulls each
	 * at 0.60 and 0.58 (the box at delta/20 far from firing), a1 loses
	 * every shared task: it is out at the first n where log M >= log 40
	 * (its own e-process, no union over pairs), and a0 is declared */
	while (pb_bets_logm(lw) < -log(0.95 * 0.05)) {
		pb_bets_add(lw, 1);
		n++;
	}
	setup("lucb:delta=0.05,k=2", 2);
	give(0, 2000, 1200);
	give(1, 2000, 1160);
	for (t = 1; t <= n + 2; t++) {
		char err[PB_ERRLEN];
		if (pb_state_done(&st, -1, why, NULL))
			break;
		m = pb_state_choose(&st, -1, 2, NULL, arm);
		pb_state_begin_batch(&st, 0);
		st.batch[st.nbatch - 1].k = m;
		pb_state_hand_out(&st, arm[0]);
		pb_state_hand_out(&st, arm[1]);
		pb_state_apply(&st, st.next_pull - 2, arm[0], arm[0] == 0, err);
		pb_state_apply(&st, st.next_pull - 1, arm[1], arm[1] == 0, err);
		if (at < 0 && st.arms[1].pstate[L_OUT])
			at = t;
	}
	ok(at == n && !st.arms[0].pstate[L_OUT] && t == n + 1, "two arms, one "
	   "right on every shared task: the other is knocked out after %d tasks, "
	   "where log M first reaches log(1/(0.95 delta)) (n = %d), and the run stops", at, n);
	ok(pb_state_done(&st, -1, why, &m) && m == 0, "and a0 is declared: %s", why);
	{
		struct pb_verdict v;
		int rv = pb_bandit_verdict(&st, 0.95, NAN, &v);
		ok(rv == 0 && v.done && v.best == 0 &&
		   !strcmp(v.rule, "paired or box") && !v.open[1], "the verdict "
		   "(pb-report's): a0, by the \"%s\" rule", rv == 0 ? v.rule : "?");
		pb_verdict_free(&v);
	}
	{
		/* the same rewards under k = 1 (box rule only, at delta): no
		 * knock-out, no verdict */
		int b;
		setup("lucb:delta=0.05", 2);
		give(0, 2000 + n, 1200 + n);
		give(1, 2000 + n, 1160);
		pb_policy_prepare(&st);
		ok(!pb_state_done(&st, -1, why, &b) && st.arms[1].pstate[L_OUT] == 0,
		   "k = 1: the box rule alone, no verdict on the same rewards");
	}
}

static void
test_note_k(void)
{
	setup("lucb", 3);
	pb_policy_note_k(&st, 2);
	ok(st.pol.k == 2, "pb-sample -k 2 before any reward: lucb goes paired");
	setup("lucb", 3);
	give(0, 1, 1);
	pb_policy_note_k(&st, 2);
	ok(st.pol.k == 1, "after a reward: lucb's k (its stopping rule) stays");
	setup("race", 3);
	give(0, 1, 1);
	pb_policy_note_k(&st, 2);
	ok(st.pol.k == 2, "race records -k 2 at any time");
	setup("ucb1", 3);
	pb_policy_note_k(&st, 2);
	ok(st.pol.k == 0, "a policy without k: nothing");
}

static void
test_race_probs(void)
{
	double p[10], sum = 0, ch = 0;
	int i;

	setup("race", 10);
	for (i = 0; i < 10; i++)
		give(i, 20, 10 + i % 5);
	pb_policy_prepare(&st);
	st.arms[4].pstate[R_WON] = 30; /* a4 won its paired record: drawn often */
	st.arms[4].pstate[R_DISC] = 40;
	st.arms[9].pstate[0] = 0; /* knocked out */
	pb_policy_probs(&st, p);
	ok(fabs(p[0] - 1.0 / 9) < 1e-12 && p[9] == 0, "-k all: equal shares of "
	   "the 9 survivors (%g)", p[0]);
	pb_policy_note_k(&st, 3);
	pb_policy_probs(&st, p);
	for (i = 0; i < 10; i++)
		sum += p[i];
	for (i = 0; i < 9; i++)
		if (i != 4)
			ch += p[i] > 0 && i != 4;
	ok(fabs(sum - 1) < 1e-9, "-k 3: the shares sum to 1 (%g)", sum);
	ok(fabs(p[4] - 1.0 / 3) < 1e-12, "the leader a4 (best mean) answers every "
	   "task: 1/3 (%g)", p[4]);
	ok(p[9] == 0 && p[0] > 0 && p[0] < 1.0 / 3, "a knocked-out arm 0, a "
	   "challenger between 0 and 1/3 (%g)", p[0]);
	setup("race:k=3", 10);
	for (i = 0; i < 10; i++)
		give(i, 20, 10);
	pb_policy_prepare(&st);
	st.arms[1].pstate[R_WON] = 20;
	st.arms[1].pstate[R_DISC] = 20;
	pb_policy_probs(&st, p);
	ok(p[0] == 1.0 / 3 && p[1] > 0.2 && p[1] <= 1.0 / 3 && p[1] > 3 * p[5],
	   "race:k=3: the leader a0 1/3, a1 (won all 20 discordant tasks) "
	   "drawn most (%g), a5 less (%g)", p[1], p[5]);
}

/* Two shards of a policy's run on disjoint fresh tasks, merged: each
 * arm's log-wealths are the sums of the shards', bet by bet. */
static void
test_merge(const char *policy, size_t k, int lw0, int nlw)
{
	struct pb_state a, b;
	struct pb_rng r;
	double p[5] = { 1.0, 0.6, 0.5, 0.2, 0.0 }, want[5][PB_PAIR_GRID];
	char err[PB_ERRLEN];
	int arm[8], i, t, m, exact = 1, some = 0, out;

	mk(&a, policy, 5, 101);
	mk(&b, policy, 5, 202);
	pb_rng_seed(&r, 5);
	for (t = 0; t < 30; t++) {
		task(&a, k, p, &r, arm);
		task(&b, k, p, &r, arm);
	}
	for (i = 0; i < 5; i++)
		for (m = 0; m < nlw; m++) {
			want[i][m] = (a.arms[i].pstate ? a.arms[i].pstate[lw0 + m] : 0) +
			             (b.arms[i].pstate ? b.arms[i].pstate[lw0 + m] : 0);
			some |= want[i][m] != 0;
		}
	ok(pb_state_merge(&a, &b, err) == 0, "%s: two shards merge", policy);
	for (i = 0; i < 5; i++)
		for (m = 0; m < nlw; m++)
			exact &= fabs(a.arms[i].pstate[lw0 + m] - want[i][m]) < 1e-12;
	ok(exact && some, "%s: the merged log-wealths are the shards' sums, bet "
	   "by bet (the merged e-process is the product of both shards')", policy);
	out = 0;
	for (i = 0; i < 5; i++) {
		double lm = pb_bets_logm(a.arms[i].pstate + lw0);
		int in = k == 0 ? a.arms[i].pstate[0] != 0 :
		         a.arms[i].pstate[lw0 - 1] == 0; /* the out flag precedes */
		out += !in;
		if (lm >= -log((k == 0 ? 1 : 0.95) * a.pol.delta) && in && k != 0)
			exact = 0;
	}
	ok(exact && (k != 0 || out > 0), "%s: an arm whose merged mixture passed the "
	   "threshold is out (%d out)", policy, out);
	pb_state_free(&a);
	pb_state_free(&b);
}

static void
test_race_merge_keeps(void)
{
	struct pb_state a, b;
	char err[PB_ERRLEN];
	int i, in = 0;

	/* in st (a) every arm but a0 is out; other (b) has enough against a0
	 * to knock it out in the merge: the last arm standing stays */
	mk(&a, "race", 3, 11);
	mk(&b, "race", 3, 12);
	pb_policy_prepare(&a);
	pb_policy_prepare(&b);
	a.arms[1].pstate[0] = a.arms[2].pstate[0] = 0;
	for (i = 0; i < 20; i++)
		pb_bets_add(b.arms[0].pstate + R_LW, 1);
	b.arms[1].pstate[0] = 0; /* out in other alone: not carried over */
	ok(pb_state_merge(&a, &b, err) == 0, "race: merge");
	for (i = 0; i < 3; i++)
		in += a.arms[i].pstate[0] != 0;
	ok(in == 1 && a.arms[0].pstate[0] == 1, "the merge leaves the last arm "
	   "standing in (%d in)", in);
	pb_state_free(&a);
	pb_state_free(&b);
	mk(&a, "race", 3, 13);
	mk(&b, "race", 3, 14);
	pb_policy_prepare(&a);
	pb_policy_prepare(&b);
	b.arms[1].pstate[0] = 0;
	ok(pb_state_merge(&a, &b, err) == 0 && a.arms[1].pstate[0] == 1,
	   "a knock-out in the other shard alone is not carried over");
	pb_state_free(&a);
	pb_state_free(&b);
}

/* With all arms equal, paired lucb declares an arm other than a0 in at
 * most about delta of the runs. */
static void
test_lucb_null(void)
{
	double p[5] = { 0, 0, 0, 0, 0 };
	int i, wrong = 0, arm[8], b;
	char why[PB_ERRLEN];
	struct pb_rng r;

	for (i = 0; i < 200; i++) {
		long calls = 0;
		setup("lucb:delta=0.05,k=2", 5);
		pb_rng_seed(&r, 900 + (uint64_t)i);
		while (calls < 3000 && !pb_state_done(&st, -1, why, &b))
			calls += task(&st, 2, p, &r, arm);
		wrong += calls < 3000 && b != 0;
	}
	ok(wrong <= 10 + 2 * 3, "5 equal arms, paired lucb: a verdict for another "
	   "arm than a0 in %d of 200 runs (delta 0.05: 10, +2 s.e.)", wrong);
}

/* Paired top-two: the leader and a challenger drawn from the posterior
 * among the open arms; a loser is knocked out at log(1/(0.95 delta)). */
static void
test_toptwo(void)
{
	int arm[4], m, t, at = -1, n = 0, b;
	double lw[PB_PAIR_GRID] = { 0 };
	char why[PB_ERRLEN], err[PB_ERRLEN];

	setup("top-two:k=2", 3);
	give(0, 50, 30);
	give(1, 50, 29);
	give(2, 50, 10);
	m = pb_state_choose(&st, -1, 2, NULL, arm);
	ok(m == 2 && arm[0] == 0 && arm[1] == 1, "top-two -k 2: the leader a0 "
	   "first, then the only plausible challenger a1 (a%d)", arm[1]);
	while (pb_bets_logm(lw) < -log(0.95 * 0.05)) {
		pb_bets_add(lw, 1);
		n++;
	}
	setup("top-two:delta=0.05,k=2", 2);
	give(0, 2000, 1200);
	give(1, 2000, 1160);
	for (t = 1; t <= n + 2 && !pb_state_done(&st, -1, why, NULL); t++) {
		m = pb_state_choose(&st, -1, 2, NULL, arm);
		pb_state_begin_batch(&st, 0);
		st.batch[st.nbatch - 1].k = m;
		pb_state_hand_out(&st, arm[0]);
		pb_state_hand_out(&st, arm[1]);
		pb_state_apply(&st, st.next_pull - 2, arm[0], arm[0] == 0, err);
		pb_state_apply(&st, st.next_pull - 1, arm[1], arm[1] == 0, err);
		if (at < 0 && st.arms[1].pstate[0])
			at = t;
	}
	ok(at == n && pb_state_done(&st, -1, why, &b) && b == 0, "top-two -k 2: "
	   "the loser is out after %d tasks (n = %d), and a0 declared", at, n);
	setup("top-two:delta=0.05", 2);
	give(0, 2000 + n, 1200 + n);
	give(1, 2000 + n, 1160);
	ok(!pb_state_done(&st, -1, why, &b), "k = 1: the GLR rule alone, no "
	   "verdict on the same rewards");
}

int
main(void)
{
	test_toptwo();
	test_merge("top-two:delta=0.05,k=2", 2, 1, PB_PAIR_GRID);
	test_lucb_group();
	test_note_k();
	test_race_probs();
	test_merge("race:delta=0.05", 0, R_LW, PB_PAIR_GRID);
	test_merge("lucb:delta=0.05,k=2", 2, L_LW, PB_PAIR_GRID);
	test_race_merge_keeps();
	test_lucb_null();
	pb_state_free(&st);
	return tap_done();
}
