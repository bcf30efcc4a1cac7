/* engine_queue.c - the record queue of pb-score's engine: the window of
 * records in input order, each with one outcome per component; a
 * component's outcome settled (graded or unscored, with the message);
 * the engine's failure, which stops it.  The engine's parts are declared
 * in internal.h; engine.c takes records in and hands them back.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "score.h"
#include "internal.h"

/* A system error: the engine stops, and says why from now on. */
int
pb__blend_fail(struct pb_blend *b, char err[PB_ERRLEN], const char *fmt, ...)
{
	va_list ap;

	if (!b->broken) {
		va_start(ap, fmt);
		vsnprintf(b->broke, sizeof b->broke, fmt, ap);
		va_end(ap);
		b->broken = 1;
	}
	snprintf(err, PB_ERRLEN, "%s", b->broke);
	return -1;
}

void
pb__blend_warn(struct pb_blend *b, const char *fmt, ...)
{
	char msg[PB_ERRLEN + 256];
	va_list ap;

	if (!b->o.warn)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	b->o.warn(msg, b->o.arg);
}

struct pb__slot *
pb__blend_slot(struct pb_blend *b, long seq)
{
	struct pb__slot *s;
	long first;

	if (!b->n)
		return NULL;
	first = b->ring[b->head].seq;
	if (seq < first || seq >= first + (long)b->n)
		return NULL;
	s = &b->ring[(b->head + (size_t)(seq - first)) % b->cap];
	return s->seq == seq ? s : NULL;
}

void
pb__blend_res_clear(struct pb__res *r)
{
	free(r->extracted);
	free(r->reference);
	free(r->reason);
	cJSON_Delete(r->judge);
	memset(r, 0, sizeof *r);
}

/* Settles component c of slot s as unscored for why (copied). */
void
pb__blend_unscored(struct pb_blend *b, struct pb__slot *s, int c,
                   const char *why, int quiet)
{
	struct pb__res *r = &s->r[c];

	r->status = PB_SCORE_UNSCORED;
	r->reward = 0;
	free(r->reason);
	r->reason = strdup(why);
	if (!r->done) {
		r->done = 1;
		s->pending--;
	}
	if (!quiet)
		pb__blend_warn(b, "%s:%ld: %s: %s", s->file, s->line, b->o.comp[c].name, why);
}

/* Settles a graded component with reward x read as raw. */
void
pb__blend_graded(struct pb__slot *s, int c, double x, const char *raw)
{
	struct pb__res *r = &s->r[c];

	r->reward = x;
	r->status = x == 1 ? PB_SCORE_OK : x == 0 ? PB_SCORE_WRONG : PB_SCORE_PARTIAL;
	r->extracted = raw ? strdup(raw) : NULL;
	if (!r->done) {
		r->done = 1;
		s->pending--;
	}
}

/* The reference as text for a component that does not read it itself. */
char *
pb__blend_ref_text(const struct pb_blend *b, const cJSON *rec)
{
	const cJSON *ref = pb_json_path(rec, b->o.reference);

	return ref && !cJSON_IsNull(ref) ? pb_json_text(ref) : NULL;
}
