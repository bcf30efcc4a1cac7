/* http.c - an HTTP client for many requests in flight: one libcurl multi
 * handle, a pool of reused easy handles, completions through a callback. */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "llm.h"

struct pb_http {
	CURLM *multi;
	struct curl_slist *headers;
	char *user_agent;
	char *cacert, *capath;
	size_t max_response;
	long timeout_ms, connect_timeout_ms, stall_ms;
	int parallel;
	int in_flight;
	CURL **all;    /* every easy handle made; at most parallel */
	int nall;
	CURL **idle;   /* those ready for reuse (a stack) */
	int nidle;
};

/* ---- libcurl callbacks ---------------------------------------------- */

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct pb_http_req *r = arg;
	struct pb_buf b = { r->resp, r->resp_len, r->resp_cap };
	size_t len = size * n;

	if (r->max_response && r->resp_len + len > r->max_response) {
		r->too_big = 1;
		return 0;
	}
	if (pb_buf_put(&b, p, len) < 0)
		return 0; /* libcurl fails the transfer (CURLE_WRITE_ERROR) */
	r->resp = b.p;
	r->resp_len = b.len;
	r->resp_cap = b.cap;
	return len;
}

/* Copies the header value v (n bytes, trimmed) into buf as a string and
 * reads it as a number: returns 1 with *d set if it is one whole, 0 if
 * not (buf still holds it), -1 if it is empty or does not fit. */
static int
hnum(const char *v, size_t n, char *buf, size_t size, double *d)
{
	char *end;

	if (n == 0 || n >= size)
		return -1;
	memcpy(buf, v, n);
	buf[n] = '\0';
	*d = strtod(buf, &end);
	return end != buf && !*end;
}

/* Retry-After is either delay-seconds or an HTTP date (RFC 9110 10.2.3). */
static double
retry_after(const char *v, size_t n)
{
	char buf[64];
	double d;
	time_t t;
	int r = hnum(v, n, buf, sizeof buf, &d);

	if (r < 0)
		return -1;
	if (r)
		return d >= 0 && d < 1e9 ? d : -1;
	if ((t = curl_getdate(buf, NULL)) == -1)
		return -1;
	d = difftime(t, time(NULL));
	return d > 0 ? d : 0;
}

/* Trims a header value in place: returns its start, *n its length. */
static const char *
hvalue(const char *v, size_t *n)
{
	while (*n && (*v == ' ' || *v == '\t'))
		v++, (*n)--;
	while (*n && (v[*n - 1] == '\r' || v[*n - 1] == '\n' || v[*n - 1] == ' ' ||
	              v[*n - 1] == '\t'))
		(*n)--;
	return v;
}

/* Says whether the header line p (len bytes) is the header name (given
 * with its colon, lower case); if so *v and *vn are its value. */
static int
header_is(const char *p, size_t len, const char *name, const char **v,
          size_t *vn)
{
	size_t n = strlen(name);

	if (len <= n || strncasecmp(p, name, n))
		return 0;
	*vn = len - n;
	*v = hvalue(p + n, vn);
	return 1;
}

/* A rate-limit reset: OpenAI's duration ("1s", "6m0s", "20ms",
 * "1h2m3.5s"), plain seconds, or Anthropic's RFC 3339 time
 * ("2025-01-01T00:00:30Z").  Seconds from now, or -1. */
static double
reset_in(const char *v, size_t n)
{
	char buf[64], *p, *end;
	double total = 0, d;
	struct tm tm;
	int any = 0;

	if (hnum(v, n, buf, sizeof buf, &d) < 0)
		return -1;
	if (strchr(buf, 'T') && strchr(buf, '-')) {
		int k = 0;
		memset(&tm, 0, sizeof tm);
		if (sscanf(buf, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
		           &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &k) != 6 || !k)
			return -1;
		tm.tm_year -= 1900;
		tm.tm_mon -= 1;
		p = buf + k;
		if (*p == '.')
			for (p++; *p >= '0' && *p <= '9'; p++)
				;
		d = difftime(timegm(&tm), time(NULL));
		if (*p == '+' || *p == '-') {
			int hh = 0, mm = 0;
			if (sscanf(p + 1, "%2d:%2d", &hh, &mm) < 1)
				return -1;
			d -= (*p == '+' ? 1 : -1) * (hh * 3600.0 + mm * 60.0);
		} else if (*p != 'Z' && *p) {
			return -1;
		}
		return d > 0 ? d : 0;
	}
	for (p = buf; *p; p = end) {
		d = strtod(p, &end);
		if (end == p || d < 0)
			return -1;
		if (!strncmp(end, "ms", 2))
			d /= 1000, end += 2;
		else if (*end == 'h')
			d *= 3600, end++;
		else if (*end == 'm')
			d *= 60, end++;
		else if (*end == 's')
			end++;
		else if (*end)
			return -1;
		total += d;
		any = 1;
	}
	return any && total < 1e7 ? total : -1;
}

/* A remaining count: a whole number, or -1. */
static double
remaining(const char *v, size_t n)
{
	char buf[32];
	double d;

	return hnum(v, n, buf, sizeof buf, &d) == 1 && d >= 0 ? d : -1;
}

/* The rate-limit headers; of several token limits (Anthropic's tokens,
 * input and output tokens) the one nearest to running out counts. */
static void
ratelimit_header(struct pb_http_ratelimit *rl, const char *p, size_t len)
{
	static const char *const tok[] = {
		"x-ratelimit-remaining-tokens:", "anthropic-ratelimit-tokens-remaining:",
		"anthropic-ratelimit-input-tokens-remaining:",
		"anthropic-ratelimit-output-tokens-remaining:" };
	static const char *const tokr[] = {
		"x-ratelimit-reset-tokens:", "anthropic-ratelimit-tokens-reset:",
		"anthropic-ratelimit-input-tokens-reset:",
		"anthropic-ratelimit-output-tokens-reset:" };
	const char *v;
	size_t vn, i;
	double d;

	if (header_is(p, len, "x-ratelimit-remaining-requests:", &v, &vn) ||
	    header_is(p, len, "anthropic-ratelimit-requests-remaining:", &v, &vn))
		rl->req_remaining = remaining(v, vn);
	else if (header_is(p, len, "x-ratelimit-reset-requests:", &v, &vn) ||
	         header_is(p, len, "anthropic-ratelimit-requests-reset:", &v, &vn))
		rl->req_reset = reset_in(v, vn);
	for (i = 0; i < sizeof tok / sizeof *tok; i++) {
		if (header_is(p, len, tok[i], &v, &vn) && (d = remaining(v, vn)) >= 0 &&
		    (rl->tok_remaining < 0 || d < rl->tok_remaining))
			rl->tok_remaining = d;
		if (header_is(p, len, tokr[i], &v, &vn) && (d = reset_in(v, vn)) >= 0 &&
		    d > rl->tok_reset)
			rl->tok_reset = d;
	}
}

static void
ratelimit_clear(struct pb_http_ratelimit *rl)
{
	rl->req_remaining = rl->req_reset = rl->tok_remaining = rl->tok_reset = -1;
}

/* The headers a caller's retry rules want: retry-after-ms (OpenAI's, in
 * milliseconds), Retry-After and x-should-retry.  A status line starts a
 * new response (after a 100 or a redirect), whose headers count alone. */
static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	struct pb_http_req *r = arg;
	size_t len = size * n, vn;
	const char *v;
	char buf[32];
	double d;

	if (len > 5 && !strncmp(p, "HTTP/", 5)) {
		r->ra_s = r->ra_ms = -1;
		r->should_retry = -1;
		r->event_stream = 0;
		ratelimit_clear(&r->rl);
	} else if (header_is(p, len, "content-type:", &v, &vn)) {
		r->event_stream = vn >= 17 && !strncasecmp(v, "text/event-stream", 17);
	} else if (!strncasecmp(p, "x-ratelimit-", 12) ||
	           !strncasecmp(p, "anthropic-ratelimit-", 20)) {
		ratelimit_header(&r->rl, p, len);
	} else if (header_is(p, len, "retry-after:", &v, &vn)) {
		r->ra_s = retry_after(v, vn);
	} else if (header_is(p, len, "retry-after-ms:", &v, &vn)) {
		if (hnum(v, vn, buf, sizeof buf, &d) == 1 && d >= 0 && d < 1e12)
			r->ra_ms = d;
	} else if (header_is(p, len, "x-should-retry:", &v, &vn)) {
		if (vn == 4 && !strncasecmp(v, "true", 4))
			r->should_retry = 1;
		else if (vn == 5 && !strncasecmp(v, "false", 5))
			r->should_retry = 0;
	}
	return len;
}

/* The stall limit.  libcurl's own (CURLOPT_LOW_SPEED_*) averages the
 * speed over several seconds, so the bytes of the request itself keep a
 * silent server alive for seconds past the limit; this counts the time
 * since the last byte moved either way.  libcurl calls it about once a
 * second even when nothing moves. */
static int
on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
            curl_off_t ulnow)
{
	struct pb_http_req *r = arg;
	double now = pb_clock() * 1000;

	(void)dltotal;
	(void)ultotal;
	if ((long long)(dlnow + ulnow) != r->seen) {
		r->seen = (long long)(dlnow + ulnow);
		r->moved = now;
	} else if (now - r->moved >= (double)r->stall_ms) {
		r->stalled = 1;
		return 1;
	}
	return 0;
}

/* ---- the client ----------------------------------------------------- */

struct pb_http *
pb_http_new(const struct pb_http_opts *o, char err[PB_ERRLEN])
{
	struct pb_http *h;
	const char *const *hp;
	CURLcode cc;

	if (o->parallel < 1) {
		snprintf(err, PB_ERRLEN, "parallel requests must be at least 1");
		return NULL;
	}
	if ((cc = curl_global_init(CURL_GLOBAL_DEFAULT))) {
		snprintf(err, PB_ERRLEN, "libcurl: %s", curl_easy_strerror(cc));
		return NULL;
	}
	if (!(h = calloc(1, sizeof *h)))
		goto oom;
	h->parallel = o->parallel;
	h->timeout_ms = o->timeout_ms;
	h->connect_timeout_ms = o->connect_timeout_ms;
	h->stall_ms = o->stall_ms;
	h->max_response = o->max_response;
	if ((o->cacert && !(h->cacert = strdup(o->cacert))) ||
	    (o->capath && !(h->capath = strdup(o->capath))))
		goto oom;
	if (!(h->all = calloc((size_t)o->parallel, sizeof *h->all)) ||
	    !(h->idle = calloc((size_t)o->parallel, sizeof *h->idle)))
		goto oom;
	h->user_agent = strdup(o->user_agent ? o->user_agent : "promptbandit/" PB_VERSION);
	if (!h->user_agent)
		goto oom;
	/* "Expect:" stops libcurl waiting for a 100 Continue before sending a
	 * large body; chat servers answer the whole request anyway. */
	if (!(h->headers = curl_slist_append(NULL, "Expect:")))
		goto oom;
	for (hp = o->headers; hp && *hp; hp++) {
		struct curl_slist *l = curl_slist_append(h->headers, *hp);
		if (!l)
			goto oom;
		h->headers = l;
	}
	if (!(h->multi = curl_multi_init()))
		goto oom;
	/* One connection per request in flight, all kept for reuse; HTTP/2
	 * servers get the requests multiplexed over fewer. */
	curl_multi_setopt(h->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)o->parallel);
	curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, (long)o->parallel);
	return h;
oom:
	pb_http_free(h);
	if (!h)
		curl_global_cleanup();
	snprintf(err, PB_ERRLEN, "out of memory");
	return NULL;
}

void
pb_http_free(struct pb_http *h)
{
	int i;

	if (!h)
		return;
	/* Transfers still in flight are abandoned; removing an idle handle
	 * from the multi handle is harmless. */
	for (i = 0; i < h->nall; i++) {
		if (h->multi)
			curl_multi_remove_handle(h->multi, h->all[i]);
		curl_easy_cleanup(h->all[i]);
	}
	if (h->multi)
		curl_multi_cleanup(h->multi);
	free(h->all);
	free(h->idle);
	curl_slist_free_all(h->headers);
	free(h->user_agent);
	free(h->cacert);
	free(h->capath);
	free(h);
	curl_global_cleanup();
}

int
pb_http_in_flight(const struct pb_http *h)
{
	return h->in_flight;
}

/* An easy handle with the options every request shares; the per-request
 * ones are set in pb_http_submit. */
static CURL *
new_easy(struct pb_http *h)
{
	CURL *e = curl_easy_init();

	if (!e)
		return NULL;
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h->headers);
	curl_easy_setopt(e, CURLOPT_USERAGENT, h->user_agent);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, h->timeout_ms);
	if (h->connect_timeout_ms)
		curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, h->connect_timeout_ms);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	/* Verification stays on (libcurl's default); only where the CAs
	 * come from can change. */
	if (h->cacert)
		curl_easy_setopt(e, CURLOPT_CAINFO, h->cacert);
	if (h->capath)
		curl_easy_setopt(e, CURLOPT_CAPATH, h->capath);
	if (h->stall_ms > 0) {
		curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
		curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_progress);
	}
	return e;
}

int
pb_http_submit(struct pb_http *h, struct pb_http_req *r, char err[PB_ERRLEN])
{
	CURLMcode mc;
	CURL *e;

	if (h->in_flight >= h->parallel) {
		snprintf(err, PB_ERRLEN, "no free slot for another request");
		return -1;
	}
	if (h->nidle)
		e = h->idle[--h->nidle];
	else if ((e = new_easy(h)))
		h->all[h->nall++] = e;
	else {
		snprintf(err, PB_ERRLEN, "libcurl: cannot make a handle");
		return -1;
	}
	r->result = PB_HTTP_DONE;
	r->status = 0;
	r->resp_len = 0;
	if (r->resp)
		r->resp[0] = '\0';
	r->retry_after = r->ra_s = r->ra_ms = -1;
	r->moved = pb_clock() * 1000;
	r->seen = 0;
	r->stall_ms = h->stall_ms;
	r->stalled = 0;
	r->should_retry = -1;
	r->event_stream = 0;
	ratelimit_clear(&r->rl);
	r->max_response = h->max_response;
	r->too_big = 0;
	r->latency_ms = 0;
	r->error[0] = '\0';
	r->easy = e;
	curl_easy_setopt(e, CURLOPT_URL, r->url);
	if (r->body) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body);
	} else {
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	}
	curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->error);
	curl_easy_setopt(e, CURLOPT_PRIVATE, r);
	curl_easy_setopt(e, CURLOPT_XFERINFODATA, r);
	if ((mc = curl_multi_add_handle(h->multi, e))) {
		h->idle[h->nidle++] = e;
		r->easy = NULL;
		snprintf(err, PB_ERRLEN, "libcurl: %s", curl_multi_strerror(mc));
		return -1;
	}
	h->in_flight++;
	return 0;
}

/* The failures no retry can mend: the certificate, the handshake, the
 * CA files. */
static int
is_tls(CURLcode cc)
{
	switch (cc) {
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_USE_SSL_FAILED:
		return 1;
	default:
		return 0;
	}
}

/* Fills in how req ended from libcurl's result. */
static void
finish(const struct pb_http *h, struct pb_http_req *r, CURL *e, CURLcode cc)
{
	curl_off_t us = 0;

	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &r->status);
	curl_easy_getinfo(e, CURLINFO_TOTAL_TIME_T, &us);
	r->latency_ms = (double)us / 1000.0;
	r->retry_after = r->ra_ms >= 0 ? r->ra_ms / 1000.0 : r->ra_s;
	if (cc == CURLE_OK) {
		r->result = PB_HTTP_DONE;
		r->error[0] = '\0';
		return;
	}
	/* A transfer that failed half way may still have a status; without a
	 * whole response it counts as none. */
	r->status = 0;
	r->result = cc == CURLE_OPERATION_TIMEDOUT ? PB_HTTP_TIMEOUT :
	            is_tls(cc) ? PB_HTTP_TLS : PB_HTTP_CONNECT;
	if (cc == CURLE_WRITE_ERROR && r->too_big) {
		r->result = PB_HTTP_TOO_BIG;
		snprintf(r->error, PB_ERRLEN, "the response is larger than %zu bytes "
		         "(--max-response-bytes)", r->max_response);
	}
	if (cc == CURLE_ABORTED_BY_CALLBACK && r->stalled) {
		r->result = PB_HTTP_TIMEOUT;
		snprintf(r->error, PB_ERRLEN, "stalled: no data for %g s",
		         (double)h->stall_ms / 1000);
	}
	if (!r->error[0])
		snprintf(r->error, PB_ERRLEN, "%s", curl_easy_strerror(cc));
}

int
pb_http_poll(struct pb_http *h, int timeout_ms, pb_http_done_fn done,
             void *arg, char err[PB_ERRLEN])
{
	int running, left, ndone = 0, pass;
	CURLMcode mc;
	CURLMsg *m;

	for (pass = 0; pass < 2; pass++) {
		if (pass == 1) {
			if (ndone || timeout_ms == 0)
				break;
			if ((mc = curl_multi_poll(h->multi, NULL, 0, timeout_ms, NULL)))
				goto fail;
		}
		if ((mc = curl_multi_perform(h->multi, &running)))
			goto fail;
		while ((m = curl_multi_info_read(h->multi, &left))) {
			struct pb_http_req *r = NULL;
			CURL *e = m->easy_handle;
			CURLcode cc = m->data.result;

			if (m->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&r);
			finish(h, r, e, cc);
			curl_multi_remove_handle(h->multi, e);
			h->idle[h->nidle++] = e;
			h->in_flight--;
			r->easy = NULL;
			ndone++;
			done(r, arg);
		}
	}
	return ndone;
fail:
	snprintf(err, PB_ERRLEN, "libcurl: %s", curl_multi_strerror(mc));
	return -1;
}

void
pb_http_cancel(struct pb_http *h, struct pb_http_req *r)
{
	CURL *e = r->easy;

	if (!e)
		return;
	curl_multi_remove_handle(h->multi, e);
	h->idle[h->nidle++] = e;
	h->in_flight--;
	r->easy = NULL;
}

void
pb_http_wakeup(struct pb_http *h)
{
	curl_multi_wakeup(h->multi);
}

void
pb_http_req_free(struct pb_http_req *r)
{
	free(r->resp);
	r->resp = NULL;
	r->resp_len = r->resp_cap = 0;
}
