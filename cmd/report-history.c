/* report-history.c - pb-report --history and the text chart: how the
 * run unfolded, point by point, from the state's history. */
#include <langinfo.h>
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/pb.h"
#include "util.h"
#include "report.h"

/* The stats of arm series s at point k, for an interval: 0/1 rewards
 * unless the arm's variance says otherwise (binary arms have var =
 * n/(n-1) m(1-m) exactly, up to the six decimals kept). */
static struct pb_stats
point_stats(const struct pb_hist_series *s, size_t k, int nonbinary)
{
	struct pb_stats t = { 0 };
	double n = s->pulls[k], m = s->mean[k], v = isnan(s->var[k]) ? 0 : s->var[k];

	if (isnan(n) || n <= 0)
		return t;
	t.n = (long)n;
	t.sum = n * m;
	t.sumsq = nonbinary ? (n - 1) * v + n * m * m : t.sum;
	t.nonbinary = nonbinary;
	return t;
}

/* The interval of series s at point k into lo, hi; returns the rewarded
 * pulls it rests on (0: none, and [0,1]). */
long
point_ci(const struct pb_hist_series *s, size_t k, int nonbinary,
         const struct opts *o, double *lo, double *hi)
{
	struct pb_stats t = point_stats(s, k, nonbinary);
	const char *meth;

	pb_report_ci(&t, 1 - o->level, o->interval, lo, hi, &meth);
	return t.n;
}

/* Whether arm id of st has had nonbinary rewards (arms gone: assume 0/1). */
int
nonbinary(const struct pb_state *st, const char *id)
{
	int i = pb_state_find_arm(st, id);

	return i >= 0 && st->arms[i].st.nonbinary > 0;
}

/* The total reward at point k: sum of pulls * mean over the arms. */
double
cum_reward(const struct pb_history *h, size_t k)
{
	double c = 0;
	size_t i;

	for (i = 0; i < h->nser; i++)
		if (!isnan(h->ser[i].pulls[k]))
			c += h->ser[i].pulls[k] * h->ser[i].mean[k];
	return c;
}

/* The history to show: the state's, or with --context that context's. */
const struct pb_history *
hist_of(const struct pb_state *st, const struct opts *o)
{
	return o->context ? pb_history_ctx(st->hist, o->context) : st->hist;
}

void
need_history(const struct pb_state *st, const struct opts *o)
{
	const struct pb_history *h = hist_of(st, o);

	if (o->context && (!h || h->n == 0))
		die("%s: no history of context '%s' yet (none kept since its first "
		    "pull, or no pull applied since history was kept)", o->spath, o->context);
	if (!h || h->n == 0)
		die("%s: no history yet (no pulls applied since history was kept)", o->spath);
}

/* The history as one JSON object: a point per update kept, each arm's
 * pulls, mean, interval and selection probability at it. */
static void
history_json(const struct pb_state *st, const struct opts *o)
{
	const struct pb_history *h = hist_of(st, o);
	cJSON *j = cJSON_CreateObject(), *pts, *p, *arms, *x;
	size_t i, k;

	cJSON_AddNumberToObject(j, "stride", (double)h->stride);
	cJSON_AddNumberToObject(j, "level", o->level);
	pts = cJSON_AddArrayToObject(j, "points");
	for (k = 0; k < h->n; k++) {
		p = cJSON_CreateObject();
		cJSON_AddNumberToObject(p, "updates", h->updates[k]);
		cJSON_AddNumberToObject(p, "cum_reward", cum_reward(h, k));
		arms = cJSON_AddObjectToObject(p, "arms");
		for (i = 0; i < h->nser; i++) {
			const struct pb_hist_series *s = &h->ser[i];
			double lo, hi;
			long n;
			if (isnan(s->pulls[k]))
				continue;
			n = point_ci(s, k, nonbinary(st, s->id), o, &lo, &hi);
			x = cJSON_AddObjectToObject(arms, s->id);
			num(x, "pulls", s->pulls[k]);
			num(x, "mean", n ? s->mean[k] : NAN);
			num(x, "ci_low", lo);
			num(x, "ci_high", hi);
			num(x, "prob", s->prob[k]);
		}
		cJSON_AddItemToArray(pts, p);
	}
	put_json(j);
}

/* The history as CSV: a line per point and arm. */
static void
history_csv(const struct pb_state *st, const struct opts *o)
{
	const struct pb_history *h = hist_of(st, o);
	size_t i, k;

	printf("updates,id,pulls,mean,ci_low,ci_high,prob,cum_reward\n");
	for (k = 0; k < h->n; k++)
		for (i = 0; i < h->nser; i++) {
			const struct pb_hist_series *s = &h->ser[i];
			double lo, hi;
			char m[32], l[32], u[32], p[32];
			long n;
			if (isnan(s->pulls[k]))
				continue;
			n = point_ci(s, k, nonbinary(st, s->id), o, &lo, &hi);
			fmtnum(m, sizeof m, n ? s->mean[k] : NAN, "%.6g");
			fmtnum(l, sizeof l, lo, "%.6g");
			fmtnum(u, sizeof u, hi, "%.6g");
			fmtnum(p, sizeof p, s->prob[k], "%.6g");
			printf("%.0f,", h->updates[k]);
			csvfield(s->id);
			printf(",%.0f,%s,%s,%s,%s,%.6g\n", s->pulls[k], m, l, u, p,
			       cum_reward(h, k));
		}
}

void
print_history(const struct pb_state *st, const struct opts *o)
{
	const struct pb_history *h = hist_of(st, o);
	size_t i, k, w = 7;
	char a[32], b[32];
	int md = o->format == F_MD;

	need_history(st, o);
	if (o->format == F_JSON) {
		history_json(st, o);
		return;
	}
	if (o->format == F_CSV) {
		history_csv(st, o);
		return;
	}
	for (i = 0; i < h->nser; i++)
		if (strlen(h->ser[i].id) > w)
			w = strlen(h->ser[i].id);
	printf(md ? "History: %zu points, one every %ld updates; each cell is the "
	       "selection probability / mean reward.\n\n" : "history: %zu points, "
	       "one every %ld updates; each cell is selection probability / mean reward\n",
	       h->n, h->stride);
	printf(md ? "| updates |" : "%9s", "updates");
	for (i = 0; i < h->nser; i++) {
		if (md) {
			putchar(' ');
			mdcell(h->ser[i].id);
			printf(" |");
		} else {
			printf("  %*s", (int)(w > 11 ? w : 11), h->ser[i].id);
		}
	}
	printf(md ? " cumulative reward |\n|---:|" : "  %10s\n", "cum.reward");
	for (i = 0; md && i < h->nser; i++)
		printf(":---:|");
	if (md)
		printf("---:|\n");
	for (k = 0; k < h->n; k++) {
		printf(md ? "| %.0f |" : "%9.0f", h->updates[k]);
		for (i = 0; i < h->nser; i++) {
			const struct pb_hist_series *s = &h->ser[i];
			char cell[80];
			fmtnum(a, sizeof a, s->prob[k], "%.3f");
			fmtnum(b, sizeof b, s->pulls[k] > 0 ? s->mean[k] : NAN, "%.3f");
			snprintf(cell, sizeof cell, "%s / %s", a, b);
			if (md)
				printf(" %s |", cell);
			else
				printf("  %*s", (int)(w > 11 ? w : 11), cell);
		}
		printf(md ? " %.6g |\n" : "  %10.6g\n", cum_reward(h, k));
	}
}

/* The share of the recent pulls that went to each series at each point:
 * its pulls over the last w points (w about a fifteenth of the run) over
 * everyone's.  Unlike a policy's own probability of the next pull, which
 * for UCB1 is 1 for one arm and 0 for the rest, this moves smoothly and
 * reads the same for every policy.  share[i * n + k]; NAN where nothing
 * was pulled in the window.  Returns w. */
size_t
recent_share(const struct pb_history *h, double *share)
{
	size_t w = h->n / 15 ? h->n / 15 : 1, i, k;

	for (k = 0; k < h->n; k++) {
		double tot = 0, d;
		for (i = 0; i < h->nser; i++) {
			const double *p = h->ser[i].pulls;
			double now = isnan(p[k]) ? 0 : p[k];
			double then = k >= w && !isnan(p[k - w]) ? p[k - w] : 0;
			share[i * h->n + k] = d = now - then;
			tot += d;
		}
		for (i = 0; i < h->nser; i++)
			share[i * h->n + k] = tot > 0 ? share[i * h->n + k] / tot : NAN;
	}
	return w;
}

/* Sparklines: eight levels in UTF-8, else ASCII. */
static const char *const spark_utf8[] = {
	"\xe2\x96\x81", "\xe2\x96\x82", "\xe2\x96\x83", "\xe2\x96\x84",
	"\xe2\x96\x85", "\xe2\x96\x86", "\xe2\x96\x87", "\xe2\x96\x88"
};
static const char *const spark_ascii[] = { "_", ".", ",", "-", "=", "+", "*", "#" };

#define CHART_W 60

/* One sparkline of v over the points (the last point of each column),
 * scaled to [0, top]. */
static void
sparkline(const double *v, size_t n, double top, int utf8)
{
	size_t c, cols = n < CHART_W ? n : CHART_W;

	for (c = 0; c < cols; c++) {
		double x = v[(c + 1) * n / cols - 1];
		int lv;
		if (isnan(x)) {
			putchar(' ');
			continue;
		}
		lv = top > 0 ? (int)floor(x / top * 8) : 0;
		lv = lv < 0 ? 0 : lv > 7 ? 7 : lv;
		fputs(utf8 ? spark_utf8[lv] : spark_ascii[lv], stdout);
	}
	for (; c < CHART_W; c++)
		putchar(' ');
}

void
print_chart(const struct pb_state *st, const struct opts *o)
{
	const struct pb_history *h = hist_of(st, o);
	const char *cs;
	double *cum, *share, top = 0;
	size_t i, k, w = 4, win;
	int utf8;

	if (!h || h->n == 0)
		return;
	setlocale(LC_CTYPE, "");
	cs = nl_langinfo(CODESET);
	utf8 = cs && (!strcmp(cs, "UTF-8") || !strcmp(cs, "utf8"));
	for (i = 0; i < h->nser; i++)
		if (strlen(h->ser[i].id) > w)
			w = strlen(h->ser[i].id);
	/* the share of recent pulls, as the plot draws it: a policy's own
	 * probability is 0 or 1 for UCB1, spikes rather than a picture */
	share = ecalloc(h->nser * h->n, sizeof *share);
	win = recent_share(h, share);
	printf("\nselection share over %.0f updates (each arm's share of the pulls "
	       "in the last %zu of %zu points, 0 to 1):\n", h->updates[h->n - 1], win, h->n);
	for (i = 0; i < h->nser; i++) {
		char last[32];
		printf("  %-*s  ", (int)w, h->ser[i].id);
		sparkline(share + i * h->n, h->n, 1, utf8);
		fmtnum(last, sizeof last, share[i * h->n + h->n - 1], "%.3f");
		printf("  %s\n", last);
	}
	free(share);
	printf("mean reward (0 to 1):\n");
	for (i = 0; i < h->nser; i++) {
		printf("  %-*s  ", (int)w, h->ser[i].id);
		sparkline(h->ser[i].mean, h->n, 1, utf8);
		printf("  %.3f\n", h->ser[i].mean[h->n - 1]);
	}
	cum = ecalloc(h->n, sizeof *cum);
	for (k = 0; k < h->n; k++)
		if ((cum[k] = cum_reward(h, k)) > top)
			top = cum[k];
	printf("cumulative reward (0 to %.6g):\n  %-*s  ", top, (int)w, "all");
	sparkline(cum, h->n, top, utf8);
	printf("  %.6g\n", cum[h->n - 1]);
	free(cum);
}
