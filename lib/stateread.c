/* stateread.c - the fast reader of a state file: the big parts (arms,
 * pairs, the task pool) read from the text straight into the structs,
 * without a cJSON tree of 100,000 tasks.  It takes only what it knows to
 * be well formed: strict JSON, ids without escapes, every member it
 * expects and none it does not, each check the cJSON loader makes
 * (statefile.c, statejson.c, tasks.c) made again.  On anything else it
 * gives up, and the cJSON loader reads the file from the start and says
 * what is wrong in its own words: the fast path never changes what a
 * file means, nor a message.  The small parts it hands back as a cJSON
 * object for the loader's own code (pb__state_read's contract in
 * internal.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bandit.h"
#include "internal.h"

int pb__state_slow;

struct rd {
	const char *p, *e; /* *e is the NUL after the text */
};

static void
ws(struct rd *r)
{
	while (*r->p == ' ' || *r->p == '\n' || *r->p == '\t' || *r->p == '\r')
		r->p++;
}

/* The next byte after white space is c: consumed. */
static int
eat(struct rd *r, char c)
{
	ws(r);
	if (*r->p != c)
		return 0;
	r->p++;
	return 1;
}

/* A string without escapes or control characters: *s, *n its bytes. */
static int
str(struct rd *r, const char **s, size_t *n)
{
	const char *q;

	if (!eat(r, '"'))
		return -1;
	for (q = r->p; *q != '"'; q++)
		if ((unsigned char)*q < 0x20 || *q == '\\')
			return -1;
	*s = r->p;
	*n = (size_t)(q - r->p);
	r->p = q + 1;
	return 0;
}

/* A string as a C string in buf (size bsz). */
static int
cstr(struct rd *r, char *buf, size_t bsz)
{
	const char *s;
	size_t n;

	if (str(r, &s, &n) < 0 || n >= bsz)
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return 0;
}

/* A JSON number (the strict grammar), as cJSON reads it (strtod). */
static int
num(struct rd *r, double *v)
{
	const char *s, *q;
	char *end;
	int digits = 0, plain = 1;
	long long iv = 0;

	ws(r);
	s = q = r->p;
	if (*q == '-')
		q++;
	if (*q == '0')
		q++, digits = 1;
	else if (*q >= '1' && *q <= '9')
		for (; *q >= '0' && *q <= '9'; q++, digits++)
			iv = 10 * iv + (*q - '0');
	else
		return -1;
	if (*q == '.') {
		plain = 0;
		if (!(*++q >= '0' && *q <= '9'))
			return -1;
		while (*q >= '0' && *q <= '9')
			q++;
	}
	if (*q == 'e' || *q == 'E') {
		plain = 0;
		q++;
		if (*q == '+' || *q == '-')
			q++;
		if (!(*q >= '0' && *q <= '9'))
			return -1;
		while (*q >= '0' && *q <= '9')
			q++;
	}
	if (q - s > 60)
		return -1; /* cJSON reads at most 63 characters of a number */
	if (plain && digits <= 15 && !(*s == '-' && iv == 0)) {
		*v = *s == '-' ? -(double)iv : (double)iv;
	} else {
		*v = strtod(s, &end);
		if (end != q)
			return -1;
	}
	r->p = q;
	return 0;
}

/* A number >= 0 and finite, as statejson.c's num() wants. */
static int
nneg(struct rd *r, double *v)
{
	return num(r, v) == 0 && isfinite(*v) && *v >= 0 ? 0 : -1;
}

/* Skips any JSON value, strictly; *s receives where it starts. */
static int
skip(struct rd *r, const char **s, int depth)
{
	double v;

	ws(r);
	*s = r->p;
	if (depth > 64)
		return -1;
	switch (*r->p) {
	case '"':
		for (r->p++; *r->p != '"'; r->p++) {
			if ((unsigned char)*r->p < 0x20)
				return -1;
			if (*r->p == '\\' && !*++r->p)
				return -1;
		}
		r->p++;
		return 0;
	case '{': case '[': {
		char close = *r->p == '{' ? '}' : ']';
		const char *x;
		r->p++;
		if (eat(r, close))
			return 0;
		do {
			if (close == '}' && (skip(r, &x, depth + 1) < 0 || *x != '"' ||
			    !eat(r, ':')))
				return -1;
			if (skip(r, &x, depth + 1) < 0)
				return -1;
		} while (eat(r, ','));
		return eat(r, close) ? 0 : -1;
	}
	case 't':
		return strncmp(r->p, "true", 4) ? -1 : (r->p += 4, 0);
	case 'f':
		return strncmp(r->p, "false", 5) ? -1 : (r->p += 5, 0);
	case 'n':
		return strncmp(r->p, "null", 4) ? -1 : (r->p += 4, 0);
	default:
		return num(r, &v);
	}
}

/* The value at r as a cJSON tree (NULL: not strict JSON, or no memory). */
static cJSON *
tree(struct rd *r)
{
	const char *s, *end = NULL;
	cJSON *v;

	if (skip(r, &s, 0) < 0)
		return NULL;
	v = cJSON_ParseWithLengthOpts(s, (size_t)(r->p - s), &end, 0);
	if (v && end != r->p) {
		cJSON_Delete(v);
		return NULL;
	}
	return v;
}

/* An object's members: calls fn(key, arg) at each value; fn consumes it. */
typedef int member_fn(struct rd *r, const char *k, size_t kn, void *arg);

static int
object(struct rd *r, member_fn *fn, void *arg)
{
	const char *k;
	size_t kn;

	if (!eat(r, '{'))
		return -1;
	if (eat(r, '}'))
		return 0;
	do {
		if (str(r, &k, &kn) < 0 || !eat(r, ':') || fn(r, k, kn, arg) < 0)
			return -1;
	} while (eat(r, ','));
	return eat(r, '}') ? 0 : -1;
}

#define KEY(k, lit) (kn == sizeof(lit) - 1 && !memcmp(k, lit, sizeof(lit) - 1))

/* ---------------------------------------------------------------- arms */

struct armrd {
	struct pb_state *st;
	struct pb_arm *a;
	int nstate;
	unsigned seen;
	double v[5]; /* pulls, sum, sumsq, nonbinary, errors */
};

static int
arm_member(struct rd *r, const char *k, size_t kn, void *arg)
{
	static const char *const stat[5] = { "pulls", "sum", "sumsq", "nonbinary", "errors" };
	struct armrd *ar = arg;
	struct pb_arm *a = ar->a;
	unsigned bit;
	double d;
	int i;

	for (i = 0; i < 5; i++)
		if (kn == strlen(stat[i]) && !memcmp(k, stat[i], kn))
			break;
	if (i < 5)
		bit = 1u << i;
	else if (KEY(k, "id")) bit = 1u << 5;
	else if (KEY(k, "mean")) bit = 1u << 6;
	else if (KEY(k, "cursor")) bit = 1u << 7;
	else if (KEY(k, "prompt_tokens")) bit = 1u << 8;
	else if (KEY(k, "completion_tokens")) bit = 1u << 9;
	else if (KEY(k, "policy_state")) bit = 1u << 10;
	else if (KEY(k, "retired")) bit = 1u << 11;
	else if (KEY(k, "fields")) bit = 1u << 12;
	else
		return -1;
	if (ar->seen & bit)
		return -1;
	ar->seen |= bit;
	if (i < 5)
		return nneg(r, &ar->v[i]);
	switch (bit) {
	case 1u << 5: {
		const char *s;
		size_t n;
		if (str(r, &s, &n) < 0 || n == 0 || !(a->id = malloc(n + 1)))
			return -1;
		memcpy(a->id, s, n);
		a->id[n] = '\0';
		return 0;
	}
	case 1u << 6:
		return num(r, &d);
	case 1u << 7:
		return nneg(r, &d) < 0 || d != floor(d) || d > 9e15 ? -1 :
		       (a->cursor = (long)d, 0);
	case 1u << 8:
		return nneg(r, &a->tok_in);
	case 1u << 9:
		return nneg(r, &a->tok_out);
	case 1u << 10:
		if (!eat(r, '['))
			return -1;
		if (ar->nstate && !(a->pstate = malloc((size_t)ar->nstate * sizeof *a->pstate)))
			return -1;
		if (eat(r, ']'))
			return ar->nstate == 0 ? 0 : -1;
		i = 0;
		do {
			if (i >= ar->nstate || num(r, &d) < 0 || !isfinite(d))
				return -1;
			a->pstate[i++] = d;
		} while (eat(r, ','));
		return i == ar->nstate && eat(r, ']') ? 0 : -1;
	case 1u << 11:
		ws(r);
		if (!strncmp(r->p, "true", 4))
			return a->retired = 1, r->p += 4, 0;
		if (!strncmp(r->p, "false", 5))
			return r->p += 5, 0;
		return -1;
	default:
		ws(r);
		if (*r->p != '{')
			return -1;
		return (a->fields = tree(r)) ? 0 : -1;
	}
}

static int
read_arms(struct rd *r, struct pb_state *st)
{
	size_t cap = 0, i;

	if (!eat(r, '[') || eat(r, ']'))
		return -1; /* no arms: the loader's message */
	do {
		struct armrd ar = { st, NULL, pb_policy_nstate(st->pol.kind), 0, { 0 } };
		struct pb_arm *a;
		if (st->narms == cap) {
			struct pb_arm *na = realloc(st->arms, (cap = cap ? 2 * cap : 64) * sizeof *na);
			if (!na)
				return -1;
			st->arms = na;
		}
		a = ar.a = &st->arms[st->narms++];
		memset(a, 0, sizeof *a);
		if (object(r, arm_member, &ar) < 0 || (ar.seen & 0x101f) != 0x101f ||
		    !(ar.seen & (1u << 5)))
			return -1;
		if (ar.v[1] > ar.v[0] + 1e-9 || ar.v[0] > PB_MAX_COUNT ||
		    ar.v[3] > PB_MAX_COUNT || ar.v[4] > PB_MAX_COUNT ||
		    ar.v[0] != floor(ar.v[0]) || ar.v[3] != floor(ar.v[3]) ||
		    ar.v[4] != floor(ar.v[4]) || ar.v[3] > ar.v[0])
			return -1;
		a->st.n = (long)ar.v[0];
		a->st.sum = ar.v[1];
		a->st.sumsq = ar.v[2];
		a->st.nonbinary = (long)ar.v[3];
		a->errors = (long)ar.v[4];
	} while (eat(r, ','));
	if (!eat(r, ']') || pb__arms_index(st) < 0)
		return -1;
	for (i = 0; i < st->narms; i++) /* a duplicate id finds the other */
		if (pb_state_find_arm(st, st->arms[i].id) != (int)i)
			return -1;
	return 0;
}

/* --------------------------------------------------------------- pairs */

static int
pair_member(struct rd *r, const char *k, size_t kn, void *arg)
{
	double *v = arg; /* i, j, tasks, sum, sumsq, wins, losses, fr[4], seen */
	unsigned bit, *seen = (unsigned *)&v[11];
	int m;

	if (KEY(k, "arms")) bit = 1;
	else if (KEY(k, "tasks")) bit = 2;
	else if (KEY(k, "sum")) bit = 4;
	else if (KEY(k, "sumsq")) bit = 8;
	else if (KEY(k, "wins")) bit = 16;
	else if (KEY(k, "losses")) bit = 32;
	else if (KEY(k, "fractional")) bit = 64;
	else
		return -1;
	if (*seen & bit)
		return -1;
	*seen |= bit;
	switch (bit) {
	case 1:
		return 0; /* read by read_pairs, which sees it first */
	case 2: return nneg(r, &v[2]);
	case 4: return num(r, &v[3]);
	case 8: return nneg(r, &v[4]);
	case 16: return nneg(r, &v[5]);
	case 32: return nneg(r, &v[6]);
	default:
		if (!eat(r, '['))
			return -1;
		for (m = 0; m < 4; m++)
			if ((m && !eat(r, ',')) || num(r, &v[7 + m]) < 0 || !isfinite(v[7 + m]))
				return -1;
		return eat(r, ']') ? 0 : -1;
	}
}

/* pb_pair_refresh of p, remembered: for 0/1 rewards (no fractional
 * tasks) its two logs depend on the wins and losses alone, and the
 * pairs of a race of 1,000 arms (500,000 of them) share a few hundred
 * (wins, losses); each is worked out once, by pb_pair_refresh itself. */
#define MEMO 64
struct memo {
	double lm[MEMO][MEMO][2];
	unsigned char have[MEMO][MEMO];
};

static void
refresh(struct pb_pair *p, struct memo *mm)
{
	if (!mm || p->fpos || p->fneg || p->b >= MEMO || p->c >= MEMO) {
		pb_pair_refresh(p);
		return;
	}
	if (!mm->have[p->b][p->c]) {
		struct pb_pair q = { 0 };
		q.b = p->b;
		q.c = p->c;
		pb_pair_refresh(&q);
		mm->lm[p->b][p->c][0] = q.lm[0];
		mm->lm[p->b][p->c][1] = q.lm[1];
		mm->have[p->b][p->c] = 1;
	}
	p->lm[0] = mm->lm[p->b][p->c][0];
	p->lm[1] = mm->lm[p->b][p->c][1];
}

static int
read_pairs(struct rd *r, struct pb_state *st)
{
	char a[256], b[256], prev[256] = "";
	struct memo *mm;
	int rv = -1, previ = -1;

	if (!eat(r, '['))
		return -1;
	if (eat(r, ']'))
		return 0;
	mm = calloc(1, sizeof *mm); /* NULL: no memo */
	do {
		double v[12] = { 0 };
		unsigned *seen = (unsigned *)&v[11];
		const char *k;
		size_t kn;
		struct pb_pair *p;
		int i, j;
		double *fr = &v[7], n, w, l;

		/* "arms" first, as the writer puts it */
		if (!eat(r, '{') || str(r, &k, &kn) < 0 || !KEY(k, "arms") ||
		    !eat(r, ':') || !eat(r, '[') || cstr(r, a, sizeof a) < 0 ||
		    !eat(r, ',') || cstr(r, b, sizeof b) < 0 || !eat(r, ']'))
			goto out;
		*seen = 1;
		while (eat(r, ','))
			if (str(r, &k, &kn) < 0 || !eat(r, ':') || pair_member(r, k, kn, v) < 0)
				goto out;
		if (!eat(r, '}') || (*seen & 63) != 63)
			goto out;
		/* the file lists the pairs by their first arm: one lookup a run */
		if (strcmp(a, prev)) {
			memcpy(prev, a, sizeof prev);
			previ = pb_state_find_arm(st, a);
		}
		i = previ;
		j = pb_state_find_arm(st, b);
		n = v[2], w = v[5], l = v[6];
		if (i < 0 || j < 0 || i >= j || w + l > n || n > PB_MAX_COUNT ||
		    n != floor(n) || w != floor(w) || l != floor(l))
			goto out;
		if (fr[0] < 0 || fr[1] < 0 || fr[0] != floor(fr[0]) ||
		    fr[1] != floor(fr[1]) || fr[0] > w || fr[1] > l || fr[3] < 0 ||
		    fr[3] > fr[0] + fr[1] || fabs(fr[2]) > fr[0] + fr[1])
			goto out;
		if (!(p = pb__pair_get(&st->pair, st->narms, i, j, 1)))
			goto out;
		p->n = (long)n;
		p->sum = v[3];
		p->sumsq = v[4];
		p->b = (long)w;
		p->c = (long)l;
		p->fpos = (long)fr[0];
		p->fneg = (long)fr[1];
		p->fsum = fr[2];
		p->fsumsq = fr[3];
		refresh(p, mm);
	} while (eat(r, ','));
	rv = eat(r, ']') ? 0 : -1;
out:
	free(mm);
	return rv;
}

/* --------------------------------------------------------------- tasks */

/* How many tasks the array at p holds, about: its '[' up to the first
 * "]]" (an id with either in it only makes the guess off). */
static size_t
count_tasks(const char *p)
{
	size_t n = 0;

	for (; *p; p++) {
		if (*p == '[')
			n++;
		else if (p[0] == ']' && p[1] == ']')
			break;
	}
	return n;
}

static int
read_tasks(struct rd *r, struct pb_tasks *t)
{
	if (!eat(r, '['))
		return -1;
	if (eat(r, ']'))
		return 0;
	if (pb__tasks_reserve(t, count_tasks(r->p)) < 0)
		return -1;
	do {
		const char *id, *hex;
		size_t n, hn, m;
		uint64_t d = 0;

		if (!eat(r, '[') || str(r, &id, &n) < 0 || n == 0 || !eat(r, ',') ||
		    str(r, &hex, &hn) < 0 || hn != 16 || !eat(r, ']'))
			return -1;
		for (m = 0; m < 16; m++) {
			char c = hex[m];
			if (c >= '0' && c <= '9')
				d = d << 4 | (uint64_t)(c - '0');
			else if (c >= 'a' && c <= 'f')
				d = d << 4 | (uint64_t)(c - 'a' + 10);
			else
				return -1;
		}
		/* a duplicate is the loader's to report */
		if (pb__tasks_add_new(t, id, n, d) != 0)
			return -1;
	} while (eat(r, ','));
	return eat(r, ']') ? 0 : -1;
}

/* ------------------------------------------------------------- history */

/* An array of numbers or nulls (NAN), at most PB_HIST_CAP: *n of them. */
static int
series(struct rd *r, double *v, size_t *n)
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
ser_member(struct rd *r, const char *k, size_t kn, void *arg)
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
};

/* One arm's series, checked as history.c's read_series and read_sparse
 * check it. */
static int
hist_arm(struct rd *r, const char *k, size_t kn, void *arg)
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
hist_member(struct rd *r, const char *k, size_t kn, void *arg)
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
	return -1; /* contexts, or what the loader would ignore: its own */
}

static int
read_history(struct rd *r, struct pb_state *st)
{
	struct histrd hr = { NULL, malloc(sizeof(struct serrd)), 0, 0 };
	int rv = -1;

	if (hr.sr && object(r, hist_member, &hr) == 0 && hr.seen == 7) {
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
numbers(struct rd *r, double **v, size_t *n, size_t *cap)
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
left_member(struct rd *r, const char *k, size_t kn, void *arg)
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
batch_member(struct rd *r, const char *k, size_t kn, void *arg)
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

static int
read_pending(struct rd *r, struct pb_state *st, const cJSON *rest)
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

/* ---------------------------------------------------------------- top */

struct toprd {
	struct pb_state *st;
	cJSON *rest;
	unsigned seen;
};

static int
top_member(struct rd *r, const char *k, size_t kn, void *arg)
{
	struct toprd *t = arg;
	char key[64];
	cJSON *v;
	unsigned bit = 0;

	if (kn >= sizeof key)
		return -1;
	memcpy(key, k, kn);
	key[kn] = '\0';
	if (KEY(k, "arms")) bit = 1;
	else if (KEY(k, "pairs")) bit = 2;
	else if (KEY(k, "tasks")) bit = 4;
	else if (KEY(k, "history")) bit = 8;
	else if (KEY(k, "pending")) bit = 16;
	else if (KEY(k, "contexts"))
		return -1; /* each context's pool: the loader's */
	if (bit) {
		if (t->seen & bit)
			return -1;
		t->seen |= bit;
		if (bit == 1) {
			/* the arms' policy_state needs the policy first */
			const char *name = pb_json_str(t->rest, "policy.name");
			char err[PB_ERRLEN];
			if (!name || (pb_policy_parse(&t->st->pol, name, err) < 0 &&
			    !strstr(err, "needs budget")))
				return -1;
			return read_arms(r, t->st);
		}
		if (bit == 2)
			return t->seen & 1 ? read_pairs(r, t->st) : -1;
		if (bit == 8)
			return read_history(r, t->st);
		if (bit == 16)
			return t->seen & 1 ? read_pending(r, t->st, t->rest) : -1;
		return read_tasks(r, &t->st->tasks);
	}
	if (cJSON_GetObjectItemCaseSensitive(t->rest, key) || !(v = tree(r)))
		return -1;
	cJSON_AddItemToObject(t->rest, key, v);
	return 0;
}

int
pb__state_read(struct pb_state *st, const char *buf, size_t len, cJSON **rest)
{
	struct rd r = { buf, buf + len };
	struct toprd t = { st, cJSON_CreateObject(), 0 };

	*rest = NULL;
	if (pb__state_slow || !t.rest || strlen(buf) != len)
		goto fail;
	if (object(&r, top_member, &t) < 0 || (t.seen & 17) != 17)
		goto fail; /* no arms, or no pending list: the loader's messages */
	ws(&r);
	if (r.p != r.e)
		goto fail;
	*rest = t.rest;
	return 0;
fail:
#ifdef PB_STATE_VERIFY
	if (getenv("PB_VERIFY_LOG")) {
		FILE *vf = fopen(getenv("PB_VERIFY_LOG"), "a");
		if (vf) {
			fprintf(vf, "fail-at %.80s\n", r.p > buf + 60 ? r.p - 60 : buf);
			fclose(vf);
		}
	}
#endif
	cJSON_Delete(t.rest);
	pb_state_free(st);
	memset(st, 0, sizeof *st);
	return -1;
}
