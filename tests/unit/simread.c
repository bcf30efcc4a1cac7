/* simread.c - unit tests for sim/read.c, the simulator's own reader of
 * answers (numbers, booleans, choice letters, tags, a reply's answer
 * part, normalised text), for sim/judge.c's comparison of a response with
 * its reference, and for the parts of sim/world.c's loading that
 * tests/unit/sim.c leaves alone: the kind of each answer, ids, several
 * files, the world's "where" and its order.  The reader is tested on its
 * own because pb-sim grades with it, never with pb-score's extractors. */
#include <stdlib.h>

#include "tap.h"
#include "../../lib/pb.h"
#include "../../sim/internal.h"

/* sim_parse_number's value of s, or NAN when it refuses s. */
static double
num(const char *s)
{
	double v;

	return sim_parse_number(s, &v) ? v : NAN;
}

/* sim_number_in's first (or last) number in text, or NAN if none. */
static double
num_in(const char *text, int last)
{
	double v;

	return sim_number_in(text, last, &v) ? v : NAN;
}

static void
test_numbers(void)
{
	static const struct { const char *s; double v; } good[] = {
		{ "72", 72 }, { "-3.5", -3.5 }, { "+7", 7 }, { "1,250", 1250 },
		{ "1,250,000.5", 1250000.5 }, { "$40", 40 }, { "-$5", -5 },
		{ "50%", 50 }, { "3/4", 0.75 }, { "-3/4", -0.75 }, { ".5", 0.5 },
		{ "007", 7 },
	};
	static const char *const bad[] = {
		"", "-", "$", ".", "abc", "12abc", "1e5", "1.2.3", ",5", "%5",
		"3/0", "3/-4", "1/2/3", "inf", "nan", "5 apples", " 5",
	};
	size_t i;

	for (i = 0; i < sizeof good / sizeof *good; i++)
		is_num(num(good[i].s), good[i].v, 1e-12, "number '%s' reads %g",
		       good[i].s, good[i].v);
	for (i = 0; i < sizeof bad / sizeof *bad; i++)
		ok(isnan(num(bad[i])), "'%s' is not a number", bad[i]);
}

static void
test_words(void)
{
	is_num(sim_bool_word("false"), 0, 0, "false is word 0");
	is_num(sim_bool_word("True"), 1, 0, "True is word 1, any case");
	is_num(sim_bool_word("NO"), 2, 0, "NO is word 2");
	is_num(sim_bool_word("yes"), 3, 0, "yes is word 3");
	ok(sim_bool_word("maybe") < 0 && sim_bool_word("") < 0 &&
	   sim_bool_word("true.") < 0 && sim_bool_word("yess") < 0,
	   "other words are no booleans");

	ok(sim_choice_letter("B") == 'B', "choice B");
	ok(sim_choice_letter("(b)") == 'B', "choice (b), in upper case");
	ok(sim_choice_letter("C)") == 'C' && sim_choice_letter("D.") == 'D',
	   "choices C) and D.");
	ok(sim_choice_letter("e") == 'E' && sim_choice_letter("A") == 'A',
	   "A to E");
	ok(!sim_choice_letter("F") && !sim_choice_letter("BB") &&
	   !sim_choice_letter("") && !sim_choice_letter("B) x") &&
	   !sim_choice_letter("Paris"), "F, BB, empty, 'B) x' and words are no choices");
}

static void
test_tagged(void)
{
	char *t;

	is_str(t = sim_tagged("x <r>one</r> y", "r"), "one", "the text between tags");
	free(t);
	is_str(t = sim_tagged("<r>one</r> <r>two</r>", "r"), "two", "the last pair");
	free(t);
	is_str(t = sim_tagged("<r></r>", "r"), "", "an empty pair");
	free(t);
	is_str(t = sim_tagged("<r>a\nb</r>", "r"), "a\nb", "across lines");
	free(t);
	ok(!sim_tagged("<r>open", "r"), "no closing tag: NULL");
	ok(!sim_tagged("none here", "r"), "no tag: NULL");
	ok(!sim_tagged("<rr>x</rr>", "r"), "another tag is not the one asked for");
}

static void
test_answer_part(void)
{
	int marked = -1;

	is_str(sim_answer_part("3 + 4 = 7\n#### 7", &marked), " 7", "after ####");
	ok(marked == 1, "... marked");
	is_str(sim_answer_part("The answer is 5 #### 6", &marked), " 6",
	       "#### before 'answer is'");
	is_str(sim_answer_part("the answer is 3. The Answer Is 4.", &marked), " 4.",
	       "the last 'answer is', any case");
	is_str(sim_answer_part("Answer: B", &marked), " B", "after 'answer:'");
	ok(marked == 1, "... marked");
	is_str(sim_answer_part("just Paris", &marked), "just Paris", "no marker: all of it");
	ok(marked == 0, "... not marked");
}

static void
test_number_in(void)
{
	is_num(num_in("I have 3 apples and 5 pears.", 0), 3, 0, "the first number");
	is_num(num_in("I have 3 apples and 5 pears.", 1), 5, 0, "the last number");
	is_num(num_in("Total: $1,250.", 1), 1250, 0, "a full stop after it is cut off");
	is_num(num_in("It is -7 degrees", 0), -7, 0, "a negative number");
	is_num(num_in("3/4 of it", 0), 0.75, 0, "a fraction");
	is_num(num_in("1. First step, 2. then 10", 1), 10, 0, "list numbers count too");
	is_num(num_in("Step 1, then 2,", 1), 2, 0, "a comma after the last is cut off");
	ok(isnan(num_in("no numbers here", 0)), "no number");
	ok(isnan(num_in("- . , $ %", 1)), "signs and marks alone are no number");
}

static void
test_normalise(void)
{
	static const struct { const char *in, *out; } cases[] = {
		{ "The treble clef.", "treble clef" },
		{ "  A  Cat!! ", "cat" },
		{ "an apple, the pear", "apple pear" },
		{ "Paris", "paris" },
		{ "R&B", "r b" },
		{ "Theory", "theory" },
		{ "", "" },
		{ "...", "" },
		{ "The", "" },
	};
	size_t i;
	char *n;

	for (i = 0; i < sizeof cases / sizeof *cases; i++) {
		is_str(n = sim_normalise(cases[i].in), cases[i].out, "normalise '%s'",
		       cases[i].in);
		free(n);
	}
}

static void
test_judged_right(void)
{
	/* A number: after a marker the first number there, else the last. */
	is_num(sim_judged_right("So it is 42.", "#### 42"), 1, 0, "the last number, right");
	is_num(sim_judged_right("#### 41", "Because.\n#### 42"), 0, 0, "a wrong number");
	is_num(sim_judged_right("It is 42 #### 41", "42"), 0, 0, "the marker wins");
	is_num(sim_judged_right("The answer is 40 apples, not 42", "42"), 0, 0,
	       "after a marker, the first number there");
	is_num(sim_judged_right("42 is wrong, it is 40", "42"), 0, 0,
	       "no marker: the last number");
	is_num(sim_judged_right("That makes 1,250 in all", "$1,250"), 1, 0,
	       "commas and dollars on either side");
	is_num(sim_judged_right("It is 42.00000001", "42"), 1, 0, "a relative tolerance");
	is_num(sim_judged_right("It is 42.01", "42"), 0, 0, "... a small one");
	is_num(sim_judged_right("I do not know", "42"), -1, 0, "no number: no answer");
	/* Text: normalised, whole or at the end. */
	is_num(sim_judged_right("Paris", "Paris"), 1, 0, "the same text");
	is_num(sim_judged_right("The answer is Paris.", "paris"), 1, 0,
	       "the answer part, normalised");
	is_num(sim_judged_right("I think it is Paris", "Paris"), 1, 0, "ending in it");
	is_num(sim_judged_right("Parisian", "Paris"), 0, 0, "not inside a word");
	is_num(sim_judged_right("Paris, or maybe Rome", "Paris"), 0, 0,
	       "not at the start of more");
	is_num(sim_judged_right("treble clef", "It is the bass.\n#### The treble clef"),
	       1, 0, "the reference after ####, articles aside");
	is_num(sim_judged_right("Yes.", "yes"), 1, 0, "yes and Yes.");
	is_num(sim_judged_right("", "Paris"), -1, 0, "empty: no answer");
	is_num(sim_judged_right("!!!", "Paris"), -1, 0, "marks alone: no answer");
}

static void
test_judge_answer(void)
{
	struct pb_sim_answer a = { 0 };

	is_num(sim_judge_answer("no tags at all", &a), 0, 0, "no judge request");
	is_num(sim_judge_answer("<response>x</response> only", &a), 0, 0,
	       "a response without a reference is none either");
	is_num(sim_judge_answer("<reference>4</reference><response>It is 4."
	                        "</response>", &a), 1, 0, "a judge request");
	is_str(a.text, "The answer is right and plainly stated.\nScore: 10/10",
	       "right and plain: 10");
	ok(a.correct && a.task == -1, "... correct, no task");
	pb_sim_answer_free(&a);
	sim_judge_answer("<response>**4**!</response><reference>4</reference>", &a);
	is_str(a.text, "The answer is right but not plainly stated.\nScore: 6/10",
	       "right with a flourish: 6");
	pb_sim_answer_free(&a);
	sim_judge_answer("<response>5</response><reference>4</reference> PASS or FAIL", &a);
	is_str(a.text, "The answer is wrong or missing.\nVerdict: FAIL", "wrong: FAIL");
	pb_sim_answer_free(&a);
	sim_judge_answer("<response>none</response><reference>4</reference>", &a);
	is_str(a.text, "The response gives no answer.\nScore: 0/10", "no answer: 0");
	pb_sim_answer_free(&a);
}

/* Loads text as tasks (world NULL) or as a world into s. */
static int
load_into(struct pb_sim *s, const char *text, int world, const char *name,
          char *err)
{
	FILE *fp = fmemopen((void *)text, strlen(text), "r");
	int rv;

	rv = world ? pb_sim_load_world(s, fp, name, err)
	           : pb_sim_load_tasks(s, fp, name, err);
	fclose(fp);
	return rv;
}

static void
test_world(void)
{
	static const char tasks[] =
	    "{\"id\":\"n\",\"input\":\"  How many?  \",\"answer\":\"Count them.\\n#### 1,250\"}\n"
	    "{\"id\":\"b\",\"question\":\"True?\",\"answer\":true,\"difficulty\":null}\n"
	    "{\"input\":\"Which?\",\"answer\":\"(c)\",\"topic\":\"art\"}\n"
	    "{\"id\":3.5,\"input\":\"Where?\",\"answer\":\" Paris \",\"topic\":\"geo\"}\n"
	    "{\"id\":\"f\",\"input\":\"How much?\",\"answer\":-0.25}\n";
	static const char world[] =
	    "{\"match\":\"Think\",\"where\":{\"topic\":[\"art\",\"music\"]},\"skill\":2}\n"
	    "{\"match\":\"Think\",\"where\":null,\"skill\":1}\n"
	    "{\"match\":\"\",\"skill\":-0.5}\n";
	struct pb_sim s;
	char err[PB_ERRLEN] = "";

	ok(!pb_sim_init(&s, 3, err), "init");
	ok(!load_into(&s, tasks, 0, "a.jsonl", err), "tasks load (%s)", err);
	is_num((double)s.ntasks, 5, 0, "five tasks");
	is_str(s.tasks[0].input, "How many?", "the input, trimmed");
	is_num((double)s.tasks[0].len, 9, 0, "... and its length");
	is_str(s.tasks[0].answer, "1,250", "the answer after ####");
	ok(s.tasks[0].kind == PB_SIM_NUMBER, "... a number");
	is_num(s.tasks[0].value, 1250, 0, "... of 1250");
	ok(s.tasks[1].kind == PB_SIM_BOOL, "a JSON true is a boolean");
	is_str(s.tasks[1].answer, "true", "... answered 'true'");
	is_num(s.tasks[1].difficulty, 0, 0, "a null difficulty is 0");
	ok(s.tasks[2].kind == PB_SIM_CHOICE && !s.tasks[2].id,
	   "(c) is a choice; a task without id has none");
	ok(s.tasks[3].kind == PB_SIM_TEXT, "Paris is text");
	is_str(s.tasks[3].answer, "Paris", "... trimmed");
	is_str(s.tasks[3].id, "3.5", "a numeric id as text");
	ok(s.tasks[4].kind == PB_SIM_NUMBER && s.tasks[4].value == -0.25,
	   "a JSON number answer");
	is_num((double)s.tasks[4].line, 5, 0, "the line each came from");

	/* A second file adds to the first; ids stay unique across both. */
	ok(!load_into(&s, "{\"id\":\"z\",\"input\":\"More?\",\"answer\":\"no\"}\n", 0,
	              "b.jsonl", err), "a second task file loads (%s)", err);
	is_num((double)s.ntasks, 6, 0, "... and adds its task");
	ok(load_into(&s, "{\"id\":\"b\",\"input\":\"Again?\",\"answer\":\"1\"}\n", 0,
	             "c.jsonl", err) < 0, "an id seen in an earlier file is refused");
	is_str(err, "c.jsonl:1: duplicate task id 'b' (first on line 2)",
	       "... naming where it was first");

	ok(!load_into(&s, world, 1, "w.jsonl", err), "the world loads (%s)", err);
	is_num((double)s.nworld, 3, 0, "three rules");
	ok(cJSON_IsObject(s.world[0].where), "a where is kept");
	ok(!s.world[1].where, "a null where is none");
	is_str(s.world[2].match, "", "an empty match");
	is_num(pb_sim_skill_task(&s, 2, "Think. Which?", "Think."), 2, 0,
	       "the first rule whose where holds (art)");
	is_num(pb_sim_skill_task(&s, 3, "Think. Where?", "Think."), 1, 0,
	       "... else the next (geo)");
	is_num(pb_sim_skill_task(&s, 3, "Where?", "x"), -0.5, 0,
	       "the empty match is the default");
	ok(!load_into(&s, "{\"match\":\"Where\",\"skill\":3}\n", 1, "w2.jsonl", err),
	   "a second world file loads (%s)", err);
	is_num((double)s.nworld, 4, 0, "... after the first's rules");
	is_num(pb_sim_skill_task(&s, 3, "Where?", "x"), -0.5, 0,
	       "... so the first file's default still comes first");
	pb_sim_free(&s);
}

int
main(void)
{
	test_numbers();
	test_words();
	test_tagged();
	test_answer_part();
	test_number_in();
	test_normalise();
	test_judged_right();
	test_judge_answer();
	test_world();
	return tap_done();
}
