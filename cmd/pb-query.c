/* pb-query - send each record's messages to a chat endpoint (OpenAI-
 * compatible or Anthropic), many at once, with retries, rate limits and
 * a response cache, and add the answer or the error. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../lib/pb.h"
#include "util.h"

#define DEFAULT_MODEL "gpt-4o-mini" /* OpenAI's; Anthropic has none here */

static void
usage(FILE *fp, int status)
{
	fprintf(fp,
	    "usage: pb-query [-q] [-j N] [--api API] [--model M] [--temperature T]\n"
	    "                [--max-tokens N | --max-completion-tokens N] [--top-p P]\n"
	    "                [--seed N] [--stop STR]... [--body JSON] [--base-url URL]\n"
	    "                [--key-env VAR | --key-file FILE] [--header NAME:VALUE]...\n"
	    "                [--header-file FILE]... [--cacert FILE] [--capath DIR]\n"
	    "                [--max-response-bytes N] [--stream] [--no-interrupted]\n"
	    "                [--timeout SEC]\n"
	    "                [--connect-timeout SEC] [--stall SEC] [--retries N]\n"
	    "                [--max-retry-wait SEC] [--rpm N] [--tpm N]\n"
	    "                [--cache DIR | --no-cache] [--refresh] [--dry-run]\n"
	    "                [--progress] [--unordered] [FILE...]\n"
	    "Send each record's messages to a chat endpoint; add \"response\" or \"error\".\n"
	    "  -j, --jobs N            requests in flight (default 8)\n"
	    "      --api API           openai (chat completions, the default),\n"
	    "                          anthropic (messages) or azure (Azure OpenAI)\n"
	    "      --model M           model name (default $PB_MODEL, else " DEFAULT_MODEL "\n"
	    "                          for openai; anthropic has no default; azure:\n"
	    "                          the deployment)\n"
	    "      --temperature T     sampling temperature, always sent (default 0)\n"
	    "      --max-tokens N      send max_tokens N (anthropic: default 1024)\n"
	    "      --max-completion-tokens N\n"
	    "                          send max_completion_tokens N instead\n"
	    "      --top-p P           send top_p P\n"
	    "      --seed N            send seed N (openai only)\n"
	    "      --stop STR          stop at STR (repeatable)\n"
	    "      --body JSON         merge this JSON object into every request body\n"
	    "      --base-url URL      API base (default $OPENAI_BASE_URL,\n"
	    "                          $ANTHROPIC_BASE_URL or $AZURE_OPENAI_ENDPOINT,\n"
	    "                          else the provider's)\n"
	    "      --key-env VAR       take the API key from $VAR (default\n"
	    "                          $OPENAI_API_KEY, $ANTHROPIC_API_KEY or\n"
	    "                          $AZURE_OPENAI_API_KEY)\n"
	    "      --key-file FILE     take the API key from the first line of FILE\n"
	    "      --header NAME:VALUE send this header too (repeatable)\n"
	    "      --header-file FILE  send the NAME:VALUE lines of FILE, as secrets\n"
	    "      --cacert FILE       verify servers by the CA certificates in FILE\n"
	    "                          (default $CURL_CA_BUNDLE, $SSL_CERT_FILE)\n"
	    "      --capath DIR        and by those in DIR (default $SSL_CERT_DIR)\n"
	    "      --max-response-bytes N\n"
	    "                          fail a response larger than N bytes once\n"
	    "                          decoded (default 16777216)\n"
	    "      --stream            ask for the answer as server-sent events\n"
	    "      --no-interrupted    on SIGINT or SIGTERM write only what finished\n"
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
	usage_end(fp, status);
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
	struct pb_query *engine; /* woken when the queue stops being empty */
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
		pb_query_wakeup(f->engine);
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

/* A file that cannot be read: said in its place in the output order. */
static void
unreadable(const char *why, void *arg)
{
	struct item it = { IT_SYS, NULL, NULL, 0, "" };

	snprintf(it.why, sizeof it.why, "%s", why);
	feed_push(arg, &it);
}

static void *
reader(void *arg)
{
	struct feed *f = arg;

	if (f->count)
		count_input(f);
	pb_jsonl_files_all(f->argc, f->argv, feed_record, f, unreadable);
	pthread_mutex_lock(&f->mu);
	f->eof = 1;
	pthread_mutex_unlock(&f->mu);
	pb_query_wakeup(f->engine);
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

/* ---- progress and output -------------------------------------------- */

/* The tool around the engine: what it prints and what decides the exit
 * status besides the engine's failed records. */
struct query_loop {
	struct pb_query *q;
	int on, tty, color;     /* the progress line */
	double start, last;
	long total;             /* records in the input, or -1 if unknown */
	long bad;               /* lines that could not be passed on */
	int sys;                /* a file could not be read */
	int dirty;              /* written since the last flush */
	int interrupted;        /* the signal that stopped it, or 0 */
	int drop_interrupted;   /* --no-interrupted */
	long dropped;           /* records not written for it */
	int unread;             /* the rest of the input was left unread */
};

static volatile sig_atomic_t got_signal, nsignals;

static void
on_signal(int sig)
{
	if (!got_signal)
		got_signal = sig;
	nsignals++;
}

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
progress_clear(struct query_loop *t)
{
	if (t->on && t->tty)
		fputs("\r\033[K", stderr);
}

/* Draws the one line: redrawn in place on a terminal at most ten times a
 * second; elsewhere (--progress into a file) a line a second. */
static void
progress_draw(struct query_loop *t, double now, int last)
{
	struct pb_query_counts c;
	double el = now - t->start, rate, rec_rate;
	char tok[32], eta[32] = "", total[32] = "?";
	const char *red = t->color ? "\033[31m" : "", *off = t->color ? "\033[0m" : "";
	long done;

	if (!t->on || (!last && now - t->last < (t->tty ? 0.1 : 1.0)))
		return;
	pb_query_counts(t->q, &c);
	done = c.done + t->bad;
	rate = el > 0 ? c.requests / el : 0;
	rec_rate = el > 0 ? done / el : 0;
	t->last = now;
	human(tok, sizeof tok, c.tokens);
	if (t->total >= 0) {
		snprintf(total, sizeof total, "%ld", t->total);
		if (!last && rec_rate > 0 && t->total > done) {
			long s = (long)((t->total - done) / rec_rate + 0.5);
			snprintf(eta, sizeof eta, "  ETA %ld:%02ld:%02ld", s / 3600,
			         s / 60 % 60, s % 60);
		}
	}
	fprintf(stderr, "%s%s: %ld/%s done  %.1f req/s  %ld retries  %s%ld errors%s"
	        "  %s tokens  %ld cached%s%s%s",
	        t->tty ? "\r" : "", argv0, done, total, rate, c.retries,
	        c.failed ? red : "", c.failed, c.failed ? off : "", tok, c.hits,
	        eta, t->tty ? "\033[K" : "", t->tty && !last ? "" : "\n");
	fflush(stderr);
}

static int
out_record(const cJSON *rec, void *arg, char err[PB_ERRLEN])
{
	struct query_loop *t = arg;
	const char *kind;

	if (t->drop_interrupted && (kind = pb_json_str(cJSON_GetObjectItemCaseSensitive(
	    rec, "error"), "kind")) && !strcmp(kind, "interrupted")) {
		t->dropped++;
		return 0;
	}
	if (pb_jsonl_write(stdout, rec) < 0) {
		snprintf(err, PB_ERRLEN, "write error on <stdout>: %s", strerror(errno));
		return -1;
	}
	((struct query_loop *)arg)->dirty = 1;
	return 0;
}

static void
warn_record(const char *msg, void *arg)
{
	progress_clear(arg);
	warnx_("%s", msg);
}

static void
flush_out(struct query_loop *t)
{
	if (t->dirty && fflush(stdout) == EOF)
		die("write error on <stdout>:");
	t->dirty = 0;
}

/* ---- the loop ------------------------------------------------------- */

static void
take(struct query_loop *t, struct item *it)
{
	char err[PB_ERRLEN];

	switch (it->kind) {
	case IT_RECORD:
		if (pb_query_add(t->q, it->rec, it->file, it->line, err) < 0)
			die("%s", err);
		break;
	case IT_BAD:
		progress_clear(t);
		warnx_("%s:%ld: %s", it->file, it->line, it->why);
		t->bad++;
		break;
	case IT_SYS:
		progress_clear(t);
		warnx_("%s", it->why);
		t->sys = 1;
		break;
	}
}

/* Take what the window allows, send what may go, move the transfers,
 * and flush the output only when about to wait, so a pipe downstream
 * sees records promptly without a write per record at full speed. */
static void
run(struct query_loop *t, struct feed *f)
{
	char err[PB_ERRLEN];
	struct item it;
	int eof, n, moved, ms;
	long lines, taken = 0;
	double now, next;

	for (;;) {
		moved = 0;
		if (got_signal && !t->interrupted) {
			t->interrupted = got_signal;
			if (pb_query_interrupt(t->q, err) < 0)
				die("%s", err);
		}
		/* --no-interrupted, or a second signal: the rest of the input
		 * is not read. */
		if (t->interrupted && (t->drop_interrupted || nsignals > 1) &&
		    pb_query_idle(t->q)) {
			t->unread = 1;
			break;
		}
		while (feed_pop(f, &it, pb_query_room(t->q) > 0, &eof, &lines)) {
			taken += it.kind != IT_SYS;
			take(t, &it);
			moved++;
		}
		t->total = eof ? taken : lines;
		now = pb_clock();
		if (pb_query_send(t->q, now, &next, err) < 0)
			die("%s", err);
		if (eof && pb_query_idle(t->q))
			break;
		if ((n = pb_query_poll(t->q, 0, err)) < 0)
			die("%s", err);
		progress_draw(t, pb_clock(), 0);
		if (n || moved)
			continue;
		flush_out(t);
		now = pb_clock();
		ms = 1000;
		if (next - now < 1.0)
			ms = next <= now ? 0 : (int)ceil((next - now) * 1000);
		if (t->on && ms > 100)
			ms = 100;
		if (ms > 0 && pb_query_poll(t->q, ms, err) < 0)
			die("%s", err);
	}
	flush_out(t);
	if (t->on) {
		t->total = taken;
		progress_draw(t, pb_clock(), 1);
	}
}

/* ---- setting up ----------------------------------------------------- */

/* pb-query's own options; those of the model client (the judge of
 * pb-score has them too) are enum pb_client_opt's. */
enum { O_TEMP = 256, O_MAXTOK, O_MAXCTOK, O_TOPP, O_SEED, O_STOP, O_BODY,
       O_TIMEOUT, O_CTIMEOUT, O_STALL, O_RETRIES, O_MAXWAIT, O_RPM, O_TPM,
       O_REFRESH, O_DRYRUN, O_PROGRESS, O_UNORDERED, O_VERSION, O_MAXRESP,
       O_STREAM, O_NOINT };

static const struct option options[] = {
	{ "jobs", required_argument, NULL, 'j' },
	{ "api", required_argument, NULL, PB_CLIENT_API },
	{ "model", required_argument, NULL, PB_CLIENT_MODEL },
	{ "temperature", required_argument, NULL, O_TEMP },
	{ "max-tokens", required_argument, NULL, O_MAXTOK },
	{ "max-completion-tokens", required_argument, NULL, O_MAXCTOK },
	{ "top-p", required_argument, NULL, O_TOPP },
	{ "seed", required_argument, NULL, O_SEED },
	{ "stop", required_argument, NULL, O_STOP },
	{ "body", required_argument, NULL, O_BODY },
	{ "base-url", required_argument, NULL, PB_CLIENT_URL },
	{ "key-env", required_argument, NULL, PB_CLIENT_KEY_ENV },
	{ "key-file", required_argument, NULL, PB_CLIENT_KEY_FILE },
	{ "header", required_argument, NULL, PB_CLIENT_HEADER },
	{ "header-file", required_argument, NULL, PB_CLIENT_HEADER_FILE },
	{ "cacert", required_argument, NULL, PB_CLIENT_CACERT },
	{ "capath", required_argument, NULL, PB_CLIENT_CAPATH },
	{ "max-response-bytes", required_argument, NULL, O_MAXRESP },
	{ "stream", no_argument, NULL, O_STREAM },
	{ "no-interrupted", no_argument, NULL, O_NOINT },
	{ "timeout", required_argument, NULL, O_TIMEOUT },
	{ "connect-timeout", required_argument, NULL, O_CTIMEOUT },
	{ "stall", required_argument, NULL, O_STALL },
	{ "retries", required_argument, NULL, O_RETRIES },
	{ "max-retry-wait", required_argument, NULL, O_MAXWAIT },
	{ "rpm", required_argument, NULL, O_RPM },
	{ "tpm", required_argument, NULL, O_TPM },
	{ "cache", required_argument, NULL, PB_CLIENT_CACHE },
	{ "no-cache", no_argument, NULL, PB_CLIENT_NO_CACHE },
	{ "refresh", no_argument, NULL, O_REFRESH },
	{ "dry-run", no_argument, NULL, O_DRYRUN },
	{ "progress", no_argument, NULL, O_PROGRESS },
	{ "quiet", no_argument, NULL, 'q' },
	{ "unordered", no_argument, NULL, O_UNORDERED },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, O_VERSION },
	{ 0 }
};

/* What the options ask for besides the client and the request. */
struct flags {
	int unordered, progress, quiet, noint;
	const char **stops;     /* --stop's, NULL-terminated */
	size_t nstops;
	cJSON *extra;           /* --body */
};

/* The request's own options, into p. */
static void
request_option(int ch, struct pb_llm_params *p, struct flags *fl)
{
	switch (ch) {
	case O_TEMP: p->temperature = numarg("--temperature", optarg, 0, 2); break;
	case O_MAXTOK: p->max_tokens = intarg("--max-tokens", optarg, 1, 100000000); break;
	case O_MAXCTOK:
		p->max_completion_tokens = intarg("--max-completion-tokens", optarg,
		                                  1, 100000000);
		break;
	case O_TOPP:
		p->top_p = numarg("--top-p", optarg, 0, 1);
		p->has_top_p = 1;
		break;
	case O_SEED:
		p->seed = intarg("--seed", optarg, 0, 9007199254740991L);
		p->has_seed = 1;
		break;
	case O_STOP:
		if (!*optarg)
			die("--stop: empty stop string");
		fl->stops = erealloc(fl->stops, (fl->nstops + 2) * sizeof *fl->stops);
		fl->stops[fl->nstops++] = optarg;
		fl->stops[fl->nstops] = NULL;
		break;
	case O_BODY:
		cJSON_Delete(fl->extra);
		if (!(fl->extra = cJSON_Parse(optarg)) || !cJSON_IsObject(fl->extra))
			die("--body: not a JSON object: %s", optarg);
		break;
	case O_STREAM: p->stream = 1; break;
	}
}

/* Reads the options; returns optind. */
static int
parse(int argc, char **argv, struct pb_client *cl, struct pb_query_opts *qo,
      struct flags *fl)
{
	char err[PB_ERRLEN];
	int ch;

	while ((ch = getopt_long(argc, argv, "j:qh", options, NULL)) != -1) {
		if (ch >= PB_CLIENT_API && ch <= PB_CLIENT_NO_CACHE) {
			if (pb_client_option(cl, (enum pb_client_opt)ch, optarg, err) < 0)
				die("%s", err);
			continue;
		}
		switch (ch) {
		case 'j': cl->jobs = intarg("-j", optarg, 1, 1024); break;
		case O_TEMP: case O_MAXTOK: case O_MAXCTOK: case O_TOPP: case O_SEED:
		case O_STOP: case O_BODY: case O_STREAM:
			request_option(ch, &qo->par, fl);
			break;
		case O_MAXRESP:
			cl->max_response = intarg("--max-response-bytes", optarg, 1, 1L << 40);
			break;
		case O_NOINT: fl->noint = 1; break;
		case O_TIMEOUT: cl->timeout = numarg("--timeout", optarg, 0, 1e6); break;
		case O_CTIMEOUT:
			cl->connect_timeout = numarg("--connect-timeout", optarg, 0, 1e6);
			break;
		case O_STALL: cl->stall = numarg("--stall", optarg, 0, 1e6); break;
		case O_RETRIES: cl->retry.retries = (int)intarg("--retries", optarg, 0, 100); break;
		case O_MAXWAIT:
			cl->retry.max_wait_s = numarg("--max-retry-wait", optarg, 0, 1e6);
			break;
		case O_RPM: cl->rpm = numarg("--rpm", optarg, 0, 1e9); break;
		case O_TPM: cl->tpm = numarg("--tpm", optarg, 0, 1e12); break;
		case O_REFRESH: qo->refresh = 1; break;
		case O_DRYRUN: qo->dry_run = cl->dry_run = 1; break;
		case O_PROGRESS: fl->progress = 1; break;
		case 'q': fl->quiet = 1; break;
		case O_UNORDERED: fl->unordered = 1; break;
		case 'h': usage(stdout, PB_EXIT_OK); break;
		case O_VERSION: version(); break;
		default: usage(stderr, PB_EXIT_USAGE);
		}
	}
	if (pb_client_check(cl, err) < 0)
		die("%s", err);
	if (qo->par.max_tokens && qo->par.max_completion_tokens)
		die("--max-tokens and --max-completion-tokens go alone");
	if (cl->api == PB_API_ANTHROPIC && qo->par.has_seed)
		die("--seed: Anthropic's API takes no seed");
	if (fl->progress && fl->quiet)
		die("--progress and -q go alone");
	return optind;
}

/* The engine, and the progress line's settings. */
static void
start_engine(struct query_loop *t, struct pb_client *cl, struct pb_query_opts *qo,
             const struct flags *fl)
{
	char err[PB_ERRLEN], warn[PB_ERRLEN];
	const char *nc = getenv("NO_COLOR"), *term = getenv("TERM");

	qo->par.stop = fl->stops;
	qo->par.extra = fl->extra;
	if (pb_client_setup(cl, qo, warn, err) < 0)
		die("%s", err);
	if (*warn)
		warnx_("%s", warn);
	qo->ordered = !fl->unordered;
	qo->out = out_record;
	qo->warn = warn_record;
	qo->arg = t;
	if (!(t->q = pb_query_new(qo, err)))
		die("%s", err);
	pb_client_started(cl); /* libcurl has its copy of the headers */
	t->drop_interrupted = fl->noint;
	t->tty = isatty(STDERR_FILENO);
	t->on = !fl->quiet && (fl->progress || t->tty);
	t->color = t->tty && !(nc && *nc) && !(term && !strcmp(term, "dumb"));
	t->start = t->last = pb_clock();
	t->total = -1;
}

/* The reader thread, over the n files (or stdin); SIGINT and SIGTERM go
 * to this thread, whose poll they cut short: the reader never sees
 * them. */
static void
start_reader(struct feed *f, const struct query_loop *t, long jobs, int n,
             char **files, pthread_t *tid)
{
	struct sigaction sa, osa;
	sigset_t block, old;

	f->cap = (size_t)jobs;
	f->q = ecalloc(f->cap, sizeof *f->q);
	f->argc = n;
	f->argv = files;
	f->engine = t->q;
	f->lines = -1;
	f->count = t->on;
	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->notfull, NULL);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	/* A SIGINT ignored from the start (a script's background job) stays
	 * ignored, as the shell meant. */
	if (sigaction(SIGINT, NULL, &osa) < 0 || osa.sa_handler != SIG_IGN)
		sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	if ((errno = pthread_create(tid, NULL, reader, f)))
		die("cannot start the reader:");
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* Stopped by a signal: says what was written, and exits as the signal
 * would have (the reader may still be waiting on input). */
static _Noreturn void
interrupted(struct query_loop *t, const struct pb_query_counts *c)
{
	progress_clear(t);
	if (t->drop_interrupted)
		warnx_("interrupted (%s): %ld records written, %ld in progress "
		       "not written (--no-interrupted); the rest of the input "
		       "was not read", strsignal(t->interrupted),
		       c->done - t->dropped, t->dropped);
	else
		warnx_("interrupted (%s): %ld records written, %ld of them as "
		       "error records of kind \"interrupted\"%s",
		       strsignal(t->interrupted), c->done, c->interrupted,
		       t->unread ? "; signalled again: the rest of the input was "
		       "not read" : "");
	fshut(stdout, "<stdout>");
	_exit(128 + t->interrupted);
}

int
main(int argc, char **argv)
{
	struct pb_query_opts qo = { 0 };
	struct query_loop t = { 0 };
	struct pb_query_counts c;
	struct pb_client cl;
	struct flags fl = { 0 };
	struct feed f = { 0 };
	pthread_t tid;
	int first;

	setprog(argv[0]);
	pb_client_init(&cl, "", DEFAULT_MODEL);
	first = parse(argc, argv, &cl, &qo, &fl);
	start_engine(&t, &cl, &qo, &fl);
	start_reader(&f, &t, cl.jobs, argc - first, argv + first, &tid);
	run(&t, &f);
	if (t.unread)
		pthread_detach(tid); /* it may wait on input for ever */
	else
		pthread_join(tid, NULL);

	pb_query_counts(t.q, &c);
	pb_query_free(t.q);
	if (t.interrupted)
		interrupted(&t, &c);
	free(f.q);
	pthread_mutex_destroy(&f.mu);
	pthread_cond_destroy(&f.notfull);
	pb_client_free(&cl);
	free(fl.stops);
	cJSON_Delete(fl.extra);
	if (fshut(stdout, "<stdout>"))
		return PB_EXIT_USAGE;
	if (t.sys)
		return PB_EXIT_USAGE;
	return c.failed || t.bad ? PB_EXIT_RECORDS : PB_EXIT_OK;
}
