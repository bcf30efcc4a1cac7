/* batch.c - the pulls handed out: batches (which pulls of each arm are
 * still out, which came back), the tasks' positions in their pool's
 * seeded order and each arm's cursor into it, and the hand-outs that
 * move the cursors.  Data, as state.c's: no policy here. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bandit.h"
#include "internal.h"

/* ------------------------------------------------------------- batches */

void
pb_state_count_pending(struct pb_state *st, double now)
{
	size_t i, k;

	for (k = 0; k < st->narms; k++)
		st->arms[k].pending = 0;
	for (i = 0; i < st->nbatch; i++)
		if (now - st->batch[i].t < st->pending_ttl)
			for (k = 0; k < st->narms; k++)
				st->arms[k].pending += st->batch[i].left[k];
}

int
pb_state_begin_batch(struct pb_state *st, double now)
{
	struct pb_batch *nb = realloc(st->batch, (st->nbatch + 1) * sizeof *nb);

	if (!nb)
		return -1;
	st->batch = nb;
	nb = &st->batch[st->nbatch];
	memset(nb, 0, sizeof *nb);
	if (!(nb->left = calloc(st->narms ? st->narms : 1, sizeof *nb->left)))
		return -1;
	nb->first = st->next_pull;
	nb->k = 1;
	nb->t = now;
	st->nbatch++;
	return 0;
}

long
pb_state_hand_out(struct pb_state *st, int arm)
{
	struct pb_batch *b = &st->batch[st->nbatch - 1];

	if ((size_t)b->n == b->cap) {
		size_t ncap = b->cap ? 2 * b->cap : 16;
		int *na = realloc(b->arm, ncap * sizeof *na);
		long *np;
		if (!na)
			return -1;
		b->arm = na;
		if (!(np = realloc(b->pos, ncap * sizeof *np)))
			return -1;
		b->pos = np;
		b->cap = ncap;
	}
	b->arm[b->n] = arm;
	b->pos[b->n] = -1;
	b->n++;
	b->left[arm]++;
	st->arms[arm].pending++;
	return st->next_pull++;
}

/* The batch holding pull id, or NULL. */
struct pb_batch *
pb__batch_find(struct pb_state *st, long id)
{
	size_t lo = 0, hi = st->nbatch;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (st->batch[mid].first + st->batch[mid].n <= id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < st->nbatch && st->batch[lo].first <= id ? &st->batch[lo] : NULL;
}

/* Index of the first range whose hi >= id - 1, where id may join it. */
size_t
pb__batch_range(const struct pb_batch *b, long id)
{
	size_t lo = 0, hi = b->ndone;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (b->done[mid][1] < id - 1)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Adds id (known not to be in b->done) to the ranges. */
int
pb__batch_mark(struct pb_batch *b, long id)
{
	size_t i = pb__batch_range(b, id);

	if (i < b->ndone && b->done[i][1] == id - 1) {
		b->done[i][1] = id;
		if (i + 1 < b->ndone && b->done[i + 1][0] == id + 1) {
			b->done[i][1] = b->done[i + 1][1];
			memmove(&b->done[i + 1], &b->done[i + 2],
			        (b->ndone - i - 2) * sizeof *b->done);
			b->ndone--;
		}
		return 0;
	}
	if (i < b->ndone && b->done[i][0] == id + 1) {
		b->done[i][0] = id;
		return 0;
	}
	if (b->ndone == b->capdone) {
		size_t ncap = b->capdone ? 2 * b->capdone : 4;
		long (*nd)[2] = realloc(b->done, ncap * sizeof *nd);
		if (!nd)
			return -1;
		b->done = nd;
		b->capdone = ncap;
	}
	memmove(&b->done[i + 1], &b->done[i], (b->ndone - i) * sizeof *b->done);
	b->done[i][0] = b->done[i][1] = id;
	b->ndone++;
	return 0;
}

void
pb__batch_drop(struct pb_state *st, struct pb_batch *b)
{
	size_t i = (size_t)(b - st->batch);

	free(b->left);
	free(b->done);
	free(b->arm);
	free(b->pos);
	memmove(b, b + 1, (st->nbatch - i - 1) * sizeof *b);
	st->nbatch--;
}

long
pb_state_forget(struct pb_state *st, double now)
{
	long n = 0;
	size_t i = 0, k;

	while (i < st->nbatch) {
		if (now - st->batch[i].t >= st->pending_ttl) {
			for (k = 0; k < st->narms; k++)
				n += st->batch[i].left[k];
			pb_groups_drop(st, st->batch[i].first,
			               st->batch[i].first + st->batch[i].n - 1);
			pb__batch_drop(st, &st->batch[i]);
		} else {
			i++;
		}
	}
	return n;
}

/* --------------------------------------------------------------- tasks */

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
	return pb__tasks_reindex(t) < 0 ? -1 : changed;
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

long
pb_state_hand_out_group(struct pb_state *st, int ctx, long pos, const int *arms,
                        size_t m)
{
	long R = st->repeats > 1 ? st->repeats : 1, k = (long)m * R, first, s;
	struct pb_batch *b = &st->batch[st->nbatch - 1];
	size_t j;

	/* One batch per group size: ids in a batch pair up k by k; with R
	 * repeats each arm's R pulls of the task sit side by side. */
	if (b->n > 0 && b->k != k) {
		if (pb_state_begin_batch(st, b->t) < 0)
			return -1;
		b = &st->batch[st->nbatch - 1];
	}
	if (b->n == 0)
		b->k = k;
	first = st->next_pull;
	for (j = 0; j < m; j++)
		for (s = 0; s < R; s++)
			if (pb_state_hand_out_task(st, arms[j], ctx, pos) < 0)
				return -1;
	return first;
}
