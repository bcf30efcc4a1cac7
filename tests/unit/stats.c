/* stats.c - unit tests: intervals and quantiles against known values. */
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
	return tap_done();
}
