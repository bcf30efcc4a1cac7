/* sim.c - the simulated model behind pb-sim: recognising the task in a
 * prompt, the prompt's skill, whether it gets the answer right, how the
 * reply is phrased, the HTTP replies in OpenAI's and Anthropic's shapes,
 * the injected faults, the delays and the request statistics.  No
 * sockets here, so all of it is unit-tested directly.
 *
 * Every choice is a hash of the seed and the request's content (and, for
 * temperature > 0, of how many identical requests came before; for faults
 * and jitter, always), never of time or of the order in which different
 * requests arrive. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

#define NSTYLES 6
#define MAXSPAN 16 /* paragraphs a task input may span, for the fast match */
#define NOT_SURE "I am not sure what you are asking. " \
	"Could you state the question again?"

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

/* ------------------------------------------------------------ helpers */

static int
isws(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
	       c == '\v';
}

/* Trims white space from both ends of [*b, *e). */
static void
trim(const char *s, size_t *b, size_t *e)
{
	while (*b < *e && isws((unsigned char)s[*b]))
		(*b)++;
	while (*e > *b && isws((unsigned char)s[*e - 1]))
		(*e)--;
}

static char *
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
static uint64_t
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

static double
unit(uint64_t h)
{
	return (double)(h >> 11) * 0x1.0p-53;
}

/* A number the way a person writes it: integers without a point. */
static void
fmtnum(char *buf, size_t n, double v)
{
	if (v == 0)
		v = 0; /* no "-0" */
	if (v == floor(v) && fabs(v) < 1e18)
		snprintf(buf, n, "%.0f", v);
	else
		snprintf(buf, n, "%.10g", v);
}

/* -------------------------------------------------------------- tables */

static int
tab_add(struct tab *t, uint64_t h, size_t v)
{
	size_t i, mask;

	if (2 * (t->n + 1) > t->cap) {
		struct tab nt = { NULL, NULL, t->cap ? 2 * t->cap : 64, 0 };

		nt.h = calloc(nt.cap, sizeof *nt.h);
		nt.v = calloc(nt.cap, sizeof *nt.v);
		if (!nt.h || !nt.v) {
			free(nt.h);
			free(nt.v);
			return -1;
		}
		for (i = 0; i < t->cap; i++)
			if (t->v[i])
				tab_add(&nt, t->h[i], t->v[i] - 1);
		free(t->h);
		free(t->v);
		*t = nt;
	}
	mask = t->cap - 1;
	for (i = (size_t)h & mask; t->v[i]; i = (i + 1) & mask)
		;
	t->h[i] = h;
	t->v[i] = v + 1;
	t->n++;
	return 0;
}

static void
tab_free(struct tab *t)
{
	free(t->h);
	free(t->v);
	memset(t, 0, sizeof *t);
}

/* The task whose input is exactly s[0..n), or -1. */
static long
find_input(const struct pb_sim *s, const char *p, size_t n)
{
	const struct tab *t = &s->priv->byinput;
	uint64_t h;
	size_t i, mask;

	if (!t->cap)
		return -1;
	h = pb_hash(p, n, SALT_INDEX);
	mask = t->cap - 1;
	for (i = (size_t)h & mask; t->v[i]; i = (i + 1) & mask) {
		const struct pb_sim_task *k = &s->tasks[t->v[i] - 1];
		if (t->h[i] == h && k->len == n && !memcmp(k->input, p, n))
			return (long)(t->v[i] - 1);
	}
	return -1;
}

/* -------------------------------------------------------- setting up */

int
pb_sim_init(struct pb_sim *s, uint64_t seed, char err[PB_ERRLEN])
{
	memset(s, 0, sizeof *s);
	s->seed = seed;
	s->error_status = 500;
	s->retry_after = 1;
	s->slow_s = 30;
	if (!(s->priv = calloc(1, sizeof *s->priv))) {
		snprintf(err, PB_ERRLEN, "out of memory");
		return -1;
	}
	if (pthread_mutex_init(&s->priv->mu, NULL)) {
		free(s->priv);
		s->priv = NULL;
		snprintf(err, PB_ERRLEN, "cannot make a mutex");
		return -1;
	}
	return 0;
}

void
pb_sim_free(struct pb_sim *s)
{
	size_t i;

	for (i = 0; i < s->ntasks; i++) {
		free(s->tasks[i].id);
		free(s->tasks[i].input);
		free(s->tasks[i].answer);
		cJSON_Delete(s->tasks[i].fields);
	}
	free(s->tasks);
	for (i = 0; i < s->nworld; i++) {
		free(s->world[i].match);
		cJSON_Delete(s->world[i].where);
	}
	free(s->world);
	if (s->priv) {
		tab_free(&s->priv->byinput);
		free(s->priv->seen.k);
		free(s->priv->seen.n);
		pthread_mutex_destroy(&s->priv->mu);
		free(s->priv);
	}
	memset(s, 0, sizeof *s);
}

/* Reads a whole number: optional sign and '$', digits with thousands
 * commas, a decimal part, an optional '%'; or a fraction "3/4". */
static int
parse_number(const char *s, double *v)
{
	const char *p = s;
	char buf[128], *end;
	size_t n = 0;
	int neg = 0, digits = 0;

	if (*p == '-' || *p == '+')
		neg = *p++ == '-';
	if (*p == '$')
		p++;
	if (strchr(p, '/')) {
		long a, b;
		char c;
		if (sscanf(p, "%ld/%ld%c", &a, &b, &c) != 2 || b <= 0 || a < 0)
			return 0;
		*v = (neg ? -1.0 : 1.0) * (double)a / (double)b;
		return 1;
	}
	for (; *p && n + 1 < sizeof buf; p++) {
		if (*p >= '0' && *p <= '9') {
			buf[n++] = *p;
			digits++;
		} else if (*p == ',' && digits && p[1] >= '0' && p[1] <= '9') {
			continue;
		} else if (*p == '.') {
			buf[n++] = *p;
		} else {
			break;
		}
	}
	if (*p == '%')
		p++;
	buf[n] = '\0';
	if (*p || !digits)
		return 0;
	*v = strtod(buf, &end);
	if (*end || !isfinite(*v))
		return 0;
	if (neg)
		*v = -*v;
	return 1;
}

static int
bool_word(const char *s)
{
	static const char *const w[] = { "false", "true", "no", "yes" };
	int i;

	for (i = 0; i < 4; i++)
		if (!strcasecmp(s, w[i]))
			return i;
	return -1;
}

/* The letter of a choice answer ("B", "(b)", "B)", "B."), or 0. */
static char
choice_letter(const char *s)
{
	char c;

	if (*s == '(')
		s++;
	c = *s >= 'a' && *s <= 'e' ? (char)(*s - 'a' + 'A') : *s;
	if (c < 'A' || c > 'E')
		return 0;
	s++;
	if (*s == ')' || *s == '.')
		s++;
	return *s ? 0 : c;
}

/* Sets the answer proper of k from the task's "answer" value. */
static const char *
task_answer(struct pb_sim_task *k, const cJSON *ans)
{
	const char *s, *q;
	char *txt;
	size_t b = 0, e;

	if (cJSON_IsBool(ans)) {
		k->answer = strdup(cJSON_IsTrue(ans) ? "true" : "false");
	} else if (cJSON_IsNumber(ans) || cJSON_IsString(ans)) {
		if (!(txt = pb_json_text(ans)))
			return "out of memory";
		/* GSM8K: the worked solution, then "#### 72". */
		for (s = txt; (q = strstr(s, "####")); s = q + 4)
			;
		e = strlen(s);
		trim(s, &b, &e);
		k->answer = dupn(s + b, e - b);
		free(txt);
	} else {
		return "task has no \"answer\" (a string, number or boolean)";
	}
	if (!k->answer)
		return "out of memory";
	if (!*k->answer)
		return "the task's answer is empty";
	if (parse_number(k->answer, &k->value))
		k->kind = PB_SIM_NUMBER;
	else if (bool_word(k->answer) >= 0)
		k->kind = PB_SIM_BOOL;
	else if (choice_letter(k->answer))
		k->kind = PB_SIM_CHOICE;
	else
		k->kind = PB_SIM_TEXT;
	return NULL;
}

struct loadctx {
	struct pb_sim *s;
	struct tab ids; /* hash of id -> task, to refuse duplicates */
	size_t cap;
	char *err;
};

static long
find_id(const struct pb_sim *s, const struct tab *t, const char *id)
{
	uint64_t h = pb_hash(id, strlen(id), SALT_INDEX);
	size_t i, mask;

	if (!t->cap)
		return -1;
	mask = t->cap - 1;
	for (i = (size_t)h & mask; t->v[i]; i = (i + 1) & mask)
		if (t->h[i] == h && !strcmp(s->tasks[t->v[i] - 1].id, id))
			return (long)(t->v[i] - 1);
	return -1;
}

static int
load_task(cJSON *rec, const struct pb_where *at, const char *why, void *arg)
{
	struct loadctx *c = arg;
	struct pb_sim *s = c->s;
	struct pb_sim_task k = { 0 };
	const char *in, *bad = NULL;
	const cJSON *id, *d;
	size_t b = 0, e;
	long dup;

	if (!rec) {
		snprintf(c->err, PB_ERRLEN, "%s:%ld: %s", at->file, at->line, why);
		return -1;
	}
	k.line = at->line;
	if (!(in = pb_json_str(rec, "input")) && !(in = pb_json_str(rec, "question"))) {
		bad = "task has no \"input\" or \"question\" string";
		goto fail;
	}
	e = strlen(in);
	trim(in, &b, &e);
	if (b == e) {
		bad = "the task's input is empty";
		goto fail;
	}
	if (!(k.input = dupn(in + b, e - b))) {
		bad = "out of memory";
		goto fail;
	}
	k.len = e - b;
	id = cJSON_GetObjectItemCaseSensitive(rec, "id");
	if (id && !cJSON_IsString(id) && !cJSON_IsNumber(id)) {
		bad = "\"id\" is not a string or a number";
		goto fail;
	}
	if (id && !(k.id = pb_json_text(id))) {
		bad = "out of memory";
		goto fail;
	}
	if ((bad = task_answer(&k, cJSON_GetObjectItemCaseSensitive(rec, "answer"))))
		goto fail;
	d = cJSON_GetObjectItemCaseSensitive(rec, "difficulty");
	if (d && !cJSON_IsNull(d)) {
		if (!cJSON_IsNumber(d) || !isfinite(d->valuedouble)) {
			bad = "\"difficulty\" is not a number";
			goto fail;
		}
		k.difficulty = d->valuedouble;
	}
	if (k.id && (dup = find_id(s, &c->ids, k.id)) >= 0) {
		snprintf(c->err, PB_ERRLEN, "%s:%ld: duplicate task id '%s' (first on line %ld)",
		         at->file, at->line, k.id, s->tasks[dup].line);
		goto fail_msg;
	}
	if (s->ntasks == c->cap) {
		size_t ncap = c->cap ? 2 * c->cap : 64;
		struct pb_sim_task *nt = realloc(s->tasks, ncap * sizeof *nt);
		if (!nt) {
			bad = "out of memory";
			goto fail;
		}
		s->tasks = nt;
		c->cap = ncap;
	}
	/* Of equal inputs the first stays the one found. */
	if (find_input(s, k.input, k.len) < 0 &&
	    tab_add(&s->priv->byinput, pb_hash(k.input, k.len, SALT_INDEX), s->ntasks)) {
		bad = "out of memory";
		goto fail;
	}
	if (k.id && tab_add(&c->ids, pb_hash(k.id, strlen(k.id), SALT_INDEX), s->ntasks)) {
		bad = "out of memory";
		goto fail;
	}
	k.fields = rec; /* kept for the world's "where" */
	s->tasks[s->ntasks++] = k;
	return 0;
fail:
	snprintf(c->err, PB_ERRLEN, "%s:%ld: %s", at->file, at->line, bad);
fail_msg:
	free(k.id);
	free(k.input);
	free(k.answer);
	cJSON_Delete(rec);
	return -1;
}

int
pb_sim_load_tasks(struct pb_sim *s, FILE *fp, const char *name,
                  char err[PB_ERRLEN])
{
	struct loadctx c = { s, { 0 }, s->ntasks, err };
	size_t before = s->ntasks, i;
	int rv = 0;

	for (i = 0; i < s->ntasks && !rv; i++)
		if (s->tasks[i].id)
			rv = tab_add(&c.ids, pb_hash(s->tasks[i].id,
			             strlen(s->tasks[i].id), SALT_INDEX), i);
	if (rv) {
		snprintf(err, PB_ERRLEN, "out of memory");
	} else if ((rv = pb_jsonl_each(fp, name, load_task, &c, NULL, err)) != 0) {
		rv = -1;
	} else if (s->ntasks == before) {
		snprintf(err, PB_ERRLEN, "%s: no tasks", name);
		rv = -1;
	}
	tab_free(&c.ids);
	return rv;
}

struct worldctx {
	struct pb_sim *s;
	size_t cap;
	char *err;
};

static int
load_rule(cJSON *rec, const struct pb_where *at, const char *why, void *arg)
{
	struct worldctx *c = arg;
	struct pb_sim *s = c->s;
	const char *m;
	cJSON *where, *w;
	double skill;

	if (!rec) {
		snprintf(c->err, PB_ERRLEN, "%s:%ld: %s", at->file, at->line, why);
		return -1;
	}
	where = cJSON_GetObjectItemCaseSensitive(rec, "where");
	if (!(m = pb_json_str(rec, "match")))
		why = "rule has no \"match\" string";
	else if (pb_json_num(rec, "skill", &skill) || !isfinite(skill))
		why = "rule has no \"skill\" number";
	else if (where && !cJSON_IsNull(where) && !cJSON_IsObject(where))
		why = "\"where\" is not an object of task fields";
	else if (where)
		cJSON_ArrayForEach(w, where)
			if (cJSON_IsObject(w) || (cJSON_IsArray(w) && !cJSON_GetArraySize(w)))
				why = "a \"where\" value is not a value or a list of values";
	if (!why && s->nworld == c->cap) {
		size_t ncap = c->cap ? 2 * c->cap : 16;
		struct pb_sim_rule *nw = realloc(s->world, ncap * sizeof *nw);
		if (nw) {
			s->world = nw;
			c->cap = ncap;
		} else {
			why = "out of memory";
		}
	}
	if (!why && !(s->world[s->nworld].match = strdup(m)))
		why = "out of memory";
	if (why) {
		snprintf(c->err, PB_ERRLEN, "%s:%ld: %s", at->file, at->line, why);
		cJSON_Delete(rec);
		return -1;
	}
	s->world[s->nworld].where = where && cJSON_IsObject(where) ?
	        cJSON_DetachItemViaPointer(rec, where) : NULL;
	s->world[s->nworld++].skill = skill;
	cJSON_Delete(rec);
	return 0;
}

int
pb_sim_load_world(struct pb_sim *s, FILE *fp, const char *name,
                  char err[PB_ERRLEN])
{
	struct worldctx c = { s, s->nworld, err };

	return pb_jsonl_each(fp, name, load_rule, &c, NULL, err) ? -1 : 0;
}

/* ------------------------------------------------------------ matching */

long
pb_sim_match(const struct pb_sim *s, const char *text, size_t *at)
{
	size_t len = strlen(text), np = 0, cap = 0, i, j, best_at = 0;
	size_t (*par)[2] = NULL;
	size_t p, q, next;
	long best = -1, t;

	/* Paragraphs: stretches between runs of white space holding two or
	 * more newlines.  The prompt templates put a blank line between the
	 * prefix and the input and join messages by blank lines, so an input
	 * is almost always one or a few whole paragraphs. */
	for (p = 0; p < len; p = next) {
		size_t b, e, r, nl;

		next = len;
		for (q = p; q < len;) {
			if (!isws((unsigned char)text[q])) {
				q++;
				continue;
			}
			for (r = q, nl = 0; r < len && isws((unsigned char)text[r]); r++)
				nl += text[r] == '\n';
			if (nl >= 2) {
				next = r;
				break;
			}
			q = r;
		}
		b = p;
		e = q;
		trim(text, &b, &e);
		if (b == e)
			continue;
		if (np == cap) {
			size_t (*np2)[2];
			cap = cap ? 2 * cap : 16;
			if (!(np2 = realloc(par, cap * sizeof *par)))
				break; /* out of memory: the slow scan still works */
			par = np2;
		}
		par[np][0] = b;
		par[np][1] = e;
		np++;
	}
	for (i = 0; i < np; i++)
		for (j = i; j < np && j - i < MAXSPAN; j++) {
			size_t b = par[i][0], n = par[j][1] - b;
			if (best >= 0 && n <= s->tasks[best].len)
				continue;
			if ((t = find_input(s, text + b, n)) >= 0) {
				best = t;
				best_at = b;
			}
		}
	free(par);
	if (best < 0) {
		/* Inputs inside other text ("Q: ...\nA:"): a plain scan. */
		for (i = 0; i < s->ntasks; i++) {
			const char *hit;
			if (best >= 0 && s->tasks[i].len <= s->tasks[best].len)
				continue;
			if ((hit = strstr(text, s->tasks[i].input))) {
				best = (long)i;
				best_at = (size_t)(hit - text);
			}
		}
	}
	if (best >= 0 && at)
		*at = best_at;
	return best;
}

/* Whether the task's fields are those a rule's where asks for: each one
 * equal to the value given, or to one of a list of values. */
static int
where_holds(const struct pb_sim *s, long task, const cJSON *where)
{
	const cJSON *w, *f, *v;

	if (!where)
		return 1;
	if (task < 0 || !s->tasks[task].fields)
		return 0;
	cJSON_ArrayForEach(w, where) {
		int any = 0;
		f = cJSON_GetObjectItemCaseSensitive(s->tasks[task].fields, w->string);
		if (!f)
			return 0;
		if (cJSON_IsArray(w) && !cJSON_IsArray(f)) {
			cJSON_ArrayForEach(v, w)
				any |= cJSON_Compare(v, f, 1);
		} else {
			any = cJSON_Compare(w, f, 1);
		}
		if (!any)
			return 0;
	}
	return 1;
}

double
pb_sim_skill(const struct pb_sim *s, const char *text, const char *rest)
{
	return pb_sim_skill_task(s, -1, text, rest);
}

double
pb_sim_skill_task(const struct pb_sim *s, long task, const char *text,
                  const char *rest)
{
	struct pb_rng r;
	size_t i;

	for (i = 0; i < s->nworld; i++)
		if (strstr(text, s->world[i].match) &&
		    where_holds(s, task, s->world[i].where))
			return s->world[i].skill;
	if (!*rest)
		return 0;
	/* N(0,1), squeezed smoothly into (-1.5, 1.5). */
	pb_rng_seed(&r, pb_hash(rest, strlen(rest), s->seed ^ SALT_SKILL));
	return 1.5 * tanh(pb_rng_normal(&r) / 1.5);
}

/* text without [at, at+n), trimmed. */
static char *
rest_of(const char *text, size_t at, size_t n)
{
	size_t len = strlen(text), b = 0, e;
	char *r = malloc(len - n + 1);

	if (!r)
		return NULL;
	memcpy(r, text, at);
	memcpy(r + at, text + at + n, len - at - n);
	e = len - n;
	r[e] = '\0';
	trim(r, &b, &e);
	memmove(r, r + b, e - b);
	r[e - b] = '\0';
	return r;
}

/* ------------------------------------------------------------ answers */

/* A wrong number near v: off by a little, or a step doubled or halved.
 * The step is at least a thousandth of v, so no tolerance of a scorer
 * mistakes it for v. */
static double
wrong_number(double v, uint64_t h)
{
	static const double steps[] = { 1, -1, 2, -2, 3, -3, 5, 10, -10, 4 };
	int whole = v == floor(v) && fabs(v) < 1e15;
	double u, w;
	unsigned k = (unsigned)(h % 12);

	if (whole)
		u = fabs(v) >= 1000 ? pow(10, floor(log10(fabs(v))) - 2) : 1;
	else
		u = pow(10, floor(log10(fabs(v))) - 1);
	if (k == 10 && whole && v != 0)
		w = 2 * v;
	else if (k == 11 && whole && fmod(v, 2) == 0 && v != 0)
		w = v / 2;
	else
		w = v + steps[k % 10] * u;
	if (v >= 0 && w < 0)
		w = v + fabs(steps[k % 10]) * u;
	if (w == v)
		w = v + u;
	return w;
}

/* A boolean as the model states it, by bool_word's index. */
static const char *const said_bool[] = { "False", "True", "No", "Yes" };

/* A choice letter as the model states it. */
static char *
said_choice(char c)
{
	char buf[2] = { c, '\0' };

	return strdup(buf);
}

/* The answer as the model states it when right. */
static char *
right_given(const struct pb_sim_task *k)
{
	char buf[64];

	switch (k->kind) {
	case PB_SIM_NUMBER:
		if (strchr(k->answer, '/'))
			return strdup(k->answer[0] == '+' ? k->answer + 1 : k->answer);
		fmtnum(buf, sizeof buf, k->value);
		return strdup(buf);
	case PB_SIM_BOOL:
		return strdup(said_bool[bool_word(k->answer)]);
	case PB_SIM_CHOICE:
		return said_choice(choice_letter(k->answer));
	case PB_SIM_TEXT:
		break;
	}
	return strdup(k->answer);
}

static char *
wrong_given(const struct pb_sim *s, const struct pb_sim_task *k, uint64_t h)
{
	char buf[64];
	size_t i, n;

	switch (k->kind) {
	case PB_SIM_NUMBER:
		fmtnum(buf, sizeof buf, wrong_number(k->value, h));
		return strdup(buf);
	case PB_SIM_BOOL:
		return strdup(said_bool[bool_word(k->answer) ^ 1]);
	case PB_SIM_CHOICE:
		return said_choice((char)('A' + (choice_letter(k->answer) - 'A' + 1 +
		                                 (int)(h % 4)) % 5));
	case PB_SIM_TEXT:
		break;
	}
	/* Another task's answer, as a confused model would give. */
	for (i = 0, n = (size_t)(h % s->ntasks); i < 32 && i < s->ntasks; i++) {
		const struct pb_sim_task *o = &s->tasks[(n + i) % s->ntasks];
		if (o->kind == PB_SIM_TEXT && strcasecmp(o->answer, k->answer))
			return strdup(o->answer);
	}
	return strdup(strcasecmp(k->answer, "I don't know") ? "I don't know" : "No idea");
}

/* Two numbers that add up to v, shown as working in some styles. */
static void
steps_for(double v, uint64_t h, char *a, char *b, size_t n)
{
	double x;

	if (v == floor(v) && fabs(v) >= 2 && fabs(v) < 1e15)
		x = (v > 0 ? 1 : -1) * (double)(1 + h % (uint64_t)(fabs(v) - 1));
	else
		x = v / 2;
	fmtnum(a, n, x);
	fmtnum(b, n, v - x);
}

static char *
phrase(const struct pb_sim_task *k, int style, const char *g, uint64_t h)
{
	char a[64], b[64], low[8];
	size_t i;

	switch (k->kind) {
	case PB_SIM_NUMBER:
		/* The working adds up to the right answer; a wrong final
		 * number then reads as a slip in the last step. */
		steps_for(k->value, h, a, b, sizeof a);
		switch (style) {
		case 0:
			return pb_strfmt("Let me work through this step by step.\n"
			            "First, we have %s.\nThen we add %s: %s + %s = %s.\n"
			            "#### %s", a, b, a, b, g, g);
		case 1:
			return pb_strfmt("The answer is %s.", g);
		case 2:
			return pb_strfmt("Adding everything up: %s + %s = %s.\n"
			            "So, the grand total is **%s**. Now that's a result "
			            "worth celebrating!", a, b, g, g);
		case 3:
			return pb_strfmt("Step 1: start from %s.\nStep 2: add %s to get %s.\n"
			            "Thus, the final amount is **%s**.", a, b, g, g);
		case 4:
			return strdup(g);
		default:
			return pb_strfmt("Let's see. Starting from %s and adding %s gives %s.\n"
			            "Final answer: %s", a, b, g, g);
		}
	case PB_SIM_BOOL:
		for (i = 0; g[i] && i + 1 < sizeof low; i++)
			low[i] = (char)(g[i] >= 'A' && g[i] <= 'Z' ? g[i] - 'A' + 'a' : g[i]);
		low[i] = '\0';
		switch (style) {
		case 0:
			return pb_strfmt("%s.", g);
		case 1:
			return pb_strfmt("%s, because that is what a careful reading of the "
			            "statement shows.", g);
		case 2:
			return pb_strfmt("The answer is %s.", low);
		case 3:
			return pb_strfmt("**%s**", g);
		case 4:
			return pb_strfmt("Answer: %s", g);
		default:
			return pb_strfmt("%s. It follows directly from the facts given.", g);
		}
	case PB_SIM_CHOICE:
		switch (style) {
		case 0:
			return pb_strfmt("The correct option is (%s).", g);
		case 1:
			return strdup(g);
		case 2:
			return pb_strfmt("Answer: %s", g);
		case 3:
			return pb_strfmt("The answer is (%s).", g);
		case 4:
			return pb_strfmt("(%s)", g);
		default:
			return pb_strfmt("Looking at each option in turn, the answer is %s.", g);
		}
	case PB_SIM_TEXT:
		break;
	}
	switch (style % 3) {
	case 0:
		return strdup(g);
	case 1:
		return pb_strfmt("The answer is %s.", g);
	default:
		return pb_strfmt("Answer: %s", g);
	}
}

/* ------------------------------------------------------------ judge */

/* The text between <tag> and </tag> in text (the last such pair),
 * malloc'd, or NULL if there is none. */
static char *
tagged(const char *text, const char *tag)
{
	char open[32], close[32];
	const char *p, *b = NULL, *e;

	snprintf(open, sizeof open, "<%s>", tag);
	snprintf(close, sizeof close, "</%s>", tag);
	for (p = text; (p = strstr(p, open)); p++)
		b = p;
	if (!b || !(e = strstr(b, close)))
		return NULL;
	b += strlen(open);
	return dupn(b, (size_t)(e - b));
}

/* A persona's flourish: markdown bold, an exclamation, or a stock
 * closing line.  The study's judge preferred answers without them. */
static int
flourished(const char *r)
{
	static const char *const marks[] = { "**", "!", "feast", "Ahoy", "Arr",
		"my friend", "Huzzah", "Behold", "Indeed" };
	size_t i;

	for (i = 0; i < sizeof marks / sizeof *marks; i++)
		if (strstr(r, marks[i]))
			return 1;
	return 0;
}

/* ---- the judge's own reading of answers.  Deliberately not pb-score's
 * extractors: a fixture that graded with the scorer's code would share
 * its bugs instead of catching them. */

/* The answer proper of a reply: after the last "####", else after the
 * last "answer is" or "answer:" (any case), else all of it.  *marked
 * says whether a marker was found. */
static const char *
answer_part(const char *r, int *marked)
{
	static const char *const marks[] = { "####", "answer is", "answer:" };
	const char *best = NULL, *p;
	size_t i, n;

	for (i = 0; i < sizeof marks / sizeof *marks && !best; i++)
		for (p = r, n = strlen(marks[i]); *p; p++)
			if (!strncasecmp(p, marks[i], n))
				best = p + n;
	*marked = best != NULL;
	return best ? best : r;
}

static int
numchar(int c)
{
	return (c >= '0' && c <= '9') || c == ',' || c == '.' || c == '/' ||
	       c == '$' || c == '%' || c == '-' || c == '+';
}

/* The first (or, with last set, the last) number written in text, as
 * parse_number reads one once stray commas and full stops at its ends
 * are cut off.  Returns 1 with *v set, 0 if there is none. */
static int
number_in(const char *text, int last, double *v)
{
	const char *p = text, *b;
	char buf[128];
	int found = 0;
	size_t n;

	while (*p) {
		if (!numchar((unsigned char)*p)) {
			p++;
			continue;
		}
		for (b = p; numchar((unsigned char)*p); p++)
			;
		n = (size_t)(p - b);
		while (n && (b[n - 1] == '.' || b[n - 1] == ',' || b[n - 1] == '-'))
			n--;
		if (!n || n >= sizeof buf)
			continue;
		memcpy(buf, b, n);
		buf[n] = '\0';
		if (strpbrk(buf, "0123456789") && parse_number(buf, v)) {
			found = 1;
			if (!last)
				break;
		}
	}
	return found;
}

/* text in lower case, every run of characters other than letters and
 * digits one space, the articles a, an and the left out, trimmed:
 * "The treble clef." and "treble clef" read the same.  malloc'd. */
static char *
normalise(const char *text)
{
	char *o = malloc(strlen(text) + 2), *w;
	size_t n = 0, start;
	const char *p = text;

	if (!o)
		return NULL;
	while (*p) {
		while (*p && !isalnum((unsigned char)*p))
			p++;
		if (!*p)
			break;
		start = n;
		while (isalnum((unsigned char)*p))
			o[n++] = (char)tolower((unsigned char)*p++);
		o[n] = '\0';
		w = o + start;
		if (!strcmp(w, "a") || !strcmp(w, "an") || !strcmp(w, "the"))
			n = start;
		else
			o[n++] = ' ';
	}
	if (n)
		n--;
	o[n] = '\0';
	return o;
}

/* Whether a judged response gives the reference's answer: 1 right, 0
 * wrong, -1 no answer at all, -2 out of memory.  A reference that is a
 * number is compared as a number (the response's number after a marker,
 * else its last one); any other text after normalise, the response's
 * answer part or its whole text equal to the reference or ending in it. */
static int
judged_right(const char *resp, const char *refall)
{
	const char *ref, *part;
	char *r, *nr, *np, *nw;
	double got, want;
	int marked, rv;
	size_t b = 0, e, lr, lw;

	for (ref = refall; (part = strstr(ref, "####")); ref = part + 4)
		;
	e = strlen(ref);
	trim(ref, &b, &e);
	if (!(r = dupn(ref + b, e - b)))
		return -2;
	part = answer_part(resp, &marked);
	if (parse_number(r, &want)) {
		free(r);
		if (!(marked ? number_in(part, 0, &got) : number_in(resp, 1, &got)))
			return -1;
		return fabs(got - want) <= 1e-6 * fmax(1, fabs(want));
	}
	nr = normalise(r);
	np = normalise(part);
	nw = normalise(resp);
	free(r);
	if (!nr || !np || !nw) {
		rv = -2;
	} else if (!*np && !*nw) {
		rv = -1;
	} else {
		lr = strlen(nr);
		lw = strlen(nw);
		rv = *nr && (!strcmp(np, nr) || !strcmp(nw, nr) ||
		      (lw > lr && nw[lw - lr - 1] == ' ' && !strcmp(nw + lw - lr, nr)));
	}
	free(nr);
	free(np);
	free(nw);
	return rv;
}

/* A judge request holds the response and the reference between
 * <response> and <reference> tags (the rubrics in examples/ do).  The
 * verdict depends on nothing but them (judged_right): no answer 0, a
 * wrong one 2, a right one with a flourish 6, a right one plainly stated
 * 10; or, when the request mentions FAIL, PASS for right and plain and
 * FAIL for the rest.  Returns 1 with a->text set, 0 if text is no judge
 * request, -1 out of memory. */
static int
judge_answer(const char *text, struct pb_sim_answer *a)
{
	char *resp, *ref;
	int got, right, plain, score;

	if (!strstr(text, "</response>") || !strstr(text, "</reference>"))
		return 0;
	resp = tagged(text, "response");
	ref = tagged(text, "reference");
	if (!resp || !ref) {
		free(resp);
		free(ref);
		return 0;
	}
	got = judged_right(resp, ref);
	if (got == -2) {
		free(resp);
		free(ref);
		return -1;
	}
	right = got == 1;
	plain = !flourished(resp);
	score = got < 0 ? 0 : !right ? 2 : plain ? 10 : 6;
	a->task = -1;
	a->correct = right;
	if (strstr(text, "FAIL"))
		a->text = pb_strfmt("%s\nVerdict: %s", right && plain ?
		               "The answer is right and plainly stated." :
		               !right ? "The answer is wrong or missing." :
		               "The answer is right but not plainly stated.",
		               right && plain ? "PASS" : "FAIL");
	else
		a->text = pb_strfmt("%s\nScore: %d/10", score == 10 ?
		               "The answer is right and plainly stated." :
		               score == 6 ? "The answer is right but not plainly stated." :
		               score == 2 ? "The answer is wrong." :
		               "The response gives no answer.", score);
	free(resp);
	free(ref);
	return a->text ? 1 : -1;
}

/* A request for new prompts, in the manner of prompt-search methods
 * (APE, OPRO): the prompts to vary one per line between <prompts> and
 * </prompts>, best first, and how many to write in <count>N</count>
 * (default 3, at most 20).  The reply is N lines, each a listed prompt
 * (the first ones more often) with one instruction from a fixed list
 * appended that it does not hold yet, chosen by a hash of the request
 * and its repeat.  Returns 1 with a->text set, 0 if text is no such
 * request, -1 out of memory. */
static int
propose_answer(const struct pb_sim *s, const char *text, uint64_t key,
               unsigned long repeat, struct pb_sim_answer *a)
{
	static const char *const adds[] = {
		"Double-check the arithmetic before you answer.",
		"Check every step of your working twice.",
		"Reason step by step.",
		"State the final answer plainly.",
		"Take a deep breath and work carefully.",
		"Be brief.",
		"Answer like a pirate would, matey.",
		"Explain it as you would to a child.",
	};
	const size_t nadds = sizeof adds / sizeof *adds;
	char *list, *cnt, *line, *save = NULL, *lines[64];
	size_t n = 0, want = 3, j, t;
	struct pb_buf b = { 0 };

	if (!strstr(text, "</prompts>") || !(list = tagged(text, "prompts")))
		return 0;
	if ((cnt = tagged(text, "count"))) {
		long v = strtol(cnt, NULL, 10);
		want = v < 1 ? 1 : v > 20 ? 20 : (size_t)v;
		free(cnt);
	}
	for (line = strtok_r(list, "\n", &save); line && n < 64;
	     line = strtok_r(NULL, "\n", &save)) {
		size_t lb = 0, le = strlen(line);
		trim(line, &lb, &le);
		line[le] = '\0';
		if (le > lb)
			lines[n++] = line + lb;
	}
	if (pb_buf_put(&b, "", 0) < 0)
		goto oom;
	for (j = 0; j < want; j++) {
		uint64_t h = mix(mix(key, repeat, s->seed ^ SALT_STEPS), j, 0x9e3779b97f4a7c15ULL);
		/* the first listed prompt half the time, else any */
		const char *base = !n ? "" : h % 2 ? lines[0] : lines[(h >> 8) % n];
		const char *add = adds[(h >> 16) % nadds];
		for (t = 0; t < nadds && *base && strstr(base, add); t++)
			add = adds[((h >> 16) + t + 1) % nadds];
		if ((*base && (pb_buf_put(&b, base, strlen(base)) < 0 ||
		               pb_buf_put(&b, " ", 1) < 0)) ||
		    pb_buf_put(&b, add, strlen(add)) < 0 || pb_buf_put(&b, "\n", 1) < 0)
			goto oom;
	}
	free(list);
	a->task = -1;
	a->text = b.p;
	return 1;
oom:
	free(list);
	free(b.p);
	return -1;
}

int
pb_sim_answer(const struct pb_sim *s, const char *text, uint64_t key,
              double temperature, unsigned long repeat,
              struct pb_sim_answer *a)
{
	const struct pb_sim_task *k;
	size_t at = 0;
	char *rest;
	int j;

	memset(a, 0, sizeof *a);
	if ((j = judge_answer(text, a)))
		return j < 0 ? -1 : 0;
	if ((j = propose_answer(s, text, key, temperature > 0 ? repeat : 0, a)))
		return j < 0 ? -1 : 0;
	a->task = pb_sim_match(s, text, &at);
	if (a->task < 0) {
		a->text = strdup(NOT_SURE);
		return a->text ? 0 : -1;
	}
	k = &s->tasks[a->task];
	if (!(rest = rest_of(text, at, k->len)))
		return -1;
	a->skill = pb_sim_skill_task(s, a->task, text, rest);
	a->style = (int)(pb_hash(rest, strlen(rest), s->seed ^ SALT_STYLE) % NSTYLES);
	free(rest);
	if (!(temperature > 0))
		repeat = 0; /* greedy decoding: the same request, the same reply */
	a->p = 1 / (1 + exp(k->difficulty - a->skill));
	a->u = unit(mix(key, repeat, s->seed ^ SALT_DRAW));
	a->correct = a->u < a->p;
	a->given = a->correct ? right_given(k) :
	           wrong_given(s, k, mix(key, repeat, s->seed ^ SALT_WRONG));
	if (!a->given)
		return -1;
	a->text = phrase(k, a->style, a->given, mix(key, repeat, s->seed ^ SALT_STEPS));
	if (!a->text) {
		pb_sim_answer_free(a);
		return -1;
	}
	return 0;
}

void
pb_sim_answer_free(struct pb_sim_answer *a)
{
	free(a->given);
	free(a->text);
	a->given = a->text = NULL;
}

uint64_t
pb_sim_request_key(const char *const *roles, const char *const *contents,
                   size_t n, double temperature)
{
	char t[64];
	uint64_t h = mix(n, 0, 0);
	size_t i;

	for (i = 0; i < n; i++) {
		h = mix(h, strlen(roles[i]), 1);
		h = pb_hash(roles[i], strlen(roles[i]), h);
		h = mix(h, strlen(contents[i]), 2);
		h = pb_hash(contents[i], strlen(contents[i]), h);
	}
	snprintf(t, sizeof t, "%.17g", temperature);
	return pb_hash(t, strlen(t), h);
}

unsigned long
pb_sim_count(struct pb_sim *s, uint64_t key)
{
	struct seen *m = &s->priv->seen;
	unsigned long n = 0;
	size_t i, mask;

	if (!key)
		key = 1;
	pthread_mutex_lock(&s->priv->mu);
	if (2 * (m->used + 1) > m->cap) {
		size_t ncap = m->cap ? 2 * m->cap : 1024, j;
		uint64_t *nk = calloc(ncap, sizeof *nk);
		unsigned long *nn = calloc(ncap, sizeof *nn);

		if (!nk || !nn) {
			/* Out of memory: every request then counts as the
			 * first, which is still a valid (if dull) answer. */
			free(nk);
			free(nn);
			pthread_mutex_unlock(&s->priv->mu);
			return 0;
		}
		for (j = 0; j < m->cap; j++) {
			if (!m->k[j])
				continue;
			for (i = (size_t)m->k[j] & (ncap - 1); nk[i]; i = (i + 1) & (ncap - 1))
				;
			nk[i] = m->k[j];
			nn[i] = m->n[j];
		}
		free(m->k);
		free(m->n);
		m->k = nk;
		m->n = nn;
		m->cap = ncap;
	}
	mask = m->cap - 1;
	for (i = (size_t)key & mask; m->k[i] && m->k[i] != key; i = (i + 1) & mask)
		;
	if (m->k[i]) {
		n = m->n[i]++;
	} else {
		m->k[i] = key;
		m->n[i] = 1;
		m->used++;
	}
	pthread_mutex_unlock(&s->priv->mu);
	return n;
}

/* --------------------------------------------------------------- HTTP */

/* The two API shapes a reply can take. */
enum api { OPENAI, ANTHROPIC };

static const char *const fault_names[PB_SIM_NFAULTS] = {
	"429", "500", "502", "503", "504", "529", "quota", "auth", "invalid",
	"malformed", "slow", "drop"
};

const char *
pb_sim_fault_name(enum pb_sim_fault f)
{
	return (unsigned)f < PB_SIM_NFAULTS ? fault_names[f] : NULL;
}

int
pb_sim_fault_kind(const char *name)
{
	int i;

	for (i = 0; i < PB_SIM_NFAULTS; i++)
		if (!strcmp(name, fault_names[i]))
			return i;
	return -1;
}

int
pb_sim_parse_faults(struct pb_sim *s, const char *spec, char err[PB_ERRLEN])
{
	double rate[PB_SIM_NFAULTS], sum;
	const char *p = spec, *colon, *end;
	char name[16], *e;
	int i, k;

	memcpy(rate, s->fault, sizeof rate);
	for (;;) {
		end = strchr(p, ',');
		if (!end)
			end = p + strlen(p);
		colon = memchr(p, ':', (size_t)(end - p));
		if (!colon || (size_t)(colon - p) >= sizeof name) {
			snprintf(err, PB_ERRLEN, "'%.*s' is not KIND:RATE", (int)(end - p), p);
			return -1;
		}
		memcpy(name, p, (size_t)(colon - p));
		name[colon - p] = '\0';
		if ((k = pb_sim_fault_kind(name)) < 0) {
			snprintf(err, PB_ERRLEN, "unknown fault kind '%s' (known: 429, 500, "
			         "502, 503, 504, 529, quota, auth, invalid, malformed, slow, "
			         "drop)", name);
			return -1;
		}
		rate[k] = strtod(colon + 1, &e);
		if (e == colon + 1 || e != end || !(rate[k] >= 0 && rate[k] <= 1)) {
			snprintf(err, PB_ERRLEN, "fault %s: '%.*s' is not a rate in [0, 1]",
			         name, (int)(end - colon - 1), colon + 1);
			return -1;
		}
		if (!*end)
			break;
		p = end + 1;
	}
	for (i = 0, sum = s->error_rate; i < PB_SIM_NFAULTS; i++)
		sum += rate[i];
	/* A little slack, so 0.1,0.2,0.7 is not refused for rounding. */
	if (sum > 1 + 1e-9) {
		snprintf(err, PB_ERRLEN, "the fault rates%s add up to %g, more than 1",
		         s->error_rate > 0 ? " and --error-rate" : "", sum);
		return -1;
	}
	memcpy(s->fault, rate, sizeof rate);
	return 0;
}

/* OpenAI's error shape: {"error":{"message","type","param","code"}}. */
static char *
openai_error(const char *type, const char *code, const char *param,
             const char *message)
{
	cJSON *o = cJSON_CreateObject(), *e;
	char *s = NULL;

	if (o && (e = cJSON_AddObjectToObject(o, "error")) &&
	    cJSON_AddStringToObject(e, "message", message) &&
	    cJSON_AddStringToObject(e, "type", type) &&
	    (param ? cJSON_AddStringToObject(e, "param", param) != NULL
	           : cJSON_AddNullToObject(e, "param") != NULL) &&
	    (code ? cJSON_AddStringToObject(e, "code", code) != NULL
	          : cJSON_AddNullToObject(e, "code") != NULL))
		s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}

/* Anthropic's: {"type":"error","error":{"type","message"}}. */
static char *
anthropic_error(const char *type, const char *message)
{
	cJSON *o = cJSON_CreateObject(), *e;
	char *s = NULL;

	if (o && cJSON_AddStringToObject(o, "type", "error") &&
	    (e = cJSON_AddObjectToObject(o, "error")) &&
	    cJSON_AddStringToObject(e, "type", type) &&
	    cJSON_AddStringToObject(e, "message", message))
		s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}

/* The error type each API gives a status by default. */
static const char *
default_type(enum api api, int status)
{
	if (api == ANTHROPIC) {
		switch (status) {
		case 401: return "authentication_error";
		case 403: return "permission_error";
		case 404: return "not_found_error";
		case 413: return "request_too_large";
		case 429: return "rate_limit_error";
		case 529: return "overloaded_error";
		}
		return status >= 500 ? "api_error" : "invalid_request_error";
	}
	switch (status) {
	case 403: return "permission_error";
	case 429: return "requests";
	case 529: return "overloaded_error";
	}
	return status >= 500 ? "server_error" : "invalid_request_error";
}

static const char *
default_code(int status)
{
	return status == 401 ? "invalid_api_key" :
	       status == 429 ? "rate_limit_exceeded" : NULL;
}

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

/* Fills r with an error in the call's API shape: type and code NULL take
 * the status's defaults (code is OpenAI's only).  Returns 0, or -1 if
 * out of memory. */
static int
fail(struct call *c, int status, const char *type, const char *code,
     const char *param, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

static int
fail(struct call *c, int status, const char *type, const char *code,
     const char *param, const char *fmt, ...)
{
	struct pb_sim_response *r = c->r;
	char msg[PB_ERRLEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (!type)
		type = default_type(c->api, status);
	if (!code)
		code = default_code(status);
	r->status = status;
	free(r->body);
	r->body = c->api == ANTHROPIC ? anthropic_error(type, msg)
	                              : openai_error(type, code, param, msg);
	if (status == 429 || status == 503) {
		r->has_retry_after = 1;
		r->retry_after = c->s->retry_after;
	}
	return r->body ? 0 : -1;
}

/* Anthropic's model listing: {"data":[{"type":"model",...}],"has_more",
 * "first_id","last_id"}. */
static int
anthropic_models(struct pb_sim_response *r)
{
	cJSON *o = cJSON_CreateObject(), *d, *m;

	if (o && (d = cJSON_AddArrayToObject(o, "data")) && (m = cJSON_CreateObject())) {
		cJSON_AddItemToArray(d, m);
		if (cJSON_AddStringToObject(m, "type", "model") &&
		    cJSON_AddStringToObject(m, "id", "pb-sim") &&
		    cJSON_AddStringToObject(m, "display_name", "pb-sim") &&
		    cJSON_AddStringToObject(m, "created_at", "1970-01-01T00:00:00Z") &&
		    cJSON_AddFalseToObject(o, "has_more") &&
		    cJSON_AddStringToObject(o, "first_id", "pb-sim") &&
		    cJSON_AddStringToObject(o, "last_id", "pb-sim"))
			r->body = cJSON_PrintUnformatted(o);
	}
	cJSON_Delete(o);
	r->status = 200;
	return r->body ? 0 : -1;
}

static int
models(struct pb_sim_response *r)
{
	cJSON *o = cJSON_CreateObject(), *d, *m;

	if (o && cJSON_AddStringToObject(o, "object", "list") &&
	    (d = cJSON_AddArrayToObject(o, "data")) &&
	    (m = cJSON_CreateObject())) {
		cJSON_AddItemToArray(d, m);
		if (cJSON_AddStringToObject(m, "id", "pb-sim") &&
		    cJSON_AddStringToObject(m, "object", "model") &&
		    cJSON_AddNumberToObject(m, "created", 0) &&
		    cJSON_AddStringToObject(m, "owned_by", "promptbandit"))
			r->body = cJSON_PrintUnformatted(o);
	}
	cJSON_Delete(o);
	r->status = 200;
	return r->body ? 0 : -1;
}

/* About four bytes of English per token, as the OpenAI tokenisers give. */
static long
tokens(const char *s)
{
	return (long)((strlen(s) + 3) / 4);
}

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

static void
chatreq_free(struct chatreq *q)
{
	size_t i;

	for (i = 0; q->contents && i < q->n; i++)
		free(q->contents[i]);
	free(q->contents);
	free(q->roles);
	free(q->text);
	free(q->stop);
}

/* A message's content as text: a string, an array of text parts, or
 * null (an assistant turn that only called tools).  NULL: not text. */
static char *
content_text(const cJSON *c)
{
	const cJSON *part;
	size_t len = 0;
	char *s;

	if (!c || cJSON_IsNull(c))
		return strdup("");
	if (cJSON_IsString(c))
		return strdup(c->valuestring);
	if (!cJSON_IsArray(c))
		return NULL;
	cJSON_ArrayForEach(part, c) {
		const char *t = pb_json_str(part, "type"), *x = pb_json_str(part, "text");
		if (!t || strcmp(t, "text") || !x)
			return NULL;
		len += strlen(x) + 1;
	}
	if (!(s = malloc(len + 1)))
		return NULL;
	s[0] = '\0';
	len = 0;
	cJSON_ArrayForEach(part, c) {
		const char *x = pb_json_str(part, "text");
		if (len)
			s[len++] = '\n';
		strcpy(s + len, x);
		len += strlen(x);
	}
	return s;
}

/* Joins the contents into q->text.  -1: out of memory. */
static int
join(struct chatreq *q)
{
	size_t i, len = 0;

	for (i = 0; i < q->n; i++)
		len += strlen(q->contents[i]) + 2;
	if (!(q->text = malloc(len + 1)))
		return -1;
	q->text[0] = '\0';
	for (i = 0, len = 0; i < q->n; i++) {
		if (i) {
			memcpy(q->text + len, "\n\n", 2);
			len += 2;
		}
		strcpy(q->text + len, q->contents[i]);
		len += strlen(q->contents[i]);
	}
	return 0;
}

/* The result of a parse step: 0 ok, 1 c->r holds a 400, -1 ENOMEM. */
#define BAD(expr) ((expr) ? -1 : 1)

/* Reads stop strings: one string (if one is allowed) or an array of at
 * most max strings (max 0: any number). */
static int
stops(struct call *c, struct chatreq *q, const cJSON *v, int one, int max,
      const char *name)
{
	const cJSON *x;
	int n = cJSON_IsArray(v) ? cJSON_GetArraySize(v) : 1;

	if (!(q->stop = calloc((size_t)n + 1, sizeof *q->stop)))
		return -1;
	if (one && cJSON_IsString(v)) {
		q->stop[q->nstop++] = v->valuestring;
		return 0;
	}
	if (cJSON_IsArray(v) && (!max || n <= max)) {
		cJSON_ArrayForEach(x, v) {
			if (!cJSON_IsString(x))
				break;
			q->stop[q->nstop++] = x->valuestring;
		}
		if (!x)
			return 0;
	}
	if (one)
		return BAD(fail(c, 400, NULL, NULL, name, "'%s' must be a string or an "
		           "array of up to %d strings.", name, max));
	return BAD(fail(c, 400, NULL, NULL, name, "%s: Input should be a valid "
	           "list of strings", name));
}

/* Reads and checks an OpenAI chat request. */
static int
chat_parse(struct call *c, const cJSON *req, struct chatreq *q)
{
	const cJSON *msgs, *m, *v;
	size_t i;
	const char *mt[] = { "max_completion_tokens", "max_tokens" };
	int rv;

	q->model = "pb-sim";
	q->temperature = 1;
	if ((v = cJSON_GetObjectItemCaseSensitive(req, "model")) && !cJSON_IsNull(v)) {
		if (!cJSON_IsString(v))
			return BAD(fail(c, 400, NULL, NULL, "model", "Invalid type for "
			           "'model': expected a string."));
		q->model = v->valuestring;
	}
	msgs = cJSON_GetObjectItemCaseSensitive(req, "messages");
	if (!cJSON_IsArray(msgs) || !(q->n = (size_t)cJSON_GetArraySize(msgs)))
		return BAD(fail(c, 400, NULL, NULL, "messages", "'messages' must be a "
		           "non-empty array."));
	q->roles = calloc(q->n, sizeof *q->roles);
	q->contents = calloc(q->n, sizeof *q->contents);
	if (!q->roles || !q->contents)
		return -1;
	i = 0;
	cJSON_ArrayForEach(m, msgs) {
		if (!cJSON_IsObject(m) || !(q->roles[i] = pb_json_str(m, "role")))
			return BAD(fail(c, 400, NULL, NULL, "messages", "messages[%zu] has "
			           "no 'role' string.", i));
		if (!(q->contents[i] = content_text(cJSON_GetObjectItemCaseSensitive(m, "content"))))
			return BAD(fail(c, 400, NULL, NULL, "messages", "messages[%zu].content "
			           "is not text (a string or an array of text parts).", i));
		i++;
	}
	if (join(q))
		return -1;
	if ((v = cJSON_GetObjectItemCaseSensitive(req, "temperature")) && !cJSON_IsNull(v)) {
		if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0 && v->valuedouble <= 2))
			return BAD(fail(c, 400, NULL, NULL, "temperature", "'temperature' "
			           "must be a number from 0 to 2."));
		q->temperature = v->valuedouble;
	}
	for (i = 0; i < 2; i++) {
		double x;
		if (!(v = cJSON_GetObjectItemCaseSensitive(req, mt[i])) || cJSON_IsNull(v))
			continue;
		x = cJSON_IsNumber(v) ? v->valuedouble : -1;
		if (x < 1 || x != floor(x) || x > 1e9)
			return BAD(fail(c, 400, NULL, NULL, mt[i], "'%s' must be a positive "
			           "integer.", mt[i]));
		if (!q->max_tokens || (long)x < q->max_tokens)
			q->max_tokens = (long)x;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(req, "stop")) && !cJSON_IsNull(v) &&
	    (rv = stops(c, q, v, 1, 4, "stop")) != 0)
		return rv;
	if ((v = cJSON_GetObjectItemCaseSensitive(req, "n")) && !cJSON_IsNull(v) &&
	    !(cJSON_IsNumber(v) && v->valuedouble == 1))
		return BAD(fail(c, 400, NULL, NULL, "n", "pb-sim gives one choice only: "
		           "'n' must be 1."));
	if ((v = cJSON_GetObjectItemCaseSensitive(req, "stream")) && !cJSON_IsNull(v)) {
		if (!cJSON_IsBool(v))
			return BAD(fail(c, 400, NULL, NULL, "stream", "'stream' must be a "
			           "boolean."));
		q->stream = cJSON_IsTrue(v);
	}
	v = pb_json_path(req, "stream_options.include_usage");
	q->include_usage = cJSON_IsTrue(v);
	return 0;
}

/* Reads and checks an Anthropic Messages request; the messages are
 * validated the way the real API does, so a client that leaves a system
 * message among them, say, finds out here. */
static int
messages_parse(struct call *c, const cJSON *req, struct chatreq *q)
{
	const cJSON *msgs, *m, *v, *sys;
	const char *role;
	size_t i;
	int rv;

	q->model = "pb-sim";
	q->temperature = 1;
	if ((v = cJSON_GetObjectItemCaseSensitive(req, "model")) && !cJSON_IsNull(v)) {
		if (!cJSON_IsString(v))
			return BAD(fail(c, 400, NULL, NULL, NULL, "model: Input should be a "
			           "valid string"));
		q->model = v->valuestring;
	}
	v = cJSON_GetObjectItemCaseSensitive(req, "max_tokens");
	if (!v || cJSON_IsNull(v)) {
		if (!c->counting)
			return BAD(fail(c, 400, NULL, NULL, NULL, "max_tokens: Field required"));
	} else if (!cJSON_IsNumber(v) || v->valuedouble < 1 ||
	           v->valuedouble != floor(v->valuedouble) || v->valuedouble > 1e9) {
		return BAD(fail(c, 400, NULL, NULL, NULL, "max_tokens: Input should be "
		           "a positive integer"));
	} else {
		q->max_tokens = (long)v->valuedouble;
	}
	msgs = cJSON_GetObjectItemCaseSensitive(req, "messages");
	if (!cJSON_IsArray(msgs))
		return BAD(fail(c, 400, NULL, NULL, NULL, "messages: Field required "
		           "(a list of messages)"));
	if (!cJSON_GetArraySize(msgs))
		return BAD(fail(c, 400, NULL, NULL, NULL, "messages: at least one "
		           "message is required"));
	sys = cJSON_GetObjectItemCaseSensitive(req, "system");
	if (sys && cJSON_IsNull(sys))
		sys = NULL;
	q->n = (size_t)cJSON_GetArraySize(msgs) + (sys != NULL);
	q->roles = calloc(q->n, sizeof *q->roles);
	q->contents = calloc(q->n, sizeof *q->contents);
	if (!q->roles || !q->contents)
		return -1;
	i = 0;
	if (sys) {
		if (!cJSON_IsString(sys) && !cJSON_IsArray(sys))
			return BAD(fail(c, 400, NULL, NULL, NULL, "system: Input should be "
			           "a valid string or a list of text blocks"));
		q->roles[0] = "system";
		if (!(q->contents[0] = content_text(sys)))
			return cJSON_IsArray(sys) ? BAD(fail(c, 400, NULL, NULL, NULL,
			       "system: each block must be {\"type\":\"text\",\"text\":...}"))
			       : -1;
		i++;
	}
	cJSON_ArrayForEach(m, msgs) {
		size_t k = i - (sys != NULL);
		if (!cJSON_IsObject(m) || !(role = pb_json_str(m, "role")))
			return BAD(fail(c, 400, NULL, NULL, NULL, "messages.%zu.role: Field "
			           "required", k));
		if (strcmp(role, "user") && strcmp(role, "assistant"))
			return BAD(fail(c, 400, NULL, NULL, NULL, "messages.%zu.role: Input "
			           "should be 'user' or 'assistant' (a system prompt goes in "
			           "the top-level 'system' field)", k));
		q->roles[i] = role;
		v = cJSON_GetObjectItemCaseSensitive(m, "content");
		if (!cJSON_IsString(v) && !cJSON_IsArray(v))
			return BAD(fail(c, 400, NULL, NULL, NULL, "messages.%zu.content: "
			           "Field required (a string or a list of blocks)", k));
		if (!(q->contents[i] = content_text(v)))
			return cJSON_IsArray(v) ? BAD(fail(c, 400, NULL, NULL, NULL,
			       "messages.%zu.content: pb-sim reads text blocks only "
			       "({\"type\":\"text\",\"text\":...})", k)) : -1;
		i++;
	}
	if (join(q))
		return -1;
	if ((v = cJSON_GetObjectItemCaseSensitive(req, "temperature")) && !cJSON_IsNull(v)) {
		if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0 && v->valuedouble <= 1))
			return BAD(fail(c, 400, NULL, NULL, NULL, "temperature: Input should "
			           "be a number from 0 to 1"));
		q->temperature = v->valuedouble;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(req, "top_p")) && !cJSON_IsNull(v) &&
	    !(cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble <= 1))
		return BAD(fail(c, 400, NULL, NULL, NULL, "top_p: Input should be a "
		           "number from 0 to 1"));
	if ((v = cJSON_GetObjectItemCaseSensitive(req, "stop_sequences")) &&
	    !cJSON_IsNull(v) && (rv = stops(c, q, v, 0, 0, "stop_sequences")) != 0)
		return rv;
	if ((v = cJSON_GetObjectItemCaseSensitive(req, "stream")) && !cJSON_IsNull(v)) {
		if (!cJSON_IsBool(v))
			return BAD(fail(c, 400, NULL, NULL, NULL, "stream: Input should be "
			           "a valid boolean"));
		q->stream = cJSON_IsTrue(v);
	}
	return 0;
}

/* How the reply ended. */
enum finish { END, STOPPED, LENGTH };

/* Cuts text at the earliest stop sequence, or to max_tokens; *which
 * receives the stop sequence that cut it, if any. */
static enum finish
limit(char *text, const struct chatreq *q, const char **which)
{
	char *cut = NULL, *p;
	int i;

	*which = NULL;
	for (i = 0; i < q->nstop; i++)
		if (*q->stop[i] && (p = strstr(text, q->stop[i])) && (!cut || p < cut)) {
			cut = p;
			*which = q->stop[i];
		}
	if (cut)
		*cut = '\0';
	if (q->max_tokens && tokens(text) > q->max_tokens) {
		size_t n = (size_t)q->max_tokens * 4;
		/* not inside a UTF-8 sequence */
		while (n > 0 && ((unsigned char)text[n] & 0xc0) == 0x80)
			n--;
		text[n] = '\0';
		*which = NULL;
		return LENGTH;
	}
	return cut ? STOPPED : END;
}

/* What the simulation decided, for tests and curious people. */
static int
add_x(cJSON *o, const struct pb_sim *s, const struct pb_sim_answer *a,
      unsigned long rep)
{
	cJSON *x = cJSON_AddObjectToObject(o, "x_pb_sim");

	return x &&
	    (a->task >= 0 && s->tasks[a->task].id
	     ? cJSON_AddStringToObject(x, "task", s->tasks[a->task].id) != NULL
	     : cJSON_AddNullToObject(x, "task") != NULL) &&
	    cJSON_AddNumberToObject(x, "skill", a->skill) &&
	    cJSON_AddNumberToObject(x, "p", a->p) &&
	    cJSON_AddBoolToObject(x, "correct", a->correct) &&
	    cJSON_AddNumberToObject(x, "repeat", (double)rep) ? 0 : -1;
}

/* The chat.completion object. */
static cJSON *
openai_reply(const struct call *c, const struct chatreq *q,
             const struct pb_sim_answer *a, enum finish fin, long pt)
{
	cJSON *o, *ch, *m, *msg, *u;
	char id[40];
	long ct = tokens(a->text);

	snprintf(id, sizeof id, "chatcmpl-%016llx",
	         (unsigned long long)mix(c->key, c->rep, c->s->seed ^ SALT_ID));
	if (!(o = cJSON_CreateObject()))
		return NULL;
	if (cJSON_AddStringToObject(o, "id", id) &&
	    cJSON_AddStringToObject(o, "object", "chat.completion") &&
	    cJSON_AddNumberToObject(o, "created", 0) &&
	    cJSON_AddStringToObject(o, "model", q->model) &&
	    (ch = cJSON_AddArrayToObject(o, "choices")) &&
	    (m = cJSON_CreateObject()) && cJSON_AddItemToArray(ch, m) &&
	    cJSON_AddNumberToObject(m, "index", 0) &&
	    (msg = cJSON_AddObjectToObject(m, "message")) &&
	    cJSON_AddStringToObject(msg, "role", "assistant") &&
	    cJSON_AddStringToObject(msg, "content", a->text) &&
	    cJSON_AddNullToObject(m, "logprobs") &&
	    cJSON_AddStringToObject(m, "finish_reason", fin == LENGTH ? "length" : "stop") &&
	    (u = cJSON_AddObjectToObject(o, "usage")) &&
	    cJSON_AddNumberToObject(u, "prompt_tokens", (double)pt) &&
	    cJSON_AddNumberToObject(u, "completion_tokens", (double)ct) &&
	    cJSON_AddNumberToObject(u, "total_tokens", (double)(pt + ct)) &&
	    !add_x(o, c->s, a, c->rep))
		return o;
	cJSON_Delete(o);
	return NULL;
}

/* The Anthropic message object. */
static cJSON *
anthropic_reply(const struct call *c, const struct chatreq *q,
                const struct pb_sim_answer *a, enum finish fin,
                const char *stop, long pt)
{
	static const char *const why[] = { "end_turn", "stop_sequence", "max_tokens" };
	cJSON *o, *arr, *b, *u;
	char id[40];

	snprintf(id, sizeof id, "msg_%016llx",
	         (unsigned long long)mix(c->key, c->rep, c->s->seed ^ SALT_ID));
	if (!(o = cJSON_CreateObject()))
		return NULL;
	if (cJSON_AddStringToObject(o, "id", id) &&
	    cJSON_AddStringToObject(o, "type", "message") &&
	    cJSON_AddStringToObject(o, "role", "assistant") &&
	    cJSON_AddStringToObject(o, "model", q->model) &&
	    (arr = cJSON_AddArrayToObject(o, "content")) &&
	    (b = cJSON_CreateObject()) && cJSON_AddItemToArray(arr, b) &&
	    cJSON_AddStringToObject(b, "type", "text") &&
	    cJSON_AddStringToObject(b, "text", a->text) &&
	    cJSON_AddStringToObject(o, "stop_reason", why[fin]) &&
	    (stop ? cJSON_AddStringToObject(o, "stop_sequence", stop) != NULL
	          : cJSON_AddNullToObject(o, "stop_sequence") != NULL) &&
	    (u = cJSON_AddObjectToObject(o, "usage")) &&
	    cJSON_AddNumberToObject(u, "input_tokens", (double)pt) &&
	    cJSON_AddNumberToObject(u, "output_tokens", (double)tokens(a->text)) &&
	    !add_x(o, c->s, a, c->rep))
		return o;
	cJSON_Delete(o);
	return NULL;
}

/* ----------------------------------------------------------- streaming */

/* Appends "event: NAME\n" (if name) and "data: JSON\n\n" of o (taken). */
static int
sse_event(struct pb_buf *b, const char *name, cJSON *o)
{
	char *t = o ? cJSON_PrintUnformatted(o) : NULL;
	int rv = -1;

	if (t && (!name || (pb_buf_put(b, "event: ", 7) == 0 &&
	                    pb_buf_put(b, name, strlen(name)) == 0 &&
	                    pb_buf_put(b, "\n", 1) == 0)) &&
	    pb_buf_put(b, "data: ", 6) == 0 && pb_buf_put(b, t, strlen(t)) == 0 &&
	    pb_buf_put(b, "\n\n", 2) == 0)
		rv = 0;
	free(t);
	cJSON_Delete(o);
	return rv;
}

/* The length of the next piece of text to send: about 12 bytes, never
 * cutting a UTF-8 sequence. */
static size_t
piece(const char *t)
{
	size_t n = 0;

	while (t[n] && n < 12)
		n++;
	while (t[n] && ((unsigned char)t[n] & 0xc0) == 0x80)
		n++;
	return n;
}

static cJSON *
dup_item(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return v ? cJSON_Duplicate(v, 1) : cJSON_CreateNull();
}

/* OpenAI's chat.completion.chunk of one choice delta. */
static cJSON *
openai_chunk(const cJSON *full, cJSON *delta, const char *finish)
{
	cJSON *o = cJSON_CreateObject(), *ch, *c;

	if (!o || !delta) {
		cJSON_Delete(o);
		cJSON_Delete(delta);
		return NULL;
	}
	cJSON_AddItemToObject(o, "id", dup_item(full, "id"));
	cJSON_AddStringToObject(o, "object", "chat.completion.chunk");
	cJSON_AddNumberToObject(o, "created", 0);
	cJSON_AddItemToObject(o, "model", dup_item(full, "model"));
	ch = cJSON_AddArrayToObject(o, "choices");
	c = cJSON_CreateObject();
	cJSON_AddItemToArray(ch, c);
	cJSON_AddNumberToObject(c, "index", 0);
	cJSON_AddItemToObject(c, "delta", delta);
	cJSON_AddNullToObject(c, "logprobs");
	if (finish)
		cJSON_AddStringToObject(c, "finish_reason", finish);
	else
		cJSON_AddNullToObject(c, "finish_reason");
	return o;
}

/* A chat.completion as OpenAI streams it: a role chunk, the content in
 * pieces, a chunk with the finish reason (and x_pb_sim), a usage chunk
 * if asked for (stream_options.include_usage), then [DONE]. */
static char *
openai_sse(const cJSON *full, int include_usage)
{
	const cJSON *choice = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(full,
	                      "choices"), 0);
	const char *text = pb_json_str(cJSON_GetObjectItemCaseSensitive(choice, "message"),
	                               "content"), *fin = pb_json_str(choice, "finish_reason");
	struct pb_buf b = { NULL, 0, 0 };
	cJSON *d, *last;
	size_t n;
	int bad = 0;

	d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "role", "assistant");
	cJSON_AddStringToObject(d, "content", "");
	bad |= sse_event(&b, NULL, openai_chunk(full, d, NULL));
	for (; text && *text && !bad; text += n) {
		char buf[64];
		n = piece(text);
		memcpy(buf, text, n);
		buf[n] = '\0';
		d = cJSON_CreateObject();
		cJSON_AddStringToObject(d, "content", buf);
		bad |= sse_event(&b, NULL, openai_chunk(full, d, NULL));
	}
	if ((last = openai_chunk(full, cJSON_CreateObject(), fin ? fin : "stop")))
		cJSON_AddItemToObject(last, "x_pb_sim", dup_item(full, "x_pb_sim"));
	bad |= sse_event(&b, NULL, last);
	if (include_usage && !bad && (last = cJSON_CreateObject())) {
		cJSON_AddItemToObject(last, "id", dup_item(full, "id"));
		cJSON_AddStringToObject(last, "object", "chat.completion.chunk");
		cJSON_AddNumberToObject(last, "created", 0);
		cJSON_AddItemToObject(last, "model", dup_item(full, "model"));
		cJSON_AddArrayToObject(last, "choices");
		cJSON_AddItemToObject(last, "usage", dup_item(full, "usage"));
		bad |= sse_event(&b, NULL, last);
	}
	if (bad || pb_buf_put(&b, "data: [DONE]\n\n", 14) < 0 || pb_buf_put(&b, "", 1) < 0) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

static cJSON *
typed(const char *type)
{
	cJSON *o = cJSON_CreateObject();

	if (o && !cJSON_AddStringToObject(o, "type", type)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* An Anthropic message as it streams: message_start (usage's input
 * tokens), content_block_start, a ping, text_delta pieces,
 * content_block_stop, message_delta (stop reason, output tokens,
 * x_pb_sim), message_stop. */
static char *
anthropic_sse(const cJSON *full)
{
	const cJSON *blk = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(full,
	                   "content"), 0), *u = cJSON_GetObjectItemCaseSensitive(full, "usage");
	const char *text = pb_json_str(blk, "text");
	struct pb_buf b = { NULL, 0, 0 };
	cJSON *e, *m, *x;
	size_t n;
	int bad = 0;

	if ((e = typed("message_start")) && (m = cJSON_Duplicate(full, 1))) {
		cJSON_DeleteItemFromObjectCaseSensitive(m, "x_pb_sim");
		pb_json_set(m, "content", cJSON_CreateArray());
		pb_json_set(m, "stop_reason", cJSON_CreateNull());
		pb_json_set(m, "stop_sequence", cJSON_CreateNull());
		if ((x = cJSON_GetObjectItemCaseSensitive(m, "usage")))
			pb_json_set(x, "output_tokens", cJSON_CreateNumber(1));
		cJSON_AddItemToObject(e, "message", m);
	}
	bad |= sse_event(&b, "message_start", e);
	if ((e = typed("content_block_start"))) {
		cJSON_AddNumberToObject(e, "index", 0);
		x = typed("text");
		cJSON_AddStringToObject(x, "text", "");
		cJSON_AddItemToObject(e, "content_block", x);
	}
	bad |= sse_event(&b, "content_block_start", e);
	bad |= sse_event(&b, "ping", typed("ping"));
	for (; text && *text && !bad; text += n) {
		char buf[64];
		n = piece(text);
		memcpy(buf, text, n);
		buf[n] = '\0';
		if ((e = typed("content_block_delta"))) {
			cJSON_AddNumberToObject(e, "index", 0);
			x = typed("text_delta");
			cJSON_AddStringToObject(x, "text", buf);
			cJSON_AddItemToObject(e, "delta", x);
		}
		bad |= sse_event(&b, "content_block_delta", e);
	}
	if ((e = typed("content_block_stop")))
		cJSON_AddNumberToObject(e, "index", 0);
	bad |= sse_event(&b, "content_block_stop", e);
	if ((e = typed("message_delta"))) {
		x = cJSON_AddObjectToObject(e, "delta");
		cJSON_AddItemToObject(x, "stop_reason", dup_item(full, "stop_reason"));
		cJSON_AddItemToObject(x, "stop_sequence", dup_item(full, "stop_sequence"));
		x = cJSON_AddObjectToObject(e, "usage");
		cJSON_AddItemToObject(x, "output_tokens", dup_item(u, "output_tokens"));
		cJSON_AddItemToObject(e, "x_pb_sim", dup_item(full, "x_pb_sim"));
	}
	bad |= sse_event(&b, "message_delta", e);
	bad |= sse_event(&b, "message_stop", typed("message_stop"));
	if (bad || pb_buf_put(&b, "", 1) < 0) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

/* ------------------------------------------------- what the reply says */

/* Adds "Name: value\n" to the reply's extra headers. */
static int
add_header(struct pb_sim_response *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int
add_header(struct pb_sim_response *r, const char *fmt, ...)
{
	va_list ap;
	char *line, *t;
	size_t have = r->headers ? strlen(r->headers) : 0, n;

	va_start(ap, fmt);
	line = pb_vstrfmt(fmt, ap);
	va_end(ap);
	if (!line)
		return -1;
	n = strlen(line);
	if (!(t = realloc(r->headers, have + n + 2))) {
		free(line);
		return -1;
	}
	memcpy(t + have, line, n);
	memcpy(t + have + n, "\n", 2);
	r->headers = t;
	free(line);
	return 0;
}

/* --echo-headers: the request's headers into x_pb_sim.headers, names in
 * lower case; the key's headers too, so a test can see them arrive. */
static int
echo_headers(const struct call *c, cJSON *o)
{
	cJSON *x = cJSON_GetObjectItemCaseSensitive(o, "x_pb_sim"), *h;
	const char *const *p;
	char name[128];
	size_t i;

	if (!c->s->echo_headers || !x || !c->q->headers)
		return 0;
	if (!(h = cJSON_AddObjectToObject(x, "headers")))
		return -1;
	for (p = c->q->headers; p[0] && p[1]; p += 2) {
		for (i = 0; p[0][i] && i < sizeof name - 1; i++)
			name[i] = (char)tolower((unsigned char)p[0][i]);
		name[i] = '\0';
		if (!cJSON_AddStringToObject(h, name, p[1]))
			return -1;
	}
	return 0;
}

/* --rate-limit N/SEC: at most N chat requests in each window of SEC
 * seconds.  Every chat reply says how many are left and when the window
 * resets, in the headers of its API; one over the limit is a 429 with
 * Retry-After the rest of the window.  Returns 1 if over (r filled in),
 * 0 if not, -1 out of memory. */
static int
rate_limit(struct call *c)
{
	struct pb_sim *s = c->s;
	struct pb_sim_priv *pv = s->priv;
	struct timespec ts;
	double now, left;
	long remaining, used;
	char when[40];
	time_t t;
	struct tm tm;

	if (s->rl_requests <= 0)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (double)ts.tv_sec + ts.tv_nsec / 1e9;
	pthread_mutex_lock(&pv->mu);
	if (pv->rl_start == 0 || now - pv->rl_start >= s->rl_window_s) {
		pv->rl_start = now;
		pv->rl_used = 0;
	}
	used = ++pv->rl_used;
	left = pv->rl_start + s->rl_window_s - now;
	pthread_mutex_unlock(&pv->mu);
	remaining = used > s->rl_requests ? 0 : s->rl_requests - used;
	if (c->api == ANTHROPIC) {
		/* Whole seconds, rounded up: never earlier than the window. */
		clock_gettime(CLOCK_REALTIME, &ts);
		t = (time_t)ceil((double)ts.tv_sec + ts.tv_nsec / 1e9 + left);
		gmtime_r(&t, &tm);
		strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
		if (add_header(c->r, "anthropic-ratelimit-requests-limit: %ld", s->rl_requests) ||
		    add_header(c->r, "anthropic-ratelimit-requests-remaining: %ld", remaining) ||
		    add_header(c->r, "anthropic-ratelimit-requests-reset: %s", when))
			return -1;
	} else if (add_header(c->r, "x-ratelimit-limit-requests: %ld", s->rl_requests) ||
	           add_header(c->r, "x-ratelimit-remaining-requests: %ld", remaining) ||
	           add_header(c->r, "x-ratelimit-reset-requests: %.3fs",
	                      ceil(left * 1000) / 1000)) {
		return -1;
	}
	if (used <= s->rl_requests)
		return 0;
	if (fail(c, 429, NULL, NULL, NULL, "Rate limit reached for requests: %ld "
	         "per %g s (pb-sim --rate-limit).", s->rl_requests, s->rl_window_s))
		return -1;
	c->r->retry_after = left;
	c->r->has_retry_after = 1;
	return 1;
}

/* Which fault, if any, the request draws: one uniform number, cut into
 * bands of --error-rate and then each kind's rate in enum order. */
static int
draw_fault(const struct call *c)
{
	const struct pb_sim *s = c->s;
	double u = unit(mix(c->key, c->rep, s->seed ^ SALT_FAULT)), top;
	int i;

	if (u < (top = s->error_rate))
		return PB_SIM_NFAULTS;
	for (i = 0; i < PB_SIM_NFAULTS; i++)
		if (s->fault[i] > 0 && u < (top += s->fault[i]))
			return i;
	return -1;
}

/* Fills r with the error reply of fault f (not malformed, slow, drop). */
static int
fault_reply(struct call *c, int f)
{
	const struct pb_sim *s = c->s;
	int anth = c->api == ANTHROPIC;

	switch (f) {
	case PB_SIM_NFAULTS:
		return fail(c, s->error_status, NULL, NULL, NULL, "Simulated failure "
		            "(pb-sim --error-rate %g, status %d).", s->error_rate,
		            s->error_status);
	case PB_SIM_F429:
		return fail(c, 429, NULL, NULL, NULL, "Rate limit reached for requests "
		            "(simulated by pb-sim). Please try again in %gs.",
		            s->retry_after);
	case PB_SIM_F500:
		return fail(c, 500, NULL, NULL, NULL, "The server had an error while "
		            "processing your request (simulated by pb-sim).");
	case PB_SIM_F502:
		return fail(c, 502, NULL, NULL, NULL, "Bad gateway (simulated by pb-sim).");
	case PB_SIM_F503:
		return fail(c, 503, NULL, NULL, NULL, "The server is overloaded or not "
		            "ready yet (simulated by pb-sim).");
	case PB_SIM_F504:
		return fail(c, 504, NULL, NULL, NULL, "Gateway timeout (simulated by "
		            "pb-sim).");
	case PB_SIM_F529:
		return fail(c, 529, "overloaded_error", NULL, NULL, "Overloaded "
		            "(simulated by pb-sim).");
	case PB_SIM_FQUOTA:
		/* No Retry-After: waiting does not bring money back. */
		if (fail(c, 429, "insufficient_quota", "insufficient_quota", NULL,
		         "You exceeded your current quota, please check your plan "
		         "and billing details (simulated by pb-sim)."))
			return -1;
		c->r->has_retry_after = 0;
		c->r->should_retry = 0;
		return 0;
	case PB_SIM_FAUTH:
		return fail(c, 401, NULL, NULL, NULL, anth ? "invalid x-api-key "
		            "(simulated by pb-sim)." : "Incorrect API key provided "
		            "(simulated by pb-sim).");
	case PB_SIM_FINVALID:
		return fail(c, 400, NULL, NULL, NULL, "Invalid request (simulated by "
		            "pb-sim).");
	}
	return -1;
}

/* Serves a chat request of either API, faults included. */
static int
chat(struct call *c)
{
	struct pb_sim *s = c->s;
	struct pb_sim_response *r = c->r;
	struct chatreq q = { 0 };
	struct pb_sim_answer a = { 0 };
	cJSON *req, *o = NULL;
	const char *stop;
	enum finish fin;
	long pt = 3;
	size_t i;
	int rv;

	req = cJSON_ParseWithLength(c->q->body, c->q->len);
	if (!req || !cJSON_IsObject(req)) {
		cJSON_Delete(req);
		return fail(c, 400, NULL, NULL, NULL, c->api == ANTHROPIC ?
		            "The request body is not valid JSON: it must be a JSON "
		            "object." : "We could not parse the JSON body of your "
		            "request: it must be a JSON object.");
	}
	rv = c->api == ANTHROPIC ? messages_parse(c, req, &q) : chat_parse(c, req, &q);
	if (rv) {
		chatreq_free(&q);
		cJSON_Delete(req);
		return rv < 0 ? -1 : 0;
	}
	c->key = pb_sim_request_key(q.roles, (const char *const *)q.contents, q.n,
	                            q.temperature);
	c->rep = pb_sim_count(s, c->key);
	c->counted = 1;
	if (c->counting) {
		/* count_tokens: the prompt's tokens as a reply would count them */
		for (i = 0; i < q.n; i++)
			pt += 3 + tokens(q.contents[i]);
		rv = -1;
		if ((o = cJSON_CreateObject()) &&
		    cJSON_AddNumberToObject(o, "input_tokens", (double)pt) &&
		    (r->body = cJSON_PrintUnformatted(o))) {
			r->status = 200;
			rv = 0;
		}
		goto done;
	}
	if ((rv = rate_limit(c)) != 0) {
		rv = rv < 0 ? -1 : 0;
		goto done;
	}
	c->fault = draw_fault(c);
	if (c->fault >= 0 && c->fault != PB_SIM_FMALFORMED &&
	    c->fault != PB_SIM_FSLOW) {
		if (c->fault == PB_SIM_FDROP) {
			r->drop = 1;
			rv = 0;
		} else {
			rv = fault_reply(c, c->fault);
		}
		goto done;
	}
	rv = -1;
	if (pb_sim_answer(s, q.text, c->key, q.temperature, c->rep, &a))
		goto done;
	fin = limit(a.text, &q, &stop);
	for (i = 0; i < q.n; i++)
		pt += 3 + tokens(q.contents[i]);
	o = c->api == ANTHROPIC ? anthropic_reply(c, &q, &a, fin, stop, pt)
	                        : openai_reply(c, &q, &a, fin, pt);
	if (!o || echo_headers(c, o) < 0)
		goto done;
	if (q.stream) {
		r->body = c->api == ANTHROPIC ? anthropic_sse(o) : openai_sse(o, q.include_usage);
		r->content_type = "text/event-stream";
	} else {
		r->body = cJSON_PrintUnformatted(o);
	}
	if (!r->body)
		goto done;
	r->status = 200;
	rv = 0;
	if (c->fault == PB_SIM_FMALFORMED)
		r->body[strlen(r->body) / 2] = '\0'; /* never valid JSON */
	else
		c->answered = 1;
	if (c->fault == PB_SIM_FSLOW)
		r->delay_ms += s->slow_s * 1000;
done:
	cJSON_Delete(o);
	pb_sim_answer_free(&a);
	chatreq_free(&q);
	cJSON_Delete(req);
	return rv;
}

/* Checks the key of an API request: Authorization: Bearer KEY for
 * OpenAI's paths; x-api-key: KEY or Authorization: Bearer KEY for
 * Anthropic's (its SDK sends either, by auth mode); api-key: KEY or
 * Bearer for Azure's.  The messages never repeat what was sent, so no
 * key leaks into a log. */
static int
authorized(struct call *c)
{
	const char *key = c->s->api_key, *h;
	const char *alt = c->api == ANTHROPIC ? c->q->x_api_key :
	                  c->azure ? c->q->api_key : NULL;

	if (alt && !c->q->authorization)
		return strcmp(alt, key) ? BAD(fail(c, 401, NULL, NULL, NULL,
		       c->azure ? "Access denied due to invalid subscription key or "
		       "wrong API endpoint." : "invalid x-api-key")) : 0;
	if (!(h = c->q->authorization))
		return BAD(fail(c, 401, NULL, NULL, NULL, c->api == ANTHROPIC ?
		           "x-api-key header is required (or Authorization: Bearer)" :
		           c->azure ? "Access denied due to missing subscription key. "
		           "Send it as 'api-key: KEY'." : "You didn't provide an API "
		           "key. Send it as 'Authorization: Bearer KEY'."));
	if (strncasecmp(h, "Bearer ", 7))
		return BAD(fail(c, 401, NULL, NULL, NULL, "The Authorization header "
		           "is not 'Bearer KEY'."));
	for (h += 7; *h == ' '; h++)
		;
	return strcmp(h, key) ? BAD(fail(c, 401, NULL, NULL, NULL, c->api == ANTHROPIC ?
	                        "invalid x-api-key" : "Incorrect API key provided.")) : 0;
}

/* ---------------------------------------------------------- statistics */

static void
tally(struct pb_sim *s, const struct call *c)
{
	struct counts *st = &s->priv->stats;

	pthread_mutex_lock(&s->priv->mu);
	st->requests++;
	if (!c->r->drop && c->r->status >= 100 && c->r->status < 600)
		st->by_status[c->r->status]++;
	if (c->fault >= 0)
		st->faults[c->fault]++;
	st->completions += c->answered;
	pthread_mutex_unlock(&s->priv->mu);
}

char *
pb_sim_stats(struct pb_sim *s, int reset)
{
	struct counts *st = malloc(sizeof *st);
	cJSON *o = cJSON_CreateObject(), *bs, *fs;
	char *txt = NULL, k[16];
	int i, ok;

	if (st) {
		pthread_mutex_lock(&s->priv->mu);
		*st = s->priv->stats;
		if (reset)
			memset(&s->priv->stats, 0, sizeof *st);
		pthread_mutex_unlock(&s->priv->mu);
	}
	ok = st && o && cJSON_AddNumberToObject(o, "requests", (double)st->requests) &&
	     cJSON_AddNumberToObject(o, "completions", (double)st->completions) &&
	     (bs = cJSON_AddObjectToObject(o, "by_status")) &&
	     (fs = cJSON_AddObjectToObject(o, "faults"));
	for (i = 100; ok && i < 600; i++) {
		if (!st->by_status[i])
			continue;
		snprintf(k, sizeof k, "%d", i);
		ok = cJSON_AddNumberToObject(bs, k, (double)st->by_status[i]) != NULL;
	}
	for (i = 0; ok && i <= PB_SIM_NFAULTS; i++)
		if (st->faults[i])
			ok = cJSON_AddNumberToObject(fs, i < PB_SIM_NFAULTS ?
			     fault_names[i] : "error-rate", (double)st->faults[i]) != NULL;
	if (ok)
		txt = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	free(st);
	return txt;
}

int
pb_sim_save_stats(struct pb_sim *s, const char *path, char err[PB_ERRLEN])
{
	char *txt = pb_sim_stats(s, 0), *tmp = NULL, *dir = NULL, *slash;
	size_t len;
	int fd = -1, dfd, rv = -1;

	if (!txt || !(tmp = pb_strfmt("%s.XXXXXX", path)) || !(dir = strdup(path))) {
		snprintf(err, PB_ERRLEN, "out of memory");
		goto out;
	}
	if ((fd = mkstemp(tmp)) < 0) {
		snprintf(err, PB_ERRLEN, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	len = strlen(txt);
	txt[len++] = '\n'; /* over the NUL: written by length */
	if (write(fd, txt, len) != (ssize_t)len || fsync(fd) || close(fd)) {
		snprintf(err, PB_ERRLEN, "%s: %s", tmp, strerror(errno ? errno : EIO));
		if (fd >= 0)
			close(fd);
		unlink(tmp);
		fd = -1;
		goto out;
	}
	fd = -1;
	if (rename(tmp, path)) {
		snprintf(err, PB_ERRLEN, "%s: %s", path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	slash = strrchr(dir, '/');
	if (slash)
		slash[slash == dir] = '\0';
	if ((dfd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY)) >= 0) {
		fsync(dfd);
		close(dfd);
	}
	rv = 0;
out:
	free(txt);
	free(tmp);
	free(dir);
	return rv;
}

/* ------------------------------------------------------------ routing */

/* The control endpoints: /pb-sim/... outside the API, never delayed,
 * faulted, checked for a key or counted. */
static int
control(struct call *c)
{
	const struct pb_sim_request *q = c->q;
	struct pb_sim_response *r = c->r;
	int reset = !strcmp(q->path, "/pb-sim/reset");

	if (!reset && strcmp(q->path, "/pb-sim/stats"))
		return fail(c, 404, NULL, NULL, NULL, "Unknown request URL: %s %s.",
		            q->method, q->path);
	if (strcmp(q->method, reset ? "POST" : "GET")) {
		r->allow = reset ? "POST" : "GET";
		return fail(c, 405, NULL, NULL, NULL, "Method %s not allowed for %s "
		            "(allowed: %s).", q->method, q->path, r->allow);
	}
	r->status = 200;
	return (r->body = pb_sim_stats(c->s, reset)) ? 0 : -1;
}

/* Whether path is Azure's /openai/deployments/NAME/chat/completions. */
static int
azure_path(const char *path)
{
	const char *p;

	if (strncmp(path, "/openai/deployments/", 20))
		return 0;
	p = path + 20;
	p += strcspn(p, "/");
	return p > path + 20 && !strcmp(p, "/chat/completions");
}

/* Routes a /v1 request, an Azure deployment's, or an unknown path. */
static int
route(struct call *c)
{
	const struct pb_sim_request *q = c->q;
	const char *path = q->path, *want;
	int rv;

	if (q->too_big)
		return fail(c, 413, NULL, NULL, NULL, "The request body is too large "
		            "for pb-sim.");
	if (strncmp(path, "/v1/", 4) && !c->azure)
		return fail(c, 404, NULL, NULL, NULL, "Unknown request URL: %s %s.",
		            q->method, path);
	if (c->s->api_key && (rv = authorized(c)) != 0)
		return rv < 0 ? -1 : 0;
	if (!strcmp(path, "/v1/chat/completions") || !strcmp(path, "/v1/messages") ||
	    !strcmp(path, "/v1/messages/count_tokens") || c->azure)
		want = "POST";
	else if (!strcmp(path, "/v1/models"))
		want = "GET";
	else
		return fail(c, 404, NULL, NULL, NULL, "Unknown request URL: %s %s.",
		            q->method, path);
	if (strcmp(q->method, want)) {
		c->r->allow = want;
		return fail(c, 405, NULL, NULL, NULL, "Method %s not allowed for %s "
		            "(allowed: %s).", q->method, path, want);
	}
	if (!strcmp(path, "/v1/models"))
		return c->api == ANTHROPIC ? anthropic_models(c->r) : models(c->r);
	if (c->azure && !q->api_version)
		return fail(c, 404, NULL, "404", NULL, "Resource not found: the "
		            "api-version query parameter is required.");
	if (c->api == ANTHROPIC && !c->q->anthropic_version)
		return fail(c, 400, NULL, NULL, NULL, "anthropic-version: header is "
		            "required");
	return chat(c);
}

int
pb_sim_handle(struct pb_sim *s, const struct pb_sim_request *q,
              struct pb_sim_response *r)
{
	struct call c = { s, q, r, OPENAI, 0, 0, 0, -1, 0 };
	int rv;

	memset(r, 0, sizeof *r);
	r->should_retry = -1;
	if (!strncmp(q->path, "/pb-sim/", 8)) {
		rv = control(&c);
		r->should_retry = -1;
		r->has_retry_after = 0;
		goto out;
	}
	/* Anthropic's paths, and any other /v1 path asked with Anthropic's
	 * version header (a model listing, a 404), answer in its shape. */
	if (!strcmp(q->path, "/v1/messages") || !strncmp(q->path, "/v1/messages/", 13) ||
	    (q->anthropic_version && strcmp(q->path, "/v1/chat/completions")))
		c.api = ANTHROPIC;
	c.counting = !strcmp(q->path, "/v1/messages/count_tokens");
	c.azure = azure_path(q->path);
	rv = route(&c);
	if (!c.counted) {
		/* Not a chat request: the jitter comes from the request as
		 * it is, numbered like any other. */
		c.key = pb_hash(q->body ? q->body : "", q->body ? q->len : 0,
		                pb_hash(q->path, strlen(q->path),
		                        pb_hash(q->method, strlen(q->method), 0)));
		c.rep = pb_sim_count(s, c.key);
	}
	r->delay_ms += s->latency_ms;
	if (s->jitter_ms > 0)
		r->delay_ms -= s->jitter_ms *
		    log1p(-unit(mix(c.key, c.rep, s->seed ^ SALT_JITTER)));
	if (!s->should_retry || r->status < 400 || r->drop)
		r->should_retry = -1;
	else if (r->should_retry < 0)
		r->should_retry = r->status == 408 || r->status == 409 ||
		                  r->status == 429 || r->status >= 500;
	if (rv)
		r->status = 500; /* the server says "out of memory" */
	/* Every API reply has its id, as the real servers give one. */
	snprintf(r->request_id, sizeof r->request_id, "req_%016llx",
	         (unsigned long long)mix(c.key, c.rep, s->seed ^ SALT_REQID));
	tally(s, &c);
out:
	if (rv) {
		free(r->body);
		r->body = NULL;
		free(r->headers);
		r->headers = NULL;
		r->content_type = NULL;
		r->status = 500;
	}
	return rv;
}
