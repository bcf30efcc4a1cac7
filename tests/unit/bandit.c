/* bandit.c - unit tests of what pb-sample asks the library: a task's
 * pulls handed out as a group (pb_state_hand_out_group: batches by group
 * size, repeats side by side, cursors moved), and what a policy says of
 * itself (arms per task, budget, names). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tap.h"
#include "../../lib/pb.h"
#include "mkstate.h"

int
main(void)
{
	static const char arms[] = "{\"id\":\"a\"}\n{\"id\":\"b\"}\n{\"id\":\"c\"}\n";
	char err[PB_ERRLEN], *ids[3] = { "t1", "t2", "t3" };
	uint64_t dig[3] = { 1, 2, 3 };
	struct pb_state st;
	struct pb_policy pol;
	long pos[3], first;
	int two[2] = { 0, 2 }, one[1] = { 1 }, k;

	ok(mkstate(&st, arms, "ucb1", err) == 0, "a state of 3 arms");
	st.repeats = 2;
	pb_state_learn(&st, -1, 3, ids, dig, pos);
	ok(pb_state_begin_batch(&st, 100) == 0 && st.nbatch == 1, "a batch begun");
	first = pb_state_hand_out_group(&st, -1, 0, two, 2);
	ok(first == 1 && st.next_pull == 5 && st.nbatch == 1 && st.batch[0].k == 4 &&
	   st.batch[0].arm[0] == 0 && st.batch[0].arm[1] == 0 &&
	   st.batch[0].arm[2] == 2 && st.batch[0].arm[3] == 2,
	   "two arms, two repeats: 4 pulls, each arm's side by side, group of 4");
	ok(pb_state_cursor(&st, -1, 0) == 1 && pb_state_cursor(&st, -1, 2) == 1 &&
	   pb_state_cursor(&st, -1, 1) == 0 && st.batch[0].pos[3] == 0,
	   "the arms' cursors passed the task");
	first = pb_state_hand_out_group(&st, -1, 1, two, 2);
	ok(first == 5 && st.nbatch == 1 && st.batch[0].n == 8, "same size: same batch");
	first = pb_state_hand_out_group(&st, -1, 2, one, 1);
	ok(first == 9 && st.nbatch == 2 && st.batch[1].k == 2 && st.batch[1].first == 9 &&
	   st.batch[1].t == 100 && st.arms[1].pending == 2,
	   "another size: a new batch, handed out at the same time");
	pb_state_free(&st);

	ok(pb_policy_parse(&pol, "race", err) == 0 && pb_policy_arms_per_task(&pol) == 0 &&
	   isnan(pb_policy_budget(&pol)), "race: every surviving arm, no budget");
	ok(pb_policy_parse(&pol, "successive-halving:budget=30", err) == 0 &&
	   pb_policy_arms_per_task(&pol) == 1 && pb_policy_budget(&pol) == 30,
	   "successive-halving: one arm per task, a budget of 30");
	ok(pb_policy_parse(&pol, "thompson", err) == 0 && pb_policy_arms_per_task(&pol) == 1 &&
	   isnan(pb_policy_budget(&pol)), "thompson: one arm, no budget");
	for (k = 0; pb_policy_name((enum pb_policy_kind)k); k++)
		;
	ok(k == PB_POL_RACE + 1 && !strcmp(pb_policy_name(PB_POL_UNIFORM), "uniform"),
	   "pb_policy_name names the %d policies, NULL past the last", k);
	ok(pb_policy_parse(&pol, "ucb-v", err) == 0 && pol.c == 1 &&
	   pb_policy_parse(&pol, "kl-ucb", err) == 0 && pol.c == 0 &&
	   pb_policy_parse(&pol, "ucb1", err) == 0 && pol.c == 2,
	   "each policy's defaults from the one table (c: 1, 0, 2)");
	ok(pb_policy_parse(&pol, "nope", err) < 0 && strstr(err, "(uniform, epsilon-greedy, "
	   "softmax, ucb1, ucb-v, kl-ucb, thompson, exp3, successive-halving, "
	   "successive-rejects, lucb, top-two, race)"), "an unknown policy: the list");
	return tap_done();
}
