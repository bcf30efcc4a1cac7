/* rng.c - xoshiro256** (Blackman and Vigna) seeded by splitmix64, plus the
 * distributions the policies need.  Deterministic across machines, and its
 * four words are saved in the state file. */
#include <math.h>

#include "base.h"

static uint64_t
splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void
pb_rng_seed(struct pb_rng *r, uint64_t seed)
{
	int i;
	for (i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

static uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t
pb_rng_next(struct pb_rng *r)
{
	uint64_t *s = r->s;
	uint64_t out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return out;
}

double
pb_rng_uniform(struct pb_rng *r)
{
	return (double)(pb_rng_next(r) >> 11) * 0x1.0p-53;
}

uint64_t
pb_rng_below(struct pb_rng *r, uint64_t n)
{
	uint64_t x, lim;

	if (n <= 1)
		return 0;
	lim = -n % n; /* 2^64 mod n: reject the biased low values */
	do
		x = pb_rng_next(r);
	while (x < lim);
	return x % n;
}

double
pb_rng_normal(struct pb_rng *r)
{
	double u, v, s;

	do {
		u = 2 * pb_rng_uniform(r) - 1;
		v = 2 * pb_rng_uniform(r) - 1;
		s = u * u + v * v;
	} while (s >= 1 || s == 0);
	return u * sqrt(-2 * log(s) / s);
}

/* Marsaglia and Tsang's method; shape < 1 by the boost U^(1/shape). */
double
pb_rng_gamma(struct pb_rng *r, double shape)
{
	double d, c, x, v, u;

	if (shape < 1) {
		u = pb_rng_uniform(r);
		return pb_rng_gamma(r, shape + 1) * pow(u > 0 ? u : 0x1.0p-53, 1 / shape);
	}
	d = shape - 1.0 / 3;
	c = 1 / sqrt(9 * d);
	for (;;) {
		do {
			x = pb_rng_normal(r);
			v = 1 + c * x;
		} while (v <= 0);
		v = v * v * v;
		u = pb_rng_uniform(r);
		if (u < 1 - 0.0331 * x * x * x * x)
			return d * v;
		if (log(u) < 0.5 * x * x + d * (1 - v + log(v)))
			return d * v;
	}
}

double
pb_rng_beta(struct pb_rng *r, double a, double b)
{
	double x = pb_rng_gamma(r, a), y = pb_rng_gamma(r, b);
	return x + y > 0 ? x / (x + y) : 0.5;
}

uint64_t
pb_hash(const void *p, size_t n, uint64_t seed)
{
	const unsigned char *s = p;
	uint64_t h = 0xcbf29ce484222325ULL ^ seed;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= s[i];
		h *= 0x100000001b3ULL;
	}
	return splitmix64(&h);
}
