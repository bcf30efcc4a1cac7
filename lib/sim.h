/* sim.h - pb.h fragment for lib/sim.c, to be merged into lib/pb.h.
 * Include after pb.h. */
#ifndef PB_SIM_H
#define PB_SIM_H

/* ===================================================================== */
/* sim.c: the simulated model behind pb-sim (everything but the HTTP)    */
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
};

/* A line of the world file: prompts containing match have this skill. */
struct pb_sim_rule {
	char *match;
	double skill;
};

struct pb_sim_priv; /* lookup tables and the repeat counter (sim.c) */

/* The simulation.  Set it up with pb_sim_init, the two loaders and the
 * fields below; after that pb_sim_answer and pb_sim_handle may be called
 * from any number of threads at once.  Fill the fields before the first
 * request and leave them alone afterwards. */
struct pb_sim {
	uint64_t seed;
	double error_rate;  /* fraction of chat requests that fail */
	int error_status;   /* HTTP status of those failures (500) */
	struct pb_sim_task *tasks;
	size_t ntasks;
	struct pb_sim_rule *world;
	size_t nworld;
	struct pb_sim_priv *priv;
};

/* Sets s up empty with the given seed.  Returns -1 only if out of memory. */
int pb_sim_init(struct pb_sim *s, uint64_t seed, char err[PB_ERRLEN]);
void pb_sim_free(struct pb_sim *s);

/* Adds the tasks of a JSON-lines file (see pb-sim(1) for the fields).
 * Fails on the first bad line, naming it "name:line: ...", on a duplicate
 * id, and on a file without tasks.  Of tasks with the same input text
 * the first is the one recognised. */
int pb_sim_load_tasks(struct pb_sim *s, FILE *fp, const char *name,
                      char err[PB_ERRLEN]);

/* Adds the rules of a world file: JSON lines {"match":TEXT,"skill":X}.
 * An empty match applies to every prompt (put it last, as a default). */
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

/* An HTTP reply, for the server to send as it is. */
struct pb_sim_response {
	int status;        /* HTTP status */
	char *body;        /* JSON text, malloc'd */
	const char *allow; /* value of an Allow header (405), or NULL */
	int retry_after;   /* seconds for a Retry-After header, or 0 */
};

/* Serves one HTTP request: POST /v1/chat/completions, GET /v1/models,
 * errors in OpenAI's shape otherwise.  body need not be NUL-terminated.
 * Thread-safe.  Returns 0, or -1 if out of memory (r->body NULL then). */
int pb_sim_handle(struct pb_sim *s, const char *method, const char *path,
                  const char *body, size_t len, struct pb_sim_response *r);

/* An OpenAI error body {"error":{"message",...}} for status, malloc'd. */
char *pb_sim_error_json(int status, const char *message, const char *param);

#endif
