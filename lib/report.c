/* report.c - the statistics of pb-report: the probability that each arm
 * is best, the empirical Bernstein interval, the paired bootstrap, the
 * exact McNemar test and cost.  Formulas are in pb.h and
 * man/pb-report.1. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bandit.h"

/* One draw of P(best)'s Monte Carlo: counts a win for the first arm
 * with the largest of the k values drawn, x[0..k). */
static void
tally_best(const double *x, size_t k, double *p)
{
	size_t i, arg = 0;

	for (i = 1; i < k; i++)
		if (x[i] > x[arg])
			arg = i;
	if (k)
		p[arg] += 1;
}

/* The probability that each of the k arms is the best, p[0..k), by
 * Monte Carlo over `draws` joint draws from the arms' posteriors, with
 * an rng of its own seeded with seed (so the same statistics always give
 * the same answer).  An arm whose rewards were all 0 or 1 has the
 * posterior Beta(1 + sum, 1 + n - sum) of a uniform prior; an arm with
 * other rewards the normal approximation N(mean, v / n), v the sample
 * variance floored at 1 / (4 n) so that a few equal rewards still leave
 * some doubt.  Each draw counts for the arm with the largest value (the
 * first on a tie).  The standard error of each p[i] is at most
 * 0.5 / sqrt(draws).  Returns 0, or -1 out of memory or draws < 1. */
int
pb_prob_best(const struct pb_stats *s, size_t k, long draws, uint64_t seed,
             double *p)
{
	struct pb_rng r;
	double *sd = NULL, *x = NULL;
	size_t i;
	long d;

	if (draws < 1 || !(sd = malloc((k ? k : 1) * sizeof *sd)) ||
	    !(x = malloc((k ? k : 1) * sizeof *x))) {
		free(sd);
		return -1;
	}
	for (i = 0; i < k; i++) {
		double n = (double)s[i].n, v = pb_stats_var(&s[i]);
		p[i] = 0;
		/* sd < 0 marks a Beta arm */
		sd[i] = s[i].nonbinary == 0 ? -1 :
		        sqrt((v > 1 / (4 * n) ? v : 1 / (4 * n)) / n);
	}
	pb_rng_seed(&r, seed);
	for (d = 0; d < draws; d++) {
		for (i = 0; i < k; i++)
			x[i] = sd[i] < 0 ?
			       pb_rng_beta(&r, 1 + s[i].sum, 1 + (double)s[i].n - s[i].sum) :
			       pb_stats_mean(&s[i]) + sd[i] * pb_rng_normal(&r);
		tally_best(x, k, p);
	}
	for (i = 0; i < k; i++)
		p[i] /= (double)draws;
	free(sd);
	free(x);
	return 0;
}

/* P(best) without draws, for a large pool: with independent posteriors
 * (the ones pb_prob_best draws), P_i = integral of f_i(x) prod_{j != i}
 * F_j(x) dx, taken by the midpoint rule on PB_PBEST_GRID cells over the
 * span where some posterior has mass.  Arms with the same posterior (at
 * 10,000 arms most hold a few rewards) are one group: the work is
 * O(groups x grid), not O(draws x arms).  Each F_g is the running sum of
 * its density over the cells (a Beta) or erfc (a normal), so the product
 * prod_g F_g^count is exact up to the cell width; the p's are scaled to
 * sum to 1.  Returns 0, or -1 out of memory. */
struct post {
	double a, b;         /* Beta(a, b) when sd is 0 */
	double mu, sd;       /* sd > 0: N(mu, sd^2) */
	size_t first, count; /* an arm of the group; how many share it */
	double win;          /* the chance of one arm of the group */
};

static int
postcmp(const void *x, const void *y)
{
	const struct post *p = x, *q = y;
	if (p->sd != q->sd)
		return p->sd < q->sd ? -1 : 1;
	if (p->a != q->a)
		return p->a < q->a ? -1 : 1;
	if (p->b != q->b)
		return p->b < q->b ? -1 : 1;
	if (p->mu != q->mu)
		return p->mu < q->mu ? -1 : 1;
	return 0;
}

/* Group g's mass in each cell (its density times the cell width h) and
 * its CDF at the midpoints x[from..G), into f and F; a normal's f only
 * when f is not NULL.  A Beta's cells are its density's running sum,
 * scaled to 1, so it needs them all. */
static void
post_grid(const struct post *g, const double *x, size_t from, size_t G,
          double h, double *f, double *F)
{
	size_t t;
	double run = 0, tot = 0, c;

	if (g->sd > 0) {
		c = h / (g->sd * sqrt(2 * M_PI));
		for (t = from; t < G; t++) {
			double z = (x[t] - g->mu) / g->sd;
			if (f)
				f[t] = c * exp(-0.5 * z * z);
			F[t] = 0.5 * erfc(-z / sqrt(2));
		}
		return;
	}
	c = lgamma(g->a + g->b) - lgamma(g->a) - lgamma(g->b);
	for (t = 0; t < G; t++) {
		double lf = (g->a - 1) * log(x[t]) + (g->b - 1) * log1p(-x[t]);
		f[t] = x[t] <= 0 || x[t] >= 1 ? 0 : exp(lf + c);
		tot += f[t];
	}
	for (t = 0; t < G; t++) {
		f[t] = tot > 0 ? f[t] / tot : 0;
		F[t] = run + f[t] / 2;
		run += f[t];
	}
}

int
pb_prob_best_grid(const struct pb_stats *s, size_t k, double *p)
{
	const size_t G = PB_PBEST_GRID;
	struct post *ps = NULL;
	size_t *order = NULL, i, t, ng = 0, g, from;
	double *x = NULL, *L = NULL, *f = NULL, *F = NULL, lo = INFINITY,
	       hi = -INFINITY, h, tot = 0;
	int rc = -1;

	if (!k)
		return 0;
	if (!(ps = calloc(k, sizeof *ps)) || !(x = malloc(G * sizeof *x)) ||
	    !(L = calloc(G, sizeof *L)) || !(f = malloc(G * sizeof *f)) ||
	    !(F = malloc(G * sizeof *F)) || !(order = malloc(k * sizeof *order)))
		goto out;
	/* the posteriors, and the span that holds their mass: [0, 1] for a
	 * Beta, 9 standard deviations either side for a normal */
	for (i = 0; i < k; i++) {
		double n = (double)s[i].n, v = pb_stats_var(&s[i]);
		struct post *q = &ps[i];
		q->first = i;
		if (s[i].nonbinary == 0) {
			q->a = 1 + s[i].sum;
			q->b = 1 + n - s[i].sum;
			lo = lo < 0 ? lo : 0;
			hi = hi > 1 ? hi : 1;
			continue;
		}
		q->mu = pb_stats_mean(&s[i]);
		q->sd = sqrt((v > 1 / (4 * n) ? v : 1 / (4 * n)) / n);
		if (q->mu - 9 * q->sd < lo)
			lo = q->mu - 9 * q->sd;
		if (q->mu + 9 * q->sd > hi)
			hi = q->mu + 9 * q->sd;
	}
	h = (hi - lo) / (double)G;
	for (t = 0; t < G; t++)
		x[t] = lo + ((double)t + 0.5) * h;
	/* the groups: sorted copies, each arm remembering its group */
	qsort(ps, k, sizeof *ps, postcmp);
	for (i = 0; i < k; i++) {
		if (ng && !postcmp(&ps[ng - 1], &ps[i])) {
			order[ps[i].first] = ng - 1;
			ps[ng - 1].count++;
			continue;
		}
		order[ps[i].first] = ng;
		ps[ng] = ps[i];
		ps[ng++].count = 1;
	}
	/* L(x) = sum over groups of count log F_g(x) */
	for (g = 0; g < ng; g++) {
		post_grid(&ps[g], x, 0, G, h, ps[g].sd > 0 ? NULL : f, F);
		for (t = 0; t < G; t++)
			L[t] += (double)ps[g].count * (F[t] > 0 ? log(F[t]) : -INFINITY);
	}
	/* L rises with x: below from, exp(L) underflows, no arm is best there */
	for (from = 0; from < G && !(L[from] > -740); from++)
		;
	/* each group's chance for one of its arms */
	for (g = 0; g < ng; g++) {
		double sum = 0;
		post_grid(&ps[g], x, from, G, h, f, F);
		for (t = from; t < G; t++)
			if (f[t] > 0 && F[t] > 0 && L[t] > -INFINITY)
				sum += f[t] * exp(L[t] - log(F[t]));
		ps[g].win = sum;
		tot += sum * (double)ps[g].count;
	}
	for (i = 0; i < k; i++)
		p[i] = tot > 0 ? ps[order[i]].win / tot : 1.0 / (double)k;
	rc = 0;
out:
	free(ps);
	free(order);
	free(x);
	free(L);
	free(f);
	free(F);
	return rc;
}

/* P(best) as pb_prob_best, but from a joint normal posterior: means
 * mu[0..k) with covariance cov (k x k, row-major), so that arms judged
 * on the same tasks, whose estimates rise and fall together with the
 * tasks' difficulty, are compared through their difference.  A cov that
 * is not positive definite gets the smallest ridge on its diagonal (1e-6
 * of its largest variance, times 4 until it is) that makes it so.
 * O(draws k^2).  Returns 0, or -1 out of memory or draws < 1. */
int
pb_prob_best_joint(const double *mu, const double *cov, size_t k, long draws,
                   uint64_t seed, double *p)
{
	struct pb_rng r;
	double *L = NULL, *z = NULL, sum, jitter = 0;
	size_t i, j, m;
	long d;
	int ok = 0;

	if (draws < 1 || !(L = malloc((k ? k * k : 1) * sizeof *L)) ||
	    !(z = malloc((k ? k : 1) * sizeof *z))) {
		free(L);
		return -1;
	}
	/* Cholesky, cov = L L^T; a matrix that is not positive definite
	 * (correlations estimated on different subsets of tasks need not
	 * fit together) gets a growing ridge on its diagonal. */
	while (!ok) {
		ok = 1;
		for (i = 0; i < k && ok; i++)
			for (j = 0; j <= i && ok; j++) {
				sum = cov[i * k + j] + (i == j ? jitter : 0);
				for (m = 0; m < j; m++)
					sum -= L[i * k + m] * L[j * k + m];
				if (i == j) {
					if (!(sum > 0))
						ok = 0;
					else
						L[i * k + i] = sqrt(sum);
				} else {
					L[i * k + j] = sum / L[j * k + j];
				}
			}
		if (!ok) {
			double dmax = 0;
			for (i = 0; i < k; i++)
				if (cov[i * k + i] > dmax)
					dmax = cov[i * k + i];
			jitter = jitter > 0 ? jitter * 4 : (dmax > 0 ? dmax : 1) * 1e-6;
		}
	}
	for (i = 0; i < k; i++)
		p[i] = 0;
	pb_rng_seed(&r, seed);
	for (d = 0; d < draws; d++) {
		for (i = 0; i < k; i++)
			z[i] = pb_rng_normal(&r);
		for (i = k; i-- > 0;) { /* from the last: x[i] needs z[0..i] */
			double v = mu[i];
			for (m = 0; m <= i; m++)
				v += L[i * k + m] * z[m];
			z[i] = v;
		}
		tally_best(z, k, p);
	}
	for (i = 0; i < k; i++)
		p[i] /= (double)draws;
	free(L);
	free(z);
	return 0;
}

/* The empirical Bernstein interval of Maurer and Pontil (2009) for the
 * mean of rewards in [0,1], two-sided at level 1 - alpha: with v the
 * sample variance (divisor n - 1) and L = ln(4 / alpha),
 *     mean -+ (sqrt(2 v L / n) + 7 L / (3 (n - 1))),
 * clipped to [0,1].  It holds for any distribution on [0,1], not only
 * in the limit, at the price of being wider than Student's t.  Fewer
 * than two rewards give [0,1]. */
void
pb_eb_ci(const struct pb_stats *s, double alpha, double *lo, double *hi)
{
	double n = (double)s->n, m = pb_stats_mean(s), L, h;

	if (s->n < 2) {
		*lo = 0;
		*hi = 1;
		return;
	}
	L = log(4 / alpha);
	h = sqrt(2 * pb_stats_var(s) * L / n) + 7 * L / (3 * (n - 1));
	*lo = m - h < 0 ? 0 : m - h;
	*hi = m + h > 1 ? 1 : m + h;
}

/* The interval pb-report shows.  Method "anytime" is pb_mix_bounds at
 * alpha: it holds at every number of rewards at once, so it stays valid
 * at a time an adaptive policy chose (the stop); "auto" the fixed-sample
 * pb_stats_ci (Wilson for 0/1 rewards, Student t otherwise, except that
 * graded rewards with no sample variance, where t would give an
 * interval of zero width, get pb_eb_ci); "bernstein" pb_eb_ci.  *name
 * receives a static name: "anytime", "wilson", "t" or "bernstein". */
void
pb_report_ci(const struct pb_stats *s, double alpha, const char *method,
             double *lo, double *hi, const char **name)
{
	if (method && !strcmp(method, "anytime")) {
		pb_mix_bounds(s->sum, (double)s->n, alpha, lo, hi);
		*name = "anytime";
		return;
	}
	if (method && !strcmp(method, "bernstein")) {
		pb_eb_ci(s, alpha, lo, hi);
		*name = "bernstein";
		return;
	}
	pb_stats_ci(s, alpha, lo, hi, name);
	/* Equal graded rewards have no sample variance, and Student's t
	 * would call the one value certain: take the empirical Bernstein
	 * interval, whose range term keeps a width. */
	if (!strcmp(*name, "t") && s->n >= 2 && pb_stats_var(s) == 0) {
		pb_eb_ci(s, alpha, lo, hi);
		*name = "bernstein";
	}
}

static int
bydouble(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The q-quantile of sorted v[0..n), type 7. */
static double
quantile7(const double *v, size_t n, double q)
{
	double h = q * (double)(n - 1), f = floor(h);
	size_t j = (size_t)f;

	if (j + 1 >= n)
		return v[n - 1];
	return v[j] + (h - f) * (v[j + 1] - v[j]);
}

/* The percentile bootstrap interval for the mean of d[0..n) (for paired
 * data, the per-task differences), two-sided at level 1 - alpha: B
 * resamples of n values drawn with replacement (pb_rng_below, seeded
 * with seed), their means sorted, and the alpha/2 and 1 - alpha/2
 * quantiles taken by linear interpolation between order statistics
 * (Hyndman and Fan's type 7: position q (B - 1), 0-based).  n == 0
 * gives NAN.  Returns 0, or -1 out of memory or B < 2. */
int
pb_boot_mean_ci(const double *d, size_t n, long B, double alpha,
                uint64_t seed, double *lo, double *hi)
{
	struct pb_rng r;
	double *m, sum;
	size_t j;
	long b;

	*lo = *hi = NAN;
	if (B < 2)
		return -1;
	if (n == 0)
		return 0;
	if (!(m = malloc((size_t)B * sizeof *m)))
		return -1;
	pb_rng_seed(&r, seed);
	for (b = 0; b < B; b++) {
		sum = 0;
		for (j = 0; j < n; j++)
			sum += d[pb_rng_below(&r, n)];
		m[b] = sum / (double)n;
	}
	qsort(m, (size_t)B, sizeof *m, bydouble);
	*lo = quantile7(m, (size_t)B, alpha / 2);
	*hi = quantile7(m, (size_t)B, 1 - alpha / 2);
	free(m);
	return 0;
}

/* The exact two-sided McNemar test of b against c discordant pairs (the
 * binomial sign test of b successes in b + c trials at 1/2):
 *     p = min(1, 2 sum_{i=0}^{min(b,c)} C(b+c, i) / 2^(b+c)),
 * and 1 when b + c = 0. */
double
pb_mcnemar_exact(long b, long c)
{
	long n = b + c, m = b < c ? b : c, i;
	double p = 0, lfact, l2n;

	if (n <= 0)
		return 1;
	/* Terms in logs: C(n, i) / 2^n underflows long before n is large. */
	lfact = lgamma((double)n + 1);
	l2n = (double)n * log(2);
	for (i = 0; i <= m; i++)
		p += exp(lfact - lgamma((double)i + 1) - lgamma((double)(n - i) + 1) - l2n);
	p *= 2;
	return p > 1 ? 1 : p;
}

double
pb_cost(double in_tok, double out_tok, double usd_in_m, double usd_out_m)
{
	return (in_tok * usd_in_m + out_tok * usd_out_m) / 1e6;
}
