/* pb-report - what a run learned and whether it is real: the ranking of
 * the arms of a state (or of the scored records of a run, replayed), with
 * intervals, the probability that each arm is best and the verdict; the
 * history of the run as a table, a text chart or a gnuplot picture; and
 * the validation of the chosen arm on held-out records.
 *
 * This file reads the options (a table: optdefs) and dispatches on the
 * mode they choose; the modes live in report-*.c, behind report.h. */
#include <errno.h>
#include <getopt.h>
#include <stddef.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/pb.h"
#include "util.h"
#include "report.h"

/* The totals of a state with contexts, as a ranking's context. */
static const char ctx_all[] = "";

static void
usage(FILE *fp, int status)
{
	fprintf(fp,
	    "usage: pb-report [-s STATE] [--json | --csv | --markdown] [--level L]\n"
	    "                 [--epsilon E] [--interval anytime|auto|bernstein]\n"
	    "                 [--draws N] [--seed N] [--price IN,OUT] [--history] [--chart]\n"
	    "                 [--plot FILE.svg|FILE.png] [--require verdict|uplift[:ALPHA]]\n"
	    "                 [--context VALUE]\n"
	    "       pb-report --replay [-s STATE] [--adjusted] [options] [FILE...]\n"
	    "       pb-report --validate FILE [-s STATE] [--baseline ARM] [--arm ARM]\n"
	    "                 [--resamples B] [options]\n"
	    "Rank the arms of a state, best mean reward first, and give the verdict;\n"
	    "show how the run unfolded; check the winner on held-out records.\n"
	    "  -s, --state STATE the state file (default $PB_STATE)\n"
	    "      --json        one JSON object; its \"arms\" array is best first\n"
	    "      --csv         comma-separated values with a header line\n"
	    "      --markdown    a Markdown table\n"
	    "      --level L     confidence level of the intervals (default 0.95)\n"
	    "      --epsilon E   also name the arms that may be within E of the best\n"
	    "      --interval M  anytime (valid at any stop: the default but for\n"
	    "                    --validate), auto (fixed-sample: Wilson for 0/1\n"
	    "                    rewards, else Student t) or bernstein\n"
	    "      --draws N     Monte Carlo draws for P(best) (default 10000)\n"
	    "      --seed N      seed of P(best) and the bootstrap (default 1)\n"
	    "      --price IN,OUT dollars per million input and output tokens\n"
	    "      --history     the history of the run instead of the ranking\n"
	    "      --chart       text charts of the history, even off a terminal\n"
	    "      --plot FILE   draw the history with gnuplot into FILE.svg or .png\n"
	    "      --context VALUE  the ranking of one context only (default: the\n"
	    "                    totals, then each context)\n"
	    "      --require G   exit 4 unless the verdict is reached (verdict) or the\n"
	    "                    held-out uplift is significant (uplift[:ALPHA])\n"
	    "      --replay      rebuild the ranking from scored records (FILE... or\n"
	    "                    stdin) and check that they agree with the state\n"
	    "      --adjusted    with --replay: each arm's mean adjusted for the tasks\n"
	    "                    it got (reward = arm + task, fitted on all arms)\n"
	    "      --validate FILE  held-out scored records: accuracy and uplift\n"
	    "      --force       --validate even on tasks used in training (a warning)\n"
	    "      --baseline ARM   the arm uplift is measured against\n"
	    "      --arm ARM     the arm the run chose (default: the state's leader)\n"
	    "      --resamples B paired bootstrap resamples (default 10000)\n"
	    "  -h, --help        show this help\n"
	    "      --version     show the version\n");
	usage_end(fp, status);
}


/* ================================================================ options */

static void
parse_price(struct opts *o, const char *s)
{
	char *end;

	errno = 0;
	o->price_in = strtod(s, &end);
	if (errno || end == s || *end != ',' || !(o->price_in >= 0))
		die("--price: '%s' is not IN,OUT (dollars per million tokens)", s);
	s = end + 1;
	o->price_out = strtod(s, &end);
	if (errno || end == s || *end || !(o->price_out >= 0))
		die("--price: '%s' is not IN,OUT (dollars per million tokens)", s);
	o->price = 1;
}

static void
parse_gate(struct opts *o, const char *s)
{
	if (!strcmp(s, "verdict")) {
		o->gate = G_VERDICT;
	} else if (!strncmp(s, "uplift", 6) && (s[6] == '\0' || s[6] == ':')) {
		o->gate = G_UPLIFT;
		if (s[6] == ':')
			o->alpha_gate = numarg("--require uplift:ALPHA", s + 7, 1e-9, 0.5);
	} else {
		die("--require: '%s' is not verdict or uplift[:ALPHA]", s);
	}
}

static void
parse_interval(struct opts *o, const char *s)
{
	if (strcmp(s, "anytime") && strcmp(s, "auto") && strcmp(s, "bernstein"))
		die("--interval: '%s' is not anytime, auto or bernstein", s);
	o->interval = s;
}

static void
parse_seed(struct opts *o, const char *s)
{
	o->seed = (uint64_t)intarg("--seed", s, 0, 0x7fffffffffffffffL);
}

static void
help(struct opts *o, const char *s)
{
	(void)o, (void)s;
	usage(stdout, PB_EXIT_OK);
}

static void
show_version(struct opts *o, const char *s)
{
	(void)o, (void)s;
	version();
}

/* How an option sets struct opts. */
enum how {
	SET_FLAG,    /* the int at off becomes 1 */
	SET_FORMAT,  /* the format becomes val */
	SET_STR,     /* the const char * at off becomes the argument */
	SET_NUM,     /* the double at off: a number in [lo, hi] */
	SET_LONG,    /* the long at off: an integer in [lo, hi] */
	SET_CALL     /* fn parses the argument (or takes none) */
};

struct optdef {
	const char *name;
	int has_arg;      /* no_argument or required_argument */
	enum how how;
	size_t off;       /* offsetof(struct opts, the field) */
	double lo, hi;    /* SET_NUM and SET_LONG */
	int val;          /* SET_FORMAT */
	void (*fn)(struct opts *, const char *); /* SET_CALL */
};

#define AT(field) offsetof(struct opts, field)

/* Every long option and what it does; -s is --state, -h --help. */
static const struct optdef optdefs[] = {
	{ "state", required_argument, SET_STR, AT(spath) },
	{ "json", no_argument, SET_FORMAT, .val = F_JSON },
	{ "csv", no_argument, SET_FORMAT, .val = F_CSV },
	{ "markdown", no_argument, SET_FORMAT, .val = F_MD },
	{ "level", required_argument, SET_NUM, AT(level), 0.5, 0.9999 },
	{ "epsilon", required_argument, SET_NUM, AT(eps), 0, 1 },
	{ "interval", required_argument, SET_CALL, .fn = parse_interval },
	{ "draws", required_argument, SET_LONG, AT(draws), 1, 100000000 },
	{ "seed", required_argument, SET_CALL, .fn = parse_seed },
	{ "price", required_argument, SET_CALL, .fn = parse_price },
	{ "history", no_argument, SET_FLAG, AT(history) },
	{ "chart", no_argument, SET_FLAG, AT(chart) },
	{ "plot", required_argument, SET_STR, AT(plot) },
	{ "require", required_argument, SET_CALL, .fn = parse_gate },
	{ "replay", no_argument, SET_FLAG, AT(replay) },
	{ "adjusted", no_argument, SET_FLAG, AT(adjusted) },
	{ "validate", required_argument, SET_STR, AT(validate) },
	{ "force", no_argument, SET_FLAG, AT(force) },
	{ "baseline", required_argument, SET_STR, AT(baseline) },
	{ "arm", required_argument, SET_STR, AT(arm) },
	{ "resamples", required_argument, SET_LONG, AT(resamples), 2, 10000000 },
	{ "context", required_argument, SET_STR, AT(context) },
	{ "help", no_argument, SET_CALL, .fn = help },
	{ "version", no_argument, SET_CALL, .fn = show_version },
};

enum { NOPTS = sizeof optdefs / sizeof optdefs[0], O_FIRST = 256 };

/* Applies option d, with its argument arg, to o. */
static void
set_option(struct opts *o, const struct optdef *d, const char *arg)
{
	char *field = (char *)o + d->off, name[64];

	snprintf(name, sizeof name, "--%s", d->name);
	switch (d->how) {
	case SET_FLAG: *(int *)(void *)field = 1; break;
	case SET_FORMAT: o->format = (enum format)d->val; break;
	case SET_STR: *(const char **)(void *)field = arg; break;
	case SET_NUM: *(double *)(void *)field = numarg(name, arg, d->lo, d->hi); break;
	case SET_LONG:
		*(long *)(void *)field = intarg(name, arg, (long)d->lo, (long)d->hi);
		break;
	case SET_CALL: d->fn(o, arg); break;
	}
}

/* The mode the options ask for, once what goes with what is checked
 * (each mismatch a usage error). */
static enum mode
choose_mode(const struct opts *o)
{
	if (o->validate && (o->replay || o->history || o->plot))
		die("--validate does not go with --replay, --history or --plot");
	if (o->replay && (o->history || o->plot))
		die("--replay rebuilds the ranking only: no --history or --plot");
	if (o->adjusted && !o->replay)
		die("--adjusted needs --replay");
	if (o->adjusted && o->format == F_CSV)
		die("--adjusted does not go with --csv");
	if (o->context && (o->replay || o->validate))
		die("--context does not go with --replay or --validate");
	if (o->gate == G_UPLIFT && !o->validate)
		die("--require uplift needs --validate FILE");
	if (o->gate == G_VERDICT && o->validate)
		die("--require verdict needs the ranking, not --validate");
	return o->validate ? MODE_VALIDATE : o->replay ? MODE_REPLAY :
	       o->history ? MODE_HISTORY : MODE_RANK;
}

/* Reads the command line into o; returns the index of the first FILE. */
static int
parse_options(struct opts *o, int argc, char **argv)
{
	struct option lopts[NOPTS + 1] = { { 0 } };
	size_t i;
	int ch;

	for (i = 0; i < NOPTS; i++)
		lopts[i] = (struct option){ optdefs[i].name, optdefs[i].has_arg, NULL,
		                            O_FIRST + (int)i };
	while ((ch = getopt_long(argc, argv, "s:h", lopts, NULL)) != -1) {
		if (ch == 's')
			o->spath = optarg;
		else if (ch == 'h')
			usage(stdout, PB_EXIT_OK);
		else if (ch >= O_FIRST && ch < O_FIRST + (int)NOPTS)
			set_option(o, &optdefs[ch - O_FIRST], optarg);
		else
			usage(stderr, PB_EXIT_USAGE);
	}
	if (optind != argc && !o->replay)
		usage(stderr, PB_EXIT_USAGE);
	/* Beside an adaptive run's verdict only an interval valid at the
	 * time the run chose to stop means what it says; a held-out set is
	 * a fixed sample. */
	if (!o->interval)
		o->interval = o->validate ? "auto" : "anytime";
	o->mode = choose_mode(o);
	return optind;
}

/* ============================================================ the modes */

/* The ranking to show: rebuilt from the records (--replay: ref, if any,
 * is freed), one context of ref (--context), or ref itself, which rk
 * then owns.  Returns the exit status so far. */
static int
ranking_of(struct ranking *rk, const struct opts *o, struct pb_state *ref,
           int nfiles, char **files, long *records)
{
	int c, status = PB_EXIT_OK;

	if (o->mode == MODE_REPLAY) {
		if (replay(rk, ref, o->adjusted, nfiles, files, records))
			status = PB_EXIT_RECORDS;
		rk->replayed = 1;
		if (ref) {
			rk->st.pol = ref->pol; /* the verdict by the state's policy's rule */
			pb_state_free(ref);
		}
	} else if (o->context) {
		c = pb_state_find_ctx(ref, o->context);
		if (!ref->ctx_field)
			die("--context: %s keeps no contexts", o->spath);
		if (c < 0)
			die("--context: no context '%s' of %s in %s", o->context,
			    ref->ctx_field, o->spath);
		pb_state_context_view(ref, (size_t)c, &rk->st);
		rk->view = 1;
		rk->ctx = ref->ctx[c].name;
	} else {
		rk->st = *ref;
		if (ref->ctx_field)
			rk->ctx = ctx_all;
	}
	return status;
}

/* The ranking in o's format, the contexts after the totals, a replay's
 * agreement and the chart; ctx_field names the field of rk's context. */
static void
show_ranking(const struct ranking *rk, const struct opts *o, const char *ctx_field,
             long records, int agrees)
{
	if (o->format == F_JSON) {
		cJSON *j = ranking_json(rk, o);
		if (o->mode == MODE_REPLAY) {
			cJSON *x = cJSON_AddObjectToObject(j, "replay");
			cJSON_AddNumberToObject(x, "records", (double)records);
			cJSON_AddBoolToObject(x, "agrees", agrees);
		}
		if (rk->adj)
			adjusted_json(rk, j);
		if (rk->ctx && !rk->view)
			contexts(&rk->st, o, j);
		else if (rk->view)
			cJSON_AddStringToObject(j, "context", rk->ctx);
		put_json(j);
	} else {
		if (rk->view && o->format != F_CSV)
			context_heading(ctx_field, rk->ctx, o);
		print_ranking(rk, o);
		if (rk->adj)
			print_adjusted(rk, o);
		if (rk->ctx && !rk->view)
			contexts(&rk->st, o, NULL);
		if (o->mode == MODE_REPLAY && o->spath && o->format == F_TABLE)
			printf("replay: %ld records %s %s\n", records, agrees ?
			       "agree with" : "disagree with", o->spath);
	}
	if (o->mode != MODE_REPLAY && (o->chart || (o->format == F_TABLE && isatty(1))))
		print_chart(&rk->st, o);
}

/* --require verdict: whether the verdict is reached (in every context,
 * for the totals of a state with contexts); says so when it is not. */
static int
verdict_reached(const struct ranking *rk, const struct opts *o)
{
	if (rk->v.totals) {
		size_t open = contexts_undecided(&rk->st, o);
		if (open || rk->st.nctx == 0) {
			warnx_("gate: the verdict is not reached in %zu of the %zu contexts",
			       open, rk->st.nctx);
			return 0;
		}
	} else if (!rk->v.done) {
		warnx_("gate: the verdict is not reached");
		return 0;
	}
	return 1;
}

int
main(int argc, char **argv)
{
	struct opts o = { .format = F_TABLE, .gate = G_NONE, .alpha_gate = 0.05,
	                  .level = 0.95, .eps = NAN, .draws = 10000,
	                  .resamples = 10000, .seed = 1 };
	struct ranking rk = { 0 };
	struct pb_state ref;
	char err[PB_ERRLEN];
	int first, have_ref = 0, status;
	long records = 0;

	setprog(argv[0]);
	first = parse_options(&o, argc, argv);
	/* Replay and validation can go without a state: use one only if named. */
	if ((o.mode == MODE_REPLAY || o.mode == MODE_VALIDATE) && !o.spath)
		o.spath = getenv("PB_STATE") && *getenv("PB_STATE") ? getenv("PB_STATE") : NULL;
	else
		o.spath = statepath(o.spath);
	if (o.spath) {
		if (pb_state_load(&ref, o.spath, err) < 0)
			die("%s", err);
		pb_state_count_pending(&ref, pb_now());
		have_ref = 1;
	}

	if (o.mode == MODE_VALIDATE) {
		status = validate(&o, have_ref ? &ref : NULL);
		if (have_ref)
			pb_state_free(&ref);
		return fshut(stdout, "<stdout>") ? PB_EXIT_USAGE : status;
	}
	status = ranking_of(&rk, &o, have_ref ? &ref : NULL, argc - first,
	                    argv + first, &records);
	rank_arms(&rk, &o);
	if (o.mode == MODE_HISTORY)
		print_history(&rk.st, &o);
	else
		show_ranking(&rk, &o, rk.view ? ref.ctx_field : NULL, records,
		             have_ref && status == PB_EXIT_OK);
	if (o.plot)
		plot(&rk.st, &o);
	if (o.gate == G_VERDICT && !verdict_reached(&rk, &o))
		status = PB_EXIT_GATE;
	adjusted_free(&rk);
	ranking_free(&rk);
	if (rk.view)
		pb_state_free(&ref);
	return fshut(stdout, "<stdout>") ? PB_EXIT_USAGE : status;
}
