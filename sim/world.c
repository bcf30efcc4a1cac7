/* world.c - what the simulation knows: the tasks it can be asked (each
 * answer's kind, for making wrong ones), the world file's rules of skill,
 * recognising the task in a prompt and the prompt's skill.
 *
 * Every choice is a hash of the seed and the request's content, never of
 * time or of the order in which requests arrive (see sim.h). */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define MAXSPAN 16 /* paragraphs a task input may span, for the fast match */

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
	if (sim_parse_number(k->answer, &k->value))
		k->kind = PB_SIM_NUMBER;
	else if (sim_bool_word(k->answer) >= 0)
		k->kind = PB_SIM_BOOL;
	else if (sim_choice_letter(k->answer))
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
