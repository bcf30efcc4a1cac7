/* report.h - fragment for lib/pb.h (the lead merges it): the statistics
 * pb-report shows beyond pb_stats_ci.  Include after pb.h. */
#ifndef PB_REPORT_H
#define PB_REPORT_H

#include "pb.h"

/* ===================================================================== */
/* report.c: P(best), empirical Bernstein, paired bootstrap, McNemar     */
/* ===================================================================== */

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
int pb_prob_best(const struct pb_stats *s, size_t k, long draws,
                 uint64_t seed, double *p);

/* The empirical Bernstein interval of Maurer and Pontil (2009) for the
 * mean of rewards in [0,1], two-sided at level 1 - alpha: with v the
 * sample variance (divisor n - 1) and L = ln(4 / alpha),
 *     mean -+ (sqrt(2 v L / n) + 7 L / (3 (n - 1))),
 * clipped to [0,1].  It holds for any distribution on [0,1], not only
 * in the limit, at the price of being wider than Student's t.  Fewer
 * than two rewards give [0,1]. */
void pb_eb_ci(const struct pb_stats *s, double alpha, double *lo, double *hi);

/* The interval pb-report shows: method "auto" is pb_stats_ci (Wilson
 * for 0/1 rewards, Student t otherwise), "bernstein" pb_eb_ci.  *name
 * receives a static name: "wilson", "t" or "bernstein". */
void pb_report_ci(const struct pb_stats *s, double alpha, const char *method,
                  double *lo, double *hi, const char **name);

/* The percentile bootstrap interval for the mean of d[0..n) (for paired
 * data, the per-task differences), two-sided at level 1 - alpha: B
 * resamples of n values drawn with replacement (pb_rng_below, seeded
 * with seed), their means sorted, and the alpha/2 and 1 - alpha/2
 * quantiles taken by linear interpolation between order statistics
 * (Hyndman and Fan's type 7: position q (B - 1), 0-based).  n == 0
 * gives NAN.  Returns 0, or -1 out of memory or B < 2. */
int pb_boot_mean_ci(const double *d, size_t n, long B, double alpha,
                    uint64_t seed, double *lo, double *hi);

/* The exact two-sided McNemar test of b against c discordant pairs (the
 * binomial sign test of b successes in b + c trials at 1/2):
 *     p = min(1, 2 sum_{i=0}^{min(b,c)} C(b+c, i) / 2^(b+c)),
 * and 1 when b + c = 0. */
double pb_mcnemar_exact(long b, long c);

/* Dollars for in_tok input and out_tok output tokens at the given
 * prices in dollars per million tokens of each kind. */
double pb_cost(double in_tok, double out_tok, double usd_in_m, double usd_out_m);

#endif
