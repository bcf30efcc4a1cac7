/* util.h - helpers for the tools in cmd/: messages, fatal errors and
 * allocation that dies on failure, in the sbase manner.  lib/ never uses
 * these; only the tools decide to print or exit. */
#ifndef PB_UTIL_H
#define PB_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

extern const char *argv0; /* the tool's name, set by setprog() */

void setprog(const char *name);
/* Messages are "TOOL: message" on stderr; a format ending in ':' has
 * strerror(errno) appended, as in sbase. */
void warnx_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "FILE:LINE: pull N: message", without the pull when pull <= 0: a bad
 * record, named as every tool names one. */
void warn_at(const char *file, long line, long pull, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void vwarn_at(const char *file, long line, long pull, const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));
_Noreturn void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void die_status(int status, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void *emalloc(size_t n);
void *ecalloc(size_t n, size_t m);
void *erealloc(void *p, size_t n);
char *estrdup(const char *s);

/* Prints "TOOL (promptbandit) VERSION" and exits 0. */
_Noreturn void version(void);

/* Flushes and closes fp and reports a failed write (closed pipe, full
 * disk) with its errno.  Returns 0 if everything written reached the
 * kernel, else -1.  fp is closed either way. */
int fshut(FILE *fp, const char *name);

/* Ends usage(): the help went to fp; a write that failed makes an exit
 * with status 0 an exit with 2. */
_Noreturn void usage_end(FILE *fp, int status);

/* Parses a number option; dies with a usage error naming opt if s is not
 * a number in [lo,hi]. */
double numarg(const char *opt, const char *s, double lo, double hi);
long intarg(const char *opt, const char *s, long lo, long hi);

/* The state file from -s or PB_STATE; dies (status 2) if neither. */
const char *statepath(const char *opt);

#endif
