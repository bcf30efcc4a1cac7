/* pool.c - what the state keeps beyond one number set per arm: paired
 * statistics (a task sent to several arms), contexts (statistics per
 * value of a task field), and a pool of arms that grows and shrinks.
 *
 * Pairs are an upper triangle over the arms, indexed by arm number, so
 * they cost nothing until pb-sample sends a task to more than one arm.
 * A group (one task, k arms) pairs each member's reward with the members
 * already back as it arrives; the state keeps a group only while some of
 * its members are out, so a pipeline that brings every group back in one
 * pb-update leaves nothing behind. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pb.h"
#include "internal.h"

static size_t
npairs(size_t k)
{
	return k > 1 ? k * (k - 1) / 2 : 0;
}

static size_t
tri(size_t k, size_t i, size_t j) /* i < j < k */
{
	return i * (2 * k - i - 1) / 2 + (j - i - 1);
}

struct pb_pair *
pb_state_pair(const struct pb_state *st, int i, int j)
{
	if (!st->pair || i == j || i < 0 || j < 0)
		return NULL;
	return i < j ? &st->pair[tri(st->narms, (size_t)i, (size_t)j)] :
	               &st->pair[tri(st->narms, (size_t)j, (size_t)i)];
}

/* Adds the rewards of arms i and j on one task to *pp (allocated on
 * first use), oriented as pb_state_pair says. */
static int
pair_add(struct pb_pair **pp, size_t narms, int i, int j, double ri, double rj)
{
	struct pb_pair *p;

	if (!*pp && !(*pp = calloc(npairs(narms), sizeof **pp)))
		return -1;
	if (i < j) {
		p = &(*pp)[tri(narms, (size_t)i, (size_t)j)];
		pb_pair_add(p, ri, rj);
	} else {
		p = &(*pp)[tri(narms, (size_t)j, (size_t)i)];
		pb_pair_add(p, rj, ri);
	}
	return 0;
}

/* ------------------------------------------------------------ contexts */

int
pb_state_find_ctx(const struct pb_state *st, const char *name)
{
	size_t c;

	for (c = 0; c < st->nctx; c++)
		if (!strcmp(st->ctx[c].name, name))
			return (int)c;
	return -1;
}

static void
ctx_free(struct pb_ctx *c, size_t narms)
{
	size_t i;

	for (i = 0; c->arms && i < narms; i++) {
		free(c->arms[i].id);
		free(c->arms[i].pstate);
	}
	free(c->arms);
	free(c->pair);
	free(c->name);
	pb_tasks_free(&c->tasks);
}

int
pb_state_add_ctx(struct pb_state *st, const char *name)
{
	struct pb_ctx *nc, *c;
	size_t i;
	int at = pb_state_find_ctx(st, name);

	if (at >= 0)
		return at;
	if (!(nc = realloc(st->ctx, (st->nctx + 1) * sizeof *nc)))
		return -1;
	st->ctx = nc;
	c = &st->ctx[st->nctx];
	memset(c, 0, sizeof *c);
	if (!(c->name = strdup(name)) ||
	    !(c->arms = calloc(st->narms, sizeof *c->arms)))
		goto fail;
	for (i = 0; i < st->narms; i++) {
		c->arms[i].retired = st->arms[i].retired;
		if (!(c->arms[i].id = strdup(st->arms[i].id)))
			goto fail;
	}
	return (int)st->nctx++;
fail:
	ctx_free(c, st->narms);
	return -1;
}

void
pb_state_view(const struct pb_state *st, size_t c, struct pb_state *view)
{
	*view = *st;
	view->arms = st->ctx[c].arms;
	view->pair = st->ctx[c].pair;
	view->tasks = st->ctx[c].tasks; /* shared: the view is never freed */
	/* Each context decides on its own, so the error is split: delta / C
	 * for each of the C contexts known, and the family of verdicts is
	 * wrong with probability at most delta (a union bound). */
	if (st->nctx > 1)
		view->pol.delta = st->pol.delta / (double)st->nctx;
	view->ctx = NULL;
	view->nctx = 0;
	view->ctx_field = NULL;
	view->open = NULL;
	view->nopen = 0;
}

/* -------------------------------------------------------------- groups */

static struct pb_group *
find_group(const struct pb_state *st, long first)
{
	size_t lo = 0, hi = st->nopen;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (st->open[mid].first < first)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < st->nopen && st->open[lo].first == first ? &st->open[lo] : NULL;
}

static void
group_free(struct pb_group *g)
{
	free(g->arm);
	free(g->r);
}

/* Inserts an empty group for pulls first .. first + k - 1, in order. */
static struct pb_group *
group_new(struct pb_state *st, long first, long k, int ctx)
{
	struct pb_group *ng = realloc(st->open, (st->nopen + 1) * sizeof *ng), *g;
	size_t at = 0;
	long m;

	if (!ng)
		return NULL;
	st->open = ng;
	while (at < st->nopen && st->open[at].first < first)
		at++;
	memmove(&st->open[at + 1], &st->open[at], (st->nopen - at) * sizeof *ng);
	g = &st->open[at];
	memset(g, 0, sizeof *g);
	g->first = first;
	g->k = k;
	g->ctx = ctx;
	g->arm = malloc((size_t)k * sizeof *g->arm);
	g->r = malloc((size_t)k * sizeof *g->r);
	st->nopen++;
	if (!g->arm || !g->r) {
		group_free(g);
		memmove(g, g + 1, (st->nopen - at - 1) * sizeof *g);
		st->nopen--;
		return NULL;
	}
	for (m = 0; m < k; m++)
		g->arm[m] = -1, g->r[m] = NAN;
	return g;
}

void
pb_groups_drop(struct pb_state *st, long lo, long hi)
{
	size_t i = 0, j = 0;

	for (; i < st->nopen; i++) {
		if (st->open[i].first >= lo && st->open[i].first <= hi)
			group_free(&st->open[i]);
		else
			st->open[j++] = st->open[i];
	}
	st->nopen = j;
}

int
pb__pool_check(struct pb_state *st, long first, long k, long id,
               const char *ctx, char err[PB_ERRLEN])
{
	const struct pb_group *g;
	int c = -1;

	if (ctx && !st->ctx_field) {
		snprintf(err, PB_ERRLEN, "the pull has a context but the state "
		         "keeps none (pb-update --init --context FIELD)");
		return -2;
	}
	if (!ctx && st->ctx_field) {
		snprintf(err, PB_ERRLEN, "the pull has no \"context\", but the "
		         "state keeps statistics per task field '%s'", st->ctx_field);
		return -2;
	}
	if (ctx) {
		c = pb_state_find_ctx(st, ctx);
		if (k > 1 && (g = find_group(st, first + (id - first) / k * k)) &&
		    g->ctx != c) {
			snprintf(err, PB_ERRLEN, "context '%s' is not that of the "
			         "other pulls of its task ('%s')", ctx,
			         g->ctx >= 0 ? st->ctx[g->ctx].name : "");
			return -2;
		}
		if (c < 0 && (c = pb_state_add_ctx(st, ctx)) < 0) {
			snprintf(err, PB_ERRLEN, "out of memory");
			return -2;
		}
	}
	return c;
}

/* A reward in one set of statistics, st's own or a context's view: the
 * policy first, as it may want them as they were (EXP3). */
static int
reward_in(struct pb_state *v, int arm, double reward)
{
	if (pb_policy_update(v, arm, reward) < 0)
		return -1;
	if (isnan(reward))
		v->arms[arm].errors++;
	else
		pb_stats_add(&v->arms[arm].st, reward);
	return 0;
}

/* One task's rewards of arms a and b into v's pairs *pp, and v's policy
 * told (the race may knock one out). */
static int
pair_in(struct pb_state *v, struct pb_pair **pp, int a, int b, double ra,
        double rb)
{
	if (pair_add(pp, v->narms, a, b, ra, rb) < 0)
		return -1;
	v->pair = *pp;
	return pb_policy_pair(v, a, b);
}

/* One task's reward of arm into st's statistics and its context's. */
static int
task_in(struct pb_state *st, int c, int arm, double reward)
{
	struct pb_state view;

	if (reward_in(st, arm, reward) < 0)
		return -1;
	if (c >= 0) {
		pb_state_view(st, (size_t)c, &view);
		if (reward_in(&view, arm, reward) < 0)
			return -1;
	}
	return 0;
}

/* The rewards of arms a and b on one task into st's pairs and its
 * context's. */
static int
pairs_in(struct pb_state *st, int c, int a, int b, double ra, double rb)
{
	struct pb_state view;

	if (pair_in(st, &st->pair, a, b, ra, rb) < 0)
		return -1;
	if (c >= 0) {
		pb_state_view(st, (size_t)c, &view);
		if (pair_in(&view, &st->ctx[c].pair, a, b, ra, rb) < 0)
			return -1;
	}
	return 0;
}

/* With R repeats, member slot*R .. slot*R + R - 1 of a group are the R
 * pulls of one arm on the group's task.  Their mean, once all are back,
 * is the arm's reward on the task (NAN if every one was an error). */
static double
slot_mean(const struct pb_group *g, long slot, long R, int *complete)
{
	double sum = 0;
	long s, n = 0;

	*complete = 1;
	for (s = 0; s < R; s++) {
		if (g->arm[slot * R + s] < 0) {
			*complete = 0;
			return NAN;
		}
		if (!isnan(g->r[slot * R + s])) {
			sum += g->r[slot * R + s];
			n++;
		}
	}
	return n ? sum / (double)n : NAN;
}

int
pb__pool_apply(struct pb_state *st, long first, long k, long id, int arm,
               double reward, int c, int released)
{
	struct pb_group *g;
	long m, o, gfirst, R = st->repeats > 1 ? st->repeats : 1;
	int done;

	/* An error is an error of the pull, whatever the repeats. */
	if (!released && (R == 1 || isnan(reward)) && task_in(st, c, arm, reward) < 0)
		return -1;
	if (k <= 1)
		return 0;
	gfirst = first + (id - first) / k * k;
	if (!(g = find_group(st, gfirst)) && !(g = group_new(st, gfirst, k, c)))
		return -1;
	m = id - gfirst;
	g->arm[m] = arm;
	g->r[m] = reward;
	if (R == 1) {
		for (o = 0; o < k; o++) {
			if (o == m || g->arm[o] < 0 || isnan(g->r[o]) || isnan(reward) ||
			    g->arm[o] == arm)
				continue;
			if (pairs_in(st, c, arm, g->arm[o], reward, g->r[o]) < 0)
				return -1;
		}
	} else {
		/* the task's reward once its R pulls are back, averaged: the
		 * unit is the task, so every variance is the between-task one */
		double mean = slot_mean(g, m / R, R, &done), om;
		int odone;
		if (done && !isnan(mean)) {
			if (task_in(st, c, arm, mean) < 0)
				return -1;
			for (o = 0; o < k / R; o++) {
				if (o == m / R || g->arm[o * R] == arm)
					continue;
				om = slot_mean(g, o, R, &odone);
				if (odone && !isnan(om) &&
				    pairs_in(st, c, arm, g->arm[o * R], mean, om) < 0)
					return -1;
			}
		}
	}
	if (++g->nback == k) {
		size_t at = (size_t)(g - st->open);
		group_free(g);
		memmove(g, g + 1, (st->nopen - at - 1) * sizeof *g);
		st->nopen--;
	}
	return 0;
}

/* ------------------------------------------------------------ choosing */

static size_t active_view(const struct pb_state *, const unsigned char *,
                          struct pb_state *, struct pb_arm *, int *);

size_t
pb_state_active(const struct pb_state *st, struct pb_state *view,
                struct pb_arm *arms, int *map)
{
	return active_view(st, NULL, view, arms, map);
}

/* The arms of base (a state or a context view) that may be chosen: in
 * the pool and not taken for this task yet, as a view of their own with
 * map[v] the index in base.  The view's arms are copies (pstate shared),
 * so a choice's pending count is written back by the caller. */
static size_t
active_view(const struct pb_state *base, const unsigned char *taken,
            struct pb_state *view, struct pb_arm *arms, int *map)
{
	size_t i, n = 0;

	*view = *base;
	for (i = 0; i < base->narms; i++)
		if (!base->arms[i].retired && !(taken && taken[i])) {
			arms[n] = base->arms[i];
			map[n++] = (int)i;
		}
	view->arms = arms;
	view->narms = n;
	view->pair = NULL; /* indexed by base's numbers: not valid here */
	return n;
}

static int
any_retired(const struct pb_state *st)
{
	size_t i;

	for (i = 0; i < st->narms; i++)
		if (st->arms[i].retired)
			return 1;
	return 0;
}

static int
cmpmean(const void *a, const void *b, const struct pb_state *st)
{
	double x = pb_stats_mean(&st->arms[*(const int *)a].st),
	       y = pb_stats_mean(&st->arms[*(const int *)b].st);
	return (x < y) - (x > y);
}

int
pb_state_choose(struct pb_state *st, int ctx, size_t k,
                const unsigned char *allow, int *out)
{
	struct pb_state base, view;
	struct pb_arm *arms;
	unsigned char *taken;
	int *map, rv = -1;
	size_t i, n, got = 0;

	if (ctx >= 0)
		pb_state_view(st, (size_t)ctx, &base);
	else
		base = *st;
	if (ctx < 0 && k == 1 && !allow && !any_retired(st))
		return *out = pb_policy_select(st), 1; /* the common case */
	arms = malloc((st->narms ? st->narms : 1) * sizeof *arms);
	map = malloc((st->narms ? st->narms : 1) * sizeof *map);
	taken = calloc(st->narms ? st->narms : 1, 1);
	if (!arms || !map || !taken)
		goto out;
	for (i = 0; allow && i < st->narms; i++)
		taken[i] = !allow[i];
	/* Selection may allocate an arm's policy numbers: do it here, where
	 * the arms are the real ones and not the view's copies. */
	if (pb_policy_prepare(&base) < 0)
		goto out;
	n = active_view(&base, taken, &view, arms, map);
	if (k == 0 || k > n)
		k = n;
	if (st->pol.kind == PB_POL_RACE) {
		/* The survivors, best mean first when there are too many. */
		size_t a, b;
		for (i = 0; i < n; i++)
			if (view.arms[i].pstate[0] != 0)
				out[got++] = map[i];
		for (a = 1; a < got; a++) /* insertion sort: got is small */
			for (b = a; b > 0 && cmpmean(&out[b - 1], &out[b], &base) > 0; b--) {
				int t = out[b];
				out[b] = out[b - 1];
				out[b - 1] = t;
			}
		if (got > k)
			got = k;
	} else {
		while (got < k) {
			int v;
			if (active_view(&base, taken, &view, arms, map) == 0)
				break;
			view.rng = st->rng;
			v = pb_policy_select(&view);
			st->rng = view.rng;
			out[got++] = map[v];
			taken[map[v]] = 1;
		}
	}
	/* A context's pending pulls are counted here, for the tasks that
	 * follow in this run; the state's own, by pb_state_hand_out. */
	for (i = 0; ctx >= 0 && i < got; i++)
		base.arms[out[i]].pending++;
	rv = (int)got;
out:
	free(arms);
	free(map);
	free(taken);
	return rv;
}

int
pb_state_done(const struct pb_state *st, int ctx, char why[PB_ERRLEN],
              int *best)
{
	struct pb_state base, view;
	struct pb_arm *arms = malloc((st->narms ? st->narms : 1) * sizeof *arms);
	int *map = malloc((st->narms ? st->narms : 1) * sizeof *map), b = -1, done;

	if (!arms || !map) {
		free(arms);
		free(map);
		snprintf(why, PB_ERRLEN, "out of memory");
		return 0;
	}
	if (ctx >= 0)
		pb_state_view(st, (size_t)ctx, &base);
	else
		base = *st;
	if (active_view(&base, NULL, &view, arms, map) == 0) {
		snprintf(why, PB_ERRLEN, "every arm is retired");
		done = 1;
	} else {
		done = pb_policy_done(&view, why, &b);
		b = b >= 0 ? map[b] : -1;
	}
	if (best)
		*best = b;
	free(arms);
	free(map);
	return done;
}

/* ------------------------------------------------------- serialising */

static int
num(const cJSON *o, const char *key, double *v)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!cJSON_IsNumber(x) || !isfinite(x->valuedouble) || x->valuedouble < 0)
		return -1;
	*v = x->valuedouble;
	return 0;
}

void
pb_arm_stats_json(const struct pb_state *st, const struct pb_arm *a, cJSON *o)
{
	cJSON_AddNumberToObject(o, "pulls", (double)a->st.n);
	cJSON_AddNumberToObject(o, "mean", pb_stats_mean(&a->st));
	cJSON_AddNumberToObject(o, "sum", a->st.sum);
	cJSON_AddNumberToObject(o, "sumsq", a->st.sumsq);
	cJSON_AddNumberToObject(o, "nonbinary", (double)a->st.nonbinary);
	cJSON_AddNumberToObject(o, "errors", (double)a->errors);
	cJSON_AddNumberToObject(o, "cursor", (double)a->cursor);
	if (a->tok_in || a->tok_out) {
		cJSON_AddNumberToObject(o, "prompt_tokens", a->tok_in);
		cJSON_AddNumberToObject(o, "completion_tokens", a->tok_out);
	}
	if (a->pstate)
		cJSON_AddItemToObject(o, "policy_state", cJSON_CreateDoubleArray(
		    a->pstate, pb_policy_nstate(st->pol.kind)));
}

int
pb_arm_stats_load(const struct pb_state *st, struct pb_arm *a, const cJSON *o)
{
	const cJSON *ps = cJSON_GetObjectItemCaseSensitive(o, "policy_state"), *x;
	double pulls, sum, sumsq, nonbin, errors;
	int n = pb_policy_nstate(st->pol.kind), i = 0;

	if (num(o, "pulls", &pulls) || num(o, "sum", &sum) ||
	    num(o, "sumsq", &sumsq) || num(o, "nonbinary", &nonbin) ||
	    num(o, "errors", &errors) || sum > pulls + 1e-9)
		return -1;
	/* counts are integers a long holds (1e19 errors would not) */
	if (pulls > PB_MAX_COUNT || nonbin > PB_MAX_COUNT || errors > PB_MAX_COUNT ||
	    pulls != floor(pulls) || nonbin != floor(nonbin) || errors != floor(errors) ||
	    nonbin > pulls)
		return -1;
	a->st.n = (long)pulls;
	a->st.sum = sum;
	a->st.sumsq = sumsq;
	a->st.nonbinary = (long)nonbin;
	a->errors = (long)errors;
	if (cJSON_GetObjectItemCaseSensitive(o, "cursor")) {
		double cur;
		if (num(o, "cursor", &cur) || cur != floor(cur) || cur > 9e15)
			return -1;
		a->cursor = (long)cur;
	}
	if ((cJSON_GetObjectItemCaseSensitive(o, "prompt_tokens") &&
	     num(o, "prompt_tokens", &a->tok_in)) ||
	    (cJSON_GetObjectItemCaseSensitive(o, "completion_tokens") &&
	     num(o, "completion_tokens", &a->tok_out)))
		return -1;
	if (!ps)
		return 0; /* the policy's starting values */
	if (!cJSON_IsArray(ps) || cJSON_GetArraySize(ps) != n)
		return -1;
	if (n == 0)
		return 0;
	if (!(a->pstate = malloc((size_t)n * sizeof *a->pstate)))
		return -1;
	cJSON_ArrayForEach(x, ps) {
		if (!cJSON_IsNumber(x) || !isfinite(x->valuedouble))
			return -1;
		a->pstate[i++] = x->valuedouble;
	}
	return 0;
}

cJSON *
pb_pairs_json(const struct pb_state *st, const struct pb_pair *pair)
{
	cJSON *arr = cJSON_CreateArray(), *o, *ids;
	size_t i, j;

	for (i = 0; pair && i < st->narms; i++)
		for (j = i + 1; j < st->narms; j++) {
			const struct pb_pair *p = &pair[tri(st->narms, i, j)];
			if (!p->n)
				continue;
			o = cJSON_CreateObject();
			ids = cJSON_AddArrayToObject(o, "arms");
			cJSON_AddItemToArray(ids, cJSON_CreateString(st->arms[i].id));
			cJSON_AddItemToArray(ids, cJSON_CreateString(st->arms[j].id));
			cJSON_AddNumberToObject(o, "tasks", (double)p->n);
			cJSON_AddNumberToObject(o, "sum", p->sum);
			cJSON_AddNumberToObject(o, "sumsq", p->sumsq);
			cJSON_AddNumberToObject(o, "wins", (double)p->b);
			cJSON_AddNumberToObject(o, "losses", (double)p->c);
			if (p->fpos || p->fneg) {
				cJSON *f = cJSON_AddArrayToObject(o, "fractional");
				cJSON_AddItemToArray(f, cJSON_CreateNumber((double)p->fpos));
				cJSON_AddItemToArray(f, cJSON_CreateNumber((double)p->fneg));
				cJSON_AddItemToArray(f, cJSON_CreateNumber(p->fsum));
				cJSON_AddItemToArray(f, cJSON_CreateNumber(p->fsumsq));
			}
			cJSON_AddItemToArray(arr, o);
		}
	return arr;
}

int
pb_pairs_load(struct pb_state *st, struct pb_pair **pair, const cJSON *arr,
              char err[PB_ERRLEN])
{
	const cJSON *o;
	int k = 0;

	if (!arr)
		return 0;
	if (!cJSON_IsArray(arr))
		goto bad;
	cJSON_ArrayForEach(o, arr) {
		const cJSON *ids = cJSON_GetObjectItemCaseSensitive(o, "arms");
		const char *a = cJSON_IsArray(ids) && cJSON_GetArraySize(ids) == 2 ?
		                cJSON_GetStringValue(cJSON_GetArrayItem(ids, 0)) : NULL;
		const char *b = a ? cJSON_GetStringValue(cJSON_GetArrayItem(ids, 1)) : NULL;
		int i = a ? pb_state_find_arm(st, a) : -1,
		    j = b ? pb_state_find_arm(st, b) : -1;
		double n, sum, sumsq, w, l, fr[4] = { 0, 0, 0, 0 };
		const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, "fractional");
		struct pb_pair *p;
		int m;

		if (i < 0 || j < 0 || i >= j || num(o, "tasks", &n) ||
		    num(o, "sumsq", &sumsq) || num(o, "wins", &w) ||
		    num(o, "losses", &l) || !cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(o, "sum")) ||
		    w + l > n || n > PB_MAX_COUNT || n != floor(n) || w != floor(w) ||
		    l != floor(l))
			goto bad;
		sum = cJSON_GetObjectItemCaseSensitive(o, "sum")->valuedouble;
		if (f && (!cJSON_IsArray(f) || cJSON_GetArraySize(f) != 4))
			goto bad;
		for (m = 0; f && m < 4; m++) {
			const cJSON *x = cJSON_GetArrayItem(f, m);
			if (!cJSON_IsNumber(x) || !isfinite(x->valuedouble))
				goto bad;
			fr[m] = x->valuedouble;
		}
		if (fr[0] < 0 || fr[1] < 0 || fr[0] != floor(fr[0]) ||
		    fr[1] != floor(fr[1]) || fr[0] > w || fr[1] > l || fr[3] < 0 ||
		    fr[3] > fr[0] + fr[1] || fabs(fr[2]) > fr[0] + fr[1])
			goto bad;
		if (!*pair && !(*pair = calloc(npairs(st->narms), sizeof **pair))) {
			snprintf(err, PB_ERRLEN, "out of memory");
			return -1;
		}
		p = &(*pair)[tri(st->narms, (size_t)i, (size_t)j)];
		p->n = (long)n;
		p->sum = sum;
		p->sumsq = sumsq;
		p->b = (long)w;
		p->c = (long)l;
		p->fpos = (long)fr[0];
		p->fneg = (long)fr[1];
		p->fsum = fr[2];
		p->fsumsq = fr[3];
		pb_pair_refresh(p);
		k++;
	}
	return 0;
bad:
	snprintf(err, PB_ERRLEN, "pairs[%d] is malformed (arms in file order, "
	         "tasks, sum, sumsq, wins, losses)", k);
	return -1;
}

cJSON *
pb_groups_json(const struct pb_state *st)
{
	cJSON *arr = cJSON_CreateArray(), *o, *back, *m;
	size_t i;
	long k;

	for (i = 0; i < st->nopen; i++) {
		const struct pb_group *g = &st->open[i];
		o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "first", (double)g->first);
		cJSON_AddNumberToObject(o, "k", (double)g->k);
		if (g->ctx >= 0)
			cJSON_AddStringToObject(o, "context", st->ctx[g->ctx].name);
		back = cJSON_AddArrayToObject(o, "back");
		for (k = 0; k < g->k; k++) {
			if (g->arm[k] < 0)
				continue;
			m = cJSON_CreateArray();
			cJSON_AddItemToArray(m, cJSON_CreateNumber((double)(g->first + k)));
			cJSON_AddItemToArray(m, cJSON_CreateString(st->arms[g->arm[k]].id));
			cJSON_AddItemToArray(m, isnan(g->r[k]) ? cJSON_CreateNull() :
			                     cJSON_CreateNumber(g->r[k]));
			cJSON_AddItemToArray(back, m);
		}
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

int
pb_groups_load(struct pb_state *st, const cJSON *arr, char err[PB_ERRLEN])
{
	const cJSON *o, *m;
	int n = 0;

	if (!arr)
		return 0;
	if (!cJSON_IsArray(arr))
		goto bad;
	cJSON_ArrayForEach(o, arr) {
		double first, k;
		const char *cn = pb_json_str(o, "context");
		const cJSON *back = cJSON_GetObjectItemCaseSensitive(o, "back");
		struct pb_group *g;
		int c = -1;

		if (num(o, "first", &first) || num(o, "k", &k) || k < 2 ||
		    first < 1 || first + k > (double)st->next_pull ||
		    !cJSON_IsArray(back) || (st->nopen && first <= (double)
		    st->open[st->nopen - 1].first) || (cn && (c = pb_state_find_ctx(st, cn)) < 0))
			goto bad;
		if (!(g = group_new(st, (long)first, (long)k, c))) {
			snprintf(err, PB_ERRLEN, "out of memory");
			return -1;
		}
		cJSON_ArrayForEach(m, back) {
			const cJSON *id = cJSON_GetArrayItem(m, 0),
			            *r = cJSON_GetArrayItem(m, 2);
			const char *arm = cJSON_GetStringValue(cJSON_GetArrayItem(m, 1));
			long at;
			int a;
			if (!cJSON_IsNumber(id) || !arm || (a = pb_state_find_arm(st, arm)) < 0 ||
			    (at = (long)id->valuedouble - g->first) < 0 || at >= g->k ||
			    g->arm[at] >= 0 || !(cJSON_IsNull(r) || (cJSON_IsNumber(r) &&
			    isfinite(r->valuedouble))))
				goto bad;
			g->arm[at] = a;
			g->r[at] = cJSON_IsNull(r) ? NAN : r->valuedouble;
			g->nback++;
		}
		if (g->nback == 0 || g->nback >= g->k)
			goto bad;
		n++;
	}
	return 0;
bad:
	snprintf(err, PB_ERRLEN, "groups[%d] is malformed", n);
	return -1;
}

cJSON *
pb_ctx_json(const struct pb_state *st)
{
	cJSON *o = cJSON_CreateObject(), *vals, *v, *arms, *a;
	size_t c, i;

	cJSON_AddStringToObject(o, "field", st->ctx_field);
	vals = cJSON_AddArrayToObject(o, "values");
	for (c = 0; c < st->nctx; c++) {
		v = cJSON_CreateObject();
		cJSON_AddStringToObject(v, "value", st->ctx[c].name);
		arms = cJSON_AddArrayToObject(v, "arms");
		for (i = 0; i < st->narms; i++) {
			a = cJSON_CreateObject();
			cJSON_AddStringToObject(a, "id", st->arms[i].id);
			pb_arm_stats_json(st, &st->ctx[c].arms[i], a);
			cJSON_AddItemToArray(arms, a);
		}
		if (st->ctx[c].pair)
			cJSON_AddItemToObject(v, "pairs", pb_pairs_json(st, st->ctx[c].pair));
		cJSON_AddItemToObject(v, "tasks", pb_tasks_json(&st->ctx[c].tasks));
		cJSON_AddItemToArray(vals, v);
	}
	return o;
}

int
pb_ctx_load(struct pb_state *st, const cJSON *o, char err[PB_ERRLEN])
{
	const char *field = pb_json_str(o, "field");
	const cJSON *vals = cJSON_GetObjectItemCaseSensitive(o, "values"), *v, *a;
	char why[PB_ERRLEN];
	int n = 0;

	if (!o)
		return 0;
	if (!field || !*field || !cJSON_IsArray(vals)) {
		snprintf(err, PB_ERRLEN, "contexts: needs \"field\" and \"values\"");
		return -1;
	}
	if (!(st->ctx_field = strdup(field)))
		goto oom;
	cJSON_ArrayForEach(v, vals) {
		const char *name = pb_json_str(v, "value");
		const cJSON *arms = cJSON_GetObjectItemCaseSensitive(v, "arms");
		struct pb_ctx *c;
		int ci, i = 0;

		if (!name || pb_state_find_ctx(st, name) >= 0 || !cJSON_IsArray(arms) ||
		    cJSON_GetArraySize(arms) != (int)st->narms)
			goto bad;
		if ((ci = pb_state_add_ctx(st, name)) < 0)
			goto oom;
		c = &st->ctx[ci];
		cJSON_ArrayForEach(a, arms) {
			const char *id = pb_json_str(a, "id");
			if (!id || strcmp(id, st->arms[i].id) ||
			    pb_arm_stats_load(st, &c->arms[i], a) < 0)
				goto bad;
			i++;
		}
		if (pb_pairs_load(st, &c->pair, cJSON_GetObjectItemCaseSensitive(v,
		    "pairs"), why) < 0) {
			snprintf(err, PB_ERRLEN, "contexts.values[%d]: %s", n, why);
			return -1;
		}
		if (pb_tasks_load(&c->tasks, cJSON_GetObjectItemCaseSensitive(v,
		    "tasks"), why) < 0) {
			snprintf(err, PB_ERRLEN, "contexts.values[%d]: %s", n, why);
			return -1;
		}
		n++;
	}
	return 0;
bad:
	snprintf(err, PB_ERRLEN, "contexts.values[%d] is malformed (its arms "
	         "must be the state's, in order)", n);
	return -1;
oom:
	snprintf(err, PB_ERRLEN, "out of memory");
	return -1;
}

void
pb_pool_free(struct pb_state *st)
{
	size_t i;

	free(st->pair);
	for (i = 0; i < st->nopen; i++)
		group_free(&st->open[i]);
	free(st->open);
	for (i = 0; i < st->nctx; i++)
		ctx_free(&st->ctx[i], st->narms);
	free(st->ctx);
	free(st->ctx_field);
}

/* ------------------------------------------------------------- merging */

void
pb_arm_add(struct pb_arm *a, const struct pb_arm *b)
{
	a->st.n += b->st.n;
	a->st.sum += b->st.sum;
	a->st.sumsq += b->st.sumsq;
	a->st.nonbinary += b->st.nonbinary;
	a->errors += b->errors;
	a->tok_in += b->tok_in;
	a->tok_out += b->tok_out;
}

/* Adds the pairs of other (over other's arms) into *pair (over st's). */
static int
merge_pairs(const struct pb_state *st, struct pb_pair **pair,
            const struct pb_state *other, const struct pb_pair *opair)
{
	size_t i, j;

	for (i = 0; opair && i < other->narms; i++)
		for (j = i + 1; j < other->narms; j++) {
			const struct pb_pair *q = &opair[tri(other->narms, i, j)];
			int a = pb_state_find_arm(st, other->arms[i].id),
			    b = pb_state_find_arm(st, other->arms[j].id);
			struct pb_pair *p;
			if (!q->n)
				continue;
			if (!*pair && !(*pair = calloc(npairs(st->narms), sizeof **pair)))
				return -1;
			p = &(*pair)[a < b ? tri(st->narms, (size_t)a, (size_t)b) :
			                     tri(st->narms, (size_t)b, (size_t)a)];
			p->n += q->n;
			p->sum += a < b ? q->sum : -q->sum;
			p->sumsq += q->sumsq;
			p->b += a < b ? q->b : q->c;
			p->c += a < b ? q->c : q->b;
			p->fpos += a < b ? q->fpos : q->fneg;
			p->fneg += a < b ? q->fneg : q->fpos;
			p->fsum += a < b ? q->fsum : -q->fsum;
			p->fsumsq += q->fsumsq;
			pb_pair_refresh(p);
		}
	return 0;
}

int
pb_pool_merge(struct pb_state *st, const struct pb_state *other,
              char err[PB_ERRLEN])
{
	size_t c, i;

	if ((st->ctx_field || other->ctx_field) && (!st->ctx_field ||
	    !other->ctx_field || strcmp(st->ctx_field, other->ctx_field))) {
		snprintf(err, PB_ERRLEN, "the two states do not keep the same "
		         "contexts (%s, %s)", st->ctx_field ? st->ctx_field : "none",
		         other->ctx_field ? other->ctx_field : "none");
		return -1;
	}
	if (merge_pairs(st, &st->pair, other, other->pair) < 0)
		goto oom;
	for (c = 0; c < other->nctx; c++) {
		const struct pb_ctx *oc = &other->ctx[c];
		int ci = pb_state_add_ctx(st, oc->name);
		if (ci < 0)
			goto oom;
		for (i = 0; i < other->narms; i++) {
			pb_arm_add(&st->ctx[ci].arms[pb_state_find_arm(st,
			           other->arms[i].id)], &oc->arms[i]);
		}
		if (merge_pairs(st, &st->ctx[ci].pair, other, oc->pair) < 0)
			goto oom;
	}
	return 0;
oom:
	snprintf(err, PB_ERRLEN, "out of memory");
	return -1;
}

/* ---------------------------------------------------- a changing pool */

/* Grows an upper-triangle pair matrix from old arms to narms arms. */
static int
grow_pairs(struct pb_pair **pair, size_t old, size_t narms)
{
	struct pb_pair *np;
	size_t i, j;

	if (!*pair)
		return 0;
	if (!(np = calloc(npairs(narms), sizeof *np)))
		return -1;
	for (i = 0; i < old; i++)
		for (j = i + 1; j < old; j++)
			np[tri(narms, i, j)] = (*pair)[tri(old, i, j)];
	free(*pair);
	*pair = np;
	return 0;
}

int
pb_state_add_arms(struct pb_state *st, FILE *arms, const char *name,
                  char err[PB_ERRLEN])
{
	struct pb_state add;
	struct pb_arm *na;
	size_t old = st->narms, n, i, c;

	if (pb_state_new(&add, arms, name, &st->pol, 1, err) < 0)
		return -1;
	for (i = 0; i < add.narms; i++)
		if (pb_state_find_arm(st, add.arms[i].id) >= 0) {
			snprintf(err, PB_ERRLEN, "%s: arm '%s' is in the state already",
			         name, add.arms[i].id);
			pb_state_free(&add);
			return -1;
		}
	n = old + add.narms;
	/* Everything that can fail before anything changes. */
	if (!(na = realloc(st->arms, n * sizeof *na)))
		goto oom;
	st->arms = na;
	for (i = 0; i < st->nbatch; i++) {
		long *nl = realloc(st->batch[i].left, n * sizeof *nl);
		if (!nl)
			goto oom;
		memset(nl + old, 0, add.narms * sizeof *nl);
		st->batch[i].left = nl;
	}
	for (c = 0; c < st->nctx; c++) {
		na = realloc(st->ctx[c].arms, n * sizeof *na);
		if (!na)
			goto oom;
		st->ctx[c].arms = na;
		memset(na + old, 0, add.narms * sizeof *na);
		for (i = 0; i < add.narms; i++)
			if (!(na[old + i].id = strdup(add.arms[i].id)))
				goto oom;
		if (grow_pairs(&st->ctx[c].pair, old, n) < 0)
			goto oom;
	}
	if (grow_pairs(&st->pair, old, n) < 0)
		goto oom;
	memcpy(st->arms + old, add.arms, add.narms * sizeof *add.arms);
	st->narms = n;
	free(add.arms);
	add.arms = NULL;
	add.narms = 0;
	pb_state_free(&add);
	return 0;
oom:
	/* Arrays grown so far hold the old entries unchanged; the caller
	 * discards the state, as after any error. */
	pb_state_free(&add);
	snprintf(err, PB_ERRLEN, "out of memory");
	return -1;
}

void
pb_state_add_tokens(struct pb_state *st, int i, const char *ctx, double in,
                    double out)
{
	int c = ctx ? pb_state_find_ctx(st, ctx) : -1;

	st->arms[i].tok_in += in;
	st->arms[i].tok_out += out;
	if (c >= 0) {
		st->ctx[c].arms[i].tok_in += in;
		st->ctx[c].arms[i].tok_out += out;
	}
}

int
pb_state_retire(struct pb_state *st, const char *id, char err[PB_ERRLEN])
{
	int i = pb_state_find_arm(st, id);
	size_t c, left = 0, k;

	if (i < 0) {
		snprintf(err, PB_ERRLEN, "no arm '%s' in the state", id);
		return -1;
	}
	for (k = 0; k < st->narms; k++)
		left += !st->arms[k].retired && (int)k != i;
	if (left == 0) {
		snprintf(err, PB_ERRLEN, "cannot retire '%s': it is the last arm "
		         "in the pool", id);
		return -1;
	}
	st->arms[i].retired = 1;
	for (c = 0; c < st->nctx; c++)
		st->ctx[c].arms[i].retired = 1;
	return 0;
}
