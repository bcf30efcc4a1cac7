/* stats.c - unit tests: intervals and quantiles against known values. */
#include <math.h>
#include "../../lib/pb.h"
#include "tap.h"

static struct pb_stats
binary(long n, long k)
{
	struct pb_stats s = { 0 };
	long i;

	for (i = 0; i < n; i++)
		pb_stats_add(&s, i < k ? 1 : 0);
	return s;
}

int
main(void)
{
	struct pb_stats s = { 0 };
	double lo, hi;
	const char *m;

	is_num(pb_normal_quantile(0.975), 1.959963985, 1e-8, "z(0.975)");
	is_num(pb_normal_quantile(0.5), 0, 1e-12, "z(0.5)");
	is_num(pb_normal_quantile(0.005), -2.575829304, 1e-8, "z(0.005)");
	is_num(pb_t_quantile(0.975, 10), 2.228138852, 1e-7, "t(0.975, 10)");
	is_num(pb_t_quantile(0.975, 1), 12.70620474, 1e-5, "t(0.975, 1)");
	is_num(pb_t_quantile(0.95, 30), 1.697260887, 1e-7, "t(0.95, 30)");
	is_num(pb_t_quantile(0.025, 5), -2.570581836, 1e-7, "t(0.025, 5)");
	/* Far tails: one and two degrees of freedom have closed forms,
	 * tan(pi (p - 1/2)) and (2p - 1) / sqrt(2 p (1 - p)). */
	is_num(pb_t_quantile(0.9995, 1), 636.6192488, 1e-4, "t(0.9995, 1)");
	is_num(pb_t_quantile(0.99995, 1), 6366.197723, 1e-2, "t(0.99995, 1) = 6,366, not capped at 1,000");
	is_num(pb_t_quantile(0.000005, 1), -63661.97724, 1, "t(0.000005, 1) = -63,662");
	is_num(pb_t_quantile(0.99995, 2), 99.99249972, 1e-5, "t(0.99995, 2)");
	is_num(pb_t_quantile(0.9995, 3), 12.92397863, 1e-6, "t(0.9995, 3)");
	is_num(pb_normal_quantile(1e-12), -7.034483825, 1e-7, "z(1e-12)");

	s = binary(10, 5);
	pb_stats_ci(&s, 0.05, &lo, &hi, &m);
	is_str(m, "wilson", "0/1 rewards use the Wilson interval");
	is_num(lo, 0.2365930905, 1e-7, "Wilson 5/10 low");
	is_num(hi, 0.7634069095, 1e-7, "Wilson 5/10 high");
	s = binary(10, 0);
	pb_stats_ci(&s, 0.05, &lo, &hi, &m);
	ok(lo == 0, "Wilson 0/10 low is 0 exactly");
	is_num(hi, 0.2775327998, 1e-7, "Wilson 0/10 high");
	s = binary(100, 81);
	pb_stats_ci(&s, 0.05, &lo, &hi, &m);
	is_num(lo, 0.7222, 1e-4, "Wilson 81/100 low");
	is_num(hi, 0.8749, 1e-4, "Wilson 81/100 high");
	s = binary(0, 0);
	pb_stats_ci(&s, 0.05, &lo, &hi, &m);
	ok(lo == 0 && hi == 1, "no pulls: the interval is [0,1]");

	memset(&s, 0, sizeof s);
	pb_stats_add(&s, 0.2);
	pb_stats_add(&s, 0.4);
	pb_stats_add(&s, 0.6);
	pb_stats_add(&s, 0.8);
	pb_stats_ci(&s, 0.05, &lo, &hi, &m);
	is_str(m, "t", "fractional rewards use Student's t");
	is_num(pb_stats_mean(&s), 0.5, 1e-12, "mean");
	is_num(pb_stats_var(&s), 0.0666666667, 1e-9, "sample variance");
	/* 0.5 -/+ t(0.975,3) * sqrt(0.0666667/4) = 0.5 -/+ 3.182446*0.1290994 */
	is_num(lo, 0.0891480, 1e-6, "t interval low");
	is_num(hi, 0.9108520, 1e-6, "t interval high");
	ok(s.nonbinary == 4, "fractional rewards counted as non-binary");
	/* Sampling without replacement from a pool of N tasks. */
	ok(pb_wor_bounds(70, 200, 200, 0.05, &lo, &hi) == 0 && lo == 0.35 && hi == 0.35,
	   "every task of the pool seen: the pool's mean exactly");
	ok(pb_wor_bounds(0, 0, 200, 0.05, &lo, &hi) == 0 && lo == 0 && hi == 1,
	   "none seen: [0, 1]");
	ok(pb_wor_bounds(3, 2, 10, 0.05, &lo, &hi) < 0, "more ones than draws: an error");
	ok(pb_wor_bounds(1, 11, 10, 0.05, &lo, &hi) < 0, "more draws than tasks: an error");

	{
		double l2, h2;
		pb_wor_bounds(150, 190, 200, 0.05, &lo, &hi);
		/* 150 of 190 seen: at most 10 unseen, so K in [150, 160] */
		ok(lo >= 0.75 && hi <= 0.80 && lo < hi,
		   "near the end of the pool: inside [150, 160] / 200 ([%g, %g])", lo, hi);
		pb_wor_bounds(7, 10, 100000, 0.05, &lo, &hi);
		/* a huge pool: no narrower than the population's interval */
		pb_mix_bounds(7, 10, 0.05, &l2, &h2);
		ok(lo < 0.7 && hi > 0.7 && hi - lo > 0.5 * (h2 - l2),
		   "a huge pool behaves like the population ([%g, %g])", lo, hi);
	}
	/* Coverage at every n at once: 400 random orders of a pool of 200
	 * tasks with 70 ones; the interval must hold the pool mean 0.35 at
	 * all 200 looks in >= 95% of runs. */
	{
		struct pb_rng r;
		int pool[200], run, i, j, t, miss = 0, runs = 400;
		long n;
		double sum;
		pb_rng_seed(&r, 5);
		for (run = 0; run < runs; run++) {
			int bad = 0;
			for (i = 0; i < 200; i++)
				pool[i] = i < 70;
			for (i = 199; i > 0; i--) {
				j = (int)pb_rng_below(&r, (uint64_t)i + 1);
				t = pool[i], pool[i] = pool[j], pool[j] = t;
			}
			for (n = 1, sum = 0; n <= 200; n++) {
				sum += pool[n - 1];
				pb_wor_bounds(sum, n, 200, 0.05, &lo, &hi);
				bad |= !(lo <= 0.35 && 0.35 <= hi);
			}
			miss += bad;
		}
		ok(miss <= runs * 5 / 100,
		   "without replacement: %d of %d runs ever missed the pool mean", miss, runs);
	}
	return tap_done();
}
