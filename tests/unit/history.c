/* history.c - unit tests of lib/history.c: points while the buffer fills,
 * thinning, a million updates staying bounded, the state file round
 * trip, arms without history, and malformed history refused. */
#include <math.h>
#include <stdlib.h>
#include <unistd.h>

#include "../../lib/pb.h"
#include "tap.h"
#include "mkstate.h"

static char dir[] = "/tmp/pbhistXXXXXX";

/* Hands out n pulls round robin and applies them: arm i is right on a
 * share (i + 1) / (narms + 1) of its pulls. */
static int
run(struct pb_state *st, long n, char *err)
{
	long first = st->next_pull, id, k;

	if (pb_state_begin_batch(st, pb_now()) < 0)
		return -1;
	for (k = 0; k < n; k++)
		pb_state_hand_out(st, (int)(k % (long)st->narms));
	for (id = first, k = 0; k < n; id++, k++) {
		int arm = (int)(k % (long)st->narms);
		long j = k / (long)st->narms;
		double r = (j * (arm + 1)) % ((long)st->narms + 1) < arm + 1;
		if (pb_state_apply(st, id, arm, r, err) != 0)
			return -1;
	}
	return 0;
}

static int
increasing(const struct pb_history *h)
{
	size_t k;

	for (k = 1; k < h->n; k++)
		if (h->updates[k] <= h->updates[k - 1])
			return 0;
	return 1;
}

int
main(void)
{
	struct pb_state st, back;
	char err[PB_ERRLEN], path[256];
	const struct pb_hist_series *s;
	struct pb_history *h;
	cJSON *j;
	char *text;
	size_t k;
	int rv;

	if (!mkdtemp(dir)) {
		printf("Bail out! mkdtemp\n");
		return 1;
	}
	snprintf(path, sizeof path, "%s/state.json", dir);

	ok(mkstate(&st, "{\"id\":\"a\"}\n{\"id\":\"b\"}\n{\"id\":\"c\"}\n", "ucb1", err) == 0,
	   "a state of three arms");
	ok(st.hist == NULL, "no history before the first update");
	ok(run(&st, 30, err) == 0, "30 pulls applied");
	h = st.hist;
	ok(h && h->n == 30 && h->stride == 1, "a point per update while there is room");
	is_num(h->updates[0], 1, 0, "the first point is after update 1");
	s = pb_history_find(h, "c");
	ok(s && s->pulls[29] == 10 && fabs(s->mean[29] - pb_stats_mean(&st.arms[2].st)) < 1e-6,
	   "a point holds each arm's pulls and mean");
	ok(s && fabs(s->prob[29] + pb_history_find(h, "a")->prob[29] +
	   pb_history_find(h, "b")->prob[29] - 1) < 1e-5, "and selection probabilities adding to 1");

	ok(run(&st, 200 - 30, err) == 0 && h->n == 200 && h->stride == 1, "200 points fill the buffer");
	ok(run(&st, 1, err) == 0, "update 201");
	ok(h->n == 100 && h->stride == 2, "thinned to 100 points, stride 2");
	ok(h->updates[0] == 2 && h->updates[99] == 200, "the later of each pair stays");
	ok(run(&st, 1, err) == 0 && h->n == 101 && h->updates[100] == 202,
	   "the next point comes at the next multiple of the stride");

	ok(run(&st, 1000000 - 202, err) == 0, "a million updates");
	ok(st.updates == 1000000, "(counted)");
	ok(h->n >= PB_HIST_CAP / 2 && h->n <= PB_HIST_CAP, "history stays bounded: %zu points", h->n);
	ok(h->stride == 8192, "stride 2^13 (%ld)", h->stride);
	ok(increasing(h), "updates increasing");
	ok(1000000 - h->updates[h->n - 1] < h->stride, "the newest point is within a stride of the end");
	j = pb_history_to_json(h);
	text = cJSON_PrintUnformatted(j);
	ok(text && strlen(text) < 40000, "its JSON is small: %zu bytes", text ? strlen(text) : 0);
	cJSON_free(text);
	cJSON_Delete(j);

	/* round trip through the state file */
	ok(pb_state_create(&st, path, err) == 0, "saved");
	ok(pb_state_load(&back, path, err) == 0, "loaded: %s", err);
	ok(back.hist && back.hist->n == h->n && back.hist->stride == h->stride &&
	   back.hist->next == h->next, "points, stride and next point survive");
	rv = 1;
	for (k = 0; k < h->n; k++)
		rv &= back.hist->updates[k] == h->updates[k] &&
		      pb_history_find(back.hist, "b")->prob[k] == pb_history_find(h, "b")->prob[k] &&
		      pb_history_find(back.hist, "a")->mean[k] == pb_history_find(h, "a")->mean[k];
	ok(rv, "every value survives");
	pb_state_free(&back);
	pb_state_free(&st);

	/* a state saved before history existed, and an arm without one */
	ok(mkstate(&st, "{\"id\":\"x\"}\n{\"id\":\"y\"}\n", "thompson", err) == 0, "a new state");
	j = pb_state_to_json(&st);
	ok(!cJSON_GetObjectItem(j, "history"), "no history member until a point is taken");
	cJSON_AddItemToObject(j, "history", parse(
	    "{\"stride\":1,\"updates\":[1,2],\"arms\":{\"x\":{\"pulls\":[1,2],"
	    "\"mean\":[1,0.5],\"prob\":[0.6,0.4]},\"gone\":{\"pulls\":[0,1],"
	    "\"mean\":[0,1],\"var\":[null,null],\"prob\":[0.4,0.6]}}}"));
	text = cJSON_Print(j);
	writefile(path, text);
	cJSON_free(text);
	cJSON_Delete(j);
	pb_state_free(&st);
	ok(pb_state_load(&st, path, err) == 0, "a history without arm y, with a retired arm, loads: %s", err);
	ok(st.hist->next == 3, "the next point is due at update 3");
	st.updates = 3;
	ok(pb_history_take(&st) == 0 && st.hist->n == 3, "a point taken");
	s = pb_history_find(st.hist, "y");
	ok(s && isnan(s->pulls[0]) && isnan(s->prob[1]) && s->pulls[2] == 0,
	   "arm y's series starts at its first point (null before)");
	s = pb_history_find(st.hist, "gone");
	ok(s && s->pulls[1] == 1 && isnan(s->pulls[2]), "the retired arm keeps its past, null after");
	s = pb_history_find(st.hist, "x");
	ok(s && isnan(s->var[0]) && s->var[2] == 0, "a missing var array reads as null");
	ok(pb_history_take(&st) == 0 && st.hist->n == 3, "a second point at the same update replaces it");
	pb_state_free(&st);

	writefile(path, "{\"format\":\"promptbandit-state\",\"version\":2,"
	          "\"run\":\"0123456789abcdef0123456789abcdef\",\"policy\":{\"name\":\"ucb1\"},"
	          "\"rng\":[\"0000000000000001\",\"0000000000000002\",\"0000000000000003\","
	          "\"0000000000000004\"],\"next_pull\":1,\"updates\":0,\"pending_ttl\":900,"
	          "\"arms\":[{\"id\":\"x\",\"pulls\":0,\"sum\":0,\"sumsq\":0,\"nonbinary\":0,"
	          "\"errors\":0,\"fields\":{\"id\":\"x\"}}],\"pending\":[],"
	          "\"history\":{\"stride\":1,\"updates\":[2,1],\"arms\":{}}}");
	{
		char want[PB_ERRLEN];
		ok(pb_state_load(&st, path, err) < 0, "updates out of order are refused");
		snprintf(want, sizeof want, "%s: not a valid state file: history: malformed "
		         "(arrays of numbers or nulls, one per point, updates increasing)", path);
		is_str(err, want, "saying what is wrong");
	}
	unlink(path);

	/* a large pool: a point every narms / 64 pulls, series written
	 * sparse (only where they change), read back dense */
	{
		char *arms = malloc(300 * 32), *at = arms;
		const struct pb_hist_series *s0, *s1;
		cJSON *hj, *a0;
		size_t i, same = 1;
		for (i = 0; i < 300; i++)
			at += sprintf(at, "{\"id\":\"arm%zu\"}\n", i);
		ok(mkstate(&st, arms, "ucb1", err) == 0, "a state of 300 arms");
		free(arms);
		ok(pb_history_min_stride(300) == 8 && pb_history_min_stride(64) == 1,
		   "least stride 8 for 300 arms, 1 for 64");
		ok(run(&st, 7, err) == 0 && st.hist == NULL, "no point before update 8");
		ok(run(&st, 1000 - 7, err) == 0 && st.hist && st.hist->stride >= 8 &&
		   st.hist->n == 1000 / 8, "then one every 8 updates");
		hj = pb_history_to_json(st.hist);
		a0 = cJSON_GetObjectItem(cJSON_GetObjectItem(hj, "arms"), "arm299");
		ok(cJSON_GetArraySize(cJSON_GetObjectItem(a0, "at")) ==
		   cJSON_GetArraySize(cJSON_GetObjectItem(a0, "pulls")) &&
		   cJSON_GetArraySize(cJSON_GetObjectItem(a0, "at")) < (int)st.hist->n,
		   "an arm's series holds its changes alone (%d of %zu points)",
		   cJSON_GetArraySize(cJSON_GetObjectItem(a0, "at")), st.hist->n);
		cJSON_Delete(hj);
		ok(pb_state_create(&st, path, err) == 0 && pb_state_load(&back, path, err) == 0,
		   "saved and loaded");
		for (i = 0; i < 300 && back.hist; i++) {
			char id[32];
			snprintf(id, sizeof id, "arm%zu", i);
			s0 = pb_history_find(st.hist, id);
			s1 = pb_history_find(back.hist, id);
			for (k = 0; s0 && s1 && k < st.hist->n; k++)
				same &= s0->pulls[k] == s1->pulls[k] &&
				        (s0->mean[k] == s1->mean[k] || (isnan(s0->mean[k]) && isnan(s1->mean[k]))) &&
				        (s0->var[k] == s1->var[k] || (isnan(s0->var[k]) && isnan(s1->var[k]))) &&
				        s0->prob[k] == s1->prob[k];
			same &= s0 && s1;
		}
		ok(back.hist && same && back.hist->n == st.hist->n, "every value survives the sparse form");
		pb_state_free(&back);
		pb_state_free(&st);
		unlink(path);
	}
	rmdir(dir);
	return tap_done();
}
