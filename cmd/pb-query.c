/* pb-query - send each record's messages to an OpenAI-compatible chat
 * completions endpoint, many at once, and add the answer or the error. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/pb.h"
#include "util.h"

#define DEFAULT_URL "https://api.openai.com/v1"
#define DEFAULT_MODEL "gpt-4o-mini"

static void
usage(FILE *fp, int status)
{
	fprintf(fp,
	    "usage: pb-query [-j N] [--model M] [--temperature T] [--max-tokens N] [--seed N]\n"
	    "                [--base-url URL] [--key-env VAR | --key-file FILE] [--timeout SEC]\n"
	    "                [--connect-timeout SEC] [--unordered] [FILE...]\n"
	    "Send each record's messages to a chat-completions endpoint; add \"response\"\n"
	    "or \"error\".\n"
	    "  -j, --jobs N            requests in flight (default 8)\n"
	    "      --model M           model name (default $PB_MODEL, else " DEFAULT_MODEL ")\n"
	    "      --temperature T     sampling temperature, always sent (default 0)\n"
	    "      --max-tokens N      send max_tokens N\n"
	    "      --seed N            send seed N\n"
	    "      --base-url URL      API base (default $OPENAI_BASE_URL, else\n"
	    "                          " DEFAULT_URL ")\n"
	    "      --key-env VAR       take the API key from $VAR (default $OPENAI_API_KEY)\n"
	    "      --key-file FILE     take the API key from the first line of FILE\n"
	    "      --timeout SEC       give up on a request after SEC seconds (default 300;\n"
	    "                          0: never)\n"
	    "      --connect-timeout SEC\n"
	    "                          give up connecting after SEC seconds (default 10)\n"
	    "      --unordered         write records as they complete, not in input order\n"
	    "  -h, --help              show this help\n"
	    "      --version           show the version\n");
	exit(status);
}

/* ---- reading: a thread of its own ----------------------------------- */

/* Input is read by a second thread running the one record loop, so the
 * transfers keep moving (and their timeouts stay honest) while a slow
 * producer makes getline wait.  It hands records over through a small
 * bounded queue, which is what keeps memory flat: the reader blocks when
 * the queue is full, and the queue drains only as request slots free. */
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

static void *
reader(void *arg)
{
	struct feed *f = arg;
	struct item it = { IT_SYS, NULL, NULL, 0, "" };
	char err[PB_ERRLEN];
	int i;

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

/* Takes the next item if there is one and a record could start now. */
static int
feed_pop(struct feed *f, struct item *it, int room, int *eof)
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
	pthread_mutex_unlock(&f->mu);
	return got;
}

/* ---- querying ------------------------------------------------------- */

struct job {
	struct pb_http_req req; /* req.data points back here */
	cJSON *rec;
	char *body;
	const char *file;
	long line;
	long pull;              /* 0: the record has none */
	long seq;
	int done;
};

struct query {
	struct pb_http *http;
	struct pb_llm_params par;
	const char *url;
	const char *secret;     /* the API key, only to keep it out of messages */
	int ordered;
	/* Every record from intake to output holds a job.  In input order,
	 * the jobs are the reorder window: ring[seq % njobs] is record seq,
	 * and the records outstanding are always seq next_out..next_seq-1. */
	struct job *jobs, **freej, **ring;
	size_t njobs, nfree;
	long next_seq, next_out;
	long failed;            /* records passed on with an error */
	long bad;               /* lines that could not be passed on */
	int sys;                /* a file could not be read */
	int dirty;              /* written since the last flush */
};

static void
out_record(struct query *q, struct job *j)
{
	if (pb_jsonl_write(stdout, j->rec) < 0)
		die("write error on <stdout>: %s", strerror(errno));
	q->dirty = 1;
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

/* Replaces every occurrence of secret in error.message, in case a server
 * echoes the key back: it must never reach the output or stderr. */
static void
redact(cJSON *error, const char *secret)
{
	const char *m = pb_json_str(error, "message"), *p, *hit;
	size_t n = secret ? strlen(secret) : 0, len = 0;
	char *s;

	if (!n || !m || !strstr(m, secret))
		return;
	s = emalloc(strlen(m) * 10 + 1); /* "[redacted]" per byte at worst */
	for (p = m; (hit = strstr(p, secret)); p = hit + n) {
		memcpy(s + len, p, (size_t)(hit - p));
		len += (size_t)(hit - p);
		memcpy(s + len, "[redacted]", 10);
		len += 10;
	}
	strcpy(s + len, p);
	pb_json_set(error, "message", cJSON_CreateString(s));
	free(s);
}

/* Puts error on j's record and says so on stderr, once per record. */
static void
fail(struct query *q, struct job *j, cJSON *error)
{
	char line[PB_ERRLEN];

	if (!error)
		die("out of memory");
	redact(error, q->secret);
	pb_llm_error_line(error, line);
	if (!strcmp(pb_json_str(error, "kind"), "input") && j->pull)
		warnx_("%s:%ld: pull %ld: %s", j->file, j->line, j->pull,
		       pb_json_str(error, "message"));
	else if (!strcmp(pb_json_str(error, "kind"), "input"))
		warnx_("%s:%ld: %s", j->file, j->line, pb_json_str(error, "message"));
	else if (j->pull)
		warnx_("pull %ld: %s", j->pull, line);
	else
		warnx_("%s:%ld: %s", j->file, j->line, line);
	cJSON_AddItemToObject(j->rec, "error", error);
	q->failed++;
}

static void
on_done(struct pb_http_req *r, void *arg)
{
	struct query *q = arg;
	struct job *j = r->data;
	char err[PB_ERRLEN];
	cJSON *resp;

	if (r->result == PB_HTTP_CONNECT)
		fail(q, j, pb_llm_error("connect", 0, NULL, 0, r->error));
	else if (r->result == PB_HTTP_TIMEOUT)
		fail(q, j, pb_llm_error("timeout", 0, NULL, 0, r->error));
	else if (r->status < 200 || r->status > 299)
		fail(q, j, pb_llm_error("http", r->status, r->resp, r->resp_len, NULL));
	else if (!(resp = pb_llm_response(r->resp, r->resp_len, r->latency_ms,
	                                  q->par.model, err)))
		fail(q, j, pb_llm_error("parse", r->status, r->resp, r->resp_len, err));
	else
		cJSON_AddItemToObject(j->rec, "response", resp);
	complete(q, j);
}

/* Starts one record: its request, or at once its input error. */
static void
start(struct query *q, struct item *it)
{
	struct job *j = q->freej[--q->nfree];
	char err[PB_ERRLEN];
	double pull;

	j->rec = it->rec;
	j->file = it->file;
	j->line = it->line;
	j->pull = pb_json_num(it->rec, "pull", &pull) == 0 && pull >= 1 &&
	          pull < 9e15 ? (long)pull : 0;
	j->seq = q->next_seq++;
	j->done = 0;
	q->ring[j->seq % (long)q->njobs] = j;
	/* A record from an earlier pass gets a fresh outcome, not two. */
	cJSON_DeleteItemFromObjectCaseSensitive(j->rec, "response");
	cJSON_DeleteItemFromObjectCaseSensitive(j->rec, "error");
	if (pb_llm_check(j->rec, err) < 0) {
		fail(q, j, pb_llm_error("input", 0, NULL, 0, err));
		complete(q, j);
		return;
	}
	if (!(j->body = pb_llm_request(j->rec, &q->par, &j->req.body_len)))
		die("out of memory");
	j->req.url = q->url;
	j->req.body = j->body;
	j->req.attempt = 0;
	j->req.data = j;
	if (pb_http_submit(q->http, &j->req, err) < 0)
		die("%s", err);
}

static void
take(struct query *q, struct item *it)
{
	switch (it->kind) {
	case IT_RECORD:
		start(q, it);
		break;
	case IT_BAD:
		warnx_("%s:%ld: %s", it->file, it->line, it->why);
		q->bad++;
		break;
	case IT_SYS:
		warnx_("%s", it->why);
		q->sys = 1;
		break;
	}
}

static void
flush_out(struct query *q)
{
	if (q->dirty && fflush(stdout) == EOF)
		die("write error on <stdout>: %s", strerror(errno));
	q->dirty = 0;
}

/* The loop: start what the free slots allow, move the transfers, and
 * flush the output only when about to wait, so a pipe downstream sees
 * records promptly without a write per record at full speed. */
static void
run(struct query *q, struct feed *f)
{
	char err[PB_ERRLEN];
	struct item it;
	int eof, n, started;

	for (;;) {
		started = 0;
		while (feed_pop(f, &it, q->nfree > 0 && pb_http_free_slots(q->http) > 0,
		                &eof)) {
			take(q, &it);
			started++;
		}
		if (eof && pb_http_in_flight(q->http) == 0)
			break;
		if ((n = pb_http_poll(q->http, 0, on_done, q, err)) < 0)
			die("%s", err);
		if (n || started)
			continue;
		flush_out(q);
		if (pb_http_poll(q->http, 1000, on_done, q, err) < 0)
			die("%s", err);
	}
	flush_out(q);
}

/* ---- setting up ----------------------------------------------------- */

/* The API key: the first line of keyfile, else $keyenv, else
 * $OPENAI_API_KEY; NULL if none (local servers want none).  Messages
 * name where the key was looked for, never the key. */
static char *
api_key(const char *keyfile, const char *keyenv)
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
		if (len < 0)
			die("%s: no key on the first line", keyfile);
	} else {
		const char *v = getenv(keyenv ? keyenv : "OPENAI_API_KEY");
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
			    keyfile ? keyfile : keyenv ? keyenv : "OPENAI_API_KEY");
	return key;
}

static char *
endpoint(const char *base)
{
	size_t n;
	char *url;

	if (!base || !*base)
		base = getenv("OPENAI_BASE_URL");
	if (!base || !*base)
		base = DEFAULT_URL;
	if (strncmp(base, "http://", 7) && strncmp(base, "https://", 8))
		die("base URL '%s' is not http:// or https://", base);
	for (n = strlen(base); n > 0 && base[n - 1] == '/'; n--)
		;
	url = emalloc(n + sizeof "/chat/completions");
	memcpy(url, base, n);
	strcpy(url + n, "/chat/completions");
	return url;
}

int
main(int argc, char **argv)
{
	enum { O_MODEL = 256, O_TEMP, O_MAXTOK, O_SEED, O_BASE, O_KEYENV,
	       O_KEYFILE, O_TIMEOUT, O_CTIMEOUT, O_UNORDERED, O_VERSION };
	static const struct option opts[] = {
		{ "jobs", required_argument, NULL, 'j' },
		{ "model", required_argument, NULL, O_MODEL },
		{ "temperature", required_argument, NULL, O_TEMP },
		{ "max-tokens", required_argument, NULL, O_MAXTOK },
		{ "seed", required_argument, NULL, O_SEED },
		{ "base-url", required_argument, NULL, O_BASE },
		{ "key-env", required_argument, NULL, O_KEYENV },
		{ "key-file", required_argument, NULL, O_KEYFILE },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "connect-timeout", required_argument, NULL, O_CTIMEOUT },
		{ "unordered", no_argument, NULL, O_UNORDERED },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, O_VERSION },
		{ 0 }
	};
	const char *base = NULL, *keyenv = NULL, *keyfile = NULL;
	double timeout = 300, ctimeout = 10;
	long jobs = 8;
	int ch, unordered = 0;
	struct query q = { 0 };
	struct feed f = { 0 };
	struct pb_http_opts ho = { 0 };
	const char *headers[3] = { "Content-Type: application/json", NULL, NULL };
	char err[PB_ERRLEN], *key, *auth = NULL, *url;
	pthread_t tid;
	size_t i;

	setprog(argv[0]);
	q.par.model = getenv("PB_MODEL");
	if (!q.par.model || !*q.par.model)
		q.par.model = DEFAULT_MODEL;
	while ((ch = getopt_long(argc, argv, "j:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'j': jobs = intarg("-j", optarg, 1, 1024); break;
		case O_MODEL:
			if (!*optarg)
				die("--model: empty model name");
			q.par.model = optarg;
			break;
		case O_TEMP: q.par.temperature = numarg("--temperature", optarg, 0, 2); break;
		case O_MAXTOK: q.par.max_tokens = intarg("--max-tokens", optarg, 1, 100000000); break;
		case O_SEED:
			q.par.seed = intarg("--seed", optarg, 0, 9007199254740991L);
			q.par.has_seed = 1;
			break;
		case O_BASE: base = optarg; break;
		case O_KEYENV: keyenv = optarg; break;
		case O_KEYFILE: keyfile = optarg; break;
		case O_TIMEOUT: timeout = numarg("--timeout", optarg, 0, 1e6); break;
		case O_CTIMEOUT: ctimeout = numarg("--connect-timeout", optarg, 0, 1e6); break;
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
	url = endpoint(base);
	if ((key = api_key(keyfile, keyenv))) {
		auth = emalloc(strlen(key) + sizeof "Authorization: Bearer ");
		strcpy(auth, "Authorization: Bearer ");
		strcat(auth, key);
		headers[1] = auth;
	}

	ho.parallel = (int)jobs;
	ho.timeout_ms = (long)(timeout * 1000);
	ho.connect_timeout_ms = (long)(ctimeout * 1000);
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
	/* In input order a request slower than the rest holds back the output
	 * of the others; a window of 4 x jobs records lets the others run on
	 * meanwhile.  Unordered, a record is written as it completes. */
	q.njobs = (size_t)jobs * (unordered ? 1 : 4);
	q.jobs = ecalloc(q.njobs, sizeof *q.jobs);
	q.freej = ecalloc(q.njobs, sizeof *q.freej);
	q.ring = ecalloc(q.njobs, sizeof *q.ring);
	for (i = 0; i < q.njobs; i++)
		q.freej[q.nfree++] = &q.jobs[q.njobs - 1 - i];

	f.cap = (size_t)jobs;
	f.q = ecalloc(f.cap, sizeof *f.q);
	f.argc = argc;
	f.argv = argv;
	f.http = q.http;
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
	free(f.q);
	pthread_mutex_destroy(&f.mu);
	pthread_cond_destroy(&f.notfull);
	free(url);
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
