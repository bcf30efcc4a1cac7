/* policy.c - unit tests: each policy's choices on hand-made statistics. */
#include <stdlib.h>

#include "../../lib/pb.h"
#include "tap.h"

static struct pb_state st;

static void
setup(const char *policy, int narms)
{
	char err[PB_ERRLEN], buf[4096] = "";
	struct pb_policy pol;
	FILE *fp;
	int i;

	pb_state_free(&st);
	for (i = 0; i < narms; i++)
		snprintf(buf + strlen(buf), sizeof buf - strlen(buf),
		         "{\"id\":\"a%d\"}\n", i);
	fp = fmemopen(buf, strlen(buf), "r");
	if (pb_policy_parse(&pol, policy, err) < 0 ||
	    pb_state_new(&st, fp, "arms", &pol, 7, err) < 0) {
		printf("Bail out! %s\n", err);
		exit(1);
	}
	fclose(fp);
}

static void
give(int arm, long n, long wins)
{
	long i;
	for (i = 0; i < n; i++)
		pb_stats_add(&st.arms[arm].st, i < wins ? 1 : 0);
}

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
	is_str(err, "unknown policy 'ucb2' (uniform, epsilon-greedy, softmax, ucb1, ucb-v, kl-ucb, thompson, exp3, successive-halving, successive-rejects, lucb, top-two)",
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
