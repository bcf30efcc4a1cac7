/* pooled.c - the additive two-way model reward(arm, task) = a_arm +
 * b_task, fitted by least squares to the (arm, task) cells a replay saw,
 * for pb-report --adjusted: when arms answered different tasks, their
 * raw means are confounded by which tasks each got, and the tasks they
 * share tell the arms' effects apart from the tasks'.  Nothing here
 * decides a verdict; the model is wrong when arm x task interactions
 * are large (pb-report(1), POOLING). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "bandit.h"
#include "internal.h"

/* Union-find over narms + ntasks nodes (arm i is node i, task j node
 * narms + j), with path halving. */
static size_t
root(size_t *up, size_t x)
{
	while (up[x] != x) {
		up[x] = up[up[x]];
		x = up[x];
	}
	return x;
}

/* One backfitting sweep: each task's b the mean of its cells less their
 * arms' a, then each arm's a the mean of its cells less their tasks' b.
 * Returns the largest change of any a or b. */
static double
sweep(const struct pb_cell *cells, size_t ncells, size_t narms, size_t ntasks,
      double *a, double *b, double *acc, const long *na, const long *nb)
{
	double change = 0, v;
	size_t c, i;

	for (i = 0; i < ntasks; i++)
		acc[i] = 0;
	for (c = 0; c < ncells; c++)
		acc[cells[c].task] += cells[c].sum / (double)cells[c].n - a[cells[c].arm];
	for (i = 0; i < ntasks; i++) {
		v = nb[i] ? acc[i] / (double)nb[i] : 0;
		if (fabs(v - b[i]) > change)
			change = fabs(v - b[i]);
		b[i] = v;
	}
	for (i = 0; i < narms; i++)
		acc[i] = 0;
	for (c = 0; c < ncells; c++)
		acc[cells[c].arm] += cells[c].sum / (double)cells[c].n - b[cells[c].task];
	for (i = 0; i < narms; i++) {
		v = na[i] ? acc[i] / (double)na[i] : 0;
		if (fabs(v - a[i]) > change)
			change = fabs(v - a[i]);
		a[i] = v;
	}
	return change;
}

/* Numbers the components 1, 2, ... by their lowest arm into comp (0: no
 * cell); returns how many. */
static int
components(const struct pb_cell *cells, size_t ncells, size_t narms,
           size_t *up, int *rc, const long *na, int *comp, size_t nnodes)
{
	size_t c, i, r;
	int n = 0;

	for (i = 0; i < nnodes; i++) {
		up[i] = i;
		rc[i] = 0;
	}
	for (c = 0; c < ncells; c++) {
		size_t x = root(up, cells[c].arm), y = root(up, narms + cells[c].task);
		if (x != y)
			up[x] = y;
	}
	for (i = 0; i < narms; i++) {
		comp[i] = 0;
		if (!na[i])
			continue;
		r = root(up, i);
		if (!rc[r])
			rc[r] = ++n;
		comp[i] = rc[r];
	}
	return n;
}

/* Centres the a's of each component to mean 0 and shifts them to the
 * grand mean of its cells; an arm with no cell gets NAN. */
static void
centre(const struct pb_cell *cells, size_t ncells, size_t narms, double *a,
       const int *comp, int ncomp, double *acc)
{
	double *am = acc, *cm = acc + ncomp, *an = acc + 2 * ncomp, *cn = acc + 3 * ncomp;
	size_t c, i;
	int k;

	for (k = 0; k < 4 * ncomp; k++)
		acc[k] = 0;
	for (i = 0; i < narms; i++)
		if (comp[i]) {
			am[comp[i] - 1] += a[i];
			an[comp[i] - 1] += 1;
		}
	for (c = 0; c < ncells; c++) {
		k = comp[cells[c].arm] - 1;
		cm[k] += cells[c].sum / (double)cells[c].n;
		cn[k] += 1;
	}
	for (i = 0; i < narms; i++) {
		k = comp[i] - 1;
		a[i] = k < 0 ? NAN : a[i] - am[k] / an[k] + cm[k] / cn[k];
	}
}

int
pb_pooled_fit(const struct pb_cell *cells, size_t ncells, size_t narms,
              size_t ntasks, double *a, int *comp, int *sweeps,
              char err[PB_ERRLEN])
{
	size_t c, i, nn = narms + ntasks, big = narms > ntasks ? narms : ntasks;
	double *b = NULL, *acc = NULL;
	long *na = NULL, *nb = NULL;
	size_t *up = NULL;
	int *rc = NULL, ncomp = -1, s = 0;
	double change = 1;

	for (c = 0; c < ncells; c++)
		if (cells[c].arm >= narms || cells[c].task >= ntasks || cells[c].n < 1) {
			snprintf(err, PB_ERRLEN, "pooled fit: cell %zu is out of range", c);
			return -1;
		}
	b = calloc(ntasks + 1, sizeof *b);
	acc = calloc(4 * narms + big + 1, sizeof *acc);
	na = calloc(narms + 1, sizeof *na);
	nb = calloc(ntasks + 1, sizeof *nb);
	up = calloc(nn + 1, sizeof *up);
	rc = calloc(nn + 1, sizeof *rc);
	if (!b || !acc || !na || !nb || !up || !rc) {
		snprintf(err, PB_ERRLEN, "out of memory");
		goto out;
	}
	for (c = 0; c < ncells; c++) {
		na[cells[c].arm]++;
		nb[cells[c].task]++;
	}
	for (i = 0; i < narms; i++)
		a[i] = 0;
	while (s < PB_POOLED_SWEEPS && change > 1e-10) {
		change = sweep(cells, ncells, narms, ntasks, a, b, acc, na, nb);
		s++;
	}
	ncomp = components(cells, ncells, narms, up, rc, na, comp, nn);
	centre(cells, ncells, narms, a, comp, ncomp, acc);
	if (sweeps)
		*sweeps = change > 1e-10 ? PB_POOLED_SWEEPS + 1 : s;
out:
	free(b);
	free(acc);
	free(na);
	free(nb);
	free(up);
	free(rc);
	return ncomp;
}
