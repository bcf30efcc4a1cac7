/* pb-score - the reward stage: adds "reward" and "score" to each record. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../lib/pb.h"
#include "util.h"

#define DEFAULT_CMD_TIMEOUT 300 /* seconds: a reward model's start included */
#define DEFAULT_JUDGE_MODEL "gpt-4o-mini" /* OpenAI's; Anthropic has none */
#define MAXCOMP 16

static const char usage_text[] =
	"usage: pb-score [--scorer NAME | --blend NAME:W,...] [--reference PATH]\n"
	"                [--response PATH] [--tolerance X] [--regex ERE]\n"
	"                [--case-sensitive] [--keep-punct] [--no-articles]\n"
	"                [--max-words N] [--jq EXPR] [--scale LO:HI]\n"
	"                [--judge FILE] [--judge-model M] [--judge-url URL]\n"
	"                [--judge-api API] [--judge-scale N|pass-fail]\n"
	"                [--judge-key-env VAR | --judge-key-file FILE]\n"
	"                [--judge-header NAME:VALUE]... [--judge-header-file FILE]...\n"
	"                [-j N] [--cache DIR | --no-cache]\n"
	"                [--summary] [-q] [--cmd-timeout S] [--cmd-plain] [FILE ...]\n"
	"                [--cmd PROG [ARG ...]]\n";

static const char help_text[] =
	"Reads records (JSON lines) from the FILEs or standard input, adds\n"
	"\"reward\" and \"score\", and writes them to standard output in order.\n"
	"\n"
	"  --scorer NAME     number (default), bool, exact, contains, regex, choice,\n"
	"                    length, jq, cmd, judge\n"
	"  --blend SPEC      several scorers, weighted: number:0.8,length:0.2\n"
	"  --reference PATH  dotted path of the reference (default task.answer)\n"
	"  --response PATH   dotted path of the response text (default response.text)\n"
	"  --tolerance X     number, regex: allowed difference (default 1e-6)\n"
	"  --regex ERE       regex: the answer is the first group (or whole match)\n"
	"  --case-sensitive  exact, contains, regex: do not fold case\n"
	"  --keep-punct      exact, contains, regex: keep punctuation around text\n"
	"  --no-articles     exact, contains, regex: drop the words a, an, the\n"
	"  --max-words N     length: full reward up to N words (default 100)\n"
	"  --jq EXPR         jq: the reward is EXPR's value on the whole record\n"
	"  --scale LO:HI     jq, cmd: rewards run from LO to HI (default 0:1)\n"
	"  --judge FILE      judge: the rubric template ({task} {reference}\n"
	"                    {response} {prompt})\n"
	"  --judge-model M   judge: model (default $PB_MODEL, else " DEFAULT_JUDGE_MODEL "\n"
	"                    for openai; anthropic has no default)\n"
	"  --judge-url URL   judge: API base (default $OPENAI_BASE_URL or\n"
	"                    $ANTHROPIC_BASE_URL, else the provider's)\n"
	"  --judge-api API   judge: openai (default), anthropic or azure\n"
	"  --judge-scale S   judge: a score out of S (default 10), or pass-fail\n"
	"  --judge-key-env VAR\n"
	"                    judge: the API key is $VAR (default $OPENAI_API_KEY\n"
	"                    or $ANTHROPIC_API_KEY)\n"
	"  --judge-key-file FILE\n"
	"                    judge: the API key is the first line of FILE\n"
	"  --judge-header NAME:VALUE\n"
	"                    judge: send this header too (repeatable)\n"
	"  --judge-header-file FILE\n"
	"                    judge: send the NAME:VALUE lines of FILE, as secrets\n"
	"  -j, --jobs N      judge: requests in flight (default 8)\n"
	"  --cache DIR       judge: the response cache (default pb-query's)\n"
	"  --no-cache        judge: neither read nor write the cache\n"
	"  --summary         print a count of the outcomes on standard error\n"
	"  -q, --quiet       do not report the records left unscored one by one\n"
	"  --cmd-timeout S   cmd: seconds an answer may take (default 300, 0: no\n"
	"                    limit); then the record is unscored, the program\n"
	"                    started again\n"
	"  --cmd-plain       cmd: take answers without the record's pull\n"
	"                    (unchecked; see pb-score(1))\n"
	"  --cmd PROG [ARG ...]\n"
	"                    cmd: a program reading records as JSON lines and\n"
	"                    writing one answer per line, {\"pull\":ID,\"reward\":X};\n"
	"                    takes the rest of the command line\n"
	"  -h, --help        show this help\n"
	"      --version     show the version\n";

static void
usage(void)
{
	fputs(usage_text, stderr);
	exit(PB_EXIT_USAGE);
}

struct run {
	struct pb_blend *b;
	long bad;               /* lines that were not records */
	int sys;                /* a file could not be read */
};

static int
out_record(cJSON *rec, void *arg, char err[PB_ERRLEN])
{
	int rv = pb_jsonl_write(stdout, rec);

	(void)arg;
	cJSON_Delete(rec);
	if (rv < 0) {
		snprintf(err, PB_ERRLEN, "write error on <stdout>: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static int quiet; /* -q: the records' own messages are not shown */

static void
warn_record(const char *msg, void *arg)
{
	(void)arg;
	if (!quiet)
		warnx_("%s", msg);
}

static int
onrec(cJSON *rec, const struct pb_where *at, const char *why, void *arg)
{
	struct run *r = arg;
	char err[PB_ERRLEN];

	if (!rec) {
		/* Not a record: nothing to pass on, so report and go on. */
		warnx_("%s:%ld: %s", at->file, at->line, why);
		r->bad++;
		return 0;
	}
	while (!pb_blend_room(r->b))
		if (pb_blend_step(r->b, -1, err) < 0)
			die("%s", err);
	if (pb_blend_add(r->b, rec, at->file, at->line, at->text, at->len, err) < 0)
		die("%s", err);
	return 0;
}

/* The whole of the --judge template file; dies if it is unreadable or
 * empty. */
static char *
slurp(const char *path)
{
	FILE *fp = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (!fp)
		die("--judge: %s: %s", path, strerror(errno));
	do {
		if (len + 4096 + 1 > cap)
			buf = erealloc(buf, cap = cap ? cap * 2 : 8192);
		n = fread(buf + len, 1, cap - len - 1, fp);
		len += n;
	} while (n > 0);
	if (ferror(fp))
		die("--judge: %s: %s", path, strerror(errno));
	fclose(fp);
	buf[len] = '\0';
	if (!len)
		die("--judge: %s is empty", path);
	return buf;
}

/* Is name a scorer?  The built-in ones are pb_scorer_init's to know; its
 * message (in err) lists every name, these three too. */
static int
known(const char *name, char err[PB_ERRLEN])
{
	struct pb_scorer sc;

	return !strcmp(name, "jq") || !strcmp(name, "cmd") ||
	       !strcmp(name, "judge") || pb_scorer_init(&sc, name, err) == 0;
}

/* optarg, refused if empty ("--cache: empty folder name"). */
static const char *
nonempty(const char *opt, const char *what)
{
	if (!*optarg)
		die("%s: empty %s", opt, what);
	return optarg;
}

/* Reads --blend's NAME:WEIGHT,... into names and weights. */
static size_t
parse_blend(char *spec, const char **names, double *w)
{
	char *tok, *save = NULL, *colon, *e, err[PB_ERRLEN];
	size_t n = 0, i;

	for (tok = strtok_r(spec, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (n == MAXCOMP)
			die("--blend: more than %d scorers", MAXCOMP);
		if (!(colon = strchr(tok, ':')))
			die("--blend: '%s' is not NAME:WEIGHT", tok);
		*colon = '\0';
		if (!known(tok, err))
			die("--blend: %s", err);
		errno = 0;
		w[n] = strtod(colon + 1, &e);
		if (e == colon + 1 || *e || errno || !isfinite(w[n]) || !(w[n] > 0))
			die("--blend: the weight of %s, '%s', is not a number above 0",
			    tok, colon + 1);
		for (i = 0; i < n; i++)
			if (!strcmp(names[i], tok))
				die("--blend: %s named twice", tok);
		names[n++] = tok;
	}
	if (!n)
		die("--blend: no scorers");
	return n;
}

static void
unreadable(const char *why, void *arg)
{
	struct run *r = arg;

	warnx_("%s", why);
	r->sys = 1;
}

int
main(int argc, char *argv[])
{
	enum { O_SCORER = 256, O_BLEND, O_REF, O_RESP, O_TOL, O_REGEX, O_CASE,
	       O_PUNCT, O_ART, O_WORDS, O_JQ, O_SCALE, O_JUDGE, O_JMODEL, O_JURL,
	       O_JAPI, O_JSCALE, O_JKEY, O_CACHE, O_NOCACHE, O_SUMMARY, O_VERSION,
	       O_JKEYFILE, O_JHEADER, O_JHEADERFILE, O_CTIMEOUT, O_CPLAIN };
	static const struct option opts[] = {
		{ "scorer", required_argument, NULL, O_SCORER },
		{ "blend", required_argument, NULL, O_BLEND },
		{ "reference", required_argument, NULL, O_REF },
		{ "response", required_argument, NULL, O_RESP },
		{ "tolerance", required_argument, NULL, O_TOL },
		{ "regex", required_argument, NULL, O_REGEX },
		{ "case-sensitive", no_argument, NULL, O_CASE },
		{ "keep-punct", no_argument, NULL, O_PUNCT },
		{ "no-articles", no_argument, NULL, O_ART },
		{ "max-words", required_argument, NULL, O_WORDS },
		{ "jq", required_argument, NULL, O_JQ },
		{ "scale", required_argument, NULL, O_SCALE },
		{ "judge", required_argument, NULL, O_JUDGE },
		{ "judge-model", required_argument, NULL, O_JMODEL },
		{ "judge-url", required_argument, NULL, O_JURL },
		{ "judge-api", required_argument, NULL, O_JAPI },
		{ "judge-scale", required_argument, NULL, O_JSCALE },
		{ "judge-key-env", required_argument, NULL, O_JKEY },
		{ "judge-key-file", required_argument, NULL, O_JKEYFILE },
		{ "judge-header", required_argument, NULL, O_JHEADER },
		{ "judge-header-file", required_argument, NULL, O_JHEADERFILE },
		{ "jobs", required_argument, NULL, 'j' },
		{ "cache", required_argument, NULL, O_CACHE },
		{ "no-cache", no_argument, NULL, O_NOCACHE },
		{ "summary", no_argument, NULL, O_SUMMARY },
		{ "quiet", no_argument, NULL, 'q' },
		{ "cmd-timeout", required_argument, NULL, O_CTIMEOUT },
		{ "cmd-plain", no_argument, NULL, O_CPLAIN },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, O_VERSION },
		{ NULL, 0, NULL, 0 }
	};
	static char obuf[1 << 16];
	struct run r = { 0 };
	struct pb_scorer sc[MAXCOMP];
	struct pb_component comp[MAXCOMP];
	struct pb_blend_opts bo = { 0 };
	struct pb_blend_counts cnt;
	const char *names[MAXCOMP], *scorer = NULL, *regex = NULL, *ref = NULL;
	const char *resp = NULL, *textopt = NULL, *jq = NULL, *judge = NULL;
	const char *jmodel = NULL, *jurl = NULL, *jkeyenv = NULL, *cachedir = NULL;
	const char *judgeopt = NULL, *cmdopt = NULL, **headers = NULL, *jkeyfile = NULL;
	struct pb_llm_conn conn = { 0 };
	char err[PB_ERRLEN], *blend = NULL, **cmd = NULL, *tmpl = NULL;
	char *auth = NULL, *key = NULL;
	double tol = -1, w[MAXCOMP];
	long maxwords = -1, jobs = 8;
	unsigned norm = 0;
	size_t n, i;
	int c, summary = 0, nocache = 0, has_scale = 0, status;
	/* which kinds are in use: jq, cmd, judge, text options apply,
	 * --tolerance applies, length */
	int has[6] = { 0 };

	setprog(argv[0]);
	/* --cmd takes the rest of the line, so its arguments are never
	 * mistaken for ours. */
	for (c = 1; c < argc; c++) {
		if (!strcmp(argv[c], "--"))
			break;
		if (!strcmp(argv[c], "--cmd")) {
			if (c + 1 == argc)
				die("--cmd needs a program");
			cmd = argv + c + 1;
			argv[c] = NULL;
			argc = c;
			break;
		}
	}
	bo.judge.retry.retries = 5;
	bo.judge.retry.base_s = PB_RETRY_BASE;
	bo.judge.retry.cap_s = PB_RETRY_CAP;
	bo.judge.retry.max_wait_s = 120;
	bo.judge_scale.scale = 10;
	bo.cmd_timeout = DEFAULT_CMD_TIMEOUT;
	while ((c = getopt_long(argc, argv, "hj:q", opts, NULL)) != -1) {
		switch (c) {
		case O_SCORER: scorer = optarg; break;
		case O_BLEND: blend = optarg; break;
		case O_REF: ref = optarg; break;
		case O_RESP: resp = optarg; break;
		case O_TOL: tol = numarg("--tolerance", optarg, 0, HUGE_VAL); break;
		case O_REGEX: regex = optarg; break;
		case O_CASE: norm |= PB_NORM_KEEP_CASE; textopt = "--case-sensitive"; break;
		case O_PUNCT: norm |= PB_NORM_KEEP_PUNCT; textopt = "--keep-punct"; break;
		case O_ART: norm |= PB_NORM_NO_ARTICLES; textopt = "--no-articles"; break;
		case O_WORDS: maxwords = intarg("--max-words", optarg, 1, 100000000); break;
		case O_JQ: jq = nonempty("--jq", "program"); break;
		case O_SCALE:
			if (pb_reward_scale_parse(&bo.scale, optarg, err) < 0)
				die("--scale: '%s' is %s", optarg, err);
			has_scale = 1;
			break;
		case O_JUDGE: judge = optarg; break;
		case O_JMODEL:
			jmodel = nonempty("--judge-model", "model name");
			judgeopt = "--judge-model";
			break;
		case O_JURL: jurl = optarg; judgeopt = "--judge-url"; break;
		case O_JAPI:
			if (!strcmp(optarg, "openai"))
				bo.judge.par.api = PB_API_OPENAI;
			else if (!strcmp(optarg, "anthropic"))
				bo.judge.par.api = PB_API_ANTHROPIC;
			else if (!strcmp(optarg, "azure"))
				bo.judge.par.api = PB_API_AZURE;
			else
				die("--judge-api: '%s' is not openai, anthropic or azure", optarg);
			judgeopt = "--judge-api";
			break;
		case O_JSCALE:
			if (pb_judge_scale_parse(&bo.judge_scale, optarg, err) < 0)
				die("--judge-scale: %s", err);
			judgeopt = "--judge-scale";
			break;
		case O_JKEY: jkeyenv = optarg; judgeopt = "--judge-key-env"; break;
		case O_JKEYFILE: jkeyfile = optarg; judgeopt = "--judge-key-file"; break;
		case O_JHEADER:
			if (pb_llm_conn_header(&conn, optarg, 0, err) < 0)
				die("--judge-header: %s", err);
			judgeopt = "--judge-header";
			break;
		case O_JHEADERFILE:
			if (pb_llm_conn_header_file(&conn, optarg, err) < 0)
				die("--judge-header-file: %s", err);
			judgeopt = "--judge-header-file";
			break;
		case 'j': jobs = intarg("-j", optarg, 1, 1024); judgeopt = "-j"; break;
		case O_CACHE:
			cachedir = nonempty("--cache", "folder name");
			judgeopt = "--cache";
			break;
		case O_NOCACHE: nocache = 1; judgeopt = "--no-cache"; break;
		case O_SUMMARY: summary = 1; break;
		case 'q': quiet = 1; break;
		case O_CTIMEOUT:
			bo.cmd_timeout = numarg("--cmd-timeout", optarg, 0, 1e9);
			cmdopt = "--cmd-timeout";
			break;
		case O_CPLAIN: bo.cmd_plain = 1; cmdopt = "--cmd-plain"; break;
		case 'h':
			fputs(usage_text, stdout);
			fputs(help_text, stdout);
			exit(fshut(stdout, "<stdout>") ? PB_EXIT_USAGE : PB_EXIT_OK);
		case O_VERSION: version();
		default: usage();
		}
	}

	/* The components: --blend, --scorer, or the one an option implies. */
	if (blend && scorer)
		die("--blend and --scorer go alone");
	if (blend)
		n = parse_blend(blend, names, w);
	else {
		if (!scorer)
			scorer = regex ? "regex" : jq ? "jq" : cmd ? "cmd" : judge ? "judge" :
			         "number";
		/* an unknown name is refused by pb_scorer_init below */
		names[0] = scorer;
		w[0] = 1;
		n = 1;
	}
	for (i = 0; i < n; i++) {
		comp[i].name = names[i];
		comp[i].weight = w[i];
		comp[i].sc = NULL;
		if (!strcmp(names[i], "jq")) {
			comp[i].kind = PB_COMP_JQ;
			has[0] = 1;
		} else if (!strcmp(names[i], "cmd")) {
			comp[i].kind = PB_COMP_CMD;
			has[1] = 1;
		} else if (!strcmp(names[i], "judge")) {
			comp[i].kind = PB_COMP_JUDGE;
			has[2] = 1;
		} else {
			comp[i].kind = PB_COMP_BUILTIN;
			if (pb_scorer_init(&sc[i], names[i], err) < 0)
				die("%s", err);
			comp[i].sc = &sc[i];
			switch (sc[i].kind) {
			case PB_SCORER_REGEX:
				if (!regex)
					die("--scorer regex needs --regex ERE");
				if (pb_scorer_regex(&sc[i], regex, err) < 0)
					die("--regex: %s", err);
				has[3] = 1;
				has[4] = 1;
				break;
			case PB_SCORER_NUMBER: has[4] = 1; break;
			case PB_SCORER_EXACT: case PB_SCORER_CONTAINS: has[3] = 1; break;
			case PB_SCORER_LENGTH: has[5] = 1; break;
			default: break;
			}
			if (ref) {
				if (!*ref)
					die("--reference: empty path");
				sc[i].reference = ref;
			}
			if (resp) {
				if (!*resp)
					die("--response: empty path");
				sc[i].response = resp;
			}
			if (tol >= 0)
				sc[i].tolerance = tol;
			if (maxwords > 0)
				sc[i].max_words = maxwords;
			sc[i].norm = norm;
		}
	}
	/* Options that would silently do nothing are mistakes. */
	if (regex) {
		for (i = 0; i < n; i++)
			if (comp[i].sc && comp[i].sc->kind == PB_SCORER_REGEX)
				break;
		if (i == n)
			die("--regex applies only to --scorer regex");
	}
	if (textopt && !has[3])
		die("%s does not apply to --scorer %s", textopt, blend ? "blend" : scorer);
	if (tol >= 0 && !has[4])
		die("--tolerance does not apply to --scorer %s", blend ? "blend" : scorer);
	if (maxwords > 0 && !has[5])
		die("--max-words applies only to the length scorer");
	if (has[0] && !jq)
		die("the jq scorer needs --jq EXPR");
	if (jq && !has[0])
		die("--jq applies only to the jq scorer");
	if (has[1] && !cmd)
		die("the cmd scorer needs --cmd PROG [ARG ...]");
	if (cmd && !has[1])
		die("--cmd applies only to the cmd scorer");
	if (cmdopt && !has[1])
		die("%s applies only to the cmd scorer", cmdopt);
	if (has_scale && !has[0] && !has[1])
		die("--scale applies only to the jq and cmd scorers");
	if (has[2] && !judge)
		die("the judge scorer needs --judge FILE");
	if ((judge || judgeopt) && !has[2])
		die("%s applies only to the judge scorer", judge ? "--judge" : judgeopt);
	if (cachedir && nocache)
		die("--cache and --no-cache go alone");

	bo.comp = comp;
	bo.ncomp = n;
	bo.blend = blend != NULL;
	bo.reference = ref && *ref ? ref : "task.answer";
	bo.response = resp && *resp ? resp : "response.text";
	bo.jq_prog = jq;
	bo.cmd = cmd;
	bo.out = out_record;
	bo.warn = warn_record;
	bo.arg = &r;
	if (jkeyenv && jkeyfile)
		die("--judge-key-env and --judge-key-file go alone");
	if (judge) {
		tmpl = slurp(judge);
		if (pb_judge_check(tmpl, err) < 0)
			die("--judge: %s: %s", judge, err);
		bo.judge_tmpl = tmpl;
		bo.judge.par.model = jmodel ? jmodel : getenv("PB_MODEL");
		if (bo.judge.par.model && !*bo.judge.par.model)
			bo.judge.par.model = NULL;
		if (!bo.judge.par.model && bo.judge.par.api == PB_API_ANTHROPIC)
			die("--judge-api anthropic: no default model; give --judge-model "
			    "(one of Anthropic's current models, such as claude-haiku-4-5) "
			    "or set $PB_MODEL");
		if (!bo.judge.par.model && bo.judge.par.api == PB_API_OPENAI)
			bo.judge.par.model = DEFAULT_JUDGE_MODEL;
		if (pb_llm_conn_setup(&conn, bo.judge.par.api, jurl, &bo.judge.par.model,
		                      err) < 0)
			die("--judge-url: %s", err);
		if (pb_llm_key(jkeyfile, jkeyenv, pb_llm_key_env(bo.judge.par.api), &key,
		               err) < 0)
			die("%s: %s", jkeyfile ? "--judge-key-file" : "--judge-key-env", err);
		bo.judge.secret = key;
		bo.judge.secrets = (const char *const *)conn.secrets;
		if (pb_llm_headers(bo.judge.par.api, key, (const char *const *)conn.headers,
		                   &headers, &auth) < 0)
			die("out of memory");
		if (!nocache)
			bo.judge.cache = open_cache(cachedir);
		bo.judge.http.parallel = (int)jobs;
		bo.judge.http.timeout_ms = 300000;
		bo.judge.http.connect_timeout_ms = 10000;
		bo.judge.http.headers = headers;
		bo.judge.http.cacert = conn.cacert;
		bo.judge.http.capath = conn.capath;
		bo.judge.http.max_response = 16L << 20;
		bo.judge.url = conn.url;
		bo.judge.seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	}
	if (!(r.b = pb_blend_new(&bo, err)))
		die("--%s: %s", has[0] && strstr(err, "jq") ? "jq" :
		    has[1] && cmd && strstr(err, cmd[0]) ? "cmd" : "scorer", err);
	if (auth) {
		explicit_bzero(auth, strlen(auth));
		free(auth);
	}
	free(headers);

	setvbuf(stdout, obuf, _IOFBF, sizeof obuf);
	/* A file that cannot be read is reported and the others still
	 * scored. */
	pb_jsonl_files_all(argc - optind, argv + optind, onrec, &r, unreadable);
	pb_blend_finish(r.b);
	while (!pb_blend_idle(r.b))
		if (pb_blend_step(r.b, -1, err) < 0)
			die("%s", err);
	pb_blend_counts(r.b, &cnt);
	pb_blend_free(r.b);
	status = cnt.failed || r.bad ? PB_EXIT_RECORDS : PB_EXIT_OK;
	if (r.sys)
		status = PB_EXIT_USAGE;
	if (fshut(stdout, "<stdout>"))
		status = PB_EXIT_USAGE;
	if (summary) {
		char partial[64] = "";

		if (cnt.status[PB_SCORE_PARTIAL])
			snprintf(partial, sizeof partial, ", %ld partial",
			         cnt.status[PB_SCORE_PARTIAL]);
		warnx_("%ld records: %ld ok, %ld wrong, %ld no-answer, %ld unscored%s; "
		       "%ld bad lines", cnt.done, cnt.status[0], cnt.status[1],
		       cnt.status[2], cnt.status[3], partial, r.bad);
	}
	for (i = 0; i < n; i++)
		if (comp[i].sc)
			pb_scorer_free(&sc[i]);
	pb_cache_close(bo.judge.cache);
	free(tmpl);
	pb_llm_conn_free(&conn);
	if (key) {
		explicit_bzero(key, strlen(key));
		free(key);
	}
	return status;
}
