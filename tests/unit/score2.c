/* score2.c - unit tests for lib/judge.c (reward values, verdicts, the
 * judge's template), lib/coproc.c and the engine in lib/blend.c. */
#include <stdlib.h>
#include <unistd.h>

#include "tap.h"
#include "../../lib/pb.h"
#include "../../lib/internal.h" /* the coprocesses */

static void
value(const char *json, const struct pb_reward_scale *s, double want,
      const char *want_raw_or_why)
{
	cJSON *v = parse(json);
	char raw[64] = "", why[PB_ERRLEN] = "";
	double x = -1;
	int rc = pb_reward_value(v, s, &x, raw, why);

	if (want < 0)
		ok(rc < 0 && !strcmp(why, want_raw_or_why), "value %s refused: %s", json, why);
	else
		ok(rc == 0 && x == want && !strcmp(raw, want_raw_or_why),
		   "value %s is %g '%s' (got %d %g '%s' %s)", json, want,
		   want_raw_or_why, rc, x, raw, why);
	cJSON_Delete(v);
}

static void
verdict(int scale, const char *reply, double want, const char *want_v)
{
	struct pb_judge_scale s = { scale };
	char v[64] = "", why[PB_ERRLEN] = "";
	double x = -1;
	int rc = pb_judge_verdict(&s, reply, &x, v, why);

	if (want < 0)
		ok(rc < 0 && strstr(why, want_v), "verdict /%d '%.30s' refused: %s",
		   scale, reply, why);
	else
		ok(rc == 0 && fabs(x - want) < 1e-12 && !strcmp(v, want_v),
		   "verdict /%d '%.30s' is %g %s (got %d %g %s %s)", scale, reply,
		   want, want_v, rc, x, v, why);
}

struct sink {
	char buf[4096];
	int n;
};

static int
collect(cJSON *rec, void *arg, char err[PB_ERRLEN])
{
	struct sink *k = arg;
	char *s = cJSON_PrintUnformatted(cJSON_GetObjectItem(rec, "reward"));

	(void)err;
	snprintf(k->buf + strlen(k->buf), sizeof k->buf - strlen(k->buf), "%s ", s);
	cJSON_free(s);
	k->n++;
	cJSON_Delete(rec);
	return 0;
}

/* The judge's verdict read out of 4 MB of each pattern that could make
 * it scan again and again: it must finish (the alarm is generous, for
 * work of a fraction of a second). */
static void
verdict_linear(void)
{
	static const char *const unit[] = { "Score: 7/10 ", "7/", "Score: ", "PASS ",
	                                    "/10 ", "Score: x ", "1" };
	struct pb_judge_scale ten = { 10 }, pf = { 0 };
	size_t n = (size_t)4 << 20, i, k, u;
	char v[64], why[PB_ERRLEN], *t;
	double x;

	alarm(600);
	for (i = 0; i < sizeof unit / sizeof *unit; i++) {
		u = strlen(unit[i]);
		if (!(t = malloc(n + 1)))
			exit(2);
		for (k = 0; k + u <= n; k += u)
			memcpy(t + k, unit[i], u);
		t[k] = '\0';
		pb_judge_verdict(&ten, t, &x, v, why);
		pb_judge_verdict(&pf, t, &x, v, why);
		ok(1, "verdict: 4 MB of '%s' read", unit[i]);
		free(t);
	}
	alarm(0);
}

int
main(void)
{
	struct pb_reward_scale none = { 0 }, ten = { 1, 0, 10 };
	struct pb_judge_scale js;
	char err[PB_ERRLEN], *s, *line;
	cJSON *rec;

	/* --- reward values */
	value("0.5", &none, 0.5, "0.5");
	value("1", &none, 1, "1");
	value("true", &none, 1, "true");
	value("false", &ten, 0, "false");
	value("7", &ten, 0.7, "7");
	value("{\"reward\":0.25}", &none, 0.25, "0.25");
	value("{\"reward\":null,\"reason\":\"no idea\"}", &none, -1, "no idea");
	value("{\"score\":1}", &none, -1, "an object without \"reward\"");
	value("null", &none, -1, "null: no reward for this record");
	value("\"0.5\"", &none, -1, "not a number or boolean: \"0.5\"");
	value("[1]", &none, -1, "not a number or boolean: [1]");
	value("1.5", &none, -1, "1.5 is outside [0,1] (give --scale LO:HI for another range)");
	value("-1", &none, -1, "-1 is outside [0,1] (give --scale LO:HI for another range)");
	value("11", &ten, -1, "11 is outside the scale 0:10");
	ok(pb_reward_scale_parse(&ten, "1:5", err) == 0 && ten.lo == 1 && ten.hi == 5,
	   "scale 1:5");
	ok(pb_reward_scale_parse(&ten, "5:1", err) < 0, "scale 5:1 refused");
	ok(pb_reward_scale_parse(&ten, "x", err) < 0, "scale x refused");
	ok(pb_reward_scale_parse(&ten, "0:", err) < 0, "scale 0: refused");

	/* --- verdicts */
	verdict(10, "Good. Score: 7/10", 0.7, "7/10");
	verdict(10, "**Score:** 8", 0.8, "8/10");
	verdict(10, "I'd give it 9/10.", 0.9, "9/10");
	verdict(10, "Score: 3/10 at first, but on reflection Score: 6/10", 0.6, "6/10");
	verdict(10, "Rating: 10 out of 10", 1, "10/10");
	verdict(10, "Score: 7.5/10", 0.75, "7.5/10");
	verdict(10, "Score: 12/10", -1, "outside 0-10");
	verdict(10, "Score: 4/5", -1, "out of 5, not 10");
	verdict(10, "Looks fine to me.", -1, "no score");
	verdict(5, "Score: 4", 0.8, "4/5");
	verdict(0, "Verdict: PASS", 1, "PASS");
	verdict(0, "It would fail at first... Final verdict: pass", 1, "PASS");
	verdict(0, "FAIL. The number is wrong.", 0, "FAIL");
	verdict(0, "It passes muster", -1, "no PASS or FAIL");
	ok(pb_judge_scale_parse(&js, "pass-fail", err) == 0 && js.scale == 0, "scale pass-fail");
	ok(pb_judge_scale_parse(&js, "100", err) == 0 && js.scale == 100, "scale 100");
	ok(pb_judge_scale_parse(&js, "0", err) < 0, "scale 0 refused");
	ok(pb_judge_scale_parse(&js, "ten", err) < 0, "scale ten refused");

	/* --- templates */
	ok(pb_judge_check("{task} {reference} {response} {prompt} {{x}}", err) == 0,
	   "template: all placeholders");
	ok(pb_judge_check("{answer}", err) < 0 && strstr(err, "unknown placeholder {answer}"),
	   "template: unknown placeholder: %s", err);
	ok(pb_judge_check("{task", err) < 0 && strstr(err, "without"), "template: open brace");
	/* one rule with pb-sample's templates: a lone '}' is an error there
	 * and here, "}}" a literal brace in both */
	ok(pb_judge_check("Rate {response} }", err) < 0 &&
	   !strcmp(err, "template: unmatched '}'"), "template: lone '}': %s", err);
	ok(pb_judge_check("}", err) < 0, "template: lone '}' alone");
	ok(pb_judge_check("a}}b {response}", err) == 0, "template: '}}' literal");
	rec = parse("{\"task\":{\"input\":\"Q?\",\"answer\":7},\"messages\":["
	            "{\"role\":\"system\",\"content\":\"Be a pirate.\"},"
	            "{\"role\":\"user\",\"content\":\"Q?\"}]}");
	s = pb_judge_render("T={task} R={reference} A={response} {{P}}={prompt}", rec,
	                    "task.answer", "Arr, 7!", err);
	is_str(s, "T=Q? R=7 A=Arr, 7! {P}=Be a pirate.\n\nQ?", "template: rendered");
	free(s);
	s = pb_judge_render("{reference}", rec, "task.nothing", "x", err);
	ok(!s && strstr(err, "no reference"), "template: a missing value is an error: %s", err);
	cJSON_Delete(rec);
	rec = parse("{\"messages\":[{\"role\":\"user\",\"content\":\"first\"},"
	            "{\"role\":\"assistant\",\"content\":\"x\"},"
	            "{\"role\":\"user\",\"content\":\"last\"}]}");
	s = pb_judge_render("{task}", rec, "task.answer", "x", err);
	is_str(s, "last", "template: {task} falls back to the last user message");
	free(s);
	cJSON_Delete(rec);

	/* --- a coprocess */
	{
		struct pb_coproc c, *cp = &c;
		char *argv[] = { "cat", NULL }, *bad[] = { "/no/such/program", NULL };
		char how[PB_ERRLEN];
		int i, got = 0, sum = 0;

		ok(pb_coproc_start(&c, bad, err) < 0 && strstr(err, "No such file"),
		   "coproc: exec failure known at once: %s", err);
		ok(pb_coproc_start(&c, argv, err) == 0, "coproc: cat started");
		/* Far more than a socket buffer, queued before any read: the
		 * pump moves both ways, so this cannot deadlock. */
		for (i = 0; i < 100000; i++) {
			char b[32];
			snprintf(b, sizeof b, "%d\n", i % 10);
			pb_coproc_send(&c, b, strlen(b));
		}
		pb_coproc_finish(&c);
		for (;;) {
			while ((line = pb_coproc_line(&c, NULL))) {
				got++;
				sum += atoi(line);
			}
			if (c.eof || pb_coproc_pump(&cp, 1, -1, err) < 0)
				break;
		}
		ok(got == 100000 && sum == 450000, "coproc: 100000 lines back (%d, %d)",
		   got, sum);
		ok(pb_coproc_wait(&c, how) == 0 && !strcmp(how, "exited with status 0"),
		   "coproc: %s", how);
		pb_coproc_free(&c);
	}

	/* --- the engine, with a program and a built-in scorer */
	{
		struct pb_scorer sc;
		struct pb_component comp[2];
		struct pb_blend_opts o = { 0 };
		struct pb_blend *b;
		struct pb_blend_counts cnt;
		struct sink k = { "", 0 };
		char *argv[] = { "sh", "-c", "while read -r l; do echo 0.5; done", NULL };
		int i;

		pb_scorer_init(&sc, "number", err);
		comp[0] = (struct pb_component){ PB_COMP_BUILTIN, "number", 3, &sc };
		comp[1] = (struct pb_component){ PB_COMP_CMD, "cmd", 1, NULL };
		o.comp = comp;
		o.ncomp = 2;
		o.blend = 1;
		o.reference = "task.answer";
		o.response = "response.text";
		o.cmd = argv;
		o.cmd_plain = 1; /* plain answers: the 0.1 protocol */
		o.window = 2; /* smaller than the input: the window must turn */
		o.out = collect;
		o.arg = &k;
		ok((b = pb_blend_new(&o, err)) != NULL, "blend: started");
		for (i = 0; b && i < 5; i++) {
			char json[160];

			snprintf(json, sizeof json, "{\"pull\":%d,\"task\":{\"answer\":\"1\"},"
			         "\"response\":{\"text\":\"%d\"}%s}", i, i % 2,
			         i == 3 ? ",\"error\":\"boom\"" : "");
			while (!pb_blend_room(b))
				pb_blend_step(b, -1, err);
			pb_blend_add(b, parse(json), "test", i + 1, NULL, 0, err);
		}
		pb_blend_finish(b);
		while (b && !pb_blend_idle(b))
			if (pb_blend_step(b, -1, err) < 0)
				break;
		pb_blend_counts(b, &cnt);
		is_str(k.buf, "0.125 0.875 0.125 null 0.125 ", "blend: rewards in order");
		ok(cnt.done == 5 && cnt.failed == 0 && cnt.cmd_started == 1,
		   "blend: counts (%ld done, %ld failed)", cnt.done, cnt.failed);
		pb_blend_free(b);
		pb_scorer_free(&sc);
	}
	verdict_linear();
	return tap_done();
}
