/* pb-report - what a run learned and whether it is real: the ranking of
 * the arms of a state (or of the scored records of a run, replayed), with
 * intervals, the probability that each arm is best and the verdict; the
 * history of the run as a table, a text chart or a gnuplot picture; and
 * the validation of the chosen arm on held-out records. */
#include <errno.h>
#include <getopt.h>
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
	    "       pb-report --replay [-s STATE] [options] [FILE...]\n"
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
	    "      --validate FILE  held-out scored records: accuracy and uplift\n"
	    "      --force       --validate even on tasks used in training (a warning)\n"
	    "      --baseline ARM   the arm uplift is measured against\n"
	    "      --arm ARM     the arm the run chose (default: the state's leader)\n"
	    "      --resamples B paired bootstrap resamples (default 10000)\n"
	    "  -h, --help        show this help\n"
	    "      --version     show the version\n");
	usage_end(fp, status);
}


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

int
main(int argc, char **argv)
{
	enum { O_JSON = 256, O_CSV, O_MD, O_LEVEL, O_EPS, O_VERSION, O_INTERVAL,
	       O_DRAWS, O_SEED, O_PRICE, O_HISTORY, O_CHART, O_PLOT, O_REQUIRE,
	       O_REPLAY, O_VALIDATE, O_BASELINE, O_ARM, O_RESAMPLES, O_CONTEXT,
	       O_FORCE };
	static const struct option lopts[] = {
		{ "state", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, O_JSON },
		{ "csv", no_argument, NULL, O_CSV },
		{ "markdown", no_argument, NULL, O_MD },
		{ "level", required_argument, NULL, O_LEVEL },
		{ "epsilon", required_argument, NULL, O_EPS },
		{ "interval", required_argument, NULL, O_INTERVAL },
		{ "draws", required_argument, NULL, O_DRAWS },
		{ "seed", required_argument, NULL, O_SEED },
		{ "price", required_argument, NULL, O_PRICE },
		{ "history", no_argument, NULL, O_HISTORY },
		{ "chart", no_argument, NULL, O_CHART },
		{ "plot", required_argument, NULL, O_PLOT },
		{ "require", required_argument, NULL, O_REQUIRE },
		{ "replay", no_argument, NULL, O_REPLAY },
		{ "validate", required_argument, NULL, O_VALIDATE },
		{ "force", no_argument, NULL, O_FORCE },
		{ "baseline", required_argument, NULL, O_BASELINE },
		{ "arm", required_argument, NULL, O_ARM },
		{ "resamples", required_argument, NULL, O_RESAMPLES },
		{ "context", required_argument, NULL, O_CONTEXT },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, O_VERSION },
		{ 0 }
	};
	struct opts o = { F_TABLE, 0.95, NAN, 0, 0, 0.05, NULL, NULL, NULL, NULL,
	                  NULL, NULL, NULL, 10000, 10000, 1, 0, 0, 0, 0, G_NONE };
	struct ranking rk = { 0 };
	struct pb_state ref;
	char err[PB_ERRLEN];
	int ch, have_ref = 0, status = PB_EXIT_OK, vr;
	long records = 0;

	setprog(argv[0]);
	while ((ch = getopt_long(argc, argv, "s:h", lopts, NULL)) != -1) {
		switch (ch) {
		case 's': o.spath = optarg; break;
		case O_JSON: o.format = F_JSON; break;
		case O_CSV: o.format = F_CSV; break;
		case O_MD: o.format = F_MD; break;
		case O_LEVEL: o.level = numarg("--level", optarg, 0.5, 0.9999); break;
		case O_EPS: o.eps = numarg("--epsilon", optarg, 0, 1); break;
		case O_INTERVAL:
			if (strcmp(optarg, "anytime") && strcmp(optarg, "auto") &&
			    strcmp(optarg, "bernstein"))
				die("--interval: '%s' is not anytime, auto or bernstein", optarg);
			o.interval = optarg;
			break;
		case O_DRAWS: o.draws = intarg("--draws", optarg, 1, 100000000); break;
		case O_SEED: o.seed = (uint64_t)intarg("--seed", optarg, 0, 0x7fffffffffffffffL); break;
		case O_PRICE: parse_price(&o, optarg); break;
		case O_HISTORY: o.history = 1; break;
		case O_CHART: o.chart = 1; break;
		case O_PLOT: o.plot = optarg; break;
		case O_REQUIRE: parse_gate(&o, optarg); break;
		case O_REPLAY: o.replay = 1; break;
		case O_VALIDATE: o.validate = optarg; break;
		case O_FORCE: o.force = 1; break;
		case O_BASELINE: o.baseline = optarg; break;
		case O_ARM: o.arm = optarg; break;
		case O_RESAMPLES: o.resamples = intarg("--resamples", optarg, 2, 10000000); break;
		case O_CONTEXT: o.context = optarg; break;
		case 'h': usage(stdout, PB_EXIT_OK); break;
		case O_VERSION: version(); break;
		default: usage(stderr, PB_EXIT_USAGE);
		}
	}
	if (optind != argc && !o.replay)
		usage(stderr, PB_EXIT_USAGE);
	/* Beside an adaptive run's verdict only an interval valid at the
	 * time the run chose to stop means what it says; a held-out set is
	 * a fixed sample. */
	if (!o.interval)
		o.interval = o.validate ? "auto" : "anytime";
	if (o.validate && (o.replay || o.history || o.plot))
		die("--validate does not go with --replay, --history or --plot");
	if (o.replay && (o.history || o.plot))
		die("--replay rebuilds the ranking only: no --history or --plot");
	if (o.context && (o.replay || o.validate))
		die("--context does not go with --replay or --validate");
	if (o.gate == G_UPLIFT && !o.validate)
		die("--require uplift needs --validate FILE");
	if (o.gate == G_VERDICT && o.validate)
		die("--require verdict needs the ranking, not --validate");

	/* Replay and validation can go without a state: use one only if named. */
	if ((o.replay || o.validate) && !o.spath)
		o.spath = getenv("PB_STATE") && *getenv("PB_STATE") ? getenv("PB_STATE") : NULL;
	else
		o.spath = statepath(o.spath);
	if (o.spath) {
		if (pb_state_load(&ref, o.spath, err) < 0)
			die("%s", err);
		pb_state_count_pending(&ref, pb_now());
		have_ref = 1;
	}

	if (o.validate) {
		vr = validate(&o, have_ref ? &ref : NULL);
		if (have_ref)
			pb_state_free(&ref);
		if (fshut(stdout, "<stdout>"))
			return PB_EXIT_USAGE;
		return vr == 1 ? PB_EXIT_OK : vr == 0 || vr == -2 ? PB_EXIT_GATE : PB_EXIT_RECORDS;
	}

	if (o.replay) {
		long bad = replay(&rk, have_ref ? &ref : NULL, argc - optind, argv + optind,
		                  &records);
		rk.replayed = 1;
		if (bad)
			status = PB_EXIT_RECORDS;
		if (have_ref) {
			rk.st.pol = ref.pol; /* the verdict by the state's policy's rule */
			pb_state_free(&ref);
		}
	} else if (o.context) {
		int c = pb_state_find_ctx(&ref, o.context);
		if (!ref.ctx_field)
			die("--context: %s keeps no contexts", o.spath);
		if (c < 0)
			die("--context: no context '%s' of %s in %s", o.context,
			    ref.ctx_field, o.spath);
		context_view(&ref, (size_t)c, &rk.st);
		rk.view = 1;
		rk.ctx = ref.ctx[c].name;
	} else {
		rk.st = ref;
		if (ref.ctx_field)
			rk.ctx = ctx_all;
	}

	rank_arms(&rk, &o);
	if (o.history) {
		print_history(&rk.st, &o);
	} else {
		if (o.format == F_JSON) {
			cJSON *j = ranking_json(&rk, &o);
			if (o.replay) {
				cJSON *x = cJSON_AddObjectToObject(j, "replay");
				cJSON_AddNumberToObject(x, "records", (double)records);
				cJSON_AddBoolToObject(x, "agrees", have_ref && status == PB_EXIT_OK);
			}
			if (rk.ctx && !rk.view)
				contexts(&rk.st, &o, j);
			else if (rk.view)
				cJSON_AddStringToObject(j, "context", rk.ctx);
			put_json(j);
		} else {
			if (rk.view && o.format != F_CSV)
				context_heading(ref.ctx_field, rk.ctx, &o);
			print_ranking(&rk, &o);
			if (rk.ctx && !rk.view)
				contexts(&rk.st, &o, NULL);
			if (o.replay && have_ref && o.format == F_TABLE)
				printf("replay: %ld records %s %s\n", records, status ==
				       PB_EXIT_OK ? "agree with" : "disagree with", o.spath);
		}
		if (!o.replay && (o.chart || (o.format == F_TABLE && isatty(1))))
			print_chart(&rk.st, &o);
	}
	if (o.plot)
		plot(&rk.st, &o);
	if (o.gate == G_VERDICT && rk.v.totals) {
		size_t open = contexts_undecided(&rk.st, &o);
		if (open || rk.st.nctx == 0) {
			warnx_("gate: the verdict is not reached in %zu of the %zu contexts",
			       open, rk.st.nctx);
			status = PB_EXIT_GATE;
		}
	} else if (o.gate == G_VERDICT && !rk.v.done) {
		warnx_("gate: the verdict is not reached");
		status = PB_EXIT_GATE;
	}
	ranking_free(&rk);
	if (rk.view)
		pb_state_free(&ref);
	if (fshut(stdout, "<stdout>"))
		return PB_EXIT_USAGE;
	return status;
}
