/* internal.h - what only lib/ calls: the wiring between a layer's files,
 * kept out of the headers cmd/ sees (as mblaze keeps blaze822_priv.h
 * beside blaze822.h).  A file of lib/ includes it after pb.h's layer
 * headers; cmd/ never does.  One section per layer. */
#ifndef PB_INTERNAL_H
#define PB_INTERNAL_H

#include "base.h"
#include "bandit.h"

/* ===================================================================== */
/* base                                                                   */
/* ===================================================================== */

/* ===================================================================== */
/* bandit: the wiring between the layer's files, in the order of the     */
/* chain tasks, history, bai <- state <- batch, merge, policy <- bandit,  */
/* verdict <- statejson <- statefile                                      */
/* ===================================================================== */

/* --- tasks.c */

/* The pool as the state file's "tasks" array of [id, digest] pairs, in
 * order, and back (into an empty t; a missing array is an empty pool). */
cJSON *pb_tasks_json(const struct pb_tasks *t);
int pb_tasks_load(struct pb_tasks *t, const cJSON *arr, char err[PB_ERRLEN]);



/* Rebuilds t's hash index after its order was shuffled; -1 out of memory. */
int pb__tasks_reindex(struct pb_tasks *t);

/* --- state.c, batch.c: the pair triangle, groups and batches as data */

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


static inline size_t
pb__npairs(size_t k)
{
	return k > 1 ? k * (k - 1) / 2 : 0;
}

/* The place of pair (i, j), i < j < k, in an upper triangle over k arms. */
static inline size_t
pb__tri(size_t k, size_t i, size_t j)
{
	return i * (2 * k - i - 1) / 2 + (j - i - 1);
}

/* Adds the rewards of arms i and j on one task to *pp (allocated on
 * first use), oriented as pb_state_pair says.  -1 out of memory. */
int pb__pair_add(struct pb_pair **pp, size_t narms, int i, int j, double ri,
                 double rj);
/* The open group of pulls first .., or NULL; a new empty one (in order),
 * NULL out of memory; the removal of a group whose members are all back. */
struct pb_group *pb__group_find(const struct pb_state *st, long first);
struct pb_group *pb__group_new(struct pb_state *st, long first, long k, int ctx);
void pb__group_close(struct pb_state *st, struct pb_group *g);
/* Drops the groups of pulls lo .. hi (a batch that is gone). */
void pb_groups_drop(struct pb_state *st, long lo, long hi);
void pb_pool_free(struct pb_state *st);
/* The batch holding pull id, or NULL; the index of b's first done range
 * whose hi >= id - 1 (where id may join it); id marked done (-1 out of
 * memory); a batch dropped. */
struct pb_batch *pb__batch_find(struct pb_state *st, long id);
size_t pb__batch_range(const struct pb_batch *b, long id);
int pb__batch_mark(struct pb_batch *b, long id);
void pb__batch_drop(struct pb_state *st, struct pb_batch *b);
/* The arms of base (a state or a context view) that may be chosen: in
 * the pool and not taken (taken may be NULL), as a view of their own
 * with map[v] the index in base.  The view's arms are copies (pstate
 * shared), so a choice's pending count is written back by the caller. */
size_t pb__active_view(const struct pb_state *base, const unsigned char *taken,
                       struct pb_state *view, struct pb_arm *arms, int *map);
/* Adds b's rewards, errors and tokens into a (merging). */
void pb_arm_add(struct pb_arm *a, const struct pb_arm *b);

/* --- history.c: handed the numbers it keeps */

/* Takes a point if one is due after st->updates changed; called by
 * pb_state_apply after each applied pull.  When no point is due this is
 * one comparison.  Out of memory, the point is skipped: the history is
 * a record for people, and never worth failing an update for. */
void pb_history_note(struct pb_state *st); /* bandit.c */

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


/* Takes a point into *hp (made if NULL): updates, and per arm its
 * statistics and prob[i], its chance of the next pull.  -1 out of
 * memory. */
int pb_history_point(struct pb_history **hp, long updates,
                     const struct pb_arm *arms, size_t narms, const double *prob);
/* Context name's history in h, added (empty) if missing; NULL out of
 * memory. */
struct pb_history *pb_history_ctx_add(struct pb_history *h, const char *name);
/* Whether a point is due at this count (h NULL: yes); a full buffer is
 * halved on the way. */
int pb_history_due(struct pb_history *h, long updates);

/* --- policy-common.c, policy-*.c, policy.c: the policies */

/* A policy's operations.  Only name and choose and probs are required;
 * a NULL operation does what the comment says. */
typedef int pb__choose_fn(const struct pb_state *st, struct pb_rng *r,
                          double *work);
enum {
	PB_POLICY_DELTA = 1,    /* the verdict is at the policy's delta (else at
	                         * 1 - the report's level) */
	PB_POLICY_BUDGET = 2,   /* a fixed budget of pulls handed out: pb-sample
	                         * stops there; the verdict has no confidence */
	PB_POLICY_ALL_ARMS = 4  /* pb-sample sends a task to every arm the
	                         * policy chooses (-k all) unless told */
};
struct pb_policy_ops {
	const char *name;
	int nstate;        /* numbers per arm in pb_arm.pstate, */
	double start;      /* the first of them at the start (the rest 0) */
	unsigned flags;    /* PB_POLICY_* */
	const char *rule;  /* the verdict's stopping rule (NULL: "glr") */
	/* messages of its own before the table's range checks; NULL: none */
	int (*check)(const struct pb_policy *p, char err[PB_ERRLEN]);
	/* before a selection (a round ends, a cache is refreshed); NULL */
	void (*before)(struct pb_state *st);
	/* an arm, without changing st, r the randomness (NULL for a
	 * deterministic policy), work room for narms doubles */
	pb__choose_fn *choose;
	/* every arm's chance of the next pull into p (zeroed), work as above */
	void (*probs)(const struct pb_state *st, double *p, double *work);
	/* the index for reports; NULL: the mean (NAN without rewards) */
	double (*index)(const struct pb_state *st, int i);
	/* a reward (NAN: an error) of arm i applied; NULL: nothing */
	int (*update)(struct pb_state *st, int i, double reward);
	/* the pair statistics of arms i and j changed; NULL: nothing */
	int (*pair)(struct pb_state *st, int i, int j);
	/* whether to stop, *best the recommended arm; NULL: never, *best the
	 * GLR leader */
	int (*done)(const struct pb_state *st, char why[PB_ERRLEN], int *best);
	/* in[i]: arm i is in contention (stopping rules at delta); NULL:
	 * every arm.  -1 out of memory */
	int (*contention)(const struct pb_state *st, double delta, unsigned char *in);
	/* the arms of one task when they are not k selections (race: its
	 * survivors); returns how many went into out; NULL */
	size_t (*group)(const struct pb_state *st, size_t k, int *out);
	/* the verdict at delta: done, *best, open[i] (not yet separated);
	 * NULL: pb_glr_stop */
	int (*verdict)(const struct pb_state *st, double delta, int *best,
	               unsigned char *open, char why[PB_ERRLEN]);
};
extern const struct pb_policy_ops pb_policy_uniform, pb_policy_epsilon,
	pb_policy_softmax, pb_policy_ucb1, pb_policy_ucbv, pb_policy_klucb,
	pb_policy_thompson, pb_policy_exp3, pb_policy_halving, pb_policy_rejects,
	pb_policy_lucb, pb_policy_toptwo, pb_policy_race;
/* The operations of policy k, or NULL. */
const struct pb_policy_ops *pb__policy_ops(enum pb_policy_kind k);

/* Checks a policy's parameters are in range (also for loaded states). */
int pb_policy_check(const struct pb_policy *p, char err[PB_ERRLEN]);

/* Tells the policy that a reward (NAN: an error) of arm i was applied;
 * called by pb_state_apply.  Returns -1 only if out of memory. */
int pb_policy_update(struct pb_state *st, int i, double reward);

/* Tells the policy that the paired statistics of arms i and j changed
 * (bandit.c calls it when a group's rewards come back).  Returns -1
 * only if out of memory. */
int pb_policy_pair(struct pb_state *st, int i, int j);

/* How many numbers of per-arm state (pb_arm.pstate) the policy keeps. */
int pb_policy_nstate(enum pb_policy_kind k);

/* Shared by the policies (policy-common.c). */
static inline double
pb__eff_n(const struct pb_arm *a)
{
	return (double)(a->st.n + a->pending);
}
static inline double
pb__mean_or(const struct pb_arm *a, double none)
{
	return a->st.n ? pb_stats_mean(&a->st) : none;
}
static inline long
pb__handed(const struct pb_arm *a)
{
	return a->st.n + a->errors + a->pending;
}
/* The arm with the largest score; *nties (if not NULL) how many share
 * it; with r one of them at random, else the first. */
int pb__argmax(const struct pb_state *st, const double *score,
               struct pb_rng *r, size_t *nties);
/* The rewarded pulls of every arm, with the pending ones or not. */
double pb__total_n(const struct pb_state *st, int with_pending);
/* An arm's first policy number (start when it has none yet), and its n
 * numbers made at their starting values (start, then 0s).  -1 out of
 * memory. */
double pb__pstate(const struct pb_arm *a, double start);
int pb__pstate_make(struct pb_arm *a, int n, double start);
/* The first arm with neither rewards nor pending pulls, or -1. */
int pb__untried(const struct pb_state *st);
/* A posterior draw of every arm's mean into theta (Thompson, top-two). */
void pb__posterior_draw(const struct pb_state *st, struct pb_rng *r,
                        double *theta);
/* The selection probabilities of a randomised choice, by Monte Carlo
 * with a fixed seed; of a deterministic one (r NULL). */
void pb__probs_mc(const struct pb_state *st, double *p, double *work,
                  pb__choose_fn *choose);
void pb__probs_fixed(const struct pb_state *st, double *p, double *work,
                     pb__choose_fn *choose);
/* Thompson's and top-two's: the Beta posterior mean, the check of the
 * prior. */
double pb__posterior_mean(const struct pb_state *st, int i);
int pb__prior_check(const struct pb_policy *p, const char *name,
                    char err[PB_ERRLEN]);

/* policy.c, for bandit.c: the arms in contention (pb_state_contention)
 * of st's arms, the stopping rules at delta; the arms of one task when
 * the policy picks them as a group, else (size_t)-1. */
int pb_policy_contention(const struct pb_state *st, double delta,
                         unsigned char *in);
size_t pb_policy_group(struct pb_state *st, size_t k, int *out);

/* --- merge.c */

/* Adds other's pairs and contexts into st (arms matched by id). */
int pb_pool_merge(struct pb_state *st, const struct pb_state *other,
                  char err[PB_ERRLEN]);

/* --- statejson.c, for statefile.c */

/* Serialisation of the state's parts: pairs as a list of the pairs with
 * tasks, groups, contexts.  The loaders return 0 or -1 with err naming
 * what is malformed; the JSON may lack the part. */
cJSON *pb_pairs_json(const struct pb_state *st, const struct pb_pair *pair);
int pb_pairs_load(struct pb_state *st, struct pb_pair **pair, const cJSON *arr,
                  char err[PB_ERRLEN]);
cJSON *pb_groups_json(const struct pb_state *st);
int pb_groups_load(struct pb_state *st, const cJSON *arr, char err[PB_ERRLEN]);
cJSON *pb_ctx_json(const struct pb_state *st);
int pb_ctx_load(struct pb_state *st, const cJSON *o, char err[PB_ERRLEN]);
/* An arm's statistics as JSON ("pulls", "mean", "sum", "sumsq",
 * "nonbinary", "errors", "policy_state") into o, and back. */
void pb_arm_stats_json(const struct pb_state *st, const struct pb_arm *a,
                       cJSON *o);
int pb_arm_stats_load(const struct pb_state *st, struct pb_arm *a,
                      const cJSON *o);

/* ===================================================================== */
/* llm                                                                    */
/* ===================================================================== */

/* ===================================================================== */
/* score                                                                  */
/* ===================================================================== */

#endif
