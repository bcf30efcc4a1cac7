/* pb-query - send each record's messages to a chat endpoint (OpenAI-
 * compatible or Anthropic), many at once, with retries, rate limits and
 * a response cache, and add the answer or the error. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../lib/pb.h"
#include "util.h"

#define DEFAULT_MODEL "gpt-4o-mini"
#define OPENAI_URL "https://api.openai.com/v1"
#define ANTHROPIC_URL "https://api.anthropic.com/v1"
#define ANTHROPIC_VERSION "2023-06-01"

static void
usage(FILE *fp, int status)
{
	fprintf(fp,
	    "usage: pb-query [-q] [-j N] [--api API] [--model M] [--temperature T]\n"
	    "                [--max-tokens N | --max-completion-tokens N] [--top-p P]\n"
	    "                [--seed N] [--stop STR]... [--body JSON] [--base-url URL]\n"
	    "                [--key-env VAR | --key-file FILE] [--timeout SEC]\n"
	    "                [--connect-timeout SEC] [--stall SEC] [--retries N]\n"
	    "                [--max-retry-wait SEC] [--rpm N] [--tpm N]\n"
	    "                [--cache DIR | --no-cache] [--refresh] [--dry-run]\n"
	    "                [--progress] [--unordered] [FILE...]\n"
	    "Send each record's messages to a chat endpoint; add \"response\" or \"error\".\n"
	    "  -j, --jobs N            requests in flight (default 8)\n"
	    "      --api API           openai (chat completions, the default) or\n"
	    "                          anthropic (messages)\n"
	    "      --model M           model name (default $PB_MODEL, else " DEFAULT_MODEL ")\n"
	    "      --temperature T     sampling temperature, always sent (default 0)\n"
	    "      --max-tokens N      send max_tokens N (anthropic: default 1024)\n"
	    "      --max-completion-tokens N\n"
	    "                          send max_completion_tokens N instead\n"
	    "      --top-p P           send top_p P\n"
	    "      --seed N            send seed N (openai only)\n"
	    "      --stop STR          stop at STR (repeatable)\n"
	    "      --body JSON         merge this JSON object into every request body\n"
	    "      --base-url URL      API base (default $OPENAI_BASE_URL or\n"
	    "                          $ANTHROPIC_BASE_URL, else the provider's)\n"
	    "      --key-env VAR       take the API key from $VAR (default\n"
	    "                          $OPENAI_API_KEY or $ANTHROPIC_API_KEY)\n"
	    "      --key-file FILE     take the API key from the first line of FILE\n"
	    "      --timeout SEC       give up on a try after SEC seconds (default 300;\n"
	    "                          0: never)\n"
	    "      --connect-timeout SEC\n"
	    "                          give up connecting after SEC seconds (default 10)\n"
	    "      --stall SEC         give up on a try that moves no byte for SEC\n"
	    "                          seconds (default 0: no limit)\n"
	    "      --retries N         tries after the first (default 5)\n"
	    "      --max-retry-wait SEC\n"
	    "                          fail instead of waiting longer than SEC when the\n"
	    "                          server asks (default 120)\n"
	    "      --rpm N             send at most N requests a minute\n"
	    "      --tpm N             send at most about N tokens a minute\n"
	    "      --cache DIR         the response cache (default\n"
	    "                          $XDG_CACHE_HOME/promptbandit)\n"
	    "      --no-cache          neither read nor write the cache\n"
	    "      --refresh           ask again and overwrite what the cache holds\n"
	    "      --dry-run           add the request each record would send; send none\n"
	    "      --progress          show progress on stderr even when not a terminal\n"
	    "  -q, --quiet             show no progress\n"
	    "      --unordered         write records as they complete, not in input order\n"
	    "  -h, --help              show this help\n"
	    "      --version           show the version\n");
	exit(status);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- reading: a thread of its own ----------------------------------- */

/* Input is read by a second thread running the one record loop, so the
 * transfers keep moving (and their timeouts stay honest) while a slow
 * producer makes getline wait.  It hands records over through a small
 * bounded queue, which is what keeps memory flat: the reader blocks when
 * the queue is full, and the queue drains only as jobs free. */
enum item_kind { IT_RECORD, IT_BAD, IT_SYS };

struct item {
	enum item_kind kind;
	cJSON *rec;       /* IT_RECORD */
	const char *file; /* names live as long as argv (or are literals) */
	long line;
	char why[PB_ERRLEN]; /* IT_BAD, IT_SYS */
};

struct feed {
	pthread_mutex_t mu;
	pthread_cond_t notfull;
	struct item *q;
	size_t cap, head, n;
	int eof;
	long lines;       /* lines in the input when counted first, else -1 */
	int count;        /* count them (for the progress display) */
	int argc;
	char **argv;
	struct pb_http *http; /* woken when the queue stops being empty */
};

static void
feed_push(struct feed *f, const struct item *it)
{
	int wake;

	pthread_mutex_lock(&f->mu);
	while (f->n == f->cap)
		pthread_cond_wait(&f->notfull, &f->mu);
	f->q[(f->head + f->n) % f->cap] = *it;
	wake = ++f->n == 1;
	pthread_mutex_unlock(&f->mu);
	if (wake)
		pb_http_wakeup(f->http);
}

static int
feed_record(cJSON *rec, const struct pb_where *at, const char *why, void *arg)
{
	struct item it = { rec ? IT_RECORD : IT_BAD, rec, at->file, at->line, "" };

	if (why)
		snprintf(it.why, sizeof it.why, "%s", why);
	feed_push(arg, &it);
	return 0;
}

/* Non-blank lines from the current offset of fd (left where it was), or
 * -1 if fd is not a regular file: a pipe cannot be read twice. */
static long
count_lines(int fd)
{
	char buf[65536];
	struct stat st;
	off_t off;
	ssize_t n, i;
	long lines = 0;
	int blank = 1;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (off = lseek(fd, 0, SEEK_CUR)) < 0)
		return -1;
	while ((n = pread(fd, buf, sizeof buf, off)) > 0) {
		for (i = 0; i < n; i++) {
			if (buf[i] == '\n') {
				lines += !blank;
				blank = 1;
			} else if (buf[i] != ' ' && buf[i] != '\t' && buf[i] != '\r') {
				blank = 0;
			}
		}
		off += n;
	}
	return n < 0 ? -1 : lines + !blank;
}

/* The total for the progress display, when every input is a file. */
static void
count_input(struct feed *f)
{
	long total = 0, n;
	int i, fd;

	for (i = 0; i < (f->argc ? f->argc : 1); i++) {
		const char *name = f->argc ? f->argv[i] : "-";
		if (!strcmp(name, "-"))
			n = count_lines(0);
		else if ((fd = open(name, O_RDONLY)) < 0)
			n = -1;
		else {
			n = count_lines(fd);
			close(fd);
		}
		if (n < 0)
			return;
		total += n;
	}
	pthread_mutex_lock(&f->mu);
	f->lines = total;
	pthread_mutex_unlock(&f->mu);
}

static void *
reader(void *arg)
{
	struct feed *f = arg;
	struct item it = { IT_SYS, NULL, NULL, 0, "" };
	char err[PB_ERRLEN];
	int i;

	if (f->count)
		count_input(f);
	for (i = 0; i < (f->argc ? f->argc : 1); i++) {
		const char *name = f->argc ? f->argv[i] : "-";
		int std = !strcmp(name, "-");
		FILE *fp = std ? stdin : fopen(name, "r");

		if (!fp) {
			snprintf(it.why, sizeof it.why, "%s: %s", name, strerror(errno));
			feed_push(f, &it);
			continue;
		}
		if (pb_jsonl_each(fp, std ? "<stdin>" : name, feed_record, f, NULL,
		                  err) < 0) {
			snprintf(it.why, sizeof it.why, "%s", err);
			feed_push(f, &it);
		}
		if (!std)
			fclose(fp);
	}
	pthread_mutex_lock(&f->mu);
	f->eof = 1;
	pthread_mutex_unlock(&f->mu);
	pb_http_wakeup(f->http);
	return NULL;
}

/* Takes the next item if there is one and room for it. */
static int
feed_pop(struct feed *f, struct item *it, int room, int *eof, long *lines)
{
	int got = 0;

	pthread_mutex_lock(&f->mu);
	if (f->n && room) {
		*it = f->q[f->head];
		f->head = (f->head + 1) % f->cap;
		f->n--;
		pthread_cond_signal(&f->notfull);
		got = 1;
	}
	*eof = f->eof && f->n == 0;
	*lines = f->lines;
	pthread_mutex_unlock(&f->mu);
	return got;
}

/* ---- the jobs ------------------------------------------------------- */

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

struct progress {
	int on, tty, color;
	double start, last;
	long done, total, requests, retries, errors, hits;
	double tokens;
};

struct query {
	struct pb_http *http;
	struct pb_llm_params par;
	const char *api_name;
	const char *url;
	const char *secret;     /* the API key, only to keep it out of output */
	int ordered, dry_run, refresh;
	struct pb_cache *cache;
	int cache_warned;
	struct pb_retry_policy retry;
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
	long failed;            /* records passed on with an error */
	long bad;               /* lines that could not be passed on */
	int sys;                /* a file could not be read */
	int dirty;              /* written since the last flush */
	struct progress pr;
};

/* ---- the retry heap ------------------------------------------------- */

static void
heap_push(struct query *q, struct job *j)
{
	size_t i = q->nheap++, p;

	while (i > 0 && q->heap[p = (i - 1) / 2]->due > j->due) {
		q->heap[i] = q->heap[p];
		i = p;
	}
	q->heap[i] = j;
}

static struct job *
heap_pop(struct query *q)
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

/* ---- progress ------------------------------------------------------- */

static void
human(char *out, size_t n, double v)
{
	if (v >= 1e9)
		snprintf(out, n, "%.1fG", v / 1e9);
	else if (v >= 1e6)
		snprintf(out, n, "%.1fM", v / 1e6);
	else if (v >= 1e4)
		snprintf(out, n, "%.1fk", v / 1e3);
	else
		snprintf(out, n, "%.0f", v);
}

/* Erases the progress line so a message can take its place. */
static void
progress_clear(struct progress *p)
{
	if (p->on && p->tty)
		fputs("\r\033[K", stderr);
}

/* Draws the one line: redrawn in place on a terminal at most ten times a
 * second; elsewhere (--progress into a file) a line a second. */
static void
progress_draw(struct progress *p, double now, int last)
{
	double el = now - p->start, rate = el > 0 ? p->requests / el : 0;
	double rec_rate = el > 0 ? p->done / el : 0;
	char tok[32], eta[32] = "", total[32] = "?";
	const char *red = p->color ? "\033[31m" : "", *off = p->color ? "\033[0m" : "";

	if (!p->on || (!last && now - p->last < (p->tty ? 0.1 : 1.0)))
		return;
	p->last = now;
	human(tok, sizeof tok, p->tokens);
	if (p->total >= 0) {
		snprintf(total, sizeof total, "%ld", p->total);
		if (!last && rec_rate > 0 && p->total > p->done) {
			long s = (long)((p->total - p->done) / rec_rate + 0.5);
			snprintf(eta, sizeof eta, "  ETA %ld:%02ld:%02ld", s / 3600,
			         s / 60 % 60, s % 60);
		}
	}
	fprintf(stderr, "%s%s: %ld/%s done  %.1f req/s  %ld retries  %s%ld errors%s"
	        "  %s tokens  %ld cached%s%s%s",
	        p->tty ? "\r" : "", argv0, p->done, total, rate, p->retries,
	        p->errors ? red : "", p->errors, p->errors ? off : "", tok, p->hits,
	        eta, p->tty ? "\033[K" : "", p->tty && !last ? "" : "\n");
	fflush(stderr);
}

/* ---- output --------------------------------------------------------- */

static void
out_record(struct query *q, struct job *j)
{
	if (pb_jsonl_write(stdout, j->rec) < 0)
		die("write error on <stdout>: %s", strerror(errno));
	q->dirty = 1;
	q->pr.done++;
	cJSON_Delete(j->rec);
	j->rec = NULL;
	free(j->body);
	j->body = NULL;
	q->freej[q->nfree++] = j;
}

static void
complete(struct query *q, struct job *j)
{
	j->done = 1;
	if (!q->ordered) {
		out_record(q, j);
		return;
	}
	while (q->next_out < q->next_seq) {
		struct job *h = q->ring[q->next_out % (long)q->njobs];
		if (!h->done)
			break;
		out_record(q, h);
		q->next_out++;
	}
}

/* The first occurrence of needle (n > 0 bytes) in the len bytes at s. */
static const char *
find(const char *s, size_t len, const char *needle, size_t n)
{
	const char *p = s, *end = s + len;

	while ((size_t)(end - p) >= n && (p = memchr(p, needle[0], (size_t)(end - p) - n + 1))) {
		if (!memcmp(p, needle, n))
			return p;
		p++;
	}
	return NULL;
}

/* Replaces every occurrence of secret in s (len bytes) by "[redacted]".
 * Returns a malloc'd copy, or NULL when secret is not there. */
static char *
redacted(const char *s, size_t len, const char *secret, size_t *outlen)
{
	size_t n = secret ? strlen(secret) : 0, o = 0, hits = 0;
	const char *p, *hit, *end = s + len;
	char *out;

	if (!n || !s)
		return NULL;
	for (p = s; (hit = find(p, (size_t)(end - p), secret, n)); p = hit + n)
		hits++;
	if (!hits)
		return NULL;
	out = emalloc(len + hits * 10 + 1);
	for (p = s; (hit = find(p, (size_t)(end - p), secret, n)); p = hit + n) {
		memcpy(out + o, p, (size_t)(hit - p));
		o += (size_t)(hit - p);
		memcpy(out + o, "[redacted]", 10);
		o += 10;
	}
	memcpy(out + o, p, (size_t)(end - p));
	o += (size_t)(end - p);
	out[o] = '\0';
	if (outlen)
		*outlen = o;
	return out;
}

/* Puts error on j's record and says so on stderr, once per record. */
static void
fail(struct query *q, struct job *j, cJSON *error)
{
	char line[PB_ERRLEN], *r;
	const char *m;

	if (!error)
		die("out of memory");
	/* A server may echo the key back; it must never reach the output. */
	if ((m = pb_json_str(error, "message")) &&
	    (r = redacted(m, strlen(m), q->secret, NULL))) {
		pb_json_set(error, "message", cJSON_CreateString(r));
		free(r);
	}
	if (j->tries)
		cJSON_AddNumberToObject(error, "attempts", j->tries);
	pb_llm_error_line(error, line);
	progress_clear(&q->pr);
	if (!strcmp(pb_json_str(error, "kind"), "input") && j->pull)
		warnx_("%s:%ld: pull %ld: %s", j->file, j->line, j->pull,
		       pb_json_str(error, "message"));
	else if (!strcmp(pb_json_str(error, "kind"), "input"))
		warnx_("%s:%ld: %s", j->file, j->line, pb_json_str(error, "message"));
	else if (j->pull)
		warnx_("pull %ld: %s%s", j->pull, line, j->tries > 1 ? " (after retries)" : "");
	else
		warnx_("%s:%ld: %s%s", j->file, j->line, line,
		       j->tries > 1 ? " (after retries)" : "");
	cJSON_AddItemToObject(j->rec, "error", error);
	q->failed++;
	q->pr.errors++;
}

/* Adds a successful response to j's record. */
static void
succeed(struct query *q, struct job *j, cJSON *resp, int cached)
{
	double t;

	cJSON_AddNumberToObject(resp, "attempts", j->tries);
	if (cached)
		cJSON_AddTrueToObject(resp, "cached");
	if (pb_json_num(resp, "usage.total_tokens", &t) == 0)
		q->pr.tokens += t;
	cJSON_AddItemToObject(j->rec, "response", resp);
}

static void
cache_warn(struct query *q, const char *err)
{
	if (q->cache_warned++)
		return;
	progress_clear(&q->pr);
	warnx_("cache: %s (going on without it)", err);
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
	if (parse_err) {
		doc = cJSON_ParseWithLength(r->resp ? r->resp : "", r->resp_len);
		*malformed = !doc;
		cJSON_Delete(doc);
		return pb_llm_error("parse", r->status, r->resp, r->resp_len, parse_err);
	}
	return pb_llm_error("http", r->status, r->resp, r->resp_len, NULL);
}

static void
on_done(struct pb_http_req *r, void *arg)
{
	struct query *q = arg;
	struct job *j = r->data;
	struct pb_retry_in in;
	char err[PB_ERRLEN], *red;
	enum pb_retry d;
	double now = now_s(), wait, t;
	cJSON *resp = NULL, *error;
	int malformed;

	if ((red = redacted(r->resp, r->resp_len, q->secret, &r->resp_len))) {
		free(r->resp);
		r->resp = red;
		r->resp_cap = r->resp_len + 1;
	}
	if ((red = redacted(r->error, strlen(r->error), q->secret, NULL))) {
		snprintf(r->error, sizeof r->error, "%s", red);
		free(red);
	}
	if (r->result == PB_HTTP_DONE && r->status >= 200 && r->status <= 299 &&
	    (resp = pb_llm_response(q->par.api, r->resp, r->resp_len, r->latency_ms,
	                            q->par.model, err))) {
		if (pb_json_num(resp, "usage.total_tokens", &t) == 0)
			pb_limiter_usage(&q->lim, j->est, t);
		pb_limiter_success(&q->lim);
		if (q->cache && j->key[0] &&
		    pb_cache_put(q->cache, j->key, r->resp, err) < 0)
			cache_warn(q, err);
		succeed(q, j, resp, 0);
		complete(q, j);
		return;
	}
	if (!(error = try_error(r, r->result == PB_HTTP_DONE && r->status >= 200 &&
	                        r->status <= 299 ? err : NULL, &malformed)))
		die("out of memory");
	in.result = r->result;
	in.status = r->status;
	in.malformed = malformed;
	in.type = pb_json_str(error, "type");
	in.code = pb_json_str(error, "code");
	in.retry_after = r->retry_after;
	in.should_retry = r->should_retry;
	in.tries = j->tries;
	d = pb_retry_decide(&q->retry, &in, pb_rng_uniform(&q->rng), &wait);
	/* The whole client slows down; but a wait too long to honour for
	 * this record is not imposed on the others either. */
	if (pb_retry_overloaded(in.status, in.type, in.code))
		pb_limiter_overload(&q->lim, j->sent_at, now,
		                    d == PB_RETRY_YES ? wait :
		                    d == PB_RETRY_EXHAUSTED && r->retry_after > 0 &&
		                    r->retry_after <= q->retry.max_wait_s ? r->retry_after : 0);
	switch (d) {
	case PB_RETRY_YES:
		cJSON_Delete(error);
		j->due = now + wait;
		heap_push(q, j);
		q->pr.retries++;
		return;
	case PB_RETRY_TOO_LONG: {
		char msg[PB_ERRLEN];
		snprintf(msg, sizeof msg, "the server asked to wait %g s, more than "
		         "--max-retry-wait %g: %s", wait, q->retry.max_wait_s,
		         pb_json_str(error, "message"));
		pb_json_set(error, "message", cJSON_CreateString(msg));
		break;
	}
	case PB_RETRY_NO:
	case PB_RETRY_EXHAUSTED:
		break;
	}
	fail(q, j, error);
	complete(q, j);
}

/* ---- starting records ----------------------------------------------- */

/* Which draw of a request this record is, for the cache key: at
 * temperature 0 every draw is the same one; otherwise the record's
 * "sample", else its "pull", keeps distinct pulls apart. */
static long
sample_of(const cJSON *rec, const cJSON *body)
{
	double t, v;

	if (pb_json_num(body, "temperature", &t) == 0 && t == 0)
		return 0;
	if (pb_json_num(rec, "sample", &v) == 0 && fabs(v) < 9e15)
		return (long)v;
	if (pb_json_num(rec, "pull", &v) == 0 && fabs(v) < 9e15)
		return (long)v;
	return 0;
}

/* The record with the request it would send, for --dry-run. */
static void
dry_run(struct query *q, struct job *j, const cJSON *body)
{
	cJSON *req = cJSON_CreateObject(), *copy = cJSON_Duplicate(body, 1);

	if (!req || !copy || !cJSON_AddStringToObject(req, "url", q->url))
		die("out of memory");
	cJSON_AddItemToObject(req, "body", copy);
	cJSON_AddNumberToObject(req, "est_prompt_tokens", (double)pb_llm_estimate(j->rec));
	cJSON_AddItemToObject(j->rec, "request", req);
}

/* Starts one record: at once its input error, its dry run or its cached
 * answer; else it joins the pending line. */
static void
start(struct query *q, struct item *it)
{
	struct job *j = q->freej[--q->nfree];
	char err[PB_ERRLEN], *value = NULL;
	cJSON *body, *resp;
	double pull;
	int hit;

	j->rec = it->rec;
	j->file = it->file;
	j->line = it->line;
	j->pull = pb_json_num(it->rec, "pull", &pull) == 0 && pull >= 1 &&
	          pull < 9e15 ? (long)pull : 0;
	j->seq = q->next_seq++;
	j->done = 0;
	j->tries = 0;
	j->key[0] = '\0';
	j->next = NULL;
	q->ring[j->seq % (long)q->njobs] = j;
	/* A record from an earlier pass gets a fresh outcome, not two. */
	cJSON_DeleteItemFromObjectCaseSensitive(j->rec, "response");
	cJSON_DeleteItemFromObjectCaseSensitive(j->rec, "error");
	cJSON_DeleteItemFromObjectCaseSensitive(j->rec, "request");
	if (pb_llm_check(j->rec, err) < 0) {
		fail(q, j, pb_llm_error("input", 0, NULL, 0, err));
		complete(q, j);
		return;
	}
	if (!(body = pb_llm_body(j->rec, &q->par)))
		die("out of memory");
	if (q->dry_run) {
		dry_run(q, j, body);
		cJSON_Delete(body);
		complete(q, j);
		return;
	}
	if (q->cache) {
		pb_cache_key(q->url, q->api_name, body, sample_of(j->rec, body), j->key);
		hit = q->refresh ? 0 : pb_cache_get(q->cache, j->key, &value, err);
		if (hit < 0)
			cache_warn(q, err);
		/* An entry that no longer parses as an answer is asked again
		 * (and replaced). */
		if (hit == 1 && (resp = pb_llm_response(q->par.api, value, strlen(value),
		                                        0, q->par.model, err))) {
			free(value);
			cJSON_Delete(body);
			q->pr.hits++;
			succeed(q, j, resp, 1);
			complete(q, j);
			return;
		}
		free(value);
	}
	j->body = cJSON_PrintUnformatted(body);
	cJSON_Delete(body);
	if (!j->body)
		die("out of memory");
	j->req.url = q->url;
	j->req.body = j->body;
	j->req.body_len = strlen(j->body);
	j->req.attempt = 0;
	j->req.data = j;
	j->est = (double)pb_llm_estimate(j->rec) +
	         (double)(q->par.max_tokens ? q->par.max_tokens : q->par.max_completion_tokens);
	if (q->pend_tail)
		q->pend_tail->next = j;
	else
		q->pend = j;
	q->pend_tail = j;
}

static void
take(struct query *q, struct item *it)
{
	switch (it->kind) {
	case IT_RECORD:
		start(q, it);
		break;
	case IT_BAD:
		progress_clear(&q->pr);
		warnx_("%s:%ld: %s", it->file, it->line, it->why);
		q->bad++;
		q->pr.done++;
		break;
	case IT_SYS:
		progress_clear(&q->pr);
		warnx_("%s", it->why);
		q->sys = 1;
		break;
	}
}

/* Sends what the slots, the pause and the buckets allow: due retries
 * first, then the pending line.  Returns the time something may next be
 * sent (or a retry falls due), or HUGE_VAL if nothing waits. */
static double
dispatch(struct query *q, double now)
{
	char err[PB_ERRLEN];
	struct job *j;
	double w;

	for (;;) {
		int retry = q->nheap && q->heap[0]->due <= now;
		j = retry ? q->heap[0] : q->pend;
		if (!j)
			return q->nheap ? q->heap[0]->due : HUGE_VAL;
		if (pb_http_in_flight(q->http) >= pb_limiter_slots(&q->lim) ||
		    pb_http_free_slots(q->http) <= 0)
			return HUGE_VAL; /* a slot frees in on_done */
		if ((w = pb_limiter_wait(&q->lim, j->est, now)) > 0)
			return now + w;
		if (retry)
			heap_pop(q);
		else if (!(q->pend = j->next))
			q->pend_tail = NULL;
		pb_limiter_take(&q->lim, j->est, now);
		j->req.attempt = j->tries++;
		j->sent_at = now;
		q->pr.requests++;
		if (pb_http_submit(q->http, &j->req, err) < 0)
			die("%s", err);
	}
}

static void
flush_out(struct query *q)
{
	if (q->dirty && fflush(stdout) == EOF)
		die("write error on <stdout>: %s", strerror(errno));
	q->dirty = 0;
}

/* The loop: take what the free jobs allow, send what may go, move the
 * transfers, and flush the output only when about to wait, so a pipe
 * downstream sees records promptly without a write per record at full
 * speed. */
static void
run(struct query *q, struct feed *f)
{
	char err[PB_ERRLEN];
	struct item it;
	int eof, n, moved, ms;
	long lines, taken = 0;
	double now, next;

	for (;;) {
		moved = 0;
		while (feed_pop(f, &it, q->nfree > 0, &eof, &lines)) {
			taken += it.kind != IT_SYS;
			take(q, &it);
			moved++;
		}
		q->pr.total = eof ? taken : lines;
		now = now_s();
		next = dispatch(q, now);
		if (eof && q->nfree == q->njobs)
			break;
		if ((n = pb_http_poll(q->http, 0, on_done, q, err)) < 0)
			die("%s", err);
		progress_draw(&q->pr, now_s(), 0);
		if (n || moved)
			continue;
		flush_out(q);
		now = now_s();
		ms = 1000;
		if (next - now < 1.0)
			ms = next <= now ? 0 : (int)ceil((next - now) * 1000);
		if (q->pr.on && ms > 100)
			ms = 100;
		if (ms > 0 && pb_http_poll(q->http, ms, on_done, q, err) < 0)
			die("%s", err);
	}
	flush_out(q);
	if (q->pr.on) {
		q->pr.total = taken;
		progress_draw(&q->pr, now_s(), 1);
	}
}

/* ---- setting up ----------------------------------------------------- */

/* The API key: the first line of keyfile, else $keyenv, else the API's
 * variable; NULL if none (local servers want none).  Messages name where
 * the key was looked for, never the key. */
static char *
api_key(const char *keyfile, const char *keyenv, const char *dflt)
{
	char *key = NULL, *p;
	size_t cap = 0;
	ssize_t len;
	FILE *fp;

	if (keyfile) {
		if (!(fp = fopen(keyfile, "r")))
			die("%s: %s", keyfile, strerror(errno));
		len = getline(&key, &cap, fp);
		fclose(fp);
		if (len < 0) {
			free(key);
			die("%s: no key on the first line", keyfile);
		}
	} else {
		const char *v = getenv(keyenv ? keyenv : dflt);
		if (!v || !*v) {
			if (keyenv)
				die("--key-env: $%s is not set", keyenv);
			return NULL;
		}
		key = estrdup(v);
	}
	for (p = key + strlen(key); p > key && (p[-1] == '\n' || p[-1] == '\r' ||
	     p[-1] == ' ' || p[-1] == '\t'); )
		*--p = '\0';
	for (p = key; *p == ' ' || *p == '\t'; p++)
		;
	memmove(key, p, strlen(p) + 1);
	if (!*key)
		die("%s: no key on the first line", keyfile ? keyfile : keyenv);
	for (p = key; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			die("the API key in %s has spaces or control characters",
			    keyfile ? keyfile : keyenv ? keyenv : dflt);
	return key;
}

/* BASE + the API's path.  An Anthropic base with no path at all (the
 * way Anthropic's own clients take ANTHROPIC_BASE_URL) gets /v1. */
static char *
endpoint(const char *base, enum pb_llm_api api)
{
	const char *path = pb_llm_path(api), *v1 = "", *host;
	size_t n;
	char *url;

	if (!base || !*base)
		base = getenv(api == PB_API_ANTHROPIC ? "ANTHROPIC_BASE_URL" : "OPENAI_BASE_URL");
	if (!base || !*base)
		base = api == PB_API_ANTHROPIC ? ANTHROPIC_URL : OPENAI_URL;
	if (strncmp(base, "http://", 7) && strncmp(base, "https://", 8))
		die("base URL '%s' is not http:// or https://", base);
	for (n = strlen(base); n > 0 && base[n - 1] == '/'; n--)
		;
	host = strstr(base, "//") + 2;
	if (api == PB_API_ANTHROPIC && !memchr(host, '/', n - (size_t)(host - base)))
		v1 = "/v1";
	url = emalloc(n + strlen(v1) + strlen(path) + 1);
	memcpy(url, base, n);
	strcpy(url + n, v1);
	strcat(url, path);
	return url;
}

int
main(int argc, char **argv)
{
	enum { O_MODEL = 256, O_TEMP, O_MAXTOK, O_MAXCTOK, O_TOPP, O_SEED, O_STOP,
	       O_BODY, O_API, O_BASE, O_KEYENV, O_KEYFILE, O_TIMEOUT, O_CTIMEOUT,
	       O_STALL, O_RETRIES, O_MAXWAIT, O_RPM, O_TPM, O_CACHE, O_NOCACHE,
	       O_REFRESH, O_DRYRUN, O_PROGRESS, O_UNORDERED, O_VERSION };
	static const struct option opts[] = {
		{ "jobs", required_argument, NULL, 'j' },
		{ "api", required_argument, NULL, O_API },
		{ "model", required_argument, NULL, O_MODEL },
		{ "temperature", required_argument, NULL, O_TEMP },
		{ "max-tokens", required_argument, NULL, O_MAXTOK },
		{ "max-completion-tokens", required_argument, NULL, O_MAXCTOK },
		{ "top-p", required_argument, NULL, O_TOPP },
		{ "seed", required_argument, NULL, O_SEED },
		{ "stop", required_argument, NULL, O_STOP },
		{ "body", required_argument, NULL, O_BODY },
		{ "base-url", required_argument, NULL, O_BASE },
		{ "key-env", required_argument, NULL, O_KEYENV },
		{ "key-file", required_argument, NULL, O_KEYFILE },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "connect-timeout", required_argument, NULL, O_CTIMEOUT },
		{ "stall", required_argument, NULL, O_STALL },
		{ "retries", required_argument, NULL, O_RETRIES },
		{ "max-retry-wait", required_argument, NULL, O_MAXWAIT },
		{ "rpm", required_argument, NULL, O_RPM },
		{ "tpm", required_argument, NULL, O_TPM },
		{ "cache", required_argument, NULL, O_CACHE },
		{ "no-cache", no_argument, NULL, O_NOCACHE },
		{ "refresh", no_argument, NULL, O_REFRESH },
		{ "dry-run", no_argument, NULL, O_DRYRUN },
		{ "progress", no_argument, NULL, O_PROGRESS },
		{ "quiet", no_argument, NULL, 'q' },
		{ "unordered", no_argument, NULL, O_UNORDERED },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, O_VERSION },
		{ 0 }
	};
	const char *base = NULL, *keyenv = NULL, *keyfile = NULL, *cachedir = NULL;
	const char **stops = NULL;
	double timeout = 300, ctimeout = 10, stall = 0, rpm = 0, tpm = 0;
	long jobs = 8;
	size_t nstops = 0;
	int ch, unordered = 0, nocache = 0, progress = 0, quiet = 0;
	struct query q = { 0 };
	struct feed f = { 0 };
	struct pb_http_opts ho = { 0 };
	const char *headers[4] = { "Content-Type: application/json", NULL, NULL, NULL };
	char err[PB_ERRLEN], *key = NULL, *auth = NULL, *url, *dir = NULL;
	cJSON *extra = NULL;
	const char *nc, *term;
	pthread_t tid;
	size_t i;

	setprog(argv[0]);
	q.par.model = getenv("PB_MODEL");
	if (!q.par.model || !*q.par.model)
		q.par.model = DEFAULT_MODEL;
	q.api_name = "openai";
	q.retry.retries = 5;
	q.retry.base_s = PB_RETRY_BASE;
	q.retry.cap_s = PB_RETRY_CAP;
	q.retry.max_wait_s = 120;
	while ((ch = getopt_long(argc, argv, "j:qh", opts, NULL)) != -1) {
		switch (ch) {
		case 'j': jobs = intarg("-j", optarg, 1, 1024); break;
		case O_API:
			if (!strcmp(optarg, "openai"))
				q.par.api = PB_API_OPENAI;
			else if (!strcmp(optarg, "anthropic"))
				q.par.api = PB_API_ANTHROPIC;
			else
				die_status(PB_EXIT_USAGE, "--api: '%s' is neither openai nor anthropic",
				           optarg);
			q.api_name = q.par.api == PB_API_ANTHROPIC ? "anthropic" : "openai";
			break;
		case O_MODEL:
			if (!*optarg)
				die("--model: empty model name");
			q.par.model = optarg;
			break;
		case O_TEMP: q.par.temperature = numarg("--temperature", optarg, 0, 2); break;
		case O_MAXTOK: q.par.max_tokens = intarg("--max-tokens", optarg, 1, 100000000); break;
		case O_MAXCTOK:
			q.par.max_completion_tokens = intarg("--max-completion-tokens", optarg,
			                                     1, 100000000);
			break;
		case O_TOPP:
			q.par.top_p = numarg("--top-p", optarg, 0, 1);
			q.par.has_top_p = 1;
			break;
		case O_SEED:
			q.par.seed = intarg("--seed", optarg, 0, 9007199254740991L);
			q.par.has_seed = 1;
			break;
		case O_STOP:
			if (!*optarg)
				die("--stop: empty stop string");
			stops = erealloc(stops, (nstops + 2) * sizeof *stops);
			stops[nstops++] = optarg;
			stops[nstops] = NULL;
			break;
		case O_BODY:
			cJSON_Delete(extra);
			if (!(extra = cJSON_Parse(optarg)) || !cJSON_IsObject(extra))
				die("--body: not a JSON object: %s", optarg);
			break;
		case O_BASE: base = optarg; break;
		case O_KEYENV: keyenv = optarg; break;
		case O_KEYFILE: keyfile = optarg; break;
		case O_TIMEOUT: timeout = numarg("--timeout", optarg, 0, 1e6); break;
		case O_CTIMEOUT: ctimeout = numarg("--connect-timeout", optarg, 0, 1e6); break;
		case O_STALL: stall = numarg("--stall", optarg, 0, 1e6); break;
		case O_RETRIES: q.retry.retries = (int)intarg("--retries", optarg, 0, 100); break;
		case O_MAXWAIT: q.retry.max_wait_s = numarg("--max-retry-wait", optarg, 0, 1e6); break;
		case O_RPM: rpm = numarg("--rpm", optarg, 0, 1e9); break;
		case O_TPM: tpm = numarg("--tpm", optarg, 0, 1e12); break;
		case O_CACHE:
			if (!*optarg)
				die("--cache: empty folder name");
			cachedir = optarg;
			break;
		case O_NOCACHE: nocache = 1; break;
		case O_REFRESH: q.refresh = 1; break;
		case O_DRYRUN: q.dry_run = 1; break;
		case O_PROGRESS: progress = 1; break;
		case 'q': quiet = 1; break;
		case O_UNORDERED: unordered = 1; break;
		case 'h': usage(stdout, PB_EXIT_OK); break;
		case O_VERSION: version(); break;
		default: usage(stderr, PB_EXIT_USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	if (keyenv && keyfile)
		die("--key-env and --key-file go alone");
	if (q.par.max_tokens && q.par.max_completion_tokens)
		die("--max-tokens and --max-completion-tokens go alone");
	if (q.par.api == PB_API_ANTHROPIC && q.par.has_seed)
		die("--seed: Anthropic's API takes no seed");
	if (cachedir && nocache)
		die("--cache and --no-cache go alone");
	if (progress && quiet)
		die("--progress and -q go alone");
	q.par.stop = stops;
	q.par.extra = extra;
	url = endpoint(base, q.par.api);
	if (!q.dry_run && (key = api_key(keyfile, keyenv, q.par.api == PB_API_ANTHROPIC ?
	                                 "ANTHROPIC_API_KEY" : "OPENAI_API_KEY"))) {
		const char *h = q.par.api == PB_API_ANTHROPIC ? "x-api-key: "
		                                               : "Authorization: Bearer ";
		auth = emalloc(strlen(key) + strlen(h) + 1);
		strcpy(auth, h);
		strcat(auth, key);
		headers[1] = auth;
	}
	if (q.par.api == PB_API_ANTHROPIC)
		headers[auth ? 2 : 1] = "anthropic-version: " ANTHROPIC_VERSION;
	if (!q.dry_run && !nocache) {
		if (!cachedir && !(dir = pb_cache_default_dir(err)))
			warnx_("cache: %s (going on without it)", err);
		else if (!(q.cache = pb_cache_open(cachedir ? cachedir : dir, err))) {
			if (cachedir)
				die("%s", err);
			warnx_("cache: %s (going on without it)", err);
		}
	}

	ho.parallel = (int)jobs;
	ho.timeout_ms = (long)(timeout * 1000);
	ho.connect_timeout_ms = (long)(ctimeout * 1000);
	ho.stall_ms = (long)(stall * 1000);
	ho.headers = headers;
	if (!(q.http = pb_http_new(&ho, err)))
		die("%s", err);
	if (auth) {
		explicit_bzero(auth, strlen(auth)); /* libcurl has its copy */
		free(auth);
	}
	q.url = url;
	q.secret = key;
	q.ordered = !unordered;
	pb_rng_seed(&q.rng, (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^
	            (uint64_t)(now_s() * 1e9));
	pb_limiter_init(&q.lim, (int)jobs, rpm, tpm, now_s());

	/* A window of 4 x jobs records lets the other slots run on while a
	 * request is slower than the rest or waits for its retry; in input
	 * order it is also the most that is held back for the order. */
	q.njobs = (size_t)jobs * 4;
	q.jobs = ecalloc(q.njobs, sizeof *q.jobs);
	q.freej = ecalloc(q.njobs, sizeof *q.freej);
	q.ring = ecalloc(q.njobs, sizeof *q.ring);
	q.heap = ecalloc(q.njobs, sizeof *q.heap);
	for (i = 0; i < q.njobs; i++)
		q.freej[q.nfree++] = &q.jobs[q.njobs - 1 - i];

	q.pr.tty = isatty(STDERR_FILENO);
	q.pr.on = !quiet && (progress || q.pr.tty);
	nc = getenv("NO_COLOR");
	term = getenv("TERM");
	q.pr.color = q.pr.tty && !(nc && *nc) && !(term && !strcmp(term, "dumb"));
	q.pr.start = q.pr.last = now_s();
	q.pr.total = -1;

	f.cap = (size_t)jobs;
	f.q = ecalloc(f.cap, sizeof *f.q);
	f.argc = argc;
	f.argv = argv;
	f.http = q.http;
	f.lines = -1;
	f.count = q.pr.on;
	pthread_mutex_init(&f.mu, NULL);
	pthread_cond_init(&f.notfull, NULL);
	if ((errno = pthread_create(&tid, NULL, reader, &f)))
		die("cannot start the reader: %s", strerror(errno));
	run(&q, &f);
	pthread_join(tid, NULL);

	pb_http_free(q.http);
	for (i = 0; i < q.njobs; i++)
		pb_http_req_free(&q.jobs[i].req);
	free(q.jobs);
	free(q.freej);
	free(q.ring);
	free(q.heap);
	free(f.q);
	pthread_mutex_destroy(&f.mu);
	pthread_cond_destroy(&f.notfull);
	pb_cache_close(q.cache);
	free(dir);
	free(url);
	free(stops);
	cJSON_Delete(extra);
	if (key) {
		explicit_bzero(key, strlen(key));
		free(key);
	}
	if (fshut(stdout, "<stdout>"))
		return PB_EXIT_USAGE;
	if (q.sys)
		return PB_EXIT_USAGE;
	return q.failed || q.bad ? PB_EXIT_RECORDS : PB_EXIT_OK;
}
