/* query.c - unit tests of lib/query.c, the pb-query engine, without a
 * server: dry runs, bad records, the order records come back in, and a
 * try that cannot connect (to a closed port on 127.0.0.1). */
#include <math.h>
#include <stdlib.h>
#include <time.h>

#include "tap.h"
#include "../../lib/pb.h"

/* What came back: the records as JSON text, and the messages. */
struct seen {
	char *out[8], *msg[8];
	int nout, nmsg;
};

static int
out(const cJSON *rec, void *arg, char err[PB_ERRLEN])
{
	struct seen *s = arg;

	(void)err;
	if (s->nout < 8)
		s->out[s->nout++] = cJSON_PrintUnformatted(rec);
	return 0;
}

static void
warn(const char *msg, void *arg)
{
	struct seen *s = arg;

	if (s->nmsg < 8)
		s->msg[s->nmsg++] = strdup(msg);
}

static void
seen_free(struct seen *s)
{
	int i;

	for (i = 0; i < s->nout; i++)
		free(s->out[i]);
	for (i = 0; i < s->nmsg; i++)
		free(s->msg[i]);
	memset(s, 0, sizeof *s);
}

static void
opts(struct pb_query_opts *o, struct seen *s, const char *url)
{
	memset(o, 0, sizeof *o);
	o->http.parallel = 1;
	o->http.connect_timeout_ms = 5000;
	o->par.model = "m";
	o->url = url;
	o->retry.retries = 0;
	o->retry.base_s = PB_RETRY_BASE;
	o->retry.cap_s = PB_RETRY_CAP;
	o->retry.max_wait_s = 120;
	o->ordered = 1;
	o->out = out;
	o->warn = warn;
	o->arg = s;
}

static void
test_dry_run(void)
{
	struct pb_query_opts o;
	struct pb_query_counts c;
	struct seen s = { 0 };
	struct pb_query *q;
	char err[PB_ERRLEN];

	opts(&o, &s, "http://127.0.0.1:1/v1/chat/completions");
	o.dry_run = 1;
	if (!(q = pb_query_new(&o, err))) {
		ok(0, "new: %s", err);
		return;
	}
	ok(pb_query_room(q) == 4 && pb_query_idle(q), "a window of 4 x jobs, empty");
	ok(pb_query_add(q, cJSON_Parse("{\"pull\":1,\"messages\":[{\"role\":\"user\","
	               "\"content\":\"hi\"}],\"response\":{}}"), "in", 1, err) == 0, "add 1");
	ok(pb_query_add(q, cJSON_Parse("{\"pull\":2}"), "in", 2, err) == 0, "add 2");
	ok(pb_query_add(q, cJSON_Parse("{\"x\":1}"), "in", 3, err) == 0, "add 3");
	ok(pb_query_idle(q), "dry runs and bad records are handed back at once");
	ok(s.nout == 3, "three records back");
	is_str(s.out[0], "{\"pull\":1,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
	       "\"request\":{\"url\":\"http://127.0.0.1:1/v1/chat/completions\",\"body\":"
	       "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
	       "\"temperature\":0},\"est_prompt_tokens\":1}}",
	       "the old response goes, the request comes");
	is_str(s.out[1], "{\"pull\":2,\"error\":{\"kind\":\"input\",\"status\":0,"
	       "\"type\":null,\"message\":\"no messages\"}}", "a bad record gets its error");
	ok(s.nmsg == 2, "one message per bad record");
	is_str(s.msg[0], "in:2: pull 2: no messages", "with its pull");
	is_str(s.msg[1], "in:3: no messages", "or without");
	pb_query_counts(q, &c);
	ok(c.done == 3 && c.failed == 2 && c.requests == 0 && c.in_flight == 0,
	   "counts: done %ld failed %ld requests %ld", c.done, c.failed, c.requests);
	pb_query_free(q);
	seen_free(&s);
}

/* Nothing listens on port 1: a connect error, after one try, with the
 * secret (here the address, which curl's message carries) redacted. */
static void
test_connect(void)
{
	struct pb_query_opts o;
	struct pb_query_counts c;
	struct seen s = { 0 };
	struct pb_query *q;
	char err[PB_ERRLEN];
	cJSON *rec;
	double next;
	int i;

	opts(&o, &s, "http://127.0.0.1:1/v1/chat/completions");
	o.secret = "127.0.0.1";
	if (!(q = pb_query_new(&o, err))) {
		ok(0, "new: %s", err);
		return;
	}
	for (i = 1; i <= 2; i++) {
		char text[128];
		snprintf(text, sizeof text, "{\"pull\":%d,\"messages\":[{\"role\":\"user\","
		         "\"content\":\"q%d\"}]}", i, i);
		ok(pb_query_add(q, cJSON_Parse(text), "in", i, err) == 0, "add %d", i);
	}
	for (i = 0; i < 100 && !pb_query_idle(q); i++) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		if (pb_query_send(q, (double)ts.tv_sec + ts.tv_nsec / 1e9, &next, err) < 0 ||
		    pb_query_poll(q, 100, err) < 0)
			break;
	}
	ok(pb_query_idle(q), "both records came back");
	ok(s.nout == 2, "two records");
	rec = s.nout ? cJSON_Parse(s.out[0]) : NULL;
	is_str(pb_json_str(rec, "error.kind"), "connect", "a connect error");
	ok(!strstr(s.out[0] ? s.out[0] : "127.0.0.1", "127.0.0.1") &&
	   strstr(s.out[0], "[redacted]"), "the secret is redacted: %s", s.out[0]);
	cJSON_Delete(rec);
	ok(s.nmsg == 2 && !strncmp(s.msg[0], "pull 1: connect: ", 17) &&
	   !strncmp(s.msg[1], "pull 2: connect: ", 17), "a message per pull");
	pb_query_counts(q, &c);
	ok(c.done == 2 && c.failed == 2 && c.requests == 2 && c.retries == 0,
	   "counts: done %ld failed %ld requests %ld", c.done, c.failed, c.requests);
	pb_query_free(q);
	seen_free(&s);
}

int
main(void)
{
	test_dry_run();
	test_connect();
	return tap_done();
}
