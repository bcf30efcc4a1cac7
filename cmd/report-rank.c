/* report-rank.c - pb-report's ranking: the arms best mean first, with
 * intervals, P(best) and the claim about the pool's own tasks; as a
 * table, CSV, Markdown or JSON; and each context's ranking. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/pb.h"
#include "util.h"
#include "report.h"

static const struct pb_state *cmp_st;

static int
bymean(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	long nx = cmp_st->arms[x->arm].st.n, ny = cmp_st->arms[y->arm].st.n;

	if ((nx > 0) != (ny > 0))
		return nx > 0 ? -1 : 1;
	if (x->mean != y->mean)
		return x->mean > y->mean ? -1 : 1;
	if (nx != ny)
		return nx > ny ? -1 : 1;
	return x->arm - y->arm;
}

static int
cmpid(const void *a, const void *b)
{
	return strcmp(cmp_st->arms[*(const size_t *)a].id, cmp_st->arms[*(const size_t *)b].id);
}

/* The posterior of arm a for P(best): Beta moments for 0/1 rewards
 * (as pb_prob_best draws them), else N(mean, v / n) with v floored at
 * 1 / (4 n). */
static void
posterior(const struct pb_stats *s, double *mu, double *var)
{
	double n = (double)s->n, v, a, b;

	if (s->nonbinary == 0) {
		a = 1 + s->sum;
		b = 1 + n - s->sum;
		*mu = a / (a + b);
		*var = a * b / ((a + b) * (a + b) * (a + b + 1));
		return;
	}
	v = pb_stats_var(s);
	*mu = pb_stats_mean(s);
	*var = (v > 1 / (4 * n) ? v : 1 / (4 * n)) / n;
}

/* Joint P(best) is O(draws K^2): beyond this many arms in the pool the
 * arms are drawn independently; beyond GRID_MIN, where draws x arms
 * would pass 10^7, it is integrated instead (pb_prob_best_grid). */
enum { JOINT_MAX = 100, GRID_MIN = 1000 };

/* Fills pbest[] (per arm of st; NAN for a retired arm, which can no
 * longer be chosen) with each arm's chance of being best among the arms
 * still in the pool, drawn over the arms sorted by id, so that a replay,
 * whose arms come in the order first seen, draws the same numbers.
 * Where arms were paired on shared tasks, the draw is joint: the
 * covariance of two arms' means is their per-task covariance, estimated
 * from the pair's differences as (v_i + v_j - v_d) / 2, times
 * n_ij / (n_i n_j).  Returns how it was computed, a PBEST_*. */
static int
prob_best(const struct pb_state *st, const struct opts *o, double *pbest)
{
	size_t i, j, k = 0, *byid = ecalloc(st->narms ? st->narms : 1, sizeof *byid);
	struct pb_stats *s = ecalloc(st->narms ? st->narms : 1, sizeof *s);
	double *p = ecalloc(st->narms ? st->narms : 1, sizeof *p);
	int joint = 0;

	for (i = 0; i < st->narms; i++) {
		pbest[i] = NAN;
		if (!st->arms[i].retired)
			byid[k++] = i;
	}
	cmp_st = st;
	qsort(byid, k, sizeof *byid, cmpid);
	for (i = 0; i < k; i++)
		s[i] = st->arms[byid[i]].st;
	for (i = 0; i < k && k <= JOINT_MAX && !joint; i++)
		for (j = i + 1; j < k && !joint; j++) {
			const struct pb_pair *q = pb_state_pair(st, (int)byid[i], (int)byid[j]);
			joint = q && q->n >= 2 && s[i].n >= 2 && s[j].n >= 2;
		}
	if (joint) {
		double *mu = ecalloc(k, sizeof *mu), *cov = ecalloc(k * k, sizeof *cov);
		for (i = 0; i < k; i++)
			posterior(&s[i], &mu[i], &cov[i * k + i]);
		for (i = 0; i < k; i++)
			for (j = i + 1; j < k; j++) {
				const struct pb_pair *q = pb_state_pair(st, (int)byid[i], (int)byid[j]);
				double nd, vd, vi, vj, c, lim;
				if (!q || q->n < 2 || s[i].n < 2 || s[j].n < 2)
					continue;
				nd = (double)q->n;
				vd = (q->sumsq - q->sum * q->sum / nd) / (nd - 1);
				vi = pb_stats_var(&s[i]);
				vj = pb_stats_var(&s[j]);
				c = (vi + vj - (vd > 0 ? vd : 0)) / 2 * nd /
				    ((double)s[i].n * (double)s[j].n);
				lim = 0.99 * sqrt(cov[i * k + i] * cov[j * k + j]);
				c = c > lim ? lim : c < -lim ? -lim : c;
				cov[i * k + j] = cov[j * k + i] = c;
			}
		if (pb_prob_best_joint(mu, cov, k, o->draws, o->seed, p) < 0)
			die("out of memory");
		free(mu);
		free(cov);
	} else if (k > GRID_MIN) {
		if (pb_prob_best_grid(s, k, p) < 0)
			die("out of memory");
	} else if (pb_prob_best(s, k, o->draws, o->seed, p) < 0) {
		die("out of memory");
	}
	for (i = 0; i < k; i++)
		pbest[byid[i]] = p[i];
	free(byid);
	free(s);
	free(p);
	return joint ? PBEST_JOINT : k > GRID_MIN ? PBEST_GRID : PBEST_DRAWN;
}

/* The interval of arm a's mean over the pool's n tasks themselves (not
 * the population they came from) at level 1 - d: pb_wor_bounds for 0/1
 * rewards; for graded ones only the exact mean once every task is in
 * (no finite-population interval is computed from sums alone).  NAN
 * when there is none, or the arm holds more rewards than the pool has
 * tasks (check_pairs says why). */
static void
pool_interval(const struct pb_arm *a, size_t n, double d, double *lo, double *hi)
{
	*lo = *hi = NAN;
	if (n == 0 || a->st.n > (long)n)
		return;
	if (a->st.nonbinary == 0)
		pb_wor_bounds(a->st.sum, a->st.n, (long)n, d, lo, hi);
	else if (a->st.n == (long)n)
		*lo = *hi = pb_stats_mean(&a->st);
}

/* The claim about the pool itself, beside the verdict about the
 * population: each arm's pool interval at the report's level, and the
 * arm best on these tasks when its lower bound clears every other
 * arm's upper one at level 1 - (1 - L) / K (K arms in the pool, so the
 * K intervals hold together). */
static void
pool_claim(struct ranking *rk, const struct opts *o)
{
	const struct pb_state *st = &rk->st;
	size_t i, j, k = 0, n = rk->v.pool;
	double *lo, *hi;
	int best = -1;

	rk->pool_best = -1;
	for (i = 0; i < st->narms; i++) {
		rk->r[i].plo = rk->r[i].phi = NAN;
		k += !st->arms[i].retired;
	}
	if (n == 0 || rk->replayed || k == 0)
		return;
	lo = ecalloc(st->narms, sizeof *lo);
	hi = ecalloc(st->narms, sizeof *hi);
	for (i = 0; i < st->narms; i++) {
		const struct pb_arm *a = &st->arms[rk->r[i].arm];
		pool_interval(a, n, 1 - o->level, &rk->r[i].plo, &rk->r[i].phi);
		pool_interval(a, n, (1 - o->level) / (double)k, &lo[i], &hi[i]);
		if (!a->retired && best < 0)
			best = (int)i; /* rows are best mean first */
	}
	for (j = 0; best >= 0 && j < st->narms; j++) {
		if ((int)j == best || st->arms[rk->r[j].arm].retired)
			continue;
		if (!(lo[best] > hi[j]))
			best = -1;
	}
	if (best >= 0 && k > 1)
		rk->pool_best = rk->r[best].arm;
	free(lo);
	free(hi);
}

/* The table's line on the pool itself: the top arms' pool intervals. */
static void
print_pool(const struct ranking *rk, const struct opts *o)
{
	const struct pb_state *st = &rk->st;
	size_t i, shown = 0, more = 0, k = 0;

	if (rk->v.pool == 0 || rk->replayed)
		return;
	for (i = 0; i < st->narms; i++)
		k += !st->arms[i].retired;
	printf("on these %zu tasks themselves (finite-population %g%% intervals, "
	       "sampling without replacement):", rk->v.pool, o->level * 100);
	for (i = 0; i < st->narms; i++) {
		const struct pb_arm *a = &st->arms[rk->r[i].arm];
		if (a->retired || a->st.n == 0)
			continue;
		if (shown == 3) {
			more++;
			continue;
		}
		printf("%s %s %.3f", shown ? "," : "", a->id, rk->r[i].mean);
		if (isfinite(rk->r[i].plo))
			printf(" [%.3f, %.3f]", rk->r[i].plo, rk->r[i].phi);
		else
			printf(" [-]");
		printf(" on %ld", a->st.n);
		shown++;
	}
	if (more)
		printf(", and %zu more", more);
	putchar('\n');
	if (rk->pool_best >= 0)
		printf("best on these %zu tasks: %s (its interval clears every other "
		       "arm's, each at %g / %zu)\n", rk->v.pool, st->arms[rk->pool_best].id,
		       1 - o->level, k);
}

/* Fills rk->r (sorted) and rk->v from rk->st. */
void
rank_arms(struct ranking *rk, const struct opts *o)
{
	struct pb_state *st = &rk->st;
	double *prob = ecalloc(st->narms, sizeof *prob), total = 0;
	double *pbest = ecalloc(st->narms, sizeof *pbest);
	size_t i;

	rk->r = ecalloc(st->narms, sizeof *rk->r);
	/* Tokens: the state's own counts (pb-update adds each applied
	 * pull's response.usage); a replay added them from the records. */
	if (!rk->replayed)
		for (i = 0; i < st->narms; i++)
			if (st->arms[i].tok_in || st->arms[i].tok_out)
				rk->tokens = 1;
	for (i = 0; i < st->narms; i++)
		total += (double)st->arms[i].st.n;
	rk->pbest = prob_best(st, o, pbest);
	if (!rk->replayed && pb_policy_probs(st, prob) < 0)
		die("out of memory");
	for (i = 0; i < st->narms; i++) {
		const struct pb_arm *a = &st->arms[i];
		struct row *r = &rk->r[i];
		r->arm = (int)i;
		r->mean = pb_stats_mean(&a->st);
		r->share = total > 0 ? (double)a->st.n / total : NAN;
		r->index = rk->replayed ? NAN : pb_policy_index(st, (int)i);
		r->prob = rk->replayed ? NAN : prob[i];
		r->pbest = pbest[i];
		pb_report_ci(&a->st, 1 - o->level, o->interval, &r->lo, &r->hi, &r->method);
		rk->pending += a->pending;
	}
	qsort(rk->r, st->narms, sizeof *rk->r, bymean);
	judge(st, o->level, o->eps, &rk->v);
	pool_claim(rk, o);
	if (!rk->replayed)
		check_pairs(st, rk->ctx);
	free(prob);
	free(pbest);
}



static double
arm_cost(const struct ranking *rk, const struct opts *o, int arm)
{
	const struct pb_arm *a = &rk->st.arms[arm];

	return cost(o, rk->tokens, a->tok_in, a->tok_out);
}

cJSON *
ranking_json(const struct ranking *rk, const struct opts *o)
{
	const struct pb_state *st = &rk->st;
	const struct row *r = rk->r;
	cJSON *j = cJSON_CreateObject(), *arr, *a;
	size_t i;

	cJSON_AddStringToObject(j, "run", st->run);
	cJSON_AddItemToObject(j, "policy", pb_policy_json(&st->pol));
	cJSON_AddNumberToObject(j, "updates", (double)st->updates);
	cJSON_AddNumberToObject(j, "pending", (double)rk->pending);
	cJSON_AddNumberToObject(j, "level", o->level);
	cJSON_AddNumberToObject(j, "pbest_draws", rk->pbest == PBEST_GRID ? 0 : (double)o->draws);
	arr = cJSON_AddArrayToObject(j, "arms");
	for (i = 0; i < st->narms; i++) {
		const struct pb_arm *arm = &st->arms[r[i].arm];
		a = cJSON_CreateObject();
		cJSON_AddNumberToObject(a, "rank", (double)i + 1);
		cJSON_AddStringToObject(a, "id", arm->id);
		if (arm->retired)
			cJSON_AddBoolToObject(a, "retired", 1);
		cJSON_AddNumberToObject(a, "pulls", (double)arm->st.n);
		num(a, "share", r[i].share);
		num(a, "mean", arm->st.n ? r[i].mean : NAN);
		num(a, "ci_low", r[i].lo);
		num(a, "ci_high", r[i].hi);
		cJSON_AddStringToObject(a, "ci_method", r[i].method);
		num(a, "index", r[i].index);
		cJSON_AddNumberToObject(a, "errors", (double)arm->errors);
		cJSON_AddNumberToObject(a, "pending", (double)arm->pending);
		num(a, "prob", r[i].prob);
		num(a, "pbest", r[i].pbest);
		if (rk->v.pool > 0 && !rk->replayed) {
			num(a, "pool_low", r[i].plo);
			num(a, "pool_high", r[i].phi);
		}
		if (rk->tokens) {
			cJSON_AddNumberToObject(a, "prompt_tokens", arm->tok_in);
			cJSON_AddNumberToObject(a, "completion_tokens", arm->tok_out);
			num(a, "cost", arm_cost(rk, o, r[i].arm));
		}
		cJSON_AddItemToArray(arr, a);
	}
	cJSON_AddItemToObject(j, "verdict", verdict_json(st, r, &rk->v));
	if (rk->v.pool > 0 && !rk->replayed)
		cJSON_AddItemToObject(j, "pool_best", rk->pool_best >= 0 ?
		                      cJSON_CreateString(st->arms[rk->pool_best].id) :
		                      cJSON_CreateNull());
	return j;
}

/* The posterior P(best) drew from, in words, for the note under tables. */
static const char *
posteriors(const struct pb_state *st)
{
	size_t i, nb = 0;

	for (i = 0; i < st->narms; i++)
		nb += st->arms[i].st.nonbinary > 0;
	return nb == 0 ? "Beta(1 + wins, 1 + losses)" : nb == st->narms ?
	       "normal N(mean, var/n)" :
	       "Beta(1 + wins, 1 + losses) for 0/1 rewards, normal N(mean, var/n) otherwise";
}

/* The ranking as CSV: a header line unless a context's ranking follows
 * the totals, and a context column for a state with contexts. */
static void
ranking_csv(const struct ranking *rk, const struct opts *o)
{
	const struct pb_state *st = &rk->st;
	const struct row *r = rk->r;
	char m[32], lo[32], hi[32], ix[32], sh[32], pb[32], usd[32], tok[48];
	size_t i;

	if (!rk->more)
		printf("%srank,id,pulls,share,mean,ci_low,ci_high,ci_method,index,"
		       "errors,pbest,prompt_tokens,completion_tokens,cost\n",
		       rk->ctx ? "context," : "");
	for (i = 0; i < st->narms; i++) {
		const struct pb_arm *a = &st->arms[r[i].arm];
		if (rk->ctx) {
			csvfield(rk->ctx);
			putchar(',');
		}
		printf("%zu,", i + 1);
		csvfield(a->id);
		fmtnum(m, sizeof m, a->st.n ? r[i].mean : NAN, "%.6g");
		fmtnum(lo, sizeof lo, r[i].lo, "%.6g");
		fmtnum(hi, sizeof hi, r[i].hi, "%.6g");
		fmtnum(ix, sizeof ix, r[i].index, "%.6g");
		fmtnum(sh, sizeof sh, r[i].share, "%.6g");
		fmtnum(pb, sizeof pb, r[i].pbest, "%.6g");
		fmtnum(usd, sizeof usd, arm_cost(rk, o, r[i].arm), "%.6g");
		if (rk->tokens)
			snprintf(tok, sizeof tok, "%.0f,%.0f", a->tok_in, a->tok_out);
		else
			snprintf(tok, sizeof tok, "-,-");
		printf(",%ld,%s,%s,%s,%s,%s,%s,%ld,%s,%s,%s\n", a->st.n, sh, m, lo,
		       hi, r[i].method, ix, a->errors, pb, tok, usd);
	}
}

void
print_ranking(const struct ranking *rk, const struct opts *o)
{
	const struct pb_state *st = &rk->st;
	const struct row *r = rk->r;
	char m[32], ix[32], sh[32], pb[32], usd[32], ci[64], tok[48];
	size_t i, w = 3;
	int md = o->format == F_MD, money = rk->tokens;

	if (o->format == F_CSV) {
		ranking_csv(rk, o);
		return;
	}
	for (i = 0; i < st->narms; i++)
		if (strlen(st->arms[i].id) + (st->arms[i].retired ? 10 : 0) > w)
			w = strlen(st->arms[i].id) + (st->arms[i].retired ? 10 : 0);
	printf(md ? "Policy `%s`, %ld pulls applied, %ld pending; "
	       "%g%% intervals (%s).\n\n" : "policy %s, %ld pulls applied, "
	       "%ld pending; %g%% intervals (%s)\n",
	       rk->replayed ? "- (replayed from records)" : pb_policy_name(st->pol.kind),
	       st->updates, rk->pending, o->level * 100, methods(r, st->narms, sizeof *r, offsetof(struct row, method)));
	if (md)
		printf("| rank | arm | pulls | share | mean | %g%% CI | index | errors | P(best) |%s\n"
		       "|---:|:---|---:|---:|---:|:---:|---:|---:|---:|%s\n", o->level * 100,
		       money ? " tokens | cost |" : "", money ? "---:|---:|" : "");
	else
		printf("%4s  %-*s %7s %6s %6s  %-15s %7s %6s %7s%s\n", "rank", (int)w,
		       "arm", "pulls", "share", "mean", "CI", "index", "errors", "P(best)",
		       money ? "     tokens     cost" : "");
	for (i = 0; i < st->narms; i++) {
		const struct pb_arm *a = &st->arms[r[i].arm];
		fmtnum(m, sizeof m, a->st.n ? r[i].mean : NAN, "%.3f");
		fmtnum(ix, sizeof ix, r[i].index, "%.3f");
		fmtnum(sh, sizeof sh, r[i].share * 100, "%.1f%%");
		fmtnum(pb, sizeof pb, r[i].pbest, "%.3f");
		fmtnum(usd, sizeof usd, arm_cost(rk, o, r[i].arm), "$%.4f");
		snprintf(ci, sizeof ci, "[%.3f, %.3f]", r[i].lo, r[i].hi);
		tok[0] = '\0';
		if (money)
			snprintf(tok, sizeof tok, "%.0f", a->tok_in + a->tok_out);
		if (md) {
			printf("| %zu | ", i + 1);
			mdcell(a->id);
			if (a->retired)
				printf(" (retired)");
			printf(" | %ld | %s | %s | %s | %s | %ld | %s |", a->st.n, sh, m, ci,
			       ix, a->errors, pb);
			if (money)
				printf(" %s | %s |", tok, usd);
			putchar('\n');
		} else {
			char name[300];
			snprintf(name, sizeof name, "%s%s", a->id, a->retired ? " (retired)" : "");
			printf("%4zu  %-*s %7ld %6s %6s  %-15s %7s %6ld %7s", i + 1,
			       (int)w, name, a->st.n, sh, m, ci, ix, a->errors, pb);
			if (money)
				printf(" %10s %8s", tok, usd);
			putchar('\n');
		}
	}
	if (md)
		putchar('\n');
	if (rk->pbest == PBEST_GRID)
		printf("P(best): integrated over %d cells from independent %s posteriors "
		       "(more than %d arms: no draws)\n", PB_PBEST_GRID, posteriors(st), GRID_MIN);
	else if (rk->pbest == PBEST_JOINT)
		printf("P(best): Monte Carlo over %ld draws from a joint normal posterior, "
		       "correlated through the tasks arms shared (seed %llu)\n",
		       o->draws, (unsigned long long)o->seed);
	else
		printf("P(best): Monte Carlo over %ld draws from %s posteriors (seed %llu)\n",
		       o->draws, posteriors(st), (unsigned long long)o->seed);
	if (!rk->v.done && strcmp(rk->v.rule, "budget"))
		printf("P(best) is a posterior estimate, not a verdict: no arm is called "
		       "best until the %s rule separates it at confidence %g\n",
		       rk->v.rule, rk->v.conf);
	print_pool(rk, o);
	if (md)
		putchar('\n');
	say_verdict(st, r, &rk->v);
}

/* The line above a context's table (CSV has a column instead). */
void
context_heading(const char *field, const char *value, const struct opts *o)
{
	printf(o->format == F_MD ? "Context `%s` = `%s`.\n\n" : "context %s = %s\n",
	       field, value);
}

/* --require verdict on a state with contexts: the contexts without a
 * verdict (each judged as its ranking is, at delta / C). */
size_t
contexts_undecided(const struct pb_state *st, const struct opts *o)
{
	size_t c, n = 0;

	for (c = 0; c < st->nctx; c++) {
		struct pb_verdict v;
		struct pb_state view;
		pb_state_context_view(st, c, &view);
		judge(&view, o->level, NAN, &v);
		n += !v.done;
		pb_verdict_free(&v);
	}
	return n;
}

/* After the totals of a state with contexts: each context's ranking and
 * verdict, into j (JSON) or printed. */
void
contexts(const struct pb_state *st, const struct opts *o, cJSON *j)
{
	cJSON *arr = j ? cJSON_AddArrayToObject(j, "contexts") : NULL, *x;
	size_t c;

	if (j)
		cJSON_AddStringToObject(j, "context_field", st->ctx_field);
	for (c = 0; c < st->nctx; c++) {
		struct ranking cr = { 0 };
		pb_state_context_view(st, c, &cr.st);
		cr.view = cr.more = 1;
		cr.ctx = st->ctx[c].name;
		rank_arms(&cr, o);
		if (j) {
			x = ranking_json(&cr, o);
			cJSON_AddStringToObject(x, "context", cr.ctx);
			cJSON_AddItemToArray(arr, x);
		} else {
			if (o->format != F_CSV) {
				putchar('\n');
				context_heading(st->ctx_field, cr.ctx, o);
			}
			print_ranking(&cr, o);
		}
		ranking_free(&cr);
	}
}

void
ranking_free(struct ranking *rk)
{
	free(rk->r);
	pb_verdict_free(&rk->v);
	if (!rk->view)
		pb_state_free(&rk->st);
}
