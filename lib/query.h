/* query.h - fragment of pb.h: pb-query's retry rules and rate limiter.
 * To be merged into lib/pb.h (then this file goes, and lib/retry.c,
 * lib/ratelimit.c and the unit tests include pb.h alone). */
#ifndef PB_QUERY_H
#define PB_QUERY_H

#include "pb.h"

/* ===================================================================== */
/* retry.c: which failed requests to try again, and when                 */
/* ===================================================================== */

/* How pb-query retries.  The wait before try n+1 (n >= 1 tries made) is
 * what the server asked for (retry-after-ms, else Retry-After) if it
 * asked, else "full jitter": uniform in [0, min(cap, base * 2^(n-1))). */
struct pb_retry_policy {
	int retries;        /* tries after the first, at most */
	double base_s;      /* backoff base (PB_RETRY_BASE) */
	double cap_s;       /* backoff cap (PB_RETRY_CAP) */
	double max_wait_s;  /* a server asking more than this is not waited for */
};

#define PB_RETRY_BASE 0.5
#define PB_RETRY_CAP 30.0

/* What one try came to, as far as retrying cares. */
struct pb_retry_in {
	enum pb_http_result result;
	long status;          /* HTTP status; 0 without a response */
	int malformed;        /* a 2xx whose body was not JSON at all */
	const char *type;     /* the provider's error type, code, or NULL */
	const char *code;
	double retry_after;   /* seconds the server asked for, or -1 */
	int should_retry;     /* x-should-retry: 1, 0, or -1 when absent */
	int tries;            /* tries made so far, counting this one (>= 1) */
};

enum pb_retry {
	PB_RETRY_NO,       /* final: success, or a failure that cannot succeed */
	PB_RETRY_YES,      /* try again after *wait seconds */
	PB_RETRY_EXHAUSTED,/* would be retried, but the tries are used up */
	PB_RETRY_TOO_LONG  /* the server asks to wait more than max_wait_s
	                    * (*wait says how long) */
};

/* Says whether a try that failed should be made again, and the wait.
 * Retried: no response (connection errors, timeouts, stalls), HTTP 408,
 * 409, 425, 429, 500, 502, 503, 504 and 529, and a 2xx body that is not
 * JSON; x-should-retry: true retries any other status and false forbids
 * a retry.  Never retried, whatever the headers: quota and spend limits
 * (type or code insufficient_quota, enforced_spend_limit_reached,
 * billing_hard_limit_reached), 400, 401, 403, 404, 422, 501, and an
 * error whose type or code says "unsupported".  u is a uniform random
 * number in [0,1) for the jitter.  A success gives PB_RETRY_NO. */
enum pb_retry pb_retry_decide(const struct pb_retry_policy *p,
                              const struct pb_retry_in *in, double u,
                              double *wait);

/* The backoff wait after `tries` tries, for jitter u in [0,1). */
double pb_retry_backoff(const struct pb_retry_policy *p, int tries, double u);

/* Whether status/type/code mean the provider is overloaded or limiting
 * the rate (429 other than a quota, 529, overloaded_error): the signal
 * for the whole client to slow down. */
int pb_retry_overloaded(long status, const char *type, const char *code);

/* ===================================================================== */
/* ratelimit.c: request and token buckets, and the slow-down on a 429    */
/* ===================================================================== */

/* One token bucket: fills at rate per second up to cap; a take may
 * leave it negative (a debt paid back by waiting), so a cost larger than
 * the whole bucket still passes once the bucket is full. */
struct pb_bucket {
	double rate, cap, level, t;
};

/* The limiter pb-query asks before each request it sends.  Times are
 * seconds on any monotonic clock.  Slow-down: on an overload signal the
 * client stops sending until the server's deadline, then runs at half
 * the concurrency and half the rate; each success gives back 1/c of a
 * slot (one slot per round of c requests: additive increase) and 1/16
 * of full rate per round.  Only one cut per round: an overload reported
 * for a request sent before the last cut does not cut again. */
struct pb_limiter {
	struct pb_bucket rpm, tpm; /* rate 0: no limit */
	int max;              /* the concurrency asked for (-j) */
	double conc;          /* current concurrency limit, 1..max */
	double factor;        /* current share of the rates, 1/64..1 */
	double pause_until;   /* nothing is sent before this */
	double last_cut;      /* when the last cut was made */
	long cuts;            /* cuts made (for tests and progress) */
};

/* rpm, tpm: requests and tokens per minute; 0 for no limit.  Each
 * bucket holds a second's worth (at least one request). */
void pb_limiter_init(struct pb_limiter *l, int max, double rpm, double tpm,
                     double now);

/* The requests that may be in flight now: the concurrency limit. */
int pb_limiter_slots(const struct pb_limiter *l);

/* Seconds until a request estimated at tokens may be sent: 0 if now. */
double pb_limiter_wait(struct pb_limiter *l, double tokens, double now);

/* Counts a request sent now, estimated at tokens. */
void pb_limiter_take(struct pb_limiter *l, double tokens, double now);

/* Corrects the token bucket once a request's real usage is known. */
void pb_limiter_usage(struct pb_limiter *l, double estimated, double actual);

/* An overload reported for a request sent at sent_at: pause until
 * now + wait, and cut (once per round; see above). */
void pb_limiter_overload(struct pb_limiter *l, double sent_at, double now,
                         double wait);

/* A success: the additive increase. */
void pb_limiter_success(struct pb_limiter *l);

#endif
