/* sim.c - the simulated model behind pb-sim: recognising the task in a
 * prompt, the prompt's skill, whether it gets the answer right, how the
 * reply is phrased, and the OpenAI-shaped HTTP replies.  No sockets here,
 * so all of it is unit-tested directly.
 *
 * Every choice is a hash of the seed and the request's content (and, for
 * temperature > 0, of how many identical requests came before), never of
 * time or of the order in which different requests arrive. */
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "pb.h"

/* Salts keep the hashes drawn for different purposes independent. */
#define SALT_INDEX 0x5a17c0de00000001ULL
#define SALT_SKILL 0x5a17c0de00000002ULL
#define SALT_STYLE 0x5a17c0de00000003ULL
#define SALT_DRAW  0x5a17c0de00000004ULL
#define SALT_WRONG 0x5a17c0de00000005ULL
#define SALT_STEPS 0x5a17c0de00000006ULL
#define SALT_FAULT 0x5a17c0de00000007ULL
#define SALT_ID    0x5a17c0de00000008ULL

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

struct pb_sim_priv {
	struct tab byinput; /* hash of a task's input -> task */
	pthread_mutex_t mu; /* guards seen */
	struct seen seen;
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

static char *
dupf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *
dupf(const char *fmt, ...)
{
	va_list ap;
	int n;
	char *p;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !(p = malloc((size_t)n + 1)))
		return NULL;
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
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
	}
	free(s->tasks);
	for (i = 0; i < s->nworld; i++)
		free(s->world[i].match);
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
	s->tasks[s->ntasks++] = k;
	cJSON_Delete(rec);
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
	double skill;

	if (!rec) {
		snprintf(c->err, PB_ERRLEN, "%s:%ld: %s", at->file, at->line, why);
		return -1;
	}
	if (!(m = pb_json_str(rec, "match")))
		why = "rule has no \"match\" string";
	else if (pb_json_num(rec, "skill", &skill) || !isfinite(skill))
		why = "rule has no \"skill\" number";
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

double
pb_sim_skill(const struct pb_sim *s, const char *text, const char *rest)
{
	struct pb_rng r;
	size_t i;

	for (i = 0; i < s->nworld; i++)
		if (strstr(text, s->world[i].match))
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

/* The answer as the model states it when right. */
static char *
right_given(const struct pb_sim_task *k)
{
	char buf[64];
	int b;

	switch (k->kind) {
	case PB_SIM_NUMBER:
		if (strchr(k->answer, '/'))
			return strdup(k->answer[0] == '+' ? k->answer + 1 : k->answer);
		fmtnum(buf, sizeof buf, k->value);
		return strdup(buf);
	case PB_SIM_BOOL:
		b = bool_word(k->answer);
		return strdup((const char *[]){ "False", "True", "No", "Yes" }[b]);
	case PB_SIM_CHOICE:
		buf[0] = choice_letter(k->answer);
		buf[1] = '\0';
		return strdup(buf);
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
	int b;

	switch (k->kind) {
	case PB_SIM_NUMBER:
		fmtnum(buf, sizeof buf, wrong_number(k->value, h));
		return strdup(buf);
	case PB_SIM_BOOL:
		b = bool_word(k->answer) ^ 1;
		return strdup((const char *[]){ "False", "True", "No", "Yes" }[b]);
	case PB_SIM_CHOICE:
		buf[0] = (char)('A' + (choice_letter(k->answer) - 'A' + 1 + (int)(h % 4)) % 5);
		buf[1] = '\0';
		return strdup(buf);
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
			return dupf("Let me work through this step by step.\n"
			            "First, we have %s.\nThen we add %s: %s + %s = %s.\n"
			            "#### %s", a, b, a, b, g, g);
		case 1:
			return dupf("The answer is %s.", g);
		case 2:
			return dupf("Adding everything up: %s + %s = %s.\n"
			            "So, the grand total is **%s**. Now that's a result "
			            "worth celebrating!", a, b, g, g);
		case 3:
			return dupf("Step 1: start from %s.\nStep 2: add %s to get %s.\n"
			            "Thus, the final amount is **%s**.", a, b, g, g);
		case 4:
			return strdup(g);
		default:
			return dupf("Let's see. Starting from %s and adding %s gives %s.\n"
			            "Final answer: %s", a, b, g, g);
		}
	case PB_SIM_BOOL:
		for (i = 0; g[i] && i + 1 < sizeof low; i++)
			low[i] = (char)(g[i] >= 'A' && g[i] <= 'Z' ? g[i] - 'A' + 'a' : g[i]);
		low[i] = '\0';
		switch (style) {
		case 0:
			return dupf("%s.", g);
		case 1:
			return dupf("%s, because that is what a careful reading of the "
			            "statement shows.", g);
		case 2:
			return dupf("The answer is %s.", low);
		case 3:
			return dupf("**%s**", g);
		case 4:
			return dupf("Answer: %s", g);
		default:
			return dupf("%s. It follows directly from the facts given.", g);
		}
	case PB_SIM_CHOICE:
		switch (style) {
		case 0:
			return dupf("The correct option is (%s).", g);
		case 1:
			return strdup(g);
		case 2:
			return dupf("Answer: %s", g);
		case 3:
			return dupf("The answer is (%s).", g);
		case 4:
			return dupf("(%s)", g);
		default:
			return dupf("Looking at each option in turn, the answer is %s.", g);
		}
	case PB_SIM_TEXT:
		break;
	}
	switch (style % 3) {
	case 0:
		return strdup(g);
	case 1:
		return dupf("The answer is %s.", g);
	default:
		return dupf("Answer: %s", g);
	}
}

int
pb_sim_answer(const struct pb_sim *s, const char *text, uint64_t key,
              double temperature, unsigned long repeat,
              struct pb_sim_answer *a)
{
	const struct pb_sim_task *k;
	size_t at = 0;
	char *rest;

	memset(a, 0, sizeof *a);
	a->task = pb_sim_match(s, text, &at);
	if (a->task < 0) {
		a->text = strdup(NOT_SURE);
		return a->text ? 0 : -1;
	}
	k = &s->tasks[a->task];
	if (!(rest = rest_of(text, at, k->len)))
		return -1;
	a->skill = pb_sim_skill(s, text, rest);
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

char *
pb_sim_error_json(int status, const char *message, const char *param)
{
	const char *type = "invalid_request_error", *code = NULL;
	cJSON *o = cJSON_CreateObject(), *e;
	char *s = NULL;

	if (status == 401)
		type = "authentication_error";
	else if (status == 403)
		type = "permission_error";
	else if (status == 429) {
		type = "requests";
		code = "rate_limit_exceeded";
	} else if (status >= 500)
		type = "server_error";
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

static int
fail(struct pb_sim_response *r, int status, const char *param,
     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int
fail(struct pb_sim_response *r, int status, const char *param,
     const char *fmt, ...)
{
	char msg[PB_ERRLEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	r->status = status;
	r->body = pb_sim_error_json(status, msg, param);
	if (status == 429 || status == 503)
		r->retry_after = 1;
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

/* A parsed chat request: what the simulation and the reply need. */
struct chatreq {
	const char *model;
	size_t n;
	const char **roles;
	char **contents;
	char *text;         /* contents joined by blank lines */
	double temperature;
	long max_tokens;    /* 0: no limit */
	const char *stop[4];
	int nstop;
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

/* Reads and checks a chat request.  0: ok; 1: r holds a 400; -1: ENOMEM. */
static int
chat_parse(const cJSON *req, struct chatreq *q, struct pb_sim_response *r)
{
	const cJSON *msgs, *m, *v;
	size_t i, len = 0;
	const char *mt[] = { "max_completion_tokens", "max_tokens" };

	q->model = "pb-sim";
	q->temperature = 1;
	if ((v = cJSON_GetObjectItemCaseSensitive(req, "model")) && !cJSON_IsNull(v)) {
		if (!cJSON_IsString(v))
			return fail(r, 400, "model", "Invalid type for 'model': expected a string.") ? -1 : 1;
		q->model = v->valuestring;
	}
	msgs = cJSON_GetObjectItemCaseSensitive(req, "messages");
	if (!cJSON_IsArray(msgs) || !(q->n = (size_t)cJSON_GetArraySize(msgs)))
		return fail(r, 400, "messages", "'messages' must be a non-empty array.") ? -1 : 1;
	q->roles = calloc(q->n, sizeof *q->roles);
	q->contents = calloc(q->n, sizeof *q->contents);
	if (!q->roles || !q->contents)
		return -1;
	i = 0;
	cJSON_ArrayForEach(m, msgs) {
		if (!cJSON_IsObject(m) || !(q->roles[i] = pb_json_str(m, "role")))
			return fail(r, 400, "messages", "messages[%zu] has no 'role' string.", i) ? -1 : 1;
		if (!(q->contents[i] = content_text(cJSON_GetObjectItemCaseSensitive(m, "content"))))
			return fail(r, 400, "messages", "messages[%zu].content is not text "
			            "(a string or an array of text parts).", i) ? -1 : 1;
		len += strlen(q->contents[i]) + 2;
		i++;
	}
	if (!(q->text = malloc(len + 1)))
		return -1;
	for (i = 0, len = 0; i < q->n; i++) {
		if (i) {
			memcpy(q->text + len, "\n\n", 2);
			len += 2;
		}
		strcpy(q->text + len, q->contents[i]);
		len += strlen(q->contents[i]);
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(req, "temperature")) && !cJSON_IsNull(v)) {
		if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0 && v->valuedouble <= 2))
			return fail(r, 400, "temperature", "'temperature' must be a number "
			            "from 0 to 2.") ? -1 : 1;
		q->temperature = v->valuedouble;
	}
	for (i = 0; i < 2; i++) {
		double x;
		if (!(v = cJSON_GetObjectItemCaseSensitive(req, mt[i])) || cJSON_IsNull(v))
			continue;
		x = cJSON_IsNumber(v) ? v->valuedouble : -1;
		if (x < 1 || x != floor(x) || x > 1e9)
			return fail(r, 400, mt[i], "'%s' must be a positive integer.", mt[i]) ? -1 : 1;
		if (!q->max_tokens || (long)x < q->max_tokens)
			q->max_tokens = (long)x;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(req, "stop")) && !cJSON_IsNull(v)) {
		const cJSON *x;
		if (cJSON_IsString(v)) {
			q->stop[q->nstop++] = v->valuestring;
		} else if (cJSON_IsArray(v) && cJSON_GetArraySize(v) <= 4) {
			cJSON_ArrayForEach(x, v) {
				if (!cJSON_IsString(x))
					break;
				q->stop[q->nstop++] = x->valuestring;
			}
			if (x)
				q->nstop = -1;
		} else {
			q->nstop = -1;
		}
		if (q->nstop < 0)
			return fail(r, 400, "stop", "'stop' must be a string or an array "
			            "of up to 4 strings.") ? -1 : 1;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(req, "n")) && !cJSON_IsNull(v) &&
	    !(cJSON_IsNumber(v) && v->valuedouble == 1))
		return fail(r, 400, "n", "pb-sim gives one choice only: 'n' must be 1.") ? -1 : 1;
	if ((v = cJSON_GetObjectItemCaseSensitive(req, "stream")) && cJSON_IsTrue(v))
		return fail(r, 400, "stream", "pb-sim does not stream: 'stream' must be false.") ? -1 : 1;
	return 0;
}

/* Cuts text at the first stop sequence, or to max_tokens.  Returns the
 * finish reason. */
static const char *
limit(char *text, const struct chatreq *q)
{
	int i;

	for (i = 0; i < q->nstop; i++) {
		char *p;
		if (*q->stop[i] && (p = strstr(text, q->stop[i])))
			*p = '\0';
	}
	if (q->max_tokens && tokens(text) > q->max_tokens) {
		size_t n = (size_t)q->max_tokens * 4;
		/* not inside a UTF-8 sequence */
		while (n > 0 && ((unsigned char)text[n] & 0xc0) == 0x80)
			n--;
		text[n] = '\0';
		return "length";
	}
	return "stop";
}

static int
chat(struct pb_sim *s, const char *body, size_t len, struct pb_sim_response *r)
{
	struct chatreq q = { 0 };
	struct pb_sim_answer a = { 0 };
	cJSON *req, *o = NULL, *ch, *c, *msg, *u, *x;
	const char *finish;
	char id[40];
	uint64_t key;
	unsigned long rep;
	long pt = 3;
	size_t i;
	int rv;

	req = cJSON_ParseWithLength(body, len);
	if (!req || !cJSON_IsObject(req)) {
		cJSON_Delete(req);
		return fail(r, 400, NULL, "We could not parse the JSON body of your "
		            "request: it must be a JSON object.");
	}
	if ((rv = chat_parse(req, &q, r)) != 0) {
		chatreq_free(&q);
		cJSON_Delete(req);
		return rv < 0 ? -1 : 0;
	}
	key = pb_sim_request_key(q.roles, (const char *const *)q.contents, q.n,
	                         q.temperature);
	rep = pb_sim_count(s, key);
	if (s->error_rate > 0 &&
	    unit(mix(key, rep, s->seed ^ SALT_FAULT)) < s->error_rate) {
		rv = fail(r, s->error_status, NULL, "Simulated failure "
		          "(pb-sim --error-rate %g, status %d).", s->error_rate,
		          s->error_status);
		goto done;
	}
	rv = -1;
	if (pb_sim_answer(s, q.text, key, q.temperature, rep, &a))
		goto done;
	finish = limit(a.text, &q);
	for (i = 0; i < q.n; i++)
		pt += 3 + tokens(q.contents[i]);
	snprintf(id, sizeof id, "chatcmpl-%016llx",
	         (unsigned long long)mix(key, rep, s->seed ^ SALT_ID));
	if (!(o = cJSON_CreateObject()) ||
	    !cJSON_AddStringToObject(o, "id", id) ||
	    !cJSON_AddStringToObject(o, "object", "chat.completion") ||
	    !cJSON_AddNumberToObject(o, "created", 0) ||
	    !cJSON_AddStringToObject(o, "model", q.model) ||
	    !(ch = cJSON_AddArrayToObject(o, "choices")) ||
	    !(c = cJSON_CreateObject()))
		goto done;
	cJSON_AddItemToArray(ch, c);
	if (!cJSON_AddNumberToObject(c, "index", 0) ||
	    !(msg = cJSON_AddObjectToObject(c, "message")) ||
	    !cJSON_AddStringToObject(msg, "role", "assistant") ||
	    !cJSON_AddStringToObject(msg, "content", a.text) ||
	    !cJSON_AddNullToObject(c, "logprobs") ||
	    !cJSON_AddStringToObject(c, "finish_reason", finish) ||
	    !(u = cJSON_AddObjectToObject(o, "usage")) ||
	    !cJSON_AddNumberToObject(u, "prompt_tokens", (double)pt) ||
	    !cJSON_AddNumberToObject(u, "completion_tokens", (double)tokens(a.text)) ||
	    !cJSON_AddNumberToObject(u, "total_tokens", (double)(pt + tokens(a.text))) ||
	    !(x = cJSON_AddObjectToObject(o, "x_pb_sim")))
		goto done;
	/* What the simulation decided, for tests and curious people. */
	if ((a.task >= 0 && s->tasks[a.task].id
	     ? !cJSON_AddStringToObject(x, "task", s->tasks[a.task].id)
	     : !cJSON_AddNullToObject(x, "task")) ||
	    !cJSON_AddNumberToObject(x, "skill", a.skill) ||
	    !cJSON_AddNumberToObject(x, "p", a.p) ||
	    !cJSON_AddBoolToObject(x, "correct", a.correct) ||
	    !cJSON_AddNumberToObject(x, "repeat", (double)rep))
		goto done;
	if ((r->body = cJSON_PrintUnformatted(o))) {
		r->status = 200;
		rv = 0;
	}
done:
	cJSON_Delete(o);
	pb_sim_answer_free(&a);
	chatreq_free(&q);
	cJSON_Delete(req);
	return rv;
}

int
pb_sim_handle(struct pb_sim *s, const char *method, const char *path,
              const char *body, size_t len, struct pb_sim_response *r)
{
	memset(r, 0, sizeof *r);
	if (!strcmp(path, "/v1/chat/completions")) {
		if (!strcmp(method, "POST"))
			return chat(s, body, len, r);
		r->allow = "POST";
	} else if (!strcmp(path, "/v1/models")) {
		if (!strcmp(method, "GET"))
			return models(r);
		r->allow = "GET";
	} else {
		return fail(r, 404, NULL, "Unknown request URL: %s %s.", method, path);
	}
	return fail(r, 405, NULL, "Method %s not allowed for %s (allowed: %s).",
	            method, path, r->allow);
}
