/* pb-sample - pick an arm for each task and write one pull record each.
 *
 * Three phases, so the state's lock is never held while we read a slow
 * input or write into a pipe that pb-update (waiting on the same lock)
 * drains: read and check the tasks; lock, choose arms, record the pulls
 * as pending, save, unlock; then write the records. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

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
	    "  -k, --arms-per-task K|all send each task to K distinct arms (default 1;\n"
	    "                            race: all its surviving arms), paired in the state\n"
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

struct ctx {
	struct task *v; /* the tasks read */
	size_t n, cap;
	long bad;
	const struct pb_state *tmplst; /* arms the templates must fit */
	char **cname;   /* context values seen, and each task's (tctx) */
	char **cjson;   /* the same as JSON strings */
	size_t ncname;
	int *tctx;
	size_t tcap;
	FILE *spool;   /* the tasks' lines, read again to write the pulls */
	struct pb_tasks seen; /* context and id of every task read: duplicates */
	/* the write phase */
	const struct pb_state *st;
	FILE *choices;  /* per slot: first pull id, m, then m arms (longs) */
	char **armjson; /* each arm's id as a JSON string */
	size_t nout;    /* slots: fewer than the tasks if a budget ran out */
	long repeats;   /* pulls of one (arm, task): records carry "sample" */
	size_t i;
};

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

static int
read_task(cJSON *rec, const struct pb_where *at, const char *why, void *arg)
{
	struct ctx *c = arg;
	char err[PB_ERRLEN], *key, seenkey[64];
	uint64_t dig;
	long prev;
	int tc = -1;

	if (!rec) {
		warnx_("%s:%ld: %s", at->file, at->line, why);
		c->bad++;
		return 0;
	}
	if (!find_input(rec)) {
		warnx_("%s:%ld: task has no \"%s\" string field%s", at->file, at->line,
		       input_field ? input_field : "input",
		       input_field ? "" : " (nor question, prompt; see --input-field)");
		c->bad++;
		cJSON_Delete(rec);
		return 0;
	}
	if (!template_fits(c->tmplst, rec, at)) {
		c->bad++;
		cJSON_Delete(rec);
		return 0;
	}
	if (ctx_field) {
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
			c->bad++;
			cJSON_Delete(rec);
			return 0;
		}
		for (k = 0; k < c->ncname && strcmp(c->cname[k], name); k++)
			;
		if (k == c->ncname) {
			c->cname = erealloc(c->cname, (k + 1) * sizeof *c->cname);
			c->cname[c->ncname++] = estrdup(name);
		}
		tc = (int)k;
	}
	if (!(key = pb_task_key(rec, pb_json_str(rec, find_input(rec)), &dig, err))) {
		warnx_("%s:%ld: %s", at->file, at->line, err);
		c->bad++;
		cJSON_Delete(rec);
		return 0;
	}
	cJSON_Delete(rec);
	/* The same task twice in the input is one task; the same id with
	 * another input is an error. */
	{
		char *sk = emalloc(strlen(key) + sizeof seenkey);
		snprintf(seenkey, sizeof seenkey, "%d\n", tc);
		strcpy(sk, seenkey);
		strcat(sk, key);
		if ((prev = pb_tasks_find(&c->seen, sk)) >= 0) {
			const struct task *p = &c->v[c->seen.dig[prev]];
			if (p->dig != dig) {
				warnx_("%s:%ld: task '%s' is in %s:%ld already, with another "
				       "input", at->file, at->line, key, p->file, p->line);
				c->bad++;
			}
			free(sk);
			free(key);
			return 0;
		}
		if (pb_tasks_add(&c->seen, sk, c->n) < 0)
			die("out of memory");
		free(sk);
	}
	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 256;
		c->v = erealloc(c->v, c->cap * sizeof *c->v);
	}
	if (ctx_field) {
		if (c->n == c->tcap) {
			c->tcap = c->tcap ? 2 * c->tcap : 256;
			c->tctx = erealloc(c->tctx, c->tcap * sizeof *c->tctx);
		}
		c->tctx[c->n] = tc;
	}
	c->v[c->n] = (struct task){ key, dig, at->file, at->line, ftell(c->spool),
	                            (long)at->len, -1 };
	/* the line as read: it is valid, and passed on byte for byte */
	if (c->v[c->n].off < 0 || fwrite(at->text, 1, at->len, c->spool) != at->len ||
	    putc('\n', c->spool) == EOF)
		die("spool file: %s", strerror(errno));
	c->n++;
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

/* Writes the pull records of one choice: its head (first pull id, m,
 * the input task) and m arms from the choices spool; the task goes out
 * as the text it came in, read back from the tasks spool, and the record
 * is put together as text: printing the task back from its tree would
 * cost more than everything else pb-sample does. */
static void
write_pulls(struct ctx *c, char **buf, size_t *cap)
{
	long head[3], arm, j;
	const struct task *tk;
	cJSON *task, *msgs;
	char *m;

	if (fread(head, sizeof *head, 3, c->choices) != 3)
		die("spool file: %s", ferror(c->choices) ? strerror(errno) : "short read");
	tk = &c->v[head[2]];
	if ((size_t)tk->len + 1 > *cap)
		*buf = erealloc(*buf, *cap = (size_t)tk->len + 1);
	if (fseek(c->spool, tk->off, SEEK_SET) < 0 ||
	    fread(*buf, 1, (size_t)tk->len, c->spool) != (size_t)tk->len)
		die("spool file: %s", ferror(c->spool) ? strerror(errno) : "short read");
	(*buf)[tk->len] = '\0';
	if (!(task = cJSON_Parse(*buf)))
		die("spool file: a task no longer parses");
	for (j = 0; j < head[1]; j++) {
		if (fread(&arm, sizeof arm, 1, c->choices) != 1)
			die("spool file: %s", ferror(c->choices) ? strerror(errno) : "short read");
		msgs = render(c->st->arms[arm].fields, task, head[0] + j);
		if (!(m = cJSON_PrintUnformatted(msgs)))
			die("out of memory");
		printf("{\"run\":\"%s\",\"pull\":%ld,\"arm\":%s,", c->st->run,
		       head[0] + j, c->armjson[arm]);
		if (head[1] > 1)
			printf("\"group\":%ld,", head[0]);
		if (c->repeats > 1)
			printf("\"sample\":%ld,", j % c->repeats);
		if (ctx_field)
			printf("\"context\":%s,", c->cjson[c->tctx[head[2]]]);
		fputs("\"task\":", stdout);
		fwrite(*buf, 1, (size_t)tk->len, stdout);
		fputs(",\"messages\":", stdout);
		fputs(m, stdout);
		if (fputs("}\n", stdout) == EOF)
			die("write error: %s", strerror(errno));
		cJSON_free(m);
		cJSON_Delete(msgs);
	}
	cJSON_Delete(task);
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

/* Flushes a spool file and checks it: a write the buffer held back can
 * fail only now (a full /tmp), and must do so before the state is saved,
 * or the pulls it records could never be written. */
static void
spool_flush(FILE *fp)
{
	if (fflush(fp) == EOF || ferror(fp))
		die("spool file: %s", strerror(errno));
}

/* Spools the arms chosen for input task tin. */
static void
spool(FILE *fp, long first, long m, const int *arm, long tin)
{
	long head[3] = { first, m, tin }, a;
	int j;

	if (fwrite(head, sizeof *head, 3, fp) != 3)
		die("spool file: %s", strerror(errno));
	for (j = 0; j < m; j++) {
		a = arm[j];
		if (fwrite(&a, sizeof a, 1, fp) != 1)
			die("spool file: %s", strerror(errno));
	}
}

int
main(int argc, char **argv)
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
	const char *spath = NULL, *armlist = NULL;
	long count = -1, seed = -1, perk = -1, m, spent = 0, *skipped;
	struct ctx c = { 0 };
	struct pb_state st;
	struct pb_rng rng;
	char err[PB_ERRLEN];
	unsigned char *allow = NULL, *stopped, **exh, *mask, *in;
	size_t *task = NULL, nout, i, t, nk, nuse, a, *nexh, nchoice = 0;
	long **tin, **nxt;
	char **why;
	int *chosen, *cidx, ch, fd, ci, *rep_arms, status;
	long R;
	double now;

	setprog(argv[0]);
	while ((ch = getopt_long(argc, argv, "s:n:k:t:h", opts, NULL)) != -1) {
		switch (ch) {
		case 's': spath = optarg; break;
		case 'n': count = intarg("-n", optarg, 1, INT_MAX); break;
		case O_SEED: seed = intarg("--seed", optarg, 0, LONG_MAX); break;
		case 'k':
			perk = !strcmp(optarg, "all") ? 0 :
			       intarg("--arms-per-task", optarg, 1, INT_MAX);
			break;
		case O_ARMS: armlist = optarg; break;
		case 't': tmpl = optarg; break;
		case O_SYSTEM: sys_prefix = 1; break;
		case O_SYSTMPL: sys_tmpl = optarg; break;
		case O_INPUT: input_field = optarg; break;
		case 'h': usage(stdout, PB_EXIT_OK); break;
		case O_VERSION: version(); break;
		default: usage(stderr, PB_EXIT_USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	spath = statepath(spath);
	if (sys_prefix && sys_tmpl)
		die("--system and --system-template exclude each other");

	/* Check the state before reading a long input only to fail (or to
	 * find the policy has stopped).  With contexts, each context stops
	 * on its own, which only the tasks can tell. */
	if (pb_state_load(&st, spath, err) < 0)
		die("%s", err);
	if (armlist)
		free(arms_mask(&st, armlist)); /* the ids are checked early */
	if (!st.ctx_field && pb_state_done(&st, -1, err, NULL))
		die_status(PB_EXIT_DONE, "done: %s", err);
	if (st.ctx_field)
		ctx_field = estrdup(st.ctx_field);

	/* 1. Read and check the tasks. */
	if (!(c.spool = tmpfile()))
		die("spool file: %s", strerror(errno));
	c.tmplst = &st;
	if (pb_jsonl_files(argc, argv, read_task, &c, err) < 0)
		die("%s", err);
	pb_state_free(&st);
	pb_tasks_free(&c.seen);
	if (c.n == 0)
		die_status(c.bad ? PB_EXIT_RECORDS : PB_EXIT_USAGE,
		           "no tasks to sample%s; state not changed",
		           c.bad ? " (every line was bad)" : " (empty input)");

	/* 2. Under the lock: learn the tasks, choose arms, hand each its next
	 * task in the pool's order, record the pulls, save. */
	if (!(c.choices = tmpfile()))
		die("spool file: %s", strerror(errno));
	if ((fd = pb_state_lock(spath, err)) < 0 || pb_state_load(&st, spath, err) < 0)
		die("%s", err);
	if ((st.ctx_field != NULL) != (ctx_field != NULL) ||
	    (ctx_field && strcmp(ctx_field, st.ctx_field)))
		die("%s: the state's contexts changed while the tasks were read", spath);
	if (armlist)
		allow = arms_mask(&st, armlist);
	if (perk < 0)
		perk = st.pol.kind == PB_POL_RACE ? 0 : 1;
	now = pb_now();
	pb_state_count_pending(&st, now);
	/* The policy may have stopped since we looked: say so, change
	 * nothing.  A fixed budget may also run out inside this batch, which
	 * then ends at the task that spends it; the fixed-confidence rules
	 * look at applied rewards only, which a batch does not change. */
	if (!ctx_field && pb_state_done(&st, -1, err, NULL))
		die_status(PB_EXIT_DONE, "done: %s", err);
	/* Contexts: the state's index of each value, added if new. */
	nk = c.ncname ? c.ncname : 1;
	cidx = ecalloc(nk, sizeof *cidx);
	stopped = ecalloc(nk, 1);
	skipped = ecalloc(nk, sizeof *skipped);
	for (i = 0; i < c.ncname; i++) {
		if ((cidx[i] = pb_state_add_ctx(&st, c.cname[i])) < 0)
			die("out of memory");
		stopped[i] = (unsigned char)pb_state_done(&st, cidx[i], err, NULL);
		if (stopped[i])
			warnx_("context %s: done: %s", c.cname[i], err);
	}
	if (!ctx_field)
		cidx[0] = -1;
	/* The tasks join their pools; each pool's positions that this input
	 * has (tin) and, from each position, the next one it has (nxt). */
	tin = ecalloc(nk, sizeof *tin);
	nxt = ecalloc(nk, sizeof *nxt);
	exh = ecalloc(nk, sizeof *exh);
	nexh = ecalloc(nk, sizeof *nexh);
	{
		char **ids = emalloc(c.n * sizeof *ids);
		uint64_t *digs = emalloc(c.n * sizeof *digs);
		long *pos = emalloc(c.n * sizeof *pos), *which = emalloc(c.n * sizeof *which);
		size_t k, m2;
		for (k = 0; k < nk; k++) {
			const struct pb_tasks *pool;
			for (i = 0, m2 = 0; i < c.n; i++)
				if (!ctx_field || c.tctx[i] == (int)k) {
					ids[m2] = c.v[i].key;
					digs[m2] = c.v[i].dig;
					which[m2++] = (long)i;
				}
			if (pb_state_learn(&st, cidx[k], m2, ids, digs, pos) < 0)
				die("out of memory");
			pool = pb_state_tasks(&st, cidx[k]);
			tin[k] = emalloc((pool->n + 1) * sizeof **tin);
			nxt[k] = emalloc((pool->n + 1) * sizeof **nxt);
			for (t = 0; t <= pool->n; t++)
				tin[k][t] = -1;
			for (i = 0; i < m2; i++) {
				struct task *tk = &c.v[which[i]];
				if ((tk->pos = pos[i]) == -2) {
					warnx_("%s:%ld: task '%s' changed: its input is not the one "
					       "the state has under this id", tk->file, tk->line, tk->key);
					c.bad++;
					continue;
				}
				tin[k][pos[i]] = which[i];
			}
			nxt[k][pool->n] = (long)pool->n;
			for (t = pool->n; t-- > 0;)
				nxt[k][t] = tin[k][t] >= 0 ? (long)t : nxt[k][t + 1];
		}
		free(ids);
		free(digs);
		free(pos);
		free(which);
	}
	/* The slots: one per choice, each in the context of an input task
	 * (every task in order, or -n drawn at random). */
	for (i = 0, nuse = 0; i < c.n; i++)
		nuse += c.v[i].pos >= 0;
	if (nuse == 0) {
		pb_state_unlock(fd);
		die_status(PB_EXIT_RECORDS, "no tasks to sample (every task was bad); "
		           "state not changed");
	}
	{
		size_t *use = emalloc(nuse * sizeof *use), u = 0;
		for (i = 0; i < c.n; i++)
			if (c.v[i].pos >= 0)
				use[u++] = i;
		nout = count < 0 ? nuse : (size_t)count;
		task = emalloc(nout * sizeof *task);
		if (count < 0) {
			memcpy(task, use, nout * sizeof *task);
		} else {
			if (seed >= 0)
				pb_rng_seed(&rng, (uint64_t)seed);
			draw(task, nout, nuse, seed >= 0 ? &rng : &st.rng);
			for (i = 0; i < nout; i++)
				task[i] = use[task[i]];
		}
		free(use);
	}
	chosen = emalloc((st.narms ? st.narms : 1) * sizeof *chosen);
	R = st.repeats > 1 ? st.repeats : 1;
	c.repeats = R;
	rep_arms = emalloc((st.narms ? st.narms : 1) * (size_t)R * sizeof *rep_arms);
	mask = emalloc(st.narms ? st.narms : 1);
	in = emalloc(st.narms ? st.narms : 1);
	why = ecalloc(nk, sizeof *why);
	for (i = 0; i < nout; i++) {
		size_t k;
		long pos;
		t = task[i];
		k = ctx_field ? (size_t)c.tctx[t] : 0;
		ci = cidx[k];
		/* A budget counts pulls handed out, whatever the pool. */
		if (i > 0 && (st.pol.kind == PB_POL_HALVING ||
		    st.pol.kind == PB_POL_REJECTS) && pb_policy_done(&st, err, NULL)) {
			if (perk == 1)
				warnx_("budget of %.0f pulls reached: %zu of %zu pulls "
				       "written", st.pol.budget, i, nout);
			else
				warnx_("budget of %.0f pulls reached: %zu of %zu tasks "
				       "sampled", st.pol.budget, i, nout);
			break;
		}
		if (stopped[k]) {
			skipped[k]++;
			continue;
		}
		/* The arms that have used every task this input offers. */
		if (!exh[k]) {
			exh[k] = emalloc(st.narms ? st.narms : 1);
			for (a = 0; a < st.narms; a++) {
				int one = (int)a;
				exh[k][a] = pb_state_next_pos(&st, ci, &one, 1, nxt[k]) < 0;
				nexh[k] += exh[k][a];
			}
		}
		if (nexh[k]) {
			size_t left = 0;
			if (pb_state_contention(&st, ci, in) < 0)
				die("out of memory");
			for (a = 0; a < st.narms; a++)
				left += in[a] && !exh[k][a] && (!allow || allow[a]);
			if (left == 0) {
				/* Never recycle: no new evidence can come from here. */
				stopped[k] = pb_state_exhausted(&st, ci, err) ? 2 : 3;
				if (stopped[k] == 2)
					why[k] = estrdup(err);
				skipped[k]++;
				continue;
			}
			for (a = 0; a < st.narms; a++)
				mask[a] = !exh[k][a] && (!allow || allow[a]);
		}
		if ((m = pb_state_choose(&st, ci, (size_t)perk,
		                         nexh[k] ? mask : allow, chosen)) < 0)
			die("out of memory");
		if (m == 0)
			die("no arm left to choose from");
		pos = pb_state_next_pos(&st, ci, chosen, (size_t)m, nxt[k]);
		if (pos < 0)
			die("internal error: no task for a chosen arm");
		/* One batch per group size: ids in a batch pair up k by k;
		 * with R repeats each arm's R pulls of the task sit side by
		 * side in the group. */
		if (spent == 0 || st.batch[st.nbatch - 1].k != m * R) {
			if (pb_state_begin_batch(&st, now) < 0)
				die("out of memory");
			st.batch[st.nbatch - 1].k = m * R;
		}
		for (long j = 0; j < m; j++)
			for (long s = 0; s < R; s++)
				rep_arms[j * R + s] = chosen[j];
		spool(c.choices, st.next_pull, m * R, rep_arms, tin[k][pos]);
		for (long j = 0; j < m; j++) {
			int one = chosen[j];
			for (long s = 0; s < R; s++)
				if (pb_state_hand_out_task(&st, chosen[j], ci, pos) < 0)
					die("out of memory");
			if (!exh[k][one] && pb_state_next_pos(&st, ci, &one, 1, nxt[k]) < 0) {
				exh[k][one] = 1;
				nexh[k]++;
			}
		}
		spent += m * R;
		nchoice++;
	}
	for (i = 0; i < nk; i++) {
		const char *name = ctx_field ? c.cname[i] : NULL;
		if (stopped[i] == 2 && (spent > 0 || ctx_field))
			warnx_("%s%s%s%s", name ? "context " : "", name ? name : "",
			       name ? ": " : "", why[i]);
		if (stopped[i] == 3 && (spent > 0 || ctx_field))
			warnx_("%s%s%sthe arms in contention have used every task of "
			       "this input (%zu in the pool)", name ? "context " : "",
			       name ? name : "", name ? ": " : "",
			       pb_state_pool_size(&st, cidx[i]));
		if (ctx_field && skipped[i] && stopped[i] == 1)
			warnx_("context %s: %ld task%s not sampled: its policy has stopped",
			       c.cname[i], skipped[i], skipped[i] == 1 ? "" : "s");
	}
	if (spent == 0) {
		/* Nothing to hand out: every context has stopped, or the pool
		 * is used up. */
		pb_state_unlock(fd);
		if (!ctx_field && stopped[0] == 2)
			die_status(PB_EXIT_DONE, "done: %s", why[0]);
		if (!ctx_field && stopped[0] == 3)
			die("the arms in contention have used every task of this input "
			    "(%zu in the pool); state not changed", pb_state_pool_size(&st, -1));
		for (i = 0; i < nk && stopped[i] != 3; i++)
			;
		if (i < nk)
			die("no task of this input is left for the arms in contention; "
			    "state not changed");
		die_status(PB_EXIT_DONE, "done: every context of these tasks has "
		           "stopped");
	}
	if (nchoice < nout && !ctx_field && stopped[0] >= 2)
		warnx_("%zu of %zu tasks sampled", nchoice, nout);
	spool_flush(c.spool);
	spool_flush(c.choices);
	if (pb_state_save(&st, spath, err) < 0)
		die("%s", err);
	pb_state_unlock(fd);

	/* 3. Write the pulls. */
	c.st = &st;
	rewind(c.choices);
	c.armjson = emalloc(st.narms * sizeof *c.armjson);
	for (i = 0; i < st.narms; i++)
		c.armjson[i] = json_string(st.arms[i].id);
	c.cjson = emalloc((c.ncname ? c.ncname : 1) * sizeof *c.cjson);
	for (i = 0; i < c.ncname; i++)
		c.cjson[i] = json_string(c.cname[i]);
	{
		char *buf = NULL;
		size_t cap = 0;
		for (i = 0; i < nchoice; i++)
			write_pulls(&c, &buf, &cap);
		free(buf);
	}
	/* A write error still frees all below: the exit is as clean as any. */
	status = fshut(stdout, "<stdout>") < 0 ? PB_EXIT_USAGE :
	         c.bad ? PB_EXIT_RECORDS : PB_EXIT_OK;
	for (i = 0; i < c.n; i++)
		free(c.v[i].key);
	for (i = 0; i < st.narms; i++)
		cJSON_free(c.armjson[i]);
	for (i = 0; i < c.ncname; i++) {
		free(c.cname[i]);
		cJSON_free(c.cjson[i]);
	}
	for (i = 0; i < nk; i++) {
		free(tin[i]);
		free(nxt[i]);
		free(exh[i]);
		free(why[i]);
	}
	free(tin);
	free(nxt);
	free(exh);
	free(nexh);
	free(why);
	free(mask);
	free(in);
	free(c.cname);
	free(c.cjson);
	free(c.tctx);
	free(c.armjson);
	free(cidx);
	free(stopped);
	free(skipped);
	free(chosen);
	free(rep_arms);
	free(allow);
	free((char *)ctx_field);
	fclose(c.choices);
	fclose(c.spool);
	free(c.v);
	free(task);
	pb_state_free(&st);
	return status;
}
