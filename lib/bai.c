/* bai.c - best-arm identification: anytime confidence bounds from the
 * Jeffreys mixture martingale, the GLR stopping rule built on them, the
 * eps-good set, paired statistics with a sign test, racing, and the
 * characteristic time T*(mu) of the lower bound.  The reasoning behind
 * each bound is in bai.h and pb-update(1). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bandit.h"

static const double LOG_PI = 1.1447298858494002; /* log B(1/2, 1/2) */

/* x log y with 0 log 0 = 0. */
static double
xlogy(double x, double y)
{
	return x == 0 ? 0 : x * log(y);
}

static double
lbeta(double a, double b)
{
	return lgamma(a) + lgamma(b) - lgamma(a + b);
}

double
pb_kl_bern(double p, double q)
{
	const double e = 1e-15;

	q = q < e ? e : q > 1 - e ? 1 - e : q;
	return xlogy(p, p / q) + xlogy(1 - p, (1 - p) / (1 - q));
}

double
pb_mix_log(double s, double n, double q)
{
	double f = n - s > 0 ? n - s : 0;

	if ((s > 0 && q <= 0) || (f > 0 && q >= 1))
		return INFINITY;
	return lbeta(s + 0.5, f + 0.5) - LOG_PI - xlogy(s, q) - xlogy(f, 1 - q);
}

/* Newton's method from the far side of the root: kl(m, .) is convex
 * and monotone on each side of m, so the iterates close in on the root
 * without overshooting.  Pinsker's inequality (kl >= 2 (q - m)^2) puts
 * m +- sqrt(level / 2) beyond it. */
double
pb_kl_bound(double m, double level, int up)
{
	const double e = 1e-15;
	double q, f, g, step;
	int i;

	if (level <= 0)
		return m;
	if (up ? pb_kl_bern(m, 1) <= level : pb_kl_bern(m, 0) <= level)
		return up ? 1 : 0;
	q = up ? m + sqrt(level / 2) : m - sqrt(level / 2);
	if (q > 1 - e)
		q = 1 - e;
	if (q < e)
		q = e;
	for (i = 0; i < 100; i++) {
		f = pb_kl_bern(m, q) - level;
		g = (q - m) / (q * (1 - q)); /* d kl(m, q) / dq */
		if (g == 0)
			break;
		step = f / g;
		q -= step;
		if (q > 1 - e)
			q = 1 - e;
		if (q < e)
			q = e;
		if (fabs(step) < 1e-14)
			break;
	}
	return q;
}

void
pb_mix_bounds(double s, double n, double d, double *lo, double *hi)
{
	double m, base, level;

	if (n <= 0) {
		*lo = 0;
		*hi = 1;
		return;
	}
	/* log M(q) = log M(m) + n kl(m, q), and log M(m) <= 0. */
	m = s / n;
	base = pb_mix_log(s, n, m);
	level = (log(1 / d) - base) / n;
	*lo = pb_kl_bound(m, level, 0);
	*hi = pb_kl_bound(m, level, 1);
}

/* Evidence that arm a is better than arm b: the generalised likelihood
 * ratio with each arm's likelihood replaced by its Jeffreys mixture,
 *
 *   Z(a,b) = inf over la <= lb of log M_a(la) + log M_b(lb)
 *          = log M_a(m) + log M_b(m),  m = (S_a + S_b) / (n_a + n_b),
 *
 * when a's mean is above b's; otherwise the value at the two means
 * (<= 0).  0 when either arm has no rewards. */
double
pb_glr_z(const struct pb_stats *a, const struct pb_stats *b)
{
	double na = (double)a->n, nb = (double)b->n, ma, mb, m;

	if (a->n <= 0 || b->n <= 0)
		return 0;
	ma = a->sum / na;
	mb = b->sum / nb;
	m = ma > mb ? (a->sum + b->sum) / (na + nb) : NAN;
	return pb_mix_log(a->sum, na, ma > mb ? m : ma) +
	       pb_mix_log(b->sum, nb, ma > mb ? m : mb);
}

/* The threshold of the stopping rule for k arms at error probability
 * delta: log((k - 1) / delta) (log(1/delta) for one arm).  If the
 * empirical best arm a has Z(a,b) >= this for every other arm b, then a
 * is a best arm, with probability >= 1 - delta over the whole run.  Fix
 * a best arm *.  A wrong a needs Z(a,*) >= log((k-1)/delta), hence
 * M_a(mu_a) M_*(mu_*) >= (k-1)/delta: the true means satisfy the
 * constraint la <= l*, so the infimum in Z is at most the value there,
 * and the product of the two arms' Jeffreys mixtures, each a nonnegative
 * martingale in its own arm's pulls, is a nonnegative martingale however
 * the pulls are chosen.  By Ville's inequality each of the k - 1
 * candidates a != * crosses with probability <= delta/(k-1), and the
 * union over them gives delta.  (Until issue 15 the threshold was
 * log(k/delta), a union over k candidates that one of them, * itself,
 * never needs.) */
double
pb_glr_threshold(size_t k, double delta)
{
	return log((double)(k > 1 ? k - 1 : 1) / delta);
}

int
pb_glr_leader(const struct pb_state *st)
{
	int best = -1;
	double bm = 0, m;
	size_t i;

	for (i = 0; i < st->narms; i++) {
		const struct pb_stats *s = &st->arms[i].st;
		if (s->n <= 0)
			continue;
		m = pb_stats_mean(s);
		if (best < 0 || m > bm || (m == bm && s->n > st->arms[best].st.n)) {
			best = (int)i;
			bm = m;
		}
	}
	return best;
}

int
pb_glr_stop(const struct pb_state *st, double delta, int *best,
            unsigned char *open)
{
	double thr = pb_glr_threshold(st->narms, delta);
	int lead = pb_glr_leader(st), done;
	size_t i;

	if (st->narms == 1) {
		*best = 0;
		if (open)
			open[0] = 0;
		return 1;
	}
	*best = lead;
	done = lead >= 0;
	for (i = 0; i < st->narms; i++) {
		int o = 0;
		if ((int)i == lead)
			;
		else if (lead < 0 || st->arms[i].st.n == 0)
			o = 1;
		else
			o = !(pb_glr_z(&st->arms[lead].st, &st->arms[i].st) >= thr);
		if (o)
			done = 0;
		if (open)
			open[i] = (unsigned char)o;
	}
	return done;
}

/* The box rule (LUCB's own): stop when the leader's lower bound is above
 * every other arm's upper bound, the bounds being pb_mix_bounds at
 * delta / k.  Every interval holds with probability >= 1 - delta, and
 * then the declared arm is a best arm.  Weaker than pb_glr_stop when the
 * arms have had similar numbers of pulls, stronger when the leader has
 * had many more (each arm pays only its own (1/2) log n).  Arguments as
 * for pb_glr_stop. */
int
pb_box_stop(const struct pb_state *st, double delta, int *best,
            unsigned char *open)
{
	double d = delta / (double)st->narms, lo, hi, llo = 0;
	int lead = pb_glr_leader(st), done;
	size_t i;

	*best = st->narms == 1 ? 0 : lead;
	if (st->narms == 1 || lead < 0) {
		for (i = 0; open && i < st->narms; i++)
			open[i] = st->narms > 1;
		return st->narms == 1;
	}
	pb_mix_bounds(st->arms[lead].st.sum, (double)st->arms[lead].st.n, d,
	              &llo, &hi);
	done = 1;
	for (i = 0; i < st->narms; i++) {
		int o = 0;
		if ((int)i != lead) {
			pb_mix_bounds(st->arms[i].st.sum, (double)st->arms[i].st.n, d,
			              &lo, &hi);
			o = !(hi < llo);
		}
		done &= !o;
		if (open)
			open[i] = (unsigned char)o;
	}
	return done;
}

size_t
pb_eps_good(const struct pb_state *st, double delta, double eps,
            unsigned char *in)
{
	double d = delta / (double)st->narms, maxlo = 0, lo, hi;
	double *up = malloc(st->narms * sizeof *up);
	size_t i, n = 0;

	for (i = 0; i < st->narms; i++) {
		const struct pb_stats *s = &st->arms[i].st;
		pb_mix_bounds(s->sum, (double)s->n, d, &lo, &hi);
		if (lo > maxlo)
			maxlo = lo;
		if (up)
			up[i] = hi;
		else
			in[i] = 1; /* out of memory: claim nothing */
	}
	for (i = 0; i < st->narms; i++) {
		if (up)
			in[i] = up[i] >= maxlo - eps;
		n += in[i];
	}
	free(up);
	return n;
}

/* ---------------------------------------------------------------- pairs */

/* log of the grid mixture, over the bets lam_m, of the wealth of w
 * tasks with d = 1, l with d = -1 and fractional d's of sum fs and sum
 * of squares fq (pb.h). */
static double
pair_logm(double w, double l, double fs, double fq)
{
	double v[PB_PAIR_GRID], mx = -INFINITY, sum = 0, lam;
	int m;

	for (m = 0; m < PB_PAIR_GRID; m++) {
		lam = 0.5 * pow(2, -m / 2.0);
		v[m] = w * log1p(lam) + l * log1p(-lam);
		if (fq > 0)
			v[m] += lam * fs + (log1p(-lam) + lam) * fq;
		if (v[m] > mx)
			mx = v[m];
	}
	for (m = 0; m < PB_PAIR_GRID; m++)
		sum += exp(v[m] - mx);
	return mx + log(sum / PB_PAIR_GRID);
}

/* One task's difference d = r_o - r_x in [-1,1] into the PB_PAIR_GRID
 * log-wealths lw of the bets lam_m on "o beats x" (pb_pair_evidence's
 * grid and Fan's bound for a fractional d), and the log of their
 * equal-weight mixture: the race's knock-out e-process (policy-budget.c). */
void
pb_bets_add(double *lw, double d)
{
	double lam;
	int m;

	if (d == 0)
		return;
	for (m = 0; m < PB_PAIR_GRID; m++) {
		lam = 0.5 * pow(2, -m / 2.0);
		if (d == 1 || d == -1)
			lw[m] += log1p(lam * d);
		else
			lw[m] += lam * d + (log1p(-lam) + lam) * d * d;
	}
}

double
pb_bets_logm(const double *lw)
{
	double mx = -INFINITY, sum = 0;
	int m;

	for (m = 0; m < PB_PAIR_GRID; m++)
		if (lw[m] > mx)
			mx = lw[m];
	for (m = 0; m < PB_PAIR_GRID; m++)
		sum += exp(lw[m] - mx);
	return mx + log(sum / PB_PAIR_GRID);
}

void
pb_pair_refresh(struct pb_pair *p)
{
	double b1 = (double)(p->b - p->fpos), c1 = (double)(p->c - p->fneg);

	p->lm[0] = pair_logm(b1, c1, p->fsum, p->fsumsq);
	p->lm[1] = pair_logm(c1, b1, -p->fsum, p->fsumsq);
}

void
pb_pair_add(struct pb_pair *p, double ri, double rj)
{
	double d = ri - rj;

	p->n++;
	p->sum += d;
	p->sumsq += d * d;
	if (d > 0)
		p->b++;
	else if (d < 0)
		p->c++;
	if (d != 0 && d != 1 && d != -1) {
		p->fpos += d > 0;
		p->fneg += d < 0;
		p->fsum += d;
		p->fsumsq += d * d;
	}
	if (d != 0)
		pb_pair_refresh(p);
}

/* Evidence that the first arm of the pair has the larger MEAN (second:
 * j_over_i set), as a betting martingale on d in [-1,1] under H0: E[d]
 * <= 0.  For each bet lam the wealth is prod (1 + lam d) over tasks with
 * d = -1, 0, 1 and prod exp(lam d + (log(1 - lam) + lam) d^2) over the
 * others; the second factor is <= 1 + lam d for |d| <= 1 and lam in
 * [0,1) (Fan, Grama and Liu 2015), so the product is a nonnegative
 * supermartingale whatever the rewards.  Its log is
 *     b1 log(1 + lam) + c1 log(1 - lam) + lam S' + (log(1 - lam) + lam) V'
 * with b1 = b - fpos, c1 = c - fneg the tasks with d = 1 and -1 and S',
 * V' = fsum, fsumsq: a few numbers per pair.  For 0/1 rewards this is
 * the sign test's likelihood ratio (2q)^b (2(1 - q))^c at lam = 2q - 1.
 * The equal-weight mixture over the PB_PAIR_GRID bets
 *     lam_m = 2^(-m/2) / 2,  m = 0 .. 7  (q = 0.75, 0.68, ... 0.52)
 * is a supermartingale too, and by Ville's inequality it reaches 1/d
 * with probability <= d, at any time.  Ties leave it alone.  The grid
 * puts the prior where paired prompt comparisons cost calls: win rates
 * between 52% and 75% among discordant tasks (a larger effect is found
 * quickly through lam_0 anyway).  Returns log of the mixture (lm[0] or
 * lm[1]) when the arm's mean difference is positive, else 0. */
double
pb_pair_evidence(const struct pb_pair *p, int j_over_i)
{
	/* the mean difference: for 0/1 rewards its sign is that of b - c */
	double s = (double)(p->b - p->fpos) - (double)(p->c - p->fneg) + p->fsum;

	return (j_over_i ? s < 0 : s > 0) ? p->lm[j_over_i != 0] : 0;
}

/* ----------------------------------------------------------- T*(mu) */

/* g(x) = kl(ma, m) + x kl(mb, m), m = (ma + x mb) / (1 + x): the cost of
 * making b look as good as a with x pulls of b per pull of a.  Returns
 * the x where g(x) = y (g increases from 0 towards kl(ma, mb)). */
static double
x_of_y(double ma, double mb, double y, double *m)
{
	double lo = 0, hi = 1, mid, mm;
	int i;

	for (;;) {
		mm = (ma + hi * mb) / (1 + hi);
		if (pb_kl_bern(ma, mm) + hi * pb_kl_bern(mb, mm) >= y || hi > 1e12)
			break;
		lo = hi;
		hi *= 2;
	}
	for (i = 0; i < 100; i++) {
		mid = (lo + hi) / 2;
		mm = (ma + mid * mb) / (1 + mid);
		if (pb_kl_bern(ma, mm) + mid * pb_kl_bern(mb, mm) < y)
			lo = mid;
		else
			hi = mid;
	}
	mid = (lo + hi) / 2;
	*m = (ma + mid * mb) / (1 + mid);
	return mid;
}

/* F(y) = sum over b of kl(ma, m_b) / kl(mb, m_b); the optimal y has
 * F(y) = 1.  xs receives the x_b. */
static double
big_f(const double *mu, size_t k, size_t a, double y, double *xs)
{
	double f = 0, m;
	size_t b;

	for (b = 0; b < k; b++) {
		if (b == a)
			continue;
		xs[b] = x_of_y(mu[a], mu[b], y, &m);
		f += pb_kl_bern(mu[a], m) / pb_kl_bern(mu[b], m);
	}
	return f;
}

/* The characteristic time T*(mu) of Garivier and Kaufmann (2016) for k
 * Bernoulli arms with a unique best: any delta-correct strategy needs
 * E[pulls] >= T*(mu) kl(delta, 1 - delta) ~ T*(mu) log(1/delta).  w, if
 * not NULL, receives the optimal allocation.  Returns NAN when the best
 * is not unique or a mean is not in (0,1). */
double
pb_char_time(const double *mu, size_t k, double *w)
{
	double *xs, lo = 0, hi = INFINITY, y = 0, sum;
	size_t a = 0, b;
	int i;

	if (k < 2)
		return NAN;
	for (b = 0; b < k; b++) {
		if (!(mu[b] > 0 && mu[b] < 1))
			return NAN;
		if (mu[b] > mu[a])
			a = b;
	}
	for (b = 0; b < k; b++) {
		if (b == a)
			continue;
		if (mu[b] == mu[a])
			return NAN;
		if (pb_kl_bern(mu[a], mu[b]) < hi)
			hi = pb_kl_bern(mu[a], mu[b]);
	}
	if (!(xs = calloc(k, sizeof *xs)))
		return NAN;
	for (i = 0; i < 100; i++) {
		y = (lo + hi) / 2;
		if (big_f(mu, k, a, y, xs) > 1)
			hi = y;
		else
			lo = y;
	}
	big_f(mu, k, a, y, xs);
	sum = 1;
	for (b = 0; b < k; b++)
		if (b != a)
			sum += xs[b];
	if (w)
		for (b = 0; b < k; b++)
			w[b] = b == a ? 1 / sum : xs[b] / sum;
	free(xs);
	return sum / y;
}
