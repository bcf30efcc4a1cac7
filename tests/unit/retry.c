/* retry.c - unit tests of lib/retry.c and lib/ratelimit.c: which tries
 * are made again, the waits, the buckets and the slow-down. */
#include "tap.h"
#include "../../lib/pb.h"

static const struct pb_retry_policy pol = { 5, PB_RETRY_BASE, PB_RETRY_CAP, 120 };

/* A try that got status (0: none, result r), with the given headers. */
static enum pb_retry
decide(enum pb_http_result r, long status, const char *type, const char *code,
       double ra, int should, int tries, double *wait)
{
	struct pb_retry_in in = { r, status, 0, type, code, ra, should, tries };

	return pb_retry_decide(&pol, &in, 0.5, wait);
}

static void
test_decide(void)
{
	static const long again[] = { 408, 409, 425, 429, 500, 502, 503, 504, 529 };
	static const long never[] = { 400, 401, 403, 404, 422, 501 };
	double w;
	size_t i;

	for (i = 0; i < sizeof again / sizeof *again; i++)
		ok(decide(PB_HTTP_DONE, again[i], NULL, NULL, -1, -1, 1, &w) == PB_RETRY_YES,
		   "HTTP %ld is retried", again[i]);
	for (i = 0; i < sizeof never / sizeof *never; i++) {
		ok(decide(PB_HTTP_DONE, never[i], NULL, NULL, -1, -1, 1, &w) == PB_RETRY_NO,
		   "HTTP %ld is not", never[i]);
		ok(decide(PB_HTTP_DONE, never[i], NULL, NULL, -1, 1, 1, &w) == PB_RETRY_NO,
		   "  not even with x-should-retry: true");
	}
	ok(decide(PB_HTTP_DONE, 200, NULL, NULL, -1, -1, 1, &w) == PB_RETRY_NO,
	   "a success is final");
	{
		struct pb_retry_in in = { PB_HTTP_DONE, 200, 1, NULL, NULL, -1, -1, 1 };
		ok(pb_retry_decide(&pol, &in, 0.5, &w) == PB_RETRY_YES,
		   "a 2xx body that is not JSON is retried");
	}
	ok(decide(PB_HTTP_CONNECT, 0, NULL, NULL, -1, -1, 1, &w) == PB_RETRY_YES,
	   "a connection error is retried");
	ok(decide(PB_HTTP_TIMEOUT, 0, NULL, NULL, -1, -1, 1, &w) == PB_RETRY_YES,
	   "a timeout is retried");
	ok(decide(PB_HTTP_TLS, 0, NULL, NULL, -1, -1, 1, &w) == PB_RETRY_NO,
	   "a TLS failure (certificate, handshake) is never retried");
	ok(decide(PB_HTTP_TLS, 0, NULL, NULL, -1, 1, 1, &w) == PB_RETRY_NO,
	   "... whatever x-should-retry would say");
	ok(decide(PB_HTTP_TOO_BIG, 200, NULL, NULL, -1, -1, 1, &w) == PB_RETRY_NO,
	   "a body over the size cap is never retried");
	ok(decide(PB_HTTP_DONE, 429, "insufficient_quota", NULL, 1, -1, 1, &w) == PB_RETRY_NO,
	   "429 insufficient_quota (type) is not retried");
	ok(decide(PB_HTTP_DONE, 429, "requests", "insufficient_quota", 1, 1, 1, &w) == PB_RETRY_NO,
	   "insufficient_quota (code) not even with x-should-retry: true");
	ok(decide(PB_HTTP_DONE, 429, NULL, "enforced_spend_limit_reached", -1, -1, 1, &w) ==
	   PB_RETRY_NO, "enforced_spend_limit_reached is not retried");
	ok(decide(PB_HTTP_DONE, 500, "unsupported_value", NULL, -1, -1, 1, &w) == PB_RETRY_NO,
	   "an unsupported request is not retried");
	ok(decide(PB_HTTP_DONE, 418, NULL, NULL, -1, -1, 1, &w) == PB_RETRY_NO,
	   "another status is final");
	ok(decide(PB_HTTP_DONE, 418, NULL, NULL, -1, 1, 1, &w) == PB_RETRY_YES,
	   "  unless x-should-retry: true");
	ok(decide(PB_HTTP_DONE, 503, NULL, NULL, -1, 0, 1, &w) == PB_RETRY_NO,
	   "x-should-retry: false forbids retrying a 503");

	ok(decide(PB_HTTP_DONE, 429, NULL, NULL, 2.5, -1, 1, &w) == PB_RETRY_YES && w == 2.5,
	   "the server's wait is kept");
	ok(decide(PB_HTTP_DONE, 429, NULL, NULL, 0, -1, 1, &w) == PB_RETRY_YES && w == 0,
	   "  also when it is 0");
	ok(decide(PB_HTTP_DONE, 429, NULL, NULL, 121, -1, 1, &w) == PB_RETRY_TOO_LONG && w == 121,
	   "a wait over the maximum is refused");
	ok(decide(PB_HTTP_DONE, 500, NULL, NULL, -1, -1, 5, &w) == PB_RETRY_YES,
	   "try 5 of 1 + 5 is retried");
	ok(decide(PB_HTTP_DONE, 500, NULL, NULL, -1, -1, 6, &w) == PB_RETRY_EXHAUSTED,
	   "try 6 of 1 + 5 is the last");
	ok(decide(PB_HTTP_DONE, 400, NULL, NULL, -1, -1, 6, &w) == PB_RETRY_NO,
	   "  but a final error is still final");
}

static void
test_backoff(void)
{
	is_num(pb_retry_backoff(&pol, 1, 0.999999), 0.5, 1e-5, "backoff after 1 try: below 0.5 s");
	is_num(pb_retry_backoff(&pol, 2, 0.5), 0.5, 1e-12, "after 2 tries: half of 1 s");
	is_num(pb_retry_backoff(&pol, 4, 0.5), 2, 1e-12, "after 4 tries: half of 4 s");
	is_num(pb_retry_backoff(&pol, 8, 0.999999), 30, 1e-4, "capped at 30 s");
	is_num(pb_retry_backoff(&pol, 1000, 0.5), 15, 1e-12, "no overflow after many tries");
	is_num(pb_retry_backoff(&pol, 3, 0), 0, 0, "full jitter reaches 0");
	ok(pb_retry_overloaded(429, "requests", "rate_limit_exceeded"), "429 is an overload");
	ok(pb_retry_overloaded(529, "overloaded_error", NULL), "529 is an overload");
	ok(!pb_retry_overloaded(429, "insufficient_quota", NULL), "a quota 429 is not");
	ok(!pb_retry_overloaded(500, NULL, NULL), "a 500 is not");
}

static void
test_limiter(void)
{
	struct pb_limiter l;
	double t = 100;
	int i, sent;

	pb_limiter_init(&l, 8, 0, 0, t);
	is_num(pb_limiter_wait(&l, 1e6, t), 0, 0, "no limits: never a wait");
	is_num(pb_limiter_slots(&l), 8, 0, "all 8 slots");

	pb_limiter_init(&l, 8, 120, 0, t); /* 2 a second, a bucket of 2 */
	for (sent = 0; pb_limiter_wait(&l, 1, t) == 0 && sent < 10; sent++)
		pb_limiter_take(&l, 1, t);
	is_num(sent, 2, 0, "--rpm 120: a burst of 2");
	is_num(pb_limiter_wait(&l, 1, t), 0.5, 1e-9, "  then one every 0.5 s");
	for (i = 0, sent = 0; i < 100; i++, t += 0.1)
		if (pb_limiter_wait(&l, 1, t) == 0) {
			pb_limiter_take(&l, 1, t);
			sent++;
		}
	is_num(sent, 20, 1, "--rpm 120: 20 requests in 10 s");

	pb_limiter_init(&l, 4, 0, 600, t = 0); /* 10 tokens a second, bucket 10 */
	is_num(pb_limiter_wait(&l, 50, t), 0, 0, "--tpm: a request above the bucket goes when full");
	pb_limiter_take(&l, 50, t);
	is_num(pb_limiter_wait(&l, 5, t), 4.5, 1e-9, "  and the debt is paid back first");
	pb_limiter_usage(&l, 50, 20);
	is_num(pb_limiter_wait(&l, 5, t), 1.5, 1e-9, "  usage below the estimate gives tokens back");

	pb_limiter_init(&l, 16, 600, 0, t = 0);
	pb_limiter_overload(&l, 0.5, 1, 2);
	is_num(pb_limiter_slots(&l), 8, 0, "overload: concurrency halved");
	is_num(l.factor, 0.5, 0, "  and the rate");
	ok(pb_limiter_wait(&l, 1, 1) >= 2 - 1e-9, "  nothing goes until the server's wait is over");
	pb_limiter_overload(&l, 0.9, 1.1, 2.5);
	is_num(pb_limiter_slots(&l), 8, 0, "a request sent before the cut cuts no further");
	is_num(l.pause_until, 3.6, 1e-9, "  but still pushes the pause");
	pb_limiter_overload(&l, 1.5, 4, 0);
	is_num(pb_limiter_slots(&l), 4, 0, "one sent after the cut cuts again");
	for (i = 0; i < 4; i++)
		pb_limiter_success(&l);
	is_num(pb_limiter_slots(&l), 4, 0, "4 successes at 4 slots give back not quite one");
	pb_limiter_success(&l);
	is_num(pb_limiter_slots(&l), 5, 0, "  the fifth does");
	for (i = 0; i < 1000; i++)
		pb_limiter_success(&l);
	is_num(pb_limiter_slots(&l), 16, 0, "  back to the full concurrency in the end");
	is_num(l.factor, 1, 0, "  and the full rate");
	for (i = 0; i < 20; i++)
		pb_limiter_overload(&l, 10 + i, 10.5 + i, 0);
	is_num(pb_limiter_slots(&l), 1, 0, "never below one slot");
	is_num(l.factor, 1.0 / 64, 0, "never below 1/64 of the rate");
}

int
main(void)
{
	test_decide();
	test_backoff();
	test_limiter();
	return tap_done();
}
