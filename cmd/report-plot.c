/* report-plot.c - pb-report --plot: the history drawn by gnuplot into
 * an SVG or PNG, three panels sharing their x axis. */
#include <errno.h>
#include <math.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../lib/pb.h"
#include "util.h"
#include "report.h"

extern char **environ;

/* s as a gnuplot double-quoted string: " and \ after a backslash (so
 * no other backslash is left to start an escape), control characters
 * shown as '?'.  Not single quotes: gnuplot 5.4 does not read a doubled
 * ' inside them. */
static void
gpstr(FILE *fp, const char *s)
{
	putc('"', fp);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			putc('\\', fp);
		putc((unsigned char)*s < 0x20 ? '?' : *s, fp);
	}
	putc('"', fp);
}

static void
gpnum(FILE *fp, double v)
{
	if (isfinite(v))
		fprintf(fp, " %.6g", v);
	else
		fputs(" ?", fp);
}

#define PLOT_NAMED 6 /* arms named and coloured when there are more than 8 */

/* Sets lead[i] to 1 + the rank of series i among the arms drawn in
 * colour and named, 0 for the rest: all of them when there are 8 or
 * fewer, else the PLOT_NAMED with the highest lower interval bound at the
 * last point (a lucky arm pulled twice is no leader).  Rank 1 is the
 * highest bound.  Returns how many are named. */
static size_t
plot_leaders(const struct pb_state *st, const struct opts *o, int *lead)
{
	const struct pb_history *h = hist_of(st, o);
	size_t i, j, k = h->n - 1, n, want = h->nser <= 8 ? h->nser : PLOT_NAMED;
	double *lb = ecalloc(h->nser, sizeof *lb);

	for (i = 0; i < h->nser; i++) {
		double lo, hi;
		lead[i] = 0;
		lb[i] = point_ci(&h->ser[i], k, nonbinary(st, h->ser[i].id), o, &lo, &hi) ?
		        lo : -1;
	}
	for (n = 0; n < want; n++) {
		size_t best = h->nser;
		for (j = 0; j < h->nser; j++)
			if (!lead[j] && (best == h->nser || lb[j] > lb[best]))
				best = j;
		lead[best] = (int)n + 1;
	}
	free(lb);
	return n;
}

/* The line colour of series i: a fixed palette by rank for the named
 * arms, grey for the rest. */
static const char *
plot_colour(const int *lead, size_t i)
{
	static const char *const pal[] = { "#1f77b4", "#d62728", "#2ca02c",
		"#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf" };

	return lead[i] ? pal[(lead[i] - 1) % 8] : "#c0c0c0";
}

/* The series to draw in pass 0 (the grey ones, in order) then pass 1
 * (the named ones, by rank): the index of the j-th, or nser when done. */
static size_t
plot_nth(const int *lead, size_t nser, size_t pass, size_t j)
{
	size_t i, seen = 0;

	for (i = 0; i < nser; i++) {
		if (pass == 0 && !lead[i] && seen++ == j)
			return i;
		if (pass == 1 && lead[i] == (int)j + 1)
			return i;
	}
	return nser;
}

/* The data file: one block per arm (updates pulls mean lo hi prob
 * share), then the cumulative reward; blocks are two blank lines apart
 * (gnuplot's `index`). */
static void
plot_data(const char *data, const struct pb_state *st, const struct opts *o,
          const double *share)
{
	const struct pb_history *h = hist_of(st, o);
	FILE *fp;
	size_t i, k;

	if (!(fp = fopen(data, "w")))
		die("%s:", data);
	for (i = 0; i < h->nser; i++) {
		const struct pb_hist_series *s = &h->ser[i];
		int nb = nonbinary(st, s->id);
		fprintf(fp, "# arm %zu\n", i);
		for (k = 0; k < h->n; k++) {
			double lo, hi;
			long n;
			if (isnan(s->pulls[k]))
				continue;
			/* no band where there is no mean, nor on one or two
			 * graded rewards: a t interval on them spans [0,1] or
			 * nothing, and shades the others' bands over */
			if ((n = point_ci(s, k, nb, o, &lo, &hi)) == 0 || (nb && n < 3))
				lo = hi = NAN;
			fprintf(fp, "%.0f", h->updates[k]);
			gpnum(fp, s->pulls[k]);
			gpnum(fp, n ? s->mean[k] : NAN);
			gpnum(fp, lo);
			gpnum(fp, hi);
			gpnum(fp, s->prob[k]);
			gpnum(fp, share[i * h->n + k]);
			putc('\n', fp);
		}
		fputs("\n\n", fp);
	}
	fprintf(fp, "# cumulative reward\n");
	for (k = 0; k < h->n; k++)
		fprintf(fp, "%.0f %.6g\n", h->updates[k], cum_reward(h, k));
	if (fclose(fp) == EOF)
		die("%s:", data);
}

/* The title of series i in a panel: its id when it is named, one entry
 * for all the grey ones (the first drawn), else none. */
static void
plot_title(FILE *fp, const struct pb_history *h, const int *lead, size_t i,
           int first, size_t nlead)
{
	if (lead[i]) {
		fputs("title ", fp);
		gpstr(fp, h->ser[i].id);
	} else if (first) {
		fprintf(fp, "title 'the other %zu arms'", h->nser - nlead);
	} else {
		fputs("notitle", fp);
	}
}

/* The two panels drawn per arm: the share of recent pulls (column 7),
 * or the mean with the named arms' bands (columns 3, 4 and 5).  The grey
 * arms first, so the named ones are drawn over them. */
static void
plot_panel(FILE *fp, const char *data, const struct pb_history *h, const int *lead,
           size_t nlead, int means)
{
	size_t pass, j, i;
	int first = 1;

	for (pass = 0; pass < 2; pass++)
		for (j = 0; (i = plot_nth(lead, h->nser, pass, j)) < h->nser; j++) {
			fprintf(fp, "%s", first ? " " : ", \\\n  ");
			if (means && lead[i]) {
				gpstr(fp, data);
				fprintf(fp, " index %zu using 1:4:5 with filledcurves lc rgb '%s' "
				        "notitle, ", i, plot_colour(lead, i));
			}
			gpstr(fp, data);
			fprintf(fp, " index %zu using 1:%d with lines lw %d lc rgb '%s' ", i,
			        means ? 3 : 7, lead[i] ? 2 : 1, plot_colour(lead, i));
			plot_title(fp, h, lead, i, first, nlead);
			first = 0;
		}
}

/* The gnuplot script: the terminal, then three panels sharing their x
 * axis (fixed margins): the share of recent pulls (over the last w
 * points), the means with their bands, the cumulative reward. */
static void
plot_script(const char *script, const char *data, const struct pb_state *st,
            const struct opts *o, const int *lead, size_t nlead, size_t w)
{
	const struct pb_history *h = hist_of(st, o);
	int png = !strcmp(strrchr(o->plot, '.'), ".png");
	char t[256];
	FILE *fp;

	if (!(fp = fopen(script, "w")))
		die("%s:", script);
	if (png)
		fputs("if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n"
		      "  set terminal pngcairo size 900,1200 noenhanced font 'sans,10'\n"
		      "} else {\n"
		      "  set terminal png size 900,1200 noenhanced\n"
		      "}\n", fp);
	else
		fputs("set terminal svg size 900,1200 dynamic noenhanced font 'sans,11'\n", fp);
	fputs("set output ", fp);
	gpstr(fp, o->plot);
	fputs("\nset datafile missing '?'\nset key outside right top\n"
	      "set lmargin 10\nset rmargin 26\n"
	      "set grid\nset xlabel 'updates (pulls applied)'\n"
	      "set style fill transparent solid 0.15 noborder\nset multiplot layout 3,1 title ", fp);
	snprintf(t, sizeof t, "promptbandit run %.8s, policy %s, %s%s%s%.0f updates",
	         st->run, pb_policy_name(st->pol.kind), o->context ? "context " : "",
	         o->context ? o->context : "", o->context ? ", " : "",
	         (double)st->updates);
	gpstr(fp, t);
	fprintf(fp, "\nset title 'share of the recent pulls (each point: the last %zu "
	        "of %zu points)'\n"
	        "set yrange [0:*]\nset ylabel 'share of pulls'\nplot", w, h->n);
	plot_panel(fp, data, h, lead, nlead, 0);
	fprintf(fp, "\nset title '%g%% interval band and mean reward%s'\n"
	        "set yrange [0:1]\nset ylabel 'mean reward'\nplot", o->level * 100,
	        nlead < h->nser ? " (bands of the named arms)" : "");
	plot_panel(fp, data, h, lead, nlead, 1);
	fputs("\nset title 'cumulative reward'\nset autoscale y\nset ylabel 'reward'\nplot ", fp);
	gpstr(fp, data);
	fprintf(fp, " index %zu using 1:2 with lines lw 2 lc black title 'all arms'\n"
	        "unset multiplot\nset output\n", h->nser);
	if (fclose(fp) == EOF)
		die("%s:", script);
}

/* Runs gnuplot on script, without a shell; its exit status decides. */
static void
run_gnuplot(char *script, const struct opts *o, const char *data, const char *dir)
{
	char *argv[] = { "gnuplot", script, NULL };
	struct stat sb;
	pid_t pid;
	int e, status = 0;

	fflush(stdout);
	e = posix_spawnp(&pid, "gnuplot", NULL, NULL, argv, environ);
	if (e == 0) {
		while (waitpid(pid, &status, 0) < 0)
			if (errno != EINTR)
				die("waitpid:");
	}
	unlink(data);
	unlink(script);
	rmdir(dir);
	if (e == ENOENT)
		die("--plot: gnuplot not found; install it (Debian: apt-get install gnuplot-nox)");
	if (e)
		die("--plot: cannot run gnuplot: %s", strerror(e));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		unlink(o->plot);
		die("--plot: gnuplot failed (%s %d); its messages are above",
		    WIFEXITED(status) ? "exit status" : "signal",
		    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	}
	if (stat(o->plot, &sb) < 0 || sb.st_size == 0)
		die("--plot: gnuplot wrote nothing to %s", o->plot);
}

/* Draws the three panels of the history into o->plot through gnuplot: the
 * data and the script go to a temp folder, gnuplot runs without a shell,
 * and its exit status decides. */
void
plot(const struct pb_state *st, const struct opts *o)
{
	const struct pb_history *h = hist_of(st, o);
	const char *ext = strrchr(o->plot, '.'), *tmpdir = getenv("TMPDIR");
	char dir[4096], data[4200], script[4200];
	size_t w, nlead;
	int *lead;
	double *share;

	if (!ext || (strcmp(ext, ".svg") && strcmp(ext, ".png")))
		die("--plot: '%s' does not end in .svg or .png", o->plot);
	need_history(st, o);
	snprintf(dir, sizeof dir, "%s/pb-report.XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
	if (!mkdtemp(dir))
		die("cannot make a temp folder in %s:", tmpdir && *tmpdir ? tmpdir : "/tmp");
	snprintf(data, sizeof data, "%s/history.dat", dir);
	snprintf(script, sizeof script, "%s/plot.gp", dir);
	share = ecalloc(h->nser * h->n, sizeof *share);
	w = recent_share(h, share);
	lead = ecalloc(h->nser, sizeof *lead);
	nlead = plot_leaders(st, o, lead);
	plot_data(data, st, o, share);
	plot_script(script, data, st, o, lead, nlead, w);
	free(share);
	free(lead);
	run_gnuplot(script, o, data, dir);
}
