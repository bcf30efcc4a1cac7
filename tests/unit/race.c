/* race.c - unit tests of race's knock-out rule (the leader-weighted
 * e-process of policy-budget.c): its bets, who bets against whom in a
 * group, the order rewards come back in, --repeats, its threshold
 * ln(1/delta), and how often a best arm is knocked out with all arms
 * equal. */
#include <stdlib.h>
#include <unistd.h>

#include "../../lib/pb.h"
#include "tap.h"

#include "arms.h"

enum { LW = 1, WON = 9, DISC = 10, NSTATE = 11 };

/* One group of the arms arm[0..m-1] (R pulls each, side by side), the
 * rewards r[slot] (per pull), applied in the order order[] of pulls. */
static void
group(const int *arm, int m, int R, const double *r, const int *order)
{
	char err[PB_ERRLEN];
	long first;
	int i, s;

	pb_state_begin_batch(&st, 0);
	st.batch[st.nbatch - 1].k = m * R;
	first = st.next_pull;
	for (i = 0; i < m; i++)
		for (s = 0; s < R; s++)
			pb_state_hand_out(&st, arm[i]);
	for (i = 0; i < m * R; i++) {
		int p = order ? order[i] : i;
		if (pb_state_apply(&st, first + p, arm[p / R], r[p], err) != 0) {
			printf("Bail out! %s\n", err);
			exit(2);
		}
	}
}

/* The log-wealth of bet 0 (lam = 1/2) and the arm's record. */
static void
record(int a, double *lw0, double *won, double *disc)
{
	const double *ps = st.arms[a].pstate;

	*lw0 = ps ? ps[LW] : 0;
	*won = ps ? ps[WON] : 0;
	*disc = ps ? ps[DISC] : 0;
}

/* A null world: k equal arms, shared difficulty; 1 if arm 0 was
 * knocked out within cap calls. */
static int
null_run(int k, uint64_t seed, long cap)
{
	struct pb_rng r;
	char err[PB_ERRLEN];
	double rw[8];
	int arm[8], m, i, best;
	long calls = 0;

	setup("race:delta=0.05", k);
	pb_rng_seed(&r, seed);
	while (!pb_state_done(&st, -1, err, &best) && calls < cap) {
		double d = 2 * pb_rng_normal(&r);
		m = pb_state_choose(&st, -1, 0, NULL, arm);
		for (i = 0; i < m; i++)
			rw[i] = pb_rng_uniform(&r) < 1 / (1 + exp(d));
		group(arm, m, 1, rw, NULL);
		calls += m;
	}
	return st.arms[0].pstate && st.arms[0].pstate[0] == 0;
}

int
main(void)
{
	{
		/* The bets are pb_pair_evidence's: the same differences give
		 * the pair's mixture, Fan's factor for the graded ones. */
		double d[6] = { 1, 1, -1, 0.5, -0.25, 0 }, lw[PB_PAIR_GRID] = { 0 };
		struct pb_pair p;
		int i;
		memset(&p, 0, sizeof p);
		for (i = 0; i < 6; i++) {
			pb_bets_add(lw, d[i]);
			pb_pair_add(&p, d[i] > 0 ? d[i] : 0, d[i] < 0 ? -d[i] : 0);
		}
		is_num(pb_bets_logm(lw), p.lm[0], 1e-12, "the race's bets on 6 "
		       "differences are the pair's mixture (%g)", p.lm[0]);
		is_num(lw[0], 2 * log(1.5) + log(0.5) + 0.25 + (log(0.5) + 0.5) * 0.25 -
		       0.125 + (log(0.5) + 0.5) * 0.0625, 1e-12,
		       "bet 1/2: (1 + lam)^2 (1 - lam) and Fan's factors for 0.5, -0.25");
	}
	{
		/* Who bets against whom: arms handed out best mean first (a2,
		 * a0, a1); the first is everyone's opponent, the second the
		 * first's.  The rewards' order does not matter. */
		int arm[3], fwd = 1, back[3] = { 2, 1, 0 }, same = 1, a;
		double r[3] = { 0, 1, 1 }, v[3][3], w[3][3];
		setup("race", 3);
		give(0, 10, 5);
		give(1, 10, 3);
		give(2, 10, 8);
		ok(pb_state_choose(&st, -1, 0, NULL, arm) == 3 && arm[0] == 2 &&
		   arm[1] == 0 && arm[2] == 1, "the group: a2, a0, a1 (best mean first)");
		group(arm, 3, 1, r, NULL);
		for (a = 0; a < 3; a++)
			record(a, &v[a][0], &v[a][1], &v[a][2]);
		/* a2 (first, 0) against a0 (second, 1): d = 1; a0 and a1
		 * against a2: d = -1 */
		fwd = v[2][1] == -1 && v[2][2] == 1 && fabs(v[2][0] - log(1.5)) < 1e-12 &&
		      v[0][1] == 1 && v[0][2] == 1 && fabs(v[0][0] - log(0.5)) < 1e-12 &&
		      v[1][1] == 1 && v[1][2] == 1 && fabs(v[1][0] - log(0.5)) < 1e-12;
		ok(fwd, "the leader bets against the second, the rest against the leader");
		setup("race", 3);
		give(0, 10, 5);
		give(1, 10, 3);
		give(2, 10, 8);
		pb_state_choose(&st, -1, 0, NULL, arm);
		group(arm, 3, 1, r, back);
		for (a = 0; a < 3; a++) {
			record(a, &w[a][0], &w[a][1], &w[a][2]);
			same &= w[a][0] == v[a][0] && w[a][1] == v[a][1] && w[a][2] == v[a][2];
		}
		ok(same, "the same bets when the rewards come back last first");
	}
	{
		/* --repeats 2: each arm's reward on the task is the mean of
		 * its two pulls, and the bet waits for both. */
		int arm[2] = { 0, 1 }, order[4] = { 0, 2, 1, 3 };
		double r[4] = { 1, 1, 0, 0.5 }, lw, won, disc, lw1, won1, disc1;
		setup("race", 2);
		st.repeats = 2;
		pb_policy_prepare(&st);
		group(arm, 2, 2, r, order);
		record(1, &lw, &won, &disc);
		record(0, &lw1, &won1, &disc1);
		ok(won == -0.75 && disc == 0.75 && won1 == 0.75 &&
		   fabs(lw - (0.5 * 0.75 + (log(0.5) + 0.5) * 0.5625)) < 1e-12,
		   "repeats: a1's mean 0.25 against a0's 1, a graded difference of 0.75 "
		   "(won %g, disc %g)", won, disc);
	}
	{
		/* The threshold is ln(1/delta), for any K: the loser of every
		 * task is out at the first n where ln M >= ln 20, not before. */
		double lw[PB_PAIR_GRID] = { 0 }, r[2] = { 1, 0 };
		int arm[2], n = 0, t, at = -1, good = 1;
		while (pb_bets_logm(lw) < log(20)) {
			pb_bets_add(lw, 1);
			n++;
		}
		setup("race:delta=0.05", 2);
		for (t = 1; t <= n + 2; t++) {
			if (pb_state_choose(&st, -1, 0, NULL, arm) < 2)
				break;
			r[0] = arm[0] == 0 ? 1 : 0;
			r[1] = 1 - r[0];
			group(arm, 2, 1, r, NULL);
			if (at < 0 && st.arms[1].pstate[0] == 0)
				at = t;
			good &= st.arms[0].pstate[0] == 1;
		}
		ok(good && at == n, "two arms, one always right: the other is out "
		   "after %d tasks, where ln M first reaches ln(1/delta) = ln 20 "
		   "(n = %d)", at, n);
		setup("race:delta=0.05", 8);
		for (t = 1; t <= 4 * n; t++) {
			int a8[8];
			double r8[8];
			int m = pb_state_choose(&st, -1, 2, NULL, a8), i;
			if (m < 2)
				break;
			for (i = 0; i < m; i++)
				r8[i] = a8[i] == 0;
			good &= a8[0] == 0;
			group(a8, m, 1, r8, NULL);
		}
		ok(good && st.arms[0].pstate[0] == 1, "eight arms, -k 2: the arm "
		   "always right leads every task and stays in");
	}
	{
		/* All arms equal, all best: each is knocked out with
		 * probability <= delta (Ville).  300 runs of 4000 calls. */
		int i, out = 0;
		for (i = 0; i < 300; i++)
			out += null_run(5, 31000 + (uint64_t)i, 4000);
		ok(out <= 15, "5 equal arms: arm a0 knocked out in %d of 300 runs "
		   "(delta 0.05 allows 15)", out);
	}
	pb_state_free(&st);
	return tap_done();
}
