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

static void
vmsg(const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: ", argv0);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
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
	int bad = 0;

	if (fflush(fp) == EOF || ferror(fp)) {
		warnx_("write error on %s: %s", name, strerror(errno));
		bad = 1;
	}
	return bad ? -1 : 0;
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

struct pb_cache *
open_cache(const char *dir)
{
	struct pb_cache *c = NULL;
	char err[PB_ERRLEN], *dflt = NULL;

	if (!dir && !(dflt = pb_cache_default_dir(err)))
		warnx_("cache: %s (going on without it)", err);
	else if (!(c = pb_cache_open(dir ? dir : dflt, err))) {
		if (dir)
			die("%s", err);
		warnx_("cache: %s (going on without it)", err);
	}
	free(dflt);
	return c;
}
