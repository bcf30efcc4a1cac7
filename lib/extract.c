/* extract.c - answers other than numbers read out of a response: where
 * an answer is introduced ("the answer is", "Answer:"), true or false
 * (pb_extract_bool), a choice A-E (pb_extract_choice), and the
 * normalised text that exact, contains and regex compare (pb_normalize).
 * Numbers are in extract_number.c, the scorers that use all of these in
 * score.c.
 *
 * Pure functions over a NUL-terminated string.  They work on bytes: ASCII
 * is interpreted, other UTF-8 passes through, except for curly quotes
 * recognised as sequences.
 */
#include <stdlib.h>
#include <string.h>

#include "score.h"
#include "internal.h"

/* ---------------------------------------------- answer introductions */

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
	if (s - text >= 5 && pb__word_at(s - 5, "final") &&
	    (s - 5 == text || !pb__isalpha((unsigned char)s[-6])))
		final = 1;
	for (s = q; *s && s - q < 80; s++) {
		if (*s == '.' && !pb__isdig((unsigned char)s[1]))
			break;
		if (*s == '\n' || *s == '?' || *s == '!' || *s == ';')
			break;
		if (*s == ':' || *s == '=')
			return s + 1;
		if (pb__isalpha((unsigned char)*s) &&
		    !pb__isalpha((unsigned char)s[-1])) {
			if ((n = pb__word_at(s, "is")) || (n = pb__word_at(s, "was")) ||
			    (n = pb__word_at(s, "would be")) ||
			    (n = pb__word_at(s, "will be")) ||
			    (n = pb__word_at(s, "should be")))
				return s + n;
		}
	}
	return final ? q : NULL;
}

/* The places answers are introduced, in order (never decreasing), the
 * last PB_NINTRO of them.  Returns how many. */
size_t
pb__answer_intros(const char *text, const char *found[PB_NINTRO])
{
	const char *p, *at;
	size_t n = 0;

	for (p = text; *p; p++) {
		if ((*p != 'a' && *p != 'A') || !pb__word_at(p, "answer"))
			continue;
		if (p > text && pb__isalpha((unsigned char)p[-1]))
			continue;
		if ((at = answer_intro(text, p))) {
			if (n == PB_NINTRO) {
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
int
pb__each_answer_intro(const char *text,
                      int (*try)(const char *, const char *, void *), void *arg)
{
	const char *found[PB_NINTRO];
	size_t i, n;
	int rv;

	/* the same place twice ("answer to the answer is") is tried once */
	for (n = i = pb__answer_intros(text, found); i > 0; i--)
		if ((i == n || found[i - 1] != found[i]) &&
		    (rv = try(text, found[i - 1], arg)))
			return rv;
	return 0;
}

/* --------------------------------------------------------------- bool */

/* Skips white space, markdown and opening quotes/brackets. */
static const char *
skip_decor(const char *p)
{
	for (;;) {
		if (pb__isspace((unsigned char)*p) || (*p && strchr("*_#>`\"'([:", *p)))
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
		if ((n = pb__word_at(p, words[i].w))) {
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
		if ((m = pb__word_at(q, "and")) || (m = pb__word_at(q, "or")))
			q += m;
		other = verdict_at(skip_decor(q), &m);
		if (other >= 0 && other != open)
			return 0;
	}
	if (pb__each_answer_intro(text, try_bool, &said) && open >= 0 && said != open)
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
	if (c < 'A' || c > 'E' || pb__isalnum((unsigned char)p[1]))
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
	if (pb__each_answer_intro(text, try_choice, &got)) {
		*out = got;
		return 1;
	}
	for (p = text; *p; p++) {
		size_t n;
		const char *at;

		if (p > text && pb__isalpha((unsigned char)p[-1]))
			continue;
		/* "I choose option A", "I'd pick C": a verb of choosing names
		 * the letter directly. */
		if ((n = pb__word_at(p, "choose")) || (n = pb__word_at(p, "chose")) ||
		    (n = pb__word_at(p, "pick")) || (n = pb__word_at(p, "select")) ||
		    (n = pb__word_at(p, "go with"))) {
			for (at = p + n; *at == ' '; at++)
				;
			if ((n = pb__word_at(at, "option")) || (n = pb__word_at(at, "choice")) ||
			    (n = pb__word_at(at, "answer")))
				at += n;
			for (; *at == ' ' || *at == '*'; at++)
				;
			if (letter_at(at, 0) && try_choice(text, at, &got))
				one = got;
			continue;
		}
		if (!(n = pb__word_at(p, "option")) && !(n = pb__word_at(p, "choice")))
			continue;
		for (at = p + n; *at == ' ' || *at == '*'; at++)
			;
		if ((n = pb__word_at(at, "is")))
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
		for (q = p + 1; *q && (pb__isspace((unsigned char)*q) ||
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
	if (pb__isspace((unsigned char)*s) || (*s && strchr("*_`#>~", *s)))
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
	return (n == 1 && pb__lower(w[0]) == 'a') ||
	       (n == 2 && pb__lower(w[0]) == 'a' && pb__lower(w[1]) == 'n') ||
	       (n == 3 && pb__lower(w[0]) == 't' && pb__lower(w[1]) == 'h' &&
	        pb__lower(w[2]) == 'e');
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
		for (w = s; w < e && !pb__isspace((unsigned char)*w); w++)
			;
		/* word [s, w) */
		if (!(flags & PB_NORM_NO_ARTICLES) || !is_article(s, (size_t)(w - s))) {
			if (o > out)
				*o++ = ' ';
			for (; s < w; s++)
				*o++ = (char)(flags & PB_NORM_KEEP_CASE ? *s : pb__lower((unsigned char)*s));
		}
		for (s = w; s < e && pb__isspace((unsigned char)*s); s++)
			;
	}
	*o = '\0';
	return out;
}
