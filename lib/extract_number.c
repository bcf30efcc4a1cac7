/* extract_number.c - the final answer of a worked solution, as a number:
 * GSM8K's "#### 72", "the answer is 14", \boxed{14}, else the last number
 * (pb_extract_number), and whether a text is one number alone (for the
 * regex scorer's numeric comparison).
 *
 * Pure functions over a NUL-terminated string.  They work on bytes: ASCII
 * is interpreted, other UTF-8 passes through, except for a few signs
 * (currency, minus) recognised as sequences.  Every scan is linear in the
 * text: tests/unit/score.c runs them on 4 MB of the patterns that were not.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "score.h"
#include "internal.h"

/* ------------------------------------------------------------- signs */

/* Length of a currency sign at s ($ or the UTF-8 of euro, pound, yen,
 * rupee, cent), or 0.  Called at every byte of a response, hence bytes
 * compared by hand. */
static size_t
currency_at(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;

	if (u[0] == '$')
		return 1;
	if (u[0] == 0xc2 && (u[1] == 0xa3 || u[1] == 0xa5 || u[1] == 0xa2))
		return 2; /* pound, yen, cent */
	if (u[0] == 0xe2 && u[1] == 0x82 && (u[2] == 0xac || u[2] == 0xb9))
		return 3; /* euro, rupee */
	return 0;
}

/* Length of a minus sign at s ('-' or U+2212), or 0. */
static size_t
minus_at(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;

	if (u[0] == '-')
		return 1;
	return u[0] == 0xe2 && u[1] == 0x88 && u[2] == 0x92 ? 3 : 0;
}

/* Length of "\frac{" (or \dfrac{, \tfrac{) at s, or 0. */
static size_t
frac_at(const char *s)
{
	if (s[0] != '\\')
		return 0;
	if (!strncmp(s, "\\frac{", 6))
		return 6;
	if (!strncmp(s, "\\dfrac{", 7) || !strncmp(s, "\\tfrac{", 7))
		return 7;
	return 0;
}

/* ------------------------------------------------------------ numbers */

struct num {
	double v;
	char txt[PB_NUMTXT];
	size_t len;
	int bad; /* did not fit in txt */
};

static void
num_put(struct num *x, const char *s, size_t n)
{
	if (x->len + n >= sizeof x->txt) {
		x->bad = 1;
		return;
	}
	memcpy(x->txt + x->len, s, n);
	x->len += n;
	x->txt[x->len] = '\0';
}

/* Reads an unsigned decimal at p: digits with optional 1,234 thousands
 * groups and an optional .fraction (or a bare .5).  Appends its digits to
 * x->txt.  Returns the end, or p if there is none. */
static const char *
read_decimal(const char *p, struct num *x)
{
	const char *q = p, *run;

	if (pb__isdig((unsigned char)*q)) {
		run = q;
		while (pb__isdig((unsigned char)*q))
			q++;
		num_put(x, run, (size_t)(q - run));
		/* 1,234,567: groups of exactly three after a lead of 1-3. */
		if (q - run <= 3)
			while (q[0] == ',' && pb__isdig((unsigned char)q[1]) &&
			       pb__isdig((unsigned char)q[2]) && pb__isdig((unsigned char)q[3]) &&
			       !pb__isdig((unsigned char)q[4])) {
				num_put(x, q + 1, 3);
				q += 4;
			}
	}
	if (q[0] == '.' && pb__isdig((unsigned char)q[1])) {
		run = q++;
		while (pb__isdig((unsigned char)*q))
			q++;
		if (run == p)
			num_put(x, "0", 1);
		num_put(x, run, (size_t)(q - run));
	}
	/* 1e3, 2.5E-4: an exponent glued to the number, not to a word. */
	if (q > p && (q[0] == 'e' || q[0] == 'E')) {
		const char *e = q + 1 + (q[1] == '-' || q[1] == '+');

		if (pb__isdig((unsigned char)*e)) {
			while (pb__isdig((unsigned char)*e))
				e++;
			if (!pb__isalpha((unsigned char)*e)) {
				num_put(x, q, (size_t)(e - q));
				q = e;
			}
		}
	}
	return q;
}

/* Reads {number} for \frac; returns the end or NULL. */
static const char *
read_braced(const char *p, struct num *x)
{
	const char *q;

	while (*p == ' ')
		p++;
	q = read_decimal(p, x);
	if (q == p)
		return NULL;
	while (*q == ' ')
		q++;
	return *q == '}' ? q + 1 : NULL;
}

/* Value of the digits [s, e). */
static double
digits_value(const char *s, const char *e)
{
	double v = 0;

	for (; s < e; s++)
		v = v * 10 + (*s - '0');
	return v;
}

/* After an integer x ending at r: "/4" makes it the fraction 3/4, and
 * " 1/2" the mixed number 2 1/2 (proper fractions only, so "in 2 10/5"
 * stays 2).  Returns the new end (r if neither). */
static const char *
read_fraction(const char *r, struct num *x, int neg)
{
	const char *ns = r, *ne = r, *ds, *de;
	double a, b, whole = 0;
	int mixed = *r == ' ';

	if (mixed) {
		for (ns = ne = r + 1; pb__isdig((unsigned char)*ne); ne++)
			;
		if (ne == ns)
			return r;
	}
	if (*ne != '/')
		return r;
	for (ds = de = ne + 1; pb__isdig((unsigned char)*de); de++)
		;
	if (de == ds || de - ds > 15 || ne - ns > 15)
		return r;
	b = digits_value(ds, de);
	if (mixed) {
		whole = fabs(x->v);
		a = digits_value(ns, ne);
		if (a >= b)
			return r;
		num_put(x, r, (size_t)(ne - r));
	} else
		a = fabs(x->v);
	if (b == 0)
		return r;
	num_put(x, ne, (size_t)(de - ne));
	x->v = (whole + a / b) * (neg ? -1 : 1);
	return de;
}

/* Tries to read a number starting exactly at p (which the caller has
 * found to be a plausible start).  Returns the end of what was consumed
 * (past p even when the number is unusable, so scanning moves on) and
 * sets *ok. */
static const char *
read_number(const char *p, struct num *x, int *ok)
{
	const char *q = p, *r;
	size_t n;
	int neg = 0;

	x->len = 0;
	x->txt[0] = '\0';
	x->bad = 0;
	*ok = 0;
	if ((n = minus_at(q))) {
		neg = 1;
		q += n;
	} else if (*q == '+') {
		q++;
	}
	q += currency_at(q);
	if (neg)
		num_put(x, "-", 1);
	if ((n = frac_at(q))) {
		double a, b;
		size_t mark;

		r = read_braced(q + n, x);
		if (!r || *r != '{')
			return q + n;
		mark = x->len;
		num_put(x, "/", 1);
		r = read_braced(r + 1, x);
		if (!r || x->bad)
			return q + n;
		x->txt[mark] = '\0';
		a = strtod(x->txt, NULL);
		b = strtod(x->txt + mark + 1, NULL);
		x->txt[mark] = '/';
		if (b == 0)
			return r;
		x->v = a / b;
		*ok = 1;
		return r;
	}
	r = read_decimal(q, x);
	if (r == q)
		return q > p ? q : p + 1;
	if (x->bad)
		return r;
	x->v = strtod(x->txt, NULL);
	if (!strchr(x->txt, '.'))
		r = read_fraction(r, x, neg);
	*ok = !x->bad;
	return r;
}

/* Is p a place a number may start?  A digit not glued to a preceding
 * letter (so "CO2", "x3" are not numbers), a sign or currency sign before
 * a digit, a bare ".5", or \frac.  A '-' right after a digit or letter is
 * a hyphen or a subtraction, not a sign. */
static int
number_starts(const char *base, const char *p)
{
	unsigned char prev = p > base ? (unsigned char)p[-1] : ' ';
	const char *q = p;
	size_t n;

	if (pb__isdig((unsigned char)*p))
		return !pb__isalpha(prev);
	if (frac_at(p))
		return 1;
	if ((n = minus_at(q)) || *q == '+') {
		if (pb__isalnum(prev) || prev == ')')
			return 0;
		q += n ? n : 1;
	}
	q += currency_at(q);
	if (q == p)
		return *p == '.' && pb__isdig((unsigned char)p[1]) && !pb__isalnum(prev);
	if (frac_at(q))
		return 1;
	if (*q == '.')
		q++;
	return pb__isdig((unsigned char)*q);
}

/* Finds the first (last = 0) or last (last = 1) number in [p, lim).
 * Returns 1 and fills x if there is one. */
static int
scan_numbers(const char *base, const char *p, const char *lim, int last,
             struct num *x)
{
	struct num cur;
	int found = 0, ok;

	while (p < lim && *p) {
		if (!number_starts(base, p)) {
			/* skip a whole word so digits inside it are not numbers */
			if (pb__isalpha((unsigned char)*p))
				while (pb__isalnum((unsigned char)*p))
					p++;
			else
				p++;
			continue;
		}
		p = read_number(p, &cur, &ok);
		if (ok) {
			*x = cur;
			found = 1;
			if (!last)
				return 1;
		}
	}
	return found;
}

/* The first number after p: white space (newlines too) is skipped, then
 * the number must be in that sentence ("The answer is 12. I hope this
 * answer is helpful! Ask about 3 more" must not read 3). */
static int
number_after(const char *base, const char *p, struct num *x)
{
	const char *lim, *eq;

	while (pb__isspace((unsigned char)*p))
		p++;
	for (lim = p; *lim && *lim != '\n'; lim++)
		if ((*lim == '.' || *lim == '!' || *lim == '?') &&
		    (!lim[1] || pb__isspace((unsigned char)lim[1])))
			break;
	if (!scan_numbers(base, p, lim, 0, x))
		return 0;
	/* "Answer: 5 + 3 = 8": the number after the sentence's last '='. */
	for (eq = lim; eq > p && eq[-1] != '='; eq--)
		;
	if (eq > p)
		scan_numbers(base, eq, lim, 0, x);
	return 1;
}

/* number_after(p), when nothing from stop to the end of p's sentence is
 * a number (a later candidate scanned it and found none): the search for
 * the first number stops at stop, and only a hit reads the sentence to
 * its end, once.  What keeps the extractors linear in the text. */
static int
number_before(const char *base, const char *p, const char *stop, struct num *x)
{
	const char *lim;

	while (pb__isspace((unsigned char)*p))
		p++;
	for (lim = p; lim < stop && *lim != '\n'; lim++)
		if ((*lim == '.' || *lim == '!' || *lim == '?') &&
		    (!lim[1] || pb__isspace((unsigned char)lim[1])))
			break;
	return scan_numbers(base, p, lim, 0, x) && number_after(base, p, x);
}

/* "The answer is 14": the number after the last introduction with one,
 * each scanned only up to the one after it (which found none). */
static int
intro_number(const char *text, struct num *x)
{
	const char *found[PB_NINTRO], *stop = text + strlen(text);
	size_t i;

	for (i = pb__answer_intros(text, found); i > 0; i--) {
		if (number_before(text, found[i - 1], stop, x))
			return 1;
		if (found[i - 1] < stop)
			stop = found[i - 1];
	}
	return 0;
}

/* GSM8K's "#### 72": the number after the last "####" that has one in
 * its sentence.  Walked from the end back, one run of '#'s at a time:
 * every "####" of a run reads the same (all between is '#'), so a run is
 * tried once, from its last "####", and only up to the run after it.
 * (It was quadratic on runs of "####".) */
static int
hashes_answer(const char *text, struct num *x)
{
	const char *r = text + strlen(text), *stop = r, *s, *e;

	for (;;) {
		/* the run of '#' ending last before r, if 4 long or more */
		for (e = r; e > text && e[-1] != '#'; e--)
			;
		if (e == text)
			return 0;
		for (s = e; s > text && s[-1] == '#'; s--)
			;
		r = s;
		if (e - s < 4)
			continue;
		if (number_before(text, s + 4 * ((size_t)(e - s) / 4), stop, x))
			return 1;
		stop = s;
	}
}

#define NBOX 32 /* the boxes kept, the last ones */

/* \boxed{14}: the first number in the last box holding one.  The boxes'
 * ends are found in one walk; a box is then scanned around the later
 * boxes inside it, which were scanned already without a number, so each
 * byte is scanned once (nested or unclosed boxes made it NBOX times). */
static int
boxed_number(const char *text, struct num *x)
{
	const char *box[NBOX], *end[NBOX], *p, *a;
	size_t nb = 0, top = 0, i, k, j;
	int stack[NBOX], level[NBOX], depth = 0;
	struct { const char *s, *e; } done[NBOX];
	size_t nd = 0;

	/* by hand, not strstr: a sanitizer's strstr reads the whole rest of
	 * the text at every call, which makes a loop of them quadratic */
	for (p = text; *p; p++) {
		if (*p != '\\' || strncmp(p, "\\boxed{", 7))
			continue;
		p += 6;
		if (nb == NBOX) {
			memmove(box, box + 1, (NBOX - 1) * sizeof *box);
			nb--;
		}
		box[nb++] = p + 1;
	}
	if (!nb)
		return 0;
	/* each box ends after the '}' that brings its depth back to 0 */
	for (p = box[0], k = 0; ; p++) {
		if (k < nb && p == box[k]) {
			stack[top] = (int)k;
			level[top++] = depth;
			k++;
		}
		if (!*p)
			break;
		depth += (*p == '{') - (*p == '}');
		while (top && level[top - 1] > depth)
			end[stack[--top]] = p + 1;
	}
	while (top)
		end[stack[--top]] = p;
	/* last box first; done[] holds the spans scanned, in order */
	for (i = nb; i-- > 0;) {
		for (j = 0; j < nd && done[j].s < box[i]; j++)
			;
		for (a = box[i], k = j; k < nd && done[k].s < end[i]; k++) {
			if (scan_numbers(text, a, done[k].s, 0, x))
				return 1;
			a = done[k].e;
		}
		if (scan_numbers(text, a, end[i], 0, x))
			return 1;
		/* the spans inside this box become this box's one span */
		done[j].s = box[i];
		done[j].e = end[i];
		memmove(done + j + 1, done + k, (nd - k) * sizeof *done);
		nd -= k - j - 1;
	}
	return 0;
}

int
pb_extract_number(const char *text, double *out, char *buf, size_t n)
{
	struct num x;
	int found = 0;

	/* 1. GSM8K's "#### 72": the last one with a number. */
	found = hashes_answer(text, &x);
	/* 2. "The answer is 14", "Final answer: 14". */
	if (!found)
		found = intro_number(text, &x);
	/* 3. \boxed{14}: the last box holding a number. */
	if (!found)
		found = boxed_number(text, &x);
	/* 4. The last number anywhere. */
	if (!found)
		found = scan_numbers(text, text, text + strlen(text), 1, &x);
	if (!found) {
		if (n)
			buf[0] = '\0';
		return 0;
	}
	*out = x.v;
	if (n)
		snprintf(buf, n, "%s", x.txt);
	return 1;
}

/* Is s (after trimming) nothing but a number, optionally with a currency
 * sign before and a '%' after?  For numeric comparison of captures. */
int
pb__whole_number(const char *s, double *v)
{
	struct num x;
	const char *e;
	int ok;

	while (pb__isspace((unsigned char)*s))
		s++;
	if (!number_starts(s, s))
		return 0;
	e = read_number(s, &x, &ok);
	if (!ok)
		return 0;
	if (*e == '%')
		e++;
	while (pb__isspace((unsigned char)*e))
		e++;
	if (*e)
		return 0;
	*v = x.v;
	return 1;
}
