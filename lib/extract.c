/* score.c - scorers: reading an answer out of a response and comparing it
 * with a reference, and the record dispatcher used by pb-score.
 *
 * The extractors are pure functions over a NUL-terminated string.  They
 * work on bytes: ASCII is interpreted, other UTF-8 passes through, except
 * for a few signs (currency, minus, curly quotes) recognised as sequences.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pb.h"

/* ------------------------------------------------------------ helpers */

static int
isdig(int c)
{
	return c >= '0' && c <= '9';
}

static int
isalpha_(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
isalnum_(int c)
{
	return isdig(c) || isalpha_(c);
}

static int
lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static int
isspace_(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
	       c == '\v';
}

/* Does s start with word w (ASCII, case-insensitive), not followed by a
 * letter or digit?  Returns the length matched, or 0. */
static size_t
word_at(const char *s, const char *w)
{
	size_t i;

	for (i = 0; w[i]; i++)
		if (lower((unsigned char)s[i]) != w[i])
			return 0;
	return isalnum_((unsigned char)s[i]) ? 0 : i;
}

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

#define NUMTXT 96 /* longest number text kept; longer digit runs are skipped */

struct num {
	double v;
	char txt[NUMTXT];
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

	if (isdig((unsigned char)*q)) {
		run = q;
		while (isdig((unsigned char)*q))
			q++;
		num_put(x, run, (size_t)(q - run));
		/* 1,234,567: groups of exactly three after a lead of 1-3. */
		if (q - run <= 3)
			while (q[0] == ',' && isdig((unsigned char)q[1]) &&
			       isdig((unsigned char)q[2]) && isdig((unsigned char)q[3]) &&
			       !isdig((unsigned char)q[4])) {
				num_put(x, q + 1, 3);
				q += 4;
			}
	}
	if (q[0] == '.' && isdig((unsigned char)q[1])) {
		run = q++;
		while (isdig((unsigned char)*q))
			q++;
		if (run == p)
			num_put(x, "0", 1);
		num_put(x, run, (size_t)(q - run));
	}
	/* 1e3, 2.5E-4: an exponent glued to the number, not to a word. */
	if (q > p && (q[0] == 'e' || q[0] == 'E')) {
		const char *e = q + 1 + (q[1] == '-' || q[1] == '+');

		if (isdig((unsigned char)*e)) {
			while (isdig((unsigned char)*e))
				e++;
			if (!isalpha_((unsigned char)*e)) {
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
		for (ns = ne = r + 1; isdig((unsigned char)*ne); ne++)
			;
		if (ne == ns)
			return r;
	}
	if (*ne != '/')
		return r;
	for (ds = de = ne + 1; isdig((unsigned char)*de); de++)
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

	if (isdig((unsigned char)*p))
		return !isalpha_(prev);
	if (frac_at(p))
		return 1;
	if ((n = minus_at(q)) || *q == '+') {
		if (isalnum_(prev) || prev == ')')
			return 0;
		q += n ? n : 1;
	}
	q += currency_at(q);
	if (q == p)
		return *p == '.' && isdig((unsigned char)p[1]) && !isalnum_(prev);
	if (frac_at(q))
		return 1;
	if (*q == '.')
		q++;
	return isdig((unsigned char)*q);
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
			if (isalpha_((unsigned char)*p))
				while (isalnum_((unsigned char)*p))
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

	while (isspace_((unsigned char)*p))
		p++;
	for (lim = p; *lim && *lim != '\n'; lim++)
		if ((*lim == '.' || *lim == '!' || *lim == '?') &&
		    (!lim[1] || isspace_((unsigned char)lim[1])))
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

	while (isspace_((unsigned char)*p))
		p++;
	for (lim = p; lim < stop && *lim != '\n'; lim++)
		if ((*lim == '.' || *lim == '!' || *lim == '?') &&
		    (!lim[1] || isspace_((unsigned char)lim[1])))
			break;
	return scan_numbers(base, p, lim, 0, x) && number_after(base, p, x);
}

/* If the word "answer" at p (already matched) introduces an answer,
 * returns where the answer starts, else NULL: "answer is", "answer:",
 * "answer =", "answer to the question is", "final answer".  The verb may
 * come later in the same clause. */
static const char *
answer_intro(const char *text, const char *p)
{
	const char *q = p + 6, *s;
	size_t n;
	int final = 0;

	/* "final answer", "final** answer" */
	for (s = p; s > text && (s[-1] == ' ' || s[-1] == '*'); s--)
		;
	if (s - text >= 5 && word_at(s - 5, "final") &&
	    (s - 5 == text || !isalpha_((unsigned char)s[-6])))
		final = 1;
	for (s = q; *s && s - q < 80; s++) {
		if (*s == '.' && !isdig((unsigned char)s[1]))
			break;
		if (*s == '\n' || *s == '?' || *s == '!' || *s == ';')
			break;
		if (*s == ':' || *s == '=')
			return s + 1;
		if (isalpha_((unsigned char)*s) && !isalpha_((unsigned char)s[-1])) {
			if ((n = word_at(s, "is")) || (n = word_at(s, "was")) ||
			    (n = word_at(s, "would be")) || (n = word_at(s, "will be")) ||
			    (n = word_at(s, "should be")))
				return s + n;
		}
	}
	return final ? q : NULL;
}

#define NINTRO 64 /* the introductions kept, the last ones */

/* The places answers are introduced, in order (never decreasing), the
 * last NINTRO of them.  Returns how many. */
static size_t
answer_intros(const char *text, const char *found[NINTRO])
{
	const char *p, *at;
	size_t n = 0;

	for (p = text; *p; p++) {
		if ((*p != 'a' && *p != 'A') || !word_at(p, "answer"))
			continue;
		if (p > text && isalpha_((unsigned char)p[-1]))
			continue;
		if ((at = answer_intro(text, p))) {
			if (n == NINTRO) {
				memmove(found, found + 1, (n - 1) * sizeof *found);
				n--;
			}
			found[n++] = at;
		}
	}
	return n;
}

/* Calls try(at) for each place an answer is introduced, last first, until
 * try returns non-zero.  Returns that value or 0. */
static int
each_answer_intro(const char *text, int (*try)(const char *, const char *, void *),
                  void *arg)
{
	const char *found[NINTRO];
	size_t i, n;
	int rv;

	/* the same place twice ("answer to the answer is") is tried once */
	for (n = i = answer_intros(text, found); i > 0; i--)
		if ((i == n || found[i - 1] != found[i]) &&
		    (rv = try(text, found[i - 1], arg)))
			return rv;
	return 0;
}

/* "The answer is 14": the number after the last introduction with one,
 * each scanned only up to the one after it (which found none). */
static int
intro_number(const char *text, struct num *x)
{
	const char *found[NINTRO], *stop = text + strlen(text);
	size_t i;

	for (i = answer_intros(text, found); i > 0; i--) {
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
static int
whole_number(const char *s, double *v)
{
	struct num x;
	const char *e;
	int ok;

	while (isspace_((unsigned char)*s))
		s++;
	if (!number_starts(s, s))
		return 0;
	e = read_number(s, &x, &ok);
	if (!ok)
		return 0;
	if (*e == '%')
		e++;
	while (isspace_((unsigned char)*e))
		e++;
	if (*e)
		return 0;
	*v = x.v;
	return 1;
}

static int
near(double a, double b, double tol)
{
	double d = fabs(a - b);

	return d <= tol || d <= tol * fmax(fabs(a), fabs(b));
}

/* --------------------------------------------------------------- bool */

/* Skips white space, markdown and opening quotes/brackets. */
static const char *
skip_decor(const char *p)
{
	for (;;) {
		if (isspace_((unsigned char)*p) || (*p && strchr("*_#>`\"'([:", *p)))
			p++;
		else if (!strncmp(p, "\xe2\x80\x9c", 3) || !strncmp(p, "\xe2\x80\x98", 3))
			p += 3;
		else
			return p;
	}
}

/* 1 for a yes-word at p, 0 for a no-word, -1 for neither; *len set. */
static int
verdict_at(const char *p, size_t *len)
{
	static const struct { const char *w; int v; } words[] = {
		{ "true", 1 }, { "yes", 1 }, { "correct", 1 },
		{ "false", 0 }, { "no", 0 }, { "incorrect", 0 },
	};
	size_t i, n;

	for (i = 0; i < sizeof words / sizeof *words; i++)
		if ((n = word_at(p, words[i].w))) {
			*len = n;
			return words[i].v;
		}
	return -1;
}

static int
try_bool(const char *text, const char *at, void *arg)
{
	size_t n;
	int v;

	(void)text;
	v = verdict_at(skip_decor(at), &n);
	if (v < 0)
		return 0;
	*(int *)arg = v;
	return 1;
}

int
pb_extract_bool(const char *text, int *out)
{
	const char *p = skip_decor(text);
	size_t n;
	int open, said = -1;

	/* The opening word, unless the opening offers both ("Yes and no",
	 * "True/False"). */
	open = verdict_at(p, &n);
	if (open >= 0) {
		const char *q = p + n;
		size_t m;
		int other;

		while (*q == ' ' || *q == ',' || *q == '/')
			q++;
		if ((m = word_at(q, "and")) || (m = word_at(q, "or")))
			q += m;
		other = verdict_at(skip_decor(q), &m);
		if (other >= 0 && other != open)
			return 0;
	}
	if (each_answer_intro(text, try_bool, &said) && open >= 0 && said != open)
		return 0;
	if (said < 0)
		said = open;
	if (said < 0)
		return 0;
	*out = said;
	return 1;
}

/* ------------------------------------------------------------- choice */

/* A choice letter at p: A-E (a-e too if lower) not followed by a letter
 * or digit.  Returns the upper-case letter or 0. */
static int
letter_at(const char *p, int lower_ok)
{
	int c = (unsigned char)*p;

	if (lower_ok && c >= 'a' && c <= 'e')
		c -= 'a' - 'A';
	if (c < 'A' || c > 'E' || isalnum_((unsigned char)p[1]))
		return 0;
	return c;
}

static int
try_choice(const char *text, const char *at, void *arg)
{
	const char *p = skip_decor(at);
	int c;

	(void)text;
	/* lower case only in brackets: "the answer is a ..." is an article */
	c = letter_at(p, p > at && (p[-1] == '(' || p[-1] == '['));
	if (!c)
		return 0;
	*(char *)arg = (char)c;
	return 1;
}

int
pb_extract_choice(const char *text, char *out)
{
	const char *p, *q;
	char got = 0;
	int c, one = 0;

	/* 1. "The answer is (B)", "Answer: C", "correct option is B". */
	if (each_answer_intro(text, try_choice, &got)) {
		*out = got;
		return 1;
	}
	for (p = text; *p; p++) {
		size_t n;
		const char *at;

		if (p > text && isalpha_((unsigned char)p[-1]))
			continue;
		/* "I choose option A", "I'd pick C": a verb of choosing names
		 * the letter directly. */
		if ((n = word_at(p, "choose")) || (n = word_at(p, "chose")) ||
		    (n = word_at(p, "pick")) || (n = word_at(p, "select")) ||
		    (n = word_at(p, "go with"))) {
			for (at = p + n; *at == ' '; at++)
				;
			if ((n = word_at(at, "option")) || (n = word_at(at, "choice")) ||
			    (n = word_at(at, "answer")))
				at += n;
			for (; *at == ' ' || *at == '*'; at++)
				;
			if (letter_at(at, 0) && try_choice(text, at, &got))
				one = got;
			continue;
		}
		if (!(n = word_at(p, "option")) && !(n = word_at(p, "choice")))
			continue;
		for (at = p + n; *at == ' ' || *at == '*'; at++)
			;
		if ((n = word_at(at, "is")))
			at += n;
		else if (*at == ':')
			at++;
		else
			continue;
		if (try_choice(text, at, &got))
			one = got;
	}
	if (one) {
		*out = (char)one;
		return 1;
	}
	/* Bracketed letters anywhere: "(B)"; several different ones (a list
	 * of options, "(A) or (C)?") decide nothing. */
	for (p = text; *p; p++) { /* not strchr: see boxed_number */
		if (*p != '(' || !(c = letter_at(p + 1, 1)) || p[2] != ')')
			continue;
		if (one && one != c) {
			one = -1;
			break;
		}
		one = c;
	}
	/* 2. A lone letter: "B", "(b)", "**C.**". */
	p = skip_decor(text);
	if ((c = letter_at(p, 1))) {
		for (q = p + 1; *q && (isspace_((unsigned char)*q) ||
		     strchr(".)]:*_\"'", *q)); q++)
			;
		if (!*q) {
			*out = (char)c;
			return 1;
		}
		/* 3. At the start: "B) Paris", "(B) Paris", "C. 12", "D: x",
		 * unless other letters are bracketed later. */
		if (strchr(").]:", p[1]))
			return (one == 0 || one == c) ? (*out = (char)c, 1) : 0;
	}
	/* 4. Exactly one distinct bracketed letter. */
	if (one > 0) {
		*out = (char)one;
		return 1;
	}
	return 0;
}

/* --------------------------------------------------------- normalising */

/* Length of a character to strip around text at s, or 0.  Markdown and
 * white space always; punctuation unless keep_punct.  '-', '$', '%' stay:
 * they belong to values ("-5", "$3", "20%"). */
static size_t
edge_at(const char *s, int keep_punct)
{
	if (isspace_((unsigned char)*s) || (*s && strchr("*_`#>~", *s)))
		return 1;
	if (keep_punct)
		return 0;
	if (*s && strchr(".,;:!?\"'()[]{}", *s))
		return 1;
	if (!strncmp(s, "\xe2\x80", 2) && s[2] &&
	    strchr("\x98\x99\x9c\x9d", s[2])) /* curly quotes */
		return 3;
	return 0;
}

/* The same, at the end of [s, e): length of a strippable suffix. */
static size_t
edge_before(const char *s, const char *e, int keep_punct)
{
	if (e - s >= 3 && edge_at(e - 3, keep_punct) == 3)
		return 3;
	if (e > s && edge_at(e - 1, keep_punct) == 1)
		return 1;
	return 0;
}

static int
is_article(const char *w, size_t n)
{
	return (n == 1 && lower(w[0]) == 'a') ||
	       (n == 2 && lower(w[0]) == 'a' && lower(w[1]) == 'n') ||
	       (n == 3 && lower(w[0]) == 't' && lower(w[1]) == 'h' &&
	        lower(w[2]) == 'e');
}

char *
pb_normalize(const char *text, unsigned flags)
{
	int kp = !!(flags & PB_NORM_KEEP_PUNCT);
	const char *s = text, *e = text + strlen(text), *w;
	char *out, *o;
	size_t n;

	for (;;) {
		if (s < e && (n = edge_at(s, kp)))
			s += n;
		else if (e > s && (n = edge_before(s, e, kp)))
			e -= n;
		else
			break;
	}
	if (!(out = malloc((size_t)(e - s) + 1)))
		return NULL;
	o = out;
	while (s < e) {
		for (w = s; w < e && !isspace_((unsigned char)*w); w++)
			;
		/* word [s, w) */
		if (!(flags & PB_NORM_NO_ARTICLES) || !is_article(s, (size_t)(w - s))) {
			if (o > out)
				*o++ = ' ';
			for (; s < w; s++)
				*o++ = (char)(flags & PB_NORM_KEEP_CASE ? *s : lower((unsigned char)*s));
		}
		for (s = w; s < e && isspace_((unsigned char)*s); s++)
			;
	}
	*o = '\0';
	return out;
}

/* ------------------------------------------------------------ scorers */

static const char *const kind_names[] = {
	[PB_SCORER_NUMBER] = "number", [PB_SCORER_BOOL] = "bool",
	[PB_SCORER_EXACT] = "exact", [PB_SCORER_CONTAINS] = "contains",
	[PB_SCORER_REGEX] = "regex", [PB_SCORER_CHOICE] = "choice",
	[PB_SCORER_LENGTH] = "length",
};

const char *
pb_scorer_name(enum pb_scorer_kind k)
{
	return (unsigned)k < sizeof kind_names / sizeof *kind_names ?
	       kind_names[k] : "?";
}

const char *
pb_score_status_name(enum pb_score_status s)
{
	static const char *const names[] = { "ok", "wrong", "no-answer",
	                                     "unscored", "partial" };
	return (unsigned)s < 5 ? names[s] : "?";
}

int
pb_scorer_init(struct pb_scorer *sc, const char *name, char err[PB_ERRLEN])
{
	size_t i;

	memset(sc, 0, sizeof *sc);
	sc->reference = "task.answer";
	sc->response = "response.text";
	sc->tolerance = 1e-6;
	sc->max_words = 100;
	for (i = 0; i < sizeof kind_names / sizeof *kind_names; i++)
		if (!strcmp(name, kind_names[i])) {
			sc->kind = (enum pb_scorer_kind)i;
			return 0;
		}
	snprintf(err, PB_ERRLEN, "unknown scorer '%s' (number, bool, exact, "
	         "contains, regex, choice, length, jq, cmd, judge)", name);
	return -1;
}

int
pb_scorer_regex(struct pb_scorer *sc, const char *ere, char err[PB_ERRLEN])
{
	char msg[256];
	int rc;

	if (sc->has_re) {
		regfree(&sc->re);
		sc->has_re = 0;
	}
	if ((rc = regcomp(&sc->re, ere, REG_EXTENDED))) {
		regerror(rc, &sc->re, msg, sizeof msg);
		snprintf(err, PB_ERRLEN, "bad regex '%s': %s", ere, msg);
		return -1;
	}
	sc->has_re = 1;
	return 0;
}

void
pb_scorer_free(struct pb_scorer *sc)
{
	if (sc->has_re)
		regfree(&sc->re);
	sc->has_re = 0;
}

void
pb_score_result_free(struct pb_score_result *res)
{
	free(res->extracted);
	free(res->reference);
	res->extracted = res->reference = NULL;
}

/* Text of a scalar reference, malloc'd; NULL (err set) if not a scalar. */
static char *
ref_text(const struct pb_scorer *sc, const cJSON *ref, char err[PB_ERRLEN])
{
	char buf[64];
	char *s;

	if (cJSON_IsString(ref))
		s = strdup(ref->valuestring);
	else if (cJSON_IsNumber(ref)) {
		pb_fmt_num(buf, sizeof buf, ref->valuedouble);
		s = strdup(buf);
	} else if (cJSON_IsBool(ref))
		s = strdup(cJSON_IsTrue(ref) ? "true" : "false");
	else {
		snprintf(err, PB_ERRLEN, "reference at %s is not a string or number",
		         sc->reference);
		return NULL;
	}
	if (!s)
		snprintf(err, PB_ERRLEN, "out of memory");
	return s;
}

static int
oom(char err[PB_ERRLEN])
{
	snprintf(err, PB_ERRLEN, "out of memory");
	return -1;
}

static int
score_number(const struct pb_scorer *sc, const char *text, const cJSON *ref,
             struct pb_score_result *res, char err[PB_ERRLEN])
{
	char buf[NUMTXT];
	double want, got;

	if (cJSON_IsNumber(ref)) {
		want = ref->valuedouble;
		pb_fmt_num(buf, sizeof buf, want);
	} else if (cJSON_IsString(ref)) {
		if (!pb_extract_number(ref->valuestring, &want, buf, sizeof buf)) {
			snprintf(err, PB_ERRLEN, "reference at %s has no number: '%.60s'",
			         sc->reference, ref->valuestring);
			return -1;
		}
	} else {
		snprintf(err, PB_ERRLEN, "reference at %s is not a string or number",
		         sc->reference);
		return -1;
	}
	if (!(res->reference = strdup(buf)))
		return oom(err);
	if (!pb_extract_number(text, &got, buf, sizeof buf)) {
		res->status = PB_SCORE_NOANSWER;
		return 0;
	}
	if (!(res->extracted = strdup(buf)))
		return oom(err);
	res->status = near(got, want, sc->tolerance) ? PB_SCORE_OK : PB_SCORE_WRONG;
	return 0;
}

static int
score_bool(const struct pb_scorer *sc, const char *text, const cJSON *ref,
           struct pb_score_result *res, char err[PB_ERRLEN])
{
	int want, got;

	if (cJSON_IsBool(ref))
		want = cJSON_IsTrue(ref);
	else if (cJSON_IsNumber(ref) && (ref->valuedouble == 0 || ref->valuedouble == 1))
		want = ref->valuedouble == 1;
	else if (!cJSON_IsString(ref) || !pb_extract_bool(ref->valuestring, &want)) {
		char *t = cJSON_PrintUnformatted(ref);
		snprintf(err, PB_ERRLEN, "reference at %s is not true or false: %.60s",
		         sc->reference, t ? t : "?");
		cJSON_free(t);
		return -1;
	}
	if (!(res->reference = strdup(want ? "true" : "false")))
		return oom(err);
	if (!pb_extract_bool(text, &got)) {
		res->status = PB_SCORE_NOANSWER;
		return 0;
	}
	if (!(res->extracted = strdup(got ? "true" : "false")))
		return oom(err);
	res->status = got == want ? PB_SCORE_OK : PB_SCORE_WRONG;
	return 0;
}

static int
score_choice(const struct pb_scorer *sc, const char *text, const cJSON *ref,
             struct pb_score_result *res, char err[PB_ERRLEN])
{
	char want, got, s[2] = "";

	if (!cJSON_IsString(ref) || !pb_extract_choice(ref->valuestring, &want)) {
		char *t = cJSON_PrintUnformatted(ref);
		snprintf(err, PB_ERRLEN, "reference at %s is not a choice A-E: %.60s",
		         sc->reference, t ? t : "?");
		cJSON_free(t);
		return -1;
	}
	s[0] = want;
	if (!(res->reference = strdup(s)))
		return oom(err);
	if (!pb_extract_choice(text, &got)) {
		res->status = PB_SCORE_NOANSWER;
		return 0;
	}
	s[0] = got;
	if (!(res->extracted = strdup(s)))
		return oom(err);
	res->status = got == want ? PB_SCORE_OK : PB_SCORE_WRONG;
	return 0;
}

/* Does normalised answer (exact/regex) or response (contains) match one
 * scalar reference r?  1 yes, 0 no, -1 error. */
static int
text_match(const struct pb_scorer *sc, const char *got, const cJSON *r,
           char err[PB_ERRLEN])
{
	char *t, *want;
	double a, b;
	int m;

	if (!(t = ref_text(sc, r, err)))
		return -1;
	want = pb_normalize(t, sc->norm);
	free(t);
	if (!want)
		return oom(err);
	if (!*want) {
		free(want);
		snprintf(err, PB_ERRLEN, "reference at %s is empty", sc->reference);
		return -1;
	}
	if (sc->kind == PB_SCORER_CONTAINS)
		m = strstr(got, want) != NULL;
	else
		m = !strcmp(got, want) || (sc->kind == PB_SCORER_REGEX &&
		    whole_number(got, &a) && whole_number(want, &b) &&
		    near(a, b, sc->tolerance));
	free(want);
	return m;
}

static int
score_text(const struct pb_scorer *sc, const char *text, const cJSON *ref,
           struct pb_score_result *res, char err[PB_ERRLEN])
{
	const cJSON *r;
	char *got;
	int m = 0;

	if (cJSON_IsArray(ref)) {
		if (!cJSON_GetArraySize(ref)) {
			snprintf(err, PB_ERRLEN, "reference at %s is an empty array",
			         sc->reference);
			return -1;
		}
		res->reference = cJSON_PrintUnformatted(ref);
	} else
		res->reference = ref_text(sc, ref, err);
	if (!res->reference)
		return -1;
	if (sc->kind == PB_SCORER_REGEX) {
		regmatch_t mt[2];
		size_t k;
		char *cap;

		if (!sc->has_re) {
			snprintf(err, PB_ERRLEN, "regex scorer without a regex");
			return -1;
		}
		if (regexec(&sc->re, text, 2, mt, 0)) {
			res->status = PB_SCORE_NOANSWER;
			return 0;
		}
		k = sc->re.re_nsub >= 1 && mt[1].rm_so >= 0 ? 1 : 0;
		if (!(cap = strndup(text + mt[k].rm_so, (size_t)(mt[k].rm_eo - mt[k].rm_so))))
			return oom(err);
		got = pb_normalize(cap, sc->norm);
		free(cap);
	} else
		got = pb_normalize(text, sc->norm);
	if (!got)
		return oom(err);
	if (!*got) {
		free(got);
		res->status = PB_SCORE_NOANSWER;
		return 0;
	}
	if (cJSON_IsArray(ref)) {
		cJSON_ArrayForEach(r, ref)
			if ((m = text_match(sc, got, r, err)))
				break;
	} else
		m = text_match(sc, got, ref, err);
	res->extracted = got;
	if (m < 0)
		return -1;
	res->status = m ? PB_SCORE_OK : PB_SCORE_WRONG;
	return 0;
}

/* Concision: full reward up to max_words words (runs of non-blanks),
 * falling linearly to 0 at twice as many.  No reference is needed; an
 * empty response is no answer rather than a perfectly short one. */
static int
score_length(const struct pb_scorer *sc, const char *text,
             struct pb_score_result *res, char err[PB_ERRLEN])
{
	char buf[64];
	long words = 0, n = sc->max_words > 0 ? sc->max_words : 1;
	const char *p;

	for (p = text; *p; p++)
		if (!isspace_((unsigned char)*p) && (p == text || isspace_((unsigned char)p[-1])))
			words++;
	snprintf(buf, sizeof buf, "%ld word%s", n, n == 1 ? "" : "s");
	if (!(res->reference = strdup(buf)))
		return oom(err);
	if (!words) {
		res->status = PB_SCORE_NOANSWER;
		return 0;
	}
	snprintf(buf, sizeof buf, "%ld word%s", words, words == 1 ? "" : "s");
	if (!(res->extracted = strdup(buf)))
		return oom(err);
	res->reward = words <= n ? 1 : fmax(0, 1 - (double)(words - n) / (double)n);
	res->status = res->reward == 1 ? PB_SCORE_OK : res->reward == 0 ?
	              PB_SCORE_WRONG : PB_SCORE_PARTIAL;
	return 0;
}

static int
score_kind(const struct pb_scorer *sc, const char *text, const cJSON *ref,
           struct pb_score_result *res, char err[PB_ERRLEN])
{
	switch (sc->kind) {
	case PB_SCORER_LENGTH:
		return score_length(sc, text, res, err);
	case PB_SCORER_NUMBER:
		return score_number(sc, text, ref, res, err);
	case PB_SCORER_BOOL:
		return score_bool(sc, text, ref, res, err);
	case PB_SCORER_CHOICE:
		return score_choice(sc, text, ref, res, err);
	case PB_SCORER_EXACT:
	case PB_SCORER_CONTAINS:
	case PB_SCORER_REGEX:
		return score_text(sc, text, ref, res, err);
	}
	snprintf(err, PB_ERRLEN, "unknown scorer kind %d", (int)sc->kind);
	return -1;
}

int
pb_score_text(const struct pb_scorer *sc, const char *text, const cJSON *ref,
              struct pb_score_result *res, char err[PB_ERRLEN])
{
	int rv;

	res->status = PB_SCORE_UNSCORED;
	res->extracted = res->reference = NULL;
	res->reward = 0;
	if (!text) {
		snprintf(err, PB_ERRLEN, "no response text at %s", sc->response);
		return -1;
	}
	if ((!ref || cJSON_IsNull(ref)) && sc->kind != PB_SCORER_LENGTH) {
		snprintf(err, PB_ERRLEN, "no reference at %s", sc->reference);
		return -1;
	}
	rv = score_kind(sc, text, ref, res, err);
	if (rv == 0 && res->status == PB_SCORE_OK)
		res->reward = 1;
	else if (rv == 0 && res->status != PB_SCORE_PARTIAL)
		res->reward = 0;
	return rv;
}

/* ------------------------------------------------------------ records */

static cJSON *
str_or_null(const char *s)
{
	return s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

char *
pb_score_query_failed(const cJSON *error)
{
	const char *m = cJSON_IsString(error) ? error->valuestring :
	                pb_json_str(error, "message");
	char *s;

	if (!m)
		m = pb_json_str(error, "kind");
	if (!(s = malloc(strlen("query failed: ") + (m ? strlen(m) : 0) + 1)))
		return NULL;
	sprintf(s, "query failed%s%s", m ? ": " : "", m ? m : "");
	return s;
}

int
pb_score_record(const struct pb_scorer *sc, cJSON *rec, char err[PB_ERRLEN])
{
	struct pb_score_result res = { PB_SCORE_UNSCORED, NULL, NULL, 0 };
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(rec, "error");
	const cJSON *ref = pb_json_path(rec, sc->reference);
	const char *text = pb_json_str(rec, sc->response);
	cJSON *score, *reward;
	int rv = 0;

	if (e && !cJSON_IsNull(e)) {
		char *why = pb_score_query_failed(e);

		snprintf(err, PB_ERRLEN, "%s", why ? why : "out of memory");
		rv = why ? 1 : -1;
		free(why);
	} else if (pb_score_text(sc, text, ref, &res, err) < 0) {
		res.status = PB_SCORE_UNSCORED;
		free(res.extracted);
		res.extracted = NULL;
		rv = -1;
	}
	if (rv && !res.reference && ref && !cJSON_IsNull(ref)) {
		/* Show the reference as this scorer reads it ("72", not a whole
		 * GSM8K solution), or as given if it cannot be read. */
		char dummy[PB_ERRLEN];

		if (rv == 1 && pb_score_text(sc, "", ref, &res, dummy) == 0) {
			free(res.extracted);
			res.extracted = NULL;
		} else {
			pb_score_result_free(&res);
			res.reference = cJSON_IsArray(ref) ? cJSON_PrintUnformatted(ref) :
			                ref_text(sc, ref, dummy);
		}
		res.status = PB_SCORE_UNSCORED;
	}
	if (!(score = cJSON_CreateObject())) {
		pb_score_result_free(&res);
		return oom(err);
	}
	cJSON_AddItemToObjectCS(score, "scorer",
	                        cJSON_CreateStringReference(pb_scorer_name(sc->kind)));
	cJSON_AddItemToObjectCS(score, "extracted", str_or_null(res.extracted));
	cJSON_AddItemToObjectCS(score, "reference", str_or_null(res.reference));
	cJSON_AddItemToObjectCS(score, "status",
	                        cJSON_CreateStringReference(pb_score_status_name(res.status)));
	if (res.status == PB_SCORE_UNSCORED) {
		cJSON_AddItemToObjectCS(score, "reason", cJSON_CreateString(err));
		reward = cJSON_CreateNull();
	} else
		reward = cJSON_CreateNumber(res.reward);
	pb_json_set(rec, "reward", reward);
	pb_json_set(rec, "score", score);
	pb_score_result_free(&res);
	if (!reward)
		return oom(err);
	return rv;
}
