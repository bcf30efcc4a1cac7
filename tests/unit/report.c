/* report.c - unit tests of lib/report.c: P(best) against exact two-arm
 * values, the empirical Bernstein interval, the paired bootstrap and the
 * exact McNemar test against hand-computed examples, cost. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/pb.h"
#include "tap.h"

static double
lbeta(double a, double b)
{
	return lgamma(a) + lgamma(b) - lgamma(a + b);
}

/* P(Y > X) for X ~ Beta(a1, b1), Y ~ Beta(a2, b2), a2 an integer: the
 * closed form sum_{i<a2} B(a1+i, b1+b2) / ((b2+i) B(1+i, b2) B(a1, b1)). */
static double
beta_beats(double a1, double b1, double a2, double b2)
{
	double p = 0;
	int i;

	for (i = 0; i < (int)a2; i++)
		p += exp(lbeta(a1 + i, b1 + b2) - log(b2 + i) - lbeta(1 + i, b2) -
		         lbeta(a1, b1));
	return p;
}

static struct pb_stats
binary(long n, long wins)
{
	struct pb_stats s = { n, (double)wins, (double)wins, 0 };
	return s;
}

int
main(void)
{
	struct pb_stats s[3], t;
	double p[3], lo, hi, lo2, hi2, exact, se;
	const char *name;

	/* P(best), two Beta arms: 7/10 against 4/10 */
	s[0] = binary(10, 7);
	s[1] = binary(10, 4);
	exact = beta_beats(5, 7, 8, 4); /* Beta(8,4) beats Beta(5,7) */
	ok(pb_prob_best(s, 2, 200000, 1, p) == 0, "pb_prob_best runs");
	se = sqrt(exact * (1 - exact) / 200000);
	is_num(p[0], exact, 4 * se, "P(best) of 7/10 vs 4/10 is the exact %.5f", exact);
	is_num(p[0] + p[1], 1, 1e-12, "the probabilities add up to 1");
	is_num(beta_beats(1, 1, 1, 1), 0.5, 1e-12, "(the closed form: two uniform arms tie)");

	/* unequal counts and a third, hopeless arm */
	s[0] = binary(40, 30);
	s[1] = binary(8, 7);
	s[2] = binary(200, 2);
	exact = beta_beats(31, 11, 8, 2);
	ok(pb_prob_best(s, 3, 200000, 7, p) == 0, "three arms");
	is_num(p[1], exact, 4 * sqrt(exact * (1 - exact) / 200000),
	       "P(best) of 7/8 against 30/40 is the exact %.5f", exact);
	is_num(p[2], 0, 1e-12, "an arm at 2/200 is never best");

	/* Gaussian arms: P = Phi((m1 - m2) / sqrt(v1/n1 + v2/n2)) */
	s[0] = (struct pb_stats){ 100, 60, 100 * (0.09 * 99 / 100 + 0.36), 100 };
	s[1] = (struct pb_stats){ 100, 55, 100 * (0.09 * 99 / 100 + 0.3025), 100 };
	exact = 0.5 * erfc(-(0.05 / sqrt(0.09 / 100 + 0.09 / 100)) / sqrt(2));
	ok(pb_prob_best(s, 2, 200000, 3, p) == 0, "two arms with rewards in [0,1]");
	is_num(pb_stats_var(&s[0]), 0.09, 1e-9, "(variance 0.09)");
	is_num(p[0], exact, 4 * sqrt(exact * (1 - exact) / 200000),
	       "P(best) of normal posteriors is Phi(d / se) = %.5f", exact);
	ok(pb_prob_best(s, 2, 0, 3, p) < 0, "no draws is an error");

	/* the grid (a large pool's P(best), no draws) against the same
	 * closed forms, to 1e-4 */
	s[0] = binary(10, 7);
	s[1] = binary(10, 4);
	ok(pb_prob_best_grid(s, 2, p) == 0, "pb_prob_best_grid runs");
	is_num(p[0], beta_beats(5, 7, 8, 4), 1e-4, "grid: 7/10 vs 4/10 is the exact %.5f",
	       beta_beats(5, 7, 8, 4));
	is_num(p[0] + p[1], 1, 1e-12, "grid: the probabilities add up to 1");
	s[0] = binary(40, 30);
	s[1] = binary(8, 7);
	s[2] = binary(200, 2);
	ok(pb_prob_best_grid(s, 3, p) == 0, "grid: three arms");
	is_num(p[1], beta_beats(31, 11, 8, 2), 1e-4, "grid: 7/8 against 30/40 is the exact %.5f",
	       beta_beats(31, 11, 8, 2));
	is_num(p[2], 0, 1e-9, "grid: an arm at 2/200 is never best");
	s[0] = (struct pb_stats){ 100, 60, 100 * (0.09 * 99 / 100 + 0.36), 100 };
	s[1] = (struct pb_stats){ 100, 55, 100 * (0.09 * 99 / 100 + 0.3025), 100 };
	exact = 0.5 * erfc(-(0.05 / sqrt(0.09 / 100 + 0.09 / 100)) / sqrt(2));
	ok(pb_prob_best_grid(s, 2, p) == 0, "grid: normal posteriors");
	is_num(p[0], exact, 1e-4, "grid: normal posteriors give Phi(d / se) = %.5f", exact);
	{
		/* a narrow normal (a million rewards at 0.6, sd 0.0005, about
		 * one grid cell) beside a Beta(3, 1) arm and 3,000 arms of
		 * Beta(1, 11) sharing one posterior: the narrow arm is best
		 * when all the others are below 0.6, P = 0.6^3 (1 - 0.4^11)^3000
		 * (its own spread moves that by less than 1e-5) */
		size_t n = 3002, i;
		struct pb_stats *big = calloc(n, sizeof *big);
		double *q = calloc(n, sizeof *q), lo3 = 1, hi3 = 0;
		big[0] = (struct pb_stats){ 1000000, 600000, 1000000 * (0.24 + 0.36), 1000000 };
		big[1] = binary(2, 2);
		for (i = 2; i < n; i++)
			big[i] = binary(10, 0);
		ok(pb_prob_best_grid(big, n, q) == 0, "grid: 3,002 arms");
		for (i = 2; i < n; i++) {
			lo3 = q[i] < lo3 ? q[i] : lo3;
			hi3 = q[i] > hi3 ? q[i] : hi3;
		}
		ok(hi3 == lo3, "grid: arms with the same posterior get the same P(best)");
		exact = pow(0.6, 3) * pow(1 - pow(0.4, 11), 3000);
		is_num(q[0], exact, 1e-3, "grid: a narrow normal among 3,002 arms: %.4f", exact);
		is_num(q[0] + q[1] + hi3 * (double)(n - 2), 1, 1e-9, "grid: 3,002 arms add up to 1");
		free(big);
		free(q);
	}

	/* same seed, same numbers */
	s[0] = binary(5, 3);
	s[1] = binary(5, 2);
	pb_prob_best(s, 2, 1000, 9, p);
	lo = p[0];
	pb_prob_best(s, 2, 1000, 9, p);
	is_num(p[0], lo, 0, "P(best) is reproducible with a fixed seed");

	/* empirical Bernstein (values computed by hand, see the formula) */
	t = binary(1000, 500);
	pb_eb_ci(&t, 0.05, &lo, &hi);
	is_num(lo, 0.4429333533, 1e-9, "Bernstein 500/1000: low");
	is_num(hi, 0.5570666467, 1e-9, "Bernstein 500/1000: high");
	t = (struct pb_stats){ 50, 30, 22.5, 50 };
	pb_report_ci(&t, 0.05, "bernstein", &lo, &hi, &name);
	is_num(lo, 0.2644571632, 1e-9, "Bernstein, nonbinary rewards: low");
	is_num(hi, 0.9355428368, 1e-9, "Bernstein, nonbinary rewards: high");
	is_str(name, "bernstein", "named");
	t = binary(1, 1);
	pb_eb_ci(&t, 0.05, &lo, &hi);
	ok(lo == 0 && hi == 1, "Bernstein with one reward is [0,1]");
	t = binary(10, 5);
	pb_report_ci(&t, 0.05, "auto", &lo, &hi, &name);
	is_str(name, "wilson", "auto: Wilson for 0/1 rewards");
	is_num(lo, 0.236593, 1e-6, "the Wilson interval of 5/10");
	pb_report_ci(&t, 0.05, "bernstein", &lo2, &hi2, &name);
	ok(lo2 < lo && hi2 > hi, "Bernstein is wider than Wilson");
	pb_report_ci(&t, 0.05, "anytime", &lo2, &hi2, &name);
	is_str(name, "anytime", "anytime: named");
	ok(lo2 < lo && hi2 > hi && lo2 < 0.5 && hi2 > 0.5,
	   "anytime holds the mean and is wider than Wilson");
	{
		double l3, h3;
		pb_mix_bounds(t.sum, (double)t.n, 0.05, &l3, &h3);
		ok(l3 == lo2 && h3 == hi2, "anytime is the Jeffreys mixture bound");
	}
	/* Equal graded rewards: Student t has no variance to go on. */
	t = (struct pb_stats){ 0 };
	pb_stats_add(&t, 0.5);
	pb_stats_add(&t, 0.5);
	pb_report_ci(&t, 0.05, "auto", &lo, &hi, &name);
	ok(!strcmp(name, "bernstein") && hi - lo > 0.5,
	   "two equal graded rewards: not a zero-width t interval (%s [%g, %g])",
	   name, lo, hi);
	t = (struct pb_stats){ 0 };
	pb_stats_add(&t, 0.25);
	pb_stats_add(&t, 0.75);
	pb_report_ci(&t, 0.05, "auto", &lo, &hi, &name);
	is_str(name, "t", "graded rewards with a variance keep Student t");
	/* Time-uniform coverage: the anytime interval covers the true mean at
	 * every one of 400 steps at once in >= 95% of runs, where the
	 * fixed-sample Wilson interval, looked at after every reward, does
	 * not (the reason it is not the default beside a stopping rule). */
	{
		struct pb_rng r;
		int run, step, miss_any = 0, miss_wilson = 0, runs = 400;
		pb_rng_seed(&r, 11);
		for (run = 0; run < runs; run++) {
			struct pb_stats u = { 0 };
			int bad = 0, badw = 0;
			for (step = 0; step < 400; step++) {
				double a, b;
				pb_stats_add(&u, pb_rng_uniform(&r) < 0.3 ? 1 : 0);
				pb_report_ci(&u, 0.05, "anytime", &a, &b, &name);
				bad |= !(a <= 0.3 && 0.3 <= b);
				pb_report_ci(&u, 0.05, "auto", &a, &b, &name);
				badw |= !(a <= 0.3 && 0.3 <= b);
			}
			miss_any += bad;
			miss_wilson += badw;
		}
		ok(miss_any <= runs * 5 / 100,
		   "anytime: %d of %d runs ever missed 0.3 (at most 5%%)", miss_any, runs);
		ok(miss_wilson > runs * 5 / 100,
		   "Wilson looked at every step: %d of %d runs missed (more than 5%%)",
		   miss_wilson, runs);
	}

	/* joint P(best): two arms 0.1 apart with sd 0.1 each; drawn apart,
	 * Phi(0.1 / sqrt(0.02)) = 0.760; on shared tasks with correlation
	 * 0.9 the difference has sd sqrt(0.002), Phi(2.236) = 0.987 */
	{
		double mu[2] = { 0.6, 0.5 }, ind[4] = { 0.01, 0, 0, 0.01 },
		       cor[4] = { 0.01, 0.009, 0.009, 0.01 },
		       bad[9] = { 1, 1, -1, 1, 1, 1, -1, 1, 1 }, pj[3], m3[3] = { 0, 0, 0 };
		ok(pb_prob_best_joint(mu, ind, 2, 40000, 3, pj) == 0, "joint P(best) runs");
		is_num(pj[0], 0.760, 0.01, "independent arms: Phi(0.707)");
		pb_prob_best_joint(mu, cor, 2, 40000, 3, pj);
		is_num(pj[0], 0.987, 0.005, "correlated through shared tasks: Phi(2.236)");
		ok(pb_prob_best_joint(mu, cor, 2, 0, 3, pj) < 0, "no draws: an error");
		/* correlations that cannot fit together: a ridge makes it work */
		ok(pb_prob_best_joint(m3, bad, 3, 3000, 3, pj) == 0 &&
		   fabs(pj[0] + pj[1] + pj[2] - 1) < 1e-12 && pj[0] > 0.2 && pj[2] > 0.2,
		   "a covariance that is not positive definite still gives P(best)");
	}

	/* exact McNemar */
	is_num(pb_mcnemar_exact(1, 6), 0.125, 1e-12, "McNemar b=1 c=6: 2 (1+7)/128");
	is_num(pb_mcnemar_exact(6, 1), 0.125, 1e-12, "symmetric");
	is_num(pb_mcnemar_exact(2, 8), 0.109375, 1e-12, "McNemar b=2 c=8: 2 (1+10+45)/1024");
	is_num(pb_mcnemar_exact(0, 10), 2.0 / 1024, 1e-15, "McNemar b=0 c=10");
	is_num(pb_mcnemar_exact(5, 5), 1, 0, "a balanced table gives 1");
	is_num(pb_mcnemar_exact(0, 0), 1, 0, "no discordant pairs gives 1");
	ok(pb_mcnemar_exact(100, 160) > 0 && pb_mcnemar_exact(100, 160) < 0.001,
	   "large tables do not underflow");

	/* paired bootstrap */
	{
		double same[5] = { 1, 1, 1, 1, 1 }, two[2] = { 1, 0 }, d[10] = { 1, 1, 1, -1 },
		       m[5], h;
		struct pb_rng r;
		int b, j;

		ok(pb_boot_mean_ci(same, 5, 1000, 0.05, 1, &lo, &hi) == 0 &&
		   lo == 1 && hi == 1, "all differences 1: [1, 1]");
		pb_boot_mean_ci(two, 2, 4000, 0.05, 1, &lo, &hi);
		ok(lo == 0 && hi == 1, "{1, 0}: means 0, 1/2, 1 at 1/4, 1/2, 1/4, so [0, 1]");
		pb_boot_mean_ci(two, 2, 4000, 0.6, 1, &lo, &hi);
		ok(lo == 0.5 && hi == 0.5, "... and its 40%% interval is [1/2, 1/2]");
		pb_boot_mean_ci(d, 10, 4000, 0.05, 5, &lo, &hi);
		pb_boot_mean_ci(d, 10, 4000, 0.05, 5, &lo2, &hi2);
		ok(lo == lo2 && hi == hi2, "a fixed seed gives the same interval");
		/* by hand: five resamples of d with the same draws, sorted;
		 * 2.5% sits at 0.1 of the way from the 1st to the 2nd */
		pb_rng_seed(&r, 5);
		for (b = 0; b < 5; b++) {
			m[b] = 0;
			for (j = 0; j < 10; j++)
				m[b] += d[pb_rng_below(&r, 10)] / 10;
		}
		for (b = 1; b < 5; b++)
			for (j = b; j > 0 && m[j - 1] > m[j]; j--) {
				h = m[j];
				m[j] = m[j - 1];
				m[j - 1] = h;
			}
		pb_boot_mean_ci(d, 10, 5, 0.05, 5, &lo, &hi);
		is_num(lo, m[0] + 0.1 * (m[1] - m[0]), 1e-12, "B=5: low is type-7 quantile 0.025");
		is_num(hi, m[3] + 0.9 * (m[4] - m[3]), 1e-12, "B=5: high is type-7 quantile 0.975");
		/* the spread matches the standard error of the mean */
		pb_boot_mean_ci(d, 10, 20000, 0.3173, 2, &lo, &hi);
		se = sqrt((0.4 - 0.04) / 10); /* population variance of d / n */
		is_num((hi - lo) / 2, se, 0.25 * se, "68%% half-width near the standard error %.3f", se);
		pb_boot_mean_ci(d, 0, 100, 0.05, 1, &lo, &hi);
		ok(isnan(lo) && isnan(hi), "no pairs: no interval");
		ok(pb_boot_mean_ci(d, 10, 1, 0.05, 1, &lo, &hi) < 0, "one resample is an error");
	}

	is_num(pb_cost(1e6, 5e5, 3, 15), 10.5, 1e-12, "cost: 1M in at $3/M, 0.5M out at $15/M");
	return tap_done();
}
