/* history.c - the bounded history of a run: each arm's pulls, mean and
 * selection probability at points spaced ever wider, so that a state
 * applied a million times still holds at most PB_HIST_CAP points; the
 * same for each context of a state that keeps contexts; and the merge
 * of two runs' histories.  The format is the "history" member of
 * man/pb-state.5.  It is handed the numbers it keeps (bandit.c computes
 * the selection probabilities), so it knows no policy and no state verb. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bandit.h"
#include "internal.h"

/* At most PB_HIST_CAP points are kept.  A point is taken after every
 * `stride` applied pulls (st->updates a multiple of stride, or the first
 * update past the next multiple when a merge jumps the count); when the
 * buffer is full, every other point is dropped (the later of each pair
 * stays, so the newest point always survives) and the stride doubles.
 * A million updates therefore leave between PB_HIST_CAP / 2 and
 * PB_HIST_CAP points at a stride of 2^13 or 2^14, and taking a point,
 * the only costly step (pb_policy_probs), happens about
 * PB_HIST_CAP / 2 * log2(updates / PB_HIST_CAP) times in all. */

void
pb_history_free(struct pb_history *h)
{
	size_t i;

	if (!h)
		return;
	for (i = 0; i < h->nser; i++) {
		free(h->ser[i].id);
		free(h->ser[i].pulls); /* one block holds all four arrays */
	}
	for (i = 0; i < h->nctx; i++) {
		free(h->ctxname[i]);
		pb_history_free(h->ctx[i]);
	}
	free(h->ctxname);
	free(h->ctx);
	free(h->ser);
	free(h->updates);
	pb_index_clear(&h->ix);
	free(h);
}

const struct pb_history *
pb_history_ctx(const struct pb_history *h, const char *name)
{
	size_t i;

	for (i = 0; h && i < h->nctx; i++)
		if (!strcmp(h->ctxname[i], name))
			return h->ctx[i];
	return NULL;
}

/* Context name's history in h, added (empty, stride 1) if missing; NULL
 * out of memory. */
static struct pb_history *hist_new(long stride);
static struct pb_history *
ctx_add(struct pb_history *h, const char *name)
{
	struct pb_history **nc, *c;
	char **nn, *dup;
	size_t i;

	for (i = 0; i < h->nctx; i++)
		if (!strcmp(h->ctxname[i], name))
			return h->ctx[i];
	if (!(nc = realloc(h->ctx, (h->nctx + 1) * sizeof *nc)))
		return NULL;
	h->ctx = nc;
	if (!(nn = realloc(h->ctxname, (h->nctx + 1) * sizeof *nn)))
		return NULL;
	h->ctxname = nn;
	if (!(dup = strdup(name)) || !(c = hist_new(1))) {
		free(dup);
		return NULL;
	}
	h->ctx[h->nctx] = c;
	h->ctxname[h->nctx++] = dup;
	return c;
}

static struct pb_history *
hist_new(long stride)
{
	struct pb_history *h = calloc(1, sizeof *h);

	if (!h || !(h->updates = malloc(PB_HIST_CAP * sizeof *h->updates))) {
		free(h);
		return NULL;
	}
	h->stride = stride;
	h->next = stride;
	return h;
}

static uint64_t
serhash(const char *id)
{
	return pb_hash(id, strlen(id), 0x5e41e5);
}

/* Gives s room for need points (at most PB_HIST_CAP), keeping its
 * first ones: a series of a few points takes a few places, not
 * PB_HIST_CAP (10,000 arms of 4 x 200 doubles were 64 MB to touch).
 * -1 out of memory. */
static int
ser_room(struct pb_hist_series *s, size_t need)
{
	size_t room = s->room ? s->room : 4, m;
	double *block, *old[4] = { s->pulls, s->mean, s->var, s->prob };

	if (need <= s->room)
		return 0;
	while (room < need)
		room *= 2;
	if (room > PB_HIST_CAP)
		room = PB_HIST_CAP;
	if (!(block = malloc(4 * room * sizeof *block)))
		return -1;
	for (m = 0; m < 4 && s->room; m++)
		memcpy(block + m * room, old[m], s->room * sizeof *block);
	free(s->pulls); /* one block holds all four arrays */
	s->pulls = block;
	s->mean = block + room;
	s->var = block + 2 * room;
	s->prob = block + 3 * room;
	s->room = room;
	return 0;
}

/* Adds a series for id with NAN at every point so far, and room for
 * one more.  h->ser grows by doubling (its room: nser rounded up to a
 * power of two), not by one a series: 10,000 arms made that quadratic. */
static struct pb_hist_series *
series_add(struct pb_history *h, const char *id)
{
	struct pb_hist_series *s;
	size_t k;

	if (h->nser == 0 || (h->nser & (h->nser - 1)) == 0) {
		struct pb_hist_series *ns = realloc(h->ser, (h->nser ? 2 * h->nser : 1) *
		                                    sizeof *ns);
		if (!ns)
			return NULL;
		h->ser = ns;
	}
	s = &h->ser[h->nser];
	memset(s, 0, sizeof *s);
	if (ser_room(s, h->n + 1 < PB_HIST_CAP ? h->n + 1 : PB_HIST_CAP) < 0)
		return NULL;
	if (!(s->id = strdup(id))) {
		free(s->pulls);
		return NULL;
	}
	for (k = 0; k < h->n; k++)
		s->pulls[k] = s->mean[k] = s->var[k] = s->prob[k] = NAN;
	if (pb_index_put(&h->ix, serhash(id), h->nser) < 0) {
		free(s->id);
		free(s->pulls);
		return NULL;
	}
	h->nser++;
	return s;
}

const struct pb_hist_series *
pb_history_find(const struct pb_history *h, const char *id)
{
	size_t pos = 0, v;
	uint64_t x;

	if (!h)
		return NULL;
	x = serhash(id);
	while (pb_index_next(&h->ix, x, &pos, &v))
		if (v < h->nser && !strcmp(h->ser[v].id, id))
			return &h->ser[v];
	return NULL;
}

/* The series of arm i of the state: usually series i, as arms are
 * rarely added or retired. */
static struct pb_hist_series *
series_for(struct pb_history *h, const char *id, size_t hint)
{
	const struct pb_hist_series *s;

	if (hint < h->nser && !strcmp(h->ser[hint].id, id))
		return &h->ser[hint];
	if ((s = pb_history_find(h, id)))
		return &h->ser[s - h->ser];
	return series_add(h, id);
}

/* Keeps points 1, 3, 5, ... (the later of each pair) and doubles the
 * stride. */
static void
halve(struct pb_history *h)
{
	size_t j, i;

	for (j = 0; 2 * j + 1 < h->n; j++) {
		h->updates[j] = h->updates[2 * j + 1];
		for (i = 0; i < h->nser; i++) {
			struct pb_hist_series *s = &h->ser[i];
			s->pulls[j] = s->pulls[2 * j + 1];
			s->mean[j] = s->mean[2 * j + 1];
			s->var[j] = s->var[2 * j + 1];
			s->prob[j] = s->prob[2 * j + 1];
		}
	}
	h->n = j;
	h->stride *= 2;
}

static void
set_next(struct pb_history *h)
{
	long last = h->n ? (long)h->updates[h->n - 1] : 0;

	h->next = (last / h->stride + 1) * h->stride;
}

/* Six decimals are plenty for a plot, and keep the file small. */
static double
r6(double x)
{
	return isfinite(x) ? round(x * 1e6) / 1e6 : x;
}

/* The least stride for a pool of narms arms: 1 up to PB_HIST_DENSE
 * arms, else the power of two at or above narms / PB_HIST_DENSE.  A
 * point costs O(narms) here and the policy's probabilities (O(narms) or
 * more) in bandit.c, so a point every narms / 64 pulls keeps that cost
 * per pull bounded however large the pool. */
long
pb_history_min_stride(size_t narms)
{
	long s = 1;

	while ((size_t)s * PB_HIST_DENSE < narms)
		s *= 2;
	return s;
}

int
pb_history_point(struct pb_history **hp, long updates,
                 const struct pb_arm *arms, size_t narms, const double *prob)
{
	struct pb_history *h = *hp;
	long want = pb_history_min_stride(narms);
	size_t i, k;

	if (!h && !(h = *hp = hist_new(want)))
		return -1;
	while (h->stride < want) /* a pool grown, or a state from before */
		halve(h);
	/* A second point at the same count replaces the first. */
	if (h->n > 0 && h->updates[h->n - 1] >= (double)updates)
		h->n--;
	else if (h->n == PB_HIST_CAP)
		halve(h);
	k = h->n;
	for (i = 0; i < h->nser; i++) {
		if (ser_room(&h->ser[i], k + 1) < 0)
			return -1;
		h->ser[i].pulls[k] = h->ser[i].mean[k] = NAN;
		h->ser[i].var[k] = h->ser[i].prob[k] = NAN;
	}
	for (i = 0; i < narms; i++) {
		const struct pb_arm *a = &arms[i];
		struct pb_hist_series *s = series_for(h, a->id, i);
		if (!s)
			return -1;
		s->pulls[k] = (double)a->st.n;
		s->mean[k] = r6(pb_stats_mean(&a->st));
		s->var[k] = r6(pb_stats_var(&a->st));
		s->prob[k] = r6(prob[i]);
	}
	h->updates[k] = (double)updates;
	h->n++;
	set_next(h);
	return 0;
}

struct pb_history *
pb_history_ctx_add(struct pb_history *h, const char *name)
{
	return ctx_add(h, name);
}

int
pb_history_due(struct pb_history *h, long updates, size_t narms)
{
	if (!h && updates % pb_history_min_stride(narms))
		return 0; /* the first point of a large pool: at a multiple */
	if (h && updates < h->next)
		return 0;
	if (h && h->n == PB_HIST_CAP) {
		halve(h);
		set_next(h);
		if (updates < h->next)
			return 0;
	}
	return 1;
}

/* For stateread.c's reader of the history (internal.h). */
struct pb_history *
pb__history_new(long stride)
{
	return hist_new(stride);
}

struct pb_hist_series *
pb__history_series_add(struct pb_history *h, const char *id)
{
	return series_add(h, id);
}

void
pb__history_done(struct pb_history *h)
{
	set_next(h);
}

/* ------------------------------------------------------------- JSON */

static cJSON *
series_json(const double *v, size_t n)
{
	cJSON *a = cJSON_CreateArray();
	size_t k;

	for (k = 0; a && k < n; k++)
		cJSON_AddItemToArray(a, isfinite(v[k]) ? cJSON_CreateNumber(v[k]) :
		                     cJSON_CreateNull());
	return a;
}

static int
same(double a, double b)
{
	return a == b || (isnan(a) && isnan(b));
}

/* Series s in the sparse form: "at", the points where any of its four
 * numbers changed (the first point always), and the numbers there. */
static cJSON *
series_sparse(const struct pb_hist_series *s, size_t n)
{
	cJSON *a = cJSON_CreateObject(), *at = cJSON_AddArrayToObject(a, "at"),
	      *v[4];
	const double *src[4] = { s->pulls, s->mean, s->var, s->prob };
	static const char *key[4] = { "pulls", "mean", "var", "prob" };
	size_t k;
	int m;

	for (m = 0; m < 4; m++)
		v[m] = cJSON_AddArrayToObject(a, key[m]);
	for (k = 0; k < n; k++) {
		if (k > 0 && same(s->pulls[k], s->pulls[k - 1]) &&
		    same(s->mean[k], s->mean[k - 1]) && same(s->var[k], s->var[k - 1]) &&
		    same(s->prob[k], s->prob[k - 1]))
			continue;
		cJSON_AddItemToArray(at, cJSON_CreateNumber((double)k));
		for (m = 0; m < 4; m++)
			cJSON_AddItemToArray(v[m], isfinite(src[m][k]) ?
			                     cJSON_CreateNumber(src[m][k]) : cJSON_CreateNull());
	}
	return a;
}

cJSON *
pb_history_to_json(const struct pb_history *h)
{
	cJSON *o = cJSON_CreateObject(), *arms, *a;
	size_t i;

	if (!o)
		return NULL;
	cJSON_AddNumberToObject(o, "stride", (double)h->stride);
	cJSON_AddItemToObject(o, "updates", series_json(h->updates, h->n));
	arms = cJSON_AddObjectToObject(o, "arms");
	for (i = 0; i < h->nser; i++) {
		const struct pb_hist_series *s = &h->ser[i];
		if (h->nser > PB_HIST_DENSE) {
			cJSON_AddItemToObject(arms, s->id, series_sparse(s, h->n));
			continue;
		}
		a = cJSON_CreateObject();
		cJSON_AddItemToObject(a, "pulls", series_json(s->pulls, h->n));
		cJSON_AddItemToObject(a, "mean", series_json(s->mean, h->n));
		cJSON_AddItemToObject(a, "var", series_json(s->var, h->n));
		cJSON_AddItemToObject(a, "prob", series_json(s->prob, h->n));
		cJSON_AddItemToObject(arms, s->id, a);
	}
	if (h->nctx) {
		cJSON *c = cJSON_AddObjectToObject(o, "contexts");
		for (i = 0; c && i < h->nctx; i++)
			cJSON_AddItemToObject(c, h->ctxname[i], pb_history_to_json(h->ctx[i]));
	}
	return o;
}

/* Reads array key of o (n numbers or nulls) into v; a missing optional
 * array leaves NANs. */
static int
read_series(const cJSON *o, const char *key, double *v, size_t n, int need)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, key), *x;
	size_t k = 0;

	if (!a)
		return need ? -1 : 0;
	if (!cJSON_IsArray(a) || (size_t)cJSON_GetArraySize(a) != n)
		return -1;
	cJSON_ArrayForEach(x, a) {
		if (cJSON_IsNumber(x) && isfinite(x->valuedouble))
			v[k] = x->valuedouble;
		else if (cJSON_IsNull(x))
			v[k] = NAN;
		else
			return -1;
		k++;
	}
	return 0;
}

/* A series in the sparse form (series_sparse) into s, over n points:
 * "at" increasing point numbers below n, the four arrays as long (var
 * optional), each value holding from its point to the next one's. */
static int
read_sparse(const cJSON *o, struct pb_hist_series *s, size_t n)
{
	const cJSON *at = cJSON_GetObjectItemCaseSensitive(o, "at"), *x;
	double *dst[4] = { s->pulls, s->mean, s->var, s->prob }, *tmp, *pt;
	static const char *key[4] = { "pulls", "mean", "var", "prob" };
	size_t m, na, k, q;
	int rv = -1;

	if (!cJSON_IsArray(at))
		return -1;
	na = (size_t)cJSON_GetArraySize(at);
	if (na > n || !(tmp = malloc(5 * (na ? na : 1) * sizeof *tmp)))
		return -1;
	pt = tmp + 4 * (na ? na : 1);
	k = 0;
	cJSON_ArrayForEach(x, at) {
		if (!cJSON_IsNumber(x) || x->valuedouble != floor(x->valuedouble) ||
		    x->valuedouble < (k ? pt[k - 1] + 1 : 0) || x->valuedouble >= (double)n)
			goto out;
		pt[k++] = x->valuedouble;
	}
	for (m = 0; m < 4; m++)
		if (read_series(o, key[m], tmp + m * na, na, m != 2) < 0)
			goto out;
	if (!cJSON_GetObjectItemCaseSensitive(o, "var"))
		for (k = 0; k < na; k++)
			tmp[2 * na + k] = NAN;
	for (k = 0; k < na; k++)
		for (q = (size_t)pt[k]; q < (k + 1 < na ? (size_t)pt[k + 1] : n); q++)
			for (m = 0; m < 4; m++)
				dst[m][q] = tmp[m * na + k];
	rv = 0;
out:
	free(tmp);
	return rv;
}

int
pb_history_from_json(struct pb_history **out, const cJSON *o,
                     char err[PB_ERRLEN])
{
	const cJSON *stride, *upd, *arms, *a;
	struct pb_history *h;
	size_t n, k;

	*out = NULL;
	if (!o)
		return 0;
	stride = cJSON_GetObjectItemCaseSensitive(o, "stride");
	upd = cJSON_GetObjectItemCaseSensitive(o, "updates");
	arms = cJSON_GetObjectItemCaseSensitive(o, "arms");
	if (!cJSON_IsObject(o) || !cJSON_IsNumber(stride) ||
	    stride->valuedouble < 1 || stride->valuedouble > 1e15 ||
	    stride->valuedouble != floor(stride->valuedouble) ||
	    !cJSON_IsArray(upd) || !cJSON_IsObject(arms)) {
		snprintf(err, PB_ERRLEN, "history: needs a stride, an updates "
		         "array and an arms object");
		return -1;
	}
	n = (size_t)cJSON_GetArraySize(upd);
	if (n > PB_HIST_CAP) {
		snprintf(err, PB_ERRLEN, "history: more than %d points", PB_HIST_CAP);
		return -1;
	}
	if (!(h = hist_new((long)stride->valuedouble))) {
		snprintf(err, PB_ERRLEN, "out of memory");
		return -1;
	}
	h->n = n;
	if (read_series(o, "updates", h->updates, n, 1) < 0)
		goto bad;
	for (k = 0; k < n; k++)
		if (isnan(h->updates[k]) || h->updates[k] < 0 ||
		    (k > 0 && h->updates[k] <= h->updates[k - 1]))
			goto bad;
	cJSON_ArrayForEach(a, arms) {
		struct pb_hist_series *s;
		if (!cJSON_IsObject(a) || pb_history_find(h, a->string))
			goto bad;
		if (!(s = series_add(h, a->string))) {
			pb_history_free(h);
			snprintf(err, PB_ERRLEN, "out of memory");
			return -1;
		}
		if (cJSON_GetObjectItemCaseSensitive(a, "at") ?
		    read_sparse(a, s, n) < 0 :
		    read_series(a, "pulls", s->pulls, n, 1) < 0 ||
		    read_series(a, "mean", s->mean, n, 1) < 0 ||
		    read_series(a, "var", s->var, n, 0) < 0 ||
		    read_series(a, "prob", s->prob, n, 1) < 0)
			goto bad;
	}
	{
		const cJSON *ctxs = cJSON_GetObjectItemCaseSensitive(o, "contexts"), *c;
		if (ctxs && !cJSON_IsObject(ctxs))
			goto bad;
		cJSON_ArrayForEach(c, ctxs) {
			struct pb_history *sub, **slot;
			if (!cJSON_IsObject(c) || pb_history_ctx(h, c->string) ||
			    cJSON_GetObjectItemCaseSensitive(c, "contexts"))
				goto bad;
			if (!ctx_add(h, c->string)) {
				pb_history_free(h);
				snprintf(err, PB_ERRLEN, "out of memory");
				return -1;
			}
			slot = &h->ctx[h->nctx - 1];
			if (pb_history_from_json(&sub, c, err) < 0) {
				pb_history_free(h);
				return -1;
			}
			pb_history_free(*slot);
			*slot = sub;
		}
	}
	set_next(h);
	*out = h;
	return 0;
bad:
	pb_history_free(h);
	snprintf(err, PB_ERRLEN, "history: malformed (arrays of numbers or "
	         "nulls, one per point, updates increasing)");
	return -1;
}

/* ------------------------------------------------------------ merge */

/* The last point of h at or before fraction f of its run of total
 * updates, or -1 when there is none (the run had not begun). */
static long
point_at(const struct pb_history *h, double total, double f)
{
	long k = -1;
	size_t i;

	for (i = 0; h && i < h->n && total > 0; i++)
		if (h->updates[i] / total <= f + 1e-12)
			k = (long)i;
	return k;
}

/* The series of id in h (NULL: none), looked for first at index hint,
 * where it nearly always is: a merge of 10,000 arms stays linear. */
static const struct pb_hist_series *
find_near(const struct pb_history *h, const char *id, size_t hint)
{
	if (h && hint < h->nser && !strcmp(h->ser[hint].id, id))
		return &h->ser[hint];
	return pb_history_find(h, id);
}

/* Sets point k of series out from the points ka of a and kb of b (-1:
 * nothing yet): pulls added, means and variances pooled, the selection
 * probabilities averaged with the updates as weights. */
static void
pool_point(struct pb_hist_series *out, size_t k,
           const struct pb_hist_series *a, long ka, double ua,
           const struct pb_hist_series *b, long kb, double ub)
{
	double n = 0, sum = 0, ss = 0, pw = 0, pr = 0;
	const struct pb_hist_series *s[2] = { a, b };
	long at[2] = { ka, kb };
	double u[2] = { ua, ub };
	int j, any = 0;

	for (j = 0; j < 2; j++) {
		double m, v, c;
		if (!s[j] || at[j] < 0 || isnan(s[j]->pulls[at[j]]))
			continue;
		any = 1;
		c = s[j]->pulls[at[j]];
		m = isnan(s[j]->mean[at[j]]) ? 0 : s[j]->mean[at[j]];
		v = isnan(s[j]->var[at[j]]) ? 0 : s[j]->var[at[j]];
		n += c;
		sum += c * m;
		ss += (c > 1 ? (c - 1) * v : 0) + c * m * m;
		if (!isnan(s[j]->prob[at[j]])) {
			pr += u[j] * s[j]->prob[at[j]];
			pw += u[j];
		}
	}
	if (!any)
		return;
	out->pulls[k] = n;
	out->mean[k] = n > 0 ? r6(sum / n) : 0;
	out->var[k] = n > 1 ? r6(fmax(0, (ss - sum * sum / n) / (n - 1))) : NAN;
	out->prob[k] = pw > 0 ? r6(pr / pw) : NAN;
}

/* The histories a (of ta updates; may be NULL) and b (of tb > 0) laid
 * side by side: a new history, or NULL out of memory. */
static struct pb_history *
merge_two(const struct pb_history *a, double ta, const struct pb_history *b,
          double tb, const struct pb_state *st)
{
	double *fr;
	struct pb_history *m;
	size_t nf = 0, i, j, k;

	if (!(fr = malloc((2 * PB_HIST_CAP) * sizeof *fr)))
		return NULL;
	/* the progress fractions of both runs' points, in order */
	for (i = 0; a && ta > 0 && i < a->n; i++)
		fr[nf++] = a->updates[i] / ta;
	for (i = 0; i < b->n; i++)
		fr[nf++] = b->updates[i] / tb;
	for (i = 1; i < nf; i++)
		for (j = i; j > 0 && fr[j - 1] > fr[j]; j--) {
			double t = fr[j];
			fr[j] = fr[j - 1];
			fr[j - 1] = t;
		}
	if (!(m = hist_new(a && a->stride > b->stride ? a->stride : b->stride))) {
		free(fr);
		return NULL;
	}
	for (i = 0; i < nf; i++) {
		long ka, kb;
		double ua, ub;
		if (i > 0 && fr[i] - fr[i - 1] < 1e-12)
			continue;
		if (m->n == PB_HIST_CAP)
			halve(m);
		ka = point_at(a, ta, fr[i]);
		kb = point_at(b, tb, fr[i]);
		ua = ka >= 0 ? a->updates[ka] : 0;
		ub = kb >= 0 ? b->updates[kb] : 0;
		if (m->n && ua + ub <= m->updates[m->n - 1])
			continue;
		k = m->n;
		m->updates[k] = ua + ub;
		for (j = 0; j < st->narms; j++) {
			const char *id = st->arms[j].id;
			struct pb_hist_series *s = series_for(m, id, j);
			if (!s || ser_room(s, k + 1) < 0) {
				free(fr);
				pb_history_free(m);
				return NULL;
			}
			s->pulls[k] = s->mean[k] = s->var[k] = s->prob[k] = NAN;
			pool_point(s, k, find_near(a, id, j), ka, ua,
			           find_near(b, id, j), kb, ub);
		}
		m->n++;
	}
	free(fr);
	set_next(m);
	return m;
}

static double
last_updates(const struct pb_history *h)
{
	return h && h->n ? h->updates[h->n - 1] : 0;
}

int
pb_history_merge(struct pb_state *st, const struct pb_state *other)
{
	struct pb_history *a = st->hist, *m, *c;
	const struct pb_history *b = other->hist;
	size_t i;

	if (!b || b->n == 0 || other->updates <= 0)
		return 0; /* nothing to add: st's history stands */
	if (!(m = merge_two(a, (double)st->updates, b, (double)other->updates, st)))
		return -1;
	/* each context: merged where both have it, else the one there is */
	for (i = 0; i < b->nctx; i++) {
		const struct pb_history *ca = pb_history_ctx(a, b->ctxname[i]);
		struct pb_history **slot;
		if (!b->ctx[i] || !b->ctx[i]->n)
			continue;
		if (!(c = merge_two(ca, last_updates(ca), b->ctx[i], last_updates(b->ctx[i]), st)) ||
		    !ctx_add(m, b->ctxname[i])) {
			pb_history_free(c);
			pb_history_free(m);
			return -1;
		}
		slot = &m->ctx[m->nctx - 1];
		pb_history_free(*slot);
		*slot = c;
	}
	for (i = 0; a && i < a->nctx; i++) {
		struct pb_history **slot;
		if (pb_history_ctx(m, a->ctxname[i]))
			continue;
		if (!ctx_add(m, a->ctxname[i])) {
			pb_history_free(m);
			return -1;
		}
		slot = &m->ctx[m->nctx - 1];
		pb_history_free(*slot);
		*slot = a->ctx[i]; /* moved: st's old history gives it up */
		a->ctx[i] = NULL;
	}
	pb_history_free(st->hist);
	st->hist = m;
	return 0;
}
