/* base.h - the base layer: records, JSON, utilities, random numbers, statistics,
 * hashing and templates.  Depends on nothing but libc and cJSON.
 *
 * Conventions as in pb.h. */
#ifndef PB_BASE_H
#define PB_BASE_H

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
	PB_EXIT_DONE = 3,    /* pb-sample: the policy says stop */
	PB_EXIT_GATE = 4     /* pb-report: --require was not met */
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
/* canon.c: canonical JSON text                                           */
/* ===================================================================== */

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

/* The same text handed to fn piece by piece (arg passed on), so it can be
 * hashed or counted without being held: pb_cache_key streams a body into
 * SHA-256.  Never allocates. */
typedef void pb_json_emit_fn(const void *p, size_t n, void *arg);
void pb_json_canonical_emit(const cJSON *v, pb_json_emit_fn *fn, void *arg);

/* ===================================================================== */
/* util.c: clocks, a growing string, formatted allocation, a hash index   */
/* ===================================================================== */

double pb_now(void); /* wall clock, seconds since the epoch */
double pb_clock(void); /* monotonic clock, seconds: for intervals */

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

/* An index from 64-bit hashes to positions (size_t), open addressing;
 * start it as { 0 }.  Equal hashes may repeat: the caller compares its
 * keys.  pb_index_put returns 0, or -1 out of memory (x unchanged). */
struct pb_index {
	uint64_t *hash;
	size_t *val; /* value + 1; 0: a free slot */
	size_t cap, n;
};

int pb_index_put(struct pb_index *x, uint64_t hash, size_t v);

/* The positions stored under hash, one per call: start with *pos = 0;
 * returns 1 with *v set, or 0 when there are no more. */
int pb_index_next(const struct pb_index *x, uint64_t hash, size_t *pos,
                  size_t *v);
void pb_index_clear(struct pb_index *x);

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
/* scored.c: one scored record (a pull with its reward) read              */
/* ===================================================================== */

/* The largest pull id: JSON numbers are read as doubles, which hold every
 * integer only up to 2^53 (about 9.007e15). */
#define PB_PULL_MAX 9e15

/* What pb_scored_read asks of a record, and how it words a failure. */
enum {
	PB_SCORED_PULL    = 1 << 0, /* a pb-sample pull: a "pull" id in
	                             * [1, PB_PULL_MAX] and a "run", checked
	                             * before the "arm" every record needs */
	PB_SCORED_TASK    = 1 << 1, /* a "task" */
	PB_SCORED_CONTEXT = 1 << 2, /* a "context", if any, must be a string
	                             * (else one that is not is ignored) */
	PB_SCORED_REWARD  = 1 << 3, /* a "reward" in [0,1] or null (else the
	                             * reward is not read: NAN) */
	PB_SCORED_TERSE   = 1 << 4  /* pb-report's wording, kept as it was:
	                             * 'no "arm"' without the pb-sample hint,
	                             * and one message for any bad reward */
};

/* A scored record as read.  The strings and task point into the record:
 * they live as long as it does. */
struct pb_scored {
	long pull;            /* the pull id; 0 unless PB_SCORED_PULL */
	const char *run;      /* NULL unless PB_SCORED_PULL */
	const char *arm;
	const cJSON *task;    /* "task", or NULL */
	const char *context;  /* "context" when a string, else NULL */
	double reward;        /* in [0,1]; NAN for null (the query failed)
	                       * or when the reward was not asked for */
	double tin, tout;     /* response.usage's prompt and completion
	                       * tokens when both are numbers >= 0, else -1 */
};

/* Reads rec into *s, checking what flags ask for in the order pull, run,
 * arm, task, context, reward.  Returns 0, or -1 with what is wrong in
 * err; s->pull is set by then when the pull id was good, for the caller
 * to name the pull in its message.  Never prints. */
int pb_scored_read(const cJSON *rec, unsigned flags, struct pb_scored *s,
                   char err[PB_ERRLEN]);

/* ===================================================================== */
/* spool.c: a temp file holding what a tool read, to read again later     */
/* ===================================================================== */

/* The tools read their whole input before they take the state's lock,
 * and keep it in a spool file (records as bytes, tasks as their lines).
 * Each call returns 0, or -1 with err saying why: strerror(errno), or
 * "short read" when the file ends early. */
FILE *pb_spool_new(char err[PB_ERRLEN]); /* NULL on failure */
int pb_spool_write(FILE *sp, const void *p, size_t len, char err[PB_ERRLEN]);
/* Writes len bytes of text and a newline; *off receives where they start. */
int pb_spool_line(FILE *sp, const char *text, size_t len, long *off,
                  char err[PB_ERRLEN]);
int pb_spool_read(FILE *sp, void *p, size_t len, char err[PB_ERRLEN]);
/* Reads len bytes at offset off. */
int pb_spool_read_at(FILE *sp, long off, void *p, size_t len,
                     char err[PB_ERRLEN]);
/* Flushes what the buffer holds back (a full disk shows only now). */
int pb_spool_flush(FILE *sp, char err[PB_ERRLEN]);
/* Back to the start, for reading. */
int pb_spool_rewind(FILE *sp, char err[PB_ERRLEN]);

#endif
