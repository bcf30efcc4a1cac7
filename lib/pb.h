/* pb.h - the promptbandit library: everything two or more tools share.
 *
 * Conventions, for every function below:
 *  - lib/ never prints and never exits.  A function that can fail returns
 *    0 on success and -1 on failure, and writes a one-line message without
 *    a trailing newline into the caller's buffer err[PB_ERRLEN].
 *  - Strings returned through pointers are malloc'd and owned by the caller
 *    unless the comment says otherwise.
 *  - JSON values are cJSON trees; a function that takes a cJSON * does not
 *    take ownership unless it says so.
 */
#ifndef PB_H
#define PB_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#define PB_VERSION "0.1.0"
#define PB_ERRLEN 512

/* Exit statuses shared by every tool (documented in pb.7). */
enum {
	PB_EXIT_OK = 0,      /* everything done */
	PB_EXIT_RECORDS = 1, /* some records failed; each was reported */
	PB_EXIT_USAGE = 2,   /* usage, system or state error; nothing changed */
	PB_EXIT_DONE = 3     /* pb-sample: the policy says stop */
};

/* ===================================================================== */
/* jsonl.c: reading and writing JSON-lines records                        */
/* ===================================================================== */

/* Where a record came from: file name (as the user gave it, "-" shown as
 * "<stdin>") and 1-based line number. */
struct pb_where {
	const char *file;
	long line;
};

/* Called once per non-blank input line.  rec is the parsed JSON object, or
 * NULL when the line is bad, in which case why says what is wrong.  The
 * callback owns rec (must cJSON_Delete it or keep it).  A non-zero return
 * stops the loop and is returned by pb_jsonl_each. */
typedef int (*pb_record_fn)(cJSON *rec, const struct pb_where *at,
                            const char *why, void *arg);

/* Reads fp line by line (any length) and calls fn for every non-blank line.
 * Lines must hold one JSON object each.  Returns 0 at end of input, the
 * callback's value if it stopped the loop, or -1 on a read error (err set).
 * *nlines, if not NULL, receives the number of lines read. */
int pb_jsonl_each(FILE *fp, const char *name, pb_record_fn fn, void *arg,
                  long *nlines, char err[PB_ERRLEN]);

/* Writes rec as one line of compact JSON.  Returns 0, or -1 if the write
 * failed (errno set). */
int pb_jsonl_write(FILE *fp, const cJSON *rec);

/* Field access helpers.  They never allocate.  pb_json_str returns the
 * string value of key in obj, or NULL if absent or not a string.
 * pb_json_num stores the numeric value and returns 0, or returns -1.
 * Keys may be dotted paths ("task.answer") to reach into nested objects. */
cJSON *pb_json_path(const cJSON *obj, const char *path);
const char *pb_json_str(const cJSON *obj, const char *path);
int pb_json_num(const cJSON *obj, const char *path, double *out);

/* Replaces (or adds) key in obj with item, taking ownership of item. */
void pb_json_set(cJSON *obj, const char *key, cJSON *item);

/* Renders a JSON value as text the way a template wants it: strings
 * without quotes, numbers in shortest form, others as compact JSON.
 * Returns a malloc'd string, or NULL on allocation failure. */
char *pb_json_text(const cJSON *v);

/* ===================================================================== */
/* rng.c: xoshiro256** seeded by splitmix64; its state lives in the      */
/* state file so runs are reproducible.                                  */
/* ===================================================================== */

struct pb_rng {
	uint64_t s[4];
};

void pb_rng_seed(struct pb_rng *r, uint64_t seed);
uint64_t pb_rng_next(struct pb_rng *r);
double pb_rng_uniform(struct pb_rng *r);          /* [0,1) */
uint64_t pb_rng_below(struct pb_rng *r, uint64_t n); /* [0,n), unbiased */
double pb_rng_normal(struct pb_rng *r);           /* N(0,1) */
double pb_rng_gamma(struct pb_rng *r, double shape); /* Gamma(shape,1) */
double pb_rng_beta(struct pb_rng *r, double a, double b);

/* A 64-bit hash of bytes (FNV-1a followed by a splitmix finaliser), for
 * stable choices derived from text (pb-sim, cache keys). */
uint64_t pb_hash(const void *p, size_t n, uint64_t seed);

/* ===================================================================== */
/* stats.c: confidence intervals and distributions                        */
/* ===================================================================== */

/* Sufficient statistics of an arm's rewards. */
struct pb_stats {
	long n;        /* rewarded pulls */
	double sum;    /* sum of rewards */
	double sumsq;  /* sum of squared rewards */
	long nonbinary; /* rewards that were not exactly 0 or 1 */
};

void pb_stats_add(struct pb_stats *s, double reward);
double pb_stats_mean(const struct pb_stats *s); /* 0 when n == 0 */
double pb_stats_var(const struct pb_stats *s);  /* sample variance */

/* Two-sided confidence interval at level 1-alpha.  For 0/1 rewards the
 * Wilson score interval, otherwise Student's t.  *method receives a
 * static name ("wilson" or "t").  n == 0 gives [0,1]. */
void pb_stats_ci(const struct pb_stats *s, double alpha, double *lo,
                 double *hi, const char **method);

double pb_normal_quantile(double p);        /* inverse of Phi */
double pb_t_quantile(double p, double df);  /* inverse Student t CDF */

/* ===================================================================== */
/* state.c: the state file (format in pb-state.5)                         */
/* ===================================================================== */

#define PB_STATE_FORMAT "promptbandit-state"
#define PB_STATE_VERSION 1
#define PB_PENDING_TTL 900.0 /* seconds a handed-out pull counts as pending */

enum pb_policy_kind {
	PB_POL_UNIFORM,
	PB_POL_EPSILON,
	PB_POL_UCB1,
	PB_POL_THOMPSON
};

struct pb_policy {
	enum pb_policy_kind kind;
	double epsilon; /* epsilon-greedy: exploration probability */
	double c;       /* ucb1: exploration constant in sqrt(c ln t / n) */
	double a0, b0;  /* thompson: Beta prior */
};

struct pb_arm {
	char *id;
	cJSON *fields;       /* the arm as given in the arms file (owned) */
	struct pb_stats st;  /* rewards */
	long errors;         /* pulls that came back unscored */
	long pending;        /* live pending pulls (derived at load, not saved) */
};

/* A pull handed out by pb-sample and not yet applied by pb-update. */
struct pb_pull {
	long id;
	int arm;      /* index into arms; -1 once applied */
	double t;     /* when it was handed out, seconds since the epoch */
};

struct pb_state {
	char run[33];          /* random hex id of this state's run */
	struct pb_policy pol;
	struct pb_rng rng;
	long next_pull;        /* next pull id to hand out (ids start at 1) */
	long updates;          /* pulls applied */
	double pending_ttl;
	double created;
	struct pb_arm *arms;
	size_t narms;
	struct pb_pull *pend;  /* sorted by id */
	size_t npend, cappend;
	cJSON *merged;         /* array of run ids merged in (owned) */
};

/* Makes a new state from an arms file (JSON lines, each with a string
 * "id"; duplicates rejected) and a policy.  Errors name name:line. */
int pb_state_new(struct pb_state *st, FILE *arms, const char *name,
                 const struct pb_policy *pol, uint64_t seed,
                 char err[PB_ERRLEN]);

/* Writes st as a new file at path; fails if path already exists (the
 * temp file is linked into place, so two concurrent inits cannot both
 * win). */
int pb_state_create(const struct pb_state *st, const char *path,
                    char err[PB_ERRLEN]);

/* Loads and validates path.  On failure st is left empty. */
int pb_state_load(struct pb_state *st, const char *path, char err[PB_ERRLEN]);

/* Writes st to path atomically: a temp file in the same folder, fsync,
 * rename, fsync of the folder.  path is untouched if this fails. */
int pb_state_save(const struct pb_state *st, const char *path,
                  char err[PB_ERRLEN]);

/* Takes an exclusive flock(2) on path itself, serialising every writer;
 * if the file was replaced while we waited, the lock is taken again on
 * the new file.  Returns a descriptor for pb_state_unlock, or -1. */
int pb_state_lock(const char *path, char err[PB_ERRLEN]);
void pb_state_unlock(int fd);

void pb_state_free(struct pb_state *st);

int pb_state_find_arm(const struct pb_state *st, const char *id);

/* Recounts arms[].pending from pend[], counting pulls handed out less
 * than pending_ttl seconds before now. */
void pb_state_count_pending(struct pb_state *st, double now);

/* Records a new pending pull for arm; returns its id, or -1 (ENOMEM). */
long pb_state_hand_out(struct pb_state *st, int arm, double now);

/* Finds pull id among the pending ones; returns its index or -1.  An
 * entry whose arm is -1 was applied earlier in this run. */
long pb_state_find_pending(const struct pb_state *st, long id);

/* Marks pending pull i applied (arm = -1); it is left out when saved. */
void pb_state_drop_pending(struct pb_state *st, size_t i);

/* Adds other's statistics into st (same arm ids required; a run already
 * merged, or st's own run, is refused). */
int pb_state_merge(struct pb_state *st, const struct pb_state *other,
                   char err[PB_ERRLEN]);

/* Serialises st as a cJSON tree (used by save and by pb-report --json). */
cJSON *pb_state_to_json(const struct pb_state *st);

double pb_now(void); /* wall clock, seconds since the epoch */

/* ===================================================================== */
/* policy.c: arm selection                                                */
/* ===================================================================== */

/* Parses "ucb1", "ucb1:c=2", "epsilon-greedy:epsilon=0.1",
 * "thompson:a=1,b=1", "uniform".  Sets defaults first. */
int pb_policy_parse(struct pb_policy *p, const char *spec,
                    char err[PB_ERRLEN]);
const char *pb_policy_name(enum pb_policy_kind k);

/* Chooses an arm, counting each arm's live pending pulls as if they had
 * been observed at the arm's current mean, so one batch spreads over the
 * arms.  Uses and advances st->rng.  Returns an arm index. */
int pb_policy_select(struct pb_state *st);

/* The policy's index for arm i (UCB bound, posterior mean, or mean), for
 * reports; NAN where the policy has none. */
double pb_policy_index(const struct pb_state *st, int i);

/* ===================================================================== */
/* template.c: prompt rendering                                           */
/* ===================================================================== */

/* Renders tmpl, replacing {name} by the value of name looked up first in
 * arm then in task; {arm.name} and {task.name} look in one only; {{ and }}
 * are literal braces.  {input} is the task's input field (named by
 * input_field).  Returns a malloc'd string, or NULL with err set (unknown
 * placeholder, unclosed brace). */
char *pb_render(const char *tmpl, const cJSON *arm, const cJSON *task,
                const char *input_field, char err[PB_ERRLEN]);

#endif
