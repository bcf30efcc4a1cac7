/* one.c - the trivial reward program of tests/bench.sh's pb-score --cmd
 * case: answers 1 to every line it reads, flushing each answer, as a
 * reward model must. */
#include <stdio.h>

int
main(void)
{
	int c;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((c = getchar()) != EOF)
		if (c == '\n')
			fputs("1\n", stdout);
	return 0;
}
