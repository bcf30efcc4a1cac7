/* report-format.c - output helpers the modes of pb-report share: JSON
 * lines, CSV and Markdown cells, numbers or '-', cost, and the message
 * for a bad scored record. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "../lib/pb.h"
#include "util.h"
#include "report.h"

/* Writes j as one line to stdout, and frees it. */
void
put_json(cJSON *j)
{
	if (pb_jsonl_write(stdout, j) < 0)
		die("write error:");
	cJSON_Delete(j);
}

void
num(cJSON *o, const char *k, double v)
{
	cJSON_AddItemToObject(o, k, isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull());
}

/* Dollars for the tokens at --price; NAN without a price or without
 * token counts (known 0). */
double
cost(const struct opts *o, int known, double in, double out)
{
	if (!known || !o->price)
		return NAN;
	return pb_cost(in, out, o->price_in, o->price_out);
}
/* A CSV field: quoted when it holds a comma, quote or newline. */
void
csvfield(const char *s)
{
	if (!strpbrk(s, ",\"\n\r")) {
		fputs(s, stdout);
		return;
	}
	putchar('"');
	for (; *s; s++) {
		if (*s == '"')
			putchar('"');
		putchar(*s);
	}
	putchar('"');
}

/* The interval methods used, in words, for a heading: of n rows (the
 * ranking's or the validation's) of size bytes, each holding the name
 * pb_report_ci gave at offset off. */
const char *
methods(const void *rows, size_t n, size_t size, size_t off)
{
	const char *p = rows, *m;
	size_t i, t = 0, b = 0, a = 0;

	for (i = 0; i < n; i++, p += size) {
		memcpy(&m, p + off, sizeof m);
		t += !strcmp(m, "t"), b += !strcmp(m, "bernstein");
		a += !strcmp(m, "anytime");
	}
	if (a)
		return "anytime-valid, Jeffreys mixture";
	return b == n ? "fixed-sample, empirical Bernstein" :
	       t == 0 && b == 0 ? "fixed-sample, Wilson score" :
	       t == n ? "fixed-sample, Student t" : b == 0 ?
	       "fixed-sample, Wilson score for 0/1 rewards, Student t otherwise" :
	       "fixed-sample, Wilson score for 0/1 rewards, Student t or empirical "
	       "Bernstein otherwise";
}

/* Markdown: a | in a cell would end it. */
void
mdcell(const char *s)
{
	for (; *s; s++) {
		if (*s == '|')
			putchar('\\');
		putchar(*s);
	}
}

void
fmtnum(char *buf, size_t n, double v, const char *fmt)
{
	if (isfinite(v))
		snprintf(buf, n, fmt, v);
	else
		snprintf(buf, n, "-");
}

/* Reports a bad scored record on stderr, by file and line (and pull,
 * when known), and counts it in *bad. */
void
bad_record(long *bad, const struct pb_where *at, long pull, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarn_at(at->file, at->line, pull, fmt, ap);
	va_end(ap);
	(*bad)++;
}
