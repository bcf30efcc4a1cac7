/* pb-sim - a simulated OpenAI- and Anthropic-compatible model server on
 * 127.0.0.1, for tests, demos and benchmarks.  The model, its faults and
 * its statistics are sim/world.c; this file is the options and the
 * libmicrohttpd glue: request bodies, the timer that holds replies back,
 * dropped connections and a clean shutdown. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "../cmd/util.h"
#include "sim.h"

#define MAXBODY (16L << 20) /* larger request bodies get 413 */

static void
usage(FILE *fp, int status)
{
	fprintf(fp,
	    "usage: pb-sim --tasks FILE [--world FILE] [--seed N] [--latency MS]\n"
	    "              [--jitter MS] [--port N] [--fault KIND:RATE[,KIND:RATE...]]\n"
	    "              [--retry-after SEC] [--slow SEC] [--should-retry-header]\n"
	    "              [--error-rate P] [--error-status CODE] [--api-key KEY]\n"
	    "              [--stats-file FILE] [--threads N] [--echo-headers]\n"
	    "              [--rate-limit N/SEC]\n"
	    "Serve a simulated OpenAI- and Anthropic-compatible model on 127.0.0.1\n"
	    "until SIGTERM.\n"
	    "      --tasks FILE        the tasks it knows (JSON lines; required)\n"
	    "      --world FILE        skills of prompts (JSON lines {\"match\",\"skill\"})\n"
	    "      --seed N            seed of every simulated choice (default 1)\n"
	    "      --latency MS        delay each reply by MS milliseconds (default 0)\n"
	    "      --jitter MS         plus an exponential draw of mean MS (default 0)\n"
	    "      --port N            port to listen on; 0 picks a free one (default 0)\n"
	    "      --fault KIND:RATE   fail this fraction of chat requests with KIND: 429, 500,\n"
	    "                          502, 503, 504, 529, quota, auth, invalid, malformed,\n"
	    "                          slow or drop (repeatable; rates add up to 1 at most)\n"
	    "      --retry-after SEC   Retry-After of 429 and 503 replies (default 1)\n"
	    "      --slow SEC          how long a slow fault holds its reply (default 30)\n"
	    "      --should-retry-header  send x-should-retry: true|false on errors\n"
	    "      --error-rate P      the simple form: fail this fraction of chat requests\n"
	    "      --error-status CODE HTTP status of those failures (default 500)\n"
	    "      --api-key KEY       require this key of every API request\n"
	    "      --echo-headers      put the request's headers into x_pb_sim.headers\n"
	    "      --rate-limit N/SEC  allow N chat requests per SEC seconds; send\n"
	    "                          x-ratelimit-* (anthropic-ratelimit-*) headers\n"
	    "      --stats-file FILE   write the request statistics to FILE at exit\n"
	    "      --threads N         threads serving connections (default: CPUs, at most 8)\n"
	    "  -h, --help              show this help\n"
	    "      --version           show the version\n");
	usage_end(fp, status);
}

static struct pb_sim sim;

/* Set by a handler that drops its connection on purpose, so the log
 * line libmicrohttpd writes for it right after, in the same thread, is
 * not mistaken for trouble. */
static _Thread_local int dropping;

/* What we keep per request while its body arrives and its reply waits. */
struct req {
	char *body;
	size_t len, cap;
	int too_big;
	int answered; /* resp is filled in */
	struct pb_sim_response resp;
	const char **hdrs; /* the request's headers, name and value in turn */
	size_t nhdrs;
};

/* Collects the request's headers for --echo-headers. */
static enum MHD_Result
collect(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct req *q = cls;
	const char **t;

	(void)kind;
	if (!(t = realloc(q->hdrs, (q->nhdrs + 3) * sizeof *t)))
		return MHD_NO;
	q->hdrs = t;
	t[q->nhdrs++] = key;
	t[q->nhdrs++] = value ? value : "";
	t[q->nhdrs] = NULL;
	return MHD_YES;
}

/* --------------------------------------------------------- the timer */

/* Replies held back (--latency, --jitter, the slow fault) wait here,
 * suspended, so a waiting reply ties up no thread: one timer resumes each
 * connection when it is due. */
struct waiter {
	uint64_t due; /* CLOCK_MONOTONIC nanoseconds */
	struct MHD_Connection *c;
};

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct waiter *h; /* a binary min-heap on due */
	size_t n, cap;
	int stopping;     /* shutting down: resume all, suspend no more */
	pthread_t thr;
} timer = { PTHREAD_MUTEX_INITIALIZER };

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
heap_push(struct waiter w)
{
	size_t i, up;

	if (timer.n == timer.cap) {
		timer.cap = timer.cap ? 2 * timer.cap : 256;
		timer.h = erealloc(timer.h, timer.cap * sizeof *timer.h);
	}
	for (i = timer.n++; i > 0 && timer.h[up = (i - 1) / 2].due > w.due; i = up)
		timer.h[i] = timer.h[up];
	timer.h[i] = w;
}

static struct MHD_Connection *
heap_pop(void)
{
	struct MHD_Connection *c = timer.h[0].c;
	struct waiter last = timer.h[--timer.n];
	size_t i = 0, k;

	while ((k = 2 * i + 1) < timer.n) {
		if (k + 1 < timer.n && timer.h[k + 1].due < timer.h[k].due)
			k++;
		if (timer.h[k].due >= last.due)
			break;
		timer.h[i] = timer.h[k];
		i = k;
	}
	if (timer.n)
		timer.h[i] = last;
	return c;
}

static void *
timer_main(void *arg)
{
	struct MHD_Connection *c;
	struct timespec ts;
	uint64_t due;

	(void)arg;
	pthread_mutex_lock(&timer.mu);
	while (!timer.stopping || timer.n) {
		if (!timer.n) {
			pthread_cond_wait(&timer.cv, &timer.mu);
			continue;
		}
		due = timer.h[0].due;
		if (!timer.stopping && due > now_ns()) {
			ts.tv_sec = (time_t)(due / 1000000000u);
			ts.tv_nsec = (long)(due % 1000000000u);
			pthread_cond_timedwait(&timer.cv, &timer.mu, &ts);
			continue;
		}
		c = heap_pop();
		pthread_mutex_unlock(&timer.mu);
		MHD_resume_connection(c);
		pthread_mutex_lock(&timer.mu);
	}
	pthread_mutex_unlock(&timer.mu);
	return NULL;
}

static void
timer_start(void)
{
	pthread_condattr_t ca;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (pthread_cond_init(&timer.cv, &ca) ||
	    pthread_create(&timer.thr, NULL, timer_main, NULL))
		die("cannot start the timer");
	pthread_condattr_destroy(&ca);
}

/* Resumes every waiting connection now and stops the timer. */
static void
timer_stop(void)
{
	pthread_mutex_lock(&timer.mu);
	timer.stopping = 1;
	pthread_cond_signal(&timer.cv);
	pthread_mutex_unlock(&timer.mu);
	pthread_join(timer.thr, NULL);
	pthread_cond_destroy(&timer.cv);
	free(timer.h);
}

/* Suspends c for ms milliseconds.  Returns 0 if it did, -1 if we are
 * shutting down and the reply should go now. */
static int
delay(struct MHD_Connection *c, double ms)
{
	struct waiter w = { now_ns() + (uint64_t)(ms * 1e6), c };

	pthread_mutex_lock(&timer.mu);
	if (timer.stopping) {
		pthread_mutex_unlock(&timer.mu);
		return -1;
	}
	/* Suspended before it is queued, so the timer cannot resume it
	 * first. */
	MHD_suspend_connection(c);
	heap_push(w);
	if (timer.h[0].c == c)
		pthread_cond_signal(&timer.cv);
	pthread_mutex_unlock(&timer.mu);
	return 0;
}

/* ------------------------------------------------------------ serving */

static enum MHD_Result
reply(struct MHD_Connection *c, struct req *q)
{
	static const char oom[] = "{\"error\":{\"message\":\"pb-sim is out of "
	    "memory\",\"type\":\"server_error\",\"param\":null,\"code\":null}}";
	const char *body = q->resp.body ? q->resp.body : oom;
	struct MHD_Response *r;
	enum MHD_Result ret;
	char ra[32];

	r = MHD_create_response_from_buffer(strlen(body), (void *)body,
	                                    MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, q->resp.body &&
	                        q->resp.content_type ? q->resp.content_type :
	                        "application/json");
	if (q->resp.request_id[0])
		MHD_add_response_header(r, "x-request-id", q->resp.request_id);
	for (const char *h = q->resp.headers; h && *h; ) {
		const char *nl = strchr(h, '\n'), *colon = strchr(h, ':');
		char name[128], value[256];
		if (!nl || !colon || colon > nl)
			break;
		snprintf(name, sizeof name, "%.*s", (int)(colon - h), h);
		snprintf(value, sizeof value, "%.*s", (int)(nl - colon - 2), colon + 2);
		MHD_add_response_header(r, name, value);
		h = nl + 1;
	}
	if (q->resp.allow)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, q->resp.allow);
	if (q->resp.has_retry_after) {
		/* Retry-After takes whole seconds; the OpenAI SDKs read the
		 * exact wait from retry-after-ms first. */
		snprintf(ra, sizeof ra, "%.0f", ceil(q->resp.retry_after));
		MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, ra);
		snprintf(ra, sizeof ra, "%.10g", q->resp.retry_after * 1000);
		MHD_add_response_header(r, "retry-after-ms", ra);
	}
	if (q->resp.should_retry >= 0)
		MHD_add_response_header(r, "x-should-retry",
		                        q->resp.should_retry ? "true" : "false");
	ret = MHD_queue_response(c, q->resp.body ? (unsigned)q->resp.status : 500, r);
	MHD_destroy_response(r);
	return ret;
}

/* Called by libmicrohttpd first when the headers are in, then for each
 * piece of the body, then once more with none; and once more after a
 * suspended connection is resumed. */
static enum MHD_Result
serve(void *cls, struct MHD_Connection *c, const char *url,
      const char *method, const char *version, const char *upload,
      size_t *upsize, void **con_cls)
{
	struct req *q = *con_cls;
	struct pb_sim_request rq;

	(void)cls;
	(void)version;
	dropping = 0;
	if (!q) {
		if (!(q = calloc(1, sizeof *q)))
			return MHD_NO;
		*con_cls = q;
		return MHD_YES;
	}
	if (*upsize) {
		if (!q->too_big && q->len + *upsize > (size_t)MAXBODY) {
			q->too_big = 1;
		} else if (!q->too_big) {
			if (q->len + *upsize + 1 > q->cap) {
				size_t ncap = 2 * (q->len + *upsize) + 1;
				char *nb = realloc(q->body, ncap);
				if (!nb)
					return MHD_NO;
				q->body = nb;
				q->cap = ncap;
			}
			memcpy(q->body + q->len, upload, *upsize);
			q->len += *upsize;
		}
		*upsize = 0;
		return MHD_YES;
	}
	if (!q->answered) {
		q->answered = 1;
		memset(&rq, 0, sizeof rq);
		rq.method = method;
		rq.path = url;
		rq.body = q->body ? q->body : "";
		rq.len = q->len;
		rq.too_big = q->too_big;
		rq.authorization = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
		                   MHD_HTTP_HEADER_AUTHORIZATION);
		rq.x_api_key = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "x-api-key");
		rq.anthropic_version = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
		                       "anthropic-version");
		rq.api_key = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "api-key");
		rq.api_version = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
		                 "api-version");
		if (sim.echo_headers) {
			MHD_get_connection_values(c, MHD_HEADER_KIND, collect, q);
			rq.headers = q->hdrs;
		}
		pb_sim_handle(&sim, &rq, &q->resp);
		if (q->resp.delay_ms > 0 && !delay(c, q->resp.delay_ms))
			return MHD_YES;
	}
	if (q->resp.drop) {
		/* No reply at all: libmicrohttpd closes the connection and
		 * calls completed() as for any other end. */
		dropping = 1;
		return MHD_NO;
	}
	return reply(c, q);
}

static void
completed(void *cls, struct MHD_Connection *c, void **con_cls,
          enum MHD_RequestTerminationCode why)
{
	struct req *q = *con_cls;

	(void)cls;
	(void)c;
	(void)why;
	if (q) {
		free(q->body);
		free(q->resp.body);
		free(q->resp.headers);
		free(q->hdrs);
		free(q);
		*con_cls = NULL;
	}
}

static char bindwhy[256]; /* why the port could not be bound, or "" */

static void
mhdlog(void *cls, const char *fmt, va_list ap)
{
	char msg[1024];

	(void)cls;
	vsnprintf(msg, sizeof msg, fmt, ap);
	if (!strncmp(msg, "Failed to bind to port ", 23)) {
		/* MHD names port 0 (the address is ours): keep only why, for
		 * the one message main prints */
		const char *why = strstr(msg, ": ");
		snprintf(bindwhy, sizeof bindwhy, "%s", why ? why + 2 : msg);
		bindwhy[strcspn(bindwhy, "\n")] = '\0';
		return;
	}
	if (dropping && strstr(msg, "Application reported internal error")) {
		dropping = 0;
		return;
	}
	fprintf(stderr, "%s: %s", argv0, msg);
}

static void
load(const char *path, int world)
{
	char err[PB_ERRLEN];
	FILE *fp = fopen(path, "r");
	int rv;

	if (!fp)
		die("%s:", path);
	rv = world ? pb_sim_load_world(&sim, fp, path, err)
	           : pb_sim_load_tasks(&sim, fp, path, err);
	fclose(fp);
	if (rv)
		die("%s", err);
}

/* What the options say beyond the fields of sim, which they set. */
struct opts {
	const char *tasks, *world, *statsfile;
	const char **faults; /* each --fault, read once --error-rate is known */
	size_t nfaults;
	long port, threads;
};

static void
rate_limit(const char *arg)
{
	char *end;

	errno = 0;
	sim.rl_requests = strtol(arg, &end, 10);
	if (errno || end == arg || *end != '/' || sim.rl_requests < 1 ||
	    sim.rl_requests > 1000000000 ||
	    !((sim.rl_window_s = strtod(end + 1, &end)) > 0) || *end ||
	    sim.rl_window_s > 86400)
		die_status(PB_EXIT_USAGE, "--rate-limit: '%s' is not N/SEC "
		           "(N >= 1 requests per SEC > 0 seconds)", arg);
}

/* Reads the options into o and into sim (set up with its defaults). */
static void
options(int argc, char *argv[], struct opts *o)
{
	static const struct option longopts[] = {
		{ "tasks", required_argument, NULL, 't' },
		{ "world", required_argument, NULL, 'w' },
		{ "seed", required_argument, NULL, 's' },
		{ "latency", required_argument, NULL, 'l' },
		{ "port", required_argument, NULL, 'p' },
		{ "error-rate", required_argument, NULL, 'e' },
		{ "error-status", required_argument, NULL, 'E' },
		{ "threads", required_argument, NULL, 'j' },
		{ "jitter", required_argument, NULL, 'J' },
		{ "fault", required_argument, NULL, 'f' },
		{ "retry-after", required_argument, NULL, 'r' },
		{ "slow", required_argument, NULL, 'S' },
		{ "should-retry-header", no_argument, NULL, 'x' },
		{ "api-key", required_argument, NULL, 'k' },
		{ "stats-file", required_argument, NULL, 'o' },
		{ "echo-headers", no_argument, NULL, 'H' },
		{ "rate-limit", required_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 't': o->tasks = optarg; break;
		case 'w': o->world = optarg; break;
		case 's': sim.seed = (uint64_t)intarg("--seed", optarg, 0, LONG_MAX); break;
		case 'l': sim.latency_ms = numarg("--latency", optarg, 0, 3600000); break;
		case 'p': o->port = intarg("--port", optarg, 0, 65535); break;
		case 'e': sim.error_rate = numarg("--error-rate", optarg, 0, 1); break;
		case 'E': sim.error_status = (int)intarg("--error-status", optarg, 400, 599); break;
		case 'j': o->threads = intarg("--threads", optarg, 1, 1024); break;
		case 'J': sim.jitter_ms = numarg("--jitter", optarg, 0, 3600000); break;
		case 'f':
			o->faults = erealloc(o->faults, (o->nfaults + 1) * sizeof *o->faults);
			o->faults[o->nfaults++] = optarg;
			break;
		case 'r': sim.retry_after = numarg("--retry-after", optarg, 0, 86400); break;
		case 'S': sim.slow_s = numarg("--slow", optarg, 0, 86400); break;
		case 'x': sim.should_retry = 1; break;
		case 'k':
			if (!*optarg)
				die("--api-key: the key is empty");
			sim.api_key = optarg;
			break;
		case 'o': o->statsfile = optarg; break;
		case 'H': sim.echo_headers = 1; break;
		case 'R': rate_limit(optarg); break;
		case 'h': usage(stdout, PB_EXIT_OK); break;
		case 'V': version(); break;
		default: usage(stderr, PB_EXIT_USAGE);
		}
	}
	if (optind < argc)
		usage(stderr, PB_EXIT_USAGE);
	if (!o->tasks)
		die("no tasks: give --tasks FILE");
}

/* How many connections to allow: 10,000, or what the descriptors (raised
 * to their hard limit, since many keep-alive clients need many) leave,
 * but never fewer than the threads. */
static unsigned
connection_limit(long threads)
{
	long limit = 10000;
	struct rlimit rl;

	if (!getrlimit(RLIMIT_NOFILE, &rl)) {
		if (rl.rlim_cur < rl.rlim_max) {
			rl.rlim_cur = rl.rlim_max;
			setrlimit(RLIMIT_NOFILE, &rl);
		}
		if (rl.rlim_cur != RLIM_INFINITY && (long)rl.rlim_cur - 64 < limit)
			limit = (long)rl.rlim_cur - 64;
		if (limit < threads)
			limit = threads;
	}
	return (unsigned)limit;
}

/* Listens on 127.0.0.1:port (0: any free port) with threads threads. */
static struct MHD_Daemon *
listen_on(long port, long threads)
{
	unsigned limit = connection_limit(threads);
	struct sockaddr_in sa;

	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return MHD_start_daemon(MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME |
	                        MHD_USE_ERROR_LOG, 0, NULL, NULL, serve, NULL,
	                        MHD_OPTION_EXTERNAL_LOGGER, mhdlog, NULL,
	                        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
	                        /* MHD warns of a pool of one thread; then the
	                         * slot sets the (default) timeout instead. */
	                        threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE
	                                    : MHD_OPTION_CONNECTION_TIMEOUT,
	                        threads > 1 ? (unsigned)threads : 0u,
	                        MHD_OPTION_CONNECTION_LIMIT, limit,
	                        MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
	                        MHD_OPTION_END);
}

int
main(int argc, char *argv[])
{
	struct opts o = { 0 };
	char err[PB_ERRLEN];
	struct MHD_Daemon *d;
	const union MHD_DaemonInfo *info;
	sigset_t sigs;
	size_t i;
	int sig;

	setprog(argv[0]);
	o.threads = sysconf(_SC_NPROCESSORS_ONLN);
	o.threads = o.threads < 1 ? 1 : o.threads > 8 ? 8 : o.threads;
	if (pb_sim_init(&sim, 1, err))
		die("%s", err);
	options(argc, argv, &o);
	/* After --error-rate, whatever the order, so the sum counts it. */
	for (i = 0; i < o.nfaults; i++)
		if (pb_sim_parse_faults(&sim, o.faults[i], err))
			die("--fault: %s", err);
	free(o.faults);
	load(o.tasks, 0);
	if (o.world)
		load(o.world, 1);

	/* Every thread started from here on inherits the blocked signals, so
	 * SIGTERM and SIGINT reach only sigwait below. */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	timer_start();
	if (!(d = listen_on(o.port, o.threads)))
		die("cannot listen on 127.0.0.1:%ld%s%s", o.port, *bindwhy ? ": " : "",
		    bindwhy);
	if (!(info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT)))
		die("cannot tell which port is ours");
	printf("http://127.0.0.1:%u/v1\n", (unsigned)info->port);
	if (fshut(stdout, "<stdout>"))
		die("cannot announce the URL");

	while (sigwait(&sigs, &sig))
		;
	timer_stop();
	MHD_stop_daemon(d);
	if (o.statsfile && pb_sim_save_stats(&sim, o.statsfile, err)) {
		pb_sim_free(&sim);
		die("%s", err);
	}
	pb_sim_free(&sim);
	return PB_EXIT_OK;
}
