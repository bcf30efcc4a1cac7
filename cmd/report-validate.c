/* report-validate.c - pb-report --validate: the chosen arm on held-out
 * scored records, accuracy and paired uplift over a baseline, and the
 * winner's curse against the training figure. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/pb.h"
#include "util.h"
#include "report.h"

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
	size_t *slot;  /* hash table of task indexes + 1 */
	size_t capslot;
	long records, bad;
	int tokens;
};

static size_t
task_index(struct vset *vs, const char *key)
{
	size_t i, j, a;
	uint64_t hk = pb_hash(key, strlen(key), 0);

	if (2 * (vs->ntasks + 1) > vs->capslot) {
		size_t ncap = vs->capslot ? 2 * vs->capslot : 256;
		size_t *ns = ecalloc(ncap, sizeof *ns);
		for (j = 0; j < vs->ntasks; j++) {
			uint64_t h2 = pb_hash(vs->task[j], strlen(vs->task[j]), 0);
			for (i = h2 & (ncap - 1); ns[i]; i = (i + 1) & (ncap - 1))
				;
			ns[i] = j + 1;
		}
		free(vs->slot);
		vs->slot = ns;
		vs->capslot = ncap;
	}
	for (i = hk & (vs->capslot - 1); vs->slot[i]; i = (i + 1) & (vs->capslot - 1))
		if (!strcmp(vs->task[vs->slot[i] - 1], key))
			return vs->slot[i] - 1;
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
	vs->task[vs->ntasks] = estrdup(key);
	vs->slot[i] = vs->ntasks + 1;
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

static int
validate_record(cJSON *rec, const struct pb_where *at, const char *why, void *arg)
{
	struct vset *vs = arg;
	struct pb_scored in;
	const cJSON *id;
	char *key, err[PB_ERRLEN];
	size_t a, t;

	if (!rec) {
		bad_record(&vs->bad, at, 0, "%s", why);
		return 0;
	}
	vs->records++;
	if (pb_scored_read(rec, PB_SCORED_TASK | PB_SCORED_REWARD | PB_SCORED_TERSE,
	                   &in, err) < 0) {
		bad_record(&vs->bad, at, 0, "%s", err);
		cJSON_Delete(rec);
		return 0;
	}
	id = cJSON_IsObject(in.task) ? cJSON_GetObjectItemCaseSensitive(in.task, "id") : NULL;
	key = id && (cJSON_IsString(id) || cJSON_IsNumber(id)) ? pb_json_text(id) :
	      pb_json_canonical(in.task);
	if (!key)
		die("out of memory");
	a = varm_index(vs, in.arm);
	t = task_index(vs, key);
	free(key);
	if (isnan(in.reward)) {
		vs->arm[a].errors++;
	} else {
		vs->arm[a].sum[t] += in.reward;
		vs->arm[a].cnt[t]++;
	}
	if (in.tin >= 0) {
		vs->arm[a].tin += in.tin;
		vs->arm[a].tout += in.tout;
		vs->tokens = 1;
	}
	cJSON_Delete(rec);
	return 0;
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

/* The validation report.  Returns the exit status: PB_EXIT_GATE when
 * --require uplift is not met (whatever else), else PB_EXIT_RECORDS when
 * some records were bad (each reported), else PB_EXIT_OK. */
int
validate(const struct opts *o, const struct pb_state *st)
{
	struct vset vs = { 0 };
	struct vrow *r;
	size_t *ord, a, base, chosen = (size_t)-1;
	char *files[1];
	char err[PB_ERRLEN], lo[32], hi[32], up[64], ci[64], uci[64], pv[32], usd[32];
	const char *bname = o->baseline, *cname = o->arm;
	int tr = -1, met = 1, md = o->format == F_MD;
	size_t w = 3;

	check_held_out(o, st);
	files[0] = (char *)o->validate;
	if (pb_jsonl_files(1, files, validate_record, &vs, err) < 0)
		die("%s", err);
	if (vs.narms == 0)
		die("--validate: %s: no scored records", o->validate);
	if (!bname && st) {
		for (a = 0; a < st->narms && !bname; a++) {
			const char *p = pb_json_str(st->arms[a].fields, "prefix");
			if (p && !*p)
				bname = st->arms[a].id;
		}
	}
	if (!bname)
		die("--validate: no baseline: give --baseline ARM");
	if ((base = varm_find(&vs, bname)) == vs.narms)
		die("--validate: the baseline arm '%s' has no records in %s", bname, o->validate);
	if (!cname && st && (tr = pb_glr_leader(st)) >= 0)
		cname = st->arms[tr].id;
	if (!cname && vs.narms == 2)
		cname = vs.arm[base == 0 ? 1 : 0].id;
	if (cname && (chosen = varm_find(&vs, cname)) == vs.narms)
		die("--validate: the chosen arm '%s' has no records in %s", cname, o->validate);
	if (st && cname)
		tr = pb_state_find_arm(st, cname);

	r = ecalloc(vs.narms, sizeof *r);
	validate_rows(&vs, base, o, r);
	ord = ecalloc(vs.narms, sizeof *ord);
	for (a = 0; a < vs.narms; a++) {
		ord[a] = a;
		if (strlen(vs.arm[a].id) > w)
			w = strlen(vs.arm[a].id);
	}
	cmp_rows = r;
	qsort(ord, vs.narms, sizeof *ord, byacc);

	if (o->gate == G_UPLIFT) {
		if (chosen == (size_t)-1 || chosen == base)
			met = 0;
		else
			met = r[chosen].npair > 0 && r[chosen].uplift > 0 &&
			      r[chosen].p < o->alpha_gate;
	}

	if (o->format == F_JSON) {
		cJSON *j = cJSON_CreateObject(), *v = cJSON_AddObjectToObject(j, "validate"),
		      *arr, *x;
		cJSON_AddStringToObject(v, "file", o->validate);
		cJSON_AddNumberToObject(v, "tasks", (double)vs.ntasks);
		cJSON_AddNumberToObject(v, "records", (double)vs.records);
		cJSON_AddStringToObject(v, "baseline", vs.arm[base].id);
		cJSON_AddItemToObject(v, "chosen", cname ? cJSON_CreateString(cname) : cJSON_CreateNull());
		cJSON_AddNumberToObject(v, "level", o->level);
		cJSON_AddNumberToObject(v, "resamples", (double)o->resamples);
		cJSON_AddNumberToObject(v, "seed", (double)o->seed);
		arr = cJSON_AddArrayToObject(v, "arms");
		for (a = 0; a < vs.narms; a++) {
			const struct vrow *q = &r[ord[a]];
			const struct varm *m = &vs.arm[ord[a]];
			x = cJSON_CreateObject();
			cJSON_AddStringToObject(x, "id", m->id);
			cJSON_AddNumberToObject(x, "tasks", (double)q->acc.n);
			num(x, "accuracy", q->acc.n ? pb_stats_mean(&q->acc) : NAN);
			num(x, "ci_low", q->lo);
			num(x, "ci_high", q->hi);
			cJSON_AddStringToObject(x, "ci_method", q->method);
			cJSON_AddNumberToObject(x, "errors", (double)m->errors);
			if (ord[a] != base) {
				cJSON_AddNumberToObject(x, "paired", (double)q->npair);
				num(x, "uplift", q->uplift);
				num(x, "uplift_low", q->ulo);
				num(x, "uplift_high", q->uhi);
				cJSON_AddNumberToObject(x, "b", (double)q->b);
				cJSON_AddNumberToObject(x, "c", (double)q->c);
				num(x, "p_mcnemar", q->p);
			}
			if (vs.tokens) {
				cJSON_AddNumberToObject(x, "prompt_tokens", m->tin);
				cJSON_AddNumberToObject(x, "completion_tokens", m->tout);
				num(x, "cost", cost(o, vs.tokens, m->tin, m->tout));
			}
			cJSON_AddItemToArray(arr, x);
		}
		if (tr >= 0 && chosen != (size_t)-1) {
			const struct pb_arm *t = &st->arms[tr];
			double tlo, thi;
			const char *tm;
			x = cJSON_AddObjectToObject(v, "winners_curse");
			pb_report_ci(&t->st, 1 - o->level, o->interval, &tlo, &thi, &tm);
			cJSON_AddStringToObject(x, "arm", t->id);
			cJSON_AddNumberToObject(x, "train_pulls", (double)t->st.n);
			num(x, "train_mean", t->st.n ? pb_stats_mean(&t->st) : NAN);
			num(x, "train_ci_low", tlo);
			num(x, "train_ci_high", thi);
			num(x, "heldout_mean", r[chosen].acc.n ? pb_stats_mean(&r[chosen].acc) : NAN);
			num(x, "heldout_ci_low", r[chosen].lo);
			num(x, "heldout_ci_high", r[chosen].hi);
			{
				double z;
				int sig = curse(&t->st, &r[chosen].acc, o->alpha_gate, &z);
				num(x, "drop", t->st.n && r[chosen].acc.n ? pb_stats_mean(&t->st) -
				    pb_stats_mean(&r[chosen].acc) : NAN);
				num(x, "z", z);
				cJSON_AddBoolToObject(x, "significant", sig);
			}
		}
		if (o->gate == G_UPLIFT) {
			x = cJSON_AddObjectToObject(v, "gate");
			cJSON_AddNumberToObject(x, "alpha", o->alpha_gate);
			cJSON_AddBoolToObject(x, "met", met);
		}
		put_json(j);
		goto done;
	}
	if (o->format == F_CSV) {
		printf("id,tasks,accuracy,ci_low,ci_high,ci_method,paired,uplift,uplift_low,"
		       "uplift_high,b,c,p_mcnemar,errors,prompt_tokens,completion_tokens,cost\n");
		for (a = 0; a < vs.narms; a++) {
			const struct vrow *q = &r[ord[a]];
			const struct varm *m = &vs.arm[ord[a]];
			int isb = ord[a] == base;
			csvfield(m->id);
			fmtnum(lo, sizeof lo, q->lo, "%.6g");
			fmtnum(hi, sizeof hi, q->hi, "%.6g");
			fmtnum(up, sizeof up, isb ? NAN : q->uplift, "%.6g");
			fmtnum(ci, sizeof ci, isb ? NAN : q->ulo, "%.6g");
			fmtnum(uci, sizeof uci, isb ? NAN : q->uhi, "%.6g");
			fmtnum(pv, sizeof pv, isb ? NAN : q->p, "%.6g");
			fmtnum(usd, sizeof usd, cost(o, vs.tokens, m->tin, m->tout), "%.6g");
			printf(",%ld,%.6g,%s,%s,%s,", q->acc.n, pb_stats_mean(&q->acc), lo, hi, q->method);
			if (isb)
				printf("-,%s,%s,%s,-,-,%s", up, ci, uci, pv);
			else
				printf("%zu,%s,%s,%s,%ld,%ld,%s", q->npair, up, ci, uci, q->b, q->c, pv);
			if (vs.tokens)
				printf(",%ld,%.0f,%.0f,%s\n", m->errors, m->tin, m->tout, usd);
			else
				printf(",%ld,-,-,%s\n", m->errors, usd);
		}
		goto done;
	}
	printf(md ? "Held-out validation: %zu arms on %zu tasks of `%s`, paired by task; "
	       "baseline `%s`.\n\n" : "held-out validation: %zu arms on %zu tasks of %s, "
	       "paired by task; baseline %s\n", vs.narms, vs.ntasks, o->validate, vs.arm[base].id);
	if (!md)
		vintervals(o, r, vs.narms, "");
	if (md)
		printf("| arm | tasks | accuracy | %g%% CI | uplift | %g%% CI | b | c | McNemar p | errors |%s\n"
		       "|:---|---:|---:|:---:|---:|:---:|---:|---:|---:|---:|%s\n", o->level * 100,
		       o->level * 100, vs.tokens ? " tokens | cost |" : "", vs.tokens ? "---:|---:|" : "");
	else
		printf("%-*s %6s %8s  %-15s %7s  %-17s %4s %4s %9s %6s%s\n", (int)w, "arm", "tasks",
		       "accuracy", "CI", "uplift", "CI", "b", "c", "McNemar p", "errors",
		       vs.tokens ? "     tokens     cost" : "");
	for (a = 0; a < vs.narms; a++) {
		const struct vrow *q = &r[ord[a]];
		const struct varm *m = &vs.arm[ord[a]];
		char acc[32], bs[32], cs[32], tok[32];
		int isb = ord[a] == base;
		fmtnum(acc, sizeof acc, q->acc.n ? pb_stats_mean(&q->acc) : NAN, "%.3f");
		snprintf(ci, sizeof ci, "[%.3f, %.3f]", q->lo, q->hi);
		if (isb) {
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
		fmtnum(usd, sizeof usd, cost(o, vs.tokens, m->tin, m->tout), "$%.4f");
		if (md) {
			printf("| ");
			mdcell(m->id);
			printf(" | %ld | %s | %s | %s | %s | %s | %s | %s | %ld |", q->acc.n, acc,
			       ci, up, uci, bs, cs, pv, m->errors);
			if (vs.tokens)
				printf(" %s | %s |", tok, usd);
			putchar('\n');
		} else {
			printf("%-*s %6ld %8s  %-15s %7s  %-17s %4s %4s %9s %6ld", (int)w, m->id,
			       q->acc.n, acc, ci, up, uci, bs, cs, pv, m->errors);
			if (vs.tokens)
				printf(" %10s %8s", tok, usd);
			putchar('\n');
		}
	}
	if (md) {
		putchar('\n');
		vintervals(o, r, vs.narms, ".");
	}
	if (chosen != (size_t)-1 && chosen != base) {
		const struct vrow *q = &r[chosen];
		double ho = pb_stats_mean(&q->acc);
		if (md)
			putchar('\n');
		if (tr >= 0 && st->arms[tr].st.n > 0) {
			const struct pb_arm *t = &st->arms[tr];
			double tm = pb_stats_mean(&t->st), tlo, thi;
			const char *meth;
			double z;
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
		printf("uplift of %s over %s: %+.3f on %zu paired tasks (%g%% CI [%+.3f, %+.3f]), "
		       "McNemar p = %.4g: %ssignificant at %g%s\n", vs.arm[chosen].id,
		       vs.arm[base].id, q->uplift, q->npair, o->level * 100, q->ulo, q->uhi, q->p,
		       q->uplift > 0 && q->p < o->alpha_gate ? "" : "not ", o->alpha_gate,
		       q->uplift > 0 && q->p < o->alpha_gate ? "." : ": the held-out tasks "
		       "do not show that it beats the baseline.");
	} else if (chosen != (size_t)-1) {
		printf("%suplift: the chosen arm %s is the baseline itself: there is no "
		       "uplift to measure (name another with --arm, or another baseline with "
		       "--baseline)\n", md ? "\n" : "", vs.arm[chosen].id);
	}
done:
	for (a = 0; a < vs.narms; a++) {
		free(vs.arm[a].id);
		free(vs.arm[a].sum);
		free(vs.arm[a].cnt);
	}
	for (a = 0; a < vs.ntasks; a++)
		free(vs.task[a]);
	free(vs.task);
	free(vs.slot);
	free(vs.arm);
	free(r);
	free(ord);
	if (o->gate == G_UPLIFT && !met)
		warnx_("gate: %s", chosen == (size_t)-1 ? "no chosen arm (give --arm ARM)" :
		       chosen == base ? "the chosen arm is the baseline itself: no uplift "
		       "to test" : "the held-out uplift of the chosen arm is not significant");
	return !met ? PB_EXIT_GATE : vs.bad ? PB_EXIT_RECORDS : PB_EXIT_OK;
}
