/* engine.c - pb-score's engine: each record scored by one or more
 * components (built-in scorers, a jq program, an external program, an
 * LLM judge), their rewards blended by weight, records handed back in
 * input order.  This file is the API of score.h (pb_blend_*): records in,
 * the components set going, records out.  Its parts, declared in
 * internal.h: the record queue (engine_queue.c), the program components
 * (engine_prog.c), the judge (engine_judge.c), the final blend
 * (engine_blend.c).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "score.h"
#include "internal.h"

#define DEFAULT_WINDOW 4096
#define FLUSH_AT 65536 /* bytes queued for a coprocess before a pump */

/* Hands back the finished records at the front of the window. */
static int
emit(struct pb_blend *b, char err[PB_ERRLEN])
{
	struct pb__slot *s;
	size_t i;
	int rv;

	while (b->n && !(s = &b->ring[b->head])->pending) {
		if (!s->direct && pb__blend_finalize(b, s) < 0)
			return pb__blend_fail(b, err, "out of memory");
		rv = b->o.out(s->rec, b->o.arg, err);
		s->rec = NULL;
		for (i = 0; i < b->o.ncomp; i++)
			pb__blend_res_clear(&s->r[i]);
		free(s->failed);
		s->failed = NULL;
		b->head = (b->head + 1) % b->cap;
		if (--b->n <= b->cap / 2)
			b->full = 0;
		b->cnt.done++;
		if (rv < 0)
			return pb__blend_fail(b, err, "%s", err);
	}
	return 0;
}

/* ------------------------------------------------------------ the API */

struct pb_blend *
pb_blend_new(const struct pb_blend_opts *o, char err[PB_ERRLEN])
{
	struct pb_blend *b;
	size_t i;

	if (!o->ncomp || !o->out) {
		snprintf(err, PB_ERRLEN, "no scorer");
		return NULL;
	}
	if (!(b = calloc(1, sizeof *b))) {
		snprintf(err, PB_ERRLEN, "out of memory");
		return NULL;
	}
	b->o = *o;
	b->cap = o->window ? o->window : DEFAULT_WINDOW;
	b->next_seq = 1;
	b->jq.comp = b->cmd.comp = b->judge_comp = -1;
	if (!(b->ring = calloc(b->cap, sizeof *b->ring)))
		goto oom;
	for (i = 0; i < b->cap; i++)
		if (!(b->ring[i].r = calloc(o->ncomp, sizeof *b->ring[i].r)))
			goto oom;
	for (i = 0; i < o->ncomp; i++) {
		switch (o->comp[i].kind) {
		case PB_COMP_BUILTIN:
			break;
		case PB_COMP_JQ:
			if (pb__prog_start_jq(b, (int)i, err) < 0)
				goto bad;
			break;
		case PB_COMP_CMD:
			if (pb__prog_start_cmd(b, (int)i, err) < 0)
				goto bad;
			break;
		case PB_COMP_JUDGE:
			if (pb__judge_start(b, (int)i, err) < 0)
				goto bad;
			break;
		}
	}
	return b;
oom:
	snprintf(err, PB_ERRLEN, "out of memory");
bad:
	pb_blend_free(b);
	return NULL;
}

void
pb_blend_free(struct pb_blend *b)
{
	size_t i, k;

	if (!b)
		return;
	if (b->jq.on)
		pb_coproc_free(&b->jq.p);
	if (b->cmd.on)
		pb_coproc_free(&b->cmd.p);
	free(b->jq.owed);
	free(b->cmd.owed);
	pb_query_free(b->judge);
	for (i = 0; b->ring && i < b->cap; i++) {
		cJSON_Delete(b->ring[i].rec);
		free(b->ring[i].failed);
		for (k = 0; b->ring[i].r && k < b->o.ncomp; k++)
			pb__blend_res_clear(&b->ring[i].r[k]);
		free(b->ring[i].r);
	}
	free(b->ring);
	free(b);
}

/* Once the window is full, no room until half of it is handed back:
 * otherwise each answer from a coprocess would let one record in and a
 * full window would turn one record at a time, a wakeup each, instead
 * of in batches while the coprocess works on. */
int
pb_blend_room(const struct pb_blend *b)
{
	return !b->broken && !b->full && b->n < b->cap &&
	       (!b->judge || pb_query_room(b->judge) > 0);
}

int
pb_blend_idle(const struct pb_blend *b)
{
	return b->broken || (!b->n && (!b->finished ||
	       (!pb__prog_busy(&b->jq, 1) && !pb__prog_busy(&b->cmd, 1))));
}

/* One built-in scorer alone, without --blend: exactly what pb-score
 * always wrote, pb_score_record's fields.  -1 only if out of memory. */
static int
score_alone(struct pb_blend *b, struct pb__slot *s, char err[PB_ERRLEN])
{
	const char *st;
	size_t i;
	int rc = pb_score_record(b->o.comp[0].sc, s->rec, err);

	if (rc < 0) {
		if (!strcmp(err, "out of memory"))
			return pb__blend_fail(b, err, "out of memory");
		pb__blend_warn(b, "%s:%ld: %s", s->file, s->line, err);
		b->cnt.failed++;
	}
	st = pb_json_str(s->rec, "score.status");
	for (i = 0; st && i < 5; i++)
		if (!strcmp(st, pb_score_status_name((enum pb_score_status)i)))
			b->cnt.status[i]++;
	s->direct = 1;
	return 0;
}

/* Component c, a built-in scorer, scores the record of s at once, with
 * the scorer's own paths, which its messages name. */
static void
score_builtin(struct pb_blend *b, struct pb__slot *s, int c)
{
	const struct pb_scorer *sc = b->o.comp[c].sc;
	struct pb__res *r = &s->r[c];
	struct pb_score_result sr;
	char why[PB_ERRLEN];

	if (pb_score_text(sc, pb_json_str(s->rec, sc->response),
	                  pb_json_path(s->rec, sc->reference), &sr, why) < 0) {
		r->reference = sr.reference;
		free(sr.extracted);
		pb__blend_unscored(b, s, c, why, 0);
		b->cnt.failed++;
		return;
	}
	r->status = sr.status;
	r->reward = sr.reward;
	r->extracted = sr.extracted;
	r->reference = sr.reference;
	r->done = 1;
	s->pending--;
}

/* Each component takes the record of s: built-in scorers score it, the
 * programs and the judge are sent it (text, len: as in pb_blend_add). */
static int
start_components(struct pb_blend *b, struct pb__slot *s, const char *text,
                 size_t len, char err[PB_ERRLEN])
{
	const struct pb_blend_opts *o = &b->o;
	const char *resp = pb_json_str(s->rec, o->response);
	size_t i;

	for (i = 0; i < o->ncomp; i++) {
		const struct pb_component *c = &o->comp[i];
		struct pb__res *r = &s->r[i];

		s->pending++;
		switch (c->kind) {
		case PB_COMP_BUILTIN:
			score_builtin(b, s, (int)i);
			break;
		case PB_COMP_JQ:
		case PB_COMP_CMD: {
			struct pb__co *co = c->kind == PB_COMP_JQ ? &b->jq : &b->cmd;

			r->reference = pb__blend_ref_text(b, s->rec);
			if (co->dead) {
				pb__blend_unscored(b, s, (int)i, co->why, 1);
				b->cnt.failed++;
			} else if (pb__prog_send(b, co, s, text, len,
			                         c->kind == PB_COMP_JQ) < 0)
				return pb__blend_fail(b, err, "out of memory");
			break;
		}
		case PB_COMP_JUDGE:
			r->reference = pb__blend_ref_text(b, s->rec);
			if (pb__judge_send(b, s, resp, err) < 0)
				return -1;
			break;
		}
	}
	return 0;
}

int
pb_blend_add(struct pb_blend *b, cJSON *rec, const char *file, long line,
             const char *text, size_t len, char err[PB_ERRLEN])
{
	const struct pb_blend_opts *o = &b->o;
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(rec, "error");
	struct pb__slot *s;
	size_t i;

	if (b->broken || b->n == b->cap) {
		cJSON_Delete(rec);
		/* a broken engine's pb__blend_fail() gives why it broke instead */
		return pb__blend_fail(b, err, "pb_blend_add without room");
	}
	s = &b->ring[(b->head + b->n++) % b->cap];
	if (b->n == b->cap && b->cap > 1)
		b->full = 1;
	s->rec = rec;
	s->file = file;
	s->line = line;
	s->seq = b->next_seq++;
	s->pending = 0;
	s->direct = 0;
	if (o->ncomp == 1 && o->comp[0].kind == PB_COMP_BUILTIN && !o->blend)
		return score_alone(b, s, err) < 0 ? -1 : emit(b, err);
	if (e && !cJSON_IsNull(e)) {
		/* Failed queries are data: unscored, never rewarded, not
		 * sent to any program or judge. */
		if (!(s->failed = pb_score_query_failed(e)))
			return pb__blend_fail(b, err, "out of memory");
		for (i = 0; i < o->ncomp; i++) {
			s->r[i].done = 1;
			s->r[i].status = PB_SCORE_UNSCORED;
		}
		if (o->ncomp == 1)
			s->r[0].reference = pb__blend_ref_text(b, rec);
		return emit(b, err);
	}
	if (start_components(b, s, text, len, err) < 0)
		return -1;
	if ((b->jq.on && b->jq.p.olen - b->jq.p.ooff >= FLUSH_AT) ||
	    (b->cmd.on && b->cmd.p.olen - b->cmd.p.ooff >= FLUSH_AT))
		return pb_blend_step(b, 0, err);
	return emit(b, err);
}

int
pb_blend_step(struct pb_blend *b, int timeout_ms, char err[PB_ERRLEN])
{
	struct pb_coproc *cp[2];
	struct pb__co *cs[2];
	size_t n = 0, i;
	int moved = 0;

	if (b->broken)
		return pb__blend_fail(b, err, "%s", b->broke);
	if (pb__prog_busy(&b->jq, b->finished))
		cs[n] = &b->jq, cp[n++] = &b->jq.p;
	if (pb__prog_busy(&b->cmd, b->finished))
		cs[n] = &b->cmd, cp[n++] = &b->cmd.p;
	if (b->finished)
		for (i = 0; i < n; i++)
			if (!cp[i]->shut)
				pb_coproc_finish(cp[i]);
	if (n) {
		int t = b->judge && !pb_query_idle(b->judge) ?
		        (timeout_ms < 0 || timeout_ms > 10 ? 10 : timeout_ms) : timeout_ms;
		int left = pb__prog_left_ms(b, &b->cmd, pb_clock());

		if (left >= 0 && (t < 0 || t > left))
			t = left;
		if ((moved = pb_coproc_pump(cp, n, t, err)) < 0)
			return pb__blend_fail(b, err, "%s", err);
		for (i = 0; i < n; i++)
			pb__prog_drain(b, cs[i], cs[i] == &b->jq);
		if (pb__prog_left_ms(b, &b->cmd, pb_clock()) == 0)
			pb__prog_timeout(b, &b->cmd);
	}
	if (b->judge && !pb_query_idle(b->judge)) {
		double next, now = pb_clock();
		int ms = moved || n ? 0 : timeout_ms < 0 ? 1000 : timeout_ms;

		if (pb_query_send(b->judge, now, &next, err) < 0)
			return pb__blend_fail(b, err, "judge: %s", err);
		if (ms > 0 && next - now < ms / 1000.0)
			ms = next <= now ? 0 : (int)ceil((next - now) * 1000);
		if (pb_query_poll(b->judge, ms, err) < 0)
			return pb__blend_fail(b, err, "judge: %s", err);
	}
	return emit(b, err);
}

void
pb_blend_finish(struct pb_blend *b)
{
	b->finished = 1;
}

void
pb_blend_counts(const struct pb_blend *b, struct pb_blend_counts *c)
{
	*c = b->cnt;
}
