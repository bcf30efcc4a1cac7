/* bai.h - fragment of pb.h, to be merged into it: best-arm
 * identification (lib/bai.c).  Included by lib/policy.c, cmd/pb-report.c,
 * the unit tests and the Monte Carlo bench after pb.h.
 *
 * Every bound here is anytime-valid: it holds simultaneously at every
 * number of pulls, however the pulls were allocated, provided each
 * reward of an arm is a fresh, independent draw (tasks drawn at random).
 * They rest on one object, the Jeffreys mixture martingale of an arm's
 * rewards r_1..r_n in [0,1] with S = sum r, F = n - S:
 *
 *     M_n(q) = B(S + 1/2, F + 1/2) / (B(1/2, 1/2) q^S (1 - q)^F)
 *
 * For rewards of mean q it is a nonnegative supermartingale with
 * M_0 = 1 (a martingale for 0/1 rewards), so by Ville's inequality
 * P(exists n: M_n(q) >= 1/d) <= d.  log M_n(q) is n kl(S/n, q) minus at
 * most (1/2) log n + log 2, so the price of validity at every n is about
 * half a log n, against s log n for a union bound over n with weights
 * 1/(zeta(s) n^s).
 */
#ifndef PB_BAI_H
#define PB_BAI_H

/* ===================================================================== */
/* bai.c: anytime confidence bounds, stopping rules, paired statistics   */
/* ===================================================================== */

/* Bernoulli Kullback-Leibler divergence kl(p, q), p and q in [0,1]. */
double pb_kl_bern(double p, double q);

/* The q on the side of m (up: q >= m, else q <= m) where kl(m, q) =
 * level; 1 or 0 when kl never gets there.  The KL-UCB index is
 * pb_kl_bound(mean, log(t) / n, 1). */
double pb_kl_bound(double m, double level, int up);

/* log M_n(q) above, from the sum s and count n of an arm's rewards. */
double pb_mix_log(double s, double n, double q);

/* The anytime confidence interval {q : log M_n(q) < log(1/d)}: it holds
 * at every n at once with probability >= 1 - d.  n == 0 gives [0,1]. */
void pb_mix_bounds(double s, double n, double d, double *lo, double *hi);

/* Evidence that arm a is better than arm b: the generalised likelihood
 * ratio with each arm's likelihood replaced by its Jeffreys mixture,
 *
 *   Z(a,b) = inf over la <= lb of log M_a(la) + log M_b(lb)
 *          = log M_a(m) + log M_b(m),  m = (S_a + S_b) / (n_a + n_b),
 *
 * when a's mean is above b's; otherwise the value at the two means
 * (<= 0).  0 when either arm has no rewards. */
double pb_glr_z(const struct pb_stats *a, const struct pb_stats *b);

/* The threshold of the stopping rule for k arms at error probability
 * delta: log(k / delta).  If the empirical best arm a has Z(a,b) >= this
 * for every other arm b, then a is a best arm, with probability >= 1 -
 * delta over the whole run: a wrong a needs Z(a,*) >= log(k/delta) for
 * a true best arm *, hence M_a(mu_a) M_*(mu_*) >= k/delta (the true
 * means satisfy the constraint, and the product of two independent
 * arms' mixtures is itself a supermartingale), which has probability <=
 * delta/k for each of the k - 1 candidates a.  With k rather than k - 1
 * the rule also fires with probability <= delta when all arms are equal
 * (then a leader a != 1 needs Z(a,1) high, and a = 1 needs Z(1,2)). */
double pb_glr_threshold(size_t k, double delta);

/* The empirical best arm of st: the largest mean among arms with
 * rewards, ties to the one with more rewards, then the first; -1 if no
 * arm has rewards. */
int pb_glr_leader(const struct pb_state *st);

/* The fixed-confidence stopping rule on st's applied rewards.  Returns 1
 * when every arm has rewards and the leader's Z against every other arm
 * reaches pb_glr_threshold(narms, delta).  *best receives the leader
 * (-1 if none); open, if not NULL, receives per arm 1 if it is not yet
 * separated from the leader (the leader itself: 0).  A single arm is
 * always done. */
int pb_glr_stop(const struct pb_state *st, double delta, int *best,
                unsigned char *open);

/* The box rule (LUCB's own): stop when the leader's lower bound is above
 * every other arm's upper bound, the bounds being pb_mix_bounds at
 * delta / k.  Every interval holds with probability >= 1 - delta, and
 * then the declared arm is a best arm.  Weaker than pb_glr_stop when the
 * arms have had similar numbers of pulls, stronger when the leader has
 * had many more (each arm pays only its own (1/2) log n).  Arguments as
 * for pb_glr_stop. */
int pb_box_stop(const struct pb_state *st, double delta, int *best,
                unsigned char *open);

/* The eps-good set at confidence 1 - delta: arm i is in it unless its
 * anytime upper bound hi_i (pb_mix_bounds at delta / k) is below
 * max_j lo_j - eps.  With probability >= 1 - delta every arm within eps of
 * the best is in the set.  in[i] receives 1 or 0; returns the set's size. */
size_t pb_eps_good(const struct pb_state *st, double delta, double eps,
                   unsigned char *in);

/* ------------------------------------------------------------ paired */

/* Statistics of two arms i < j on the tasks both answered: n tasks, sum
 * and sum of squares of r_i - r_j, and the discordant counts b (r_i >
 * r_j: for 0/1 rewards, i right and j wrong) and c (r_j > r_i). */
struct pb_pair {
	long n;
	double sum, sumsq;
	long b, c;
};

void pb_pair_add(struct pb_pair *p, double ri, double rj);

/* Evidence that the first arm of the pair is better (second: j_over_i
 * set): the sign test on discordant tasks as a mixture martingale.  Of
 * the b + c discordant tasks, each is a win of i with probability p,
 * and "i is no better" means p <= 1/2.  Returns
 *     log(B(b + 1/2, c + 1/2) / B(1/2, 1/2)) + (b + c) log 2
 * = inf over p <= 1/2 of log M(p) when b > c, else 0.  Ville's
 * inequality gives P(ever >= log(1/d)) <= d under p <= 1/2, because
 * concordant tasks leave the martingale alone. */
double pb_pair_evidence(const struct pb_pair *p, int j_over_i);

/* Racing on paired statistics: every surviving arm answers the same
 * task; after each task an arm is eliminated as soon as some other arm
 * beats it with pb_pair_evidence >= log(k / delta).  The best arm is
 * eliminated with probability <= delta (k - 1) / k: k - 1 arms could beat
 * it, each with probability <= delta / k. */
struct pb_race {
	size_t k, nalive;
	struct pb_pair *pair;   /* k (k - 1) / 2 pairs, i < j, see pb_race_pair */
	unsigned char *alive;
	double thr;
	long tasks, calls;
};

int pb_race_init(struct pb_race *r, size_t k, double delta);
void pb_race_free(struct pb_race *r);
struct pb_pair *pb_race_pair(const struct pb_race *r, size_t i, size_t j);

/* Records one task: reward[i] for every alive arm i (others unread).
 * Eliminates the beaten arms; returns how many remain. */
size_t pb_race_task(struct pb_race *r, const double *reward);

/* The last arm standing, or -1 while more than one remain. */
int pb_race_best(const struct pb_race *r);

/* Every arm's chance of getting the next pull (p[0..narms)), as
 * pb_policy_prob gives them one at a time; cheaper for all arms of a
 * randomised policy, which needs a Monte Carlo run.  Returns -1 only if
 * out of memory. */
int pb_policy_probs(const struct pb_state *st, double *p);

/* ------------------------------------------------------- lower bound */

/* The characteristic time T*(mu) of Garivier and Kaufmann (2016) for k
 * Bernoulli arms with a unique best: any delta-correct strategy needs
 * E[pulls] >= T*(mu) kl(delta, 1 - delta) ~ T*(mu) log(1/delta).  w, if
 * not NULL, receives the optimal allocation.  Returns NAN when the best
 * is not unique or a mean is not in (0,1). */
double pb_char_time(const double *mu, size_t k, double *w);

#endif
