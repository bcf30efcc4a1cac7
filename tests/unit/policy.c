/* policy.c - unit tests: each policy's choices on hand-made statistics. */
#include <stdlib.h>
#include <unistd.h>

#include "../../lib/pb.h"
#include "tap.h"

#include "arms.h"

/* Counts how often each arm is chosen in k independent selections. */
static void
tally(int k, int *count)
{
	int i;
	for (i = 0; i < (int)st.narms; i++)
		count[i] = 0;
	for (i = 0; i < k; i++)
		count[pb_policy_select(&st)]++;
}

int
main(void)
{
	struct pb_policy p;
	char err[PB_ERRLEN];
	int c[8], i, seen[8] = { 0 }, distinct = 0;

	ok(pb_policy_parse(&p, "ucb1:c=0.5", err) == 0 && p.kind == PB_POL_UCB1 &&
	   p.c == 0.5, "ucb1:c=0.5 parses");
	ok(pb_policy_parse(&p, "epsilon-greedy:epsilon=0.2", err) == 0 &&
	   p.epsilon == 0.2, "epsilon-greedy:epsilon=0.2 parses");
	ok(pb_policy_parse(&p, "thompson:a=2,b=3", err) == 0 && p.a0 == 2 &&
	   p.b0 == 3, "thompson:a=2,b=3 parses");
	ok(pb_policy_parse(&p, "ucb2", err) < 0, "an unknown policy fails");
	is_str(err, "unknown policy 'ucb2' (uniform, epsilon-greedy, softmax, ucb1, ucb-v, kl-ucb, thompson, exp3, successive-halving, successive-rejects, lucb, top-two, race)",
	       "naming the choices");
	ok(pb_policy_parse(&p, "ucb1:epsilon=0.1", err) < 0, "a foreign parameter fails");
	ok(pb_policy_parse(&p, "epsilon-greedy:epsilon=2", err) < 0, "epsilon > 1 fails");
	is_str(err, "epsilon-greedy: epsilon=2 is not in [0,1]", "saying what the range is");
	ok(pb_policy_parse(&p, "thompson:a=0", err) < 0, "a Beta prior of 0 fails");
	is_str(err, "thompson: a=0 and b=1 must be > 0", "saying so");
	ok(pb_policy_parse(&p, "ucb1:c=-1", err) < 0, "a negative c fails");
	ok(pb_policy_parse(&p, "ucb1:d=1", err) < 0, "an unknown parameter fails");
	is_str(err, "policy ucb1 has no parameter 'd'", "naming it");
	ok(pb_policy_parse(&p, "ucb1:c", err) < 0, "a parameter without value fails");

	/* UCB1 */
	setup("ucb1", 3);
	give(0, 10, 9);
	give(1, 10, 1);
	ok(pb_policy_select(&st) == 2, "ucb1 tries an unpulled arm first");
	give(2, 10, 5);
	ok(pb_policy_select(&st) == 0, "ucb1 picks the best mean among equals in n");
	setup("ucb1", 2);
	give(0, 1000, 600);
	give(1, 5, 2);
	ok(pb_policy_select(&st) == 1, "ucb1 explores a little-pulled arm (bonus)");
	is_num(pb_policy_index(&st, 0), 0.6 + sqrt(2 * log(1005.0) / 1000), 1e-12,
	       "ucb1 index is mean + sqrt(c ln N / n)");
	setup("ucb1:c=0", 2);
	give(0, 1000, 600);
	give(1, 5, 2);
	ok(pb_policy_select(&st) == 0, "ucb1 with c=0 is greedy");

	/* Pending pulls spread a batch over the arms. */
	setup("ucb1", 4);
	pb_state_begin_batch(&st, 0);
	for (i = 0; i < 4; i++) {
		int a = pb_policy_select(&st);
		if (!seen[a]++)
			distinct++;
		pb_state_hand_out(&st, a);
	}
	ok(distinct == 4, "ucb1: a batch of 4 on 4 fresh arms takes each once");
	setup("ucb1", 3);
	give(0, 20, 12);
	give(1, 20, 11);
	give(2, 20, 10);
	memset(seen, 0, sizeof seen);
	pb_state_begin_batch(&st, 0);
	for (i = 0; i < 30; i++) {
		int a = pb_policy_select(&st);
		pb_state_hand_out(&st, a);
		seen[a]++;
	}
	ok(seen[0] < 30 && seen[1] > 0 && seen[2] > 0,
	   "ucb1: pending pulls keep one batch off a single arm (%d/%d/%d)",
	   seen[0], seen[1], seen[2]);

	/* Uniform: round robin over pulls + errors + pending. */
	setup("uniform", 3);
	give(0, 5, 5);
	give(1, 4, 0);
	give(2, 5, 0);
	ok(pb_policy_select(&st) == 1, "uniform picks the least-pulled arm");
	st.arms[1].errors = 2;
	ok(pb_policy_select(&st) != 1, "errors count as handed out for round robin");

	/* Epsilon-greedy. */
	setup("epsilon-greedy:epsilon=0", 3);
	give(0, 10, 3);
	give(1, 10, 8);
	give(2, 10, 5);
	tally(100, c);
	ok(c[1] == 100, "epsilon 0 always exploits the best mean");
	setup("epsilon-greedy:epsilon=1", 4);
	give(0, 10, 9);
	give(1, 10, 0);
	give(2, 10, 0);
	give(3, 10, 0);
	tally(4000, c);
	ok(c[0] > 850 && c[0] < 1150 && c[3] > 850 && c[3] < 1150,
	   "epsilon 1 is uniform (%d %d %d %d of 4000)", c[0], c[1], c[2], c[3]);

	/* Thompson. */
	setup("thompson", 2);
	give(0, 100, 90);
	give(1, 100, 10);
	tally(1000, c);
	ok(c[0] >= 995, "thompson: a clearly better arm wins (%d of 1000)", c[0]);
	setup("thompson", 2);
	give(0, 3, 2);
	give(1, 3, 1);
	tally(2000, c);
	ok(c[1] > 200 && c[0] > c[1], "thompson: uncertain arms both get drawn (%d/%d)",
	   c[0], c[1]);
	is_num(pb_policy_index(&st, 0), 3.0 / 5, 1e-12, "thompson index is the posterior mean");

	/* The policies added for issue 4: parameters and defaults. */
	ok(pb_policy_parse(&p, "softmax", err) == 0 && p.tau == 0.05, "softmax: tau 0.05");
	ok(pb_policy_parse(&p, "ucb-v", err) == 0 && p.c == 1, "ucb-v: c 1");
	ok(pb_policy_parse(&p, "kl-ucb", err) == 0 && p.c == 0, "kl-ucb: c 0");
	ok(pb_policy_parse(&p, "exp3:gamma=0.2", err) == 0 && p.gamma == 0.2, "exp3:gamma=0.2");
	ok(pb_policy_parse(&p, "lucb", err) == 0 && p.delta == 0.05, "lucb: delta 0.05");
	ok(pb_policy_parse(&p, "top-two:delta=0.01,beta=0.3", err) == 0 &&
	   p.delta == 0.01 && p.beta == 0.3, "top-two:delta=0.01,beta=0.3");
	ok(pb_policy_parse(&p, "successive-halving:budget=1000", err) == 0 &&
	   p.budget == 1000, "successive-halving:budget=1000");
	ok(pb_policy_parse(&p, "successive-rejects", err) < 0, "a fixed budget needs budget=N");
	is_str(err, "successive-rejects needs budget=N, the number of pulls to spend", "saying so");
	ok(pb_policy_parse(&p, "successive-halving:budget=10.5", err) < 0, "a budget is whole");
	ok(pb_policy_parse(&p, "lucb:delta=0.7", err) < 0, "delta above 1/2 fails");
	is_str(err, "lucb: delta=0.7 is not a number in (0,0.5]", "naming the range");
	ok(pb_policy_parse(&p, "exp3:gamma=0", err) < 0, "exp3 needs gamma > 0");
	ok(pb_policy_parse(&p, "softmax:c=1", err) < 0, "softmax has no c");

	/* Softmax: probabilities proportional to exp(mean / tau). */
	setup("softmax:tau=0.1", 2);
	give(0, 10, 6);
	give(1, 10, 4);
	is_num(pb_policy_prob(&st, 0), 1 / (1 + exp(-2.0)), 1e-12,
	       "softmax: P = exp(m/tau) / sum");
	tally(4000, c);
	ok(abs(c[0] - 3523) < 150, "softmax draws as it says (%d of 4000)", c[0]);
	setup("softmax", 3);
	give(0, 5, 5);
	is_num(pb_policy_prob(&st, 0), 0, 0, "softmax: untried arms first");

	/* UCB-V and KL-UCB indexes. */
	setup("ucb-v", 2);
	give(0, 100, 50);
	give(1, 100, 90);
	is_num(pb_policy_index(&st, 0), 0.5 + sqrt(2 * 0.25 * log(200.0) / 100) +
	       3 * log(200.0) / 100, 1e-12, "ucb-v index: m + sqrt(2 V E/n) + 3 E/n");
	ok(pb_policy_index(&st, 1) - 0.9 < pb_policy_index(&st, 0) - 0.5,
	   "ucb-v: a steadier arm gets a smaller bonus");
	setup("kl-ucb", 2);
	give(0, 100, 50);
	give(1, 100, 60);
	is_num(100 * pb_kl_bern(0.5, pb_policy_index(&st, 0)), log(200.0), 1e-9,
	       "kl-ucb index: n kl(m, U) = log t");
	ok(pb_policy_select(&st) == 1, "kl-ucb takes the larger index");

	/* EXP3: weights from importance-weighted rewards kept per arm. */
	setup("exp3:gamma=0.3", 3);
	is_num(pb_policy_prob(&st, 1), 1.0 / 3, 1e-12, "exp3 starts uniform");
	pb_state_begin_batch(&st, 0);
	pb_state_hand_out(&st, 0);
	ok(pb_state_apply(&st, 1, 0, 1, err) == 0 && st.arms[0].pstate &&
	   fabs(st.arms[0].pstate[0] - 3) < 1e-12, "exp3: a reward of 1 at P 1/3 adds 3");
	is_num(pb_policy_prob(&st, 0), 0.7 * exp(0.3) / (exp(0.3) + 2) + 0.1, 1e-12,
	       "exp3: P = (1-g) w/sum w + g/K, w = exp(g S/K)");
	{
		char path[] = "/tmp/pbpolicyXXXXXX";
		struct pb_state back;
		int fd = mkstemp(path);
		close(fd);
		ok(pb_state_save(&st, path, err) == 0 && pb_state_load(&back, path, err) == 0 &&
		   back.arms[0].pstate && back.arms[0].pstate[0] == 3 && !back.arms[1].pstate &&
		   back.pol.gamma == 0.3, "policy_state is saved and loaded with the arm");
		pb_state_free(&back);
		unlink(path);
	}

	/* Thompson, Gaussian once rewards are not 0/1. */
	setup("thompson", 2);
	for (i = 0; i < 50; i++) {
		pb_stats_add(&st.arms[0].st, 0.7 + 0.01 * (i % 5));
		pb_stats_add(&st.arms[1].st, 0.4 + 0.01 * (i % 5));
	}
	tally(1000, c);
	ok(c[0] >= 990, "thompson with fractional rewards (Gaussian) prefers 0.72 to 0.42 (%d)", c[0]);
	{
		struct pb_rng before = st.rng;
		double pr = pb_policy_prob(&st, 0);
		ok(pr > 0.99 && !memcmp(&before, &st.rng, sizeof before),
		   "pb_policy_prob estimates (%.3f) without touching the state's generator", pr);
	}

	/* LUCB: leader and challenger in turn. */
	setup("lucb", 3);
	give(0, 20, 15);
	give(1, 10, 6);
	give(2, 30, 6);
	ok(pb_policy_select(&st) == 1, "lucb: the challenger with the higher bound and fewer pulls");
	give(1, 20, 12);
	ok(pb_policy_select(&st) == 0, "lucb: the leader when it has fewer pulls");
	ok(pb_policy_index(&st, 2) < pb_policy_index(&st, 1), "lucb index is the upper bound");

	/* Top-two: beta = 1 is Thompson's leader; the prob sums to 1. */
	setup("top-two:beta=0.99", 2);
	give(0, 200, 160);
	give(1, 200, 100);
	tally(400, c);
	ok(c[0] >= 380, "top-two with beta near 1 pulls the leader (%d of 400)", c[0]);
	setup("top-two", 2);
	give(0, 200, 160);
	give(1, 200, 100);
	tally(2000, c);
	ok(c[0] > 850 && c[0] < 1150, "top-two with beta 1/2 splits between leader "
	   "and challenger (%d of 2000)", c[0]);
	ok(fabs(pb_policy_prob(&st, 0) + pb_policy_prob(&st, 1) - 1) < 1e-9,
	   "top-two probabilities sum to 1");

	/* Successive halving: 4 arms, budget 40: rounds of 5 pulls each for 4
	 * arms, then 10 each for the better 2. */
	{
		char why[PB_ERRLEN];
		int b, k, n[4] = { 0 };
		double mean[4] = { 0.9, 0.2, 0.7, 0.1 };
		setup("successive-halving:budget=40", 4);
		pb_state_begin_batch(&st, 0);
		for (k = 0; k < 40; k++) {
			int a;
			if (pb_policy_done(&st, why, &b))
				break;
			a = pb_policy_select(&st);
			pb_state_hand_out(&st, a);
			n[a]++;
			pb_stats_add(&st.arms[a].st, (k * 37 % 10) < mean[a] * 10);
			st.arms[a].pending--;
		}
		ok(n[0] == 15 && n[2] == 15 && n[1] == 5 && n[3] == 5,
		   "halving: 5 each, then 10 more for the better half (%d %d %d %d)",
		   n[0], n[1], n[2], n[3]);
		ok(pb_policy_done(&st, why, &b) && b == 0, "halving is done when the budget is spent");
		is_str(why, "budget of 40 pulls spent; arm a0 is recommended (best mean "
		       "of the 2 arms left, after 40 rewards)", "and says which arm");
		ok(isnan(pb_policy_index(&st, 1)) && !isnan(pb_policy_index(&st, 0)),
		   "eliminated arms have no index");
	}
	/* Successive rejects drops one arm per phase. */
	{
		int k, n[3] = { 0 };
		setup("successive-rejects:budget=30", 3);
		pb_state_begin_batch(&st, 0);
		for (k = 0; k < 30; k++) {
			int a = pb_policy_select(&st);
			pb_state_hand_out(&st, a);
			n[a]++;
			pb_stats_add(&st.arms[a].st, a == 2 ? 1 : a == 0 ? k % 2 : 0);
			st.arms[a].pending--;
		}
		ok(n[1] < n[0] && abs(n[0] - n[2]) <= 1, "rejects: the worst arm goes first (%d %d %d)",
		   n[0], n[1], n[2]);
	}
	/* pb_policy_done for the fixed-confidence policies. */
	{
		char why[PB_ERRLEN];
		int b;
		setup("top-two", 2);
		give(0, 400, 300);
		give(1, 400, 200);
		ok(pb_policy_done(&st, why, &b) && b == 0, "top-two is done on a clear gap");
		is_str(why, "arm a0 is best with confidence 1-delta = 0.95 after 800 pulls",
		       "saying so");
		setup("ucb1", 2);
		give(0, 400, 300);
		give(1, 400, 200);
		ok(!pb_policy_done(&st, why, &b) && b == 0, "a regret policy never stops");
	}

	/* Determinism: the same seed gives the same choices. */
	{
		int a[50], b[50], same = 1;
		setup("thompson", 5);
		for (i = 0; i < 50; i++)
			a[i] = pb_policy_select(&st);
		setup("thompson", 5);
		for (i = 0; i < 50; i++) {
			b[i] = pb_policy_select(&st);
			same &= a[i] == b[i];
		}
		ok(same, "the same seed gives the same 50 choices");
	}
	pb_state_free(&st);
	return tap_done();
}
