/* report-validate.c - pb-report --validate: the chosen arm on held-out
 * scored records, accuracy and paired uplift over a baseline, and the
 * winner's curse against the training figure; for a state with
 * contexts, the same for each context after the totals. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/pb.h"
#include "util.h"
#include "report.h"

/* ============================================================== reading */

/* Held-out records: per arm, per task, the sum and count of rewards;
 * tasks are told apart by task.id, or by the task object's canonical
 * text when it has none. */
struct varm {
	char *id;
	double *sum;   /* per task */
	int *cnt;      /* per task: rewarded answers */
	long errors;
	double tin, tout;
};

struct vset {
	struct varm *arm;
	size_t narms;
	char **task;   /* keys, in order of first appearance */
	size_t ntasks, captasks;
	struct pb_index index; /* task keys' hashes to positions in task */
	long records;
	int tokens;
};

/* The records of one context (a value of the state's context field). */
struct vctx {
	char *name;
	struct vset vs;
};

/* What the reading callback fills: every record in all, and those with
 * a context in that context's set too. */
struct vread {
	struct vset all;
	struct vctx *ctx;
	size_t nctx;
	const char *field; /* the state's context field, or NULL */
	long bad;
};

static size_t
task_index(struct vset *vs, const char *key)
{
	uint64_t h = pb_hash(key, strlen(key), 0);
	size_t pos = 0, t, a;

	while (pb_index_next(&vs->index, h, &pos, &t))
		if (!strcmp(vs->task[t], key))
			return t;
	if (vs->ntasks == vs->captasks) {
		vs->captasks = vs->captasks ? 2 * vs->captasks : 64;
		vs->task = erealloc(vs->task, vs->captasks * sizeof *vs->task);
		for (a = 0; a < vs->narms; a++) {
			vs->arm[a].sum = erealloc(vs->arm[a].sum, vs->captasks * sizeof(double));
			vs->arm[a].cnt = erealloc(vs->arm[a].cnt, vs->captasks * sizeof(int));
		}
	}
	for (a = 0; a < vs->narms; a++) {
		vs->arm[a].sum[vs->ntasks] = 0;
		vs->arm[a].cnt[vs->ntasks] = 0;
	}
	if (pb_index_put(&vs->index, h, vs->ntasks) < 0)
		die("out of memory");
	vs->task[vs->ntasks] = estrdup(key);
	return vs->ntasks++;
}

/* The index of arm id in vs, or vs->narms if it has no records. */
static size_t
varm_find(const struct vset *vs, const char *id)
{
	size_t i;

	for (i = 0; i < vs->narms && strcmp(vs->arm[i].id, id); i++)
		;
	return i;
}

static size_t
varm_index(struct vset *vs, const char *id)
{
	struct varm *a;
	size_t i = varm_find(vs, id);

	if (i < vs->narms)
		return i;
	vs->arm = erealloc(vs->arm, (vs->narms + 1) * sizeof *vs->arm);
	a = &vs->arm[vs->narms];
	memset(a, 0, sizeof *a);
	a->id = estrdup(id);
	a->sum = ecalloc(vs->captasks ? vs->captasks : 1, sizeof(double));
	a->cnt = ecalloc(vs->captasks ? vs->captasks : 1, sizeof(int));
	return vs->narms++;
}

/* Counts one good record (in) of task key in vs. */
static void
vset_add(struct vset *vs, const struct pb_scored *in, const char *key)
{
	size_t a = varm_index(vs, in->arm), t = task_index(vs, key);

	if (isnan(in->reward)) {
		vs->arm[a].errors++;
	} else {
		vs->arm[a].sum[t] += in->reward;
		vs->arm[a].cnt[t]++;
	}
	if (in->tin >= 0) {
		vs->arm[a].tin += in->tin;
		vs->arm[a].tout += in->tout;
		vs->tokens = 1;
	}
}

static void
vset_free(struct vset *vs)
{
	size_t i;

	for (i = 0; i < vs->narms; i++) {
		free(vs->arm[i].id);
		free(vs->arm[i].sum);
		free(vs->arm[i].cnt);
	}
	for (i = 0; i < vs->ntasks; i++)
		free(vs->task[i]);
	free(vs->task);
	free(vs->arm);
	pb_index_clear(&vs->index);
}

/* The context of a held-out record, as pb-sample names it: the record's
 * "context", else the task's value of the state's context field (a
 * string, or a number in %.17g); NULL for none.  buf holds a number. */
static const char *
record_context(const struct pb_scored *in, const char *field, char buf[64])
{
	const cJSON *v;

	if (!field)
		return NULL;
	if (in->context)
		return in->context;
	v = cJSON_IsObject(in->task) ? cJSON_GetObjectItemCaseSensitive(in->task, field) :
	    NULL;
	if (cJSON_IsString(v) && *v->valuestring)
		return v->valuestring;
	if (cJSON_IsNumber(v)) {
		snprintf(buf, 64, "%.17g", v->valuedouble);
		return buf;
	}
	return NULL;
}

/* The set of context name, added (last) if new. */
static struct vset *
context_set(struct vread *vr, const char *name)
{
	size_t i;

	for (i = 0; i < vr->nctx; i++)
		if (!strcmp(vr->ctx[i].name, name))
			return &vr->ctx[i].vs;
	vr->ctx = erealloc(vr->ctx, (vr->nctx + 1) * sizeof *vr->ctx);
	memset(&vr->ctx[vr->nctx], 0, sizeof *vr->ctx);
	vr->ctx[vr->nctx].name = estrdup(name);
	return &vr->ctx[vr->nctx++].vs;
}

static int
validate_record(cJSON *rec, const struct pb_where *at, const char *why, void *arg)
{
	struct vread *vr = arg;
	struct pb_scored in;
	const cJSON *id;
	const char *cname;
	char *key, err[PB_ERRLEN], num[64];

	if (!rec) {
		bad_record(&vr->bad, at, 0, "%s", why);
		return 0;
	}
	vr->all.records++; /* a bad one too */
	if (pb_scored_read(rec, PB_SCORED_TASK | PB_SCORED_REWARD | PB_SCORED_TERSE,
	                   &in, err) < 0) {
		bad_record(&vr->bad, at, 0, "%s", err);
		cJSON_Delete(rec);
		return 0;
	}
	id = cJSON_IsObject(in.task) ? cJSON_GetObjectItemCaseSensitive(in.task, "id") : NULL;
	key = id && (cJSON_IsString(id) || cJSON_IsNumber(id)) ? pb_json_text(id) :
	      pb_json_canonical(in.task);
	if (!key)
		die("out of memory");
	vset_add(&vr->all, &in, key);
	if ((cname = record_context(&in, vr->field, num))) {
		struct vset *cs = context_set(vr, cname);
		cs->records++;
		vset_add(cs, &in, key);
	}
	free(key);
	cJSON_Delete(rec);
	return 0;
}

/* Reads the held-out records of o->validate into vr; with contexts in
 * st, the contexts of the state come first, in its order. */
static void
read_held_out(const struct opts *o, const struct pb_state *st, struct vread *vr)
{
	char *files[1] = { (char *)o->validate }, err[PB_ERRLEN];
	size_t c;

	memset(vr, 0, sizeof *vr);
	if (st && st->ctx_field) {
		vr->field = st->ctx_field;
		for (c = 0; c < st->nctx; c++)
			context_set(vr, st->ctx[c].name);
	}
	if (pb_jsonl_files(1, files, validate_record, vr, err) < 0)
		die("%s", err);
	if (vr->all.narms == 0)
		die("--validate: %s: no scored records", o->validate);
}

/* One arm's held-out numbers. */
struct vrow {
	size_t arm;
	struct pb_stats acc;  /* over tasks, each the mean of its answers */
	double lo, hi;
	const char *method;
	size_t npair;         /* tasks both it and the baseline answered */
	double uplift, ulo, uhi, p;
	long b, c;            /* tasks it did better / worse than the baseline */
};

static void
validate_rows(const struct vset *vs, size_t base, const struct opts *o, struct vrow *r)
{
	double *d = ecalloc(vs->ntasks ? vs->ntasks : 1, sizeof *d);
	size_t a, t;

	for (a = 0; a < vs->narms; a++) {
		const struct varm *x = &vs->arm[a], *y = &vs->arm[base];
		struct vrow *v = &r[a];
		memset(v, 0, sizeof *v);
		v->arm = a;
		for (t = 0; t < vs->ntasks; t++) {
			if (!x->cnt[t])
				continue;
			pb_stats_add(&v->acc, x->sum[t] / x->cnt[t]);
			if (!y->cnt[t])
				continue;
			d[v->npair] = x->sum[t] / x->cnt[t] - y->sum[t] / y->cnt[t];
			v->b += d[v->npair] > 0;
			v->c += d[v->npair] < 0;
			v->uplift += d[v->npair];
			v->npair++;
		}
		pb_report_ci(&v->acc, 1 - o->level, o->interval, &v->lo, &v->hi, &v->method);
		v->uplift = v->npair ? v->uplift / (double)v->npair : NAN;
		if (pb_boot_mean_ci(d, v->npair, o->resamples, 1 - o->level, o->seed,
		                    &v->ulo, &v->uhi) < 0)
			die("out of memory");
		v->p = pb_mcnemar_exact(v->b, v->c);
	}
	free(d);
}

/* The validation's note on its intervals, ending in end. */
static void
vintervals(const struct opts *o, const struct vrow *r, size_t n, const char *end)
{
	printf("%g%% intervals: %s for accuracy, paired percentile bootstrap for uplift "
	       "(%ld resamples, seed %llu); p: exact McNemar%s\n", o->level * 100,
	       methods(r, n, sizeof *r, offsetof(struct vrow, method)), o->resamples,
	       (unsigned long long)o->seed, end);
}

static const struct vrow *cmp_rows;

/* Whether the held-out mean ho (of h) is significantly below the
 * training mean of t, one-sided at alpha: the two are means of
 * different tasks, so their difference has variance v_t / n_t + v_h /
 * n_h, each v floored at 1 / (4 n) as P(best)'s is.  *z receives the
 * drop in standard errors. */
static int
curse(const struct pb_stats *t, const struct pb_stats *h, double alpha, double *z)
{
	double nt = (double)t->n, nh = (double)h->n, vt, vh, mt, mh, se;

	*z = NAN;
	if (t->n < 1 || h->n < 1)
		return 0;
	mt = pb_stats_mean(t);
	mh = pb_stats_mean(h);
	vt = t->nonbinary ? pb_stats_var(t) : mt * (1 - mt);
	vh = h->nonbinary ? pb_stats_var(h) : mh * (1 - mh);
	vt = vt > 1 / (4 * nt) ? vt : 1 / (4 * nt);
	vh = vh > 1 / (4 * nh) ? vh : 1 / (4 * nh);
	se = sqrt(vt / nt + vh / nh);
	*z = (mt - mh) / se;
	return *z > pb_normal_quantile(1 - alpha);
}

static int
byacc(const void *x, const void *y)
{
	size_t a = *(const size_t *)x, b = *(const size_t *)y;
	double ma = pb_stats_mean(&cmp_rows[a].acc), mb = pb_stats_mean(&cmp_rows[b].acc);

	if (ma != mb)
		return ma > mb ? -1 : 1;
	return a < b ? -1 : a > b;
}

/* Held-out tasks the training state used: a task of the validation file
 * whose id (pb_task_key, the default input fields) is in one of the
 * state's pools at a position below some arm's cursor there. */
struct overlap {
	const struct pb_state *st;
	long n, used;
	char *example;
	struct pb_tasks seen;
};

static int
overlap_record(cJSON *rec, const struct pb_where *at, const char *why, void *arg)
{
	static const char *fields[] = { "input", "question", "prompt" };
	struct overlap *ov = arg;
	const cJSON *task = rec ? cJSON_GetObjectItemCaseSensitive(rec, "task") : NULL;
	const char *in = NULL;
	char err[PB_ERRLEN], *key;
	uint64_t dig;
	size_t f, c, narms = ov->st->narms, a;
	int pools = ov->st->ctx_field ? (int)ov->st->nctx : 1, p;

	(void)at;
	(void)why;
	for (f = 0; cJSON_IsObject(task) && f < 3 && !in; f++)
		in = pb_json_str(task, fields[f]);
	if (!in || !(key = pb_task_key(task, in, &dig, err))) {
		cJSON_Delete(rec);
		return 0; /* the report itself says what is wrong with it */
	}
	if (pb_tasks_find(&ov->seen, key) < 0) {
		if (pb_tasks_add(&ov->seen, key, 0) < 0)
			die("out of memory");
		ov->n++;
		for (p = 0; p < pools; p++) {
			int ci = ov->st->ctx_field ? p : -1;
			long pos = pb_tasks_find(pb_state_tasks(ov->st, ci), key), most = 0;
			for (a = 0; pos >= 0 && a < narms; a++)
				if (pb_state_cursor(ov->st, ci, (int)a) > most)
					most = pb_state_cursor(ov->st, ci, (int)a);
			if (pos >= 0 && pos < most) {
				if (!ov->used++)
					ov->example = estrdup(key);
				break;
			}
		}
		(void)c;
	}
	free(key);
	cJSON_Delete(rec);
	return 0;
}

/* --validate refuses held-out tasks that were used in training (the
 * state knows its tasks): exit 2, or a warning with --force. */
static void
check_held_out(const struct opts *o, const struct pb_state *st)
{
	struct overlap ov = { st, 0, 0, NULL, { 0 } };
	char *files[1] = { (char *)o->validate }, err[PB_ERRLEN];

	if (!st || !strcmp(o->validate, "-"))
		return; /* standard input is read once, by the report */
	if (pb_jsonl_files(1, files, overlap_record, &ov, err) < 0)
		die("%s", err);
	pb_tasks_free(&ov.seen);
	if (ov.used && !o->force)
		die("--validate: %ld of the %ld tasks in %s were used in training "
		    "(for example '%s'): they are not held out; use other tasks, or "
		    "--force to report anyway", ov.used, ov.n, o->validate, ov.example);
	if (ov.used)
		warnx_("warning: --validate: %ld of the %ld tasks in %s were used in "
		       "training (for example '%s'); the report is not a held-out check",
		       ov.used, ov.n, o->validate, ov.example);
	free(ov.example);
}

/* ============================================================ reporting */

#define NONE ((size_t)-1) /* no chosen arm */

/* One validation: of all the held-out records, or of one context's. */
struct validation {
	const struct vset *vs;
	const char *ctx;              /* the context, or NULL for all records */
	const struct pb_state *train; /* where the run chose: the state, the
	                               * context's view, or NULL */
	size_t base, chosen;          /* arms of vs; chosen may be NONE */
	const char *cname;            /* the chosen arm's id, or NULL */
	int tr;                       /* the chosen arm in train, or -1 */
	struct vrow *r;               /* per arm of vs */
	size_t *ord;                  /* arms of vs, best held-out accuracy first */
	size_t w;                     /* the widest arm id */
	int met;                      /* --require uplift is met */
};

/* The baseline's id: --baseline, else the state's arm with an empty
 * prefix; NULL for none. */
static const char *
baseline_name(const struct opts *o, const struct pb_state *st)
{
	size_t a;

	for (a = 0; !o->baseline && st && a < st->narms; a++) {
		const char *p = pb_json_str(st->arms[a].fields, "prefix");
		if (p && !*p)
			return st->arms[a].id;
	}
	return o->baseline;
}

/* Finds v's baseline (bname) and chosen arm (--arm, else the leader of
 * the training, else the other of two arms) among its records.  For all
 * the records a missing one is fatal; for a context the baseline's
 * absence returns -1, the chosen arm's leaves none. */
static int
pick_arms(struct validation *v, const struct opts *o, const char *bname)
{
	const struct vset *vs = v->vs;
	const char *cname = o->arm;

	v->tr = -1;
	v->chosen = NONE;
	if ((v->base = varm_find(vs, bname)) == vs->narms) {
		if (v->ctx)
			return -1;
		die("--validate: the baseline arm '%s' has no records in %s", bname, o->validate);
	}
	if (!cname && v->train && (v->tr = pb_glr_leader(v->train)) >= 0)
		cname = v->train->arms[v->tr].id;
	if (!cname && vs->narms == 2)
		cname = vs->arm[v->base == 0 ? 1 : 0].id;
	if (cname && (v->chosen = varm_find(vs, cname)) == vs->narms) {
		if (!v->ctx)
			die("--validate: the chosen arm '%s' has no records in %s", cname,
			    o->validate);
		v->chosen = NONE;
		cname = NULL;
	}
	if (v->train && cname)
		v->tr = pb_state_find_arm(v->train, cname);
	v->cname = cname;
	return 0;
}

/* The numbers of v: its rows, their order, and the gate. */
static void
compute(struct validation *v, const struct opts *o)
{
	const struct vset *vs = v->vs;
	size_t a;

	v->r = ecalloc(vs->narms, sizeof *v->r);
	validate_rows(vs, v->base, o, v->r);
	v->ord = ecalloc(vs->narms, sizeof *v->ord);
	v->w = 3;
	for (a = 0; a < vs->narms; a++) {
		v->ord[a] = a;
		if (strlen(vs->arm[a].id) > v->w)
			v->w = strlen(vs->arm[a].id);
	}
	cmp_rows = v->r;
	qsort(v->ord, vs->narms, sizeof *v->ord, byacc);
	v->met = 1;
	if (o->gate == G_UPLIFT) {
		if (v->chosen == NONE || v->chosen == v->base)
			v->met = 0;
		else
			v->met = v->r[v->chosen].npair > 0 && v->r[v->chosen].uplift > 0 &&
			         v->r[v->chosen].p < o->alpha_gate;
	}
}

static void
validation_free(struct validation *v)
{
	free(v->r);
	free(v->ord);
}

/* The winner's curse in JSON: the chosen arm's training mean against its
 * held-out one. */
static cJSON *
curse_json(const struct validation *v, const struct opts *o)
{
	const struct pb_arm *t = &v->train->arms[v->tr];
	const struct vrow *q = &v->r[v->chosen];
	cJSON *x = cJSON_CreateObject();
	double tlo, thi, z;
	const char *tm;
	int sig = curse(&t->st, &q->acc, o->alpha_gate, &z);

	pb_report_ci(&t->st, 1 - o->level, o->interval, &tlo, &thi, &tm);
	cJSON_AddStringToObject(x, "arm", t->id);
	cJSON_AddNumberToObject(x, "train_pulls", (double)t->st.n);
	num(x, "train_mean", t->st.n ? pb_stats_mean(&t->st) : NAN);
	num(x, "train_ci_low", tlo);
	num(x, "train_ci_high", thi);
	num(x, "heldout_mean", q->acc.n ? pb_stats_mean(&q->acc) : NAN);
	num(x, "heldout_ci_low", q->lo);
	num(x, "heldout_ci_high", q->hi);
	num(x, "drop", t->st.n && q->acc.n ? pb_stats_mean(&t->st) -
	    pb_stats_mean(&q->acc) : NAN);
	num(x, "z", z);
	cJSON_AddBoolToObject(x, "significant", sig);
	return x;
}

/* v as the JSON object "validate" (or one of its "contexts"). */
static cJSON *
validation_json(const struct validation *v, const struct opts *o)
{
	const struct vset *vs = v->vs;
	cJSON *j = cJSON_CreateObject(), *arr, *x;
	size_t a;

	if (v->ctx)
		cJSON_AddStringToObject(j, "context", v->ctx);
	cJSON_AddStringToObject(j, "file", o->validate);
	cJSON_AddNumberToObject(j, "tasks", (double)vs->ntasks);
	cJSON_AddNumberToObject(j, "records", (double)vs->records);
	cJSON_AddStringToObject(j, "baseline", vs->arm[v->base].id);
	cJSON_AddItemToObject(j, "chosen", v->cname ? cJSON_CreateString(v->cname) :
	                      cJSON_CreateNull());
	cJSON_AddNumberToObject(j, "level", o->level);
	cJSON_AddNumberToObject(j, "resamples", (double)o->resamples);
	cJSON_AddNumberToObject(j, "seed", (double)o->seed);
	arr = cJSON_AddArrayToObject(j, "arms");
	for (a = 0; a < vs->narms; a++) {
		const struct vrow *q = &v->r[v->ord[a]];
		const struct varm *m = &vs->arm[v->ord[a]];
		x = cJSON_CreateObject();
		cJSON_AddStringToObject(x, "id", m->id);
		cJSON_AddNumberToObject(x, "tasks", (double)q->acc.n);
		num(x, "accuracy", q->acc.n ? pb_stats_mean(&q->acc) : NAN);
		num(x, "ci_low", q->lo);
		num(x, "ci_high", q->hi);
		cJSON_AddStringToObject(x, "ci_method", q->method);
		cJSON_AddNumberToObject(x, "errors", (double)m->errors);
		if (v->ord[a] != v->base) {
			cJSON_AddNumberToObject(x, "paired", (double)q->npair);
			num(x, "uplift", q->uplift);
			num(x, "uplift_low", q->ulo);
			num(x, "uplift_high", q->uhi);
			cJSON_AddNumberToObject(x, "b", (double)q->b);
			cJSON_AddNumberToObject(x, "c", (double)q->c);
			num(x, "p_mcnemar", q->p);
		}
		if (vs->tokens) {
			cJSON_AddNumberToObject(x, "prompt_tokens", m->tin);
			cJSON_AddNumberToObject(x, "completion_tokens", m->tout);
			num(x, "cost", cost(o, vs->tokens, m->tin, m->tout));
		}
		cJSON_AddItemToArray(arr, x);
	}
	if (v->tr >= 0 && v->chosen != NONE)
		cJSON_AddItemToObject(j, "winners_curse", curse_json(v, o));
	if (o->gate == G_UPLIFT && !v->ctx) {
		x = cJSON_AddObjectToObject(j, "gate");
		cJSON_AddNumberToObject(x, "alpha", o->alpha_gate);
		cJSON_AddBoolToObject(x, "met", v->met);
	}
	return j;
}

/* v's rows as CSV, each after its context's column when ctxcol. */
static void
validation_csv(const struct validation *v, const struct opts *o, int ctxcol)
{
	const struct vset *vs = v->vs;
	char lo[32], hi[32], up[64], ulo[64], uhi[64], pv[32], usd[32];
	size_t a;

	for (a = 0; a < vs->narms; a++) {
		const struct vrow *q = &v->r[v->ord[a]];
		const struct varm *m = &vs->arm[v->ord[a]];
		int isb = v->ord[a] == v->base;
		if (ctxcol) {
			csvfield(v->ctx ? v->ctx : "");
			putchar(',');
		}
		csvfield(m->id);
		fmtnum(lo, sizeof lo, q->lo, "%.6g");
		fmtnum(hi, sizeof hi, q->hi, "%.6g");
		fmtnum(up, sizeof up, isb ? NAN : q->uplift, "%.6g");
		fmtnum(ulo, sizeof ulo, isb ? NAN : q->ulo, "%.6g");
		fmtnum(uhi, sizeof uhi, isb ? NAN : q->uhi, "%.6g");
		fmtnum(pv, sizeof pv, isb ? NAN : q->p, "%.6g");
		fmtnum(usd, sizeof usd, cost(o, vs->tokens, m->tin, m->tout), "%.6g");
		printf(",%ld,%.6g,%s,%s,%s,", q->acc.n, pb_stats_mean(&q->acc), lo, hi, q->method);
		if (isb)
			printf("-,%s,%s,%s,-,-,%s", up, ulo, uhi, pv);
		else
			printf("%zu,%s,%s,%s,%ld,%ld,%s", q->npair, up, ulo, uhi, q->b, q->c, pv);
		if (vs->tokens)
			printf(",%ld,%.0f,%.0f,%s\n", m->errors, m->tin, m->tout, usd);
		else
			printf(",%ld,-,-,%s\n", m->errors, usd);
	}
}

/* One row of the table (or Markdown table) of v: arm a in rank order. */
static void
table_row(const struct validation *v, const struct opts *o, size_t a)
{
	const struct vset *vs = v->vs;
	const struct vrow *q = &v->r[v->ord[a]];
	const struct varm *m = &vs->arm[v->ord[a]];
	char acc[32], ci[64], up[64], uci[64], bs[32], cs[32], pv[32], tok[32], usd[32];

	fmtnum(acc, sizeof acc, q->acc.n ? pb_stats_mean(&q->acc) : NAN, "%.3f");
	snprintf(ci, sizeof ci, "[%.3f, %.3f]", q->lo, q->hi);
	if (v->ord[a] == v->base) {
		snprintf(up, sizeof up, "(base)");
		snprintf(uci, sizeof uci, "-");
		snprintf(bs, sizeof bs, "-");
		snprintf(cs, sizeof cs, "-");
		snprintf(pv, sizeof pv, "-");
	} else {
		fmtnum(up, sizeof up, q->uplift, "%+.3f");
		if (isfinite(q->ulo))
			snprintf(uci, sizeof uci, "[%+.3f, %+.3f]", q->ulo, q->uhi);
		else
			snprintf(uci, sizeof uci, "-");
		snprintf(bs, sizeof bs, "%ld", q->b);
		snprintf(cs, sizeof cs, "%ld", q->c);
		snprintf(pv, sizeof pv, "%.4g", q->p);
	}
	snprintf(tok, sizeof tok, "%.0f", m->tin + m->tout);
	fmtnum(usd, sizeof usd, cost(o, vs->tokens, m->tin, m->tout), "$%.4f");
	if (o->format == F_MD) {
		printf("| ");
		mdcell(m->id);
		printf(" | %ld | %s | %s | %s | %s | %s | %s | %s | %ld |", q->acc.n, acc,
		       ci, up, uci, bs, cs, pv, m->errors);
		if (vs->tokens)
			printf(" %s | %s |", tok, usd);
	} else {
		printf("%-*s %6ld %8s  %-15s %7s  %-17s %4s %4s %9s %6ld", (int)v->w, m->id,
		       q->acc.n, acc, ci, up, uci, bs, cs, pv, m->errors);
		if (vs->tokens)
			printf(" %10s %8s", tok, usd);
	}
	putchar('\n');
}

/* The line on the winner's curse: the chosen arm's training mean
 * against its held-out one. */
static void
say_curse(const struct validation *v, const struct opts *o)
{
	const struct pb_arm *t = &v->train->arms[v->tr];
	const struct vrow *q = &v->r[v->chosen];
	double tm = pb_stats_mean(&t->st), ho = pb_stats_mean(&q->acc), tlo, thi, z;
	const char *meth;
	int sig = curse(&t->st, &q->acc, o->alpha_gate, &z);

	pb_report_ci(&t->st, 1 - o->level, o->interval, &tlo, &thi, &meth);
	printf("%s: the run chose %s on a training mean of %.3f "
	       "[%.3f, %.3f] over %ld pulls; on %ld held-out tasks it scored %.3f "
	       "[%.3f, %.3f]", sig ? "winner's curse" : "training against held-out",
	       t->id, tm, tlo, thi, t->st.n, q->acc.n, ho, q->lo, q->hi);
	if (sig)
		printf(", %.3f lower (z = %.2f, significant at %g): the training "
		       "figure was flattered by picking the luckiest arm; believe the "
		       "held-out one.\n", tm - ho, z, o->alpha_gate);
	else if (ho < tm)
		printf(", %.3f lower, within chance (z = %.2f, not significant at "
		       "%g): no evidence of the winner's curse.\n", tm - ho, z,
		       o->alpha_gate);
	else
		printf(", no lower: no sign of the winner's curse.\n");
}

/* The lines under the table: the winner's curse and the uplift. */
static void
say_uplift(const struct validation *v, const struct opts *o)
{
	const struct vset *vs = v->vs;
	int md = o->format == F_MD;

	if (v->chosen != NONE && v->chosen != v->base) {
		const struct vrow *q = &v->r[v->chosen];
		int sig = q->uplift > 0 && q->p < o->alpha_gate;
		if (md)
			putchar('\n');
		if (v->tr >= 0 && v->train->arms[v->tr].st.n > 0)
			say_curse(v, o);
		printf("uplift of %s over %s: %+.3f on %zu paired tasks (%g%% CI [%+.3f, %+.3f]), "
		       "McNemar p = %.4g: %ssignificant at %g%s\n", vs->arm[v->chosen].id,
		       vs->arm[v->base].id, q->uplift, q->npair, o->level * 100, q->ulo, q->uhi,
		       q->p, sig ? "" : "not ", o->alpha_gate, sig ? "." : ": the held-out "
		       "tasks do not show that it beats the baseline.");
	} else if (v->chosen != NONE) {
		printf("%suplift: the chosen arm %s is the baseline itself: there is no "
		       "uplift to measure (name another with --arm, or another baseline with "
		       "--baseline)\n", md ? "\n" : "", vs->arm[v->chosen].id);
	}
}

/* v as a table (or Markdown), with the lines under it. */
static void
validation_table(const struct validation *v, const struct opts *o)
{
	const struct vset *vs = v->vs;
	int md = o->format == F_MD;
	size_t a;

	printf(md ? "Held-out validation: %zu arms on %zu tasks of `%s`, paired by task; "
	       "baseline `%s`.\n\n" : "held-out validation: %zu arms on %zu tasks of %s, "
	       "paired by task; baseline %s\n", vs->narms, vs->ntasks, o->validate,
	       vs->arm[v->base].id);
	if (!md)
		vintervals(o, v->r, vs->narms, "");
	if (md)
		printf("| arm | tasks | accuracy | %g%% CI | uplift | %g%% CI | b | c | McNemar p | errors |%s\n"
		       "|:---|---:|---:|:---:|---:|:---:|---:|---:|---:|---:|%s\n", o->level * 100,
		       o->level * 100, vs->tokens ? " tokens | cost |" : "",
		       vs->tokens ? "---:|---:|" : "");
	else
		printf("%-*s %6s %8s  %-15s %7s  %-17s %4s %4s %9s %6s%s\n", (int)v->w, "arm",
		       "tasks", "accuracy", "CI", "uplift", "CI", "b", "c", "McNemar p", "errors",
		       vs->tokens ? "     tokens     cost" : "");
	for (a = 0; a < vs->narms; a++)
		table_row(v, o, a);
	if (md) {
		putchar('\n');
		vintervals(o, v->r, vs->narms, ".");
	}
	say_uplift(v, o);
}

/* The validation of each context with held-out records, after the
 * totals: into arr (JSON) or printed. */
static void
validate_contexts(const struct opts *o, const struct pb_state *st,
                  const struct vread *vr, const char *bname, cJSON *arr)
{
	size_t c;

	for (c = 0; c < vr->nctx; c++) {
		struct validation v = { .vs = &vr->ctx[c].vs, .ctx = vr->ctx[c].name };
		struct pb_state view;
		if (v.vs->narms == 0)
			continue; /* a context of the state without held-out records */
		if (c < st->nctx) { /* the state's contexts come first */
			pb_state_context_view(st, c, &view);
			v.train = &view;
		}
		if (o->format != F_JSON && o->format != F_CSV) {
			putchar('\n');
			context_heading(st->ctx_field, v.ctx, o);
		}
		if (pick_arms(&v, o, bname) < 0) {
			if (arr) {
				cJSON *x = cJSON_CreateObject();
				cJSON_AddStringToObject(x, "context", v.ctx);
				cJSON_AddNumberToObject(x, "records", (double)v.vs->records);
				cJSON_AddItemToObject(x, "baseline", cJSON_CreateNull());
				cJSON_AddItemToArray(arr, x);
			} else if (o->format != F_CSV) {
				printf("the baseline arm %s has no records in this context\n", bname);
			}
			continue;
		}
		compute(&v, o);
		if (arr)
			cJSON_AddItemToArray(arr, validation_json(&v, o));
		else if (o->format == F_CSV)
			validation_csv(&v, o, 1);
		else
			validation_table(&v, o);
		validation_free(&v);
	}
}

/* The validation report, then each context's for a state with contexts.
 * Returns the exit status: PB_EXIT_GATE when --require uplift is not met
 * on all the records (whatever else), else PB_EXIT_RECORDS when some
 * records were bad (each reported), else PB_EXIT_OK. */
int
validate(const struct opts *o, const struct pb_state *st)
{
	struct vread vr;
	struct validation all = { .train = st };
	const char *bname;
	int ctxs = st && st->ctx_field;
	size_t c;

	check_held_out(o, st);
	read_held_out(o, st, &vr);
	all.vs = &vr.all;
	if (!(bname = baseline_name(o, st)))
		die("--validate: no baseline: give --baseline ARM");
	pick_arms(&all, o, bname);
	compute(&all, o);
	if (o->format == F_JSON) {
		cJSON *j = cJSON_CreateObject(), *v = validation_json(&all, o);
		cJSON_AddItemToObject(j, "validate", v);
		if (ctxs) {
			cJSON_AddStringToObject(v, "context_field", st->ctx_field);
			validate_contexts(o, st, &vr, bname, cJSON_AddArrayToObject(v, "contexts"));
		}
		put_json(j);
	} else if (o->format == F_CSV) {
		printf("%sid,tasks,accuracy,ci_low,ci_high,ci_method,paired,uplift,uplift_low,"
		       "uplift_high,b,c,p_mcnemar,errors,prompt_tokens,completion_tokens,cost\n",
		       ctxs ? "context," : "");
		validation_csv(&all, o, ctxs);
		if (ctxs)
			validate_contexts(o, st, &vr, bname, NULL);
	} else {
		validation_table(&all, o);
		if (ctxs)
			validate_contexts(o, st, &vr, bname, NULL);
	}
	if (o->gate == G_UPLIFT && !all.met)
		warnx_("gate: %s", all.chosen == NONE ? "no chosen arm (give --arm ARM)" :
		       all.chosen == all.base ? "the chosen arm is the baseline itself: no "
		       "uplift to test" : "the held-out uplift of the chosen arm is not "
		       "significant");
	validation_free(&all);
	vset_free(&vr.all);
	for (c = 0; c < vr.nctx; c++) {
		vset_free(&vr.ctx[c].vs);
		free(vr.ctx[c].name);
	}
	free(vr.ctx);
	return !all.met ? PB_EXIT_GATE : vr.bad ? PB_EXIT_RECORDS : PB_EXIT_OK;
}
