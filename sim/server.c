/* server.c - one HTTP request through the simulation: routing, the API
 * key, the rate limit, the injected faults, the delays, the chat reply
 * and the request statistics.  No sockets here (pb-sim.c has them), so
 * all of it is unit-tested directly.
 *
 * Faults and jitter are hashes of the seed, the request and its repeat
 * count, never of time or of the order in which requests arrive. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

/* ------------------------------------------------------------ faults */

static const char *const fault_names[PB_SIM_NFAULTS] = {
	"429", "500", "502", "503", "504", "529", "quota", "auth", "invalid",
	"malformed", "slow", "drop"
};

const char *
pb_sim_fault_name(enum pb_sim_fault f)
{
	return (unsigned)f < PB_SIM_NFAULTS ? fault_names[f] : NULL;
}

int
pb_sim_fault_kind(const char *name)
{
	int i;

	for (i = 0; i < PB_SIM_NFAULTS; i++)
		if (!strcmp(name, fault_names[i]))
			return i;
	return -1;
}

int
pb_sim_parse_faults(struct pb_sim *s, const char *spec, char err[PB_ERRLEN])
{
	double rate[PB_SIM_NFAULTS], sum;
	const char *p = spec, *colon, *end;
	char name[16], *e;
	int i, k;

	memcpy(rate, s->fault, sizeof rate);
	for (;;) {
		end = strchr(p, ',');
		if (!end)
			end = p + strlen(p);
		colon = memchr(p, ':', (size_t)(end - p));
		if (!colon || (size_t)(colon - p) >= sizeof name) {
			snprintf(err, PB_ERRLEN, "'%.*s' is not KIND:RATE", (int)(end - p), p);
			return -1;
		}
		memcpy(name, p, (size_t)(colon - p));
		name[colon - p] = '\0';
		if ((k = pb_sim_fault_kind(name)) < 0) {
			snprintf(err, PB_ERRLEN, "unknown fault kind '%s' (known: 429, 500, "
			         "502, 503, 504, 529, quota, auth, invalid, malformed, slow, "
			         "drop)", name);
			return -1;
		}
		rate[k] = strtod(colon + 1, &e);
		if (e == colon + 1 || e != end || !(rate[k] >= 0 && rate[k] <= 1)) {
			snprintf(err, PB_ERRLEN, "fault %s: '%.*s' is not a rate in [0, 1]",
			         name, (int)(end - colon - 1), colon + 1);
			return -1;
		}
		if (!*end)
			break;
		p = end + 1;
	}
	for (i = 0, sum = s->error_rate; i < PB_SIM_NFAULTS; i++)
		sum += rate[i];
	/* A little slack, so 0.1,0.2,0.7 is not refused for rounding. */
	if (sum > 1 + 1e-9) {
		snprintf(err, PB_ERRLEN, "the fault rates%s add up to %g, more than 1",
		         s->error_rate > 0 ? " and --error-rate" : "", sum);
		return -1;
	}
	memcpy(s->fault, rate, sizeof rate);
	return 0;
}

/* ------------------------------------------------- what the reply says */

/* Adds "Name: value\n" to the reply's extra headers. */
static int
add_header(struct pb_sim_response *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int
add_header(struct pb_sim_response *r, const char *fmt, ...)
{
	va_list ap;
	char *line, *t;
	size_t have = r->headers ? strlen(r->headers) : 0, n;

	va_start(ap, fmt);
	line = pb_vstrfmt(fmt, ap);
	va_end(ap);
	if (!line)
		return -1;
	n = strlen(line);
	if (!(t = realloc(r->headers, have + n + 2))) {
		free(line);
		return -1;
	}
	memcpy(t + have, line, n);
	memcpy(t + have + n, "\n", 2);
	r->headers = t;
	free(line);
	return 0;
}

/* --echo-headers: the request's headers into x_pb_sim.headers, names in
 * lower case; the key's headers too, so a test can see them arrive. */
static int
echo_headers(const struct call *c, cJSON *o)
{
	cJSON *x = cJSON_GetObjectItemCaseSensitive(o, "x_pb_sim"), *h;
	const char *const *p;
	char name[128];
	size_t i;

	if (!c->s->echo_headers || !x || !c->q->headers)
		return 0;
	if (!(h = cJSON_AddObjectToObject(x, "headers")))
		return -1;
	for (p = c->q->headers; p[0] && p[1]; p += 2) {
		for (i = 0; p[0][i] && i < sizeof name - 1; i++)
			name[i] = (char)tolower((unsigned char)p[0][i]);
		name[i] = '\0';
		if (!cJSON_AddStringToObject(h, name, p[1]))
			return -1;
	}
	return 0;
}

/* --rate-limit N/SEC: at most N chat requests in each window of SEC
 * seconds.  Every chat reply says how many are left and when the window
 * resets, in the headers of its API; one over the limit is a 429 with
 * Retry-After the rest of the window.  Returns 1 if over (r filled in),
 * 0 if not, -1 out of memory. */
static int
rate_limit(struct call *c)
{
	struct pb_sim *s = c->s;
	struct pb_sim_priv *pv = s->priv;
	struct timespec ts;
	double now, left;
	long remaining, used;
	char when[40];
	time_t t;
	struct tm tm;

	if (s->rl_requests <= 0)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (double)ts.tv_sec + ts.tv_nsec / 1e9;
	pthread_mutex_lock(&pv->mu);
	if (pv->rl_start == 0 || now - pv->rl_start >= s->rl_window_s) {
		pv->rl_start = now;
		pv->rl_used = 0;
	}
	used = ++pv->rl_used;
	left = pv->rl_start + s->rl_window_s - now;
	pthread_mutex_unlock(&pv->mu);
	remaining = used > s->rl_requests ? 0 : s->rl_requests - used;
	if (c->api == ANTHROPIC) {
		/* Whole seconds, rounded up: never earlier than the window. */
		clock_gettime(CLOCK_REALTIME, &ts);
		t = (time_t)ceil((double)ts.tv_sec + ts.tv_nsec / 1e9 + left);
		gmtime_r(&t, &tm);
		strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
		if (add_header(c->r, "anthropic-ratelimit-requests-limit: %ld", s->rl_requests) ||
		    add_header(c->r, "anthropic-ratelimit-requests-remaining: %ld", remaining) ||
		    add_header(c->r, "anthropic-ratelimit-requests-reset: %s", when))
			return -1;
	} else if (add_header(c->r, "x-ratelimit-limit-requests: %ld", s->rl_requests) ||
	           add_header(c->r, "x-ratelimit-remaining-requests: %ld", remaining) ||
	           add_header(c->r, "x-ratelimit-reset-requests: %.3fs",
	                      ceil(left * 1000) / 1000)) {
		return -1;
	}
	if (used <= s->rl_requests)
		return 0;
	if (sim_fail(c, 429, NULL, NULL, NULL, "Rate limit reached for requests: %ld "
	             "per %g s (pb-sim --rate-limit).", s->rl_requests, s->rl_window_s))
		return -1;
	c->r->retry_after = left;
	c->r->has_retry_after = 1;
	return 1;
}

/* Which fault, if any, the request draws: one uniform number, cut into
 * bands of --error-rate and then each kind's rate in enum order. */
static int
draw_fault(const struct call *c)
{
	const struct pb_sim *s = c->s;
	double u = unit(mix(c->key, c->rep, s->seed ^ SALT_FAULT)), top;
	int i;

	if (u < (top = s->error_rate))
		return PB_SIM_NFAULTS;
	for (i = 0; i < PB_SIM_NFAULTS; i++)
		if (s->fault[i] > 0 && u < (top += s->fault[i]))
			return i;
	return -1;
}

/* Fills r with the error reply of fault f (not malformed, slow, drop). */
static int
fault_reply(struct call *c, int f)
{
	const struct pb_sim *s = c->s;
	int anth = c->api == ANTHROPIC;

	switch (f) {
	case PB_SIM_NFAULTS:
		return sim_fail(c, s->error_status, NULL, NULL, NULL, "Simulated failure "
		                "(pb-sim --error-rate %g, status %d).", s->error_rate,
		                s->error_status);
	case PB_SIM_F429:
		return sim_fail(c, 429, NULL, NULL, NULL, "Rate limit reached for requests "
		                "(simulated by pb-sim). Please try again in %gs.",
		                s->retry_after);
	case PB_SIM_F500:
		return sim_fail(c, 500, NULL, NULL, NULL, "The server had an error while "
		                "processing your request (simulated by pb-sim).");
	case PB_SIM_F502:
		return sim_fail(c, 502, NULL, NULL, NULL, "Bad gateway (simulated by pb-sim).");
	case PB_SIM_F503:
		return sim_fail(c, 503, NULL, NULL, NULL, "The server is overloaded or not "
		                "ready yet (simulated by pb-sim).");
	case PB_SIM_F504:
		return sim_fail(c, 504, NULL, NULL, NULL, "Gateway timeout (simulated by "
		                "pb-sim).");
	case PB_SIM_F529:
		return sim_fail(c, 529, "overloaded_error", NULL, NULL, "Overloaded "
		                "(simulated by pb-sim).");
	case PB_SIM_FQUOTA:
		/* No Retry-After: waiting does not bring money back. */
		if (sim_fail(c, 429, "insufficient_quota", "insufficient_quota", NULL,
		             "You exceeded your current quota, please check your plan "
		             "and billing details (simulated by pb-sim)."))
			return -1;
		c->r->has_retry_after = 0;
		c->r->should_retry = 0;
		return 0;
	case PB_SIM_FAUTH:
		return sim_fail(c, 401, NULL, NULL, NULL, anth ? "invalid x-api-key "
		                "(simulated by pb-sim)." : "Incorrect API key provided "
		                "(simulated by pb-sim).");
	case PB_SIM_FINVALID:
		return sim_fail(c, 400, NULL, NULL, NULL, "Invalid request (simulated by "
		                "pb-sim).");
	}
	return -1;
}

/* Serves a chat request of either API, faults included. */
static int
chat(struct call *c)
{
	struct pb_sim *s = c->s;
	struct pb_sim_response *r = c->r;
	struct chatreq q = { 0 };
	struct pb_sim_answer a = { 0 };
	cJSON *req, *o = NULL;
	const char *stop;
	enum finish fin;
	long pt = 3;
	size_t i;
	int rv;

	req = cJSON_ParseWithLength(c->q->body, c->q->len);
	if (!req || !cJSON_IsObject(req)) {
		cJSON_Delete(req);
		return sim_fail(c, 400, NULL, NULL, NULL, c->api == ANTHROPIC ?
		                "The request body is not valid JSON: it must be a JSON "
		                "object." : "We could not parse the JSON body of your "
		                "request: it must be a JSON object.");
	}
	rv = c->api == ANTHROPIC ? sim_messages_parse(c, req, &q) : sim_chat_parse(c, req, &q);
	if (rv) {
		sim_chatreq_free(&q);
		cJSON_Delete(req);
		return rv < 0 ? -1 : 0;
	}
	c->key = pb_sim_request_key(q.roles, (const char *const *)q.contents, q.n,
	                            q.temperature);
	c->rep = pb_sim_count(s, c->key);
	c->counted = 1;
	if (c->counting) {
		/* count_tokens: the prompt's tokens as a reply would count them */
		for (i = 0; i < q.n; i++)
			pt += 3 + sim_tokens(q.contents[i]);
		rv = -1;
		if ((o = cJSON_CreateObject()) &&
		    cJSON_AddNumberToObject(o, "input_tokens", (double)pt) &&
		    (r->body = cJSON_PrintUnformatted(o))) {
			r->status = 200;
			rv = 0;
		}
		goto done;
	}
	if ((rv = rate_limit(c)) != 0) {
		rv = rv < 0 ? -1 : 0;
		goto done;
	}
	c->fault = draw_fault(c);
	if (c->fault >= 0 && c->fault != PB_SIM_FMALFORMED &&
	    c->fault != PB_SIM_FSLOW) {
		if (c->fault == PB_SIM_FDROP) {
			r->drop = 1;
			rv = 0;
		} else {
			rv = fault_reply(c, c->fault);
		}
		goto done;
	}
	rv = -1;
	if (pb_sim_answer(s, q.text, c->key, q.temperature, c->rep, &a))
		goto done;
	fin = sim_limit(a.text, &q, &stop);
	for (i = 0; i < q.n; i++)
		pt += 3 + sim_tokens(q.contents[i]);
	o = c->api == ANTHROPIC ? sim_anthropic_reply(c, &q, &a, fin, stop, pt)
	                        : sim_openai_reply(c, &q, &a, fin, pt);
	if (!o || echo_headers(c, o) < 0)
		goto done;
	if (q.stream) {
		r->body = c->api == ANTHROPIC ? sim_anthropic_sse(o) : sim_openai_sse(o, q.include_usage);
		r->content_type = "text/event-stream";
	} else {
		r->body = cJSON_PrintUnformatted(o);
	}
	if (!r->body)
		goto done;
	r->status = 200;
	rv = 0;
	if (c->fault == PB_SIM_FMALFORMED)
		r->body[strlen(r->body) / 2] = '\0'; /* never valid JSON */
	else
		c->answered = 1;
	if (c->fault == PB_SIM_FSLOW)
		r->delay_ms += s->slow_s * 1000;
done:
	cJSON_Delete(o);
	pb_sim_answer_free(&a);
	sim_chatreq_free(&q);
	cJSON_Delete(req);
	return rv;
}

/* Checks the key of an API request: Authorization: Bearer KEY for
 * OpenAI's paths; x-api-key: KEY or Authorization: Bearer KEY for
 * Anthropic's (its SDK sends either, by auth mode); api-key: KEY or
 * Bearer for Azure's.  The messages never repeat what was sent, so no
 * key leaks into a log. */
static int
authorized(struct call *c)
{
	const char *key = c->s->api_key, *h;
	const char *alt = c->api == ANTHROPIC ? c->q->x_api_key :
	                  c->azure ? c->q->api_key : NULL;

	if (alt && !c->q->authorization)
		return strcmp(alt, key) ? BAD(sim_fail(c, 401, NULL, NULL, NULL,
		       c->azure ? "Access denied due to invalid subscription key or "
		       "wrong API endpoint." : "invalid x-api-key")) : 0;
	if (!(h = c->q->authorization))
		return BAD(sim_fail(c, 401, NULL, NULL, NULL, c->api == ANTHROPIC ?
		           "x-api-key header is required (or Authorization: Bearer)" :
		           c->azure ? "Access denied due to missing subscription key. "
		           "Send it as 'api-key: KEY'." : "You didn't provide an API "
		           "key. Send it as 'Authorization: Bearer KEY'."));
	if (strncasecmp(h, "Bearer ", 7))
		return BAD(sim_fail(c, 401, NULL, NULL, NULL, "The Authorization header "
		           "is not 'Bearer KEY'."));
	for (h += 7; *h == ' '; h++)
		;
	return strcmp(h, key) ? BAD(sim_fail(c, 401, NULL, NULL, NULL, c->api == ANTHROPIC ?
	                        "invalid x-api-key" : "Incorrect API key provided.")) : 0;
}

/* ---------------------------------------------------------- statistics */

static void
tally(struct pb_sim *s, const struct call *c)
{
	struct counts *st = &s->priv->stats;

	pthread_mutex_lock(&s->priv->mu);
	st->requests++;
	if (!c->r->drop && c->r->status >= 100 && c->r->status < 600)
		st->by_status[c->r->status]++;
	if (c->fault >= 0)
		st->faults[c->fault]++;
	st->completions += c->answered;
	pthread_mutex_unlock(&s->priv->mu);
}

char *
pb_sim_stats(struct pb_sim *s, int reset)
{
	struct counts *st = malloc(sizeof *st);
	cJSON *o = cJSON_CreateObject(), *bs, *fs;
	char *txt = NULL, k[16];
	int i, ok;

	if (st) {
		pthread_mutex_lock(&s->priv->mu);
		*st = s->priv->stats;
		if (reset)
			memset(&s->priv->stats, 0, sizeof *st);
		pthread_mutex_unlock(&s->priv->mu);
	}
	ok = st && o && cJSON_AddNumberToObject(o, "requests", (double)st->requests) &&
	     cJSON_AddNumberToObject(o, "completions", (double)st->completions) &&
	     (bs = cJSON_AddObjectToObject(o, "by_status")) &&
	     (fs = cJSON_AddObjectToObject(o, "faults"));
	for (i = 100; ok && i < 600; i++) {
		if (!st->by_status[i])
			continue;
		snprintf(k, sizeof k, "%d", i);
		ok = cJSON_AddNumberToObject(bs, k, (double)st->by_status[i]) != NULL;
	}
	for (i = 0; ok && i <= PB_SIM_NFAULTS; i++)
		if (st->faults[i])
			ok = cJSON_AddNumberToObject(fs, i < PB_SIM_NFAULTS ?
			     fault_names[i] : "error-rate", (double)st->faults[i]) != NULL;
	if (ok)
		txt = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	free(st);
	return txt;
}

int
pb_sim_save_stats(struct pb_sim *s, const char *path, char err[PB_ERRLEN])
{
	char *txt = pb_sim_stats(s, 0), *tmp = NULL, *dir = NULL, *slash;
	size_t len;
	int fd = -1, dfd, rv = -1;

	if (!txt || !(tmp = pb_strfmt("%s.XXXXXX", path)) || !(dir = strdup(path))) {
		snprintf(err, PB_ERRLEN, "out of memory");
		goto out;
	}
	if ((fd = mkstemp(tmp)) < 0) {
		snprintf(err, PB_ERRLEN, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	len = strlen(txt);
	txt[len++] = '\n'; /* over the NUL: written by length */
	if (write(fd, txt, len) != (ssize_t)len || fsync(fd) || close(fd)) {
		snprintf(err, PB_ERRLEN, "%s: %s", tmp, strerror(errno ? errno : EIO));
		if (fd >= 0)
			close(fd);
		unlink(tmp);
		fd = -1;
		goto out;
	}
	fd = -1;
	if (rename(tmp, path)) {
		snprintf(err, PB_ERRLEN, "%s: %s", path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	slash = strrchr(dir, '/');
	if (slash)
		slash[slash == dir] = '\0';
	if ((dfd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY)) >= 0) {
		fsync(dfd);
		close(dfd);
	}
	rv = 0;
out:
	free(txt);
	free(tmp);
	free(dir);
	return rv;
}

/* ------------------------------------------------------------ routing */

/* The control endpoints: /pb-sim/... outside the API, never delayed,
 * faulted, checked for a key or counted. */
static int
control(struct call *c)
{
	const struct pb_sim_request *q = c->q;
	struct pb_sim_response *r = c->r;
	int reset = !strcmp(q->path, "/pb-sim/reset");

	if (!reset && strcmp(q->path, "/pb-sim/stats"))
		return sim_fail(c, 404, NULL, NULL, NULL, "Unknown request URL: %s %s.",
		                q->method, q->path);
	if (strcmp(q->method, reset ? "POST" : "GET")) {
		r->allow = reset ? "POST" : "GET";
		return sim_fail(c, 405, NULL, NULL, NULL, "Method %s not allowed for %s "
		                "(allowed: %s).", q->method, q->path, r->allow);
	}
	r->status = 200;
	return (r->body = pb_sim_stats(c->s, reset)) ? 0 : -1;
}

/* Whether path is Azure's /openai/deployments/NAME/chat/completions. */
static int
azure_path(const char *path)
{
	const char *p;

	if (strncmp(path, "/openai/deployments/", 20))
		return 0;
	p = path + 20;
	p += strcspn(p, "/");
	return p > path + 20 && !strcmp(p, "/chat/completions");
}

/* Routes a /v1 request, an Azure deployment's, or an unknown path. */
static int
route(struct call *c)
{
	const struct pb_sim_request *q = c->q;
	const char *path = q->path, *want;
	int rv;

	if (q->too_big)
		return sim_fail(c, 413, NULL, NULL, NULL, "The request body is too large "
		                "for pb-sim.");
	if (strncmp(path, "/v1/", 4) && !c->azure)
		return sim_fail(c, 404, NULL, NULL, NULL, "Unknown request URL: %s %s.",
		                q->method, path);
	if (c->s->api_key && (rv = authorized(c)) != 0)
		return rv < 0 ? -1 : 0;
	if (!strcmp(path, "/v1/chat/completions") || !strcmp(path, "/v1/messages") ||
	    !strcmp(path, "/v1/messages/count_tokens") || c->azure)
		want = "POST";
	else if (!strcmp(path, "/v1/models"))
		want = "GET";
	else
		return sim_fail(c, 404, NULL, NULL, NULL, "Unknown request URL: %s %s.",
		                q->method, path);
	if (strcmp(q->method, want)) {
		c->r->allow = want;
		return sim_fail(c, 405, NULL, NULL, NULL, "Method %s not allowed for %s "
		                "(allowed: %s).", q->method, path, want);
	}
	if (!strcmp(path, "/v1/models"))
		return c->api == ANTHROPIC ? sim_anthropic_models(c->r) : sim_models(c->r);
	if (c->azure && !q->api_version)
		return sim_fail(c, 404, NULL, "404", NULL, "Resource not found: the "
		                "api-version query parameter is required.");
	if (c->api == ANTHROPIC && !c->q->anthropic_version)
		return sim_fail(c, 400, NULL, NULL, NULL, "anthropic-version: header is "
		                "required");
	return chat(c);
}

int
pb_sim_handle(struct pb_sim *s, const struct pb_sim_request *q,
              struct pb_sim_response *r)
{
	struct call c = { s, q, r, OPENAI, 0, 0, 0, -1, 0 };
	int rv;

	memset(r, 0, sizeof *r);
	r->should_retry = -1;
	if (!strncmp(q->path, "/pb-sim/", 8)) {
		rv = control(&c);
		r->should_retry = -1;
		r->has_retry_after = 0;
		goto out;
	}
	/* Anthropic's paths, and any other /v1 path asked with Anthropic's
	 * version header (a model listing, a 404), answer in its shape. */
	if (!strcmp(q->path, "/v1/messages") || !strncmp(q->path, "/v1/messages/", 13) ||
	    (q->anthropic_version && strcmp(q->path, "/v1/chat/completions")))
		c.api = ANTHROPIC;
	c.counting = !strcmp(q->path, "/v1/messages/count_tokens");
	c.azure = azure_path(q->path);
	rv = route(&c);
	if (!c.counted) {
		/* Not a chat request: the jitter comes from the request as
		 * it is, numbered like any other. */
		c.key = pb_hash(q->body ? q->body : "", q->body ? q->len : 0,
		                pb_hash(q->path, strlen(q->path),
		                        pb_hash(q->method, strlen(q->method), 0)));
		c.rep = pb_sim_count(s, c.key);
	}
	r->delay_ms += s->latency_ms;
	if (s->jitter_ms > 0)
		r->delay_ms -= s->jitter_ms *
		    log1p(-unit(mix(c.key, c.rep, s->seed ^ SALT_JITTER)));
	if (!s->should_retry || r->status < 400 || r->drop)
		r->should_retry = -1;
	else if (r->should_retry < 0)
		r->should_retry = r->status == 408 || r->status == 409 ||
		                  r->status == 429 || r->status >= 500;
	if (rv)
		r->status = 500; /* the server says "out of memory" */
	/* Every API reply has its id, as the real servers give one. */
	snprintf(r->request_id, sizeof r->request_id, "req_%016llx",
	         (unsigned long long)mix(c.key, c.rep, s->seed ^ SALT_REQID));
	tally(s, &c);
out:
	if (rv) {
		free(r->body);
		r->body = NULL;
		free(r->headers);
		r->headers = NULL;
		r->content_type = NULL;
		r->status = 500;
	}
	return rv;
}
