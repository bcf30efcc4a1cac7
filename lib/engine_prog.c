/* engine_prog.c - the program components of pb-score's engine: a jq
 * program and an external program (--cmd), each one coprocess for the
 * whole run, fed one record per line and read one answer per line.  The
 * protocol's checks that answers keep step with the records, the
 * program's end, and --cmd-timeout's restarts are here.
 */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "score.h"
#include "internal.h"

#define STRIKES 3 /* timeouts in a row that end a program for the run */

static int
owe(struct pb__co *c, size_t cap, long seq)
{
	if (!c->owed && !(c->owed = malloc(cap * sizeof *c->owed)))
		return -1;
	c->owed[(c->head + c->n++) % cap] = seq;
	return 0;
}

static long
owed_pop(struct pb__co *c, size_t cap)
{
	long seq = c->owed[c->head];

	c->head = (c->head + 1) % cap;
	c->n--;
	return seq;
}

/* The coprocess has gone (or lost step): every record it owes, and every
 * one after, is unscored with the reason. */
static void
co_dead(struct pb_blend *b, struct pb__co *c, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
co_dead(struct pb_blend *b, struct pb__co *c, const char *fmt, ...)
{
	va_list ap;
	long owed = (long)c->n;

	if (c->dead)
		return;
	va_start(ap, fmt);
	vsnprintf(c->why, sizeof c->why, fmt, ap);
	va_end(ap);
	c->dead = 1;
	pb__blend_warn(b, "%s: %s; %ld record%s it owed, and any after, left unscored",
	     b->o.comp[c->comp].name, c->why, owed, owed == 1 ? "" : "s");
	while (c->n) {
		struct pb__slot *s = pb__blend_slot(b, owed_pop(c, b->cap));

		if (s) {
			pb__blend_unscored(b, s, c->comp, c->why, 1);
			b->cnt.failed++;
		}
	}
	pb_coproc_free(&c->p);
	c->reaped = 1;
}

/* Sends rec (text as read, or printed) to c, framed as the protocol
 * wants: jq gets [SEQ,REC], a program the record alone. */
int
pb__prog_send(struct pb_blend *b, struct pb__co *c, struct pb__slot *s,
              const char *text, size_t len, int jq)
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
cmd_in_step(const struct pb_blend *b, const cJSON *j,
            const struct pb__slot *s, char why[PB_ERRLEN])
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
co_answer(struct pb_blend *b, struct pb__co *c, const char *line, int jq)
{
	char raw[64], why[PB_ERRLEN];
	const cJSON *v;
	cJSON *j = cJSON_Parse(line);
	struct pb__slot *s;
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
	if (!jq && (s = pb__blend_slot(b, c->owed[c->head])) && !cmd_in_step(b, j, s, why)) {
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
	if (!(s = pb__blend_slot(b, seq))) {
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
	pb__blend_graded(s, c->comp, x, raw);
	cJSON_Delete(j);
	return;
bad:
	cJSON_Delete(j);
	pb__blend_unscored(b, s, c->comp, why, 0);
	b->cnt.failed++;
}

/* Takes every complete answer from c; notices its end. */
void
pb__prog_drain(struct pb_blend *b, struct pb__co *c, int jq)
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
			pb__blend_warn(b, "%s: %s %s after answering", b->o.comp[c->comp].name,
			     c->label, how);
			b->cnt.failed++;
		}
	}
}

/* The first answer c owes is overdue: its record is unscored with the
 * reason, the program killed and started again, and the records it
 * still owed sent to the new one.  STRIKES timeouts in a row, no answer
 * between, end it for the run. */
void
pb__prog_timeout(struct pb_blend *b, struct pb__co *c)
{
	char why[PB_ERRLEN], err[PB_ERRLEN];
	struct pb__slot *s;
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
	if ((s = pb__blend_slot(b, seq))) {
		pb__blend_unscored(b, s, c->comp, why, 0);
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
		if (!(s = pb__blend_slot(b, seqs[i])) || pb__prog_send(b, c, s, NULL, 0, 0) == 0)
			continue;
		/* not sent, so not owed: settled here, the owed by co_dead */
		for (; i < n; i++)
			if ((s = pb__blend_slot(b, seqs[i]))) {
				pb__blend_unscored(b, s, c->comp, "out of memory", 1);
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
int
pb__prog_left_ms(const struct pb_blend *b, const struct pb__co *c, double now)
{
	double left;

	if (!c->on || c->dead || !c->n || !(b->o.cmd_timeout > 0))
		return -1;
	left = c->since + b->o.cmd_timeout - now;
	return left <= 0 ? 0 : left > 1e6 ? 1000000000 : (int)ceil(left * 1000);
}

int
pb__prog_busy(const struct pb__co *c, int finished)
{
	return c->on && !c->dead && !c->reaped &&
	       (c->n || c->p.olen > c->p.ooff || finished);
}

static int
start_co(struct pb__co *c, int comp, char *const argv[], const char *label,
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
		return pb__blend_fail(b, err, "out of memory");
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

int
pb__prog_start_jq(struct pb_blend *b, int comp, char err[PB_ERRLEN])
{
	/* Arrays, not objects, in the answers: building an object per
	 * record costs jq a fifth of its time. */
	const char *pre = "if .[0] == 0 then [0] else .[0] as $pb_n | "
	                  ".[1] | try [$pb_n, [\n";
	const char *post = "\n]] catch [$pb_n, null, .] end";
	const struct pb_blend_opts *o = &b->o;
	char *prog, *argv[5];

	if (!(prog = malloc(strlen(pre) + strlen(o->jq_prog) + strlen(post) + 1))) {
		snprintf(err, PB_ERRLEN, "out of memory");
		return -1;
	}
	strcpy(prog, pre);
	strcat(prog, o->jq_prog);
	strcat(prog, post);
	argv[0] = (char *)(o->jq_path ? o->jq_path : "jq");
	argv[1] = "-c";
	argv[2] = "--unbuffered";
	argv[3] = prog;
	argv[4] = NULL;
	if (start_co(&b->jq, comp, argv, "jq", err) < 0) {
		free(prog);
		return -1;
	}
	free(prog);
	b->cnt.jq_started = 1;
	return jq_hello(b, err);
}

int
pb__prog_start_cmd(struct pb_blend *b, int comp, char err[PB_ERRLEN])
{
	if (start_co(&b->cmd, comp, b->o.cmd, b->o.cmd[0], err) < 0)
		return -1;
	b->cmd.argv = b->o.cmd;
	b->cnt.cmd_started = 1;
	return 0;
}
