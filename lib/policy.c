/* policy.c - arm selection behind one interface: the table of policies
 * (struct pb_policy_ops in internal.h, one per policy, defined in the
 * file of its family), the table of their parameters, parsing and range
 * checks, and the calls the rest of the layer makes, each a dispatch
 * through the policy's operations.
 *
 * Regret policies (policy-index.c, policy-random.c): uniform (round
 * robin), epsilon-greedy, softmax, UCB1, UCB-V, KL-UCB, Thompson
 * sampling (Beta, or Gaussian for rewards that are not 0/1) and EXP3.
 * Races (policy-budget.c): successive halving and successive rejects on
 * a fixed budget, and race on paired statistics.  Fixed confidence
 * (policy-bai.c): LUCB and top-two Thompson sampling.
 *
 * Every policy sees the pulls that were handed out but not yet scored
 * (arm->pending) as if they had been observed at the arm's current mean,
 * so one batch of pulls spreads over the arms instead of all going to
 * the arm that led when it began. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "bandit.h"
#include "internal.h"

/* The policies, by kind, in the order pb-update(1) lists them. */
static const struct pb_policy_ops *const ops[] = {
	[PB_POL_UNIFORM] = &pb_policy_uniform,
	[PB_POL_EPSILON] = &pb_policy_epsilon,
	[PB_POL_SOFTMAX] = &pb_policy_softmax,
	[PB_POL_UCB1] = &pb_policy_ucb1,
	[PB_POL_UCBV] = &pb_policy_ucbv,
	[PB_POL_KLUCB] = &pb_policy_klucb,
	[PB_POL_THOMPSON] = &pb_policy_thompson,
	[PB_POL_EXP3] = &pb_policy_exp3,
	[PB_POL_HALVING] = &pb_policy_halving,
	[PB_POL_REJECTS] = &pb_policy_rejects,
	[PB_POL_LUCB] = &pb_policy_lucb,
	[PB_POL_TOPTWO] = &pb_policy_toptwo,
	[PB_POL_RACE] = &pb_policy_race,
};
#define NPOL (sizeof ops / sizeof *ops)

/* The parameters each policy takes, their defaults and their ranges:
 * lo < v (or lo <= v with closed_lo), v <= hi.  The one table: the
 * parser, the range check and the state file all read it, so a
 * parameter given on the command line is the parameter saved.  A member
 * of struct pb_policy that the policy does not take is 0. */
#define P(k, key, m, def, lo, hi, closed, integer) \
	{ k, key, offsetof(struct pb_policy, m), lo, hi, closed, integer, def }
const struct pb_policy_param pb_policy_params[] = {
	P(PB_POL_EPSILON, "epsilon", epsilon, 0.1, 0, 1, 1, 0),
	P(PB_POL_UCB1, "c", c, 2, 0, INFINITY, 1, 0),
	P(PB_POL_UCBV, "c", c, 1, 0, INFINITY, 1, 0),
	P(PB_POL_KLUCB, "c", c, 0, 0, INFINITY, 1, 0),
	P(PB_POL_THOMPSON, "a", a0, 1, 0, INFINITY, 0, 0),
	P(PB_POL_THOMPSON, "b", b0, 1, 0, INFINITY, 0, 0),
	P(PB_POL_SOFTMAX, "tau", tau, 0.05, 0, INFINITY, 0, 0),
	P(PB_POL_EXP3, "gamma", gamma, 0.1, 0, 1, 0, 0),
	P(PB_POL_HALVING, "budget", budget, 0, 1, 1e15, 1, 1),
	P(PB_POL_REJECTS, "budget", budget, 0, 1, 1e15, 1, 1),
	P(PB_POL_LUCB, "delta", delta, 0.05, 0, 0.5, 0, 0),
	P(PB_POL_TOPTWO, "delta", delta, 0.05, 0, 0.5, 0, 0),
	P(PB_POL_RACE, "delta", delta, 0.05, 0, 0.5, 0, 0),
	P(PB_POL_TOPTWO, "beta", beta, 0.5, 0, 1, 0, 0),
	P(PB_POL_TOPTWO, "a", a0, 1, 0, INFINITY, 0, 0),
	P(PB_POL_TOPTWO, "b", b0, 1, 0, INFINITY, 0, 0),
	P(PB_POL_LUCB, "k", k, 1, 1, 1e9, 1, 1),
	P(PB_POL_TOPTWO, "k", k, 1, 1, 1e9, 1, 1),
	P(PB_POL_RACE, "k", k, 0, 0, 1e9, 1, 1),
};
#undef P
#define NPARAM (sizeof pb_policy_params / sizeof *pb_policy_params)
#define params pb_policy_params
const size_t pb_policy_nparams = NPARAM;

const struct pb_policy_ops *
pb__policy_ops(enum pb_policy_kind k)
{
	return (unsigned)k < NPOL ? ops[k] : NULL;
}
#define OPS(st) (ops[(st)->pol.kind])

const char *
pb_policy_name(enum pb_policy_kind k)
{
	return (unsigned)k < NPOL ? ops[k]->name : NULL;
}

double *
pb_policy_field(struct pb_policy *p, const struct pb_policy_param *q)
{
	return (double *)(void *)((char *)p + q->off);
}
#define field pb_policy_field

static const struct pb_policy_param *
find_param(enum pb_policy_kind k, const char *key)
{
	size_t i;

	for (i = 0; i < NPARAM; i++)
		if (params[i].kind == k && !strcmp(params[i].key, key))
			return &params[i];
	return NULL;
}

/* Parses "k=v,k=v" after the colon of a policy spec. */
static int
parse_params(struct pb_policy *p, const char *s, char err[PB_ERRLEN])
{
	char key[32], *end;
	const char *eq, *comma;
	const struct pb_policy_param *q;
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
		if (!(q = find_param(p->kind, key))) {
			snprintf(err, PB_ERRLEN, "policy %s has no parameter '%s'",
			         ops[p->kind]->name, key);
			return -1;
		}
		*field(p, q) = v;
		s = *end ? end + 1 : end;
	}
	return 0;
}

int
pb_policy_parse(struct pb_policy *p, const char *spec, char err[PB_ERRLEN])
{
	const char *colon = strchr(spec, ':');
	size_t n = colon ? (size_t)(colon - spec) : strlen(spec), k, len;

	memset(p, 0, sizeof *p);
	for (k = 0; k < NPOL; k++)
		if (strlen(ops[k]->name) == n && !strncmp(spec, ops[k]->name, n))
			break;
	if (k == NPOL) {
		snprintf(err, PB_ERRLEN, "unknown policy '%.*s' (", (int)n, spec);
		for (k = 0; k < NPOL; k++) {
			len = strlen(err);
			snprintf(err + len, PB_ERRLEN - len, "%s%s", k ? ", " : "",
			         ops[k]->name);
		}
		len = strlen(err);
		snprintf(err + len, PB_ERRLEN - len, ")");
		return -1;
	}
	p->kind = (enum pb_policy_kind)k;
	for (k = 0; k < NPARAM; k++)
		if (params[k].kind == p->kind)
			*field(p, &params[k]) = params[k].def;
	if (colon && parse_params(p, colon + 1, err) < 0)
		return -1;
	return pb_policy_check(p, err);
}

int
pb_policy_check(const struct pb_policy *p, char err[PB_ERRLEN])
{
	struct pb_policy copy = *p;
	size_t i;

	if ((unsigned)p->kind >= NPOL) {
		snprintf(err, PB_ERRLEN, "unknown policy number %d", (int)p->kind);
		return -1;
	}
	if (ops[p->kind]->check && ops[p->kind]->check(p, err) < 0)
		return -1;
	for (i = 0; i < NPARAM; i++) {
		const struct pb_policy_param *q = &params[i];
		double v = *field(&copy, q);
		if (q->kind != p->kind)
			continue;
		if (!(q->closed_lo ? v >= q->lo : v > q->lo) || !(v <= q->hi) ||
		    (q->integer && v != floor(v))) {
			snprintf(err, PB_ERRLEN, "%s: %s=%g is not %s in %c%g,%g]",
			         ops[p->kind]->name, q->key, v,
			         q->integer ? "an integer" : "a number",
			         q->closed_lo ? '[' : '(', q->lo, q->hi);
			return -1;
		}
	}
	return 0;
}

int
pb_policy_nstate(enum pb_policy_kind k)
{
	return ops[k]->nstate;
}

/* The numbers per arm an older release kept for a policy whose layout
 * has changed since: race kept 1 (in or out) before its leader rule,
 * lucb 3 (its cached bound) before its paired rule. */
static int
old_layout(enum pb_policy_kind k, int n)
{
	return (k == PB_POL_RACE && n == 1) || (k == PB_POL_LUCB && n == 3);
}

static const cJSON *
old_arm(enum pb_policy_kind k, const cJSON *arms)
{
	const cJSON *a;

	cJSON_ArrayForEach(a, arms) {
		const cJSON *ps = cJSON_GetObjectItemCaseSensitive(a, "policy_state");
		if (cJSON_IsArray(ps) && old_layout(k, cJSON_GetArraySize(ps)))
			return a;
	}
	return NULL;
}

int
pb_policy_layout_check(const struct pb_policy *p, const cJSON *state,
                       const char *path, char err[PB_ERRLEN])
{
	const cJSON *ctx = cJSON_GetObjectItemCaseSensitive(state, "contexts"), *v;
	int old = !!old_arm(p->kind, cJSON_GetObjectItemCaseSensitive(state, "arms"));

	cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(ctx, "values"))
		old |= !!old_arm(p->kind, cJSON_GetObjectItemCaseSensitive(v, "arms"));
	if (!old)
		return 0;
	if (p->kind == PB_POL_LUCB) {
		snprintf(err, PB_ERRLEN, "%s: a lucb state from before its paired "
		         "rule (3 numbers of policy_state per arm, not %d); finish "
		         "it with the promptbandit that began it, or start a new "
		         "state with pb-update --init", path, ops[p->kind]->nstate);
		return -1;
	}
	snprintf(err, PB_ERRLEN, "%s: a race from before the leader rule (one "
	         "number of policy_state per arm, not %d): its evidence does not "
	         "carry over; finish it with the promptbandit that began it, or "
	         "start a new state with pb-update --init", path, ops[p->kind]->nstate);
	return -1;
}

long
pb_policy_arms_per_task(const struct pb_policy *p)
{
	if (find_param(p->kind, "k"))
		return (long)p->k;
	return ops[p->kind]->flags & PB_POLICY_ALL_ARMS ? 0 : 1;
}

void
pb_policy_note_k(struct pb_state *st, long m)
{
	size_t i;
	long used = 0;

	if (!find_param(st->pol.kind, "k") || m < 0)
		return;
	if (st->pol.kind == PB_POL_LUCB || st->pol.kind == PB_POL_TOPTWO) {
		for (i = 0; i < st->narms; i++)
			used += st->arms[i].st.n + st->arms[i].errors;
		if (used || m < 1)
			return; /* the stopping rule was chosen with the first reward */
	}
	st->pol.k = (double)m;
}

double
pb_policy_budget(const struct pb_policy *p)
{
	return ops[p->kind]->flags & PB_POLICY_BUDGET ? p->budget : NAN;
}

int
pb_policy_prepare(struct pb_state *st)
{
	const struct pb_policy_ops *o = OPS(st);
	size_t i;

	for (i = 0; o->nstate && i < st->narms; i++)
		if (pb__pstate_make(&st->arms[i], o->nstate, o->start) < 0)
			return -1;
	return 0;
}

/* ------------------------------------------------------------- select */

int
pb_policy_select(struct pb_state *st)
{
	double small[64], *work = st->narms <= 64 ? small :
	                          malloc(st->narms * sizeof *work);
	int pick;

	if (!work)
		return (int)pb_rng_below(&st->rng, st->narms);
	if (OPS(st)->before)
		OPS(st)->before(st);
	pick = OPS(st)->choose(st, &st->rng, work);
	if (work != small)
		free(work);
	return pick;
}

int
pb_policy_probs(const struct pb_state *st, double *p)
{
	double *work = malloc((st->narms ? st->narms : 1) * sizeof *work);
	size_t i;

	if (!work)
		return -1;
	for (i = 0; i < st->narms; i++)
		p[i] = 0;
	OPS(st)->probs(st, p, work);
	free(work);
	return 0;
}

double
pb_policy_prob(const struct pb_state *st, int i)
{
	double *p = malloc(st->narms * sizeof *p), v;

	if (!p || pb_policy_probs(st, p) < 0) {
		free(p);
		return NAN;
	}
	v = p[i];
	free(p);
	return v;
}

int
pb_policy_update(struct pb_state *st, int i, double reward)
{
	return OPS(st)->update ? OPS(st)->update(st, i, reward) : 0;
}

int
pb_policy_pair(struct pb_state *st, const struct pb_pairing *t)
{
	return OPS(st)->pair ? OPS(st)->pair(st, t) : 0;
}

double
pb_policy_index(const struct pb_state *st, int i)
{
	const struct pb_arm *a = &st->arms[i];

	if (OPS(st)->index)
		return OPS(st)->index(st, i);
	return a->st.n ? pb_stats_mean(&a->st) : NAN;
}

/* ---------------------------------------------------------------- stop */

int
pb_policy_done(const struct pb_state *st, char why[PB_ERRLEN], int *best)
{
	int b = -1, done = 0;

	if (OPS(st)->done)
		done = OPS(st)->done(st, why, &b);
	else
		b = pb_glr_leader(st);
	if (best)
		*best = b;
	return done;
}

int
pb_policy_contention(const struct pb_state *st, double delta, unsigned char *in)
{
	size_t i;

	if (OPS(st)->contention)
		return OPS(st)->contention(st, delta, in);
	for (i = 0; i < st->narms; i++)
		in[i] = 1;
	return 0;
}

size_t
pb_policy_group(struct pb_state *st, size_t k, int *out)
{
	return OPS(st)->group ? OPS(st)->group(st, k, out) : (size_t)-1;
}

const char *
pb__policy_rule(const struct pb_policy *p)
{
	if (p->kind == PB_POL_LUCB && p->k >= 2)
		return "paired or box";
	if (p->kind == PB_POL_TOPTWO && p->k >= 2)
		return "paired or glr";
	return ops[p->kind]->rule ? ops[p->kind]->rule : "glr";
}

/* ---------------------------------------------------------------- merge */

int
pb_policy_merge(struct pb_state *st, const struct pb_state *other)
{
	struct pb_state sv, ov;
	int *map;
	size_t i, c;
	int rv = 0, ci;

	if (!OPS(st)->merge || other->pol.kind != st->pol.kind)
		return 0;
	if (!(map = malloc((other->narms ? other->narms : 1) * sizeof *map)))
		return -1;
	for (i = 0; i < other->narms; i++)
		map[i] = pb_state_find_arm(st, other->arms[i].id);
	if (pb_policy_prepare(st) < 0 || OPS(st)->merge(st, other, map) < 0)
		rv = -1;
	for (c = 0; rv == 0 && c < other->nctx; c++) {
		if ((ci = pb_state_find_ctx(st, other->ctx[c].name)) < 0)
			continue;
		pb_state_view(st, (size_t)ci, &sv);
		pb_state_view(other, c, &ov);
		if (pb_policy_prepare(&sv) < 0 || OPS(st)->merge(&sv, &ov, map) < 0)
			rv = -1;
	}
	free(map);
	return rv;
}
