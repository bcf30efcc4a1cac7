/* policy.c - arm selection: uniform (round robin), epsilon-greedy, UCB1
 * and Beta-Bernoulli Thompson sampling.  Every policy sees the pulls that
 * were handed out but not yet scored (arm->pending) as if they had been
 * observed at the arm's current mean, so one batch of pulls spreads over
 * the arms instead of all going to the arm that led when it began. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pb.h"

static const char *names[] = {
	[PB_POL_UNIFORM] = "uniform",
	[PB_POL_EPSILON] = "epsilon-greedy",
	[PB_POL_UCB1] = "ucb1",
	[PB_POL_THOMPSON] = "thompson",
};

const char *
pb_policy_name(enum pb_policy_kind k)
{
	return names[k];
}

/* Parses "k=v,k=v" after the colon of a policy spec. */
static int
parse_params(struct pb_policy *p, const char *s, char err[PB_ERRLEN])
{
	char key[32], *end;
	const char *eq, *comma;
	double v;
	size_t n;

	while (*s) {
		eq = strchr(s, '=');
		comma = strchr(s, ',');
		if (!eq || (comma && comma < eq) || (n = (size_t)(eq - s)) >= sizeof key) {
			snprintf(err, PB_ERRLEN, "policy parameter '%s' is not NAME=VALUE", s);
			return -1;
		}
		memcpy(key, s, n);
		key[n] = '\0';
		v = strtod(eq + 1, &end);
		if (end == eq + 1 || (*end && *end != ',') || !isfinite(v)) {
			snprintf(err, PB_ERRLEN, "policy parameter %s: not a number", key);
			return -1;
		}
		if (p->kind == PB_POL_EPSILON && !strcmp(key, "epsilon"))
			p->epsilon = v;
		else if (p->kind == PB_POL_UCB1 && !strcmp(key, "c"))
			p->c = v;
		else if (p->kind == PB_POL_THOMPSON && !strcmp(key, "a"))
			p->a0 = v;
		else if (p->kind == PB_POL_THOMPSON && !strcmp(key, "b"))
			p->b0 = v;
		else {
			snprintf(err, PB_ERRLEN, "policy %s has no parameter '%s'",
			         names[p->kind], key);
			return -1;
		}
		s = *end ? end + 1 : end;
	}
	return 0;
}

int
pb_policy_parse(struct pb_policy *p, const char *spec, char err[PB_ERRLEN])
{
	const char *colon = strchr(spec, ':');
	size_t n = colon ? (size_t)(colon - spec) : strlen(spec);
	size_t k;

	memset(p, 0, sizeof *p);
	p->epsilon = 0.1;
	p->c = 2;
	p->a0 = p->b0 = 1;
	for (k = 0; k < sizeof names / sizeof *names; k++)
		if (strlen(names[k]) == n && !strncmp(spec, names[k], n))
			break;
	if (k == sizeof names / sizeof *names) {
		snprintf(err, PB_ERRLEN, "unknown policy '%.*s' (uniform, "
		         "epsilon-greedy, ucb1, thompson)", (int)n, spec);
		return -1;
	}
	p->kind = (enum pb_policy_kind)k;
	if (colon && parse_params(p, colon + 1, err) < 0)
		return -1;
	return pb_policy_check(p, err);
}

int
pb_policy_check(const struct pb_policy *p, char err[PB_ERRLEN])
{
	if (p->kind == PB_POL_EPSILON && !(p->epsilon >= 0 && p->epsilon <= 1))
		snprintf(err, PB_ERRLEN, "epsilon-greedy: epsilon=%g is not in [0,1]",
		         p->epsilon);
	else if (p->kind == PB_POL_UCB1 && !(p->c >= 0 && isfinite(p->c)))
		snprintf(err, PB_ERRLEN, "ucb1: c=%g is not a number >= 0", p->c);
	else if (p->kind == PB_POL_THOMPSON && !(p->a0 > 0 && p->b0 > 0 &&
	         isfinite(p->a0) && isfinite(p->b0)))
		snprintf(err, PB_ERRLEN, "thompson: a=%g and b=%g must be > 0",
		         p->a0, p->b0);
	else
		return 0;
	return -1;
}

/* Picks uniformly among arms whose score equals the best, so ties do not
 * always favour the first arm in the file. */
static int
argmax(struct pb_state *st, const double *score)
{
	size_t i, nbest = 0;
	double best = -INFINITY;
	int pick = 0;

	for (i = 0; i < st->narms; i++) {
		if (score[i] > best) {
			best = score[i];
			nbest = 1;
			pick = (int)i;
		} else if (score[i] == best && pb_rng_below(&st->rng, ++nbest) == 0) {
			pick = (int)i;
		}
	}
	return pick;
}

static double
ucb(const struct pb_state *st, int i, double total, int with_pending)
{
	const struct pb_arm *a = &st->arms[i];
	double n = (double)a->st.n + (with_pending ? (double)a->pending : 0);
	double mean = a->st.n ? pb_stats_mean(&a->st) : 1;

	if (n == 0)
		return INFINITY;
	return mean + sqrt(st->pol.c * log(total > 1 ? total : 1) / n);
}

int
pb_policy_select(struct pb_state *st)
{
	double *score = malloc(st->narms * sizeof *score), total = 0;
	size_t i;
	int pick;

	if (!score)
		return (int)pb_rng_below(&st->rng, st->narms);
	for (i = 0; i < st->narms; i++)
		total += (double)(st->arms[i].st.n + st->arms[i].pending);
	switch (st->pol.kind) {
	case PB_POL_UNIFORM:
		/* Round robin: the arm handed out least so far, errors included,
		 * so a failing endpoint does not skew the rotation. */
		for (i = 0; i < st->narms; i++)
			score[i] = -(double)(st->arms[i].st.n + st->arms[i].errors +
			                     st->arms[i].pending);
		break;
	case PB_POL_EPSILON:
		if (pb_rng_uniform(&st->rng) < st->pol.epsilon) {
			pick = (int)pb_rng_below(&st->rng, st->narms);
			free(score);
			return pick;
		}
		for (i = 0; i < st->narms; i++) {
			const struct pb_arm *a = &st->arms[i];
			score[i] = a->st.n + a->pending == 0 ? INFINITY :
			           a->st.n ? pb_stats_mean(&a->st) : 1;
		}
		break;
	case PB_POL_UCB1:
		for (i = 0; i < st->narms; i++)
			score[i] = ucb(st, (int)i, total, 1);
		break;
	case PB_POL_THOMPSON:
		for (i = 0; i < st->narms; i++) {
			const struct pb_arm *a = &st->arms[i];
			double m = a->st.n ? pb_stats_mean(&a->st) : st->pol.a0 /
			           (st->pol.a0 + st->pol.b0);
			double s = a->st.sum + m * (double)a->pending;
			double f = (double)(a->st.n + a->pending) - s;
			score[i] = pb_rng_beta(&st->rng, st->pol.a0 + s,
			                       st->pol.b0 + (f > 0 ? f : 0));
		}
		break;
	}
	if (st->pol.kind == PB_POL_UNIFORM) { /* round robin: first in file order */
		for (pick = 0, i = 1; i < st->narms; i++)
			if (score[i] > score[pick])
				pick = (int)i;
	} else {
		pick = argmax(st, score);
	}
	free(score);
	return pick;
}

double
pb_policy_index(const struct pb_state *st, int i)
{
	const struct pb_arm *a = &st->arms[i];
	double total = 0;
	size_t k;

	switch (st->pol.kind) {
	case PB_POL_UCB1:
		for (k = 0; k < st->narms; k++)
			total += (double)st->arms[k].st.n;
		return ucb(st, i, total, 0);
	case PB_POL_THOMPSON:
		return (st->pol.a0 + a->st.sum) /
		       (st->pol.a0 + st->pol.b0 + (double)a->st.n);
	case PB_POL_UNIFORM:
	case PB_POL_EPSILON:
		break;
	}
	return a->st.n ? pb_stats_mean(&a->st) : NAN;
}
