/* statescan.h - the strict JSON scanner of the fast state reader
 * (stateread.c, statepart.c): ws, eat, str, num, skip, tree, object over
 * a NUL-terminated text.  Each takes only strict JSON (and strings only
 * without escapes or control characters) and fails on anything else, for
 * the cJSON loader to judge.  Static inline: the readers call them once a
 * byte or so. */
#ifndef PB_STATESCAN_H
#define PB_STATESCAN_H

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct pb__scan {
	const char *p, *e; /* *e is the NUL after the text */
};

static inline void
ws(struct pb__scan *r)
{
	while (*r->p == ' ' || *r->p == '\n' || *r->p == '\t' || *r->p == '\r')
		r->p++;
}

/* The next byte after white space is c: consumed. */
static inline int
eat(struct pb__scan *r, char c)
{
	ws(r);
	if (*r->p != c)
		return 0;
	r->p++;
	return 1;
}

/* A string without escapes or control characters: *s, *n its bytes. */
static inline int
str(struct pb__scan *r, const char **s, size_t *n)
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
static inline int
cstr(struct pb__scan *r, char *buf, size_t bsz)
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
static inline int
num(struct pb__scan *r, double *v)
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
	else if (*q >= '1' && *q <= '9') {
		for (; *q >= '0' && *q <= '9'; q++, digits++)
			if (digits < 16) /* past 15 digits strtod reads it */
				iv = 10 * iv + (*q - '0');
	} else {
		return -1;
	}
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
static inline int
nneg(struct pb__scan *r, double *v)
{
	return num(r, v) == 0 && isfinite(*v) && *v >= 0 ? 0 : -1;
}

/* Skips any JSON value, strictly; *s receives where it starts. */
static inline int
skip(struct pb__scan *r, const char **s, int depth)
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
static inline cJSON *
tree(struct pb__scan *r)
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
typedef int member_fn(struct pb__scan *r, const char *k, size_t kn, void *arg);

static inline int
object(struct pb__scan *r, member_fn *fn, void *arg)
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


#endif
