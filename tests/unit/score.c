/* score.c - unit tests for lib/extract.c, extract_number.c and score.c: the extractors, normalising, the
 * scorers and the record dispatcher.  The many end-to-end cases live in
 * tests/data/score-golden.jsonl (run by tests/0300-pb-score.t). */
#include <stdlib.h>
#include <unistd.h>

#include "tap.h"
#include "../../lib/pb.h"
#include "extract.h"

/* Scores a record made from json and checks the added fields. */
static void
record(const struct pb_scorer *sc, const char *json, int want_rc,
       const char *want_reward, const char *want_score)
{
	cJSON *rec = cJSON_Parse(json);
	char err[PB_ERRLEN] = "", *r, *s;
	int rc = pb_score_record(sc, rec, err);

	ok(rc == want_rc, "record %.50s: returns %d (got %d: %s)", json, want_rc,
	   rc, err);
	r = cJSON_PrintUnformatted(cJSON_GetObjectItem(rec, "reward"));
	s = cJSON_PrintUnformatted(cJSON_GetObjectItem(rec, "score"));
	is_str(r, want_reward, "record %.50s: reward", json);
	is_str(s, want_score, "record %.50s: score", json);
	cJSON_free(r);
	cJSON_free(s);
	cJSON_Delete(rec);
}

/* A text of n bytes: unit repeated, then tail.  Caller frees. */
static char *
repeat(const char *unit, size_t n, const char *tail)
{
	size_t u = strlen(unit), t = strlen(tail), i;
	char *s = malloc(n + t + 1);

	if (!s)
		exit(2);
	for (i = 0; i + u <= n; i += u)
		memcpy(s + i, unit, u);
	memcpy(s + i, tail, t + 1);
	return s;
}

/* Every extractor on 4 MB of the patterns that made one quadratic (or
 * NINTRO or NBOX times linear): each must finish, with the answer the
 * small case gives.  The alarm is generous, minutes for what takes a
 * fraction of a second: a regression to quadratic work takes hours. */
static void
linear(void)
{
	static const struct { const char *unit, *tail, *want; } t[] = {
		{ "#", " 5", "5" },
		{ "#### a ", "#### 7", "7" },
		{ "#### a ", "", NULL },
		{ "####\n", "x", NULL },
		{ "answer to the answer is ", "", NULL },
		{ "answer is x ", "", NULL },
		{ "\\boxed{ ", "", NULL },
		{ "\\boxed{ }", "\\boxed{3}", "3" },
		{ "y ", "1", "1" },
		{ "x1", "", NULL },
		{ "(A) ", "", NULL },
		{ "choose ", "", NULL },
		{ "* ", "", NULL },
	};
	size_t i, n = (size_t)4 << 20;
	char buf[64], c;
	double v;
	int b;

	alarm(600);
	for (i = 0; i < sizeof t / sizeof *t; i++) {
		char *s = repeat(t[i].unit, n, t[i].tail), *norm;
		int found = pb_extract_number(s, &v, buf, sizeof buf);

		if (t[i].want)
			ok(found && !strcmp(buf, t[i].want), "linear %zu: number %s", i, t[i].want);
		else
			ok(!found, "linear %zu: no number", i);
		pb_extract_bool(s, &b);
		pb_extract_choice(s, &c);
		norm = pb_normalize(s, 0);
		ok(norm != NULL, "linear %zu: bool, choice, normalize done", i);
		free(norm);
		free(s);
	}
	alarm(0);
}

int
main(void)
{
	struct pb_scorer sc;
	struct pb_score_result res;
	char err[PB_ERRLEN], buf[4];
	cJSON *ref;
	double v;

	/* --- number extraction: priority of the markers */
	number("#### 72", "72", 72);
	number("Natalia sold 48/2 = 24 clips.\n#### 72", "72", 72);
	number("7 apples #### 5 and then 9", "5", 5);
	number("The answer is 14. Later I ate 3.", "14", 14);
	number("3 + 4 = 7, 7 * 2 = 14. The answer is 14.", "14", 14);
	number("Final Answer: -3", "-3", -3);
	number("the final answer is $\\boxed{12}$ and 4 more", "12", 12);
	number("so \\boxed{\\frac{3}{4}} it is, not 7", "3/4", 0.75);
	number("The answer is 12. I hope this answer is helpful! 3 more?", "12", 12);
	number("So, the grand total of bugs eaten by all of the frogs is **63 bugs**. "
	       "Now that's a feast!", "63", 63);
	number("Thus, the new price is **$96**", "96", 96);
	/* --- number extraction: shapes of numbers */
	number("it is 1,234,567 units", "1234567", 1234567);
	number("we got 1,23", "23", 23);
	number("costs $4.50.", "4.50", 4.5);
	number("price .75", "0.75", 0.75);
	number("it is -8 degrees", "-8", -8);
	number("it is \xe2\x88\x92" "8 degrees", "-8", -8);
	number("score 5-3", "3", 3);
	number("she ate 3/4", "3/4", 0.75);
	number("she ate -3/4", "-3/4", -0.75);
	number("2 1/2 hours", "2 1/2", 2.5);
	number("in 2 10/5 days", "10/5", 2);
	number("5/0 parts", "0", 0);
	number("\\boxed{-\\frac{1}{2}}", "-1/2", -0.5);
	number("gained 20%", "20", 20);
	number("paid \xe2\x82\xac" "15", "15", 15);
	number("CO2 and x3", NULL, 0);
	number("I cannot answer that.", NULL, 0);
	number("", NULL, 0);
	number("$", NULL, 0);
	number("-", NULL, 0);
	number("\\frac{", NULL, 0);
	number("\\boxed{", NULL, 0);
	number("####", NULL, 0);
	number("1.2.3", "3", 3);
	ok(pb_extract_number("answer is 12345", &v, buf, sizeof buf) && v == 12345 &&
	   !strcmp(buf, "123"), "number: text truncated to the buffer, value whole");
	ok(pb_extract_number("7", &v, NULL, 0) && v == 7, "number: no buffer");

	/* --- bool */
	boolean("True", 1);
	boolean("false.", 0);
	boolean("Yes, indeed.", 1);
	boolean("No, that is not correct.", 0);
	boolean("**Incorrect**", 0);
	boolean("Let me see... the answer is true", 1);
	boolean("The answer is: \"False\"", 0);
	boolean("Yes and no", -1);
	boolean("True/False", -1);
	boolean("Yes. But the answer is false.", -1);
	boolean("Nope", -1);
	boolean("Yesterday", -1);
	boolean("", -1);

	/* --- choice */
	choice("The answer is (B).", 'B');
	choice("Answer: C", 'C');
	choice("The correct option is D.", 'D');
	choice("E", 'E');
	choice("(a)", 'A');
	choice("**C.**", 'C');
	choice("B) Paris", 'B');
	choice("I pick (d) here", 'D');
	choice("(A) or (C)?", 0);
	choice("B) Paris, or maybe (C)", 0);
	choice("The answer is a mystery", 0);
	choice("F", 0);
	choice("Answer: B. Actually, the answer is E.", 'E');
	choice("", 0);

	/* --- normalising */
	norm("  **The  Cat.** ", 0, "the cat");
	norm("  **The  Cat.** ", PB_NORM_KEEP_CASE, "The Cat");
	norm("  **The  Cat.** ", PB_NORM_KEEP_PUNCT, "the cat.");
	norm("The cat and a dog", PB_NORM_NO_ARTICLES, "cat and dog");
	norm("-5", 0, "-5");
	norm("\xe2\x80\x9cquoted\xe2\x80\x9d", 0, "quoted");
	norm("...", 0, "");
	norm("", 0, "");

	/* --- scorer set-up */
	ok(pb_scorer_init(&sc, "nope", err) < 0 && strstr(err, "unknown scorer 'nope'"),
	   "init: unknown scorer refused: %s", err);
	ok(pb_scorer_init(&sc, "regex", err) == 0 && sc.kind == PB_SCORER_REGEX,
	   "init: regex");
	ok(pb_scorer_regex(&sc, "(", err) < 0 && strstr(err, "bad regex"),
	   "regex: bad pattern refused: %s", err);
	ok(pb_scorer_regex(&sc, "x=([0-9]+)", err) == 0, "regex: compiled");
	ref = cJSON_CreateString("42");
	ok(pb_score_text(&sc, "so x=42!", ref, &res, err) == 0 &&
	   res.status == PB_SCORE_OK && !strcmp(res.extracted, "42"),
	   "regex: group compared");
	pb_score_result_free(&res);
	ok(pb_score_text(&sc, "nothing", ref, &res, err) == 0 &&
	   res.status == PB_SCORE_NOANSWER && !res.extracted, "regex: no match");
	pb_score_result_free(&res);
	cJSON_Delete(ref);
	pb_scorer_free(&sc);
	is_str(pb_scorer_name(PB_SCORER_CHOICE), "choice", "name of choice");
	is_str(pb_score_status_name(PB_SCORE_NOANSWER), "no-answer", "status name");

	/* --- references of each type */
	pb_scorer_init(&sc, "number", err);
	ref = cJSON_CreateNumber(0.1);
	ok(pb_score_text(&sc, "0.1", ref, &res, err) == 0 && res.status == PB_SCORE_OK &&
	   !strcmp(res.reference, "0.1"), "number: JSON number reference");
	pb_score_result_free(&res);
	cJSON_Delete(ref);
	ref = cJSON_CreateTrue();
	ok(pb_score_text(&sc, "1", ref, &res, err) < 0 &&
	   strstr(err, "not a string or number"), "number: boolean reference refused");
	pb_score_result_free(&res);
	cJSON_Delete(ref);
	sc.tolerance = 0.5;
	ref = cJSON_CreateString("10");
	ok(pb_score_text(&sc, "10.4", ref, &res, err) == 0 && res.status == PB_SCORE_OK,
	   "number: tolerance");
	pb_score_result_free(&res);
	cJSON_Delete(ref);
	pb_scorer_init(&sc, "bool", err);
	ref = cJSON_CreateString("maybe");
	ok(pb_score_text(&sc, "yes", ref, &res, err) < 0 &&
	   strstr(err, "not true or false"), "bool: bad reference refused");
	pb_score_result_free(&res);
	cJSON_Delete(ref);
	pb_scorer_init(&sc, "contains", err);
	ref = cJSON_Parse("[]");
	ok(pb_score_text(&sc, "x", ref, &res, err) < 0 && strstr(err, "empty array"),
	   "contains: empty array refused");
	pb_score_result_free(&res);
	cJSON_Delete(ref);
	ref = cJSON_Parse("[\"x\", 7]");
	ok(pb_score_text(&sc, "has 7 in it", ref, &res, err) == 0 &&
	   res.status == PB_SCORE_OK, "contains: number element of an array");
	pb_score_result_free(&res);
	cJSON_Delete(ref);

	/* --- records */
	pb_scorer_init(&sc, "number", err);
	record(&sc, "{\"task\":{\"answer\":\"#### 8\"},\"response\":{\"text\":\"8 apples\"}}",
	       0, "1", "{\"scorer\":\"number\",\"extracted\":\"8\",\"reference\":\"8\",\"status\":\"ok\"}");
	record(&sc, "{\"task\":{\"answer\":8},\"response\":{\"text\":\"7\"},\"reward\":1,"
	       "\"score\":{\"stale\":true}}",
	       0, "0", "{\"scorer\":\"number\",\"extracted\":\"7\",\"reference\":\"8\",\"status\":\"wrong\"}");
	record(&sc, "{\"task\":{\"answer\":8},\"response\":{\"text\":\"\"}}",
	       0, "0", "{\"scorer\":\"number\",\"extracted\":null,\"reference\":\"8\",\"status\":\"no-answer\"}");
	record(&sc, "{\"task\":{\"answer\":8},\"error\":{\"kind\":\"timeout\",\"status\":0}}",
	       1, "null", "{\"scorer\":\"number\",\"extracted\":null,\"reference\":\"8\","
	       "\"status\":\"unscored\",\"reason\":\"query failed: timeout\"}");
	record(&sc, "{\"task\":{\"answer\":\"so #### 8\"},\"error\":\"boom\"}",
	       1, "null", "{\"scorer\":\"number\",\"extracted\":null,\"reference\":\"8\","
	       "\"status\":\"unscored\",\"reason\":\"query failed: boom\"}");
	record(&sc, "{\"task\":{\"answer\":\"none\"},\"error\":{}}",
	       1, "null", "{\"scorer\":\"number\",\"extracted\":null,\"reference\":\"none\","
	       "\"status\":\"unscored\",\"reason\":\"query failed\"}");
	record(&sc, "{\"task\":{},\"response\":{\"text\":\"8\"}}",
	       -1, "null", "{\"scorer\":\"number\",\"extracted\":null,\"reference\":null,"
	       "\"status\":\"unscored\",\"reason\":\"no reference at task.answer\"}");
	record(&sc, "{\"task\":{\"answer\":\"x\"},\"response\":{\"text\":8}}",
	       -1, "null", "{\"scorer\":\"number\",\"extracted\":null,\"reference\":\"x\","
	       "\"status\":\"unscored\",\"reason\":\"no response text at response.text\"}");
	record(&sc, "{\"task\":{\"answer\":\"none\"},\"response\":{\"text\":\"8\"}}",
	       -1, "null", "{\"scorer\":\"number\",\"extracted\":null,\"reference\":\"none\","
	       "\"status\":\"unscored\",\"reason\":\"reference at task.answer has no number: 'none'\"}");
	pb_scorer_free(&sc);
	linear();
	return tap_done();
}
