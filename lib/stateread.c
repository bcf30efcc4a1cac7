/* stateread.c - the fast reader of a state file: the big parts (arms,
 * pairs, the task pool) read from the text straight into the structs,
 * without a cJSON tree of 100,000 tasks.  It takes only what it knows to
 * be well formed: strict JSON, ids without escapes, every member it
 * expects and none it does not, each check the cJSON loader makes
 * (statefile.c, statejson.c, tasks.c) made again.  On anything else it
 * gives up, and the cJSON loader reads the file from the start and says
 * what is wrong in its own words: the fast path never changes what a
 * file means, nor a message.  The small parts it hands back as a cJSON
 * object for the loader's own code (pb__state_read's contract in
 * internal.h).  The history and the pending batches are statepart.c's,
 * the scanner statescan.h's. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bandit.h"
#include "internal.h"
#include "statescan.h"

int pb__state_slow;

/* ---------------------------------------------------------------- arms */

struct armrd {
	struct pb_state *st;
	struct pb_arm *a;
	int nstate;
	unsigned seen;
	double v[5]; /* pulls, sum, sumsq, nonbinary, errors */
	const char *want; /* a context's arm: the state's arm's id, which
	                   * its "id" must be; "retired" and "fields" are
	                   * not its (the loader would ignore them) */
};

static int
arm_member(struct pb__scan *r, const char *k, size_t kn, void *arg)
{
	static const char *const stat[5] = { "pulls", "sum", "sumsq", "nonbinary", "errors" };
	struct armrd *ar = arg;
	struct pb_arm *a = ar->a;
	unsigned bit;
	double d;
	int i;

	for (i = 0; i < 5; i++)
		if (kn == strlen(stat[i]) && !memcmp(k, stat[i], kn))
			break;
	if (i < 5)
		bit = 1u << i;
	else if (KEY(k, "id")) bit = 1u << 5;
	else if (KEY(k, "mean")) bit = 1u << 6;
	else if (KEY(k, "cursor")) bit = 1u << 7;
	else if (KEY(k, "prompt_tokens")) bit = 1u << 8;
	else if (KEY(k, "completion_tokens")) bit = 1u << 9;
	else if (KEY(k, "policy_state")) bit = 1u << 10;
	else if (KEY(k, "retired")) bit = 1u << 11;
	else if (KEY(k, "fields")) bit = 1u << 12;
	else
		return -1;
	if (ar->seen & bit || (ar->want && bit >= 1u << 11))
		return -1;
	ar->seen |= bit;
	if (i < 5)
		return nneg(r, &ar->v[i]);
	switch (bit) {
	case 1u << 5: {
		const char *s;
		size_t n;
		if (ar->want)
			return str(r, &s, &n) < 0 || strlen(ar->want) != n ||
			       memcmp(ar->want, s, n) ? -1 : 0;
		if (str(r, &s, &n) < 0 || n == 0 || !(a->id = malloc(n + 1)))
			return -1;
		memcpy(a->id, s, n);
		a->id[n] = '\0';
		return 0;
	}
	case 1u << 6:
		return num(r, &d);
	case 1u << 7:
		return nneg(r, &d) < 0 || d != floor(d) || d > 9e15 ? -1 :
		       (a->cursor = (long)d, 0);
	case 1u << 8:
		return nneg(r, &a->tok_in);
	case 1u << 9:
		return nneg(r, &a->tok_out);
	case 1u << 10:
		if (!eat(r, '['))
			return -1;
		if (ar->nstate && !(a->pstate = malloc((size_t)ar->nstate * sizeof *a->pstate)))
			return -1;
		if (eat(r, ']'))
			return ar->nstate == 0 ? 0 : -1;
		i = 0;
		do {
			if (i >= ar->nstate || num(r, &d) < 0 || !isfinite(d))
				return -1;
			a->pstate[i++] = d;
		} while (eat(r, ','));
		return i == ar->nstate && eat(r, ']') ? 0 : -1;
	case 1u << 11:
		ws(r);
		if (!strncmp(r->p, "true", 4))
			return a->retired = 1, r->p += 4, 0;
		if (!strncmp(r->p, "false", 5))
			return r->p += 5, 0;
		return -1;
	default:
		ws(r);
		if (*r->p != '{')
			return -1;
		return (a->fields = tree(r)) ? 0 : -1;
	}
}

/* The statistics read, checked as pb_arm_stats_load checks them. */
static int
arm_stats(struct armrd *ar)
{
	struct pb_arm *a = ar->a;

	if (!(ar->seen & (1u << 5)) || ar->v[1] > ar->v[0] + 1e-9 ||
	    ar->v[0] > PB_MAX_COUNT || ar->v[3] > PB_MAX_COUNT || ar->v[4] > PB_MAX_COUNT ||
	    ar->v[0] != floor(ar->v[0]) || ar->v[3] != floor(ar->v[3]) ||
	    ar->v[4] != floor(ar->v[4]) || ar->v[3] > ar->v[0])
		return -1;
	a->st.n = (long)ar->v[0];
	a->st.sum = ar->v[1];
	a->st.sumsq = ar->v[2];
	a->st.nonbinary = (long)ar->v[3];
	a->errors = (long)ar->v[4];
	return 0;
}

static int
read_arms(struct pb__scan *r, struct pb_state *st)
{
	size_t cap = 0, i;

	if (!eat(r, '[') || eat(r, ']'))
		return -1; /* no arms: the loader's message */
	do {
		struct armrd ar = { st, NULL, pb_policy_nstate(st->pol.kind), 0, { 0 }, NULL };
		struct pb_arm *a;
		if (st->narms == cap) {
			struct pb_arm *na = realloc(st->arms, (cap = cap ? 2 * cap : 64) * sizeof *na);
			if (!na)
				return -1;
			st->arms = na;
		}
		a = ar.a = &st->arms[st->narms++];
		memset(a, 0, sizeof *a);
		if (object(r, arm_member, &ar) < 0 || (ar.seen & 0x101f) != 0x101f ||
		    arm_stats(&ar) < 0)
			return -1;
	} while (eat(r, ','));
	if (!eat(r, ']') || pb__arms_index(st) < 0)
		return -1;
	for (i = 0; i < st->narms; i++) /* a duplicate id finds the other */
		if (pb_state_find_arm(st, st->arms[i].id) != (int)i)
			return -1;
	return 0;
}

/* --------------------------------------------------------------- pairs */

static int
pair_member(struct pb__scan *r, const char *k, size_t kn, void *arg)
{
	double *v = arg; /* i, j, tasks, sum, sumsq, wins, losses, fr[4], seen */
	unsigned bit, *seen = (unsigned *)&v[11];
	int m;

	if (KEY(k, "arms")) bit = 1;
	else if (KEY(k, "tasks")) bit = 2;
	else if (KEY(k, "sum")) bit = 4;
	else if (KEY(k, "sumsq")) bit = 8;
	else if (KEY(k, "wins")) bit = 16;
	else if (KEY(k, "losses")) bit = 32;
	else if (KEY(k, "fractional")) bit = 64;
	else
		return -1;
	if (*seen & bit)
		return -1;
	*seen |= bit;
	switch (bit) {
	case 1:
		return 0; /* read by read_pairs, which sees it first */
	case 2: return nneg(r, &v[2]);
	case 4: return num(r, &v[3]);
	case 8: return nneg(r, &v[4]);
	case 16: return nneg(r, &v[5]);
	case 32: return nneg(r, &v[6]);
	default:
		if (!eat(r, '['))
			return -1;
		for (m = 0; m < 4; m++)
			if ((m && !eat(r, ',')) || num(r, &v[7 + m]) < 0 || !isfinite(v[7 + m]))
				return -1;
		return eat(r, ']') ? 0 : -1;
	}
}

/* pb_pair_refresh of p, remembered: for 0/1 rewards (no fractional
 * tasks) its two logs depend on the wins and losses alone, and the
 * pairs of a race of 1,000 arms (500,000 of them) share a few hundred
 * (wins, losses); each is worked out once, by pb_pair_refresh itself. */
#define MEMO 64
struct memo {
	double lm[MEMO][MEMO][2];
	unsigned char have[MEMO][MEMO];
};

static void
refresh(struct pb_pair *p, struct memo *mm)
{
	if (!mm || p->fpos || p->fneg || p->b >= MEMO || p->c >= MEMO) {
		pb_pair_refresh(p);
		return;
	}
	if (!mm->have[p->b][p->c]) {
		struct pb_pair q = { 0 };
		q.b = p->b;
		q.c = p->c;
		pb_pair_refresh(&q);
		mm->lm[p->b][p->c][0] = q.lm[0];
		mm->lm[p->b][p->c][1] = q.lm[1];
		mm->have[p->b][p->c] = 1;
	}
	p->lm[0] = mm->lm[p->b][p->c][0];
	p->lm[1] = mm->lm[p->b][p->c][1];
}

static int
read_pairs(struct pb__scan *r, struct pb_state *st, struct pb_pairs **pp)
{
	char a[256], b[256], prev[256] = "";
	struct memo *mm;
	int rv = -1, previ = -1;

	if (!eat(r, '['))
		return -1;
	if (eat(r, ']'))
		return 0;
	mm = calloc(1, sizeof *mm); /* NULL: no memo */
	do {
		double v[12] = { 0 };
		unsigned *seen = (unsigned *)&v[11];
		const char *k;
		size_t kn;
		struct pb_pair *p;
		int i, j;
		double *fr = &v[7], n, w, l;

		/* "arms" first, as the writer puts it */
		if (!eat(r, '{') || str(r, &k, &kn) < 0 || !KEY(k, "arms") ||
		    !eat(r, ':') || !eat(r, '[') || cstr(r, a, sizeof a) < 0 ||
		    !eat(r, ',') || cstr(r, b, sizeof b) < 0 || !eat(r, ']'))
			goto out;
		*seen = 1;
		while (eat(r, ','))
			if (str(r, &k, &kn) < 0 || !eat(r, ':') || pair_member(r, k, kn, v) < 0)
				goto out;
		if (!eat(r, '}') || (*seen & 63) != 63)
			goto out;
		/* the file lists the pairs by their first arm: one lookup a run */
		if (strcmp(a, prev)) {
			memcpy(prev, a, sizeof prev);
			previ = pb_state_find_arm(st, a);
		}
		i = previ;
		j = pb_state_find_arm(st, b);
		n = v[2], w = v[5], l = v[6];
		if (i < 0 || j < 0 || i >= j || pb__pair_counts_bad(n, w, l, fr) ||
		    !(p = pb__pair_get(pp, st->narms, i, j, 1)))
			goto out;
		pb__pair_set(p, n, v[3], v[4], w, l, fr);
		refresh(p, mm);
	} while (eat(r, ','));
	rv = eat(r, ']') ? 0 : -1;
out:
	free(mm);
	return rv;
}

/* --------------------------------------------------------------- tasks */

/* How many tasks the array at p holds, about: its '[' up to the first
 * "]]" (an id with either in it only makes the guess off). */
static size_t
count_tasks(const char *p)
{
	size_t n = 0;

	for (; *p; p++) {
		if (*p == '[')
			n++;
		else if (p[0] == ']' && p[1] == ']')
			break;
	}
	return n;
}

static int
read_tasks(struct pb__scan *r, struct pb_tasks *t)
{
	if (!eat(r, '['))
		return -1;
	if (eat(r, ']'))
		return 0;
	if (pb__tasks_reserve(t, count_tasks(r->p)) < 0)
		return -1;
	do {
		const char *id, *hex;
		size_t n, hn, m;
		uint64_t d = 0;

		if (!eat(r, '[') || str(r, &id, &n) < 0 || n == 0 || !eat(r, ',') ||
		    str(r, &hex, &hn) < 0 || hn != 16 || !eat(r, ']'))
			return -1;
		for (m = 0; m < 16; m++) {
			char c = hex[m];
			if (c >= '0' && c <= '9')
				d = d << 4 | (uint64_t)(c - '0');
			else if (c >= 'a' && c <= 'f')
				d = d << 4 | (uint64_t)(c - 'a' + 10);
			else
				return -1;
		}
		/* a duplicate is the loader's to report */
		if (pb__tasks_add_new(t, id, n, d) != 0)
			return -1;
	} while (eat(r, ','));
	return eat(r, ']') ? 0 : -1;
}

/* ------------------------------------------------------------ contexts */

struct ctxrd {
	struct pb_state *st;
	struct pb_ctx *c;
	unsigned seen;
};

/* One value of the context field, as pb_ctx_load reads it: its arms the
 * state's, in order. */
static int
ctx_member(struct pb__scan *r, const char *k, size_t kn, void *arg)
{
	struct ctxrd *cr = arg;
	struct pb_state *st = cr->st;
	char name[256];
	size_t i = 0;
	int ci;

	if (KEY(k, "value") && !cr->seen) {
		cr->seen = 1;
		if (cstr(r, name, sizeof name) < 0 || pb_state_find_ctx(st, name) >= 0 ||
		    (ci = pb_state_add_ctx(st, name)) < 0)
			return -1;
		cr->c = &st->ctx[ci];
		return 0;
	}
	if (KEY(k, "arms") && cr->seen == 1) {
		cr->seen |= 2;
		if (!eat(r, '['))
			return -1;
		if (eat(r, ']'))
			return st->narms == 0 ? 0 : -1;
		do {
			struct armrd ar = { st, NULL, pb_policy_nstate(st->pol.kind), 0,
			                    { 0 }, NULL };
			if (i >= st->narms)
				return -1;
			ar.a = &cr->c->arms[i];
			ar.want = st->arms[i].id;
			if (object(r, arm_member, &ar) < 0 || (ar.seen & 0x1f) != 0x1f ||
			    arm_stats(&ar) < 0)
				return -1;
			i++;
		} while (eat(r, ','));
		return i == st->narms && eat(r, ']') ? 0 : -1;
	}
	if (KEY(k, "pairs") && (cr->seen & 3) == 3 && !(cr->seen & 4)) {
		cr->seen |= 4;
		return read_pairs(r, st, &cr->c->pair);
	}
	if (KEY(k, "tasks") && (cr->seen & 3) == 3 && !(cr->seen & 8)) {
		cr->seen |= 8;
		return read_tasks(r, &cr->c->tasks);
	}
	return -1;
}

static int
read_contexts(struct pb__scan *r, struct pb_state *st)
{
	const char *f;
	size_t fn;

	if (!eat(r, '{') || str(r, &f, &fn) < 0 || fn != 5 || memcmp(f, "field", 5) ||
	    !eat(r, ':') || str(r, &f, &fn) < 0 || fn == 0 ||
	    !(st->ctx_field = malloc(fn + 1)))
		return -1;
	memcpy(st->ctx_field, f, fn);
	st->ctx_field[fn] = '\0';
	if (!eat(r, ',') || str(r, &f, &fn) < 0 || fn != 6 || memcmp(f, "values", 6) ||
	    !eat(r, ':') || !eat(r, '['))
		return -1;
	if (!eat(r, ']')) {
		do {
			struct ctxrd cr = { st, NULL, 0 };
			if (object(r, ctx_member, &cr) < 0 || (cr.seen & 3) != 3)
				return -1;
		} while (eat(r, ','));
		if (!eat(r, ']'))
			return -1;
	}
	return eat(r, '}') ? 0 : -1;
}

/* ---------------------------------------------------------------- top */

struct toprd {
	struct pb_state *st;
	cJSON *rest;
	unsigned seen;
};

static int
top_member(struct pb__scan *r, const char *k, size_t kn, void *arg)
{
	struct toprd *t = arg;
	char key[64];
	cJSON *v;
	unsigned bit = 0;

	if (kn >= sizeof key)
		return -1;
	memcpy(key, k, kn);
	key[kn] = '\0';
	if (KEY(k, "arms")) bit = 1;
	else if (KEY(k, "pairs")) bit = 2;
	else if (KEY(k, "tasks")) bit = 4;
	else if (KEY(k, "history")) bit = 8;
	else if (KEY(k, "pending")) bit = 16;
	else if (KEY(k, "contexts")) bit = 32;
	if (bit) {
		if (t->seen & bit)
			return -1;
		t->seen |= bit;
		if (bit == 1) {
			/* the arms' policy_state needs the policy first */
			const char *name = pb_json_str(t->rest, "policy.name");
			char err[PB_ERRLEN];
			if (!name || (pb_policy_parse(&t->st->pol, name, err) < 0 &&
			    !strstr(err, "needs budget")))
				return -1;
			return read_arms(r, t->st);
		}
		if (bit == 2)
			return t->seen & 1 ? read_pairs(r, t->st, &t->st->pair) : -1;
		if (bit == 8)
			return pb__read_history(r, t->st);
		if (bit == 16)
			return t->seen & 1 ? pb__read_pending(r, t->st, t->rest) : -1;
		if (bit == 32) /* beside "tasks", the loader's message */
			return (t->seen & 5) == 1 ? read_contexts(r, t->st) : -1;
		if (t->seen & 32)
			return -1;
		return read_tasks(r, &t->st->tasks);
	}
	if (cJSON_GetObjectItemCaseSensitive(t->rest, key) || !(v = tree(r)))
		return -1;
	cJSON_AddItemToObject(t->rest, key, v);
	return 0;
}

int
pb__state_read(struct pb_state *st, const char *buf, size_t len, cJSON **rest)
{
	struct pb__scan r = { buf, buf + len };
	struct toprd t = { st, cJSON_CreateObject(), 0 };

	*rest = NULL;
	if (pb__state_slow || !t.rest || strlen(buf) != len)
		goto fail;
	if (object(&r, top_member, &t) < 0 || (t.seen & 17) != 17)
		goto fail; /* no arms, or no pending list: the loader's messages */
	ws(&r);
	if (r.p != r.e)
		goto fail;
	*rest = t.rest;
	return 0;
fail:
#ifdef PB_STATE_VERIFY
	if (getenv("PB_VERIFY_LOG")) {
		FILE *vf = fopen(getenv("PB_VERIFY_LOG"), "a");
		if (vf) {
			fprintf(vf, "fail-at %.80s\n", r.p > buf + 60 ? r.p - 60 : buf);
			fclose(vf);
		}
	}
#endif
	cJSON_Delete(t.rest);
	pb_state_free(st);
	memset(st, 0, sizeof *st);
	return -1;
}

