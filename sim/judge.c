/* judge.c - pb-sim as a judge: a request with <response> and <reference>
 * gets a verdict that depends on nothing but the two, read with read.c
 * (never with pb-score's extractors, which the verdict is there to test). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* A persona's flourish: markdown bold, an exclamation, or a stock
 * closing line.  The study's judge preferred answers without them. */
static int
flourished(const char *r)
{
	static const char *const marks[] = { "**", "!", "feast", "Ahoy", "Arr",
		"my friend", "Huzzah", "Behold", "Indeed" };
	size_t i;

	for (i = 0; i < sizeof marks / sizeof *marks; i++)
		if (strstr(r, marks[i]))
			return 1;
	return 0;
}

/* Whether a judged response gives the reference's answer: 1 right, 0
 * wrong, -1 no answer at all, -2 out of memory.  A reference that is a
 * number is compared as a number (the response's number after a marker,
 * else its last one); any other text after sim_normalise, the response's
 * answer part or its whole text equal to the reference or ending in it. */
int
sim_judged_right(const char *resp, const char *refall)
{
	const char *ref, *part;
	char *r, *nr, *np, *nw;
	double got, want;
	int marked, rv;
	size_t b = 0, e, lr, lw;

	for (ref = refall; (part = strstr(ref, "####")); ref = part + 4)
		;
	e = strlen(ref);
	trim(ref, &b, &e);
	if (!(r = dupn(ref + b, e - b)))
		return -2;
	part = sim_answer_part(resp, &marked);
	if (sim_parse_number(r, &want)) {
		free(r);
		if (!(marked ? sim_number_in(part, 0, &got) : sim_number_in(resp, 1, &got)))
			return -1;
		return fabs(got - want) <= 1e-6 * fmax(1, fabs(want));
	}
	nr = sim_normalise(r);
	np = sim_normalise(part);
	nw = sim_normalise(resp);
	free(r);
	if (!nr || !np || !nw) {
		rv = -2;
	} else if (!*np && !*nw) {
		rv = -1;
	} else {
		lr = strlen(nr);
		lw = strlen(nw);
		rv = *nr && (!strcmp(np, nr) || !strcmp(nw, nr) ||
		      (lw > lr && nw[lw - lr - 1] == ' ' && !strcmp(nw + lw - lr, nr)));
	}
	free(nr);
	free(np);
	free(nw);
	return rv;
}

/* A judge request holds the response and the reference between
 * <response> and <reference> tags (the rubrics in examples/ do).  The
 * verdict depends on nothing but them (sim_judged_right): no answer 0, a
 * wrong one 2, a right one with a flourish 6, a right one plainly stated
 * 10; or, when the request mentions FAIL, PASS for right and plain and
 * FAIL for the rest.  Returns 1 with a->text set, 0 if text is no judge
 * request, -1 out of memory. */
int
sim_judge_answer(const char *text, struct pb_sim_answer *a)
{
	char *resp, *ref;
	int got, right, plain, score;

	if (!strstr(text, "</response>") || !strstr(text, "</reference>"))
		return 0;
	resp = sim_tagged(text, "response");
	ref = sim_tagged(text, "reference");
	if (!resp || !ref) {
		free(resp);
		free(ref);
		return 0;
	}
	got = sim_judged_right(resp, ref);
	if (got == -2) {
		free(resp);
		free(ref);
		return -1;
	}
	right = got == 1;
	plain = !flourished(resp);
	score = got < 0 ? 0 : !right ? 2 : plain ? 10 : 6;
	a->task = -1;
	a->correct = right;
	if (strstr(text, "FAIL"))
		a->text = pb_strfmt("%s\nVerdict: %s", right && plain ?
		               "The answer is right and plainly stated." :
		               !right ? "The answer is wrong or missing." :
		               "The answer is right but not plainly stated.",
		               right && plain ? "PASS" : "FAIL");
	else
		a->text = pb_strfmt("%s\nScore: %d/10", score == 10 ?
		               "The answer is right and plainly stated." :
		               score == 6 ? "The answer is right but not plainly stated." :
		               score == 2 ? "The answer is wrong." :
		               "The response gives no answer.", score);
	free(resp);
	free(ref);
	return a->text ? 1 : -1;
}
