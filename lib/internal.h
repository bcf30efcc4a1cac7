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
/* bandit: pool.c's parts, for state.c                                    */
/* ===================================================================== */

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
/* llm                                                                    */
/* ===================================================================== */

/* ===================================================================== */
/* score                                                                  */
/* ===================================================================== */

#endif
