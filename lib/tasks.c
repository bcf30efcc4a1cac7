/* tasks.c - the task pool: which tasks the state knows, in one seeded
 * random order, and how far each arm has walked it.
 *
 * The unit of evidence is the task.  An arm's rewards are an iid sample
 * of the task population only if the arm never sees a task twice and the
 * tasks it sees are a random subset drawn independently of the outcomes.
 * So the state keeps, per pool (the state's, or each context's), the
 * tasks in a random order drawn with the state's generator, and each arm
 * a cursor into that order: every position below the cursor the arm has
 * used or passed over, and it will never be handed one of them again.
 * Two arms walking the same order share a prefix of common tasks, so
 * their rewards pair up for free.  The state grows with arms + tasks,
 * never arms x tasks. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb.h"

void
pb_tasks_free(struct pb_tasks *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		free(t->id[i]);
	free(t->id);
	free(t->dig);
	free(t->ht);
	memset(t, 0, sizeof *t);
}

static uint64_t
idhash(const char *id)
{
	return pb_hash(id, strlen(id), 0x7a5c);
}

/* Rebuilds the hash index at a capacity of at least 2 n (power of 2). */
static int
rehash(struct pb_tasks *t, size_t want)
{
	size_t cap = 16, i, h;
	size_t *ht;

	while (cap < 2 * want)
		cap *= 2;
	if (!(ht = calloc(cap, sizeof *ht)))
		return -1;
	for (i = 0; i < t->n; i++) {
		for (h = (size_t)idhash(t->id[i]) & (cap - 1); ht[h]; h = (h + 1) & (cap - 1))
			;
		ht[h] = i + 1;
	}
	free(t->ht);
	t->ht = ht;
	t->htcap = cap;
	return 0;
}

long
pb_tasks_find(const struct pb_tasks *t, const char *id)
{
	size_t h;

	if (!t->htcap)
		return -1;
	for (h = (size_t)idhash(id) & (t->htcap - 1); t->ht[h]; h = (h + 1) & (t->htcap - 1))
		if (!strcmp(t->id[t->ht[h] - 1], id))
			return (long)(t->ht[h] - 1);
	return -1;
}

int
pb_tasks_add(struct pb_tasks *t, const char *id, uint64_t dig)
{
	size_t h;

	if (t->n == t->cap) {
		size_t ncap = t->cap ? 2 * t->cap : 64;
		char **ni = realloc(t->id, ncap * sizeof *ni);
		uint64_t *nd;
		if (!ni)
			return -1;
		t->id = ni;
		if (!(nd = realloc(t->dig, ncap * sizeof *nd)))
			return -1;
		t->dig = nd;
		t->cap = ncap;
	}
	if (2 * (t->n + 1) > t->htcap && rehash(t, t->n + 1) < 0)
		return -1;
	if (!(t->id[t->n] = strdup(id)))
		return -1;
	t->dig[t->n] = dig;
	for (h = (size_t)idhash(id) & (t->htcap - 1); t->ht[h]; h = (h + 1) & (t->htcap - 1))
		;
	t->ht[h] = ++t->n;
	return 0;
}

struct pb_tasks *
pb_state_tasks(const struct pb_state *st, int ctx)
{
	return ctx >= 0 ? &st->ctx[ctx].tasks : (struct pb_tasks *)&st->tasks;
}

size_t
pb_state_pool_size(const struct pb_state *st, int ctx)
{
	size_t c, n = 0;

	if (ctx >= 0)
		return st->ctx[ctx].tasks.n;
	if (!st->ctx_field)
		return st->tasks.n;
	for (c = 0; c < st->nctx; c++)
		n += st->ctx[c].tasks.n;
	return n;
}

/* ----------------------------------------------------------- identity */

char *
pb_task_key(const cJSON *task, const char *input, uint64_t *dig, char err[PB_ERRLEN])
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(task, "id");
	char buf[64];

	*dig = pb_hash(input, strlen(input), 0xd16e57);
	if (!id) {
		snprintf(buf, sizeof buf, "#%016" PRIx64, pb_hash(input, strlen(input), 1));
		return strdup(buf);
	}
	if (cJSON_IsString(id) && *id->valuestring)
		return strdup(id->valuestring);
	if (cJSON_IsNumber(id) && id->valuedouble == (double)(long long)id->valuedouble &&
	    id->valuedouble > -9e15 && id->valuedouble < 9e15) {
		snprintf(buf, sizeof buf, "%lld", (long long)id->valuedouble);
		return strdup(buf);
	}
	snprintf(err, PB_ERRLEN, "task \"id\" is not a non-empty string or an integer");
	return NULL;
}

/* -------------------------------------------------------------- learn */

long
pb_state_learn(struct pb_state *st, int ctx, size_t n, char *const *id,
               const uint64_t *dig, long *pos)
{
	struct pb_tasks *t = pb_state_tasks(st, ctx);
	size_t i, n0 = t->n, k, j;
	long changed = 0, p, *back;

	for (i = 0; i < n; i++) {
		if ((p = pb_tasks_find(t, id[i])) >= 0) {
			if (t->dig[p] != dig[i]) {
				pos[i] = -2;
				changed++;
			} else {
				pos[i] = p;
			}
			continue;
		}
		if (pb_tasks_add(t, id[i], dig[i]) < 0)
			return -1;
		pos[i] = (long)(t->n - 1);
	}
	if (t->n - n0 < 2)
		return changed;
	/* The new tasks join the order in a random order of their own
	 * (Fisher-Yates with the state's generator), after the old ones. */
	if (!(back = malloc((t->n - n0) * sizeof *back)))
		return -1;
	for (k = 0; k < t->n - n0; k++)
		back[k] = (long)(n0 + k); /* back[k]: where the task now at n0+k came from */
	for (k = t->n - n0 - 1; k > 0; k--) {
		char *ts;
		uint64_t td;
		long tb;
		j = (size_t)pb_rng_below(&st->rng, k + 1);
		ts = t->id[n0 + k], t->id[n0 + k] = t->id[n0 + j], t->id[n0 + j] = ts;
		td = t->dig[n0 + k], t->dig[n0 + k] = t->dig[n0 + j], t->dig[n0 + j] = td;
		tb = back[k], back[k] = back[j], back[j] = tb;
	}
	/* pos[] pointed at the old places: map each to its new one */
	{
		long *where = malloc((t->n - n0) * sizeof *where);
		if (!where) {
			free(back);
			return -1;
		}
		for (k = 0; k < t->n - n0; k++)
			where[back[k] - (long)n0] = (long)(n0 + k);
		for (i = 0; i < n; i++)
			if (pos[i] >= (long)n0)
				pos[i] = where[pos[i] - (long)n0];
		free(where);
	}
	free(back);
	return rehash(t, t->n) < 0 ? -1 : changed;
}

/* ------------------------------------------------------------ cursors */

static struct pb_arm *
arm_in(const struct pb_state *st, int ctx, int a)
{
	return ctx >= 0 ? &st->ctx[ctx].arms[a] : &st->arms[a];
}

long
pb_state_cursor(const struct pb_state *st, int ctx, int a)
{
	return arm_in(st, ctx, a)->cursor;
}

long
pb_state_next_pos(const struct pb_state *st, int ctx, const int *arms,
                  size_t k, const long *nxt)
{
	const struct pb_tasks *t = pb_state_tasks(st, ctx);
	long from = 0;
	size_t i;

	for (i = 0; i < k; i++)
		if (arm_in(st, ctx, arms[i])->cursor > from)
			from = arm_in(st, ctx, arms[i])->cursor;
	if (from >= (long)t->n)
		return -1;
	if (nxt)
		from = nxt[from];
	return from < (long)t->n ? from : -1;
}

long
pb_state_hand_out_task(struct pb_state *st, int arm, int ctx, long pos)
{
	long id = pb_state_hand_out(st, arm);
	struct pb_batch *b = &st->batch[st->nbatch - 1];

	if (id < 0)
		return -1;
	b->pos[b->n - 1] = pos;
	if (pos >= 0 && arm_in(st, ctx, arm)->cursor <= pos)
		arm_in(st, ctx, arm)->cursor = pos + 1;
	return id;
}

/* --------------------------------------------------------- contention */

int
pb_state_contention(const struct pb_state *st, int ctx, unsigned char *in)
{
	struct pb_state base, view;
	struct pb_arm *arms = malloc((st->narms ? st->narms : 1) * sizeof *arms);
	int *map = malloc((st->narms ? st->narms : 1) * sizeof *map), best = -1;
	unsigned char *open = calloc(st->narms ? st->narms : 1, 1);
	size_t i, n;
	int rv = -1;

	if (!arms || !map || !open)
		goto out;
	if (ctx >= 0)
		pb_state_view(st, (size_t)ctx, &base);
	else
		base = *st;
	n = pb_state_active(&base, &view, arms, map);
	memset(in, 0, st->narms);
	switch (st->pol.kind) {
	case PB_POL_LUCB:
	case PB_POL_TOPTWO:
		if (st->pol.kind == PB_POL_LUCB)
			pb_box_stop(&view, st->pol.delta, &best, open);
		else
			pb_glr_stop(&view, st->pol.delta, &best, open);
		if (best < 0) {
			for (i = 0; i < n; i++)
				in[map[i]] = 1;
			break;
		}
		for (i = 0; i < n; i++)
			in[map[i]] = open[i] || (int)i == best;
		break;
	case PB_POL_RACE:
	case PB_POL_HALVING:
	case PB_POL_REJECTS:
		for (i = 0; i < n; i++)
			in[map[i]] = !view.arms[i].pstate || view.arms[i].pstate[0] != 0;
		break;
	default:
		for (i = 0; i < n; i++)
			in[map[i]] = 1;
	}
	rv = 0;
out:
	free(arms);
	free(map);
	free(open);
	return rv;
}

int
pb_state_exhausted(const struct pb_state *st, int ctx, char why[PB_ERRLEN])
{
	size_t n = pb_state_pool_size(st, ctx), a, len;
	unsigned char *in = malloc(st->narms ? st->narms : 1);
	int open = 0;

	if (!in || n == 0 || pb_state_contention(st, ctx, in) < 0) {
		free(in);
		return 0;
	}
	for (a = 0; a < st->narms; a++)
		if (in[a] && arm_in(st, ctx, (int)a)->cursor < (long)n) {
			free(in);
			return 0;
		}
	for (a = 0; a < st->narms; a++)
		open += in[a];
	snprintf(why, PB_ERRLEN, "pool exhausted after %zu task%s: ", n, n == 1 ? "" : "s");
	if (open == 1) {
		for (a = 0; !in[a]; a++)
			;
		len = strlen(why);
		snprintf(why + len, PB_ERRLEN - len, "arm %s is left, with every "
		         "other arm separated from it", st->arms[a].id);
	} else {
		int first = 1;
		strncat(why, "not separated:", PB_ERRLEN - strlen(why) - 1);
		for (a = 0; a < st->narms; a++)
			if (in[a]) {
				len = strlen(why);
				snprintf(why + len, PB_ERRLEN - len, "%s %s", first ? "" : ",",
				         st->arms[a].id);
				first = 0;
			}
	}
	free(in);
	return 1;
}

/* -------------------------------------------------------------- JSON */

cJSON *
pb_tasks_json(const struct pb_tasks *t)
{
	cJSON *arr = cJSON_CreateArray(), *e;
	char hex[17];
	size_t i;

	for (i = 0; arr && i < t->n; i++) {
		e = cJSON_CreateArray();
		snprintf(hex, sizeof hex, "%016" PRIx64, t->dig[i]);
		cJSON_AddItemToArray(e, cJSON_CreateString(t->id[i]));
		cJSON_AddItemToArray(e, cJSON_CreateString(hex));
		cJSON_AddItemToArray(arr, e);
	}
	return arr;
}

int
pb_tasks_load(struct pb_tasks *t, const cJSON *arr, char err[PB_ERRLEN])
{
	const cJSON *e;
	int k = 0;

	if (!arr)
		return 0;
	if (!cJSON_IsArray(arr))
		goto bad;
	cJSON_ArrayForEach(e, arr) {
		const char *id = cJSON_GetStringValue(cJSON_GetArrayItem(e, 0)),
		           *hex = cJSON_GetStringValue(cJSON_GetArrayItem(e, 1));
		char *end;
		uint64_t d;

		if (!cJSON_IsArray(e) || cJSON_GetArraySize(e) != 2 || !id || !*id ||
		    !hex || strlen(hex) != 16 || strspn(hex, "0123456789abcdef") != 16)
			goto bad;
		d = strtoull(hex, &end, 16);
		if (pb_tasks_find(t, id) >= 0) {
			snprintf(err, PB_ERRLEN, "tasks[%d]: duplicate task id '%s'", k, id);
			return -1;
		}
		if (pb_tasks_add(t, id, d) < 0) {
			snprintf(err, PB_ERRLEN, "out of memory");
			return -1;
		}
		k++;
	}
	return 0;
bad:
	snprintf(err, PB_ERRLEN, "tasks[%d] is malformed (an [id, 16 hex digits] pair)", k);
	return -1;
}
