/* arms.h - a state of n arms "a0".."a(n-1)" under a given policy, and
 * hand-made rewards for them, for the unit tests of the policies. */
#ifndef PB_TEST_ARMS_H
#define PB_TEST_ARMS_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct pb_state st;

static void
setup(const char *policy, int narms)
{
	char err[PB_ERRLEN], buf[4096] = "";
	struct pb_policy pol;
	FILE *fp;
	int i;

	pb_state_free(&st);
	for (i = 0; i < narms; i++)
		snprintf(buf + strlen(buf), sizeof buf - strlen(buf),
		         "{\"id\":\"a%d\"}\n", i);
	fp = fmemopen(buf, strlen(buf), "r");
	if (pb_policy_parse(&pol, policy, err) < 0 ||
	    pb_state_new(&st, fp, "arms", &pol, 7, err) < 0) {
		printf("Bail out! %s\n", err);
		exit(1);
	}
	fclose(fp);
}

static void
give(int arm, long n, long wins)
{
	long i;
	for (i = 0; i < n; i++)
		pb_stats_add(&st.arms[arm].st, i < wins ? 1 : 0);
}

#endif
