/* blend.c - pb-score's engine: each record scored by one or more
 * components (built-in scorers, a jq program, an external program, an
 * LLM judge), their rewards blended by weight, records handed back in
 * input order. */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pb.h"

#define DEFAULT_WINDOW 4096
#define FLUSH_AT 65536 /* bytes queued for a coprocess before a pump */

/* One component's outcome for one record. */
struct res {
	int done;
	enum pb_score_status status;
	double reward;
	char *extracted, *reference, *reason;
	cJSON *judge; /* {"model","reply"} */
};

struct slot {
	cJSON *rec;
	const char *file;
	long line;
	long seq;
	int pending;       /* components not in yet */
	int direct;        /* scored by pb_score_record: rec is complete */
	char *failed;      /* the query's failure ("query failed: ..."), or NULL */
	struct res *r;     /* ncomp */
};

/* A coprocess and the records it owes answers for, oldest first. */
struct co {
	struct pb_coproc p;
	int comp;          /* its component, -1 if none */
	const char *label; /* "jq" or the program's name */
	long *owed;        /* ring of window seqs */
	size_t head, n;
	int on, dead, reaped;
	char why[PB_ERRLEN]; /* why it died */
	char *const *argv; /* to start it again after a timeout */
	double since;      /* when the first answer owed began to be awaited */
	int strikes;       /* timeouts in a row */
};

#define STRIKES 3 /* timeouts in a row that end a program for the run */

struct pb_blend {
	struct pb_blend_opts o;
	struct slot *ring;
	size_t cap, head, n;
	long next_seq;             /* seq of the next record (from 1) */
	struct co jq, cmd;
	struct pb_query *judge;
	int judge_comp;
	int finished;
	int full;                  /* the window filled up and has not yet
	                            * drained to half */
	int broken;
	char broke[PB_ERRLEN];
	struct pb_blend_counts cnt;
};

/* ------------------------------------------------------------ helpers */

static int
fail(struct pb_blend *b, char err[PB_ERRLEN], const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A system error: the engine stops, and says why from now on. */
static int
fail(struct pb_blend *b, char err[PB_ERRLEN], const char *fmt, ...)
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

static void
warn(struct pb_blend *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
warn(struct pb_blend *b, const char *fmt, ...)
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

static struct slot *
slot_of(struct pb_blend *b, long seq)
{
	struct slot *s;
	long first;

	if (!b->n)
		return NULL;
	first = b->ring[b->head].seq;
	if (seq < first || seq >= first + (long)b->n)
		return NULL;
	s = &b->ring[(b->head + (size_t)(seq - first)) % b->cap];
	return s->seq == seq ? s : NULL;
}

static void
res_clear(struct res *r)
{
	free(r->extracted);
	free(r->reference);
	free(r->reason);
	cJSON_Delete(r->judge);
	memset(r, 0, sizeof *r);
}

/* Settles component c of slot s as unscored for why (copied). */
static void
unscored(struct pb_blend *b, struct slot *s, int c, const char *why, int quiet)
{
	struct res *r = &s->r[c];

	r->status = PB_SCORE_UNSCORED;
	r->reward = 0;
	free(r->reason);
	r->reason = strdup(why);
	if (!r->done) {
		r->done = 1;
		s->pending--;
	}
	if (!quiet)
		warn(b, "%s:%ld: %s: %s", s->file, s->line, b->o.comp[c].name, why);
}

/* Settles a graded component with reward x read as raw. */
static void
graded(struct slot *s, int c, double x, const char *raw)
{
	struct res *r = &s->r[c];

	r->reward = x;
	r->status = x == 1 ? PB_SCORE_OK : x == 0 ? PB_SCORE_WRONG : PB_SCORE_PARTIAL;
	r->extracted = raw ? strdup(raw) : NULL;
	if (!r->done) {
		r->done = 1;
		s->pending--;
	}
}

/* The reference as text for a component that does not read it itself. */
static char *
ref_text(const struct pb_blend *b, const cJSON *rec)
{
	const cJSON *ref = pb_json_path(rec, b->o.reference);

	return ref && !cJSON_IsNull(ref) ? pb_json_text(ref) : NULL;
}

/* ------------------------------------------------------- coprocesses */

static int
owe(struct co *c, size_t cap, long seq)
{
	if (!c->owed && !(c->owed = malloc(cap * sizeof *c->owed)))
		return -1;
	c->owed[(c->head + c->n++) % cap] = seq;
	return 0;
}

static long
owed_pop(struct co *c, size_t cap)
{
	long seq = c->owed[c->head];

	c->head = (c->head + 1) % cap;
	c->n--;
	return seq;
}

/* The coprocess has gone (or lost step): every record it owes, and every
 * one after, is unscored with the reason. */
static void
co_dead(struct pb_blend *b, struct co *c, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
co_dead(struct pb_blend *b, struct co *c, const char *fmt, ...)
{
	va_list ap;
	long owed = (long)c->n;

	if (c->dead)
		return;
	va_start(ap, fmt);
	vsnprintf(c->why, sizeof c->why, fmt, ap);
	va_end(ap);
	c->dead = 1;
	warn(b, "%s: %s; %ld record%s it owed, and any after, left unscored",
	     b->o.comp[c->comp].name, c->why, owed, owed == 1 ? "" : "s");
	while (c->n) {
		struct slot *s = slot_of(b, owed_pop(c, b->cap));

		if (s) {
			unscored(b, s, c->comp, c->why, 1);
			b->cnt.failed++;
		}
	}
	pb_coproc_free(&c->p);
	c->reaped = 1;
}

/* Sends rec (text as read, or printed) to c, framed as the protocol
 * wants: jq gets [SEQ,REC], a program the record alone. */
static int
co_send(struct pb_blend *b, struct co *c, struct slot *s, const char *text,
        size_t len, int jq)
{
	char head[32];
	char *own = NULL;
	int rv = 0;

	if (!text) {
		if (!(own = cJSON_PrintUnformatted(s->rec)))
			return -1;
		text = own;
		len = strlen(own);
	}
	if (jq) {
		snprintf(head, sizeof head, "[%ld,", s->seq);
		rv |= pb_coproc_send(&c->p, head, strlen(head));
	}
	rv |= pb_coproc_send(&c->p, text, len);
	rv |= pb_coproc_send(&c->p, jq ? "]\n" : "\n", jq ? 2 : 1);
	cJSON_free(own);
	if (!c->n)
		c->since = pb_clock();
	if (rv < 0 || owe(c, b->cap, s->seq) < 0)
		return -1;
	return 0;
}

/* Is the program's answer j for the record of slot s?  The protocol has
 * each answer carry the record's "pull" (null for a record without one),
 * so that an answer too many or too few is caught at once instead of
 * shifting every later reward onto the wrong record.  With --cmd-plain
 * only an answer that carries a pull is checked. */
static int
cmd_in_step(const struct pb_blend *b, const cJSON *j, const struct slot *s,
            char why[PB_ERRLEN])
{
	const cJSON *got = cJSON_IsObject(j) ?
	                   cJSON_GetObjectItemCaseSensitive(j, "pull") : NULL;
	const cJSON *want = cJSON_GetObjectItemCaseSensitive(s->rec, "pull");
	cJSON *null = NULL;
	char *g, *w;
	int same;

	if (!got) {
		if (b->o.cmd_plain)
			return 1;
		snprintf(why, PB_ERRLEN, "an answer without the record's pull "
		         "(the protocol wants {\"pull\":ID,\"reward\":X}; "
		         "--cmd-plain takes plain answers)");
		return 0;
	}
	if (!want && !(want = null = cJSON_CreateNull()))
		return 0;
	if ((same = cJSON_Compare(got, want, 1))) {
		cJSON_Delete(null);
		return 1;
	}
	g = cJSON_PrintUnformatted(got);
	w = cJSON_PrintUnformatted(want);
	snprintf(why, PB_ERRLEN, "an answer for pull %.40s where pull %.40s was "
	         "owed: the answers are out of step with the records",
	         g ? g : "?", w ? w : "?");
	cJSON_free(g);
	cJSON_free(w);
	cJSON_Delete(null);
	return 0;
}

/* The sequence number at the head of one of jq's answers. */
static int
jq_seq(const cJSON *j, double *n)
{
	const cJSON *x = cJSON_GetArrayItem(j, 0);

	if (!cJSON_IsArray(j) || !cJSON_IsNumber(x))
		return -1;
	*n = x->valuedouble;
	return 0;
}

/* One answer line from c for the record it owes first. */
static void
co_answer(struct pb_blend *b, struct co *c, const char *line, int jq)
{
	char raw[64], why[PB_ERRLEN];
	const cJSON *v;
	cJSON *j = cJSON_Parse(line);
	struct slot *s;
	double x;
	long seq;

	if (jq) {
		double n;

		/* The wrapper numbers each answer: one out of step means the
		 * program read input of its own (input, inputs) or halted. */
		if (jq_seq(j, &n) < 0 || !c->n || (long)n != c->owed[c->head]) {
			cJSON_Delete(j);
			co_dead(b, c, "jq's answers are out of step with the records "
			        "(does the program use input or inputs?)");
			return;
		}
	}
	if (!jq && (s = slot_of(b, c->owed[c->head])) && !cmd_in_step(b, j, s, why)) {
		cJSON_Delete(j);
		if (!j)
			snprintf(why, sizeof why, "an answer that is not JSON, so "
			         "carries no pull: '%.60s' (--cmd-plain takes plain "
			         "answers)", line);
		co_dead(b, c, "%s", why);
		return;
	}
	seq = owed_pop(c, b->cap);
	c->since = pb_clock();
	c->strikes = 0;
	if (!(s = slot_of(b, seq))) {
		cJSON_Delete(j);
		return;
	}
	if (!j) {
		snprintf(why, sizeof why, "answer is not JSON: '%.60s'", line);
		goto bad;
	}
	if (jq) {
		/* [SEQ, [VALUES...]] or, when the program failed, [SEQ, null, ERROR] */
		const cJSON *e = cJSON_GetArrayItem(j, 2);

		if (e) {
			char *t = cJSON_IsString(e) ? NULL : cJSON_PrintUnformatted(e);
			snprintf(why, sizeof why, "jq error: %s",
			         t ? t : e->valuestring);
			cJSON_free(t);
			goto bad;
		}
		v = cJSON_GetArrayItem(j, 1);
		if (cJSON_GetArraySize(v) != 1) {
			snprintf(why, sizeof why, cJSON_GetArraySize(v) ?
			         "the program gave %d values, not one" :
			         "the program gave no value", cJSON_GetArraySize(v));
			goto bad;
		}
		v = cJSON_GetArrayItem(v, 0);
	} else
		v = j;
	if (pb_reward_value(v, &b->o.scale, &x, raw, why) < 0)
		goto bad;
	graded(s, c->comp, x, raw);
	cJSON_Delete(j);
	return;
bad:
	cJSON_Delete(j);
	unscored(b, s, c->comp, why, 0);
	b->cnt.failed++;
}

/* Takes every complete answer from c; notices its end. */
static void
co_drain(struct pb_blend *b, struct co *c, int jq)
{
	char how[PB_ERRLEN];
	char *line;

	while (!c->dead && c->n && (line = pb_coproc_line(&c->p, NULL)))
		co_answer(b, c, line, jq);
	if (c->dead || !c->p.eof)
		return;
	if (pb_coproc_line(&c->p, NULL) && !c->n) {
		/* answers beyond the records: as wrong as answers missing,
		 * and (unchecked, --cmd-plain) a sign that rewards may have
		 * gone to the wrong records, so the run fails */
		co_dead(b, c, "%s gave more answers than records", c->label);
		b->cnt.failed++;
		return;
	}
	if (c->n || !b->finished) {
		pb_coproc_wait(&c->p, how);
		co_dead(b, c, "%s %s", c->label, how);
		return;
	}
	if (!c->reaped) {
		int st = pb_coproc_wait(&c->p, how);

		c->reaped = 1;
		if (st != 0) {
			warn(b, "%s: %s %s after answering", b->o.comp[c->comp].name,
			     c->label, how);
			b->cnt.failed++;
		}
	}
}

/* The first answer c owes is overdue: its record is unscored with the
 * reason, the program killed and started again, and the records it
 * still owed sent to the new one.  STRIKES timeouts in a row, no answer
 * between, end it for the run. */
static void
co_timeout(struct pb_blend *b, struct co *c)
{
	char why[PB_ERRLEN], err[PB_ERRLEN];
	struct slot *s;
	long *seqs = NULL, seq;
	size_t n, i;

	snprintf(why, sizeof why, "%s gave no answer in %g s (--cmd-timeout)",
	         c->label, b->o.cmd_timeout);
	if (++c->strikes >= STRIKES) {
		pb_coproc_kill(&c->p);
		co_dead(b, c, "%s gave no answer in %g s, %d times in a row",
		        c->label, b->o.cmd_timeout, c->strikes);
		return;
	}
	seq = owed_pop(c, b->cap);
	if ((s = slot_of(b, seq))) {
		unscored(b, s, c->comp, why, 0);
		b->cnt.failed++;
	}
	pb_coproc_kill(&c->p);
	if (pb_coproc_start(&c->p, c->argv, err) < 0) {
		co_dead(b, c, "%s could not be started again: %s", c->label, err);
		return;
	}
	n = c->n;
	if (n && !(seqs = malloc(n * sizeof *seqs))) {
		co_dead(b, c, "out of memory");
		return;
	}
	for (i = 0; i < n; i++)
		seqs[i] = owed_pop(c, b->cap);
	c->head = 0;
	for (i = 0; i < n; i++) {
		if (!(s = slot_of(b, seqs[i])) || co_send(b, c, s, NULL, 0, 0) == 0)
			continue;
		/* not sent, so not owed: settled here, the owed by co_dead */
		for (; i < n; i++)
			if ((s = slot_of(b, seqs[i]))) {
				unscored(b, s, c->comp, "out of memory", 1);
				b->cnt.failed++;
			}
		free(seqs);
		co_dead(b, c, "out of memory");
		return;
	}
	free(seqs);
	c->since = pb_clock();
}

/* Milliseconds until c's first answer owed is overdue (0: it is); -1
 * when nothing is owed or there is no limit. */
static int
co_left_ms(const struct pb_blend *b, const struct co *c, double now)
{
	double left;

	if (!c->on || c->dead || !c->n || !(b->o.cmd_timeout > 0))
		return -1;
	left = c->since + b->o.cmd_timeout - now;
	return left <= 0 ? 0 : left > 1e6 ? 1000000000 : (int)ceil(left * 1000);
}

static int
co_busy(const struct co *c, int finished)
{
	return c->on && !c->dead && !c->reaped &&
	       (c->n || c->p.olen > c->p.ooff || finished);
}

/* ------------------------------------------------------------ judge */

static int
judge_out(const cJSON *jrec, void *arg, char err[PB_ERRLEN])
{
	struct pb_blend *b = arg;
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(jrec, "error");
	const char *reply, *model;
	char why[PB_ERRLEN], verdict[64];
	struct slot *s;
	double n, x;
	struct res *r;

	(void)err;
	if (pb_json_num(jrec, "n", &n) < 0 || !(s = slot_of(b, (long)n)))
		return 0;
	r = &s->r[b->judge_comp];
	if (e && !cJSON_IsNull(e)) {
		char line[PB_ERRLEN];

		pb_llm_error_line(e, line);
		snprintf(why, sizeof why, "judge failed: %s", line);
		unscored(b, s, b->judge_comp, why, 1); /* the engine said so */
		b->cnt.failed++;
		return 0;
	}
	reply = pb_json_str(jrec, "response.text");
	model = pb_json_str(jrec, "response.model");
	if ((r->judge = cJSON_CreateObject())) {
		cJSON_AddItemToObject(r->judge, "model", model ? cJSON_CreateString(model) :
		                      cJSON_CreateNull());
		cJSON_AddItemToObject(r->judge, "reply", reply ? cJSON_CreateString(reply) :
		                      cJSON_CreateNull());
	}
	if (!reply || pb_judge_verdict(&b->o.judge_scale, reply, &x, verdict, why) < 0) {
		if (!reply)
			snprintf(why, sizeof why, "the judge gave no text");
		unscored(b, s, b->judge_comp, why, 0);
		b->cnt.failed++;
		return 0;
	}
	graded(s, b->judge_comp, x, verdict);
	return 0;
}

static void
judge_warn(const char *msg, void *arg)
{
	warn(arg, "judge: %s", msg);
}

static int
judge_send(struct pb_blend *b, struct slot *s, const char *text, char err[PB_ERRLEN])
{
	char why[PB_ERRLEN], *prompt;
	cJSON *j, *msgs, *m;

	if (!text) {
		snprintf(why, sizeof why, "no response text at %s", b->o.response);
		unscored(b, s, b->judge_comp, why, 0);
		b->cnt.failed++;
		return 0;
	}
	if (!(prompt = pb_judge_render(b->o.judge_tmpl, s->rec, b->o.reference, text, why))) {
		unscored(b, s, b->judge_comp, why, 0);
		b->cnt.failed++;
		return 0;
	}
	j = cJSON_CreateObject();
	msgs = cJSON_AddArrayToObject(j, "messages");
	m = cJSON_CreateObject();
	cJSON_AddItemToArray(msgs, m);
	cJSON_AddStringToObject(m, "role", "user");
	cJSON_AddStringToObject(m, "content", prompt);
	cJSON_AddNumberToObject(j, "n", (double)s->seq);
	free(prompt);
	if (!j || !msgs || !m)
		return fail(b, err, "out of memory");
	if (pb_query_add(b->judge, j, s->file, s->line, err) < 0)
		return fail(b, err, "judge: %s", err);
	return 0;
}

/* ------------------------------------------------------------ output */

static cJSON *
str_or_null(const char *s)
{
	return s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

/* Fills obj with one outcome's fields. */
static void
put_res(cJSON *obj, const struct res *r)
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
static int
finalize(struct pb_blend *b, struct slot *s)
{
	const struct pb_blend_opts *o = &b->o;
	struct res all = { 0 };
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
			const struct res *r = &s->r[i];

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

/* Hands back the finished records at the front of the window. */
static int
emit(struct pb_blend *b, char err[PB_ERRLEN])
{
	struct slot *s;
	size_t i;
	int rv;

	while (b->n && !(s = &b->ring[b->head])->pending) {
		if (!s->direct && finalize(b, s) < 0)
			return fail(b, err, "out of memory");
		rv = b->o.out(s->rec, b->o.arg, err);
		s->rec = NULL;
		for (i = 0; i < b->o.ncomp; i++)
			res_clear(&s->r[i]);
		free(s->failed);
		s->failed = NULL;
		b->head = (b->head + 1) % b->cap;
		if (--b->n <= b->cap / 2)
			b->full = 0;
		b->cnt.done++;
		if (rv < 0)
			return fail(b, err, "%s", err);
	}
	return 0;
}

/* ------------------------------------------------------------ the API */

static int
start_co(struct co *c, int comp, char *const argv[], const char *label,
         char err[PB_ERRLEN])
{
	c->comp = comp;
	c->label = label;
	if (pb_coproc_start(&c->p, argv, err) < 0)
		return -1;
	c->on = 1;
	return 0;
}

/* Asks jq for the answer to [0,null], which the wrapper gives without
 * running the user's program: no answer means jq could not compile it. */
static int
jq_hello(struct pb_blend *b, char err[PB_ERRLEN])
{
	struct pb_coproc *p = &b->jq.p;
	char how[PB_ERRLEN], *line;
	cJSON *j;
	double n;

	if (pb_coproc_send(p, "[0,null]\n", 9) < 0)
		return fail(b, err, "out of memory");
	while (!(line = pb_coproc_line(p, NULL)) && !p->eof)
		if (pb_coproc_pump(&p, 1, -1, err) < 0)
			return -1;
	if (!line) {
		pb_coproc_wait(p, how);
		snprintf(err, PB_ERRLEN, "jq %s before answering: the program "
		         "does not compile?", how);
		return -1;
	}
	j = cJSON_Parse(line);
	if (jq_seq(j, &n) < 0 || n != 0) {
		cJSON_Delete(j);
		snprintf(err, PB_ERRLEN, "jq's first answer is not the wrapper's: %.60s",
		         line);
		return -1;
	}
	cJSON_Delete(j);
	return 0;
}

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
		case PB_COMP_JQ: {
			/* Arrays, not objects, in the answers: building an
			 * object per record costs jq a fifth of its time. */
			const char *pre = "if .[0] == 0 then [0] else .[0] as $pb_n | "
			                  ".[1] | try [$pb_n, [\n";
			const char *post = "\n]] catch [$pb_n, null, .] end";
			char *prog, *argv[5];

			if (!(prog = malloc(strlen(pre) + strlen(o->jq_prog) + strlen(post) + 1)))
				goto oom;
			strcpy(prog, pre);
			strcat(prog, o->jq_prog);
			strcat(prog, post);
			argv[0] = (char *)(o->jq_path ? o->jq_path : "jq");
			argv[1] = "-c";
			argv[2] = "--unbuffered";
			argv[3] = prog;
			argv[4] = NULL;
			if (start_co(&b->jq, (int)i, argv, "jq", err) < 0) {
				free(prog);
				goto bad;
			}
			free(prog);
			b->cnt.jq_started = 1;
			if (jq_hello(b, err) < 0)
				goto bad;
			break;
		}
		case PB_COMP_CMD:
			if (start_co(&b->cmd, (int)i, o->cmd, o->cmd[0], err) < 0)
				goto bad;
			b->cmd.argv = o->cmd;
			b->cnt.cmd_started = 1;
			break;
		case PB_COMP_JUDGE: {
			struct pb_query_opts qo = o->judge;

			b->judge_comp = (int)i;
			qo.ordered = 1;
			qo.dry_run = 0;
			qo.out = judge_out;
			qo.warn = judge_warn;
			qo.arg = b;
			if (!(b->judge = pb_query_new(&qo, err)))
				goto bad;
			break;
		}
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
			res_clear(&b->ring[i].r[k]);
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
	       (!co_busy(&b->jq, 1) && !co_busy(&b->cmd, 1))));
}

int
pb_blend_add(struct pb_blend *b, cJSON *rec, const char *file, long line,
             const char *text, size_t len, char err[PB_ERRLEN])
{
	const struct pb_blend_opts *o = &b->o;
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(rec, "error");
	const char *resp;
	struct slot *s;
	size_t i;

	if (b->broken || b->n == b->cap) {
		cJSON_Delete(rec);
		/* a broken engine's fail() gives why it broke instead */
		return fail(b, err, "pb_blend_add without room");
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
	/* One built-in scorer alone: exactly what pb-score always wrote. */
	if (o->ncomp == 1 && o->comp[0].kind == PB_COMP_BUILTIN && !o->blend) {
		const char *st;
		int rc = pb_score_record(o->comp[0].sc, rec, err);

		if (rc < 0) {
			if (!strcmp(err, "out of memory"))
				return fail(b, err, "out of memory");
			warn(b, "%s:%ld: %s", file, line, err);
			b->cnt.failed++;
		}
		st = pb_json_str(rec, "score.status");
		for (i = 0; st && i < 5; i++)
			if (!strcmp(st, pb_score_status_name((enum pb_score_status)i)))
				b->cnt.status[i]++;
		s->direct = 1;
		return emit(b, err);
	}
	if (e && !cJSON_IsNull(e)) {
		/* Failed queries are data: unscored, never rewarded, not
		 * sent to any program or judge. */
		if (!(s->failed = pb_score_query_failed(e)))
			return fail(b, err, "out of memory");
		for (i = 0; i < o->ncomp; i++) {
			s->r[i].done = 1;
			s->r[i].status = PB_SCORE_UNSCORED;
		}
		if (o->ncomp == 1)
			s->r[0].reference = ref_text(b, rec);
		return emit(b, err);
	}
	resp = pb_json_str(rec, o->response);
	for (i = 0; i < o->ncomp; i++) {
		const struct pb_component *c = &o->comp[i];
		struct res *r = &s->r[i];
		char why[PB_ERRLEN];

		s->pending++;
		switch (c->kind) {
		case PB_COMP_BUILTIN: {
			struct pb_score_result sr;

			/* the scorer's own paths, which its messages name */
			if (pb_score_text(c->sc, pb_json_str(rec, c->sc->response),
			                  pb_json_path(rec, c->sc->reference), &sr, why) < 0) {
				r->reference = sr.reference;
				free(sr.extracted);
				unscored(b, s, (int)i, why, 0);
				b->cnt.failed++;
				break;
			}
			r->status = sr.status;
			r->reward = sr.reward;
			r->extracted = sr.extracted;
			r->reference = sr.reference;
			r->done = 1;
			s->pending--;
			break;
		}
		case PB_COMP_JQ:
		case PB_COMP_CMD: {
			struct co *co = c->kind == PB_COMP_JQ ? &b->jq : &b->cmd;

			r->reference = ref_text(b, rec);
			if (co->dead) {
				unscored(b, s, (int)i, co->why, 1);
				b->cnt.failed++;
			} else if (co_send(b, co, s, text, len, c->kind == PB_COMP_JQ) < 0)
				return fail(b, err, "out of memory");
			break;
		}
		case PB_COMP_JUDGE:
			r->reference = ref_text(b, rec);
			if (judge_send(b, s, resp, err) < 0)
				return -1;
			break;
		}
	}
	if ((b->jq.on && b->jq.p.olen - b->jq.p.ooff >= FLUSH_AT) ||
	    (b->cmd.on && b->cmd.p.olen - b->cmd.p.ooff >= FLUSH_AT))
		return pb_blend_step(b, 0, err);
	return emit(b, err);
}

int
pb_blend_step(struct pb_blend *b, int timeout_ms, char err[PB_ERRLEN])
{
	struct pb_coproc *cp[2];
	struct co *cs[2];
	size_t n = 0, i;
	int moved = 0;

	if (b->broken)
		return fail(b, err, "%s", b->broke);
	if (co_busy(&b->jq, b->finished))
		cs[n] = &b->jq, cp[n++] = &b->jq.p;
	if (co_busy(&b->cmd, b->finished))
		cs[n] = &b->cmd, cp[n++] = &b->cmd.p;
	if (b->finished)
		for (i = 0; i < n; i++)
			if (!cp[i]->shut)
				pb_coproc_finish(cp[i]);
	if (n) {
		int t = b->judge && !pb_query_idle(b->judge) ?
		        (timeout_ms < 0 || timeout_ms > 10 ? 10 : timeout_ms) : timeout_ms;
		int left = co_left_ms(b, &b->cmd, pb_clock());

		if (left >= 0 && (t < 0 || t > left))
			t = left;
		if ((moved = pb_coproc_pump(cp, n, t, err)) < 0)
			return fail(b, err, "%s", err);
		for (i = 0; i < n; i++)
			co_drain(b, cs[i], cs[i] == &b->jq);
		if (co_left_ms(b, &b->cmd, pb_clock()) == 0)
			co_timeout(b, &b->cmd);
	}
	if (b->judge && !pb_query_idle(b->judge)) {
		double next, now = pb_clock();
		int ms = moved || n ? 0 : timeout_ms < 0 ? 1000 : timeout_ms;

		if (pb_query_send(b->judge, now, &next, err) < 0)
			return fail(b, err, "judge: %s", err);
		if (ms > 0 && next - now < ms / 1000.0)
			ms = next <= now ? 0 : (int)ceil((next - now) * 1000);
		if (pb_query_poll(b->judge, ms, err) < 0)
			return fail(b, err, "judge: %s", err);
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
