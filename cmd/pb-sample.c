/* pb-sample - pick an arm for each task and write one pull record each.
 *
 * Three phases, so the state's lock is never held while we read a slow
 * input or write into a pipe that pb-update (waiting on the same lock)
 * drains: read and check the tasks; lock, choose arms, record the pulls
 * as pending, save, unlock; then write the records. */
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/pb.h"
#include "util.h"

static void
usage(FILE *fp, int status)
{
	fprintf(fp,
	    "usage: pb-sample [-s STATE] [-n N] [--seed N] [-k K|all] [--arms ID,...]\n"
	    "                 [-t TEMPLATE] [--system] [--system-template TEMPLATE]\n"
	    "                 [--input-field F] [FILE...]\n"
	    "Choose arms for each task with the state's policy; write pull records.\n"
	    "  -s, --state STATE         the state file (default $PB_STATE)\n"
	    "  -n, --count N             draw N tasks at random (default: every task, in order)\n"
	    "      --seed N              seed for drawing tasks (default: the state's generator)\n"
	    "  -k, --arms-per-task K|all send each task to K distinct arms (default: the\n"
	    "                            policy's k, else 1; race: all its surviving arms;\n"
	    "                            race, lucb, top-two with K: the leader and K-1\n"
	    "                            challengers), paired in the state\n"
	    "      --arms ID,...         choose only among these arms\n"
	    "  -t, --template TEMPLATE   user message, with {field} placeholders from the\n"
	    "                            arm and the task (default: prefix, blank line, input)\n"
	    "      --system              put the arm's prefix in a system message\n"
	    "      --system-template TEMPLATE\n"
	    "                            render the system message from a template\n"
	    "      --input-field F       the task field holding the input text\n"
	    "                            (default: input, else question, else prompt)\n"
	    "  -h, --help                show this help\n"
	    "      --version             show the version\n");
	usage_end(fp, status);
}

static const char *input_field;   /* NULL: the first of the defaults present */
static const char *ctx_field;     /* the state's context field, or NULL */
static const char *tmpl, *sys_tmpl;
static int sys_prefix;


static const char *
find_input(const cJSON *task)
{
	static const char *defaults[] = { "input", "question", "prompt" };
	size_t i;

	if (input_field)
		return pb_json_str(task, input_field) ? input_field : NULL;
	for (i = 0; i < sizeof defaults / sizeof *defaults; i++)
		if (pb_json_str(task, defaults[i]))
			return defaults[i];
	return NULL;
}

/* One task of the input: its identity and where its line is spooled. */
struct task {
	char *key;        /* pb_task_key */
	uint64_t dig;
	const char *file; /* where it was read, for messages */
	long line;
	long off, len;    /* its line in the spool file */
	long pos;         /* its position in its context's pool (phase 2),
	                   * -2: changed, -3: a duplicate line */
};

/* Phase 1: the tasks read, the closure of the record loop. */
struct input {
	struct task *v; /* the tasks read */
	size_t n, cap;
	long bad;
	const struct pb_state *tmplst; /* arms the templates must fit */
	char **cname;   /* context values seen, and each task's (tctx) */
	size_t ncname;
	int *tctx;
	size_t tcap;
	FILE *spool;   /* the tasks' lines, read again to write the pulls */
	struct pb_tasks seen; /* context and id of every task read: duplicates */
};

/* Why a context's tasks get no more pulls in this run. */
enum stop {
	GOING,     /* still sampled */
	STOPPED,   /* its policy has stopped */
	EXHAUSTED, /* the pool is used up for the arms in contention */
	USED_UP    /* this input's tasks are, though the pool is not */
};

/* Phase 2: one context's pool as this input sees it (the state's own
 * pool when it keeps no contexts). */
struct pool {
	int ci;             /* the state's index of the context, or -1 */
	long *tin;          /* per pool position: the input task there, or -1 */
	long *nxt;          /* per position: the next one this input has */
	unsigned char *exh; /* per arm: has used every task this input offers */
	size_t nexh;
	enum stop stop;
	long skipped;       /* tasks not sampled, once stopped */
	char *why;          /* EXHAUSTED: in words */
};

/* Phase 2: what the choosing loop shares. */
struct sampling {
	struct pb_state *st;
	struct input *in;
	struct pool *pool;
	size_t npool;
	const unsigned char *allow; /* --arms, or NULL */
	long perk;                  /* arms per task (0: every arm) */
	FILE *choices;  /* per slot: first pull id, m, the input task, then m
	                 * arms (longs) */
	int *chosen;
	unsigned char *mask, *in_contention;
	long spent;     /* pulls handed out */
	size_t nchoice; /* slots filled */
};

/* Phase 3: writing the pulls. */
struct output {
	const struct pb_state *st;
	const struct input *in;
	FILE *choices;
	char **armjson; /* each arm's id as a JSON string */
	char **cjson;   /* each context value as one */
	long repeats;   /* pulls of one (arm, task): records carry "sample" */
};

/* Every spool file error: the one message. */
static void
spooled(int rv, const char *err)
{
	if (rv < 0)
		die("spool file: %s", err);
}

/* A template must render for this task with every arm, or the error
 * would surface only after the pulls were recorded. */
static int
template_fits(const struct pb_state *st, const cJSON *task,
              const struct pb_where *at)
{
	const char *t[2] = { tmpl, sys_tmpl }, *opt[2] = { "--template",
	                     "--system-template" };
	char err[PB_ERRLEN], *s;
	size_t a;
	int k;

	for (k = 0; k < 2; k++)
		for (a = 0; t[k] && a < st->narms; a++) {
			if (!(s = pb_render(t[k], st->arms[a].fields, task,
			                    find_input(task), err))) {
				warnx_("%s:%ld: %s with arm '%s': %s", at->file, at->line,
				       opt[k], st->arms[a].id, err);
				return 0;
			}
			free(s);
		}
	return 1;
}

/* The task's context value, its index in in->cname (added if new), or
 * -1 with a warning when it has none. */
static int
task_context(struct input *in, const cJSON *rec, const struct pb_where *at)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, ctx_field);
	char num[64], *name;
	size_t k;

	if (cJSON_IsString(v) && *v->valuestring)
		name = v->valuestring;
	else if (cJSON_IsNumber(v))
		snprintf(name = num, sizeof num, "%.17g", v->valuedouble);
	else {
		warnx_("%s:%ld: task has no \"%s\" (the state's context field: "
		       "a string or a number)", at->file, at->line, ctx_field);
		return -1;
	}
	for (k = 0; k < in->ncname && strcmp(in->cname[k], name); k++)
		;
	if (k == in->ncname) {
		in->cname = erealloc(in->cname, (k + 1) * sizeof *in->cname);
		in->cname[in->ncname++] = estrdup(name);
	}
	return (int)k;
}

/* Whether task key of context tc was read already: the same task twice
 * in the input is one task (1); the same id with another input is an
 * error (2, reported).  Else it is remembered as task in->n (0). */
static int
seen_before(struct input *in, int tc, const char *key, uint64_t dig,
            const struct pb_where *at)
{
	char seenkey[64], *sk = emalloc(strlen(key) + sizeof seenkey);
	long prev;
	int rv = 0;

	snprintf(seenkey, sizeof seenkey, "%d\n", tc);
	strcpy(sk, seenkey);
	strcat(sk, key);
	if ((prev = pb_tasks_find(&in->seen, sk)) >= 0) {
		const struct task *p = &in->v[in->seen.dig[prev]];
		rv = 1;
		if (p->dig != dig) {
			warnx_("%s:%ld: task '%s' is in %s:%ld already, with another "
			       "input", at->file, at->line, key, p->file, p->line);
			rv = 2;
		}
	} else if (pb_tasks_add(&in->seen, sk, in->n) < 0) {
		die("out of memory");
	}
	free(sk);
	return rv;
}

static int
read_task(cJSON *rec, const struct pb_where *at, const char *why, void *arg)
{
	struct input *in = arg;
	char err[PB_ERRLEN], *key;
	uint64_t dig;
	long off;
	int tc = -1, dup;

	if (!rec) {
		warnx_("%s:%ld: %s", at->file, at->line, why);
		in->bad++;
		return 0;
	}
	if (!find_input(rec)) {
		warnx_("%s:%ld: task has no \"%s\" string field%s", at->file, at->line,
		       input_field ? input_field : "input",
		       input_field ? "" : " (nor question, prompt; see --input-field)");
		goto bad;
	}
	if (!template_fits(in->tmplst, rec, at) ||
	    (ctx_field && (tc = task_context(in, rec, at)) < 0))
		goto bad;
	if (!(key = pb_task_key(rec, pb_json_str(rec, find_input(rec)), &dig, err))) {
		warnx_("%s:%ld: %s", at->file, at->line, err);
		goto bad;
	}
	cJSON_Delete(rec);
	if ((dup = seen_before(in, tc, key, dig, at))) {
		in->bad += dup == 2;
		free(key);
		return 0;
	}
	if (in->n == in->cap) {
		in->cap = in->cap ? 2 * in->cap : 256;
		in->v = erealloc(in->v, in->cap * sizeof *in->v);
	}
	if (ctx_field) {
		if (in->n == in->tcap) {
			in->tcap = in->tcap ? 2 * in->tcap : 256;
			in->tctx = erealloc(in->tctx, in->tcap * sizeof *in->tctx);
		}
		in->tctx[in->n] = tc;
	}
	/* the line as read: it is valid, and passed on byte for byte */
	spooled(pb_spool_line(in->spool, at->text, at->len, &off, err), err);
	in->v[in->n] = (struct task){ key, dig, at->file, at->line, off,
	                              (long)at->len, -1 };
	in->n++;
	return 0;
bad:
	in->bad++;
	cJSON_Delete(rec);
	return 0;
}

static cJSON *
message(const char *role, const char *content)
{
	cJSON *m = cJSON_CreateObject();

	cJSON_AddStringToObject(m, "role", role);
	cJSON_AddStringToObject(m, "content", content);
	return m;
}

/* Builds the chat messages for one pull. */
static cJSON *
render(const cJSON *arm, const cJSON *task, long pull)
{
	const char *field = find_input(task), *prefix = pb_json_str(arm, "prefix");
	cJSON *msgs = cJSON_CreateArray();
	char err[PB_ERRLEN], *s;

	if (!prefix)
		prefix = "";
	if (sys_tmpl) {
		if (!(s = pb_render(sys_tmpl, arm, task, field, err)))
			die("pull %ld: --system-template: %s", pull, err);
		cJSON_AddItemToArray(msgs, message("system", s));
		free(s);
	} else if (sys_prefix && *prefix) {
		cJSON_AddItemToArray(msgs, message("system", prefix));
	}
	if (tmpl) {
		if (!(s = pb_render(tmpl, arm, task, field, err)))
			die("pull %ld: --template: %s", pull, err);
	} else if (sys_prefix || sys_tmpl || !*prefix) {
		s = estrdup(pb_json_str(task, field));
	} else {
		const char *in = pb_json_str(task, field);
		s = emalloc(strlen(prefix) + strlen(in) + 3);
		sprintf(s, "%s\n\n%s", prefix, in);
	}
	cJSON_AddItemToArray(msgs, message("user", s));
	free(s);
	return msgs;
}

static char *
json_string(const char *s)
{
	cJSON *v = cJSON_CreateString(s);
	char *t;

	if (!v || !(t = cJSON_PrintUnformatted(v)))
		die("out of memory");
	cJSON_Delete(v);
	return t;
}

/* Fills task[0..nout) with task indexes drawn without replacement, pass
 * after pass when nout exceeds the number of tasks. */
static void
draw(size_t *task, size_t nout, size_t ntasks, struct pb_rng *r)
{
	size_t *perm = emalloc(ntasks * sizeof *perm), i = 0, k, j, t;

	while (i < nout) {
		for (k = 0; k < ntasks; k++)
			perm[k] = k;
		for (k = 0; k < ntasks && i < nout; k++, i++) {
			j = k + (size_t)pb_rng_below(r, ntasks - k);
			t = perm[k];
			perm[k] = perm[j];
			perm[j] = t;
			task[i] = perm[k];
		}
	}
	free(perm);
}

/* Parses --arms: a mask over st's arms; every id must be in the pool. */
static unsigned char *
arms_mask(const struct pb_state *st, const char *list)
{
	unsigned char *mask = ecalloc(st->narms, 1);
	char *copy = estrdup(list), *id, *save = NULL;
	int a, any = 0;

	for (id = strtok_r(copy, ",", &save); id; id = strtok_r(NULL, ",", &save)) {
		if ((a = pb_state_find_arm(st, id)) < 0)
			die("--arms: no arm '%s' in the state", id);
		if (st->arms[a].retired)
			die("--arms: arm '%s' is retired", id);
		if (mask[a])
			die("--arms: arm '%s' is named twice", id);
		mask[a] = any = 1;
	}
	if (!any)
		die("--arms: no arm named");
	free(copy);
	return mask;
}

/* Writes the pull records of one choice: its head (first pull id, m,
 * the input task) and m arms from the choices spool; the task goes out
 * as the text it came in, read back from the tasks spool, and the record
 * is put together as text: printing the task back from its tree would
 * cost more than everything else pb-sample does. */
static void
write_pulls(const struct output *o, char **buf, size_t *cap)
{
	long head[3], arm, j;
	const struct task *tk;
	char err[PB_ERRLEN], *m;
	cJSON *task, *msgs;

	spooled(pb_spool_read(o->choices, head, sizeof head, err), err);
	tk = &o->in->v[head[2]];
	if ((size_t)tk->len + 1 > *cap)
		*buf = erealloc(*buf, *cap = (size_t)tk->len + 1);
	spooled(pb_spool_read_at(o->in->spool, tk->off, *buf, (size_t)tk->len, err), err);
	(*buf)[tk->len] = '\0';
	if (!(task = cJSON_Parse(*buf)))
		die("spool file: a task no longer parses");
	for (j = 0; j < head[1]; j++) {
		spooled(pb_spool_read(o->choices, &arm, sizeof arm, err), err);
		msgs = render(o->st->arms[arm].fields, task, head[0] + j);
		if (!(m = cJSON_PrintUnformatted(msgs)))
			die("out of memory");
		printf("{\"run\":\"%s\",\"pull\":%ld,\"arm\":%s,", o->st->run,
		       head[0] + j, o->armjson[arm]);
		if (head[1] > 1)
			printf("\"group\":%ld,", head[0]);
		if (o->repeats > 1)
			printf("\"sample\":%ld,", j % o->repeats);
		if (ctx_field)
			printf("\"context\":%s,", o->cjson[o->in->tctx[head[2]]]);
		fputs("\"task\":", stdout);
		fwrite(*buf, 1, (size_t)tk->len, stdout);
		fputs(",\"messages\":", stdout);
		fputs(m, stdout);
		if (fputs("}\n", stdout) == EOF)
			die("write error:");
		cJSON_free(m);
		cJSON_Delete(msgs);
	}
	cJSON_Delete(task);
}

/* Phase 3: the pulls of the nchoice slots spooled in choices. */
static void
write_all(const struct pb_state *st, const struct input *in, FILE *choices,
          size_t nchoice)
{
	struct output o = { .st = st, .in = in, .choices = choices,
	                    .repeats = st->repeats > 1 ? st->repeats : 1 };
	char err[PB_ERRLEN], *buf = NULL;
	size_t i, cap = 0;

	spooled(pb_spool_rewind(choices, err), err);
	o.armjson = emalloc((st->narms ? st->narms : 1) * sizeof *o.armjson);
	for (i = 0; i < st->narms; i++)
		o.armjson[i] = json_string(st->arms[i].id);
	o.cjson = emalloc((in->ncname ? in->ncname : 1) * sizeof *o.cjson);
	for (i = 0; i < in->ncname; i++)
		o.cjson[i] = json_string(in->cname[i]);
	for (i = 0; i < nchoice; i++)
		write_pulls(&o, &buf, &cap);
	free(buf);
	for (i = 0; i < st->narms; i++)
		cJSON_free(o.armjson[i]);
	for (i = 0; i < in->ncname; i++)
		cJSON_free(o.cjson[i]);
	free(o.armjson);
	free(o.cjson);
}

/* The tasks join their pools; each pool's positions that this input
 * has (tin) and, from each position, the next one it has (nxt).  A task
 * whose input changed under its id is reported and left out. */
static void
learn_pools(struct pb_state *st, struct input *in, struct pool *pool, size_t nk)
{
	char **ids = emalloc((in->n ? in->n : 1) * sizeof *ids);
	uint64_t *digs = emalloc((in->n ? in->n : 1) * sizeof *digs);
	long *pos = emalloc((in->n ? in->n : 1) * sizeof *pos),
	     *which = emalloc((in->n ? in->n : 1) * sizeof *which);
	size_t i, k, m, t;

	for (k = 0; k < nk; k++) {
		const struct pb_tasks *tasks;
		struct pool *p = &pool[k];
		for (i = 0, m = 0; i < in->n; i++)
			if (!ctx_field || in->tctx[i] == (int)k) {
				ids[m] = in->v[i].key;
				digs[m] = in->v[i].dig;
				which[m++] = (long)i;
			}
		if (pb_state_learn(st, p->ci, m, ids, digs, pos) < 0)
			die("out of memory");
		tasks = pb_state_tasks(st, p->ci);
		p->tin = emalloc((tasks->n + 1) * sizeof *p->tin);
		p->nxt = emalloc((tasks->n + 1) * sizeof *p->nxt);
		for (t = 0; t <= tasks->n; t++)
			p->tin[t] = -1;
		for (i = 0; i < m; i++) {
			struct task *tk = &in->v[which[i]];
			if ((tk->pos = pos[i]) == -2) {
				warnx_("%s:%ld: task '%s' changed: its input is not the one "
				       "the state has under this id", tk->file, tk->line, tk->key);
				in->bad++;
				continue;
			}
			p->tin[pos[i]] = which[i];
		}
		p->nxt[tasks->n] = (long)tasks->n;
		for (t = tasks->n; t-- > 0;)
			p->nxt[t] = p->tin[t] >= 0 ? (long)t : p->nxt[t + 1];
	}
	free(ids);
	free(digs);
	free(pos);
	free(which);
}

/* The slots: one per choice, each in the context of an input task
 * (every task in order, or count drawn at random, with an rng of seed
 * seed or the state's).  *nout receives how many. */
static size_t *
slots(struct pb_state *st, const struct input *in, long count, long seed,
      size_t nuse, size_t *nout)
{
	size_t *use = emalloc(nuse * sizeof *use), *task, u = 0, i;
	struct pb_rng rng;

	for (i = 0; i < in->n; i++)
		if (in->v[i].pos >= 0)
			use[u++] = i;
	*nout = count < 0 ? nuse : (size_t)count;
	task = emalloc(*nout * sizeof *task);
	if (count < 0) {
		memcpy(task, use, *nout * sizeof *task);
	} else {
		if (seed >= 0)
			pb_rng_seed(&rng, (uint64_t)seed);
		draw(task, *nout, nuse, seed >= 0 ? &rng : &st->rng);
		for (i = 0; i < *nout; i++)
			task[i] = use[task[i]];
	}
	free(use);
	return task;
}

/* The arms allowed for a task of pool p, now that some arms have used
 * every task this input offers: the mask, or NULL when none has; or it
 * stops p (returns 0) when no arm in contention is left. */
static int
arms_left(struct sampling *sm, struct pool *p, const unsigned char **allow)
{
	const struct pb_state *st = sm->st;
	char err[PB_ERRLEN];
	size_t a, left = 0;

	*allow = sm->allow;
	if (!p->nexh)
		return 1;
	if (pb_state_contention(st, p->ci, sm->in_contention) < 0)
		die("out of memory");
	for (a = 0; a < st->narms; a++)
		left += sm->in_contention[a] && !p->exh[a] && (!sm->allow || sm->allow[a]);
	if (left == 0) {
		/* Never recycle: no new evidence can come from here. */
		p->stop = pb_state_exhausted(st, p->ci, err) ? EXHAUSTED : USED_UP;
		if (p->stop == EXHAUSTED)
			p->why = estrdup(err);
		return 0;
	}
	for (a = 0; a < st->narms; a++)
		sm->mask[a] = !p->exh[a] && (!sm->allow || sm->allow[a]);
	*allow = sm->mask;
	return 1;
}

/* Chooses the arms of input task t, hands each its pulls of the task's
 * next position in the pool, and spools the choice. */
static void
sample_task(struct sampling *sm, size_t t)
{
	struct pb_state *st = sm->st;
	struct pool *p = &sm->pool[ctx_field ? (size_t)sm->in->tctx[t] : 0];
	long R = st->repeats > 1 ? st->repeats : 1, pos, first, head[3], a;
	const unsigned char *allow;
	char err[PB_ERRLEN];
	int m, j, s;

	if (p->stop != GOING || !arms_left(sm, p, &allow)) {
		p->skipped++;
		return;
	}
	if ((m = pb_state_choose(st, p->ci, (size_t)sm->perk, allow, sm->chosen)) < 0)
		die("out of memory");
	if (m == 0)
		die("no arm left to choose from");
	pos = pb_state_next_pos(st, p->ci, sm->chosen, (size_t)m, p->nxt);
	if (pos < 0)
		die("internal error: no task for a chosen arm");
	if ((first = pb_state_hand_out_group(st, p->ci, pos, sm->chosen, (size_t)m)) < 0)
		die("out of memory");
	head[0] = first;
	head[1] = m * R;
	head[2] = p->tin[pos];
	spooled(pb_spool_write(sm->choices, head, sizeof head, err), err);
	for (j = 0; j < m; j++) {
		int one = sm->chosen[j];
		for (s = 0, a = one; s < R; s++)
			spooled(pb_spool_write(sm->choices, &a, sizeof a, err), err);
		if (!p->exh[one] && pb_state_next_pos(st, p->ci, &one, 1, p->nxt) < 0) {
			p->exh[one] = 1;
			p->nexh++;
		}
	}
	sm->spent += m * R;
	sm->nchoice++;
}

/* The choosing loop over the nout slots; a fixed budget may run out
 * inside it, which then ends at the task that spends it. */
static void
sample_all(struct sampling *sm, const size_t *task, size_t nout)
{
	struct pb_state *st = sm->st;
	double budget = pb_policy_budget(&st->pol);
	size_t i, k, a;

	for (k = 0; k < sm->npool; k++) {
		/* The arms that have used every task this input offers. */
		struct pool *p = &sm->pool[k];
		p->exh = emalloc(st->narms ? st->narms : 1);
		for (a = 0; a < st->narms; a++) {
			int one = (int)a;
			p->exh[a] = pb_state_next_pos(st, p->ci, &one, 1, p->nxt) < 0;
			p->nexh += p->exh[a];
		}
	}
	for (i = 0; i < nout; i++) {
		/* A budget counts pulls handed out, whatever the pool. */
		if (i > 0 && !isnan(budget) && st->next_pull - 1 >= (long)budget) {
			if (sm->perk == 1)
				warnx_("budget of %.0f pulls reached: %zu of %zu pulls "
				       "written", budget, i, nout);
			else
				warnx_("budget of %.0f pulls reached: %zu of %zu tasks "
				       "sampled", budget, i, nout);
			break;
		}
		sample_task(sm, task[i]);
	}
}

/* After the loop: why contexts (or the state) stopped, and, when
 * nothing was handed out, the exit. */
static void
say_stops(const struct sampling *sm, size_t nout, int fd)
{
	const struct pb_state *st = sm->st;
	size_t i;

	for (i = 0; i < sm->npool; i++) {
		const struct pool *p = &sm->pool[i];
		const char *name = ctx_field ? sm->in->cname[i] : NULL;
		if (p->stop == EXHAUSTED && (sm->spent > 0 || ctx_field))
			warnx_("%s%s%s%s", name ? "context " : "", name ? name : "",
			       name ? ": " : "", p->why);
		if (p->stop == USED_UP && (sm->spent > 0 || ctx_field))
			warnx_("%s%s%sthe arms in contention have used every task of "
			       "this input (%zu in the pool)", name ? "context " : "",
			       name ? name : "", name ? ": " : "",
			       pb_state_pool_size(st, p->ci));
		if (ctx_field && p->skipped && p->stop == STOPPED)
			warnx_("context %s: %ld task%s not sampled: its policy has stopped",
			       sm->in->cname[i], p->skipped, p->skipped == 1 ? "" : "s");
	}
	if (sm->spent == 0) {
		/* Nothing to hand out: every context has stopped, or the pool
		 * is used up. */
		pb_state_unlock(fd);
		if (!ctx_field && sm->pool[0].stop == EXHAUSTED)
			die_status(PB_EXIT_DONE, "done: %s", sm->pool[0].why);
		if (!ctx_field && sm->pool[0].stop == USED_UP)
			die("the arms in contention have used every task of this input "
			    "(%zu in the pool); state not changed", pb_state_pool_size(st, -1));
		for (i = 0; i < sm->npool && sm->pool[i].stop != USED_UP; i++)
			;
		if (i < sm->npool)
			die("no task of this input is left for the arms in contention; "
			    "state not changed");
		die_status(PB_EXIT_DONE, "done: every context of these tasks has "
		           "stopped");
	}
	if (sm->nchoice < nout && !ctx_field && sm->pool[0].stop >= EXHAUSTED)
		warnx_("%zu of %zu tasks sampled", sm->nchoice, nout);
}

/* Everything the options decide. */
struct opts {
	const char *state, *arms; /* -s, --arms */
	long count, seed, perk;   /* -n, --seed, -k (0: all); -1: not given */
};

static void
parse(int argc, char **argv, struct opts *o)
{
	enum { O_SEED = 256, O_SYSTEM, O_SYSTMPL, O_INPUT, O_ARMS, O_VERSION };
	static const struct option opts[] = {
		{ "state", required_argument, NULL, 's' },
		{ "count", required_argument, NULL, 'n' },
		{ "seed", required_argument, NULL, O_SEED },
		{ "arms-per-task", required_argument, NULL, 'k' },
		{ "arms", required_argument, NULL, O_ARMS },
		{ "template", required_argument, NULL, 't' },
		{ "system", no_argument, NULL, O_SYSTEM },
		{ "system-template", required_argument, NULL, O_SYSTMPL },
		{ "input-field", required_argument, NULL, O_INPUT },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, O_VERSION },
		{ 0 }
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "s:n:k:t:h", opts, NULL)) != -1) {
		switch (ch) {
		case 's': o->state = optarg; break;
		case 'n': o->count = intarg("-n", optarg, 1, INT_MAX); break;
		case O_SEED: o->seed = intarg("--seed", optarg, 0, LONG_MAX); break;
		case 'k':
			o->perk = !strcmp(optarg, "all") ? 0 :
			          intarg("--arms-per-task", optarg, 1, INT_MAX);
			break;
		case O_ARMS: o->arms = optarg; break;
		case 't': tmpl = optarg; break;
		case O_SYSTEM: sys_prefix = 1; break;
		case O_SYSTMPL: sys_tmpl = optarg; break;
		case O_INPUT: input_field = optarg; break;
		case 'h': usage(stdout, PB_EXIT_OK); break;
		case O_VERSION: version(); break;
		default: usage(stderr, PB_EXIT_USAGE);
		}
	}
	o->state = statepath(o->state);
	if (sys_prefix && sys_tmpl)
		die("--system and --system-template exclude each other");
}

/* Phase 1: check the state before reading a long input only to fail (or
 * to find the policy has stopped; with contexts, each context stops on
 * its own, which only the tasks can tell), then read and check the
 * tasks. */
static void
read_input(const struct opts *o, struct input *in, int argc, char **argv,
           struct pb_state *pre, int *keep)
{
	struct pb_state st;
	char err[PB_ERRLEN];

	if (pb_state_load_keep(&st, o->state, keep, err) < 0)
		die("%s", err);
	if (o->arms)
		free(arms_mask(&st, o->arms)); /* the ids are checked early */
	if (!st.ctx_field && pb_state_done(&st, -1, err, NULL))
		die_status(PB_EXIT_DONE, "done: %s", err);
	if (st.ctx_field)
		ctx_field = estrdup(st.ctx_field);
	if (!(in->spool = pb_spool_new(err)))
		spooled(-1, err);
	in->tmplst = &st;
	if (pb_jsonl_files(argc, argv, read_task, in, err) < 0)
		die("%s", err);
	*pre = st; /* for phase 2, if the file stays as it is */
	pb_tasks_free(&in->seen);
	if (in->n == 0)
		die_status(in->bad ? PB_EXIT_RECORDS : PB_EXIT_USAGE,
		           "no tasks to sample%s; state not changed",
		           in->bad ? " (every line was bad)" : " (empty input)");
}

/* Phase 2, under the lock: the contexts, their pools and whether each
 * has stopped.  The policy may have stopped since we looked: then say
 * so and change nothing.  Returns the pools (*npool of them). */
static struct pool *
open_pools(struct pb_state *st, struct input *in, size_t *npool)
{
	size_t nk = in->ncname ? in->ncname : 1, i;
	struct pool *pool = ecalloc(nk, sizeof *pool);
	char err[PB_ERRLEN];

	/* The fixed-confidence rules look at applied rewards only, which a
	 * batch does not change. */
	if (!ctx_field && pb_state_done(st, -1, err, NULL))
		die_status(PB_EXIT_DONE, "done: %s", err);
	pool[0].ci = -1;
	for (i = 0; i < in->ncname; i++) {
		if ((pool[i].ci = pb_state_add_ctx(st, in->cname[i])) < 0)
			die("out of memory");
		if (pb_state_done(st, pool[i].ci, err, NULL)) {
			pool[i].stop = STOPPED;
			warnx_("context %s: done: %s", in->cname[i], err);
		}
	}
	learn_pools(st, in, pool, nk);
	*npool = nk;
	return pool;
}

static void
free_all(struct input *in, struct sampling *sm, struct pb_state *st)
{
	size_t i;

	for (i = 0; i < in->n; i++)
		free(in->v[i].key);
	for (i = 0; i < in->ncname; i++)
		free(in->cname[i]);
	for (i = 0; i < sm->npool; i++) {
		free(sm->pool[i].tin);
		free(sm->pool[i].nxt);
		free(sm->pool[i].exh);
		free(sm->pool[i].why);
	}
	free(sm->pool);
	free(sm->mask);
	free(sm->in_contention);
	free(sm->chosen);
	free((void *)sm->allow);
	free(in->cname);
	free(in->tctx);
	free((char *)ctx_field);
	fclose(sm->choices);
	fclose(in->spool);
	free(in->v);
	pb_state_free(st);
}

int
main(int argc, char **argv)
{
	struct opts o = { .count = -1, .seed = -1, .perk = -1 };
	struct input in = { 0 };
	struct sampling sm = { 0 };
	struct pb_state st, pre;
	char err[PB_ERRLEN];
	size_t *task, nout, nuse = 0, i, na;
	int fd, status, keep;
	double now;

	setprog(argv[0]);
	parse(argc, argv, &o);
	read_input(&o, &in, argc - optind, argv + optind, &pre, &keep);

	/* 2. Under the lock: learn the tasks, choose arms, hand each its next
	 * task in the pool's order, record the pulls, save. */
	if (!(sm.choices = pb_spool_new(err)))
		spooled(-1, err);
	if ((fd = pb_state_lock(o.state, err)) < 0)
		die("%s", err);
	if (pb_state_current(keep, fd)) {
		st = pre; /* no writer came between: the state read first */
	} else {
		pb_state_free(&pre);
		if (pb_state_load(&st, o.state, err) < 0)
			die("%s", err);
	}
	close(keep);
	if ((st.ctx_field != NULL) != (ctx_field != NULL) ||
	    (ctx_field && strcmp(ctx_field, st.ctx_field)))
		die("%s: the state's contexts changed while the tasks were read", o.state);
	na = st.narms ? st.narms : 1;
	sm.st = &st;
	sm.in = &in;
	sm.allow = o.arms ? arms_mask(&st, o.arms) : NULL;
	sm.perk = o.perk >= 0 ? o.perk : pb_policy_arms_per_task(&st.pol);
	pb_policy_note_k(&st, sm.perk); /* the group size, in the state */
	sm.chosen = emalloc(na * sizeof *sm.chosen);
	sm.mask = emalloc(na);
	sm.in_contention = emalloc(na);
	pb_state_count_pending(&st, now = pb_now());
	sm.pool = open_pools(&st, &in, &sm.npool);
	for (i = 0; i < in.n; i++)
		nuse += in.v[i].pos >= 0;
	if (nuse == 0) {
		pb_state_unlock(fd);
		die_status(PB_EXIT_RECORDS, "no tasks to sample (every task was bad); "
		           "state not changed");
	}
	task = slots(&st, &in, o.count, o.seed, nuse, &nout);
	if (pb_state_begin_batch(&st, now) < 0)
		die("out of memory");
	sample_all(&sm, task, nout);
	free(task);
	say_stops(&sm, nout, fd);
	spooled(pb_spool_flush(in.spool, err), err);
	spooled(pb_spool_flush(sm.choices, err), err);
	if (pb_state_save(&st, o.state, err) < 0)
		die("%s", err);
	pb_state_unlock(fd);

	/* 3. Write the pulls. */
	write_all(&st, &in, sm.choices, sm.nchoice);
	/* A write error still frees all below: the exit is as clean as any. */
	status = fshut(stdout, "<stdout>") < 0 ? PB_EXIT_USAGE :
	         in.bad ? PB_EXIT_RECORDS : PB_EXIT_OK;
	free_all(&in, &sm, &st);
	return status;
}
