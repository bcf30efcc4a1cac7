/* pb-sample - pick an arm for each task and write one pull record each.
 *
 * Three phases, so the state's lock is never held while we read a slow
 * input or write into a pipe that pb-update (waiting on the same lock)
 * drains: read and check the tasks; lock, choose arms, record the pulls
 * as pending, save, unlock; then write the records. */
#include <errno.h>
#include <getopt.h>
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

struct ctx {
	char **v;      /* -n: the tasks' JSON text, to draw from */
	size_t n, cap; /* tasks read */
	long bad;
	const struct pb_state *tmplst; /* arms the templates must fit */
	char **cname;   /* context values seen, and each task's (tctx) */
	char **cjson;   /* the same as JSON strings */
	size_t ncname;
	int *tctx;
	size_t tcap;
	FILE *spool;   /* every-task mode: lines go here, not into memory */
	/* the write phase */
	const struct pb_state *st;
	FILE *choices;  /* per slot: first pull id, m, then m arms (longs) */
	char **armjson; /* each arm's id as a JSON string */
	size_t nout;    /* slots: fewer than the tasks if a budget ran out */
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
	char *text;

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
		if (c->n == c->tcap) {
			c->tcap = c->tcap ? 2 * c->tcap : 256;
			c->tctx = erealloc(c->tctx, c->tcap * sizeof *c->tctx);
		}
		c->tctx[c->n] = (int)k;
	}
	cJSON_Delete(rec);
	if (c->spool) {
		/* the line as read: it is valid, and passed on byte for byte */
		if (fwrite(at->text, 1, at->len, c->spool) != at->len ||
		    putc('\n', c->spool) == EOF)
			die("spool file: %s", strerror(errno));
	} else {
		text = emalloc(at->len + 1);
		memcpy(text, at->text, at->len);
		text[at->len] = '\0';
		if (c->n == c->cap) {
			c->cap = c->cap ? 2 * c->cap : 256;
			c->v = erealloc(c->v, c->cap * sizeof *c->v);
		}
		c->v[c->n] = text;
	}
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

/* Writes the pull records of one task: the arms chosen for it (none if
 * its context had stopped).  The task goes out as the text it came in,
 * and the record is put together as text: printing the task back from
 * its tree would cost more than everything else pb-sample does. */
static void
write_pulls(struct ctx *c, const char *text, size_t len, cJSON *task, size_t t)
{
	long head[2], arm, j;
	cJSON *msgs;
	char *m;

	if (fread(head, sizeof *head, 2, c->choices) != 2)
		die("spool file: %s", ferror(c->choices) ? strerror(errno) : "short read");
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
		if (ctx_field)
			printf("\"context\":%s,", c->cjson[c->tctx[t]]);
		fputs("\"task\":", stdout);
		fwrite(text, 1, len, stdout);
		fputs(",\"messages\":", stdout);
		fputs(m, stdout);
		if (fputs("}\n", stdout) == EOF)
			die("write error: %s", strerror(errno));
		cJSON_free(m);
		cJSON_Delete(msgs);
	}
	cJSON_Delete(task);
}

/* The write phase of every-task mode: the spooled tasks, read again. */
static int
write_spooled(cJSON *rec, const struct pb_where *at, const char *why, void *arg)
{
	struct ctx *c = arg;

	if (!rec)
		die("spool file, line %ld: %s", at->line, why);
	if (c->i >= c->nout) {
		cJSON_Delete(rec);
		return 1;
	}
	write_pulls(c, at->text, at->len, rec, c->i);
	c->i++;
	return 0;
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
		mask[a] = any = 1;
	}
	if (!any)
		die("--arms: no arm named");
	free(copy);
	return mask;
}

/* Spools the arms chosen for one task (m may be 0: none). */
static void
spool(FILE *fp, long first, long m, const int *arm)
{
	long head[2] = { first, m }, a;
	int j;

	if (fwrite(head, sizeof *head, 2, fp) != 2)
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
	unsigned char *allow = NULL, *stopped;
	size_t *task = NULL, nout, i, t;
	int *chosen, *cidx, ch, fd, ci;
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
	if (count < 0 && !(c.spool = tmpfile()))
		die("spool file: %s", strerror(errno));
	c.tmplst = &st;
	if (pb_jsonl_files(argc, argv, read_task, &c, err) < 0)
		die("%s", err);
	pb_state_free(&st);
	if (c.n == 0)
		die_status(c.bad ? PB_EXIT_RECORDS : PB_EXIT_USAGE,
		           "no tasks to sample%s; state not changed",
		           c.bad ? " (every line was bad)" : " (empty input)");

	/* 2. Under the lock: choose arms, record the pulls, save. */
	nout = count < 0 ? c.n : (size_t)count;
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
	if (count >= 0) {
		task = emalloc(nout * sizeof *task);
		if (seed >= 0)
			pb_rng_seed(&rng, (uint64_t)seed);
		draw(task, nout, c.n, seed >= 0 ? &rng : &st.rng);
	}
	now = pb_now();
	pb_state_count_pending(&st, now);
	/* The policy may have stopped since we looked: say so, change
	 * nothing.  A fixed budget may also run out inside this batch, which
	 * then ends at the task that spends it; the fixed-confidence rules
	 * look at applied rewards only, which a batch does not change. */
	if (!ctx_field && pb_state_done(&st, -1, err, NULL))
		die_status(PB_EXIT_DONE, "done: %s", err);
	/* Contexts: the state's index of each value, added if new. */
	cidx = ecalloc(c.ncname ? c.ncname : 1, sizeof *cidx);
	stopped = ecalloc(c.ncname ? c.ncname : 1, 1);
	skipped = ecalloc(c.ncname ? c.ncname : 1, sizeof *skipped);
	for (i = 0; i < c.ncname; i++) {
		if ((cidx[i] = pb_state_add_ctx(&st, c.cname[i])) < 0)
			die("out of memory");
		stopped[i] = (unsigned char)pb_state_done(&st, cidx[i], err, NULL);
		if (stopped[i])
			warnx_("context %s: done: %s", c.cname[i], err);
	}
	chosen = emalloc((st.narms ? st.narms : 1) * sizeof *chosen);
	for (i = 0; i < nout; i++) {
		t = task ? task[i] : i;
		ci = ctx_field ? c.tctx[t] : -1;
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
		if (ci >= 0 && stopped[ci]) {
			skipped[ci]++;
			spool(c.choices, 0, 0, NULL);
			continue;
		}
		if ((m = pb_state_choose(&st, ci >= 0 ? cidx[ci] : -1, (size_t)perk,
		                         allow, chosen)) < 0)
			die("out of memory");
		if (m == 0)
			die("no arm left to choose from");
		/* One batch per group size: ids in a batch pair up k by k. */
		if (spent == 0 || st.batch[st.nbatch - 1].k != m) {
			if (pb_state_begin_batch(&st, now) < 0)
				die("out of memory");
			st.batch[st.nbatch - 1].k = m;
		}
		spool(c.choices, st.next_pull, m, chosen);
		for (long j = 0; j < m; j++)
			pb_state_hand_out(&st, chosen[j]);
		spent += m;
	}
	c.nout = nout = i;
	for (i = 0; i < c.ncname; i++)
		if (skipped[i])
			warnx_("context %s: %ld task%s not sampled: its policy has stopped",
			       c.cname[i], skipped[i], skipped[i] == 1 ? "" : "s");
	if (spent == 0) {
		/* Every task's context has stopped: nothing to hand out. */
		pb_state_unlock(fd);
		die_status(PB_EXIT_DONE, "done: every context of these tasks has "
		           "stopped");
	}
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
	if (count < 0) {
		rewind(c.spool);
		if (pb_jsonl_each(c.spool, "spool", write_spooled, &c, NULL, err) < 0)
			die("%s", err);
		fclose(c.spool);
	} else {
		for (i = 0; i < nout; i++) {
			const char *text = c.v[task[i]];
			cJSON *tk = cJSON_Parse(text);
			if (!tk)
				die("out of memory");
			write_pulls(&c, text, strlen(text), tk, task[i]);
		}
	}
	if (fshut(stdout, "<stdout>") < 0)
		return PB_EXIT_USAGE;
	for (i = 0; i < c.n && c.v; i++)
		free(c.v[i]);
	for (i = 0; i < st.narms; i++)
		cJSON_free(c.armjson[i]);
	for (i = 0; i < c.ncname; i++) {
		free(c.cname[i]);
		cJSON_free(c.cjson[i]);
	}
	free(c.cname);
	free(c.cjson);
	free(c.tctx);
	free(c.armjson);
	free(cidx);
	free(stopped);
	free(skipped);
	free(chosen);
	free(allow);
	free((char *)ctx_field);
	fclose(c.choices);
	free(c.v);
	free(task);
	pb_state_free(&st);
	return c.bad ? PB_EXIT_RECORDS : PB_EXIT_OK;
}
