/* stats.c - sufficient statistics, confidence intervals and the few
 * distribution functions the intervals need. */
#include <math.h>

#include "base.h"

void
pb_stats_add(struct pb_stats *s, double reward)
{
	s->n++;
	s->sum += reward;
	s->sumsq += reward * reward;
	if (reward != 0 && reward != 1)
		s->nonbinary++;
}

double
pb_stats_mean(const struct pb_stats *s)
{
	return s->n > 0 ? s->sum / (double)s->n : 0;
}

double
pb_stats_var(const struct pb_stats *s)
{
	double m, v;

	if (s->n < 2)
		return 0;
	m = s->sum / (double)s->n;
	v = (s->sumsq - (double)s->n * m * m) / (double)(s->n - 1);
	return v > 0 ? v : 0;
}

/* The x where cdf(x, arg) reaches p, by bisection on the exact CDF.
 * [lo, hi] is a first bracket, doubled outwards until it holds the
 * root (Student's t with one degree of freedom has its 0.99995 quantile
 * at 6,366, far past any fixed bracket); the bisection stops when the
 * bracket is narrower than tol relative to the root (absolute below 1).
 * Slower than a rational approximation but exact to that, and reports
 * call it a handful of times. */
static double
quantile(double (*cdf)(double, double), double arg, double p, double lo,
         double hi, double tol)
{
	double mid, scale;
	int i;

	if (p <= 0)
		return -INFINITY;
	if (p >= 1)
		return INFINITY;
	for (i = 0; i < 2000 && cdf(hi, arg) < p; i++) {
		lo = hi;
		hi *= 2;
	}
	for (i = 0; i < 2000 && cdf(lo, arg) > p; i++) {
		hi = lo;
		lo *= 2;
	}
	for (i = 0; i < 400; i++) {
		mid = (lo + hi) / 2;
		scale = fabs(mid) > 1 ? fabs(mid) : 1;
		if (hi - lo <= tol * scale)
			break;
		if (cdf(mid, arg) < p)
			lo = mid;
		else
			hi = mid;
	}
	return (lo + hi) / 2;
}

/* The standard normal CDF (no parameter; the second argument is for
 * quantile()). */
static double
phi(double x, double unused)
{
	(void)unused;
	return 0.5 * erfc(-x / sqrt(2));
}

double
pb_normal_quantile(double p)
{
	return quantile(phi, 0, p, -40, 40, 1e-15);
}

/* Continued fraction for the regularised incomplete beta (modified Lentz). */
static double
betacf(double a, double b, double x)
{
	const double tiny = 1e-300;
	double c = 1, d = 1 - (a + b) * x / (a + 1), h, num, del;
	int m;

	if (fabs(d) < tiny)
		d = tiny;
	d = 1 / d;
	h = d;
	for (m = 1; m <= 300; m++) {
		num = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m));
		d = 1 + num * d;
		d = fabs(d) < tiny ? 1 / tiny : 1 / d;
		c = 1 + num / c;
		if (fabs(c) < tiny)
			c = tiny;
		h *= d * c;
		num = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1));
		d = 1 + num * d;
		d = fabs(d) < tiny ? 1 / tiny : 1 / d;
		c = 1 + num / c;
		if (fabs(c) < tiny)
			c = tiny;
		del = d * c;
		h *= del;
		if (fabs(del - 1) < 1e-15)
			break;
	}
	return h;
}

static double
ibeta(double a, double b, double x)
{
	double lbt;

	if (x <= 0)
		return 0;
	if (x >= 1)
		return 1;
	lbt = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log(1 - x);
	if (x < (a + 1) / (a + b + 2))
		return exp(lbt) * betacf(a, b, x) / a;
	return 1 - exp(lbt) * betacf(b, a, 1 - x) / b;
}

static double
t_cdf(double t, double df)
{
	double p = 0.5 * ibeta(df / 2, 0.5, df / (df + t * t));
	return t > 0 ? 1 - p : p;
}

double
pb_t_quantile(double p, double df)
{
	return quantile(t_cdf, df, p, -16, 16, 1e-13);
}

void
pb_stats_ci(const struct pb_stats *s, double alpha, double *lo, double *hi,
            const char **method)
{
	double n = (double)s->n, m = pb_stats_mean(s), z, h, c, d;

	if (s->nonbinary == 0) {
		*method = "wilson";
		if (s->n == 0) {
			*lo = 0;
			*hi = 1;
			return;
		}
		z = pb_normal_quantile(1 - alpha / 2);
		d = 1 + z * z / n;
		c = (m + z * z / (2 * n)) / d;
		h = z * sqrt(m * (1 - m) / n + z * z / (4 * n * n)) / d;
		/* the bounds at 0 and 1 exactly: c - h is 0 only up to
		 * rounding when no reward was 1 */
		*lo = c - h < 0 || s->sum == 0 ? 0 : c - h;
		*hi = c + h > 1 || s->sum == n ? 1 : c + h;
		return;
	}
	*method = "t";
	if (s->n < 2) {
		*lo = 0;
		*hi = 1;
		return;
	}
	h = pb_t_quantile(1 - alpha / 2, n - 1) * sqrt(pb_stats_var(s) / n);
	*lo = m - h < 0 ? 0 : m - h;
	*hi = m + h > 1 ? 1 : m + h;
}

/* log of C(K, s) C(N - K, n - s) / C(N, n): the chance that n tasks
 * drawn without replacement from N of which K are 1 hold s ones. */
static double
hyper_log(double K, double s, double n, double N)
{
	if (K < s || N - K < n - s)
		return -INFINITY;
	return lgamma(K + 1) - lgamma(s + 1) - lgamma(K - s + 1) +
	       lgamma(N - K + 1) - lgamma(n - s + 1) - lgamma(N - K - n + s + 1) -
	       (lgamma(N + 1) - lgamma(n + 1) - lgamma(N - n + 1));
}

int
pb_wor_bounds(double s, long n, long N, double d, double *lo, double *hi)
{
	double dn = (double)n, dN = (double)N, cut, a, b, m, mode;

	*lo = 0;
	*hi = 1;
	if (N < 1 || n < 0 || n > N || s < 0 || s > dn || s != floor(s) ||
	    !(d > 0 && d < 1))
		return -1;
	if (n == 0)
		return 0;
	/* The prior-posterior ratio with a uniform prior on K: the
	 * posterior's normaliser is sum_K L(K) / (N + 1) = 1 / (n + 1)
	 * (Vandermonde's sum of C(K, s) C(N - K, n - s) over K is
	 * C(N + 1, n + 1)), so K stays in the set while
	 * L(K) > d / (n + 1).  L is unimodal in K, so the set is an interval
	 * around the mode, found by bisection on each side. */
	cut = log(d) - log(dn + 1);
	mode = floor((s + 1) * (dN + 1) / (dn + 2));
	if (mode < s)
		mode = s;
	if (mode > dN - (dn - s))
		mode = dN - (dn - s);
	a = s;                 /* lowest K possible */
	b = mode;
	if (hyper_log(a, s, dn, dN) <= cut) {
		while (b - a > 1) { /* L(a) <= cut < L(b) */
			m = floor((a + b) / 2);
			if (hyper_log(m, s, dn, dN) > cut)
				b = m;
			else
				a = m;
		}
		a = b;
	}
	*lo = a / dN;
	a = mode;
	b = dN - (dn - s);     /* highest K possible */
	if (hyper_log(b, s, dn, dN) <= cut) {
		while (b - a > 1) { /* L(a) > cut >= L(b) */
			m = floor((a + b) / 2);
			if (hyper_log(m, s, dn, dN) > cut)
				a = m;
			else
				b = m;
		}
		b = a;
	}
	*hi = b / dN;
	return 0;
}
