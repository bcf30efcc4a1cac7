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
struct tool {
	struct pb_query *q;
	int on, tty, color;     /* the progress line */
	double start, last;
	long total;             /* records in the input, or -1 if unknown */
	long bad;               /* lines that could not be passed on */
	int sys;                /* a file could not be read */
	int dirty;              /* written since the last flush */
};

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
progress_clear(struct tool *t)
{
	if (t->on && t->tty)
		fputs("\r\033[K", stderr);
}

/* Draws the one line: redrawn in place on a terminal at most ten times a
 * second; elsewhere (--progress into a file) a line a second. */
static void
progress_draw(struct tool *t, double now, int last)
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
	if (pb_jsonl_write(stdout, rec) < 0) {
		snprintf(err, PB_ERRLEN, "write error on <stdout>: %s", strerror(errno));
		return -1;
	}
	((struct tool *)arg)->dirty = 1;
	return 0;
}

static void
warn_record(const char *msg, void *arg)
{
	progress_clear(arg);
	warnx_("%s", msg);
}

static void
flush_out(struct tool *t)
{
	if (t->dirty && fflush(stdout) == EOF)
		die("write error on <stdout>: %s", strerror(errno));
	t->dirty = 0;
}

/* ---- the loop ------------------------------------------------------- */

static void
take(struct tool *t, struct item *it)
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
run(struct tool *t, struct feed *f)
{
	char err[PB_ERRLEN];
	struct item it;
	int eof, n, moved, ms;
	long lines, taken = 0;
	double now, next;

	for (;;) {
		moved = 0;
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
	struct pb_query_opts qo = { 0 };
	struct tool t = { 0 };
	struct pb_query_counts c;
	struct feed f = { 0 };
	const char *headers[4] = { "Content-Type: application/json", NULL, NULL, NULL };
	char err[PB_ERRLEN], *key = NULL, *auth = NULL, *url;
	cJSON *extra = NULL;
	const char *nc, *term;
	pthread_t tid;

	setprog(argv[0]);
	qo.par.model = getenv("PB_MODEL");
	if (!qo.par.model || !*qo.par.model)
		qo.par.model = DEFAULT_MODEL;
	qo.retry.retries = 5;
	qo.retry.base_s = PB_RETRY_BASE;
	qo.retry.cap_s = PB_RETRY_CAP;
	qo.retry.max_wait_s = 120;
	while ((ch = getopt_long(argc, argv, "j:qh", opts, NULL)) != -1) {
		switch (ch) {
		case 'j': jobs = intarg("-j", optarg, 1, 1024); break;
		case O_API:
			if (!strcmp(optarg, "openai"))
				qo.par.api = PB_API_OPENAI;
			else if (!strcmp(optarg, "anthropic"))
				qo.par.api = PB_API_ANTHROPIC;
			else
				die_status(PB_EXIT_USAGE, "--api: '%s' is neither openai nor anthropic",
				           optarg);
			break;
		case O_MODEL:
			if (!*optarg)
				die("--model: empty model name");
			qo.par.model = optarg;
			break;
		case O_TEMP: qo.par.temperature = numarg("--temperature", optarg, 0, 2); break;
		case O_MAXTOK: qo.par.max_tokens = intarg("--max-tokens", optarg, 1, 100000000); break;
		case O_MAXCTOK:
			qo.par.max_completion_tokens = intarg("--max-completion-tokens", optarg,
			                                     1, 100000000);
			break;
		case O_TOPP:
			qo.par.top_p = numarg("--top-p", optarg, 0, 1);
			qo.par.has_top_p = 1;
			break;
		case O_SEED:
			qo.par.seed = intarg("--seed", optarg, 0, 9007199254740991L);
			qo.par.has_seed = 1;
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
		case O_RETRIES: qo.retry.retries = (int)intarg("--retries", optarg, 0, 100); break;
		case O_MAXWAIT: qo.retry.max_wait_s = numarg("--max-retry-wait", optarg, 0, 1e6); break;
		case O_RPM: rpm = numarg("--rpm", optarg, 0, 1e9); break;
		case O_TPM: tpm = numarg("--tpm", optarg, 0, 1e12); break;
		case O_CACHE:
			if (!*optarg)
				die("--cache: empty folder name");
			cachedir = optarg;
			break;
		case O_NOCACHE: nocache = 1; break;
		case O_REFRESH: qo.refresh = 1; break;
		case O_DRYRUN: qo.dry_run = 1; break;
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
	if (qo.par.max_tokens && qo.par.max_completion_tokens)
		die("--max-tokens and --max-completion-tokens go alone");
	if (qo.par.api == PB_API_ANTHROPIC && qo.par.has_seed)
		die("--seed: Anthropic's API takes no seed");
	if (cachedir && nocache)
		die("--cache and --no-cache go alone");
	if (progress && quiet)
		die("--progress and -q go alone");
	qo.par.stop = stops;
	qo.par.extra = extra;
	if (!(url = pb_llm_endpoint(base, qo.par.api, err)))
		die("%s", err);
	if (!qo.dry_run)
		key = api_key(keyfile, keyenv, qo.par.api == PB_API_ANTHROPIC ?
		              "ANTHROPIC_API_KEY" : "OPENAI_API_KEY");
	if (pb_llm_headers(qo.par.api, key, headers, &auth) < 0)
		die("out of memory");
	if (!qo.dry_run && !nocache)
		qo.cache = open_cache(cachedir);

	qo.http.parallel = (int)jobs;
	qo.http.timeout_ms = (long)(timeout * 1000);
	qo.http.connect_timeout_ms = (long)(ctimeout * 1000);
	qo.http.stall_ms = (long)(stall * 1000);
	qo.http.headers = headers;
	qo.url = url;
	qo.secret = key;
	qo.rpm = rpm;
	qo.tpm = tpm;
	qo.ordered = !unordered;
	qo.seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^
	          (uint64_t)(pb_clock() * 1e9);
	qo.out = out_record;
	qo.warn = warn_record;
	qo.arg = &t;
	if (!(t.q = pb_query_new(&qo, err)))
		die("%s", err);
	if (auth) {
		explicit_bzero(auth, strlen(auth)); /* libcurl has its copy */
		free(auth);
	}

	t.tty = isatty(STDERR_FILENO);
	t.on = !quiet && (progress || t.tty);
	nc = getenv("NO_COLOR");
	term = getenv("TERM");
	t.color = t.tty && !(nc && *nc) && !(term && !strcmp(term, "dumb"));
	t.start = t.last = pb_clock();
	t.total = -1;

	f.cap = (size_t)jobs;
	f.q = ecalloc(f.cap, sizeof *f.q);
	f.argc = argc;
	f.argv = argv;
	f.engine = t.q;
	f.lines = -1;
	f.count = t.on;
	pthread_mutex_init(&f.mu, NULL);
	pthread_cond_init(&f.notfull, NULL);
	if ((errno = pthread_create(&tid, NULL, reader, &f)))
		die("cannot start the reader: %s", strerror(errno));
	run(&t, &f);
	pthread_join(tid, NULL);

	pb_query_counts(t.q, &c);
	pb_query_free(t.q);
	free(f.q);
	pthread_mutex_destroy(&f.mu);
	pthread_cond_destroy(&f.notfull);
	pb_cache_close(qo.cache);
	free(url);
	free(stops);
	cJSON_Delete(extra);
	if (key) {
		explicit_bzero(key, strlen(key));
		free(key);
	}
	if (fshut(stdout, "<stdout>"))
		return PB_EXIT_USAGE;
	if (t.sys)
		return PB_EXIT_USAGE;
	return c.failed || t.bad ? PB_EXIT_RECORDS : PB_EXIT_OK;
}
