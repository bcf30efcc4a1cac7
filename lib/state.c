/* state.c - the state as plain data: its arms (from an arms file, or
 * one by one), the paired statistics (the pairs that shared tasks),
 * the groups still coming back, the contexts and a changing pool of
 * arms.  Nothing here knows a policy: the batches and cursors are
 * batch.c's, choosing and applying bandit.c's, the file format
 * statejson.c's and statefile.c's.
 *
 * Pairs cost nothing until pb-sample sends a task to more than one arm.
 * A group (one task, k arms) is kept only while some of its members are
 * out, so a pipeline that brings every group back in one pb-update leaves
 * nothing behind. */
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bandit.h"
#include "internal.h"

void
pb_state_free(struct pb_state *st)
{
	size_t i;

	for (i = 0; i < st->narms; i++) {
		free(st->arms[i].id);
		cJSON_Delete(st->arms[i].fields);
		free(st->arms[i].pstate);
	}
	free(st->arms);
	for (i = 0; i < st->nbatch; i++) {
		free(st->batch[i].left);
		free(st->batch[i].done);
		free(st->batch[i].arm);
		free(st->batch[i].pos);
	}
	free(st->batch);
	cJSON_Delete(st->merged);
	pb_tasks_free(&st->tasks);
	pb_pool_free(st);
	pb_history_free(st->hist);
	pb_index_clear(&st->armix);
	memset(st, 0, sizeof *st);
}

static uint64_t
armhash(const char *id)
{
	return pb_hash(id, strlen(id), 0xa5a5);
}

int
pb_state_find_arm(const struct pb_state *st, const char *id)
{
	size_t i, pos = 0, v;
	uint64_t h;

	if (st->armix.n != st->narms || !st->narms) {
		/* a view of some arms (pb_state_active): numbers differ */
		for (i = 0; i < st->narms; i++)
			if (!strcmp(st->arms[i].id, id))
				return (int)i;
		return -1;
	}
	h = armhash(id);
	while (pb_index_next(&st->armix, h, &pos, &v))
		if (v < st->narms && !strcmp(st->arms[v].id, id))
			return (int)v;
	return -1;
}

/* Indexes arms armix.n .. narms - 1.  -1 out of memory (the index is
 * then dropped, and lookups are linear: slower, still right). */
int
pb__arms_index(struct pb_state *st)
{
	size_t i;

	for (i = st->armix.n; i < st->narms; i++)
		if (pb_index_put(&st->armix, armhash(st->arms[i].id), i) < 0) {
			pb_index_clear(&st->armix);
			return -1;
		}
	return 0;
}


/* ---------------------------------------------------------------- new */

struct armload {
	struct pb_state *st;
	char *err;
	size_t cap;
	struct pb_tasks ids; /* the ids so far: duplicates found in O(1) */
};

static int
add_arm(cJSON *rec, const struct pb_where *at, const char *why, void *arg)
{
	struct armload *al = arg;
	struct pb_state *st = al->st;
	const char *id;
	cJSON *idv;
	struct pb_arm *a;

	if (!rec) {
		snprintf(al->err, PB_ERRLEN, "%s:%ld: %s", at->file, at->line, why);
		return 1;
	}
	idv = cJSON_GetObjectItemCaseSensitive(rec, "id");
	id = cJSON_IsString(idv) ? idv->valuestring : NULL;
	if (!id || !*id) {
		snprintf(al->err, PB_ERRLEN, "%s:%ld: arm has no \"id\" string",
		         at->file, at->line);
		cJSON_Delete(rec);
		return 1;
	}
	if (!pb_utf8_valid(id)) {
		snprintf(al->err, PB_ERRLEN, "%s:%ld: arm id is not valid UTF-8 "
		         "(a state file is JSON, which is UTF-8)", at->file, at->line);
		cJSON_Delete(rec);
		return 1;
	}
	if (pb_tasks_find(&al->ids, id) >= 0) {
		snprintf(al->err, PB_ERRLEN, "%s:%ld: duplicate arm id '%s'",
		         at->file, at->line, id);
		cJSON_Delete(rec);
		return 1;
	}
	if (pb_tasks_add(&al->ids, id, 0) < 0) {
		snprintf(al->err, PB_ERRLEN, "out of memory");
		cJSON_Delete(rec);
		return 1;
	}
	if (st->narms == al->cap) {
		size_t ncap = al->cap ? 2 * al->cap : 8;
		struct pb_arm *na = realloc(st->arms, ncap * sizeof *na);
		if (!na) {
			snprintf(al->err, PB_ERRLEN, "out of memory");
			cJSON_Delete(rec);
			return 1;
		}
		st->arms = na;
		al->cap = ncap;
	}
	a = &st->arms[st->narms];
	memset(a, 0, sizeof *a);
	if (!(a->id = strdup(id))) {
		snprintf(al->err, PB_ERRLEN, "out of memory");
		cJSON_Delete(rec);
		return 1;
	}
	a->fields = rec;
	st->narms++;
	return 0;
}

static void
random_run_id(char run[33], uint64_t seed)
{
	struct pb_rng r;
	uint64_t x = seed ^ (uint64_t)(pb_now() * 1e6) ^ ((uint64_t)getpid() << 32);
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		uint64_t u;
		if (read(fd, &u, sizeof u) == (ssize_t)sizeof u)
			x ^= u;
		close(fd);
	}
	pb_rng_seed(&r, x);
	snprintf(run, 33, "%016" PRIx64 "%016" PRIx64, pb_rng_next(&r), pb_rng_next(&r));
}

int
pb_state_new(struct pb_state *st, FILE *arms, const char *name,
             const struct pb_policy *pol, uint64_t seed, char err[PB_ERRLEN])
{
	struct armload al = { st, err, 0, { 0 } };
	int rv;

	memset(st, 0, sizeof *st);
	st->pol = *pol;
	pb_rng_seed(&st->rng, seed);
	st->next_pull = 1;
	st->pending_ttl = PB_PENDING_TTL;
	st->repeats = 1;
	st->created = pb_now();
	random_run_id(st->run, seed);
	if (!(st->merged = cJSON_CreateArray())) {
		snprintf(err, PB_ERRLEN, "out of memory");
		return -1;
	}
	rv = pb_jsonl_each(arms, name, add_arm, &al, NULL, err);
	pb_tasks_free(&al.ids);
	if (rv) {
		pb_state_free(st);
		return -1;
	}
	if (st->narms == 0) {
		snprintf(err, PB_ERRLEN, "%s: no arms", name);
		pb_state_free(st);
		return -1;
	}
	if (pb__arms_index(st) < 0) {
		snprintf(err, PB_ERRLEN, "out of memory");
		pb_state_free(st);
		return -1;
	}
	return 0;
}

int
pb_state_blank(struct pb_state *st, const char *run)
{
	memset(st, 0, sizeof *st);
	st->pol.kind = PB_POL_UNIFORM; /* no parameters */
	st->next_pull = 1;
	if (run)
		snprintf(st->run, sizeof st->run, "%s", run);
	return (st->merged = cJSON_CreateArray()) ? 0 : -1;
}

int
pb_state_new_arm(struct pb_state *st, const char *id)
{
	struct pb_arm *na = realloc(st->arms, (st->narms + 1) * sizeof *na), *a;

	if (!na)
		return -1;
	st->arms = na;
	a = &st->arms[st->narms];
	memset(a, 0, sizeof *a);
	if (!(a->id = strdup(id)) || !(a->fields = cJSON_CreateObject()) ||
	    !cJSON_AddStringToObject(a->fields, "id", id)) {
		free(a->id);
		cJSON_Delete(a->fields);
		return -1;
	}
	st->narms++;
	(void)pb__arms_index(st); /* on failure lookups are linear */
	return (int)st->narms - 1;
}

/* ---------------------------------------------------------------- pairs */


static uint64_t
pairhash(int i, int j)
{
	uint64_t x = ((uint64_t)(unsigned)i << 32 | (unsigned)j) + 0x9e3779b97f4a7c15u;

	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u; /* splitmix64's finaliser */
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
	return x ^ (x >> 31);
}

static inline size_t
tri_at(size_t k, size_t i, size_t j)
{
	return i * (2 * k - i - 1) / 2 + (j - i - 1);
}

/* Builds ps's triangle over narms arms from its slots (a pool that grew
 * past PB_PAIRS_TRI drops it).  Out of memory: none, lookups hash. */
static void
tri_build(struct pb_pairs *ps, size_t narms)
{
	size_t k;

	free(ps->tri);
	ps->tri = NULL;
	ps->tk = 0;
	if (narms < 2 || narms > PB_PAIRS_TRI ||
	    !(ps->tri = calloc(narms * (narms - 1) / 2, sizeof *ps->tri)))
		return;
	ps->tk = narms;
	for (k = 0; k < ps->n; k++)
		ps->tri[tri_at(narms, (size_t)ps->ij[k][0], (size_t)ps->ij[k][1])] =
		    (uint32_t)k + 1;
}

/* The hash index covers slots 0 .. ix.n - 1: while the triangle serves
 * the lookups it is not kept (half a million pairs of a race of 1,000
 * arms cost 17% of a pb-update to index at load), and a lookup without
 * the triangle brings it up to date first.  -1 out of memory. */
static int
ix_sync(struct pb_pairs *ps)
{
	while (ps->ix.n < ps->n) {
		size_t k = ps->ix.n;
		if (pb_index_put(&ps->ix, pairhash(ps->ij[k][0], ps->ij[k][1]), k) < 0)
			return -1;
	}
	return 0;
}

struct pb_pair *
pb__pair_get(struct pb_pairs **pp, size_t narms, int i, int j, int create)
{
	struct pb_pairs *ps = *pp;
	uint64_t h;
	size_t pos = 0, v;
	int tri = ps && ps->tri && ps->tk == narms;

	if (tri) {
		uint32_t t = ps->tri[tri_at(narms, (size_t)i, (size_t)j)];
		if (t || !create)
			return t ? &ps->p[t - 1] : NULL;
	} else {
		if (ps && ix_sync(ps) < 0)
			return NULL;
		h = pairhash(i, j);
		while (ps && pb_index_next(&ps->ix, h, &pos, &v))
			if (ps->ij[v][0] == i && ps->ij[v][1] == j)
				return &ps->p[v];
		if (!create)
			return NULL;
	}
	h = pairhash(i, j);
	if (!ps && !(ps = *pp = calloc(1, sizeof *ps)))
		return NULL;
	if (ps->n == ps->cap) {
		size_t ncap = ps->cap ? 2 * ps->cap : 16;
		struct pb_pair *np = realloc(ps->p, ncap * sizeof *np);
		int (*nij)[2];
		if (!np)
			return NULL;
		ps->p = np;
		if (!(nij = realloc(ps->ij, ncap * sizeof *nij)))
			return NULL;
		ps->ij = nij;
		ps->cap = ncap;
	}
	if (!tri && (ix_sync(ps) < 0 || pb_index_put(&ps->ix, h, ps->n) < 0))
		return NULL;
	memset(&ps->p[ps->n], 0, sizeof ps->p[ps->n]);
	ps->ij[ps->n][0] = i;
	ps->ij[ps->n][1] = j;
	ps->n++;
	if (ps->tri && ps->tk == narms)
		ps->tri[tri_at(narms, (size_t)i, (size_t)j)] = (uint32_t)ps->n;
	else if (ps->tk != narms && narms <= PB_PAIRS_TRI)
		tri_build(ps, narms); /* first pair, or the pool grew */
	return &ps->p[ps->n - 1];
}

void
pb__pairs_free(struct pb_pairs *ps)
{
	if (!ps)
		return;
	free(ps->p);
	free(ps->ij);
	free(ps->tri);
	pb_index_clear(&ps->ix);
	free(ps);
}

struct pb_pair *
pb_state_pair(const struct pb_state *st, int i, int j)
{
	struct pb_pairs *ps = st->pair;

	if (!ps || i == j || i < 0 || j < 0)
		return NULL;
	return i < j ? pb__pair_get(&ps, st->narms, i, j, 0) :
	               pb__pair_get(&ps, st->narms, j, i, 0);
}

size_t
pb_state_npairs(const struct pb_state *st)
{
	return st->pair ? st->pair->n : 0;
}

struct pb_pair *
pb_state_pair_at(const struct pb_state *st, size_t k, int *i, int *j)
{
	*i = st->pair->ij[k][0];
	*j = st->pair->ij[k][1];
	return &st->pair->p[k];
}

/* Adds the rewards of arms i and j on one task to *pp (allocated on
 * first use), oriented as pb_state_pair says. */
int
pb__pair_add(struct pb_pairs **pp, size_t narms, int i, int j, double ri,
             double rj)
{
	struct pb_pair *p = i < j ? pb__pair_get(pp, narms, i, j, 1) :
	                            pb__pair_get(pp, narms, j, i, 1);

	if (!p)
		return -1;
	if (i < j)
		pb_pair_add(p, ri, rj);
	else
		pb_pair_add(p, rj, ri);
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
	pb__pairs_free(c->pair);
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

/* A view of context c of st (pb_state_view), its "updates" those of the
 * context: the pulls, rewarded or not, of its arms. */
void
pb_state_context_view(const struct pb_state *st, size_t c, struct pb_state *v)
{
	size_t i;

	pb_state_view(st, c, v);
	v->updates = 0;
	for (i = 0; i < v->narms; i++)
		v->updates += v->arms[i].st.n + v->arms[i].errors;
}

/* ---------------------------------------------------------- active arms */


size_t
pb_state_active(const struct pb_state *st, struct pb_state *view,
                struct pb_arm *arms, int *map)
{
	return pb__active_view(st, NULL, view, arms, map);
}

/* The arms of base (a state or a context view) that may be chosen: in
 * the pool and not taken for this task yet, as a view of their own with
 * map[v] the index in base.  The view's arms are copies (pstate shared),
 * so a choice's pending count is written back by the caller. */
size_t
pb__active_view(const struct pb_state *base, const unsigned char *taken,
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

/* -------------------------------------------------------------- groups */

struct pb_group *
pb__group_find(const struct pb_state *st, long first)
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

void
pb__group_close(struct pb_state *st, struct pb_group *g)
{
	size_t at = (size_t)(g - st->open);

	group_free(g);
	memmove(g, g + 1, (st->nopen - at - 1) * sizeof *g);
	st->nopen--;
}

/* Inserts an empty group for pulls first .. first + k - 1, in order. */
struct pb_group *
pb__group_new(struct pb_state *st, long first, long k, int ctx)
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

void
pb_pool_free(struct pb_state *st)
{
	size_t i;

	pb__pairs_free(st->pair);
	for (i = 0; i < st->nopen; i++)
		group_free(&st->open[i]);
	free(st->open);
	for (i = 0; i < st->nctx; i++)
		ctx_free(&st->ctx[i], st->narms);
	free(st->ctx);
	free(st->ctx_field);
}

/* ---------------------------------------------------- a changing pool */

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
	}
	/* pairs stay: they are kept by arm number, and arms are appended */
	memcpy(st->arms + old, add.arms, add.narms * sizeof *add.arms);
	st->narms = n;
	(void)pb__arms_index(st); /* on failure lookups are linear */
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
