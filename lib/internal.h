/* internal.h - what only lib/ calls: the wiring between a layer's files,
 * kept out of the headers cmd/ sees (as mblaze keeps blaze822_priv.h
 * beside blaze822.h).  A file of lib/ includes it after its own layer's
 * header, and sees the sections of that layer and the layers below it
 * (each section is compiled only when its layer's header came first);
 * cmd/ never includes it. */
#ifndef PB_INTERNAL_H
#define PB_INTERNAL_H

#include "base.h"

/* ===================================================================== */
/* base                                                                   */
/* ===================================================================== */

#ifdef PB_BANDIT_H
/* ===================================================================== */
/* bandit: the wiring between the layer's files, in the order of the     */
/* chain tasks, history, bai <- state <- batch, merge, policy <- bandit,  */
/* verdict <- statejson <- stateprint, stateread <- statefile            */
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


/* Adds the rewards of arms i and j on one task to *pp (allocated on
 * first use, the pair stored on first use), oriented as pb_state_pair
 * says.  -1 out of memory. */
int pb__pair_add(struct pb_pairs **pp, size_t narms, int i, int j, double ri,
                 double rj);
/* Pair (i, j), i < j < narms, of pp: found, or with create a new zero one
 * stored (NULL out of memory); without, NULL when not stored. */
struct pb_pair *pb__pair_get(struct pb_pairs **pp, size_t narms, int i, int j,
                             int create);
/* The checks and the fill both readers of a state's pairs share
 * (statejson.c). */
int pb__pair_counts_bad(double n, double w, double l, const double fr[4]);
void pb__pair_set(struct pb_pair *p, double n, double sum, double sumsq,
                  double w, double l, const double fr[4]);
void pb__pairs_free(struct pb_pairs *pp);
/* Adds arms armix.n .. narms - 1 to st's id index; -1 out of memory
 * (the index is dropped: lookups fall back to a linear scan). */
int pb__arms_index(struct pb_state *st);
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
/* Whether a point is due at this count in a state of narms arms (h
 * NULL: yes, at a multiple of pb_history_min_stride); a full buffer is
 * halved on the way. */
int pb_history_due(struct pb_history *h, long updates, size_t narms);

/* --- policy-common.c, policy-*.c, policy.c: the policies */

/* A policy's operations.  Only name and choose and probs are required;
 * a NULL operation does what the comment says. */
struct pb_pairing; /* below, with pb_policy_pair */
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
	/* one task's rewards of two arms went into the pair statistics;
	 * NULL: nothing */
	int (*pair)(struct pb_state *st, const struct pb_pairing *t);
	/* whether to stop, *best the recommended arm; NULL: never, *best the
	 * GLR leader */
	int (*done)(const struct pb_state *st, char why[PB_ERRLEN], int *best);
	/* in[i]: arm i is in contention (stopping rules at delta); NULL:
	 * every arm.  -1 out of memory */
	int (*contention)(const struct pb_state *st, double delta, unsigned char *in);
	/* the arms of one task when they are not k selections (race: its
	 * survivors); returns how many went into out; NULL */
	size_t (*group)(struct pb_state *st, size_t k, int *out);
	/* the verdict at delta: done, *best, open[i] (not yet separated);
	 * NULL: pb_glr_stop */
	int (*verdict)(const struct pb_state *st, double delta, int *best,
	               unsigned char *open, char why[PB_ERRLEN]);
	/* other's per-arm numbers folded into st's (pb-update --merge, after
	 * the arms' rewards were added), map[i] st's index of other's arm i;
	 * NULL: st's numbers stay.  -1 out of memory */
	int (*merge)(struct pb_state *st, const struct pb_state *other,
	             const int *map);
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

/* Tells the policy that one task's rewards of arms a and b went into
 * their paired statistics (bandit.c calls it when a group's rewards come
 * back, once per pair of members, when the later of the two is back).
 * sa, sb are the members' places in the group: the order in which
 * pb_state_choose chose them when the task was handed out (with R
 * repeats, the member's slot / R), so a policy may fix a member's
 * opponent before any reward of the task is known.  Returns -1 only if
 * out of memory. */
struct pb_pairing {
	int a, b;        /* the arms */
	double ra, rb;   /* their rewards on the task (per-task means) */
	long sa, sb;     /* their places in the task's group */
};
int pb_policy_pair(struct pb_state *st, const struct pb_pairing *t);

/* For statefile.c: -1 with err (one line, naming path) when the state
 * object keeps its arms' policy_state in an older layout of its policy
 * (race before the leader rule: one number per arm), else 0. */
int pb_policy_layout_check(const struct pb_policy *p, const cJSON *state,
                           const char *path, char err[PB_ERRLEN]);

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

/* policy.c, for merge.c: other's policy numbers folded into st's, in the
 * totals and in each context (ops->merge), after the rewards, pool and
 * contexts were merged.  -1 out of memory. */
int pb_policy_merge(struct pb_state *st, const struct pb_state *other);
/* policy.c, for verdict.c: the name of the policy's stopping rule as the
 * verdict gives it ("glr", "box", "paired", "budget", and for lucb and
 * top-two with k >= 2 "paired or box", "paired or glr"). */
const char *pb__policy_rule(const struct pb_policy *p);

/* --- merge.c */

/* Adds other's pairs and contexts into st (arms matched by id). */
int pb_pool_merge(struct pb_state *st, const struct pb_state *other,
                  char err[PB_ERRLEN]);

/* --- statejson.c, for statefile.c */

/* Serialisation of the state's parts: pairs as a list of the pairs with
 * tasks, groups, contexts.  The loaders return 0 or -1 with err naming
 * what is malformed; the JSON may lack the part. */
cJSON *pb_pairs_json(const struct pb_state *st, const struct pb_pairs *pair);
int pb_pairs_load(struct pb_state *st, struct pb_pairs **pair, const cJSON *arr,
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

/* --- stateprint.c, stateread.c (issue 15, scale): the state file's
 * text without a cJSON tree of it */

/* The slots of pair's pairs in file order (pb_pairs_json's): malloc'd,
 * pair->n of them, or NULL when there are none or out of memory. */
size_t *pb__pairs_order(const struct pb_pairs *pair);
/* The text of pb_state_to_json(st), compact, numbers as pb_fmt_num
 * writes them: malloc'd and NUL-terminated, *len bytes; NULL out of
 * memory. */
char *pb__state_print(const struct pb_state *st, size_t *len);
/* The same text and a newline written to fd as it is made, a megabyte
 * at a time: 0, -1 out of memory, or -2 a write failed (errno set). */
int pb__state_write(const struct pb_state *st, int fd);
/* Reads the big parts of the state file text buf (len bytes, NUL after
 * them) into the empty st when they are well formed as the reader knows
 * them: arms (and the policy's kind), pending batches, pairs, tasks,
 * history; *rest receives the
 * other members as a cJSON object for the loader (statefile.c) to read
 * as it reads a whole file.  0, or -1 with st freed and zeroed for the
 * cJSON loader to read and judge the file instead (so every message
 * about a bad state is the cJSON loader's).  A state with contexts is
 * always left to the cJSON loader. */
int pb__state_read(struct pb_state *st, const char *buf, size_t len,
                   cJSON **rest);
/* history.c, for stateread.c: a new empty history at stride (n = 0;
 * set n before adding series), a series added to it with NAN at its n
 * points (NULL out of memory), and the history made ready once read. */
struct pb_history *pb__history_new(long stride);
struct pb_hist_series *pb__history_series_add(struct pb_history *h,
                                              const char *id);
void pb__history_done(struct pb_history *h);
/* tasks.c, for stateread.c: room for n tasks in t, and an index of that
 * size, made at once; -1 out of memory. */
int pb__tasks_reserve(struct pb_tasks *t, size_t n);
/* pb_tasks_addn unless t holds id already: 0 added, 1 held, -1 out of
 * memory; one walk of the index for both. */
int pb__tasks_add_new(struct pb_tasks *t, const char *id, size_t len,
                      uint64_t dig);
/* statepart.c, for stateread.c: the history and the pending list at r
 * (struct pb__scan: statescan.h) into st; 0, or -1 for the cJSON loader. */
struct pb__scan;
int pb__read_history(struct pb__scan *r, struct pb_state *st);
int pb__read_pending(struct pb__scan *r, struct pb_state *st, const cJSON *rest);
/* Nonzero: pb_state_load skips pb__state_read (for tests comparing the
 * two readers). */
extern int pb__state_slow;

#endif /* PB_BANDIT_H */

#ifdef PB_LLM_H
/* ===================================================================== */
/* llm                                                                    */
/* ===================================================================== */

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

#endif /* PB_LLM_H */

#ifdef PB_SCORE_H
/* ===================================================================== */
/* score                                                                  */
/* ===================================================================== */

/* ---- extract.c, extract_number.c, score.c: bytes as the extractors read
 * them.  ASCII only, whatever the locale (so not <ctype.h>), and inline:
 * they run at every byte of a response. */

static inline int
pb__isdig(int c)
{
	return c >= '0' && c <= '9';
}

static inline int
pb__isalpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static inline int
pb__isalnum(int c)
{
	return pb__isdig(c) || pb__isalpha(c);
}

static inline int
pb__lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static inline int
pb__isspace(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
	       c == '\v';
}

/* Does s start with word w (ASCII, lower case; s in any case), not
 * followed by a letter or digit?  Returns the length matched, or 0. */
static inline size_t
pb__word_at(const char *s, const char *w)
{
	size_t i;

	for (i = 0; w[i]; i++)
		if (pb__lower((unsigned char)s[i]) != w[i])
			return 0;
	return pb__isalnum((unsigned char)s[i]) ? 0 : i;
}

#define PB_NUMTXT 96 /* longest number text kept; longer digit runs skipped */
#define PB_NINTRO 64 /* the answer introductions kept, the last ones */

/* extract.c: the places answers are introduced ("answer is", "answer:",
 * "final answer"), in order (never decreasing), the last PB_NINTRO of
 * them, into found.  Returns how many. */
size_t pb__answer_intros(const char *text, const char *found[PB_NINTRO]);

/* extract.c: calls try(text, at, arg) for each place an answer is
 * introduced, last first, until try returns non-zero.  Returns that value
 * or 0. */
int pb__each_answer_intro(const char *text,
                          int (*try)(const char *, const char *, void *),
                          void *arg);

/* extract_number.c: is s (after trimming) nothing but a number, with
 * perhaps a currency sign before and a '%' after?  1 with *v set, or 0.
 * For the regex scorer's numeric comparison of captures. */
int pb__whole_number(const char *s, double *v);

/* score.c: the reason given for a record whose query failed, from its
 * "error" (a string, or an object's message, else its kind): "query
 * failed: ...", or "query failed" alone.  Malloc'd; NULL out of memory.
 * (The engine gives the same reason as pb_score_record.) */
char *pb_score_query_failed(const cJSON *error);

/* ---- coproc.c: a long-lived child that answers one line per line (for
 * the engine's program components) */

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

/* ---- pb-score's engine in parts: engine.c (the API of score.h), and
 * below it engine_queue.c, engine_prog.c, engine_judge.c, engine_blend.c.
 * A component's outcome for a record, the record's slot in the window,
 * a program component's coprocess, and the engine itself. */

/* One component's outcome for one record. */
struct pb__res {
	int done;
	enum pb_score_status status;
	double reward;
	char *extracted, *reference, *reason;
	cJSON *judge; /* {"model","reply"} */
};

struct pb__slot {
	cJSON *rec;
	const char *file;
	long line;
	long seq;
	int pending;       /* components not in yet */
	int direct;        /* scored by pb_score_record: rec is complete */
	char *failed;      /* the query's failure ("query failed: ..."), or NULL */
	struct pb__res *r; /* ncomp */
};

/* A coprocess and the records it owes answers for, oldest first. */
struct pb__co {
	struct pb_coproc p;
	int comp;          /* its component, -1 if none */
	const char *label; /* "jq" or the program's name */
	long *owed;        /* ring of window seqs */
	size_t head, n;
	int on, dead, reaped;
	char why[PB_ERRLEN]; /* why it died */
	char *const *argv; /* to start it again after a timeout */
	double since;      /* when the first answer owed began to be awaited */
	int strikes;       /* timeouts in a row */
};

struct pb_blend {
	struct pb_blend_opts o;
	struct pb__slot *ring;
	size_t cap, head, n;
	long next_seq;             /* seq of the next record (from 1) */
	struct pb__co jq, cmd;
	struct pb_query *judge;
	int judge_comp;
	int finished;
	int full;                  /* the window filled up and has not yet
	                            * drained to half */
	int broken;
	char broke[PB_ERRLEN];
	struct pb_blend_counts cnt;
};

/* engine_queue.c: a system error: the engine stops, and says why (the
 * first failure's message) from now on in err.  Returns -1. */
int pb__blend_fail(struct pb_blend *b, char err[PB_ERRLEN], const char *fmt,
                   ...) __attribute__((format(printf, 3, 4)));
/* engine_queue.c: a record's trouble, to the warn callback (if any). */
void pb__blend_warn(struct pb_blend *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* engine_queue.c: the slot of record seq, or NULL if it is not held. */
struct pb__slot *pb__blend_slot(struct pb_blend *b, long seq);
/* engine_queue.c: frees an outcome's strings and JSON, and zeroes it. */
void pb__blend_res_clear(struct pb__res *r);
/* engine_queue.c: settles component c of slot s as unscored for why
 * (copied), with a warning unless quiet; or as graded, reward x read as
 * raw (may be NULL). */
void pb__blend_unscored(struct pb_blend *b, struct pb__slot *s, int c,
                        const char *why, int quiet);
void pb__blend_graded(struct pb__slot *s, int c, double x, const char *raw);
/* engine_queue.c: the reference as text, for a component that does not
 * read it itself (malloc'd; NULL if none). */
char *pb__blend_ref_text(const struct pb_blend *b, const cJSON *rec);

/* engine_prog.c: starts the jq program (the user's expression in the
 * wrapper that numbers its answers, and checks that it compiles) or the
 * external program as component comp.  0, or -1 with err set. */
int pb__prog_start_jq(struct pb_blend *b, int comp, char err[PB_ERRLEN]);
int pb__prog_start_cmd(struct pb_blend *b, int comp, char err[PB_ERRLEN]);
/* engine_prog.c: sends the record of s (text as read, len bytes, or NULL
 * to print it) to c, framed for jq ([SEQ,REC]) or a program (the record
 * alone); c then owes its answer.  -1 only if out of memory. */
int pb__prog_send(struct pb_blend *b, struct pb__co *c, struct pb__slot *s,
                  const char *text, size_t len, int jq);
/* engine_prog.c: takes every complete answer from c, and notices its end. */
void pb__prog_drain(struct pb_blend *b, struct pb__co *c, int jq);
/* engine_prog.c: c's first answer owed is overdue (--cmd-timeout): its
 * record unscored, the program started again. */
void pb__prog_timeout(struct pb_blend *b, struct pb__co *c);
/* engine_prog.c: milliseconds until c's first answer owed is overdue (0:
 * it is), -1 when nothing is owed or there is no limit; and whether c
 * has anything left to do (finished: no more records will come). */
int pb__prog_left_ms(const struct pb_blend *b, const struct pb__co *c,
                     double now);
int pb__prog_busy(const struct pb__co *c, int finished);

/* engine_judge.c: starts the judge's pb_query engine as component comp;
 * sends the judge's prompt for the record of s (text: the response, NULL
 * if none, which settles the component as unscored).  0, or -1 with err
 * set (the engine then stops). */
int pb__judge_start(struct pb_blend *b, int comp, char err[PB_ERRLEN]);
int pb__judge_send(struct pb_blend *b, struct pb__slot *s, const char *text,
                   char err[PB_ERRLEN]);

/* engine_blend.c: adds "reward" and "score" to a slot whose components
 * are all in, and counts its status.  -1 only if out of memory. */
int pb__blend_finalize(struct pb_blend *b, struct pb__slot *s);

#endif /* PB_SCORE_H */

#endif
