/* sim.c - unit tests for sim/: loading, recognising tasks, skills,
 * determinism, the rate of right answers, wrong answers, HTTP replies. */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "tap.h"
#include "../../lib/pb.h"
#include "../../sim/sim.h"

static int
load(struct pb_sim *s, const char *tasks, const char *world, char *err)
{
	FILE *fp;
	int rv;

	err[0] = '\0';
	if (pb_sim_init(s, 7, err))
		return -1;
	fp = fmemopen((void *)tasks, strlen(tasks), "r");
	rv = pb_sim_load_tasks(s, fp, "t.jsonl", err);
	fclose(fp);
	if (!rv && world) {
		fp = fmemopen((void *)world, strlen(world), "r");
		rv = pb_sim_load_world(s, fp, "w.jsonl", err);
		fclose(fp);
	}
	return rv;
}

/* Loads tasks that must fail; returns the message. */
static const char *
load_err(const char *tasks, const char *world)
{
	static char err[PB_ERRLEN];
	struct pb_sim s;

	err[0] = '\0';
	if (!load(&s, tasks, world, err))
		snprintf(err, sizeof err, "(loaded)");
	pb_sim_free(&s);
	return err;
}

static long
match(const struct pb_sim *s, const char *text)
{
	return pb_sim_match(s, text, NULL);
}

/* The final number of a reply, read the simple way: after "####", else
 * the last number in the text. */
static double
final_number(const char *t)
{
	const char *p = strstr(t, "####"), *last = NULL;
	double v = NAN;

	if (p)
		return strtod(p + 4, NULL);
	for (p = t; *p; p++)
		if ((*p >= '0' && *p <= '9') && (p == t || !(p[-1] >= '0' && p[-1] <= '9') ))
			if (p == t || p[-1] != '.')
				last = p > t && p[-1] == '-' ? p - 1 : p;
	if (last)
		v = strtod(last, NULL);
	return v;
}

static const char TASKS[] =
    "{\"id\":\"a\",\"input\":\"What is 2 + 3?\",\"answer\":\"5\"}\n"
    "{\"id\":\"b\",\"question\":\"  What is 2 + 3? Explain.  \",\"answer\":\"Two and three.\\n#### 5\",\"difficulty\":1}\n"
    "\n"
    "{\"id\":\"c\",\"input\":\"Is the sky green?\",\"answer\":\"false\"}\n"
    "{\"id\":\"d\",\"input\":\"Pick one.\\n\\n(A) x\\n(B) y\",\"answer\":\"(B)\"}\n"
    "{\"id\":7,\"input\":\"Capital of France?\",\"answer\":\"Paris\"}\n"
    "{\"id\":\"f\",\"input\":\"Capital of Italy?\",\"answer\":\"Rome\"}\n"
    "{\"id\":\"g\",\"input\":\"Half of 1.5?\",\"answer\":0.75}\n"
    "{\"id\":\"h\",\"input\":\"Is it raining?\",\"answer\":\"Yes\"}\n";

static const char WORLD[] =
    "{\"match\":\"Alan Turing\",\"skill\":1.5}\n"
    "{\"match\":\"pirate\",\"skill\":-1}\n"
    "{\"match\":\"Turing\",\"skill\":0.2}\n";

static void
test_load(void)
{
	struct pb_sim s;
	char err[PB_ERRLEN];

	ok(!load(&s, TASKS, WORLD, err), "tasks and world load (%s)", err);
	is_num((double)s.ntasks, 8, 0, "eight tasks");
	is_num((double)s.nworld, 3, 0, "three rules");
	is_str(s.tasks[1].input, "What is 2 + 3? Explain.", "question is the input, trimmed");
	is_str(s.tasks[1].answer, "5", "GSM8K answer: the part after ####");
	is_num(s.tasks[1].difficulty, 1, 0, "difficulty read");
	is_num(s.tasks[0].difficulty, 0, 0, "difficulty defaults to 0");
	ok(s.tasks[0].kind == PB_SIM_NUMBER && s.tasks[2].kind == PB_SIM_BOOL &&
	   s.tasks[3].kind == PB_SIM_CHOICE && s.tasks[4].kind == PB_SIM_TEXT,
	   "answer kinds: number, bool, choice, text");
	is_str(s.tasks[4].id, "7", "a numeric id becomes text");
	is_num(s.tasks[6].value, 0.75, 0, "a numeric answer");
	is_num((double)s.tasks[3].line, 5, 0, "line numbers count blank lines");
	pb_sim_free(&s);

	is_str(load_err("{\"id\":\"a\",\"input\":\"x\",\"answer\":\"1\"}\n{oops\n", NULL),
	       "t.jsonl:2: not valid JSON", "bad JSON names file and line");
	is_str(load_err("{\"id\":\"a\",\"answer\":\"1\"}\n", NULL),
	       "t.jsonl:1: task has no \"input\" or \"question\" string", "no input");
	is_str(load_err("{\"id\":\"a\",\"input\":\"x\"}\n", NULL),
	       "t.jsonl:1: task has no \"answer\" (a string, number or boolean)", "no answer");
	is_str(load_err("{\"id\":\"a\",\"input\":\"x\",\"answer\":\"1\",\"difficulty\":\"hard\"}\n", NULL),
	       "t.jsonl:1: \"difficulty\" is not a number", "bad difficulty");
	is_str(load_err("{\"id\":\"a\",\"input\":\"x\",\"answer\":\"1\"}\n"
	                "{\"id\":\"b\",\"input\":\"y\",\"answer\":\"1\"}\n"
	                "{\"id\":\"a\",\"input\":\"z\",\"answer\":\"1\"}\n", NULL),
	       "t.jsonl:3: duplicate task id 'a' (first on line 1)", "duplicate id");
	is_str(load_err("\n\n", NULL), "t.jsonl: no tasks", "no tasks");
	is_str(load_err("{\"input\":\"x\",\"answer\":\"  #### \"}\n", NULL),
	       "t.jsonl:1: the task's answer is empty", "empty answer");
	is_str(load_err(TASKS, "{\"match\":\"x\"}\n"), "w.jsonl:1: rule has no \"skill\" number",
	       "world rule without skill");
	is_str(load_err(TASKS, "{\"skill\":1}\n"), "w.jsonl:1: rule has no \"match\" string",
	       "world rule without match");
	is_str(load_err(TASKS, "[1]\n"), "w.jsonl:1: not a JSON object", "world line not an object");
}

static void
test_match(void)
{
	struct pb_sim s;
	char err[PB_ERRLEN], *big;
	size_t at = 99, i, n;
	long t;

	load(&s, TASKS, WORLD, err);
	is_num(match(&s, "What is 2 + 3?"), 0, 0, "the bare input");
	is_num(match(&s, "Be careful.\n\nWhat is 2 + 3?"), 0, 0, "prefix, blank line, input");
	is_num(match(&s, "Be careful.\n\nWhat is 2 + 3? Explain."), 1, 0,
	       "the longest input wins");
	is_num(match(&s, "What is 2 + 3? Explain.\n\n  \n\nThanks"), 1, 0, "input before a suffix");
	t = pb_sim_match(&s, "Q: Capital of Italy?\nA:", &at);
	is_num(t, 5, 0, "inside other text: found by the scan");
	is_num((double)at, 3, 0, "... at its offset");
	is_num(match(&s, "Solve this.\n\nPick one.\n\n(A) x\n(B) y"), 3, 0,
	       "an input of several paragraphs");
	is_num(match(&s, "What is 2 + 4?"), -1, 0, "an unknown question");
	is_num(match(&s, ""), -1, 0, "an empty prompt");

	/* Many tasks: the index finds the right one. */
	pb_sim_free(&s);
	n = 20000;
	big = malloc(n * 80);
	for (i = 0, big[0] = '\0'; i < n; i++)
		sprintf(big + strlen(big), "{\"id\":\"q%zu\",\"input\":\"What is %zu + 1?\",\"answer\":\"%zu\"}\n",
		        i, i, i + 1);
	ok(!load(&s, big, NULL, err), "20000 tasks load");
	is_num(match(&s, "Think.\n\nWhat is 12345 + 1?"), 12345, 0, "found among 20000");
	free(big);
	pb_sim_free(&s);
}

static void
test_skill(void)
{
	struct pb_sim s;
	char err[PB_ERRLEN];
	double a, b, c;
	int i, in_range = 1, distinct = 0;
	char rest[64], prev[64];

	load(&s, TASKS, WORLD, err);
	is_num(pb_sim_skill(&s, "as if you were Alan Turing.\n\nq", "as if you were Alan Turing."),
	       1.5, 0, "world rule");
	is_num(pb_sim_skill(&s, "Turing test", "Turing"), 0.2, 0, "first matching rule");
	is_num(pb_sim_skill(&s, "What is 2 + 3?", ""), 0, 0, "the bare task: skill 0");
	a = pb_sim_skill(&s, "Be brief.\n\nx", "Be brief.");
	b = pb_sim_skill(&s, "Be brief.\n\nx", "Be brief.");
	c = pb_sim_skill(&s, "Be long.\n\nx", "Be long.");
	ok(a == b && a != c, "no rule: stable per prefix, different between prefixes");
	prev[0] = '\0';
	for (i = 0; i < 1000; i++) {
		double k;
		snprintf(rest, sizeof rest, "Persona number %d.", i);
		k = pb_sim_skill(&s, rest, rest);
		if (!(k > -1.5 && k < 1.5))
			in_range = 0;
		distinct += k != (prev[0] ? pb_sim_skill(&s, prev, prev) : 99);
		snprintf(prev, sizeof prev, "%s", rest);
	}
	ok(in_range, "hashed skills lie in (-1.5, 1.5)");
	ok(distinct == 1000, "hashed skills differ");
	pb_sim_free(&s);

	/* The same prefix inline and as a system message: the same skill. */
	{
		const char *r1[] = { "user" }, *c1[] = { "Be brief.\n\nWhat is 2 + 3?" };
		struct pb_sim_answer x, y;
		load(&s, TASKS, NULL, err);
		pb_sim_answer(&s, c1[0], pb_sim_request_key(r1, c1, 1, 0), 0, 0, &x);
		pb_sim_answer(&s, "Be brief.\n\nWhat is 2 + 3?", 12345, 0, 0, &y);
		ok(x.skill == y.skill && x.style == y.style, "skill and style come from the prompt, not the key");
		pb_sim_answer_free(&x);
		pb_sim_answer_free(&y);
		pb_sim_free(&s);
	}
}

static void
test_determinism(void)
{
	struct pb_sim s, s2;
	struct pb_sim_answer a, b;
	char err[PB_ERRLEN];
	const char *text = "Be brief.\n\nWhat is 2 + 3?";
	int i, same = 1, differ = 0, sametext = 1;

	load(&s, TASKS, NULL, err);
	load(&s2, TASKS, NULL, err);
	for (i = 0; i < 50; i++) {
		pb_sim_answer(&s, text, 99, 0, 0, &a);
		pb_sim_answer(&s, text, 99, 0, (unsigned long)i, &b);
		same &= !strcmp(a.text, b.text);
		pb_sim_answer_free(&a);
		pb_sim_answer_free(&b);
	}
	ok(same, "temperature 0: the repeat count does not matter");
	for (i = 1; i < 50; i++) {
		pb_sim_answer(&s, text, 99, 1, 0, &a);
		pb_sim_answer(&s, text, 99, 1, (unsigned long)i, &b);
		differ += !!strcmp(a.text, b.text);
		pb_sim_answer_free(&a);
		pb_sim_answer_free(&b);
		pb_sim_answer(&s2, text, 99, 1, (unsigned long)i, &a);
		pb_sim_answer(&s, text, 99, 1, (unsigned long)i, &b);
		sametext &= !strcmp(a.text, b.text);
		pb_sim_answer_free(&a);
		pb_sim_answer_free(&b);
	}
	ok(differ > 0, "temperature 1: repeats can differ (%d of 49)", differ);
	ok(sametext, "two simulations with one seed agree");
	s2.seed = 8;
	for (i = 0, differ = 0; i < 50; i++) {
		pb_sim_answer(&s2, text, (uint64_t)i, 1, 0, &a);
		pb_sim_answer(&s, text, (uint64_t)i, 1, 0, &b);
		differ += a.u != b.u;
		pb_sim_answer_free(&a);
		pb_sim_answer_free(&b);
	}
	ok(differ == 50, "another seed, other draws");
	pb_sim_answer(&s, "Hello there", 1, 0, 0, &a);
	ok(a.task == -1 && a.given == NULL && strstr(a.text, "not sure"),
	   "an unknown prompt: a polite non-answer");
	pb_sim_answer_free(&a);
	pb_sim_free(&s);
	pb_sim_free(&s2);
}

/* Over many requests the share of right answers is sigmoid(skill - d). */
static void
test_rate(void)
{
	static const char world[] = "{\"match\":\"Skilled\",\"skill\":0.5}\n";
	static const char tasks[] =
	    "{\"input\":\"Easy?\",\"answer\":\"1\",\"difficulty\":-1}\n"
	    "{\"input\":\"Medium?\",\"answer\":\"1\",\"difficulty\":0.5}\n"
	    "{\"input\":\"Hard?\",\"answer\":\"1\",\"difficulty\":2.5}\n";
	const char *texts[] = { "Skilled.\n\nEasy?", "Skilled.\n\nMedium?", "Skilled.\n\nHard?" };
	struct pb_sim s;
	struct pb_sim_answer a;
	char err[PB_ERRLEN];
	int i, k, n = 20000, right;
	uint64_t seed;

	load(&s, tasks, world, err);
	for (k = 0; k < 3; k++) {
		double p = 1 / (1 + exp(s.tasks[k].difficulty - 0.5)), sd;
		right = 0;
		for (i = 0; i < n; i++) {
			/* across seeds, keys and repeat counts */
			s.seed = (uint64_t)i % 7;
			pb_sim_answer(&s, texts[k], (uint64_t)(i / 7) % 100, 1,
			              (unsigned long)(i / 700), &a);
			right += a.correct;
			pb_sim_answer_free(&a);
		}
		sd = sqrt(p * (1 - p) / n);
		is_num((double)right / n, p, 4 * sd, "difficulty %g: right %.3f of the time, p %.3f",
		       s.tasks[k].difficulty, (double)right / n, p);
	}
	/* Repeats alone (one key, one seed) also follow p. */
	for (right = 0, i = 0, seed = 7; i < n; i++) {
		s.seed = seed;
		pb_sim_answer(&s, texts[1], 42, 0.7, (unsigned long)i, &a);
		right += a.correct;
		pb_sim_answer_free(&a);
	}
	is_num((double)right / n, 0.5, 4 * sqrt(0.25 / n), "repeats of one request: p 0.5");
	pb_sim_free(&s);
}

/* Wrong answers are plausible and never the right one. */
static void
test_wrong(void)
{
	static const char *nums[] = { "0", "1", "2", "7", "72", "999", "1000", "123456",
	    "2.5", "-3", "3/4", "1,250", "$40", "0.001", "1000000000", "7000000000000000", "50%" };
	struct pb_sim s;
	struct pb_sim_answer a;
	char err[PB_ERRLEN], tasks[8192], text[256];
	size_t k;
	int i, bad = 0, wrongs = 0, unreadable = 0, styles = 0, seen[6] = { 0 };
	double v;

	tasks[0] = '\0';
	for (k = 0; k < sizeof nums / sizeof *nums; k++)
		sprintf(tasks + strlen(tasks), "{\"input\":\"Number %zu?\",\"answer\":\"%s\",\"difficulty\":9}\n",
		        k, nums[k]);
	strcat(tasks, "{\"input\":\"Bool tf?\",\"answer\":\"True\",\"difficulty\":9}\n"
	              "{\"input\":\"Bool yn?\",\"answer\":\"no\",\"difficulty\":9}\n"
	              "{\"input\":\"Choice?\",\"answer\":\"C\",\"difficulty\":9}\n"
	              "{\"input\":\"Text?\",\"answer\":\"Paris\",\"difficulty\":9}\n"
	              "{\"input\":\"Text 2?\",\"answer\":\"Rome\"}\n");
	ok(!load(&s, tasks, NULL, err), "tasks of every kind load (%s)", err);
	for (k = 0; k < s.ntasks; k++) {
		const struct pb_sim_task *t = &s.tasks[k];
		for (i = 0; i < 300; i++) {
			snprintf(text, sizeof text, "Prefix %d.\n\n%s", i % 40, t->input);
			pb_sim_answer(&s, text, (uint64_t)i, 1, 0, &a);
			if (a.correct || a.task != (long)k) {
				pb_sim_answer_free(&a);
				continue;
			}
			wrongs++;
			seen[a.style] = 1;
			switch (t->kind) {
			case PB_SIM_NUMBER:
				v = strtod(a.given, NULL);
				if (fabs(v - t->value) <= 1e-6 * fmax(fabs(v), fabs(t->value)) ||
				    (t->value >= 0 && v < 0))
					bad++, printf("# %s: wrong answer %s\n", t->answer, a.given);
				if (final_number(a.text) != v)
					unreadable++, printf("# final number of '%s' is not %s\n", a.text, a.given);
				break;
			case PB_SIM_BOOL:
				if (!strcasecmp(a.given, t->answer) ||
				    (strcasecmp(a.given, "false") && strcasecmp(a.given, "true") &&
				     strcasecmp(a.given, "yes") && strcasecmp(a.given, "no")))
					bad++;
				break;
			case PB_SIM_CHOICE:
				if (strlen(a.given) != 1 || a.given[0] < 'A' || a.given[0] > 'E' ||
				    a.given[0] == 'C')
					bad++;
				break;
			case PB_SIM_TEXT:
				if (!strcasecmp(a.given, t->answer))
					bad++;
				if (!strstr(a.text, a.given))
					unreadable++;
				break;
			}
			pb_sim_answer_free(&a);
		}
	}
	for (i = 0; i < 6; i++)
		styles += seen[i];
	ok(wrongs > 5000, "many wrong answers made (%d)", wrongs);
	ok(!bad, "no wrong answer equals the right one (%d bad)", bad);
	ok(!unreadable, "the stated answer is the reply's final number (%d not)", unreadable);
	ok(styles == 6, "all six styles seen");

	pb_sim_answer(&s, "#### trap\n\nBool yn?", 1, 0, 0, &a);
	ok(a.task == (long)sizeof nums / (long)sizeof *nums + 1, "found after a line of noise");
	pb_sim_answer_free(&a);
	s.tasks[0].difficulty = -30;
	pb_sim_answer(&s, "Number 0?", 1, 0, 0, &a);
	is_str(a.given, "0", "right answers state the reference");
	pb_sim_answer_free(&a);
	s.tasks[11].difficulty = -30; /* 1,250 */
	pb_sim_answer(&s, "Number 11?", 1, 0, 0, &a);
	is_str(a.given, "1250", "... as a plain number");
	pb_sim_answer_free(&a);
	pb_sim_free(&s);
}

static struct pb_sim *count_sim;

static void *
counter(void *arg)
{
	int i;

	(void)arg;
	for (i = 0; i < 5000; i++) {
		pb_sim_count(count_sim, 77);
		pb_sim_count(count_sim, (uint64_t)i * 1000003);
	}
	return NULL;
}

static cJSON *
handle(struct pb_sim *s, const char *method, const char *path, const char *body,
       struct pb_sim_response *r)
{
	struct pb_sim_request q = { method, path, body, strlen(body), 0,
	                            NULL, NULL, NULL };
	cJSON *o;

	pb_sim_handle(s, &q, r);
	o = cJSON_Parse(r->body);
	free(r->body);
	r->body = NULL;
	free(r->headers);
	r->headers = NULL;
	return o;
}

static void
test_http(void)
{
	struct pb_sim s;
	struct pb_sim_response r;
	char err[PB_ERRLEN];
	pthread_t th[4];
	cJSON *o;
	double n;
	int i;
	const char *req = "{\"model\":\"gpt-x\",\"temperature\":0,\"messages\":"
	    "[{\"role\":\"system\",\"content\":\"Be brief.\"},"
	    "{\"role\":\"user\",\"content\":\"What is 2 + 3?\"}]}";

	load(&s, TASKS, NULL, err);
	o = handle(&s, "POST", "/v1/chat/completions", req, &r);
	is_num(r.status, 200, 0, "chat: 200");
	is_str(pb_json_str(o, "object"), "chat.completion", "chat: object");
	is_str(pb_json_str(o, "model"), "gpt-x", "chat: model echoed");
	ok(!strncmp(pb_json_str(o, "id") ? pb_json_str(o, "id") : "", "chatcmpl-", 9), "chat: id");
	is_str(pb_json_str(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "choices"), 0), "message.role"),
	       "assistant", "chat: assistant message");
	is_str(pb_json_str(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "choices"), 0), "finish_reason"),
	       "stop", "chat: finish_reason");
	ok(!pb_json_num(o, "usage.prompt_tokens", &n) && n == 3 + (3 + 3) + (3 + 4), "chat: prompt tokens");
	is_str(pb_json_str(o, "x_pb_sim.task"), "a", "chat: the task recognised");
	ok(!pb_json_num(o, "x_pb_sim.repeat", &n) && n == 0, "chat: first of its kind");
	cJSON_Delete(o);
	o = handle(&s, "POST", "/v1/chat/completions", req, &r);
	ok(!pb_json_num(o, "x_pb_sim.repeat", &n) && n == 1, "chat: the same again is counted");
	cJSON_Delete(o);

	o = handle(&s, "POST", "/v1/chat/completions",
	           "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"What is 2 + 3?\"}]}],"
	           "\"max_tokens\":1,\"stop\":[\"zzz\"]}", &r);
	is_num(r.status, 200, 0, "content as parts, max_tokens, stop");
	is_str(pb_json_str(o, "model"), "pb-sim", "no model: pb-sim");
	is_str(pb_json_str(o, "x_pb_sim.task"), "a", "parts are read");
	ok(!pb_json_num(o, "usage.completion_tokens", &n) && n <= 1, "max_tokens caps the reply");
	cJSON_Delete(o);

	o = handle(&s, "POST", "/v1/chat/completions", "{nope", &r);
	is_num(r.status, 400, 0, "bad JSON: 400");
	is_str(pb_json_str(o, "error.type"), "invalid_request_error", "bad JSON: OpenAI error shape");
	ok(cJSON_IsNull(pb_json_path(o, "error.param")) && cJSON_IsNull(pb_json_path(o, "error.code")),
	   "bad JSON: param and code null");
	cJSON_Delete(o);
	o = handle(&s, "POST", "/v1/chat/completions", "{\"messages\":[]}", &r);
	is_num(r.status, 400, 0, "no messages: 400");
	is_str(pb_json_str(o, "error.param"), "messages", "no messages: param");
	cJSON_Delete(o);
	o = handle(&s, "POST", "/v1/chat/completions",
	           "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"temperature\":3}", &r);
	is_str(pb_json_str(o, "error.param"), "temperature", "temperature out of range: 400");
	cJSON_Delete(o);
	{
		static const char sreq[] = "{\"messages\":[{\"role\":\"user\",\"content\":"
		    "\"What is 2 + 3?\"}],\"stream\":true,\"stream_options\":{\"include_usage\":true}}";
		struct pb_sim_request sq = { "POST", "/v1/chat/completions", sreq,
		                             sizeof sreq - 1, 0, NULL, NULL, NULL };
		char e2[PB_ERRLEN], *whole;
		pb_sim_handle(&s, &sq, &r);
		ok(r.status == 200 && r.content_type && !strcmp(r.content_type, "text/event-stream"),
		   "stream: 200, text/event-stream");
		ok(r.body && !strncmp(r.body, "data: {", 7) &&
		   strstr(r.body, "\n\ndata: [DONE]\n\n") &&
		   !strcmp(strstr(r.body, "data: [DONE]"), "data: [DONE]\n\n"),
		   "stream: OpenAI's chunks, ending with [DONE]");
		whole = r.body ? pb_llm_stream_assemble(PB_API_OPENAI, r.body, strlen(r.body), e2) : NULL;
		o = whole ? cJSON_Parse(whole) : NULL;
		ok(o && pb_json_path(o, "usage.total_tokens") &&
		   cJSON_IsString(pb_json_path(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "choices"), 0),
		                               "message.content")),
		   "stream: put together, an answer with usage");
		cJSON_Delete(o);
		free(whole);
		free(r.body);
		r.body = NULL;
		ok(r.request_id[0] && !strncmp(r.request_id, "req_", 4), "every reply has an x-request-id");
	}
	o = handle(&s, "GET", "/v1/models", "", &r);
	is_str(pb_json_str(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "data"), 0), "id"), "pb-sim",
	       "models: pb-sim");
	cJSON_Delete(o);
	o = handle(&s, "GET", "/v1/chat/completions", "", &r);
	ok(r.status == 405 && r.allow && !strcmp(r.allow, "POST"), "GET on chat: 405, Allow: POST");
	cJSON_Delete(o);
	o = handle(&s, "GET", "/v2/x", "", &r);
	is_num(r.status, 404, 0, "unknown path: 404");
	cJSON_Delete(o);

	s.error_rate = 1;
	s.error_status = 429;
	o = handle(&s, "POST", "/v1/chat/completions", req, &r);
	ok(r.status == 429 && r.has_retry_after && r.retry_after == 1,
	   "error rate 1, status 429: Retry-After 1");
	is_str(pb_json_str(o, "error.code"), "rate_limit_exceeded", "429: code");
	cJSON_Delete(o);
	s.error_rate = 0.3;
	s.error_status = 500;
	for (i = 0, n = 0; i < 2000; i++) {
		o = handle(&s, "POST", "/v1/chat/completions", req, &r);
		n += r.status == 500;
		cJSON_Delete(o);
	}
	is_num(n / 2000, 0.3, 0.05, "error rate 0.3: about 30%% fail (%g)", n / 2000);
	pb_sim_free(&s);

	load(&s, TASKS, NULL, err);
	count_sim = &s;
	for (i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, counter, NULL);
	for (i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	is_num((double)pb_sim_count(&s, 77), 20000, 0, "the counter is thread-safe");
	pb_sim_free(&s);
}

/* A request with headers, for the tests below. */
static cJSON *
ask(struct pb_sim *s, const char *path, const char *body, const char *auth,
    const char *xkey, const char *version, struct pb_sim_response *r)
{
	struct pb_sim_request q = { "POST", path, body, strlen(body), 0,
	                            auth, xkey, version };
	cJSON *o;

	pb_sim_handle(s, &q, r);
	o = r->body ? cJSON_Parse(r->body) : NULL;
	free(r->body);
	r->body = NULL;
	return o;
}

/* ask for a test that wants only the reply's status (in r). */
static void
asked(struct pb_sim *s, const char *path, const char *body, const char *auth,
      const char *xkey, const char *version, struct pb_sim_response *r)
{
	cJSON_Delete(ask(s, path, body, auth, xkey, version, r));
}

#define CHAT "/v1/chat/completions"
#define MSGS "/v1/messages"
#define V "2023-06-01"

static const char CHATREQ[] = "{\"temperature\":0,\"messages\":"
    "[{\"role\":\"user\",\"content\":\"What is 2 + 3?\"}]}";
static const char MSGREQ[] = "{\"max_tokens\":100,\"temperature\":0,\"messages\":"
    "[{\"role\":\"user\",\"content\":\"What is 2 + 3?\"}]}";

/* A chat request with numbered content, so each is new. */
static const char *
nth(int i)
{
	static char b[160];

	snprintf(b, sizeof b, "{\"temperature\":0,\"messages\":[{\"role\":\"user\","
	         "\"content\":\"Prefix %d.\\n\\nWhat is 2 + 3?\"}]}", i);
	return b;
}

static void
test_fault_parse(void)
{
	struct pb_sim s;
	char err[PB_ERRLEN];
	int i, round = 1;

	load(&s, TASKS, NULL, err);
	for (i = 0; i < PB_SIM_NFAULTS; i++)
		round &= pb_sim_fault_kind(pb_sim_fault_name((enum pb_sim_fault)i)) == i;
	ok(round && pb_sim_fault_kind("nope") == -1 && !pb_sim_fault_name(PB_SIM_NFAULTS),
	   "fault names and kinds agree");
	ok(!pb_sim_parse_faults(&s, "429:0.1,drop:0.25", err) &&
	   s.fault[PB_SIM_F429] == 0.1 && s.fault[PB_SIM_FDROP] == 0.25,
	   "two kinds in one spec");
	ok(!pb_sim_parse_faults(&s, "429:0.2", err) && s.fault[PB_SIM_F429] == 0.2 &&
	   s.fault[PB_SIM_FDROP] == 0.25, "a kind named again takes the new rate");
	ok(!pb_sim_parse_faults(&s, "slow:0.1,quota:0.2,auth:0.25", err),
	   "rates that add up to exactly 1");
	ok(pb_sim_parse_faults(&s, "invalid:0.01", err) && s.fault[PB_SIM_FINVALID] == 0,
	   "more than 1 is refused and changes nothing");
	is_str(err, "the fault rates add up to 1.01, more than 1", "... and says so");
	pb_sim_free(&s);
	load(&s, TASKS, NULL, err);
	s.error_rate = 0.5;
	ok(pb_sim_parse_faults(&s, "500:0.6", err), "--error-rate counts in the sum");
	is_str(err, "the fault rates and --error-rate add up to 1.1, more than 1",
	       "... and is named");
	pb_sim_parse_faults(&s, "teapot:0.1", err);
	is_str(err, "unknown fault kind 'teapot' (known: 429, 500, 502, 503, 504, 529, "
	       "quota, auth, invalid, malformed, slow, drop)", "an unknown kind");
	pb_sim_parse_faults(&s, "429:1.5", err);
	is_str(err, "fault 429: '1.5' is not a rate in [0, 1]", "a rate over 1");
	pb_sim_parse_faults(&s, "429:x", err);
	is_str(err, "fault 429: 'x' is not a rate in [0, 1]", "a rate not a number");
	pb_sim_parse_faults(&s, "429", err);
	is_str(err, "'429' is not KIND:RATE", "no rate");
	pb_sim_parse_faults(&s, "429:0.1,", err);
	is_str(err, "'' is not KIND:RATE", "a trailing comma");
	pb_sim_free(&s);
}

/* What each kind at rate 1 replies, in both shapes. */
static void
test_fault_kinds(void)
{
	static const struct {
		const char *kind;
		int status;
		const char *otype, *ocode, *atype;
		int retry_after, should;
	} want[] = {
		{ "429", 429, "requests", "rate_limit_exceeded", "rate_limit_error", 1, 1 },
		{ "500", 500, "server_error", NULL, "api_error", 0, 1 },
		{ "502", 502, "server_error", NULL, "api_error", 0, 1 },
		{ "503", 503, "server_error", NULL, "api_error", 1, 1 },
		{ "504", 504, "server_error", NULL, "api_error", 0, 1 },
		{ "529", 529, "overloaded_error", NULL, "overloaded_error", 0, 1 },
		{ "quota", 429, "insufficient_quota", "insufficient_quota", "insufficient_quota", 0, 0 },
		{ "auth", 401, "invalid_request_error", "invalid_api_key", "authentication_error", 0, 0 },
		{ "invalid", 400, "invalid_request_error", NULL, "invalid_request_error", 0, 0 },
	};
	struct pb_sim s;
	struct pb_sim_response r;
	char err[PB_ERRLEN], spec[32];
	size_t k;
	cJSON *o;
	int i, none;

	for (k = 0; k < sizeof want / sizeof *want; k++) {
		load(&s, TASKS, NULL, err);
		s.retry_after = 2.5;
		s.should_retry = 1;
		snprintf(spec, sizeof spec, "%s:1", want[k].kind);
		pb_sim_parse_faults(&s, spec, err);
		o = ask(&s, CHAT, CHATREQ, NULL, NULL, NULL, &r);
		ok(r.status == want[k].status && r.has_retry_after == want[k].retry_after &&
		   (!r.has_retry_after || r.retry_after == 2.5) &&
		   r.should_retry == want[k].should && !r.drop && r.delay_ms == 0,
		   "%s: status %d, Retry-After %s, x-should-retry %s", want[k].kind,
		   want[k].status, want[k].retry_after ? "2.5" : "none",
		   want[k].should ? "true" : "false");
		is_str(pb_json_str(o, "error.type"), want[k].otype, "%s: OpenAI type", want[k].kind);
		ok(want[k].ocode ? pb_json_str(o, "error.code") &&
		   !strcmp(pb_json_str(o, "error.code"), want[k].ocode)
		   : cJSON_IsNull(pb_json_path(o, "error.code")), "%s: OpenAI code %s",
		   want[k].kind, want[k].ocode ? want[k].ocode : "null");
		ok(pb_json_str(o, "error.message") && strstr(pb_json_str(o, "error.message"),
		   "simulated by pb-sim"), "%s: says it is simulated", want[k].kind);
		cJSON_Delete(o);
		o = ask(&s, MSGS, MSGREQ, NULL, NULL, V, &r);
		ok(r.status == want[k].status && pb_json_str(o, "type") &&
		   !strcmp(pb_json_str(o, "type"), "error"), "%s: Anthropic status and shape",
		   want[k].kind);
		is_str(pb_json_str(o, "error.type"), want[k].atype, "%s: Anthropic type",
		       want[k].kind);
		cJSON_Delete(o);
		pb_sim_free(&s);
	}

	load(&s, TASKS, NULL, err);
	pb_sim_parse_faults(&s, "malformed:1", err);
	pb_sim_handle(&s, &(struct pb_sim_request){ "POST", CHAT, CHATREQ,
	              strlen(CHATREQ), 0, NULL, NULL, NULL }, &r);
	o = cJSON_Parse(r.body);
	ok(r.status == 200 && r.body && !strncmp(r.body, "{\"id\":\"chatcmpl-", 16) && !o,
	   "malformed: 200, the start of a reply, not JSON");
	cJSON_Delete(o);
	free(r.body);
	pb_sim_parse_faults(&s, "malformed:0,slow:1", err);
	s.latency_ms = 5;
	o = ask(&s, CHAT, CHATREQ, NULL, NULL, NULL, &r);
	ok(r.status == 200 && r.delay_ms == 30005 && o && pb_json_str(o, "x_pb_sim.task"),
	   "slow: the real answer, held 30 s more than the latency");
	cJSON_Delete(o);
	s.slow_s = 3;
	o = ask(&s, MSGS, MSGREQ, NULL, NULL, V, &r);
	ok(r.status == 200 && r.delay_ms == 3005 && cJSON_IsArray(pb_json_path(o, "content")),
	   "slow: --slow, on the Anthropic endpoint too");
	cJSON_Delete(o);
	pb_sim_parse_faults(&s, "slow:0,drop:1", err);
	pb_sim_handle(&s, &(struct pb_sim_request){ "POST", CHAT, CHATREQ,
	              strlen(CHATREQ), 0, NULL, NULL, NULL }, &r);
	ok(r.drop && !r.body && r.delay_ms == 5, "drop: no body, after the usual wait");
	o = handle(&s, "GET", "/v1/models", "", &r);
	ok(r.status == 200 && !r.drop, "faults leave /v1/models alone");
	cJSON_Delete(o);
	o = handle(&s, "POST", CHAT, "{\"messages\":[]}", &r);
	ok(r.status == 400 && !r.drop, "a bad request is a 400, not a fault");
	cJSON_Delete(o);
	o = handle(&s, "GET", CHAT, "", &r);
	ok(r.status == 405 && r.should_retry == -1, "no x-should-retry unless asked");
	cJSON_Delete(o);
	s.should_retry = 1;
	o = handle(&s, "GET", CHAT, "", &r);
	ok(r.status == 405 && r.should_retry == 0, "a 405: x-should-retry false");
	cJSON_Delete(o);
	pb_sim_free(&s);

	/* Rate 0, and the simple form with should-retry by status. */
	load(&s, TASKS, NULL, err);
	pb_sim_parse_faults(&s, "429:0,500:0,drop:0,slow:0", err);
	for (i = 0, none = 1; i < 300; i++) {
		o = ask(&s, CHAT, nth(i), NULL, NULL, NULL, &r);
		none &= r.status == 200 && !r.drop && r.delay_ms == 0;
		cJSON_Delete(o);
	}
	ok(none, "rate 0: no fault in 300 requests");
	s.error_rate = 1;
	s.error_status = 503;
	s.should_retry = 1;
	s.retry_after = 0.25;
	o = ask(&s, MSGS, MSGREQ, NULL, NULL, V, &r);
	ok(r.status == 503 && r.has_retry_after && r.retry_after == 0.25 && r.should_retry == 1,
	   "--error-status 503: Retry-After from --retry-after, should retry");
	is_str(pb_json_str(o, "error.type"), "api_error", "... in Anthropic's shape there");
	cJSON_Delete(o);
	s.error_status = 422;
	o = ask(&s, CHAT, CHATREQ, NULL, NULL, NULL, &r);
	ok(r.status == 422 && !r.has_retry_after && r.should_retry == 0,
	   "--error-status 422: no Retry-After, should not retry");
	cJSON_Delete(o);
	pb_sim_free(&s);
}

/* Over many requests each kind hits about its share; a retry draws anew. */
static void
test_fault_mix(void)
{
	static const double rate[PB_SIM_NFAULTS] = { 0.1, 0.05, 0, 0.05, 0, 0.05,
	    0.02, 0, 0, 0.03, 0.1, 0.1 };
	struct pb_sim s;
	struct pb_sim_response r;
	char err[PB_ERRLEN], spec[256], *txt;
	cJSON *o, *st;
	double got, sd;
	int i, k, n = 1000, failed = 0, retried_ok = 0, allok = 1;

	load(&s, TASKS, NULL, err);
	spec[0] = '\0';
	for (k = 0; k < PB_SIM_NFAULTS; k++)
		snprintf(spec + strlen(spec), sizeof spec - strlen(spec), "%s%s:%g",
		         k ? "," : "", pb_sim_fault_name((enum pb_sim_fault)k), rate[k]);
	ok(!pb_sim_parse_faults(&s, spec, err), "a mixture of faults (%s)", err);
	for (i = 0; i < n; i++) {
		o = ask(&s, CHAT, nth(i), NULL, NULL, NULL, &r);
		cJSON_Delete(o);
	}
	txt = pb_sim_stats(&s, 0);
	st = cJSON_Parse(txt);
	free(txt);
	for (k = 0; k < PB_SIM_NFAULTS; k++) {
		char path[32];
		snprintf(path, sizeof path, "faults.%s", pb_sim_fault_name((enum pb_sim_fault)k));
		if (pb_json_num(st, path, &got))
			got = 0;
		sd = sqrt(rate[k] * (1 - rate[k]) / n);
		if (rate[k] == 0 ? got != 0 : fabs(got / n - rate[k]) > 4 * sd) {
			allok = 0;
			printf("# %s: %g of %d, rate %g\n", pb_sim_fault_name((enum pb_sim_fault)k),
			       got, n, rate[k]);
		}
	}
	ok(allok, "each kind hits about its share of 1000 requests");
	if (pb_json_num(st, "completions", &got))
		got = -1;
	ok(fabs(got / n - 0.6) <= 4 * sqrt(0.6 * 0.4 / n),
	   "answered: about 60%% (no fault, or slow) (%g)", got / n);
	cJSON_Delete(st);

	/* The same request again: a fresh draw, so a failed one can pass. */
	for (i = 0; i < 200; i++) {
		o = ask(&s, CHAT, nth(5000 + i), NULL, NULL, NULL, &r);
		cJSON_Delete(o);
		if (r.status == 200 && !r.drop)
			continue;
		failed++;
		o = ask(&s, CHAT, nth(5000 + i), NULL, NULL, NULL, &r);
		retried_ok += r.status == 200 && !r.drop;
		cJSON_Delete(o);
	}
	ok(failed > 40 && retried_ok > failed / 3 && retried_ok < failed,
	   "retries of failed requests pass about as often as first tries "
	   "(%d of %d)", retried_ok, failed);
	pb_sim_free(&s);
}
/* pb_sim_stats as an object. */
static cJSON *
stats(struct pb_sim *s, int reset)
{
	char *t = pb_sim_stats(s, reset);
	cJSON *o = cJSON_Parse(t);

	free(t);
	return o;
}

static char *
compact(const cJSON *o)
{
	return cJSON_PrintUnformatted(o);
}

static void
test_stats(void)
{
	struct pb_sim s;
	struct pb_sim_response r;
	char err[PB_ERRLEN], *t, path[] = "/tmp/pb-sim-stats.XXXXXX", buf[512];
	cJSON *o;
	FILE *fp;
	int fd;
	size_t n;

	load(&s, TASKS, NULL, err);
	o = stats(&s, 0);
	t = compact(o);
	is_str(t, "{\"requests\":0,\"completions\":0,\"by_status\":{},\"faults\":{}}",
	       "stats start at zero, with empty objects");
	free(t);
	cJSON_Delete(o);
	/* Two answers, a 404, a 405, a 400, a 413, two drops. */
	cJSON_Delete(ask(&s, CHAT, CHATREQ, NULL, NULL, NULL, &r));
	cJSON_Delete(ask(&s, MSGS, MSGREQ, NULL, NULL, V, &r));
	cJSON_Delete(handle(&s, "GET", "/nope", "", &r));
	cJSON_Delete(handle(&s, "GET", MSGS, "", &r));
	cJSON_Delete(ask(&s, MSGS, MSGREQ, NULL, NULL, NULL, &r));
	pb_sim_handle(&s, &(struct pb_sim_request){ "POST", CHAT, "", 0, 1,
	              NULL, NULL, NULL }, &r);
	ok(r.status == 413 && pb_json_str(cJSON_GetObjectItem(o = cJSON_Parse(r.body),
	   "error"), "type"), "too big: 413, an error body");
	cJSON_Delete(o);
	free(r.body);
	pb_sim_parse_faults(&s, "drop:1", err);
	cJSON_Delete(ask(&s, CHAT, CHATREQ, NULL, NULL, NULL, &r));
	cJSON_Delete(ask(&s, CHAT, CHATREQ, NULL, NULL, NULL, &r));
	/* Not counted: the control paths themselves. */
	cJSON_Delete(handle(&s, "GET", "/pb-sim/stats", "", &r));
	cJSON_Delete(handle(&s, "GET", "/pb-sim/nope", "", &r));
	ok(r.status == 404, "an unknown /pb-sim/ path: 404");
	cJSON_Delete(handle(&s, "GET", "/pb-sim/reset", "", &r));
	ok(r.status == 405 && r.allow && !strcmp(r.allow, "POST"), "GET /pb-sim/reset: 405");
	o = handle(&s, "GET", "/pb-sim/stats", "", &r);
	ok(r.status == 200 && r.delay_ms == 0, "GET /pb-sim/stats: 200, not delayed");
	t = compact(o);
	is_str(t, "{\"requests\":8,\"completions\":2,\"by_status\":{\"200\":2,\"400\":1,"
	       "\"404\":1,\"405\":1,\"413\":1},\"faults\":{\"drop\":2}}", "stats count exactly");
	free(t);
	cJSON_Delete(o);

	/* Reset: the counts come back and go to zero; repeats stay. */
	o = handle(&s, "POST", "/pb-sim/reset", "", &r);
	ok(!pb_json_num(o, "requests", &(double){ 0 }) && r.status == 200,
	   "POST /pb-sim/reset: 200 with the counts");
	cJSON_Delete(o);
	o = stats(&s, 0);
	t = compact(o);
	is_str(t, "{\"requests\":0,\"completions\":0,\"by_status\":{},\"faults\":{}}",
	       "after a reset: zero");
	free(t);
	cJSON_Delete(o);
	pb_sim_parse_faults(&s, "drop:0", err);
	o = ask(&s, CHAT, CHATREQ, NULL, NULL, NULL, &r);
	{
		double rep = -1;
		pb_json_num(o, "x_pb_sim.repeat", &rep);
		is_num(rep, 4, 0, "the repeat counts survive a reset (and count the "
		       "dropped requests and the Anthropic one)");
	}
	cJSON_Delete(o);

	/* The file at exit. */
	fd = mkstemp(path);
	close(fd);
	ok(!pb_sim_save_stats(&s, path, err), "stats saved (%s)", err);
	fp = fopen(path, "r");
	n = fread(buf, 1, sizeof buf - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	unlink(path);
	is_str(buf, "{\"requests\":1,\"completions\":1,\"by_status\":{\"200\":1},"
	       "\"faults\":{}}\n", "the file holds the stats and a newline");
	ok(pb_sim_save_stats(&s, "/nonexistent/dir/stats.json", err) &&
	   strstr(err, "/nonexistent/dir/stats.json.") && strstr(err, "No such file"),
	   "an unwritable place: an error naming it (%s)", err);
	pb_sim_free(&s);
}

static void
test_api_key(void)
{
	static const char key[] = "sk-canary-5d41402abc4b2a76";
	struct pb_sim s;
	struct pb_sim_response r;
	char err[PB_ERRLEN], *t;
	cJSON *o;
	int leaks = 0;

	load(&s, TASKS, NULL, err);
	s.api_key = key;
#define LEAK(o) do { t = compact(o); leaks += t && strstr(t, "canary") != NULL; free(t); } while (0)
	o = ask(&s, CHAT, CHATREQ, NULL, NULL, NULL, &r);
	ok(r.status == 401 && !strcmp(pb_json_str(o, "error.code"), "invalid_api_key"),
	   "OpenAI: no key, 401 invalid_api_key");
	LEAK(o);
	cJSON_Delete(o);
	o = ask(&s, CHAT, CHATREQ, "Bearer sk-canary-wrong", NULL, NULL, &r);
	is_str(pb_json_str(o, "error.message"), "Incorrect API key provided.",
	       "OpenAI: a wrong key, 401");
	LEAK(o);
	cJSON_Delete(o);
	asked(&s, CHAT, CHATREQ, NULL, key, NULL, &r);
	ok(r.status == 401, "OpenAI: x-api-key is not enough");
	o = ask(&s, CHAT, CHATREQ, "Basic sk-canary-5d41402abc4b2a76", NULL, NULL, &r);
	ok(r.status == 401, "OpenAI: not Bearer, 401");
	LEAK(o);
	cJSON_Delete(o);
	asked(&s, CHAT, CHATREQ, "Bearer sk-canary-5d41402abc4b2a76", NULL, NULL, &r);
	ok(r.status == 200, "OpenAI: the right key, 200");
	asked(&s, CHAT, CHATREQ, "bearer sk-canary-5d41402abc4b2a76", NULL, NULL, &r);
	ok(r.status == 200, "OpenAI: bearer in any case");
	o = handle(&s, "GET", "/v1/models", "", &r);
	ok(r.status == 401, "GET /v1/models needs the key too");
	cJSON_Delete(o);
	o = handle(&s, "GET", "/pb-sim/stats", "", &r);
	ok(r.status == 200, "/pb-sim/stats does not");
	cJSON_Delete(o);
	o = ask(&s, MSGS, MSGREQ, NULL, NULL, V, &r);
	ok(r.status == 401 && !strcmp(pb_json_str(o, "type"), "error"),
	   "Anthropic: no key, 401 in Anthropic's shape");
	is_str(pb_json_str(o, "error.type"), "authentication_error", "... authentication_error");
	LEAK(o);
	cJSON_Delete(o);
	asked(&s, MSGS, MSGREQ, "Bearer sk-canary-5d41402abc4b2a76", NULL, V, &r);
	ok(r.status == 200, "Anthropic: Bearer is accepted too, as the SDK sends it");
	o = ask(&s, MSGS, MSGREQ, NULL, "sk-canary-x", V, &r);
	is_str(pb_json_str(o, "error.message"), "invalid x-api-key", "Anthropic: a wrong key");
	LEAK(o);
	cJSON_Delete(o);
	asked(&s, MSGS, MSGREQ, NULL, key, V, &r);
	ok(r.status == 200, "Anthropic: the right key, 200");
	ok(!leaks, "no reply names a key");
#undef LEAK
	pb_sim_free(&s);
}

static void
test_anthropic(void)
{
	struct pb_sim s;
	struct pb_sim_response r;
	char err[PB_ERRLEN], last[512], req[512];
	cJSON *o, *p;
	double n, m;
	const char *oa = "{\"temperature\":0,\"messages\":[{\"role\":\"system\",\"content\":"
	    "\"Be brief.\"},{\"role\":\"user\",\"content\":\"What is 2 + 3?\"}]}";
	const char *sys = "{\"max_tokens\":100,\"temperature\":0,\"system\":\"Be brief.\","
	    "\"messages\":[{\"role\":\"user\",\"content\":\"What is 2 + 3?\"}]}";
	const char *blocks = "{\"max_tokens\":100,\"temperature\":0,\"model\":\"claude-x\","
	    "\"system\":[{\"type\":\"text\",\"text\":\"Be brief.\"}],\"messages\":[{\"role\":"
	    "\"user\",\"content\":[{\"type\":\"text\",\"text\":\"What is 2 + 3?\"}]}]}";

	load(&s, TASKS, NULL, err);
	o = ask(&s, MSGS, sys, NULL, NULL, V, &r);
	ok(r.status == 200, "messages: 200");
	is_str(pb_json_str(o, "type"), "message", "type message");
	is_str(pb_json_str(o, "role"), "assistant", "role assistant");
	is_str(pb_json_str(o, "model"), "pb-sim", "no model: pb-sim");
	ok(!strncmp(pb_json_str(o, "id"), "msg_", 4), "an id msg_...");
	is_str(pb_json_str(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "content"), 0), "type"),
	       "text", "one text block");
	is_str(pb_json_str(o, "stop_reason"), "end_turn", "stop_reason end_turn");
	ok(cJSON_IsNull(pb_json_path(o, "stop_sequence")), "stop_sequence null");
	ok(!pb_json_num(o, "usage.input_tokens", &n) && n == 3 + (3 + 3) + (3 + 4) &&
	   !pb_json_num(o, "usage.output_tokens", &m) && m > 0, "usage: input and output tokens");
	is_str(pb_json_str(o, "x_pb_sim.task"), "a", "the task is recognised");
	p = ask(&s, MSGS, blocks, NULL, NULL, V, &r);
	is_str(pb_json_str(p, "model"), "claude-x", "the model is echoed");
	is_str(pb_json_str(cJSON_GetArrayItem(cJSON_GetObjectItem(p, "content"), 0), "text"),
	       pb_json_str(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "content"), 0), "text"),
	       "system and content as blocks: the same answer as strings");
	ok(!pb_json_num(p, "x_pb_sim.repeat", &n) && n == 1,
	   "... and the same request, counted");
	cJSON_Delete(p);
	p = ask(&s, CHAT, oa, NULL, NULL, NULL, &r);
	is_str(pb_json_str(cJSON_GetArrayItem(cJSON_GetObjectItem(p, "choices"), 0), "message.content"),
	       pb_json_str(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "content"), 0), "text"),
	       "the same conversation as a chat completion: the same answer");
	ok(!pb_json_num(p, "x_pb_sim.repeat", &n) && n == 2, "... and the same count");
	cJSON_Delete(p);
	cJSON_Delete(o);

	o = ask(&s, MSGS, sys, NULL, NULL, NULL, &r);
	ok(r.status == 400, "no anthropic-version: 400");
	is_str(pb_json_str(o, "error.message"), "anthropic-version: header is required",
	       "... says so");
	is_str(pb_json_str(o, "error.type"), "invalid_request_error", "... invalid_request_error");
	cJSON_Delete(o);
	o = ask(&s, MSGS, "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
	        NULL, NULL, V, &r);
	ok(r.status == 400, "no max_tokens: 400");
	is_str(pb_json_str(o, "error.message"), "max_tokens: Field required", "... says so");
	cJSON_Delete(o);
	asked(&s, MSGS, "{\"max_tokens\":0,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
	      NULL, NULL, V, &r);
	ok(r.status == 400, "max_tokens 0: 400");
	o = ask(&s, MSGS, "{\"max_tokens\":5,\"messages\":[{\"role\":\"system\",\"content\":\"x\"},"
	        "{\"role\":\"user\",\"content\":\"hi\"}]}", NULL, NULL, V, &r);
	ok(r.status == 400 && strstr(pb_json_str(o, "error.message"), "messages.0.role"),
	   "a system message among the messages: 400 naming it");
	cJSON_Delete(o);
	asked(&s, MSGS, "{\"max_tokens\":5,\"messages\":[]}", NULL, NULL, V, &r);
	ok(r.status == 400, "no messages: 400");
	o = ask(&s, MSGS, "{\"max_tokens\":5,\"system\":5,\"messages\":[{\"role\":\"user\","
	        "\"content\":\"hi\"}]}", NULL, NULL, V, &r);
	ok(r.status == 400 && strstr(pb_json_str(o, "error.message"), "system"),
	   "a system that is not text: 400");
	cJSON_Delete(o);
	asked(&s, MSGS, "{\"max_tokens\":5,\"temperature\":1.5,\"messages\":[{\"role\":"
	      "\"user\",\"content\":\"hi\"}]}", NULL, NULL, V, &r);
	ok(r.status == 400, "temperature over 1: 400");
	asked(&s, MSGS, "{\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":"
	      "[{\"type\":\"image\"}]}]}", NULL, NULL, V, &r);
	ok(r.status == 400, "a block that is not text: 400");
	o = ask(&s, MSGS, "[1]", NULL, NULL, V, &r);
	ok(r.status == 400 && !strcmp(pb_json_str(o, "type"), "error"),
	   "a body that is not an object: 400, Anthropic's shape");
	cJSON_Delete(o);
	o = handle(&s, "GET", MSGS, "", &r);
	ok(r.status == 405 && !strcmp(r.allow, "POST") && !strcmp(pb_json_str(o, "type"), "error"),
	   "GET /v1/messages: 405 in Anthropic's shape");
	cJSON_Delete(o);

	o = ask(&s, MSGS, "{\"max_tokens\":1,\"messages\":[{\"role\":\"user\",\"content\":"
	        "\"Capital of France?\"}],\"temperature\":0}", NULL, NULL, V, &r);
	is_str(pb_json_str(o, "stop_reason"), "max_tokens", "cut to max_tokens: stop_reason max_tokens");
	cJSON_Delete(o);
	/* Stop at the last character of the reply, whatever it is. */
	o = ask(&s, MSGS, MSGREQ, NULL, NULL, V, &r);
	snprintf(last, sizeof last, "%s",
	         pb_json_str(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "content"), 0), "text"));
	cJSON_Delete(o);
	n = (double)strlen(last);
	snprintf(req, sizeof req, "{\"max_tokens\":100,\"messages\":[{\"role\":\"user\","
	         "\"content\":\"What is 2 + 3?\"}],\"temperature\":0,\"stop_sequences\":"
	         "[\"zzz\",\"%c\"]}", last[(size_t)n - 1]);
	o = ask(&s, MSGS, req, NULL, NULL, V, &r);
	ok(r.status == 200, "stop_sequences: 200");
	is_str(pb_json_str(o, "stop_reason"), "stop_sequence", "a stop sequence cuts: stop_reason");
	ok(pb_json_str(o, "stop_sequence") && pb_json_str(o, "stop_sequence")[0] == last[(size_t)n - 1],
	   "... and stop_sequence names it");
	ok(strlen(pb_json_str(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "content"), 0), "text")) < n,
	   "... and the text is cut");
	cJSON_Delete(o);
	pb_sim_free(&s);
}

static void
test_jitter(void)
{
	struct pb_sim s;
	struct pb_sim_response r;
	char err[PB_ERRLEN];
	double sum = 0, d1, d2, min = 1e9;
	int i, n = 2000;

	load(&s, TASKS, NULL, err);
	s.latency_ms = 10;
	s.jitter_ms = 50;
	for (i = 0; i < n; i++) {
		cJSON_Delete(ask(&s, CHAT, nth(i), NULL, NULL, NULL, &r));
		sum += r.delay_ms;
		if (r.delay_ms < min)
			min = r.delay_ms;
	}
	ok(min >= 10, "never less than the latency");
	is_num(sum / n - 10, 50, 4 * 50 / sqrt(n), "the jitter's mean is --jitter (%g)", sum / n - 10);
	cJSON_Delete(handle(&s, "GET", "/v1/models", "", &r));
	ok(r.delay_ms >= 10, "/v1/models waits too");
	pb_sim_free(&s);
	load(&s, TASKS, NULL, err);
	s.jitter_ms = 50;
	cJSON_Delete(ask(&s, CHAT, nth(1), NULL, NULL, NULL, &r));
	d1 = r.delay_ms;
	cJSON_Delete(ask(&s, CHAT, nth(1), NULL, NULL, NULL, &r));
	d2 = r.delay_ms;
	ok(d1 != d2, "a repeat draws its own jitter");
	pb_sim_free(&s);
	load(&s, TASKS, NULL, err);
	s.jitter_ms = 50;
	cJSON_Delete(ask(&s, CHAT, nth(1), NULL, NULL, NULL, &r));
	ok(r.delay_ms == d1, "... the same one on every run");
	pb_sim_free(&s);
}

/* World rules with "where", and the judge on text answers. */
static void
test_where_judge(void)
{
	struct pb_sim s;
	struct pb_sim_answer a;
	char err[PB_ERRLEN];
	static const char *const tasks =
		"{\"id\":\"m1\",\"input\":\"Which clef?\",\"answer\":\"treble clef\",\"domain\":\"music\"}\n"
		"{\"id\":\"t1\",\"input\":\"How many sets?\",\"answer\":\"5\",\"domain\":\"tennis\"}\n"
		"{\"id\":\"p1\",\"input\":\"What is c?\",\"answer\":\"the speed of light\",\"domain\":\"physics\",\"level\":2}\n";
	static const char *const world =
		"{\"match\":\"Mozart\",\"where\":{\"domain\":\"music\"},\"skill\":1.5}\n"
		"{\"match\":\"Mozart\",\"skill\":-1}\n"
		"{\"match\":\"Einstein\",\"where\":{\"domain\":[\"physics\",\"music\"],\"level\":2},\"skill\":2}\n"
		"{\"match\":\"\",\"skill\":0.1}\n";
	static const struct { const char *resp, *ref; int score; } j[] = {
		{ "The treble clef.", "treble clef", 10 },
		{ "The answer is the Treble Clef", "treble clef", 10 },
		{ "Answer: bass clef", "treble clef", 2 },
		{ "It is, of course, the treble clef!", "treble clef", 6 },
		{ "...", "treble clef", 0 },
		{ "True.", "true", 10 },
		{ "False, because it is a myth.", "True", 2 },
		{ "Step 1: 3 + 4 = 7.\n#### 72", "#### 72", 10 },
		{ "So the total is $1,250.", "1250", 10 },
		{ "The answer is 71.", "72", 2 },
		{ "No idea", "72", 0 },
	};
	size_t i;

	ok(!load(&s, tasks, world, err), "tasks with fields and a world with where load (%s)", err);
	is_num(pb_sim_skill_task(&s, 0, "Mozart\n\nWhich clef?", "Mozart"), 1.5, 0,
	       "where matches the task's domain");
	is_num(pb_sim_skill_task(&s, 1, "Mozart\n\nHow many sets?", "Mozart"), -1, 0,
	       "another domain: the next rule");
	is_num(pb_sim_skill(&s, "Mozart\n\nWhich clef?", "Mozart"), -1, 0,
	       "no task: a where never holds");
	is_num(pb_sim_skill_task(&s, 2, "Einstein\n\nWhat is c?", "Einstein"), 2, 0,
	       "a list of values, and two fields");
	is_num(pb_sim_skill_task(&s, 0, "Einstein\n\nWhich clef?", "Einstein"), 0.1, 0,
	       "every field must hold");
	ok(!pb_sim_answer(&s, "Mozart\n\nWhich clef?", 1, 0, 0, &a) && a.skill == 1.5,
	   "pb_sim_answer applies the where rules");
	pb_sim_answer_free(&a);
	pb_sim_free(&s);
	is_str(load_err(tasks, "{\"match\":\"x\",\"where\":\"music\",\"skill\":1}\n"),
	     "w.jsonl:1: \"where\" is not an object of task fields", "a where that is no object is refused");
	is_str(load_err(tasks, "{\"match\":\"x\",\"where\":{\"d\":{}},\"skill\":1}\n"),
	     "w.jsonl:1: a \"where\" value is not a value or a list of values", "... and a where value that is an object");

	load(&s, tasks, NULL, err);
	for (i = 0; i < sizeof j / sizeof *j; i++) {
		char *q = pb_strfmt("Grade it.\n<response>%s</response>\n<reference>%s</reference>",
		                    j[i].resp, j[i].ref);
		char want[32];
		snprintf(want, sizeof want, "Score: %d/10", j[i].score);
		ok(!pb_sim_answer(&s, q, 1, 0, 0, &a) && a.text && strstr(a.text, want),
		   "judge case %zu: against '%s' scores %d", i, j[i].ref, j[i].score);
		pb_sim_answer_free(&a);
		free(q);
	}
	ok(!pb_sim_answer(&s, "Vary.\n<prompts>\nSolve it.\nThink.\n</prompts>\n<count>4</count>",
	                  7, 0, 0, &a) && a.text, "a request for prompts is answered");
	{
		int lines = 0, known = 0;
		char *p, *save = NULL;
		for (p = strtok_r(a.text, "\n", &save); p; p = strtok_r(NULL, "\n", &save)) {
			lines++;
			known += (!strncmp(p, "Solve it. ", 10) || !strncmp(p, "Think. ", 7)) &&
			         strlen(p) > 12;
		}
		is_num(lines, 4, 0, "... with <count> lines");
		is_num(known, 4, 0, "... each a listed prompt with an instruction added");
	}
	pb_sim_answer_free(&a);
	pb_sim_free(&s);
}

int
main(void)
{
	test_load();
	test_match();
	test_skill();
	test_determinism();
	test_rate();
	test_wrong();
	test_http();
	test_fault_parse();
	test_fault_kinds();
	test_fault_mix();
	test_stats();
	test_api_key();
	test_anthropic();
	test_jitter();
	test_where_judge();
	return tap_done();
}
