/* sim.h - the simulated model behind pb-sim, what pb-sim.c and the tests
 * call: a header that is an index, one section per file of sim/.  No
 * part of libpb.a: sim/ stands on the library's base layer alone (and
 * reads answers with read.c, never with pb-score's extractors).  What
 * only sim/ calls is in sim/internal.h.
 *
 * Conventions as in lib/pb.h. */
#ifndef PB_SIM_H
#define PB_SIM_H

#include "../lib/base.h"

/* ===================================================================== */
/* the simulation's data (world.c loads it, the others read it)          */
/* ===================================================================== */

/* How a task's answer is stated, and so how a wrong one is made up. */
enum pb_sim_kind {
	PB_SIM_NUMBER, /* "72", "-3.5", "1,250", "$40", "3/4" */
	PB_SIM_BOOL,   /* true/false or yes/no, any case */
	PB_SIM_CHOICE, /* one letter A-E, also "(B)", "B)" or "B." */
	PB_SIM_TEXT    /* anything else */
};

struct pb_sim_task {
	char *id;          /* the task's "id" as text; NULL if it has none */
	char *input;       /* "input", else "question", trimmed */
	size_t len;        /* strlen(input) */
	char *answer;      /* the answer proper: after the last "####", trimmed */
	enum pb_sim_kind kind;
	double value;      /* PB_SIM_NUMBER: the answer's value */
	double difficulty; /* "difficulty", default 0 */
	long line;         /* where it was read */
	cJSON *fields;     /* the whole record, for the world's "where" */
};

/* A line of the world file: prompts containing match have this skill,
 * for tasks whose fields equal those of where (NULL: any task). */
struct pb_sim_rule {
	char *match;
	cJSON *where;
	double skill;
};

struct pb_sim_priv; /* lookup tables, counters (internal.h) */

/* The faults pb-sim can put in place of an answer (pb-sim(1) has their
 * statuses, bodies and headers).  Their order is the order of the bands
 * of the one draw that picks at most one per request. */
enum pb_sim_fault {
	PB_SIM_F429, PB_SIM_F500, PB_SIM_F502, PB_SIM_F503, PB_SIM_F504,
	PB_SIM_F529, PB_SIM_FQUOTA, PB_SIM_FAUTH, PB_SIM_FINVALID,
	PB_SIM_FMALFORMED, PB_SIM_FSLOW, PB_SIM_FDROP,
	PB_SIM_NFAULTS
};

/* The simulation.  Set it up with pb_sim_init, the two loaders and the
 * fields below; after that pb_sim_answer and pb_sim_handle may be called
 * from any number of threads at once.  Fill the fields before the first
 * request and leave them alone afterwards. */
struct pb_sim {
	uint64_t seed;
	double error_rate;  /* fraction of chat requests that fail */
	int error_status;   /* HTTP status of those failures (500) */
	double fault[PB_SIM_NFAULTS]; /* rate of each fault; with error_rate
	                     * they add up to 1 at most */
	double retry_after; /* seconds sent in Retry-After and retry-after-ms
	                     * of 429 and 503 replies (1) */
	double slow_s;      /* seconds a "slow" fault holds the reply (30) */
	double latency_ms;  /* every /v1 reply is held this long ... */
	double jitter_ms;   /* ... plus an exponential draw of this mean */
	const char *api_key; /* required of every API request, or NULL */
	int echo_headers;   /* put the request's headers in x_pb_sim.headers */
	long rl_requests;   /* --rate-limit: chat requests per window, 0: none */
	double rl_window_s; /* ... the window, seconds */
	int should_retry;   /* send x-should-retry on error replies */
	struct pb_sim_task *tasks;
	size_t ntasks;
	struct pb_sim_rule *world;
	size_t nworld;
	struct pb_sim_priv *priv;
};

/* ===================================================================== */
/* world.c: the tasks, the world file, recognising a task, skill         */
/* ===================================================================== */

/* Sets s up empty with the given seed.  Returns -1 only if out of memory. */
int pb_sim_init(struct pb_sim *s, uint64_t seed, char err[PB_ERRLEN]);
void pb_sim_free(struct pb_sim *s);

/* Adds the tasks of a JSON-lines file (see pb-sim(1) for the fields).
 * Fails on the first bad line, naming it "name:line: ...", on a duplicate
 * id, and on a file without tasks.  Of tasks with the same input text
 * the first is the one recognised. */
int pb_sim_load_tasks(struct pb_sim *s, FILE *fp, const char *name,
                      char err[PB_ERRLEN]);

/* Adds the rules of a world file: JSON lines {"match":TEXT,"skill":X},
 * optionally with "where":{FIELD:VALUE,...} (VALUE a scalar, or an array
 * of the values allowed) so the rule holds only for tasks whose fields
 * are those.  An empty match applies to every prompt (put it last, as a
 * default). */
int pb_sim_load_world(struct pb_sim *s, FILE *fp, const char *name,
                      char err[PB_ERRLEN]);

/* Which task text (the message contents joined by blank lines) asks:
 * the longest task input that makes up whole paragraphs of text, else the
 * longest that occurs in it anywhere.  Returns an index into s->tasks, or
 * -1.  *at, if not NULL, receives the offset of the input in text. */
long pb_sim_match(const struct pb_sim *s, const char *text, size_t *at);

/* The skill of a prompt: the first world rule whose match occurs in
 * text; else 0 when nothing but the task is left (rest empty), else a
 * value in [-1.5,1.5] drawn from a hash of rest and the seed.  rest is
 * text without the task input, trimmed. */
double pb_sim_skill(const struct pb_sim *s, const char *text,
                    const char *rest);
/* The same for a prompt that asks task (an index into s->tasks, or -1
 * when none), so that rules with a "where" can apply. */
double pb_sim_skill_task(const struct pb_sim *s, long task, const char *text,
                         const char *rest);

/* ===================================================================== */
/* answer.c: the reply to a prompt; a request's identity and count       */
/* ===================================================================== */

/* The outcome of one simulated request. */
struct pb_sim_answer {
	long task;    /* index into s->tasks, or -1 if not recognised */
	double skill; /* see pb_sim_skill */
	double p;     /* chance of a right answer: 1/(1+exp(difficulty-skill)) */
	double u;     /* the uniform draw: right when u < p */
	int correct;
	int style;    /* which of the phrasings was used */
	char *given;  /* the answer stated ("63", "B", "False"), malloc'd;
	               * NULL when the task was not recognised */
	char *text;   /* the whole reply, malloc'd */
};

/* Answers the prompt text (message contents joined by blank lines).  key
 * identifies the request (pb_sim_request_key); repeat is how many
 * identical requests came before, which only counts when temperature > 0.
 * Depends on nothing else, so it is reproducible.  Returns -1 only if out
 * of memory.  Free a with pb_sim_answer_free. */
int pb_sim_answer(const struct pb_sim *s, const char *text, uint64_t key,
                  double temperature, unsigned long repeat,
                  struct pb_sim_answer *a);
void pb_sim_answer_free(struct pb_sim_answer *a);

/* The identity of a chat request: a hash of each message's role and
 * content and of the temperature (not the model, not max_tokens). */
uint64_t pb_sim_request_key(const char *const *roles,
                            const char *const *contents, size_t n,
                            double temperature);

/* Returns how many times key was counted before, and counts it once
 * more.  Thread-safe. */
unsigned long pb_sim_count(struct pb_sim *s, uint64_t key);

/* ===================================================================== */
/* server.c (with api.c, stream.c): HTTP requests, faults, statistics    */
/* ===================================================================== */

/* The fault kind's name ("429", "quota", "drop"), and back (-1: none). */
const char *pb_sim_fault_name(enum pb_sim_fault f);
int pb_sim_fault_kind(const char *name);

/* Reads "KIND:RATE[,KIND:RATE...]" into s->fault (a kind named again
 * gets the new rate).  Fails with err set on an unknown kind, a rate
 * not in [0,1], or when the rates and s->error_rate add up to more
 * than 1; s->fault is unchanged then. */
int pb_sim_parse_faults(struct pb_sim *s, const char *spec,
                        char err[PB_ERRLEN]);

/* One HTTP request as the server received it. */
struct pb_sim_request {
	const char *method, *path;
	const char *body;     /* need not be NUL-terminated */
	size_t len;
	int too_big;          /* the body was over the server's limit (413) */
	/* the headers that matter, NULL when absent */
	const char *authorization, *x_api_key, *anthropic_version;
	const char *api_key;      /* Azure's api-key header */
	const char *api_version;  /* the api-version query parameter */
	const char *const *headers; /* all of them, name and value in turn,
	                          * NULL-terminated (for echo_headers), or NULL */
};

/* An HTTP reply, for the server to send as it is. */
struct pb_sim_response {
	int status;        /* HTTP status */
	char *body;        /* JSON text (or, for "malformed", not), malloc'd */
	const char *allow; /* value of an Allow header (405), or NULL */
	int has_retry_after; /* send Retry-After (whole seconds, rounded up)
	                    * and retry-after-ms with ... */
	double retry_after; /* ... this many seconds */
	int should_retry;  /* x-should-retry: 1 true, 0 false, -1 not sent */
	double delay_ms;   /* hold the reply back this long first */
	int drop;          /* after the delay, close without any reply */
	const char *content_type; /* NULL: application/json */
	char *headers;     /* more header lines "Name: value\n", malloc'd, or
	                    * NULL (the rate-limit headers) */
	char request_id[40]; /* x-request-id of every API reply, or "" */
};

/* Serves one HTTP request: POST /v1/chat/completions, POST /v1/messages
 * and /v1/messages/count_tokens (Anthropic), POST
 * /openai/deployments/NAME/chat/completions?api-version=V (Azure), GET
 * /v1/models (in Anthropic's shape when asked with anthropic-version),
 * GET /pb-sim/stats, POST /pb-sim/reset; a chat request with "stream":
 * true gets server-sent events in its API's format; errors in the API's
 * shape otherwise; counts it in the statistics.
 * Thread-safe.  Returns 0, or -1 if out of memory (r->body NULL then,
 * and r->status 500). */
int pb_sim_handle(struct pb_sim *s, const struct pb_sim_request *q,
                  struct pb_sim_response *r);

/* The statistics as JSON {"requests","completions","by_status":{},
 * "faults":{}}, malloc'd; with reset, zeroed in the same breath (the
 * repeat counts stay).  NULL only if out of memory. */
char *pb_sim_stats(struct pb_sim *s, int reset);

/* Writes pb_sim_stats to path atomically (temp file, fsync, rename). */
int pb_sim_save_stats(struct pb_sim *s, const char *path,
                      char err[PB_ERRLEN]);

#endif
