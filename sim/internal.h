/* internal.h - what the files of sim/ share and nothing else sees: the
 * salts of the hashes, the private tables, small helpers, and the wiring
 * between the server's files (as lib/internal.h is for lib/).  sim.h is
 * what pb-sim.c and the tests call. */
#ifndef PB_SIM_INTERNAL_H
#define PB_SIM_INTERNAL_H

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

/* Salts keep the hashes drawn for different purposes independent. */
#define SALT_INDEX 0x5a17c0de00000001ULL
#define SALT_SKILL 0x5a17c0de00000002ULL
#define SALT_STYLE 0x5a17c0de00000003ULL
#define SALT_DRAW  0x5a17c0de00000004ULL
#define SALT_WRONG 0x5a17c0de00000005ULL
#define SALT_STEPS 0x5a17c0de00000006ULL
#define SALT_FAULT 0x5a17c0de00000007ULL
#define SALT_ID    0x5a17c0de00000008ULL
#define SALT_JITTER 0x5a17c0de00000009ULL
#define SALT_REQID 0x5a17c0de0000000aULL

/* An open-addressing table from a 64-bit hash to an index (stored + 1, so
 * 0 marks a free slot).  Equal hashes may repeat; callers compare. */
struct tab {
	uint64_t *h;
	size_t *v;
	size_t cap, n; /* cap is a power of two, or 0 */
};

/* The request counter: identical requests (same key) are numbered. */
struct seen {
	uint64_t *k; /* 0 marks a free slot; a real key 0 is stored as 1 */
	unsigned long *n;
	size_t cap, used;
};

/* What GET /pb-sim/stats reports. */
struct counts {
	unsigned long requests, completions;
	unsigned long by_status[600];
	unsigned long faults[PB_SIM_NFAULTS + 1]; /* last: --error-rate */
};

struct pb_sim_priv {
	struct tab byinput; /* hash of a task's input -> task */
	pthread_mutex_t mu; /* guards seen and stats */
	struct seen seen;
	struct counts stats;
	double rl_start;    /* when the rate-limit window began (monotonic s) */
	long rl_used;       /* chat requests in it */
};

/* ===================================================================== */
/* helpers (every file)                                                  */
/* ===================================================================== */

static inline int
isws(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
	       c == '\v';
}

/* Trims white space from both ends of [*b, *e). */
static inline void
trim(const char *s, size_t *b, size_t *e)
{
	while (*b < *e && isws((unsigned char)s[*b]))
		(*b)++;
	while (*e > *b && isws((unsigned char)s[*e - 1]))
		(*e)--;
}

static inline char *
dupn(const char *s, size_t n)
{
	char *p = malloc(n + 1);

	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

/* Hash of two words, laid out little-endian so every machine agrees. */
static inline uint64_t
mix(uint64_t a, uint64_t b, uint64_t seed)
{
	unsigned char buf[16];
	int i;

	for (i = 0; i < 8; i++) {
		buf[i] = (unsigned char)(a >> (8 * i));
		buf[8 + i] = (unsigned char)(b >> (8 * i));
	}
	return pb_hash(buf, sizeof buf, seed);
}

static inline double
unit(uint64_t h)
{
	return (double)(h >> 11) * 0x1.0p-53;
}

/* A number the way a person writes it: integers without a point. */
static inline void
fmtnum(char *buf, size_t n, double v)
{
	if (v == 0)
		v = 0; /* no "-0" */
	if (v == floor(v) && fabs(v) < 1e18)
		snprintf(buf, n, "%.0f", v);
	else
		snprintf(buf, n, "%.10g", v);
}

/* ===================================================================== */
/* read.c: the simulator's own reading of answers (never pb-score's)     */
/* ===================================================================== */

/* Reads a whole number: optional sign and '$', digits with thousands
 * commas, a decimal part, an optional '%'; or a fraction "3/4".  Returns
 * 1 with *v set, 0 if s is not such a number (all of it). */
int sim_parse_number(const char *s, double *v);
/* The index of s among "false", "true", "no", "yes" (any case), or -1. */
int sim_bool_word(const char *s);
/* The letter of a choice answer ("B", "(b)", "B)", "B."), or 0. */
char sim_choice_letter(const char *s);
/* The text between <tag> and </tag> in text (the last such pair),
 * malloc'd, or NULL if there is none. */
char *sim_tagged(const char *text, const char *tag);
/* The answer proper of a reply: after the last "####", else after the
 * last "answer is" or "answer:" (any case), else all of it.  *marked
 * says whether a marker was found.  Points into r. */
const char *sim_answer_part(const char *r, int *marked);
/* The first (or, with last set, the last) number written in text.
 * Returns 1 with *v set, 0 if there is none. */
int sim_number_in(const char *text, int last, double *v);
/* text in lower case, runs of other characters one space, the articles
 * left out, trimmed; malloc'd (NULL: out of memory). */
char *sim_normalise(const char *text);

/* ===================================================================== */
/* judge.c: judge requests                                               */
/* ===================================================================== */

/* Whether a judged response gives the reference's answer: 1 right, 0
 * wrong, -1 no answer at all, -2 out of memory. */
int sim_judged_right(const char *resp, const char *refall);
/* The verdict on a judge request (<response> and <reference>).  Returns
 * 1 with a->text set, 0 if text is no judge request, -1 out of memory. */
int sim_judge_answer(const char *text, struct pb_sim_answer *a);

/* ===================================================================== */
/* api.c, stream.c, server.c: the HTTP side                              */
/* ===================================================================== */

/* The two API shapes a reply can take. */
enum api { OPENAI, ANTHROPIC };

/* One request on its way through pb_sim_handle. */
struct call {
	struct pb_sim *s;
	const struct pb_sim_request *q;
	struct pb_sim_response *r;
	enum api api;
	uint64_t key;       /* identity of the request, for the draws */
	unsigned long rep;  /* identical requests before it */
	int counted;        /* key and rep are set */
	int fault;          /* the fault injected: a pb_sim_fault,
	                     * PB_SIM_NFAULTS for --error-rate, or -1 */
	int answered;       /* a successful answer was made */
	int counting;       /* /v1/messages/count_tokens: no max_tokens */
	int azure;          /* /openai/deployments/NAME/chat/completions */
};

/* A parsed chat request of either API: what the simulation and the reply
 * need.  An Anthropic system prompt is message 0 with role "system", so
 * the same conversation asked of either API is the same request. */
struct chatreq {
	const char *model;
	size_t n;
	const char **roles;
	char **contents;
	char *text;         /* contents joined by blank lines */
	double temperature;
	long max_tokens;    /* 0: no limit */
	const char **stop;  /* into the request's JSON */
	int nstop;
	int stream;         /* "stream": true */
	int include_usage;  /* OpenAI's stream_options.include_usage */
};

/* How the reply ended. */
enum finish { END, STOPPED, LENGTH };

/* The result of a parse step: 0 ok, 1 c->r holds a 400, -1 ENOMEM. */
#define BAD(expr) ((expr) ? -1 : 1)

/* Fills r with an error in the call's API shape: type and code NULL take
 * the status's defaults (code is OpenAI's only).  Returns 0, or -1 if
 * out of memory. */
int sim_fail(struct call *c, int status, const char *type, const char *code,
             const char *param, const char *fmt, ...)
             __attribute__((format(printf, 6, 7)));

/* The model listing of either API, into r.  0, or -1 out of memory. */
int sim_anthropic_models(struct pb_sim_response *r);
int sim_models(struct pb_sim_response *r);
/* About four bytes of English per token, as the OpenAI tokenisers give. */
long sim_tokens(const char *s);
/* Parse a chat request of OpenAI's (chat) or Anthropic's (messages)
 * shape into q: 0 ok, 1 c->r holds the 400, -1 out of memory.  q's
 * strings point into req, or are its own (sim_chatreq_free). */
int sim_chat_parse(struct call *c, const cJSON *req, struct chatreq *q);
int sim_messages_parse(struct call *c, const cJSON *req, struct chatreq *q);
void sim_chatreq_free(struct chatreq *q);
/* Cuts text at the earliest stop sequence, or to max_tokens; *which
 * receives the stop sequence that cut it, if any. */
enum finish sim_limit(char *text, const struct chatreq *q, const char **which);
/* The reply object of each API (NULL: out of memory); pt is the prompt's
 * tokens. */
cJSON *sim_openai_reply(const struct call *c, const struct chatreq *q,
                        const struct pb_sim_answer *a, enum finish fin, long pt);
cJSON *sim_anthropic_reply(const struct call *c, const struct chatreq *q,
                           const struct pb_sim_answer *a, enum finish fin,
                           const char *stop, long pt);
/* stream.c: the reply object full as server-sent events, malloc'd, or
 * NULL if out of memory. */
char *sim_openai_sse(const cJSON *full, int include_usage);
char *sim_anthropic_sse(const cJSON *full);

#endif
