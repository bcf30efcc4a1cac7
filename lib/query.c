/* query.c - the pb-query engine: records in, each sent to the chat
 * endpoint with retries, rate limits and the response cache, and handed
 * back with its "response" or "error", in input order unless asked not. */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "llm.h"
#include "internal.h"

/* Every record from intake to output holds a job.  A job that needs the
 * server waits in one of two queues: the pending line (first tries, in
 * input order) or the timer heap (retries, by the time they are due).
 * A job waiting for its retry holds no request slot, so the other slots
 * keep working meanwhile. */
struct job {
	struct pb_http_req req; /* req.data points back here */
	cJSON *rec;
	char *body;
	char key[65];           /* cache key; "" when not cached */
	const char *file;
	long line;
	long pull;              /* 0: the record has none */
	long seq;
	int tries;              /* requests sent for this record */
	double est;             /* tokens estimated, for --tpm */
	double due;             /* when a retry may go */
	double sent_at;
	struct job *next;       /* in the pending line */
	int done;
};

struct pb_query {
	struct pb_query_opts o;
	struct pb_http *http;
	const char *api_name;
	int cache_warned;
	struct pb_limiter lim;
	struct pb_rng rng;      /* backoff jitter */
	/* In input order, the jobs are the reorder window: ring[seq % njobs]
	 * is record seq, and the records outstanding are always seq
	 * next_out..next_seq-1. */
	struct job *jobs, **freej, **ring;
	size_t njobs, nfree;
	struct job *pend, *pend_tail;
	struct job **heap;      /* retries, earliest due first */
	size_t nheap;
	long next_seq, next_out;
	struct pb_query_counts n;
	int broken;             /* a system error stopped it: err says which */
	int interrupted;        /* pb_query_interrupt: nothing more is sent */
	char err[PB_ERRLEN];
};

/* Stops the engine: every call from now on fails with msg. */
static int
broke(struct pb_query *q, const char *msg)
{
	if (!q->broken)
		snprintf(q->err, sizeof q->err, "%s", msg);
	q->broken = 1;
	return -1;
}

/* ---- the retry heap ------------------------------------------------- */

static void
heap_push(struct pb_query *q, struct job *j)
{
	size_t i = q->nheap++, p;

	while (i > 0 && q->heap[p = (i - 1) / 2]->due > j->due) {
		q->heap[i] = q->heap[p];
		i = p;
	}
	q->heap[i] = j;
}

static struct job *
heap_pop(struct pb_query *q)
{
	struct job *top = q->heap[0], *last = q->heap[--q->nheap];
	size_t i = 0, c;

	while ((c = 2 * i + 1) < q->nheap) {
		if (c + 1 < q->nheap && q->heap[c + 1]->due < q->heap[c]->due)
			c++;
		if (last->due <= q->heap[c]->due)
			break;
		q->heap[i] = q->heap[c];
		i = c;
	}
	if (q->nheap)
		q->heap[i] = last;
	return top;
}

/* ---- output --------------------------------------------------------- */

static int
out_record(struct pb_query *q, struct job *j)
{
	char err[PB_ERRLEN] = "";
	int rc = q->o.out(j->rec, q->o.arg, err);

	q->n.done++;
	cJSON_Delete(j->rec);
	j->rec = NULL;
	free(j->body);
	j->body = NULL;
	q->freej[q->nfree++] = j;
	return rc < 0 ? broke(q, err) : 0;
}

static int
complete(struct pb_query *q, struct job *j)
{
	j->done = 1;
	if (!q->o.ordered)
		return out_record(q, j);
	while (q->next_out < q->next_seq) {
		struct job *h = q->ring[q->next_out % (long)q->njobs];
		if (!h->done)
			break;
		q->next_out++;
		if (out_record(q, h) < 0)
			return -1;
	}
	return 0;
}

/* ---- messages ------------------------------------------------------- */

/* Hands a formatted message to the caller's warn; NULL warn drops it. */
static int
notify(struct pb_query *q, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	if (!q->o.warn)
		return 0;
	va_start(ap, fmt);
	msg = pb_vstrfmt(fmt, ap);
	va_end(ap);
	if (!msg)
		return broke(q, "out of memory");
	q->o.warn(msg, q->o.arg);
	free(msg);
	return 0;
}

/* ---- outcomes ------------------------------------------------------- */

/* Puts error (taken) on j's record and says so through warn, once per
 * record. */
static int
fail(struct pb_query *q, struct job *j, cJSON *error)
{
	char line[PB_ERRLEN], *r;
	const char *m, *after;
	int rc;

	if (!error)
		return broke(q, "out of memory");
	cJSON_AddItemToObject(j->rec, "error", error);
	/* A server may echo the key back; it must never reach the output. */
	if ((m = pb_json_str(error, "message"))) {
		if (pb_redact(q->o.secret, q->o.secrets, m, strlen(m), &r, NULL) < 0)
			return broke(q, "out of memory");
		if (r) {
			pb_json_set(error, "message", cJSON_CreateString(r));
			free(r);
		}
	}
	if (j->tries)
		cJSON_AddNumberToObject(error, "attempts", j->tries);
	if (!strcmp(pb_json_str(error, "kind"), "interrupted")) {
		/* Counted and told once, by the caller, not line by line. */
		q->n.failed++;
		q->n.interrupted++;
		return 0;
	}
	pb_llm_error_line(error, line);
	after = j->tries > 1 ? " (after retries)" : "";
	m = pb_json_str(error, "message");
	if (!strcmp(pb_json_str(error, "kind"), "input"))
		rc = j->pull ? notify(q, "%s:%ld: pull %ld: %s", j->file, j->line, j->pull, m)
		             : notify(q, "%s:%ld: %s", j->file, j->line, m);
	else if (j->pull)
		rc = notify(q, "pull %ld: %s%s", j->pull, line, after);
	else
		rc = notify(q, "%s:%ld: %s%s", j->file, j->line, line, after);
	q->n.failed++;
	return rc;
}

/* Adds a successful response (taken) to j's record. */
static void
succeed(struct pb_query *q, struct job *j, cJSON *resp, int cached)
{
	double t;

	cJSON_AddNumberToObject(resp, "attempts", j->tries);
	if (cached)
		cJSON_AddTrueToObject(resp, "cached");
	if (pb_json_num(resp, "usage.total_tokens", &t) == 0)
		q->n.tokens += t;
	cJSON_AddItemToObject(j->rec, "response", resp);
}

static int
cache_warn(struct pb_query *q, const char *err)
{
	if (q->cache_warned++)
		return 0;
	return notify(q, "cache: %s (going on without it)", err);
}

/* ---- a try comes back ----------------------------------------------- */

/* The error object a failed try leaves, and whether its body was not
 * JSON at all (a 2xx like that is worth another try). */
static cJSON *
try_error(const struct pb_http_req *r, const char *parse_err, int *malformed)
{
	cJSON *doc;

	*malformed = 0;
	if (r->result == PB_HTTP_CONNECT)
		return pb_llm_error("connect", 0, NULL, 0, r->error);
	if (r->result == PB_HTTP_TIMEOUT)
		return pb_llm_error("timeout", 0, NULL, 0, r->error);
	if (r->result == PB_HTTP_TLS)
		return pb_llm_error("tls", 0, NULL, 0, r->error);
	if (r->result == PB_HTTP_TOO_BIG)
		return pb_llm_error("size", r->status, NULL, 0, r->error);
	if (parse_err) {
		doc = cJSON_ParseWithLength(r->resp ? r->resp : "", r->resp_len);
		*malformed = !doc;
		cJSON_Delete(doc);
		return pb_llm_error("parse", r->status, r->resp, r->resp_len, parse_err);
	}
	return pb_llm_error("http", r->status, r->resp, r->resp_len, NULL);
}

/* The key out of everything the try left, before anything reads it. */
static int
redact_try(struct pb_query *q, struct pb_http_req *r)
{
	char *red;
	cJSON *doc;
	int rc;

	if (pb_redact(q->o.secret, q->o.secrets, r->resp, r->resp_len, &red, &r->resp_len) < 0)
		return -1;
	if (red) {
		free(r->resp);
		r->resp = red;
		r->resp_cap = r->resp_len + 1;
	}
	/* A JSON body may carry a secret escaped (\u002d for '-'); the
	 * escapes are read and the body written again only when there are
	 * any, so the common answer costs one memchr. */
	if ((q->o.secret || q->o.secrets) && r->resp && memchr(r->resp, '\\', r->resp_len) &&
	    (doc = cJSON_ParseWithLength(r->resp, r->resp_len))) {
		rc = pb_redact_tree(q->o.secret, q->o.secrets, doc);
		if (rc > 0 && (red = cJSON_PrintUnformatted(doc))) {
			free(r->resp);
			r->resp = red;
			r->resp_len = strlen(red);
			r->resp_cap = r->resp_len + 1;
		}
		cJSON_Delete(doc);
		if (rc < 0 || (rc > 0 && !red))
			return -1;
	}
	if (pb_redact(q->o.secret, q->o.secrets, r->error, strlen(r->error), &red, NULL) < 0)
		return -1;
	if (red) {
		snprintf(r->error, sizeof r->error, "%s", red);
		free(red);
	}
	return 0;
}

/* Pacing from the server's rate-limit headers, before any 429: when the
 * requests left in its window are no more than those in flight, or the
 * tokens left are fewer than this request's estimate, nothing more is
 * sent until the window resets (at most --max-retry-wait). */
static void
pace(struct pb_query *q, const struct pb_http_req *r, const struct job *j,
     double now)
{
	const struct pb_http_ratelimit *rl = &r->rl;
	double until = -1, cap = q->o.retry.max_wait_s;

	if (rl->req_remaining >= 0 && rl->req_reset >= 0 &&
	    rl->req_remaining <= pb_http_in_flight(q->http))
		until = rl->req_reset;
	if (rl->tok_remaining >= 0 && rl->tok_reset >= 0 && rl->tok_remaining < j->est &&
	    rl->tok_reset > until)
		until = rl->tok_reset;
	if (until < 0)
		return;
	/* "0s" with nothing left: the window ends within the header's
	 * rounding, so a moment's wait, not none. */
	if (until < 0.05)
		until = 0.05;
	pb_limiter_hold(&q->lim, now + (until < cap ? until : cap));
	q->n.paced++;
}

static void
on_done(struct pb_http_req *r, void *arg)
{
	struct pb_query *q = arg;
	struct job *j = r->data;
	struct pb_retry_in in;
	char err[PB_ERRLEN];
	enum pb_retry d;
	double now = pb_clock(), wait, t;
	cJSON *resp = NULL, *error;
	int malformed, stream_err = 0, ok2xx = r->result == PB_HTTP_DONE &&
	                                     r->status >= 200 && r->status <= 299;

	if (q->broken)
		return;
	pace(q, r, j, now);
	/* A stream becomes the body the API would have sent whole: that is
	 * what is parsed, cached and replayed. */
	if (ok2xx && r->event_stream) {
		char *whole = pb_llm_stream_assemble(q->o.par.api, r->resp, r->resp_len, err);
		if (whole) {
			free(r->resp);
			r->resp = whole;
			r->resp_len = strlen(whole);
			r->resp_cap = r->resp_len + 1;
		} else if (!strcmp(err, "out of memory")) {
			broke(q, err);
			return;
		} else {
			ok2xx = 0;
			stream_err = 1;
		}
	}
	/* After the stream is whole, so its escapes are read too. */
	if (redact_try(q, r) < 0) {
		broke(q, "out of memory");
		return;
	}
	if (ok2xx && (resp = pb_llm_response(q->o.par.api, r->resp, r->resp_len,
	                                     r->latency_ms, q->o.par.model, err))) {
		if (pb_json_num(resp, "usage.total_tokens", &t) == 0)
			pb_limiter_usage(&q->lim, j->est, t);
		pb_limiter_success(&q->lim);
		if (q->o.cache && j->key[0] &&
		    pb_cache_put(q->o.cache, j->key, r->resp, err) < 0 &&
		    cache_warn(q, err) < 0) {
			cJSON_Delete(resp);
			return;
		}
		succeed(q, j, resp, 0);
		complete(q, j);
		return;
	}
	/* A 2xx that is no answer: err says why pb_llm_response refused it. */
	if (!(error = try_error(r, ok2xx || stream_err ? err : NULL, &malformed))) {
		broke(q, "out of memory");
		return;
	}
	in.result = r->result;
	in.status = r->status;
	in.malformed = malformed;
	in.type = pb_json_str(error, "type");
	in.code = pb_json_str(error, "code");
	in.retry_after = r->retry_after;
	in.should_retry = r->should_retry;
	in.tries = j->tries;
	d = pb_retry_decide(&q->o.retry, &in, pb_rng_uniform(&q->rng), &wait);
	/* The whole client slows down; but a wait too long to honour for
	 * this record is not imposed on the others either. */
	if (pb_retry_overloaded(in.status, in.type, in.code))
		pb_limiter_overload(&q->lim, j->sent_at, now,
		                    d == PB_RETRY_YES ? wait :
		                    d == PB_RETRY_EXHAUSTED && r->retry_after > 0 &&
		                    r->retry_after <= q->o.retry.max_wait_s ? r->retry_after : 0);
	switch (d) {
	case PB_RETRY_YES:
		cJSON_Delete(error);
		j->due = now + wait;
		heap_push(q, j);
		q->n.retries++;
		return;
	case PB_RETRY_TOO_LONG: {
		char msg[PB_ERRLEN];
		snprintf(msg, sizeof msg, "the server asked to wait %g s, more than "
		         "--max-retry-wait %g: %s", wait, q->o.retry.max_wait_s,
		         pb_json_str(error, "message"));
		pb_json_set(error, "message", cJSON_CreateString(msg));
		break;
	}
	case PB_RETRY_NO:
	case PB_RETRY_EXHAUSTED:
		break;
	}
	if (fail(q, j, error) == 0)
		complete(q, j);
}

/* ---- starting records ----------------------------------------------- */

/* Which draw of a request this record is, for the cache key: at
 * temperature 0 every draw is the same one (the answer is meant to be
 * the same, so runs share it); otherwise the record's "sample", else its
 * "pull", keeps distinct pulls apart, and *run (the record's "run")
 * keeps runs apart: a replication is not a replay. */
static long
sample_of(const cJSON *rec, const cJSON *body, const char **run)
{
	double t, v;

	*run = NULL;
	if (pb_json_num(body, "temperature", &t) == 0 && t == 0)
		return 0;
	*run = pb_json_str(rec, "run");
	if (pb_json_num(rec, "sample", &v) == 0 && fabs(v) < 9e15)
		return (long)v;
	if (pb_json_num(rec, "pull", &v) == 0 && fabs(v) < 9e15)
		return (long)v;
	return 0;
}

/* The record with the request it would send, for a dry run. */
static int
dry_run(struct pb_query *q, struct job *j, const cJSON *body)
{
	cJSON *req = cJSON_CreateObject(), *copy = cJSON_Duplicate(body, 1);

	if (!req || !copy || !cJSON_AddStringToObject(req, "url", q->o.url)) {
		cJSON_Delete(req);
		cJSON_Delete(copy);
		return broke(q, "out of memory");
	}
	cJSON_AddItemToObject(req, "body", copy);
	cJSON_AddNumberToObject(req, "est_prompt_tokens", (double)pb_llm_estimate(j->rec));
	cJSON_AddItemToObject(j->rec, "request", req);
	return 0;
}

/* Starts one record: at once its input error, its dry run or its cached
 * answer; else it joins the pending line. */
/* A free job for rec, placed in the window, its record cleared of an
 * earlier pass's outcome (a fresh one, not two). */
static struct job *
take_job(struct pb_query *q, cJSON *rec, const char *file, long line)
{
	struct job *j = q->freej[--q->nfree];
	double pull;

	j->rec = rec;
	j->file = file;
	j->line = line;
	j->pull = pb_json_num(rec, "pull", &pull) == 0 && pull >= 1 &&
	          pull < 9e15 ? (long)pull : 0;
	j->seq = q->next_seq++;
	j->done = 0;
	j->tries = 0;
	j->key[0] = '\0';
	j->next = NULL;
	q->ring[j->seq % (long)q->njobs] = j;
	cJSON_DeleteItemFromObjectCaseSensitive(j->rec, "response");
	cJSON_DeleteItemFromObjectCaseSensitive(j->rec, "error");
	cJSON_DeleteItemFromObjectCaseSensitive(j->rec, "request");
	return j;
}

/* Looks j's request up in the cache (setting its key): 1 if answered
 * from it (j is complete), 0 if it must be asked, -1 if the engine
 * broke. */
static int
from_cache(struct pb_query *q, struct job *j, const cJSON *body, char err[PB_ERRLEN])
{
	const char *run;
	long sample = sample_of(j->rec, body, &run);
	char *value = NULL;
	cJSON *resp;
	int hit;

	pb_cache_key(q->o.url, q->api_name, body, sample, run, j->key);
	hit = q->o.refresh ? 0 : pb_cache_get(q->o.cache, j->key, &value, err);
	if (hit < 0 && cache_warn(q, err) < 0)
		return -1;
	/* An entry that no longer parses as an answer is asked again (and
	 * replaced). */
	if (hit == 1 && (resp = pb_llm_response(q->o.par.api, value, strlen(value),
	                                        0, q->o.par.model, err))) {
		free(value);
		q->n.hits++;
		succeed(q, j, resp, 1);
		complete(q, j);
		return 1;
	}
	free(value);
	return 0;
}

/* Makes j's request of body (asking for a stream if wanted: after the
 * key, so a streamed answer and a whole one are the same) and puts j at
 * the end of the pending line.  Returns 0, or -1 out of memory. */
static int
enqueue(struct pb_query *q, struct job *j, cJSON *body)
{
	if (q->o.par.stream && pb_llm_stream_fields(body, q->o.par.api) < 0)
		return -1;
	if (!(j->body = cJSON_PrintUnformatted(body)))
		return -1;
	j->req.url = q->o.url;
	j->req.body = j->body;
	j->req.body_len = strlen(j->body);
	j->req.attempt = 0;
	j->req.data = j;
	j->est = (double)pb_llm_estimate(j->rec) +
	         (double)(q->o.par.max_tokens ? q->o.par.max_tokens :
	                  q->o.par.max_completion_tokens);
	if (q->pend_tail)
		q->pend_tail->next = j;
	else
		q->pend = j;
	q->pend_tail = j;
	return 0;
}

int
pb_query_add(struct pb_query *q, cJSON *rec, const char *file, long line,
             char err[PB_ERRLEN])
{
	struct job *j;
	cJSON *body;

	if (q->broken || !q->nfree) {
		cJSON_Delete(rec);
		if (!q->broken)
			broke(q, "pb_query_add: no room");
		snprintf(err, PB_ERRLEN, "%s", q->err);
		return -1;
	}
	j = take_job(q, rec, file, line);
	if (q->interrupted) {
		if (fail(q, j, pb_llm_error("interrupted", 0, NULL, 0, "not sent: "
		         "interrupted")) == 0)
			complete(q, j);
		goto out;
	}
	if (pb_llm_check(j->rec, err) < 0) {
		if (fail(q, j, pb_llm_error("input", 0, NULL, 0, err)) == 0)
			complete(q, j);
		goto out;
	}
	if (!(body = pb_llm_body(j->rec, &q->o.par))) {
		broke(q, "out of memory");
		goto out;
	}
	if (q->o.dry_run) {
		if (q->o.par.stream && pb_llm_stream_fields(body, q->o.par.api) < 0)
			broke(q, "out of memory");
		else if (dry_run(q, j, body) == 0)
			complete(q, j);
	} else if (!q->o.cache || from_cache(q, j, body, err) == 0) {
		if (enqueue(q, j, body) < 0)
			broke(q, "out of memory");
	}
	cJSON_Delete(body);
out:
	if (!q->broken)
		return 0;
	snprintf(err, PB_ERRLEN, "%s", q->err);
	return -1;
}

/* ---- sending and collecting ----------------------------------------- */

int
pb_query_send(struct pb_query *q, double now, double *next, char err[PB_ERRLEN])
{
	struct job *j;
	double w;

	for (;;) {
		int retry = q->nheap && q->heap[0]->due <= now;
		if (q->broken) {
			snprintf(err, PB_ERRLEN, "%s", q->err);
			return -1;
		}
		j = retry ? q->heap[0] : q->pend;
		if (!j) {
			*next = q->nheap ? q->heap[0]->due : HUGE_VAL;
			return 0;
		}
		/* The limiter's slots never exceed http.parallel (its max). */
		if (pb_http_in_flight(q->http) >= pb_limiter_slots(&q->lim)) {
			*next = HUGE_VAL; /* a slot frees in on_done */
			return 0;
		}
		if ((w = pb_limiter_wait(&q->lim, j->est, now)) > 0) {
			*next = now + w;
			return 0;
		}
		if (retry)
			heap_pop(q);
		else if (!(q->pend = j->next))
			q->pend_tail = NULL;
		pb_limiter_take(&q->lim, j->est, now);
		j->req.attempt = j->tries++;
		j->sent_at = now;
		q->n.requests++;
		if (pb_http_submit(q->http, &j->req, err) < 0)
			return broke(q, err);
	}
}

int
pb_query_poll(struct pb_query *q, int timeout_ms, char err[PB_ERRLEN])
{
	int n = 0;

	if (!q->broken && (n = pb_http_poll(q->http, timeout_ms, on_done, q, err)) < 0)
		broke(q, err);
	if (q->broken) {
		snprintf(err, PB_ERRLEN, "%s", q->err);
		return -1;
	}
	return n;
}

static int
by_seq(const void *a, const void *b)
{
	const struct job *x = *(struct job *const *)a, *y = *(struct job *const *)b;

	return (x->seq > y->seq) - (x->seq < y->seq);
}

int
pb_query_interrupt(struct pb_query *q, char err[PB_ERRLEN])
{
	struct job **held;
	size_t i, n = 0;

	if (q->interrupted || q->broken)
		goto out;
	q->interrupted = 1;
	if (!(held = malloc(q->njobs * sizeof *held)))
		return broke(q, "out of memory"), snprintf(err, PB_ERRLEN, "%s", q->err), -1;
	for (i = 0; i < q->njobs; i++) {
		struct job *j = &q->jobs[i];
		if (!j->rec || j->done)
			continue;
		if (j->req.easy)
			pb_http_cancel(q->http, &j->req);
		held[n++] = j;
	}
	q->pend = q->pend_tail = NULL;
	q->nheap = 0;
	/* In input order, so the records held back for order go out too. */
	qsort(held, n, sizeof *held, by_seq);
	for (i = 0; i < n && !q->broken; i++)
		if (fail(q, held[i], pb_llm_error("interrupted", 0, NULL, 0,
		         held[i]->tries ? "interrupted while asking" :
		         "not sent: interrupted")) == 0)
			complete(q, held[i]);
	free(held);
out:
	if (!q->broken)
		return 0;
	snprintf(err, PB_ERRLEN, "%s", q->err);
	return -1;
}

void
pb_query_wakeup(struct pb_query *q)
{
	pb_http_wakeup(q->http);
}

size_t
pb_query_room(const struct pb_query *q)
{
	return q->nfree;
}

int
pb_query_idle(const struct pb_query *q)
{
	return q->nfree == q->njobs;
}

void
pb_query_counts(const struct pb_query *q, struct pb_query_counts *c)
{
	*c = q->n;
	c->in_flight = pb_http_in_flight(q->http);
}

/* ---- making and freeing --------------------------------------------- */

struct pb_query *
pb_query_new(const struct pb_query_opts *o, char err[PB_ERRLEN])
{
	struct pb_query *q = calloc(1, sizeof *q);
	int jobs = o->http.parallel;
	size_t i;

	if (!q) {
		snprintf(err, PB_ERRLEN, "out of memory");
		return NULL;
	}
	q->o = *o;
	q->api_name = pb_llm_api_name(o->par.api);
	if (!(q->http = pb_http_new(&o->http, err))) {
		free(q);
		return NULL;
	}
	pb_rng_seed(&q->rng, o->seed);
	pb_limiter_init(&q->lim, jobs, o->rpm, o->tpm, pb_clock());
	/* A window of 4 x jobs records lets the other slots run on while a
	 * request is slower than the rest or waits for its retry; in input
	 * order it is also the most that is held back for the order. */
	q->njobs = (size_t)jobs * 4;
	q->jobs = calloc(q->njobs, sizeof *q->jobs);
	q->freej = calloc(q->njobs, sizeof *q->freej);
	q->ring = calloc(q->njobs, sizeof *q->ring);
	q->heap = calloc(q->njobs, sizeof *q->heap);
	if (!q->jobs || !q->freej || !q->ring || !q->heap) {
		pb_query_free(q);
		snprintf(err, PB_ERRLEN, "out of memory");
		return NULL;
	}
	for (i = 0; i < q->njobs; i++)
		q->freej[q->nfree++] = &q->jobs[q->njobs - 1 - i];
	return q;
}

void
pb_query_free(struct pb_query *q)
{
	size_t i;

	if (!q)
		return;
	pb_http_free(q->http);
	for (i = 0; q->jobs && i < q->njobs; i++) {
		pb_http_req_free(&q->jobs[i].req);
		cJSON_Delete(q->jobs[i].rec);
		free(q->jobs[i].body);
	}
	free(q->jobs);
	free(q->freej);
	free(q->ring);
	free(q->heap);
	free(q);
}
