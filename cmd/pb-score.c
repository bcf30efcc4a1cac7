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

static _Noreturn void
usage(void)
{
	fputs(usage_text, stderr);
	exit(PB_EXIT_USAGE);
}

struct score_loop {
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
	struct score_loop *r = arg;
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
		die("--judge: %s:", path);
	do {
		if (len + 4096 + 1 > cap)
			buf = erealloc(buf, cap = cap ? cap * 2 : 8192);
		n = fread(buf + len, 1, cap - len - 1, fp);
		len += n;
	} while (n > 0);
	if (ferror(fp))
		die("--judge: %s:", path);
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
	struct score_loop *r = arg;

	warnx_("%s", why);
	r->sys = 1;
}

/* ---- the options ---------------------------------------------------- */

/* pb-score's own options; the judge's client options (and --cache,
 * --no-cache) are enum pb_client_opt's. */
enum { O_SCORER = 256, O_BLEND, O_REF, O_RESP, O_TOL, O_REGEX, O_CASE,
       O_PUNCT, O_ART, O_WORDS, O_JQ, O_SCALE, O_JUDGE, O_JSCALE, O_SUMMARY,
       O_VERSION, O_CTIMEOUT, O_CPLAIN };

static const struct option options[] = {
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
	{ "judge-model", required_argument, NULL, PB_CLIENT_MODEL },
	{ "judge-url", required_argument, NULL, PB_CLIENT_URL },
	{ "judge-api", required_argument, NULL, PB_CLIENT_API },
	{ "judge-scale", required_argument, NULL, O_JSCALE },
	{ "judge-key-env", required_argument, NULL, PB_CLIENT_KEY_ENV },
	{ "judge-key-file", required_argument, NULL, PB_CLIENT_KEY_FILE },
	{ "judge-header", required_argument, NULL, PB_CLIENT_HEADER },
	{ "judge-header-file", required_argument, NULL, PB_CLIENT_HEADER_FILE },
	{ "jobs", required_argument, NULL, 'j' },
	{ "cache", required_argument, NULL, PB_CLIENT_CACHE },
	{ "no-cache", no_argument, NULL, PB_CLIENT_NO_CACHE },
	{ "summary", no_argument, NULL, O_SUMMARY },
	{ "quiet", no_argument, NULL, 'q' },
	{ "cmd-timeout", required_argument, NULL, O_CTIMEOUT },
	{ "cmd-plain", no_argument, NULL, O_CPLAIN },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, O_VERSION },
	{ NULL, 0, NULL, 0 }
};

/* What the options say, besides the engine's own (struct pb_blend_opts)
 * and the judge's client. */
struct choices {
	const char *scorer, *regex, *ref, *resp, *jq, *judge;
	const char *textopt;    /* the last text option given, or NULL */
	const char *cmdopt;     /* the last of the cmd scorer's, or NULL */
	char judgeopt[32];      /* the last of the judge's, or "" */
	char *blend;
	char **cmd;             /* --cmd's program and arguments */
	double tol;             /* --tolerance, or -1 */
	long maxwords;          /* --max-words, or -1 */
	unsigned norm;
	int summary, has_scale;
};

/* --cmd takes the rest of the line, so its arguments are never mistaken
 * for ours: cut there, it is the program. */
static char **
split_cmd(int *argc, char **argv)
{
	int i;

	for (i = 1; i < *argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "--cmd")) {
			if (i + 1 == *argc)
				die("--cmd needs a program");
			argv[i] = NULL;
			*argc = i;
			return argv + i + 1;
		}
	}
	return NULL;
}

/* The scorers' own options. */
static void
scorer_option(int c, struct choices *ch, struct pb_blend_opts *bo)
{
	char err[PB_ERRLEN];

	switch (c) {
	case O_SCORER: ch->scorer = optarg; break;
	case O_BLEND: ch->blend = optarg; break;
	case O_REF: ch->ref = optarg; break;
	case O_RESP: ch->resp = optarg; break;
	case O_TOL: ch->tol = numarg("--tolerance", optarg, 0, HUGE_VAL); break;
	case O_REGEX: ch->regex = optarg; break;
	case O_CASE: ch->norm |= PB_NORM_KEEP_CASE; ch->textopt = "--case-sensitive"; break;
	case O_PUNCT: ch->norm |= PB_NORM_KEEP_PUNCT; ch->textopt = "--keep-punct"; break;
	case O_ART: ch->norm |= PB_NORM_NO_ARTICLES; ch->textopt = "--no-articles"; break;
	case O_WORDS: ch->maxwords = intarg("--max-words", optarg, 1, 100000000); break;
	case O_JQ: ch->jq = nonempty("--jq", "program"); break;
	case O_SCALE:
		if (pb_reward_scale_parse(&bo->scale, optarg, err) < 0)
			die("--scale: '%s' is %s", optarg, err);
		ch->has_scale = 1;
		break;
	case O_CTIMEOUT:
		bo->cmd_timeout = numarg("--cmd-timeout", optarg, 0, 1e9);
		ch->cmdopt = "--cmd-timeout";
		break;
	case O_CPLAIN: bo->cmd_plain = 1; ch->cmdopt = "--cmd-plain"; break;
	}
}

/* Reads the options; returns optind. */
static int
parse(int argc, char **argv, struct choices *ch, struct pb_blend_opts *bo,
      struct pb_client *cl)
{
	char err[PB_ERRLEN];
	int c, at;

	while ((c = getopt_long(argc, argv, "hj:q", options, &at)) != -1) {
		switch (c) {
		case PB_CLIENT_API: case PB_CLIENT_MODEL: case PB_CLIENT_URL:
		case PB_CLIENT_KEY_ENV: case PB_CLIENT_KEY_FILE: case PB_CLIENT_HEADER:
		case PB_CLIENT_HEADER_FILE: case PB_CLIENT_CACHE: case PB_CLIENT_NO_CACHE:
			if (pb_client_option(cl, (enum pb_client_opt)c, optarg, err) < 0)
				die("%s", err);
			snprintf(ch->judgeopt, sizeof ch->judgeopt, "--%s", options[at].name);
			break;
		case O_JUDGE: ch->judge = optarg; break;
		case O_JSCALE:
			if (pb_judge_scale_parse(&bo->judge_scale, optarg, err) < 0)
				die("--judge-scale: %s", err);
			snprintf(ch->judgeopt, sizeof ch->judgeopt, "--judge-scale");
			break;
		case 'j':
			cl->jobs = intarg("-j", optarg, 1, 1024);
			snprintf(ch->judgeopt, sizeof ch->judgeopt, "-j");
			break;
		case O_SUMMARY: ch->summary = 1; break;
		case 'q': quiet = 1; break;
		case 'h':
			fputs(usage_text, stdout);
			fputs(help_text, stdout);
			exit(fshut(stdout, "<stdout>") ? PB_EXIT_USAGE : PB_EXIT_OK);
		case O_VERSION: version();
		case '?': usage();
		default: scorer_option(c, ch, bo);
		}
	}
	return optind;
}

/* ---- the components ------------------------------------------------- */

/* What the components in use are, as far as the options care. */
struct uses {
	int jq, cmd, judge;  /* a component of that kind */
	int regex;           /* the regex scorer */
	int text;            /* one the text options apply to */
	int tolerance;       /* one --tolerance applies to */
	int length;          /* the length scorer */
};

/* The components that are not built-in scorers, by name. */
static const struct {
	const char *name;
	enum pb_comp_kind kind;
} engines[] = {
	{ "jq", PB_COMP_JQ },
	{ "cmd", PB_COMP_CMD },
	{ "judge", PB_COMP_JUDGE },
};

/* Which options a built-in scorer takes (any other takes none of these). */
static const struct {
	enum pb_scorer_kind kind;
	int text, tolerance, length;
} takes[] = {
	{ PB_SCORER_REGEX, 1, 1, 0 },
	{ PB_SCORER_NUMBER, 0, 1, 0 },
	{ PB_SCORER_EXACT, 1, 0, 0 },
	{ PB_SCORER_CONTAINS, 1, 0, 0 },
	{ PB_SCORER_LENGTH, 0, 0, 1 },
};

/* A built-in scorer named name, with the options that apply to it. */
static void
builtin(struct pb_scorer *sc, const char *name, const struct choices *ch,
        struct uses *u)
{
	char err[PB_ERRLEN];
	size_t k;

	if (pb_scorer_init(sc, name, err) < 0)
		die("%s", err);
	if (sc->kind == PB_SCORER_REGEX) {
		if (!ch->regex)
			die("--scorer regex needs --regex ERE");
		if (pb_scorer_regex(sc, ch->regex, err) < 0)
			die("--regex: %s", err);
		u->regex = 1;
	}
	for (k = 0; k < sizeof takes / sizeof *takes; k++)
		if (takes[k].kind == sc->kind) {
			u->text |= takes[k].text;
			u->tolerance |= takes[k].tolerance;
			u->length |= takes[k].length;
		}
	if (ch->ref) {
		if (!*ch->ref)
			die("--reference: empty path");
		sc->reference = ch->ref;
	}
	if (ch->resp) {
		if (!*ch->resp)
			die("--response: empty path");
		sc->response = ch->resp;
	}
	if (ch->tol >= 0)
		sc->tolerance = ch->tol;
	if (ch->maxwords > 0)
		sc->max_words = ch->maxwords;
	sc->norm = ch->norm;
}

/* The components: --blend's, --scorer's, or the one an option implies
 * (an unknown name is refused by pb_scorer_init).  Returns how many. */
static size_t
components(struct choices *ch, struct pb_component *comp, struct pb_scorer *sc,
           struct uses *u)
{
	const char *names[MAXCOMP];
	double w[MAXCOMP];
	size_t n = 1, i, k;

	if (ch->blend && ch->scorer)
		die("--blend and --scorer go alone");
	if (ch->blend)
		n = parse_blend(ch->blend, names, w);
	else {
		if (!ch->scorer)
			ch->scorer = ch->regex ? "regex" : ch->jq ? "jq" : ch->cmd ? "cmd" :
			             ch->judge ? "judge" : "number";
		names[0] = ch->scorer;
		w[0] = 1;
	}
	for (i = 0; i < n; i++) {
		comp[i].name = names[i];
		comp[i].weight = w[i];
		comp[i].sc = NULL;
		comp[i].kind = PB_COMP_BUILTIN;
		for (k = 0; k < sizeof engines / sizeof *engines; k++)
			if (!strcmp(names[i], engines[k].name))
				comp[i].kind = engines[k].kind;
		u->jq |= comp[i].kind == PB_COMP_JQ;
		u->cmd |= comp[i].kind == PB_COMP_CMD;
		u->judge |= comp[i].kind == PB_COMP_JUDGE;
		if (comp[i].kind == PB_COMP_BUILTIN) {
			builtin(&sc[i], names[i], ch, u);
			comp[i].sc = &sc[i];
		}
	}
	return n;
}

/* Options that would silently do nothing are mistakes, and so are
 * components without what they need: in this order, the first found. */
static void
check_applies(const struct choices *ch, const struct uses *u)
{
	const char *jopt = *ch->judgeopt ? ch->judgeopt : NULL;
	const struct {
		const char *opt;   /* the option given, or NULL */
		int used;          /* a component it applies to is in use */
		const char *only;  /* "OPT applies only to ONLY"; NULL: "OPT does
		                    * not apply to --scorer NAME" */
		const char *needs; /* in use, but OPT not given: the message */
	} rules[] = {
		{ ch->regex ? "--regex" : NULL, u->regex, "--scorer regex", NULL },
		{ ch->textopt, u->text, NULL, NULL },
		{ ch->tol >= 0 ? "--tolerance" : NULL, u->tolerance, NULL, NULL },
		{ ch->maxwords > 0 ? "--max-words" : NULL, u->length,
		  "the length scorer", NULL },
		{ ch->jq ? "--jq" : NULL, u->jq, "the jq scorer",
		  "the jq scorer needs --jq EXPR" },
		{ ch->cmd ? "--cmd" : NULL, u->cmd, "the cmd scorer",
		  "the cmd scorer needs --cmd PROG [ARG ...]" },
		{ ch->cmdopt, u->cmd, "the cmd scorer", NULL },
		{ ch->has_scale ? "--scale" : NULL, u->jq || u->cmd,
		  "the jq and cmd scorers", NULL },
		{ ch->judge ? "--judge" : NULL, u->judge, "the judge scorer",
		  "the judge scorer needs --judge FILE" },
		{ jopt, u->judge, "the judge scorer", NULL },
	};
	size_t i;

	for (i = 0; i < sizeof rules / sizeof *rules; i++) {
		if (rules[i].used && !rules[i].opt && rules[i].needs)
			die("%s", rules[i].needs);
		if (!rules[i].opt || rules[i].used)
			continue;
		if (rules[i].only)
			die("%s applies only to %s", rules[i].opt, rules[i].only);
		die("%s does not apply to --scorer %s", rules[i].opt,
		    ch->blend ? "blend" : ch->scorer);
	}
}

/* The judge's rubric and its client (tmpl: the rubric, to free). */
static void
judge_setup(const struct choices *ch, struct pb_client *cl,
            struct pb_blend_opts *bo, char **tmpl)
{
	char err[PB_ERRLEN], warn[PB_ERRLEN];

	if (pb_client_check(cl, err) < 0)
		die("%s", err);
	if (!ch->judge)
		return;
	*tmpl = slurp(ch->judge);
	if (pb_judge_check(*tmpl, err) < 0)
		die("--judge: %s: %s", ch->judge, err);
	bo->judge_tmpl = *tmpl;
	if (pb_client_setup(cl, &bo->judge, warn, err) < 0)
		die("%s", err);
	if (*warn)
		warnx_("%s", warn);
}

/* ---- the run -------------------------------------------------------- */

static void
summary(const struct pb_blend_counts *cnt, long bad)
{
	char partial[64] = "";

	if (cnt->status[PB_SCORE_PARTIAL])
		snprintf(partial, sizeof partial, ", %ld partial",
		         cnt->status[PB_SCORE_PARTIAL]);
	warnx_("%ld records: %ld ok, %ld wrong, %ld no-answer, %ld unscored%s; "
	       "%ld bad lines", cnt->done, cnt->status[0], cnt->status[1],
	       cnt->status[2], cnt->status[3], partial, bad);
}

/* Scores the n files (or stdin) through r's engine: a file that cannot be
 * read is reported and the others still scored. */
static void
score_all(struct score_loop *r, int n, char **files, struct pb_blend_counts *cnt)
{
	static char obuf[1 << 16];
	char err[PB_ERRLEN];

	setvbuf(stdout, obuf, _IOFBF, sizeof obuf);
	pb_jsonl_files_all(n, files, onrec, r, unreadable);
	pb_blend_finish(r->b);
	while (!pb_blend_idle(r->b))
		if (pb_blend_step(r->b, -1, err) < 0)
			die("%s", err);
	pb_blend_counts(r->b, cnt);
	pb_blend_free(r->b);
}

int
main(int argc, char *argv[])
{
	struct choices ch = { .tol = -1, .maxwords = -1 };
	struct pb_blend_opts bo = { 0 };
	struct pb_scorer sc[MAXCOMP];
	struct pb_component comp[MAXCOMP];
	struct score_loop r = { 0 };
	struct pb_blend_counts cnt;
	struct uses u = { 0 };
	struct pb_client cl;
	char err[PB_ERRLEN], *tmpl = NULL;
	size_t n, i;
	int first, status;

	setprog(argv[0]);
	ch.cmd = split_cmd(&argc, argv);
	pb_client_init(&cl, "judge-", DEFAULT_JUDGE_MODEL);
	bo.judge_scale.scale = 10;
	bo.cmd_timeout = DEFAULT_CMD_TIMEOUT;
	first = parse(argc, argv, &ch, &bo, &cl);
	n = components(&ch, comp, sc, &u);
	check_applies(&ch, &u);
	bo.comp = comp;
	bo.ncomp = n;
	bo.blend = ch.blend != NULL;
	bo.reference = ch.ref && *ch.ref ? ch.ref : "task.answer";
	bo.response = ch.resp && *ch.resp ? ch.resp : "response.text";
	bo.jq_prog = ch.jq;
	bo.cmd = ch.cmd;
	bo.out = out_record;
	bo.warn = warn_record;
	bo.arg = &r;
	judge_setup(&ch, &cl, &bo, &tmpl);
	if (!(r.b = pb_blend_new(&bo, err)))
		die("--%s: %s", u.jq && strstr(err, "jq") ? "jq" :
		    u.cmd && ch.cmd && strstr(err, ch.cmd[0]) ? "cmd" : "scorer", err);
	pb_client_started(&cl);

	score_all(&r, argc - first, argv + first, &cnt);
	status = cnt.failed || r.bad ? PB_EXIT_RECORDS : PB_EXIT_OK;
	if (r.sys)
		status = PB_EXIT_USAGE;
	if (fshut(stdout, "<stdout>"))
		status = PB_EXIT_USAGE;
	if (ch.summary)
		summary(&cnt, r.bad);
	for (i = 0; i < n; i++)
		if (comp[i].sc)
			pb_scorer_free(&sc[i]);
	pb_client_free(&cl);
	free(tmpl);
	return status;
}
