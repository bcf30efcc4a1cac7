/* statepart.c - the fast state reader's parts that are not arms, pairs
 * or tasks (stateread.c): the history and the pending batches, read
 * straight into the structs and checked as history.c and statefile.c
 * check them; -1 on anything else, for the cJSON loader to judge. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bandit.h"
#include "internal.h"
#include "statescan.h"

/* ------------------------------------------------------------- history */

/* An array of numbers or nulls (NAN), at most PB_HIST_CAP: *n of them. */
static int
series(struct pb__scan *r, double *v, size_t *n)
{
	*n = 0;
	if (!eat(r, '['))
		return -1;
	if (eat(r, ']'))
		return 0;
	do {
		if (*n == PB_HIST_CAP)
			return -1;
		ws(r);
		if (!strncmp(r->p, "null", 4)) {
			r->p += 4;
			v[(*n)++] = NAN;
		} else if (num(r, &v[*n]) < 0 || !isfinite(v[*n])) {
			return -1;
		} else {
			(*n)++;
		}
	} while (eat(r, ','));
	return eat(r, ']') ? 0 : -1;
}

struct serrd {
	double v[5][PB_HIST_CAP]; /* at, pulls, mean, var, prob */
	size_t n[5];
	unsigned seen;
};

static int
ser_member(struct pb__scan *r, const char *k, size_t kn, void *arg)
{
	struct serrd *sr = arg;
	int m;

	if (KEY(k, "at")) m = 0;
	else if (KEY(k, "pulls")) m = 1;
	else if (KEY(k, "mean")) m = 2;
	else if (KEY(k, "var")) m = 3;
	else if (KEY(k, "prob")) m = 4;
	else
		return -1;
	if (sr->seen & (1u << m))
		return -1;
	sr->seen |= 1u << m;
	return series(r, sr->v[m], &sr->n[m]);
}

struct histrd {
	struct pb_history *h;
	struct serrd *sr;
	unsigned seen;
	double stride;
	int sub; /* a context's history: no contexts of its own */
};

static int hist_member(struct pb__scan *r, const char *k, size_t kn, void *arg);

/* One context's history, as pb_history_from_json reads it. */
static int
hist_ctx(struct pb__scan *r, const char *k, size_t kn, void *arg)
{
	struct histrd *hr = arg, sub = { NULL, hr->sr, 0, 0, 1 };
	struct pb_history *h = hr->h;
	char name[256];

	if (kn >= sizeof name)
		return -1;
	memcpy(name, k, kn);
	name[kn] = '\0';
	if (pb_history_ctx(h, name) || !pb_history_ctx_add(h, name))
		return -1;
	if (object(r, hist_member, &sub) < 0 || sub.seen != 7) {
		pb_history_free(sub.h);
		return -1;
	}
	pb__history_done(sub.h);
	pb_history_free(h->ctx[h->nctx - 1]);
	h->ctx[h->nctx - 1] = sub.h;
	return 0;
}

/* One arm's series, checked as history.c's read_series and read_sparse
 * check it. */
static int
hist_arm(struct pb__scan *r, const char *k, size_t kn, void *arg)
{
	struct histrd *hr = arg;
	struct pb_history *h = hr->h;
	struct serrd *sr = hr->sr;
	struct pb_hist_series *s;
	double *dst[4];
	char id[256];
	size_t m, q, j, n = h->n;

	if (kn >= sizeof id)
		return -1;
	memcpy(id, k, kn);
	id[kn] = '\0';
	sr->seen = 0;
	if (pb_history_find(h, id) || object(r, ser_member, sr) < 0 ||
	    !(s = pb__history_series_add(h, id)))
		return -1;
	dst[0] = s->pulls, dst[1] = s->mean, dst[2] = s->var, dst[3] = s->prob;
	if ((sr->seen & 0x16) != 0x16)
		return -1; /* pulls, mean and prob are wanted */
	if (!(sr->seen & 1)) {
		for (m = 1; m < 5; m++)
			if ((sr->seen & (1u << m)) && sr->n[m] != n)
				return -1;
		for (m = 1; m < 5; m++)
			if (sr->seen & (1u << m))
				memcpy(dst[m - 1], sr->v[m], n * sizeof(double));
		return 0;
	}
	/* sparse: "at" increasing below n, each value holding to the next */
	for (j = 0; j < sr->n[0]; j++) {
		double a = sr->v[0][j];
		if (isnan(a) || a != floor(a) || a < (j ? sr->v[0][j - 1] + 1 : 0) ||
		    a >= (double)n)
			return -1;
	}
	for (m = 1; m < 5; m++)
		if ((sr->seen & (1u << m)) && sr->n[m] != sr->n[0])
			return -1;
	if (!(sr->seen & 8))
		for (j = 0; j < sr->n[0]; j++)
			sr->v[3][j] = NAN;
	for (j = 0; j < sr->n[0]; j++)
		for (q = (size_t)sr->v[0][j]; q < (j + 1 < sr->n[0] ?
		     (size_t)sr->v[0][j + 1] : n); q++)
			for (m = 0; m < 4; m++)
				dst[m][q] = sr->v[m + 1][j];
	return 0;
}

static int
hist_member(struct pb__scan *r, const char *k, size_t kn, void *arg)
{
	struct histrd *hr = arg;
	size_t n, j;
	double *u;

	if (KEY(k, "stride")) {
		if (hr->seen & 1)
			return -1;
		hr->seen |= 1;
		return num(r, &hr->stride) < 0 || hr->stride < 1 || hr->stride > 1e15 ||
		       hr->stride != floor(hr->stride) ? -1 : 0;
	}
	if (KEY(k, "updates")) {
		/* stride first, as the writer puts it: the history is made here */
		if (hr->seen != 1 || !(hr->h = pb__history_new((long)hr->stride)))
			return -1;
		hr->seen |= 2;
		u = hr->h->updates;
		if (series(r, u, &n) < 0)
			return -1;
		for (j = 0; j < n; j++)
			if (isnan(u[j]) || u[j] < 0 || (j > 0 && u[j] <= u[j - 1]))
				return -1;
		hr->h->n = n;
		return 0;
	}
	if (KEY(k, "arms")) {
		if (hr->seen != 3)
			return -1;
		hr->seen |= 4;
		return object(r, hist_arm, hr);
	}
	if (KEY(k, "contexts") && hr->seen == 7 && !hr->sub) {
		hr->seen |= 8;
		return object(r, hist_ctx, hr);
	}
	return -1; /* what the loader would ignore: its own */
}

int
pb__read_history(struct pb__scan *r, struct pb_state *st)
{
	struct histrd hr = { NULL, malloc(sizeof(struct serrd)), 0, 0, 0 };
	int rv = -1;

	if (hr.sr && object(r, hist_member, &hr) == 0 && (hr.seen | 8) == 15) {
		pb__history_done(hr.h);
		st->hist = hr.h;
		hr.h = NULL;
		rv = 0;
	}
	pb_history_free(hr.h);
	free(hr.sr);
	return rv;
}

/* ------------------------------------------------------------- pending */

/* An array of numbers into a growing *v (*n of them, room *cap). */
static int
numbers(struct pb__scan *r, double **v, size_t *n, size_t *cap)
{
	*n = 0;
	if (!eat(r, '['))
		return -1;
	if (eat(r, ']'))
		return 0;
	do {
		if (*n == *cap) {
			double *nv = realloc(*v, (*cap = *cap ? 2 * *cap : 64) * sizeof *nv);
			if (!nv)
				return -1;
			*v = nv;
		}
		if (num(r, &(*v)[*n]) < 0)
			return -1;
		++*n;
	} while (eat(r, ','));
	return eat(r, ']') ? 0 : -1;
}

static int
isint(double v, double lo, double hi)
{
	return v == floor(v) && v >= lo && v <= hi;
}

struct batchrd {
	struct pb_state *st;
	unsigned seen;
	double first, n, k, t;
	double *arms, *tasks, *done, *left; /* left: arm, count pairs */
	size_t narms, ntasks, ndone, nleft;
	size_t carms, ctasks, cdone, cleft;
};

static int
left_member(struct pb__scan *r, const char *k, size_t kn, void *arg)
{
	struct batchrd *br = arg;
	char id[256];
	double v;

	if (kn >= sizeof id || num(r, &v) < 0)
		return -1;
	memcpy(id, k, kn);
	id[kn] = '\0';
	if (br->nleft + 2 > br->cleft) {
		double *nl = realloc(br->left, (br->cleft = 2 * br->cleft + 64) * sizeof *nl);
		if (!nl)
			return -1;
		br->left = nl;
	}
	br->left[br->nleft++] = pb_state_find_arm(br->st, id);
	br->left[br->nleft++] = v;
	return 0;
}

static int
batch_member(struct pb__scan *r, const char *k, size_t kn, void *arg)
{
	struct batchrd *br = arg;
	unsigned bit;

	if (KEY(k, "first")) bit = 1;
	else if (KEY(k, "n")) bit = 2;
	else if (KEY(k, "k")) bit = 4;
	else if (KEY(k, "t")) bit = 8;
	else if (KEY(k, "left")) bit = 16;
	else if (KEY(k, "arms")) bit = 32;
	else if (KEY(k, "tasks")) bit = 64;
	else if (KEY(k, "done")) bit = 128;
	else
		return -1;
	if (br->seen & bit)
		return -1;
	br->seen |= bit;
	switch (bit) {
	case 1: return num(r, &br->first);
	case 2: return num(r, &br->n);
	case 4: return num(r, &br->k);
	case 8: return num(r, &br->t);
	case 16: br->nleft = 0; return object(r, left_member, br);
	case 32: return numbers(r, &br->arms, &br->narms, &br->carms);
	case 64: return numbers(r, &br->tasks, &br->ntasks, &br->ctasks);
	default:
		/* [[lo, hi], ...] */
		br->ndone = 0;
		if (!eat(r, '['))
			return -1;
		if (eat(r, ']'))
			return 0;
		do {
			if (br->ndone + 2 > br->cdone) {
				double *nd = realloc(br->done, (br->cdone = 2 * br->cdone + 64) *
				                     sizeof *nd);
				if (!nd)
					return -1;
				br->done = nd;
			}
			if (!eat(r, '[') || num(r, &br->done[br->ndone]) < 0 || !eat(r, ',') ||
			    num(r, &br->done[br->ndone + 1]) < 0 || !eat(r, ']'))
				return -1;
			br->ndone += 2;
		} while (eat(r, ','));
		return eat(r, ']') ? 0 : -1;
	}
}

/* One batch, checked as statefile.c's load_pending checks it; *end: where
 * the batch before ended. */
static int
make_batch(struct batchrd *br, long *end, double next_pull, long repeats)
{
	struct pb_state *st = br->st;
	struct pb_batch *b;
	long out = 0, back = 0, prev, m, *saved = NULL;
	size_t q;
	int rv = -1;

	if ((br->seen & 0xfb) != 0xfb || !isint(br->first, (double)*end, next_pull - 1) ||
	    !isint(br->n, 1, next_pull - br->first) || br->narms != (size_t)br->n ||
	    br->ntasks != (size_t)br->n)
		return -1;
	if ((br->seen & 4) && (!isint(br->k, 1, br->n) || (long)br->n % (long)br->k))
		return -1;
	if (!(br->seen & 4))
		br->k = 1;
	if (repeats > 1 && (long)br->k % repeats)
		return -1;
	b = &st->batch[st->nbatch];
	memset(b, 0, sizeof *b);
	b->first = (long)br->first;
	b->n = (long)br->n;
	b->k = (long)br->k;
	b->t = br->t;
	*end = b->first + b->n;
	b->cap = (size_t)b->n;
	b->capdone = br->ndone / 2;
	if (!(b->left = calloc(st->narms, sizeof *b->left)) ||
	    !(b->arm = malloc(b->cap * sizeof *b->arm)) ||
	    !(b->pos = malloc(b->cap * sizeof *b->pos)) ||
	    (b->capdone && !(b->done = malloc(b->capdone * sizeof *b->done))) ||
	    !(saved = calloc(st->narms, sizeof *saved))) {
		st->nbatch++;
		free(saved);
		return -1;
	}
	st->nbatch++;
	for (m = 0; m < b->n; m++) {
		if (!isint(br->arms[m], 0, (double)st->narms - 1) ||
		    !isint(br->tasks[m], -1, 9e15))
			goto out;
		b->arm[m] = (int)br->arms[m];
		b->pos[m] = (long)br->tasks[m];
	}
	for (q = 0; q < br->nleft; q += 2) {
		int ai = (int)br->left[q];
		if (ai < 0 || !isint(br->left[q + 1], 0, (double)b->n) || saved[ai])
			goto out;
		saved[ai] = (long)br->left[q + 1] + 1;
		out += saved[ai] - 1;
	}
	prev = b->first - 2;
	for (q = 0; q < br->ndone; q += 2) {
		double lo = br->done[q], hi = br->done[q + 1];
		if (!isint(lo, (double)prev + 2, (double)*end - 1) ||
		    !isint(hi, lo, (double)*end - 1))
			goto out;
		b->done[b->ndone][0] = (long)lo;
		b->done[b->ndone][1] = prev = (long)hi;
		back += prev - b->done[b->ndone][0] + 1;
		b->ndone++;
	}
	for (m = 0, q = 0; m < b->n; m++) {
		while (q < b->ndone && b->done[q][1] < b->first + m)
			q++;
		if (!(q < b->ndone && b->done[q][0] <= b->first + m))
			b->left[b->arm[m]]++;
	}
	for (q = 0; q < st->narms; q++)
		if (b->left[q] != (saved[q] ? saved[q] - 1 : 0))
			goto out;
	if (out + back == b->n)
		rv = 0;
out:
	free(saved);
	return rv;
}

int
pb__read_pending(struct pb__scan *r, struct pb_state *st, const cJSON *rest)
{
	const cJSON *np = cJSON_GetObjectItemCaseSensitive(rest, "next_pull"),
	            *rp = cJSON_GetObjectItemCaseSensitive(rest, "repeats");
	struct batchrd br;
	size_t cap = 0;
	long end = 1;
	int rv = -1;

	/* the numbers it is checked against come before it, as written */
	if (!cJSON_IsNumber(np) || !(np->valuedouble <= PB_MAX_COUNT) ||
	    (rp && (!cJSON_IsNumber(rp) || !(rp->valuedouble >= 1 &&
	    rp->valuedouble <= PB_MAX_REPEATS))) || !eat(r, '['))
		return -1; /* bad ones are the loader's to report */
	memset(&br, 0, sizeof br);
	br.st = st;
	if (eat(r, ']'))
		return 0;
	do {
		if (st->nbatch == cap) {
			struct pb_batch *nb = realloc(st->batch, (cap = cap ? 2 * cap : 4) *
			                              sizeof *nb);
			if (!nb)
				goto out;
			st->batch = nb;
		}
		br.seen = 0;
		br.nleft = br.ndone = br.narms = br.ntasks = 0;
		if (object(r, batch_member, &br) < 0 ||
		    make_batch(&br, &end, np->valuedouble, rp ? (long)rp->valuedouble : 1) < 0)
			goto out;
	} while (eat(r, ','));
	rv = eat(r, ']') ? 0 : -1;
out:
	free(br.arms);
	free(br.tasks);
	free(br.done);
	free(br.left);
	return rv;
}

