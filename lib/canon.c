/* canon.c - the canonical text of a JSON value (sorted keys, one text per
 * number), whole or streamed piece by piece: what the cache hashes, and
 * what pb-report compares tasks by. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"

/* Where canonical text goes: the caller's function, piece by piece. */
struct sink {
	pb_json_emit_fn *fn;
	void *arg;
};

static void
emit(struct sink *s, const void *p, size_t n)
{
	s->fn(p, n, s->arg);
}

static void
emits(struct sink *s, const char *str)
{
	emit(s, str, strlen(str));
}

static void
emit_string(struct sink *s, const char *str)
{
	const char *p, *run;
	char esc[8];

	emit(s, "\"", 1);
	for (run = p = str ? str : ""; *p; p++) {
		unsigned char ch = (unsigned char)*p;
		if (ch >= 0x20 && ch != '"' && ch != '\\')
			continue;
		emit(s, run, (size_t)(p - run));
		switch (ch) {
		case '"':  emits(s, "\\\""); break;
		case '\\': emits(s, "\\\\"); break;
		case '\b': emits(s, "\\b"); break;
		case '\f': emits(s, "\\f"); break;
		case '\n': emits(s, "\\n"); break;
		case '\r': emits(s, "\\r"); break;
		case '\t': emits(s, "\\t"); break;
		default:
			snprintf(esc, sizeof esc, "\\u%04x", ch);
			emits(s, esc);
		}
		run = p + 1;
	}
	emit(s, run, (size_t)(p - run));
	emit(s, "\"", 1);
}

/* The shortest of %.15g, %.16g and %.17g that reads back as d: one text
 * per double (17 digits always round-trip). */
static void
emit_number(struct sink *s, double d)
{
	char num[40];
	int prec;

	if (!isfinite(d)) {
		emits(s, "null"); /* as cJSON prints them */
		return;
	}
	if (d == 0) {
		emits(s, "0"); /* and -0: the same number to JSON readers */
		return;
	}
	for (prec = 15; prec < 17; prec++) {
		snprintf(num, sizeof num, "%.*g", prec, d);
		if (strtod(num, NULL) == d)
			break;
	}
	if (prec == 17)
		snprintf(num, sizeof num, "%.17g", d);
	emits(s, num);
}

/* Orders object members by key, then by position (duplicate keys). */
static int
member_cmp(const cJSON *a, int ia, const cJSON *b, int ib)
{
	int r = strcmp(a->string ? a->string : "", b->string ? b->string : "");
	return r ? r : (ia > ib) - (ia < ib);
}

static void
canon(struct sink *s, const cJSON *v)
{
	const cJSON *m, *best, *prev;
	int i, ibest, iprev, k, n;

	switch (v ? v->type & 0xFF : cJSON_NULL) {
	case cJSON_False:
		emits(s, "false");
		break;
	case cJSON_True:
		emits(s, "true");
		break;
	case cJSON_Number:
		emit_number(s, v->valuedouble);
		break;
	case cJSON_String:
		emit_string(s, v->valuestring);
		break;
	case cJSON_Raw:
		emits(s, v->valuestring ? v->valuestring : "null");
		break;
	case cJSON_Array:
		emit(s, "[", 1);
		for (m = v->child; m; m = m->next) {
			if (m != v->child)
				emit(s, ",", 1);
			canon(s, m);
		}
		emit(s, "]", 1);
		break;
	case cJSON_Object:
		/* Members in key order by repeated selection of the next one:
		 * quadratic, but objects in requests have a handful of keys,
		 * and it needs no memory, so a key can always be made. */
		n = cJSON_GetArraySize(v);
		prev = NULL;
		iprev = -1;
		emit(s, "{", 1);
		for (k = 0; k < n; k++) {
			best = NULL;
			ibest = -1;
			for (i = 0, m = v->child; m; m = m->next, i++)
				if ((!prev || member_cmp(m, i, prev, iprev) > 0) &&
				    (!best || member_cmp(m, i, best, ibest) < 0)) {
					best = m;
					ibest = i;
				}
			if (k)
				emit(s, ",", 1);
			emit_string(s, best->string);
			emit(s, ":", 1);
			canon(s, best);
			prev = best;
			iprev = ibest;
		}
		emit(s, "}", 1);
		break;
	default:
		emits(s, "null");
		break;
	}
}

void
pb_json_canonical_emit(const cJSON *v, pb_json_emit_fn *fn, void *arg)
{
	struct sink s = { fn, arg };

	canon(&s, v);
}

struct keep {
	struct pb_buf buf;
	int oom;
};

static void
keep_text(const void *p, size_t n, void *arg)
{
	struct keep *k = arg;

	if (!k->oom && pb_buf_put(&k->buf, p, n) < 0)
		k->oom = 1;
}

char *
pb_json_canonical(const cJSON *v)
{
	struct keep k = { { NULL, 0, 0 }, 0 };

	pb_json_canonical_emit(v, keep_text, &k);
	if (k.oom) {
		free(k.buf.p);
		return NULL;
	}
	return k.buf.p;
}
