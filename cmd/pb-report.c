/* pb-report - rank the arms of a state: pulls, mean reward, a confidence
 * interval, the policy's index and errors, as a table, CSV, Markdown or
 * JSON. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/pb.h"
#include "util.h"

static void
usage(FILE *fp, int status)
{
	fprintf(fp,
	    "usage: pb-report [-s STATE] [--json | --csv | --markdown] [--level L]\n"
	    "                 [--epsilon E]\n"
	    "Rank the arms of a state, best mean reward first, and give the verdict.\n"
	    "  -s, --state STATE the state file (default $PB_STATE)\n"
	    "      --json        one JSON object; its \"arms\" array is best first\n"
	    "      --csv         comma-separated values with a header line\n"
	    "      --markdown    a Markdown table\n"
	    "      --level L     confidence level of the intervals (default 0.95)\n"
	    "      --epsilon E   also name the arms that may be within E of the best\n"
	    "  -h, --help        show this help\n"
	    "      --version     show the version\n");
	exit(status);
}

struct row {
	int arm;
	double mean, lo, hi, index, share, prob;
	const char *method;
};

/* Which arm is best, as far as the state can tell (pb-report(1)). */
struct verdict {
	int done, best;
	double conf;          /* 1 - delta; NAN for a fixed budget */
	const char *rule;     /* "glr", "box" or "budget" */
	unsigned char *open;  /* per arm: not yet separated (budget: still in) */
	double delta;         /* error probability of the rule and eps set */
	double eps;           /* --epsilon, or NAN */
	unsigned char *good;  /* per arm: in the eps-good set */
	char why[PB_ERRLEN];
};

static void
judge(const struct pb_state *st, double level, struct verdict *v)
{
	enum pb_policy_kind k = st->pol.kind;
	double delta = k == PB_POL_LUCB || k == PB_POL_TOPTWO ? st->pol.delta :
	               1 - level;
	size_t i;

	v->open = ecalloc(st->narms, 1);
	v->delta = delta;
	v->conf = 1 - delta;
	if (k == PB_POL_HALVING || k == PB_POL_REJECTS) {
		v->rule = "budget";
		v->conf = NAN;
		v->done = pb_policy_done(st, v->why, &v->best);
		for (i = 0; i < st->narms; i++) /* the arms still in the race */
			v->open[i] = (int)i != v->best && isfinite(pb_policy_index(st, (int)i));
	} else if (k == PB_POL_LUCB) {
		v->rule = "box";
		v->done = pb_box_stop(st, delta, &v->best, v->open);
	} else {
		v->rule = "glr";
		v->done = pb_glr_stop(st, delta, &v->best, v->open);
	}
	if (!isnan(v->eps)) {
		v->good = ecalloc(st->narms, 1);
		pb_eps_good(st, delta, v->eps, v->good);
	}
}

/* The verdict as one line of words (and one more for --epsilon). */
static void
say_verdict(const struct pb_state *st, const struct row *r, const struct verdict *v)
{
	size_t i;

	if (!strcmp(v->rule, "budget")) {
		printf("verdict: %s\n", v->done ? v->why :
		       "fixed budget not yet spent");
	} else if (v->done) {
		printf("verdict: arm %s is best with confidence %g (%s rule)\n",
		       st->arms[v->best].id, v->conf, v->rule);
	} else {
		printf("verdict: not yet separated at confidence %g (%s rule):",
		       v->conf, v->rule);
		for (i = 0; i < st->narms; i++)
			if (v->open[r[i].arm] || r[i].arm == v->best)
				printf(" %s", st->arms[r[i].arm].id);
		printf(" remain\n");
	}
	if (v->good) {
		printf("eps-good set (epsilon %g, confidence %g):", v->eps, 1 - v->delta);
		for (i = 0; i < st->narms; i++)
			if (v->good[r[i].arm])
				printf(" %s", st->arms[r[i].arm].id);
		printf("\n");
	}
}

static cJSON *
verdict_json(const struct pb_state *st, const struct row *r, const struct verdict *v)
{
	cJSON *o = cJSON_CreateObject(), *rem, *good;
	size_t i;

	cJSON_AddBoolToObject(o, "done", v->done);
	cJSON_AddItemToObject(o, "best", v->done && v->best >= 0 ?
	                      cJSON_CreateString(st->arms[v->best].id) : cJSON_CreateNull());
	cJSON_AddItemToObject(o, "leader", v->best >= 0 ?
	                      cJSON_CreateString(st->arms[v->best].id) : cJSON_CreateNull());
	cJSON_AddItemToObject(o, "confidence", isnan(v->conf) ? cJSON_CreateNull() :
	                      cJSON_CreateNumber(v->conf));
	rem = cJSON_AddArrayToObject(o, "remaining");
	for (i = 0; i < st->narms; i++)
		if (v->open[r[i].arm])
			cJSON_AddItemToArray(rem, cJSON_CreateString(st->arms[r[i].arm].id));
	cJSON_AddStringToObject(o, "rule", v->rule);
	if (v->done && !strcmp(v->rule, "budget"))
		cJSON_AddStringToObject(o, "why", v->why);
	if (v->good) {
		cJSON_AddNumberToObject(o, "epsilon", v->eps);
		cJSON_AddNumberToObject(o, "eps_confidence", 1 - v->delta);
		good = cJSON_AddArrayToObject(o, "eps_good");
		for (i = 0; i < st->narms; i++)
			if (v->good[r[i].arm])
				cJSON_AddItemToArray(good, cJSON_CreateString(st->arms[r[i].arm].id));
	}
	return o;
}

static const struct pb_state *cmp_st;

static int
bymean(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	long nx = cmp_st->arms[x->arm].st.n, ny = cmp_st->arms[y->arm].st.n;

	if ((nx > 0) != (ny > 0))
		return nx > 0 ? -1 : 1;
	if (x->mean != y->mean)
		return x->mean > y->mean ? -1 : 1;
	if (nx != ny)
		return nx > ny ? -1 : 1;
	return x->arm - y->arm;
}

static void
num(cJSON *o, const char *k, double v)
{
	cJSON_AddItemToObject(o, k, isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull());
}

static void
print_json(const struct pb_state *st, const struct row *r, double level,
           long pending, const struct verdict *v)
{
	cJSON *o = cJSON_CreateObject(), *arr, *a, *pol = pb_state_to_json(st);
	size_t i;

	cJSON_AddStringToObject(o, "run", st->run);
	cJSON_AddItemToObject(o, "policy", cJSON_DetachItemFromObject(pol, "policy"));
	cJSON_Delete(pol);
	cJSON_AddNumberToObject(o, "updates", (double)st->updates);
	cJSON_AddNumberToObject(o, "pending", (double)pending);
	cJSON_AddNumberToObject(o, "level", level);
	arr = cJSON_AddArrayToObject(o, "arms");
	for (i = 0; i < st->narms; i++) {
		const struct pb_arm *arm = &st->arms[r[i].arm];
		a = cJSON_CreateObject();
		cJSON_AddNumberToObject(a, "rank", (double)i + 1);
		cJSON_AddStringToObject(a, "id", arm->id);
		cJSON_AddNumberToObject(a, "pulls", (double)arm->st.n);
		num(a, "share", r[i].share);
		num(a, "mean", arm->st.n ? r[i].mean : NAN);
		num(a, "ci_low", r[i].lo);
		num(a, "ci_high", r[i].hi);
		cJSON_AddStringToObject(a, "ci_method", r[i].method);
		num(a, "index", r[i].index);
		cJSON_AddNumberToObject(a, "errors", (double)arm->errors);
		cJSON_AddNumberToObject(a, "pending", (double)arm->pending);
		num(a, "prob", r[i].prob);
		cJSON_AddItemToArray(arr, a);
	}
	cJSON_AddItemToObject(o, "verdict", verdict_json(st, r, v));
	if (pb_jsonl_write(stdout, o) < 0)
		die("write error: %s", strerror(errno));
	cJSON_Delete(o);
}

/* A CSV field: quoted when it holds a comma, quote or newline. */
static void
csvfield(const char *s)
{
	if (!strpbrk(s, ",\"\n\r")) {
		fputs(s, stdout);
		return;
	}
	putchar('"');
	for (; *s; s++) {
		if (*s == '"')
			putchar('"');
		putchar(*s);
	}
	putchar('"');
}

/* Names the interval methods used, for the heading. */
static const char *
methods(const struct row *r, size_t n)
{
	size_t i, t = 0;

	for (i = 0; i < n; i++)
		t += !strcmp(r[i].method, "t");
	return t == 0 ? "Wilson score" : t == n ? "Student t" :
	       "Wilson score for 0/1 rewards, Student t otherwise";
}

/* Markdown: a | in a cell would end it. */
static void
mdcell(const char *s)
{
	for (; *s; s++) {
		if (*s == '|')
			putchar('\\');
		putchar(*s);
	}
}

static void
fmtnum(char *buf, size_t n, double v, const char *fmt)
{
	if (isfinite(v))
		snprintf(buf, n, fmt, v);
	else
		snprintf(buf, n, "-");
}

int
main(int argc, char **argv)
{
	enum { F_TABLE, F_JSON, F_CSV, F_MD } format = F_TABLE;
	enum { O_JSON = 256, O_CSV, O_MD, O_LEVEL, O_EPS, O_VERSION };
	static const struct option opts[] = {
		{ "state", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, O_JSON },
		{ "csv", no_argument, NULL, O_CSV },
		{ "markdown", no_argument, NULL, O_MD },
		{ "level", required_argument, NULL, O_LEVEL },
		{ "epsilon", required_argument, NULL, O_EPS },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, O_VERSION },
		{ 0 }
	};
	const char *spath = NULL;
	double level = 0.95, total = 0;
	struct pb_state st;
	struct row *r;
	struct verdict v = { 0 };
	double *prob;
	char err[PB_ERRLEN], m[32], lo[32], hi[32], ix[32], sh[32];
	long pending = 0;
	size_t i, w = 3;
	int ch;

	setprog(argv[0]);
	v.eps = NAN;
	while ((ch = getopt_long(argc, argv, "s:h", opts, NULL)) != -1) {
		switch (ch) {
		case 's': spath = optarg; break;
		case O_JSON: format = F_JSON; break;
		case O_CSV: format = F_CSV; break;
		case O_MD: format = F_MD; break;
		case O_LEVEL: level = numarg("--level", optarg, 0.5, 0.9999); break;
		case O_EPS: v.eps = numarg("--epsilon", optarg, 0, 1); break;
		case 'h': usage(stdout, PB_EXIT_OK); break;
		case O_VERSION: version(); break;
		default: usage(stderr, PB_EXIT_USAGE);
		}
	}
	if (optind != argc)
		usage(stderr, PB_EXIT_USAGE);
	spath = statepath(spath);
	if (pb_state_load(&st, spath, err) < 0)
		die("%s", err);
	pb_state_count_pending(&st, pb_now());

	r = ecalloc(st.narms, sizeof *r);
	prob = ecalloc(st.narms, sizeof *prob);
	if (pb_policy_probs(&st, prob) < 0)
		die("out of memory");
	for (i = 0; i < st.narms; i++)
		total += (double)st.arms[i].st.n;
	for (i = 0; i < st.narms; i++) {
		const struct pb_arm *a = &st.arms[i];
		r[i].arm = (int)i;
		r[i].mean = pb_stats_mean(&a->st);
		r[i].share = total > 0 ? (double)a->st.n / total : NAN;
		r[i].index = pb_policy_index(&st, (int)i);
		r[i].prob = prob[i];
		pb_stats_ci(&a->st, 1 - level, &r[i].lo, &r[i].hi, &r[i].method);
		pending += a->pending;
		if (strlen(a->id) > w)
			w = strlen(a->id);
	}
	cmp_st = &st;
	qsort(r, st.narms, sizeof *r, bymean);
	judge(&st, level, &v);

	switch (format) {
	case F_JSON:
		print_json(&st, r, level, pending, &v);
		break;
	case F_CSV:
		printf("rank,id,pulls,share,mean,ci_low,ci_high,ci_method,index,errors\n");
		for (i = 0; i < st.narms; i++) {
			const struct pb_arm *a = &st.arms[r[i].arm];
			printf("%zu,", i + 1);
			csvfield(a->id);
			fmtnum(m, sizeof m, a->st.n ? r[i].mean : NAN, "%.6g");
			fmtnum(lo, sizeof lo, r[i].lo, "%.6g");
			fmtnum(hi, sizeof hi, r[i].hi, "%.6g");
			fmtnum(ix, sizeof ix, r[i].index, "%.6g");
			fmtnum(sh, sizeof sh, r[i].share, "%.6g");
			printf(",%ld,%s,%s,%s,%s,%s,%s,%ld\n", a->st.n, sh, m, lo, hi,
			       r[i].method, ix, a->errors);
		}
		break;
	case F_MD:
	case F_TABLE:
		printf(format == F_MD ? "Policy `%s`, %ld pulls applied, %ld pending; "
		       "%g%% intervals (%s).\n\n" : "policy %s, %ld pulls applied, "
		       "%ld pending; %g%% intervals (%s)\n",
		       pb_policy_name(st.pol.kind), st.updates, pending, level * 100,
		       methods(r, st.narms));
		if (format == F_MD)
			printf("| rank | arm | pulls | share | mean | %g%% CI | index | errors |\n"
			       "|---:|:---|---:|---:|---:|:---:|---:|---:|\n", level * 100);
		else
			printf("%4s  %-*s %7s %6s %6s  %-15s %7s %6s\n", "rank", (int)w,
			       "arm", "pulls", "share", "mean", "CI", "index", "errors");
		for (i = 0; i < st.narms; i++) {
			const struct pb_arm *a = &st.arms[r[i].arm];
			char ci[64];
			fmtnum(m, sizeof m, a->st.n ? r[i].mean : NAN, "%.3f");
			fmtnum(ix, sizeof ix, r[i].index, "%.3f");
			fmtnum(sh, sizeof sh, r[i].share * 100, "%.1f%%");
			snprintf(ci, sizeof ci, "[%.3f, %.3f]", r[i].lo, r[i].hi);
			if (format == F_MD) {
				printf("| %zu | ", i + 1);
				mdcell(a->id);
				printf(" | %ld | %s | %s | %s | %s | %ld |\n",
				       a->st.n, sh, m, ci, ix, a->errors);
			}
			else
				printf("%4zu  %-*s %7ld %6s %6s  %-15s %7s %6ld\n", i + 1,
				       (int)w, a->id, a->st.n, sh, m, ci, ix, a->errors);
		}
		if (format == F_MD)
			putchar('\n');
		say_verdict(&st, r, &v);
		break;
	}
	free(r);
	free(prob);
	free(v.open);
	free(v.good);
	pb_state_free(&st);
	return fshut(stdout, "<stdout>") ? PB_EXIT_USAGE : PB_EXIT_OK;
}
