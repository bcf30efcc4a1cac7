/* pb-sim - a simulated OpenAI-compatible model server on 127.0.0.1, for
 * tests, demos and benchmarks.  The model is lib/sim.c; this file is the
 * options and the libmicrohttpd glue: request bodies, the latency timer
 * and a clean shutdown. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
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

#include "../lib/pb.h"
#include "util.h"

#define MAXBODY (16L << 20) /* larger request bodies get 413 */

static void
usage(FILE *fp, int status)
{
	fprintf(fp,
	    "usage: pb-sim --tasks FILE [--world FILE] [--seed N] [--latency MS]\n"
	    "              [--port N] [--error-rate P] [--error-status CODE] [--threads N]\n"
	    "Serve a simulated OpenAI-compatible model on 127.0.0.1 until SIGTERM.\n"
	    "      --tasks FILE        the tasks it knows (JSON lines; required)\n"
	    "      --world FILE        skills of prompts (JSON lines {\"match\",\"skill\"})\n"
	    "      --seed N            seed of every simulated choice (default 1)\n"
	    "      --latency MS        delay each reply by MS milliseconds (default 0)\n"
	    "      --port N            port to listen on; 0 picks a free one (default 0)\n"
	    "      --error-rate P      fail this fraction of chat requests (default 0)\n"
	    "      --error-status CODE HTTP status of those failures (default 500)\n"
	    "      --threads N         threads serving connections (default: CPUs, at most 8)\n"
	    "  -h, --help              show this help\n"
	    "      --version           show the version\n");
	exit(status);
}

static struct pb_sim sim;
static uint64_t latency_ns;

/* What we keep per request while its body arrives and its reply waits. */
struct req {
	char *body;
	size_t len, cap;
	int too_big;
	int answered; /* resp is filled in */
	struct pb_sim_response resp;
};

/* --------------------------------------------------------- the timer */

/* Replies held back by --latency wait here, suspended, so a slow reply
 * ties up no thread: one timer resumes each connection when it is due. */
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
		die("cannot start the latency timer");
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

/* Suspends c until its latency has passed.  Returns 0 if it did, -1 if
 * we are shutting down and the reply should go now. */
static int
delay(struct MHD_Connection *c)
{
	struct waiter w = { now_ns() + latency_ns, c };

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
	char ra[16];

	r = MHD_create_response_from_buffer(strlen(body), (void *)body,
	                                    MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	if (q->resp.allow)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, q->resp.allow);
	if (q->resp.retry_after) {
		snprintf(ra, sizeof ra, "%d", q->resp.retry_after);
		MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, ra);
	}
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

	(void)cls;
	(void)version;
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
		if (q->too_big) {
			q->resp.status = 413;
			q->resp.body = pb_sim_error_json(413, "The request body is too "
			                                 "large for pb-sim.", NULL);
		} else {
			pb_sim_handle(&sim, method, url, q->body ? q->body : "",
			              q->len, &q->resp);
		}
		if (latency_ns && !delay(c))
			return MHD_YES;
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
		free(q);
		*con_cls = NULL;
	}
}

static void
mhdlog(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	fprintf(stderr, "%s: ", argv0);
	vfprintf(stderr, fmt, ap);
}

static void
load(const char *path, int world)
{
	char err[PB_ERRLEN];
	FILE *fp = fopen(path, "r");
	int rv;

	if (!fp)
		die("%s: %s", path, strerror(errno));
	rv = world ? pb_sim_load_world(&sim, fp, path, err)
	           : pb_sim_load_tasks(&sim, fp, path, err);
	fclose(fp);
	if (rv)
		die("%s", err);
}

int
main(int argc, char *argv[])
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
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	const char *tasks = NULL, *world = NULL;
	long seed = 1, port = 0, threads, status = 500, limit = 10000;
	double rate = 0, latency = 0;
	char err[PB_ERRLEN];
	struct sockaddr_in sa;
	struct MHD_Daemon *d;
	const union MHD_DaemonInfo *info;
	struct rlimit rl;
	sigset_t sigs;
	int opt, sig;

	setprog(argv[0]);
	threads = sysconf(_SC_NPROCESSORS_ONLN);
	threads = threads < 1 ? 1 : threads > 8 ? 8 : threads;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 't': tasks = optarg; break;
		case 'w': world = optarg; break;
		case 's': seed = intarg("--seed", optarg, 0, LONG_MAX); break;
		case 'l': latency = numarg("--latency", optarg, 0, 3600000); break;
		case 'p': port = intarg("--port", optarg, 0, 65535); break;
		case 'e': rate = numarg("--error-rate", optarg, 0, 1); break;
		case 'E': status = intarg("--error-status", optarg, 400, 599); break;
		case 'j': threads = intarg("--threads", optarg, 1, 1024); break;
		case 'h': usage(stdout, PB_EXIT_OK); break;
		case 'V': version(); break;
		default: usage(stderr, PB_EXIT_USAGE);
		}
	}
	if (optind < argc)
		usage(stderr, PB_EXIT_USAGE);
	if (!tasks)
		die("no tasks: give --tasks FILE");

	if (pb_sim_init(&sim, (uint64_t)seed, err))
		die("%s", err);
	sim.error_rate = rate;
	sim.error_status = (int)status;
	load(tasks, 0);
	if (world)
		load(world, 1);
	latency_ns = (uint64_t)(latency * 1e6);

	/* Many keep-alive clients need many descriptors. */
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
	/* Every thread started from here on inherits the blocked signals, so
	 * SIGTERM and SIGINT reach only sigwait below. */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	if (latency_ns)
		timer_start();

	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	d = MHD_start_daemon(MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME |
	                     MHD_USE_ERROR_LOG, 0, NULL, NULL, serve, NULL,
	                     MHD_OPTION_EXTERNAL_LOGGER, mhdlog, NULL,
	                     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
	                     /* MHD warns of a pool of one thread; then the
	                      * slot sets the (default) timeout instead. */
	                     threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE
	                                 : MHD_OPTION_CONNECTION_TIMEOUT,
	                     threads > 1 ? (unsigned)threads : 0u,
	                     MHD_OPTION_CONNECTION_LIMIT, (unsigned)limit,
	                     MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
	                     MHD_OPTION_END);
	if (!d)
		die("cannot listen on 127.0.0.1:%ld", port);
	if (!(info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT)))
		die("cannot tell which port is ours");
	printf("http://127.0.0.1:%u/v1\n", (unsigned)info->port);
	if (fshut(stdout, "<stdout>"))
		die("cannot announce the URL");

	while (sigwait(&sigs, &sig))
		;
	if (latency_ns)
		timer_stop();
	MHD_stop_daemon(d);
	pb_sim_free(&sim);
	return PB_EXIT_OK;
}
