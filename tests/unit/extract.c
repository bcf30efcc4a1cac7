/* extract.c - unit tests for lib/extract_number.c and lib/extract.c: the
 * shapes of numbers a response writes (thousands, currency, fractions,
 * signs, exponents), booleans in any case and dress, choices in
 * brackets, and normalised text.  tests/unit/score.c has the markers' priority and the
 * linear-time cases; tests/data/score-golden.jsonl the end-to-end ones. */
#include <stdlib.h>

#include "tap.h"
#include "../../lib/pb.h"
#include "extract.h"

int
main(void)
{
	/* --- thousands: groups of exactly three after a lead of 1-3 */
	number("1,250", "1250", 1250);
	number("The total is 1,250 dollars.", "1250", 1250);
	number("#### 1,250", "1250", 1250);
	number("1,250,000 people", "1250000", 1250000);
	number("1,250.75", "1250.75", 1250.75);
	number("12,5", "5", 5);         /* not a group: two numbers */
	number("1,2500", "2500", 2500); /* four digits after the comma */
	number("1234,567", "567", 567); /* a lead of four is no group lead */
	number("3, 4", "4", 4);         /* a list, not a number */

	/* --- currency signs before the number, not in its text */
	number("$40", "40", 40);
	number("It costs $40.", "40", 40);
	number("The answer is $1,250.50", "1250.50", 1250.5);
	number("-$40", "-40", -40);
	number("\xc2\xa3" "7 and \xc2\xa5" "9", "9", 9); /* pound, yen */
	number("\xe2\x82\xb9" "12", "12", 12);            /* rupee */
	number("US$40", "40", 40);

	/* --- fractions */
	number("3/4", "3/4", 0.75);
	number("The answer is 3/4.", "3/4", 0.75);
	number("1 1/2", "1 1/2", 1.5);
	number("-1 1/2", "-1 1/2", -1.5);
	number("3/4 of 8 is 6", "6", 6);
	number("\\dfrac{1}{8}", "1/8", 0.125);
	number("\\tfrac{ 3 }{ 4 }", "3/4", 0.75);
	number("1/0", "0", 0); /* no value: the last number is the 0 */

	/* --- signs and decimals */
	number("-3.5", "-3.5", -3.5);
	number("x = -3.5", "-3.5", -3.5);
	number("The answer is -3.5.", "-3.5", -3.5);
	number("#### -3.5", "-3.5", -3.5);
	number("\xe2\x88\x92" "3.5", "-3.5", -3.5); /* U+2212 minus */
	number("+7", "7", 7);
	number("3.5-2", "2", 2);    /* a '-' after a digit is a subtraction */
	number("f(x)-2", "2", 2);   /* and after ')' */
	number("-.5", "-0.5", -0.5);
	number("0.50", "0.50", 0.5);
	number("3.", "3", 3);

	/* --- exponents glued to the number, not to a word */
	number("1e3", "1e3", 1000);
	number("2.5E-2 m", "2.5E-2", 0.025);
	number("3 eggs", "3", 3);
	number("2e5x", "2", 2);

	/* --- not numbers */
	number("H2O", NULL, 0);
	number("abc", NULL, 0);
	number("$-", NULL, 0);
	number(".", NULL, 0);
	number("+", NULL, 0);

	/* --- booleans: the words in any case, in markdown or quotes */
	boolean("TRUE", 1);
	boolean("True", 1);
	boolean("tRuE", 1);
	boolean("FALSE", 0);
	boolean("False.", 0);
	boolean("YES", 1);
	boolean("yEs", 1);
	boolean("NO", 0);
	boolean("No.", 0);
	boolean("CORRECT", 1);
	boolean("InCorrect", 0);
	boolean("`true`", 1);
	boolean("\"Yes\"", 1);
	boolean("> no", 0);
	boolean("\xe2\x80\x9cyes\xe2\x80\x9d", 1); /* curly quotes */
	boolean("## False", 0);
	boolean("The answer is TRUE", 1);
	boolean("The answer is: **FALSE**", 0);
	boolean("yes, yes", 1);
	boolean("True or false?", -1);
	boolean("no/yes", -1);
	boolean("Not at all", -1);  /* "no" must be a whole word */
	boolean("Trueish", -1);
	boolean("Right", -1);       /* not one of the words */
	boolean("maybe", -1);

	/* --- choices: letters in brackets */
	choice("(B)", 'B');
	choice("(b)", 'B');
	choice("**(B)**", 'B');
	choice("[C]", 'C');
	choice("The answer is (B)", 'B');
	choice("the answer is (b).", 'B');
	choice("Answer: (C)", 'C');
	choice("(B) Paris", 'B');
	choice("I think (D) fits best.", 'D');
	choice("Option (E) is it", 'E');
	choice("(B), as (B) says", 'B'); /* the same letter twice */
	choice("(B) or (D)", 0);
	choice("(F)", 0);
	choice("(AB)", 0);
	choice("(B", 'B');        /* a lone letter, however dressed */

	/* --- normalising: inside the text only case, spaces and articles */
	norm("  Hello,   World!  ", 0, "hello, world");
	norm("\tHello,\n\nWorld!", PB_NORM_KEEP_CASE, "Hello, World");
	norm("(Paris)", 0, "paris");
	norm("(Paris)", PB_NORM_KEEP_PUNCT, "(paris)");
	norm("$3.50", 0, "$3.50");
	norm("20%.", 0, "20%");
	norm("THE Cat AN Apple A Dog", PB_NORM_NO_ARTICLES, "cat apple dog");
	norm("THE Cat", PB_NORM_NO_ARTICLES | PB_NORM_KEEP_CASE, "Cat");
	norm("theme", PB_NORM_NO_ARTICLES, "theme");
	norm("**`x`**", PB_NORM_KEEP_PUNCT, "x");
	return tap_done();
}
