/* stateprint.c - the state file's text, printed straight from the structs
 * into one buffer: the document pb_state_to_json (statejson.c) builds as
 * a cJSON tree, member for member and in the same order, without the
 * tree.  At 10,000 arms and 100,000 tasks the tree cost a few hundred
 * thousand mallocs and cJSON's printer a sscanf per number; here a number
 * is pb_fmt_num's text (integers below 1e15 as digits, else the shorter
 * of %.15g and %.17g that reads back exactly), with the integers done
 * by hand.  Strings are escaped as cJSON escapes them.  The small parts
 * (policy, merged, arm fields, groups, contexts, history) still go
 * through their cJSON trees, printed by the same writer. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bandit.h"
#include "internal.h"

/* The text so far; with fd >= 0 it goes to fd a megabyte at a time
 * rather than being held whole (a state of a million tasks is 32 MB). */
struct out {
	char *p;
	size_t n, cap;
	int oom;    /* out of memory, or (fd) a write failed: errno says */
	int fd;
};

#define CHUNK (1 << 20)

static int
flush(struct out *o)
{
	size_t off = 0;

	while (off < o->n) {
		ssize_t w = write(o->fd, o->p + off, o->n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			o->oom = 2;
			return -1;
		}
		off += (size_t)w;
	}
	o->n = 0;
	return 0;
}

static int
grow(struct out *o, size_t more)
{
	size_t cap = o->cap ? o->cap : 65536;
	char *np;

	if (o->oom)
		return -1;
	if (o->fd >= 0 && o->n > 0) {
		if (flush(o) < 0)
			return -1;
		if (o->n + more + 1 <= o->cap)
			return 0;
	}
	while (cap < o->n + more + 1)
		cap *= 2;
	if (!(np = realloc(o->p, cap))) {
		o->oom = 1;
		return -1;
	}
	o->p = np;
	o->cap = cap;
	return 0;
}

static void
put(struct out *o, const char *s, size_t n)
{
	if (o->n + n + 1 > o->cap && grow(o, n) < 0)
		return;
	memcpy(o->p + o->n, s, n);
	o->n += n;
}

#define PUTS(o, lit) put(o, lit, sizeof(lit) - 1)

static void
putc_(struct out *o, char c)
{
	if (o->n + 2 > o->cap && grow(o, 1) < 0)
		return;
	o->p[o->n++] = c;
}

static void
putlong(struct out *o, long long v)
{
	char b[24], *e = b + sizeof b, *s = e;
	unsigned long long u = v < 0 ? -(unsigned long long)v : (unsigned long long)v;

	do
		*--s = (char)('0' + u % 10);
	while (u /= 10);
	if (v < 0)
		*--s = '-';
	put(o, s, (size_t)(e - s));
}

/* A double as pb_fmt_num writes it; null when not finite, as cJSON. */
static void
putnum(struct out *o, double v)
{
	char b[40];

	if (!isfinite(v)) {
		PUTS(o, "null");
		return;
	}
	if (v == floor(v) && fabs(v) < 1e15) {
		putlong(o, (long long)v);
		return;
	}
	pb_fmt_num(b, sizeof b, v);
	put(o, b, strlen(b));
}

/* A string as cJSON prints one: quoted, with " and \ escaped, \b \f \n
 * \r \t as such and other bytes below 0x20 as \u00xx. */
static void
putstr(struct out *o, const char *s)
{
	const char *run = s;

	putc_(o, '"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[8];

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		put(o, run, (size_t)(s - run));
		run = s + 1;
		switch (c) {
		case '"': PUTS(o, "\\\""); break;
		case '\\': PUTS(o, "\\\\"); break;
		case '\b': PUTS(o, "\\b"); break;
		case '\f': PUTS(o, "\\f"); break;
		case '\n': PUTS(o, "\\n"); break;
		case '\r': PUTS(o, "\\r"); break;
		case '\t': PUTS(o, "\\t"); break;
		default:
			snprintf(esc, sizeof esc, "\\u%04x", c);
			put(o, esc, 6);
		}
	}
	put(o, run, (size_t)(s - run));
	putc_(o, '"');
}

/* "key": (with the comma before it unless first) */
static void
key(struct out *o, const char *k, int first)
{
	if (!first)
		putc_(o, ',');
	putstr(o, k);
	putc_(o, ':');
}

/* Any cJSON value, compact, as cJSON_PrintUnformatted but for numbers. */
static void
putjson(struct out *o, const cJSON *v)
{
	const cJSON *c;

	if (!v)
		return;
	switch (v->type & 0xff) {
	case cJSON_False: PUTS(o, "false"); break;
	case cJSON_True: PUTS(o, "true"); break;
	case cJSON_NULL: PUTS(o, "null"); break;
	case cJSON_Number: putnum(o, v->valuedouble); break;
	case cJSON_String: putstr(o, v->valuestring ? v->valuestring : ""); break;
	case cJSON_Raw: if (v->valuestring) put(o, v->valuestring, strlen(v->valuestring)); break;
	case cJSON_Array:
		putc_(o, '[');
		for (c = v->child; c; c = c->next) {
			putjson(o, c);
			if (c->next)
				putc_(o, ',');
		}
		putc_(o, ']');
		break;
	case cJSON_Object:
		putc_(o, '{');
		for (c = v->child; c; c = c->next) {
			key(o, c->string ? c->string : "", c == v->child);
			putjson(o, c);
		}
		putc_(o, '}');
		break;
	default:
		o->oom = 1; /* cJSON_Invalid: cJSON would fail too */
	}
}

/* A tree made for the printing only (NULL: out of memory). */
static void
puttree(struct out *o, cJSON *v)
{
	if (!v)
		o->oom = 1;
	putjson(o, v);
	cJSON_Delete(v);
}

/* ------------------------------------------------------------ parts */

static void
putarm(struct out *o, const struct pb_state *st, const struct pb_arm *a,
       int fields)
{
	int n, i;

	PUTS(o, "{\"id\":");
	putstr(o, a->id);
	PUTS(o, ",\"pulls\":");
	putlong(o, a->st.n);
	PUTS(o, ",\"mean\":");
	putnum(o, pb_stats_mean(&a->st));
	PUTS(o, ",\"sum\":");
	putnum(o, a->st.sum);
	PUTS(o, ",\"sumsq\":");
	putnum(o, a->st.sumsq);
	PUTS(o, ",\"nonbinary\":");
	putlong(o, a->st.nonbinary);
	PUTS(o, ",\"errors\":");
	putlong(o, a->errors);
	PUTS(o, ",\"cursor\":");
	putlong(o, a->cursor);
	if (a->tok_in || a->tok_out) {
		PUTS(o, ",\"prompt_tokens\":");
		putnum(o, a->tok_in);
		PUTS(o, ",\"completion_tokens\":");
		putnum(o, a->tok_out);
	}
	if (a->pstate) {
		n = pb_policy_nstate(st->pol.kind);
		PUTS(o, ",\"policy_state\":[");
		for (i = 0; i < n; i++) {
			if (i)
				putc_(o, ',');
			putnum(o, a->pstate[i]);
		}
		putc_(o, ']');
	}
	if (fields) {
		if (a->retired)
			PUTS(o, ",\"retired\":true");
		if (a->fields) {
			PUTS(o, ",\"fields\":");
			putjson(o, a->fields);
		}
	}
	putc_(o, '}');
}

static void
putbatch(struct out *o, const struct pb_state *st, const struct pb_batch *b)
{
	size_t k;
	int first = 1;

	PUTS(o, "{\"first\":");
	putlong(o, b->first);
	PUTS(o, ",\"n\":");
	putlong(o, b->n);
	if (b->k > 1) {
		PUTS(o, ",\"k\":");
		putlong(o, b->k);
	}
	PUTS(o, ",\"t\":");
	putnum(o, b->t);
	PUTS(o, ",\"left\":{");
	for (k = 0; k < st->narms; k++)
		if (b->left[k]) {
			key(o, st->arms[k].id, first);
			putlong(o, b->left[k]);
			first = 0;
		}
	PUTS(o, "},\"arms\":[");
	for (k = 0; k < (size_t)b->n; k++) {
		if (k)
			putc_(o, ',');
		putlong(o, b->arm[k]);
	}
	PUTS(o, "],\"tasks\":[");
	for (k = 0; k < (size_t)b->n; k++) {
		if (k)
			putc_(o, ',');
		putlong(o, b->pos[k]);
	}
	PUTS(o, "],\"done\":[");
	for (k = 0; k < b->ndone; k++) {
		if (k)
			putc_(o, ',');
		putc_(o, '[');
		putlong(o, b->done[k][0]);
		putc_(o, ',');
		putlong(o, b->done[k][1]);
		putc_(o, ']');
	}
	PUTS(o, "]}");
}

static void
putpairs(struct out *o, const struct pb_state *st, const struct pb_pairs *pair)
{
	size_t k, *ord = pb__pairs_order(pair);
	int first = 1;

	if (pair && pair->n && !ord) {
		o->oom = 1;
		return;
	}
	putc_(o, '[');
	for (k = 0; pair && k < pair->n; k++) {
		const struct pb_pair *p = &pair->p[ord[k]];
		if (!p->n)
			continue;
		if (!first)
			putc_(o, ',');
		first = 0;
		PUTS(o, "{\"arms\":[");
		putstr(o, st->arms[pair->ij[ord[k]][0]].id);
		putc_(o, ',');
		putstr(o, st->arms[pair->ij[ord[k]][1]].id);
		PUTS(o, "],\"tasks\":");
		putlong(o, p->n);
		PUTS(o, ",\"sum\":");
		putnum(o, p->sum);
		PUTS(o, ",\"sumsq\":");
		putnum(o, p->sumsq);
		PUTS(o, ",\"wins\":");
		putlong(o, p->b);
		PUTS(o, ",\"losses\":");
		putlong(o, p->c);
		if (p->fpos || p->fneg) {
			PUTS(o, ",\"fractional\":[");
			putlong(o, p->fpos);
			putc_(o, ',');
			putlong(o, p->fneg);
			putc_(o, ',');
			putnum(o, p->fsum);
			putc_(o, ',');
			putnum(o, p->fsumsq);
			putc_(o, ']');
		}
		putc_(o, '}');
	}
	putc_(o, ']');
	free(ord);
}

static void
puttasks(struct out *o, const struct pb_tasks *t)
{
	static const char hx[] = "0123456789abcdef";
	char hex[20];
	size_t i;
	int d;

	putc_(o, '[');
	hex[0] = ',';
	hex[1] = '"';
	hex[18] = '"';
	hex[19] = ']';
	for (i = 0; i < t->n; i++) {
		if (i)
			putc_(o, ',');
		putc_(o, '[');
		putstr(o, t->id[i]);
		for (d = 0; d < 16; d++)
			hex[2 + d] = hx[(t->dig[i] >> (60 - 4 * d)) & 15];
		put(o, hex, sizeof hex);
	}
	putc_(o, ']');
}

static void
putseries(struct out *o, const double *v, size_t n)
{
	size_t k;

	putc_(o, '[');
	for (k = 0; k < n; k++) {
		if (k)
			putc_(o, ',');
		putnum(o, v[k]);
	}
	putc_(o, ']');
}

static int
same(double a, double b)
{
	return a == b || (isnan(a) && isnan(b));
}

/* The history as pb_history_to_json (history.c) has it: the sparse form
 * of a series past PB_HIST_DENSE arms, "at" the points where any of its
 * four numbers changed. */
static void
puthistory(struct out *o, const struct pb_history *h)
{
	static const char *const name[4] = { "pulls", "mean", "var", "prob" };
	size_t i, k;
	int m;

	PUTS(o, "{\"stride\":");
	putlong(o, h->stride);
	PUTS(o, ",\"updates\":");
	putseries(o, h->updates, h->n);
	PUTS(o, ",\"arms\":{");
	for (i = 0; i < h->nser; i++) {
		const struct pb_hist_series *s = &h->ser[i];
		const double *src[4] = { s->pulls, s->mean, s->var, s->prob };
		key(o, s->id, i == 0);
		if (h->nser <= PB_HIST_DENSE) {
			putc_(o, '{');
			for (m = 0; m < 4; m++) {
				key(o, name[m], m == 0);
				putseries(o, src[m], h->n);
			}
			putc_(o, '}');
			continue;
		}
		PUTS(o, "{\"at\":[");
		for (k = 0; k < h->n; k++)
			if (k == 0 || !same(s->pulls[k], s->pulls[k - 1]) ||
			    !same(s->mean[k], s->mean[k - 1]) || !same(s->var[k], s->var[k - 1]) ||
			    !same(s->prob[k], s->prob[k - 1])) {
				if (k)
					putc_(o, ',');
				putlong(o, (long long)k);
			}
		putc_(o, ']');
		for (m = 0; m < 4; m++) {
			key(o, name[m], 0);
			putc_(o, '[');
			for (k = 0; k < h->n; k++)
				if (k == 0 || !same(s->pulls[k], s->pulls[k - 1]) ||
				    !same(s->mean[k], s->mean[k - 1]) ||
				    !same(s->var[k], s->var[k - 1]) ||
				    !same(s->prob[k], s->prob[k - 1])) {
					if (k)
						putc_(o, ',');
					putnum(o, src[m][k]);
				}
			putc_(o, ']');
		}
		putc_(o, '}');
	}
	putc_(o, '}');
	if (h->nctx) {
		PUTS(o, ",\"contexts\":{");
		for (i = 0; i < h->nctx; i++) {
			key(o, h->ctxname[i], i == 0);
			puthistory(o, h->ctx[i]);
		}
		putc_(o, '}');
	}
	putc_(o, '}');
}

/* ------------------------------------------------------------ the state */

static void
print_state(struct out *o, const struct pb_state *st);

char *
pb__state_print(const struct pb_state *st, size_t *len)
{
	struct out o = { NULL, 0, 0, 0, -1 };

	/* room for what a state of this size takes, about, so the text
	 * is not copied as it grows (pages never written cost nothing) */
	if (grow(&o, 65536 + 256 * st->narms + 48 * st->tasks.n +
	         (st->pair ? 128 * st->pair->n : 0) +
	         (st->hist ? 96 * st->hist->nser * (1 + st->hist->n / 8) : 0)) < 0)
		return NULL;
	print_state(&o, st);
	if (o.oom) {
		free(o.p);
		return NULL;
	}
	o.p[o.n] = '\0';
	*len = o.n;
	return o.p;
}

int
pb__state_write(const struct pb_state *st, int fd)
{
	struct out o = { NULL, 0, 0, 0, fd };
	int e;

	if (grow(&o, CHUNK) == 0) {
		print_state(&o, st);
		putc_(&o, '\n');
		if (!o.oom)
			flush(&o);
	}
	e = errno;
	free(o.p);
	errno = e;
	return -o.oom;
}

static void
print_state(struct out *o_, const struct pb_state *st)
{
	struct out o;
	char hex[17];
	size_t i;

	o = *o_;
	PUTS(&o, "{\"format\":\"" PB_STATE_FORMAT "\",\"version\":");
	putlong(&o, PB_STATE_VERSION);
	PUTS(&o, ",\"run\":");
	putstr(&o, st->run);
	PUTS(&o, ",\"created\":");
	putnum(&o, st->created);
	PUTS(&o, ",\"policy\":");
	puttree(&o, pb_policy_json(&st->pol));
	PUTS(&o, ",\"rng\":[");
	for (i = 0; i < 4; i++) {
		snprintf(hex, sizeof hex, "%016" PRIx64, st->rng.s[i]);
		if (i)
			putc_(&o, ',');
		putc_(&o, '"');
		put(&o, hex, 16);
		putc_(&o, '"');
	}
	PUTS(&o, "],\"next_pull\":");
	putlong(&o, st->next_pull);
	PUTS(&o, ",\"updates\":");
	putlong(&o, st->updates);
	PUTS(&o, ",\"pending_ttl\":");
	putnum(&o, st->pending_ttl);
	PUTS(&o, ",\"repeats\":");
	putlong(&o, st->repeats > 0 ? st->repeats : 1);
	PUTS(&o, ",\"arms\":[");
	for (i = 0; i < st->narms; i++) {
		if (i)
			putc_(&o, ',');
		putarm(&o, st, &st->arms[i], 1);
	}
	PUTS(&o, "],\"pending\":[");
	for (i = 0; i < st->nbatch; i++) {
		if (i)
			putc_(&o, ',');
		putbatch(&o, st, &st->batch[i]);
	}
	putc_(&o, ']');
	if (st->merged) {
		PUTS(&o, ",\"merged\":");
		putjson(&o, st->merged);
	}
	if (st->pair) {
		PUTS(&o, ",\"pairs\":");
		putpairs(&o, st, st->pair);
	}
	if (st->nopen) {
		PUTS(&o, ",\"groups\":");
		puttree(&o, pb_groups_json(st));
	}
	if (st->ctx_field) {
		PUTS(&o, ",\"contexts\":");
		puttree(&o, pb_ctx_json(st));
	} else {
		PUTS(&o, ",\"tasks\":");
		puttasks(&o, &st->tasks);
	}
	if (st->hist) {
		PUTS(&o, ",\"history\":");
		puthistory(&o, st->hist);
	}
	putc_(&o, '}');
	*o_ = o;
}
