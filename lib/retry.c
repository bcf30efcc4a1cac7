/* retry.c - pb-query's retry rules: what is worth trying again, and
 * how long to wait first. */
#include <math.h>
#include <string.h>

#include "llm.h"

/* Errors that no number of tries can mend: money, not load. */
static int
is_quota(const char *s)
{
	return s && (!strcmp(s, "insufficient_quota") ||
	             !strcmp(s, "enforced_spend_limit_reached") ||
	             !strcmp(s, "billing_hard_limit_reached") ||
	             !strcmp(s, "billing_not_active"));
}

static int
is_unsupported(const char *s)
{
	return s && strstr(s, "unsupported");
}

static int
retryable_status(long status)
{
	switch (status) {
	case 408: case 409: case 425: case 429:
	case 500: case 502: case 503: case 504: case 529:
		return 1;
	}
	return 0;
}

/* Statuses that say the request itself is wrong or not allowed. */
static int
final_status(long status)
{
	switch (status) {
	case 400: case 401: case 403: case 404: case 422: case 501:
		return 1;
	}
	return 0;
}

double
pb_retry_backoff(const struct pb_retry_policy *p, int tries, double u)
{
	double hi = p->base_s * ldexp(1.0, tries > 1 ? (tries - 1 < 60 ? tries - 1 : 60) : 0);

	if (hi > p->cap_s)
		hi = p->cap_s;
	return u * hi;
}

int
pb_retry_overloaded(long status, const char *type, const char *code)
{
	if (is_quota(type) || is_quota(code))
		return 0;
	return status == 429 || status == 529 ||
	       (type && !strcmp(type, "overloaded_error"));
}

enum pb_retry
pb_retry_decide(const struct pb_retry_policy *p, const struct pb_retry_in *in,
                double u, double *wait)
{
	int again, ok2xx = in->status >= 200 && in->status <= 299;

	*wait = 0;
	if (in->result == PB_HTTP_DONE) {
		if (is_quota(in->type) || is_quota(in->code) ||
		    is_unsupported(in->type) || is_unsupported(in->code) ||
		    final_status(in->status))
			return PB_RETRY_NO;
		again = ok2xx ? in->malformed : retryable_status(in->status);
		if (in->should_retry == 1 && !ok2xx)
			again = 1;
		else if (in->should_retry == 0)
			again = 0;
	} else if (in->result == PB_HTTP_TLS || in->result == PB_HTTP_TOO_BIG) {
		again = 0; /* the same certificate, the same answer: no use */
	} else {
		again = in->should_retry != 0; /* no response, so no header */
	}
	if (!again)
		return PB_RETRY_NO;
	if (in->tries > p->retries)
		return PB_RETRY_EXHAUSTED;
	if (in->retry_after >= 0) {
		*wait = in->retry_after;
		if (*wait > p->max_wait_s)
			return PB_RETRY_TOO_LONG;
		return PB_RETRY_YES;
	}
	*wait = pb_retry_backoff(p, in->tries, u);
	return PB_RETRY_YES;
}
