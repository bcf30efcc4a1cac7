/* bandit.h - the bandit layer: the state as data, its task pool, the
 * verbs that choose and apply, the verdict, the state file, the policies,
 * stopping rules, history and report statistics.  Depends on base.h only;
 * the wiring between its files is in internal.h.  Within the layer the
 * files call one way: tasks, history, bai <- state <- batch, merge,
 * policy (policy-common <- policy-* <- policy.c) <- bandit, verdict <-
 * statejson <- stateprint, stateread <- statefile.
 *
 * Conventions as in pb.h. */
#ifndef PB_BANDIT_H
#define PB_BANDIT_H

#include "base.h"


/* ===================================================================== */
/* state.c, batch.c: the state as data: arms, pairs, contexts, batches  */
/* ===================================================================== */

#define PB_STATE_FORMAT "promptbandit-state"
#define PB_STATE_VERSION 2
#define PB_PENDING_TTL 900.0 /* seconds a handed-out pull counts as pending */
#define PB_MAX_REPEATS 1000  /* pb-update --init --repeats R: R at most this */
#define PB_MAX_COUNT 9e15    /* counts in a state file (pulls, errors, ids):
                              * integers a double and a long both hold */

/* The policies, in the order pb-update(1) lists them; the operations of
 * each are in policy.c's table (internal.h). */
enum pb_policy_kind {
	/* regret */
	PB_POL_UNIFORM,
	PB_POL_EPSILON,
	PB_POL_SOFTMAX,
	PB_POL_UCB1,
	PB_POL_UCBV,
	PB_POL_KLUCB,
	PB_POL_THOMPSON,
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
	double k;       /* lucb, top-two, race: arms per task (race: 0 = all) */
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
	long cursor;         /* every position of the pool's order
	                      * below this one the arm has used or passed over
	                      * (for a context's pool: the context's arm) */
};

/* A pool of tasks, one seeded random order of them.  A task is
 * known by its id (the task's "id" field, or "#" and a digest of its
 * input when it has none) and a digest of its input text, so a task
 * whose text changed under the same id is caught.  id[p], dig[p]: the
 * task at position p; ht is a hash index from id to position. */
struct pb_tasks {
	size_t n, cap;
	char **id;
	uint64_t *dig;
	size_t *ht, htcap;
	char *arena;          /* the ids' memory: chunks, each starting with
	                       * a pointer to the one before (tasks.c) */
	size_t arena_left;    /* bytes free at the end of the newest chunk */
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

/* The paired statistics of a state: only the pairs that shared a task
 * are stored (K = 10,000 arms would need 50 million slots otherwise),
 * slot s holding arms ij[s][0] < ij[s][1], found through a hash of the
 * two numbers.  Arms are only ever appended, so a pair keeps its numbers
 * when the pool grows. */
struct pb_pairs {
	struct pb_pair *p;
	int (*ij)[2];
	size_t n, cap;
	struct pb_index ix; /* (i, j) -> slot */
	uint32_t *tri;      /* for tk <= PB_PAIRS_TRI arms: slot + 1 of
	                     * each pair of an upper triangle over tk arms
	                     * (0: none), a lookup without hashing; NULL, or
	                     * stale (tk not the state's arms), uses ix */
	size_t tk;
};
#define PB_PAIRS_TRI 4096 /* 4 bytes a pair: 32 MB at most */

/* One value of the context field: the arms' statistics on those tasks
 * alone.  arms[i] stands for st->arms[i] (id copied; fields NULL). */
struct pb_ctx {
	char *name;
	struct pb_arm *arms;
	struct pb_pairs *pair; /* as st->pair, or NULL */
	struct pb_tasks tasks; /* this context's task pool */
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
	/* paired statistics, groups still coming back, contexts */
	struct pb_pairs *pair; /* the pairs with tasks, see pb_state_pair;
	                        * NULL until a group comes back */
	struct pb_group *open; /* groups with members still out */
	size_t nopen;
	char *ctx_field;       /* the task field naming the context, or NULL */
	struct pb_ctx *ctx;    /* statistics per context value */
	size_t nctx;
	struct pb_history *hist; /* the bounded history, or NULL */
	struct pb_tasks tasks; /* the task pool (a state without contexts;
	                        * with contexts each keeps its own) */
	long repeats;          /* pulls of one (arm, task) pair (--repeats R):
	                        * rewards are averaged per task */
	struct pb_index armix; /* arm id -> index (pb_state_find_arm), over
	                        * armix.n arms: a view with other arms (or
	                        * fewer) looks them up one by one */
};

/* Makes a new state from an arms file (JSON lines, each with a string
 * "id"; duplicates rejected) and a policy.  Errors name name:line. */
int pb_state_new(struct pb_state *st, FILE *arms, const char *name,
                 const struct pb_policy *pol, uint64_t seed,
                 char err[PB_ERRLEN]);

void pb_state_free(struct pb_state *st);

/* A state built from records rather than an arms file (pb-report
 * --replay): pb_state_blank makes an empty one under uniform, next pull
 * 1, with run's id (NULL: none) and every other member 0;
 * pb_state_new_arm appends arm id with empty statistics and the fields
 * {"id": id}, returning its index.  -1 out of memory. */
int pb_state_blank(struct pb_state *st, const char *run);
int pb_state_new_arm(struct pb_state *st, const char *id);

/* The index of arm id, or -1: O(1) through st->armix, which the
 * functions making and growing a state keep. */
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

/* Drops the batches handed out pending_ttl or more seconds before now;
 * returns how many pulls were still out in them. */
long pb_state_forget(struct pb_state *st, double now);

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

/* The pulls of one task (pb-sample): the task at position pos of context
 * ctx's pool handed out to the m arms arms[], each st->repeats times side
 * by side, as one group of the current batch (pb_state_begin_batch),
 * which is ended for a new one, handed out at the same time, when its
 * groups have another size.  Returns the first pull id, or -1 out of
 * memory. */
long pb_state_hand_out_group(struct pb_state *st, int ctx, long pos,
                             const int *arms, size_t m);

/* The paired statistics of arms i != j, oriented as (min(i,j), max(i,j)):
 * differences are r_min - r_max.  NULL when the two shared no task
 * (every count 0, every lm 0): only pairs with tasks are stored. */
struct pb_pair *pb_state_pair(const struct pb_state *st, int i, int j);

/* The pairs stored (those with tasks), for a walk over them in O(pairs)
 * rather than O(K^2): pair k < pb_state_npairs(st) is of arms *i < *j. */
size_t pb_state_npairs(const struct pb_state *st);
struct pb_pair *pb_state_pair_at(const struct pb_state *st, size_t k, int *i,
                                 int *j);

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
/* pb_state_view with the view's "updates" those of the context (the
 * pulls, rewarded or not, of its arms), as reports and histories count. */
void pb_state_context_view(const struct pb_state *st, size_t c,
                           struct pb_state *view);

/* The arms of st still in the pool (not retired), as a view: arms (room
 * for st->narms) receives copies of them, map[v] the index in st of the
 * view's arm v.  Returns how many.  The view has no pairs; never free
 * it. */
size_t pb_state_active(const struct pb_state *st, struct pb_state *view,
                       struct pb_arm *arms, int *map);

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

/* ===================================================================== */
/* tasks.c: the task pool: one seeded random order of the tasks          */
/* ===================================================================== */

void pb_tasks_free(struct pb_tasks *t);
/* The position of task id in t, or -1. */
long pb_tasks_find(const struct pb_tasks *t, const char *id);
long pb_tasks_findn(const struct pb_tasks *t, const char *id, size_t len);
/* Appends a task (its id not in t yet).  Returns 0, or -1 out of memory.
 * pb_tasks_addn takes the id as len bytes (no NUL among them). */
int pb_tasks_add(struct pb_tasks *t, const char *id, uint64_t dig);
int pb_tasks_addn(struct pb_tasks *t, const char *id, size_t len, uint64_t dig);
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

/* ===================================================================== */
/* bandit.c: where state, policy and history meet: choose, apply      */
/* ===================================================================== */

/* Applies pull id, said to be of arm, with reward (NAN: unscored, counted
 * as an error).  Returns 0 if applied, 1 if that pull was applied before
 * (or its batch forgotten), or -1 with err set if it cannot be right: never
 * handed out, or handed out to another arm. */
int pb_state_apply(struct pb_state *st, long id, int arm, double reward,
                   char err[PB_ERRLEN]);

/* pb_state_apply with the pull's context (NULL when the
 * state keeps none; required when it does).  Errors: a context where the
 * state keeps none, none where it does, or one that differs from its
 * group's. */
int pb_state_apply_ctx(struct pb_state *st, long id, int arm, double reward,
                       const char *ctx, char err[PB_ERRLEN]);

/* Hands back pull id of arm (context ctx as for pb_state_apply_ctx): a
 * pull that will never come (an interrupted request) stops being pending
 * at once.  No reward and no error is counted, and its arm never gets
 * that task again (its cursor has passed it).  Returns as
 * pb_state_apply. */
int pb_state_release(struct pb_state *st, long id, int arm, const char *ctx,
                     char err[PB_ERRLEN]);

/* Chooses the arms of one task in context ctx (-1: none) with st's
 * policy: k distinct arms (k = 0: every arm in the pool), fewer if the
 * pool has fewer; allow, if not NULL, narrows the pool to the arms i
 * with allow[i] set.  Retired arms are never chosen; race chooses its
 * surviving arms (the k best by mean if more survive).  Counts each
 * choice as pending in the context, and advances st->rng.  Returns how
 * many arms went into out, or -1 if out of memory. */
int pb_state_choose(struct pb_state *st, int ctx, size_t k,
                    const unsigned char *allow, int *out);

/* Takes a point now, whatever the stride (tests, and a final point for
 * plots).  Returns 0, or -1 out of memory. */
int pb_history_take(struct pb_state *st);

/* ===================================================================== */
/* verdict.c: whether to stop, and which arm is best                     */
/* ===================================================================== */

/* pb_policy_done on the arms still in the pool (and context ctx, or -1
 * for all tasks); *best, if not NULL, is an index into st->arms. */
int pb_state_done(const struct pb_state *st, int ctx, char why[PB_ERRLEN],
                  int *best);

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

/* The verdict pb-report gives, on the arms still in the pool. */
struct pb_verdict {
	int done;             /* the policy's stopping rule has fired */
	int best;             /* the best arm (index into st->arms), or -1 */
	double delta;         /* error probability of the rule and eps set:
	                       * the policy's (lucb, top-two, race), else
	                       * 1 - level */
	double conf;          /* 1 - delta; NAN for a fixed budget */
	const char *rule;     /* "glr", "box", "paired" or "budget" (static) */
	unsigned char *open;  /* per arm: not yet separated from the best
	                       * (budget, race: still in the race) */
	double eps;           /* as given, or NAN */
	unsigned char *good;  /* per arm: in the eps-good set (NULL when eps
	                       * is NAN) */
	char why[PB_ERRLEN];  /* the stop or the exhaustion in words, or "" */
	int exhausted;        /* not done, and the arms in contention have
	                       * used every task: no new evidence can come */
	int totals;           /* a state with contexts: no verdict on the
	                       * totals (done 0), a weighted estimate */
	double *weighted;     /* per arm (totals): sum over contexts of the
	                       * context's share of tasks times the arm's mean
	                       * there (NAN: no rewards in a context with tasks) */
	size_t nctx;          /* contexts (totals) */
	size_t pool;          /* tasks in the pool */
};

/* Judges st (a state, or a context's view from pb_state_context_view) at
 * level (of the rules without a delta of their own) and eps (NAN: no
 * eps-good set) into v, which the caller frees with pb_verdict_free.
 * Returns 0, or -1 out of memory (v freed). */
int pb_bandit_verdict(const struct pb_state *st, double level, double eps,
                      struct pb_verdict *v);
void pb_verdict_free(struct pb_verdict *v);

/* ===================================================================== */
/* merge.c, statefile.c, statejson.c: merging, the state file, its JSON  */
/* ===================================================================== */

/* Adds other's statistics into st (same arm ids required; a run already
 * merged, or st's own run, is refused). */
int pb_state_merge(struct pb_state *st, const struct pb_state *other,
                   char err[PB_ERRLEN]);

/* Writes st as a new file at path; fails if path already exists (the
 * temp file is linked into place, so two concurrent inits cannot both
 * win). */
int pb_state_create(const struct pb_state *st, const char *path,
                    char err[PB_ERRLEN]);

/* Loads and validates path.  On failure st is left empty. */
int pb_state_load(struct pb_state *st, const char *path, char err[PB_ERRLEN]);

/* pb_state_load, keeping the file open: *keep receives a descriptor of
 * the file loaded (-1 on failure), for pb_state_current; the caller
 * closes it.  pb_state_current says whether the file locked as lockfd
 * (pb_state_lock) is still that file, unchanged: then the state loaded
 * before the lock is the state under it, and a tool that read its
 * input in between need not load it again. */
int pb_state_load_keep(struct pb_state *st, const char *path, int *keep,
                       char err[PB_ERRLEN]);
int pb_state_current(int fd, int lockfd);

/* Writes st to path atomically: a temp file in the same folder, fsync,
 * rename, fsync of the folder.  path is untouched if this fails. */
int pb_state_save(const struct pb_state *st, const char *path,
                  char err[PB_ERRLEN]);

/* Takes an exclusive flock(2) on path itself, serialising every writer;
 * if the file was replaced while we waited, the lock is taken again on
 * the new file.  Returns a descriptor for pb_state_unlock, or -1. */
int pb_state_lock(const char *path, char err[PB_ERRLEN]);
void pb_state_unlock(int fd);

/* Serialises st as a cJSON tree (used by save and by pb-report --json). */
cJSON *pb_state_to_json(const struct pb_state *st);
/* The state file's "policy" object of p: a new tree, or NULL. */
cJSON *pb_policy_json(const struct pb_policy *p);

/* ===================================================================== */
/* policy.c: arm selection (the policies in policy-*.c)                  */
/* ===================================================================== */

/* Parses "ucb1", "ucb1:c=2", "epsilon-greedy:epsilon=0.1",
 * "thompson:a=1,b=1", "uniform", "lucb:delta=0.05" and the others named
 * in pb-update(1).  Sets defaults first. */
int pb_policy_parse(struct pb_policy *p, const char *spec,
                    char err[PB_ERRLEN]);
/* The policy's name, or NULL past the last policy (k counts them). */
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
	double def;  /* the value when the spec does not give one */
};
extern const struct pb_policy_param pb_policy_params[];
extern const size_t pb_policy_nparams;
double *pb_policy_field(struct pb_policy *p, const struct pb_policy_param *q);

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

/* Every arm's chance of getting the next pull (p[0..narms)), as
 * pb_policy_prob gives them one at a time; cheaper for all arms of a
 * randomised policy, which needs a Monte Carlo run.  Returns -1 only if
 * out of memory. */
int pb_policy_probs(const struct pb_state *st, double *p);

/* Gives every arm its policy numbers (pb_arm.pstate) at their starting
 * values where it has none yet, so copies of the arms share them.
 * Returns -1 only if out of memory. */
int pb_policy_prepare(struct pb_state *st);

/* The arms pb-sample sends each task to unless told (-k): 1, or 0 for
 * every arm the policy chooses (race: its survivors). */
long pb_policy_arms_per_task(const struct pb_policy *p);

/* The pulls a fixed-budget policy hands out in all (the run stops
 * there), or NAN for a policy without a budget. */
double pb_policy_budget(const struct pb_policy *p);

/* Whether the policy says stop: lucb and top-two when their stopping
 * rule has fired on the applied rewards, race when one arm is left, the
 * budgets when `budget` pulls were handed out; the others never.  When
 * it returns 1, why says so in words and *best (if not NULL) receives
 * the recommended arm; otherwise *best is the current leader or -1. */
int pb_policy_done(const struct pb_state *st, char why[PB_ERRLEN], int *best);

/* pb-sample -k m (0: all) recorded in the policy's k, the group size its
 * hand-outs use: race always (its chances of the next pull, pb_policy_probs,
 * follow it); lucb and top-two only while no reward has been applied,
 * since k >= 2 switches them to their paired stopping rule, which must be
 * chosen before any reward.  Other policies: nothing. */
void pb_policy_note_k(struct pb_state *st, long m);

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
 * ratio of their Jeffreys mixtures (<= 0 when a's mean is not above
 * b's; 0 when either arm has no rewards). */
double pb_glr_z(const struct pb_stats *a, const struct pb_stats *b);

/* The threshold of the stopping rule for k arms at error probability
 * delta: log((k - 1) / delta), a union over the k - 1 wrong leaders
 * (why it holds: bai.c). */
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
 * every other arm's upper bound (pb_mix_bounds at delta / k).  Arguments
 * as for pb_glr_stop. */
int pb_box_stop(const struct pb_state *st, double delta, int *best,
                unsigned char *open);

/* The eps-good set at confidence 1 - delta: arm i is in it unless its
 * anytime upper bound hi_i (pb_mix_bounds at delta / k) is below
 * max_j lo_j - eps.  With probability >= 1 - delta every arm within eps of
 * the best is in the set.  in[i] receives 1 or 0; returns the set's size. */
size_t pb_eps_good(const struct pb_state *st, double delta, double eps,
                   unsigned char *in);

void pb_pair_add(struct pb_pair *p, double ri, double rj);
void pb_pair_refresh(struct pb_pair *p); /* after b, c or f* were set */

/* Evidence that the first arm of the pair has the larger mean (second:
 * j_over_i set): the log of a mixture of PB_PAIR_GRID betting
 * martingales on the differences (bai.c), which by Ville's inequality
 * reaches log(1/d) with probability <= d at any time.  lm[0] or lm[1]
 * when the arm's mean difference is positive, else 0. */
#define PB_PAIR_GRID 8
double pb_pair_evidence(const struct pb_pair *p, int j_over_i);

/* One task's difference d = r_o - r_x in [-1,1] into the log-wealths
 * lw[PB_PAIR_GRID] of the same bets on "o beats x" (Fan's bound for a
 * fractional d), and the log of their equal-weight mixture: race's
 * knock-out e-process, one per arm (policy-budget.c). */
void pb_bets_add(double *lw, double d);
double pb_bets_logm(const double *lw);

/* The characteristic time T*(mu) of Garivier and Kaufmann (2016) for k
 * Bernoulli arms with a unique best (w, if not NULL: the optimal
 * allocation); NAN when the best is not unique or a mean not in (0,1). */
double pb_char_time(const double *mu, size_t k, double *w);

/* ===================================================================== */
/* history.c: each arm's pulls, mean and selection probability over time */
/* ===================================================================== */

/* At most PB_HIST_CAP points are kept (how: history.c).  A history of
 * more than PB_HIST_DENSE arms takes a point every narms / PB_HIST_DENSE
 * pulls at least (pb_history_min_stride), and the file holds its series
 * in the sparse form of pb-state(5): only the points where an arm's
 * numbers changed. */
#define PB_HIST_CAP 200
#define PB_HIST_DENSE 64

/* One arm's series, keyed by arm id so arms added or retired later keep
 * their past: values are NAN at points where the arm was not in the
 * state. */
struct pb_hist_series {
	char *id;
	double *pulls; /* rewarded pulls (room places each) */
	double *mean;  /* mean reward */
	double *var;   /* sample variance of the rewards (for the t band) */
	double *prob;  /* pb_policy_probs: chance of the next pull */
	size_t room;   /* places in each of the four (history.c grows them
	                * to PB_HIST_CAP as points are taken) */
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
	struct pb_index ix; /* series id -> index (pb_history_find) */
	/* A state with contexts: each context's own history, its updates
	 * those of the context, its points taken when the totals' are. */
	char **ctxname;
	struct pb_history **ctx;
	size_t nctx;
};

/* The history as the state file's "history" member (pb-state(5)):
 *   {"stride":S,"updates":[...],
 *    "arms":{"ID":{"pulls":[...],"mean":[...],"var":[...],"prob":[...]}}}
 * with NAN written as null, and for a state with contexts
 *    "contexts":{"NAME":{...the same, for that context...}}.
 * Returns a new tree, or NULL. */
cJSON *pb_history_to_json(const struct pb_history *h);

/* The least stride of a history over narms arms. */
long pb_history_min_stride(size_t narms);

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
 * Monte Carlo over `draws` joint draws from the arms' posteriors (Beta
 * for 0/1 rewards, else normal), with an rng of its own seeded with seed.
 * Returns 0, or -1 out of memory or draws < 1. */
int pb_prob_best(const struct pb_stats *s, size_t k, long draws,
                 uint64_t seed, double *p);

/* P(best) from the posteriors pb_prob_best draws, independent, without
 * draws: the integral of f_i(x) prod_{j != i} F_j(x) dx by the midpoint
 * rule on PB_PBEST_GRID cells, arms with the same posterior taken as one
 * group: O(groups x grid).  Returns 0, or -1 out of memory. */
#define PB_PBEST_GRID 2048
int pb_prob_best_grid(const struct pb_stats *s, size_t k, double *p);

/* P(best) as pb_prob_best, from a joint normal posterior: means mu[0..k)
 * with covariance cov (k x k, row-major), for arms judged on the same
 * tasks.  Returns as pb_prob_best. */
int pb_prob_best_joint(const double *mu, const double *cov, size_t k,
                       long draws, uint64_t seed, double *p);

/* The empirical Bernstein interval (Maurer and Pontil 2009) for the mean
 * of rewards in [0,1] at level 1 - alpha; fewer than two rewards give
 * [0,1]. */
void pb_eb_ci(const struct pb_stats *s, double alpha, double *lo, double *hi);

/* The interval pb-report shows, by method "anytime" (pb_mix_bounds),
 * "auto" (fixed-sample) or "bernstein"; *name receives a static name:
 * "anytime", "wilson", "t" or "bernstein". */
void pb_report_ci(const struct pb_stats *s, double alpha, const char *method,
                  double *lo, double *hi, const char **name);

/* The percentile bootstrap interval for the mean of d[0..n) at level
 * 1 - alpha (B resamples, seeded with seed); n == 0 gives NAN.  Returns
 * 0, or -1 out of memory or B < 2. */
int pb_boot_mean_ci(const double *d, size_t n, long B, double alpha,
                    uint64_t seed, double *lo, double *hi);

/* The exact two-sided McNemar test of b against c discordant pairs; 1
 * when b + c = 0. */
double pb_mcnemar_exact(long b, long c);

/* Dollars for in_tok input and out_tok output tokens at the given
 * prices in dollars per million tokens of each kind. */
double pb_cost(double in_tok, double out_tok, double usd_in_m, double usd_out_m);

/* ===================================================================== */
/* pooled.c: the additive (arm + task) model behind pb-report --adjusted */
/* ===================================================================== */

/* One observed (arm, task) cell: the sum of arm's n rewards on task. */
struct pb_cell {
	size_t arm, task;
	double sum;
	long n;               /* > 0 */
};

enum { PB_POOLED_SWEEPS = 1000 }; /* the most backfitting sweeps */

/* Fits reward(arm, task) = a[arm] + b[task] by least squares on the
 * cells, each cell its mean reward with weight 1, by backfitting
 * (alternating means) until no estimate moves by more than 1e-10 in a
 * sweep, or PB_POOLED_SWEEPS sweeps.  Arms and tasks joined by cells
 * form components, numbered 1, 2, ... in the order of their lowest arm;
 * comp[i] receives arm i's (0: arm i has no cell).  Within each component
 * the a's are centred to mean 0, then shifted so their mean is the
 * grand mean of the component's cells: on a balanced design a[i] is arm
 * i's mean cell.  a[i] is NAN for an arm with no cell.  a and comp hold
 * narms values.  *sweeps (when not NULL) receives the sweeps run, or
 * PB_POOLED_SWEEPS + 1 if the fit stopped at the cap unconverged.
 * Returns the number of components, or -1 with err set (out of memory,
 * or a cell out of range or with n < 1). */
int pb_pooled_fit(const struct pb_cell *cells, size_t ncells, size_t narms,
                  size_t ntasks, double *a, int *comp, int *sweeps,
                  char err[PB_ERRLEN]);

#endif
