/* engine_blend.c - the final blend of pb-score's engine: once every
 * component of a record is in, the weighted mean of their rewards (null
 * if any is unscored) becomes the record's "reward", and the outcomes its
 * "score" (with "components" under --blend; format in pb.7).
 */
#include <stdlib.h>
#include <string.h>

#include "score.h"
#include "internal.h"

static cJSON *
str_or_null(const char *s)
{
	return s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

/* Fills obj with one outcome's fields. */
static void
put_res(cJSON *obj, const struct pb__res *r)
{
	cJSON_AddItemToObject(obj, "extracted", str_or_null(r->extracted));
	cJSON_AddItemToObject(obj, "reference", str_or_null(r->reference));
	cJSON_AddItemToObject(obj, "status",
	                      cJSON_CreateString(pb_score_status_name(r->status)));
	if (r->status == PB_SCORE_UNSCORED)
		cJSON_AddItemToObject(obj, "reason", str_or_null(r->reason));
	if (r->judge)
		cJSON_AddItemToObject(obj, "judge", cJSON_Duplicate(r->judge, 1));
}

/* Adds "reward" and "score" to a slot whose components are all in. */
int
pb__blend_finalize(struct pb_blend *b, struct pb__slot *s)
{
	const struct pb_blend_opts *o = &b->o;
	struct pb__res all = { 0 };
	double wsum = 0, sum = 0;
	cJSON *score, *comps = NULL, *c;
	size_t i;
	int noanswer = 0;

	if (!(score = cJSON_CreateObject()))
		return -1;
	all.status = PB_SCORE_OK;
	if (s->failed) {
		all.status = PB_SCORE_UNSCORED;
		all.reason = s->failed;
		all.reference = o->ncomp == 1 ? s->r[0].reference : NULL;
	} else {
		for (i = 0; i < o->ncomp; i++) {
			const struct pb__res *r = &s->r[i];

			if (r->status == PB_SCORE_UNSCORED) {
				if (all.status != PB_SCORE_UNSCORED) {
					all.status = PB_SCORE_UNSCORED;
					all.reason = o->blend ? NULL : r->reason;
					if (o->blend && r->reason &&
					    (all.reason = malloc(strlen(o->comp[i].name) +
					                         strlen(r->reason) + 3)))
						sprintf(all.reason, "%s: %s", o->comp[i].name, r->reason);
				}
				continue;
			}
			noanswer += r->status == PB_SCORE_NOANSWER;
			wsum += o->comp[i].weight;
			sum += o->comp[i].weight * r->reward;
		}
		if (all.status != PB_SCORE_UNSCORED) {
			all.reward = wsum > 0 ? sum / wsum : 0;
			if (all.reward > 1)
				all.reward = 1; /* rounding of the weights */
			all.status = noanswer == (int)o->ncomp ? PB_SCORE_NOANSWER :
			             all.reward == 1 ? PB_SCORE_OK : all.reward == 0 ?
			             PB_SCORE_WRONG : PB_SCORE_PARTIAL;
		}
		if (!o->blend) {
			all.extracted = s->r[0].extracted;
			all.reference = s->r[0].reference;
			all.judge = s->r[0].judge;
		}
	}
	cJSON_AddItemToObject(score, "scorer", cJSON_CreateString(o->blend ? "blend" :
	                      o->comp[0].name));
	put_res(score, &all);
	if (o->blend && !s->failed) {
		comps = cJSON_AddObjectToObject(score, "components");
		for (i = 0; i < o->ncomp; i++) {
			c = cJSON_CreateObject();
			cJSON_AddNumberToObject(c, "weight", o->comp[i].weight);
			if (s->r[i].status == PB_SCORE_UNSCORED)
				cJSON_AddNullToObject(c, "reward");
			else
				cJSON_AddNumberToObject(c, "reward", s->r[i].reward);
			put_res(c, &s->r[i]);
			cJSON_AddItemToObject(comps, o->comp[i].name, c);
		}
	}
	if (o->blend && all.status == PB_SCORE_UNSCORED && !s->failed)
		free(all.reason);
	b->cnt.status[all.status]++;
	pb_json_set(s->rec, "reward", all.status == PB_SCORE_UNSCORED ?
	          cJSON_CreateNull() : cJSON_CreateNumber(all.reward));
	pb_json_set(s->rec, "score", score);
	return 0;
}

