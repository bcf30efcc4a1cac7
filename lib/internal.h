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
/* chain tasks, history, bai <- state <- merge, policy <- bandit <-       */
/* statejson <- statefile                                                 */
/* ===================================================================== */

/* --- tasks.c */

/* Rebuilds t's hash index after its order was shuffled; -1 out of memory. */
int pb__tasks_reindex(struct pb_tasks *t);

/* --- state.c: the pair triangle, groups and batches as data */

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
/* Adds b's rewards, errors and tokens into a (merging). */
void pb_arm_add(struct pb_arm *a, const struct pb_arm *b);

/* --- history.c: handed the numbers it keeps */

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

/* --- bandit.c, for statejson.c and tests */

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
