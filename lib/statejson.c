/* statejson.c - the state as the JSON tree of man/pb-state.5, and the
 * loaders of its parts (arms' statistics, pairs, groups, contexts).  The
 * file around it (lock, read, validate, atomic save) is statefile.c's. */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bandit.h"
#include "internal.h"

/* ---------------------------------------------------------- serialise */

/* The policy and its parameters (pb_policy_params: the parser's table). */
cJSON *
pb_policy_json(const struct pb_policy *p)
{
	cJSON *o = cJSON_CreateObject();
	struct pb_policy copy = *p;
	size_t i;

	cJSON_AddStringToObject(o, "name", pb_policy_name(p->kind));
	for (i = 0; i < pb_policy_nparams; i++)
		if (pb_policy_params[i].kind == p->kind)
			cJSON_AddNumberToObject(o, pb_policy_params[i].key,
			                        *pb_policy_field(&copy, &pb_policy_params[i]));
	return o;
}

cJSON *
pb_state_to_json(const struct pb_state *st)
{
	cJSON *o = cJSON_CreateObject(), *arr, *a, *p;
	char hex[17];
	size_t i;

	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "format", PB_STATE_FORMAT);
	cJSON_AddNumberToObject(o, "version", PB_STATE_VERSION);
	cJSON_AddStringToObject(o, "run", st->run);
	cJSON_AddNumberToObject(o, "created", st->created);
	cJSON_AddItemToObject(o, "policy", pb_policy_json(&st->pol));
	arr = cJSON_AddArrayToObject(o, "rng");
	for (i = 0; i < 4; i++) {
		snprintf(hex, sizeof hex, "%016" PRIx64, st->rng.s[i]);
		cJSON_AddItemToArray(arr, cJSON_CreateString(hex));
	}
	cJSON_AddNumberToObject(o, "next_pull", (double)st->next_pull);
	cJSON_AddNumberToObject(o, "updates", (double)st->updates);
	cJSON_AddNumberToObject(o, "pending_ttl", st->pending_ttl);
	cJSON_AddNumberToObject(o, "repeats", (double)(st->repeats > 0 ? st->repeats : 1));
	arr = cJSON_AddArrayToObject(o, "arms");
	for (i = 0; i < st->narms; i++) {
		const struct pb_arm *arm = &st->arms[i];
		a = cJSON_CreateObject();
		cJSON_AddStringToObject(a, "id", arm->id);
		pb_arm_stats_json(st, arm, a);
		if (arm->retired)
			cJSON_AddBoolToObject(a, "retired", 1);
		cJSON_AddItemToObject(a, "fields", cJSON_Duplicate(arm->fields, 1));
		cJSON_AddItemToArray(arr, a);
	}
	arr = cJSON_AddArrayToObject(o, "pending");
	for (i = 0; i < st->nbatch; i++) {
		const struct pb_batch *b = &st->batch[i];
		cJSON *left, *done, *arms, *tasks;
		size_t k;

		p = cJSON_CreateObject();
		cJSON_AddNumberToObject(p, "first", (double)b->first);
		cJSON_AddNumberToObject(p, "n", (double)b->n);
		if (b->k > 1)
			cJSON_AddNumberToObject(p, "k", (double)b->k);
		cJSON_AddNumberToObject(p, "t", b->t);
		left = cJSON_AddObjectToObject(p, "left");
		for (k = 0; k < st->narms; k++)
			if (b->left[k])
				cJSON_AddNumberToObject(left, st->arms[k].id, (double)b->left[k]);
		arms = cJSON_AddArrayToObject(p, "arms");
		tasks = cJSON_AddArrayToObject(p, "tasks");
		for (k = 0; k < (size_t)b->n; k++) {
			cJSON_AddItemToArray(arms, cJSON_CreateNumber(b->arm[k]));
			cJSON_AddItemToArray(tasks, cJSON_CreateNumber((double)b->pos[k]));
		}
		done = cJSON_AddArrayToObject(p, "done");
		for (k = 0; k < b->ndone; k++) {
			cJSON *r = cJSON_CreateArray();
			cJSON_AddItemToArray(r, cJSON_CreateNumber((double)b->done[k][0]));
			cJSON_AddItemToArray(r, cJSON_CreateNumber((double)b->done[k][1]));
			cJSON_AddItemToArray(done, r);
		}
		cJSON_AddItemToArray(arr, p);
	}
	cJSON_AddItemToObject(o, "merged", cJSON_Duplicate(st->merged, 1));
	if (st->pair)
		cJSON_AddItemToObject(o, "pairs", pb_pairs_json(st, st->pair));
	if (st->nopen)
		cJSON_AddItemToObject(o, "groups", pb_groups_json(st));
	if (st->ctx_field)
		cJSON_AddItemToObject(o, "contexts", pb_ctx_json(st));
	else
		cJSON_AddItemToObject(o, "tasks", pb_tasks_json(&st->tasks));
	if (st->hist)
		cJSON_AddItemToObject(o, "history", pb_history_to_json(st->hist));
	return o;
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

static const struct pb_pairs *cmp_pairs;

static int
cmp_slot(const void *x, const void *y)
{
	const int *a = cmp_pairs->ij[*(const size_t *)x], *b = cmp_pairs->ij[*(const size_t *)y];

	return a[0] != b[0] ? (a[0] > b[0]) - (a[0] < b[0]) : (a[1] > b[1]) - (a[1] < b[1]);
}

/* The slots of pair's pairs in the order of their arms (as a triangle
 * over the arms would list them, so files do not depend on arrival
 * order): malloc'd, pair->n of them; NULL when none or out of memory. */
size_t *
pb__pairs_order(const struct pb_pairs *pair)
{
	size_t k, *ord;

	if (!pair || !pair->n || !(ord = malloc(pair->n * sizeof *ord)))
		return NULL;
	for (k = 0; k < pair->n; k++)
		ord[k] = k;
	/* read from a file and added to, the slots are mostly in order
	 * already: sort only when they are not */
	cmp_pairs = pair;
	for (k = 1; k < pair->n; k++)
		if (cmp_slot(&ord[k - 1], &ord[k]) > 0)
			break;
	if (k < pair->n)
		qsort(ord, pair->n, sizeof *ord, cmp_slot);
	return ord;
}


/* Whether a pair's counts cannot be: tasks n, wins w and losses l whole
 * numbers with w + l <= n <= PB_MAX_COUNT, and its fractional part fr
 * (positive and negative counts, their sum and sum of squares) within
 * the wins and losses.  Both readers of the pairs ask it. */
int
pb__pair_counts_bad(double n, double w, double l, const double fr[4])
{
	return w + l > n || n > PB_MAX_COUNT || n != floor(n) || w != floor(w) ||
	       l != floor(l) || fr[0] < 0 || fr[1] < 0 || fr[0] != floor(fr[0]) ||
	       fr[1] != floor(fr[1]) || fr[0] > w || fr[1] > l || fr[3] < 0 ||
	       fr[3] > fr[0] + fr[1] || fabs(fr[2]) > fr[0] + fr[1];
}

/* Fills pair p with numbers pb__pair_counts_bad accepted (its cached
 * martingale is the caller's: pb_pair_refresh). */
void
pb__pair_set(struct pb_pair *p, double n, double sum, double sumsq, double w,
             double l, const double fr[4])
{
	p->n = (long)n;
	p->sum = sum;
	p->sumsq = sumsq;
	p->b = (long)w;
	p->c = (long)l;
	p->fpos = (long)fr[0];
	p->fneg = (long)fr[1];
	p->fsum = fr[2];
	p->fsumsq = fr[3];
}

/* The pairs with tasks, in pb__pairs_order. */
cJSON *
pb_pairs_json(const struct pb_state *st, const struct pb_pairs *pair)
{
	cJSON *arr = cJSON_CreateArray(), *o, *ids;
	size_t k, *ord = pb__pairs_order(pair);

	if (pair && pair->n && !ord) {
		cJSON_Delete(arr);
		return NULL;
	}
	for (k = 0; pair && k < pair->n; k++) {
		const struct pb_pair *p = &pair->p[ord[k]];
		size_t i = (size_t)pair->ij[ord[k]][0], j = (size_t)pair->ij[ord[k]][1];
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
	free(ord);
	return arr;
}

int
pb_pairs_load(struct pb_state *st, struct pb_pairs **pair, const cJSON *arr,
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
		    num(o, "losses", &l) || !cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(o, "sum")))
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
		if (pb__pair_counts_bad(n, w, l, fr))
			goto bad;
		if (!(p = pb__pair_get(pair, st->narms, i, j, 1))) {
			snprintf(err, PB_ERRLEN, "out of memory");
			return -1;
		}
		pb__pair_set(p, n, sum, sumsq, w, l, fr);
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
		if (!(g = pb__group_new(st, (long)first, (long)k, c))) {
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
