/* report.h - pb-report is one tool in several files: pb-report.c reads
 * the options and dispatches on the mode; report-rank.c ranks the arms
 * (and each context), report-verdict.c says which is best, report-replay.c
 * rebuilds a ranking from scored records (and --adjusted, the pooled fit), report-history.c and
 * report-plot.c show how the run unfolded, report-validate.c checks the
 * winner on held-out records, report-format.c holds the output helpers. */
#ifndef PB_REPORT_H
#define PB_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "../lib/pb.h"

/* What a run of pb-report does; main chooses it from the options. */
enum mode {
	MODE_RANK,     /* the ranking and verdict (and the chart, the plot) */
	MODE_HISTORY,  /* --history: the history as a table */
	MODE_REPLAY,   /* --replay: the ranking rebuilt from scored records */
	MODE_VALIDATE  /* --validate FILE: the held-out check */
};

enum format { F_TABLE, F_JSON, F_CSV, F_MD };
enum gate { G_NONE, G_VERDICT, G_UPLIFT }; /* --require */

/* Everything the options decide. */
struct opts {
	enum mode mode;
	enum format format;
	enum gate gate;
	double alpha_gate;     /* --require uplift:ALPHA, and the winner's curse */
	double level;          /* --level */
	double eps;            /* --epsilon, or NAN */
	const char *interval;  /* --interval: anytime, auto or bernstein */
	long draws;            /* --draws, for P(best) */
	long resamples;        /* --resamples, for the bootstrap */
	uint64_t seed;         /* --seed */
	int price;             /* --price was given: */
	double price_in, price_out; /* dollars per million tokens */
	const char *spath;     /* the state file, or NULL (replay, validate) */
	const char *context;   /* --context: one context's ranking, or NULL */
	const char *plot;      /* --plot FILE, or NULL */
	int chart;             /* --chart: the text chart even off a terminal */
	const char *validate;  /* --validate FILE */
	const char *baseline;  /* --baseline ARM, or NULL */
	const char *arm;       /* --arm ARM, or NULL: the state's leader */
	int force;             /* --force: validate on training tasks */
	int history, replay;   /* --history, --replay, as given */
	int adjusted;          /* --adjusted (with --replay) */
};

/* ================================================================ ranking */

struct row {
	int arm;
	double mean, lo, hi, index, share, prob, pbest;
	double plo, phi;      /* the mean on the pool's tasks themselves
	                       * (pool_interval), or NAN */
	const char *method;
};

/* How P(best) was computed: independent draws, joint draws through the
 * pairs, or integrated on a grid (a large pool). */
enum { PBEST_DRAWN, PBEST_JOINT, PBEST_GRID };

/* A ranking: of a state, or of records replayed into one. */
struct ranking {
	struct pb_state st;
	struct row *r;        /* in rank order */
	struct pb_verdict v;  /* pb_bandit_verdict */
	int tokens;           /* the arms' tok_in and tok_out mean something:
	                       * some arm has tokens, or (replayed) some record
	                       * had response.usage */
	long pending;
	int replayed;         /* index and prob mean nothing */
	int pbest;            /* how P(best) was computed: a PBEST_* */
	int pool_best;        /* the arm best on the pool's own tasks at the
	                       * report's level, or -1 (pool_interval) */
	const char *ctx;      /* a context's ranking: its value (or ctx_all
	                       * for the totals of a state with contexts) */
	int view;             /* st is a view of another state: not freed */
	int more;             /* one more context after the totals (CSV: no
	                       * header) */
	struct adjusted *adj; /* --adjusted: the pooled fit, or NULL */
};

/* --adjusted: the additive (arm + task) fit of a replay (pb_pooled_fit),
 * per arm of the ranking's state. */
struct adjusted {
	double *a;            /* the adjusted means; NAN: no rewarded cell */
	int *comp;            /* each arm's component, 1...; 0: no cell */
	int ncomp, sweeps;
	size_t ncells, ntasks;
};

/* report-verdict.c: the verdict (pb_bandit_verdict) in words and JSON */
/* pb_bandit_verdict, dying out of memory. */
void judge(const struct pb_state *st, double level, double eps, struct pb_verdict *v);
/* Warns when an arm holds more pulls than (arm, task) pairs allow. */
void check_pairs(const struct pb_state *st, const char *ctx);
void say_verdict(const struct pb_state *st, const struct row *r, const struct pb_verdict *v);
cJSON *verdict_json(const struct pb_state *st, const struct row *r, const struct pb_verdict *v);

/* report-rank.c: the ranking */
/* Fills rk->r (best mean first) and rk->v from rk->st. */
void rank_arms(struct ranking *rk, const struct opts *o);
cJSON *ranking_json(const struct ranking *rk, const struct opts *o);
void print_ranking(const struct ranking *rk, const struct opts *o);
/* The line above a context's table: 'context FIELD = VALUE'. */
void context_heading(const char *field, const char *value, const struct opts *o);
/* The contexts of st without a verdict (--require verdict). */
size_t contexts_undecided(const struct pb_state *st, const struct opts *o);
/* Each context's ranking after the totals: into j (JSON), or printed. */
void contexts(const struct pb_state *st, const struct opts *o, cJSON *j);
void ranking_free(struct ranking *rk);

/* report-replay.c: --replay */
/* Rebuilds rk->st from the scored records of files (stdin when none),
 * checked against ref when not NULL.  Returns the bad records plus the
 * arms that disagree (each reported); *records the records read. */
long replay(struct ranking *rk, const struct pb_state *ref, int adjusted,
            int nfiles, char *const *files, long *records);
/* --adjusted: rk->adj as a table under the ranking, or into the JSON j
 * (an "adjusted" member per arm, "comp" too with two or more
 * components, and a "pooled" object); adjusted_free frees it. */
void print_adjusted(const struct ranking *rk, const struct opts *o);
void adjusted_json(const struct ranking *rk, cJSON *j);
void adjusted_free(struct ranking *rk);

/* report-history.c: --history, the text chart, and what the plot shares */
/* The history shown: st's, or with --context that context's. */
const struct pb_history *hist_of(const struct pb_state *st, const struct opts *o);
/* Dies unless there is a history to show. */
void need_history(const struct pb_state *st, const struct opts *o);
/* The interval of series s at point k into lo, hi; returns the rewarded
 * pulls it rests on (0: none). */
long point_ci(const struct pb_hist_series *s, size_t k, int nonbinary,
              const struct opts *o, double *lo, double *hi);
int nonbinary(const struct pb_state *st, const char *id);
double cum_reward(const struct pb_history *h, size_t k);
void print_history(const struct pb_state *st, const struct opts *o);
void print_chart(const struct pb_state *st, const struct opts *o);
/* Each series' share of the pulls of the last w points, at each point,
 * into share[i * h->n + k] (NAN: no pull in the window); returns w. */
size_t recent_share(const struct pb_history *h, double *share);

/* report-plot.c: --plot */
void plot(const struct pb_state *st, const struct opts *o);

/* report-validate.c: --validate */
/* The held-out report (and each context's); returns the exit status. */
int validate(const struct opts *o, const struct pb_state *st);

/* report-format.c: output helpers */
void put_json(cJSON *j);                          /* one line; frees j */
void num(cJSON *o, const char *k, double v);      /* null unless finite */
/* Dollars at --price; NAN without a price or token counts (known 0). */
double cost(const struct opts *o, int known, double in, double out);
void csvfield(const char *s);                     /* quoted when it must be */
/* The interval methods of n rows, in words (the name at offset off). */
const char *methods(const void *rows, size_t n, size_t size, size_t off);
void mdcell(const char *s);                       /* | escaped */
void fmtnum(char *buf, size_t n, double v, const char *fmt); /* or "-" */
/* Reports a bad record by file and line (and pull when > 0); counts it. */
void bad_record(long *bad, const struct pb_where *at, long pull, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
