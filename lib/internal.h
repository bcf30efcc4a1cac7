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

#include "llm.h"

/* endpoint.c: header lines and the key, for client.c's set-up */

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

/* The variable the API key is read from by default: OPENAI_API_KEY,
 * ANTHROPIC_API_KEY or AZURE_OPENAI_API_KEY. */
const char *pb_llm_key_env(enum pb_llm_api api);

/* client.c: struct pb_llm_conn (llm.h), filled in by pb_client_option
 * and pb_client_setup */

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

/* cache.c: the cache a client opens */

/* The cache a tool uses: dir if not NULL, else the default folder.  A
 * named dir that cannot be opened is an error: -1 with msg set.  Without
 * a usable default folder the run goes on uncached: 0 with *c NULL and a
 * warning in msg ("cache: ... (going on without it)").  Otherwise 0 with
 * *c open and msg "". */
int pb_cache_choose(const char *dir, struct pb_cache **c, char msg[PB_ERRLEN]);

/* redact.c: query.c's redaction.  pb_redact replaces every occurrence of
 * secret, then of each of secrets (NULL-terminated; either may be NULL),
 * in the len bytes at s by "[redacted]": returns 1 with a malloc'd copy
 * in *out (its length in *outlen if outlen), 0 when none is there, -1
 * out of memory.  pb_redact_tree does it to every string and member name
 * of the tree o and its siblings, as the text they decode to (a key
 * echoed as "sk\u002d..." is the same string): 1 if anything changed, 0
 * if not, -1 out of memory. */
int pb_redact(const char *secret, const char *const *secrets, const char *s,
              size_t len, char **out, size_t *outlen);
int pb_redact_tree(const char *secret, const char *const *secrets, cJSON *o);

/* ===================================================================== */
/* score                                                                  */
/* ===================================================================== */

#endif
