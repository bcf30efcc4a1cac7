/* sim.c - unit tests for lib/sim.c: loading, recognising tasks, skills,
 * determinism, the rate of right answers, wrong answers, HTTP replies. */
#include <pthread.h>
#include <stdlib.h>

#include "tap.h"
#include "../../lib/pb.h"

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
	cJSON *o;

	pb_sim_handle(s, method, path, body, strlen(body), r);
	o = cJSON_Parse(r->body);
	free(r->body);
	r->body = NULL;
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
	o = handle(&s, "POST", "/v1/chat/completions",
	           "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"stream\":true}", &r);
	is_str(pb_json_str(o, "error.param"), "stream", "streaming refused");
	cJSON_Delete(o);
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
	ok(r.status == 429 && r.retry_after == 1, "error rate 1, status 429: Retry-After 1");
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
	return tap_done();
}
