/* extract.h - the checks the extractor tests share (tests/unit/extract.c
 * and score.c): one extractor on one text, the text shown in the
 * description cut to 40 characters (score.c feeds megabytes). */
#ifndef PB_TEST_EXTRACT_H
#define PB_TEST_EXTRACT_H
#include <math.h>
#include <stdlib.h>

static inline void
number(const char *text, const char *want_txt, double want)
{
	char buf[64];
	double v = NAN;
	int found = pb_extract_number(text, &v, buf, sizeof buf);

	if (!want_txt) {
		ok(!found, "number: none in '%.40s' (got '%.40s')", text, found ? buf : "");
		return;
	}
	ok(found, "number: found in '%.40s'", text);
	is_str(found ? buf : NULL, want_txt, "number: text of '%.40s'", text);
	is_num(v, want, 1e-12, "number: value of '%.40s'", text);
}

static inline void
boolean(const char *text, int want)
{
	int v = -1, found = pb_extract_bool(text, &v);

	if (want < 0)
		ok(!found, "bool: none in '%.40s' (got %d)", text, v);
	else
		ok(found && v == want, "bool: '%.40s' is %d (got %d)", text, want,
		   found ? v : -1);
}

static inline void
norm(const char *text, unsigned flags, const char *want)
{
	char *s = pb_normalize(text, flags), shown[41];
	size_t i;

	/* TAP's description is one line: control characters shown as '.' */
	for (i = 0; text[i] && i + 1 < sizeof shown; i++)
		shown[i] = (unsigned char)text[i] < ' ' ? '.' : text[i];
	shown[i] = '\0';
	is_str(s, want, "normalize(%u): '%.40s'", flags, shown);
	free(s);
}

static inline void
choice(const char *text, char want)
{
	char c = 0;
	int found = pb_extract_choice(text, &c);

	if (!want)
		ok(!found, "choice: none in '%.40s' (got %c)", text, found ? c : '-');
	else
		ok(found && c == want, "choice: '%.40s' is %c (got %c)", text, want,
		   found ? c : '-');
}

#endif
