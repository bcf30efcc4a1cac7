/* pb-score - the reward stage: adds "reward" and "score" to each record. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/pb.h"
#include "util.h"

static const char usage_text[] =
	"usage: pb-score [--scorer NAME] [--reference PATH] [--response PATH]\n"
	"                [--tolerance X] [--regex ERE] [--case-sensitive]\n"
	"                [--keep-punct] [--no-articles] [--summary] [FILE ...]\n";

static const char help_text[] =
	"Reads records (JSON lines) from the FILEs or standard input, adds\n"
	"\"reward\" and \"score\", and writes them to standard output.\n"
	"\n"
	"  --scorer NAME     number (default), bool, exact, contains, regex, choice\n"
	"  --reference PATH  dotted path of the reference (default task.answer)\n"
	"  --response PATH   dotted path of the response text (default response.text)\n"
	"  --tolerance X     number, regex: allowed difference (default 1e-6)\n"
	"  --regex ERE       regex: the answer is the first group (or whole match)\n"
	"  --case-sensitive  exact, contains, regex: do not fold case\n"
	"  --keep-punct      exact, contains, regex: keep punctuation around text\n"
	"  --no-articles     exact, contains, regex: drop the words a, an, the\n"
	"  --summary         print a count of the outcomes on standard error\n"
	"  -h, --help        show this help\n"
	"      --version     show the version\n";

static void
usage(void)
{
	fputs(usage_text, stderr);
	exit(PB_EXIT_USAGE);
}

struct run {
	struct pb_scorer sc;
	int status;             /* exit status so far */
	long count[4];          /* by enum pb_score_status */
	long bad;               /* lines that were not records */
};

static int
onrec(cJSON *rec, const struct pb_where *at, const char *why, void *arg)
{
	struct run *r = arg;
	char err[PB_ERRLEN];
	cJSON *st;
	const char *s;
	int rc;

	if (!rec) {
		/* Not a record: nothing to pass on, so report and go on. */
		warnx_("%s:%ld: %s", at->file, at->line, why);
		r->bad++;
		r->status = PB_EXIT_RECORDS;
		return 0;
	}
	rc = pb_score_record(&r->sc, rec, err);
	if (rc < 0) {
		warnx_("%s:%ld: %s", at->file, at->line, err);
		r->status = PB_EXIT_RECORDS;
	}
	st = cJSON_GetObjectItemCaseSensitive(rec, "score");
	s = pb_json_str(st, "status");
	if (s)
		r->count[!strcmp(s, "ok") ? 0 : !strcmp(s, "wrong") ? 1 :
		         !strcmp(s, "no-answer") ? 2 : 3]++;
	if (pb_jsonl_write(stdout, rec) < 0)
		die("write error on <stdout>: %s", strerror(errno));
	cJSON_Delete(rec);
	return 0;
}

int
main(int argc, char *argv[])
{
	enum { O_SCORER = 256, O_REF, O_RESP, O_TOL, O_REGEX, O_CASE, O_PUNCT,
	       O_ART, O_SUMMARY, O_VERSION };
	static const struct option opts[] = {
		{ "scorer", required_argument, NULL, O_SCORER },
		{ "reference", required_argument, NULL, O_REF },
		{ "response", required_argument, NULL, O_RESP },
		{ "tolerance", required_argument, NULL, O_TOL },
		{ "regex", required_argument, NULL, O_REGEX },
		{ "case-sensitive", no_argument, NULL, O_CASE },
		{ "keep-punct", no_argument, NULL, O_PUNCT },
		{ "no-articles", no_argument, NULL, O_ART },
		{ "summary", no_argument, NULL, O_SUMMARY },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, O_VERSION },
		{ NULL, 0, NULL, 0 }
	};
	static char obuf[1 << 16];
	struct run r = { .status = PB_EXIT_OK };
	const char *scorer = NULL, *regex = NULL, *ref = NULL, *resp = NULL;
	const char *textopt = NULL, *tolopt = NULL;
	char err[PB_ERRLEN];
	double tol = -1;
	unsigned norm = 0;
	int c, summary = 0, i;

	setprog(argv[0]);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case O_SCORER: scorer = optarg; break;
		case O_REF: ref = optarg; break;
		case O_RESP: resp = optarg; break;
		case O_TOL:
			tol = numarg("--tolerance", optarg, 0, HUGE_VAL);
			tolopt = "--tolerance";
			break;
		case O_REGEX: regex = optarg; break;
		case O_CASE: norm |= PB_NORM_KEEP_CASE; textopt = "--case-sensitive"; break;
		case O_PUNCT: norm |= PB_NORM_KEEP_PUNCT; textopt = "--keep-punct"; break;
		case O_ART: norm |= PB_NORM_NO_ARTICLES; textopt = "--no-articles"; break;
		case O_SUMMARY: summary = 1; break;
		case 'h':
			fputs(usage_text, stdout);
			fputs(help_text, stdout);
			exit(fshut(stdout, "<stdout>") ? PB_EXIT_USAGE : PB_EXIT_OK);
		case O_VERSION: version();
		default: usage();
		}
	}
	/* --regex alone chooses the regex scorer. */
	if (!scorer)
		scorer = regex ? "regex" : "number";
	if (pb_scorer_init(&r.sc, scorer, err) < 0)
		die("%s", err);
	if (r.sc.kind == PB_SCORER_REGEX) {
		if (!regex)
			die("--scorer regex needs --regex ERE");
		if (pb_scorer_regex(&r.sc, regex, err) < 0)
			die("--regex: %s", err);
	} else if (regex) {
		die("--regex applies only to --scorer regex");
	}
	/* Options that would silently do nothing are mistakes. */
	if (textopt && r.sc.kind != PB_SCORER_EXACT &&
	    r.sc.kind != PB_SCORER_CONTAINS && r.sc.kind != PB_SCORER_REGEX)
		die("%s does not apply to --scorer %s", textopt, scorer);
	if (tolopt && r.sc.kind != PB_SCORER_NUMBER && r.sc.kind != PB_SCORER_REGEX)
		die("%s does not apply to --scorer %s", tolopt, scorer);
	if (ref) {
		if (!*ref)
			die("--reference: empty path");
		r.sc.reference = ref;
	}
	if (resp) {
		if (!*resp)
			die("--response: empty path");
		r.sc.response = resp;
	}
	if (tol >= 0)
		r.sc.tolerance = tol;
	r.sc.norm = norm;

	setvbuf(stdout, obuf, _IOFBF, sizeof obuf);
	if (optind == argc) {
		if (pb_jsonl_each(stdin, "<stdin>", onrec, &r, NULL, err) < 0) {
			warnx_("%s", err);
			r.status = PB_EXIT_USAGE;
		}
	}
	for (i = optind; i < argc; i++) {
		const char *name = argv[i];
		FILE *fp = strcmp(name, "-") ? fopen(name, "r") : stdin;

		if (!fp) {
			warnx_("%s: %s", name, strerror(errno));
			r.status = PB_EXIT_USAGE;
			continue;
		}
		if (pb_jsonl_each(fp, fp == stdin ? "<stdin>" : name, onrec, &r,
		                  NULL, err) < 0) {
			warnx_("%s", err);
			r.status = PB_EXIT_USAGE;
		}
		if (fp != stdin)
			fclose(fp);
	}
	if (fshut(stdout, "<stdout>"))
		r.status = PB_EXIT_USAGE;
	if (summary)
		warnx_("%ld records: %ld ok, %ld wrong, %ld no-answer, %ld unscored; "
		       "%ld bad lines", r.count[0] + r.count[1] + r.count[2] + r.count[3],
		       r.count[0], r.count[1], r.count[2], r.count[3], r.bad);
	pb_scorer_free(&r.sc);
	return r.status;
}
