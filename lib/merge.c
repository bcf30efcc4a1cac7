/* merge.c - adding one run's statistics into another's (pb-update
 * --merge): the arms', the pairs', the contexts' and the histories. */
#include <stdlib.h>
#include <string.h>

#include "bandit.h"
#include "internal.h"

/* Adds the pairs of other (over other's arms) into *pair (over st's). */
static int
merge_pairs(const struct pb_state *st, struct pb_pairs **pair,
            const struct pb_state *other, const struct pb_pairs *opair)
{
	size_t k;

	for (k = 0; opair && k < opair->n; k++) {
		const struct pb_pair *q = &opair->p[k];
		int a = pb_state_find_arm(st, other->arms[opair->ij[k][0]].id),
		    b = pb_state_find_arm(st, other->arms[opair->ij[k][1]].id);
		struct pb_pair *p;
		if (!q->n)
			continue;
		if (!(p = a < b ? pb__pair_get(pair, st->narms, a, b, 1) :
		           pb__pair_get(pair, st->narms, b, a, 1)))
			return -1;
		p->n += q->n;
		p->sum += a < b ? q->sum : -q->sum;
		p->sumsq += q->sumsq;
		p->b += a < b ? q->b : q->c;
		p->c += a < b ? q->c : q->b;
		p->fpos += a < b ? q->fpos : q->fneg;
		p->fneg += a < b ? q->fneg : q->fpos;
		p->fsum += a < b ? q->fsum : -q->fsum;
		p->fsumsq += q->fsumsq;
		pb_pair_refresh(p);
	}
	return 0;
}

/* Adds other's task pool ot into st's pool t, arms sa (st's, in st's
 * order) and oa (other's, map[i]: st's index of other's arm i) holding
 * the cursors: st's order stays, and the tasks new to it follow in
 * other's order.  A task in both under two digests, or one an arm has
 * behind its cursor in both (used, or passed over: which, the cursor does
 * not tell) is refused, since its reward would count twice.  An arm that
 * used tasks of other's ends past the last of them, passing over st's
 * tasks it had not used yet: never twice, at worst a task less to draw.
 * what names the pool in messages ("" or "context X: "). */
static int
merge_tasks(struct pb_tasks *t, struct pb_arm *sa, const struct pb_tasks *ot,
            const struct pb_arm *oa, const int *map, size_t narms,
            const char *what, char err[PB_ERRLEN])
{
	size_t p, i;
	long *pos = malloc((ot->n ? ot->n : 1) * sizeof *pos), *cur;

	if (!pos || !(cur = malloc((narms ? narms : 1) * sizeof *cur))) {
		free(pos);
		goto oom;
	}
	for (p = 0; p < ot->n; p++) {
		long q = pb_tasks_find(t, ot->id[p]);
		if (q >= 0 && t->dig[q] != ot->dig[p]) {
			snprintf(err, PB_ERRLEN, "%stask %s: its text differs between "
			         "the two states", what, ot->id[p]);
			goto bad;
		}
		pos[p] = q;
	}
	for (i = 0; i < narms; i++) {
		const struct pb_arm *a = &sa[map[i]];
		cur[i] = a->cursor;
		for (p = 0; p < (size_t)oa[i].cursor && p < ot->n; p++)
			if (pos[p] >= 0 && pos[p] < a->cursor) {
				snprintf(err, PB_ERRLEN, "%stask %s: arm %s has it in both "
				         "states (its reward would count twice)", what,
				         ot->id[p], a->id);
				goto bad;
			}
	}
	/* only now, with nothing refused, does st's pool change */
	for (p = 0; p < ot->n; p++)
		if (pos[p] < 0) {
			if (pb_tasks_add(t, ot->id[p], ot->dig[p]) < 0)
				goto oom2;
			pos[p] = (long)t->n - 1;
		}
	for (i = 0; i < narms; i++) {
		for (p = 0; p < (size_t)oa[i].cursor && p < ot->n; p++)
			if (pos[p] + 1 > cur[i])
				cur[i] = pos[p] + 1;
		sa[map[i]].cursor = cur[i];
	}
	free(pos);
	free(cur);
	return 0;
oom2:
	free(pos);
	free(cur);
oom:
	snprintf(err, PB_ERRLEN, "out of memory");
	return -1;
bad:
	free(pos);
	free(cur);
	return -1;
}

int
pb_pool_merge(struct pb_state *st, const struct pb_state *other,
              char err[PB_ERRLEN])
{
	size_t c, i;
	int *map = NULL;

	if ((st->ctx_field || other->ctx_field) && (!st->ctx_field ||
	    !other->ctx_field || strcmp(st->ctx_field, other->ctx_field))) {
		snprintf(err, PB_ERRLEN, "the two states do not keep the same "
		         "contexts (%s, %s)", st->ctx_field ? st->ctx_field : "none",
		         other->ctx_field ? other->ctx_field : "none");
		return -1;
	}
	if (!(map = malloc((other->narms ? other->narms : 1) * sizeof *map)))
		goto oom;
	for (i = 0; i < other->narms; i++)
		map[i] = pb_state_find_arm(st, other->arms[i].id);
	if (merge_tasks(&st->tasks, st->arms, &other->tasks, other->arms, map,
	                other->narms, "", err) < 0)
		goto fail;
	if (merge_pairs(st, &st->pair, other, other->pair) < 0)
		goto oom;
	for (c = 0; c < other->nctx; c++) {
		const struct pb_ctx *oc = &other->ctx[c];
		int ci = pb_state_add_ctx(st, oc->name);
		char what[PB_ERRLEN];
		if (ci < 0)
			goto oom;
		snprintf(what, sizeof what, "context %s: ", oc->name);
		if (merge_tasks(&st->ctx[ci].tasks, st->ctx[ci].arms, &oc->tasks,
		                oc->arms, map, other->narms, what, err) < 0)
			goto fail;
		for (i = 0; i < other->narms; i++) {
			pb_arm_add(&st->ctx[ci].arms[pb_state_find_arm(st,
			           other->arms[i].id)], &oc->arms[i]);
		}
		if (merge_pairs(st, &st->ctx[ci].pair, other, oc->pair) < 0)
			goto oom;
	}
	free(map);
	return 0;
oom:
	snprintf(err, PB_ERRLEN, "out of memory");
fail:
	free(map);
	return -1;
}

/* --------------------------------------------------------------- merge */

static int
merged_has(const cJSON *arr, const char *run)
{
	const cJSON *x;

	cJSON_ArrayForEach(x, arr)
		if (cJSON_IsString(x) && !strcmp(x->valuestring, run))
			return 1;
	return 0;
}

int
pb_state_merge(struct pb_state *st, const struct pb_state *other,
               char err[PB_ERRLEN])
{
	const cJSON *x;
	size_t i;

	if (!strcmp(st->run, other->run)) {
		snprintf(err, PB_ERRLEN, "cannot merge a state into itself (run %s)",
		         st->run);
		return -1;
	}
	if (merged_has(st->merged, other->run)) {
		snprintf(err, PB_ERRLEN, "run %s was merged already", other->run);
		return -1;
	}
	cJSON_ArrayForEach(x, other->merged)
		if (cJSON_IsString(x) && (merged_has(st->merged, x->valuestring) ||
		    !strcmp(x->valuestring, st->run))) {
			snprintf(err, PB_ERRLEN, "run %s is in both states already",
			         x->valuestring);
			return -1;
		}
	if (st->narms != other->narms)
		goto arms;
	for (i = 0; i < other->narms; i++)
		if (pb_state_find_arm(st, other->arms[i].id) < 0)
			goto arms;
	for (i = 0; i < other->narms; i++) {
		pb_arm_add(&st->arms[pb_state_find_arm(st, other->arms[i].id)],
		           &other->arms[i]);
	}
	if (pb_pool_merge(st, other, err) < 0)
		return -1;
	if (pb_policy_merge(st, other) < 0) { /* the e-processes: policy.c */
		snprintf(err, PB_ERRLEN, "out of memory");
		return -1;
	}
	(void)pb_history_merge(st, other); /* a record for people: never fatal */
	st->updates += other->updates;
	cJSON_AddItemToArray(st->merged, cJSON_CreateString(other->run));
	cJSON_ArrayForEach(x, other->merged)
		cJSON_AddItemToArray(st->merged, cJSON_Duplicate(x, 1));
	return 0;
arms:
	snprintf(err, PB_ERRLEN, "the two states do not have the same arms");
	return -1;
}
