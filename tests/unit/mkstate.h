/* mkstate.h - a new state from arms given as text, and a file written
 * from a string, for the unit tests of the state file and its history. */
#ifndef PB_TEST_MKSTATE_H
#define PB_TEST_MKSTATE_H
#include <stdio.h>
#include <string.h>

/* A new state of the arms in the text arms (an arms file's lines) under
 * policy, seed 42.  Returns 0, or -1 with err set. */
static inline int
mkstate(struct pb_state *st, const char *arms, const char *policy, char *err)
{
	struct pb_policy pol;
	FILE *fp = fmemopen((void *)arms, strlen(arms), "r");
	int rv;

	if (pb_policy_parse(&pol, policy, err) < 0)
		return -1;
	rv = pb_state_new(st, fp, "arms.jsonl", &pol, 42, err);
	fclose(fp);
	return rv;
}

static inline void
writefile(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");
	fputs(text, fp);
	fclose(fp);
}

#endif
