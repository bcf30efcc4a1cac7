/* tap.h - a minimal TAP producer for the C unit tests of lib/. */
#ifndef PB_TAP_H
#define PB_TAP_H
#include <math.h>
#include <stdlib.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

static void
tap_ok(int cond, const char *desc)
{
	printf("%sok %d - %s\n", cond ? "" : "not ", ++tap_n, desc);
	if (!cond)
		tap_failed++;
}

#define ok(cond, ...) do { char d_[512]; snprintf(d_, sizeof d_, __VA_ARGS__); \
	tap_ok(!!(cond), d_); } while (0)
#define is_str(got, want, ...) do { const char *g_ = (got), *w_ = (want); \
	char d_[512]; snprintf(d_, sizeof d_, __VA_ARGS__); \
	tap_ok(g_ && w_ && !strcmp(g_, w_), d_); \
	if (!(g_ && w_ && !strcmp(g_, w_))) printf("# got '%s' want '%s'\n", \
	    g_ ? g_ : "(null)", w_ ? w_ : "(null)"); } while (0)
#define is_num(got, want, tol, ...) do { double g_ = (got), w_ = (want); \
	char d_[512]; snprintf(d_, sizeof d_, __VA_ARGS__); \
	tap_ok(fabs(g_ - w_) <= (tol), d_); \
	if (!(fabs(g_ - w_) <= (tol))) printf("# got %.10g want %.10g\n", g_, w_); } while (0)

/* Parses test JSON, or bails out: a typo in a test is not a result. */
static inline cJSON *
parse(const char *s)
{
	cJSON *v = cJSON_Parse(s);
	if (!v) {
		printf("Bail out! test JSON does not parse: %s\n", s);
		exit(2);
	}
	return v;
}

static int
tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}
#endif
