/* score.h - the scoring layer: rewards from responses, the judge and the
 * pb-score engine.  Depends on llm.h and base.h.  What only the layer's
 * own files call (the coprocesses, the engine's parts) is in internal.h.
 *
 * Its files, each calling only those below it (and base, llm):
 *   engine.c        pb-score's engine, the pb_blend_* API
 *   engine_prog.c   its jq and --cmd components      (coproc.c, judge.c)
 *   engine_judge.c  its judge component               (judge.c, query.c)
 *   engine_blend.c  its final blend of the rewards    (score.c)
 *   engine_queue.c  its window of records, outcomes settled
 *   coproc.c        a child answering line for line
 *   judge.c         rewards from programs' values and judges' verdicts
 *   score.c         the built-in scorers' reward rules
 *   extract_number.c, extract.c   the answers read out of a response
 *
 * Conventions as in pb.h. */
#ifndef PB_SCORE_H
#define PB_SCORE_H

#include "base.h"
#include "llm.h"

/* ===================================================================== */
/* score.c: the built-in scorers' rewards from responses (pb-score)      */
/* ===================================================================== */

/* A built-in scorer is a kind plus its options, set up once and then
 * applied to every record.  The scorers that run a program (jq, --cmd)
 * or ask a judge model, and the blend of several, are the engine's
 * (engine.c below); a blend reuses pb_score_text for each built-in
 * part. */
enum pb_scorer_kind {
	PB_SCORER_NUMBER,   /* final number of the response (GSM8K) */
	PB_SCORER_BOOL,     /* true/false, yes/no, correct/incorrect */
	PB_SCORER_EXACT,    /* normalised text equality */
	PB_SCORER_CONTAINS, /* normalised reference occurs in the response */
	PB_SCORER_REGEX,    /* text captured by a regex, compared like exact */
	PB_SCORER_CHOICE,   /* multiple-choice letter A-E */
	PB_SCORER_LENGTH    /* concision: 1 up to max_words, falling to 0 at
	                     * twice that (the engine has the other kinds) */
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

/* ===================================================================== */
/* extract_number.c, extract.c: answers read out of a response           */
/* ===================================================================== */

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
 * correct / false, no, incorrect; any case) or from "answer is X".
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
/* engine.c: the scoring engine of pb-score                              */
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
