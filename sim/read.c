/* read.c - the simulator's own reading of the answers it needs to
 * understand: numbers as people write them, true/false and yes/no, choice
 * letters, the text between tags, a reply's answer part, text normalised
 * for comparison.  Deliberately not pb-score's extractors (lib/score.c):
 * a fixture that graded with the scorer's code would share its bugs
 * instead of catching them, so nothing here calls the score layer. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

/* Reads a whole number: optional sign and '$', digits with thousands
 * commas, a decimal part, an optional '%'; or a fraction "3/4". */
int
sim_parse_number(const char *s, double *v)
{
	const char *p = s;
	char buf[128], *end;
	size_t n = 0;
	int neg = 0, digits = 0;

	if (*p == '-' || *p == '+')
		neg = *p++ == '-';
	if (*p == '$')
		p++;
	if (strchr(p, '/')) {
		long a, b;
		char c;
		if (sscanf(p, "%ld/%ld%c", &a, &b, &c) != 2 || b <= 0 || a < 0)
			return 0;
		*v = (neg ? -1.0 : 1.0) * (double)a / (double)b;
		return 1;
	}
	for (; *p && n + 1 < sizeof buf; p++) {
		if (*p >= '0' && *p <= '9') {
			buf[n++] = *p;
			digits++;
		} else if (*p == ',' && digits && p[1] >= '0' && p[1] <= '9') {
			continue;
		} else if (*p == '.') {
			buf[n++] = *p;
		} else {
			break;
		}
	}
	if (*p == '%')
		p++;
	buf[n] = '\0';
	if (*p || !digits)
		return 0;
	*v = strtod(buf, &end);
	if (*end || !isfinite(*v))
		return 0;
	if (neg)
		*v = -*v;
	return 1;
}

int
sim_bool_word(const char *s)
{
	static const char *const w[] = { "false", "true", "no", "yes" };
	int i;

	for (i = 0; i < 4; i++)
		if (!strcasecmp(s, w[i]))
			return i;
	return -1;
}

/* The letter of a choice answer ("B", "(b)", "B)", "B."), or 0. */
char
sim_choice_letter(const char *s)
{
	char c;

	if (*s == '(')
		s++;
	c = *s >= 'a' && *s <= 'e' ? (char)(*s - 'a' + 'A') : *s;
	if (c < 'A' || c > 'E')
		return 0;
	s++;
	if (*s == ')' || *s == '.')
		s++;
	return *s ? 0 : c;
}

/* The text between <tag> and </tag> in text (the last such pair),
 * malloc'd, or NULL if there is none. */
char *
sim_tagged(const char *text, const char *tag)
{
	char open[32], close[32];
	const char *p, *b = NULL, *e;

	snprintf(open, sizeof open, "<%s>", tag);
	snprintf(close, sizeof close, "</%s>", tag);
	for (p = text; (p = strstr(p, open)); p++)
		b = p;
	if (!b || !(e = strstr(b, close)))
		return NULL;
	b += strlen(open);
	return dupn(b, (size_t)(e - b));
}

/* The answer proper of a reply: after the last "####", else after the
 * last "answer is" or "answer:" (any case), else all of it.  *marked
 * says whether a marker was found. */
const char *
sim_answer_part(const char *r, int *marked)
{
	static const char *const marks[] = { "####", "answer is", "answer:" };
	const char *best = NULL, *p;
	size_t i, n;

	for (i = 0; i < sizeof marks / sizeof *marks && !best; i++)
		for (p = r, n = strlen(marks[i]); *p; p++)
			if (!strncasecmp(p, marks[i], n))
				best = p + n;
	*marked = best != NULL;
	return best ? best : r;
}

static int
numchar(int c)
{
	return (c >= '0' && c <= '9') || c == ',' || c == '.' || c == '/' ||
	       c == '$' || c == '%' || c == '-' || c == '+';
}

/* The first (or, with last set, the last) number written in text, as
 * sim_parse_number reads one once stray commas and full stops at its ends
 * are cut off.  Returns 1 with *v set, 0 if there is none. */
int
sim_number_in(const char *text, int last, double *v)
{
	const char *p = text, *b;
	char buf[128];
	int found = 0;
	size_t n;

	while (*p) {
		if (!numchar((unsigned char)*p)) {
			p++;
			continue;
		}
		for (b = p; numchar((unsigned char)*p); p++)
			;
		n = (size_t)(p - b);
		while (n && (b[n - 1] == '.' || b[n - 1] == ',' || b[n - 1] == '-'))
			n--;
		if (!n || n >= sizeof buf)
			continue;
		memcpy(buf, b, n);
		buf[n] = '\0';
		if (strpbrk(buf, "0123456789") && sim_parse_number(buf, v)) {
			found = 1;
			if (!last)
				break;
		}
	}
	return found;
}

/* text in lower case, every run of characters other than letters and
 * digits one space, the articles a, an and the left out, trimmed:
 * "The treble clef." and "treble clef" read the same.  malloc'd. */
char *
sim_normalise(const char *text)
{
	char *o = malloc(strlen(text) + 2), *w;
	size_t n = 0, start;
	const char *p = text;

	if (!o)
		return NULL;
	while (*p) {
		while (*p && !isalnum((unsigned char)*p))
			p++;
		if (!*p)
			break;
		start = n;
		while (isalnum((unsigned char)*p))
			o[n++] = (char)tolower((unsigned char)*p++);
		o[n] = '\0';
		w = o + start;
		if (!strcmp(w, "a") || !strcmp(w, "an") || !strcmp(w, "the"))
			n = start;
		else
			o[n++] = ' ';
	}
	if (n)
		n--;
	o[n] = '\0';
	return o;
}
