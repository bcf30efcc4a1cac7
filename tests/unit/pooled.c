/* pooled.c - unit tests of the additive (arm + task) fit behind
 * pb-report --adjusted: a balanced design gives the raw means, a
 * confounded but connected one recovers the arm effects built in, a
 * disconnected one is split into components, bad cells are refused. */
#include "../../lib/pb.h"
#include "tap.h"

static struct pb_cell cells[64];
static size_t nc;

static void
cell(size_t arm, size_t task, double sum, long n)
{
	cells[nc++] = (struct pb_cell){ arm, task, sum, n };
}

int
main(void)
{
	double a[4], y, raw[3] = { 0 };
	int comp[4], sweeps, k;
	char err[PB_ERRLEN];
	size_t i, j;

	/* balanced: 3 arms x 5 tasks, rewards with an interaction */
	nc = 0;
	for (i = 0; i < 3; i++)
		for (j = 0; j < 5; j++) {
			y = (double)((i * 7 + j * 3 + i * j) % 5) / 4;
			cell(i, j, y, 1);
			raw[i] += y / 5;
		}
	k = pb_pooled_fit(cells, nc, 3, 5, a, comp, &sweeps, err);
	ok(k == 1 && comp[0] == 1 && comp[2] == 1, "balanced: one component");
	for (i = 0; i < 3; i++)
		is_num(a[i], raw[i], 1e-12, "balanced: arm %zu adjusted = raw mean", i);
	ok(sweeps >= 1 && sweeps <= PB_POOLED_SWEEPS, "balanced: converged (%d sweeps)", sweeps);

	/* confounded: task difficulty b = 0.6, 0.5 (easy) and 0.0, -0.1
	 * (hard); arm effects A 0.1, B 0.3, C 0.2.  A answers the easy tasks
	 * only, B the hard ones, C all four: raw A > B, adjusted B > A. */
	nc = 0;
	cell(0, 0, 0.7, 1), cell(0, 1, 0.6, 1);
	cell(1, 2, 0.3, 1), cell(1, 3, 0.2, 1);
	cell(2, 0, 0.8, 1), cell(2, 1, 0.7, 1), cell(2, 2, 0.4, 2), cell(2, 3, 0.1, 1);
	k = pb_pooled_fit(cells, nc, 3, 4, a, comp, &sweeps, err);
	ok(k == 1, "confounded: connected through C");
	ok(a[1] > a[0], "confounded: adjusted B %.4f above A %.4f", a[1], a[0]);
	is_num(a[1] - a[0], 0.2, 1e-9, "confounded: B - A is the 0.2 built in");
	is_num(a[2] - a[0], 0.1, 1e-9, "confounded: C - A is the 0.1 built in");
	is_num((a[0] + a[1] + a[2]) / 3, (0.7 + 0.6 + 0.3 + 0.2 + 0.8 + 0.7 + 0.2 + 0.1) / 8,
	       1e-12, "confounded: the a's average the grand mean of the cells");

	/* disconnected: arms 0, 2 on tasks 0, 1; arms 1, 3 on tasks 2, 3 */
	nc = 0;
	cell(0, 0, 1, 1), cell(0, 1, 0, 1), cell(2, 0, 1, 1), cell(2, 1, 1, 1);
	cell(1, 2, 0, 1), cell(1, 3, 0, 1), cell(3, 2, 1, 1), cell(3, 3, 0, 1);
	k = pb_pooled_fit(cells, nc, 4, 4, a, comp, &sweeps, err);
	ok(k == 2, "disconnected: two components (%d)", k);
	ok(comp[0] == 1 && comp[2] == 1 && comp[1] == 2 && comp[3] == 2,
	   "disconnected: numbered by their lowest arm (%d %d %d %d)",
	   comp[0], comp[1], comp[2], comp[3]);
	is_num(a[2] - a[0], 0.5, 1e-9, "disconnected: within component 1");
	is_num(a[3] - a[1], 0.5, 1e-9, "disconnected: within component 2");
	is_num(a[1] + a[3], 0.5, 1e-12, "disconnected: each component on its own grand mean");

	/* an arm with no cell, and bad cells */
	nc = 0;
	cell(0, 0, 1, 2), cell(1, 0, 0, 1);
	k = pb_pooled_fit(cells, nc, 3, 1, a, comp, NULL, err);
	ok(k == 1 && comp[2] == 0 && isnan(a[2]), "an arm with no cell: comp 0, NAN");
	is_num(a[0], 0.5, 1e-12, "a cell is its mean: 1 of 2 is 0.5");
	cell(0, 5, 1, 1);
	ok(pb_pooled_fit(cells, nc, 3, 1, a, comp, NULL, err) == -1, "a task out of range: -1");
	is_str(err, "pooled fit: cell 2 is out of range", "and says which");
	cells[2] = (struct pb_cell){ 0, 0, 1, 0 };
	ok(pb_pooled_fit(cells, nc, 3, 1, a, comp, NULL, err) == -1, "n = 0: -1");
	return tap_done();
}
