/* util.c - the small things every layer uses: the clocks, a growing
 * string, formatted allocation, and an index from hashes to positions. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base.h"

double
pb_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

double
pb_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int
pb_buf_put(struct pb_buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t ncap = (b->len + n + 1) * 2;
		char *np = realloc(b->p, ncap);
		if (!np)
			return -1;
		b->p = np;
		b->cap = ncap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

char *
pb_vstrfmt(const char *fmt, va_list ap)
{
	va_list again;
	char *p;
	int n;

	va_copy(again, ap);
	n = vsnprintf(NULL, 0, fmt, ap);
	if (n < 0 || !(p = malloc((size_t)n + 1))) {
		va_end(again);
		return NULL;
	}
	vsnprintf(p, (size_t)n + 1, fmt, again);
	va_end(again);
	return p;
}

char *
pb_strfmt(const char *fmt, ...)
{
	va_list ap;
	char *p;

	va_start(ap, fmt);
	p = pb_vstrfmt(fmt, ap);
	va_end(ap);
	return p;
}

/* Slots hold value + 1, so a zero slot is free; the hash is kept beside
 * it so growing needs no key. */
static int
index_grow(struct pb_index *x)
{
	size_t cap = x->cap ? 2 * x->cap : 16, i, h;
	uint64_t *hash;
	size_t *val;

	if (!(hash = malloc(cap * sizeof *hash)) || !(val = calloc(cap, sizeof *val))) {
		free(hash);
		return -1;
	}
	for (i = 0; i < x->cap; i++) {
		if (!x->val[i])
			continue;
		for (h = (size_t)x->hash[i] & (cap - 1); val[h]; h = (h + 1) & (cap - 1))
			;
		hash[h] = x->hash[i];
		val[h] = x->val[i];
	}
	free(x->hash);
	free(x->val);
	x->hash = hash;
	x->val = val;
	x->cap = cap;
	return 0;
}

int
pb_index_put(struct pb_index *x, uint64_t hash, size_t v)
{
	size_t h;

	if (2 * (x->n + 1) > x->cap && index_grow(x) < 0)
		return -1;
	for (h = (size_t)hash & (x->cap - 1); x->val[h]; h = (h + 1) & (x->cap - 1))
		;
	x->hash[h] = hash;
	x->val[h] = v + 1;
	x->n++;
	return 0;
}

int
pb_index_next(const struct pb_index *x, uint64_t hash, size_t *pos, size_t *v)
{
	size_t h;

	if (!x->cap)
		return 0;
	/* *pos counts the slots looked at so far, from the hash's home. */
	for (; *pos < x->cap; ++*pos) {
		h = ((size_t)hash + *pos) & (x->cap - 1);
		if (!x->val[h])
			return 0;
		if (x->hash[h] == hash) {
			*v = x->val[h] - 1;
			++*pos;
			return 1;
		}
	}
	return 0;
}

void
pb_index_clear(struct pb_index *x)
{
	free(x->hash);
	free(x->val);
	memset(x, 0, sizeof *x);
}
