/* util.c - messages, fatal errors and checked allocation for cmd/. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/pb.h"
#include "util.h"

const char *argv0 = "pb";

void
setprog(const char *name)
{
	const char *p = strrchr(name, '/');
	argv0 = p ? p + 1 : name;
}

/* Appends s to out with every control character escaped (\n, \t, \r,
 * else \xHH): a file name, an arm id or a record's text in a message
 * cannot end the line, move the cursor or speak to the terminal.  out
 * has room for 4 bytes per byte of s. */
static char *
escape(char *out, const char *s)
{
	static const char hex[] = "0123456789abcdef";

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 0x20 && c != 0x7f) {
			*out++ = (char)c;
			continue;
		}
		*out++ = '\\';
		if (c == '\n' || c == '\t' || c == '\r')
			*out++ = c == '\n' ? 'n' : c == '\t' ? 't' : 'r';
		else {
			*out++ = 'x';
			*out++ = hex[c >> 4];
			*out++ = hex[c & 15];
		}
	}
	return out;
}

/* "TOOL: message\n", escaped, in one write: stderr is unbuffered, and
 * one write keeps the lines of processes sharing it whole.  A format
 * that ends in ':' gets errno's text after it (as sbase's eprintf). */
static void
vmsg(const char *fmt, va_list ap)
{
	char small[1024], line[4200], *mem = NULL, *out = line, *o;
	const char *msg = small, *why = NULL;
	size_t need, flen = strlen(fmt);
	int n, e = errno;
	va_list aq;

	if (flen && fmt[flen - 1] == ':')
		why = strerror(e);

	va_copy(aq, ap);
	n = vsnprintf(small, sizeof small, fmt, ap);
	if (n >= (int)sizeof small && (mem = malloc((size_t)n + 1))) {
		vsnprintf(mem, (size_t)n + 1, fmt, aq);
		msg = mem;
	}
	va_end(aq);
	if (n < 0)
		msg = fmt;
	need = strlen(argv0) + 2 + 4 * strlen(msg) + (why ? 4 * strlen(why) + 1 : 0) + 2;
	if (need > sizeof line && !(out = malloc(need))) {
		out = line;
		msg = "(a message lost: out of memory)";
	}
	o = out + sprintf(out, "%s: ", argv0);
	o = escape(o, msg);
	if (why) {
		*o++ = ' ';
		o = escape(o, why);
	}
	*o++ = '\n';
	fwrite(out, 1, (size_t)(o - out), stderr);
	if (out != line)
		free(out);
	free(mem);
}

void
warnx_(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
}

void
warn_at(const char *file, long line, long pull, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarn_at(file, line, pull, fmt, ap);
	va_end(ap);
}

void
vwarn_at(const char *file, long line, long pull, const char *fmt, va_list ap)
{
	char msg[PB_ERRLEN];

	vsnprintf(msg, sizeof msg, fmt, ap);
	if (pull > 0)
		warnx_("%s:%ld: pull %ld: %s", file, line, pull, msg);
	else
		warnx_("%s:%ld: %s", file, line, msg);
}

void
die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
	exit(PB_EXIT_USAGE);
}

void
die_status(int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
	exit(status);
}

void *
emalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		die("out of memory");
	return p;
}

void *
ecalloc(size_t n, size_t m)
{
	void *p = calloc(n ? n : 1, m ? m : 1);
	if (!p)
		die("out of memory");
	return p;
}

void *
erealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		die("out of memory");
	return p;
}

char *
estrdup(const char *s)
{
	char *p = strdup(s);
	if (!p)
		die("out of memory");
	return p;
}

void
version(void)
{
	printf("%s (promptbandit) %s\n", argv0, PB_VERSION);
	exit(fshut(stdout, "<stdout>") ? PB_EXIT_USAGE : PB_EXIT_OK);
}

int
fshut(FILE *fp, const char *name)
{
	int bad = 0, e;

	/* An earlier write may have failed and been forgotten by stdio but
	 * for the error flag: fflush tries what is left, and says why. */
	errno = 0;
	if (fflush(fp) == EOF || ferror(fp)) {
		e = errno;
		if (e)
			warnx_("write error on %s: %s", name, strerror(e));
		else
			warnx_("write error on %s", name);
		bad = 1;
	}
	errno = 0;
	if (fclose(fp) == EOF && !bad) {
		warnx_("write error on %s: %s", name, strerror(errno));
		bad = 1;
	}
	return bad ? -1 : 0;
}

void
usage_end(FILE *fp, int status)
{
	if (fshut(fp, fp == stdout ? "<stdout>" : "<stderr>") && !status)
		status = PB_EXIT_USAGE;
	exit(status);
}

double
numarg(const char *opt, const char *s, double lo, double hi)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || isnan(v) || v < lo || v > hi)
		die("%s: '%s' is not a number in [%g, %g]", opt, s, lo, hi);
	return v;
}

long
intarg(const char *opt, const char *s, long lo, long hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		die("%s: '%s' is not an integer in [%ld, %ld]", opt, s, lo, hi);
	return v;
}

const char *
statepath(const char *opt)
{
	const char *p = opt ? opt : getenv("PB_STATE");

	if (!p || !*p)
		die("no state file: give -s FILE or set PB_STATE");
	return p;
}
