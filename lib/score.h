/* score.h - pb.h fragment for lib/score.c, to be merged into lib/pb.h.
 * Include after pb.h. */
#ifndef PB_SCORE_H
#define PB_SCORE_H

#include <regex.h>

/* ===================================================================== */
/* score.c: rewards from responses (pb-score)                            */
/* ===================================================================== */

/* A scorer is a kind plus its options, set up once and then applied to
 * every record.  New kinds (a jq filter, an external program, an LLM
 * judge) add an enum value, their options below, and a case in the
 * dispatcher; a weighted blend would hold an array of pb_scorer and
 * weights, reusing pb_score_text for each part. */
enum pb_scorer_kind {
	PB_SCORER_NUMBER,   /* final number of the response (GSM8K) */
	PB_SCORER_BOOL,     /* true/false, yes/no, correct/incorrect */
	PB_SCORER_EXACT,    /* normalised text equality */
	PB_SCORER_CONTAINS, /* normalised reference occurs in the response */
	PB_SCORER_REGEX,    /* text captured by a regex, compared like exact */
	PB_SCORER_CHOICE    /* multiple-choice letter A-E */
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
	regex_t re;            /* regex: compiled once by pb_scorer_regex */
	int has_re;
};

enum pb_score_status {
	PB_SCORE_OK,       /* extracted answer matches: reward 1 */
	PB_SCORE_WRONG,    /* extracted answer differs: reward 0 */
	PB_SCORE_NOANSWER, /* nothing could be extracted: reward 0 */
	PB_SCORE_UNSCORED  /* not scorable: reward null */
};

/* The outcome of scoring one text.  extracted and reference are malloc'd
 * (free with pb_score_result_free); either may be NULL. */
struct pb_score_result {
	enum pb_score_status status;
	char *extracted; /* the answer as the scorer read it; NULL if none */
	char *reference; /* the reference as the scorer read it */
};

/* Sets sc to the named kind ("number", "bool", "exact", "contains",
 * "regex", "choice") with default options.  Fails on an unknown name. */
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
 * ref is unusable for this scorer (res then holds only what was read).
 * Pure apart from allocation; safe to call from several threads. */
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

#endif
