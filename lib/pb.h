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

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <regex.h>
#include <stdio.h>
#include <sys/types.h>

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
	const char *text; /* the line as read, without surrounding blanks */
	size_t len;       /* (not NUL-terminated; valid during the callback) */
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

/* Runs pb_jsonl_each over each of the n files in turn, or over standard
 * input when n is 0; "-" also names standard input, shown as "<stdin>".
 * Stops at the first file that cannot be opened or read (err names it)
 * or when fn stops the loop, and returns as pb_jsonl_each does. */
int pb_jsonl_files(int n, char *const *files, pb_record_fn fn, void *arg,
                   char err[PB_ERRLEN]);

/* Like pb_jsonl_files, but a file that cannot be opened or read is handed
 * to fail (the message "NAME: why", and arg) and the others are still
 * read.  Returns 0, or fn's value if it stopped the loop. */
typedef void pb_jsonl_fail_fn(const char *why, void *arg);
int pb_jsonl_files_all(int n, char *const *files, pb_record_fn fn, void *arg,
                       pb_jsonl_fail_fn *fail);

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

/* A number as short text that reads back the same: an integer below
 * 1e15 without a point ("63"), others in %.15g, or %.17g where that is
 * needed to read back exactly. */
void pb_fmt_num(char *buf, size_t n, double v);

/* Whether s is well-formed UTF-8 (no overlong forms, no surrogates,
 * nothing past U+10FFFF): JSON text is UTF-8, and a state file is JSON. */
int pb_utf8_valid(const char *s);

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

/* The anytime confidence interval for the mean of a finite pool of N
 * tasks with 0/1 rewards, from s ones in the first n drawn without
 * replacement in a random order (Waudby-Smith and Ramdas 2020, the
 * prior-posterior ratio with a uniform prior on the pool's count K of
 * ones): {K / N : C(K, s) C(N - K, n - s) / C(N, n) > d / (n + 1)}.
 * It holds at every n at once with probability >= 1 - d, and shrinks to
 * the pool's mean itself at n = N, where the interval for the
 * population the pool came from does not.  n == 0 gives [0, 1].
 * Returns 0, or -1 (and [0, 1]) for arguments that cannot be. */
int pb_wor_bounds(double s, long n, long N, double d, double *lo, double *hi);

double pb_normal_quantile(double p);        /* inverse of Phi */
double pb_t_quantile(double p, double df);  /* inverse Student t CDF */

/* ===================================================================== */
/* state.c: the state file (format in pb-state.5)                         */
/* ===================================================================== */

#define PB_STATE_FORMAT "promptbandit-state"
#define PB_STATE_VERSION 2
#define PB_PENDING_TTL 900.0 /* seconds a handed-out pull counts as pending */
#define PB_MAX_REPEATS 1000  /* pb-update --init --repeats R: R at most this */
#define PB_MAX_COUNT 9e15    /* counts in a state file (pulls, errors, ids):
                              * integers a double and a long both hold */

enum pb_policy_kind {
	PB_POL_UNIFORM,
	PB_POL_EPSILON,
	PB_POL_UCB1,
	PB_POL_THOMPSON,
	/* regret */
	PB_POL_SOFTMAX,
	PB_POL_UCBV,
	PB_POL_KLUCB,
	PB_POL_EXP3,
	/* fixed budget: stop when `budget` pulls are handed out */
	PB_POL_HALVING,
	PB_POL_REJECTS,
	/* fixed confidence: stop when the best arm is known at 1-delta */
	PB_POL_LUCB,
	PB_POL_TOPTWO,
	/* fixed confidence on paired statistics: pb-sample sends each task
	 * to every surviving arm; stop when one is left */
	PB_POL_RACE
};

struct pb_policy {
	enum pb_policy_kind kind;
	double epsilon; /* epsilon-greedy: exploration probability */
	double c;       /* ucb1, ucb-v, kl-ucb: exploration constant */
	double a0, b0;  /* thompson, top-two: Beta prior */
	double tau;     /* softmax: temperature */
	double gamma;   /* exp3: exploration share */
	double budget;  /* successive-halving, -rejects: pulls in all */
	double delta;   /* lucb, top-two, race: error probability */
	double beta;    /* top-two: probability of pulling the leader */
};

struct pb_arm {
	char *id;
	cJSON *fields;       /* the arm as given in the arms file (owned) */
	struct pb_stats st;  /* rewards */
	long errors;         /* pulls that came back unscored */
	long pending;        /* live pending pulls (derived at load, not saved) */
	int retired;         /* out of the pool: never chosen again, kept for
	                      * its statistics (pb_state_retire) */
	double tok_in, tok_out; /* prompt and completion tokens of its pulls
	                      * applied (pb_state_add_tokens) */
	double *pstate;      /* the policy's own numbers for this arm, saved as
	                      * "policy_state" (pb_policy_nstate of them), or
	                      * NULL: the policy's starting values */
	long cursor;         /* tasks.c: every position of the pool's order
	                      * below this one the arm has used or passed over
	                      * (for a context's pool: the context's arm) */
};

/* tasks.c: a pool of tasks, one seeded random order of them.  A task is
 * known by its id (the task's "id" field, or "#" and a digest of its
 * input when it has none) and a digest of its input text, so a task
 * whose text changed under the same id is caught.  id[p], dig[p]: the
 * task at position p; ht is a hash index from id to position. */
struct pb_tasks {
	size_t n, cap;
	char **id;
	uint64_t *dig;
	size_t *ht, htcap;
};

/* The pulls one pb-sample run handed out: ids first .. first+n-1.  The
 * state keeps, per batch, how many pulls of each arm are still out and
 * which ids came back, so its size does not grow with the batch: a run
 * over a million tasks is one batch of a few numbers. */
struct pb_batch {
	long first, n;
	long k;          /* pulls per task: ids first + g k .. + k - 1 share
	                  * a task (a group), so their rewards are paired */
	double t;        /* when handed out, seconds since the epoch */
	long *left;      /* per arm (narms): pulls not yet back (derived from
	                  * arm[] and done; saved for readers) */
	int *arm;        /* per pull (n): the arm it was handed out to */
	long *pos;       /* per pull (n): its task's position in its pool's
	                  * order, or -1 (a pull handed out without a task) */
	size_t cap;      /* room in arm[] and pos[] */
	long (*done)[2]; /* ids that came back, as sorted disjoint [lo,hi] */
	size_t ndone, capdone;
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
	struct pb_batch *batch; /* pulls still out, oldest first */
	size_t nbatch;
	cJSON *merged;         /* array of run ids merged in (owned) */
	/* pool.c: paired statistics, groups still coming back, contexts */
	struct pb_pair *pair;  /* narms (narms - 1) / 2, see pb_state_pair;
	                        * NULL until a group comes back */
	struct pb_group *open; /* groups with members still out */
	size_t nopen;
	char *ctx_field;       /* the task field naming the context, or NULL */
	struct pb_ctx *ctx;    /* statistics per context value */
	size_t nctx;
	struct pb_history *hist; /* history.c: the bounded history, or NULL */
	struct pb_tasks tasks; /* tasks.c: the pool (a state without contexts;
	                        * with contexts each keeps its own) */
	long repeats;          /* pulls of one (arm, task) pair (--repeats R):
	                        * rewards are averaged per task */
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

/* Recounts arms[].pending from the batches, counting pulls handed out
 * less than pending_ttl seconds before now. */
void pb_state_count_pending(struct pb_state *st, double now);

/* Starts a new batch of pulls handed out at time now; pb_state_hand_out
 * adds to it.  Returns 0, or -1 out of memory. */
int pb_state_begin_batch(struct pb_state *st, double now);

/* Hands out the next pull id to arm in the current batch; returns the id,
 * or -1 out of memory. */
long pb_state_hand_out(struct pb_state *st, int arm);

/* Applies pull id, said to be of arm, with reward (NAN: unscored, counted
 * as an error).  Returns 0 if applied, 1 if that pull was applied before
 * (or its batch forgotten), or -1 with err set if it cannot be right: never
 * handed out, or handed out to another arm. */
int pb_state_apply(struct pb_state *st, long id, int arm, double reward,
                   char err[PB_ERRLEN]);

/* Hands back pull id of arm (context ctx as for pb_state_apply_ctx): a
 * pull that will never come (an interrupted request) stops being pending
 * at once.  No reward and no error is counted, and its arm never gets
 * that task again (its cursor has passed it).  Returns as
 * pb_state_apply. */
int pb_state_release(struct pb_state *st, long id, int arm, const char *ctx,
                     char err[PB_ERRLEN]);

/* Drops the batches handed out pending_ttl or more seconds before now;
 * returns how many pulls were still out in them. */
long pb_state_forget(struct pb_state *st, double now);

/* Adds other's statistics into st (same arm ids required; a run already
 * merged, or st's own run, is refused). */
int pb_state_merge(struct pb_state *st, const struct pb_state *other,
                   char err[PB_ERRLEN]);

/* Serialises st as a cJSON tree (used by save and by pb-report --json). */
cJSON *pb_state_to_json(const struct pb_state *st);

double pb_now(void); /* wall clock, seconds since the epoch */
double pb_clock(void); /* monotonic clock, seconds: for intervals */

/* ===================================================================== */
/* tasks.c: the task pool: one random order of the tasks, a cursor per arm */
/* ===================================================================== */

void pb_tasks_free(struct pb_tasks *t);
/* The position of task id in t, or -1. */
long pb_tasks_find(const struct pb_tasks *t, const char *id);
/* Appends a task (its id not in t yet).  Returns 0, or -1 out of memory. */
int pb_tasks_add(struct pb_tasks *t, const char *id, uint64_t dig);
/* The pool of context ctx, or the state's own when ctx < 0. */
struct pb_tasks *pb_state_tasks(const struct pb_state *st, int ctx);
/* Tasks known, in context ctx, or in all (every context's) when ctx < 0. */
size_t pb_state_pool_size(const struct pb_state *st, int ctx);

/* A task's id (malloc'd): its "id" field, a non-empty string or an
 * integer (written in decimal), else "#" and 16 hex digits of a digest of
 * input (the text of its input field); *dig receives the digest of input
 * that tells a changed task.  NULL with err set when "id" has another
 * type, or out of memory (err not set). */
char *pb_task_key(const cJSON *task, const char *input, uint64_t *dig,
                  char err[PB_ERRLEN]);

/* Makes the n tasks id[i], dig[i] of one input known to the pool of
 * context ctx: pos[i] receives each task's position, or -2 when the pool
 * holds that id with another digest (the task changed; it is left out).
 * Tasks new to the pool are appended in a random order of their own,
 * drawn with st->rng.  Returns how many changed, or -1 out of memory.
 * Ids must be distinct. */
long pb_state_learn(struct pb_state *st, int ctx, size_t n, char *const *id,
                    const uint64_t *dig, long *pos);

/* Arm a's cursor in context ctx (-1: the state's pool). */
long pb_state_cursor(const struct pb_state *st, int ctx, int a);

/* The position a task sent to the k arms arms[] gets: the first position
 * that none of them has used or passed over (the largest cursor), moved
 * on to nxt[p] when nxt is not NULL (nxt[p]: the first position >= p
 * whose task is in the input at hand, or the pool's size).  -1 when there
 * is none: the pool, or the input, is used up for these arms. */
long pb_state_next_pos(const struct pb_state *st, int ctx, const int *arms,
                       size_t k, const long *nxt);

/* pb_state_hand_out of a pull of the task at position pos of context
 * ctx's pool (-1: the state's); the arm's cursor there moves past pos, so
 * the arm is never handed that task, nor any it passed over, again.
 * Returns the pull id, or -1 out of memory. */
long pb_state_hand_out_task(struct pb_state *st, int arm, int ctx, long pos);

/* The arms still in contention in context ctx (-1: all tasks): in[i] is 1
 * for the arms a pull could still tell apart.  lucb, top-two: the leader
 * and the arms not yet separated from it; race and the budgets: the arms
 * still in the race; the others: every arm in the pool.  Retired arms
 * are never in contention.  Returns -1 only if out of memory. */
int pb_state_contention(const struct pb_state *st, int ctx, unsigned char *in);

/* Whether every arm in contention in ctx has used (or passed over) every
 * task of a non-empty pool: then no new evidence can come, and why says
 * "pool exhausted after N tasks: not separated: a, b" (or names the one
 * arm left). */
int pb_state_exhausted(const struct pb_state *st, int ctx, char why[PB_ERRLEN]);

/* The pool as the state file's "tasks" array of [id, digest] pairs, in
 * order, and back (into an empty t; a missing array is an empty pool). */
cJSON *pb_tasks_json(const struct pb_tasks *t);
int pb_tasks_load(struct pb_tasks *t, const cJSON *arr, char err[PB_ERRLEN]);

/* ===================================================================== */
/* pool.c: paired statistics, contexts, a changing pool of arms           */
/* ===================================================================== */

/* A task sent to k arms (pb-sample --arms-per-task): the members that
 * came back, kept until all have (or their batch is forgotten).  Each
 * member's reward is paired with the others' as it arrives. */
struct pb_group {
	long first, k;  /* pull ids first .. first + k - 1 */
	int ctx;        /* index into st->ctx, or -1 */
	int *arm;       /* per member: its arm, or -1 while out */
	double *r;      /* per member: its reward (NAN: an error) */
	long nback;
};

/* One value of the context field: the arms' statistics on those tasks
 * alone.  arms[i] stands for st->arms[i] (id copied; fields NULL). */
struct pb_ctx {
	char *name;
	struct pb_arm *arms;
	struct pb_pair *pair; /* as st->pair, or NULL */
	struct pb_tasks tasks; /* this context's task pool */
};

/* The paired statistics of arms i != j, oriented as (min(i,j), max(i,j)):
 * differences are r_min - r_max.  NULL while no group came back. */
struct pb_pair *pb_state_pair(const struct pb_state *st, int i, int j);

/* The context named name: its index, or -1.  pb_state_add_ctx adds it
 * (with empty statistics) if missing; -1 only if out of memory. */
int pb_state_find_ctx(const struct pb_state *st, const char *name);
int pb_state_add_ctx(struct pb_state *st, const char *name);

/* Fills view with context c's statistics in the shape of a state: the
 * same policy, run, pulls and batches, but c's arms, pairs and task pool,
 * so every function taking a state (policies, stopping rules, reports)
 * works on one context.  The view's delta is the policy's divided by the
 * number of contexts (delta / C each: the C verdicts are all right with
 * probability >= 1 - delta).  view shares st's memory: never
 * pb_state_free it. */
void pb_state_view(const struct pb_state *st, size_t c, struct pb_state *view);

/* pb_state_apply with the pull's context (NULL when the
 * state keeps none; required when it does).  Errors: a context where the
 * state keeps none, none where it does, or one that differs from its
 * group's. */
int pb_state_apply_ctx(struct pb_state *st, long id, int arm, double reward,
                       const char *ctx, char err[PB_ERRLEN]);

/* Chooses the arms of one task in context ctx (-1: none) with st's
 * policy: k distinct arms (k = 0: every arm in the pool), fewer if the
 * pool has fewer; allow, if not NULL, narrows the pool to the arms i
 * with allow[i] set.  Retired arms are never chosen; race chooses its
 * surviving arms (the k best by mean if more survive).  Counts each
 * choice as pending in the context, and advances st->rng.  Returns how
 * many arms went into out, or -1 if out of memory. */
int pb_state_choose(struct pb_state *st, int ctx, size_t k,
                    const unsigned char *allow, int *out);

/* The arms of st still in the pool (not retired), as a view: arms (room
 * for st->narms) receives copies of them, map[v] the index in st of the
 * view's arm v.  Returns how many.  The view has no pairs; never free
 * it. */
size_t pb_state_active(const struct pb_state *st, struct pb_state *view,
                       struct pb_arm *arms, int *map);

/* pb_policy_done on the arms still in the pool (and context ctx, or -1
 * for all tasks); *best, if not NULL, is an index into st->arms. */
int pb_state_done(const struct pb_state *st, int ctx, char why[PB_ERRLEN],
                  int *best);

/* Appends the arms of an arms file (as pb_state_new reads it) to a
 * running state, with empty statistics; an id already in the state is
 * an error naming name:line.  Nothing changes on failure. */
int pb_state_add_arms(struct pb_state *st, FILE *arms, const char *name,
                      char err[PB_ERRLEN]);

/* Adds one applied pull's token usage (response.usage) to arm i, and to
 * its context ctx (NULL: none), for the cost in pb-report. */
void pb_state_add_tokens(struct pb_state *st, int i, const char *ctx,
                         double in, double out);

/* Takes arm id out of the pool.  Its statistics stay; its pulls still
 * out are applied when they come back. */
int pb_state_retire(struct pb_state *st, const char *id, char err[PB_ERRLEN]);

/* Serialisation of the pool's parts (called by state.c): pairs as a list
 * of the pairs with tasks, groups, contexts.  The loaders return 0 or -1
 * with err naming what is malformed; the JSON may lack the part. */
cJSON *pb_pairs_json(const struct pb_state *st, const struct pb_pair *pair);
int pb_pairs_load(struct pb_state *st, struct pb_pair **pair, const cJSON *arr,
                  char err[PB_ERRLEN]);
cJSON *pb_groups_json(const struct pb_state *st);
int pb_groups_load(struct pb_state *st, const cJSON *arr, char err[PB_ERRLEN]);
cJSON *pb_ctx_json(const struct pb_state *st);
int pb_ctx_load(struct pb_state *st, const cJSON *o, char err[PB_ERRLEN]);
void pb_pool_free(struct pb_state *st);
/* For pb_state_apply_ctx (internal): pb__pool_check resolves the pull's
 * context (adding a new one) and checks it against its group's: returns
 * the context's index, -1 for none, or -2 with err set.  pb__pool_apply
 * then records the reward, the policy told first, in the arm's
 * statistics, its context's and its group's (pairing it with the
 * members back already); -1 only if out of memory. */
int pb__pool_check(struct pb_state *st, long first, long k, long id,
                   const char *ctx, char err[PB_ERRLEN]);
int pb__pool_apply(struct pb_state *st, long first, long k, long id, int arm,
                   double reward, int c, int released);
/* Drops the groups of pulls lo .. hi (a batch that is gone). */
void pb_groups_drop(struct pb_state *st, long lo, long hi);
/* Adds b's rewards, errors and tokens into a (merging). */
void pb_arm_add(struct pb_arm *a, const struct pb_arm *b);
/* Adds other's pairs and contexts into st (arms matched by id). */
int pb_pool_merge(struct pb_state *st, const struct pb_state *other,
                  char err[PB_ERRLEN]);

/* An arm's statistics as JSON ("pulls", "mean", "sum", "sumsq",
 * "nonbinary", "errors", "policy_state") into o, and back. */
void pb_arm_stats_json(const struct pb_state *st, const struct pb_arm *a,
                       cJSON *o);
int pb_arm_stats_load(const struct pb_state *st, struct pb_arm *a,
                      const cJSON *o);

/* ===================================================================== */
/* policy.c: arm selection                                                */
/* ===================================================================== */

/* Parses "ucb1", "ucb1:c=2", "epsilon-greedy:epsilon=0.1",
 * "thompson:a=1,b=1", "uniform", "lucb:delta=0.05" and the others named
 * in pb-update(1).  Sets defaults first. */
int pb_policy_parse(struct pb_policy *p, const char *spec,
                    char err[PB_ERRLEN]);
const char *pb_policy_name(enum pb_policy_kind k);

/* The policies' parameters, one row per (policy, parameter), with their
 * ranges (lo < v, or lo <= v with closed_lo; v <= hi): the one table
 * behind pb_policy_parse, pb_policy_check and the state file's
 * "policy" object.  pb_policy_field is the member a row names. */
struct pb_policy_param {
	enum pb_policy_kind kind;
	const char *key;
	size_t off;
	double lo, hi;
	int closed_lo, integer;
};
extern const struct pb_policy_param pb_policy_params[];
extern const size_t pb_policy_nparams;
double *pb_policy_field(struct pb_policy *p, const struct pb_policy_param *q);

/* Checks a policy's parameters are in range (also for loaded states). */
int pb_policy_check(const struct pb_policy *p, char err[PB_ERRLEN]);

/* Chooses an arm, counting each arm's live pending pulls as if they had
 * been observed at the arm's current mean, so one batch spreads over the
 * arms.  Uses and advances st->rng.  Returns an arm index. */
int pb_policy_select(struct pb_state *st);

/* The policy's index for arm i (UCB bound, posterior mean, or mean), for
 * reports; NAN where the policy has none. */
double pb_policy_index(const struct pb_state *st, int i);

/* The probability that the next pull goes to arm i, for reports:
 * analytic where the policy allows, else a Monte Carlo estimate with a
 * fixed seed of its own; never advances st->rng. */
double pb_policy_prob(const struct pb_state *st, int i);

/* Tells the policy that a reward (NAN: an error) of arm i was applied;
 * called by pb_state_apply.  Returns -1 only if out of memory. */
int pb_policy_update(struct pb_state *st, int i, double reward);

/* Tells the policy that the paired statistics of arms i and j changed
 * (pool.c calls it when a group's rewards come back).  Race knocks out
 * arm x (i, then j) once the evidence of all the others against it,
 *     log sum over y != x of M(y over x)       (M = exp(lm), see pb_pair)
 * reaches log(K / delta), K the arms in the state; the last arm standing
 * stays.  If x is a best arm, every M(y over x) is a supermartingale, so
 * their mean is one, and by Ville's inequality it ever reaches
 * K / ((K - 1) delta) with probability <= delta (K - 1) / K: a best arm
 * is knocked out with at most that probability, and with all arms equal
 * the race ends (K - 1 of K knocked out) with probability <= delta.  A
 * pair with no discordant task counts M = 1.  The sum, where the usual
 * rule takes the largest M against a threshold (K - 1) / delta, lets the
 * several arms that beat a middling arm pool their evidence.  Other
 * policies ignore the call.  Returns -1 only if out of memory. */
int pb_policy_pair(struct pb_state *st, int i, int j);

/* Gives every arm its policy numbers (pb_arm.pstate) at their starting
 * values where it has none yet, so copies of the arms share them.
 * Returns -1 only if out of memory. */
int pb_policy_prepare(struct pb_state *st);

/* How many numbers of per-arm state (pb_arm.pstate) the policy keeps. */
int pb_policy_nstate(enum pb_policy_kind k);

/* Whether the policy says stop.  Fixed confidence (lucb, top-two): the
 * stopping rule has fired on the applied rewards (lucb: pb_box_stop,
 * top-two: pb_glr_stop, both in bai.h).  Fixed
 * budget: `budget` pulls were handed out.  Others never stop.  When it
 * returns 1, why says so in words and *best (if not NULL) receives the
 * recommended arm; otherwise *best is the current leader or -1. */
int pb_policy_done(const struct pb_state *st, char why[PB_ERRLEN], int *best);

/* ===================================================================== */
/* bai.c: anytime confidence bounds, stopping rules, paired statistics   */
/* ===================================================================== */

/* Bernoulli Kullback-Leibler divergence kl(p, q), p and q in [0,1]. */
double pb_kl_bern(double p, double q);

/* The q on the side of m (up: q >= m, else q <= m) where kl(m, q) =
 * level; 1 or 0 when kl never gets there.  The KL-UCB index is
 * pb_kl_bound(mean, log(t) / n, 1). */
double pb_kl_bound(double m, double level, int up);

/* log M_n(q) above, from the sum s and count n of an arm's rewards. */
double pb_mix_log(double s, double n, double q);

/* The anytime confidence interval {q : log M_n(q) < log(1/d)}: it holds
 * at every n at once with probability >= 1 - d.  n == 0 gives [0,1]. */
void pb_mix_bounds(double s, double n, double d, double *lo, double *hi);

/* Evidence that arm a is better than arm b: the generalised likelihood
 * ratio with each arm's likelihood replaced by its Jeffreys mixture,
 *
 *   Z(a,b) = inf over la <= lb of log M_a(la) + log M_b(lb)
 *          = log M_a(m) + log M_b(m),  m = (S_a + S_b) / (n_a + n_b),
 *
 * when a's mean is above b's; otherwise the value at the two means
 * (<= 0).  0 when either arm has no rewards. */
double pb_glr_z(const struct pb_stats *a, const struct pb_stats *b);

/* The threshold of the stopping rule for k arms at error probability
 * delta: log(k / delta).  If the empirical best arm a has Z(a,b) >= this
 * for every other arm b, then a is a best arm, with probability >= 1 -
 * delta over the whole run: a wrong a needs Z(a,*) >= log(k/delta) for
 * a true best arm *, hence M_a(mu_a) M_*(mu_*) >= k/delta (the true
 * means satisfy the constraint, and the product of two independent
 * arms' mixtures is itself a supermartingale), which has probability <=
 * delta/k for each of the k - 1 candidates a.  With k rather than k - 1
 * the rule also fires with probability <= delta when all arms are equal
 * (then a leader a != 1 needs Z(a,1) high, and a = 1 needs Z(1,2)). */
double pb_glr_threshold(size_t k, double delta);

/* The empirical best arm of st: the largest mean among arms with
 * rewards, ties to the one with more rewards, then the first; -1 if no
 * arm has rewards. */
int pb_glr_leader(const struct pb_state *st);

/* The fixed-confidence stopping rule on st's applied rewards.  Returns 1
 * when every arm has rewards and the leader's Z against every other arm
 * reaches pb_glr_threshold(narms, delta).  *best receives the leader
 * (-1 if none); open, if not NULL, receives per arm 1 if it is not yet
 * separated from the leader (the leader itself: 0).  A single arm is
 * always done. */
int pb_glr_stop(const struct pb_state *st, double delta, int *best,
                unsigned char *open);

/* The box rule (LUCB's own): stop when the leader's lower bound is above
 * every other arm's upper bound, the bounds being pb_mix_bounds at
 * delta / k.  Every interval holds with probability >= 1 - delta, and
 * then the declared arm is a best arm.  Weaker than pb_glr_stop when the
 * arms have had similar numbers of pulls, stronger when the leader has
 * had many more (each arm pays only its own (1/2) log n).  Arguments as
 * for pb_glr_stop. */
int pb_box_stop(const struct pb_state *st, double delta, int *best,
                unsigned char *open);

/* The eps-good set at confidence 1 - delta: arm i is in it unless its
 * anytime upper bound hi_i (pb_mix_bounds at delta / k) is below
 * max_j lo_j - eps.  With probability >= 1 - delta every arm within eps of
 * the best is in the set.  in[i] receives 1 or 0; returns the set's size. */
size_t pb_eps_good(const struct pb_state *st, double delta, double eps,
                   unsigned char *in);

/* ------------------------------------------------------------ paired */

/* Statistics of two arms i < j on the tasks both answered: n tasks, sum
 * and sum of squares of d = r_i - r_j, and the discordant counts b (d > 0:
 * for 0/1 rewards, i right and j wrong) and c (d < 0).  Of those, fpos
 * and fneg had a fractional d (not -1, 0 or 1: graded rewards), whose
 * sum and sum of squares are fsum and fsumsq. */
struct pb_pair {
	long n;
	double sum, sumsq;
	long b, c;
	long fpos, fneg;
	double fsum, fsumsq;
	double lm[2]; /* log of the mixture martingales below: [0] for the
	               * first arm over the second, [1] the other way; kept
	               * by pb_pair_add, recomputed by pb_pair_refresh */
};

void pb_pair_add(struct pb_pair *p, double ri, double rj);
void pb_pair_refresh(struct pb_pair *p); /* after b, c or f* were set */

/* Evidence that the first arm of the pair has the larger MEAN (second:
 * j_over_i set), as a betting martingale on d in [-1,1] under H0: E[d]
 * <= 0.  For each bet lam the wealth is prod (1 + lam d) over tasks with
 * d = -1, 0, 1 and prod exp(lam d + (log(1 - lam) + lam) d^2) over the
 * others; the second factor is <= 1 + lam d for |d| <= 1 and lam in
 * [0,1) (Fan, Grama and Liu 2015), so the product is a nonnegative
 * supermartingale whatever the rewards.  Its log is
 *     b1 log(1 + lam) + c1 log(1 - lam) + lam S' + (log(1 - lam) + lam) V'
 * with b1 = b - fpos, c1 = c - fneg the tasks with d = 1 and -1 and S',
 * V' = fsum, fsumsq: a few numbers per pair.  For 0/1 rewards this is
 * the sign test's likelihood ratio (2q)^b (2(1 - q))^c at lam = 2q - 1.
 * The equal-weight mixture over the PB_PAIR_GRID bets
 *     lam_m = 2^(-m/2) / 2,  m = 0 .. 7  (q = 0.75, 0.68, ... 0.52)
 * is a supermartingale too, and by Ville's inequality it reaches 1/d
 * with probability <= d, at any time.  Ties leave it alone.  The grid
 * puts the prior where paired prompt comparisons cost calls: win rates
 * between 52% and 75% among discordant tasks (a larger effect is found
 * quickly through lam_0 anyway).  Returns log of the mixture (lm[0] or
 * lm[1]) when the arm's mean difference is positive, else 0. */
#define PB_PAIR_GRID 8
double pb_pair_evidence(const struct pb_pair *p, int j_over_i);

/* Every arm's chance of getting the next pull (p[0..narms)), as
 * pb_policy_prob gives them one at a time; cheaper for all arms of a
 * randomised policy, which needs a Monte Carlo run.  Returns -1 only if
 * out of memory. */
int pb_policy_probs(const struct pb_state *st, double *p);

/* ------------------------------------------------------- lower bound */

/* The characteristic time T*(mu) of Garivier and Kaufmann (2016) for k
 * Bernoulli arms with a unique best: any delta-correct strategy needs
 * E[pulls] >= T*(mu) kl(delta, 1 - delta) ~ T*(mu) log(1/delta).  w, if
 * not NULL, receives the optimal allocation.  Returns NAN when the best
 * is not unique or a mean is not in (0,1). */
double pb_char_time(const double *mu, size_t k, double *w);

/* ===================================================================== */
/* history.c: each arm's pulls, mean and selection probability over time */
/* ===================================================================== */

/* At most PB_HIST_CAP points are kept.  A point is taken after every
 * `stride` applied pulls (st->updates a multiple of stride, or the first
 * update past the next multiple when a merge jumps the count); when the
 * buffer is full, every other point is dropped (the later of each pair
 * stays, so the newest point always survives) and the stride doubles.
 * A million updates therefore leave between PB_HIST_CAP / 2 and
 * PB_HIST_CAP points at a stride of 2^13 or 2^14, and taking a point,
 * the only costly step (pb_policy_probs), happens about
 * PB_HIST_CAP / 2 * log2(updates / PB_HIST_CAP) times in all. */
#define PB_HIST_CAP 200

/* One arm's series, keyed by arm id so arms added or retired later keep
 * their past: values are NAN at points where the arm was not in the
 * state. */
struct pb_hist_series {
	char *id;
	double *pulls; /* rewarded pulls (PB_HIST_CAP places each) */
	double *mean;  /* mean reward */
	double *var;   /* sample variance of the rewards (for the t band) */
	double *prob;  /* pb_policy_probs: chance of the next pull */
};

struct pb_history {
	long stride;   /* updates between points, a power of two */
	long next;     /* take the next point when updates reaches this
	                * (derived, not saved: the next multiple of stride
	                * after the last point) */
	size_t n;      /* points kept */
	double *updates; /* st->updates at each point */
	struct pb_hist_series *ser;
	size_t nser;
	/* A state with contexts: each context's own history, its updates
	 * those of the context, its points taken when the totals' are. */
	char **ctxname;
	struct pb_history **ctx;
	size_t nctx;
};

/* Takes a point if one is due after st->updates changed; called by
 * pb_state_apply after each applied pull.  When no point is due this is
 * one comparison.  Out of memory, the point is skipped: the history is
 * a record for people, and never worth failing an update for. */
void pb_history_note(struct pb_state *st);

/* Takes a point now, whatever the stride (tests, and a final point for
 * plots).  Returns 0, or -1 out of memory. */
int pb_history_take(struct pb_state *st);

/* The history as the state file's "history" member (pb-state(5)):
 *   {"stride":S,"updates":[...],
 *    "arms":{"ID":{"pulls":[...],"mean":[...],"var":[...],"prob":[...]}}}
 * with NAN written as null, and for a state with contexts
 *    "contexts":{"NAME":{...the same, for that context...}}.
 * Returns a new tree, or NULL. */
cJSON *pb_history_to_json(const struct pb_history *h);

/* Reads a "history" member into a new *out (NULL when o is NULL: a state
 * without history).  Arrays must all have the length of "updates", at
 * most PB_HIST_CAP, with updates increasing.  Returns 0, or -1 with err
 * saying what is wrong (without the path). */
int pb_history_from_json(struct pb_history **out, const cJSON *o,
                         char err[PB_ERRLEN]);

void pb_history_free(struct pb_history *h);

/* Folds other's history into st's, for pb_state_merge (call it before
 * st->updates grows by other's): the two runs as if they had gone side
 * by side, each at its own pace, so a point of the merged history at a
 * given share of both runs adds their pulls and pools their means and
 * variances.  A state without history takes other's.  st's history is
 * left as it was when other has none.  Returns 0, or -1 out of memory
 * (st's history unchanged). */
int pb_history_merge(struct pb_state *st, const struct pb_state *other);

/* The series of arm id, or NULL. */
const struct pb_hist_series *pb_history_find(const struct pb_history *h,
                                             const char *id);

/* The history of context name of h, or NULL when it has none yet. */
const struct pb_history *pb_history_ctx(const struct pb_history *h,
                                        const char *name);

/* ===================================================================== */
/* report.c: P(best), empirical Bernstein, paired bootstrap, McNemar     */
/* ===================================================================== */

/* The probability that each of the k arms is the best, p[0..k), by
 * Monte Carlo over `draws` joint draws from the arms' posteriors, with
 * an rng of its own seeded with seed (so the same statistics always give
 * the same answer).  An arm whose rewards were all 0 or 1 has the
 * posterior Beta(1 + sum, 1 + n - sum) of a uniform prior; an arm with
 * other rewards the normal approximation N(mean, v / n), v the sample
 * variance floored at 1 / (4 n) so that a few equal rewards still leave
 * some doubt.  Each draw counts for the arm with the largest value (the
 * first on a tie).  The standard error of each p[i] is at most
 * 0.5 / sqrt(draws).  Returns 0, or -1 out of memory or draws < 1. */
int pb_prob_best(const struct pb_stats *s, size_t k, long draws,
                 uint64_t seed, double *p);

/* P(best) as pb_prob_best, but from a joint normal posterior: means
 * mu[0..k) with covariance cov (k x k, row-major), so that arms judged
 * on the same tasks, whose estimates rise and fall together with the
 * tasks' difficulty, are compared through their difference.  A cov that
 * is not positive definite gets the smallest ridge on its diagonal (1e-6
 * of its largest variance, times 4 until it is) that makes it so.
 * O(draws k^2).  Returns 0, or -1 out of memory or draws < 1. */
int pb_prob_best_joint(const double *mu, const double *cov, size_t k,
                       long draws, uint64_t seed, double *p);

/* The empirical Bernstein interval of Maurer and Pontil (2009) for the
 * mean of rewards in [0,1], two-sided at level 1 - alpha: with v the
 * sample variance (divisor n - 1) and L = ln(4 / alpha),
 *     mean -+ (sqrt(2 v L / n) + 7 L / (3 (n - 1))),
 * clipped to [0,1].  It holds for any distribution on [0,1], not only
 * in the limit, at the price of being wider than Student's t.  Fewer
 * than two rewards give [0,1]. */
void pb_eb_ci(const struct pb_stats *s, double alpha, double *lo, double *hi);

/* The interval pb-report shows.  Method "anytime" is pb_mix_bounds at
 * alpha: it holds at every number of rewards at once, so it stays valid
 * at a time an adaptive policy chose (the stop); "auto" the fixed-sample
 * pb_stats_ci (Wilson for 0/1 rewards, Student t otherwise, except that
 * graded rewards with no sample variance, where t would give an
 * interval of zero width, get pb_eb_ci); "bernstein" pb_eb_ci.  *name
 * receives a static name: "anytime", "wilson", "t" or "bernstein". */
void pb_report_ci(const struct pb_stats *s, double alpha, const char *method,
                  double *lo, double *hi, const char **name);

/* The percentile bootstrap interval for the mean of d[0..n) (for paired
 * data, the per-task differences), two-sided at level 1 - alpha: B
 * resamples of n values drawn with replacement (pb_rng_below, seeded
 * with seed), their means sorted, and the alpha/2 and 1 - alpha/2
 * quantiles taken by linear interpolation between order statistics
 * (Hyndman and Fan's type 7: position q (B - 1), 0-based).  n == 0
 * gives NAN.  Returns 0, or -1 out of memory or B < 2. */
int pb_boot_mean_ci(const double *d, size_t n, long B, double alpha,
                    uint64_t seed, double *lo, double *hi);

/* The exact two-sided McNemar test of b against c discordant pairs (the
 * binomial sign test of b successes in b + c trials at 1/2):
 *     p = min(1, 2 sum_{i=0}^{min(b,c)} C(b+c, i) / 2^(b+c)),
 * and 1 when b + c = 0. */
double pb_mcnemar_exact(long b, long c);

/* Dollars for in_tok input and out_tok output tokens at the given
 * prices in dollars per million tokens of each kind. */
double pb_cost(double in_tok, double out_tok, double usd_in_m, double usd_out_m);

/* ===================================================================== */
/* template.c: prompt rendering                                           */
/* ===================================================================== */

/* Renders tmpl, replacing {name} by the value of name looked up first in
 * arm then in task; {arm.name} and {task.name} look in one only; {{ and }}
 * are literal braces; \n, \t and \\ in the template's own text are a
 * newline, a tab and a backslash (a backslash before anything else
 * stays as written).  {input} is the task's input field (named by
 * input_field).  Returns a malloc'd string, or NULL with err set (unknown
 * placeholder, unclosed brace). */
char *pb_render(const char *tmpl, const cJSON *arm, const cJSON *task,
                const char *input_field, char err[PB_ERRLEN]);

/* A string that grows as text is put on its end; start it as { 0 }.
 * p is NULL until the first put (even of 0 bytes), then malloc'd, owned
 * by the user and always NUL-terminated after len bytes. */
struct pb_buf {
	char *p;
	size_t len, cap;
};

/* Appends the n bytes at s.  Returns 0, or -1 out of memory (b is left
 * as it was). */
int pb_buf_put(struct pb_buf *b, const char *s, size_t n);

/* printf into newly allocated memory; NULL out of memory. */
char *pb_strfmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *pb_vstrfmt(const char *fmt, va_list ap);

/* ===================================================================== */
/* http.c: many HTTP requests in flight through one libcurl multi handle */
/* ===================================================================== */

/* The client keeps at most `parallel` requests in flight, reuses its easy
 * handles and (through the multi handle) its connections, and hands each
 * finished request back through a callback.  It decides nothing about
 * what a status means: retries, rate limits and caches belong to the
 * caller, which sees the attempt count, the status and Retry-After here
 * and may submit the same request again. */
struct pb_http;

struct pb_http_opts {
	int parallel;            /* requests in flight at most (>= 1) */
	long timeout_ms;         /* whole request, connect to last byte; 0: none */
	long connect_timeout_ms; /* 0: libcurl's default (300 s) */
	long stall_ms;           /* fail a request that moves no byte, either
	                          * way, for this long (a timeout); 0: no limit */
	const char *const *headers; /* NULL-terminated "Name: value" lines sent
	                             * with every request (copied), or NULL */
	const char *user_agent;  /* NULL: "promptbandit/VERSION" */
	const char *cacert;      /* CA bundle file to verify servers by, or
	                          * NULL: libcurl's default */
	const char *capath;      /* a folder of hashed CA certificates, or NULL */
	size_t max_response;     /* a body longer than this (after decoding)
	                          * fails, PB_HTTP_TOO_BIG; 0: no limit */
};

enum pb_http_result {
	PB_HTTP_DONE,    /* a response arrived (any status) */
	PB_HTTP_CONNECT, /* no response: could not connect, or the connection
	                  * failed during the exchange */
	PB_HTTP_TIMEOUT, /* no response in timeout_ms (or connect_timeout_ms) */
	PB_HTTP_TLS,     /* TLS failed: the certificate could not be verified,
	                  * the handshake failed, or a CA file is unusable */
	PB_HTTP_TOO_BIG  /* the body grew past max_response */
};

/* What the rate-limit headers of a response said (OpenAI's
 * x-ratelimit-{remaining,reset}-{requests,tokens}, Anthropic's
 * anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-
 * {remaining,reset}): remaining counts, or -1 when absent; reset in
 * seconds from when the response came, or -1. */
struct pb_http_ratelimit {
	double req_remaining, req_reset;
	double tok_remaining, tok_reset;
};

/* One request.  The caller owns it and everything it points to; the
 * client uses it from pb_http_submit until the done callback returns.  A
 * request may be submitted again (a retry) once it is done: the response
 * fields are reset by each submit, and the buffer is reused. */
struct pb_http_req {
	/* set by the caller */
	const char *url;      /* not copied */
	const char *body;     /* POST body, not copied; NULL: GET */
	size_t body_len;
	int attempt;          /* 0 for the first try; counted by the caller */
	void *data;           /* the caller's */

	/* set by the client when the request is done */
	enum pb_http_result result;
	long status;          /* HTTP status; 0 without a response */
	char *resp;           /* response body, NUL-terminated (NULL if none) */
	size_t resp_len;
	double retry_after;   /* seconds asked by retry-after-ms, else by
	                       * Retry-After (seconds or HTTP date), or -1 */
	int should_retry;     /* x-should-retry: 1 true, 0 false, -1 absent */
	int event_stream;     /* Content-Type: text/event-stream */
	struct pb_http_ratelimit rl;
	double latency_ms;    /* from submit to the last byte */
	char error[PB_ERRLEN]; /* what failed, when result != PB_HTTP_DONE */

	/* private to http.c */
	size_t resp_cap;
	void *easy;
	double ra_s, ra_ms;   /* the two headers as they came */
	double moved;         /* when a byte last moved (stall limit), ms */
	long long seen;       /* bytes moved by then, both ways */
	long stall_ms;
	int stalled;
	size_t max_response;
	int too_big;
};

/* Called once for every finished request, from inside pb_http_poll.  The
 * callback may submit new requests (including req again). */
typedef void (*pb_http_done_fn)(struct pb_http_req *req, void *arg);

/* Makes a client.  Returns NULL with err set if libcurl cannot start.
 * Calls curl_global_init, so call it before starting other threads. */
struct pb_http *pb_http_new(const struct pb_http_opts *o, char err[PB_ERRLEN]);

/* Frees the client; requests still in flight are abandoned (their done
 * callbacks never run).  The requests themselves are the caller's. */
void pb_http_free(struct pb_http *h);

/* Requests in flight now (pb_http_submit accepts up to parallel). */
int pb_http_in_flight(const struct pb_http *h);

/* Starts req.  Fails (returns -1, err set) if no slot is free or libcurl
 * refuses; req is then not in flight and its callback will not run. */
int pb_http_submit(struct pb_http *h, struct pb_http_req *req,
                   char err[PB_ERRLEN]);

/* Moves the transfers along and calls done for each request that
 * finished.  Waits up to timeout_ms (0: do not wait) for something to
 * happen if nothing has finished yet; returns early on pb_http_wakeup.
 * Returns the number of requests finished, or -1 (err set) if libcurl
 * failed. */
int pb_http_poll(struct pb_http *h, int timeout_ms, pb_http_done_fn done,
                 void *arg, char err[PB_ERRLEN]);

/* Abandons req if it is in flight: its done callback will not run, and
 * its slot is free at once. */
void pb_http_cancel(struct pb_http *h, struct pb_http_req *req);

/* Makes a pb_http_poll that is waiting (or the next one) return at once.
 * The only function here that may be called from another thread. */
void pb_http_wakeup(struct pb_http *h);

/* Frees req's response buffer (the rest of req is the caller's). */
void pb_http_req_free(struct pb_http_req *req);

/* ===================================================================== */
/* llm.c: chat request bodies and responses (OpenAI, Anthropic)          */
/* ===================================================================== */

/* The request shapes: OpenAI's chat completions (also vLLM, llama.cpp,
 * Ollama's /v1 and the like), Anthropic's Messages API, and Azure
 * OpenAI (OpenAI's bodies at a deployment's URL, the key in api-key). */
enum pb_llm_api { PB_API_OPENAI, PB_API_ANTHROPIC, PB_API_AZURE };

/* "openai", "anthropic" or "azure". */
const char *pb_llm_api_name(enum pb_llm_api api);

/* max_tokens sent to Anthropic, which requires one, when none is given. */
#define PB_LLM_ANTHROPIC_MAX_TOKENS 1024

/* What pb-query sends besides the messages.  The temperature is always
 * sent, so a server's own default never decides it. */
struct pb_llm_params {
	enum pb_llm_api api;
	const char *model;
	double temperature;
	long max_tokens;      /* 0: not sent (Anthropic: the default above) */
	long max_completion_tokens; /* OpenAI's newer name; 0: not sent.
	                       * Anthropic sends it as max_tokens. */
	double top_p;         /* sent only if has_top_p */
	int has_top_p;
	long seed;            /* sent only if has_seed */
	int has_seed;
	const char *const *stop; /* NULL-terminated stop strings, or NULL:
	                       * "stop" (OpenAI), "stop_sequences" (Anthropic) */
	const cJSON *extra;   /* an object whose members are put into every
	                       * body last, replacing any; or NULL */
	int stream;           /* ask for server-sent events (pb_llm_stream_fields) */
};

/* The path after an OpenAI base URL, or an Anthropic base ending in /v1:
 * "/chat/completions" or "/messages". */
const char *pb_llm_path(enum pb_llm_api api);

#define PB_OPENAI_URL "https://api.openai.com/v1"
#define PB_ANTHROPIC_URL "https://api.anthropic.com/v1"
#define PB_AZURE_API_VERSION "2024-10-21"

/* The URL requests go to.  base NULL: $OPENAI_BASE_URL, $ANTHROPIC_BASE_URL
 * or $AZURE_OPENAI_ENDPOINT by api (set but empty counts as unset), else
 * the provider's own (Azure has none: an error).  base "" is an error,
 * never the default.  The base must be http:// or https:// with a host,
 * no user:password@, no #fragment, no space or control character.  Its
 * path (trailing slashes dropped) is joined with the API's path before
 * its query, which is kept: OpenAI: /chat/completions; Anthropic: a path
 * ending in /v1 gets /messages, any other /v1/messages (as Anthropic's
 * SDK joins ANTHROPIC_BASE_URL); Azure: a path with /deployments/ in it
 * or ending in /openai/v1 gets /chat/completions, any other
 * /openai/deployments/MODEL/chat/completions, and a deployment URL whose
 * query has no api-version gets $OPENAI_API_VERSION, else
 * PB_AZURE_API_VERSION.  Returns a malloc'd string, or NULL with err set
 * (a message that never quotes a password). */
char *pb_llm_endpoint(const char *base, enum pb_llm_api api, const char *model,
                      char err[PB_ERRLEN]);

#define PB_ANTHROPIC_VERSION "2023-06-01"

/* A header line given as "NAME:VALUE" checked and made "NAME: VALUE"
 * (spaces around the value dropped): malloc'd, or NULL with err set
 * (the message names the header at most, never its value). */
char *pb_llm_header(const char *s, char err[PB_ERRLEN]);

/* Whether a header line's name looks like a credential's (auth, key,
 * token, secret, cookie, password or session in it, any case). */
int pb_llm_header_secret(const char *line);

/* Reads header lines NAME:VALUE from path, one a line (blank lines and
 * lines starting with # skipped), appending them (checked, malloc'd) to
 * the NULL-terminated *lines of *n.  Returns 0, or -1 with err set
 * ("FILE:LINE: ..." without the line's text). */
int pb_llm_header_file(const char *path, char ***lines, size_t *n,
                       char err[PB_ERRLEN]);

/* The request headers for api, in a malloc'd NULL-terminated array *h
 * (free it; its strings are borrowed, but *auth): the JSON content type,
 * the key's header when key is not NULL or "" (Authorization: Bearer,
 * x-api-key for Anthropic, api-key for Azure), Anthropic's version, then
 * the lines of extra (NULL-terminated, or NULL).  A line of extra named
 * like one of the first three takes its place.  *auth receives the
 * malloc'd key header, for the caller to wipe and free once the client
 * has its copy.  Returns 0, or -1 out of memory. */
int pb_llm_headers(enum pb_llm_api api, const char *key,
                   const char *const *extra, const char ***h, char **auth);

/* The API key: the first line of keyfile if not NULL, else $keyenv if
 * not NULL (an error when unset), else $dflt (NULL when unset: local
 * servers want none), trimmed.  Returns 0 with *key malloc'd or NULL, or
 * -1 with err set (naming where the key was looked for, never the key). */
int pb_llm_key(const char *keyfile, const char *keyenv, const char *dflt,
               char **key, char err[PB_ERRLEN]);

/* What pb-query and the judge of pb-score set up before their engine:
 * the extra header lines and the secrets among them, where the CA
 * certificates come from, and the URL.  Start it zeroed; set cacert and
 * capath if given (borrowed), add headers, then pb_llm_conn_setup. */
struct pb_llm_conn {
	char **headers;      /* NULL-terminated "Name: value" lines, or NULL */
	size_t nheaders;
	char **secrets;      /* values to redact (pb_query_opts.secrets) */
	size_t nsecrets;
	const char *cacert;  /* --cacert, else $CURL_CA_BUNDLE, $SSL_CERT_FILE */
	const char *capath;  /* --capath, else $SSL_CERT_DIR */
	char *url;           /* pb_llm_endpoint's, once set up */
	char *model;         /* Azure's deployment read from the URL, if used */
};

/* Adds the header line s (pb_llm_header).  Its value (and the value's
 * last word, "Bearer KEY": KEY) becomes a secret if secret is set or the
 * name looks like a credential's (pb_llm_header_secret); values under 6
 * bytes are never secrets.  Returns 0, or -1 with err set. */
int pb_llm_conn_header(struct pb_llm_conn *c, const char *s, int secret,
                       char err[PB_ERRLEN]);

/* Adds the header lines of path (pb_llm_header_file), all secret. */
int pb_llm_conn_header_file(struct pb_llm_conn *c, const char *path,
                            char err[PB_ERRLEN]);

/* Fills in the CA files from the environment where not given, checks
 * that the file can be read (and, given as an option, that capath is a
 * folder), and makes the URL (pb_llm_endpoint).  For Azure, *model NULL
 * takes the deployment named in the URL.  Returns 0, or -1 with err. */
int pb_llm_conn_setup(struct pb_llm_conn *c, enum pb_llm_api api,
                      const char *base, const char **model, char err[PB_ERRLEN]);
void pb_llm_conn_free(struct pb_llm_conn *c);

/* The variable the API key is read from by default: OPENAI_API_KEY,
 * ANTHROPIC_API_KEY or AZURE_OPENAI_API_KEY. */
const char *pb_llm_key_env(enum pb_llm_api api);

/* Checks that rec has a "messages" array fit to send: not empty, every
 * element an object with a string "role" and a "content" that is a
 * string, an array (parts) or null.  Returns 0, or -1 with err set ("no
 * messages", or which element is wrong). */
int pb_llm_check(const cJSON *rec, char err[PB_ERRLEN]);

/* Builds the request body for rec's messages (checked first with
 * pb_llm_check): model, messages, temperature, then what p asks for,
 * then p->extra.  For Anthropic the system messages are taken out of
 * the messages into the top-level "system" field (strings joined by a
 * blank line).  The tree refers to rec's messages rather than copying
 * them: free it (cJSON_Delete) before rec, and cJSON_Duplicate it to
 * keep it longer.  Returns NULL only when out of memory. */
cJSON *pb_llm_body(const cJSON *rec, const struct pb_llm_params *p);

/* pb_llm_body printed compactly: a malloc'd NUL-terminated string (free
 * it with free()), its length through *len if len is not NULL; NULL only
 * when out of memory. */
char *pb_llm_request(const cJSON *rec, const struct pb_llm_params *p,
                     size_t *len);

/* A rough count of rec's prompt tokens, for rate limits and dry runs:
 * the characters of the message contents (text parts too) over 4,
 * rounded up. */
long pb_llm_estimate(const cJSON *rec);

/* Parses a successful (2xx) body of the given API into the object
 * pb-query stores as "response": {"text","model","finish_reason",
 * ["system_fingerprint",] "usage":{"prompt_tokens","completion_tokens",
 * "total_tokens"} or null, "latency_ms"}.  For Anthropic, text is the
 * text blocks joined, finish_reason its stop_reason, and prompt_tokens
 * input_tokens plus any prompt-cache tokens.  model falls back to
 * fallback_model when the body has none.  A body that is not a JSON
 * object, is an error, or has no choices or no content, is a failure:
 * returns NULL with err set (with a short snippet of the body); never a
 * made-up answer. */
cJSON *pb_llm_response(enum pb_llm_api api, const char *body, size_t len,
                       double latency_ms, const char *fallback_model,
                       char err[PB_ERRLEN]);

/* Puts "stream": true into body, and for OpenAI's shape also
 * "stream_options": {"include_usage": true}.  Returns 0, or -1 if out of
 * memory. */
int pb_llm_stream_fields(cJSON *body, enum pb_llm_api api);

/* The server-sent events of a streamed answer (len bytes at body) made
 * into the body the API would have sent whole, for pb_llm_response:
 * OpenAI's chunks' delta.content joined, the last finish_reason, the
 * usage chunk, model, id and system_fingerprint; Anthropic's
 * message_start (model, id, input usage), text blocks and text_delta
 * events joined, message_delta (stop_reason, stop_sequence, output
 * tokens).  A stream is whole with [DONE] or a finish_reason (OpenAI),
 * message_stop (Anthropic).  Returns a malloc'd JSON text, or NULL with
 * err set: an error event ("error in the stream: ..."), an event that is
 * not JSON, a stream cut short, or out of memory. */
char *pb_llm_stream_assemble(enum pb_llm_api api, const char *body, size_t len,
                             char err[PB_ERRLEN]);

/* Builds the object pb-query stores as "error": {"kind","status","type",
 * ["code",] "message"}.  kind is "http", "connect", "timeout", "tls"
 * (certificate or handshake: never retried), "size" (the body was over
 * the cap), "parse", "input" or "interrupted"; status 0 when there was
 * no response.  When body (may be NULL)
 * is an error in a known shape (OpenAI {"error":{"message","type","code"}},
 * vLLM {"object":"error","message","type"}, Anthropic {"type":"error",
 * "error":{"type","message"}}, or {"error":"text"}, {"detail":"text"}),
 * type, code and message come from it (code only when a string other
 * than the type); otherwise message is detail if given, else a short
 * snippet of the body; type is null when unknown.  Returns NULL only
 * when out of memory. */
cJSON *pb_llm_error(const char *kind, long status, const char *body,
                    size_t len, const char *detail);

/* One line describing an error object for stderr, e.g. "HTTP 500: boom"
 * or "connect: Could not connect to server", with control characters
 * replaced by spaces. */
void pb_llm_error_line(const cJSON *error, char out[PB_ERRLEN]);


/* ===================================================================== */
/* score.c: rewards from responses (pb-score)                            */
/* ===================================================================== */

/* A built-in scorer is a kind plus its options, set up once and then
 * applied to every record.  The scorers that run a program (jq, --cmd)
 * or ask a judge model, and the blend of several, are in coproc.c,
 * judge.c and blend.c below; a blend reuses pb_score_text for each
 * built-in part. */
enum pb_scorer_kind {
	PB_SCORER_NUMBER,   /* final number of the response (GSM8K) */
	PB_SCORER_BOOL,     /* true/false, yes/no, correct/incorrect */
	PB_SCORER_EXACT,    /* normalised text equality */
	PB_SCORER_CONTAINS, /* normalised reference occurs in the response */
	PB_SCORER_REGEX,    /* text captured by a regex, compared like exact */
	PB_SCORER_CHOICE,   /* multiple-choice letter A-E */
	PB_SCORER_LENGTH    /* concision: 1 up to max_words, falling to 0 at
	                     * twice that (blend.c has the other kinds) */
};

/* Normalisation flags for exact, contains and regex (pb_normalize). */
#define PB_NORM_KEEP_CASE  0x1 /* do not fold ASCII case */
#define PB_NORM_KEEP_PUNCT 0x2 /* keep punctuation around the text */
#define PB_NORM_NO_ARTICLES 0x4 /* drop the words a, an, the */

struct pb_scorer {
	enum pb_scorer_kind kind;
	const char *reference; /* dotted path of the reference ("task.answer") */
	const char *response;  /* dotted path of the text ("response.text") */
	double tolerance;      /* number (and numeric regex captures) */
	unsigned norm;         /* PB_NORM_* */
	long max_words;        /* length: words given full reward (100) */
	regex_t re;            /* regex: compiled once by pb_scorer_regex */
	int has_re;
};

enum pb_score_status {
	PB_SCORE_OK,       /* extracted answer matches: reward 1 */
	PB_SCORE_WRONG,    /* extracted answer differs: reward 0 */
	PB_SCORE_NOANSWER, /* nothing could be extracted: reward 0 */
	PB_SCORE_UNSCORED, /* not scorable: reward null */
	PB_SCORE_PARTIAL   /* a graded reward strictly between 0 and 1 */
};

/* The outcome of scoring one text.  extracted and reference are malloc'd
 * (free with pb_score_result_free); either may be NULL. */
struct pb_score_result {
	enum pb_score_status status;
	char *extracted; /* the answer as the scorer read it; NULL if none */
	char *reference; /* the reference as the scorer read it */
	double reward;   /* set with PB_SCORE_PARTIAL (and by length) */
};

/* Sets sc to the named kind ("number", "bool", "exact", "contains",
 * "regex", "choice", "length") with default options.  Fails on an unknown name. */
int pb_scorer_init(struct pb_scorer *sc, const char *name,
                   char err[PB_ERRLEN]);

/* Compiles ere (POSIX extended) for the regex scorer.  The first
 * parenthesised group is the answer; with no group, the whole match. */
int pb_scorer_regex(struct pb_scorer *sc, const char *ere,
                    char err[PB_ERRLEN]);

void pb_scorer_free(struct pb_scorer *sc);
const char *pb_scorer_name(enum pb_scorer_kind k);
const char *pb_score_status_name(enum pb_score_status s);

/* Scores text (may be "") against the reference value ref (a string,
 * number, boolean or, for exact/contains/regex, an array of those, any
 * of which counts).  Returns 0 with res filled, or -1 with err set when
 * text is NULL ("no response text at" sc->response), ref is NULL or a
 * JSON null ("no reference at" sc->reference; the length scorer needs
 * none) or ref is unusable for this scorer (res then holds only what was
 * read).  Pure apart from allocation; safe to call from several threads. */
int pb_score_text(const struct pb_scorer *sc, const char *text,
                  const cJSON *ref, struct pb_score_result *res,
                  char err[PB_ERRLEN]);
void pb_score_result_free(struct pb_score_result *res);

/* Adds "reward" and "score" to rec (replacing stale ones; format in
 * pb.7).  Returns 0 if the record was scored, 1 if it is unscored because
 * its query failed ("error" present: normal data), or -1 if it is
 * unscored through a fault of its own (no response text, no or unusable
 * reference, out of memory), err saying what.  rec gets the fields in
 * every case. */
int pb_score_record(const struct pb_scorer *sc, cJSON *rec,
                    char err[PB_ERRLEN]);

/* The reason given for a record whose query failed, from its "error" (a
 * string, or an object's message, else its kind): "query failed: ...",
 * or "query failed" alone.  Malloc'd; NULL out of memory. */
char *pb_score_query_failed(const cJSON *error);

/* Extractors, exposed for tests and for other scorers to build on.  Each
 * returns 1 if it found an answer, 0 if not; buf (size n, may be 0)
 * receives the answer's text, truncated to fit.
 *
 * pb_extract_number: the final answer of a worked solution: the number
 * after the last "####", else after the last "answer is" / "answer:" /
 * "final answer" (in that sentence; after its last '=' if it goes on
 * with an equation), else in the last \boxed{}, else the last number.
 * Understands 1,234  $5  -3  2.5  .5  3/4  1 1/2  \frac{3}{4}  and skips
 * markdown, currency signs and units.  buf gets e.g. "-1234.5", "3/4". */
int pb_extract_number(const char *text, double *out, char *buf, size_t n);

/* pb_extract_bool: *out = 1 or 0 from the opening word (true, yes,
 * correct, right / false, no, incorrect, wrong) or from "answer is X".
 * Conflicting verdicts ("Yes and no") count as none. */
int pb_extract_bool(const char *text, int *out);

/* pb_extract_choice: *out = 'A'..'E' from "answer is (B)", "Answer: C",
 * "option B", a lone letter, "B) ..." at the start, or one distinct
 * "(B)" in the text. */
int pb_extract_choice(const char *text, char *out);

/* Normalises text for comparison per flags (PB_NORM_*): folds ASCII
 * case, collapses white space to single spaces, strips markdown and
 * punctuation around the whole text.  Returns a malloc'd string or NULL
 * (ENOMEM). */
char *pb_normalize(const char *text, unsigned flags);

/* ===================================================================== */
/* sim.c: the simulated model behind pb-sim (everything but the HTTP)    */
/* ===================================================================== */

/* How a task's answer is stated, and so how a wrong one is made up. */
enum pb_sim_kind {
	PB_SIM_NUMBER, /* "72", "-3.5", "1,250", "$40", "3/4" */
	PB_SIM_BOOL,   /* true/false or yes/no, any case */
	PB_SIM_CHOICE, /* one letter A-E, also "(B)", "B)" or "B." */
	PB_SIM_TEXT    /* anything else */
};

struct pb_sim_task {
	char *id;          /* the task's "id" as text; NULL if it has none */
	char *input;       /* "input", else "question", trimmed */
	size_t len;        /* strlen(input) */
	char *answer;      /* the answer proper: after the last "####", trimmed */
	enum pb_sim_kind kind;
	double value;      /* PB_SIM_NUMBER: the answer's value */
	double difficulty; /* "difficulty", default 0 */
	long line;         /* where it was read */
	cJSON *fields;     /* the whole record, for the world's "where" */
};

/* A line of the world file: prompts containing match have this skill,
 * for tasks whose fields equal those of where (NULL: any task). */
struct pb_sim_rule {
	char *match;
	cJSON *where;
	double skill;
};

struct pb_sim_priv; /* lookup tables and the repeat counter (sim.c) */

/* The simulation.  Set it up with pb_sim_init, the two loaders and the
 * fields below; after that pb_sim_answer and pb_sim_handle may be called
 * from any number of threads at once.  Fill the fields before the first
 * request and leave them alone afterwards. */
/* The faults pb-sim can put in place of an answer (pb-sim(1) has their
 * statuses, bodies and headers).  Their order is the order of the bands
 * of the one draw that picks at most one per request. */
enum pb_sim_fault {
	PB_SIM_F429, PB_SIM_F500, PB_SIM_F502, PB_SIM_F503, PB_SIM_F504,
	PB_SIM_F529, PB_SIM_FQUOTA, PB_SIM_FAUTH, PB_SIM_FINVALID,
	PB_SIM_FMALFORMED, PB_SIM_FSLOW, PB_SIM_FDROP,
	PB_SIM_NFAULTS
};

struct pb_sim {
	uint64_t seed;
	double error_rate;  /* fraction of chat requests that fail */
	int error_status;   /* HTTP status of those failures (500) */
	double fault[PB_SIM_NFAULTS]; /* rate of each fault; with error_rate
	                     * they add up to 1 at most */
	double retry_after; /* seconds sent in Retry-After and retry-after-ms
	                     * of 429 and 503 replies (1) */
	double slow_s;      /* seconds a "slow" fault holds the reply (30) */
	double latency_ms;  /* every /v1 reply is held this long ... */
	double jitter_ms;   /* ... plus an exponential draw of this mean */
	const char *api_key; /* required of every API request, or NULL */
	int echo_headers;   /* put the request's headers in x_pb_sim.headers */
	long rl_requests;   /* --rate-limit: chat requests per window, 0: none */
	double rl_window_s; /* ... the window, seconds */
	int should_retry;   /* send x-should-retry on error replies */
	struct pb_sim_task *tasks;
	size_t ntasks;
	struct pb_sim_rule *world;
	size_t nworld;
	struct pb_sim_priv *priv;
};

/* Sets s up empty with the given seed.  Returns -1 only if out of memory. */
int pb_sim_init(struct pb_sim *s, uint64_t seed, char err[PB_ERRLEN]);
void pb_sim_free(struct pb_sim *s);

/* Adds the tasks of a JSON-lines file (see pb-sim(1) for the fields).
 * Fails on the first bad line, naming it "name:line: ...", on a duplicate
 * id, and on a file without tasks.  Of tasks with the same input text
 * the first is the one recognised. */
int pb_sim_load_tasks(struct pb_sim *s, FILE *fp, const char *name,
                      char err[PB_ERRLEN]);

/* Adds the rules of a world file: JSON lines {"match":TEXT,"skill":X},
 * optionally with "where":{FIELD:VALUE,...} (VALUE a scalar, or an array
 * of the values allowed) so the rule holds only for tasks whose fields
 * are those.  An empty match applies to every prompt (put it last, as a
 * default). */
int pb_sim_load_world(struct pb_sim *s, FILE *fp, const char *name,
                      char err[PB_ERRLEN]);

/* Which task text (the message contents joined by blank lines) asks:
 * the longest task input that makes up whole paragraphs of text, else the
 * longest that occurs in it anywhere.  Returns an index into s->tasks, or
 * -1.  *at, if not NULL, receives the offset of the input in text. */
long pb_sim_match(const struct pb_sim *s, const char *text, size_t *at);

/* The skill of a prompt: the first world rule whose match occurs in
 * text; else 0 when nothing but the task is left (rest empty), else a
 * value in [-1.5,1.5] drawn from a hash of rest and the seed.  rest is
 * text without the task input, trimmed. */
double pb_sim_skill(const struct pb_sim *s, const char *text,
                    const char *rest);
/* The same for a prompt that asks task (an index into s->tasks, or -1
 * when none), so that rules with a "where" can apply. */
double pb_sim_skill_task(const struct pb_sim *s, long task, const char *text,
                         const char *rest);

/* The outcome of one simulated request. */
struct pb_sim_answer {
	long task;    /* index into s->tasks, or -1 if not recognised */
	double skill; /* see pb_sim_skill */
	double p;     /* chance of a right answer: 1/(1+exp(difficulty-skill)) */
	double u;     /* the uniform draw: right when u < p */
	int correct;
	int style;    /* which of the phrasings was used */
	char *given;  /* the answer stated ("63", "B", "False"), malloc'd;
	               * NULL when the task was not recognised */
	char *text;   /* the whole reply, malloc'd */
};

/* Answers the prompt text (message contents joined by blank lines).  key
 * identifies the request (pb_sim_request_key); repeat is how many
 * identical requests came before, which only counts when temperature > 0.
 * Depends on nothing else, so it is reproducible.  Returns -1 only if out
 * of memory.  Free a with pb_sim_answer_free. */
int pb_sim_answer(const struct pb_sim *s, const char *text, uint64_t key,
                  double temperature, unsigned long repeat,
                  struct pb_sim_answer *a);
void pb_sim_answer_free(struct pb_sim_answer *a);

/* The identity of a chat request: a hash of each message's role and
 * content and of the temperature (not the model, not max_tokens). */
uint64_t pb_sim_request_key(const char *const *roles,
                            const char *const *contents, size_t n,
                            double temperature);

/* Returns how many times key was counted before, and counts it once
 * more.  Thread-safe. */
unsigned long pb_sim_count(struct pb_sim *s, uint64_t key);

/* The fault kind's name ("429", "quota", "drop"), and back (-1: none). */
const char *pb_sim_fault_name(enum pb_sim_fault f);
int pb_sim_fault_kind(const char *name);

/* Reads "KIND:RATE[,KIND:RATE...]" into s->fault (a kind named again
 * gets the new rate).  Fails with err set on an unknown kind, a rate
 * not in [0,1], or when the rates and s->error_rate add up to more
 * than 1; s->fault is unchanged then. */
int pb_sim_parse_faults(struct pb_sim *s, const char *spec,
                        char err[PB_ERRLEN]);

/* One HTTP request as the server received it. */
struct pb_sim_request {
	const char *method, *path;
	const char *body;     /* need not be NUL-terminated */
	size_t len;
	int too_big;          /* the body was over the server's limit (413) */
	/* the headers that matter, NULL when absent */
	const char *authorization, *x_api_key, *anthropic_version;
	const char *api_key;      /* Azure's api-key header */
	const char *api_version;  /* the api-version query parameter */
	const char *const *headers; /* all of them, name and value in turn,
	                          * NULL-terminated (for echo_headers), or NULL */
};

/* An HTTP reply, for the server to send as it is. */
struct pb_sim_response {
	int status;        /* HTTP status */
	char *body;        /* JSON text (or, for "malformed", not), malloc'd */
	const char *allow; /* value of an Allow header (405), or NULL */
	int has_retry_after; /* send Retry-After (whole seconds, rounded up)
	                    * and retry-after-ms with ... */
	double retry_after; /* ... this many seconds */
	int should_retry;  /* x-should-retry: 1 true, 0 false, -1 not sent */
	double delay_ms;   /* hold the reply back this long first */
	int drop;          /* after the delay, close without any reply */
	const char *content_type; /* NULL: application/json */
	char *headers;     /* more header lines "Name: value\n", malloc'd, or
	                    * NULL (the rate-limit headers) */
	char request_id[40]; /* x-request-id of every API reply, or "" */
};

/* Serves one HTTP request: POST /v1/chat/completions, POST /v1/messages
 * and /v1/messages/count_tokens (Anthropic), POST
 * /openai/deployments/NAME/chat/completions?api-version=V (Azure), GET
 * /v1/models (in Anthropic's shape when asked with anthropic-version),
 * GET /pb-sim/stats, POST /pb-sim/reset; a chat request with "stream":
 * true gets server-sent events in its API's format; errors in the API's
 * shape otherwise; counts it in the statistics.
 * Thread-safe.  Returns 0, or -1 if out of memory (r->body NULL then,
 * and r->status 500). */
int pb_sim_handle(struct pb_sim *s, const struct pb_sim_request *q,
                  struct pb_sim_response *r);

/* The statistics as JSON {"requests","completions","by_status":{},
 * "faults":{}}, malloc'd; with reset, zeroed in the same breath (the
 * repeat counts stay).  NULL only if out of memory. */
char *pb_sim_stats(struct pb_sim *s, int reset);

/* Writes pb_sim_stats to path atomically (temp file, fsync, rename). */
int pb_sim_save_stats(struct pb_sim *s, const char *path,
                      char err[PB_ERRLEN]);

/* ===================================================================== */
/* retry.c: which failed requests to try again, and when                 */
/* ===================================================================== */

/* How pb-query retries.  The wait before try n+1 (n >= 1 tries made) is
 * what the server asked for (retry-after-ms, else Retry-After) if it
 * asked, else "full jitter": uniform in [0, min(cap, base * 2^(n-1))). */
struct pb_retry_policy {
	int retries;        /* tries after the first, at most */
	double base_s;      /* backoff base (PB_RETRY_BASE) */
	double cap_s;       /* backoff cap (PB_RETRY_CAP) */
	double max_wait_s;  /* a server asking more than this is not waited for */
};

#define PB_RETRY_BASE 0.5
#define PB_RETRY_CAP 30.0

/* What one try came to, as far as retrying cares. */
struct pb_retry_in {
	enum pb_http_result result;
	long status;          /* HTTP status; 0 without a response */
	int malformed;        /* a 2xx whose body was not JSON at all */
	const char *type;     /* the provider's error type, code, or NULL */
	const char *code;
	double retry_after;   /* seconds the server asked for, or -1 */
	int should_retry;     /* x-should-retry: 1, 0, or -1 when absent */
	int tries;            /* tries made so far, counting this one (>= 1) */
};

enum pb_retry {
	PB_RETRY_NO,       /* final: success, or a failure that cannot succeed */
	PB_RETRY_YES,      /* try again after *wait seconds */
	PB_RETRY_EXHAUSTED,/* would be retried, but the tries are used up */
	PB_RETRY_TOO_LONG  /* the server asks to wait more than max_wait_s
	                    * (*wait says how long) */
};

/* Says whether a try that failed should be made again, and the wait.
 * Retried: no response (connection errors, timeouts, stalls), HTTP 408,
 * 409, 425, 429, 500, 502, 503, 504 and 529, and a 2xx body that is not
 * JSON; x-should-retry: true retries any other status and false forbids
 * a retry.  Never retried, whatever the headers: quota and spend limits
 * (type or code insufficient_quota, enforced_spend_limit_reached,
 * billing_hard_limit_reached), 400, 401, 403, 404, 422, 501, and an
 * error whose type or code says "unsupported".  u is a uniform random
 * number in [0,1) for the jitter.  A success gives PB_RETRY_NO. */
enum pb_retry pb_retry_decide(const struct pb_retry_policy *p,
                              const struct pb_retry_in *in, double u,
                              double *wait);

/* The backoff wait after `tries` tries, for jitter u in [0,1). */
double pb_retry_backoff(const struct pb_retry_policy *p, int tries, double u);

/* Whether status/type/code mean the provider is overloaded or limiting
 * the rate (429 other than a quota, 529, overloaded_error): the signal
 * for the whole client to slow down. */
int pb_retry_overloaded(long status, const char *type, const char *code);

/* ===================================================================== */
/* ratelimit.c: request and token buckets, and the slow-down on a 429    */
/* ===================================================================== */

/* One token bucket: fills at rate per second up to cap; a take may
 * leave it negative (a debt paid back by waiting), so a cost larger than
 * the whole bucket still passes once the bucket is full. */
struct pb_bucket {
	double rate, cap, level, t;
};

/* The limiter pb-query asks before each request it sends.  Times are
 * seconds on any monotonic clock.  Slow-down: on an overload signal the
 * client stops sending until the server's deadline, then runs at half
 * the concurrency and half the rate; each success gives back 1/c of a
 * slot (one slot per round of c requests: additive increase) and 1/16
 * of full rate per round.  Only one cut per round: an overload reported
 * for a request sent before the last cut does not cut again. */
struct pb_limiter {
	struct pb_bucket rpm, tpm; /* rate 0: no limit */
	int max;              /* the concurrency asked for (-j) */
	double conc;          /* current concurrency limit, 1..max */
	double factor;        /* current share of the rates, 1/64..1 */
	double pause_until;   /* nothing is sent before this */
	double last_cut;      /* when the last cut was made */
	long cuts;            /* cuts made (for tests and progress) */
};

/* rpm, tpm: requests and tokens per minute; 0 for no limit.  Each
 * bucket holds a second's worth (at least one request). */
void pb_limiter_init(struct pb_limiter *l, int max, double rpm, double tpm,
                     double now);

/* The requests that may be in flight now: the concurrency limit. */
int pb_limiter_slots(const struct pb_limiter *l);

/* Seconds until a request estimated at tokens may be sent: 0 if now. */
double pb_limiter_wait(struct pb_limiter *l, double tokens, double now);

/* Counts a request sent now, estimated at tokens. */
void pb_limiter_take(struct pb_limiter *l, double tokens, double now);

/* Corrects the token bucket once a request's real usage is known. */
void pb_limiter_usage(struct pb_limiter *l, double estimated, double actual);

/* An overload reported for a request sent at sent_at: pause until
 * now + wait, and cut (once per round; see above). */
void pb_limiter_overload(struct pb_limiter *l, double sent_at, double now,
                         double wait);

/* A success: the additive increase. */
void pb_limiter_success(struct pb_limiter *l);

/* The server's rate-limit headers say its budget is spent until then:
 * nothing is sent before it (no cut: this is pacing, not overload). */
void pb_limiter_hold(struct pb_limiter *l, double until);

/* ===================================================================== */
/* sha256.c: SHA-256 (FIPS 180-4)                                        */
/* ===================================================================== */

struct pb_sha256 {
	uint32_t h[8];
	uint64_t len;           /* bytes hashed so far */
	unsigned char buf[64];  /* a partial block */
	size_t nbuf;
};

/* init, any number of updates (of any sizes: the digest depends only on
 * the bytes), then final, which writes the 32-byte digest; the context
 * must be initialised again before reuse.  final_hex writes it as 64
 * lowercase hex digits and a NUL.  pb_sha256_hex hashes one buffer. */
void pb_sha256_init(struct pb_sha256 *c);
void pb_sha256_update(struct pb_sha256 *c, const void *p, size_t n);
void pb_sha256_final(struct pb_sha256 *c, unsigned char out[32]);
void pb_sha256_final_hex(struct pb_sha256 *c, char out[65]);
void pb_sha256_hex(const void *p, size_t n, char out[65]);

/* ===================================================================== */
/* cache.c: the response cache (pb-query), one JSON file per request     */
/* ===================================================================== */

/* Layout: DIR/ab/abcdef....json, where abcdef... is the key and ab its
 * first two hex digits.  Each file is one JSON object
 *   {"format":"pb-cache-1","key":KEY,"created":UNIX-TIME,
 *    "sha256":HEX,"response":VALUE}
 * where sha256 is the hash of VALUE's canonical text (pb_json_canonical).
 * Entries are written to a temp file beside their place and renamed over
 * it, so a reader sees a whole old entry or a whole new one; on reading,
 * an entry is believed only if it parses and its format, key and
 * checksum agree, so a damaged entry is a miss, never a wrong answer.
 * Folders the cache makes are 0700 and entries 0600, whatever the umask.
 * A struct pb_cache is read-only once open: threads may share it. */
#define PB_CACHE_FORMAT "pb-cache-1"

struct pb_cache;

/* The default folder: $XDG_CACHE_HOME/promptbandit if that is set to an
 * absolute path, else $HOME/.cache/promptbandit.  Returns a malloc'd
 * path, or NULL with err set when neither is usable. */
char *pb_cache_default_dir(char err[PB_ERRLEN]);

/* Opens the cache in dir, making it (and missing parents) with mode 0700
 * if need be.  An existing folder keeps its mode.  Returns NULL with err
 * set if dir cannot be made or is not a folder.  Close with
 * pb_cache_close (NULL is fine). */
struct pb_cache *pb_cache_open(const char *dir, char err[PB_ERRLEN]);
void pb_cache_close(struct pb_cache *c);

/* The folder as given to pb_cache_open (trailing slashes dropped); owned
 * by c. */
const char *pb_cache_dir(const struct pb_cache *c);

/* The key of one request: 64 hex digits of SHA-256 over, in turn, the
 * format tag "pb-cache-1", endpoint (the full URL posted to), api
 * ("openai" or "anthropic"), the canonical text of body (the request
 * body as sent; pb_json_canonical) and sample written in decimal, each
 * preceded by its length as 8 big-endian bytes, so no two different
 * inputs run together into the same bytes.  sample tells apart draws
 * that are meant to differ: pass 0 at temperature 0, else the record's
 * pull id (or "sample" field).  run, when not NULL, follows as a sixth
 * field: the record's run id at temperature > 0, so a new run of the
 * same pulls draws anew while a rerun of the same run is served from the
 * cache (NULL adds nothing: keys made without it stay as they were).
 * The API key is not an input and must
 * never be put into endpoint or body: entries are shared by whoever can
 * read the folder, and keys name files.  NULL endpoint or api count as
 * "", NULL body as null.  Never fails and never allocates. */
void pb_cache_key(const char *endpoint, const char *api, const cJSON *body,
                  long sample, const char *run, char key[65]);

/* Looks key up.  Returns 1 with a malloc'd copy of the stored value (the
 * value's compact JSON text; free with free()) in *value, 0 on a miss,
 * or -1 with err set on a real error (a bad key, a folder that cannot
 * be read, out of memory).  *value is NULL unless 1 is returned.  An
 * entry that is truncated, not JSON, or disagrees in format tag, key or
 * checksum counts as a miss and is left for the next put to replace (not
 * removed: a concurrent put may have just renamed a good entry there). */
int pb_cache_get(struct pb_cache *c, const char *key, char **value,
                 char err[PB_ERRLEN]);

/* Stores value, a JSON text (the provider's successful response: callers
 * store successes only), under key, replacing any entry there.  Fails
 * with err set on a bad key, a value that is not JSON, or an I/O error;
 * the cache is then as it was (a failure leaves no temp file behind).
 * Several processes may put and get the same key at once: each put
 * renames a whole entry into place atomically and the last one wins. */
int pb_cache_put(struct pb_cache *c, const char *key, const char *value,
                 char err[PB_ERRLEN]);

/* The canonical text of a JSON value: compact, object members sorted by
 * key (bytewise; members with equal keys keep their order), numbers in
 * the shortest of %.15g, %.16g and %.17g that reads back as the same
 * double (so 0.7, 0.70 and 7e-1 are one; -0 is 0; infinities null),
 * strings with " and \ escaped, \b \f \n \r \t as such, other control
 * characters as \u00xx and all other bytes as they are.  (For ASCII
 * strings and integers, that is Python's json.dumps(v, sort_keys=True,
 * separators=(",", ":")).)  The same tree always gives the same text,
 * whatever order its keys were built in.  Returns a malloc'd string, or
 * NULL when out of memory. */
char *pb_json_canonical(const cJSON *v);

/* ===================================================================== */
/* query.c: the pb-query engine                                          */
/* ===================================================================== */

/* The engine takes records one at a time, sends each record's messages
 * through a pb_http client of its own (at most http.parallel at once),
 * retries what pb_retry_decide says, keeps to the limiter (--rpm, --tpm,
 * the slow-down on a 429), answers from and fills the cache, and hands
 * each record back through out with "response" (or "request" for a dry
 * run) or "error" added and any old ones removed.  It never prints:
 * a record that fails gets its "error" object, is counted, and is
 * described in one line through warn as it fails; a system error
 * (libcurl, out of memory, out failing) stops the engine, and every call
 * from then on returns -1 with err set.  One thread drives it:
 *
 *   while records: while pb_query_room: pb_query_add
 *                  pb_query_send; pb_query_poll (waiting until next)
 *   until pb_query_idle
 *
 * Times are seconds on CLOCK_MONOTONIC. */
struct pb_query;

/* A finished record, in input order (unless unordered: as it finishes).
 * rec is lent for the call; the engine frees it afterwards.  Return 0,
 * or -1 with err set to stop the engine with that message. */
typedef int (*pb_query_out_fn)(const cJSON *rec, void *arg, char err[PB_ERRLEN]);

/* A message for a person, without the tool's name or a newline: a
 * record's failure ("FILE:LINE: ...", "pull N: HTTP 500: ... (after
 * retries)"), or the first cache error ("cache: ... (going on without
 * it)").  msg lives only for the call. */
typedef void (*pb_query_warn_fn)(const char *msg, void *arg);

/* Everything is copied except what is marked borrowed, which must outlive
 * the engine. */
struct pb_query_opts {
	struct pb_http_opts http;  /* http.parallel: requests in flight, and
	                            * the record window is 4 times that */
	struct pb_llm_params par;  /* its strings, stop and extra borrowed */
	const char *url;           /* the endpoint posted to; borrowed */
	const char *secret;        /* the API key, or NULL: replaced by
	                            * "[redacted]" wherever a response or error
	                            * carries it back, in the raw body and in
	                            * every JSON string as decoded (so escaped
	                            * forms too), before the cache or the
	                            * record sees it; borrowed */
	const char *const *secrets; /* more of them (secret headers' values),
	                            * NULL-terminated, or NULL; borrowed */
	struct pb_cache *cache;    /* NULL: none; borrowed (caller closes) */
	struct pb_retry_policy retry;
	double rpm, tpm;           /* 0: no limit */
	int ordered;               /* hand records back in input order */
	int dry_run;               /* add "request", send nothing */
	int refresh;               /* ask even on a cache hit, and replace it */
	uint64_t seed;             /* for the backoff jitter */
	pb_query_out_fn out;       /* required */
	pb_query_warn_fn warn;     /* NULL: messages are dropped */
	void *arg;                 /* passed to out and warn */
};

/* What the engine has done so far, for a progress display and the exit
 * status. */
struct pb_query_counts {
	long done;        /* records handed to out */
	long requests;    /* tries sent */
	long retries;     /* tries put off to be made again */
	long failed;      /* records handed on with an "error" */
	long hits;        /* answers taken from the cache */
	long interrupted; /* records failed with kind "interrupted" (also
	                   * counted in failed) */
	long paced;       /* pauses made for the rate-limit headers */
	double tokens;    /* usage.total_tokens of the answers, cached too */
	int in_flight;    /* requests in flight now */
};

/* Returns NULL with err set if libcurl cannot start (pb_http_new: call
 * it before starting threads) or out of memory. */
struct pb_query *pb_query_new(const struct pb_query_opts *o, char err[PB_ERRLEN]);

/* Frees the engine, its client and any records it still holds (their
 * out never runs).  NULL is fine. */
void pb_query_free(struct pb_query *q);

/* Records pb_query_add takes now: the free places in the window. */
size_t pb_query_room(const struct pb_query *q);

/* Whether the engine holds no record: everything added was handed back. */
int pb_query_idle(const struct pb_query *q);

/* Takes rec (always, even on failure) from file:line (file borrowed until
 * the record is handed back; used in messages).  A bad record, a dry run
 * or a cache hit is handed back at once (out may run within this call,
 * for it and for records held back for order); otherwise it waits to be
 * sent.  Needs room.  Returns 0, or -1 with err set. */
int pb_query_add(struct pb_query *q, cJSON *rec, const char *file, long line,
                 char err[PB_ERRLEN]);

/* Sends what the free slots, the slow-down and the buckets allow: due
 * retries first, then records in the order added.  Sets *next to when
 * something may next be sent (or a retry falls due), HUGE_VAL if only a
 * finished request can free the way.  Returns 0, or -1 with err set. */
int pb_query_send(struct pb_query *q, double now, double *next,
                  char err[PB_ERRLEN]);

/* Moves the transfers (pb_http_poll: waits up to timeout_ms if nothing
 * finished) and settles each finished try: handed back, failed, or put
 * off for a retry.  Returns the number of tries finished, or -1 with err
 * set. */
int pb_query_poll(struct pb_query *q, int timeout_ms, char err[PB_ERRLEN]);

/* Stops asking: requests in flight are abandoned, and every record held
 * (in flight, waiting for a retry or for its turn) is handed back at
 * once, in order, with the error {"kind":"interrupted"}; records added
 * from now on get the same at once, and nothing more is sent.  Those
 * records are counted in interrupted (and failed) but not told through
 * warn, line by line.  Returns 0, or -1 with err set. */
int pb_query_interrupt(struct pb_query *q, char err[PB_ERRLEN]);

/* Makes a waiting pb_query_poll return at once; the only function here
 * another thread may call. */
void pb_query_wakeup(struct pb_query *q);

void pb_query_counts(const struct pb_query *q, struct pb_query_counts *c);

/* ===================================================================== */
/* coproc.c: a long-lived child that answers one line per line           */
/* ===================================================================== */

/* The child's standard input and output are both one end of a socket
 * pair; its standard error is ours.  Writes are buffered here and go out
 * only in pb_coproc_pump, which also reads, so a child that answers as
 * it reads can never deadlock against us: we never block on a write
 * while it waits for us to read.  Writes use MSG_NOSIGNAL, so a child
 * that dies gives an error, not SIGPIPE. */
struct pb_coproc {
	pid_t pid;          /* 0 once reaped */
	int fd;             /* our end; -1 once closed */
	char *obuf;         /* bytes queued for the child */
	size_t olen, ooff, ocap;
	char *ibuf;         /* bytes read from the child, not yet taken */
	size_t ilen, ioff, icap;
	int eof;            /* the child closed its output (or died) */
	int shut;           /* we closed its input (pb_coproc_finish) */
	int broken;         /* a write failed: the child stopped reading */
	int status;         /* wait status once reaped, else -1 */
};

/* Starts argv[0] (found through PATH by execvp; no shell) with argv.
 * Fails with err set if the program cannot be run ("jq: No such file or
 * directory"): the child reports a failed exec through a close-on-exec
 * pipe, so that is known before this returns. */
int pb_coproc_start(struct pb_coproc *c, char *const argv[],
                    char err[PB_ERRLEN]);

/* Queues n bytes for the child.  Returns -1 only if out of memory. */
int pb_coproc_send(struct pb_coproc *c, const char *p, size_t n);

/* Moves bytes both ways for all n children: waits up to timeout_ms
 * (-1: until something moves, 0: not at all) for any of them to be
 * readable, or writable while bytes are queued.  Returns the number of
 * children that made progress, or -1 with err set on a system error. */
int pb_coproc_pump(struct pb_coproc *const *c, size_t n, int timeout_ms,
                   char err[PB_ERRLEN]);

/* The next whole line read from the child, without its newline and
 * NUL-terminated, or NULL if none is complete yet.  The line lives until
 * the next pump.  *len (if not NULL) gets its length. */
char *pb_coproc_line(struct pb_coproc *c, size_t *len);

/* Closes the child's input once the queued bytes are out (call pump
 * until c->olen == c->ooff first), so it sees end of input. */
void pb_coproc_finish(struct pb_coproc *c);

/* Waits for the child to end and describes how ("exited with status 3",
 * "killed by signal 9") in how.  Returns its exit status, 128 + the
 * signal, or -1 with how set on a system error. */
int pb_coproc_wait(struct pb_coproc *c, char how[PB_ERRLEN]);

/* Frees c; a child still running is sent SIGTERM and waited for. */
void pb_coproc_free(struct pb_coproc *c);

/* The same with SIGKILL, for a child that stopped answering (and may
 * ignore SIGTERM). */
void pb_coproc_kill(struct pb_coproc *c);

/* ===================================================================== */
/* judge.c: rewards from values, verdicts and the judge's prompt         */
/* ===================================================================== */

/* How to read a program's (jq, --cmd) reward: with has_scale, numbers
 * from lo to hi map onto [0,1]; otherwise numbers must already be in
 * [0,1].  true and false are 1 and 0 in either case. */
struct pb_reward_scale {
	int has_scale;
	double lo, hi;
};

/* Reads a reward from a program's answer v: a number, true or false, or
 * an object whose "reward" member is one of those (and whose "reason",
 * a string, explains a null).  Returns 0 with *reward in [0,1] and the
 * value as written in raw (e.g. "7", "true"); or -1 with why set (null,
 * not a number, outside the scale).  raw may be NULL. */
int pb_reward_value(const cJSON *v, const struct pb_reward_scale *s,
                    double *reward, char raw[64], char why[PB_ERRLEN]);

/* Parses "LO:HI" (LO < HI) into s. */
int pb_reward_scale_parse(struct pb_reward_scale *s, const char *spec,
                          char err[PB_ERRLEN]);

/* How a judge states its verdict: a score out of scale (scale > 0:
 * "Score: 7/10", "7/10", "Score: 7"; the last one counts), or (scale 0)
 * a pass or a fail (the last word PASS or FAIL, any case). */
struct pb_judge_scale {
	int scale; /* 0: pass-fail */
};

/* Parses "10", "5", "100" (1..1000) or "pass-fail". */
int pb_judge_scale_parse(struct pb_judge_scale *s, const char *spec,
                         char err[PB_ERRLEN]);

/* Reads the verdict out of the judge's reply.  Returns 0 with *reward in
 * [0,1] and verdict set ("7/10", "PASS"), or -1 with why set: no
 * verdict, or a score outside 0..scale. */
int pb_judge_verdict(const struct pb_judge_scale *s, const char *reply,
                     double *reward, char verdict[64], char why[PB_ERRLEN]);

/* Checks a judge template: its placeholders must be {task},
 * {reference}, {response} or {prompt}; {{ and }} are literal braces. */
int pb_judge_check(const char *tmpl, char err[PB_ERRLEN]);

/* Fills the template for one record: {task} is task.input (else
 * task.question, else the last user message), {reference} the value at
 * the reference path as text, {response} the response text, {prompt}
 * every message's content joined by blank lines.  A placeholder without
 * a value is an error (err names it).  Returns a malloc'd string. */
char *pb_judge_render(const char *tmpl, const cJSON *rec, const char *refpath,
                      const char *text, char err[PB_ERRLEN]);

/* ===================================================================== */
/* blend.c: the scoring engine of pb-score                               */
/* ===================================================================== */

/* The engine scores each record with one or more components and hands
 * records back in input order.  Built-in components (struct pb_scorer)
 * are scored at once; a jq program and an external program are each one
 * coprocess for the whole run, fed one record per line; the judge is a
 * pb_query engine.  The reward is the weighted mean of the components'
 * rewards; a record any component cannot score gets reward null.  The
 * engine never prints: a record's trouble goes through warn, and a
 * system error stops it (every call then returns -1 with err set).  One
 * thread drives it:
 *
 *   for each record: while !pb_blend_room: pb_blend_step
 *                    pb_blend_add
 *   pb_blend_finish; while !pb_blend_idle: pb_blend_step
 */
enum pb_comp_kind {
	PB_COMP_BUILTIN,  /* a struct pb_scorer */
	PB_COMP_JQ,       /* a jq program's one value per record */
	PB_COMP_CMD,      /* an external program's one answer per line */
	PB_COMP_JUDGE     /* an LLM's verdict on a rubric */
};

struct pb_component {
	enum pb_comp_kind kind;
	const char *name;             /* key in "components"; borrowed */
	double weight;                /* > 0 */
	const struct pb_scorer *sc;   /* PB_COMP_BUILTIN: borrowed */
};

typedef int (*pb_blend_out_fn)(cJSON *rec, void *arg, char err[PB_ERRLEN]);
typedef void (*pb_blend_warn_fn)(const char *msg, void *arg);

struct pb_blend_opts {
	const struct pb_component *comp; /* borrowed */
	size_t ncomp;
	int blend;                 /* write "components" (--blend), even for
	                            * one component */
	const char *reference;     /* dotted paths, borrowed */
	const char *response;
	/* jq */
	const char *jq_prog;       /* the user's expression; borrowed */
	const char *jq_path;       /* the jq to run (NULL: "jq" from PATH) */
	/* cmd */
	char *const *cmd;          /* NULL-terminated argv; borrowed */
	int cmd_plain;             /* answers need not carry the record's
	                            * pull (0.1's protocol, unchecked) */
	double cmd_timeout;        /* seconds an answer may take (0: no
	                            * limit); then the record is unscored
	                            * and the program started again */
	struct pb_reward_scale scale; /* for jq and cmd */
	/* judge */
	const char *judge_tmpl;    /* borrowed */
	struct pb_judge_scale judge_scale;
	struct pb_query_opts judge; /* out, warn, arg and ordered are set by
	                            * the engine; the rest as for pb-query */
	size_t window;             /* records held at most (0: 4096) */
	pb_blend_out_fn out;       /* required: takes the record */
	pb_blend_warn_fn warn;     /* NULL: dropped */
	void *arg;
};

struct pb_blend_counts {
	long done;            /* records handed to out */
	long status[5];       /* by enum pb_score_status */
	long failed;          /* unscored through no fault of the query */
	long jq_started, cmd_started; /* coprocesses started (1 or 0) */
};

struct pb_blend;

/* Starts the coprocesses and the judge's engine.  A jq program that does
 * not compile is reported here (jq's own message goes to stderr): the
 * engine asks jq for a first answer that does not run the program. */
struct pb_blend *pb_blend_new(const struct pb_blend_opts *o,
                              char err[PB_ERRLEN]);

/* Ends the coprocesses (SIGTERM if still running) and frees what is
 * held; records still held are freed without out. */
void pb_blend_free(struct pb_blend *b);

int pb_blend_room(const struct pb_blend *b);
int pb_blend_idle(const struct pb_blend *b);

/* Takes rec (always).  file (borrowed until the record is handed back)
 * and line name it in messages.  text, if not NULL, is the record as
 * read (len bytes): sent to the coprocesses as it is, which saves
 * printing it again. */
int pb_blend_add(struct pb_blend *b, cJSON *rec, const char *file, long line,
                 const char *text, size_t len, char err[PB_ERRLEN]);

/* Moves everything along, waiting up to timeout_ms for something to
 * happen; hands finished records to out in order.  Returns 0 or -1. */
int pb_blend_step(struct pb_blend *b, int timeout_ms, char err[PB_ERRLEN]);

/* No more records: closes the coprocesses' input once all is sent. */
void pb_blend_finish(struct pb_blend *b);

void pb_blend_counts(const struct pb_blend *b, struct pb_blend_counts *c);

#endif
